"""Second look at issue 11, defect 14: the clean-up of leftovers removes only what a run of this case made.

A lock file is a claim that anyone who can write in the case can plant; a folder outside the case (an
export's staging folder lies beside the bundle) is removed only when it holds the marker the run that made
it wrote there. A work/ folder that is a symbolic link points outside the case: no command follows it.
"""

from __future__ import annotations

import json
from pathlib import Path

from casekit import make_case, run_cli


def _plant_lock(case: Path, owns: Path) -> None:
    locks = case / "work" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    facts = [{"pid": 1, "host": "elsewhere", "began": "2026-01-01T00:00:00.000000Z"}, {"owns": str(owns)}]
    (locks / "deadbeefdeadbeef.lock").write_text("".join(json.dumps(f) + "\n" for f in facts))


def test_a_planted_lock_file_never_gets_a_folder_outside_the_case_removed(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    victim = tmp_path / "elsewhere" / ".backup-of-case.partial"
    victim.mkdir(parents=True)
    (victim / "precious.txt").write_text("not the case's\n")
    _plant_lock(case, victim)
    assert run_cli(["--case", str(case), "note", "hi"]).exit_code == 0
    assert (victim / "precious.txt").read_text() == "not the case's\n"
    # Even with a marker naming another run (copied from a real staging folder, say), it stays.
    (victim / ".evidencekit-run").write_text("0123456789abcdef\n")
    _plant_lock(case, victim)
    assert run_cli(["--case", str(case), "note", "again"]).exit_code == 0
    assert (victim / "precious.txt").is_file()


def test_a_linked_work_folder_is_refused_and_reported_and_never_followed(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "run-0123456789abcdef").mkdir(parents=True)
    (elsewhere / "run-0123456789abcdef" / "keep.txt").write_text("keep\n")
    if (case / "work").exists():
        (case / "work").rmdir()
    (case / "work").symlink_to(elsewhere, target_is_directory=True)
    before = run_cli(["--case", str(case), "log", "--json"]).stdout
    noted = run_cli(["--case", str(case), "note", "hi"])
    assert noted.exit_code == 3 and "symbolic link" in noted.stderr and noted.stderr.count("\n") == 1
    assert run_cli(["--case", str(case), "log", "--json"]).stdout == before
    assert (elsewhere / "run-0123456789abcdef" / "keep.txt").is_file()
    verified = run_cli(["--case", str(case), "ledger", "verify", "--json"])
    assert verified.exit_code == 3
    assert [p["code"] for p in json.loads(verified.stdout)["problems"]] == ["work.linked"]


def test_a_fifo_planted_among_the_lock_files_hangs_no_command(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    case = make_case(tmp_path / "case")
    locks = case / "work" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    os.mkfifo(locks / "feedfacefeedface.lock")
    for args in (["note", "hi"], ["ledger", "verify"], ["items"]):
        done = subprocess.run(
            [sys.executable, "-m", "evidencekit", "--case", str(case), *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode in (0, 3), (args, done.stderr)
        assert "Traceback" not in done.stderr
