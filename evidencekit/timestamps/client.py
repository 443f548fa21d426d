"""Asking TSAs for tokens over HTTP (``application/timestamp-query``), all at once, each bounded by a timeout.
Never raises for a TSA's failure: each answer says what came back or why nothing usable did.

The request (``rfc3161-client``): the SHA-256 of the exact message bytes, a random 64-bit nonce, certReq.
The timeout bounds the whole exchange (connect, send, every byte of the answer): each exchange runs in its
own thread and is given up at the deadline, so a TSA that trickles its answer byte by byte is bounded too.
Redirects are not followed (a TSA's URL is configured, not discovered). Proxies from the environment
(``https_proxy``, ``no_proxy``) are honoured, as for any HTTP client.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import rfc3161_client
from cryptography import x509

from evidencekit import __version__
from evidencekit.timestamps.config import Authority, anchors
from evidencekit.timestamps.signature import looks_granted
from evidencekit.timestamps.token import TokenCheck, check_token

DEFAULT_TIMEOUT = 10.0
MAX_ANSWER = 1024 * 1024  # a token with its chain is a few KiB
SLACK = 0.5  # seconds ``ask_all`` may take beyond the timeout (checking the answers, joining threads)
QUERY_TYPE = "application/timestamp-query"


@dataclass(frozen=True)
class Answer:
    """What one TSA answered for one message. ``reason`` None: a token was obtained (``response`` holds the
    raw DER answer byte for byte; ``check.parsed`` False when it was kept but not parsed strictly). Otherwise
    ``reason`` says why there is none (down, timeout, HTTP error, garbage, wrong nonce or imprint, untrusted
    certificate), and ``response`` is what came back, if anything."""

    authority: Authority
    requested: datetime
    answered: datetime | None
    nonce: int | None
    response: bytes | None
    check: TokenCheck | None
    reason: str | None

    @property
    def obtained(self) -> bool:
        return self.reason is None


def ask(
    authority: Authority, message: bytes, *, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], datetime]
) -> Answer:
    """Ask one authority for a token over ``message``, within ``timeout`` seconds in all."""
    return _ask(authority, message, time.monotonic() + timeout, timeout, clock, anchors(authority))


def ask_all(
    authorities: Sequence[Authority],
    message: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], datetime],
) -> list[Answer]:
    """Ask every authority at once (one thread each); answers in the order of ``authorities``."""
    trusted = [anchors(authority) for authority in authorities]  # read before the clock starts
    deadline = time.monotonic() + timeout
    answers: list[Answer | None] = [None] * len(authorities)
    started: list[tuple[datetime, threading.Thread]] = []

    def run(index: int) -> None:
        try:
            answers[index] = _ask(authorities[index], message, deadline, timeout, clock, trusted[index])
        except Exception as exc:  # a fault of ours must not pass for the TSA's silence, nor stop the others
            requested = started[index][0]
            answers[index] = Answer(authorities[index], requested, None, None, None, None, f"not asked: {exc!r}")

    for index in range(len(authorities)):
        thread = threading.Thread(target=run, args=(index,), name=f"evidencekit-tsa-{index}", daemon=True)
        started.append((clock(), thread))
        thread.start()
    for _requested, thread in started:
        thread.join(max(0.0, deadline + SLACK - time.monotonic()))
    return [
        answer if answer is not None else Answer(authority, requested, None, None, None, None, _timed_out(timeout))
        for answer, authority, (requested, _thread) in zip(answers, authorities, started, strict=True)
    ]


def _timed_out(timeout: float) -> str:
    return f"no answer within the timeout of {timeout:g} s"


@dataclass
class _Exchange:
    """What the HTTP exchange of one request came to (filled by its thread)."""

    status: int | None = None
    content_type: str = ""
    body: bytes | None = None
    answered: datetime | None = None
    error: str | None = None
    done: bool = False


def _ask(
    authority: Authority,
    message: bytes,
    deadline: float,
    timeout: float,
    clock: Callable[[], datetime],
    trusted: Sequence[x509.Certificate],
) -> Answer:
    request = (
        rfc3161_client.TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(
            rfc3161_client.HashAlgorithm.SHA512
            if authority.hash_algorithm == "sha512"
            else rfc3161_client.HashAlgorithm.SHA256
        )
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    nonce = request.nonce
    requested = clock()
    exchange = _Exchange()
    worker = threading.Thread(
        target=_exchange, args=(authority.url, request.as_bytes(), deadline, clock, exchange), daemon=True
    )
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))

    def answer(reason: str | None, response: bytes | None = None, check: TokenCheck | None = None) -> Answer:
        return Answer(authority, requested, exchange.answered, nonce, response, check, reason)

    if not exchange.done:
        return Answer(authority, requested, None, nonce, None, None, _timed_out(timeout))
    if exchange.error is not None:
        return answer(exchange.error)
    body = exchange.body or b""
    if exchange.status != 200:
        return answer(f"the TSA answered HTTP {exchange.status}", body or None)
    if not body:
        return answer("the TSA answered HTTP 200 with an empty body")
    check = check_token(body, message, trusted, nonce=nonce)
    return answer(_reason(check, body, authority), body, check)


def _reason(check: TokenCheck, body: bytes, authority: Authority) -> str | None:
    """None when the answer is a token to keep; else why it is not."""
    if not check.parsed:
        if looks_granted(body):
            return None  # a lax token: kept byte for byte, "stored, not parsed strictly", never valid
        # The parser's own words (a Rust debug form such as "ParseError { kind: ShortData ... }") mean nothing
        # to the people who read the reason; what came stays in ``Answer.response`` for the caller.
        return f"the TSA answered garbage ({len(body)} bytes that are not an RFC 3161 answer)"
    if check.facts is None:
        return check.problems[0]
    if check.problems:
        return "; ".join(check.problems)
    if not check.established:
        trust = "its CA file" if authority.ca_pem is not None else "the system CA bundle"
        return f"untrusted certificate: the TSA's certificate chain does not reach {trust} at genTime"
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _exchange(url: str, query: bytes, deadline: float, clock: Callable[[], datetime], into: _Exchange) -> None:
    """POST ``query`` and read the answer, giving up at ``deadline``; the outcome goes ``into``."""
    request = urllib.request.Request(  # noqa: S310 - config.check_url allows only http(s) URLs
        url,
        data=query,
        method="POST",
        headers={
            "Content-Type": QUERY_TYPE,
            "Accept": "application/timestamp-reply",
            "User-Agent": f"evidencekit/{__version__}",
        },
    )
    try:
        remaining = max(0.05, deadline - time.monotonic())
        try:
            response = _OPENER.open(request, timeout=remaining)
        except urllib.error.HTTPError as exc:  # an error status (redirects too, as they are not followed)
            response = exc
        with response:
            into.status = response.status
            into.content_type = response.headers.get_content_type() if response.headers else ""
            into.body = _read_until(response, deadline)
            into.answered = clock()
    except _TooLate:
        into.error = "the TSA's answer did not complete within the timeout"
    except _TooLarge:
        into.error = f"the TSA's answer is larger than {MAX_ANSWER} bytes"
    except urllib.error.URLError as exc:
        into.error = _network_reason(exc.reason)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        into.error = _network_reason(exc)
    finally:
        into.done = True


class _TooLate(Exception):
    pass


class _TooLarge(Exception):
    pass


def _read_until(response: http.client.HTTPResponse | urllib.error.HTTPError, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise _TooLate
        chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER:
            raise _TooLarge
        chunks.append(chunk)


def _network_reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "the TSA refused the connection (nothing listens there: down?)"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "the TSA did not answer within the timeout"
    if isinstance(reason, socket.gaierror):
        return f"the TSA's host name could not be resolved ({reason.strerror or reason})"
    text = " ".join(str(reason).split()) or type(reason).__name__
    return f"the TSA could not be reached ({text})"
