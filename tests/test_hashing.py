"""evidencekit.hashing against the official BLAKE3 test vectors, hashlib, and its own promises.

The vectors (tests/data/blake3_test_vectors.json) are the BLAKE3 team's own file, stored byte for byte.
Each case's input is the bytes 0, 1, ..., 250 repeated to ``input_len``; ``hash`` is a 131-byte extended
output whose first 32 bytes are the ordinary digest.
"""

from __future__ import annotations

import array
import hashlib
import io
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import blake3
import pytest

from evidencekit.errors import EXIT_USAGE, InputFileError, OperationalError, ValidationError
from evidencekit.hashing import (
    CHUNK_SIZE,
    Digests,
    DualHasher,
    blake3_bytes,
    blake3_hasher,
    blake3_hex,
    hash_bytes,
    hash_file,
    hash_stream,
    untag,
)

VECTORS_PATH = Path(__file__).parent / "data" / "blake3_test_vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = VECTORS["cases"]
WORKER_PREFIX = "evidencekit-blake3"
NOBODY = 65534


def pattern(length: int) -> bytes:
    """The vectors' input: 0, 1, ..., 250, 0, 1, ... of the given length."""
    return bytes(range(251)) * (length // 251) + bytes(range(length % 251))


def expected(data: bytes) -> Digests:
    """Digests computed by the reference libraries directly, not by the code under test."""
    return Digests(len(data), blake3.blake3(data).hexdigest(), hashlib.sha256(data).hexdigest())


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(WORKER_PREFIX)]


def by_length(case: dict[str, Any]) -> str:
    return f"len{case['input_len']}"


# --- the vector file itself -------------------------------------------------------------------------


def test_vector_file_is_the_official_one() -> None:
    # Shape of the BLAKE3 team's file as stored (the copy in the search index: 22 cases, 0 to 102400
    # bytes). Every output is checked against the blake3 library below, so a damaged copy fails there.
    assert VECTORS["key"] == "whats the Elvish word for friend"
    assert VECTORS["context_string"] == "BLAKE3 2019-12-27 16:29:52 test vectors context"
    assert len(CASES) == 22
    assert [c["input_len"] for c in CASES] == sorted(c["input_len"] for c in CASES)
    assert CASES[0]["input_len"] == 0
    assert CASES[0]["hash"].startswith("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
    assert CASES[-1]["input_len"] == 102400
    for case in CASES:
        for mode in ("hash", "keyed_hash", "derive_key"):
            assert len(bytes.fromhex(case[mode])) == 131


def test_pattern_matches_the_vector_description() -> None:
    data = pattern(600)
    assert data[:3] == b"\x00\x01\x02"
    assert data[250] == 250
    assert data[251] == 0
    assert data[599] == 599 % 251
    assert len(pattern(0)) == 0


# --- default-length digest through every entry point ---------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=by_length)
def test_vector_through_hash_bytes(case: dict[str, Any]) -> None:
    data = pattern(case["input_len"])
    digests = hash_bytes(data)
    assert digests.blake3 == case["hash"][:64]
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    assert digests.size == case["input_len"]


@pytest.mark.parametrize("case", CASES, ids=by_length)
def test_vector_through_the_small_helpers(case: dict[str, Any]) -> None:
    data = pattern(case["input_len"])
    assert blake3_hex(data) == case["hash"][:64]
    assert blake3_bytes(data) == bytes.fromhex(case["hash"][:64])
    assert blake3_hex(memoryview(bytearray(data))) == case["hash"][:64]


class RecordingStream(io.BytesIO):
    """An in-memory stream that notes which thread made each read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.readers: list[str] = []

    def readinto(self, buffer: Any) -> int:
        self.readers.append(threading.current_thread().name)
        return super().readinto(buffer)


@pytest.mark.parametrize("chunk_size", [1, 1023, 1024, 1025, 4096, 65536, 102400, CHUNK_SIZE])
@pytest.mark.parametrize("case", CASES, ids=by_length)
def test_vector_through_hash_stream(case: dict[str, Any], chunk_size: int) -> None:
    data = pattern(case["input_len"])
    stream = RecordingStream(data)
    received = bytearray()
    digests = hash_stream(stream, chunk_size=chunk_size, sink=received.extend)
    assert digests.blake3 == case["hash"][:64]
    assert digests == expected(data)
    assert bytes(received) == data
    # An input of at least one chunk goes through the reader thread (BLAKE3 and read-ahead there,
    # SHA-256 here); a shorter one is hashed inline without starting a thread.
    read_by_worker = any(name.startswith(WORKER_PREFIX) for name in stream.readers)
    assert read_by_worker == (len(data) >= chunk_size)


@pytest.mark.parametrize("case", CASES, ids=by_length)
def test_vector_through_hash_file(case: dict[str, Any], tmp_path: Path) -> None:
    data = pattern(case["input_len"])
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    digests = hash_file(path)
    assert digests.blake3 == case["hash"][:64]
    assert digests == expected(data)
    assert hash_file(path, chunk_size=1025) == digests


# --- extended outputs and the other modes, through the library we depend on ------------------------


@pytest.mark.parametrize("case", CASES, ids=by_length)
def test_vector_extended_output_and_modes(case: dict[str, Any]) -> None:
    data = pattern(case["input_len"])
    hasher = blake3_hasher()
    hasher.update(data)
    assert hasher.hexdigest(length=131) == case["hash"]
    assert hasher.digest(length=32) == bytes.fromhex(case["hash"][:64])
    key = VECTORS["key"].encode("ascii")
    assert blake3.blake3(data, key=key).hexdigest(length=131) == case["keyed_hash"]
    derived = blake3.blake3(data, derive_key_context=VECTORS["context_string"])
    assert derived.hexdigest(length=131) == case["derive_key"]


# --- large inputs: the worker thread and the read-ahead at their real sizes -----------------------


@pytest.fixture(scope="module")
def large_random() -> bytes:
    # 20 MiB plus an odd tail, so the last chunk is short and not a multiple of anything.
    return random.Random(20240601).randbytes(20 * 1024 * 1024 + 12_345)


@pytest.fixture(scope="module")
def large_random_file(large_random: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "random.bin"
    path.write_bytes(large_random)
    return path


def test_large_file_matches_hashlib_and_blake3(large_random: bytes, large_random_file: Path) -> None:
    assert hash_file(large_random_file) == expected(large_random)


@pytest.mark.parametrize("chunk_size", [256 * 1024, 300_001, CHUNK_SIZE, 4 * 1024 * 1024 + 1])
def test_large_file_with_other_chunk_sizes(large_random: bytes, large_random_file: Path, chunk_size: int) -> None:
    assert hash_file(large_random_file, chunk_size=chunk_size) == expected(large_random)


def test_large_stream_and_bytes(large_random: bytes) -> None:
    assert hash_stream(io.BytesIO(large_random)) == expected(large_random)
    assert hash_bytes(large_random) == expected(large_random)
    assert hash_bytes(memoryview(large_random)[1:]) == expected(large_random[1:])


def test_the_worker_thread_is_gone_afterwards(large_random: bytes) -> None:
    seen: list[int] = []
    hash_stream(io.BytesIO(large_random), sink=lambda _: seen.append(len(worker_threads())))
    assert max(seen) == 1
    assert worker_threads() == []


def test_small_inputs_start_no_thread() -> None:
    seen: list[int] = []
    hash_stream(io.BytesIO(b"x" * 100_000), sink=lambda _: seen.append(len(worker_threads())))
    assert seen == [0]


# --- the sink ----------------------------------------------------------------------------------------


def test_sink_receives_exactly_the_bytes_in_order(large_random: bytes) -> None:
    received: list[bytes] = []
    digests = hash_stream(io.BytesIO(large_random), sink=lambda chunk: received.append(bytes(chunk)))
    assert b"".join(received) == large_random
    assert all(received[:-1]) and len(received) == -(-len(large_random) // CHUNK_SIZE)
    assert digests == expected(large_random)


def test_sink_chunk_is_not_overwritten_while_the_sink_holds_it(large_random: bytes) -> None:
    # The worker reads the next chunk while the sink runs; it must read into the other buffer. Waiting
    # inside the sink gives it every chance to finish that read before we look again.
    changed: list[int] = []

    def slow_sink(chunk: memoryview) -> None:
        before = bytes(chunk)
        time.sleep(0.005)
        if bytes(chunk) != before:
            changed.append(len(changed))

    hash_stream(io.BytesIO(large_random), sink=slow_sink, chunk_size=512 * 1024)
    assert changed == []


def test_sink_gets_memoryviews_even_from_streams_without_readinto() -> None:
    class ReadOnly(io.RawIOBase):
        """A stream offering only ``read``, as some wrappers do."""

        def __init__(self, data: bytes) -> None:
            self._source = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._source.read(size)

    data = pattern(3_000_000)
    stream = ReadOnly(data)
    stream.readinto = None  # type: ignore[method-assign,assignment]
    kinds: set[type] = set()
    received = bytearray()

    def sink(chunk: memoryview) -> None:
        kinds.add(type(chunk))
        received.extend(chunk)

    assert hash_stream(stream, sink=sink) == expected(data)  # type: ignore[arg-type]
    assert kinds == {memoryview}
    assert bytes(received) == data


class Trickle(io.RawIOBase):
    """A raw stream that returns short reads of varying length, as pipes and sockets do."""

    def __init__(self, data: bytes, seed: int = 7) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._random = random.Random(seed)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._random.choice([1, 17, 4096, 300_000, len(buffer)]))
        piece = self._data[self._pos : self._pos + want]
        buffer[: len(piece)] = piece
        self._pos += len(piece)
        return len(piece)


def test_short_reads_of_varying_length() -> None:
    data = pattern(5_000_000)
    received = bytearray()
    assert hash_stream(Trickle(data), sink=received.extend) == expected(data)  # type: ignore[arg-type]
    assert bytes(received) == data


def test_a_failing_sink_stops_hashing_and_leaves_no_thread(large_random: bytes) -> None:
    calls: list[int] = []

    def full_disk(chunk: memoryview) -> None:
        calls.append(len(chunk))
        if len(calls) == 3:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        hash_stream(io.BytesIO(large_random), sink=full_disk)
    assert len(calls) == 3
    assert worker_threads() == []


# --- streams that fail or cannot be read to the end --------------------------------------------------


def test_a_read_error_in_the_worker_reaches_the_caller(large_random: bytes) -> None:
    class FailsLater(io.BytesIO):
        reads = 0

        def readinto(self, buffer: Any) -> int:
            self.reads += 1
            if self.reads == 4:
                raise OSError(5, "Input/output error")
            return super().readinto(buffer)

    with pytest.raises(OSError, match="Input/output error"):
        hash_stream(FailsLater(large_random))
    assert worker_threads() == []


def test_a_non_blocking_stream_is_refused_not_truncated() -> None:
    class NotReady(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int | None:
            return None

    with pytest.raises(InputFileError, match="non-blocking"):
        hash_stream(NotReady())  # type: ignore[arg-type]


def test_an_empty_stream_has_the_empty_digests() -> None:
    assert hash_stream(io.BytesIO(b"")) == expected(b"")
    assert hash_bytes(b"") == expected(b"")
    assert hash_stream(io.BytesIO(b"")).blake3 == CASES[0]["hash"][:64]


def test_a_chunk_size_below_one_is_refused() -> None:
    with pytest.raises(ValidationError, match="chunk size"):
        hash_stream(io.BytesIO(b"abc"), chunk_size=0)


# --- DualHasher --------------------------------------------------------------------------------------


def test_dual_hasher_counts_bytes_not_items() -> None:
    words = array.array("I", range(1000))
    hasher = DualHasher()
    hasher.update(memoryview(words))
    assert hasher.digests() == expected(words.tobytes())


def test_dual_hasher_with_an_executor_matches_without(large_random: bytes) -> None:
    pieces = [large_random[:1], large_random[1 : 3 * 1024 * 1024], large_random[3 * 1024 * 1024 :]]
    with ThreadPoolExecutor(max_workers=1) as executor:
        hasher = DualHasher(executor)
        for piece in pieces:
            hasher.update(piece)
    assert hasher.digests() == expected(large_random)


# --- Digests and untag ------------------------------------------------------------------------------

GOOD_B3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
GOOD_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_digests_of_the_empty_input() -> None:
    assert hash_bytes(b"") == Digests(0, GOOD_B3, GOOD_SHA)


@pytest.mark.parametrize(
    "bad_hex",
    [
        "",
        GOOD_B3[:-1],
        GOOD_B3 + "0",
        GOOD_B3.upper(),
        "g" + GOOD_B3[1:],
        "blake3:" + GOOD_B3,
        " " + GOOD_B3[1:],
    ],
    ids=["empty", "short", "long", "upper-case", "not-hex", "tagged", "space"],
)
def test_digests_refuse_malformed_hex(bad_hex: str) -> None:
    with pytest.raises(ValidationError, match="blake3"):
        Digests(1, bad_hex, GOOD_SHA)
    with pytest.raises(ValidationError, match="sha256"):
        Digests(1, GOOD_B3, bad_hex)


@pytest.mark.parametrize("bad_size", [-1, -(2**70), True, 1.0, "1", None])
def test_digests_refuse_bad_sizes(bad_size: Any) -> None:
    with pytest.raises(ValidationError, match="size"):
        Digests(bad_size, GOOD_B3, GOOD_SHA)


def test_digests_round_trip_through_dict() -> None:
    digests = hash_bytes(b"evidence")
    as_dict = digests.to_dict()
    assert as_dict == {
        "size": 8,
        "blake3": f"blake3:{blake3.blake3(b'evidence').hexdigest()}",
        "sha256": f"sha256:{hashlib.sha256(b'evidence').hexdigest()}",
    }
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert Digests.from_dict(as_dict) == digests
    assert digests.blake3_tagged == as_dict["blake3"]
    assert digests.sha256_tagged == as_dict["sha256"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size": None}, "size"),
        ({"size": "8"}, "size"),
        ({"size": True}, "size"),
        ({"size": -8}, "negative"),
        ({"blake3": GOOD_B3}, "blake3"),
        ({"blake3": "sha256:" + GOOD_SHA}, "blake3"),
        ({"sha256": "blake3:" + GOOD_B3}, "sha256"),
        ({"sha256": "SHA256:" + GOOD_SHA}, "sha256"),
    ],
)
def test_from_dict_refuses_bad_fields(change: dict[str, object], message: str) -> None:
    data: dict[str, object] = {"size": 8, "blake3": "blake3:" + GOOD_B3, "sha256": "sha256:" + GOOD_SHA}
    data.update(change)
    with pytest.raises(ValidationError, match=message):
        Digests.from_dict(data)


@pytest.mark.parametrize("missing", ["size", "blake3", "sha256"])
def test_from_dict_names_a_missing_field(missing: str) -> None:
    data: dict[str, object] = {"size": 8, "blake3": "blake3:" + GOOD_B3, "sha256": "sha256:" + GOOD_SHA}
    del data[missing]
    with pytest.raises(ValidationError, match=repr(missing)):
        Digests.from_dict(data)


def test_untag_accepts_its_own_algorithm() -> None:
    assert untag("blake3", "blake3:" + GOOD_B3) == GOOD_B3
    assert untag("sha256", "sha256:" + GOOD_SHA) == GOOD_SHA


@pytest.mark.parametrize(
    ("algorithm", "tagged"),
    [
        ("blake3", "sha256:" + GOOD_SHA),
        ("sha256", "blake3:" + GOOD_B3),
        ("blake3", GOOD_B3),
        ("blake3", "blake3:" + GOOD_B3.upper()),
        ("blake3", "blake3:" + GOOD_B3[:-2]),
        ("blake3", "blake3: " + GOOD_B3),
        ("blake3", "BLAKE3:" + GOOD_B3),
        ("blake3", "blake3:" + GOOD_B3 + "\n"),
        ("blake3", ""),
    ],
)
def test_untag_refuses(algorithm: str, tagged: str) -> None:
    with pytest.raises(ValidationError, match=f"not a {algorithm} digest"):
        untag(algorithm, tagged)


# --- hash_file refusals ------------------------------------------------------------------------------


def assert_one_line_usage_error(error: InputFileError, *fragments: str) -> None:
    message = str(error)
    assert "\n" not in message and message.strip() == message
    assert error.exit_code == EXIT_USAGE
    for fragment in fragments:
        assert fragment in message


def test_hash_file_of_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "not-here.bin"
    with pytest.raises(InputFileError) as caught:
        hash_file(missing)
    assert_one_line_usage_error(caught.value, "no such file", str(missing))


def test_hash_file_of_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        hash_file(tmp_path)
    assert_one_line_usage_error(caught.value, "folder", str(tmp_path))


def test_hash_file_of_a_fifo_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError) as caught:
        hash_file(fifo)  # would wait for a writer forever if it were opened
    assert_one_line_usage_error(caught.value, "not a regular file", str(fifo))


def test_hash_file_of_a_device() -> None:
    with pytest.raises(InputFileError) as caught:
        hash_file(Path("/dev/null"))
    assert_one_line_usage_error(caught.value, "not a regular file")


def test_hash_file_follows_a_symlink_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "target.bin"
    target.write_bytes(b"content")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    assert hash_file(link) == expected(b"content")


def test_a_read_failure_half_way_is_operational() -> None:
    # /proc/self/mem is a regular file whose first page is unmapped: reading it fails with EIO, a real
    # read error that no permission check catches in advance.
    mem = Path("/proc/self/mem")
    if not mem.exists():
        pytest.skip("needs Linux /proc")
    with pytest.raises(OperationalError) as caught:
        hash_file(mem)
    assert "\n" not in str(caught.value) and str(mem) in str(caught.value)


def run_as_nobody(action: Callable[[], str]) -> str:
    """Run ``action`` in a forked child that has given up root; return what it reports (or why not)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(reader)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        except PermissionError as exc:
            report = f"SKIP cannot give up root here: {exc}"
        else:
            try:
                report = action()
            except BaseException as exc:  # the child reports; it must never unwind into pytest
                report = f"ERROR {type(exc).__name__}: {exc}"
        os.write(writer, report.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        report = pipe.read().decode()
    os.waitpid(pid, 0)
    return report


def test_hash_file_of_an_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        secret = tmp_path / "secret.bin"
        secret.write_bytes(b"no peeking")
        secret.chmod(0o000)
        try:
            with pytest.raises(InputFileError) as caught:
                hash_file(secret)
            assert_one_line_usage_error(caught.value, "permission denied", str(secret))
        finally:
            secret.chmod(0o600)
        return
    # Root reads a file whatever its mode, so chmod 000 proves nothing here: check the refusal in a
    # child process that has given up root. pytest's tmp_path sits in a folder only root may enter, so
    # the file goes in a folder of its own that others may pass through (but not list).
    folder = Path(tempfile.mkdtemp(prefix="evidencekit-unreadable-"))
    secret = folder / "secret.bin"
    try:
        folder.chmod(0o711)
        secret.write_bytes(b"no peeking")
        secret.chmod(0o000)
        assert os.access(secret, os.R_OK), "root should be able to read it: the premise of this test"

        def attempt() -> str:
            try:
                hash_file(secret)
            except InputFileError as exc:
                return f"InputFileError {exc.exit_code} {exc}"
            return "it was read"

        report = run_as_nobody(attempt)
        if report.startswith("SKIP"):
            pytest.skip(report)
        assert report == f"InputFileError {EXIT_USAGE} cannot read {secret}: permission denied"
    finally:
        secret.unlink(missing_ok=True)
        folder.rmdir()


def test_whole_file_passes_used_by_the_bundle_verifier(tmp_path):
    """``blake3_file`` (memory map, all cores) and ``sha256_file`` (memory map) agree with the libraries."""
    import hashlib as _hashlib

    import blake3 as _b3

    from evidencekit.hashing import blake3_file, sha256_file

    for size in (0, 1, 1023, 5 * 1024 * 1024 + 3):
        path = tmp_path / f"f{size}"
        data = os.urandom(size)
        path.write_bytes(data)
        assert blake3_file(path) == _b3.blake3(data).hexdigest()
        assert sha256_file(path) == (size, _hashlib.sha256(data).hexdigest())
