"""The exhibit image of a photo match: the two photos side by side, each matched point of one joined by a
line to its counterpart in the other, and a caption beneath saying what was found and by which versions.

A reader can check the match with their own eyes: the lines must join the same features of the scene.
The photos are shown as stored (a mirrored match draws its lines to the unmirrored photo), scaled to one
height; at most MAX_LINES lines are drawn, evenly chosen, so the photos stay visible under them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from evidencekit.photos import features
from evidencekit.photos.hashing import load_rgb

PANEL_HEIGHT = 480
MAX_PANEL_WIDTH = 720
GAP = 24
MARGIN = 16
MAX_LINES = 120
CAPTION_SIZE = 16
_LINE_COLOURS = ((0, 200, 255), (255, 220, 0), (0, 255, 120), (255, 80, 200))


def render_exhibit(a: Path, b: Path, out: Path, caption: str) -> None:
    """Write the exhibit PNG for photos ``a`` and ``b`` at ``out``. ``caption`` (the match's words and the
    algorithms' versions) is printed beneath, followed by how many points the lines join. ValueError (one
    line) when either file is not a decodable raster image."""
    found = features.match_photos(a, b)
    left, scale_a = _panel(Image.fromarray(load_rgb(a)))
    right, scale_b = _panel(Image.fromarray(load_rgb(b)))
    font = ImageFont.load_default(size=CAPTION_SIZE)
    width = MARGIN * 2 + left.width + GAP + right.width
    drawn = min(found.inliers, MAX_LINES)
    note = (
        f"Lines join {drawn:,} of the {found.inliers:,} matched points (RANSAC inliers) found by "
        f"{features.OPENCV} ORB{' with one photo mirrored' if found.mirrored else ''}."
    )
    chars = max(40, (width - 2 * MARGIN) * 2 // CAPTION_SIZE)
    lines = [*textwrap.wrap(" ".join(caption.split()), chars), *textwrap.wrap(note, chars)]
    line_height = CAPTION_SIZE + 6
    top = MARGIN + max(left.height, right.height)
    canvas = Image.new("RGB", (width, top + MARGIN + line_height * len(lines) + MARGIN), (255, 255, 255))
    canvas.paste(left, (MARGIN, MARGIN))
    offset_b = MARGIN + left.width + GAP
    canvas.paste(right, (offset_b, MARGIN))
    draw = ImageDraw.Draw(canvas)
    step = found.inliers / drawn if drawn else 1.0
    for n in range(drawn):
        (xa, ya), (xb, yb) = found.points_a[int(n * step)], found.points_b[int(n * step)]
        start = (MARGIN + xa / scale_a, MARGIN + ya / scale_a)
        end = (offset_b + xb / scale_b, MARGIN + yb / scale_b)
        colour = _LINE_COLOURS[n % len(_LINE_COLOURS)]
        draw.line([start, end], fill=colour, width=1)
        for x, y in (start, end):
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), outline=colour, width=2)
    for number, line in enumerate(lines):
        draw.text((MARGIN, top + MARGIN + number * line_height), line, font=font, fill=(0, 0, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, "PNG")


def _panel(image: Image.Image) -> tuple[Image.Image, float]:
    """``image`` scaled to PANEL_HEIGHT (narrower if it would be wider than MAX_PANEL_WIDTH), and the
    stored pixels per panel pixel."""
    scale = max(image.height / PANEL_HEIGHT, image.width / MAX_PANEL_WIDTH)
    size = (max(1, round(image.width / scale)), max(1, round(image.height / scale)))
    return image.resize(size, Image.Resampling.LANCZOS), scale
