"""What verifying a bundle found: every problem, the warnings, the rules it could not apply, and the facts.

The problems and warnings are ``models.Problem`` (shared with ``ledger verify``); ``not_applied`` names each
custody rule of ``ledger.rules`` that the bundle's ledger excerpt could not support, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evidencekit.ledger.rules import NotApplied
from evidencekit.models import Problem

__all__ = ["BundleReport", "NotApplied"]


@dataclass
class BundleReport:
    source: str
    checks: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    not_applied: list[NotApplied] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def signer_established(self) -> bool:
        """Intact, and its checkpoint verifies against a key the verifier was given from outside (``--key``).

        Without such a key the bundle can only be shown intact: whoever re-signs a changed bundle with a key
        of their own makes it consistent again, so who made it stays a question for the key id.
        """
        return self.ok and bool(self.facts.get("trusted_keys")) and "signer" in self.facts

    def add(self, code: str, message: str, *, path: str | None = None, seq: int | None = None) -> None:
        self.problems.append(Problem(code, message, seq=seq, path=path))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "intact": self.ok,
            "signer_established": self.signer_established,
            "source": self.source,
            "checks": self.checks,
            "facts": self.facts,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [w.to_dict() for w in self.warnings],
            "not_applied": [n.to_dict() for n in self.not_applied],
        }
