"""What the certificate drafts say of captures made with a browser profile and from a stated vantage (issue
16): facts only. The browser carried a stored browser state of the investigator's (a profile, by name); the
profile's logged-in check passed at a recorded time before the batch, or nothing checked it; the vantage is
as the investigator stated it, not checked. Never the account (the report discloses it only on request)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def logged_in_parts(captures: Sequence[Mapping[str, Any]]) -> list[str]:
    """One list line per profile and one for the vantages, or nothing when no capture used either."""
    parts = []
    by_profile: dict[str, list[Mapping[str, Any]]] = {}
    for item in captures:
        profile = item.get("profile")
        if isinstance(profile, Mapping):
            by_profile.setdefault(str(profile.get("name")), []).append(item)
    for name, items in by_profile.items():
        ids = ", ".join(str(i.get("item_id")) for i in items)
        checks = []
        for item in items:
            profile = item.get("profile")
            assert isinstance(profile, Mapping)
            if profile.get("logged_in") == "checked":
                checks.append(f"for {item.get('item_id')} it passed at {profile.get('checked_at')} (UTC)")
            elif profile.get("logged_in") is True and profile.get("check_url"):
                checks.append(f"for {item.get('item_id')} it passed before the batch (time not recorded)")
            else:
                checks.append(f"for {item.get('item_id')} it was not checked (the profile names no check)")
        parts.append(
            f"   - Browser profile: {ids} {'was' if len(items) == 1 else 'were'} captured with the browser "
            f"profile {name}, a stored browser state (cookies and site storage) of the investigator's, so that "
            "the site could treat the visit as that of a logged-in account; the account is not named here. "
            f"Whether the session was logged in was checked by the profile's logged-in check before the batch: "
            f"{'; '.join(checks)}."
        )
    vantages = [(i.get("item_id"), i.get("vantage")) for i in captures if isinstance(i.get("vantage"), str)]
    if vantages:
        said = "; ".join(f"{item}: {vantage}" for item, vantage in vantages)
        parts.append(f"   - Vantage, as stated by the investigator and not checked by the software: {said}.")
    return parts
