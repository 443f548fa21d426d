"""Capture many URLs with one browser: a fresh context per URL, ``concurrency`` at a time.

The synchronous ``capture_many`` runs its own event loop. Ctrl-C cancels the loop's main task: captures
in progress wrap up (partial, or failed if the page never answered), captures not yet started come back
failed with the error ``interrupted``, callbacks have been called for everything that started, and the
browser is closed before ``capture_many`` returns.

Callbacks run on the event loop and must return at once: while one runs, no page makes progress and
every page's time budget keeps running. Slow work (storing, recording) belongs on another thread, which
can stop the run through the ``stop`` future when that work fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from evidencekit.capture import metadata as meta
from evidencekit.capture.artefacts import ArtefactFolder
from evidencekit.capture.assemble import INTERRUPTED, assemble
from evidencekit.capture.browser import RunningBrowser, find_browser, launch
from evidencekit.capture.logincheck import run_login_check
from evidencekit.capture.media import fetch_media, not_fetched, plan_media
from evidencekit.capture.options import GRACE_S, CaptureOptions, ProxySettings, check_url, parse_proxy
from evidencekit.capture.popups import PopupCaptures
from evidencekit.capture.profilesecrets import ProfileSecrets, secret_values
from evidencekit.capture.redact import UrlCredentials, new_salt, origin_of, split_userinfo
from evidencekit.capture.session import Session, Tab, open_tab
from evidencekit.capture.state import CaptureState
from evidencekit.capture.warc import BODY_POLICY, WARC_FILE_NAME, WarcSink
from evidencekit.capture.wording import first_line
from evidencekit.errors import UsageError
from evidencekit.hashing import hash_file
from evidencekit.indicators import extract_indicators
from evidencekit.models import CaptureResult

OnStarted = Callable[[int, str], None]
OnFinished = Callable[[int, CaptureResult], None]
_RUN_SHARE_OF_GRACE = 0.6
_CLOSE_S = 2.0


def capture_many(
    urls: Sequence[str],
    options: CaptureOptions,
    work_root: Path,
    *,
    concurrency: int = 2,
    on_started: OnStarted | None = None,
    on_finished: OnFinished | None = None,
    stop: Future[None] | None = None,
    on_checked: Callable[[str], None] | None = None,
) -> list[CaptureResult]:
    """Capture every URL; results come back in the order of ``urls``.

    Each capture writes into its own new folder under ``work_root``. Every input is checked before the
    browser starts: a bad URL, proxy or storage-state file is a UsageError and nothing is captured.
    Callbacks run on the event loop's thread, ``on_started`` as a capture begins and ``on_finished``
    with its result; an exception from a callback stops the run and is raised here. So does an exception
    set on ``stop`` (from any thread): captures in progress are cancelled (``on_finished`` is still called
    for each), and that exception is raised once the browser is closed. ``on_checked`` is called with the
    time the profile's logged-in check passed, before any capture starts.
    """
    # Credentials written into a URL go to the browser as HTTP credentials; only the URL without them is
    # navigated, handed to the callbacks and recorded.
    checked = [split_userinfo(check_url(url)) for url in urls]
    if not 1 <= concurrency <= 32:
        raise UsageError(f"concurrency must be between 1 and 32, not {concurrency}")
    proxy = parse_proxy(options.proxy) if options.proxy else None
    extract_indicators("", (), options.region)  # an unknown region is a UsageError now, not mid-run
    storage = _storage_state_digests(options.storage_state) if options.storage_state else None
    work_root.mkdir(parents=True, exist_ok=True)
    if not checked:
        return []
    if options.redaction_salt is None:
        options = replace(options, redaction_salt=new_salt())
    batch = _Batch(checked, options, work_root, concurrency, proxy, storage, on_started, on_finished, stop)
    batch.on_checked = on_checked
    return asyncio.run(batch.run())


def was_interrupted(result: CaptureResult) -> bool:
    """True for a capture that Ctrl-C stopped (failed with error ``interrupted``, or partial for that reason)."""
    return result.error == INTERRUPTED or any(reason.startswith(f"{INTERRUPTED}:") for reason in result.reasons)


class _Batch:
    def __init__(
        self,
        urls: list[tuple[str, UrlCredentials | None]],
        options: CaptureOptions,
        work_root: Path,
        concurrency: int,
        proxy: ProxySettings | None,
        storage: dict[str, Any] | None,
        on_started: OnStarted | None,
        on_finished: OnFinished | None,
        stop: Future[None] | None,
    ) -> None:
        self.urls = [url for url, _ in urls]
        self.credentials = [credentials for _, credentials in urls]
        self.options, self.work_root = options, work_root
        self.proxy, self.storage = proxy, storage
        self.on_started, self.on_finished, self.stop = on_started, on_finished, stop
        self.results: list[CaptureResult | None] = [None] * len(urls)
        self._slots = asyncio.Semaphore(concurrency)
        self._browser: RunningBrowser | None = None
        self._not_started = len(urls)
        self._spare: asyncio.Task[Tab] | None = None
        self.on_checked: Callable[[str], None] | None = None  # the time the profile's logged-in check passed

    async def run(self) -> list[CaptureResult]:
        downloads = self.work_root / f".downloads-{uuid.uuid4().hex[:12]}"
        asyncio.get_running_loop().set_exception_handler(_quiet_about_closed_pages)
        async with async_playwright() as playwright:
            managed = Path(playwright.chromium.executable_path)
            info = find_browser(self.options.browser_path, os.environ, managed=managed)
            self._browser = await launch(
                playwright, info, downloads, allow_private_network=self.options.allow_private_network
            )
            if self.options.profile is not None:
                await self._check_logged_in(downloads)
            tasks = [asyncio.create_task(self._one(i, url)) for i, url in enumerate(self.urls)]
            try:
                await self._all(tasks)
            except asyncio.CancelledError:
                # Ctrl-C: cancel every capture; let each write out what it has.
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks, timeout=GRACE_S * 2)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks, timeout=GRACE_S * 2)
                raise
            finally:
                self._drop_spare()
                with contextlib.suppress(PlaywrightError, TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(self._browser.browser.close(), 10.0)
                shutil.rmtree(downloads, ignore_errors=True)
        return [result or _not_started(url) for result, url in zip(self.results, self.urls, strict=True)]

    async def _check_logged_in(self, downloads: Path) -> None:
        """The profile's logged-in check, before any capture starts; when it fails, the browser is closed
        and ``ProfileLoggedOut`` raised: nothing is captured under a false identity."""
        assert self._browser is not None and self.options.profile is not None
        try:
            checked_at = await run_login_check(self._browser.browser, self._context_options(), self.options.profile)
        except BaseException:
            with contextlib.suppress(PlaywrightError, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._browser.browser.close(), 10.0)
            shutil.rmtree(downloads, ignore_errors=True)
            raise
        if checked_at is not None:  # each capture's metadata says when the check passed
            self.options = replace(self.options, profile=replace(self.options.profile, checked_at=checked_at))
            if self.on_checked is not None:
                self.on_checked(checked_at)

    async def _all(self, tasks: list[asyncio.Task[None]]) -> None:
        """Every capture done, or the first exception of a capture's callbacks or of ``stop``."""
        captures = asyncio.gather(*tasks)
        # When the run is stopped, or Ctrl-C cancels the captures one by one, nobody awaits this any more.
        captures.add_done_callback(_retrieved)
        if self.stop is None:
            await captures
            return
        loop = asyncio.get_running_loop()
        stopped: asyncio.Future[None] = loop.create_future()

        def from_another_thread(future: Future[None]) -> None:
            # The stop future may be settled after this loop is closed: then there is nothing to stop.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, stopped, future)

        self.stop.add_done_callback(from_another_thread)
        try:
            await asyncio.wait((captures, stopped), return_when=asyncio.FIRST_COMPLETED)
            if not captures.done():
                captures.cancel()
                stopped.result()  # raises the exception that stopped the run
        finally:
            stopped.cancel()  # a stop that comes later has nothing left to stop, and must not be logged unseen
        await captures

    async def _one(self, index: int, url: str) -> None:
        try:
            await self._slots.acquire()
        except asyncio.CancelledError:
            return  # never started: reported as not started, without callbacks
        self._not_started -= 1
        try:
            if self.on_started is not None:
                self.on_started(index, url)
            state, session = await self._browse(index, url)
        finally:
            # The page has been read: the next one can start while this one's context is closed and its
            # files are assembled.
            self._slots.release()
        # Seal on the loop's thread first: exchanges still open are recorded as cut short, and nothing
        # the loop runs later (a cancelled body read finishing, the context closing) can write while the
        # worker assembles.
        if state.network is not None:
            state.network.abandon()
        if state.events is not None:
            state.events.stop()
        plan = await plan_media(state, session.context)  # the context's cookies are read before it closes
        state.sealed = True
        # Pop-ups captured live in this context: they end (by this capture's deadline) before it closes.
        popups = await state.popups.wrap_up(interrupted=state.interrupted) if state.popups is not None else ()
        closing = asyncio.ensure_future(_close(session))
        if plan is not None and (state.interrupted or _cancelling()):
            # Ctrl-C came while the pop-ups were wrapped up (and was absorbed there): no media fetch
            # that would run out its whole time limit; the media block says what was not fetched.
            state.interrupted = True
            not_fetched(state, plan, "the capture was interrupted before its media were fetched")
        elif plan is not None:
            await fetch_media(state, plan)  # Ctrl-C included: what was kept is still written out
        assembling = asyncio.ensure_future(asyncio.to_thread(assemble, state))
        try:
            result = await asyncio.shield(assembling)
        except asyncio.CancelledError:
            result = await assembling  # Ctrl-C: what was obtained is still written out and reported
        with contextlib.suppress(asyncio.CancelledError):
            await closing
        if popups:
            result = replace(result, popups=popups)
        self.results[index] = result
        if self.on_finished is not None:
            self.on_finished(index, result)

    async def _browse(self, index: int, url: str) -> tuple[CaptureState, Session]:
        assert self._browser is not None
        capture_id = str(uuid.uuid4())
        folder = ArtefactFolder(self.work_root / f"{index + 1:04d}-{capture_id[:8]}")
        state = CaptureState(
            capture_id=capture_id,
            requested_url=url,
            options=self.options,
            browser=self._browser,
            folder=folder,
            proxy=self.proxy,
            storage_state=self.storage,
            salt=self.options.redaction_salt or new_salt(),
            url_credentials=self.credentials[index],
        )
        state.warc = WarcSink(
            folder.reserve(WARC_FILE_NAME, "warc", "application/warc"), self._warcinfo(state), state.salt
        )
        if self.options.max_popups > 0:
            deadline = time.monotonic() + self.options.timeout_s
            state.popups = PopupCaptures(state, self.options.max_popups, deadline, self._warcinfo)
        if self.options.profile is not None:
            state.secrets = ProfileSecrets(secret_values(self.options.profile.state), state.salt)
            state.warc.secrets = folder.secrets = state.secrets
        credentials = self.credentials[index]
        session = Session(state, self._tab if credentials is None else partial(self._tab_with, url, credentials))
        try:
            async with asyncio.timeout(self.options.timeout_s + GRACE_S * _RUN_SHARE_OF_GRACE):
                await session.run()
        except TimeoutError:
            state.cut_off = True
        except asyncio.CancelledError:
            state.interrupted = True
        except PlaywrightError as exc:
            state.error = f"the browser failed: {first_line(exc.message)}"
        except Exception as exc:  # a page must never take the whole batch down with it
            state.error = f"internal error while capturing: {type(exc).__name__}: {first_line(str(exc))}"
        return state, session

    async def _tab(self) -> Tab:
        """A fresh context for the capture starting now. While this capture runs, the next one's context
        is opened in the background (still one new, unused context per URL), so a capture does not wait
        for its browser context and blank page to be made; nothing is loaded into it before its turn."""
        assert self._browser is not None
        spare, self._spare = self._spare, None
        if self._not_started > 0:
            self._spare = asyncio.ensure_future(open_tab(self._browser.browser, self._context_options()))
        if spare is not None:
            try:
                return await spare
            except PlaywrightError:
                pass  # opened again below: the error, if it lasts, is this capture's
        return await open_tab(self._browser.browser, self._context_options())

    async def _tab_with(self, url: str, credentials: UrlCredentials) -> Tab:
        """A context of its own for a URL that came with credentials: the spare has none, and these are
        offered to that URL's origin only."""
        assert self._browser is not None
        options = self._context_options()
        options["http_credentials"] = credentials.to_playwright(origin_of(url))
        return await open_tab(self._browser.browser, options)

    def _drop_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is None:
            return
        if spare.done() and not spare.cancelled() and spare.exception() is None:
            # never used: closed with the browser right after; asking for its result here keeps asyncio quiet
            spare.result()
        spare.cancel()

    def _context_options(self) -> dict[str, Any]:
        width, height = self.options.viewport
        context: dict[str, Any] = {
            "viewport": {"width": width, "height": height},
            "accept_downloads": True,
            # Requests a service worker makes are invisible to the page's network log; no workers, no gaps.
            "service_workers": "block",
            "ignore_https_errors": self.options.ignore_https_errors,
        }
        assert self._browser is not None
        context["user_agent"] = self.options.user_agent or self._browser.capture_user_agent
        if self.proxy is not None:
            context["proxy"] = self.proxy.to_playwright()
        if self.options.storage_state is not None:
            context["storage_state"] = str(self.options.storage_state)
        if self.options.profile is not None:  # in memory: the decrypted state never lands on disk
            context["storage_state"] = dict(self.options.profile.state)
        return context

    def _warcinfo(self, state: CaptureState) -> dict[str, str]:
        versions = meta.software()
        browser = state.browser
        software = f"evidencekit/{versions['evidencekit']} (Playwright {versions['playwright']}; {browser.product})"
        return {
            "software": software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "isPartOf": f"evidencekit capture {state.capture_id}",
            "description": BODY_POLICY,
            "http-header-user-agent": self.options.user_agent or browser.capture_user_agent,
            "robots": "ignore",
        }


async def _close(session: Session) -> None:
    try:
        async with asyncio.timeout(_CLOSE_S):
            await session.close()
    except (TimeoutError, asyncio.CancelledError):
        pass


def _storage_state_digests(path: Path) -> dict[str, Any]:
    """The digests the metadata records for a storage-state file; its contents (cookies, tokens) never
    leave it. A file that is not a storage state is a UsageError before any browser starts."""
    digests = hash_file(path).to_dict()
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("cookies", []), list):
        raise UsageError(f"{path} is not a Playwright storage-state file (JSON with 'cookies' and 'origins')")
    return digests


def _quiet_about_closed_pages(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Abandoned Playwright calls (their page closed under them) end in errors nobody awaits any more;
    they are expected when a capture is cut short and are not worth a traceback on stderr."""
    if isinstance(context.get("exception"), PlaywrightError):
        return
    loop.default_exception_handler(context)


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _settle(target: asyncio.Future[None], source: Future[None]) -> None:
    if target.done():
        return
    error = source.exception() if not source.cancelled() else None
    if error is not None:
        target.set_exception(error)
    else:
        target.set_result(None)


def _not_started(url: str) -> CaptureResult:
    return CaptureResult(
        requested_url=url,
        final_url=None,
        status="failed",
        reasons=(),
        files=(),
        metadata={},
        error=INTERRUPTED,
    )


def _cancelling() -> bool:
    """Whether this task was asked to stop (Ctrl-C) even if an await absorbed the cancellation."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
