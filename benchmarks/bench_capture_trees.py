"""Does a change make captures slower? The capture benchmark run on two versions of evidencekit, in turns.

Run:  .venv/bin/python benchmarks/bench_capture_trees.py --before 89eab94 [--turns 4] [--copies 1] [--repeat 3]

``--before`` is a git revision of this repository (checked out into a temporary worktree, removed at the
end) or the path of another checkout. Each turn runs ``benchmarks/bench_capture.py`` of the older version
and then of this one (the order alternates from turn to turn), each with its own code and the same venv,
browser and fixture pages. Every run measures evidencekit against the bare Playwright loop in that same
run (its named baseline), so a machine that is busier during one run moves both loops; the figure compared
here is that per-page ratio, "evidencekit / bare per page". It prints each turn's two ratios and the median
of each version's ratios, and the after/before quotient: 1.00 means no change, above 1 a regression.
The fixture pages have no video or audio, pop-ups or consent dialogs, so the figure answers "does a page
without them now cost more?". Exits 0 (a measurement, not a test); 1 if a run failed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_RATIO = re.compile(r"evidencekit / bare per page: (?P<ratio>\d+(?:\.\d+)?)x")


def _tree(before: str, scratch: Path) -> Path:
    path = Path(before)
    if path.is_dir() and (path / "evidencekit").is_dir():
        return path
    target = scratch / "before"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(target), before], check=True)
    return target


def _ratio(tree: Path, args: argparse.Namespace) -> float:
    command = [
        sys.executable,
        str(tree / "benchmarks" / "bench_capture.py"),
        "--copies",
        str(args.copies),
        "--repeat",
        str(args.repeat),
        "--concurrency",
        str(args.concurrency),
    ]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    found = _RATIO.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the benchmark failed in {tree}: {(done.stderr or done.stdout).strip()[-400:]}")
    return float(found["ratio"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision or checkout path of the older version")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-trees-") as scratch:
        before = _tree(args.before, Path(scratch))
        try:
            ratios: dict[str, list[float]] = {"before": [], "after": []}
            for turn in range(args.turns):
                order = [("before", before), ("after", ROOT)]
                for label, tree in order if turn % 2 == 0 else reversed(order):
                    ratios[label].append(_ratio(tree, args))
                print(f"turn {turn + 1}: before {ratios['before'][-1]:.2f}x  after {ratios['after'][-1]:.2f}x")
        finally:
            if before != Path(args.before):
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    old, new = statistics.median(ratios["before"]), statistics.median(ratios["after"])
    print(f"evidencekit / bare per page, median of {args.turns} runs: before {old:.2f}x, after {new:.2f}x")
    print(f"after / before: {new / old:.3f} (1.00: no change; above 1: slower than before)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
