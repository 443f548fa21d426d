"""The one writer of a recording run: a thread that owns the open case and does every write, in order.

A capture run keeps its event loop for the pages; what must reach the disk durably (objects put into
the store with fsync, ledger appends with a FULL commit, signed checkpoints appended to checkpoints.txt
and to the witness copy) is handed to this thread as jobs and done one at a time, in the order handed
in. The case is opened on the thread itself because an SQLite connection belongs to the thread that
made it; nothing else touches it while the writer runs.

The first job that fails stops the writer: nothing after it is written, what was committed before it
stays, and its error (with the capture it concerns) is what ``close`` raises and what ``failure``, a
future another thread can wait on or be called back from, is failed with.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from evidencekit.errors import EvidenceKitError, IntegrityError, OperationalError
from evidencekit.workflows.opencase import OpenCase, Session, open_case
from evidencekit.workspace import Workspace

Job = Callable[[OpenCase], None]


class RecordingFailed(OperationalError):
    """A write of the run failed (disk full, ledger busy, store unwritable): the run stopped there."""


class RecordingIntegrityError(IntegrityError):
    """The case was found altered while recording (signing refused): the run stopped there."""


class CaseWriter:
    """Start with ``start()`` (opens the case, or raises why it cannot), hand in jobs with ``submit``,
    finish with ``close()``, which waits until every job handed in is done."""

    def __init__(self, session: Session, *, name: str = "evidencekit-writer") -> None:
        self._session = session
        self._jobs: queue.SimpleQueue[tuple[Job, Callable[[], str]] | None] = queue.SimpleQueue()
        self._opened: Future[Workspace] = Future()
        self._scratch: Path | None = None
        self.failure: Future[None] = Future()
        self._abandon = threading.Event()
        # Not a daemon: a job in hand is always finished, even if the main thread is on its way out.
        self._thread = threading.Thread(target=self._run, name=name, daemon=False)

    def start(self) -> Workspace:
        """Open the case on the writer's thread; its folders are returned, its ledger stays there."""
        self._thread.start()
        return self._opened.result()  # the case's own error (no case, damaged ledger) comes out here

    @property
    def scratch(self) -> Path:
        """This run's scratch folder in the case, ``work/run-<run id>``, after ``start``: named after the run's
        lock, so the next recording command removes it if the run is killed, and never while it lives."""
        if self._scratch is None:
            raise RuntimeError("the writer has not opened the case")
        return self._scratch

    def submit(self, job: Job, what: Callable[[], str]) -> None:
        """Hand in a job; ``what()``, asked on the writer's thread if the job fails, names it in the error
        ("recording capture-0003 (https://...)").

        After a failure jobs are dropped: the run is being stopped, and writing after a failed write
        would record later events without the one that failed.
        """
        if not self.failure.done():
            self._jobs.put((job, what))

    def close(self) -> None:
        """Wait until every job handed in is done; raise the failure, if there was one.

        Ctrl-C while waiting: the job in hand is finished, the rest are dropped, KeyboardInterrupt is raised.
        """
        self._jobs.put(None)
        interrupted = False
        while self._thread.is_alive():
            try:
                self._thread.join()
            except KeyboardInterrupt:
                self._abandon.set()
                interrupted = True
        if interrupted:
            raise KeyboardInterrupt
        if self.failure.done():
            self.failure.result()

    def _run(self) -> None:
        try:
            case = open_case(self._session)
        except BaseException as exc:
            self._opened.set_exception(exc)
            return
        if case.run is not None:
            self._scratch = case.run.scratch
        self._opened.set_result(case.workspace)
        with case:
            while (item := self._jobs.get()) is not None and not self._abandon.is_set():
                job, what = item
                try:
                    job(case)
                except BaseException as exc:  # every failure must reach the caller, whatever it is
                    self.failure.set_exception(_stopped(what, exc))
                    return


def _stopped(what: Callable[[], str], exc: BaseException) -> Exception:
    try:
        label = what()
    except Exception:  # naming the job must never be what keeps its failure from the caller
        label = "a recording job"
    reason = str(exc) or type(exc).__name__
    message = f"{label} failed: {reason}; the run was stopped, and everything recorded before it is kept"
    # An error not of ours (sqlite3 on a full disk, a bug): --verbose shows where it came from.
    detail = exc.detail if isinstance(exc, EvidenceKitError) else _where(exc)
    kind = RecordingIntegrityError if isinstance(exc, IntegrityError) else RecordingFailed
    error = kind(message, detail=detail)
    error.__cause__ = exc
    return error


def _where(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).rstrip()
