"""Size, BLAKE3 and SHA-256 of a file or stream in one read. The only importer of ``blake3``.

Both hash functions release the GIL on large buffers, so a large stream is hashed as a two-stage
pipeline over two alternating buffers: the caller's thread runs SHA-256 (and the sink) on chunk *n*
while one worker thread runs BLAKE3 on the same chunk *n* and then reads chunk *n + 1* into the other
buffer. SHA-256 is the slower of the two (about 1.4 GB/s with SHA-NI against 2.5 GB/s for one-thread
BLAKE3 here), so the worker's BLAKE3 and the read both hide behind it and the pair costs no more than
reading and SHA-256 alone; see ``benchmarks/bench_hashing.py``.

BLAKE3 is kept to one thread on purpose: with SHA-256 already occupying a core, a multi-threaded BLAKE3
only fights it for the same cores (measured slower on a 2-core machine). Small chunks are hashed inline,
where handing them to a thread would cost more than it saves.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import blake3 as _blake3

from evidencekit.errors import InputFileError, OperationalError, ValidationError

# 1 MiB chunks: two of them stay in the shared cache between the read, BLAKE3 and SHA-256 passes,
# and each still amortises the thread hand-off (about 0.7 ms of SHA-256 per chunk).
CHUNK_SIZE = 1024 * 1024
# Below this many bytes a chunk is hashed inline: the worker thread only pays off on big buffers.
_PARALLEL_THRESHOLD = 256 * 1024
# A file buffer never needs to be larger than the file, but a tiny one would mean many reads if the
# file grows while it is read.
_MIN_FILE_BUFFER = 64 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")

Sink = Callable[[memoryview], object]


@dataclass(frozen=True)
class Digests:
    """Size and both digests of one byte sequence. Digests are lower-case hex, without algorithm prefix."""

    size: int
    blake3: str
    sha256: str

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise ValidationError(f"a size must be an integer, not {self.size!r}")
        if self.size < 0:
            raise ValidationError(f"a size cannot be negative: {self.size}")
        for name in ("blake3", "sha256"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _HEX64.fullmatch(value):
                raise ValidationError(f"not a {name} hex digest (64 lower-case hex digits): {value!r}")

    @property
    def blake3_tagged(self) -> str:
        return f"blake3:{self.blake3}"

    @property
    def sha256_tagged(self) -> str:
        return f"sha256:{self.sha256}"

    def to_dict(self) -> dict[str, object]:
        return {"size": self.size, "blake3": self.blake3_tagged, "sha256": self.sha256_tagged}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Digests:
        try:
            size = data["size"]
            b3 = untag("blake3", str(data["blake3"]))
            s256 = untag("sha256", str(data["sha256"]))
        except KeyError as exc:
            raise ValidationError(f"digests lack the field {exc.args[0]!r}") from None
        if not isinstance(size, int) or isinstance(size, bool):
            raise ValidationError(f"a size must be an integer, not {size!r}")
        return cls(size=size, blake3=b3, sha256=s256)


def untag(algorithm: str, tagged: str) -> str:
    """``blake3:<hex>`` -> ``<hex>``, refusing a digest of another algorithm or a malformed one."""
    prefix = f"{algorithm}:"
    if not tagged.startswith(prefix) or not _HEX64.fullmatch(tagged[len(prefix) :]):
        raise ValidationError(f"not a {algorithm} digest: {tagged!r}")
    return tagged[len(prefix) :]


class DualHasher:
    """Incremental size + BLAKE3 + SHA-256. Feed it with ``update``; read the result with ``digests``.

    ``update`` may be handed a buffer that the caller reuses afterwards: it returns only when both
    hashes have consumed it. With an ``executor``, BLAKE3 of a large buffer runs on the executor while
    SHA-256 runs on the caller's thread.
    """

    def __init__(self, executor: ThreadPoolExecutor | None = None) -> None:
        self._b3 = _blake3.blake3()
        self._sha = hashlib.sha256()
        self._size = 0
        self._executor = executor

    def update(self, data: bytes | bytearray | memoryview) -> None:
        # As bytes: BLAKE3 refuses typed views (array('I'), ...), and len() of one counts items.
        view = memoryview(data).cast("B")
        if self._executor is not None and len(view) >= _PARALLEL_THRESHOLD:
            pending = self._executor.submit(self._b3.update, view)
            try:
                self._sha.update(view)
            finally:
                # Even if SHA-256 failed, the worker must be done with ``data`` before we return.
                pending.result()
        else:
            self._b3.update(view)
            self._sha.update(view)
        self._size += len(view)

    def digests(self) -> Digests:
        return Digests(size=self._size, blake3=self._b3.hexdigest(), sha256=self._sha.hexdigest())


class _AlternatingReader:
    """Reads a stream into two buffers in turn, so one chunk can be read while the previous one is used.

    A chunk handed out stays intact until the call after next, which is what lets a worker read chunk
    *n + 1* while the caller still hashes (and sinks) chunk *n*.
    """

    def __init__(self, stream: BinaryIO, chunk_size: int) -> None:
        self._stream = stream
        self._readinto: Callable[[memoryview], int | None] | None = getattr(stream, "readinto", None)
        self._chunk_size = chunk_size
        self._buffers: list[memoryview] = []
        self._turn = 0

    def read(self) -> memoryview:
        """The next chunk; empty at the end of the stream."""
        if self._readinto is None:
            # No readinto (some wrappers): ``read`` returns fresh bytes, which nothing else overwrites.
            data = self._stream.read(self._chunk_size)
            if data is None:
                raise _not_ready()
            return memoryview(data)
        if len(self._buffers) <= self._turn:
            # Allocated on first use, so a stream that ends in its first chunk costs one buffer only.
            self._buffers.append(memoryview(bytearray(self._chunk_size)))
        buffer = self._buffers[self._turn]
        n = self._readinto(buffer)
        if n is None:
            raise _not_ready()
        self._turn ^= 1
        return buffer[:n]


def _not_ready() -> InputFileError:
    # A non-blocking stream answers "nothing yet"; taking that for the end would hash a truncated input.
    return InputFileError("the stream has no data ready but has not ended (non-blocking?); hash a blocking stream")


def _blake3_then_read(b3: _blake3.blake3, chunk: memoryview, reader: _AlternatingReader) -> memoryview:
    b3.update(chunk)
    return reader.read()


def hash_stream(stream: BinaryIO, *, sink: Sink | None = None, chunk_size: int = CHUNK_SIZE) -> Digests:
    """Hash everything left in ``stream``; each chunk is also handed to ``sink`` (e.g. a file being written).

    The sink receives every chunk, in order, on the caller's thread, as a memoryview that is valid only
    until the sink returns (copy it with ``bytes(chunk)`` to keep it). ``stream`` is read to its end and
    left open.
    """
    if chunk_size < 1:
        raise ValidationError(f"a chunk size must be at least one byte, not {chunk_size}")
    hasher = DualHasher()
    reader = _AlternatingReader(stream, chunk_size)
    executor: ThreadPoolExecutor | None = None
    try:
        chunk = reader.read()
        while chunk:
            if len(chunk) >= _PARALLEL_THRESHOLD:
                if executor is None:
                    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidencekit-blake3")
                pending = executor.submit(_blake3_then_read, hasher._b3, chunk, reader)
                hasher._sha.update(chunk)
                if sink is not None:
                    sink(chunk)
                hasher._size += len(chunk)
                next_chunk = pending.result()
            else:
                hasher._b3.update(chunk)
                hasher._sha.update(chunk)
                if sink is not None:
                    sink(chunk)
                hasher._size += len(chunk)
                next_chunk = reader.read()
            chunk = next_chunk
    finally:
        if executor is not None:
            # Waits for a worker still reading or hashing, so nothing touches the stream or the
            # buffers after we return, even when the sink or a read has failed.
            executor.shutdown(wait=True)
    return hasher.digests()


def hash_file(path: Path, *, chunk_size: int = CHUNK_SIZE) -> Digests:
    """Hash a regular file in one read.

    A missing file, a folder, something that is not a regular file (a FIFO would block, a device never
    ends) or an unreadable file is an InputFileError; a read that fails half way is an OperationalError.
    """
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise InputFileError(f"{path} is a folder, not a file; name the files inside it")
        if not stat.S_ISREG(mode):
            raise InputFileError(f"{path} is not a regular file (a device, pipe or socket); copy it to a file first")
        with path.open("rb", buffering=0) as stream:
            size = os.fstat(stream.fileno()).st_size
            if hasattr(os, "posix_fadvise"):
                # Doubles the kernel's read-ahead on a cold file; harmless when it is cached.
                with contextlib.suppress(OSError):
                    os.posix_fadvise(stream.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            buffer_size = min(chunk_size, max(size + 1, _MIN_FILE_BUFFER))
            return hash_stream(stream, chunk_size=buffer_size)
    except FileNotFoundError:
        raise InputFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputFileError(f"{path} is a folder, not a file; name the files inside it") from None
    except PermissionError:
        raise InputFileError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise OperationalError(f"reading {path} failed: {exc.strerror or exc}; check the disk") from None


def hash_bytes(data: bytes | bytearray | memoryview) -> Digests:
    """Digests of bytes already in memory; large inputs get both hash functions at once."""
    if len(data) < 4 * _PARALLEL_THRESHOLD:
        hasher = DualHasher()
        hasher.update(data)
        return hasher.digests()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidencekit-blake3") as executor:
        hasher = DualHasher(executor)
        hasher.update(data)
        return hasher.digests()


def blake3_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """Raw 32-byte BLAKE3 of ``data``; the hash function handed to the Merkle tree."""
    return _blake3.blake3(data).digest()


def blake3_hex(data: bytes | bytearray | memoryview) -> str:
    return _blake3.blake3(data).hexdigest()


def blake3_hasher() -> _blake3.blake3:
    """A fresh incremental BLAKE3 (for callers that must feed data piecewise, e.g. Merkle node hashing)."""
    return _blake3.blake3()
