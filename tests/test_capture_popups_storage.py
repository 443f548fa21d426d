"""A pop-up whose file changed between capture and storage (issue 16, review m9): the pop-up is recorded
as failed, with none of its files, and its opener is recorded as ever (before, the whole result, the
opener's included, went unrecorded). Real Chromium, the fixture site, a real case; the change to the
file is made by the test between capture and storage, as a disk or another process could."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_cli
from fixture_site import FixtureSite

from evidencekit.capture import CaptureOptions
from evidencekit.models import CaptureResult
from evidencekit.workflows import capturing
from evidencekit.workflows.opencase import Session


def _entries(case: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


def test_a_pop_up_file_changed_before_storage_fails_the_pop_up_alone(
    tmp_path: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(tmp_path / "case")
    real_capture_many = capturing.capture_many

    def changing_a_pop_up_file(*args: Any, on_finished: Any, **kwargs: Any) -> list[CaptureResult]:
        def finished(index: int, result: CaptureResult) -> None:
            for popup in result.popups:
                dom = next(f for f in popup.files if f.artefact.name == "dom.html")
                with dom.path.open("ab") as changed:
                    changed.write(b"<!-- changed -->")
            on_finished(index, result)

        return real_capture_many(*args, on_finished=finished, **kwargs)

    monkeypatch.setattr(capturing, "capture_many", changing_a_pop_up_file)
    url = site.url("/popups16/open/stored-change?n=1")
    (outcome,) = capturing.capture_urls(Session(case, dict(os.environ)), [url], CaptureOptions(timeout_s=10))
    assert outcome.status == "complete"
    (popup,) = outcome.popups
    assert popup.status == "failed" and popup.result.artefacts == ()
    assert popup.result.error is not None and "dom.html changed between capture and storage" in popup.result.error
    entries = _entries(case)
    opener = next(e for e in entries if e["subject"] == "capture-0001" and e["action"] == "capture.completed")
    assert opener["details"]["opened"] == ["capture-0002"] and opener["artefacts"]
    failed = next(e for e in entries if e["subject"] == "capture-0002" and e["action"] == "capture.failed")
    assert failed["artefacts"] == [] and failed["details"]["metadata"] is None
    started = next(e for e in entries if e["subject"] == "capture-0002" and e["action"] == "capture.started")
    assert started["details"]["opened_by"] == "capture-0001" and started["details"]["opened_at"]
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0
