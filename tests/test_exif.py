"""EXIF reading and media-type sniffing, on real image files (tests/data/images, see make_images.py)."""

from __future__ import annotations

import importlib.util
import json
import random
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from evidencekit.errors import InputFileError
from evidencekit.exif import MAX_TAG_VALUE_CHARS, MAX_TAGS, is_image_media_type, media_type_of, read_exif
from evidencekit.models import canonical_json

IMAGES = Path(__file__).parent / "data" / "images"


def _load_maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_images", IMAGES / "make_images.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


maker = _load_maker()
ASCII, SHORT, RATIONAL, BYTE = maker.ASCII, maker.SHORT, maker.RATIONAL, maker.BYTE


def six_places(value: Fraction) -> str:
    """An independent rounding (Decimal, half away from zero) to cross-check the module's own."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


def jpeg_with(tmp_path: Path, name: str, block: bytes) -> Path:
    path = tmp_path / name
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path, "JPEG", exif=block)
    return path


# --- the committed test images ----------------------------------------------------------------------


def test_full_exif_image_gives_camera_times_and_gps_from_the_written_rationals() -> None:
    result = read_exif(IMAGES / "exif_full_gps_north_east.jpg")
    assert result is not None
    assert result["make"] == "Apple"
    assert result["model"] == "iPhone 12"
    assert result["software"] == "16.3.1"
    assert result["orientation"] == 6
    assert result["datetime_original"] == "2024:03:15 21:45:09"
    # SubSecTimeOriginal "250" and OffsetTimeOriginal "+03:00" complete the ISO form.
    assert result["datetime_original_iso"] == "2024-03-15T21:45:09.250+03:00"
    assert result["datetime_iso"] == "2024-03-15T21:47:00"  # no OffsetTime written: local, zone unknown
    # Written: 52/1, 31/1, 1212/100 N and 13/1, 24/1, 1783/100 E.
    latitude = Fraction(52) + Fraction(31, 60) + Fraction(1212, 100) / 3600  # 52.52003333...
    longitude = Fraction(13) + Fraction(24, 60) + Fraction(1783, 100) / 3600  # 13.40495277...
    assert six_places(latitude) == "52.520033"
    assert six_places(longitude) == "13.404953"
    gps = result["gps"]
    assert gps["latitude"] == "52.520033"
    assert gps["longitude"] == "13.404953"
    assert gps["altitude_m"] == "34.5"  # 345/10, GPSAltitudeRef 0 (above sea level)
    assert gps["timestamp"] == "2024-03-15T18:45:09.25Z"  # 18/1, 45/1, 925/100 on 2024:03:15
    assert "problems" not in gps and "warnings" not in result


def test_south_and_west_are_negative_and_ties_round_away_from_zero() -> None:
    result = read_exif(IMAGES / "exif_gps_south_west.jpg")
    assert result is not None
    assert (result["make"], result["model"]) == ("samsung", "SM-A515F")
    # Written: 22/1, 54/1, 2465/100 S -> 22.906847222...
    assert result["gps"]["latitude"] == "-" + six_places(Fraction(22) + Fraction(54, 60) + Fraction(2465, 100) / 3600)
    assert result["gps"]["latitude"] == "-22.906847"
    # Written: 43/1, 0/1, 18/10000 W -> exactly 43.0000005, a tie at the sixth place: rounds away from zero.
    assert Fraction(43) + Fraction(18, 10000) / 3600 == Fraction(430000005, 10**7)
    assert result["gps"]["longitude"] == "-43.000001"
    assert result["gps"]["altitude_m"] == "-1.234"  # 1234/1000 with GPSAltitudeRef 1 (below sea level)
    assert "timestamp" not in result["gps"] and "problems" not in result["gps"]


def test_tags_hold_every_printable_value_capped_and_without_blobs() -> None:
    result = read_exif(IMAGES / "exif_full_gps_north_east.jpg")
    assert result is not None
    tags = result["tags"]
    assert tags["Image Make"] == "Apple"
    assert tags["GPS GPSLatitudeRef"] == "N"
    assert tags["EXIF OffsetTimeOriginal"] == "+03:00"
    description = tags["Image ImageDescription"]  # 2000 "x" written
    assert len(description) == MAX_TAG_VALUE_CHARS
    assert description == "x" * (MAX_TAG_VALUE_CHARS - 1) + "…"
    assert not any("MakerNote" in key or "Thumbnail" in key for key in tags)
    assert all(isinstance(value, str) for value in tags.values())


@pytest.mark.parametrize("name", ["exif_full_gps_north_east.jpg", "exif_gps_south_west.jpg", "exif_in_png.png"])
def test_results_are_canonical_json_without_floats(name: str) -> None:
    result = read_exif(IMAGES / name)
    encoded = canonical_json(result)
    assert json.loads(encoded) == result


def test_png_exif_chunk_is_read() -> None:
    result = read_exif(IMAGES / "exif_in_png.png")
    assert result is not None
    assert (result["make"], result["model"]) == ("Google", "Pixel 7")
    assert "gps" not in result


def test_image_without_exif_gives_none() -> None:
    assert read_exif(IMAGES / "no_exif.jpg") is None


def test_truncated_exif_keeps_what_was_read_and_says_it_is_truncated() -> None:
    result = read_exif(IMAGES / "truncated_exif.jpg")
    assert result is not None
    assert result["orientation"] == 6  # stored inline in IFD0, before the cut
    assert "make" not in result  # its string lay past the cut
    assert "gps" not in result
    assert result["warnings"] and "past the end of the file (160 bytes)" in result["warnings"][0]


def test_broken_exif_pointer_gives_an_error_record_not_an_exception() -> None:
    result = read_exif(IMAGES / "exif_pointer_without_value.jpg")
    assert result is not None
    assert set(result) == {"error"}
    assert result["error"].startswith("EXIF block could not be parsed: IndexError")


def test_zero_denominator_in_gps_is_a_problem_not_a_coordinate() -> None:
    result = read_exif(IMAGES / "gps_zero_denominator.jpg")
    assert result is not None
    assert "latitude" not in result["gps"] and "longitude" not in result["gps"]
    assert result["gps"]["problems"] == ["GPSLatitude is missing or not 1 to 3 rationals with non-zero denominators"]
    assert result["tags"]["GPS GPSLatitudeRef"] == "N"  # the raw tags are still recorded


# --- images built here for single defects ----------------------------------------------------------


def test_gps_without_hemisphere_or_beyond_range_is_reported_as_problems(tmp_path: Path) -> None:
    gps = maker.gps_entries("X", [(10, 1), (0, 1), (0, 1)], "E", [(181, 1), (0, 1), (0, 1)])
    result = read_exif(jpeg_with(tmp_path, "bad_gps.jpg", maker.exif_block([], [], gps)))
    assert result is not None
    assert result["gps"]["problems"] == [
        "GPSLatitudeRef is 'X', not a hemisphere, so the sign is unknown",
        "GPSLongitude is 181.000000 degrees, beyond 180",
    ]
    assert "latitude" not in result["gps"]


def test_decimal_degrees_only_in_the_first_rational(tmp_path: Path) -> None:
    gps = maker.gps_entries("S", [(33868820, 1000000)], "E", [(151209296, 1000000)])
    result = read_exif(jpeg_with(tmp_path, "one_rational.jpg", maker.exif_block([], [], gps)))
    assert result is not None
    assert (result["gps"]["latitude"], result["gps"]["longitude"]) == ("-33.868820", "151.209296")


def test_unparseable_dates_and_offsets_keep_the_raw_text_only(tmp_path: Path) -> None:
    block = maker.exif_block(
        [(0x0132, ASCII, "    :  :     :  :  "), (0x0112, SHORT, 9)],
        [(0x9003, ASCII, "2023:02:30 10:00:00"), (0x9004, ASCII, "2023:02:01 10:00:00"), (0x9012, ASCII, "+3")],
        [],
    )
    result = read_exif(jpeg_with(tmp_path, "bad_dates.jpg", block))
    assert result is not None
    assert result["datetime_original"] == "2023:02:30 10:00:00"  # February 30th: kept, not converted
    assert "datetime_original_iso" not in result
    assert result["datetime_digitized_iso"] == "2023-02-01T10:00:00"  # offset "+3" is malformed: ignored
    assert "datetime" not in result and "datetime_iso" not in result  # blank date is no date
    assert "orientation" not in result  # 9 is not an EXIF orientation
    assert result["tags"]["Image Orientation"] == "9"


def test_number_of_tags_is_capped_and_the_rest_counted(tmp_path: Path) -> None:
    many = [(0xC000 + i, SHORT, i) for i in range(MAX_TAGS + 5)]
    result = read_exif(jpeg_with(tmp_path, "many_tags.jpg", maker.exif_block(many, [], [])))
    assert result is not None
    assert len(result["tags"]) == MAX_TAGS
    assert result["tags_omitted"] == 5


def test_not_an_image_gives_none(tmp_path: Path) -> None:
    text = tmp_path / "page.html"
    text.write_text("<!doctype html><title>x</title>")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert read_exif(text) is None
    assert read_exif(empty) is None


def test_missing_file_and_folder_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read"):
        read_exif(tmp_path / "absent.jpg")
    with pytest.raises(InputFileError):
        read_exif(tmp_path)
    with pytest.raises(InputFileError):
        media_type_of(tmp_path / "absent.jpg")


def test_mangled_images_never_raise_and_always_give_canonical_json(tmp_path: Path) -> None:
    original = (IMAGES / "exif_full_gps_north_east.jpg").read_bytes()
    rng = random.Random(20240315)
    path = tmp_path / "mangled.jpg"
    for round_number in range(300):
        data = bytearray(original)
        if round_number % 3 == 0:
            data = data[: rng.randrange(3, 2600)]
        for _ in range(rng.randrange(1, 12)):
            # Inside the EXIF block (the first 2600 bytes), past the SOI marker.
            data[rng.randrange(2, min(len(data), 2600))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        result = read_exif(path)
        assert result is None or isinstance(result, dict)
        canonical_json(result)


# --- media types -----------------------------------------------------------------------------------


def _pillow(tmp_path: Path, name: str, fmt: str) -> Path:
    path = tmp_path / name
    Image.new("RGB", (4, 4)).save(path, fmt)
    return path


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp"), ("TIFF", "image/tiff")],
)
def test_pillow_images_are_sniffed_whatever_their_name(tmp_path: Path, fmt: str, expected: str) -> None:
    assert media_type_of(_pillow(tmp_path, "picture.txt", fmt)) == expected


def test_committed_images_are_sniffed() -> None:
    assert media_type_of(IMAGES / "no_exif.jpg") == "image/jpeg"
    assert media_type_of(IMAGES / "exif_in_png.png") == "image/png"
    assert media_type_of(IMAGES / "truncated_exif.jpg") == "image/jpeg"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "image/heic"),  # compatible brand decides
        (b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1", "image/heif"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "image/avif"),
        (b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom", "application/octet-stream"),  # MP4 video
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "text/html"),
        (b"\xef\xbb\xbf\n  \t<HTML lang=en>", "text/html"),
        (b"<!-- saved page -->\n<div>x</div>", "text/html"),
        (b"<p>short</p>", "text/html"),
        (b"<pre>not one of the HTML starts</pre>", "text/plain"),
        ("Работа в Дубае, звоните +971 50 123 4567\n".encode(), "text/plain"),
        ("نص عربي".encode("utf-16"), "text/plain"),
        (b"\x00\x01\x02binary\xff", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_media_type_comes_from_magic_bytes_not_the_name(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "evidence.jpg"  # the extension lies on purpose
    path.write_bytes(content)
    assert media_type_of(path) == expected


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [
        ("image/jpeg", True),
        ("IMAGE/PNG; charset=binary", True),
        (" image/heic ", True),
        ("image/", False),
        ("text/html", False),
        ("application/pdf", False),
        ("application/octet-stream", False),
        ("", False),
    ],
)
def test_is_image_media_type(media_type: str, expected: bool) -> None:
    assert is_image_media_type(media_type) is expected


@pytest.mark.parametrize(
    ("date", "clock", "expected"),
    [
        ("2024:12:31", [(23, 1), (59, 1), (599999996, 10**7)], "2025-01-01T00:00:00Z"),  # 59.9999996 s
        ("2024:02:29", [(6, 1), (7, 1), (1, 3)], "2024-02-29T06:07:00.333333Z"),
        ("2023:02:29", [(6, 1), (7, 1), (0, 1)], None),  # no such day
        ("2024:01:01", [(6, 1), (7, 1), (61, 1)], None),  # no such second
        ("2024:01:01", [(13, 2), (0, 1), (0, 1)], None),  # half an hour written into the hour
    ],
)
def test_gps_timestamp_is_exact_utc(
    tmp_path: Path, date: str, clock: list[tuple[int, int]], expected: str | None
) -> None:
    gps = [(0x0007, RATIONAL, clock), (0x001D, ASCII, date)]
    result = read_exif(jpeg_with(tmp_path, "gps_time.jpg", maker.exif_block([], [], gps)))
    assert result is not None
    assert result["gps"].get("timestamp") == expected
    if expected is None:
        assert result["gps"]["problems"] == ["GPSDateStamp and GPSTimeStamp do not make a valid UTC date and time"]
