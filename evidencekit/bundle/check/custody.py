"""The custody part of a bundle: ledger excerpt, inclusion proofs, signed checkpoint, keys, artefacts.

Bundle layout (written by ``bundle.export``)::

    data/custody/ledger.jsonl      ledger entries, each line byte for byte the canonical form in the ledger
    data/custody/proofs.json       an RFC 9162 inclusion proof for each line against the checkpoint
    data/custody/checkpoint        the C2SP signed note (origin, tree size, root; Ed25519 signature)
    data/custody/checkpoint.body   the signed text alone, and checkpoint.sig the raw 64-byte signature,
                                   so that openssl can check the signature without evidencekit
    data/custody/keys/<key id>.json / .pem   the public keys that signed
    data/items/<item>/<artefact>   each artefact a ledger entry names, under the entry's subject
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidencekit.bundle.check.trust import TrustAnchor
from evidencekit.bundle.layout import CHECKPOINT, KEYS, LEDGER, PROOFS, artefact_path
from evidencekit.errors import ValidationError
from evidencekit.hashing import Digests, blake3_bytes
from evidencekit.keys import PublicKey
from evidencekit.ledger.merkle import MerkleTree, leaf_hash, verify_inclusion
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.models import LedgerEntry

if TYPE_CHECKING:
    from evidencekit.bundle.check.verify import BundleReport

_MAX_KEY_FILE = 64 * 1024
Line = tuple[LedgerEntry | None, bytes, int]


def _read_ledger(root: Path, report: BundleReport) -> list[tuple[LedgerEntry | None, bytes, int]]:
    """(entry or None when unreadable, raw line, line number) for every line of ledger.jsonl."""
    path = root / LEDGER
    if not path.is_file():
        report.add("custody.no_ledger", "the ledger excerpt is missing", path=LEDGER)
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        report.add("custody.ledger_truncated", "the last line is incomplete", path=LEDGER)
    lines: list[tuple[LedgerEntry | None, bytes, int]] = []
    for number, raw in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"), start=1):
        try:
            lines.append((LedgerEntry.from_raw(raw), raw, number))
        except ValidationError as exc:
            report.add("entry.malformed", f"line {number} is not a canonical ledger entry: {exc}", path=LEDGER)
            lines.append((None, raw, number))
        except (RecursionError, MemoryError):
            report.add("entry.malformed", f"line {number} is nested too deeply or too large to read", path=LEDGER)
            lines.append((None, raw, number))
    return lines


def _read_checkpoint(root: Path, report: BundleReport) -> tuple[SignedNote, Checkpoint] | None:
    path = root / CHECKPOINT
    if not path.is_file():
        report.add("custody.no_checkpoint", "the signed checkpoint is missing", path=CHECKPOINT)
        return None
    try:
        note = SignedNote.parse(path.read_text(encoding="utf-8"))
        return note, Checkpoint.parse(note.body)
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
) -> list[PublicKey]:
    """Check the custody files; return the bundled keys that the ledger records as investigators' keys.

    ``items`` are the exported items (from the signed bundle statement); artefacts of other subjects
    that a full-ledger excerpt mentions are not expected in the bundle. ``anchors``, when given, are the
    keys the verifier trusts: the checkpoint must be signed by one of them.
    """
    report.checks.append("ledger lines: canonical form, order, chain links")
    lines = _read_ledger(root, report)
    entries = [e for e, _, _ in lines if e is not None]
    _check_order_and_chain(lines, report)
    signed = _read_checkpoint(root, report)
    keys = _read_keys(root, report)
    proofs = _read_proofs(root, report)
    report.facts["ledger_entries"] = len(lines)
    trusted = _trusted_keys(keys, entries)
    if signed is not None:
        note, checkpoint = signed
        report.facts["checkpoint"] = {"tree_size": checkpoint.size, "root": "blake3:" + checkpoint.root.hex()}
        _check_signature(note, checkpoint, keys, entries, report, anchors)
        if proofs is not None:
            _check_proofs(lines, proofs, checkpoint, report)
        _check_earlier_checkpoints(lines, checkpoint, trusted, report)
    _check_artefacts(entries, digests, report, items)
    return trusted


def _registered(entries: list[LedgerEntry]) -> dict[str, LedgerEntry]:
    return {str((e.details.get("public_key") or {}).get("key_id")): e for e in entries if e.action == "key.registered"}


def _trusted_keys(keys: dict[str, PublicKey], entries: list[LedgerEntry]) -> list[PublicKey]:
    registered = _registered(entries)
    return [
        key
        for key in keys.values()
        if key.key_id in registered
        and (registered[key.key_id].details.get("public_key") or {}).get("public_key")
        == key.to_dict().get("public_key")
    ]


def _check_order_and_chain(lines: list[tuple[LedgerEntry | None, bytes, int]], report: BundleReport) -> None:
    previous: tuple[LedgerEntry, bytes] | None = None
    for entry, raw, number in lines:
        if entry is None:
            previous = None
            continue
        if previous is not None:
            before, before_raw = previous
            if entry.seq <= before.seq:
                report.add(
                    "ledger.order", f"line {number} (seq {entry.seq}) comes after seq {before.seq}", seq=entry.seq
                )
            elif entry.seq == before.seq + 1:
                expected = "blake3:" + leaf_hash(blake3_bytes, before_raw).hex()
                if entry.prev != expected:
                    report.add("chain.broken", "prev hash does not match the entry before it", seq=entry.seq)
        previous = (entry, raw)


def _check_signature(
    note: SignedNote,
    checkpoint: Checkpoint,
    keys: dict[str, PublicKey],
    entries: list[LedgerEntry],
    report: BundleReport,
    anchors: Sequence[TrustAnchor],
) -> None:
    report.checks.append("checkpoint signature against a bundled key the ledger records as the investigator's")
    registered = _registered(entries)
    signers = [key for key in keys.values() if note.verify_with(key)]
    report.facts["checkpoint"]["signed_by"] = [key.key_id for key in signers]
    if not signers:
        report.add(
            "checkpoint.bad_signature", "no bundled public key verifies the checkpoint signature", path=CHECKPOINT
        )
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
        record = registered.get(key.key_id)
        if record is None:
            report.add(
                "key.unregistered",
                f"the checkpoint is signed by key {key.key_id}, which the ledger never recorded as an investigator's",
                path=f"{KEYS}/{key.key_id}.json",
            )
        elif (record.details.get("public_key") or {}).get("public_key") != key.to_dict().get("public_key"):
            report.add("key.mismatch", "the bundled key differs from the one the ledger recorded", seq=record.seq)
        else:
            report.facts["signer"] = {"key_id": key.key_id, "investigator": record.details.get("investigator")}
    opened = next((e for e in entries if e.action == "case.opened"), None)
    if opened is not None:
        case = dict(opened.details.get("case") or {})
        origin = f"evidencekit/{case.get('case_id')}/{case.get('case_uuid')}"
        if checkpoint.origin != origin:
            report.add(
                "checkpoint.foreign", f"checkpoint origin {checkpoint.origin!r} is not this case's", path=CHECKPOINT
            )


def _prefix_tree(lines: list[Line]) -> MerkleTree | None:
    """The Merkle tree of the excerpt when it holds every entry from seq 0 on (a --full-ledger bundle)."""
    if not all(entry is not None and entry.seq == index for index, (entry, _, _) in enumerate(lines)):
        return None
    return MerkleTree(blake3_bytes, [leaf_hash(blake3_bytes, raw) for _, raw, _ in lines])


def _check_earlier_checkpoints(
    lines: list[Line], checkpoint: Checkpoint, keys: list[PublicKey], report: BundleReport
) -> None:
    """Checkpoints the ledger recorded before the bundle's (full-ledger excerpts hold them).

    Each must be signed by an investigator's key, none may be newer than the bundle's own checkpoint,
    and when the excerpt holds every entry, the tree of each one's size must still have the root it signed:
    a history rewritten and signed again after the fact contradicts the checkpoints signed before.
    """
    earlier = [entry for entry, _, _ in lines if entry is not None and entry.action == "checkpoint.signed"]
    if not earlier:
        return
    report.checks.append("earlier checkpoints in the ledger: signed, not newer than the bundle's, consistent")
    tree = _prefix_tree(lines)
    for entry in earlier:
        try:
            note = SignedNote.parse(str(entry.details.get("note")))
            old = Checkpoint.parse(note.body)
        except ValidationError as exc:
            report.add(
                "checkpoint.earlier_malformed", f"the checkpoint recorded here cannot be read: {exc}", seq=entry.seq
            )
            continue
        if not any(note.verify_with(key) for key in keys):
            report.add(
                "checkpoint.earlier_bad_signature",
                "no investigator key in the bundle verifies the checkpoint recorded here",
                seq=entry.seq,
            )
        if old.origin != checkpoint.origin:
            report.add("checkpoint.foreign", f"checkpoint origin {old.origin!r} is not this case's", seq=entry.seq)
        if old.size > checkpoint.size:
            report.add(
                "checkpoint.regressed",
                f"the bundle's checkpoint (tree size {checkpoint.size}) is older than the one recorded here "
                f"(tree size {old.size})",
                seq=entry.seq,
            )
        elif (old.size == checkpoint.size and old.root != checkpoint.root) or (
            tree is not None and old.size <= tree.size and tree.root(old.size) != old.root
        ):
            report.add(
                "checkpoint.inconsistent",
                f"the first {old.size} ledger entries no longer have the root this earlier checkpoint signed",
                seq=entry.seq,
            )


def _check_proofs(
    lines: list[tuple[LedgerEntry | None, bytes, int]],
    proofs: dict[str, Any],
    checkpoint: Checkpoint,
    report: BundleReport,
) -> None:
    report.checks.append("an RFC 9162 inclusion proof of each ledger line against the signed checkpoint root")
    if proofs.get("tree_size") != checkpoint.size or proofs.get("root") != "blake3:" + checkpoint.root.hex():
        report.add("proofs.checkpoint", "proofs.json names another tree head than the signed checkpoint", path=PROOFS)
    by_seq: dict[int, list[str]] = {}
    for item in proofs["proofs"]:
        if isinstance(item, dict) and isinstance(item.get("seq"), int) and isinstance(item.get("path"), list):
            by_seq[item["seq"]] = item["path"]
    for entry, raw, number in lines:
        seq = entry.seq if entry is not None else None
        if seq is None:
            continue
        path = by_seq.get(seq)
        if path is None:
            report.add("proof.missing", f"no inclusion proof for line {number}", seq=seq)
            continue
        try:
            nodes = [bytes.fromhex(h) for h in path]
        except (ValueError, TypeError):
            report.add("proof.malformed", "proof holds something other than hex hashes", seq=seq)
            continue
        leaf = leaf_hash(blake3_bytes, raw)
        if not verify_inclusion(blake3_bytes, seq, checkpoint.size, leaf, nodes, checkpoint.root):
            report.add("proof.invalid", "the entry is not included in the signed tree as the proof claims", seq=seq)


def _check_artefacts(
    entries: list[LedgerEntry], digests: dict[str, Digests], report: BundleReport, items: set[str] | None
) -> None:
    report.checks.append("every artefact a ledger entry names: present, same size, BLAKE3 and SHA-256")
    for entry in entries:
        if entry.subject is None or (items is not None and entry.subject not in items):
            continue
        for artefact in entry.artefacts:
            rel = artefact_path(entry.subject, artefact.name)
            actual = digests.get(rel)
            if actual is None:
                report.add("artefact.missing", f"recorded at seq {entry.seq} but absent from the bundle", path=rel)
            elif actual != artefact.digests:
                report.add("artefact.altered", f"differs from what seq {entry.seq} recorded", path=rel)
