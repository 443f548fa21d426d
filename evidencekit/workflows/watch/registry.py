"""The case's watches, as the ledger records them: ``watch.added`` with the settings, ``watch.changed`` for
each pause, resume, removal or end. A watch's state is that of its newest ``watch.changed`` (``active`` when
none); its history stays in the ledger whatever it becomes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from evidencekit.analysis.pagetext import IgnoreError, check_selectors
from evidencekit.errors import UsageError
from evidencekit.ledger.backend import LedgerTransaction
from evidencekit.ledger.entries import WatchAdded, WatchChanged, series_key
from evidencekit.models import LedgerEntry
from evidencekit.timefmt import format_time, parse_time
from evidencekit.workflows.opencase import OpenCase, Session, open_case, publish_checkpoints, seal
from evidencekit.workflows.watch import notify
from evidencekit.workflows.watch.follow import check_pattern, watchable_url

DEFAULT_EVERY_S = 6 * 3600
DEFAULT_JITTER_S = 10 * 60
DEFAULT_REMOVAL_ATTEMPTS = 3
DEFAULT_REMOVAL_SPAN_S = 2 * 3600
DEFAULT_MAX_FOLLOW = 50
WATCH_PREFIX = "watch-"


@dataclass(frozen=True)
class WatchSettings:
    """What ``watch add`` sets for each URL it puts under watch (times in whole seconds)."""

    every_s: int = DEFAULT_EVERY_S
    jitter_s: int = DEFAULT_JITTER_S
    ignore: tuple[str, ...] = ()
    removal_attempts: int = DEFAULT_REMOVAL_ATTEMPTS
    removal_span_s: int = DEFAULT_REMOVAL_SPAN_S
    note: str | None = None
    follow: str | None = None
    watch_followed: bool = False
    max_follow: int = DEFAULT_MAX_FOLLOW
    notify: str | None = None  # the command: never recorded (see ``notify``)
    until: str | None = None  # as recorded: a UTC time
    profile: str | None = None  # a browser profile's name: each attempt is made with it, checked first

    def check(self, now: datetime) -> None:
        if self.every_s < 1:
            raise UsageError("--every must be at least 1s")
        if self.removal_attempts < 1:
            raise UsageError("--removal-attempts must be at least 1")
        if self.max_follow < 1:
            raise UsageError("--max-follow must be at least 1")
        if self.watch_followed and self.follow is None:
            raise UsageError("--watch-followed needs --follow PATTERN")
        if any(not selector.strip() for selector in self.ignore):
            raise UsageError("--ignore needs a CSS selector")
        try:
            check_selectors(self.ignore)
        except IgnoreError as exc:
            raise UsageError(str(exc)) from None
        if self.until is not None and parse_time(self.until) <= now:
            raise UsageError(f"--until {self.until} is already past")
        if self.notify is not None:
            notify.split_command(self.notify)
        self.follow_details()  # an unusable pattern is refused before anything is recorded

    def follow_details(self) -> dict[str, Any] | None:
        if self.follow is None:
            return None
        kind = check_pattern(self.follow)
        return {
            "pattern": self.follow,
            "kind": kind,
            "watch_followed": self.watch_followed,
            "max_follow": self.max_follow,
        }


def parse_until(text: str) -> str:
    """``--until``: a date (the watch ends at the end of that day, UTC) or a date and time (UTC unless it
    names its offset); the recorded UTC time."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            day = date.fromisoformat(cleaned)
            moment = datetime.combine(day, time.max, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise UsageError(f"--until {text!r} is not a date; write e.g. 2027-03-31 or 2027-03-31T18:00Z") from None
    return format_time(moment)


@dataclass(frozen=True)
class Watch:
    """A watch as the ledger states it now."""

    settings: WatchAdded
    added_at: str
    state: str = "active"
    changed_at: str | None = None
    reason: str | None = None
    history: tuple[WatchChanged, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.settings.watch

    @property
    def url(self) -> str:
        return self.settings.url

    def ended_by(self, now: datetime) -> bool:
        """Whether its authorised period (``until``) is over at ``now``."""
        return self.settings.until is not None and parse_time(self.settings.until) <= now

    def to_dict(self) -> dict[str, Any]:
        return {
            "watch": self.id,
            "state": self.state,
            "added_at": self.added_at,
            "changed_at": self.changed_at,
            **self.settings.to_details(),
        }


def read_watches(entries: Iterable[LedgerEntry]) -> dict[str, Watch]:
    """Every watch of the case, by id, in the order they were added."""
    watches: dict[str, Watch] = {}
    for entry in entries:
        if entry.action == WatchAdded.ACTION:
            added = WatchAdded.from_entry(entry)
            watches[added.watch] = Watch(added, entry.time)
        elif entry.action == WatchChanged.ACTION:
            changed = WatchChanged.from_entry(entry)
            known = watches.get(changed.watch)
            if known is not None:
                watches[changed.watch] = Watch(
                    known.settings, known.added_at, changed.state, entry.time, changed.reason, (*known.history, changed)
                )
    return watches


def watch_list(session: Session) -> list[Watch]:
    with open_case(session, readonly=True) as case:
        return list(read_watches(case.ledger.entries_with_action(WatchAdded.ACTION, WatchChanged.ACTION)).values())


def next_watch_id(case: OpenCase, txn: LedgerTransaction) -> str:
    """The next ``watch-NNNN``: counted among the watch.added entries, inside the append transaction (so two
    commands adding watches at once never give the same id)."""
    # The transaction's own appends may or may not be visible to the ledger's reads yet: counted once.
    held = {e.seq for e in case.ledger.entries_with_action(WatchAdded.ACTION)}
    held |= {e.seq for e in txn.appended if e.action == WatchAdded.ACTION}
    return f"{WATCH_PREFIX}{len(held) + 1:04d}"


def append_watch(
    case: OpenCase,
    txn: LedgerTransaction,
    url: str,
    settings: WatchSettings,
    *,
    found_on: Mapping[str, Any] | None = None,
) -> WatchAdded:
    """Append one ``watch.added`` (within ``txn``); its notify command, if any, goes to the watch room."""
    watch_id = next_watch_id(case, txn)
    added = WatchAdded(
        watch_id,
        url,
        series_key(url),
        settings.every_s,
        settings.jitter_s,
        settings.ignore,
        settings.removal_attempts,
        settings.removal_span_s,
        settings.note,
        settings.follow_details(),
        settings.notify is not None,
        settings.until,
        dict(found_on) if found_on is not None else None,
        settings.profile,
    )
    txn.append(added.draft(case.actor))
    if settings.notify is not None:
        notify.keep_command(case.workspace, watch_id, settings.notify)
    return added


def add_watches(session: Session, urls: Sequence[str], settings: WatchSettings) -> list[WatchAdded]:
    """Put ``urls`` under watch: one ``watch.added`` each, sealed together. A URL whose series another
    active or paused watch already follows is refused (one watch per URL)."""
    if not urls:
        raise UsageError("name at least one URL to watch")
    checked = [watchable_url(url) for url in urls]
    settings.check(session.clock())
    keys = [series_key(url) for url in checked]
    if len(set(keys)) != len(keys):
        raise UsageError("a URL is named twice; one watch per URL")
    with open_case(session) as case:
        with case.ledger.transaction() as txn:
            # Read inside the transaction (it holds the ledger's write lock): two `watch add` of one URL at
            # once must not both find it unwatched.
            watched = watched_series(case)
            for url, key in zip(checked, keys, strict=True):
                if key in watched:
                    raise UsageError(f"{url} is already watched by {watched[key]}; nothing was recorded")
            added = [append_watch(case, txn, url, settings) for url in checked]
            seal(case, txn)
        publish_checkpoints(case, txn)
    return added


def watched_series(case: OpenCase) -> dict[str, str]:
    """The series an active or paused watch follows, with its id (the ledger as it stands)."""
    current = read_watches(case.ledger.entries_with_action(WatchAdded.ACTION, WatchChanged.ACTION))
    return {w.settings.series: w.id for w in current.values() if w.state in ("active", "paused")}


def current_watch(case: OpenCase, watch_id: str) -> Watch | None:
    """The watch ``watch_id`` as the ledger states it now (read inside a transaction to act on it)."""
    return read_watches(case.ledger.entries_with_action(WatchAdded.ACTION, WatchChanged.ACTION)).get(watch_id)


_NEXT_STATE = {"pause": "paused", "resume": "active", "remove": "removed"}


def change_watch(session: Session, watch_id: str, verb: str) -> WatchChanged:
    """Pause, resume or remove a watch (``verb``); a removed or ended watch stays so."""
    state = _NEXT_STATE[verb]
    with open_case(session) as case:
        with case.ledger.transaction() as txn:
            watch = current_watch(case, watch_id)  # inside the transaction: a pass may be ending it now
            if watch is None:
                raise UsageError(f"no watch {watch_id!r} in this case; `evidencekit watch list` lists them")
            if watch.state in ("removed", "ended"):
                raise UsageError(f"{watch_id} is {watch.state}; it cannot be {state} again (its history stays)")
            if watch.state == state:
                raise UsageError(f"{watch_id} is already {state}")
            changed = WatchChanged(watch_id, state)
            txn.append(changed.draft(case.actor))
            seal(case, txn)
        publish_checkpoints(case, txn)
    if state == "removed":
        notify.forget_command(case.workspace, watch_id)
    return changed


def end_draft_reason(watch: Watch) -> str:
    return f"its authorised period ended at {watch.settings.until}"


def seconds_between(start: str, end: str) -> int:
    return int((parse_time(end) - parse_time(start)) / timedelta(seconds=1))
