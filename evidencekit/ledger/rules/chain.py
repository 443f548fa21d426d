"""The entry rules: form, per-action details, order and gaps, stored leaf, case, chain link, keys, times."""

from __future__ import annotations

from collections.abc import Iterable

from evidencekit.errors import ValidationError
from evidencekit.hashing import blake3_bytes
from evidencekit.ledger.entries import ITEM_KINDS, KEY_ACTIONS, registered_key
from evidencekit.ledger.merkle import leaf_hash
from evidencekit.ledger.rules.base import ROOT_PREFIX, AuditResult, DetailCheck, RawEntry, Row
from evidencekit.models import LedgerEntry, Problem
from evidencekit.timefmt import parse_time


def parse_raw(raw: bytes, *, canonical_checked: bool = False) -> tuple[LedgerEntry | None, str | None]:
    try:
        return LedgerEntry.from_raw(raw, known_canonical=canonical_checked), None
    except ValidationError as exc:
        return None, str(exc)
    except (RecursionError, MemoryError):
        return None, "nested too deeply or too large to read"


def audit_chain(
    rows: Iterable[RawEntry],
    *,
    case_id: str | None,
    canonical_checked: bool = False,
    details: DetailCheck | None = None,
) -> AuditResult:
    """The entry rules over a whole ledger, in order; builds the Merkle tree.

    ``canonical_checked``: the caller re-encodes every row elsewhere and reports the non-canonical ones.
    """
    parsed = (
        Row(row.seq, row.raw, row.stored_leaf, None, *parse_raw(row.raw, canonical_checked=canonical_checked))
        for row in rows
    )
    return entry_rules(parsed, case_id=case_id, complete=True, details=details)


def entry_rules(
    rows: Iterable[Row],
    *,
    case_id: str | None,
    complete: bool,
    details: DetailCheck | None,
    start: int = 0,
    items: dict[str, int] | None = None,
) -> AuditResult:
    """Every entry rule, row by row. ``complete``: the rows are every entry from seq ``start`` on, so positions
    are known, gaps are faults and (from seq 0) the Merkle tree is built; otherwise (an excerpt) a row's position
    is the sequence number it claims, and an entry is linked only to the entry just before it, when present.

    ``items``: the item ids created before the rows (id -> seq of the entry that created it), when the rows do
    not begin at seq 0 (the tail a recording command checks); grown as the rows create items.
    """
    result = AuditResult(complete=complete and start == 0)
    created: dict[str, int] = {} if items is None else items
    seq: int | None = None
    where: str | None = None
    before: tuple[int | None, bytes] | None = None  # position and leaf hash of the entry before
    last_time: tuple[int, str] | None = None

    def problem(code: str, message: str) -> None:
        result.problems.append(Problem(code, message, seq=seq, path=None if seq is not None else where))

    for row in rows:
        seq, where, entry = row.seq, row.where, row.entry
        leaf = leaf_hash(blake3_bytes, row.raw)
        after = None if before is None else before[0]
        expected = start if after is None else after + 1
        if complete and seq != expected:
            problem("ledger.gap", f"expected sequence number {expected}, found {seq}")
        elif not complete and seq is not None and after is not None and seq <= after:
            problem("ledger.order", f"seq {seq} stands after seq {after}")
        if row.stored_leaf is not None and row.stored_leaf != leaf.hex():
            problem("entry.altered", "entry bytes do not match the leaf hash recorded with them")
        if entry is None:
            problem("entry.malformed", f"entry is not a valid canonical ledger entry: {row.error}")
        else:
            if complete and entry.seq != seq:
                problem("entry.misplaced", f"entry says it is seq {entry.seq} but stands at seq {seq}")
            if case_id is not None and entry.case_id != case_id:
                problem("entry.foreign", f"entry belongs to case {entry.case_id!r}")
            link = _link(before, entry.seq, complete) if before is not None or start == 0 else False
            if link is not False and entry.prev != link:
                problem("chain.broken", "entry's prev hash does not match the entry before it")
            if last_time is not None and entry.time < last_time[1]:
                result.warnings.append(Problem("time.regressed", _time_back(entry.time, *last_time), seq=seq))
            last_time = (entry.seq, entry.time)
            for message in details(entry) if details is not None else ():
                problem("entry.details", message)
            if entry.action in ITEM_KINDS and entry.subject is not None:
                earlier = created.setdefault(entry.subject, entry.seq)
                if earlier != entry.seq:
                    problem("item.reused", f"{entry.action} creates {entry.subject}, already created at seq {earlier}")
            result.entries.append(entry)
            note_key(result, entry)
        if result.complete:
            result.tree.append(leaf)
        before = (seq, leaf)
    return result


def _link(before: tuple[int | None, bytes] | None, seq: int, complete: bool) -> str | bool | None:
    """The prev an entry must carry, or False where an excerpt leaves out the entry before it."""
    if complete:
        return None if before is None else ROOT_PREFIX + before[1].hex()
    if seq == 0:
        return None
    if before is not None and before[0] == seq - 1:
        return ROOT_PREFIX + before[1].hex()
    return False


def _time_back(time: str, earlier_seq: int, earlier_time: str) -> str:
    back = parse_time(earlier_time) - parse_time(time)
    micros = back.days * 86_400_000_000 + back.seconds * 1_000_000 + back.microseconds
    return (
        f"entry time is {micros // 1_000_000}.{micros % 1_000_000:06d} s earlier than seq {earlier_seq}'s "
        "(the clock was set back?)"
    )


def note_key(result: AuditResult, entry: LedgerEntry) -> None:
    """The key entries are read here, once per entry (``ledger.entries`` keeps the reading on the entry);
    whether each key was brought in as the rules require is ``seals``' to judge."""
    if entry.action not in KEY_ACTIONS:
        return
    try:
        key = registered_key(entry)
    except ValidationError as exc:
        result.problems.append(Problem("key.malformed", f"registered public key is unusable: {exc}", seq=entry.seq))
        return
    result.keys[key.key_id] = key
