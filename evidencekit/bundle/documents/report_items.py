"""One item's section of the bundle report: what it is, its status at a glance, its screenshots (the whole
full-page screenshot and the viewport shot, each captioned with what it is and how it is scaled), the
recorded facts, indicators, capture steps, its files (hashes are in the technical appendix) and its notes.

Screenshots are shown in one of two ways: in ``index.html`` by a relative link to the file inside the bag
(the browser scales it to the column; nothing is copied), in the printed report embedded as ``data:`` URIs
(Chromium prints from a folder where nothing else may be loaded) at a scale computed here for the paper,
so that its caption can say exactly how much it was reduced.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from evidencekit.bundle.documents.popup_facts import popup_lines, requested_label
from evidencekit.bundle.documents.report_facts import (
    AFTER_CONSENT_CLICK,
    BEFORE_CONSENT_CLICK,
    consent_clicked,
    format_size,
    mapping,
    plain,
    reason_text,
    sequence,
    visible_text,
)
from evidencekit.bundle.documents.report_html import (
    actor_cell,
    breakable,
    esc,
    kv,
    mono,
    note_text,
    or_missing,
    page_text,
    status_cell,
    table,
    time_cell,
    title_html,
    url_cell,
)
from evidencekit.bundle.documents.report_media import media_section
from evidencekit.bundle.documents.report_time import time_rows
from evidencekit.bundle.layout import exhibit_path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INDICATOR_ORDER = ("phone", "whatsapp", "telegram", "email", "social", "crypto", "url")
# A screenshot larger than this, or one that would take all screenshots embedded in the printed report
# past the total, is not embedded (the printed document is held in memory; the file stays in the bag).
EMBED_LIMIT = 48 * 1024 * 1024
EMBED_TOTAL = 384 * 1024 * 1024
CSS_PX_PER_MM = 96 / 25.4


@dataclass(frozen=True)
class Printing:
    """How the printed report is laid out: the paper's printable column and the tallest an image may be
    (both in mm), and how to read a file of the bag (``None`` when it cannot be read)."""

    column_mm: float
    image_height_mm: float
    read: Callable[[str], bytes | None]
    # The width of each embedded image, as CSS rules for the printed document's own style sheet (the
    # policy that lets only hashed style sheets in would refuse a style="" attribute).
    rules: list[str] = field(default_factory=list)
    embedded: list[int] = field(default_factory=list)  # the size of each image embedded so far


def relative_to_report(path: str) -> str:
    """A bag path ("data/items/…") as a link from data/report/index.html."""
    return "../" + path.removeprefix("data/") if path.startswith("data/") else path


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _shot(shot: Mapping[str, Any], item_id: str, share: float, printing: Printing | None, clicked: bool = False) -> str:
    role = plain(shot.get("role"))
    path = plain(shot.get("path"))
    width, height = _number(shot.get("width")), _number(shot.get("height"))
    what = (
        "Full-page screenshot (the whole page, top to bottom)"
        if role == "full-page"
        else ("Viewport screenshot (what a visitor saw on arrival)")
    )
    if clicked:  # --consent accept: which image is from before the tool's click, which from after
        what = (
            f"Full-page screenshot (the whole page, top to bottom, {AFTER_CONSENT_CLICK})"
            if role == "full-page"
            else f"Viewport screenshot (what a visitor saw {BEFORE_CONSENT_CLICK})"
        )
    pixels = f"{width:,} \N{MULTIPLICATION SIGN} {height:,} px" if width and height else "pixel size not known"
    alt = escape(f"{what} of {visible_text(item_id, single_line=True)}")
    where = f'<span class="url">{esc(path)}</span>'
    if printing is None:
        image = f'<img src="{escape(relative_to_report(path))}" alt="{alt}">'
        scale = "scaled to the width of this column"
        full = f'<a href="{escape(relative_to_report(path))}">open the full-size file</a> ({where})'
        return (
            f'<figure class="shot shot-{escape(role)}">{image}<figcaption><strong>{escape(what)}</strong>, '
            f"{pixels}, {scale}; {full}.</figcaption></figure>"
        )
    data = printing.read(path)
    if data is None or not data.startswith(PNG_SIGNATURE) or not (width and height):
        return f'<p class="muted">{escape(what)} ({pixels}): not shown here; the file is {where}.</p>'
    if len(data) > EMBED_LIMIT or sum(printing.embedded) + len(data) > EMBED_TOTAL:
        return (
            f'<p class="muted">{escape(what)} ({pixels}, {escape(format_size(len(data)))}): not embedded in this '
            f"report, which it would make too large; it is the file {where}.</p>"
        )
    natural_mm = width / CSS_PX_PER_MM
    shown_mm = min(printing.column_mm * share, natural_mm, printing.image_height_mm * width / height)
    percent = shown_mm / natural_mm * 100
    scale = "shown at its full size" if percent >= 99.95 else f"reduced to {percent:.1f}% of its size to fit the page"
    printing.embedded.append(len(data))
    encoded = base64.b64encode(data).decode("ascii")
    css = f"shot-{len(printing.rules) + 1}"
    printing.rules.append(f"figure.{css} {{ width: {shown_mm:.2f}mm; }} figure.{css} img {{ width: 100%; }}")
    return (
        f'<figure class="shot shot-{escape(role)} {css}"><img src="data:image/png;base64,{encoded}" alt="{alt}">'
        f"<figcaption><strong>{escape(what)}</strong>, {pixels}, {scale}; the file is {where}.</figcaption></figure>"
    )


def screenshots(item: Mapping[str, Any], printing: Printing | None) -> str:
    shots = [mapping(s, "screenshot") for s in sequence(item.get("screenshots"), "item.screenshots")]
    if not shots:
        return '<p class="muted">No screenshot was recorded.</p>' if item.get("kind") == "capture" else ""
    order = {"full-page": 0, "viewport": 1}
    shots.sort(key=lambda shot: order.get(plain(shot.get("role")), 2))
    item_id = plain(item.get("item_id"))
    shares = [0.6, 0.36] if len(shots) > 1 else [1.0]
    clicked = consent_clicked(item)
    figures = "".join(_shot(shot, item_id, shares[min(i, 1)], printing, clicked) for i, shot in enumerate(shots))
    return f'<div class="shots">{figures}</div>'


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
    "media-fetch": "fetching the page's video and audio (yt-dlp), after the page itself was captured",
    "media-fetched": "video and audio fetched, or given up at their limits",
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


def _files(item: Mapping[str, Any], number: int) -> str:
    rows = []
    for artefact in (mapping(a, "artefact") for a in sequence(item.get("artefacts"), "item.artefacts")):
        made = artefact.get("recorded") is False
        observed = artefact.get("recorded_with") == "observation.recorded"
        rows.append(
            [
                url_cell(artefact.get("path")),
                esc(artefact.get("role")),
                esc(format_size(artefact.get("size"))),
                "made at export from the recorded files"
                if made
                else "recorded in the ledger with the observation of this capture (a diff)"
                if observed
                else "recorded in the ledger at acquisition",
            ]
        )
    columns = [("File in the bundle", "w-path"), ("Role", "w-role"), ("Size", "w-size"), ("Fingerprinted", "")]
    return (
        "<h3>Files</h3>"
        + table(columns, rows, "No files were recorded for this item.")
        + (
            f'<p class="muted">Their SHA-256 and BLAKE3 fingerprints are listed in the technical appendix, '
            f'<a href="#files-{number}">files of item {number}</a>.</p>'
            if rows
            else ""
        )
    )


def notes_table(notes: Sequence[Any], zone: Any, *, exhibit: bool = False) -> str:
    rows = []
    for note in (mapping(n, "note") for n in notes):
        row = [
            time_cell(note.get("time"), note.get("tz"), zone),
            actor_cell(note.get("actor")),
            note_text(note.get("text")),
        ]
        rows.append(([esc(note.get("exhibit")) or or_missing("")] if exhibit else []) + row)
    columns = [("Exhibit", "c-exhibit")] if exhibit else []
    columns += [("Time (UTC)", "w-time"), ("By", "w-actor"), ("Note", "")]
    return table(columns, rows, "")


def exhibit_link(item: Mapping[str, Any], linked: bool, *, name_only: bool = False) -> str:
    """Where the item's exhibit PDF is (a link in index.html, the path on paper)."""
    label = plain(item.get("exhibit"))
    if not label:
        return ""
    path = exhibit_path(label)
    shown = esc(path.rsplit("/", 1)[-1] if name_only else path)
    if linked:
        return f'<a href="{escape(relative_to_report(path))}" class="url">{shown}</a>'
    return f'<span class="url">{shown}</span>'


def item_section(number: int, item: Mapping[str, Any], zone: Any, printing: Printing | None, with_pdfs: bool) -> str:
    tz = item.get("tz")
    reasons = [reason_text(reason) for reason in sequence(item.get("reasons"), "item.reasons")]
    reason_list = "".join(f"<li>{esc(reason, single_line=True)}</li>" for reason in reasons)
    details: list[tuple[str, str]] = [("Status", status_cell(item))]
    if with_pdfs and item.get("exhibit"):
        details.append(("Exhibit PDF", exhibit_link(item, printing is None)))
    if item.get("kind") == "capture" or item.get("requested_url"):
        details += [
            (requested_label(item), url_cell(item.get("requested_url"))),
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
            *((label, esc(text)) for label, text in popup_lines(item)),
            ("Page title", title_html(item.get("title"))),
            ("HTTP status", esc(item.get("http_status")) or or_missing("")),
            ("Server IP", mono(item.get("server_ip"))),
        ]
    details += [
        ("Started" if item.get("ended") else "Recorded", time_cell(item.get("started"), tz, zone)),
        *([("Ended", time_cell(item.get("ended"), tz, zone))] if item.get("ended") else []),
        *time_rows(item),
    ]
    if item.get("browser") or item.get("user_agent"):
        details += [("Browser", page_text(item.get("browser"))), ("User agent", mono(item.get("user_agent")))]
    if item.get("kind") == "capture":
        details += logged_in_rows(item)
    fingerprint = mapping(item.get("settings") or {}, "item.settings").get("fingerprint")
    if fingerprint:  # every way the browser presented itself otherwise than a plain headless Chromium
        details.append(("Browser fingerprint", page_text(fingerprint)))
    redirects = [
        [str(index), esc(mapping(hop, "redirect").get("status")), url_cell(mapping(hop, "redirect").get("url"))]
        for index, hop in enumerate(sequence(item.get("redirect_chain"), "item.redirect_chain"), 1)
    ]
    notes = sequence(item.get("notes"), "item.notes")
    exhibit = esc(item.get("exhibit"))
    return (
        f'<section class="item" id="item-{number}">'
        f"<h2>{f'Exhibit {exhibit}: ' if exhibit else ''}item {number}, {esc(item.get('item_id'))} "
        f"({esc(item.get('kind'))})</h2>"
        f'<p class="lead">{breakable(item.get("label"), url=item.get("kind") == "capture")}</p>'
        + kv(details)
        + (f'<h3>Recorded reasons</h3><ul class="reasons">{reason_list}</ul>' if reason_list else "")
        + screenshots(item, printing)
        + media_section(item, printing)
        + (
            "<h3>Redirect chain</h3>" + table([("#", "w-n"), ("HTTP", "w-http"), ("URL", "")], redirects, "")
            if redirects
            else ""
        )
        + _indicators(item)
        + _exif(item)
        + _steps(item)
        + _files(item, number)
        + ("<h3>Investigator notes</h3>" + notes_table(notes, zone) if notes else "")
        + "</section>"
    )


def logged_in_rows(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The rows saying whether a capture was made logged in (with which profile, and the account only where
    the export disclosed it) and from where, as the investigator stated it."""
    rows = [(VANTAGE_LABEL, page_text(item.get("vantage")) if item.get("vantage") else or_missing(""))]
    profile = mapping(item.get("profile"), "item.profile")
    if not profile:
        return rows
    account = profile.get("account")
    if isinstance(account, str):
        key = esc(profile.get("account_key"))
        said = (
            f"{page_text(account)} (disclosed at export; HMAC-SHA256 of this name keyed with "
            f'<span class="mono" data-account-key="{key}">{key}</span> is the account commitment the ledger '
            "recorded at the capture's start)"
        )
    elif profile.get("account_named") is False:
        said = "none named for the profile"
    else:
        said = "not disclosed (the ledger records only a commitment to it)"
    made = f"made with profile {esc(profile.get('name'))}; state digest {mono(profile.get('digest'))}"
    return [("Logged in", f"{made}; {logged_in_words(item, profile)}; account: {said}"), *rows]


# The vantage is what the investigator said; nothing in the capture checks it.
VANTAGE_LABEL = "Vantage (as stated by the investigator, not checked)"


def logged_in_words(item: Mapping[str, Any], profile: Mapping[str, Any]) -> str:
    """What is known of the session being logged in: the check that passed before the batch (never its URL,
    selector or text, which may name the account), or that nothing checked it; and a login wall the page
    showed (the capture is then blocked)."""
    state, at = profile.get("logged_in"), profile.get("checked_at")
    disclosed = profile.get("check_disclosed")
    if state == "checked" and isinstance(disclosed, Mapping):
        mark = f"selector {disclosed.get('selector')}" if disclosed.get("selector") else f"text {disclosed.get('text')}"
        said = (
            f"its logged-in check ({page_text(mark)} at {url_cell(disclosed.get('url'))}, disclosed at export; "
            f"it has the digest recorded) passed at {esc(at)} (UTC), before the batch"
        )
    elif state == "checked":
        host = f" at {esc(profile.get('check_host'))}" if profile.get("check_host") else ""
        said = f"a logged-in check (not disclosed){host} passed at {esc(at)} (UTC), before the batch"
    elif state is True and profile.get("check_url"):  # entries made before the check's time was recorded
        said = f"its logged-in check at {url_cell(profile.get('check_url'))} passed before the batch"
    else:
        said = "whether the session was still logged in was not checked (the profile names no logged-in check)"
    blocked = item.get("blocked")
    if isinstance(blocked, Mapping) and blocked.get("kind") == "login-wall":
        said += "; the site showed a login wall instead of the content, so this capture is blocked"
    return said
