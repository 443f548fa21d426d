"""Issue 11, defect 14: what a killed run leaves behind, found by `ledger verify` and cleared by the next
recording command; a live run's files are never touched. Real processes, killed with SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from casekit import make_case, raw_db, run_subprocess, verify_json

Poll = Callable[[], object]


def _wait_for(what: str, found: Poll, proc: subprocess.Popen[str], timeout: float = 120.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {proc.communicate()}")
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


@contextlib.contextmanager
def _run(args: list[str], **env: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m evidencekit ARGS`` in a session of its own; whatever it started (a browser) is ended after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencekit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the run itself (as the OOM killer or `kill -9` would), then whatever it had started."""
    proc.kill()
    proc.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(0.2)


def _actions(case: Path) -> list[tuple[str, str | None, dict[str, object]]]:
    conn = raw_db(case)
    try:
        rows = conn.execute("SELECT entry FROM entries ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [(e["action"], e["subject"], e["details"]) for e in (json.loads(bytes(r[0])) for r in rows)]


def _warnings(case: Path, code: str) -> list[dict[str, object]]:
    status, report = verify_json(case)
    assert status == 0 and report["ok"], report
    return [w for w in report["warnings"] if w["code"] == code]  # type: ignore[union-attr,index]


def _assert_clean(case: Path) -> None:
    status, report = verify_json(case)
    assert status == 0 and report["ok"] and report["warnings"] == [], report


def _parts(case: Path) -> list[Path]:
    return list((case / "objects").glob(".incoming-*.part"))


# --- a killed add -------------------------------------------------------------------------------------------
def test_a_killed_add_leaves_a_part_that_verify_reports_and_the_next_note_removes(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    kept = tmp_path / "chat.txt"
    kept.write_text("evidence already in the case\n", encoding="utf-8")
    assert run_subprocess(["--case", str(case), "add", str(kept)]).returncode == 0
    big = tmp_path / "disk-image.raw"
    with big.open("wb") as sparse:
        sparse.truncate(8 << 30)  # 8 GiB that take no room: the copy is what fills the disk

    with _run(["--case", str(case), "add", str(big)]) as proc:
        _wait_for("the copy under way", lambda: any(p.stat().st_size for p in _parts(case)), proc)
        _kill(proc)
    (part,) = _parts(case)
    size = part.stat().st_size
    assert size > 0

    (warning,) = _warnings(case, "leftover.temporary")
    assert warning["path"] == f"objects/{part.name}"
    assert "incoming object left by a run that is gone" in str(warning["message"])
    assert f"{part.stat().st_size} bytes" in str(warning["message"])
    assert part.exists(), "ledger verify only reads: it removes nothing"

    result = run_subprocess(["--case", str(case), "note", "after the killed add"])
    assert result.returncode == 0, result.stderr
    assert _parts(case) == []
    assert [a for a, _, _ in _actions(case)].count("file.added") == 1, "removing a temp file is not a ledger fact"
    status, report = verify_json(case)
    assert status == 0 and report["ok"] and report["warnings"] == [], report
    assert report["objects_checked"] == 1, "the evidence already stored is intact"
    assert not (case / "work").exists(), "a case at rest keeps no scratch space"


# --- a killed export ----------------------------------------------------------------------------------------
def test_a_killed_export_leaves_a_staging_folder_that_the_next_command_removes(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    evidence = tmp_path / "chat.txt"
    evidence.write_text("Recruiter: bring your passport\n", encoding="utf-8")
    assert run_subprocess(["--case", str(case), "add", str(evidence)]).returncode == 0
    out = tmp_path / "out" / "bundle.zip"
    out.parent.mkdir()

    def payload_written() -> list[Path]:
        return [p for p in out.parent.glob(".bundle.zip.*.partial") if (p / "bundle" / "data").is_dir()]

    with _run(["--case", str(case), "export", str(out), "--all"]) as proc:
        (staging,) = _wait_for("the payload in the staging folder", payload_written, proc)  # type: ignore[misc]
        _kill(proc)
    assert staging.is_dir() and not out.exists()

    (warning,) = _warnings(case, "leftover.temporary")
    assert warning["path"] == str(staging.resolve())
    assert "export staging folder left by a run that is gone" in str(warning["message"])
    assert staging.is_dir()

    result = run_subprocess(["--case", str(case), "note", "after the killed export"])
    assert result.returncode == 0, result.stderr
    assert not staging.exists() and list(out.parent.iterdir()) == []
    assert "export.created" not in [a for a, _, _ in _actions(case)]
    _assert_clean(case)


# --- a killed capture ---------------------------------------------------------------------------------------
def test_a_killed_capture_is_recorded_as_abandoned_and_its_scratch_removed(tmp_path: Path, site) -> None:  # type: ignore[no-untyped-def]
    case = make_case(tmp_path / "case")

    def started_and_browsing() -> bool:
        started = [s for a, s, _ in _actions(case)].count("capture-0001")
        return bool(started) and any((case / "work").glob("run-*/*"))

    with _run(["--case", str(case), "capture", site.url("/slow.html?delay=60"), "--timeout", "90s"]) as proc:
        _wait_for("capture.started with the page loading", started_and_browsing, proc)
        _kill(proc)
    (scratch,) = (case / "work").glob("run-*")
    started_seq = next(i for i, (a, _, _) in enumerate(_actions(case)) if a == "capture.started")

    status, report = verify_json(case)
    assert status == 0 and report["ok"], report
    codes = {(w["code"], w.get("path"), w.get("seq")) for w in report["warnings"]}  # type: ignore[union-attr]
    assert ("capture.abandoned", None, started_seq) in codes
    assert ("leftover.temporary", f"work/{scratch.name}", None) in codes
    assert scratch.is_dir()

    result = run_subprocess(["--case", str(case), "note", "after the killed capture"])
    assert result.returncode == 0, result.stderr
    abandoned = [(s, d) for a, s, d in _actions(case) if a == "capture.abandoned"]
    assert len(abandoned) == 1
    assert abandoned[0][0] == "capture-0001" and abandoned[0][1]["started_seq"] == started_seq
    assert isinstance(abandoned[0][1]["run_pid"], int)
    assert not (case / "work").exists()
    items = run_subprocess(["--case", str(case), "items", "--json"])
    assert [(i["item_id"], i["status"]) for i in json.loads(items.stdout)] == [("capture-0001", "abandoned")]
    show = run_subprocess(["--case", str(case), "show", "capture-0001"])
    assert "abandoned" in show.stdout.splitlines()[0]
    assert "the run that started it (seq" in run_subprocess(["--case", str(case), "log"]).stdout
    _assert_clean(case)

    again = run_subprocess(["--case", str(case), "note", "once more"])
    assert again.returncode == 0
    assert [a for a, _, _ in _actions(case)].count("capture.abandoned") == 1, "recorded once"


# --- a live run is never touched ----------------------------------------------------------------------------
HOLDER = r"""
import os, sys, threading, time
from pathlib import Path
from evidencekit.models import EntryDraft
from evidencekit.workflows.opencase import Session, open_case

case_dir, staging = Path(sys.argv[1]), Path(sys.argv[2])
case = open_case(Session(case_dir, dict(os.environ)))
with case.ledger.transaction() as txn:
    details = {"url": "http://127.0.0.1:9/", "options": {}}
    started = txn.append(EntryDraft("capture.started", case.actor, txn.next_item_id("capture"), details=details))
    case.run.claim(started)
case.run.scratch.mkdir(parents=True)
(case.run.scratch / "page.html").write_text("a page being captured")
staging.mkdir()
case.owns(staging)
read, write = os.pipe()
os.write(write, b"x" * 4096)  # a put that is still reading its source
threading.Thread(target=case.store.put_stream, args=(os.fdopen(read, "rb"),), daemon=True).start()
while not list((case_dir / "objects").glob(".incoming-*.part")):
    time.sleep(0.01)
print("ready", flush=True)
time.sleep(600)
"""


def test_a_live_runs_files_and_capture_are_never_touched_until_it_is_gone(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    staging = tmp_path / ".bundle.zip.x1y2.partial"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(case), str(staging)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n", holder.stderr
        (scratch,) = (case / "work").glob("run-*")
        (part,) = _parts(case)
        (lock,) = (case / "work" / "locks").glob("*.lock")

        for command in (["note", "from a second terminal"], ["checkpoint"]):
            result = run_subprocess(["--case", str(case), *command])
            assert result.returncode == 0, result.stderr
        assert (scratch / "page.html").is_file() and part.is_file() and staging.is_dir() and lock.is_file()
        assert "capture.abandoned" not in [a for a, _, _ in _actions(case)]
        status, report = verify_json(case)
        assert status == 0, report
        assert not [w for w in report["warnings"] if w["code"] in ("leftover.temporary", "capture.abandoned")]  # type: ignore[union-attr,index]
    finally:
        holder.kill()
        holder.communicate()

    assert len(_warnings(case, "leftover.temporary")) == 3
    assert len(_warnings(case, "capture.abandoned")) == 1
    result = run_subprocess(["--case", str(case), "note", "the other run is gone"])
    assert result.returncode == 0, result.stderr
    assert not scratch.exists() and not part.exists() and not staging.exists() and not lock.exists()
    assert [s for a, s, _ in _actions(case) if a == "capture.abandoned"] == ["capture-0001"]
    _assert_clean(case)


# --- reading commands leave nothing behind ------------------------------------------------------------------
def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_reading_commands_create_no_file_in_the_case(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    evidence = tmp_path / "chat.txt"
    evidence.write_text("hello\n", encoding="utf-8")
    assert run_subprocess(["--case", str(case), "add", str(evidence)]).returncode == 0
    before = _listing(case)
    assert not [name for name in before if name.endswith(("-wal", "-shm"))]
    for command in (["items"], ["log"], ["show", "file-0001"], ["ledger", "verify"], ["indicators"]):
        result = run_subprocess(["--case", str(case), *command])
        assert result.returncode == 0, result.stderr
        assert _listing(case) == before, command


# --- Ctrl-C in a reading command ----------------------------------------------------------------------------
def test_ctrl_c_during_verify_says_nothing_was_recorded(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    big = tmp_path / "disk-image.raw"
    with big.open("wb") as sparse:
        sparse.truncate(768 << 20)
    assert run_subprocess(["--case", str(case), "add", str(big)], timeout=300).returncode == 0
    bundle = tmp_path / "bundle.zip"
    exported = run_subprocess(["--case", str(case), "export", str(bundle), "--all", "--no-pdf"], timeout=600)
    assert exported.returncode == 0, exported.stderr
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    with _run(["verify", str(bundle)], TMPDIR=str(scratch)) as proc:
        _wait_for("verify unpacking the bundle", lambda: list(scratch.iterdir()), proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr.strip() == "evidencekit: error: interrupted; this command only reads: nothing was recorded or changed"


def test_a_gone_run_whose_pid_now_belongs_to_a_live_process_is_still_gone(tmp_path: Path) -> None:
    """Liveness is the lock, never the pid: a pid the system gave to another process since (here this test's
    own, alive) does not keep a gone run's leftovers."""
    case = make_case(tmp_path / "case")
    locks = case / "work" / "locks"
    locks.mkdir(parents=True)
    facts = {"pid": os.getpid(), "host": "examiner-pc", "began": "2026-01-02T03:04:05.000000Z"}
    (locks / "0123456789abcdef.lock").write_text(json.dumps(facts) + "\n", encoding="utf-8")
    scratch = case / "work" / "run-0123456789abcdef"
    scratch.mkdir()
    (scratch / "page.html").write_text("left by a killed capture", encoding="utf-8")

    (warning,) = _warnings(case, "leftover.temporary")
    assert warning["path"] == "work/run-0123456789abcdef"
    result = run_subprocess(["--case", str(case), "note", "the pid is reused"])
    assert result.returncode == 0, result.stderr
    assert not (case / "work").exists()
    _assert_clean(case)
