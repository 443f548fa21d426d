"""Size, BLAKE3 and SHA-256 of a file or stream in one read. The only importer of ``blake3``.

BLAKE3 and SHA-256 both release the GIL on large buffers, so for large inputs BLAKE3 runs on a worker
thread over the same buffer while SHA-256 runs on the caller's thread: the pair costs about what SHA-256
alone costs. Small inputs are hashed inline, where a thread hand-off would cost more than it saves.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import blake3 as _blake3

from evidencekit.errors import InputFileError, ValidationError

CHUNK_SIZE = 4 * 1024 * 1024
# Below this many bytes a chunk is hashed inline: the worker thread only pays off on big buffers.
_PARALLEL_THRESHOLD = 256 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Digests:
    """Size and both digests of one byte sequence. Digests are lower-case hex, without algorithm prefix."""

    size: int
    blake3: str
    sha256: str

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValidationError(f"a size cannot be negative: {self.size}")
        for name in ("blake3", "sha256"):
            if not _HEX64.fullmatch(getattr(self, name)):
                raise ValidationError(f"not a {name} hex digest: {getattr(self, name)!r}")

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
    hashes have consumed it.
    """

    def __init__(self, executor: ThreadPoolExecutor | None = None) -> None:
        self._b3 = _blake3.blake3(max_threads=_blake3.blake3.AUTO)
        self._sha = hashlib.sha256()
        self._size = 0
        self._executor = executor

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._size += len(data)
        if self._executor is not None and len(data) >= _PARALLEL_THRESHOLD:
            pending = self._executor.submit(self._b3.update, data)
            self._sha.update(data)
            pending.result()
        else:
            self._b3.update(data)
            self._sha.update(data)

    def digests(self) -> Digests:
        return Digests(size=self._size, blake3=self._b3.hexdigest(), sha256=self._sha.hexdigest())


def _read_chunks(stream: BinaryIO, chunk_size: int) -> Iterator[memoryview]:
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    while True:
        n = stream.readinto(view)  # type: ignore[attr-defined]
        if not n:
            return
        yield view[:n]


def hash_stream(
    stream: BinaryIO,
    *,
    sink: Callable[[memoryview], object] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Digests:
    """Hash everything left in ``stream``; each chunk is also handed to ``sink`` (e.g. a file being written)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="blake3") as executor:
        hasher = DualHasher(executor)
        for chunk in _read_chunks(stream, chunk_size):
            hasher.update(chunk)
            if sink is not None:
                sink(chunk)
        return hasher.digests()


def hash_file(path: Path, *, chunk_size: int = CHUNK_SIZE) -> Digests:
    """Hash a regular file in one read. A missing file, a folder or an unreadable file is an InputFileError."""
    try:
        with path.open("rb") as stream:
            return hash_stream(stream, chunk_size=chunk_size)
    except FileNotFoundError:
        raise InputFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputFileError(f"{path} is a folder, not a file; name the files inside it") from None
    except PermissionError:
        raise InputFileError(f"cannot read {path}: permission denied") from None


def hash_bytes(data: bytes) -> Digests:
    hasher = DualHasher()
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
