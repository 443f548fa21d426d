"""BagIt 1.0 (RFC 8493) tag files: writing them for a laid-out payload, and reading them back.

Manifests use the line format ``<hex digest>  <path>`` (two spaces), which is both what RFC 8493
allows and exactly what ``b3sum --check`` and ``sha256sum -c`` read. Payload paths are limited to
``[A-Za-z0-9._/-]`` so that no escaping (RFC 8493 percent-encoding of CR/LF/%) is ever needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evidencekit.errors import ValidationError
from evidencekit.fsutil import fsync_dir
from evidencekit.hashing import Digests, hash_bytes, hash_file

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
ALGORITHMS = ("sha256", "blake3")
SAFE_PATH = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
_MANIFEST_LINE = re.compile(r"([0-9a-f]{64}) +(\S.*)")


def check_payload_path(path: str) -> None:
    if not path.startswith("data/") or not SAFE_PATH.fullmatch(path) or ".." in path.split("/"):
        raise ValidationError(f"payload path {path!r} must be under data/ and use only A-Z a-z 0-9 . _ - /")


def manifest_text(digests: Mapping[str, Digests], algorithm: str) -> str:
    return "".join(f"{getattr(digests[path], algorithm)}  {path}\n" for path in sorted(digests))


@dataclass(frozen=True)
class BagSummary:
    payload_oxum: str
    tag_manifest_sha256: str
    tag_manifest_blake3: str
    payload_files: int


def write_payload_tags(root: Path, payload: Mapping[str, Digests], info: Sequence[tuple[str, str]]) -> str:
    """Write bagit.txt, bag-info.txt (with Payload-Oxum) and the payload manifests; return the oxum.

    ``payload`` maps each ``data/...`` path (already written under ``root``) to its digests.
    """
    for path in payload:
        check_payload_path(path)
    oxum = f"{sum(d.size for d in payload.values())}.{len(payload)}"
    lines = [*info, ("Payload-Oxum", oxum)]
    (root / "bagit.txt").write_bytes(BAGIT_TXT)
    bag_info = "".join(f"{label}: {_one_line(value)}\n" for label, value in lines)
    (root / "bag-info.txt").write_bytes(bag_info.encode("utf-8"))
    for algorithm in ALGORITHMS:
        (root / f"manifest-{algorithm}.txt").write_bytes(manifest_text(payload, algorithm).encode("utf-8"))
    return oxum


def write_tag_manifests(root: Path, oxum: str, payload_files: int) -> BagSummary:
    """Write the tag manifests over every tag file present at the bag root (all but the tag manifests)."""
    tag_digests = {
        p.name: hash_file(p) for p in sorted(root.iterdir()) if p.is_file() and not p.name.startswith("tagmanifest-")
    }
    written = {}
    for algorithm in ALGORITHMS:
        data = manifest_text(tag_digests, algorithm).encode("utf-8")
        (root / f"tagmanifest-{algorithm}.txt").write_bytes(data)
        written[algorithm] = hash_bytes(data)
    fsync_dir(root)
    return BagSummary(oxum, written["sha256"].sha256, written["blake3"].blake3, payload_files)


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def parse_manifest(text: str) -> tuple[dict[str, str], list[str]]:
    """``{path: hex}`` and a list of malformed-line messages (with line numbers)."""
    entries: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        match = _MANIFEST_LINE.fullmatch(line)
        if match is None:
            problems.append(f"line {number} is not '<hex digest>  <path>'")
            continue
        digest, path = match.group(1), match.group(2)
        if path in entries:
            problems.append(f"line {number} lists {path} a second time")
        entries[path] = digest
    return entries, problems


def parse_bag_info(text: str) -> list[tuple[str, str]]:
    """Labels and values in order; continuation lines (starting with white space) join the value before."""
    fields: list[tuple[str, str]] = []
    for line in text.split("\n"):
        if not line:
            continue
        if line[0] in " \t" and fields:
            label, value = fields[-1]
            fields[-1] = (label, f"{value} {line.strip()}")
        elif ":" in line:
            label, value = line.split(":", 1)
            fields.append((label.strip(), value.strip()))
        else:
            raise ValidationError(f"bag-info.txt line {line[:40]!r} has no 'Label: value' form")
    return fields
