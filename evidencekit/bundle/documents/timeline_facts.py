"""The facts of each watched URL's timeline, as the report and the exhibits state them.

Read from the bundle's own ledger lines through the series model (``ledger.series``: every capture of one
normalised URL, its attempts, their observations and the intervals in words) and from the files the bag
holds: a thumbnail is the attempt's own screenshot (the viewport shot, else the full page), referenced where
it lies in the bag, never a copy; a diff file is linked only when the bag holds it. Anything the ledger
lines do not say is left out, and the documents say "not known".

Shape of one timeline (``facts["timelines"]``; each item in a series also names it as ``item["series"]``)::

    {series, url, excerpt: bool, missing: [item_id], declared?: {carried, in_case, carried_count, left_out?:
     {count, items, first, last}}, watches: [{watch, every_s, removal_attempts,
     removal_span_s, state?}], intervals: [{kind, words, start_item?, end_item?}],
     attempts: [{item_id, in_bundle, number?, exhibit?, started, ended?, tz?, outcome, http_status?,
                 availability?, content?, removal?: {answers, needed}, thumbnail?: {path, role, width?,
                 height?}, time?: {statement, covered}}],
     observations: [{seq, item_id, time, tz?, availability, content, previous?, compared_with?,
                     changes: [{kind, summary}], screenshot_changed?, answer?: {kind, why, http_status?},
                     files: {diff.json?, diff.html?, visual-diff.png?: path in the bag},
                     visual_diff?: {path, width, height}}]}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evidencekit.bundle.documents.pngsize import png_size
from evidencekit.bundle.layout import artefact_path
from evidencekit.ledger.entries import ObservationRecorded, TimestampObtained, WatchAdded, WatchChanged, parse
from evidencekit.ledger.series import Attempt, Series, build_series, independent_time
from evidencekit.ledger.timecover import Cover, covers
from evidencekit.models import LedgerEntry

# The one moment the timeline gives for each capture, named the same in report and exhibit (exa F2): the
# ledger time of the entry that ended the capture (capture.completed, capture.failed or capture.abandoned).
MOMENT_NAME = "capture end recorded in the ledger"


def moment_label(attempt: Mapping[str, Any]) -> str:
    """What a capture's timeline time denotes: "capture recorded complete (ledger)" and the like."""
    outcome = attempt.get("outcome")
    if not attempt.get("ended"):
        return "capture started (ledger); no end recorded"
    if outcome in ("complete", "partial", "blocked", "failed", "abandoned"):
        return f"capture recorded {outcome} (ledger)"
    return "capture end recorded (ledger)"


DIFF_FILES = ("diff.json", "diff.html", "visual-diff.png")
# The screenshots a thumbnail is taken from, best first: the viewport shot is what a visitor saw on arrival,
# and small; the full page is shown scaled when there is no viewport shot.
THUMBNAIL_ROLES = ("screenshot-viewport", "screenshot-full")


def _thumbnail(root: Path, item_id: str, entries: Sequence[LedgerEntry]) -> dict[str, Any] | None:
    artefacts = [a for e in entries for a in e.artefacts]
    for role in THUMBNAIL_ROLES:
        found = next((a for a in artefacts if a.role == role), None)
        if found is None:
            continue
        rel = artefact_path(item_id, found.name)
        size = png_size(root / rel)
        if size is None:
            continue
        return {"path": rel, "role": role, "width": size[0], "height": size[1]}
    return None


def _watches(entries: Sequence[LedgerEntry], wanted: Sequence[str]) -> list[dict[str, Any]]:
    """The recorded settings of each watch of the series, and its last recorded state change."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        parsed = parse(entry)
        if isinstance(parsed, WatchAdded) and parsed.watch in wanted:
            found[parsed.watch] = {
                "watch": parsed.watch,
                "every_s": parsed.every_s,
                "removal_attempts": parsed.removal_attempts,
                "removal_span_s": parsed.removal_span_s,
                "jitter_s": parsed.jitter_s,
                "added": entry.time,
                "seq": entry.seq,
                "note": parsed.note,
                "actor": entry.actor.name,
            }
        elif isinstance(parsed, WatchChanged) and parsed.watch in found:
            found[parsed.watch]["state"] = parsed.state
    return [found[w] for w in wanted if w in found]


def _attempt(
    root: Path, attempt: Attempt, grouped: Mapping[str, Sequence[LedgerEntry]], items: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    shown = items.get(attempt.item)
    observed = attempt.observation
    facts: dict[str, Any] = {
        "item_id": attempt.item,
        "in_bundle": shown is not None,
        "started": attempt.started_at,
        "ended": attempt.ended_at,
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "availability": observed.availability if observed else None,
        "content": observed.content if observed else None,
    }
    if observed is not None and observed.removal:
        facts["removal"] = {k: observed.removal.get(k) for k in ("answers", "needed") if k in observed.removal}
    if shown is not None:
        time = shown.get("time") if isinstance(shown.get("time"), Mapping) else {}
        facts.update(
            number=list(items).index(attempt.item) + 1,  # the item's section in the report
            exhibit=shown.get("exhibit"),
            tz=shown.get("tz"),
            thumbnail=_thumbnail(root, attempt.item, grouped.get(attempt.item, ())),
            time={"statement": time.get("statement"), "covered": time.get("covered") is True} if time else None,
        )
    return facts


def _observation(root: Path, entry: LedgerEntry, observed: ObservationRecorded, held: frozenset[str]) -> dict[str, Any]:
    subject = entry.subject or observed.current
    names = {a.name for a in entry.artefacts}
    files = {name: artefact_path(subject, name) for name in DIFF_FILES if name in names and subject in held}
    panel = files.get("visual-diff.png")
    size = png_size(root / panel) if panel else None
    answer = {k: observed.answer.get(k) for k in ("kind", "why", "http_status") if observed.answer.get(k) is not None}
    return {
        "seq": entry.seq,
        "item_id": subject,
        "time": entry.time,
        "tz": entry.tz,
        "availability": observed.availability,
        "content": observed.content,
        "previous": observed.previous,
        "compared_with": observed.compared_with,
        "changes": [{"kind": c.get("kind"), "summary": c.get("summary")} for c in observed.changes],
        "screenshot_changed": observed.screenshot_changed,
        "answer": answer,
        "files": files,
        # The three-panel image (before, after, difference boxed), shown scaled on paper with its size stated.
        "visual_diff": {"path": panel, "width": size[0], "height": size[1]} if panel and size else None,
    }


def time_lookup(stamps: Sequence[LedgerEntry], tokens: Sequence[Mapping[str, Any]]) -> Callable[[int], Cover | None]:
    """seq -> the earliest cover by a token the documents count (``tokens``: ``facts["time"]["tokens"]``, whose
    ``counted`` rows are the intact ones; ``stamps``: the case's timestamp entries)."""
    counted = {row.get("seq") for row in tokens if row.get("counted") is True}
    obtained = [e for e in stamps if e.action == TimestampObtained.ACTION]
    return covers(obtained, lambda entry, stamp: entry.seq in counted)


def _timeline(
    root: Path,
    series: Series,
    by_seq: Mapping[int, LedgerEntry],
    grouped: Mapping[str, Sequence[LedgerEntry]],
    items: Mapping[str, Mapping[str, Any]],
    cover: Callable[[int], Cover | None],
) -> dict[str, Any]:
    held = frozenset(items)
    observations = []
    named: set[str] = set()
    for attempt in series.attempts:
        entry = by_seq.get(attempt.observation_seq) if attempt.observation_seq is not None else None
        if entry is not None and attempt.observation is not None:
            observations.append(_observation(root, entry, attempt.observation, held))
            named.update(i for i in (attempt.observation.previous, attempt.observation.compared_with) if i)
    attempts = [_attempt(root, a, grouped, items) for a in series.attempts]
    in_series = {a.item for a in series.attempts}
    missing = sorted((named | in_series) - held)
    return {
        "series": series.key,
        "url": series.attempts[0].url if series.attempts else series.key,
        "excerpt": bool(missing),
        "missing": missing,
        "watches": [],
        "intervals": [
            {
                "kind": i.kind,
                "words": i.words,
                "start_item": i.start_item,
                "end_item": i.end_item,
                "independent": independent_time(series, i, cover),
            }
            for i in series.intervals
        ],
        "attempts": attempts,
        "observations": observations,
    }


def _declared(declaration: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What export declared of the series (bag-info.txt ``Series-Declaration``): how many captures the case had
    of the URL when the bundle was made, how many the bundle carries, and those it leaves out."""
    if not declaration:
        return None
    carried = list(declaration.get("captures") or ())
    left = declaration.get("left_out") if isinstance(declaration.get("left_out"), Mapping) else None
    facts: dict[str, Any] = {
        "carried": declaration.get("carried"),
        "carried_count": len(carried),
        "in_case": len(carried) + (int(left.get("count") or 0) if left else 0),
    }
    if left:
        facts["left_out"] = {k: left.get(k) for k in ("count", "items", "first", "last")}
    return facts


def timeline_facts(
    root: Path,
    entries: Sequence[LedgerEntry],
    items: Sequence[dict[str, Any]],
    cover: Callable[[int], Cover | None] = lambda seq: None,
    declared: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """One timeline per series with an exported item and more than one attempt (or observations naming items
    the bundle lacks, or declared an excerpt); each exported item of such a series gets ``item["series"]``.
    ``cover``: the independent time covering a ledger seq (``time_lookup``), stated beside each interval's bounds.
    ``declared``: export's declaration of each series (``exportseries.declare``), so that an excerpt names every
    capture it leaves out, not only those its observations name."""
    by_key = {str(d.get("series")): d for d in declared}
    by_item = {str(item.get("item_id")): item for item in items}
    by_seq = {e.seq: e for e in entries}
    grouped: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        if entry.subject is not None:
            grouped.setdefault(entry.subject, []).append(entry)
    timelines = []
    for series in build_series(entries).values():
        ids = [a.item for a in series.attempts]
        if not any(i in by_item for i in ids):
            continue
        timeline = _timeline(root, series, by_seq, grouped, by_item, cover)
        said = _declared(by_key.get(series.key))
        if said is not None:
            timeline["declared"] = said
            timeline["excerpt"] = timeline["excerpt"] or said.get("carried") == "excerpt"
        if len(ids) < 2 and not timeline["excerpt"]:
            continue
        timeline["watches"] = _watches(entries, series.watches)
        timelines.append(timeline)
        for item_id in ids:
            if item_id in by_item:
                by_item[item_id]["series"] = series.key
    return timelines


def _in_bundle(timeline: Mapping[str, Any]) -> int:
    return sum(1 for a in timeline.get("attempts") or () if isinstance(a, Mapping) and a.get("in_bundle"))


def count_words(timeline: Mapping[str, Any]) -> str:
    """How many of the URL's captures the bundle holds, true of the ledger: "3 of 8 captures of this URL that
    the case had recorded when the bundle was made are in this bundle" (without a declaration, only the
    bundle's own count, since the bundle cannot say what the case holds)."""
    held = _in_bundle(timeline)
    declared = timeline.get("declared") if isinstance(timeline.get("declared"), Mapping) else None
    if declared and isinstance(declared.get("in_case"), int):
        return (
            f"{held} of the {declared['in_case']} capture(s) of this URL that the case had recorded when the bundle "
            "was made are in this bundle"
        )
    return f"{held} capture(s) of this URL are in this bundle (the bundle does not say how many the case holds)"


def excerpt_words(timeline: Mapping[str, Any]) -> str:
    """The notice of an excerpt: every capture of the series it leaves out (count, items, time span), so that a
    reader knows the history shown is incomplete; empty for a whole series."""
    declared = timeline.get("declared") if isinstance(timeline.get("declared"), Mapping) else None
    left = declared.get("left_out") if declared and isinstance(declared.get("left_out"), Mapping) else None
    missing = [str(m) for m in timeline.get("missing") or ()]
    if left:
        items = ", ".join(str(i) for i in left.get("items") or ())
        return (
            f"This bundle holds an excerpt of this series: it leaves out {left.get('count')} capture(s) of this URL "
            f"that the case had recorded when the bundle was made ({items}), recorded from {left.get('first')} to "
            f"{left.get('last')} (ledger times). What they showed (a change, a removal, a reappearance) is not "
            "in this bundle."
        )
    if missing:
        return (
            f"This bundle holds an excerpt of this series: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} named by its ledger entries but not in the bundle (kept in the "
            "case)."
        )
    return ""


# Said once beside an interval's independent time (exa F13): a time-stamp token proves "no later than".
INDEPENDENT_BOUND = (
    "Independent time can only confirm that a capture existed no later than the time it gives: it confirms the "
    "interval's later bound; the earlier bound rests on the times the ledger recorded."
)
