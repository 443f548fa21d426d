"""The link picture: one SVG drawing per group of linked items, from the recorded analysis alone.

Each group's items stand in a column on the left, in the order the analysis recorded them, and its links'
labels in a column on the right, in the order of the table, so the same analysis always gives the same
picture. Each item is a box with its id and a short form of its URL (host and path; of a query, which may
hold a token, only that there is one) or file name; an item of another case has a double border and its
case in its id. Each link is drawn from each of its items to its label, which says "L1", "L2"... (the rows
of the table beneath) and what the link is: a shared indicator (solid lines) with its kind and value,
visually matching photos (dashed lines) with the PDQ distance and matched points. Lines run only between
the columns: none passes under a box or a label. Nothing is told by colour alone, and the text is at least
9 pt when printed (13 px at 1:1; the drawing is 640 px wide, narrower than the printed column).

The drawing uses presentation attributes only (the report's content policy refuses style attributes), and
every recorded string in it is revealed (``visible_text``) and escaped: titles and values are hostile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from evidencekit.bundle.shown import visible_text

WIDTH = 640
FONT = 'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif"'
FONT_PX = 13  # 9.75 pt at 1:1
_CHAR_PX = 8.4  # a generous average advance at FONT_PX (digits are the widest), so boxes hold their text
_BOX_H = 44
_DASH = "7 4"
_LABEL_CHARS = 30  # a label's line fits its column
_LABEL_H = 34


def _text(value: Any) -> str:
    return escape(visible_text(value, single_line=True), quote=True)


def short(value: Any, limit: int) -> str:
    """``value`` (a URL without its scheme and ``www.``, or a name) in at most ``limit`` characters: its start
    and its end with "…" between, since what tells two ads of one site apart is often at the end."""
    text = visible_text(value, single_line=True)
    if text.startswith(("https://", "http://")):  # a query may hold a token: the box shows only that one is there
        address = text.split("#", 1)[0]
        text = address.split("?", 1)[0] + ("?\N{HORIZONTAL ELLIPSIS}" if "?" in address else "")
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
    """An item's box: its id in bold, then its URL or file name. An item of another case has a double border,
    and its case on a line of its own above, so that neither the case nor the item id is ever cut short."""
    chars = int((box_w - 10) / _CHAR_PX)
    case, _, own = item.rpartition("/")
    height = _BOX_H + (16 if case else 0)
    top = y - height / 2
    rows = ([(short("case " + case, chars), False)] if case else []) + [
        (short(own, chars), True),
        (short(label, chars) if label else "not known", False),
    ]
    border = (
        f'<rect x="{x - box_w / 2 - 3:.1f}" y="{top - 3:.1f}" width="{box_w + 6:.1f}" '
        f'height="{height + 6}" fill="#ffffff" stroke="#000000" stroke-width="1"/>'
        if case
        else ""
    )
    return (
        border + f'<rect x="{x - box_w / 2:.1f}" y="{top:.1f}" width="{box_w:.1f}" height="{height}" '
        'fill="#ffffff" stroke="#000000" stroke-width="1.5"/>'
        + "".join(
            f'<text x="{x:.1f}" y="{top + 18 + 16 * row:.1f}" text-anchor="middle" {FONT} font-size="{FONT_PX}"'
            f'{_BOLD if bold else ""} fill="#000000">{_text(text)}</text>'
            for row, (text, bold) in enumerate(rows)
        )
    )


def _line(a: tuple[float, float], b: tuple[float, float], photo: bool) -> str:
    dash = f' stroke-dasharray="{_DASH}"' if photo else ""
    return (
        f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" stroke="#000000" '
        f'stroke-width="{2 if photo else 1.5}"{dash}/>'
    )


_ITEM_W = 210.0
_LINK_W = 264.0
_ROW = 68.0
_BOLD = ' font-weight="bold"'
_TOP = 12.0


def _column(count: int, height: float) -> list[float]:
    """Centres of ``count`` rows spread evenly down a column of ``height``."""
    step = (height - 2 * _TOP) / count
    return [_TOP + step * (n + 0.5) for n in range(count)]


def group_picture(number: int, group: Mapping[str, Any], first_link: int, labels: Mapping[str, Any]) -> str:
    """The SVG of group ``number``; its links are numbered from ``first_link``. The items stand in a column
    on the left, the links' labels in a column on the right, and each link is drawn from each of its items
    to its label. Lines run only in the space between the two columns, so none passes under a box or a
    label, and where two lines cross, each still runs straight from one box to one label."""
    items = [str(i) for i in group.get("items") or ()]
    links = [
        link for link in group.get("links") or () if sum(1 for i in link.get("items") or () if str(i) in items) >= 2
    ]
    height = 2 * _TOP + _ROW * max(len(items), len(links), 1)
    item_x = 8 + _ITEM_W / 2
    link_x = WIDTH - 8 - _LINK_W / 2
    where = dict(zip(items, ((item_x, y) for y in _column(len(items), height)), strict=True))
    lines: list[str] = []
    captions: list[tuple[float, float, tuple[str, str]]] = []
    numbered = {id(link): first_link + n for n, link in enumerate(group.get("links") or ())}
    for link, y in zip(links, _column(max(len(links), 1), height), strict=False):
        photo = link.get("type") == "photo"
        caption = link_caption(numbered[id(link)], link)
        for item in link.get("items") or ():
            if str(item) in where:
                x, y_item = where[str(item)]
                lines.append(_line((x + _ITEM_W / 2, y_item), (link_x - _LINK_W / 2, y), photo))
        label_w = max(len(line) for line in caption) * _CHAR_PX + 10  # as _label_box draws it
        captions.append((link_x - _LINK_W / 2 + label_w / 2, y, caption))  # its left edge where the lines end
    nodes = [_node(x, y, _ITEM_W, item, labels.get(item)) for item, (x, y) in where.items()]
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


def legend(*, across: bool = True) -> str:
    """What the lines mean, drawn as they are drawn (never by colour); the double box only where an item of
    another case is drawn (``across``)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="link-legend" width="{WIDTH}" height="30" '
        f'viewBox="0 0 {WIDTH} 30" role="img" aria-label="Legend of the link picture">'
        + _line((10, 15), (60, 15), False)
        + f'<text x="68" y="19" {FONT} font-size="{FONT_PX}" fill="#000000">shared indicator</text>'
        + _line((210, 15), (260, 15), True)
        + f'<text x="268" y="19" {FONT} font-size="{FONT_PX}" fill="#000000">visually matching photos</text>'
        + (
            '<rect x="470" y="6" width="26" height="18" fill="#ffffff" stroke="#000000" stroke-width="1"/>'
            '<rect x="473" y="9" width="20" height="12" fill="#ffffff" stroke="#000000" stroke-width="1.5"/>'
            f'<text x="504" y="19" {FONT} font-size="{FONT_PX}" fill="#000000">item of another case</text>'
            if across
            else ""
        )
        + "</svg>"
    )


def link_pictures(groups: Sequence[Mapping[str, Any]], labels: Mapping[str, Any]) -> list[str]:
    """One drawing per group, links numbered L1, L2... across the groups in their recorded order."""
    pictures, first = [], 1
    for number, group in enumerate(groups, 1):
        pictures.append(group_picture(number, group, first, labels))
        first += len(group.get("links") or ())
    return pictures
