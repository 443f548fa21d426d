"""Hostile inputs to the diff engine: each must cost a bounded amount of work (or a fallback stated in
diff.json), never minutes or gigabytes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from evidencekit.photos.hashing import MAX_PIXELS
from evidencekit.photos.visualdiff import visual_diff


def test_screenshots_whose_padded_canvas_is_too_large_are_refused_before_decoding(tmp_path: Path) -> None:
    side = MAX_PIXELS // 250 // 7  # each image well under the limit, the padded canvas far over it
    wide, tall = tmp_path / "wide.png", tmp_path / "tall.png"
    cv2.imwrite(str(wide), np.full((250, side, 3), 200, np.uint8))
    cv2.imwrite(str(tall), np.full((side, 250, 3), 100, np.uint8))
    assert side * side > MAX_PIXELS
    with pytest.raises(ValueError, match="sizes too different"):
        visual_diff(wide, tall)
