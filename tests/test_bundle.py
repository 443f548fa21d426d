"""Exported bundles: accepted by standard validators; every tampering detected by `evidencekit verify`."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from bundlekit import flip_byte, rebag
from casekit import make_case, run_cli

from evidencekit.signing import Checkpoint, SignedNote, generate_key, sign_checkpoint

IMAGES = os.path.join(os.path.dirname(__file__), "data", "images")


@pytest.fixture
def case(tmp_path):
    case = make_case(tmp_path / "case")
    chat = tmp_path / "chat.txt"
    chat.write_text("Recruiter: the visa is free, bring your passport. WhatsApp +971 50 123 4567\n", encoding="utf-8")
    photo = os.path.join(IMAGES, "exif_full_gps_north_east.jpg")
    assert run_cli(["--case", str(case), "add", photo, str(chat)]).exit_code == 0
    assert run_cli(["--case", str(case), "note", "recruiter's photo", "--item", "file-0001"]).exit_code == 0
    return case


@pytest.fixture
def bundle_dir(case, tmp_path):
    out = tmp_path / "bundle"
    result = run_cli(["--case", str(case), "export", str(out), "--all", "--dir", "--json"])
    assert result.exit_code == 0, result.stderr
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
    proc = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(pem),
            "-rawin",
            "-in",
            "data/custody/checkpoint.body",
            "-sigfile",
            "data/custody/checkpoint.sig",
        ],
        cwd=bundle_dir,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "Signature Verified Successfully" in proc.stdout
    flip_byte(bundle_dir / "data/custody/checkpoint.body", 3)
    proc = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(pem),
            "-rawin",
            "-in",
            "data/custody/checkpoint.body",
            "-sigfile",
            "data/custody/checkpoint.sig",
        ],
        cwd=bundle_dir,
        capture_output=True,
        text=True,
    )
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
    entry = json.loads(lines[1])
    lines[1] = lines[1].replace(b"exif_full_gps", b"exif_fuLL_gps")
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
