"""The investigator's signing key: make it, show it, rotate it, and bring another investigator's key into a
case. Keys are kept outside every case, in the config folder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.bundle.check.trust import load_anchor
from evidencekit.errors import KeyMissingError, UsageError
from evidencekit.fsutil import read_small_file
from evidencekit.keys import (
    RETIRED_PREFIX,
    STAGED_PREFIX,
    PublicKey,
    SigningKey,
    derive_note_name,
    generate_key,
    is_protected,
    key_exists,
    key_names,
    keys_dir,
    load_key,
    new_signing_key,
    passphrase_source,
    promote_key,
    read_public_facts,
    save_key,
)
from evidencekit.ledger.entries import KEY_ACTIONS, InvestigatorAdded, KeyRotated, key_statement
from evidencekit.ledger.rules import key_history
from evidencekit.models import Actor, LedgerEntry
from evidencekit.workflows.casecheck import key_refusal
from evidencekit.workflows.opencase import Session, open_case, publish_checkpoints, seal


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


# -- a new key in a case: keys rotate, keys add-investigator ---------------------------------------------------
@dataclass(frozen=True)
class KeyChange:
    """A key brought into a case: the entry that records it (None when an earlier run recorded it and only the
    config folder's files were left to put in place), the key that signed it and the new key."""

    entry: LedgerEntry | None
    introduced_by: str
    key: PublicKey
    investigator: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_dict() if self.entry else None,
            "introduced_by": self.introduced_by,
            "investigator": self.investigator,
            **self.key.to_dict(),
        }


def _loaded(directory: Path, session: Session) -> tuple[SigningKey, bytes | None]:
    """The key in use, and the passphrase that unlocked it (a rotated key is protected by the same one)."""
    if not key_exists(directory):
        raise KeyMissingError(f"no investigator key in {directory}; run `evidencekit keys generate` first")
    secret = None
    if is_protected(directory):
        secret = passphrase_source(session.environ, session.ask_passphrase)(f"Passphrase for {directory}")
        if not secret:
            raise UsageError(f"your key in {directory} is protected by a passphrase; none was given")
    return load_key(directory, passphrase=lambda _prompt: secret), secret


def _others(directory: Path, prefix: str, secret: bytes | None) -> list[tuple[str, SigningKey]]:
    found = []
    for name in key_names(directory, prefix):
        try:
            found.append((name, load_key(directory, name, passphrase=lambda _prompt: secret)))
        except UsageError:
            continue  # a key this passphrase does not open cannot sign here
    return found


def rotate_key(session: Session) -> KeyChange:
    """Replace the investigator's key, in the config folder and in the case: the old key signs the new one
    (``key.rotated``) and signs nothing in the case afterwards; the new key seals the entry.

    Where the key in use is already the product of a rotation made in another case, this case records the
    same rotation (the replaced key, kept in the config folder as ``retired-<key id>``, signs the key in
    use), and no new key is made.
    """
    directory = keys_dir(session.environ)
    current, secret = _loaded(directory, session)
    with open_case(session, signing_key=current, key_checked=False) as case:
        standings, _ = key_history(case.ledger.entries_with_action(*KEY_ACTIONS), case.info.origin)
        if not standings:
            raise UsageError(
                "this case has no key registered yet: the next recording command (e.g. `evidencekit checkpoint`) "
                "registers yours; nothing was recorded"
            )

        def stands(key: SigningKey) -> bool:
            return key_refusal(standings, key.public) is None

        staged = _others(directory, STAGED_PREFIX, secret)
        finished = next((key for _, key in staged if stands(key)), None)
        if finished is not None:  # recorded by an earlier run that stopped before the files were in place
            promote_key(directory, STAGED_PREFIX + finished.public.key_id, RETIRED_PREFIX + current.public.key_id)
            return KeyChange(None, current.public.key_id, finished.public, finished.investigator)
        if stands(current):
            old = current
            new = staged[0][1] if staged else new_signing_key(current.investigator)
            if not staged:
                save_key(directory, new, STAGED_PREFIX + new.public.key_id, passphrase=secret)
        else:
            found = next((key for _, key in _others(directory, RETIRED_PREFIX, secret) if stands(key)), None)
            if found is None:
                raise UsageError(
                    f"neither your key {current.public.key_id} nor a key it replaced may sign in this case; "
                    "nothing was recorded: an investigator registered in it can add yours with "
                    "`evidencekit keys add-investigator`"
                )
            old, new = found, current
        statement = key_statement(KeyRotated.ACTION, case.info.origin, new.investigator, new.public)
        act = KeyRotated(new.investigator, new.public, old.public.key_id, old.sign(statement))
        with case.ledger.transaction() as txn:
            entry = txn.append(act.draft(Actor(old.investigator, old.public.key_id)))
            case.key, case.actor = new, Actor(new.investigator, new.public.key_id)
            seal(case, txn)
        publish_checkpoints(case, txn)
    if new is not current:
        promote_key(directory, STAGED_PREFIX + new.public.key_id, RETIRED_PREFIX + old.public.key_id)
    return KeyChange(entry, old.public.key_id, new.public, new.investigator)


def read_public_key(spec: str, investigator: str | None) -> tuple[PublicKey, str]:
    """Another investigator's public key from a file: the JSON of ``keys show --json`` (or a bundle's
    ``keys/<id>.json``), or a PEM public key (then ``investigator`` names its holder)."""
    anchor = load_anchor(spec)
    if anchor.raw is None:
        raise UsageError(f"{spec!r} is a key id; adding an investigator needs the public key itself (a .json or .pem)")
    data = read_small_file(Path(spec), 64 * 1024, "a public key")
    name = investigator
    public = None
    if data.lstrip()[:1] == b"{":
        facts = json.loads(data.decode("utf-8"))
        public = PublicKey.from_dict(facts)
        name = name or (facts.get("investigator") if isinstance(facts.get("investigator"), str) else None)
    if not name or not name.strip():
        raise UsageError("say whose key this is with --investigator NAME")
    if public is None:
        public = PublicKey.from_raw(anchor.raw, derive_note_name(name, anchor.key_id))
    return public, name.strip()


def add_investigator(session: Session, spec: str, investigator: str | None = None) -> KeyChange:
    """A registered investigator brings another investigator's public key into the case
    (``investigator.added``, signed by the registered key and sealed by it); that investigator can then
    record and sign in the case with their own key."""
    public, name = read_public_key(spec, investigator)
    with open_case(session) as case:
        if case.key is None:
            raise KeyMissingError(
                f"adding an investigator needs your key; none in {keys_dir(session.environ)}: "
                "run `evidencekit keys generate`"
            )
        standings, _ = key_history(case.ledger.entries_with_action(*KEY_ACTIONS), case.info.origin)
        if not standings:
            raise UsageError(
                "this case has no key registered yet: run `evidencekit checkpoint` first so that yours is; "
                "nothing was recorded"
            )
        if public.key_id in standings:
            raise UsageError(f"key {public.key_id} is already registered in this case; nothing was recorded")
        statement = key_statement(InvestigatorAdded.ACTION, case.info.origin, name, public)
        act = InvestigatorAdded(name, public, case.key.public.key_id, case.key.sign(statement))
        with case.ledger.transaction() as txn:
            entry = txn.append(act.draft(case.actor))
            seal(case, txn)
        publish_checkpoints(case, txn)
        return KeyChange(entry, case.key.public.key_id, public, name)
