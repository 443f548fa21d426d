"""One table of custody rule cases, run against both verifiers: `ledger verify` on a damaged case, and bundle
`verify` on a bundle holding the same ledger lines (signed for by an insider holding the investigator's key).

Each case forges or damages a real case's SQLite ledger (triggers dropped, as an attacker with file access
would) and names the problem code it must yield. Both verifiers apply the one rulebook, so they must agree on
every finding of a rule both can apply; a rule the bundle cannot apply must be named in its ``not_applied``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from bundlekit import write_ledger
from casekit import drop_triggers, make_case, raw_db, run_cli

from evidencekit.hashing import blake3_bytes
from evidencekit.keys import SigningKey, keys_dir, load_key, new_signing_key
from evidencekit.ledger.merkle import MerkleTree, leaf_hash
from evidencekit.ledger.notes import Checkpoint, SignedNote, sign_checkpoint
from evidencekit.ledger.rules import CODES, RULES
from evidencekit.models import canonical_json
from evidencekit.timefmt import parse_time
from evidencekit.workflows.case import add_note
from evidencekit.workflows.opencase import Session


@dataclass(frozen=True)
class Master:
    case: Path
    config: Path
    full: Path  # an export with --full-ledger
    excerpt: Path  # an export of one item: the entries of the others are left out


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Master:
    """A real case (key, three files, a note, signed checkpoints) and two exports of it; made once: exporting
    prints a PDF with Chromium."""
    folder = tmp_path_factory.mktemp("rules-master")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        files = []
        for n in range(3):
            path = folder / f"ad-{n}.txt"
            path.write_text(f"Waitress wanted abroad, call +44 20 7946 09{n}{n}\n", encoding="utf-8")
            files.append(str(path))
        assert run_cli(["--case", str(case), "add", *files]).exit_code == 0
        assert run_cli(["--case", str(case), "note", "same number in ads 1-3"]).exit_code == 0
        for name, which in (("excerpt", ["--item", "file-0002"]), ("full", ["--all", "--full-ledger"])):
            result = run_cli(["--case", str(case), "export", str(folder / name), "--dir", *which])
            assert result.exit_code == 0, result.stderr
    return Master(case, folder / "config", folder / "full", folder / "excerpt")


class Forger:
    """The case's SQLite file as an attacker with file access has it, and the investigator's key as an insider
    has it."""

    def __init__(self, case: Path, key: SigningKey, origin: str) -> None:
        self.case, self.key, self.origin = case, key, origin
        self.conn = raw_db(case)
        drop_triggers(self.conn)

    def rows(self) -> list[tuple[int, str, bytes]]:
        query = "SELECT seq, action, entry FROM entries ORDER BY seq"
        return [(seq, action, bytes(raw)) for seq, action, raw in self.conn.execute(query)]

    def value(self, seq: int) -> dict[str, Any]:
        (raw,) = self.conn.execute("SELECT entry FROM entries WHERE seq = ?", (seq,)).fetchone()
        return dict(json.loads(bytes(raw)))

    def seqs(self, action: str) -> list[int]:
        return [seq for seq, found, _ in self.rows() if found == action]

    def store(self, seq: int, entry: dict[str, Any] | bytes, *, leaf: bool = True) -> None:
        """Write an entry back; with ``leaf`` also its recomputed leaf hash, as a careful forger would."""
        raw = entry if isinstance(entry, bytes) else canonical_json(entry)
        self.conn.execute("UPDATE entries SET entry = ? WHERE seq = ?", (raw, seq))
        if leaf:
            self.conn.execute(
                "UPDATE entries SET leaf_hash = ? WHERE seq = ?", (leaf_hash(blake3_bytes, raw).hex(), seq)
            )

    def relink(self, start: int) -> None:
        """Chain every entry from ``start`` on again, with fresh leaf hashes: a thorough forger."""
        rows = self.rows()
        for seq, _, raw in rows[start:]:
            entry = json.loads(raw)
            entry["prev"] = "blake3:" + leaf_hash(blake3_bytes, rows[seq - 1][2]).hex()
            self.store(seq, entry)
            rows = self.rows()

    def tree(self) -> MerkleTree:
        return MerkleTree(blake3_bytes, [leaf_hash(blake3_bytes, raw) for _, _, raw in self.rows()])

    def resign(self, seq: int, checkpoint: Checkpoint) -> None:
        """Replace the note of the checkpoint.signed entry at ``seq``, its fields saying what the note says."""
        entry = self.value(seq)
        entry["details"].update(
            note=sign_checkpoint(checkpoint, self.key).text(),
            tree_size=checkpoint.size,
            root="blake3:" + checkpoint.root.hex(),
        )
        self.store(seq, entry)


# -- the forgeries: each returns the seq where its code must be found ------------------------------------------
def broken_link(f: Forger) -> int:
    seq = f.seqs("file.added")[1]
    entry = f.value(seq)
    entry["prev"] = "blake3:" + "00" * 32
    f.store(seq, entry)
    return seq


def gap(f: Forger) -> int:
    seq = f.seqs("file.added")[1]
    f.conn.execute("DELETE FROM entries WHERE seq = ?", (seq,))
    return seq + 1  # where the ledger finds the number it expected missing


def altered_bytes(f: Forger) -> int:
    seq = f.seqs("file.added")[1]
    f.store(seq, canonical_json(f.value(seq)).replace(b"ad-1.txt", b"ad-9.txt"), leaf=False)
    return seq


def not_canonical(f: Forger) -> int:
    seq = f.seqs("note.added")[0]
    f.store(seq, canonical_json(f.value(seq)).replace(b'"seq":', b'"seq": '))
    return seq


def foreign_case_id(f: Forger) -> int:
    seq = f.seqs("note.added")[0]
    entry = f.value(seq)
    entry["case_id"] = "OTHER-CASE"
    f.store(seq, entry)
    return seq


def damaged_details(f: Forger) -> int:
    """A known action whose details no longer have its recorded form (a note's text made a number)."""
    seq = f.seqs("note.added")[0]
    entry = f.value(seq)
    entry["details"]["text"] = 12
    f.store(seq, entry)
    return seq


def malformed_key(f: Forger) -> int:
    seq = f.seqs("key.registered")[0]
    entry = f.value(seq)
    entry["details"]["public_key"]["public_key"] = "AAAA"
    f.store(seq, entry)
    return seq


def bad_signature(f: Forger) -> int:
    seq = f.seqs("checkpoint.signed")[1]
    entry = f.value(seq)
    head, b64 = entry["details"]["note"].rstrip("\n").rsplit(" ", 1)
    entry["details"]["note"] = f"{head} {b64[:10]}{'A' if b64[10] != 'A' else 'B'}{b64[11:]}\n"
    f.store(seq, entry)
    return seq


def root_mismatch(f: Forger) -> int:
    seq = f.seqs("file.added")[1]
    entry = f.value(seq)
    entry["details"]["original_name"] = "planted.txt"
    f.store(seq, entry)
    return min(s for s in f.seqs("checkpoint.signed") if s > seq)


def premature(f: Forger) -> int:
    """An insider makes a checkpoint sign one entry more than stood before it: itself, as it was."""
    seq = f.seqs("checkpoint.signed")[0]
    f.resign(seq, Checkpoint(f.origin, seq + 1, f.tree().root(seq + 1)))
    return seq


def entry_mismatch(f: Forger) -> int:
    seq = f.seqs("checkpoint.signed")[-1]
    entry = f.value(seq)
    entry["details"]["tree_size"] = 1
    f.store(seq, entry)
    return seq


def history_rewritten(f: Forger) -> int:
    """An insider edits an old note, chains everything after it again and signs the newest checkpoint anew;
    the checkpoints signed in between still sign the old history."""
    edited = f.seqs("note.added")[0]
    entry = f.value(edited)
    entry["details"]["text"] = "no number in common"
    f.store(edited, entry)
    f.relink(edited + 1)
    newest = f.seqs("checkpoint.signed")[-1]
    f.resign(newest, Checkpoint(f.origin, newest, f.tree().root(newest)))
    return newest


def foreign_origin(f: Forger) -> int:
    seq = f.seqs("checkpoint.signed")[0]
    old = SignedNote.parse(f.value(seq)["details"]["note"]).checkpoint()
    f.resign(seq, Checkpoint("evidencekit/OTHER-CASE/00000000-0000-4000-8000-000000000000", old.size, old.root))
    return seq


def clock_set_back(f: Forger) -> int:
    """No forgery: the investigator's clock was set back 2.5 s (NTP, sleep) before a note was recorded."""
    (last,) = f.conn.execute("SELECT entry FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    earlier = parse_time(json.loads(bytes(last))["time"]) - timedelta(seconds=2.5)
    session = Session(f.case, dict(os.environ), clock=lambda: earlier)
    return add_note(session, "recorded after the clock was set back").seq


def _append(f: Forger, value: dict[str, Any]) -> int:
    """Append ``value`` as the next entry, chained to the last one and timed with it: a careful forger."""
    seq, _, last = f.rows()[-1]
    value.update(seq=seq + 1, prev="blake3:" + leaf_hash(blake3_bytes, last).hex(), time=json.loads(last)["time"])
    raw = canonical_json(value)
    f.conn.execute(
        "INSERT INTO entries (seq, action, subject, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
        (seq + 1, value["action"], value["subject"], raw, leaf_hash(blake3_bytes, raw).hex()),
    )
    return seq + 1


def unsigned_after_checkpoint(f: Forger) -> int:
    """Issue 11, defect 3: a correctly chained note claiming the investigator's key, slipped in after the newest
    checkpoint (a bundle made afterwards signs it with the rest)."""
    note = f.value(f.seqs("note.added")[0])
    note["details"] = {"text": "the recruiter is my cousin, no case here"}
    return _append(f, note)


def foreign_key_checkpoint(f: Forger) -> int:
    """A key registered as if it were the case's first, and a checkpoint it signs: never brought in by a
    registered key."""
    foreign = new_signing_key("Mallory Impostor")
    actor = {"name": foreign.investigator, "key_id": foreign.public.key_id}
    registered = f.value(f.seqs("key.registered")[0])
    registered.update(
        actor=actor, details={"investigator": foreign.investigator, "public_key": foreign.public.to_dict()}
    )
    _append(f, registered)
    size = len(f.rows())
    checkpoint = Checkpoint(f.origin, size, f.tree().root(size))
    signed = f.value(f.seqs("checkpoint.signed")[-1])
    signed.update(actor=actor)
    signed["details"] = {
        "tree_size": size,
        "root": "blake3:" + checkpoint.root.hex(),
        "key_id": foreign.public.key_id,
        "note": sign_checkpoint(checkpoint, foreign).text(),
    }
    return _append(f, signed)


def _capture_start(f: Forger, **change: Any) -> int:
    """A correctly chained capture.started slipped in after the newest checkpoint, as a killed capture leaves
    one (the investigator's key, a new item id), but for ``change``; no lock file claims it."""
    start = f.value(f.seqs("note.added")[0])
    start.update(
        action="capture.started", subject="capture-0001", details={"url": "https://example.org/ad", "options": {}}
    )
    seq = _append(f, start)
    if change:
        entry = f.value(seq)
        entry.update(change)
        f.store(seq, entry)
    return seq


def unclaimed_capture_start(f: Forger) -> int:
    """Second look at defect 3: a start no run's lock file claims (a bundle carries no lock files)."""
    return _capture_start(f)


def capture_start_by_an_unknown_key(f: Forger) -> int:
    return _capture_start(f, actor={"name": "Mallory", "key_id": "fb7143a15dc051a1"})


def capture_start_back_dated(f: Forger) -> int:
    return _capture_start(f, time="2001-01-01T00:00:00.000000Z")


def reused_item_id(f: Forger) -> int:
    """A file.added naming an item id an earlier entry created."""
    return _append(f, f.value(f.seqs("file.added")[0]))


@dataclass(frozen=True)
class Rule:
    forge: Callable[[Forger], int]
    code: str
    warning: str | None = None  # the warning's message (a warning, never a problem)
    bundle_cannot: bool = False  # the bundle cannot apply the rule: it must say so in not_applied
    bundle_exit: int = 3  # what bundle verify exits with (0: only the rule it cannot apply is broken)


TABLE = {
    "broken chain link": Rule(broken_link, "chain.broken"),
    "gap": Rule(gap, "ledger.gap", bundle_cannot=True),  # its lines no longer stand as seq 0 to n-1
    "altered entry bytes": Rule(altered_bytes, "entry.altered", bundle_cannot=True),  # a bundle stores no leaf
    "entry not canonical": Rule(not_canonical, "entry.malformed"),
    "foreign case id": Rule(foreign_case_id, "entry.foreign"),
    "known action, damaged details": Rule(damaged_details, "entry.details"),
    "malformed key.registered": Rule(malformed_key, "key.malformed"),
    "checkpoint bad signature": Rule(bad_signature, "checkpoint.bad_signature"),
    "checkpoint root mismatch": Rule(root_mismatch, "checkpoint.root_mismatch"),
    "premature checkpoint": Rule(premature, "checkpoint.premature"),
    "checkpoint entry mismatch": Rule(entry_mismatch, "checkpoint.entry_mismatch"),
    "history rewritten and re-signed": Rule(history_rewritten, "checkpoint.inconsistent"),
    "foreign origin": Rule(foreign_origin, "checkpoint.foreign"),
    "time running backwards": Rule(clock_set_back, "time.regressed", warning="2.500000 s earlier than seq"),
    "unsigned entry after the newest checkpoint": Rule(unsigned_after_checkpoint, "entry.unsealed"),
    "checkpoint signed by a key no registered key brought in": Rule(foreign_key_checkpoint, "checkpoint.key"),
    "item id reused": Rule(reused_item_id, "item.reused"),
    "unsigned capture.started naming a key never brought in": Rule(capture_start_by_an_unknown_key, "entry.actor"),
    "unsigned capture.started back-dated": Rule(capture_start_back_dated, "entry.backdated"),
    # A bundle carries no lock files: its checkpoint signs the start (export refuses an unclaimed one).
    "unsigned capture.started no run claims": Rule(
        unclaimed_capture_start, "entry.unclaimed", bundle_cannot=True, bundle_exit=0
    ),
}


def _copy_master(master: Master, tmp_path: Path) -> tuple[Path, Path, SigningKey]:
    case, bundle = tmp_path / "case", tmp_path / "bundle"
    shutil.copytree(master.case, case)
    shutil.copytree(master.full, bundle)
    shutil.copytree(master.config, os.environ["XDG_CONFIG_HOME"], dirs_exist_ok=True)  # the key, the witness copy
    return case, bundle, load_key(keys_dir(os.environ))


def _report(args: list[str]) -> tuple[int, dict[str, Any]]:
    result = run_cli([*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def _rulebook_findings(report: dict[str, Any], skipped: set[str]) -> set[tuple[str, str, int | None, str]]:
    """The findings of the rulebook about ledger entries, except those of rules in ``skipped``."""
    return {
        (kind, p["code"], p["seq"], p["message"])
        for kind in ("problems", "warnings")
        for p in report[kind]
        if p["code"] in CODES and p["path"] is None and CODES[p["code"]] not in skipped
    }


@pytest.mark.parametrize("name", list(TABLE))
def test_both_verifiers_apply_each_rule_alike(master: Master, tmp_path: Path, name: str) -> None:
    rule = TABLE[name]
    case, bundle, key = _copy_master(master, tmp_path)
    info = json.loads((case / "case.json").read_text(encoding="utf-8"))
    forger = Forger(case, key, f"evidencekit/{info['case_id']}/{info['case_uuid']}")
    seq = rule.forge(forger)
    write_ledger(bundle, key, [raw for _, _, raw in forger.rows()])
    forger.conn.close()

    ledger_code, ledger = _report(["--case", str(case), "ledger", "verify"])
    bundle_code, found = _report(["verify", str(bundle)])
    kind = "warnings" if rule.warning else "problems"
    mine = [p for p in ledger[kind] if p["code"] == rule.code and p["seq"] == seq]
    assert mine, ledger[kind]
    skipped = {item["rule"] for item in found["not_applied"]}
    assert (CODES[rule.code] in skipped) is rule.bundle_cannot, found["not_applied"]
    if rule.bundle_cannot:
        assert not [p for p in found[kind] if p["code"] == rule.code], found[kind]
    else:
        assert [p for p in found[kind] if p["code"] == rule.code and p["seq"] == seq], found[kind]
    assert _rulebook_findings(ledger, skipped) == _rulebook_findings(found, skipped)
    assert skipped | {item["rule"] for item in ledger["not_applied"]} <= set(RULES)
    assert set(CODES.values()) <= set(RULES)
    if rule.warning:
        assert rule.warning in mine[0]["message"] and f"seq {seq - 1}'s" in mine[0]["message"]
        assert (ledger_code, bundle_code) == (0, 0), (ledger["problems"], found["problems"])
    else:
        assert (ledger_code, bundle_code) == (3, rule.bundle_exit), found["problems"]


@pytest.mark.parametrize(("name", "rule"), [("gap", "sequence.gap"), ("altered entry bytes", "entry.leaf")])
def test_rules_a_bundle_cannot_apply_are_named_with_the_reason(
    master: Master, tmp_path: Path, name: str, rule: str
) -> None:
    case, bundle, key = _copy_master(master, tmp_path)
    info = json.loads((case / "case.json").read_text(encoding="utf-8"))
    forger = Forger(case, key, f"evidencekit/{info['case_id']}/{info['case_uuid']}")
    TABLE[name].forge(forger)
    write_ledger(bundle, key, [raw for _, _, raw in forger.rows()])
    forger.conn.close()
    code, found = _report(["verify", str(bundle)])
    assert code == 3
    reasons = {item["rule"]: item["reason"] for item in found["not_applied"]}
    assert reasons.get(rule)
    text = run_cli(["verify", str(bundle)]).stdout
    assert f"  not applied: {rule}: {reasons[rule]}" in text


def test_a_full_ledger_bundle_applies_every_rule_an_excerpt_names_what_it_cannot(master: Master) -> None:
    code, full = _report(["verify", str(master.full)])
    assert code == 0, full["problems"]
    assert [item["rule"] for item in full["not_applied"]] == ["entry.leaf"]
    assert full["facts"]["ledger_complete"] is True
    code, excerpt = _report(["verify", str(master.excerpt)])
    assert code == 0, excerpt["problems"]
    reasons = {item["rule"]: item["reason"] for item in excerpt["not_applied"]}
    assert {"sequence.gap", "chain.link", "checkpoint.root"} <= set(reasons), reasons
    assert "of the" in reasons["sequence.gap"] and "entries its checkpoint signs" in reasons["sequence.gap"]
    text = run_cli(["verify", str(master.excerpt)]).stdout
    assert "  not applied: chain.link: " in text and "INTACT" in text


def test_the_per_action_details_check_is_applied_by_both_verifiers_where_it_is_given(tmp_path: Path) -> None:
    """The place ``ledger.entries.detail_problems`` plugs into: an entry whose details the check refuses is a
    problem named after its seq, in a whole ledger and in an excerpt alike."""
    from evidencekit.ledger.database import Ledger
    from evidencekit.ledger.rules import audit_excerpt
    from evidencekit.models import Actor, EntryDraft

    def refuse_notes(entry: Any) -> list[str]:
        return ["note.added entry does not have its recorded form"] if entry.action == "note.added" else []

    actor = Actor("Ana Lima")
    with Ledger.create(tmp_path / "ledger.sqlite", "CASE-1") as ledger:
        ledger.append_all([EntryDraft("note.added", actor, details={"text": f"n{i}"}) for i in range(3)])
        assert ledger.verify(origin=None).problems == []
        found = ledger.verify(origin=None, details=refuse_notes).problems
        raws = [row.raw for row in ledger.rows()]
    assert [(p.code, p.seq) for p in found] == [("entry.details", seq) for seq in range(3)]
    excerpt = audit_excerpt(raws[1:], signed_size=3, where="ledger.jsonl", details=refuse_notes)
    assert [(p.code, p.seq) for p in excerpt.problems] == [("entry.details", 1), ("entry.details", 2)]
    assert {n.rule for n in excerpt.not_applied} >= {"sequence.gap", "entry.case", "checkpoint.origin"}


def test_ledger_verify_names_the_witness_copy_it_could_not_compare(master: Master, tmp_path: Path) -> None:
    """On another machine (the examiner's) the investigator's witness copy is not there: said, not skipped."""
    case = tmp_path / "case"
    shutil.copytree(master.case, case)
    code, report = _report(["--case", str(case), "ledger", "verify"])
    assert code == 0, report["problems"]
    (reason,) = [item["reason"] for item in report["not_applied"] if item["rule"] == "checkpoint.external"]
    assert "no witness copy" in reason and "checkpoints.txt alone" in reason
    text = run_cli(["--case", str(case), "ledger", "verify"]).stdout
    # The examiner's machine holds no key of the investigator's: intact, but the signer is for --key to establish.
    assert f"  not applied: checkpoint.external: {reason}" in text and "INTACT" in text
