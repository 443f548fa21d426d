"""When two photos are worth comparing, whether they match, and the words a report may use about it.

Two stages, as the issue asks: a hash finds *candidates* (PDQ distance at most PDQ_THRESHOLD over the 8
rotations and flips, else a crop-resistant hash match), and feature matching *confirms* each one (ORB
keypoints and a RANSAC homography: CONFIRM_MIN_INLIERS point pairs or more). A hash alone never claims
identity, and no wording here does either: "visually matching (PDQ distance 12, 287 matched points)".

Thresholds, and what they rest on:
- PDQ_THRESHOLD = 31 of 256 bits: Meta's published threshold for PDQ matching.
- PDQ quality below MIN_QUALITY (50): Meta's guidance is that such hashes (flat, featureless images) are
  unreliable; they are not candidates. Nor are images under MIN_SIDE pixels on a side (icons, spacers,
  logos at thumbnail size), whose hashes match far too easily.
- Crop-resistant hash (imagehash's segment hashes, dhash of each bright or dark segment): a match needs one
  segment within CROP_HAMMING_CUTOFF bits of 64. imagehash's default (16 bits) matched unrelated photos of
  the same palette in tests/photokit.py (best segment 15-16 bits apart); the same photo cropped to 70 % x
  85 % off-centre had a segment within 0-7 bits in 14 of 15 photos. 10 bits separates the two.
- CONFIRM_MIN_INLIERS = 50: measured on tests/photokit.py photos at 1000 x 750, the same photo re-encoded,
  resized, brightened, flipped, cropped or watermarked keeps 1,000-3,000 inliers; an unrelated photo of the
  same palette 4-12, and an unrelated pair of real photos ~12 (the issue's figure). 50 sits far from both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import imagehash

from evidencekit.photos import features
from evidencekit.photos.exhibit import render_exhibit
from evidencekit.photos.hashing import HASH_SIDE, MAX_PIXELS, PDQ_LIBRARY, open_image, to_rgb

PDQ_THRESHOLD = 31
MIN_QUALITY = 50
MIN_SIDE = 100
CROP_HAMMING_CUTOFF = 10
CROP_REGION_CUTOFF = 1
CONFIRM_MIN_INLIERS = 50
IMAGEHASH_LIBRARY = f"ImageHash {metadata.version('ImageHash')}"
CONFIRM_ALGORITHM = f"ORB + RANSAC ({features.OPENCV})"

__all__ = [
    "CONFIRM_MIN_INLIERS",
    "PDQ_THRESHOLD",
    "Confirmation",
    "algorithms",
    "confirm",
    "crop_resistant",
    "crop_resistant_match",
    "is_candidate",
    "match_words",
    "pdq_distance",
    "render_exhibit",
]


def pdq_distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hashes written as 64 hex digits."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def is_candidate(facts: Mapping[str, Any]) -> bool:
    """Whether an image's facts (``photo_facts``) make it worth comparing: hashed, at least MIN_SIDE pixels
    on each side, and a PDQ quality of at least MIN_QUALITY."""
    pdq = facts.get("pdq")
    if not isinstance(pdq, Mapping) or not isinstance(pdq.get("quality"), int):
        return False
    width, height = facts.get("width"), facts.get("height")
    if not isinstance(width, int) or not isinstance(height, int):
        return False
    return min(width, height) >= MIN_SIDE and pdq["quality"] >= MIN_QUALITY


def crop_resistant(path: Path) -> str:
    """imagehash's crop-resistant multi-hash of the image, serialised (comma-separated hex segment hashes);
    "" when the file is not a decodable raster image. About 0.2 s an image: compute it lazily."""
    try:
        with open_image(path) as image:
            flat = to_rgb(image)
        return str(imagehash.crop_resistant_hash(flat))
    except Exception:
        return ""


def crop_resistant_match(a: str, b: str) -> bool:
    """Whether two serialised crop-resistant hashes share a segment within CROP_HAMMING_CUTOFF bits."""
    if not a or not b:
        return False
    try:
        first, second = imagehash.hex_to_multihash(a), imagehash.hex_to_multihash(b)
    except (ValueError, TypeError):
        return False
    return bool(first.matches(second, region_cutoff=CROP_REGION_CUTOFF, hamming_cutoff=CROP_HAMMING_CUTOFF))


@dataclass(frozen=True)
class Confirmation:
    """Feature matching's verdict on a candidate pair. ``mirrored``: the second photo matched mirrored."""

    inliers: int
    matches: int
    confirmed: bool
    algorithm: str
    mirrored: bool = False
    error: str | None = None


def confirm(a: Path, b: Path) -> Confirmation:
    """Match ``a`` against ``b`` (ORB, ratio test, RANSAC homography); confirmed at CONFIRM_MIN_INLIERS
    inliers. A file that is not a decodable image is never confirmed; ``error`` says why."""
    try:
        found = features.match_photos(a, b)
    except ValueError as exc:
        return Confirmation(0, 0, False, CONFIRM_ALGORITHM, error=str(exc))
    return Confirmation(
        found.inliers, found.matches, found.inliers >= CONFIRM_MIN_INLIERS, CONFIRM_ALGORITHM, found.mirrored
    )


def match_words(pdq_distance: int | None, inliers: int, crop_resistant: bool = False) -> str:
    """What a report says about a confirmed pair: how it was found and how many points matched, never more."""
    points = f"{inliers:,} matched point{'' if inliers == 1 else 's'}"
    if pdq_distance is not None:
        return f"visually matching (PDQ distance {pdq_distance}, {points})"
    if crop_resistant:
        return f"visually matching (crop-resistant hash match, {points})"
    return f"visually matching ({points})"


def algorithms() -> dict[str, Any]:
    """Names, versions and thresholds of every step, recorded with each analysis (ints and strings only)."""
    return {
        "pdq": {
            "library": PDQ_LIBRARY,
            "threshold": PDQ_THRESHOLD,
            "compared": "8 rotations and flips",
            "hashed_at_most": f"{HASH_SIDE} pixels on the shorter side",
            "max_pixels": MAX_PIXELS,
        },
        "candidates": {"min_side": MIN_SIDE, "min_quality": MIN_QUALITY},
        "crop_resistant": {
            "library": IMAGEHASH_LIBRARY,
            "function": "crop_resistant_hash (dhash of each segment)",
            "hamming_cutoff": CROP_HAMMING_CUTOFF,
            "region_cutoff": CROP_REGION_CUTOFF,
        },
        "confirmation": {
            "algorithm": CONFIRM_ALGORITHM,
            "orb_features": features.ORB_FEATURES,
            "ratio_test": str(features.RATIO),
            "ransac_reprojection_px": str(features.RANSAC_REPROJECTION_PX),
            "matched_at_most": f"{features.MATCH_SIDE} pixels on the longer side",
            "also_mirrored": True,
            "min_inliers": CONFIRM_MIN_INLIERS,
        },
    }
