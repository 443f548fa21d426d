"""An open case: its workspace, storage (ledger, checkpoint notes, objects), the acting investigator and
their key; items; sealing.

Shared by the workflow modules. The workflows reach storage only through ``open_case``, which takes the
backends from ``Session.storage`` (today the case folder's SQLite ledger and object store). Sealing means
closing a recording command with a signed checkpoint, appended in the same locked transaction as the
entries it covers, then published to the checkpoints file and the investigator's witness copy.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evidencekit.errors import (
    IntegrityError,
    LedgerCorruptError,
    OperationalError,
    UsageError,
    ValidationError,
)
from evidencekit.keys import Ask, SigningKey, key_exists, keys_dir, load_key, passphrase_source
from evidencekit.ledger.backend import (
    LedgerBackend,
    LedgerTransaction,
    NoteLog,
    StorageFactory,
)
from evidencekit.ledger.entries import (
    ENDED_CAPTURE,
    ITEM_ACTIONS,
    NOT_KNOWN,
    CaptureAbandoned,
    CaptureCompleted,
    CaptureFailed,
    CaptureStarted,
    CheckpointSigned,
    CheckpointsRepaired,
    FileAdded,
    FolderAdded,
    given_note,
    item_kind,
    parse,
)
from evidencekit.ledger.entries import group_items as group_items
from evidencekit.ledger.local import LocalStorage
from evidencekit.ledger.merkle import MerkleTree
from evidencekit.ledger.notes import Checkpoint, SignedNote, sign_checkpoint
from evidencekit.ledger.witness import NoteFile, interrupted_note
from evidencekit.ledger.witness import witness_path as witness_path
from evidencekit.models import Actor, CaseInfo, EntryDraft, LedgerEntry
from evidencekit.runs import RunLock, Sweep, open_claims
from evidencekit.store import ObjectStoreBackend
from evidencekit.timefmt import utc_now
from evidencekit.timestamps.client import DEFAULT_TIMEOUT
from evidencekit.workflows.casecheck import check_before_recording, checked_tree, register_key
from evidencekit.workflows.stamping import Stamper
from evidencekit.workspace import Workspace, open_workspace

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Session:
    """Where a command runs: the case folder, the environment (for keys), the clock, and the storage
    backends (default: the case folder's SQLite ledger and object store).

    ``ask_passphrase`` is how a protected key's passphrase is asked when the environment does not give
    it (the CLI's hidden prompt on a terminal); None where nobody can be asked.

    ``timestamping`` False (``--no-timestamp``) records each new checkpoint pending for every configured
    Time-Stamping Authority, reason "offline", without asking (as ``EVIDENCEKIT_OFFLINE=1`` does);
    ``tsa_timeout`` bounds each authority's answer, seconds (``EVIDENCEKIT_TSA_TIMEOUT``, default 10).
    """

    case_dir: Path
    environ: Mapping[str, str]
    clock: Clock = utc_now
    storage: StorageFactory = field(default_factory=LocalStorage)
    ask_passphrase: Ask | None = None
    timestamping: bool = True
    tsa_timeout: float = DEFAULT_TIMEOUT


@dataclass
class OpenCase:
    workspace: Workspace
    info: CaseInfo
    ledger: LedgerBackend
    store: ObjectStoreBackend
    actor: Actor
    key: SigningKey | None
    checkpoints: NoteLog
    witness: NoteLog
    run: RunLock | None = None  # a recording open's lock file (see ``runs``); None when only reading
    # Stamps each new checkpoint with the configured TSAs (``stamping``); None when only reading.
    stamper: Stamper | None = None

    def owns(self, path: Path) -> None:
        """A temporary folder this run made outside the case (an export's staging folder): if the run is
        killed, the next recording command removes it."""
        if self.run is not None:
            self.run.own(path)

    def close(self, failed: BaseException | None = None) -> None:
        """Wait for the stamps in flight (bounded, see ``Stamper.settle``) and record them, then close. A
        command that failed before it sealed anything (or was interrupted) does not wait: what stands
        pending is asked for again by the next one."""
        keep = True  # unless the ledger shows every capture this run started ended
        try:
            self._settle_stamps(failed)
            keep = not self._claims_ended()
        finally:
            try:
                self.ledger.close()
            finally:
                if self.run is not None:
                    self.run.release(keep=keep)

    def _settle_stamps(self, failed: BaseException | None) -> None:
        stamper, self.stamper = self.stamper, None
        if stamper is None:
            return
        try:
            if isinstance(failed, KeyboardInterrupt) or (failed is not None and not stamper.sealed_any):
                stamper.abandon()
            else:
                stamper.settle(self)
        except Exception:
            if failed is None:
                raise  # recording what the TSAs answered failed: said like any failed write
        finally:
            stamper.close()

    def _claims_ended(self) -> bool:
        """Whether every capture this run started has its end recorded. One that has not (a write failed and
        stopped the run) must keep its claim: it is then a gone run's, recorded abandoned by the next command."""
        if self.run is None or not self.run.claims:
            return True
        try:
            return all(
                any(e.action in ENDED_CAPTURE for e in self.ledger.entries_about(claim.item))
                for claim in self.run.claims
            )
        except Exception:  # the ledger cannot be read now: keep the claim, the next command judges it
            return False

    def __enter__(self) -> OpenCase:
        return self

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        self.close(error)


def load_key_if_any(environ: Mapping[str, str], ask: Ask | None = None) -> SigningKey | None:
    directory = keys_dir(environ)
    return load_key(directory, passphrase=passphrase_source(environ, ask)) if key_exists(directory) else None


def open_case(
    session: Session, *, readonly: bool = False, signing_key: SigningKey | None = None, key_checked: bool = True
) -> OpenCase:
    """Open the case in the session's folder; ``readonly`` for commands that only read (never writes).

    A read-only open loads no private key (reading needs no passphrase), so ``key`` is None there. A
    recording open loads the investigator's key (or takes ``signing_key``, already loaded) and checks the
    case before anything is appended (``check_before_recording``): a tampered case is refused (exit 3).
    ``key_checked=False`` leaves out whether the key may sign there (``keys rotate`` judges that itself).
    """
    workspace = open_workspace(session.case_dir)
    info = workspace.read_info()
    storage = session.storage.open(workspace, info, session.environ, clock=session.clock, readonly=readonly)
    if storage.ledger.case_id != info.case_id:
        storage.close()
        raise LedgerCorruptError(
            f"the ledger belongs to case {storage.ledger.case_id!r} but case.json says {info.case_id!r}"
        )
    try:
        key = signing_key
        if key is None and not readonly:
            key = load_key_if_any(session.environ, session.ask_passphrase)
    except BaseException:
        storage.close()
        raise
    actor = Actor(name=key.investigator if key else info.investigator, key_id=key.public.key_id if key else None)
    case = OpenCase(workspace, info, storage.ledger, storage.store, actor, key, storage.checkpoints, storage.witness)
    if not readonly:
        try:
            stamper = case.stamper = Stamper.for_session(
                session.environ, timestamping=session.timestamping, timeout=session.tsa_timeout, clock=session.clock
            )
            if key_checked:
                check_before_recording(case, session.environ)
            repair_interrupted_appends(case)
            with case.ledger.transaction():  # under the case's lock, so no other writer is half-way through
                checked_tree(case)
            begin_run(case)
            stamper.resume(case)
        except BaseException as exc:
            case.close(exc)
            raise
    return case


def repair_interrupted_appends(case: OpenCase) -> None:
    """Repair a checkpoints file or witness copy that ends inside a note, and record it.

    A crash (or a full disk on an old version) during an append leaves the beginning of a note at the end
    of the file. When those torn bytes begin a note the ledger holds, they are what the documented
    interrupted append leaves: they are cut, that note is appended whole, and ``checkpoints.repaired``
    records it with the byte count, sealed like any recording. Torn bytes that begin no such note are
    damage: IntegrityError, and nothing is touched.
    """
    labelled = (("checkpoints.txt", case.checkpoints), ("witness copy", case.witness))
    torn = [(label, log, log.torn()) for label, log in labelled if isinstance(log, NoteFile)]
    torn = [(label, log, tail) for label, log, tail in torn if tail]
    if not torn:
        return
    held = {str(e.details.get("note", "")): e.seq for e in case.ledger.entries_with_action(CheckpointSigned.ACTION)}
    with case.ledger.transaction() as txn:
        for label, log, tail in torn:
            text = interrupted_note(tail, held)
            if text is None:
                raise IntegrityError(
                    f"{log.where} ends with {len(tail)} bytes that begin no checkpoint the ledger holds: damage, "
                    "not an interrupted append; nothing was recorded; run `evidencekit ledger verify`"
                )
            cut = log.cut_torn(tail)
            if not cut:  # another command repaired it meanwhile
                continue
            if text not in (log.complete_texts() or []):
                log.append(SignedNote.parse(text))
            txn.append(CheckpointsRepaired(label, cut, held[text]).draft(case.actor))
        if txn.appended:
            seal(case, txn)
    publish_checkpoints(case, txn)


def begin_run(case: OpenCase) -> None:
    """Hold this run's lock file, then clear what runs that are gone left behind (``runs``).

    Temporary files are removed without a ledger entry (they never were evidence); a capture a gone run
    started and never ended is recorded as ``capture.abandoned``, sealed like any recording. A live run's
    files and captures are never touched. Only then do the gone runs' lock files go, so a failure here
    leaves them for the next command.
    """
    case.run = RunLock.begin(case.workspace)
    case.run.ledger_size(case.ledger.size())
    with Sweep(case.workspace) as sweep:
        sweep.remove_files()
        gone = open_claims(sweep.runs, case.ledger.entries_about)
        if gone:
            with case.ledger.transaction() as txn:
                for claim, started, run in gone:
                    if not any(e.action in ENDED_CAPTURE for e in case.ledger.entries_about(claim.item)):
                        txn.append(CaptureAbandoned.of(started, run.pid, run.began).draft(case.actor, claim.item))
                if txn.appended:
                    seal(case, txn)
            publish_checkpoints(case, txn)
        sweep.finish()


def require_item(ledger: LedgerBackend, item_id: str) -> None:
    if not any(e.action in ITEM_ACTIONS for e in ledger.entries_about(item_id)):
        raise UsageError(f"no item {item_id!r} in this case; `evidencekit items` lists them")


def sign_within(case: OpenCase, txn: LedgerTransaction, key: SigningKey) -> LedgerEntry:
    """Register the key if it is the case's first, check the ledger, sign the tree as it stands inside this
    transaction."""
    register_key(case, txn, key)
    tree = checked_tree(case, [key.public], own=txn.appended)
    return txn.append(checkpoint_draft(case.info, case.actor, tree, key))


def checkpoint_draft(info: CaseInfo, actor: Actor, tree: MerkleTree, key: SigningKey) -> EntryDraft:
    """The ``checkpoint.signed`` entry for the tree as it stands: its C2SP signed note and what it says."""
    checkpoint = Checkpoint(origin=info.origin, size=tree.size, root=tree.root())
    note = sign_checkpoint(checkpoint, key)
    details = {
        "tree_size": checkpoint.size,
        "root": "blake3:" + checkpoint.root.hex(),
        "key_id": key.public.key_id,
        "note": note.text(),
    }
    return EntryDraft("checkpoint.signed", actor, details=details)


def seal(case: OpenCase, txn: LedgerTransaction) -> None:
    """Close every recording command with a signed checkpoint when the investigator has a key.

    Then the newest entries are always covered by a signature that also sits in checkpoints.txt and in
    the investigator's witness copy, so removing them from the database is detected.
    """
    if case.key is not None:
        sign_within(case, txn, case.key)


def publish_checkpoints(case: OpenCase, txn: LedgerTransaction) -> None:
    """After commit: append each new signed note to the checkpoints file and to the witness copy.

    A note an earlier command could not append (a full disk, a crash after its commit) is appended first,
    from the ledger, so a file holds every checkpoint after its newest one, in ledger order.
    """
    signed = [e for e in txn.appended if e.action == CheckpointSigned.ACTION]
    if not signed:
        return
    ledger_notes = [
        (e.seq, str(e.details.get("note", ""))) for e in case.ledger.entries_with_action(CheckpointSigned.ACTION)
    ]
    for log in (case.checkpoints, case.witness):
        pending = signed[-1].seq
        try:
            held = {note.text() for note in log.notes()}
            newest = max((i for i, (_, text) in enumerate(ledger_notes) if text in held), default=-1)
            # A file holding none of the ledger's notes was emptied or deleted: not refilled, verify says so.
            missing = ledger_notes[newest + 1 :] if newest >= 0 else [(e.seq, str(e.details["note"])) for e in signed]
            for seq, text in missing:
                pending = seq
                log.append(SignedNote.parse(text))
        except (OSError, ValidationError, IntegrityError) as exc:
            seqs = ", ".join(str(e.seq) for e in txn.appended)
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise OperationalError(
                    f"no space left on {Path(getattr(log, 'path', log.where)).parent}: the entries are recorded "
                    f"in the ledger (seq {seqs}) but the checkpoint of seq {pending} was not added to {log.where}; "
                    "free space, and the next recording command adds it"
                ) from None
            raise OperationalError(
                f"recorded in the ledger (seq {seqs}) but the checkpoint could not be added to {log.where}: {exc}"
            ) from None
    if case.stamper is not None:
        case.stamper.sealed(case, signed[-1])


@dataclass(frozen=True)
class ItemSummary:
    item_id: str
    kind: str
    created: str
    label: str
    status: str
    artefacts: int
    notes: int
    # What the status means for this item, in words (the server's error answer, a failure's recorded error
    # or reasons), as the bundle's documents say it beside the status; None when the status says it all.
    status_said: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "kind": self.kind,
            "created": self.created,
            "label": self.label,
            "status": self.status,
            "status_said": self.status_said,
            "artefacts": self.artefacts,
            "notes": self.notes,
        }


def summarise(item_id: str, entries: Sequence[LedgerEntry]) -> ItemSummary:
    """What an item is, from its entries (the first creates it). What cannot be read is "not known"."""
    first = entries[0]
    artefacts = {a.digests.blake3 for e in entries for a in e.artefacts}
    notes = sum(1 for e in entries if e.action == "note.added")
    kind = item_kind(first.action) or NOT_KNOWN
    created = parse(first)
    label, status, said = NOT_KNOWN, "added", None
    if isinstance(created, FileAdded | FolderAdded):
        label = created.original_name
    elif isinstance(created, CaptureStarted):
        label = created.url
    if kind == "capture":
        status = "started"
        for e in entries:
            ended = parse(e)
            if isinstance(ended, CaptureCompleted | CaptureFailed):
                status = ended.status
                said = _said(ended)
            elif isinstance(ended, CaptureAbandoned):
                status = "abandoned"
            elif e.action in ENDED_CAPTURE:  # an ending this version cannot read
                status = NOT_KNOWN
    notes += 1 if given_note(created) else 0  # add --note, capture --note
    return ItemSummary(item_id, kind, first.time, label, status, len(artefacts), notes, said)


def _said(ended: CaptureCompleted | CaptureFailed) -> str | None:
    from evidencekit.bundle.documents.report_facts import status_text

    text = status_text(
        {
            "status": ended.status,
            "http_status": ended.http_status,
            "reasons": list(ended.reasons),
            "error": ended.error,
            "blocked": ended.blocked,  # what the site showed instead, as recorded (kind, evidence)
        }
    )
    return text.partition(" \N{EM DASH} ")[2] or None
