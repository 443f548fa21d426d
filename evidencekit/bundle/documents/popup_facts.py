"""What a court document says of pop-up windows (issue 16), from the item facts (see ``facts``): which
item opened this one, and which items the pop-up windows this page opened became. Plain text; each
document escapes it its own way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def requested_label(item: Mapping[str, Any]) -> str:
    """The label of an item's requested URL: for a pop-up window, nobody requested it: the page opened it."""
    return "Address the page opened" if item.get("opened_by") else "Requested URL"


def popup_lines(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows: "Opened by" for a pop-up's capture, "Pop-up windows it opened" for its opener."""
    rows: list[tuple[str, str]] = []
    opened_by = item.get("opened_by")
    if isinstance(opened_by, str) and opened_by:
        # When the window opened: its capture.started is recorded later, with its opener's result.
        opened_at = item.get("opened_at")
        at = f", at {opened_at}" if isinstance(opened_at, str) and opened_at else ""
        rows.append(("Opened by", f"{opened_by} (this window is a pop-up window the page of {opened_by} opened{at})"))
    opened = [each for each in item.get("opened") or () if isinstance(each, str)]
    if opened:
        rows.append(("Pop-up windows it opened", f"{', '.join(opened)} (each captured as an item of its own)"))
    closed = [each for each in item.get("popups_not_captured") or () if isinstance(each, Mapping)]
    if closed:
        said = "; ".join(
            f"{each.get('opened_url') or 'no address'} at {each.get('time')}: {each.get('note') or 'closed'}"
            for each in closed
        )
        rows.append(("Pop-up windows not captured", f"{len(closed)}: {said}"))
    return rows


def popups_not_captured(metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pop-up windows a capture's metadata.json lists as closed rather than captured: address (as
    recorded: credentials already redacted), time and why (no note: closed as every pop-up was before)."""
    records = metadata.get("popups")
    if not isinstance(records, list):
        return []
    closed = [each for each in records if isinstance(each, Mapping) and each.get("action") == "closed"]
    return [
        {"opened_url": each.get("opened_url"), "time": each.get("time"), "note": each.get("note")} for each in closed
    ]
