"""The bundle's own signature: a C2SP signed note over its payload manifests and the items it holds.

The ledger excerpt proves each entry and artefact against the investigator's signed checkpoint, but on
its own cannot prove that the bundle still holds every item it was made with. ``bundle-signature.txt``
(a BagIt tag file, listed in the tag manifests) closes that gap: removing an item, even with every
manifest recomputed, breaks this signature. Body lines::

    evidencekit bundle
    <case origin>
    created <UTC time>
    manifest-sha256.txt sha256:<hex of that file>
    manifest-blake3.txt blake3:<hex of that file>
    items <item id> <item id> ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evidencekit.errors import ValidationError
from evidencekit.hashing import hash_file
from evidencekit.models import CaseInfo
from evidencekit.signing import PublicKey, SignedNote, SigningKey, sign_note

BUNDLE_SIGNATURE = "bundle-signature.txt"
_HEADER = "evidencekit bundle"


def _statement(root: Path, origin: str, created: str, items: Sequence[str]) -> str:
    sha = hash_file(root / "manifest-sha256.txt").sha256
    b3 = hash_file(root / "manifest-blake3.txt").blake3
    return (
        f"{_HEADER}\n{origin}\ncreated {created}\n"
        f"manifest-sha256.txt sha256:{sha}\nmanifest-blake3.txt blake3:{b3}\n"
        f"items {' '.join(items)}\n"
    )


def sign_bundle(root: Path, case: CaseInfo, items: Sequence[str], created: str, key: SigningKey) -> SignedNote:
    return sign_note(_statement(root, case.origin, created, items), key)


@dataclass(frozen=True)
class BundleStatement:
    origin: str
    created: str
    items: tuple[str, ...]
    note: SignedNote


def read_statement(root: Path) -> BundleStatement:
    """Parse bundle-signature.txt; ValidationError when it is missing or malformed."""
    path = root / BUNDLE_SIGNATURE
    try:
        note = SignedNote.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"{BUNDLE_SIGNATURE} is missing") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{BUNDLE_SIGNATURE} is not UTF-8 text") from None
    lines = note.body.rstrip("\n").split("\n")
    if (
        len(lines) != 6
        or lines[0] != _HEADER
        or not lines[2].startswith("created ")
        or not lines[5].startswith("items")
    ):
        raise ValidationError(f"{BUNDLE_SIGNATURE} does not have the evidencekit bundle statement form")
    return BundleStatement(lines[1], lines[2][8:], tuple(lines[5][6:].split()), note)


def statement_problems(root: Path, statement: BundleStatement, keys: Sequence[PublicKey]) -> list[str]:
    """Whether the signed statement still matches the manifests, and which bundled key signed it."""
    problems = []
    expected = _statement(root, statement.origin, statement.created, statement.items)
    if statement.note.body != expected:
        problems.append("the payload manifests changed after the bundle was signed")
    if not any(statement.note.verify_with(key) for key in keys):
        problems.append("no bundled public key verifies the bundle signature")
    return problems
