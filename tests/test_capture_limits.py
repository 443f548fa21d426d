"""Real Chromium at the edges: a page that never stops loading, a refused connection, a URL that is a
download, and Ctrl-C in the middle of a batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fixture_site import WWW, FixtureSite
from warcio.archiveiterator import ArchiveIterator

from evidencekit.capture import GRACE_S, CaptureOptions, capture_many
from evidencekit.schemas import schema_problems

TESTS = Path(__file__).resolve().parent


def _folder(result: object) -> Path:
    return next(f.path for f in result.files if f.artefact.name == "metadata.json").parent  # type: ignore[attr-defined]


def test_a_page_that_never_finishes_loading_is_partial_within_timeout_and_grace(
    site: FixtureSite, tmp_path: Path
) -> None:
    timeout = 6.0
    started = time.monotonic()
    (result,) = capture_many([site.url("/never-finishes.html")], CaptureOptions(timeout_s=timeout), tmp_path)
    elapsed = time.monotonic() - started
    assert result.status == "partial"
    codes = {reason.split(":", 1)[0] for reason in result.reasons}
    assert {"load-timeout", "page-still-loading"} <= codes
    # the capture itself ends by the timeout plus grace; browser start and stop come on top
    meta = json.loads((_folder(result) / "metadata.json").read_text(encoding="utf-8"))
    assert meta["times"]["duration_ms"] <= (timeout + GRACE_S) * 1000
    assert elapsed < timeout + GRACE_S + 10
    assert schema_problems("capture", meta) == []
    assert meta["page"]["load_event"] is False
    assert meta["requests"]["unfinished"] >= 1
    names = {f.artefact.name for f in result.files}
    assert {"screenshot.png", "screenshot-viewport.png", "dom.html", "text.txt"} <= names
    with (_folder(result) / "capture.warc.gz").open("rb") as stream:
        hanging = [
            r
            for r in ArchiveIterator(stream)
            if r.rec_type == "response" and r.rec_headers.get_header("WARC-Target-URI").endswith("/hang/forever.jpg")
        ]
    assert [r.rec_headers.get_header("WARC-Truncated") for r in hanging] == ["time"]


def test_a_refused_connection_fails_with_one_line(dead_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    (result,) = capture_many([dead_url], CaptureOptions(timeout_s=20), tmp_path)
    assert result.status == "failed"
    assert result.error is not None and "\n" not in result.error
    assert "refused the connection" in result.error and "ERR_CONNECTION_REFUSED" in result.error
    assert time.monotonic() - started < 20
    meta = json.loads((_folder(result) / "metadata.json").read_text(encoding="utf-8"))
    assert meta["status"] == "failed" and meta["error"] == result.error
    assert schema_problems("capture", meta) == []


def test_no_response_before_the_timeout_fails_with_one_line(site: FixtureSite, tmp_path: Path) -> None:
    (result,) = capture_many([site.url("/slow.html?delay=8")], CaptureOptions(timeout_s=2), tmp_path)
    assert result.status == "failed"
    assert result.error == "no response from 127.0.0.1 within 2s"


def test_a_url_that_is_a_download_keeps_the_file(site: FixtureSite, tmp_path: Path) -> None:
    (result,) = capture_many([site.url("/download/contract.pdf")], CaptureOptions(timeout_s=20), tmp_path)
    assert result.status == "partial"
    assert any(reason.startswith("download-instead-of-page:") for reason in result.reasons)
    kept = _folder(result) / "downloads" / "contract.pdf"
    assert kept.read_bytes() == (WWW / "download" / "contract.pdf").read_bytes()
    assert not list(tmp_path.glob(".downloads-*"))


_INTERRUPTED_RUN = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from fixture_site import FixtureSite
    from evidencekit.capture import CaptureOptions, capture_many, was_interrupted

    with FixtureSite() as site:
        urls = [site.url(p) for p in ("/jobs/domestic-work.html", "/never-finishes.html",
                                      "/slow.html?delay=60", "/lazy.html")]
        results = capture_many(
            urls, CaptureOptions(timeout_s=90), Path({work!r}), concurrency=2,
            on_started=lambda i, u: print("started", i, flush=True),
            on_finished=lambda i, r: print("finished", i, r.status, flush=True),
        )
        summary = [[r.status, r.error, was_interrupted(r), len(r.files)] for r in results]
        print("RESULT " + json.dumps(summary), flush=True)
    """
)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path: Path) -> None:
    work = tmp_path / "work"
    script = _INTERRUPTED_RUN.format(tests=str(TESTS), work=str(work))
    # A new session, like a terminal's foreground job: Ctrl-C reaches every process in the group.
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 90
        while not {"finished 0 complete", "started 2"} <= set(seen):
            line = child.stdout.readline()
            assert line and time.monotonic() < deadline, (seen, child.stderr.read() if child.stderr else "")
            seen.append(line.strip())
        time.sleep(1.0)  # let capture 2 reach the slow server
        interrupted_at = time.monotonic()
        os.killpg(child.pid, signal.SIGINT)
        rest, errors = child.communicate(timeout=GRACE_S * 3)
        stopped_after = time.monotonic() - interrupted_at
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 0, errors[-3000:]
    assert stopped_after < GRACE_S * 2
    lines = seen + rest.splitlines()
    summary = json.loads(next(line for line in lines if line.startswith("RESULT "))[len("RESULT ") :])
    first, never, slow, unstarted = summary
    assert first[:3] == ["complete", None, False]
    assert never[0] == "partial" and never[2] is True  # the page answered: what was gathered is kept
    assert slow[:3] == ["failed", "interrupted", True]  # no response yet: nothing but the record
    assert unstarted == ["failed", "interrupted", True, 0]
    # every capture that started was reported as finished; the one never started was not reported at all
    assert {"finished 1 partial", "finished 2 failed"} <= set(lines)
    assert "started 3" not in lines
    assert "Traceback" not in errors
    assert not list(work.glob(".downloads-*"))
    for folder in work.iterdir():
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        assert schema_problems("capture", meta) == []
