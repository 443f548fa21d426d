"""Print a local, self-contained HTML file (the bundle report) to PDF with the same Chromium.

Only the file itself is loaded: every other request (network or file) is refused, and scripts are off,
so printing a report can never reach out or run page code.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping
from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Route, async_playwright

from evidencekit.capture.browser import BrowserInfo, find_browser, launch
from evidencekit.errors import BrowserError


def print_pdf(html_file: Path, pdf_out: Path, *, browser_path: Path | None, environ: Mapping[str, str]) -> None:
    """Write ``pdf_out`` (A4, backgrounds printed) from ``html_file``."""
    info = find_browser(browser_path, environ)
    asyncio.run(_print(html_file.resolve(), pdf_out, info))


async def _print(html_file: Path, pdf_out: Path, info: BrowserInfo) -> None:
    target = html_file.as_uri()

    async def only_the_report(route: Route) -> None:
        if route.request.url.split("#", 1)[0] == target:
            await route.continue_()
        else:
            await route.abort()

    with tempfile.TemporaryDirectory(prefix="evidencekit-print-") as scratch:
        async with async_playwright() as playwright:
            running = await launch(playwright, info, Path(scratch) / "downloads")
            try:
                context = await running.browser.new_context(java_script_enabled=False, accept_downloads=False)
                await context.route("**/*", only_the_report)
                page = await context.new_page()
                await page.goto(target, wait_until="load", timeout=60_000)
                await page.emulate_media(media="print")
                await page.pdf(path=str(pdf_out), format="A4", print_background=True, prefer_css_page_size=True)
                await context.close()
            except PlaywrightError as exc:
                raise BrowserError(f"could not print {html_file.name} to PDF: {exc.message}") from None
            finally:
                await running.browser.close()
