"""Profiles at rest (evidencekit.profiles), without a browser: sealed and plain storage, passphrases from the
profile's or the key's variables, names, and the digests a case records."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest

from evidencekit.errors import OperationalError, UsageError
from evidencekit.profiles import (
    LoginCheck,
    create_profile,
    list_profiles,
    load_profile,
    remove_profile,
    save_state,
    state_digest,
)

SECRET = "cookie-value-9f2c1d77e0a4b6"
STATE = {"cookies": [{"name": "sid", "value": SECRET, "domain": "127.0.0.1", "path": "/"}], "origins": []}


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), **more}


def _folder(tmp_path: Path, name: str) -> Path:
    return tmp_path / "config" / "evidencekit" / "profiles" / name


def test_sealed_with_the_profile_passphrase_round_trips(tmp_path: Path) -> None:
    env = _env(tmp_path, EVIDENCEKIT_PROFILE_PASSPHRASE="pp-one")
    made = create_profile(env, "vk", state=STATE, account="Olga", check=LoginCheck("https://vk.example/feed", "#me"))
    assert made.encrypted
    sealed = (_folder(tmp_path, "vk") / "state.enc").read_bytes()
    assert SECRET.encode() not in sealed and b"sid" not in sealed
    assert stat.S_IMODE((_folder(tmp_path, "vk") / "state.enc").stat().st_mode) == 0o600
    assert load_profile(env, "vk").state == STATE
    with pytest.raises(UsageError, match=r"^wrong passphrase for profile vk"):
        load_profile({**env, "EVIDENCEKIT_PROFILE_PASSPHRASE": "pp-two"}, "vk")
    with pytest.raises(UsageError, match="profile vk is encrypted; set EVIDENCEKIT_PROFILE_PASSPHRASE"):
        load_profile(_env(tmp_path), "vk")
    # Moved into another profile's folder, the state does not open: the name is authenticated with it.
    create_profile(env, "other")
    (_folder(tmp_path, "other") / "state.enc").write_bytes(sealed)
    with pytest.raises(UsageError, match="wrong passphrase for profile other"):
        load_profile(env, "other")


def test_the_key_passphrase_seals_too_and_a_file_must_be_private(tmp_path: Path) -> None:
    secret_file = tmp_path / "pass"
    secret_file.write_text("from a file\n")
    secret_file.chmod(0o644)
    env = _env(tmp_path, EVIDENCEKIT_PROFILE_PASSPHRASE_FILE=str(secret_file))
    with pytest.raises(UsageError, match="open to other users"):
        create_profile(env, "fb", state=STATE)
    secret_file.chmod(0o600)
    assert create_profile(env, "fb", state=STATE).encrypted
    by_key = _env(tmp_path, EVIDENCEKIT_KEY_PASSPHRASE="from a file")  # the same passphrase, the key's variable
    assert load_profile(by_key, "fb").state == STATE


def test_without_a_passphrase_the_state_is_plain_and_replaceable(tmp_path: Path) -> None:
    env = _env(tmp_path)
    made = create_profile(env, "plain", vantage="VPN exit NL")
    assert not made.encrypted and load_profile(env, "plain").state == {"cookies": [], "origins": []}
    save_state(env, "plain", STATE)
    assert json.loads((_folder(tmp_path, "plain") / "state.json").read_text()) == STATE
    assert stat.S_IMODE(_folder(tmp_path, "plain").stat().st_mode) == 0o700
    listed = [p.listing() for p in list_profiles(env)]
    assert listed[0]["name"] == "plain" and SECRET not in json.dumps(listed) and "account_key" not in listed[0]
    remove_profile(env, "plain")
    assert list_profiles(env) == [] and not _folder(tmp_path, "plain").exists()


def test_names_checks_and_damage_are_refused(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for bad in ("", "../x", ".hidden", "a/b", "x" * 65, "sp ace"):
        with pytest.raises(UsageError, match="profile name"):
            create_profile(env, bad)
    with pytest.raises(UsageError, match="exactly one of"):
        LoginCheck("https://x.example/", "#a", "text")
    with pytest.raises(UsageError, match="without user info"):
        LoginCheck("https://user:pw@x.example/", "#a")
    with pytest.raises(UsageError, match="not a Playwright storage state"):
        create_profile(env, "bad", state={"cookies": "no"})
    assert not _folder(tmp_path, "bad").exists()  # nothing half-made is left
    create_profile(env, "hurt")
    (_folder(tmp_path, "hurt") / "profile.json").write_text("{")
    with pytest.raises(OperationalError, match="the profile 'hurt' is damaged"):
        load_profile(env, "hurt")


def test_the_digests_a_case_records(tmp_path: Path) -> None:
    salt_a, salt_b = b"a" * 32, b"b" * 32
    assert state_digest(salt_a, STATE) == state_digest(salt_a, json.loads(json.dumps(STATE)))
    assert state_digest(salt_a, STATE) != state_digest(salt_b, STATE)
    made = create_profile(_env(tmp_path), "acct", account="Jane")
    expected = hmac.new(made.account_key, b"Jane", hashlib.sha256).hexdigest()
    assert made.account_commitment() == f"hmac-sha256:{expected}"
    assert create_profile(_env(tmp_path), "noacct").account_commitment() is None
