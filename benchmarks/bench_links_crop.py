"""How much faster does ``links`` find the crop-resistant candidates with arrays than imagehash pair by pair?

Run:  .venv/bin/python benchmarks/bench_links_crop.py [--photos 600] [--repeat 3]

A crop-resistant hash (imagehash) is a list of 64-bit segment hashes, about 8 a photo; two photos are a
candidate when any segment of one lies within ``CROP_HAMMING_CUTOFF`` bits of any segment of the other.
``imagehash`` judges one pair in about a millisecond, so ``links`` (``analysis.photomatch.near_crops``)
first finds the pairs that can match with numpy (XOR and popcount of every segment against every segment),
then lets ``crop_resistant_match`` judge only those. Hashes here are random segments (unrelated photos' lie
~32 bits apart) with a tenth of the photos given a near copy of another's segment (a crop: 0-14 bits off,
so some fall inside the cutoff and some outside).

  (a) every pair through ``crop_resistant_match`` (imagehash)
  (b) ``near_crops`` + ``crop_resistant_match`` on what it found: what ``links`` runs

Timed interleaved, best of ``--repeat``. Prints the speed-up and whether both found the same pairs (they
must: the pre-filter's test is the match's own). Exits 1 if they disagree.
"""

from __future__ import annotations

import argparse
import random
import sys

from _common import format_timing, interleaved_best, machine_busy_note, ratio_line

from evidencekit.analysis.photomatch import near_crops
from evidencekit.photos.match import crop_resistant_match


def make_crops(count: int, seed: int = 14) -> list[str]:
    rng = random.Random(seed)
    photos = [[rng.getrandbits(64) for _ in range(rng.randint(4, 12))] for _ in range(count)]
    for target in rng.sample(range(count), count // 10):
        source = rng.randrange(count)
        if source == target:
            continue
        segment = rng.choice(photos[source])
        for bit in rng.sample(range(64), rng.randint(0, 14)):
            segment ^= 1 << bit
        photos[target][rng.randrange(len(photos[target]))] = segment
    return [",".join(f"{s:016x}" for s in segments) for segments in photos]


def every_pair(crops: list[str]) -> set[tuple[int, int]]:
    return {
        (i, j) for i in range(len(crops)) for j in range(i + 1, len(crops)) if crop_resistant_match(crops[i], crops[j])
    }


def prefiltered(crops: list[str]) -> set[tuple[int, int]]:
    near = {(min(i, j), max(i, j)) for i, j in near_crops(crops, crops) if i != j}
    return {(i, j) for i, j in near if crop_resistant_match(crops[i], crops[j])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    crops = make_crops(args.photos)
    print(machine_busy_note())
    print(f"{args.photos} photos, {sum(c.count(',') + 1 for c in crops)} segment hashes")
    timings, results = interleaved_best(
        {"every pair (imagehash)": lambda: every_pair(crops), "near_crops + imagehash": lambda: prefiltered(crops)},
        repeat=args.repeat,
    )
    for timing in timings.values():
        print(format_timing(timing, width=30))
    slow, fast = timings["every pair (imagehash)"], timings["near_crops + imagehash"]
    print(ratio_line("speed-up of the array pre-filter", slow.seconds, fast.seconds))
    same = results["every pair (imagehash)"] == results["near_crops + imagehash"]
    print(f"candidate pairs: {len(results['near_crops + imagehash'])}; same pairs found: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
