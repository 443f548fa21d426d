"""The storage seam: the real workflows run on a second backend, all in memory (tests/memory_backend.py),
record what they record on SQLite, seal inside one locked transaction, and stay verifiable by the rulebook."""

from __future__ import annotations

import dataclasses
import datetime as dt
import resource
import signal
import threading
import time
from pathlib import Path

import pytest
from memory_backend import MemoryCase, MemoryStorage

from evidencekit.errors import IntegrityError, LedgerCorruptError, OperationalError
from evidencekit.ledger.backend import StorageFactory, entry_leaf_hash
from evidencekit.ledger.entries import detail_problems
from evidencekit.ledger.rules import AuditResult, HeldNote
from evidencekit.ledger.witness import NoteFile, read_notes_file
from evidencekit.models import EntryDraft, LedgerEntry
from evidencekit.workflows import case as api
from evidencekit.workflows.keys import generate_investigator_key
from evidencekit.workflows.opencase import OpenCase, Session, open_case, seal

INVESTIGATOR = "Ana Lima"
PHOTO = Path(__file__).parent / "data" / "images" / "exif_full_gps_north_east.jpg"


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    generate_investigator_key(env, INVESTIGATOR)
    return env


@pytest.fixture
def memory(tmp_path: Path) -> MemoryStorage:
    return MemoryStorage(tmp_path / "object-cache")


def _start(folder: Path, environ: dict[str, str], storage: StorageFactory | None = None) -> Session:
    session = Session(folder, environ) if storage is None else Session(folder, environ, storage=storage)
    api.init_case(session, case_id="SEAM-1", title="Seams", investigator=INVESTIGATOR, agency=None)
    return session


def _scenario(session: Session, tmp_path: Path) -> list[api.AddedFile]:
    """Add two files (one a photo with EXIF), a note about the first, then a checkpoint."""
    text = tmp_path / "ad.txt"
    text.write_bytes(b"Au pair wanted, call +44 20 7946 0958\n")
    added = api.add_files(session, [text, PHOTO])
    api.add_note(session, "seen again", item_id=added[0].item_id)
    api.checkpoint(session)
    return added


def audit(case: OpenCase) -> AuditResult:
    """The rulebook over whatever backend holds the case: stored rows and the notes held outside them."""
    external = [HeldNote(text, log.where) for log in (case.checkpoints, case.witness) for text in log.texts() or []]
    return case.ledger.verify(origin=case.info.origin, external_notes=external, details=detail_problems)


def _checkpoint_notes(entries: list[LedgerEntry]) -> list[str]:
    return [str(e.details["note"]) for e in entries if e.action == "checkpoint.signed"]


def _memory_case(memory: MemoryStorage) -> MemoryCase:
    (case,) = memory.cases.values()
    return case


def test_the_workflows_run_on_the_memory_backend_and_leave_no_storage_in_the_case_folder(tmp_path, environ, memory):
    session = _start(tmp_path / "case", environ, memory)
    added = _scenario(session, tmp_path)

    assert sorted(p.name for p in (tmp_path / "case").iterdir()) == ["case.json"]
    assert not (tmp_path / "config" / "evidencekit" / "witness").exists()
    with open_case(session, readonly=True) as case:
        entries = list(case.ledger.entries())
        assert [e.action for e in entries] == [
            "case.opened",
            "key.registered",
            "checkpoint.signed",
            "file.added",
            "file.added",
            "checkpoint.signed",
            "note.added",
            "checkpoint.signed",
            "checkpoint.signed",
        ]
        assert [a.item_id for a in added] == ["file-0001", "file-0002"]
        # Sealed in the same transaction: each checkpoint signs every entry before it, none after.
        assert [e.details["tree_size"] for e in entries if e.action == "checkpoint.signed"] == [2, 5, 7, 8]
        notes = _checkpoint_notes(entries)
        assert case.checkpoints.texts() == notes and case.witness.texts() == notes
        result = audit(case)
        assert result.problems == [] and len(result.checkpoints) == 4 and result.size == 9

        for record, source in zip(added, [tmp_path / "ad.txt", PHOTO], strict=True):
            (artefact,) = record.entry.artefacts
            assert case.store.has(artefact.digests) and case.store.check(artefact.digests) is None
            with case.store.open(artefact.digests) as stream:
                assert stream.read() == source.read_bytes()
            assert not case.store.path_for(artefact.digests.blake3).is_relative_to(tmp_path / "case")
        assert added[1].entry.details["exif"], "EXIF read through the store's local copy"
        assert case.store.unnamed({a.digests.blake3 for r in added for a in r.entry.artefacts}) == []

    items = api.list_items(session)
    assert [(i.item_id, i.notes) for i in items] == [("file-0001", 1), ("file-0002", 0)]
    assert api.show_item(session, "file-0001").summary.label == "ad.txt"
    assert len(api.read_log(session)) == 9


def test_the_same_workflows_record_the_same_on_sqlite_by_default(tmp_path, environ, memory):
    on_memory = _start(tmp_path / "memory-case", environ, memory)
    _scenario(on_memory, tmp_path)
    on_sqlite = _start(tmp_path / "sqlite-case", environ)  # no storage named: the case folder's SQLite
    _scenario(on_sqlite, tmp_path)

    assert {"ledger.sqlite", "checkpoints.txt", "objects"} <= {p.name for p in (tmp_path / "sqlite-case").iterdir()}

    def shape(session: Session) -> list[tuple[object, ...]]:
        with open_case(session, readonly=True) as case:
            assert audit(case).problems == []
            return [
                (e.seq, e.action, e.subject, [a.to_dict() for a in e.artefacts], e.details.get("tree_size"))
                for e in case.ledger.entries()
            ]

    assert shape(on_memory) == shape(on_sqlite)


def test_item_ids_have_no_gaps_and_two_writers_at_once_are_serialised(tmp_path, environ, memory):
    session = _start(tmp_path / "case", environ, memory)
    rounds, failures = 10, []

    def writer(name: str) -> None:
        try:
            for i in range(rounds):
                path = tmp_path / f"{name}-{i}.txt"
                path.write_text(f"{name} file {i}\n", encoding="utf-8")
                api.add_files(session, [path])
                api.add_note(session, f"{name}-{i}")
        except BaseException as exc:  # reported below, with the thread's own error
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []

    with open_case(session, readonly=True) as case:
        entries = list(case.ledger.entries())
        assert [e.seq for e in entries] == list(range(len(entries)))  # no fork, no gap
        files = [e.subject for e in entries if e.action == "file.added"]
        assert files == [f"file-{n:04d}" for n in range(1, 2 * rounds + 1)]  # allocated in order, none twice
        notes = [str(e.details["text"]) for e in entries if e.action == "note.added"]
        for name in ("w1", "w2"):
            assert [n for n in notes if n.startswith(name)] == [f"{name}-{i}" for i in range(rounds)]
        signed = [e for e in entries if e.action == "checkpoint.signed"]
        assert len(signed) == 4 * rounds + 1  # init's too
        assert all(e.details["tree_size"] == e.seq for e in signed)  # nothing slipped in between check and sign
        texts = set(_checkpoint_notes(entries))
        assert set(case.checkpoints.texts() or []) == texts == set(case.witness.texts() or [])
        assert audit(case).problems == []


def test_a_transaction_holds_the_case_until_it_commits(tmp_path, environ, memory):
    session = _start(tmp_path / "case", environ, memory)
    with open_case(session) as first, open_case(session) as other:
        before = other.ledger.size()
        with pytest.raises(RuntimeError), first.ledger.transaction() as txn:
            txn.append(EntryDraft("note.added", first.actor, details={"text": "half"}))
            raise RuntimeError("power cut")
        assert first.ledger.size() == other.ledger.size() == before  # nothing of it was recorded

        waiting = threading.Thread(target=api.add_note, args=(session, "second writer"))
        with first.ledger.transaction() as txn:
            mine = txn.append(EntryDraft("note.added", first.actor, details={"text": "first writer"}))
            waiting.start()
            time.sleep(0.3)
            assert waiting.is_alive(), "a second writer got in while a transaction was open"
            assert first.ledger.size() == before + 1 and other.ledger.size() == before
            seal(first, txn)  # as every recording command does: the second writer signs only its own entry
        waiting.join(timeout=30)
        entries = list(other.ledger.entries())
    texts = [(e.seq, e.details.get("text")) for e in entries if e.action == "note.added"]
    assert texts == [(mine.seq, "first writer"), (mine.seq + 2, "second writer")]
    with open_case(session, readonly=True) as reader, pytest.raises(OperationalError, match="read-only"):
        reader.ledger.transaction().__enter__()


def test_the_rulebook_finds_an_entry_altered_in_memory(tmp_path, environ, memory):
    session = _start(tmp_path / "case", environ, memory)
    _scenario(session, tmp_path)
    stored = _memory_case(memory)
    index = next(i for i, r in enumerate(stored.rows) if r.action == "note.added")
    row = stored.rows[index]
    altered = row.raw.replace(b"seen again", b"never seen")
    assert altered != row.raw

    stored.rows[index] = dataclasses.replace(row, raw=altered)  # the bytes changed, the recorded hash kept
    with open_case(session, readonly=True) as case:
        found = {(p.code, p.seq) for p in audit(case).problems}
    assert {("entry.altered", row.seq), ("chain.broken", row.seq + 1)} <= found

    # A forger who also recomputes the recorded hash still breaks the chain and every signed root after
    # it, and no new checkpoint can be signed over the change.
    stored.rows[index] = dataclasses.replace(row, raw=altered, leaf_hash=entry_leaf_hash(altered).hex())
    with open_case(session, readonly=True) as case:
        found = {(p.code, p.seq) for p in audit(case).problems}
    assert ("chain.broken", row.seq + 1) in found and ("entry.altered", row.seq) not in found
    assert any(code == "checkpoint.root_mismatch" for code, _ in found)
    size = len(stored.rows)
    with pytest.raises(IntegrityError, match="nothing was signed"):
        api.checkpoint(session)
    assert len(stored.rows) == size


def test_the_witness_copy_outlives_a_ledger_and_checkpoints_log_cut_back_together(tmp_path, environ, memory):
    session = _start(tmp_path / "case", environ, memory)
    _scenario(session, tmp_path)
    stored = _memory_case(memory)
    stored.rows = stored.rows[:5]  # the note, its checkpoint and the last checkpoint removed
    stored.checkpoints.held = (stored.checkpoints.held or [])[:1]
    with open_case(session, readonly=True) as case:
        problems = audit(case).problems
        witness = case.witness.where
    assert any(p.code == "ledger.truncated" and p.path == witness for p in problems), problems
    with pytest.raises(IntegrityError):
        api.add_note(session, "covering it up")
    assert len(stored.rows) == 5


def test_a_checkpoints_file_append_adds_a_whole_note_or_nothing(tmp_path, environ):
    session = _start(tmp_path / "case", environ)
    api.checkpoint(session)
    with open_case(session) as case:
        entry = case.ledger.entries_with_action("checkpoint.signed")[-1]
    notes = NoteFile(tmp_path / "case" / "checkpoints.txt", "checkpoints.txt")
    before = notes.path.read_bytes()
    note = notes.notes()[-1]
    assert note.text() == entry.details["note"]
    # The disk fills up part-way through the note (a file size limit makes the kernel refuse the rest).
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 40, hard))
    try:
        with pytest.raises(OSError, match="too large"):
            notes.append(note)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert notes.path.read_bytes() == before
    notes.append(note)
    assert len(read_notes_file(notes.path)) == 3  # init's note, the checkpoint's, and the same again


def test_a_ledger_is_made_with_its_first_entry_or_not_at_all_and_never_made_again(tmp_path, memory):
    from evidencekit.errors import CaseExistsError
    from evidencekit.ledger.local import LocalStorage
    from evidencekit.models import Actor, CaseInfo
    from evidencekit.workspace import Workspace

    info = CaseInfo("SEAM-2", "uuid-seam-2", "t", INVESTIGATOR, None, "2026-12-01T10:00:00.000000Z")
    actor = Actor(INVESTIGATOR, None)

    def stopped_clock() -> dt.datetime:
        raise OSError("the clock cannot be read")  # fails after the ledger was made, before entry 0 is in

    for storage in (LocalStorage(), memory):
        workspace = Workspace(tmp_path / type(storage).__name__)
        workspace.root.mkdir()
        with pytest.raises(OSError, match="clock"):
            storage.create(workspace, info, [EntryDraft("case.opened", actor)], clock=stopped_clock)
        assert list(workspace.root.iterdir()) == []
        with pytest.raises(LedgerCorruptError):
            storage.open(workspace, info, {}, clock=lambda: dt.datetime.now(dt.UTC), readonly=True)
        (first,) = storage.create(
            workspace, info, [EntryDraft("case.opened", actor)], clock=lambda: dt.datetime.now(dt.UTC)
        )
        assert first.seq == 0
        with pytest.raises(CaseExistsError):
            storage.create(workspace, info, [EntryDraft("case.opened", actor)], clock=lambda: dt.datetime.now(dt.UTC))
        opened = storage.open(workspace, info, {"HOME": str(tmp_path)}, clock=dt.datetime.now, readonly=True)
        assert [e.action for e in opened.ledger.entries()] == ["case.opened"]
        opened.close()
