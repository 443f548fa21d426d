"""The report's Timeline sections: one per watched URL whose history the bundle carries.

Each shows, from ``facts["timelines"]`` (``timeline_facts``) alone: the watch's recorded settings, the
intervals in words (the series model's: "changed between ... and ..."), a strip of thumbnails (each attempt's
own screenshot, scaled by the browser, with its time, availability and content verdict under it), then every
observation with what changed, most important first, and links to its diff files. In index.html a thumbnail
is a relative link to the screenshot in the bag (``img-src 'self'``); on paper it is embedded, within the
printed report's image budget. An attempt the bundle does not hold, and any fact not recorded, says so.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

from evidencekit.bundle.documents.report_facts import mapping, plain, sequence
from evidencekit.bundle.documents.report_html import esc, mono, table, time_cell, url_cell
from evidencekit.bundle.documents.report_items import (
    CSS_PX_PER_MM,
    EMBED_LIMIT,
    EMBED_TOTAL,
    PNG_SIGNATURE,
    Printing,
    relative_to_report,
)
from evidencekit.bundle.documents.timeline_facts import (
    INDEPENDENT_BOUND,
    MOMENT_NAME,
    count_words,
    excerpt_words,
    moment_label,
)

NOT_KNOWN = "not known"
_FILE_WORDS = {"diff.html": "the differences (diff.html)", "visual-diff.png": "visual diff (visual-diff.png)"}


def share_words(value: Any) -> str:
    """A recorded share of pixels ("0.0132") in words ("1.32% of the screenshot's pixels"), or empty."""
    try:
        share = Decimal(plain(value))
    except InvalidOperation:
        return ""
    if not share.is_finite() or share < 0:
        return ""
    return f"{(share * 100).quantize(Decimal('0.01'))}% of the screenshot's pixels changed (recorded as {plain(value)})"


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return NOT_KNOWN
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _watch_lines(timeline: Mapping[str, Any]) -> str:
    """The watch's recorded settings, worded as settings (what it was set to do), never as the history: the
    captures below were made when the strip says (``watch run --now`` passes need not keep to the schedule)."""
    rows = []
    for watch in (mapping(w, "watch") for w in sequence(timeline.get("watches"), "timeline.watches")):
        state = f"; last recorded state: {esc(watch.get('state'))}" if watch.get("state") else ""
        jitter = watch.get("jitter_s")
        later = f", up to {esc(_duration(jitter))} later" if isinstance(jitter, int) and jitter > 0 else ""
        note = (
            f"<br>Note recorded with the watch by {esc(watch.get('actor') or NOT_KNOWN)} at {esc(watch.get('added'))}"
            f" (seq {esc(watch.get('seq'))}): <q>{esc(watch.get('note'))}</q>"
            if watch.get("note")
            else ""
        )
        rows.append(
            f"<li>{mono(watch.get('watch'))} was set at {esc(watch.get('added') or NOT_KNOWN)} (ledger"
            + (f", seq {esc(watch.get('seq'))}" if watch.get("seq") is not None else "")
            + f") to capture every {esc(_duration(watch.get('every_s')))}{later}, and to declare a removal "
            f"after {esc(watch.get('removal_attempts'))} consecutive answers that the page is gone over at least "
            f"{esc(_duration(watch.get('removal_span_s')))}{state}; the captures below were made at the times "
            f"shown.{note}</li>"
        )
    return f'<ul class="watches">{"".join(rows)}</ul>' if rows else ""


def _thumbnail(attempt: Mapping[str, Any], printing: Printing | None) -> str:
    thumb = mapping(attempt.get("thumbnail"), "attempt.thumbnail")
    item_id = plain(attempt.get("item_id"))
    if not attempt.get("in_bundle"):
        return '<div class="thumb-none">not in this bundle</div>'
    path = plain(thumb.get("path"))
    if not path:
        return '<div class="thumb-none">no screenshot recorded</div>'
    what = "full-page screenshot" if plain(thumb.get("role")) == "screenshot-full" else "viewport screenshot"
    alt = escape(f"The whole {what} of {item_id}, scaled down to fit (not cropped)")
    if printing is None:
        link = escape(relative_to_report(path))
        return f'<a href="{link}"><img src="{link}" alt="{alt}"></a>'
    data = printing.read(path)
    if data is None or not data.startswith(PNG_SIGNATURE):
        return '<div class="thumb-none">screenshot not shown</div>'
    if len(data) > EMBED_LIMIT or sum(printing.embedded) + len(data) > EMBED_TOTAL:
        return f'<div class="thumb-none">not embedded (too large); the file is {esc(path)}</div>'
    printing.embedded.append(len(data))
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" alt="{alt}">'


def _verdicts(attempt: Mapping[str, Any]) -> str:
    availability = plain(attempt.get("availability"))
    content = plain(attempt.get("content"))
    removal = mapping(attempt.get("removal"), "attempt.removal")
    counted = (
        f" ({esc(removal.get('answers'))} of {esc(removal.get('needed'))} gone answers)"
        if removal.get("answers") is not None and availability != "removed"
        else ""
    )
    if not availability and not content:
        return f'availability: <span class="muted">{NOT_KNOWN}</span> (no observation recorded)'
    return (
        f"availability: <strong>{esc(availability or NOT_KNOWN)}</strong>{counted}<br>"
        f"content: <strong>{esc(content or NOT_KNOWN)}</strong>"
    )


def _moment_label(attempt: Mapping[str, Any]) -> str:
    return esc(moment_label(attempt))


def _strip(timeline: Mapping[str, Any], zone: Any, printing: Printing | None) -> str:
    figures = []
    for attempt in (mapping(a, "attempt") for a in sequence(timeline.get("attempts"), "timeline.attempts")):
        number = attempt.get("number")
        item = esc(attempt.get("item_id"))
        named = f'<a href="#item-{esc(number)}">{item}</a>' if number and printing is None else item
        http = f", HTTP {esc(attempt.get('http_status'))}" if attempt.get("http_status") is not None else ""
        time = mapping(attempt.get("time"), "attempt.time")
        independent = f'<br><span class="muted">{esc(time.get("statement"))}</span>' if time.get("covered") else ""
        figures.append(
            f'<figure class="thumb">{_thumbnail(attempt, printing)}<figcaption>{named} '
            f"({esc(attempt.get('outcome') or NOT_KNOWN)}{http})<br>"
            f"{_moment_label(attempt)}: "
            f"{time_cell(attempt.get('ended') or attempt.get('started'), attempt.get('tz'), zone)}{independent}<br>"
            f"{_verdicts(attempt)}</figcaption></figure>"
        )
    return f'<div class="timeline-strip">{"".join(figures)}</div>'


def _files(observation: Mapping[str, Any], printing: Printing | None) -> str:
    files = mapping(observation.get("files"), "observation.files")
    links = []
    for name, words in _FILE_WORDS.items():
        path = plain(files.get(name))
        if not path:
            continue
        if printing is None:
            links.append(f'<a href="{escape(relative_to_report(path))}">{escape(words)}</a>')
        else:
            links.append(f'{escape(words)}: <span class="url">{esc(path)}</span>')
    return "<br>".join(links) or '<span class="muted">no diff file (nothing was compared)</span>'


def visual_diff_figure(observation: Mapping[str, Any], printing: Printing | None) -> str:
    """The three-panel visual diff (before, after, the difference with changed regions boxed): linked and shown
    in index.html, embedded scaled to the column on paper, its pixel size and scale stated (as screenshots are)."""
    panel = mapping(observation.get("visual_diff"), "observation.visual_diff")
    path = plain(panel.get("path"))
    width, height = panel.get("width"), panel.get("height")
    if not path or not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        return ""
    pixels = f"{width:,} \N{MULTIPLICATION SIGN} {height:,} px"
    what = (
        f"Visual diff of {plain(observation.get('item_id'))} against "
        f"{plain(observation.get('compared_with')) or NOT_KNOWN}: before, after, and the difference with the "
        "changed regions boxed"
    )
    alt = escape(what)
    where = f'<span class="url">{esc(path)}</span>'
    if printing is None:
        link = escape(relative_to_report(path))
        return (
            f'<figure class="shot"><a href="{link}"><img src="{link}" alt="{alt}"></a><figcaption>'
            f"{esc(what)}; {pixels}, scaled to the width of this column; the file is {where}.</figcaption></figure>"
        )
    data = printing.read(path)
    if data is None or not data.startswith(PNG_SIGNATURE):
        return f'<p class="muted">{esc(what)} ({pixels}): not shown here; the file is {where}.</p>'
    if len(data) > EMBED_LIMIT or sum(printing.embedded) + len(data) > EMBED_TOTAL:
        return f'<p class="muted">{esc(what)} ({pixels}): not embedded (too large); the file is {where}.</p>'
    natural_mm = width / CSS_PX_PER_MM
    shown_mm = min(printing.column_mm, natural_mm, printing.image_height_mm * width / height)
    percent = shown_mm / natural_mm * 100
    scale = "shown at its full size" if percent >= 99.95 else f"reduced to {percent:.1f}% of its size to fit the page"
    printing.embedded.append(len(data))
    css = f"shot-{len(printing.rules) + 1}"
    printing.rules.append(f"figure.{css} {{ width: {shown_mm:.2f}mm; }} figure.{css} img {{ width: 100%; }}")
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure class="shot {css}"><img src="data:image/png;base64,{encoded}" alt="{alt}"><figcaption>'
        f"{esc(what)}; {pixels}, {scale}; the file is {where}.</figcaption></figure>"
    )


def _changes(observation: Mapping[str, Any]) -> str:
    changes = [mapping(c, "change") for c in sequence(observation.get("changes"), "observation.changes")]
    listed = "".join(f"<li><strong>{esc(c.get('kind'))}</strong>: {esc(c.get('summary'))}</li>" for c in changes)
    shares = share_words(observation.get("screenshot_changed"))
    said = f"<ol>{listed}</ol>" if listed else ""
    if shares:
        said += f'<p class="muted">{esc(shares)}</p>'
    answer = mapping(observation.get("answer"), "observation.answer")
    if answer.get("why"):
        said += f'<p class="muted">answer: {esc(answer.get("kind"))}, {esc(answer.get("why"))}</p>'
    return said or '<span class="muted">no change recorded</span>'


def _observations(timeline: Mapping[str, Any], zone: Any, printing: Printing | None) -> str:
    rows = []
    for observation in (mapping(o, "o") for o in sequence(timeline.get("observations"), "timeline.observations")):
        against = plain(observation.get("compared_with"))
        rows.append(
            [
                f'<span class="num">{esc(observation.get("seq"))}</span>',
                mono(observation.get("item_id"))
                + f"<br>{time_cell(observation.get('time'), observation.get('tz'), zone)}",
                f"{esc(observation.get('availability'))}, {esc(observation.get('content'))}"
                + (f"<br>against {mono(against)}" if against else "<br>against no earlier capture"),
                _changes(observation),
                _files(observation, printing),
            ]
        )
    columns = [("Seq", "w-seq"), ("Capture, observed", "w-time"), ("Verdict", "w-action"), ("What changed", "")]
    columns.append(("Diff files", "c-pdf"))
    panels = "".join(
        visual_diff_figure(mapping(o, "o"), printing)
        for o in sequence(timeline.get("observations"), "timeline.observations")
    )
    return (
        "<h4>Observations, with what changed (most important first)</h4>"
        + table(columns, rows, "No observation was recorded.")
        + (f'<h4>Visual differences</h4><div class="visual-diffs">{panels}</div>' if panels else "")
    )


def _one(index: int, timeline: Mapping[str, Any], zone: Any, printing: Printing | None) -> str:
    intervals = [mapping(i, "interval") for i in sequence(timeline.get("intervals"), "timeline.intervals")]
    words = "".join(
        f"<li>{esc(i.get('words'))}"
        + (f'<br><span class="muted">{esc(INDEPENDENT_BOUND)}</span>' if sequence(i.get("independent"), "said") else "")
        + "".join(f'<br><span class="muted">{esc(said)}</span>' for said in sequence(i.get("independent"), "said"))
        + "</li>"
        for i in intervals
    )
    said = excerpt_words(timeline)
    excerpt = f'<p class="notice">{esc(said)}</p>' if said else ""
    return (
        f'<section class="timeline" id="timeline-{index}"><h3>Timeline of {url_cell(timeline.get("url"))}</h3>'
        + _watch_lines(timeline)
        + f"<p>{esc(count_words(timeline))}.</p>"
        + excerpt
        + "<h4>Intervals</h4>"
        + (f"<ul>{words}</ul>" if words else f'<p class="muted">{NOT_KNOWN}: no interval could be stated.</p>')
        + "<h4>Attempts</h4>"
        + _strip(timeline, zone, printing)
        + _observations(timeline, zone, printing)
        + "</section>"
    )


def timeline_section(facts: Mapping[str, Any], zone: Any, printing: Printing | None) -> str:
    """Every timeline, or nothing when the bundle holds no watched URL's history."""
    timelines = [mapping(t, "timeline") for t in sequence(facts.get("timelines"), "timelines")]
    if not timelines:
        return ""
    repeated = all(
        sum(1 for a in sequence(t.get("attempts"), "a") if mapping(a, "a").get("in_bundle")) > 1 for t in timelines
    )
    opening = (
        "Each page below was captured more than once in this bundle."
        if repeated
        else "Each page below was captured more than once in the case; an excerpt holds only some of its captures."
    )
    return (
        '<section class="timelines" id="timelines"><h2>Timeline of watched pages</h2>'
        f"<p>{opening} The intervals are stated from the recorded captures: "
        "a change or a removal happened between two captures, never at a known point. Times are those the "
        "ledger recorded (UTC): a capture's time is when the ledger recorded how it ended ("
        + esc(MOMENT_NAME)
        + "), the same time its exhibit's history gives; the capture began earlier (its start is in its exhibit). "
        "A capture's independent time is given where a "
        "time-stamp token covers it.</p>"
        + "".join(_one(n, t, zone, printing) for n, t in enumerate(timelines, 1))
        + "</section>"
    )
