"""Hostile inputs from the outside attack run (issue 11): endless or blocking input files, control characters
in names and notes, names that are not UTF-8, and page titles of megabytes. Each test failed before its fix."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from casekit import make_case

from evidencekit.workflows.capture import URL_FILE_LIMIT
from evidencekit.workflows.capturing import TITLE_LIMIT


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``python -m evidencekit`` as a real process, bytes in and out (names may not be UTF-8). Its stdout is
    strict UTF-8, as on an investigator's UTF-8 terminal (a C locale would let undecodable bytes through)."""
    return subprocess.run(
        [sys.executable, "-m", "evidencekit", *[a if isinstance(a, str) else os.fsdecode(a) for a in args]],
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
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


# -- 11: names and text that are not valid UTF-8 ---------------------------------------------------------

BAD_NAME = b"bad\xff\xfename.txt"  # e.g. Latin-1 or a damaged directory entry on seized media


def _objects(case: Path) -> list[Path]:
    return sorted(p for p in (case / "objects").rglob("*") if p.is_file())


def test_a_file_name_that_is_not_utf8_is_added_and_recorded_losslessly(tmp_path):
    case = make_case(tmp_path / "case")
    seized = os.path.join(os.fsencode(tmp_path), BAD_NAME)
    with open(seized, "wb") as handle:
        handle.write(b"from the seized drive\n")
    added = _run(["--case", str(case), "add", os.fsdecode(seized)])
    assert added.returncode == 0, added.stderr
    assert b"bad\\xff\\xfename.txt" in added.stdout and b"sha256:" in added.stdout
    entries = json.loads(_run(["--case", str(case), "log", "--json"]).stdout)
    details = next(e for e in entries if e["action"] == "file.added")["details"]
    assert details["original_name"] == "bad\ufffd\ufffdname.txt"
    assert base64.b64decode(details["original_name_bytes"]) == BAD_NAME
    assert base64.b64decode(details["original_path_bytes"]) == os.path.realpath(seized)
    assert _run(["--case", str(case), "ledger", "verify"]).returncode == 0
    as_json = json.loads(_run(["--case", str(case), "add", "--json", os.fsdecode(seized)]).stdout)
    assert base64.b64decode(as_json[0]["path_bytes"]) == seized


def test_a_folder_holding_names_that_are_not_utf8_is_added_with_each_path_told_apart(tmp_path):
    case = make_case(tmp_path / "case")
    folder = os.path.join(os.fsencode(tmp_path), b"seized")
    os.makedirs(os.path.join(folder, b"sub\xfe", b"empty\xe9"))
    for name, body in ((b"in\xffside", b"1"), (b"in\xfeside", b"2"), (b"sub\xfe/ok.txt", b"3")):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(body)
    result = _run(["--case", str(case), "add", os.fsdecode(folder)])
    assert result.returncode == 0, result.stderr
    entries = json.loads(_run(["--case", str(case), "log", "--json"]).stdout)
    details = next(e for e in entries if e["action"] == "folder.added")["details"]
    raw = {base64.b64decode(f["relative_path_bytes"]) for f in details["files"] if "relative_path_bytes" in f}
    assert raw == {b"in\xffside", b"in\xfeside", b"sub\xfe/ok.txt"}
    assert len({f["artefact"] for f in details["files"]}) == 3
    assert [base64.b64decode(b) for b in details["empty_folders_bytes"]] == [b"sub\xfe/empty\xe9"]
    shown = _run(["--case", str(case), "show", "folder-0001"])
    assert b"found as in\\xffside" in shown.stdout and b"found as in\\xfeside" in shown.stdout, shown.stdout
    assert _run(["--case", str(case), "ledger", "verify"]).returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ["note", os.fsdecode(b"seen at the scene \xff")],
        ["add", "FILE", "--note", os.fsdecode(b"from the \xe9vidence room")],
        ["init", "OTHER", "--case-id", "T-2", "--title", os.fsdecode(b"Caf\xe9"), "--investigator", "Ana Lima"],
    ],
)
def test_text_that_is_not_utf8_is_refused_in_one_line_and_stores_nothing(tmp_path, args):
    case = make_case(tmp_path / "case")
    before = _objects(case)
    recorded = len(json.loads(_run(["--case", str(case), "log", "--json"]).stdout))  # init's entries
    good = tmp_path / "good.txt"
    good.write_bytes(b"fine\n")
    args = [str(good) if a == "FILE" else str(tmp_path / "other") if a == "OTHER" else a for a in args]
    result = _run(["--case", str(case), *args])
    _one_line_usage_error(result, "is not valid UTF-8 text")
    assert _objects(case) == before, "nothing stored for an entry that was never made"
    assert not (tmp_path / "other").exists()
    assert len(json.loads(_run(["--case", str(case), "log", "--json"]).stdout)) == recorded, "nothing recorded"


def test_a_case_folder_whose_name_is_not_utf8_works_in_text_and_json(tmp_path):
    case = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"case-\xff"))
    make_case(Path(case))
    evidence = tmp_path / "photo.txt"
    evidence.write_bytes(b"1")
    assert _run(["--case", case, "add", str(evidence)]).returncode == 0
    for command in (["items"], ["log"], ["show", "file-0001"], ["ledger", "verify"]):
        text = _run(["--case", case, *command])
        assert text.returncode == 0, (command, text.stderr)
        as_json = _run(["--case", case, *command, "--json"])
        assert as_json.returncode == 0 and as_json.stdout, (command, as_json.stderr)
    shown = json.loads(_run(["--case", case, "show", "file-0001", "--json"]).stdout)
    stored = next(iter(shown["stored_paths"].values()))
    assert os.fsencode(stored).startswith(os.path.join(os.fsencode(tmp_path), b"case-\xff/objects/")), stored


def test_the_add_workflow_stores_nothing_before_its_entry_can_be_made(tmp_path):
    from evidencekit.errors import UsageError
    from evidencekit.workflows.case import add_files
    from evidencekit.workflows.opencase import Session

    case = make_case(tmp_path / "case")
    before = _objects(case)
    good = tmp_path / "good.txt"
    good.write_bytes(b"fine\n")
    with pytest.raises(UsageError, match="not valid UTF-8"):
        add_files(Session(case_dir=case, environ=dict(os.environ)), [good], note=os.fsdecode(b"\xff"))
    assert _objects(case) == before


# -- 16: a page's title of megabytes is cut in the ledger, kept whole in metadata.json ------------------------


def test_a_huge_page_title_is_capped_in_the_ledger_and_whole_in_metadata(tmp_path, site):
    case = make_case(tmp_path / "case")
    result = _run(["--case", str(case), "capture", site.url("/huge-title.html"), "--no-mhtml"], timeout=300)
    assert result.returncode == 0, result.stderr
    entries = json.loads(_run(["--case", str(case), "log", "--json"]).stdout)
    completed = next(e for e in entries if e["action"] == "capture.completed")
    whole_length = len("HUGE-TITLE-START  HUGE-TITLE-END") + 5 * 1024 * 1024
    details = completed["details"]
    assert details["title"] == ("HUGE-TITLE-START " + "x" * 5 * 1024 * 1024)[:TITLE_LIMIT]
    assert details["title_full_length"] == whole_length, "the entry says it was cut, and how long the whole is"
    assert len(json.dumps(completed)) < 20_000, "the ledger line stays small"
    metadata = next(a for a in completed["artefacts"] if a["name"] == "metadata.json")
    digest = metadata["blake3"].split(":", 1)[1]
    kept = json.loads((case / "objects" / digest[:2] / digest).read_bytes())
    assert len(kept["title"]) == whole_length and kept["title"].endswith(" HUGE-TITLE-END")
    assert _run(["--case", str(case), "ledger", "verify"]).returncode == 0
