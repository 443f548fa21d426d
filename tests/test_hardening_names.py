"""Hostile inputs from the outside attack run (issue 11): endless or blocking input files, control characters
in names and notes, names that are not UTF-8, and page titles of megabytes. Each test failed before its fix."""

from __future__ import annotations

import json
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


# -- 12: control characters never reach the terminal -----------------------------------------------------

# What a hostile name can do to a terminal: retitle it (OSC 0 ... BEL), clear it (CSI 2J), move the cursor
# with a C1 control (CSI as one byte), forge a line of output (a newline), or reorder itself (RLO).
RETITLE, CLEAR, C1_CSI, RLO = "\x1b]0;owned\x07", "\x1b[2J", "\x9b1A", "\u202e"
FORGED_LOG_LINE = "\n     9  2026-01-01T00:00:00.000000Z  note.added          -              Ana Lima  all fine"
HOSTILE_NAME = f"photo{RETITLE}{CLEAR}{C1_CSI}{RLO}gpj.exe{FORGED_LOG_LINE}"
RAW_CONTROLS = [b"\x1b", b"\x07", "\x9b".encode(), RLO.encode(), b"\r"]


def _clean(output: bytes) -> None:
    for raw in RAW_CONTROLS:
        assert raw not in output, (raw, output)


@pytest.fixture
def hostile_case(tmp_path: Path) -> Path:
    case = make_case(tmp_path / "case")
    (tmp_path / "seized").mkdir()
    (tmp_path / "seized" / HOSTILE_NAME).write_bytes(b"evidence\n")
    return case


def test_add_items_show_and_log_escape_a_hostile_file_name(hostile_case, tmp_path):
    seized = tmp_path / "seized" / HOSTILE_NAME
    added = _run(["--case", str(hostile_case), "add", str(seized), "--note", f"from the phone{CLEAR}{FORGED_LOG_LINE}"])
    assert added.returncode == 0, added.stderr
    _clean(added.stdout + added.stderr)
    assert added.stdout.count(b"\n") == 1 and b"\\x1b]0;owned\\x07\\x1b[2J\\x9b1A\\u202egpj.exe\\n" in added.stdout
    folder = _run(["--case", str(hostile_case), "add", str(tmp_path / "seized")])
    assert folder.returncode == 0, folder.stderr
    _clean(folder.stdout + folder.stderr)
    count = len(json.loads(_run(["--case", str(hostile_case), "log", "--json"]).stdout))
    log = _run(["--case", str(hostile_case), "log"])
    assert log.returncode == 0, log.stderr
    _clean(log.stdout)
    assert log.stdout.count(b"\n") == count, "a name or a note may not forge a line of the log"
    assert b"all fine" in log.stdout and b"\\nfrom" not in log.stdout
    for command in (["items"], ["show", "file-0001"], ["show", "folder-0001"]):
        shown = _run(["--case", str(hostile_case), *command])
        assert shown.returncode == 0, shown.stderr
        _clean(shown.stdout)
        assert b"\\u202egpj.exe" in shown.stdout, shown.stdout


def test_json_output_keeps_the_name_exact(hostile_case, tmp_path):
    seized = tmp_path / "seized" / HOSTILE_NAME
    assert _run(["--case", str(hostile_case), "add", str(seized)]).returncode == 0
    entries = json.loads(_run(["--case", str(hostile_case), "log", "--json"]).stdout)
    added = next(e for e in entries if e["action"] == "file.added")
    assert added["details"]["original_name"] == HOSTILE_NAME


def test_error_messages_escape_the_names_they_quote(hostile_case, tmp_path):
    missing = tmp_path / f"gone{CLEAR}{RLO}\nevidencekit: all good"
    result = _run(["--case", str(hostile_case), "add", str(missing)])
    assert result.returncode == 2
    _clean(result.stderr)
    assert result.stderr.count(b"\n") == 1 and b"\\x1b[2J\\u202e" in result.stderr, result.stderr
    unknown = _run(["--case", str(hostile_case), "show", f"file-9{RETITLE}"])
    assert unknown.returncode == 2
    _clean(unknown.stderr)
    assert b"\\x1b]0;owned\\x07" in unknown.stderr


def test_a_note_with_controls_stays_on_its_line_of_the_log(hostile_case):
    text = f"call at 10:02{RLO}{CLEAR}\r\nseq 99 custody transferred"
    assert _run(["--case", str(hostile_case), "note", text]).returncode == 0
    log = _run(["--case", str(hostile_case), "log"])
    _clean(log.stdout)
    assert b"call at 10:02\\u202e\\x1b[2J\\r\\nseq 99 custody transferred" in log.stdout, log.stdout
