"""The action that records a conclusion drawn from the evidence: ``analysis.recorded``.

An export computes the links among the items it carries (shared specific indicators, confirmed photo
matches; ``analysis.links``) and records the result once, before its checkpoint is signed, so the bundle
states what was concluded, how (the algorithms, their versions and thresholds) and by which version of
evidencekit. Its artefacts are the exhibit images of the photo matches (``match-0001.png``...), which the
bundle carries under ``data/analysis/`` (``bundle.layout``).

Its subject is the case (None), as for ``export.created``: an analysis is a statement about items, not an
item acquired. Making it an item would give it a place among the case's items, so shift every later item's
exhibit number, add an item to every bundle and to ``items``, and have ``export --all`` carry every earlier
analysis again.

The details are the link report ``analysis.links.compute_links`` returns (``algorithms``, ``cases``,
``groups``), plus what the export asked for: ``kind`` ("links"), ``items`` (the local items linked),
``include_across`` (whether other cases' items may appear: ``export --include-across``), ``software`` and
``labels`` (each linked item's URL or file name, as recorded).
A photo link that has an exhibit names it (``"exhibit": "match-0001.png"``). Nothing found is recorded too
(``groups`` empty): a reader can see that linking ran, over which items, with which algorithms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from evidencekit.ledger.entries.actions import Action, one_line
from evidencekit.models import LedgerEntry

LINKS = "links"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 'es' if noun.endswith('ch') else 's'}"


@dataclass(frozen=True)
class AnalysisRecorded(Action):
    """A link analysis over ``items`` (and, with ``include_across``, other cases' items, ``case_id/item``)."""

    ACTION: ClassVar[str] = "analysis.recorded"
    kind: str
    software: str
    items: tuple[str, ...]
    include_across: bool
    algorithms: Mapping[str, Any]
    cases: tuple[Mapping[str, Any], ...]
    groups: tuple[Mapping[str, Any], ...]
    # What each linked item is, for the link picture: the captured URL or the added file's name, as the
    # item's creating entry recorded it (other cases' items too: the bundle holds none of their entries).
    labels: Mapping[str, str] | None = None

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(
            d["kind"], d["software"], tuple(d["items"]), d["include_across"], dict(d["algorithms"]),
            tuple(dict(c) for c in d["cases"]), tuple(dict(g) for g in d["groups"]),
            dict(d["labels"]) if "labels" in d else None,
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "software": self.software,
            "items": list(self.items),
            "include_across": self.include_across,
            "algorithms": dict(self.algorithms),
            "cases": [dict(c) for c in self.cases],
            "groups": [dict(g) for g in self.groups],
            **({} if self.labels is None else {"labels": dict(self.labels)}),
        }

    @property
    def other_cases(self) -> tuple[str, ...]:
        """The ids of the other cases whose items the analysis read (``export --include-across``)."""
        return tuple(str(c.get("case_id")) for c in self.cases if c.get("local") is False)

    def links(self) -> Sequence[Mapping[str, Any]]:
        return [link for group in self.groups for link in group.get("links") or ()]

    def summary(self) -> str:
        across = f", with {_plural(len(self.other_cases), 'other case')}" if self.include_across else ""
        over = f"{one_line(self.kind)} among {_plural(len(self.items), 'item')}{across}"
        if not self.groups:
            return f"{over}: none found"
        photos = sum(1 for link in self.links() if link.get("type") == "photo")
        said = f"{_plural(len(self.groups), 'group')}, {_plural(len(self.links()), 'link')}"
        return f"{over}: {said}" + (f" ({_plural(photos, 'photo match')})" if photos else "")
