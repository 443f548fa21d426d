"""HTML building blocks of the bundle report: every value is escaped here, page-derived text is isolated
(``<bdi>``) and revealed control characters are marked, so ``report`` only assembles sections."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from evidencekit.bundle.documents.report_facts import (
    TITLE_SHOWN,
    bare_digest,
    capped,
    parse_utc,
    plain,
    status_text,
    visible_text,
    zone_of,
)
from evidencekit.bundle.shown import esc, mono, or_missing, page_text

__all__ = ["esc", "mono", "or_missing", "page_text"]

# Where a long value may break, so that it never breaks at a random place inside a word: a hash after
# every group of 8 digits, a URL or path after / ? & = # and, inside a run longer than _RUN characters,
# after every _RUN characters (a fixed place too). <wbr> adds no character: copying keeps the value whole.
_HASH_GROUP = 8
_RUN = 24
_URL_BREAKS = re.compile(r"(?<=[/?&=#])")
_MARKER = re.compile("(\u27e8U\\+[0-9A-F]{4,6}\u27e9)")


def _pieces(text: str) -> list[str]:
    """``text`` (already made visible) cut after each URL separator and every _RUN characters of a longer run;
    a revealed-character marker is never cut."""
    pieces: list[str] = []
    for part in _URL_BREAKS.split(text):
        run = ""
        for token in (t for t in _MARKER.split(part) if t):
            if _MARKER.fullmatch(token):
                run += token
                continue
            while len(run) + len(token) > _RUN:
                take = max(_RUN - len(run), 0)
                if take == 0:
                    pieces.append(run)
                    run = ""
                    continue
                pieces.append(run + token[:take])
                run, token = "", token[take:]
            run += token
        if run:
            pieces.append(run)
    return pieces


def _marked(piece: str) -> str:
    text = escape(piece, quote=True)
    return re.sub("\u27e8U\\+[0-9A-F]{4,6}\u27e9", r'<span class="marker">\g<0></span>', text)


def breakable(value: Any, *, url: bool = True) -> str:
    """Escaped text that may break only at the fixed places above."""
    return "<wbr>".join(_marked(piece) for piece in _pieces(visible_text(value, url=url, single_line=True)))


def hash_html(value: Any) -> str:
    """A digest (without its algorithm prefix) in groups of 8 digits that a line may break between."""
    digest = visible_text(bare_digest(value), single_line=True)
    if not digest:
        return or_missing("")
    groups = [escape(digest[i : i + _HASH_GROUP]) for i in range(0, len(digest), _HASH_GROUP)]
    return f'<span class="hash">{"<wbr>".join(groups)}</span>'


def title_html(value: Any, limit: int = TITLE_SHOWN) -> str:
    """A page's title, its first characters only when it is very long, saying how many more there are."""
    shown, more = capped(value, limit)
    if not shown:
        return or_missing("")
    rest = (
        f' <span class="muted">(\N{HORIZONTAL ELLIPSIS} {more:,} more characters; the whole title is in '
        "metadata.json)</span>"
        if more
        else ""
    )
    return page_text(shown) + rest


def status_cell(item: Mapping[str, Any]) -> str:
    """The badge and, beside it, what the status means for this item (server's answer, reasons)."""
    text = status_text(item)
    status = plain(item.get("status"))
    said = text[len(status) :].removeprefix(" \N{EM DASH} ") if status and text.startswith(status) else ""
    return status_badge(item.get("status")) + (f' <span class="status-said">{esc(said)}</span>' if said else "")


def note_text(value: Any) -> str:
    """A person's note keeps its line breaks (the investigator typed them); other controls are revealed."""
    body = esc(value)
    return f'<bdi class="multiline">{body}</bdi>' if body else or_missing("")


def url_cell(value: Any) -> str:
    body = breakable(value)
    return f'<span class="url" dir="ltr">{body}</span>' if body else or_missing("")


def kv(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f'<tr><th scope="row">{escape(name)}</th><td>{value}</td></tr>' for name, value in rows)
    return f'<table class="kv"><tbody>{cells}</tbody></table>'


def table(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    cols = "".join(f'<col class="{css}">' if css else "<col>" for _, css in columns)
    head = "".join(f'<th scope="col">{escape(name)}</th>' for name, _ in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def moment_html(value: Any) -> str:
    """An RFC 3339 time that may break only at its separators (after "-", "T" and ":", before the fraction of a
    second: "2026-12-02T15:57:" / "53.110227Z" never "…53.11022" / "7Z"), so that no number is ever cut, where a
    reader could take a part of it for the whole value. Each piece ends or begins with its separator."""
    text = visible_text(value, single_line=True)
    if not text:
        return or_missing("")
    parts = [p for p in re.split(r"(?<=[-T:])|(?=\.)", text) if p]
    return '<span class="moment">' + "<wbr>".join(f"<span>{escape(p)}</span>" for p in parts) + "</span>"


def time_cell(value: Any, tz: Any, case_zone: Any = None) -> str:
    """The recorded UTC time as written, and the same moment in the case's zone (from its settings) or,
    when the case sets none, in the zone recorded beside the time."""
    if not value:
        return or_missing("")
    shown = moment_html(value)
    moment = parse_utc(value)
    if moment is None:
        return shown
    zone = zone_of(case_zone) if case_zone else None
    if zone is not None:
        local = moment.astimezone(zone)
        said = f"{local.strftime('%Y-%m-%d %H:%M:%S.%f')} {local.strftime('%Z')}".strip()
        return f"{shown}<br>{esc(case_zone, single_line=True)}: {mono(said)}"
    zone = zone_of(tz)
    if zone is None:
        return shown + (f'<br><span class="muted">zone recorded: {esc(tz, single_line=True)}</span>' if tz else "")
    local_text = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"{shown}<br>local: {mono(local_text)} ({esc(tz, single_line=True)})"


def status_badge(value: Any) -> str:
    status = visible_text(value, single_line=True) or "unknown"
    css = re.sub(r"[^a-z]", "", status.lower())
    return f'<span class="status status-{css}">{escape(status)}</span>'


def _key_id_html(key_id: str) -> str:
    """A key id in unbreakable groups of 4 hex digits, as fingerprints are written: never cut at a random
    digit. Anything that is not a plain hex id is shown as any other value."""
    if not re.fullmatch(r"[0-9a-f]{1,64}", key_id):
        return mono(key_id)
    groups = [key_id[i : i + 4] for i in range(0, len(key_id), 4)]
    return '<span class="keyid">' + "<wbr>".join(f"<span>{g}</span>" for g in groups) + "</span>"


def actor_cell(actor: Any) -> str:
    """The actor's name, and the start of their key ID (the full IDs are in the signing section and ledger)."""
    if isinstance(actor, Mapping):
        name, key_id = page_text(actor.get("name")), plain(actor.get("key_id"))
        short = key_id if len(key_id) <= 16 else key_id[:16] + "…"
        return name + (f'<br><span class="muted">key</span> {_key_id_html(short)}' if key_id else "")
    return page_text(actor)
