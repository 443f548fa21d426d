"""What one attempt's answer says of the page (ok, gone, error), and the availability it makes of it.

The answer, from the capture's ledger entry and what it stored:
- ``error``: the capture failed (DNS, refused, timeout, TLS), the server erred (5xx), or refused or blocked
  the visit (401, 403, 407, 429, another 4xx, a challenge page; a capture recorded ``blocked``: a challenge
  or a login wall instead of the content). It neither counts toward removal nor resets
  the count: it says nothing of the page.
- ``gone``: 404 or 410; a redirect away from the page to one that is not it (another host, the site's home
  page, a sign-in page); or a page saying the content is no longer available (its title, or the visible
  text of a short page, in one of a few languages).
- ``ok``: anything else that completed: the page was there.

Removal is a claim that needs evidence (``judge``): ``removed`` is declared at the Nth consecutive gone
answer when the gone answers span at least the watch's minimum (the span between the first gone answer's
time and this one's, attempt times being those of the entries that ended them). Until then a gone answer
is ``unavailable``, with ``removal`` saying how far the count stands. After removal gone answers stay
``removed``; an ok answer is ``reappeared``. Removal is a claim that the page was online and then went: a
series never seen online (no ok answer ever, ``last_online`` null) is never ``removed``; its gone answers
stay ``unavailable``, counted, with ``removal.never_online: true``.
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
from evidencekit.pagewords import TITLE_ONLY, UNAVAILABLE, is_login_path
from evidencekit.timefmt import parse_time

GONE_STATUSES = frozenset({404, 410})
_STATUS_NAMES = {404: "Not Found", 410: "Gone"}  # what the server said, in the standard's words
REFUSED_STATUSES = frozenset({401, 403, 407, 429})
# A "no longer available" page is short; an ad that happens to use the words is not. Visible text longer
# than this is never read for the phrases (the title still is).
SHORT_PAGE_CHARS = 600
# Each phrase names what is gone (the ad, listing, page...); the same list as the capture's "not available"
# note (evidencekit/pagewords.py).
_UNAVAILABLE, _TITLE_ONLY = UNAVAILABLE, TITLE_ONLY
_SIGN_IN = re.compile(r"log[-_ ]?in|sign[-_ ]?in|signin|anmeld|connexion|iniciar[-_ ]sesi|auth/|/account/", re.I)
_CHALLENGE = re.compile(r"just a moment|attention required|access denied|are you a robot|captcha", re.I)


def classify(
    url: str, ended: LedgerEntry, title: str | None, text: str | None, *, known_final: str | None = None
) -> dict[str, Any]:
    """The answer ``{"kind", "why", "http_status", "final_url"}`` of an attempt at ``url`` that ended with
    ``ended`` (``capture.completed`` or ``capture.failed``); ``title`` and ``text``: what the page showed;
    ``known_final``: the final URL of the series' last successful capture (the ad was there then)."""
    details = ended.details
    status = details.get("http_status") if isinstance(details.get("http_status"), int) else None
    final_url = details.get("final_url") if isinstance(details.get("final_url"), str) else None

    def said(kind: str, why: str) -> dict[str, Any]:
        return {"kind": kind, "why": why, "http_status": status, "final_url": final_url}

    if ended.action == "capture.failed":
        error = str(details.get("error") or "the capture failed")
        return said("error", f"the capture failed: {error}" if status is None else f"HTTP {status}: {error}")
    if details.get("status") == "blocked":
        blocked = details.get("blocked")
        kind = blocked.get("kind") if isinstance(blocked, Mapping) else None
        shown = {"login-wall": "a login wall", "challenge": "a challenge page", "block": "a block page"}.get(
            str(kind), "a block"
        )
        answer = said("error", f"the capture was blocked: the site showed {shown} instead of the page")
        return answer | ({"blocked": kind} if isinstance(kind, str) else {})  # the kind as recorded
    if status is not None and status in GONE_STATUSES:
        return said("gone", f"the server answered HTTP {status} ({_STATUS_NAMES[status]}), counted as a gone answer")
    if status is not None and status >= 500:
        return said("error", f"HTTP {status}: a server error says nothing of the page")
    if status is not None and (status in REFUSED_STATUSES or 400 <= status < 500):
        return said("error", f"HTTP {status}: the visit was refused or blocked")
    away = _redirected_away(url, final_url, title, known_final)
    if away is not None:
        return said("gone", away)
    if title and _CHALLENGE.search(title):
        return said("error", f"a challenge or block page ({_short(title)})")
    unavailable = _unavailable_page(title, text)
    if unavailable is not None:
        return said("gone", unavailable)
    return said("ok", f"HTTP {status}" if status is not None else "the capture completed")


_SAME_SITE_PREFIXES = ("www.", "m.", "mobile.")


def without_series_profile(answer: dict[str, Any], history: Sequence[Attempt], profile: str | None) -> dict[str, Any]:
    """``answer``, except that a gone answer of an attempt made without a browser profile the series was
    captured with (no profile, or another one) is an error answer: a page a logged-out visitor (or another
    account) is refused, redirected from or told "not found" says nothing of whether it is gone for the
    account that saw it. So such an attempt never counts toward removal (issue 16)."""
    used = {attempt.profile for attempt in history if attempt.profile is not None}
    if answer.get("kind") != "gone" or not used or profile in used:
        return answer
    names = ", ".join(sorted(used))
    made = f"made with profile {profile}" if profile is not None else "made without a profile"
    why = (
        f"{answer.get('why')}; but this attempt was {made}, and the series was captured with profile {names}: "
        "that says nothing of whether the page is gone"
    )
    return {**answer, "kind": "error", "why": why}


def _site_of(host: str) -> str:
    """The host without a leading ``www.``, ``m.`` or ``mobile.``: the same site's desktop or mobile name."""
    host = host.lower()
    for prefix in _SAME_SITE_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            return host[len(prefix) :]
    return host


def _redirected_away(url: str, final_url: str | None, title: str | None, known_final: str | None) -> str | None:
    if final_url is None or series_key(final_url) == series_key(url):
        return None
    if known_final is not None and series_key(final_url) == series_key(known_final):
        return None  # where the page was redirected when it was last seen there: the ad's own address
    start, end = urlsplit(url), urlsplit(final_url)
    start_host, end_host = (start.hostname or "").lower(), (end.hostname or "").lower()
    if start_host != end_host:
        same_page = (start.path or "/", start.query) == (end.path or "/", end.query)
        if same_page and _site_of(start_host) == _site_of(end_host):
            return None  # example.com/ad/1 -> www.example.com/ad/1, m.site.com -> site.com: the same page
        return f"redirected away to another site ({end.hostname})"
    if end.path in ("", "/") and not end.query:
        return "redirected away to the site's home page"
    # The capture's own rule for a login page's address (a whole path segment: never a word in an ad's slug).
    if is_login_path(final_url) or (title and _SIGN_IN.search(title)):
        return "redirected away to a sign-in page"
    return None


def _unavailable_page(title: str | None, text: str | None) -> str | None:
    if title and (_UNAVAILABLE.search(title) or _TITLE_ONLY.search(title)):
        return f"a page saying the content is no longer available (title {_short(title)})"
    if text and len(" ".join(text.split())) <= SHORT_PAGE_CHARS:
        found = _UNAVAILABLE.search(text)
        if found:
            return f"a page saying the content is no longer available ({_short(found.group(0))!s})"
    return None


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def answer_of(attempt: Attempt, completed: Mapping[str, LedgerEntry] | None = None) -> str | None:
    """The answer kind an earlier attempt gave: its observation's, else (a capture never observed) what its
    ``capture.completed`` entry in ``completed`` says (``classify`` on its final URL and title: a login wall
    or an "ad removed" page answered 200 is not the ad), else its HTTP status's; None for an attempt that
    never ended or was abandoned (it says nothing)."""
    if attempt.observation is not None:
        kind = attempt.observation.answer.get("kind")
        return str(kind) if kind in ("ok", "gone", "error") else None
    if attempt.outcome in ("abandoned", "in-progress"):
        return None
    if attempt.outcome in ("failed", "blocked"):  # a blocked capture says nothing of the page
        return "error"
    ended = (completed or {}).get(attempt.item)
    if ended is not None:
        title = ended.details.get("title")
        return str(classify(attempt.url, ended, title if isinstance(title, str) else None, None)["kind"])
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
    history: Sequence[Attempt],
    answer: Mapping[str, Any],
    time: str,
    item: str,
    needed: int,
    span_s: int,
    completed: Mapping[str, LedgerEntry] | None = None,
) -> Judged:
    """The availability of the attempt ``item`` (ended at ``time``) that gave ``answer``, after ``history``
    (the series' earlier attempts, in order; ``completed``: their ``capture.completed``, see ``answer_of``)."""
    removed = False
    chain: list[tuple[str, str]] = []  # the consecutive gone answers: (item, time)
    last_online: str | None = None
    for attempt in history:
        kind = answer_of(attempt, completed)
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
    if last_online is None and not removed:  # nothing was seen online: nothing can have been removed
        return Judged("unavailable", removal | {"never_online": True})
    if kind == "gone" and (removed or (len(chain) >= needed and spanned >= span_s)):
        return Judged("removed", removal)
    return Judged("unavailable", removal)
