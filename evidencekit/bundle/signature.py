"""The bundle's own signature: a C2SP signed note over its tag files and the items it holds.

The ledger excerpt proves each entry and artefact against the investigator's signed checkpoint, but on
its own cannot prove that the bundle still holds every item it was made with, nor that bag-info.txt
(who made the bag, for which case) is as written. ``bundle-signature.txt`` (a BagIt tag file, listed in
the tag manifests) closes that gap: removing an item or editing bag-info.txt, even with every manifest
recomputed, breaks this signature. Body lines::

    evidencekit bundle
    <case origin>
    created <UTC time>
    bagit.txt sha256:<hex of that file>
    bag-info.txt sha256:<hex of that file>
    manifest-sha256.txt sha256:<hex of that file>
    manifest-blake3.txt blake3:<hex of that file>
    items <item id> <item id> ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evidencekit.bundle.layout import BUNDLE_SIGNATURE
from evidencekit.errors import ValidationError
from evidencekit.hashing import hash_file
from evidencekit.keys import PublicKey, SigningKey
from evidencekit.ledger.notes import SignedNote, sign_note
from evidencekit.models import CaseInfo

_HEADER = "evidencekit bundle"
# The signed tag files and the digest that stands for each; payload manifests cover everything under data/.
SIGNED_FILES = (
    ("bagit.txt", "sha256"),
    ("bag-info.txt", "sha256"),
    ("manifest-sha256.txt", "sha256"),
    ("manifest-blake3.txt", "blake3"),
)
_LINES = 3 + len(SIGNED_FILES) + 1


def _file_line(root: Path, name: str, algorithm: str) -> str:
    path = root / name
    if not path.is_file():
        return f"{name} missing"
    return f"{name} {algorithm}:{getattr(hash_file(path), algorithm)}"


def statement_body(root: Path, origin: str, created: str, items: Sequence[str]) -> str:
    """The text signed in bundle-signature.txt, for the bag as it now stands under ``root``."""
    files = "".join(_file_line(root, name, algorithm) + "\n" for name, algorithm in SIGNED_FILES)
    return f"{_HEADER}\n{origin}\ncreated {created}\n{files}items {' '.join(items)}\n"


def sign_bundle(root: Path, case: CaseInfo, items: Sequence[str], created: str, key: SigningKey) -> SignedNote:
    return sign_note(statement_body(root, case.origin, created, items), key)


@dataclass(frozen=True)
class BundleStatement:
    origin: str
    created: str
    items: tuple[str, ...]
    note: SignedNote


def read_statement(root: Path) -> BundleStatement:
    """Parse bundle-signature.txt; ValidationError when it is missing or malformed."""
    path = root / BUNDLE_SIGNATURE
    if not path.is_file():
        raise ValidationError(f"{BUNDLE_SIGNATURE} is missing")
    try:
        note = SignedNote.parse(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValidationError(f"{BUNDLE_SIGNATURE} is not UTF-8 text") from None
    lines = note.body.rstrip("\n").split("\n")
    if (
        len(lines) != _LINES
        or lines[0] != _HEADER
        or not lines[2].startswith("created ")
        or not (lines[-1] == "items" or lines[-1].startswith("items "))
        or any(not line.startswith(name + " ") for line, (name, _) in zip(lines[3:-1], SIGNED_FILES, strict=True))
    ):
        raise ValidationError(f"{BUNDLE_SIGNATURE} does not have the evidencekit bundle statement form")
    return BundleStatement(lines[1], lines[2][8:], tuple(lines[-1][6:].split()), note)


def statement_problems(root: Path, statement: BundleStatement, keys: Sequence[PublicKey]) -> list[str]:
    """Whether the signed statement still matches the tag files, and which bundled key signed it."""
    problems = []
    signed = statement.note.body.split("\n")[3:-2]
    for line, (name, algorithm) in zip(signed, SIGNED_FILES, strict=True):
        if _file_line(root, name, algorithm) != line:
            problems.append(f"{name} changed after the bundle was signed")
    if not any(statement.note.verify_with(key) for key in keys):
        problems.append("no bundled public key verifies the bundle signature")
    return problems
