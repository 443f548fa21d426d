"""The custody rulebook: every rule a run of ledger entries and its signed checkpoints must keep, in one place.

Both verifiers apply it: ``ledger verify`` to the entries a ledger backend holds (``audit``), and bundle
``verify`` to the lines of a bundle's ledger.jsonl (``audit_excerpt``). It reads no storage: it is given raw
entries (position, bytes, the leaf hash stored beside them if any) and signed notes, and returns what it
found. Every rule has a stable name (``RULES``); every problem names the sequence number or file it concerns;
a rule the entries given cannot support (an excerpt lacks the entries it needs) is named in ``not_applied``
with the reason, so that silence never passes for a check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future

from cryptography import x509

from evidencekit.ledger.entries import CaseOpened, parse
from evidencekit.ledger.rules.base import (
    CODES,
    ROOT_PREFIX,
    RULES,
    AuditResult,
    DetailCheck,
    HeldNote,
    NotApplied,
    RawEntry,
    Row,
    TokenVerdict,
)
from evidencekit.ledger.rules.chain import audit_chain, entry_rules, parse_raw
from evidencekit.ledger.rules.checkpoints import audit_checkpoints, audit_checkpoints_ahead, check_note
from evidencekit.ledger.rules.seals import (
    MAY_STAND_UNSIGNED,
    OPEN_UNTIL_SEALED,
    UNSIGNED_TIME_SLACK,
    WRITTEN_AFTER_SEAL,
    KeyStanding,
    audit_seals,
    judge_claims,
    key_history,
    trusted_keys,
    unsealed,
    unsealed_message,
    unsigned_problems,
)
from evidencekit.ledger.rules.timestamps import Tokens, audit_timestamps
from evidencekit.models import LedgerEntry, Problem, noncanonical_positions

__all__ = [
    "CODES",
    "MAY_STAND_UNSIGNED",
    "OPEN_UNTIL_SEALED",
    "ROOT_PREFIX",
    "RULES",
    "UNSIGNED_TIME_SLACK",
    "WRITTEN_AFTER_SEAL",
    "AuditResult",
    "DetailCheck",
    "HeldNote",
    "KeyStanding",
    "NotApplied",
    "RawEntry",
    "TokenVerdict",
    "Tokens",
    "audit",
    "audit_chain",
    "audit_checkpoints",
    "audit_excerpt",
    "audit_tail",
    "audit_timestamps",
    "check_note",
    "judge_claims",
    "key_history",
    "trusted_keys",
    "unsealed",
    "unsealed_message",
    "unsigned_problems",
]
_PARALLEL_CANONICAL_FROM = 5000  # entries, before two workers re-encode them


def audit(
    rows: Sequence[RawEntry],
    *,
    case_id: str | None,
    origin: str | None,
    external: Sequence[HeldNote] = (),
    details: DetailCheck | None = None,
    pool: Executor | None = None,
    actions: Sequence[str] | None = None,
    tokens: Tokens | None = None,
    tsa_roots: Sequence[x509.Certificate] = (),
) -> AuditResult:
    """Every rule, over a whole ledger (every entry from seq 0 on) and the notes held outside it.

    ``pool``: two workers re-encode large ledgers and audit their checkpoints while this process follows the
    chain; ``actions`` (the backend's index of each row's action) tells them where the checkpoints stand.
    ``tokens``: the raw answer of each timestamp.obtained entry (None: no tokens to check, and ``not_applied``
    says so); ``tsa_roots``: the roots that establish a TSA (``rules.timestamps``).
    """
    parallel = pool is not None and len(rows) >= _PARALLEL_CANONICAL_FROM
    raws = [row.raw for row in rows]
    ahead = audit_checkpoints_ahead(raws, actions, origin, pool) if pool is not None and actions else None
    pending: list[tuple[int, Future[list[int]]]] = []
    if pool is not None and parallel:
        size = -(-len(raws) // 4)
        pending = [(i, pool.submit(noncanonical_positions, raws[i : i + size])) for i in range(0, len(raws), size)]
    result = audit_chain(rows, case_id=case_id, canonical_checked=parallel, details=details)
    if case_id is None:
        result.skip("entry.case", "no case id is known to hold the entries to")
    for start, future in pending:
        for index in future.result():
            result.problems.append(
                Problem("entry.malformed", "entry is not in canonical form", seq=rows[start + index].seq)
            )
    audit_checkpoints(result, origin=origin, external=external, ahead=ahead)
    audit_seals(result, origin=origin)
    audit_timestamps(result, tokens=tokens, tsa_roots=tsa_roots)
    return result


def audit_excerpt(
    lines: Sequence[bytes],
    *,
    signed_size: int | None,
    where: str,
    external: Sequence[HeldNote] = (),
    details: DetailCheck | None = None,
    tokens: Tokens | None = None,
    tsa_roots: Sequence[x509.Certificate] = (),
) -> AuditResult:
    """Every rule the lines of a ledger excerpt can support, in file order; the case is the one their
    case.opened entry names. ``signed_size``: the tree size of the checkpoint the excerpt comes with.

    The excerpt is the whole ledger when it holds exactly the ``signed_size`` entries from seq 0 on; then
    every rule applies. Otherwise positions are the sequence numbers the lines claim, and the rules that
    need the entries left out are named in ``not_applied``.
    """
    parsed = [parse_raw(raw) for raw in lines]
    claimed = [entry.seq if entry is not None else None for entry, _ in parsed]
    complete = signed_size == len(lines) and all(seq in (None, i) for i, seq in enumerate(claimed))
    rows = [
        Row(i if complete else claimed[i], raw, None, f"{where} line {i + 1}", *parsed[i])
        for i, raw in enumerate(lines)
    ]
    case = _case_of(entry for entry, _ in parsed)
    result = entry_rules(rows, case_id=case[0] if case else None, complete=complete, details=details)
    result.skip("entry.leaf", "a bundle stores no leaf hash beside its lines; each line's inclusion proof binds it")
    if case is None:
        result.skip("entry.case", "the excerpt holds no readable case.opened entry naming the case")
    if not complete:
        _excerpt_limits(result, claimed, signed_size)
    audit_checkpoints(result, origin=case[1] if case else None, external=external)
    audit_seals(result, origin=case[1] if case else None)
    audit_timestamps(result, tokens=tokens, tsa_roots=tsa_roots)
    if result.open_starts:
        seqs = ", ".join(str(e.seq) for e in result.open_starts)
        result.skip(
            "capture.claimed",
            f"a bundle carries no lock files, so which run claimed the unsigned capture.started of seq {seqs} "
            "cannot be told here; export refuses to sign over one no run claims, and the bundle's checkpoint "
            "signs it with the rest",
        )
    return result


def audit_tail(
    rows: Sequence[RawEntry],
    *,
    case_id: str,
    standings: Mapping[str, KeyStanding],
    items: Mapping[str, int],
    claimed: Callable[[LedgerEntry], bool],
    details: DetailCheck | None = None,
    own: Iterable[int] = (),
) -> list[Problem]:
    """The rules a recording command holds the newest entries to before it signs over them: every entry rule
    (form, details, stored leaf, case, sequence and chain, new item ids) over ``rows``, which begin with the
    newest ``checkpoint.signed`` entry, and the sealing rules over the entries after it (``own``: the command's
    own entries, about to be sealed). ``items``: the ids created before ``rows`` of the items the rows create;
    ``claimed``: whether a run's lock file claims an unsigned capture.started. Empty when all is well."""
    if not rows:
        return []
    parsed = (Row(row.seq, row.raw, row.stored_leaf, None, *parse_raw(row.raw)) for row in rows)
    result = entry_rules(parsed, case_id=case_id, complete=True, details=details, start=rows[0].seq, items=dict(items))
    problems = list(result.problems)
    newest = [i for i, e in enumerate(result.entries) if e.action == "checkpoint.signed"][-1:]
    if newest and len(result.entries) == len(rows):
        found, starts = unsigned_problems(result.entries[newest[0] :], standings, own)
        problems += found + judge_claims(starts, claimed)
    return sorted(problems, key=lambda p: -1 if p.seq is None else p.seq)


def _excerpt_limits(result: AuditResult, claimed: Sequence[int | None], signed_size: int | None) -> None:
    if signed_size is None:
        held = f"the excerpt holds {len(claimed)} entries and no readable checkpoint says how many the ledger held"
    elif signed_size == len(claimed):
        held = f"the {len(claimed)} lines of the excerpt do not stand as seq 0 to {signed_size - 1}"
    else:
        held = f"the excerpt holds {len(claimed)} of the {signed_size} entries its checkpoint signs"
    result.skip("sequence.gap", f"{held}; an entry left out by design cannot be told from one removed")
    known = [seq for seq in claimed if seq is not None]
    unlinked = sum(1 for a, b in zip([-1, *known], known, strict=False) if b != a + 1) + len(claimed) - len(known)
    if unlinked:
        result.skip(
            "chain.link",
            f"{held}; "
            + (
                "1 of its lines does not follow the entry before it, so its link cannot be checked"
                if unlinked == 1
                else f"{unlinked} of its lines do not follow the entry before them, so their links cannot be checked"
            ),
        )
    result.skip("checkpoint.root", f"{held}; no Merkle root can be recomputed (each line's inclusion proof stands in)")
    result.skip(
        "item.new", f"{held}; an item id reused from an item left out cannot be told (among its lines, it is checked)"
    )
    if any(entry.action == "checkpoint.signed" for entry in result.entries):
        result.skip("checkpoint.consistency", f"{held}; consistency proofs between its checkpoints need every entry")


def _case_of(entries: Iterable[LedgerEntry | None]) -> tuple[str, str] | None:
    """(case id, checkpoint origin) named by the first readable case.opened entry."""
    for entry in entries:
        if entry is not None and entry.action == CaseOpened.ACTION:
            parsed = parse(entry)
            if isinstance(parsed, CaseOpened):
                return parsed.case.case_id, parsed.case.origin
    return None
