"""Reading an HLS playlist or a DASH manifest as served: which playlists and segments it names. The playlist
is kept as its bytes; this only finds what else to fetch. A master playlist names variants (the one with the highest
bandwidth is fetched, the others are listed as not fetched) and renditions (alternative audio, subtitles:
all fetched); a media playlist names its segments, its initialisation section (EXT-X-MAP) and its keys
(EXT-X-KEY), each fetched and kept as served. A DASH manifest is read by yt-dlp's own reader: the best video
and the best audio representation are fetched, initialisation and segments, each as served."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin
from xml.etree import ElementTree

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass
class Playlist:
    variants: list[tuple[str, int]] = field(default_factory=list)  # (url, bandwidth) of a master playlist
    renditions: list[str] = field(default_factory=list)  # EXT-X-MEDIA playlists
    parts: list[tuple[str, str]] = field(default_factory=list)  # (url, "segment" | "init" | "key"), in order
    encrypted: bool = False

    @property
    def master(self) -> bool:
        return bool(self.variants)


def _attributes(line: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in _ATTRIBUTE.findall(line.partition(":")[2])}


def read_playlist(data: bytes, base: str) -> Playlist | None:
    """The playlist ``data`` (served at ``base``), or None if it is not an HLS playlist."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    if not text.lstrip().startswith("#EXTM3U"):
        return None
    playlist = Playlist()
    bandwidth: int | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-STREAM-INF"):
            value = _attributes(line).get("BANDWIDTH", "0")
            bandwidth = int(value) if value.isdigit() else 0
        elif line.startswith("#EXT-X-MEDIA:") and "URI" in _attributes(line):
            playlist.renditions.append(urljoin(base, _attributes(line)["URI"]))
        elif line.startswith("#EXT-X-MAP") and "URI" in _attributes(line):
            playlist.parts.append((urljoin(base, _attributes(line)["URI"]), "init"))
        elif line.startswith("#EXT-X-KEY"):
            attributes = _attributes(line)
            if attributes.get("METHOD", "NONE") != "NONE":
                playlist.encrypted = True
                if "URI" in attributes and not attributes["URI"].startswith(("data:", "skd:")):
                    playlist.parts.append((urljoin(base, attributes["URI"]), "key"))
        elif not line.startswith("#"):
            if bandwidth is not None:
                playlist.variants.append((urljoin(base, line), bandwidth))
                bandwidth = None
            else:
                playlist.parts.append((urljoin(base, line), "segment"))
    playlist.parts = list(dict.fromkeys(playlist.parts))  # a key or init section named again is fetched once
    return playlist


def best_variant(playlist: Playlist) -> tuple[str | None, list[str]]:
    """The variant to fetch (highest bandwidth) and those left out."""
    if not playlist.variants:
        return None, []
    ranked = sorted(playlist.variants, key=lambda variant: -variant[1])
    return ranked[0][0], [url for url, _ in ranked[1:]]


@dataclass
class DashTrack:
    """One representation of a DASH manifest, as yt-dlp's manifest reader found it: its media URLs in
    order (initialisation first), or the one URL of an unfragmented file."""

    urls: list[str]
    video: bool
    bandwidth: float


def read_manifest(ydl: Any, data: bytes, url: str) -> list[DashTrack]:
    """The best video and the best audio representation of the manifest ``data`` served at ``url``, read by
    yt-dlp's own DASH reader (from the kept bytes: the manifest is not fetched again). Empty if it cannot."""
    from yt_dlp.extractor.common import InfoExtractor  # imported only when media are fetched

    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        return []  # no manifest needs a document type; entity declarations are how XML bombs are made
    try:
        document = ElementTree.fromstring(data)  # noqa: S314 - no DOCTYPE or ENTITY (above): nothing to expand
        formats = InfoExtractor(ydl)._parse_mpd_formats(
            document, mpd_base_url=url.rpartition("/")[0] + "/", mpd_url=url
        )
    except Exception:  # a manifest yt-dlp cannot read: the manifest is kept, nothing more
        return []
    tracks = []
    for found in formats:
        base = str(found.get("fragment_base_url") or found.get("url") or url)
        fragments = found.get("fragments")
        urls = (
            [str(f.get("url") or urljoin(base, str(f.get("path") or ""))) for f in fragments]
            if fragments
            else [str(found.get("url") or "")]
        )
        video = found.get("vcodec") not in (None, "none")
        tracks.append(DashTrack([u for u in urls if u], video, float(found.get("tbr") or 0)))
    best = []
    for want_video in (True, False):
        candidates = [t for t in tracks if t.video == want_video and t.urls]
        if candidates:
            best.append(max(candidates, key=lambda track: track.bandwidth))
    return best
