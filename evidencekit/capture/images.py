"""Every image the page loaded, kept as its own artefact (once per distinct content) with its EXIF."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from evidencekit.capture.artefacts import ArtefactFolder
from evidencekit.capture.exchange import Exchange
from evidencekit.exif import media_type_of, read_exif
from evidencekit.photos.hashing import photo_facts

ROLE = "image"
_SUFFIX_OF_TYPE = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/avif": ".avif",
    "image/svg+xml": ".svg",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/x-icon": ".ico",
    "image/vnd.microsoft.icon": ".ico",
    "image/heic": ".heic",
}


class ImageKeeper:
    """With ``photo_hashes``, each kept image is hashed (``photo_facts``: width, height, PDQ) on a worker
    thread as soon as it is written, while the page is still being scrolled, waited for and shot, instead of
    all at the end: most of the cost then hides in time the capture spends waiting for the browser."""

    def __init__(self, folder: ArtefactFolder, *, photo_hashes: bool = True) -> None:
        self._folder = folder
        self._seen: dict[str, str] = {}  # sha256 of content -> artefact name
        self.images: list[dict[str, Any]] = []
        self._hashing = ThreadPoolExecutor(1, thread_name_prefix="photo-facts") if photo_hashes else None
        self._facts: dict[str, Future[dict[str, Any]]] = {}

    def wants(self, exchange: Exchange) -> bool:
        declared = (exchange.header("content-type") or "").split(";", 1)[0].strip().lower()
        return (
            exchange.origin_page == "page"
            and exchange.body is not None
            and len(exchange.body) > 0
            and 200 <= (exchange.status or 0) < 300
            and (exchange.resource_type == "image" or declared.startswith("image/"))
        )

    def keep(self, exchange: Exchange) -> None:
        """Write the image's bytes as an artefact (unless identical bytes are already kept)."""
        assert exchange.body is not None
        content_id = hashlib.sha256(exchange.body).hexdigest()
        entry: dict[str, Any] = {"url": exchange.url, "exchange": exchange.seq, "status": exchange.status}
        if content_id in self._seen:
            entry["artefact"] = self._seen[content_id]
            entry["duplicate"] = True
            self.images.append(entry)
            return
        declared = (exchange.header("content-type") or "").split(";", 1)[0].strip().lower()
        url_path = PurePosixPath(urlsplit(exchange.url).path)
        suffix = _SUFFIX_OF_TYPE.get(declared) or url_path.suffix.lower() or ".img"
        number = len(self._seen) + 1
        name = self._folder.unique_name("images", f"{number:03d}-{url_path.name}", f"{number:03d}-image", suffix)
        path = self._folder.write(name, ROLE, "application/octet-stream", exchange.body)
        sniffed = media_type_of(path)
        self._folder.set_media_type(name, sniffed if sniffed != "application/octet-stream" else declared or sniffed)
        self._seen[content_id] = name
        entry.update({"artefact": name, "duplicate": False, "media_type": sniffed, "size": len(exchange.body)})
        self.images.append(entry)
        if self._hashing is not None:
            with suppress(RuntimeError):  # already shut down: read_exif hashes it, if it still sees it
                self._facts[name] = self._hashing.submit(photo_facts, path)

    def mark_site(self, furniture_urls: Collection[str]) -> None:
        """Mark ``"site": true`` on each kept image every one of whose addresses (its own and its duplicates')
        was shown only in the site's furniture (the page script's ``furnitureImages``): a logo, a banner. An
        image loaded from CSS, a script or a frame is in neither list and is never marked: when it is not
        known where an image was shown, it stays a candidate for matching."""
        urls: dict[str, list[str]] = {}
        for entry in self.images:
            urls.setdefault(str(entry["artefact"]), []).append(str(entry["url"]))
        for entry in self.images:
            if entry.get("duplicate"):
                continue
            if all(url in furniture_urls for url in urls[str(entry["artefact"])]):
                entry["site"] = True

    def read_exif(self) -> None:
        """EXIF of each kept image, added to its entry, and with ``photo_hashes`` its ``photo_facts`` (width,
        height, PDQ hash, or ``pdq_error``): PDQ is cheap (~20 ms a photo); the crop-resistant hash and
        feature matching are not, and are left to ``links``/``similar``. Hostile files yield an error
        entry, not a crash."""
        hashing, self._hashing = self._hashing, None
        if hashing is not None:
            hashing.shutdown(wait=True)
        for entry in self.images:
            if entry.get("duplicate"):
                continue
            path = self._folder.root / entry["artefact"]
            entry["exif"] = read_exif(path)
            if hashing is not None:
                future = self._facts.get(entry["artefact"])
                entry.update(future.result() if future is not None else photo_facts(path))
