"""Issue 14, the pieces of search and linking on their own: folding for search, snippets, where the index
lives, and the array pre-filter of crop-resistant hashes against imagehash's own pair-by-pair judgement."""

from __future__ import annotations

from pathlib import Path

import photokit
import pytest

from evidencekit.analysis.index import DerivedIndex, fold, index_path, snippet
from evidencekit.analysis.photomatch import near_crops
from evidencekit.photos.match import crop_resistant, crop_resistant_match
from evidencekit.workspace import Workspace


def test_fold_drops_latin_accents_and_keeps_indic_vowel_signs() -> None:
    assert fold("Résumé Ñandú Ёлка") == "Resume Nandu Елка"
    assert fold("नौकरी मुंबई") == "नौकरी मुंबई"  # the marks carry the vowels: kept
    assert fold("上海的电话") == "上海的电话"


def test_snippet_marks_the_hit_in_the_text_as_found() -> None:
    body = "x" * 100 + " Call Résumé Agency now " + "y" * 100
    shown = snippet(body, fold(body), fold("resume agency"))
    assert "«Résumé Agency»" in shown and shown.startswith("…") and shown.endswith("…")


def test_search_and_short_queries_on_a_real_index(tmp_path: Path) -> None:
    index = DerivedIndex(tmp_path / "i.sqlite")
    with index.transaction():
        index.add_text("capture-0001", "text.txt", "visible-text", 3, "上海的电话号码是多少")
        index.add_text("file-0001", "chat.txt", "file", 7, 'He said "50% upfront" to Résumé_Agent')
    assert [h.item for h in index.search("电话号码")] == ["capture-0001"]
    assert [h.item for h in index.search("电话")] == ["capture-0001"]
    assert [(h.item, h.line) for h in index.search('"50% upfront"')] == [("file-0001", 7)]
    assert [h.item for h in index.search("resume_agent")] == ["file-0001"]
    assert index.search("%") and not index.search("_x")  # LIKE's wildcards are searched as text
    index.close()


def test_the_index_of_a_read_only_case_lives_in_the_cache(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "case")
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path / "home")}
    assert index_path(workspace, "TRAF-1", environ, in_case=True) == tmp_path / "case" / "derived" / "index.sqlite"
    cached = index_path(workspace, "TRAF/1", environ, in_case=False)
    assert cached.parent == tmp_path / "cache" / "evidencekit" / "index"
    assert cached.name.startswith("TRAF_1-") and cached.suffix == ".sqlite"
    assert index_path(Workspace(tmp_path / "other"), "TRAF/1", environ, in_case=False) != cached
    no_xdg = index_path(workspace, "T", {"HOME": str(tmp_path / "home")}, in_case=False)
    assert no_xdg.parent == tmp_path / "home" / ".cache" / "evidencekit" / "index"


@pytest.fixture(scope="module")
def crops(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("crops")
    base = photokit.make_photo(5)
    images = [base, *photokit.variants(base).values(), photokit.unrelated(5), photokit.make_photo(6)]
    return [crop_resistant(photokit.save_jpeg(image, folder / f"{n}.jpg")) for n, image in enumerate(images)]


def test_the_crop_prefilter_misses_no_pair_imagehash_matches(crops: list[str]) -> None:
    near = near_crops(crops, crops)
    judged = {(i, j) for i in range(len(crops)) for j in range(len(crops)) if crop_resistant_match(crops[i], crops[j])}
    assert judged <= near
    assert (0, 5) in judged  # the asymmetric crop, found by its segments
    assert not any(7 in pair or 8 in pair for pair in judged if pair[0] != pair[1])  # other photos match nothing
    assert near_crops([None, ""], crops) == set()
