"""The actions that record independent time (RFC 3161): what each Time-Stamping Authority (TSA) answered
for a signed checkpoint. A sealing command writes them after its own checkpoint, unsigned; the next
checkpoint covers them (``rules.seals.WRITTEN_AFTER_SEAL``).

- ``timestamp.obtained``: a TSA's answer, kept byte for byte as the entry's one artefact (the DER
  ``TimeStampResp``), with what it says. ``parsed`` False: the answer was kept but the strict parser refused
  it ("stored, not parsed strictly"); then the token's fields are None and it never counts as valid.
- ``timestamp.pending``: no usable answer from that TSA for that checkpoint (down, slow, offline, an
  error, garbage, a wrong nonce or imprint, an untrusted certificate), and why. ``evidencekit timestamp``
  (also run by every later sealing command) asks again for the newest pending checkpoint.
- ``timestamp.superseded``: an older pending checkpoint that no longer needs its own stamp, because a newer
  checkpoint (``by_seq``) is being stamped for those TSAs and covers it through consistency.

A checkpoint is named by its entry's seq, its tree size (which equals that seq) and its root; the stamped
message is the exact bytes of that entry's signed note (UTF-8).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from evidencekit.ledger.entries.actions import Action, one_line
from evidencekit.models import LedgerEntry

# What a timestamp's tsa field says of the authority: its configured name and URL, and whether the
# investigator configured it as qualified (their claim, shown as such).
TSA_FIELDS = ("name", "url", "qualified")


@dataclass(frozen=True)
class StampedCheckpoint:
    """The checkpoint a timestamp entry is about."""

    seq: int
    tree_size: int
    root: str  # blake3:<hex>, as its checkpoint.signed entry says

    @classmethod
    def from_details(cls, d: Mapping[str, Any]) -> Self:
        return cls(d["checkpoint_seq"], d["tree_size"], d["root"])

    def to_details(self) -> dict[str, Any]:
        return {"checkpoint_seq": self.seq, "tree_size": self.tree_size, "root": self.root}


@dataclass(frozen=True)
class TsaNamed:
    name: str
    url: str
    qualified: bool

    @classmethod
    def from_details(cls, d: Mapping[str, Any]) -> Self:
        return cls(d["name"], d["url"], d["qualified"])

    def to_details(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "qualified": self.qualified}


@dataclass(frozen=True)
class TimestampObtained(Action):
    """A TSA's answer for a checkpoint. Times are RFC 3339 UTC with microseconds; ``requested`` and
    ``answered`` are the investigator's clock, ``gen_time`` the TSA's. Seconds are decimal strings ("0.25",
    "-1.5": canonical JSON has no fractions). ``clock_offset_seconds`` is the investigator's clock minus the
    TSA's (at the midpoint of the round trip); ``clock_flagged`` says it is beyond the TSA's stated accuracy
    plus the round trip. ``certificates``: sha256:<hex> of each certificate the token carries, the signer's
    first."""

    ACTION: ClassVar[str] = "timestamp.obtained"
    tsa: TsaNamed
    checkpoint: StampedCheckpoint
    hash_algorithm: str  # "sha256"
    imprint: str  # sha256:<hex> of the checkpoint's note, as asked
    parsed: bool
    gen_time: str | None
    serial_number: str | None  # lower-case hex
    policy: str | None  # dotted OID
    accuracy_seconds: str | None  # seconds, a decimal string (canonical JSON has no fractions)
    nonce: str | None  # decimal, as sent
    certificates: tuple[str, ...]
    requested: str
    answered: str
    round_trip_seconds: str  # decimal string
    clock_offset_seconds: str | None  # decimal string, signed
    clock_flagged: bool
    problem: str | None = None  # why the strict parser refused it (parsed False)

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(
            TsaNamed.from_details(d["tsa"]), StampedCheckpoint.from_details(d), d["hash_algorithm"], d["imprint"],
            d["parsed"], d["gen_time"], d["serial_number"], d["policy"], d["accuracy_seconds"], d["nonce"],
            tuple(d["certificates"]), d["requested"], d["answered"], d["round_trip_seconds"],
            d["clock_offset_seconds"], d["clock_flagged"], d.get("problem"),
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        details = {
            "tsa": self.tsa.to_details(),
            **self.checkpoint.to_details(),
            "hash_algorithm": self.hash_algorithm,
            "imprint": self.imprint,
            "parsed": self.parsed,
            "gen_time": self.gen_time,
            "serial_number": self.serial_number,
            "policy": self.policy,
            "accuracy_seconds": self.accuracy_seconds,
            "nonce": self.nonce,
            "certificates": list(self.certificates),
            "requested": self.requested,
            "answered": self.answered,
            "round_trip_seconds": self.round_trip_seconds,
            "clock_offset_seconds": self.clock_offset_seconds,
            "clock_flagged": self.clock_flagged,
        }
        if self.problem is not None:
            details["problem"] = self.problem
        return details

    def summary(self) -> str:
        where = f"checkpoint of {self.checkpoint.tree_size} entries"
        if not self.parsed:
            return f"timestamp from {one_line(self.tsa.name)} for the {where}: stored, not parsed strictly"
        return f"timestamp from {one_line(self.tsa.name)} for the {where}: {self.gen_time}"


@dataclass(frozen=True)
class TimestampPending(Action):
    """No usable answer from ``tsa`` for ``checkpoint``: ``reason`` says why (``offline`` when not asked).
    ``requested``: when it was asked (None when it was not)."""

    ACTION: ClassVar[str] = "timestamp.pending"
    tsa: TsaNamed
    checkpoint: StampedCheckpoint
    reason: str
    requested: str | None

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(TsaNamed.from_details(d["tsa"]), StampedCheckpoint.from_details(d), d["reason"], d["requested"])

    def to_details(self) -> dict[str, Any]:
        return {
            "tsa": self.tsa.to_details(),
            **self.checkpoint.to_details(),
            "reason": self.reason,
            "requested": self.requested,
        }

    def summary(self) -> str:
        return (
            f"timestamp from {one_line(self.tsa.name)} pending for the checkpoint of "
            f"{self.checkpoint.tree_size} entries: {one_line(self.reason)}"
        )


@dataclass(frozen=True)
class TimestampSuperseded(Action):
    """An older pending ``checkpoint`` needs no stamp of its own from ``tsas``: the newer checkpoint at
    ``by_seq`` is being stamped by them and covers it."""

    ACTION: ClassVar[str] = "timestamp.superseded"
    checkpoint: StampedCheckpoint
    by_seq: int
    tsas: tuple[str, ...]

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(StampedCheckpoint.from_details(d), d["by_seq"], tuple(d["tsas"]))

    def to_details(self) -> dict[str, Any]:
        return {**self.checkpoint.to_details(), "by_seq": self.by_seq, "tsas": list(self.tsas)}

    def summary(self) -> str:
        return (
            f"pending timestamp of the checkpoint of {self.checkpoint.tree_size} entries superseded by the "
            f"checkpoint at seq {self.by_seq} ({', '.join(one_line(t) for t in self.tsas)})"
        )
