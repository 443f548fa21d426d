"""Verify a bundle: the one workflow a prosecutor or examiner runs. It loads no case code and no browser."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evidencekit.bundle.check.trust import load_anchor
from evidencekit.bundle.check.verify import BundleReport, verify_bundle


def verify_bundle_at(path: Path, keys: Sequence[str] = ()) -> BundleReport:
    """Verify a bundle; ``keys`` are trusted key ids or public key files (``evidencekit verify --key``)."""
    return verify_bundle(path, anchors=[load_anchor(spec) for spec in keys])
