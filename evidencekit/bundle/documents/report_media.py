"""The video and audio of a capture in the bundle report: each media URL, the file kept (the original bytes
as the server sent them), its duration and poster frame, and what was derived from it (a poster frame, a
joined copy of an HLS stream), from the capture's metadata.json ``media`` only.

Facts shape (``item["media"]``): [{url, kind, source, outcome, error?, path?, size?, duration_ms?, poster?,
joined: [path], parts?: int, streams: ["video" | "audio"], final_url?, content_encoding?}], paths in the bag.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from evidencekit.bundle.documents.report_facts import format_size, plain
from evidencekit.bundle.documents.report_html import esc, or_missing, table, url_cell
from evidencekit.bundle.layout import artefact_path

if TYPE_CHECKING:
    from evidencekit.bundle.documents.report_items import Printing

POSTER_EMBED_LIMIT = 2 * 1024 * 1024
_OUTCOMES = {
    "kept": "kept",
    "too-large": "not kept: larger than the media size limit",
    "timed-out": "not kept: the media time limit ran out",
    "failed": "not kept: the fetch failed",
    "blocked": "not fetched: a loopback or private address",
    "stopped": "not kept: the capture was interrupted",
    "not-fetched": "not fetched",
}
_SOURCES = {
    "element": "named by the page's video or audio elements",
    "network": "seen in the page's network log",
    "extractor": "found by a yt-dlp site extractor",
}
_KINDS = {"file": "file", "hls": "HLS stream", "dash": "DASH stream", "subtitles": "subtitles"}


def media_facts(item_id: str, metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's facts about a capture's media (see the module doc)."""
    block = metadata.get("media")
    if not isinstance(block, Mapping):
        return []
    facts = []
    for entry in block.get("items") or []:
        if not isinstance(entry, Mapping) or entry.get("kind") == "extractor":
            continue

        def bag(name: Any) -> str | None:
            return artefact_path(item_id, str(name)) if isinstance(name, str) and name else None

        facts.append(
            {
                "url": entry.get("url"),
                "kind": entry.get("kind"),
                "source": entry.get("source"),
                "outcome": entry.get("outcome"),
                "error": entry.get("error"),
                "path": bag(entry.get("artefact")),
                "size": entry.get("bytes"),
                "duration_ms": entry.get("duration_ms"),
                "poster": bag(entry.get("poster")),
                "joined": [p for p in (bag(name) for name in entry.get("joined") or []) if p],
                "parts": len(entry.get("parts") or []) or None,
                "streams": [str(kind) for kind in entry.get("streams") or []],
                "final_url": entry.get("final_url"),
                "content_encoding": entry.get("content_encoding"),
                "in_warc": entry.get("in_warc"),
            }
        )
    return facts


def what_of(entry: Mapping[str, Any]) -> str:
    kind = plain(entry.get("kind"))
    return _KINDS.get(kind, kind)


def format_ms(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    minutes, rest = divmod(value, 60_000)
    seconds = f"{rest / 1000:.1f} s"
    return f"{minutes} min {seconds}" if minutes else seconds


def _poster(path: str | None, printing: Printing | None) -> str:
    if not path:
        return or_missing("")
    from evidencekit.bundle.documents.report_items import PNG_SIGNATURE, relative_to_report

    if printing is None:
        link = escape(relative_to_report(path))
        image = f'<img class="poster" src="{link}" alt="poster frame">'
        return f'{image}<br><span class="muted">derived: a frame drawn by ffmpeg</span>'
    data = printing.read(path)
    if data is None or not data.startswith(PNG_SIGNATURE) or len(data) > POSTER_EMBED_LIMIT:
        return f'<span class="url">{esc(path)}</span> (derived: a frame drawn by ffmpeg)'
    encoded = base64.b64encode(data).decode("ascii")
    image = f'<img class="poster" src="data:image/png;base64,{encoded}" alt="poster frame">'
    return f'{image}<br><span class="muted">derived: a frame drawn by ffmpeg</span>'


def media_section(item: Mapping[str, Any], printing: Printing | None) -> str:
    media = [entry for entry in item.get("media") or [] if isinstance(entry, Mapping)]
    if not media:
        return ""
    rows = []
    for entry in media:
        source = plain(entry.get("source"))
        found = f'<br><span class="muted">{esc(what_of(entry))}, {esc(_SOURCES.get(source, source))}</span>'
        kept = entry.get("path")
        if kept:
            held = f'<span class="url">{esc(kept)}</span>: original bytes as the server sent them'
            if entry.get("content_encoding"):
                held += f" ({esc(entry.get('content_encoding'))}-encoded by the server, kept encoded)"
            if entry.get("final_url"):
                held += f'<br>redirected to <span class="url">{esc(entry.get("final_url"))}</span>, which sent them'
            if plain(entry.get("outcome")) not in ("kept", ""):
                outcome = plain(entry.get("outcome"))
                held += "<br>" + esc(_OUTCOMES.get(outcome, outcome)) + " (part of it)"
                held += f" ({esc(entry.get('error'))})" if entry.get("error") else ""
            if entry.get("parts"):
                held += (
                    f" ({esc(entry.get('parts'))} files: the playlists or manifest and each segment, each as served)"
                )
            for joined in entry.get("joined") or []:
                held += f'<br><span class="url">{esc(joined)}</span>: derived, the segments joined in order'
        else:
            outcome = plain(entry.get("outcome"))
            held = esc(_OUTCOMES.get(outcome, outcome)) + (
                f" ({esc(entry.get('error'))})" if entry.get("error") else ""
            )
            if entry.get("in_warc"):
                held += f"<br>{esc(entry.get('in_warc'))}"
        rows.append(
            [
                url_cell(entry.get("url")) + found,
                held,
                esc(format_ms(entry.get("duration_ms"))) or or_missing(""),
                esc(format_size(entry.get("size"))) if entry.get("size") is not None else or_missing(""),
                _poster(entry.get("poster"), printing)
                if entry.get("poster") or entry.get("streams") != ["audio"]
                else '<span class="muted">none: sound only</span>',
            ]
        )
    columns = [("Media URL", ""), ("Kept", ""), ("Duration", "w-n"), ("Size", "w-size"), ("Poster frame", "")]
    if any(entry.get("path") for entry in media):
        note = (
            '<p class="muted">Media were fetched with yt-dlp after the page was captured and kept byte for byte; '
            "poster frames and joined streams are derived copies, made from the kept bytes, and are not evidence "
            "of what the server sent.</p>"
        )
    else:
        note = '<p class="muted">Media were fetched with yt-dlp after the page was captured; none was kept.</p>'

    return "<h3>Video and audio</h3>" + table(columns, rows, "") + note
