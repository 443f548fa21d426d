"""The parts of media capture that need no browser: sizes on the command line, playlists read, yt-dlp's
info JSON without secrets, and the fetcher's private-network rule and size limit against the fixture site."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import os
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from casekit import run_cli
from fixture_site import mediaroutes
from playwright.async_api import async_playwright

from evidencekit.capture import media_fetch
from evidencekit.capture.artefacts import ArtefactFolder
from evidencekit.capture.browser import find_browser
from evidencekit.capture.media import _proxy_url, plan_media
from evidencekit.capture.media_fetch import BLOCKED, KEPT, TOO_LARGE, Cookie, Fetcher
from evidencekit.capture.media_find import HLS, Found
from evidencekit.capture.media_run import Limits, MediaRun
from evidencekit.capture.media_streams import best_variant, read_playlist
from evidencekit.capture.media_text import without_secrets
from evidencekit.capture.options import CaptureOptions, parse_proxy, parse_size
from evidencekit.capture.state import CaptureState
from evidencekit.errors import UsageError

MASTER = b"""#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,AUDIO="aud"
low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2400000,RESOLUTION=1280x720,AUDIO="aud"
high/index.m3u8
"""
MEDIA = b"""#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MAP:URI="init.mp4"
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k1"
#EXTINF:2.0,
seg0.m4s
#EXTINF:2.0,
https://cdn.example/seg1.m4s
#EXT-X-ENDLIST
"""


@pytest.mark.parametrize(
    ("text", "size"), [("500MB", 500_000_000), ("2GB", 2_000_000_000), ("750KiB", 768_000), ("1000", 1000)]
)
def test_sizes_are_read_with_their_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "5XB", "-1MB", ""])
def test_a_bad_size_is_a_usage_error(text):
    with pytest.raises(UsageError, match="500MB"):
        parse_size(text)


def test_limits_out_of_range_are_refused():
    with pytest.raises(UsageError):
        CaptureOptions(media_max_bytes=0)
    with pytest.raises(UsageError):
        CaptureOptions(media_timeout_s=0.5)


def test_the_cli_refuses_a_bad_media_size_or_timeout_with_a_usage_error(tmp_path):
    for option, value in (("--media-max-size", "huge"), ("--media-timeout", "soon")):
        result = run_cli(["--case", str(tmp_path / "case"), "capture", option, value, "http://127.0.0.1:9/"])
        assert result.exit_code == 2, result.output
        last = result.stderr.strip().splitlines()[-1]
        assert "error" in last.lower() and value in last, result.stderr


def test_a_master_playlist_names_its_best_variant_and_renditions():
    playlist = read_playlist(MASTER, "http://site.example/live/master.m3u8")
    assert playlist is not None and playlist.master
    best, others = best_variant(playlist)
    assert best == "http://site.example/live/high/index.m3u8"
    assert others == ["http://site.example/live/low/index.m3u8"]
    assert playlist.renditions == ["http://site.example/live/audio/en.m3u8"]


def test_a_media_playlist_names_init_key_and_segments_in_order():
    playlist = read_playlist(MEDIA, "http://site.example/live/high/index.m3u8")
    assert playlist is not None and not playlist.master and playlist.encrypted
    assert playlist.parts == [
        ("http://site.example/live/high/init.mp4", "init"),
        ("https://keys.example/k1", "key"),
        ("http://site.example/live/high/seg0.m4s", "segment"),
        ("https://cdn.example/seg1.m4s", "segment"),
    ]
    assert read_playlist(b"<html>not a playlist</html>", "http://site.example/") is None


def test_info_json_loses_headers_and_cookies_at_every_depth():
    info = {
        "id": "x1",
        "http_headers": {"Cookie": "sid=SECRET"},
        "cookies": "sid=SECRET",
        "formats": [{"url": "https://cdn.example/v.mp4", "http_headers": {"Authorization": "Bearer SECRET"}}],
    }
    cleaned = without_secrets(info)
    assert "SECRET" not in repr(cleaned)
    assert cleaned["formats"] == [{"url": "https://cdn.example/v.mp4"}] and cleaned["id"] == "x1"


def _fetcher(*, check_private: bool, max_bytes: int = 10**9, cookies: list[Cookie] | None = None) -> Fetcher:
    return Fetcher(
        {"quiet": True, "proxy": "", "cachedir": False},
        cookies or [],
        max_bytes=max_bytes,
        deadline=time.monotonic() + 20,
        check_private=check_private,
        resolve_names=True,
        stop=threading.Event(),
    )


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    mediaroutes.serve(folder)
    return folder


def test_a_page_on_a_public_address_may_not_make_us_fetch_loopback(site, served, tmp_path):
    before = len(site.requests)
    fetched = _fetcher(check_private=True).fetch(site.url("/media/files/clip.mp4"), tmp_path / "out")
    assert fetched.outcome == BLOCKED and "127.0.0.1" in (fetched.error or "")
    assert len(site.requests) == before and not (tmp_path / "out").exists()


def test_the_fetcher_keeps_the_bytes_and_sends_the_cookies(site, served, tmp_path):
    mediaroutes.COOKIES_SEEN.clear()
    cookie = Cookie("sid", "CookieValue42", "127.0.0.1", "/", False, None)
    fetched = _fetcher(check_private=False, cookies=[cookie]).fetch(site.url("/media/files/clip.mp4"), tmp_path / "out")
    assert fetched.outcome == KEPT and fetched.status == 200
    assert (tmp_path / "out").read_bytes() == (served / "clip.mp4").read_bytes()
    assert mediaroutes.COOKIES_SEEN == ["sid=CookieValue42"]


def test_a_file_announced_over_the_limit_is_not_read(site, served, tmp_path):
    fetched = _fetcher(check_private=False, max_bytes=1000).fetch(site.url("/media/files/clip.mp4"), tmp_path / "out")
    assert fetched.outcome == TOO_LARGE and not Path(tmp_path / "out").exists()


class _ForwardingProxy(BaseHTTPRequestHandler):
    """A plain HTTP proxy: takes absolute-URI GETs and fetches them (only from 127.0.0.1), noting each."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        _ForwardingProxy.seen.append((self.path, self.headers.get("Proxy-Authorization", "")))
        assert self.path.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(self.path, timeout=10) as answer:
            body = answer.read()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_media_go_through_the_browsers_proxy_with_its_credentials(site, served, tmp_path):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingProxy)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        settings = parse_proxy(f"http://agent:pw%40x@127.0.0.1:{proxy.server_port}")
        url = site.url("/media/files/clip.mp4")
        fetcher = Fetcher(
            {"quiet": True, "proxy": _proxy_url(settings), "cachedir": False},
            [],
            max_bytes=10**9,
            deadline=time.monotonic() + 20,
            check_private=False,
            resolve_names=False,
            stop=threading.Event(),
        )
        fetched = fetcher.fetch(url, tmp_path / "out")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert fetched.outcome == KEPT and (tmp_path / "out").read_bytes() == (served / "clip.mp4").read_bytes()
    (path, authorization), *_ = _ForwardingProxy.seen
    # the credentials the browser is given (parse_proxy), as they are given to it
    credentials = f"{settings.username}:{settings.password}".encode()
    assert path == url and authorization == "Basic " + base64.b64encode(credentials).decode()


def test_a_gzip_encoded_answer_is_kept_as_the_encoded_bytes_sent_and_identity_was_asked(site, served, tmp_path):
    (served / "index.m3u8").write_bytes(MEDIA * 40)
    mediaroutes.ENCODINGS_ASKED.clear()
    fetched = _fetcher(check_private=False).fetch(site.url("/media/gzip/index.m3u8"), tmp_path / "out")
    on_the_wire = gzip.compress((served / "index.m3u8").read_bytes(), mtime=0)
    assert fetched.outcome == KEPT and mediaroutes.ENCODINGS_ASKED == ["identity"]
    assert hashlib.sha256((tmp_path / "out").read_bytes()).digest() == hashlib.sha256(on_the_wire).digest()
    assert fetched.size == len(on_the_wire) and fetched.content_encoding == "gzip"
    assert fetched.headers["content-encoding"] == "gzip" and fetched.headers["content-length"] == str(fetched.size)


def test_a_redirect_to_a_protected_address_is_refused_before_it_is_followed(site, served, tmp_path, monkeypatch):
    # 127.0.0.2 stands for a private address, the fixture site on 127.0.0.1 for a public one.
    monkeypatch.setattr(media_fetch, "protected", lambda address: address == "127.0.0.2")
    hidden = ThreadingHTTPServer(("127.0.0.2", 0), _ForwardingProxy)
    threading.Thread(target=hidden.serve_forever, daemon=True).start()
    _ForwardingProxy.seen.clear()
    try:
        inside = f"http://127.0.0.2:{hidden.server_port}/latest/meta-data"
        start = site.url("/media/redirect?" + urllib.parse.urlencode({"to": inside}))
        fetched = _fetcher(check_private=True).fetch(start, tmp_path / "out")
    finally:
        hidden.shutdown()
        hidden.server_close()
    assert fetched.outcome == BLOCKED and "127.0.0.2" in (fetched.error or ""), fetched
    assert _ForwardingProxy.seen == [] and not (tmp_path / "out").exists()
    assert fetched.redirects == [{"url": start, "status": 302, "location": inside}]


def test_a_redirect_is_followed_and_recorded_with_the_final_url(site, served, tmp_path):
    target = site.url("/media/files/clip.mp4")
    start = site.url("/media/redirect?" + urllib.parse.urlencode({"to": target}))
    fetched = _fetcher(check_private=False).fetch(start, tmp_path / "out")
    assert fetched.outcome == KEPT and fetched.final_url == target
    assert [hop["status"] for hop in fetched.redirects] == [302]


def test_two_streams_with_the_same_name_keep_their_parts_in_folders_of_their_own(site, served, tmp_path):
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg.ts\n#EXT-X-ENDLIST\n"
    for host in ("a", "b"):
        (served / host).mkdir()
        (served / host / "index.m3u8").write_bytes(playlist)
        (served / host / "seg.ts").write_bytes(host.encode() * 188)
    limits = Limits(site.url("/"), 10**9, 20.0)
    run = MediaRun(_fetcher(check_private=False), threading.Event(), tmp_path / "scratch", limits)
    items = run.run([Found(site.url(f"/media/files/{host}/index.m3u8"), HLS, "element") for host in ("a", "b")], False)
    assert [item["outcome"] for item in items] == ["kept", "kept"]
    folders = [{part["artefact"].rsplit("/", 1)[0] for part in item["parts"]} for item in items]
    assert len(folders[0]) == len(folders[1]) == 1 and folders[0] != folders[1]
    for item, host in zip(items, ("a", "b"), strict=True):
        segment = next(part for part in item["parts"] if part["role"] == "segment")
        assert (run.folder.root / segment["artefact"]).read_bytes() == host.encode() * 188
    assert {kept.role for kept in run.kept} == {"media", "media-joined"}


def test_ctrl_c_while_the_cookies_are_read_marks_the_capture_interrupted_and_keeps_the_page(tmp_path):
    async def scenario() -> tuple[CaptureState, Any]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=find_browser(None, os.environ).path)
            try:
                context = await browser.new_context()
                state = CaptureState(
                    capture_id="c1",
                    requested_url="http://127.0.0.1:9/ad.html",
                    options=CaptureOptions(),
                    browser=None,  # type: ignore[arg-type]  # plan_media does not use it
                    folder=ArtefactFolder(tmp_path / "capture"),
                    proxy=None,
                    storage_state=None,
                    salt=b"s" * 32,
                )
                state.arrived = True
                state.media_elements = [{"url": "http://127.0.0.1:9/v.mp4", "element": "video"}]
                planning = asyncio.create_task(plan_media(state, context))
                await asyncio.sleep(0)  # the task now waits for the browser's cookies
                planning.cancel()
                plan = await planning  # before: the CancelledError escaped, and the page was never assembled
            finally:
                await browser.close()
        return state, plan

    state, plan = asyncio.run(scenario())
    assert (
        state.interrupted and plan is not None and [media.url for media in plan.found] == ["http://127.0.0.1:9/v.mp4"]
    )


def test_a_connection_that_reached_a_protected_address_is_not_read(site, served, tmp_path, monkeypatch):
    # As if DNS had answered "public" when the URL was checked and loopback when the connection was made.
    fetcher = _fetcher(check_private=True)
    monkeypatch.setattr(media_fetch, "_addresses", lambda host, names: ["198.51.100.7"])
    fetched = fetcher.fetch(site.url("/media/files/clip.mp4"), tmp_path / "out")
    assert fetched.outcome == BLOCKED and fetched.error == "reached the protected address 127.0.0.1"
    assert not (tmp_path / "out").exists() and fetcher.blocked[-1]["address"] == "127.0.0.1"


class _Referers(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Referers.seen.append(self.headers.get("Referer", ""))
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"\x00\x00\x00\x18")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_media_requests_send_the_referer_a_browser_would(site, served, tmp_path):
    other = ThreadingHTTPServer(("127.0.0.2", 0), _Referers)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    page = site.url("/media/page/video.html?ref=ad-77")
    _Referers.seen.clear()
    mediaroutes.REFERERS_SEEN.clear()
    try:
        fetcher = Fetcher(
            {"quiet": True, "proxy": "", "cachedir": False, "http_headers": {"Referer": site.url("/")}},
            [],
            max_bytes=10**9,
            deadline=time.monotonic() + 20,
            check_private=False,
            resolve_names=True,
            stop=threading.Event(),
            page_url=page,
        )
        assert fetcher.fetch(site.url("/media/files/clip.mp4"), tmp_path / "a").outcome == KEPT
        assert fetcher.fetch(f"http://127.0.0.2:{other.server_port}/v.mp4", tmp_path / "b").outcome == KEPT
    finally:
        other.shutdown()
        other.server_close()
    assert [page] == mediaroutes.REFERERS_SEEN  # its own origin: the page's full URL
    assert _Referers.seen == [site.url("/")]  # another origin: only the page's origin
