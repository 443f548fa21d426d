"""VERIFY.txt's checks, run literally with standard tools alone, on a real bundle exported by the CLI.

Every line of VERIFY.txt marked as a check (``$ `` after its indentation) runs as written, with
``bash -c`` in the bag folder, in an environment that holds no evidencekit: PATH is /usr/bin:/bin and
a folder holding only the bagit tool's entry point (the venv VERIFY.txt tells a reader to make), KEYID
is the investigator's key id as the reader was told to set it, nothing else. Then the bundle is forged
as an examiner would never notice with manifests alone (issue 12, finding 1): a payload file changed
and every manifest, the tag manifests and Payload-Oxum rebuilt; and again by someone who re-signs
everything under a key of his own.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from bundlekit import rebag
from casekit import make_case, run_cli
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from evidencekit.bundle.layout import (
    BUNDLE_SIGNATURE,
    BUNDLE_SIGNATURE_BODY,
    BUNDLE_SIGNATURE_SIG,
    CHECKPOINT,
    CHECKPOINT_BODY,
    CHECKPOINT_SIG,
    VERIFY_TXT,
    key_path,
)
from evidencekit.keys import SigningKey
from evidencekit.ledger.notes import SignedNote, sign_checkpoint

CHECK = re.compile(r"^ +\$ (.+)$", re.MULTILINE)
COMPARES_KEY_ID = '"$KEYID"'


@dataclass(frozen=True)
class Exported:
    bag: Path
    key_id: str
    tools: Path  # holds only bagit.py, the one tool VERIFY.txt installs in a venv


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, site) -> Exported:
    folder = tmp_path_factory.mktemp("verify-txt")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        result = run_cli(["--case", str(case), "capture", site.url("/jobs/domestic-work.html")])
        assert result.exit_code == 0, result.stderr
        (folder / "chat.txt").write_text("call me on +44 7700 900123\n")
        assert run_cli(["--case", str(case), "add", str(folder / "chat.txt")]).exit_code == 0
        result = run_cli(["--case", str(case), "export", str(folder / "bundle"), "--all", "--dir"])
        assert result.exit_code == 0, result.stderr
        key_id = json.loads(run_cli(["keys", "show", "--json"]).stdout)["key_id"]
    tools = folder / "tools"
    tools.mkdir()
    (tools / "bagit.py").symlink_to(Path(sys.executable).parent / "bagit.py")
    return Exported(folder / "bundle", key_id, tools)


@pytest.fixture
def bag(exported: Exported, tmp_path: Path) -> Path:
    copy = tmp_path / "bag"
    shutil.copytree(exported.bag, copy)
    return copy


def checks(bag: Path) -> list[str]:
    return CHECK.findall((bag / VERIFY_TXT).read_text(encoding="utf-8"))


def run(bag: Path, line: str, tools: Path, key_id: str | None) -> subprocess.CompletedProcess[str]:
    """One check, exactly as written, in a shell that knows only the standard tools."""
    env = {"PATH": f"/usr/bin:/bin:{tools}", "HOME": str(bag.parent), "LC_ALL": "C.UTF-8"}
    if key_id is not None:
        env["KEYID"] = key_id
    return subprocess.run(
        ["bash", "-c", line], cwd=bag, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def outcomes(bag: Path, exported: Exported, key_id: str | None) -> dict[str, subprocess.CompletedProcess[str]]:
    return {line: run(bag, line, exported.tools, key_id) for line in checks(bag)}


def test_the_clean_shell_has_no_evidencekit(exported: Exported) -> None:
    assert run(exported.bag, "command -v evidencekit", exported.tools, None).returncode != 0
    assert run(exported.bag, "python3 -c 'import evidencekit'", exported.tools, None).returncode != 0
    assert [p.name for p in exported.tools.iterdir()] == ["bagit.py"]


def test_verify_txt_marks_its_checks_and_documents_the_rest(exported: Exported) -> None:
    text = (exported.bag / VERIFY_TXT).read_text(encoding="utf-8")
    lines = checks(exported.bag)
    pem = key_path(exported.key_id, "pem")
    expected = [
        "sha256sum -c manifest-sha256.txt",
        "b3sum --check manifest-blake3.txt",
        "bagit.py --validate .",
        f"openssl pkeyutl -verify -pubin -inkey {pem} -rawin -in {BUNDLE_SIGNATURE_BODY} -sigfile {BUNDLE_SIGNATURE_SIG}",
        f"openssl pkeyutl -verify -pubin -inkey {pem} -rawin -in {CHECKPOINT_BODY} -sigfile {CHECKPOINT_SIG}",
        "shasum -a 256 -c manifest-sha256.txt",
    ]
    assert all(line in lines for line in expected), lines
    assert sum(BUNDLE_SIGNATURE_BODY in line and "sha256sum -c" in line for line in lines) == 1
    assert sum(BUNDLE_SIGNATURE_BODY in line and "b3sum --check" in line for line in lines) == 1
    assert sum(COMPARES_KEY_ID in line for line in lines) == 2  # coreutils and macOS shasum
    assert not any("evidencekit" in line.split()[0] or "python " in line for line in lines)
    # Setup lines are shown for a person to type once, unmarked, so that no test runs them.
    for setup in (
        "python3 -m venv /tmp/bagit-venv && /tmp/bagit-venv/bin/pip install bagit",
        'export PATH="/tmp/bagit-venv/bin:$PATH"',
        "export KEYID=",
        "brew install openssl@3 b3sum",
    ):
        assert f"\n       {setup}" in text
    windows = [line for line in text.splitlines() if line.strip().startswith("PS> ")]
    assert len(windows) == 2 and all("Get-FileHash -Algorithm SHA256" in line for line in windows)
    assert "What only evidencekit verify checks" in text and "inclusion proofs with BLAKE3" in text


def test_every_check_passes_on_a_fresh_bundle(exported: Exported) -> None:
    results = outcomes(exported.bag, exported, exported.key_id)
    assert len(results) >= 12
    failed = {line: r.stdout + r.stderr for line, r in results.items() if r.returncode != 0}
    assert failed == {}
    for line, result in results.items():
        if line.startswith("openssl pkeyutl"):
            assert result.stdout.strip() == "Signature Verified Successfully"
        if line.startswith("openssl pkey ") or COMPARES_KEY_ID in line:
            assert result.stdout == exported.key_id + "\n"
        if BUNDLE_SIGNATURE_BODY in line and "-c" in line.split():
            assert result.stdout.count(": OK\n") == 4, result.stdout
    assert "is valid" in results["bagit.py --validate ."].stderr


def test_the_key_id_check_fails_without_the_out_of_band_id(exported: Exported) -> None:
    results = outcomes(exported.bag, exported, None)
    assert {line for line, r in results.items() if r.returncode != 0} == {
        line for line in results if COMPARES_KEY_ID in line
    }


def paint_phone_number(bag: Path) -> Path:
    """Paint over a strip of the capture's screenshot, as a forger changing a number on it would."""
    (screenshot,) = bag.glob("data/items/capture-*/screenshot.png")
    with Image.open(screenshot) as image:
        painted = image.convert("RGB")
    for x in range(40, 240):
        for y in range(60, 80):
            painted.putpixel((x, y), (200, 0, 0))
    painted.save(screenshot)
    return screenshot


def test_a_forged_screenshot_with_rebuilt_manifests_fails_the_statement(bag: Path, exported: Exported) -> None:
    before = checks(bag)
    paint_phone_number(bag)
    (chat,) = bag.glob("data/items/file-*/chat.txt")
    chat.write_text("call me on +44 7700 900999\n")
    rebag(bag)  # manifest-sha256.txt, manifest-blake3.txt, Payload-Oxum, both tag manifests
    assert checks(bag) == before
    results = outcomes(bag, exported, exported.key_id)
    failed = {line for line, r in results.items() if r.returncode != 0}
    # What finding 1 saw: the manifests, the bag and the checkpoint signature all still pass.
    for line in ("sha256sum -c manifest-sha256.txt", "b3sum --check manifest-blake3.txt", "bagit.py --validate ."):
        assert line not in failed, results[line].stdout + results[line].stderr
    # The signed statement names the manifests as the investigator signed them: they no longer match.
    statement = {line for line in results if BUNDLE_SIGNATURE_BODY in line and "-c" in line.split()}
    statement |= {line for line in results if BUNDLE_SIGNATURE_BODY in line and "--check" in line.split()}
    assert len(statement) == 3 and statement <= failed
    for line in statement:
        assert "manifest-sha256.txt: FAILED" in results[line].stdout
        assert "manifest-blake3.txt: FAILED" in results[line].stdout and "bag-info.txt: FAILED" in results[line].stdout
    assert failed == statement
    verified = run_cli(["verify", str(bag), "--key", exported.key_id])
    assert verified.exit_code == 3


def resign_under_another_key(bag: Path, real_key_id: str) -> str:
    """Everything made again, consistently, by someone holding a key of his own under the same name: his
    public key bundled, the checkpoint and the statement signed by it, VERIFY.txt naming his key."""
    forger = SigningKey(Ed25519PrivateKey.generate(), "Ana Lima")
    mine = forger.public
    (bag / key_path(mine.key_id, "pem")).write_text(mine.pem(), encoding="ascii")
    (bag / key_path(mine.key_id, "json")).write_text(json.dumps(mine.to_dict()), encoding="utf-8")
    note = sign_checkpoint(SignedNote.parse((bag / CHECKPOINT).read_text()).checkpoint(), forger)
    (bag / CHECKPOINT).write_text(note.text(), encoding="utf-8")
    (bag / CHECKPOINT_BODY).write_text(note.body, encoding="utf-8")
    (bag / CHECKPOINT_SIG).write_bytes(note.signatures[0].signature)
    verify_txt = bag / VERIFY_TXT
    verify_txt.write_text(verify_txt.read_text().replace(real_key_id, mine.key_id), encoding="utf-8")
    rebag(bag, forger)
    return mine.key_id


def test_a_bundle_resigned_under_another_key_fails_only_the_key_id_comparison(bag: Path, exported: Exported) -> None:
    paint_phone_number(bag)
    forged_id = resign_under_another_key(bag, exported.key_id)
    results = outcomes(bag, exported, exported.key_id)
    failed = {line for line, r in results.items() if r.returncode != 0}
    assert failed == {line for line in results if COMPARES_KEY_ID in line}, failed
    assert len(failed) == 2 and all(results[line].stdout == "" for line in failed)
    # By eye: the line that prints the signer's key id shows the forger's id, not the one given out of band.
    (shown,) = [r.stdout for line, r in results.items() if line.startswith("openssl pkey ") and "grep" not in line]
    assert shown == forged_id + "\n" != exported.key_id + "\n"
    # With the forger's own id in KEYID every line passes: the key id, obtained out of band, is what binds.
    assert all(r.returncode == 0 for r in outcomes(bag, exported, forged_id).values())


# --- evidencekit verify holds the openssl form to the signed note ------------------------------------------


def problems(bag: Path) -> list[dict[str, str]]:
    result = run_cli(["verify", str(bag), "--json"])
    report = json.loads(result.stdout)
    assert (result.exit_code == 0) == (report["problems"] == [])
    return list(report["problems"])


def signature_problems(bag: Path) -> list[tuple[str, str]]:
    return [(p["path"], p["message"]) for p in problems(bag) if p["code"] == "bundle.signature"]


def test_the_tag_manifests_list_the_statement_in_all_three_forms(exported: Exported) -> None:
    for manifest in ("tagmanifest-sha256.txt", "tagmanifest-blake3.txt"):
        listed = {line.split("  ", 1)[1] for line in (exported.bag / manifest).read_text().splitlines()}
        assert {BUNDLE_SIGNATURE, BUNDLE_SIGNATURE_BODY, BUNDLE_SIGNATURE_SIG} <= listed
    note = SignedNote.parse((exported.bag / BUNDLE_SIGNATURE).read_text())
    assert (exported.bag / BUNDLE_SIGNATURE_BODY).read_text() == note.body
    assert (exported.bag / BUNDLE_SIGNATURE_SIG).read_bytes() == note.signatures[0].signature
    assert len(note.signatures[0].signature) == 64
    assert problems(exported.bag) == []


def test_a_changed_body_is_a_problem(bag: Path) -> None:
    body = bag / BUNDLE_SIGNATURE_BODY
    body.write_text(body.read_text().replace("items ", "items extra-0009 "))
    rebag(bag)
    found = signature_problems(bag)
    assert (BUNDLE_SIGNATURE_BODY, f"{BUNDLE_SIGNATURE_BODY} is not the text signed in {BUNDLE_SIGNATURE}") in found
    assert any(path == BUNDLE_SIGNATURE_SIG and "verifies" in message for path, message in found), found


def test_a_changed_signature_is_a_problem(bag: Path) -> None:
    sig = bag / BUNDLE_SIGNATURE_SIG
    data = bytearray(sig.read_bytes())
    data[7] ^= 0x01
    sig.write_bytes(bytes(data))
    rebag(bag)
    found = signature_problems(bag)
    assert (BUNDLE_SIGNATURE_SIG, f"{BUNDLE_SIGNATURE_SIG} is not the signature held in {BUNDLE_SIGNATURE}") in found
    assert len(found) == 2, found


@pytest.mark.parametrize("name", [BUNDLE_SIGNATURE_BODY, BUNDLE_SIGNATURE_SIG])
def test_a_missing_openssl_form_is_a_problem(bag: Path, name: str) -> None:
    (bag / name).unlink()
    rebag(bag)
    assert (name, f"{name} is missing") in signature_problems(bag)


def test_an_openssl_form_signed_by_another_key_is_a_problem(bag: Path) -> None:
    """A .body/.sig pair that openssl would accept under some bundled key, but not the one the note names."""
    other = SigningKey(Ed25519PrivateKey.generate(), "Ana Lima")
    (bag / key_path(other.public.key_id, "pem")).write_text(other.public.pem(), encoding="ascii")
    (bag / BUNDLE_SIGNATURE_SIG).write_bytes(other.sign((bag / BUNDLE_SIGNATURE_BODY).read_bytes()))
    rebag(bag)
    found = signature_problems(bag)
    assert (BUNDLE_SIGNATURE_SIG, f"{BUNDLE_SIGNATURE_SIG} is not the signature held in {BUNDLE_SIGNATURE}") in found
    assert any("no bundled public key the ledger records verifies" in message for _, message in found), found
