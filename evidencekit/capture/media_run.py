"""The media of one capture, fetched on a worker thread after the page was captured: each file, playlist
and segment as its own artefact (role ``media``) and its own WARC resource record, a joined copy of an HLS
stream (``media-joined``, derived), a poster frame (``media-poster``, derived) and the duration where ffmpeg
can read the file, yt-dlp's info JSON (``media-info``, secrets removed) and subtitles (``media-subtitles``).
The metadata's ``media.items`` says what became of each URL.

The worker writes only into a scratch folder of its own beside the capture folder (``kept`` lists what it
kept there, ``reasons`` why the capture may be partial); it never touches the capture folder, its WARC or
its state. The loop side (``media.fetch_media``) registers those files, writes their WARC records and
records the reasons once it has joined the worker; a worker given up on has nothing registered."""

from __future__ import annotations

import contextlib
import gzip
import shutil
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from evidencekit.capture import media_probe
from evidencekit.capture.artefacts import ArtefactFolder
from evidencekit.capture.media_fetch import KEPT, STOPPED, TIMED_OUT, TOO_LARGE, Fetched, Fetcher
from evidencekit.capture.media_find import DASH, HLS, Found
from evidencekit.capture.media_streams import best_variant, read_manifest, read_playlist
from evidencekit.capture.media_text import info_json, type_of, without_paths
from evidencekit.capture.metadata import NOTE, PARTIAL
from evidencekit.timefmt import format_time

_PLAYLIST_LIMIT = 8 * 1024 * 1024  # a playlist is text: more than this is no playlist
_PROBE_S = 30.0
MAX_ENTRIES = 10  # entries of a site extractor's playlist result that are fetched


@dataclass(frozen=True)
class Kept:
    """A file the worker kept in its scratch folder, to be registered under ``name`` in the capture's."""

    name: str
    role: str
    media_type: str
    fetched: Fetched | None  # the fetch that brought it (original bytes: a WARC record), None if derived


@dataclass(frozen=True)
class Limits:
    requested_url: str
    max_bytes: int
    timeout_s: float


class MediaRun:
    def __init__(self, fetcher: Fetcher, stop: threading.Event, scratch: Path, limits: Limits) -> None:
        self.fetcher, self.stop, self.limits = fetcher, stop, limits
        self.folder = ArtefactFolder(scratch)  # the worker's own: never the capture's
        self.kept: list[Kept] = []
        self.reasons: list[tuple[str, str, str]] = []  # (code, text, effect), recorded by the loop side
        self.items: list[dict[str, Any]] = []
        self.covered: set[str] = set()  # URLs fetched already (a segment seen in the network log, say)
        self._stream_folders: list[str] = []

    def run(self, found: list[Found], extractor: bool) -> list[dict[str, Any]]:
        order = {HLS: 0, DASH: 1}
        for media in sorted(found, key=lambda media: order.get(media.kind, 2)):
            if self.stop.is_set():
                break
            if media.url in self.covered:
                continue
            self.fetcher.used = 0  # the size limit is per media file, or per stream with its segments
            if media.kind == HLS:
                self.items.append(self._stream(media))
            elif media.kind == DASH and not media.subtitles:
                self.items.append(self._dash(media))
            else:
                self.items.append(self._file(media))
        if extractor and not self.stop.is_set():
            self._extract(self.limits.requested_url)
        return self.items

    # -- one URL ---------------------------------------------------------------------------------------

    def _keep(
        self, url: str, folder: str, role: str = "media", headers: dict[str, str] | None = None
    ) -> tuple[Fetched, str | None]:
        """Fetch ``url`` and, if it came whole within the limits, keep it in the scratch folder."""
        path_part = PurePosixPath(urlsplit(url).path)
        name = self.folder.unique_name(folder, path_part.name or "media", "media", path_part.suffix)
        if name in self._stream_folders:  # a file named like a stream's folder (``.../index`` and ``index/``)
            name = self.folder.unique_name(folder, f"{path_part.stem or 'media'}-file", "media", path_part.suffix)
        scratch = self.folder.reserve(name, role, "application/octet-stream")
        fetched = self.fetcher.fetch(url, scratch, headers)
        self.covered.add(url)
        if fetched.final_url:
            self.covered.add(fetched.final_url)
        if fetched.outcome == KEPT and self.stop.is_set():
            fetched.outcome, fetched.error = STOPPED, "the capture was interrupted"
        if fetched.outcome != KEPT:
            self.folder.forget(name)
            return fetched, None
        media_type = fetched.media_type or type_of(path_part.name)
        self.kept.append(Kept(name, role, media_type, fetched))
        return fetched, name

    def _record(self, item: dict[str, Any], fetched: Fetched, name: str | None) -> None:
        item.update(
            outcome=fetched.outcome,
            error=fetched.error,
            artefact=name,
            media_type=fetched.media_type,
            bytes=fetched.size if name else None,
            http_status=fetched.status,
            fetched_at=format_time(fetched.fetched),
        )
        if fetched.final_url and fetched.final_url != fetched.url:
            item["final_url"] = fetched.final_url
        if fetched.redirects:
            item["redirects"] = fetched.redirects
        if fetched.content_encoding is not None:
            item["content_encoding"] = fetched.content_encoding
            item["note"] = (
                f"the server sent it {fetched.content_encoding}-encoded although identity was asked for: "
                "kept encoded, as sent"
            )
        if fetched.headers:
            item["response_headers"] = fetched.headers  # redacted when recorded (see media.commit)
        self._reason(item)

    def _reason(self, item: dict[str, Any]) -> None:
        outcome, url, error = item["outcome"], item["url"], item.get("error") or ""
        limit = self.limits.max_bytes
        if outcome == TOO_LARGE:
            text = f"{url} is larger than the media size limit ({limit} bytes): not kept; {error}"
            self.reasons.append(("media-too-large", text, PARTIAL))
        elif outcome == TIMED_OUT:
            seconds = self.limits.timeout_s
            text = f"{url} could not be fetched within the media time limit ({seconds:g} s): {error}"
            self.reasons.append(("media-timeout", text, PARTIAL))
        elif outcome == "blocked":
            text = f"{url} was not fetched: it {error}; --allow-private-network lets it through"
            self.reasons.append(("media-blocked", text, NOTE))
        elif outcome == "failed":
            # Media the page's own elements name are what the visitor was shown: not having them is partial.
            effect = PARTIAL if item.get("source") == "element" else NOTE
            self.reasons.append(("media-failed", f"{url} could not be fetched: {error}", effect))

    def _file(self, media: Found, source: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        kind = "subtitles" if media.subtitles else "file"
        item = unfetched_item(media, media.url, kind, source or media.source)
        role = "media-subtitles" if media.subtitles else "media"
        fetched, name = self._keep(media.url, "media", role, headers)
        self._record(item, fetched, name)
        if kind == "file" and name:
            self._describe(item, name)
        return item

    # -- HLS ---------------------------------------------------------------------------------------------

    def _stream(self, media: Found, source: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """An HLS playlist, the variant fetched and its renditions, and every segment, each as served."""
        item = unfetched_item(media, media.url, "hls", source or media.source)
        stem = PurePosixPath(urlsplit(media.url).path).stem or "stream"
        folder = self._stream_folder(stem)
        parts: list[dict[str, Any]] = []
        item.update(parts=parts, joined=[], variants_not_fetched=[])
        fetched, name = self._part(media.url, folder, "playlist", parts, headers)
        self._record(item, fetched, name)
        playlist = read_playlist(self._text(name), media.url) if name and fetched.outcome == KEPT else None
        if playlist is None:
            if name:
                item.update(outcome="failed", error="not an HLS playlist")
            return item
        media_playlists = [(media.url, playlist)]
        if playlist.master:
            best, others = best_variant(playlist)
            item["variants_not_fetched"] = others
            media_playlists = []
            for url in [u for u in [best, *playlist.renditions] if u]:
                fetched, name = self._part(url, folder, "playlist", parts, headers)
                child = read_playlist(self._text(name), url) if name and fetched.outcome == KEPT else None
                if not name:
                    return self._stopped(item, fetched)
                if child is not None:
                    media_playlists.append((url, child))
        for _url, child in media_playlists:
            names = []
            for part_url, role in child.parts:
                fetched, name = self._part(part_url, folder, role, parts, headers)
                if not name:
                    return self._stopped(item, fetched)
                if role != "key":
                    names.append(name)
            if names and not child.encrypted:
                self._join(item, folder, names)
            elif child.encrypted:
                item["note"] = "the segments are encrypted (EXT-X-KEY): kept as served, not joined"
        if not any(part["role"] == "segment" for part in parts):
            item["note"] = "no media segment was found in the playlist(s): only the playlists are kept"
        item["bytes"] = sum(part["bytes"] or 0 for part in parts)
        return item

    def _dash(self, media: Found, source: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """A DASH manifest, then the best video and audio representation it names, each part as served."""
        item = unfetched_item(media, media.url, "dash", source or media.source)
        stem = PurePosixPath(urlsplit(media.url).path).stem or "stream"
        folder = self._stream_folder(stem)
        parts: list[dict[str, Any]] = []
        item.update(parts=parts, joined=[])
        fetched, name = self._part(media.url, folder, "manifest", parts, headers)
        self._record(item, fetched, name)
        if not name or fetched.outcome != KEPT:
            return item
        tracks = read_manifest(self.fetcher.ydl, self._text(name), media.url)
        if not tracks:
            item["note"] = "the DASH manifest as served; yt-dlp found no representation in it to fetch"
        for track in tracks:
            names = []
            for index, url in enumerate(track.urls):
                role = "init" if index == 0 and len(track.urls) > 1 else "segment"
                fetched, name = self._part(url, folder, role, parts, headers)
                if not name:
                    return self._stopped(item, fetched)
                names.append(name)
            if len(names) > 1:
                self._join(item, folder, names)
            elif item["duration_ms"] is None:
                self._describe(item, names[0])
        item["bytes"] = sum(part["bytes"] or 0 for part in parts)
        return item

    def _part(
        self, url: str, folder: str, role: str, parts: list[dict[str, Any]], headers: dict[str, str] | None
    ) -> tuple[Fetched, str | None]:
        fetched, name = self._keep(url, folder, "media", headers)
        if role in ("playlist", "manifest") and name and (self.folder.root / name).stat().st_size > _PLAYLIST_LIMIT:
            fetched.outcome, fetched.error = "failed", "too large for a playlist"
        size = fetched.size if name else None
        parts.append({"url": url, "role": role, "artefact": name, "bytes": size, "outcome": fetched.outcome})
        return fetched, name

    def _stream_folder(self, stem: str) -> str:
        """A folder of its own for a stream's parts: no file or other stream's folder has that name."""
        names = [*self.folder.names(), *self._stream_folders]
        wanted, number = self.folder.unique_name("media", stem, "stream", ""), 2
        candidate = wanted
        while any(name == candidate or name.startswith(candidate + "/") for name in names):
            candidate, number = f"{wanted}-{number}", number + 1
        self._stream_folders.append(candidate)
        return candidate

    def _text(self, name: str) -> bytes:
        """A kept playlist or manifest to read (at most _PLAYLIST_LIMIT bytes), decoded if the server
        encoded it: what is kept stays as sent."""
        with (self.folder.root / name).open("rb") as handle:
            data = handle.read(_PLAYLIST_LIMIT + 1)
        with contextlib.suppress(OSError, EOFError, zlib.error):
            if data[:2] == b"\x1f\x8b":
                return gzip.decompress(data)[: _PLAYLIST_LIMIT + 1]
        return data

    def _stopped(self, item: dict[str, Any], fetched: Fetched) -> dict[str, Any]:
        item.update(outcome=fetched.outcome, error=f"{fetched.url}: {fetched.error}")
        item["bytes"] = sum(part["bytes"] or 0 for part in item["parts"])
        self._reason(item)
        return item

    def _join(self, item: dict[str, Any], folder: str, names: list[str]) -> None:
        """The initialisation section and segments one after the other: a playable copy, derived."""
        if self.stop.is_set():
            return
        suffix = PurePosixPath(names[-1]).suffix or ".ts"
        suffix = ".mp4" if suffix.lower() in (".m4s", ".m4v", ".cmfv") else suffix
        joined = self.folder.unique_name(folder, "joined", "joined", suffix)
        media_type = type_of(f"joined{suffix}")
        path = self.folder.reserve(joined, "media-joined", media_type)
        try:
            with path.open("wb") as out:
                for name in names:
                    with (self.folder.root / name).open("rb") as part:
                        shutil.copyfileobj(part, out)
        except OSError as exc:
            self.folder.forget(joined)
            item["note"] = f"no joined copy: {without_paths(str(exc), self.folder.root)}"
            return
        self.kept.append(Kept(joined, "media-joined", media_type, None))
        item["joined"].append(joined)
        if item["duration_ms"] is None:
            self._describe(item, joined)

    # -- duration, poster ----------------------------------------------------------------------------------

    def _describe(self, item: dict[str, Any], name: str) -> None:
        if self.stop.is_set():
            return
        path = self.folder.root / name
        timeout = max(5.0, min(_PROBE_S, self.fetcher.left() + 5.0))
        found = media_probe.probe(path, timeout)
        item["duration_ms"] = found.duration_ms
        item["streams"] = [kind for kind, present in (("video", found.video), ("audio", found.audio)) if present]
        if not found.readable:
            item["probe_error"] = without_paths(found.error or "", self.folder.root)
            return
        if found.video:
            poster = self.folder.unique_name("media", f"{PurePosixPath(name).stem}-poster", "poster", ".png")
            out = self.folder.reserve(poster, "media-poster", "image/png")
            error = media_probe.poster(path, out, timeout)
            if error is None:
                item["poster"] = poster
                self.kept.append(Kept(poster, "media-poster", "image/png", None))
            else:
                self.folder.forget(poster)
                item["probe_error"] = without_paths(error, self.folder.root)

    # -- site extractors (--media) -------------------------------------------------------------------------

    def _extract(self, url: str) -> None:
        import yt_dlp

        item = unfetched_item(None, url, "extractor", "extractor")
        try:
            info = self.fetcher.ydl.extract_info(url, download=False)
        except yt_dlp.utils.DownloadError as exc:
            text = " ".join(str(exc).split())
            if "Unsupported URL" in text or "No suitable extractor" in text:
                return  # no site extractor knows this page: what the page itself showed was fetched above
            item.update(outcome="failed", error=text[:300])
            self._reason(item)
            self.items.append(item)
            return
        if not isinstance(info, dict) or self.stop.is_set():
            return
        entries: list[dict[str, Any]] = []
        for entry in info.get("entries") or [info]:  # a lazy playlist: only the first MAX_ENTRIES are read
            if isinstance(entry, dict):
                entries.append(entry)
            if len(entries) >= MAX_ENTRIES or self.stop.is_set():
                break
        info_name = self.folder.unique_name("media", str(info.get("id") or "extracted"), "extracted", ".info.json")
        self.folder.write(info_name, "media-info", "application/json", info_json(self.fetcher.ydl, info))
        self.kept.append(Kept(info_name, "media-info", "application/json", None))
        item.update(
            outcome=KEPT,
            artefact=info_name,
            media_type="application/json",
            extractor=str(info.get("extractor_key") or ""),
        )
        self.items.append(item)
        for entry in entries:
            for chosen in entry.get("requested_formats") or [entry]:
                self._extracted_format(chosen)
            for language, tracks in (entry.get("subtitles") or {}).items():
                track = next((t for t in tracks if isinstance(t, dict) and t.get("url")), None)
                if track is not None and str(track["url"]) not in self.covered:
                    found = Found(str(track["url"]), "file", "extractor", f"subtitles:{language}", None, True)
                    self.items.append(self._file(found, "extractor", track.get("http_headers")))

    def _extracted_format(self, chosen: dict[str, Any]) -> None:
        url, protocol = str(chosen.get("url") or ""), str(chosen.get("protocol") or "")
        if not url or url in self.covered or self.stop.is_set():
            return
        headers = chosen.get("http_headers") if isinstance(chosen.get("http_headers"), dict) else None
        self.fetcher.used = 0
        if protocol in ("http", "https"):
            self.items.append(self._file(Found(url, "file", "extractor"), "extractor", headers))
        elif protocol.startswith("m3u8"):
            self.items.append(self._stream(Found(url, HLS, "extractor"), "extractor", headers))
        else:
            item = unfetched_item(None, url, "file", "extractor")
            item.update(error=f"yt-dlp names protocol {protocol!r}, which is not fetched as served bytes")
            self.items.append(item)


def unfetched_item(media: Found | None, url: str, kind: str, source: str, error: str | None = None) -> dict[str, Any]:
    """A media item of metadata.json before (or without) its fetch: every field present, nothing kept yet."""
    return {
        "url": url,
        "source": source,
        "element": media.element if media else None,
        "kind": kind,
        "outcome": "not-fetched",
        "error": error,
        "artefact": None,
        "media_type": None,
        "bytes": None,
        "http_status": None,
        "fetched_at": None,
        "duration_ms": None,
        "poster": None,
    }
