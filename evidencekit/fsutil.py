"""Durable file-system primitives: fsync'd atomic writes that never clobber what is already there."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from evidencekit.errors import InputFileError, OperationalError


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


def read_small_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; InputFileError (one line) otherwise.

    A FIFO, a device (``/dev/zero``) or a folder is refused before it is read: a FIFO with no writer would
    block for ever and a device can be endless. The open does not block (``O_NONBLOCK``) and the file is
    checked again once open, so a path swapped for a FIFO between the two checks is still refused.
    """
    try:
        before = path.stat()
    except FileNotFoundError:
        raise InputFileError(f"no such file: {path}") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {what} from {path}: {exc.strerror or exc}") from None
    _refuse_special(path, before.st_mode, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputFileError(f"cannot read {what} from {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        _refuse_special(path, info.st_mode, what)
        if info.st_size > limit:
            raise InputFileError(f"{path} is too large for {what} ({info.st_size} bytes; at most {limit})")
        chunks: list[bytes] = []
        taken = 0
        while taken <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - taken))
            if not chunk:
                break
            chunks.append(chunk)
            taken += len(chunk)
    except OSError as exc:
        raise InputFileError(f"cannot read {what} from {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if taken > limit:  # it grew while being read
        raise InputFileError(f"{path} is too large for {what} (more than {limit} bytes)")
    return b"".join(chunks)


def _refuse_special(path: Path, mode: int, what: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = (
        "a folder" if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "not a regular file"
    )  # fmt: skip
    raise InputFileError(f"{path} is {kind}, not a regular file; {what} is read only from a regular file")


@contextlib.contextmanager
def folder_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """A ``flock`` on a folder itself: shared while a writer creates and locks a temporary file in it,
    exclusive while abandoned files there are judged, so that no file is judged between its creation and its
    lock (the run locks in work/locks, the object store's incoming files)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)
