"""Recording off the capture loop: the case's writer thread, its order, and how its failure stops a run.

Real Chromium against the fixture site, real cases with a real investigator key, the real CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from casekit import make_case, run_cli, start_subprocess

from evidencekit.capture import CaptureOptions
from evidencekit.timefmt import utc_now
from evidencekit.workflows.capturing import capture_urls
from evidencekit.workflows.opencase import Session


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return make_case(tmp_path / "case")


def _entries(case: Path) -> list[dict]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


class _SlowClock:
    """The ledger's clock, read once inside every append: it notes the thread that appends and, once
    ``slow`` is set, takes ``delay`` seconds, as a ledger on a slow or busy disk would."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.slow = False
        self.threads: set[int] = set()

    def __call__(self) -> datetime:
        if self.slow:
            self.threads.add(threading.get_ident())
            time.sleep(self.delay)
        return utc_now()


@contextmanager
def _ticker(delays: list[float], interval: float = 0.010) -> Iterator[None]:
    """A ticker on every event loop made meanwhile (capture_many makes its own): each delay it sees."""

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + interval
            await asyncio.sleep(interval)
            delays.append(loop.time() - due)

    class Ticking(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            loop = super().new_event_loop()
            loop.call_soon(lambda: loop.create_task(tick()))
            return loop

    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(Ticking())
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(previous)


def test_recording_runs_on_one_thread_off_the_loop_and_never_stalls_it(case: Path, site) -> None:
    # Every ledger append takes 1.2 s: recorded on the loop, a capture's end (its entry and the signed
    # checkpoint) would stop the loop for 2.4 s and its start for 1.2 s; a busy machine alone has kept it
    # from running for up to 0.6 s.
    clock = _SlowClock(1.2)
    session = Session(case, dict(os.environ), clock=clock)
    urls = [site.url("/jobs/domestic-work.html"), site.url("/iframe.html"), site.url("/jobs/multilingual.html")]
    delays: list[float] = []
    clock.slow = True
    with _ticker(delays):
        outcomes = capture_urls(session, urls, CaptureOptions(timeout_s=60), concurrency=2)
    assert [o.url for o in outcomes] == urls
    assert {o.status for o in outcomes} <= {"complete", "partial"}
    assert len(clock.threads) == 1  # one writer
    assert threading.get_ident() not in clock.threads  # and not the thread the capture loop ran on
    assert len(delays) > 50
    assert max(delays) < clock.delay, sorted(delays)[-5:]
    # what the slow writer recorded is all there, and the ledger verifies
    done = [e for e in _entries(case) if e["action"] == "capture.completed"]
    assert sorted(e["subject"] for e in done) == ["capture-0001", "capture-0002", "capture-0003"]
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0


def test_a_batch_at_concurrency_4_is_recorded_in_order_and_complete(case: Path, site) -> None:
    pages = ["/jobs/domestic-work.html", "/jobs/multilingual.html", "/iframe.html", "/consent.html"]
    urls = [site.url(f"{page}?copy={n}") for n in range(2) for page in pages] + [site.url("/gone-404.html")]
    proc = subprocess.run(
        [sys.executable, "-m", "evidencekit", "--case", str(case), "capture", *urls, "--concurrency", "4", "--json"],
        capture_output=True,
        text=True,
        timeout=400,
        env=dict(os.environ),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcomes = json.loads(proc.stdout)
    # item ids follow the order the captures began, which is the order of the URLs
    assert [(o["item_id"], o["url"]) for o in outcomes] == [(f"capture-{n:04d}", u) for n, u in enumerate(urls, 1)]
    entries = _entries(case)
    for n, url in enumerate(urls, 1):
        item = f"capture-{n:04d}"
        own = [(i, e) for i, e in enumerate(entries) if e["subject"] == item]
        assert [e["action"] for _, e in own] == ["capture.started", "capture.completed"], item
        assert own[0][1]["details"]["url"] == url
        # each outcome is sealed at once: a checkpoint signing the tree up to it (the key registered first,
        # the first time) comes right after it, before anything else
        after = own[1][0] + 1
        if entries[after]["action"] == "key.registered":
            after += 1
        assert entries[after]["action"] == "checkpoint.signed", item
        assert entries[after]["details"]["tree_size"] == entries[after]["seq"]
    signed = [e for e in entries if e["action"] == "checkpoint.signed"]
    assert len(signed) == len(urls) + 1  # and init's
    published = (case / "checkpoints.txt").read_text(encoding="utf-8")
    assert all(e["details"]["note"] in published for e in signed)
    verified = run_cli(["--case", str(case), "ledger", "verify", "--json"])
    assert verified.exit_code == 0, verified.stdout


def _wait_for(case: Path, predicate, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (case / "ledger.sqlite").exists() and predicate(_entries(case)):
            return
        time.sleep(0.1)
    pytest.fail("the run never got there")


def test_a_failed_write_stops_the_run_in_one_line_and_keeps_what_was_recorded(case: Path, site) -> None:
    urls = [site.url("/jobs/domestic-work.html"), site.url("/slow.html?delay=6")] + [
        site.url(f"/slow.html?delay=60&n={n}") for n in range(3)
    ]
    started = time.monotonic()
    proc = start_subprocess(["--case", str(case), "capture", *urls, "--concurrency", "1"])
    try:
        _wait_for(case, lambda es: any(e["action"] == "capture.completed" for e in es))
        # The store can no longer take a new object (as on a full disk): every object folder not yet made
        # is taken by a file, so the next capture's artefacts cannot be put.
        objects = case / "objects"
        kept = {p.name for p in objects.iterdir() if p.is_dir()}
        blocked = [objects / f"{n:02x}" for n in range(256) if f"{n:02x}" not in kept]
        for path in blocked:
            path.write_bytes(b"")
        err = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"evidencekit: error: recording capture-0002 ({urls[1]}) failed: cannot write to")
    assert "the run was stopped, and everything recorded before it is kept" in lines[0]
    assert time.monotonic() - started < 60  # the slow pages after it were not waited for
    entries = _entries(case)
    ended = [e["subject"] for e in entries if e["action"] in ("capture.completed", "capture.failed")]
    assert ended == ["capture-0001"]  # nothing was written after the failed write
    assert "capture-0002" in {e["subject"] for e in entries if e["action"] == "capture.started"}
    # nothing recorded is lost: the first capture's objects are there and the ledger verifies
    first = next(e for e in entries if e["action"] == "capture.completed")
    for artefact in first["artefacts"]:
        digest = artefact["blake3"].split(":", 1)[1]
        assert (objects / digest[:2] / digest).is_file()
    for path in blocked:
        path.unlink()
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0
    assert not list(case.glob("work/run-*"))  # scratch files removed once the writer was done with them


def test_the_writer_does_jobs_in_order_and_stops_at_the_first_that_fails(case: Path, tmp_path: Path) -> None:
    from evidencekit.errors import CaseNotFoundError, InputFileError
    from evidencekit.models import EntryDraft
    from evidencekit.workflows.writer import CaseWriter, RecordingFailed

    done: list[tuple[str, int]] = []

    def note(text: str):
        def job(opened) -> None:
            opened.ledger.append(EntryDraft("note.added", opened.actor, details={"text": text}))
            done.append((text, threading.get_ident()))

        return job

    def put_vanished(opened) -> None:
        opened.store.put_file(tmp_path / "scratch-file-removed-underneath")

    writer = CaseWriter(Session(case, dict(os.environ)))
    assert writer.start().root == case
    for text in ("first", "second"):
        writer.submit(note(text), lambda: "recording a note")
    writer.submit(put_vanished, lambda: "recording capture-0009 (https://example.org/)")
    writer.submit(note("after the failure"), lambda: "recording a note")
    with pytest.raises(RecordingFailed) as raised:
        writer.close()
    assert raised.value.exit_code == 1 and isinstance(raised.value.__cause__, InputFileError)
    assert str(raised.value).startswith("recording capture-0009 (https://example.org/) failed: no such file:")
    assert raised.value is writer.failure.exception()
    assert [text for text, _ in done] == ["first", "second"]
    assert len({thread for _, thread in done}) == 1 and done[0][1] != threading.get_ident()
    notes = [e["details"]["text"] for e in _entries(case) if e["action"] == "note.added"]
    assert notes == ["first", "second"]  # kept; nothing after the failed job was written
    writer.submit(note("late"), lambda: "recording a note")  # dropped: the writer has stopped
    assert [e["details"].get("text") for e in _entries(case)][-1] == "second"

    nowhere = CaseWriter(Session(tmp_path / "no-case-here", dict(os.environ)))
    with pytest.raises(CaseNotFoundError):
        nowhere.start()
    nowhere.close()  # returns at once: the thread ended with the failed opening
