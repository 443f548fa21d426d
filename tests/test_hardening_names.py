"""Hostile inputs from the outside attack run (issue 11): endless or blocking input files, control characters
in names and notes, names that are not UTF-8, and page titles of megabytes. Each test failed before its fix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from casekit import make_case

from evidencekit.workflows.capture import URL_FILE_LIMIT


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``python -m evidencekit`` as a real process, bytes in and out (names may not be UTF-8)."""
    return subprocess.run(
        [sys.executable, "-m", "evidencekit", *args],
        capture_output=True,
        timeout=timeout,
        env=dict(os.environ),
        check=False,
    )


def _one_line_usage_error(result: subprocess.CompletedProcess[bytes], fragment: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr, result.stderr
    assert fragment.encode() in result.stderr, result.stderr


# -- 13: bounds on what is read from --from-file and verify --key ---------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    """A named pipe nobody writes to: opening it for reading the ordinary way blocks for ever."""
    path = tmp_path / "urls.fifo"
    os.mkfifo(path)
    return path


def test_from_file_refuses_a_fifo_with_no_writer_at_once(tmp_path, fifo):
    case = make_case(tmp_path / "case", with_key=False)
    started = time.monotonic()
    result = _run(["--case", str(case), "capture", "--from-file", str(fifo)], timeout=30)
    assert time.monotonic() - started < 30
    _one_line_usage_error(result, "is a FIFO (named pipe), not a regular file")


def test_from_file_refuses_dev_zero_without_reading_it(tmp_path):
    case = make_case(tmp_path / "case", with_key=False)
    result = _run(["--case", str(case), "capture", "--from-file", "/dev/zero"], timeout=30)
    _one_line_usage_error(result, "/dev/zero is a device, not a regular file")


def test_from_file_refuses_a_file_over_the_bound(tmp_path):
    case = make_case(tmp_path / "case", with_key=False)
    big = tmp_path / "urls.txt"
    line = b"http://127.0.0.1:9/\n"
    big.write_bytes(line * (URL_FILE_LIMIT // len(line) + 1))
    result = _run(["--case", str(case), "capture", "--from-file", str(big)])
    _one_line_usage_error(result, f"is too large for a list of URLs ({big.stat().st_size} bytes; at most")


def test_from_file_refuses_a_folder(tmp_path):
    case = make_case(tmp_path / "case", with_key=False)
    result = _run(["--case", str(case), "capture", "--from-file", str(tmp_path)])
    _one_line_usage_error(result, "is a folder, not a regular file")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_verify_key_refuses_a_fifo_or_a_device_at_once(tmp_path, fifo, kind):
    spec = str(fifo) if kind == "fifo" else "/dev/zero"
    result = _run(["verify", str(tmp_path / "no-bundle"), "--key", spec], timeout=30)
    _one_line_usage_error(result, "not a regular file; a public key (--key) is read only from a regular file")
