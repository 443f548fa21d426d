"""What does watching add to capturing? A watch pass over unchanged pages against a plain capture of them.

Run:  .venv/bin/python benchmarks/bench_watch.py [--pages 50] [--concurrency 4] [--repeat 3]

Serves the fixture site from tests/fixture_site on 127.0.0.1 and makes ``--pages`` distinct URLs of one
ad page (``?copy=N``: each its own series). One case puts them all under watch and makes a first pass (each
first attempt has nothing to compare with); then, in interleaved rounds:

  (a) plain capture: evidencekit.workflows.capturing.capture_urls of the URLs, at ``--concurrency``, into a
      copy of the watched case as it stands (with a copy of the investigator's key and witness copy): every
      artefact stored, every capture recorded and sealed; a seal checks the whole ledger, so both are
      measured on a ledger of the same size
  (b) a watch pass (evidencekit.workflows.watch.passes.run_pass, every active watch) over the watched case:
      the same captures recorded the same way, plus for each one its observation, computed off the writer's
      thread from the stored artefacts (page state of both captures, indicators, photos by PDQ, the word
      diff of the text, the OpenCV screenshot diff, diff.json and diff.html) and recorded, sealed

The goal: (b) adds at most 10 % wall time to (a). Printed: each one's best and median run, the ratio of the
medians of the rounds' own ratios, and the observer's own time per observation (its worker thread, which
runs beside the captures: most of it is hidden behind them).
Exits 0 whether or not the goal is met (a measurement, not a test); 1 only if a capture failed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine_busy_note

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fixture_site import FixtureSite  # noqa: E402

from evidencekit.capture import CaptureOptions  # noqa: E402
from evidencekit.workflows.capturing import capture_urls  # noqa: E402
from evidencekit.workflows.case import init_case  # noqa: E402
from evidencekit.workflows.keys import generate_investigator_key  # noqa: E402
from evidencekit.workflows.opencase import Session  # noqa: E402
from evidencekit.workflows.watch.passes import run_pass  # noqa: E402
from evidencekit.workflows.watch.registry import WatchSettings, add_watches  # noqa: E402

GOAL = 0.10
PAGE = "/jobs/domestic-work.html"


def _session(folder: Path, config: Path) -> Session:
    session = Session(folder, {"XDG_CONFIG_HOME": str(config), "EVIDENCEKIT_OFFLINE": "1"})
    init_case(session, case_id="BENCH-15", title="benchmark", investigator="Bench Marker", agency=None)
    return session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(machine_busy_note())
    scratch = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    options = CaptureOptions(timeout_s=60, region="DE")
    try:
        config = scratch / "config"
        generate_investigator_key({"XDG_CONFIG_HOME": str(config)}, "Bench Marker")
        with FixtureSite() as site:
            urls = [site.url(f"{PAGE}?copy={n}") for n in range(1, args.pages + 1)]
            watched = _session(scratch / "watched", config)
            add_watches(watched, urls, WatchSettings(every_s=3600, jitter_s=0))
            first = run_pass(watched, options, every_active=True, concurrency=args.concurrency)
            print(f"first pass: {len(first.captured)} captures (nothing to compare with yet)")
            plain_runs: list[float] = []
            watch_runs: list[float] = []
            observation_s: list[float] = []
            for round_number in range(1, args.repeat + 1):
                folder, its_config = scratch / f"plain-{round_number}", scratch / f"config-{round_number}"
                shutil.copytree(watched.case_dir, folder)
                shutil.copytree(config, its_config)
                plain = Session(folder, {"XDG_CONFIG_HOME": str(its_config), "EVIDENCEKIT_OFFLINE": "1"})
                began = time.perf_counter()
                outcomes = capture_urls(plain, urls, options, concurrency=args.concurrency)
                plain_runs.append(time.perf_counter() - began)
                shutil.rmtree(folder, ignore_errors=True)
                shutil.rmtree(its_config, ignore_errors=True)
                began = time.perf_counter()
                report = run_pass(watched, options, every_active=True, concurrency=args.concurrency)
                watch_runs.append(time.perf_counter() - began)
                observation_s += report.observation_s
                failed = [o for o in outcomes if o.status == "failed"] + [
                    s for s in report.captured if s.status == "failed"
                ]
                if failed:
                    print(f"a capture failed: {failed[0]}", file=sys.stderr)
                    return 1
                verdicts = {s.observation.content for s in report.captured if s.observation is not None}
                print(
                    f"round {round_number}: plain {plain_runs[-1]:.2f} s, watch pass {watch_runs[-1]:.2f} s "
                    f"({len(report.captured)} observed: {', '.join(sorted(verdicts))})"
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ratios = [w / p - 1 for w, p in zip(watch_runs, plain_runs, strict=True)]
    added = statistics.median(ratios)
    print(f"plain capture of {args.pages} pages at concurrency {args.concurrency}: best {min(plain_runs):.2f} s, "
          f"median {statistics.median(plain_runs):.2f} s")  # fmt: skip
    print(f"watch pass over the same pages:        best {min(watch_runs):.2f} s, "
          f"median {statistics.median(watch_runs):.2f} s")  # fmt: skip
    print(f"observer time per observation (its own thread): median {statistics.median(observation_s) * 1000:.0f} ms, "
          f"max {max(observation_s) * 1000:.0f} ms over {len(observation_s)}")  # fmt: skip
    verdict = "met" if added <= GOAL else "NOT met"
    print(f"wall time added by watching (median of the rounds' ratios): {added:+.1%}  (goal <= {GOAL:.0%}: {verdict})")
    print(f"best against best: {min(watch_runs) / min(plain_runs) - 1:+.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
