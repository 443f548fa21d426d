"""``show ITEM --save NAME DIR``: a read-only copy of one artefact under its own file name.

Objects are filed by their BLAKE3 digest, which is right for a store and useless to a person looking for
"the screenshot". The copy is checked against the ledger's digests while it is written: a copy of an
object that no longer matches its entry is never left behind. Nothing is recorded (reading command), and
nothing is written inside the case folder, which holds only what the tool puts there.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from evidencekit.errors import ObjectMismatchError, OperationalError, UsageError
from evidencekit.fsutil import fsync_dir, link_into_place
from evidencekit.hashing import hash_stream
from evidencekit.models import Artefact
from evidencekit.store import compare_digests
from evidencekit.workflows.opencase import Session, open_case, require_item


@dataclass(frozen=True)
class SavedCopy:
    item_id: str
    artefact: Artefact
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "name": self.artefact.name,
            "path": str(self.path),
            "size": self.artefact.digests.size,
            "sha256": self.artefact.digests.sha256_tagged,
            "blake3": self.artefact.digests.blake3_tagged,
        }


def save_artefact(session: Session, item_id: str, name: str, folder: Path) -> SavedCopy:
    """Copy artefact ``name`` of ``item_id`` to ``folder``/<its file name>, read-only, checked on the way."""
    with open_case(session, readonly=True) as case:
        require_item(case.ledger, item_id)
        found = [a for e in case.ledger.entries_about(item_id) for a in e.artefacts if a.name == name]
        if not found:
            raise UsageError(f"item {item_id} has no artefact named {name!r}; `evidencekit show {item_id}` lists them")
        artefact = found[-1]
        target = _target(folder, name, case.workspace.root)
        with case.store.open(artefact.digests) as source:
            _write_checked(source, artefact, target)
        return SavedCopy(item_id, artefact, target)


def _target(folder: Path, name: str, case_root: Path) -> Path:
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; name an existing folder to save into")
    resolved, root = folder.resolve(), case_root.resolve()
    if resolved == root or root in resolved.parents:
        raise UsageError(f"{folder} lies inside the case folder; save the copy to a folder outside the case")
    # A folder item's artefact name carries its place in the tree; the copy takes the last part only.
    file_name = PurePosixPath(name).name
    if file_name in ("", ".", ".."):
        raise UsageError(f"artefact {name!r} has no usable file name")
    target = folder / file_name
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists; nothing was written (choose another folder)")
    return target


def _write_checked(source: BinaryIO, artefact: Artefact, target: Path) -> None:
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".evidencekit-", suffix=".part")
    except OSError as exc:
        raise OperationalError(f"cannot write in {target.parent}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            actual = hash_stream(source, sink=handle.write)
            handle.flush()
            os.fsync(handle.fileno())
        problem = compare_digests(artefact.name, artefact.digests, actual)
        if problem is not None:
            raise ObjectMismatchError(
                f"{artefact.name}: {problem.message}; nothing was saved; run `evidencekit ledger verify`"
            )
        tmp.chmod(0o444)
        try:
            link_into_place(tmp, target)
        except FileExistsError:
            raise UsageError(f"{target} already exists; nothing was written (choose another folder)") from None
        fsync_dir(target.parent)
    except OSError as exc:
        raise OperationalError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
