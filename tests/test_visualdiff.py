"""The visual diff of two screenshots, on real PNG files drawn with Pillow: a page, then the same page with a
changed banner (one box, over the banner and nothing else), identical pages (nothing changed, no box, no
panel), pages of different heights, specks of noise, hostile files, and the time a 1280 x 3000 pair costs."""

from __future__ import annotations

import struct
import time
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from evidencekit.photos.visualdiff import (
    MIN_BOX_AREA,
    PANEL_MAX_HEIGHT,
    PANEL_MAX_WIDTH,
    Box,
    visual_diff,
)

SIZE = (1280, 3000)
BANNER = (80, 400, 1200, 520)  # left, top, right, bottom (exclusive)


def page(
    size: tuple[int, int] = SIZE, *, banner: str = "Call now: +44 7700 900123", colour: str = "#2a6"
) -> Image.Image:
    """Something like a full-page screenshot: a header bar, a banner, a photo block and lines of text."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0] - 1, 80), fill="#1d4e89")
    draw.text((24, 28), "QuickJobs Classifieds > Jobs > Domestic work", fill="white", font_size=22)
    draw.rectangle((BANNER[0], BANNER[1], BANNER[2] - 1, BANNER[3] - 1), fill=colour)
    draw.text((BANNER[0] + 30, BANNER[1] + 40), banner, fill="white", font_size=32)
    draw.rectangle((80, 600, 560, 960), fill="#c8866a")
    for y in range(1000, size[1] - 60, 36):
        draw.text((80, y), "Respected families are looking for housekeepers, nannies and carers. " * 2, fill="#222",
                  font_size=14)  # fmt: skip
    return image


def save(image: Image.Image, path: Path) -> Path:
    image.save(path, "PNG")
    return path


def covers(box: Box, region: tuple[int, int, int, int]) -> bool:
    return (
        box.x <= region[0] and box.y <= region[1] and box.x + box.width >= region[2] and box.y + box.height >= region[3]
    )


def test_a_changed_banner_gives_one_box_over_the_banner_and_nothing_else(tmp_path: Path) -> None:
    before = save(page(), tmp_path / "before.png")
    after = save(page(banner="Call now: +44 7700 900999 (new!)", colour="#a22"), tmp_path / "after.png")
    panel = tmp_path / "out" / "visual-diff.png"
    found = visual_diff(before, after, panel)
    (box,) = found.boxes
    assert covers(box, BANNER), box
    # Nothing outside the banner: the box is the banner's own bounds (the colour changed on every pixel).
    assert (box.x, box.y, box.x + box.width, box.y + box.height) == BANNER
    banner_pixels = (BANNER[2] - BANNER[0]) * (BANNER[3] - BANNER[1])
    # Every banner pixel but those the white text covers on both sides changed.
    assert 0.9 * banner_pixels < found.changed_pixels <= banner_pixels
    assert found.compared_pixels == SIZE[0] * SIZE[1]
    assert found.share == f"{Decimal(found.changed_pixels) / Decimal(found.compared_pixels):.6f}"
    assert found.at_least(Decimal("0.01")) and not found.at_least(Decimal("0.05"))
    assert found.before_size == found.after_size == SIZE
    assert found.panel == panel and panel.is_file()
    with Image.open(panel) as drawn:
        width, height = drawn.size
        assert width <= 3 * PANEL_MAX_WIDTH + 100 and height <= PANEL_MAX_HEIGHT + 100
        # The third panel shows the box in red around the banner (scaled like the panel).
        pixels = drawn.convert("RGB")
        scale = SIZE[1] / (height - 16 * 2 - 24) if SIZE[1] > PANEL_MAX_HEIGHT else max(SIZE[0] / PANEL_MAX_WIDTH, 1)
        panel_width = round(SIZE[0] / scale)
        third_left = 16 + 2 * (panel_width + 16)
        red = [
            pixels.getpixel((third_left + x, 16 + 24 + round(BANNER[1] / scale) - 2))
            for x in range(round(BANNER[0] / scale), round(BANNER[2] / scale))
        ]
        assert sum(1 for r, g, b in red if r > 180 and g < 60 and b < 60) > len(red) // 2
    assert panel.stat().st_size < 1_500_000


def test_identical_screenshots_change_nothing_and_draw_no_panel(tmp_path: Path) -> None:
    before = save(page(), tmp_path / "before.png")
    after = save(page(), tmp_path / "after.png")  # the same bytes in another file
    recompressed = tmp_path / "recompressed.png"
    page().save(recompressed, "PNG", compress_level=1)  # the same pixels in other bytes: decoded and compared
    assert recompressed.read_bytes() != before.read_bytes()
    panel = tmp_path / "visual-diff.png"
    for second in (recompressed, after, before):  # other bytes, another file, the very same file
        found = visual_diff(before, second, panel)
        assert (found.changed_pixels, found.share, found.boxes, found.panel) == (0, "0.000000", (), None)
        assert found.compared_pixels == SIZE[0] * SIZE[1] and found.before_size == found.after_size == SIZE
        assert not panel.exists()


def test_a_longer_page_is_padded_with_white_and_its_new_part_boxed(tmp_path: Path) -> None:
    before = save(page((1280, 2000)), tmp_path / "before.png")
    taller = page((1280, 2000)).crop((0, 0, 1280, 2400))  # crop beyond the bottom pads with black...
    taller.paste((255, 255, 255), (0, 2000, 1280, 2400))  # ...so lay white there, then draw new content
    ImageDraw.Draw(taller).rectangle((100, 2100, 700, 2300), fill="#333")
    after = save(taller, tmp_path / "after.png")
    found = visual_diff(before, after)
    assert found.before_size == (1280, 2000) and found.after_size == (1280, 2400)
    assert found.compared_pixels == 1280 * 2400
    (box,) = found.boxes
    assert (box.x, box.y, box.width, box.height) == (100, 2100, 601, 201)


def test_specks_are_counted_but_not_boxed(tmp_path: Path) -> None:
    base = page()
    before = save(base, tmp_path / "before.png")
    speckled = base.copy()
    for x, y in ((5, 1500), (640, 2500), (1270, 2990)):
        speckled.putpixel((x, y), (255, 0, 255))
    after = save(speckled, tmp_path / "after.png")
    found = visual_diff(before, after)
    assert found.changed_pixels == 3 and found.boxes == ()
    assert MIN_BOX_AREA > 1
    assert not found.at_least(Decimal("0.01"))


def test_a_small_change_below_the_threshold_of_a_channel_is_not_a_changed_pixel(tmp_path: Path) -> None:
    base = page()
    before = save(base, tmp_path / "before.png")
    shifted = Image.eval(base, lambda v: min(255, v + 3))  # colour-profile rounding: a few units everywhere
    found = visual_diff(before, save(shifted, tmp_path / "after.png"))
    assert found.changed_pixels == 0 and found.boxes == ()


def test_transparent_screenshots_are_laid_on_white(tmp_path: Path) -> None:
    clear = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    white = Image.new("RGB", (300, 200), "white")
    found = visual_diff(save(clear, tmp_path / "clear.png"), save(white, tmp_path / "white.png"))
    assert found.changed_pixels == 0


def test_hostile_files_are_refused_with_one_line(tmp_path: Path) -> None:
    good = save(page((200, 200)), tmp_path / "good.png")
    not_image = tmp_path / "text.png"
    not_image.write_text("<html>not a picture</html>")
    with pytest.raises(ValueError, match="not a raster image") as refused:
        visual_diff(good, not_image)
    assert "\n" not in str(refused.value)
    # A PNG header claiming 100000 x 100000 pixels: refused from the header, nothing decoded.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + _chunk(b"IEND", b""))  # fmt: skip
    with pytest.raises(ValueError, match="too many"):
        visual_diff(good, bomb)
    with pytest.raises(ValueError):
        visual_diff(good, tmp_path / "missing.png")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_a_1280_by_3000_pair_costs_a_fraction_of_a_second(tmp_path: Path) -> None:
    before = save(page(), tmp_path / "before.png")
    after = save(page(banner="Changed banner", colour="#a22"), tmp_path / "after.png")
    timings = {}
    for name, panel in (("compare", None), ("compare and panel", tmp_path / "panel.png")):
        best = min(_timed(lambda: visual_diff(before, after, panel)) for _ in range(3))  # noqa: B023
        timings[name] = best
    print(f"visual diff of a 1280x3000 pair: {timings}")
    assert timings["compare"] < 1.0, timings  # measured ~0.12 s alone on 2 shared cores


def _timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start
