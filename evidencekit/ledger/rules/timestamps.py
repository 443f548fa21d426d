"""The independent-time rules: every ``timestamp.obtained`` token is held to the checkpoint it names, and
every entry a token covers is held to the token's time.

- ``timestamp.token``: the token's bytes are there and are the ones recorded (the entry's artefact digest);
  they parse strictly; their message imprint is the hash of the named checkpoint's exact note bytes (a
  token over another checkpoint's note is named with both seqs); the signature verifies; the signer has the
  critical timeStamping EKU; its certificate was valid at genTime; the entry says what the token says. A
  token the strict parser refuses is kept and reported "stored, not parsed strictly" (a warning); it is
  never counted. A chain reaching one of the roots given (``tsa_roots``) establishes the TSA; without one
  an intact token is "token intact, TSA not established", as for keys.
- ``timestamp.time``: an entry recorded later than the genTime of an intact token whose tree covers it, by
  more than the token's accuracy plus ``LATE_SLACK``, is a problem (its clock was wrong or it was forged
  after the token), named with its seq; later than the accuracy but within that, a warning giving the size.
  Within the token's stated accuracy nothing is said: the TSA itself vouches for no finer time (an openssl
  TSA states whole seconds and truncates genTime, so entries made in the same second would all be "late").

Pure: the token bytes come from ``tokens`` (the caller's store or bundle), the checking from
``timestamps.token``.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar

from cryptography import x509

from evidencekit.hashing import hash_bytes
from evidencekit.ledger.entries import CheckpointSigned, TimestampObtained, parse
from evidencekit.ledger.rules.base import UNPARSED, AuditResult, TokenVerdict
from evidencekit.models import LedgerEntry, Problem
from evidencekit.timefmt import format_time, parse_time
from evidencekit.timestamps.token import TokenCheck, check_token

# How much later than a covering token's genTime (beyond the token's stated accuracy) an entry may have been
# recorded before it is a problem: the settled allowance for clocks and the time a command takes.
LATE_SLACK = timedelta(seconds=2)
Tokens = Callable[[LedgerEntry], bytes | None]
S = TypeVar("S")


# The problem code of each kind of problem ``check_token`` reports (``TokenCheck.kinds``).
KIND_CODES = {
    "imprint": "timestamp.imprint",
    "nonce": "timestamp.imprint",
    "status": "timestamp.signature",
    "signature": "timestamp.signature",
    "eku": "timestamp.eku",
    "certificate": "timestamp.certificate",
}


def _code(message: str) -> str:
    """The problem code of a reason ``check_token`` gives without its kind, by what it speaks of."""
    text = message.lower()
    if "imprint" in text:
        return "timestamp.imprint"
    if "extended key usage" in text or "eku" in text:
        return "timestamp.eku"
    if "not valid at" in text or "expired" in text:
        return "timestamp.certificate"
    if "signature" in text or "signed" in text or "signer" in text:
        return "timestamp.signature"
    if "certificate" in text:
        return "timestamp.certificate"
    return "timestamp.signature"


def accuracy(stamp: TimestampObtained) -> timedelta:
    """The accuracy a token's entry records (none, or unreadable: zero)."""
    try:
        return timedelta(seconds=float(Decimal(stamp.accuracy_seconds))) if stamp.accuracy_seconds else timedelta()
    except (InvalidOperation, ValueError):
        return timedelta()


def audit_timestamps(result: AuditResult, *, tokens: Tokens | None, tsa_roots: Sequence[x509.Certificate] = ()) -> None:
    """Apply both rules to ``result.entries`` (the audit's entries); verdicts go to ``result.timestamps``."""
    stamps: list[tuple[LedgerEntry, TimestampObtained]] = []
    for entry in result.entries:
        if entry.action == TimestampObtained.ACTION:
            parsed = parse(entry)
            if isinstance(parsed, TimestampObtained):  # a damaged one: entry.details says so
                stamps.append((entry, parsed))
    if not stamps:
        return
    if tokens is None:
        result.skip("timestamp.token", "no token bytes were given to check the timestamp.obtained entries against")
        result.skip("timestamp.time", "no token was checked, so none is counted to hold the entries' times to")
        return
    notes = {e.seq: str(e.details.get("note", "")) for e in result.entries if e.action == CheckpointSigned.ACTION}
    by_digest = {}
    for seq, text in notes.items():
        data = text.encode("utf-8")
        by_digest[hashlib.sha256(data).digest()] = seq
        by_digest[hashlib.sha512(data).digest()] = seq
    absent: list[int] = []
    for entry, stamp in stamps:
        verdict = _judge(entry, stamp, tokens(entry), notes, by_digest, tsa_roots, result, absent)
        if verdict is not None:
            result.timestamps.append(verdict)
    if absent:
        seqs = ", ".join(str(s) for s in absent)
        result.skip(
            "timestamp.token",
            f"the checkpoint.signed entries the timestamps at seq {seqs} are over are not among the entries given, "
            "so their tokens cannot be held to a note",
        )
    audit_times(result, result.timestamps)


def audit_times(result: AuditResult, verdicts: Iterable[TokenVerdict]) -> None:
    """The time rule alone: ``result.entries`` held to the intact tokens among ``verdicts`` (already judged, by
    ``audit_timestamps`` here or by a caller that judged them once for other ends)."""
    stamps = {e.seq: parse(e) for e in result.entries if e.action == TimestampObtained.ACTION}
    covering: list[Covering[int]] = []
    for verdict in verdicts:
        stamp = stamps.get(verdict.seq)
        if verdict.intact and isinstance(stamp, TimestampObtained) and stamp.gen_time:
            covering.append(
                Covering(stamp.checkpoint.tree_size, parse_time(stamp.gen_time), accuracy(stamp), verdict.seq)
            )
    _audit_times(result, covering)


def _judge(
    entry: LedgerEntry,
    stamp: TimestampObtained,
    data: bytes | None,
    notes: dict[int, str],
    by_digest: dict[bytes, int],
    roots: Sequence[x509.Certificate],
    result: AuditResult,
    absent: list[int],
) -> TokenVerdict | None:
    tsa, cp_seq = stamp.tsa.name, stamp.checkpoint.seq

    def verdict(problems: Sequence[str], *, parsed: bool, established: bool = False) -> TokenVerdict:
        intact = parsed and not problems
        return TokenVerdict(entry.seq, tsa, cp_seq, stamp.gen_time, parsed, intact, intact and established,
                            tuple(problems), bool(roots))  # fmt: skip

    if data is None:
        message = f"the token of {tsa} for the checkpoint at seq {cp_seq} is missing"
        result.problems.append(Problem("timestamp.missing", message, seq=entry.seq))
        return verdict([message], parsed=False)
    recorded = entry.artefacts[0].digests if len(entry.artefacts) == 1 else None
    digests = hash_bytes(data)
    if recorded is None or (digests.blake3, digests.sha256) != (recorded.blake3, recorded.sha256):
        message = f"the token of {tsa} for the checkpoint at seq {cp_seq} is not the one recorded (altered)"
        result.problems.append(Problem("timestamp.missing", message, seq=entry.seq))
        return verdict([message], parsed=False)
    note = notes.get(cp_seq)
    if note is None:
        if result.complete:
            message = f"the checkpoint at seq {cp_seq} this timestamp names is not a signed checkpoint of the ledger"
            result.problems.append(Problem("timestamp.imprint", message, seq=entry.seq))
            return verdict([message], parsed=False)
        absent.append(entry.seq)
        return None
    check: TokenCheck = check_token(data, note.encode("utf-8"), roots)
    if not check.parsed:
        why = "; ".join(check.problems)
        result.warnings.append(
            Problem("timestamp.unparsed", f"token of {tsa}: {UNPARSED}" + (f" ({why})" if why else ""), seq=entry.seq)
        )
        return verdict([], parsed=False)
    problems: list[str] = []
    facts = check.facts
    swapped = False
    algorithm = facts.hash_algorithm if facts is not None else None
    if (
        facts is not None
        and algorithm in ("sha256", "sha512")
        and facts.imprint != hashlib.new(str(algorithm), note.encode("utf-8")).digest()
    ):
        swapped = True
        other = by_digest.get(facts.imprint)
        reason = (
            f"the token is over the note of the checkpoint at seq {other}, not of the one at seq {cp_seq}"
            if other is not None
            else f"the token's message imprint is not the hash of the note of the checkpoint at seq {cp_seq}"
        )
        problems.append(reason)
        result.problems.append(Problem("timestamp.imprint", f"token of {tsa}: {reason}", seq=entry.seq))
    kinds = check.kinds if len(check.kinds) == len(check.problems) else ("",) * len(check.problems)
    for reason, kind in zip(check.problems, kinds, strict=True):
        code = KIND_CODES.get(kind) or _code(reason)
        if swapped and code == "timestamp.imprint":
            continue  # said above, with the checkpoint it is over
        problems.append(reason)
        result.problems.append(Problem(code, f"token of {tsa}: {reason}", seq=entry.seq))
    if facts is not None and not problems:
        said = (format_time(facts.gen_time), facts.serial_number)
        if said != (stamp.gen_time, stamp.serial_number):
            reason = (
                f"the entry says genTime {stamp.gen_time}, serial {stamp.serial_number}; the token says "
                f"{said[0]}, serial {said[1]}"
            )
            problems.append(reason)
            result.problems.append(Problem("timestamp.mismatch", f"token of {tsa}: {reason}", seq=entry.seq))
    return verdict(problems, parsed=True, established=check.established)


@dataclass(frozen=True)
class Covering(Generic[S]):
    """An intact token as the time rule takes it: it covers the entries before ``tree_size``, which must have
    been recorded no later than ``gen_time`` + ``accuracy``; ``source`` is what the caller names it by."""

    tree_size: int
    gen_time: datetime
    accuracy: timedelta
    source: S


@dataclass(frozen=True)
class Late(Generic[S]):
    """An entry recorded later than ``cover`` allows: a problem beyond its accuracy plus ``LATE_SLACK``
    (``backdated``), else a warning."""

    entry: LedgerEntry
    late: timedelta
    cover: Covering[S]

    @property
    def backdated(self) -> bool:
        return self.late > self.cover.accuracy + LATE_SLACK


def late_entries(entries: Iterable[LedgerEntry], covering: Sequence[Covering[S]]) -> list[Late[S]]:
    """Each entry held to the covering token with the earliest allowed time (genTime + accuracy) among those
    whose tree holds it (a token over tree size N covers seq < N); those recorded later than it allows. Within
    a token's stated accuracy nothing is said: the TSA vouches for no finer time (an openssl TSA states whole
    seconds and truncates genTime). The ledger's rule and the bundle check of tokens outside an excerpt share it."""
    ordered = sorted(covering, key=lambda c: c.tree_size)
    # From the largest tree down: the token with the earliest allowed time among those covering each size.
    suffix: list[Covering[S]] = []
    best: Covering[S] | None = None
    for cover in reversed(ordered):
        if best is None or cover.gen_time + cover.accuracy < best.gen_time + best.accuracy:
            best = cover
        suffix.append(best)
    suffix.reverse()
    sizes = [c.tree_size for c in ordered]
    found: list[Late[S]] = []
    for entry in entries:
        at = bisect_right(sizes, entry.seq)
        if at == len(suffix):
            continue
        cover = suffix[at]
        try:
            late = parse_time(entry.time) - cover.gen_time
        except ValueError:
            continue  # entry.form reports it
        if late > cover.accuracy:
            found.append(Late(entry, late, cover))
    return found


def _audit_times(result: AuditResult, covering: list[Covering[int]]) -> None:
    """Each entry against the earliest intact token covering it (``late_entries``); ``source``: the token's seq."""
    for found in late_entries(sorted(result.entries, key=lambda e: e.seq), covering):
        size = f"{found.late.total_seconds():.3f} s"
        gen_time, token_seq = format_time(found.cover.gen_time), found.cover.source
        if found.backdated:
            result.problems.append(
                Problem(
                    "timestamp.backdated",
                    f"recorded at {found.entry.time}, {size} after the genTime {gen_time} of the token at seq "
                    f"{token_seq} that covers it (more than its accuracy plus {LATE_SLACK.seconds} s): its clock was "
                    "wrong or the entry was written after the token",
                    seq=found.entry.seq,
                )
            )
        else:
            result.warnings.append(
                Problem(
                    "timestamp.late",
                    f"recorded {size} after the genTime {gen_time} of the token at seq {token_seq} "
                    "that covers it (beyond its stated accuracy, within it plus 2 s: the clocks differ)",
                    seq=found.entry.seq,
                )
            )
