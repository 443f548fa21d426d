"""Stack PNG tiles of equal width into one PNG, streaming, with zlib alone.

A PNG's pixel data is one zlib stream of scan lines, each prefixed by a filter type. Scan lines filtered
with Up, Average or Paeth refer to the line above, and the first line of every tile was filtered against
an imaginary all-zero line. So the tiles' decompressed streams can be concatenated as they are, except
the first line of each later tile, which is unfiltered here (with a zero line above, that needs only the
line itself) and written back unfiltered. Pixels are never decoded, so a 40 000 px page costs one
inflate and one deflate, not a trip through an imaging library.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from evidencekit.errors import OperationalError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_IDAT_CHUNK = 1 << 20
# Ancillary chunks describing colour that must come before the image data; copied from the first tile.
_COLOUR_CHUNKS = (b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"pHYs")


@dataclass(frozen=True)
class _Header:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlace: int

    @property
    def row_bytes(self) -> int:
        return (self.width * _CHANNELS[self.colour_type] * self.bit_depth + 7) // 8

    @property
    def filter_unit(self) -> int:
        """Bytes per complete pixel, the distance Sub/Average/Paeth look back (at least 1)."""
        return max(1, _CHANNELS[self.colour_type] * self.bit_depth // 8)

    def same_layout(self, other: _Header) -> bool:
        return (self.width, self.bit_depth, self.colour_type, self.interlace) == (
            other.width,
            other.bit_depth,
            other.colour_type,
            other.interlace,
        )


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    if not data.startswith(PNG_SIGNATURE):
        raise OperationalError("a screenshot tile is not a PNG image")
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise OperationalError("a screenshot tile PNG is truncated")
        yield kind, body
        pos += 12 + length
        if kind == b"IEND":
            return
    raise OperationalError("a screenshot tile PNG has no end chunk")


def _header(data: bytes) -> _Header:
    kind, body = next(_chunks(data))
    if kind != b"IHDR" or len(body) != 13:
        raise OperationalError("a screenshot tile PNG does not start with its header")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
    if colour not in _CHANNELS or compression or filtering:
        raise OperationalError(f"a screenshot tile has an unsupported PNG layout (colour type {colour})")
    return _Header(width, height, depth, colour, interlace)


def _unfilter_first_row(row: bytearray, unit: int) -> None:
    """Undo the filter of a tile's first scan line, whose line above is all zeros, in place.

    With a zero line above, Up is no filter at all and Paeth always picks the left neighbour (= Sub).
    """
    kind = row[0]
    data = memoryview(row)[1:]
    if kind in (1, 4):
        for i in range(unit, len(data)):
            data[i] = (data[i] + data[i - unit]) & 0xFF
    elif kind == 3:
        for i in range(unit, len(data)):
            data[i] = (data[i] + (data[i - unit] >> 1)) & 0xFF
    elif kind not in (0, 2):
        raise OperationalError(f"a screenshot tile uses unknown PNG filter type {kind}")
    row[0] = 0


def _write_chunk(out: BinaryIO, kind: bytes, body: bytes) -> None:
    out.write(struct.pack(">I", len(body)))
    out.write(kind)
    out.write(body)
    out.write(struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)) & 0xFFFFFFFF))


def stitch_vertically(tiles: Sequence[bytes], target: Path, *, level: int = 6) -> tuple[int, int]:
    """Write the tiles, top to bottom, as one PNG at ``target``; return its (width, height)."""
    if not tiles:
        raise OperationalError("no screenshot tiles to stitch")
    headers = [_header(tile) for tile in tiles]
    first = headers[0]
    if first.interlace:
        raise OperationalError("interlaced screenshot tiles cannot be stitched")
    if any(not first.same_layout(h) for h in headers[1:]):
        raise OperationalError("screenshot tiles differ in width or pixel format and cannot be stitched")
    first_chunks = list(_chunks(tiles[0]))
    palette = [body for kind, body in first_chunks if kind == b"PLTE"]
    if first.colour_type == 3 and any(
        [body for kind, body in _chunks(tile) if kind == b"PLTE"] != palette for tile in tiles[1:]
    ):
        raise OperationalError("palette screenshot tiles use different palettes and cannot be stitched")
    total_height = sum(h.height for h in headers)
    compressor = zlib.compressobj(level)
    pending = bytearray()
    with target.open("wb") as out:
        out.write(PNG_SIGNATURE)
        ihdr = struct.pack(">IIBBBBB", first.width, total_height, first.bit_depth, first.colour_type, 0, 0, 0)
        _write_chunk(out, b"IHDR", ihdr)
        for kind, body in first_chunks:
            if kind in _COLOUR_CHUNKS:
                _write_chunk(out, kind, body)
        for body in palette:
            _write_chunk(out, b"PLTE", body)

        def emit(data: bytes) -> None:
            pending.extend(compressor.compress(data))
            while len(pending) >= _IDAT_CHUNK:
                _write_chunk(out, b"IDAT", bytes(pending[:_IDAT_CHUNK]))
                del pending[:_IDAT_CHUNK]

        for index, tile in enumerate(tiles):
            _copy_pixels(tile, headers[index], fix_first_row=index > 0, emit=emit)
        pending.extend(compressor.flush())
        for start in range(0, len(pending), _IDAT_CHUNK):
            _write_chunk(out, b"IDAT", bytes(pending[start : start + _IDAT_CHUNK]))
        _write_chunk(out, b"IEND", b"")
    return first.width, total_height


def _copy_pixels(tile: bytes, header: _Header, *, fix_first_row: bool, emit: Callable[[bytes], None]) -> None:
    inflater = zlib.decompressobj()
    line = header.row_bytes + 1
    expected = line * header.height
    produced = 0
    head = bytearray()
    for kind, body in _chunks(tile):
        if kind != b"IDAT":
            continue
        data = inflater.decompress(body)
        produced += len(data)
        if fix_first_row and len(head) < line:
            head.extend(data)
            if len(head) < line:
                continue
            first_row = bytearray(head[:line])
            _unfilter_first_row(first_row, header.filter_unit)
            data = bytes(first_row) + bytes(head[line:])
        emit(data)
    tail = inflater.flush()
    produced += len(tail)
    emit(tail)
    if produced != expected or not inflater.eof:
        raise OperationalError("a screenshot tile's pixel data is damaged or truncated")
