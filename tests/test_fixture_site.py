"""The fixture site itself, checked over plain urllib/http.client (no browser): every route of the contract."""

from __future__ import annotations

import gzip
import http.client
import io
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from fractions import Fraction
from pathlib import Path
from typing import Any

import exifread
import pytest
from cryptography import x509
from fixture_site import THREAD_PREFIX, WWW, FixtureSite

import evidencekit
from evidencekit.demo import demo_site_files, serve_demo_site

HTML = "text/html; charset=utf-8"
STATIC_PAGES = [
    "/jobs/domestic-work.html",
    "/jobs/multilingual.html",
    "/lazy.html",
    "/feed.html",
    "/redirect/meta.html",
    "/redirect/final.html",
    "/never-finishes.html",
    "/consent.html",
    "/iframe.html",
    "/frame-content.html",
    "/tall.html",
    "/popups.html",
    "/popup-child.html",
    "/",
]


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    follow: bool = False,
) -> Reply:
    """One request; error statuses are replies too, and redirects are not followed unless asked."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPSHandler(context=context)]
    if not follow:
        handlers.append(_NoRedirects())
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def site_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(THREAD_PREFIX)]


def connection_threads(running: FixtureSite) -> int:
    return sum(thread.name == f"{THREAD_PREFIX}-{running.port}-connection" for thread in site_threads())


@pytest.fixture(scope="module")
def tls_context(tls_site: FixtureSite) -> ssl.SSLContext:
    """A client that trusts exactly the fixture's certificate, hostname checks included."""
    assert tls_site.cert_pem is not None
    return ssl.create_default_context(cadata=tls_site.cert_pem)


# --- pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", STATIC_PAGES)
def test_every_page_is_utf8_html_with_a_title(site: FixtureSite, path: str) -> None:
    reply = fetch(site.url(path))
    assert reply.status == 200
    assert reply.headers["Content-Type"] == HTML
    assert int(reply.headers["Content-Length"]) == len(reply.body)
    assert "<title>" in reply.text
    assert '<meta charset="utf-8">' in reply.text


def test_domestic_work_ad_carries_every_indicator(site: FixtureSite) -> None:
    text = fetch(site.url("/jobs/domestic-work.html")).text
    for needle in [
        "+44 20 7946 0958",
        "(415) 555-0132",
        "+91 98765 43210",
        "030 1234567",
        '<meta name="evidencekit-test-region" content="DE">',
        'href="mailto:recruit.agency@example.com"',
        "jobs [at] example [dot] org",
        'href="https://wa.me/447700900123"',
        'href="https://t.me/easyjobs_abroad"',
        '<img src="/images/photo-gps.jpg"',
        "visa",
    ]:
        assert needle in text, needle


def test_multilingual_ad_has_four_languages_each_with_a_phone(site: FixtureSite) -> None:
    text = fetch(site.url("/jobs/multilingual.html")).text
    assert "+٩٧١ ٥٠ ١٢٣ ٤٥٦٧" in text  # Arabic-Indic digits
    assert "+۹۲ ۳۰۰ ۱۲۳ ۴۵۶۷" in text  # Extended Arabic-Indic digits, as written in Urdu
    assert "+91 91234 56789" in text
    assert "+86 138 0013 8000" in text
    for lang, sample in [("hi", "घरेलू"), ("ur", "ضرورت"), ("zh", "海外"), ("ar", "مطلوب")]:
        assert f'lang="{lang}"' in text
        assert sample in text


def test_lazy_page_defers_its_three_images(site: FixtureSite) -> None:
    text = fetch(site.url("/lazy.html")).text
    assert '<img id="lazy-1" loading="lazy" src="/images/lazy-1.jpg"' in text
    assert 'data-src="/images/lazy-2.jpg"' in text
    assert 'data-src="/images/lazy-3.png"' in text
    assert 'src="/images/lazy-2.jpg"' not in text.replace("data-src=", "")
    assert "IntersectionObserver" in text
    assert "height: 8000px" in text


def test_redirect_chain_301_302_then_meta_refresh(site: FixtureSite) -> None:
    first = fetch(site.url("/redirect/start"))
    assert (first.status, first.headers["Location"]) == (301, "/redirect/step2")
    second = fetch(site.url("/redirect/step2"))
    assert (second.status, second.headers["Location"]) == (302, "/redirect/meta.html")
    meta = fetch(site.url("/redirect/start"), follow=True)
    assert meta.status == 200
    assert '<meta http-equiv="refresh" content="0; url=/redirect/final.html">' in meta.text
    final = fetch(site.url("/redirect/final.html"))
    assert final.status == 200
    assert 'id="final"' in final.text


def test_removed_ads_answer_404_and_410_with_a_page(site: FixtureSite) -> None:
    gone = fetch(site.url("/gone-404.html"))
    assert gone.status == 404
    assert gone.headers["Content-Type"] == HTML
    assert "This ad has been removed" in gone.text
    deleted = fetch(site.url("/gone-410.html"))
    assert deleted.status == 410
    assert "This ad has been permanently deleted" in deleted.text
    missing = fetch(site.url("/no-such-page.html"))
    assert missing.status == 404
    assert "Not found" in missing.text
    assert "This ad has been removed" not in missing.text


@pytest.mark.parametrize("raw_path", ["/../server.py", "/images/../../conftest.py", "/%2e%2e/tls.py"])
def test_nothing_outside_www_is_served(site: FixtureSite, raw_path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    try:
        connection.request("GET", raw_path)
        response = connection.getresponse()
        assert response.status == 404
        assert b"Not found" in response.read()
    finally:
        connection.close()


# --- dynamic routes ----------------------------------------------------------------------------------


def test_slow_page_waits_the_delay_asked(site: FixtureSite) -> None:
    started = time.monotonic()
    reply = fetch(site.url("/slow.html?delay=0.4"))
    assert time.monotonic() - started >= 0.4
    assert reply.status == 200
    assert 'id="slow"' in reply.text
    assert fetch(site.url("/slow.html?delay=soon")).status == 400
    assert fetch(site.url("/slow.html?delay=-1")).status == 400
    assert fetch(site.url("/slow.html?delay=nan")).status == 400


def test_feed_api_serves_five_pages_then_ends(site: FixtureSite) -> None:
    for page in range(1, 6):
        reply = fetch(site.url(f"/api/feed?page={page}"))
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        data = json.loads(reply.body)
        assert data["page"] == page
        assert data["next_page"] == (page + 1 if page < 5 else None)
        assert f"/images/feed-{page}.jpg" in [post["image"] for post in data["posts"]]
        assert fetch(site.url(f"/images/feed-{page}.jpg")).status == 200
    beyond = json.loads(fetch(site.url("/api/feed?page=6")).body)
    assert beyond == {"page": 6, "posts": [], "next_page": None}
    assert fetch(site.url("/api/feed?page=0")).status == 400
    assert fetch(site.url("/api/feed?page=two")).status == 400
    feed_page = fetch(site.url("/feed.html")).text
    assert 'fetch("/api/feed?page=" + nextPage)' in feed_page
    assert "end of feed" in feed_page


def test_compressed_page_is_gzip_on_the_wire(site: FixtureSite) -> None:
    reply = fetch(site.url("/compressed.html"), headers={"Accept-Encoding": "gzip"})
    assert reply.headers["Content-Encoding"] == "gzip"
    assert reply.body[:2] == b"\x1f\x8b"
    assert int(reply.headers["Content-Length"]) == len(reply.body)
    assert gzip.decompress(reply.body) == (WWW / "compressed.html").read_bytes()


def test_headers_echo_returns_the_request_headers(site: FixtureSite) -> None:
    sent = {"User-Agent": "evidencekit-test/1.0", "X-Case-Reference": "CASE-7 ü"}
    echoed = json.loads(fetch(site.url("/headers-echo"), headers=sent).body)
    assert echoed["User-Agent"] == "evidencekit-test/1.0"
    # Header bytes travel as Latin-1; the echo reports what arrived, not a re-interpretation.
    assert echoed["X-Case-Reference"] == "CASE-7 ü"
    assert echoed["Host"] == f"127.0.0.1:{site.port}"


def test_download_is_an_attachment_pdf(site: FixtureSite) -> None:
    reply = fetch(site.url("/download/contract.pdf"))
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.headers["Content-Disposition"] == 'attachment; filename="contract.pdf"'
    assert reply.body.startswith(b"%PDF-1.4")
    assert reply.body.rstrip().endswith(b"%%EOF")
    popups = fetch(site.url("/popups.html")).text
    for needle in [
        'window.open("/popup-child.html")',
        'alert("Welcome")',
        'confirm("Are you 18?")',
        '"beforeunload"',
        '"/download/contract.pdf"',
    ]:
        assert needle in popups, needle


def test_interactive_pages_have_their_traps(site: FixtureSite) -> None:
    consent = fetch(site.url("/consent.html")).text
    assert 'id="consent-overlay"' in consent
    assert "position: fixed; inset: 0;" in consent
    iframe = fetch(site.url("/iframe.html")).text
    assert '<iframe id="contact-frame" src="/frame-content.html"' in iframe
    assert "attachShadow" in iframe
    assert "shadow-secret +1 415 555 0199" in iframe
    assert "+44 20 7946 0321" in fetch(site.url("/frame-content.html")).text
    tall = fetch(site.url("/tall.html")).text
    assert "height: 40000px" in tall
    assert all(f">marker-{n}<" in tall for n in range(40))
    assert ">marker-40<" not in tall
    assert 'id="bottom-band"' in tall
    never = fetch(site.url("/never-finishes.html")).text
    assert '<img src="/hang/forever.jpg"' in never
    assert 'fetch("/api/long-poll")' in never


# --- images ------------------------------------------------------------------------------------------


def _degrees(tag: Any) -> float:
    degrees, minutes, seconds = (Fraction(value.num, value.den) for value in tag.values)
    return float(degrees + minutes / 60 + seconds / 3600)


def test_gps_photo_carries_the_promised_exif(site: FixtureSite) -> None:
    reply = fetch(site.url("/images/photo-gps.jpg"))
    assert reply.headers["Content-Type"] == "image/jpeg"
    tags = exifread.process_file(io.BytesIO(reply.body), details=False)
    assert str(tags["Image Make"]) == "Canon"
    assert str(tags["Image Model"]) == "Canon EOS 80D"
    assert str(tags["EXIF DateTimeOriginal"]) == "2026:10:03 14:22:05"
    assert str(tags["GPS GPSLatitudeRef"]) == "N"
    assert str(tags["GPS GPSLongitudeRef"]) == "E"
    assert [str(value) for value in tags["GPS GPSLatitude"].values] == ["52", "31", "1203/100"]
    assert _degrees(tags["GPS GPSLatitude"]) == pytest.approx(52.520008, abs=1e-6)
    assert _degrees(tags["GPS GPSLongitude"]) == pytest.approx(13.404950, abs=1e-6)


@pytest.mark.parametrize(
    ("path", "content_type", "magic"),
    [
        ("/images/lazy-1.jpg", "image/jpeg", b"\xff\xd8\xff"),
        ("/images/lazy-2.jpg", "image/jpeg", b"\xff\xd8\xff"),
        ("/images/lazy-3.png", "image/png", b"\x89PNG\r\n\x1a\n"),
    ],
)
def test_lazy_images_exist(site: FixtureSite, path: str, content_type: str, magic: bytes) -> None:
    reply = fetch(site.url(path))
    assert reply.headers["Content-Type"] == content_type
    assert reply.body.startswith(magic)


# --- the request log and HEAD ------------------------------------------------------------------------


def test_request_log_records_method_and_target_in_order(site: FixtureSite) -> None:
    site.requests.clear()
    fetch(site.url("/api/feed?page=2"))
    head = fetch(site.url("/jobs/domestic-work.html"), method="HEAD")
    assert head.body == b""
    assert int(head.headers["Content-Length"]) == (WWW / "jobs/domestic-work.html").stat().st_size
    assert site.requests.snapshot() == [("GET", "/api/feed?page=2"), ("HEAD", "/jobs/domestic-work.html")]
    assert ("HEAD", "/jobs/domestic-work.html") in site.requests
    assert site.requests.paths() == ["/api/feed?page=2", "/jobs/domestic-work.html"]
    site.requests.clear()
    assert len(site.requests) == 0


# --- responses that never finish ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "prefix"), [("/hang/forever.jpg", b"\xff\xd8\xff\xe0"), ("/api/long-poll", b"")])
def test_hanging_response_trickles_until_the_client_leaves(
    site: FixtureSite, capfd: pytest.CaptureFixture[str], path: str, prefix: bytes
) -> None:
    before = connection_threads(site)
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Length") is None
    assert response.getheader("Connection") == "close"
    started = time.monotonic()
    received = b""
    while len(received) <= len(prefix):
        received += response.read1(1)
    assert received.startswith(prefix)
    assert time.monotonic() - started >= 0.9  # after the prefix, one byte a second, not a burst
    # "Connection: close" hands the socket to the response, so closing the response is what hangs up.
    response.close()
    connection.close()
    # The server notices the hang-up at once, not at its next write.
    assert wait_until(lambda: connection_threads(site) <= before, timeout=0.5)
    assert capfd.readouterr().err == ""
    assert site.errors == []


# --- HTTPS -------------------------------------------------------------------------------------------


def test_tls_site_presents_the_certificate_in_cert_pem(tls_site: FixtureSite) -> None:
    assert tls_site.base.startswith("https://127.0.0.1:")
    assert tls_site.cert_pem is not None
    presented = ssl.get_server_certificate(("127.0.0.1", tls_site.port))
    assert ssl.PEM_cert_to_DER_cert(presented) == ssl.PEM_cert_to_DER_cert(tls_site.cert_pem)
    assert tls_site.cert_der == ssl.PEM_cert_to_DER_cert(tls_site.cert_pem)
    certificate = x509.load_pem_x509_certificate(tls_site.cert_pem.encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_certificate_verifies_for_both_names(tls_site: FixtureSite, tls_context: ssl.SSLContext, host: str) -> None:
    with (
        socket.create_connection(("127.0.0.1", tls_site.port), timeout=10) as raw,
        tls_context.wrap_socket(raw, server_hostname=host) as wrapped,
    ):
        assert wrapped.getpeercert(binary_form=True) == tls_site.cert_der


@pytest.mark.parametrize(
    "path", ["/jobs/domestic-work.html", "/images/photo-gps.jpg", "/gone-410.html", "/redirect/start"]
)
def test_tls_site_serves_the_same_routes(
    site: FixtureSite, tls_site: FixtureSite, tls_context: ssl.SSLContext, path: str
) -> None:
    plain = fetch(site.url(path))
    secure = fetch(tls_site.url(path), context=tls_context)
    assert (secure.status, secure.body) == (plain.status, plain.body)
    assert secure.headers["Location"] == plain.headers["Location"]


def test_a_client_refusing_the_certificate_is_no_server_error(
    tls_site: FixtureSite, tls_context: ssl.SSLContext, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(urllib.error.URLError) as refused:
        fetch(tls_site.url("/"), context=ssl.create_default_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    assert fetch(tls_site.url("/"), context=tls_context).status == 200
    assert capfd.readouterr().err == ""
    assert tls_site.errors == []


# --- refused connections and shutting down -----------------------------------------------------------


def test_dead_url_refuses_connections(dead_url: str) -> None:
    assert dead_url.startswith("http://127.0.0.1:")
    assert dead_url.endswith("/")
    with pytest.raises(urllib.error.URLError) as refused:
        fetch(dead_url)
    assert isinstance(refused.value.reason, ConnectionRefusedError)


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_stop_is_prompt_with_hanging_idle_and_silent_connections(capfd: pytest.CaptureFixture[str], tls: bool) -> None:
    threads_before = set(threading.enumerate())
    running = FixtureSite(tls=tls)
    context = ssl.create_default_context(cadata=running.cert_pem) if tls else None
    clients: list[http.client.HTTPConnection] = []

    def connect() -> http.client.HTTPConnection:
        if context is None:
            client = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        else:
            client = http.client.HTTPSConnection("127.0.0.1", running.port, timeout=10, context=context)
        clients.append(client)
        return client

    hanging = connect()
    hanging.request("GET", "/hang/forever.jpg")
    hanging_response = hanging.getresponse()  # kept: it owns the socket, and dropping it hangs up
    assert hanging_response.status == 200
    idle = connect()  # keep-alive: the server thread waits for a next request
    idle.request("GET", "/")
    idle_response = idle.getresponse()
    idle_response.read()
    assert idle_response.getheader("Connection") is None
    slow = connect()
    slow.request("GET", "/slow.html?delay=60")
    silent = socket.create_connection(("127.0.0.1", running.port), timeout=10)  # not even a handshake
    assert wait_until(lambda: connection_threads(running) == 4)

    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 2.0
    running.stop()  # a second stop is harmless

    assert not (set(site_threads()) - threads_before)
    assert set(threading.enumerate()) <= threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", running.port), timeout=2).close()
    silent.close()
    hanging_response.close()
    for client in clients:
        client.close()
    assert capfd.readouterr().err == ""


# --- the product's demo site (evidencekit.demo) ------------------------------------------------------
# Kept here, beside the other loopback site, until it gets a tests/test_demo.py of its own.


def demo_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("evidencekit-demo")]


def test_demo_site_serves_the_advertisement_and_its_photo() -> None:
    with serve_demo_site() as base:
        assert base.startswith("http://127.0.0.1:")
        assert not base.endswith("/")
        ad = fetch(base + "/")
        assert ad.status == 200
        assert ad.headers["Content-Type"] == HTML
        assert fetch(base + "/index.html").body == ad.body
        for needle in [
            "Hotel staff wanted in Dubai",
            "free visa",
            "passport",
            "+971 50 123 4567",
            'href="https://wa.me/971501234567"',
            'href="mailto:recruitment.desk@example.com"',
            '<img src="photo.jpg"',
        ]:
            assert needle in ad.text, needle
        photo = fetch(base + "/photo.jpg")
        assert photo.headers["Content-Type"] == "image/jpeg"
        tags = exifread.process_file(io.BytesIO(photo.body), details=False)
        assert str(tags["Image Make"]) == "samsung"
        assert str(tags["Image Model"]) == "SM-G991B"
        assert str(tags["EXIF DateTimeOriginal"]) == "2026:03:14 10:41:33"
        assert str(tags["GPS GPSLatitudeRef"]) == "N"
        assert str(tags["GPS GPSLongitudeRef"]) == "E"
        assert _degrees(tags["GPS GPSLatitude"]) == pytest.approx(25.0805, abs=1e-6)
        assert _degrees(tags["GPS GPSLongitude"]) == pytest.approx(55.1403, abs=1e-6)
        head = fetch(base + "/photo.jpg", method="HEAD")
        assert (head.status, head.body) == (200, b"")
        assert int(head.headers["Content-Length"]) == len(photo.body)


@pytest.mark.parametrize("path", ["/server.py", "/make_photo.py", "/../server.py", "/site/index.html", "/x"])
def test_demo_site_serves_nothing_but_its_files(path: str) -> None:
    with serve_demo_site() as base:
        connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 404
            assert b"Not found" in response.read()
        finally:
            connection.close()


def test_demo_site_files_are_exactly_the_site_folder() -> None:
    files = demo_site_files()
    assert sorted(files) == ["/", "/index.html", "/photo.jpg"]
    assert files["/"] == files["/index.html"]


def test_demo_site_stops_with_an_idle_connection_open(capfd: pytest.CaptureFixture[str]) -> None:
    with serve_demo_site() as base:
        port = int(base.rsplit(":", 1)[1])
        idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        idle.request("GET", "/")
        idle.getresponse().read()  # the connection stays open, its server thread waiting for more
        silent = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert wait_until(lambda: len(demo_threads()) == 3)
        started = time.monotonic()
    assert time.monotonic() - started < 1.0
    assert demo_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    idle.close()
    silent.close()
    assert capfd.readouterr().err == ""


def test_demo_site_is_found_inside_a_zipped_package(tmp_path: Path) -> None:
    """Reads through importlib.resources, not file paths, so a packed installation works too."""
    package = Path(evidencekit.__file__).parent
    archive = tmp_path / "evidencekit.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        for file in package.rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts:
                packed.write(file, file.relative_to(package.parent).as_posix())
    script = (
        "import sys, urllib.request; sys.path.insert(0, sys.argv[1]);"
        "import evidencekit.demo as demo; assert demo.__file__.startswith(sys.argv[1]), demo.__file__;"
        "cm = demo.serve_demo_site(); base = cm.__enter__();"
        "print(len(urllib.request.urlopen(base + '/photo.jpg').read())); cm.__exit__(None, None, None)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, str(archive)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == (package / "demo" / "site" / "photo.jpg").stat().st_size
