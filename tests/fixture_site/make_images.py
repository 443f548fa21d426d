"""Generate the fixture site's binary files (images and the downloadable PDF) under ``www/``.

Run once by hand (``.venv/bin/python tests/fixture_site/make_images.py``); the output is committed, so the
tests never need Pillow at run time and always see the same bytes. Re-running rewrites the same files.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw
from PIL.ExifTags import GPS, IFD, Base
from PIL.TiffImagePlugin import IFDRational

WWW = Path(__file__).resolve().parent / "www"

# The values the tests (and the capture tests) expect to read back from /images/photo-gps.jpg.
PHOTO_MAKE = "Canon"
PHOTO_MODEL = "Canon EOS 80D"
PHOTO_TAKEN = "2026:10:03 14:22:05"
# 52°31'12.03"N 13°24'17.82"E, i.e. lat 52.520008, lon 13.404950 (Berlin, Alexanderplatz area).
PHOTO_LATITUDE = ((52, 1), (31, 1), (1203, 100))
PHOTO_LONGITUDE = ((13, 1), (24, 1), (1782, 100))


def _rationals(dms: tuple[tuple[int, int], ...]) -> tuple[IFDRational, ...]:
    return tuple(IFDRational(numerator, denominator) for numerator, denominator in dms)


def _picture(size: tuple[int, int], colour: tuple[int, int, int], label: str) -> Image.Image:
    """A small, visibly distinct picture: a colour field, a lighter band and a label."""
    width, height = size
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    lighter = tuple(min(255, channel + 70) for channel in colour)
    draw.rectangle((0, height * 2 // 3, width, height), fill=lighter)
    draw.ellipse((width // 8, height // 6, width // 8 + height // 3, height // 6 + height // 3), fill="white")
    draw.text((8, height - 18), label, fill="black")
    return image


def _gps_photo() -> None:
    image = _picture((320, 240), (70, 110, 160), "Agency office, Berlin")
    exif = Image.Exif()
    exif[Base.Make] = PHOTO_MAKE
    exif[Base.Model] = PHOTO_MODEL
    exif[IFD.Exif] = {Base.DateTimeOriginal: PHOTO_TAKEN}
    exif[IFD.GPSInfo] = {
        GPS.GPSVersionID: b"\x02\x03\x00\x00",
        GPS.GPSLatitudeRef: "N",
        GPS.GPSLatitude: _rationals(PHOTO_LATITUDE),
        GPS.GPSLongitudeRef: "E",
        GPS.GPSLongitude: _rationals(PHOTO_LONGITUDE),
        GPS.GPSMapDatum: "WGS-84",
    }
    image.save(WWW / "images" / "photo-gps.jpg", "JPEG", quality=80, exif=exif)


def _other_images() -> None:
    images = WWW / "images"
    _picture((200, 150), (160, 60, 60), "lazy-1").save(images / "lazy-1.jpg", "JPEG", quality=75)
    _picture((200, 150), (60, 140, 60), "lazy-2").save(images / "lazy-2.jpg", "JPEG", quality=75)
    _picture((200, 150), (60, 60, 160), "lazy-3").save(images / "lazy-3.png", "PNG", optimize=True)
    feed_colours = [(190, 120, 40), (40, 150, 150), (130, 60, 150), (90, 90, 90), (180, 60, 120)]
    for page, colour in enumerate(feed_colours, start=1):
        picture = _picture((240, 180), colour, f"feed page {page}")
        picture.save(images / f"feed-{page}.jpg", "JPEG", quality=75)


def _contract_pdf() -> None:
    """A one-page PDF with a correct cross-reference table, so PDF readers and sniffers accept it."""
    text = b"BT /F1 18 Tf 72 720 Td (Employment contract - domestic worker abroad) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    (WWW / "download" / "contract.pdf").write_bytes(bytes(out))


def _board_photo() -> None:
    """The photo both CityLink ads (``www/board/``) show: 480 x 360, textured enough for feature matching
    (a gradient, then shapes placed by a seeded generator), the same bytes on every run."""
    rng = random.Random(14)
    image = Image.linear_gradient("L").resize((480, 360)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(140):
        x, y = rng.randrange(480), rng.randrange(360)
        size = rng.randrange(6, 60)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = rng.choice(("ellipse", "rectangle", "line"))
        if shape == "ellipse":
            draw.ellipse((x, y, x + size, y + size * 2 // 3), fill=colour, outline="black")
        elif shape == "rectangle":
            draw.rectangle((x, y, x + size, y + size // 2), fill=colour)
        else:
            draw.line((x, y, x + size, y + rng.randrange(-40, 40)), fill=colour, width=3)
    draw.text((12, 336), "CityLink ad photo", fill="white")
    image.save(WWW / "images" / "board-photo.jpg", "JPEG", quality=80)


def main() -> None:
    (WWW / "images").mkdir(parents=True, exist_ok=True)
    (WWW / "download").mkdir(parents=True, exist_ok=True)
    _gps_photo()
    _other_images()
    _contract_pdf()
    _board_photo()


if __name__ == "__main__":
    main()
