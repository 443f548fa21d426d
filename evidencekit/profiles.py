"""Browser profiles for logged-in capture: a named storage state (cookies, local storage) and its settings.

A profile lives in the investigator's config folder, never in a case: ``<config>/profiles/<NAME>/`` (mode
0700) holds ``profile.json`` (the settings: the account's display name, the logged-in check, the vantage)
and ``state.json`` (the Playwright storage state, unencrypted) or ``state.enc`` (the same, encrypted), each
mode 0600. Encryption, when a passphrase is set (``EVIDENCEKIT_PROFILE_PASSPHRASE``, or the key passphrase),
is scrypt for the key and AES-256-GCM for the state, with the profile's name as associated data: a state
moved to another profile's folder does not decrypt. Without a passphrase the state is stored as it is, and
``create`` says so.

What a case records of a profile: its name, a digest of its state keyed with the case's salt (two captures
made with the same session match; the bundle's recipient cannot test guesses), and the account as a
*commitment*, HMAC-SHA256 keyed with the profile's own random ``account_key``. The ledger ships verbatim in a
bundle (its hash chain must verify), so the display name itself never enters it; ``export --disclose-accounts``
adds the name and that key to the bundle's documents, and anyone can check them against the ledger.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from evidencekit.errors import OperationalError, UsageError
from evidencekit.fsutil import fsync_dir, read_small_file
from evidencekit.keys import PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, config_dir, passphrase_from_environment
from evidencekit.timefmt import format_time, utc_now

PROFILE_PASSPHRASE_ENV = "EVIDENCEKIT_PROFILE_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret
PROFILE_PASSPHRASE_FILE_ENV = "EVIDENCEKIT_PROFILE_PASSPHRASE_FILE"  # noqa: S105
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SETTINGS_FILE = "profile.json"
_PLAIN_STATE = "state.json"
_SEALED_STATE = "state.enc"
_FORMAT = "evidencekit-profile/1"
_SEALED_FORMAT = "evidencekit-profile-state/1"
STATE_LIMIT = 64 * 1024 * 1024  # a storage state of some megabytes is already unusual
# scrypt at 2^15 x 8: about 32 MiB and a tenth of a second, paid once per capture run.
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_PASSPHRASE_HELP = (
    f"set {PROFILE_PASSPHRASE_ENV} (or {PROFILE_PASSPHRASE_FILE_ENV}, or the key passphrase "
    "EVIDENCEKIT_KEY_PASSPHRASE) to the passphrase it was saved with"
)


@dataclass(frozen=True)
class LoginCheck:
    """A page only a logged-in visitor sees as such: ``url`` shows ``selector`` (CSS) or ``text``."""

    url: str
    selector: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            # Never echo user info: it is a credential (as capture's own refusals hide it).
            shown = re.sub(r"^([A-Za-z][A-Za-z0-9+.\-]*://)?[^/?#\s]*@", lambda m: f"{m.group(1) or ''}***@", self.url)
            raise UsageError(f"the logged-in check URL {shown[:60]!r} must be an http(s) URL without user info")
        if (self.selector is None) == (self.text is None):
            raise UsageError("a logged-in check needs exactly one of --check-selector and --check-text")
        if not (self.selector or self.text or "").strip():
            raise UsageError("the logged-in check's selector or text must not be empty")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    def to_dict(self) -> dict[str, str]:
        found = {"selector": self.selector} if self.selector is not None else {"text": self.text or ""}
        return {"url": self.url, **found}

    @classmethod
    def from_dict(cls, data: Any) -> LoginCheck | None:
        if not isinstance(data, dict):
            return None
        return cls(str(data.get("url")), data.get("selector"), data.get("text"))


@dataclass(frozen=True)
class Profile:
    name: str
    account: str | None
    check: LoginCheck | None
    vantage: str | None
    encrypted: bool
    created: str
    account_key: bytes = field(repr=False)
    state: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # only once loaded

    def account_commitment(self) -> str | None:
        """What the ledger records of the account (see the module doc); None when no account is named."""
        return None if self.account is None else account_commitment(self.account_key, self.account)

    def listing(self) -> dict[str, Any]:
        """What ``profile list`` shows: the settings, never the state or a key."""
        return {
            "name": self.name,
            "account": self.account,
            "check": self.check.to_dict() if self.check else None,
            "vantage": self.vantage,
            "encrypted": self.encrypted,
            "created": self.created,
        }


def account_commitment(key: bytes, account: str) -> str:
    return "hmac-sha256:" + hmac.new(key, account.encode("utf-8"), hashlib.sha256).hexdigest()


def state_digest(salt: bytes, state: Mapping[str, Any]) -> str:
    """The digest a case records of a storage state: HMAC-SHA256 of its canonical JSON, keyed with the salt."""
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "hmac-sha256:" + hmac.new(salt, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def check_digest(salt: bytes, check: Mapping[str, str]) -> str:
    """The digest a case records of a logged-in check (``{"url", "selector" | "text"}``), never the check
    itself (it may name the account): HMAC-SHA256 of its JSON keyed with the case's salt, so that
    ``export --disclose-accounts`` can show the check and a recipient can tie it to the record."""
    canonical = json.dumps(dict(check), sort_keys=True, ensure_ascii=False)
    return "hmac-sha256:" + hmac.new(salt, canonical.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def profiles_dir(environ: Mapping[str, str]) -> Path:
    return config_dir(environ) / "profiles"


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"profile name {name[:70]!r} must be 1-64 characters of A-Z a-z 0-9 . _ - (starting alphanumeric)"
        )
    return name


def check_state(state: Any, origin: str) -> dict[str, Any]:
    """``state`` if it is a Playwright storage state (an object with lists ``cookies`` and ``origins``)."""
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("cookies", []), list)
        or not isinstance(state.get("origins", []), list)
    ):
        raise UsageError(f"{origin} is not a Playwright storage state (JSON with 'cookies' and 'origins')")
    return {"cookies": state.get("cookies", []), "origins": state.get("origins", [])}


def read_state_file(path: Path) -> dict[str, Any]:
    data = read_small_file(path, STATE_LIMIT, "a storage state")
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"{path} is not a Playwright storage state (not JSON)") from None
    return check_state(state, str(path))


def profile_passphrase(environ: Mapping[str, str]) -> bytes | None:
    """The passphrase profiles are sealed with: the profile passphrase, else the key passphrase."""
    try:  # the key passphrase's reader, with its checks of the file (mode 0600, regular, not empty)
        own = passphrase_from_environment(
            {
                PASSPHRASE_ENV: environ.get(PROFILE_PASSPHRASE_ENV, ""),
                PASSPHRASE_FILE_ENV: environ.get(PROFILE_PASSPHRASE_FILE_ENV, ""),
            }
        )
    except UsageError as exc:
        raise UsageError(str(exc).replace(PASSPHRASE_FILE_ENV, PROFILE_PASSPHRASE_FILE_ENV)) from None
    return own if own is not None else passphrase_from_environment(environ)


def create_profile(
    environ: Mapping[str, str],
    name: str,
    *,
    state: dict[str, Any] | None = None,
    account: str | None = None,
    check: LoginCheck | None = None,
    vantage: str | None = None,
) -> Profile:
    """Make a new profile (never replaces one); its state is empty until ``save_state`` or given here."""
    folder = _folder(environ, name)
    for text, what in ((account, "account name"), (vantage, "vantage")):
        if text is not None and (not text.strip() or len(text) > 200 or any(ord(c) < 0x20 for c in text)):
            raise UsageError(f"the {what} must be 1-200 characters of one line")
    passphrase = profile_passphrase(environ)
    profile = Profile(
        name=name,
        account=account.strip() if account else None,
        check=check,
        vantage=vantage.strip() if vantage else None,
        encrypted=passphrase is not None,
        created=format_time(utc_now()),
        account_key=os.urandom(32),
    )
    root = profiles_dir(environ)
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.mkdir(mode=0o700)
    except FileExistsError:
        raise UsageError(f"a profile named {name!r} already exists; remove it first or choose another name") from None
    except OSError as exc:
        raise OperationalError(f"cannot make the profile folder {folder}: {exc.strerror or exc}") from None
    folder.chmod(0o700)
    try:
        _write(folder / _SETTINGS_FILE, _settings_bytes(profile))
        save_state(environ, name, state or {"cookies": [], "origins": []})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return profile


def save_state(environ: Mapping[str, str], name: str, state: dict[str, Any]) -> None:
    """Replace the profile's storage state (sealed when it was created sealed)."""
    profile = load_profile(environ, name, with_state=False)
    folder = _folder(environ, name)
    clean = check_state(state, "the browser state")
    data = json.dumps(clean, sort_keys=True).encode("utf-8")
    if profile.encrypted:
        passphrase = profile_passphrase(environ)
        if passphrase is None:
            raise UsageError(f"profile {name} is encrypted; {_PASSPHRASE_HELP}")
        _write(folder / _SEALED_STATE, _seal(data, passphrase, name))
    else:
        _write(folder / _PLAIN_STATE, data)


def load_profile(environ: Mapping[str, str], name: str, *, with_state: bool = True) -> Profile:
    """The profile ``name``; with ``with_state`` its storage state too (decrypted in memory only)."""
    folder = _folder(environ, name)
    settings_path = folder / _SETTINGS_FILE
    if not settings_path.is_file():
        raise UsageError(f"no profile named {name!r}; `evidencekit profile list` shows the profiles")
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
        profile = Profile(
            name=name,
            account=settings.get("account"),
            check=LoginCheck.from_dict(settings.get("check")),
            vantage=settings.get("vantage"),
            encrypted=settings["encrypted"] is True,
            created=str(settings.get("created")),
            account_key=bytes.fromhex(settings["account_key"]),
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, ValueError, TypeError, UsageError):
        raise OperationalError(f"the profile {name!r} is damaged ({settings_path})") from None
    if not with_state:
        return profile
    if profile.encrypted:
        passphrase = profile_passphrase(environ)
        if passphrase is None:
            raise UsageError(f"profile {name} is encrypted; {_PASSPHRASE_HELP}")
        data = _unseal(read_small_file(folder / _SEALED_STATE, STATE_LIMIT, "a profile state"), passphrase, name)
    else:
        data = read_small_file(folder / _PLAIN_STATE, STATE_LIMIT, "a profile state")
    try:
        state = check_state(json.loads(data.decode("utf-8")), f"profile {name}'s state")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise OperationalError(f"the profile {name!r} has a damaged state") from None
    return Profile(**{**profile.__dict__, "state": state})


def list_profiles(environ: Mapping[str, str]) -> list[Profile]:
    root = profiles_dir(environ)
    if not root.is_dir():
        return []
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and _NAME.fullmatch(p.name))
    return [load_profile(environ, n, with_state=False) for n in names if (root / n / _SETTINGS_FILE).is_file()]


def remove_profile(environ: Mapping[str, str], name: str) -> None:
    folder = _folder(environ, name)
    if not (folder / _SETTINGS_FILE).is_file():
        raise UsageError(f"no profile named {name!r}; `evidencekit profile list` shows the profiles")
    for path in folder.iterdir():  # the state first: a half-removed profile holds no secret
        if path.name != _SETTINGS_FILE:
            path.unlink()
    shutil.rmtree(folder)


def _folder(environ: Mapping[str, str], name: str) -> Path:
    return profiles_dir(environ) / check_name(name)


def _settings_bytes(profile: Profile) -> bytes:
    settings = {
        "format": _FORMAT,
        **profile.listing(),
        "account_key": profile.account_key.hex(),
    }
    return (json.dumps(settings, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    """Write ``path`` (mode 0600) atomically, replacing what was there."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp_name).unlink()
        raise OperationalError(f"cannot write {path}: {exc.strerror or exc}") from None
    fsync_dir(path.parent)
    if stat.S_IMODE(path.stat().st_mode) != 0o600:
        path.chmod(0o600)


def _key(passphrase: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase)


def _seal(data: bytes, passphrase: bytes, name: str) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_key(passphrase, salt)).encrypt(nonce, data, name.encode("utf-8"))
    envelope = {
        "format": _SEALED_FORMAT,
        "kdf": {"name": "scrypt", **_SCRYPT, "salt": base64.b64encode(salt).decode("ascii")},
        "cipher": "AES-256-GCM",
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
    }
    return json.dumps(envelope, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def _unseal(envelope_bytes: bytes, passphrase: bytes, name: str) -> bytes:
    try:
        envelope = json.loads(envelope_bytes.decode("utf-8"))
        kdf = envelope["kdf"]
        if envelope["format"] != _SEALED_FORMAT or kdf["name"] != "scrypt" or envelope["cipher"] != "AES-256-GCM":
            raise ValueError("unknown format")
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(envelope["nonce"], validate=True)
        sealed = base64.b64decode(envelope["ciphertext"], validate=True)
        key = Scrypt(salt=salt, length=32, n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"])).derive(passphrase)
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error):
        raise OperationalError(f"the profile {name!r} has a damaged encrypted state") from None
    try:
        return AESGCM(key).decrypt(nonce, sealed, name.encode("utf-8"))
    except InvalidTag:
        raise UsageError(f"wrong passphrase for profile {name} (or its state file is damaged)") from None
