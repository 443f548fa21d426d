"""Finding a Chromium to drive and starting it with the sandbox on wherever it can run."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Playwright
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.fonts import installed_font_packages
from evidencekit.capture.private_network import ALLOW_FEATURES, LAUNCH_FEATURES
from evidencekit.errors import BrowserError

ENV_BROWSER = "EVIDENCEKIT_BROWSER"
DEBIAN_BROWSERS = (Path("/usr/lib/chromium/chromium-headless-shell"), Path("/usr/lib/chromium/chromium"))
CHROME_BROWSERS = (
    Path("/opt/google/chrome/chrome"),
    Path("/usr/bin/google-chrome-stable"),
    Path("/usr/bin/google-chrome"),
    Path("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"),
    Path("C:/Program Files/Google/Chrome/Application/chrome.exe"),
)
# Quiet the browser's own traffic (updates, sync, field trials) so the WARC holds only the page's.
BASE_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
# Chromium takes the last --enable-features it is given, so the features Playwright turns on are named
# again beside ours: the Local Network Access check extended to navigations, or with
# --allow-private-network reduced to a warning (see private_network).
_PLAYWRIGHT_FEATURES = ("CDPScreenshotNewSurface", "SkipListAccountsWithoutGaiaCookies")
_INSTALL_HINT = "install one with 'apt-get install chromium-headless-shell' or 'playwright install chromium'"


@dataclass(frozen=True)
class BrowserInfo:
    path: Path
    found_by: str  # "option", "environment", "playwright", "debian" or "chrome"


class _Unset:
    pass


_UNSET = _Unset()


def find_browser(
    explicit: Path | None,
    environ: Mapping[str, str],
    *,
    managed: Path | _Unset | None = _UNSET,
) -> BrowserInfo:
    """The browser to drive: ``explicit``, then $EVIDENCEKIT_BROWSER, a Playwright-managed Chromium,
    Debian's headless shell and Chromium, then Google Chrome.

    A path the user named that is not an executable is an error rather than a reason to look further:
    they asked for that browser. ``managed`` is the path Playwright reports for its own Chromium (ask a
    running Playwright for ``chromium.executable_path``); left out, a short-lived Playwright is asked.
    """
    if explicit is not None:
        return BrowserInfo(_usable(explicit, "--browser"), "option")
    from_env = environ.get(ENV_BROWSER, "").strip()
    if from_env:
        return BrowserInfo(_usable(Path(from_env), f"${ENV_BROWSER}"), "environment")
    managed_path = _ask_playwright() if isinstance(managed, _Unset) else managed
    if managed_path is not None and _is_executable(managed_path):
        return BrowserInfo(managed_path, "playwright")
    for path in DEBIAN_BROWSERS:
        if _is_executable(path):
            return BrowserInfo(path, "debian")
    for path in CHROME_BROWSERS:
        if _is_executable(path):
            return BrowserInfo(path, "chrome")
    raise BrowserError(f"no Chromium or Chrome found; {_INSTALL_HINT}, or name one with --browser PATH")


def _usable(path: Path, source: str) -> Path:
    if not _is_executable(path):
        raise BrowserError(f"{source} names {path}, which is not an executable browser; {_INSTALL_HINT}")
    return path


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _ask_playwright() -> Path | None:
    """Playwright's own Chromium path, from a private sync Playwright on a helper thread (the sync API
    refuses to run inside an event loop, and the caller may be in one)."""
    found: list[Path | None] = [None]

    def ask() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                found[0] = Path(playwright.chromium.executable_path)
        except Exception:  # noqa: S110 - no Playwright driver simply means no managed browser
            pass

    worker = threading.Thread(target=ask, name="evidencekit-find-browser", daemon=True)
    worker.start()
    worker.join(timeout=30)
    return found[0]


def sandbox_available() -> bool:
    """Chromium's sandbox cannot start as root; everywhere else it stays on."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid is None or geteuid() != 0


def launch_args(sandbox: bool, allow_private_network: bool = False) -> list[str]:
    features = (*_PLAYWRIGHT_FEATURES, *(ALLOW_FEATURES if allow_private_network else LAUNCH_FEATURES))
    args = [*BASE_ARGS, "--enable-features=" + ",".join(features)]
    return args if sandbox else [*args, "--no-sandbox"]


@dataclass(frozen=True)
class RunningBrowser:
    """One browser for a whole run, and the facts about it that every capture's metadata repeats."""

    browser: Browser
    info: BrowserInfo
    sandbox: bool
    args: tuple[str, ...]
    product: str
    version: str
    user_agent: str
    protocol_version: str
    fonts: tuple[str, ...] | None = None

    @property
    def capture_user_agent(self) -> str:
        """The browser's own user agent without the headless marker: many ad sites refuse a visitor that
        announces "HeadlessChrome", or serve it something else than what a person sees."""
        return self.user_agent.replace("HeadlessChrome/", "Chrome/")

    def describe(self) -> dict[str, Any]:
        return {
            "name": "chromium",
            "product": self.product,
            "version": self.version,
            "executable": str(self.info.path),
            "found_by": self.info.found_by,
            "headless": True,
            "sandbox": self.sandbox,
            "args": list(self.args),
            "devtools_protocol": self.protocol_version,
            "fonts": None if self.fonts is None else list(self.fonts),
        }


async def launch(
    playwright: Playwright, info: BrowserInfo, downloads: Path, *, allow_private_network: bool = False
) -> RunningBrowser:
    """Start the browser. Downloads land in ``downloads`` (inside the run's work folder) until a
    capture moves them into its own folder: they never touch the user's Downloads."""
    sandbox = sandbox_available()
    args = launch_args(sandbox, allow_private_network)
    downloads.mkdir(parents=True, exist_ok=True)
    try:
        browser = await playwright.chromium.launch(
            executable_path=info.path,
            args=args,
            chromium_sandbox=sandbox,
            downloads_path=downloads,
            # Ctrl-C is ours to handle: the browser must outlive it long enough to finish what it can.
            handle_sigint=False,
            headless=True,
            timeout=60_000,
        )
    except PlaywrightError as exc:
        first = str(exc.message).strip().splitlines()[0] if exc.message else "unknown error"
        raise BrowserError(
            f"could not start the browser {info.path}: {first}; {_INSTALL_HINT}", detail=str(exc)
        ) from None
    try:
        session = await browser.new_browser_cdp_session()
        version = await session.send("Browser.getVersion")
        await session.detach()
    except PlaywrightError as exc:
        await browser.close()
        raise BrowserError(f"the browser {info.path} does not speak the DevTools protocol: {exc.message}") from None
    return RunningBrowser(
        browser=browser,
        info=info,
        sandbox=sandbox,
        args=tuple(args),
        product=str(version.get("product", "")),
        version=browser.version,
        user_agent=str(version.get("userAgent", "")),
        protocol_version=str(version.get("protocolVersion", "")),
        fonts=installed_font_packages(),
    )
