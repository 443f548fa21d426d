"""Every request of a capture's browser context, with headers, bodies, server addresses and TLS facts.

Playwright's context events give the requests and bodies; the page's DevTools session adds what
Playwright does not expose and the headers as they went over the wire, where they can be matched for
certain (see ``devtools``). Each exchange is handed to ``on_complete`` as soon as it ends, so bodies are
written out and released rather than held for the whole capture.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page, Request, Response
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.devtools import DETAIL_TIMEOUT_S, DevToolsNetwork
from evidencekit.capture.exchange import (
    BODY_COMPLETE,
    BODY_DECODED,
    BODY_NONE,
    BODY_UNAVAILABLE,
    BODY_UNFINISHED,
    Exchange,
)
from evidencekit.capture.wording import first_line
from evidencekit.timefmt import utc_now

_BLOCKED_MARKERS = ("BLOCKED", "ERR_UNSAFE", "ERR_DISALLOWED")


class NetworkLog:
    def __init__(self, page: Page, on_complete: Callable[[Exchange], None]) -> None:
        self.page = page
        self.exchanges: list[Exchange] = []
        self._on_complete = on_complete
        self._by_request: dict[Request, Exchange] = {}
        self._requests: list[Request] = []
        self._responses: dict[Request, Response] = {}
        self._devtools = DevToolsNetwork()
        self.header_queries = 0  # exchanges whose headers had to be asked of Playwright (see devtools.wire_headers)
        self._tasks: dict[asyncio.Task[None], Exchange] = {}
        self._open: set[int] = set()
        self._last_activity = time.monotonic()
        self._activity = asyncio.Event()
        self.websockets: list[str] = []
        self._closed = False  # abandoned: the capture is being assembled, later requests are not its own
        self.taken_over = 0  # requests made before this log was attached (a pop-up's: see ``take_over``)

    def attach(self, context: BrowserContext, cdp: CDPSession) -> None:
        self.attach_context(context)
        self.attach_devtools(cdp)

    def attach_context(self, context: BrowserContext) -> None:
        """Listen to the context's requests (this page's alone are kept: see ``_on_request``)."""
        context.on("request", self._on_request)
        context.on("response", self._on_response)
        context.on("requestfinished", lambda request: self._end(request, None))
        context.on("requestfailed", lambda request: self._end(request, request.failure or "failed"))
        self.page.on("websocket", lambda socket: self.websockets.append(socket.url))

    def attach_devtools(self, cdp: CDPSession) -> None:
        self._devtools.attach(cdp)

    # --- state the capture waits on ------------------------------------------------------------------

    @property
    def last_activity(self) -> float:
        """When (monotonic) a request last started, got its response or ended, or ``touch`` was called."""
        return self._last_activity

    def in_flight_urls(self, limit: int = 5) -> list[str]:
        return [self.exchanges[seq].url for seq in sorted(self._open)[:limit]]

    async def wait_idle(self, quiet_s: float, deadline: float) -> bool:
        """True once no request has been open for ``quiet_s``; False if ``deadline`` (monotonic) came first."""
        while True:
            now = time.monotonic()
            quiet_left = self._last_activity + quiet_s - now
            if not self._open and quiet_left <= 0:
                return True
            if now >= deadline:
                return False
            self._activity.clear()
            pause = deadline - now if self._open else min(quiet_left, deadline - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._activity.wait(), pause)

    async def finish(self, deadline: float) -> None:
        """Let pending body reads end (until ``deadline``), then record what is still open as unfinished."""
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        for task in list(self._tasks):
            task.cancel()
        still_open = sorted(self._open)
        self._open.clear()
        await asyncio.gather(*(self._record_unfinished(self.exchanges[seq]) for seq in still_open))

    def abandon(self) -> None:
        """Record, without the browser, every exchange not yet written (the capture was cut short)."""
        self._closed = True
        for task, exchange in list(self._tasks.items()):
            task.cancel()
            if exchange.body_state == BODY_UNFINISHED:
                exchange.body_state = BODY_UNAVAILABLE
                exchange.body_note = "not retrieved before the capture ended"
            self._on_complete(exchange)
        self._tasks.clear()
        for seq in sorted(self._open):
            exchange = self.exchanges[seq]
            exchange.state, exchange.ended, exchange.body_state = "unfinished", utc_now(), BODY_UNFINISHED
            response = self._responses.get(self._requests[seq])
            if response is not None:
                self._fill_response_basics(exchange, response)
            self._on_complete(exchange)
        self._open.clear()

    async def _record_unfinished(self, exchange: Exchange) -> None:
        exchange.state = "unfinished"
        exchange.ended = utc_now()
        exchange.body_state = BODY_UNFINISHED
        request = self._requests[exchange.seq]
        response = self._responses.get(request)
        if response is not None:
            self._fill_response_basics(exchange, response)
            await self._read_addresses(response, exchange, timeout=1.0)
        self._on_complete(exchange)

    def mark_download(self, url: str) -> None:
        """A navigation that turned into a download never finishes as a request; stop waiting on it."""
        for seq in list(self._open):
            if self.exchanges[seq].url == url:
                self.exchanges[seq].state = "download"
                self._open.discard(seq)

    def counts(self) -> dict[str, int]:
        states = [exchange.state for exchange in self.exchanges]
        failed = [exchange for exchange in self.exchanges if exchange.state == "failed"]
        blocked = sum(1 for e in failed if any(m in (e.failure or "") for m in _BLOCKED_MARKERS))
        aborted = sum(1 for e in failed if "ERR_ABORTED" in (e.failure or ""))
        return {
            "total": len(self.exchanges),
            "completed": states.count("finished"),
            "failed": len(failed) - blocked - aborted,
            "aborted": aborted,
            "blocked": blocked,
            "unfinished": states.count("unfinished") + len(self._open),
            "downloads": states.count("download"),
        }

    def failures(self, limit: int = 20) -> list[dict[str, Any]]:
        return [
            {"url": e.url, "error": e.failure or "", "resource_type": e.resource_type}
            for e in self.exchanges
            if e.state == "failed"
        ][:limit]

    def main_documents(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.navigation and e.main_frame]

    # --- event handlers ------------------------------------------------------------------------------

    def touch(self, ago_s: float = 0.0) -> None:
        """Count ``ago_s`` seconds ago as activity (if later than the last): ``wait_idle``'s quiet period
        is measured from it."""
        moment = time.monotonic() - max(0.0, ago_s)
        if moment > self._last_activity:
            self._last_activity = moment
            self._activity.set()

    def _on_request(self, request: Request, started: datetime | None = None) -> None:
        main_frame, origin = self._where(request)
        if origin != "page" or self._closed:
            # Another window's (a pop-up's, or a new window's first navigation, which Playwright reports
            # before the window exists): never this page's, never waited on, not in its WARC. A pop-up
            # captured as an item of its own records them (see ``popups``).
            return
        previous = request.redirected_from
        exchange = Exchange(
            seq=len(self.exchanges),
            url=request.url,
            method=request.method,
            resource_type=request.resource_type,
            started=started or utc_now(),
            navigation=request.is_navigation_request(),
            main_frame=main_frame,
            origin_page=origin,
            request_headers=list(request.headers.items()),
            post_data=request.post_data_buffer,
            redirected_from=self._by_request[previous].seq if previous in self._by_request else None,
        )
        self._devtools.playwright_asked(request.url)
        self.exchanges.append(exchange)
        self._requests.append(request)
        self._by_request[request] = exchange
        self._open.add(exchange.seq)
        self.touch()

    def _where(self, request: Request) -> tuple[bool, str]:
        try:
            frame = request.frame
        except PlaywrightError:
            # Chromium names no frame for the first navigation of a window that is still being created.
            return False, "unknown"
        if frame.page is not self.page:
            return False, "popup"
        return frame is self.page.main_frame, "page"

    def _on_response(self, response: Response) -> None:
        if response.request in self._by_request:
            self._responses[response.request] = response
            self.touch()

    def take_over(
        self, request: Request, started: datetime, response: Response | None, ended: bool, failure: str | None
    ) -> None:
        """Record a request of this page made before this log listened (a pop-up's first navigation, say),
        with what had already happened to it."""
        before = len(self.exchanges)
        self._on_request(request, started)
        if len(self.exchanges) == before:
            return
        self.taken_over += 1
        if response is not None:
            self._on_response(response)
        if ended:
            self._end(request, failure)

    def _end(self, request: Request, failure: str | None) -> None:
        exchange = self._by_request.get(request)
        if exchange is None or exchange.seq not in self._open:
            return
        self._open.discard(exchange.seq)
        self.touch()
        exchange.state = "failed" if failure else "finished"
        exchange.failure = failure
        exchange.ended = utc_now()
        task = asyncio.get_running_loop().create_task(self._complete(request, exchange))
        self._tasks[task] = exchange
        task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    async def _complete(self, request: Request, exchange: Exchange) -> None:
        try:
            await self._read_details(request, exchange)
        except asyncio.CancelledError:
            exchange.body_state = BODY_UNAVAILABLE
            exchange.body_note = "not retrieved before the capture deadline"
            self._on_complete(exchange)
            raise
        self._on_complete(exchange)

    async def _read_details(self, request: Request, exchange: Exchange) -> None:
        response = self._responses.get(request)
        details = self._fill_response_basics(exchange, response) if response is not None else None
        wire = self._devtools.wire_headers(exchange, details, response)
        if wire is not None:
            exchange.request_headers, exchange.response_headers = wire
        else:
            self.header_queries += 1
            try:
                headers = await asyncio.wait_for(request.headers_array(), DETAIL_TIMEOUT_S)
                exchange.request_headers = [(h["name"], h["value"]) for h in headers]
            except (PlaywrightError, TimeoutError):
                pass  # the provisional headers from the request event stay
            if response is not None and details is None:
                self._devtools.match(exchange)  # its DevTools response may have come meanwhile
        if response is None:
            exchange.body_state = BODY_NONE
            return
        if wire is None:
            await self._read_addresses(response, exchange, timeout=DETAIL_TIMEOUT_S)
        elif exchange.server_ip is None:
            await self._read_server(response, exchange, timeout=DETAIL_TIMEOUT_S)
        if exchange.failure:
            exchange.body_state = BODY_UNAVAILABLE
            exchange.body_note = f"the transfer failed: {exchange.failure}"
            return
        await self._read_body(response, exchange)

    async def _read_addresses(self, response: Response, exchange: Exchange, *, timeout: float) -> None:
        """The raw header list (names as sent, repeats kept) and the server's address."""
        try:
            headers = await asyncio.wait_for(response.headers_array(), timeout)
        except (PlaywrightError, TimeoutError):
            return
        exchange.response_headers = [(h["name"], h["value"]) for h in headers]
        if exchange.server_ip is None:  # else DevTools named it (Playwright's answer comes from the same event)
            await self._read_server(response, exchange, timeout=timeout)

    @staticmethod
    async def _read_server(response: Response, exchange: Exchange, *, timeout: float) -> None:
        try:
            address = await asyncio.wait_for(response.server_addr(), timeout)
        except (PlaywrightError, TimeoutError):
            return
        if address:
            exchange.server_ip = address["ipAddress"]
            exchange.server_port = address["port"]

    def _fill_response_basics(self, exchange: Exchange, response: Response) -> dict[str, Any] | None:
        """Status and provisional headers from Playwright, the rest from the DevTools response matched by
        URL (returned, if there was one)."""
        exchange.status = response.status
        exchange.status_text = response.status_text
        if not exchange.response_headers:
            exchange.response_headers = list(response.headers.items())
        return self._devtools.match(exchange)

    async def _read_body(self, response: Response, exchange: Exchange) -> None:
        status = exchange.status or 0
        length = exchange.header("content-length")
        if 300 <= status < 400 and exchange.header("location") is not None:
            # Chromium follows redirects without exposing their bodies.
            if length in (None, "0"):
                exchange.body_state = BODY_NONE
            else:
                exchange.body_state = BODY_UNAVAILABLE
                exchange.body_note = "the browser does not expose bodies of redirect responses"
            return
        try:
            body = await asyncio.wait_for(response.body(), DETAIL_TIMEOUT_S * 3)
        except (PlaywrightError, TimeoutError) as exc:
            fallback = await self._devtools.body(exchange)
            if fallback is not None:
                body = fallback
            elif status in (204, 304) or exchange.method == "HEAD":
                exchange.body_state = BODY_NONE
                return
            else:
                exchange.body_state = BODY_UNAVAILABLE
                exchange.body_note = first_line(exc)
                return
        exchange.body = body
        exchange.body_size = len(body)
        encoding = (exchange.header("content-encoding") or "identity").strip().lower()
        exchange.body_state = BODY_COMPLETE if encoding in ("", "identity") else BODY_DECODED
