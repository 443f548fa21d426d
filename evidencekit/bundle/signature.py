"""The bundle's own signature: a signed statement over its tag files and the items it holds.

The ledger excerpt proves each entry and artefact against the investigator's signed checkpoint, but on
its own cannot prove that the bundle still holds every item it was made with, nor that bag-info.txt
(who made the bag, for which case) is as written. The signed statement closes that gap: removing an
item, editing bag-info.txt or changing any payload file, even with every manifest recomputed, breaks it.
Body lines::

    evidencekit bundle
    <case origin>
    created <UTC time>
    bagit.txt sha256:<hex> blake3:<hex>
    bag-info.txt sha256:<hex> blake3:<hex>
    manifest-sha256.txt sha256:<hex> blake3:<hex>
    manifest-blake3.txt sha256:<hex> blake3:<hex>
    items <item id> <item id> ...

Each signed file carries both digests, so the chain payload file -> manifest -> statement -> key closes
with SHA-256 tools alone (sha256sum, shasum, Get-FileHash) as well as with b3sum. Statements made before
both digests were written name one digest per file (SHA-256, or BLAKE3 for manifest-blake3.txt); every
digest a line names is checked, whatever their number.

The statement is shipped three ways, as the checkpoint is: ``bundle-signature.txt`` (the C2SP signed note
evidencekit reads), ``bundle-signature.body`` (the signed text alone) and ``bundle-signature.sig`` (the raw
64-byte Ed25519 signature), so that ``openssl pkeyutl -verify -rawin`` checks it. All three are tag files,
listed in both tag manifests, which are written after them. The statement cannot name the tag manifests,
which list it (no file can hold its own digest), so the tag manifests are the one unsigned part: every file
they vouch for is either named in the statement or is the statement itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evidencekit.bundle.layout import BUNDLE_SIGNATURE, BUNDLE_SIGNATURE_BODY, BUNDLE_SIGNATURE_SIG
from evidencekit.errors import ValidationError
from evidencekit.hashing import Digests, hash_file
from evidencekit.keys import PublicKey, SigningKey
from evidencekit.ledger.notes import SignedNote, sign_note
from evidencekit.models import CaseInfo

_HEADER = "evidencekit bundle"
# The signed tag files; the payload manifests cover everything under data/.
SIGNED_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-blake3.txt")
DIGESTS = ("sha256", "blake3")
_LINES = 3 + len(SIGNED_FILES) + 1
_DIGEST = re.compile(r"(sha256|blake3):([0-9a-f]{64})")


def _file_line(root: Path, name: str) -> str:
    path = root / name
    if not path.is_file():
        return f"{name} missing"
    digests = hash_file(path)
    return name + "".join(f" {algorithm}:{getattr(digests, algorithm)}" for algorithm in DIGESTS)


def statement_body(root: Path, origin: str, created: str, items: Sequence[str]) -> str:
    """The text the bundle signature signs, for the bag as it now stands under ``root``."""
    files = "".join(_file_line(root, name) + "\n" for name in SIGNED_FILES)
    return f"{_HEADER}\n{origin}\ncreated {created}\n{files}items {' '.join(items)}\n"


def sign_bundle(root: Path, case: CaseInfo, items: Sequence[str], created: str, key: SigningKey) -> SignedNote:
    return sign_note(statement_body(root, case.origin, created, items), key)


def write_statement(root: Path, note: SignedNote) -> None:
    """bundle-signature.txt, and its body and first signature alone (.body, .sig) for openssl."""
    (root / BUNDLE_SIGNATURE).write_bytes(note.text().encode("utf-8"))
    (root / BUNDLE_SIGNATURE_BODY).write_bytes(note.body.encode("utf-8"))
    (root / BUNDLE_SIGNATURE_SIG).write_bytes(note.signatures[0].signature)


@dataclass(frozen=True)
class BundleStatement:
    origin: str
    created: str
    items: tuple[str, ...]
    note: SignedNote

    @property
    def names_both_digests(self) -> bool:
        """Made by a version that also ships the openssl form (each signed line names SHA-256 and BLAKE3)."""
        signed = self.note.body.split("\n")[3:-2]
        return all(len(_DIGEST.findall(line)) == len(DIGESTS) for line in signed)


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
        or any(not line.startswith(name + " ") for line, name in zip(lines[3:-1], SIGNED_FILES, strict=True))
    ):
        raise ValidationError(f"{BUNDLE_SIGNATURE} does not have the evidencekit bundle statement form")
    return BundleStatement(lines[1], lines[2][8:], tuple(lines[-1][6:].split()), note)


def _line_problem(root: Path, name: str, line: str) -> str | None:
    """What is wrong with one signed line for the file as it now is: unreadable digests, or a changed file."""
    named = line[len(name) + 1 :].split(" ")
    matches = [_DIGEST.fullmatch(token) for token in named]
    if not named or any(m is None for m in matches) or len({m.group(1) for m in matches if m}) != len(matches):
        return f"the signed line for {name} does not name its digests as sha256:<hex> blake3:<hex>"
    path = root / name
    if not path.is_file():
        return f"{name} changed after the bundle was signed (it is missing)"
    digests: Digests = hash_file(path)
    if any(getattr(digests, m.group(1)) != m.group(2) for m in matches if m):
        return f"{name} changed after the bundle was signed"
    return None


def statement_problems(root: Path, statement: BundleStatement, keys: Sequence[PublicKey]) -> list[str]:
    """Whether the signed statement still matches the tag files, and which bundled key signed it."""
    problems = []
    signed = statement.note.body.split("\n")[3:-2]
    for line, name in zip(signed, SIGNED_FILES, strict=True):
        problem = _line_problem(root, name, line)
        if problem is not None:
            problems.append(problem)
    if not any(statement.note.verify_with(key) for key in keys):
        problems.append("no bundled public key verifies the bundle signature")
    return problems


def raw_form_problems(root: Path, statement: BundleStatement, keys: Sequence[PublicKey]) -> list[tuple[str, str]]:
    """bundle-signature.body and .sig (what openssl checks) against the signed note and the keys that signed
    it: the same text, a signature the note holds, and one that a key of ``keys`` verifies over that text
    (not asked when ``keys`` is empty: the note's own check then reports it). Each problem as (file, message)."""
    body, sig = root / BUNDLE_SIGNATURE_BODY, root / BUNDLE_SIGNATURE_SIG
    missing = [(path.name, f"{path.name} is missing") for path in (body, sig) if not path.is_file()]
    if missing:
        return missing
    problems = []
    text, raw = body.read_bytes(), sig.read_bytes()
    if text != statement.note.body.encode("utf-8"):
        problems.append((body.name, f"{body.name} is not the text signed in {BUNDLE_SIGNATURE}"))
    if raw not in {s.signature for s in statement.note.signatures}:
        problems.append((sig.name, f"{sig.name} is not the signature held in {BUNDLE_SIGNATURE}"))
    if keys and not any(key.verify(text, raw) for key in keys):
        problems.append((sig.name, f"no bundled public key the ledger records verifies {sig.name} over {body.name}"))
    return problems
