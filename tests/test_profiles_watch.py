"""Watches and recaptures of pages captured logged in (issue 16, second look): ``watch add --profile`` makes
each attempt with the profile, its logged-in check before each pass (a failed check is recorded and nothing is
captured for the watch in that pass); ``recapture`` uses the profile the item was made with, refuses in one
line when it no longer exists, and ``--no-profile`` is recorded. A members-only ad of the fixture site
(tests/fixture_site/loginroutes.py) answers a logged-out visitor "404 not found": an attempt made without the
series' profile must never count toward, or declare, its removal."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from fixture_site import FixtureSite
from fixture_site.loginroutes import MEMBER_MARK, SESSION_COOKIE, forget, grant
from watchkit import WatchCase, about, of_action

PASSPHRASE = "profile passphrase for the watch tests"


def _case_with_profile(site: FixtureSite, root: Path) -> tuple[WatchCase, str]:
    case = WatchCase.make(root)
    case.env["EVIDENCEKIT_PROFILE_PASSPHRASE"] = PASSPHRASE
    cookie = f"CK-{secrets.token_hex(16)}"
    grant(cookie)
    state = root / "state.json"
    jar = {"name": SESSION_COOKIE, "value": cookie, "domain": "127.0.0.1", "path": "/", "expires": -1}
    state.write_text(json.dumps({"cookies": [jar], "origins": []}), encoding="utf-8")
    check = ["--check-url", site.url("/login/members"), "--check-text", MEMBER_MARK]
    case.run_ok("profile", "create", "member", "--from-storage-state", str(state), *check, in_case=False)
    state.unlink()
    return case, cookie


def _profile_of(started: dict[str, Any]) -> Any:
    return started["details"]["options"].get("profile")


def test_recapture_uses_the_items_profile_and_never_counts_a_logged_out_answer(site: FixtureSite, tmp_path: Path):
    case, _cookie = _case_with_profile(site, tmp_path)
    url = site.url("/members/ad")
    first = json.loads(case.run_ok("capture", "--profile", "member", url, "--json").stdout)[0]
    assert first["status"] == "complete"
    again = json.loads(case.run_ok("recapture", first["item_id"], "--json").stdout)
    (started,) = about(case.entries(), again["item"], "capture.started")
    assert _profile_of(started)["name"] == "member" and _profile_of(started)["logged_in"] == "checked"
    assert again["status"] == "complete" and again["observation"]["availability"] == "online"
    shown = case.run_ok("show", again["item"]).stdout
    assert "made with profile member; logged-in check passed at " in shown

    # Without the profile, asked for explicitly: the logged-out visitor's 404 says nothing of the ad.
    logged_out = json.loads(
        case.run_ok("recapture", first["item_id"], "--no-profile", "--json", "--timeout", "20s").stdout
    )
    (started,) = about(case.entries(), logged_out["item"], "capture.started")
    assert _profile_of(started) is None and started["details"]["without_profile"] == "member"
    observed = logged_out["observation"]
    assert observed["answer"]["kind"] == "error", observed
    assert "made without a profile, and the series was captured with profile member" in observed["answer"]["why"]
    assert observed["availability"] == "unavailable" and "removal" not in observed

    # The profile removed: a recapture refuses in one line, and records nothing.
    before = len(case.entries())
    case.run_ok("profile", "remove", "member", in_case=False)
    refused = case.run("recapture", first["item_id"])
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"evidencekit: error: {first['item_id']} was made with profile member, which no longer exists; "
        "name another with --profile NAME, or capture without one with --no-profile"
    ]
    assert len(case.entries()) == before
    case.verify()


def test_a_watch_with_a_profile_checks_before_each_pass(site: FixtureSite, tmp_path: Path):
    case, cookie = _case_with_profile(site, tmp_path)
    url, plain_url = site.url("/members/ad"), site.url("/members/ad?copy=1")
    added = json.loads(case.run_ok("watch", "add", url, "--profile", "member", "--json").stdout)
    assert added[0]["profile"] == "member"
    (entry,) = of_action(case.entries(), "watch.added")
    assert entry["details"]["profile"] == "member"
    missing = case.run("watch", "add", plain_url, "--profile", "nobody")
    assert missing.returncode == 2 and "no profile named 'nobody'" in missing.stderr

    report = case.watch_run("--now")
    (seen,) = report["captured"]
    (started,) = about(case.entries(), seen["item"], "capture.started")
    assert _profile_of(started)["name"] == "member" and seen["observation"]["availability"] == "online"

    # The session ends: the check fails before the pass captures anything for the watch; the note records it.
    forget(cookie)
    try:
        done = case.run("watch", "run", "--now", "--json")
    finally:
        grant(cookie)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["captured"] == []
    assert "not captured in this pass: profile member is no longer logged in to 127.0.0.1" in done.stderr
    entries = case.entries()
    assert len(of_action(entries, "capture.started")) == 1
    note = of_action(entries, "note.added")[-1]
    assert note["details"]["profile_check"]["passed"] is False
    case.verify()


def test_a_watch_without_the_series_profile_never_declares_removal(site: FixtureSite, tmp_path: Path):
    case, _cookie = _case_with_profile(site, tmp_path)
    url = site.url("/members/ad")
    case.run_ok("capture", "--profile", "member", url)
    case.run_ok("watch", "add", url, "--removal-attempts", "1", "--removal-span", "0")
    for _ in range(2):
        report = case.watch_run("--now", "--timeout", "20s")
        for seen in report["captured"]:
            observed = seen["observation"]
            assert observed["answer"]["kind"] == "error" and observed["availability"] == "unavailable", observed
    observations = of_action(case.entries(), "observation.recorded")
    assert observations and not [o for o in observations if o["details"]["availability"] == "removed"]
    timeline = case.run_ok("timeline", url).stdout
    assert "removed" not in timeline.replace("removal not confirmed", "")
