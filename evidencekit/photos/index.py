"""An exact index of PDQ hashes for "which hashes lie within distance d of this one", without comparing
against every hash: multi-index hashing (Norouzi, Punjani and Fleet, 2012).

The 256 bits are cut into CHUNKS = 16 chunks of 16 bits, and each chunk value is a key into its own
table. By the pigeonhole principle, two hashes at most ``d`` bits apart differ in at most ``d // 16`` bits
in at least one chunk (were every chunk ``d // 16 + 1`` bits apart, the hashes would be ``16 * (d // 16 +
1) > d`` apart). So probing each chunk's table with its value and every value within ``d // 16`` bits of it
finds every hash within ``d``: for PDQ's threshold 31, 16 tables x 17 probes. Each candidate found is then
measured exactly, so the answer is the same as a full scan's, never an approximation. With 16-bit chunks a
table holds 65,536 possible values, so among 20,000 unrelated hashes a probe finds almost nothing.

``near`` answers one query with dictionaries; ``pairs`` and ``near_many`` answer thousands at once with
the same probes done on numpy arrays (each chunk's rows sorted by value, with where each of the 65,536
values starts), because a Python loop per probe and hash costs more than the comparisons it saves
(benchmarks/bench_links_index.py).
Beyond ``d = 47`` (more than 2 differing bits per chunk), probing costs more than it saves, and the index
falls back to measuring every hash: still exact.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from evidencekit.photos.match import PDQ_THRESHOLD

CHUNKS = 16
CHUNK_BITS = 256 // CHUNKS
_CHUNK_MASK = (1 << CHUNK_BITS) - 1
_MAX_PROBED_FLIPS = 2
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")

Array = np.ndarray[Any, Any]


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


def _words(values: list[int]) -> Array:
    """(n, 4) uint64: each hash's four 64-bit words, least significant first."""
    mask = (1 << 64) - 1
    return np.array([[(v >> (64 * k)) & mask for k in range(4)] for v in values], dtype=np.uint64).reshape(-1, 4)


def _chunks(words: Array) -> Array:
    """(n, CHUNKS) int64: each hash's 16-bit chunks, least significant first."""
    parts = [(words[:, c // 4] >> np.uint64(16 * (c % 4))) & np.uint64(_CHUNK_MASK) for c in range(CHUNKS)]
    return np.stack(parts, axis=1).astype(np.int64) if parts else np.zeros((0, CHUNKS), dtype=np.int64)


class PdqIndex:
    """PDQ hashes under keys (a key may be added with several hashes, e.g. its 8 rotations and flips)."""

    def __init__(self) -> None:
        self._keys: list[Hashable] = []
        self._values: list[int] = []
        # Made when first needed, and made again after an add: the chunk tables of ``near``, and the arrays
        # of ``pairs`` and ``near_many`` (words, chunks, and per chunk the rows sorted by it and where each
        # value's rows start in that order).
        self._tables: list[dict[int, list[int]]] | None = None
        self._arrays: _Arrays | None = None

    def __len__(self) -> int:
        return len(self._values)

    def add(self, key: Hashable, hash_hex: str) -> None:
        value = parse_hash(hash_hex)
        self._keys.append(key)
        self._values.append(value)
        self._tables, self._arrays = None, None

    def near(self, hash_hex: str, max_distance: int = PDQ_THRESHOLD) -> list[tuple[Hashable, int]]:
        """Every (key, distance) whose hash lies within ``max_distance`` bits of ``hash_hex``, nearest first
        (ties in the order added). A key added with several hashes appears once per matching hash."""
        value = parse_hash(hash_hex)
        if max_distance < 0:
            return []
        flips = max_distance // CHUNKS
        if flips > _MAX_PROBED_FLIPS:
            candidates: Iterable[int] = range(len(self._values))
        else:
            found: set[int] = set()
            for chunk, table in enumerate(self._chunk_tables()):
                part = (value >> (chunk * CHUNK_BITS)) & _CHUNK_MASK
                for mask in _MASKS[flips]:
                    found.update(table.get(part ^ mask, ()))
            candidates = found
        measured = sorted(((value ^ self._values[slot]).bit_count(), slot) for slot in candidates)
        return [(self._keys[slot], distance) for distance, slot in measured if distance <= max_distance]

    def near_many(
        self, queries: Iterable[tuple[Hashable, str]], max_distance: int = PDQ_THRESHOLD
    ) -> list[tuple[Hashable, Hashable, int]]:
        """For many queries at once: every (query key, indexed key, distance) within ``max_distance``, in the
        order of the queries, then nearest first, then in the order added."""
        query_keys, query_values = [], []
        for key, hash_hex in queries:
            query_keys.append(key)
            query_values.append(parse_hash(hash_hex))
        if not query_values or not self._values or max_distance < 0:
            return []
        query_words = _words(query_values)
        q, s, distances = self._matches(query_words, _chunks(query_words), max_distance, self_join=False)
        order = np.lexsort((s, distances, q))
        return [(query_keys[int(q[i])], self._keys[int(s[i])], int(distances[i])) for i in order]

    def pairs(self, max_distance: int = PDQ_THRESHOLD) -> Iterator[tuple[Hashable, Hashable, int]]:
        """Every pair of entries within ``max_distance`` bits, each pair once, as (first added, later
        added, distance), in the order the later one was added (then the earlier one's)."""
        if len(self._values) < 2 or max_distance < 0:
            return
        arrays = self._indexed_arrays()
        later, earlier, distances = self._matches(arrays.words, arrays.chunks, max_distance, self_join=True)
        for i in np.lexsort((earlier, later)):
            yield self._keys[int(earlier[i])], self._keys[int(later[i])], int(distances[i])

    def _chunk_tables(self) -> list[dict[int, list[int]]]:
        if self._tables is None:
            self._tables = [{} for _ in range(CHUNKS)]
            for slot, value in enumerate(self._values):
                for chunk, table in enumerate(self._tables):
                    table.setdefault((value >> (chunk * CHUNK_BITS)) & _CHUNK_MASK, []).append(slot)
        return self._tables

    def _indexed_arrays(self) -> _Arrays:
        if self._arrays is None:
            words = _words(self._values)
            chunks = _chunks(words)
            orders, starts = [], []
            for c in range(CHUNKS):
                orders.append(np.argsort(chunks[:, c], kind="stable"))
                counts = np.bincount(chunks[:, c], minlength=_CHUNK_MASK + 1)
                starts.append(np.concatenate(([0], np.cumsum(counts))))
            self._arrays = _Arrays(words, chunks, orders, starts)
        return self._arrays

    def _matches(
        self, query_words: Array, query_chunks: Array, max_distance: int, *, self_join: bool
    ) -> tuple[Array, Array, Array]:
        """(query row, indexed row, distance) of every pair within ``max_distance``; with ``self_join`` the
        queries are the indexed rows themselves and each pair comes once (indexed row < query row). Done in
        blocks of queries, so memory stays bounded even when every hash must be measured."""
        arrays = self._indexed_arrays()
        words = arrays.words
        probing = max_distance // CHUNKS <= _MAX_PROBED_FLIPS
        block = 8192 if probing else max(1, 4_000_000 // len(words))
        found: list[tuple[Array, Array, Array]] = []
        for start in range(0, len(query_words), block):
            rows = slice(start, start + block)
            if probing:
                q, s = _probe(query_chunks[rows], arrays, max_distance // CHUNKS)
            else:
                grid_q, grid_s = np.meshgrid(np.arange(len(query_words[rows])), np.arange(len(words)), indexing="ij")
                q, s = grid_q.ravel(), grid_s.ravel()
            q = q + start
            if self_join:
                keep = s < q
                q, s = q[keep], s[keep]
            distances = np.bitwise_count(query_words[q] ^ words[s]).sum(axis=1)
            keep = distances <= max_distance
            # A near pair is found through several chunks: keep it once (few pairs are left to sort here).
            codes, first = np.unique(q[keep] * len(words) + s[keep], return_index=True)
            found.append((codes // len(words), codes % len(words), distances[keep][first]))
        return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


@dataclass(frozen=True)
class _Arrays:
    words: Array  # (n, 4) uint64
    chunks: Array  # (n, CHUNKS) int64
    orders: list[Array]  # per chunk: rows sorted by its value
    starts: list[Array]  # per chunk: where the rows of each value (0-65535) start in that order; 65,537 long


def _probe(query_chunks: Array, arrays: _Arrays, flips: int) -> tuple[Array, Array]:
    """(query row, indexed row) of every candidate pair: rows whose chunk ``c`` lies within ``flips`` bits of
    the query's, for some ``c``; one lookup per chunk and flip mask. A pair found through several chunks is
    listed as often (removing repeats here would cost more than measuring them)."""
    queries = len(query_chunks)
    found_q: list[Array] = []
    found_s: list[Array] = []
    for c in range(CHUNKS):
        order, starts = arrays.orders[c], arrays.starts[c]
        for mask in _MASKS[flips]:
            probe = query_chunks[:, c] ^ mask
            left = starts[probe]
            hits = starts[probe + 1] - left
            total = int(hits.sum())
            if not total:
                continue
            found_q.append(np.repeat(np.arange(queries), hits))
            found_s.append(order[np.repeat(left - np.cumsum(hits) + hits, hits) + np.arange(total)])
    if not found_q:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(found_q), np.concatenate(found_s)
