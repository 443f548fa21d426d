"""How the series model words its intervals (see ``evidencekit.ledger.series``): the ``Interval`` record,
and ``IntervalWords``, which writes each kind's sentence from the attempts that bound it. Every bound is a
recorded time and an item, "not known" where the ledger does not say; lower bounds are the recorded start
of the capture that opens the interval, upper bounds the recorded end of the one that closes it.

Pure: no storage, no ledger reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from evidencekit.ledger.entries import NOT_KNOWN, ObservationRecorded
from evidencekit.timefmt import beside_utc, parse_time

if TYPE_CHECKING:
    from evidencekit.ledger.series import Attempt


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
class IntervalWords:
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
        online_item, gone_item = item_named(removal.get("last_online")), item_named(removal.get("first"))
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
        gone_answers = sum(1 for a in observed if gone(a))
        failed = len(observed) - gone_answers
        others = f"{_counted(failed, 'other attempt')} (no answer about the page)"
        answers = (
            f"gone at every attempt ({_counted(gone_answers, 'answer')})"
            if not failed
            else f"{_counted(gone_answers, 'gone answer')} and {others}"
        )
        said = f"never seen online: {answers} from {self.start(first, first.item)} to {self.bound(last, last.item)}"
        return Interval("never-online", first.item, first.started_at, last.item, last.time, said)

    def pending(self, seen: ObservationRecorded, last: Attempt, by_item: Mapping[str, Attempt]) -> Interval:
        """Gone answers since the last sighting that do not (yet) confirm a removal."""
        removal = seen.removal or {}
        first_item = item_named(removal.get("first")) or last.item
        first = by_item.get(first_item)
        answers, needed = removal.get("answers"), removal.get("needed")
        counted = (
            f"{answers} of {needed} gone answers"
            if isinstance(answers, int) and isinstance(needed, int)
            else "gone answers"
        )
        online = item_named(removal.get("last_online"))
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


def item_named(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def gone(attempt: Attempt) -> bool:
    return attempt.observation is not None and attempt.observation.answer.get("kind") == "gone"
