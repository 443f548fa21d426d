"""Issue 11 storage hardening: a write-blocked case, damaged checkpoint files and case.json, a torn
checkpoint note, a full disk. Real case folders, real mounts (as root) and the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from casekit import make_case, raw_db, read_only_view, run_cli, run_subprocess, verify_json
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
    with read_only_view(case, tmp_path) as view:
        yield view


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
    return _signed_case_in(tmp_path / "case", tmp_path)


def _signed_case_in(folder: Path, tmp_path: Path) -> Path:
    case = make_case(folder)
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


# --- defect 9: a full disk is one line, exit 1, "no space left on <path>" -------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB file system (tmpfs, mounted as root: the tests run as root, as CI does)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mountpoint))
    try:
        yield mountpoint
    finally:
        _mount_off(mountpoint)


def _fill(disk: Path, leave: int = 0) -> Path:
    """Fill ``disk`` until ``leave`` bytes (or none) are free; returns the filler file, to free it later."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (1 << 16, 4096, 1):
            try:
                while os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize > leave + chunk or not leave:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def _entries(case: Path) -> int:
    conn = raw_db(case)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    finally:
        conn.close()


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_full_disk_at_open_is_no_space_left_not_a_damaged_ledger(small_disk: Path, tmp_path: Path) -> None:
    case = _signed_case_in(small_disk / "case", tmp_path)
    before = _entries(case)
    filler = _fill(small_disk)
    for args in (["note", "x"], ["checkpoint"], ["add", str(tmp_path / "f.txt")]):
        result = run_subprocess(["--case", str(case), *args])
        assert result.returncode == 1, result.stderr
        line = _one_line(result)
        assert f"no space left on {case}" in line and "nothing was recorded" in line
        assert "not a readable ledger" not in line
    filler.unlink()
    assert _entries(case) == before
    assert verify_json(case)[0] == 0


def test_a_full_disk_while_storing_a_file_records_nothing(small_disk: Path, tmp_path: Path) -> None:
    case = _signed_case_in(small_disk / "case", tmp_path)
    before = _entries(case)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 << 20))
    filler = _fill(small_disk, leave=1 << 20)
    result = run_subprocess(["--case", str(case), "add", str(big)])
    assert result.returncode == 1, result.stderr
    line = _one_line(result)
    assert f"no space left on {case / 'objects'}" in line and "no entry naming it was recorded" in line
    filler.unlink()
    assert _entries(case) == before
    assert not list((case / "objects").glob(".incoming-*"))
    code, report = verify_json(case)
    assert code == 0 and report["warnings"] == [], report


def test_a_full_disk_while_appending_the_witness_note_is_cut_back_and_caught_up(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(small_disk))
    case = _signed_case_in(tmp_path / "case", tmp_path)
    witness = next((small_disk / "evidencekit" / "witness").glob("*.txt"))
    # tmpfs gives whole pages: bring the witness copy to the end of its page so the next note needs a new one.
    note_size = 0
    while 4096 - witness.stat().st_size % 4096 >= note_size:
        size = witness.stat().st_size
        assert run_cli(["--case", str(case), "checkpoint"]).exit_code == 0
        note_size = witness.stat().st_size - size + 8  # the next note is a little longer
    before, entries = witness.read_bytes(), _entries(case)
    filler = _fill(small_disk)
    result = run_subprocess(["--case", str(case), "checkpoint"])
    assert result.returncode == 1, result.stderr
    line = _one_line(result)
    assert f"no space left on {witness.parent}" in line and "recorded in the ledger (seq" in line
    assert witness.read_bytes() == before, "the failed append was cut back"
    assert _entries(case) > entries
    filler.unlink()
    assert run_subprocess(["--case", str(case), "note", "space again"]).returncode == 0
    code, report = verify_json(case)
    assert code == 0 and report["warnings"] == [], report


def test_a_full_disk_inside_a_ledger_transaction_records_nothing(small_disk: Path, tmp_path: Path) -> None:
    """Free space from none to a little more than a note needs: each `note` is recorded whole or says
    "no space left" in one line, exit 1, with nothing recorded; a full disk mid-transaction is among them."""
    case = _signed_case_in(small_disk / "case", tmp_path)
    causes = []
    for leave_kb in range(0, 84, 4):
        entries = _entries(case)
        stat = os.statvfs(small_disk)
        filler = small_disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.posix_fallocate(fd, 0, max(stat.f_bavail * stat.f_frsize - leave_kb * 1024, 1))
        finally:
            os.close(fd)
        result = run_subprocess(["--verbose", "--case", str(case), "note", f"with {leave_kb} KB free"])
        filler.unlink()
        if result.returncode == 0:
            assert _entries(case) > entries
            continue
        assert result.returncode == 1, result.stderr
        line = result.stderr.splitlines()[0]
        assert line.startswith(f"evidencekit: error: no space left on {case}; nothing was recorded"), line
        assert _entries(case) == entries
        causes.append(result.stderr)
    assert any("database or disk is full" in cause for cause in causes), "the transaction itself met the full disk"
    code, report = verify_json(case)
    assert code == 0 and report["warnings"] == [], report


def test_a_case_without_write_bits_is_read_only_even_for_root(tmp_path: Path, monkeypatch) -> None:
    """Root ignores permission bits, but an examiner who write-protects a copy with ``chmod -R a-w`` means it:
    recording commands refuse, and search keeps its index in the cache folder, not in the case."""
    case = make_case(tmp_path / "case")
    (tmp_path / "f.txt").write_text("evidence Zanzibarine\n")
    assert run_cli(["--case", str(case), "add", str(tmp_path / "f.txt")]).exit_code == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    paths = [case, *case.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~0o222)
    before = sorted(str(p.relative_to(case)) for p in case.rglob("*"))
    try:
        refused = run_subprocess(["--case", str(case), "note", "later"])
        assert refused.returncode == 1 and "the case folder is read-only" in refused.stderr
        found = run_subprocess(["--case", str(case), "search", "Zanzibarine"])
        assert found.returncode == 0 and "file-0001" in found.stdout, found.stderr
        assert sorted(str(p.relative_to(case)) for p in case.rglob("*")) == before
        assert list((tmp_path / "cache").rglob("*.sqlite"))
    finally:
        for path in [case, *case.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
