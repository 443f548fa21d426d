"""Hostile inputs to the diff engine: each must cost a bounded amount of work (or a fallback stated in
diff.json), never minutes or gigabytes."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from evidencekit.analysis import pagetext
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


# --- the word diff's work is bounded -------------------------------------------------------------------


def _random_words(seed: int, count: int, vocabulary: int) -> str:
    chosen = random.Random(seed)
    return " ".join(f"w{chosen.randrange(vocabulary)}" for _ in range(count))


@pytest.mark.timeout(120)
def test_a_hostile_page_is_counted_as_replaced_beyond_the_work_limit_and_diff_json_says_so(tmp_path: Path) -> None:
    # 150,000 random words over a 100-word vocabulary: 2.25e8 pairs of equal words to match (404 s before).
    before = state("capture-0001", text=_random_words(1, 150_000, 100))
    after = state("capture-0002", text=_random_words(2, 150_000, 100))
    found = pagetext.word_diff(str(before.text), str(after.text))
    assert found.bounded is not None and found.bounded[1] == 300_000
    assert (found.added, found.removed) == (150_000, 150_000)
    assert found.pairs <= pagetext.MAX_PAGE_PAIRS
    diff = compare_pages(before, after)
    text = diff.document["text"]
    assert text["bounded"] is True and "counted as replaced" in text["bounded_why"]
    assert diff.verdict == "changed"
    write_diff_files(diff, before, after, tmp_path)  # valid against the schema


@pytest.mark.timeout(120)
def test_many_blocks_each_under_the_block_limit_share_one_page_budget() -> None:
    # Blocks of 1,500 words over 10 words (225,000 pairs each), apart by unchanged unique lines: each fits
    # MAX_BLOCK_PAIRS, together far over MAX_PAGE_PAIRS.
    blocks = 60
    old = "\n".join(f"unchanged line {n}\n{_random_words(n, 1_500, 10)}" for n in range(blocks))
    new = "\n".join(f"unchanged line {n}\n{_random_words(n + 1000, 1_500, 10)}" for n in range(blocks))
    found = pagetext.word_diff(old, new)
    assert found.bounded is not None
    assert 0 < found.pairs <= pagetext.MAX_PAGE_PAIRS  # the work done, bounded; the rest counted as replaced


def test_a_small_change_on_a_long_page_is_still_matched_exactly() -> None:
    page = "\n".join(f"line {n} of the advert, with some words" for n in range(20_000))
    found = pagetext.word_diff(page, page.replace("line 7000 of", "line 7000 at"))
    assert (found.added, found.removed, found.bounded) == (1, 1, None)


# --- --ignore: one pass, bounded, and only as often as elements carried the text -----------------------


@pytest.mark.timeout(120)
def test_thousands_of_ignored_elements_against_a_long_text_take_one_bounded_pass() -> None:
    # 5,000 masked elements against 1.6 MB of text took 417 s when each mask was a regex over the text.
    chosen = random.Random(2)
    spans = "".join(f'<span class="t">tick {n} {chosen.random()}</span>' for n in range(5_000))
    dom = f"<html><body><div>{spans}</div></body></html>".encode()
    text = " ".join(f"w{chosen.randint(0, 10**6)}" for _ in range(200_000)) + " tick 7 " + spans[:0]
    masks = pagetext.masked_texts(dom, [".t"])
    assert len(masks) == 5_000
    taken = pagetext.remove_masked(text, masks)
    assert (taken.removed, taken.unplaced, taken.over_budget) == (0, 5_000, False)


@pytest.mark.timeout(120)
def test_masks_sharing_their_first_words_stop_at_the_work_limit_and_diff_json_says_so() -> None:
    # 3,000 masks starting alike with 3,000 different lengths: one position of the text could cost 4.5
    # million words compared.
    masks = ["tick tock" + " x" * n for n in range(3_000)]
    text = "tick tock " * 100_000
    taken = pagetext.remove_masked(text, masks)
    assert taken.over_budget and taken.unplaced == 3_000 and taken.removed == 0
    dom = ("<html><body>" + "".join(f"<b class='t'>{m}</b>" for m in masks) + "</body></html>").encode()
    diff = compare_pages(
        state("capture-0001", text=text, dom=dom), state("capture-0002", text=text + " new", dom=dom), ignore=[".t"]
    )
    assert "ignore not applied fully to before: 3000 elements (work limit reached)" in diff.document["text"]["notes"]


def test_an_ignored_counter_takes_out_only_as_many_occurrences_as_elements_carried_it() -> None:
    dom = b"<html><body><p>Price 120 EUR</p><span class='visits'>120</span></body></html>"
    masks = pagetext.masked_texts(dom, [".visits"])
    assert masks == [pagetext.Mask("120", 1)]  # the second "120" of the page: the price comes first
    taken = pagetext.remove_masked("Price 120 EUR\n120", masks)
    assert taken.removed == 1 and taken.unplaced == 0
    assert taken.text.split() == ["Price", "120", "EUR"]  # the counter taken out, the price kept
    two = pagetext.masked_texts(b"<body><i class='v'>7</i> and <i class='v'>7</i></body>", [".v"])
    assert two == [pagetext.Mask("7", 0), pagetext.Mask("7", 1)]
    assert pagetext.remove_masked("7 and 7 and 7", two).text.split() == ["and", "and", "7"]
    missing = pagetext.remove_masked("nothing here", ["gone"])
    assert (missing.removed, missing.unplaced) == (0, 1)
    # The element's occurrence is not in the text (hidden, say): noted as not placed, nothing else taken.
    hidden = pagetext.remove_masked("Price 120 EUR", masks)
    assert (hidden.removed, hidden.unplaced, hidden.text) == (0, 1, "Price 120 EUR")


# --- --ignore also keeps the ignored regions out of the verdict -----------------------------------------


def test_ignored_elements_do_not_drive_the_verdict_through_indicators_or_the_screenshot(tmp_path: Path) -> None:
    def page(slot_phone: str) -> dict[str, Any]:
        dom = (
            "<html><body><p>Au pair wanted. Call +44 7700 900123.</p>"
            f"<div class='ad-slot'>Sponsored: call {slot_phone}</div></body></html>"
        ).encode()
        text = f"Au pair wanted. Call +44 7700 900123.\nSponsored: call {slot_phone}"
        ours = {"kind": "phone", "value": "+447700900123", "raw": "+44 7700 900123"}
        slot = {"kind": "phone", "value": "+" + slot_phone.replace(" ", "")[1:], "raw": slot_phone}
        return {"dom": dom, "text": text, "indicators": (ours, slot)}

    first, second = _screenshots(tmp_path / "shots")  # a banner: 12.5% of the pixels changed
    before = state("capture-0001", screenshot=first, **page("+44 7700 111111"))
    after = state("capture-0002", screenshot=second, **page("+44 7700 222222"))
    plain = compare_pages(before, after)
    assert plain.verdict == "changed" and plain.changes[0]["kind"] == "indicators"
    ignored = compare_pages(before, after, ignore=[".ad-slot"])
    assert ignored.verdict == "unchanged", ignored.changes
    assert ignored.document["indicators"]["changed"] is False
    assert ignored.document["indicators"]["ignored_left_out"] == {"before": 1, "after": 1}
    assert ignored.document["screenshot"]["counts"] is False
    assert "with_ignore" in ignored.document["algorithms"]["screenshot"]
    write_diff_files(ignored, before, after, tmp_path / "out")  # valid against the schema
    # The phone of the ad itself, also shown inside the ignored slot, is kept: it occurs outside it too.
    moved = state("capture-0002", screenshot=first, **page("+44 7700 900123"))
    kept = compare_pages(before, moved, ignore=[".ad-slot"]).document["indicators"]
    assert kept["ignored_left_out"] == {"before": 1, "after": 0}
