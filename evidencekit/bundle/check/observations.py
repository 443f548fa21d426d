"""The observations of watched pages in a bundle, held to the items the bundle holds.

An ``observation.recorded`` entry (subject: the capture it observes) names the series' ``previous`` attempt
and the capture it was ``compared_with``. A bundle that carries the whole series holds both; one exported
with ``export --no-series`` (or whose other attempts were left out of the selection) is an *excerpt* of the
series: that is no failure, and the verifier says so, naming the items it lacks, so that a reader knows the
history before them is in the case and not in the bundle. An observation recorded about one capture that
names another as its current one contradicts itself, and is a problem.

The observation's diff files (diff.json, diff.html, visual-diff.png) are artefacts like any other: the
custody check (``check.custody``) holds each to the digests the entry recorded, so an altered diff fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from evidencekit.bundle.findings import BundleReport, NotApplied
from evidencekit.ledger.entries import ObservationRecorded, parse
from evidencekit.models import LedgerEntry

EXCERPT_RULE = "series.complete"


def check_observations(entries: Sequence[LedgerEntry], items: Iterable[str], report: BundleReport) -> None:
    """Check every observation about an exported item; name each series the bundle holds only in part.

    ``entries``: the readable ledger lines; ``items``: the exported items (the signed bundle statement's).
    Facts: ``report.facts["series"]``, one ``{series, items, observations, excerpt, missing}`` per series.
    """
    held = set(items)
    observations = [
        (entry, parsed)
        for entry in entries
        if entry.action == ObservationRecorded.ACTION and entry.subject in held
        if isinstance(parsed := parse(entry), ObservationRecorded)  # damaged details: the rulebook reports them
    ]
    if not observations:
        return
    report.checks.append(
        "each observation of a watched page: its current item is the one it is recorded about, and its previous "
        "and compared-with items are in the bundle (else the bundle is said to hold an excerpt of the series)"
    )
    series: dict[str, dict[str, Any]] = {}
    for entry, observed in observations:
        found = series.setdefault(observed.series, {"items": set(), "observations": [], "missing": {}})
        found["items"].add(entry.subject)
        found["observations"].append(entry.seq)
        if observed.current != entry.subject:
            report.add(
                "observation.subject",
                f"the observation is recorded about {entry.subject} but names {observed.current} as the capture "
                "it observes",
                seq=entry.seq,
            )
        for role, other in (("previous", observed.previous), ("compared with", observed.compared_with)):
            if other is None:
                continue
            if other in held:
                found["items"].add(other)
            else:
                found["missing"].setdefault(other, []).append(f"{role} at seq {entry.seq}")
    report.facts["series"] = [
        {
            "series": key,
            "items": sorted(found["items"]),
            "observations": found["observations"],
            "excerpt": bool(found["missing"]),
            "missing": sorted(found["missing"]),
        }
        for key, found in sorted(series.items())
    ]
    for key, found in sorted(series.items()):
        if found["missing"]:
            named = "; ".join(f"{item} ({', '.join(roles)})" for item, roles in sorted(found["missing"].items()))
            report.not_applied.append(
                NotApplied(
                    EXCERPT_RULE,
                    f"the bundle holds an excerpt of the series {key}: its observations name items that are not "
                    f"in the bundle: {named}; they stay in the case",
                )
            )
