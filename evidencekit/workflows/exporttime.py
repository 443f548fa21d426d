"""Independent time for an export: stamp the export's fresh checkpoint, and choose the tokens the bundle carries.

``stamp_export_checkpoint`` has the export's fresh checkpoint stamped by every configured TSA before the bag is
built (the case's ``stamping.Stamper`` asks them all at once, bounded by the TSA timeout, not at all with
``EVIDENCEKIT_OFFLINE=1`` or ``--no-timestamp``) and recorded after that checkpoint, as every sealing command
does: ``timestamp.obtained`` with the DER answer in the object store, or ``timestamp.pending`` with the reason.
A TSA that fails never fails the export.

``bundle_time`` chooses what the bundle carries: every token over the export's checkpoint, and for each
exported ledger line and each TSA the token with the earliest genTime whose tree covers it, with every token
over the checkpoints so chosen. So when no TSA answers at export, the bundle still carries the newest stamped
checkpoints covering the exported entries (and the earliest), each with a consistency proof to the export's
checkpoint, and every exported entry a token covers still shows "existed no later than".
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from evidencekit.bundle.timestamps import (
    BundleTime,
    CarriedCheckpoint,
    CarriedToken,
    Unanswered,
    carries_credentials,
)
from evidencekit.errors import ValidationError
from evidencekit.ledger.entries import (
    CheckpointSigned,
    TimestampObtained,
    TimestampPending,
    parse,
)
from evidencekit.models import LedgerEntry
from evidencekit.timestamps import token
from evidencekit.workflows.opencase import OpenCase


def stamp_export_checkpoint(case: OpenCase) -> bool:
    """Wait for the case's stamper (``stamping.Stamper``: it was handed the export's fresh checkpoint when that
    was published) and record what every TSA answered for it, or why it stays pending ("timeout" past the
    stamper's bound, "offline" when asking is switched off). Returns whether the TSAs were asked."""
    stamper = case.stamper
    if stamper is None or not stamper.authorities:
        return False
    stamper.settle(case)
    return stamper.asking


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


def _first_unparsed_per_tsa(
    stamps: Sequence[tuple[LedgerEntry, TimestampObtained]], seqs: Iterable[int], size: int
) -> set[int]:
    """The checkpoints (seqs) of answers kept but not parsed strictly ("stored, not parsed strictly"): for
    each seq in ``seqs`` and each TSA, its first such answer over a tree covering the seq. They are never
    counted, but carried, so the bundle shows every answer the case kept about its entries."""
    by_tsa: dict[str, list[int]] = {}
    for _, stamp in stamps:
        if not stamp.parsed and stamp.checkpoint.tree_size <= size:
            by_tsa.setdefault(stamp.tsa.name, []).append(stamp.checkpoint.tree_size)
    wanted = list(seqs)
    chosen: set[int] = set()
    for sizes in by_tsa.values():
        sizes.sort()
        for seq in wanted:
            at = bisect_right(sizes, seq)
            if at < len(sizes):
                chosen.add(sizes[at])  # a checkpoint's seq is its tree size
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
    exported = list(exported)
    chosen = _earliest_per_tsa(stamps, exported, size) | _first_unparsed_per_tsa(stamps, exported, size) | {size}
    # A timestamp.obtained line the excerpt holds (``--full-ledger``) comes with its token: the verifier holds
    # every such line to its token's bytes.
    lines = set(exported)
    chosen |= {stamp.checkpoint.seq for entry, stamp in stamps if entry.seq in lines}
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
