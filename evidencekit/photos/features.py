"""Feature matching between two photos: OpenCV ORB keypoints, Lowe's ratio test, then a homography fitted
by RANSAC. The inliers (point pairs the one geometric mapping explains) are what confirms a candidate
match found by a hash, and what the exhibit draws.

ORB is rotation invariant but not mirror invariant: the second photo is also tried mirrored, and the
better of the two is kept (a flipped repost is common). Each photo is matched at most MATCH_SIDE pixels
on its longer side, so the cost and the number of keypoints do not depend on the upload's resolution.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from evidencekit.photos.hashing import load_rgb

MATCH_SIDE = 1024
ORB_FEATURES = 3000
RATIO = 0.75  # Lowe's ratio test: best match clearly better than the second best
RANSAC_REPROJECTION_PX = 5.0
OPENCV = f"OpenCV {cv2.__version__}"

Points = list[tuple[float, float]]


@dataclass(frozen=True)
class FeatureMatch:
    """The outcome of matching photo ``a`` against ``b``. Points are in each photo's own pixels (as
    stored: for a mirrored match, ``b``'s points are already mapped back onto the unmirrored photo)."""

    matches: int  # pairs passing the ratio test
    inliers: int  # of those, pairs the RANSAC homography explains
    mirrored: bool
    points_a: Points
    points_b: Points


@dataclass(frozen=True)
class _Prepared:
    gray: np.ndarray[Any, Any]
    scale: float  # stored pixels per matched pixel


def match_photos(a: Path, b: Path) -> FeatureMatch:
    """Match ``a`` against ``b`` and against ``b`` mirrored; the result with more inliers. ValueError (one
    line) when either file is not a decodable raster image.

    ORB's matching is not symmetric (a against b may keep a few more or fewer pairs than b against a), so
    the pair is always matched in one order, that of the SHA-256 of the files' bytes: the count a link
    records and the exhibit drawn for it later, in whichever order, are the same."""
    if _content_key(b) < _content_key(a):
        turned = _match_in_order(b, a)
        return FeatureMatch(turned.matches, turned.inliers, turned.mirrored, turned.points_b, turned.points_a)
    return _match_in_order(a, b)


def _content_key(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _match_in_order(a: Path, b: Path) -> FeatureMatch:
    first, second = _prepare(load_rgb(a)), _prepare(load_rgb(b))
    plain = _match(first, second, mirrored=False)
    mirror = _match(first, _Prepared(np.ascontiguousarray(second.gray[:, ::-1]), second.scale), mirrored=True)
    return mirror if mirror.inliers > plain.inliers else plain


def _prepare(rgb: np.ndarray[Any, Any]) -> _Prepared:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    longer = max(gray.shape[:2])
    if longer <= MATCH_SIDE:
        return _Prepared(gray, 1.0)
    scale = longer / MATCH_SIDE
    size = (max(1, round(gray.shape[1] / scale)), max(1, round(gray.shape[0] / scale)))
    return _Prepared(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), scale)


def _match(a: _Prepared, b: _Prepared, *, mirrored: bool) -> FeatureMatch:
    empty = FeatureMatch(0, 0, mirrored, [], [])
    orb = cv2.ORB.create(nfeatures=ORB_FEATURES)
    keys_a, desc_a = orb.detectAndCompute(a.gray, None)
    keys_b, desc_b = orb.detectAndCompute(b.gray, None)
    if desc_a is None or desc_b is None or len(keys_a) < 2 or len(keys_b) < 2:
        return empty
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(desc_a, desc_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < 4:
        return FeatureMatch(len(good), 0, mirrored, [], [])
    src = np.array([keys_a[m.queryIdx].pt for m in good], dtype=np.float32).reshape(-1, 1, 2)
    dst = np.array([keys_b[m.trainIdx].pt for m in good], dtype=np.float32).reshape(-1, 1, 2)
    _homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_REPROJECTION_PX)
    if mask is None:
        return FeatureMatch(len(good), 0, mirrored, [], [])
    keep = mask.ravel().astype(bool)
    width_b = b.gray.shape[1]
    points_a = [(float(x) * a.scale, float(y) * a.scale) for x, y in src[keep, 0]]
    points_b = [
        ((width_b - 1 - float(x) if mirrored else float(x)) * b.scale, float(y) * b.scale) for x, y in dst[keep, 0]
    ]
    return FeatureMatch(len(good), int(keep.sum()), mirrored, points_a, points_b)
