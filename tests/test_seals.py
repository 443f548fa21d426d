"""Issue 11, defect 3 and its "Also" list: every recording command of a keyed case seals its own entries, and
nothing else may stand unsigned after the newest checkpoint; a new signing key counts only when a registered key
brought it in (`keys rotate`, `keys add-investigator`); `ledger verify --key` pins the investigator's key;
recording commands check the case before they append."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from casekit import INVESTIGATOR, drop_triggers, make_case, raw_db, run_cli, verify_json

from evidencekit.hashing import blake3_bytes, blake3_hex
from evidencekit.ledger.merkle import leaf_hash
from evidencekit.ledger.rules import MAY_STAND_UNSIGNED
from evidencekit.models import canonical_json


def _entries(case: Path) -> list[dict[str, Any]]:
    return list(json.loads(run_cli(["--case", str(case), "log", "--json"]).stdout))


def _append_raw(case: Path, action: str, details: dict[str, Any], *, subject: str | None = None) -> int:
    """Triggers dropped, an entry correctly chained after the last one, claiming the investigator and their key:
    what an attacker with file access can write without the private key."""
    conn = raw_db(case)
    drop_triggers(conn)
    seq, raw = conn.execute("SELECT seq, entry FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    last = json.loads(bytes(raw))
    value = {
        **last,
        "seq": seq + 1, "action": action, "subject": subject, "artefacts": [], "details": details,
        "actor": last["actor"], "prev": "blake3:" + leaf_hash(blake3_bytes, bytes(raw)).hex(),
    }  # fmt: skip
    forged = canonical_json(value)
    conn.execute(
        "INSERT INTO entries (seq, action, subject, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
        (seq + 1, action, subject, forged, leaf_hash(blake3_bytes, forged).hex()),
    )
    conn.close()
    return seq + 1


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _tail_after_newest_checkpoint(entries: list[dict[str, Any]]) -> list[str]:
    newest = max(e["seq"] for e in entries if e["action"] == "checkpoint.signed")
    return [e["action"] for e in entries if e["seq"] > newest]


# -- defect 3: nothing unsigned after the newest checkpoint but what the rulebook allows ----------------------
def test_an_entry_slipped_in_after_the_newest_checkpoint_fails_verify_and_is_never_signed(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    letter = tmp_path / "letter.txt"
    letter.write_text("the recruiter's letter\n", encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(letter)]).exit_code == 0
    key_id = _entries(case)[-1]["actor"]["key_id"]
    assert key_id
    planted = _append_raw(case, "note.added", {"text": "the victim withdrew the complaint"})
    assert _entries(case)[planted]["actor"] == {"name": INVESTIGATOR, "key_id": key_id}

    verdict = run_cli(["--case", str(case), "ledger", "verify"])
    assert verdict.exit_code == 3 and "FAILED" in verdict.stdout
    code, report = verify_json(case)
    assert code == 3
    assert [(p["code"], p["seq"]) for p in report["problems"]] == [("entry.unsealed", planted)]
    assert "note.added" in report["problems"][0]["message"]

    before, stored = _entries(case), sorted((case / "objects").rglob("*"))
    other = tmp_path / "other.txt"
    other.write_text("another letter\n", encoding="utf-8")
    for args in (["note", "seen again"], ["add", str(other)], ["checkpoint"], ["case", "configure", "--region", "DE"]):
        result = run_cli(["--case", str(case), *args])
        assert result.exit_code == 3, (args, result.stderr)
        line = _one_line(result.stderr)
        assert f"seq {planted} (note.added)" in line and "`evidencekit ledger verify`" in line, line
        assert _entries(case) == before, f"{args[0]} recorded something"
    assert sorted((case / "objects").rglob("*")) == stored, "add stored nothing"


def test_an_export_refuses_to_sign_over_an_entry_slipped_in(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    letter = tmp_path / "letter.txt"
    letter.write_text("x\n", encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(letter)]).exit_code == 0
    planted = _append_raw(case, "note.added", {"text": "planted"})
    before = _entries(case)
    result = run_cli(["--case", str(case), "export", str(tmp_path / "out"), "--all", "--dir", "--no-pdf"])
    assert result.exit_code == 3 and f"seq {planted}" in _one_line(result.stderr)
    assert _entries(case) == before and not (tmp_path / "out").exists()


def test_the_rulebook_names_what_may_stand_unsigned_and_a_capture_in_progress_is_one(tmp_path: Path) -> None:
    """A capture.started may stand unsigned only while a run's lock file claims it: here the file a run killed
    after its start left (its pid, and the claim written before the entry committed)."""
    assert "capture.started" in MAY_STAND_UNSIGNED and "note.added" not in MAY_STAND_UNSIGNED
    case = make_case(tmp_path / "case")
    started = _append_raw(
        case, "capture.started", {"url": "https://example.org/ad", "options": {}}, subject="capture-0001"
    )
    (raw,) = raw_db(case).execute("SELECT entry FROM entries WHERE seq = ?", (started,)).fetchone()
    locks = case / "work" / "locks"
    locks.mkdir(parents=True)
    claim = {"capture": "capture-0001", "seq": started, "entry": blake3_hex(bytes(raw))}
    (locks / "0123456789abcdef.lock").write_text(
        json.dumps({"pid": 4242, "host": "here", "began": "2026-12-02T10:00:00.000000Z"})
        + "\n"
        + json.dumps(claim)
        + "\n",
        encoding="utf-8",
    )
    code, report = verify_json(case)  # a capture whose process died: held by the chain and its claim
    assert code == 0, report["problems"]
    assert sorted(w["code"] for w in report["warnings"]) == ["capture.abandoned", "ledger.unsigned_tail"]
    assert run_cli(["--case", str(case), "note", "the capture above was cut off"]).exit_code == 0
    code, report = verify_json(case)
    assert code == 0 and report["warnings"] == [], report
    assert _entries(case)[started]["action"] == "capture.started"
    assert [e["action"] for e in _entries(case)][started + 1] == "capture.abandoned"


def test_init_with_a_key_seals_the_case_at_once(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    entries = _entries(case)
    assert [e["action"] for e in entries] == ["case.opened", "key.registered", "checkpoint.signed"]
    assert entries[2]["details"]["tree_size"] == 2
    assert (case / "checkpoints.txt").read_text(encoding="utf-8") == entries[2]["details"]["note"] + "\n"
    code, report = verify_json(case)
    assert code == 0 and report["checkpoints"] == 1 and report["warnings"] == [], report


def test_every_recording_command_seals_its_own_entries(tmp_path: Path, site: Any) -> None:
    """After each recording command of a keyed case, nothing stands after the newest checkpoint."""
    config = run_cli(["keys", "generate", "--investigator", INVESTIGATOR])
    assert config.exit_code == 0
    case = tmp_path / "case"
    init = ["init", str(case), "--case-id", "SEAL-1", "--title", "t", "--investigator", INVESTIGATOR]
    letter = tmp_path / "letter.txt"
    letter.write_text("x\n", encoding="utf-8")
    commands = [
        [*init, "--region", "IN"],
        ["case", "configure", "--timezone", "Asia/Kolkata"],
        ["add", str(letter)],
        ["note", "n"],
        ["checkpoint"],
        ["capture", site.url("/"), site.url("/"), "--no-mhtml", "--timeout", "60"],
        ["export", str(tmp_path / "bundle"), "--all", "--dir", "--no-pdf", "--recipient", "Prosecutor"],
    ]
    for args in commands:
        result = run_cli(args if args[0] == "init" else ["--case", str(case), *args])
        assert result.exit_code == 0, (args, result.stderr)
        entries = _entries(case)
        assert _tail_after_newest_checkpoint(entries) == [], (args[0], entries[-3:])
    captured = [e for e in _entries(case) if e["action"] == "capture.completed"]
    assert len(captured) == 2
    for entry in captured:  # each capture is sealed by itself, as it ends
        after = _entries(case)[entry["seq"] + 1]
        assert after["action"] == "checkpoint.signed" and after["details"]["tree_size"] == entry["seq"] + 1
    assert verify_json(case)[0] == 0


def test_a_keyed_case_refuses_a_recording_without_a_key(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    before = _entries(case)
    shutil.rmtree(Path(os.environ["XDG_CONFIG_HOME"]) / "evidencekit" / "keys")
    result = run_cli(["--case", str(case), "note", "unsigned"])
    assert result.exit_code == 2
    assert "sealed with signed checkpoints" in _one_line(result.stderr)
    assert _entries(case) == before


# -- also (c): recording commands check the case before appending ----------------------------------------------
@pytest.mark.parametrize("with_key", [True, False])
def test_a_recording_command_refuses_a_case_whose_case_json_was_edited(tmp_path: Path, with_key: bool) -> None:
    case = make_case(tmp_path / "case", with_key=with_key)
    info = json.loads((case / "case.json").read_text(encoding="utf-8"))
    info["investigator"] = "Mallory Impostor"
    (case / "case.json").write_text(json.dumps(info), encoding="utf-8")
    before = _entries(case)
    result = run_cli(["--case", str(case), "note", "n"])
    assert result.exit_code == 3
    line = _one_line(result.stderr)
    assert "case.json differs from the case.opened entry" in line and "`evidencekit ledger verify`" in line
    assert _entries(case) == before


def test_a_keyless_case_with_an_altered_entry_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case", with_key=False)
    assert run_cli(["--case", str(case), "note", "first"]).exit_code == 0
    conn = raw_db(case)
    drop_triggers(conn)
    (raw,) = conn.execute("SELECT entry FROM entries WHERE seq = 1").fetchone()
    conn.execute("UPDATE entries SET entry = ? WHERE seq = 1", (bytes(raw).replace(b"first", b"forged"),))
    conn.close()
    letter = tmp_path / "letter.txt"
    letter.write_text("x\n", encoding="utf-8")
    result = run_cli(["--case", str(case), "add", str(letter)])
    assert result.exit_code == 3 and "seq 1 no longer matches its recorded hash" in _one_line(result.stderr)
    assert not [p for p in (case / "objects").rglob("*") if p.is_file()], "nothing stored"
