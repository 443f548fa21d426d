"""Verify a case: recompute everything the case claims, from the ledger, its checkpoint files and its store.

Never writes: a write-blocked copy verifies as it is. Every problem found is reported, each with its
sequence number or path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from evidencekit.bundle.check.trust import TrustAnchor, load_anchor
from evidencekit.errors import (
    EvidenceKitError,
    InputFileError,
    IntegrityError,
    LedgerCorruptError,
    UsageError,
    ValidationError,
)
from evidencekit.keys import DEFAULT_KEY_NAME, RETIRED_PREFIX, key_exists, keys_dir, read_public_facts
from evidencekit.ledger.backend import CaseStorage, NoteLog
from evidencekit.ledger.entries import detail_problems
from evidencekit.ledger.notes import Checkpoint
from evidencekit.ledger.rules import (
    WRITTEN_AFTER_SEAL,
    AuditResult,
    HeldNote,
    KeyStanding,
    NotApplied,
    TokenVerdict,
    judge_claims,
    trusted_keys,
)
from evidencekit.ledger.witness import NoteFile, interrupted_note
from evidencekit.models import CaseInfo, LedgerEntry, Problem
from evidencekit.runs import every_claim, find_leftovers, linked_work_folder, open_claims, read_runs
from evidencekit.store import ObjectStoreBackend
from evidencekit.workflows.opencase import Session
from evidencekit.workflows.stamping import store_tokens
from evidencekit.workspace import Workspace, open_workspace


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
    not_applied: list[NotApplied] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)
    # Who signed, when a key from outside the case establishes it (``--key``, else this machine's own key).
    signer: str | None = None
    open_starts: list[LedgerEntry] = field(default_factory=list)  # unsigned capture.started, for judge_claims
    timestamps: list[TokenVerdict] = field(default_factory=list)  # each timestamp.obtained token, as judged

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def signer_established(self) -> bool:
        return self.ok and self.signer is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "intact": self.ok,
            "signer_established": self.signer_established,
            "signer": self.signer if self.signer_established else None,
            "case_id": self.case_id,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "objects_checked": self.objects_checked,
            "root": self.root,
            "checks": self.checks,
            "signers": self.signers,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [p.to_dict() for p in self.warnings],
            "not_applied": [n.to_dict() for n in self.not_applied],
            "timestamps": [t.to_dict() for t in self.timestamps],
        }


def _held_notes(log: NoteLog, report: VerifyReport, ledger_notes: Sequence[str]) -> list[HeldNote] | None:
    """Notes held outside the ledger (checkpoints.txt, the witness copy); None when the log does not exist.

    A file ending with the beginning of a note the ledger holds is the documented interrupted append: a
    warning (the next recording command repairs it), and its complete notes are checked as usual.
    """
    try:
        torn = log.torn() if isinstance(log, NoteFile) else b""
        if isinstance(log, NoteFile) and interrupted_note(torn, ledger_notes) is not None:
            report.warnings.append(
                Problem(
                    "checkpoints_file.interrupted",
                    f"the file ends with {len(torn)} bytes of an interrupted append of a checkpoint the ledger "
                    "holds; the next recording command repairs it",
                    path=log.where,
                )
            )
            return [HeldNote(text, log.where) for text in log.complete_texts() or []]
        else:
            texts = log.texts()
    except IntegrityError as exc:
        report.problems.append(Problem("checkpoints_file.link", exc.message, path=log.where))
        return []
    except (ValidationError, InputFileError) as exc:
        report.problems.append(Problem("checkpoints_file.damaged", str(exc), path=log.where))
        return []
    # An emptied file holds no more than a deleted one: judged alike (see _check_checkpoint_files).
    return [HeldNote(text, log.where) for text in texts] if texts else None


def load_tsa_roots(paths: Sequence[Path]) -> list[x509.Certificate]:
    """The certificates of the PEM files given with ``--tsa-roots`` (each one root, or a bundle of them);
    UsageError, before anything is read, for a file that cannot be read or holds no certificate."""
    roots: list[x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"--tsa-roots {path}: cannot read it ({exc.strerror or exc})") from None
        try:
            roots += x509.load_pem_x509_certificates(data)
        except ValueError:
            raise UsageError(f"--tsa-roots {path}: holds no PEM certificate") from None
    return roots


def verify_case(
    session: Session, trusted: Sequence[str] = (), tsa_roots: Sequence[x509.Certificate] = ()
) -> VerifyReport:
    """Recompute everything the case claims; every problem found is in the report. Never writes.

    ``trusted``: key ids or public key files (``ledger verify --key``, read as bundle ``verify --key`` reads
    them); every checkpoint must then be signed by one of them or by a key they brought into the case.
    ``tsa_roots``: the roots that establish the TSAs of the case's tokens (``--tsa-roots``); only those: the
    verifier's own TSA configuration is never used, so a verdict never depends on it silently.
    """
    anchors = [load_anchor(spec) for spec in trusted]  # a bad --key is a usage error before anything is read
    workspace = open_workspace(session.case_dir)
    info = workspace.read_info()
    report = VerifyReport(case_id=info.case_id)
    # Read before and after the ledger: a run that ends in between (its lock file gone) or begins in between
    # (its claim written before its entry commits) is seen in one of the two readings.
    claims = every_claim(workspace)
    storage = session.storage.open(workspace, info, session.environ, clock=session.clock, readonly=True)
    try:
        entries = _verify_storage(
            storage, info, report, anchors, [] if anchors else own_anchors(session.environ), tsa_roots
        )
    finally:
        storage.close()
    claims += every_claim(workspace)
    report.problems += judge_claims(report.open_starts, lambda entry: any(c.matches(entry) for c in claims))
    report.checks.append(
        "each unsigned capture.started after the newest checkpoint is claimed by a run's lock file (work/locks)"
    )
    _check_leftovers(workspace, entries, report)
    return report


def _check_leftovers(workspace: Workspace, entries: Sequence[LedgerEntry], report: VerifyReport) -> None:
    """What runs that are gone left behind: warnings, never problems (nothing recorded is changed by them),
    and nothing is removed here (the next recording command does that)."""
    linked = linked_work_folder(workspace)
    if linked is not None:
        report.problems.append(
            Problem(
                "work.linked",
                "a symbolic link, which the case never makes: the next recording command refuses to run until it "
                "is removed (its temporary files would be written and removed where it points)",
                path=str(linked),
            )
        )
    runs = read_runs(workspace)
    for leftover in find_leftovers(workspace, runs):
        report.warnings.append(
            Problem(
                "leftover.temporary",
                f"{leftover.kind} left by a run that is gone ({leftover.size} bytes); it is not evidence, and the "
                "next recording command removes it",
                path=leftover.shown_path(workspace),
            )
        )
    about: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        if entry.subject is not None:
            about.setdefault(entry.subject, []).append(entry)
    for claim, started, run in open_claims(runs, lambda item: about.get(item, [])):
        report.warnings.append(
            Problem(
                "capture.abandoned",
                f"{claim.item} was started by a run that is gone ({run.describe()}) and never recorded how it "
                "ended; the next recording command records it as abandoned",
                seq=started.seq,
            )
        )
    report.checks.append("leftovers of runs that are gone: temporary files, captures never ended")


def own_anchors(environ: Mapping[str, str]) -> list[TrustAnchor]:
    """This machine's investigator key and the keys it replaced (``keys rotate`` keeps them as retired-<id>):
    kept outside the case, so they establish who signed as a key id obtained out of band would."""
    directory = keys_dir(environ)
    names = [DEFAULT_KEY_NAME] if key_exists(directory) else []
    if directory.is_dir():
        names += sorted(p.stem for p in directory.glob(f"{RETIRED_PREFIX}*.pem"))
    anchors = []
    for name in names:
        try:
            _, public = read_public_facts(directory, name)
        except EvidenceKitError:
            continue
        anchors.append(TrustAnchor(public.key_id, public.raw))
    return anchors


def _trusted(result: AuditResult, anchors: Sequence[TrustAnchor]) -> set[str]:
    """The ids of the case's keys that ``anchors`` name, and of every key those brought into the case."""
    standings: dict[str, KeyStanding] = result.standings
    pinned = [key_id for key_id, standing in standings.items() if any(a.matches(standing.key) for a in anchors)]
    return trusted_keys(standings, pinned)


def _establish_signer(
    result: AuditResult, anchors: Sequence[TrustAnchor], *, given: bool, report: VerifyReport
) -> None:
    """Name who signed when every checkpoint is signed by an anchor or a key it brought into the case."""
    if not anchors or not result.signed_by:
        return
    trusted = _trusted(result, anchors)
    if any(signer not in trusted for signer in result.signed_by.values()):
        return
    newest = max(result.signed_by)
    name = next((e.actor.name for e in result.entries if e.seq == newest), None) or "an unnamed investigator"
    how = "" if given else ", the investigator key of this machine"
    report.signer = f"{name} ({result.signed_by[newest]}{how})"


def _check_pinned(result: AuditResult, anchors: Sequence[TrustAnchor], report: VerifyReport) -> None:
    """Every checkpoint signed by a key given with --key, or one such a key brought in (rotated to, added)."""
    report.checks.append("every checkpoint is signed by a key given with --key, or one it brought into the case")
    trusted = _trusted(result, anchors)
    if not result.signed_by:
        report.problems.append(
            Problem(
                "key.untrusted", "the ledger holds no signed checkpoint, so none is signed by a key given with --key"
            )
        )
    outside: dict[str, list[int]] = {}
    for seq, signer in sorted(result.signed_by.items()):
        if signer not in trusted:
            outside.setdefault(signer, []).append(seq)
    for signer, seqs in outside.items():
        count = f"{len(seqs)} checkpoint{'s' if len(seqs) > 1 else ''}"
        span = f"seq {seqs[0]}" if len(seqs) == 1 else f"seq {seqs[0]} to {seqs[-1]}"
        report.problems.append(
            Problem(
                "key.untrusted",
                f"{count} ({span}) signed by key {signer}, which is "
                "neither a key given with --key nor one such a key brought into the case",
                seq=seqs[0],
            )
        )


def _verify_storage(
    storage: CaseStorage,
    info: CaseInfo,
    report: VerifyReport,
    anchors: Sequence[TrustAnchor] = (),
    own: Sequence[TrustAnchor] = (),
    tsa_roots: Sequence[x509.Certificate] = (),
) -> list[LedgerEntry]:
    try:
        ledger_notes = [str(e.details.get("note", "")) for e in storage.ledger.entries_with_action("checkpoint.signed")]
    except LedgerCorruptError:  # the rulebook below reports the damaged entry
        ledger_notes = []
    beside = _held_notes(storage.checkpoints, report, ledger_notes)
    witness = _held_notes(storage.witness, report, ledger_notes)
    result = storage.ledger.verify(
        origin=info.origin,
        external_notes=(beside or []) + (witness or []),
        details=detail_problems,
        tokens=store_tokens(storage.store),
        tsa_roots=tsa_roots,
    )
    report.problems.extend(result.problems)
    report.warnings.extend(result.warnings)
    report.not_applied.extend(result.not_applied)
    report.open_starts = list(result.open_starts)
    report.timestamps = list(result.timestamps)
    if anchors:
        _check_pinned(result, anchors, report)
    _establish_signer(result, anchors or own, given=bool(anchors), report=report)
    if witness is None and result.checkpoints:
        report.not_applied.append(
            NotApplied(
                "checkpoint.external",
                f"no witness copy ({storage.witness.where}): the ledger's checkpoints were held to "
                "checkpoints.txt alone",
            )
        )
    report.entries = result.size
    report.checkpoints = len(result.checkpoints)
    report.root = "blake3:" + result.tree.root().hex()
    report.signers = sorted(result.signers)
    report.checks += [
        "the custody rulebook: canonical form, sequence numbers, hash chain, stored leaf hashes, case id, keys",
        "the custody rulebook: checkpoint signatures, origin, roots, fields, place and consistency proofs",
        "the custody rulebook: each key brought in by a registered key, each checkpoint signed by one that may "
        "sign, no unsigned entry after the newest checkpoint but those allowed",
        "the custody rulebook: checkpoints.txt and the investigator's witness copy against the ledger",
    ]
    if result.timestamps:
        roots = f"{len(tsa_roots)} root(s) given with --tsa-roots" if tsa_roots else "no --tsa-roots given"
        report.checks.append(
            f"the custody rulebook: {len(result.timestamps)} RFC 3161 token(s): kept as recorded, strict parse, "
            f"imprint of their checkpoint's note, signature, EKU, certificate at genTime, chain ({roots}); "
            "no entry recorded later than a covering token's genTime plus its stated accuracy"
        )
    _check_case_file(info, result.entries, report)
    _check_checkpoint_files(result.checkpoints, result.entries, beside, witness, report)
    newest = max((cp.size for _, cp in result.checkpoints), default=0)
    # The timestamp entries a sealing command writes after its own checkpoint stand unsigned by design (the
    # next checkpoint covers them): advising a checkpoint for them would only ask for more of them.
    tail = [e for e in result.entries if e.seq > newest] if result.checkpoints else list(result.entries)
    uncovered = sum(1 for e in tail if e.action not in WRITTEN_AFTER_SEAL)
    if uncovered > 0:
        report.warnings.append(
            Problem(
                "ledger.unsigned_tail",
                f"{uncovered} entries after the newest signed checkpoint are covered by the hash chain only; "
                "run `evidencekit checkpoint`",
            )
        )
    _check_objects(storage.store, result.entries, report)
    return list(result.entries)


def _check_checkpoint_files(
    checkpoints: Sequence[tuple[int, Checkpoint]],
    entries: Sequence[LedgerEntry],
    beside: list[HeldNote] | None,
    witness: list[HeldNote] | None,
    report: VerifyReport,
) -> None:
    """The ledger's own checkpoints must also be held outside it: a missing or emptied file is a problem, a
    missing newest note only a warning (a crash between the commit and the file append leaves that)."""
    if not checkpoints:
        return
    if beside is None:
        report.problems.append(
            Problem(
                "checkpoints_file.missing",
                "the ledger holds signed checkpoints but the file is gone or empty",
                path="checkpoints.txt",
            )
        )
        return
    notes = {e.seq: str(e.details.get("note")) for e in entries if e.action == "checkpoint.signed"}
    for label, held in (("checkpoints.txt", beside), ("witness copy", witness)):
        if held is None:
            continue
        texts = {note.text for note in held}
        held_seqs = [seq for seq, _ in checkpoints if notes.get(seq) in texts]
        # A second investigator's witness copy begins with the first checkpoint they signed (or published).
        oldest_held = min(held_seqs, default=0) if label == "witness copy" else 0
        missing = [seq for seq, _ in checkpoints if notes.get(seq) not in texts and seq > oldest_held]
        newest_held = max(held_seqs, default=-1)
        for seq in missing:
            problem = Problem("checkpoints_file.incomplete", f"checkpoint is missing from the {label}", seq=seq)
            (report.problems if seq < newest_held else report.warnings).append(problem)


def _check_objects(store: ObjectStoreBackend, entries: Sequence[LedgerEntry], report: VerifyReport) -> None:
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
