"""Everything one capture has gathered so far. The session fills it in; ``assemble`` turns it into files
and a CaptureResult, whether the session finished, failed, ran out of time or was interrupted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidencekit.capture.artefacts import ArtefactFolder
from evidencekit.capture.browser import RunningBrowser
from evidencekit.capture.documents import MainFrameDocuments, Shown
from evidencekit.capture.events import PageEvents
from evidencekit.capture.exchange import Exchange
from evidencekit.capture.images import ImageKeeper
from evidencekit.capture.metadata import Reasons
from evidencekit.capture.network import NetworkLog
from evidencekit.capture.options import CaptureOptions, ProxySettings
from evidencekit.capture.page import PageText, ScrollReport
from evidencekit.capture.private_network import PrivateNetworkGuard
from evidencekit.capture.profilesecrets import ProfileSecrets
from evidencekit.capture.redact import UrlCredentials
from evidencekit.capture.screenshot import FullPageShot
from evidencekit.capture.warc import WarcSink
from evidencekit.timefmt import utc_now

if TYPE_CHECKING:
    from evidencekit.capture.popups import PopupCaptures


@dataclass
class CaptureState:
    capture_id: str
    requested_url: str
    options: CaptureOptions
    browser: RunningBrowser
    folder: ArtefactFolder
    proxy: ProxySettings | None
    storage_state: dict[str, Any] | None
    salt: bytes
    url_credentials: UrlCredentials | None = None  # taken out of the URL; given to the browser, never recorded
    secrets: ProfileSecrets | None = None  # the profile's secret values, redacted by value (``profilesecrets``)
    started: datetime = field(default_factory=utc_now)
    ended: datetime | None = None
    reasons: Reasons = field(default_factory=Reasons)
    error: str | None = None
    arrived: bool = False
    load_fired: bool | None = None  # None: the capture never got as far as waiting for it
    settled: bool = True
    busy_urls: list[str] = field(default_factory=list)
    address_bar_url: str | None = None  # page.url when the page was read: the page can set it itself
    documents: MainFrameDocuments = field(default_factory=MainFrameDocuments)  # the main frame's navigations
    shown: Shown | None = None  # the document the page was read from (see documents.judge)
    indicators: list[dict[str, Any]] | None = None
    page_text: PageText | None = None  # title, frames, links; the indicators are found in it when assembled
    scroll: ScrollReport | None = None
    screenshot: FullPageShot | None = None
    beforeunload: bool | None = None
    browser_chain: list[str] = field(default_factory=list)
    tls: dict[str, Any] | None = None  # set when the browser refused the certificate
    network: NetworkLog | None = None
    events: PageEvents | None = None
    warc: WarcSink | None = None
    warc_error: str | None = None
    images: ImageKeeper | None = None
    private_network: PrivateNetworkGuard | None = None  # made as the tab opens
    interrupted: bool = False
    sealed: bool = False  # assembled: nothing more may be written
    cut_off: bool = False
    steps: list[tuple[str, datetime]] = field(default_factory=list)
    wall_view: dict[str, Any] | None = None  # what lay on top of the view when the page was read (see walls)
    consent: dict[str, Any] | None = None  # --consent: the mode, and what was clicked (see consent)
    media_elements: list[dict[str, Any]] | None = None  # what the page's media elements named (media_find)
    media: dict[str, Any] | None = None  # metadata.json ``media``, once media were fetched (media)
    popups: PopupCaptures | None = None  # the pop-up windows it captures as items of their own
    opened_by: dict[str, str] | None = None  # a pop-up's: its opener's capture_id and URL

    def __post_init__(self) -> None:
        self.images = ImageKeeper(self.folder, photo_hashes=self.options.photo_hashes)

    def step(self, name: str) -> None:
        """Note that the capture just did ``name`` (the metadata lists the steps with their times)."""
        self.steps.append((name, utc_now()))

    def exchange_done(self, exchange: Exchange) -> None:
        """Write a finished exchange out at once, then let go of its body (main documents excepted)."""
        if exchange.written or self.sealed:
            return
        exchange.written = True
        if self.warc is not None and self.warc_error is None:
            try:
                self.warc.write_exchange(exchange)
            except (OSError, ValueError) as exc:  # ValueError: the WARC was already closed
                self.warc_error = f"writing the WARC failed: {exc}"
        if self.images is not None and self.images.wants(exchange):
            try:
                self.images.keep(exchange)
            except OSError as exc:
                self.reasons.add("image-missing", f"an image could not be kept: {exc}")
        if not (exchange.navigation and exchange.main_frame):
            exchange.body = None

    def reserve_download(self, suggested: str) -> tuple[str, Path]:
        name = self.folder.unique_name("downloads", suggested, "download", Path(suggested).suffix)
        return name, self.folder.reserve(name, "download", "application/octet-stream")
