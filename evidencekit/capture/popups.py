"""Pop-up windows the captured page opens: the first ``max_popups`` are captured as items of their own,
linked to the page that opened them; the rest are closed after a look, as every pop-up was before.

A pop-up opens in its opener's browser context, and Playwright reports its requests to every listener on
that context. The opener's network log keeps only its own page's requests (see ``network``): what another
window loads is neither waited on nor counted as the opener's, and is not in the opener's WARC. A pop-up
captured is a capture of its own (``session``, adopting the window without navigating it again: the
server is not asked twice), with its own folder, WARC, screenshots, DOM and metadata, and the opener's
metadata names it. Chromium often starts a pop-up's first navigation before the window is reported, so
the requests of windows not yet known are kept (``otherwindows``) and handed to the pop-up's log
the moment it is adopted; the DevTools session, opened a moment later, has missed those requests, and the
pop-up's metadata says so (reason ``popup-attached-late``).

Time: a pop-up's capture shares its opener's deadline. It gets the time left of the opener's timeout
(with the same grace), so it never makes the opener's result later than the opener's own time limit; a
pop-up opened too late to be captured usefully is closed, and one cut short is partial, as any capture.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.artefacts import ArtefactFolder
from evidencekit.capture.assemble import assemble
from evidencekit.capture.consent import LEAVE as POPUP_CONSENT
from evidencekit.capture.devtools import open_devtools
from evidencekit.capture.exchange import PopupRecord, is_web
from evidencekit.capture.media_find import find_media
from evidencekit.capture.metadata import NOTE
from evidencekit.capture.network import NetworkLog
from evidencekit.capture.options import GRACE_S
from evidencekit.capture.otherwindows import OtherWindows, opener_of
from evidencekit.capture.session import Session, Tab
from evidencekit.capture.state import CaptureState
from evidencekit.capture.warc import WARC_FILE_NAME, WarcSink
from evidencekit.capture.wording import first_line
from evidencekit.errors import OperationalError
from evidencekit.models import CaptureResult
from evidencekit.timefmt import format_time, utc_now

# Less time than this left of the opener's timeout: the pop-up is closed, as one over the limit.
MIN_POPUP_S = 3.0
_RUN_SHARE_OF_GRACE = 0.6  # as a capture of a URL (see batch)
_CLOSE_S = 2.0
LATE_NOTE = (
    "the pop-up window had made {count} requests (its first document among them) before the capture "
    "could attach to it: they are in its WARC as the browser context reported them, but the DevTools "
    "details (headers as sent over the wire, protocol, TLS) of those requests were not seen"
)
NOT_THE_PAGES = "opened by one of the page's pop-up windows, not by the page itself"
BY_THIS_POPUP = "opened by this pop-up window: not captured (only the windows the captured page opens are)"
NOT_SHOWN = (
    "a window opened while the page was captured (by the page or by one of its pop-ups: not known), whose "
    "page the browser had not yet shown when the page's capture ended (a slow server): not captured, what "
    "it loaded is in no WARC"
)
MEDIA_NOT_FETCHED = (
    "the pop-up window's page names {count} video or audio files{more}: media of pop-up windows are not "
    "fetched as files of their own (only what the browser itself loaded is in the pop-up's WARC)"
)


@dataclass
class _Popup:
    page: Page
    record: PopupRecord
    state: CaptureState
    session: Session
    task: asyncio.Task[None]
    closed_itself: datetime | None = None  # when the window closed before its capture ended (its own script)


class PopupCaptures:
    """The pop-ups of one capture: adopted as their windows open, captured alongside the opener, then
    sealed and assembled (``wrap_up``) before the opener's own result is made."""

    def __init__(
        self,
        opener: CaptureState,
        limit: int,
        deadline: float,
        warcinfo: Callable[[CaptureState], dict[str, str]],
    ) -> None:
        self.opener, self.limit, self.deadline = opener, limit, deadline
        self._warcinfo = warcinfo
        self._context: BrowserContext | None = None
        self._others: OtherWindows | None = None
        self._popups: list[_Popup] = []
        self._interrupted = False
        self._opener_page: Page | None = None
        self._offered: set[Page] = set()  # every window offered to ``adopt``: each has its record

    def watch(self, context: BrowserContext, opener_page: Page) -> None:
        """Called as the opener's tab opens, before it navigates: from now on, other windows' requests are
        kept for them, and each new window is offered to ``adopt`` (through the opener's PageEvents)."""
        self._context, self._opener_page = context, opener_page
        self._others = OtherWindows(opener_page)
        self._others.attach(context)

    def adopt(self, page: Page) -> PopupRecord | None:
        """Start capturing the new window ``page``: its record, ``captured``. Else a ``closed`` record
        saying why (the window is then closed after a look, its dialogs and downloads the opener's, as
        before): past the limit, with too little of the opener's time left, or when the window shows no
        page from a server: one opened blank for its opener to write into, or whose first navigation
        turned into a download (Playwright reports a pop-up once its first navigation has committed)."""
        left_s = self.deadline - time.monotonic()
        if self._context is None or self._others is None:
            return None
        self._offered.add(page)
        by_a_popup = self._by_a_popup(page)
        if by_a_popup is not None:
            # A window another pop-up opened: "opened by" the page would not be true. Closed, as before,
            # without taking one of the page's --max-popups places; the pop-up that opened it lists it too.
            note, opening = by_a_popup
            record = self._closed(page, note)
            record.by_a_popup = True
            if opening is not None and opening.state.events is not None and not opening.state.sealed:
                opening.state.events.popups.append(replace(record, note=BY_THIS_POPUP, by_a_popup=False))
            return record
        if len(self._popups) >= self.limit:
            return self._closed(page, f"over the limit of {self.limit} pop-up windows captured (--max-popups)")
        if left_s < MIN_POPUP_S:
            return self._closed(page, f"opened with less than {MIN_POPUP_S:.0f} s of the capture's time left")
        if not is_web(page.url):
            return self._closed(page, "it showed no page from a server when it opened (a blank window or a download)")
        if "@" in urlsplit(page.url).netloc:  # never recorded as an item's URL (see capture.redact)
            return self._closed(page, "its address carries credentials (user@host)")
        # The address the page opened, before redirects (page.url is where the window has got to since).
        opened = self._others.first_navigation(page) or page.url
        if not is_web(opened) or "@" in urlsplit(opened).netloc:
            opened = page.url
        if self.opener.secrets is not None:
            # The page chose this address, not the investigator: a profile's secret value in it (a token the
            # page read from its storage) is redacted by value, as in every other URL the page used.
            opened = self.opener.secrets.url(opened, "pop-up requested url")
        try:
            state = self._new_state(opened, left_s)
        except (OSError, OperationalError) as exc:  # in an event handler: a failure is the pop-up's alone
            return self._closed(page, f"it could not be captured: {first_line(str(exc))}")
        state.network = NetworkLog(page, state.exchange_done)
        state.network.attach_context(self._context)
        self._others.hand_over(page, state.network)
        record = PopupRecord(opened_url=opened, time=utc_now(), action="captured", capture_id=state.capture_id)
        session = Session(state, partial(self._tab, page), adopted=True)
        task = asyncio.get_running_loop().create_task(self._run(state, session))
        popup = _Popup(page, record, state, session, task)
        self._popups.append(popup)
        page.on("close", lambda _page: _note_closed(popup))
        return record

    def _closed(self, page: Page, why: str) -> PopupRecord:
        # The address the page opened, also when the window shows none (a download): its first navigation.
        opened = (self._others.first_navigation(page) if self._others is not None else None) or page.url
        return PopupRecord(opened_url=opened, time=utc_now(), note=why)

    def _new_state(self, url: str, seconds: float) -> CaptureState:
        opener = self.opener
        capture_id = str(uuid.uuid4())
        root = opener.folder.root
        folder = ArtefactFolder(root.with_name(f"{root.name}-popup{len(self._popups) + 1}-{capture_id[:8]}"))
        state = CaptureState(
            capture_id=capture_id,
            requested_url=url,
            # Its own timeout is what is left of the opener's: metadata settings.timeout_ms says how much.
            # Consent "leave": a pop-up is evidence of what the page did, captured as shown; --consent accept acts
            # only on the page asked for (a click here would act in the opener's shared context).
            options=replace(
                opener.options, timeout_s=min(opener.options.timeout_s, max(1.0, seconds)), consent=POPUP_CONSENT
            ),
            browser=opener.browser,
            folder=folder,
            proxy=opener.proxy,
            storage_state=opener.storage_state,
            salt=opener.salt,
        )
        state.opened_by = {"capture_id": opener.capture_id, "url": opener.requested_url}
        state.warc = WarcSink(
            folder.reserve(WARC_FILE_NAME, "warc", "application/warc"), self._warcinfo(state), state.salt
        )
        # A pop-up shares its opener's browser context, so its requests carry the same profile's secrets.
        state.secrets = state.warc.secrets = folder.secrets = opener.secrets
        return state

    async def _tab(self, page: Page) -> Tab:
        assert self._context is not None
        return Tab(self._context, page, await open_devtools(self._context, page))

    async def _run(self, state: CaptureState, session: Session) -> None:
        try:
            async with asyncio.timeout(state.options.timeout_s + GRACE_S * _RUN_SHARE_OF_GRACE):
                await session.run()
        except TimeoutError:
            state.cut_off = True
        except asyncio.CancelledError:
            # Stopped with its opener (see wrap_up): by Ctrl-C, or past the opener's deadline and grace.
            if self._interrupted:
                state.interrupted = True
            else:
                state.cut_off = True
        except PlaywrightError as exc:
            state.error = f"the browser failed: {first_line(exc.message)}"
        except Exception as exc:  # a pop-up must never take its opener's capture down with it
            state.error = f"internal error while capturing: {type(exc).__name__}: {first_line(str(exc))}"

    def _by_a_popup(self, page: Page) -> tuple[str, _Popup | None] | None:
        """None if the captured page opened ``page``, as far as the browser says: a window opened without
        an opener ("noopener") names none, and is taken to be the page's (only the page and its pop-ups
        run in the capture's context, and a pop-up's own windows name it); so is one whose opener cannot
        be told at once. Else the note saying which window opened it, and that pop-up's capture if any."""
        known, opener = opener_of(page)
        if not known or opener is None or opener is self._opener_page:
            return None
        opening = next((popup for popup in self._popups if popup.page is opener), None)
        if opening is None:
            return NOT_THE_PAGES, None
        return f"{NOT_THE_PAGES} (by the pop-up window captured as {opening.state.capture_id})", opening

    async def wrap_up(self, *, interrupted: bool) -> tuple[CaptureResult, ...]:
        """Let the pop-ups' captures end (by the opener's deadline and grace; at once after Ctrl-C), then
        seal and assemble each: their results, in the order the windows opened. The opener's records of
        them are completed."""
        # The opener's capture ended when it was sealed, not when its pop-ups' did.
        self.opener.ended = self.opener.ended or utc_now()
        if self._others is not None:
            if self.opener.events is not None:
                for url, opened in self._others.unreported(self._offered):
                    self.opener.events.popups.append(PopupRecord(opened_url=url, time=opened, note=NOT_SHOWN))
            self._others.forget()
        tasks = [popup.task for popup in self._popups]
        if tasks and not interrupted:
            try:
                await asyncio.wait(tasks, timeout=max(0.0, self.deadline + GRACE_S - time.monotonic()))
            except asyncio.CancelledError:
                interrupted = self._ctrl_c()  # what the pop-ups obtained is still written out
        if tasks:
            self._interrupted = interrupted
            for task in tasks:
                task.cancel()
            try:
                await asyncio.wait(tasks, timeout=_CLOSE_S)
            except asyncio.CancelledError:
                self._ctrl_c()
        results = []
        for popup in self._popups:
            if not popup.task.done():
                # Still running although cancelled: assembling now would read what it may still write.
                self._drop(popup, "its capture did not stop when the page's capture ended")
                continue
            try:
                result = await self._assemble(popup)
            except Exception as exc:  # a pop-up must never take its opener's capture down with it
                self._drop(popup, f"it could not be captured: {type(exc).__name__}: {first_line(str(exc))}")
                continue
            if result is not None:
                results.append(result)
        return tuple(results)

    def _ctrl_c(self) -> bool:
        """Ctrl-C reached the opener's capture while its pop-ups were wrapped up: the opener is recorded
        as interrupted (and so fetches no media), as it would be had Ctrl-C come a moment earlier."""
        self.opener.interrupted = True
        return True

    @staticmethod
    def _drop(popup: _Popup, why: str) -> None:
        """The window is not recorded as an item after all: its record in the opener says why, and its
        WARC is closed and its folder removed (nothing of it is stored)."""
        record = popup.record
        record.action, record.capture_id, record.note = "closed", None, why
        if popup.state.warc is not None:
            with contextlib.suppress(OSError, ValueError):
                popup.state.warc.close()
        shutil.rmtree(popup.state.folder.root, ignore_errors=True)

    async def _assemble(self, popup: _Popup) -> CaptureResult | None:
        state, record = popup.state, popup.record
        if state.network is not None:
            state.network.abandon()
            if state.network.taken_over:
                state.reasons.add("popup-attached-late", LATE_NOTE.format(count=state.network.taken_over), NOTE)
        if state.events is not None:
            state.events.stop()
        state.sealed = True
        _media_not_fetched(state)
        if popup.closed_itself is not None:  # before this capture closes the window itself
            when = format_time(popup.closed_itself)
            state.reasons.add(
                "popup-closed-itself",
                f"the pop-up window closed itself at {when} (its own script), before its capture was wrapped up",
                NOTE,
            )
        try:
            async with asyncio.timeout(_CLOSE_S):
                await popup.session.close()
        except (TimeoutError, PlaywrightError):
            pass
        except asyncio.CancelledError:
            self._ctrl_c()
        if not is_web(state.requested_url):
            # Never showed a page from a server: there is no address to record an item under.
            self._drop(popup, state.error or "it showed no page from a server")
            return None
        assembling = asyncio.ensure_future(asyncio.to_thread(assemble, state))
        try:
            result = await asyncio.shield(assembling)
        except asyncio.CancelledError:
            result = await assembling
        record.final_url, record.status = result.final_url, result.status
        return result


def _media_not_fetched(state: CaptureState) -> None:
    """Say so when a pop-up's page names media: the opener's are fetched as the bytes the server sent
    (see ``media``), a pop-up's are not, and its record must not look as if it had none."""
    exchanges = state.network.exchanges if state.network is not None else []
    found, cut = find_media(state.media_elements or [], exchanges)
    if found:
        more = " or more" if cut else ""
        state.reasons.add("popup-media-not-fetched", MEDIA_NOT_FETCHED.format(count=len(found), more=more), NOTE)


def _note_closed(popup: _Popup) -> None:
    """The window closed: by its own script while it was captured, unless its capture is already sealed
    (then it is this capture closing it)."""
    if not popup.state.sealed and popup.closed_itself is None:
        popup.closed_itself = utc_now()
