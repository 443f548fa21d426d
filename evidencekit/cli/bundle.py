"""Bundle commands: export, verify."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evidencekit.cli.base import case_option, cli, emit, emit_verdict, json_option, say, session_of, timestamp_option

if TYPE_CHECKING:
    from evidencekit.workflows.exportseries import SeriesSelection


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
@click.option(
    "--exhibit-prefix",
    metavar="TEXT",
    help="Exhibit numbers are TEXT + the item's place in the case (default: CASEID-EX): at most 40 letters, "
    "digits, '.', '_' or '-'.",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Paper size of the exhibit PDFs.",
)
@click.option(
    "--include-across",
    "include_across",
    multiple=True,
    metavar="CASE_DIR",
    type=click.Path(path_type=Path, file_okay=False),
    help="Another case folder (repeatable), read read-only: its items linked to the exported ones are named in "
    "the recorded links, the link picture and their exhibits (recorded as include_across).",
)
@click.option(
    "--no-series",
    "no_series",
    is_flag=True,
    help="Export only the items named, not the other captures of their watched URL's series (by default an item "
    "of a series brings its whole history); the bundle and `verify` then say it holds an excerpt of the series.",
)
@click.option(
    "--disclose-accounts",
    is_flag=True,
    help="Name, in the report, the account each logged-in capture was made as (from the profile, checked "
    "against the ledger's commitment); without it the bundle carries only the profile's name and digest.",
)
@timestamp_option
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
    exhibit_prefix: str | None,
    paper: str,
    include_across: tuple[Path, ...],
    no_series: bool,
    disclose_accounts: bool,
) -> None:
    """Write an evidence bundle (BagIt bag, zip or folder) to OUT for a prosecutor."""
    from evidencekit.ledger.entries import summary
    from evidencekit.workflows import export as api_export

    outcome = api_export.export_bundle(
        session_of(ctx),
        out,
        items=items,
        everything=everything,
        as_dir=as_dir,
        recipient=recipient,
        purpose=purpose,
        full_ledger=full_ledger,
        pdf=not no_pdf,
        browser=browser,
        exhibit_prefix=exhibit_prefix,
        paper=paper,
        include_across=include_across,
        whole_series=not no_series,
        disclose_accounts=disclose_accounts,
    )

    def text() -> None:
        say(f"Exported {len(outcome.items)} item(s) to {outcome.result.path}")
        say(f"  files: {outcome.result.files}, Payload-Oxum {outcome.result.bag.payload_oxum}")
        say(f"  tag manifest sha256:{outcome.result.bag.tag_manifest_sha256}")
        if outcome.exhibits:
            paths = list(outcome.exhibits.values())
            names = ", ".join(path.rsplit("/", 1)[-1] for path in paths)
            say(f"  exhibits: {len(paths)} PDF(s) in {paths[0].rsplit('/', 1)[0]}/: {names}")
        if not outcome.report_pdf:
            say(
                "  report.pdf left out (--no-pdf), and the exhibit PDFs with it, as bag-info.txt, VERIFY.txt "
                "and the report say"
            )
        _say_series(outcome.series)
        if outcome.analysis_entry is not None:
            say(f"  links: {summary(outcome.analysis_entry)} (seq {outcome.analysis_entry.seq}, analysis.recorded)")
        say(f"  recorded as seq {outcome.export_entry.seq} (export.created)")
        if outcome.transfer_entry is not None:
            say(
                f"  custody transferred to {outcome.transfer_entry.details['recipient']} "
                f"(seq {outcome.transfer_entry.seq})"
            )

    emit(ctx, outcome.to_dict(), text)


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
@click.option(
    "--tsa-roots",
    "tsa_roots",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PEM",
    help="Root certificates of the Time-Stamping Authorities you trust (PEM, obtained from each TSA out of "
    "band); repeatable. Without them each timestamp is shown intact, its TSA not established.",
)
@json_option
@click.pass_context
def verify(ctx: click.Context, bundle: Path, trusted_keys: tuple[str, ...], tsa_roots: tuple[Path, ...]) -> None:
    """Verify an evidence bundle (zip or folder) offline; exit 3 if anything fails."""
    from evidencekit.workflows import verify_bundle as api_verify  # no case code, no browser: fast to start anywhere

    report = api_verify.verify_bundle_at(bundle, trusted_keys, tsa_roots)

    def heading() -> None:
        say(f"Bundle {report.source}")
        facts = report.facts
        say(
            f"  items: {', '.join(facts.get('items', [])) or '-'}; payload files: {facts.get('payload_files')}, "
            f"{facts.get('payload_bytes')} bytes; ledger lines: {facts.get('ledger_entries')}"
        )
        if "checkpoint" in facts:
            cp = facts["checkpoint"]
            say(f"  signed checkpoint: tree size {cp['tree_size']}, root {cp['root']}")
        if "signer" in facts:
            named = f"{facts['signer']['investigator']} (key {facts['signer']['key_id']})"
            if report.signer_established:
                say(f"  signed by {named}")
            else:  # the name comes from the bundle itself: whoever re-signs a bundle can write any name
                say(f"  the bundle names its signer as {named}; not established without --key")
        signers = ", ".join(facts.get("checkpoint", {}).get("signed_by", [])) or "(none)"
        if not trusted_keys:
            say(
                f"  key {signers}: compare it with the investigator's published key id (e.g. from "
                "`evidencekit keys show`), obtained out of band, or check with --key"
            )
        _say_time(facts.get("timestamps", {}))

    signer = report.facts.get("signer", {})
    established = f"{signer.get('investigator') or 'an unnamed investigator'} ({signer.get('key_id')})"
    emit_verdict(ctx, report, heading, signer=established if report.signer_established else None)


def _say_series(selection: SeriesSelection | None) -> None:
    """The items brought in for their series, or the series the bundle holds only in part (--no-series)."""
    if selection is None:
        return
    by_series: dict[str, list[str]] = {}
    for item, key in selection.added.items():
        by_series.setdefault(key, []).append(item)
    for key, added in by_series.items():
        say(f"  added for their series ({key}): {', '.join(added)}")
    for key, left in selection.left_out.items():
        say(f"  excerpt of the series {key} (--no-series): left out {', '.join(left)}")


def _say_time(time: dict[str, Any]) -> None:
    """Each timestamp the bundle carries and each item's independent time, as ``check.timestamps`` found them."""
    if "statement" in time:
        say(f"  independent time: {time['statement']}")
    for token in time.get("tokens", []):
        when = f"genTime {token['gen_time']}" if token.get("gen_time") else "no genTime read"
        claim = " (configured as qualified by the investigator)" if token.get("qualified_as_claimed") else ""
        say(
            f"  timestamp from {token['tsa']}{claim} for the checkpoint of seq {token['checkpoint_seq']}: {when}: "
            f"{token.get('status', '')} ({token['file']})"
        )
    for item, said in sorted(time.get("items", {}).items()):
        say(f"  item {item}: {said['statement']}")
    for unanswered in time.get("not_stamped_at_export", []):
        say(f"  not stamped at export by {unanswered.get('tsa')}: {unanswered.get('reason')}")
