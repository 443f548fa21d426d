"""Independent time for an export: stamp the export's fresh checkpoint, and choose the tokens the bundle carries.

``stamp_export_checkpoint`` asks every configured TSA at once for a token over the export checkpoint's signed
note (bounded by the TSA timeout; not at all with ``EVIDENCEKIT_OFFLINE=1``) and records each answer after that
checkpoint, as every sealing command does: ``timestamp.obtained`` with the DER answer in the object store, or
``timestamp.pending`` with the reason. A TSA that fails never fails the export.

``bundle_time`` chooses what the bundle carries: every token over the export's checkpoint, and for each
exported ledger line and each TSA the token with the earliest genTime whose tree covers it, with every token
over the checkpoints so chosen. So when no TSA answers at export, the bundle still carries the newest stamped
checkpoints covering the exported entries (and the earliest), each with a consistency proof to the export's
checkpoint, and every exported entry a token covers still shows "existed no later than".
"""

from __future__ import annotations

import io
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from evidencekit.bundle.timestamps import (
    BundleTime,
    CarriedCheckpoint,
    CarriedToken,
    Unanswered,
    carries_credentials,
)
from evidencekit.errors import ValidationError
from evidencekit.hashing import hash_bytes
from evidencekit.ledger.entries import (
    CheckpointSigned,
    StampedCheckpoint,
    TimestampObtained,
    TimestampPending,
    TsaNamed,
    parse,
)
from evidencekit.models import Artefact, EntryDraft, LedgerEntry
from evidencekit.timefmt import format_time
from evidencekit.timestamps import client, config, token
from evidencekit.workflows.opencase import OpenCase

OFFLINE = "EVIDENCEKIT_OFFLINE"
TOKEN_MEDIA_TYPE = "application/timestamp-reply"  # noqa: S105 (a media type)


def offline(environ: Mapping[str, str]) -> bool:
    return environ.get(OFFLINE, "") not in ("", "0")


def stamp_export_checkpoint(
    case: OpenCase, checkpoint_entry: LedgerEntry, environ: Mapping[str, str], clock: Callable[[], datetime]
) -> list[LedgerEntry]:
    """Ask every configured TSA for a token over ``checkpoint_entry``'s note and record what each answered
    (after that checkpoint: the next one, which export's own seal makes, covers them). Returns the entries."""
    authorities = config.load_authorities(environ)
    if not authorities:
        return []
    note = str(checkpoint_entry.details["note"]).encode("utf-8")
    stamped = StampedCheckpoint(
        checkpoint_entry.seq, int(checkpoint_entry.details["tree_size"]), str(checkpoint_entry.details["root"])
    )
    if offline(environ):
        drafts = [_pending(case, a, stamped, "offline", None) for a in authorities]
    else:
        answers = client.ask_all(authorities, note, timeout=client.DEFAULT_TIMEOUT, clock=clock)
        drafts = [_recorded(case, answer, stamped, note) for answer in answers]
    with case.ledger.transaction() as txn:
        return [txn.append(draft) for draft in drafts]


def _tsa(authority: config.Authority) -> TsaNamed:
    return TsaNamed(authority.name, authority.url, authority.qualified)


def _pending(
    case: OpenCase, authority: config.Authority, stamped: StampedCheckpoint, reason: str, requested: str | None
) -> EntryDraft:
    return TimestampPending(_tsa(authority), stamped, reason, requested).draft(case.actor)


def _seconds(value: float | Decimal) -> str:
    text = f"{Decimal(value).quantize(Decimal('0.000001')):f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _recorded(case: OpenCase, answer: client.Answer, stamped: StampedCheckpoint, note: bytes) -> EntryDraft:
    requested = format_time(answer.requested)
    if answer.reason is not None or answer.response is None or answer.answered is None:
        return _pending(case, answer.authority, stamped, answer.reason or "no answer", requested)
    digests = case.store.put_stream(io.BytesIO(answer.response))
    artefact = Artefact(
        f"timestamp-{stamped.seq}-{answer.authority.name}.tsr"
        if _plain(answer.authority.name)
        else f"timestamp-{stamped.seq}.tsr",
        "timestamp-token",
        TOKEN_MEDIA_TYPE,
        digests,
    )
    facts = answer.check.facts if answer.check is not None else None
    round_trip = (answer.answered - answer.requested).total_seconds()
    offset: str | None = None
    flagged = False
    if facts is not None:
        midpoint = answer.requested + (answer.answered - answer.requested) / 2
        seconds = (midpoint - facts.gen_time).total_seconds()
        offset = _seconds(seconds)
        flagged = abs(seconds) > (facts.accuracy_seconds or 0) + round_trip
    stamp = TimestampObtained(
        tsa=_tsa(answer.authority),
        checkpoint=stamped,
        hash_algorithm=facts.hash_algorithm if facts else "sha256",
        imprint="sha256:" + hash_bytes(note).sha256,
        parsed=facts is not None,
        gen_time=format_time(facts.gen_time) if facts else None,
        serial_number=facts.serial_number if facts else None,
        policy=facts.policy if facts else None,
        accuracy_seconds=_seconds(facts.accuracy_seconds) if facts and facts.accuracy_seconds is not None else None,
        nonce=str(answer.nonce) if answer.nonce is not None else None,
        certificates=tuple("sha256:" + hash_bytes(c).sha256 for c in facts.certificates) if facts else (),
        requested=requested,
        answered=format_time(answer.answered),
        round_trip_seconds=_seconds(max(round_trip, 0.0)),
        clock_offset_seconds=offset,
        clock_flagged=flagged,
        problem=None if facts is not None else "; ".join(answer.check.problems) if answer.check else "not parsed",
    )
    return stamp.draft(case.actor, artefacts=[artefact])


def _plain(name: str) -> bool:
    return all(c.isalnum() or c in "._-" for c in name) and len(name) <= 80


# -- what the bundle carries ----------------------------------------------------------------------------------
def _obtained(entries: Iterable[LedgerEntry]) -> list[tuple[LedgerEntry, TimestampObtained]]:
    found = []
    for entry in entries:
        if entry.action == TimestampObtained.ACTION:
            parsed = parse(entry)
            if isinstance(parsed, TimestampObtained) and len(entry.artefacts) == 1:
                found.append((entry, parsed))
    return found


def _earliest_per_tsa(
    stamps: Sequence[tuple[LedgerEntry, TimestampObtained]], seqs: Iterable[int], size: int
) -> set[int]:
    """The checkpoints (seqs) holding, for some seq in ``seqs`` and some TSA, that TSA's earliest genTime among
    its parsed tokens over trees that cover the seq and that the bundle's tree (``size``) holds."""
    by_tsa: dict[str, list[TimestampObtained]] = {}
    for _, stamp in stamps:
        if stamp.parsed and stamp.gen_time and stamp.checkpoint.tree_size <= size:
            by_tsa.setdefault(stamp.tsa.name, []).append(stamp)
    wanted = list(seqs)
    chosen: set[int] = set()
    for tokens in by_tsa.values():
        tokens.sort(key=lambda s: s.checkpoint.tree_size)
        best: list[TimestampObtained] = []  # best[i]: earliest genTime among tokens[i:]
        for stamp in reversed(tokens):
            best.append(stamp if not best or str(stamp.gen_time) < str(best[-1].gen_time) else best[-1])
        best.reverse()
        sizes = [s.checkpoint.tree_size for s in tokens]
        for seq in wanted:
            at = bisect_right(sizes, seq)
            if at < len(best):
                chosen.add(best[at].checkpoint.seq)
    return chosen


def certificates_of(data: bytes) -> bytes | None:
    """The certificates an answer carries, PEM; None when the strict parser refuses the answer."""
    try:
        return token.certificates_pem(data) or None
    except (ValidationError, ValueError):
        return None


def bundle_time(
    case: OpenCase, checkpoint_entry: LedgerEntry, exported: Iterable[int], *, asked: bool
) -> tuple[BundleTime, list[int]]:
    """What the bundle signed by ``checkpoint_entry`` carries of independent time for the ledger lines at
    ``exported``, and the seqs of the ledger entries it adds to its excerpt: the ``checkpoint.signed`` entries
    of the carried earlier checkpoints and the ``timestamp.obtained`` entries of their tokens (except one whose
    TSA URL carries what may be a credential: its token is carried, its line is not)."""
    size = checkpoint_entry.seq
    entries = list(case.ledger.entries())
    stamps = [(e, s) for e, s in _obtained(entries) if s.checkpoint.tree_size <= size]
    chosen = _earliest_per_tsa(stamps, exported, size) | {size}
    notes = {
        e.seq: str(e.details.get("note", "")) for e in entries if e.action == CheckpointSigned.ACTION and e.seq <= size
    }
    tree = case.ledger.tree()
    carried: list[CarriedCheckpoint] = []
    extra: list[int] = []
    for seq in sorted(chosen):
        tokens = [
            CarriedToken(
                stamp,
                entry.seq,
                case.store.path_for(entry.artefacts[0].digests.blake3),
                entry.artefacts[0].digests,
                certificates_of(case.store.path_for(entry.artefacts[0].digests.blake3).read_bytes()),
                entry.seq < size and not carries_credentials(stamp.tsa.url),
            )
            for entry, stamp in stamps
            if stamp.checkpoint.seq == seq
        ]
        if not tokens or seq not in notes:
            continue
        if seq < size:
            extra.append(seq)
        extra += [t.entry_seq for t in tokens if t.in_excerpt]
        root = next(s.checkpoint.root for _, s in stamps if s.checkpoint.seq == seq)
        consistency = tuple(tree.consistency_proof(seq, size)) if seq < size else ()
        carried.append(CarriedCheckpoint(seq, root, notes[seq], consistency, tuple(tokens), seq < size))
    unanswered = tuple(
        Unanswered(p.tsa.name, p.reason)
        for p in (parse(e) for e in entries if e.action == TimestampPending.ACTION and e.seq > size)
        if isinstance(p, TimestampPending) and p.checkpoint.seq == size
    )
    return BundleTime(tuple(carried), unanswered, asked), sorted(set(extra))
