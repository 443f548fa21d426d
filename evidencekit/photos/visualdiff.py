"""The visual diff of two full-page screenshots: which pixels changed, the regions around them, and a
three-panel image (before | after | after with the changed regions boxed in red) a reader can check by eye.

How (OpenCV, because pixel loops in Python are a hundred times slower):
- both screenshots are decoded under the limits of ``photos.hashing`` (a hostile size is refused, not
  decoded) and the smaller is padded with white to the larger's width and height, as a page that grew or
  shrank shows white where it has no content;
- ``cv2.absdiff`` per channel, the largest channel difference per pixel, then a threshold: a pixel changed
  when one channel moved by more than PIXEL_THRESHOLD of 255 (anti-aliasing and colour-profile rounding
  move a few units, a changed word or picture many);
- the changed pixels are dilated (DILATE_PX) so the pixels of one changed line or picture join, their
  outer contours taken, and each contour's bounding box kept unless smaller than MIN_BOX_AREA (a speck
  of rendering noise); boxes overlapping or closer than MERGE_GAP are merged.
The share of changed pixels is written as a decimal string (canonical JSON refuses floats), with the
counts it comes from. Each panel is scaled down to at most PANEL_MAX_WIDTH x PANEL_MAX_HEIGHT, so the file
stays small; it is written only when some pixel changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evidencekit.photos.hashing import MAX_PIXELS, load_rgb, open_image

PIXEL_THRESHOLD = 32
DILATE_PX = 8
MIN_BOX_AREA = 64
MERGE_GAP = 24
PANEL_MAX_WIDTH = 600
PANEL_MAX_HEIGHT = 4000
SHARE_PLACES = 6
OPENCV_LIBRARY = f"OpenCV {cv2.__version__}"
_GAP = 16
_LABEL_HEIGHT = 24
_BOX_COLOUR = (220, 0, 0)

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class Box:
    """A changed region, in pixels of the padded screenshots (origin top left)."""

    x: int
    y: int
    width: int
    height: int

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class VisualDiff:
    """What changed between two screenshots. ``share``: changed / compared pixels as a decimal string with
    SHARE_PLACES places (a single changed pixel of millions rounds to "0.000000": ``changed_pixels`` says
    it). ``panel``: the three-panel PNG, when one was asked for and some pixel changed."""

    share: str
    changed_pixels: int
    compared_pixels: int
    boxes: tuple[Box, ...]
    before_size: tuple[int, int]
    after_size: tuple[int, int]
    panel: Path | None
    # The padded screenshots, kept (only when asked and some pixel changed) so that the panel can be drawn
    # later from this very comparison, without decoding and comparing the files a second time.
    pixels: tuple[Array, Array] | None = field(default=None, repr=False, compare=False)

    def at_least(self, share: Decimal) -> bool:
        """Whether the changed pixels are at least ``share`` of the compared ones (exact, in integers)."""
        return Decimal(self.changed_pixels) >= share * Decimal(self.compared_pixels)


def algorithm() -> dict[str, Any]:
    """The method and its thresholds, as recorded in diff.json (ints and strings only)."""
    return {
        "library": OPENCV_LIBRARY,
        "steps": "white padding to the larger size, absdiff, largest channel difference, threshold, "
        "dilation, external contours, bounding boxes",
        "pixel_threshold": PIXEL_THRESHOLD,
        "dilate_px": DILATE_PX,
        "min_box_area": MIN_BOX_AREA,
        "merge_gap_px": MERGE_GAP,
        "panel_max": f"{PANEL_MAX_WIDTH} x {PANEL_MAX_HEIGHT} pixels per panel",
        "max_canvas_pixels": MAX_PIXELS,
    }


def visual_diff(
    before: Path,
    after: Path,
    panel_out: Path | None = None,
    captions: tuple[str, str] = ("before", "after"),
    *,
    keep_pixels: bool = False,
) -> VisualDiff:
    """Compare two screenshots; with ``panel_out``, write the three-panel PNG there when some pixel changed,
    each panel headed by its caption (e.g. the item and its time). With ``keep_pixels``, the result keeps
    the padded screenshots when some pixel changed, for ``write_panel``.
    ValueError (one line) when either file is not a decodable raster image or is too large to decode, or
    when the canvas both are padded to would be ("sizes too different")."""
    if _same_bytes(before, after):  # one stored object, or a copy: nothing to decode but the header
        size = _header_size(before)
        return VisualDiff(f"{Decimal(0):.{SHARE_PLACES}f}", 0, size[0] * size[1], (), size, size, None)
    # The padded canvas is the widest by the tallest: two screenshots each under the limit (16000 x 250 and
    # 250 x 16000) can make one of 256 million pixels. Refused from the headers, before anything is decoded.
    (w0, h0), (w1, h1) = _header_size(before), _header_size(after)
    if max(w0, w1) * max(h0, h1) > MAX_PIXELS:
        raise ValueError(
            f"sizes too different: {w0} x {h0} and {w1} x {h1} pixels pad to {max(w0, w1)} x {max(h0, h1)}, "
            f"more than the {MAX_PIXELS:,} compared"
        )
    first, second = _decode(before), _decode(after)
    before_size = (int(first.shape[1]), int(first.shape[0]))
    after_size = (int(second.shape[1]), int(second.shape[0]))
    width, height = max(before_size[0], after_size[0]), max(before_size[1], after_size[1])
    if width * height > MAX_PIXELS:  # the decoded sizes, should a header have said otherwise
        raise ValueError(f"sizes too different: the padded canvas of {width} x {height} pixels is too large")
    first, second = _pad(first, width, height), _pad(second, width, height)
    mask = _changed_mask(first, second)
    changed = int(cv2.countNonZero(mask))
    boxes = _boxes(mask) if changed else ()
    total = width * height
    share = (Decimal(changed) / Decimal(total)).quantize(Decimal(1).scaleb(-SHARE_PLACES), ROUND_HALF_EVEN)
    panel = None
    if panel_out is not None and changed:
        _write_panels(first, second, boxes, panel_out, captions)
        panel = panel_out
    kept = (first, second) if keep_pixels and changed else None
    return VisualDiff(f"{share:f}", changed, total, boxes, before_size, after_size, panel, kept)


def write_panel(diff: VisualDiff, out: Path, captions: tuple[str, str] = ("before", "after")) -> Path:
    """Draw the three-panel PNG of a comparison made with ``keep_pixels`` (ValueError when it kept none)."""
    if diff.pixels is None:
        raise ValueError("the comparison kept no pixels to draw (nothing changed, or not asked to keep them)")
    _write_panels(diff.pixels[0], diff.pixels[1], diff.boxes, out, captions)
    return out


def _decode(path: Path) -> Array:
    """The image's pixels in OpenCV's BGR order. A PNG without transparency (what a browser's screenshot
    is) is decoded by OpenCV, twice as fast as Pillow, once ``open_image`` has read its header and found
    its size safe; anything else the way ``photos.hashing`` decodes it (transparency on white)."""
    try:
        with open_image(path) as image:
            plain_png = image.format == "PNG" and image.mode in {"RGB", "L", "I;16"}
    except Exception as exc:
        raise ValueError(f"{path.name}: {' '.join(str(exc).split())[:200]}") from None
    if plain_png:
        pixels = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if pixels is not None:
            return pixels
    return cv2.cvtColor(load_rgb(path), cv2.COLOR_RGB2BGR)


def _header_size(path: Path) -> tuple[int, int]:
    try:
        with open_image(path) as image:
            width, height = image.size
    except Exception as exc:
        raise ValueError(f"{path.name}: {' '.join(str(exc).split())[:200]}") from None
    return width, height


def _same_bytes(first: Path, second: Path) -> bool:
    """Whether the two files hold the same bytes (the same file, or equal sizes and contents)."""
    try:
        if first.samefile(second):
            return True
        if first.stat().st_size != second.stat().st_size:
            return False
        with first.open("rb") as a, second.open("rb") as b:
            while True:
                chunk = a.read(1 << 20)
                if chunk != b.read(1 << 20):
                    return False
                if not chunk:
                    return True
    except OSError:
        return False


def _pad(pixels: Array, width: int, height: int) -> Array:
    rows, cols = pixels.shape[:2]
    if (cols, rows) == (width, height):
        return pixels
    return cv2.copyMakeBorder(pixels, 0, height - rows, 0, width - cols, cv2.BORDER_CONSTANT, value=(255, 255, 255))


def _changed_mask(first: Array, second: Array) -> Array:
    difference = cv2.absdiff(first, second)
    # The largest of the three channel differences (not a grey level: a change of hue at equal luminance
    # still counts); cv2.max rather than numpy's, which takes five times as long.
    red, green, blue = cv2.split(difference)
    largest = cv2.max(cv2.max(red, green), blue)
    _, mask = cv2.threshold(largest, PIXEL_THRESHOLD, 255, cv2.THRESH_BINARY)
    return mask


def _boxes(mask: Array) -> tuple[Box, ...]:
    kernel = np.ones((2 * DILATE_PX + 1, 2 * DILATE_PX + 1), dtype=np.uint8)
    grown = cv2.dilate(mask, kernel)
    contours, _ = cv2.findContours(grown, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        # The changed pixels' own bounds inside the dilated region, without the dilation's growth.
        inner_x, inner_y, inner_w, inner_h = cv2.boundingRect(mask[y : y + h, x : x + w])
        if inner_w * inner_h >= MIN_BOX_AREA:
            found.append((x + inner_x, y + inner_y, x + inner_x + inner_w, y + inner_y + inner_h))
    merged = _merge(found)
    return tuple(Box(left, top, right - left, bottom - top) for left, top, right, bottom in merged)


def _merge(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes that overlap or lie within MERGE_GAP pixels of each other joined into one, until none do; top
    to bottom, then left to right (a re-encoded photo changes in many small patches: one box says it)."""
    pending = sorted(boxes, key=lambda b: (b[1], b[0]))
    changed = True
    while changed:
        changed = False
        kept: list[tuple[int, int, int, int]] = []
        for box in pending:
            for number, other in enumerate(kept):
                if (box[0] < other[2] + MERGE_GAP and other[0] < box[2] + MERGE_GAP
                        and box[1] < other[3] + MERGE_GAP and other[1] < box[3] + MERGE_GAP):  # fmt: skip
                    kept[number] = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]),
                                    max(box[3], other[3]))  # fmt: skip
                    changed = True
                    break
            else:
                kept.append(box)
        pending = sorted(kept, key=lambda b: (b[1], b[0]))
    return pending


def _fit(caption: str, width: int) -> str:
    """``caption`` on one line, cut to what fits a panel ``width`` pixels wide (about 7 pixels a character)."""
    flat = " ".join(caption.split())
    most = max(8, width // 7)
    return flat if len(flat) <= most else flat[: most - 1] + "…"


def _write_panels(first: Array, second: Array, boxes: tuple[Box, ...], out: Path, captions: tuple[str, str]) -> None:
    height, width = first.shape[:2]
    scale = max(width / PANEL_MAX_WIDTH, height / PANEL_MAX_HEIGHT, 1.0)
    size = (max(1, round(width / scale)), max(1, round(height / scale)))
    before, after = (
        Image.fromarray(cv2.cvtColor(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB))
        for pixels in (first, second)
    )
    marked = after.copy()
    draw = ImageDraw.Draw(marked)
    line = max(2, round(3 / scale))
    for box in boxes:
        left, top = box.x / scale, box.y / scale
        right, bottom = (box.x + box.width) / scale, (box.y + box.height) / scale
        draw.rectangle((left - line, top - line, right + line, bottom + line), outline=_BOX_COLOUR, width=line)
    canvas = Image.new("RGB", (3 * size[0] + 4 * _GAP, size[1] + _LABEL_HEIGHT + 2 * _GAP), (255, 255, 255))
    regions = f"{len(boxes)} changed region{'' if len(boxes) == 1 else 's'} boxed"
    labels = (*(_fit(c, size[0]) for c in captions), _fit(f"{captions[1]}: {regions}", size[0]))
    font = ImageFont.load_default(size=14)
    write = ImageDraw.Draw(canvas)
    for number, (panel, label) in enumerate(zip((before, after, marked), labels, strict=True)):
        left = _GAP + number * (size[0] + _GAP)
        write.text((left, _GAP // 2), label, font=font, fill=(0, 0, 0))
        canvas.paste(panel, (left, _GAP + _LABEL_HEIGHT))
        write.rectangle((left - 1, _GAP + _LABEL_HEIGHT - 1, left + size[0], _GAP + _LABEL_HEIGHT + size[1]),
                        outline=(160, 160, 160))  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, "PNG", compress_level=3)  # smaller and faster than the default here
