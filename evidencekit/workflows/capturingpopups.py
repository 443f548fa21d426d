"""What a capture run records of the pop-up windows a page opened (issue 16), kept beside
``workflows.capturing``: each pop-up captured is an item of its own, recorded in its opener's result
transaction right after the opener's entry (so its ids follow the opener's, and a crash records neither).

Its ``capture.started`` is therefore appended after the window's capture ended: the entry's own time is when
it was recorded, and ``opened_at`` (the pop-up's metadata ``times.started``: when the capture took the window
over, as it opened) says when the window really opened, so that no timeline reads the entry time as its start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from evidencekit.errors import ObjectMismatchError
from evidencekit.ledger.backend import LedgerTransaction, item_id
from evidencekit.models import CaptureResult, EntryDraft, LedgerEntry
from evidencekit.workflows.opencase import OpenCase


def next_capture_ids(txn: LedgerTransaction, count: int) -> list[str]:
    """The ids the next ``count`` capture items will have, in order."""
    if not count:
        return []
    first = txn.next_item_id("capture")
    existing = int(first.rsplit("-", 1)[1]) - 1
    return [item_id("capture", existing + k) for k in range(count)]


def store_popups(case: OpenCase, popups: Sequence[CaptureResult]) -> tuple[CaptureResult, ...]:
    """Put each pop-up's files into the store. A pop-up with a file that changed between capture and
    storage is recorded as failed, with none of its files nor anything read from them (its times aside):
    the opener and the other pop-ups are recorded as ever. (A changed file of the opener's own still stops
    the run: see ``capturing``.)"""
    stored = []
    for popup in popups:
        try:
            for captured in popup.files:
                if case.store.put_file(captured.path) != captured.artefact.digests:
                    raise ObjectMismatchError(f"{captured.path.name} changed between capture and storage")
        except ObjectMismatchError as exc:
            kept = {"times": popup.metadata["times"]} if "times" in popup.metadata else {}
            why = f"the pop-up's files could not be stored: {exc}"
            popup = replace(popup, status="failed", reasons=(), files=(), metadata=kept, indicators=(), error=why)
        stored.append(popup)
    return tuple(stored)


def opened_at(result: CaptureResult) -> str | None:
    """When the pop-up window opened, as its metadata says (None if it does not)."""
    times = result.metadata.get("times")
    started = times.get("started") if isinstance(times, Mapping) else None
    return started if isinstance(started, str) else None


def record_popups(
    case: OpenCase,
    txn: LedgerTransaction,
    popup_ids: Sequence[str],
    started: Mapping[str, Any],
    popups: Sequence[CaptureResult],
    ended_details: Callable[[str, CaptureResult], dict[str, Any]],
) -> list[tuple[str, CaptureResult, LedgerEntry]]:
    """Each pop-up window's ``capture.started`` (``started`` details: its opener's item, the options and
    note; None values left out; with its URL and when the window opened) and the entry of how its capture
    ended (``ended_details``): (item, result, that entry) for each, in order."""
    recorded = []
    for popup_id, result in zip(popup_ids, popups, strict=True):
        if txn.next_item_id("capture") != popup_id:
            raise RuntimeError(f"the pop-up's item was to be {popup_id}")
        details = {"url": result.requested_url, **started, "opened_at": opened_at(result)}
        details = {name: value for name, value in details.items() if value is not None}
        txn.append(EntryDraft("capture.started", case.actor, popup_id, details=details))
        action = "capture.failed" if result.status == "failed" else "capture.completed"
        ended = ended_details(result.requested_url, result)
        recorded.append(
            (popup_id, result, txn.append(EntryDraft(action, case.actor, popup_id, result.artefacts, ended)))
        )
    return recorded
