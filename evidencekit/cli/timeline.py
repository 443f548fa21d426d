"""``timeline URL|ITEM``: the history of one watched (or simply captured) URL. Only reads the case."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from evidencekit.cli.base import case_option, cli, emit, json_option, say, session_of
from evidencekit.cli.case import _case_zone
from evidencekit.ledger.entries import NOT_KNOWN
from evidencekit.ledger.series import Attempt, change_words
from evidencekit.timefmt import beside_utc


@cli.command()
@click.argument("url_or_item", metavar="URL|ITEM")
@case_option
@json_option
@click.pass_context
def timeline(ctx: click.Context, url_or_item: str) -> None:
    """The history of one URL: every capture of it in ledger order, what each observation found, and the
    intervals the ledger bounds, in story order ("seen online at each of N captures from ... to ...",
    "changed between", "removed between", "reappeared between", "since ...: 1 of 3 gone answers, removal
    not confirmed", "never seen online: ..."). Name the URL (normalised: scheme and host lower-case,
    default port and fragment dropped) or any capture item of it.

    \b
    --json gives one object with stable keys:
      series      the URL normalised (the series id)
      watches     the ids of the watches on it
      attempts    per capture, in ledger order: item, url, time (when the ledger recorded how it
                  ended), started_at, ended_at, outcome (complete|partial|blocked|failed|abandoned|in-progress),
                  http_status, final_url, watch, availability (online|unavailable|removed|reappeared,
                  or "not known" without an observation), content (changed|unchanged|not-compared, or
                  "not known"), headline, changes [{kind, summary}], compared_with, previous,
                  answer {kind, why, http_status, final_url}, removal {answers, needed, span_s,
                  first, last_online, never_online?}, observation_seq (null where there is no observation)
      intervals   in story order: kind (online|changed|removed|reappeared|pending-removal|
                  never-online), start_item, start_time, end_item, end_time (null where the ledger
                  does not say), words, independent_time
                  (sentences: the RFC 3161 time covering a bound's capture; [] when none does)
    """
    from evidencekit.workflows.timeline import timeline_view

    session = session_of(ctx)
    zone = _case_zone(session)
    view = timeline_view(session, url_or_item, zone=zone)
    series = view.series

    def show() -> None:
        recorded = list(dict.fromkeys(a.url for a in series.attempts))  # as each capture.started wrote it
        say(f"URL: {recorded[0]}" + (f" (also written {', '.join(recorded[1:])})" if len(recorded) > 1 else ""))
        say(f"Series: {series.key}  ({len(series.attempts)} capture{'' if len(series.attempts) == 1 else 's'})")
        say(f"Watches: {', '.join(series.watches) if series.watches else 'none'}")
        say()
        for attempt in series.attempts:
            say(_attempt_line(attempt, zone))
        say()
        say("Intervals:" if series.intervals else "Intervals: none observed")
        for interval, independent in zip(series.intervals, view.independent, strict=True):
            say(f"  {interval.words}")
            for said in independent:
                say(f"      {said}")

    emit(ctx, view.to_dict(), show)


def _attempt_line(attempt: Attempt, zone: ZoneInfo | None) -> str:
    time = beside_utc(attempt.time, zone) if attempt.time else f"{NOT_KNOWN} (started {attempt.started_at})"
    status = f"HTTP {attempt.http_status}" if attempt.http_status is not None else f"HTTP {NOT_KNOWN}"
    changes = change_words(attempt.observation.changes) if attempt.content == "changed" and attempt.observation else ""
    verdict = attempt.content + (f": {changes}" if changes else "")  # every change, not the headline alone
    return f"{time}  {attempt.item}  {attempt.outcome}  {status}  {_availability(attempt)}  {verdict}"


def _availability(attempt: Attempt) -> str:
    """The availability, with how far a removal has counted when this attempt's answer was a gone one."""
    seen = attempt.observation
    if seen is None or seen.answer.get("kind") != "gone" or seen.removal is None:
        return attempt.availability
    answers, needed = seen.removal.get("answers"), seen.removal.get("needed")
    if not isinstance(answers, int) or not isinstance(needed, int):
        return attempt.availability
    never = ", never seen online" if seen.removal.get("never_online") else ""
    return f"{attempt.availability} ({answers} of {needed} gone answers{never})"  # as the report says it
