"""Content-addressed object store: the seam the workflows use, and today's local folder behind it.

``ObjectStoreBackend`` is what a workflow may ask of any store (an S3-compatible one later). The local
``ObjectStore`` keeps ``objects/<first two hex>/<blake3 hex>``: objects are written once (temp file in the
store, fsync, hard link into place, fsync the folders), are read-only, and are never overwritten:
identical content is stored once. The temp file, ``objects/.incoming-*.part``, is locked (``flock``) by its
writer until it is gone, so one left by a killed put is told apart from one still being written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from evidencekit.errors import InputFileError, ObjectMismatchError, OperationalError
from evidencekit.fsutil import folder_lock, fsync_dir, link_into_place
from evidencekit.hashing import Digests, hash_bytes, hash_file, hash_stream
from evidencekit.models import Problem


class ObjectStoreBackend(Protocol):
    """Put, open, exists; plus what verify and the tools that need a file path ask of a store.

    Objects are addressed by their digests; a store never overwrites or deletes one.
    """

    def put_file(self, source: Path) -> Digests:
        """Store a file, hashing it in the same read; InputFileError when it cannot be read."""

    def put_stream(self, stream: BinaryIO) -> Digests:
        """Store what the stream holds, durably, before returning its digests."""

    def open(self, digests: Digests) -> BinaryIO:
        """The object for reading; ObjectMismatchError when it is missing."""

    def has(self, digests: Digests) -> bool: ...

    def path_for(self, blake3_hex: str) -> Path:
        """A file on this machine holding the object, for tools that need a path (media type, EXIF,
        bundle payload); it does not exist when the object is missing. A remote store gives a local copy."""

    def check(self, digests: Digests) -> Problem | None:
        """Re-hash the stored object; a Problem (with the object's label as path) if missing or different."""

    def unnamed(self, named: set[str]) -> list[str]:
        """Labels of stored objects whose BLAKE3 is not in ``named``: objects no ledger entry names."""


class ObjectStore:
    """The local folder implementation of ``ObjectStoreBackend``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, blake3_hex: str) -> Path:
        return self.root / blake3_hex[:2] / blake3_hex

    def relative_path(self, blake3_hex: str) -> str:
        return f"{self.root.name}/{blake3_hex[:2]}/{blake3_hex}"

    def has(self, digests: Digests) -> bool:
        return self.path_for(digests.blake3).is_file()

    def put_file(self, source: Path) -> Digests:
        """Copy ``source`` into the store, hashing it in the same read. Returns its digests."""
        return put_file_as_stream(self, source)

    def put_stream(self, stream: BinaryIO) -> Digests:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = _incoming(self.root)
        held = os.dup(fd)  # holds the lock on the temp file until it is gone (see ``incoming_leftovers``)
        try:
            with os.fdopen(fd, "wb") as out:
                digests = hash_stream(stream, sink=out.write)
                out.flush()
                os.fsync(out.fileno())
            tmp.chmod(0o444)
            target = self.path_for(digests.blake3)
            target.parent.mkdir(exist_ok=True)
            try:
                link_into_place(tmp, target)
            except FileExistsError:
                pass  # identical content is already stored; the stored copy is never replaced
            else:
                fsync_dir(target.parent)
                fsync_dir(self.root)
            return digests
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise OperationalError(
                    f"no space left on {self.root}: the object was not stored, and no entry naming it was recorded"
                ) from None
            raise OperationalError(f"cannot write to the object store {self.root}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.close(held)

    def open(self, digests: Digests) -> BinaryIO:
        try:
            return self.path_for(digests.blake3).open("rb")
        except FileNotFoundError:
            raise ObjectMismatchError(f"object {self.relative_path(digests.blake3)} is missing") from None

    def read_verified(self, digests: Digests) -> bytes:
        """Read a (small) object whole and check it against ``digests``."""
        with self.open(digests) as stream:
            data = stream.read()
        problem = compare_digests(self.relative_path(digests.blake3), digests, hash_bytes(data))
        if problem is not None:
            raise ObjectMismatchError(problem.message)
        return data

    def unnamed(self, named: set[str]) -> list[str]:
        """Relative paths of stored objects whose BLAKE3 is not in ``named`` (temp files left out)."""
        found = []
        if self.root.is_dir():
            for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.is_symlink()):
                for path in sorted(folder.iterdir()):
                    if path.name not in named and not path.name.startswith("."):
                        found.append(f"{self.root.name}/{folder.name}/{path.name}")
        return found

    def check(self, digests: Digests) -> Problem | None:
        """Re-hash the object filed under ``digests``; a Problem if it is missing or differs."""
        rel = self.relative_path(digests.blake3)
        path = self.path_for(digests.blake3)
        if not path.is_file():
            return Problem("object.missing", "object is missing from the store", path=rel)
        try:
            actual = hash_file(path)
        except InputFileError as exc:
            return Problem("object.unreadable", str(exc), path=rel)
        return compare_digests(rel, digests, actual)


INCOMING_PREFIX = ".incoming-"
INCOMING_SUFFIX = ".part"


def _incoming(root: Path) -> tuple[int, Path]:
    """A new temp file in the store, locked (``flock``) by this process for as long as the put runs: a put
    killed midway leaves its temp file unlocked, which is how the next command knows its writer is gone."""
    with folder_lock(root, exclusive=False):
        fd, name = tempfile.mkstemp(dir=root, prefix=INCOMING_PREFIX, suffix=INCOMING_SUFFIX)
        fcntl.flock(fd, fcntl.LOCK_EX)  # new, so nobody else holds it: never waits
    return fd, Path(name)


def _abandoned(path: Path, *, exclusive: bool) -> int | None:
    """An open descriptor of ``path`` with its lock taken when its writer is gone; None while it is live."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _incoming_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob(f"{INCOMING_PREFIX}*{INCOMING_SUFFIX}") if not p.is_symlink() and p.is_file())


def incoming_leftovers(root: Path) -> list[tuple[Path, int]]:
    """Temp files of puts whose process is gone (killed in the middle of a copy), with their sizes. Only
    looks: ``ledger verify`` reports them, on a write-blocked case too."""
    found = []
    for path in _incoming_files(root):
        fd = _abandoned(path, exclusive=False)
        if fd is not None:
            found.append((path, os.fstat(fd).st_size))
            os.close(fd)
    return found


def remove_incoming_leftovers(root: Path) -> list[tuple[Path, int]]:
    """Remove the temp files of puts whose process is gone; what was removed. Stored objects are never
    touched: only ``.incoming-*.part`` files directly in the store folder, never a file a live put holds."""
    if not root.is_dir():
        return []
    removed = []
    with folder_lock(root, exclusive=True):
        for path in _incoming_files(root):
            fd = _abandoned(path, exclusive=True)
            if fd is None:
                continue
            try:
                size = os.fstat(fd).st_size
                path.unlink()
                removed.append((path, size))
            except OSError:
                pass  # gone meanwhile, or not removable here: `ledger verify` keeps reporting it
            finally:
                os.close(fd)
    return removed


def put_file_as_stream(store: ObjectStoreBackend, source: Path) -> Digests:
    """``store.put_stream`` of a file's content: the one place where a file that cannot be read is refused,
    so every store says it alike."""
    if source.is_dir():
        raise InputFileError(f"{source} is a folder, not a file; name the files inside it")
    try:
        with source.open("rb") as stream:
            return store.put_stream(stream)
    except FileNotFoundError:
        raise InputFileError(f"no such file: {source}") from None
    except PermissionError:
        raise InputFileError(f"cannot read {source}: permission denied") from None


def compare_digests(rel: str, expected: Digests, actual: Digests) -> Problem | None:
    """A Problem naming every digest that differs from the record, or None when all agree."""
    differences = [
        f"{name} {getattr(actual, name)} instead of {getattr(expected, name)}"
        for name in ("size", "blake3", "sha256")
        if getattr(actual, name) != getattr(expected, name)
    ]
    if not differences:
        return None
    return Problem("object.altered", "object content differs from its record: " + "; ".join(differences), path=rel)
