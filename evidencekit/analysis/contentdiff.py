"""What changed between two successful captures of one page, read from their stored artefacts only.

``compare_pages`` decides, most important first:
1. indicators: the author's indicators (not the site's) by kind and value, added and removed; one of a kind
   removed and one of the same kind added is said as "phone +44 7700 900123 replaced by +44 7700 900999";
2. images: photos added, removed or replaced, matched by perceptual hash (``analysis.pageimages``): a
   re-encoded or resized photo is the same picture, not a change;
3. the title;
4. the visible text, word by word, without the text of the ``ignore`` selectors (``analysis.pagetext``);
5. the full-page screenshots (``photos.visualdiff``): always measured and reported, but a screenshot
   difference alone makes the page "changed" only when at least SCREENSHOT_SHARE of its pixels changed
   (rendering noise, a clock in a corner do not), and never when ``ignore`` selectors are given (the
   ignored elements still show in the pixels).
With ``ignore``, an indicator whose raw text occurs only inside the ignored elements' text is left out too.
The verdict is "changed" when any of 1-4 changed or the screenshot rule fires. ``changes`` lists
``{"kind", "summary"}`` most important first (the observation's ledger details); the screenshot is listed
when its rule fires, or beside other changes when some pixel changed. The whole comparison is
``document``: the content of ``diff.json`` (schemas/diff.schema.json). Nothing here claims identity:
photos are "visually matching (PDQ distance N)".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidencekit import __version__
from evidencekit.analysis import pageimages, pagetext
from evidencekit.models import LedgerEntry

if TYPE_CHECKING:
    from evidencekit.photos.visualdiff import VisualDiff

SCHEMA_ID = "https://evidencekit.org/schemas/diff/1.0.0"
SCHEMA_NAME = "diff"
SCREENSHOT_SHARE = Decimal("0.01")
PANEL_NAME = "visual-diff.png"
MAX_METADATA_BYTES = 64 * 1024 * 1024
MAX_TEXT_BYTES = 16 * 1024 * 1024
MAX_DOM_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class PageState:
    """What one successful capture showed, read from its stored artefacts. ``notes``: what could not be
    read, and why (a missing or oversized artefact gives a None field, never an exception)."""

    item: str
    url: str
    final_url: str | None
    recorded_at: str
    title: str | None
    indicators: tuple[Mapping[str, Any], ...]
    images: tuple[Mapping[str, Any], ...]
    text: str | None
    dom: bytes | None
    screenshot: Path | None
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ContentDiff:
    verdict: str  # "changed" | "unchanged"
    changes: tuple[dict[str, Any], ...]
    screenshot_changed: str | None
    document: dict[str, Any]
    # The visual diff itself (with its pixels when some changed): write_diff_files draws the panel from it
    # instead of comparing the screenshots a second time.
    visual: VisualDiff | None = field(default=None, repr=False, compare=False)


def read_page_state(item: str, completed: LedgerEntry, object_path: Callable[[str], Path]) -> PageState:
    """The state of capture ``item`` from its ``capture.completed`` entry and the artefacts it names
    (``metadata.json``, ``text.txt``, ``dom.html``, ``screenshot.png``), found with ``object_path``
    ("blake3:<hex>" -> stored file)."""
    details = completed.details
    notes: list[str] = []
    by_name = {artefact.name: artefact for artefact in completed.artefacts}

    def read(name: str, limit: int) -> bytes | None:
        artefact = by_name.get(name)
        if artefact is None:
            notes.append(f"{name}: not among the capture's artefacts")
            return None
        if artefact.digests.size > limit:
            notes.append(f"{name}: {artefact.digests.size:,} bytes, more than the {limit:,} compared")
            return None
        try:
            with object_path(artefact.digests.blake3_tagged).open("rb") as handle:
                data = handle.read(limit + 1)
        except Exception as exc:  # a missing or unreadable stored object is a fact to state, not a crash
            notes.append(f"{name}: not readable ({type(exc).__name__})")
            return None
        if len(data) > limit:
            notes.append(f"{name}: more than the {limit:,} bytes compared")
            return None
        return data

    metadata = _json_object(read("metadata.json", MAX_METADATA_BYTES), notes)
    text_bytes = read("text.txt", MAX_TEXT_BYTES)
    dom = read("dom.html", MAX_DOM_BYTES)
    title = metadata.get("title") if isinstance(metadata.get("title"), str) else None
    if not metadata and isinstance(details.get("title"), str):
        if details.get("title_full_length") is None:
            title = details["title"]  # the ledger holds the whole title
        else:
            notes.append("title: not known (the ledger holds only its first characters)")
    images = metadata.get("images")
    screenshot = None
    if "screenshot.png" in by_name:
        try:
            path = object_path(by_name["screenshot.png"].digests.blake3_tagged)
            screenshot = path if path.is_file() else None
        except Exception:
            screenshot = None
        if screenshot is None:
            notes.append("screenshot.png: not readable")
    else:
        notes.append("screenshot.png: not among the capture's artefacts")
    final_url = details.get("final_url")
    return PageState(
        item=item,
        url=str(details.get("url", "")),
        final_url=final_url if isinstance(final_url, str) else None,
        recorded_at=completed.time,
        title=title,
        indicators=tuple(i for i in details.get("indicators", ()) if isinstance(i, Mapping)),
        images=tuple(i for i in images if isinstance(i, Mapping)) if isinstance(images, list) else (),
        text=None if text_bytes is None else text_bytes.decode("utf-8", errors="replace"),
        dom=dom,
        screenshot=screenshot,
        notes=tuple(notes),
    )


def _json_object(data: bytes | None, notes: list[str]) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        notes.append("metadata.json: not readable as JSON")
        return {}
    if not isinstance(value, dict):
        notes.append("metadata.json: not a JSON object")
        return {}
    return value


def compare_pages(before: PageState, after: PageState, *, ignore: Sequence[str] = ()) -> ContentDiff:
    """Compare two captures of a page (see the module text)."""
    from evidencekit.analysis.diffparts import (
        compare_indicators,
        compare_screenshots,
        compare_text,
        compare_title,
        side,
    )

    notes = [f"before: {n}" for n in before.notes] + [f"after: {n}" for n in after.notes]
    kept_before, ignored_before = _outside_ignored(before, ignore)
    kept_after, ignored_after = _outside_ignored(after, ignore)
    indicators = compare_indicators(kept_before, kept_after)
    if ignore:
        indicators["ignored_left_out"] = {"before": ignored_before, "after": ignored_after}
    photos_before, left_before = pageimages.page_photos(before.images)
    photos_after, left_after = pageimages.page_photos(after.images)
    photos = replace(
        pageimages.compare_photos(photos_before, photos_after, left_before + left_after),
        uncompared_before=tuple(pageimages.not_comparable(before.images)),
        uncompared_after=tuple(pageimages.not_comparable(after.images)),
    )
    unread = [name for name, s in (("before", before), ("after", after)) if _unread(s, "metadata.json")]
    unhashed = [name for name, s in (("before", before), ("after", after)) if pageimages.unhashed(s.images)]
    if unread:  # no photo list is not "every photo removed"
        images: dict[str, Any] = {"compared": False, "why": f"metadata.json of {' and '.join(unread)} not available"}
    elif unhashed:
        why = f"the images of {' and '.join(unhashed)} were captured without perceptual hashes"
        images = {"compared": False, "why": why}
    else:
        images = photos.to_dict(len(photos_before), len(photos_after))
    untitled = [name for name, s in (("before", before), ("after", after)) if _unread(s, "title")]
    if untitled:
        title = {"compared": False, "changed": False, "before": before.title, "after": after.title,
                 "summary": f"title not compared: not known for {' and '.join(untitled)}"}  # fmt: skip
    else:
        title = compare_title(before.title, after.title)
    text = compare_text(before, after, ignore)
    screenshot, visual = compare_screenshots(before.screenshot, after.screenshot)
    changes: list[dict[str, Any]] = []
    if indicators["changed"]:
        changes.append({"kind": "indicators", "summary": indicators["summary"]})
    if images["compared"] and photos.changed:
        changes.append({"kind": "images", "summary": photos.summary()})
    if title["changed"]:
        changes.append({"kind": "title", "summary": title["summary"]})
    if text.get("changed"):
        changes.append({"kind": "text", "summary": text["summary"]})
    # With --ignore, the ignored regions still show in the screenshot (a clock, a rotating banner): pixels
    # alone cannot tell them from the rest, so the screenshot then never decides the verdict by itself.
    fires = not ignore and visual is not None and visual.at_least(SCREENSHOT_SHARE)
    screenshot["counts"] = fires
    if visual is not None and visual.changed_pixels and (fires or changes):
        changes.append({"kind": "screenshot", "summary": screenshot["summary"]})
    verdict = "changed" if any(c["kind"] != "screenshot" for c in changes) or fires else "unchanged"
    document = {
        "schema": SCHEMA_ID,
        "software": f"evidencekit {__version__}",
        "before": side(before),
        "after": side(after),
        "verdict": verdict,
        "changes": changes,
        "indicators": indicators,
        "images": images,
        "title": title,
        "text": text,
        "screenshot": screenshot,
        "algorithms": algorithms(),
        "notes": notes,
    }
    return ContentDiff(verdict, tuple(dict(c) for c in changes), screenshot.get("share"), document, visual)


def _outside_ignored(state: PageState, ignore: Sequence[str]) -> tuple[tuple[Mapping[str, Any], ...], int]:
    """The side's indicators without those whose raw text occurs only inside the ignored elements' text
    (found in an ignored element's text, and not in the text left once those are taken out), and how many
    were left out. Without selectors, a DOM or a text, all are kept."""
    if not ignore or state.dom is None or state.text is None or not state.indicators:
        return state.indicators, 0
    masks = pagetext.masked_texts(state.dom, [s for s in ignore if not pagetext.unusable_selectors([s])])
    if not masks:
        return state.indicators, 0
    # Plain substrings (a raw "+44 7700 900123." ends a sentence): an indicator is kept whenever its text
    # shows outside, so a doubt keeps it in the comparison.
    outside = pagetext.normalise(pagetext.remove_masked(state.text, masks).text)
    kept = []
    for indicator in state.indicators:
        raw = indicator.get("raw")
        said = pagetext.normalise(raw) if isinstance(raw, str) and raw.strip() else None
        if said is not None and said not in outside and any(said in mask.text for mask in masks):
            continue
        kept.append(indicator)
    return tuple(kept), len(state.indicators) - len(kept)


def _unread(state: PageState, name: str) -> bool:
    """Whether ``state`` notes that its artefact or fact ``name`` could not be read."""
    return any(note.startswith(f"{name}:") for note in state.notes)


def algorithms() -> dict[str, Any]:
    """Every method and threshold the comparison used (ints and strings only)."""
    from evidencekit.photos import visualdiff
    from evidencekit.photos.hashing import PDQ_LIBRARY
    from evidencekit.photos.match import MIN_QUALITY, MIN_SIDE, PDQ_THRESHOLD

    return {
        "indicators": "the author's indicators (site indicators left out) compared by kind and value",
        "images": {
            "pdq_library": PDQ_LIBRARY,
            "pdq_threshold": PDQ_THRESHOLD,
            "compared": "8 rotations and flips, both ways",
            "candidates": {"min_side": MIN_SIDE, "min_quality": MIN_QUALITY, "site_images": "left out"},
        },
        "text": pagetext.algorithm(),
        "screenshot": {
            **visualdiff.algorithm(),
            "changed_at_share": f"{SCREENSHOT_SHARE:f}",
            "with_ignore": "when --ignore selectors are given, a screenshot difference alone never makes the "
            "verdict changed (the ignored elements' pixels cannot be told apart)",
        },
        "ignore": "indicators whose raw text occurs only inside the --ignore elements' text are left out "
        "(indicators.ignored_left_out); images inside ignored elements are not left out",
    }


def write_diff_files(diff: ContentDiff, before: PageState, after: PageState, folder: Path) -> list[Path]:
    """Write ``visual-diff.png`` when diff.json names it, then ``diff.json`` (checked against its schema
    first) and ``diff.html`` into ``folder``; the paths written: diff.json, diff.html, the panel. A panel
    that cannot be drawn (any error of the image work) is set to null in diff.json, with a note saying why:
    diff.json never names a file that was not written."""
    from evidencekit.analysis.diffhtml import render_diff_html
    from evidencekit.schemas import validate

    folder.mkdir(parents=True, exist_ok=True)
    document = diff.document
    panel = None
    if document["screenshot"].get("panel"):
        target_panel = folder / PANEL_NAME
        captions = (f"before: {before.item}, {before.recorded_at}", f"after: {after.item}, {after.recorded_at}")
        why = "the screenshots' comparison was not kept"
        try:
            panel = _draw_panel(diff, before, after, target_panel, captions)
        except Exception as exc:  # hostile or damaged image data, memory, disk: a fact to state, not a crash
            why = " ".join(str(exc).split())[:200] or type(exc).__name__
            panel = None
        if panel is None:
            target_panel.unlink(missing_ok=True)
            document = {
                **document,
                "screenshot": {**document["screenshot"], "panel": None},
                "notes": [*document["notes"], f"{PANEL_NAME} not written: {why}"],
            }
    try:
        validate(SCHEMA_NAME, document)
    except Exception:
        if panel is not None:
            panel.unlink(missing_ok=True)
        raise
    written = []
    target = folder / "diff.json"
    target.write_text(json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(target)
    html_path = folder / "diff.html"
    html_path.write_text(render_diff_html(document, panel is not None), encoding="utf-8")
    written.append(html_path)
    if panel is not None:
        written.append(panel)
    return written


def _draw_panel(
    diff: ContentDiff, before: PageState, after: PageState, out: Path, captions: tuple[str, str]
) -> Path | None:
    """The panel drawn from the comparison ``compare_pages`` made; compared again only for a ContentDiff
    made without one (e.g. rebuilt from its document)."""
    from evidencekit.photos.visualdiff import visual_diff, write_panel

    if diff.visual is not None:
        return write_panel(diff.visual, out, captions) if diff.visual.pixels is not None else None
    if before.screenshot is None or after.screenshot is None:
        return None
    return visual_diff(before.screenshot, after.screenshot, out, captions).panel
