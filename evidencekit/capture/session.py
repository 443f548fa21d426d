"""One URL, one fresh browser context: navigate, let the page settle, collect every artefact.

Time is budgeted against the capture's timeout T: a response may come until T, the load event is awaited
until 0.6 T, scrolling and settling end by 0.8 T, and collecting artefacts ends by T plus part of the
grace period. ``run`` itself is cut off at T + most of the grace, and whatever was gathered by then is
still written out by ``assemble``.

Reading the page (DOM, visible text, MHTML, security facts) does not depend on where it is scrolled to, so
it starts as soon as the bottom is reached and no request is open (unless the page has grown below the
reader meanwhile), while the last quiet period runs. A page that never had to scroll gets its full-page
screenshot then too. If any network activity or navigation follows the start of that work, or the DOM
changes at all after it began (a MutationObserver in the capture's own world watches it), it is thrown
away and done again after the quiet period, as the page then stands. A page that scrolled is shot only
after that period, from the top: whether an image rendered at the bottom would be the same cannot be
told from the page (canvas, style rules changed by script, closed shadow trees, frames watching their
own visibility). ``times.steps`` in the metadata records which happened, and when.

Going to the URL and following the page's own navigations is ``navigation``'s job, the DevTools session
``devtools``'s, the scripts run in the page ``page``'s; this module decides what is done when.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from playwright.async_api import Browser, BrowserContext, CDPSession, Page
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture import consent, navigation, walls
from evidencekit.capture import page as page_ops
from evidencekit.capture.adopted import arrive as adopted_arrival
from evidencekit.capture.devtools import open_devtools
from evidencekit.capture.events import PageEvents
from evidencekit.capture.media_find import element_media, may_name_media
from evidencekit.capture.navigation import MAX_FOLLOWED_NAVIGATIONS, Navigations, wait_load
from evidencekit.capture.network import NetworkLog
from evidencekit.capture.options import GRACE_S
from evidencekit.capture.private_network import PrivateNetworkGuard
from evidencekit.capture.reading import (
    MIN_STEP_S,
    STEP_ERRORS,
    Reading,
    failure,
    keep_reading,
    missing,
    read_page,
)
from evidencekit.capture.screenshot import FullPageShot, full_page_shot, viewport_shot
from evidencekit.capture.state import CaptureState
from evidencekit.capture.tasks import cancel, honour_cancel, left
from evidencekit.capture.world import OwnWorld

_T = TypeVar("_T")
_FULL_SHOT = "screenshot.png"
_LOAD_SHARE = 0.6
_SETTLE_SHARE = 0.8


@dataclass
class Tab:
    """A fresh browser context with one blank page and a DevTools session on it, ready for one capture."""

    context: BrowserContext
    page: Page
    cdp: CDPSession


async def open_tab(browser: Browser, context_options: dict[str, Any]) -> Tab:
    context = await browser.new_context(**context_options)
    try:
        page = await context.new_page()
        cdp = await open_devtools(context, page)
    except BaseException:
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(context.close(), 5.0)
        raise
    return Tab(context, page, cdp)


@dataclass
class _Ahead(Generic[_T]):
    """Work started during the quiet period, to be kept only if the page stayed as it was."""

    task: asyncio.Task[_T]
    navigation: int
    at_top: bool = False  # valid only if the page never scrolled (else: only if it ended at the bottom)
    started: float = field(default_factory=time.monotonic)


class Session:
    def __init__(self, state: CaptureState, tab: Callable[[], Awaitable[Tab]], *, adopted: bool = False) -> None:
        """``tab`` gives the fresh context to capture in (opened now, or shortly before). ``adopted``: the
        tab is a window already open in another capture's context (a pop-up, see ``popups``), whose page is
        captured as it is, never navigated, and whose network log was attached as it opened."""
        self.state = state
        self._tab = tab
        self._adopted = adopted
        self._page: Page | None = None
        self._t0 = time.monotonic()
        self.context: BrowserContext | None = None
        self._navigation: Navigations | None = None  # made with the page, before it goes anywhere
        self._early_reading: _Ahead[Reading] | None = None
        self._early_shot: _Ahead[FullPageShot | None] | None = None
        self._world: OwnWorld | None = None  # where the capture's scripts run (made with the DevTools session)
        self._read_dom: str | None = None

    def at(self, share: float) -> float:
        """The monotonic time by which ``share`` of the timeout has passed."""
        return self._t0 + self.state.options.timeout_s * share

    async def run(self) -> None:
        state = self.state
        tab = await self._tab()
        self.context = tab.context
        context, page, cdp = tab.context, tab.page, tab.cdp
        self._page = page
        self._world = OwnWorld(cdp)
        if self._adopted and state.network is not None:
            state.network.attach_devtools(cdp)
        else:
            state.network = NetworkLog(page, state.exchange_done)
            state.network.attach(context, cdp)
        state.events = PageEvents(page, state.reserve_download, state.folder.forget, state.network.mark_download)
        state.events.attach(None if self._adopted else context)  # the opener's capture watches new windows
        if state.popups is not None:
            state.popups.watch(context, page)
            state.events.adopt = state.popups.adopt
        self._navigation = Navigations(page)
        await state.documents.attach(cdp)
        if not self._adopted:  # the guard's permission is the whole context's: its opener set it
            state.private_network = PrivateNetworkGuard(
                allow=state.options.allow_private_network,
                resolve_names=state.proxy is None,
                proxy_server=state.proxy.server if state.proxy is not None else None,
            )
            await state.private_network.start(state.browser.browser, cdp, state.requested_url)
        try:
            arrive = (
                adopted_arrival(page, state, self.at(1.0))
                if self._adopted
                else navigation.go(page, state, self.at(1.0))
            )
            if await arrive:
                await self._arrive(page, cdp)
                await self._scroll_and_settle(page, cdp)
                await self._collect(page, cdp)
                await self._find_media()
        finally:
            self._drop_early()
        wrap_up = self.at(1.0) + GRACE_S * 0.3
        await state.events.finish(max(wrap_up, time.monotonic() + 1.0))
        await state.network.finish(max(wrap_up, time.monotonic() + 1.0))

    async def _find_media(self) -> None:
        """What the page's video and audio elements name (fetched after the page, see ``media``); not asked
        when the DOM just read names no media element or playlist at all (a substring search of it)."""
        if self._read_dom is not None and not may_name_media(self._read_dom):
            return
        until = self.at(1.0) + GRACE_S * 0.2
        with contextlib.suppress(*STEP_ERRORS):
            self.state.media_elements = await element_media(self._own_world(), max(MIN_STEP_S, left(until)))

    def _own_world(self) -> OwnWorld:
        assert self._world is not None, "the world is made as the capture's tab opens"
        return self._world

    def _navigations(self) -> Navigations:
        assert self._navigation is not None, "made as the capture's tab opens"
        return self._navigation

    async def close(self) -> None:
        if self._adopted:  # the window only: the context is its opener's
            if self._page is not None:
                with contextlib.suppress(PlaywrightError, TimeoutError):
                    await asyncio.wait_for(self._page.close(), 5.0)
            self.context = self._page = None
            return
        if self.context is not None:
            # The browser may be gone already (crash, Ctrl-C); there is nothing left to save from it then.
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(self.context.close(), 5.0)
            self.context = None

    async def _arrive(self, page: Page, cdp: CDPSession) -> None:
        state = self.state
        load_by = self.at(_LOAD_SHARE)
        state.load_fired = await wait_load(page, left(load_by))
        state.step("load-event" if state.load_fired else "load-event-missed")
        made = await self._produce(
            "screenshot-viewport.png", "screenshot-viewport", "image/png", "viewport screenshot",
            lambda path: self._arrival_shot(page, cdp, path, load_by),
            self.at(_LOAD_SHARE) + MIN_STEP_S,
        )  # fmt: skip
        state.step("viewport-screenshot" if made else "viewport-screenshot-failed")
        await consent.handle(page, self._own_world(), state, left(self.at(_SETTLE_SHARE)) / 4)  # after the shot

    async def _arrival_shot(self, page: Page, cdp: CDPSession, path: Path, load_by: float) -> None:
        """The viewport as the visitor lands on it. A page that moves on right after loading (a meta
        refresh after 0 s, a script redirect) leaves Chromium unable to shoot until the next document
        paints: the attempt is dropped at the navigation and made again once that document has loaded."""
        for _ in range(MAX_FOLLOWED_NAVIGATIONS):
            if await self._navigations().unless_moved(lambda: viewport_shot(cdp, path)):
                return
            self.state.load_fired = await wait_load(page, left(load_by))
        await viewport_shot(cdp, path)

    async def _scroll_and_settle(self, page: Page, cdp: CDPSession) -> None:
        """Scroll lazy content in and let the network settle. If the page moved on meanwhile (a meta
        refresh, a script), wait for the new document and go through it again, a few times at most."""
        state = self.state
        assert state.network is not None
        settle_by = self.at(_SETTLE_SHARE)
        seen = self._navigations().count
        for _ in range(MAX_FOLLOWED_NAVIGATIONS + 1):
            state.scroll = await page_ops.scroll_through(
                self._own_world(), state.network, settle_by, at_bottom=lambda at_top: self._at_bottom(page, cdp, at_top)
            )
            state.settled = await state.network.wait_idle(page_ops.QUIET_S, settle_by)
            if self._navigations().count == seen:
                break
            seen = self._navigations().count
            state.load_fired = await wait_load(page, left(settle_by))
        state.step("network-settled" if state.settled else "network-still-busy")
        if not state.settled:
            state.busy_urls = state.network.in_flight_urls()

    async def _at_bottom(self, page: Page, cdp: CDPSession, at_top: bool) -> None:
        """At the bottom with no request open: unless the page has grown meanwhile (scrolling goes on),
        start reading it while the quiet period runs and, if the bottom is also the top (nothing to
        scroll), take the full-page screenshot too."""
        self._drop_early()
        self.state.step("reached-bottom")
        until = self.at(1.0) + GRACE_S * 0.2
        if await page_ops.watch_unless_grown(self._own_world(), max(MIN_STEP_S, left(until))):
            return
        seen = self._navigations().count
        self._early_reading = _Ahead(asyncio.ensure_future(self._read_page(page, cdp, until)), seen)
        if at_top:
            self._early_shot = _Ahead(asyncio.ensure_future(self._shoot_early(cdp, until)), seen, at_top=True)

    def _drop_early(self) -> None:
        """Give up the work started at the bottom (the page grew and scrolling goes on, or the capture
        is cut short); the timeline says what was thrown away."""
        if self._early_reading is not None:
            cancel(self._early_reading.task)
            self.state.step("page-read-discarded")
        if self._early_shot is not None:
            made = _made(self._early_shot.task)
            cancel(self._early_shot.task)
            self.state.folder.forget(_FULL_SHOT)
            if made:
                self.state.step("full-page-screenshot-discarded")
        self._early_reading = self._early_shot = None

    async def _finished(self, ahead: _Ahead[_T] | None, until: float) -> _T | None:
        """The result of work done ahead, once finished, if no request, response or navigation came after
        it began and scrolling ended at the bottom (``ahead.at_top``: without the page ever moving); else
        None. The caller still asks whether the DOM changed: a page can change without the network."""
        if ahead is None:
            return None
        try:
            if self._still_current(ahead):
                await asyncio.wait({ahead.task}, timeout=max(MIN_STEP_S, left(until)))
        finally:
            if not ahead.task.done():
                cancel(ahead.task)
        return ahead.task.result() if _made(ahead.task) and self._still_current(ahead) else None

    def _still_current(self, ahead: _Ahead[Any]) -> bool:
        state, scroll = self.state, self.state.scroll
        assert state.network is not None
        return (
            scroll is not None
            and scroll.stopped_by == "bottom"
            and (scroll.steps == 0 or not ahead.at_top)
            and ahead.navigation == self._navigations().count
            and state.network.last_activity < ahead.started
        )

    async def _shoot_early(self, cdp: CDPSession, until: float) -> FullPageShot | None:
        """The full-page screenshot of a page still at the top; None if it failed (it is taken again
        after the quiet period then, where a failure counts)."""
        path = self.state.folder.reserve(_FULL_SHOT, "screenshot-full", "image/png")
        try:
            # A page that fits the view has every section near it painted: nothing to show, and nothing
            # to add to the page while it is being read (its MHTML among it).
            shot = await asyncio.wait_for(full_page_shot(cdp, path), max(MIN_STEP_S, left(until)))
        except STEP_ERRORS:
            return None
        honour_cancel()  # dropped meanwhile: no step for a screenshot that is thrown away
        self.state.step("full-page-screenshot")
        return shot

    async def _collect(self, page: Page, cdp: CDPSession) -> None:
        """The full-page screenshot, then the reading of the page as it stands. What was done early is
        kept only if no request, response or navigation came after it began and the DOM has not changed
        since (a page can change without the network: timers, sockets, its own scroll handlers)."""
        state = self.state
        until = self.at(1.0) + GRACE_S * 0.2
        early_shot, self._early_shot = self._early_shot, None
        early_reading, self._early_reading = self._early_reading, None
        shot = await self._finished(early_shot, until)
        reading = await self._finished(early_reading, until)
        if shot is not None and await self._unchanged(reading, early_reading, until):
            state.screenshot = shot  # taken together with the reading, and the page has not changed since
        else:
            await self._shoot_now(cdp, until, discarded=early_shot is not None and _made(early_shot.task))
            # After the screenshot: widening the viewport for it can wake lazy loaders or resize handlers.
            if not await self._unchanged(reading, early_reading, until):
                reading = None
        if reading is None:
            if early_reading is not None:
                state.step("page-read-discarded")
            reading = await self._read_page(page, cdp, until)
        keep_reading(state, reading)
        state.wall_view = await walls.look(self._own_world(), max(MIN_STEP_S, left(until)))
        self._read_dom = reading.dom  # whether to ask the page for its media (see _find_media)
        # Which document was read, and what the address bar showed: a page can set the address itself
        # (history.replaceState) or leave its document (a failed navigation, about:blank, blob:), so the
        # final URL is never taken from here but from the response that brought the document read (see
        # documents.judge).
        state.address_bar_url = page.url
        state.shown = await state.documents.shown(cdp, max(MIN_STEP_S, left(until)))
        if state.options.pdf:  # printing switches the page to print media: after everything else
            made = await self._produce(
                "page.pdf", "pdf", "application/pdf", "PDF print",
                lambda path: _write_pdf(page, path, left(until)), until,
            )  # fmt: skip
            state.step("pdf" if made else "pdf-failed")

    async def _unchanged(self, reading: Reading | None, early: _Ahead[Reading] | None, until: float) -> bool:
        """Whether an early reading still holds: the DOM has not changed since just before it began (the
        watch started at the bottom, see page.watch_unless_grown), and the network and the navigation
        count are as they were when it began."""
        if reading is None or early is None or reading.dom is None or not self._still_current(early):
            return False  # stale already: no need to ask the page
        changed = await page_ops.dom_changed(self._own_world(), max(MIN_STEP_S, left(until)))
        return not changed and self._still_current(early)  # and nothing came while it was asked

    async def _shoot_now(self, cdp: CDPSession, until: float, *, discarded: bool) -> None:
        state = self.state
        state.folder.forget(_FULL_SHOT)  # whatever an early attempt left behind
        state.screenshot = None
        if discarded:
            state.step("full-page-screenshot-discarded")
        made = await self._produce(
            _FULL_SHOT, "screenshot-full", "image/png", "full-page screenshot",
            lambda path: self._full_shot(cdp, path), until,
        )  # fmt: skip
        state.step("full-page-screenshot" if made else "full-page-screenshot-failed")

    async def _read_page(self, page: Page, cdp: CDPSession, until: float) -> Reading:
        self.state.step("page-read")
        world = self._own_world()
        return await read_page(page, world, cdp, mhtml=self.state.options.mhtml, seconds_left=lambda: left(until))

    async def _full_shot(self, cdp: CDPSession, path: Path) -> None:
        self.state.screenshot = await self._whole_page(cdp, path)

    async def _whole_page(self, cdp: CDPSession, path: Path) -> FullPageShot:
        """The full-page screenshot, with the sections the page paints only near the view shown for it."""
        world = self._own_world()
        shown = await page_ops.show_skipped(world, MIN_STEP_S)
        try:
            shot = await full_page_shot(cdp, path)
        finally:
            if shown:
                await page_ops.hide_skipped(world, MIN_STEP_S)
        shot.sections_shown = shown
        return shot

    async def _produce(
        self,
        name: str,
        role: str,
        media_type: str,
        what: str,
        make: Callable[[Path], Awaitable[object]],
        until: float,
    ) -> bool:
        """Make one artefact within the time left; a failure is a reason, not the end of the capture."""
        path = self.state.folder.reserve(name, role, media_type)
        try:
            await asyncio.wait_for(make(path), max(MIN_STEP_S, left(until)))
        except STEP_ERRORS as exc:
            self.state.folder.forget(name)
            missing(self.state, role, what, failure(exc))
            return False
        return True


def _made(task: asyncio.Future[Any]) -> bool:
    """Whether work done ahead finished with something to show (an early screenshot that was taken)."""
    return task.done() and not task.cancelled() and task.exception() is None and task.result() is not None


async def _write_pdf(page: Page, path: Path, seconds: float) -> None:
    path.write_bytes(await asyncio.wait_for(page.pdf(print_background=True), max(MIN_STEP_S, seconds)))
