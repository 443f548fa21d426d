"""Reading and checking an RFC 3161 answer offline: strictly parsed by ``rfc3161-client``, or refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509


@dataclass(frozen=True)
class TokenFacts:
    """What a strictly parsed answer (DER ``TimeStampResp``, status granted) says."""

    gen_time: datetime  # aware, UTC
    serial_number: str  # lower-case hex
    policy: str  # dotted OID
    accuracy_seconds: float | None  # None: the token states no accuracy
    hash_algorithm: str  # "sha256" or "sha512"
    imprint: bytes
    nonce: int | None
    certificates: tuple[bytes, ...]  # DER, the signer's first
    tsa_name: str | None  # the signer certificate's subject (RFC 4514), None when not carried


@dataclass(frozen=True)
class TokenCheck:
    """A token held to a message offline. ``problems``: why it is not intact (not parsed strictly, not
    granted, the imprint is not the message's digest, the signature does not verify, the signer has no
    critical timeStamping EKU, a certificate not valid at genTime, a nonce other than asked). ``established``:
    its chain reaches one of the given anchors at genTime. ``parsed`` False: the strict parser refused it."""

    parsed: bool
    facts: TokenFacts | None
    problems: tuple[str, ...]
    established: bool

    @property
    def intact(self) -> bool:
        return self.parsed and not self.problems


def read_token(data: bytes) -> TokenFacts:
    """The facts of an answer; ``TokenUnparsed`` (a ValidationError) when the strict parser refuses it."""
    raise NotImplementedError


def check_token(
    data: bytes, message: bytes, anchors: Sequence[x509.Certificate] = (), *, nonce: int | None = None
) -> TokenCheck:
    """Hold ``data`` to ``message`` (the exact bytes stamped) and, when given, the trust ``anchors``."""
    raise NotImplementedError


def certificates_pem(data: bytes) -> bytes:
    """The certificates an answer carries, PEM, the signer's first (for ``openssl ts -verify -untrusted``)."""
    raise NotImplementedError
