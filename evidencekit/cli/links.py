"""Search and link commands: search, reindex, links, similar. Each only reads the case (and the ``--across``
cases); the one thing written is the derived search index, which is not evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evidencekit.cli.base import case_option, cli, emit, json_option, say, session_of
from evidencekit.cli.case import _case_zone
from evidencekit.timefmt import beside_utc

_ACROSS_HELP = "Another case folder to link with, opened read-only (its index goes to your cache folder); repeatable."


def _across_option(func: Any) -> Any:
    return click.option(
        "--across",
        "across",
        multiple=True,
        metavar="CASE_DIR",
        type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
        help=_ACROSS_HELP,
    )(func)


@cli.command()
@click.argument("text")
@click.option(
    "--limit", default=200, show_default=True, type=click.IntRange(1, 100_000), help="At most this many hits."
)
@case_option
@json_option
@click.pass_context
def search(ctx: click.Context, text: str, limit: int) -> None:
    """Search the case's captured pages' text, titles, notes, indicators and added files' lines."""
    from evidencekit.workflows import links as api

    session = session_of(ctx)
    hits = api.search(session, text, limit=limit)
    zone = _case_zone(session)

    def show() -> None:
        if not hits:
            say(f"No match for {text!r}.")
        for found in hits:
            hit = found.hit
            where = hit.artefact or hit.source
            line = f":{hit.line}" if hit.line is not None else ""
            when = f"  (recorded {beside_utc(found.created, zone)})" if found.created else ""
            say(f"{hit.item}  {where}{line}  [{hit.source}]{when}")
            say(f"    {hit.snippet}")
        if len(hits) >= limit:
            say(f"(first {limit} hits shown; --limit shows more)")

    emit(ctx, [h.to_dict() for h in hits], show)


@cli.command()
@case_option
@json_option
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Build the derived search index again from the ledger and the stored files (it is not evidence)."""
    from evidencekit.workflows import links as api

    done = api.reindex(session_of(ctx))
    emit(
        ctx,
        done.to_dict(),
        lambda: say(
            f"Index rebuilt from {done.entries} ledger entries: {done.texts} text rows, {done.photos} photos, "
            f"{done.indicators} indicators ({done.path})"
        ),
    )


def _exhibit_option(func: Any) -> Any:
    return click.option(
        "--exhibit",
        "exhibit_dir",
        type=click.Path(file_okay=False, dir_okay=True, path_type=Path),
        help="Write an exhibit PNG of each photo match (the two photos, matched points joined) into this folder.",
    )(func)


@cli.command()
@_across_option
@click.option("--all", "include_all", is_flag=True, help="Also link by the sites' own furniture and by plain URLs.")
@_exhibit_option
@case_option
@json_option
@click.pass_context
def links(ctx: click.Context, across: tuple[Path, ...], include_all: bool, exhibit_dir: Path | None) -> None:
    """Groups of items joined by shared specific indicators and confirmed photo matches, strongest first."""
    from evidencekit.workflows import links as api

    report = api.links(session_of(ctx), across, include_all=include_all, exhibit_dir=exhibit_dir)

    def show() -> None:
        groups = report["groups"]
        if not groups:
            say("No links found.")
        for number, group in enumerate(groups, start=1):
            say(f"Group {number}: {', '.join(group['items'])}  ({group['strength']} link(s))")
            for link in group["links"]:
                _say_link(link)
        others = [c["case_id"] for c in report["cases"] if not c["local"]]
        if others:
            say(
                f"Across: {', '.join(others)} (read-only; not placed in a bundle unless exported with --include-across)"
            )

    emit(ctx, report, show)


def _say_link(link: dict[str, Any]) -> None:
    if link["type"] == "indicator":
        indicator = link["indicator"]
        say(f"  {indicator['kind']} {indicator['value']}")
        for found in link["found"]:
            line = f" (line {found['line']})" if "line" in found else ""
            say(f"    {found['item']}: as {found['raw']!r}{line}")
    else:
        first, second = link["photos"]
        say(f"  photo: {link['words']}")
        say(f"    {first['item']} {first['artefact']}  ~  {second['item']} {second['artefact']}")
        if "exhibit" in link:
            say(f"    exhibit: {link['exhibit']}")


@cli.command()
@click.argument("target")
@_across_option
@_exhibit_option
@case_option
@json_option
@click.pass_context
def similar(ctx: click.Context, target: str, across: tuple[Path, ...], exhibit_dir: Path | None) -> None:
    """Photos matching an item's photos, or a loose image FILE, in the case (and the --across cases)."""
    from evidencekit.workflows import links as api

    found = api.similar(session_of(ctx), target, across, exhibit_dir=exhibit_dir)

    def show() -> None:
        if not found.photos:
            say(f"{target} has no photo that can be compared (too small, an icon, or not a raster image).")
            return
        if not found.matches:
            say(f"No matching photo found for {target}.")
        for match in found.matches:
            mine, other = match["photos"]
            say(f"{mine['artefact']}  ~  {other['item']} {other['artefact']}: {match['words']}")
        for path in found.exhibits:
            say(f"exhibit: {path}")

    emit(ctx, found.to_dict(), show)
