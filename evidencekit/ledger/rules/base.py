"""What the rulebook speaks of: the rule names, the code of each finding, the entries and notes it is given
and the result it returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evidencekit.hashing import blake3_bytes
from evidencekit.keys import PublicKey
from evidencekit.ledger.merkle import MerkleTree
from evidencekit.ledger.notes import Checkpoint
from evidencekit.models import LedgerEntry, Problem

ROOT_PREFIX = "blake3:"
RULES: Mapping[str, str] = {
    "entry.form": "every entry is a valid ledger entry in canonical JSON",
    "entry.details": "every entry of a known action has that action's recorded form",
    "sequence.order": "entries stand in the order of their sequence numbers",
    "sequence.gap": "no sequence number is missing",
    "entry.leaf": "the leaf hash stored beside an entry is the hash of its bytes",
    "entry.case": "every entry belongs to this case",
    "chain.link": "each entry's prev is the leaf hash of the entry before it",
    "key.registration": "every key.registered entry holds a usable public key",
    "key.introduction": "every key after the case's first is brought in by a registered key that signs it "
    "(key.rotated, investigator.added)",
    "checkpoint.form": "every checkpoint is a readable C2SP signed note",
    "checkpoint.signature": "a key the ledger registers verifies every checkpoint",
    "checkpoint.key": "every checkpoint is signed by a key brought into the case before it and not rotated out",
    "checkpoint.origin": "every checkpoint names this case's log",
    "checkpoint.root": "every checkpoint's root is the recomputed Merkle root of its size",
    "checkpoint.consistency": "every checkpoint extends the one before it (RFC 9162 consistency proof)",
    "checkpoint.premature": "no checkpoint signs entries recorded after itself",
    "checkpoint.entry_mismatch": "a checkpoint.signed entry says what its signed note says",
    "checkpoint.external": "notes held outside the ledger are checkpoints of it and recorded in it",
    "item.new": "an entry that creates an item names an item id no earlier entry created",
    "entry.sealed": "in a case with signed checkpoints, only entries that may stand unsigned "
    "(seals.MAY_STAND_UNSIGNED) follow the newest one, each naming as its actor a key the case brought in, "
    "and none set back in time more than seals.UNSIGNED_TIME_SLACK before the entry it follows",
    "capture.claimed": "an unsigned capture.started after the newest checkpoint is claimed by the lock file of "
    "the run that wrote it (a capture in progress, or one whose process is gone)",
    "time.order": "entry times do not run backwards (a warning that gives the size)",
    "timestamp.token": "every timestamp.obtained token is there as recorded, parses strictly, is over the exact note "
    "of the checkpoint it names, is signed by a TSA certificate with the critical timeStamping EKU valid at its "
    "genTime, and says what its entry says (a token the strict parser refuses is a warning, never counted)",
    "timestamp.time": "no entry covered by an intact token was recorded later than the token's genTime by more "
    "than its accuracy plus 2 s (within that, a warning that gives the size)",
}
# The rule behind each problem (or warning) code the rulebook reports.
CODES: Mapping[str, str] = {
    "entry.malformed": "entry.form",
    "entry.details": "entry.details",
    "ledger.order": "sequence.order",
    "entry.misplaced": "sequence.order",
    "ledger.gap": "sequence.gap",
    "entry.altered": "entry.leaf",
    "entry.foreign": "entry.case",
    "chain.broken": "chain.link",
    "key.malformed": "key.registration",
    "key.bad_introduction": "key.introduction",
    "key.unintroduced": "key.introduction",
    "checkpoint.key": "checkpoint.key",
    "entry.unsealed": "entry.sealed",
    "entry.actor": "entry.sealed",
    "entry.backdated": "entry.sealed",
    "entry.unclaimed": "capture.claimed",
    "item.reused": "item.new",
    "checkpoint.malformed": "checkpoint.form",
    "checkpoint.bad_signature": "checkpoint.signature",
    "checkpoint.foreign": "checkpoint.origin",
    "checkpoint.root_mismatch": "checkpoint.root",
    "ledger.truncated": "checkpoint.root",
    "checkpoint.inconsistent": "checkpoint.consistency",
    "checkpoint.shrunk": "checkpoint.consistency",
    "checkpoint.premature": "checkpoint.premature",
    "checkpoint.entry_mismatch": "checkpoint.entry_mismatch",
    "checkpoint.unrecorded": "checkpoint.external",
    "time.regressed": "time.order",
    "timestamp.missing": "timestamp.token",
    "timestamp.imprint": "timestamp.token",
    "timestamp.signature": "timestamp.token",
    "timestamp.eku": "timestamp.token",
    "timestamp.certificate": "timestamp.token",
    "timestamp.mismatch": "timestamp.token",
    "timestamp.unparsed": "timestamp.token",
    "timestamp.backdated": "timestamp.time",
    "timestamp.late": "timestamp.time",
}
# Per-action form of an entry's details (``ledger.entries.detail_problems``): one message per fault.
DetailCheck = Callable[[LedgerEntry], list[str]]


@dataclass(frozen=True)
class NotApplied:
    """A rule the verifier could not apply, and why."""

    rule: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.rule}: {self.reason}"


@dataclass(frozen=True)
class RawEntry:
    """An entry as stored: its position (sequence number), its bytes, the leaf hash stored with it if any."""

    seq: int
    raw: bytes
    stored_leaf: str | None = None


@dataclass(frozen=True)
class HeldNote:
    """A signed checkpoint held outside the ledger. ``recorded``: it must also stand in the ledger (true of
    checkpoints.txt and the witness copy; a bundle's own checkpoint is recorded after the bundle was made)."""

    text: str
    where: str
    recorded: bool = True


@dataclass(frozen=True)
class Row:
    """An entry as the rules take it: where it stands, its bytes, and what reading them gave."""

    seq: int | None  # None: a line whose position is not known (unreadable, in an excerpt)
    raw: bytes
    stored_leaf: str | None
    where: str | None
    entry: LedgerEntry | None
    error: str | None


VALID = "valid, TSA established"
NOT_ESTABLISHED = "token intact, TSA not established (give --tsa-roots)"
NOT_REACHED = "token intact, TSA not established (its chain reaches none of the roots given)"
UNPARSED = "stored, not parsed strictly"


@dataclass(frozen=True)
class TokenVerdict:
    """What the rules found of one ``timestamp.obtained`` entry's token. ``intact``: parsed strictly, over
    its checkpoint's note, signed, EKU and certificate sound, as recorded (counted for covers, established
    or not); ``established``: intact, and its chain reaches a root the verifier was given."""

    seq: int
    tsa: str
    checkpoint_seq: int
    gen_time: str | None
    parsed: bool
    intact: bool
    established: bool
    problems: tuple[str, ...]
    roots_given: bool = False  # the verifier gave roots (``--tsa-roots``), which this chain may not reach

    @property
    def said(self) -> str:
        """The verdict in words, as ``ledger verify`` and bundle ``verify`` print it."""
        if self.problems:
            return "; ".join(self.problems)
        if not self.parsed:
            return UNPARSED
        if self.established:
            return VALID
        return NOT_REACHED if self.roots_given else NOT_ESTABLISHED

    def line(self) -> str:
        when = f", genTime {self.gen_time}" if self.gen_time else ""
        return (
            f"timestamp at seq {self.seq} from {self.tsa} over the checkpoint at seq {self.checkpoint_seq}{when}: "
            f"{self.said}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "tsa": self.tsa,
            "checkpoint_seq": self.checkpoint_seq,
            "gen_time": self.gen_time,
            "parsed": self.parsed,
            "intact": self.intact,
            "established": self.established,
            "problems": list(self.problems),
            "verdict": self.said,
        }


@dataclass
class AuditResult:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    not_applied: list[NotApplied] = field(default_factory=list)
    signers: set[str] = field(default_factory=set)
    signed_by: dict[int, str] = field(default_factory=dict)  # checkpoint entry seq -> the key id that verified it
    held_signed_by: list[tuple[str, str]] = field(default_factory=list)  # (where, key id) of notes held outside
    standings: dict[str, Any] = field(default_factory=dict)  # key id -> seals.KeyStanding
    entries: list[LedgerEntry] = field(default_factory=list)
    tree: MerkleTree = field(default_factory=lambda: MerkleTree(blake3_bytes))
    keys: dict[str, PublicKey] = field(default_factory=dict)
    checkpoints: list[tuple[int, Checkpoint]] = field(default_factory=list)
    notes_seen: set[str] = field(default_factory=set)
    complete: bool = True  # every entry from seq 0 on is here, so the tree is the ledger's
    # Unsigned capture.started entries after the newest checkpoint: they may stand only if a run's lock file
    # claims them, which the rulebook cannot see (``seals.judge_claims`` is given the claims).
    open_starts: list[LedgerEntry] = field(default_factory=list)
    # What the timestamp rules found of each timestamp.obtained token (``rules.timestamps.TokenVerdict``).
    timestamps: list[TokenVerdict] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.tree.size

    def skip(self, rule: str, reason: str) -> None:
        self.not_applied.append(NotApplied(rule, reason))
