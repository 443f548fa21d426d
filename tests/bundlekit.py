"""Helpers for bundle tests: a careful forger who recomputes every manifest after a change, and an
insider holding the investigator's key who rewrites the custody history and signs it all again."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evidencekit.bundle.bagit import ALGORITHMS, manifest_text, parse_bag_info, write_tag_manifests
from evidencekit.bundle.signature import read_statement, statement_body, write_statement
from evidencekit.hashing import blake3_bytes, hash_file
from evidencekit.keys import SigningKey
from evidencekit.ledger.merkle import MerkleTree, leaf_hash
from evidencekit.ledger.notes import Checkpoint, SignedNote, sign_checkpoint, sign_note
from evidencekit.models import canonical_json

CUSTODY = "data/custody"


def rebag(root: Path, key: SigningKey | None = None) -> None:
    """Recompute the payload manifests, Payload-Oxum and tag manifests as a forger would.

    With ``key``, also sign the bundle statement again, in all three forms (only the investigator's key
    holder can).
    """
    payload = {}
    for dirpath, _, files in os.walk(root / "data"):
        for name in files:
            path = Path(dirpath) / name
            payload[path.relative_to(root).as_posix()] = hash_file(path)
    for algorithm in ALGORITHMS:
        (root / f"manifest-{algorithm}.txt").write_text(manifest_text(payload, algorithm), encoding="utf-8")
    info = [(k, v) for k, v in parse_bag_info((root / "bag-info.txt").read_text()) if k != "Payload-Oxum"]
    oxum = f"{sum(d.size for d in payload.values())}.{len(payload)}"
    info.append(("Payload-Oxum", oxum))
    (root / "bag-info.txt").write_text("".join(f"{k}: {v}\n" for k, v in info), encoding="utf-8")
    if key is not None:
        statement = read_statement(root)
        body = statement_body(root, statement.origin, statement.created, statement.items)
        write_statement(root, sign_note(body, key))
    write_tag_manifests(root, oxum, len(payload))


def rewrite_history(root: Path, key: SigningKey, change: Callable[[list[dict[str, Any]]], None]) -> None:
    """Change the ledger excerpt of a --full-ledger bundle, chain it again, and sign a new checkpoint, new
    proofs and a new bundle statement with ``key``: everything but the checkpoints signed in the past."""
    ledger = root / CUSTODY / "ledger.jsonl"
    values = [json.loads(line) for line in ledger.read_bytes().split(b"\n")[:-1]]
    change(values)
    raws: list[bytes] = []
    for value in values:
        if raws:
            value["prev"] = "blake3:" + leaf_hash(blake3_bytes, raws[-1]).hex()
        raws.append(canonical_json(value))
    write_ledger(root, key, raws)


def write_ledger(root: Path, key: SigningKey, raws: list[bytes]) -> None:
    """Put ``raws`` into the bundle as its ledger.jsonl, byte for byte, and sign for them as an insider holding
    ``key`` would: a checkpoint of the tree of exactly these lines, an inclusion proof of each line (under the
    sequence number it claims), a new bundle statement, new manifests."""
    (root / CUSTODY / "ledger.jsonl").write_bytes(b"".join(raw + b"\n" for raw in raws))
    tree = MerkleTree(blake3_bytes, [leaf_hash(blake3_bytes, raw) for raw in raws])
    old = SignedNote.parse((root / CUSTODY / "checkpoint").read_text())
    note = sign_checkpoint(Checkpoint(old.checkpoint().origin, tree.size, tree.root()), key)
    (root / CUSTODY / "checkpoint").write_text(note.text())
    (root / CUSTODY / "checkpoint.body").write_text(note.body)
    (root / CUSTODY / "checkpoint.sig").write_bytes(note.signatures[0].signature)
    proofs = json.loads((root / CUSTODY / "proofs.json").read_text())
    proofs["tree_size"] = tree.size
    proofs["root"] = "blake3:" + tree.root().hex()
    proofs["proofs"] = [
        {"seq": _claimed_seq(raw, index), "path": [n.hex() for n in tree.inclusion_proof(index)]}
        for index, raw in enumerate(raws)
    ]
    (root / CUSTODY / "proofs.json").write_text(json.dumps(proofs))
    rebag(root, key)


def _claimed_seq(raw: bytes, index: int) -> int:
    try:
        seq = json.loads(raw)["seq"]
    except (ValueError, KeyError, TypeError):
        return index
    return seq if isinstance(seq, int) else index


def flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[min(offset, len(data) - 1)] ^= 0x20
    path.write_bytes(bytes(data))
