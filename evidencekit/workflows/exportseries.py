"""Which items an export carries for their series: a watched URL's history travels whole.

An item that belongs to a series (``ledger.series``: every capture of one normalised URL) is evidence of one
moment in that history; its observation compares it with other attempts, whose captures are what the
comparison is about. So exporting one item of a series brings the series' other items along (every attempt,
with its observation and diff files), unless the user asks for an excerpt (``export --no-series``): then
only the chosen items go, the bundle says so, and ``verify`` names the items it lacks.

The ``watch.added`` and ``watch.changed`` entries of the series' watches join the ledger excerpt, so that
the watch's recorded settings (how often, how many gone answers declare a removal, over what span) travel
with the observations they governed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evidencekit.ledger.entries import WatchAdded, WatchChanged
from evidencekit.ledger.series import Series, build_series
from evidencekit.models import LedgerEntry

WATCH_ACTIONS = frozenset({WatchAdded.ACTION, WatchChanged.ACTION})


@dataclass(frozen=True)
class SeriesSelection:
    """The items an export carries and why: ``added`` maps each item brought in for its series to the series;
    ``left_out`` (only with ``whole=False``) each series the bundle holds in part to the items it lacks."""

    items: tuple[str, ...]
    whole: bool
    added: Mapping[str, str] = field(default_factory=dict)
    left_out: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    watches: frozenset[str] = frozenset()
    # One declaration per series the bundle touches (``declare``), written into the signed bag-info.txt.
    declarations: tuple[dict[str, Any], ...] = ()

    def details(self) -> dict[str, Any] | None:
        """What export.created records about the series (None when no exported item is in a series of more
        than one attempt)."""
        if not self.added and not self.left_out and not self.watches:
            return None
        return {
            "carried": "whole" if self.whole else "excerpt",
            "added": dict(self.added),
            **({"left_out": {key: list(items) for key, items in self.left_out.items()}} if self.left_out else {}),
        }


def _series_of_items(series: Mapping[str, Series], chosen: Sequence[str]) -> list[Series]:
    """The series of the chosen items that are a history: more than one attempt, or an observed one."""
    wanted = set(chosen)
    return [
        s
        for s in series.values()
        if not wanted.isdisjoint(s.item_ids())
        and (len(s.item_ids()) > 1 or any(a.observation_seq is not None for a in s.attempts))
    ]


def declare(series: Series, carried: Sequence[str]) -> dict[str, Any]:
    """What the bundle says, signed, of one series: carried ``whole`` or as an ``excerpt``; the captures it
    carries; which of them the case had an observation.recorded for at export time (``observed``); and for an
    excerpt, the captures left out (items, count, first and last ledger time). ``verify`` holds the bundle to
    it: a declared capture or observation that is absent is a thinned bundle, not an excerpt."""
    held = set(carried)
    shipped = [a for a in series.attempts if a.item in held]
    left = [a for a in series.attempts if a.item not in held]
    declared: dict[str, Any] = {
        "series": series.key,
        "carried": "excerpt" if left else "whole",
        "captures": [a.item for a in shipped],
        "observed": [a.item for a in shipped if a.observation_seq is not None],
    }
    if left:
        times = [t for a in left if (t := a.time or a.started_at)]
        declared["left_out"] = {
            "count": len(left),
            "items": [a.item for a in left],
            "first": min(times) if times else None,
            "last": max(times) if times else None,
        }
    return declared


def select_with_series(
    entries: Sequence[LedgerEntry], chosen: Sequence[str], known: Sequence[str], *, whole: bool = True
) -> SeriesSelection:
    """``chosen`` (the user's items, in their order) with, when ``whole``, the other items of their series
    appended in the case's order (``known``: every item of the case, in order)."""
    touched = _series_of_items(build_series(entries), chosen)
    watches = frozenset(w for s in touched for w in s.watches)
    picked = set(chosen)
    if not whole:
        left = {s.key: tuple(i for i in s.item_ids() if i not in picked) for s in touched}
        return SeriesSelection(
            tuple(chosen),
            False,
            left_out={k: v for k, v in left.items() if v},
            watches=watches,
            declarations=tuple(declare(s, chosen) for s in touched),
        )
    added: dict[str, str] = {}
    for s in touched:
        for item in s.item_ids():
            if item not in picked and item not in added:
                added[item] = s.key
    ordered = [item for item in known if item in added]
    carried = tuple(chosen) + tuple(ordered)
    return SeriesSelection(
        carried,
        True,
        {i: added[i] for i in ordered},
        watches=watches,
        declarations=tuple(declare(s, carried) for s in touched),
    )


def watch_seqs(entries: Sequence[LedgerEntry], watches: frozenset[str]) -> list[int]:
    """The seqs of the watch.added and watch.changed entries of ``watches``."""
    return [e.seq for e in entries if e.action in WATCH_ACTIONS and e.details.get("watch") in watches]
