"""An open case: its workspace, ledger, store, the acting investigator and their key; items; sealing.

Shared by the workflows in ``api`` and ``api_*`` modules. Sealing means closing a recording command
with a signed checkpoint, recorded in the ledger and appended to checkpoints.txt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evidencekit.errors import LedgerCorruptError, UsageError
from evidencekit.ledger import ITEM_ACTIONS, Ledger, Transaction, utc_now
from evidencekit.models import Actor, CaseInfo, EntryDraft, LedgerEntry
from evidencekit.signing import (
    Checkpoint,
    SignedNote,
    SigningKey,
    append_note_file,
    key_exists,
    keys_dir,
    load_key,
    sign_checkpoint,
)
from evidencekit.store import ObjectStore
from evidencekit.workspace import Workspace, open_workspace

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Session:
    """Where a command runs: the case folder, the environment (for keys) and the clock."""

    case_dir: Path
    environ: Mapping[str, str]
    clock: Clock = utc_now


@dataclass
class OpenCase:
    workspace: Workspace
    info: CaseInfo
    ledger: Ledger
    store: ObjectStore
    actor: Actor
    key: SigningKey | None

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> OpenCase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_key_if_any(environ: Mapping[str, str]) -> SigningKey | None:
    directory = keys_dir(environ)
    return load_key(directory) if key_exists(directory) else None


def open_case(session: Session) -> OpenCase:
    workspace = open_workspace(session.case_dir)
    info = workspace.read_info()
    ledger = Ledger.open(workspace.ledger_path, clock=session.clock)
    if ledger.case_id != info.case_id:
        ledger.close()
        raise LedgerCorruptError(f"the ledger belongs to case {ledger.case_id!r} but case.json says {info.case_id!r}")
    key = load_key_if_any(session.environ)
    actor = Actor(name=key.investigator if key else info.investigator, key_id=key.public.key_id if key else None)
    return OpenCase(workspace, info, ledger, ObjectStore(workspace.objects_dir), actor, key)


def require_item(ledger: Ledger, item_id: str) -> None:
    if not any(e.action in ITEM_ACTIONS for e in ledger.entries_about(item_id)):
        raise UsageError(f"no item {item_id!r} in this case; `evidencekit items` lists them")


def register_key(case: OpenCase, txn: Transaction, key: SigningKey) -> None:
    registered = {
        str((e.details.get("public_key") or {}).get("key_id"))
        for e in case.ledger.entries_with_action("key.registered")
    }
    if key.public.key_id not in registered:
        txn.append(
            EntryDraft(
                "key.registered",
                case.actor,
                details={"investigator": key.investigator, "public_key": key.public.to_dict()},
            )
        )


def sign_within(case: OpenCase, txn: Transaction, key: SigningKey) -> LedgerEntry:
    """Register the key if new, then sign the tree as it stands inside this transaction and record it."""
    register_key(case, txn, key)
    tree = case.ledger.tree()
    checkpoint = Checkpoint(origin=case.info.origin, size=tree.size, root=tree.root())
    note = sign_checkpoint(checkpoint, key)
    return txn.append(
        EntryDraft(
            "checkpoint.signed",
            case.actor,
            details={
                "tree_size": checkpoint.size,
                "root": "blake3:" + checkpoint.root.hex(),
                "key_id": key.public.key_id,
                "note": note.text(),
            },
        )
    )


def seal(case: OpenCase, txn: Transaction) -> None:
    """Close every recording command with a signed checkpoint when the investigator has a key.

    Then the newest entries are always covered by a signature that also sits in checkpoints.txt, so
    removing them from the database is detected.
    """
    if case.key is not None:
        sign_within(case, txn, case.key)


def publish_checkpoints(case: OpenCase, txn: Transaction) -> None:
    """After commit: append each new signed note to checkpoints.txt beside the database."""
    for entry in txn.appended:
        if entry.action == "checkpoint.signed":
            append_note_file(case.workspace.checkpoints_path, SignedNote.parse(str(entry.details["note"])))


@dataclass(frozen=True)
class ItemSummary:
    item_id: str
    kind: str
    created: str
    label: str
    status: str
    artefacts: int
    notes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "kind": self.kind,
            "created": self.created,
            "label": self.label,
            "status": self.status,
            "artefacts": self.artefacts,
            "notes": self.notes,
        }


def summarise(item_id: str, entries: Sequence[LedgerEntry]) -> ItemSummary:
    first = entries[0]
    artefacts = {a.digests.blake3 for e in entries for a in e.artefacts}
    notes = sum(1 for e in entries if e.action == "note.added")
    if first.action == "file.added":
        kind, label, status = "file", str(first.details.get("original_name", "")), "added"
    else:
        kind, label, status = "capture", str(first.details.get("url", "")), "started"
        for e in entries:
            if e.action == "capture.completed":
                status = str(e.details.get("status", "complete"))
            elif e.action == "capture.failed":
                status = "failed"
    return ItemSummary(item_id, kind, first.time, label, status, len(artefacts), notes)


def group_items(entries: Sequence[LedgerEntry]) -> dict[str, list[LedgerEntry]]:
    """Entries per item, in ledger order: an item starts with its creating entry."""
    grouped: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        if entry.subject is None:
            continue
        if entry.action in ITEM_ACTIONS or entry.subject in grouped:
            grouped.setdefault(entry.subject, []).append(entry)
    return grouped
