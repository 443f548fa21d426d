"""The command line's frame: the root group, the one error boundary, the options every command shares
(--case, --json, --verbose) and the helpers that render text or JSON. The commands live beside it, one
module per family, and register on the root group when imported (see ``evidencekit.cli``).

Exit codes: 0 success, 1 operational error, 2 usage error, 3 integrity problem.
With --json, stdout carries only JSON; messages and errors go to stderr.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from evidencekit import CASE_ENV, __version__
from evidencekit.errors import EXIT_INTEGRITY, EXIT_OPERATIONAL, EXIT_USAGE, EvidenceKitError, UsageError

if TYPE_CHECKING:
    from evidencekit.ledger.rules import NotApplied
    from evidencekit.models import Problem
    from evidencekit.workflows.opencase import Session


F = TypeVar("F", bound=Callable[..., Any])


# Commands that only read: interrupting one leaves nothing half done, and it had nothing to keep.
READING_COMMANDS = frozenset(
    {
        "items", "show", "log", "indicators", "ledger verify", "verify", "keys show", "tsa list",
        "search", "reindex", "links", "similar", "timeline", "watch list",
    }
)  # fmt: skip
# Commands that seal a checkpoint: while no Time-Stamping Authority is configured, each says so in one line
# on stderr after its own output (the case then has no independent time).
SEALING_COMMANDS = frozenset(
    {"init", "case configure", "add", "note", "checkpoint", "capture", "export", "keys rotate", "keys add-investigator",
     "watch add", "watch pause", "watch resume", "watch remove", "watch run", "recapture"}
)  # fmt: skip


class _NamedGroup(click.Group):
    """Notes, on the root context, the name of each command resolved: the error boundary says what an
    interruption leaves by what was running."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            ctx.find_root().meta.setdefault("command_path", []).append(command.name)
        return name, command, rest


def _interrupted(ctx: click.Context) -> str:
    path = " ".join(ctx.find_root().meta.get("command_path", []))
    if path in READING_COMMANDS:
        return "interrupted; this command only reads: nothing was recorded or changed"
    return "interrupted; everything recorded before the interruption is kept"


class ErrorBoundary(_NamedGroup):
    """Turns the library's errors into one line on stderr and the right exit code, never a traceback."""

    group_class = _NamedGroup  # subgroups (``ledger``, ``keys``, ``case``) note their commands too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            done = super().invoke(ctx)
            _warn_without_authority(ctx)
            return done
        except EvidenceKitError as exc:
            _fail(ctx, exc.message, exc.exit_code, exc.detail, exc)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): nothing more can be said; leave quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_OPERATIONAL)
        except KeyboardInterrupt:
            _fail(ctx, _interrupted(ctx), 130, None)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                where = Path(exc.filename).parent if exc.filename else "the disk"
                message = (
                    f"no space left on {where}; the command stopped: what it had recorded before is kept, "
                    "the rest was not recorded (`evidencekit log` shows what is)"
                )
                _fail(ctx, message, EXIT_OPERATIONAL, traceback.format_exc(), exc)
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


def _warn_without_authority(ctx: click.Context) -> None:
    """One line on stderr after a sealing command's output while no TSA is configured."""
    if " ".join(ctx.find_root().meta.get("command_path", [])) not in SEALING_COMMANDS:
        return
    from evidencekit.workflows.stamping import no_authority_warning

    warning = no_authority_warning(os.environ)
    if warning:
        say(warning, err=True)
        return
    if ctx.find_root().meta.get("no_timestamp", False):
        return
    from evidencekit.workflows.case import stamp_warnings

    for line in stamp_warnings(session_of(ctx)):
        say(line, err=True)


def _fail(ctx: click.Context, message: str, code: int, detail: str | None, cause: BaseException | None = None) -> None:
    say(f"evidencekit: error: {message}", err=True)
    if _verbose(ctx):
        for line in (detail or "").splitlines():
            say(line, err=True)
        for line in cause_chain(cause):
            say(f"  caused by: {line}", err=True)
    ctx.exit(code)


def shown(text: object) -> str:
    """``text`` as people may see it on a terminal: every control character escaped (``one_line``), so
    that a name, a note or a page's text can neither forge a line nor act on the terminal."""
    from evidencekit.ledger.entries import one_line  # loaded on first use: --help and --version stay quick

    return one_line(str(text))


def say(text: str = "", *, err: bool = False) -> None:
    """One line of human output (stdout, or stderr with ``err``), escaped by ``shown``. All text output of
    the commands goes through here; JSON output is written exactly (``emit``)."""
    click.echo(shown(text), err=err)


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


def json_mode(ctx: click.Context) -> bool:
    return bool(ctx.find_root().meta.get("json"))


def emit(ctx: click.Context, payload: Any, text: Callable[[], None]) -> None:
    if json_mode(ctx):
        click.echo(exact_json(payload))
    else:
        text()


def exact_json(payload: Any) -> str:
    """``payload`` as JSON, exactly. A path that was not UTF-8 (a case folder, a file on seized media)
    reaches here holding its undecodable bytes as lone surrogates, which no UTF-8 output can carry: they
    are written as JSON escapes (``\\udcff``), which a JSON reader turns back into the same string."""
    dumped = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)
    if _is_utf8(dumped):
        return dumped
    return "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in dumped)


def require_text_options(ctx: click.Context) -> None:
    """Refuse, in one line (exit 2), a text argument or option that is not valid UTF-8: the shell hands such
    bytes over as they are, and the ledger records text. File and folder names (``click.Path``) may hold
    any bytes; the workflows record those losslessly."""
    for param in ctx.command.params:
        if isinstance(param.type, click.Path):
            continue
        value = ctx.params.get(param.name or "")
        for text in value if isinstance(value, tuple | list) else (value,):
            if isinstance(text, str) and not _is_utf8(text):
                name = param.opts[0] if param.opts and param.opts[0].startswith("-") else (param.name or "").upper()
                raise UsageError(f"{name} is not valid UTF-8 text ({shown(text)}); give it again as UTF-8")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def session_of(ctx: click.Context) -> Session:
    from evidencekit.workflows.opencase import Session

    require_text_options(ctx)  # every command that opens a case comes through here, before it records
    from evidencekit.workflows.stamping import tsa_timeout

    root = ctx.find_root()
    # --case after the subcommand wins over --case before it, which wins over $EVIDENCEKIT_CASE.
    case = root.meta.get("case_dir") or root.params.get("case_dir")
    environ = dict(os.environ)
    return Session(
        case_dir=Path(case) if case else Path.cwd(),
        environ=environ,
        ask_passphrase=_ask_passphrase if sys.stdin.isatty() else None,
        timestamping=not root.meta.get("no_timestamp", False),
        tsa_timeout=tsa_timeout(environ),
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


def _set_no_timestamp(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.find_root().meta["no_timestamp"] = True
    return value


def browser_option(func: F) -> F:
    """``--browser PATH`` on a command that captures pages (``browser_path``; $EVIDENCEKIT_BROWSER too)."""
    return click.option(
        "--browser",
        "browser_path",
        type=click.Path(path_type=Path),
        envvar="EVIDENCEKIT_BROWSER",
        help="Chromium or Chrome executable (default: $EVIDENCEKIT_BROWSER, Playwright's, Debian's).",
    )(func)


def timestamp_option(func: F) -> F:
    """``--no-timestamp`` on a sealing command: no TSA is asked; its checkpoint is recorded pending for each
    configured TSA, reason "offline" (``evidencekit timestamp`` or a later command stamps it)."""
    return click.option(
        "--no-timestamp",
        is_flag=True,
        expose_value=False,
        callback=_set_no_timestamp,
        help="Do not ask the Time-Stamping Authorities now; the checkpoint is recorded pending (offline).",
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


class VerificationReport(Protocol):
    """What both verifiers report (``ledger verify`` and bundle ``verify``)."""

    checks: list[str]
    problems: list[Problem]
    warnings: list[Problem]
    not_applied: list[NotApplied]

    @property
    def ok(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...


def emit_verdict(
    ctx: click.Context, report: VerificationReport, heading: Callable[[], None], *, signer: str | None = None
) -> None:
    """A verification's report: its heading, each check made, each finding, the verdict; exit 3 unless ok.

    One wording for both verifiers, so each verdict means the same wherever it is printed: FAILED when
    anything is wrong; INTACT when nothing is, but no key from outside establishes who signed; VERIFIED
    only when ``signer`` (who signed, checked against a key the verifier was given) is known too.
    """

    def text() -> None:
        heading()
        for check in report.checks:
            say(f"  checked: {check}")
        for problem in report.problems:
            say(f"  PROBLEM {problem}")
        for warning in report.warnings:
            say(f"  warning {warning}")
        for rule in report.not_applied:  # a rule the verifier could not apply, and why
            say(f"  not applied: {rule}")
        say(verdict_line(report.ok, len(report.problems), signer))

    emit(ctx, report.to_dict(), text)
    if not report.ok:
        ctx.exit(EXIT_INTEGRITY)


def verdict_line(ok: bool, problems: int, signer: str | None) -> str:
    if not ok:
        return f"FAILED: {problems} problem(s)"
    if signer is None:
        return "INTACT \N{EM DASH} signer not established (check the key id with --key)"
    return f"VERIFIED \N{EM DASH} signed by {signer}"


def main(argv: Sequence[str] | None = None) -> None:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="evidencekit")
    except click.exceptions.UsageError as exc:  # pragma: no cover - click handles these in standalone mode
        exc.show()
        sys.exit(EXIT_USAGE)
