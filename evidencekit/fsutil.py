"""Durable file-system primitives: fsync'd atomic writes that never clobber what is already there."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from evidencekit.errors import OperationalError


def fsync_dir(folder: Path) -> None:
    """Make a rename or link inside ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new_file(target: Path, data: bytes, *, mode: int = 0o444) -> None:
    """Write ``data`` to ``target`` atomically; refuse if ``target`` exists (FileExistsError).

    The bytes go to a temp file in the same folder, are fsync'd, and are then hard-linked into place:
    a link, unlike a rename, fails instead of replacing an existing file.
    """
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(mode)
        link_into_place(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(folder)


_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def link_into_place(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target``; FileExistsError if ``target`` exists. Disk errors are operational.

    On a file system without hard links, a rename after checking that ``target`` is absent takes its place.
    """
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise OperationalError(f"cannot write {target}: {exc.strerror or exc}") from None
        if target.exists() or target.is_symlink():
            raise FileExistsError(target) from None
        source.rename(target)


def append_durably(target: Path, data: bytes) -> None:
    """Append ``data`` to ``target`` (creating it) and fsync before returning."""
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
