"""The bundle's report: ``data/report/index.html`` and the HTML Chromium prints into ``report.pdf``.

``render_report(facts)`` returns index.html as text (write it as UTF-8): a cover (case and bundle), a
plain-language statement of what was recorded, checked and how to check it again, a table of contents by
exhibit number, one section per item (``report_items``), every investigator note, the custody log and a
technical appendix (``report_appendix``). It loads nothing from any network: the style sheet is inline
(allowed by its SHA-256 in the page's Content-Security-Policy), and its only images are the bag's own
screenshots, linked relatively (``img-src 'self'``); there is no script. Everything taken from ``facts`` is
escaped; web addresses appear as text, never as links, because the pages they name are hostile. Invisible
control characters and bidirectional overrides are shown as ``⟨U+202E⟩`` markers.

``render_report(facts, printing=Printing(...))`` is the same document for paper: the screenshots embedded
(the printer loads nothing else), scaled to the paper with the scale in their captions, a running header
and "Page N of M" in every page's margin (CSS page-margin boxes, which Chromium prints).

``facts`` is the plain data the exporter builds; its shape is documented in ``report_facts``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

from evidencekit.bundle.casefacts import report_rows, report_title
from evidencekit.bundle.documents.instructions import PDF_OMITTED
from evidencekit.bundle.documents.report_appendix import appendix
from evidencekit.bundle.documents.report_facts import (
    NOT_RECORDED,
    check_facts,
    mapping,
    plain,
    sequence,
    tally,
)
from evidencekit.bundle.documents.report_html import (
    actor_cell,
    esc,
    kv,
    moment_html,
    mono,
    note_text,
    page_text,
    status_cell,
    table,
    time_cell,
    title_html,
)
from evidencekit.bundle.documents.report_items import Printing, exhibit_link, item_section, notes_table
from evidencekit.bundle.documents.report_links import links_section
from evidencekit.bundle.documents.report_time import time_section
from evidencekit.bundle.documents.report_timeline import timeline_section
from evidencekit.bundle.documents.timefacts import NO_TIMESTAMP

__all__ = ["PAPER_MM", "Printing", "integrity_statement", "print_layout", "render_report"]

# Paper sizes (width, height) in mm, and the margins report.css's print rules leave (top+bottom, sides).
PAPER_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
_MARGIN_MM = (34.0, 24.0)


def print_layout(paper: str, read: Callable[[str], bytes | None]) -> Printing:
    """The printable column of ``paper`` (``a4`` or ``letter``), less room for headings and captions."""
    width, height = PAPER_MM.get(paper, PAPER_MM["a4"])
    return Printing(column_mm=width - _MARGIN_MM[1], image_height_mm=height - _MARGIN_MM[0] - 60.0, read=read)


# --- cover, statement, contents -------------------------------------------------------------------------


def _counts_text(counts: Mapping[str, Any]) -> str:
    words = {
        "items": "items",
        "item_files": "files of these items",
        "item_files_recorded_at_acquisition": "of them fingerprinted at acquisition",
        "item_files_made_at_export": "of them made at export",
        "custody_files": "custody files (ledger excerpt, proofs, checkpoint, keys)",
        "analysis_files": "exhibit images of photo matches (data/analysis)",
        "ledger_entries": "ledger entries in the bundle's excerpt",
        "payload_files": "payload files",
    }
    said = "; ".join(f"{esc(value)} {esc(words.get(name, name))}" for name, value in counts.items())
    return said + (
        '<br><span class="muted">The bag also holds this report, VERIFY.txt and the certificate drafts '
        "(bag-info.txt's Payload-Oxum counts every payload file).</span>"
        if said
        else ""
    )


def _cover(case: Mapping[str, Any], bundle: Mapping[str, Any]) -> str:
    counts = mapping(bundle.get("counts"), "bundle.counts")
    rows = [
        ("Bundle exported (UTC)", mono(bundle.get("created"))),
        ("Software", page_text(bundle.get("software"))),
        ("Recipient", page_text(bundle.get("recipient"))),
        ("Purpose", page_text(bundle.get("purpose"))),
        ("Case time zone", esc(case.get("timezone")) or '<span class="muted">not set in the case settings</span>'),
        ("Contents", _counts_text(counts)),
    ]
    if bundle.get("report_pdf") is False:
        rows.append(
            (
                "Report PDF",
                esc(
                    f"{PDF_OMITTED}: this bundle holds no report.pdf; print this page from a browser if a paper "
                    "copy is needed"
                ),
            )
        )
    return (
        f'<header class="cover"><h1>Evidence report: case {esc(case.get("case_id"))}</h1>'
        f'<p class="lead">{page_text(case.get("title"))}</p>'
        '<p class="notice">This report is a readable summary of an evidence bundle. The evidence is the files '
        "in the bundle. Web addresses are shown as text and are not links. The technical appendix lists every "
        "file's fingerprints and how to verify the bundle.</p>"
        '<section class="case"><h2>Case</h2>' + kv(report_rows(case)) + "<h2>Bundle</h2>" + kv(rows) + "</section>"
        "</header>"
    )


def _span(items: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    starts = sorted(plain(item.get("started")) for item in items if item.get("started"))
    ends = sorted(plain(item.get("ended") or item.get("started")) for item in items if item.get("started"))
    return (starts[0], ends[-1]) if starts else ("", "")


def _tally_words(items: Sequence[Mapping[str, Any]]) -> str:
    count = tally(items)
    parts = []
    if count["captures"]:
        states = [f"{count[s]} {s}" for s in ("complete", "partial", "blocked", "failed") if count[s]]
        if count["other_status"]:
            states.append(f"{count['other_status']} of another status")
        parts.append(f"{count['captures']} web capture{'s' if count['captures'] != 1 else ''} ({', '.join(states)})")
    for key, noun in (("files", "added file"), ("folders", "added folder"), ("other_kind", "item of another kind")):
        if count[key]:
            parts.append(f"{count[key]} {noun}{'s' if count[key] != 1 else ''}")
    return ", ".join(parts) or "no items"


def integrity_statement(facts: Mapping[str, Any]) -> str:
    """Four sentences a judge can follow, every fact in them taken from the bundle."""
    items = [mapping(i, "item") for i in sequence(facts.get("items"), "items")]
    bundle = mapping(facts.get("bundle"), "bundle")
    checkpoint, signer = mapping(bundle.get("checkpoint"), "checkpoint"), mapping(bundle.get("signer"), "signer")
    first, last = _span(items)
    when = (
        (f"between {mono(first)} and {mono(last)} (UTC)" if first and first != last else f"at {mono(first)} (UTC)")
        if first
        else "at times not recorded"
    )
    signed = (
        f", and sealed the case's whole ledger, then {esc(checkpoint.get('tree_size'))} entries, with a digital "
        f"signature by {page_text(signer.get('investigator'))}"
        if checkpoint.get("tree_size") is not None and signer.get("investigator")
        else ""
    )
    return (
        '<section class="integrity"><h2>What this bundle shows and how to check it</h2><ol>'
        f"<li>The case's custody ledger records {esc(_tally_words(items))}, acquired {when}; as each file was "
        "saved, its fingerprint (a SHA-256 value, which changes if even one bit of the file changes) was written "
        "into that ledger.</li>"
        f"<li>When this bundle was exported on {mono(bundle.get('created'))} (UTC), the software read every "
        "recorded file again and compared it with the fingerprint recorded at acquisition (the export stops if "
        f"any differs){signed}.</li>"
        "<li>Anyone can repeat the check without relying on this report or this software: data/VERIFY.txt in "
        "the bundle gives the commands (sha256sum, openssl) that recompute every fingerprint and check the "
        "signature, and <code>evidencekit verify</code> checks everything at once.</li>"
        f"{_time_point(mapping(facts.get('time'), 'time'))}</ol></section>"
    )


def _time_point(time: Mapping[str, Any]) -> str:
    """The summary's point on independent time: the generic pointer to the tokens only when a token is carried;
    and, when a carried token measured the investigator's clock off, a warning of its own."""
    statement = esc(time.get("statement") or NO_TIMESTAMP)
    if sequence(time.get("tokens") or [], "time.tokens"):
        pointer = (
            ' The section <a href="#time">Independent time (RFC 3161)</a> lists each time-stamp token and what it '
            "proves."
        )
    elif time.get("pending") or time.get("superseded"):
        pointer = ' The section <a href="#time">Independent time (RFC 3161)</a> lists the stamps asked for.'
    else:
        pointer = ""
    warning = f'<li><strong class="flagged">{esc(time.get("clock_warning"))}</strong></li>' if time.get(
        "clock_warning") else ""  # fmt: skip
    return f"<li>{statement}{pointer}</li>{warning}"


def _contents(items: Sequence[Mapping[str, Any]], with_pdfs: bool, linked: bool, timelines: bool = False) -> str:
    rows = []
    for number, item in enumerate(items, 1):
        what = title_html(item.get("title"), 80) if item.get("title") else page_text(item.get("label"))
        row = [
            f'<a href="#item-{number}">{esc(item.get("exhibit")) or number}</a>',
            esc(item.get("item_id")),
            what,
            status_cell(item),
            moment_html(item.get("started")),
        ]
        rows.append(row + ([exhibit_link(item, linked, name_only=True)] if with_pdfs else []))
    columns = [("Exhibit", "c-exhibit"), ("Item", "c-item"), ("Title or label", ""), ("Status", "c-status")]
    columns += [("Time (UTC)", "c-time")] + ([("Exhibit PDF (in data/exhibits)", "c-pdf")] if with_pdfs else [])
    return (
        '<nav class="contents"><h2>Contents</h2>'
        + table(columns, rows, "This bundle holds no items.")
        + '<p>Then: <a href="#time">independent time</a>, <a href="#links">links between items</a>, '
        + ('<a href="#timelines">timeline of watched pages</a>, ' if timelines else "")
        + '<a href="#notes">investigator notes</a>, '
        '<a href="#custody">chain of custody</a>, '
        '<a href="#appendix">technical appendix</a> (fingerprints, checkpoint, keys, how to verify).</p></nav>'
    )


# --- notes, custody -------------------------------------------------------------------------------------


def _notes(case: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str:
    zone = case.get("timezone")
    case_notes = sequence(case.get("notes"), "case.notes")
    item_notes = [
        {**mapping(note, "note"), "exhibit": item.get("exhibit") or item.get("item_id")}
        for item in items
        for note in sequence(item.get("notes"), "item.notes")
    ]
    return (
        '<section class="notes" id="notes"><h2>Investigator notes</h2>'
        "<h3>Notes on the case</h3>"
        + (notes_table(case_notes, zone) if case_notes else '<p class="muted">No note on the case as a whole.</p>')
        + "<h3>Notes on items</h3>"
        + (notes_table(item_notes, zone, exhibit=True) if item_notes else '<p class="muted">No note on any item.</p>')
        + "</section>"
    )


def _custody(entries: Sequence[Any], zone: Any) -> str:
    rows = []
    for entry in (mapping(e, "custody entry") for e in entries):
        if entry.get("note") is None:
            said = page_text(entry.get("summary"))
        elif entry.get("action") == "note.added":
            said = note_text(entry.get("note"))
        else:  # a note given when the item was recorded, beside what was recorded
            said = page_text(entry.get("summary")) + "<br>note: " + note_text(entry.get("note"))
        rows.append(
            [
                f'<span class="num">{esc(entry.get("seq"))}</span>',
                time_cell(entry.get("time"), entry.get("tz"), zone),
                mono(entry.get("action")),
                actor_cell(entry.get("actor")),
                mono(entry.get("subject")) if entry.get("subject") else "",
                said if entry.get("note") is not None or entry.get("summary") else "",
            ]
        )
    columns = [("Seq", "w-seq"), ("Time", "w-time"), ("Action", "w-action"), ("By", "w-actor")]
    columns += [("Subject", "w-subject"), ("What was recorded", "")]
    return (
        '<section class="custody" id="custody"><h2>Chain of custody</h2>'
        "<p>Entries of the case's append-only ledger that concern this bundle, in order. Each entry is "
        "hashed into the next and into a Merkle tree whose signed checkpoint is in the technical appendix. "
        "Key IDs are shortened here to their first 16 hex digits.</p>"
        + table(columns, rows, "No ledger entries were included.")
        + "</section>"
    )


# --- the document ---------------------------------------------------------------------------------------


def _style() -> str:
    return resources.files("evidencekit.bundle.documents").joinpath("templates/report.css").read_text(encoding="utf-8")


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal: every character but letters, digits and spaces escaped."""
    return '"' + "".join(ch if ch.isascii() and (ch.isalnum() or ch == " ") else f"\\{ord(ch):x} " for ch in text) + '"'


def _page_style(case: Mapping[str, Any], paper: str) -> str:
    size = "letter" if paper == "letter" else "A4"
    running = f"Evidence report: case {plain(case.get('case_id'))}"
    return (
        f"@page {{ size: {size}; @top-left {{ content: {_css_string(running)}; }} "
        '@bottom-center { content: "Page " counter(page) " of " counter(pages); } }'
    )


def _hash(css: str) -> str:
    return base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")


def render_report(facts: Mapping[str, Any], *, printing: Printing | None = None) -> str:
    """The complete HTML document for ``facts``: index.html, or with ``printing`` the document to print."""
    check_facts(facts)
    case, bundle = mapping(facts.get("case"), "case"), mapping(facts.get("bundle"), "bundle")
    items = [mapping(item, "item") for item in sequence(facts.get("items"), "items")]
    custody = sequence(facts.get("custody"), "custody")
    with_pdfs = bundle.get("report_pdf") is True
    body = (
        _cover(case, bundle)
        + integrity_statement(facts)
        + _contents(items, with_pdfs, printing is None, bool(facts.get("timelines")))
        + time_section(facts, items)
        + links_section(facts.get("links"), printing)
        + timeline_section(facts, case.get("timezone"), printing)
        + "".join(
            item_section(number, item, case.get("timezone"), printing, with_pdfs)
            for number, item in enumerate(items, 1)
        )
        + _notes(case, items)
        + _custody(custody, case.get("timezone"))
        + appendix(items, bundle, mapping(facts.get("verify"), "verify"))
        + f"<footer>Generated by {esc(bundle.get('software') or 'evidencekit')} at "
        f"{esc(bundle.get('created') or NOT_RECORDED)} (UTC). This report loads nothing from any network.</footer>"
    )
    styles = [_style()]
    if printing is not None:
        styles.append(_page_style(case, plain(bundle.get("paper"))) + "\n" + "\n".join(printing.rules))
    allowed = " ".join(f"'sha256-{_hash(css)}'" for css in styles)
    images = "data:" if printing is not None else "'self'"
    policy = f"default-src 'none'; img-src {images}; style-src {allowed}; base-uri 'none'; form-action 'none'"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Evidence report: case {report_title(case)}</title>\n"
        + "".join(f"<style>{css}</style>\n" for css in styles)
        + f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
