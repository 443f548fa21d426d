"""A browser profile's secrets, redacted by value (issue 16, second look): the members' app of the fixture
site (tests/fixture_site/loginroutes.py) sends the profile's localStorage tokens in a header of its own, a
query string and a JSON body, writes one into the page, and echoes the session cookie in a hidden field. None
of those values may be anywhere in the case or its bundle; each replacement is recorded. The capture records
whether the profile's logged-in check passed, and when, never "logged in" as a bare claim; the check's URL
and selector are in the records only as digests."""

from __future__ import annotations

import io
import json
import secrets
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_cli, run_subprocess
from fixture_site import FixtureSite
from fixture_site.loginroutes import MEMBER_MARK, SESSION_COOKIE, forget, grant
from test_secrets import _assert_nowhere, _everything
from warcio.archiveiterator import ArchiveIterator

PASSPHRASE = "profile passphrase for the secrets tests"


@dataclass
class Captured:
    root: Path
    case: Path
    secrets: list[str]
    check_url: str
    capture: dict[str, Any]
    output: str
    entries: list[dict[str, Any]]
    metadata: dict[str, Any]
    bundle: Path
    unchecked: dict[str, Any]


def _state(site: FixtureSite, cookie: str, api_token: str, xauth: str) -> dict[str, Any]:
    return {
        "cookies": [
            {
                "name": SESSION_COOKIE,
                "value": cookie,
                "domain": "127.0.0.1",
                "path": "/",
                "expires": -1,
                "httpOnly": True,
                "secure": False,
                "sameSite": "Lax",
            }
        ],
        "origins": [
            {
                "origin": site.url("/").rstrip("/"),
                "localStorage": [
                    {"name": "api_token", "value": api_token},
                    {"name": "xauth", "value": xauth},
                    {"name": "theme", "value": "dark"},  # too short to be a secret: left alone
                ],
            }
        ],
    }


def _ledger(case: Path) -> list[dict[str, Any]]:
    result = run_cli(["--case", str(case), "log", "--json"])
    assert result.exit_code == 0, result.output
    entries: list[dict[str, Any]] = json.loads(result.stdout)
    return entries


@pytest.fixture(scope="module")
def captured(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    root = tmp_path_factory.mktemp("profile-secrets")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(root / "config"))
        patch.setenv("EVIDENCEKIT_PROFILE_PASSPHRASE", PASSPHRASE)
        patch.delenv("EVIDENCEKIT_CASE", raising=False)
        cookie, api_token, xauth = (f"{tag}-{secrets.token_hex(12)}" for tag in ("CK", "LS", "XA"))
        grant(cookie)
        state = root / "state.json"
        state.write_text(json.dumps(_state(site, cookie, api_token, xauth)), encoding="utf-8")
        check_url = site.url("/login/members")
        for name, check in (("app", ["--check-url", check_url, "--check-text", MEMBER_MARK]), ("nocheck", [])):
            made = run_subprocess(["profile", "create", name, "--from-storage-state", str(state), *check])
            assert made.returncode == 0, made.stderr
        state.unlink()
        case = make_case(root / "case")
        url = site.url("/members/app")
        result = run_subprocess(["--case", str(case), "capture", "--profile", "app", url, "--json"], timeout=240)
        assert result.returncode == 0, result.stderr
        capture = json.loads(result.stdout)[0]
        forget(cookie)  # the session ends: a profile without a check is sent to the login form
        try:
            later = run_subprocess(["--case", str(case), "capture", "--profile", "nocheck", url, "--json"], timeout=240)
        finally:
            grant(cookie)
        assert later.returncode in (0, 1), later.stderr
        unchecked = json.loads(later.stdout)[0]
        bundle = root / "out" / "bundle.zip"
        bundle.parent.mkdir()
        exported = run_subprocess(["--case", str(case), "export", str(bundle), "--all"], timeout=400)
        assert exported.returncode == 0, exported.stderr
        with zipfile.ZipFile(bundle) as archive:
            name = next(n for n in archive.namelist() if n.endswith(f"{capture['item_id']}/metadata.json"))
            metadata = json.loads(archive.read(name))
        yield Captured(
            root,
            case,
            [cookie, api_token, xauth],
            check_url,
            capture,
            result.stdout + result.stderr + later.stdout + later.stderr + exported.stdout + exported.stderr,
            _ledger(case),
            metadata,
            bundle,
            unchecked,
        )


def _report(bundle: Path) -> str:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith("report/index.html"))).decode()


def test_no_profile_value_is_anywhere_in_the_case_or_the_bundle(captured: Captured) -> None:
    assert captured.capture["status"] == "complete", captured.capture["reasons"]
    assert _assert_nowhere(captured.case, captured.secrets) > 10
    assert _assert_nowhere(captured.bundle.parent, captured.secrets) > 10
    for secret in captured.secrets:
        assert secret not in captured.output


def test_a_pop_up_of_the_page_is_redacted_as_its_opener_is(captured: Captured) -> None:
    """The app opens a pop-up window of itself, captured as an item of its own: its requests carry the same
    secrets (the whole case is searched above); here, that it was captured and that its redactions are recorded."""
    popups = [e for e in captured.entries if e["action"] == "capture.started" and e["details"].get("opened_by")]
    assert [e["details"]["opened_by"] for e in popups] == [captured.capture["item_id"]]
    popup_item = popups[0]["subject"]
    completed = next(e for e in captured.entries if e["action"] == "capture.completed" and e["subject"] == popup_item)
    digest = completed["details"]["metadata"].split(":", 1)[1]
    metadata = json.loads((captured.case / "objects" / digest[:2] / digest).read_bytes())
    places = {place["where"] for place in metadata["profile_redactions"]["places"]}
    assert {"warc request headers", "warc target url", "file dom.html"} <= places, places


def test_a_pop_ups_address_is_redacted_where_the_page_put_a_secret_in_it(captured: Captured) -> None:
    """The app opens its pop-up at an address carrying its localStorage token: the page chose that address,
    so the ledger (signed, shipped in every bundle) names it with the token replaced by its digest."""
    popup = next(e for e in captured.entries if e["action"] == "capture.started" and e["details"].get("opened_by"))
    url = popup["details"]["url"]
    assert url.startswith(captured.check_url.replace("/login/members", "/members/app-popup?t=redacted-hmac-sha256-"))
    ended = next(e for e in captured.entries if e["action"] == "capture.completed" and e["subject"] == popup["subject"])
    assert ended["details"]["url"] == url
    (opened,) = captured.metadata["popups"]
    assert opened["opened_url"] == url


def test_the_apps_video_is_kept_under_the_redacted_address_in_the_metadata_and_the_warc(captured: Captured) -> None:
    """The app's <video> is asked for with the localStorage token in its query: the file is kept as served,
    and its WARC records and metadata item name it by the same redacted URL."""
    (item,) = captured.metadata["media"]["items"]
    assert item["outcome"] == "kept", item
    assert "/login/clip.mp4?token=redacted-hmac-sha256-" in item["url"]
    with zipfile.ZipFile(captured.bundle) as archive:
        warc = next(n for n in archive.namelist() if n.endswith(f"{captured.capture['item_id']}/capture.warc.gz"))
        records = list(ArchiveIterator(io.BytesIO(archive.read(warc))))
        kept = next(n for n in archive.namelist() if n.endswith(f"{captured.capture['item_id']}/{item['artefact']}"))
        served = archive.read(kept)
    resources = {r.rec_headers.get_header("WARC-Target-URI"): r for r in records if r.rec_type == "resource"}
    assert set(resources) == {item.get("final_url") or item["url"]}
    assert served[4:8] == b"ftyp"  # the media bytes themselves are as served
    places = {place["where"] for place in captured.metadata["profile_redactions"]["places"]}
    assert {"warc media asked url", "metadata media url"} <= places, places


def test_the_page_still_did_what_it_does(captured: Captured) -> None:
    warcs = [data for _n, data in _everything(captured.case / "objects") if data.startswith(b"WARC/1.1")]
    joined = b"\n".join(warcs)
    # The requests the page made are kept, the values in them replaced by the keyed-digest note.
    assert b"X-Auth-Token: [redacted by evidencekit, hmac-sha256:" in joined
    assert b"/login/api?access_token=redacted-hmac-sha256-" in joined
    assert b'{"token":"[redacted by evidencekit, hmac-sha256:' in joined
    assert b"X-EvidenceKit-Redacted:" in joined and b"the body is not as served" in joined
    # The cookie the page echoed in a hidden field: redacted in the served document, the DOM and the MHTML.
    echoed = [data for _n, data in _everything(captured.case / "objects") if b'name="csrf"' in data]
    assert len(echoed) >= 3
    for data in echoed:
        assert b'name="csrf" value="[redacted by evidencekit, hmac-sha256:' in data


def test_each_replacement_is_recorded(captured: Captured) -> None:
    redactions = captured.metadata["profile_redactions"]
    assert redactions["min_length"] == 8 and "not byte for byte as the server sent it" in redactions["note"]
    places = {place["where"] for place in redactions["places"]}
    for where in (
        "warc request headers",
        "warc target url",
        "warc request body",
        "warc response body",
        "file dom.html",
        "file text.txt",
    ):
        assert where in places, places
    digests = {d for place in redactions["places"] for d in place["digests"]}
    assert len(digests) == 3  # the cookie and both tokens, each always the same digest


def _started(captured: Captured, item: str) -> dict[str, Any]:
    return next(e for e in captured.entries if e["action"] == "capture.started" and e["subject"] == item)


def test_the_records_say_what_is_known_of_the_session(captured: Captured) -> None:
    checked = _started(captured, captured.capture["item_id"])["details"]["options"]["profile"]
    assert checked["logged_in"] == "checked" and checked["checked_at"].endswith("Z")
    assert checked["check"]["kind"] == "text" and checked["check"]["host"] == "127.0.0.1"
    settings = captured.metadata["settings"]["profile"]
    assert settings["logged_in"] == "checked" and settings["checked_at"] == checked["checked_at"]
    assert settings["check"] == checked["check"]
    # The check's URL and text are kept out of the records: a check text is often the account's own name.
    ledger = json.dumps(captured.entries)
    assert "/login/members" not in ledger and MEMBER_MARK not in ledger
    unchecked = _started(captured, captured.unchecked["item_id"])["details"]["options"]["profile"]
    assert unchecked["logged_in"] == "not checked" and "checked_at" not in unchecked and unchecked["check"] is None
    # Sent to the login form: the walls code marks the capture blocked, and the report says so with the profile.
    assert captured.unchecked["status"] == "blocked", captured.unchecked
    report = _report(captured.bundle)
    assert "made with profile app" in report and "a logged-in check (not disclosed) at 127.0.0.1 passed at" in report
    assert f"passed at {checked['checked_at']}" in report
    assert "made with profile nocheck" in report
    assert "whether the session was still logged in was not checked" in report
    assert "the site showed a login wall instead of the content, so this capture is blocked" in report
    assert "made logged in" not in report


def test_exhibits_and_certificate_drafts_say_how_the_capture_was_made(captured: Captured, tmp_path: Path) -> None:
    with zipfile.ZipFile(captured.bundle) as archive:
        names = archive.namelist()
        drafts = [archive.read(n).decode() for n in names if n.endswith(("DRAFT.txt",))]
        exhibit = next(n for n in names if n.endswith("-EX1.pdf") and "/exhibits/" in n)
        (tmp_path / "ex.pdf").write_bytes(archive.read(exhibit))
    assert len(drafts) == 2
    item = captured.capture["item_id"]
    checked_at = captured.metadata["settings"]["profile"]["checked_at"]
    for draft in drafts:
        flat = " ".join(draft.split())
        assert "captured with the browser profile app" in flat
        assert f"for {item} it passed at {checked_at} (UTC)" in flat
        assert "it was not checked (the profile names no check)" in flat
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "ex.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert "made with profile app" in flat and "a logged-in check (not disclosed)" in flat
