"""The other windows of a capture's browser context, as the pop-up captures see them (see ``popups``):
which window made a request, which window opened a window, and every request of a window not (yet)
adopted, kept until a pop-up's log takes its own (Chromium reports a new window's first navigation before
the window itself), or until the page's capture ends (``unreported``: the only trace of a window whose
page had not arrived by then)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from playwright.async_api import BrowserContext, Page, Request, Response
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.network import NetworkLog
from evidencekit.timefmt import utc_now


def opener_of(page: Page) -> tuple[bool, Page | None]:
    """(known, the window that opened ``page``) at once, inside the event handler that must decide.
    Playwright knows a window's opener from the moment it reports the window: ``Page.opener`` awaits
    nothing, so it is run to its end here without the event loop. (False, None) if it ever had to wait."""
    pending = page.opener()
    try:
        pending.send(None)
    except StopIteration as done:
        return True, done.value
    except PlaywrightError:
        return False, None
    pending.close()
    return False, None


def page_of(request: Request) -> Page | None:
    """The window that made ``request``; None while the window is still being created (Chromium reports
    a new window's first navigation before the window itself) or for a service worker."""
    try:
        return request.frame.page
    except PlaywrightError:
        return None


@dataclass
class _Seen:
    started: datetime
    response: Response | None = None
    ended: bool = False
    failure: str | None = None


class OtherWindows:
    """Every request of the context not made by the opener's page nor by a pop-up already adopted, until
    a pop-up's log takes those that were its own."""

    def __init__(self, opener: Page) -> None:
        self._opener = opener
        self._adopted: set[Page] = set()
        self._seen: dict[Request, _Seen] = {}

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("requestfinished", lambda request: self._on_end(request, None))
        context.on("requestfailed", lambda request: self._on_end(request, request.failure or "failed"))

    def _on_request(self, request: Request) -> None:
        page = page_of(request)
        if page is not self._opener and page not in self._adopted:
            self._seen[request] = _Seen(utc_now())

    def _on_response(self, response: Response) -> None:
        seen = self._seen.get(response.request)
        if seen is not None:
            seen.response = response

    def _on_end(self, request: Request, failure: str | None) -> None:
        seen = self._seen.get(request)
        if seen is not None:
            seen.ended, seen.failure = True, failure

    def first_navigation(self, page: Page) -> str | None:
        """The address ``page``'s first navigation asked for, before any redirect: the one its opener opened
        (``page.url`` is where the window has got to since)."""
        for request in self._seen:
            if page_of(request) is page and request.is_navigation_request() and request.redirected_from is None:
                with contextlib.suppress(PlaywrightError):
                    if request.frame is page.main_frame:
                        return request.url
        return None

    def unreported(self, offered: set[Page]) -> list[tuple[str, datetime]]:
        """(address, time) of the first navigation of each window never offered for adoption: the browser
        reports a window once its first page has committed, so one whose server is slow may not have been
        reported by the time the page's capture ended. This is the only trace of it."""
        found = []
        for request, seen in self._seen.items():
            page = page_of(request)
            if page is self._opener or page in offered or page in self._adopted:
                continue
            if request.is_navigation_request() and request.redirected_from is None:
                with contextlib.suppress(PlaywrightError):
                    if page is not None and request.frame is not page.main_frame:
                        continue  # a frame inside a window reported after the capture ended
                found.append((request.url, seen.started))
        return found

    def hand_over(self, page: Page, log: NetworkLog) -> None:
        """Give ``page``'s requests to its log, in the order they were made, and keep no more of them."""
        self._adopted.add(page)
        for request, seen in list(self._seen.items()):
            if page_of(request) is page:
                del self._seen[request]
                log.take_over(request, seen.started, seen.response, seen.ended, seen.failure)

    def forget(self) -> None:
        self._seen.clear()
