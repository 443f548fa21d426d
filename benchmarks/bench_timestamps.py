"""What does independent time (RFC 3161) cost a batch capture, per capture, against the same batch without it?

Run:  .venv/bin/python benchmarks/bench_timestamps.py [--urls 20] [--repeat 3] [--concurrency 4]

Serves the fixture site from tests/fixture_site on 127.0.0.1 and captures ``--urls`` of its pages with the
real capture workflow (evidencekit.workflows.capturing.capture_urls) into a fresh case each run (made with
``init`` before the timing starts), with an investigator key (every capture recorded and sealed with a
signed checkpoint), in interleaved rounds:

  (a) no TSA configured: the baseline
  (b) two local TSAs (evidencekit.demo.tsa: ``openssl ts -reply`` behind a loopback HTTP server), each
      signed checkpoint sent to both
  (c) one local TSA that answers each request after 1 s

Each case's time includes waiting, at the end, for the last checkpoint's answers (bounded by the TSA
timeout), as a real run does. The goal is (b) <= 1.05 x (a) per capture; (c) shows that a slow authority
does not hold up each page (its requests are coalesced and run beside the captures). It also prints how
many requests each TSA received and how the batch's checkpoints were recorded (obtained, pending,
superseded). Exits 0 whether or not the goal is met (a measurement, not a test); 1 only if a capture failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from _common import format_timing, interleaved_best, machine_busy_note

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fixture_site import FixtureSite  # noqa: E402

from evidencekit.capture import CaptureOptions, find_browser  # noqa: E402
from evidencekit.demo.tsa import serve_demo_tsa  # noqa: E402
from evidencekit.ledger.database import Ledger  # noqa: E402
from evidencekit.timestamps.config import add_authority  # noqa: E402
from evidencekit.workflows.capturing import capture_urls  # noqa: E402
from evidencekit.workflows.case import init_case  # noqa: E402
from evidencekit.workflows.keys import generate_investigator_key  # noqa: E402
from evidencekit.workflows.opencase import Session  # noqa: E402

GOAL = 1.05
PAGES = ("/jobs/domestic-work.html", "/jobs/multilingual.html", "/consent.html", "/compressed.html", "/iframe.html")


def new_case(root: Path, config: Path) -> Path:
    """A fresh case with the key and TSAs under ``config``, made before the timing starts (``init`` seals and
    stamps too; the batch is what is measured)."""
    case = Path(tempfile.mkdtemp(prefix="bench-case-", dir=root)) / "case"
    session = Session(case, {"XDG_CONFIG_HOME": str(config)})
    init_case(session, case_id="BENCH-1", title="benchmark", investigator="Bench Marker", agency=None)
    return case


def recorded_run(
    urls: list[str], options: CaptureOptions, concurrency: int, config: Path, case: Path, tally: Counter[str]
) -> int:
    """The capture workflow into ``case``; returns captures made."""
    try:
        session = Session(case, {"XDG_CONFIG_HOME": str(config)})
        outcomes = capture_urls(session, urls, options, concurrency=concurrency)
        bad = [o for o in outcomes if o.status == "failed"]
        if bad:
            print(f"capture failed: {bad[0].url}: {bad[0].result.error}", file=sys.stderr)
            raise SystemExit(1)
        with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
            tally.update(e.action for e in ledger.entries() if e.action.startswith("timestamp."))
        return len(outcomes)
    finally:
        shutil.rmtree(case.parent, ignore_errors=True)


def _config(root: Path, name: str, tsas: list[tuple[str, str, Path]]) -> Path:
    config = root / name
    environ = {"XDG_CONFIG_HOME": str(config)}
    generate_investigator_key(environ, "Bench Marker")
    for tsa_name, url, ca_file in tsas:
        add_authority(environ, url, name=tsa_name, ca_file=ca_file)
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=20, help="captures per batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case")
    parser.add_argument("--concurrency", type=int, default=4, help="pages at once")
    parser.add_argument("--browser", type=Path, default=None)
    args = parser.parse_args()

    browser = find_browser(args.browser, os.environ)
    options = CaptureOptions(timeout_s=60, browser_path=browser.path)
    root = Path(tempfile.mkdtemp(prefix="bench-timestamps-"))
    try:
        with ExitStack() as stack:
            site = stack.enter_context(FixtureSite())
            first = stack.enter_context(serve_demo_tsa(root / "tsa-a"))
            second = stack.enter_context(serve_demo_tsa(root / "tsa-b"))
            slow = stack.enter_context(serve_demo_tsa(root / "tsa-slow", delay_seconds=1.0))
            urls = [site.url(PAGES[i % len(PAGES)]) for i in range(args.urls)]
            configs = {
                "no TSA (baseline)": _config(root, "none", []),
                "two local TSAs": _config(
                    root, "two", [("tsa-a", first.url, first.ca_file), ("tsa-b", second.url, second.ca_file)]
                ),
                "one TSA answering after 1 s": _config(root, "slow", [("tsa-slow", slow.url, slow.ca_file)]),
            }
            print(f"browser {browser.path}; {len(urls)} captures per batch; concurrency {args.concurrency}")
            print(machine_busy_note())
            tallies: dict[str, Counter[str]] = {label: Counter() for label in configs}
            cases = {label: [new_case(root, config) for _ in range(args.repeat)] for label, config in configs.items()}

            def run(label: str) -> Callable[[], int]:
                return lambda: recorded_run(
                    urls, options, args.concurrency, configs[label], cases[label].pop(), tallies[label]
                )

            timings, _ = interleaved_best({label: run(label) for label in configs}, repeat=args.repeat)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    baseline = timings["no TSA (baseline)"]
    for label, timing in timings.items():
        per_capture = timing.seconds / len(urls) * 1000
        usual = statistics.median(timing.runs) / len(urls) * 1000
        recorded = ", ".join(f"{n // args.repeat} {action}" for action, n in sorted(tallies[label].items()))
        print(f"{format_timing(timing, width=30)}  {per_capture:7.1f} ms/capture (median run {usual:.1f})")
        print(f"    per run: {recorded or 'no timestamp entries'}")
        if timing is not baseline:
            rounds = sorted(mine / base for mine, base in zip(timing.runs, baseline.runs, strict=True))
            paired = statistics.median(rounds)
            print(
                f"    against the baseline: {paired:.3f}x per capture (median of the rounds: "
                + "  ".join(f"{r:.3f}x" for r in rounds)
                + ")"
                + (
                    f"; goal <= {GOAL:g}x: {'met' if paired <= GOAL else 'NOT met'}"
                    if label == "two local TSAs"
                    else "; no goal: the command's end waits once for the slow answer (bounded by the timeout)"
                )
            )


if __name__ == "__main__":
    main()
