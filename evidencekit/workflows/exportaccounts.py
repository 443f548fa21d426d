"""Which account each exported capture was made logged in as, for ``export --disclose-accounts``.

The ledger records a profile's account only as a commitment (see ``evidencekit.profiles``), since its lines
ship verbatim in every bundle. Disclosing is the investigator's decision at export: the name comes from the
profile in their config folder, and only when that profile still commits to the same name (same key, same
name) is it disclosed, with the key, so that a recipient can recompute the commitment from the bundle's own
ledger lines. A profile removed or changed since the capture discloses nothing: "not known" beats a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evidencekit.bundle.export import ExportItem
from evidencekit.errors import EvidenceKitError
from evidencekit.profiles import check_digest, load_profile


def disclosed_accounts(
    environ: Mapping[str, str], items: Sequence[ExportItem], salt: bytes | None = None
) -> dict[str, dict[str, Any]]:
    """item id -> {"account": name | None, "key": hex | None, "commitment": ...} for each capture made with a
    profile that named an account; ``account`` None when the profile cannot vouch for it any more. With the
    case's ``salt``, also ``check``: the logged-in check verbatim, where the profile's check still has the
    digest the capture recorded (see ``disclosed_check``)."""
    found: dict[str, dict[str, Any]] = {}
    for item in items:
        started = item.entries[0]
        options = started.details.get("options") if started.action == "capture.started" else None
        profile = options.get("profile") if isinstance(options, dict) else None
        check = disclosed_check(environ, profile, salt)
        if check is not None:
            found.setdefault(item.item_id, {"commitment": None, "account": None, "key": None})["check"] = check
        if not isinstance(profile, dict) or not isinstance(profile.get("account"), str):
            continue
        commitment, name = profile["account"], str(profile.get("name"))
        disclosed: dict[str, Any] = {"commitment": commitment, "account": None, "key": None}
        try:
            held = load_profile(environ, name, with_state=False)
        except EvidenceKitError:
            held = None
        if held is not None and held.account is not None and held.account_commitment() == commitment:
            disclosed.update(account=held.account, key=held.account_key.hex())
        found[item.item_id] = {**found.get(item.item_id, {}), **disclosed}
    return found


def disclosed_check(environ: Mapping[str, str], profile: Any, salt: bytes | None) -> dict[str, str] | None:
    """The logged-in check a capture recorded only as a digest, verbatim from the profile in the config
    folder, when that profile's check has the recorded digest (keyed with the case's ``salt``); else None."""
    check = profile.get("check") if isinstance(profile, dict) else None
    if salt is None or not isinstance(check, dict) or not isinstance(check.get("digest"), str):
        return None
    try:
        held = load_profile(environ, str(profile.get("name")), with_state=False)
    except EvidenceKitError:
        return None
    if held.check is None or check_digest(salt, held.check.to_dict()) != check["digest"]:
        return None
    return held.check.to_dict()
