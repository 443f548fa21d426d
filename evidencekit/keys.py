"""Investigator keys (Ed25519): generation, storage, loading, key ids.

Key ids. ``key_id`` (the project's own id, written into ledger entries) is the first 16 hex characters of
SHA-256 of the raw 32-byte Ed25519 public key. The *note key hash* in a signature line is the C2SP one:
the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || raw public key). The note key name is derived
from the investigator, ``evidencekit-<slug>-<key_id[:8]>``, rather than from the checkpoint origin (which
C2SP only recommends): the signer is a person, and several people may sign the same case log.

Key storage. ``<config_dir>/keys/<name>.pem`` holds the private key (PKCS#8 PEM, mode 0600, folder 0700;
encrypted with a passphrase when the investigator asks for one) and ``<name>.json`` the public facts
(investigator, note name, key id, public key, creation time). Files are written to a temporary name,
fsynced and then hard-linked into place, so a key is never half-written and never overwritten.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import stat
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from evidencekit.errors import KeyMissingError, OperationalError, UsageError, ValidationError
from evidencekit.fsutil import fsync_dir, write_new_file
from evidencekit.timefmt import format_time, utc_now

DEFAULT_KEY_NAME = "default"
ALGORITHM = "ed25519"
_ED25519_TYPE = b"\x01"  # the C2SP signature type byte for Ed25519
_KEY_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
PASSPHRASE_ENV = "EVIDENCEKIT_KEY_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret
PASSPHRASE_FILE_ENV = "EVIDENCEKIT_KEY_PASSPHRASE_FILE"  # noqa: S105
_PASSPHRASE_HELP = f"set {PASSPHRASE_ENV}, or {PASSPHRASE_FILE_ENV} to a file of mode 0600, or run on a terminal"

# Asked for a protected key's passphrase: returns it, or None when nobody can be asked. The library never
# prompts; the CLI passes one that asks on the terminal.
Ask = Callable[[str], str | None]


def config_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/evidencekit``, else ``~/.config/evidencekit`` (a relative XDG path is ignored)."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "evidencekit"
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".config" / "evidencekit"


def keys_dir(environ: Mapping[str, str]) -> Path:
    return config_dir(environ) / "keys"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, what: str) -> bytes:
    """Strict standard base64: only the alphabet, padded, and in the one canonical spelling."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValidationError(f"{what} is not valid base64: {text!r}") from None
    if b64(data) != text:
        raise ValidationError(f"{what} is not in canonical padded base64: {text!r}")
    return data


_FORBIDDEN_IN_KEY_NAMES = re.compile(r"[\s+\x00-\x1f]")


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
            "public_key": b64(self.raw),
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
        raw = unb64(fields["public_key"], "public key")
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
        return f"{self.note_name}+{self.note_key_hash().hex()}+{b64(_ED25519_TYPE + self.raw)}"

    @classmethod
    def from_vkey(cls, vkey: str) -> PublicKey:
        name, _, rest = vkey.partition("+")
        key_hash, _, encoded = rest.partition("+")
        data = unb64(encoded, "verifier key")
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

    def private_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM; with a passphrase, encrypted (``ENCRYPTED PRIVATE KEY``) by the best scheme available."""
        protection: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        return self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection)


def passphrase_from_environment(environ: Mapping[str, str]) -> bytes | None:
    """The key passphrase for unattended runs: ``$EVIDENCEKIT_KEY_PASSPHRASE``, else the file named by
    ``$EVIDENCEKIT_KEY_PASSPHRASE_FILE`` (readable by its owner alone; one trailing newline is ignored)."""
    text = environ.get(PASSPHRASE_ENV)
    if text:
        return text.encode("utf-8")
    named = environ.get(PASSPHRASE_FILE_ENV)
    if not named:
        return None
    path = Path(named)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{PASSPHRASE_FILE_ENV} names {path}, which is not a regular file")
        if info.st_mode & 0o077:
            raise UsageError(
                f"the passphrase file {path} is open to other users (mode {info.st_mode & 0o777:o}); "
                f"run `chmod 600 {path}`"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the passphrase file {path}: {exc.strerror or exc}") from None
    data = data.removesuffix(b"\n").removesuffix(b"\r")
    if not data:
        raise UsageError(f"the passphrase file {path} is empty")
    return data


def passphrase_source(environ: Mapping[str, str], ask: Ask | None = None) -> Callable[[str], bytes | None]:
    """Where a protected key's passphrase comes from: the environment first, then ``ask`` (a prompt)."""

    def source(prompt: str) -> bytes | None:
        found = passphrase_from_environment(environ)
        if found is None and ask is not None:
            answer = ask(prompt)
            found = answer.encode("utf-8") if answer else None
        return found

    return source


def _decode_private(pem_path: Path, data: bytes, passphrase: Callable[[str], bytes | None] | None) -> PrivateKeyTypes:
    if not data.lstrip().startswith(_ENCRYPTED_PEM):
        try:
            return serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise UsageError(f"{pem_path} is not an unencrypted PKCS#8 PEM private key") from None
    secret = passphrase(f"Passphrase for {pem_path}") if passphrase is not None else None
    if not secret:
        raise UsageError(f"the key {pem_path} is protected by a passphrase; {_PASSPHRASE_HELP}")
    try:
        return serialization.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UsageError(f"wrong passphrase for the key {pem_path} (or the file is damaged)") from None


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


def key_exists(keys_dir: Path, name: str = DEFAULT_KEY_NAME) -> bool:
    return _key_paths(keys_dir, name)[0].exists()


def is_protected(keys_dir: Path, name: str = DEFAULT_KEY_NAME) -> bool:
    """Whether the private key file is encrypted with a passphrase (read from its PEM label alone)."""
    pem_path = _key_paths(keys_dir, name)[0]
    try:
        with pem_path.open("rb") as handle:
            return handle.read(len(_ENCRYPTED_PEM) + 64).lstrip().startswith(_ENCRYPTED_PEM)
    except OSError as exc:
        raise UsageError(f"cannot read {pem_path}: {exc.strerror or exc}") from None


def generate_key(
    keys_dir: Path, investigator: str, name: str = DEFAULT_KEY_NAME, *, passphrase: bytes | None = None
) -> SigningKey:
    """Create a new key pair; never replaces an existing key of the same name. With ``passphrase`` the
    private key is written encrypted, and loading it needs the passphrase."""
    key = new_signing_key(investigator)
    save_key(keys_dir, key, name, passphrase=passphrase)
    return key


def new_signing_key(investigator: str) -> SigningKey:
    """A fresh Ed25519 key pair, in memory only (``save_key`` writes it)."""
    return SigningKey(Ed25519PrivateKey.generate(), investigator.strip())


def save_key(keys_dir: Path, key: SigningKey, name: str, *, passphrase: bytes | None = None) -> None:
    """Write ``key`` under ``name``; never replaces an existing key of that name."""
    pem_path, json_path = _key_paths(keys_dir, name)
    for path in (pem_path, json_path):
        if path.exists():
            raise UsageError(f"a key named {name!r} already exists ({path}); refusing to overwrite it")
    if passphrase is not None and not 1 <= len(passphrase) <= 1023:  # what PEM encryption accepts
        raise UsageError("a key passphrase must be 1 to 1023 bytes long")
    sidecar = {"investigator": key.investigator, "created": format_time(utc_now()), **key.public.to_dict()}
    text = json.dumps(sidecar, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        if not keys_dir.is_dir():
            keys_dir.mkdir(parents=True, mode=0o700)
            keys_dir.chmod(0o700)  # mkdir's mode is filtered by the umask
        # The sidecar goes first: a private key file on disk then always has its public facts beside it.
        _write_new_file(json_path, text.encode("utf-8"), 0o600)
        _write_new_file(pem_path, key.private_pem(passphrase), 0o600)
    except OSError as exc:
        raise OperationalError(f"cannot write the key to {keys_dir}: {exc.strerror or exc}") from None


RETIRED_PREFIX = "retired-"
STAGED_PREFIX = "next-"


def key_names(keys_dir: Path, prefix: str) -> list[str]:
    """The names of the keys kept under ``prefix`` (``RETIRED_PREFIX``: keys replaced by ``keys rotate``;
    ``STAGED_PREFIX``: a new key whose rotation has not finished)."""
    if not keys_dir.is_dir():
        return []
    return sorted(p.stem for p in keys_dir.glob(f"{prefix}*.pem") if _KEY_FILE_NAME.fullmatch(p.stem))


def promote_key(keys_dir: Path, staged: str, retired: str, name: str = DEFAULT_KEY_NAME) -> None:
    """Make the key ``staged`` the one in use (``name``), keeping the one it replaces as ``retired``.

    Nothing is overwritten: the old files are linked to their retired name before the new ones take the
    name in use, so at every moment each key is on disk under at least one name.
    """
    (old_pem, old_json), (new_pem, new_json) = _key_paths(keys_dir, name), _key_paths(keys_dir, staged)
    keep_pem, keep_json = _key_paths(keys_dir, retired)
    try:
        for source, target in ((old_json, keep_json), (old_pem, keep_pem)):
            if not target.exists():
                target.hardlink_to(source)
        for source, target in ((new_json, old_json), (new_pem, old_pem)):
            source.replace(target)
        fsync_dir(keys_dir)
    except OSError as exc:
        raise OperationalError(f"cannot put the new key in place in {keys_dir}: {exc.strerror or exc}") from None


def read_public_facts(keys_dir: Path, name: str = DEFAULT_KEY_NAME) -> tuple[str, PublicKey]:
    """The investigator and public key from the sidecar, without touching the private key (no passphrase)."""
    pem_path, json_path = _key_paths(keys_dir, name)
    if not pem_path.exists():
        raise KeyMissingError(
            f"no investigator key named {name!r} in {keys_dir}; run `evidencekit keys generate` to create one"
        )
    try:
        sidecar = json.loads(json_path.read_text(encoding="utf-8"))
        return str(sidecar["investigator"]), PublicKey.from_dict(sidecar)
    except FileNotFoundError:
        raise UsageError(f"{json_path} is missing; the key {name!r} cannot be used without it") from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError, UsageError) as exc:
        raise UsageError(f"{json_path} is damaged: {exc}") from None


def load_key(
    keys_dir: Path, name: str = DEFAULT_KEY_NAME, *, passphrase: Callable[[str], bytes | None] | None = None
) -> SigningKey:
    """Load a key; ``passphrase`` is asked (with a prompt text) only when the key is protected."""
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
        data = pem_path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {pem_path}: {exc.strerror or exc}") from None
    private = _decode_private(pem_path, data, passphrase)
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
