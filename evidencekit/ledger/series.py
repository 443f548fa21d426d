"""The series of captures of one URL, read from ledger entries alone: attempts, observations, intervals.

Every capture item belongs to the series ``series_key(url)`` of the URL its ``capture.started`` entry names
(plain captures made before a watch existed join by their URL alone). Its attempt says how the capture
ended (``complete``, ``partial``, ``failed``, ``abandoned``, or ``in-progress`` while no ending entry
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

Pure: reads ``LedgerEntry`` sequences through ``entries.parse``; no storage.
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
from evidencekit.ledger.timecover import Cover
from evidencekit.models import LedgerEntry
from evidencekit.timefmt import beside_utc, parse_time

OUTCOMES = ("complete", "partial", "failed", "abandoned", "in-progress")
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
class Interval:
    """A span the ledger bounds: from ``start_item`` (``start_time``: when its start was recorded) to
    ``end_item`` (``end_time``: when its end was recorded); a bound the ledger does not give is None.
    ``words``: the sentence documents give."""

    kind: str
    start_item: str | None
    start_time: str | None
    end_item: str | None
    end_time: str | None
    words: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start_item": self.start_item,
            "start_time": self.start_time,
            "end_item": self.end_item,
            "end_time": self.end_time,
            "words": self.words,
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
            self.started.seq, self.ended.seq if self.ended else None,
        )  # fmt: skip


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
        key: Series(key, tuple(attempts), tuple(reading.watches.get(key, ())), _intervals(attempts, _Words(zone)))
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


def duration_words(seconds: float) -> str:
    """``2 hours 5 minutes``: a span in whole units, largest first, zero units left out; seconds below
    the minute are kept (a removal span of 0 is allowed), fractions of a second dropped."""
    left = int(seconds)
    parts = []
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


@dataclass(frozen=True)
class _Words:
    """How the intervals write a bound: the recorded UTC time (the zone's time beside it, when one is
    given) and the item, each "not known" where the ledger does not say."""

    zone: tzinfo | None

    def when(self, time: str | None) -> str:
        return beside_utc(time, self.zone) if time is not None else NOT_KNOWN

    def at(self, time: str | None, item: str | None) -> str:
        if item is None and time is None:
            return NOT_KNOWN  # no bound at all: once, not "not known (not known)"
        return f"{self.when(time)} ({item or NOT_KNOWN})"

    def bound(self, attempt: Attempt | None, item: str | None) -> str:
        """An upper bound: when the ledger recorded how the attempt ended (the page was seen before)."""
        return self.at(attempt.time if attempt else None, item)

    def start(self, attempt: Attempt | None, item: str | None) -> str:
        """A lower bound: when the ledger recorded the attempt's start. The start is recorded as the browser
        begins, not before it (it may follow the first request by moments): said as recorded."""
        if attempt is None:
            return self.at(None, item)
        return f"{self.when(attempt.started_at)} ({item or NOT_KNOWN}, start recorded)"

    def online(self, run: list[Attempt]) -> Interval:
        first, last = run[0], run[-1]
        if len(run) == 1:  # seen while the capture ran: a span, not a point
            said = f"online during {self.when(first.started_at)} – {self.when(first.time)} ({first.item})"
        else:
            said = (  # sightings, not a claim that it stayed up in between
                f"seen online at each of {len(run)} captures from {self.start(first, first.item)}"
                f" to {self.bound(last, last.item)}"
            )
        return Interval("online", first.item, first.started_at, last.item, last.time, said)

    def changed(self, seen: ObservationRecorded, current: Attempt, before: Attempt | None) -> Interval:
        what = change_words(seen.changes)
        said = f"changed between {self.start(before, seen.compared_with)} and {self.bound(current, current.item)}"
        said += f": {what}" if what else ""
        start_time = before.started_at if before else None
        return Interval("changed", seen.compared_with, start_time, current.item, current.time, said)

    def removed(self, seen: ObservationRecorded, current: Attempt, by_item: Mapping[str, Attempt]) -> Interval:
        removal = seen.removal or {}
        online_item, gone_item = _item_named(removal.get("last_online")), _item_named(removal.get("first"))
        online, gone = by_item.get(online_item or ""), by_item.get(gone_item or "")
        answers = removal.get("answers")
        counted = f"{answers} answer{'' if answers == 1 else 's'}" if isinstance(answers, int) else "answers"
        recorded_span = removal.get("span_s")
        if gone is not None and gone.time is not None and current.time is not None:
            over = duration_words((parse_time(current.time) - parse_time(gone.time)).total_seconds())
        elif isinstance(recorded_span, int) and not isinstance(recorded_span, bool):
            over = duration_words(recorded_span)  # the observation's own record of the span (an excerpt)
        else:
            over = NOT_KNOWN
        said = (
            f"removed between {self.start(online, online_item)} and {self.bound(gone, gone_item)},"
            f" confirmed at {self.bound(current, current.item)} after {counted} over {over}"
        )
        start_time, end_time = (online.started_at if online else None), (gone.time if gone else None)
        return Interval("removed", online_item, start_time, gone_item, end_time, said)

    def never_online(self, observed: list[Attempt]) -> Interval:
        """Gone (or failing) at every observed attempt, never seen online: no removal to state."""
        first, last = observed[0], observed[-1]
        gone = sum(1 for a in observed if _gone(a))
        failed = len(observed) - gone
        answers = (
            f"gone at every attempt ({_counted(gone, 'answer')})"
            if not failed
            else f"{_counted(gone, 'gone answer')} and {_counted(failed, 'attempt')} that said nothing of the page"
        )
        said = f"never seen online: {answers} from {self.start(first, first.item)} to {self.bound(last, last.item)}"
        return Interval("never-online", first.item, first.started_at, last.item, last.time, said)

    def pending(self, seen: ObservationRecorded, last: Attempt, by_item: Mapping[str, Attempt]) -> Interval:
        """Gone answers since the last sighting that do not (yet) confirm a removal."""
        removal = seen.removal or {}
        first_item = _item_named(removal.get("first")) or last.item
        first = by_item.get(first_item)
        answers, needed = removal.get("answers"), removal.get("needed")
        counted = (
            f"{answers} of {needed} gone answers"
            if isinstance(answers, int) and isinstance(needed, int)
            else "gone answers"
        )
        online = _item_named(removal.get("last_online"))
        said = f"since {self.start(first, first_item)}: {counted}, removal not confirmed" + (
            f" (last seen online: {online})" if online else ""
        )
        start_time = first.started_at if first else None
        return Interval("pending-removal", first_item, start_time, last.item, last.time, said)

    def reappeared(self, seen: ObservationRecorded, current: Attempt, last_removed: Attempt | None) -> Interval:
        # The lower bound: the last attempt still removed; without it (an excerpt), the attempt the
        # observation names as previous, its time not known.
        start_item = last_removed.item if last_removed else seen.previous
        said = f"reappeared between {self.start(last_removed, start_item)} and {self.bound(current, current.item)}"
        return Interval(
            "reappeared",
            start_item,
            last_removed.started_at if last_removed else None,
            current.item,
            current.time,
            said,
        )


def _counted(count: int, one: str) -> str:
    return f"{count} {one}{'' if count == 1 else 's'}"


def change_words(changes: Iterable[Mapping[str, Any]]) -> str:
    """Every change an observation names, most important first, in one line: "phone X replaced by Y; title
    changed; 14 words added, 3 removed". All of them: the first alone would understate the evidence."""
    said = (" ".join(str(change.get("summary") or "").split()) for change in changes)
    return "; ".join(summary for summary in said if summary)


def _item_named(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _intervals(attempts: list[Attempt], words: _Words) -> tuple[Interval, ...]:
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
            if any(_gone(a) for a in before_sighting):
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
    if not sighted and any(_gone(a) for a in before_sighting):
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


def _gone(attempt: Attempt) -> bool:
    return attempt.observation is not None and attempt.observation.answer.get("kind") == "gone"


def _never_online(seen: ObservationRecorded) -> bool:
    """The observation's removal count says nothing was seen online before it (``last_online`` null)."""
    return seen.removal is not None and not seen.removal.get("last_online")


def _pending_removal(attempts: list[Attempt], by_item: Mapping[str, Attempt], words: _Words) -> Interval | None:
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
            said.append(f"{item} (recorded {_Words(zone).when(attempt.time)}): {found.statement()}")
    return said
