"""The derived index of one case: full-text search, photo hashes and the caches of photo matching.

A SQLite file beside the ledger (``<case>/derived/index.sqlite``), or, when the case folder cannot be written
(a write-blocked copy, another investigator's case opened with ``--across``), in the user's cache folder:
``$XDG_CACHE_HOME/evidencekit/index/<case id>-<digest of the case path>.sqlite``. It is never evidence:
everything in it is rebuilt from the ledger and the object store (``reindex``), nothing that verifies a case
or a bundle reads it, and deleting it loses nothing.

Text is indexed with FTS5's ``trigram`` tokenizer, not ``unicode61``: ads are written in Devanagari, Chinese,
Thai and mixed scripts, and in scripts written without spaces ``unicode61`` makes a whole run one token, so
a word inside it is never found (measured: "电话号码" in "上海的电话号码是多少" found by trigram, not by
unicode61); trigram also finds parts of numbers and handles ("201 12"). Trigram (SQLite 3.40) does not fold
diacritics, so the indexed column holds the text folded (Latin, Greek and Cyrillic accents removed; the marks
of Indic scripts, which carry vowels, are kept) and the query is folded the same way; the text as found is
kept beside it for the snippet. Queries shorter than three characters are answered by a scan.

Filled incrementally from the ledger entries after the last one indexed (``meta.indexed_to``); the leaf hash of
that last entry is kept too, so an index that was built from another ledger is rebuilt rather than extended.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.errors import OperationalError
from evidencekit.workspace import Workspace

FORMAT_VERSION = 2  # 2: photos.site
DERIVED_DIR = "derived"
INDEX_FILE = "index.sqlite"
_MIN_TRIGRAM = 3

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # body: the text as found (shown); folded: what is searched (see the module text).
    "CREATE VIRTUAL TABLE texts USING fts5(item UNINDEXED, artefact UNINDEXED, source UNINDEXED, line UNINDEXED, "
    "body UNINDEXED, folded, tokenize='trigram')",
    "CREATE TABLE photos (item TEXT NOT NULL, artefact TEXT NOT NULL, blake3 TEXT NOT NULL, pdq TEXT, "
    "quality INTEGER, width INTEGER, height INTEGER, host TEXT, url TEXT, computed INTEGER NOT NULL, "
    "site INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (item, artefact))",
    "CREATE TABLE indicators (item TEXT NOT NULL, artefact TEXT, kind TEXT NOT NULL, value TEXT NOT NULL, "
    "raw TEXT NOT NULL, site INTEGER NOT NULL, line INTEGER)",
    "CREATE INDEX indicators_by_value ON indicators (kind, value)",
    "CREATE TABLE items (item TEXT PRIMARY KEY, kind TEXT NOT NULL, created TEXT NOT NULL, host TEXT)",
    # Caches of photo matching, filled lazily by ``links`` and ``similar``.
    "CREATE TABLE dihedral (blake3 TEXT PRIMARY KEY, hashes TEXT NOT NULL)",
    "CREATE TABLE crop_resistant (blake3 TEXT PRIMARY KEY, hash TEXT NOT NULL)",
    "CREATE TABLE confirmations (a TEXT NOT NULL, b TEXT NOT NULL, algorithm TEXT NOT NULL, inliers INTEGER NOT NULL, "
    "matches INTEGER NOT NULL, confirmed INTEGER NOT NULL, said TEXT NOT NULL, PRIMARY KEY (a, b, algorithm))",
)
DERIVED_TABLES = ("texts", "photos", "indicators", "items")
CACHE_TABLES = ("dihedral", "crop_resistant", "confirmations")


def index_path(workspace: Workspace, case_id: str, environ: Mapping[str, str], *, in_case: bool) -> Path:
    """Where a case's index lives: in the case (``in_case``: the folder can be written) or in the cache."""
    if in_case:
        return workspace.root / DERIVED_DIR / INDEX_FILE
    cache = Path(environ.get("XDG_CACHE_HOME") or Path(environ.get("HOME") or Path.home()) / ".cache")
    where = hashlib.sha256(os.fsencode(str(workspace.root.resolve()))).hexdigest()[:16]
    safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", case_id)
    return cache / "evidencekit" / "index" / f"{safe_id}-{where}.sqlite"


def can_hold_index(workspace: Workspace) -> bool:
    """Whether the index may live in the case folder: it can be written (a read-only case never gets one)."""
    if workspace.read_only():
        return False
    derived = workspace.root / DERIVED_DIR
    return os.access(derived, os.W_OK) if derived.exists() else True


def fold(text: str) -> str:
    """``text`` as searched: Latin, Greek and Cyrillic letters without their accents, everything else kept."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.category(ch) == "Mn" and out and ord(out[-1][-1]) < 0x0530:
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


@dataclass(frozen=True)
class TextHit:
    item: str
    artefact: str | None
    source: str  # visible-text, title, url, name, note, indicator, file
    line: int | None
    snippet: str  # the hit marked «like this»

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "artefact": self.artefact,
            "source": self.source,
            "line": self.line,
            "snippet": self.snippet,
        }


@dataclass(frozen=True)
class PhotoRow:
    item: str
    artefact: str
    blake3: str  # hex, untagged
    pdq: str | None
    quality: int | None
    width: int | None
    height: int | None
    host: str | None
    url: str | None
    site: bool = False  # shown only in the site's furniture (capture metadata ``images[].site``): never a candidate

    def facts(self) -> dict[str, Any]:
        """The ``photo_facts`` shape, for ``photos.match.is_candidate``."""
        facts: dict[str, Any] = {"width": self.width or 0, "height": self.height or 0}
        if self.pdq is not None:
            facts["pdq"] = {"hash": self.pdq, "quality": self.quality or 0}
        return facts


@dataclass(frozen=True)
class IndicatorRow:
    item: str
    artefact: str | None
    kind: str
    value: str
    raw: str
    site: bool
    line: int | None


@dataclass(frozen=True)
class ItemRow:
    item: str
    kind: str
    created: str
    host: str | None


class DerivedIndex:
    """One open index file. ``Writer`` (``analysis.feed``) fills it; the rest of the system only reads it."""

    def __init__(self, path: Path, *, fresh: bool = False) -> None:
        """Open (or create) the index at ``path``; ``fresh`` drops what is there first (``reindex``)."""
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if fresh:
                path.unlink(missing_ok=True)
            try:
                self.db = self._connect()
                current = self._current()
            except sqlite3.DatabaseError as exc:  # damaged: only a cache, so replaced, never repaired
                if isinstance(exc, sqlite3.OperationalError):
                    raise
                path.unlink()
                self.db, current = self._connect(), False
            if not current:
                self._create()
        except sqlite3.OperationalError as exc:
            raise OperationalError(f"cannot use the search index {path}: {exc}; try again, or delete it") from None
        except OSError as exc:
            raise OperationalError(f"cannot open the search index at {path}: {exc.strerror or exc}") from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=DELETE")  # one file, nothing left beside it
            # A cache: a crash that damages it costs a rebuild, so it need not wait for the disk on every write.
            db.execute("PRAGMA synchronous=OFF")
        except BaseException:
            db.close()
            raise
        return db

    def _current(self) -> bool:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type IN ('table')")}
        if "meta" not in tables:
            return False
        version = self.db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        return version is not None and version[0] == str(FORMAT_VERSION)

    def _create(self) -> None:
        with self.transaction():
            names = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for name in names:
                if not name.startswith("texts_") and name != "sqlite_sequence":
                    self.db.execute(f'DROP TABLE IF EXISTS "{name}"')
            for statement in _SCHEMA:
                self.db.execute(statement)
            self.set_meta("format", str(FORMAT_VERSION))
            self.set_meta("library:sqlite", f"SQLite {sqlite3.sqlite_version} (FTS5 trigram)")
            self.set_meta("indexed_to", "0")
            self.set_meta("last_leaf", "")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # -- meta ----------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def indexed_to(self) -> int:
        return int(self.meta("indexed_to") or 0)

    def empty(self) -> None:
        """Drop everything derived and every cache, inside the caller's transaction (an index that no longer
        matches its ledger)."""
        for table in (*DERIVED_TABLES, *CACHE_TABLES):
            self.db.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
        self.set_meta("indexed_to", "0")
        self.set_meta("last_leaf", "")

    # -- writing (``analysis.feed`` inside a transaction) -----------------------------------------------
    def add_text(self, item: str, artefact: str | None, source: str, line: int | None, body: str) -> None:
        if body.strip():
            self.db.execute(
                "INSERT INTO texts (item, artefact, source, line, body, folded) VALUES (?, ?, ?, ?, ?, ?)",
                (item, artefact, source, line, body, fold(body)),
            )

    def add_photo(self, row: PhotoRow, *, computed: bool) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO photos VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.item, row.artefact, row.blake3, row.pdq, row.quality, row.width, row.height, row.host, row.url,
             int(computed), int(row.site)),
        )  # fmt: skip

    def add_indicator(self, row: IndicatorRow) -> None:
        self.db.execute(
            "INSERT INTO indicators VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row.item, row.artefact, row.kind, row.value, row.raw, int(row.site), row.line),
        )

    def add_item(self, row: ItemRow) -> None:
        self.db.execute("INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?)", (row.item, row.kind, row.created, row.host))

    def set_item_host(self, item: str, host: str | None) -> None:
        self.db.execute("UPDATE items SET host = ? WHERE item = ?", (host, item))

    # -- reading ---------------------------------------------------------------------------------------
    def search(self, text: str, limit: int = 200) -> list[TextHit]:
        """Rows holding ``text`` (case and accents ignored), in ledger order, each with a marked snippet."""
        wanted = fold(text.strip())
        if not wanted:
            return []
        if len(wanted) >= _MIN_TRIGRAM:
            query = "SELECT item, artefact, source, line, body, folded FROM texts WHERE folded MATCH ? ORDER BY rowid"
            rows = self.db.execute(query + " LIMIT ?", ('"' + wanted.replace('"', '""') + '"', limit)).fetchall()
        else:
            escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = "SELECT item, artefact, source, line, body, folded FROM texts WHERE folded LIKE ? ESCAPE '\\'"
            rows = self.db.execute(query + " ORDER BY rowid LIMIT ?", (f"%{escaped}%", limit)).fetchall()
        return [TextHit(r[0], r[1], r[2], r[3], snippet(r[4], r[5], wanted)) for r in rows]

    def photos(self) -> list[PhotoRow]:
        rows = self.db.execute(
            "SELECT item, artefact, blake3, pdq, quality, width, height, host, url, site FROM photos ORDER BY rowid"
        )
        return [PhotoRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9])) for r in rows]

    def indicators(self) -> list[IndicatorRow]:
        rows = self.db.execute("SELECT item, artefact, kind, value, raw, site, line FROM indicators ORDER BY rowid")
        return [IndicatorRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]

    def items(self) -> dict[str, ItemRow]:
        return {
            r[0]: ItemRow(*r) for r in self.db.execute("SELECT item, kind, created, host FROM items ORDER BY rowid")
        }

    def count(self, table: str) -> int:
        if table not in (*DERIVED_TABLES, *CACHE_TABLES):
            raise ValueError(f"no table {table!r} in the derived index")
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608

    # -- caches of photo matching ----------------------------------------------------------------------
    def cached(self, table: str, blake3: str) -> str | None:
        column = "hashes" if table == "dihedral" else "hash"
        query = f"SELECT {column} FROM {_cache_table(table)} WHERE blake3 = ?"  # noqa: S608 - checked name
        row = self.db.execute(query, (blake3,)).fetchone()
        return None if row is None else str(row[0])

    def cache(self, table: str, blake3: str, value: str) -> None:
        self.db.execute(f"INSERT OR REPLACE INTO {_cache_table(table)} VALUES (?, ?)", (blake3, value))  # noqa: S608

    def cached_confirmation(self, a: str, b: str, algorithm: str) -> tuple[int, int, bool, str] | None:
        a, b = sorted((a, b))
        row = self.db.execute(
            "SELECT inliers, matches, confirmed, said FROM confirmations WHERE a = ? AND b = ? AND algorithm = ?",
            (a, b, algorithm),
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), bool(row[2]), str(row[3]))

    def cache_confirmation(self, a: str, b: str, algorithm: str, found: tuple[int, int, bool, str]) -> None:
        a, b = sorted((a, b))
        self.db.execute(
            "INSERT OR REPLACE INTO confirmations VALUES (?, ?, ?, ?, ?, ?, ?)",
            (a, b, algorithm, found[0], found[1], int(found[2]), found[3]),
        )


_CONTEXT = 60


def _cache_table(table: str) -> str:
    if table not in ("dihedral", "crop_resistant"):
        raise ValueError(f"no hash cache {table!r} in the derived index")
    return table


def snippet(body: str, folded: str, wanted: str) -> str:
    """About 120 characters of ``body`` around the first hit, the hit marked «like this»."""
    found = re.search(re.escape(wanted), folded, re.IGNORECASE)
    shown = body if len(body) == len(folded) else folded  # positions hold only when folding kept the length
    if found is None:
        return " ".join(shown[: 2 * _CONTEXT].split())
    start, end = found.span()
    before = shown[max(0, start - _CONTEXT) : start]
    after = shown[end : end + _CONTEXT]
    lead = "…" if start > _CONTEXT else ""
    tail = "…" if end + _CONTEXT < len(shown) else ""
    text = f"{lead}{before}«{shown[start:end]}»{after}{tail}"
    return " ".join(text.split())
