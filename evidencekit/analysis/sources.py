"""Opening one case as a ``CaseSource`` for linking: its derived index found (in the case, or in the cache
folder for a read-only or ``--across`` case) and brought up to date. For every workflow that links (``links``,
``similar``, and export's ``analysis.recorded``), so that they all put the index in the same place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from evidencekit.analysis.feed import bring_up_to_date
from evidencekit.analysis.index import DerivedIndex, can_hold_index, index_path
from evidencekit.analysis.links import CaseSource
from evidencekit.ledger.backend import LedgerBackend
from evidencekit.store import ObjectStoreBackend
from evidencekit.workspace import Workspace


def open_index(
    workspace: Workspace, case_id: str, environ: Mapping[str, str], *, local: bool, fresh: bool = False
) -> DerivedIndex:
    """The case's derived index: beside the ledger when ``local`` and the folder can be written, else in the
    user's cache folder (never in another investigator's case)."""
    in_case = local and can_hold_index(workspace)
    return DerivedIndex(index_path(workspace, case_id, environ, in_case=in_case), fresh=fresh)


@contextlib.contextmanager
def case_source(
    workspace: Workspace,
    case_id: str,
    ledger: LedgerBackend,
    store: ObjectStoreBackend,
    environ: Mapping[str, str],
    *,
    local: bool,
) -> Iterator[CaseSource]:
    """A case (opened read-only by the caller) as a source for ``compute_links``, its index up to date."""
    index = open_index(workspace, case_id, environ, local=local)
    try:
        bring_up_to_date(index, ledger, store)
        yield CaseSource(case_id, local, list(ledger.entries()), store, index)
    finally:
        index.close()
