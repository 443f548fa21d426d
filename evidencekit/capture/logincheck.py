"""The logged-in check a profile may name, run before a batch: nothing is captured under a false identity.

One fresh context with the profile's storage state (the same options as a capture's) loads the check URL
and looks for the selector or the text only a logged-in visitor sees. Nothing it loads is kept: it is a
look, not a capture. When the mark is missing the batch stops before any capture with
``ProfileLoggedOut``, whose one line says how to log in again.

``profile login`` is here too, since only capture drives a browser: a headed Chromium with the profile's
state, for the investigator to log in by hand; the state is read back when they close the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from playwright.async_api import Browser, async_playwright
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.browser import find_browser, launch_args, sandbox_available
from evidencekit.capture.options import CaptureProfile
from evidencekit.capture.wording import first_line
from evidencekit.errors import OperationalError
from evidencekit.timefmt import format_time, utc_now

CHECK_TIMEOUT_S = 30.0


class ProfileLoggedOut(OperationalError):
    """The profile's logged-in check failed: the batch stopped before capturing anything."""

    def __init__(self, profile: str, url: str, detail: str, check: dict[str, str] | None = None) -> None:
        host = urlsplit(url).hostname or url
        super().__init__(
            f"profile {profile} is no longer logged in to {host}; run `evidencekit profile login {profile}`"
        )
        # After the base class, which sets ``detail`` (the error's own) to None.
        self.profile, self.url, self.detail, self.host = profile, url, detail, host
        self.check = check  # as records keep it: never the URL, selector or text verbatim


async def run_login_check(browser: Browser, context_options: dict[str, Any], profile: CaptureProfile) -> str | None:
    """Raise ``ProfileLoggedOut`` unless the check page shows the profile's logged-in mark; the time (UTC) the
    check passed, or None when the profile names no check."""
    check = profile.check()
    if check is None:
        return None
    record = profile.check_record()
    context = await browser.new_context(**context_options)
    try:
        page = await context.new_page()
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                response = await page.goto(check["url"], wait_until="load")
                status = response.status if response is not None else None
                if "selector" in check:
                    found = await _wait_for(page.locator(check["selector"]).first)
                else:
                    found = await _wait_for(page.get_by_text(check["text"]).first)
        except TimeoutError:
            raise ProfileLoggedOut(profile.name, check["url"], "the check page did not load in time", record) from None
        except PlaywrightError as exc:
            # The browser's message names the URL it failed on: only its host is said (see ``check_record``).
            said = first_line(exc.message).replace(check["url"], urlsplit(check["url"]).hostname or "the check URL")
            raise ProfileLoggedOut(profile.name, check["url"], said, record) from None
        if not found:
            # The mark itself is not quoted: a check text is often the account's own visible name.
            mark = "the check's selector" if "selector" in check else "the check's text"
            ended = urlsplit(page.url)  # without user info, query or fragment: a login URL may carry tokens
            final = urlunsplit((ended.scheme, ended.netloc.rpartition("@")[2], ended.path, "", ""))
            raise ProfileLoggedOut(
                profile.name, check["url"], f"{mark} not found (HTTP {status}; the page ended at {final})", record
            )
        return format_time(utc_now())
    finally:
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(context.close(), 5.0)


async def _wait_for(locator: Any) -> bool:
    try:
        await locator.wait_for(state="attached", timeout=5000)
    except PlaywrightError:
        return False
    return True


def _settle(closed: asyncio.Future[None]) -> None:
    if not closed.done():
        closed.set_result(None)


def login_by_hand(state: dict[str, Any], url: str, browser_path: Any = None) -> dict[str, Any]:
    """Open a headed Chromium at ``url`` with ``state``; return the browser state once the window is closed."""
    return asyncio.run(_login_by_hand(state, url, browser_path))


async def _login_by_hand(state: dict[str, Any], url: str, browser_path: Any) -> dict[str, Any]:
    async with async_playwright() as playwright:
        info = find_browser(browser_path, os.environ, managed=Path(playwright.chromium.executable_path))
        if "headless" in info.path.name:
            raise OperationalError(
                f"profile login needs a browser with a window, and {info.path} is a headless shell; "
                "name a full Chromium or Chrome with --browser"
            )
        sandbox = sandbox_available()  # as for captures: off only when running as root, where it cannot work
        browser = await playwright.chromium.launch(
            executable_path=info.path, headless=False, args=launch_args(sandbox), chromium_sandbox=sandbox
        )
        try:
            context = await browser.new_context(storage_state=state)  # type: ignore[arg-type]
            page = await context.new_page()
            closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            page.on("close", lambda _page: _settle(closed))
            await page.goto(url)
            await closed
            saved: dict[str, Any] = dict(await context.storage_state())
            return saved
        finally:
            with contextlib.suppress(PlaywrightError):
                await browser.close()
