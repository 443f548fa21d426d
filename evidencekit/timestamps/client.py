"""Asking TSAs for tokens over HTTP (``application/timestamp-query``), all at once, each bounded by a timeout.
Never raises for a TSA's failure: each answer says what came back or why nothing usable did."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from evidencekit.timestamps.config import Authority
from evidencekit.timestamps.token import TokenCheck

DEFAULT_TIMEOUT = 10.0


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


def ask(
    authority: Authority, message: bytes, *, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], datetime]
) -> Answer:
    raise NotImplementedError


def ask_all(
    authorities: Sequence[Authority],
    message: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], datetime],
) -> list[Answer]:
    """Ask every authority at once (one thread each); answers in the order of ``authorities``."""
    raise NotImplementedError
