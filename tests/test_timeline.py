"""``timeline`` end to end: a real case, a real plain capture, then real ``watch add`` and ``watch run --now``
passes (real Chromium) against the fixture site's counter ad (v1, v1, v2, 503, 404 x3, v2 again), then
``timeline --json`` and its text view, every command a real subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_subprocess, verify_json
from fixture_site import watchroutes

PASSES = 7  # after the plain capture (v1): v1, v2, 503, 404, 404, 404, v2


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory, site) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("timeline")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        mp.setenv("EVIDENCEKIT_OFFLINE", "1")
        case = make_case(root / "case")
        url = site.url(f"/watch/ad/{watchroutes.fresh_key()}")
        plain = run_subprocess(["--case", str(case), "capture", url, "--timeout", "30"])
        assert plain.returncode == 0, plain.stderr
        added = run_subprocess(
            ["--case", str(case), "watch", "add", url, "--removal-attempts", "3", "--removal-span", "0"]
        )
        assert added.returncode == 0, added.stderr
        for _ in range(PASSES):
            ran = run_subprocess(["--case", str(case), "watch", "run", "--now", "--timeout", "30s"], timeout=300)
            assert ran.returncode == 0, ran.stderr
        as_json = run_subprocess(["--case", str(case), "timeline", url, "--json"])
        assert as_json.returncode == 0, as_json.stderr
        text = run_subprocess(["--case", str(case), "timeline", "capture-0004"])
        assert text.returncode == 0, text.stderr
        yield {"case": case, "url": url, "doc": json.loads(as_json.stdout), "text": text.stdout}


def test_every_attempt_has_its_item_time_availability_and_verdict(watched: dict[str, Any]) -> None:
    doc = watched["doc"]
    assert doc["series"] == watched["url"]
    assert doc["watches"] == ["watch-0001"]
    attempts = doc["attempts"]
    assert [a["item"] for a in attempts] == [f"capture-{n:04d}" for n in range(1, PASSES + 2)]
    assert [a["http_status"] for a in attempts] == [200, 200, 200, 503, 404, 404, 404, 200]
    # The plain capture of the watched URL is observed by the first pass (before it captures), like the
    # watch's own attempts: online, nothing before it to compare with.
    assert [a["availability"] for a in attempts] == [
        "online", "online", "online", "unavailable", "unavailable", "unavailable", "removed", "reappeared",
    ]  # fmt: skip
    assert [a["content"] for a in attempts][:3] == ["not-compared", "unchanged", "changed"]
    assert [a["watch"] for a in attempts] == [None] + ["watch-0001"] * PASSES
    assert all(a["time"] and a["outcome"] in ("complete", "partial", "failed") for a in attempts)
    assert "phone" in (attempts[2]["headline"] or "").lower()


def test_the_intervals_bound_online_changed_removed_and_reappeared(watched: dict[str, Any]) -> None:
    attempts = {a["item"]: a for a in watched["doc"]["attempts"]}
    intervals = watched["doc"]["intervals"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for interval in intervals:
        by_kind.setdefault(interval["kind"], []).append(interval)
    assert [i["kind"] for i in intervals] == ["online", "changed", "removed", "reappeared", "online"]  # story order
    (changed,) = by_kind["changed"]
    assert (changed["start_item"], changed["end_item"]) == ("capture-0002", "capture-0003")
    assert (changed["start_time"], changed["end_time"]) == (
        attempts["capture-0002"]["started_at"],  # the lower bound: the start of the capture that saw v1
        attempts["capture-0003"]["time"],
    )
    online, back = by_kind["online"]
    assert (online["start_item"], online["end_item"]) == ("capture-0001", "capture-0003")
    assert online["words"].startswith("seen online at each of 3 captures from "), "sightings, not 'between'"
    (removed,) = by_kind["removed"]
    assert (removed["start_item"], removed["end_item"]) == ("capture-0003", "capture-0005")
    assert f"confirmed at {attempts['capture-0007']['time']} (capture-0007) after 3 answers over " in removed["words"]
    (reappeared,) = by_kind["reappeared"]
    assert (reappeared["start_item"], reappeared["end_item"]) == ("capture-0007", "capture-0008")
    back_at = attempts["capture-0008"]
    assert back["words"] == f"online during {back_at['started_at']} – {back_at['time']} (capture-0008)"


def test_the_text_view_lists_every_attempt_then_the_intervals(watched: dict[str, Any]) -> None:
    lines = watched["text"].splitlines()
    assert lines[0] == f"URL: {watched['url']}"
    assert lines[2] == "Watches: watch-0001"
    for interval in watched["doc"]["intervals"]:
        assert f"  {interval['words']}" in lines
    rows = [line for line in lines if "  capture-00" in line and not line.startswith(" ")]
    assert len(rows) == PASSES + 1
    assert "HTTP 503  unavailable  not-compared" in rows[3]
    assert "removed (3 of 3 gone answers)" in rows[6]


def test_the_case_verifies_and_an_unknown_url_is_one_line_exit_2(watched: dict[str, Any]) -> None:
    code, report = verify_json(watched["case"])
    assert code == 0 and report["ok"], report
    unknown = run_subprocess(["--case", str(watched["case"]), "timeline", watched["url"] + "-never"])
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_a_folder_that_is_no_case_is_a_usage_error(tmp_path: Path) -> None:
    ran = run_subprocess(["--case", str(tmp_path), "timeline", "capture-0001"])
    assert ran.returncode == 2 and len(ran.stderr.strip().splitlines()) == 1
