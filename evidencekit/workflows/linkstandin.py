"""STAND-IN for ``evidencekit.analysis.links`` until the search helper's branch lands (replaced on merge).

Shared specific indicators only (no photos), in the link report shape agreed in the issue's interfaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.ledger.entries import group_items
from evidencekit.models import LedgerEntry
from evidencekit.workflows.opencase import OpenCase

SPECIFIC = ("phone", "whatsapp", "telegram", "email", "upi", "iban", "crypto")


@dataclass(frozen=True)
class CaseSource:
    case_id: str
    local: bool
    entries: Sequence[LedgerEntry]


def case_source(case: OpenCase, entries: Sequence[LedgerEntry], *, local: bool) -> CaseSource:
    return CaseSource(case.info.case_id, local, entries)


def compute_links(sources: Sequence[CaseSource]) -> dict[str, Any]:
    found: dict[tuple[str, str], list[str]] = {}
    for source in sources:
        for item, entries in group_items(source.entries).items():
            name = item if source.local else f"{source.case_id}/{item}"
            for entry in entries:
                for ind in entry.details.get("indicators") or ():
                    if isinstance(ind, Mapping) and ind.get("kind") in SPECIFIC and not ind.get("site"):
                        key = (str(ind["kind"]), str(ind["value"]))
                        if name not in found.setdefault(key, []):
                            found[key].append(name)
    links = [
        {
            "type": "indicator",
            "items": items,
            "indicator": {"kind": kind, "value": value},
            "found": [{"item": i, "raw": value} for i in items],
        }
        for (kind, value), items in sorted(found.items())
        if len(items) > 1
    ]
    groups: list[dict[str, Any]] = []
    for link in links:
        joined = [g for g in groups if set(g["items"]) & set(link["items"])]
        merged = {"items": sorted({*link["items"], *(i for g in joined for i in g["items"])}), "links": [link]}
        merged["links"] = [lk for g in joined for lk in g["links"]] + [link]
        groups = [g for g in groups if g not in joined] + [merged]
    for group in groups:
        group["strength"] = len(group["links"])
    groups.sort(key=lambda g: (-g["strength"], g["items"]))
    return {
        "algorithms": {"indicators": {"kinds": list(SPECIFIC), "site_excluded": True, "urls_excluded": True}},
        "cases": [{"case_id": s.case_id, "local": s.local} for s in sources],
        "groups": groups,
    }


def render_exhibit_for(link: Mapping[str, Any], sources: Sequence[CaseSource], out: Path) -> None:
    raise NotImplementedError("photo exhibits come with the search helper's analysis.links")
