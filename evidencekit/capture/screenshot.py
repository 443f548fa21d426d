"""Screenshots: the viewport as a person first sees it, and the whole page however tall it is.

Chromium renders one screenshot up to its largest texture (16 384 px); a taller page is shot in tiles of
that height, each clipped in page coordinates, and the tiles are stitched losslessly into one PNG.
Screenshots are asked of DevTools directly with ``optimizeForSpeed``: still lossless PNG (larger files,
a quarter less encoding time), taken after the page has been prepared, so nothing else is needed.
"""

from __future__ import annotations

import asyncio
import base64
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import CDPSession
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.options import MAX_TILE_HEIGHT
from evidencekit.capture.pngstitch import stitch_vertically

# A page that keeps growing (an endless feed) is cut here rather than filling the disk.
MAX_PAGE_HEIGHT = MAX_TILE_HEIGHT * 16
_ATTEMPTS = 4
_FIRST_ATTEMPT_S = 0.5
_PIXELS_PER_S = 4_000_000  # a slow machine's rendering and PNG encoding rate, with room to spare
_PAUSE_S = 0.1


@dataclass
class FullPageShot:
    page_width: int
    page_height: int
    width: int = 0
    height: int = 0
    tiles: list[dict[str, int]] = field(default_factory=list)
    cut: bool = False
    scroll_y: int = 0  # where the page stood when the image was rendered (CSS pixels from the top)
    sections_shown: int = 0  # content-visibility: auto sections painted for the image (see page.show_skipped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "page_width": self.page_width,
            "page_height": self.page_height,
            "width": self.width,
            "height": self.height,
            "tiled": len(self.tiles) > 1,
            "tiles": self.tiles,
            "max_tile_height": MAX_TILE_HEIGHT,
            "cut": self.cut,
            "scroll_y": self.scroll_y,
            "sections_shown": self.sections_shown,
        }


async def _layout(cdp: CDPSession) -> tuple[int, int, int, bool]:
    """The page's full size in CSS pixels, as Chromium lays it out (what a full-page shot covers), how
    far down it is scrolled, and whether it fits the view as it stands (nothing beyond it to render)."""
    metrics = await cdp.send("Page.getLayoutMetrics")
    size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
    viewport = metrics.get("cssVisualViewport") or metrics.get("visualViewport") or {}
    layout = metrics.get("cssLayoutViewport") or {}
    width, height = math.ceil(size.get("width", 0)), math.ceil(size.get("height", 0))
    scroll_y = round(viewport.get("pageY", 0))
    fits = (
        scroll_y == 0
        and round(viewport.get("pageX", 0)) == 0
        and viewport.get("scale", 1) == 1
        and 0 < width <= layout.get("clientWidth", 0)
        and 0 < height <= layout.get("clientHeight", 0)
    )
    return width, height, scroll_y, fits


async def viewport_shot(cdp: CDPSession, target: Path) -> None:
    target.write_bytes(await _capture(cdp, None))


async def full_page_shot(cdp: CDPSession, target: Path) -> FullPageShot:
    width, height, scroll_y, fits = await _layout(cdp)
    shot = FullPageShot(page_width=width, page_height=height, scroll_y=max(0, scroll_y))
    shot.cut = height > MAX_PAGE_HEIGHT
    covered = min(height, MAX_PAGE_HEIGHT)
    tiles = []
    for top in range(0, max(covered, 1), MAX_TILE_HEIGHT):
        clip = {"x": 0, "y": top, "width": max(width, 1), "height": max(1, min(MAX_TILE_HEIGHT, covered - top))}
        tiles.append(await _capture(cdp, clip, beyond=not fits))
        shot.tiles.append({"y": top, "height": _png_size(tiles[-1])[1]})
    if len(tiles) == 1:
        target.write_bytes(tiles[0])
        shot.width, shot.height = _png_size(tiles[0])
    else:
        shot.width, shot.height = stitch_vertically(tiles, target)
    return shot


async def _capture(cdp: CDPSession, clip: dict[str, int] | None, *, beyond: bool = True) -> bytes:
    """One PNG. With a clip, rendered beyond the view (Chromium enlarges the view for it, lays the page
    out again and paints it all) unless ``beyond`` is False: a page that fits the view is shot as it is
    shown, the same pixels without the second layout (as Playwright does)."""
    params: dict[str, Any] = {"format": "png", "optimizeForSpeed": True}
    if clip is not None:
        params["clip"] = {**clip, "scale": 1}
        params["captureBeyondViewport"] = beyond
    # While a navigation commits or before the first paint, Chromium refuses ("Unable to capture
    # screenshot") or stalls without end; asked again a moment later, it answers. So the first attempts
    # get little more time than the image needs, and each retry twice as long.
    pixels = clip["width"] * clip["height"] if clip is not None else 0
    patience = _FIRST_ATTEMPT_S + pixels / _PIXELS_PER_S
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            result = await asyncio.wait_for(cdp.send("Page.captureScreenshot", params), patience * 2 ** (attempt - 1))
            return base64.b64decode(result["data"])
        except (PlaywrightError, TimeoutError):
            if attempt == _ATTEMPTS:
                raise
            await asyncio.sleep(_PAUSE_S * attempt)
    raise AssertionError("unreachable")


def _png_size(data: bytes) -> tuple[int, int]:
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
