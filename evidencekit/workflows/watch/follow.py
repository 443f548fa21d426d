"""``watch add LISTING --follow PATTERN``: the links of a listing a pass captures, and those it leaves.

Each pass reads the listing capture's stored ``dom.html`` (``analysis.follow.links_matching``: a URL glob or
a CSS selector) and keeps the links whose series was never captured in this case ("not seen before"): the
first capture of a new ad is the evidence that it appeared between two passes. At most ``max_follow`` are
captured in the pass; the rest are recorded as left for the next one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from evidencekit.analysis.follow import FollowPatternError, follow_kind, links_matching
from evidencekit.errors import UsageError
from evidencekit.ledger.entries import series_key


def check_pattern(pattern: str) -> str:
    """The kind of a ``--follow`` pattern (``url-glob`` or ``css``), or a UsageError for one that cannot be
    used."""
    from evidencekit.analysis.follow import check_pattern as check

    kind = follow_kind(pattern)
    try:
        check(pattern, kind)
    except FollowPatternError as exc:
        raise UsageError(str(exc)) from None
    return kind


MAX_REFUSED_CHARS = 200  # a refused link is recorded cut to this length: it is page text, not a URL


def watchable_url(url: str) -> str:
    """``url`` checked as ``capture`` checks it, and without user info: a watch records its URL and series
    in the ledger and names them in every capture, so it cannot keep a password out of the evidence."""
    from evidencekit.capture import check_url  # Playwright loads only for the commands that need it
    from evidencekit.capture.options import excerpt

    checked = check_url(url)
    if "@" in urlsplit(checked).netloc:
        raise UsageError(
            f"{excerpt(checked)} holds user info (user:password@); a watch would put it in the evidence: "
            "watch the URL without it"
        )
    return checked


def refusal_of(url: str) -> str | None:
    """Why a followed link cannot be captured (None: it can); never raises."""
    try:
        watchable_url(url)
    except UsageError as exc:
        return str(exc)
    return None


def matching_links(dom: bytes | None, base_url: str, follow: Mapping[str, Any]) -> list[str]:
    """The links of the listing's DOM that the watch's pattern selects (none when the DOM is missing)."""
    if dom is None:
        return []
    try:
        return links_matching(dom, base_url, str(follow["pattern"]), str(follow["kind"]))
    except FollowPatternError:
        return []


def split_new(links: Sequence[str], seen: Collection[str], max_follow: int) -> tuple[list[str], list[str]]:
    """(new links to capture now, new links left for the next pass): those whose series is not in ``seen``."""
    fresh: list[str] = []
    keys: set[str] = set()
    for link in links:
        key = series_key(link)
        if key in seen or key in keys:
            continue
        keys.add(key)
        fresh.append(link)
    return fresh[:max_follow], fresh[max_follow:]
