"""An exact index of PDQ hashes for "which hashes lie within distance d of this one", without comparing
against every hash: multi-index hashing (Norouzi, Punjani and Fleet, 2012).

The 256 bits are cut into CHUNKS = 16 chunks of 16 bits, and each chunk value is a key into its own
table. By the pigeonhole principle, two hashes at most ``d`` bits apart differ in at most ``d // 16`` bits
in at least one chunk (were every chunk ``d // 16 + 1`` bits apart, the hashes would be ``16 * (d // 16 +
1) > d`` apart). So probing each chunk's table with its value and every value within ``d // 16`` bits of it
finds every hash within ``d``: for PDQ's threshold 31, 16 tables x 17 probes. Each candidate found is then
measured exactly, so the answer is the same as a full scan's, never an approximation. With 16-bit chunks a
table holds 65,536 possible values, so among 20,000 unrelated hashes a probe finds almost nothing.

Beyond ``d = 47`` (more than 2 differing bits per chunk), probing costs more than it saves, and ``near``
falls back to a full scan: still exact.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator
from itertools import combinations

from evidencekit.photos.match import PDQ_THRESHOLD

CHUNKS = 16
CHUNK_BITS = 256 // CHUNKS
_CHUNK_MASK = (1 << CHUNK_BITS) - 1
_MAX_PROBED_FLIPS = 2
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _flip_masks(flips: int) -> tuple[int, ...]:
    """Every CHUNK_BITS-bit mask with at most ``flips`` bits set (0 first)."""
    masks = [0]
    for count in range(1, flips + 1):
        for bits in combinations(range(CHUNK_BITS), count):
            masks.append(sum(1 << bit for bit in bits))
    return tuple(masks)


_MASKS = tuple(_flip_masks(flips) for flips in range(_MAX_PROBED_FLIPS + 1))


def parse_hash(hash_hex: str) -> int:
    """A PDQ hash written as 64 hex digits, as an integer; ValueError for anything else."""
    if not isinstance(hash_hex, str) or not _HEX64.fullmatch(hash_hex):
        raise ValueError(f"a PDQ hash is 64 hex digits, not {str(hash_hex)[:80]!r}")
    return int(hash_hex, 16)


class PdqIndex:
    """PDQ hashes under keys (a key may be added with several hashes, e.g. its 8 rotations and flips)."""

    def __init__(self) -> None:
        self._keys: list[Hashable] = []
        self._values: list[int] = []
        self._tables: list[dict[int, list[int]]] = [{} for _ in range(CHUNKS)]

    def __len__(self) -> int:
        return len(self._values)

    def add(self, key: Hashable, hash_hex: str) -> None:
        value = parse_hash(hash_hex)
        slot = len(self._values)
        self._keys.append(key)
        self._values.append(value)
        for chunk, table in enumerate(self._tables):
            table.setdefault((value >> (chunk * CHUNK_BITS)) & _CHUNK_MASK, []).append(slot)

    def near(self, hash_hex: str, max_distance: int = PDQ_THRESHOLD) -> list[tuple[Hashable, int]]:
        """Every (key, distance) whose hash lies within ``max_distance`` bits of ``hash_hex``, nearest first
        (ties in the order added). A key added with several hashes appears once per matching hash."""
        value = parse_hash(hash_hex)
        if max_distance < 0:
            return []
        found = [(self._distance(value, slot), slot) for slot in self._candidates(value, max_distance)]
        return [(self._keys[slot], distance) for distance, slot in sorted(found) if distance <= max_distance]

    def pairs(self, max_distance: int = PDQ_THRESHOLD) -> Iterator[tuple[Hashable, Hashable, int]]:
        """Every pair of entries within ``max_distance`` bits, each pair once, as (first added, later
        added, distance), in the order the later one was added."""
        for slot, value in enumerate(self._values):
            for other in sorted(self._candidates(value, max_distance, below=slot)):
                distance = self._distance(value, other)
                if distance <= max_distance:
                    yield self._keys[other], self._keys[slot], distance

    def _distance(self, value: int, slot: int) -> int:
        return (value ^ self._values[slot]).bit_count()

    def _candidates(self, value: int, max_distance: int, below: int | None = None) -> set[int]:
        limit = len(self._values) if below is None else below
        flips = max_distance // CHUNKS
        if flips > _MAX_PROBED_FLIPS:
            return set(range(limit))
        masks = _MASKS[flips]
        found: set[int] = set()
        for chunk, table in enumerate(self._tables):
            part = (value >> (chunk * CHUNK_BITS)) & _CHUNK_MASK
            for mask in masks:
                slots = table.get(part ^ mask)
                if slots:
                    found.update(s for s in slots if s < limit) if below is not None else found.update(slots)
        return found
