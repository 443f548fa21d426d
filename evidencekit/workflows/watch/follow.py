"""``watch add LISTING --follow PATTERN``: the links of a listing a pass captures, and those it leaves.

Each pass reads the listing capture's stored ``dom.html`` (``analysis.follow.links_matching``: a URL glob or
a CSS selector) and keeps the links whose series was never captured in this case ("not seen before"): the
first capture of a new ad is the evidence that it appeared between two passes. At most ``max_follow`` are
captured in the pass; the rest are recorded as left for the next one.
"""

from __future__ import annotations

import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
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


def refusal_of(url: str, listing_url: str | None = None) -> str | None:
    """Why a followed link cannot be captured (None: it can); never raises. With ``listing_url``: a link
    from a listing on a public address into the investigator's own machine or network is refused too
    (``private_target``)."""
    try:
        watchable_url(url)
    except UsageError as exc:
        return str(exc)
    if listing_url is not None and not private_target(listing_url) and private_target(url):
        from evidencekit.capture.options import excerpt

        return (
            f"{excerpt(url)} points into a loopback or private network from a listing on a public address; not followed"
        )
    return None


def private_target(url: str) -> bool:
    """Whether ``url``'s host is, or resolves to, a loopback, private or link-local address.

    A hostile listing can link to http://127.0.0.1:631/, a router's 192.168.x.y page or the cloud metadata
    address 169.254.169.254: each followed link becomes a top-level capture, which the capture's own
    private-network guard exempts (a page's own address is the investigator's choice). So the pass judges
    the link before it is followed. A listing that is itself on such an address (an intranet, the test
    fixtures) may link within it. A name the resolver cannot answer is not judged here (its capture fails).
    """
    from evidencekit.capture.private_network import protected

    host = (urlsplit(url).hostname or "").strip("[]").rstrip(".").lower()
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        answers = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return any(protected(str(answer[4][0])) for answer in answers)


def matching_links(dom: bytes | None, base_url: str, follow: Mapping[str, Any]) -> list[str]:
    """The links of the listing's DOM that the watch's pattern selects (none when the DOM is missing)."""
    if dom is None:
        return []
    try:
        return links_matching(dom, base_url, str(follow["pattern"]), str(follow["kind"]))
    except FollowPatternError:
        return []


def shown_refused(link: str) -> str:
    """A refused link as the observation records it: user info hidden, cut to ``MAX_REFUSED_CHARS``."""
    from evidencekit.capture.redact import hide_userinfo

    hidden = hide_userinfo(link)
    return hidden if len(hidden) <= MAX_REFUSED_CHARS else hidden[: MAX_REFUSED_CHARS - 1] + "…"


@dataclass(frozen=True)
class Picked:
    """What a pass does with a listing's links: ``new`` to capture now (``retried``: those among them tried
    before without a completed capture), ``left`` for the next pass, ``refused``: links that cannot be
    captured (a malformed URL, user info), as recorded (``shown_refused``)."""

    new: list[str]
    left: list[str]
    refused: list[str]
    retried: list[str]

    def followed(self) -> dict[str, Any]:
        """The observation's ``followed``: ``refused`` and ``retried`` only when there are some."""
        done: dict[str, Any] = {"new": self.new, "left": self.left}
        if self.refused:
            done["refused"] = self.refused
        if self.retried:
            done["retried"] = self.retried
        return done


def split_new(
    links: Sequence[str],
    seen: Collection[str],
    max_follow: int,
    *,
    carried: Sequence[str] = (),
    tried: Collection[str] = (),
    listing_url: str | None = None,
) -> Picked:
    """The links whose series has no completed capture in ``seen``: the ones ``carried`` over (left by
    earlier passes) first, then the page's in page order; at most ``max_follow`` now, the rest left.
    ``tried``: series attempted before (their capture failed or was abandoned): tried again, named.
    ``listing_url``: the listing's own URL, for the private-network rule (``refusal_of``)."""
    fresh: list[str] = []
    refused: list[str] = []
    keys: set[str] = set()
    for link in [*carried, *links]:
        if refusal_of(link, listing_url) is not None:
            shown = shown_refused(link)
            if shown not in refused:
                refused.append(shown)
            continue
        key = series_key(link)
        if key in seen or key in keys:
            continue
        keys.add(key)
        fresh.append(link)
    new = fresh[:max_follow]
    retried = [link for link in new if series_key(link) in tried]
    return Picked(new, fresh[max_follow:], refused, retried)
