"""What a bundle carries of independent time (RFC 3161), under ``data/custody/timestamps/``.

For each checkpoint whose tokens it carries: the exact bytes of its signed note (what the tokens stamp, the
``-data`` of ``openssl ts -verify``), each TSA's answer byte for byte as the object store holds it (``-in``),
the certificates that answer carries as PEM (``-untrusted``), and in ``index.json`` which token stamps which
checkpoint (seq, tree size, root), the TSA (name, URL without any credentials, the investigator's qualified
claim), genTime, the ledger entry that records it, the SHA-256 of every file, and an RFC 9162 consistency
proof from that checkpoint to the bundle's own, so that a token over an earlier tree covers the entries the
bundle's inclusion proofs place in it.

The export workflow chooses what is carried (``workflows.exporttime``); the builder writes it from this
plan; ``check.timestamps`` holds the files to the index, the ledger lines and the tokens themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.bundle.layout import (
    TIMESTAMP_INDEX,
    timestamp_certs_path,
    timestamp_note_path,
    timestamp_token_path,
    tsa_label,
)
from evidencekit.hashing import Digests, hash_bytes
from evidencekit.ledger.entries import TimestampObtained
from evidencekit.timestamps.config import recorded_url

INDEX_FORMAT = "evidencekit-timestamps/1"
MESSAGE = (
    "each token's message imprint is the SHA-256 of the exact bytes of its checkpoint's .note file "
    "(the checkpoint's C2SP signed note, UTF-8)"
)
CONSISTENCY = (
    "RFC 9162 section 2.1.4 consistency proof (hash BLAKE3) from each checkpoint to the bundle's signed "
    "checkpoint (data/custody/checkpoint)"
)


def public_url(url: str) -> str:
    """A TSA's URL as a bundle may show it (``timestamps.config.recorded_url``: no user name or password, no
    query, no fragment, since a TSA's access token travels in one of them)."""
    return recorded_url(url)


def carries_credentials(url: str) -> bool:
    """Whether a URL holds what may be a secret (userinfo, a query or a fragment), which no bundle carries."""
    return public_url(url) != url


@dataclass(frozen=True)
class CarriedToken:
    """One TSA's answer for a carried checkpoint, as recorded at ``entry_seq`` (``timestamp.obtained``)."""

    stamp: TimestampObtained
    entry_seq: int
    source: Path  # the object store's file
    digests: Digests  # as the entry recorded them
    certificates_pem: bytes | None  # None: not parsed strictly, so its certificates could not be listed
    in_excerpt: bool  # its ledger entry is among the bundle's ledger lines


@dataclass(frozen=True)
class CarriedCheckpoint:
    """A stamped checkpoint: its seq (= tree size), root, signed note, proof to the bundle's checkpoint."""

    seq: int
    root: str  # blake3:<hex>
    note: str
    consistency: tuple[bytes, ...]
    tokens: tuple[CarriedToken, ...]
    in_excerpt: bool  # its checkpoint.signed entry is among the bundle's ledger lines


@dataclass(frozen=True)
class Unanswered:
    """A TSA that gave no token for the export's checkpoint, and why (as its timestamp.pending says)."""

    tsa: str
    reason: str


@dataclass(frozen=True)
class BundleTime:
    """Everything a bundle carries of independent time. Empty when the case holds no token at all."""

    checkpoints: tuple[CarriedCheckpoint, ...] = ()
    unanswered: tuple[Unanswered, ...] = ()
    asked: bool = False  # the export asked TSAs for its own checkpoint

    @property
    def empty(self) -> bool:
        return not self.checkpoints and not self.unanswered


@dataclass(frozen=True)
class TimeFile:
    """One file of data/custody/timestamps/: bytes to write, or an object store file to copy and re-hash."""

    rel: str
    data: bytes | None = None
    source: Path | None = None
    digests: Digests | None = None


def labels(time: BundleTime) -> dict[str, str]:
    """Each TSA name's label in file names, the same for every checkpoint of this bundle."""
    taken: set[str] = set()
    names = dict.fromkeys(t.stamp.tsa.name for c in time.checkpoints for t in c.tokens)
    return {name: tsa_label(name, taken) for name in names}


def time_files(time: BundleTime, bundle_size: int) -> list[TimeFile]:
    """The files of data/custody/timestamps/ for ``time``, the index last (it names the digests of the rest)."""
    if time.empty:
        return []
    label = labels(time)
    files: list[TimeFile] = []
    index_checkpoints = []
    for carried in time.checkpoints:
        note = carried.note.encode("utf-8")
        note_rel = timestamp_note_path(carried.seq)
        files.append(TimeFile(note_rel, data=note))
        tokens = []
        for token in carried.tokens:
            tsa = token.stamp.tsa
            rel = timestamp_token_path(carried.seq, label[tsa.name])
            files.append(TimeFile(rel, source=token.source, digests=token.digests))
            certs_rel = None
            if token.certificates_pem is not None:
                certs_rel = timestamp_certs_path(carried.seq, label[tsa.name])
                files.append(TimeFile(certs_rel, data=token.certificates_pem))
            tokens.append(_token_record(token, rel, certs_rel))
        index_checkpoints.append(
            {
                "checkpoint_seq": carried.seq,
                "tree_size": carried.seq,
                "root": carried.root,
                "note": note_rel,
                "note_sha256": "sha256:" + hash_bytes(note).sha256,
                "is_bundle_checkpoint": carried.seq == bundle_size,
                "in_ledger_excerpt": carried.in_excerpt,
                "consistency_proof": [node.hex() for node in carried.consistency],
                "tokens": tokens,
            }
        )
    index = {
        "format": INDEX_FORMAT,
        "message": MESSAGE,
        "consistency": CONSISTENCY,
        "bundle_checkpoint": {"tree_size": bundle_size},
        "asked_at_export": time.asked,
        "checkpoints": index_checkpoints,
        "not_stamped_at_export": [{"tsa": u.tsa, "reason": u.reason} for u in time.unanswered],
    }
    files.append(TimeFile(TIMESTAMP_INDEX, data=index_bytes(index)))
    return files


def _token_record(token: CarriedToken, rel: str, certs_rel: str | None) -> dict[str, Any]:
    stamp = token.stamp
    return {
        "tsa": {"name": stamp.tsa.name, "url": public_url(stamp.tsa.url), "qualified": stamp.tsa.qualified},
        "file": rel,
        "sha256": "sha256:" + token.digests.sha256,
        "blake3": "blake3:" + token.digests.blake3,
        "certificates": certs_rel,
        "certificates_sha256": ("sha256:" + hash_bytes(token.certificates_pem).sha256)
        if token.certificates_pem is not None
        else None,
        "parsed": stamp.parsed,
        "gen_time": stamp.gen_time,
        "accuracy_seconds": stamp.accuracy_seconds,
        "serial_number": stamp.serial_number,
        "policy": stamp.policy,
        "hash_algorithm": stamp.hash_algorithm,
        "imprint": stamp.imprint,
        "requested": stamp.requested,
        "answered": stamp.answered,
        "clock_offset_seconds": stamp.clock_offset_seconds,
        "clock_flagged": stamp.clock_flagged,
        "ledger_seq": token.entry_seq,
        "in_ledger_excerpt": token.in_excerpt,
    }


def index_bytes(index: Any) -> bytes:
    return (json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def openssl_recipes(time: BundleTime) -> list[tuple[str, str, str | None]]:
    """(note file, token file, certificates file or None) of every carried token, for VERIFY.txt."""
    label = labels(time)
    return [
        (
            timestamp_note_path(c.seq),
            timestamp_token_path(c.seq, label[t.stamp.tsa.name]),
            timestamp_certs_path(c.seq, label[t.stamp.tsa.name]) if t.certificates_pem is not None else None,
        )
        for c in time.checkpoints
        for t in c.tokens
    ]


def describe(time: BundleTime) -> Sequence[str]:
    """One line per carried token, for VERIFY.txt: which checkpoint, which TSA, what genTime."""
    return [
        f"checkpoint seq {c.seq} (tree size {c.seq}): {t.stamp.tsa.name}, "
        + (f"genTime {t.stamp.gen_time}" if t.stamp.parsed else "stored, not parsed strictly")
        for c in time.checkpoints
        for t in c.tokens
    ]
