"""The parts of a page comparison other than photos: indicators, title, visible text and screenshots, each
as the section of diff.json that states it (see ``analysis.contentdiff`` for the order and the verdict)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidencekit.analysis import pagetext

if TYPE_CHECKING:
    from evidencekit.analysis.contentdiff import PageState
    from evidencekit.photos.visualdiff import VisualDiff

_MAX_LISTED = 5  # indicators named in one summary; the rest are counted
_MAX_SUMMARY_TITLE = 200
_KIND_ORDER = ("phone", "whatsapp", "telegram", "email", "upi", "iban", "crypto", "social", "url")


def side(state: PageState) -> dict[str, Any]:
    return {
        "item": state.item,
        "url": state.url,
        "final_url": state.final_url,
        "recorded_at": state.recorded_at,
        "title": state.title,
    }


def _said(indicator: Mapping[str, Any]) -> str:
    """How an indicator is named in words: as the page wrote it, else its normalised value."""
    raw, value = indicator.get("raw"), str(indicator.get("value", ""))
    return " ".join(raw.split()) if isinstance(raw, str) and raw.strip() else value


def _authors(indicators: Sequence[Mapping[str, Any]]) -> tuple[dict[tuple[str, str], dict[str, str]], int]:
    found: dict[tuple[str, str], dict[str, str]] = {}
    site = 0
    for indicator in indicators:
        kind, value = indicator.get("kind"), indicator.get("value")
        if not isinstance(kind, str) or not isinstance(value, str):
            continue
        if indicator.get("site") is True:
            site += 1
            continue
        found.setdefault((kind, value), {"kind": kind, "value": value, "raw": _said(indicator)})
    return found, site


def _rank(indicator: Mapping[str, str]) -> int:
    kind = indicator["kind"]
    return _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)


def compare_indicators(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Indicators added, removed, and replaced (one of a kind removed and one of that kind added, paired in
    page order); site indicators are left out and counted."""
    first, site_before = _authors(before)
    second, site_after = _authors(after)
    removed = sorted((v for k, v in first.items() if k not in second), key=_rank)
    added = sorted((v for k, v in second.items() if k not in first), key=_rank)
    replaced: list[dict[str, Any]] = []
    for kind in dict.fromkeys(i["kind"] for i in removed):
        gone = [i for i in removed if i["kind"] == kind]
        new = [i for i in added if i["kind"] == kind]
        for old, fresh in zip(gone, new, strict=False):
            replaced.append({"kind": kind, "before": old, "after": fresh})
            removed.remove(old)
            added.remove(fresh)
    phrases = [f"{r['kind']} {r['before']['raw']} replaced by {r['after']['raw']}" for r in replaced]
    phrases += [f"{i['kind']} {i['raw']} added" for i in added]
    phrases += [f"{i['kind']} {i['raw']} removed" for i in removed]
    summary = "; ".join(phrases[:_MAX_LISTED])
    if len(phrases) > _MAX_LISTED:
        summary += f"; and {len(phrases) - _MAX_LISTED} more"
    return {
        "changed": bool(phrases),
        "summary": summary or "no indicator changed",
        "replaced": replaced,
        "added": added,
        "removed": removed,
        "site_left_out": {"before": site_before, "after": site_after},
    }


def compare_title(before: str | None, after: str | None) -> dict[str, Any]:
    """Titles compared with their whitespace collapsed (a title re-wrapped by the site is the same)."""
    changed = (None if before is None else " ".join(before.split())) != (
        None if after is None else " ".join(after.split())
    )
    summary = f"title changed from {_quoted(before)} to {_quoted(after)}" if changed else "title unchanged"
    return {"changed": changed, "before": before, "after": after, "summary": summary}


def _quoted(title: str | None) -> str:
    if title is None:
        return "none"
    flat = " ".join(title.split())
    return f'"{flat if len(flat) <= _MAX_SUMMARY_TITLE else flat[: _MAX_SUMMARY_TITLE - 1] + "…"}"'


def compare_text(before: PageState, after: PageState, ignore: Sequence[str]) -> dict[str, Any]:
    """The word diff of the visible texts, the ``ignore`` selectors' text taken out of each side."""
    selectors = list(ignore)
    if before.text is None or after.text is None:
        missing = " and ".join(n for n, s in (("before", before), ("after", after)) if s.text is None)
        return {"compared": False, "changed": False, "ignore": selectors,
                "why": f"text.txt of {missing} not available"}  # fmt: skip
    first, second = pagetext.normalise(before.text), pagetext.normalise(after.text)
    counts = {"words_before": len(first.split()), "words_after": len(second.split())}
    if first == second:  # the common case, and the cheap one: nothing to mask or diff
        return {"compared": True, "changed": False, "summary": "no words changed", **counts, "added": 0,
                "removed": 0, "ignore": selectors, "masked": {"before": 0, "after": 0}, "runs": []}  # fmt: skip
    notes = [f"{problem}; not applied" for problem in pagetext.unusable_selectors(selectors)]
    masked = {}
    texts = {"before": before.text, "after": after.text}  # both known here
    for name, state in (("before", before), ("after", after)):
        if selectors and state.dom is None:
            notes.append(f"the --ignore selectors were not applied to {name}: dom.html not available")
        masks = pagetext.masked_texts(state.dom, selectors) if selectors and state.dom is not None else []
        taken = pagetext.remove_masked(texts[name], masks)
        texts[name], masked[name] = taken.text, taken.removed
        if taken.unplaced:
            why = "work limit reached" if taken.over_budget else "their text was not found in text.txt"
            notes.append(f"ignore not applied fully to {name}: {taken.unplaced} elements ({why})")
    found = pagetext.word_diff(texts["before"], texts["after"])
    runs = list(found.runs) if found.changed else []
    result = {"compared": True, "changed": found.changed, "summary": found.summary(), **counts,
              "added": found.added, "removed": found.removed, "ignore": selectors, "masked": masked,
              "runs": runs}  # fmt: skip
    if found.bounded:
        result |= {"bounded": True, "bounded_why": str(found.bounded_why())}
    return result | ({"notes": notes} if notes else {})


def compare_screenshots(before: Path | None, after: Path | None) -> tuple[dict[str, Any], VisualDiff | None]:
    """The visual diff's section of diff.json (no panel drawn here), and the diff itself when made."""
    if before is None or after is None:
        missing = " and ".join(n for n, p in (("before", before), ("after", after)) if p is None)
        return {"compared": False, "why": f"screenshot.png of {missing} not available", "counts": False}, None
    from evidencekit.photos.visualdiff import visual_diff

    try:
        visual = visual_diff(before, after, keep_pixels=True)
    except Exception as exc:  # hostile or damaged image data: a fact to state, never a crash
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        return {"compared": False, "why": f"screenshots not compared: {why}", "counts": False}, None
    percent = (Decimal(visual.share) * 100).quantize(Decimal("0.01"))
    regions = len(visual.boxes)
    if visual.changed_pixels:
        summary = (
            f"{percent}% of the screenshot's pixels changed ({visual.changed_pixels:,} of "
            f"{visual.compared_pixels:,}), {regions} changed region{'' if regions == 1 else 's'}"
        )
    else:
        summary = "no pixel of the screenshot changed"
    if visual.before_size != visual.after_size:
        (w0, h0), (w1, h1) = visual.before_size, visual.after_size
        summary += f"; the page's size went from {w0} x {h0} to {w1} x {h1} pixels"
    return {
        "compared": True,
        "share": visual.share,
        "changed_pixels": visual.changed_pixels,
        "compared_pixels": visual.compared_pixels,
        "before_size": list(visual.before_size),
        "after_size": list(visual.after_size),
        "boxes": [box.to_dict() for box in visual.boxes],
        "panel": "visual-diff.png" if visual.changed_pixels else None,
        "summary": summary,
        "counts": False,
    }, visual
