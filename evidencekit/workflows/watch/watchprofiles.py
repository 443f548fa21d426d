"""Watches and recaptures with a browser profile (issue 16): a watch added with ``--profile NAME`` makes each
attempt with that profile, its logged-in check first (a failed check is recorded and nothing is captured for
the watch in that pass); ``recapture ITEM`` uses the profile ITEM was made with, if it still exists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from evidencekit.capture import CaptureOptions
from evidencekit.errors import UsageError
from evidencekit.profiles import load_profile
from evidencekit.workflows.capturingprofile import capture_profile
from evidencekit.workflows.opencase import Session
from evidencekit.workflows.watch.registry import Watch


def with_profile(session: Session, options: CaptureOptions, name: str | None) -> CaptureOptions:
    """``options`` with the profile ``name`` (its state in memory) and, unless the options name one, its
    vantage; ``options`` unchanged for None."""
    if name is None:
        return options
    profile, vantage = capture_profile(session.environ, name)
    return replace(options, profile=profile, vantage=options.vantage or vantage)


def check_profile_exists(environ: Mapping[str, str], name: str) -> None:
    """A UsageError unless the profile ``name`` exists (its state is not read: no passphrase needed)."""
    load_profile(environ, name, with_state=False)


def recapture_profile(
    session: Session, item: str, made_with: str | None, asked: str | None, no_profile: bool
) -> tuple[str | None, str | None]:
    """The profile a recapture of ``item`` (made with profile ``made_with``) uses, and the name to record as
    ``without_profile`` when it does not use ``made_with``. ``asked``: ``--profile``; ``no_profile``:
    ``--no-profile``, the investigator's explicit choice to capture without it."""
    if asked is not None and no_profile:
        raise UsageError("use either --profile or --no-profile, not both")
    if no_profile:
        return None, made_with
    if asked is not None:
        return asked, made_with if made_with is not None and made_with != asked else None
    if made_with is None:
        return None, None
    try:
        check_profile_exists(session.environ, made_with)
    except UsageError:
        raise UsageError(
            f"{item} was made with profile {made_with}, which no longer exists; name another with --profile NAME, "
            "or capture without one with --no-profile"
        ) from None
    return made_with, None


def by_profile(due: Sequence[Watch]) -> dict[str | None, list[Watch]]:
    """The due watches grouped by the profile they are captured with (None: none), in their order."""
    groups: dict[str | None, list[Watch]] = {}
    for watch in due:
        groups.setdefault(watch.settings.profile, []).append(watch)
    return groups
