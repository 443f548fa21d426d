"""Small helpers shared by the benchmark scripts: timing, throughput, ratios and scratch input files.

Benchmarks are scripts, not tests: they print figures for people and always exit 0 unless misused.
Every measurement is the best of N runs, because on a shared machine the fastest run is the one least
disturbed by other work, so it is the most repeatable figure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class Timing:
    """The best (shortest) of several runs, with every run kept so spread can be reported."""

    label: str
    seconds: float
    runs: tuple[float, ...]
    nbytes: int = 0

    @property
    def gb_per_s(self) -> float:
        """Throughput in decimal gigabytes per second (the unit disk and hash vendors quote)."""
        return self.nbytes / self.seconds / 1e9 if self.seconds > 0 else float("inf")

    @property
    def spread(self) -> float:
        """Slowest run over fastest run, minus one: 0.05 means the runs differ by 5 %."""
        return max(self.runs) / min(self.runs) - 1 if self.runs and min(self.runs) > 0 else 0.0


def best_of(label: str, fn: Callable[[], T], *, repeat: int = 3, nbytes: int = 0) -> tuple[Timing, T]:
    """Run ``fn`` ``repeat`` times; return the fastest timing and the result of the last run."""
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    runs: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - start)
    return Timing(label, min(runs), tuple(runs), nbytes), result


def interleaved_best(
    cases: Mapping[str, Callable[[], T]], *, repeat: int = 3, nbytes: int = 0
) -> tuple[dict[str, Timing], dict[str, T]]:
    """Time several cases in rounds (A, B, C, A, B, C, ...) and keep each one's best run.

    Interleaving matters when comparing: a burst of load from elsewhere then slows one run of every
    case instead of every run of one case, so the ratios between cases stay honest.
    Returns the timings and each case's result from its last run.
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    runs: dict[str, list[float]] = {label: [] for label in cases}
    results: dict[str, T] = {}
    for _ in range(repeat):
        for label, fn in cases.items():
            start = time.perf_counter()
            results[label] = fn()
            runs[label].append(time.perf_counter() - start)
    timings = {label: Timing(label, min(times), tuple(times), nbytes) for label, times in runs.items()}
    return timings, results


def format_timing(timing: Timing, *, width: int = 38) -> str:
    rate = f"{timing.gb_per_s:7.3f} GB/s" if timing.nbytes else " " * 12
    return f"{timing.label:<{width}} {rate}  best {timing.seconds:8.3f} s  (spread {timing.spread:5.1%})"


def ratio_line(label: str, numerator: float, denominator: float, *, goal: float | None = None) -> str:
    """``label: 0.93x`` and, with a goal, whether it was met; for throughputs (higher is better)."""
    value = numerator / denominator if denominator else float("inf")
    line = f"{label}: {value:.3f}x"
    if goal is not None:
        line += f"  (goal >= {goal:g}x: {'met' if value >= goal else 'NOT met'})"
    return line


def machine_busy_note() -> str:
    """One line on how busy the machine is before we start; figures taken on a busy machine are low,
    and multi-threaded cases suffer most because each of their threads must get a core."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return "load average: unknown"
    cpus = os.cpu_count() or 1
    line = f"load average (1 min) {load:.2f} on {cpus} CPUs"
    if load > 0.5:
        line += "; other work is running, so multi-threaded figures will be low: rerun when the machine is idle"
    return line


def write_random_file(path: Path, size: int, *, block: int = 16 * MIB) -> None:
    """Fill ``path`` with ``size`` random bytes (incompressible, so no layer below can shortcut it)."""
    with path.open("wb") as out:
        remaining = size
        while remaining:
            n = min(block, remaining)
            out.write(os.urandom(n))
            remaining -= n


def warm_page_cache(path: Path, *, block: int = 16 * MIB) -> None:
    """Read the whole file once so the timed runs measure hashing, not the disk."""
    buffer = bytearray(block)
    with path.open("rb", buffering=0) as stream:
        while stream.readinto(buffer):
            pass


@contextmanager
def scratch_input(
    path: Path | None, size: int, *, keep: bool = False, prefix: str = "bench-"
) -> Iterator[tuple[Path, bool]]:
    """Yield ``(path, created)`` for an input file of random data.

    With ``path`` given and present, that file is used as it is and never deleted. Otherwise a file of
    ``size`` bytes is created (at ``path`` or in a temporary folder) and deleted afterwards unless
    ``keep`` is set or the caller named the path.
    """
    if path is not None and path.exists():
        yield path, False
        return
    if path is not None:
        write_random_file(path, size)
        yield path, True
        return
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    target = folder / "random.bin"
    try:
        write_random_file(target, size)
        yield target, True
    finally:
        if not keep:
            target.unlink(missing_ok=True)
            folder.rmdir()


class LoopLag:
    """How long an asyncio event loop was kept from running: a ticker wakes every ``interval`` seconds on
    each loop made while ``installed()`` is active and keeps how late each wake-up came.

    A capture run makes its own loop inside ``asyncio.run``; installing an event loop policy is the one way
    to put a ticker into it from outside without changing the code measured. A late tick means something
    ran on the loop's thread for that long without yielding: every page's time budget stood still too.
    """

    def __init__(self, interval: float = 0.010, *, slow_step: float | None = None) -> None:
        """With ``slow_step``, the loops also run in asyncio's debug mode, and each step that kept the loop
        that long is noted in ``slow_steps`` (seconds, what ran): where the lag comes from. Debug mode
        slows asyncio down, so figures from such a run are for attribution only."""
        self.interval = interval
        self.slow_step = slow_step
        self.delays: list[float] = []
        self.slow_steps: list[tuple[float, str]] = []

    @property
    def worst(self) -> float:
        return max(self.delays, default=0.0)

    def quantile(self, q: float) -> float:
        if not self.delays:
            return 0.0
        ordered = sorted(self.delays)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def over(self, seconds: float) -> int:
        return sum(1 for d in self.delays if d > seconds)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.delays.append(max(0.0, loop.time() - due))

    @contextmanager
    def installed(self) -> Iterator[LoopLag]:
        meter = self
        previous = asyncio.get_event_loop_policy()

        class _TickingPolicy(asyncio.DefaultEventLoopPolicy):
            def new_event_loop(self) -> asyncio.AbstractEventLoop:
                loop = super().new_event_loop()
                # asyncio.run cancels the ticker with every other task left when the run ends.
                loop.call_soon(lambda: loop.create_task(meter._tick()))
                if meter.slow_step is not None:
                    loop.set_debug(True)
                    loop.slow_callback_duration = meter.slow_step
                return loop

        asyncio.set_event_loop_policy(_TickingPolicy())
        log = logging.getLogger("asyncio")
        noted = _SlowStepNotes(self.slow_steps)
        if self.slow_step is not None:
            log.addHandler(noted)
        try:
            yield self
        finally:
            asyncio.set_event_loop_policy(previous)
            log.removeHandler(noted)

    def slow_step_summary(self, top: int = 6) -> list[str]:
        """The code that kept the loop longest, as ``count x, total ms: what``, longest total first."""
        totals: dict[str, list[float]] = {}
        for seconds, what in self.slow_steps:
            totals.setdefault(what, []).append(seconds)
        ranked = sorted(totals.items(), key=lambda kv: -sum(kv[1]))[:top]
        return [f"{len(times):3d} x, {sum(times) * 1000:6.0f} ms in all: {what}" for what, times in ranked]


class _SlowStepNotes(logging.Handler):
    """Collects asyncio debug mode's "Executing <step> took N seconds" warnings, named by their code."""

    _TOOK = re.compile(r"took ([0-9.]+) seconds")
    _WHERE = re.compile(r"coro=<([^>]*?)(?: done,| running at ([^ >]+))|<(Handle [^ ]+)")

    def __init__(self, into: list[tuple[float, str]]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        took = self._TOOK.search(message)
        if took is None:
            return
        where = self._WHERE.search(message)
        if where is None:
            what = message[:80]
        elif where.group(3):
            what = where.group(3)
        else:
            what = where.group(1) + (f" at {Path(where.group(2)).name}" if where.group(2) else " (its last step)")
        self.into.append((float(took.group(1)), what))
