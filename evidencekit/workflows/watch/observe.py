"""The observation of one attempt: what the ledger knew before it (``Plan``), what it showed (``observe``),
and how it is recorded (``record_observation``, on the writer's thread).

``observe`` reads only the stored artefacts and the entries handed to it, never the ledger connection, so it
runs on a worker thread of its own while the captures go on and the writer records them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evidencekit.analysis.contentdiff import PageState, compare_pages, read_page_state, write_diff_files
from evidencekit.errors import ObjectMismatchError
from evidencekit.hashing import hash_file
from evidencekit.ledger.entries import ObservationRecorded
from evidencekit.ledger.series import Attempt, Series
from evidencekit.models import Artefact, LedgerEntry
from evidencekit.workflows.opencase import OpenCase, publish_checkpoints, seal
from evidencekit.workflows.watch.availability import answer_of, classify, judge, without_series_profile
from evidencekit.workflows.watch.follow import matching_links

DIFF_ROLE = "diff"
DIFF_MEDIA_TYPES = {"diff.json": "application/json", "diff.html": "text/html", "visual-diff.png": "image/png"}
ObjectPath = Callable[[str], Path]


@dataclass(frozen=True)
class Plan:
    """What the ledger says of a series before one attempt at it: its ``previous`` attempt (any outcome),
    the last successful capture it is ``compared_with`` (and that capture's ``capture.completed``), the
    earlier attempts, and the watch's settings (removal needs ``needed`` gone answers over ``span_s``)."""

    series: str
    watch: str | None
    previous: str | None
    compared_with: str | None
    compared_entry: LedgerEntry | None
    history: tuple[Attempt, ...]
    needed: int
    span_s: int
    ignore: tuple[str, ...] = ()
    follow: Mapping[str, Any] | None = None
    notify: bool = False
    completed: Mapping[str, LedgerEntry] = field(default_factory=dict)  # the case's capture.completed by item
    profile: str | None = None  # the browser profile the attempt is made with (see ``without_series_profile``)

    def started_details(self) -> dict[str, Any]:
        """What the attempt's ``capture.started`` names: its series, previous item and watch."""
        return {"series": self.series, "previous": self.previous, "watch": self.watch}


def plan_attempt(
    key: str,
    series: Series | None,
    completed: Mapping[str, LedgerEntry],
    *,
    before_item: str | None = None,
    watch: str | None = None,
    needed: int,
    span_s: int,
    ignore: Iterable[str] = (),
    follow: Mapping[str, Any] | None = None,
    notify: bool = False,
    profile: str | None = None,
) -> Plan:
    """The plan of the next attempt at ``key`` (or, ``before_item``, of that earlier attempt, for an
    observation a killed run never recorded). ``completed`` maps items to their ``capture.completed``."""
    attempts = series.attempts if series is not None else ()
    if before_item is not None:
        index = next((i for i, a in enumerate(attempts) if a.item == before_item), len(attempts))
        attempts = attempts[:index]
    history = tuple(attempts)
    last = last_successful(history, completed)
    compared_entry = completed.get(last.item) if last is not None else None
    return Plan(
        key,
        watch,
        history[-1].item if history else None,
        last.item if last is not None and compared_entry is not None else None,
        compared_entry,
        history,
        needed,
        span_s,
        tuple(ignore),
        follow,
        notify,
        completed,
        profile,
    )


def last_successful(history: Sequence[Attempt], completed: Mapping[str, LedgerEntry]) -> Attempt | None:
    """The last attempt that saw the page: observed online or reappeared, or never observed and its
    ``capture.completed`` an ok answer (``answer_of``: not a login wall or a "removed" page answered 200)."""
    for attempt in reversed(history):
        if attempt.observation is not None:
            if attempt.observation.availability in ("online", "reappeared"):
                return attempt
        elif attempt.outcome in ("complete", "partial") and answer_of(attempt, completed) == "ok":
            return attempt
    return None


@dataclass(frozen=True)
class Observed:
    """An observation ready to record: the action (its ``followed`` still to be set for a listing), the diff
    files to store with it, and a listing's matching links."""

    item: str
    action: ObservationRecorded
    files: tuple[Path, ...] = ()
    links: tuple[str, ...] = field(default=())

    def with_followed(self, followed: Mapping[str, Any]) -> Observed:
        return replace(self, action=replace(self.action, followed=dict(followed)))


def known_final_url(plan: Plan) -> str | None:
    """The final URL of the capture the attempt is compared with (the series' last successful one)."""
    if plan.compared_entry is None:
        return None
    final = plan.compared_entry.details.get("final_url")
    return final if isinstance(final, str) else None


def observe(plan: Plan, item: str, ended: LedgerEntry, object_path: ObjectPath, folder: Path) -> Observed:
    """The observation of attempt ``item``, which ended with ``ended``; diff files are written in ``folder``."""
    page: PageState | None = None
    if ended.action == "capture.completed":
        page = read_page_state(item, ended, object_path)
    url = str(ended.details.get("url", ""))
    answer = classify(
        url, ended, page.title if page else None, page.text if page else None, known_final=known_final_url(plan)
    )
    answer = without_series_profile(answer, plan.history, plan.profile)
    judged = judge(plan.history, answer, ended.time, item, plan.needed, plan.span_s, plan.completed)
    content, share = "not-compared", None
    changes: tuple[dict[str, Any], ...] = ()
    files: tuple[Path, ...] = ()
    if answer["kind"] == "ok" and page is not None and plan.compared_entry is not None and plan.compared_with:
        before = read_page_state(plan.compared_with, plan.compared_entry, object_path)
        diff = compare_pages(before, page, ignore=plan.ignore)
        content, changes, share = diff.verdict, tuple(diff.changes), diff.screenshot_changed
        files = tuple(write_diff_files(diff, before, page, folder))
    links: tuple[str, ...] = ()
    if plan.follow is not None and answer["kind"] == "ok" and page is not None:
        links = tuple(matching_links(page.dom, page.final_url or url, plan.follow))
    action = ObservationRecorded(
        series=plan.series,
        current=item,
        previous=plan.previous,
        compared_with=plan.compared_with,
        availability=judged.availability,
        content=content,
        answer=answer,
        changes=changes,
        watch=plan.watch,
        removal=judged.removal,
        screenshot_changed=share,
    )
    return Observed(item, action, files, links)


def observe_without_comparison(plan: Plan, item: str, ended: LedgerEntry, reason: str) -> Observed:
    """The observation of ``item`` when reading or comparing its stored artefacts failed (``reason``): its
    answer from the ledger entry alone (the title it records, no visible text), content ``not-compared``,
    and the reason in ``answer.why``. Recorded so that the failure is not met again on every pass."""
    url = str(ended.details.get("url", ""))
    title = ended.details.get("title") if isinstance(ended.details.get("title"), str) else None
    answer = without_series_profile(
        classify(url, ended, title, None, known_final=known_final_url(plan)), plan.history, plan.profile
    )
    answer["why"] = f"{answer['why']}; the stored page could not be compared ({reason})"
    judged = judge(plan.history, answer, ended.time, item, plan.needed, plan.span_s, plan.completed)
    action = ObservationRecorded(
        series=plan.series,
        current=item,
        previous=plan.previous,
        compared_with=None,
        availability=judged.availability,
        content="not-compared",
        answer=answer,
        watch=plan.watch,
        removal=judged.removal,
    )
    return Observed(item, action)


def record_observations(case: OpenCase, batch: Sequence[Observed]) -> list[LedgerEntry | None]:
    """Store the diff files and append one ``observation.recorded`` about each item, in one transaction
    sealed once; on the writer's thread. None for an item that already has an observation (never two for
    one attempt)."""
    stored: list[list[Artefact]] = []
    for observed in batch:
        artefacts = []
        for path in observed.files:
            digests = hash_file(path)
            if case.store.put_file(path) != digests:
                raise ObjectMismatchError(f"{path.name} changed between the comparison and storage")
            media_type = DIFF_MEDIA_TYPES.get(path.name, "application/octet-stream")
            artefacts.append(Artefact(path.name, DIFF_ROLE, media_type, digests))
        stored.append(artefacts)
    entries: list[LedgerEntry | None] = []
    with case.ledger.transaction() as txn:
        for observed, artefacts in zip(batch, stored, strict=True):
            held = case.ledger.entries_about(observed.item)
            if any(e.action == ObservationRecorded.ACTION for e in held) or any(
                e.action == ObservationRecorded.ACTION and e.subject == observed.item for e in txn.appended
            ):
                entries.append(None)
                continue
            entries.append(txn.append(observed.action.draft(case.actor, observed.item, artefacts)))
        if txn.appended:
            seal(case, txn)
    publish_checkpoints(case, txn)
    return entries
