"""Exported bundles: accepted by standard validators; every tampering detected by `evidencekit verify`."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from bundlekit import flip_byte, rebag, rewrite_history
from casekit import make_case, run_cli

from evidencekit.keys import generate_key
from evidencekit.ledger.notes import Checkpoint, SignedNote, sign_checkpoint

IMAGES = os.path.join(os.path.dirname(__file__), "data", "images")


def _case_with_items(folder):
    case = make_case(folder / "case")
    chat = folder / "chat.txt"
    chat.write_text("Recruiter: the visa is free, bring your passport. WhatsApp +971 50 123 4567\n", encoding="utf-8")
    photo = os.path.join(IMAGES, "exif_full_gps_north_east.jpg")
    assert run_cli(["--case", str(case), "add", photo, str(chat)]).exit_code == 0
    assert run_cli(["--case", str(case), "note", "recruiter's photo", "--item", "file-0001"]).exit_code == 0
    return case


@pytest.fixture
def case(tmp_path):
    return _case_with_items(tmp_path)


@pytest.fixture(scope="module")
def master_bundle(tmp_path_factory):
    """One exported bundle (folder) for the module: exporting prints a PDF with Chromium, which is slow."""
    folder = tmp_path_factory.mktemp("master")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = _case_with_items(folder)
        out = folder / "bundle"
        result = run_cli(["--case", str(case), "export", str(out), "--all", "--dir", "--json"])
        assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture
def bundle_dir(master_bundle, tmp_path):
    """A fresh copy of the module's bundle, to tamper with."""
    out = tmp_path / "bundle"
    shutil.copytree(master_bundle, out)
    return out


def _verify(path):
    result = run_cli(["verify", str(path), "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout else None, result


def _problems(path):
    code, report, result = _verify(path)
    assert code == 3, result.stdout
    return report["problems"]


def test_export_records_entries_and_verifies(case, tmp_path):
    out = tmp_path / "out.zip"
    result = run_cli(
        [
            "--case",
            str(case),
            "export",
            str(out),
            "--item",
            "file-0001",
            "--recipient",
            "Public Prosecutor, Pune",
            "--purpose",
            "disclosure",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["export_entry"]["action"] == "export.created"
    assert outcome["export_entry"]["details"]["tag_manifest_sha256"] == outcome["tag_manifest_sha256"]
    assert outcome["transfer_entry"]["details"]["recipient"] == "Public Prosecutor, Pune"
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        top = names[0].split("/")[0]
        assert all(n.startswith(f"{top}/") for n in names)
        tag = zf.read(f"{top}/tagmanifest-sha256.txt")
    import hashlib

    assert "sha256:" + hashlib.sha256(tag).hexdigest() == outcome["tag_manifest_sha256"]
    code, report, _ = _verify(out)
    assert code == 0 and report["ok"], report
    assert report["facts"]["items"] == ["file-0001"]
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0
    again = run_cli(["--case", str(case), "export", str(out), "--all"])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_export_needs_items_and_a_key(case, tmp_path):
    assert run_cli(["--case", str(case), "export", str(tmp_path / "x.zip")]).exit_code == 2
    result = run_cli(["--case", str(case), "export", str(tmp_path / "x.zip"), "--item", "file-0042"])
    assert result.exit_code == 2 and "file-0042" in result.stderr
    assert not (tmp_path / "x.zip").exists()


def _openssl_verify(bundle_dir, pem):
    """The checkpoint signature checked with OpenSSL alone, as VERIFY.txt tells a recipient to."""
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin"]
    command += ["-in", "data/custody/checkpoint.body", "-sigfile", "data/custody/checkpoint.sig"]
    return subprocess.run(command, cwd=bundle_dir, capture_output=True, text=True)


def test_standard_tools_accept_the_bundle(bundle_dir):
    bagit = subprocess.run(
        [sys.executable, "-m", "bagit", "--validate", str(bundle_dir)], capture_output=True, text=True
    )
    assert bagit.returncode == 0, bagit.stderr
    assert "is valid" in bagit.stderr
    for cmd in (["b3sum", "--check", "manifest-blake3.txt"], ["sha256sum", "-c", "manifest-sha256.txt"]):
        proc = subprocess.run(cmd, cwd=bundle_dir, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.count(": OK") == len((bundle_dir / "manifest-sha256.txt").read_text().splitlines())
    pem = next((bundle_dir / "data/custody/keys").glob("*.pem"))
    proc = _openssl_verify(bundle_dir, pem)
    assert proc.returncode == 0 and "Signature Verified Successfully" in proc.stdout
    flip_byte(bundle_dir / "data/custody/checkpoint.body", 3)
    proc = _openssl_verify(bundle_dir, pem)
    assert proc.returncode != 0


def _photo(bundle_dir):
    return bundle_dir / "data/items/file-0001/exif_full_gps_north_east.jpg"


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("data/items/file-0001/exif_full_gps_north_east.jpg", "payload.altered"),
        ("data/items/file-0001/metadata.json", "payload.altered"),
        ("data/custody/proofs.json", "payload.altered"),
        ("manifest-sha256.txt", "tag.altered"),
        ("bag-info.txt", "tag.altered"),
    ],
)
def test_a_flipped_byte_is_named(bundle_dir, target, code):
    flip_byte(bundle_dir / target, 40)
    problems = _problems(bundle_dir)
    assert any(p["code"] == code and p["path"] == target for p in problems), problems


def test_flipped_artefact_with_manifests_recomputed(bundle_dir):
    flip_byte(_photo(bundle_dir), 200)
    rebag(bundle_dir)
    problems = _problems(bundle_dir)
    rel = "data/items/file-0001/exif_full_gps_north_east.jpg"
    assert any(p["code"] == "artefact.altered" and p["path"] == rel for p in problems)
    assert any(p["code"] == "bundle.signature" for p in problems)


def _ledger_lines(bundle_dir):
    return (bundle_dir / "data/custody/ledger.jsonl").read_bytes().split(b"\n")[:-1]


def test_ledger_line_byte_flipped(bundle_dir):
    lines = _ledger_lines(bundle_dir)
    at = next(i for i, line in enumerate(lines) if b"exif_full_gps" in line)
    entry = json.loads(lines[at])
    lines[at] = lines[at].replace(b"exif_full_gps", b"exif_fuLL_gps")
    (bundle_dir / "data/custody/ledger.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    rebag(bundle_dir)
    problems = _problems(bundle_dir)
    assert any(p["code"] == "proof.invalid" and p["seq"] == entry["seq"] for p in problems), problems


def test_two_ledger_lines_swapped(bundle_dir):
    lines = _ledger_lines(bundle_dir)
    seqs = [json.loads(line)["seq"] for line in lines]
    lines[1], lines[2] = lines[2], lines[1]
    (bundle_dir / "data/custody/ledger.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    rebag(bundle_dir)
    problems = _problems(bundle_dir)
    assert any(p["code"] == "ledger.order" and p["seq"] == seqs[1] for p in problems), problems


def test_proof_altered(bundle_dir):
    path = bundle_dir / "data/custody/proofs.json"
    proofs = json.loads(path.read_text())
    target = proofs["proofs"][1]
    target["path"][0] = "00" * 32
    path.write_text(json.dumps(proofs))
    rebag(bundle_dir)
    problems = _problems(bundle_dir)
    assert any(p["code"] == "proof.invalid" and p["seq"] == target["seq"] for p in problems)


def test_checkpoint_altered(bundle_dir):
    path = bundle_dir / "data/custody/checkpoint"
    text = path.read_text()
    lines = text.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # claim a bigger tree
    path.write_text("\n".join(lines))
    rebag(bundle_dir)
    problems = _problems(bundle_dir)
    assert any(p["code"] == "checkpoint.bad_signature" and p["path"] == "data/custody/checkpoint" for p in problems)


def test_payload_file_removed(bundle_dir):
    _photo(bundle_dir).unlink()
    problems = _problems(bundle_dir)
    rel = "data/items/file-0001/exif_full_gps_north_east.jpg"
    assert any(p["code"] == "payload.missing" and p["path"] == rel for p in problems)
    assert any(p["code"] == "artefact.missing" and p["path"] == rel for p in problems)


def test_whole_item_removed_with_manifests_recomputed(bundle_dir):
    shutil.rmtree(bundle_dir / "data/items/file-0002")
    rebag(bundle_dir)
    problems = _problems(bundle_dir)
    assert any(p["code"] == "item.missing" and p["path"] == "data/items/file-0002" for p in problems)


def test_file_added(bundle_dir):
    (bundle_dir / "data/items/file-0001/planted.jpg").write_bytes(b"\xff\xd8 not really")
    (bundle_dir / "extra.txt").write_text("hello")
    problems = _problems(bundle_dir)
    assert any(p["code"] == "payload.extra" and p["path"] == "data/items/file-0001/planted.jpg" for p in problems)
    assert any(p["code"] == "bag.extra_file" and p["path"] == "extra.txt" for p in problems)


def test_public_key_replaced_and_checkpoint_resigned(bundle_dir, tmp_path):
    forger = generate_key(tmp_path / "forger-keys", "Ana Lima")
    keys = bundle_dir / "data/custody/keys"
    for old in keys.iterdir():
        old.unlink()
    (keys / f"{forger.public.key_id}.json").write_text(json.dumps(forger.public.to_dict()))
    (keys / f"{forger.public.key_id}.pem").write_text(forger.public.pem())
    note = SignedNote.parse((bundle_dir / "data/custody/checkpoint").read_text())
    forged = sign_checkpoint(Checkpoint.parse(note.body), forger)
    (bundle_dir / "data/custody/checkpoint").write_text(forged.text())
    (bundle_dir / "data/custody/checkpoint.sig").write_bytes(forged.signatures[0].signature)
    rebag(bundle_dir)
    problems = _problems(bundle_dir)
    assert any(p["code"] == "key.unregistered" and forger.public.key_id in p["path"] for p in problems), problems


def test_verify_reports_everything_in_text_mode(bundle_dir):
    flip_byte(_photo(bundle_dir), 100)
    (bundle_dir / "data/items/file-0002/metadata.json").unlink()
    result = run_cli(["verify", str(bundle_dir)])
    assert result.exit_code == 3
    assert result.stdout.count("PROBLEM") >= 3 and "FAILED" in result.stdout


def test_verify_of_missing_bundle_is_a_usage_error(tmp_path):
    result = run_cli(["verify", str(tmp_path / "nothing.zip")])
    assert result.exit_code == 2 and "no such bundle" in result.stderr


def test_full_ledger_export_carries_every_entry(case, tmp_path):
    out = tmp_path / "full"
    result = run_cli(
        ["--case", str(case), "export", str(out), "--item", "file-0002", "--dir", "--full-ledger", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    lines = (out / "data/custody/ledger.jsonl").read_bytes().split(b"\n")[:-1]
    size = json.loads(result.stdout)["export_entry"]["details"]["checkpoint"]["tree_size"]
    assert [json.loads(line)["seq"] for line in lines] == list(range(size))
    code, report, _ = _verify(out)
    assert code == 0, report["problems"]
    assert report["facts"]["items"] == ["file-0002"]
    assert not (out / "data/items/file-0001").exists()


# --- trust: whose key signed the bundle ------------------------------------------------------------------


def _signer(bundle):
    (key_json,) = (bundle / "data/custody/keys").glob("*.json")
    return json.loads(key_json.read_text())["key_id"], key_json


def test_verify_names_the_signer_key_to_compare_out_of_band(bundle_dir):
    key_id, _ = _signer(bundle_dir)
    code, report, _ = _verify(bundle_dir)
    assert code == 0, report["problems"]
    assert report["facts"]["checkpoint"]["signed_by"] == [key_id]
    assert report["facts"]["trusted_keys"] == []
    text = run_cli(["verify", str(bundle_dir)]).stdout
    (advice,) = [line for line in text.splitlines() if "out of band" in line]
    assert key_id in advice and "evidencekit keys show" in advice
    instructions = (bundle_dir / "data/VERIFY.txt").read_text()
    assert "--key KEYID" in instructions and "out of band" in instructions
    assert f"It must be {key_id}, the key that signed this bundle" in " ".join(instructions.split())


def test_key_option_accepts_the_signer_by_id_pem_or_json(bundle_dir):
    key_id, key_json = _signer(bundle_dir)
    for spec in (key_id, key_id.upper(), str(key_json), str(key_json.with_suffix(".pem"))):
        code, report, result = _verify_with(bundle_dir, spec)
        assert code == 0, (spec, result.stdout, result.stderr)
        assert report["facts"]["trusted_keys"] == [key_id]
    assert "out of band" not in run_cli(["verify", str(bundle_dir), "--key", key_id]).stdout


def _verify_with(path, *specs):
    args = ["verify", str(path), "--json"]
    for spec in specs:
        args += ["--key", spec]
    result = run_cli(args)
    return result.exit_code, json.loads(result.stdout) if result.stdout else None, result


def test_verdict_says_intact_without_a_key_and_verified_only_with_the_signers_key(bundle_dir, tmp_path):
    """Issue 12, finding 7: VERIFIED only when a key from outside the bundle establishes who signed it."""
    key_id, _ = _signer(bundle_dir)
    plain = run_cli(["verify", str(bundle_dir)])
    assert plain.exit_code == 0
    assert plain.stdout.splitlines()[-1] == "INTACT \N{EM DASH} signer not established (check the key id with --key)"
    assert "VERIFIED" not in plain.stdout
    code, report, _ = _verify_with(bundle_dir)
    assert code == 0 and report["intact"] is True and report["signer_established"] is False
    keyed = run_cli(["verify", str(bundle_dir), "--key", key_id])
    assert keyed.exit_code == 0
    assert keyed.stdout.splitlines()[-1] == f"VERIFIED \N{EM DASH} signed by Ana Lima ({key_id})"
    code, report, _ = _verify_with(bundle_dir, key_id)
    assert code == 0 and report["intact"] is True and report["signer_established"] is True
    other = generate_key(tmp_path / "other-keys", "Ana Lima").public
    code, report, _ = _verify_with(bundle_dir, other.key_id)
    assert code == 3 and report["intact"] is False and report["signer_established"] is False
    assert run_cli(["verify", str(bundle_dir), "--key", other.key_id]).stdout.splitlines()[-1].startswith("FAILED: ")


def test_key_option_refuses_a_bundle_signed_by_another_key(bundle_dir, tmp_path):
    other = generate_key(tmp_path / "other-keys", "Ana Lima").public
    pem = tmp_path / "other.pem"
    pem.write_text(other.pem())
    for specs in ([other.key_id], [str(pem)], [str(pem), "0123456789abcdef"]):
        code, report, result = _verify_with(bundle_dir, *specs)
        assert code == 3, (specs, result.stdout)
        untrusted = {p["path"] for p in report["problems"] if p["code"] == "key.untrusted"}
        assert untrusted == {"data/custody/checkpoint", "bundle-signature.txt"}, report["problems"]
    key_id, _ = _signer(bundle_dir)
    assert _verify_with(bundle_dir, other.key_id, key_id)[0] == 0, "any one of several given keys will do"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "neither a 16-hex key id nor a readable public key file"),
        ("not a key\n", "not a PEM public key"),
        ("[" * 50_000, "not a JSON Ed25519 public key"),
        ('{"algorithm": "ed25519"}', "lacks the field"),
    ],
)
def test_key_option_with_an_unusable_key_is_a_usage_error(bundle_dir, tmp_path, content, fragment):
    spec = tmp_path / "key.pem"
    if content is not None:
        spec.write_text(content)
    result = run_cli(["verify", str(bundle_dir), "--key", str(spec)])
    assert result.exit_code == 2, result.stderr
    assert fragment in result.stderr and result.stderr.count("\n") == 1


def test_bundle_forged_whole_under_another_key_with_the_same_name(master_bundle, tmp_path, monkeypatch):
    """A forger makes a flawless bundle of their own under the investigator's name: only --key tells."""
    genuine, _ = _signer(master_bundle)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "forger-config"))
    forged_case = _case_with_items(tmp_path)
    forged = tmp_path / "forged"
    assert run_cli(["--case", str(forged_case), "export", str(forged), "--all", "--dir"]).exit_code == 0
    forger, _ = _signer(forged)
    assert forger != genuine
    result = run_cli(["verify", str(forged)])
    assert result.exit_code == 0 and "Ana Lima" in result.stdout
    assert f"key {forger}: compare it with the investigator's published key id" in result.stdout
    code, report, _ = _verify_with(forged, genuine)
    assert code == 3
    assert any(p["code"] == "key.untrusted" and forger in p["message"] for p in report["problems"])


# --- the signed bundle statement covers bag-info.txt -----------------------------------------------------


@pytest.mark.parametrize(
    ("label", "value"),
    [("Contact-Name", "Someone Else"), ("External-Identifier", "TRAF-2026-999"), ("Source-Organization", "X")],
)
def test_bag_info_edited_with_every_manifest_recomputed(bundle_dir, label, value):
    info = bundle_dir / "bag-info.txt"
    lines = [f"{label}: {value}" if line.startswith(f"{label}:") else line for line in info.read_text().splitlines()]
    info.write_text("\n".join(lines) + "\n")
    rebag(bundle_dir)
    problems = _problems(bundle_dir)
    assert [p for p in problems if p["code"] not in ("bundle.signature", "casefact.differs")] == []
    assert any("bag-info.txt changed" in p["message"] for p in problems), problems
    # The case facts of bag-info.txt are also held to the ledger's case.opened line (issue 11, defect 2).
    assert any(p["code"] == "casefact.differs" and f"({label})" in p["message"] for p in problems), problems


def test_bundle_statement_of_the_old_form_is_refused(bundle_dir):
    text = (bundle_dir / "bundle-signature.txt").read_text()
    body, _, signatures = text.partition("\n\n")
    old = "\n".join(line for line in body.split("\n") if not line.startswith(("bagit.txt", "bag-info.txt")))
    (bundle_dir / "bundle-signature.txt").write_text(old + "\n\n" + signatures)
    rebag(bundle_dir)
    assert any("statement form" in p["message"] for p in _problems(bundle_dir))


# --- the custody log and VERIFY.txt of a case with two investigators --------------------------------------


@pytest.fixture(scope="module")
def handover(tmp_path_factory):
    """Ana opens the case and adds files (one named .warc, one of zeros); Ravi takes over and exports twice:
    everything to a zip for a prosecutor, then file-0001 again as a folder."""
    folder = tmp_path_factory.mktemp("handover")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "ana"))
        case = make_case(folder / "case")
        (folder / "chat.txt").write_text("see you at the airport\n")
        (folder / "seized.warc").write_text("not a WARC at all, only a file named so\n")
        (folder / "zeros.img").write_bytes(b"\0" * (3 * 1024 * 1024))
        files = [str(folder / n) for n in ("chat.txt", "seized.warc", "zeros.img")]
        assert run_cli(["--case", str(case), "add", *files]).exit_code == 0
        mp.setenv("XDG_CONFIG_HOME", str(folder / "ravi"))
        assert run_cli(["keys", "generate", "--investigator", "Ravi Kumar"]).exit_code == 0
        (folder / "ravi.json").write_text(run_cli(["keys", "show", "--json"]).stdout)
        mp.setenv("XDG_CONFIG_HOME", str(folder / "ana"))  # Ana brings Ravi's key into the case
        assert run_cli(["--case", str(case), "keys", "add-investigator", str(folder / "ravi.json")]).exit_code == 0
        mp.setenv("XDG_CONFIG_HOME", str(folder / "ravi"))
        assert run_cli(["--case", str(case), "note", "case handed over to Ravi"]).exit_code == 0
        first = run_cli(
            ["--case", str(case), "export", str(folder / "all.zip"), "--all", "--recipient", "Prosecutor", "--json"]
        )
        assert first.exit_code == 0, first.stderr
        again = run_cli(["--case", str(case), "export", str(folder / "again"), "--item", "file-0001", "--dir"])
        assert again.exit_code == 0, again.stderr
        ravi = json.loads(run_cli(["keys", "show", "--json"]).stdout)["key_id"]
    return {"zip": folder / "all.zip", "again": folder / "again", "first": json.loads(first.stdout), "ravi": ravi}


def test_custody_log_carries_earlier_exports_and_transfers_of_the_item(handover):
    lines = [json.loads(line) for line in (handover["again"] / "data/custody/ledger.jsonl").read_text().splitlines()]
    seqs = {line["seq"] for line in lines}
    assert handover["first"]["export_entry"]["seq"] in seqs
    assert handover["first"]["transfer_entry"]["seq"] in seqs
    assert "custody transferred to Prosecutor" in (handover["again"] / "data/report/index.html").read_text()
    code, report, _ = _verify_with(handover["again"], handover["ravi"])
    assert code == 0, report["problems"]


def test_verify_txt_names_the_key_that_signed(handover):
    bundle = handover["again"]
    instructions = (bundle / "data/VERIFY.txt").read_text()
    assert f"Signed with key id: {handover['ravi']}" in instructions
    assert len(list((bundle / "data/custody/keys").glob("*.pem"))) == 2
    command = instructions[instructions.index("openssl pkeyutl") :].split("\n\n")[0].replace("\\\n", " ").split()
    assert f"data/custody/keys/{handover['ravi']}.pem" in command
    proc = subprocess.run(command, cwd=bundle, capture_output=True, text=True)
    assert proc.returncode == 0 and "Signature Verified Successfully" in proc.stdout, proc.stdout + proc.stderr


def test_a_file_named_warc_is_exported_as_a_file_and_zeros_are_stored(handover):
    with zipfile.ZipFile(handover["zip"]) as zf:
        names = zf.namelist()
        zeros = next(i for i in zf.infolist() if i.filename.endswith("/zeros.img"))
    assert any(n.endswith("data/items/file-0002/seized.warc") for n in names)
    assert not any(n.endswith(".wacz") for n in names)
    assert zeros.compress_type == zipfile.ZIP_STORED, "a verifier would take the deflated zeros for a zip bomb"
    code, report, _ = _verify_with(handover["zip"], handover["ravi"])
    assert code == 0, report["problems"]


# --- export refuses cleanly when the store lacks an object -----------------------------------------------


def test_object_missing_from_the_store_at_export(case, tmp_path):
    log_before = run_cli(["--case", str(case), "log", "--json"]).stdout
    item = json.loads(run_cli(["--case", str(case), "show", "file-0002", "--json"]).stdout)
    stored = next(iter(item["stored_paths"].values()))
    Path(stored).unlink()
    out = tmp_path / "out" / "bundle.zip"
    out.parent.mkdir()
    result = run_cli(["--case", str(case), "export", str(out), "--all"])
    assert result.exit_code == 3, result.stderr
    assert "file-0002" in result.stderr and Path(stored).name in result.stderr
    assert "operating system error" not in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert run_cli(["--case", str(case), "log", "--json"]).stdout == log_before, "nothing was recorded"


# --- earlier checkpoints in a --full-ledger bundle ---------------------------------------------------------


@pytest.fixture
def full_bundle(case, tmp_path):
    out = tmp_path / "full"
    result = run_cli(["--case", str(case), "export", str(out), "--all", "--dir", "--full-ledger"])
    assert result.exit_code == 0, result.stderr
    return out


def _own_key():
    from evidencekit.keys import keys_dir, load_key

    return load_key(keys_dir(os.environ))


def _checkpoint_lines(values):
    return [v for v in values if v["action"] == "checkpoint.signed"]


def test_full_ledger_resigned_unchanged_still_verifies(full_bundle):
    """The helper below re-signs faithfully: with no change, the bundle stays clean."""
    rewrite_history(full_bundle, _own_key(), lambda values: None)
    code, report, _ = _verify(full_bundle)
    assert code == 0, report["problems"]
    assert any("earlier checkpoints" in check for check in report["checks"])


def test_history_rewritten_and_resigned_contradicts_earlier_checkpoints(full_bundle):
    """An insider with the key edits an old note and signs everything again: the checkpoints signed
    before the edit no longer match the rewritten ledger."""
    changed = {}

    def edit(values):
        note = next(v for v in values if v["action"] == "note.added")
        note["details"]["text"] = "photo of someone else"
        changed["seq"] = note["seq"]
        changed["later"] = [v["seq"] for v in _checkpoint_lines(values) if v["details"]["tree_size"] > note["seq"]]

    rewrite_history(full_bundle, _own_key(), edit)
    problems = _problems(full_bundle)
    assert changed["later"]
    assert {p["seq"] for p in problems if p["code"] == "checkpoint.inconsistent"} == set(changed["later"]), problems
    # The rulebook's other word for it, as `ledger verify` says it: a signed root no longer recomputed.
    assert {p["seq"] for p in problems if p["code"] == "checkpoint.root_mismatch"} <= set(changed["later"])
    assert not [p for p in problems if p["code"] not in ("checkpoint.inconsistent", "checkpoint.root_mismatch")]


def test_earlier_checkpoint_newer_than_the_bundles(full_bundle):
    key = _own_key()
    target = {}

    def claim_bigger_tree(values):
        entry = _checkpoint_lines(values)[0]
        old = SignedNote.parse(entry["details"]["note"]).checkpoint()
        bigger = Checkpoint(old.origin, len(values) + 5, old.root)
        entry["details"]["note"] = sign_checkpoint(bigger, key).text()
        target["seq"] = entry["seq"]

    rewrite_history(full_bundle, key, claim_bigger_tree)
    problems = _problems(full_bundle)
    assert any(p["code"] == "checkpoint.regressed" and p["seq"] == target["seq"] for p in problems), problems


def test_earlier_checkpoint_signed_by_an_unknown_key(full_bundle, tmp_path):
    stranger = generate_key(tmp_path / "stranger", "Ana Lima")
    target = {}

    def resign(values):
        entry = _checkpoint_lines(values)[-1]
        entry["details"]["note"] = sign_checkpoint(
            SignedNote.parse(entry["details"]["note"]).checkpoint(), stranger
        ).text()
        target["seq"] = entry["seq"]

    rewrite_history(full_bundle, _own_key(), resign)
    problems = _problems(full_bundle)
    assert [(p["code"], p["seq"]) for p in problems] == [("checkpoint.bad_signature", target["seq"])]


@pytest.mark.parametrize("target", ["data/custody/proofs.json", "bundle-signature.txt", "data/custody/keys/KEY.json"])
def test_a_folder_where_a_file_belongs_is_a_problem_not_a_crash(bundle_dir, target):
    key_id, _ = _signer(bundle_dir)
    path = bundle_dir / target.replace("KEY", key_id)
    path.unlink()
    path.mkdir()
    code, report, result = _verify(bundle_dir)
    assert code == 3 and "operating system error" not in result.stderr, result.stderr
    assert report["problems"]


# --- verify pointed at the folder a bundle was unzipped into (issue 12, finding 6) -----------------------


def test_verify_finds_the_one_bag_in_the_folder_it_was_unzipped_into(master_bundle, tmp_path):
    unzipped = tmp_path / "downloads"
    shutil.copytree(master_bundle, unzipped / "TRAF-2026-001-bundle")
    (unzipped / "notes from the prosecutor.txt").write_text("received by e-mail\n")
    result = run_cli(["verify", str(unzipped)])
    assert result.exit_code == 0, result.stdout
    assert "PROBLEM" not in result.stdout and result.stdout.splitlines()[-1].startswith("INTACT")
    assert "is not a bag itself; verified the one bag it holds, TRAF-2026-001-bundle" in result.stdout
    code, report, _ = _verify_with(unzipped)
    assert code == 0 and report["facts"]["bag_folder"] == str(unzipped / "TRAF-2026-001-bundle")


@pytest.mark.parametrize(
    ("layout", "fragment"),
    [
        ("empty", "is not a bag (no bagit.txt in it or in a folder directly inside it)"),
        ("two bags", "holds 2 bags (a, b); verify each one by naming its folder"),
        ("inside", "lies inside the bag"),
    ],
)
def test_verify_of_a_folder_that_is_no_bag_says_where_to_point_it(master_bundle, tmp_path, layout, fragment):
    target = tmp_path / "folder"
    target.mkdir()
    if layout == "two bags":
        shutil.copytree(master_bundle, target / "a")
        shutil.copytree(master_bundle, target / "b")
    elif layout == "inside":
        shutil.copytree(master_bundle, target / "bag")
        target = target / "bag" / "data"
    result = run_cli(["verify", str(target)])
    assert result.exit_code == 2, result.stdout
    assert fragment in result.stderr and result.stderr.count("\n") == 1
    assert "FAILED" not in result.stdout and "problem" not in result.stdout


def test_a_bag_whose_bagit_txt_was_removed_still_fails(bundle_dir):
    (bundle_dir / "bagit.txt").unlink()
    result = run_cli(["verify", str(bundle_dir)])
    assert result.exit_code == 3 and "bagit.txt" in result.stdout


# --- bundles made before the openssl form of the bundle statement existed -----------------------------------


def _old_form_statement(root, key):
    """The statement as versions before bundle-signature.body/.sig wrote it: one digest per signed file."""
    from evidencekit.bundle.signature import read_statement
    from evidencekit.hashing import hash_file
    from evidencekit.ledger.notes import sign_note

    statement = read_statement(root)
    lines = [
        f"{name} {'blake3:' + hash_file(root / name).blake3 if 'blake3' in name else 'sha256:' + hash_file(root / name).sha256}"
        for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-blake3.txt")
    ]
    body = (
        f"evidencekit bundle\n{statement.origin}\ncreated {statement.created}\n"
        + "".join(line + "\n" for line in lines)
        + f"items {' '.join(statement.items)}\n"
    )
    return sign_note(body, key)


def test_an_older_bundle_without_the_openssl_form_stays_intact_with_a_warning(full_bundle):
    from evidencekit.bundle.bagit import write_tag_manifests

    key = _own_key()
    note = _old_form_statement(full_bundle, key)
    (full_bundle / "bundle-signature.txt").write_bytes(note.text().encode())
    for name in ("bundle-signature.body", "bundle-signature.sig"):
        (full_bundle / name).unlink()
    oxum = dict(line.split(": ", 1) for line in (full_bundle / "bag-info.txt").read_text().splitlines())["Payload-Oxum"]
    write_tag_manifests(full_bundle, oxum, int(oxum.split(".")[1]))
    code, report, _ = _verify_with(full_bundle, key.public.key_id)
    assert code == 0, report["problems"]
    assert [w["code"] for w in report["warnings"] if w["code"].startswith("bundle.")] == [
        "bundle.signature_openssl_form"
    ]


def test_a_new_bundle_stripped_of_the_openssl_form_fails(full_bundle):
    """The statement names both digests, so it was made with .body/.sig: their removal is a problem."""
    from evidencekit.bundle.bagit import write_tag_manifests

    for name in ("bundle-signature.body", "bundle-signature.sig"):
        (full_bundle / name).unlink()
    oxum = dict(line.split(": ", 1) for line in (full_bundle / "bag-info.txt").read_text().splitlines())["Payload-Oxum"]
    write_tag_manifests(full_bundle, oxum, int(oxum.split(".")[1]))
    code, report, _ = _verify_with(full_bundle)
    assert code == 3
    assert {p["path"] for p in report["problems"]} == {"bundle-signature.body", "bundle-signature.sig"}
