"""What the fixture site answers: static files from ``www/`` and the made-up routes of the contract.

Made-up routes: the redirect chain, ``/slow.html?delay=S``, ``/hang/...`` and ``/api/long-poll`` (never
finish), ``/api/feed?page=N``, ``/api/notice`` (see late-notice.html), ``/headers-echo``, ``/wire-headers.html``
(a header block written byte for byte), gzip for ``/compressed.html``, real pages with 404/410
status for the removed ads, ``Content-Disposition: attachment`` under ``/download/``, and under
``/secret/`` pages that set a session cookie or demand HTTP Basic credentials (see ``SECRETS_SEEN``), and
under ``/watch/`` an ad that changes and goes away and a listing that grows (see watchroutes.py).
"""

from __future__ import annotations

import base64
import gzip
import json
import posixpath
import selectors
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import loginroutes, mediaroutes, popuproutes, wallroutes, watchroutes

if TYPE_CHECKING:
    from .server import SiteServer

WWW = (Path(__file__).resolve().parent / "www").resolve()
# A response that never ends still ends after this long, so a forgotten client cannot pin a thread forever.
HANG_LIMIT_SECONDS = 120.0
MAX_DELAY_SECONDS = 120.0
FEED_PAGES = 5
_REPEATED_HEADERS = (
    ("Set-Cookie", "session=abc123; Path=/"),
    ("Set-Cookie", "seen=1; Path=/"),
    ("X-Listing", "ad-1041"),
    ("X-Listing", "ad-1042"),
)

# /secret/: the cookie the site sets, the credentials it wants. The pages never echo them in their bodies
# (a body is evidence and is kept byte for byte), so a capture can be searched for them.
SET_COOKIE_SECRET = "SiteSetCookieSECRET7731"
BASIC_USER, BASIC_PASSWORD = "agentUSERx41", "S3cretPWbasic9024"
# (path, Cookie header, Authorization header) of every /secret/ request: what the page really received.
SECRETS_SEEN: list[tuple[str, str, str]] = []
_SEEN_LOCK = threading.Lock()
_SECRET_PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Members area</title></head>"
    b"<body><h1>Members area</h1><p>Welcome back. Your listings are below.</p></body></html>"
)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".pdf": "application/pdf",
    ".json": "application/json; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
REDIRECTS = {
    "/redirect/start": (301, "/redirect/step2"),
    "/redirect/step2": (302, "/redirect/meta.html"),
    "/redirect/to-forged": (302, "/forged-address.html"),
    # A Location with a #fragment: the fragment is the navigation's (the server's), not the page's doing.
    "/redirect/to-fragment": (302, "/redirect/final.html#listing-7"),
}
# Static pages served with an error status but a real body, like a classifieds site after a takedown.
STATUS_OF_PAGE = {"/gone-404.html": 404, "/gone-410.html": 410}
WIRE_HEADERS_BODY = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Wire headers</title></head>"
    b"<body><p>Headers as sent.</p></body></html>"
)
NOT_FOUND_BODY = b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Not found</title></head>" + (
    b"<body><h1>Not found</h1><p>No such page on this site.</p></body></html>"
)


def _resolve(url_path: str) -> Path | None:
    """The file under ``www/`` a URL path names, or None; nothing outside ``www/`` is ever reachable."""
    if url_path.endswith("/"):
        url_path += "index.html"
    if "\x00" in url_path:
        return None
    candidate = (WWW / posixpath.normpath(url_path).lstrip("/")).resolve()
    if not candidate.is_relative_to(WWW) or not candidate.is_file():
        return None
    return candidate


def _feed_page(page: int) -> dict[str, Any]:
    authors = ["Maria K.", "Agency Team", "Liam", "Sofia R.", "Jobs Abroad Official"]
    posts: list[dict[str, Any]] = []
    if page <= FEED_PAGES:
        author = authors[page - 1]
        posts = [
            {
                "id": f"feed-post-{page}-1",
                "author": author,
                "text": f"Page {page}: new families are hiring nannies and drivers. Visa paid, start next week!",
                "image": f"/images/feed-{page}.jpg",
            },
            {
                "id": f"feed-post-{page}-2",
                "author": author,
                "text": f"Page {page}: message us before the places are gone. No experience needed.",
                "image": None,
            },
        ]
    return {"page": page, "posts": posts, "next_page": page + 1 if page < FEED_PAGES else None}


class SiteHandler(BaseHTTPRequestHandler):
    server: SiteServer
    protocol_version = "HTTP/1.1"
    server_version = "FixtureSite/1.0"
    # Idle keep-alive connections give up after this; stop() closes them sooner.
    timeout = 30

    def setup(self) -> None:
        # The TLS handshake runs here, on the connection's own thread, so a slow client or one that
        # refuses the certificate never stalls the accept loop.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed:
            self.server.requests.append((self.command, self.path))
        return parsed

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        # A CORS preflight for /api/tagged (see tagged.html): allowed from any origin, nothing cached.
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "X-Tag")
        self.send_header("Access-Control-Max-Age", "0")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _dispatch(self) -> None:
        target = urlsplit(self.path)
        path = unquote(target.path)
        query = parse_qs(target.query)
        if path in REDIRECTS:
            status, location = REDIRECTS[path]
            body = f'<html><body>Moved to <a href="{location}">{location}</a></body></html>'.encode()
            self._send(status, body, CONTENT_TYPES[".html"], {"Location": location})
        elif path == "/slow.html":
            self._slow(query)
        elif path.startswith("/hang/"):
            self._trickle("image/jpeg", first=b"\xff\xd8\xff\xe0", filler=b"\x00")
        elif path == "/api/long-poll":
            # JSON may start with any amount of white space, so the body stays "valid so far" forever.
            self._trickle("application/json", first=b"", filler=b" ")
        elif path == "/api/feed":
            self._feed(query)
        elif path == "/headers-echo":
            self._echo_headers()
        elif path == "/wire-headers.html":
            self._wire_headers()
        elif path.startswith("/secret/"):
            self._secret(path)
        elif path == "/api/tagged":
            self._tagged()
        elif path == "/api/notice":
            notice = {"notice": "LATE NOTICE: interviews moved to Friday, bring your passport to the agent."}
            self._send(200, json.dumps(notice).encode(), "application/json")
        elif path.startswith("/watch/") and (watched := watchroutes.answer(path, self.headers, self.command)):
            self._send(*watched)
        elif path.startswith(("/login/", "/members/")) and (
            logged := loginroutes.answer(path, self.headers, target.query)
        ):
            self._send(*logged)
        elif path.startswith("/walls/") and (walled := wallroutes.answer(path)):
            self._send(*walled)
        elif path.startswith("/media/") and mediaroutes.handle(self, path):
            pass
        elif path.startswith("/popups16/") and (popup := popuproutes.answer(path, query, self.headers, self.command)):
            self._send(*popup)
        else:
            self._static(path, STATUS_OF_PAGE.get(path, 200), gzipped=path == "/compressed.html")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        repeated: tuple[tuple[str, str], ...] = (),
        body_after_s: float = 0.0,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in repeated:
            self.send_header(name, value)
        # Every load reaches the server, so the request log shows exactly what a capture fetched.
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body_after_s:  # the headers go out now, the body later
            self.wfile.flush()
            time.sleep(body_after_s)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _tagged(self) -> None:
        """One URL, many requests (tagged.html): the body names the X-Tag the request carried, so each
        archived request can be checked against its own response. Tag "slow" answers its body late."""
        tag = self.headers.get("X-Tag", "")
        body = json.dumps({"tag": tag}).encode()
        # "slow" ends after a request that started later
        late = 0.4 if tag == "slow" else 0.0
        self._send(200, body, "application/json", {"Access-Control-Allow-Origin": "*"}, body_after_s=late)

    def _secret(self, path: str) -> None:
        cookie = self.headers.get("Cookie", "")
        authorization = self.headers.get("Authorization", "")
        with _SEEN_LOCK:
            SECRETS_SEEN.append((path, cookie, authorization))
        if path == "/secret/basic.html":
            wanted = "Basic " + base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
            if authorization != wanted:
                self._send(
                    401,
                    b"<html><body>Log in</body></html>",
                    CONTENT_TYPES[".html"],
                    {"WWW-Authenticate": 'Basic realm="members"'},
                )
                return
        cookie_header = (("Set-Cookie", f"sitesession={SET_COOKIE_SECRET}; Path=/; HttpOnly"),)
        self._send(200, _SECRET_PAGE, CONTENT_TYPES[".html"], repeated=cookie_header)

    def _bad_request(self, message: str) -> None:
        self._send(400, message.encode() + b"\n", "text/plain; charset=utf-8")

    def _static(self, path: str, status: int = 200, *, gzipped: bool = False) -> None:
        file = _resolve(path)
        if file is None:
            self._send(404, NOT_FOUND_BODY, CONTENT_TYPES[".html"])
            return
        body = file.read_bytes()
        headers: dict[str, str] = {}
        if gzipped:
            # mtime=0 keeps the compressed bytes identical run after run.
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        if path.startswith("/download/"):
            headers["Content-Disposition"] = f'attachment; filename="{file.name}"'
        content_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        self._send(status, body, content_type, headers)

    def _slow(self, query: dict[str, list[str]]) -> None:
        try:
            delay = float(query.get("delay", ["2"])[0])
        except ValueError:
            delay = -1.0
        if not 0.0 <= delay <= MAX_DELAY_SECONDS:
            self._bad_request(f"delay must be a number of seconds from 0 to {MAX_DELAY_SECONDS:g}")
            return
        if self.server.stopping.wait(delay):
            self.close_connection = True
            return
        self._static("/slow.html")

    def _trickle(self, content_type: str, *, first: bytes, filler: bytes) -> None:
        """Headers now, then one byte a second until the client leaves, the server stops or the limit."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        # No length: the body ends when the connection closes, which is the point.
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        deadline = time.monotonic() + HANG_LIMIT_SECONDS
        # Waiting on the socket rather than sleeping notices a hang-up at once: the client closing (or
        # stop() shutting the socket down) makes it readable. A client that sends anything more on a
        # "Connection: close" response has moved on too.
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            try:
                if first:
                    self.wfile.write(first)
                while time.monotonic() < deadline and not self.server.stopping.is_set():
                    if selector.select(timeout=1.0):
                        return
                    self.wfile.write(filler)
            except OSError:
                return  # the client gave up, as browsers do with a resource that never finishes

    def _feed(self, query: dict[str, list[str]]) -> None:
        try:
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            page = 0
        if page < 1:
            self._bad_request("page must be a whole number from 1")
            return
        body = json.dumps(_feed_page(page), ensure_ascii=False).encode()
        self._send(200, body, CONTENT_TYPES[".json"])

    def _wire_headers(self) -> None:
        """Issue 11, defect 16: a response whose header block tests what the WARC can claim to keep. Written
        byte for byte: a reason phrase with UTF-8 and Latin-1 bytes, headers out of alphabetical order, a
        repeated header, values in Latin-1 and UTF-8, and inner spaces."""
        body = WIRE_HEADERS_BODY
        block = [
            b"HTTP/1.1 200 Tr\xc3\xa8s bien \xe9t\xe9",
            b"Zeta-Last: z",
            b"Content-Type: text/html; charset=utf-8",
            b"Content-Length: " + str(len(body)).encode(),
            b"Cache-Control: no-store",
            b"Alpha-First: a",
            b"X-Repeated: one",
            b"X-Repeated: two",
            b"X-Latin1: caf\xe9",
            b"X-Utf8: caf\xc3\xa9",
            b"X-Spaced: a   b",
        ]
        self.close_connection = True
        self.wfile.write(b"\r\n".join(block) + b"\r\n\r\n" + (body if self.command != "HEAD" else b""))

    def _echo_headers(self) -> None:
        # Names as the client spelled them; a repeated header is joined as HTTP allows.
        echoed: dict[str, str] = {}
        for name, value in self.headers.items():
            echoed[name] = f"{echoed[name]}, {value}" if name in echoed else value
        body = json.dumps(echoed, ensure_ascii=False, indent=1).encode()
        # Repeated response headers and a name in odd case: the WARC must keep both lines and the spelling.
        self._send(200, body, CONTENT_TYPES[".json"], {"X-Evidence-Case": "MiXeD"}, repeated=_REPEATED_HEADERS)
