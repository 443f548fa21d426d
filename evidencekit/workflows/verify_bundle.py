"""Verify a bundle: the one workflow a prosecutor or examiner runs. It loads no case code and no browser."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from evidencekit.bundle.check.trust import load_anchor
from evidencekit.bundle.check.verify import BundleReport, verify_bundle
from evidencekit.errors import InputFileError
from evidencekit.fsutil import read_small_file

_MAX_ROOTS_FILE = 4 * 1024 * 1024


def load_tsa_roots(path: Path) -> list[x509.Certificate]:
    """The certificates of a PEM file given with ``--tsa-roots`` (InputFileError, a usage error, when none)."""
    data = read_small_file(path, _MAX_ROOTS_FILE, "TSA root certificates (--tsa-roots)")
    try:
        roots = x509.load_pem_x509_certificates(data)
    except ValueError:
        roots = []
    if not roots:
        raise InputFileError(f"--tsa-roots {path}: no PEM certificate in it")
    return roots


def verify_bundle_at(path: Path, keys: Sequence[str] = (), tsa_roots: Sequence[Path] = ()) -> BundleReport:
    """Verify a bundle; ``keys`` are trusted key ids or public key files (``evidencekit verify --key``),
    ``tsa_roots`` PEM files of the TSA roots the verifier trusts (``--tsa-roots``)."""
    roots = [cert for file in tsa_roots for cert in load_tsa_roots(file)]
    return verify_bundle(path, anchors=[load_anchor(spec) for spec in keys], tsa_roots=roots)
