"""The workflows people run: init, add, note, checkpoint, verify, keys; each combines the layers.

Every function takes its inputs explicitly (case folder, environment, clock): nothing is read from
globals or at import time. Nothing here prints or exits; errors are raised for the CLI to render.
"""

from __future__ import annotations

import re
import stat
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidencekit.errors import InputFileError, KeyMissingError, UsageError
from evidencekit.exif import media_type_of, read_exif
from evidencekit.keys import keys_dir
from evidencekit.models import Actor, Artefact, CaseInfo, EntryDraft, LedgerEntry
from evidencekit.timefmt import format_time
from evidencekit.workflows.opencase import (
    ItemSummary,
    OpenCase,
    Session,
    group_items,
    load_key_if_any,
    open_case,
    publish_checkpoints,
    require_item,
    seal,
    sign_within,
    summarise,
)
from evidencekit.workspace import create_workspace

__all__ = ["ItemSummary", "OpenCase", "Session", "open_case"]

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


# -- init ------------------------------------------------------------------------------------------
def init_case(session: Session, *, case_id: str, title: str, investigator: str, agency: str | None) -> CaseInfo:
    info = CaseInfo(
        case_id=case_id,
        case_uuid=str(uuid.uuid4()),
        title=title,
        investigator=investigator,
        agency=agency,
        created=format_time(session.clock()),
    )
    key = load_key_if_any(session.environ)  # a damaged key stops here, before anything is created
    actor = Actor(name=investigator, key_id=key.public.key_id if key and key.investigator == investigator else None)
    workspace = create_workspace(session.case_dir, info)
    opened = EntryDraft("case.opened", actor, subject=None, details={"case": info.to_dict()})
    try:
        session.storage.create(workspace, info, opened, clock=session.clock)
    except BaseException:
        # A case whose ledger could not be made holds no evidence yet (the backend left no ledger behind):
        # remove case.json too, so init can be retried.
        workspace.case_file.unlink(missing_ok=True)
        raise
    return info


# -- add -------------------------------------------------------------------------------------------
def _check_readable_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputFileError(f"no such file: {path}") from None
    except PermissionError:
        raise InputFileError(f"cannot read {path}: permission denied") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(f"{path} is a folder, not a file; name the files inside it")
    if not stat.S_ISREG(mode):
        raise InputFileError(f"{path} is not a regular file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def safe_artefact_name(original: str, fallback: str = "file") -> str:
    """A name limited to ``[A-Za-z0-9._-]`` (bundle manifests need it); the original is kept in details."""
    cleaned = _UNSAFE_NAME_CHARS.sub("_", original).strip("._-")[:120]
    return cleaned or fallback


@dataclass(frozen=True)
class AddedFile:
    item_id: str
    path: Path
    entry: LedgerEntry


def add_files(session: Session, paths: Sequence[Path], *, note: str | None = None) -> list[AddedFile]:
    """Store each file and record one ``file.added`` entry per file, all in one transaction.

    Every path is checked before anything is stored, so a bad path records nothing.
    """
    if not paths:
        raise UsageError("name at least one file to add")
    with open_case(session) as case:
        for path in paths:
            _check_readable_file(path)
        prepared: list[tuple[Path, Artefact, dict[str, Any]]] = []
        for path in paths:
            digests = case.store.put_file(path)
            stored = case.store.path_for(digests.blake3)
            media_type = media_type_of(stored)
            details: dict[str, Any] = {
                "original_name": path.name,
                "original_path": str(path.resolve()),
                "source_modified": format_time(datetime.fromtimestamp(path.stat().st_mtime, UTC)),
            }
            if media_type.startswith("image/"):
                details["exif"] = read_exif(stored)
            if note:
                details["note"] = note
            artefact = Artefact(safe_artefact_name(path.name), "file", media_type, digests)
            prepared.append((path, artefact, details))
        added: list[AddedFile] = []
        with case.ledger.transaction() as txn:
            for path, artefact, details in prepared:
                item_id = txn.next_item_id("file")
                entry = txn.append(EntryDraft("file.added", case.actor, item_id, (artefact,), details))
                added.append(AddedFile(item_id, path, entry))
            seal(case, txn)
        publish_checkpoints(case, txn)
        return added


# -- notes -----------------------------------------------------------------------------------------


def add_note(session: Session, text: str, *, item_id: str | None = None) -> LedgerEntry:
    if not text.strip():
        raise UsageError("a note needs some text")
    with open_case(session) as case:
        if item_id is not None:
            require_item(case.ledger, item_id)
        with case.ledger.transaction() as txn:
            entry = txn.append(EntryDraft("note.added", case.actor, item_id, details={"text": text}))
            seal(case, txn)
        publish_checkpoints(case, txn)
        return entry


# -- checkpoints -----------------------------------------------------------------------------------


def checkpoint(session: Session) -> LedgerEntry:
    with open_case(session) as case:
        if case.key is None:
            raise KeyMissingError(
                f"no investigator key in {keys_dir(session.environ)}; run `evidencekit keys generate` first"
            )
        with case.ledger.transaction() as txn:
            entry = sign_within(case, txn, case.key)
        publish_checkpoints(case, txn)
        return entry


# -- reading ---------------------------------------------------------------------------------------


def list_items(session: Session) -> list[ItemSummary]:
    with open_case(session, readonly=True) as case:
        grouped = group_items(list(case.ledger.entries()))
        return [summarise(item_id, entries) for item_id, entries in grouped.items()]


@dataclass(frozen=True)
class ItemDetail:
    summary: ItemSummary
    entries: tuple[LedgerEntry, ...]
    stored_paths: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary.to_dict(),
            "entries": [e.to_dict() for e in self.entries],
            "stored_paths": dict(self.stored_paths),
        }


def show_item(session: Session, item_id: str) -> ItemDetail:
    with open_case(session, readonly=True) as case:
        require_item(case.ledger, item_id)
        entries = case.ledger.entries_about(item_id)
        paths = {a.digests.blake3: str(case.store.path_for(a.digests.blake3)) for e in entries for a in e.artefacts}
        return ItemDetail(summarise(item_id, entries), tuple(entries), paths)


def read_log(session: Session) -> list[LedgerEntry]:
    with open_case(session, readonly=True) as case:
        return list(case.ledger.entries())
