"""Full-page screenshots against real Chromium: a page that fits the view is shot as shown, without
Chromium's render-beyond-the-view pass, and must come out pixel for pixel the same as with it."""

from __future__ import annotations

import asyncio
import base64
import io
import os
from pathlib import Path

import pytest
from fixture_site import FixtureSite
from PIL import Image, ImageChops
from playwright.async_api import async_playwright

from evidencekit.capture.browser import find_browser, launch_args, sandbox_available
from evidencekit.capture.screenshot import full_page_shot


async def _shots(site: FixtureSite, path: str, target: Path) -> tuple[bytes, bytes, dict[str, int]]:
    """Our full-page shot, and Chromium's render-beyond-the-view shot of the same clip, of one page."""
    info = find_browser(None, os.environ)
    sandbox = sandbox_available()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=info.path, args=launch_args(sandbox), chromium_sandbox=sandbox
        )
        page = await browser.new_page(viewport={"width": 1000, "height": 700})
        cdp = await page.context.new_cdp_session(page)
        await page.goto(site.url(path))
        await page.wait_for_timeout(300)
        shot = await full_page_shot(cdp, target)
        clip = {"x": 0, "y": 0, "width": shot.page_width, "height": shot.page_height, "scale": 1}
        beyond = await cdp.send(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
        )
        metrics = await cdp.send("Page.getLayoutMetrics")
        await browser.close()
    viewport = metrics["cssLayoutViewport"]
    return target.read_bytes(), base64.b64decode(beyond["data"]), viewport


@pytest.mark.parametrize("path", ["/consent.html", "/gone-404.html", "/jobs/domestic-work.html"])
def test_full_page_shot_is_the_same_image_either_way(site: FixtureSite, tmp_path: Path, path: str) -> None:
    ours, beyond, viewport = asyncio.run(_shots(site, path, tmp_path / "full.png"))
    mine, theirs = Image.open(io.BytesIO(ours)).convert("RGBA"), Image.open(io.BytesIO(beyond)).convert("RGBA")
    assert mine.size == theirs.size
    assert ImageChops.difference(mine, theirs).getbbox() is None, "the images differ"
    low, high = mine.convert("L").getextrema()
    assert high - low > 50, "blank"
    if path == "/jobs/domestic-work.html":
        assert mine.height > viewport["clientHeight"]  # taller than the view: rendered beyond it
    else:
        assert mine.size == (viewport["clientWidth"], viewport["clientHeight"])  # fits: shot as shown
