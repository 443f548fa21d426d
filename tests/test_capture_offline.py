"""The parts of evidencekit.capture that need no browser: input checks, browser discovery, PNG stitching,
the WARC writer and the TLS helpers."""

from __future__ import annotations

import io
import itertools
import os
import random
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from evidencekit.capture import CaptureOptions, capture_many, check_url, find_browser
from evidencekit.capture import browser as browser_module
from evidencekit.capture.exchange import (
    BODY_COMPLETE,
    BODY_DECODED,
    BODY_UNAVAILABLE,
    BODY_UNFINISHED,
    Exchange,
)
from evidencekit.capture.navigation import _net_code
from evidencekit.capture.options import parse_proxy
from evidencekit.capture.pngstitch import stitch_vertically
from evidencekit.capture.tls import describe_certificates, probe_presented_certificate
from evidencekit.capture.warc import WarcSink
from evidencekit.errors import BrowserError, OperationalError, UsageError
from evidencekit.schemas import load_schema

# --- URLs and options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<h1>hi</h1>",
        "chrome://settings",
        "about:blank",
        "ftp://example.org/file",
        "view-source:https://example.org/",
        "example.org/ad",
        "https://",
        "http://exa mple.org/",
        "http://example.org:99999/",
    ],
)
def test_check_url_refuses_anything_but_http_and_https(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_url(url)
    assert "\n" not in caught.value.message


def test_check_url_names_the_refused_scheme() -> None:
    with pytest.raises(UsageError, match=r"refusing file: URL .*only http and https"):
        check_url("file:///etc/passwd")


def test_check_url_accepts_http_and_https_and_trims() -> None:
    assert check_url("  https://example.org/ad?id=7#top \n") == "https://example.org/ad?id=7#top"
    assert check_url("HTTP://127.0.0.1:8080/") == "HTTP://127.0.0.1:8080/"


def test_capture_many_refuses_a_bad_url_before_any_browser_starts(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="javascript"):
        capture_many(["https://example.org/", "javascript:alert(1)"], CaptureOptions(), tmp_path / "work")
    assert not (tmp_path / "work").exists()


def test_capture_many_refuses_an_unknown_region_or_a_bad_storage_state_up_front(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="region"):
        capture_many(["https://example.org/"], CaptureOptions(region="XX"), tmp_path / "work")
    not_state = tmp_path / "state.json"
    not_state.write_text("[1, 2, 3]", encoding="utf-8")
    with pytest.raises(UsageError, match="storage-state"):
        capture_many(["https://example.org/"], CaptureOptions(storage_state=not_state), tmp_path / "work")
    with pytest.raises(UsageError, match="no such file"):
        capture_many(["https://example.org/"], CaptureOptions(storage_state=tmp_path / "gone.json"), tmp_path / "w")
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout_s": 0}, {"viewport": (10, 10)}, {"user_agent": "  "}, {"proxy": "ftp://proxy:21"}, {"region": "USA"}],
)
def test_capture_options_refuse_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        CaptureOptions(**kwargs)  # type: ignore[arg-type]


def test_proxy_credentials_are_passed_on_but_never_displayed() -> None:
    proxy = parse_proxy("socks5://alice:s3cret@10.0.0.1:1080")
    assert proxy.to_playwright() == {"server": "socks5://10.0.0.1:1080", "username": "alice", "password": "s3cret"}
    assert "s3cret" not in proxy.display and "alice" not in proxy.display
    assert proxy.display.startswith("socks5://10.0.0.1:1080")


def test_a_bad_proxy_message_does_not_echo_the_password() -> None:
    with pytest.raises(UsageError) as caught:
        parse_proxy("gopher://alice:s3cret@proxy:70")
    assert "s3cret" not in caught.value.message


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("Page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:9/", "ERR_CONNECTION_REFUSED"),
        ("net::ERR_NAME_NOT_RESOLVED at http://nowhere.invalid/", "ERR_NAME_NOT_RESOLVED"),
        ("Timeout 3000ms exceeded.", ""),
    ],
)
def test_network_error_codes_are_read_from_browser_messages(message: str, code: str) -> None:
    assert _net_code(message) == code


# --- finding a browser ----------------------------------------------------------------------------------


def _fake_browser(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_browser_prefers_the_explicit_path(tmp_path: Path) -> None:
    chosen = _fake_browser(tmp_path / "chosen")
    other = _fake_browser(tmp_path / "other")
    info = find_browser(chosen, {"EVIDENCEKIT_BROWSER": str(other)}, managed=other)
    assert (info.path, info.found_by) == (chosen, "option")


def test_find_browser_then_the_environment_then_playwright(tmp_path: Path) -> None:
    from_env = _fake_browser(tmp_path / "from-env")
    managed = _fake_browser(tmp_path / "managed")
    assert find_browser(None, {"EVIDENCEKIT_BROWSER": str(from_env)}, managed=managed).found_by == "environment"
    info = find_browser(None, {}, managed=managed)
    assert (info.path, info.found_by) == (managed, "playwright")


def test_a_named_browser_that_does_not_exist_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(BrowserError, match="EVIDENCEKIT_BROWSER"):
        find_browser(None, {"EVIDENCEKIT_BROWSER": str(tmp_path / "missing")}, managed=None)
    with pytest.raises(BrowserError, match="--browser"):
        find_browser(tmp_path / "missing", {}, managed=None)


def test_a_playwright_path_that_is_not_installed_falls_through_to_debian(tmp_path: Path) -> None:
    installed = [p for p in browser_module.DEBIAN_BROWSERS if p.is_file()]
    if not installed:
        pytest.skip("no Debian Chromium on this machine")
    info = find_browser(None, {}, managed=tmp_path / "not-installed" / "chrome")
    assert (info.path, info.found_by) == (installed[0], "debian")


def test_without_a_hint_playwright_itself_is_asked_and_a_missing_managed_browser_is_skipped() -> None:
    installed = [p for p in (*browser_module.DEBIAN_BROWSERS, *browser_module.CHROME_BROWSERS) if p.is_file()]
    managed = browser_module._ask_playwright()
    if managed is not None and managed.is_file():
        assert find_browser(None, {}).found_by == "playwright"
    elif installed:
        assert find_browser(None, {}).path == installed[0]
    else:
        pytest.skip("no browser on this machine")


def test_no_browser_at_all_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser_module, "DEBIAN_BROWSERS", (tmp_path / "a",))
    monkeypatch.setattr(browser_module, "CHROME_BROWSERS", (tmp_path / "b",))
    with pytest.raises(BrowserError) as caught:
        find_browser(None, {}, managed=None)
    message = caught.value.message
    assert "apt-get install chromium-headless-shell" in message
    assert "playwright install chromium" in message
    assert "\n" not in message


def test_the_sandbox_is_off_only_for_root() -> None:
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    assert browser_module.sandbox_available() is not root
    assert ("--no-sandbox" in browser_module.launch_args(False)) and (
        "--no-sandbox" not in browser_module.launch_args(True)
    )


# --- stitching PNG tiles ----------------------------------------------------------------------------------


def _noisy_image(mode: str, width: int, height: int, seed: int) -> Image.Image:
    """Smooth gradients with noise: Pillow then picks different row filters (Sub, Up, Average, Paeth)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    pixels = [
        ((x * 7 + y * 3 + rng.randrange(8)) % 256, (y * 5 + rng.randrange(4)) % 256, (x * y + rng.randrange(16)) % 256)
        for y in range(height)
        for x in range(width)
    ]
    image.putdata(pixels)
    if mode == "P":
        return image.convert("P", palette=Image.Palette.ADAPTIVE)
    return image.convert(mode)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "I;16"])
def test_stitched_tiles_decode_to_the_original_image(tmp_path: Path, mode: str) -> None:
    whole = _noisy_image(mode, 37, 101, seed=len(mode))
    cuts = [0, 40, 41, 90, 101]  # includes a one-row tile
    tiles = [_png(whole.crop((0, top, 37, bottom))) for top, bottom in itertools.pairwise(cuts)]
    target = tmp_path / "stitched.png"
    assert stitch_vertically(tiles, target) == (37, 101)
    with Image.open(target) as stitched:
        stitched.load()
        assert stitched.mode == whole.mode
        assert stitched.tobytes() == whole.tobytes()


def test_tiles_of_different_widths_are_refused(tmp_path: Path) -> None:
    tiles = [_png(Image.new("RGB", (10, 5))), _png(Image.new("RGB", (11, 5)))]
    with pytest.raises(OperationalError, match="differ in width"):
        stitch_vertically(tiles, tmp_path / "out.png")


def test_a_truncated_tile_is_refused(tmp_path: Path) -> None:
    tile = _png(_noisy_image("RGB", 20, 20, seed=1))
    with pytest.raises(OperationalError):
        stitch_vertically([tile, tile[: len(tile) // 2]], tmp_path / "out.png")


# --- the WARC writer ---------------------------------------------------------------------------------------


def _exchange(seq: int, url: str, **kwargs: object) -> Exchange:
    base: dict[str, object] = {
        "seq": seq,
        "url": url,
        "method": "GET",
        "resource_type": "document",
        "started": datetime(2026, 5, 1, 12, 0, seq, 123456, tzinfo=UTC),
        "request_headers": [("Host", "ads.example"), ("User-Agent", "test")],
        "status": 200,
        "status_text": "OK",
        "server_ip": "192.0.2.7",
        "server_port": 443,
        "protocol": "h2",
        "security": {"protocol": "TLS 1.3"},
    }
    base.update(kwargs)
    return Exchange(**base)  # type: ignore[arg-type]


def _warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warcio.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_warc_records_are_honest_about_decoded_missing_and_unfinished_bodies(tmp_path: Path) -> None:
    html = "<html><body>ad text – ünïcode</body></html>".encode()
    exchanges = [
        _exchange(
            0,
            "https://ads.example/ad",
            response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip"), ("Content-Length", "40")],
            body=html,
            body_state=BODY_DECODED,
        ),
        _exchange(
            1,
            "https://ads.example/chunked",
            response_headers=[("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")],
            body=b"hello",
            body_state=BODY_COMPLETE,
        ),
        _exchange(
            2,
            "https://ads.example/moved",
            status=301,
            status_text="Moved Permanently",
            response_headers=[("Location", "/ad"), ("Content-Length", "12")],
            body_state=BODY_UNAVAILABLE,
            body_note="the browser does not expose bodies of redirect responses",
        ),
        _exchange(
            3,
            "https://ads.example/stream.jpg",
            response_headers=[("Content-Type", "image/jpeg")],
            body_state=BODY_UNFINISHED,
        ),
        _exchange(4, "https://ads.example/refused", status=None, response_headers=[], failure="net::ERR_FAILED"),
        _exchange(
            5,
            "https://ads.example/form",
            method="POST",
            post_data=b"name=x",
            response_headers=[("Content-Type", "text/plain"), ("Content-Length", "2")],
            body=b"ok",
            body_state=BODY_COMPLETE,
        ),
    ]
    path = tmp_path / "capture.warc.gz"
    sink = WarcSink(path, {"software": "test"})
    for exchange in exchanges:
        sink.write_exchange(exchange)
    sink.close()
    assert sink.records == 1 + 2 * 5 + 1

    check = _warcio("check", "-v", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    index = _warcio("index", "-f", "warc-type,warc-target-uri,http:status", str(path))
    assert index.returncode == 0, index.stderr
    assert len(index.stdout.strip().splitlines()) == sink.records

    responses = {}
    requests = {}
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type == "response":
                responses[uri] = (record.rec_headers, record.http_headers, record.content_stream().read())
            elif record.rec_type == "request":
                requests[uri] = (record.http_headers, record.content_stream().read())
    assert len(responses) == 5 and len(requests) == 6

    warc_headers, http, payload = responses["https://ads.example/ad"]
    assert payload == html
    assert http.get_header("Content-Encoding") is None
    assert http.get_header("X-Original-Content-Encoding") == "gzip"
    assert http.get_header("X-Original-Content-Length") == "40"
    assert http.get_header("Content-Length") == str(len(html))
    assert "decoded by the browser" in http.get_header("X-EvidenceKit-Body")
    assert warc_headers.get_header("WARC-IP-Address") == "192.0.2.7"
    assert [v for k, v in warc_headers.headers if k == "WARC-Protocol"] == ["h2", "tls/1.3"]
    assert warc_headers.get_header("WARC-Date") == "2026-05-01T12:00:00.123456Z"

    _, http, payload = responses["https://ads.example/chunked"]
    assert payload == b"hello" and http.get_header("Transfer-Encoding") is None
    assert http.get_header("X-Original-Transfer-Encoding") == "chunked"

    warc_headers, http, payload = responses["https://ads.example/moved"]
    assert payload == b"" and http.get_statuscode() == "301"
    assert warc_headers.get_header("WARC-Truncated") == "unspecified"
    assert "redirect" in http.get_header("X-EvidenceKit-Body")

    warc_headers, _, payload = responses["https://ads.example/stream.jpg"]
    assert payload == b"" and warc_headers.get_header("WARC-Truncated") == "time"

    assert "https://ads.example/refused" not in responses
    assert "https://ads.example/refused" in requests
    http, body = requests["https://ads.example/form"]
    assert http.protocol == "POST" and body == b"name=x"


def test_the_warc_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "capture.warc.gz"
    path.write_bytes(b"earlier evidence")
    with pytest.raises(FileExistsError):
        WarcSink(path, {})
    assert path.read_bytes() == b"earlier evidence"


# --- TLS helpers and the schema --------------------------------------------------------------------------


def test_the_presented_certificate_is_fetched_without_verification(tls_site: object) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(tls_site.base)  # type: ignore[attr-defined]
    probe = probe_presented_certificate(parts.hostname or "", parts.port or 443, 10.0)
    assert "error" not in probe, probe
    assert probe["certificate_chain_pem"][0] == tls_site.cert_pem  # type: ignore[attr-defined]
    assert "verification turned off" in probe["source"]
    described = describe_certificates(probe["certificate_chain_pem"])
    assert "127.0.0.1" in described[0]["subject"]
    assert len(described[0]["sha256_fingerprint"]) == 64


def test_a_refused_port_gives_an_error_entry_not_an_exception(dead_url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(dead_url)
    probe = probe_presented_certificate(parts.hostname or "", parts.port or 0, 5.0)
    assert probe["error"].startswith("could not fetch the certificate")


def test_the_capture_schema_is_a_valid_2020_12_schema_with_a_versioned_id() -> None:
    schema = load_schema("capture")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://evidencekit.org/schemas/capture/1.5.0"
    assert schema["properties"]["schema"]["enum"][-1] == schema["$id"]
    assert "https://evidencekit.org/schemas/capture/1.0.0" in schema["properties"]["schema"]["enum"]


def test_a_failure_is_worded_in_one_line() -> None:
    from playwright.async_api import Error as PlaywrightError

    from evidencekit.capture.wording import MAX_LINE, first_line

    error = PlaywrightError("Page.goto: net::ERR_CONNECTION_REFUSED at http://x/\nCall log:\n  - navigating")
    assert first_line(error) == "Page.goto: net::ERR_CONNECTION_REFUSED at http://x/"
    assert first_line(TimeoutError()) == "TimeoutError"
    assert first_line("\n  \n  second line first  \nthird") == "second line first"
    assert first_line(None) == first_line("   ") == "unknown error"
    assert first_line(ValueError("x" * 1000)) == "x" * MAX_LINE
