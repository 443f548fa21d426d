"""Bundles carry independent time: exported with two real local TSAs (openssl ts -reply on loopback, RSA and
ECDSA P-384), the tokens, notes and certificates under data/custody/timestamps/ are held by the offline
`verify` (with and without --tsa-roots), by the standard BagIt tools, and by VERIFY.txt's openssl recipe run
literally; every tampering with a token or a note is named; an export with every TSA down still carries the
earlier stamped checkpoints with consistency proofs; an offline export asks nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bundlekit import flip_byte, rebag
from casekit import make_case, run_cli
from tsakit import Pki, TsaServer

from evidencekit.bundle.layout import CHECKPOINT, TIMESTAMP_INDEX, TIMESTAMPS, VERIFY_TXT
from evidencekit.hashing import blake3_bytes
from evidencekit.timestamps.config import add_authority

CHECK = re.compile(r"^ +\$ (openssl ts -verify .+)$", re.MULTILINE)


@dataclass(frozen=True)
class Exports:
    root_pem: Path  # the test PKI's root: the TSA root a verifier obtained out of band
    case: Path
    first: Path  # both TSAs answering
    second: Path  # both answering again, later: carries the earlier stamped checkpoints too
    down: Path  # every TSA down at export
    offline: Path  # EVIDENCEKIT_OFFLINE=1
    lax: Path  # a third TSA whose answers the strict parser refuses
    queries_during_offline: int
    items: tuple[str, ...]


def _export(case: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = run_cli(["--case", str(case), "export", str(out), "--all", "--dir", "--no-pdf", "--json", *extra])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def exports(tsa_pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exports]:
    folder = tmp_path_factory.mktemp("bundle-time")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        mp.delenv("EVIDENCEKIT_OFFLINE", raising=False)
        with TsaServer(tsa_pki, kind="rsa") as rsa, TsaServer(tsa_pki, kind="ecdsa") as ecdsa:
            add_authority(os.environ, rsa.url, name="rsa", ca_file=rsa.ca_file)
            add_authority(os.environ, ecdsa.url, name="ecdsa", ca_file=ecdsa.ca_file)
            case = make_case(folder / "case")
            (folder / "chat.txt").write_text("Recruiter: the visa is free, bring your passport.\n", encoding="utf-8")
            (folder / "ad.txt").write_text("Au-pair wanted, Dubai, no fees.\n", encoding="utf-8")
            assert (
                run_cli(["--case", str(case), "add", str(folder / "chat.txt"), str(folder / "ad.txt")]).exit_code == 0
            )
            first = _export(case, folder / "first")
            second = _export(case, folder / "second")
            before = len(rsa.queries) + len(ecdsa.queries)
            mp.setenv("EVIDENCEKIT_OFFLINE", "1")
            offline = _export(case, folder / "offline")
            mp.delenv("EVIDENCEKIT_OFFLINE")
            asked_offline = len(rsa.queries) + len(ecdsa.queries) - before
        down = _export(case, folder / "down")  # both servers stopped: connections refused
        with TsaServer(tsa_pki, kind="lax") as lax:
            add_authority(os.environ, lax.url, name="lax", ca_file=lax.ca_file)
            lax_bundle = _export(case, folder / "lax")
        yield Exports(
            Path(tsa_pki.root_pem),
            case,
            Path(first["path"]),
            Path(second["path"]),
            Path(down["path"]),
            Path(offline["path"]),
            Path(lax_bundle["path"]),
            asked_offline,
            tuple(first["items"]),
        )


def _copy(bundle: Path, tmp_path: Path) -> Path:
    out = tmp_path / bundle.name
    shutil.copytree(bundle, out)
    return out


def _index(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / TIMESTAMP_INDEX).read_text(encoding="utf-8"))


def _verify(bundle: Path, *roots: Path, key: bool = False) -> tuple[int, dict[str, Any], str]:
    args = ["verify", str(bundle)] + [a for root in roots for a in ("--tsa-roots", str(root))]
    if key:  # the investigator's key, as if obtained out of band: only then could the verdict be VERIFIED
        args += ["--key", str(next((bundle / "data/custody/keys").glob("*.pem")))]
    text = run_cli(args)
    result = run_cli([*args, "--json"])
    assert text.exit_code == result.exit_code
    return result.exit_code, json.loads(result.stdout), text.stdout


def _codes(found: list[dict[str, Any]]) -> list[str]:
    return [p["code"] for p in found]


def _export_tokens(bundle: Path) -> list[dict[str, Any]]:
    index = _index(bundle)
    own = [cp for cp in index["checkpoints"] if cp["is_bundle_checkpoint"]]
    assert len(own) == 1
    return own[0]["tokens"]


# -- layout ---------------------------------------------------------------------------------------------------
def test_the_bundle_carries_both_tokens_of_its_checkpoint_with_note_certificates_and_index(exports: Exports) -> None:
    bundle = exports.first
    index = _index(bundle)
    assert index["format"] == "evidencekit-timestamps/1" and index["asked_at_export"] is True
    assert index["not_stamped_at_export"] == []
    own = next(cp for cp in index["checkpoints"] if cp["is_bundle_checkpoint"])
    size = json.loads((bundle / "data/custody/proofs.json").read_text())["tree_size"]
    assert own["checkpoint_seq"] == own["tree_size"] == size and own["consistency_proof"] == []
    assert own["note"] == f"{TIMESTAMPS}/checkpoint-{size}.note"
    note = (bundle / own["note"]).read_bytes()
    assert note == (bundle / CHECKPOINT).read_bytes()  # the exact signed-note bytes the TSAs stamped
    assert own["note_sha256"] == "sha256:" + hashlib.sha256(note).hexdigest()
    tokens = {t["tsa"]["name"]: t for t in own["tokens"]}
    assert set(tokens) == {"rsa", "ecdsa"}
    manifest = (bundle / "manifest-sha256.txt").read_text()
    for name, token in tokens.items():
        assert token["file"] == f"{TIMESTAMPS}/checkpoint-{size}.{name}.tsr"
        assert token["certificates"] == f"{TIMESTAMPS}/checkpoint-{size}.{name}.certs.pem"
        data = (bundle / token["file"]).read_bytes()
        assert token["sha256"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert token["parsed"] is True and re.fullmatch(r"\d{4}-.*\.\d{6}Z", token["gen_time"])
        assert token["tsa"]["url"].startswith("http://127.0.0.1:") and token["tsa"]["qualified"] is False
        assert token["ledger_seq"] > size and token["in_ledger_excerpt"] is False  # recorded after the checkpoint
        # Byte for byte the answer the object store holds (stored under its BLAKE3).
        digest = blake3_bytes(data).hex()
        assert (exports.case / "objects" / digest[:2] / digest).read_bytes() == data
        pem = (bundle / token["certificates"]).read_text()
        assert pem.startswith("-----BEGIN CERTIFICATE-----")
        for rel in (token["file"], token["certificates"], own["note"], TIMESTAMP_INDEX):
            assert f"  {rel}\n" in manifest


def test_standard_tools_still_accept_the_bundle(exports: Exports) -> None:
    bundle = exports.second
    bagit = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bundle)], capture_output=True, text=True)
    assert bagit.returncode == 0 and "is valid" in bagit.stderr, bagit.stderr
    for cmd in (["b3sum", "--check", "manifest-blake3.txt"], ["sha256sum", "-c", "manifest-sha256.txt"]):
        proc = subprocess.run(cmd, cwd=bundle, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.count(": OK") == len((bundle / "manifest-sha256.txt").read_text().splitlines())
        assert f"{TIMESTAMPS}/" in proc.stdout


def test_a_later_bundle_carries_earlier_stamped_checkpoints_with_consistency_proofs(exports: Exports) -> None:
    index = _index(exports.second)
    earlier = [cp for cp in index["checkpoints"] if not cp["is_bundle_checkpoint"]]
    assert earlier, index
    ledger = [json.loads(line) for line in (exports.second / "data/custody/ledger.jsonl").read_text().splitlines()]
    recorded = {entry["seq"]: entry for entry in ledger}
    for cp in earlier:
        assert cp["consistency_proof"] and cp["in_ledger_excerpt"] is True
        # Its checkpoint.signed entry and the entries recording its tokens are ledger lines of the bundle.
        assert recorded[cp["checkpoint_seq"]]["details"]["note"].encode() == (exports.second / cp["note"]).read_bytes()
        for token in cp["tokens"]:
            entry = recorded[token["ledger_seq"]]
            assert (
                entry["action"] == "timestamp.obtained" and entry["details"]["checkpoint_seq"] == cp["checkpoint_seq"]
            )
            assert entry["artefacts"][0]["sha256"] == token["sha256"]


# -- verify ---------------------------------------------------------------------------------------------------
def test_verify_with_the_tsa_root_establishes_every_token_and_dates_every_item(exports: Exports) -> None:
    for bundle in (exports.first, exports.second):
        code, report, text = _verify(bundle, exports.root_pem)
        assert code == 0, report["problems"]
        time = report["facts"]["timestamps"]
        assert time["tokens"] and all(t["intact"] and t["established"] for t in time["tokens"])
        # Honest entries on one machine are never later than a covering genTime plus its stated accuracy.
        assert not [
            w
            for w in report["warnings"]
            if w["code"] in ("timestamp.not_established", "timestamp.unparsed", "timestamp.late")
        ]
        assert all(t["counted"] for t in time["tokens"])
        assert set(time["items"]) == set(exports.items)
        for said in time["items"].values():
            assert said["authorities"] == 2 and said["established"] is True
            assert said["statement"].startswith("independently timestamped: existed no later than ")
            # the genTime at the precision the token gives: no zeros the TSA never stated
            assert ".000000Z" not in said["statement"]
        assert "verified against a root given with --tsa-roots" in text
        assert any("RFC 3161 timestamps" in check for check in report["checks"])


def test_verify_without_roots_says_token_intact_tsa_not_established(exports: Exports) -> None:
    code, report, text = _verify(exports.first)
    assert code == 0, report["problems"]
    warnings = [w for w in report["warnings"] if w["code"] == "timestamp.not_established"]
    assert len(warnings) == len(report["facts"]["timestamps"]["tokens"]) >= 2
    assert "token intact, TSA not established (give --tsa-roots)" in text
    assert all(t["intact"] and not t["established"] for t in report["facts"]["timestamps"]["tokens"])


def test_a_root_of_another_authority_does_not_establish_the_tokens(exports: Exports, tmp_path: Path) -> None:
    other = tmp_path / "other-root.pem"
    key = tmp_path / "other.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         str(key), "-out", str(other), "-subj", "/CN=Some other root", "-days", "30"],
        check=True, capture_output=True,
    )  # fmt: skip
    code, report, text = _verify(exports.first, other)
    assert code == 0
    assert not any(t["established"] for t in report["facts"]["timestamps"]["tokens"])
    assert "its chain reaches none of the roots given with --tsa-roots" in text


def test_a_removed_token_is_named_never_verified(exports: Exports, tmp_path: Path) -> None:
    bundle = _copy(exports.second, tmp_path)
    token = _export_tokens(bundle)[0]["file"]
    assert (
        _verify(bundle, exports.root_pem, key=True)[2]
        .rstrip()
        .endswith(
            "VERIFIED \N{EM DASH} signed by Ana Lima (" + next((bundle / "data/custody/keys").glob("*.pem")).stem + ")"
        )
    )
    (bundle / token).unlink()
    code, report, text = _verify(bundle, exports.root_pem, key=True)
    assert code == 3 and "VERIFIED" not in text and "FAILED" in text
    assert {"payload.missing", "timestamp.missing"} <= {p["code"] for p in report["problems"] if p["path"] == token}
    # A forger who also rebuilds every manifest (without the investigator's key) is still caught by name.
    rebag(bundle)
    code, report, _ = _verify(bundle, exports.root_pem)
    assert code == 3
    assert any(p["code"] == "timestamp.missing" and p["path"] == token for p in report["problems"])


def test_a_removed_earlier_token_and_its_index_line_are_caught_by_the_ledger(exports: Exports, tmp_path: Path) -> None:
    bundle = _copy(exports.second, tmp_path)
    index = _index(bundle)
    earlier = next(cp for cp in index["checkpoints"] if not cp["is_bundle_checkpoint"])
    dropped = earlier["tokens"].pop(0)
    (bundle / dropped["file"]).unlink()
    (bundle / TIMESTAMP_INDEX).write_text(json.dumps(index))
    rebag(bundle)
    code, report, _ = _verify(bundle, exports.root_pem)
    assert code == 3
    assert any(p["code"] == "timestamp.missing" and p["seq"] == dropped["ledger_seq"] for p in report["problems"])


def test_an_altered_token_is_named(exports: Exports, tmp_path: Path) -> None:
    bundle = _copy(exports.first, tmp_path)
    token = _export_tokens(bundle)[1]["file"]
    flip_byte(bundle / token, 200)
    code, report, text = _verify(bundle, exports.root_pem, key=True)
    assert code == 3 and "VERIFIED" not in text and "FAILED" in text
    named = {p["code"] for p in report["problems"] if p["path"] == token}
    assert {"payload.altered", "timestamp.altered"} <= named, report["problems"]
    assert not any(t["file"] == token for t in report["facts"]["timestamps"]["tokens"])


def test_a_token_swapped_between_checkpoints_names_both(exports: Exports, tmp_path: Path) -> None:
    bundle = _copy(exports.second, tmp_path)
    index = _index(bundle)
    by_tsa: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for cp in index["checkpoints"]:
        for token in cp["tokens"]:
            by_tsa.setdefault(token["tsa"]["name"], []).append((cp, token))
    (a_cp, a), (b_cp, b) = by_tsa["rsa"][:2]
    a_bytes, b_bytes = (bundle / a["file"]).read_bytes(), (bundle / b["file"]).read_bytes()
    (bundle / a["file"]).write_bytes(b_bytes)
    (bundle / b["file"]).write_bytes(a_bytes)
    # A careful forger keeps the index's digests right too, so that only the tokens themselves can tell.
    a["sha256"], b["sha256"] = b["sha256"], a["sha256"]
    (bundle / TIMESTAMP_INDEX).write_text(json.dumps(index))
    rebag(bundle)
    code, report, _ = _verify(bundle, exports.root_pem)
    assert code == 3
    swapped = [p for p in report["problems"] if p["code"] == "timestamp.imprint"]
    assert {p["path"] for p in swapped} == {a["file"], b["file"]}
    said = next(p["message"] for p in swapped if p["path"] == a["file"])
    assert b_cp["note"] in said and a_cp["note"] in said and "swapped between checkpoints" in said


def test_an_altered_note_is_named(exports: Exports, tmp_path: Path) -> None:
    bundle = _copy(exports.second, tmp_path)
    earlier = next(cp for cp in _index(bundle)["checkpoints"] if not cp["is_bundle_checkpoint"])
    note = bundle / earlier["note"]
    note.write_bytes(note.read_bytes().replace(b"\n", b"\n\n", 1))
    rebag(bundle)
    code, report, _ = _verify(bundle, exports.root_pem)
    assert code == 3
    assert any(p["code"] == "timestamp.note" and p["path"] == earlier["note"] for p in report["problems"])
    # Its tokens no longer hold to it: none of them counts.
    over = [t for t in report["facts"]["timestamps"]["tokens"] if t["checkpoint_seq"] == earlier["checkpoint_seq"]]
    assert over and not any(t["counted"] for t in over)


def test_a_lax_token_is_carried_and_stored_not_parsed_strictly(exports: Exports) -> None:
    tokens = {t["tsa"]["name"]: t for t in _export_tokens(exports.lax)}
    assert set(tokens) == {"rsa", "ecdsa", "lax"} or set(tokens) == {"lax"}
    lax = tokens["lax"]
    assert lax["parsed"] is False and lax["gen_time"] is None
    code, report, text = _verify(exports.lax, exports.root_pem)
    assert code == 0, report["problems"]
    assert any(w["code"] == "timestamp.unparsed" and w["path"] == lax["file"] for w in report["warnings"])
    assert "stored, not parsed strictly" in text
    counted = [t for t in report["facts"]["timestamps"]["tokens"] if t["tsa"] == "lax"]
    assert counted and not counted[0]["intact"]


# -- every TSA down, or offline -------------------------------------------------------------------------------
def test_every_tsa_down_the_bundle_still_covers_every_item_through_earlier_checkpoints(exports: Exports) -> None:
    index = _index(exports.down)
    assert index["asked_at_export"] is True
    assert sorted(u["tsa"] for u in index["not_stamped_at_export"]) == ["ecdsa", "rsa"]
    assert not any(cp["is_bundle_checkpoint"] for cp in index["checkpoints"])
    assert index["checkpoints"] and all(cp["consistency_proof"] for cp in index["checkpoints"])
    code, report, text = _verify(exports.down, exports.root_pem)
    assert code == 0, report["problems"]
    items = report["facts"]["timestamps"]["items"]
    assert set(items) == set(exports.items)
    assert all(
        said["statement"].startswith("independently timestamped: existed no later than") for said in items.values()
    )
    assert "not stamped at export by rsa" in text


def test_a_broken_consistency_proof_is_a_problem(exports: Exports, tmp_path: Path) -> None:
    bundle = _copy(exports.down, tmp_path)
    index = _index(bundle)
    cp = index["checkpoints"][0]
    cp["consistency_proof"][0] = "00" * 32
    (bundle / TIMESTAMP_INDEX).write_text(json.dumps(index))
    rebag(bundle)
    code, report, _ = _verify(bundle, exports.root_pem)
    assert code == 3
    assert any(p["code"] == "timestamp.note" and "consistency" in p["message"] for p in report["problems"])


def test_an_offline_export_asks_no_tsa(exports: Exports) -> None:
    assert exports.queries_during_offline == 0
    index = _index(exports.offline)
    assert index["asked_at_export"] is False
    assert sorted((u["tsa"], u["reason"]) for u in index["not_stamped_at_export"]) == [
        ("ecdsa", "offline"),
        ("rsa", "offline"),
    ]
    code, report, _ = _verify(exports.offline, exports.root_pem)
    assert code == 0, report["problems"]
    assert set(report["facts"]["timestamps"]["items"]) == set(exports.items)


# -- VERIFY.txt: openssl ts -verify, run literally --------------------------------------------------------------
def _recipes(bundle: Path) -> list[str]:
    return CHECK.findall((bundle / VERIFY_TXT).read_text(encoding="utf-8"))


def _run(bundle: Path, line: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(bundle.parent), "LC_ALL": "C.UTF-8", "TSA_ROOT": str(root)}
    return subprocess.run(["bash", "-c", line], cwd=bundle, env=env, capture_output=True, text=True, timeout=60)


def test_verify_txt_gives_the_openssl_recipe_for_each_token_and_it_passes(exports: Exports) -> None:
    text = (exports.second / VERIFY_TXT).read_text(encoding="utf-8")
    assert "must come from the TSA itself, out of band" in text
    recipes = _recipes(exports.second)
    tokens = [t for cp in _index(exports.second)["checkpoints"] for t in cp["tokens"]]
    assert len(recipes) == len(tokens) >= 3
    for token, line in zip(tokens, recipes, strict=True):
        note = token["file"].rsplit(".", 2)[0] + ".note"
        assert line == (
            f'openssl ts -verify -data {note} -in {token["file"]} -CAfile "$TSA_ROOT" -untrusted {token["certificates"]}'
        )
        proc = _run(exports.second, line, exports.root_pem)
        assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stdout + proc.stderr


def test_the_openssl_recipe_fails_on_an_altered_note(exports: Exports, tmp_path: Path) -> None:
    bundle = _copy(exports.first, tmp_path)
    line = _recipes(bundle)[0]
    note = bundle / line.split(" -data ")[1].split(" ")[0]
    flip_byte(note, 5)
    proc = _run(bundle, line, exports.root_pem)
    assert proc.returncode != 0 and "Verification: OK" not in proc.stdout
    assert "Verification: FAILED" in proc.stdout + proc.stderr


def test_verify_txt_of_a_bundle_without_tokens_says_so(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    (tmp_path / "a.txt").write_text("x\n")
    assert run_cli(["--case", str(case), "add", str(tmp_path / "a.txt")]).exit_code == 0
    out = Path(_export(case, tmp_path / "plain")["path"])
    assert not (out / TIMESTAMPS).exists()
    assert "This bundle carries no RFC 3161 timestamp" in (out / VERIFY_TXT).read_text()
    assert _recipes(out) == []
    code, _, text = _verify(out)
    assert code == 0 and "no independent timestamp" in text


def test_a_tsa_url_query_never_enters_the_bundle(tsa_pki: Pki, tmp_path: Path) -> None:
    """A user name or password in a TSA URL is refused; a query (where some TSAs take an access token) is
    used for the requests but never recorded: the case's ledger and objects and the bundles hold the URL
    without it."""
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        shown = rsa.url + "/"
        add_authority(os.environ, shown + "?access_token=s3cr3t-t0ken", name="rsa", ca_file=rsa.ca_file)
        case = make_case(tmp_path / "case")
        (tmp_path / "a.txt").write_text("evidence\n")
        assert run_cli(["--case", str(case), "add", str(tmp_path / "a.txt")]).exit_code == 0
        first = Path(_export(case, tmp_path / "first")["path"])
        bundle = Path(_export(case, tmp_path / "second")["path"])
    for out in (first, bundle):
        tokens = [t for cp in _index(out)["checkpoints"] for t in cp["tokens"]]
        assert tokens and all(t["tsa"]["url"] == shown for t in tokens)
        for path in [*out.rglob("*"), *case.rglob("*")]:
            if path.is_file():
                assert b"s3cr3t-t0ken" not in path.read_bytes(), path
        code, report, _ = _verify(out, Path(tsa_pki.root_pem))
        assert code == 0, report["problems"]
        assert all(t["counted"] for t in report["facts"]["timestamps"]["tokens"])


def test_a_lax_token_of_an_earlier_command_is_carried_when_export_asks_no_tsa(tsa_pki: Pki, tmp_path: Path) -> None:
    """An answer kept "stored, not parsed strictly" is never counted, but never left behind either: a bundle
    made offline carries the one an earlier command obtained for its entries."""
    with TsaServer(tsa_pki, kind="lax") as lax:
        add_authority(os.environ, lax.url, name="lax", ca_file=lax.ca_file)
        case = make_case(tmp_path / "case")
        (tmp_path / "a.txt").write_text("evidence\n")
        assert run_cli(["--case", str(case), "add", str(tmp_path / "a.txt")]).exit_code == 0
    bundle = Path(_export(case, tmp_path / "offline", "--no-timestamp")["path"])
    earlier = [cp for cp in _index(bundle)["checkpoints"] if not cp["is_bundle_checkpoint"]]
    carried = [t for cp in earlier for t in cp["tokens"]]
    assert carried and all(t["tsa"]["name"] == "lax" and t["parsed"] is False for t in carried)
    code, report, text = _verify(bundle, Path(tsa_pki.root_pem))
    assert code == 0, report["problems"]
    assert "stored, not parsed strictly" in text
    assert not any(t["counted"] for t in report["facts"]["timestamps"]["tokens"])


def test_a_full_ledger_bundle_carries_the_token_of_every_timestamp_line_it_holds(tsa_pki: Pki, tmp_path: Path) -> None:
    """With --full-ledger the excerpt holds every timestamp.obtained line, so the bundle carries every token
    (a whole-second TSA often gives two quick checkpoints the same genTime, and only the earliest per item
    was carried: verify then found genuine lines' tokens missing)."""
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        add_authority(os.environ, rsa.url, name="rsa", ca_file=rsa.ca_file)
        case = make_case(tmp_path / "case")
        (tmp_path / "a.txt").write_text("evidence\n")
        assert run_cli(["--case", str(case), "add", str(tmp_path / "a.txt")]).exit_code == 0
        for text in ("first", "second", "third"):
            assert run_cli(["--case", str(case), "note", text, "--item", "file-0001"]).exit_code == 0
        bundle = Path(_export(case, tmp_path / "full", "--full-ledger")["path"])
    lines = [json.loads(line) for line in (bundle / "data/custody/ledger.jsonl").read_text().splitlines()]
    in_excerpt = {e["seq"] for e in lines if e["action"] == "timestamp.obtained"}
    carried = {t["ledger_seq"] for cp in _index(bundle)["checkpoints"] for t in cp["tokens"]}
    assert len(in_excerpt) >= 4 and in_excerpt <= carried
    code, report, _ = _verify(bundle, Path(tsa_pki.root_pem))
    assert code == 0, report["problems"]
