"""The actions of watching pages over time: ``watch.added``, ``watch.changed`` and ``observation.recorded``.

A *watch* is a URL the case re-captures on a schedule; it is not an item (it holds no evidence itself, and
making it one would shift every later item's exhibit number). Its id (``watch-0001``) is counted among the
case's ``watch.added`` entries. Its entries' subject is the case (None).

Every capture of one URL belongs to one *series*: the URL normalised (``series_key``). A capture made by a
watch or by ``recapture`` names its series, its watch and the series' ``previous`` item in its
``capture.started`` details (see ``CaptureStarted``); earlier plain captures of the URL join the series by
their URL alone.

An *observation* (subject: the capture item it observes) states what that attempt shows against the
series' last successful capture: the page's ``availability`` (online, unavailable, removed, reappeared),
whether its ``content`` changed and what changed, most important first. Its artefacts are the diff files
(``diff.json``, ``diff.html``, ``visual-diff.png``) when there was something to compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit, urlunsplit

from evidencekit.ledger.entries.actions import Action, one_line
from evidencekit.models import LedgerEntry

AVAILABILITY = ("online", "unavailable", "removed", "reappeared")
CONTENT = ("unchanged", "changed", "not-compared")
WATCH_STATES = ("active", "paused", "removed", "ended")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def series_key(url: str) -> str:
    """The series a URL's captures belong to: the URL with scheme and host lower-case, the default port,
    the user info and the fragment dropped; path, query and their case kept as they are (servers may tell
    them apart)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    # User info is dropped: it is not the page, and a password must never reach a recorded series.
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


@dataclass(frozen=True)
class WatchAdded(Action):
    """A URL put under watch with its settings (times in whole seconds). ``follow`` for a listing page:
    ``{"pattern", "kind": "url-glob"|"css", "watch_followed", "max_follow"}``. ``notify`` says only whether
    a command is run on changes (the command itself may hold a secret and is kept outside the evidence).
    ``found_on``: the listing capture on which this URL was found (``--watch-followed``)."""

    ACTION: ClassVar[str] = "watch.added"
    watch: str
    url: str
    series: str
    every_s: int
    jitter_s: int
    ignore: tuple[str, ...]
    removal_attempts: int
    removal_span_s: int
    note: str | None = None
    follow: Mapping[str, Any] | None = None
    notify: bool = False
    until: str | None = None
    found_on: Mapping[str, Any] | None = None
    profile: str | None = None  # the browser profile each attempt is made with (issue 16), by name

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(
            d["watch"], d["url"], d["series"], d["every_s"], d["jitter_s"], tuple(d["ignore"]),
            d["removal_attempts"], d["removal_span_s"], d.get("note"),
            dict(d["follow"]) if d.get("follow") is not None else None, d.get("notify") is True, d.get("until"),
            dict(d["found_on"]) if d.get("found_on") is not None else None, d.get("profile"),
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "watch": self.watch,
            "url": self.url,
            "series": self.series,
            "every_s": self.every_s,
            "jitter_s": self.jitter_s,
            "ignore": list(self.ignore),
            "removal_attempts": self.removal_attempts,
            "removal_span_s": self.removal_span_s,
            "notify": self.notify,
        }
        optional = {
            "note": self.note,
            "follow": self.follow,
            "until": self.until,
            "found_on": self.found_on,
            "profile": self.profile,
        }
        return details | {
            name: (dict(v) if isinstance(v, Mapping) else v) for name, v in optional.items() if v is not None
        }

    def summary(self) -> str:
        return f"{self.watch} watches {one_line(self.url)} every {_duration(self.every_s)}"


@dataclass(frozen=True)
class WatchChanged(Action):
    """A watch paused, resumed (``active``), removed, or ended at the end of its authorised period."""

    ACTION: ClassVar[str] = "watch.changed"
    watch: str
    state: str
    reason: str | None = None

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(d["watch"], d["state"], d.get("reason"))

    def to_details(self) -> dict[str, Any]:
        details = {"watch": self.watch, "state": self.state}
        return details if self.reason is None else {**details, "reason": self.reason}

    def summary(self) -> str:
        said = {"active": "resumed", "paused": "paused", "removed": "removed", "ended": "ended"}[self.state]
        return f"{self.watch} {said}" + (f": {one_line(self.reason)}" if self.reason else "")


@dataclass(frozen=True)
class ObservationRecorded(Action):
    """What one attempt (``current``, the entry's subject) showed against the series' last successful
    capture (``compared_with``). ``previous`` is the attempt before it in the series (any outcome).

    ``answer``: ``{"kind": "ok"|"gone"|"error", "why": str, "http_status", "final_url"}``: what the attempt
    got; only ``gone`` answers (404, 410, a redirect away from the page, a "content unavailable" page) count
    toward removal. ``removal``: ``{"answers", "needed", "span_s", "first", "last_online"}`` while gone
    answers are counting or once removal is declared (``never_online``: true when nothing was ever seen
    online, so removal is never declared). ``changes``: ``[{"kind", "summary"}]``, most important
    first (indicators, images, title, text, screenshot). ``followed``: for a listing, ``{"new", "left"}``:
    the new links it captures this pass and those left for the next one; ``refused`` (links that cannot be
    captured, shown cut and without user info) and ``retried`` (new ones tried before without a completed
    capture) when there are some.
    """

    ACTION: ClassVar[str] = "observation.recorded"
    series: str
    current: str
    previous: str | None
    compared_with: str | None
    availability: str
    content: str
    answer: Mapping[str, Any]
    changes: tuple[Mapping[str, Any], ...] = ()
    watch: str | None = None
    removal: Mapping[str, Any] | None = None
    followed: Mapping[str, Any] | None = None
    screenshot_changed: str | None = None  # share of pixels changed, a decimal string ("0.0132")

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(
            d["series"], d["current"], d.get("previous"), d.get("compared_with"), d["availability"], d["content"],
            dict(d["answer"]), tuple(dict(c) for c in d.get("changes") or ()), d.get("watch"),
            dict(d["removal"]) if d.get("removal") is not None else None,
            dict(d["followed"]) if d.get("followed") is not None else None, d.get("screenshot_changed"),
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "series": self.series,
            "current": self.current,
            "previous": self.previous,
            "compared_with": self.compared_with,
            "availability": self.availability,
            "content": self.content,
            "answer": dict(self.answer),
            "changes": [dict(c) for c in self.changes],
        }
        optional = {
            "watch": self.watch,
            "removal": dict(self.removal) if self.removal is not None else None,
            "followed": dict(self.followed) if self.followed is not None else None,
            "screenshot_changed": self.screenshot_changed,
        }
        return details | {name: value for name, value in optional.items() if value is not None}

    def summary(self) -> str:
        said = self.availability
        if self.content == "changed":
            said += ", changed: " + "; ".join(one_line(str(c.get("summary", ""))) for c in self.changes[:2])
            more = [str(c.get("kind", "")) for c in self.changes[2:]]
            if more:  # a one-line summary names every kind of change, the first two in words
                said += f"; and {len(more)} more ({', '.join(one_line(kind) for kind in more)})"
        elif self.content == "unchanged":
            said += ", unchanged"
        if self.compared_with:
            said += f" (against {self.compared_with})"
        return f"observed {said}"


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
