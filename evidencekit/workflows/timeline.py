"""``timeline URL|ITEM``: the history of one URL in the case (see ``evidencekit.ledger.series``). Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from evidencekit.errors import UsageError
from evidencekit.ledger.series import Series, independent_time, series_of
from evidencekit.workflows.opencase import Session, open_case
from evidencekit.workflows.stamping import intact_covers


@dataclass(frozen=True)
class TimelineView:
    """A series, and per interval (same order) what independent time says of its bounds: the RFC 3161
    tokens the rulebook finds intact that cover the entries ending its bounding captures."""

    series: Series
    independent: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """``Series.to_dict()``, each interval with ``independent_time``: a list of sentences (empty when
        no token covers its bounds)."""
        doc = self.series.to_dict()
        for interval, said in zip(doc["intervals"], self.independent, strict=True):
            interval["independent_time"] = list(said)
        return doc


def timeline(session: Session, url_or_item: str, *, zone: tzinfo | None = None) -> Series:
    """The series of the URL (normalised) or of the capture item named, from the case's ledger, opened
    read-only; its intervals' words give times in ``zone`` beside UTC. UsageError when the case has no
    capture of it."""
    return timeline_view(session, url_or_item, zone=zone, with_time=False).series


def timeline_view(
    session: Session, url_or_item: str, *, zone: tzinfo | None = None, with_time: bool = True
) -> TimelineView:
    """``timeline``, with the independent time covering each interval's bounds (``with_time``)."""
    wanted = url_or_item.strip()
    if not wanted:
        raise UsageError("give a URL or a capture item (capture-0001)")
    with open_case(session, readonly=True) as case:
        entries = list(case.ledger.entries())
        found = series_of(entries, wanted, zone=zone)
        if found is None:
            raise UsageError(f"no capture of {wanted} in this case")
        if not with_time:
            return TimelineView(found, ((),) * len(found.intervals))
        cover = intact_covers(entries, case.store)
        said = tuple(tuple(independent_time(found, i, cover, zone=zone)) for i in found.intervals)
    return TimelineView(found, said)
