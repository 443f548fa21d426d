"""The command line: parse, call one api function, render text or --json. The one error boundary.

Exit codes: 0 success, 1 operational error, 2 usage error, 3 integrity problem.
With --json, stdout carries only JSON; messages and errors go to stderr.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from evidencekit import CASE_ENV, __version__
from evidencekit.errors import EXIT_INTEGRITY, EXIT_OPERATIONAL, EXIT_USAGE, EvidenceKitError
from evidencekit.timefmt import beside_utc, format_duration, parse_duration

if TYPE_CHECKING:
    from evidencekit.ledger.rules import NotApplied
    from evidencekit.models import LedgerEntry, Problem
    from evidencekit.workflows.opencase import Session


F = TypeVar("F", bound=Callable[..., Any])


class ErrorBoundary(click.Group):
    """Turns the library's errors into one line on stderr and the right exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvidenceKitError as exc:
            _fail(ctx, exc.message, exc.exit_code, exc.detail, exc)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): nothing more can be said; leave quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_OPERATIONAL)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted; everything recorded before the interruption is kept", 130, None)
        except OSError as exc:
            _fail(ctx, f"operating system error: {exc}", EXIT_OPERATIONAL, traceback.format_exc(), exc)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # the last line of defence: people get one line, --verbose the rest
            _fail(
                ctx,
                f"internal error ({type(exc).__name__}: {exc}); please report it, with --verbose output",
                EXIT_OPERATIONAL,
                traceback.format_exc(),
            )


def _fail(ctx: click.Context, message: str, code: int, detail: str | None, cause: BaseException | None = None) -> None:
    click.echo(f"evidencekit: error: {message}", err=True)
    if _verbose(ctx):
        if detail:
            click.echo(detail, err=True)
        for line in cause_chain(cause):
            click.echo(f"  caused by: {line}", err=True)
    ctx.exit(code)


def cause_chain(error: BaseException | None, limit: int = 12) -> list[str]:
    """What led to ``error``, outermost first: each ``Type: message`` of its causes and contexts.

    ``raise ... from None`` keeps people's one line short, but Python still holds the original exception
    as the context; --verbose shows it, so the cause of any error can be told.
    """
    lines: list[str] = []
    seen: set[int] = set()
    current = None if error is None else (error.__cause__ or error.__context__)
    while current is not None and id(current) not in seen and len(lines) < limit:
        seen.add(id(current))
        text = " ".join(str(current).split())
        lines.append(
            f"{type(current).__module__}.{type(current).__qualname__}: {text}" if text else type(current).__qualname__
        )
        current = current.__cause__ or current.__context__
    return lines


def _verbose(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("verbose"))


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.find_root().meta["json"] = True
    return value


def json_option(func: F) -> F:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        is_eager=True,
        help="Machine-readable JSON on stdout; messages on stderr.",
    )(func)


def _json_mode(ctx: click.Context) -> bool:
    return bool(ctx.find_root().meta.get("json"))


def _emit(ctx: click.Context, payload: Any, text: Callable[[], None]) -> None:
    if _json_mode(ctx):
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True))
    else:
        text()


def _session(ctx: click.Context) -> Session:
    from evidencekit.workflows.opencase import Session

    root = ctx.find_root()
    # --case after the subcommand wins over --case before it, which wins over $EVIDENCEKIT_CASE.
    case = root.meta.get("case_dir") or root.params.get("case_dir")
    return Session(
        case_dir=Path(case) if case else Path.cwd(),
        environ=dict(os.environ),
        ask_passphrase=_ask_passphrase if sys.stdin.isatty() else None,
    )


def _ask_passphrase(prompt: str) -> str | None:
    answer = click.prompt(prompt, hide_input=True, err=True, default="", show_default=False)
    return str(answer) or None


def _set_case_dir(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value:
        ctx.find_root().meta["case_dir"] = value
    return value


def case_option(func: F) -> F:
    """``--case DIR`` after the subcommand too (``evidencekit items --case DIR``)."""
    return click.option(
        "--case",
        "case_dir",
        expose_value=False,
        callback=_set_case_dir,
        type=click.Path(file_okay=True, dir_okay=True, path_type=str),
        help=f"Case folder (default: ${CASE_ENV}, else the current folder).",
    )(func)


@click.group(cls=ErrorBoundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--case",
    "case_dir",
    envvar=CASE_ENV,
    type=click.Path(file_okay=True, dir_okay=True, path_type=str),
    help=f"Case folder (default: ${CASE_ENV}, else the current folder).",
)
@click.option("--verbose", "-v", is_flag=True, help="Show details behind errors.")
@json_option
@click.version_option(__version__, prog_name="evidencekit")
def cli(case_dir: str | None, verbose: bool) -> None:
    """Preserve web pages and files as court-grade evidence, with a signed chain-of-custody ledger."""


# -- init ------------------------------------------------------------------------------------------
@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--case-id", required=True, help="Case identifier: letters, digits, . _ - (e.g. TRAF-2026-014).")
@click.option("--title", required=True, help="Short title of the case.")
@click.option("--investigator", required=True, help="Name of the investigator opening the case.")
@click.option("--agency", help="Agency or organisation.")
@click.option("--region", help="The case's country for phone numbers written without +code (two letters, e.g. DE).")
@click.option("--timezone", help="The zone people read the case's times in (IANA name, e.g. Europe/Berlin).")
@case_option
@json_option
@click.pass_context
def init(
    ctx: click.Context,
    directory: Path | None,
    case_id: str,
    title: str,
    investigator: str,
    agency: str | None,
    region: str | None,
    timezone: str | None,
) -> None:
    """Open a new case in DIRECTORY (default: --case, else the current folder)."""
    from evidencekit.workflows import case as api

    session = _session(ctx)
    if directory is not None:
        session = dataclasses.replace(session, case_dir=directory)
    info = api.init_case(
        session,
        case_id=case_id,
        title=title,
        investigator=investigator,
        agency=agency,
        region=region,
        timezone=timezone,
    )
    _emit(
        ctx,
        {"case": info.to_dict(), "path": str(session.case_dir.resolve())},
        lambda: click.echo(f"Opened case {info.case_id} ({info.title}) in {session.case_dir}"),
    )


# -- case settings ---------------------------------------------------------------------------------
@cli.group("case")
def case_group() -> None:
    """The case's own settings (recorded in the ledger as case.configured)."""


def _cleared(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() == "none" else value


@case_group.command("configure")
@click.option("--region", help="Country for phone numbers written without +code (two letters; 'none' clears it).")
@click.option("--timezone", help="Zone people read times in (IANA name, e.g. Asia/Kolkata; 'none' clears it).")
@case_option
@json_option
@click.pass_context
def case_configure(ctx: click.Context, region: str | None, timezone: str | None) -> None:
    """Set the case's region and time zone; the newest setting is the one in force."""
    from evidencekit.workflows import case as api

    changes = {name: _cleared(value) for name, value in (("region", region), ("timezone", timezone)) if value}
    entry, settings = api.configure_case(_session(ctx), changes)
    _emit(
        ctx,
        {"settings": settings.to_dict(), "entry": entry.to_dict()},
        lambda: click.echo(
            f"Case settings: region {settings.region or 'not set'}, time zone {settings.timezone or 'not set'} "
            f"(seq {entry.seq}, case.configured)"
        ),
    )


# -- add / note ------------------------------------------------------------------------------------
@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--note", help="A note recorded with each file.")
@case_option
@json_option
@click.pass_context
def add(ctx: click.Context, files: Sequence[Path], note: str | None) -> None:
    """Add FILES (or folders, each one item with its whole tree) to the case as evidence items.

    Everything is hashed, stored read-only and recorded in the ledger.
    """
    from evidencekit.workflows import case as api

    added = api.add_files(_session(ctx), list(files), note=note)

    def text() -> None:
        for item in added:
            if item.entry.action == "folder.added":
                size = sum(a.digests.size for a in item.entry.artefacts)
                click.echo(f"{item.item_id}  {item.path}  {item.files} files, {size} bytes  (seq {item.entry.seq})")
            else:
                artefact = item.entry.artefacts[0]
                click.echo(f"{item.item_id}  {item.path}  {artefact.digests.sha256_tagged}  (seq {item.entry.seq})")

    _emit(ctx, [a.to_dict() for a in added], text)
    for item in added:
        if not item.same_content_as:
            continue
        earlier = ", ".join(item.same_content_as)
        if item.entry.action == "file.added":
            said = f"{item.item_id} has the same content as {earlier}"
        elif item.repeated_files == item.files:
            said = f"{item.item_id} holds only content already in the case ({earlier})"
        else:
            said = f"{item.item_id}: {item.repeated_files} of {item.files} files have the same content as {earlier}"
        click.echo(f"note: {said} (recorded again)", err=True)


@cli.command()
@click.argument("text")
@click.option("--item", "item_id", help="The item the note is about.")
@case_option
@json_option
@click.pass_context
def note(ctx: click.Context, text: str, item_id: str | None) -> None:
    """Record a note in the custody ledger."""
    from evidencekit.workflows import case as api

    entry = api.add_note(_session(ctx), text, item_id=item_id)
    _emit(ctx, entry.to_dict(), lambda: click.echo(f"Note recorded (seq {entry.seq})"))


# -- reading ---------------------------------------------------------------------------------------
@cli.command()
@case_option
@json_option
@click.pass_context
def items(ctx: click.Context) -> None:
    """List the evidence items of the case."""
    from evidencekit.workflows import case as api

    session = _session(ctx)
    found = api.list_items(session)
    zone = _case_zone(session)

    def text() -> None:
        if not found:
            click.echo("No items yet.")
        for s in found:
            click.echo(f"{s.item_id:<14} {s.kind:<8} {s.status:<9} {beside_utc(s.created, zone)}  {s.label}")

    _emit(ctx, [s.to_dict() for s in found], text)


@cli.command()
@click.argument("item_id")
@case_option
@json_option
@click.pass_context
def show(ctx: click.Context, item_id: str) -> None:
    """Show one item: its ledger entries, artefacts and where they are stored."""
    from evidencekit.ledger.entries import FileAdded, FolderAdded, one_line, parse
    from evidencekit.workflows import case as api

    session = _session(ctx)
    detail = api.show_item(session, item_id)
    zone = _case_zone(session)

    def text() -> None:
        s = detail.summary
        click.echo(f"{s.item_id}  {s.kind}  {s.status}  {one_line(s.label)}")
        for entry in detail.entries:
            click.echo(_entry_line_in(entry, zone))
            parsed = parse(entry)
            found_at = {f.artefact: f.relative_path for f in parsed.files} if isinstance(parsed, FolderAdded) else {}
            for a in entry.artefacts:
                click.echo(f"    {a.name}  {a.media_type}  {a.digests.size} bytes")
                if found_at.get(a.name, a.name) != a.name:
                    click.echo(f"      found as {one_line(found_at[a.name])}")
                click.echo(f"      {a.digests.sha256_tagged}")
                click.echo(f"      {a.digests.blake3_tagged}")
                click.echo(f"      stored at {detail.stored_paths[a.digests.blake3]}")
            gps = parsed.exif.get("gps") if isinstance(parsed, FileAdded) and parsed.exif else None
            if isinstance(gps, dict):
                click.echo(f"    GPS {gps.get('latitude')}, {gps.get('longitude')}")

    _emit(ctx, detail.to_dict(), text)


def _entry_line(entry: LedgerEntry) -> str:
    """One ledger entry on one line; an action this version does not know is shown, and said to be unknown."""
    from evidencekit.ledger.entries import one_line, summary

    subject = one_line(entry.subject or "-")
    return (
        f"{entry.seq:>6}  {entry.time}  {entry.action:<19} {subject:<14} {one_line(entry.actor.name)}  {summary(entry)}"
    )


def _case_zone(session: Session) -> ZoneInfo | None:
    """The zone the case's times are shown in beside UTC, if the case has one."""
    from evidencekit.workflows import case as api

    zone = api.case_settings(session).timezone
    try:
        return ZoneInfo(zone) if zone else None
    except (ZoneInfoNotFoundError, ValueError):  # a zone this machine's tz database lacks: UTC alone
        return None


def _entry_line_in(entry: LedgerEntry, zone: ZoneInfo | None) -> str:
    return _entry_line(entry).replace(entry.time, beside_utc(entry.time, zone), 1)


@cli.command()
@case_option
@json_option
@click.pass_context
def log(ctx: click.Context) -> None:
    """Print the custody ledger, oldest first."""
    from evidencekit.workflows import case as api

    session = _session(ctx)
    entries = api.read_log(session)
    zone = _case_zone(session)

    def text() -> None:
        for entry in entries:
            click.echo(_entry_line_in(entry, zone))

    _emit(ctx, [e.to_dict() for e in entries], text)


# -- ledger / checkpoint ---------------------------------------------------------------------------
@cli.group()
def ledger() -> None:
    """Check the custody ledger."""


def _render_problems(
    problems: Sequence[Problem], warnings: Sequence[Problem], not_applied: Sequence[NotApplied] = ()
) -> None:
    for p in problems:
        click.echo(f"  PROBLEM {p}")
    for w in warnings:
        click.echo(f"  warning {w}")
    for rule in not_applied:  # a rule the verifier could not apply, and why
        click.echo(f"  not applied: {rule}")


@ledger.command("verify")
@case_option
@json_option
@click.pass_context
def ledger_verify(ctx: click.Context) -> None:
    """Recompute the whole ledger and every object it names; exit 3 on any problem."""
    from evidencekit.workflows.verify_case import verify_case

    report = verify_case(_session(ctx))

    def text() -> None:
        click.echo(
            f"Case {report.case_id}: {report.entries} entries, {report.checkpoints} signed checkpoints, "
            f"{report.objects_checked} objects"
        )
        click.echo(f"Merkle root {report.root}")
        if report.signers:
            click.echo(
                f"Checkpoints signed by key(s) {', '.join(report.signers)}: compare with the investigator's "
                "published key id (`evidencekit keys show`)"
            )
        for check in report.checks:
            click.echo(f"  checked: {check}")
        _render_problems(report.problems, report.warnings, report.not_applied)
        click.echo("VERIFIED: no problem found" if report.ok else f"FAILED: {len(report.problems)} problem(s)")

    _emit(ctx, report.to_dict(), text)
    if not report.ok:
        ctx.exit(EXIT_INTEGRITY)


@cli.command()
@case_option
@json_option
@click.pass_context
def checkpoint(ctx: click.Context) -> None:
    """Sign the ledger's current tree head with your key and record it."""
    from evidencekit.workflows import case as api

    entry = api.checkpoint(_session(ctx))
    _emit(
        ctx,
        entry.to_dict(),
        lambda: click.echo(
            f"Signed checkpoint of {entry.details['tree_size']} entries, root {entry.details['root']} (seq {entry.seq})"
        ),
    )


# -- keys ------------------------------------------------------------------------------------------
@cli.group()
def keys() -> None:
    """Manage your investigator signing key (kept outside cases, in your config folder)."""


@keys.command("generate")
@click.option("--investigator", required=True, help="Your name, as it should appear on signatures.")
@click.option(
    "--passphrase",
    "protect",
    is_flag=True,
    help="Encrypt the private key with a passphrase: asked twice at a hidden prompt, or taken from "
    "$EVIDENCEKIT_KEY_PASSPHRASE or the file named by $EVIDENCEKIT_KEY_PASSPHRASE_FILE (mode 0600).",
)
@json_option
@click.pass_context
def keys_generate(ctx: click.Context, investigator: str, protect: bool) -> None:
    """Create your Ed25519 signing key (refuses to replace an existing one)."""
    from evidencekit.workflows.keys import generate_investigator_key

    passphrase = _new_passphrase() if protect else None
    key = generate_investigator_key(dict(os.environ), investigator, passphrase=passphrase)
    protected = " (protected by a passphrase)" if key.protected else ""
    _emit(
        ctx,
        key.to_dict(),
        lambda: click.echo(f"Generated key {key.public.key_id} for {key.investigator}{protected}"),
    )


def _new_passphrase() -> bytes:
    from evidencekit.keys import PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, passphrase_from_environment

    given = passphrase_from_environment(os.environ)
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"--passphrase needs a terminal to ask on, or ${PASSPHRASE_ENV} or ${PASSPHRASE_FILE_ENV}"
        )
    answer = str(click.prompt("New key passphrase", hide_input=True, confirmation_prompt=True, err=True))
    if not answer:
        raise click.UsageError("an empty passphrase protects nothing; choose one, or leave out --passphrase")
    return answer.encode("utf-8")


@keys.command("show")
@json_option
@click.pass_context
def keys_show(ctx: click.Context) -> None:
    """Show your public key, its key id and where it is kept."""
    from evidencekit.workflows.keys import show_investigator_key

    key = show_investigator_key(dict(os.environ))

    def text() -> None:
        click.echo(f"Investigator: {key.investigator}")
        click.echo(f"Key id:       {key.public.key_id}")
        click.echo(f"Note name:    {key.public.note_name}")
        click.echo(f"Kept in:      {key.directory}")
        click.echo(f"Protected:    {'yes (passphrase)' if key.protected else 'no'}")
        click.echo(key.public.pem().rstrip())

    _emit(ctx, key.to_dict(), text)


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


def _viewport(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 1366x768") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise click.BadParameter("width and height must be between 200 and 8000 pixels")
    return width, height


class _ProgressLine:
    """A one-line progress bar on stderr, only on a terminal and never in --json mode."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.counts = {"complete": 0, "partial": 0, "failed": 0}

    def __call__(self, event: str, index: int, url: str, status: str | None) -> None:
        if event == "finished" and status is not None:
            self.done += 1
            self.counts[status] = self.counts.get(status, 0) + 1
        if not self.enabled:
            return
        width = 24
        filled = width * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (width - filled)
        label = url if len(url) <= 48 else url[:45] + "..."
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
@click.option("--viewport", default="1366x768", show_default=True, callback=_viewport, help="Window size WxH.")
@click.option("--user-agent", help="User agent to present (recorded in the metadata).")
@click.option("--proxy", help="Proxy URL, e.g. socks5://127.0.0.1:9050 (credentials are never recorded).")
@click.option(
    "--storage-state",
    type=click.Path(path_type=Path),
    help="Playwright storage state (cookies) to log in with; only its digest is recorded.",
)
@click.option(
    "--browser",
    "browser_path",
    type=click.Path(path_type=Path),
    envvar="EVIDENCEKIT_BROWSER",
    help="Chromium or Chrome executable (default: $EVIDENCEKIT_BROWSER, Playwright's, Debian's).",
)
@click.option("--ignore-https-errors", is_flag=True, help="Capture despite certificate errors (recorded).")
@click.option(
    "--region",
    envvar="EVIDENCEKIT_REGION",
    help="Country for phone numbers written without +country code (default: the case's region, else US).",
)
@click.option("--note", help="A note recorded with each capture.")
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
    viewport: tuple[int, int],
    user_agent: str | None,
    proxy: str | None,
    storage_state: Path | None,
    browser_path: Path | None,
    ignore_https_errors: bool,
    region: str | None,
    note: str | None,
) -> None:
    """Capture live web pages (URLS) into the case with headless Chromium."""
    from evidencekit.capture import CaptureOptions
    from evidencekit.workflows import capture as api_capture  # Playwright loads only for the commands that need it
    from evidencekit.workflows import case as api_case

    session = _session(ctx)
    targets = list(urls) + (api_capture.read_url_file(from_file) if from_file else [])
    if region is None:
        region = api_case.case_settings(session).region or DEFAULT_REGION
    earlier = api_case.earlier_captures(session, targets)
    options = CaptureOptions(
        timeout_s=timeout_s,
        pdf=pdf,
        mhtml=not no_mhtml,
        viewport=viewport,
        user_agent=user_agent,
        proxy=proxy,
        storage_state=storage_state,
        ignore_https_errors=ignore_https_errors,
        region=region.upper(),
        browser_path=browser_path,
    )
    progress = _ProgressLine(len(targets), enabled=not _json_mode(ctx) and sys.stderr.isatty())
    outcomes = api_capture.capture_urls(
        session, targets, options, concurrency=concurrency, note=note, progress=progress
    )
    interrupted = any(o.to_dict()["interrupted"] for o in outcomes)

    def text() -> None:
        for o in outcomes:
            line = f"{o.item_id}  {o.status:<8}  {o.url}"
            if o.result.final_url and o.result.final_url != o.url:
                line += f"  -> {o.result.final_url}"
            click.echo(line)
            for reason in o.result.reasons:
                click.echo(f"    {reason}")
            if o.result.indicators:
                shown = ", ".join(str(i.get("value")) for i in list(o.result.indicators)[:6])
                click.echo(f"    indicators: {shown}")
        counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("complete", "partial", "failed")}
        click.echo(f"Summary: {counts['complete']} complete, {counts['partial']} partial, {counts['failed']} failed")

    _emit(ctx, [o.to_dict() for o in outcomes], text)
    for o in outcomes:
        first = earlier.setdefault(o.url.strip(), o.item_id)
        if first != o.item_id:
            click.echo(f"note: {o.item_id} is the same URL as {first} (recorded again)", err=True)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        click.echo(
            f"evidencekit: error: capture of {o.url} failed: {o.result.error} (recorded as {o.item_id})", err=True
        )
    if interrupted:
        click.echo("evidencekit: interrupted; finished captures are kept and recorded", err=True)
        ctx.exit(130)
    if failed:
        ctx.exit(EXIT_OPERATIONAL)


@cli.command()
@case_option
@json_option
@click.pass_context
def indicators(ctx: click.Context) -> None:
    """List contact indicators found across the case, and which captures share each one."""
    from evidencekit.workflows import capture as api_capture

    uses = api_capture.list_indicators(_session(ctx))

    def text() -> None:
        if not uses:
            click.echo("No indicators found yet.")
        for use in uses:
            shared = "  SHARED" if len(use.items) > 1 else ""
            click.echo(f"{use.kind:<9} {use.value:<40} {', '.join(use.items)}{shared}")

    _emit(ctx, [u.to_dict() for u in uses], text)


# -- export / verify -------------------------------------------------------------------------------
@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--item", "items", multiple=True, help="An item to export (repeatable).")
@click.option("--all", "everything", is_flag=True, help="Export every item of the case.")
@click.option("--dir", "as_dir", is_flag=True, help="Write a folder instead of a zip file.")
@click.option("--recipient", help="Who receives the bundle; records a custody transfer.")
@click.option("--purpose", help="Why the bundle is made (e.g. 'disclosure to prosecutor').")
@click.option("--full-ledger", is_flag=True, help="Include every ledger entry, not only those of the items.")
@click.option(
    "--no-pdf",
    "no_pdf",
    is_flag=True,
    help="Leave report.pdf out (no Chromium needed); bag-info.txt, VERIFY.txt and the report say so.",
)
@click.option(
    "--browser",
    type=click.Path(path_type=Path),
    help="Chromium or Chrome executable that prints report.pdf (default: $EVIDENCEKIT_BROWSER, Playwright's, "
    "Debian's).",
)
@case_option
@json_option
@click.pass_context
def export(
    ctx: click.Context,
    out: Path,
    items: tuple[str, ...],
    everything: bool,
    as_dir: bool,
    recipient: str | None,
    purpose: str | None,
    full_ledger: bool,
    no_pdf: bool,
    browser: Path | None,
) -> None:
    """Write an evidence bundle (BagIt bag, zip or folder) to OUT for a prosecutor."""
    from evidencekit.workflows import export as api_export

    outcome = api_export.export_bundle(
        _session(ctx),
        out,
        items=items,
        everything=everything,
        as_dir=as_dir,
        recipient=recipient,
        purpose=purpose,
        full_ledger=full_ledger,
        pdf=not no_pdf,
        browser=browser,
    )

    def text() -> None:
        click.echo(f"Exported {len(outcome.items)} item(s) to {outcome.result.path}")
        click.echo(f"  files: {outcome.result.files}, Payload-Oxum {outcome.result.bag.payload_oxum}")
        click.echo(f"  tag manifest sha256:{outcome.result.bag.tag_manifest_sha256}")
        if not outcome.report_pdf:
            click.echo("  report.pdf left out (--no-pdf), as bag-info.txt, VERIFY.txt and the report say")
        click.echo(f"  recorded as seq {outcome.export_entry.seq} (export.created)")
        if outcome.transfer_entry is not None:
            click.echo(
                f"  custody transferred to {outcome.transfer_entry.details['recipient']} "
                f"(seq {outcome.transfer_entry.seq})"
            )

    _emit(ctx, outcome.to_dict(), text)


@cli.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--key",
    "trusted_keys",
    multiple=True,
    metavar="KEY",
    help="A trusted investigator key: key id (16 hex) or public key file (.pem, .json); repeatable. "
    "The bundle must be signed by one of them.",
)
@json_option
@click.pass_context
def verify(ctx: click.Context, bundle: Path, trusted_keys: tuple[str, ...]) -> None:
    """Verify an evidence bundle (zip or folder) offline; exit 3 if anything fails."""
    from evidencekit.workflows import verify_bundle as api_verify  # no case code, no browser: fast to start anywhere

    report = api_verify.verify_bundle_at(bundle, trusted_keys)

    def text() -> None:
        click.echo(f"Bundle {report.source}")
        facts = report.facts
        click.echo(
            f"  items: {', '.join(facts.get('items', [])) or '-'}; payload files: {facts.get('payload_files')}, "
            f"{facts.get('payload_bytes')} bytes; ledger lines: {facts.get('ledger_entries')}"
        )
        if "checkpoint" in facts:
            cp = facts["checkpoint"]
            click.echo(f"  signed checkpoint: tree size {cp['tree_size']}, root {cp['root']}")
        if "signer" in facts:
            click.echo(f"  signed by {facts['signer']['investigator']} (key {facts['signer']['key_id']})")
        signers = ", ".join(facts.get("checkpoint", {}).get("signed_by", [])) or "(none)"
        if not trusted_keys:
            click.echo(
                f"  key {signers}: compare it with the investigator's published key id (e.g. from "
                "`evidencekit keys show`), obtained out of band, or check with --key"
            )
        for check in report.checks:
            click.echo(f"  checked: {check}")
        _render_problems(report.problems, report.warnings, report.not_applied)
        click.echo("VERIFIED: no problem found" if report.ok else f"FAILED: {len(report.problems)} problem(s)")

    _emit(ctx, report.to_dict(), text)
    if not report.ok:
        ctx.exit(EXIT_INTEGRITY)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="evidencekit")
    except click.exceptions.UsageError as exc:  # pragma: no cover - click handles these in standalone mode
        exc.show()
        sys.exit(EXIT_USAGE)
