"""How much faster does the PDQ index find every near pair of photos than comparing every pair?

Run:  .venv/bin/python benchmarks/bench_links_index.py [--hashes 20000] [--groups 1000] [--repeat 3]

The case the issue sets: ``links`` over 1,000 captures holding 20,000 images. Hashes are made as such a
case's would be: ``--groups`` groups (one per capture), each of ``--hashes / --groups`` images, every image
a random 256-bit PDQ hash; then a tenth of the captures get planted near-duplicates of another capture's
photo (a repost: 2-40 bits changed, so some fall just inside the threshold of 31 and some just outside).
Random hashes lie ~128 bits apart, like unrelated photos' hashes.

  (a) compare every pair: n (n - 1) / 2 XOR-and-popcount on Python ints
  (b) baseline: the same full comparison vectorised with numpy (blocks of rows against every later row),
      the fastest plain scan here, so the speed-up judged is the index's own, not numpy's
  (c) PdqIndex (evidencekit.photos.index): add every hash, then ``pairs(31)``, multi-index hashing

All are timed in the same run, interleaved, best of ``--repeat``; (c) includes building the index. It
prints the speed-up over each (goal >= 10x over the baseline) and whether all found exactly the same pairs
(they must: the index is exact). Exits 0 whether or not the goal is met; 1 if the two disagree.
"""

from __future__ import annotations

import argparse
import random
from itertools import combinations

import numpy as np
from _common import format_timing, interleaved_best, machine_busy_note, ratio_line

from evidencekit.photos.index import PdqIndex
from evidencekit.photos.match import PDQ_THRESHOLD

GOAL = 10.0

Pair = tuple[int, int, int]


def make_hashes(count: int, groups: int, seed: int = 14) -> list[str]:
    rng = random.Random(seed)
    values = [rng.getrandbits(256) for _ in range(count)]
    per_group = max(1, count // groups)
    for group in rng.sample(range(groups), groups // 10):
        source = rng.randrange(count)
        target = group * per_group + rng.randrange(per_group)
        if target >= count or target == source:
            continue
        value = values[source]
        for bit in rng.sample(range(256), rng.randint(2, 40)):
            value ^= 1 << bit
        values[target] = value
    return [f"{value:064x}" for value in values]


def every_pair(hashes: list[str]) -> list[Pair]:
    values = [int(h, 16) for h in hashes]
    return [
        (a, b, distance)
        for (a, first), (b, second) in combinations(enumerate(values), 2)
        if (distance := (first ^ second).bit_count()) <= PDQ_THRESHOLD
    ]


def every_pair_numpy(hashes: list[str], block: int = 256) -> list[Pair]:
    """The same full comparison vectorised: each block of rows XORed with every later row, bits counted."""
    words = np.array([[int(h[i : i + 16], 16) for i in range(0, 64, 16)] for h in hashes], dtype=np.uint64)
    found: list[Pair] = []
    for start in range(0, len(words), block):
        rows = words[start : start + block]
        distances = np.bitwise_count(rows[:, None, :] ^ words[None, start + 1 :, :]).sum(axis=2)
        for a, b in zip(*np.nonzero(distances <= PDQ_THRESHOLD), strict=True):
            first, second = start + int(a), start + 1 + int(b)
            if first < second:
                found.append((first, second, int(distances[a, b])))
    return found


def indexed_pairs(hashes: list[str]) -> list[Pair]:
    index = PdqIndex()
    for key, value in enumerate(hashes):
        index.add(key, value)
    return [(int(str(a)), int(str(b)), distance) for a, b, distance in index.pairs(PDQ_THRESHOLD)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(machine_busy_note())
    hashes = make_hashes(args.hashes, args.groups)
    comparisons = args.hashes * (args.hashes - 1) // 2
    print(f"{args.hashes:,} PDQ hashes in {args.groups:,} captures; every pair is {comparisons:,} comparisons")
    timings, results = interleaved_best(
        {
            "every pair, Python ints": lambda: every_pair(hashes),
            "every pair, numpy (baseline)": lambda: every_pair_numpy(hashes),
            "PdqIndex, built and queried": lambda: indexed_pairs(hashes),
        },
        repeat=args.repeat,
    )
    for timing in timings.values():
        print(format_timing(timing, width=30))
    python, baseline, indexed = timings.values()
    found_python, found_all, found_indexed = (sorted(pairs) for pairs in results.values())
    same = found_all == found_indexed == found_python
    print(
        f"near pairs (distance <= {PDQ_THRESHOLD}): every pair {len(found_all)}, index {len(found_indexed)}; "
        f"{'the same pairs' if same else 'DIFFERENT pairs'}"
    )
    print(ratio_line("index speed-up over every pair in Python", python.seconds, indexed.seconds))
    print(ratio_line("index speed-up over every pair in numpy", baseline.seconds, indexed.seconds, goal=GOAL))
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
