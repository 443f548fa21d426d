"""Writes the test images in this folder. Run once, commit the outputs: `python make_images.py`.

The EXIF blocks are assembled byte by byte here (not through Pillow's EXIF writer) so that the stored
rationals are exactly the ones written below, unreduced, which the tests recompute by hand.
Pillow only encodes the tiny pixel data and wraps the EXIF block into the JPEG or PNG.
"""

from __future__ import annotations

import struct
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
ASCII, SHORT, LONG, RATIONAL, BYTE, UNDEFINED = 2, 3, 4, 5, 1, 7
Rational = tuple[int, int]
Entry = tuple[int, int, object]  # tag, type, value (str, int, bytes or list of rationals/ints)


def _payload(kind: int, value: object, order: str) -> tuple[int, bytes]:
    """The count and the bytes of one entry's value."""
    if kind == ASCII:
        assert isinstance(value, str)
        data = value.encode("utf-8") + b"\x00"
        return len(data), data
    if kind in (BYTE, UNDEFINED):
        data = bytes(value) if isinstance(value, bytes | list) else bytes([value])  # type: ignore[list-item]
        return len(data), data
    items = value if isinstance(value, list) else [value]
    if kind == RATIONAL:
        return len(items), b"".join(struct.pack(order + "II", num, den) for num, den in items)
    code = "H" if kind == SHORT else "I"
    return len(items), b"".join(struct.pack(order + code, item) for item in items)


def _ifd(entries: list[Entry], start: int, order: str) -> bytes:
    """One IFD at offset ``start`` of the TIFF block, followed by the values that do not fit inline."""
    entries = sorted(entries, key=lambda entry: entry[0])
    data_start = start + 2 + 12 * len(entries) + 4
    table, data = struct.pack(order + "H", len(entries)), b""
    for tag, kind, value in entries:
        count, payload = _payload(kind, value, order)
        if kind == LONG and value == []:
            count, payload = 0, b""  # a pointer tag with no value at all: deliberately broken
        if len(payload) <= 4:
            field = payload.ljust(4, b"\x00")
        else:
            field = struct.pack(order + "I", data_start + len(data))
            data += payload + (b"\x00" if len(payload) % 2 else b"")
        table += struct.pack(order + "HHI", tag, kind, count) + field
    return table + b"\x00\x00\x00\x00" + data


def exif_block(ifd0: list[Entry], exif: list[Entry], gps: list[Entry], order: str = ">") -> bytes:
    """An APP1 "Exif" payload: TIFF header, IFD0, then the Exif and GPS sub-IFDs it points to."""
    pointers: list[Entry] = []
    if exif:
        pointers.append((0x8769, LONG, 0))
    if gps:
        pointers.append((0x8825, LONG, 0))
    # Lay out once with dummy pointers to learn the sizes, then again with the real offsets.
    size0 = len(_ifd(ifd0 + pointers, 8, order))
    exif_at = 8 + size0
    exif_bytes = _ifd(exif, exif_at, order) if exif else b""
    gps_at = exif_at + len(exif_bytes)
    real = [(tag, LONG, exif_at if tag == 0x8769 else gps_at) for tag, _, _ in pointers]
    header = (b"MM\x00\x2a" if order == ">" else b"II\x2a\x00") + struct.pack(order + "I", 8)
    body = _ifd(ifd0 + real, 8, order) + exif_bytes + (_ifd(gps, gps_at, order) if gps else b"")
    return b"Exif\x00\x00" + header + body


def _image() -> Image.Image:
    image = Image.new("RGB", (64, 48), (200, 120, 40))
    for x in range(64):
        image.putpixel((x, x * 48 // 64), (20, 40, 160))
    return image


def gps_entries(lat_ref: str, lat: list[Rational], lon_ref: str, lon: list[Rational]) -> list[Entry]:
    return [
        (0x0000, BYTE, [2, 3, 0, 0]),
        (0x0001, ASCII, lat_ref),
        (0x0002, RATIONAL, lat),
        (0x0003, ASCII, lon_ref),
        (0x0004, RATIONAL, lon),
    ]


def main() -> None:
    full_ifd0: list[Entry] = [
        (0x010F, ASCII, "Apple"),
        (0x0110, ASCII, "iPhone 12"),
        (0x0131, ASCII, "16.3.1"),
        (0x0112, SHORT, 6),
        (0x0132, ASCII, "2024:03:15 21:47:00"),
        (0x010E, ASCII, "x" * 2000),  # ImageDescription longer than the cap
    ]
    full_exif: list[Entry] = [
        (0x9003, ASCII, "2024:03:15 21:45:09"),
        (0x9011, ASCII, "+03:00"),
        (0x9291, ASCII, "250"),
        (0x927C, UNDEFINED, b"\x01\x02MAKERNOTE-BLOB" * 8),
    ]
    full_gps = gps_entries("N", [(52, 1), (31, 1), (1212, 100)], "E", [(13, 1), (24, 1), (1783, 100)])
    full_gps += [
        (0x0005, BYTE, 0),
        (0x0006, RATIONAL, [(345, 10)]),
        (0x0007, RATIONAL, [(18, 1), (45, 1), (925, 100)]),
        (0x001D, ASCII, "2024:03:15"),
    ]
    full = exif_block(full_ifd0, full_exif, full_gps)
    _image().save(HERE / "exif_full_gps_north_east.jpg", "JPEG", quality=70, exif=full)

    south_west_gps = gps_entries("S", [(22, 1), (54, 1), (2465, 100)], "W", [(43, 1), (0, 1), (18, 10000)])
    south_west_gps += [(0x0005, BYTE, 1), (0x0006, RATIONAL, [(1234, 1000)])]
    south_west = exif_block([(0x010F, ASCII, "samsung"), (0x0110, ASCII, "SM-A515F")], [], south_west_gps, "<")
    _image().save(HERE / "exif_gps_south_west.jpg", "JPEG", quality=70, exif=south_west)

    _image().save(HERE / "no_exif.jpg", "JPEG", quality=70)
    png_exif = exif_block([(0x010F, ASCII, "Google"), (0x0110, ASCII, "Pixel 7")], [], [], "<")
    _image().save(HERE / "exif_in_png.png", "PNG", exif=png_exif)

    # Cut off in the middle of the EXIF block (the Exif and GPS sub-IFDs are lost).
    (HERE / "truncated_exif.jpg").write_bytes((HERE / "exif_full_gps_north_east.jpg").read_bytes()[:160])

    broken_pointer = exif_block([(0x010F, ASCII, "Apple"), (0x8769, LONG, [])], [], [])
    _image().save(HERE / "exif_pointer_without_value.jpg", "JPEG", quality=70, exif=broken_pointer)

    zero = gps_entries("N", [(52, 0), (31, 1), (0, 1)], "E", [(13, 1), (24, 1), (0, 1)])
    _image().save(HERE / "gps_zero_denominator.jpg", "JPEG", quality=70, exif=exif_block([], [], zero))


if __name__ == "__main__":
    main()
