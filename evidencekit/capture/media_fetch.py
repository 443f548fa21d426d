"""Fetching one media URL with yt-dlp's networking (``YoutubeDL.urlopen``): the bytes are written to a
scratch file exactly as the server sent them (no transcoding, no remuxing, no post-processing, and no
content decoding: ``Accept-Encoding: identity`` is asked for, and if a server encodes anyway the encoded
bytes are kept and the encoding recorded), within the capture's media size limit and deadline, through the
browser's proxy, with the browser's cookies, and never to a loopback or private address a page on a public
address named (see ``private_network``): every request yt-dlp makes (site extractors' included) and every
redirect hop is checked before it is made.

Runs on a worker thread (blocking sockets); ``stop`` asks it to give up between two reads.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from evidencekit.capture import private_network
from evidencekit.capture.private_network import protected
from evidencekit.capture.wording import first_line
from evidencekit.timefmt import utc_now

CHUNK = 256 * 1024
# Outcomes of one fetch
KEPT, TOO_LARGE, TIMED_OUT, FAILED, BLOCKED, STOPPED = "kept", "too-large", "timed-out", "failed", "blocked", "stopped"
# Response headers recorded with a fetch (the rest describe the connection, not the file)
_KEPT_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "last-modified",
    "etag",
    "content-range",
    "date",
    "server",
)
IDENTITY = {"Accept-Encoding": "identity"}  # the bytes as stored, never a decoded copy of them
MAX_REDIRECTS = 10


class Quiet:
    """yt-dlp's logger: nothing on the investigator's terminal, warnings collected for the metadata."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        if len(self.warnings) < 20:
            self.warnings.append(message[:300])

    def error(self, message: str) -> None:
        self.warning(message)


@dataclass(frozen=True)
class Cookie:
    """A cookie of the browser context, for yt-dlp's cookie jar; never recorded (see ``media``)."""

    name: str
    value: str
    domain: str
    path: str
    secure: bool
    expires: float | None


@dataclass
class Fetched:
    url: str
    outcome: str = FAILED
    status: int | None = None
    final_url: str | None = None
    media_type: str | None = None
    size: int = 0
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # the server's response headers, all of them
    redirects: list[dict[str, Any]] = field(default_factory=list)  # each hop followed: url, status, location
    content_encoding: str | None = None  # the server encoded the body although identity was asked for
    fetched: datetime = field(default_factory=utc_now)


class Refused(Exception):
    """A request yt-dlp was about to make (or a redirect it was about to follow) that must not be made."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class Fetcher:
    """One capture's yt-dlp instance and limits. ``check_private``: whether URLs must be refused when they
    lead to a loopback or private address (a page on a public address, the block not lifted);
    ``resolve_names``: False behind a proxy (the proxy resolves names, see ``private_network``)."""

    def __init__(
        self,
        params: dict[str, Any],
        cookies: list[Cookie],
        *,
        max_bytes: int,
        deadline: float,
        check_private: bool,
        resolve_names: bool,
        stop: threading.Event,
        page_url: str | None = None,
    ) -> None:
        from evidencekit.capture.media_ydl import guarded_ydl  # yt-dlp is imported only when media are fetched

        self.logger = Quiet()
        self.max_bytes, self.deadline = max_bytes, deadline
        self.check_private, self.resolve_names = check_private, resolve_names
        self.stop, self.page_url = stop, page_url
        self.used = 0  # bytes kept so far of the current file, or stream with its segments
        self.blocked: list[dict[str, str]] = []  # requests refused by the private-network rule
        self.hops: list[dict[str, Any]] = []  # redirects of the request under way
        self.ydl = guarded_ydl({**params, "logger": self.logger}, self)
        for cookie in cookies:
            self.ydl.cookiejar.set_cookie(_jar_cookie(cookie))

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def refused(self, url: str) -> str | None:
        """The protected address ``url`` leads to, if it must not be fetched."""
        if not self.check_private:
            return None
        host = (urlsplit(url).hostname or "").strip("[]")
        for address in _addresses(host, self.resolve_names):
            if protected(address):
                return address
        return None

    def before_request(self, url: str) -> None:
        """Called by yt-dlp (see ``media_ydl``) before each request it makes, extractors' included."""
        if self.stop.is_set():
            raise Refused(STOPPED, "the capture was interrupted")
        if self.left() <= 0:
            raise Refused(TIMED_OUT, "the media time limit had passed before it was requested")
        if (address := self.refused(url)) is not None:
            self.blocked.append({"url": url, "address": address})
            raise Refused(BLOCKED, f"leads to the protected address {address}")

    def before_redirect(self, url: str, status: int, location: str) -> None:
        """Called before a redirect is followed: the next hop is checked as a first request would be."""
        target = urljoin(url, location)
        self.hops.append({"url": url, "status": status, "location": target})
        if len(self.hops) > MAX_REDIRECTS:
            raise Refused(FAILED, f"more than {MAX_REDIRECTS} redirects")
        try:
            self.before_request(target)
        except Refused as refusal:
            if refusal.outcome == BLOCKED:
                raise Refused(BLOCKED, f"was redirected to {target}, which {refusal}") from None
            raise

    def fetch(self, url: str, into: Path, headers: dict[str, str] | None = None) -> Fetched:
        """Fetch ``url`` into the scratch file ``into``; the caller keeps it if KEPT, and removes it
        otherwise (nothing half-written is ever kept)."""
        from yt_dlp.networking import Request
        from yt_dlp.networking.exceptions import HTTPError, RequestError

        result = Fetched(url)
        self.hops = result.redirects
        if self.left() <= 0 or self.stop.is_set():
            result.outcome, result.error = TIMED_OUT, "the media time limit had passed before it was fetched"
            return result
        result.fetched = utc_now()
        asked = {**_referer(self.page_url, url), **(headers or {}), **IDENTITY}
        try:
            response = self.ydl.urlopen(Request(url, headers=asked, extensions={"timeout": self.left()}))
        except HTTPError as exc:
            result.status, result.error = exc.status, f"HTTP {exc.status} {exc.reason or ''}".strip()
            return result
        except (RequestError, OSError, Refused) as exc:
            refusal = _refusal(exc)
            if refusal is not None:
                result.outcome, result.error = refusal.outcome, str(refusal)
                return result
            result.outcome = TIMED_OUT if _timed_out(exc) or self.left() <= 0 else FAILED
            result.error = _message(exc)
            return result
        try:
            self._receive(response, result, into)
        finally:
            response.close()
        return result

    def _receive(self, response: Any, result: Fetched, into: Path) -> None:
        from yt_dlp.networking.exceptions import RequestError

        result.status, result.final_url = response.status, response.url
        result.headers = {str(k).lower(): str(v) for k, v in response.headers.items()}
        result.media_type = (result.headers.get("content-type") or "").split(";", 1)[0].strip() or None
        encoding = result.headers.get("content-encoding", "").strip().lower()
        result.content_encoding = encoding if encoding not in ("", "identity") else None
        peer = _peer(response) if self.check_private and self.resolve_names else None
        if peer is not None and protected(peer):
            # The name was checked before the request, yet the connection went to a protected address
            # (DNS answered differently the second time): nothing of it is read or kept.
            self.blocked.append({"url": result.final_url or result.url, "address": peer})
            result.outcome, result.error = BLOCKED, f"reached the protected address {peer}"
            return
        raw = _raw_reader(response)
        if raw is None and result.content_encoding is not None:
            # Only the decoded body could be read: that is not what the server sent, so it is not kept.
            result.error = f"the server sent it {encoding}-encoded and only a decoded copy could be read"
            return
        announced = result.headers.get("content-length", "")
        if announced.isdigit() and self.used + int(announced) > self.max_bytes:
            result.outcome, result.size = TOO_LARGE, int(announced)
            result.error = f"the server announced {announced} bytes"
            return
        read = raw or response.read
        size = 0
        with into.open("wb") as out:
            while True:
                if self.stop.is_set():
                    result.outcome, result.error = STOPPED, "the capture was interrupted"
                    return
                if self.left() <= 0:
                    result.outcome, result.error = TIMED_OUT, f"{size} bytes had arrived when the time limit came"
                    return
                try:
                    chunk = read(CHUNK)
                except (RequestError, OSError, ValueError) as exc:
                    result.outcome = TIMED_OUT if _timed_out(exc) or self.left() <= 0 else FAILED
                    result.error = f"{size} bytes had arrived, then: {_message(exc)}"
                    return
                if not chunk:
                    break
                size += len(chunk)
                if self.used + size > self.max_bytes:
                    result.outcome, result.size = TOO_LARGE, size
                    result.error = f"more than {self.max_bytes - self.used} bytes were sent; reading stopped there"
                    return
                out.write(chunk)
        self.used += size
        result.size, result.outcome = size, KEPT


def _raw_reader(response: Any) -> Any:
    """A reader of the body as it came off the wire (requests' urllib3 response, not decoded), if any."""
    raw = getattr(response, "fp", None)
    if raw is None or not hasattr(raw, "stream") or not callable(getattr(raw, "read1", None)):
        return None

    def read(amount: int) -> bytes:
        try:
            return bytes(raw.read1(amount, decode_content=False))  # what has arrived: a stop is seen soon
        except Exception as exc:  # urllib3's own errors (a read timeout, say) are no OSError
            raise OSError(f"{type(exc).__name__}: {first_line(exc)}") from exc

    return read


def _referer(page: str | None, url: str) -> dict[str, str]:
    """The Referer a browser would send (its default policy, strict-origin-when-cross-origin): the page's
    full URL to its own origin, only its origin to another (from https to http too, where a browser sends
    none: a small difference, recorded in the options)."""
    if not page:
        return {}
    there, here = urlsplit(page), urlsplit(url)
    if (there.scheme, there.netloc) == (here.scheme, here.netloc) and "@" not in there.netloc:
        return {"Referer": page}
    return {}  # yt-dlp's own Referer header: the page's origin (see ``media._params``)


def _peer(response: Any) -> str | None:
    """The address the response's connection went to (requests' urllib3 response), if it can be told."""
    try:
        address = response.fp.connection.sock.getpeername()[0]
    except (AttributeError, OSError, IndexError, TypeError):
        return None
    return str(address)


def _refusal(exc: BaseException) -> Refused | None:
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, Refused):
            return seen
        seen = getattr(seen, "cause", None) or seen.__cause__ or seen.__context__
    return None


def _addresses(host: str, resolve_names: bool) -> list[str]:
    """``private_network.resolve`` (bounded lookup), from this worker thread."""
    return asyncio.run(private_network.resolve(host, resolve_names))


def _jar_cookie(cookie: Cookie) -> http.cookiejar.Cookie:
    domain = cookie.domain
    return http.cookiejar.Cookie(
        version=0,
        name=cookie.name,
        value=cookie.value,
        port=None,
        port_specified=False,
        domain=domain,
        domain_specified=domain.startswith("."),
        domain_initial_dot=domain.startswith("."),
        path=cookie.path or "/",
        path_specified=True,
        secure=cookie.secure,
        expires=int(cookie.expires) if cookie.expires and cookie.expires > 0 else None,
        discard=False,
        comment=None,
        comment_url=None,
        rest={},
    )


def _timed_out(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "timed out" in text or "timeout" in text


def _message(exc: BaseException) -> str:
    return first_line(exc)
