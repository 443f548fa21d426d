"""Photo reuse on photos the tests make (tests/photokit.py): every alteration the issue lists is found and
confirmed, an unrelated photo of the same colours is not, and the exhibit shows the match."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from photokit import VARIANTS, make_photo, save_jpeg, unrelated, variants
from PIL import Image

from evidencekit.models import canonical_json
from evidencekit.photos.hashing import dihedral_pdq, photo_facts
from evidencekit.photos.match import (
    CONFIRM_MIN_INLIERS,
    PDQ_THRESHOLD,
    algorithms,
    confirm,
    crop_resistant,
    crop_resistant_match,
    is_candidate,
    match_words,
    pdq_distance,
    render_exhibit,
)

SEEDS = (1, 2, 3)
# Found by PDQ over the 8 rotations and flips; the asymmetric crop only by the crop-resistant hash.
PDQ_FOUND = ("reencoded", "resized", "brightened", "flipped", "watermarked")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("photos")
    made: dict[int, dict[str, Path]] = {}
    for seed in SEEDS:
        base = make_photo(seed)
        files = {"base": save_jpeg(base, folder / f"{seed}-base.jpg")}
        for name, image in variants(base).items():
            files[name] = save_jpeg(image, folder / f"{seed}-{name}.jpg")
        files["unrelated"] = save_jpeg(unrelated(seed), folder / f"{seed}-unrelated.jpg")
        made[seed] = files
    return made


def best_distance(a: Path, b: Path) -> int:
    plain = photo_facts(a)["pdq"]["hash"]
    return min(pdq_distance(plain, other) for other in dihedral_pdq(b))


def test_photokit_makes_every_alteration_the_issue_lists() -> None:
    base = make_photo(7)
    made = variants(base)
    assert tuple(made) == VARIANTS
    assert made["resized"].size == (600, 450)
    assert made["cropped"].size == (700, 637)
    assert np.asarray(make_photo(7)).tobytes() == np.asarray(base).tobytes()  # deterministic
    assert np.asarray(unrelated(7)).tobytes() != np.asarray(base).tobytes()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", PDQ_FOUND)
def test_pdq_over_rotations_and_flips_finds_the_altered_photo(
    photos: dict[int, dict[str, Path]], seed: int, name: str
) -> None:
    files = photos[seed]
    assert best_distance(files["base"], files[name]) <= PDQ_THRESHOLD
    assert best_distance(files[name], files["base"]) <= PDQ_THRESHOLD
    for path in (files["base"], files[name]):
        assert is_candidate(photo_facts(path))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_flipped_photo_is_found_only_through_its_mirror_image(photos: dict[int, dict[str, Path]], seed: int) -> None:
    files = photos[seed]
    plain_distance = pdq_distance(
        photo_facts(files["base"])["pdq"]["hash"], photo_facts(files["flipped"])["pdq"]["hash"]
    )
    assert plain_distance > PDQ_THRESHOLD
    assert best_distance(files["base"], files["flipped"]) <= PDQ_THRESHOLD
    found = confirm(files["base"], files["flipped"])
    assert found.confirmed and found.mirrored


@pytest.mark.parametrize("seed", SEEDS)
def test_the_asymmetric_crop_escapes_pdq_but_not_the_crop_resistant_hash(
    photos: dict[int, dict[str, Path]], seed: int
) -> None:
    files = photos[seed]
    assert best_distance(files["base"], files["cropped"]) > PDQ_THRESHOLD
    assert crop_resistant_match(crop_resistant(files["base"]), crop_resistant(files["cropped"]))
    assert crop_resistant_match(crop_resistant(files["cropped"]), crop_resistant(files["base"]))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", VARIANTS)
def test_feature_matching_confirms_every_altered_photo(
    photos: dict[int, dict[str, Path]], seed: int, name: str
) -> None:
    found = confirm(photos[seed]["base"], photos[seed][name])
    assert found.confirmed
    assert found.inliers >= CONFIRM_MIN_INLIERS * 4
    assert found.matches >= found.inliers
    assert found.algorithm.startswith("ORB + RANSAC (OpenCV ")


@pytest.mark.parametrize("seed", SEEDS)
def test_an_unrelated_photo_of_the_same_colours_matches_nothing(photos: dict[int, dict[str, Path]], seed: int) -> None:
    files = photos[seed]
    for name in ("base", *VARIANTS):
        assert best_distance(files[name], files["unrelated"]) > PDQ_THRESHOLD, name
        assert not crop_resistant_match(crop_resistant(files[name]), crop_resistant(files["unrelated"])), name
    found = confirm(files["base"], files["unrelated"])
    assert not found.confirmed
    assert found.inliers < CONFIRM_MIN_INLIERS // 2


def test_photos_of_different_seeds_match_nothing(photos: dict[int, dict[str, Path]]) -> None:
    first, second = photos[1], photos[2]
    assert best_distance(first["base"], second["base"]) > PDQ_THRESHOLD
    assert not crop_resistant_match(crop_resistant(first["base"]), crop_resistant(second["cropped"]))
    assert not confirm(first["base"], second["cropped"]).confirmed


def test_confirming_a_file_that_is_no_photo_says_why(photos: dict[int, dict[str, Path]], tmp_path: Path) -> None:
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    found = confirm(photos[1]["base"], svg)
    assert not found.confirmed and found.inliers == 0
    assert found.error is not None and "SVG" in found.error


def test_the_exhibit_shows_both_photos_the_joined_points_and_the_caption(
    photos: dict[int, dict[str, Path]], tmp_path: Path
) -> None:
    files = photos[1]
    found = confirm(files["base"], files["watermarked"])
    words = match_words(best_distance(files["base"], files["watermarked"]), found.inliers)
    out = tmp_path / "exhibits" / "match-1.png"
    render_exhibit(files["base"], files["watermarked"], out, f"{words}; {found.algorithm}")
    with Image.open(out) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert pixels.shape[1] > 2 * pixels.shape[0] * 0.9  # two photos side by side, caption beneath
    assert pixels.std() > 30  # not blank
    caption = pixels[-40:, :, :]
    assert caption.min() < 50 and caption.max() > 200  # dark text on white
    # The lines join points: bright line colours cross the gap between the two photos.
    gap = pixels[16:496, 16 + 640 + 4 : 16 + 640 + 20, :]
    assert (np.abs(gap - 255).sum(axis=2) > 60).any()


def test_the_words_never_claim_identity() -> None:
    assert match_words(12, 287) == "visually matching (PDQ distance 12, 287 matched points)"
    assert (
        match_words(None, 287, crop_resistant=True)
        == "visually matching (crop-resistant hash match, 287 matched points)"
    )
    assert match_words(None, 1) == "visually matching (1 matched point)"
    assert match_words(0, 1500) == "visually matching (PDQ distance 0, 1,500 matched points)"


def test_the_algorithms_recorded_name_versions_and_thresholds_in_canonical_json() -> None:
    recorded = algorithms()
    canonical_json(recorded)  # ints and strings only: no floats in ledger details
    assert recorded["pdq"]["threshold"] == 31
    assert recorded["pdq"]["library"].startswith("pdqhash ")
    assert recorded["crop_resistant"]["library"].startswith("ImageHash ")
    assert recorded["confirmation"]["algorithm"].startswith("ORB + RANSAC (OpenCV ")
    assert recorded["confirmation"]["min_inliers"] == CONFIRM_MIN_INLIERS
    assert recorded["candidates"] == {"min_side": 100, "min_quality": 50}


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_a_pair_confirms_with_the_same_count_in_either_order(photos: dict[int, dict[str, Path]], seed: int) -> None:
    """The count a link records (confirmed in one order) and its exhibit (drawn later, maybe in the other)
    must agree: the exhibit's caption states it."""
    for name in ("cropped", "watermarked"):
        a, b = photos[seed]["base"], photos[seed][name]
        assert confirm(a, b).inliers == confirm(b, a).inliers
