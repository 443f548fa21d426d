"""Today's storage behind the seam: the case folder's SQLite ledger, checkpoints.txt and objects/, and the
investigator's witness copy in their config folder."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from evidencekit.errors import CaseExistsError, LedgerCorruptError, OperationalError
from evidencekit.ledger.backend import CaseStorage, Clock
from evidencekit.ledger.database import Ledger
from evidencekit.ledger.witness import checkpoints_file, witness_file
from evidencekit.models import CaseInfo, EntryDraft, LedgerEntry
from evidencekit.store import ObjectStore
from evidencekit.workspace import Workspace


class LocalStorage:
    """The ``backend.StorageFactory`` of a case kept in one folder on this machine."""

    def create(
        self, workspace: Workspace, info: CaseInfo, first: Sequence[EntryDraft], *, clock: Clock
    ) -> list[LedgerEntry]:
        if workspace.ledger_path.exists():
            raise CaseExistsError(f"{workspace.root} already holds a ledger; choose another folder")
        try:
            workspace.objects_dir.mkdir(exist_ok=True)
            with Ledger.create(workspace.ledger_path, info.case_id, clock=clock) as ledger:
                return ledger.append_all(first)
        except BaseException:
            # A ledger without its first entry holds no evidence yet: remove it, so init can be retried.
            for suffix in ("", "-wal", "-shm"):
                workspace.ledger_path.with_name(workspace.ledger_path.name + suffix).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                workspace.objects_dir.rmdir()
            raise

    def open(
        self, workspace: Workspace, info: CaseInfo, environ: Mapping[str, str], *, clock: Clock, readonly: bool
    ) -> CaseStorage:
        if not workspace.ledger_path.is_file():
            raise LedgerCorruptError(
                f"{workspace.root} holds case.json but {workspace.ledger_path.name} is missing: the case is damaged"
            )
        if not readonly and workspace.read_only():
            # A write-blocked copy is how examiners work: say so plainly, not as damage (exit 1, never 3).
            raise OperationalError(
                f"the case folder is read-only ({workspace.root}); nothing was recorded; reading commands "
                "(items, show, log, indicators, ledger verify) work on it"
            )
        ledger = Ledger.open(workspace.ledger_path, clock=clock, readonly=readonly)
        return CaseStorage(
            ledger=ledger,
            checkpoints=checkpoints_file(workspace),
            witness=witness_file(environ, info),
            store=ObjectStore(workspace.objects_dir),
        )
