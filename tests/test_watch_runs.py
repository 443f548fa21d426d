"""``watch run`` as cron and systemd run it (issue 15): one run at a time; a run killed with SIGKILL half way
loses nothing and doubles nothing; ``--loop`` stops within seconds on SIGTERM, after recording what it began.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import pytest
from watchkit import WatchCase, about, of_action, wait_for


def _started(case: WatchCase) -> int:
    return len(of_action(case.entries(), "capture.started"))


def test_a_second_run_exits_at_once_while_one_is_going(site: Any, tmp_path: Any) -> None:
    case = WatchCase.make(tmp_path)
    case.run_ok("watch", "add", site.url("/slow.html?delay=6"))
    first = case.start("watch", "run", "--now")
    try:
        wait_for(lambda: _started(case) == 1, 60, "the first run's capture to start")
        before = len(case.entries())
        began = time.monotonic()
        second = case.run("watch", "run", "--now")
        took = time.monotonic() - began
        assert second.returncode == 1 and took < 5, (second.returncode, took)
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "another `watch run` is already running" in lines[0], second.stderr
        assert second.stdout == ""
        assert len(case.entries()) == before or _started(case) == 1, "the second run recorded nothing"
    finally:
        _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert _started(case) == 1 and len(of_action(case.entries(), "observation.recorded")) == 1
    case.verify()


def test_a_run_killed_half_way_loses_nothing_and_doubles_nothing(site: Any, tmp_path: Any) -> None:
    case = WatchCase.make(tmp_path)
    case.run_ok("watch", "add", site.url("/tall.html"), site.url("/slow.html?delay=40"), "--every", "1h")
    case.run_ok("watch", "run", "--now", "--timeout", "3s")  # a first attempt of each: the next is compared
    before = _started(case)
    run = case.start("watch", "run", "--now", "--concurrency", "2")
    try:

        def tall_completed() -> bool:
            entries = case.entries()
            started = [e for e in of_action(entries, "capture.started")[before:] if "tall" in e["details"]["url"]]
            return bool(started) and bool(about(entries, started[0]["subject"], "capture.completed"))

        wait_for(tall_completed, 90, "the tall page's capture to be recorded")
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.communicate(timeout=30)
    killed = case.entries()
    tall, slow = (e["subject"] for e in of_action(killed, "capture.started")[before:])
    lacked = not about(killed, tall, "observation.recorded")
    assert not about(killed, slow, "capture.completed") and not about(killed, slow, "capture.failed")

    again = case.run_ok("watch", "run", "--json")
    report = json.loads(again.stdout)
    entries = case.entries()
    assert about(entries, slow, "capture.abandoned"), "the killed capture is recorded abandoned"
    assert report["caught_up"] == ([tall] if lacked else [])
    # Nothing was due: the killed attempts are skipped, and the first run's attempts are minutes old.
    assert report["captured"] == [], report
    for started in of_action(entries, "capture.started"):
        item = started["subject"]
        ended = about(entries, item, "capture.completed") + about(entries, item, "capture.failed")
        assert len(about(entries, item, "observation.recorded")) == (1 if ended else 0), item
    observed = about(entries, tall, "observation.recorded")[0]["details"]
    assert observed["content"] == "unchanged" and observed["availability"] == "online"
    case.verify()
    # Nothing is observed twice, however often the next runs come.
    case.run_ok("watch", "run")
    assert len(case.entries()) == len(entries)


@pytest.mark.parametrize(
    ("during_a_pass", "sigint_ignored"),
    [(False, False), (True, False), (True, True)],
    ids=["between passes", "during a pass", "during a pass, started as a script's background job"],
)
def test_loop_stops_on_sigterm_within_seconds(
    site: Any, tmp_path: Any, during_a_pass: bool, sigint_ignored: bool
) -> None:
    case = WatchCase.make(tmp_path)
    page = "/slow.html?delay=30" if during_a_pass else "/jobs/domestic-work.html"
    case.run_ok("watch", "add", site.url(page), "--every", "1h")
    loop = case.start("watch", "run", "--loop", "--timeout", "60s", sigint_ignored=sigint_ignored)
    try:
        if during_a_pass:
            wait_for(lambda: _started(case) == 1, 60, "the capture to start")
            time.sleep(1.0)
        else:
            wait_for(lambda: of_action(case.entries(), "observation.recorded"), 90, "the first pass")
        began = time.monotonic()
        loop.send_signal(signal.SIGTERM)
        _out, err = loop.communicate(timeout=30)
        took = time.monotonic() - began
    finally:
        if loop.poll() is None:
            loop.kill()
    assert loop.returncode == 0, err
    assert took < 10, took
    entries = case.entries()
    (started,) = of_action(entries, "capture.started")
    item = started["subject"]
    ended = about(entries, item, "capture.completed") + about(entries, item, "capture.failed")
    assert len(ended) == 1, "the capture in progress wrapped up and was recorded, not abandoned"
    if during_a_pass:
        assert ended[0]["details"]["status"] in ("partial", "failed")
    assert len(about(entries, item, "observation.recorded")) == 1
    case.verify()
