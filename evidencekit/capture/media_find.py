"""Finding the media of a captured page: what its ``<video>`` and ``<audio>`` elements name, and what its
network log shows (media responses, HLS and DASH playlists). Finding costs one script call in the capture's
own world and a pass over the exchanges already in memory: a page without media pays nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from evidencekit.capture import scripts
from evidencekit.capture.exchange import Exchange
from evidencekit.capture.world import OwnWorld

HLS_TYPES = frozenset({"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl"})
DASH_TYPES = frozenset({"application/dash+xml"})
# Media kinds: a file fetched whole, an HLS playlist (with its segments), a DASH manifest.
FILE, HLS, DASH = "file", "hls", "dash"
MAX_FOUND = 100  # a page listing more media than this is recorded as such; the rest are not fetched
_WEB = ("http://", "https://")

_ELEMENTS_SCRIPT = scripts.load("media-elements.js")  # called with MAX_FOUND


@dataclass(frozen=True)
class Found:
    """One media URL of the page. ``source``: "element" (named by the DOM) or "network" (seen in the log)."""

    url: str
    kind: str  # FILE, HLS or DASH
    source: str
    element: str | None = None  # "video", "video>source", "audio>track", "a"...
    media_type: str | None = None  # as the element or the response stated it
    subtitles: bool = False


# What a serialised DOM holds wherever _ELEMENTS_SCRIPT could find something (tag names are lower case).
_MEDIA_MARKS = ("<video", "<audio", ".m3u8", ".mpd", "mpegurl", "mpegURL", "MPEGURL", "dash+xml", ".M3U8", ".MPD")


def may_name_media(dom: str) -> bool:
    return any(mark in dom for mark in _MEDIA_MARKS)


async def element_media(world: OwnWorld, timeout_s: float) -> list[dict[str, Any]]:
    """What the page's media elements name, read in the capture's own world."""
    found = await world.run(_ELEMENTS_SCRIPT, MAX_FOUND, timeout_s)
    return [entry for entry in found or [] if isinstance(entry, dict)]


def kind_of(url: str, media_type: str | None) -> str:
    stated = (media_type or "").split(";", 1)[0].strip().lower()
    path = urlsplit(url).path.lower()
    if stated in HLS_TYPES or path.endswith(".m3u8"):
        return HLS
    if stated in DASH_TYPES or path.endswith(".mpd"):
        return DASH
    return FILE


def _is_media_response(exchange: Exchange) -> tuple[bool, str | None]:
    media_type = (exchange.header("content-type") or "").split(";", 1)[0].strip().lower() or None
    if not exchange.url.startswith(_WEB) or exchange.status is None or exchange.status >= 400:
        return False, media_type
    if exchange.resource_type == "media" or (media_type or "").startswith(("video/", "audio/")):
        return True, media_type
    return kind_of(exchange.url, media_type) != FILE, media_type


def made_in_page(elements: list[dict[str, Any]]) -> list[str]:
    """The elements that play a ``blob:`` (MediaSource) or ``data:`` stream the page made itself: no URL
    to fetch, so each is said out loud rather than silently skipped."""
    return [
        str(entry.get("element") or "a media element")
        for entry in elements
        if str(entry.get("url") or "").startswith(("blob:", "data:"))
    ]


def find_media(elements: list[dict[str, Any]], exchanges: list[Exchange]) -> tuple[list[Found], bool]:
    """Every media URL to fetch, the page's elements first, each URL once; and whether MAX_FOUND cut the list."""
    found: dict[str, Found] = {}
    for entry in elements:
        url = str(entry.get("url") or "").split("#", 1)[0]
        if not url.startswith(_WEB) or url in found:
            continue  # blob: and data: media were made in the page (the network log holds what fed them)
        subtitles = entry.get("kind") == "subtitles"
        stated = None if subtitles else entry.get("type")
        kind = FILE if subtitles else kind_of(url, stated if isinstance(stated, str) else None)
        found[url] = Found(url, kind, "element", str(entry.get("element") or ""), stated, subtitles)
    for exchange in exchanges:
        url = exchange.url.split("#", 1)[0]
        if url in found:
            continue
        media, media_type = _is_media_response(exchange)
        if media:
            found[url] = Found(url, kind_of(url, media_type), "network", None, media_type)
    listed = list(found.values())
    return listed[:MAX_FOUND], len(listed) > MAX_FOUND
