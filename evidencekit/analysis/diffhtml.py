"""``diff.html``: the comparison of two captures for a human reader, from diff.json's content alone.

Offline and inert, as the bundle's report is: no script, nothing loaded from a network, the same
Content-Security-Policy (nothing by default; images from the file's own folder; the one stylesheet allowed
by its SHA-256; no base URL, no form target) and no referrer. Everything that came from a page (titles,
URLs, indicators, text) is escaped. A fact the document lacks is written "not known". Photos are
"visually matching (PDQ distance N)", never "the same".
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

NOT_KNOWN = "not known"
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#111}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #bbb;padding:.3em .6em;"
    "text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#eee}"
    # Marked in shape, not only in tint, so a black-and-white printout still tells them apart.
    "del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:underline}"
    'del::before{content:"[-"}del::after{content:"-]"}ins::before{content:"[+"}ins::after{content:"+]"}'
    ".words{line-height:1.6;border:1px solid #ccc;padding:1em;overflow-wrap:anywhere}"
    ".verdict{font-size:1.2em;font-weight:bold}.quiet{color:#555}img{max-width:100%;border:1px solid #ccc}"
)
_KIND_NAMES = {
    "indicators": "Indicators",
    "images": "Photos",
    "title": "Title",
    "text": "Visible text",
    "screenshot": "Screenshot",
}


def _e(value: Any) -> str:
    if value is None or value == "":
        return NOT_KNOWN
    return escape(str(value), quote=True)


def policy() -> str:
    digest = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; img-src 'self'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"


def render_diff_html(document: Mapping[str, Any], with_panel: bool) -> str:
    """The complete HTML page for a diff.json ``document``; ``with_panel``: visual-diff.png was written."""
    before, after = document.get("before") or {}, document.get("after") or {}
    body = [
        f"<h1>Comparison of {_e(before.get('item'))} and {_e(after.get('item'))}</h1>",
        _sides(before, after),
        f'<p class="verdict">Verdict: {_e(document.get("verdict"))}</p>',
        _changes(document.get("changes") or []),
        _indicators(document.get("indicators") or {}),
        _photos(document.get("images") or {}),
        _title(document.get("title") or {}),
        _text(document.get("text") or {}),
        _screenshot(document.get("screenshot") or {}, with_panel),
        _notes(document.get("notes") or []),
        f'<p class="quiet">Made by {_e(document.get("software"))}; the methods and thresholds are listed in '
        "diff.json (algorithms). This page loads nothing from any network.</p>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy()}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>Comparison of {_e(before.get('item'))} and {_e(after.get('item'))}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _sides(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{label}</th><td>{_e(before.get(key))}</td><td>{_e(after.get(key))}</td></tr>"
        for label, key in (
            ("Item", "item"),
            ("Recorded (UTC, ledger)", "recorded_at"),
            ("URL asked for", "url"),
            ("Final URL", "final_url"),
            ("Title", "title"),
        )
    )
    return f"<table><tr><th></th><th>Before</th><th>After</th></tr>{rows}</table>"


def _changes(changes: Sequence[Mapping[str, Any]]) -> str:
    if not changes:
        return "<h2>What changed</h2><p>Nothing that counts as a change was found.</p>"
    items = "".join(
        f"<li><strong>{_e(_KIND_NAMES.get(str(c.get('kind')), c.get('kind')))}</strong>: {_e(c.get('summary'))}</li>"
        for c in changes
    )
    return f"<h2>What changed, most important first</h2><ol>{items}</ol>"


def _indicators(section: Mapping[str, Any]) -> str:
    rows = []
    for found in section.get("replaced") or []:
        rows.append(
            f"<tr><td>{_e(found.get('kind'))}</td><td>replaced</td>"
            f"<td><del>{_e((found.get('before') or {}).get('raw'))}</del></td>"
            f"<td><ins>{_e((found.get('after') or {}).get('raw'))}</ins></td></tr>"
        )
    for found in section.get("added") or []:
        rows.append(
            f"<tr><td>{_e(found.get('kind'))}</td><td>added</td><td></td><td><ins>{_e(found.get('raw'))}</ins></td></tr>"
        )
    for found in section.get("removed") or []:
        rows.append(
            f"<tr><td>{_e(found.get('kind'))}</td><td>removed</td><td><del>{_e(found.get('raw'))}</del></td><td></td></tr>"
        )
    site = section.get("site_left_out") or {}
    note = (
        f'<p class="quiet">The site\'s own indicators (its furniture) are left out: {_e(site.get("before"))} before, '
        f"{_e(site.get('after'))} after.</p>"
    )
    if not rows:
        return f"<h2>Indicators</h2><p>No indicator of the author was added or removed.</p>{note}"
    head = "<tr><th>Kind</th><th>Change</th><th>Before</th><th>After</th></tr>"
    return f"<h2>Indicators</h2><table>{head}{''.join(rows)}</table>{note}"


def _photo(photo: Mapping[str, Any] | None) -> str:
    if not photo:
        return ""
    urls = "<br>".join(_e(u) for u in photo.get("urls") or []) or NOT_KNOWN
    return f'{urls}<br><span class="quiet">{_e(photo.get("width"))} x {_e(photo.get("height"))} px</span>'


def _row(change: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, words: str) -> str:
    return f"<tr><td>{change}</td><td>{_photo(before)}</td><td>{_photo(after)}</td><td>{words}</td></tr>"


def _photos(section: Mapping[str, Any]) -> str:
    if not section.get("compared"):
        return f"<h2>Photos</h2><p>Not compared: {_e(section.get('why'))}.</p>"
    rows = [_row("replaced", p.get("before"), p.get("after"), "no visual match") for p in section.get("replaced") or []]
    rows += [_row("added", None, p, "no visual match before") for p in section.get("added") or []]
    rows += [_row("removed", p, None, "no visual match after") for p in section.get("removed") or []]
    rows += [_row("kept", p.get("before"), p.get("after"), _e(p.get("words"))) for p in section.get("matched") or []]
    counts = (
        f"<p>{_e(section.get('photos_before'))} photos compared before, {_e(section.get('photos_after'))} after "
        "(icons, small or featureless images and the site's own furniture are left out).</p>"
    )
    skipped = section.get("not_compared") or {}
    for side in ("before", "after"):
        images = skipped.get(side) or []
        if images:
            listed = "; ".join(f"{_e(i.get('url') or i.get('artefact'))} ({_e(i.get('why'))})" for i in images)
            counts += f"<p>Images not compared {side}: {listed}.</p>"
    beyond = (section.get("left_out") or 0) - sum(len(skipped.get(side) or []) for side in ("before", "after"))
    if beyond > 0:
        counts += f"<p>{_e(beyond)} further photos were not compared (too many on the page).</p>"
    if not rows:
        return f"<h2>Photos</h2>{counts}"
    head = "<tr><th>Change</th><th>Before</th><th>After</th><th>Comparison</th></tr>"
    return f"<h2>Photos</h2>{counts}<table>{head}{''.join(rows)}</table>"


def _title(section: Mapping[str, Any]) -> str:
    if section.get("compared") is False:  # not known on one side: neither "unchanged" nor a value
        return f"<h2>Title</h2><p>{_e(str(section.get('summary', 'title not compared')).capitalize())}.</p>"
    if not section.get("changed"):
        return f"<h2>Title</h2><p>Unchanged: {_e(section.get('before'))}</p>"
    return f"<h2>Title</h2><p><del>{_e(section.get('before'))}</del> → <ins>{_e(section.get('after'))}</ins></p>"


def _text(section: Mapping[str, Any]) -> str:
    ignored = section.get("ignore") or []
    ignore = (
        f'<p class="quiet">Text of the elements matching {", ".join(f"<code>{_e(s)}</code>" for s in ignored)} '
        "was left out of both sides.</p>"
        if ignored
        else ""
    )
    ignore += "".join(f'<p class="quiet">{_e(note)}</p>' for note in section.get("notes") or [])
    if not section.get("compared"):
        return f"<h2>Visible text</h2><p>Not compared: {_e(section.get('why'))}.</p>"
    if not section.get("changed"):
        return f"<h2>Visible text</h2><p>No word changed ({_e(section.get('words_after'))} words).</p>{ignore}"
    parts = []
    for run in section.get("runs") or []:
        op, text = run.get("op"), _e(run.get("text"))
        if op == "deleted":
            parts.append(f"<del>{text}</del>")
        elif op == "inserted":
            parts.append(f"<ins>{text}</ins>")
        else:
            parts.append(f'<span class="quiet">{text}</span>')
    return (
        f"<h2>Visible text</h2><p>{_e(section.get('summary'))} (of {_e(section.get('words_before'))} words before, "
        f'{_e(section.get("words_after"))} after).</p>{ignore}<p class="quiet">Removed words are struck through '
        "and marked [- -]; added words are underlined and marked [+ +].</p>"
        f'<div class="words">{" ".join(parts)}</div>'
    )


def _screenshot(section: Mapping[str, Any], with_panel: bool) -> str:
    if not section.get("compared"):
        return f"<h2>Screenshot</h2><p>Not compared: {_e(section.get('why'))}.</p>"
    counts = "counts as a change" if section.get("counts") else "does not by itself count as a change"
    text = f"<h2>Screenshot</h2><p>{_e(section.get('summary'))}: this {counts}.</p>"
    if with_panel:
        text += (
            '<p><img src="visual-diff.png" alt="Before, after, and after with the changed regions boxed in red"></p>'
        )
    return text


def _notes(notes: Sequence[Any]) -> str:
    if not notes:
        return ""
    return "<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
