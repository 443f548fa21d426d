"""Recompute and check a run of ledger entries and their signed checkpoints, wherever they come from.

Used by ``Ledger.verify`` (entries read from SQLite) and by the bundle verifier (entries read from a
bundle's ledger.jsonl), so that both apply exactly the same rules. Every check reports a Problem and
goes on: verification names everything it finds, not just the first fault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from evidencekit.errors import ValidationError
from evidencekit.hashing import blake3_bytes
from evidencekit.keys import PublicKey
from evidencekit.ledger.merkle import MerkleTree, leaf_hash, verify_consistency
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.models import LedgerEntry, Problem

ROOT_PREFIX = "blake3:"


@dataclass(frozen=True)
class RawEntry:
    """An entry as found: its claimed position, its bytes, and (from SQLite) the stored leaf hash."""

    seq: int
    raw: bytes
    stored_leaf: str | None = None
    where: str | None = None
    noncanonical: bool = False


@dataclass
class AuditResult:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    signers: set[str] = field(default_factory=set)
    entries: list[LedgerEntry] = field(default_factory=list)
    tree: MerkleTree = field(default_factory=lambda: MerkleTree(blake3_bytes))
    keys: dict[str, PublicKey] = field(default_factory=dict)
    checkpoints: list[tuple[int, Checkpoint]] = field(default_factory=list)
    notes_seen: set[str] = field(default_factory=set)

    @property
    def size(self) -> int:
        return self.tree.size


def audit_chain(rows: Iterable[RawEntry], *, case_id: str | None, canonical_checked: bool = False) -> AuditResult:
    """Canonical form, sequence numbers, hash chain, stored leaf hashes; builds the Merkle tree.

    ``canonical_checked``: the caller already re-encoded every row elsewhere and gives the non-canonical
    ones with ``RawEntry.noncanonical`` set.
    """
    result = AuditResult()
    expected_seq = 0
    prev_leaf: bytes | None = None
    for row in rows:
        problems = result.problems
        leaf = leaf_hash(blake3_bytes, row.raw)
        if row.seq != expected_seq:
            problems.append(
                Problem("ledger.gap", f"expected sequence number {expected_seq}, found {row.seq}", seq=row.seq)
            )
        if row.stored_leaf is not None and row.stored_leaf != leaf.hex():
            problems.append(
                Problem("entry.altered", "entry bytes do not match the leaf hash recorded with them", seq=row.seq)
            )
        try:
            if row.noncanonical:
                raise ValidationError("not in canonical form")
            entry = LedgerEntry.from_raw(row.raw, known_canonical=canonical_checked)
        except ValidationError as exc:
            problems.append(
                Problem("entry.malformed", f"entry is not a valid canonical ledger entry: {exc}", seq=row.seq)
            )
            entry = None
        if entry is not None:
            if entry.seq != row.seq:
                problems.append(
                    Problem(
                        "entry.misplaced", f"entry says it is seq {entry.seq} but stands at seq {row.seq}", seq=row.seq
                    )
                )
            if case_id is not None and entry.case_id != case_id:
                problems.append(Problem("entry.foreign", f"entry belongs to case {entry.case_id!r}", seq=row.seq))
            expected_prev = None if prev_leaf is None else ROOT_PREFIX + prev_leaf.hex()
            if entry.prev != expected_prev:
                problems.append(
                    Problem("chain.broken", "entry's prev hash does not match the entry before it", seq=row.seq)
                )
            if result.entries and entry.time < result.entries[-1].time:
                result.warnings.append(
                    Problem(
                        "time.regressed", "entry time is earlier than the entry before it (clock change?)", seq=row.seq
                    )
                )
            result.entries.append(entry)
            _note_key(result, entry)
        result.tree.append(leaf)
        prev_leaf = leaf
        expected_seq = row.seq + 1
    return result


def registered_public_key(entry: LedgerEntry) -> PublicKey:
    """The public key a ``key.registered`` entry records; ValidationError when it is unusable."""
    try:
        return PublicKey.from_dict(dict(entry.details.get("public_key") or {}))
    except (TypeError, ValueError) as exc:
        raise ValidationError(str(exc)) from None


def registered_keys(entries: Iterable[LedgerEntry]) -> dict[str, PublicKey]:
    """The usable keys that ``key.registered`` entries record, by key id (unusable ones are left out)."""
    keys = {}
    for entry in entries:
        if entry.action != "key.registered":
            continue
        try:
            key = registered_public_key(entry)
        except ValidationError:
            continue
        keys[key.key_id] = key
    return keys


def _note_key(result: AuditResult, entry: LedgerEntry) -> None:
    if entry.action != "key.registered":
        return
    try:
        key = registered_public_key(entry)
    except ValidationError as exc:
        result.problems.append(Problem("key.malformed", f"registered public key is unusable: {exc}", seq=entry.seq))
        return
    result.keys[key.key_id] = key


_PARALLEL_FROM = 2000


def check_note(
    note_text: str,
    *,
    origin: str | None,
    tree: MerkleTree,
    keys: dict[str, PublicKey],
    where_seq: int | None = None,
    where_path: str | None = None,
    signed_by: list[str] | None = None,
) -> tuple[Checkpoint | None, list[Problem]]:
    """One signed checkpoint note against the recomputed tree and the registered keys.

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
    if checkpoint.size > tree.size:
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


def _ledger_checkpoints(
    result: AuditResult,
    entries: Iterable[LedgerEntry],
    *,
    origin: str | None,
    previous: tuple[int, Checkpoint] | None = None,
) -> None:
    """Each checkpoint.signed entry: its note, its fields, and consistency with the checkpoint before."""
    for entry in entries:
        if entry.action != "checkpoint.signed":
            continue
        note_text = str(entry.details.get("note", ""))
        signed_by: list[str] = []
        checkpoint, problems = check_note(
            note_text,
            origin=origin,
            tree=result.tree,
            keys=result.keys,
            where_seq=entry.seq,
            signed_by=signed_by,
        )
        result.problems.extend(problems)
        if checkpoint is None:
            continue
        result.notes_seen.add(note_text)
        _check_checkpoint_fields(result, entry, checkpoint, signed_by[0] if signed_by else None)
        if checkpoint.size > entry.seq:
            result.problems.append(
                Problem("checkpoint.premature", "checkpoint signs entries recorded after itself", seq=entry.seq)
            )
        if previous is not None and checkpoint.size <= result.tree.size:
            _check_consistency(result, previous, (entry.seq, checkpoint))
        result.checkpoints.append((entry.seq, checkpoint))
        previous = (entry.seq, checkpoint)


def _checkpoint_range(
    raws: Sequence[bytes], anchor: int | None, picks: Sequence[int], key_picks: Sequence[int], origin: str | None
) -> tuple[list[Problem], list[tuple[int, Checkpoint]], set[str], set[str]]:
    """Worker: audit the checkpoint entries at ``picks`` (positions in ``raws``) against a tree rebuilt
    from ``raws``; ``anchor`` is the checkpoint just before them, for the first consistency proof."""
    part = AuditResult(tree=MerkleTree(blake3_bytes, (leaf_hash(blake3_bytes, raw) for raw in raws)))

    def parsed(positions: Iterable[int]) -> list[LedgerEntry]:
        entries = []
        for position in positions:
            try:
                entries.append(LedgerEntry.from_raw(raws[position], known_canonical=True))
            except ValidationError:
                continue  # reported by the chain audit
        return entries

    for entry in parsed(key_picks):
        _note_key(part, entry)
    previous = None
    if anchor is not None:
        warm_up = AuditResult(tree=part.tree, keys=part.keys)
        _ledger_checkpoints(warm_up, parsed([anchor]), origin=origin)
        previous = warm_up.checkpoints[-1] if warm_up.checkpoints else None
    part.problems.clear()  # key problems are the chain audit's to report
    _ledger_checkpoints(part, parsed(picks), origin=origin, previous=previous)
    return part.problems, part.checkpoints, part.signers, part.notes_seen


def audit_checkpoints_ahead(
    raws: Sequence[bytes], actions: Sequence[str], origin: str | None, pool: Executor, workers: int = 2
) -> Callable[[AuditResult], None] | None:
    """Start auditing the ledger's checkpoints on ``pool`` (rows picked by their action column, which
    the chain audit cross-checks); the returned call merges the findings into the chain audit's result."""
    picks = [i for i, action in enumerate(actions) if action == "checkpoint.signed"]
    if len(picks) < _PARALLEL_FROM:
        return None
    key_picks = [i for i, action in enumerate(actions) if action == "key.registered"]
    size = -(-len(picks) // workers)
    futures = [
        pool.submit(_checkpoint_range, raws, picks[i - 1] if i else None, picks[i : i + size], key_picks, origin)
        for i in range(0, len(picks), size)
    ]

    def merge(result: AuditResult) -> None:
        for future in futures:
            problems, checkpoints, signers, notes = future.result()
            result.problems.extend(problems)
            result.checkpoints.extend(checkpoints)
            result.signers.update(signers)
            result.notes_seen.update(notes)

    return merge


def audit_checkpoints(
    result: AuditResult,
    *,
    origin: str | None,
    external: Sequence[tuple[str, str]] = (),
    merge: Callable[[AuditResult], None] | None = None,
) -> None:
    """Checkpoints recorded in the ledger (or ``merge`` the findings of ``audit_checkpoints_ahead``),
    then notes held outside it (``(note text, path)`` pairs)."""
    if merge is not None:
        merge(result)
    else:
        _ledger_checkpoints(result, result.entries, origin=origin)
    for note_text, path in external:
        if note_text in result.notes_seen:
            continue  # byte for byte a note already checked inside the ledger, at the same tree
        checkpoint, problems = check_note(note_text, origin=origin, tree=result.tree, keys=result.keys, where_path=path)
        result.problems.extend(problems)
        if checkpoint is not None and note_text not in result.notes_seen and not problems:
            result.problems.append(
                Problem(
                    "checkpoint.unrecorded",
                    f"checkpoint of tree size {checkpoint.size} is not recorded in the ledger: "
                    f"its checkpoint.signed entry (seq {checkpoint.size} or later) was removed",
                    seq=checkpoint.size,
                    path=path,
                )
            )


def _check_consistency(result: AuditResult, older: tuple[int, Checkpoint], newer: tuple[int, Checkpoint]) -> None:
    old_seq, old = older
    new_seq, new = newer
    if new.size < old.size:
        result.problems.append(
            Problem(
                "checkpoint.shrunk", f"tree size went down from {old.size} (seq {old_seq}) to {new.size}", seq=new_seq
            )
        )
        return
    if old.size > result.tree.size:
        return
    proof = result.tree.consistency_proof(old.size, new.size) if old.size > 0 else []
    if old.size > 0 and not verify_consistency(blake3_bytes, old.size, new.size, old.root, new.root, proof):
        result.problems.append(
            Problem(
                "checkpoint.inconsistent",
                f"tree head of seq {new_seq} is not an extension of the one signed at seq {old_seq}",
                seq=new_seq,
            )
        )


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
