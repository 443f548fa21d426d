"""One URL, one fresh browser context: navigate, let the page settle, collect every artefact.

Time is budgeted against the capture's timeout T: a response may come until T, the load event is awaited
until 0.6 T, scrolling and settling end by 0.8 T, and collecting artefacts ends by T plus part of the
grace period. ``run`` itself is cut off at T + most of the grace, and whatever was gathered by then is
still written out by ``assemble``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, CDPSession, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from evidencekit.capture import page as page_ops
from evidencekit.capture import tls
from evidencekit.capture.events import PageEvents
from evidencekit.capture.network import NetworkLog, enable_durable_bodies
from evidencekit.capture.options import GRACE_S
from evidencekit.capture.screenshot import full_page_shot, viewport_shot
from evidencekit.capture.state import CaptureState
from evidencekit.errors import EvidenceKitError
from evidencekit.indicators import extract_indicators

_LOAD_SHARE = 0.6
_SETTLE_SHARE = 0.8
_MAX_FOLLOWED_NAVIGATIONS = 3
_MIN_STEP_S = 2.0
_NET_ERRORS = {
    "ERR_NAME_NOT_RESOLVED": "the host name {host} does not resolve",
    "ERR_NAME_RESOLUTION_FAILED": "the host name {host} could not be resolved",
    "ERR_CONNECTION_REFUSED": "{host} refused the connection",
    "ERR_CONNECTION_TIMED_OUT": "connecting to {host} timed out",
    "ERR_CONNECTION_RESET": "{host} reset the connection",
    "ERR_CONNECTION_CLOSED": "{host} closed the connection",
    "ERR_EMPTY_RESPONSE": "{host} closed the connection without sending a response",
    "ERR_ADDRESS_UNREACHABLE": "{host} is unreachable",
    "ERR_INTERNET_DISCONNECTED": "this machine is not connected to a network",
    "ERR_PROXY_CONNECTION_FAILED": "the proxy could not be reached",
    "ERR_TUNNEL_CONNECTION_FAILED": "the proxy could not open a connection to {host}",
}


class Session:
    def __init__(self, state: CaptureState, context_options: dict[str, Any]) -> None:
        self.state = state
        self._context_options = context_options
        self._t0 = time.monotonic()
        self.context: BrowserContext | None = None

    def at(self, share: float) -> float:
        """The monotonic time by which ``share`` of the timeout has passed."""
        return self._t0 + self.state.options.timeout_s * share

    @staticmethod
    def left(until: float) -> float:
        return max(0.0, until - time.monotonic())

    async def run(self) -> None:
        state = self.state
        context = await state.browser.browser.new_context(**self._context_options)
        self.context = context
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await enable_durable_bodies(cdp)
        state.network = NetworkLog(page, state.exchange_done)
        state.network.attach(context, cdp)
        state.events = PageEvents(page, state.reserve_download, state.folder.forget, state.network.mark_download)
        state.events.attach(context)
        navigations = [0]
        page.on("framenavigated", lambda frame: _count_main(frame, page, navigations))
        if await self._navigate(page, cdp):
            arrived_at = navigations[0]
            await self._arrive(page, cdp)
            await self._scroll_and_settle(page, navigations, arrived_at)
            await self._collect(page, cdp)
        wrap_up = self.at(1.0) + GRACE_S * 0.3
        await state.events.finish(max(wrap_up, time.monotonic() + 1.0))
        await state.network.finish(max(wrap_up, time.monotonic() + 1.0))

    async def close(self) -> None:
        if self.context is not None:
            # The browser may be gone already (crash, Ctrl-C); there is nothing left to save from it then.
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(self.context.close(), 5.0)
            self.context = None

    async def _navigate(self, page: Page, cdp: CDPSession) -> bool:
        state = self.state
        host = urlsplit(state.requested_url).hostname or "the server"
        try:
            wait_ms = max(1000.0, self.left(self.at(1.0)) * 1000)  # Playwright reads 0 as "no limit"
            response = await page.goto(state.requested_url, wait_until="commit", timeout=wait_ms)
        except PlaywrightTimeout:
            state.error = f"no response from {host} within {state.options.timeout_s:g} s"
            return False
        except PlaywrightError as exc:
            message = exc.message or ""
            if "Download is starting" in message:
                state.reasons.add("download-instead-of-page", "the URL started a download instead of showing a page")
                state.arrived = True
                if state.events is not None:
                    await state.events.wait_for_a_download(min(_MIN_STEP_S * 2, self.left(self.at(1.0))))
                    await state.events.finish(self.at(1.0))
                return False
            code = _net_code(message)
            if code.startswith(("ERR_CERT_", "ERR_SSL_", "ERR_BAD_SSL")):
                await self._record_refused_certificate(code)
                state.error = (
                    f"the TLS certificate of {host} was refused (net::{code}); the certificate presented is "
                    "recorded in the metadata; rerun with --ignore-https-errors to capture anyway"
                )
                return False
            reason = _NET_ERRORS.get(code, "the page could not be loaded").format(host=host)
            state.error = f"{reason} (net::{code})" if code else f"{reason}: {_one_line(message)}"
            return False
        if response is None:
            state.error = "the browser reported no response for the page"
            return False
        state.arrived = True
        return True

    async def _record_refused_certificate(self, code: str) -> None:
        state = self.state
        parts = urlsplit(state.requested_url)
        record: dict[str, Any] = {
            "verified": False,
            "errors_ignored": False,
            "error": f"net::{code}",
            "connection": None,
            "certificate_chain_pem": [],
            "certificates": [],
        }
        if state.proxy is not None:
            record["source"] = "not fetched: a direct connection would bypass the configured proxy"
        else:
            probe = await asyncio.to_thread(
                tls.probe_presented_certificate, parts.hostname or "", parts.port or 443, 10.0
            )
            record["source"] = probe.pop("source")
            record["probe"] = {
                key: probe[key] for key in ("protocol", "cipher", "chain_complete", "error") if key in probe
            }
            record["certificate_chain_pem"] = probe.get("certificate_chain_pem", [])
            record["certificates"] = tls.describe_certificates(record["certificate_chain_pem"])
        state.tls = record

    async def _arrive(self, page: Page, cdp: CDPSession) -> None:
        state = self.state
        load_by = self.at(_LOAD_SHARE)
        state.load_fired = await _wait_load(page, self.left(load_by))
        await self._produce(
            "screenshot-viewport.png", "screenshot-viewport", "image/png", "viewport screenshot",
            lambda path: viewport_shot(cdp, path),
            self.at(_LOAD_SHARE) + _MIN_STEP_S,
        )  # fmt: skip

    async def _scroll_and_settle(self, page: Page, navigations: list[int], seen: int) -> None:
        """Scroll lazy content in and let the network settle. If the page moved on meanwhile (a meta
        refresh, a script), wait for the new document and go through it again, a few times at most."""
        state = self.state
        assert state.network is not None
        settle_by = self.at(_SETTLE_SHARE)
        for _ in range(_MAX_FOLLOWED_NAVIGATIONS + 1):
            state.scroll = await page_ops.scroll_through(page, state.network, settle_by)
            state.settled = await state.network.wait_idle(page_ops.QUIET_S, settle_by)
            if navigations[0] == seen:
                break
            seen = navigations[0]
            state.load_fired = await _wait_load(page, self.left(settle_by))
        if not state.settled:
            state.busy_urls = state.network.in_flight_urls()

    async def _collect(self, page: Page, cdp: CDPSession) -> None:
        state = self.state
        until = self.at(1.0) + GRACE_S * 0.2
        state.final_url = page.url
        await self._produce(
            "screenshot.png", "screenshot-full", "image/png", "full-page screenshot",
            lambda path: self._full_shot(cdp, path), until,
        )  # fmt: skip
        # The rest only reads the page as it now stands, so it is asked for all at once.
        readers = [
            self._produce(
                "dom.html", "dom", "text/html; charset=utf-8", "rendered DOM",
                lambda path: _write_text(path, page.content()), until,
            ),
            self._read_text(page, until),
            self._read_security(page, cdp),
        ]  # fmt: skip
        if state.options.mhtml:
            mhtml = self._produce(
                "page.mhtml", "mhtml", "multipart/related", "MHTML snapshot",
                lambda path: _write_mhtml(cdp, path), until,
            )  # fmt: skip
            readers.append(mhtml)
        await asyncio.gather(*readers)
        if state.options.pdf:  # printing switches the page to print media: after everything else
            await self._produce(
                "page.pdf", "pdf", "application/pdf", "PDF print",
                lambda path: _write_pdf(page, path, self.left(until)), until,
            )  # fmt: skip

    async def _read_text(self, page: Page, until: float) -> None:
        state = self.state
        try:
            text = await page_ops.read_text(page, max(_MIN_STEP_S, self.left(until)))
        except (PlaywrightError, TimeoutError) as exc:
            state.reasons.add("text-missing", f"the visible text could not be read: {_one_line(str(exc))}")
            return
        state.title, state.frames = text.title, text.frames
        state.folder.write("text.txt", "visible-text", "text/plain; charset=utf-8", text.text.encode("utf-8"))
        found = extract_indicators(text.text, text.links, state.options.region)
        state.indicators = [indicator.to_dict() for indicator in found]
        state.links = len(text.links)

    async def _read_security(self, page: Page, cdp: CDPSession) -> None:
        self.state.beforeunload = await page_ops.has_beforeunload(cdp)
        if urlsplit(page.url).scheme == "https":
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
            self.state.browser_chain = await tls.browser_certificate_chain(cdp, origin)

    async def _full_shot(self, cdp: CDPSession, path: Path) -> None:
        self.state.screenshot = await full_page_shot(cdp, path)

    async def _produce(
        self,
        name: str,
        role: str,
        media_type: str,
        what: str,
        make: Callable[[Path], Awaitable[object]],
        until: float,
    ) -> None:
        """Make one artefact within the time left; a failure is a reason, not the end of the capture."""
        path = self.state.folder.reserve(name, role, media_type)
        try:
            await asyncio.wait_for(make(path), max(_MIN_STEP_S, self.left(until)))
        except (PlaywrightError, TimeoutError, OSError, EvidenceKitError) as exc:
            self.state.folder.forget(name)
            detail = "it took too long" if isinstance(exc, TimeoutError) else _one_line(str(exc))
            self.state.reasons.add(f"{role}-missing", f"the {what} could not be made: {detail}")


def _count_main(frame: Any, page: Page, navigations: list[int]) -> None:
    if frame is page.main_frame:
        navigations[0] += 1


async def _wait_load(page: Page, seconds: float) -> bool:
    try:
        await page.wait_for_load_state("load", timeout=max(1.0, seconds) * 1000)
    except (PlaywrightTimeout, PlaywrightError):
        return False
    return True


async def _write_text(path: Path, content: Awaitable[str]) -> None:
    path.write_bytes((await content).encode("utf-8"))


async def _write_mhtml(cdp: CDPSession, path: Path) -> None:
    snapshot = await cdp.send("Page.captureSnapshot", {"format": "mhtml"})
    path.write_bytes(str(snapshot["data"]).encode("utf-8"))


async def _write_pdf(page: Page, path: Path, seconds: float) -> None:
    path.write_bytes(await asyncio.wait_for(page.pdf(print_background=True), max(_MIN_STEP_S, seconds)))


def _net_code(message: str) -> str:
    marker = message.find("net::")
    if marker < 0:
        return ""
    return message[marker + 5 :].split()[0].strip(" .,;:")


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else "unknown error"
