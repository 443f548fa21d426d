"""The inputs around profiles (issue 16, second look): a URL that seems to carry a session id is captured as
given, with a warning that never repeats the value; an empty or unruly --vantage is refused in one line,
with or without a profile; which values of a storage state count as secrets."""

from __future__ import annotations

import json
from pathlib import Path

from casekit import make_case, run_subprocess

from evidencekit.capture.profilesecrets import MIN_SECRET_LENGTH, ProfileSecrets, secret_values, session_carriers


def test_which_state_values_are_secrets() -> None:
    state = {
        "cookies": [{"name": "s", "value": "SESS-1234abcd"}, {"name": "lang", "value": "en"}],
        "origins": [
            {
                "origin": "https://example.org",
                "localStorage": [
                    {"name": "theme", "value": "dark"},
                    {"name": "seen", "value": "accepted"},  # a lower-case word: a setting, not a secret
                    {"name": "home", "value": "https://example.org/home"},
                    {"name": "auth", "value": json.dumps({"token": "tok-9f8e7d6c5b", "n": 1})},
                ],
            }
        ],
    }
    found = secret_values(state)
    assert "SESS-1234abcd" in found and "tok-9f8e7d6c5b" in found
    assert not {"en", "dark", "accepted", "https://example.org/home"} & set(found)
    assert all(len(value) >= MIN_SECRET_LENGTH for value in found)


def test_session_carriers_are_named_never_their_values() -> None:
    said = session_carriers("https://vk.com/feed?sid=URLSID-1234&x=1;", ["LSTOKEN-dd44ee55"])
    assert said == ["sid"]
    said = session_carriers("https://a.example/p;jsessionid=ABC?q=LSTOKEN-dd44ee55", ["LSTOKEN-dd44ee55"])
    assert said == ["jsessionid", "a value of the profile's stored state"]
    assert session_carriers("https://a.example/ad/123?page=2", ["LSTOKEN-dd44ee55"]) == []


def test_a_session_id_in_a_url_is_kept_and_warned_of(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    url = "http://127.0.0.1:9/ad?PHPSESSID=ABCDEF0123456789"  # nothing listens on port 9: a quick failure
    result = run_subprocess(["--case", str(case), "capture", url, "--json", "--timeout", "5"], timeout=120)
    assert result.returncode == 1, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "evidencekit: warning: URL 1 carries PHPSESSID, which may be a session id or token; it is recorded as "
        "given, since the address asked for is part of the evidence"
    ]
    assert json.loads(result.stdout)[0]["url"] == url  # the requested URL is never rewritten


def test_an_empty_or_unruly_vantage_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"cookies": [], "origins": []}), encoding="utf-8")
    made = run_subprocess(["profile", "create", "plain", "--from-storage-state", str(state), "--vantage", "VPN NL"])
    assert made.returncode == 0, made.stderr
    case = make_case(tmp_path / "case")
    for args in (
        ["--profile", "plain", "--vantage", ""],
        ["--vantage", ""],
        ["--vantage", "office\x1b[31m red"],
        ["--vantage", "x" * 201],
    ):
        result = run_subprocess(["--case", str(case), "capture", *args, "http://127.0.0.1:9/"])
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "the vantage must be one non-empty line of at most 200 characters" in lines[0]


def test_a_refused_check_url_never_echoes_its_credentials() -> None:
    url = "http://agent:hunter2secret@127.0.0.1/"
    result = run_subprocess(["profile", "create", "y", "--check-url", url, "--check-selector", "a"])
    assert result.returncode == 2
    assert "hunter2secret" not in result.stderr and "agent" not in result.stderr
    assert "'http://***@127.0.0.1/'" in result.stderr


def test_removing_a_profile_warns_what_is_lost() -> None:
    assert run_subprocess(["profile", "create", "gone"]).returncode == 0
    result = run_subprocess(["profile", "remove", "gone"])
    assert result.returncode == 0 and "Removed profile gone" in result.stdout
    assert "can no longer have their account disclosed" in result.stderr


def test_values_are_found_across_quoted_printable_soft_breaks() -> None:
    value = "TOKEN-abc=def-1234567"  # with "=", which quoted-printable writes "=3D"
    secrets = ProfileSecrets([value], b"k" * 32)
    snapshot = "<p>TOKEN-abc=3Ddef-12=\r\n34567</p> and TOKEN-abc=def-1234567"
    out = secrets.mhtml(snapshot, "file page.mhtml")
    assert "TOKEN" not in out and out.count("[redacted by evidencekit, hmac-sha256:") == 2
    assert secrets.describe() is not None and secrets.data(b"nothing here", "x") == b"nothing here"
