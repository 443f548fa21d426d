"""A case folder: where its metadata, ledger database, object store and checkpoints file live.

Layout::

    <case>/case.json          case metadata (read-only once written; also inside the case.opened entry)
    <case>/ledger.sqlite      the custody ledger
    <case>/objects/           the content-addressed store
    <case>/checkpoints.txt    every signed checkpoint, appended as signed notes
    <case>/work/              scratch space for captures in progress (never evidence)
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from evidencekit import CASE_ENV
from evidencekit.errors import CaseExistsError, CaseNotFoundError, LedgerCorruptError, ValidationError
from evidencekit.fsutil import write_new_file
from evidencekit.models import CaseInfo

CASE_FILE = "case.json"
LEDGER_FILE = "ledger.sqlite"
OBJECTS_DIR = "objects"
CHECKPOINTS_FILE = "checkpoints.txt"
WORK_DIR = "work"


def resolve_case_dir(option: str | Path | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """The case folder: ``--case``, else ``EVIDENCEKIT_CASE``, else the current folder."""
    if option:
        return Path(option)
    if environ.get(CASE_ENV):
        return Path(environ[CASE_ENV])
    return cwd


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def case_file(self) -> Path:
        return self.root / CASE_FILE

    @property
    def ledger_path(self) -> Path:
        return self.root / LEDGER_FILE

    @property
    def objects_dir(self) -> Path:
        return self.root / OBJECTS_DIR

    @property
    def checkpoints_path(self) -> Path:
        return self.root / CHECKPOINTS_FILE

    @property
    def work_dir(self) -> Path:
        return self.root / WORK_DIR

    def read_only(self) -> bool:
        """True when nothing can be written to the case folder: a write-blocked copy, a read-only mount or
        files without write permission. ``access`` reports a read-only file system even to root, but not
        missing write permission (root may write anyway): a case folder or ledger with no write bit for anyone
        (``chmod -R a-w``, how an examiner write-protects a copy) is read-only for root too."""
        present = [path for path in (self.root, self.ledger_path) if path.exists()]
        if not all(os.access(path, os.W_OK) for path in present):
            return True
        with contextlib.suppress(OSError):
            if any(path.stat().st_mode & 0o222 == 0 for path in present):
                return True
        with contextlib.suppress(OSError):
            return bool(os.statvfs(self.root).f_flag & os.ST_RDONLY)
        return False

    def read_info(self) -> CaseInfo:
        try:
            data = json.loads(self.case_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CaseNotFoundError(f"{self.root} is not an evidencekit case (no {CASE_FILE})") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise LedgerCorruptError(f"{self.case_file} is damaged: it is not valid JSON") from None
        if not isinstance(data, dict):
            raise LedgerCorruptError(f"{self.case_file} is damaged: it is not a JSON object")
        try:
            return CaseInfo.from_dict(data)
        except ValidationError as exc:
            raise LedgerCorruptError(f"{self.case_file} is damaged: {exc}") from None


def open_workspace(root: Path) -> Workspace:
    """An existing case, or CaseNotFoundError saying what to do. Its ledger and store are the storage
    backend's to find (``ledger.local`` checks the files here)."""
    if not root.exists():
        raise CaseNotFoundError(f"no such folder: {root}; pass --case with a case folder or run `evidencekit init`")
    if not root.is_dir():
        raise CaseNotFoundError(f"{root} is a file, not a case folder")
    if not (root / CASE_FILE).is_file():
        if (root / LEDGER_FILE).exists():
            # The ledger is the case; a folder that still holds it lost its case.json: damage, not "no case".
            raise LedgerCorruptError(
                f"{root} holds a ledger but {CASE_FILE} is missing: the case is damaged; "
                "case.opened in the ledger holds what it said"
            )
        raise CaseNotFoundError(
            f"{root} is not an evidencekit case; run `evidencekit init` there or pass --case with a case folder"
        )
    return Workspace(root)


def create_workspace(root: Path, info: CaseInfo) -> Workspace:
    """Lay out a new case folder. Refuses a folder that already holds a case (or a ledger)."""
    if root.exists() and not root.is_dir():
        raise CaseExistsError(f"{root} is a file; choose a new or empty folder for the case")
    if (root / CASE_FILE).exists() or (root / LEDGER_FILE).exists():
        raise CaseExistsError(f"{root} already holds a case; choose another folder")
    root.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(root)
    text = json.dumps(info.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        write_new_file(workspace.case_file, text.encode("utf-8"))
    except FileExistsError:
        raise CaseExistsError(f"{root} already holds a case; choose another folder") from None
    return workspace
