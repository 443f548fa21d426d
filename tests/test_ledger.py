import itertools
import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from evidencekit.errors import LedgerCorruptError, ValidationError
from evidencekit.hashing import blake3_bytes
from evidencekit.ledger.database import Ledger, entry_leaf_hash
from evidencekit.ledger.merkle import MerkleTree
from evidencekit.ledger.rules import RawEntry, audit_chain
from evidencekit.models import Actor, EntryDraft, LedgerEntry, canonical_json
from evidencekit.schemas import schema_problems

ACTOR = Actor("Ana Lima", None)


@pytest.fixture
def ledger(tmp_path):
    with Ledger.create(tmp_path / "ledger.sqlite", "CASE-1") as led:
        led.append(EntryDraft("case.opened", ACTOR, details={"case": {"case_id": "CASE-1"}}))
        yield led


def test_entries_are_chained_canonical_and_schema_valid(ledger):
    for i in range(5):
        ledger.append(EntryDraft("note.added", ACTOR, details={"text": f"note {i}"}))
    entries = list(ledger.entries())
    assert [e.seq for e in entries] == list(range(6))
    assert entries[0].prev is None
    for before, after in itertools.pairwise(entries):
        assert after.prev == "blake3:" + entry_leaf_hash(before.raw).hex()
    for e in entries:
        assert schema_problems("ledger-entry", e.to_dict()) == []
    expected = MerkleTree(blake3_bytes, [entry_leaf_hash(e.raw) for e in entries]).root()
    assert ledger.tree().root() == expected
    result = ledger.verify(origin=None)
    assert result.problems == []


def test_schema_rejects_a_broken_entry(ledger):
    entry = next(ledger.entries()).to_dict()
    entry["time"] = "yesterday"
    entry["extra"] = 1
    problems = schema_problems("ledger-entry", entry)
    assert any("time" in p for p in problems) and any("extra" in p for p in problems)


def test_triggers_refuse_update_and_delete(ledger):
    conn = sqlite3.connect(ledger.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE entries SET action = 'note.added' WHERE seq = 0")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM entries WHERE seq = 0")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM meta")
    conn.close()
    assert ledger.size() == 1


def test_database_is_wal_durable_and_marked(ledger):
    conn = ledger.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x45564B54


def test_a_failed_transaction_records_nothing(ledger):
    with pytest.raises(RuntimeError), ledger.transaction() as txn:
        txn.append(EntryDraft("note.added", ACTOR, details={"text": "half"}))
        raise RuntimeError("disk gone")
    assert ledger.size() == 1


def test_item_ids_are_allocated_per_kind(ledger):
    with ledger.transaction() as txn:
        a = txn.next_item_id("file")
        txn.append(EntryDraft("file.added", ACTOR, a))
        b = txn.next_item_id("file")
        txn.append(EntryDraft("file.added", ACTOR, b))
        c = txn.next_item_id("capture")
    assert (a, b, c) == ("file-0001", "file-0002", "capture-0001")


def test_foreign_and_damaged_databases_are_refused(tmp_path):
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(LedgerCorruptError, match="foreign"):
        Ledger.open(foreign)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(LedgerCorruptError):
        Ledger.open(garbage)


def test_audit_names_swapped_entries(ledger):
    for i in range(3):
        ledger.append(EntryDraft("note.added", ACTOR, details={"text": f"n{i}"}))
    raws = [r.raw for r in ledger.rows()]
    raws[1], raws[2] = raws[2], raws[1]
    result = audit_chain((RawEntry(i, raw) for i, raw in enumerate(raws)), case_id="CASE-1")
    assert {p.seq for p in result.problems} >= {1, 2}
    assert {p.code for p in result.problems} >= {"entry.misplaced", "chain.broken"}


APPENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from evidencekit.ledger.database import Ledger
    from evidencekit.models import Actor, EntryDraft
    path, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    with Ledger.open(path) as ledger:
        for i in range(count):
            ledger.append(EntryDraft("note.added", Actor(worker), details={"text": f"{worker}-{i}"}))
    """
)


def test_four_processes_appending_at_once_lose_nothing(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger.create(path, "CASE-1") as led:
        led.append(EntryDraft("case.opened", ACTOR))
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(path), f"w{n}", "200"], stderr=subprocess.PIPE)
        for n in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
    with Ledger.open(path) as led:
        entries = list(led.entries())
        result = led.verify(origin=None)
    assert result.problems == []
    notes = [e for e in entries if e.action == "note.added"]
    assert len(notes) == 800
    assert [e.seq for e in entries] == list(range(801))
    assert len({e.details["text"] for e in notes}) == 800
    for n in range(4):  # each writer's own entries stay in its order
        mine = [int(e.details["text"].split("-")[1]) for e in notes if e.actor.name == f"w{n}"]
        assert mine == list(range(200))


def test_entry_from_raw_rejects_tampered_bytes(ledger):
    raw = next(ledger.rows()).raw
    with pytest.raises(ValidationError):
        LedgerEntry.from_raw(raw.replace(b'"seq":0', b'"seq":00'))


def test_large_ledgers_check_canonical_form_and_signatures_on_worker_processes(tmp_path):
    """Above the parallel threshold the same faults are still found, with the right sequence number."""
    from evidencekit.keys import generate_key
    from evidencekit.workflows.opencase import checkpoint_draft

    key = generate_key(tmp_path / "keys", "Ana Lima")
    signer = Actor("Ana Lima", key.public.key_id)
    path = tmp_path / "big.sqlite"
    with Ledger.create(path, "CASE-1") as led:
        led.append(EntryDraft("case.opened", ACTOR))
        led.append(
            EntryDraft(
                "key.registered", ACTOR, details={"investigator": "Ana Lima", "public_key": key.public.to_dict()}
            )
        )
        from evidencekit.models import CaseInfo

        info = CaseInfo("CASE-1", "uuid-1", "t", "Ana Lima", None, "2026-11-27T10:00:00.000000Z")
        tree = led.tree()
        with led.transaction() as txn:
            for i in range(6000):
                tree.append(entry_leaf_hash(txn.append(EntryDraft("note.added", ACTOR, details={"text": f"n{i}"})).raw))
                if i % 2 == 1:
                    tree.append(entry_leaf_hash(txn.append(checkpoint_draft(info, signer, tree, key)).raw))
    with Ledger.open(path) as led:
        assert led.verify(origin=info.origin).problems == []
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    (raw,) = conn.execute("SELECT entry FROM entries WHERE seq = 4321").fetchone()
    spaced = bytes(raw).replace(b'"seq":4321', b'"seq": 4321')
    conn.execute(
        "UPDATE entries SET entry = ?, leaf_hash = ? WHERE seq = 4321", (spaced, entry_leaf_hash(spaced).hex())
    )
    seq, raw = conn.execute(
        "SELECT seq, entry FROM entries WHERE action = 'checkpoint.signed' AND seq > 5000 LIMIT 1"
    ).fetchone()
    entry = json.loads(bytes(raw))
    head, b64 = entry["details"]["note"].rstrip("\n").rsplit(" ", 1)
    entry["details"]["note"] = f"{head} {b64[:8]}{'A' if b64[8] != 'A' else 'B'}{b64[9:]}\n"
    forged = canonical_json(entry)
    conn.execute(
        "UPDATE entries SET entry = ?, leaf_hash = ? WHERE seq = ?", (forged, entry_leaf_hash(forged).hex(), seq)
    )
    conn.close()
    with Ledger.open(path) as led:
        problems = led.verify(origin=info.origin).problems
    assert any(p.code == "entry.malformed" and p.seq == 4321 for p in problems), problems[:5]
    assert any(p.code == "checkpoint.bad_signature" and p.seq == seq for p in problems), problems[:5]
    # The workers find checkpoints by the action column; a forger who also renames the row there hides
    # nothing: the chain audit sees where the checkpoints really stand and audits them itself.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE entries SET action = 'note.added' WHERE seq = ?", (seq,))
    conn.close()
    with Ledger.open(path) as led:
        problems = led.verify(origin=info.origin).problems
    assert any(p.code == "entry.index_altered" and p.seq == seq for p in problems), problems[:5]
    assert any(p.code == "checkpoint.bad_signature" and p.seq == seq for p in problems), problems[:5]
