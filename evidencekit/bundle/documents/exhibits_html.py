"""The HTML an exhibit PDF is printed from: a summary of the item, then each image it shows, in strips.

Every page carries a running header and footer as CSS paged-media margin boxes (``@page`` rules), so
that a page showing an image names that image's SHA-256 in its own footer (a named page per image). Text
in margin boxes is a CSS string: every character that is not plainly safe is written as a CSS escape, so
page-derived text cannot end the string. Hashes break only between groups of eight hex digits, URLs only
after ``/ ? & = #`` (and, in a run of more than 24 characters without one, every 24 characters).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

from evidencekit.bundle.documents.exhibits_timeline import timeline_html
from evidencekit.bundle.documents.popup_facts import popup_lines, requested_label
from evidencekit.bundle.documents.report_facts import format_size, mapping, plain, reason_text, sequence, status_text
from evidencekit.bundle.documents.report_items import logged_in_rows
from evidencekit.bundle.documents.timefacts import NOT_COVERED
from evidencekit.bundle.shown import NOT_RECORDED, page_text, visible_text

if TYPE_CHECKING:
    from evidencekit.bundle.documents.exhibits import ExhibitLayout

_MARKER = re.compile("\u27e8U\\+[0-9A-F]{4,6}\u27e9")
_URL_BREAK_AFTER = frozenset("/?&=#")
URL_RUN = 24
HASH_GROUP = 8
# The header's URL line: at most this many character widths (a wide East Asian character counts twice).
HEADER_URL_WIDTH = 96
_CSS_SAFE = re.compile(r"[A-Za-z0-9 .,:;/_()+-]")


# --- text that breaks at fixed places ---------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Characters, with each ``⟨U+XXXX⟩`` marker kept whole."""
    out: list[str] = []
    pos = 0
    for found in _MARKER.finditer(text):
        out += list(text[pos : found.start()])
        out.append(found.group(0))
        pos = found.end()
    return out + list(text[pos:])


def url_pieces(value: Any) -> list[str]:
    """A URL (as visible text) cut after ``/ ? & = #`` and every ``URL_RUN`` characters of a longer run."""
    pieces: list[str] = []
    current, run = "", 0
    for token in _tokens(visible_text(value, url=True)):
        current += token
        run += 1
        if token in _URL_BREAK_AFTER or run >= URL_RUN:
            pieces.append(current)
            current, run = "", 0
    return pieces + ([current] if current else [])


def _html_piece(piece: str) -> str:
    return _MARKER.sub(r'<span class="marker">\g<0></span>', escape(piece, quote=True))


def url_html(value: Any) -> str:
    pieces = url_pieces(value)
    if not pieces:
        return f'<span class="muted">{NOT_RECORDED}</span>'
    return '<span class="url" dir="ltr">' + "<wbr>".join(_html_piece(p) for p in pieces) + "</span>"


def hash_groups(value: Any) -> list[str]:
    text = plain(value)
    text = text.split(":", 1)[1] if text.startswith(("sha256:", "blake3:")) else text
    return [text[i : i + HASH_GROUP] for i in range(0, len(text), HASH_GROUP)]


def hash_html(value: Any) -> str:
    groups = hash_groups(value)
    if not groups:
        return f'<span class="muted">{NOT_RECORDED}</span>'
    return '<span class="hash">' + "<wbr>".join(escape(g) for g in groups) + "</span>"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def header_url_lines(value: Any, *, lines: int = 2, whole: str = "the whole URL is on page 1") -> list[str]:
    """The URL for the running header: whole lines of ``url_pieces``; a longer URL is cut, and a line of its
    own says so."""
    pieces = url_pieces(value)
    total = len(visible_text(value, url=True))
    out: list[str] = [""]
    for piece in pieces:
        if out[-1] and _width(out[-1] + piece) > HEADER_URL_WIDTH:
            if len(out) == lines:
                shown = sum(len(line) for line in out)
                return [*out, f"… (the first {shown:,} of {total:,} characters; {whole})"]
            out.append("")
        out[-1] += piece
    return out


def css_string(text: str) -> str:
    """``text`` as a CSS string literal: anything but plainly safe characters as 6-digit escapes."""
    # The space after each escape ends it (CSS consumes it), so a space that follows is kept.
    return '"' + "".join(c if _CSS_SAFE.fullmatch(c) else f"\\{ord(c):06X} " for c in text) + '"'


# --- the document -----------------------------------------------------------------------------------


def header_lines(layout: ExhibitLayout) -> list[str]:
    item = layout.item
    lines = [f"Case {layout.case_id} · Exhibit {layout.label} · Item {item.get('item_id')}"]
    if item.get("kind") == "capture":
        url = item.get("final_url") or item.get("requested_url")
        first, *rest = header_url_lines(url) if url else [NOT_RECORDED]
        lines += [f"URL: {first}", *(f"     {line}" for line in rest)]
        # A capture that failed or never ended was attempted, not captured.
        when = "Captured" if item.get("status") in ("complete", "partial", "blocked") else "Attempted"
    else:
        first, *rest = header_url_lines(item.get("label"), lines=1, whole="the whole name is on page 1")
        lines += [f"File: {first}", *(f"      {line}" for line in rest)]
        when = "Added"
    lines.append(f"{when} {layout.time_utc} · {layout.time_local}")
    flagged = mapping(item.get("time") or {}, "item.time").get("clock_header")
    if flagged:  # the time just above comes from a clock a TSA measured off
        lines.append(str(flagged))
    return [visible_text(line, single_line=True) for line in lines]


def _page_rules(layout: ExhibitLayout, css: str) -> str:
    paper = layout.paper
    header = css_string("\n".join(header_lines(layout)))
    where = f"Exhibit {layout.label} · item {layout.item.get('item_id')} · page "
    rules = [
        f"@page {{ size: {paper.css_size}; margin: {paper.margin_css};"
        f" @top-left {{ content: {header}; }}"
        f' @bottom-left {{ content: {css_string(where)} counter(page) " of " counter(pages); }} }}'
    ]
    for index, shown in enumerate(layout.shown):
        path = "\n  ".join(header_url_lines(shown.path, lines=3, whole="the whole path is on page 1"))
        footer = css_string(f"\nFile shown: {path}\nSHA-256 {' '.join(hash_groups(shown.sha256))}")
        rules.append(
            f"@page shown{index} {{ @bottom-left {{ content: {css_string(where)} counter(page) "
            f'" of " counter(pages) {footer}; }} }}'
        )
    return f"<style>{css}\n{chr(10).join(rules)}</style>"


def _kv(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f'<tr><th scope="row">{escape(name)}</th><td>{value}</td></tr>' for name, value in rows)
    return f'<table class="kv"><tbody>{cells}</tbody></table>'


def _text(value: Any) -> str:
    return escape(visible_text(value, single_line=True))


def _actor(actor: Any) -> str:
    if isinstance(actor, Mapping):
        key = plain(actor.get("key_id"))
        return page_text(actor.get("name")) + (f' (key <span class="mono">{escape(key)}</span>)' if key else "")
    return page_text(actor)


def _redirects(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The redirect chain, hop by hop with each answer's status, when there was more than the one request."""
    hops = [mapping(h, "redirect") for h in sequence(item.get("redirect_chain") or [], "redirect_chain")]
    if len(hops) < 2:
        return []
    listed = "".join(f"<li>{_text(h.get('status')) or NOT_RECORDED} {url_html(h.get('url'))}</li>" for h in hops)
    return [("Redirect chain", f"<ol>{listed}</ol>")]


def _summary(layout: ExhibitLayout) -> str:
    item = layout.item
    reasons = [reason_text(r) for r in sequence(item.get("reasons"), "reasons")]
    if item.get("error"):  # a failed capture's recorded error is its first reason
        reasons.insert(0, f"error: {plain(item.get('error'))}")
    reason_html = "<ul>" + "".join(f"<li>{_text(r)}</li>" for r in reasons) + "</ul>" if reasons else "none recorded"
    rows = [
        ("Case", _text(layout.case_id)),
        ("Exhibit", f"<strong>{_text(layout.label)}</strong>"),
        ("Item", f'<span class="mono">{_text(item.get("item_id"))}</span> (item {item.get("number")} of the case)'),
        ("Status", f"<strong>{_text(status_text(item))}</strong>"),
        ("Reasons recorded", reason_html),
    ]
    warning = mapping(item.get("time") or {}, "item.time").get("clock_warning")
    if warning:  # before the times it casts doubt on
        rows.append(("Clock warning", f"<strong>{_text(warning)}</strong>"))
    if item.get("kind") == "capture":
        rows += [
            (requested_label(item), url_html(item.get("requested_url"))),
            *_redirects(item),
            ("Final URL", url_html(item.get("final_url"))),
            *((label, _text(text)) for label, text in popup_lines(item)),
            ("Page title", page_text(item.get("title"))),
            ("HTTP status", _text(item.get("http_status") or NOT_RECORDED)),
            ("Capture started", _when(layout, item.get("started"))),
            ("Capture ended", _when(layout, item.get("ended"))),
        ]
        if item.get("profile") or item.get("vantage"):  # made logged in, or from a stated vantage (issue 16)
            rows += logged_in_rows(item)
    else:
        rows += [
            ("File name", page_text(item.get("label"))),
            ("Added", _when(layout, item.get("started"))),
            ("Added by", _actor(layout.added_by)),
        ]
    rows.append(("Independent time", _independent_time(item)))
    rows.append(("Local zone", _text(layout.zone_note)))
    if layout.cut_note:
        rows.append(("Page cut at capture", _text(layout.cut_note)))
    return f"<h1>Exhibit {_text(layout.label)}</h1>" + _kv(rows)


def _independent_time(item: Mapping[str, Any]) -> str:
    """The earliest independent time covering the item (``documents.timefacts``), and the items sharing it."""
    time = mapping(item.get("time"), "item.time")
    said = _text(time.get("statement") or NOT_COVERED)
    if time.get("covered"):
        said += f" ({_text(time.get('tsa'))}: {_text(time.get('qualified_said'))}; {_text(time.get('accuracy_said'))})"
    return said + (f"<br>{_text(time.get('tie_said'))}" if time.get("tie_said") else "")


def _when(layout: ExhibitLayout, value: Any) -> str:
    if not value:
        return f'<span class="muted">{NOT_RECORDED}</span>'
    utc, local = layout.moment(value)
    return f'<span class="mono">{_text(value)}</span><br>{_text(utc)} · {_text(local)}'


def _contents(layout: ExhibitLayout) -> str:
    if layout.shown:
        items = "".join(f"<li>{_text(shown.caption(layout.total))}</li>" for shown in layout.shown)
        body = f"<ul>{items}</ul>"
    else:
        body = ""
    if layout.not_shown:
        body += f"<p>{_text(layout.not_shown)}</p>"
    return "<h2>What this exhibit shows</h2>" + body


def _files(layout: ExhibitLayout) -> str:
    rows = "".join(
        f"<tr><td>{url_html(a.get('path'))}</td><td>{escape(format_size(a.get('size')))}</td>"
        f"<td>{hash_html(a.get('sha256'))}</td><td>{hash_html(a.get('blake3'))}</td></tr>"
        for a in sequence(layout.item.get("artefacts"), "artefacts")
        if isinstance(a, Mapping)
    )
    return (
        "<h2>Files of this item in the bundle</h2><table><colgroup><col class='w-path'><col class='w-size'>"
        "<col class='w-hash'><col class='w-hash'></colgroup><thead><tr><th>Path in the bundle</th><th>Size</th>"
        f"<th>SHA-256</th><th>BLAKE3</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _notes(layout: ExhibitLayout) -> str:
    notes = [n for n in sequence(layout.item.get("notes"), "notes") if isinstance(n, Mapping)]
    if not notes:
        return "<h2>Investigator notes</h2><p>No note about this item was recorded.</p>"
    rows = "".join(
        f"<tr><td>{_when(layout, n.get('time'))}</td><td>{_actor(n.get('actor'))}</td>"
        f'<td><bdi class="multiline">{escape(visible_text(n.get("text")))}</bdi></td></tr>'
        for n in notes
    )
    return (
        "<h2>Investigator notes</h2><table><colgroup><col class='w-time'><col class='w-actor'><col></colgroup>"
        f"<thead><tr><th>Recorded</th><th>By</th><th>Note</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _strip_pages(layout: ExhibitLayout) -> str:
    pages = []
    for index, shown in enumerate(layout.shown):
        for number, (start, rows) in enumerate(shown.strips, start=1):
            caption = shown.strip_caption(number, start, rows, layout.total)
            offset, height = shown.css_px(start), shown.css_px(rows)
            pages.append(
                f'<section class="strip" style="page: shown{index}"><p class="caption">{_text(caption)}</p>'
                f'<div class="clip" style="width: {shown.css_px(shown.width)}px; height: {height}px">'
                f'<img alt="" src="{escape(shown.uri, quote=True)}" style="width: {shown.css_px(shown.width)}px; '
                f'height: {shown.css_px(shown.height)}px; margin-top: -{offset}px"></div></section>'
            )
    return "".join(pages)


def render_exhibit(layout: ExhibitLayout) -> str:
    """The whole HTML document of one exhibit, as laid out by ``layout``."""
    css = resources.files("evidencekit.bundle.documents").joinpath("templates/exhibit.css").read_text("utf-8")
    history = timeline_html(layout.timeline, plain(layout.item.get("item_id")), layout.moment, layout.root)
    summary = _summary(layout) + history + _contents(layout) + _files(layout) + _notes(layout)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Exhibit {_text(layout.label)}</title>{_page_rules(layout, css)}</head>"
        f'<body><section class="summary">{summary}</section>{_strip_pages(layout)}</body></html>'
    )
