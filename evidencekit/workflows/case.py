"""The workflows people run: init, add, note, checkpoint, verify, keys; each combines the layers.

Every function takes its inputs explicitly (case folder, environment, clock): nothing is read from
globals or at import time. Nothing here prints or exits; errors are raised for the CLI to render.
"""

from __future__ import annotations

import contextlib
import re
import stat
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidencekit.errors import InputFileError, KeyMissingError, UsageError, ValidationError
from evidencekit.exif import media_type_of, read_exif
from evidencekit.keys import SigningKey, generate_key, keys_dir, load_key
from evidencekit.ledger.database import Ledger
from evidencekit.ledger.notes import Checkpoint, note_texts_of_file
from evidencekit.models import Actor, Artefact, CaseInfo, EntryDraft, LedgerEntry, Problem
from evidencekit.store import ObjectStore
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
    witness_path,
)
from evidencekit.workspace import Workspace, create_workspace, open_workspace

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
    try:
        with Ledger.create(workspace.ledger_path, info.case_id, clock=session.clock) as ledger:
            ledger.append(EntryDraft("case.opened", actor, subject=None, details={"case": info.to_dict()}))
    except BaseException:
        _undo_half_created(workspace)
        raise
    return info


def _undo_half_created(workspace: Workspace) -> None:
    """A case whose ledger could not be made holds no evidence yet: remove what init wrote, so it can retry."""
    for path in (workspace.ledger_path, *(workspace.root / f"ledger.sqlite{s}" for s in ("-wal", "-shm"))):
        path.unlink(missing_ok=True)
    workspace.case_file.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        workspace.objects_dir.rmdir()


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


# -- verification ----------------------------------------------------------------------------------
@dataclass
class VerifyReport:
    case_id: str | None
    entries: int = 0
    checkpoints: int = 0
    objects_checked: int = 0
    root: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "case_id": self.case_id,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "objects_checked": self.objects_checked,
            "root": self.root,
            "checks": self.checks,
            "signers": self.signers,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [p.to_dict() for p in self.warnings],
        }


def _external_notes(path: Path, label: str, report: VerifyReport) -> list[tuple[str, str]] | None:
    """Notes held outside the ledger (checkpoints.txt, the witness copy); None when the file is absent."""
    if path.is_symlink():
        report.problems.append(Problem("checkpoints_file.link", "is a symbolic link, so it was replaced", path=label))
        return []
    if not path.exists():
        return None
    try:
        return [(text, label) for text in note_texts_of_file(path)]
    except (ValidationError, InputFileError) as exc:
        report.problems.append(Problem("checkpoints_file.damaged", str(exc), path=label))
        return []


def verify_case(session: Session) -> VerifyReport:
    """Recompute everything the case claims; every problem found is in the report. Never writes."""
    workspace = open_workspace(session.case_dir)
    info = workspace.read_info()
    report = VerifyReport(case_id=info.case_id)
    beside = _external_notes(workspace.checkpoints_path, workspace.checkpoints_path.name, report)
    witness_file = witness_path(session.environ, info)
    witness = _external_notes(witness_file, f"witness {witness_file}", report)
    with Ledger.open(workspace.ledger_path, readonly=True) as ledger:
        result = ledger.verify(origin=info.origin, external_notes=(beside or []) + (witness or []))
    report.problems.extend(result.problems)
    report.warnings.extend(result.warnings)
    report.entries = result.size
    report.checkpoints = len(result.checkpoints)
    report.root = "blake3:" + result.tree.root().hex()
    report.signers = sorted(result.signers)
    report.checks += [
        "canonical form of every entry",
        "sequence numbers and hash chain",
        "Merkle tree (RFC 9162) and stored leaf hashes",
        "checkpoint signatures, roots and consistency proofs",
        "checkpoints.txt and the investigator's witness copy against the ledger",
    ]
    _check_case_file(info, result.entries, report)
    _check_checkpoint_files(result.checkpoints, result.entries, beside, witness, report)
    newest = max((cp.size for _, cp in result.checkpoints), default=0)
    uncovered = result.size - newest - (1 if result.checkpoints else 0)
    if uncovered > 0:
        report.warnings.append(
            Problem(
                "ledger.unsigned_tail",
                f"{uncovered} entries after the newest signed checkpoint are covered by the hash chain only; "
                "run `evidencekit checkpoint`",
            )
        )
    _check_objects(ObjectStore(workspace.objects_dir), result.entries, report)
    return report


def _check_checkpoint_files(
    checkpoints: Sequence[tuple[int, Checkpoint]],
    entries: Sequence[LedgerEntry],
    beside: list[tuple[str, str]] | None,
    witness: list[tuple[str, str]] | None,
    report: VerifyReport,
) -> None:
    """The ledger's own checkpoints must also be held outside it: a missing file is a problem, a missing
    newest note only a warning (a crash between the commit and the file append leaves that)."""
    if not checkpoints:
        return
    if beside is None:
        report.problems.append(
            Problem(
                "checkpoints_file.missing",
                "the ledger holds signed checkpoints but the file is gone",
                path="checkpoints.txt",
            )
        )
        return
    notes = {e.seq: str(e.details.get("note")) for e in entries if e.action == "checkpoint.signed"}
    for label, held in (("checkpoints.txt", beside), ("witness copy", witness)):
        if held is None:
            continue
        texts = {text for text, _ in held}
        missing = [seq for seq, _ in checkpoints if notes.get(seq) not in texts]
        newest_held = max((seq for seq, _ in checkpoints if notes.get(seq) in texts), default=-1)
        for seq in missing:
            problem = Problem("checkpoints_file.incomplete", f"checkpoint is missing from the {label}", seq=seq)
            (report.problems if seq < newest_held else report.warnings).append(problem)


def _check_objects(store: ObjectStore, entries: Sequence[LedgerEntry], report: VerifyReport) -> None:
    seen: set[str] = set()
    for entry in entries:
        for artefact in entry.artefacts:
            if artefact.digests.blake3 in seen:
                continue
            seen.add(artefact.digests.blake3)
            problem = store.check(artefact.digests)
            if problem is not None:
                report.problems.append(
                    Problem(problem.code, f"{problem.message} (recorded at seq {entry.seq})", path=problem.path)
                )
    for orphan in store.unnamed(seen):
        report.warnings.append(
            Problem(
                "object.unrecorded",
                "stored object that no ledger entry names (an interrupted add, or entries removed)",
                path=orphan,
            )
        )
    report.objects_checked = len(seen)
    report.checks.append("every stored object the ledger names (size, BLAKE3, SHA-256)")


def _check_case_file(info: CaseInfo, entries: Iterable[LedgerEntry], report: VerifyReport) -> None:
    opened = next((e for e in entries if e.action == "case.opened"), None)
    if opened is None:
        report.problems.append(Problem("case.unopened", "the ledger has no case.opened entry", seq=0))
    elif opened.details.get("case") != info.to_dict():
        report.problems.append(
            Problem("case.file_altered", "case.json differs from the case.opened entry", path="case.json")
        )
    report.checks.append("case.json against the case.opened entry")


# -- keys ------------------------------------------------------------------------------------------
def generate_investigator_key(environ: Mapping[str, str], investigator: str) -> SigningKey:
    if not investigator.strip():
        raise UsageError("say whose key this is with --investigator NAME")
    return generate_key(keys_dir(environ), investigator)


def show_investigator_key(environ: Mapping[str, str]) -> tuple[SigningKey, Path]:
    directory = keys_dir(environ)
    return load_key(directory), directory
