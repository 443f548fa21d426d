"""What an export tells its documents about independent time: the case's ``timestamp.*`` entries and the
rulebook's verdict on each token (``ledger.rules.timestamps``), each TSA's tokens held to the trust anchors
the investigator configured for that TSA (``timestamps.config.anchors``), and the entries the rulebook finds
recorded later than a token covering them.

A token of a TSA no longer configured is checked without anchors: it may be intact, and then is counted,
but its TSA is "not established", and the documents say so. A token whose bytes are missing or altered in
the case's store, or that is not over its checkpoint's note, is not intact and never counted.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from cryptography import x509

from evidencekit.bundle.documents.timefacts import AGAINST_CONFIGURED_ROOT, AGAINST_SYSTEM_ROOTS, TimeEvidence
from evidencekit.errors import EvidenceKitError
from evidencekit.ledger.entries import TIMESTAMP_ACTIONS, CheckpointSigned, TimestampObtained
from evidencekit.ledger.rules.base import AuditResult, TokenVerdict
from evidencekit.ledger.rules.timestamps import audit_times, audit_timestamps
from evidencekit.models import LedgerEntry
from evidencekit.timestamps.config import Authority, anchors, load_authorities
from evidencekit.workflows.opencase import OpenCase
from evidencekit.workflows.stamping import store_tokens

# The rulebook's codes for an entry recorded later than a token covering it (a problem, and within the
# token's accuracy plus 2 s, a warning).
TIME_CODES = ("timestamp.backdated",)


def _authorities(environ: Mapping[str, str]) -> dict[str, Authority]:
    try:
        return {authority.name: authority for authority in load_authorities(environ)}
    except EvidenceKitError:  # an unreadable configuration: nothing is established, and the documents say so
        return {}


def _anchors(authority: Authority) -> tuple[x509.Certificate, ...]:
    try:
        return tuple(anchors(authority))
    except (EvidenceKitError, OSError, ValueError):
        return ()


def _tsa(entry: LedgerEntry) -> str:
    tsa = entry.details.get("tsa")
    return str(tsa.get("name", "")) if isinstance(tsa, Mapping) else ""


def _verdicts(
    case: OpenCase, entries: Sequence[LedgerEntry], trusted: Mapping[str, tuple[x509.Certificate, ...]]
) -> list[TokenVerdict]:
    """Each TSA's tokens, held by the rulebook to the checkpoints' notes and to that TSA's own anchors."""
    checkpoints = [e for e in entries if e.action == CheckpointSigned.ACTION]
    by_tsa: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        if entry.action == TimestampObtained.ACTION:
            by_tsa.setdefault(_tsa(entry), []).append(entry)
    verdicts: list[TokenVerdict] = []
    for name, stamps in by_tsa.items():
        result = AuditResult(entries=sorted([*checkpoints, *stamps], key=lambda e: e.seq))
        audit_timestamps(result, tokens=store_tokens(case.store), tsa_roots=trusted.get(name, ()))
        verdicts += result.timestamps
    return verdicts


def _late_entries(entries: Sequence[LedgerEntry], verdicts: Sequence[TokenVerdict]) -> list[str]:
    """The rulebook's finding of entries recorded later than a token covering them, over the whole ledger, held
    to every intact token of the case (judged once, by ``_verdicts``)."""
    result = AuditResult(entries=list(entries))
    audit_times(result, verdicts)
    return [f"{problem.where}: {problem.message}" for problem in result.problems if problem.code in TIME_CODES]


def document_time(case: OpenCase, environ: Mapping[str, str], carried: Collection[int] | None = None) -> TimeEvidence:
    """The case's timestamp entries and each token's verdict, for the documents of an export. ``carried``: the
    seqs of the ``timestamp.obtained`` entries whose tokens the bundle carries (``bundle.timestamps``); the
    documents then state only those, so that a reader can check every one from the bundle."""
    stamps = [
        entry
        for entry in case.ledger.entries_with_action(*TIMESTAMP_ACTIONS)
        if carried is None or entry.action != TimestampObtained.ACTION or entry.seq in carried
    ]
    if not any(entry.action == TimestampObtained.ACTION for entry in stamps):
        return TimeEvidence(stamps, carried=carried is not None)
    entries = list(case.ledger.entries())
    configured = _authorities(environ)
    trusted = {name: found for name, authority in configured.items() if (found := _anchors(authority))}
    against = {
        name: AGAINST_CONFIGURED_ROOT if configured[name].ca_pem else AGAINST_SYSTEM_ROOTS for name in trusted
    }  # fmt: skip
    kept = {entry.seq for entry in stamps}
    judged = _verdicts(case, entries, trusted)  # every token, once: the documents state the kept ones
    verdicts = [verdict for verdict in judged if verdict.seq in kept]
    return TimeEvidence(stamps, verdicts, against, late=_late_entries(entries, judged), carried=carried is not None)
