"""HTML building blocks of the bundle report: every value is escaped here, page-derived text is isolated
(``<bdi>``) and revealed control characters are marked, so ``report`` only assembles sections."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from evidencekit.bundle.documents.report_facts import parse_utc, plain, visible_text, zone_of
from evidencekit.bundle.shown import esc, mono, or_missing, page_text

__all__ = ["esc", "mono", "or_missing", "page_text"]


def note_text(value: Any) -> str:
    """A person's note keeps its line breaks (the investigator typed them); other controls are revealed."""
    body = esc(value)
    return f'<bdi class="multiline">{body}</bdi>' if body else or_missing("")


def url_cell(value: Any) -> str:
    body = esc(value, url=True)
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


def time_cell(value: Any, tz: Any) -> str:
    """The recorded UTC time as written, and the same moment in the recorded zone."""
    if not value:
        return or_missing("")
    shown = mono(value)
    moment, zone = parse_utc(value), zone_of(tz)
    if moment is None:
        return shown
    if zone is None:
        return shown + (f'<br><span class="muted">zone recorded: {esc(tz, single_line=True)}</span>' if tz else "")
    local = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"{shown}<br>local: {mono(local)} ({esc(tz, single_line=True)})"


def status_badge(value: Any) -> str:
    status = visible_text(value, single_line=True) or "unknown"
    css = re.sub(r"[^a-z]", "", status.lower())
    return f'<span class="status status-{css}">{escape(status)}</span>'


def actor_cell(actor: Any) -> str:
    """The actor's name, and the start of their key ID (the full IDs are in the signing section and ledger)."""
    if isinstance(actor, Mapping):
        name, key_id = page_text(actor.get("name")), plain(actor.get("key_id"))
        short = key_id if len(key_id) <= 16 else key_id[:16] + "…"
        return name + (f'<br><span class="muted">key</span> {mono(short)}' if key_id else "")
    return page_text(actor)
