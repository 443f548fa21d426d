"""Helpers for bundle tests: a careful forger who recomputes every manifest after a change."""

from __future__ import annotations

import os
from pathlib import Path

from evidencekit.bundle.bagit import ALGORITHMS, manifest_text, parse_bag_info, write_tag_manifests
from evidencekit.hashing import hash_file


def rebag(root: Path) -> None:
    """Recompute the payload manifests, Payload-Oxum and tag manifests as a forger would."""
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
    write_tag_manifests(root, oxum, len(payload))


def flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[min(offset, len(data) - 1)] ^= 0x20
    path.write_bytes(bytes(data))
