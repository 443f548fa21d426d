"""What export makes from ledger facts alone, as pure functions shared by the exporter and the verifier.

Two kinds of bundle file are made at export rather than recorded: the metadata.json of an item that has no
recorded one (an added file or folder), and each web capture's capture.wacz (its WARC, recorded, plus a page
list, an index and a package description). No ledger digest covers them, so an insider who re-signs a bundle
could change them freely if the verifier only checked that they agree with themselves. The verifier rebuilds
them from the ledger lines the bundle carries with these same functions and holds the bundle's copies to
the result (``check.derived``, ``check.waczbind``); whatever the exporter writes, the verifier expects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evidencekit.ledger.entries import AnalysisRecorded, item_kind
from evidencekit.models import Artefact, LedgerEntry

METADATA_NAME = "metadata.json"
COMPLETED = "capture.completed"
STARTED = "capture.started"


def item_artefacts(entries: Sequence[LedgerEntry]) -> list[Artefact]:
    """Every artefact the item's entries name, in ledger order."""
    return [a for e in entries for a in e.artefacts]


def item_metadata(item_id: str, entries: Sequence[LedgerEntry]) -> dict[str, Any]:
    """An item's metadata.json, from its entries (``ledger.entries.group_items``): the first entry's facts,
    every artefact and the sequence numbers of all its entries."""
    first = entries[0]
    return {
        "item_id": item_id,
        "kind": item_kind(first.action) or "unknown",
        "recorded": first.time,
        "recorded_tz": first.tz,
        "recorded_by": first.actor.to_dict(),
        "details": dict(first.details),
        "artefacts": [a.to_dict() for a in item_artefacts(entries)],
        "ledger_seqs": [e.seq for e in entries],
    }


def metadata_bytes(metadata: Any) -> bytes:
    """The bytes of a metadata.json made at export: sorted keys, two-space indent, UTF-8, one final newline."""
    return (json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def makes_metadata(entries: Sequence[LedgerEntry]) -> bool:
    """Whether export writes the item's metadata.json: only when no recorded artefact has that name (a capture
    records its own, which the ledger's digests then cover)."""
    return all(a.name != METADATA_NAME for a in item_artefacts(entries))


def shipped_analysis(entries: Sequence[LedgerEntry]) -> LedgerEntry | None:
    """The ``analysis.recorded`` entry whose exhibits a bundle carries under data/analysis/: the newest in its
    ledger excerpt (an export records one just before the checkpoint it ships; a full-ledger excerpt may hold
    earlier ones, whose exhibits stay in the case). None for a bundle made before analyses were recorded."""
    return next((e for e in reversed(entries) if e.action == AnalysisRecorded.ACTION), None)


def capture_warc(entries: Sequence[LedgerEntry]) -> Artefact | None:
    """The WARC a web capture recorded; files added by hand are never treated as captures, whatever their name."""
    if not entries or item_kind(entries[0].action) != "capture":
        return None
    return next((a for a in item_artefacts(entries) if a.role == "warc"), None)


@dataclass(frozen=True)
class WaczFacts:
    """What a capture's WACZ says besides its WARC: the page (URL, title, time) and the package's wording."""

    url: str  # the navigation's final URL as capture.completed recorded it ("" when no capture completed)
    page_title: str | None
    page_ts: str  # when the capture started (the capture.started entry's time)
    title: str
    description: str


def wacz_facts(case_id: str, item_id: str, entries: Sequence[LedgerEntry], created: str) -> WaczFacts:
    """The page and wording of ``item_id``'s capture.wacz, from its entries alone; ``created`` (the bundle's
    creation time) stands for the start time only if no capture.started entry is there."""
    details = next((dict(e.details) for e in entries if e.action == COMPLETED), {})
    started = next((e.time for e in entries if e.action == STARTED), created)
    url = str(details.get("final_url") or details.get("url") or "")
    title = details.get("title")
    return WaczFacts(
        url=url,
        page_title=title if isinstance(title, str) else None,
        page_ts=started,
        title=f"{case_id} {item_id}",
        description=f"Web capture {item_id} of case {case_id}: {url}",
    )
