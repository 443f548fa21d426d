"""Each kind of after-the-fact change to a case is detected: exit 3, naming the sequence number or file."""

import json
import os

import pytest
from casekit import drop_triggers, make_case, raw_db, run_cli, verify_json

from evidencekit.hashing import blake3_bytes
from evidencekit.ledger.merkle import leaf_hash


@pytest.fixture
def case(tmp_path):
    case = make_case(tmp_path / "case")
    files = []
    for n in range(3):
        f = tmp_path / f"ad-{n}.txt"
        f.write_text(f"Waitress wanted abroad, call +44 20 7946 09{n}{n}\n")
        files.append(str(f))
    assert run_cli(["--case", str(case), "add", *files]).exit_code == 0
    assert run_cli(["--case", str(case), "note", "same number in ads 1-3"]).exit_code == 0
    code, report = verify_json(case)
    assert code == 0, report
    return case


def _store_forged(conn, seq, entry):
    """Write a forged entry back in canonical form, with its leaf hash recomputed as a careful forger would."""
    forged = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    leaf = leaf_hash(blake3_bytes, forged).hex()
    conn.execute("UPDATE entries SET entry = ?, leaf_hash = ? WHERE seq = ?", (forged, leaf, seq))
    return leaf


def _problems(case):
    code, report = verify_json(case)
    assert code == 3, report
    assert not report["ok"]
    return report["problems"]


def _rows(conn):
    return conn.execute("SELECT seq, action, subject, entry, leaf_hash FROM entries ORDER BY seq").fetchall()


def _second_file(conn):
    """The file.added entry of ad-1.txt (after init's own entries and ad-0.txt)."""
    return next(row for row in _rows(conn) if row[1] == "file.added" and b"ad-1.txt" in bytes(row[3]))


def test_entry_edited_with_triggers_dropped(case):
    conn = raw_db(case)
    drop_triggers(conn)
    seq, _, _, raw, _ = _second_file(conn)
    forged = bytes(raw).replace(b"ad-1.txt", b"ad-9.txt")
    assert forged != bytes(raw)
    conn.execute("UPDATE entries SET entry = ? WHERE seq = ?", (forged, seq))
    conn.close()
    problems = _problems(case)
    assert any(p["seq"] == seq and p["code"] == "entry.altered" for p in problems)
    assert any(p["seq"] == seq + 1 and p["code"] == "chain.broken" for p in problems)


def test_entry_edited_with_its_leaf_hash_recomputed(case):
    """A careful forger also rewrites the stored leaf hash: the chain and the signed roots still catch it."""
    conn = raw_db(case)
    drop_triggers(conn)
    seq, _, _, raw, _ = _second_file(conn)
    forged = bytes(raw).replace(b"ad-1.txt", b"ad-9.txt")
    conn.execute(
        "UPDATE entries SET entry = ?, leaf_hash = ? WHERE seq = ?",
        (forged, leaf_hash(blake3_bytes, forged).hex(), seq),
    )
    conn.close()
    problems = _problems(case)
    assert any(p["seq"] == seq + 1 and p["code"] == "chain.broken" for p in problems)
    assert any(p["code"] == "checkpoint.root_mismatch" for p in problems)


def test_last_entry_deleted(case):
    conn = raw_db(case)
    drop_triggers(conn)
    (last,) = conn.execute("SELECT MAX(seq) FROM entries").fetchone()
    conn.execute("DELETE FROM entries WHERE seq = ?", (last,))
    conn.close()
    problems = _problems(case)
    assert any(
        p["code"] == "checkpoint.unrecorded" and p["seq"] == last and p["path"] == "checkpoints.txt" for p in problems
    )


def test_last_entries_and_their_checkpoint_cut_off(case):
    conn = raw_db(case)
    drop_triggers(conn)
    (last,) = conn.execute("SELECT MAX(seq) FROM entries").fetchone()
    conn.execute("DELETE FROM entries WHERE seq >= ?", (last - 1,))
    conn.close()
    problems = _problems(case)
    assert any(p["code"] == "ledger.truncated" and p["seq"] == last - 1 for p in problems)


def test_two_entries_swapped(case):
    conn = raw_db(case)
    drop_triggers(conn)
    rows = _rows(conn)
    a, b = rows[2], rows[3]
    conn.execute(
        "UPDATE entries SET entry = ?, leaf_hash = ?, action = ?, subject = ? WHERE seq = ?",
        (b[3], b[4], b[1], b[2], 2),
    )
    conn.execute(
        "UPDATE entries SET entry = ?, leaf_hash = ?, action = ?, subject = ? WHERE seq = ?",
        (a[3], a[4], a[1], a[2], 3),
    )
    conn.close()
    problems = _problems(case)
    assert {2, 3} <= {p["seq"] for p in problems if p["code"] == "entry.misplaced"}


def test_entry_inserted(case):
    conn = raw_db(case)
    drop_triggers(conn)
    rows = _rows(conn)
    at = 3
    prev_leaf = bytes.fromhex(rows[at - 1][4])
    forged_entry = json.loads(bytes(rows[at][3]))
    forged_entry["details"]["original_name"] = "planted.txt"
    forged_entry["prev"] = "blake3:" + prev_leaf.hex()
    forged = json.dumps(forged_entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    conn.execute("DELETE FROM entries WHERE seq >= ?", (at,))
    conn.execute(
        "INSERT INTO entries VALUES (?, ?, ?, ?, ?)",
        (at, rows[at][1], rows[at][2], forged, leaf_hash(blake3_bytes, forged).hex()),
    )
    for seq, action, subject, raw, leaf in rows[at:]:
        conn.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", (seq + 1, action, subject, raw, leaf))
    conn.close()
    problems = _problems(case)
    assert any(p["seq"] == at + 1 and p["code"] == "entry.misplaced" for p in problems)
    assert any(p["seq"] == at + 1 and p["code"] == "chain.broken" for p in problems)


def _objects(case):
    return sorted(p for p in (case / "objects").rglob("*") if p.is_file())


def test_object_byte_flipped(case):
    target = _objects(case)[0]
    os.chmod(target, 0o644)
    data = bytearray(target.read_bytes())
    data[5] ^= 0x01
    target.write_bytes(bytes(data))
    problems = _problems(case)
    rel = f"objects/{target.parent.name}/{target.name}"
    assert [p["path"] for p in problems if p["code"] == "object.altered"] == [rel]


def test_object_removed(case):
    target = _objects(case)[1]
    os.chmod(target.parent, 0o755)
    target.unlink()
    problems = _problems(case)
    assert [p["path"] for p in problems if p["code"] == "object.missing"] == [
        f"objects/{target.parent.name}/{target.name}"
    ]


def test_checkpoint_signature_altered_in_checkpoints_file(case):
    path = case / "checkpoints.txt"
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    sig_index = max(i for i, line in enumerate(lines) if line.startswith("\u2014 "))
    name_part, b64 = lines[sig_index].rsplit(" ", 1)
    flipped = b64[:20] + ("A" if b64[20] != "A" else "B") + b64[21:]
    lines[sig_index] = f"{name_part} {flipped}"
    path.write_text("\n".join(lines), encoding="utf-8")
    problems = _problems(case)
    assert any(p["code"] == "checkpoint.bad_signature" and p["path"] == "checkpoints.txt" for p in problems)


def test_checkpoint_signature_altered_inside_the_ledger(case):
    conn = raw_db(case)
    drop_triggers(conn)
    seq, _, _, raw, _ = [r for r in _rows(conn) if r[1] == "checkpoint.signed"][-1]
    entry = json.loads(bytes(raw))
    note = entry["details"]["note"]
    head, b64 = note.rstrip("\n").rsplit(" ", 1)
    entry["details"]["note"] = f"{head} {b64[:10]}{'A' if b64[10] != 'A' else 'B'}{b64[11:]}\n"
    _store_forged(conn, seq, entry)
    conn.close()
    problems = _problems(case)
    assert any(p["code"] == "checkpoint.bad_signature" and p["seq"] == seq for p in problems)


def test_case_file_altered(case):
    path = case / "case.json"
    os.chmod(path, 0o644)
    data = json.loads(path.read_text())
    data["investigator"] = "Somebody Else"
    path.write_text(json.dumps(data))
    problems = _problems(case)
    assert any(p["code"] == "case.file_altered" and p["path"] == "case.json" for p in problems)


def test_verify_reports_every_problem_not_just_the_first(case):
    objs = _objects(case)
    for target in objs[:2]:
        os.chmod(target, 0o644)
        target.write_bytes(b"overwritten")
    conn = raw_db(case)
    drop_triggers(conn)
    seq, _, _, raw, _ = next(r for r in _rows(conn) if r[1] == "note.added")
    conn.execute("UPDATE entries SET entry = ? WHERE seq = ?", (bytes(raw) + b" ", seq))
    conn.close()
    problems = _problems(case)
    assert len([p for p in problems if p["code"] == "object.altered"]) == 2
    assert any(p["seq"] == seq and p["code"] == "entry.malformed" for p in problems)
    assert any(p["seq"] == seq and p["code"] == "entry.altered" for p in problems)
    text = run_cli(["--case", str(case), "ledger", "verify"])
    assert text.exit_code == 3 and "FAILED" in text.stdout and "PROBLEM" in text.stdout


def _relaunder(conn, from_seq):
    """Re-chain every entry from ``from_seq`` on and store fresh leaf hashes: a thorough forger."""
    rows = _rows(conn)
    prev_leaf = rows[from_seq - 1][4]
    for seq, _action, _subject, raw, _ in rows[from_seq:]:
        entry = json.loads(bytes(raw))
        entry["prev"] = "blake3:" + prev_leaf
        prev_leaf = _store_forged(conn, seq, entry)


def test_recording_refuses_to_sign_over_a_laundered_ledger(case):
    conn = raw_db(case)
    drop_triggers(conn)
    seq, _, _, raw, _ = _second_file(conn)
    forged = bytes(raw).replace(b"ad-1.txt", b"ad-X.txt")
    conn.execute("UPDATE entries SET entry = ? WHERE seq = ?", (forged, seq))
    _relaunder(conn, seq)
    before = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    conn.close()
    for args in (["note", "after the forgery"], ["checkpoint"]):
        result = run_cli(["--case", str(case), *args])
        assert result.exit_code == 3, result.stderr
        assert "nothing was signed" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    conn = raw_db(case)
    assert conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == before
    conn.close()


def test_newest_item_removed_and_checkpoints_file_deleted(case):
    conn = raw_db(case)
    drop_triggers(conn)
    (first_note,) = conn.execute("SELECT MIN(seq) FROM entries WHERE action = 'note.added'").fetchone()
    conn.execute("DELETE FROM entries WHERE seq >= ?", (first_note,))
    conn.close()
    (case / "checkpoints.txt").unlink()
    problems = _problems(case)
    assert any(p["code"] == "checkpoints_file.missing" for p in problems)
    assert any(p["code"] == "ledger.truncated" and "witness" in (p["path"] or "") for p in problems)


def test_checkpoints_file_rewritten_to_match_a_cut_ledger(case):
    """The forger cuts the ledger back and the case's checkpoints.txt with it: the witness copy remains."""
    conn = raw_db(case)
    drop_triggers(conn)
    checkpoints = [r for r in _rows(conn) if r[1] == "checkpoint.signed"]
    keep = checkpoints[-2][0]
    conn.execute("DELETE FROM entries WHERE seq > ?", (keep,))
    conn.close()
    notes = (case / "checkpoints.txt").read_text(encoding="utf-8").split("\n\n\n")
    (case / "checkpoints.txt").write_text("\n\n\n".join(notes[:-2]) + "\n\n", encoding="utf-8")
    problems = _problems(case)
    assert any(p["code"] == "ledger.truncated" and "witness" in (p["path"] or "") for p in problems), problems


def test_newest_checkpoint_entry_fields_must_match_its_note(case):
    conn = raw_db(case)
    drop_triggers(conn)
    seq, _, _, raw, _ = _rows(conn)[-1]
    entry = json.loads(bytes(raw))
    assert entry["action"] == "checkpoint.signed"
    entry["details"]["tree_size"] = 1
    _store_forged(conn, seq, entry)
    conn.close()
    problems = _problems(case)
    assert any(p["code"] == "checkpoint.entry_mismatch" and p["seq"] == seq for p in problems)


def test_checkpoints_file_replaced_by_a_link(case, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("")
    path = case / "checkpoints.txt"
    path.unlink()
    path.symlink_to(outside)
    result = run_cli(["--case", str(case), "note", "hello"])
    assert result.exit_code == 3 and "symbolic link" in result.stderr
    assert outside.read_text() == ""
    assert any(p["code"] == "checkpoints_file.link" for p in _problems(case))


def test_missing_ledger_database_is_an_integrity_problem(case):
    (case / "ledger.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (case / f"ledger.sqlite{suffix}").unlink(missing_ok=True)
    result = run_cli(["--case", str(case), "ledger", "verify"])
    assert result.exit_code == 3 and "ledger.sqlite is missing" in result.stderr


def test_reading_commands_never_write_to_the_database(case):
    import hashlib

    db = case / "ledger.sqlite"
    conn = raw_db(case)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for args in (["ledger", "verify"], ["log"], ["items"], ["show", "file-0001"]):
        assert run_cli(["--case", str(case), *args]).exit_code == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_foreign_database_is_refused_without_being_changed(tmp_path):
    import hashlib
    import sqlite3

    case = make_case(tmp_path / "other")
    db = case / "ledger.sqlite"
    for suffix in ("", "-wal", "-shm"):
        (case / f"ledger.sqlite{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = run_cli(["--case", str(case), "log"])
    assert result.exit_code == 3 and "foreign" in result.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (case / "ledger.sqlite-wal").exists()
