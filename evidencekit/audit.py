"""Recompute and check a run of ledger entries and their signed checkpoints, wherever they come from.

Used by ``Ledger.verify`` (entries read from SQLite) and by the bundle verifier (entries read from a
bundle's ledger.jsonl), so that both apply exactly the same rules. Every check reports a Problem and
goes on: verification names everything it finds, not just the first fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from evidencekit.errors import ValidationError
from evidencekit.hashing import blake3_bytes
from evidencekit.merkle import MerkleTree, leaf_hash, verify_consistency
from evidencekit.models import LedgerEntry, Problem
from evidencekit.signing import Checkpoint, PublicKey, SignedNote

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


def _note_key(result: AuditResult, entry: LedgerEntry) -> None:
    if entry.action != "key.registered":
        return
    try:
        key = PublicKey.from_dict(dict(entry.details.get("public_key") or {}))
    except (ValidationError, TypeError, ValueError) as exc:
        result.problems.append(Problem("key.malformed", f"registered public key is unusable: {exc}", seq=entry.seq))
        return
    result.keys[key.key_id] = key


# Verified ahead, in parallel: note text -> (key id, raw public key) of the key whose signature verified.
SignatureCache = Mapping[str, tuple[str, bytes]]
_PARALLEL_FROM = 2000


def _signers_of(raws: Sequence[bytes], keys: Sequence[PublicKey]) -> list[tuple[str, str, bytes] | None]:
    """Worker: the note of each checkpoint entry and the key that verifies it (None when none does)."""
    found: list[tuple[str, str, bytes] | None] = []
    for raw in raws:
        try:
            text = str(json.loads(raw)["details"]["note"])
            note = SignedNote.parse(text)
        except (ValueError, KeyError, TypeError, RecursionError, ValidationError):
            found.append(None)
            continue
        key = next((k for k in keys if note.verify_with(k)), None)
        found.append((text, key.key_id, key.raw) if key is not None else None)
    return found


def verify_signatures_ahead(
    checkpoint_raws: Sequence[bytes], key_raws: Sequence[bytes], pool: Executor
) -> Callable[[], SignatureCache]:
    """Start checking every checkpoint signature on ``pool``; the returned call waits for the answers.

    Only an optimisation: ``check_note`` trusts a cached answer only for the very key it then holds, and
    checks anything else itself. Entries are picked by the row's action column, and keys are read
    leniently, before the chain audit has vouched for either.
    """
    keys = []
    for raw in key_raws:
        try:
            keys.append(PublicKey.from_dict(dict(json.loads(raw)["details"]["public_key"])))
        except (ValueError, KeyError, TypeError, RecursionError, ValidationError):
            continue
    if len(checkpoint_raws) < _PARALLEL_FROM or not keys:
        return dict
    size = -(-len(checkpoint_raws) // 8)
    futures = [
        pool.submit(_signers_of, checkpoint_raws[i : i + size], keys) for i in range(0, len(checkpoint_raws), size)
    ]

    def collect() -> SignatureCache:
        cache: dict[str, tuple[str, bytes]] = {}
        for future in futures:
            for found in future.result():
                if found is not None:
                    cache[found[0]] = (found[1], found[2])
        return cache

    return collect


def check_note(
    note_text: str,
    *,
    origin: str | None,
    tree: MerkleTree,
    keys: dict[str, PublicKey],
    where_seq: int | None = None,
    where_path: str | None = None,
    signed_by: list[str] | None = None,
    cache: SignatureCache | None = None,
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
    cached = cache.get(note_text) if cache else None
    if cached is not None and cached[0] in keys and keys[cached[0]].raw == cached[1]:
        signer: str | None = cached[0]
    else:
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


def audit_checkpoints(
    result: AuditResult,
    *,
    origin: str | None,
    external: Sequence[tuple[str, str]] = (),
    cache: SignatureCache | None = None,
) -> None:
    """Checkpoints recorded in the ledger, then notes held outside it (``(note text, path)`` pairs)."""
    previous: tuple[int, Checkpoint] | None = None
    for entry in result.entries:
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
            cache=cache,
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
