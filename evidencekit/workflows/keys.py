"""The investigator's signing key: make it, show it. Kept outside every case, in the config folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evidencekit.errors import UsageError
from evidencekit.keys import SigningKey, generate_key, keys_dir, load_key


def generate_investigator_key(environ: Mapping[str, str], investigator: str) -> SigningKey:
    if not investigator.strip():
        raise UsageError("say whose key this is with --investigator NAME")
    return generate_key(keys_dir(environ), investigator)


def show_investigator_key(environ: Mapping[str, str]) -> tuple[SigningKey, Path]:
    directory = keys_dir(environ)
    return load_key(directory), directory
