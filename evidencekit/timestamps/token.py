"""Reading and checking an RFC 3161 answer offline: strictly parsed by ``rfc3161-client``, or refused.

What "intact" and "established" mean here, as for investigator keys:
- intact: the answer parses strictly, is granted, its imprint is the digest of the message, its CMS
  signature holds with the signer certificate it carries (``signature``), that certificate has the
  critical timeStamping EKU and was valid at genTime, and (when one was asked) the nonce is the one asked.
- established: besides a holding signature, the signer's chain reaches one of the given trust anchors at
  genTime (checked by ``rfc3161-client``'s verifier, which also holds the chain to the timeStamping
  purpose). Without anchors nothing is established: "token intact, TSA not established".
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import rfc3161_client
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID

from evidencekit.errors import ValidationError
from evidencekit.timestamps import _der, signature

NOT_PARSED = "stored, not parsed strictly"
# What a problem of ``check_token`` concerns: the strict parser refused the answer; it holds no granted
# token; the imprint is not the message's digest; the nonce is not the one asked; the CMS signature (or the
# signer certificate needed to check it); the signer's timeStamping EKU; a certificate not valid at genTime.
PROBLEM_KINDS = ("unparsed", "status", "imprint", "nonce", "signature", "eku", "certificate")
_STATUS_NAMES = {
    0: "granted",
    1: "granted with modifications",
    2: "rejection",
    3: "waiting",
    4: "revocation warning",
    5: "revocation notification",
}


class TokenUnparsed(ValidationError):
    """The strict parser refused an answer (``kind`` "unparsed"), or it holds no token to read facts from
    (not granted: "status"), or its imprint's hash algorithm is not one this checks ("imprint")."""

    def __init__(self, message: str, *, kind: str = "unparsed") -> None:
        super().__init__(message)
        self.kind = kind


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
    its chain reaches one of the given anchors at genTime. ``parsed`` False: the strict parser refused it.
    ``kinds``: what each problem concerns, in the same order (one of ``PROBLEM_KINDS``), so that a rulebook
    can code them without reading the words."""

    parsed: bool
    facts: TokenFacts | None
    problems: tuple[str, ...]
    established: bool
    kinds: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        return self.parsed and not self.problems


def read_token(data: bytes) -> TokenFacts:
    """The facts of an answer; ``TokenUnparsed`` (a ValidationError) when the strict parser refuses it."""
    return _read(data)[1]


def _read(data: bytes) -> tuple[rfc3161_client.TimeStampResponse, TokenFacts, signature.TokenParts]:
    response = _parse(data)
    status = response.status
    if status not in (0, 1):
        said = "; ".join(response.status_string)
        raise TokenUnparsed(
            f"the TSA did not grant a timestamp (status {_STATUS_NAMES.get(status, status)}"
            + (f": {said}" if said else "")
            + ")",
            kind="status",
        )
    try:
        # The library parses the TSTInfo when it is first asked for: a malformed one is refused here.
        info = response.tst_info
        hash_oid = info.message_imprint.hash_algorithm.dotted_string
        gen_time, serial, policy = info.gen_time, info.serial_number, info.policy.dotted_string
        accuracy, imprint, token_nonce = _accuracy(info), info.message_imprint.message, info.nonce
        # The bytes the signature covers, the fraction of genTime and the certificates in their order.
        parts = signature.token_parts(data)
        gen_time_text = signature.gen_time_text(parts.tst_info)
    except (ValueError, IndexError, AttributeError) as exc:  # DerError is a ValueError; no policy: None
        raise TokenUnparsed(f"{NOT_PARSED}: {_short(exc)}") from None
    algorithm = signature.DIGESTS.get(hash_oid)
    if algorithm is None or algorithm == "sha1":
        raise TokenUnparsed(f"the token's hash algorithm {hash_oid} is not supported", kind="imprint")
    certificates = _signer_first(parts)
    signer = _signer(parts, certificates)
    facts = TokenFacts(
        gen_time=_gen_time(gen_time_text, gen_time),
        serial_number=format(serial, "x"),
        policy=policy,
        accuracy_seconds=accuracy,
        hash_algorithm=algorithm,
        imprint=imprint,
        nonce=token_nonce,
        certificates=certificates,
        tsa_name=None if signer is None else _subject(signer),
    )
    return response, facts, parts


def _subject(certificate: x509.Certificate) -> str | None:
    try:
        return certificate.subject.rfc4514_string()
    except ValueError:
        return None


def _parse(data: bytes) -> rfc3161_client.TimeStampResponse:
    try:
        response = rfc3161_client.decode_timestamp_response(data)
    except ValueError as exc:
        raise TokenUnparsed(f"{NOT_PARSED}: {_short(exc)}") from None
    if response.status in (0, 1):
        # A granted answer must hold a token: one without is a TSA's fault to say as such, told apart (by
        # walking the bytes) from a token the parser refuses.
        try:
            holds_token = len(_der.whole(data, _der.SEQUENCE).children()) >= 2
        except _der.DerError:
            holds_token = False
        if not holds_token:
            raise TokenUnparsed("the answer says granted but holds no token", kind="status")
    return response


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _gen_time(text: str, parsed: datetime) -> datetime:
    """genTime with its fraction of a second (``rfc3161-client`` gives whole seconds only)."""
    if "." in text and text.endswith("Z"):
        digits = text[text.index(".") + 1 : -1]
        if digits.isdigit():
            micro = int((digits + "000000")[:6])
            return parsed.astimezone(UTC).replace(microsecond=micro)
    return parsed.astimezone(UTC)


def _accuracy(info: rfc3161_client.TimeStampTokenInfo) -> float | None:
    accuracy = info.accuracy
    if accuracy is None:
        return None
    return (accuracy.seconds or 0) + (accuracy.millis or 0) / 1000 + (accuracy.micros or 0) / 1_000_000


def _signer_identity(parts: signature.TokenParts) -> tuple[bytes, int] | None:
    """The issuer (DER) and serial number that the SignerInfo names (issuerAndSerialNumber), if it does."""
    try:
        sid = parts.signer_info.child(1)
        if sid.tag != _der.SEQUENCE:
            return None
        return sid.child(0, _der.SEQUENCE).raw, _der.integer(sid.child(1))
    except (_der.DerError, IndexError):
        return None


def _certificate(der: bytes) -> x509.Certificate | None:
    """A carried certificate, or None when ``cryptography`` cannot read it (it then takes no part)."""
    try:
        with warnings.catch_warnings():  # a negative serial number is a flaw of the TSA's CA, said elsewhere
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion):
        return None


def _is_signer(der: bytes, identity: tuple[bytes, int] | None) -> bool:
    cert = _certificate(der)
    if identity is None or cert is None:
        return False
    try:  # cryptography reads a certificate's fields when asked for them
        return cert.issuer.public_bytes() == identity[0] and cert.serial_number == identity[1]
    except ValueError:
        return False


def _names(der: bytes) -> tuple[x509.Name, x509.Name] | None:
    """(subject, issuer) of a certificate, None when they cannot be read."""
    cert = _certificate(der)
    try:
        return None if cert is None else (cert.subject, cert.issuer)
    except ValueError:
        return None


def _signer_first(parts: signature.TokenParts) -> tuple[bytes, ...]:
    """The carried certificates, the signer's first, then each one's issuer when carried, then the rest."""
    identity = _signer_identity(parts)
    remaining = list(dict.fromkeys(parts.certificates))  # a lax TSA may carry its own certificate twice
    ordered = [der for der in remaining if _is_signer(der, identity)][:1]
    for der in ordered:
        remaining.remove(der)
    while ordered and remaining:
        last = _names(ordered[-1])
        if last is None or last[0] == last[1]:  # unreadable, or self-signed: the chain ends
            break
        following = next((d for d in remaining if (n := _names(d)) is not None and n[0] == last[1]), None)
        if following is None:
            break
        ordered.append(following)
        remaining.remove(following)
    return tuple(ordered + remaining)


def _signer(parts: signature.TokenParts, certificates: Sequence[bytes]) -> x509.Certificate | None:
    identity = _signer_identity(parts)
    for der in certificates:
        if _is_signer(der, identity):
            return _certificate(der)
    return None


def check_token(
    data: bytes, message: bytes, anchors: Sequence[x509.Certificate] = (), *, nonce: int | None = None
) -> TokenCheck:
    """Hold ``data`` to ``message`` (the exact bytes stamped) and, when given, the trust ``anchors``."""
    try:
        response, facts, parts = _read(data)
    except TokenUnparsed as exc:
        parsed = exc.kind != "unparsed"
        return TokenCheck(parsed=parsed, facts=None, problems=(exc.message,), established=False, kinds=(exc.kind,))
    found: list[tuple[str, str]] = []
    if facts.imprint != hashlib.new(facts.hash_algorithm, message).digest():
        found.append(
            ("imprint", f"the token's imprint is not the {facts.hash_algorithm} of the message (another message)")
        )
    if nonce is not None and facts.nonce != nonce:
        found.append(("nonce", "the token's nonce is not the one asked (a replayed or foreign answer)"))
    try:
        return _check_signer(response, facts, parts, anchors, found)
    except Exception as exc:  # hostile bytes: any certificate field cryptography cannot read
        found.append(("signature", f"the signer's certificate cannot be read ({_short(exc)})"))
        return _check(facts, found, established=False)


def _check_signer(
    response: rfc3161_client.TimeStampResponse,
    facts: TokenFacts,
    parts: signature.TokenParts,
    anchors: Sequence[x509.Certificate],
    found: list[tuple[str, str]],
) -> TokenCheck:
    signer = _signer(parts, facts.certificates) or _signer(parts, [a.public_bytes(Encoding.DER) for a in anchors])
    if signer is None:
        found.append(("signature", "the token carries no signer certificate, so its signature cannot be checked"))
        return _check(facts, found, established=False)
    signature_problem = signature.signature_problem(parts, signer)
    if signature_problem is not None:
        found.append(("signature", signature_problem))
    found.extend(("eku", problem) for problem in _eku_problems(signer))
    found.extend(("certificate", problem) for problem in _validity_problems(signer, facts.gen_time))
    return _check(facts, found, established=signature_problem is None and _established(response, anchors))


def _check(facts: TokenFacts, found: Sequence[tuple[str, str]], *, established: bool) -> TokenCheck:
    return TokenCheck(
        parsed=True,
        facts=facts,
        problems=tuple(text for _kind, text in found),
        established=established,
        kinds=tuple(kind for kind, _text in found),
    )


def _eku_problems(signer: x509.Certificate) -> list[str]:
    """RFC 3161 2.3: the TSA certificate has exactly one extended key usage, timeStamping, marked critical."""
    try:
        extension = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return ["the TSA certificate has no timeStamping extended key usage"]
    except ValueError:
        return ["the TSA certificate's extensions cannot be read"]
    if ExtendedKeyUsageOID.TIME_STAMPING not in extension.value:
        return ["the TSA certificate's extended key usage does not include timeStamping"]
    if not extension.critical:
        return ["the TSA certificate's timeStamping extended key usage is not marked critical"]
    return []


def _validity_problems(signer: x509.Certificate, gen_time: datetime) -> list[str]:
    start, end = signer.not_valid_before_utc, signer.not_valid_after_utc
    if start <= gen_time <= end:
        return []
    when = "after it expired" if gen_time > end else "before it was valid"
    return [
        f"the TSA certificate was not valid at genTime {gen_time.strftime('%Y-%m-%dT%H:%M:%SZ')} ({when}; valid "
        f"{start.strftime('%Y-%m-%dT%H:%M:%SZ')} to {end.strftime('%Y-%m-%dT%H:%M:%SZ')})"
    ]


def _established(response: rfc3161_client.TimeStampResponse, anchors: Sequence[x509.Certificate]) -> bool:
    """Whether the signer's chain (the token's certificates as intermediates) reaches one of ``anchors`` at
    genTime, for the timeStamping purpose: ``rfc3161-client``'s verifier, over the token's own imprint (the
    imprint against the message is checked on its own, above)."""
    if not anchors:
        return False
    unique = list({a.public_bytes(Encoding.DER): a for a in anchors}.values())
    verifier = rfc3161_client.VerifierBuilder(roots=unique).build()
    try:
        return verifier.verify(response, response.tst_info.message_imprint.message)
    except Exception:  # VerificationError, or a carried certificate the library cannot read
        return False


def certificates_pem(data: bytes) -> bytes:
    """The certificates an answer carries, PEM, the signer's first (for ``openssl ts -verify -untrusted``).
    Read from the bytes, so it gives them for an answer kept but not parsed strictly too; empty when none."""
    try:
        parts = signature.token_parts(data)
    except (_der.DerError, IndexError):
        return b""
    pem = b""
    for der in _signer_first(parts):
        certificate = _certificate(der)
        if certificate is not None:
            pem += certificate.public_bytes(Encoding.PEM)
    return pem
