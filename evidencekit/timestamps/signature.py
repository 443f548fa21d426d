"""The CMS signature of a token, checked with the signer certificate's own key, and what else the exact
bytes say that ``rfc3161-client`` does not expose.

Why not the library's verifier alone: its only signature check (``pkcs7_verify``) verifies the chain to a
trusted root at the same time, and needs that root to be self-signed. A token from a TSA whose root the
verifier was not given (the usual case offline, and tokens that carry only the signer certificate) could
then not be told "intact, TSA not established" from "altered". So the signature itself is checked here, as
RFC 5652 section 5.4 says: the signed attributes' messageDigest equals the digest of the TSTInfo, and the
signature over the signed attributes (re-tagged as a SET) verifies with the signer's public key
(``cryptography``). The chain is checked separately (``token.check_token``, by the library).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from evidencekit.timestamps import _der

ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_CT_TST_INFO = "1.2.840.113549.1.9.16.1.4"
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_RSASSA_PSS = "1.2.840.113549.1.1.10"

DIGESTS: dict[str, str] = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "1.3.14.3.2.26": "sha1",
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha1": hashes.SHA1,
}


@dataclass(frozen=True)
class TokenParts:
    """What the bytes of an answer hold, found by walking them (not by strict parsing)."""

    status: int
    tst_info: bytes  # the exact eContent bytes the signature covers
    certificates: tuple[bytes, ...]  # DER, in the order they are in the token
    signer_info: _der.Element


def token_parts(data: bytes) -> TokenParts:
    """Walk a TimeStampResp holding a token (``DerError`` when it is not one)."""
    response = _der.whole(data, _der.SEQUENCE)
    status_info, token = response.child(0, _der.SEQUENCE), response.child(1, _der.SEQUENCE)
    status = _der.integer(status_info.child(0))
    if _der.oid(token.child(0)) != ID_SIGNED_DATA:
        raise _der.DerError("the token is not CMS SignedData")
    signed_data = token.child(1, _der.CONTEXT_0).child(0, _der.SEQUENCE)
    parts = signed_data.children()
    encapsulated = parts[2]
    if encapsulated.tag != _der.SEQUENCE or _der.oid(encapsulated.child(0)) != ID_CT_TST_INFO:
        raise _der.DerError("the token does not encapsulate a TSTInfo")
    tst_info = encapsulated.child(1, _der.CONTEXT_0).child(0, _der.OCTET_STRING).contents
    certificates: tuple[bytes, ...] = ()
    for part in parts[3:-1]:
        if part.tag == _der.CONTEXT_0:  # [0] IMPLICIT CertificateSet
            certificates = tuple(item.raw for item in part.children() if item.tag == _der.SEQUENCE)
    signer_infos = parts[-1]
    if signer_infos.tag != _der.SET or len(signer_infos.children()) != 1:
        raise _der.DerError("a token has exactly one SignerInfo")
    return TokenParts(status, tst_info, certificates, signer_infos.child(0, _der.SEQUENCE))


def looks_granted(data: bytes) -> bool:
    """Whether ``data`` walks as a TimeStampResp with status granted (0 or 1) holding a TSTInfo token: what
    a lax answer must look like to be kept although the strict parser refuses it."""
    try:
        return token_parts(data).status in (0, 1)
    except (_der.DerError, IndexError):
        return False


def gen_time_text(tst_info: bytes) -> str:
    """The GeneralizedTime of a TSTInfo as written (``20261202050421.123Z``): it keeps the fraction."""
    fields = _der.whole(tst_info, _der.SEQUENCE).children()
    for field in fields:
        if field.tag == _der.GENERALIZED_TIME:
            return field.contents.decode("ascii")
    raise _der.DerError("the TSTInfo has no genTime")


def signature_problem(parts: TokenParts, signer: x509.Certificate) -> str | None:
    """None when the token's signature holds with ``signer``'s key; else why not, in a few words."""
    try:
        fields = parts.signer_info.children()
        digest_name = DIGESTS.get(_der.oid(fields[2].child(0)))
        if digest_name is None:
            return "the signature's digest algorithm is not supported"
        signed_attributes = next((f for f in fields[3:] if f.tag == _der.CONTEXT_0), None)
        signature_algorithm = next(f for f in fields[3:] if f.tag == _der.SEQUENCE)
        signature = next(f for f in fields[3:] if f.tag == _der.OCTET_STRING).contents
    except (_der.DerError, IndexError, StopIteration):
        return "the signer information cannot be read"
    if signed_attributes is None:
        return "the signature has no signed attributes (RFC 3161 requires them)"
    try:
        attributes = _attributes(signed_attributes)
    except (_der.DerError, IndexError):
        return "the signed attributes cannot be read"
    if attributes.get(_CONTENT_TYPE) != ID_CT_TST_INFO:
        return "the signed content type is not TSTInfo"
    if attributes.get(_MESSAGE_DIGEST) != hashlib.new(digest_name, parts.tst_info).hexdigest():
        return "the signed message digest is not the digest of the token's TSTInfo"
    signed = bytes([_der.SET]) + signed_attributes.raw[1:]  # RFC 5652 5.4: signed as an explicit SET OF
    try:
        _verify(signer, signature, signed, digest_name, _der.oid(signature_algorithm.child(0)))
    except InvalidSignature:
        return "the signature does not verify with the signer certificate's key"
    except (UnsupportedAlgorithm, ValueError, TypeError, _der.DerError) as exc:
        return f"the signature cannot be checked ({exc})"
    return None


def _attributes(signed_attributes: _der.Element) -> dict[str, str]:
    """contentType (dotted) and messageDigest (hex) of the signed attributes."""
    found: dict[str, str] = {}
    for attribute in signed_attributes.children():
        kind = _der.oid(attribute.child(0))
        value = attribute.child(1, _der.SET).child(0)
        if kind == _CONTENT_TYPE:
            found[kind] = _der.oid(value)
        elif kind == _MESSAGE_DIGEST and value.tag == _der.OCTET_STRING:
            found[kind] = value.contents.hex()
    return found


def _verify(signer: x509.Certificate, signature: bytes, signed: bytes, digest_name: str, algorithm: str) -> None:
    key = signer.public_key()
    digest = _HASHES[digest_name]()
    if isinstance(key, rsa.RSAPublicKey):
        if algorithm == _RSASSA_PSS:
            pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.AUTO)
            key.verify(signature, signed, pss, digest)
        else:
            key.verify(signature, signed, padding.PKCS1v15(), digest)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, signed, ec.ECDSA(digest))
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key.verify(signature, signed)
    else:
        raise UnsupportedAlgorithm(f"{type(key).__name__} keys are not supported")
