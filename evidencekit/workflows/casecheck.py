"""What a recording command checks before it appends or signs: that the investigator's key may sign in the
case, and that the case is still what its signed checkpoints, checkpoint files and case.opened entry say.

Cheap by design: only the entries since the newest checkpoint are re-read (a case without checkpoints is read
whole); ``ledger verify`` is the full check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from evidencekit.errors import IntegrityError, KeyMissingError, UsageError, ValidationError
from evidencekit.keys import PublicKey, SigningKey, keys_dir
from evidencekit.ledger.backend import LedgerBackend, LedgerTransaction, NoteLog, StoredRow, entry_leaf_hash
from evidencekit.ledger.entries import (
    ITEM_ACTIONS,
    KEY_ACTIONS,
    CheckpointSigned,
    KeyRegistered,
    detail_problems,
    registered_keys,
)
from evidencekit.ledger.merkle import MerkleTree
from evidencekit.ledger.rules import KeyStanding, RawEntry, audit_tail, check_note, key_history, unsealed_message
from evidencekit.models import Actor, CaseInfo, LedgerEntry, Problem
from evidencekit.runs import every_claim
from evidencekit.workspace import Workspace

KEYLESS_TAIL = 256  # entries re-read before each recording in a case without checkpoints


class OpenCase(Protocol):
    """What these checks read of an open case (``opencase.OpenCase``)."""

    workspace: Workspace
    info: CaseInfo
    ledger: LedgerBackend
    actor: Actor
    key: SigningKey | None
    checkpoints: NoteLog
    witness: NoteLog


def register_key(case: OpenCase, txn: LedgerTransaction, key: SigningKey) -> None:
    """Record the investigator's public key when the case has none yet: the first key of a case is the only
    one a sealing command may register. A later key must have been brought in by a recorded act signed by a
    registered key (``keys rotate``, ``keys add-investigator``); otherwise UsageError, nothing recorded."""
    standings, _ = key_history(case.ledger.entries_with_action(*KEY_ACTIONS), case.info.origin)
    if not standings:
        txn.append(KeyRegistered(key.investigator, key.public).draft(case.actor))
        return
    refusal = key_refusal(standings, key.public)
    if refusal is not None:
        raise UsageError(refusal)


def key_refusal(standings: Mapping[str, KeyStanding], key: PublicKey) -> str | None:
    """Why ``key`` may not sign in a case whose keys stand as ``standings`` (None: it may)."""
    standing = standings.get(key.key_id)
    if standing is None or standing.key != key:
        return (
            f"your key {key.key_id} is not registered in this case; nothing was recorded: a new key comes in by "
            "`evidencekit keys rotate` (your new key, signed by your old one) or `evidencekit keys add-investigator "
            "PUBKEY` (run by an investigator already registered)"
        )
    refusal = standing.refusal(None)
    if refusal is not None:
        return f"your key may not sign in this case: {refusal}; nothing was recorded; see `evidencekit keys rotate`"
    return None


def check_before_recording(case: OpenCase, environ: Mapping[str, str]) -> None:
    """Before a recording command's first append: the keys, then the case's integrity (``checked_tree``).

    A case with signed checkpoints is recorded in only by a key that may sign there (every recording command
    seals its own entries); without any key, a recording there is refused too (KeyMissingError).
    """
    standings, _ = key_history(case.ledger.entries_with_action(*KEY_ACTIONS), case.info.origin)
    if not standings:
        return
    if case.key is None:
        raise KeyMissingError(
            "this case is sealed with signed checkpoints, so every recording needs the key of an investigator "
            f"registered in it; there is none in {keys_dir(environ)}; nothing was recorded"
        )
    refusal = key_refusal(standings, case.key.public)
    if refusal is not None:
        raise UsageError(refusal)


def checked_tree(case: OpenCase, extra_keys: Sequence[PublicKey] = (), own: Sequence[LedgerEntry] = ()) -> MerkleTree:
    """The Merkle tree of the ledger, checked before anything is appended or signed.

    case.json must say what the ``case.opened`` entry says; the tree must still have the roots of the newest
    checkpoint in the ledger, in checkpoints.txt and in the investigator's witness copy; every entry after
    them must match its recorded hash and chain; and, once the case has a signed checkpoint, the entries
    after the newest one must be only those the rulebook lets stand unsigned (``own``: this command's own
    entries, which it is about to seal). Otherwise recording or signing would vouch for a tampered ledger:
    IntegrityError, and nothing is recorded. (An entry before those checkpoints whose bytes were changed
    without its recorded hash cannot be laundered this way: the new root is made from the recorded hashes,
    and the changed bytes stay detectable.) In a case without checkpoints, the newest ``KEYLESS_TAIL``
    entries are re-read: its hash chain is all that holds it, and ``ledger verify`` follows it whole.
    """
    _check_case_file(case)
    tree = case.ledger.tree()
    key_entries = case.ledger.entries_with_action(*KEY_ACTIONS)
    keys = registered_keys(key_entries)
    keys.update({k.key_id: k for k in extra_keys})
    standings, _ = key_history(key_entries, case.info.origin)

    def anchor(text: str) -> int:
        signers: list[str] = []
        checkpoint, problems = check_note(text, origin=case.info.origin, tree=tree, keys=keys, signed_by=signers)
        if problems:
            raise IntegrityError(
                f"the ledger no longer matches a signed checkpoint ({problems[0].message}); nothing was signed "
                "or recorded; run `evidencekit ledger verify`"
            )
        size = checkpoint.size if checkpoint else 0
        standing = standings.get(signers[0]) if signers else None
        # A checkpoint of tree size N is recorded at seq N; the first key is registered in the same transaction.
        refusal = standing.refusal(size) if standing is not None and standings else None
        if refusal is not None:
            raise IntegrityError(
                f"the newest checkpoint is signed by a key that may not sign in this case ({refusal}); nothing was "
                "signed or recorded; run `evidencekit ledger verify`"
            )
        return size

    held = [text for log in (case.checkpoints, case.witness) for text in _newest_note(log)]
    anchored = max((anchor(text) for text in held), default=0)
    # The checkpoint entry of a note of tree size N stands at seq N: the rows from there on hold the
    # ledger's newest checkpoints, unless the files are gone or behind (then the ledger's index finds it).
    start = max(anchored - 1, 0) if anchored else max(case.ledger.size() - KEYLESS_TAIL, 0)
    rows = list(case.ledger.rows(start=start))
    newest_row = next((row for row in reversed(rows) if row.action == CheckpointSigned.ACTION), None)
    if newest_row is None:
        recorded = case.ledger.entries_with_action(CheckpointSigned.ACTION)[-1:]
        if recorded and recorded[0].seq < anchored:
            raise IntegrityError(
                f"a checkpoint of tree size {anchored} is held outside the ledger but its checkpoint.signed entry "
                "is gone from it; nothing was signed or recorded; run `evidencekit ledger verify`"
            )
        if recorded:
            rows = list(case.ledger.rows(start=max(recorded[0].seq - 1, 0)))
    for row in rows:
        if entry_leaf_hash(row.raw).hex() != row.leaf_hash:
            raise IntegrityError(
                f"ledger entry seq {row.seq} no longer matches its recorded hash; nothing was signed or recorded; "
                "run `evidencekit ledger verify`"
            )
    entries = _check_links(rows)
    checkpoints = [e for e in entries if e.action == CheckpointSigned.ACTION]
    if checkpoints and str(checkpoints[-1].details.get("note", "")) not in held:
        anchor(str(checkpoints[-1].details.get("note", "")))
    if checkpoints:
        _check_tail(case, rows, entries, checkpoints[-1].seq, standings, own)
    return tree


def _check_tail(
    case: OpenCase,
    rows: Sequence[StoredRow],
    entries: Sequence[LedgerEntry],
    newest: int,
    standings: Mapping[str, KeyStanding],
    own: Sequence[LedgerEntry],
) -> None:
    """The newest checkpoint and the entries after it, held to the rulebook before anything signs over them
    (``rules.audit_tail``): each entry's form, details, case and chain, each item id new, and only what may
    stand unsigned, naming a key the case brought in, not back-dated, and (a capture.started) claimed by the
    lock file of a run, live or gone."""
    tail = [row for row in rows if row.seq >= newest]
    created = {e.subject for e in entries if e.seq > newest and e.action in ITEM_ACTIONS and e.subject}
    items: dict[str, int] = {}
    for subject in created:
        earlier = [e.seq for e in case.ledger.entries_about(subject) if e.action in ITEM_ACTIONS and e.seq < newest]
        if earlier:
            items[subject] = earlier[0]
    claims = every_claim(case.workspace)
    found = audit_tail(
        [RawEntry(row.seq, row.raw, row.leaf_hash) for row in tail],
        case_id=case.info.case_id,
        standings=standings,
        items=items,
        claimed=lambda entry: any(claim.matches(entry) for claim in claims),
        details=detail_problems,
        own=[e.seq for e in own],
    )
    if found:
        raise IntegrityError(
            f"{_tail_message(found, entries)}; nothing was signed or recorded; run `evidencekit ledger verify`"
        )


def _tail_message(found: Sequence[Problem], entries: Sequence[LedgerEntry]) -> str:
    by_seq = {e.seq: e for e in entries}
    unsealed = [by_seq[p.seq] for p in found if p.code == "entry.unsealed" and p.seq in by_seq]
    if unsealed:
        return unsealed_message(unsealed)
    seqs = sorted({p.seq for p in found if p.seq is not None})
    first, rest = found[0], found[1:]
    action = by_seq[first.seq].action if first.seq in by_seq else "entry"
    also = "".join(f"; also [{q.code}] at seq {q.seq}" for q in rest[:5]) + ("; ..." if len(rest) > 5 else "")
    return (
        f"the newest {'entry' if len(seqs) == 1 else 'entries'} (seq {', '.join(map(str, seqs[:10]))}) may not be "
        f"signed over: seq {first.seq} ({action}) [{first.code}]: {first.message}{also}"
    )


def _newest_note(log: NoteLog) -> list[str]:
    """The newest note a checkpoint log holds (none when it does not exist or is empty), read without
    parsing the notes before it."""
    try:
        texts = log.texts()
    except ValidationError as exc:
        raise IntegrityError(
            f"{log.where} is damaged ({exc}); nothing was signed or recorded; run `evidencekit ledger verify`"
        ) from None
    return (texts or [])[-1:]


def _check_case_file(case: OpenCase) -> None:
    """case.json against the case.opened entry (seq 0, its bytes against their recorded hash)."""
    first = next(case.ledger.rows(start=0, stop=1), None)
    try:
        if first is None or entry_leaf_hash(first.raw).hex() != first.leaf_hash:
            raise ValidationError("seq 0 does not match its recorded hash")
        opened = LedgerEntry.from_raw(first.raw)
    except ValidationError as exc:
        raise IntegrityError(
            f"the case.opened entry is damaged ({exc}); nothing was recorded; run `evidencekit ledger verify`"
        ) from None
    recorded, stated = opened.details.get("case"), case.info.to_dict()
    if opened.action != "case.opened" or recorded != stated:
        fields = sorted({*recorded, *stated}) if isinstance(recorded, dict) else []
        differing = next((f for f in fields if recorded.get(f) != stated.get(f)), None)  # type: ignore[union-attr]
        where = f" in its {differing} field" if differing else ""
        raise IntegrityError(
            f"case.json differs from the case.opened entry (seq 0){where}; nothing was recorded; run `evidencekit "
            "ledger verify`"
        )


def _check_links(rows: Sequence[StoredRow]) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for index, row in enumerate(rows):
        try:
            entry = LedgerEntry.from_raw(row.raw)
        except ValidationError as exc:
            raise IntegrityError(f"ledger entry seq {row.seq} is damaged ({exc}); nothing was signed") from None
        if entry.seq != row.seq or (index and entry.prev != f"blake3:{rows[index - 1].leaf_hash}"):
            raise IntegrityError(
                f"ledger entry seq {row.seq} does not chain to the entry before it; nothing was signed or "
                "recorded; run `evidencekit ledger verify`"
            )
        entries.append(entry)
    return entries
