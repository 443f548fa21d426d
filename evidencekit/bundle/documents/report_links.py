"""The report's section on links between items: the link picture (``linkpicture``) and the table of links
beneath it, from the ``analysis.recorded`` entry the bundle carries (``derived.shipped_analysis``) alone.

What it may say, and nothing more: the links the analysis recorded (the indicator as found on each item;
photos "visually matching (PDQ distance 12, 287 matched points)", never "the same photo"), the algorithms
and versions that found them, that linking ran and found nothing, or, for a bundle whose excerpt holds no
analysis (made before analyses were recorded), that linking was not recorded: not known, never "no links".
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from evidencekit.bundle.derived import shipped_analysis
from evidencekit.bundle.documents.linkpicture import legend, link_pictures
from evidencekit.bundle.documents.report_facts import NOT_RECORDED, mapping, plain, sequence
from evidencekit.bundle.documents.report_html import esc, mono, page_text, table, url_cell
from evidencekit.bundle.documents.report_items import CSS_PX_PER_MM, PNG_SIGNATURE, Printing, relative_to_report
from evidencekit.bundle.layout import analysis_path
from evidencekit.ledger.entries import NOT_KNOWN, AnalysisRecorded, parse
from evidencekit.models import LedgerEntry

NOT_RECORDED_SAID = (
    "Linking was not recorded for this bundle: its ledger excerpt holds no analysis.recorded entry. Whether "
    "these items are linked is not known from this bundle."
)
_EMBED_LIMIT = 16 * 1024 * 1024


def link_facts(entries: Sequence[LedgerEntry]) -> dict[str, Any] | None:
    """The report's ``links`` facts from the bundle's ledger lines; None when they hold no analysis."""
    entry = shipped_analysis(entries)
    if entry is None:
        return None
    parsed = parse(entry)
    if not isinstance(parsed, AnalysisRecorded):
        return {"seq": entry.seq, "time": entry.time, "readable": False}
    groups = [dict(g) for g in parsed.groups]
    for group in groups:
        group["links"] = [
            {**link, "exhibit_path": analysis_path(str(link["exhibit"]))} if link.get("exhibit") else dict(link)
            for link in group.get("links") or ()
        ]
    return {
        "seq": entry.seq,
        "time": entry.time,
        "readable": True,
        "summary": parsed.summary(),
        "software": parsed.software,
        "items": list(parsed.items),
        "include_across": parsed.include_across,
        "other_cases": list(parsed.other_cases),
        "other_case_reads": [_read_of(c) for c in parsed.cases if c.get("local") is False],
        "algorithms": dict(parsed.algorithms),
        "labels": dict(parsed.labels or {}),
        "groups": groups,
    }


def _read_of(case: Mapping[str, Any]) -> str:
    """An other case as the analysis read it: its id, and where recorded its UUID and ledger head."""
    said = str(case.get("case_id"))
    uuid, entries, head = case.get("case_uuid"), case.get("ledger_entries"), case.get("ledger_head")
    if isinstance(uuid, str):
        said += f" (case UUID {uuid}"
        if isinstance(entries, int):
            said += f"; the first {entries} entries of its ledger read"
            if isinstance(head, str):
                said += f", the last with leaf hash {head}"
        said += ")"
    return said


def _flat(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested algorithm facts as (name, value) rows: ``photos.pdq.threshold`` = ``31``."""
    if isinstance(value, Mapping):
        return [row for key, item in value.items() for row in _flat(item, f"{prefix}{key}.")]
    if isinstance(value, list | tuple):
        return [(prefix.rstrip("."), ", ".join(plain(v) for v in value) or "none")]
    return [(prefix.rstrip("."), "yes" if value is True else "no" if value is False else plain(value))]


def _algorithms(links: Mapping[str, Any]) -> str:
    rows = [[mono(name), page_text(value)] for name, value in _flat(mapping(links.get("algorithms"), "algorithms"))]
    rows.append([mono("software"), page_text(links.get("software"))])
    return "<h3>How the links were found</h3>" + table([("Algorithm, version or threshold", ""), ("", "")], rows, "")


def _evidence(link: Mapping[str, Any], printing: Printing | None) -> str:
    if link.get("type") == "photo":
        words = page_text(link.get("words")) if link.get("words") else f'<span class="muted">{NOT_RECORDED}</span>'
        photos = "".join(
            f"<br>{esc(p.get('item'))}: {mono(p.get('artefact'))}"
            for p in (mapping(p, "photo") for p in sequence(link.get("photos"), "link.photos"))
        )
        where = link.get("exhibit_path")
        exhibit = f"<br>exhibit image: {mono(where)}" if where else "<br>exhibit image: not recorded"
        return words + photos + exhibit
    found = [mapping(f, "found") for f in sequence(link.get("found"), "link.found")]
    said = "".join(
        f"<br>on {esc(f.get('item'))}{_line(f.get('line'))} as found: {page_text(f.get('raw'))}" for f in found
    )
    indicator = mapping(link.get("indicator"), "indicator")
    return f"{esc(indicator.get('kind'))} {url_cell(indicator.get('value'))}{said}"


def _line(value: Any) -> str:
    """Where in an added file or chat export the indicator stands, when recorded."""
    return f" (line {value})" if isinstance(value, int) and not isinstance(value, bool) else ""


def _table(links: Mapping[str, Any], printing: Printing | None) -> str:
    rows, number = [], 0
    for group_number, group in enumerate(sequence(links.get("groups"), "links.groups"), 1):
        for link in (mapping(link, "link") for link in sequence(mapping(group, "group").get("links"), "links")):
            number += 1
            kind = "visually matching photos" if link.get("type") == "photo" else "shared indicator"
            items = "<br>".join(esc(i) for i in sequence(link.get("items"), "link.items"))
            rows.append([f"L{number}", str(group_number), items, esc(kind), _evidence(link, printing)])
    columns = [("Link", "w-seq"), ("Group", "w-link-group"), ("Items", "w-subject"), ("Type", "w-action")]
    columns.append(("Evidence", ""))
    return table(columns, rows, "No link was recorded.")


def _exhibits(links: Mapping[str, Any], printing: Printing | None) -> str:
    """Each photo link's exhibit image: linked in index.html, embedded in the printed report."""
    shown, number = [], 0
    for group in sequence(links.get("groups"), "links.groups"):
        for link in (mapping(link, "link") for link in sequence(mapping(group, "group").get("links"), "links")):
            number += 1
            path = plain(link.get("exhibit_path"))
            if not path:
                continue
            caption = f"<figcaption>L{number}: {page_text(link.get('words'))}; the file is {mono(path)}.</figcaption>"
            alt = escape(f"Exhibit of link L{number}: the two photos side by side, matched points joined")
            if printing is None:
                src = escape(relative_to_report(path))
                shown.append(f'<figure class="shot link-exhibit"><img src="{src}" alt="{alt}">{caption}</figure>')
                continue
            data = printing.read(path)
            if data is None or not data.startswith(PNG_SIGNATURE) or len(data) > _EMBED_LIMIT:
                shown.append(f'<p class="muted">Exhibit of L{number} not embedded here; the file is {mono(path)}.</p>')
                continue
            width = int.from_bytes(data[16:20], "big")
            css = f"shot-{len(printing.rules) + 1}"
            column = printing.column_mm - 4  # the figure's border and margin
            shown_mm = min(column, width / CSS_PX_PER_MM) if width else column
            printing.rules.append(f"figure.{css} {{ width: {shown_mm:.2f}mm; }} figure.{css} img {{ width: 100%; }}")
            encoded = base64.b64encode(data).decode("ascii")
            shown.append(
                f'<figure class="shot link-exhibit {css}"><img src="data:image/png;base64,{encoded}" alt="{alt}">'
                f"{caption}</figure>"
            )
    return "<h3>Exhibits of the photo matches</h3>" + "".join(shown) if shown else ""


def _scope(links: Mapping[str, Any]) -> str:
    items = ", ".join(plain(i) for i in sequence(links.get("items"), "links.items")) or "none"
    seq = esc(links.get("seq"))
    said = f"Linking was run at export (ledger seq {seq}) over the items of this bundle: {esc(items)}."
    reads = links.get("other_case_reads") or links.get("other_cases")
    others = [plain(c) for c in sequence(reads, "links.other_cases")]
    if links.get("include_across"):
        said += (
            f" The export was asked to include other cases ({esc(', '.join(others) or 'none')}): their items are "
            "written CASE/item. Their evidence is in those cases, not in this bundle; what is shown of them is what "
            "the analysis recorded; each case's own ledger, up to the entries named, shows whether its items were "
            "recorded as said."
        )
    else:
        said += " Other cases were not included."
    return f"<p>{said}</p>"


def links_section(links: Mapping[str, Any] | None, printing: Printing | None) -> str:
    """The section "Links between items": picture, table, exhibits, algorithms; or why there are none."""
    head = '<section class="links" id="links"><h2>Links between items</h2>'
    if links is None:
        return head + f"<p>{esc(NOT_RECORDED_SAID)}</p></section>"
    if not links.get("readable"):
        return head + (
            f"<p>The bundle's analysis.recorded entry (seq {esc(links.get('seq'))}) is not in a form this version "
            f"reads: the links it records are {NOT_KNOWN} here.</p></section>"
        )
    groups = [mapping(g, "group") for g in sequence(links.get("groups"), "links.groups")]
    intro = (
        "<p>Items are linked when they share a specific indicator (a phone number, WhatsApp or Telegram account, "
        "e-mail address or payment identifier; site menus, footers and the site's own accounts are left out) or "
        "show visually matching photos (confirmed by feature matching). A link says that the items have this in "
        "common, as recorded; it does not say that they are the same person's or the same photo.</p>"
    )
    if not groups:
        return (
            head
            + _scope(links)
            + "<p><strong>Linking found no link between these items:</strong> no shared specific indicator and no "
            "visually matching photos, with the algorithms below.</p>" + _algorithms(links) + "</section>"
        )
    pictures = link_pictures(groups, mapping(links.get("labels"), "links.labels"))
    figures = "".join(
        f'<figure class="link-group"><figcaption>Group {n}: {len(mapping(g, "group").get("items") or ())} items'
        f"</figcaption>{svg}</figure>"
        for n, (g, svg) in enumerate(zip(groups, pictures, strict=True), 1)
    )
    return (
        head
        + _scope(links)
        + intro
        + "<h3>Link picture</h3>"
        + legend(across=any("/" in str(i) for g in groups for i in mapping(g, "group").get("items") or ()))
        + figures
        + "<h3>Table of links</h3>"
        + _table(links, printing)
        + _exhibits(links, printing)
        + _algorithms(links)
        + "</section>"
    )
