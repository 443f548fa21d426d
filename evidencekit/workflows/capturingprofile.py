"""What a capture run records of a browser profile (``capture --profile``) and a vantage, kept beside
``workflows.capturing``: the profile as a capture uses it, its digest keyed with the case's salt, the
``capture.started`` options naming it, and the case note recorded when its logged-in check fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from evidencekit.capture import CaptureOptions
from evidencekit.capture.logincheck import ProfileLoggedOut
from evidencekit.capture.options import CaptureProfile
from evidencekit.models import EntryDraft
from evidencekit.profiles import check_digest, load_profile, state_digest
from evidencekit.workflows.opencase import OpenCase, publish_checkpoints, seal


def capture_profile(environ: Mapping[str, str], name: str) -> tuple[CaptureProfile, str | None]:
    """The profile ``name`` as a capture uses it (its state decrypted, in memory), and its vantage."""
    profile = load_profile(environ, name)
    assert profile.state is not None
    check = profile.check
    captured = CaptureProfile(
        name=profile.name,
        state=profile.state,
        check_url=check.url if check else None,
        check_selector=check.selector if check else None,
        check_text=check.text if check else None,
        account_commitment=profile.account_commitment(),
    )
    return captured, profile.vantage


def with_state_digest(options: CaptureOptions, salt: bytes) -> CaptureOptions:
    """``options`` with the profile's state digest and its check's digest keyed with the case's ``salt``
    (unchanged without a profile)."""
    profile = options.profile
    if profile is None:
        return options
    check = profile.check()
    recorded = check_digest(salt, check) if check is not None else None
    return replace(options, profile=replace(profile, digest=state_digest(salt, profile.state), check_digest=recorded))


def with_check_passed(summary: dict[str, Any], checked_at: str) -> dict[str, Any]:
    """The ``capture.started`` options once the profile's logged-in check has passed (at ``checked_at``)."""
    if not isinstance(summary.get("profile"), dict):
        return summary
    return {**summary, "profile": {**summary["profile"], "logged_in": "checked", "checked_at": checked_at}}


def profile_summary(options: CaptureOptions) -> dict[str, Any]:
    """What ``capture.started`` records of a profile and a vantage: the profile's name, its state's digest
    (keyed with the case's salt), whether its logged-in check passed ("not checked" until the batch's check
    has passed: see ``with_check_passed``), the check only as a digest, and the account only as the profile's
    commitment to it (the ledger ships verbatim in bundles; see ``evidencekit.profiles``). Nothing when
    neither is set, so that entries of captures without them stay as they were."""
    summary: dict[str, Any] = {}
    profile = options.profile
    if profile is not None:
        summary["profile"] = {
            "name": profile.name,
            "digest": profile.digest,
            **profile.logged_in(),
            "check": profile.check_record(),
            "account": profile.account_commitment,
        }
    if options.vantage is not None:
        summary["vantage"] = options.vantage
    return summary


def record_check_failed(failed: ProfileLoggedOut, count: int, case: OpenCase) -> None:
    """A case note (``note.added``, subject null) that the profile's logged-in check failed and the batch
    was not captured: what was tried is part of the record, even when nothing was captured."""
    # The check URL only by its host: it may name the account (a profile page); its digest is in ``check``.
    text = (
        f"capture stopped before it began: profile {failed.profile} failed its logged-in check at "
        f"{failed.host} ({failed.detail}); none of the {count} URL{'' if count == 1 else 's'} was captured"
    )
    details = {
        "text": text,
        "profile_check": {
            "profile": failed.profile,
            "host": failed.host,
            "check": failed.check,
            "passed": False,
            "detail": failed.detail,
        },
    }
    with case.ledger.transaction() as txn:
        txn.append(EntryDraft("note.added", case.actor, None, details=details))
        seal(case, txn)
    publish_checkpoints(case, txn)
