"""Capture live web pages with headless Chromium. The only part of evidencekit that imports Playwright.

One browser per run, a fresh isolated context per URL; each capture writes its artefacts (screenshots,
DOM, document body, visible text, WARC, MHTML, PDF, images, downloads, indicators, metadata.json) into
its own folder and returns a CaptureResult. Nothing here touches the ledger or the store.
"""

from __future__ import annotations

from evidencekit.capture.assemble import INTERRUPTED
from evidencekit.capture.batch import capture_many, was_interrupted
from evidencekit.capture.browser import BrowserInfo, find_browser
from evidencekit.capture.options import GRACE_S, MAX_VIEWPORT, CaptureOptions, check_url, parse_viewport

__all__ = [
    "GRACE_S",
    "INTERRUPTED",
    "MAX_VIEWPORT",
    "BrowserInfo",
    "CaptureOptions",
    "capture_many",
    "check_url",
    "find_browser",
    "parse_viewport",
    "was_interrupted",
]
