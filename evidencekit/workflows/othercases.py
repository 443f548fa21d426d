"""Other cases, read alongside the one a command runs in (``links --across``, ``export --include-across``).

Shared by the links and export families (which never import each other): each folder is checked before
anything is opened, each case is opened read-only (nothing is ever written there), and neither the
command's own case nor one case twice is accepted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from evidencekit.errors import UsageError
from evidencekit.workflows.opencase import OpenCase, Session, open_case
from evidencekit.workspace import CASE_FILE


@contextmanager
def other_cases(session: Session, folders: Sequence[Path], local_id: str, *, option: str) -> Iterator[list[OpenCase]]:
    """Each case in ``folders`` (named with ``option``), opened read-only, in the order given. Refused with a
    one-line UsageError when a folder is missing or not a case, is the case ``local_id`` itself, or holds
    a case already named."""
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"{option} {folder}: no such folder; name the folder of another case")
        if not (folder / CASE_FILE).is_file():
            raise UsageError(f"{option} {folder}: not an evidencekit case (no {CASE_FILE}); name another case's folder")
    with ExitStack() as stack:
        opened: list[OpenCase] = []
        for folder in folders:
            other = stack.enter_context(open_case(replace(session, case_dir=folder), readonly=True))
            case_id = other.info.case_id
            if case_id == local_id:
                raise UsageError(
                    f"{option} {folder}: case {case_id} is this case itself, named twice (once by --case); "
                    "name each other case once"
                )
            if any(o.info.case_id == case_id for o in opened):
                raise UsageError(f"{option} {folder}: case {case_id} is named twice; name each other case once")
            opened.append(other)
        yield opened
