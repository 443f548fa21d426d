"""``watch run``: one pass over the watches that are due (``--loop``: pass after pass as they fall due).

A pass, under the case's watch lock (``lock``):
1. opens a recording run (the next recording command records ``capture.abandoned`` for the captures of a
   killed run), then reads the ledger: the watches, every series, what each watch last did;
2. records the observation of any watched capture that completed without one (a run killed between the two:
   nothing lost), never a second one for an item (nothing doubled);
3. records ``watch.changed`` "ended" for each active watch whose ``until`` has passed, instead of capturing;
4. captures the due watches at ``concurrency``, each ``capture.started`` naming its series, previous item
   and watch; each result recorded is observed off the writer's thread (``observer``) while the others are
   captured;
5. captures the new links its listings showed (``--follow``), each as its own item found on the listing's
   capture, each with a watch of its own first with ``--watch-followed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from evidencekit.capture import INTERRUPTED, CaptureOptions, was_interrupted
from evidencekit.capture.logincheck import ProfileLoggedOut
from evidencekit.errors import EvidenceKitError
from evidencekit.ledger.entries import CaptureStarted, ObservationRecorded, WatchAdded, WatchChanged, parse, series_key
from evidencekit.ledger.series import Series, build_series
from evidencekit.models import LedgerEntry
from evidencekit.timefmt import parse_time
from evidencekit.workflows.capturing import CaptureOutcome, Progress, Recording
from evidencekit.workflows.opencase import OpenCase, Session, open_case, publish_checkpoints, seal
from evidencekit.workflows.watch import notify
from evidencekit.workflows.watch.observe import Plan, plan_attempt
from evidencekit.workflows.watch.observer import Followed, Observer, Seen
from evidencekit.workflows.watch.registry import (
    Watch,
    WatchSettings,
    append_watch,
    current_watch,
    end_draft_reason,
    read_watches,
    watched_series,
)
from evidencekit.workflows.watch.schedule import due_at, is_due
from evidencekit.workflows.watch.watchprofiles import by_profile, with_profile
from evidencekit.workspace import Workspace

ENDINGS = ("capture.completed", "capture.failed", "capture.abandoned")


@dataclass
class PassReport:
    """What a pass did: the watches it ended, the observations it caught up, every capture it made."""

    ended: list[str] = field(default_factory=list)
    caught_up: list[str] = field(default_factory=list)
    captured: list[Seen] = field(default_factory=list)
    added_watches: list[str] = field(default_factory=list)
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    observation_s: list[float] = field(default_factory=list)  # the observer's time for each observation

    @property
    def idle(self) -> bool:
        return not (self.ended or self.caught_up or self.captured)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ended": self.ended,
            "caught_up": self.caught_up,
            "captured": [s.to_dict() for s in self.captured],
            "added_watches": self.added_watches,
            "interrupted": self.interrupted,
        }


@dataclass(frozen=True)
class CaseState:
    """What the ledger says now, for planning a pass."""

    entries: tuple[LedgerEntry, ...]
    watches: dict[str, Watch]
    series: dict[str, Series]
    completed: dict[str, LedgerEntry]
    started: dict[str, CaptureStarted]
    ended: dict[str, LedgerEntry] = field(default_factory=dict)  # completed, failed or abandoned

    @classmethod
    def read(cls, session: Session) -> CaseState:
        with open_case(session, readonly=True) as case:
            return cls.from_entries(tuple(case.ledger.entries()))

    @classmethod
    def from_entries(cls, entries: tuple[LedgerEntry, ...]) -> CaseState:
        started = {}
        completed = {}
        ended = {}
        for entry in entries:
            if entry.action in ENDINGS and entry.subject:
                ended[entry.subject] = entry
            if entry.action == CaptureStarted.ACTION and entry.subject:
                parsed = parse(entry)
                if isinstance(parsed, CaptureStarted):
                    started[entry.subject] = parsed
            elif entry.action == "capture.completed" and entry.subject:
                completed[entry.subject] = entry
        return cls(entries, read_watches(entries), build_series(entries), completed, started, ended)

    def attempts_of(self, watch: Watch) -> list[str]:
        """The items this watch captured, in order."""
        return [item for item, started in self.started.items() if started.watch == watch.id]

    def cut_short(self, item: str) -> bool:
        """Whether the attempt ``item`` was abandoned (its run killed) or interrupted (Ctrl-C, SIGTERM): it
        says nothing of the page, and must not push the watch's next attempt a full interval away."""
        ended = self.ended.get(item)
        if ended is None or ended.action == "capture.abandoned":
            return ended is not None
        reasons = ended.details.get("reasons")
        return ended.details.get("error") == INTERRUPTED or (
            isinstance(reasons, list) and any(str(r).startswith(f"{INTERRUPTED}:") for r in reasons)
        )

    def due(self, watch: Watch) -> datetime | None:
        """When the watch is next due (None: never attempted, due at once), counted from its last attempt
        that was not cut short (``cut_short``)."""
        attempts = [item for item in self.attempts_of(watch) if not self.cut_short(item)]
        if not attempts:
            return None
        series = self.series.get(watch.settings.series)
        attempt = series.attempt(attempts[-1]) if series is not None else None
        last = parse_time(attempt.started_at) if attempt is not None else None
        return due_at(watch.id, watch.settings.every_s, watch.settings.jitter_s, last, len(attempts))

    def plan(self, watch: Watch, *, before_item: str | None = None) -> Plan:
        s = watch.settings
        return plan_attempt(
            s.series,
            self.series.get(s.series),
            self.completed,
            before_item=before_item,
            watch=s.watch,
            needed=s.removal_attempts,
            span_s=s.removal_span_s,
            ignore=s.ignore,
            follow=s.follow,
            notify=s.notify,
            profile=s.profile,
        )

    def unobserved(self) -> list[tuple[str, LedgerEntry, CaptureStarted]]:
        """The attempts that ended (completed or failed) without an observation, in ledger order: those of
        a watch or a recapture, and any capture of a watched URL (a plain ``capture`` too: it is judged
        and compared like the watch's own, so that the next attempt counts it)."""
        observed = {e.subject for e in self.entries if e.action == ObservationRecorded.ACTION}
        watched = {w.settings.series for w in self.watches.values()}
        found = []
        for item, started in self.started.items():
            ended = self.ended.get(item)
            if ended is None or ended.action == "capture.abandoned" or item in observed:
                continue
            if started.watch or started.recapture_of or series_key(started.url) in watched:
                found.append((item, ended, started))
        return found

    def captured_series(self) -> set[str]:
        """The series with a completed capture (complete or partial): a followed link of one is not new."""
        return {series_key(s.url) for item, s in self.started.items() if item in self.completed}

    def tried_series(self) -> set[str]:
        """The series attempted without a completed capture (failed, abandoned): a followed link of one is
        tried again."""
        return {series_key(s.url) for s in self.started.values()} - self.captured_series()


def due_watches(state: CaseState, now: datetime, *, every_active: bool) -> tuple[list[Watch], list[Watch]]:
    """(watches to end, watches to capture now): active ones past their ``until``, and the active ones due
    (``every_active``: all active ones)."""
    active = [w for w in state.watches.values() if w.state == "active"]
    ending = [w for w in active if w.ended_by(now)]
    due = [w for w in active if not w.ended_by(now) and (every_active or is_due(state.due(w), now))]
    return ending, due


def next_due(session: Session, now: datetime) -> datetime | None:
    """When the next active watch falls due (``now`` when one already is); None without active watches."""
    state = CaseState.read(session)
    times = []
    for watch in state.watches.values():
        if watch.state != "active":
            continue
        if watch.ended_by(now):
            return now
        due = state.due(watch)
        times.append(now if due is None else due)
        if watch.settings.until is not None:
            times.append(parse_time(watch.settings.until))
    return min(times) if times else None


def run_pass(
    session: Session,
    options: CaptureOptions,
    *,
    every_active: bool = False,
    concurrency: int = 2,
    progress: Progress | None = None,
) -> PassReport:
    """One pass (see the module text). The caller holds the watch lock."""
    report = PassReport()
    now = session.clock()
    before = CaseState.read(session)
    ending, due = due_watches(before, now, every_active=every_active)
    if not (ending or due or before.unobserved()):
        return report
    observer: Observer | None = None
    try:
        with Recording(session, options, concurrency=concurrency, progress=progress) as recording:
            # The case is open for recording: a killed run's captures are now recorded abandoned. Read again
            # only when that (or another command meanwhile) added entries.
            size: Future[int] = Future()
            recording.submit(lambda case: size.set_result(case.ledger.size()), lambda: "reading the ledger's size")
            recording.wait()
            state = before if size.result() == len(before.entries) else CaseState.read(session)
            ending, due = due_watches(state, now, every_active=every_active)
            # A link the pass's own watches capture now is not new either.
            observer = Observer(
                recording, state.captured_series() | {w.settings.series for w in due}, state.tried_series()
            )
            state = _catch_up(session, state, recording, observer, report)
            for watch in ending:
                recording.submit(_ender(watch, report), partial(str, f"ending {watch.id}"))
            _capture_due(state, due, recording, observer, report)
            if observer.to_follow and not report.interrupted:
                _capture_followed(state, observer.to_follow, recording, observer, report)
    finally:
        # Only once the writer is drained (leaving the ``with``): it hands the observer every result it
        # records, and an observer closed first would make it fail and drop the results still queued.
        if observer is not None:
            observer.close()
    if observer is not None:
        report.warnings = [*report.warnings, *observer.failures]
        report.observation_s = list(observer.seconds)
        seen = {s.item: s for s in observer.results}
        report.captured = [seen.get(s.item, s) for s in report.captured]
    return report


def _catch_up(
    session: Session, state: CaseState, recording: Recording, observer: Observer, report: PassReport
) -> CaseState:
    """The observations never recorded (a killed run's, a plain capture's of a watched URL), oldest first,
    before anything new; the case's state read again after each, so that each observation and then the
    pass's plans count the ones before them. Returns the state the rest of the pass plans from."""
    missing = state.unobserved()
    if not missing:
        return state
    holder: Future[Any] = Future()
    recording.submit(lambda case: holder.set_result((case.store, case.workspace)), lambda: "reading the store")
    recording.wait()
    store, workspace = holder.result()
    for item, ended, started in missing:
        plan = _plan_for_started(state, item, started)
        observer.observe_now(plan, item, ended, store, workspace)
        observer.drain()
        if any(seen.item == item for seen in observer.results):  # listed only once written
            report.caught_up.append(item)
        state = CaseState.read(session)
    return state


def _plan_for_started(state: CaseState, item: str, started: CaptureStarted) -> Plan:
    watch = state.watches.get(started.watch) if started.watch else None
    profile = started.options.get("profile")  # the profile it was made with, whatever the watch says now
    name = profile.get("name") if isinstance(profile, Mapping) else None
    if watch is not None:
        return replace(state.plan(watch, before_item=item), profile=name)
    return recapture_plan(state, started.url, before_item=item, profile=name)


def recapture_plan(state: CaseState, url: str, *, before_item: str | None = None, profile: str | None = None) -> Plan:
    """A recapture's plan: the removal settings of the URL's watch if any, else the defaults."""
    key = series_key(url)
    watch = next((w for w in reversed(state.watches.values()) if w.settings.series == key), None)
    defaults = WatchSettings()
    return plan_attempt(
        key,
        state.series.get(key),
        state.completed,
        before_item=before_item,
        needed=watch.settings.removal_attempts if watch else defaults.removal_attempts,
        span_s=watch.settings.removal_span_s if watch else defaults.removal_span_s,
        ignore=watch.settings.ignore if watch else (),
        profile=profile,
    )


def _ender(watch: Watch, report: PassReport) -> Any:
    def job(case: OpenCase) -> None:
        with case.ledger.transaction() as txn:
            # Read again inside the transaction: `watch remove` or `pause` may have been recorded since the
            # pass read the ledger; a watch no longer active is not ended.
            now = current_watch(case, watch.id)
            if now is None or now.state != "active":
                return
            txn.append(WatchChanged(watch.id, "ended", end_draft_reason(watch)).draft(case.actor))
            seal(case, txn)
        publish_checkpoints(case, txn)
        report.ended.append(watch.id)

    return job


def _capture_due(
    state: CaseState, due: Sequence[Watch], recording: Recording, observer: Observer, report: PassReport
) -> None:
    if not due:
        return
    # Watches with a browser profile are captured in batches of their own, each profile's check first.
    run_options = recording.options
    for profile, watches in by_profile(due).items():
        try:
            recording.use_options(with_profile(recording.session, run_options, profile))
        except EvidenceKitError as exc:  # the profile is gone, or its passphrase is missing
            report.warnings.append(f"{', '.join(w.id for w in watches)}: not captured in this pass: {exc}")
            continue
        plans = [state.plan(watch) for watch in watches]
        observer.plans = dict(enumerate(plans))
        try:
            outcomes = recording.capture(
                [w.url for w in watches], extra=[p.started_details() for p in plans], after_recorded=observer.recorded
            )
        except ProfileLoggedOut as failed:  # recorded as a case note; nothing captured under a false identity
            report.warnings.append(f"{', '.join(w.id for w in watches)}: not captured in this pass: {failed}")
            continue
        finally:
            recording.use_options(run_options)
        observer.drain()
        _note(outcomes, report)


def _capture_followed(
    state: CaseState, followed: Sequence[Followed], recording: Recording, observer: Observer, report: PassReport
) -> None:
    """The listings' new links: with ``--watch-followed`` each gets its own watch first (its capture is that
    watch's first attempt, observed like any); otherwise a plain first capture, found on the listing."""
    watch_of: dict[int, Future[WatchAdded | None]] = {}
    for index, link in enumerate(followed):
        listing = state.watches.get(link.listing_watch or "")
        if listing is not None and (listing.settings.follow or {}).get("watch_followed"):
            watch_of[index] = _add_followed_watch(recording, listing, link)
    recording.wait()
    extra: list[Mapping[str, Any] | None] = []
    plans: dict[int, Plan] = {}
    for index, link in enumerate(followed):
        details: dict[str, Any] = {"found_on": dict(link.found_on)}
        added = watch_of[index].result() if index in watch_of else None
        if added is not None:  # None: another watch follows the URL already, captured plainly
            plans[index] = plan_attempt(
                added.series,
                None,
                state.completed,
                watch=added.watch,
                needed=added.removal_attempts,
                span_s=added.removal_span_s,
                ignore=added.ignore,
                notify=added.notify,
            )
            details |= plans[index].started_details()
            report.added_watches.append(added.watch)
        extra.append(details)
    observer.plans = plans
    outcomes = recording.capture([f.url for f in followed], extra=extra, after_recorded=observer.recorded)
    observer.drain()
    _note(outcomes, report)


def _add_followed_watch(recording: Recording, listing: Watch, link: Followed) -> Future[WatchAdded | None]:
    done: Future[WatchAdded | None] = Future()

    def job(case: OpenCase) -> None:
        with case.ledger.transaction() as txn:
            # One watch per URL, checked inside the transaction like `watch add` does: another watch (or
            # one added meanwhile) may follow this URL already; then none is added.
            if series_key(link.url) in watched_series(case):
                done.set_result(None)
                return
            settings = followed_settings(listing, case.workspace)
            added = append_watch(case, txn, link.url, settings, found_on=link.found_on)
            seal(case, txn)
        publish_checkpoints(case, txn)
        done.set_result(added)

    recording.submit(job, lambda: f"putting {link.url} under watch")
    return done


def followed_settings(listing: Watch, workspace: Workspace) -> WatchSettings:
    """The settings of a watch made by ``--watch-followed``: the listing's, its notify command included
    (copied from the listing's command file; the ledger says only ``notify: true``), without its follow."""
    s = listing.settings
    return WatchSettings(
        every_s=s.every_s,
        jitter_s=s.jitter_s,
        ignore=s.ignore,
        removal_attempts=s.removal_attempts,
        removal_span_s=s.removal_span_s,
        until=s.until,
        notify=notify.read_command(workspace, listing.id) if s.notify else None,
    )


def _note(outcomes: Iterable[CaptureOutcome], report: PassReport) -> None:
    for outcome in outcomes:
        report.captured.append(Seen(outcome.item_id, outcome.url, outcome.status, None))
        if was_interrupted(outcome.result):
            report.interrupted = True
