"""Independent time for a case's signed checkpoints: each sealing command's newest checkpoint is sent to every
configured Time-Stamping Authority (TSA), off the command's critical path, and what came back is recorded.

A ``Stamper`` belongs to one recording open of a case (``opencase.open_case`` makes it). It asks in a
background thread, so a batch capture never waits on the TSAs per page: while one stamp is in flight (and
for ``STAMP_INTERVAL`` after it began), newer checkpoints coalesce and only the newest is asked for (the
settled rule: of several checkpoints only the newest needs a stamp, it covers the earlier ones through
consistency); the command's end sends the newest at once. The answers are recorded on the thread
that owns the case's ledger connection, at the next sealing or at the end of the command, each in its own
transaction after a checkpoint and unsigned (``rules.seals.WRITTEN_AFTER_SEAL``): the next checkpoint covers
them. Nothing already recorded is ever changed; what is still owed is read from the ledger:

- ``timestamp.obtained``: a TSA's answer, its raw DER bytes stored as the entry's one artefact, with the clock
  evidence (the investigator's clock at request and at answer beside the TSA's genTime).
- ``timestamp.pending``: no usable answer for that checkpoint from that TSA, and why ("offline" when asking
  was switched off, "timeout" when the command ended before the answer came).
- ``timestamp.superseded``: older pending checkpoints of the TSAs asked for a newer one.

At the start of every later recording open the newest checkpoint is asked for again from each TSA that has
a pending entry (in the background too); ``evidencekit timestamp`` does the same in the foreground.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from evidencekit.errors import ObjectMismatchError, UsageError
from evidencekit.hashing import Digests
from evidencekit.ledger.backend import LedgerBackend, LedgerTransaction
from evidencekit.ledger.entries import (
    TIMESTAMP_ACTIONS,
    CheckpointSigned,
    TimestampObtained,
    TimestampPending,
    TimestampSuperseded,
)
from evidencekit.ledger.entries.stamps import StampedCheckpoint, TsaNamed
from evidencekit.ledger.rules import AuditResult, Tokens, audit_timestamps
from evidencekit.ledger.timecover import Cover, covers, recording_seq
from evidencekit.models import Actor, Artefact, LedgerEntry
from evidencekit.store import ObjectStoreBackend
from evidencekit.timefmt import format_time
from evidencekit.timestamps.client import DEFAULT_TIMEOUT, Answer, ask_all
from evidencekit.timestamps.config import Authority, load_authorities, recorded_url

OFFLINE_ENV = "EVIDENCEKIT_OFFLINE"
TIMEOUT_ENV = "EVIDENCEKIT_TSA_TIMEOUT"
OFFLINE = "offline"
TIMEOUT = "timeout"
STAMP_NAME = "timestamp.tsr"  # the one artefact of a timestamp.obtained entry
STAMP_ROLE = "timestamp"
STAMP_MEDIA_TYPE = "application/timestamp-reply"
# When a token states no accuracy, the clock offset is flagged beyond this (plus the round trip): one second,
# the coarsest accuracy TSAs commonly state (RFC 3161 leaves it to the TSA's policy).
ASSUMED_ACCURACY = Decimal(1)
# Within one run, a new stamp starts at most this often (seconds): the newest checkpoint sealed meanwhile waits,
# and the ones before it need no stamp of their own. A batch capture seals after every page; a stamp for each
# would cost a ledger transaction and a token in the store per page (and a local TSA its CPU) for nothing that
# the last stamp does not also prove. The end of the command (``settle``) sends the newest at once.
STAMP_INTERVAL = 5.0
NO_AUTHORITY_WARNING = (
    "warning: no Time-Stamping Authority configured: this case has no independent time; "
    "add one with `evidencekit tsa add URL`"
)

Ask = Callable[..., list[Answer]]  # ``timestamps.client.ask_all``'s signature
Clock = Callable[[], datetime]


class StampedCase(Protocol):
    """What stamping reads and writes of an open case (``opencase.OpenCase``)."""

    ledger: LedgerBackend
    store: ObjectStoreBackend
    actor: Actor


def asking_enabled(environ: Mapping[str, str], timestamping: bool = True) -> bool:
    """Whether TSAs are asked at all: not with ``--no-timestamp`` nor with ``EVIDENCEKIT_OFFLINE=1``."""
    return timestamping and environ.get(OFFLINE_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def tsa_timeout(environ: Mapping[str, str]) -> float:
    """The bound on each TSA's answer, seconds: ``EVIDENCEKIT_TSA_TIMEOUT``, else 10."""
    text = environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise UsageError(f"{TIMEOUT_ENV} must be a number of seconds above 0 and at most 600, not {text!r}")
    return value


def no_authority_warning(environ: Mapping[str, str]) -> str | None:
    """The one line a sealing command prints while no TSA is configured (None when one is)."""
    return None if load_authorities(environ) else NO_AUTHORITY_WARNING


def store_tokens(store: ObjectStoreBackend) -> Tokens:
    """The raw answer of a timestamp.obtained entry, from the store (None when it is not there); the rulebook
    holds the bytes to the entry's digests."""

    def token(entry: LedgerEntry) -> bytes | None:
        if len(entry.artefacts) != 1:
            return None
        try:
            with store.open(entry.artefacts[0].digests) as handle:
                return handle.read()
        except (ObjectMismatchError, OSError):
            return None

    return token


# -- what the ledger says is owed ---------------------------------------------------------------------------
@dataclass
class Owed:
    """What the timestamp entries say, per TSA name: checkpoints pending and not yet resolved (by a token for
    that checkpoint or a superseding entry), and the newest checkpoint a token was obtained for."""

    pending: dict[str, dict[int, LedgerEntry]] = field(default_factory=dict)
    stamped: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, entries: Sequence[LedgerEntry]) -> Owed:
        owed = cls()
        for entry in sorted(entries, key=lambda e: e.seq):
            d = entry.details
            try:
                if entry.action == TimestampPending.ACTION:
                    owed.pending.setdefault(str(d["tsa"]["name"]), {})[int(d["checkpoint_seq"])] = entry
                elif entry.action == TimestampObtained.ACTION:
                    name, seq = str(d["tsa"]["name"]), int(d["checkpoint_seq"])
                    owed.pending.get(name, {}).pop(seq, None)
                    owed.stamped[name] = max(owed.stamped.get(name, -1), seq)
                elif entry.action == TimestampSuperseded.ACTION:
                    for name in d["tsas"]:
                        owed.pending.get(str(name), {}).pop(int(d["checkpoint_seq"]), None)
            except (KeyError, TypeError, ValueError):  # a damaged entry: the rulebook reports it
                continue
        return owed

    def outstanding(self, name: str) -> dict[int, LedgerEntry]:
        return self.pending.get(name, {})


def owed_now(ledger: LedgerBackend) -> Owed:
    return Owed.read(ledger.entries_with_action(*TIMESTAMP_ACTIONS))


def newest_checkpoint(ledger: LedgerBackend) -> LedgerEntry | None:
    signed = ledger.entries_with_action(CheckpointSigned.ACTION)
    return max(signed, key=lambda e: e.seq) if signed else None


# -- jobs and their results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """A checkpoint to stamp and the TSAs to ask for it."""

    checkpoint: LedgerEntry
    authorities: tuple[Authority, ...]

    @property
    def message(self) -> bytes:
        """The exact bytes stamped: the checkpoint's signed note, UTF-8."""
        return str(self.checkpoint.details["note"]).encode("utf-8")

    def merged(self, newer: Job) -> Job:
        """``newer`` asked of the TSAs of both (coalescing: only the newest checkpoint is stamped)."""
        names = {a.name for a in newer.authorities}
        return Job(newer.checkpoint, newer.authorities + tuple(a for a in self.authorities if a.name not in names))


@dataclass(frozen=True)
class Outcome:
    """What one TSA gave for a job, as recorded: ``entry`` is None when nothing new needed recording (the
    checkpoint already stands pending for that TSA and asking again gave nothing)."""

    tsa: str
    checkpoint_seq: int
    obtained: bool
    reason: str | None
    entry: LedgerEntry | None
    gen_time: str | None = None

    def line(self) -> str:
        if self.obtained:
            when = self.gen_time or "stored, not parsed strictly"
            return f"{self.tsa}: timestamp obtained for the checkpoint at seq {self.checkpoint_seq} ({when})"
        return f"{self.tsa}: the checkpoint at seq {self.checkpoint_seq} stays pending ({self.reason})"


def _seconds(value: Decimal) -> str:
    """A decimal string of seconds, microseconds at most (canonical JSON has no fractions)."""
    text = format(value.quantize(Decimal("0.000001")).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _delta(later: datetime, earlier: datetime) -> Decimal:
    delta = later - earlier
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)


def _checkpoint_of(entry: LedgerEntry) -> StampedCheckpoint:
    return StampedCheckpoint(entry.seq, int(entry.details["tree_size"]), str(entry.details["root"]))


def _tsa(authority: Authority) -> TsaNamed:
    return TsaNamed(authority.name, recorded_url(authority.url), authority.qualified)


def obtained_action(job: Job, answer: Answer) -> TimestampObtained:
    """The ``timestamp.obtained`` of an answer that brought a token (strictly parsed or not), with the clock
    evidence: offset = the investigator's clock at the midpoint of the round trip minus genTime, flagged when
    beyond the token's accuracy (``ASSUMED_ACCURACY`` when it states none) plus the round trip."""
    answered = answer.answered or answer.requested
    round_trip = max(_delta(answered, answer.requested), Decimal(0))
    check = answer.check
    facts = check.facts if check is not None and check.parsed else None
    offset: Decimal | None = None
    flagged = False
    accuracy: Decimal | None = None
    if facts is not None:
        if facts.accuracy_seconds is not None:
            accuracy = Decimal(str(facts.accuracy_seconds))
        midpoint = answer.requested + (answered - answer.requested) / 2
        offset = _delta(midpoint, facts.gen_time)
        flagged = abs(offset) > (accuracy if accuracy is not None else ASSUMED_ACCURACY) + round_trip
    problem = None
    if facts is None:
        said = "; ".join(check.problems) if check is not None and check.problems else ""
        problem = said or "the strict parser refused the answer"
    return TimestampObtained(
        tsa=_tsa(answer.authority),
        checkpoint=_checkpoint_of(job.checkpoint),
        hash_algorithm=facts.hash_algorithm if facts is not None else answer.authority.hash_algorithm,
        imprint=f"{answer.authority.hash_algorithm}:"
        + hashlib.new(answer.authority.hash_algorithm, job.message).hexdigest(),
        parsed=facts is not None,
        gen_time=format_time(facts.gen_time) if facts is not None else None,
        serial_number=facts.serial_number if facts is not None else None,
        policy=facts.policy if facts is not None else None,
        accuracy_seconds=_seconds(accuracy) if accuracy is not None else None,
        nonce=str(answer.nonce) if answer.nonce is not None else None,
        certificates=tuple("sha256:" + hashlib.sha256(der).hexdigest() for der in facts.certificates)
        if facts is not None
        else (),
        requested=format_time(answer.requested),
        answered=format_time(answered),
        round_trip_seconds=_seconds(round_trip),
        clock_offset_seconds=_seconds(offset) if offset is not None else None,
        clock_flagged=flagged,
        problem=problem,
    )


def record(
    case: StampedCase, job: Job, answers: Sequence[Answer | None], *, reason: str | None = None
) -> list[Outcome]:
    """Record what each TSA of ``job`` gave (``answers`` in the order of ``job.authorities``; None: not
    asked, or no answer in time, recorded pending with ``reason``), and supersede the older checkpoints
    still pending for those TSAs. One transaction, after the checkpoint, unsigned. Tokens are stored first."""
    stored: dict[int, Digests] = {}
    for i, answer in enumerate(answers):
        if answer is not None and answer.reason is None and answer.response is not None:
            stored[i] = case.store.put_stream(io.BytesIO(answer.response))
    outcomes: list[Outcome] = []
    with case.ledger.transaction() as txn:
        owed = owed_now(case.ledger)
        seq = job.checkpoint.seq
        superseded: dict[int, list[str]] = {}
        for i, authority in enumerate(job.authorities):
            answer = answers[i] if i < len(answers) else None
            outstanding = owed.outstanding(authority.name)
            for older in outstanding:
                if older < seq:
                    superseded.setdefault(older, []).append(authority.name)
            if answer is not None and i in stored:
                action = obtained_action(job, answer)
                artefact = Artefact(STAMP_NAME, STAMP_ROLE, STAMP_MEDIA_TYPE, stored[i])
                entry = txn.append(action.draft(case.actor, None, (artefact,)))
                outcomes.append(Outcome(authority.name, seq, True, None, entry, action.gen_time))
                continue
            why = (answer.reason if answer is not None else None) or reason or TIMEOUT
            if seq in outstanding or owed.stamped.get(authority.name, -1) >= seq:
                outcomes.append(Outcome(authority.name, seq, False, why, None))
                continue
            requested = format_time(answer.requested) if answer is not None else None
            pending = TimestampPending(_tsa(authority), _checkpoint_of(job.checkpoint), why, requested)
            outcomes.append(Outcome(authority.name, seq, False, why, txn.append(pending.draft(case.actor))))
        for older in sorted(superseded):
            checkpoint = StampedCheckpoint.from_details(owed.outstanding(superseded[older][0])[older].details)
            txn.append(TimestampSuperseded(checkpoint, seq, tuple(superseded[older])).draft(case.actor))
    return outcomes


def supersede_covered(case: StampedCase, txn: LedgerTransaction, owed: Owed) -> None:
    """Pending checkpoints of a TSA that already stamped a newer one (left by a command that stopped between
    its two writes): recorded superseded by that newer checkpoint."""
    by_checkpoint: dict[tuple[int, int], list[str]] = {}
    details: dict[int, StampedCheckpoint] = {}
    for name, pending in owed.pending.items():
        newest = owed.stamped.get(name, -1)
        for seq, entry in pending.items():
            if seq < newest:
                by_checkpoint.setdefault((seq, newest), []).append(name)
                details[seq] = StampedCheckpoint.from_details(entry.details)
    for (seq, by), names in sorted(by_checkpoint.items()):
        txn.append(TimestampSuperseded(details[seq], by, tuple(names)).draft(case.actor))


def retry_job(ledger: LedgerBackend, authorities: Sequence[Authority]) -> Job | None:
    """The newest checkpoint, to ask of each configured TSA that has a pending entry and no token for it yet
    (None: nothing owed). A pending TSA no longer configured cannot be asked; its entries stay as they are."""
    owed = owed_now(ledger)
    newest = newest_checkpoint(ledger)
    if newest is None:
        return None
    asked = tuple(a for a in authorities if owed.outstanding(a.name) and owed.stamped.get(a.name, -1) < newest.seq)
    return Job(newest, asked) if asked else None


# -- the background asker ---------------------------------------------------------------------------------
class Stamper:
    """Stamps one recording open's checkpoints in the background (see the module's docstring).

    ``sealed`` (after a checkpoint commits) and ``resume`` (at the open) hand in jobs; ``settle`` (at the
    command's end) waits for the stamp in flight, bounded by twice the timeout plus 5 s, and records
    everything; ``collect`` records the answers that have come, without waiting. ``settle`` may also be called
    in the middle of a command that needs its checkpoint's tokens recorded before it goes on (export); the
    stamper keeps working afterwards. All of these run on the thread that owns the case's ledger connection;
    only the asking runs on the stamper's own thread."""

    def __init__(
        self,
        authorities: Sequence[Authority],
        *,
        asking: bool,
        timeout: float,
        clock: Clock,
        ask: Ask = ask_all,
        interval: float = STAMP_INTERVAL,
    ) -> None:
        self.authorities = tuple(authorities)
        self.interval = interval
        self._next_start = 0.0  # time.monotonic() before which no new stamp starts (unless hurried)
        self._hurry = False  # settling: the queued stamp goes at once
        self.asking = asking
        self.timeout = timeout
        self.clock = clock
        self._ask = ask
        self._lock = threading.Condition()
        self._queued: Job | None = None
        self._in_flight: list[Job] = []  # one at a time, but settling sends the newest beside an older one
        self._answered: list[tuple[Job, list[Answer]]] = []
        self._offline: Job | None = None  # the newest checkpoint sealed while asking is switched off
        self._thread: threading.Thread | None = None
        self._closed = False
        self.outcomes: list[Outcome] = []
        self.sealed_any = False  # a checkpoint of this open was handed in
        self.requests = 0  # jobs sent to the TSAs (each asks every TSA of the job once)

    @classmethod
    def for_session(cls, environ: Mapping[str, str], *, timestamping: bool, timeout: float, clock: Clock) -> Stamper:
        return cls(
            load_authorities(environ), asking=asking_enabled(environ, timestamping), timeout=timeout, clock=clock
        )

    # -- handing in (owning thread) --
    def resume(self, case: StampedCase) -> None:
        """At a recording open: ask again, in the background, for the newest checkpoint from each TSA with a
        pending entry; pending entries of TSAs that already stamped a newer checkpoint are superseded."""
        if not self.authorities:
            return
        owed = owed_now(case.ledger)
        if not any(owed.pending.values()):
            return  # nothing owed: the common case costs one indexed read
        if any(seq < owed.stamped.get(name, -1) for name, p in owed.pending.items() for seq in p):
            with case.ledger.transaction() as txn:
                supersede_covered(case, txn, owed_now(case.ledger))
        if not self.asking:
            return
        job = retry_job(case.ledger, self.authorities)
        if job is not None:
            self._submit(job)

    def sealed(self, case: StampedCase, checkpoint: LedgerEntry) -> None:
        """After ``checkpoint`` committed: record the answers that have come, then stamp it (coalesced)."""
        if not self.authorities or self._closed:
            return
        self.sealed_any = True
        self.collect(case)
        job = Job(checkpoint, self.authorities)
        if self.asking:
            self._submit(job)
        else:
            self._offline = job

    def _submit(self, job: Job) -> None:
        with self._lock:
            self._queued = job if self._queued is None else self._queued.merged(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="evidencekit-stamper", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def _run(self) -> None:
        """Start each stamp: one at a time and at most every ``interval`` seconds, except when settling, when
        the newest goes at once (beside an older one still in flight, which it makes needless)."""
        while True:
            with self._lock:
                while True:
                    if self._queued is None:
                        if self._closed:
                            return
                        self._lock.wait()
                        continue
                    if self._hurry:
                        break
                    if self._closed:
                        return
                    if self._in_flight:
                        self._lock.wait()
                        continue
                    early = self._next_start - time.monotonic()
                    if early <= 0:
                        break
                    self._lock.wait(timeout=early)
                job, self._queued = self._queued, None
                self._in_flight.append(job)
                self._next_start = time.monotonic() + self.interval
                self.requests += 1
            threading.Thread(target=self._ask_for, args=(job,), name="evidencekit-stamp", daemon=True).start()

    def _ask_for(self, job: Job) -> None:
        try:
            answers = self._ask(job.authorities, job.message, timeout=self.timeout, clock=self.clock)
        except Exception as exc:  # the client never raises for a TSA; a bug must not kill the stamps
            said = f"internal error: {type(exc).__name__}: {exc}"
            answers = [_failed(a, self.clock(), said) for a in job.authorities]
        with self._lock:
            self._in_flight = [j for j in self._in_flight if j is not job]
            self._answered.append((job, list(answers)))
            self._lock.notify_all()

    # -- recording (owning thread) --
    def collect(self, case: StampedCase) -> list[Outcome]:
        """Record the answers that have come (oldest first); an answer for a checkpoint older than one being
        stamped now is recorded all the same: a token is never thrown away."""
        with self._lock:
            answered, self._answered = self._answered, []
        done: list[Outcome] = []
        for job, answers in answered:
            done += record(case, job, answers)
        self.outcomes += done
        return done

    def settle(self, case: StampedCase, *, bound: float | None = None) -> list[Outcome]:
        """Send the newest checkpoint at once and wait for its answers, at most ``bound`` seconds (twice the
        timeout plus 5 s), then record everything that has come: what has no answer by then is recorded
        pending, reason "timeout"; with asking switched off, the newest checkpoint sealed is recorded pending,
        reason "offline"."""
        limit = time.monotonic() + (2 * self.timeout + 5 if bound is None else bound)
        with self._lock:
            self._hurry = True
            self._lock.notify_all()
            # The newest checkpoint is the one that must be answered; an older stamp still in flight is
            # recorded if its answer has come by then, and is not waited for otherwise.
            waiting = [*self._in_flight, *([self._queued] if self._queued is not None else [])]
            newest = max(waiting, key=lambda j: j.checkpoint.seq) if waiting else None

            def unanswered() -> bool:
                return newest is not None and (newest is self._queued or any(j is newest for j in self._in_flight))

            while unanswered() and time.monotonic() < limit:
                self._lock.wait(timeout=max(0.0, limit - time.monotonic()))
            late = newest if unanswered() else None
            self._queued = None
            self._hurry = False
        done = self.collect(case)
        later: list[Outcome] = []
        if late is not None:
            later += record(case, late, [None] * len(late.authorities), reason=TIMEOUT)
        if self._offline is not None:
            later += record(case, self._offline, [None] * len(self._offline.authorities), reason=OFFLINE)
            self._offline = None
        self.outcomes += later
        return done + later

    def abandon(self) -> None:
        """The command ends without waiting (it failed, or was interrupted): answers not yet recorded are
        dropped; the next recording command asks again for what stands pending."""
        with self._lock:
            self._closed = True
            self._queued = None
            self._lock.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()


def _failed(authority: Authority, now: datetime, reason: str) -> Answer:
    return Answer(authority, now, None, None, None, None, reason)


def intact_covers(entries: Sequence[LedgerEntry], store: ObjectStoreBackend) -> Callable[[int], Cover | None]:
    """seq -> the earliest independent time covering that entry, counting only the tokens the rulebook finds
    intact (``rules.timestamps``; established or not: the roots are the verifier's business)."""
    result = AuditResult(entries=list(entries))
    audit_timestamps(result, tokens=store_tokens(store))
    intact = {verdict.seq for verdict in result.timestamps if verdict.intact}
    return covers(entries, lambda entry, stamp: entry.seq in intact)


def item_cover(
    entries: Sequence[LedgerEntry], item_entries: Sequence[LedgerEntry], store: ObjectStoreBackend
) -> Cover | None:
    """The earliest independent time covering an item (its recording entry, ``timecover.recording_seq``)."""
    return intact_covers(entries, store)(recording_seq(item_entries))
