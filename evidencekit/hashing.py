"""Size, BLAKE3 and SHA-256 of a file or stream in one read. The only importer of ``blake3``.

Both hash functions release the GIL on large buffers, so a stream longer than one chunk is hashed by
two threads: a reader thread fills chunk buffers and runs BLAKE3 over each, while the caller's thread
runs SHA-256 and the sink over the chunks it passes along. SHA-256 is the slower of the two (about
1.4 GB/s with SHA-NI against 2.5 GB/s for one-thread BLAKE3 on the reference machine), so reading and
BLAKE3 together hide behind it, and the pair costs no more than reading plus SHA-256 alone; see
``benchmarks/bench_hashing.py``.

BLAKE3 is kept to one thread on purpose: with SHA-256 already occupying a core, a multi-threaded BLAKE3
only fights it for the cores (measured about 10 % slower on a 2-core machine). A stream that fits in
one chunk is hashed inline, where starting a thread would cost more than it saves.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import queue
import re
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import blake3 as _blake3

from evidencekit.errors import InputFileError, OperationalError, ValidationError

# 1 MiB chunks: the buffers in flight stay in the shared cache between the read, BLAKE3 and SHA-256
# passes, and each chunk still amortises the thread hand-off (about 0.7 ms of SHA-256 per chunk).
# Chunks from 256 KiB to 8 MiB measured the same within noise on the 2-core reference machine.
CHUNK_SIZE = 1024 * 1024
# DualHasher.update hashes smaller buffers inline: handing them to a thread costs more than it saves.
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


def _not_ready() -> InputFileError:
    # A non-blocking stream answers "nothing yet"; taking that for the end would hash a truncated input.
    return InputFileError("the stream has no data ready but has not ended (non-blocking?); hash a blocking stream")


_ReadInto = Callable[[memoryview], int | None]


def _readinto_of(stream: BinaryIO) -> _ReadInto:
    readinto: _ReadInto | None = getattr(stream, "readinto", None)
    if readinto is not None:
        return readinto

    def copy_from_read(buffer: memoryview) -> int | None:
        # Some wrappers offer only ``read``; one copy is the price of keeping a single code path.
        data = stream.read(len(buffer))
        if data is None:
            return None
        buffer[: len(data)] = data
        return len(data)

    return copy_from_read


def _fill(readinto: _ReadInto, buffer: memoryview) -> int:
    """Read until ``buffer`` is full or the stream ends (short reads from pipes are normal)."""
    filled = 0
    while filled < len(buffer):
        n = readinto(buffer[filled:])
        if n is None:
            raise _not_ready()
        if n == 0:
            break
        filled += n
    return filled


# Buffers in flight between the reader thread and the caller: with three, either side can run ahead
# while the other is briefly descheduled, instead of both waiting in lockstep on every chunk.
_BUFFERS = 3
_Ready = tuple[memoryview, int] | BaseException | None  # a filled buffer, the reader's error, or the end


def _hash_pipelined(readinto: _ReadInto, hasher: DualHasher, first: memoryview, sink: Sink | None) -> None:
    """Hash ``first`` and the rest of the stream with BLAKE3 and reading on one thread, SHA-256 and
    the sink on the caller's.

    Buffers travel in a loop: ``free`` -> reader thread (fill, BLAKE3) -> ``ready`` -> caller
    (SHA-256, sink) -> ``free``. Only the reader refills buffers, and only buffers the caller gave
    back, so a chunk never changes while the caller or the sink holds it.
    """
    free: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
    ready: queue.SimpleQueue[_Ready] = queue.SimpleQueue()
    stop = threading.Event()
    for _ in range(_BUFFERS - 1):
        free.put(memoryview(bytearray(len(first))))

    def read_ahead() -> None:
        try:
            # The caller may give ``first`` back to ``free`` while this update still reads it; that is
            # safe because this thread takes from ``free`` only after the update has returned.
            hasher._b3.update(first)
            while True:
                buffer = free.get()
                if buffer is None or stop.is_set():
                    return
                n = _fill(readinto, buffer)
                if n:
                    hasher._b3.update(buffer[:n])
                    ready.put((buffer, n))
                if n < len(buffer):
                    ready.put(None)
                    return
        except BaseException as exc:  # re-raised on the caller's thread
            ready.put(exc)

    reader = threading.Thread(target=read_ahead, name="evidencekit-blake3", daemon=True)
    reader.start()
    try:
        item: _Ready = (first, len(first))
        while isinstance(item, tuple):
            buffer, n = item
            chunk = buffer[:n]
            hasher._sha.update(chunk)
            if sink is not None:
                sink(chunk)
            hasher._size += n
            free.put(buffer)
            item = ready.get()
        if item is not None:
            raise item
    finally:
        # Also when the sink or a read failed: stop the reader and wait for it, so nothing touches the
        # stream or the buffers once we return.
        stop.set()
        free.put(None)
        reader.join()


def hash_stream(stream: BinaryIO, *, sink: Sink | None = None, chunk_size: int = CHUNK_SIZE) -> Digests:
    """Hash everything left in ``stream``; each chunk is also handed to ``sink`` (e.g. a file being written).

    The sink receives every chunk, in order, on the caller's thread, as a memoryview that is valid only
    until the sink returns (copy it with ``bytes(chunk)`` to keep it). Chunks are ``chunk_size`` bytes
    except the last. ``stream`` is read to its end and left open.
    """
    if chunk_size < 1:
        raise ValidationError(f"a chunk size must be at least one byte, not {chunk_size}")
    hasher = DualHasher()
    readinto = _readinto_of(stream)
    first = memoryview(bytearray(chunk_size))
    n = _fill(readinto, first)
    if n == chunk_size:
        _hash_pipelined(readinto, hasher, first, sink)
    else:
        # The whole stream fits in one chunk: hash it here, a thread would cost more than it saves.
        hasher.update(first[:n])
        if sink is not None and n:
            sink(first[:n])
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


def blake3_file(path: Path) -> str:
    """BLAKE3 of a whole file through a memory map, on every core: the way ``b3sum`` reads.

    For verifying many stored files, where BLAKE3 alone is wanted as fast as the machine allows.
    """
    hasher = _blake3.blake3(max_threads=_blake3.blake3.AUTO)
    try:
        if path.stat().st_size == 0:
            return hasher.hexdigest()
        hasher.update_mmap(path)
    except FileNotFoundError:
        raise InputFileError(f"no such file: {path}") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return hasher.hexdigest()


def sha256_file(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file (hashlib releases the GIL, so several files can be hashed at once).

    Hashed through a memory map: no copy into a buffer, which is ~15 % faster on a warm page cache.
    """
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size == 0:
                return 0, hashlib.sha256().hexdigest()
            with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return len(mapped), hashlib.sha256(mapped).hexdigest()
    except FileNotFoundError:
        raise InputFileError(f"no such file: {path}") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None
