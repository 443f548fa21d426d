"""Reading a page as it stands: rendered DOM, visible text, MHTML and the security facts, all at once.

None of these depends on where the page is scrolled to, so the session may read the page while the
network settles and keep the reading only if nothing happened after it (see ``session``). What could not
be read becomes a reason in the metadata, never the end of the capture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture import page as page_ops
from evidencekit.capture import tls
from evidencekit.capture.redact import redact_mhtml
from evidencekit.capture.state import CaptureState
from evidencekit.capture.wording import first_line
from evidencekit.capture.world import OwnWorld
from evidencekit.errors import EvidenceKitError

MIN_STEP_S = 2.0  # no step of a capture gets less time than this, whatever is left of the timeout
STEP_ERRORS = (PlaywrightError, TimeoutError, OSError, EvidenceKitError)


@dataclass
class Reading:
    """The page as read at one moment."""

    dom: str | None = None
    text: page_ops.PageText | None = None
    mhtml: str | None = None
    beforeunload: bool | None = None
    chain: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # artefact role -> why it could not be read


async def read_page(
    page: Page, world: OwnWorld, cdp: CDPSession, *, mhtml: bool, seconds_left: Callable[[], float]
) -> Reading:
    """Read everything at once; each part gets the time left (``seconds_left``), at least MIN_STEP_S."""
    reading = Reading()

    def budget() -> float:
        return max(MIN_STEP_S, seconds_left())

    async def part(role: str, read: Callable[[], Awaitable[None]]) -> None:
        try:
            await asyncio.wait_for(read(), budget())
        except STEP_ERRORS as exc:
            reading.errors[role] = failure(exc)

    async def dom() -> None:
        reading.dom = await page_ops.read_dom(world, budget())

    async def text() -> None:
        reading.text = await page_ops.read_text(page, world, budget())

    async def snapshot() -> None:
        answer = await cdp.send("Page.captureSnapshot", {"format": "mhtml"})
        reading.mhtml = str(answer["data"])

    async def security() -> None:
        reading.beforeunload = await page_ops.has_beforeunload(cdp)
        address = urlsplit(page.url)
        if address.scheme == "https":
            reading.chain = await tls.browser_certificate_chain(cdp, f"{address.scheme}://{address.netloc}")

    parts = [part("dom", dom), part("visible-text", text), part("security", security)]
    if mhtml:
        parts.append(part("mhtml", snapshot))
    await asyncio.gather(*parts)
    return reading


def keep_reading(state: CaptureState, reading: Reading) -> None:
    """Write what was read into the capture folder; what could not be read becomes a reason."""
    folder = state.folder
    if reading.dom is not None:
        folder.write("dom.html", "dom", "text/html; charset=utf-8", reading.dom.encode("utf-8"))
    else:
        missing(state, "dom", "rendered DOM", reading.errors.get("dom"))
    if reading.text is not None:
        state.page_text = reading.text
        folder.write("text.txt", "visible-text", "text/plain; charset=utf-8", reading.text.text.encode("utf-8"))
    else:
        detail = reading.errors.get("visible-text", "unknown error")
        state.reasons.add("text-missing", f"the visible text could not be read: {detail}")
    if reading.mhtml is not None:
        snapshot = redact_mhtml(reading.mhtml, state.salt)  # a URL's credentials, in the browser's header lines
        folder.write("page.mhtml", "mhtml", "multipart/related", snapshot.encode("utf-8"))
    elif state.options.mhtml:
        missing(state, "mhtml", "MHTML snapshot", reading.errors.get("mhtml"))
    state.beforeunload, state.browser_chain = reading.beforeunload, reading.chain
    if "security" in reading.errors:
        detail = reading.errors["security"]
        state.reasons.add("security-facts-missing", f"the certificate chain or beforeunload check failed: {detail}")


def missing(state: CaptureState, role: str, what: str, detail: str | None) -> None:
    state.reasons.add(f"{role}-missing", f"the {what} could not be made: {detail or 'unknown error'}")


def failure(exc: BaseException) -> str:
    return "it took too long" if isinstance(exc, TimeoutError) else first_line(str(exc))
