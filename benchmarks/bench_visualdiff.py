"""What does comparing two captures of a page cost: the visual diff of a 1280 x 3000 screenshot pair, and a
whole compare_pages on an unchanged page and on a changed one?

Run:  .venv/bin/python benchmarks/bench_visualdiff.py [--repeat 5]

Draws a page-like 1280 x 3000 screenshot with Pillow (header, banner, photo block, lines of text) and the
same page with a changed banner, written as PNG files, then times in interleaved rounds (best of each):

  (a) visual_diff of the changed pair, no panel (what every observation pays)
  (b) visual_diff of the changed pair with the three-panel PNG (what a changed page pays once more)
  (c) visual_diff of two files with the same pixels (an unchanged page rendered twice)
  (d) visual_diff of one stored file against itself (identical screenshots share one stored object)
  (e) compare_pages on an unchanged page of 20,000 words, 4 photos and that screenshot
  (f) compare_pages on a changed page (text, one photo, the banner)

The issue measured OpenCV at ~0.06 s per pair on its machine; a watch pass must add at most 10 % to a
capture (several seconds a page). Exits 0 (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from _common import format_timing, interleaved_best, machine_busy_note
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from photokit import make_photo, save_jpeg

from evidencekit.analysis.contentdiff import PageState, compare_pages
from evidencekit.photos.hashing import photo_facts
from evidencekit.photos.visualdiff import visual_diff


def page(banner: str, colour: str) -> Image.Image:
    image = Image.new("RGB", (1280, 3000), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1279, 80), fill="#1d4e89")
    draw.rectangle((80, 400, 1199, 519), fill=colour)
    draw.text((110, 440), banner, fill="white", font_size=32)
    draw.rectangle((80, 600, 560, 960), fill="#c8866a")
    for y in range(1000, 2940, 36):
        draw.text((80, y), "Respected families are looking for housekeepers, nannies and carers. " * 2, fill="#222")
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        before, after, again = folder / "a.png", folder / "b.png", folder / "a2.png"
        page("Call now", "#2a6").save(before)
        page("Call now", "#2a6").save(again)
        page("Changed banner", "#a22").save(after)
        photos = [save_jpeg(make_photo(seed, (800, 600)), folder / f"{seed}.jpg") for seed in range(4)]
        images = tuple(
            {"url": f"https://ads.example/{n}.jpg", "exchange": 1, "status": 200, "artefact": f"images/{n}.jpg",
             "duplicate": False, **photo_facts(path)}
            for n, path in enumerate(photos)
        )  # fmt: skip
        text = "\n".join(" ".join(f"w{(n * 7 + k) % 900}" for k in range(12)) for n in range(1700))
        state = PageState("capture-0001", "https://ads.example/ad", None, "2026-12-03T10:00:00.000000Z", "Ad",
                          (), images, text, None, before)  # fmt: skip
        same = replace(state, item="capture-0002", screenshot=again)
        other_photo = save_jpeg(make_photo(99, (800, 600)), folder / "99.jpg")
        changed = replace(
            same,
            text=text.replace("w5 ", "w5x ", 3),
            screenshot=after,
            images=(*images[:3], {**images[3], "artefact": "images/99.jpg", **photo_facts(other_photo)}),
        )
        cases = {
            "(a) visual diff, changed, no panel": lambda: visual_diff(before, after),
            "(b) visual diff, changed, with panel": lambda: visual_diff(before, after, folder / "panel.png"),
            "(c) visual diff, same pixels": lambda: visual_diff(before, again),
            "(d) visual diff, same stored file": lambda: visual_diff(before, before),
            "(e) compare_pages, unchanged page": lambda: compare_pages(state, same),
            "(f) compare_pages, changed page": lambda: compare_pages(state, changed),
        }
        timings, _ = interleaved_best(cases, repeat=args.repeat)
        for timing in timings.values():
            print(format_timing(timing, width=40))
        verdicts = compare_pages(state, same).verdict, compare_pages(state, changed).verdict
        print(f"verdicts: unchanged page {verdicts[0]}, changed page {verdicts[1]}")
        print(machine_busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
