"""The actions that bring a signing key into a case after its first (``key.registered`` is in ``actions``):
``key.rotated`` and ``investigator.added``, each signed by a key already registered there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from evidencekit.errors import ValidationError
from evidencekit.keys import PublicKey, b64, unb64
from evidencekit.ledger.entries.actions import Action, one_line
from evidencekit.models import LedgerEntry, canonical_json


def key_statement(action: str, origin: str, investigator: str, public_key: PublicKey) -> bytes:
    """What a registered key signs to bring a new key into a case: the act, the case's log, whose key it is
    and the key itself, in canonical JSON (so the statement cannot be moved to another case or act)."""
    return canonical_json(
        {
            "statement": "evidencekit key introduction",
            "action": action,
            "case": origin,
            "investigator": investigator,
            "public_key": public_key.to_dict(),
        }
    )


@dataclass(frozen=True)
class KeyIntroduced(Action):
    """A new signing key brought into the case by a key already registered there: ``introduced_by`` names
    that key and ``signature`` is its Ed25519 signature over ``key_statement`` of this entry."""

    investigator: str
    public_key: PublicKey
    introduced_by: str
    signature: bytes

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        signature = unb64(d["signature"], "signature")
        if len(signature) != 64:
            raise ValidationError("an Ed25519 signature must be 64 bytes")
        return cls(d["investigator"], PublicKey.from_dict(d["public_key"]), d["introduced_by"], signature)

    def to_details(self) -> dict[str, Any]:
        return {
            "investigator": self.investigator,
            "public_key": self.public_key.to_dict(),
            "introduced_by": self.introduced_by,
            "signature": b64(self.signature),
        }

    def statement(self, origin: str) -> bytes:
        return key_statement(self.ACTION, origin, self.investigator, self.public_key)

    def vouched_by(self, key: PublicKey, origin: str) -> bool:
        """Whether ``key`` (the one ``introduced_by`` names) signed this introduction in the case ``origin``."""
        return key.key_id == self.introduced_by and key.verify(self.statement(origin), self.signature)


@dataclass(frozen=True)
class KeyRotated(KeyIntroduced):
    """The investigator replaced their key: the old one (``introduced_by``) signed the new one, and signs
    nothing after this entry."""

    ACTION: ClassVar[str] = "key.rotated"

    def summary(self) -> str:
        return f"key {self.introduced_by} rotated to {self.public_key.key_id} ({one_line(self.investigator)})"


@dataclass(frozen=True)
class InvestigatorAdded(KeyIntroduced):
    """A registered investigator (key ``introduced_by``) added another investigator's key to the case."""

    ACTION: ClassVar[str] = "investigator.added"

    def summary(self) -> str:
        return (
            f"investigator {one_line(self.investigator)} added with key {self.public_key.key_id} "
            f"(by key {self.introduced_by})"
        )
