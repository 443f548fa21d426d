"""Deterministic test photos for photo reuse (issue 14), and the ways ad sites alter a reposted photo.

``make_photo(seed)`` draws something that looks like a photo to a feature matcher: a smooth two-colour
gradient at a seeded angle, a hundred and twenty seeded shapes of three sizes (corners and edges for ORB),
then mild noise (sensor grain). All colours come from one warm palette, so ``unrelated(seed)``
(another seed, same palette) is a photo "of similar colours" that must still match nothing.

``variants(base)`` returns the alterations the issue lists, each named: re-encoded at a low JPEG
quality, resized, brightened, flipped horizontally, cropped asymmetrically (70 % x 85 %, off-centre),
and watermarked with text. Same seed, same pixels, on every machine (numpy's PCG64 and Pillow's own
drawing; the watermark uses Pillow's bundled font).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

PHOTO_SIZE = (1000, 750)
# Skin, hair, fabric and wall tones: what the photos of an ad are mostly made of.
PALETTE = (
    (224, 172, 138),
    (198, 134, 100),
    (141, 85, 60),
    (92, 58, 42),
    (236, 210, 190),
    (180, 40, 70),
    (60, 40, 90),
    (240, 228, 215),
    (120, 110, 100),
    (30, 25, 28),
)
VARIANTS = ("reencoded", "resized", "brightened", "flipped", "cropped", "watermarked")
# Keep this share of the width and height, off-centre (more cut from the left and the top).
CROP_KEEP = (0.70, 0.85)
CROP_ORIGIN = (0.22, 0.03)


def make_photo(seed: int, size: tuple[int, int] = PHOTO_SIZE) -> Image.Image:
    """An RGB "photo" of ``size`` drawn from ``seed`` alone."""
    rng = np.random.default_rng(seed)
    width, height = size
    first, second = (np.array(PALETTE[i], dtype=np.float64) for i in rng.choice(len(PALETTE), 2, replace=False))
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width]
    along = (xs * np.cos(angle) + ys * np.sin(angle)).astype(np.float64)
    along = (along - along.min()) / max(1.0, float(np.ptp(along)))
    pixels = first[None, None, :] * (1 - along[..., None]) + second[None, None, :] * along[..., None]
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    scale = min(width, height)
    for _ in range(120):
        colour = PALETTE[int(rng.integers(len(PALETTE)))]
        shade = tuple(int(c) for c in np.clip(np.array(colour) + rng.integers(-25, 26, 3), 0, 255))
        x, y = int(rng.integers(-scale // 10, width)), int(rng.integers(-scale // 10, height))
        extent = int(scale * rng.choice([0.03, 0.06, 0.12]) * rng.uniform(0.5, 1.5)) + 2
        kind = int(rng.integers(4))
        box = (x, y, x + extent, y + int(extent * rng.uniform(0.4, 1.6)))
        if kind == 0:
            draw.ellipse(box, fill=shade)
        elif kind == 1:
            draw.rectangle(box, fill=shade)
        elif kind == 2:
            points = [
                (int(x + rng.integers(-extent, extent)), int(y + rng.integers(-extent, extent))) for _ in range(5)
            ]
            draw.polygon(points, fill=shade)
        else:
            end = (int(x + rng.integers(-extent, extent)), int(y + rng.integers(-extent, extent)))
            draw.line([(x, y), end], fill=shade, width=int(rng.integers(1, 6)))
    noisy = np.asarray(image, dtype=np.int16) + rng.normal(0, 6, (height, width, 3)).astype(np.int16)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8), "RGB")


def unrelated(seed: int, size: tuple[int, int] = PHOTO_SIZE) -> Image.Image:
    """A photo of the same palette as ``make_photo(seed)`` that shares nothing else with it."""
    return make_photo(seed * 7919 + 104_729, size)


def reencode(image: Image.Image, quality: int) -> Image.Image:
    """``image`` after a round trip through JPEG at ``quality``."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def crop_asymmetric(image: Image.Image) -> Image.Image:
    width, height = image.size
    left, top = int(width * CROP_ORIGIN[0]), int(height * CROP_ORIGIN[1])
    return image.crop((left, top, left + int(width * CROP_KEEP[0]), top + int(height * CROP_KEEP[1])))


def watermark(image: Image.Image, text: str = "HOT-GIRLS-CITY.example  call now") -> Image.Image:
    """``image`` with ``text`` written across it three times, half transparent, as ad sites stamp photos."""
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(12, base.size[1] // 14))
    for row in (0.2, 0.5, 0.8):
        draw.text((base.size[0] * 0.05, base.size[1] * row), text, font=font, fill=(255, 255, 255, 140))
    return Image.alpha_composite(base, layer).convert("RGB")


def variants(base: Image.Image) -> dict[str, Image.Image]:
    """Each alteration of ``base`` the issue lists, by name (the keys are VARIANTS)."""
    width, height = base.size
    return {
        "reencoded": reencode(base, 35),
        "resized": base.resize((int(width * 0.6), int(height * 0.6)), Image.Resampling.LANCZOS),
        "brightened": ImageEnhance.Brightness(base).enhance(1.3),
        "flipped": base.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "cropped": crop_asymmetric(base),
        "watermarked": watermark(base),
    }


def save_jpeg(image: Image.Image, path: Path, quality: int = 90) -> Path:
    """Write ``image`` as a baseline JPEG at ``path``; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(path, "JPEG", quality=quality)
    return path


def save_png(image: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")
    return path


def write_ad_page(folder: Path, images: list[str], *, title: str = "Photos", text: str = "") -> Path:
    """An ad-like HTML page ``index.html`` in ``folder`` showing each of ``images`` (paths relative to
    it), each at its own size; returns the page's path."""
    figures = "\n".join(f'<figure><img src="{name}" alt="photo {n}"></figure>' for n, name in enumerate(images, 1))
    page = folder / "index.html"
    page.write_text(
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p>\n{figures}\n</body></html>\n",
        encoding="utf-8",
    )
    return page


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) until the block ends; yields the base URL
    (ending in "/"). Quiet: no request log on stderr."""

    class _Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
