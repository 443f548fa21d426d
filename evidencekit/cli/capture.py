"""Capture commands: capture, indicators."""

from __future__ import annotations

import sys
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
    shown,
    timestamp_option,
)
from evidencekit.errors import EXIT_OPERATIONAL
from evidencekit.timefmt import format_duration, parse_duration

if TYPE_CHECKING:
    pass


def blocked_words(kind: Any) -> str:
    """What a blocked capture's kind means, in the report's words."""
    if kind == "login-wall":
        return "the site asked the visitor to sign in instead of showing the content"
    if kind == "challenge":
        return "the site showed a challenge page instead of the content"
    if kind == "block":
        return "the site refused access with a block page instead of showing the content"
    return f"the site showed something else than the content ({shown(kind)})"


# -- capture -------------------------------------------------------------------------------------
DEFAULT_REGION = "US"


class Duration(click.ParamType):  # type: ignore[type-arg]
    """A duration written ``90s``, ``2m``, ``1h``, ``1m30s``, or plain seconds (``90``)."""

    name = "duration"

    def __init__(self, least: float, most: float) -> None:
        self.least, self.most = least, most

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value) if isinstance(value, int | float) else parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if not self.least <= seconds <= self.most:
            self.fail(
                f"{format_duration(seconds)} is out of range; use {format_duration(self.least)} to "
                f"{format_duration(self.most)}",
                param,
                ctx,
            )
        return seconds


class _ProgressLine:
    """A one-line progress bar on stderr, only on a terminal and never in --json mode."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.counts = {"complete": 0, "partial": 0, "blocked": 0, "failed": 0}

    def __call__(self, event: str, index: int, url: str, status: str | None) -> None:
        if event == "finished" and status is not None:
            self.done += 1
            self.counts[status] = self.counts.get(status, 0) + 1
        if not self.enabled:
            return
        width = 24
        filled = width * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (width - filled)
        url = shown(url)
        label = url if len(url) <= 48 else url[:45] + "..."
        # The carriage return is ours (it redraws the bar); what the URL holds is escaped by shown().
        click.echo(f"\r[{bar}] {self.done}/{self.total} {event:<8} {label:<48}", err=True, nl=False)
        if self.done == self.total and event == "finished":
            click.echo("", err=True)


@cli.command()
@click.argument("urls", nargs=-1)
@click.option("--from-file", type=click.Path(path_type=Path), help="A file of URLs, one a line (# comments).")
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 32), help="Pages at once.")
@click.option(
    "--timeout",
    "timeout_s",
    default="60s",
    show_default=True,
    type=Duration(1, 3600),
    help="Time per page before the capture is cut off (partial): 90s, 2m, or plain seconds; 1s to 1h.",
)
@click.option("--pdf", is_flag=True, help="Also print the page to PDF.")
@click.option("--no-mhtml", is_flag=True, help="Skip the MHTML snapshot.")
@click.option(
    "--viewport",
    "viewport_text",
    default="1366x768",
    show_default=True,
    help="Window size WxH, from 200x200 to 7680x4320 (checked with the capture's own limits).",
)
@click.option("--user-agent", help="User agent to present (recorded in the metadata).")
@click.option(
    "--proxy",
    help="Proxy URL, e.g. socks5://user:pass@127.0.0.1:9050; its credentials go only to the browser and are "
    "redacted from every record (Proxy-Authorization keeps a keyed digest).",
)
@click.option(
    "--storage-state",
    type=click.Path(path_type=Path),
    help="Playwright storage state (cookies) to log in with; the file is recorded only by its digests, and "
    "Cookie/Set-Cookie values in the WARC and metadata are replaced by keyed digests.",
)
@click.option(
    "--profile",
    "profile_name",
    help="Capture logged in with this browser profile (`evidencekit profile`); its logged-in check runs first.",
)
@click.option(
    "--vantage", help="Where the capture is made from, e.g. 'VPN exit NL' (recorded; default: the profile's)."
)
@browser_option
@click.option("--ignore-https-errors", is_flag=True, help="Capture despite certificate errors (recorded).")
@click.option(
    "--allow-private-network",
    is_flag=True,
    help="Let a page on a public address reach loopback and private addresses (blocked by default, and "
    "recorded); for captures of intranet pages. A page on such an address itself is never blocked.",
)
@click.option(
    "--region",
    envvar="EVIDENCEKIT_REGION",
    help="Country for phone numbers written without +country code (default: the case's region, else US).",
)
@click.option(
    "--consent",
    type=click.Choice(["leave", "accept"]),
    default="leave",
    show_default=True,
    help="Consent walls: leave captures the page as shown; accept clicks a known consent dialog's accept "
    "control after the arrival screenshot (which stays as landed) and records exactly what it clicked.",
)
@click.option(
    "--media",
    is_flag=True,
    help="Also fetch what yt-dlp's site extractors find for each page (the page's own video and audio are "
    "always kept, as the bytes the server sent).",
)
@click.option(
    "--media-max-size",
    "media_max_size",
    default="500MB",
    show_default=True,
    help="Largest media file (or HLS stream) kept: 500MB, 2GB, 750KiB; a larger one is not kept (partial).",
)
@click.option(
    "--media-timeout",
    "media_timeout_s",
    default="120s",
    show_default=True,
    type=Duration(1, 86400),
    help="Time for fetching all media of one page; past it the capture is partial.",
)
@click.option(
    "--max-popups",
    default=3,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Pop-up windows a page opens that are captured as items of their own (opened by the page's item); "
    "the rest are closed after a look (not captured), as all are with 0.",
)
@click.option("--note", help="A note recorded with each capture.")
@timestamp_option
@case_option
@json_option
@click.pass_context
def capture(
    ctx: click.Context,
    urls: tuple[str, ...],
    from_file: Path | None,
    concurrency: int,
    timeout_s: float,
    pdf: bool,
    no_mhtml: bool,
    viewport_text: str,
    user_agent: str | None,
    proxy: str | None,
    storage_state: Path | None,
    profile_name: str | None,
    vantage: str | None,
    browser_path: Path | None,
    ignore_https_errors: bool,
    allow_private_network: bool,
    region: str | None,
    consent: str,
    media: bool,
    media_max_size: str,
    media_timeout_s: float,
    max_popups: int,
    note: str | None,
) -> None:
    """Capture live web pages (URLS) into the case with headless Chromium."""
    from evidencekit.capture import CaptureOptions, parse_viewport
    from evidencekit.capture.options import parse_size
    from evidencekit.workflows import capture as api_capture  # Playwright loads only for the commands that need it
    from evidencekit.workflows import capturing as api_capturing
    from evidencekit.workflows import case as api_case

    viewport = parse_viewport(viewport_text)  # the one check of the limits, before anything else is looked at
    media_max_bytes = parse_size(media_max_size)
    session = session_of(ctx)
    targets = list(urls) + (api_capture.read_url_file(from_file) if from_file else [])
    if region is None:
        region = api_case.case_settings(session).region or DEFAULT_REGION
    earlier = api_case.earlier_captures(session, targets)
    profile = None
    if profile_name is not None:
        from evidencekit.workflows.capturingprofile import capture_profile

        profile, profile_vantage = capture_profile(session.environ, profile_name)
        vantage = vantage if vantage is not None else profile_vantage  # an empty --vantage is refused, not dropped
    options = CaptureOptions(
        timeout_s=timeout_s,
        pdf=pdf,
        mhtml=not no_mhtml,
        viewport=viewport,
        user_agent=user_agent,
        proxy=proxy,
        storage_state=storage_state,
        ignore_https_errors=ignore_https_errors,
        allow_private_network=allow_private_network,
        region=region.upper(),
        browser_path=browser_path,
        profile=profile,
        vantage=vantage,
        consent=consent,
        media=media,
        media_max_bytes=media_max_bytes,
        media_timeout_s=media_timeout_s,
        max_popups=max_popups,
    )
    _warn_of_session_ids(targets, profile)
    progress = _ProgressLine(len(targets), enabled=not json_mode(ctx) and sys.stderr.isatty())
    outcomes = api_capturing.capture_urls(
        session, targets, options, concurrency=concurrency, note=note, progress=progress
    )
    outcomes = [each for o in outcomes for each in o.with_popups()]  # a pop-up's item right after its opener's
    interrupted = any(o.to_dict()["interrupted"] for o in outcomes)

    def text() -> None:
        for o in outcomes:
            line = f"{o.item_id}  {o.status:<8}  {o.url}"
            if o.result.final_url and o.result.final_url != o.url:
                line += f"  -> {o.result.final_url}"
            say(line)
            if o.opened_by:
                say(f"    a pop-up window opened by {o.opened_by}")
            if o.popups:
                say(f"    opened pop-up windows captured as {', '.join(p.item_id for p in o.popups)}")
            if o.result.final_url and o.result.final_url != o.url:
                _warn_of_session_ids_in_final(o.result.final_url)
            address_bar = o.result.metadata.get("address_bar_url")
            if isinstance(address_bar, str):
                say(f"    address bar, as the page itself set it (no response came from it): {address_bar}")
            blocked = o.result.metadata.get("blocked")
            if isinstance(blocked, dict):
                say(f"    blocked: {blocked_words(blocked.get('kind'))}")
            made_with = (o.result.metadata.get("settings") or {}).get("profile")
            if isinstance(made_with, dict):
                checked = made_with.get("checked_at")
                said = f"logged-in check passed at {checked}" if checked else "logged-in state not checked"
                say(f"    made with profile {made_with.get('name')}; {said}")
            for reason in o.result.reasons:
                say(f"    {reason}")
            authors = [i for i in o.result.indicators if i.get("site") is not True]
            if authors:  # the site's own (menu, footer, its own links) are in indicators.json, marked
                values = ", ".join(shown(i.get("value")) for i in authors[:6])
                say(f"    indicators: {values}")
        counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("complete", "partial", "blocked", "failed")}
        say(
            f"Summary: {counts['complete']} complete, {counts['partial']} partial, {counts['blocked']} blocked, "
            f"{counts['failed']} failed"
        )

    emit(ctx, [o.to_dict() for o in outcomes], text)
    for o in (o for o in outcomes if not o.opened_by):  # a pop-up's URL was the page's choice, not asked for
        first = earlier.setdefault(o.url.strip(), o.item_id)
        if first != o.item_id:
            say(f"note: {o.item_id} is the same URL as {first} (recorded again)", err=True)
    for o in outcomes:  # recorded, like a partial capture (exit 0), but never mistaken for the content
        if o.status == "blocked":
            kind = (o.result.metadata.get("blocked") or {}).get("kind")
            say(f"warning: {o.item_id} ({o.url}) is blocked: {blocked_words(kind)}", err=True)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        say(f"evidencekit: error: capture of {o.url} failed: {o.result.error} (recorded as {o.item_id})", err=True)
    if interrupted:
        say("evidencekit: interrupted; finished captures are kept and recorded", err=True)
        ctx.exit(130)
    if failed:
        ctx.exit(EXIT_OPERATIONAL)


@cli.command()
@case_option
@json_option
@click.option(
    "--all", "show_all", is_flag=True, help="Show every indicator: URLs, and the site's own (marked site) too."
)
@click.pass_context
def indicators(ctx: click.Context, show_all: bool) -> None:
    """List the indicators found across the case's captures and added files, most specific first, and the
    items sharing each one. The site's own (its menu, header, footer, links to its own pages and accounts)
    and plain URLs are left out unless --all."""
    from evidencekit.workflows import capture as api_capture

    view = api_capture.indicator_view(api_capture.list_indicators(session_of(ctx)), show_all=show_all)
    left_out = _left_out_words(view.site_left_out, view.urls_left_out)

    def text() -> None:
        if not view.shown:
            say("No indicators found yet." if not left_out else "No indicators of the pages' authors found.")
        for use in view.shown:
            items = use.items if show_all else use.author_items
            listed = ", ".join(f"{item} (site)" if use.site_in(item) else item for item in items)
            mark = "  SHARED" if use.shared else "  site" if use.site else ""
            say(f"{use.kind:<9} {shown(use.value):<40} {listed}{mark}")
        if left_out:
            say(left_out)

    emit(ctx, [u.to_dict() for u in view.shown], text)
    if left_out and json_mode(ctx):
        say(left_out, err=True)


def _left_out_words(site: int, urls: int) -> str:
    """What the shared view did not show, e.g. "12 site indicators and 30 URLs not shown; --all shows them"."""
    parts = []
    if site:
        parts.append(f"{site} site indicator{'' if site == 1 else 's'}")
    if urls:
        parts.append(f"{urls} URL{'' if urls == 1 else 's'}")
    return f"{' and '.join(parts)} not shown; --all shows them" if parts else ""


def _warn_of_session_ids(targets: list[str], profile: Any) -> None:
    """A warning (never the value) for each URL that seems to carry a session id or a value of the profile's
    state: it is recorded as given, since the address asked for is part of the evidence."""
    from evidencekit.capture.profilesecrets import secret_values, session_carriers

    values = secret_values(profile.state) if profile is not None else []
    for number, url in enumerate(targets, start=1):
        carriers = session_carriers(url, values)
        if carriers:
            say(
                f"evidencekit: warning: URL {number} carries {', '.join(carriers)}, which may be a session id or "
                "token; it is recorded as given, since the address asked for is part of the evidence",
                err=True,
            )


def _warn_of_session_ids_in_final(final_url: str) -> None:
    """The site's own redirect may put a session id in the address (``/feed?sid=...``): kept as served."""
    from evidencekit.capture.profilesecrets import session_carriers

    carriers = session_carriers(final_url)
    if carriers:
        say(f"    the final URL carries {', '.join(carriers)}, which may be a session id; kept as the site sent it")
