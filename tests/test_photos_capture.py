"""PDQ at capture time, for real: Chromium captures a fixture ad page and a page of test photos (served on
loopback), and every kept image's metadata carries its PDQ hash (or why not), valid against schema 1.5.0."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fixture_site import WWW, FixtureSite
from photokit import make_photo, save_jpeg, save_png, serve_folder, unrelated, variants, write_ad_page

from evidencekit.capture import CaptureOptions, capture_many
from evidencekit.capture.metadata import SCHEMA_ID
from evidencekit.models import CaptureResult, canonical_json
from evidencekit.photos.hashing import PDQ_LIBRARY, photo_facts
from evidencekit.photos.match import PDQ_THRESHOLD, pdq_distance
from evidencekit.schemas import schema_problems


def metadata_of(result: CaptureResult) -> dict[str, Any]:
    path = next(f.path for f in result.files if f.artefact.name == "metadata.json")
    document = json.loads(path.read_text("utf-8"))
    assert document == json.loads(json.dumps(result.metadata))
    return document


@pytest.fixture(scope="module")
def photo_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("photo-page")
    base = make_photo(21, (800, 600))
    save_jpeg(base, folder / "base.jpg")
    save_jpeg(variants(base)["flipped"], folder / "flipped.jpg")
    save_jpeg(unrelated(21, (800, 600)), folder / "other.jpg")
    save_png(make_photo(22, (24, 24)), folder / "icon.png")
    (folder / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="80" height="40"><rect/></svg>')
    (folder / "broken.jpg").write_bytes((folder / "base.jpg").read_bytes()[:3000])
    (folder / "copy").mkdir()
    (folder / "copy" / "base.jpg").write_bytes((folder / "base.jpg").read_bytes())
    write_ad_page(
        folder, ["base.jpg", "flipped.jpg", "other.jpg", "icon.png", "logo.svg", "broken.jpg", "copy/base.jpg"]
    )
    with serve_folder(folder) as url:
        yield url


@pytest.fixture(scope="module")
def captured(site: FixtureSite, photo_page: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaptureResult]:
    work = tmp_path_factory.mktemp("captures")
    ad, photos = capture_many([site.url("/jobs/domestic-work.html"), photo_page], CaptureOptions(timeout_s=45), work)
    (plain,) = capture_many([photo_page], CaptureOptions(timeout_s=45, photo_hashes=False), work)
    return {"ad": ad, "photos": photos, "plain": plain}


def test_the_ad_pages_photo_carries_its_pdq_hash(captured: dict[str, CaptureResult]) -> None:
    document = metadata_of(captured["ad"])
    assert document["schema"] == SCHEMA_ID == "https://evidencekit.org/schemas/capture/1.5.0"
    assert schema_problems("capture", document) == []
    canonical_json(document)
    assert document["photo_hashing"] == {"pdq": PDQ_LIBRARY}
    photo = next(i for i in document["images"] if i["url"].endswith("/images/photo-gps.jpg"))
    expected = photo_facts(WWW / "images" / "photo-gps.jpg")
    assert (photo["width"], photo["height"]) == (320, 240)
    assert photo["pdq"] == expected["pdq"]
    assert photo["exif"]["make"] == "Canon"  # EXIF still read beside it


def test_every_image_kept_gets_a_hash_or_the_reason_it_has_none(
    captured: dict[str, CaptureResult], photo_page: str
) -> None:
    document = metadata_of(captured["photos"])
    assert schema_problems("capture", document) == []
    by_name = {i["url"].removeprefix(photo_page): i for i in document["images"]}
    assert set(by_name) == {
        "base.jpg",
        "flipped.jpg",
        "other.jpg",
        "icon.png",
        "logo.svg",
        "broken.jpg",
        "copy/base.jpg",
    }
    # The same bytes at two addresses are one photo: whichever response came first holds the facts (the
    # browser loads them in parallel), the other is marked its duplicate.
    pair = [by_name["base.jpg"], by_name["copy/base.jpg"]]
    base, duplicate = sorted(pair, key=lambda entry: entry.get("duplicate") is True)
    flipped, other = by_name["flipped.jpg"], by_name["other.jpg"]
    for entry in (base, flipped, other):
        assert (entry["width"], entry["height"]) == (800, 600)
        assert entry["pdq"]["quality"] >= 50
    assert pdq_distance(base["pdq"]["hash"], other["pdq"]["hash"]) > PDQ_THRESHOLD
    assert by_name["icon.png"]["width"] == 24 and "pdq" in by_name["icon.png"]
    assert "SVG" in by_name["logo.svg"]["pdq_error"] and "pdq" not in by_name["logo.svg"]
    assert "truncated" in by_name["broken.jpg"]["pdq_error"]
    assert duplicate["duplicate"] is True and duplicate["artefact"] == base["artefact"]
    assert not {"pdq", "pdq_error", "width", "height"} & set(duplicate)
    folder = next(f.path for f in captured["photos"].files if f.artefact.name == "metadata.json").parent
    assert photo_facts(folder / base["artefact"])["pdq"] == base["pdq"]


def test_without_photo_hashes_the_same_capture_records_none(captured: dict[str, CaptureResult]) -> None:
    document = metadata_of(captured["plain"])
    assert schema_problems("capture", document) == []
    assert "photo_hashing" not in document
    assert len(document["images"]) == 7
    for entry in document["images"]:
        assert not {"pdq", "pdq_error", "width", "height"} & set(entry)


def test_metadata_written_before_1_5_0_stays_valid_and_a_bad_hash_does_not(
    captured: dict[str, CaptureResult],
) -> None:
    older = {**metadata_of(captured["plain"]), "schema": "https://evidencekit.org/schemas/capture/1.4.0"}
    assert schema_problems("capture", older) == []
    document = metadata_of(captured["photos"])
    image = next(i for i in document["images"] if "pdq" in i)
    for bad in (
        {"hash": image["pdq"]["hash"].upper(), "quality": 100},
        {"hash": "ab" * 31, "quality": 100},
        {"hash": image["pdq"]["hash"], "quality": 101},
        {"hash": image["pdq"]["hash"]},
    ):
        image["pdq"] = bad
        assert schema_problems("capture", document) != [], bad
    image["pdq"] = {"hash": "0" * 64, "quality": 0}
    assert schema_problems("capture", document) == []
    image["pdq_error"] = "both at once"
    assert schema_problems("capture", document) != []
    del image["pdq_error"]
    document["photo_hashing"] = {"pdq": PDQ_LIBRARY, "other": "x"}
    assert schema_problems("capture", document) != []
