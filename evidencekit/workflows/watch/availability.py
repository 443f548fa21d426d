"""What one attempt's answer says of the page (ok, gone, error), and the availability it makes of it.

The answer, from the capture's ledger entry and what it stored:
- ``error``: the capture failed (DNS, refused, timeout, TLS), the server erred (5xx), or refused or blocked
  the visit (401, 403, 407, 429, another 4xx, a challenge page). It neither counts toward removal nor resets
  the count: it says nothing of the page.
- ``gone``: 404 or 410; a redirect away from the page to one that is not it (another host, the site's home
  page, a sign-in page); or a page saying the content is no longer available (its title, or the visible
  text of a short page, in one of a few languages).
- ``ok``: anything else that completed: the page was there.

Removal is a claim that needs evidence (``judge``): ``removed`` is declared at the Nth consecutive gone
answer when the gone answers span at least the watch's minimum (the span between the first gone answer's
time and this one's, attempt times being those of the entries that ended them). Until then a gone answer
is ``unavailable``, with ``removal`` saying how far the count stands. After removal gone answers stay
``removed``; an ok answer is ``reappeared``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from evidencekit.ledger.entries import series_key
from evidencekit.ledger.series import Attempt
from evidencekit.models import LedgerEntry
from evidencekit.timefmt import parse_time

GONE_STATUSES = frozenset({404, 410})
REFUSED_STATUSES = frozenset({401, 403, 407, 429})
SHORT_PAGE_CHARS = 3000  # a "no longer available" page is short; an ad that mentions the phrase is not
_UNAVAILABLE = re.compile(
    "|".join(
        (
            r"no longer (?:available|exists|online|active)",
            r"(?:has been|was) (?:removed|deleted|taken down|expired)",
            r"\b(?:ad|listing|post|offer|page|content) (?:removed|deleted|expired|not found)",
            r"\b(?:this|the) (?:ad|listing|post|offer) (?:has )?expired",
            r"page not found",
            r"nicht mehr verf[üu]gbar|wurde gel[öo]scht|nicht gefunden|abgelaufen",
            r"n'est plus disponible|a [ée]t[ée] supprim[ée]e?|annonce (?:supprim[ée]e|expir[ée]e)",
            r"ya no est[áa] disponible|ha sido eliminad[oa]|anuncio (?:eliminado|caducado)",
            r"non [èe] più disponibile|[èe] stat[oa] rimoss[oa]|annuncio scaduto",
            r"n[ãa]o est[áa] mais dispon[íi]vel|foi removid[oa]|an[úu]ncio expirado",
            r"nie jest ju[żz] dost[ęe]pn|og[łl]oszenie (?:wygas[łl]o|usuni[ęe]te)",
            r"больше не доступн|объявление удалено|снято с публикации",
            r"niet meer beschikbaar|is verwijderd",
        )
    ),
    re.IGNORECASE,
)
_SIGN_IN = re.compile(r"log[-_ ]?in|sign[-_ ]?in|signin|anmeld|connexion|iniciar[-_ ]sesi|auth/|/account/", re.I)
_CHALLENGE = re.compile(r"just a moment|attention required|access denied|are you a robot|captcha", re.I)


def classify(url: str, ended: LedgerEntry, title: str | None, text: str | None) -> dict[str, Any]:
    """The answer ``{"kind", "why", "http_status", "final_url"}`` of an attempt at ``url`` that ended with
    ``ended`` (``capture.completed`` or ``capture.failed``); ``title`` and ``text``: what the page showed."""
    details = ended.details
    status = details.get("http_status") if isinstance(details.get("http_status"), int) else None
    final_url = details.get("final_url") if isinstance(details.get("final_url"), str) else None

    def said(kind: str, why: str) -> dict[str, Any]:
        return {"kind": kind, "why": why, "http_status": status, "final_url": final_url}

    if ended.action == "capture.failed":
        error = str(details.get("error") or "the capture failed")
        return said("error", f"the capture failed: {error}" if status is None else f"HTTP {status}: {error}")
    if status is not None and status in GONE_STATUSES:
        return said("gone", f"HTTP {status}: the server says the page is gone")
    if status is not None and status >= 500:
        return said("error", f"HTTP {status}: a server error says nothing of the page")
    if status is not None and (status in REFUSED_STATUSES or 400 <= status < 500):
        return said("error", f"HTTP {status}: the visit was refused or blocked")
    away = _redirected_away(url, final_url, title)
    if away is not None:
        return said("gone", away)
    if title and _CHALLENGE.search(title):
        return said("error", f"a challenge or block page ({_short(title)})")
    unavailable = _unavailable_page(title, text)
    if unavailable is not None:
        return said("gone", unavailable)
    return said("ok", f"HTTP {status}" if status is not None else "the capture completed")


def _redirected_away(url: str, final_url: str | None, title: str | None) -> str | None:
    if final_url is None or series_key(final_url) == series_key(url):
        return None
    start, end = urlsplit(url), urlsplit(final_url)
    if (start.hostname or "").lower() != (end.hostname or "").lower():
        return f"redirected away to another site ({end.hostname})"
    if end.path in ("", "/") and not end.query:
        return "redirected away to the site's home page"
    if _SIGN_IN.search(end.path + "?" + end.query) or (title and _SIGN_IN.search(title)):
        return "redirected away to a sign-in page"
    return None


def _unavailable_page(title: str | None, text: str | None) -> str | None:
    if title and _UNAVAILABLE.search(title):
        return f"a page saying the content is no longer available (title {_short(title)})"
    if text and len(text) <= SHORT_PAGE_CHARS:
        found = _UNAVAILABLE.search(text)
        if found:
            return f"a page saying the content is no longer available ({_short(found.group(0))!s})"
    return None


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def answer_of(attempt: Attempt) -> str | None:
    """The answer kind an earlier attempt gave: its observation's, else (a plain capture) its HTTP status's;
    None for an attempt that never ended or was abandoned (it says nothing)."""
    if attempt.observation is not None:
        kind = attempt.observation.answer.get("kind")
        return str(kind) if kind in ("ok", "gone", "error") else None
    if attempt.outcome in ("abandoned", "in-progress"):
        return None
    if attempt.outcome == "failed":
        return "error"
    status = attempt.http_status
    if status in GONE_STATUSES:
        return "gone"
    if status is None or 200 <= status < 400:
        return "ok"
    return "error"


@dataclass(frozen=True)
class Judged:
    availability: str
    removal: dict[str, Any] | None


def judge(
    history: Sequence[Attempt], answer: Mapping[str, Any], time: str, item: str, needed: int, span_s: int
) -> Judged:
    """The availability of the attempt ``item`` (ended at ``time``) that gave ``answer``, after ``history``
    (the series' earlier attempts, in order)."""
    removed = False
    chain: list[tuple[str, str]] = []  # the consecutive gone answers: (item, time)
    last_online: str | None = None
    for attempt in history:
        kind = answer_of(attempt)
        if kind == "ok":
            chain, removed, last_online = [], False, attempt.item
        elif kind == "gone" and attempt.time is not None:
            chain.append((attempt.item, attempt.time))
            if attempt.observation is not None and attempt.observation.availability == "removed":
                removed = True
    kind = answer.get("kind")
    if kind == "ok":
        return Judged("reappeared" if removed else "online", None)
    if kind == "gone":
        chain.append((item, time))
    if not chain:
        return Judged("unavailable", None)
    last_gone = chain[-1][1]  # an error answer after them neither lengthens nor ends the span
    spanned = max(0, int((parse_time(last_gone) - parse_time(chain[0][1])).total_seconds()))
    removal = {
        "answers": len(chain),
        "needed": needed,
        "span_s": spanned,
        "needed_span_s": span_s,
        "first": chain[0][0],
        "last_online": last_online,
    }
    if kind == "gone" and (removed or (len(chain) >= needed and spanned >= span_s)):
        return Judged("removed", removal)
    return Judged("unavailable", removal)
