"""The series of captures of one URL, read from ledger entries alone: attempts, observations, intervals.

Every capture item belongs to the series ``series_key(url)`` of the URL its ``capture.started`` entry names
(plain captures made before a watch existed join by their URL alone). Its attempt says how the capture
ended (``complete``, ``partial``, ``blocked``, ``failed``, ``abandoned``, or ``in-progress`` while no ending entry
exists), and carries the ``observation.recorded`` entry about it, when one exists.

An attempt's *time* is the time of the entry that ended it (``capture.completed``, ``capture.failed`` or
``capture.abandoned``): the moment the ledger recorded what the capture found (for an abandoned one, when
the next command found its run gone: later than the capture). Its start is kept beside.

An interval's lower bound is the *start* of the capture that opens it (the page was seen while that
capture ran, after its start), its upper bound the end of the capture that closes it: "changed between
<A's start> and <B's end>". A capture's start is recorded as its browser begins, not before: it may follow
the first request by moments, so the words say "start recorded" (the browser's own times are in each
capture's metadata.json, not in the ledger). One sighting is "online during <start> – <end>".

Intervals are built from the observations (a capture without one counts as seen online only when a later
observation online found the page unchanged against it), and never name a point where the ledger only
bounds a span:
``online`` (one sighting: "online during"; several in a row: "seen online at each of N captures from" the
first "to" the last: sightings, not a claim that the page stayed up between them),
``changed`` (between the capture compared with and the first that differs: every change named, most
important first), ``removed`` (between the last
sighting online and the first "gone" answer, confirmed at the attempt that declared removal) and
``reappeared`` (between the last attempt still removed and the one online again; in an excerpt without it,
the attempt the observation names as previous), ``pending-removal`` (the closing line while gone answers
since the last sighting do not yet confirm a removal: "since <first gone answer>: 1 of 3 gone answers,
removal not confirmed") and ``never-online`` (gone at every attempt, never seen online: no removal is
stated, as removal is a claim that the page was online and then went). Where the ledger does not say a
bound (an excerpt without the item, a capture never ended), the words say "not known"; a removal's span
then comes from the observation's own ``removal.span_s``.

Intervals are listed in story order: by start, then end, then kind (``INTERVAL_KINDS`` order).

Pure: reads ``LedgerEntry`` sequences through ``entries.parse``; no storage. The sentences themselves are
written by ``series_words`` (``Interval``, ``duration_words`` and ``change_words`` are re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from evidencekit.ledger.entries import (
    ENDED_CAPTURE,
    NOT_KNOWN,
    CaptureAbandoned,
    CaptureCompleted,
    CaptureFailed,
    CaptureStarted,
    ObservationRecorded,
    WatchAdded,
    parse,
    series_key,
)
from evidencekit.ledger.series_words import Interval as Interval
from evidencekit.ledger.series_words import IntervalWords, gone, item_named
from evidencekit.ledger.series_words import change_words as change_words
from evidencekit.ledger.series_words import duration_words as duration_words
from evidencekit.ledger.timecover import Cover
from evidencekit.models import LedgerEntry

OUTCOMES = ("complete", "partial", "blocked", "failed", "abandoned", "in-progress")
# In story order: intervals starting at the same time are listed in this order.
INTERVAL_KINDS = ("online", "changed", "removed", "reappeared", "pending-removal", "never-online")
_SEEN_ONLINE = frozenset({"online", "reappeared"})
_ITEM_ID = re.compile(r"[a-z]+-\d{4,}")


@dataclass(frozen=True)
class Attempt:
    """One capture of the series' URL. ``ended_at``: the time of the entry that ended it (None while none
    exists); ``http_status`` and ``final_url`` from that entry; ``watch`` from ``capture.started``;
    ``observation`` the first ``observation.recorded`` entry about the item, at ``observation_seq``.
    ``outcome`` is one of ``OUTCOMES``, or "not known" when the ending entry is not in its recorded form.
    ``started_seq``/``ended_seq`` locate its entries (for the independent time covering them)."""

    item: str
    url: str
    started_at: str
    ended_at: str | None
    outcome: str
    http_status: int | None
    final_url: str | None
    watch: str | None
    observation: ObservationRecorded | None
    observation_seq: int | None
    started_seq: int | None = None
    ended_seq: int | None = None
    profile: str | None = None  # the browser profile it was made with (issue 16), from capture.started

    @property
    def time(self) -> str | None:
        """The attempt's time: when the ledger recorded how it ended."""
        return self.ended_at

    @property
    def availability(self) -> str:
        """The observation's availability, or "not known" (no observation about this item)."""
        return self.observation.availability if self.observation is not None else NOT_KNOWN

    @property
    def content(self) -> str:
        """The observation's content verdict, or "not known"."""
        return self.observation.content if self.observation is not None else NOT_KNOWN

    @property
    def headline(self) -> str | None:
        """The most important change the observation names (None: no change, or no observation)."""
        if self.observation is None or self.observation.content != "changed" or not self.observation.changes:
            return None
        return str(self.observation.changes[0].get("summary", "")) or None

    def to_dict(self) -> dict[str, Any]:
        """The attempt's stable JSON form (see ``Series.to_dict``)."""
        seen = self.observation
        return {
            "item": self.item,
            "url": self.url,
            "time": self.time,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "outcome": self.outcome,
            "http_status": self.http_status,
            "final_url": self.final_url,
            "watch": self.watch,
            "availability": self.availability,
            "content": self.content,
            "headline": self.headline,
            "changes": [dict(c) for c in seen.changes] if seen is not None else [],
            "compared_with": seen.compared_with if seen is not None else None,
            "previous": seen.previous if seen is not None else None,
            "answer": dict(seen.answer) if seen is not None else None,
            "removal": dict(seen.removal) if seen is not None and seen.removal is not None else None,
            "observation_seq": self.observation_seq,
        }


@dataclass(frozen=True)
class Series:
    """Every capture of one URL (``key``: the URL normalised) in ledger order, the watches on it, and the
    intervals its observations bound."""

    key: str
    attempts: tuple[Attempt, ...]
    watches: tuple[str, ...]
    intervals: tuple[Interval, ...]

    def item_ids(self) -> tuple[str, ...]:
        return tuple(a.item for a in self.attempts)

    def attempt(self, item: str) -> Attempt | None:
        return next((a for a in self.attempts if a.item == item), None)

    def last_successful(self) -> Attempt | None:
        """The last attempt that saw the page online: its observation says online or reappeared; an attempt
        without an observation (a plain capture) counts when it completed (complete or partial) with an
        HTTP 2xx status."""
        return next((a for a in reversed(self.attempts) if _successful(a)), None)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON: ``{"series", "watches", "attempts": [Attempt.to_dict()], "intervals":
        [Interval.to_dict()]}``."""
        return {
            "series": self.key,
            "watches": list(self.watches),
            "attempts": [a.to_dict() for a in self.attempts],
            "intervals": [i.to_dict() for i in self.intervals],
        }


def _successful(attempt: Attempt) -> bool:
    if attempt.observation is not None:
        return attempt.observation.availability in _SEEN_ONLINE
    status = attempt.http_status
    return attempt.outcome in ("complete", "partial") and status is not None and 200 <= status < 300


# -- reading the ledger -----------------------------------------------------------------------------


@dataclass
class _Draft:
    """An attempt while the entries are read."""

    item: str
    url: str
    started: LedgerEntry
    watch: str | None
    ended: LedgerEntry | None = None
    outcome: str = "in-progress"
    http_status: int | None = None
    final_url: str | None = None
    observation: ObservationRecorded | None = None
    observation_seq: int | None = None

    def attempt(self) -> Attempt:
        return Attempt(
            self.item, self.url, self.started.time, self.ended.time if self.ended else None, self.outcome,
            self.http_status, self.final_url, self.watch, self.observation, self.observation_seq,
            self.started.seq, self.ended.seq if self.ended else None, profile_of(self.started),
        )  # fmt: skip


def profile_of(started: LedgerEntry) -> str | None:
    """The name of the browser profile a ``capture.started`` entry says its capture was made with."""
    options = started.details.get("options")
    profile = options.get("profile") if isinstance(options, Mapping) else None
    name = profile.get("name") if isinstance(profile, Mapping) else None
    return name if isinstance(name, str) else None


@dataclass
class _Reading:
    drafts: dict[str, _Draft] = field(default_factory=dict)  # item -> its attempt so far, in ledger order
    by_started_seq: dict[int, _Draft] = field(default_factory=dict)
    watches: dict[str, list[str]] = field(default_factory=dict)  # series key -> watch ids

    def read(self, entry: LedgerEntry) -> None:
        parsed = parse(entry)
        if isinstance(parsed, CaptureStarted) and entry.subject is not None:
            draft = _Draft(entry.subject, parsed.url, entry, parsed.watch)
            self.drafts.setdefault(entry.subject, draft)
            self.by_started_seq[entry.seq] = draft
        elif isinstance(parsed, WatchAdded):
            self.watches.setdefault(parsed.series, []).append(parsed.watch)  # the series it names
        elif entry.subject is None or entry.subject not in self.drafts:
            return
        elif isinstance(parsed, CaptureCompleted | CaptureFailed):
            self._end(entry, parsed.status if isinstance(parsed, CaptureCompleted) else "failed")
            draft = self.drafts[entry.subject]
            draft.http_status, draft.final_url = parsed.http_status, parsed.final_url
        elif isinstance(parsed, CaptureAbandoned):
            self._end(entry, "abandoned")
        elif entry.action in ENDED_CAPTURE:  # an ending entry not in its form: it ended, how is not known
            self._end(entry, NOT_KNOWN)
        elif isinstance(parsed, ObservationRecorded):
            draft = self.drafts[entry.subject]
            if draft.observation is None:  # the first one states it; a later one cannot rewrite it
                draft.observation, draft.observation_seq = parsed, entry.seq

    def _end(self, entry: LedgerEntry, outcome: str) -> None:
        draft = self.drafts[str(entry.subject)]
        if draft.ended is None:
            draft.ended, draft.outcome = entry, outcome


def build_series(entries: Iterable[LedgerEntry], *, zone: tzinfo | None = None) -> dict[str, Series]:
    """Every captured URL's series, by series key, in the order each series was first captured. ``zone``:
    the intervals' words give each time in it beside UTC (``timefmt.beside_utc``); UTC alone without."""
    reading = _Reading()
    for entry in entries:
        reading.read(entry)
    grouped: dict[str, list[Attempt]] = {}
    for draft in reading.drafts.values():
        grouped.setdefault(series_key(draft.url), []).append(draft.attempt())
    return {
        key: Series(
            key, tuple(attempts), tuple(reading.watches.get(key, ())), _intervals(attempts, IntervalWords(zone))
        )
        for key, attempts in grouped.items()
    }


def series_of(entries: Iterable[LedgerEntry], url_or_item: str, *, zone: tzinfo | None = None) -> Series | None:
    """The series of an item (``capture-0003``) or of a URL (normalised with ``series_key``); None when the
    case has no capture of it. ``zone`` as for ``build_series``."""
    every = build_series(entries, zone=zone)
    wanted = url_or_item.strip()
    if _ITEM_ID.fullmatch(wanted):
        return next((s for s in every.values() if wanted in s.item_ids()), None)
    return every.get(series_key(wanted))


# -- intervals ------------------------------------------------------------------------------------


def _intervals(attempts: list[Attempt], words: IntervalWords) -> tuple[Interval, ...]:
    """The intervals, each placed at the attempt that closes it (a run online: its last sighting).

    A run online is the sightings (observations online or reappeared) with no other observation between
    them: an attempt that was unavailable or gone ends the run, as the page was not seen then; an attempt
    without an observation (a plain capture, an abandoned one) neither adds to nor ends it, unless a later
    observation online found the page unchanged against it: then it showed that same page, and is a
    sighting too (a plain capture made before the watch, vouched for by the watch's first pass). A removal is
    stated once, at the attempt that declared it; further removed attempts confirm it and the last of
    them is where "reappeared" starts."""
    by_item = {a.item: a for a in attempts}
    placed: list[tuple[int, Interval]] = []
    run: list[Attempt] = []
    last_removed: Attempt | None = None
    vouched = {
        a.observation.compared_with
        for a in attempts
        if a.observation is not None and a.observation.availability in _SEEN_ONLINE
        and a.observation.content == "unchanged"
    }  # fmt: skip
    # A plain capture that a later observation names as the series' last sighting online (its removal
    # count's ``last_online``: the observer judged its answer ok) is a sighting too; otherwise the same
    # timeline would say "last seen online: it" and "never seen online" (a recapture's first gone answer).
    vouched |= {
        named
        for a in attempts
        if a.observation is not None and isinstance(a.observation.removal, Mapping)
        and (named := item_named(a.observation.removal.get("last_online"))) is not None
    }  # fmt: skip
    sighted = False
    before_sighting: list[Attempt] = []  # observed attempts before the first sighting
    for at, attempt in enumerate(attempts):
        seen = attempt.observation
        if seen is None:
            if attempt.item in vouched:
                run.append(attempt)
                sighted = True
            continue  # nothing else observed: no break
        if seen.availability in _SEEN_ONLINE and not sighted:
            sighted = True
            if any(gone(a) for a in before_sighting):
                placed.append((at - 1, words.never_online(before_sighting)))
        elif not sighted:
            before_sighting.append(attempt)
        if run and (seen.availability not in _SEEN_ONLINE or seen.availability == "reappeared"):
            placed.append((at - 1, words.online(run)))
            run = []
        if seen.availability in _SEEN_ONLINE:
            run.append(attempt)
        if seen.content == "changed":
            before = by_item.get(seen.compared_with) if seen.compared_with else None
            placed.append((at, words.changed(seen, attempt, before)))
        if seen.availability == "removed" and last_removed is None and (sighted or not _never_online(seen)):
            placed.append((at, words.removed(seen, attempt, by_item)))  # never seen online: nothing removed
        if seen.availability == "reappeared":
            placed.append((at, words.reappeared(seen, attempt, last_removed)))
        if seen.availability == "removed":
            last_removed = attempt
        elif seen.availability in _SEEN_ONLINE:
            last_removed = None  # seen again: a later removal is a new one
    if run:
        placed.append((len(attempts), words.online(run)))
    if not sighted and any(gone(a) for a in before_sighting):
        placed.append((len(attempts), words.never_online(before_sighting)))
    pending = _pending_removal(attempts, by_item, words)
    if pending is not None:
        placed.append((len(attempts), pending))
    return tuple(sorted((interval for _, interval in placed), key=_story_order))


def _story_order(interval: Interval) -> tuple[str, str, int]:
    """By start, then end, then kind: the story as it happened (recorded times sort as text; a bound not
    known sorts by the other one)."""
    start = interval.start_time or interval.end_time or ""
    return start, interval.end_time or "\uffff", INTERVAL_KINDS.index(interval.kind)  # an end not known: later


def _never_online(seen: ObservationRecorded) -> bool:
    """The observation's removal count says nothing was seen online before it (``last_online`` null)."""
    return seen.removal is not None and not seen.removal.get("last_online")


def _pending_removal(attempts: list[Attempt], by_item: Mapping[str, Attempt], words: IntervalWords) -> Interval | None:
    """A removal still being counted at the series' last observation: gone answers after a sighting, not
    yet enough (or not yet spanning enough) to declare it."""
    last = next((a for a in reversed(attempts) if a.observation is not None), None)
    if last is None or last.observation is None:
        return None
    seen = last.observation
    if seen.availability != "unavailable" or seen.removal is None or _never_online(seen):
        return None
    return words.pending(seen, last, by_item)


# -- independent time -------------------------------------------------------------------------------


def attempt_cover(attempt: Attempt, cover: Callable[[int], Cover | None]) -> Cover | None:
    """The earliest independent time covering the entry that ended ``attempt`` (its time's entry), from
    ``cover = timecover.covers(entries, counted)``; None when none does or the attempt never ended."""
    return cover(attempt.ended_seq) if attempt.ended_seq is not None else None


def independent_time(
    series: Series, interval: Interval, cover: Callable[[int], Cover | None], *, zone: tzinfo | None = None
) -> list[str]:
    """What independent time (RFC 3161 tokens over checkpoints) says of an interval's bounds: for each
    bound whose ending entry a counted token covers, "<item> (recorded <time>): independently
    timestamped: existed no later than <genTime> (<TSA>), N authorities". Empty when no token covers
    either bound. The ledger's own times stay the interval's bounds; this is stated beside them."""
    said = []
    for item in dict.fromkeys(i for i in (interval.start_item, interval.end_item) if i is not None):
        attempt = series.attempt(item)
        found = attempt_cover(attempt, cover) if attempt is not None else None
        if attempt is not None and found is not None:
            said.append(f"{item} (recorded {IntervalWords(zone).when(attempt.time)}): {found.statement()}")
    return said
