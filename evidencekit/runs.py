"""Runs of the recording commands, and what a run that is gone left behind.

Every recording command is a *run*. For its whole life it holds ``work/locks/<run id>.lock``: the file says
who the run is (pid, host, when it began, the ledger's size then) and, line by line as it goes, what it
owns (an export's staging folder) and which captures it started; the run holds an exclusive ``flock`` on it.
The kernel drops that lock when the process ends, however it ends (SIGKILL, a crash), so *the owner is gone*
is exactly *the lock can be taken*. No pid or start time is compared: a pid reused by another program, a
clock set back, a case copied to another machine or a run in another pid namespace (a container, a team
worker on the same file system) cannot make a live run look gone, or a gone one live. The pid is there for
people.

Leftovers of runs that are gone: ``objects/.incoming-*.part`` (a put into the store; its writer locks it,
see ``store``), ``work/run-<run id>`` (a capture's scratch folder) and the ``.partial`` staging folder an
export names in its lock file. ``find_leftovers`` only looks (for ``ledger verify``); ``Sweep`` removes them
for the next recording command, and never touches what a live run holds.

The lock file is appended to, one JSON line per fact, never rewritten: a line is written whole by one
``write``, so a run killed at any moment leaves a file that still reads.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from evidencekit.errors import IntegrityError, OperationalError
from evidencekit.fsutil import folder_lock
from evidencekit.hashing import blake3_hex
from evidencekit.models import LedgerEntry
from evidencekit.store import incoming_leftovers, remove_incoming_leftovers
from evidencekit.timefmt import format_time, utc_now
from evidencekit.workspace import Workspace

LOCKS_DIR = "locks"
LOCK_SUFFIX = ".lock"
SCRATCH_PREFIX = "run-"
STAGING_SUFFIX = ".partial"
STAGING_MARK = ".evidencekit-run"  # in an export's staging folder: the id of the run that made it


def locks_dir(workspace: Workspace) -> Path:
    return workspace.work_dir / LOCKS_DIR


def scratch_dir(workspace: Workspace, run_id: str) -> Path:
    """A capture's scratch folder: named after its run, so it is known to be the run's own."""
    return workspace.work_dir / f"{SCRATCH_PREFIX}{run_id}"


def _lock_free(fd: int, *, exclusive: bool) -> bool:
    """Take the lock on ``fd`` without waiting; False when another open file (a live run) holds it."""
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@dataclass(frozen=True)
class Claim:
    """A capture a run started: its item, the seq of its ``capture.started`` and the BLAKE3 of that entry's
    bytes (written before the entry commits, so the entry is told apart from one another run wrote there)."""

    item: str
    seq: int
    entry: str

    def matches(self, entry: LedgerEntry) -> bool:
        return entry.seq == self.seq and entry.subject == self.item and blake3_hex(entry.raw) == self.entry


@dataclass
class RunRecord:
    """What a run's lock file says, and whether the run is still live."""

    run_id: str
    path: Path
    live: bool
    pid: int | None = None
    host: str | None = None
    began: str | None = None
    ledger_size: int = 0  # 0 until the run has read it: then every entry may be its own
    owns: list[Path] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid is not None else "a run"
        where = f" on {self.host}" if self.host else ""
        when = f", begun {self.began}" if self.began else ""
        return f"{who}{where}{when}"


def _open_lock_file(path: Path) -> int | None:
    """A lock file opened for reading, or None when it cannot be or is not a regular file: a FIFO or device
    planted under work/locks would otherwise make every command wait or read without end."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _read_record(path: Path, live: bool) -> RunRecord:
    record = RunRecord(path.name.removesuffix(LOCK_SUFFIX), path, live)
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError:
        return record
    for line in lines:
        try:
            fact = json.loads(line)
        except ValueError:
            continue  # the end of a line a killed run was writing, or nothing
        if not isinstance(fact, dict):
            continue
        with contextlib.suppress(KeyError, TypeError, ValueError):
            if "pid" in fact:
                record.pid, record.host, record.began = int(fact["pid"]), str(fact["host"]), str(fact["began"])
            elif "ledger_size" in fact:
                record.ledger_size = int(fact["ledger_size"])
            elif "owns" in fact:
                record.owns.append(Path(str(fact["owns"])))
            elif "capture" in fact:
                record.claims.append(Claim(str(fact["capture"]), int(fact["seq"]), str(fact["entry"])))
    return record


def _live_run(path: Path) -> RunRecord:
    """A live run: nothing of it is ever touched, so what its file says (a long run's many lines) is not read."""
    return RunRecord(path.name.removesuffix(LOCK_SUFFIX), path, live=True)


class RunLock:
    """This run's lock file, held from ``begin`` until ``release``."""

    def __init__(self, workspace: Workspace, run_id: str, fd: int) -> None:
        self.workspace = workspace
        self.run_id = run_id
        self.path = locks_dir(workspace) / f"{run_id}{LOCK_SUFFIX}"
        self._fd: int | None = fd
        self.claims: list[Claim] = []

    @classmethod
    def begin(cls, workspace: Workspace) -> RunLock:
        linked = linked_work_folder(workspace)
        if linked is not None:
            raise IntegrityError(
                f"{linked} is a symbolic link, which the case never makes: its temporary files would be written "
                "and removed elsewhere; nothing was recorded; remove the link (after looking where it points)"
            )
        folder = locks_dir(workspace)
        for attempt in range(5):
            run_id = secrets.token_hex(8)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with folder_lock(folder, exclusive=False):
                    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
                    fd = os.open(folder / f"{run_id}{LOCK_SUFFIX}", flags, 0o644)
                    fcntl.flock(fd, fcntl.LOCK_EX)  # new, so nobody else can hold it: never waits
                break
            # A run that just ended removed the empty folder, before or while it was made (mkdir then finds
            # something in its way that is no longer a folder): make it again.
            except (FileNotFoundError, FileExistsError):
                if attempt == 4:
                    raise
            except OSError as exc:
                raise _unwritable(workspace, exc) from exc
        lock = cls(workspace, run_id, fd)
        try:
            lock._note(pid=os.getpid(), host=socket.gethostname(), began=format_time(utc_now()))
        except BaseException:
            lock.release()
            raise
        return lock

    @property
    def scratch(self) -> Path:
        return scratch_dir(self.workspace, self.run_id)

    def _note(self, **fact: Any) -> None:
        if self._fd is None:
            raise ValueError("the run's lock was released")
        try:
            os.write(self._fd, json.dumps(fact, ensure_ascii=False).encode("utf-8") + b"\n")
        except OSError as exc:
            raise _unwritable(self.workspace, exc) from exc

    def ledger_size(self, size: int) -> None:
        """The ledger's size once the lock is held: every entry this run appends comes after it."""
        self._note(ledger_size=size)

    def own(self, path: Path) -> None:
        """A temporary folder this run made outside the case (an export's staging folder).

        The folder gets a marker naming this run: a lock file is only a claim (anyone who can write in the
        case can plant one), so a folder outside the case is removed only when it holds the marker of the
        run that claims it, which only the run that made the folder wrote there."""
        try:
            (path / STAGING_MARK).write_text(self.run_id + "\n", encoding="ascii")
        except OSError as exc:
            raise _unwritable(self.workspace, exc) from exc
        self._note(owns=str(path.resolve()))

    def claim(self, entry: LedgerEntry) -> None:
        """A ``capture.started`` this run appended; called inside the transaction, before it commits."""
        self._note(capture=entry.subject, seq=entry.seq, entry=blake3_hex(entry.raw))
        self.claims.append(Claim(str(entry.subject), entry.seq, blake3_hex(entry.raw)))

    def release(self, *, keep: bool = False) -> None:
        """The run ended: its lock file goes (its scratch folder is its own to remove). ``keep``: it started
        captures it did not record the end of (a write failed): the file stays, unlocked, so the next
        recording command finds a gone run's claims and records those captures abandoned."""
        if self._fd is None:
            return
        if not keep:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)
        self._fd = None
        _prune(self.workspace)


def _prune(workspace: Workspace) -> None:
    """Remove the locks folder and work/ when they are empty, so a case at rest holds no scratch space.
    Only while no run is creating its lock file there (one that finds the folder gone makes it again)."""
    folder = locks_dir(workspace)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        if _lock_free(fd, exclusive=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
                workspace.work_dir.rmdir()
    finally:
        os.close(fd)


def _unwritable(workspace: Workspace, exc: OSError) -> OperationalError:
    """The run cannot keep its lock file: it records nothing (a run no one can see is live must not write)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OperationalError(f"no space left on {workspace.root}; nothing was recorded")
    return OperationalError(
        f"cannot write the run's lock file in {locks_dir(workspace)} ({exc.strerror or exc}); nothing was recorded"
    )


def linked_work_folder(workspace: Workspace) -> Path | None:
    """work/ or work/locks/ when it is a symbolic link (it points outside the case), else None."""
    for folder in (workspace.work_dir, locks_dir(workspace)):
        if folder.is_symlink():
            return folder
    return None


def read_runs(workspace: Workspace) -> list[RunRecord]:
    """Every run's lock file, and whether the run is live; only looks (a write-blocked case reads too).
    Lock files reached through a linked work folder are not the case's: none is read."""
    folder = locks_dir(workspace)
    runs: list[RunRecord] = []
    if linked_work_folder(workspace) is not None:
        return runs
    for path in sorted(folder.glob(f"*{LOCK_SUFFIX}")) if folder.is_dir() else ():
        fd = _open_lock_file(path)
        if fd is None:
            continue
        try:
            free = _lock_free(fd, exclusive=False)
        finally:
            os.close(fd)
        runs.append(_read_record(path, live=False) if free else _live_run(path))
    return runs


def every_claim(workspace: Workspace) -> list[Claim]:
    """The captures every run's lock file claims, a live run's too (its lines are written whole, so a
    file being appended to still reads); only looks. An unsigned ``capture.started`` may stand only
    while one of these claims it (``ledger.rules.judge_claims``)."""
    folder = locks_dir(workspace)
    if linked_work_folder(workspace) is not None or not folder.is_dir():
        return []
    return [
        claim
        for path in sorted(folder.glob(f"*{LOCK_SUFFIX}"))
        if _regular(path)
        for claim in _read_record(path, live=True).claims
    ]


def _regular(path: Path) -> bool:
    """A regular file, not followed through a link: a FIFO planted among the lock files would hold a read."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:  # gone meanwhile: the run ended
        return False


@dataclass(frozen=True)
class Leftover:
    """A temporary file or folder whose run is gone: what, where, how big, whose (when known)."""

    kind: str  # "incoming object", "capture scratch folder", "export staging folder"
    path: Path
    size: int
    run: RunRecord | None = None

    def shown_path(self, workspace: Workspace) -> str:
        try:
            return self.path.relative_to(workspace.root).as_posix()
        except ValueError:
            return str(self.path)


def _size(path: Path) -> int:
    if not path.is_dir() or path.is_symlink():
        with contextlib.suppress(OSError):
            return path.lstat().st_size
        return 0
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += Path(folder, name).lstat().st_size
    return total


def _staging(path: Path, workspace: Workspace, run: RunRecord) -> bool:
    """Only a folder shaped like an export's staging folder, holding the marker of the run that claims it, is
    ever removed for a run, never one in objects/ (see ``RunLock.own``)."""
    if not (path.name.startswith(".") and path.name.endswith(STAGING_SUFFIX)):
        return False
    if path.is_symlink() or not path.is_dir():
        return False
    if path.resolve().is_relative_to(workspace.objects_dir.resolve()):
        return False
    mark = path / STAGING_MARK
    try:
        return not mark.is_symlink() and mark.read_text(encoding="ascii").strip() == run.run_id
    except (OSError, UnicodeDecodeError):
        return False


def _probe_live(workspace: Workspace, run_id: str) -> bool:
    """Whether the run ``run_id`` is live, for a run that began after the lock files were read."""
    fd = _open_lock_file(locks_dir(workspace) / f"{run_id}{LOCK_SUFFIX}")
    if fd is None:
        return False  # no lock file: the run ended (or began before run locks existed)
    try:
        return not _lock_free(fd, exclusive=False)
    finally:
        os.close(fd)


def _folder_leftovers(workspace: Workspace, runs: Sequence[RunRecord]) -> list[Leftover]:
    by_id = {run.run_id: run for run in runs}
    found = []
    # A work/ that is a link points outside the case: nothing found through it is the case's to remove.
    if workspace.work_dir.is_dir() and not workspace.work_dir.is_symlink():
        for path in sorted(workspace.work_dir.glob(f"{SCRATCH_PREFIX}*")):
            run_id = path.name.removeprefix(SCRATCH_PREFIX)
            if not path.is_dir() or path.is_symlink():
                continue
            known = by_id.get(run_id)
            if not (known.live if known is not None else _probe_live(workspace, run_id)):
                found.append(Leftover("capture scratch folder", path, _size(path), known))
    for run in runs:
        if not run.live:
            found += [
                Leftover("export staging folder", p, _size(p), run) for p in run.owns if _staging(p, workspace, run)
            ]
    return found


def find_leftovers(workspace: Workspace, runs: Sequence[RunRecord]) -> list[Leftover]:
    """What runs that are gone left behind; only looks."""
    parts = [Leftover("incoming object", path, size) for path, size in incoming_leftovers(workspace.objects_dir)]
    return parts + _folder_leftovers(workspace, runs)


def open_claims(runs: Sequence[RunRecord], entries_about: Any) -> list[tuple[Claim, LedgerEntry, RunRecord]]:
    """Captures started by runs that are gone and never ended: each claim, its ``capture.started``, its run.

    ``entries_about(item)`` gives an item's entries. A capture counts as ended once the ledger holds its
    ``capture.completed``, ``capture.failed`` or ``capture.abandoned``.
    """
    # A capture a live run claims is in progress, whatever a gone run's file says: a claim line is easily
    # copied into a planted lock file, and a live capture must never be recorded as abandoned.
    held = {
        claim for run in runs if run.live and _regular(run.path) for claim in _read_record(run.path, live=True).claims
    }
    found = []
    for run in runs:
        if run.live:
            continue
        for claim in run.claims:
            if claim in held:
                continue
            entries = entries_about(claim.item)
            started = next((e for e in entries if claim.matches(e) and e.action == "capture.started"), None)
            ended = any(e.action in _ENDINGS for e in entries)
            if started is not None and not ended:
                found.append((claim, started, run))
    return found


_ENDINGS = frozenset({"capture.completed", "capture.failed", "capture.abandoned"})


class Sweep:
    """The next recording command's clean-up: takes the locks of the runs that are gone (so no other sweep
    handles them at once), removes their leftovers, and, once what concerns an item is recorded, their
    lock files (``finish``). Leaving the ``with`` block without ``finish`` keeps the lock files for the
    next command."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.runs: list[RunRecord] = []
        self._held: list[int] = []

    def __enter__(self) -> Sweep:
        folder = locks_dir(self.workspace)
        if not folder.is_dir():
            return self
        with folder_lock(folder, exclusive=True):
            for path in sorted(folder.glob(f"*{LOCK_SUFFIX}")):
                fd = _open_lock_file(path)
                if fd is None:
                    continue
                if _lock_free(fd, exclusive=True):
                    self._held.append(fd)
                    self.runs.append(_read_record(path, live=False))
                else:
                    os.close(fd)
                    self.runs.append(_live_run(path))
        return self

    def remove_files(self) -> list[Leftover]:
        """Remove every leftover whose run is gone; what was removed."""
        removed = [Leftover("incoming object", p, s) for p, s in remove_incoming_leftovers(self.workspace.objects_dir)]
        for leftover in _folder_leftovers(self.workspace, self.runs):
            shutil.rmtree(leftover.path, ignore_errors=True)
            removed.append(leftover)
        return removed

    def finish(self) -> None:
        for run in self.runs:
            if not run.live:
                with contextlib.suppress(OSError):
                    run.path.unlink()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for fd in self._held:
            os.close(fd)
        self._held = []
