"""Case commands: init, case configure, add, note, items, show, log, ledger verify, checkpoint."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from evidencekit.cli.base import (
    case_option,
    cli,
    emit,
    emit_verdict,
    json_option,
    say,
    session_of,
    shown,
    timestamp_option,
)
from evidencekit.timefmt import beside_utc

if TYPE_CHECKING:
    from evidencekit.models import LedgerEntry
    from evidencekit.workflows.opencase import Session


# -- init ------------------------------------------------------------------------------------------
@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--case-id", required=True, help="Case identifier: letters, digits, . _ - (e.g. TRAF-2026-014).")
@click.option("--title", required=True, help="Short title of the case.")
@click.option("--investigator", required=True, help="Name of the investigator opening the case.")
@click.option("--agency", help="Agency or organisation.")
@click.option("--region", help="The case's country for phone numbers written without +code (two letters, e.g. DE).")
@click.option("--timezone", help="The zone people read the case's times in (IANA name, e.g. Europe/Berlin).")
@timestamp_option
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

    session = session_of(ctx)
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
    emit(
        ctx,
        {"case": info.to_dict(), "path": str(session.case_dir.resolve())},
        lambda: say(f"Opened case {info.case_id} ({info.title}) in {session.case_dir}"),
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
@timestamp_option
@case_option
@json_option
@click.pass_context
def case_configure(ctx: click.Context, region: str | None, timezone: str | None) -> None:
    """Set the case's region and time zone; the newest setting is the one in force."""
    from evidencekit.workflows import case as api

    changes = {name: _cleared(value) for name, value in (("region", region), ("timezone", timezone)) if value}
    entry, settings = api.configure_case(session_of(ctx), changes)
    emit(
        ctx,
        {"settings": settings.to_dict(), "entry": entry.to_dict()},
        lambda: say(
            f"Case settings: region {settings.region or 'not set'}, time zone {settings.timezone or 'not set'} "
            f"(seq {entry.seq}, case.configured)"
        ),
    )


# -- add / note ------------------------------------------------------------------------------------
@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--note", help="A note recorded with each file.")
@timestamp_option
@case_option
@json_option
@click.pass_context
def add(ctx: click.Context, files: Sequence[Path], note: str | None) -> None:
    """Add FILES (or folders, each one item with its whole tree) to the case as evidence items.

    Everything is hashed, stored read-only and recorded in the ledger.
    """
    from evidencekit.workflows import case as api

    added = api.add_files(session_of(ctx), list(files), note=note)

    def text() -> None:
        for item in added:
            if item.entry.action == "folder.added":
                size = sum(a.digests.size for a in item.entry.artefacts)
                say(f"{item.item_id}  {item.path}  {item.files} files, {size} bytes  (seq {item.entry.seq})")
            else:
                artefact = item.entry.artefacts[0]
                say(f"{item.item_id}  {item.path}  {artefact.digests.sha256_tagged}  (seq {item.entry.seq})")
            found = item.entry.details.get("indicators") or []
            if found:  # with the line each was first found on
                values = ", ".join(f"{shown(i.get('value'))} ({_where(i)})" for i in found[:6])
                more = f" and {len(found) - 6} more" if len(found) > 6 else ""
                say(f"    indicators: {values}{more}")

    emit(ctx, [a.to_dict() for a in added], text)
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
        say(f"note: {said} (recorded again)", err=True)


def _where(found: Mapping[str, Any]) -> str:
    """Where an added file's indicator was first found: ``line 3``, or ``chat.txt line 3`` in a folder."""
    line = f"line {found.get('line')}"
    return f"{shown(found['artefact'])} {line}" if found.get("artefact") else line


@cli.command()
@click.argument("text")
@click.option("--item", "item_id", help="The item the note is about.")
@timestamp_option
@case_option
@json_option
@click.pass_context
def note(ctx: click.Context, text: str, item_id: str | None) -> None:
    """Record a note in the custody ledger."""
    from evidencekit.workflows import case as api

    entry = api.add_note(session_of(ctx), text, item_id=item_id)
    emit(ctx, entry.to_dict(), lambda: say(f"Note recorded (seq {entry.seq})"))


# -- reading ---------------------------------------------------------------------------------------
@cli.command()
@case_option
@json_option
@click.pass_context
def items(ctx: click.Context) -> None:
    """List the evidence items of the case."""
    from evidencekit.workflows import case as api

    session = session_of(ctx)
    found = api.list_items(session)
    zone = _case_zone(session)

    def text() -> None:
        if not found:
            say("No items yet.")
        for s in found:
            say(f"{s.item_id:<14} {s.kind:<8} {s.status:<9} {beside_utc(s.created, zone)}  {s.label}")
            if s.status_said:
                say(f"{'':<14} {s.status} \N{EM DASH} {s.status_said}")

    emit(ctx, [s.to_dict() for s in found], text)


@cli.command()
@click.argument("item_id")
@click.option(
    "--save",
    nargs=2,
    metavar="NAME DIR",
    help="Write a read-only copy of artefact NAME (as listed by show) into folder DIR, under its own file name; "
    "the copy is checked against the ledger's digests.",
)
@case_option
@json_option
@click.pass_context
def show(ctx: click.Context, item_id: str, save: tuple[str, str] | None) -> None:
    """Show one item: its ledger entries, artefacts and where they are stored."""
    from evidencekit.ledger.entries import CaptureEnded, FileAdded, FolderAdded, given_note, one_line, parse
    from evidencekit.workflows import case as api

    session = session_of(ctx)
    if save:
        from evidencekit.workflows.save import save_artefact

        saved = save_artefact(session, item_id, save[0], Path(save[1]))
        emit(
            ctx,
            saved.to_dict(),
            lambda: say(
                f"saved {one_line(saved.artefact.name)} of {item_id} to {saved.path} "
                f"(read-only; {saved.artefact.digests.sha256_tagged})"
            ),
        )
        return
    detail = api.show_item(session, item_id)
    zone = _case_zone(session)

    def text() -> None:
        s = detail.summary
        status = f"{s.status} \N{EM DASH} {s.status_said}" if s.status_said else s.status
        say(f"{s.item_id}  {s.kind}  {status}  {one_line(s.label)}")
        for entry in detail.entries:
            say(_entry_line_in(entry, zone))
            parsed = parse(entry)
            given = given_note(parsed)
            if given:  # a note given when the item was recorded (add --note, capture --note)
                say(f"    note: {one_line(given)}")
            if isinstance(parsed, CaptureEnded) and parsed.error:
                say(f"    error: {one_line(parsed.error)}")
            if entry.action == "capture.started":  # a browser profile, a vantage (issue 16)
                from evidencekit.cli.profile import profile_lines

                for line in profile_lines(entry.details.get("options")):
                    say(f"    {one_line(line)}")
            found_at = _found_at(entry) if isinstance(parsed, FolderAdded) else {}
            for a in entry.artefacts:
                say(f"    {a.name}  {a.media_type}  {a.digests.size} bytes")
                if found_at.get(a.name, a.name) != a.name:
                    say(f"      found as {one_line(found_at[a.name])}")
                say(f"      {a.digests.sha256_tagged}")
                say(f"      {a.digests.blake3_tagged}")
                say(f"      stored at {detail.stored_paths[a.digests.blake3]}")
            gps = parsed.exif.get("gps") if isinstance(parsed, FileAdded) and parsed.exif else None
            if isinstance(gps, dict):
                say(f"    GPS {gps.get('latitude')}, {gps.get('longitude')}")
        say(detail.time_statement[:1].upper() + detail.time_statement[1:])

    emit(ctx, detail.to_dict(), text)


def _found_at(entry: LedgerEntry) -> dict[str, str]:
    """Where each file of a folder item stood in its tree; a path that was not UTF-8 byte for byte (``\\xff``)
    from the raw bytes the entry records, so that two such paths are never shown alike."""
    import base64
    import binascii

    found = {}
    for file in entry.details.get("files") or []:
        shown_path = str(file.get("relative_path"))
        with contextlib.suppress(binascii.Error, TypeError, ValueError):
            raw = (
                base64.b64decode(file["relative_path_bytes"], validate=True) if "relative_path_bytes" in file else None
            )
            shown_path = raw.decode("utf-8", errors="surrogateescape") if raw else shown_path
        found[str(file.get("artefact"))] = shown_path
    return found


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

    session = session_of(ctx)
    entries = api.read_log(session)
    zone = _case_zone(session)

    def text() -> None:
        for entry in entries:
            say(_entry_line_in(entry, zone))

    emit(ctx, [e.to_dict() for e in entries], text)


# -- ledger / checkpoint ---------------------------------------------------------------------------
@cli.group()
def ledger() -> None:
    """Check the custody ledger."""


@ledger.command("verify")
@click.option(
    "--key",
    "trusted_keys",
    multiple=True,
    metavar="KEY",
    help="A trusted investigator key: key id (16 hex) or public key file (.pem, .json); repeatable. Every "
    "checkpoint must be signed by one of them, or by a key one of them brought in (keys rotate, add-investigator).",
)
@click.option(
    "--tsa-roots",
    "tsa_roots",
    multiple=True,
    metavar="PEM",
    type=click.Path(path_type=Path),
    help="Trusted root certificate(s) of the Time-Stamping Authorities (a PEM file, one or a bundle); repeatable. "
    "Without them a token can be intact, but its TSA is not established.",
)
@case_option
@json_option
@click.pass_context
def ledger_verify(ctx: click.Context, trusted_keys: tuple[str, ...], tsa_roots: tuple[Path, ...]) -> None:
    """Recompute the whole ledger and every object it names; exit 3 on any problem."""
    from evidencekit.workflows.verify_case import load_tsa_roots, verify_case

    roots = load_tsa_roots(tsa_roots)
    report = verify_case(session_of(ctx), trusted_keys, roots)

    def heading() -> None:
        say(
            f"Case {report.case_id}: {report.entries} entries, {report.checkpoints} signed checkpoints, "
            f"{report.objects_checked} objects"
        )
        say(f"Merkle root {report.root}")
        if report.signers:
            say(
                f"Checkpoints signed by key(s) {', '.join(report.signers)}: compare with the investigator's "
                "published key id (`evidencekit keys show`)"
            )
        for verdict in report.timestamps:
            say(f"  {verdict.line()}")

    emit_verdict(ctx, report, heading, signer=report.signer if report.signer_established else None)


@cli.command()
@timestamp_option
@case_option
@json_option
@click.pass_context
def checkpoint(ctx: click.Context) -> None:
    """Sign the ledger's current tree head with your key and record it."""
    from evidencekit.workflows import case as api

    entry = api.checkpoint(session_of(ctx))
    emit(
        ctx,
        entry.to_dict(),
        lambda: say(
            f"Signed checkpoint of {entry.details['tree_size']} entries, root {entry.details['root']} (seq {entry.seq})"
        ),
    )


@cli.command("timestamp")
@case_option
@json_option
@click.pass_context
def timestamp(ctx: click.Context) -> None:
    """Ask the Time-Stamping Authorities again for the checkpoints still pending; exit 0 even when they are
    down (one line per TSA says what it gave)."""
    from evidencekit.workflows import case as api

    run = api.stamp_pending(session_of(ctx))

    def text() -> None:
        if not run.authorities and not run.pending:
            say("No Time-Stamping Authority configured; add one with `evidencekit tsa add URL`")
        for line in run.lines():
            say(line)

    emit(ctx, run.to_dict(), text)
