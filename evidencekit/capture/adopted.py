"""Arriving on a window that is already open (a pop-up the captured page opened): it is never navigated
again, so the server is not asked a second time; the capture waits for the document the window is
already loading, and goes on from there as a capture of a URL does (see ``session``)."""

from __future__ import annotations

import asyncio
import contextlib
import time

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from evidencekit.capture.exchange import is_web
from evidencekit.capture.state import CaptureState
from evidencekit.capture.tasks import left

# A window that shows no page from a server this long after it opened (about:blank, a document its
# opener wrote into it) is not captured: there is no address to record it under.
NO_PAGE_S = 5.0
_POLL_S = 0.2


async def arrive(page: Page, state: CaptureState, deadline: float) -> bool:
    """Wait until the window shows a document from an http(s) address and has parsed it (until
    ``deadline``, monotonic). False, with the reason in ``state``, if it never did."""
    give_up = min(deadline, time.monotonic() + NO_PAGE_S)
    while True:
        with contextlib.suppress(PlaywrightTimeout, PlaywrightError):
            wait_ms = max(100.0, min(1.0, left(deadline)) * 1000)
            await page.wait_for_load_state("domcontentloaded", timeout=wait_ms)
        if page.is_closed():
            state.error = "the pop-up window closed itself before its page could be captured"
            return False
        if is_web(page.url):
            break
        if left(give_up) <= 0:
            state.error = f"the pop-up window showed no page from a server ({page.url or 'no address'})"
            return False
        await asyncio.sleep(_POLL_S)
    if not is_web(state.requested_url):
        state.requested_url = page.url
    state.arrived = True
    state.step("response")
    return True
