"""TLS facts of a capture: the browser's own view (DevTools), and, when the browser refused a certificate,
the certificate the server presents, fetched over a separate unverified connection and labelled so."""

from __future__ import annotations

import base64
import socket
import ssl
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from playwright.async_api import CDPSession
from playwright.async_api import Error as PlaywrightError

BROWSER_SOURCE = "the browser's own connection (DevTools Network.getCertificate)"
PROBE_SOURCE = (
    "a separate TLS connection made by evidencekit from this host with certificate verification turned off, "
    "after the browser refused the certificate; not the browser's connection"
)


async def browser_certificate_chain(cdp: CDPSession, origin: str) -> list[str]:
    """The chain (leaf first, PEM) Chromium validated for ``origin``, or [] if it has none cached."""
    try:
        result = await cdp.send("Network.getCertificate", {"origin": origin})
    except PlaywrightError:
        return []
    return [ssl.DER_cert_to_PEM_cert(base64.b64decode(name)) for name in result.get("tableNames", [])]


def describe_security(details: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chromium's securityDetails of a response, in metadata form (integers and strings only)."""
    if not details:
        return None
    return {
        "protocol": details.get("protocol"),
        "cipher": details.get("cipher"),
        "mac": details.get("mac") or None,
        "key_exchange": details.get("keyExchange") or None,
        "key_exchange_group": details.get("keyExchangeGroup") or None,
        "subject": details.get("subjectName"),
        "issuer": details.get("issuer"),
        "san": [str(name) for name in details.get("sanList", [])],
        "valid_from": _epoch(details.get("validFrom")),
        "valid_to": _epoch(details.get("validTo")),
        "certificate_transparency": details.get("certificateTransparencyCompliance"),
        "signed_certificate_timestamps": len(details.get("signedCertificateTimestampList", [])),
        "server_signature_algorithm": _int_or_none(details.get("serverSignatureAlgorithm")),
        "encrypted_client_hello": bool(details.get("encryptedClientHello", False)),
    }


def describe_certificates(chain_pem: list[str]) -> list[dict[str, Any]]:
    """Who each certificate names and its SHA-256 fingerprint, so a reader need not decode the PEM."""
    described = []
    for pem in chain_pem:
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        except ValueError as exc:
            described.append({"error": f"unreadable certificate: {exc}"})
            continue
        described.append(
            {
                "subject": cert.subject.rfc4514_string(),
                "issuer": cert.issuer.rfc4514_string(),
                "serial_number": format(cert.serial_number, "x"),
                "not_before": _iso(cert.not_valid_before_utc),
                "not_after": _iso(cert.not_valid_after_utc),
                "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
            }
        )
    return described


def probe_presented_certificate(host: str, port: int, timeout_s: float) -> dict[str, Any]:
    """Connect to ``host:port``, accept any certificate, and return the chain presented (leaf first).

    Blocking; run it on a worker thread. Python before 3.13 exposes only the leaf certificate.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            chain_der = _presented_chain(tls)
            cipher = tls.cipher()
            return {
                "source": PROBE_SOURCE,
                "protocol": tls.version(),
                "cipher": cipher[0] if cipher else None,
                "chain_complete": len(chain_der) > 1 or hasattr(tls, "get_unverified_chain"),
                "certificate_chain_pem": [ssl.DER_cert_to_PEM_cert(der) for der in chain_der],
            }
    except (OSError, ssl.SSLError) as exc:
        return {"source": PROBE_SOURCE, "error": f"could not fetch the certificate: {exc}"}


def _presented_chain(tls: ssl.SSLSocket) -> list[bytes]:
    unverified = getattr(tls, "get_unverified_chain", None)  # Python 3.13+
    if unverified is not None:
        return [bytes(cert) for cert in unverified()]
    leaf = tls.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _epoch(value: Any) -> str | None:
    if not isinstance(value, int | float):
        return None
    return _iso(datetime.fromtimestamp(int(value), UTC))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None
