"""The watch runs' own room in the case, ``work/watch/``: never evidence, never exported, never swept.

It holds the lock of ``watch run`` (one pass at a time: a second run started by cron while a pass is going
exits at once) and the commands of ``--notify`` (kept out of the ledger, see ``notify``). The run sweep of
``evidencekit.runs`` removes only ``work/run-*`` folders and ``work/locks/*.lock`` files; export takes only
what the ledger names.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evidencekit.errors import OperationalError
from evidencekit.workspace import Workspace

WATCH_DIR = "watch"
LOCK_FILE = "run.lock"


class PassRunning(OperationalError):
    """Another ``watch run`` holds the case's watch lock."""


def watch_dir(workspace: Workspace) -> Path:
    """``work/watch`` (made, owner-only, when missing)."""
    folder = workspace.work_dir / WATCH_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.is_symlink():
        raise OperationalError(f"{folder} is a symbolic link; the watch runs keep their files only inside the case")
    return folder


@contextmanager
def pass_lock(workspace: Workspace) -> Iterator[None]:
    """Hold the case's watch lock for the block, or raise PassRunning at once. The kernel drops the lock when
    the process ends however it ends, so a killed run never leaves the case locked."""
    path = watch_dir(workspace) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PassRunning(
                f"another `watch run` is already running on {workspace.root}; nothing was recorded"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
