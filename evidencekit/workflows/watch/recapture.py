"""``recapture ITEM``: a one-off new capture of a capture item's URL, linked to it and to its series, and
observed like a watch's attempt (with the removal settings of the URL's watch, if any, else the defaults)."""

from __future__ import annotations

from collections.abc import Mapping

from evidencekit.capture import CaptureOptions
from evidencekit.errors import UsageError
from evidencekit.ledger.entries import ITEM_ACTIONS
from evidencekit.workflows.capturing import Progress, Recording
from evidencekit.workflows.opencase import Session
from evidencekit.workflows.watch.observer import Observer, Seen
from evidencekit.workflows.watch.passes import CaseState, recapture_plan
from evidencekit.workflows.watch.watchprofiles import recapture_profile, with_profile


def recapture(
    session: Session,
    item: str,
    options: CaptureOptions,
    *,
    progress: Progress | None = None,
    profile: str | None = None,
    no_profile: bool = False,
) -> Seen:
    """``profile`` (``--profile``) or ``no_profile`` (``--no-profile``): see ``recapture_profile``; without
    either, the profile ``item`` was made with, if it still exists."""
    state = CaseState.read(session)
    started = state.started.get(item)
    if started is None:
        created = next((e for e in state.entries if e.subject == item and e.action in ITEM_ACTIONS), None)
        if created is not None:
            raise UsageError(
                f"{item} is not a capture (it was added from a file); only a capture's URL can be captured again"
            )
        raise UsageError(f"no item {item!r} in this case; `evidencekit items` lists them")
    made_with = started.options.get("profile")
    made_with_name = made_with.get("name") if isinstance(made_with, Mapping) else None
    used, without = recapture_profile(session, item, made_with_name, profile, no_profile)
    options = with_profile(session, options, used)
    observer: Observer | None = None
    try:
        with Recording(session, options, concurrency=1, progress=progress) as recording:
            state = CaseState.read(session)  # now that a killed run's captures are recorded abandoned
            plan = recapture_plan(state, started.url, profile=used)
            observer = Observer(recording, state.captured_series())
            observer.plans = {0: plan}
            (outcome,) = recording.capture(
                [started.url],
                extra=[{**plan.started_details(), "recapture_of": item, "without_profile": without}],
                after_recorded=observer.recorded,
            )
            observer.drain()
    finally:
        if observer is not None:  # only once the writer is drained (see passes.run_pass)
            observer.close()
    seen = next((s for s in observer.results if s.item == outcome.item_id), None)
    return seen or Seen(outcome.item_id, outcome.url, outcome.status, None)
