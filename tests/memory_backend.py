"""A second storage backend, all in memory: proves the storage seam carries everything the workflows need.

The ledger, the case's checkpoints log, the investigator's witness copy and the object store live in
Python objects; nothing here touches SQLite or the case folder. Like any backend it reuses the one entry
form (``ChainHead``), the canonical JSON and the Merkle code. ``MemoryCase`` plays the shared server of
a team backend: every ``open`` gives a new handle on it, and one lock serialises the writers, as
BEGIN IMMEDIATE does for SQLite.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography import x509

from evidencekit.errors import (
    CaseExistsError,
    IntegrityError,
    LedgerCorruptError,
    ObjectMismatchError,
    OperationalError,
    ValidationError,
)
from evidencekit.hashing import Digests, blake3_bytes, hash_bytes, hash_stream
from evidencekit.ledger.backend import CaseStorage, ChainHead, Clock, StoredRow, item_id
from evidencekit.ledger.database import ITEM_ACTIONS  # the vocabulary, not the SQLite code
from evidencekit.ledger.merkle import MerkleTree
from evidencekit.ledger.notes import SignedNote
from evidencekit.ledger.rules import AuditResult, DetailCheck, HeldNote, RawEntry, Tokens, audit
from evidencekit.models import CaseInfo, EntryDraft, LedgerEntry, Problem
from evidencekit.store import compare_digests, put_file_as_stream
from evidencekit.workspace import Workspace


class MemoryNoteLog:
    """Signed notes in a list; an append replaces the list whole, so it adds a note or nothing."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._lock = threading.Lock()
        self.held: list[str] | None = None  # None: the log does not exist yet

    @property
    def where(self) -> str:
        return self._where

    def append(self, note: SignedNote) -> None:
        with self._lock:
            self.held = [*(self.held or []), note.text()]

    def notes(self) -> list[SignedNote]:
        try:
            return [SignedNote.parse(text) for text in self.held or []]
        except ValidationError as exc:
            raise IntegrityError(f"{self._where}: {exc}") from None

    def texts(self) -> list[str] | None:
        return None if self.held is None else list(self.held)


class MemoryObjectStore:
    """Objects as bytes by BLAKE3; ``path_for`` gives a local copy in a cache folder outside the case,
    as a remote store would for the tools that need a file."""

    def __init__(self, cache: Path) -> None:
        self.objects: dict[str, bytes] = {}
        self._cache = cache
        self._lock = threading.Lock()

    def put_file(self, source: Path) -> Digests:
        return put_file_as_stream(self, source)

    def put_stream(self, stream: BinaryIO) -> Digests:
        buffer = io.BytesIO()
        digests = hash_stream(stream, sink=buffer.write)
        with self._lock:
            self.objects.setdefault(digests.blake3, buffer.getvalue())  # never overwritten
        return digests

    def open(self, digests: Digests) -> BinaryIO:
        try:
            return io.BytesIO(self.objects[digests.blake3])
        except KeyError:
            raise ObjectMismatchError(f"object {self.label(digests.blake3)} is missing") from None

    def has(self, digests: Digests) -> bool:
        return digests.blake3 in self.objects

    def path_for(self, blake3_hex: str) -> Path:
        path = self._cache / blake3_hex[:2] / blake3_hex
        data = self.objects.get(blake3_hex)
        if data is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o444)
        return path

    def check(self, digests: Digests) -> Problem | None:
        label = self.label(digests.blake3)
        data = self.objects.get(digests.blake3)
        if data is None:
            return Problem("object.missing", "object is missing from the store", path=label)
        return compare_digests(label, digests, hash_bytes(data))

    def unnamed(self, named: set[str]) -> list[str]:
        return sorted(self.label(b3) for b3 in self.objects if b3 not in named)

    @staticmethod
    def label(blake3_hex: str) -> str:
        return f"memory:objects/{blake3_hex}"


@dataclass
class MemoryCase:
    """What a shared backend keeps for one case: its rows, its checkpoints log and its objects."""

    case_id: str
    store: MemoryObjectStore
    rows: list[StoredRow] = field(default_factory=list)  # replaced whole on commit: readers see commits only
    checkpoints: MemoryNoteLog = field(default_factory=lambda: MemoryNoteLog("checkpoints (memory)"))
    lock: threading.Lock = field(default_factory=threading.Lock)


class MemoryTransaction:
    def __init__(self, ledger: MemoryLedger, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock
        rows = ledger.visible()
        self._head = ChainHead.after(rows[-1] if rows else None)
        self.appended: list[LedgerEntry] = []
        self.pending: list[StoredRow] = []

    def next_item_id(self, prefix: str) -> str:
        kind = f"{prefix}-"
        rows = self._ledger.visible()
        return item_id(prefix, sum(1 for r in rows if r.action in ITEM_ACTIONS and str(r.subject).startswith(kind)))

    def append(self, draft: EntryDraft) -> LedgerEntry:
        entry, row = self._head.link(draft, case_id=self._ledger.case_id, moment=self._clock())
        self.pending.append(row)
        self.appended.append(entry)
        return entry


class MemoryLedger:
    """One handle on a ``MemoryCase``; inside its transaction, its reads see its own appends."""

    def __init__(self, case: MemoryCase, clock: Clock, *, readonly: bool) -> None:
        self._case = case
        self._clock = clock
        self._readonly = readonly
        self._open: MemoryTransaction | None = None

    @property
    def case_id(self) -> str:
        return self._case.case_id

    @contextlib.contextmanager
    def transaction(self) -> Iterator[MemoryTransaction]:
        if self._readonly:
            raise OperationalError("this ledger handle was opened read-only")
        with self._case.lock:
            self._open = MemoryTransaction(self, self._clock)
            try:
                yield self._open
                self._case.rows = [*self._case.rows, *self._open.pending]
            finally:
                self._open = None

    def visible(self) -> list[StoredRow]:
        return [*self._case.rows, *(self._open.pending if self._open else [])]

    def size(self) -> int:
        return len(self.visible())

    def rows(self, *, start: int = 0, stop: int | None = None) -> Iterator[StoredRow]:
        yield from (r for r in self.visible() if r.seq >= start and (stop is None or r.seq < stop))

    def entries(self, *, start: int = 0, stop: int | None = None) -> Iterator[LedgerEntry]:
        for row in self.rows(start=start, stop=stop):
            yield _parse(row)

    def entries_about(self, subject: str) -> list[LedgerEntry]:
        return [_parse(r) for r in self.visible() if r.subject == subject]

    def entries_with_action(self, *actions: str) -> list[LedgerEntry]:
        return [_parse(r) for r in self.visible() if r.action in actions]

    def tree(self) -> MerkleTree:
        return MerkleTree(blake3_bytes, (bytes.fromhex(r.leaf_hash) for r in self.visible()))

    def verify(
        self,
        *,
        origin: str | None,
        external_notes: Sequence[HeldNote] = (),
        details: DetailCheck | None = None,
        tokens: Tokens | None = None,
        tsa_roots: Sequence[x509.Certificate] = (),
    ) -> AuditResult:
        rows = [RawEntry(r.seq, r.raw, r.leaf_hash) for r in self.rows()]
        return audit(
            rows,
            case_id=self.case_id,
            origin=origin,
            external=external_notes,
            details=details,
            tokens=tokens,
            tsa_roots=tsa_roots,
        )

    def close(self) -> None:
        self._open = None


def _parse(row: StoredRow) -> LedgerEntry:
    try:
        return LedgerEntry.from_raw(row.raw)
    except ValidationError as exc:
        raise LedgerCorruptError(f"ledger entry seq {row.seq} is damaged: {exc}") from None


class MemoryStorage:
    """The ``StorageFactory``: cases by uuid (the shared side) and witness copies by case (the investigator's)."""

    def __init__(self, cache: Path) -> None:
        self.cases: dict[str, MemoryCase] = {}
        self.witnesses: dict[str, MemoryNoteLog] = {}
        self._cache = cache

    def create(
        self, workspace: Workspace, info: CaseInfo, first: Sequence[EntryDraft], *, clock: Clock
    ) -> list[LedgerEntry]:
        if info.case_uuid in self.cases:
            raise CaseExistsError(f"case {info.case_uuid} already has a ledger")
        case = MemoryCase(info.case_id, MemoryObjectStore(self._cache / info.case_uuid))
        with MemoryLedger(case, clock, readonly=False).transaction() as txn:
            entries = [txn.append(draft) for draft in first]
        self.cases[info.case_uuid] = case
        return entries

    def open(
        self, workspace: Workspace, info: CaseInfo, environ: Mapping[str, str], *, clock: Clock, readonly: bool
    ) -> CaseStorage:
        case = self.cases.get(info.case_uuid)
        if case is None:
            raise LedgerCorruptError(f"no ledger for case {info.case_uuid} in this memory backend")
        witness = self.witnesses.setdefault(info.case_uuid, MemoryNoteLog(f"witness {info.case_uuid} (memory)"))
        return CaseStorage(MemoryLedger(case, clock, readonly=readonly), case.checkpoints, witness, case.store)
