"""Video and audio kept as the bytes the server sent: one batch of fixture pages (an MP4 ``<video>``, a
``<source>`` list with a track, an HLS playlist, an ``<audio>``, a file over --media-max-size, a stalled
response), captured through the CLI, then exported and checked with warcio, wacz and the report."""

from __future__ import annotations

import gzip
import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest
import yt_dlp
from casekit import make_case, run_cli, start_subprocess
from fixture_site import mediaroutes
from warcio.archiveiterator import ArchiveIterator
from yt_dlp.extractor.common import InfoExtractor

from evidencekit.capture.options import GRACE_S

BIN = Path(sys.executable).parent
PAGES = [
    "video",
    "sources",
    "hls",
    "dash",
    "audio",
    "big",
    "stall",
    "site",
    "gzip",
    "trickle",
    "once",
    "slowsite",
    "blob",
]
MEDIA_TIMEOUT_S = 6
MAX_SIZE = 2_000_000
BIG_SIZE = 3_000_000
COOKIE_SECRET = "MediaCookieSECRET5521"
EXTRACTOR_SECRET = "ExtractorTokenSECRET8830"


class FixtureSiteIE(InfoExtractor):
    """A site extractor for the fixture site's /media/page/site.html, as yt-dlp's own are for real sites
    (none of which can run offline): it names a video, subtitles and a header its player would send."""

    IE_NAME = "fixturesite"
    _VALID_URL = r"http://127\.0\.0\.1:\d+/media/page/site\.html"

    def _real_extract(self, url: str) -> dict[str, Any]:
        base = url.split("/media/", 1)[0]
        # A careless extractor echoes the session cookie it was given into its info (a tripwire test).
        session = self._get_cookies(url).get("mediasession")
        return {
            "id": "ad-77",
            "title": "Interview video",
            "description": f"session {session.value if session else ''}",
            "http_headers": {"X-Player-Token": EXTRACTOR_SECRET},
            "formats": [
                {
                    "url": f"{base}/media/files/alt.mp4",
                    "ext": "mp4",
                    "format_id": "mp4-160",
                    "http_headers": {"X-Player-Token": EXTRACTOR_SECRET},
                },
            ],
            "subtitles": {"en": [{"url": f"{base}/media/files/subs.vtt", "ext": "vtt"}]},
        }


class SlowFixtureSiteIE(InfoExtractor):
    """A site extractor that works far longer than the media time limit and its grace period (walking a
    big playlist, say) and pays no heed to a stop: the fetch is given up on."""

    IE_NAME = "slowfixturesite"
    _VALID_URL = r"http://127\.0\.0\.1:\d+/media/page/slowsite\.html"
    SLEEP_S = MEDIA_TIMEOUT_S + 2 * GRACE_S + 6

    def _real_extract(self, url: str) -> dict[str, Any]:
        time.sleep(self.SLEEP_S)
        base = url.split("/media/", 1)[0]
        return {"id": "ad-78", "title": "Slow", "formats": [{"url": f"{base}/media/files/alt.mp4", "ext": "mp4"}]}


class YoutubeDLWithFixtureSite(yt_dlp.YoutubeDL):  # type: ignore[misc]
    def __init__(self, params: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(params, *args, **kwargs)
        self.add_info_extractor(FixtureSiteIE(self))
        self.add_info_extractor(SlowFixtureSiteIE(self))


def _ffmpeg(*arguments: str) -> None:
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def make_media(folder: Path) -> Path:
    """Every file the media pages name, generated now with the wheel's ffmpeg."""
    folder.mkdir(parents=True)
    pattern = ["-f", "lavfi", "-i", "testsrc=duration=2:size=160x120:rate=10"]
    _ffmpeg(*pattern, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(folder / "clip.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=duration=1:size=160x120:rate=10", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(folder / "alt.mp4"))  # fmt: skip
    _ffmpeg(*pattern, "-c:v", "libvpx", "-b:v", "200k", str(folder / "clip.webm"))
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "libmp3lame", str(folder / "tone.mp3"))
    hls = folder / "hls"
    hls.mkdir()
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc=duration=3:size=160x120:rate=10", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        "-g", "10", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-master_pl_name", "master.m3u8",
        "-hls_segment_filename", str(hls / "seg%d.ts"), str(hls / "playlist.m3u8"),
    )  # fmt: skip
    dash = folder / "dash"
    dash.mkdir()
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc=duration=3:size=160x120:rate=10", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        "-g", "10", "-f", "dash", "-seg_duration", "1", "-use_template", "1", "-use_timeline", "1",
        str(dash / "manifest.mpd"),
    )  # fmt: skip
    (folder / "subs.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.500\nNanny wanted, visa paid\n")
    # Over the size limit: its bytes need not be a video, they are never kept.
    (folder / "big.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(BIG_SIZE))
    return folder


@pytest.fixture(scope="module")
def captured(tmp_path_factory, site):
    folder = tmp_path_factory.mktemp("media")
    files = make_media(folder / "files")
    mediaroutes.serve(files)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        mp.setattr(yt_dlp, "YoutubeDL", YoutubeDLWithFixtureSite)  # the CLI runs in this process
        case = make_case(folder / "case")
        state = folder / "state.json"
        cookie = {"name": "mediasession", "value": COOKIE_SECRET, "domain": "127.0.0.1", "path": "/", "expires": -1,
                  "httpOnly": False, "secure": False, "sameSite": "Lax"}  # fmt: skip
        state.write_text(json.dumps({"cookies": [cookie], "origins": []}))
        mediaroutes.COOKIES_SEEN.clear()
        urls = [site.url(f"/media/page/{name}.html") for name in PAGES]
        result = run_cli(
            ["--case", str(case), "capture", "--json", "--concurrency", "3", "--timeout", "20s",
             "--media-max-size", "2MB", "--media-timeout", f"{MEDIA_TIMEOUT_S}s", "--media", "--storage-state", str(state), *urls]
        )  # fmt: skip
        assert result.exit_code in (0, 1), result.stderr
        bundle = folder / "bundle.zip"
        exported = run_cli(["--case", str(case), "export", str(bundle), "--all", "--recipient", "Prosecutor"])
        assert exported.exit_code == 0, exported.stderr
    unpacked = folder / "unpacked"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(unpacked)
    (root,) = list(unpacked.iterdir())
    items = {name: root / f"data/items/capture-{i:04d}" for i, name in enumerate(PAGES, 1)}
    seen = list(mediaroutes.COOKIES_SEEN)
    return {"files": files, "root": root, "items": items, "bundle": bundle, "case": case, "cookies_seen": seen}


def metadata(captured: dict[str, Any], page: str) -> dict[str, Any]:
    return json.loads((captured["items"][page] / "metadata.json").read_text(encoding="utf-8"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def media_item(meta: dict[str, Any], ending: str) -> dict[str, Any]:
    return next(item for item in meta["media"]["items"] if item["url"].endswith(ending))


def resources(warc: Path) -> dict[str, bytes]:
    found = {}
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "resource":
                found[record.rec_headers.get_header("WARC-Target-URI")] = record.content_stream().read()
    return found


@pytest.mark.parametrize(
    ("page", "files"),
    [("video", ["clip.mp4"]), ("sources", ["clip.webm", "alt.mp4"]), ("audio", ["tone.mp3"])],
)
def test_media_files_are_kept_as_served_with_duration_and_poster(captured, page, files):
    meta = metadata(captured, page)
    assert meta["status"] == "complete", meta["reasons"]
    assert meta["media"]["tool"]["name"] == "yt-dlp" and meta["media"]["tool"]["version"]
    artefacts = {a["name"]: a for a in meta["artefacts"]}
    records = resources(captured["items"][page] / "capture.warc.gz")
    for name in files:
        item = media_item(meta, f"/media/files/{name}")
        served = captured["files"] / name
        assert item["outcome"] == "kept" and item["source"] == "element"
        kept = captured["items"][page] / item["artefact"]
        assert digest(kept) == digest(served) and item["bytes"] == served.stat().st_size
        assert artefacts[item["artefact"]]["role"] == "media"
        assert records[item["url"]] == served.read_bytes()  # the WARC resource record holds the same bytes
        assert (
            item["duration_ms"] is not None and abs(item["duration_ms"] - (1000 if name == "alt.mp4" else 2000)) < 150
        )
        if name.endswith(".mp3"):
            assert item["poster"] is None and item["streams"] == ["audio"]
        else:
            poster = captured["items"][page] / item["poster"]
            assert poster.read_bytes().startswith(b"\x89PNG") and artefacts[item["poster"]]["role"] == "media-poster"


def test_track_subtitles_are_kept(captured):
    meta = metadata(captured, "sources")
    item = media_item(meta, "/media/files/subs.vtt")
    assert item["kind"] == "subtitles" and item["outcome"] == "kept"
    assert (captured["items"]["sources"] / item["artefact"]).read_bytes() == (
        captured["files"] / "subs.vtt"
    ).read_bytes()
    assert {a["name"]: a["role"] for a in meta["artefacts"]}[item["artefact"]] == "media-subtitles"


def test_hls_playlist_and_each_segment_as_served_and_a_joined_copy_marked_derived(captured):
    meta = metadata(captured, "hls")
    assert meta["status"] == "complete", meta["reasons"]
    item = media_item(meta, "/media/files/hls/master.m3u8")  # a master playlist, naming one variant
    assert item["kind"] == "hls" and item["outcome"] == "kept" and item["variants_not_fetched"] == []
    records = resources(captured["items"]["hls"] / "capture.warc.gz")
    hls = captured["files"] / "hls"
    segments = sorted(hls.glob("seg*.ts"))
    assert len(segments) >= 3
    parts = {Path(part["url"]).name: part for part in item["parts"]}
    assert set(parts) == {"master.m3u8", "playlist.m3u8", *(s.name for s in segments)}
    assert [parts[name]["role"] for name in ("master.m3u8", "playlist.m3u8", "seg0.ts")] == ["playlist"] * 2 + [
        "segment"
    ]
    for name, part in parts.items():
        served = (hls / name).read_bytes()
        assert (captured["items"]["hls"] / part["artefact"]).read_bytes() == served
        assert records[part["url"]] == served
    roles = {a["name"]: a["role"] for a in meta["artefacts"]}
    (joined,) = item["joined"]
    assert roles[joined] == "media-joined"
    assert (captured["items"]["hls"] / joined).read_bytes() == b"".join(
        (hls / f"seg{i}.ts").read_bytes() for i in range(len(segments))
    )
    assert abs(item["duration_ms"] - 3000) < 300 and roles[item["poster"]] == "media-poster"


def test_dash_manifest_and_each_segment_as_served(captured):
    meta = metadata(captured, "dash")
    assert meta["status"] == "complete", meta["reasons"]
    item = media_item(meta, "/media/files/dash/manifest.mpd")
    assert item["kind"] == "dash" and item["outcome"] == "kept", item
    dash = captured["files"] / "dash"
    served = {p.name for p in dash.iterdir()}
    parts = {Path(part["url"]).name: part for part in item["parts"]}
    assert set(parts) == served, (sorted(parts), sorted(served))
    records = resources(captured["items"]["dash"] / "capture.warc.gz")
    for name, part in parts.items():
        assert (captured["items"]["dash"] / part["artefact"]).read_bytes() == (dash / name).read_bytes()
        assert records[part["url"]] == (dash / name).read_bytes()
    assert parts["manifest.mpd"]["role"] == "manifest" and sum(p["role"] == "init" for p in parts.values()) == 1
    assert abs(item["duration_ms"] - 3000) < 300 and item["poster"]


def test_with_media_a_site_extractor_finds_what_the_page_does_not_name(captured):
    meta = metadata(captured, "site")
    assert meta["status"] == "complete", meta["reasons"]
    items = meta["media"]["items"]
    info = next(item for item in items if item["kind"] == "extractor")
    assert info["extractor"] == "FixtureSite" and info["source"] == "extractor"
    roles = {a["name"]: a["role"] for a in meta["artefacts"]}
    assert roles[info["artefact"]] == "media-info"
    info_json = json.loads((captured["items"]["site"] / info["artefact"]).read_text(encoding="utf-8"))
    assert info_json["id"] == "ad-77" and "http_headers" not in json.dumps(info_json)
    # the session cookie the extractor echoed into its info is there only as its keyed digest
    assert info_json["description"].startswith("session [redacted by evidencekit, hmac-sha256:")
    video = media_item(meta, "/media/files/alt.mp4")
    assert video["source"] == "extractor" and video["outcome"] == "kept" and roles[video["artefact"]] == "media"
    assert digest(captured["items"]["site"] / video["artefact"]) == digest(captured["files"] / "alt.mp4")
    subtitles = media_item(meta, "/media/files/subs.vtt")
    assert subtitles["kind"] == "subtitles" and roles[subtitles["artefact"]] == "media-subtitles"
    # the header the extractor named went with the request, and is nowhere in the evidence
    assert EXTRACTOR_SECRET.encode() not in _every_byte(captured["items"]["site"])


def test_a_file_over_the_size_limit_is_not_kept_and_makes_the_capture_partial(captured):
    meta = metadata(captured, "big")
    assert meta["status"] == "partial"
    assert any(r["code"] == "media-too-large" for r in meta["reasons"]), meta["reasons"]
    item = media_item(meta, "/media/files/big.mp4")
    assert item["outcome"] == "too-large" and item["artefact"] is None
    assert not any(a["role"] == "media" for a in meta["artefacts"])
    assert meta["media"]["limits"]["max_bytes"] == MAX_SIZE


def test_a_stalled_media_response_ends_partial_within_the_media_timeout(captured):
    meta = metadata(captured, "stall")
    assert meta["status"] == "partial"
    assert any(r["code"] == "media-timeout" for r in meta["reasons"]), meta["reasons"]
    steps = {s["step"]: s["offset_ms"] for s in meta["times"]["steps"]}
    took = steps["media-fetched"] - steps["media-fetch"]
    assert MEDIA_TIMEOUT_S * 1000 - 500 <= took <= MEDIA_TIMEOUT_S * 1000 + 4000
    assert media_item(meta, "/media/stall.mp4")["outcome"] == "timed-out"


def test_warcio_check_and_wacz_validate_pass(captured):
    root = captured["root"]
    for name in PAGES:
        warc = captured["items"][name] / "capture.warc.gz"
        proc = subprocess.run([str(BIN / "warcio"), "check", "-v", str(warc)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for wacz in sorted(root.glob("data/items/*/capture.wacz")):
        proc = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True)
        assert proc.returncode == 0 and "valid" in proc.stdout, proc.stdout + proc.stderr
    with zipfile.ZipFile(captured["items"]["video"] / "capture.wacz") as wacz:
        index = "".join(
            wacz.read(name).decode("utf-8", "replace") for name in wacz.namelist() if name.startswith("indexes/")
        )
    assert "/media/files/clip.mp4" in index


def test_the_report_shows_each_media_with_duration_and_poster(captured):
    html = (captured["root"] / "data/report/index.html").read_text(encoding="utf-8")
    assert "Video and audio" in html
    for name in ("clip.mp4", "clip.webm", "alt.mp4", "tone.mp3", "master.m3u8", "manifest.mpd"):
        assert name in html
    assert "2.0 s" in html and "3.0 s" in html
    assert "original bytes as the server sent them" in html and "derived" in html
    assert 'class="poster"' in html and "a frame drawn by ffmpeg" in html
    assert "not kept: larger than the media size limit" in html


def test_the_media_settings_and_yt_dlp_options_are_recorded(captured):
    meta = metadata(captured, "video")
    assert meta["settings"]["media"] == {
        "extractors": True,
        "max_bytes": MAX_SIZE,
        "timeout_ms": MEDIA_TIMEOUT_S * 1000,
    }
    # --media asked yt-dlp's site extractors too: none knows the fixture site, which is no failure
    assert meta["media"]["extractors"] is True and not any(r["code"] == "media-failed" for r in meta["reasons"])
    options = meta["media"]["tool"]["options"]
    assert options["proxy"] is None and options["postprocessors"] == []
    (cookie,) = options["cookies"]
    assert cookie["name"] == "mediasession" and cookie["value"].startswith("[redacted by evidencekit, hmac-sha256:")


def _every_byte(folder: Path) -> bytes:
    """Every file under ``folder``, and the members of every zip in it, unpacked."""
    chunks = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        chunks.append(path.read_bytes())
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                chunks.extend(zf.read(name) for name in zf.namelist())
    return b"".join(chunks)


def test_media_fetches_carry_the_browser_cookies_which_appear_nowhere_in_the_evidence(captured):
    # yt-dlp sent the storage state's cookie with the media requests, as the browser would have...
    assert any(f"mediasession={COOKIE_SECRET}" in header for header in captured["cookies_seen"])
    # ...and neither the case nor the bundle holds its value (gzip members of the WARC included).
    for folder in (captured["case"], captured["root"].parent):
        data = _every_byte(folder)
        assert COOKIE_SECRET.encode() not in data and EXTRACTOR_SECRET.encode() not in data
    warcs = [*captured["case"].rglob("*.warc.gz"), *captured["root"].rglob("*.warc.gz")]
    assert warcs
    for warc in warcs:
        assert COOKIE_SECRET.encode() not in gzip.decompress(warc.read_bytes())


def _entries(case: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


def test_ctrl_c_during_a_stalled_media_fetch_ends_the_run_without_waiting_for_it(tmp_path, site, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    case = make_case(tmp_path / "case")
    before = len(site.requests)
    proc = start_subprocess(
        ["--case", str(case), "capture", "--media-timeout", "90s", site.url("/media/page/stall.html")]
    )
    deadline = time.monotonic() + 90
    while ("GET", "/media/stall.mp4") not in site.requests.snapshot()[before:]:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("the media fetch never started")
        time.sleep(0.1)
    time.sleep(0.5)
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    # The grace period (10 s) bounds the wait for the stalled read; the run does not wait out the 90 s.
    assert time.monotonic() - interrupted < 30
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    (done,) = [e for e in _entries(case) if e["action"] == "capture.completed"]
    assert done["details"]["status"] == "partial"
    assert any("interrupted" in str(reason) for reason in done["details"]["reasons"]), done["details"]["reasons"]
    # Ctrl-C, not the media time limit (90 s, far off), ended the fetch: no false "media-timeout"
    assert not any("media-timeout" in str(reason) for reason in done["details"]["reasons"]), done["details"]


def test_a_gzip_encoded_playlist_is_kept_as_sent_and_a_redirected_file_under_the_url_that_sent_it(captured):
    meta = metadata(captured, "gzip")
    folder = captured["items"]["gzip"]
    stream = media_item(meta, "/media/gzip/hls/master.m3u8")
    on_the_wire = gzip.compress((captured["files"] / "hls/master.m3u8").read_bytes(), mtime=0)
    assert stream["outcome"] == "kept" and stream["content_encoding"] == "gzip", stream
    assert digest(folder / stream["artefact"]) == hashlib.sha256(on_the_wire).hexdigest()
    assert stream["response_headers"]["content-encoding"] == "gzip"
    # read decoded to find the variant and its segments, each kept as sent (gzip-encoded too)
    segments = [part for part in stream["parts"] if part["role"] == "segment"]
    assert segments and all(part["outcome"] == "kept" for part in segments)
    served = (captured["files"] / "hls" / segments[0]["url"].rsplit("/hls/", 1)[1]).read_bytes()
    assert (folder / segments[0]["artefact"]).read_bytes() == gzip.compress(served, mtime=0)
    redirected = next(item for item in meta["media"]["items"] if "/media/redirect" in item["url"])
    assert redirected["outcome"] == "kept" and redirected["final_url"].endswith("/media/files/tone.mp3")
    assert [hop["status"] for hop in redirected["redirects"]] == [302]
    records = resources(folder / "capture.warc.gz")
    assert records[redirected["final_url"]] == (captured["files"] / "tone.mp3").read_bytes()
    assert redirected["url"] not in records  # no 200 is claimed for the URL that answered 302
    with (folder / "capture.warc.gz").open("rb") as warc:
        about = [
            r.content_stream().read().decode()
            for r in ArchiveIterator(warc)
            if r.rec_type == "metadata" and r.rec_headers.get_header("WARC-Target-URI") == redirected["final_url"]
        ]
    assert len(about) == 1 and f"asked-url: {redirected['url']}" in about[0] and "http-status: 200" in about[0]
    assert "redirect: 302" in about[0] and "http-header: content-type: audio/mpeg" in about[0]


def test_a_trickling_media_response_ends_at_the_media_time_limit(captured):
    meta = metadata(captured, "trickle")
    assert meta["status"] == "partial"
    assert any(r["code"] == "media-timeout" for r in meta["reasons"]), meta["reasons"]
    item = media_item(meta, "/media/trickle.mp4")
    assert item["outcome"] == "timed-out" and item["artefact"] is None and "given_up" not in meta["media"]
    steps = {s["step"]: s["offset_ms"] for s in meta["times"]["steps"]}
    assert steps["media-fetched"] - steps["media-fetch"] <= MEDIA_TIMEOUT_S * 1000 + 3000


def test_a_media_fetch_given_up_on_registers_nothing_and_the_media_block_says_so(captured):
    meta = metadata(captured, "slowsite")
    assert meta["status"] == "partial"
    assert any(r["code"] == "media-timeout" for r in meta["reasons"]), meta["reasons"]
    assert "did not end within" in meta["media"]["given_up"]["why"]
    assert meta["media"]["tool"]["name"] == "yt-dlp" and meta["media"]["items"] == []
    assert not any(a["role"].startswith("media") for a in meta["artefacts"])
    steps = {s["step"]: s["offset_ms"] for s in meta["times"]["steps"]}
    assert steps["media-fetched"] - steps["media-fetch"] <= (MEDIA_TIMEOUT_S + 2 * GRACE_S) * 1000 + 2000


def test_a_one_time_url_not_kept_by_the_second_fetch_points_to_the_browsers_copy_and_makes_it_partial(captured):
    meta = metadata(captured, "once")
    item = media_item(meta, "/media/once/clip.mp4")
    assert item["outcome"] == "failed" and item["http_status"] == 410 and item["artefact"] is None
    # the page's own element named it: without it the capture is partial
    assert meta["status"] == "partial" and any(r["code"] == "media-failed" for r in meta["reasons"])
    assert "HTTP 200" in item["in_warc"], item
    html = (captured["root"] / "data/report/index.html").read_text(encoding="utf-8")
    assert "the browser&#x27;s own response to this URL" in html or "the browser's own response" in html


def test_ctrl_c_while_the_pop_ups_are_wrapped_up_skips_the_media_fetch_and_says_so(tmp_path, site, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    case = make_case(tmp_path / "case")
    before = len(site.requests)
    proc = start_subprocess(
        ["--case", str(case), "capture", "--timeout", "20s", "--media-timeout", "90s",
         site.url("/media/page/popupvideo.html")]
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while ("GET", "/popups16/hanging-ad.html") not in site.requests.snapshot()[before:]:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("the pop-up never opened")
        time.sleep(0.1)
    time.sleep(5)  # the opener is captured by now; it waits for its pop-up, whose image never ends
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert time.monotonic() - interrupted < 30 and proc.returncode == 130, (out, err)
    opener = next(
        e for e in _entries(case) if e["action"] == "capture.completed" and e["details"].get("opened") is not None
    )
    assert any("media-not-fetched" in str(reason) for reason in opener["details"]["reasons"]), opener["details"]
    assert ("GET", "/media/stall.mp4") not in site.requests.snapshot()[before:]  # yt-dlp never asked for it


def test_a_video_playing_a_stream_the_page_made_itself_is_said_not_silently_skipped(captured):
    meta = metadata(captured, "blob")
    (note,) = [r for r in meta["reasons"] if r["code"] == "media-made-in-page"]
    assert note["effect"] == "note" and note["message"].startswith("video played a blob: or data: stream")
