"""Finding photos that match across items and cases: candidates from hashes, then confirmation.

Candidates: the 8 rotations and flips of each photo's PDQ hash looked up in a ``PdqIndex`` (distance at most
``PDQ_THRESHOLD``), else a crop-resistant hash match (ad sites crop, and a global hash misses crops). Each
candidate is confirmed by feature matching (``photos.match.confirm``); only confirmed ones are matches. The
dihedral hashes, crop-resistant hashes and confirmations are computed when first needed and cached in the
derived index of the case the photo belongs to (confirmations in the first case's), so a second run is quick.

Not candidates: what ``photos.match.is_candidate`` refuses (tiny images, icons, low-quality hashes), an image
the capture saw shown only in the page's furniture (``images[].site`` in its metadata: a logo in the header,
a banner in the footer; see the README's indicators section), and a site's own furniture where the page had no
such regions to tell: an image found on at least ``FURNITURE_MIN_PAGES`` captures of one site and on more than half of
that site's captures (logos, banners, badges). Two or a few ads of one site sharing a photo stay candidates:
reposting one victim's photos is what links ads, so "on many pages" alone must not hide it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evidencekit.analysis.index import DerivedIndex, PhotoRow

if TYPE_CHECKING:
    from evidencekit.analysis.links import CaseSource

FURNITURE_MIN_PAGES = 3
# Crop-resistant hashes are compared pair by pair (no index over them): beyond this many photos the pass is
# left out, and the link report says so, rather than running for hours.
CROP_RESISTANT_LIMIT = 2000


@dataclass(frozen=True)
class Photo:
    source: int  # position of its case in the sources
    row: PhotoRow


@dataclass(frozen=True)
class Match:
    a: Photo
    b: Photo
    pdq_distance: int | None
    crop_resistant: bool
    inliers: int
    confirmed: bool
    words: str


@functools.cache
def algorithm_key() -> str:
    """Names the matching algorithms, versions and thresholds: a cached confirmation made under others is
    not reused. Computed once: they cannot change while the process runs."""
    from evidencekit.photos.match import algorithms

    text = json.dumps(algorithms(), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def candidate_photos(sources: Sequence[CaseSource], *, include_site: bool = False) -> list[Photo]:
    """Every photo of every case worth comparing: big and sharp enough, and not a site's furniture (with
    ``include_site``, images shown only in furniture are compared too; the frequency rule still holds)."""
    from evidencekit.photos.match import is_candidate

    found = []
    for number, source in enumerate(sources):
        rows = [
            r
            for r in source.index.photos()
            if r.pdq is not None and is_candidate(r.facts()) and (include_site or not r.site)
        ]
        furniture = site_furniture(rows, source.index)
        found += [Photo(number, r) for r in rows if (r.item, r.artefact) not in furniture]
    return found


def site_furniture(rows: Sequence[PhotoRow], index: DerivedIndex) -> set[tuple[str, str]]:
    """(item, artefact) of the photos that are a site's furniture (see the module text)."""
    from evidencekit.photos.index import PdqIndex
    from evidencekit.photos.match import PDQ_THRESHOLD

    pages: dict[str, set[str]] = {}
    for item in index.items().values():
        if item.kind == "capture" and item.host:
            pages.setdefault(item.host, set()).add(item.item)
    furniture: set[tuple[str, str]] = set()
    for host, captures in pages.items():
        if len(captures) < FURNITURE_MIN_PAGES:
            continue
        on_host = [r for r in rows if r.host == host and r.item in captures and r.pdq]
        near = PdqIndex()
        for number, row in enumerate(on_host):
            near.add(number, str(row.pdq))
        for row in on_host:
            items = {on_host[int(str(key))].item for key, _ in near.near(str(row.pdq), PDQ_THRESHOLD)}
            items |= {r.item for r in on_host if r.blake3 == row.blake3}
            if len(items) >= FURNITURE_MIN_PAGES and 2 * len(items) > len(captures):
                furniture.add((row.item, row.artefact))
    return furniture


def dihedral(source: CaseSource, row: PhotoRow) -> list[str]:
    cached = source.index.cached("dihedral", row.blake3)
    if cached is not None:
        return cached.split(",")
    from evidencekit.photos.hashing import dihedral_pdq

    path = source.path_of(row.blake3)
    try:
        hashes = dihedral_pdq(path) if path.is_file() else [str(row.pdq)]
    except Exception:  # a stored photo that decodes for PDQ but not again: its plain hash alone is compared
        hashes = [str(row.pdq)]
    source.index.cache("dihedral", row.blake3, ",".join(hashes))
    return hashes


def crop_hash(source: CaseSource, row: PhotoRow) -> str | None:
    cached = source.index.cached("crop_resistant", row.blake3)
    if cached is not None:
        return cached or None
    from evidencekit.photos.match import crop_resistant

    path = source.path_of(row.blake3)
    try:
        value = crop_resistant(path) if path.is_file() else ""
    except Exception:
        value = ""
    source.index.cache("crop_resistant", row.blake3, value)
    return value or None


def find_matches(
    sources: Sequence[CaseSource],
    photos: Sequence[Photo],
    queries: Sequence[tuple[Photo, Path, list[str], str | None]] | None = None,
) -> tuple[list[Match], dict[str, Any]]:
    """Confirmed matches between photos of different items, and how the search went (for the report).

    ``queries`` None: every photo against every other. Otherwise each query (a photo, its file, its dihedral
    PDQ hashes and crop-resistant hash) against ``photos``.
    """
    from evidencekit.photos.index import PdqIndex
    from evidencekit.photos.match import PDQ_THRESHOLD, crop_resistant_match

    index = PdqIndex()
    for number, photo in enumerate(photos):
        index.add(number, str(photo.row.pdq))
    asked = queries if queries is not None else [_query(sources, p) for p in photos]
    pairs: dict[tuple[int, int], int | None] = {}  # (query number, photo number) -> PDQ distance
    variants = [(q_number, variant) for q_number, (_, _, hashes, _) in enumerate(asked) for variant in hashes]
    for q_key, key, distance in index.near_many(variants, PDQ_THRESHOLD):  # all queries at once, on arrays
        q_number, other = int(str(q_key)), int(str(key))
        if not _comparable(asked[q_number][0], photos[other], queries is None, q_number, other):
            continue
        pair = _pair(q_number, other, queries is None)
        known = pairs.get(pair)
        pairs[pair] = distance if known is None else min(known, distance)
    if queries is not None:
        _reverse(sources, photos, asked, pairs)
    crop_pass = len(photos) + len(asked) <= CROP_RESISTANT_LIMIT
    if crop_pass:
        crops = [crop_hash(sources[p.source], p.row) for p in photos]
        asked_crops = crops if queries is None else [q[3] for q in asked]
        for q_number, other in near_crops(asked_crops, crops):
            pair = _pair(q_number, other, queries is None)
            if pair in pairs or not _comparable(asked[q_number][0], photos[other], queries is None, q_number, other):
                continue
            if crop_resistant_match(str(asked_crops[q_number]), str(crops[other])):
                pairs[pair] = None
    matches = [
        _confirmed(sources, asked[q][0], asked[q][1], photos[o], distance)
        for (q, o), distance in sorted(pairs.items(), key=lambda kv: kv[0])
    ]
    how = {
        "photos_compared": len(photos),
        "candidates": len(pairs),
        "crop_resistant_pass": "all pairs"
        if crop_pass
        else f"left out: more than {CROP_RESISTANT_LIMIT} photos (PDQ candidates only)",
    }
    return [m for m in matches if m.confirmed], how


def near_crops(first: Sequence[str | None], second: Sequence[str | None]) -> set[tuple[int, int]]:
    """(i, j) where a segment hash of ``first[i]`` lies within the crop-resistant cutoff of one of ``second[j]``:
    the pairs that can match (``crop_resistant_match`` decides), found with arrays rather than pair by pair
    (imagehash compares one pair in about a millisecond)."""
    from evidencekit.photos.match import CROP_HAMMING_CUTOFF

    def segments(crops: Sequence[str | None]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        values, owners = [], []
        for number, crop in enumerate(crops):
            for part in (crop or "").split(","):
                if len(part) == 16:  # a 64-bit segment hash (dhash 8 x 8); others are never near
                    with contextlib.suppress(ValueError):
                        values.append(int(part, 16))
                        owners.append(number)
        return np.array(values, dtype=np.uint64), np.array(owners, dtype=np.int64)

    (a, a_owner), (b, b_owner) = segments(first), segments(second)
    found: set[tuple[int, int]] = set()
    for start in range(0, len(a), _BLOCK):
        block = a[start : start + _BLOCK]
        rows, cols = np.nonzero(np.bitwise_count(block[:, None] ^ b[None, :]) <= CROP_HAMMING_CUTOFF)
        found.update(zip(a_owner[start + rows].tolist(), b_owner[cols].tolist(), strict=True))
    return found


_BLOCK = 256


def _reverse(
    sources: Sequence[CaseSource],
    photos: Sequence[Photo],
    asked: Sequence[tuple[Photo, Path, list[str], str | None]],
    pairs: dict[tuple[int, int], int | None],
) -> None:
    """The other direction for queries: each photo's rotations and flips against each query's plain hash.
    PDQ is not exactly the same either way (a rotated image's hash is not the hash's rotation), so ``links``
    (every photo both ways) and ``similar`` (queries) must both look both ways to say the same distance."""
    from evidencekit.photos.index import PdqIndex
    from evidencekit.photos.match import PDQ_THRESHOLD

    plain = PdqIndex()
    for q_number, (_, _, hashes, _) in enumerate(asked):
        if hashes:
            plain.add(q_number, hashes[0])
    variants = [(o, v) for o, photo in enumerate(photos) for v in dihedral(sources[photo.source], photo.row)]
    for o_key, q_key, distance in plain.near_many(variants, PDQ_THRESHOLD):
        q_number, other = int(str(q_key)), int(str(o_key))
        if not _comparable(asked[q_number][0], photos[other], False, q_number, other):
            continue
        known = pairs.get((q_number, other))
        pairs[(q_number, other)] = distance if known is None else min(known, distance)


def _query(sources: Sequence[CaseSource], photo: Photo) -> tuple[Photo, Path, list[str], str | None]:
    source = sources[photo.source]
    return photo, source.path_of(photo.row.blake3), dihedral(source, photo.row), None


def _pair(query: int, other: int, symmetric: bool) -> tuple[int, int]:
    return (min(query, other), max(query, other)) if symmetric else (query, other)


def _comparable(query: Photo, other: Photo, symmetric: bool, q_number: int, o_number: int) -> bool:
    if symmetric and q_number == o_number:
        return False
    return (query.source, query.row.item) != (other.source, other.row.item)


def _confirmed(
    sources: Sequence[CaseSource], query: Photo, query_path: Path, other: Photo, distance: int | None
) -> Match:
    from evidencekit.photos.match import confirm, match_words

    cache = sources[0].index
    algorithm = algorithm_key()
    found = cache.cached_confirmation(query.row.blake3, other.row.blake3, algorithm)
    if found is None:
        other_path = sources[other.source].path_of(other.row.blake3)
        if query_path.is_file() and other_path.is_file():
            said = confirm(query_path, other_path)
            found = (said.inliers, said.matches, said.confirmed, said.algorithm)
        else:
            found = (0, 0, False, "not compared: a stored photo is missing")
        cache.cache_confirmation(query.row.blake3, other.row.blake3, algorithm, found)
    inliers, _, confirmed, _ = found
    words = match_words(distance, inliers, distance is None)
    return Match(query, other, distance, distance is None, inliers, confirmed, words)
