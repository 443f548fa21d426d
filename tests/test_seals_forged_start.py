"""Second look at issue 11, defect 3: a forged `capture.started` slipped in after the newest checkpoint is no
longer sealed by the investigator's next command. An unsigned capture.started may stand only when a run's lock
file claims it, and only if it passes the whole rulebook (form, details, case, chain, a new item id, a key the
case brought in, a time not set back); otherwise `ledger verify` fails naming its seq and every sealing command
refuses (exit 3), recording nothing. A real killed capture and a live one in another process still pass. A row
whose entry was rewritten as TEXT is read as its bytes and reported, never an internal error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from casekit import drop_triggers, make_case, raw_db, run_cli, run_subprocess, verify_json

from evidencekit.hashing import blake3_bytes, blake3_hex
from evidencekit.ledger.merkle import leaf_hash
from evidencekit.models import EntryDraft, canonical_json
from evidencekit.workflows.opencase import Session, open_case

MALLORY = {"key_id": "fb7143a15dc051a1", "name": "Mallory"}


def _rows(case: Path) -> list[tuple[int, bytes]]:
    conn = raw_db(case)
    try:
        return [(seq, bytes(raw)) for seq, raw in conn.execute("SELECT seq, entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


def _actions(case: Path) -> list[str]:
    return [json.loads(raw)["action"] for _, raw in _rows(case)]


def _claim(case: Path, seq: int, subject: str | None, raw: bytes, name: str = "0123456789abcdef") -> None:
    """The lock file a capture run killed after its start leaves: who it was, and the capture it claimed."""
    locks = case / "work" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    lines = [
        {"pid": 4242, "host": "investigator-laptop", "began": "2026-12-02T10:00:00.000000Z"},
        {"capture": subject, "seq": seq, "entry": blake3_hex(raw)},
    ]
    (locks / f"{name}.lock").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def forge_start(case: Path, *, claimed: bool = True, subject: str | None = "capture-0077", **change: Any) -> int:
    """Triggers dropped, a canonical capture.started correctly chained after the last entry (prev = its leaf
    hash, leaf_hash = BLAKE3(0x00 || entry)), and, when ``claimed``, a gone run's lock file claiming it:
    what an attacker with file access can write. ``change`` overrides fields of the entry."""
    conn = raw_db(case)
    drop_triggers(conn)
    seq, raw = conn.execute("SELECT seq, entry FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    last = json.loads(bytes(raw))
    value = {
        **last,
        "seq": seq + 1, "action": "capture.started", "subject": subject, "artefacts": [],
        "details": {"url": "http://forged.example/x", "options": {}},
        "prev": "blake3:" + leaf_hash(blake3_bytes, bytes(raw)).hex(),
    }  # fmt: skip
    value.update(change)
    forged = canonical_json(value)
    conn.execute(
        "INSERT INTO entries (seq, action, subject, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
        (seq + 1, "capture.started", subject, forged, leaf_hash(blake3_bytes, forged).hex()),
    )
    conn.close()
    if claimed:
        _claim(case, seq + 1, subject, forged)
    return int(seq) + 1


def _reused_subject(case: Path) -> int:
    """capture-0001 exists (a killed capture, recorded abandoned); a second start of it is forged."""
    first = forge_start(case, subject="capture-0001")
    assert run_cli(["--case", str(case), "note", "after the killed capture"]).exit_code == 0
    assert _actions(case)[first + 1] == "capture.abandoned"
    return forge_start(case, subject="capture-0001")


VARIANTS: dict[str, tuple[Callable[[Path], int], str]] = {
    "a key the case never registered": (lambda case: forge_start(case, actor=MALLORY), "entry.actor"),
    "no investigator key at all": (
        lambda case: forge_start(case, actor={"key_id": None, "name": "Ana Lima"}),
        "entry.actor",
    ),
    "a reused item id": (_reused_subject, "item.reused"),
    "a javascript: url": (
        lambda case: forge_start(case, details={"url": "javascript:alert(1)", "options": {}}),
        "entry.details",
    ),
    "a proxy password in the options": (
        lambda case: forge_start(
            case, details={"url": "http://forged.example/x", "options": {"proxy": "http://u:hunter2@p:3128"}}
        ),
        "entry.details",
    ),
    "a password in the url": (
        lambda case: forge_start(case, details={"url": "http://bob:PWLEAK@forged.example/x", "options": {}}),
        "entry.details",
    ),
    "another case's id": (lambda case: forge_start(case, case_id="OTHER-9"), "entry.foreign"),
    "a subject of the wrong kind": (lambda case: forge_start(case, subject="file-0001"), "entry.details"),
    "no subject": (lambda case: forge_start(case, subject=None), "entry.details"),
    "a time in 2001": (lambda case: forge_start(case, time="2001-01-01T00:00:00.000000Z"), "entry.backdated"),
    "no lock file claiming it": (lambda case: forge_start(case, claimed=False), "entry.unclaimed"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_forged_capture_start_fails_verify_and_no_command_signs_over_it(tmp_path: Path, variant: str) -> None:
    forge, code = VARIANTS[variant]
    case = make_case(tmp_path / "case")
    letter = tmp_path / "letter.txt"
    letter.write_text("the recruiter's letter\n", encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(letter)]).exit_code == 0
    forged = forge(case)

    status, report = verify_json(case)
    assert status == 3 and not report["ok"], report
    assert (code, forged) in {(p["code"], p["seq"]) for p in report["problems"]}, report["problems"]  # type: ignore[union-attr,index]
    assert "FAILED" in run_cli(["--case", str(case), "ledger", "verify"]).stdout

    before, stored = _rows(case), sorted((case / "objects").rglob("*"))
    other = tmp_path / "other.txt"
    other.write_text("another letter\n", encoding="utf-8")
    for args in (
        ["note", "seen again"],
        ["add", str(other)],
        ["checkpoint"],
        ["export", str(tmp_path / "bundle"), "--all", "--dir", "--no-pdf"],
    ):
        result = run_cli(["--case", str(case), *args])
        assert result.exit_code == 3, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"seq {forged}" in lines[0] and "`evidencekit ledger verify`" in lines[0], lines
        assert _rows(case) == before, f"{args[0]} recorded something"
    assert sorted((case / "objects").rglob("*")) == stored, "add stored nothing"
    assert not (tmp_path / "bundle").exists()


def test_the_testers_forgery_is_refused_with_every_fault_named(tmp_path: Path) -> None:
    """The repro as filed: capture-0077, http://forged.example/x, Mallory's key, no lock file."""
    case = make_case(tmp_path / "case")
    forged = forge_start(case, claimed=False, actor=MALLORY)
    status, report = verify_json(case)
    assert status == 3
    assert {(p["code"], p["seq"]) for p in report["problems"]} == {  # type: ignore[union-attr,index]
        ("entry.actor", forged),
        ("entry.unclaimed", forged),
    }
    result = run_cli(["--case", str(case), "note", "x"])
    assert result.exit_code == 3 and f"seq {forged}" in result.stderr
    assert "capture.abandoned" not in _actions(case)


def test_a_claimed_start_that_passes_every_rule_is_recorded_abandoned(tmp_path: Path) -> None:
    """The control: a start as a killed run leaves it (claimed, the investigator's key, a new item id)."""
    case = make_case(tmp_path / "case")
    started = forge_start(case)
    status, report = verify_json(case)
    assert status == 0, report["problems"]
    assert run_cli(["--case", str(case), "note", "after the killed capture"]).exit_code == 0
    assert _actions(case)[started + 1 :] == [
        "capture.abandoned",
        "checkpoint.signed",
        "note.added",
        "checkpoint.signed",
    ]
    assert verify_json(case)[0] == 0


def test_a_run_whose_write_failed_keeps_its_claim_for_the_next_command(tmp_path: Path) -> None:
    """A run that started a capture and closed without recording its end (a write failed and stopped it) keeps
    its lock file, so the start stays claimed and the next command records it abandoned."""
    case = make_case(tmp_path / "case")
    opened = open_case(Session(case, dict(os.environ)))
    try:
        with opened.ledger.transaction() as txn:
            details = {"url": "http://127.0.0.1:9/", "options": {}}
            draft = EntryDraft("capture.started", opened.actor, txn.next_item_id("capture"), details=details)
            started = txn.append(draft)
            assert opened.run is not None
            opened.run.claim(started)
    finally:
        opened.close()
    assert len(list((case / "work" / "locks").glob("*.lock"))) == 1
    assert verify_json(case)[0] == 0
    assert run_cli(["--case", str(case), "note", "after the failed run"]).exit_code == 0
    assert "capture.abandoned" in _actions(case)
    assert not (case / "work").exists()


# -- real runs: a capture killed with SIGKILL, a capture live in another process --------------------------------
def _wait(what: str, found: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found():
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {proc.communicate()}")
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def _capture(case: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "evidencekit", "--case", str(case), "capture", url, "--timeout", "90s", "--no-mhtml"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        start_new_session=True,
    )


def _started(case: Path) -> bool:
    return "capture.started" in _actions(case) and any((case / "work").glob("run-*/*"))


def test_a_capture_killed_mid_page_is_accepted_and_recorded_abandoned(tmp_path: Path, site: Any) -> None:
    case = make_case(tmp_path / "case")
    proc = _capture(case, site.url("/slow.html?delay=60"))
    try:
        _wait("the capture to start", lambda: _started(case), proc)
    finally:
        proc.kill()
        proc.wait()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    status, report = verify_json(case)
    assert status == 0, report["problems"]
    result = run_subprocess(["--case", str(case), "note", "after the killed capture"])
    assert result.returncode == 0, result.stderr
    assert _actions(case).count("capture.abandoned") == 1
    status, report = verify_json(case)
    assert status == 0 and report["warnings"] == [], report


def test_a_live_capture_in_another_process_is_not_refused_by_a_note(tmp_path: Path, site: Any) -> None:
    case = make_case(tmp_path / "case")
    proc = _capture(case, site.url("/slow.html?delay=4"))
    try:
        _wait("the capture to start", lambda: _started(case), proc)
        for args in (["note", "while the capture runs"], ["checkpoint"]):
            result = run_subprocess(["--case", str(case), *args])
            assert result.returncode == 0, (args, result.stderr)
        status, report = verify_json(case)
        assert status == 0, report["problems"]
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    actions = _actions(case)
    assert actions.count("capture.completed") == 1 and "capture.abandoned" not in actions
    assert actions.index("note.added") < actions.index("capture.completed"), "the note ran while the capture did"
    status, report = verify_json(case)
    assert status == 0 and report["warnings"] == [], report


def test_a_claim_copied_into_a_planted_lock_file_never_gets_a_live_capture_recorded_abandoned(
    tmp_path: Path, site: Any
) -> None:
    """Third look: a gone run's file that repeats a live run's claim must not make the next command record
    the live capture as abandoned (it would then also be completed)."""
    case = make_case(tmp_path / "case")
    proc = _capture(case, site.url("/slow.html?delay=4"))
    try:
        _wait("the capture to start", lambda: _started(case), proc)

        def claim_line() -> str | None:
            for lock in (case / "work" / "locks").glob("*.lock"):
                found = [line for line in lock.read_text().splitlines() if '"capture"' in line]
                if found:
                    return found[0]
            return None

        _wait("the run to claim its capture", lambda: claim_line() is not None, proc)
        line = claim_line()
        planted = case / "work" / "locks" / "0000aaaa0000aaaa.lock"
        planted.write_text('{"pid": 4242, "host": "x", "began": "2026-01-01T00:00:00.000000Z"}\n' + f"{line}\n")
        result = run_subprocess(["--case", str(case), "note", "during the live capture"])
        assert result.returncode == 0, result.stderr
        assert "capture.abandoned" not in _actions(case)
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    actions = _actions(case)
    assert actions.count("capture.completed") == 1 and "capture.abandoned" not in actions


# -- a row rewritten as TEXT -------------------------------------------------------------------------------------
def test_an_entry_stored_as_text_is_read_and_reported_never_an_internal_error(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    letter = tmp_path / "letter.txt"
    letter.write_text("the recruiter's letter\n", encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(letter)]).exit_code == 0
    assert _actions(case)[3] == "file.added"
    conn = raw_db(case)
    drop_triggers(conn)
    conn.execute("UPDATE entries SET entry = CAST(entry AS TEXT) WHERE seq = 3")
    assert conn.execute("SELECT typeof(entry) FROM entries WHERE seq = 3").fetchone() == ("text",)
    conn.close()

    verdict = run_subprocess(["--case", str(case), "ledger", "verify", "--json"])
    assert verdict.returncode == 3, verdict.stderr
    report = json.loads(verdict.stdout)
    assert [(p["code"], p["seq"]) for p in report["problems"]] == [("entry.storage", 3)]
    assert "TEXT" in report["problems"][0]["message"]
    for args in (["items"], ["log"], ["show", "file-0001"], ["ledger", "verify"]):
        result = run_subprocess(["--case", str(case), *args])
        assert result.returncode in (0, 3), (args, result.stderr)
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "letter.txt" in run_subprocess(["--case", str(case), "items"]).stdout
