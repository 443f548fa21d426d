"""Evidence whose file names look like what a bundle writes itself: a .wacz, a metadata.json, a capture.wacz.

They are evidence like any other file: stored under names that cannot take the place of the bundle's own
files, and held to their recorded digests by `verify`, never judged by the form their names claim.
"""

import json
from pathlib import Path

import pytest
from casekit import make_case, run_cli


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    case = make_case(tmp_path / "case")
    seized = tmp_path / "seized"
    seized.mkdir()
    (seized / "suspect-archive.wacz").write_bytes(b"not a zip: an archive the suspect made, truncated\n")
    (seized / "metadata.json").write_text('{"forged": "a file that only calls itself metadata"}\n')
    (seized / "capture.wacz").write_bytes(b"also not a zip\n")
    files = [str(seized / name) for name in ("suspect-archive.wacz", "metadata.json", "capture.wacz")]
    assert run_cli(["--case", str(case), "add", *files]).exit_code == 0
    out = tmp_path / "bundle"
    result = run_cli(["--case", str(case), "export", str(out), "--dir", "--all", "--no-pdf"])
    assert result.exit_code == 0, result.stderr
    return out


def test_evidence_named_like_bundle_files_is_kept_apart_and_verifies(bundle: Path) -> None:
    items = bundle / "data" / "items"
    assert (items / "file-0001" / "suspect-archive.wacz").read_bytes().startswith(b"not a zip")
    assert json.loads((items / "file-0002" / "file-metadata.json").read_text()) == {
        "forged": "a file that only calls itself metadata"
    }
    assert json.loads((items / "file-0002" / "metadata.json").read_text())["item_id"] == "file-0002"
    assert (items / "file-0003" / "file-capture.wacz").read_bytes() == b"also not a zip\n"
    assert not (items / "file-0003" / "capture.wacz").exists()
    result = run_cli(["verify", str(bundle)])
    assert result.exit_code == 0, result.stdout
    assert "INTACT" in result.stdout and "wacz.invalid" not in result.stdout


def test_an_altered_wacz_that_is_evidence_is_found_by_its_digest(bundle: Path) -> None:
    (bundle / "data" / "items" / "file-0001" / "suspect-archive.wacz").write_bytes(b"not a zip: swapped\n")
    result = run_cli(["verify", str(bundle), "--json"])
    assert result.exit_code == 3
    codes = {p["code"] for p in json.loads(result.stdout)["problems"]}
    assert "artefact.altered" in codes and "payload.altered" in codes
