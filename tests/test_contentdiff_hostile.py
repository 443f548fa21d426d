"""Hostile inputs to the diff engine: each must cost a bounded amount of work (or a fallback stated in
diff.json), never minutes or gigabytes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from evidencekit.analysis.contentdiff import PageState, compare_pages, write_diff_files
from evidencekit.photos.hashing import MAX_PIXELS
from evidencekit.photos.visualdiff import visual_diff

T1, T2 = "2026-12-03T10:00:00.000000Z", "2026-12-03T16:00:00.000000Z"


def state(item: str, **fields: Any) -> PageState:
    base: dict[str, Any] = {
        "item": item,
        "url": "https://ads.example/ad/7",
        "final_url": "https://ads.example/ad/7",
        "recorded_at": T1 if item.endswith("1") else T2,
        "title": "Au pair wanted",
        "indicators": (),
        "images": (),
        "text": "Au pair wanted. Call +44 7700 900123.",
        "dom": None,
        "screenshot": None,
    }
    return PageState(**(base | fields))


def test_screenshots_whose_padded_canvas_is_too_large_are_refused_before_decoding(tmp_path: Path) -> None:
    side = MAX_PIXELS // 250 // 7  # each image well under the limit, the padded canvas far over it
    wide, tall = tmp_path / "wide.png", tmp_path / "tall.png"
    cv2.imwrite(str(wide), np.full((250, side, 3), 200, np.uint8))
    cv2.imwrite(str(tall), np.full((side, 250, 3), 100, np.uint8))
    assert side * side > MAX_PIXELS
    with pytest.raises(ValueError, match="sizes too different"):
        visual_diff(wide, tall)


# --- diff.html says what was not compared -------------------------------------------------------------


def test_diff_html_says_a_title_not_known_on_one_side_was_not_compared(tmp_path: Path) -> None:
    before = state("capture-0001", title=None, notes=("title: not known (the ledger holds only its first characters)",))
    after = state("capture-0002")
    diff = compare_pages(before, after)
    assert diff.document["title"]["compared"] is False
    write_diff_files(diff, before, after, tmp_path)
    page = (tmp_path / "diff.html").read_text("utf-8")
    assert "Title not compared: not known for before" in page
    assert "Unchanged" not in page.split("<h2>Title</h2>", 1)[1].split("<h2>", 1)[0]


# --- the panel is drawn from the first comparison, and never named when not written ----------------------


def _screenshots(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    page = np.full((600, 400, 3), 255, np.uint8)
    changed = page.copy()
    changed[100:200, 50:350] = (0, 0, 200)  # a banner
    first, second = folder / "before.png", folder / "after.png"
    cv2.imwrite(str(first), page)
    cv2.imwrite(str(second), changed)
    return first, second


def test_the_panel_is_drawn_from_the_first_comparison_not_a_second_one(tmp_path: Path) -> None:
    first, second = _screenshots(tmp_path / "shots")
    before, after = state("capture-0001", screenshot=first), state("capture-0002", screenshot=second)
    diff = compare_pages(before, after)
    assert diff.document["screenshot"]["panel"] == "visual-diff.png"
    second.write_bytes(b"not an image any more")  # a second comparison would fail
    paths = write_diff_files(diff, before, after, tmp_path / "out")
    assert paths[-1] == tmp_path / "out" / "visual-diff.png" and paths[-1].stat().st_size > 0
    document = json.loads((tmp_path / "out" / "diff.json").read_text("utf-8"))
    assert document["screenshot"]["panel"] == "visual-diff.png"


def test_a_panel_that_cannot_be_drawn_is_null_in_diff_json_with_a_note(tmp_path: Path) -> None:
    first, second = _screenshots(tmp_path / "shots")
    before, after = state("capture-0001", screenshot=first), state("capture-0002", screenshot=second)
    rebuilt = replace(compare_pages(before, after), visual=None)  # no comparison kept: compared again
    second.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # damaged: any error of the image work
    paths = write_diff_files(rebuilt, before, after, tmp_path / "out")
    assert [p.name for p in paths] == ["diff.json", "diff.html"]
    assert not (tmp_path / "out" / "visual-diff.png").exists()
    document = json.loads((tmp_path / "out" / "diff.json").read_text("utf-8"))
    assert document["screenshot"]["panel"] is None
    assert any(note.startswith("visual-diff.png not written:") for note in document["notes"])
    assert 'src="visual-diff.png"' not in (tmp_path / "out" / "diff.html").read_text("utf-8")
