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
from evidencekit.profiles import load_profile


def disclosed_accounts(environ: Mapping[str, str], items: Sequence[ExportItem]) -> dict[str, dict[str, Any]]:
    """item id -> {"account": name | None, "key": hex | None, "commitment": ...} for each capture made with a
    profile that named an account; ``account`` None when the profile cannot vouch for it any more."""
    found: dict[str, dict[str, Any]] = {}
    for item in items:
        started = item.entries[0]
        options = started.details.get("options") if started.action == "capture.started" else None
        profile = options.get("profile") if isinstance(options, dict) else None
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
        found[item.item_id] = disclosed
    return found
