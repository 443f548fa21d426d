"""What does a full evidencekit capture cost per page, compared with a bare Playwright loop?

Run:  .venv/bin/python benchmarks/bench_capture.py [--concurrency 2] [--copies 3] [--repeat 5] [--tall]
      .venv/bin/python benchmarks/bench_capture.py --recording [--concurrency 4] [--copies 3] [--repeat 3]

Serves the fixture site from tests/fixture_site on 127.0.0.1 and captures the same list of its pages
(each page ``--copies`` times) in interleaved rounds (bare, evidencekit, bare, evidencekit, ...):

  (a) bare Playwright: one browser, a fresh context per URL, goto (until load), full-page screenshot,
      page.content(); ``--concurrency`` pages at a time
  (b) evidencekit.capture.capture_many with the same browser executable, launch arguments and
      concurrency, producing every artefact (screenshots, DOM, body, text, WARC, MHTML, images,
      indicators, metadata)

Both include starting Playwright and the browser, as a real run does. The goal is (b) <= 1.5 x (a) per
page. It is hardest to meet on these tiny local pages: a capture scrolls every page through and waits
until the network has been quiet for 0.3 s after the last scroll (the page is read meanwhile), and it
loads the lazy images and feed pages that the bare loop never asks for; real pages (seconds to load)
hide these fixed costs.

Two ratios are printed, each with its verdict. The per-page cost ratio is the median of the rounds' own
ratios: each round runs both loops back to back, so a machine that slows down or speeds up for a while
moves both, and one lucky or unlucky run of either does not sway the median. The best run against the
best run compares the two loops' floors: one unusually fast run of either moves it (on a shared 2-core
machine the bare loop's best-to-worst spread has been 4-30 %, evidencekit's 4-15 %). Each loop's median
run is printed beside its best.
With ``--recording`` it measures what recording costs the captures instead, in interleaved rounds at
``--concurrency`` (default 4):

  (c) capture_many with no callbacks: the captures alone
  (d) the real capture workflow, evidencekit.workflows.capturing.capture_urls, into a fresh case each run
      with an investigator key: every artefact stored, capture.started and capture.completed recorded,
      and a signed checkpoint after each capture (appended to checkpoints.txt and the witness copy)

For each it prints the wall time per page and the event-loop lag: a 10 ms ticker runs on the capture's
own event loop, and its largest delay is the longest time the loop stood still (and with it every
page's time budget). Recording done on the loop shows up as lag of (d) well above (c). On a busy
machine the largest delay also counts the time the process waited for a CPU; the 99th percentile and
the count of late ticks are steadier. ``--where`` adds one recorded run in asyncio's debug mode that
names the code behind each loop step of 50 ms or more (recording on the loop shows as the last step
of ``_Batch._one``, where ``on_finished`` is called).
Exits 0 whether or not the goal is met (a measurement, not a test); 1 only if a capture failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import LoopLag, format_timing, interleaved_best, machine_busy_note

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fixture_site import FixtureSite  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402

from evidencekit.capture import CaptureOptions, capture_many, find_browser  # noqa: E402
from evidencekit.capture.browser import launch_args, sandbox_available  # noqa: E402
from evidencekit.workflows.capturing import capture_urls  # noqa: E402
from evidencekit.workflows.case import init_case  # noqa: E402
from evidencekit.workflows.keys import generate_investigator_key  # noqa: E402
from evidencekit.workflows.opencase import Session  # noqa: E402

GOAL = 1.5
PAGES = (
    "/jobs/domestic-work.html",
    "/jobs/multilingual.html",
    "/lazy.html",
    "/feed.html",
    "/iframe.html",
    "/consent.html",
    "/compressed.html",
    "/gone-404.html",
    "/redirect/start",
)


async def bare_loop(urls: list[str], executable: Path, concurrency: int, viewport: tuple[int, int]) -> int:
    """The least a capture can be: load, one full-page PNG, the DOM. Returns the bytes produced."""
    produced = 0
    slots = asyncio.Semaphore(concurrency)
    async with async_playwright() as playwright:
        sandbox = sandbox_available()
        browser = await playwright.chromium.launch(
            executable_path=executable, args=launch_args(sandbox), chromium_sandbox=sandbox
        )

        async def one(url: str) -> None:
            nonlocal produced
            async with slots:
                context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
                page = await context.new_page()
                await page.goto(url, wait_until="load")
                produced += len(await page.screenshot(full_page=True))
                produced += len((await page.content()).encode("utf-8"))
                await context.close()

        await asyncio.gather(*(one(url) for url in urls))
        await browser.close()
    return produced


def evidencekit_run(urls: list[str], options: CaptureOptions, concurrency: int) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-capture-"))
    try:
        results = capture_many(urls, options, work, concurrency=concurrency)
        bad = [r for r in results if r.status == "failed"]
        if bad:
            print(f"capture failed: {bad[0].requested_url}: {bad[0].error}", file=sys.stderr)
            raise SystemExit(1)
        return sum(f.artefact.digests.size for r in results for f in r.files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def recorded_run(urls: list[str], options: CaptureOptions, concurrency: int, config: Path) -> int:
    """The capture workflow into a new case, signed with the key under ``config``; returns bytes captured."""
    case = Path(tempfile.mkdtemp(prefix="bench-case-"))
    try:
        session = Session(case / "case", {"XDG_CONFIG_HOME": str(config)})
        init_case(session, case_id="BENCH-1", title="benchmark", investigator="Bench Marker", agency=None)
        outcomes = capture_urls(session, urls, options, concurrency=concurrency)
        bad = [o for o in outcomes if o.status == "failed"]
        if bad:
            print(f"capture failed: {bad[0].url}: {bad[0].result.error}", file=sys.stderr)
            raise SystemExit(1)
        return sum(a.digests.size for o in outcomes for a in o.result.artefacts)
    finally:
        shutil.rmtree(case, ignore_errors=True)


def recording_cost(urls: list[str], options: CaptureOptions, concurrency: int, repeat: int) -> None:
    config = Path(tempfile.mkdtemp(prefix="bench-config-"))
    try:
        generate_investigator_key({"XDG_CONFIG_HOME": str(config)}, "Bench Marker")
        lags: dict[str, list[LoopLag]] = {"alone": [], "recorded": []}

        def measured(kind: str, run: Callable[[], int]) -> int:
            meter = LoopLag(0.010)
            with meter.installed():
                produced = run()
            lags[kind].append(meter)
            return produced

        timings, _ = interleaved_best(
            {
                "capture_many, no callbacks": lambda: measured(
                    "alone", lambda: evidencekit_run(urls, options, concurrency)
                ),
                "capture_urls, recorded and signed": lambda: measured(
                    "recorded", lambda: recorded_run(urls, options, concurrency, config)
                ),
            },
            repeat=repeat,
        )
    finally:
        shutil.rmtree(config, ignore_errors=True)
    for timing, meters in zip(timings.values(), lags.values(), strict=True):
        per_page = timing.seconds / len(urls) * 1000
        usual = statistics.median(timing.runs) / len(urls) * 1000
        print(f"{format_timing(timing, width=36)}  {per_page:7.1f} ms/page (median run {usual:.1f})")
        worst = [m.worst * 1000 for m in meters]
        p99 = [m.quantile(0.99) * 1000 for m in meters]
        late = [m.over(0.050) for m in meters]
        print(
            f"    event-loop lag, 10 ms ticker: largest {max(worst):.0f} ms (per run "
            + ", ".join(f"{w:.0f}" for w in worst)
            + f"); 99th percentile {statistics.median(p99):.0f} ms; ticks over 50 ms per run "
            + ", ".join(str(n) for n in late)
        )
    alone, recorded = timings.values()
    rounds = sorted(mine / theirs for mine, theirs in zip(recorded.runs, alone.runs, strict=True))
    print("recorded / alone, round by round: " + "  ".join(f"{r:.2f}x" for r in rounds))


def where_the_loop_waits(urls: list[str], options: CaptureOptions, concurrency: int) -> None:
    """One recorded run in asyncio's debug mode: which code held the capture loop for 50 ms or more."""
    config = Path(tempfile.mkdtemp(prefix="bench-config-"))
    try:
        generate_investigator_key({"XDG_CONFIG_HOME": str(config)}, "Bench Marker")
        meter = LoopLag(0.010, slow_step=0.050)
        with meter.installed():
            recorded_run(urls, options, concurrency, config)
    finally:
        shutil.rmtree(config, ignore_errors=True)
    total = sum(seconds for seconds, _ in meter.slow_steps)
    print(f"loop steps of 50 ms or more in a recorded run (debug mode): {len(meter.slow_steps)}, {total:.2f} s in all")
    for line in meter.slow_step_summary():
        print("    " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=None, help="pages at once (default 2; 4 with --recording)")
    parser.add_argument("--copies", type=int, default=3, help="capture each page this many times per run")
    parser.add_argument("--repeat", type=int, default=None, help="runs of each loop (default 5; 3 with --recording)")
    parser.add_argument("--tall", action="store_true", help="also capture the 40 000 px tall page")
    parser.add_argument("--browser", type=Path, default=None)
    parser.add_argument("--recording", action="store_true", help="measure recording's cost, not the bare loop's")
    parser.add_argument("--where", action="store_true", help="with --recording: also name the code that held the loop")
    args = parser.parse_args()
    args.concurrency = args.concurrency or (4 if args.recording else 2)
    args.repeat = args.repeat or (3 if args.recording else 5)

    browser = find_browser(args.browser, os.environ)
    options = CaptureOptions(timeout_s=60, browser_path=browser.path)
    pages = PAGES + (("/tall.html",) if args.tall else ())
    if args.recording:
        with FixtureSite() as site:
            urls = [site.url(path) for path in pages for _ in range(args.copies)]
            print(f"browser {browser.path}; {len(urls)} captures; concurrency {args.concurrency}")
            print(machine_busy_note())
            recording_cost(urls, options, args.concurrency, args.repeat)
            if args.where:
                where_the_loop_waits(urls, options, args.concurrency)
        return
    with FixtureSite() as site:
        urls = [site.url(path) for path in pages for _ in range(args.copies)]
        print(f"browser {browser.path} ({browser.found_by}); {len(urls)} captures; concurrency {args.concurrency}")
        timings, results = interleaved_best(
            {
                "bare Playwright (load, screenshot, DOM)": lambda: asyncio.run(
                    bare_loop(urls, browser.path, args.concurrency, options.viewport)
                ),
                "evidencekit capture_many (all artefacts)": lambda: evidencekit_run(urls, options, args.concurrency),
            },
            repeat=args.repeat,
        )
    bare, ours = timings.values()
    for timing, produced in zip((bare, ours), results.values(), strict=True):
        per_page = timing.seconds / len(urls) * 1000
        usual = statistics.median(timing.runs) / len(urls) * 1000
        print(
            f"{format_timing(timing, width=42)}  {per_page:7.1f} ms/page (median run {usual:.1f})"
            f"  {int(produced) / 1e6:7.2f} MB written"
        )
    rounds = sorted(mine / theirs for mine, theirs in zip(ours.runs, bare.runs, strict=True))
    print("round by round: " + "  ".join(f"{r:.2f}x" for r in rounds))
    floors = ours.seconds / bare.seconds
    print(f"best run against best run: {floors:.2f}x  (goal <= {GOAL:g}x: {_verdict(floors)})")
    paired = statistics.median(rounds)
    print(f"evidencekit / bare per page: {paired:.2f}x  (median of the rounds; goal <= {GOAL:g}x: {_verdict(paired)})")


def _verdict(ratio: float) -> str:
    return "met" if ratio <= GOAL else "NOT met"


if __name__ == "__main__":
    main()
