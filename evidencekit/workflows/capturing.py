"""Capturing URLs into the case and recording each step as it happens: shared by ``capture`` and the
watch family (``watch run``, ``recapture``).

For every URL: ``capture.started`` (allocating the item id) when the browser begins, then, once the
page is captured, its artefacts go into the store and ``capture.completed`` (status complete, partial or blocked,
every artefact digest, the metadata digest, the indicators found) or ``capture.failed`` (the reason, and
whatever was obtained) is recorded, followed by a signed checkpoint when the investigator has a key.
Scratch files live under the case's work/ folder and are removed once stored.

``Recording`` is one recording run (the writer thread, its scratch folder) that may capture several
batches; ``capture_urls`` is one batch in a run of its own. A capture may carry extra ``capture.started``
details (a watch's series, previous item, watch, recapture or listing), and a hook runs on the writer's
thread after each result is recorded (a watch hands the observation to its own worker there).
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from evidencekit.capture import CaptureOptions, capture_many, check_url, was_interrupted
from evidencekit.capture.logincheck import ProfileLoggedOut
from evidencekit.errors import ObjectMismatchError, UsageError
from evidencekit.models import CaptureResult, EntryDraft, LedgerEntry
from evidencekit.salts import case_salt
from evidencekit.workflows.capturingpopups import next_capture_ids, record_popups, store_popups
from evidencekit.workflows.capturingprofile import (
    profile_summary,
    record_check_failed,
    with_check_passed,
    with_state_digest,
)
from evidencekit.workflows.opencase import OpenCase, Session, publish_checkpoints, seal
from evidencekit.workflows.writer import CaseWriter, Job

Progress = Callable[[str, int, str, str | None], None]  # (event, index, url, status)


@dataclass(frozen=True)
class CaptureOutcome:
    item_id: str
    url: str
    result: CaptureResult
    entry: LedgerEntry
    opened_by: str | None = None  # a pop-up window's capture: the item of the page that opened it
    popups: tuple[CaptureOutcome, ...] = ()  # the pop-up windows it opened, captured as items of their own

    @property
    def status(self) -> str:
        return self.result.status

    def with_popups(self) -> list[CaptureOutcome]:
        """This outcome, then those of the pop-up windows it opened (as the ledger has them)."""
        return [self, *self.popups]

    def to_dict(self) -> dict[str, Any]:
        linked: dict[str, Any] = {"opened_by": self.opened_by} if self.opened_by else {}
        if self.popups:
            linked["opened"] = [popup.item_id for popup in self.popups]
        return {
            **linked,
            "item_id": self.item_id,
            "url": self.url,
            "status": self.result.status,
            "final_url": self.result.final_url,
            "address_bar_url": self.result.metadata.get("address_bar_url"),
            "reasons": list(self.result.reasons),
            "error": self.result.error,
            "interrupted": was_interrupted(self.result),
            "artefacts": [a.to_dict() for a in self.result.artefacts],
            "indicators": [dict(i) for i in self.result.indicators],
            "entry": self.entry.to_dict(),
        }


# Called on the writer's thread once a capture's result is recorded (committed and sealed), with the open
# case, the capture's index in its batch, its capture.started entry and its outcome. It must return at once
# (the writer records every other capture of the run): slow work goes to another thread.
AfterRecorded = Callable[[OpenCase, int, LedgerEntry, CaptureOutcome], None]


def options_summary(options: CaptureOptions, concurrency: int) -> dict[str, Any]:
    """The capture options as ``capture.started`` records them (a proxy only as "set": it may hold credentials)."""
    return {
        "timeout_ms": int(options.timeout_s * 1000),
        "pdf": options.pdf,
        "mhtml": options.mhtml,
        "viewport": f"{options.viewport[0]}x{options.viewport[1]}",
        "user_agent": options.user_agent,
        "proxy": "set" if options.proxy else None,
        "storage_state": str(options.storage_state) if options.storage_state else None,
        "ignore_https_errors": options.ignore_https_errors,
        "allow_private_network": options.allow_private_network,
        "region": options.region,
        "concurrency": concurrency,
        **profile_summary(options),
        "consent": options.consent,
        "media": options.media,
        "media_max_bytes": options.media_max_bytes,
        "media_timeout_ms": int(options.media_timeout_s * 1000),
        "max_popups": options.max_popups,
    }


class _Recorder:
    """Records each start and each result as it happens, without holding up the capture loop.

    ``started`` and ``finished`` are called on the capture's event loop; they only hand a job to the
    run's writer thread, which puts the artefacts into the store, appends the entries and seals. Jobs
    are done in the order handed in, so a capture's ``capture.started`` (which allocates its item id)
    always comes before its ``capture.completed`` or ``capture.failed``, and item ids follow the order
    in which the captures began. Everything below runs on the writer's thread alone.
    """

    def __init__(
        self,
        writer: CaseWriter,
        options: dict[str, Any],
        note: str | None,
        progress: Progress | None,
        extra: Sequence[Mapping[str, Any] | None] = (),
        after_recorded: AfterRecorded | None = None,
    ) -> None:
        self.writer = writer
        self.options = options
        self.note = note
        self.progress = progress
        self.extra = extra
        self.after_recorded = after_recorded
        self.items: dict[int, tuple[str, str]] = {}
        self.started_entries: dict[int, LedgerEntry] = {}
        self.outcomes: dict[int, CaptureOutcome] = {}

    def results(self) -> list[CaptureOutcome]:
        return [self.outcomes[i] for i in sorted(self.outcomes)]

    def started(self, index: int, url: str) -> None:
        self.writer.submit(partial(self._record_start, index, url), lambda: f"recording the start of {url}")

    def finished(self, index: int, result: CaptureResult) -> None:
        self.writer.submit(partial(self._record_result, index, result), partial(self._describe, index))

    def _describe(self, index: int) -> str:
        item_id, url = self.items.get(index, ("a capture", "not yet recorded as started"))
        return f"recording {item_id} ({url})"

    def _record_start(self, index: int, url: str, case: OpenCase) -> None:
        details: dict[str, Any] = {"url": url, "options": self.options}
        if self.note:
            details["note"] = self.note
        extra = self.extra[index] if index < len(self.extra) else None
        details.update({name: value for name, value in (extra or {}).items() if value is not None})
        with case.ledger.transaction() as txn:
            item_id = txn.next_item_id("capture")
            started = txn.append(EntryDraft("capture.started", case.actor, item_id, details=details))
            if case.run is not None:  # before the commit: a run killed later is known to have started it
                case.run.claim(started)
        self.items[index] = (item_id, url)
        self.started_entries[index] = started
        if self.progress:
            self.progress("started", index, url, None)

    def _record_result(self, index: int, result: CaptureResult, case: OpenCase) -> None:
        if index not in self.items:  # never started (Ctrl-C came first): nothing happened, nothing to record
            return
        item_id, url = self.items[index]
        for captured in result.files:
            stored = case.store.put_file(captured.path)
            if stored != captured.artefact.digests:
                raise ObjectMismatchError(f"{captured.path.name} changed between capture and storage")
        result = replace(result, popups=store_popups(case, result.popups))  # a pop-up's failure is its own
        details = result_details(url, result)
        action = "capture.failed" if result.status == "failed" else "capture.completed"
        with case.ledger.transaction() as txn:
            # The pop-ups' items come right after the opener's result, in the same transaction: their ids
            # are known before the opener's entry, which lists them.
            opened = next_capture_ids(txn, len(result.popups))
            if opened:
                details["opened"] = opened
            entry = txn.append(EntryDraft(action, case.actor, item_id, result.artefacts, details))
            started = {"options": self.options, "opened_by": item_id, "note": self.note}
            recorded = record_popups(case, txn, opened, started, result.popups, result_details)
            seal(case, txn)
        popups = tuple(CaptureOutcome(pid, p.requested_url, p, e, opened_by=item_id) for pid, p, e in recorded)
        publish_checkpoints(case, txn)
        outcome = self.outcomes[index] = CaptureOutcome(item_id, url, result, entry, popups=popups)
        if self.progress:
            self.progress("finished", index, url, result.status)
        if self.after_recorded is not None:
            self.after_recorded(case, index, self.started_entries[index], outcome)


TITLE_LIMIT = 1000  # characters of a page's title its ledger entry keeps; metadata.json keeps it whole


def ledger_title(title: Any) -> dict[str, Any]:
    """The title fields of a capture's ledger entry. A page sets its own title, of any length (one of
    megabytes would swell every ledger line): past ``TITLE_LIMIT`` characters the entry keeps the first
    ones, and ``title_full_length``, which says that it was cut and how long the whole is."""
    if not isinstance(title, str) or len(title) <= TITLE_LIMIT:
        return {"title": title}
    return {"title": title[:TITLE_LIMIT], "title_full_length": len(title)}


def ledger_indicator(found: Mapping[str, Any]) -> dict[str, Any]:
    """An indicator as a capture's ledger entry holds it: kind, value, the text as found, and ``site`` when
    it is the site's rather than the author's (see evidencekit.indicators.page)."""
    entry = {"kind": found.get("kind"), "value": found.get("value"), "raw": found.get("raw")}
    return {**entry, "site": True} if found.get("site") is True else entry


def result_details(url: str, result: CaptureResult) -> dict[str, Any]:
    """The details of a capture's ``capture.completed`` or ``capture.failed`` entry."""
    metadata = dict(result.metadata)
    metadata_file = next((f for f in result.files if f.artefact.name == "metadata.json"), None)
    details: dict[str, Any] = {
        "url": url,
        "status": result.status,
        "reasons": list(result.reasons),
        "final_url": result.final_url,
        "http_status": (metadata.get("http") or {}).get("status"),
        **ledger_title(metadata.get("title")),
        "metadata": metadata_file.artefact.digests.blake3_tagged if metadata_file else None,
        "indicators": [ledger_indicator(i) for i in result.indicators],
    }
    if isinstance(metadata.get("blocked"), Mapping):
        # What the site showed instead of the content (a challenge, a login wall), and why the capture says so.
        details["blocked"] = dict(metadata["blocked"])
    if isinstance(metadata.get("address_bar_url"), str):
        # What the page put in the address bar, kept apart from the final URL (the last response's).
        details["address_bar_url"] = metadata["address_bar_url"]
    if result.error:
        details["error"] = result.error
    return details


class Recording:
    """One recording run: the case's writer thread and the run's scratch folder, for one or more batches
    of captures (``capture``) and other jobs (``submit``), in the order handed in.

    Leaving the ``with`` block waits until every job handed in is done and removes the scratch folder.
    The first write that fails stops the run: what was recorded before it is kept, nothing after it is
    written, and its error is raised (by ``capture`` or on leaving). Ctrl-C: captures in progress wrap up
    and are recorded before ``capture`` returns.
    """

    def __init__(
        self,
        session: Session,
        options: CaptureOptions,
        *,
        concurrency: int = 2,
        note: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.session = session
        self.options = options
        self.concurrency = concurrency
        self.note = note
        self.progress = progress
        self.writer = CaseWriter(session)
        self._work_root: Path | None = None
        self._batches = itertools.count(1)
        self._summary: dict[str, Any] = {}

    def __enter__(self) -> Recording:
        try:
            # From the writer's start on, every way out goes through close(): the writer thread waits for
            # jobs until it is told there are no more.
            workspace = self.writer.start()
            self._work_root = self.writer.scratch
            # The case's redaction salt comes from the investigator's config; capture never reads config.
            salt = case_salt(self.session.environ, workspace.read_info().case_uuid)
            self.options = replace(self.options, redaction_salt=salt)
            self.options = with_state_digest(self.options, salt)
            self._summary = options_summary(self.options, self.concurrency)
        except BaseException:
            self._finish(failed=True)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._finish(failed=exc is not None)

    def _finish(self, *, failed: bool) -> None:
        try:
            if failed:
                # What was handed to the writer is still recorded; the error raised is the one that stopped
                # the run (the writer's own, when it was the writer that failed).
                with contextlib.suppress(Exception):
                    self.writer.close()
            else:
                self.writer.close()
        finally:
            # Only now: the writer reads the scratch files until it is done.
            if self._work_root is not None:
                shutil.rmtree(self._work_root, ignore_errors=True)
                with contextlib.suppress(OSError):
                    self._work_root.parent.rmdir()

    @property
    def scratch(self) -> Path:
        """The run's scratch folder (removed when the run ends), for files made before they are stored."""
        if self._work_root is None:
            raise RuntimeError("the recording has not started")
        return self._work_root

    def use_options(self, options: CaptureOptions) -> None:
        """Capture the next batches with ``options`` (a watch's own browser profile), keyed with the case's
        salt as the run's own options are."""
        salt = self.options.redaction_salt
        self.options = with_state_digest(replace(options, redaction_salt=salt), salt) if salt else options
        self._summary = options_summary(self.options, self.concurrency)

    def submit(self, job: Job, what: Callable[[], str]) -> None:
        """Hand the writer a job of its own (see ``CaseWriter.submit``): done in order with the captures'."""
        self.writer.submit(job, what)

    def wait(self) -> None:
        """Wait until the writer has done every job handed in so far (raises why the run stopped, if it did)."""
        _wait_for_writer(self)

    def stopped(self) -> bool:
        """Whether a write failed and stopped the run."""
        return self.writer.failure.done()

    def capture(
        self,
        urls: Sequence[str],
        *,
        extra: Sequence[Mapping[str, Any] | None] = (),
        after_recorded: AfterRecorded | None = None,
    ) -> list[CaptureOutcome]:
        """Capture ``urls`` (checked before the browser starts); ``extra[i]`` holds more ``capture.started``
        details for ``urls[i]`` (None values left out). Returns once every result is recorded: the outcomes
        of the captures recorded, in order."""
        recorder = self._capture(urls, extra, after_recorded)
        _wait_for_writer(self)
        return recorder.results()

    def _capture(
        self, urls: Sequence[str], extra: Sequence[Mapping[str, Any] | None], after_recorded: AfterRecorded | None
    ) -> _Recorder:
        """Capture the batch; its results may still be being recorded when this returns.

        A capture does not wait for its start to be recorded before it browses: it needs nothing from that
        entry (the item id is the ledger's; the capture never sees it), the browser's own times are in its
        metadata.json, and a start that cannot be recorded stops the run anyway; waiting would only idle a
        page slot behind another capture's fsyncs and signature.
        """
        for url in urls:
            check_url(url)
        recorder = _Recorder(self.writer, self._summary, self.note, self.progress, extra, after_recorded)
        try:
            capture_many(
                list(urls),
                self.options,
                self.scratch / f"batch-{next(self._batches)}",
                concurrency=self.concurrency,
                on_started=recorder.started,
                on_finished=recorder.finished,
                stop=self.writer.failure,
                on_checked=lambda at: setattr(recorder, "options", with_check_passed(recorder.options, at)),
            )
        except ProfileLoggedOut as failed:
            self.writer.submit(partial(record_check_failed, failed, len(urls)), lambda: "recording the failed check")
            _wait_for_writer(self)
            raise
        return recorder


def _wait_for_writer(recording: Recording) -> None:
    """Wait until the writer has done every job handed to it so far; raise why the run stopped if it did."""
    done: Future[None] = Future()
    recording.writer.submit(lambda _case: done.set_result(None), lambda: "waiting for the recordings")
    while not done.done():
        if recording.writer.failure.done():
            recording.writer.failure.result()
        with contextlib.suppress(TimeoutError):
            done.result(timeout=0.2)


def capture_urls(
    session: Session,
    urls: Sequence[str],
    options: CaptureOptions,
    *,
    concurrency: int = 2,
    note: str | None = None,
    progress: Progress | None = None,
    extra: Sequence[Mapping[str, Any] | None] = (),
    after_recorded: AfterRecorded | None = None,
) -> list[CaptureOutcome]:
    """Capture ``urls`` into the case, in a recording run of their own. Every URL is checked before the
    browser starts. Recording runs on the case's writer thread while the pages are captured (see
    ``_Recorder`` and ``Recording``)."""
    if not urls:
        raise UsageError("name at least one URL to capture, or a file of URLs with --from-file")
    for url in urls:
        check_url(url)
    with Recording(session, options, concurrency=concurrency, note=note, progress=progress) as recording:
        recorder = recording._capture(urls, extra, after_recorded)
    return recorder.results()  # leaving the run waited until every result was recorded
