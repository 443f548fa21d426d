"""The investigator's Time-Stamping Authorities, kept beside their key in the user's config directory
(``<config dir>/tsa/authorities.json``; a CA file given with ``--ca-file`` is copied beside it as
``<name>.pem``, so the configuration does not depend on where that file was)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509


@dataclass(frozen=True)
class Authority:
    """A configured TSA. ``ca_pem``: the trust anchor(s) given with ``--ca-file`` (PEM bytes), or None for
    the system's CA bundle. ``qualified``: the investigator's claim that it is an eIDAS qualified TSA."""

    name: str
    url: str
    qualified: bool = False
    ca_pem: bytes | None = None

    def public(self) -> dict[str, object]:
        """What a ledger entry says of it: name, URL, qualified (never the CA file's location)."""
        return {"name": self.name, "url": self.url, "qualified": self.qualified}


def tsa_dir(environ: Mapping[str, str]) -> Path:
    raise NotImplementedError


def load_authorities(environ: Mapping[str, str]) -> list[Authority]:
    """The configured TSAs, in the order they were added (empty when none)."""
    raise NotImplementedError


def add_authority(
    environ: Mapping[str, str],
    url: str,
    *,
    name: str | None = None,
    ca_file: Path | None = None,
    qualified: bool = False,
) -> Authority:
    """Add a TSA (UsageError: a bad URL, a name in use, a CA file with no certificate)."""
    raise NotImplementedError


def remove_authority(environ: Mapping[str, str], name: str) -> Authority:
    raise NotImplementedError


def anchors(authority: Authority) -> Sequence[x509.Certificate]:
    """The certificates its answers are checked against: its CA file, else the system's CA bundle."""
    raise NotImplementedError
