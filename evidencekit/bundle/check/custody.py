"""The custody part of a bundle: ledger excerpt, inclusion proofs, signed checkpoint, keys, artefacts.

Bundle layout (written by ``bundle.export``)::

    data/custody/ledger.jsonl      ledger entries, each line byte for byte the canonical form in the ledger
    data/custody/proofs.json       an RFC 9162 inclusion proof for each line against the checkpoint
    data/custody/checkpoint        the C2SP signed note (origin, tree size, root; Ed25519 signature)
    data/custody/checkpoint.body   the signed text alone, and checkpoint.sig the raw 64-byte signature,
                                   so that openssl can check the signature without evidencekit
    data/custody/keys/<key id>.json / .pem   the public keys that signed
    data/items/<item>/<artefact>   each artefact a ledger entry names, under the entry's subject
    data/analysis/<artefact>       each artefact of the excerpt's newest analysis.recorded entry (the case is
                                   its subject): the exhibit images of the links the export recorded
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from evidencekit.bundle.check.timestamps import bundle_tokens
from evidencekit.bundle.check.trust import TrustAnchor
from evidencekit.bundle.derived import shipped_analysis
from evidencekit.bundle.findings import BundleReport
from evidencekit.bundle.layout import CHECKPOINT, KEYS, LEDGER, PROOFS, analysis_path, artefact_path
from evidencekit.errors import ValidationError
from evidencekit.hashing import Digests, blake3_bytes
from evidencekit.keys import PublicKey
from evidencekit.ledger.entries import KeyRegistered, detail_problems, parse
from evidencekit.ledger.merkle import leaf_hash, verify_inclusion
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.ledger.rules import AuditResult, HeldNote, TokenVerdict, audit_excerpt
from evidencekit.models import LedgerEntry

_MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class _Signed:
    text: str
    note: SignedNote
    checkpoint: Checkpoint


def _read_ledger(root: Path, report: BundleReport) -> list[bytes]:
    """Every line of ledger.jsonl, as bytes; the rulebook reads them."""
    path = root / LEDGER
    if not path.is_file():
        report.add("custody.no_ledger", "the ledger excerpt is missing", path=LEDGER)
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        report.add("custody.ledger_truncated", "the last line is incomplete", path=LEDGER)
    return data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")


def _read_checkpoint(root: Path, report: BundleReport) -> _Signed | None:
    path = root / CHECKPOINT
    if not path.is_file():
        report.add("custody.no_checkpoint", "the signed checkpoint is missing", path=CHECKPOINT)
        return None
    try:
        text = path.read_text(encoding="utf-8")
        note = SignedNote.parse(text)
        return _Signed(text, note, Checkpoint.parse(note.body))
    except (ValidationError, UnicodeDecodeError) as exc:
        report.add("checkpoint.malformed", f"the checkpoint cannot be read: {exc}", path=CHECKPOINT)
        return None


def _read_keys(root: Path, report: BundleReport) -> dict[str, PublicKey]:
    keys: dict[str, PublicKey] = {}
    folder = root / KEYS
    for path in sorted(p for p in folder.glob("*.json") if p.is_file()) if folder.is_dir() else []:
        rel = f"{KEYS}/{path.name}"
        if path.stat().st_size > _MAX_KEY_FILE:
            report.add("key.malformed", "far too large to be a public key", path=rel)
            continue
        try:
            key = PublicKey.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (ValidationError, ValueError, TypeError, AttributeError) as exc:
            report.add("key.malformed", f"public key cannot be read: {exc}", path=rel)
            continue
        except RecursionError:
            report.add("key.malformed", "public key cannot be read: JSON nested too deeply", path=rel)
            continue
        pem = path.with_suffix(".pem")
        if pem.is_file() and pem.read_text(encoding="ascii", errors="replace") != key.pem():
            report.add("key.pem_mismatch", "the PEM file holds another key than the JSON beside it", path=pem.name)
        keys[key.key_id] = key
    if not keys:
        report.add("custody.no_keys", "no public key is bundled", path=KEYS)
    return keys


def _read_proofs(root: Path, report: BundleReport) -> dict[str, Any] | None:
    path = root / PROOFS
    if not path.is_file():
        report.add("custody.no_proofs", "the inclusion proofs are missing", path=PROOFS)
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("proofs"), list):
            raise ValueError("no list of proofs")
        return data
    except (ValueError, UnicodeDecodeError) as exc:
        report.add("proofs.malformed", f"proofs.json cannot be read: {exc}", path=PROOFS)
    except (RecursionError, MemoryError):
        report.add("proofs.malformed", "proofs.json cannot be read: nested too deeply or too large", path=PROOFS)
    return None


def check_custody(
    root: Path,
    digests: dict[str, Digests],
    report: BundleReport,
    items: set[str] | None,
    anchors: Sequence[TrustAnchor] = (),
    tsa_roots: Sequence[x509.Certificate] = (),
) -> tuple[list[PublicKey], set[str], list[LedgerEntry], list[TokenVerdict]]:
    """Check the custody files; return the bundled keys that the ledger records as investigators' keys, the
    bundle paths of the artefacts the ledger names (evidence, checked against its recorded digests), and the
    readable ledger lines.

    The ledger lines and the checkpoints are held to the custody rulebook (``ledger.rules``), the same one
    ``ledger verify`` applies; what only a bundle has is checked here: inclusion proofs against the bundle's
    checkpoint, the bundled key files against the keys the ledger registers, the trust anchors given with
    --key, and the artefacts. The tokens the ledger lines record are read from the bundle's timestamp files
    (``check.timestamps.bundle_tokens``) and held, with ``tsa_roots``, to the rulebook's timestamp rules; their
    verdicts are returned last. ``items`` are the exported items (from the signed bundle statement); artefacts
    of other subjects that a full-ledger excerpt mentions are not expected in the bundle.
    """
    lines = _read_ledger(root, report)
    signed = _read_checkpoint(root, report)
    keys = _read_keys(root, report)
    proofs = _read_proofs(root, report)
    report.facts["ledger_entries"] = len(lines)
    report.checks.append(
        "ledger lines by the custody rulebook: canonical form, order, chain links, case, registered keys, times"
    )
    result = audit_excerpt(
        lines,
        signed_size=signed.checkpoint.size if signed is not None else None,
        where=LEDGER,
        external=[HeldNote(signed.text, CHECKPOINT, recorded=False)] if signed is not None else [],
        details=detail_problems,
        tokens=bundle_tokens(root),
        tsa_roots=tsa_roots,
    )
    if result.checkpoints:
        report.checks.append(
            "earlier checkpoints in the ledger by the custody rulebook: signed, origin, fields, not premature, "
            "roots and consistency where the excerpt holds every entry"
        )
    report.facts["ledger_complete"] = result.complete
    report.problems.extend(result.problems)
    report.warnings.extend(result.warnings)
    report.not_applied.extend(result.not_applied)
    trusted = [key for key in keys.values() if key.key_id in result.keys and result.keys[key.key_id].raw == key.raw]
    if signed is not None:
        report.facts["checkpoint"] = {
            "tree_size": signed.checkpoint.size,
            "root": "blake3:" + signed.checkpoint.root.hex(),
        }
        _check_signers(signed, keys, result, report, anchors)
        _check_newest(signed.checkpoint, result, report)
        if proofs is not None:
            _check_proofs(result.entries, proofs, signed.checkpoint, report)
    evidence = _check_artefacts(result.entries, digests, report, items)
    return trusted, evidence, result.entries, result.timestamps


def _check_signers(
    signed: _Signed,
    keys: dict[str, PublicKey],
    result: AuditResult,
    report: BundleReport,
    anchors: Sequence[TrustAnchor],
) -> None:
    """The bundled key files that verify the checkpoint: registered in the ledger, and among the trust anchors."""
    report.checks.append("checkpoint signature against a bundled key the ledger records as the investigator's")
    signers = [key for key in keys.values() if signed.note.verify_with(key)]
    report.facts["checkpoint"]["signed_by"] = [key.key_id for key in signers]
    if not signers and not any(p.code == "checkpoint.bad_signature" and p.path == CHECKPOINT for p in result.problems):
        report.add("key.not_bundled", "no bundled public key file verifies the checkpoint signature", path=KEYS)
    if anchors:
        report.checks.append("the checkpoint is signed by one of the keys given with --key")
        if not any(anchor.matches(key) for key in signers for anchor in anchors):
            by = ", ".join(key.key_id for key in signers) or "no bundled key"
            report.add(
                "key.untrusted",
                f"the checkpoint is signed by {by}, none of the keys given with --key",
                path=CHECKPOINT,
            )
    for key in signers:
        registered = result.keys.get(key.key_id)
        if registered is None:
            report.add(
                "key.unregistered",
                f"the checkpoint is signed by key {key.key_id}, which the ledger never recorded as an investigator's",
                path=f"{KEYS}/{key.key_id}.json",
            )
        elif registered.raw != key.raw:
            rel = f"{KEYS}/{key.key_id}.json"
            report.add("key.mismatch", "the bundled key differs from the one the ledger recorded", path=rel)
        else:
            report.facts["signer"] = {"key_id": key.key_id, "investigator": _investigator(result.entries, key)}


def _investigator(entries: list[LedgerEntry], key: PublicKey) -> str | None:
    for entry in entries:
        parsed = parse(entry) if entry.action == KeyRegistered.ACTION else None
        if isinstance(parsed, KeyRegistered) and parsed.public_key == key:
            return parsed.investigator
    return None


def _check_newest(checkpoint: Checkpoint, result: AuditResult, report: BundleReport) -> None:
    """A bundle is exported under the newest checkpoint: none recorded in its excerpt may be newer."""
    for seq, recorded in result.checkpoints:
        if recorded.size > checkpoint.size:
            report.add(
                "checkpoint.regressed",
                f"the bundle's checkpoint (tree size {checkpoint.size}) is older than the one recorded here "
                f"(tree size {recorded.size})",
                seq=seq,
            )


def _check_proofs(
    entries: list[LedgerEntry], proofs: dict[str, Any], checkpoint: Checkpoint, report: BundleReport
) -> None:
    """Each readable line (its bytes are its canonical form) is a leaf of the tree the checkpoint signs."""
    report.checks.append("an RFC 9162 inclusion proof of each ledger line against the signed checkpoint root")
    if proofs.get("tree_size") != checkpoint.size or proofs.get("root") != "blake3:" + checkpoint.root.hex():
        report.add("proofs.checkpoint", "proofs.json names another tree head than the signed checkpoint", path=PROOFS)
    by_seq: dict[int, list[str]] = {}
    for item in proofs["proofs"]:
        if isinstance(item, dict) and isinstance(item.get("seq"), int) and isinstance(item.get("path"), list):
            by_seq[item["seq"]] = item["path"]
    for entry in entries:
        path = by_seq.get(entry.seq)
        if path is None:
            report.add("proof.missing", "no inclusion proof for this entry", seq=entry.seq)
            continue
        try:
            nodes = [bytes.fromhex(h) for h in path]
        except (ValueError, TypeError):
            report.add("proof.malformed", "proof holds something other than hex hashes", seq=entry.seq)
            continue
        leaf = leaf_hash(blake3_bytes, entry.raw)
        if not verify_inclusion(blake3_bytes, entry.seq, checkpoint.size, leaf, nodes, checkpoint.root):
            report.add(
                "proof.invalid", "the entry is not included in the signed tree as the proof claims", seq=entry.seq
            )


def _check_artefacts(
    entries: list[LedgerEntry], digests: dict[str, Digests], report: BundleReport, items: set[str] | None
) -> set[str]:
    report.checks.append("every artefact a ledger entry names: present, same size, BLAKE3 and SHA-256")
    recorded = [
        (entry.seq, artefact_path(entry.subject, artefact.name), artefact)
        for entry in entries
        if entry.subject is not None and (items is None or entry.subject in items)
        for artefact in entry.artefacts
    ]
    analysis = shipped_analysis(entries)
    if analysis is not None:  # the exhibits of the links the export recorded: the entry's subject is the case
        recorded += [(analysis.seq, analysis_path(a.name), a) for a in analysis.artefacts]
    named: set[str] = set()
    for seq, rel, artefact in recorded:
        named.add(rel)
        actual = digests.get(rel)
        if actual is None:
            report.add("artefact.missing", f"recorded at seq {seq} but absent from the bundle", path=rel)
        elif actual != artefact.digests:
            report.add("artefact.altered", f"differs from what seq {seq} recorded", path=rel)
    return named
