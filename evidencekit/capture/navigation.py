"""Navigation of a capture's page: going to the requested URL (a failure said in one line, the certificate
of a refused TLS connection recorded), waiting for the load event, and the main frame's later navigations
(a meta refresh, a script redirect), which the session follows a few times at most.

Redirects are followed by Chromium within the first navigation; their hops are exchanges of the network
log (see ``network``), from which the metadata's chain of main documents is made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from evidencekit.capture import tls
from evidencekit.capture.reading import MIN_STEP_S
from evidencekit.capture.state import CaptureState
from evidencekit.capture.tasks import cancel, left
from evidencekit.capture.wording import first_line
from evidencekit.timefmt import format_duration

MAX_FOLLOWED_NAVIGATIONS = 3
PRIVATE_BLOCKED = (
    "{host} led to a loopback or private network address, which is blocked for a page on a public address "
    "(capture --allow-private-network lets it through)"
)
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
    # Only the private-network check blocks requests (see private_network): a redirect or navigation of
    # the page led to a loopback or private address.
    "ERR_BLOCKED_BY_CLIENT": PRIVATE_BLOCKED,
    "ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS": PRIVATE_BLOCKED,
}


class Navigations:
    """Counts the main frame's navigations, from the moment it is made."""

    def __init__(self, page: Page) -> None:
        self.count = 0
        self._moved = asyncio.Event()  # set at each main-frame navigation
        page.on("framenavigated", lambda frame: self._on_navigated(frame, page))

    def _on_navigated(self, frame: Frame, page: Page) -> None:
        if frame is page.main_frame:
            self.count += 1
            self._moved.set()

    async def unless_moved(self, work: Callable[[], Awaitable[object]]) -> bool:
        """Do ``work``; True once it is done, False if the main frame navigated first (the work is then
        dropped). Its own failure is raised."""
        self._moved.clear()
        done = asyncio.ensure_future(work())
        moved = asyncio.ensure_future(self._moved.wait())
        try:
            await asyncio.wait({done, moved}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when this step is cut short: no work may land after its name was dropped
            cancel(moved)
            if not done.done():
                cancel(done)
        if done.done() and not done.cancelled():
            done.result()
            return True
        return False


async def go(page: Page, state: CaptureState, deadline: float) -> bool:
    """Go to the requested URL and wait for the response (until ``deadline``, monotonic). False, with the
    reason in ``state``, if no page came: a network or TLS error, a download instead of a page."""
    host = urlsplit(state.requested_url).hostname or "the server"
    try:
        wait_ms = max(1000.0, left(deadline) * 1000)  # Playwright reads 0 as "no limit"
        response = await page.goto(state.requested_url, wait_until="commit", timeout=wait_ms)
    except PlaywrightTimeout:
        state.error = f"no response from {host} within {format_duration(state.options.timeout_s)}"
        return False
    except PlaywrightError as exc:
        message = exc.message or ""
        if "Download is starting" in message:
            state.reasons.add("download-instead-of-page", "the URL started a download instead of showing a page")
            state.arrived = True
            if state.events is not None:
                await state.events.wait_for_a_download(min(MIN_STEP_S * 2, left(deadline)))
                await state.events.finish(deadline)
            return False
        code = _net_code(message)
        if code.startswith(("ERR_CERT_", "ERR_SSL_", "ERR_BAD_SSL")):
            await _record_refused_certificate(state, code)
            state.error = (
                f"the TLS certificate of {host} was refused (net::{code}); the certificate presented is "
                "recorded in the metadata; rerun with --ignore-https-errors to capture anyway"
            )
            return False
        reason = _NET_ERRORS.get(code, "the page could not be loaded").format(host=host)
        state.error = f"{reason} (net::{code})" if code else f"{reason}: {first_line(message)}"
        return False
    if response is None:
        state.error = "the browser reported no response for the page"
        return False
    state.arrived = True
    state.step("response")
    return True


async def _record_refused_certificate(state: CaptureState, code: str) -> None:
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
        probe = await asyncio.to_thread(tls.probe_presented_certificate, parts.hostname or "", parts.port or 443, 10.0)
        record["source"] = probe.pop("source")
        record["probe"] = {key: probe[key] for key in ("protocol", "cipher", "chain_complete", "error") if key in probe}
        record["certificate_chain_pem"] = probe.get("certificate_chain_pem", [])
        record["certificates"] = tls.describe_certificates(record["certificate_chain_pem"])
    state.tls = record


async def wait_load(page: Page, seconds: float) -> bool:
    try:
        await page.wait_for_load_state("load", timeout=max(1.0, seconds) * 1000)
    except (PlaywrightTimeout, PlaywrightError):
        return False
    return True


def _net_code(message: str) -> str:
    marker = message.find("net::")
    if marker < 0:
        return ""
    return message[marker + 5 :].split()[0].strip(" .,;:")
