"""Fetching one media URL with yt-dlp's networking (``YoutubeDL.urlopen``): the bytes are written to the
capture folder exactly as the server sent them (no transcoding, no remuxing, no post-processing), within
the capture's media size limit and deadline, through the browser's proxy, with the browser's cookies, and
never to a loopback or private address a page on a public address named (see ``private_network``).

Runs on a worker thread (blocking sockets); ``stop`` asks it to give up between two reads.
"""

from __future__ import annotations

import http.cookiejar
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yt_dlp
from yt_dlp.networking import Request
from yt_dlp.networking.exceptions import HTTPError, RequestError

from evidencekit.capture.private_network import protected
from evidencekit.timefmt import utc_now

CHUNK = 256 * 1024
# Outcomes of one fetch
KEPT, TOO_LARGE, TIMED_OUT, FAILED, BLOCKED, STOPPED = "kept", "too-large", "timed-out", "failed", "blocked", "stopped"
# Response headers recorded with a fetch (the rest describe the connection, not the file)
_KEPT_HEADERS = ("content-type", "content-length", "last-modified", "etag", "content-range", "date", "server")


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
    headers: dict[str, str] = field(default_factory=dict)
    fetched: datetime = field(default_factory=utc_now)


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
    ) -> None:
        self.logger = Quiet()
        self.ydl = yt_dlp.YoutubeDL({**params, "logger": self.logger})
        for cookie in cookies:
            self.ydl.cookiejar.set_cookie(_jar_cookie(cookie))
        self.max_bytes, self.deadline = max_bytes, deadline
        self.check_private, self.resolve_names = check_private, resolve_names
        self.stop = stop
        self.used = 0  # bytes kept so far, all media of the capture together

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

    def fetch(self, url: str, into: Path, headers: dict[str, str] | None = None) -> Fetched:
        """Fetch ``url`` into the scratch file ``into``; the caller registers it as an artefact if KEPT,
        and removes it otherwise (nothing half-written is ever registered)."""
        result = Fetched(url)
        if (address := self.refused(url)) is not None:
            result.outcome, result.error = BLOCKED, f"leads to the protected address {address}"
            return result
        if self.left() <= 0 or self.stop.is_set():
            result.outcome, result.error = TIMED_OUT, "the media time limit had passed before it was fetched"
            return result
        result.fetched = utc_now()
        try:
            response = self.ydl.urlopen(Request(url, headers=headers or {}, extensions={"timeout": self.left()}))
        except HTTPError as exc:
            result.status, result.error = exc.status, f"HTTP {exc.status} {exc.reason or ''}".strip()
            return result
        except (RequestError, OSError) as exc:
            result.outcome = TIMED_OUT if _timed_out(exc) or self.left() <= 0 else FAILED
            result.error = _message(exc)
            return result
        try:
            self._receive(response, result, into)
        finally:
            response.close()
        return result

    def _receive(self, response: Any, result: Fetched, into: Path) -> None:
        result.status, result.final_url = response.status, response.url
        result.headers = {k: str(response.headers[k]) for k in _KEPT_HEADERS if response.headers.get(k) is not None}
        result.media_type = (result.headers.get("content-type") or "").split(";", 1)[0].strip() or None
        if result.final_url != result.url and (address := self.refused(result.final_url)) is not None:
            result.outcome, result.error = BLOCKED, f"was redirected to the protected address {address}"
            return
        announced = result.headers.get("content-length", "")
        if announced.isdigit() and self.used + int(announced) > self.max_bytes:
            result.outcome, result.size = TOO_LARGE, int(announced)
            result.error = f"the server announced {announced} bytes"
            return
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
                    chunk = response.read(CHUNK)
                except (RequestError, OSError) as exc:
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


def _addresses(host: str, resolve_names: bool) -> list[str]:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        return [host]
    except OSError:
        pass
    if not resolve_names:
        lowered = host.lower().rstrip(".")
        return ["127.0.0.1"] if lowered == "localhost" or lowered.endswith(".localhost") else []
    try:
        return list({str(answer[4][0]) for answer in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)})
    except (OSError, UnicodeError):
        return []


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
    return " ".join(str(exc).split())[:300] or type(exc).__name__
