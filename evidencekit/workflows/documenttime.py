"""What an export tells its documents about independent time: the case's ``timestamp.*`` entries and a
verdict for each token, checked here offline against the exact bytes of the checkpoint note it stamps and
the trust anchors the investigator configured for its TSA (``timestamps.config.anchors``).

A token of a TSA no longer configured is checked without anchors: it may be intact, and then is counted,
but its TSA is "not established", and the documents say so. A token whose bytes are missing from the case's
store, or whose checkpoint cannot be found, is not intact and never counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cryptography import x509

from evidencekit.bundle.documents.timefacts import (
    AGAINST_CONFIGURED_ROOT,
    AGAINST_SYSTEM_ROOTS,
    TimeEvidence,
    Verdict,
)
from evidencekit.errors import EvidenceKitError
from evidencekit.hashing import hash_bytes
from evidencekit.ledger.entries import TIMESTAMP_ACTIONS, CheckpointSigned, TimestampObtained, parse
from evidencekit.models import LedgerEntry
from evidencekit.timestamps.config import Authority, anchors, load_authorities
from evidencekit.timestamps.token import check_token
from evidencekit.workflows.opencase import OpenCase


def _authorities(environ: Mapping[str, str]) -> dict[str, Authority]:
    try:
        return {authority.name: authority for authority in load_authorities(environ)}
    except EvidenceKitError:  # an unreadable configuration: nothing is established, the documents say so
        return {}


def _anchors(authority: Authority | None) -> tuple[x509.Certificate, ...]:
    if authority is None:
        return ()
    try:
        return tuple(anchors(authority))
    except (EvidenceKitError, OSError, ValueError):
        return ()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _verdict(
    case: OpenCase, entry: LedgerEntry, notes: Mapping[int, str], trusted: tuple[x509.Certificate, ...]
) -> Verdict | None:
    stamp = parse(entry)
    if not isinstance(stamp, TimestampObtained):
        return None
    name, at, gen_time = stamp.tsa.name, stamp.checkpoint.seq, stamp.gen_time

    def refused(problem: str) -> Verdict:
        return Verdict(entry.seq, name, at, gen_time, stamp.parsed, False, False, (problem,))

    data = _read(case.store.path_for(entry.artefacts[0].digests.blake3)) if entry.artefacts else None
    if data is None:
        return refused("timestamp.missing: the token's bytes are not in the case's store")
    if entry.artefacts[0].digests != hash_bytes(data):
        return refused("timestamp.missing: the token's bytes in the case's store are not those recorded")
    note = notes.get(at)
    if note is None:
        return refused(f"timestamp.imprint: no signed checkpoint at seq {at} to hold the token to")
    nonce = int(stamp.nonce) if stamp.nonce and stamp.nonce.isdigit() else None
    check = check_token(data, note.encode("utf-8"), trusted, nonce=nonce)
    facts_time = check.facts.gen_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if check.facts else gen_time
    return Verdict(entry.seq, name, at, facts_time, check.parsed, check.intact, check.established, check.problems)


def document_time(case: OpenCase, environ: Mapping[str, str]) -> TimeEvidence:
    """The case's timestamp entries and each token's verdict, for the documents of an export."""
    entries = case.ledger.entries_with_action(*TIMESTAMP_ACTIONS)
    if not any(entry.action == TimestampObtained.ACTION for entry in entries):
        return TimeEvidence(entries)
    notes = {
        e.seq: str(e.details.get("note")) for e in case.ledger.entries_with_action(CheckpointSigned.ACTION)
    }  # fmt: skip
    configured = _authorities(environ)
    trusted = {name: _anchors(authority) for name, authority in configured.items()}
    verdicts = []
    for entry in entries:
        name = str((entry.details.get("tsa") or {}).get("name", ""))
        verdict = _verdict(case, entry, notes, trusted.get(name, ()))
        if verdict is not None:
            verdicts.append(verdict)
    against = {
        name: AGAINST_CONFIGURED_ROOT if authority.ca_pem else AGAINST_SYSTEM_ROOTS
        for name, authority in configured.items()
        if trusted.get(name)
    }
    return TimeEvidence(entries, verdicts, against)
