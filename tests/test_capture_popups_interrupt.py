"""Ctrl-C while a page's pop-ups are being wrapped up (issue 16, review M2): the page's capture is
recorded as interrupted at once, with what it and its pop-up obtained, and the page's media are not
fetched after Ctrl-C (before: the interruption was swallowed, and the run went on to fetch the page's
video, which the server never finishes). Real Chromium, the fixture site, the CLI in a real process."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, start_subprocess
from fixture_site import FixtureSite

OPENER = "/popups16/stalled-video-opener.html"  # a <video> the server never finishes; opens a hanging pop-up
# The page itself settles within a few seconds; its pop-up runs until the page's deadline (--timeout 30),
# so this long after the pop-up's first picture was asked for, the page's capture waits on its pop-up.
IN_WRAP_UP_S = 8.0


def _entries(case: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


def test_ctrl_c_while_pop_ups_are_wrapped_up_ends_the_run_at_once_without_fetching_media(
    tmp_path: Path, site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    case = make_case(tmp_path / "case")
    before = len(site.requests)
    proc = start_subprocess(
        ["--case", str(case), "capture", "--timeout", "30", "--media-timeout", "90s", site.url(OPENER)]
    )
    deadline = time.monotonic() + 90
    while ("GET", "/hang/popup16-a.jpg") not in site.requests.snapshot()[before:]:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("the pop-up never opened")
        time.sleep(0.1)
    time.sleep(IN_WRAP_UP_S)
    assert proc.poll() is None
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert time.monotonic() - interrupted < 15, (out, err)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    # The page's video was never asked for after Ctrl-C (nor before: the browser did not preload it).
    assert not any(path == "/media/stall.mp4" for _method, path in site.requests.snapshot()[before:])
    entries = _entries(case)
    opener = next(e for e in entries if e["action"] == "capture.completed" and e["subject"] == "capture-0001")
    assert opener["details"]["status"] == "partial"
    assert any("interrupted" in str(reason) for reason in opener["details"]["reasons"]), opener["details"]
    (opened,) = opener["details"]["opened"]
    popup = next(
        e
        for e in entries
        if e["subject"] == opened and e["action"].startswith("capture.") and e["action"] != "capture.started"
    )
    assert popup["details"]["status"] in {"partial", "failed"}
