"""An exhibit's page on the history of its watched URL: the intervals in words and every attempt.

Printed in the exhibit's summary (so the page count that decides the captions includes it), from the same
``timeline_facts`` as the report's Timeline section: each attempt with its time in UTC and in the local
zone, how the capture ended, the observation's availability and content verdicts and what changed, most
important first, and the diff files in the bundle. This exhibit's own capture is marked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from evidencekit.bundle.documents.report_facts import mapping, plain, sequence
from evidencekit.bundle.documents.timeline_facts import INDEPENDENT_BOUND, count_words, excerpt_words, moment_label
from evidencekit.bundle.shown import visible_text

NOT_KNOWN = "not known"


def _text(value: Any) -> str:
    return escape(visible_text(value, single_line=True))


def _attempt_row(
    attempt: Mapping[str, Any], changes: Mapping[str, list[str]], own: str, moment: Callable[[Any], tuple[str, str]]
) -> str:
    item = plain(attempt.get("item_id"))
    when = attempt.get("ended") or attempt.get("started")
    utc, local = moment(when) if when else (NOT_KNOWN, "")
    where = (f"exhibit {_text(attempt.get('exhibit'))}" if attempt.get("exhibit") else "not in this bundle") + (
        " (this exhibit)" if item == own else ""
    )
    http = f", HTTP {_text(attempt.get('http_status'))}" if attempt.get("http_status") is not None else ""
    said = "; ".join(_text(c) for c in changes.get(item, []))
    changed = f'<tr><td colspan="5">what changed, most important first: {said}</td></tr>' if said else ""
    return (
        f'<tr><td><span class="mono">{_text(item)}</span><br>{where}</td>'
        f"<td>{_text(moment_label(attempt))}:<br>{_text(utc)}<br>{_text(local)}</td>"
        f"<td>{_text(attempt.get('outcome') or NOT_KNOWN)}{http}</td>"
        f"<td>{_text(attempt.get('availability') or NOT_KNOWN)}</td>"
        f"<td>{_text(attempt.get('content') or NOT_KNOWN)}</td></tr>{changed}"
    )


def _own_panel(timeline: Mapping[str, Any], own: str) -> Mapping[str, Any] | None:
    """The visual diff of this exhibit's own capture (its observation's three-panel image), if the bag holds it."""
    for observed in (mapping(o, "o") for o in sequence(timeline.get("observations"), "timeline.observations")):
        panel = mapping(observed.get("visual_diff"), "visual_diff")
        if plain(observed.get("item_id")) == own and plain(panel.get("path")):
            return {**panel, "compared_with": observed.get("compared_with")}
    return None


def thumbnail_files(root: Path, timeline: Mapping[str, Any] | None, own: str = "") -> tuple[Path, ...]:
    """The screenshots the history's strip shows and the exhibit's own visual diff (files in the bag at
    ``root``): the printer loads only these."""
    if not timeline:
        return ()
    attempts = [mapping(a, "attempt") for a in sequence(timeline.get("attempts"), "timeline.attempts")]
    paths = [plain(mapping(a.get("thumbnail"), "thumbnail").get("path")) for a in attempts if a.get("in_bundle")]
    panel = _own_panel(timeline, own)
    paths += [plain(panel.get("path"))] if panel else []
    return tuple(root / path for path in paths if path)


def _panel_figure(root: Path, timeline: Mapping[str, Any], own: str) -> str:
    """This capture's visual diff, scaled to the page width (at most 90 mm high), its pixel size stated."""
    panel = _own_panel(timeline, own)
    if panel is None:
        return ""
    path = plain(panel.get("path"))
    width, height = panel.get("width"), panel.get("height")
    pixels = (
        f"{width:,} \N{MULTIPLICATION SIGN} {height:,} px" if isinstance(width, int) and isinstance(height, int) else ""
    )
    return (
        f'<figure style="margin: 2mm 0"><img alt="Visual diff of {_text(own)}: before, after, difference boxed" '
        f'src="{escape((root / path).resolve().as_uri(), quote=True)}" style="display: block; max-width: 100%; '
        'max-height: 90mm; object-fit: contain; border: 1px solid #888">'
        f"<figcaption>Visual diff of {_text(own)} against {_text(panel.get('compared_with') or NOT_KNOWN)}: "
        f"before, after, and the difference with the changed regions boxed; {_text(pixels)}, scaled to fit the "
        f'page; the file is <span class="url">{_text(path)}</span>.</figcaption></figure>'
    )


def _strip(root: Path, timeline: Mapping[str, Any], moment: Callable[[Any], tuple[str, str]]) -> str:
    """One small image per attempt (its own whole screenshot, scaled by the printer, never cropped), the
    capture, its time (named as in the table) and verdicts under it."""
    figures = []
    for attempt in (mapping(a, "attempt") for a in sequence(timeline.get("attempts"), "timeline.attempts")):
        path = plain(mapping(attempt.get("thumbnail"), "thumbnail").get("path"))
        image = (
            f'<img alt="" src="{escape((root / path).resolve().as_uri(), quote=True)}" style="width: 38mm; '
            'height: 26mm; object-fit: contain; object-position: left top; border: 1px solid #888">'
            if path and attempt.get("in_bundle")
            else '<div style="width: 38mm; height: 26mm; border: 1px dashed #888">no screenshot in this bundle</div>'
        )
        said = f"{plain(attempt.get('availability') or NOT_KNOWN)}, {plain(attempt.get('content') or NOT_KNOWN)}"
        when = attempt.get("ended") or attempt.get("started")
        utc = moment(when)[0] if when else NOT_KNOWN
        figures.append(
            f'<figure style="display: inline-block; vertical-align: top; width: 40mm; margin: 0 1mm 2mm 0">{image}'
            f'<figcaption class="mono">{_text(attempt.get("item_id"))}<br>{_text(moment_label(attempt))}: '
            f"{_text(utc)}<br>{_text(said)}</figcaption></figure>"
        )
    return f"<div>{''.join(figures)}</div>"


def timeline_html(
    timeline: Mapping[str, Any] | None, own: str, moment: Callable[[Any], tuple[str, str]], root: Path | None = None
) -> str:
    """The history section for an exhibit whose item is in ``timeline``'s series (empty when it is in none).
    ``moment`` turns a recorded time into (UTC, local) text, as the exhibit shows every time; with ``root``
    (the bag), a strip of the attempts' screenshots comes first."""
    if not timeline:
        return ""
    intervals = [mapping(i, "interval") for i in sequence(timeline.get("intervals"), "timeline.intervals")]
    words = "".join(
        f"<li>{_text(i.get('words'))}"
        + (f"<br>{_text(INDEPENDENT_BOUND)}" if sequence(i.get("independent"), "interval.independent") else "")
        + "".join(f"<br>{_text(said)}" for said in sequence(i.get("independent"), "interval.independent"))
        + "</li>"
        for i in intervals
    )
    words = words or f"<li>{NOT_KNOWN}</li>"
    changes: dict[str, list[str]] = {}
    files: list[str] = []
    for observed in (mapping(o, "o") for o in sequence(timeline.get("observations"), "timeline.observations")):
        item = plain(observed.get("item_id"))
        for change in (mapping(c, "change") for c in sequence(observed.get("changes"), "observation.changes")):
            changes.setdefault(item, []).append(f"{plain(change.get('kind'))}: {plain(change.get('summary'))}")
        files += [plain(path) for path in mapping(observed.get("files"), "observation.files").values()]
    rows = "".join(
        _attempt_row(mapping(a, "attempt"), changes, own, moment)
        for a in sequence(timeline.get("attempts"), "timeline.attempts")
    )
    said = excerpt_words(timeline)
    excerpt = f"<p>{_text(said)}</p>" if said else ""
    listed = "".join(f'<li><span class="url">{_text(path)}</span></li>' for path in files)
    return (
        f"<h2>History of this URL</h2><p>{_text(timeline.get('url'))}: {_text(count_words(timeline))}.</p>"
        f"{excerpt}<ul>{words}</ul>{_strip(root, timeline, moment) if root is not None else ''}"
        f"{_panel_figure(root, timeline, own) if root is not None else ''}"
        "<table><colgroup><col class='w-path'><col class='w-time'><col><col><col></colgroup><thead><tr>"
        "<th>Capture</th><th>Time (UTC · local)</th><th>Outcome</th><th>Availability</th><th>Content</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        + (f"<p>Diff files in the bundle:</p><ul>{listed}</ul>" if listed else "")
    )
