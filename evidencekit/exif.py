"""EXIF metadata of an image as JSON-ready data, and media-type sniffing from magic bytes.

Everything returned here can go into a ledger entry as it is: strings, integers, lists and dicts only.
Fractions (GPS degrees, altitude, sub-second times) are computed exactly with ``Fraction`` and travel as
decimal strings, because canonical JSON forbids fractional numbers.

Images are hostile input: ``read_exif`` never raises because of what is inside a file. It returns
``None`` when a file carries no EXIF (or is not a format exifread reads), and ``{"error": "..."}``
when an EXIF block is present but cannot be parsed. Only a file that cannot be opened raises.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, cast

import exifread

from evidencekit.errors import InputFileError

# exifread logs a warning for every file without EXIF. With no handler configured anywhere, Python's
# last-resort handler would print those to stderr; a library must stay silent unless asked.
logging.getLogger("exifread").addHandler(logging.NullHandler())

MAX_TAG_VALUE_CHARS = 512
MAX_TAGS = 1000
_SNIFF_BYTES = 4096

# Thumbnail images and maker notes are binary blobs, not metadata a person reads.
_SKIPPED_TAG_KEYS = frozenset({"JPEGThumbnail", "TIFFThumbnail", "EXIF MakerNote"})
_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_DATE = re.compile(r"(\d{4}):(\d{2}):(\d{2})")
_UTC_OFFSET = re.compile(r"[+-](?:[01]\d|2[0-3]):[0-5]\d")

# (output key, EXIF date-time tag, tag holding its UTC offset, tag holding its sub-seconds)
_DATETIMES = (
    ("datetime_original", "EXIF DateTimeOriginal", "EXIF OffsetTimeOriginal", "EXIF SubSecTimeOriginal"),
    ("datetime_digitized", "EXIF DateTimeDigitized", "EXIF OffsetTimeDigitized", "EXIF SubSecTimeDigitized"),
    ("datetime", "Image DateTime", "EXIF OffsetTime", "EXIF SubSecTime"),
)
_TEXT_FIELDS = (("make", "Image Make"), ("model", "Image Model"), ("software", "Image Software"))


def read_exif(path: Path) -> dict[str, Any] | None:
    """The EXIF metadata of the image at ``path``.

    Returns None when the file has no EXIF or is not an image exifread understands, a dict with an
    ``"error"`` key when the EXIF block is damaged beyond reading, and otherwise a dict with the keys
    found among ``make``, ``model``, ``software``, ``orientation`` (int 1-8), ``datetime_original``,
    ``datetime_digitized``, ``datetime`` (each as in EXIF, with an ``*_iso`` form when parseable),
    ``gps`` (``latitude``, ``longitude``, ``altitude_m``, ``timestamp``, and ``problems`` naming what
    could not be read), ``tags`` (every tag's printable value, each cut to MAX_TAG_VALUE_CHARS
    characters; at most MAX_TAGS of them, the rest counted in ``tags_omitted``) and ``warnings`` (when
    the EXIF data runs past the end of the file).
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}; check the path") from None
    with handle:
        reader = _EndAwareReader(handle, os.fstat(handle.fileno()).st_size)
        try:
            raw = exifread.process_file(cast(BinaryIO, reader), details=False, extract_thumbnail=False)
        except Exception as exc:
            # Any parser failure on hostile bytes is a finding to record, never a crash.
            return {"error": _one_line(f"EXIF block could not be parsed: {type(exc).__name__}: {exc}")}
    tags = {str(key): value for key, value in raw.items() if _keep_tag(str(key), value)}
    if not tags:
        return None
    result = _summarise(tags)
    if reader.reads_past_end:
        result["warnings"] = [
            f"{reader.reads_past_end} EXIF reads began past the end of the file ({reader.size} bytes): "
            "the file is truncated or its EXIF offsets are corrupt, and values stored there read as empty"
        ]
    return result


class _EndAwareReader:
    """The file as exifread sees it, counting reads that start at or beyond the end of the file.

    exifread quietly reads data past the end as empty values; counting those reads is how a truncated
    file is told apart from a camera that really wrote an empty Make.
    """

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self.size = size
        self.reads_past_end = 0

    def read(self, size: int = -1) -> bytes:
        if size > 0 and self._handle.tell() >= self.size:
            self.reads_past_end += 1
        return self._handle.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()


def _keep_tag(key: str, value: Any) -> bool:
    return key not in _SKIPPED_TAG_KEYS and not key.startswith("MakerNote ") and hasattr(value, "printable")


def _summarise(tags: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for out_key, tag_key in _TEXT_FIELDS:
        text = _printable(tags, tag_key).strip()
        if text:
            result[out_key] = text
    orientation = _first_int(tags, "Image Orientation")
    if orientation is not None and 1 <= orientation <= 8:
        result["orientation"] = orientation
    for out_key, tag_key, offset_key, subsec_key in _DATETIMES:
        text = _printable(tags, tag_key).strip()
        if any(char.isalnum() for char in text):  # EXIF writes an unknown date as blanks and colons
            result[out_key] = text
            iso = _iso_datetime(text, _printable(tags, offset_key).strip(), _printable(tags, subsec_key).strip())
            if iso:
                result[out_key + "_iso"] = iso
    gps = _gps(tags)
    if gps:
        result["gps"] = gps
    names = sorted(tags)
    result["tags"] = {name: _cap(_printable(tags, name)) for name in names[:MAX_TAGS]}
    if len(names) > MAX_TAGS:
        result["tags_omitted"] = len(names) - MAX_TAGS
    return result


def _printable(tags: Mapping[str, Any], key: str) -> str:
    tag = tags.get(key)
    if tag is None:
        return ""
    # Round-trip through UTF-8 so that no lone surrogate can reach the ledger's UTF-8 encoder.
    return str(tag.printable).encode("utf-8", "replace").decode("utf-8")


def _cap(text: str) -> str:
    return text if len(text) <= MAX_TAG_VALUE_CHARS else text[: MAX_TAG_VALUE_CHARS - 1] + "…"


def _one_line(text: str) -> str:
    return _cap(" ".join(text.split()))


def _values(tags: Mapping[str, Any], key: str) -> Sequence[Any]:
    tag = tags.get(key)
    values = getattr(tag, "values", None)
    return values if isinstance(values, list | tuple | str) else ()


def _first_int(tags: Mapping[str, Any], key: str) -> int | None:
    values = _values(tags, key)
    if values and isinstance(values[0], int) and not isinstance(values[0], bool):
        return values[0]
    return None


def _iso_datetime(text: str, offset: str, subsec: str) -> str | None:
    match = _EXIF_DATETIME.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        # EXIF date-times are the camera's local time without a zone; the offset tag, if any, says which.
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    iso = moment.isoformat()
    if subsec.isdigit() and subsec.isascii():
        iso += "." + subsec
    if _UTC_OFFSET.fullmatch(offset):
        iso += offset
    return iso


def _rational(value: Any) -> Fraction | None:
    """An exifread Ratio (or int) as an exact Fraction; None for a zero denominator or another type."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    numerator, denominator = getattr(value, "numerator", None), getattr(value, "denominator", None)
    if isinstance(numerator, int) and isinstance(denominator, int) and denominator != 0:
        return Fraction(numerator, denominator)
    return None


def _rationals(tags: Mapping[str, Any], key: str) -> list[Fraction] | None:
    values = _values(tags, key)
    if isinstance(values, str):
        return None
    exact: list[Fraction] = []
    for value in values:
        fraction = _rational(value)
        if fraction is None:
            return None
        exact.append(fraction)
    return exact


def _decimal(value: Fraction, places: int, *, trim: bool = False) -> str:
    """``value`` rounded to ``places`` decimals, ties away from zero, computed without floats."""
    scaled = abs(value) * 10**places
    units = int(scaled + Fraction(1, 2))
    digits = str(units).rjust(places + 1, "0")
    whole, fraction = digits[: len(digits) - places], digits[len(digits) - places :]
    if trim:
        fraction = fraction.rstrip("0")
    sign = "-" if value < 0 and units else ""
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def _coordinate(tags: Mapping[str, Any], axis: str, negative_ref: str, limit: int) -> Fraction | str:
    """Signed decimal degrees from degrees/minutes/seconds rationals, or why they cannot be read."""
    parts = _rationals(tags, f"GPS GPS{axis}")
    ref = _printable(tags, f"GPS GPS{axis}Ref").strip().upper()
    if not parts or len(parts) > 3:
        return f"GPS{axis} is missing or not 1 to 3 rationals with non-zero denominators"
    if any(part < 0 for part in parts):
        return f"GPS{axis} has a negative component"
    if ref not in ("NS" if axis == "Latitude" else "EW"):
        return f"GPS{axis}Ref is {ref!r}, not a hemisphere, so the sign is unknown"
    degrees = sum((part / 60**index for index, part in enumerate(parts)), Fraction(0))
    if degrees > limit:
        return f"GPS{axis} is {_decimal(degrees, 6)} degrees, beyond {limit}"
    return -degrees if ref == negative_ref else degrees


def _gps(tags: Mapping[str, Any]) -> dict[str, Any]:
    if not any(key.startswith("GPS ") for key in tags):
        return {}
    gps: dict[str, Any] = {}
    problems: list[str] = []
    if "GPS GPSLatitude" in tags or "GPS GPSLongitude" in tags:
        latitude = _coordinate(tags, "Latitude", "S", 90)
        longitude = _coordinate(tags, "Longitude", "W", 180)
        if isinstance(latitude, Fraction) and isinstance(longitude, Fraction):
            gps["latitude"], gps["longitude"] = _decimal(latitude, 6), _decimal(longitude, 6)
        problems += [value for value in (latitude, longitude) if isinstance(value, str)]
    altitude = _rationals(tags, "GPS GPSAltitude")
    if altitude and len(altitude) == 1:
        below_sea_level = _first_int(tags, "GPS GPSAltitudeRef") == 1
        gps["altitude_m"] = _decimal(-altitude[0] if below_sea_level else altitude[0], 3, trim=True)
    timestamp = _gps_timestamp(tags)
    if timestamp:
        gps["timestamp"] = timestamp
    elif "GPS GPSDate" in tags or "GPS GPSTimeStamp" in tags:
        problems.append("GPSDateStamp and GPSTimeStamp do not make a valid UTC date and time")
    if problems:
        gps["problems"] = problems
    return gps


def _gps_timestamp(tags: Mapping[str, Any]) -> str | None:
    """GPSDateStamp + GPSTimeStamp as UTC RFC 3339 (to the microsecond), when both make a real moment."""
    date = _EXIF_DATE.fullmatch(_printable(tags, "GPS GPSDate").strip())
    clock = _rationals(tags, "GPS GPSTimeStamp")
    if not date or not clock or len(clock) != 3 or any(part.denominator != 1 for part in clock[:2]):
        return None
    if not 0 <= clock[2] < 60:
        return None
    year, month, day = (int(part) for part in date.groups())
    try:
        minute_start = datetime(year, month, day, int(clock[0]), int(clock[1]), tzinfo=UTC)
    except ValueError:
        return None
    # Rounded to whole microseconds exactly; 59.9999996 s rolls over into the next minute as it should.
    moment = minute_start + timedelta(microseconds=int(clock[2] * 10**6 + Fraction(1, 2)))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def is_image_media_type(media_type: str) -> bool:
    """True for ``image/*`` media types (parameters and case ignored)."""
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence.startswith("image/") and len(essence) > len("image/")


# ISO BMFF brands of HEIF images, most specific first: a generic "mif1" file may also list "heic".
_HEIF_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic-sequence",
    b"hevx": "image/heic-sequence",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"mif1": "image/heif",
    b"msf1": "image/heif-sequence",
}
# WHATWG MIME Sniffing: the tags that make a leading "<" an HTML document.
_HTML_STARTS = (
    b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div", b"<font", b"<table",
    b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p", b"<!--",
)  # fmt: skip
# WHATWG "binary data byte": control characters that plain text does not contain.
_BINARY_BYTES = frozenset(range(0x00, 0x09)) | {0x0B} | frozenset(range(0x0E, 0x1B)) | frozenset(range(0x1C, 0x20))


def media_type_of(path: Path) -> str:
    """The media type of the file at ``path`` from its first bytes; the file name is never consulted."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}; check the path") from None
    return sniff_media_type(head)


def sniff_media_type(head: bytes) -> str:
    """The media type announced by the leading bytes of a file (a few kilobytes are plenty)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        # The major brand, then the compatible brands listed up to the end of the ftyp box.
        box_end = min(len(head), int.from_bytes(head[:4], "big"))
        brands = [head[8:12]] + [head[i : i + 4] for i in range(16, box_end - 3, 4)]
        for brand, media_type in _HEIF_BRANDS.items():  # most specific brand first
            if brand in brands:
                return media_type
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if not head:
        return "application/octet-stream"
    if head.startswith((b"\xfe\xff", b"\xff\xfe")):
        return "text/plain"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b"\t\n\x0c\r ")
    lowered = text[:16].lower()
    for start in _HTML_STARTS:
        if lowered.startswith(start) and lowered[len(start) : len(start) + 1] in (b" ", b">"):
            return "text/html"
    if not _BINARY_BYTES.intersection(head):
        return "text/plain"
    return "application/octet-stream"
