"""PDQ hashes of image files, decoded safely: the facts recorded with every image a capture loaded or a
person added.

Images are hostile input: ``photo_facts`` never raises because of what is inside a file; it answers
``{"pdq_error": "..."}`` instead (SVG, truncated or unknown data, too many pixels to decode safely).

Choices made here, each because of what the recorded hash must mean:
- The hash is of the pixels as stored, EXIF orientation NOT applied. Meta's reference hasher and the
  hashes shared through ThreatExchange work on the decoded pixels, and a rotated copy is found anyway:
  matching compares the 8 rotations and flips (``dihedral_pdq``).
- Pixels are converted to RGB; transparent areas are laid on white, as a web page most often shows
  them. An animated image is hashed by its first frame.
- Pixel counts are read from the header before anything is decoded: more than MAX_PIXELS is refused
  (a decompression bomb, a few hundred bytes that would decode to gigabytes), below Pillow's own
  process-wide limit (so its warning never fires) and without changing it or the warning filters (both
  process-wide; captures hash on a worker thread).
- Images at least twice HASH_SIDE on their shorter side are reduced by a whole factor before hashing
  (JPEG: by the decoder's own scaling; others: a box filter), as other PDQ implementations downsample to
  512 pixels first: PDQ itself filters the image down to 64 x 64, so the hash moves little (measured on
  tests/photokit.py photos of 1100 x 1050 to 4000 x 3000: 0-8 bits of 256 from the full-size hash, mean
  3; re-encoding alone moves it 0-2, brightening 4-12), and a large photo costs far less to hash. Up to
  1023 pixels on the shorter side, the hash is pdqhash's of the full decoded image.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pdqhash
from PIL import Image

MAX_PIXELS = 64_000_000
HASH_SIDE = 512
PDQ_LIBRARY = f"pdqhash {metadata.version('pdqhash')}"
_MAX_ERROR_CHARS = 200


class _Refused(Exception):
    """A file that is not hashed, and why (one line)."""


def photo_facts(path: Path) -> dict[str, Any]:
    """``{"width", "height", "pdq": {"hash": 64 hex digits, "quality": 0-100}}`` for a decodable raster
    image, ``{"pdq_error": why}`` for anything else. Only the path itself being unreadable is an error
    worth raising, and even that is answered as a ``pdq_error`` here: capture and add read files they
    have just written."""
    try:
        with open_image(path) as image:
            width, height = image.size
            pixels = _rgb_pixels(image)
        bits, quality = pdqhash.compute(pixels)
    except _Refused as refused:
        return {"pdq_error": str(refused)}
    except Exception as exc:  # any decoder failure on hostile bytes is a fact to record, not a crash
        return {"pdq_error": _one_line(f"not decodable as an image: {type(exc).__name__}: {exc}")}
    return {"width": width, "height": height, "pdq": {"hash": bits_to_hex(bits), "quality": int(quality)}}


def dihedral_pdq(path: Path) -> list[str]:
    """The PDQ hashes of the image's 8 rotations and flips, as 64 hex digits each, in pdqhash's order: as
    stored (the plain hash, as in ``photo_facts``), rotated 90, 180 and 270 degrees, flipped vertically,
    flipped horizontally, rotated 90 and flipped vertically, rotated 90 and flipped horizontally. Empty
    when the file is not a decodable raster image."""
    try:
        with open_image(path) as image:
            pixels = _rgb_pixels(image)
        hashes, _quality = pdqhash.compute_dihedral(pixels)
    except Exception:
        return []
    return [bits_to_hex(bits) for bits in hashes]


def bits_to_hex(bits: Any) -> str:
    """pdqhash's 256 bits (most significant first) as 64 lowercase hex digits, zero-padded."""
    packed = np.packbits(np.asarray(bits, dtype=np.uint8))
    return packed.tobytes().hex()


def load_rgb(path: Path) -> np.ndarray[Any, Any]:
    """The image's pixels as an RGB uint8 array, under the same limits as ``photo_facts`` and at full size;
    ValueError (one line) when it is not a decodable raster image. For feature matching and exhibits."""
    try:
        with open_image(path) as image:
            return np.asarray(to_rgb(image), dtype=np.uint8)
    except _Refused as refused:
        raise ValueError(str(refused)) from None
    except Exception as exc:
        raise ValueError(_one_line(f"not decodable as an image: {type(exc).__name__}: {exc}")) from None


def open_image(path: Path) -> Image.Image:
    """The image at ``path``, opened (header read, nothing decoded yet) only if decoding it is safe: a
    raster format Pillow knows, at most MAX_PIXELS. Raises on anything else; the caller answers for it."""
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        raise _Refused(_one_line(f"cannot read the file: {exc.strerror or exc}")) from None
    if not head:
        raise _Refused("empty file")
    if head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
        raise _Refused("not a raster image (SVG or other markup): no perceptual hash")
    try:
        image = Image.open(path)  # reads the header only; Pillow's own bomb check raises past its limit
    except Image.DecompressionBombError:
        raise _Refused(f"too many pixels to decode safely (limit {MAX_PIXELS:,})") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        image.close()
        raise _Refused(f"{width} x {height} pixels: too many to decode safely (limit {MAX_PIXELS:,})")
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """The first frame in RGB, transparent areas laid on white."""
    image.seek(0)
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _rgb_pixels(image: Image.Image) -> np.ndarray[Any, Any]:
    if image.format == "JPEG":
        image.draft("RGB", (HASH_SIDE, HASH_SIDE))  # the decoder's own scaling: cheaper and just as good
    flat = to_rgb(image)
    factor = min(flat.size) // HASH_SIDE
    if factor >= 2:
        flat = flat.reduce(factor)
    return np.ascontiguousarray(np.asarray(flat, dtype=np.uint8))


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_ERROR_CHARS else line[: _MAX_ERROR_CHARS - 3] + "..."
