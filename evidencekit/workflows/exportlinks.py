"""The links an export records: computed among the exported items, their photo exhibits stored, one
``analysis.recorded`` draft (``ledger.entries.analysis``).

Part of the export family (the workflow families never import each other, so this calls
``analysis.links.compute_links`` itself, on case sources from ``analysis.sources.case_source`` as the links
workflow does: each case's derived index is brought up to date, in the case or, for another case, in the
user's cache folder; a cache, never evidence, never in a bundle). Other cases are read only with
``export --include-across CASE_DIR``, and never written to; without it, no item of another case can appear
in a bundle. The case's items left out of the bundle are left out of its links too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit import __version__
from evidencekit.analysis.links import CaseSource, compute_links, group_links, render_exhibit_for
from evidencekit.analysis.sources import case_source
from evidencekit.ledger.backend import entry_leaf_hash
from evidencekit.ledger.entries import AnalysisRecorded, CaptureStarted, FileAdded, FolderAdded, group_items, parse
from evidencekit.ledger.entries.analysis import LINKS
from evidencekit.models import Artefact, EntryDraft, LedgerEntry
from evidencekit.workflows.opencase import OpenCase, Session
from evidencekit.workflows.othercases import other_cases

EXHIBIT_ROLE = "exhibit"
EXHIBIT_MEDIA_TYPE = "image/png"


@dataclass(frozen=True)
class LinkAnalysis:
    """What the export records: the draft, and the exhibit files the case now stores for it."""

    draft: EntryDraft
    exhibits: tuple[Artefact, ...]


def exhibit_name(number: int) -> str:
    return f"match-{number:04d}.png"


def _only(entries: Sequence[LedgerEntry], items: Sequence[str]) -> list[LedgerEntry]:
    """The entries of ``items`` alone (the links are computed among the exported items, nothing else)."""
    grouped = group_items(entries)
    keep = {e.seq for item in items for e in grouped.get(item, ())}
    return [e for e in entries if e.seq in keep]


def _labels(sources: Mapping[str, Sequence[LedgerEntry]], wanted: set[str]) -> dict[str, str]:
    """What each linked item is: the URL its capture started with, or the name of the file or folder added."""
    labels: dict[str, str] = {}
    for prefix, entries in sources.items():
        for item, item_entries in group_items(entries).items():
            name = prefix + item
            if name in wanted:
                created = parse(item_entries[0])
                if isinstance(created, CaptureStarted):
                    labels[name] = created.url
                elif isinstance(created, FileAdded | FolderAdded):
                    labels[name] = created.original_name
    return labels


def _ledger_read(opened: OpenCase, entries: Sequence[LedgerEntry]) -> dict[str, Any]:
    """The case's UUID and the head of its ledger as read (``entries``): how many, the last one's leaf hash."""
    head = f"blake3:{entry_leaf_hash(entries[-1].raw).hex()}" if entries else None
    return {"case_uuid": opened.info.case_uuid, "ledger_entries": len(entries), "ledger_head": head}


def _scoped(used: Mapping[str, Any]) -> dict[str, Any]:
    """The algorithms as the export records them. Photos are searched across every photo of the cases read
    (a photo reused in an item left out still tells which photos are the site's own), so the search's counts
    are of those, not of the exported items: they are left out, and what was searched is said instead."""
    said = dict(used)
    search = said.get("photo_search")
    if isinstance(search, Mapping):
        kept = {k: v for k, v in search.items() if k not in {"photos_compared", "candidates"}}
        kept["searched"] = "every photo of the cases read; the links among the exported items were kept"
        said["photo_search"] = kept
    return said


def _among(link: Mapping[str, Any], chosen: set[str]) -> dict[str, Any] | None:
    """``link`` between the exported items (and other cases' items, ``case/item``) only: the case's items left
    out of the bundle are dropped from it, and with them the link when fewer than two items remain (a photo
    link: unless both ends remain)."""
    keep = [str(i) for i in link.get("items") or () if str(i) in chosen or "/" in str(i)]
    if len(keep) < 2 or (link.get("type") == "photo" and len(keep) != len(link.get("items") or ())):
        return None
    said = dict(link) | {"items": keep}
    for part in ("found", "photos"):
        if part in said:
            said[part] = [dict(f) for f in said[part] if str(f.get("item")) in keep]
    return said


def _exported_groups(report: Mapping[str, Any], chosen: set[str], sources: Sequence[CaseSource]) -> list[Any]:
    """The groups among the exported items, grouped again once the other items of the case are left out; only
    those holding an exported item (other cases' items linked only among themselves say nothing here)."""
    links = [link for group in report.get("groups") or () for link in group.get("links") or ()]
    kept = [said for link in links if (said := _among(link, chosen)) is not None]
    return [dict(g) for g in group_links(kept, sources) if chosen.intersection(g.get("items") or ())]


def analyse_links(
    case: OpenCase, session: Session, chosen: Sequence[str], *, across: Sequence[Path] = ()
) -> LinkAnalysis:
    """Compute the links among ``chosen`` (and, with ``across``, the items of those other cases), render and
    store each photo link's exhibit, and return the ``analysis.recorded`` draft. Records nothing."""
    with other_cases(session, across, case.info.case_id, option="--include-across") as others, ExitStack() as stack:
        sources = [
            stack.enter_context(
                case_source(c.workspace, c.info.case_id, c.ledger, c.store, session.environ, local=c is case)
            )
            for c in (case, *others)
        ]
        local = list(sources[0].entries)  # the entries each source read: the ledger is not read again
        other_entries = {source.case_id: list(source.entries) for source in sources[1:]}
        heads = {c.info.case_id: _ledger_read(c, s.entries) for c, s in zip((case, *others), sources, strict=True)}
        report = compute_links(sources)
        groups = _exported_groups(report, set(chosen), sources)
        exhibits: list[Artefact] = []
        with tempfile.TemporaryDirectory(prefix="evidencekit-links-") as scratch:
            for group in groups:
                group["links"] = [dict(link) for link in group.get("links") or ()]
                for link in group["links"]:
                    if link.get("type") != "photo":
                        continue
                    name = exhibit_name(len(exhibits) + 1)
                    out = Path(scratch) / name
                    render_exhibit_for(link, sources, out)
                    digests = case.store.put_file(out)
                    exhibits.append(Artefact(name, EXHIBIT_ROLE, EXHIBIT_MEDIA_TYPE, digests))
                    link["exhibit"] = name
    linked = {str(item) for group in groups for item in group.get("items") or ()}
    named = {"": _only(local, chosen)} | {f"{o_id}/": o_entries for o_id, o_entries in other_entries.items()}
    cases = [dict(c) for c in report.get("cases") or [{"case_id": case.info.case_id, "local": True}]]
    for said in cases:  # which case, and how far its ledger was read: what a court checks an item against
        said |= heads.get(str(said.get("case_id")), {})
    action = AnalysisRecorded(
        kind=LINKS,
        software=f"evidencekit {__version__}",
        items=tuple(chosen),
        include_across=bool(across),
        algorithms=_scoped(report.get("algorithms") or {}),
        cases=tuple(cases),
        groups=tuple(groups),
        labels=_labels(named, linked),
    )
    return LinkAnalysis(action.draft(case.actor, None, exhibits), tuple(exhibits))
