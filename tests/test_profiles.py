"""Logged-in capture with browser profiles (issue 16): a profile made from a storage state captures the
members' page of the fixture site (tests/fixture_site/loginroutes.py) behind its login; the session cookie's
value, a long random string made here, appears nowhere in the case folder or the exported bundles (every byte,
inside zips, WACZ and gzip members); the profile is encrypted at rest; an expired session stops the batch at
the logged-in check, recorded, with nothing captured; the account's name reaches a bundle only with
``export --disclose-accounts``."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_cli, run_subprocess
from fixture_site import FixtureSite
from fixture_site.loginroutes import MEMBER_MARK, MEMBER_TEXT, SESSION_COOKIE, forget, grant
from test_secrets import _assert_nowhere, _everything, _warc_digests

ACCOUNT = "Jane Undercover 7731"
VANTAGE = "VPN exit NL"
PASSPHRASE = "profile passphrase for the tests"


@dataclass
class LoggedIn:
    root: Path
    case: Path
    secret: str
    url: str
    capture: dict[str, Any]
    capture_output: str
    started: dict[str, Any]
    metadata: dict[str, Any]
    plain_bundle: Path
    disclosed_bundle: Path
    export_output: str


def _ledger(case: Path) -> list[dict[str, Any]]:
    result = run_cli(["--case", str(case), "log", "--json"])
    assert result.exit_code == 0, result.output
    entries: list[dict[str, Any]] = json.loads(result.stdout)
    return entries


def _state_file(folder: Path, secret: str) -> Path:
    cookie = {
        "name": SESSION_COOKIE,
        "value": secret,
        "domain": "127.0.0.1",
        "path": "/",
        "expires": -1,
        "httpOnly": True,
        "secure": False,
        "sameSite": "Lax",
    }
    path = folder / "state.json"
    path.write_text(json.dumps({"cookies": [cookie], "origins": []}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def logged_in(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedIn]:
    """One profile, one capture behind the login, and its case exported twice: plain, and disclosing accounts."""
    root = tmp_path_factory.mktemp("profiles")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(root / "config"))
        patch.setenv("EVIDENCEKIT_PROFILE_PASSPHRASE", PASSPHRASE)
        patch.delenv("EVIDENCEKIT_CASE", raising=False)
        secret = secrets.token_urlsafe(48)
        grant(secret)
        state = _state_file(root, secret)
        url = site.url("/login/members")
        made = run_subprocess(
            [
                "profile",
                "create",
                "member",
                "--from-storage-state",
                str(state),
                "--account",
                ACCOUNT,
                "--check-url",
                url,
                "--check-selector",
                "#member-area",
                "--vantage",
                VANTAGE,
            ]
        )
        assert made.returncode == 0, made.stderr
        state.unlink()  # the test's own copy of the secret: only the profile holds it now
        case = make_case(root / "case")
        captured = run_subprocess(["--case", str(case), "capture", "--profile", "member", url, "--json"], timeout=240)
        assert captured.returncode == 0, captured.stderr
        capture = json.loads(captured.stdout)[0]
        entries = _ledger(case)
        started = next(e for e in entries if e["action"] == "capture.started")
        (root / "plain").mkdir()
        plain = root / "plain" / "bundle.zip"
        exported = run_subprocess(["--case", str(case), "export", str(plain), "--all"], timeout=400)
        assert exported.returncode == 0, exported.stderr
        disclosed_folder = root / "disclosed"
        disclosed_folder.mkdir()
        disclosed = disclosed_folder / "bundle"
        shown = run_subprocess(
            ["--case", str(case), "export", str(disclosed), "--all", "--dir", "--no-pdf", "--disclose-accounts"],
            timeout=400,
        )
        assert shown.returncode == 0, shown.stderr
        metadata = _capture_metadata(plain, capture["item_id"])
        made_here = LoggedIn(
            root,
            case,
            secret,
            url,
            capture,
            captured.stdout + captured.stderr,
            started,
            metadata,
            plain,
            disclosed,
            exported.stdout + exported.stderr + shown.stdout + shown.stderr,
        )
    yield made_here  # outside the patch: the other tests of this module set their own environment


def _capture_metadata(bundle: Path, item: str) -> dict[str, Any]:
    with zipfile.ZipFile(bundle) as archive:
        name = next(n for n in archive.namelist() if n.endswith(f"data/items/{item}/metadata.json"))
        found: dict[str, Any] = json.loads(archive.read(name))
        return found


def _text_of(bundle: Path, suffix: str) -> str:
    if bundle.is_dir():
        return next(p for p in bundle.rglob("*") if str(p).endswith(suffix)).read_text(encoding="utf-8")
    with zipfile.ZipFile(bundle) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith(suffix))).decode("utf-8")


def test_capture_behind_the_login_shows_the_members_page(logged_in: LoggedIn) -> None:
    capture = logged_in.capture
    assert capture["status"] == "complete", capture["reasons"]
    assert capture["final_url"] == logged_in.url  # not sent away to the login form
    with zipfile.ZipFile(logged_in.plain_bundle) as archive:
        text = archive.read(
            next(n for n in archive.namelist() if n.endswith(f"{capture['item_id']}/text.txt"))
        ).decode()
    assert MEMBER_MARK in text and MEMBER_TEXT in text


def test_what_the_ledger_and_metadata_record_of_the_profile(logged_in: LoggedIn) -> None:
    options = logged_in.started["details"]["options"]
    profile = options["profile"]
    assert profile["name"] == "member" and profile["logged_in"] == "checked"
    assert profile["checked_at"].endswith("Z") and profile["check"]["kind"] == "selector"
    assert profile["check"]["host"] == "127.0.0.1" and profile["check"]["digest"].startswith("hmac-sha256:")
    assert profile["digest"].startswith("hmac-sha256:") and len(profile["digest"]) == 12 + 64
    # The account only as the profile's commitment: the ledger ships verbatim in every bundle.
    assert profile["account"].startswith("hmac-sha256:") and ACCOUNT not in json.dumps(logged_in.started)
    assert options["vantage"] == VANTAGE
    settings = logged_in.metadata["settings"]
    assert settings["profile"] == {
        "name": "member",
        "digest": profile["digest"],
        "logged_in": "checked",
        "checked_at": profile["checked_at"],
        "check": profile["check"],  # never the check's URL or selector verbatim: they may name the account
    }
    assert "#member-area" not in json.dumps(logged_in.started) + json.dumps(logged_in.metadata["settings"])
    assert settings["vantage"] == VANTAGE and settings["storage_state"] is None


def test_the_secret_is_nowhere_and_its_redaction_is_recorded(logged_in: LoggedIn) -> None:
    assert _assert_nowhere(logged_in.case, [logged_in.secret]) > 10
    assert _assert_nowhere(logged_in.plain_bundle.parent, [logged_in.secret]) > 10
    assert _assert_nowhere(logged_in.disclosed_bundle, [logged_in.secret]) > 10
    assert logged_in.secret not in logged_in.capture_output + logged_in.export_output
    # The Cookie headers the page and its photo sent are in the WARC, each value as a keyed digest.
    digests = _warc_digests(logged_in.case, b"Cookie")
    assert digests and all(len(found) == 1 for found in digests if found)
    assert any(found for found in digests)
    warcs = [data for name, data in _everything(logged_in.case / "objects") if data.startswith(b"WARC/1.1")]
    assert any(f"{SESSION_COOKIE}=[redacted by evidencekit, hmac-sha256:".encode() in w for w in warcs)


def test_the_account_name_reaches_a_bundle_only_when_disclosed(logged_in: LoggedIn) -> None:
    plain = [data for _name, data in _everything(logged_in.plain_bundle.parent)]
    assert not any(ACCOUNT.encode() in data for data in plain)
    report = _text_of(logged_in.plain_bundle, "report/index.html")
    assert "profile member" in report and "not disclosed" in report and VANTAGE in report
    assert "a logged-in check (not disclosed) at 127.0.0.1 passed at" in report and "before the batch" in report
    assert "Vantage (as stated by the investigator, not checked)" in report

    assert "#member-area" not in report  # the check, like the account, only when disclosed
    disclosed = _text_of(logged_in.disclosed_bundle, "report/index.html")
    assert ACCOUNT in disclosed and "profile member" in disclosed
    assert (
        "its logged-in check (<bdi>selector #member-area</bdi> at" in disclosed and "disclosed at export" in disclosed
    )
    # The disclosed name and key reproduce the commitment the bundle's own ledger lines carry.
    key = disclosed.split('data-account-key="', 1)[1].split('"', 1)[0]
    commitment = "hmac-sha256:" + hmac.new(bytes.fromhex(key), ACCOUNT.encode(), hashlib.sha256).hexdigest()
    assert commitment == logged_in.started["details"]["options"]["profile"]["account"]
    ledger = _text_of(logged_in.disclosed_bundle, "ledger.jsonl")
    assert commitment in ledger and ACCOUNT not in ledger


def test_the_bundles_verify(logged_in: LoggedIn) -> None:
    for bundle in (logged_in.plain_bundle, logged_in.disclosed_bundle):
        result = run_subprocess(["verify", str(bundle), "--json"], timeout=240)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_profile_is_encrypted_at_rest(logged_in: LoggedIn) -> None:
    folder = logged_in.root / "config" / "evidencekit" / "profiles" / "member"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["profile.json", "state.enc"]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert logged_in.secret.encode() not in path.read_bytes()


def test_profile_list_shows_no_secret(logged_in: LoggedIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(logged_in.root / "config"))
    listed = run_subprocess(["profile", "list"])
    as_json = run_subprocess(["profile", "list", "--json"])
    assert listed.returncode == 0 and as_json.returncode == 0
    assert "member" in listed.stdout and "encrypted" in listed.stdout
    assert [p["name"] for p in json.loads(as_json.stdout)] == ["member"]
    for output in (listed.stdout, as_json.stdout):
        assert logged_in.secret not in output and "account_key" not in output


def test_a_wrong_passphrase_is_one_line(logged_in: LoggedIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(logged_in.root / "config"))
    monkeypatch.setenv("EVIDENCEKIT_PROFILE_PASSPHRASE", "not the passphrase")
    result = run_subprocess(["--case", str(logged_in.case), "capture", "--profile", "member", logged_in.url])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "evidencekit: error: wrong passphrase for profile member (or its state file is damaged)"
    ]


def test_an_expired_session_stops_the_batch_at_the_check(logged_in: LoggedIn, site: FixtureSite) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(logged_in.root / "config"))
        patch.setenv("EVIDENCEKIT_PROFILE_PASSPHRASE", PASSPHRASE)
        case = make_case(logged_in.root / "expired-case")
        forget(logged_in.secret)  # the site forgets the session, as it does when one expires
        try:
            result = run_subprocess(
                ["--case", str(case), "capture", "--profile", "member", logged_in.url, site.url("/index.html")],
                timeout=240,
            )
        finally:
            grant(logged_in.secret)
        entries = _ledger(case)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "evidencekit: error: profile member is no longer logged in to 127.0.0.1; run `evidencekit profile login member`"
    ]
    assert not [e for e in entries if e["action"].startswith("capture.")]
    note = next(e for e in entries if e["action"] == "note.added")
    assert note["subject"] is None
    check = note["details"]["profile_check"]
    assert (check["profile"], check["host"], check["passed"]) == ("member", "127.0.0.1", False)
    assert check["check"]["kind"] == "selector" and check["check"]["digest"].startswith("hmac-sha256:")
    # Why, in the note a report repeats (it once read "(None)"), never the selector or the check URL verbatim.
    form = logged_in.url.replace("/login/members", "/login/form")
    why = f"the check's selector not found (HTTP 200; the page ended at {form})"
    assert check["detail"] == why
    assert note["details"]["text"] == (
        f"capture stopped before it began: profile member failed its logged-in check at 127.0.0.1 ({why}); "
        "none of the 2 URLs was captured"
    )
    assert "#member-area" not in json.dumps(note) and "/login/members" not in json.dumps(note)
    assert not list((case / "objects").rglob("*.warc*"))


def test_bad_names_and_missing_profiles_are_one_line_errors(tmp_path: Path) -> None:
    state = _state_file(tmp_path, "x" * 40)
    cases = [
        (["profile", "create", "../evil"], 2, "profile name '../evil' must be"),
        (["profile", "create", "ok", "--check-selector", "#a"], 2, "--check-selector and --check-text need"),
        (["profile", "remove", "nobody"], 2, "no profile named 'nobody'"),
        (["capture", "--profile", "nobody", "http://127.0.0.1:9/"], 2, "no profile named 'nobody'"),
        (["profile", "login", "nobody", "http://127.0.0.1:9/"], 2, "no profile named 'nobody'"),
    ]
    case = make_case(tmp_path / "case")
    for args, code, words in cases:
        result = run_subprocess(["--case", str(case), *args])
        assert result.returncode == code, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, lines)
    made = run_subprocess(["profile", "create", "plain", "--from-storage-state", str(state)])
    assert made.returncode == 0
    assert "stored unencrypted" in made.stderr  # no passphrase set: a warning at creation
    again = run_subprocess(["profile", "create", "plain"])
    assert again.returncode == 2 and "already exists" in again.stderr


def test_profile_login_needs_a_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_subprocess(["profile", "create", "headed"]).returncode == 0
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = run_subprocess(["profile", "login", "headed", "http://127.0.0.1:9/"])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a display ($DISPLAY is not set)" in lines[0]
    assert os.environ.get("DISPLAY") is None
