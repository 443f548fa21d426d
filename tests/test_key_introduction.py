"""Issue 11, "Also": a new signing key counts in a case only when a registered key brought it in, by a
recorded act it signed (`keys rotate`, `keys add-investigator`); any other key is refused by the recording
commands and is a problem for both verifiers; `ledger verify --key` pins the investigator's key."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from casekit import drop_triggers, make_case, raw_db, run_cli, verify_json

from evidencekit.hashing import blake3_bytes
from evidencekit.keys import RETIRED_PREFIX, keys_dir, load_key, new_signing_key
from evidencekit.ledger.merkle import MerkleTree, leaf_hash
from evidencekit.ledger.notes import Checkpoint, sign_checkpoint
from evidencekit.models import canonical_json


def _entries(case: Path) -> list[dict[str, Any]]:
    return list(json.loads(run_cli(["--case", str(case), "log", "--json"]).stdout))


def _key_id() -> str:
    return str(json.loads(run_cli(["keys", "show", "--json"]).stdout)["key_id"])


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def case(tmp_path: Path) -> Path:
    case = make_case(tmp_path / "case")
    letter = tmp_path / "letter.txt"
    letter.write_text("the recruiter's letter\n", encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(letter)]).exit_code == 0
    return case


def test_a_rotated_key_signs_and_the_ledger_and_its_bundle_verify(case: Path, tmp_path: Path) -> None:
    old = _key_id()
    rotated = run_cli(["--case", str(case), "keys", "rotate"])
    assert rotated.exit_code == 0, rotated.stderr
    new = _key_id()
    assert new != old and f"Rotated key {old} to {new}" in rotated.stdout
    assert (keys_dir(os.environ) / f"{RETIRED_PREFIX}{old}.pem").is_file(), "the old key is kept, never overwritten"
    entry = next(e for e in _entries(case) if e["action"] == "key.rotated")
    assert entry["details"]["introduced_by"] == old and entry["details"]["public_key"]["key_id"] == new
    assert entry["actor"]["key_id"] == old
    assert run_cli(["--case", str(case), "note", "signed with the new key"]).exit_code == 0
    signers = {e["details"]["key_id"] for e in _entries(case) if e["action"] == "checkpoint.signed"}
    assert signers == {old, new}

    verdict = run_cli(["--case", str(case), "ledger", "verify"])
    assert verdict.exit_code == 0 and "VERIFIED" in verdict.stdout, verdict.stdout
    bundle = tmp_path / "bundle"
    exported = run_cli(["--case", str(case), "export", str(bundle), "--all", "--full-ledger", "--dir", "--no-pdf"])
    assert exported.exit_code == 0, exported.stderr
    checked = run_cli(["verify", str(bundle), "--key", new])
    assert checked.exit_code == 0 and "VERIFIED" in checked.stdout, checked.stdout
    excerpt = tmp_path / "excerpt"
    assert (
        run_cli(["--case", str(case), "export", str(excerpt), "--item", "file-0001", "--dir", "--no-pdf"]).exit_code
        == 0
    )
    carried = [json.loads(line)["action"] for line in (excerpt / "data/custody/ledger.jsonl").read_text().splitlines()]
    assert "key.rotated" in carried, "an excerpt carries every key act"
    assert run_cli(["verify", str(excerpt)]).exit_code == 0

    # Pinned: the old key vouches for the new one; the new one alone does not vouch for what the old one signed.
    assert run_cli(["--case", str(case), "ledger", "verify", "--key", old]).exit_code == 0
    code, report = _verify_pinned(case, new)
    assert code == 3 and [p["code"] for p in report["problems"]] == ["key.untrusted"]
    assert old in report["problems"][0]["message"]


def _verify_pinned(case: Path, *keys: str) -> tuple[int, dict[str, Any]]:
    args = ["--case", str(case), "ledger", "verify", "--json"]
    for key in keys:
        args += ["--key", key]
    result = run_cli(args)
    return result.exit_code, json.loads(result.stdout)


def test_a_rotated_out_key_signs_nothing_afterwards(case: Path) -> None:
    old = _key_id()
    assert run_cli(["--case", str(case), "keys", "rotate"]).exit_code == 0
    retired = load_key(keys_dir(os.environ), f"{RETIRED_PREFIX}{old}")
    # An insider holding the old key signs a checkpoint with it, written straight into the ledger.
    conn = raw_db(case)
    drop_triggers(conn)
    rows = conn.execute("SELECT seq, entry FROM entries ORDER BY seq").fetchall()
    tree = MerkleTree(blake3_bytes, [leaf_hash(blake3_bytes, bytes(raw)) for _, raw in rows])
    last = json.loads(bytes(rows[-1][1]))
    origin = f"evidencekit/{last['case_id']}/{json.loads((case / 'case.json').read_text())['case_uuid']}"
    checkpoint = Checkpoint(origin, len(rows), tree.root())
    value = {
        **last, "seq": len(rows), "prev": "blake3:" + leaf_hash(blake3_bytes, bytes(rows[-1][1])).hex(),
        "actor": {"name": retired.investigator, "key_id": old},
        "details": {"tree_size": len(rows), "root": "blake3:" + checkpoint.root.hex(), "key_id": old,
                    "note": sign_checkpoint(checkpoint, retired).text()},
    }  # fmt: skip
    raw = canonical_json(value)
    conn.execute(
        "INSERT INTO entries (seq, action, subject, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
        (len(rows), "checkpoint.signed", None, raw, leaf_hash(blake3_bytes, raw).hex()),
    )
    conn.close()
    code, report = verify_json(case)
    assert code == 3
    found = [p for p in report["problems"] if p["code"] == "checkpoint.key"]
    assert [p["seq"] for p in found] == [len(rows)] and "rotated out" in found[0]["message"]


def test_rotating_in_a_second_case_records_the_same_rotation_without_a_new_key(case: Path, tmp_path: Path) -> None:
    second = make_case(tmp_path / "second", case_id="TRAF-2026-002")
    old = _key_id()
    assert run_cli(["--case", str(case), "keys", "rotate"]).exit_code == 0
    new = _key_id()
    refused = run_cli(["--case", str(second), "note", "with the new key"])
    assert refused.exit_code == 2
    line = _one_line(refused.stderr)
    assert "not registered in this case" in line and "keys rotate" in line and "keys add-investigator" in line
    again = run_cli(["--case", str(second), "keys", "rotate"])
    assert again.exit_code == 0, again.stderr
    assert _key_id() == new, "no new key: the retired one signed the key in use"
    entry = next(e for e in _entries(second) if e["action"] == "key.rotated")
    assert (entry["details"]["introduced_by"], entry["details"]["public_key"]["key_id"]) == (old, new)
    assert run_cli(["--case", str(second), "note", "with the new key"]).exit_code == 0
    assert verify_json(second)[0] == 0


def test_a_key_no_registered_key_brought_in_may_not_record(case: Path, tmp_path: Path) -> None:
    before = _entries(case)
    shutil.rmtree(keys_dir(os.environ))
    assert run_cli(["keys", "generate", "--investigator", "Mallory Impostor"]).exit_code == 0
    for args in (["note", "n"], ["checkpoint"], ["keys", "rotate"]):
        result = run_cli(["--case", str(case), *args])
        assert result.exit_code == 2, (args, result.stderr)
        line = _one_line(result.stderr)
        assert "keys add-investigator" in line and "nothing was recorded" in line, line
    assert _entries(case) == before


def test_a_second_investigator_added_by_a_registered_one_signs_and_the_case_verifies(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana_config = os.environ["XDG_CONFIG_HOME"]
    ana = _key_id()
    bea_config = str(tmp_path / "bea-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", bea_config)
    assert run_cli(["keys", "generate", "--investigator", "Bea Costa"]).exit_code == 0
    (tmp_path / "bea.json").write_text(run_cli(["keys", "show", "--json"]).stdout, encoding="utf-8")
    bea = _key_id()
    refused = run_cli(["--case", str(case), "note", "Bea before being added"])
    assert refused.exit_code == 2 and "keys add-investigator" in refused.stderr

    monkeypatch.setenv("XDG_CONFIG_HOME", ana_config)
    added = run_cli(["--case", str(case), "keys", "add-investigator", str(tmp_path / "bea.json")])
    assert added.exit_code == 0, added.stderr
    assert f"Added investigator Bea Costa with key {bea}" in added.stdout
    entry = next(e for e in _entries(case) if e["action"] == "investigator.added")
    assert entry["details"]["introduced_by"] == ana and entry["actor"]["key_id"] == ana
    again = run_cli(["--case", str(case), "keys", "add-investigator", str(tmp_path / "bea.json")])
    assert again.exit_code == 2 and "already registered" in again.stderr

    monkeypatch.setenv("XDG_CONFIG_HOME", bea_config)
    noted = run_cli(["--case", str(case), "note", "Bea's own observation"])
    assert noted.exit_code == 0, noted.stderr
    code, report = verify_json(case)  # against Bea's witness copy, which begins with her first checkpoint
    assert code == 0, report["problems"]
    monkeypatch.setenv("XDG_CONFIG_HOME", ana_config)
    last = _entries(case)[-1]
    assert last["action"] == "checkpoint.signed" and last["details"]["key_id"] == bea
    code, report = verify_json(case)
    assert code == 0 and report["signers"] == sorted([ana, bea]), report
    assert _verify_pinned(case, ana)[0] == 0, "Ana's key vouches for Bea's"


def test_ledger_verify_key_pins_the_investigators_key(case: Path, tmp_path: Path) -> None:
    mine = _key_id()
    assert _verify_pinned(case, mine)[0] == 0
    pem = tmp_path / "mine.pem"
    pem.write_text(load_key(keys_dir(os.environ)).public.pem(), encoding="utf-8")
    assert _verify_pinned(case, str(pem))[0] == 0
    code, report = _verify_pinned(case, "0123456789abcdef")
    assert code == 3 and [p["code"] for p in report["problems"]] == ["key.untrusted"]
    assert mine in report["problems"][0]["message"]
    text = run_cli(["--case", str(case), "ledger", "verify", "--key", "0123456789abcdef"])
    assert text.exit_code == 3 and "FAILED" in text.stdout
    missing = run_cli(["--case", str(case), "ledger", "verify", "--key", str(tmp_path / "nowhere.pem")])
    assert missing.exit_code == 2


def test_a_checkpoint_by_a_key_slipped_in_is_refused_before_anything_is_recorded(case: Path) -> None:
    """An attacker with file access registers a key of their own, signs the tree with it and appends the note
    to checkpoints.txt: the next recording command refuses to build on it."""
    foreign = new_signing_key("Mallory Impostor")
    conn = raw_db(case)
    drop_triggers(conn)
    for action in ("key.registered", "checkpoint.signed"):
        rows = conn.execute("SELECT seq, entry FROM entries ORDER BY seq").fetchall()
        last = json.loads(bytes(rows[-1][1]))
        value = {
            **last, "seq": len(rows), "prev": "blake3:" + leaf_hash(blake3_bytes, bytes(rows[-1][1])).hex(),
            "action": action, "actor": {"name": foreign.investigator, "key_id": foreign.public.key_id},
            "details": {"investigator": foreign.investigator, "public_key": foreign.public.to_dict()},
        }  # fmt: skip
        if action == "checkpoint.signed":
            tree = MerkleTree(blake3_bytes, [leaf_hash(blake3_bytes, bytes(raw)) for _, raw in rows])
            info = json.loads((case / "case.json").read_text(encoding="utf-8"))
            checkpoint = Checkpoint(f"evidencekit/{info['case_id']}/{info['case_uuid']}", len(rows), tree.root())
            note = sign_checkpoint(checkpoint, foreign).text()
            value["details"] = {
                "tree_size": len(rows), "root": "blake3:" + checkpoint.root.hex(),
                "key_id": foreign.public.key_id, "note": note,
            }  # fmt: skip
        raw = canonical_json(value)
        conn.execute(
            "INSERT INTO entries (seq, action, subject, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
            (len(rows), action, None, raw, leaf_hash(blake3_bytes, raw).hex()),
        )
    conn.close()
    with (case / "checkpoints.txt").open("a", encoding="utf-8") as notes:
        notes.write(note + "\n")
    before = _entries(case)
    result = run_cli(["--case", str(case), "note", "n"])
    assert result.exit_code == 3
    line = _one_line(result.stderr)
    assert "signed by a key that may not sign" in line and "keys add-investigator" in line, line
    assert _entries(case) == before
    code, report = verify_json(case)
    assert code == 3 and "checkpoint.key" in {p["code"] for p in report["problems"]}


def test_a_protected_key_rotates_to_a_key_protected_by_the_same_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCEKIT_KEY_PASSPHRASE", "three long words")
    assert run_cli(["keys", "generate", "--investigator", "Ana Lima", "--passphrase"]).exit_code == 0
    case = make_case(tmp_path / "case")
    old = _key_id()
    rotated = run_cli(["--case", str(case), "keys", "rotate"])
    assert rotated.exit_code == 0, rotated.stderr
    shown = run_cli(["keys", "show"]).stdout
    assert "Protected:    yes (passphrase)" in shown and old not in shown
    monkeypatch.delenv("EVIDENCEKIT_KEY_PASSPHRASE")
    refused = run_cli(["--case", str(case), "note", "no passphrase"])
    assert refused.exit_code == 2 and "protected by a passphrase" in refused.stderr
    monkeypatch.setenv("EVIDENCEKIT_KEY_PASSPHRASE", "three long words")
    assert run_cli(["--case", str(case), "note", "with the passphrase"]).exit_code == 0
    assert verify_json(case)[0] == 0
