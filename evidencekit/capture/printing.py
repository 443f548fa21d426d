"""Print local, self-contained HTML files (the bundle report, the exhibits) to PDF with the same Chromium.

Only the file itself, and the local files a job names (the screenshots an exhibit shows), are loaded:
every other request (network or file) is refused, and scripts are off, so printing can never reach out
or run page code. Several jobs share one browser, started once.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.browser import BrowserInfo, find_browser, launch
from evidencekit.errors import BrowserError, UsageError

PAPER_FORMATS = {"a4": "A4", "letter": "Letter"}


@dataclass(frozen=True)
class PdfJob:
    """One HTML file to print. Its CSS ``@page`` rules (page size, margins, running headers and footers in
    margin boxes, ``counter(page)`` of ``counter(pages)``) win over ``paper``, which applies without them."""

    html_file: Path
    pdf_out: Path
    paper: str = "a4"
    files: tuple[Path, ...] = ()  # local files the page may load besides itself (an exhibit's images)


def print_pdf(
    html_file: Path, pdf_out: Path, *, browser_path: Path | None, environ: Mapping[str, str], paper: str = "a4"
) -> None:
    """Write ``pdf_out`` (A4 unless ``paper`` is "letter", backgrounds printed) from ``html_file``."""
    print_pdfs([PdfJob(html_file, pdf_out, paper)], browser_path=browser_path, environ=environ)


def print_pdfs(jobs: Sequence[PdfJob], *, browser_path: Path | None, environ: Mapping[str, str]) -> None:
    """Print every job, in order, with one browser."""
    for job in jobs:
        if job.paper not in PAPER_FORMATS:
            raise UsageError(f"paper must be one of {', '.join(PAPER_FORMATS)}, not {job.paper!r}")
    if not jobs:
        return
    info = find_browser(browser_path, environ)
    asyncio.run(_print_all(jobs, info))


async def _print_all(jobs: Sequence[PdfJob], info: BrowserInfo) -> None:
    with tempfile.TemporaryDirectory(prefix="evidencekit-print-") as scratch:
        async with async_playwright() as playwright:
            running = await launch(playwright, info, Path(scratch) / "downloads")
            try:
                for job in jobs:
                    await _print_one(running.browser, job)
            finally:
                await running.browser.close()


async def _print_one(browser: Browser, job: PdfJob) -> None:
    target = job.html_file.resolve().as_uri()
    allowed = {target} | {path.resolve().as_uri() for path in job.files}

    async def only_the_job_files(route: Route) -> None:
        if route.request.url.split("#", 1)[0] in allowed:
            await route.continue_()
        else:
            await route.abort()

    try:
        context = await browser.new_context(java_script_enabled=False, accept_downloads=False)
        await context.route("**/*", only_the_job_files)
        page = await context.new_page()
        await page.goto(target, wait_until="load", timeout=120_000)
        await page.emulate_media(media="print")
        await page.pdf(
            path=str(job.pdf_out),
            format=PAPER_FORMATS[job.paper],
            print_background=True,
            prefer_css_page_size=True,
        )
        await context.close()
    except PlaywrightError as exc:
        raise BrowserError(f"could not print {job.html_file.name} to PDF: {exc.message}") from None
