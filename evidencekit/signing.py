"""Investigator keys (Ed25519) and signed checkpoints in the C2SP signed-note and tlog-checkpoint formats.

Key ids. ``key_id`` (the project's own id, written into ledger entries) is the first 16 hex characters of
SHA-256 of the raw 32-byte Ed25519 public key. The *note key hash* in a signature line is the C2SP one:
the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || raw public key). The note key name is derived
from the investigator, ``evidencekit-<slug>-<key_id[:8]>``, rather than from the checkpoint origin (which
C2SP only recommends): the signer is a person, and several people may sign the same case log.

Key storage. ``<config_dir>/keys/<name>.pem`` holds the private key (PKCS#8 PEM, unencrypted, mode
0600, folder 0700) and ``<name>.json`` the public facts (investigator, note name, key id, public key,
creation time). Files are written to a temporary name, fsynced and then hard-linked into place, so a
key is never half-written and never overwritten.

Checkpoints file. Signed notes follow one another, each followed by one extra empty line. Notes in this
file must have bodies without empty lines (true of every checkpoint), so the first empty line of a note
separates body from signatures and the next empty line ends the note: the file splits unambiguously.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidencekit.errors import InputFileError, KeyMissingError, OperationalError, UsageError, ValidationError
from evidencekit.fsutil import fsync_dir, write_new_file

DEFAULT_KEY_NAME = "default"
ALGORITHM = "ed25519"
EM_DASH = "\u2014"
_ED25519_TYPE = b"\x01"  # the C2SP signature type byte for Ed25519
_KEY_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_MAX_TREE_SIZE = 2**63 - 1  # what SQLite and Go's checkpoint parsers can hold
_MAX_SIGNATURES = 100  # C2SP: verifiers should cap the count and must accept at least 16


def config_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/evidencekit``, else ``~/.config/evidencekit`` (a relative XDG path is ignored)."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "evidencekit"
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".config" / "evidencekit"


def keys_dir(environ: Mapping[str, str]) -> Path:
    return config_dir(environ) / "keys"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    """Strict standard base64: only the alphabet, padded, and in the one canonical spelling."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValidationError(f"{what} is not valid base64: {text!r}") from None
    if _b64(data) != text:
        raise ValidationError(f"{what} is not in canonical padded base64: {text!r}")
    return data


_FORBIDDEN_IN_NOTES = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")
_FORBIDDEN_IN_KEY_NAMES = re.compile(r"[\s+\x00-\x1f]")


def _check_text(text: str, what: str) -> None:
    """C2SP notes are UTF-8 without control characters other than newline."""
    found = _FORBIDDEN_IN_NOTES.search(text)
    if found is not None:
        index = text.count("\n", 0, found.start()) + 1
        raise ValidationError(f"{what} line {index} contains the forbidden character {found.group()!r}")


def check_note_key_name(name: str) -> None:
    if not name or _FORBIDDEN_IN_KEY_NAMES.search(name):
        raise ValidationError(f"key name {name!r} must be non-empty without spaces, '+' or control characters")


def compute_key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def derive_note_name(investigator: str, key_id: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", investigator).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-") or "investigator"
    return f"evidencekit-{slug}-{key_id[:8]}"


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with the name it signs notes under. ``key_id`` must match ``raw``."""

    note_name: str
    key_id: str
    raw: bytes

    def __post_init__(self) -> None:
        check_note_key_name(self.note_name)
        if not isinstance(self.raw, bytes) or len(self.raw) != 32:
            raise ValidationError("an Ed25519 public key must be 32 bytes")
        if self.key_id != compute_key_id(self.raw):
            raise ValidationError(f"key id {self.key_id!r} does not belong to this public key")

    @classmethod
    def from_raw(cls, raw: bytes, note_name: str) -> PublicKey:
        return cls(note_name=note_name, key_id=compute_key_id(raw), raw=raw)

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": ALGORITHM,
            "note_name": self.note_name,
            "key_id": self.key_id,
            "public_key": _b64(self.raw),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PublicKey:
        try:
            fields = {name: data[name] for name in ("algorithm", "note_name", "key_id", "public_key")}
        except KeyError as exc:
            raise ValidationError(f"a public key lacks the field {exc.args[0]!r}") from None
        if not all(isinstance(value, str) for value in fields.values()):
            raise ValidationError("public key fields must be strings")
        if fields["algorithm"] != ALGORITHM:
            raise ValidationError(f"unsupported key algorithm {fields['algorithm']!r}; only ed25519 is known")
        raw = _unb64(fields["public_key"], "public key")
        return cls(note_name=fields["note_name"], key_id=fields["key_id"], raw=raw)

    def pem(self) -> str:
        """SubjectPublicKeyInfo PEM, for checking a signature with OpenSSL or other tools."""
        spki = Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return spki.decode("ascii")

    def note_key_hash(self) -> bytes:
        return hashlib.sha256(self.note_name.encode("utf-8") + b"\n" + _ED25519_TYPE + self.raw).digest()[:4]

    def vkey(self) -> str:
        """The verifier key string of Go's sumdb/note: ``<name>+<key hash hex>+<base64(0x01 || key)>``."""
        return f"{self.note_name}+{self.note_key_hash().hex()}+{_b64(_ED25519_TYPE + self.raw)}"

    @classmethod
    def from_vkey(cls, vkey: str) -> PublicKey:
        name, _, rest = vkey.partition("+")
        key_hash, _, encoded = rest.partition("+")
        data = _unb64(encoded, "verifier key")
        if data[:1] != _ED25519_TYPE or len(data) != 33:
            raise ValidationError("the verifier key is not an Ed25519 key")
        key = cls.from_raw(data[1:], name)
        if key.note_key_hash().hex() != key_hash:
            raise ValidationError(f"verifier key hash {key_hash!r} does not match the key")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class SigningKey:
    """An investigator's private key. Its repr never shows key material."""

    def __init__(self, private: Ed25519PrivateKey, investigator: str, note_name: str | None = None) -> None:
        if not investigator.strip():
            raise UsageError("a key needs the investigator's name")
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        key_id = compute_key_id(raw)
        self._private = private
        self.investigator = investigator
        self.public = PublicKey(note_name or derive_note_name(investigator, key_id), key_id, raw)

    def __repr__(self) -> str:
        return f"SigningKey(investigator={self.investigator!r}, note_name={self.public.note_name!r})"

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def private_pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _key_paths(directory: Path, name: str) -> tuple[Path, Path]:
    if not _KEY_FILE_NAME.fullmatch(name):
        raise UsageError(f"key name {name!r} must be 1-64 characters of A-Z a-z 0-9 . _ - (starting alphanumeric)")
    return directory / f"{name}.pem", directory / f"{name}.json"


def _write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` atomically, refusing to replace anything already there (a key is never overwritten)."""
    try:
        write_new_file(path, data, mode=mode)
    except FileExistsError:
        raise UsageError(f"{path} already exists; refusing to overwrite a key") from None


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def key_exists(keys_dir: Path, name: str = DEFAULT_KEY_NAME) -> bool:
    return _key_paths(keys_dir, name)[0].exists()


def generate_key(keys_dir: Path, investigator: str, name: str = DEFAULT_KEY_NAME) -> SigningKey:
    """Create a new key pair; never replaces an existing key of the same name."""
    pem_path, json_path = _key_paths(keys_dir, name)
    for path in (pem_path, json_path):
        if path.exists():
            raise UsageError(f"a key named {name!r} already exists ({path}); refusing to overwrite it")
    key = SigningKey(Ed25519PrivateKey.generate(), investigator.strip())
    sidecar = {"investigator": key.investigator, "created": _utc_now(), **key.public.to_dict()}
    text = json.dumps(sidecar, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        if not keys_dir.is_dir():
            keys_dir.mkdir(parents=True, mode=0o700)
            keys_dir.chmod(0o700)  # mkdir's mode is filtered by the umask
        # The sidecar goes first: a private key file on disk then always has its public facts beside it.
        _write_new_file(json_path, text.encode("utf-8"), 0o600)
        _write_new_file(pem_path, key.private_pem(), 0o600)
    except OSError as exc:
        raise OperationalError(f"cannot write the key to {keys_dir}: {exc.strerror or exc}") from None
    return key


def load_key(keys_dir: Path, name: str = DEFAULT_KEY_NAME) -> SigningKey:
    pem_path, json_path = _key_paths(keys_dir, name)
    try:
        info = pem_path.stat()
    except FileNotFoundError:
        raise KeyMissingError(
            f"no investigator key named {name!r} in {keys_dir}; run `evidencekit keys generate` to create one"
        ) from None
    if info.st_mode & 0o077:
        raise UsageError(
            f"{pem_path} is open to other users (mode {info.st_mode & 0o777:o}); run `chmod 600 {pem_path}`"
        )
    try:
        private = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
    except OSError as exc:
        raise UsageError(f"cannot read {pem_path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UsageError(f"{pem_path} is not an unencrypted PKCS#8 PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise UsageError(f"{pem_path} is not an Ed25519 key")
    try:
        sidecar = json.loads(json_path.read_text(encoding="utf-8"))
        stored = PublicKey.from_dict(sidecar)
        investigator = sidecar["investigator"]
        key = SigningKey(private, str(investigator), stored.note_name)
    except FileNotFoundError:
        raise UsageError(f"{json_path} is missing; the key {name!r} cannot be used without it") from None
    except (ValueError, TypeError, KeyError, AttributeError, UsageError) as exc:
        raise UsageError(f"{json_path} is damaged: {exc}") from None
    if key.public != stored:
        raise UsageError(f"{json_path} describes a different key than {pem_path}")
    return key


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
            _check_text(line, f"checkpoint {what}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise ValidationError(f"tree size {self.size!r} must be an integer from 0 to 2^63-1")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise ValidationError("a checkpoint root hash must be 32 bytes")

    def body(self) -> str:
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), _b64(self.root), *self.extensions))

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
        root = _unb64(lines[2], "checkpoint line 3: root hash")
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
        return f"{EM_DASH} {self.name} {_b64(self.key_hash + self.signature)}\n"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """Parse one signature line, given without its newline."""
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise ValidationError(f"not a signature line ('{EM_DASH} <key name> <base64>'): {line!r}")
        check_note_key_name(parts[1])
        data = _unb64(parts[2], "signature")
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
        _check_text(self.body, "note")
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


def note_texts_of_file(path: Path) -> list[str]:
    """The text of each note in a checkpoints file, split but not parsed: for a verifier that parses
    only the notes it has not already checked. A file that does not split cleanly: ValidationError."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not valid UTF-8") from None
    except OSError as exc:
        raise InputFileError(f"cannot read the checkpoints file {path}: {exc.strerror or exc}") from None
    parts = text.split("\n\n")
    if parts[-1] != "" or len(parts) % 2 != 1:
        read_notes_file(path)  # names the damaged line
        raise ValidationError(f"{path}: not a sequence of signed notes")
    return [f"{parts[i]}\n\n{parts[i + 1]}\n" for i in range(0, len(parts) - 1, 2)]


def read_notes_file(path: Path) -> list[SignedNote]:
    """Read a checkpoints file back; any damage raises ValidationError naming the file and line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"no such checkpoints file: {path}") from None
    except OSError as exc:
        raise InputFileError(f"cannot read the checkpoints file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(f"{path} line {line}: not valid UTF-8") from None
    lines = text.split("\n")
    if lines[-1]:
        raise ValidationError(f"{path} line {len(lines)}: the file ends inside a line (an interrupted write?)")
    lines.pop()

    def damaged(index: int, problem: str) -> ValidationError:
        return ValidationError(f"{path} line {index + 1}: {problem}")

    notes: list[SignedNote] = []
    i = 0
    while i < len(lines):
        start = i
        while i < len(lines) and lines[i]:
            try:
                _check_text(lines[i], "note")
            except ValidationError:
                raise damaged(i, "a forbidden control character") from None
            i += 1
        if i == start:
            raise damaged(i, "an empty line where a note should begin")
        if i == len(lines):
            raise damaged(i - 1, f"the note starting at line {start + 1} has no signatures")
        body = "".join(f"{line}\n" for line in lines[start:i])
        i += 1
        signatures = []
        while i < len(lines) and lines[i]:
            try:
                signatures.append(NoteSignature.parse_line(lines[i]))
            except ValidationError as exc:
                raise damaged(i, exc.message) from None
            i += 1
        if not signatures:
            raise damaged(min(i, len(lines) - 1), f"the note starting at line {start + 1} has no signatures")
        if i == len(lines):
            raise damaged(i - 1, "the last note lacks the empty line that ends it (an interrupted write?)")
        try:
            notes.append(SignedNote(body, tuple(signatures)))
        except ValidationError as exc:
            raise damaged(start, exc.message) from None
        i += 1
    return notes


def append_note_file(path: Path, note: SignedNote) -> None:
    """Append ``note`` and its terminating empty line, then fsync; creates the file if needed."""
    if "" in note.body[:-1].split("\n"):
        raise ValidationError("a note stored in a checkpoints file must not have empty lines in its body")
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size == 1 or (size >= 2 and os.pread(fd, 2, size - 2) != b"\n\n"):
            raise ValidationError(f"{path} does not end with a complete note; refusing to append to it")
        view = memoryview((note.text() + "\n").encode("utf-8"))
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder; the data is safe
            fsync_dir(path.parent)
