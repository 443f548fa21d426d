"""``timeline URL|ITEM``: the history of one URL in the case (see ``evidencekit.ledger.series``). Reads only."""

from __future__ import annotations

from datetime import tzinfo

from evidencekit.errors import UsageError
from evidencekit.ledger.series import Series, series_of
from evidencekit.workflows.opencase import Session, open_case


def timeline(session: Session, url_or_item: str, *, zone: tzinfo | None = None) -> Series:
    """The series of the URL (normalised) or of the capture item named, from the case's ledger, opened
    read-only; its intervals' words give times in ``zone`` beside UTC. UsageError when the case has no
    capture of it."""
    wanted = url_or_item.strip()
    if not wanted:
        raise UsageError("give a URL or a capture item (capture-0001)")
    with open_case(session, readonly=True) as case:
        found = series_of(case.ledger.entries(), wanted, zone=zone)
    if found is None:
        raise UsageError(f"no capture of {wanted} in this case")
    return found
