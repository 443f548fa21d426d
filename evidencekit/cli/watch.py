"""Watching pages over time: ``watch add|list|pause|resume|remove|run`` and ``recapture``."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evidencekit.cli.base import (
    browser_option,
    case_option,
    cli,
    emit,
    json_mode,
    json_option,
    say,
    session_of,
    timestamp_option,
)

if TYPE_CHECKING:
    from evidencekit.capture import CaptureOptions
    from evidencekit.workflows.opencase import Session
    from evidencekit.workflows.watch.observer import Seen

DEFAULT_REGION = "US"


@cli.group()
def watch() -> None:
    """Put URLs under watch and re-capture them on a schedule: each attempt is linked to the URL's previous
    capture and observed against its last successful one (online, unavailable, removed, reappeared; what
    changed). `watch run` does the passes (from cron, a systemd timer, or --loop)."""


@watch.command("add")
@click.argument("urls", nargs=-1)
@click.option("--every", default="6h", show_default=True, help="Interval between captures: 6h, 10m, 90s, 1d.")
@click.option("--jitter", default="10m", show_default=True, help="Up to this much later, fixed per watch and attempt.")
@click.option("--ignore", multiple=True, help="A CSS selector whose text is left out of the text comparison.")
@click.option("--removal-attempts", default="3", show_default=True, help="Gone answers in a row to declare removal.")
@click.option("--removal-span", default="2h", show_default=True, help="Least time those answers must span (0 allowed).")
@click.option("--note", help="A note recorded with the watch.")
@click.option("--follow", "follow", help="On a listing: capture new links matching this URL glob or CSS selector.")
@click.option("--watch-followed", is_flag=True, help="Put each new link found with --follow under watch too.")
@click.option("--max-follow", default="50", show_default=True, help="New links captured per pass at most.")
@click.option(
    "--notify",
    help="A command run (no shell) with the observation as JSON on stdin when the page changes or is removed; "
    "kept outside the evidence (it may hold a token).",
)
@click.option("--until", help="End the watch after this date (the end of the authorised period), UTC.")
@click.option("--profile", "profile", help="A browser profile each attempt is made with, its logged-in check first.")
@timestamp_option
@case_option
@json_option
@click.pass_context
def watch_add(
    ctx: click.Context,
    urls: tuple[str, ...],
    every: str,
    jitter: str,
    ignore: tuple[str, ...],
    removal_attempts: str,
    removal_span: str,
    note: str | None,
    follow: str | None,
    watch_followed: bool,
    max_follow: str,
    notify: str | None,
    until: str | None,
    profile: str | None,
) -> None:
    """Put URLS under watch (recorded: watch.added with the settings)."""
    from evidencekit.workflows.watch.registry import WatchSettings, add_watches, parse_until
    from evidencekit.workflows.watch.schedule import parse_duration

    settings = WatchSettings(
        every_s=parse_duration(every, what="--every"),
        jitter_s=parse_duration(jitter, what="--jitter"),
        ignore=tuple(ignore),
        removal_attempts=_count(removal_attempts, "--removal-attempts"),
        removal_span_s=parse_duration(removal_span, what="--removal-span"),
        note=note,
        follow=follow,
        watch_followed=watch_followed,
        max_follow=_count(max_follow, "--max-follow"),
        notify=notify,
        until=parse_until(until) if until is not None else None,
        profile=profile,
    )
    if profile is not None:
        from evidencekit.workflows.watch.watchprofiles import check_profile_exists

        check_profile_exists(session_of(ctx).environ, profile)
    added = add_watches(session_of(ctx), list(urls), settings)

    def text() -> None:
        for a in added:
            extra = f", following {a.follow['pattern']}" if a.follow else ""
            extra += ", notifying" if a.notify else ""
            extra += f", until {a.until}" if a.until else ""
            extra += f", with profile {a.profile}" if a.profile else ""
            say(a.summary() + extra)

    emit(ctx, [a.to_details() for a in added], text)


def _count(text: str, what: str) -> int:
    from evidencekit.errors import UsageError

    if not text.strip().isdigit() or int(text) < 1:
        raise UsageError(f"{what} {text!r} is not a whole number of at least 1")
    return int(text)


@watch.command("list")
@case_option
@json_option
@click.pass_context
def watch_list(ctx: click.Context) -> None:
    """The case's watches: id, state, interval, URL."""
    from evidencekit.workflows.watch.registry import watch_list as listed

    watches = listed(session_of(ctx))

    def text() -> None:
        if not watches:
            say("No watches yet; `evidencekit watch add URL` puts one under watch.")
        for w in watches:
            s = w.settings
            extra = " follow" if s.follow else ""
            extra += f" until {s.until}" if s.until else ""
            say(f"{w.id}  {w.state:<7}  every {_seconds(s.every_s):<5} {s.url}{extra}")

    emit(ctx, [w.to_dict() for w in watches], text)


def _seconds(value: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}s"


def _change(ctx: click.Context, watch_id: str, verb: str) -> None:
    from evidencekit.workflows.watch.registry import change_watch

    changed = change_watch(session_of(ctx), watch_id, verb)
    emit(ctx, changed.to_details(), lambda: say(changed.summary()))


_CHANGES = {
    "pause": "Pause a watch (recorded); `watch resume` starts it again.",
    "resume": "Resume a paused watch (recorded).",
    "remove": "Stop a watch for good (recorded; its history stays in the ledger).",
}


def _change_command(verb: str, doc: str) -> None:
    @watch.command(verb, help=doc)
    @click.argument("watch_id", metavar="ID")
    @timestamp_option
    @case_option
    @json_option
    @click.pass_context
    def change(ctx: click.Context, watch_id: str) -> None:
        _change(ctx, watch_id, verb)


for _verb, _doc in _CHANGES.items():
    _change_command(_verb, _doc)


def _capture_options(session: Session, timeout: str, browser_path: Path | None) -> CaptureOptions:
    from evidencekit.capture import CaptureOptions
    from evidencekit.errors import UsageError
    from evidencekit.workflows import case as api_case
    from evidencekit.workflows.watch.schedule import parse_duration

    timeout_s = parse_duration(timeout, what="--timeout")
    if not 1 <= timeout_s <= 3600:
        raise UsageError("--timeout must be between 1s and 1h")
    region = api_case.case_settings(session).region or DEFAULT_REGION
    return CaptureOptions(timeout_s=float(timeout_s), region=region.upper(), browser_path=browser_path)


def _seen_line(seen: Seen) -> str:
    o = seen.observation
    if o is None:
        return f"{seen.item}  {seen.status:<8}  {seen.url}"
    said = o.summary().removeprefix("observed ")
    if isinstance(blocked := o.answer.get("blocked"), str):  # why it is unavailable: what the site showed
        said = said.replace(o.availability, f"{o.availability} (blocked: {blocked})", 1)
    return f"{seen.item}  {o.watch or '-':<10}  {said}  {seen.url}"


@contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """SIGTERM (systemd stopping the service, `kill`) ends the run as Ctrl-C does: captures in progress wrap
    up and are recorded."""

    def interrupt(_signum: int, _frame: Any) -> None:
        signal.raise_signal(signal.SIGINT)

    # A background job of a non-interactive shell (`evidencekit watch run --loop &` in a script) starts with
    # SIGINT ignored: SIGINT raised then would be dropped and SIGTERM with it. Python's own handler is put
    # back for the run, so SIGTERM (and SIGINT) stop it as Ctrl-C does on a terminal.
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _asking_once(session: Session) -> Session:
    """The session, asking for the key's passphrase on the terminal at most once for the whole run (each pass
    opens the case anew; --loop must not ask again every pass). Unattended runs never ask (see keys)."""
    ask = session.ask_passphrase
    if ask is None:
        return session
    given: dict[str, str | None] = {}

    def once(prompt: str) -> str | None:
        if prompt not in given:
            given[prompt] = ask(prompt)
        return given[prompt]

    return replace(session, ask_passphrase=once)


@watch.command("run")
@click.option("--now", "every_active", is_flag=True, help="Capture every active watch now, due or not.")
@click.option("--loop", is_flag=True, help="Stay up and run passes as they fall due (stop with Ctrl-C or SIGTERM).")
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 32), help="Pages at once.")
@click.option("--timeout", default="60s", show_default=True, help="Time per page: 90s, 2m.")
@browser_option
@timestamp_option
@case_option
@json_option
@click.pass_context
def watch_run(
    ctx: click.Context, every_active: bool, loop: bool, concurrency: int, timeout: str, browser_path: Path | None
) -> None:
    """One pass over the watches that are due (--now: every active watch), then exit; safe from cron: a second
    run while one is going exits at once. --loop: pass after pass as they fall due."""
    from evidencekit.workflows.watch.passes import PassReport
    from evidencekit.workflows.watch.runner import run_watches

    session = _asking_once(session_of(ctx))
    options = _capture_options(session, timeout, browser_path)

    def show(report: PassReport) -> None:
        for warning in report.warnings:  # on stderr, one line each, in JSON mode too
            say(f"evidencekit: warning: {warning}", err=True)
        if json_mode(ctx):
            if loop:  # one JSON object a line, a pass each
                click.echo(_one_line_json(report.to_dict()))
            return
        for item in report.ended:
            say(f"{item} ended: its authorised period is over")
        for item in report.caught_up:
            say(f"{item}: its observation, missing (a run stopped, or a capture outside the watch), is recorded now")
        for seen in report.captured:
            say(_seen_line(seen))
        if report.idle and not loop:
            say("Nothing due; `evidencekit watch list` shows the watches (--now captures them anyway).")

    def sleeping(due: datetime | None) -> None:
        if not json_mode(ctx) and sys.stderr.isatty():
            say(f"waiting until {due.isoformat() if due else 'a watch is added'}", err=True)

    reports: list[PassReport] = []
    try:
        with _term_as_interrupt():
            reports = run_watches(
                session,
                options,
                every_active=every_active,
                concurrency=concurrency,
                loop=loop,
                on_pass=show,
                on_sleep=sleeping,
            )
    except KeyboardInterrupt:
        if not loop:
            raise
        say("evidencekit: stopped; everything captured is recorded", err=True)
        return
    if json_mode(ctx) and not loop:
        click.echo(_one_line_json(reports[-1].to_dict()) if reports else "{}")
    if reports and reports[-1].interrupted:
        if loop:
            say("evidencekit: stopped; everything captured is recorded", err=True)
            return
        say("evidencekit: interrupted; finished captures are kept and recorded", err=True)
        ctx.exit(130)


def _one_line_json(payload: Any) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False, sort_keys=True)


@cli.command()
@click.argument("item")
@click.option("--timeout", default="60s", show_default=True, help="Time for the page: 90s, 2m.")
@click.option("--profile", "profile", help="A browser profile to use instead of the one ITEM was made with.")
@click.option("--no-profile", "no_profile", is_flag=True, help="Capture without the profile ITEM was made with.")
@browser_option
@timestamp_option
@case_option
@json_option
@click.pass_context
def recapture(
    ctx: click.Context, item: str, timeout: str, profile: str | None, no_profile: bool, browser_path: Path | None
) -> None:
    """Capture a capture item's URL again, now: a new item linked to ITEM and to the URL's series, with an
    observation against the series' last successful capture. A capture made with a browser profile is
    captured again with it (its logged-in check first), unless --profile or --no-profile says otherwise."""
    from evidencekit.workflows.watch.recapture import recapture as again

    session = session_of(ctx)
    options = _capture_options(session, timeout, browser_path)
    seen = again(session, item, options, profile=profile, no_profile=no_profile)
    emit(ctx, seen.to_dict(), lambda: say(_seen_line(seen)))
