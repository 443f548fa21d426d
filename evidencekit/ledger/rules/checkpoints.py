"""The checkpoint rules: form, signature, origin, root, the entry's fields, place, consistency, notes held
outside the ledger; and the same rules run on two worker processes for large ledgers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor

from evidencekit.errors import ValidationError
from evidencekit.hashing import blake3_bytes
from evidencekit.keys import PublicKey
from evidencekit.ledger.entries import KEY_ACTIONS
from evidencekit.ledger.merkle import MerkleTree, leaf_hash, verify_consistency
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.ledger.rules.base import ROOT_PREFIX, AuditResult, HeldNote
from evidencekit.ledger.rules.chain import note_key, parse_raw
from evidencekit.models import LedgerEntry, Problem

_PARALLEL_FROM = 2000  # checkpoints, before two workers audit them


def check_note(
    note_text: str,
    *,
    origin: str | None,
    tree: MerkleTree | None,
    keys: Mapping[str, PublicKey],
    where_seq: int | None = None,
    where_path: str | None = None,
    signed_by: list[str] | None = None,
) -> tuple[Checkpoint | None, list[Problem]]:
    """One signed checkpoint note against the registered keys and, given the whole ledger's ``tree``, its root.

    ``signed_by``, when given, receives the key id that verified the signature.
    """
    problems: list[Problem] = []

    def problem(code: str, message: str, seq: int | None = None) -> None:
        problems.append(Problem(code, message, seq=where_seq if seq is None else seq, path=where_path))

    try:
        note = SignedNote.parse(note_text)
        checkpoint = Checkpoint.parse(note.body)
    except ValidationError as exc:
        problem("checkpoint.malformed", f"checkpoint note cannot be read: {exc}")
        return None, problems
    if origin is not None and checkpoint.origin != origin:
        problem("checkpoint.foreign", f"checkpoint origin {checkpoint.origin!r} is not this case's {origin!r}")
    signer = next((key_id for key_id, key in keys.items() if note.verify_with(key)), None)
    if signed_by is not None and signer is not None:
        signed_by.append(signer)
    if signer is None:
        problem("checkpoint.bad_signature", "no registered investigator key verifies the checkpoint signature")
    if tree is None:
        pass
    elif checkpoint.size > tree.size:
        problem(
            "ledger.truncated",
            f"checkpoint signs {checkpoint.size} entries but only {tree.size} are present: "
            f"entries from seq {tree.size} on were removed",
            seq=tree.size,
        )
    elif tree.root(checkpoint.size) != checkpoint.root:
        problem(
            "checkpoint.root_mismatch", f"the recomputed Merkle root of the first {checkpoint.size} entries differs"
        )
    return checkpoint, problems


def _recorded_checkpoints(
    result: AuditResult,
    entries: Iterable[LedgerEntry],
    *,
    origin: str | None,
    previous: tuple[int, Checkpoint] | None = None,
) -> None:
    """Each checkpoint.signed entry: its note, its fields, its place, and consistency with the one before."""
    for entry in entries:
        if entry.action != "checkpoint.signed":
            continue
        note_text = entry.details.get("note")
        signed_by: list[str] = []
        checkpoint, problems = check_note(
            note_text if isinstance(note_text, str) else "",
            origin=origin,
            tree=result.tree if result.complete else None,
            keys=result.keys,
            where_seq=entry.seq,
            signed_by=signed_by,
        )
        result.problems.extend(problems)
        if checkpoint is None:
            continue
        result.notes_seen.add(str(note_text))
        if signed_by:
            result.signed_by[entry.seq] = signed_by[0]
        _check_checkpoint_fields(result, entry, checkpoint, signed_by[0] if signed_by else None)
        if checkpoint.size > entry.seq:
            result.problems.append(
                Problem("checkpoint.premature", "checkpoint signs entries recorded after itself", seq=entry.seq)
            )
        if previous is not None:
            _check_consistency(result, previous, (entry.seq, checkpoint))
        result.checkpoints.append((entry.seq, checkpoint))
        previous = (entry.seq, checkpoint)


def _check_checkpoint_fields(
    result: AuditResult, entry: LedgerEntry, checkpoint: Checkpoint, signer: str | None
) -> None:
    """The entry's own fields must say what its signed note says, and name the key that signed it."""
    details = entry.details
    if signer is not None:
        result.signers.add(signer)
    claims = {
        "tree_size": (details.get("tree_size"), checkpoint.size),
        "root": (details.get("root"), ROOT_PREFIX + checkpoint.root.hex()),
        "key_id": (details.get("key_id"), signer),
        "actor key": (entry.actor.key_id, signer),
    }
    for name, (stated, actual) in claims.items():
        if signer is None and name in ("key_id", "actor key"):
            continue
        if stated != actual:
            result.problems.append(
                Problem(
                    "checkpoint.entry_mismatch", f"the entry's {name} does not match its signed note", seq=entry.seq
                )
            )


def _check_consistency(result: AuditResult, older: tuple[int, Checkpoint], newer: tuple[int, Checkpoint]) -> None:
    (old_seq, old), (new_seq, new) = older, newer

    def inconsistent() -> None:
        result.problems.append(
            Problem(
                "checkpoint.inconsistent",
                f"tree head of seq {new_seq} is not an extension of the one signed at seq {old_seq}",
                seq=new_seq,
            )
        )

    if new.size < old.size:
        result.problems.append(
            Problem(
                "checkpoint.shrunk", f"tree size went down from {old.size} (seq {old_seq}) to {new.size}", seq=new_seq
            )
        )
    elif not result.complete:
        if new.size == old.size and new.root != old.root:
            inconsistent()  # what an excerpt can tell without the entries
    elif old.size > 0 and new.size <= result.tree.size:
        proof = result.tree.consistency_proof(old.size, new.size)
        if not verify_consistency(blake3_bytes, old.size, new.size, old.root, new.root, proof):
            inconsistent()


def audit_checkpoints(
    result: AuditResult,
    *,
    origin: str | None,
    external: Sequence[HeldNote] = (),
    ahead: Callable[[AuditResult], bool] | None = None,
) -> None:
    """Checkpoints recorded in the entries (or the findings of ``audit_checkpoints_ahead``), then notes held
    outside them."""
    if origin is None:
        result.skip("checkpoint.origin", "no case origin is known to hold the checkpoints to")
    if ahead is None or not ahead(result):
        _recorded_checkpoints(result, result.entries, origin=origin)
    for held in external:
        if held.text in result.notes_seen:
            continue  # byte for byte a note already checked inside the ledger, against the same tree
        held_by: list[str] = []
        checkpoint, problems = check_note(
            held.text, origin=origin, tree=result.tree if result.complete else None, keys=result.keys,
            where_path=held.where, signed_by=held_by,
        )  # fmt: skip
        result.problems.extend(problems)
        result.held_signed_by += [(held.where, signer) for signer in held_by]
        if checkpoint is None:
            continue
        if not result.complete:
            for seq, recorded in result.checkpoints:
                if recorded.size == checkpoint.size and recorded.root != checkpoint.root:
                    result.problems.append(
                        Problem(
                            "checkpoint.inconsistent",
                            f"signs another root for tree size {checkpoint.size} than the checkpoint of seq {seq}",
                            path=held.where,
                        )
                    )
        if held.recorded and not problems:
            result.problems.append(
                Problem(
                    "checkpoint.unrecorded",
                    f"checkpoint of tree size {checkpoint.size} is not recorded in the ledger: "
                    f"its checkpoint.signed entry (seq {checkpoint.size} or later) was removed",
                    seq=checkpoint.size,
                    path=held.where,
                )
            )


# -- the same checkpoint rules on two worker processes, for large ledgers -----------------------------------
def _checkpoint_range(
    raws: Sequence[bytes], anchor: int | None, picks: Sequence[int], key_picks: Sequence[int], origin: str | None
) -> tuple[list[Problem], list[tuple[int, Checkpoint]], set[str], set[str], dict[int, str]]:
    """Worker: audit the checkpoint entries at ``picks`` (positions in ``raws``) against a tree rebuilt
    from ``raws``; ``anchor`` is the checkpoint just before them, for the first consistency proof."""
    part = AuditResult(tree=MerkleTree(blake3_bytes, (leaf_hash(blake3_bytes, raw) for raw in raws)))

    def parsed(positions: Iterable[int]) -> list[LedgerEntry]:
        return [entry for entry, _ in (parse_raw(raws[p], canonical_checked=True) for p in positions) if entry]

    for entry in parsed(key_picks):
        note_key(part, entry)
    previous = None
    if anchor is not None:
        warm_up = AuditResult(tree=part.tree, keys=part.keys)
        _recorded_checkpoints(warm_up, parsed([anchor]), origin=origin)
        previous = warm_up.checkpoints[-1] if warm_up.checkpoints else None
    part.problems.clear()  # key problems are the chain audit's to report
    _recorded_checkpoints(part, parsed(picks), origin=origin, previous=previous)
    return part.problems, part.checkpoints, part.signers, part.notes_seen, part.signed_by


def audit_checkpoints_ahead(
    raws: Sequence[bytes], actions: Sequence[str], origin: str | None, pool: Executor, workers: int = 2
) -> Callable[[AuditResult], bool] | None:
    """Start auditing the checkpoints on ``pool``, found by the backend's index of actions. The returned call
    merges the findings into the chain audit's result, or returns False (and merges nothing) when the
    entries themselves put checkpoints elsewhere than the index: then the caller audits them itself."""
    picks = [i for i, action in enumerate(actions) if action == "checkpoint.signed"]
    if len(picks) < _PARALLEL_FROM:
        return None
    key_picks = [i for i, action in enumerate(actions) if action in KEY_ACTIONS]
    size = -(-len(picks) // workers)
    futures = [
        pool.submit(_checkpoint_range, raws, picks[i - 1] if i else None, picks[i : i + size], key_picks, origin)
        for i in range(0, len(picks), size)
    ]

    def merge(result: AuditResult) -> bool:
        found = [entry.seq for entry in result.entries if entry.action == "checkpoint.signed"]
        outcomes = [future.result() for future in futures]
        if found != picks or len(result.entries) != len(raws):
            return False
        for problems, checkpoints, signers, notes, signed_by in outcomes:
            result.signed_by.update(signed_by)
            result.problems.extend(problems)
            result.checkpoints.extend(checkpoints)
            result.signers.update(signers)
            result.notes_seen.update(notes)
        return True

    return merge
