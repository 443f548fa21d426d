"""A real case that mixes everything a court-facing document must state truthfully, exported once.

Captures from the fixture site: a complete page, a page the server answers 404, one answered 410, one cut
off by its time limit (partial), one whose title is megabytes long, and one at a refused address (failed);
then a file added by hand, notes on two items and one on the case. The case's zone is Asia/Kolkata.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casekit import INVESTIGATOR, run_cli

CASE_ID = "TRAF-2026-012"
CASE_ZONE = "Asia/Kolkata"
ITEM_NOTE = "Phone number matches the flyer\nseen at the bus stand"
CASE_NOTE = "Complaint received from the helpline on 1 March"
GONE_NOTE = "The advert was removed before we arrived"
ADD_NOTE = "Flyer handed in by the victim's sister"  # given with `add --note`
TIP_NOTE = "Address from the hotline tip"  # given with `capture --note`


@dataclass(frozen=True)
class MixedBundle:
    case: Path
    root: Path  # the exported bag (a folder)
    items: dict[str, str]  # role in this case -> item id
    ledger: list[dict[str, Any]]  # every ledger entry of the case, as recorded


def _ok(args: list[str]) -> str:
    result = run_cli(args)
    assert result.exit_code in (0, 1), result.output + result.stderr
    return result.stdout


def build_mixed_bundle(folder: Path, base_url: str, dead_url: str) -> MixedBundle:
    assert run_cli(["keys", "generate", "--investigator", INVESTIGATOR]).exit_code == 0
    case = folder / "case"
    init = ["init", str(case), "--case-id", CASE_ID, "--title", "Fake recruitment adverts"]
    result = run_cli([*init, "--investigator", INVESTIGATOR, "--timezone", CASE_ZONE])
    assert result.exit_code == 0, result.output
    at = ["--case", str(case)]
    _ok([*at, "capture", f"{base_url}/jobs/domestic-work.html", f"{base_url}/gone-404.html"])
    _ok([*at, "capture", f"{base_url}/gone-410.html"])
    _ok([*at, "capture", "--timeout", "3s", f"{base_url}/never-finishes.html"])
    _ok([*at, "capture", "--no-mhtml", f"{base_url}/huge-title.html"])
    _ok([*at, "capture", "--timeout", "10s", dead_url, "--note", TIP_NOTE])
    flyer = folder / "flyer.txt"
    flyer.write_text("Work abroad, call +91 98765 43210\n", encoding="utf-8")
    assert run_cli([*at, "add", str(flyer), "--note", ADD_NOTE]).exit_code == 0
    ledger = _ledger(case)
    items = _roles(ledger)
    assert run_cli([*at, "note", ITEM_NOTE, "--item", items["complete"]]).exit_code == 0
    assert run_cli([*at, "note", GONE_NOTE, "--item", items["404"]]).exit_code == 0
    assert run_cli([*at, "note", CASE_NOTE]).exit_code == 0
    root = folder / "bundle"
    result = run_cli([*at, "export", str(root), "--all", "--dir", "--recipient", "Public Prosecutor, Pune"])
    assert result.exit_code == 0, result.output + result.stderr
    return MixedBundle(case, root, items, _ledger(case))


def _ledger(case: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(case / "ledger.sqlite") as conn:
        rows = conn.execute("SELECT entry FROM entries ORDER BY seq").fetchall()
    return [json.loads(raw) for (raw,) in rows]


def _roles(ledger: list[dict[str, Any]]) -> dict[str, str]:
    """Which item is which, from the ledger's own entries."""
    roles: dict[str, str] = {}
    for entry in ledger:
        details, subject = entry.get("details") or {}, entry.get("subject")
        if entry["action"] == "capture.started":
            url = details["url"]
            for needle, role in (
                ("domestic-work", "complete"),
                ("gone-404", "404"),
                ("gone-410", "410"),
                ("never-finishes", "partial"),
                ("huge-title", "huge-title"),
            ):
                if needle in url:
                    roles[role] = subject
        if entry["action"] == "capture.failed":
            roles["failed"] = subject
        if entry["action"] == "file.added":
            roles["file"] = subject
    return roles
