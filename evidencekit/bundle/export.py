"""Build an evidence bundle: a BagIt 1.0 bag (folder or zip) for prosecutors.

The caller (``api.export_bundle``) gathers what the case holds and hands it over as an ``ExportPlan``;
this module lays out the payload (copying each stored object while re-hashing it, so altered evidence
is never shipped), writes the custody files, the report and the certificate drafts, then the BagIt tag
files, and finally moves the bag into place without ever overwriting anything.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.bundle.bagit import BagSummary, check_payload_path, write_payload_tags, write_tag_manifests
from evidencekit.bundle.layout import (
    BUNDLE_SIGNATURE,
    CHECKPOINT,
    CHECKPOINT_BODY,
    CHECKPOINT_SIG,
    KEYS,
    LEDGER,
    PROOFS,
    artefact_path,
)
from evidencekit.bundle.signature import sign_bundle
from evidencekit.errors import ObjectMismatchError, UsageError
from evidencekit.fsutil import fsync_dir, link_into_place
from evidencekit.hashing import Digests, hash_bytes, hash_file, hash_stream
from evidencekit.keys import PublicKey, SigningKey
from evidencekit.ledger.merkle import MerkleTree
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.models import Artefact, CaseInfo, LedgerEntry

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Files that do not shrink (or shrink a little): stored, which also keeps reading them fast.
STORED_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".wacz", ".zip", ".gz", ".pdf", ".mp4"})
# Verifiers refuse entries that expand more than 200-fold and archives that expand more than 100-fold in
# all (zip bombs, see ``safezip``); evidence that deflates beyond this (a file of zeros) is stored instead.
MAX_DEFLATE_RATIO = 50
# Below this size an entry's headers outweigh what deflate saves, so it cannot make the archive a bomb.
_SMALL = 4096


@dataclass(frozen=True)
class ExportItem:
    item_id: str
    kind: str
    entries: Sequence[LedgerEntry]
    artefacts: Sequence[tuple[Artefact, Path]]
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class ExportPlan:
    case: CaseInfo
    items: Sequence[ExportItem]
    ledger_lines: Sequence[tuple[int, bytes]]
    tree: MerkleTree
    note: SignedNote
    checkpoint: Checkpoint
    keys: Sequence[PublicKey]
    signer: SigningKey
    created: str
    software: str
    recipient: str | None = None
    purpose: str | None = None
    extra_files: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    bag: BagSummary
    files: int


class _Payload:
    """Writes payload files under the bag root and remembers their digests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.digests: dict[str, Digests] = {}

    def _target(self, rel: str) -> Path:
        check_payload_path(rel)
        if rel in self.digests:
            raise UsageError(f"two artefacts would both be written to {rel}")
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add_bytes(self, rel: str, data: bytes) -> Digests:
        target = self._target(rel)
        target.write_bytes(data)
        self.digests[rel] = hash_bytes(data)
        return self.digests[rel]

    def adopt(self, rel: str) -> Digests:
        """Take in a file that a deriver already wrote at ``rel`` under the bag root."""
        check_payload_path(rel)
        if rel in self.digests:
            raise UsageError(f"two derived files would both be written to {rel}")
        self.digests[rel] = hash_file(self.root / rel)
        return self.digests[rel]

    def add_file(self, rel: str, source: Path, expected: Digests | None = None) -> Digests:
        target = self._target(rel)
        try:
            src = source.open("rb")
        except OSError as exc:
            raise ObjectMismatchError(
                f"stored object {source.name} for {rel} cannot be read from the case ({exc.strerror or exc}); "
                "nothing was exported; run `evidencekit ledger verify`"
            ) from None
        with src, target.open("xb") as out:
            digests = hash_stream(src, sink=out.write)
        if expected is not None and digests != expected:
            raise ObjectMismatchError(
                f"stored object for {rel} no longer matches its ledger record; run `evidencekit ledger verify`"
            )
        self.digests[rel] = digests
        return digests


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _write_custody(plan: ExportPlan, payload: _Payload) -> None:
    payload.add_bytes(LEDGER, b"".join(raw + b"\n" for _, raw in plan.ledger_lines))
    proofs = {
        "format": "evidencekit-inclusion-proofs/1",
        "hash": "blake3",
        "leaf_hash": "BLAKE3(0x00 || canonical entry bytes), RFC 9162 section 2.1",
        "tree_size": plan.checkpoint.size,
        "root": "blake3:" + plan.checkpoint.root.hex(),
        "proofs": [
            {"seq": seq, "path": [node.hex() for node in plan.tree.inclusion_proof(seq, plan.checkpoint.size)]}
            for seq, _ in plan.ledger_lines
        ],
    }
    payload.add_bytes(PROOFS, _json_bytes(proofs))
    payload.add_bytes(CHECKPOINT, plan.note.text().encode("utf-8"))
    payload.add_bytes(CHECKPOINT_BODY, plan.note.body.encode("utf-8"))
    payload.add_bytes(CHECKPOINT_SIG, plan.note.signatures[0].signature)
    for key in plan.keys:
        payload.add_bytes(f"{KEYS}/{key.key_id}.json", _json_bytes(key.to_dict()))
        payload.add_bytes(f"{KEYS}/{key.key_id}.pem", key.pem().encode("ascii"))


def _write_items(plan: ExportPlan, payload: _Payload) -> None:
    for item in plan.items:
        names = set()
        for artefact, source in item.artefacts:
            if artefact.name in names:
                continue
            names.add(artefact.name)
            payload.add_file(artefact_path(item.item_id, artefact.name), source, artefact.digests)
        if "metadata.json" not in names:
            payload.add_bytes(artefact_path(item.item_id, "metadata.json"), _json_bytes(dict(item.metadata)))


def build_bundle(
    plan: ExportPlan,
    out: Path,
    *,
    as_dir: bool,
    add_derived: Callable[[Path, dict[str, Digests]], Sequence[str]] | None = None,
) -> ExportResult:
    """Write the bundle to ``out`` (a new zip file, or a new folder with ``as_dir``). Never overwrites.

    ``add_derived`` is called with the bag root and the payload written so far; it writes further
    payload files made from it (the WACZ files, the report and its PDF, the certificates) under the
    root and returns their ``data/...`` paths.
    """
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} already exists; choose a new name (a bundle is never overwritten)")
    parent = out.parent if str(out.parent) else Path()
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
    try:
        bag_name = out.stem if not as_dir else out.name
        root = staging / bag_name
        root.mkdir()
        payload = _Payload(root)
        _write_items(plan, payload)
        _write_custody(plan, payload)
        for rel, data in plan.extra_files.items():
            payload.add_bytes(rel, data)
        if add_derived is not None:
            for rel in add_derived(root, dict(payload.digests)):
                payload.adopt(rel)
        oxum = write_payload_tags(root, payload.digests, _bag_info(plan))
        signed = sign_bundle(root, plan.case, [i.item_id for i in plan.items], plan.created, plan.signer)
        (root / BUNDLE_SIGNATURE).write_text(signed.text(), encoding="utf-8")
        summary = write_tag_manifests(root, oxum, len(payload.digests))
        if as_dir:
            root.rename(out)
        else:
            tmp_zip = staging / "bundle.zip"
            too_compressible = _zip_folder(root, tmp_zip, bag_name, frozenset())
            if too_compressible:
                tmp_zip.unlink()
                _zip_folder(root, tmp_zip, bag_name, too_compressible)
            link_into_place(tmp_zip, out)
        fsync_dir(parent)
        return ExportResult(out, summary, len(payload.digests))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _bag_info(plan: ExportPlan) -> list[tuple[str, str]]:
    info = [
        ("Source-Organization", plan.case.agency or "(not stated)"),
        ("Contact-Name", plan.case.investigator),
        ("External-Identifier", plan.case.case_id),
        (
            "External-Description",
            f"Evidence bundle of case {plan.case.case_id} ({plan.case.title}): {len(plan.items)} item(s), "
            f"custody ledger excerpt with inclusion proofs against a signed checkpoint of "
            f"{plan.checkpoint.size} entries.",
        ),
        ("Bagging-Date", plan.created[:10]),
        ("Bag-Software-Agent", plan.software),
        ("Bag-Group-Identifier", plan.case.case_uuid),
    ]
    if plan.recipient:
        info.append(("Internal-Sender-Description", f"Transferred to {plan.recipient}"))
    if plan.purpose:
        info.append(("Internal-Sender-Identifier", plan.purpose))
    return info


def _zip_folder(root: Path, target: Path, top: str, store: frozenset[str]) -> frozenset[str]:
    """Zip the bag under one top-level folder (RFC 8493 section 4.2), sorted, with fixed timestamps.

    Entries named in ``store`` are stored, not deflated. Returns the deflated entries that shrank more
    than MAX_DEFLATE_RATIO-fold: the caller zips again storing them, so no verifier takes the bundle for
    a zip bomb. That is rare (evidence full of zeros), so the common case zips once.
    """
    files = sorted(p for p in root.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "x", allowZip64=True) as zf:
        for path in files:
            rel = path.relative_to(root).as_posix()
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=ZIP_EPOCH)
            info.external_attr = 0o100644 << 16
            info.flag_bits |= 0x800
            stored = info.filename in store or path.suffix.lower() in STORED_SUFFIXES
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        zf.comment = b"evidencekit evidence bundle (BagIt 1.0)"
        too_compressible = frozenset(
            i.filename
            for i in zf.infolist()
            if i.compress_type == zipfile.ZIP_DEFLATED
            and i.file_size > _SMALL
            and i.file_size > MAX_DEFLATE_RATIO * max(i.compress_size, 1)
        )
    with target.open("rb") as handle:
        os.fsync(handle.fileno())
    return too_compressible
