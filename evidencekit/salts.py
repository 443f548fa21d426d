"""The per-case salt that keys the digests of redacted secrets (see ``capture.redact``).

It lives in the investigator's config folder beside the key, ``salts/<case_uuid>``, mode 0600, made on
first need, and never goes into a case folder or a bundle: a recipient of the bundle must not be able to
test guesses of a short password against its digest, while the investigator can still show that two
captures of the case used the same session.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from evidencekit.errors import OperationalError
from evidencekit.keys import config_dir

SALT_BYTES = 32


def salt_path(environ: Mapping[str, str], case_uuid: str) -> Path:
    return config_dir(environ) / "salts" / case_uuid


def case_salt(environ: Mapping[str, str], case_uuid: str) -> bytes:
    """The case's salt, made (random) and kept the first time it is asked for."""
    path = salt_path(environ, case_uuid)
    existing = _read(path)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    salt = os.urandom(SALT_BYTES)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another command made it meanwhile: theirs is the case's
        again = _read(path)
        if again is None:
            raise OperationalError(f"the redaction salt {path} is unreadable or damaged") from None
        return again
    try:
        os.write(descriptor, salt.hex().encode("ascii") + b"\n")
        os.fsync(descriptor)
    except OSError:
        os.close(descriptor)
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    os.close(descriptor)
    return salt


def _read(path: Path) -> bytes | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationalError(f"cannot read the redaction salt {path}: {exc}") from None
    try:
        salt = bytes.fromhex(text)
    except ValueError:
        salt = b""
    if len(salt) != SALT_BYTES:
        raise OperationalError(f"the redaction salt {path} is damaged (expected {SALT_BYTES * 2} hex digits)")
    return salt
