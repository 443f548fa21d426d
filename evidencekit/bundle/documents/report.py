"""The bundle's offline report: ``data/report/index.html``, one self-contained HTML page a prosecutor can
open in any browser, print, or have Chromium turn into ``report.pdf``.

``render_report(facts)`` returns the whole document as text (write it as UTF-8). It loads nothing: the
style sheet is inline (and allowed by its SHA-256 in the page's Content-Security-Policy, which forbids
every network load), images are ``data:`` URIs, there is no script. Everything taken from ``facts`` is
escaped; URLs appear as text, never as links, because the pages they name are hostile. Invisible control
characters and bidirectional overrides are shown as ``⟨U+202E⟩`` markers so that they cannot make a URL
or a title read differently from what was recorded (metadata.json keeps the exact strings).

``facts`` is the plain data the exporter builds; its shape is documented in
``evidencekit.bundle.documents.report_facts``, which also holds the helpers this module shares with ``certificates``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from html import escape
from importlib import resources
from typing import Any

from evidencekit.bundle.casefacts import report_rows, report_title
from evidencekit.bundle.documents.instructions import PDF_OMITTED
from evidencekit.bundle.documents.report_facts import (
    NOT_RECORDED,
    bare_digest,
    check_facts,
    format_size,
    mapping,
    plain,
    reason_text,
    sequence,
    visible_text,
)
from evidencekit.bundle.documents.report_html import (
    actor_cell,
    esc,
    kv,
    mono,
    note_text,
    or_missing,
    page_text,
    status_badge,
    table,
    time_cell,
    url_cell,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INDICATOR_ORDER = ("phone", "whatsapp", "telegram", "email", "social", "crypto", "url")


# --- sections -------------------------------------------------------------------------------------------


def _header(case: Mapping[str, Any], bundle: Mapping[str, Any]) -> str:
    counts = mapping(bundle.get("counts"), "bundle.counts")
    count_text = ", ".join(f"{esc(name)}: {esc(value)}" for name, value in counts.items())
    return (
        f"<header><h1>Evidence report: case {esc(case.get('case_id'))}</h1>"
        f'<p class="lead">{page_text(case.get("title"))}</p>'
        '<p class="notice">This page is a readable summary of an evidence bundle. The evidence is the files '
        "in the bundle; their SHA-256 and BLAKE3 values below are the ones recorded when each file was "
        "acquired. Web addresses are shown as text and are not links. See <em>How to verify this bundle</em> "
        "at the end.</p></header>"
        '<section class="case"><h2>Case</h2>'
        + kv(report_rows(case))
        + "<h2>Bundle</h2>"
        + kv(
            [
                ("Exported (UTC)", mono(bundle.get("created"))),
                ("Software", page_text(bundle.get("software"))),
                ("Recipient", page_text(bundle.get("recipient"))),
                ("Purpose", page_text(bundle.get("purpose"))),
                ("Tag manifest SHA-256", _tag_manifest(bundle.get("tag_manifest_sha256"))),
                ("Contents", or_missing(count_text)),
                *_pdf_omitted(bundle),
            ]
        )
        + "</section>"
    )


def _pdf_omitted(bundle: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Only a bundle exported with --no-pdf says anything: every other bundle holds report.pdf."""
    if bundle.get("report_pdf") is not False:
        return []
    return [
        (
            "Report PDF",
            esc(
                f"{PDF_OMITTED}: this bundle holds no report.pdf; print this page from a browser if a paper "
                "copy is needed"
            ),
        )
    ]


def _tag_manifest(digest: Any) -> str:
    if digest:
        return mono(bare_digest(digest), "hash")
    # The usual case: this page is itself listed in the manifests that the tag manifest covers.
    return '<span class="muted">not known when this page was written (the tag manifest covers this page)</span>'


def _summary(items: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for number, item in enumerate(items, 1):
        label = item.get("title") or item.get("label")
        rows.append(
            [
                f'<a href="#item-{number}">{esc(item.get("item_id"))}</a>',
                esc(item.get("kind")),
                page_text(label),
                status_badge(item.get("status")),
                mono(item.get("started")),
                f'<span class="num">{len(sequence(item.get("artefacts"), "item.artefacts"))}</span>',
            ]
        )
    columns = [("Item", "w-item"), ("Kind", "w-kind"), ("Title or label", ""), ("Status", "w-status")]
    columns += [("Time (UTC)", "w-time"), ("Files", "w-count")]
    return (
        '<section class="summary"><h2>Items</h2>' + table(columns, rows, "This bundle holds no items.") + "</section>"
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
        rows = [[url_cell(found.get("value")), page_text(found.get("raw"))] for found in groups[kind]]
        parts.append(f"<h4>{escape(kind)} ({len(rows)})</h4>" + table([("Value", ""), ("As found", "")], rows, ""))
    return "".join(parts)


def _exif(item: Mapping[str, Any]) -> str:
    rows = []
    for image in sequence(item.get("images_exif"), "item.images_exif"):
        image = mapping(image, "images_exif entry")
        gps = mapping(image.get("gps"), "images_exif.gps")
        position = ""
        if gps.get("latitude") is not None and gps.get("longitude") is not None:
            position = f"{mono(gps.get('latitude'))}, {mono(gps.get('longitude'))}"
        camera = " ".join(plain(image.get(name)) for name in ("make", "model")).strip()
        rows.append(
            [
                url_cell(image.get("path")),
                page_text(camera) if camera else esc(image.get("error")) or or_missing(""),
                mono(image.get("datetime_original")),
                or_missing(position),
            ]
        )
    columns = [("File", "w-path"), ("Camera", ""), ("Taken (as the camera says)", "w-time"), ("GPS lat, long", "")]
    return "<h3>Image metadata (EXIF)</h3>" + table(columns, rows, "") if rows else ""


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
    "full-page-screenshot-discarded": "full-page screenshot thrown away: the page changed after it was taken",
    "page-read-discarded": "reading thrown away: the page changed after it was read",
    "pdf": "page printed to PDF",
}


def _steps(item: Mapping[str, Any]) -> str:
    """How the capture went, step by step (metadata.json, times.steps)."""
    rows = []
    for step in (mapping(s, "step") for s in sequence(item.get("steps"), "item.steps")):
        name = plain(step.get("step"))
        since = mono(f"+{plain(step.get('offset_ms'))} ms")
        rows.append([mono(step.get("at")), since, esc(_STEP_WORDS.get(name) or name)])
    columns = [("Time (UTC)", "w-time"), ("Since start", "w-n"), ("Step", "")]
    if not rows:
        return ""
    where = item.get("screenshot_scroll_y")
    note = (
        f'<p class="muted">The full-page screenshot was rendered while the page stood {esc(where)} px down, '
        "not at the top: anything the page pins to the view (a fixed header, say) is drawn at that height.</p>"
        if isinstance(where, int) and not isinstance(where, bool) and where > 0
        else ""
    )
    return "<h3>Capture steps</h3>" + table(columns, rows, "") + note


def _artefacts(item: Mapping[str, Any]) -> str:
    rows = []
    for artefact in sequence(item.get("artefacts"), "item.artefacts"):
        artefact = mapping(artefact, "artefact")
        digests = (
            f"SHA-256 {mono(bare_digest(artefact.get('sha256')), 'hash')}"
            f"BLAKE3 {mono(bare_digest(artefact.get('blake3')), 'hash')}"
        )
        rows.append(
            [
                url_cell(artefact.get("path")),
                esc(artefact.get("role")),
                esc(artefact.get("media_type")),
                esc(format_size(artefact.get("size"))),
                digests,
            ]
        )
    columns = [("File in the bundle", "w-path"), ("Role", "w-role"), ("Media type", "w-type"), ("Size", "w-size")]
    return "<h3>Files</h3>" + table([*columns, ("Digests", "")], rows, "No files were recorded for this item.")


def _item(number: int, item: Mapping[str, Any]) -> str:
    tz = item.get("tz")
    reasons = [reason_text(reason) for reason in sequence(item.get("reasons"), "item.reasons")]
    reason_list = "".join(f"<li>{esc(reason, single_line=True)}</li>" for reason in reasons)
    details: list[tuple[str, str]] = [("Status", status_badge(item.get("status")))]
    if item.get("kind") == "capture" or item.get("requested_url"):
        details += [
            ("Requested URL", url_cell(item.get("requested_url"))),
            ("Final URL", url_cell(item.get("final_url"))),
            *(
                [
                    (
                        "Address bar, as the page itself set it (no response came from it)",
                        url_cell(item["address_bar_url"]),
                    )
                ]
                if item.get("address_bar_url")
                else []
            ),
            ("Page title", page_text(item.get("title"))),
            ("HTTP status", esc(item.get("http_status")) or or_missing("")),
            ("Server IP", mono(item.get("server_ip"))),
        ]
    details += [
        ("Started" if item.get("ended") else "Recorded", time_cell(item.get("started"), tz)),
        *([("Ended", time_cell(item.get("ended"), tz))] if item.get("ended") else []),
    ]
    if item.get("browser") or item.get("user_agent"):
        details += [("Browser", page_text(item.get("browser"))), ("User agent", mono(item.get("user_agent")))]
    redirects = [
        [str(index), esc(mapping(hop, "redirect").get("status")), url_cell(mapping(hop, "redirect").get("url"))]
        for index, hop in enumerate(sequence(item.get("redirect_chain"), "item.redirect_chain"), 1)
    ]
    notes = [
        [mono(note.get("time")), actor_cell(note.get("actor")), note_text(note.get("text"))]
        for note in (mapping(n, "note") for n in sequence(item.get("notes"), "item.notes"))
    ]
    return (
        f'<section class="item" id="item-{number}">'
        f"<h2>Item {number}: {esc(item.get('item_id'))} ({esc(item.get('kind'))})</h2>"
        f'<p class="lead">{page_text(item.get("label"))}</p>'
        + (f'<ul class="reasons">{reason_list}</ul>' if reason_list else "")
        + _thumbnail(item)
        + kv(details)
        + (
            "<h3>Redirect chain</h3>" + table([("#", "w-n"), ("HTTP", "w-http"), ("URL", "")], redirects, "")
            if redirects
            else ""
        )
        + _indicators(item)
        + _exif(item)
        + _steps(item)
        + _artefacts(item)
        + (
            "<h3>Notes</h3>" + table([("Time (UTC)", "w-time"), ("By", "w-actor"), ("Note", "")], notes, "")
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
                f'<span class="num">{esc(entry.get("seq"))}</span>',
                time_cell(entry.get("time"), entry.get("tz")),
                mono(entry.get("action")),
                actor_cell(entry.get("actor")),
                mono(entry.get("subject")) if entry.get("subject") else "",
                page_text(entry.get("summary")) if entry.get("summary") else "",
            ]
        )
    columns = [("Seq", "w-seq"), ("Time", "w-time"), ("Action", "w-action"), ("By", "w-actor")]
    columns += [("Subject", "w-subject"), ("Summary", "")]
    return (
        '<section class="custody"><h2>Chain of custody</h2>'
        "<p>Entries of the case's append-only ledger that concern this bundle, in order. Each entry is "
        "hashed into the next and into a Merkle tree whose signed checkpoint follows. Key IDs are shortened "
        "here to their first 16 hex digits.</p>"
        + table(columns, rows, "No ledger entries were included.")
        + "</section>"
    )


def _signing(bundle: Mapping[str, Any]) -> str:
    checkpoint, signer = mapping(bundle.get("checkpoint"), "checkpoint"), mapping(bundle.get("signer"), "signer")
    note, pem = checkpoint.get("note"), signer.get("public_key_pem")
    return (
        '<section class="signing"><h2>Checkpoint and signing key</h2>'
        + kv(
            [
                ("Tree size", esc(checkpoint.get("tree_size")) or or_missing("")),
                ("Root hash", mono(checkpoint.get("root"), "hash")),
                ("Signed by key", mono(checkpoint.get("key_id"), "hash")),
                ("Key holder", page_text(signer.get("investigator"))),
                ("Key ID", mono(signer.get("key_id"), "hash")),
            ]
        )
        + (f'<h3>Signed checkpoint</h3><pre class="note">{esc(note)}</pre>' if note else "")
        + (f'<h3>Public key (Ed25519)</h3><pre class="note">{esc(pem)}</pre>' if pem else "")
        + "</section>"
    )


def _verify(verify: Mapping[str, Any]) -> str:
    commands = [plain(line) for line in sequence(verify.get("commands"), "verify.commands")]
    listing = (
        f"<pre>{chr(10).join(esc(line, single_line=True) for line in commands)}</pre>"
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
    return resources.files("evidencekit.bundle.documents").joinpath("templates/report.css").read_text(encoding="utf-8")


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
        + f"<footer>Generated by {esc(bundle.get('software') or 'evidencekit')} at "
        f"{esc(bundle.get('created') or NOT_RECORDED)} (UTC). This page loads nothing from any network.</footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Evidence report: case {report_title(case)}</title>\n"
        f"<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
