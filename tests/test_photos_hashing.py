"""PDQ facts of image files (hostile ones included), the size and quality floor, and the PDQ index against
a full comparison of every pair."""

from __future__ import annotations

import random
import struct
import zlib
from itertools import combinations
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from photokit import make_photo, save_jpeg, save_png
from PIL import Image

from evidencekit.photos.hashing import MAX_PIXELS, bits_to_hex, dihedral_pdq, photo_facts
from evidencekit.photos.index import PdqIndex, parse_hash
from evidencekit.photos.match import PDQ_THRESHOLD, crop_resistant, is_candidate, pdq_distance

HEX64 = r"^[0-9a-f]{64}$"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, side: int = 100_000) -> Path:
    """A PNG whose header claims side x side pixels (10 gigapixels), with a few bytes of data."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1024)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")
    )
    return path


def test_facts_of_a_photo(tmp_path: Path) -> None:
    path = save_jpeg(make_photo(3), tmp_path / "photo.jpg")
    facts = photo_facts(path)
    assert set(facts) == {"width", "height", "pdq"}
    assert (facts["width"], facts["height"]) == (1000, 750)
    assert facts["pdq"]["quality"] == 100
    assert len(facts["pdq"]["hash"]) == 64 and facts["pdq"]["hash"] == facts["pdq"]["hash"].lower()
    assert dihedral_pdq(path)[0] == facts["pdq"]["hash"]
    assert len(set(dihedral_pdq(path))) == 8


def test_the_hash_is_pdqhash_of_the_decoded_pixels(tmp_path: Path) -> None:
    image = make_photo(4, (480, 360))
    path = save_png(image, tmp_path / "photo.png")
    bits, quality = pdqhash.compute(np.asarray(image))
    assert photo_facts(path)["pdq"] == {"hash": bits_to_hex(bits), "quality": quality}


def test_hex_is_zero_padded_most_significant_bit_first() -> None:
    bits = np.zeros(256, dtype=np.int64)
    assert bits_to_hex(bits) == "0" * 64
    bits[255] = 1
    assert bits_to_hex(bits) == "0" * 63 + "1"
    bits[0] = 1
    assert bits_to_hex(bits) == "8" + "0" * 62 + "1"


def test_exif_orientation_is_not_applied_to_the_recorded_hash(tmp_path: Path) -> None:
    image = make_photo(5, (400, 300))
    plain = save_jpeg(image, tmp_path / "plain.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to show"
    turned = tmp_path / "turned.jpg"
    image.save(turned, "JPEG", quality=90, exif=exif.tobytes())
    facts = photo_facts(turned)
    assert (facts["width"], facts["height"]) == (400, 300)
    assert facts["pdq"] == photo_facts(plain)["pdq"]


def test_transparent_and_palette_images_are_hashed_on_white(tmp_path: Path) -> None:
    rgba = make_photo(6, (300, 300)).convert("RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 255))
    opaque = photo_facts(save_png(rgba, tmp_path / "opaque.png"))
    assert opaque["pdq"] == photo_facts(save_png(rgba.convert("RGB"), tmp_path / "rgb.png"))["pdq"]
    gif = tmp_path / "photo.gif"
    make_photo(6, (300, 300)).convert("P").save(gif)
    assert pdq_distance(photo_facts(gif)["pdq"]["hash"], opaque["pdq"]["hash"]) <= PDQ_THRESHOLD


def test_a_large_photo_is_hashed_reduced_and_matches_its_full_size(tmp_path: Path) -> None:
    big = make_photo(8, (2400, 1800))
    large = photo_facts(save_png(big, tmp_path / "large.png"))
    assert (large["width"], large["height"]) == (2400, 1800)
    bits, _quality = pdqhash.compute(np.asarray(big))
    assert pdq_distance(large["pdq"]["hash"], bits_to_hex(bits)) <= 8


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("zero_bytes.jpg", b"", "empty file"),
        ("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "SVG"),
        ("bom.svg", b'\xef\xbb\xbf <svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        ("random_bytes.jpg", bytes(random.Random(1).getrandbits(8) for _ in range(5000)), "not decodable"),
        ("text.png", b"just some text, not an image\n" * 10, "not decodable"),
    ],
)
def test_hostile_files_give_an_error_not_an_exception(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    facts = photo_facts(path)
    assert list(facts) == ["pdq_error"]
    assert expected in facts["pdq_error"] and "\n" not in facts["pdq_error"]
    assert not is_candidate(facts)
    assert dihedral_pdq(path) == []
    assert crop_resistant(path) == ""


def test_a_truncated_jpeg_gives_an_error(tmp_path: Path) -> None:
    whole = save_jpeg(make_photo(9), tmp_path / "whole.jpg").read_bytes()
    cut = tmp_path / "truncated_half.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    facts = photo_facts(cut)
    assert "pdq_error" in facts and "truncated" in facts["pdq_error"]


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    facts = photo_facts(bomb_png(tmp_path / "bomb_10_gigapixels.png"))
    assert facts == {"pdq_error": f"too many pixels to decode safely (limit {MAX_PIXELS:,})"}
    just_over = photo_facts(bomb_png(tmp_path / "bomb_just_over.png", side=8001))
    assert "too many" in just_over["pdq_error"]


def test_an_unreadable_path_gives_an_error(tmp_path: Path) -> None:
    assert "cannot read" in photo_facts(tmp_path / "absent.jpg")["pdq_error"]
    assert "cannot read" in photo_facts(tmp_path)["pdq_error"]


@pytest.mark.parametrize(
    ("size", "flat", "candidate"),
    [
        ((1000, 750), False, True),
        ((32, 32), False, False),
        ((16, 16), False, False),
        ((800, 60), False, False),
        ((100, 100), False, True),
        ((600, 600), True, False),
    ],
)
def test_tiny_images_icons_and_flat_images_are_not_candidates(
    tmp_path: Path, size: tuple[int, int], flat: bool, candidate: bool
) -> None:
    image = Image.new("RGB", size, (200, 120, 90)) if flat else make_photo(10, size)
    facts = photo_facts(save_png(image, tmp_path / "image.png"))
    assert "pdq" in facts
    assert is_candidate(facts) is candidate
    if flat:
        assert facts["pdq"]["quality"] < 50


def test_an_icon_file_is_not_a_candidate(tmp_path: Path) -> None:
    icon = tmp_path / "favicon.ico"
    make_photo(11, (64, 64)).save(icon, sizes=[(32, 32)])
    facts = photo_facts(icon)
    assert facts["width"] == 32 and not is_candidate(facts)


def test_is_candidate_wants_well_formed_facts() -> None:
    assert not is_candidate({})
    assert not is_candidate({"pdq_error": "empty file"})
    assert not is_candidate({"width": 500, "height": 500, "pdq": {"hash": "0" * 64}})
    assert is_candidate({"width": 500, "height": 500, "pdq": {"hash": "0" * 64, "quality": 50}})


def random_hashes(seed: int, groups: int, per_group: int) -> list[str]:
    """Groups of near hashes (0-45 bits from their group's own random hash) and nothing else alike."""
    rng = random.Random(seed)
    hashes = []
    for _ in range(groups):
        centre = rng.getrandbits(256)
        for _ in range(per_group):
            value = centre
            for _ in range(rng.randint(0, 45)):
                value ^= 1 << rng.randrange(256)
            hashes.append(f"{value:064x}")
    return hashes


def test_the_index_finds_exactly_what_comparing_every_pair_finds() -> None:
    hashes = random_hashes(14, 120, 5)
    index = PdqIndex()
    for key, value in enumerate(hashes):
        index.add(key, value)
    assert len(index) == len(hashes)
    every_pair = {
        (a, b, pdq_distance(hashes[a], hashes[b]))
        for a, b in combinations(range(len(hashes)), 2)
        if pdq_distance(hashes[a], hashes[b]) <= PDQ_THRESHOLD
    }
    found = list(index.pairs())
    assert len(found) == len(set(found))
    assert set(found) == every_pair
    assert len(every_pair) > 200  # the test means something: many near pairs, and many far ones
    # Pairs of one group fall on both sides of the threshold, so the threshold, not luck, decides.
    near_misses = [(a, b) for a, b in combinations(range(len(hashes)), 2) if a // 5 == b // 5]
    assert any(pdq_distance(hashes[a], hashes[b]) in range(PDQ_THRESHOLD + 1, 48) for a, b in near_misses)
    assert max(distance for _a, _b, distance in every_pair) >= PDQ_THRESHOLD - 4
    for key in range(0, len(hashes), 7):
        for limit in (0, 10, PDQ_THRESHOLD, 47, 64):
            expected = sorted(
                ((other, d) for other, value in enumerate(hashes) if (d := pdq_distance(hashes[key], value)) <= limit),
                key=lambda pair: (pair[1], pair[0]),
            )
            assert index.near(hashes[key], limit) == expected


def test_many_queries_at_once_find_what_one_query_at_a_time_finds() -> None:
    hashes = random_hashes(15, 60, 4)
    index = PdqIndex()
    for key, value in enumerate(hashes[:150]):
        index.add(key, value)
    queries = [(f"q{n}", value) for n, value in enumerate(hashes[100:])]
    for limit in (0, 20, PDQ_THRESHOLD, 47, 60):
        one_by_one = [(query, key, d) for query, value in queries for key, d in index.near(value, limit)]
        assert index.near_many(queries, limit) == one_by_one
        assert any(query for query, _key, _d in one_by_one) or limit == 0
    wide = {(a, b, d) for a, b, d in index.pairs(60)}
    assert wide == {
        (a, b, pdq_distance(hashes[a], hashes[b]))
        for a, b in combinations(range(150), 2)
        if pdq_distance(hashes[a], hashes[b]) <= 60
    }
    assert index.near_many([], PDQ_THRESHOLD) == [] and PdqIndex().near_many(queries) == []
    assert list(PdqIndex().pairs()) == []


def test_the_index_refuses_what_is_not_a_pdq_hash() -> None:
    index = PdqIndex()
    for bad in ("", "0" * 63, "g" * 64, "0" * 65):
        with pytest.raises(ValueError, match="64 hex digits"):
            index.add("x", bad)
    assert parse_hash("F" * 64) == (1 << 256) - 1
    assert index.near("0" * 64) == []
