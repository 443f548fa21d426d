"""A finished bag zipped for hand-over: one top-level folder (RFC 8493 section 4.2), sorted entries, fixed
timestamps, so the same bag always gives the same bytes."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Files that do not shrink (or shrink a little): stored, which also keeps reading them fast.
STORED_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".wacz", ".zip", ".gz", ".pdf", ".mp4"})
# Verifiers refuse entries that expand more than 200-fold and archives that expand more than 100-fold in
# all (zip bombs, see ``safezip``); evidence that deflates beyond this (a file of zeros) is stored instead.
MAX_DEFLATE_RATIO = 50
# Below this size an entry's headers outweigh what deflate saves, so it cannot make the archive a bomb.
_SMALL = 4096


def zip_bag(root: Path, target: Path, top: str) -> None:
    """Write ``target`` (new) holding the bag at ``root`` under the folder name ``top``."""
    too_compressible = _zip_folder(root, target, top, frozenset())
    if too_compressible:
        target.unlink()
        _zip_folder(root, target, top, too_compressible)


def _zip_folder(root: Path, target: Path, top: str, store: frozenset[str]) -> frozenset[str]:
    """Zip the bag, storing rather than deflating the entries named in ``store``.

    Returns the deflated entries that shrank more than MAX_DEFLATE_RATIO-fold: the caller zips again
    storing them, so no verifier takes the bundle for a zip bomb. That is rare (evidence full of zeros),
    so the common case zips once.
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
