"""How fast is evidencekit's one-read size + BLAKE3 + SHA-256 compared with SHA-256 alone, and with b3sum?

Run:  .venv/bin/python benchmarks/bench_hashing.py [--size-mib 1024] [--repeat 3] [--file PATH] [--keep]

Creates (or reuses with --file) a file of random data, reads it once so it sits in the page cache, then
times every case in interleaved rounds and keeps each case's best run:

  (a) hashlib.sha256 alone, reading the file in the same chunk size as evidencekit
  (b) evidencekit.hashing.hash_file: size + BLAKE3 + SHA-256 in one read
  (c) the b3sum program (all cores, memory-mapped; and one thread), skipped if it is not installed
  (d) BLAKE3 alone in Python (one thread; and max_threads=AUTO)
  (e) for comparison, a simpler design hash_file does not use: read a chunk, then BLAKE3 on a worker
      thread beside SHA-256 on this one, in lockstep and without read-ahead; with BLAKE3 on one thread
      and with max_threads=AUTO (does a multi-threaded BLAKE3 help when SHA-256 holds a core?)

The goal is (b) >= 0.9 x (a): the second hash should cost almost nothing. Exits 0 whether or not the goal
is met (it is a measurement, not a test); exits 1 only if the cases disagree about the digests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import blake3
from _common import (
    GIB,
    MIB,
    format_timing,
    interleaved_best,
    machine_busy_note,
    ratio_line,
    scratch_input,
    warm_page_cache,
)

from evidencekit.hashing import CHUNK_SIZE, Digests, hash_file

GOAL = 0.9


def sha256_alone(path: Path, chunk_size: int) -> str:
    digest = hashlib.sha256()
    view = memoryview(bytearray(chunk_size))
    with path.open("rb", buffering=0) as stream:
        while n := stream.readinto(view):
            digest.update(view[:n])
    return digest.hexdigest()


def blake3_alone(path: Path, chunk_size: int, *, max_threads: int) -> str:
    digest = blake3.blake3(max_threads=max_threads)
    view = memoryview(bytearray(chunk_size))
    with path.open("rb", buffering=0) as stream:
        while n := stream.readinto(view):
            digest.update(view[:n])
    return digest.hexdigest()


def dual_lockstep(path: Path, chunk_size: int, *, max_threads: int) -> tuple[str, str]:
    """The simple design: read, then BLAKE3 on a worker beside SHA-256 on this thread, chunk by chunk."""
    b3 = blake3.blake3(max_threads=max_threads)
    sha = hashlib.sha256()
    view = memoryview(bytearray(chunk_size))
    with ThreadPoolExecutor(max_workers=1) as worker, path.open("rb", buffering=0) as stream:
        while n := stream.readinto(view):
            chunk = view[:n]
            pending = worker.submit(b3.update, chunk)
            sha.update(chunk)
            pending.result()
    return b3.hexdigest(), sha.hexdigest()


def b3sum(program: str, path: Path, *, threads: int | None) -> str:
    command = [program, "--no-names"]
    if threads is not None:
        command += ["--num-threads", str(threads)]
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, check=True)
    return done.stdout.split()[0]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=GIB // MIB, help="size of the file to create (1024)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts (3)")
    parser.add_argument("--file", type=Path, help="hash this file; created with random data if missing")
    parser.add_argument("--keep", action="store_true", help="keep the random file created in a temp folder")
    parser.add_argument(
        "--chunk-kib", type=int, default=CHUNK_SIZE // 1024, help=f"chunk size ({CHUNK_SIZE // 1024} KiB)"
    )
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.repeat < 1 or args.chunk_kib < 1:
        parser.error("--size-mib, --repeat and --chunk-kib must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chunk_size = args.chunk_kib * 1024
    program = shutil.which("b3sum")
    with scratch_input(args.file, args.size_mib * MIB, keep=args.keep, prefix="bench-hashing-") as (path, made):
        size = path.stat().st_size
        print(f"input: {path} ({size / MIB:.0f} MiB{', created' if made else ', reused'})")
        if made and (args.keep or args.file is not None):
            print(f"       kept for reuse: --file {path}")
        print(
            f"chunk {chunk_size // 1024} KiB, best of {args.repeat} interleaved runs, "
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, blake3 {blake3.__version__}"
        )
        warm_page_cache(path)
        print(machine_busy_note())

        cases = {
            "(a) sha256 alone (hashlib)": lambda: sha256_alone(path, chunk_size),
            "(b) hash_file: size+BLAKE3+SHA-256": lambda: hash_file(path, chunk_size=chunk_size),
            "(d) blake3 alone, 1 thread": lambda: blake3_alone(path, chunk_size, max_threads=1),
            "(d) blake3 alone, max_threads=AUTO": lambda: blake3_alone(
                path, chunk_size, max_threads=blake3.blake3.AUTO
            ),
            "(e) lockstep dual, BLAKE3 1 thread": lambda: dual_lockstep(path, chunk_size, max_threads=1),
            "(e) lockstep dual, BLAKE3 max_threads=AUTO": lambda: dual_lockstep(
                path, chunk_size, max_threads=blake3.blake3.AUTO
            ),
        }
        if program:
            cases["(c) b3sum (all cores, mmap)"] = lambda: b3sum(program, path, threads=None)
            cases["(c) b3sum --num-threads 1"] = lambda: b3sum(program, path, threads=1)
        timings, results = interleaved_best(cases, repeat=args.repeat, nbytes=size)

    print()
    for label in sorted(timings):
        print(format_timing(timings[label], width=44))
    if not program:
        print("(c) b3sum: skipped, not installed (Debian: apt-get install b3sum)")

    dual = timings["(b) hash_file: size+BLAKE3+SHA-256"]
    sha_alone = timings["(a) sha256 alone (hashlib)"]
    print()
    print(ratio_line("dual / sha256 alone", dual.gb_per_s, sha_alone.gb_per_s, goal=GOAL))
    if program:
        b3sum_all = timings["(c) b3sum (all cores, mmap)"]
        b3sum_one = timings["(c) b3sum --num-threads 1"]
        print(
            ratio_line("dual / b3sum (all cores)", dual.gb_per_s, b3sum_all.gb_per_s)
            + "  (context: dual is bounded by SHA-256; b3sum computes BLAKE3 only)"
        )
        print(ratio_line("dual / b3sum (1 thread)", dual.gb_per_s, b3sum_one.gb_per_s))

    digests = results["(b) hash_file: size+BLAKE3+SHA-256"]
    blake3_hex = results["(d) blake3 alone, 1 thread"]
    sha256_hex = results["(a) sha256 alone (hashlib)"]
    agree = (
        isinstance(digests, Digests)
        and digests.size == size
        and digests.sha256 == sha256_hex
        and digests.blake3 == blake3_hex
        and all(value == (blake3_hex, sha256_hex) for label, value in results.items() if label.startswith("(e)"))
        and all(value == blake3_hex for label, value in results.items() if label.startswith(("(c)", "(d)")))
    )
    print(f"digests agree across all cases: {'yes' if agree else 'NO'}")
    met = dual.gb_per_s >= GOAL * sha_alone.gb_per_s
    print(
        f"goal (dual >= {GOAL:g} x sha256 alone): {'MET' if met else 'NOT met'} "
        f"({dual.gb_per_s:.3f} vs {sha_alone.gb_per_s:.3f} GB/s)"
    )
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
