"""The append-only custody ledger in SQLite: one file per case, today's ``backend.LedgerBackend``.

Each entry is stored as its canonical bytes (see ``models.canonical_json``). Its Merkle leaf hash,
BLAKE3(0x00 || entry) as RFC 9162 prescribes, is also the link of the hash chain: entry n carries
``prev = "blake3:" + leaf_hash(entry n-1)``. Sequence numbers start at 0 and equal the leaf index.

SQLite triggers refuse UPDATE and DELETE; appends run in ``BEGIN IMMEDIATE`` transactions with a busy
timeout, so several processes appending at once are serialised (no fork, no gap, no duplicate). The
database runs in WAL mode with ``synchronous=FULL``: a commit that returned is on disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import struct
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography import x509

from evidencekit.errors import LedgerCorruptError, OperationalError, ValidationError
from evidencekit.hashing import blake3_bytes
from evidencekit.ledger.backend import ChainHead, StoredRow, item_id
from evidencekit.ledger.backend import entry_leaf_hash as entry_leaf_hash  # importers from before the seam
from evidencekit.ledger.entries import ITEM_ACTIONS
from evidencekit.ledger.merkle import MerkleTree
from evidencekit.ledger.rules import AuditResult, DetailCheck, HeldNote, RawEntry, Tokens, audit
from evidencekit.models import EntryDraft, LedgerEntry, Problem
from evidencekit.timefmt import utc_now

APPLICATION_ID = 0x45564B54  # "EVKT": marks the file as an evidencekit ledger
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
# Only placeholders are built into the text; the action names travel as parameters.
_COUNT_ITEMS_SQL = (
    f"SELECT COUNT(*) FROM entries WHERE action IN ({', '.join('?' * len(ITEM_ACTIONS))}) AND subject LIKE ?"  # noqa: S608
)
_MAX_SEQ = 2**63 - 1
# An entry's bytes as stored. Rows are written as BLOBs; one rewritten as TEXT (or a number) outside evidencekit
# is read as the bytes SQLite keeps for it (TEXT: its UTF-8), never decoded, and ``verify`` reports its class.
_ENTRY_BYTES = "CAST(entry AS BLOB)"


def _blob(value: object) -> bytes:
    """The bytes of an entry column read through ``_ENTRY_BYTES`` (NULL: none)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return b"" if value is None else str(value).encode("utf-8")


_TABLES_SQL = """
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    subject TEXT,
    entry BLOB NOT NULL,
    leaf_hash TEXT NOT NULL
);
CREATE INDEX entries_subject ON entries(subject);
CREATE INDEX entries_action ON entries(action);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_TRIGGERS_SQL = "\n".join(
    f"""
CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
BEGIN SELECT RAISE(ABORT, 'the evidencekit ledger is append-only: {verb} refused'); END;
"""
    for table in ("entries", "meta")
    for verb in ("UPDATE", "DELETE")
)


# SQLite result codes that say the machine, not the file, is at fault: read-only media, a full disk, an
# I/O error. Reported as operational (exit 1), never as a damaged ledger (exit 3).
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_FULL = 13


_SQLITE_CANTOPEN = 14


def environment_error(path: Path, exc: sqlite3.Error) -> OperationalError | None:
    """The operational error behind a SQLite failure, or None when the failure may be the file's own."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    # A full disk shows as SQLITE_FULL, or as an I/O error when the WAL index cannot grow.
    if primary == _SQLITE_FULL or (primary in (_SQLITE_IOERR, _SQLITE_CANTOPEN) and disk_full(path.parent)):
        return OperationalError(f"no space left on {path.parent}; nothing was recorded")
    if primary == _SQLITE_READONLY:
        return OperationalError(f"the case folder is read-only ({path.parent}); nothing was recorded")
    if primary == _SQLITE_IOERR:
        return OperationalError(f"cannot write {path} ({exc}); nothing was recorded")
    return None


def disk_full(folder: Path) -> bool:
    """True when the file system of ``folder`` has no free block left for this user."""
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


# Where SQLite's readers take their shared lock in the database file (its unix VFS: the PENDING byte is at
# 0x40000000, the RESERVED byte follows, then the 510 SHARED bytes).
_SHARED_FIRST = 0x40000000 + 2
_SHARED_SIZE = 510


def _hold_shared_lock(path: Path) -> int | None:
    """A descriptor of ``path`` holding the read lock SQLite's readers hold, as an open file description
    lock (released only when this descriptor closes, whatever else this process opens or closes); None
    when it cannot be had (a writer is checkpointing) or the system has no such locks."""
    ofd_setlk = getattr(fcntl, "F_OFD_SETLK", None)
    if ofd_setlk is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.fcntl(fd, ofd_setlk, struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, _SHARED_FIRST, _SHARED_SIZE, 0))
    except OSError:
        os.close(fd)
        return None
    return fd


def _quiet_read_lock(path: Path) -> int | None:
    """The shared lock for reading ``path`` as immutable, when no -wal file is beside it; else None.

    SQLite's read-only mode still creates the -wal and -shm files of a WAL database when they are missing,
    so a reading command would leave files in the case. When there is no -wal file, every committed entry
    is in the database file itself and can be read as immutable (SQLite then opens nothing else), while
    this lock, the one SQLite's readers hold, keeps a writer that comes meanwhile from copying its commits
    into the file under the read (it keeps them in its -wal). With a -wal file (a writer at work, or one
    that crashed), the read-only mode must read it, through the files already there.
    """
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        return None
    held = _hold_shared_lock(path)
    if held is not None and wal.exists():
        os.close(held)
        return None
    return held


class Transaction:
    """The inside of one ``BEGIN IMMEDIATE`` transaction: allocate item ids and append entries."""

    def __init__(self, conn: sqlite3.Connection, case_id: str, clock: Callable[[], datetime]) -> None:
        self._conn = conn
        self._case_id = case_id
        self._clock = clock
        row = conn.execute("SELECT seq, leaf_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        self._head = ChainHead(0, None) if row is None else ChainHead(int(row[0]) + 1, f"blake3:{row[1]}")
        self.appended: list[LedgerEntry] = []

    def next_item_id(self, prefix: str) -> str:
        """The next free item id of a kind, e.g. ``file-0003``; sees rows appended earlier in this transaction."""
        (count,) = self._conn.execute(_COUNT_ITEMS_SQL, (*ITEM_ACTIONS, f"{prefix}-%")).fetchone()
        return item_id(prefix, int(count))

    def append(self, draft: EntryDraft) -> LedgerEntry:
        entry, row = self._head.link(draft, case_id=self._case_id, moment=self._clock())
        self._conn.execute(
            "INSERT INTO entries (seq, action, subject, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
            (row.seq, row.action, row.subject, row.raw, row.leaf_hash),
        )
        self.appended.append(entry)
        return entry


class Ledger:
    """One open ledger database. Use ``Ledger.create`` for a new case and ``Ledger.open`` afterwards."""

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        case_id: str,
        clock: Callable[[], datetime],
        *,
        held: int | None = None,
    ) -> None:
        self.path = path
        self._conn = conn
        self._held = held  # the read lock of an immutable reader (``_quiet_read_lock``)
        self.db = sqlite_utils.Database(conn)
        self.case_id = case_id
        self._clock = clock

    # -- opening -----------------------------------------------------------------------------------
    @staticmethod
    def _connect(
        path: Path, *, readonly: bool = False, fresh: bool = False, immutable: bool = False
    ) -> sqlite3.Connection:
        """Open the database; its application id is checked before anything could write to the file.

        Read-only opening never changes the file (a write-blocked copy verifies as it is); ``immutable``
        reads the database file alone (see ``_quiet_read_lock``), as does a read-only connection that
        cannot be had otherwise (read-only media without the WAL index).
        """
        uri = path.resolve().as_uri()
        try:
            if immutable:
                conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
            elif readonly:
                try:
                    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
                    conn.execute("PRAGMA application_id").fetchone()
                except sqlite3.OperationalError:
                    conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
            else:
                conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            if not fresh and app_id != APPLICATION_ID:
                conn.close()
                raise LedgerCorruptError(f"{path} is not an evidencekit ledger (foreign SQLite database)")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise environment_error(path, exc) or LedgerCorruptError(
                f"{path} is not a readable ledger database ({exc})"
            ) from None
        return conn

    @classmethod
    def create(cls, path: Path, case_id: str, *, clock: Callable[[], datetime] = utc_now) -> Ledger:
        if path.exists():
            raise ValidationError(f"{path} already exists; a ledger is never re-created")
        conn = cls._connect(path, fresh=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for statement in (_TABLES_SQL + _TRIGGERS_SQL).split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO meta (key, value) VALUES ('case_id', ?)", (case_id,))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            raise OperationalError(f"cannot create the ledger {path}: {exc}") from None
        return cls(path, conn, case_id, clock)

    @classmethod
    def open(cls, path: Path, *, clock: Callable[[], datetime] = utc_now, readonly: bool = False) -> Ledger:
        if not path.is_file():
            raise LedgerCorruptError(f"the ledger {path} is missing")
        held = _quiet_read_lock(path) if readonly else None
        try:
            conn = cls._connect(path, readonly=readonly, immutable=held is not None)
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'case_id'").fetchone()
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise LedgerCorruptError(f"{path} is damaged and cannot be read as a ledger ({exc})") from None
            if row is None:
                conn.close()
                raise LedgerCorruptError(f"{path} has no case id: the ledger is damaged")
        except BaseException:
            if held is not None:
                os.close(held)
            raise
        return cls(path, conn, str(row[0]), clock, held=held)

    def close(self) -> None:
        try:
            self._conn.close()
        finally:
            if self._held is not None:
                os.close(self._held)
                self._held = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- appending ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Everything appended inside commits together, or not at all."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise environment_error(self.path, exc) or OperationalError(
                f"the ledger is busy or unwritable: {exc}"
            ) from None
        try:
            txn = Transaction(self._conn, self.case_id, self._clock)
            yield txn
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            failure = environment_error(self.path, exc)
            if failure is None:
                raise
            raise failure from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise

    def append(self, draft: EntryDraft) -> LedgerEntry:
        with self.transaction() as txn:
            return txn.append(draft)

    def append_all(self, drafts: Sequence[EntryDraft]) -> list[LedgerEntry]:
        with self.transaction() as txn:
            return [txn.append(d) for d in drafts]

    # -- reading -----------------------------------------------------------------------------------
    def size(self) -> int:
        (count,) = self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()
        return int(count)

    def rows(self, *, start: int = 0, stop: int | None = None) -> Iterator[StoredRow]:
        try:
            cursor = self._conn.execute(
                f"SELECT seq, action, subject, {_ENTRY_BYTES}, leaf_hash FROM entries "  # noqa: S608
                "WHERE seq >= ? AND seq < ? ORDER BY seq",
                (start, _MAX_SEQ if stop is None else stop),
            )
            for seq, action, subject, raw, leaf in cursor:
                yield StoredRow(int(seq), str(action), subject, _blob(raw), str(leaf))
        except sqlite3.DatabaseError as exc:
            raise LedgerCorruptError(f"{self.path} is damaged: {exc}") from None

    def entries(self, *, start: int = 0, stop: int | None = None) -> Iterator[LedgerEntry]:
        for row in self.rows(start=start, stop=stop):
            yield self._parse(row.seq, row.raw)

    def _parse(self, seq: int, raw: bytes) -> LedgerEntry:
        try:
            return LedgerEntry.from_raw(raw)
        except ValidationError as exc:
            raise LedgerCorruptError(
                f"ledger entry seq {seq} is damaged: {exc}; run `evidencekit ledger verify`"
            ) from None

    def entries_about(self, subject: str) -> list[LedgerEntry]:
        query = f"SELECT seq, {_ENTRY_BYTES} AS entry FROM entries WHERE subject = ? ORDER BY seq"  # noqa: S608
        return [self._parse(int(r["seq"]), _blob(r["entry"])) for r in self.db.query(query, [subject])]

    def entries_with_action(self, *actions: str) -> list[LedgerEntry]:
        marks = ", ".join("?" for _ in actions)
        query = f"SELECT seq, {_ENTRY_BYTES} AS entry FROM entries WHERE action IN ({marks}) ORDER BY seq"  # noqa: S608
        return [self._parse(int(r["seq"]), _blob(r["entry"])) for r in self.db.query(query, list(actions))]

    def tree(self) -> MerkleTree:
        """The Merkle tree of the stored leaf hashes (trusting the table; ``verify`` recomputes them)."""
        leaves = (bytes.fromhex(r[0]) for r in self._conn.execute("SELECT leaf_hash FROM entries ORDER BY seq"))
        return MerkleTree(blake3_bytes, leaves)

    def meta(self) -> dict[str, Any]:
        return {str(k): v for k, v in self._conn.execute("SELECT key, value FROM meta")}

    # -- verifying ---------------------------------------------------------------------------------
    def verify(
        self,
        *,
        origin: str | None,
        external_notes: Sequence[HeldNote] = (),
        details: DetailCheck | None = None,
        tokens: Tokens | None = None,
        tsa_roots: Sequence[x509.Certificate] = (),
    ) -> AuditResult:
        """Every custody rule (``ledger.rules``) over the stored bytes; ``external_notes`` are checkpoints
        held outside; ``details`` checks each action's form. Large ledgers are shared with two worker
        processes (see ``rules.audit``)."""
        rows = list(self.rows())
        with ProcessPoolExecutor(max_workers=2) as pool:
            result = audit(
                [RawEntry(r.seq, r.raw, r.leaf_hash) for r in rows],
                case_id=self.case_id,
                origin=origin,
                external=external_notes,
                details=details,
                pool=pool,
                actions=[r.action for r in rows],
                tokens=tokens,
                tsa_roots=tsa_roots,
            )
        # Entries are written as BLOBs; a row holding another storage class was rewritten outside evidencekit
        # (its bytes are still read, as SQLite stores them, and held to every rule).
        for seq, kind in self._conn.execute("SELECT seq, typeof(entry) FROM entries WHERE typeof(entry) != 'blob'"):
            result.problems.append(
                Problem(
                    "entry.storage",
                    f"the entry is stored as {str(kind).upper()}, not as the BLOB evidencekit writes: the row was "
                    "rewritten outside evidencekit",
                    seq=int(seq),
                )
            )
        # The action and subject columns are this backend's index, read without parsing the entries.
        by_seq = {e.seq: e for e in result.entries}
        for row in rows:
            entry = by_seq.get(row.seq)
            if entry is not None and (entry.action, entry.subject) != (row.action, row.subject):
                result.problems.append(
                    Problem(
                        "entry.index_altered", "the row's action/subject columns disagree with the entry", seq=row.seq
                    )
                )
        return result
