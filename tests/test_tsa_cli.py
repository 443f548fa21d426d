"""The investigator's TSAs: ``evidencekit tsa add/list/remove`` as real processes, and the configuration
library under them (``evidencekit.timestamps.config``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from casekit import run_subprocess
from tsakit import Pki, TsaServer, openssl

from evidencekit.errors import UsageError
from evidencekit.keys import keys_dir
from evidencekit.timefmt import utc_now
from evidencekit.timestamps.client import ask
from evidencekit.timestamps.config import (
    Authority,
    add_authority,
    anchors,
    load_authorities,
    remove_authority,
    system_anchors,
    tsa_dir,
)

QUALIFIED = "configured as qualified by the investigator"


def folder() -> Path:
    return tsa_dir(os.environ)


def snapshot() -> dict[str, bytes]:
    """Every file of the TSA configuration, by name (to show a refused command changed nothing)."""
    where = folder()
    return {p.name: p.read_bytes() for p in sorted(where.iterdir())} if where.exists() else {}


def test_add_list_remove_round_trip(tsa_pki: Pki) -> None:
    empty = run_subprocess(["tsa", "list"])
    assert empty.returncode == 0 and empty.stdout.startswith("No TSA configured")

    added = run_subprocess(["tsa", "add", "http://127.0.0.1:8318/tsr", "--name", "local-test",
                            "--ca-file", str(tsa_pki.root_pem), "--qualified"])  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "Added TSA local-test (http://127.0.0.1:8318/tsr)" in added.stdout and QUALIFIED in added.stdout
    public = run_subprocess(["tsa", "add", "https://tsa.example.org/rfc3161"])
    assert public.returncode == 0, public.stderr
    assert "Added TSA tsa.example.org" in public.stdout and "the system CA bundle" in public.stdout

    listed = run_subprocess(["tsa", "list"])
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == [
        "local-test",
        "  URL: http://127.0.0.1:8318/tsr",
        f"  CA:  {folder() / 'local-test.pem'}",
        "  requests: sha256",
        f"  {QUALIFIED}",
        "tsa.example.org",
        "  URL: https://tsa.example.org/rfc3161",
        "  CA:  system CA bundle",
        "  requests: sha256",
    ]
    as_json = run_subprocess(["tsa", "list", "--json"])
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["authorities"] == [
        {"name": "local-test", "url": "http://127.0.0.1:8318/tsr", "qualified": True,
         "ca_file": str(folder() / "local-test.pem"), "trust": "CA file", "hash_algorithm": "sha256"},
        {"name": "tsa.example.org", "url": "https://tsa.example.org/rfc3161", "qualified": False, "ca_file": None,
         "trust": "system CA bundle", "hash_algorithm": "sha256"},
    ]  # fmt: skip
    assert (folder() / "local-test.pem").read_bytes() == tsa_pki.root_pem.read_bytes()

    removed = run_subprocess(["tsa", "remove", "local-test"])
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith("Removed TSA local-test (http://127.0.0.1:8318/tsr)")
    assert not (folder() / "local-test.pem").exists()
    assert [a.name for a in load_authorities(os.environ)] == ["tsa.example.org"]
    assert run_subprocess(["tsa", "remove", "tsa.example.org"]).returncode == 0
    assert load_authorities(os.environ) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "ftp://tsa.example.org/"], "'ftp://tsa.example.org/' is not an http:// or https:// URL"),
        (["add", "tsa.example.org"], "'tsa.example.org' is not an http:// or https:// URL"),
        (["add", "http:///no-host"], "is not an http:// or https:// URL"),
        (["add", "http://127.0.0.1:99999/"], "is not a valid URL"),
        (["add", "https://user:secret@tsa.example.org/"], "must not hold a user name or password"),
        (["add", "http://other.example/", "--name", "in use"], "TSA name 'in use' is not allowed"),
        (["add", "http://other.example/", "--name", "../up"], "TSA name '../up' is not allowed"),
        (["add", "http://other.example/", "--name", "first"], "a TSA named 'first' is already configured"),
        (["add", "http://other.example/", "--name", "FIRST"], "a TSA named 'FIRST' is already configured"),
        (["add", "http://first.example/tsr"], "the TSA http://first.example/tsr is already configured as 'first'"),
        (["add", "http://other.example/", "--ca-file", "/no/such/root.pem"], "no such file: /no/such/root.pem"),
        (["add", "http://other.example/", "--ca-file", "NOCERT"], "holds no PEM certificate"),
        (["add", "http://other.example/", "--ca-file", "FOLDER"], "is a folder, not a regular file"),
        (["remove", "second"], "no TSA named 'second' is configured (configured: first)"),
    ],
)
def test_a_refused_command_says_why_in_one_line_and_changes_nothing(
    tsa_pki: Pki, tmp_path: Path, args: list[str], message: str
) -> None:
    add_authority(os.environ, "http://first.example/tsr", name="first", ca_file=tsa_pki.root_pem)
    (tmp_path / "nocert.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a certificate\n", encoding="ascii")
    args = [str(tmp_path / "nocert.pem") if a == "NOCERT" else str(tmp_path) if a == "FOLDER" else a for a in args]
    before = snapshot()
    refused = run_subprocess(["tsa", *args])
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert len(refused.stderr.splitlines()) == 1, refused.stderr
    assert refused.stderr.startswith("evidencekit: error: ") and message in refused.stderr, refused.stderr
    assert snapshot() == before


def test_removing_from_an_empty_configuration_is_refused() -> None:
    refused = run_subprocess(["tsa", "remove", "anything"])
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "evidencekit: error: no TSA named 'anything' is configured (none is; `evidencekit tsa add URL` adds one)"
    )
    assert not folder().exists()


def test_default_names_come_from_the_host_and_stay_unique() -> None:
    first = add_authority(os.environ, "https://TSA.Example.org/a")
    second = add_authority(os.environ, "https://tsa.example.org/b")
    third = add_authority(os.environ, "http://127.0.0.1:8080/tsa")
    fourth = add_authority(os.environ, "https://tsa.example.org/c")
    assert [first.name, second.name, third.name, fourth.name] == [
        "tsa.example.org",
        "tsa.example.org-2",
        "127.0.0.1-8080",
        "tsa.example.org-3",
    ]
    assert [a.name for a in load_authorities(os.environ)] == [a.name for a in (first, second, third, fourth)]


def test_only_the_certificates_of_a_ca_file_are_kept(tsa_pki: Pki, tmp_path: Path) -> None:
    """A CA file that also holds a private key (a careless export) gives only its certificates."""
    mixed = tmp_path / "mixed.pem"
    mixed.write_bytes(tsa_pki.root_key.read_bytes() + b"\nsome text\n" + tsa_pki.root_pem.read_bytes())
    authority = add_authority(os.environ, "http://127.0.0.1:1/", name="careful", ca_file=mixed)
    assert authority.ca_file == folder() / "careful.pem"
    kept = authority.ca_file.read_bytes()
    assert b"PRIVATE KEY" not in kept and kept == tsa_pki.root_pem.read_bytes()
    assert load_authorities(os.environ)[0].ca_pem == kept
    assert [c.subject.rfc4514_string() for c in anchors(authority)] == [
        "CN=evidencekit test TSA root,O=evidencekit tests"
    ]


def test_without_a_ca_file_the_anchors_are_the_system_bundle() -> None:
    authority = add_authority(os.environ, "https://tsa.example.org/")
    assert authority.ca_pem is None and authority.ca_file is None
    assert anchors(authority) == system_anchors()
    assert len(system_anchors()) > 50  # Debian's bundle (ca-certificates) is installed here
    assert authority.public() == {"name": "tsa.example.org", "url": "https://tsa.example.org/", "qualified": False}


def test_the_configuration_lives_beside_the_keys() -> None:
    assert folder() == keys_dir(os.environ).parent / "tsa"
    assert folder().parent == Path(os.environ["XDG_CONFIG_HOME"]) / "evidencekit"
    assert tsa_dir({"HOME": "/home/ana"}) == Path("/home/ana/.config/evidencekit/tsa")


def test_a_damaged_configuration_is_a_one_line_usage_error() -> None:
    folder().mkdir(parents=True)
    (folder() / "authorities.json").write_text('{"version": 1, "authorities": [{"name": "x y"}]}', encoding="utf-8")
    with pytest.raises(UsageError, match=r"is damaged .*; fix or remove it"):
        load_authorities(os.environ)
    listed = run_subprocess(["tsa", "list"])
    assert listed.returncode == 2 and len(listed.stderr.splitlines()) == 1
    assert "the TSA configuration" in listed.stderr and "is damaged" in listed.stderr


def test_a_missing_ca_copy_is_said_not_replaced_by_the_system_bundle(tsa_pki: Pki) -> None:
    add_authority(os.environ, "http://127.0.0.1:1/", name="local", ca_file=tsa_pki.root_pem)
    (folder() / "local.pem").unlink()
    with pytest.raises(UsageError, match=r"the CA file of TSA 'local' .* cannot be read"):
        load_authorities(os.environ)
    assert remove_authority(os.environ, "local").name == "local"  # it can still be removed
    assert load_authorities(os.environ) == []


def test_a_configured_tsa_answers_with_an_established_token(tsa_pki: Pki) -> None:
    """From the configuration to a token: the copied CA file establishes the TSA's answers."""
    with TsaServer(tsa_pki, kind="ecdsa") as tsa:
        added = run_subprocess(["tsa", "add", tsa.url, "--ca-file", str(tsa.ca_file)])
        assert added.returncode == 0, added.stderr
        (authority,) = load_authorities(os.environ)
        answer = ask(authority, b"a checkpoint note\n", clock=utc_now)
    assert answer.obtained and answer.check is not None and answer.check.established
    assert authority == Authority(authority.name, tsa.url, False, tsa.ca_file.read_bytes(), folder() / "127.0.0.1-"
                                  f"{tsa.url.split(':')[2].split('/')[0]}.pem")  # fmt: skip


def test_the_test_pki_is_what_it_says(tsa_pki: Pki) -> None:
    """openssl verifies each TSA certificate against the test root; the expired one is refused as expired."""
    for kind in ("rsa", "ecdsa", "no-eku"):
        out = openssl("verify", "-CAfile", str(tsa_pki.root_pem), str(tsa_pki.signer_pem(kind)))
        assert out.strip().endswith(b": OK")
    expired = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tsa_pki.root_pem), str(tsa_pki.signer_pem("expired"))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert expired.returncode != 0 and "certificate has expired" in expired.stdout + expired.stderr


def test_the_configuration_is_readable_by_the_investigator_alone(tsa_pki: Pki) -> None:
    """A TSA URL's query may carry an access key: the configuration is kept like the key beside it."""
    add_authority(
        os.environ, "https://tsa.example/stamp?apikey=SECRET123", name="keyed", ca_file=Path(tsa_pki.root_pem)
    )
    folder = tsa_dir(os.environ)
    assert folder.stat().st_mode & 0o777 == 0o700
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("."):
            assert path.stat().st_mode & 0o077 == 0, path
