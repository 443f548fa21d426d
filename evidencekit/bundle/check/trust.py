"""Trust anchors: the investigator keys a verifier trusts, obtained from outside the bundle.

A bundle carries its own public keys, so on its own it can only show that it is consistent with itself:
anyone can make a flawless bundle under a new key with the same investigator name. What ties it to a
person is the key id (or the key) that the investigator published separately, e.g. from
``evidencekit keys show``. ``evidencekit verify --key`` takes one, in any of these forms:

* a key id: 16 hexadecimal characters (the first 64 bits of SHA-256 of the raw Ed25519 key);
* a path to a PEM file holding an Ed25519 SubjectPublicKeyInfo (as bundled in ``data/custody/keys``);
* a path to a JSON public key (``PublicKey.to_dict()``, as bundled, or ``keys show --json`` output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidencekit.errors import InputFileError, ValidationError
from evidencekit.fsutil import read_small_file
from evidencekit.keys import PublicKey, compute_key_id
from evidencekit.ledger.notes import SignedNote

_KEY_ID = re.compile(r"[0-9a-fA-F]{16}")
_MAX_KEY_FILE = 64 * 1024  # a public key file is a few hundred bytes


@dataclass(frozen=True)
class TrustAnchor:
    """A trusted key: its id, and its raw bytes when the whole key was given (not only its id)."""

    key_id: str
    raw: bytes | None = None

    def matches(self, key: PublicKey) -> bool:
        return key.key_id == self.key_id and (self.raw is None or key.raw == self.raw)


def signed_by_anchor(note: SignedNote, keys: Sequence[PublicKey], anchors: Sequence[TrustAnchor]) -> bool:
    """Whether one of ``keys`` that an anchor names verifies ``note``."""
    return any(note.verify_with(key) for key in keys if any(anchor.matches(key) for anchor in anchors))


def load_anchor(spec: str) -> TrustAnchor:
    """A key id or a public key file; InputFileError (a usage error) when it is neither."""
    if _KEY_ID.fullmatch(spec):
        return TrustAnchor(spec.lower())
    path = Path(spec)
    try:
        data = read_small_file(path, _MAX_KEY_FILE, "a public key (--key)")
    except InputFileError as exc:
        raise InputFileError(
            f"--key {spec!r} is neither a 16-hex key id nor a readable public key file ({exc})"
        ) from None
    if path.suffix.lower() == ".json" or data.lstrip()[:1] in (b"{", b"["):
        return _from_json(spec, data)
    return _from_pem(spec, data)


def _from_json(spec: str, data: bytes) -> TrustAnchor:
    try:
        key = PublicKey.from_dict(json.loads(data.decode("utf-8")))
    except (ValueError, TypeError, AttributeError, RecursionError, ValidationError) as exc:
        raise InputFileError(f"--key {spec}: not a JSON Ed25519 public key ({exc})") from None
    return TrustAnchor(key.key_id, key.raw)


def _from_pem(spec: str, data: bytes) -> TrustAnchor:
    try:
        loaded = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InputFileError(f"--key {spec}: not a PEM public key, a JSON public key or a 16-hex key id") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputFileError(f"--key {spec}: the PEM key is not an Ed25519 key")
    raw = loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return TrustAnchor(compute_key_id(raw), raw)
