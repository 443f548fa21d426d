"""Profile commands: profile create, profile login, profile list, profile remove."""

from __future__ import annotations

import os
from pathlib import Path

import click

from evidencekit.cli.base import browser_option, cli, emit, json_option, say, shown
from evidencekit.errors import OperationalError, UsageError


@cli.group()
def profile() -> None:
    """Browser profiles for logged-in capture (kept outside cases, in your config folder; encrypted when
    $EVIDENCEKIT_PROFILE_PASSPHRASE or the key passphrase is set)."""


@profile.command("create")
@click.argument("name")
@click.option(
    "--from-storage-state",
    "storage_state",
    type=click.Path(path_type=Path),
    help="A Playwright storage-state file (cookies, local storage) to start the profile with.",
)
@click.option("--account", help="The account's display name (in bundles only with export --disclose-accounts).")
@click.option("--check-url", help="A page that shows whether the profile is still logged in.")
@click.option("--check-selector", help="A CSS selector only a logged-in visitor sees on --check-url.")
@click.option("--check-text", help="Text only a logged-in visitor sees on --check-url.")
@click.option("--vantage", help="Where captures with this profile are made from, e.g. 'VPN exit NL'.")
@json_option
@click.pass_context
def profile_create(
    ctx: click.Context,
    name: str,
    storage_state: Path | None,
    account: str | None,
    check_url: str | None,
    check_selector: str | None,
    check_text: str | None,
    vantage: str | None,
) -> None:
    """Make the profile NAME (refuses to replace one)."""
    from evidencekit.profiles import LoginCheck, check_name, create_profile, read_state_file

    check_name(name)
    if (check_selector or check_text) and not check_url:
        raise UsageError("--check-selector and --check-text need --check-url")
    check = LoginCheck(check_url, check_selector, check_text) if check_url else None
    state = read_state_file(storage_state) if storage_state else None
    environ = dict(os.environ)
    made = create_profile(environ, name, state=state, account=account, check=check, vantage=vantage)

    def text() -> None:
        say(f"Created profile {made.name}" + (" (encrypted)" if made.encrypted else ""))

    emit(ctx, made.listing(), text)
    if not made.encrypted:
        say(
            f"warning: profile {made.name} is stored unencrypted (its cookies are readable by anyone who can read "
            "your config folder); set EVIDENCEKIT_PROFILE_PASSPHRASE or the key passphrase to encrypt profiles",
            err=True,
        )


@profile.command("login")
@click.argument("name")
@click.argument("url")
@browser_option
@json_option
@click.pass_context
def profile_login(ctx: click.Context, name: str, url: str, browser_path: Path | None) -> None:
    """Open a visible Chromium at URL with the profile NAME to log in by hand; the browser state is saved
    into the profile when you close the window."""
    from evidencekit.capture import check_url
    from evidencekit.capture.logincheck import login_by_hand
    from evidencekit.profiles import load_profile, save_state

    environ = dict(os.environ)
    profile_now = load_profile(environ, name)
    check_url(url)
    if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        raise OperationalError(
            "profile login opens a visible browser and needs a display ($DISPLAY is not set); run it on a "
            "desktop, or make the profile with `profile create --from-storage-state`"
        )
    assert profile_now.state is not None
    state = login_by_hand(profile_now.state, url, browser_path)
    save_state(environ, name, state)
    emit(ctx, {"name": name, "saved": True}, lambda: say(f"Saved the browser state into profile {name}"))


@profile.command("list")
@json_option
@click.pass_context
def profile_list(ctx: click.Context) -> None:
    """List the profiles: their settings, never their cookies."""
    from evidencekit.profiles import list_profiles

    found = list_profiles(dict(os.environ))

    def text() -> None:
        if not found:
            say("No profiles yet; `evidencekit profile create NAME` makes one.")
        for made in found:
            check = made.check
            parts = [
                f"account: {shown(made.account) if made.account else 'not named'}",
                f"check: {shown(check.url) if check else 'none'}",
                *([f"vantage: {shown(made.vantage)}"] if made.vantage else []),
                "encrypted" if made.encrypted else "NOT encrypted",
            ]
            say(f"{made.name}  " + "; ".join(parts))

    emit(ctx, [made.listing() for made in found], text)


@profile.command("remove")
@click.argument("name")
@json_option
@click.pass_context
def profile_remove(ctx: click.Context, name: str) -> None:
    """Delete the profile NAME and its stored browser state."""
    from evidencekit.profiles import remove_profile

    remove_profile(dict(os.environ), name)
    # Its account key goes with it: what the ledger committed to can no longer be disclosed (a profile made
    # again under this name has a new key), and recaptures of its items need --profile or --no-profile.
    say(
        f"warning: captures made with profile {name} can no longer have their account disclosed "
        "(export --disclose-accounts), and recapturing them needs --profile or --no-profile",
        err=True,
    )
    emit(ctx, {"name": name, "removed": True}, lambda: say(f"Removed profile {name}"))


def profile_lines(options: object) -> list[str]:
    """What ``capture.started`` records of a browser profile and a vantage, in words (never the account)."""
    if not isinstance(options, dict):
        return []
    lines = []
    profile = options.get("profile")
    if isinstance(profile, dict):
        state = profile.get("logged_in")
        if state == "checked":
            said = f"logged-in check passed at {profile.get('checked_at')}"
        elif state is True:
            said = "logged-in check passed before the batch"
        else:
            said = "logged-in state not checked"
        lines.append(f"made with profile {profile.get('name')}; {said}")
    if isinstance(options.get("vantage"), str):
        lines.append(f"vantage (as stated, not checked): {options['vantage']}")
    return lines
