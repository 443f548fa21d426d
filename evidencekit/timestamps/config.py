"""The investigator's Time-Stamping Authorities, kept beside their key in the user's config directory
(``<config dir>/tsa/authorities.json``; a CA file given with ``--ca-file`` is copied beside it as
``<name>.pem``, so the configuration does not depend on where that file was).

Choices: a name is 1-64 of ``A-Z a-z 0-9 . _ -`` starting with a letter or digit (it names a file and is
printed in court-facing documents; a space is refused with the rule). Without ``--name`` it is the URL's
host (with ``-PORT`` when the URL gives a port), made unique with ``-2``, ``-3``... The URL must be http(s)
with a host and no user name or password in it (it is written into the ledger). Of a CA file only its
certificates are copied, re-encoded as PEM (never anything else the file may hold, such as a key). Every
write goes to a temporary file renamed into place, under a lock on the folder.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

from evidencekit.errors import UsageError
from evidencekit.fsutil import folder_lock, fsync_dir, read_small_file
from evidencekit.keys import config_dir

CONFIG_NAME = "authorities.json"
SYSTEM_BUNDLES = (Path("/etc/ssl/certs/ca-certificates.crt"), Path("/etc/pki/tls/certs/ca-bundle.crt"))
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (no spaces)"
_MAX_CA_FILE = 4 * 1024 * 1024
HASH_ALGORITHMS = ("sha256", "sha512")  # what RFC 3161 requests may carry here (TSAs take no BLAKE3)
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


@dataclass(frozen=True)
class Authority:
    """A configured TSA. ``ca_pem``: the trust anchor(s) given with ``--ca-file`` (PEM bytes), or None for
    the system's CA bundle. ``qualified``: the investigator's claim that it is an eIDAS qualified TSA.
    ``ca_file``: where the copy of its CA file is kept (None: the system's CA bundle). ``hash_algorithm``:
    the digest its requests carry, "sha256" (every TSA takes it) or "sha512" where the investigator knows
    the TSA accepts it."""

    name: str
    url: str
    qualified: bool = False
    ca_pem: bytes | None = None
    ca_file: Path | None = None
    hash_algorithm: str = "sha256"

    def public(self) -> dict[str, object]:
        """What a ledger entry says of it: name, URL as recorded (``recorded_url``), qualified (never the CA
        file's location)."""
        return {"name": self.name, "url": recorded_url(self.url), "qualified": self.qualified}

    def to_dict(self) -> dict[str, object]:
        """What ``tsa list --json`` says of it."""
        return {
            **self.public(),
            "ca_file": None if self.ca_file is None else str(self.ca_file),
            "trust": "system CA bundle" if self.ca_pem is None else "CA file",
            "hash_algorithm": self.hash_algorithm,
        }


def tsa_dir(environ: Mapping[str, str]) -> Path:
    return config_dir(environ) / "tsa"


def load_authorities(environ: Mapping[str, str]) -> list[Authority]:
    """The configured TSAs, in the order they were added (empty when none)."""
    folder = tsa_dir(environ)
    return [_authority(folder, record) for record in _records(folder)]


def add_authority(
    environ: Mapping[str, str],
    url: str,
    *,
    name: str | None = None,
    ca_file: Path | None = None,
    qualified: bool = False,
    hash_algorithm: str = "sha256",
) -> Authority:
    """Add a TSA (UsageError: a bad URL, a name in use, a CA file with no certificate, a digest other than
    sha256 or sha512)."""
    url = check_url(url)
    if hash_algorithm not in HASH_ALGORITHMS:
        raise UsageError(f"a TSA request's digest is one of {', '.join(HASH_ALGORITHMS)}, not {hash_algorithm!r}")
    if name is not None:
        check_name(name)
    pem = None if ca_file is None else _certificates_pem(ca_file)
    folder = tsa_dir(environ)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with folder_lock(folder, exclusive=True):
        records = _records(folder)
        names = {str(r["name"]).lower() for r in records}
        for held in records:
            if held["url"] == url:
                raise UsageError(f"the TSA {url} is already configured as {held['name']!r}")
        if name is None:
            name = _unique(_default_name(url), names)
        elif name.lower() in names:
            raise UsageError(f"a TSA named {name!r} is already configured; choose another --name or remove it first")
        record = {"name": name, "url": url, "qualified": qualified, "ca_file": None}
        if hash_algorithm != "sha256":
            record["hash"] = hash_algorithm
        if pem is not None:
            record["ca_file"] = f"{name}.pem"
            _write_atomically(folder / f"{name}.pem", pem)
        _write_atomically(folder / CONFIG_NAME, _dumps([*records, record]))
    return _authority(folder, record)


def remove_authority(environ: Mapping[str, str], name: str) -> Authority:
    """Remove a TSA and its copied CA file (UsageError: no TSA of that name). What was recorded with it in
    cases stays as it is."""
    folder = tsa_dir(environ)
    if not (folder / CONFIG_NAME).exists():
        raise UsageError(f"no TSA named {name!r} is configured (none is; `evidencekit tsa add URL` adds one)")
    with folder_lock(folder, exclusive=True):
        records = _records(folder)
        found = next((r for r in records if r["name"] == name), None)
        if found is None:
            known = ", ".join(str(r["name"]) for r in records) or "none"
            raise UsageError(f"no TSA named {name!r} is configured (configured: {known})")
        removed = _authority(folder, found, strict=False)
        _write_atomically(folder / CONFIG_NAME, _dumps([r for r in records if r is not found]))
        if found["ca_file"]:
            with contextlib.suppress(FileNotFoundError):
                (folder / str(found["ca_file"])).unlink()
            fsync_dir(folder)
    return removed


def anchors(authority: Authority) -> Sequence[x509.Certificate]:
    """The certificates its answers are checked against: its CA file, else the system's CA bundle."""
    if authority.ca_pem is not None:
        return _load_pem(authority.ca_pem)
    return system_anchors()


@functools.cache
def system_anchors() -> tuple[x509.Certificate, ...]:
    """The system's CA bundle (Debian's, Red Hat's, else ``certifi``'s when installed); empty when none."""
    for bundle in SYSTEM_BUNDLES:
        if bundle.is_file():
            return _load_pem(bundle.read_bytes())
    try:
        import certifi  # optional: only when the system has no bundle
    except ImportError:
        return ()
    return _load_pem(Path(certifi.where()).read_bytes())


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host and no credentials; UsageError otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{url!r} is not a valid URL ({exc})") from None
    del port  # read only to refuse a bad port
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url!r} is not an http:// or https:// URL of a time-stamping authority")
    if parts.username is not None or parts.password is not None:
        raise UsageError("a TSA URL must not hold a user name or password (it is written into the ledger)")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise UsageError(f"{url!r} holds spaces or control characters")
    return url


def recorded_url(url: str) -> str:
    """A TSA's URL as the ledger, the bundles and the documents state it: scheme, host, port and path. A query
    or fragment is left out, since a TSA's access key travels there and no secret enters evidence (user
    information is refused by ``check_url``, and left out here too). The full URL stays in the configuration,
    which is what requests use."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "not known"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UsageError(f"TSA name {name!r} is not allowed: use {_NAME_RULE}")
    return name


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "tsa").lower()
    name = re.sub(r"[^a-z0-9._-]+", "-", host).strip(".-_") or "tsa"
    if parts.port is not None:
        name = f"{name}-{parts.port}"
    return name[:56]


def _unique(name: str, taken: set[str]) -> str:
    if name.lower() not in taken:
        return name
    number = 2
    while f"{name}-{number}".lower() in taken:
        number += 1
    return f"{name}-{number}"


def _certificates_pem(ca_file: Path) -> bytes:
    """The certificates of ``ca_file`` (PEM), re-encoded; UsageError when it holds none."""
    data = read_small_file(ca_file, _MAX_CA_FILE, "a CA file")
    certificates = _load_pem(data)
    if not certificates:
        raise UsageError(f"{ca_file} holds no PEM certificate; --ca-file takes the TSA's root certificate (PEM)")
    return b"".join(c.public_bytes(Encoding.PEM) for c in certificates)


def _load_pem(data: bytes) -> tuple[x509.Certificate, ...]:
    """Every PEM certificate in ``data`` that can be read (a bundle may hold one this library refuses)."""
    found = []
    with warnings.catch_warnings():  # some system roots have a serial number RFC 5280 disallows; still roots
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in _PEM_BLOCK.findall(data):
            try:
                found.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return tuple(found)


def _records(folder: Path) -> list[dict[str, Any]]:
    path = folder / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the TSA configuration {path} ({exc}); fix or remove it") from None
    try:
        data = json.loads(text)
        records = data["authorities"]
        for record in records:
            if not (
                isinstance(record["name"], str)
                and _NAME.fullmatch(record["name"])
                and isinstance(record["url"], str)
                and isinstance(record["qualified"], bool)
                and record.get("hash", "sha256") in HASH_ALGORITHMS
                and (record["ca_file"] is None or record["ca_file"] == f"{record['name']}.pem")
            ):
                raise ValueError(f"a bad entry {record!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"the TSA configuration {path} is damaged ({exc}); fix or remove it") from None
    return list(records)


def _authority(folder: Path, record: Mapping[str, Any], *, strict: bool = True) -> Authority:
    """The authority of a record; its CA file must be there (``strict``), but not to remove it."""
    digest = str(record.get("hash", "sha256"))
    if record["ca_file"] is None:
        return Authority(record["name"], record["url"], record["qualified"], hash_algorithm=digest)
    path = folder / record["ca_file"]
    try:
        pem = path.read_bytes()
    except OSError as exc:
        if not strict:
            return Authority(record["name"], record["url"], record["qualified"], b"", path, digest)
        raise UsageError(
            f"the CA file of TSA {record['name']!r} ({path}) cannot be read ({exc.strerror or exc}); "
            f"remove the TSA and add it again with --ca-file"
        ) from None
    return Authority(record["name"], record["url"], record["qualified"], pem, path, digest)


def _dumps(records: Sequence[Mapping[str, Any]]) -> bytes:
    return (json.dumps({"version": 1, "authorities": list(records)}, indent=2) + "\n").encode("utf-8")


def _write_atomically(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data``: a temporary file in the same folder, fsynced, renamed into place."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary = Path(name)
        temporary.chmod(0o600)  # a TSA URL's query may hold an access key: readable by the investigator alone
        temporary.replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(name).unlink()
    fsync_dir(target.parent)
