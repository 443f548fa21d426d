"""The sealing rules: which keys may sign a case's checkpoints, and which entries may stand unsigned after
the newest one.

A key counts in a case only if it was brought in by a recorded act: the case's first key by
``key.registered`` (no key stood before it), every later one by ``key.rotated`` (the investigator's old key
signs the new one, and signs nothing afterwards) or ``investigator.added`` (a registered investigator signs
another investigator's key). In a case with signed checkpoints every recording command seals its own
entries, so after the newest checkpoint only the entries listed in ``MAY_STAND_UNSIGNED`` may stand, and
those only as ``unsigned_problems`` allows: each names as its actor a key the case brought in (the
investigator whose run wrote it), none is set back in time more than ``UNSIGNED_TIME_SLACK``, and a
``capture.started`` is claimed by the lock file of the run that wrote it (``judge_claims``: the lock files are
the case folder's, which the rulebook does not read; a bundle carries none). The next recording command signs
over them, so they must first pass every rule an entry can be held to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from evidencekit.keys import PublicKey
from evidencekit.ledger.entries import KEY_ACTIONS, TIMESTAMP_ACTIONS, KeyIntroduced, KeyRegistered, KeyRotated, parse
from evidencekit.ledger.rules.base import AuditResult
from evidencekit.models import LedgerEntry, Problem
from evidencekit.timefmt import parse_time

# Entries a sealing command writes after its own checkpoint, about that checkpoint: what the Time-Stamping
# Authorities answered for it (``ledger.entries.stamps``). The next checkpoint covers them.
WRITTEN_AFTER_SEAL: frozenset[str] = frozenset(TIMESTAMP_ACTIONS)
# Entries written when work begins and sealed with its end: a capture in progress, or one whose process died
# (the next command records it abandoned, and seals that).
OPEN_UNTIL_SEALED: frozenset[str] = frozenset({"capture.started"})
# Everything that may stand unsigned after the newest checkpoint of a case with signed checkpoints.
MAY_STAND_UNSIGNED: frozenset[str] = WRITTEN_AFTER_SEAL | OPEN_UNTIL_SEALED
# How far an unsigned entry's time may fall behind the entry before it. A clock set back is otherwise a warning
# (``time.regressed``), but an entry no signature vouches for, dated well before what was already recorded, is
# what a back-dated forgery looks like; an hour is far beyond any clock step seen on an investigator's machine.
UNSIGNED_TIME_SLACK = timedelta(hours=1)


def unsealed(tail: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Of the entries after the newest checkpoint, those no recording command may leave unsigned."""
    return [entry for entry in tail if entry.action not in MAY_STAND_UNSIGNED]


def unsealed_message(entries: Sequence[LedgerEntry]) -> str:
    seqs = ", ".join(str(e.seq) for e in entries[:10]) + (", ..." if len(entries) > 10 else "")
    return (
        f"unsigned {'entry' if len(entries) == 1 else 'entries'} after the newest checkpoint: seq {seqs} "
        f"({', '.join(sorted({e.action for e in entries}))}); every recording command seals its own entries, "
        "so these were not written by one"
    )


@dataclass
class KeyStanding:
    """How a key came into the case: where it was recorded, whether it was brought in as the rules require
    (``introduced``), by which key, and where a rotation retired it."""

    key: PublicKey
    recorded: int
    introduced: bool
    introduced_by: str | None = None
    retired: int | None = None

    def refusal(self, seq: int | None) -> str | None:
        """Why this key may not sign a checkpoint at ``seq`` (None: after everything recorded), or None."""
        if not self.introduced:
            return (
                f"key {self.key.key_id} was recorded at seq {self.recorded} without being brought in by a key "
                "already registered (`evidencekit keys rotate` or `keys add-investigator`)"
            )
        if seq is not None and self.recorded > seq:
            return f"key {self.key.key_id} was recorded only at seq {self.recorded}, after this checkpoint"
        if self.retired is not None and (seq is None or self.retired < seq):
            return f"key {self.key.key_id} was rotated out at seq {self.retired}"
        return None


def key_history(entries: Iterable[LedgerEntry], origin: str | None) -> tuple[dict[str, KeyStanding], list[Problem]]:
    """Every key the entries record, with its standing, and the problems of the acts that recorded them.

    ``origin`` (the case's log) is part of what an introducing key signs; None: introductions cannot be
    checked, and no key after the first counts.
    """
    standings: dict[str, KeyStanding] = {}
    findings: list[Problem] = []
    for entry in entries:
        if entry.action not in KEY_ACTIONS:
            continue
        parsed = parse(entry)
        if isinstance(parsed, KeyRegistered):
            known = standings.get(parsed.public_key.key_id)
            if known is not None and known.key == parsed.public_key:
                continue
            first = not standings
            standings[parsed.public_key.key_id] = KeyStanding(parsed.public_key, entry.seq, first)
            if not first:
                findings.append(
                    Problem(
                        "key.unintroduced",
                        f"key {parsed.public_key.key_id} is registered although the case already has a key, "
                        "and no registered key brought it in; its signatures do not count",
                        seq=entry.seq,
                    )
                )
        elif isinstance(parsed, KeyIntroduced):
            introducer = standings.get(parsed.introduced_by)
            fault = _introduction_fault(parsed, introducer, entry.seq, origin)
            if fault is not None:
                findings.append(Problem("key.bad_introduction", fault, seq=entry.seq))
            standings[parsed.public_key.key_id] = KeyStanding(
                parsed.public_key, entry.seq, fault is None, parsed.introduced_by
            )
            if fault is None and introducer is not None and isinstance(parsed, KeyRotated):
                introducer.retired = entry.seq
    return standings, findings


def _introduction_fault(act: KeyIntroduced, introducer: KeyStanding | None, seq: int, origin: str | None) -> str | None:
    if introducer is None:
        return f"{act.ACTION} names key {act.introduced_by}, which the case had not registered before it"
    refusal = introducer.refusal(seq)
    if refusal is not None:
        return f"{act.ACTION} is signed by a key that may not sign here: {refusal}"
    if origin is None:
        return f"{act.ACTION} cannot be checked: no case origin is known"
    if not act.vouched_by(introducer.key, origin):
        return f"the signature of key {act.introduced_by} over the new key {act.public_key.key_id} does not verify"
    return None


def audit_seals(result: AuditResult, *, origin: str | None) -> None:
    """The key and sealing rules over the entries and checkpoints already audited into ``result``."""
    standings, findings = key_history(result.entries, origin)
    result.standings = standings
    for finding in findings:
        (result.warnings if finding.code == "key.unintroduced" else result.problems).append(finding)
    for seq, signer in sorted(result.signed_by.items()):
        standing = standings.get(signer)
        refusal = standing.refusal(seq) if standing is not None else f"key {signer} was never recorded"
        if refusal is not None:
            result.problems.append(
                Problem("checkpoint.key", f"checkpoint signed by a key that may not sign: {refusal}", seq=seq)
            )
    for where, signer in result.held_signed_by:
        standing = standings.get(signer)
        refusal = standing.refusal(None) if standing is not None else f"key {signer} was never recorded"
        if refusal is not None:
            result.problems.append(
                Problem("checkpoint.key", f"checkpoint signed by a key that may not sign: {refusal}", path=where)
            )
    if not result.complete:
        result.skip(
            "entry.sealed",
            "the excerpt leaves out entries, the checkpoints recorded in the ledger among them: which of its "
            "entries the newest checkpoint left unsigned cannot be told (each line's inclusion proof binds it)",
        )
        return
    newest = max((e.seq for e in result.entries if e.action == "checkpoint.signed"), default=None)
    if newest is None:
        return  # a case without a key: its entries are held by the hash chain alone (verify warns)
    at = next(i for i, e in enumerate(result.entries) if e.seq == newest)
    found, result.open_starts = unsigned_problems(result.entries[at:], standings)
    result.problems += found


def unsigned_problems(
    tail: Sequence[LedgerEntry], standings: Mapping[str, KeyStanding], own: Iterable[int] = ()
) -> tuple[list[Problem], list[LedgerEntry]]:
    """The entries after the newest checkpoint held to the sealing rules: the problems, and the
    ``capture.started`` entries that may stand only if a run claims them (for ``judge_claims``).

    ``tail``: the newest ``checkpoint.signed`` entry and every entry after it, in order; ``own``: the seqs of
    the entries the calling command wrote and is about to seal itself.
    """
    newest, mine = tail[0].seq, set(own)
    problems: list[Problem] = []
    starts: list[LedgerEntry] = []
    for before, entry in pairwise(tail):
        if entry.seq in mine:
            continue
        if entry.action not in MAY_STAND_UNSIGNED:
            problems.append(
                Problem(
                    "entry.unsealed",
                    f"unsigned {entry.action} entry after the newest checkpoint (seq {newest}): every recording "
                    "command seals its own entries, so no recording command of this case wrote it",
                    seq=entry.seq,
                )
            )
            continue
        fault = _actor_fault(entry, standings)
        if fault is not None:
            problems.append(Problem("entry.actor", f"unsigned {entry.action} entry {fault}", seq=entry.seq))
        back = _set_back(entry, before)
        if back is not None:
            problems.append(
                Problem(
                    "entry.backdated",
                    f"unsigned {entry.action} entry dated {back} before seq {before.seq}, more than the "
                    f"{UNSIGNED_TIME_SLACK} a clock set back may explain",
                    seq=entry.seq,
                )
            )
        if entry.action in OPEN_UNTIL_SEALED:
            starts.append(entry)
    return problems, starts


def _actor_fault(entry: LedgerEntry, standings: Mapping[str, KeyStanding]) -> str | None:
    key_id = entry.actor.key_id
    if key_id is None:
        return "names no investigator key, though every recording of a case with signed checkpoints has one"
    standing = standings.get(key_id)
    if standing is None:
        return f"names key {key_id}, which the case never brought in"
    refusal = standing.refusal(entry.seq)
    return None if refusal is None else f"names a key that may not record here: {refusal}"


def _set_back(entry: LedgerEntry, before: LedgerEntry) -> timedelta | None:
    try:
        back = parse_time(before.time) - parse_time(entry.time)
    except ValueError:
        return None  # a time that does not read is the entry form's problem
    return back if back > UNSIGNED_TIME_SLACK else None


def judge_claims(starts: Sequence[LedgerEntry], claimed: Callable[[LedgerEntry], bool]) -> list[Problem]:
    """The unsigned ``capture.started`` entries (``AuditResult.open_starts``) no run's lock file claims.

    A capture writes its claim (the entry's seq and hash) into its run's lock file before the entry commits,
    and the lock file stays while the run lives or, once it is gone, until the next recording command has
    recorded the capture abandoned. An unsigned start no lock file claims was written by no capture of this
    case (or its lock file was removed, e.g. a copy of the case made without its work/ folder).
    """
    return [
        Problem(
            "entry.unclaimed",
            f"unsigned capture.started of {entry.subject} stands after the newest checkpoint, but no run's lock "
            "file (work/locks) claims it: no capture of this case wrote it, or its lock file was removed (a copy "
            "made without the work/ folder: verify the case where it was recorded)",
            seq=entry.seq,
        )
        for entry in starts
        if not claimed(entry)
    ]


def trusted_keys(standings: Mapping[str, KeyStanding], pinned: Iterable[str]) -> set[str]:
    """The keys given as trusted and every key they brought in, and those brought in by those, and so on."""
    trusted = set(pinned)
    grew = True
    while grew:
        grew = False
        for key_id, standing in standings.items():
            if key_id not in trusted and standing.introduced and standing.introduced_by in trusted:
                trusted.add(key_id)
                grew = True
    return trusted
