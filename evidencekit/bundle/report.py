"""The bundle's offline report: ``data/report/index.html``, one self-contained HTML page a prosecutor can
open in any browser, print, or have Chromium turn into ``report.pdf``.

``render_report(facts)`` returns the whole document as text (write it as UTF-8). It loads nothing: the
style sheet is inline (and allowed by its SHA-256 in the page's Content-Security-Policy, which forbids
every network load), images are ``data:`` URIs, there is no script. Everything taken from ``facts`` is
escaped; URLs appear as text, never as links, because the pages they name are hostile. Invisible control
characters and bidirectional overrides are shown as ``⟨U+202E⟩`` markers so that they cannot make a URL
or a title read differently from what was recorded (metadata.json keeps the exact strings).

``facts`` is the plain data the exporter builds; its shape is documented in
``evidencekit.bundle.report_facts``, which also holds the helpers this module shares with ``certificates``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from html import escape
from importlib import resources
from typing import Any

from evidencekit.bundle.report_facts import (
    NOT_RECORDED,
    bare_digest,
    check_facts,
    format_size,
    mapping,
    parse_utc,
    plain,
    reason_text,
    sequence,
    visible_text,
    zone_of,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INDICATOR_ORDER = ("phone", "whatsapp", "telegram", "email", "social", "crypto", "url")


# --- HTML building blocks -------------------------------------------------------------------------------


def _e(value: Any, *, url: bool = False, single_line: bool = False) -> str:
    """Escaped text; revealed control characters are marked so they stand out on the page."""
    text = escape(visible_text(value, url=url, single_line=single_line), quote=True)
    return re.sub("\u27e8U\\+[0-9A-F]{4,6}\u27e9", r'<span class="marker">\g<0></span>', text)


def _or_missing(html_text: str) -> str:
    return html_text if html_text else f'<span class="muted">{NOT_RECORDED}</span>'


def _text(value: Any) -> str:
    """Page-derived free text: isolated so right-to-left scripts cannot reorder what surrounds them."""
    body = _e(value, single_line=True)
    return f"<bdi>{body}</bdi>" if body else _or_missing("")


def _note_text(value: Any) -> str:
    """A person's note keeps its line breaks (the investigator typed them); other controls are revealed."""
    body = _e(value)
    return f'<bdi class="multiline">{body}</bdi>' if body else _or_missing("")


def _url(value: Any) -> str:
    body = _e(value, url=True)
    return f'<span class="url" dir="ltr">{body}</span>' if body else _or_missing("")


def _mono(value: Any, css: str = "mono") -> str:
    body = _e(value, single_line=True)
    return f'<span class="{css}">{body}</span>' if body else _or_missing("")


def _kv(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f'<tr><th scope="row">{escape(name)}</th><td>{value}</td></tr>' for name, value in rows)
    return f'<table class="kv"><tbody>{cells}</tbody></table>'


def _table(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    cols = "".join(f'<col class="{css}">' if css else "<col>" for _, css in columns)
    head = "".join(f'<th scope="col">{escape(name)}</th>' for name, _ in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _time(value: Any, tz: Any) -> str:
    """The recorded UTC time as written, and the same moment in the recorded zone."""
    if not value:
        return _or_missing("")
    shown = _mono(value)
    moment, zone = parse_utc(value), zone_of(tz)
    if moment is None:
        return shown
    if zone is None:
        return shown + (f'<br><span class="muted">zone recorded: {_e(tz, single_line=True)}</span>' if tz else "")
    local = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"{shown}<br>local: {_mono(local)} ({_e(tz, single_line=True)})"


def _status(value: Any) -> str:
    status = visible_text(value, single_line=True) or "unknown"
    css = re.sub(r"[^a-z]", "", status.lower())
    return f'<span class="status status-{css}">{escape(status)}</span>'


def _actor(actor: Any) -> str:
    """The actor's name, and the start of their key ID (the full IDs are in the signing section and ledger)."""
    if isinstance(actor, Mapping):
        name, key_id = _text(actor.get("name")), plain(actor.get("key_id"))
        short = key_id if len(key_id) <= 16 else key_id[:16] + "…"
        return name + (f'<br><span class="muted">key</span> {_mono(short)}' if key_id else "")
    return _text(actor)


# --- sections -------------------------------------------------------------------------------------------


def _header(case: Mapping[str, Any], bundle: Mapping[str, Any]) -> str:
    counts = mapping(bundle.get("counts"), "bundle.counts")
    count_text = ", ".join(f"{_e(name)}: {_e(value)}" for name, value in counts.items())
    return (
        f"<header><h1>Evidence report: case {_e(case.get('case_id'))}</h1>"
        f'<p class="lead">{_text(case.get("title"))}</p>'
        '<p class="notice">This page is a readable summary of an evidence bundle. The evidence is the files '
        "in the bundle; their SHA-256 and BLAKE3 values below are the ones recorded when each file was "
        "acquired. Web addresses are shown as text and are not links. See <em>How to verify this bundle</em> "
        "at the end.</p></header>"
        '<section class="case"><h2>Case</h2>'
        + _kv(
            [
                ("Case ID", _mono(case.get("case_id"))),
                ("Title", _text(case.get("title"))),
                ("Investigator", _text(case.get("investigator"))),
                ("Agency", _text(case.get("agency"))),
                ("Case opened (UTC)", _mono(case.get("created"))),
                ("Case UUID", _mono(case.get("case_uuid"))),
            ]
        )
        + "<h2>Bundle</h2>"
        + _kv(
            [
                ("Exported (UTC)", _mono(bundle.get("created"))),
                ("Software", _text(bundle.get("software"))),
                ("Recipient", _text(bundle.get("recipient"))),
                ("Purpose", _text(bundle.get("purpose"))),
                ("Tag manifest SHA-256", _tag_manifest(bundle.get("tag_manifest_sha256"))),
                ("Contents", _or_missing(count_text)),
            ]
        )
        + "</section>"
    )


def _tag_manifest(digest: Any) -> str:
    if digest:
        return _mono(bare_digest(digest), "hash")
    # The usual case: this page is itself listed in the manifests that the tag manifest covers.
    return '<span class="muted">not known when this page was written (the tag manifest covers this page)</span>'


def _summary(items: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for number, item in enumerate(items, 1):
        label = item.get("title") or item.get("label")
        rows.append(
            [
                f'<a href="#item-{number}">{_e(item.get("item_id"))}</a>',
                _e(item.get("kind")),
                _text(label),
                _status(item.get("status")),
                _mono(item.get("started")),
                f'<span class="num">{len(sequence(item.get("artefacts"), "item.artefacts"))}</span>',
            ]
        )
    columns = [("Item", "w-item"), ("Kind", "w-kind"), ("Title or label", ""), ("Status", "w-status")]
    columns += [("Time (UTC)", "w-time"), ("Files", "w-count")]
    return (
        '<section class="summary"><h2>Items</h2>' + _table(columns, rows, "This bundle holds no items.") + "</section>"
    )


def _thumbnail(item: Mapping[str, Any]) -> str:
    data = item.get("thumbnail_png")
    if data is None:
        return '<p class="muted">No screenshot preview.</p>' if item.get("kind") == "capture" else ""
    if not isinstance(data, bytes | bytearray) or not bytes(data).startswith(PNG_SIGNATURE):
        return '<p class="muted">The screenshot preview was not a PNG image and is left out.</p>'
    encoded = base64.b64encode(bytes(data)).decode("ascii")
    alt = f"Screenshot preview of {visible_text(item.get('item_id'), single_line=True)}"
    return (
        f'<figure class="thumb"><img src="data:image/png;base64,{encoded}" alt="{escape(alt)}">'
        "<figcaption>Reduced preview of the full-page screenshot. The evidence is the full-size file in the "
        "table of files below.</figcaption></figure>"
    )


def _indicators(item: Mapping[str, Any]) -> str:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for found in sequence(item.get("indicators"), "item.indicators"):
        found = mapping(found, "indicator")
        groups.setdefault(visible_text(found.get("kind"), single_line=True) or "other", []).append(found)
    if not groups:
        return ""
    rank = {kind: index for index, kind in enumerate(INDICATOR_ORDER)}
    parts = ["<h3>Indicators found on the page</h3>"]
    for kind in sorted(groups, key=lambda name: (rank.get(name, len(rank)), name)):
        rows = [[_url(found.get("value")), _text(found.get("raw"))] for found in groups[kind]]
        parts.append(f"<h4>{escape(kind)} ({len(rows)})</h4>" + _table([("Value", ""), ("As found", "")], rows, ""))
    return "".join(parts)


def _exif(item: Mapping[str, Any]) -> str:
    rows = []
    for image in sequence(item.get("images_exif"), "item.images_exif"):
        image = mapping(image, "images_exif entry")
        gps = mapping(image.get("gps"), "images_exif.gps")
        position = ""
        if gps.get("latitude") is not None and gps.get("longitude") is not None:
            position = f"{_mono(gps.get('latitude'))}, {_mono(gps.get('longitude'))}"
        camera = " ".join(plain(image.get(name)) for name in ("make", "model")).strip()
        rows.append(
            [
                _url(image.get("path")),
                _text(camera) if camera else _e(image.get("error")) or _or_missing(""),
                _mono(image.get("datetime_original")),
                _or_missing(position),
            ]
        )
    columns = [("File", "w-path"), ("Camera", ""), ("Taken (as the camera says)", "w-time"), ("GPS lat, long", "")]
    return "<h3>Image metadata (EXIF)</h3>" + _table(columns, rows, "") if rows else ""


_STEP_WORDS = {
    "response": "first response from the server",
    "load-event": "the page's load event",
    "load-event-missed": "no load event in time",
    "viewport-screenshot": "viewport screenshot (what a visitor sees on arrival)",
    "reached-bottom": "scrolled to the bottom",
    "page-read": "rendered DOM, visible text and MHTML read",
    "network-settled": "network quiet for 0.3 s",
    "network-still-busy": "network still busy when the time was up",
    "full-page-screenshot": "full-page screenshot",
    "pdf": "page printed to PDF",
}


def _steps(item: Mapping[str, Any]) -> str:
    """How the capture went, step by step (metadata.json, times.steps)."""
    rows = []
    for step in (mapping(s, "step") for s in sequence(item.get("steps"), "item.steps")):
        name = plain(step.get("step"))
        since = _mono(f"+{plain(step.get('offset_ms'))} ms")
        rows.append([_mono(step.get("at")), since, _e(_STEP_WORDS.get(name) or name)])
    columns = [("Time (UTC)", "w-time"), ("Since start", "w-n"), ("Step", "")]
    return "<h3>Capture steps</h3>" + _table(columns, rows, "") if rows else ""


def _artefacts(item: Mapping[str, Any]) -> str:
    rows = []
    for artefact in sequence(item.get("artefacts"), "item.artefacts"):
        artefact = mapping(artefact, "artefact")
        digests = (
            f"SHA-256 {_mono(bare_digest(artefact.get('sha256')), 'hash')}"
            f"BLAKE3 {_mono(bare_digest(artefact.get('blake3')), 'hash')}"
        )
        rows.append(
            [
                _url(artefact.get("path")),
                _e(artefact.get("role")),
                _e(artefact.get("media_type")),
                _e(format_size(artefact.get("size"))),
                digests,
            ]
        )
    columns = [("File in the bundle", "w-path"), ("Role", "w-role"), ("Media type", "w-type"), ("Size", "w-size")]
    return "<h3>Files</h3>" + _table([*columns, ("Digests", "")], rows, "No files were recorded for this item.")


def _item(number: int, item: Mapping[str, Any]) -> str:
    tz = item.get("tz")
    reasons = [reason_text(reason) for reason in sequence(item.get("reasons"), "item.reasons")]
    reason_list = "".join(f"<li>{_e(reason, single_line=True)}</li>" for reason in reasons)
    details: list[tuple[str, str]] = [("Status", _status(item.get("status")))]
    if item.get("kind") == "capture" or item.get("requested_url"):
        details += [
            ("Requested URL", _url(item.get("requested_url"))),
            ("Final URL", _url(item.get("final_url"))),
            ("Page title", _text(item.get("title"))),
            ("HTTP status", _e(item.get("http_status")) or _or_missing("")),
            ("Server IP", _mono(item.get("server_ip"))),
        ]
    details += [
        ("Started" if item.get("ended") else "Recorded", _time(item.get("started"), tz)),
        *([("Ended", _time(item.get("ended"), tz))] if item.get("ended") else []),
    ]
    if item.get("browser") or item.get("user_agent"):
        details += [("Browser", _text(item.get("browser"))), ("User agent", _mono(item.get("user_agent")))]
    redirects = [
        [str(index), _e(mapping(hop, "redirect").get("status")), _url(mapping(hop, "redirect").get("url"))]
        for index, hop in enumerate(sequence(item.get("redirect_chain"), "item.redirect_chain"), 1)
    ]
    notes = [
        [_mono(note.get("time")), _actor(note.get("actor")), _note_text(note.get("text"))]
        for note in (mapping(n, "note") for n in sequence(item.get("notes"), "item.notes"))
    ]
    return (
        f'<section class="item" id="item-{number}">'
        f"<h2>Item {number}: {_e(item.get('item_id'))} ({_e(item.get('kind'))})</h2>"
        f'<p class="lead">{_text(item.get("label"))}</p>'
        + (f'<ul class="reasons">{reason_list}</ul>' if reason_list else "")
        + _thumbnail(item)
        + _kv(details)
        + (
            "<h3>Redirect chain</h3>" + _table([("#", "w-n"), ("HTTP", "w-http"), ("URL", "")], redirects, "")
            if redirects
            else ""
        )
        + _indicators(item)
        + _exif(item)
        + _steps(item)
        + _artefacts(item)
        + (
            "<h3>Notes</h3>" + _table([("Time (UTC)", "w-time"), ("By", "w-actor"), ("Note", "")], notes, "")
            if notes
            else ""
        )
        + "</section>"
    )


def _custody(entries: Sequence[Any]) -> str:
    rows = []
    for entry in entries:
        entry = mapping(entry, "custody entry")
        rows.append(
            [
                f'<span class="num">{_e(entry.get("seq"))}</span>',
                _time(entry.get("time"), entry.get("tz")),
                _mono(entry.get("action")),
                _actor(entry.get("actor")),
                _mono(entry.get("subject")) if entry.get("subject") else "",
                _text(entry.get("summary")) if entry.get("summary") else "",
            ]
        )
    columns = [("Seq", "w-seq"), ("Time", "w-time"), ("Action", "w-action"), ("By", "w-actor")]
    columns += [("Subject", "w-subject"), ("Summary", "")]
    return (
        '<section class="custody"><h2>Chain of custody</h2>'
        "<p>Entries of the case's append-only ledger that concern this bundle, in order. Each entry is "
        "hashed into the next and into a Merkle tree whose signed checkpoint follows. Key IDs are shortened "
        "here to their first 16 hex digits.</p>"
        + _table(columns, rows, "No ledger entries were included.")
        + "</section>"
    )


def _signing(bundle: Mapping[str, Any]) -> str:
    checkpoint, signer = mapping(bundle.get("checkpoint"), "checkpoint"), mapping(bundle.get("signer"), "signer")
    note, pem = checkpoint.get("note"), signer.get("public_key_pem")
    return (
        '<section class="signing"><h2>Checkpoint and signing key</h2>'
        + _kv(
            [
                ("Tree size", _e(checkpoint.get("tree_size")) or _or_missing("")),
                ("Root hash", _mono(checkpoint.get("root"), "hash")),
                ("Signed by key", _mono(checkpoint.get("key_id"), "hash")),
                ("Key holder", _text(signer.get("investigator"))),
                ("Key ID", _mono(signer.get("key_id"), "hash")),
            ]
        )
        + (f'<h3>Signed checkpoint</h3><pre class="note">{_e(note)}</pre>' if note else "")
        + (f'<h3>Public key (Ed25519)</h3><pre class="note">{_e(pem)}</pre>' if pem else "")
        + "</section>"
    )


def _verify(verify: Mapping[str, Any]) -> str:
    commands = [plain(line) for line in sequence(verify.get("commands"), "verify.commands")]
    listing = (
        f"<pre>{chr(10).join(_e(line, single_line=True) for line in commands)}</pre>"
        if commands
        else '<p class="muted">No instructions.</p>'
    )
    return (
        '<section class="verify"><h2>How to verify this bundle</h2>'
        "<p>Anyone can check, without trusting this page, that no file changed since it was acquired: "
        "recompute the digests of the files and compare them with the manifests, check the ledger entries "
        "against the signed checkpoint, and check the checkpoint's signature with the public key above. "
        f"data/VERIFY.txt in the bundle explains the same steps.</p>{listing}</section>"
    )


def _style() -> str:
    return resources.files("evidencekit.bundle").joinpath("templates/report.css").read_text(encoding="utf-8")


def render_report(facts: Mapping[str, Any]) -> str:
    """The complete HTML document for ``facts`` (shape in the module docstring)."""
    check_facts(facts)
    case, bundle = mapping(facts.get("case"), "case"), mapping(facts.get("bundle"), "bundle")
    items = [mapping(item, "item") for item in sequence(facts.get("items"), "items")]
    custody = sequence(facts.get("custody"), "custody")
    css = _style()
    css_hash = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    policy = f"default-src 'none'; img-src data:; style-src 'sha256-{css_hash}'; base-uri 'none'; form-action 'none'"
    body = (
        _header(case, bundle)
        + _summary(items)
        + "".join(_item(number, item) for number, item in enumerate(items, 1))
        + _custody(custody)
        + _signing(bundle)
        + _verify(mapping(facts.get("verify"), "verify"))
        + f"<footer>Generated by {_e(bundle.get('software') or 'evidencekit')} at "
        f"{_e(bundle.get('created') or NOT_RECORDED)} (UTC). This page loads nothing from any network.</footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Evidence report: case {escape(visible_text(case.get('case_id'), single_line=True))}</title>\n"
        f"<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
