"""Draw the demo advertisement's photo and write it, with its EXIF metadata, to ``site/photo.jpg``.

A development script, run once by hand (``python -m evidencekit.demo.make_photo``); the JPEG it writes is
committed, so evidencekit itself never needs Pillow. Re-running writes the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw
from PIL.ExifTags import GPS, IFD, Base
from PIL.TiffImagePlugin import IFDRational

PHOTO = Path(__file__).resolve().parent / "site" / "photo.jpg"

MAKE = "samsung"
MODEL = "SM-G991B"
TAKEN = "2026:03:14 10:41:33"
TAKEN_OFFSET = "+04:00"
# 25°04'49.80"N 55°08'25.08"E: Dubai Marina (25.080500, 55.140300).
LATITUDE = ((25, 1), (4, 1), (4980, 100))
LONGITUDE = ((55, 1), (8, 1), (2508, 100))


def _rationals(dms: tuple[tuple[int, int], ...]) -> tuple[IFDRational, ...]:
    return tuple(IFDRational(numerator, denominator) for numerator, denominator in dms)


def _draw() -> Image.Image:
    """A hotel front at midday: sky, a tower with rows of windows, a palm, a pavement and a sign."""
    width, height = 480, 320
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = y * 80 // height
        draw.line((0, y, width, y), fill=(110 + shade, 170 + shade // 2, 230))
    draw.rectangle((150, 40, 330, 270), fill=(222, 205, 170), outline=(150, 130, 100))
    for row in range(8):
        for column in range(5):
            left = 162 + column * 34
            top = 52 + row * 26
            draw.rectangle((left, top, left + 22, top + 16), fill=(70, 110, 150))
    draw.rectangle((0, 270, width, height), fill=(200, 195, 185))
    draw.rectangle((60, 150, 70, 275), fill=(120, 85, 50))
    for dx, dy in ((-40, -10), (40, -10), (-30, 15), (30, 15), (0, -25)):
        draw.ellipse((65 + dx - 28, 150 + dy - 10, 65 + dx + 28, 150 + dy + 10), fill=(40, 130, 60))
    draw.rectangle((180, 230, 300, 258), fill=(30, 30, 60))
    draw.text((192, 238), "GRAND PALM HOTEL", fill=(240, 200, 90))
    return image


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[Base.Make] = MAKE
    exif[Base.Model] = MODEL
    exif[Base.DateTime] = TAKEN
    exif[IFD.Exif] = {
        Base.DateTimeOriginal: TAKEN,
        Base.DateTimeDigitized: TAKEN,
        Base.OffsetTimeOriginal: TAKEN_OFFSET,
    }
    exif[IFD.GPSInfo] = {
        GPS.GPSVersionID: b"\x02\x02\x00\x00",
        GPS.GPSLatitudeRef: "N",
        GPS.GPSLatitude: _rationals(LATITUDE),
        GPS.GPSLongitudeRef: "E",
        GPS.GPSLongitude: _rationals(LONGITUDE),
        GPS.GPSMapDatum: "WGS-84",
    }
    return exif


def main() -> None:
    PHOTO.parent.mkdir(parents=True, exist_ok=True)
    _draw().save(PHOTO, "JPEG", quality=82, exif=_exif())


if __name__ == "__main__":
    main()
