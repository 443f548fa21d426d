"""The item files export makes from ledger facts, held to the ledger lines the bundle carries.

No ledger digest covers a file made at export (an added file's metadata.json, a capture's capture.wacz), so
the manifests and the bundle statement are all that vouch for it, and an insider holding the investigator's
key can sign them again. What such a file may say is fixed by the ledger, though: the verifier rebuilds it
from the bundle's own ledger lines with the exporter's functions (``bundle.derived``) and reports each
difference, naming the item and the file. It also reports any file in an item's folder that neither the
ledger names nor export makes, and each exported item whose creating entry the excerpt lacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evidencekit.bundle.check.waczbind import CaptureRecord, check_wacz_binding
from evidencekit.bundle.derived import (
    METADATA_NAME,
    capture_warc,
    item_artefacts,
    item_metadata,
    makes_metadata,
    metadata_bytes,
    shipped_analysis,
    wacz_facts,
)
from evidencekit.bundle.findings import BundleReport
from evidencekit.bundle.layout import ANALYSIS, ITEMS, WACZ_NAME, analysis_path, artefact_path
from evidencekit.ledger.entries import CaseOpened, group_items, parse
from evidencekit.models import LedgerEntry, Problem

# How far past the expected length a metadata.json is read, to say where it differs; a file grown larger is
# still a difference, and is never read whole.
_SLACK = 16 * 1024**2


def check_derived(
    root: Path,
    entries: Sequence[LedgerEntry],
    items: Iterable[str],
    created: str | None,
    sound_waczs: set[str],
    report: BundleReport,
) -> None:
    """Check each exported item's files made at export against ``entries`` (the readable ledger lines).

    ``created``: the bundle's creation time from its signed statement (None when it cannot be read);
    ``sound_waczs``: the bundle paths of the WACZ files ``check_wacz`` found intact, the only ones read here.
    """
    report.checks.append(
        "files made at export against the bundle's ledger lines: each added item's metadata.json; each capture's "
        "WACZ holds that capture's recorded WARC, its index, and the page URL, title and time the ledger recorded"
    )
    grouped = group_items(entries)
    case_id = _case_id(entries)
    items = set(items)
    _check_item_folders(root, items, report)
    _check_analysis_folder(root, entries, report)
    for item_id in sorted(items):
        item_entries = grouped.get(item_id)
        if not item_entries:
            report.add(
                "item.unrecorded",
                f"item {item_id} is in the bundle, but the ledger excerpt holds no entry that created it",
                path=f"{ITEMS}/{item_id}",
            )
            continue
        _check_unaccounted(root, item_id, item_entries, report)
        if makes_metadata(item_entries):
            _check_metadata(root, item_id, item_entries, report)
        warc = capture_warc(item_entries)
        if warc is None:
            continue
        rel = artefact_path(item_id, WACZ_NAME)
        if not (root / rel).is_file():
            report.add("wacz.missing", f"item {item_id} is a web capture, and export makes its {WACZ_NAME}", path=rel)
        elif case_id is None:
            report.warnings.append(
                Problem(
                    "wacz.binding_not_checked",
                    f"the ledger excerpt holds no readable case.opened, so the WACZ of item {item_id} was not "
                    "compared with what export writes",
                    path=rel,
                )
            )
        elif rel not in sound_waczs:
            report.warnings.append(
                Problem(
                    "wacz.binding_not_checked",
                    f"the WACZ of item {item_id} is damaged (see wacz.invalid), so whether it was made from the "
                    "item's recorded WARC was not checked",
                    path=rel,
                )
            )
        else:
            record = CaptureRecord(
                item_id=item_id,
                warc=warc,
                warc_seq=next(e.seq for e in item_entries if warc in e.artefacts),
                completed_seq=next((e.seq for e in item_entries if e.action == "capture.completed"), None),
                facts=wacz_facts(case_id, item_id, item_entries, created or ""),
            )
            check_wacz_binding(root / rel, rel, record, created, report)


def _case_id(entries: Sequence[LedgerEntry]) -> str | None:
    """The case id of the bundle's case.opened line, as export takes it for the WACZ's title."""
    for entry in entries:
        if entry.action == CaseOpened.ACTION:
            parsed = parse(entry)
            return parsed.case.case_id if isinstance(parsed, CaseOpened) else None
    return None


def _check_item_folders(root: Path, items: set[str], report: BundleReport) -> None:
    """data/items holds one folder per exported item and nothing else."""
    folder = root / ITEMS
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.is_dir() and path.name in items:
            continue
        what = "a folder of an item" if path.is_dir() else "a file"
        report.add(
            "payload.unaccounted",
            f"{what} that the signed bundle statement does not list among the exported items",
            path=path.relative_to(root).as_posix(),
        )


def _check_analysis_folder(root: Path, entries: Sequence[LedgerEntry], report: BundleReport) -> None:
    """data/analysis holds the artefacts of the excerpt's newest analysis.recorded entry, nothing else."""
    folder = root / ANALYSIS
    if not folder.is_dir():
        return  # the artefact check reports a recorded exhibit that is missing
    analysis = shipped_analysis(entries)
    expected = {analysis_path(a.name) for a in analysis.artefacts} if analysis is not None else set()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in expected:
            report.add(
                "payload.unaccounted",
                "in data/analysis, but not an exhibit of the analysis.recorded entry the bundle's ledger excerpt "
                "carries",
                path=rel,
            )


def _check_unaccounted(root: Path, item_id: str, entries: Sequence[LedgerEntry], report: BundleReport) -> None:
    """An item's folder holds the artefacts its entries name and the files export makes for it, nothing else."""
    folder = root / ITEMS / item_id
    if not folder.is_dir():
        return  # the statement check reports an exported item that is missing
    expected = {artefact_path(item_id, a.name) for a in item_artefacts(entries)} | {
        artefact_path(item_id, METADATA_NAME)
    }
    if capture_warc(entries) is not None:
        expected.add(artefact_path(item_id, WACZ_NAME))
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in expected:
            report.add(
                "payload.unaccounted",
                f"in item {item_id}'s folder, but neither named by a ledger entry nor made by export",
                path=rel,
            )


def _check_metadata(root: Path, item_id: str, entries: Sequence[LedgerEntry], report: BundleReport) -> None:
    rel = artefact_path(item_id, METADATA_NAME)
    path = root / rel
    if not path.is_file():
        report.add(
            "metadata.missing", f"export makes a {METADATA_NAME} for item {item_id}, and it is missing", path=rel
        )
        return
    expected_value = item_metadata(item_id, entries)
    expected = metadata_bytes(expected_value)
    with path.open("rb") as stream:
        actual = stream.read(len(expected) + _SLACK)
    if actual == expected:
        return
    report.add(
        "metadata.derived_differs",
        f"item {item_id}'s {METADATA_NAME} is not what export makes from the ledger lines the bundle carries "
        f"({_difference(actual, expected_value)})",
        path=rel,
    )


def _difference(actual: bytes, expected: dict[str, Any]) -> str:
    """Where the file departs from the expected value: the first field that differs, or its form."""
    try:
        value = json.loads(actual)
    except (ValueError, RecursionError):
        return "it is not the JSON export writes"
    if not isinstance(value, dict):
        return "it is not a JSON object"
    return _field_difference(value, expected, "") or "the same values, written in another form"


def _field_difference(value: dict[str, Any], expected: dict[str, Any], prefix: str) -> str | None:
    for key in sorted(set(expected) | set(value)):
        name = prefix + key
        if key not in value:
            return f"it lacks {name}"
        if key not in expected:
            return f"it adds {name}, which export never writes"
        if value[key] != expected[key]:
            if isinstance(value[key], dict) and isinstance(expected[key], dict):
                return _field_difference(value[key], expected[key], name + ".")
            return f"its {name} differs from the ledger's"
    return None
