"""Signed checkpoints in the C2SP signed-note and tlog-checkpoint formats.

The files that hold them outside the ledger (checkpoints.txt, the witness copy) are in ``witness``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evidencekit.errors import ValidationError
from evidencekit.keys import PublicKey, SigningKey, b64, check_note_key_name, unb64

EM_DASH = "\u2014"
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_MAX_TREE_SIZE = 2**63 - 1  # what SQLite and Go's checkpoint parsers can hold
_MAX_SIGNATURES = 100  # C2SP: verifiers should cap the count and must accept at least 16
_FORBIDDEN_IN_NOTES = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")


def check_note_text(text: str, what: str) -> None:
    """C2SP notes are UTF-8 without control characters other than newline."""
    found = _FORBIDDEN_IN_NOTES.search(text)
    if found is not None:
        index = text.count("\n", 0, found.start()) + 1
        raise ValidationError(f"{what} line {index} contains the forbidden character {found.group()!r}")


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in (("origin", self.origin), *(("extension line", e) for e in self.extensions)):
            if not line or "\n" in line:
                raise ValidationError(f"a checkpoint {what} must be one non-empty line")
            check_note_text(line, f"checkpoint {what}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise ValidationError(f"tree size {self.size!r} must be an integer from 0 to 2^63-1")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise ValidationError("a checkpoint root hash must be 32 bytes")

    def body(self) -> str:
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), b64(self.root), *self.extensions))

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        if not body.endswith("\n"):
            raise ValidationError("a checkpoint must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise ValidationError(f"a checkpoint needs origin, tree size and root hash lines; found {len(lines)}")
        for number, line in enumerate(lines, start=1):
            if not line:
                raise ValidationError(f"checkpoint line {number} is empty")
        if not _TREE_SIZE.fullmatch(lines[1]):
            raise ValidationError(f"checkpoint line 2: tree size {lines[1]!r} is not a decimal without leading 0")
        root = unb64(lines[2], "checkpoint line 3: root hash")
        return cls(lines[0], int(lines[1]), root, tuple(lines[3:]))


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key hash and the signature bytes that follow it."""

    name: str
    key_hash: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_note_key_name(self.name)
        if len(self.key_hash) != 4 or not self.signature:
            raise ValidationError("a note signature needs a 4-byte key hash and a non-empty signature")

    def line(self) -> str:
        return f"{EM_DASH} {self.name} {b64(self.key_hash + self.signature)}\n"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """Parse one signature line, given without its newline."""
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise ValidationError(f"not a signature line ('{EM_DASH} <key name> <base64>'): {line!r}")
        check_note_key_name(parts[1])
        data = unb64(parts[2], "signature")
        if len(data) < 5:
            raise ValidationError("a signature must hold a 4-byte key hash and the signature itself")
        return cls(parts[1], data[:4], data[4:])


@dataclass(frozen=True)
class SignedNote:
    """A C2SP signed note: ``body`` (ending in a newline) and at least one signature."""

    body: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        if not self.body.endswith("\n"):
            raise ValidationError("a note body must end with a newline")
        check_note_text(self.body, "note")
        if not 1 <= len(self.signatures) <= _MAX_SIGNATURES:
            raise ValidationError(f"a note needs 1 to {_MAX_SIGNATURES} signatures, not {len(self.signatures)}")

    def text(self) -> str:
        return self.body + "\n" + "".join(sig.line() for sig in self.signatures)

    @classmethod
    def parse(cls, text: str) -> SignedNote:
        if not text.endswith("\n"):
            raise ValidationError("a signed note must end with a newline")
        split = text.rfind("\n\n")  # C2SP: the last empty line separates text from signatures
        if split < 0:
            raise ValidationError("a signed note needs an empty line between its text and its signatures")
        body, sig_lines = text[: split + 1], text[split + 2 : -1].split("\n")
        first = body.count("\n") + 2
        signatures = []
        for number, line in enumerate(sig_lines, start=first):
            try:
                signatures.append(NoteSignature.parse_line(line))
            except ValidationError as exc:
                raise ValidationError(f"note line {number}: {exc.message}") from None
        return cls(body, tuple(signatures))

    def verify_with(self, key: PublicKey) -> bool:
        """True iff a signature by ``key`` (same name and key hash) verifies and none of its signatures fails.

        Signatures by other keys are ignored, as C2SP requires.
        """
        key_hash = key.note_key_hash()
        mine = [s for s in self.signatures if s.name == key.note_name and s.key_hash == key_hash]
        message = self.body.encode("utf-8")
        return bool(mine) and all(key.verify(message, s.signature) for s in mine)

    def checkpoint(self) -> Checkpoint:
        return Checkpoint.parse(self.body)


def sign_note(body: str, key: SigningKey) -> SignedNote:
    signature = key.sign(body.encode("utf-8"))
    return SignedNote(body, (NoteSignature(key.public.note_name, key.public.note_key_hash(), signature),))


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> SignedNote:
    return sign_note(checkpoint.body(), key)
