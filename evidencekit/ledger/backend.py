"""The storage seam of the custody ledger: what the workflows need from wherever a case's ledger lives.

Today one SQLite file per case (``database.Ledger``), the case folder's checkpoints.txt and the
investigator's witness copy (``witness.NoteFile``), joined by ``local.LocalStorage``. A shared backend
(PostgreSQL, an S3-compatible object store) goes behind the same protocols without touching a workflow.

What every backend must guarantee, because custody depends on it:

- ``transaction()`` is one locked transaction across every writer of the case (SQLite: BEGIN IMMEDIATE;
  a server: a lock on the case's log). Item ids are allocated and entries appended inside it, and the
  signed checkpoint that seals them is appended before it commits, so no other writer can slip an entry
  between what was checked and what was signed. Everything commits together or nothing does.
- Reads through the same ledger handle while its transaction is open see that transaction's entries;
  other handles see commits only. A handle serves one thread at a time: each writer opens its own.
- Entries are stored as their canonical bytes with their leaf hash; nothing is ever updated or deleted.
- A note log's ``append`` adds a whole note or nothing.

The rulebook (``rules``) reads ``rows()`` and never knows which backend produced them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography import x509

from evidencekit.hashing import blake3_bytes
from evidencekit.ledger.merkle import MerkleTree, leaf_hash
from evidencekit.ledger.notes import SignedNote
from evidencekit.ledger.rules import AuditResult, DetailCheck, HeldNote, Tokens
from evidencekit.models import CaseInfo, EntryDraft, LedgerEntry
from evidencekit.store import ObjectStoreBackend
from evidencekit.timefmt import format_time, local_zone
from evidencekit.workspace import Workspace

Clock = Callable[[], datetime]


def entry_leaf_hash(raw: bytes) -> bytes:
    """RFC 9162 leaf hash of an entry's canonical bytes, BLAKE3(0x00 || entry): also the chain link."""
    return leaf_hash(blake3_bytes, raw)


@dataclass(frozen=True)
class StoredRow:
    """An entry as a backend holds it: position, indexed columns, canonical bytes, recorded leaf hash."""

    seq: int
    action: str
    subject: str | None
    raw: bytes
    leaf_hash: str


@dataclass
class ChainHead:
    """Where the next entry goes: its sequence number and the link to the entry before it.

    Every backend makes its entries here, so the chain is formed one way whatever stores it.
    """

    next_seq: int
    prev: str | None

    @classmethod
    def after(cls, last: StoredRow | None) -> ChainHead:
        return cls(0, None) if last is None else cls(last.seq + 1, f"blake3:{last.leaf_hash}")

    def link(self, draft: EntryDraft, *, case_id: str, moment: datetime) -> tuple[LedgerEntry, StoredRow]:
        """The next entry for ``draft``, recorded at ``moment``, and the row that stores it; the head moves on."""
        entry = LedgerEntry(
            seq=self.next_seq,
            time=format_time(moment),
            tz=local_zone(moment),
            actor=draft.actor,
            action=draft.action,
            case_id=case_id,
            subject=draft.subject,
            artefacts=draft.artefacts,
            details=draft.details,
            prev=self.prev,
        )
        raw = entry.raw
        row = StoredRow(entry.seq, entry.action, entry.subject, raw, entry_leaf_hash(raw).hex())
        self.next_seq += 1
        self.prev = f"blake3:{row.leaf_hash}"
        return entry, row


def item_id(prefix: str, existing: int) -> str:
    """The item id after ``existing`` items of a kind: ``file-0001``, ``file-0002``... (never reused)."""
    return f"{prefix}-{existing + 1:04d}"


class LedgerTransaction(Protocol):
    """The inside of one locked transaction."""

    @property
    def appended(self) -> Sequence[LedgerEntry]:
        """The entries appended so far in this transaction, in order."""

    def next_item_id(self, prefix: str) -> str:
        """The next free item id of a kind; sees the items created earlier in this transaction."""

    def append(self, draft: EntryDraft) -> LedgerEntry: ...


class LedgerBackend(Protocol):
    """One open handle on a case's ledger."""

    @property
    def case_id(self) -> str: ...

    def transaction(self) -> AbstractContextManager[LedgerTransaction]:
        """One locked transaction: all its appends commit together, or none (see the module text)."""

    def size(self) -> int: ...

    def rows(self, *, start: int = 0, stop: int | None = None) -> Iterator[StoredRow]:
        """Stored rows with ``start <= seq < stop``, in order: the bytes and leaf hashes the rulebook checks."""

    def entries(self, *, start: int = 0, stop: int | None = None) -> Iterator[LedgerEntry]:
        """The same range parsed; a damaged entry raises LedgerCorruptError naming its seq."""

    def entries_about(self, subject: str) -> list[LedgerEntry]: ...

    def entries_with_action(self, *actions: str) -> list[LedgerEntry]: ...

    def tree(self) -> MerkleTree:
        """The Merkle tree of the stored leaf hashes (trusting them; verification recomputes them)."""

    def verify(
        self,
        *,
        origin: str | None,
        external_notes: Sequence[HeldNote] = (),
        details: DetailCheck | None = None,
        tokens: Tokens | None = None,
        tsa_roots: Sequence[x509.Certificate] = (),
    ) -> AuditResult:
        """Every custody rule (``ledger.rules.audit``) over the stored rows and the notes held outside, plus
        whatever the backend can check of its own indexes; never writes."""

    def close(self) -> None: ...


class NoteLog(Protocol):
    """Signed checkpoint notes held outside the ledger: the case's checkpoints file, the witness copy."""

    @property
    def where(self) -> str:
        """Names the log in messages and findings (a file name, or a place in a shared store)."""

    def append(self, note: SignedNote) -> None:
        """Add a whole note or nothing; a log that was replaced or damaged is refused (IntegrityError)."""

    def notes(self) -> list[SignedNote]:
        """Every note held, oldest first; none when the log does not exist yet; damage is an IntegrityError."""

    def texts(self) -> list[str] | None:
        """Each note's text, split but not parsed, for a verifier; None when the log does not exist.

        A log replaced by something else raises IntegrityError; one that does not split raises ValidationError.
        """


@dataclass
class CaseStorage:
    """Everything a case keeps, as one open set: what ``open_case`` hands the workflows."""

    ledger: LedgerBackend
    checkpoints: NoteLog
    witness: NoteLog
    store: ObjectStoreBackend

    def close(self) -> None:
        self.ledger.close()


class StorageFactory(Protocol):
    """Makes and opens case storage; the one place the workflows get their backends from."""

    def create(
        self, workspace: Workspace, info: CaseInfo, first: Sequence[EntryDraft], *, clock: Clock
    ) -> list[LedgerEntry]:
        """A new ledger for the case holding ``first`` from entry 0 on, in one transaction; all or nothing (a
        failure leaves no ledger)."""

    def open(
        self, workspace: Workspace, info: CaseInfo, environ: Mapping[str, str], *, clock: Clock, readonly: bool
    ) -> CaseStorage:
        """The case's storage; ``readonly`` handles never write anything anywhere."""
