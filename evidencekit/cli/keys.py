"""Key commands: keys generate, keys show, keys rotate, keys add-investigator."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from evidencekit.cli.base import (
    case_option,
    cli,
    emit,
    json_option,
    require_text_options,
    say,
    session_of,
    timestamp_option,
)

if TYPE_CHECKING:
    pass


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

    require_text_options(ctx)
    passphrase = _new_passphrase() if protect else None
    key = generate_investigator_key(dict(os.environ), investigator, passphrase=passphrase)
    protected = " (protected by a passphrase)" if key.protected else ""
    emit(
        ctx,
        key.to_dict(),
        lambda: say(f"Generated key {key.public.key_id} for {key.investigator}{protected}"),
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
        say(f"Investigator: {key.investigator}")
        say(f"Key id:       {key.public.key_id}")
        say(f"Note name:    {key.public.note_name}")
        say(f"Kept in:      {key.directory}")
        say(f"Protected:    {'yes (passphrase)' if key.protected else 'no'}")
        for line in key.public.pem().splitlines():
            say(line)

    emit(ctx, key.to_dict(), text)


@keys.command("rotate")
@timestamp_option
@case_option
@json_option
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Replace your key in the case: your old key signs the new one (recorded as key.rotated).

    The new key takes the old one's place in your config folder (the old one is kept as retired-<key id>,
    protected by the same passphrase). In another case that holds your old key, run it again: it records
    the same rotation there, without making a new key.
    """
    from evidencekit.workflows.keys import rotate_key

    change = rotate_key(session_of(ctx))

    def text() -> None:
        if change.entry is None:
            say(f"Key {change.key.key_id} is now in use (its rotation was already recorded in this case)")
        else:
            say(
                f"Rotated key {change.introduced_by} to {change.key.key_id} for {change.investigator} "
                f"(seq {change.entry.seq}, key.rotated)"
            )

    emit(ctx, change.to_dict(), text)


@keys.command("add-investigator")
@click.argument("pubkey")
@click.option("--investigator", help="Whose key it is (read from a .json of `keys show --json` when not given).")
@timestamp_option
@case_option
@json_option
@click.pass_context
def keys_add_investigator(ctx: click.Context, pubkey: str, investigator: str | None) -> None:
    """Bring another investigator's public key (PUBKEY: a .json of `keys show --json`, or a .pem) into the case,
    signed by your registered key (recorded as investigator.added); they can then record and sign in it."""
    from evidencekit.workflows.keys import add_investigator

    change = add_investigator(session_of(ctx), pubkey, investigator)
    emit(
        ctx,
        change.to_dict(),
        lambda: say(
            f"Added investigator {change.investigator} with key {change.key.key_id} "
            f"(seq {change.entry.seq if change.entry else '?'}, investigator.added, "
            f"signed by key {change.introduced_by})"
        ),
    )
