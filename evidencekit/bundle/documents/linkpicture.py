"""The link picture: one SVG drawing per group of linked items, from the recorded analysis alone.

Each group's items stand on a circle (two items side by side), in the order the analysis recorded them, so
the same analysis always gives the same picture. Each item is a box with its id and a short form of its URL
or file name; an item of another case has a double border and its case in its id. Each link is drawn from
each of its items to its label, which says "L1", "L2"... (the rows of the table beneath) and what the link
is: a shared indicator (solid lines) with its kind and value, visually matching photos (dashed lines) with
the PDQ distance and matched points. Labels never cover a box or another label. Nothing is told by colour
alone, and the text is at least 9 pt when printed (13 px at 1:1; the drawing is 640 px wide, narrower than
the printed column).

The drawing uses presentation attributes only (the report's content policy refuses style attributes), and
every recorded string in it is revealed (``visible_text``) and escaped: titles and values are hostile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from evidencekit.bundle.shown import visible_text

WIDTH = 640
FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"'
FONT_PX = 13  # 9.75 pt at 1:1
_CHAR_PX = 7.6  # a generous average advance at FONT_PX, so boxes hold their text
_BOX_H = 44
_DASH = "7 4"
_LABEL_CHARS = 30  # a label's line fits between two boxes side by side
_LABEL_H = 34
_PULL = 0.35  # how far a label moves from between its items towards the middle of the circle


def _text(value: Any) -> str:
    return escape(visible_text(value, single_line=True), quote=True)


def short(value: Any, limit: int) -> str:
    """``value`` (a URL without its scheme and ``www.``, or a name) in at most ``limit`` characters: its start
    and its end with "…" between, since what tells two ads of one site apart is often at the end."""
    text = visible_text(value, single_line=True)
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    text = text.removeprefix("www.")
    if len(text) <= limit:
        return text
    head = max((limit - 1) // 2, 1)
    return text[:head] + "\N{HORIZONTAL ELLIPSIS}" + text[len(text) - max(limit - 1 - head, 1) :]


def link_caption(number: int, link: Mapping[str, Any]) -> tuple[str, str]:
    """An edge's label in two lines: its table row and what the link is, then its value (raw text)."""
    if link.get("type") == "photo":
        distance, inliers = link.get("pdq_distance"), link.get("inliers")
        said = [f"PDQ distance {distance}" if isinstance(distance, int) else "crop-resistant hash"]
        if isinstance(inliers, int):
            said.append(f"{inliers} points")
        return f"L{number} visually matching photos", ", ".join(said)
    found = link.get("indicator")
    indicator: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return f"L{number} {short(indicator.get('kind'), 24)}", short(indicator.get("value"), _LABEL_CHARS)


def _positions(count: int) -> tuple[list[tuple[float, float]], float, float]:
    """Centres of ``count`` boxes, the box width and the drawing's height."""
    if count <= 2:
        box_w = 170.0
        return [(box_w / 2 + 20, 34.0), (WIDTH - box_w / 2 - 20, 34.0)][:count], box_w, 70.0
    rx = WIDTH / 2 - 100
    ry = min(340.0, max(150.0, count * 45.0))
    chord = 2 * rx * math.sin(math.pi / count)
    box_w = max(96.0, min(150.0, chord - 8))
    rx = WIDTH / 2 - box_w / 2 - 8
    centre_y = ry + _BOX_H
    points = [
        (WIDTH / 2 + rx * math.cos(-math.pi / 2 + 2 * math.pi * i / count), centre_y + ry * math.sin(
            -math.pi / 2 + 2 * math.pi * i / count))
        for i in range(count)
    ]  # fmt: skip
    return points, box_w, 2 * centre_y


def _label_box(x: float, y: float, lines: tuple[str, str]) -> str:
    """A label centred on (x, y): two lines of text on white, framed."""
    width = max(len(line) for line in lines) * _CHAR_PX + 10
    return (
        f'<rect x="{x - width / 2:.1f}" y="{y - _LABEL_H / 2:.1f}" width="{width:.1f}" height="{_LABEL_H}" '
        'fill="#ffffff" stroke="#000000" stroke-width="0.6"/>'
        + "".join(
            f'<text x="{x:.1f}" y="{y - 3 + 15 * row:.1f}" text-anchor="middle" {FONT} font-size="{FONT_PX}" '
            f'fill="#000000">{_text(line)}</text>'
            for row, line in enumerate(lines)
        )
    )


def _node(x: float, y: float, box_w: float, item: str, label: str | None) -> str:
    chars = int((box_w - 10) / _CHAR_PX)
    other = "/" in item
    border = (
        f'<rect x="{x - box_w / 2 - 3:.1f}" y="{y - _BOX_H / 2 - 3:.1f}" width="{box_w + 6:.1f}" '
        f'height="{_BOX_H + 6}" fill="#ffffff" stroke="#000000" stroke-width="1"/>'
        if other
        else ""
    )
    return (
        border + f'<rect x="{x - box_w / 2:.1f}" y="{y - _BOX_H / 2:.1f}" width="{box_w:.1f}" height="{_BOX_H}" '
        'fill="#ffffff" stroke="#000000" stroke-width="1.5"/>'
        f'<text x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle" {FONT} font-size="{FONT_PX}" font-weight="bold" '
        f'fill="#000000">{_text(short(item, chars))}</text>'
        f'<text x="{x:.1f}" y="{y + 14:.1f}" text-anchor="middle" {FONT} font-size="{FONT_PX}" '
        f'fill="#000000">{_text(short(label, chars) if label else "not known")}</text>'
    )


def _line(a: tuple[float, float], b: tuple[float, float], photo: bool) -> str:
    dash = f' stroke-dasharray="{_DASH}"' if photo else ""
    return (
        f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" stroke="#000000" '
        f'stroke-width="{2 if photo else 1.5}"{dash}/>'
    )


Box = tuple[float, float, float, float]  # left, top, right, bottom


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place(x: float, y: float, lines: tuple[str, str], taken: list[Box]) -> tuple[float, float]:
    """Where a label goes: at (x, y), or the nearest place above or below it that covers no box or label
    already placed (tried in a fixed order, so the picture is the same every time)."""
    half_w = max(len(line) for line in lines) * _CHAR_PX / 2 + 7
    for step in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6):
        at = y + step * (_LABEL_H + 6)
        box = (x - half_w, at - _LABEL_H / 2 - 2, x + half_w, at + _LABEL_H / 2 + 2)
        if at - _LABEL_H / 2 >= 0 and not any(_overlaps(box, other) for other in taken):
            taken.append(box)
            return x, at
    taken.append((x - half_w, y - _LABEL_H / 2, x + half_w, y + _LABEL_H / 2))
    return x, y


def group_picture(number: int, group: Mapping[str, Any], first_link: int, labels: Mapping[str, Any]) -> str:
    """The SVG of group ``number``; its links are numbered from ``first_link``. A link's label sits between its
    items (pulled towards the middle of the circle, moved off any box or label), and the link is drawn from
    each of its items to its label."""
    items = [str(i) for i in group.get("items") or ()]
    points, box_w, height = _positions(len(items))
    where = dict(zip(items, points, strict=True))
    centre = (WIDTH / 2, height / 2)
    taken: list[Box] = [
        (x - box_w / 2 - 4, y - _BOX_H / 2 - 4, x + box_w / 2 + 4, y + _BOX_H / 2 + 4) for x, y in points
    ]
    lines: list[str] = []
    captions: list[tuple[float, float, tuple[str, str]]] = []
    for offset, link in enumerate(group.get("links") or ()):
        joined = [where[str(i)] for i in link.get("items") or () if str(i) in where]
        if len(joined) < 2:
            continue
        photo = link.get("type") == "photo"
        caption = link_caption(first_link + offset, link)
        x = sum(p[0] for p in joined) / len(joined)
        y = sum(p[1] for p in joined) / len(joined)
        if len(items) > 2:
            x, y = x + (centre[0] - x) * _PULL, y + (centre[1] - y) * _PULL
        x, y = _place(x, y, caption, taken)
        lines += [_line(point, (x, y), photo) for point in joined]
        captions.append((x, y, caption))
    height = max([height] + [y + _LABEL_H / 2 + 8 for _, y, _ in captions])
    nodes = [_node(x, y, box_w, item, labels.get(item)) for item, (x, y) in where.items()]
    labels_svg = [_label_box(x, y, text) for x, y, text in captions]
    title = f"Group {number}: links between {', '.join(items)}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="link-picture" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{_text(title)}">'
        f"<title>{_text(title)}</title>"
        f'<rect x="0" y="0" width="{WIDTH}" height="{height:.0f}" fill="#ffffff"/>'
        + "".join(lines)
        + "".join(nodes)
        + "".join(labels_svg)
        + "</svg>"
    )


def legend() -> str:
    """What the lines mean, drawn as they are drawn (never by colour)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="link-legend" width="{WIDTH}" height="30" '
        f'viewBox="0 0 {WIDTH} 30" role="img" aria-label="Legend of the link picture">'
        + _line((10, 15), (60, 15), False)
        + f'<text x="68" y="19" {FONT} font-size="{FONT_PX}" fill="#000000">shared indicator</text>'
        + _line((210, 15), (260, 15), True)
        + f'<text x="268" y="19" {FONT} font-size="{FONT_PX}" fill="#000000">visually matching photos</text>'
        + '<rect x="470" y="6" width="26" height="18" fill="#ffffff" stroke="#000000" stroke-width="1"/>'
        + '<rect x="473" y="9" width="20" height="12" fill="#ffffff" stroke="#000000" stroke-width="1.5"/>'
        + f'<text x="504" y="19" {FONT} font-size="{FONT_PX}" fill="#000000">item of another case</text>'
        + "</svg>"
    )


def link_pictures(groups: Sequence[Mapping[str, Any]], labels: Mapping[str, Any]) -> list[str]:
    """One drawing per group, links numbered L1, L2... across the groups in their recorded order."""
    pictures, first = [], 1
    for number, group in enumerate(groups, 1):
        pictures.append(group_picture(number, group, first, labels))
        first += len(group.get("links") or ())
    return pictures
