"""What a hostile page throws at the capture: dialogs (dismissed), pop-up windows (closed) and downloads
(kept inside the capture folder, or refused). Each is recorded for the metadata."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Dialog, Download, Page
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.exchange import DialogRecord, DownloadRecord, PopupRecord
from evidencekit.timefmt import utc_now

MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
_POPUP_LOOK_S = 2.0


class PageEvents:
    def __init__(
        self,
        page: Page,
        reserve_download: Callable[[str], tuple[str, Path]],
        forget_artefact: Callable[[str], None],
        on_download_started: Callable[[str], None],
    ) -> None:
        self.page = page
        self.dialogs: list[DialogRecord] = []
        self.popups: list[PopupRecord] = []
        self.downloads: list[DownloadRecord] = []
        self._reserve_download = reserve_download
        self._forget = forget_artefact
        self._on_download_started = on_download_started
        self._tasks: set[asyncio.Task[None]] = set()
        self._active_downloads: list[Download] = []
        self._download_seen = asyncio.Event()
        self._saving: dict[str, DownloadRecord] = {}  # artefact name -> its download, while being copied
        self._stopped = False
        # Offered each new window first: it returns the record of a pop-up it captures (see ``popups``),
        # or a record saying why it does not, or None: the window is then closed after a look, as without it.
        self.adopt: Callable[[Page], PopupRecord | None] | None = None

    def attach(self, context: BrowserContext | None) -> None:
        """Watch the page, and the windows opened in ``context`` (None: a pop-up's own capture, whose
        opener's capture watches the windows)."""
        self._watch(self.page)
        if context is not None:
            context.on("page", self._on_page)

    def _watch(self, page: Page) -> None:
        page.on("dialog", self._on_dialog)
        page.on("download", self._on_download)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_dialog(self, dialog: Dialog) -> None:
        # Leaving is the only way past a beforeunload prompt; every other dialog is dismissed (Cancel).
        leave = dialog.type == "beforeunload"
        if self._stopped:  # the capture is being assembled: answer the dialog, record nothing more
            self._spawn(dialog.accept() if leave else dialog.dismiss())
            return
        self.dialogs.append(
            DialogRecord(
                kind=dialog.type,
                message=dialog.message,
                default_value=dialog.default_value,
                url=dialog.page.url if dialog.page else "",
                time=utc_now(),
                action="accepted (left the page)" if leave else "dismissed",
            )
        )
        self._spawn(dialog.accept() if leave else dialog.dismiss())

    def _on_page(self, page: Page) -> None:
        if page is self.page or self._stopped:
            return
        offered = self.adopt(page) if self.adopt is not None else None
        if offered is not None and offered.action == "captured":
            self.popups.append(offered)
            return
        self._watch(page)
        record = offered or PopupRecord(opened_url=page.url, time=utc_now())
        self.popups.append(record)
        self._spawn(self._close_popup(page, record))

    async def _close_popup(self, page: Page, record: PopupRecord) -> None:
        # Give the pop-up a moment to reach its real address, so the record says where it went.
        with contextlib.suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(page.wait_for_load_state("domcontentloaded"), _POPUP_LOOK_S)
        if not self._stopped:
            record.final_url = page.url
        with contextlib.suppress(PlaywrightError):
            await page.close()

    def _on_download(self, download: Download) -> None:
        if self._stopped:
            return
        record = DownloadRecord(url=download.url, suggested_filename=download.suggested_filename, time=utc_now())
        self.downloads.append(record)
        self._active_downloads.append(download)
        self._download_seen.set()
        self._on_download_started(download.url)
        self._spawn(self._keep_download(download, record))

    async def _keep_download(self, download: Download, record: DownloadRecord) -> None:
        try:
            failure = await download.failure()
            if failure:
                record.outcome, record.failure = "failed", failure
                return
            temporary = await download.path()
            size = temporary.stat().st_size
            record.size = size
            if size > MAX_DOWNLOAD_BYTES:
                record.outcome = "refused"
                record.failure = f"larger than {MAX_DOWNLOAD_BYTES} bytes"
                return
            if self._stopped:
                return
            name, target = self._reserve_download(download.suggested_filename)
            self._saving[name] = record
            try:
                await download.save_as(target)
            except (PlaywrightError, OSError) as exc:
                if not self._stopped:
                    self._forget(name)
                    record.outcome, record.failure = "failed", f"could not keep it: {exc}"
                return
            finally:
                self._saving.pop(name, None)
            if not self._stopped:
                record.outcome, record.artefact = "saved", name
        except PlaywrightError as exc:
            if not self._stopped:
                record.outcome, record.failure = "failed", exc.message.splitlines()[0] if exc.message else "failed"
        finally:
            # The browser's own copy sits in the run's work folder; it goes as soon as ours exists.
            with contextlib.suppress(PlaywrightError):
                await download.delete()

    def stop(self) -> None:
        """The capture is over, also when it was cut short: from now on nothing touches its folder or its
        records (they are being assembled). A download still being copied is dropped, not half kept."""
        self._stopped = True
        for name, record in self._saving.items():
            self._forget(name)
            record.outcome, record.failure = "cancelled", "still being copied when the capture ended"
        self._saving.clear()
        for record in self.downloads:
            if record.outcome == "in-progress":
                record.outcome, record.failure = "cancelled", "not finished before the capture ended"
        for task in list(self._tasks):
            task.cancel()

    async def wait_for_a_download(self, timeout_s: float) -> bool:
        """The browser may say a download is starting before the download event has reached us."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._download_seen.wait(), timeout_s)
        return self._download_seen.is_set()

    async def finish(self, deadline: float) -> None:
        """Wait for downloads and pop-ups until ``deadline``; cancel what is still running then."""
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        for download, record in zip(self._active_downloads, self.downloads, strict=True):
            if record.outcome == "in-progress":
                record.outcome = "cancelled"
                record.failure = "not finished before the capture deadline"
                with contextlib.suppress(PlaywrightError):
                    await download.cancel()
        for task in list(self._tasks):
            task.cancel()
