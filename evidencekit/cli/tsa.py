"""TSA commands: tsa add, tsa list, tsa remove (the investigator's Time-Stamping Authorities)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from evidencekit.cli.base import cli, emit, json_option, require_text_options, say

QUALIFIED_CLAIM = "configured as qualified by the investigator"


@cli.group()
def tsa() -> None:
    """Manage your Time-Stamping Authorities (RFC 3161), kept beside your key in your config folder.

    Every signed checkpoint is sent to each of them; their tokens prove the case existed no later than
    their time. Nothing is asked while none is configured.
    """


@tsa.command("add")
@click.argument("url")
@click.option("--name", help="A short name for it (letters, digits, '.', '_', '-'; default: from the URL's host).")
@click.option(
    "--ca-file",
    type=click.Path(dir_okay=True, path_type=Path),
    help="PEM file with the root certificate its answers are checked against (default: the system CA bundle).",
)
@click.option(
    "--qualified",
    is_flag=True,
    help="Mark it as an eIDAS qualified TSA: your claim, shown as such in reports.",
)
@click.option(
    "--hash",
    "hash_algorithm",
    type=click.Choice(["sha256", "sha512"]),
    default="sha256",
    show_default=True,
    help="The digest its requests carry (sha512 only where the TSA accepts it).",
)
@json_option
@click.pass_context
def tsa_add(
    ctx: click.Context, url: str, name: str | None, ca_file: Path | None, qualified: bool, hash_algorithm: str
) -> None:
    """Add the Time-Stamping Authority at URL (http or https)."""
    from evidencekit.timestamps.config import add_authority

    require_text_options(ctx)
    authority = add_authority(
        dict(os.environ), url, name=name, ca_file=ca_file, qualified=qualified, hash_algorithm=hash_algorithm
    )

    def text() -> None:
        trust = f"its CA file (kept as {authority.ca_file})" if authority.ca_file else "the system CA bundle"
        claim = f"; {QUALIFIED_CLAIM}" if authority.qualified else ""
        say(f"Added TSA {authority.name} ({authority.url}), its answers checked against {trust}{claim}")

    emit(ctx, authority.to_dict(), text)


@tsa.command("list")
@json_option
@click.pass_context
def tsa_list(ctx: click.Context) -> None:
    """List your Time-Stamping Authorities."""
    from evidencekit.timestamps.config import load_authorities, tsa_dir

    authorities = load_authorities(dict(os.environ))

    def text() -> None:
        if not authorities:
            say("No TSA configured; `evidencekit tsa add URL` adds one (checkpoints are not independently timestamped)")
            return
        for authority in authorities:
            say(f"{authority.name}")
            say(f"  URL: {authority.url}")
            say(f"  CA:  {authority.ca_file if authority.ca_file else 'system CA bundle'}")
            say(f"  requests: {authority.hash_algorithm}")
            if authority.qualified:
                say(f"  {QUALIFIED_CLAIM}")

    emit(
        ctx,
        {"folder": str(tsa_dir(dict(os.environ))), "authorities": [a.to_dict() for a in authorities]},
        text,
    )


@tsa.command("remove")
@click.argument("name")
@json_option
@click.pass_context
def tsa_remove(ctx: click.Context, name: str) -> None:
    """Remove the Time-Stamping Authority NAME (what cases recorded of it stays as it is)."""
    from evidencekit.timestamps.config import remove_authority

    require_text_options(ctx)
    authority = remove_authority(dict(os.environ), name)
    emit(
        ctx,
        authority.to_dict(),
        lambda: say(f"Removed TSA {authority.name} ({authority.url}); what cases recorded of it stays"),
    )
