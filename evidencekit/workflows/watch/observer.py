"""Observations off the writer's thread, while the captures go on.

The writer records a watched capture's result and hands it here (``Observer.recorded``, called on the
writer's thread, returns at once). A worker thread of its own reads the stored artefacts, compares, writes the
diff files into the run's scratch folder and hands the writer one more job: store them and append the
``observation.recorded`` entry, sealed. The worker never touches the ledger connection (it belongs to the
writer's thread), and the captures never wait for it.

For a listing the worker also picks the new links to capture (``follow``); once an observation is recorded
a watch with ``--notify`` may have its command run, on a thread of its own too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from evidencekit.ledger.entries import ObservationRecorded, series_key
from evidencekit.models import LedgerEntry
from evidencekit.workflows.capturing import CaptureOutcome, Recording
from evidencekit.workflows.opencase import OpenCase
from evidencekit.workflows.watch import notify
from evidencekit.workflows.watch.follow import split_new
from evidencekit.workflows.watch.observe import (
    Observed,
    Plan,
    observe,
    observe_without_comparison,
    record_observations,
)

FLUSH_AT = 8


def carried_over(plan: Plan) -> list[str]:
    """The links the listing's earlier observations left for a later pass, oldest first (``split_new``
    drops those captured since): they come before the page's new ones, so a newest-first listing's
    older ads are not left behind for ever."""
    links: list[str] = []
    for attempt in plan.history:
        followed = attempt.observation.followed if attempt.observation is not None else None
        left = followed.get("left") if isinstance(followed, Mapping) else None
        if isinstance(left, list):
            links.extend(str(link) for link in left if link not in links)
    return links


@dataclass(frozen=True)
class Followed:
    """A new link of a listing, to capture in this pass."""

    url: str
    found_on: Mapping[str, Any]  # {"item": the listing capture, "watch": its watch}
    listing_watch: str | None


@dataclass(frozen=True)
class Seen:
    """One watched attempt as the pass saw it, for the command's output."""

    item: str
    url: str
    status: str
    observation: ObservationRecorded | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "url": self.url,
            "status": self.status,
            "observation": self.observation.to_details() if self.observation is not None else None,
        }


class Observer:
    """Observes the captures of one recording run; ``plans`` by batch index are set before each batch."""

    def __init__(self, recording: Recording, seen_series: set[str], tried_series: Collection[str] = ()) -> None:
        self.recording = recording
        self.plans: dict[int, Plan] = {}
        # The series with a completed capture in the case (or captured in this pass): a followed link must
        # not be one. ``tried_series``: attempted without one (failed, abandoned): a link of one is retried.
        self.seen_series = seen_series
        self.tried_series = frozenset(tried_series)
        self.to_follow: list[Followed] = []
        self.results: list[Seen] = []
        self.failures: list[str] = []
        self.seconds: list[float] = []  # the worker's time for each observation (reading, comparing, diff files)
        self._lock = threading.Lock()
        self._pending: list[Future[None]] = []
        self._ready: list[tuple[Observed, Plan, str, str, Any]] = []
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidencekit-observer")
        self._notifier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidencekit-notify")
        self._notified: list[Future[None]] = []
        self._closed = False

    # -- on the writer's thread ---------------------------------------------------------------------------
    def recorded(self, case: OpenCase, index: int, started: LedgerEntry, outcome: CaptureOutcome) -> None:
        plan = self.plans.get(index)
        if plan is None:
            return
        store = case.store
        workspace = case.workspace

        def object_path(tagged: str) -> Path:
            return store.path_for(tagged.removeprefix("blake3:"))

        job = partial(self._observe, plan, outcome.item_id, outcome.entry, object_path, workspace, outcome)
        with self._lock:
            if self._closed:  # the run is stopping: the next pass observes this capture (``unobserved``)
                return
            self._pending.append(self._worker.submit(job))

    def observe_now(self, plan: Plan, item: str, ended: LedgerEntry, case_store: Any, workspace: Any) -> None:
        """Observe an attempt recorded earlier (a killed run's), from the main thread."""

        def object_path(tagged: str) -> Path:
            return Path(case_store.path_for(tagged.removeprefix("blake3:")))

        with self._lock:
            self._pending.append(self._worker.submit(self._observe, plan, item, ended, object_path, workspace, None))

    # -- on the worker's thread ---------------------------------------------------------------------------
    def _observe(
        self,
        plan: Plan,
        item: str,
        ended: LedgerEntry,
        object_path: Callable[[str], Path],
        workspace: Any,
        outcome: CaptureOutcome | None,
    ) -> None:
        began = time.perf_counter()
        try:
            observed = observe(plan, item, ended, object_path, self.recording.scratch / "observations" / item)
        except Exception as exc:
            # Recorded all the same, from the ledger entry alone: a failure left to the next pass would
            # fail again on every pass, and the attempt would never be observed.
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]  # one line
            self.failures.append(f"{item}: the stored page could not be compared ({reason}); recorded not-compared")
            try:
                observed = observe_without_comparison(plan, item, ended, reason)
            except Exception as again:  # never fail the pass
                said = " ".join(f"{type(again).__name__}: {again}".split())[:300]
                self.failures.append(f"{item}: the observation could not be made ({said})")
                return
        finally:
            self.seconds.append(time.perf_counter() - began)
        if plan.follow is not None and observed.links:
            observed = self._follow(plan, observed)
        url = str(ended.details.get("url", ""))
        status = str(ended.details.get("status", "failed"))
        with self._lock:
            self._ready.append((observed, plan, url, status, workspace))
            enough = len(self._ready) >= FLUSH_AT
        # Recorded FLUSH_AT at a time (and the rest when the batch of captures is done, see ``drain``), in one
        # transaction sealed once: a seal checks the whole ledger, and one per observation would double the
        # run's seals. One computed but not yet recorded when the run is killed is made again by the next pass.
        if enough:
            self.recording.submit(self._record, lambda: f"recording the observation of {item}")

    def _follow(self, plan: Plan, observed: Observed) -> Observed:
        follow = plan.follow or {}
        picked = split_new(
            observed.links,
            self.seen_series,
            int(follow.get("max_follow", 50)),
            carried=carried_over(plan),
            tried=self.tried_series,
            listing_url=_listing_url(observed, plan),
        )
        for link in picked.new:
            self.seen_series.add(series_key(link))
            found_on = {"item": observed.item, "watch": plan.watch} if plan.watch else {"item": observed.item}
            self.to_follow.append(Followed(link, found_on, plan.watch))
        return observed.with_followed(picked.followed())

    # -- on the writer's thread again ---------------------------------------------------------------------
    def _record(self, case: OpenCase) -> None:
        with self._lock:
            batch, self._ready = self._ready, []
        if not batch:
            return
        entries = record_observations(case, [observed for observed, *_ in batch])
        for (observed, plan, url, status, workspace), entry in zip(batch, entries, strict=True):
            if entry is None:
                continue
            self.results.append(Seen(observed.item, url, status, observed.action))
            details = observed.action.to_details()
            if plan.notify and plan.watch and notify.wanted(details):
                self._notified.append(self._notifier.submit(notify.run_command, workspace, plan.watch, details))

    # -- on the main thread -------------------------------------------------------------------------------
    def drain(self) -> None:
        """Wait until every observation handed in is computed and its recording handed to the writer, then
        until the writer has recorded them."""
        while True:
            with self._lock:
                pending = [f for f in self._pending if not f.done()]
            if not pending:
                break
            wait(pending)
        self.recording.submit(self._record, lambda: "recording the observations")
        self.recording.wait()

    def close(self) -> None:
        """Stop the worker and wait for the notify commands started. Called once the writer is drained: an
        observation not yet begun is left to the next pass (its capture is recorded, its observation not)."""
        with self._lock:
            self._closed = True
        self._worker.shutdown(wait=True, cancel_futures=True)
        wait(self._notified)
        self._notifier.shutdown(wait=True)


def _listing_url(observed: Observed, plan: Plan) -> str:
    """Where the listing was read: the final URL its capture recorded, else the watched URL (its series)."""
    final = observed.action.answer.get("final_url")
    return final if isinstance(final, str) and final else plan.series
