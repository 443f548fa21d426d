"""The investigator's signing key: make it, show it. Kept outside every case, in the config folder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.errors import UsageError
from evidencekit.keys import PublicKey, generate_key, is_protected, keys_dir, load_key, read_public_facts


@dataclass(frozen=True)
class KeyFacts:
    """What may be shown of a key: never the private part, and whether a passphrase protects it."""

    investigator: str
    public: PublicKey
    directory: Path
    protected: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "investigator": self.investigator,
            "directory": str(self.directory),
            "protected": self.protected,
            "protection": "passphrase" if self.protected else None,
            **self.public.to_dict(),
        }


def generate_investigator_key(
    environ: Mapping[str, str], investigator: str, *, passphrase: bytes | None = None
) -> KeyFacts:
    if not investigator.strip():
        raise UsageError("say whose key this is with --investigator NAME")
    directory = keys_dir(environ)
    key = generate_key(directory, investigator, passphrase=passphrase)
    return KeyFacts(key.investigator, key.public, directory, passphrase is not None)


def show_investigator_key(environ: Mapping[str, str]) -> KeyFacts:
    """A protected key is shown from its public sidecar (no passphrase needed); an unprotected one is loaded
    whole, so a sidecar that does not match its private key is found here too."""
    directory = keys_dir(environ)
    investigator, public = read_public_facts(directory)
    if is_protected(directory):
        return KeyFacts(investigator, public, directory, True)
    key = load_key(directory)
    return KeyFacts(key.investigator, key.public, directory, False)
