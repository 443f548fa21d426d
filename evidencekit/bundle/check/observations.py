"""The observations of watched pages in a bundle, held to the items the bundle holds.

An ``observation.recorded`` entry (subject: the capture it observes) names the series' ``previous`` attempt
and the capture it was ``compared_with``. A bundle that carries the whole series holds both; one exported
with ``export --no-series`` (or whose other attempts were left out of the selection) is an *excerpt* of the
series: that is no failure, and the verifier says so, naming the items it lacks, so that a reader knows the
history before them is in the case and not in the bundle. An observation recorded about one capture that
names another as its current one contradicts itself, and is a problem.

Since bundles declare their series (bag-info.txt ``Series-Declaration``, signed with the bag: ``declared``),
the verifier holds the bundle to its declaration: a capture declared carried but absent, or a capture declared
observed whose ``observation.recorded`` is absent, is a problem (a thinned bundle, even one signed again by
the key holder, is not passed off as an excerpt); the captures a declared excerpt leaves out are only named.
A bundle without the declaration (made before it existed) keeps the older reading: a note.

The observation's diff files (diff.json, diff.html, visual-diff.png) are artefacts like any other: the
custody check (``check.custody``) holds each to the digests the entry recorded, so an altered diff fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evidencekit.bundle.bagit import parse_bag_info
from evidencekit.bundle.findings import BundleReport, NotApplied
from evidencekit.bundle.layout import SERIES_LABEL
from evidencekit.errors import ValidationError
from evidencekit.ledger.entries import CaptureStarted, ObservationRecorded, parse, series_key
from evidencekit.models import LedgerEntry

EXCERPT_RULE = "series.complete"
UNDECLARED_RULE = "series.observations"


def check_observations(
    entries: Sequence[LedgerEntry],
    items: Iterable[str],
    report: BundleReport,
    declared: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Check every observation about an exported item; name each series the bundle holds only in part.

    ``entries``: the readable ledger lines; ``items``: the exported items (the signed bundle statement's).
    Facts: ``report.facts["series"]``, one ``{series, items, observations, excerpt, missing}`` per series.
    """
    held = set(items)
    if declared:
        _check_declared(entries, held, declared, report)
    else:
        _note_unobserved(entries, held, report)
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
    started_series = _started_series(entries, held)
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
                if started_series.get(other, observed.series) != observed.series:
                    report.add(
                        "observation.series",
                        f"the observation of {entry.subject} ({observed.series}) names {other} as its {role} "
                        f"capture, which is a capture of another URL ({started_series[other]})",
                        seq=entry.seq,
                    )
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
    by_key = {str(d.get("series")): d for d in declared or ()}
    for key, found in sorted(series.items()):
        if key in by_key and by_key[key].get("carried") != "excerpt" and found["missing"]:
            report.add(
                "series.thinned",
                f"the bundle declares the series {key} carried whole, but its observations name items that are "
                f"not in the bundle: {', '.join(sorted(found['missing']))}",
                path="bag-info.txt",
            )
        elif key in by_key:
            continue  # a declared excerpt: named by _check_declared
        elif by_key:
            # The exporter declares every series it touches: one left undeclared was taken out after export.
            report.add(
                "series.undeclared",
                f"the bundle declares its series in bag-info.txt but not the series {key}, whose observations it holds",
                path="bag-info.txt",
            )
        elif found["missing"]:
            named = "; ".join(f"{item} ({', '.join(roles)})" for item, roles in sorted(found["missing"].items()))
            report.not_applied.append(
                NotApplied(
                    EXCERPT_RULE,
                    f"the bundle holds an excerpt of the series {key}: its observations name items that are not "
                    f"in the bundle: {named}; this bundle does not hold them, so they are not checked here",
                )
            )


def _started_series(entries: Sequence[LedgerEntry], held: set[str]) -> dict[str, str]:
    """The series (the normalised URL) of each held capture, by its ``capture.started`` entry."""
    found: dict[str, str] = {}
    for entry in entries:
        if entry.action == CaptureStarted.ACTION and entry.subject in held:
            started = parse(entry)
            if isinstance(started, CaptureStarted):
                found[entry.subject] = series_key(started.url)
    return found


def read_declarations(root: Path, report: BundleReport) -> list[Mapping[str, Any]]:
    """The ``Series-Declaration`` values of bag-info.txt (none in bundles made before they existed)."""
    try:
        fields = parse_bag_info((root / "bag-info.txt").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValidationError):
        return []  # reported by the bag-info check
    declared: list[Mapping[str, Any]] = []
    for label, value in fields:
        if label.lower() != SERIES_LABEL.lower():
            continue
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("captures"), list):
            declared.append(parsed)
        else:
            report.add("bag.series_declaration", f"a {SERIES_LABEL} is not in its recorded form", path="bag-info.txt")
    return declared


def _observed_items(entries: Sequence[LedgerEntry]) -> set[str]:
    return {e.subject for e in entries if e.action == ObservationRecorded.ACTION and e.subject}


def _check_declared(
    entries: Sequence[LedgerEntry], held: set[str], declared: Sequence[Mapping[str, Any]], report: BundleReport
) -> None:
    """Hold the bundle to what bag-info.txt declares of each series (the exporter wrote it; the statement signs
    it): every capture declared carried is held, every capture declared observed has its observation here."""
    report.checks.append(
        "each series the bundle declares (bag-info.txt Series-Declaration): every capture it declares carried "
        "is in the bundle with the observation the case had for it; an excerpt's left-out captures are named"
    )
    observed = _observed_items(entries)
    for series in declared:
        key = str(series.get("series"))
        absent = [i for i in series.get("captures", ()) if i not in held]
        if absent:
            report.add(
                "series.thinned",
                f"the bundle declares that it carries {', '.join(absent)} of the series {key} "
                f"({series.get('carried')}), but they are not in the bundle",
                path="bag-info.txt",
            )
        unobserved = [i for i in series.get("observed", ()) if i in held and i not in observed]
        if unobserved:
            report.add(
                "observation.missing",
                f"the case had an observation.recorded for {', '.join(unobserved)} of the series {key} when the "
                "bundle was made (bag-info.txt says so), but the bundle's ledger lines hold none",
                path="bag-info.txt",
            )
        left = series.get("left_out")
        if series.get("carried") == "excerpt" and isinstance(left, Mapping):
            report.not_applied.append(
                NotApplied(
                    EXCERPT_RULE,
                    f"the bundle holds an excerpt of the series {key}, as it declares: it leaves out "
                    f"{left.get('count')} capture(s) recorded from {left.get('first')} to {left.get('last')} "
                    f"({', '.join(left.get('items', ()))}); this bundle does not hold them, so they are not "
                    "checked here",
                )
            )


def _note_unobserved(entries: Sequence[LedgerEntry], held: set[str], report: BundleReport) -> None:
    """A bundle made before series declarations: a watched capture without its observation is named, since
    the bundle cannot say whether the case had one."""
    observed = _observed_items(entries)
    watched = sorted(
        e.subject
        for e in entries
        if e.action == CaptureStarted.ACTION and e.subject in held and e.details.get("watch")
        if e.subject not in observed
    )
    if watched:
        report.not_applied.append(
            NotApplied(
                UNDECLARED_RULE,
                f"{', '.join(watched)}: watched capture(s) with no observation.recorded in the bundle; the bundle "
                "declares no series, so whether the case had one when it was made cannot be checked",
            )
        )
