"""Watching one ad over time (issue 15): the fixture ad answers v1, v1, v2, 503, 404, 404, 404, then v2 again.

Eight passes of ``watch run --now`` (real processes, real Chromium, the fixture site), ``ledger verify``
after each; then every observation, the removal rule, the intervals' bounds and the ledger entries are
checked. A second watch with a removal span of 2 h shows gone answers too close together not yet declaring
removal. Bad input is one line and exit 2, with nothing recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fixture_site import watchroutes
from watchkit import WatchCase, about, of_action

from evidencekit.ledger.entries import series_key
from evidencekit.workflows.watch.schedule import due_at, jitter_offset, parse_duration

EXPECTED = [  # (availability, content, answer kind) of each pass
    ("online", "not-compared", "ok"),
    ("online", "unchanged", "ok"),
    ("online", "changed", "ok"),
    ("unavailable", "not-compared", "error"),
    ("unavailable", "not-compared", "gone"),
    ("unavailable", "not-compared", "gone"),
    ("removed", "not-compared", "gone"),
    ("reappeared", "unchanged", "ok"),
]


@pytest.fixture(scope="module")
def watched(site: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    case = WatchCase.make(tmp_path_factory.mktemp("watch-ad"))
    key = watchroutes.fresh_key()
    url = site.url(f"/watch/ad/{key}")
    added = case.run_ok(
        "watch", "add", url, "--every", "6h", "--removal-attempts", "3", "--removal-span", "0", "--note", "tip 17"
    )
    reports, verified, requests = [], [], []
    for _ in EXPECTED:
        reports.append(case.watch_run("--now"))
        verified.append(case.verify())
        requests.append(watchroutes.document_requests(key))
    yield {"case": case, "url": url, "key": key, "added": added, "reports": reports, "verified": verified,
           "requests": requests, "entries": case.entries()}  # fmt: skip


def _observations(watched: dict[str, Any]) -> list[dict[str, Any]]:
    return of_action(watched["entries"], "observation.recorded")


def test_every_pass_captures_the_ad_once_and_the_ledger_verifies_after_each(watched):
    assert watched["requests"] == list(range(1, len(EXPECTED) + 1)), "one document request a pass"
    assert all(v["ok"] for v in watched["verified"])
    items = [r["captured"][0]["item"] for r in watched["reports"]]
    assert items == [f"capture-{n:04d}" for n in range(1, 9)]
    assert all(len(r["captured"]) == 1 and not r["interrupted"] for r in watched["reports"])


def test_each_observation_states_availability_content_and_the_answer(watched):
    observations = _observations(watched)
    assert len(observations) == len(EXPECTED)
    got = [
        (o["details"]["availability"], o["details"]["content"], o["details"]["answer"]["kind"]) for o in observations
    ]
    assert got == EXPECTED
    statuses = [o["details"]["answer"]["http_status"] for o in observations]
    assert statuses == [200, 200, 200, 503, 404, 404, 404, 200]
    for n, o in enumerate(observations, 1):
        assert o["subject"] == o["details"]["current"] == f"capture-{n:04d}"
        assert o["details"]["watch"] == "watch-0001" and o["details"]["series"] == series_key(watched["url"])
    # What the command printed is what the ledger holds.
    printed = [r["captured"][0]["observation"] for r in watched["reports"]]
    assert printed == [o["details"] for o in observations]


def test_the_edit_is_told_most_important_first_and_a_reencoded_photo_is_not_a_change(watched):
    changed = _observations(watched)[2]["details"]
    kinds = [c["kind"] for c in changed["changes"]]
    assert kinds[0] == "indicators" and "images" in kinds
    headline = changed["changes"][0]["summary"]
    assert "+44 20 7946 0958" in headline and "+44 20 7946 0321" in headline and "replaced" in headline
    images = next(c["summary"] for c in changed["changes"] if c["kind"] == "images")
    assert images == "1 photo replaced", "photo-b swapped for photo-c; photo-d re-encoded elsewhere is the same"
    assert changed["screenshot_changed"] and float(changed["screenshot_changed"]) > 0
    unchanged = _observations(watched)[1]["details"]
    assert unchanged["changes"] == [] and unchanged["screenshot_changed"] == "0.000000"


def test_previous_and_compared_with_bound_each_interval(watched):
    details = [o["details"] for o in _observations(watched)]
    assert [d["previous"] for d in details] == [None] + [f"capture-{n:04d}" for n in range(1, 8)]
    compared = [d["compared_with"] for d in details]
    assert compared == [None, "capture-0001", "capture-0002"] + ["capture-0003"] * 5
    # capture.started names the series, the watch and the previous attempt (none for the first).
    for n, started in enumerate(of_action(watched["entries"], "capture.started"), 1):
        assert (
            started["details"]["series"] == series_key(watched["url"]) and started["details"]["watch"] == "watch-0001"
        )
        assert started["details"].get("previous") == (f"capture-{n - 1:04d}" if n > 1 else None)


def test_removal_needs_three_consecutive_gone_answers_and_the_503_neither_counts_nor_resets(watched):
    details = [o["details"] for o in _observations(watched)]
    assert details[3].get("removal") is None, "a 503 before any gone answer starts no count"
    counted = [(d["removal"]["answers"], d["removal"]["needed"]) for d in details[4:7]]
    assert counted == [(1, 3), (2, 3), (3, 3)]
    for d in details[4:7]:
        assert d["removal"]["first"] == "capture-0005" and d["removal"]["last_online"] == "capture-0003"
        assert d["removal"]["needed_span_s"] == 0
    assert details[6]["availability"] == "removed" and details[7]["availability"] == "reappeared"
    assert "removal" not in details[7]


def test_the_diff_files_are_stored_artefacts_of_the_observation(watched):
    observations = _observations(watched)
    assert [a["name"] for a in observations[0]["artefacts"]] == [], "nothing to compare the first capture with"
    assert [a["name"] for a in observations[2]["artefacts"]] == ["diff.json", "diff.html", "visual-diff.png"]
    assert all(a["role"] == "diff" for a in observations[2]["artefacts"])
    assert [a["name"] for a in observations[3]["artefacts"]] == [], "an error answer is not compared"
    objects = watched["case"].folder / "objects"
    for artefact in observations[2]["artefacts"]:
        digest = artefact["blake3"].removeprefix("blake3:")
        assert (objects / digest[:2] / digest).stat().st_size == artefact["size"]


def test_the_timeline_gives_the_intervals_from_the_observations(watched):
    shown = watched["case"].run_ok("timeline", watched["url"], "--json").stdout
    intervals = {i["kind"]: i for i in json.loads(shown)["intervals"]}
    assert (intervals["changed"]["start_item"], intervals["changed"]["end_item"]) == ("capture-0002", "capture-0003")
    assert (intervals["removed"]["start_item"], intervals["removed"]["end_item"]) == ("capture-0003", "capture-0005")
    assert intervals["reappeared"]["end_item"] == "capture-0008"


def test_the_watch_is_in_the_ledger_with_its_settings(watched):
    (added,) = of_action(watched["entries"], "watch.added")
    d = added["details"]
    assert d["watch"] == "watch-0001" and d["url"] == watched["url"] and d["note"] == "tip 17"
    assert (d["every_s"], d["jitter_s"], d["removal_attempts"], d["removal_span_s"]) == (21600, 600, 3, 0)
    assert d["notify"] is False and added["subject"] is None
    listed = watched["case"].run_ok("watch", "list").stdout
    assert "watch-0001" in listed and "active" in listed and watched["url"] in listed


def test_a_pass_with_nothing_due_records_nothing(watched):
    case = watched["case"]
    before = len(case.entries())
    report = case.watch_run()
    assert report["captured"] == [] and len(case.entries()) == before


def test_a_removal_span_keeps_gone_answers_too_close_together_from_declaring_removal(site, tmp_path):
    case = WatchCase.make(tmp_path)
    key = watchroutes.fresh_key()
    watchroutes.advance(key, 2)  # past v1, v1: v2 (online: removal needs a sighting), the 503, then three 404s
    case.run_ok("watch", "add", site.url(f"/watch/ad/{key}"), "--removal-attempts", "2", "--removal-span", "2h")
    seen = [case.watch_run("--now")["captured"][0]["observation"] for _ in range(5)][2:]
    assert [s["answer"]["kind"] for s in seen] == ["gone", "gone", "gone"]
    assert [s["availability"] for s in seen] == ["unavailable"] * 3, "three answers, seconds apart: not 2 h"
    assert [s["removal"]["answers"] for s in seen] == [1, 2, 3]
    assert all(s["removal"]["needed_span_s"] == 7200 and s["removal"]["span_s"] < 7200 for s in seen)
    case.verify()


@pytest.fixture(scope="module")
def plain_case(tmp_path_factory: pytest.TempPathFactory) -> WatchCase:
    case = WatchCase.make(tmp_path_factory.mktemp("watch-input"))
    chat = case.folder.parent / "chat.txt"
    chat.write_text("meet at the airport\n", encoding="utf-8")
    case.run_ok("add", str(chat))
    return case


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("watch", "pause", "watch-0042"), "no watch 'watch-0042'"),
        (("watch", "remove", "nonsense"), "no watch 'nonsense'"),
        (("watch", "add", "http://127.0.0.1:9/ad", "--every", "soon"), "--every 'soon' is not a duration"),
        (("watch", "add", "http://127.0.0.1:9/ad", "--removal-span", "2 hours"), "is not a duration"),
        (("watch", "add", "http://127.0.0.1:9/ad", "--follow", "a[[[href"), "is not a CSS selector"),
        (("watch", "add", "http://127.0.0.1:9/ad", "--watch-followed"), "--watch-followed needs --follow"),
        (("watch", "add", "http://127.0.0.1:9/ad", "--ignore", "div[[["), "is not a CSS selector"),
        (("watch", "add", "http://127.0.0.1:9/ad", "--until", "yesterday"), "--until 'yesterday' is not a date"),
        (("watch", "add", "http://127.0.0.1:9/ad", "--until", "2001-01-01"), "is already past"),
        (("watch", "add", "file:///etc/passwd"), ""),
        (("watch", "add", "http://alice:s3cret@127.0.0.1:9/ad"), "holds user info"),
        (("recapture", "file-0001"), "file-0001 is not a capture"),
        (("recapture", "capture-0099"), "no item 'capture-0099'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_with_nothing_recorded(plain_case, args, said):
    before = len(plain_case.entries())
    done = plain_case.run(*args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "s3cret" not in done.stderr
    assert len(lines) == 1 and lines[0].startswith("evidencekit: error: ") and said in lines[0], done.stderr
    assert len(plain_case.entries()) == before


def test_a_recapture_is_linked_to_its_item_and_series_and_observed(watched):
    case = watched["case"]
    done = case.run_ok("recapture", "capture-0008", "--json")
    seen = json.loads(done.stdout)
    assert seen["item"] == "capture-0009" and seen["status"] == "complete"
    entries = case.entries()
    (started,) = about(entries, "capture-0009", "capture.started")
    d = started["details"]
    assert (d["recapture_of"], d["previous"], d["series"]) == (
        "capture-0008",
        "capture-0008",
        series_key(watched["url"]),
    )
    assert "watch" not in d, "a one-off recapture is not the watch's attempt"
    (observed,) = about(entries, "capture-0009", "observation.recorded")
    assert observed["details"] == seen["observation"]
    assert (observed["details"]["availability"], observed["details"]["content"]) == ("online", "unchanged")
    assert observed["details"]["compared_with"] == "capture-0008" and "watch" not in observed["details"]
    case.verify()


def test_redirects_away_and_unavailable_pages_are_gone_answers_a_refused_connection_is_not(site, tmp_path, dead_url):
    case = WatchCase.make(tmp_path)
    moved = {name: site.url(f"/watch/moved/{name}") for name in ("login", "home", "unavailable")}
    case.run_ok("watch", "add", *moved.values(), dead_url, "--removal-attempts", "1", "--removal-span", "0")
    report = case.watch_run("--now", "--timeout", "20s")
    seen = {s["url"]: s["observation"] for s in report["captured"]}
    answers = {url: observed["answer"] for url, observed in seen.items()}
    assert {u: answers[u]["kind"] for u in moved.values()} == dict.fromkeys(moved.values(), "gone")
    assert "sign-in page" in answers[moved["login"]]["why"]
    assert "home page" in answers[moved["home"]]["why"]
    assert "no longer available" in answers[moved["unavailable"]]["why"]
    # Never seen online (gone from the first capture): counted, never declared removed, a claim that the page
    # was online and then went.
    assert all(seen[u]["availability"] == "unavailable" for u in moved.values())
    assert all(
        seen[u]["removal"]["never_online"] is True and seen[u]["removal"]["answers"] == 1 for u in moved.values()
    )
    refused = seen[dead_url]
    assert refused["answer"]["kind"] == "error" and refused["availability"] == "unavailable"
    assert "removal" not in refused, "a refused connection says nothing of the page: it does not count"
    case.verify()


def test_a_watch_past_its_until_is_ended_instead_of_captured(tmp_path):
    case = WatchCase.make(tmp_path)
    end = datetime.now(UTC) + timedelta(seconds=12)  # room for a slow start of `watch add` on a busy machine
    soon = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    case.run_ok("watch", "add", "http://127.0.0.1:9/never-captured", "--until", soon)
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 1)
    report = case.watch_run()
    assert report["ended"] == ["watch-0001"] and report["captured"] == []
    (changed,) = of_action(case.entries(), "watch.changed")
    assert changed["details"]["state"] == "ended" and soon.removesuffix("Z") in changed["details"]["reason"]
    assert "ended" in case.run_ok("watch", "list").stdout
    assert case.watch_run("--now")["captured"] == [], "an ended watch is never captured again"
    case.verify()


def test_pause_resume_remove_are_recorded_and_a_removed_watch_stays_removed(tmp_path):
    case = WatchCase.make(tmp_path)
    case.run_ok("watch", "add", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b")
    for args in (("pause", "watch-0001"), ("resume", "watch-0001"), ("remove", "watch-0002")):
        case.run_ok("watch", *args)
    states = [e["details"]["state"] for e in of_action(case.entries(), "watch.changed")]
    assert states == ["paused", "active", "removed"]
    again = case.run("watch", "resume", "watch-0002")
    assert again.returncode == 2 and "watch-0002 is removed" in again.stderr
    duplicate = case.run("watch", "add", "HTTP://127.0.0.1:9/a#top")
    assert duplicate.returncode == 2 and "already watched by watch-0001" in duplicate.stderr
    listed = json.loads(case.run_ok("watch", "list", "--json").stdout)
    assert [(w["watch"], w["state"]) for w in listed] == [("watch-0001", "active"), ("watch-0002", "removed")]
    case.verify()


def test_durations_and_the_schedule():
    assert [parse_duration(t, what="--every") for t in ("6h", "10m", "90s", "0", "1h30m", "2d", "45")] == [
        21600, 600, 90, 0, 5400, 172800, 45,
    ]  # fmt: skip
    offsets = {jitter_offset("watch-0001", n, 600) for n in range(50)}
    assert all(0 <= o <= 600 for o in offsets) and len(offsets) > 10
    assert jitter_offset("watch-0001", 7, 600) == jitter_offset("watch-0001", 7, 600)
    last = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    due = due_at("watch-0001", 3600, 600, last, 1)
    assert due is not None and timedelta(hours=1) <= due - last <= timedelta(hours=1, minutes=10)
    assert due_at("watch-0001", 3600, 600, None, 0) is None
