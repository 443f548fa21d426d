"""Issue 11 storage hardening: a write-blocked case, damaged checkpoint files and case.json, a torn
checkpoint note, a full disk. Real case folders, real mounts (as root) and the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from casekit import make_case, raw_db, run_cli, run_subprocess, verify_json
from fixture_site import FixtureSite


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def read_only_case(tmp_path: Path) -> Iterator[Path]:
    """A case with a file and a note, seen through a read-only view: a read-only bind mount as root (root
    ignores permission bits, as a write blocker would not), else folders and files without write rights."""
    case = make_case(tmp_path / "case")
    (tmp_path / "f.txt").write_text("evidence\n")
    assert run_cli(["--case", str(case), "add", str(tmp_path / "f.txt")]).exit_code == 0
    assert run_cli(["--case", str(case), "note", "seen", "--item", "file-0001"]).exit_code == 0
    if os.geteuid() == 0:
        view = tmp_path / "blocked"
        view.mkdir()
        _mount("--bind", str(case), str(view))
        try:
            _mount("-o", "remount,ro,bind", str(view))
            yield view
        finally:
            _mount_off(view)
    else:
        paths = [case, *case.rglob("*")]
        for path in paths:
            path.chmod(path.stat().st_mode & ~0o222)
        yield case
        for path in paths:
            path.chmod(path.stat().st_mode | 0o200)


def _mount_off(view: Path) -> None:
    subprocess.run(["umount", str(view)], check=True, capture_output=True)


@pytest.mark.parametrize(
    "args", [["items"], ["show", "file-0001"], ["log"], ["indicators"], ["ledger", "verify"]], ids=" ".join
)
def test_reading_commands_work_on_a_read_only_case(read_only_case: Path, args: list[str]) -> None:
    result = run_subprocess(["--case", str(read_only_case), *args])
    assert result.returncode == 0, result.stderr
    assert "VERIFIED" in result.stdout or args != ["ledger", "verify"]


@pytest.mark.parametrize(
    "args",
    [["note", "later"], ["add", "{file}"], ["checkpoint"], ["export", "{out}"]],
    ids=lambda a: a[0],
)
def test_recording_commands_say_the_case_is_read_only(read_only_case: Path, tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "g.txt").write_text("more\n")
    filled = [a.format(file=tmp_path / "g.txt", out=tmp_path / "out.zip") for a in args]
    result = run_subprocess(["--case", str(read_only_case), *filled])
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "the case folder is read-only" in lines[0]
    assert not (tmp_path / "out.zip").exists()


def test_capture_on_a_read_only_case_says_so(read_only_case: Path, site: FixtureSite) -> None:
    result = run_subprocess(["--case", str(read_only_case), "capture", site.url("/")], timeout=180)
    assert result.returncode == 1, result.stderr
    assert "the case folder is read-only" in result.stderr
    assert "internal error" not in result.stderr


# --- defect 15: checkpoint files and case.json judged consistently -----------------------------------------
def _signed_case(tmp_path: Path) -> Path:
    case = make_case(tmp_path / "case")
    (tmp_path / "f.txt").write_text("evidence\n")
    assert run_cli(["--case", str(case), "add", str(tmp_path / "f.txt")]).exit_code == 0
    return case


@pytest.mark.parametrize("damage", ["emptied", "deleted"])
def test_an_emptied_checkpoints_file_is_judged_as_a_deleted_one(tmp_path: Path, damage: str) -> None:
    case = _signed_case(tmp_path)
    checkpoints = case / "checkpoints.txt"
    if damage == "emptied":
        checkpoints.write_bytes(b"")
    else:
        checkpoints.unlink()
    code, report = verify_json(case)
    assert code == 3
    problems = [p["code"] for p in report["problems"]]  # type: ignore[union-attr]
    assert problems == ["checkpoints_file.missing"]


def test_a_deleted_case_json_beside_its_ledger_is_a_damaged_case(tmp_path: Path) -> None:
    case = _signed_case(tmp_path)
    (case / "case.json").unlink()
    for args in (["items"], ["ledger", "verify"], ["note", "x"]):
        result = run_subprocess(["--case", str(case), *args])
        assert result.returncode == 3, result.stderr
        assert "case.json is missing: the case is damaged" in result.stderr


# --- defect 1: a torn final checkpoint note ----------------------------------------------------------------
def _tear_newest_note(path: Path, keep: int) -> bytes:
    """Leave ``path`` as a crash in the middle of appending its newest note does: its first ``keep`` bytes."""
    data = path.read_bytes()
    newest = data[: len(data) - 2].rfind(b"\n\n")  # the end of the newest note's body
    before = data[:newest].rfind(b"\n\n")  # the end of the note before it, if any
    start = before + 2 if before >= 0 else 0
    torn = data[start : start + keep]
    path.write_bytes(data[:start] + torn)
    return torn


def _ledger_actions(case: Path) -> list[tuple[str, dict[str, object]]]:
    conn = raw_db(case)
    try:
        return [
            (a, json.loads(e)["details"]) for a, e in conn.execute("SELECT action, entry FROM entries ORDER BY seq")
        ]
    finally:
        conn.close()


@pytest.mark.parametrize("where", ["checkpoints.txt", "witness copy"])
def test_a_torn_final_note_is_an_interrupted_append_repaired_and_recorded(tmp_path: Path, where: str) -> None:
    case = _signed_case(tmp_path)
    witness = next((Path(os.environ["XDG_CONFIG_HOME"]) / "evidencekit" / "witness").glob("*.txt"))
    path = case / "checkpoints.txt" if where == "checkpoints.txt" else witness
    whole = path.read_bytes()
    torn = _tear_newest_note(path, 57)

    code, report = verify_json(case)
    assert code == 0, report["problems"]
    assert "checkpoints_file.interrupted" in [w["code"] for w in report["warnings"]]  # type: ignore[union-attr]

    result = run_subprocess(["--case", str(case), "note", "after the crash"])
    assert result.returncode == 0, result.stderr
    repaired = [d for a, d in _ledger_actions(case) if a == "checkpoints.repaired"]
    assert len(repaired) == 1
    assert repaired[0]["file"] == where and repaired[0]["bytes"] == len(torn)
    assert path.read_bytes().startswith(whole), "the torn note was completed, nothing before it changed"
    code, report = verify_json(case)
    assert code == 0 and report["ok"] and report["warnings"] == [], report
    log = run_subprocess(["--case", str(case), "log"])
    assert f"interrupted checkpoint append repaired in {where}: {len(torn)} torn bytes cut" in log.stdout


def test_torn_bytes_that_begin_no_note_of_the_ledger_stay_a_problem(tmp_path: Path) -> None:
    case = _signed_case(tmp_path)
    path = case / "checkpoints.txt"
    torn = _tear_newest_note(path, 57)
    forged = torn[:-5] + b"XXXXX"
    path.write_bytes(path.read_bytes()[: -len(torn)] + forged)
    before = path.read_bytes()

    code, report = verify_json(case)
    assert code == 3
    assert "checkpoints_file.damaged" in [p["code"] for p in report["problems"]]  # type: ignore[union-attr]
    result = run_subprocess(["--case", str(case), "note", "after"])
    assert result.returncode == 3
    assert "begin no checkpoint the ledger holds" in result.stderr
    assert path.read_bytes() == before
    assert "checkpoints.repaired" not in [a for a, _ in _ledger_actions(case)]
    assert "note.added" not in [a for a, _ in _ledger_actions(case)]
