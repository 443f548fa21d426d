"""`show ITEM --save NAME DIR`: a read-only, checked copy of one artefact under its own file name."""

import json
import os
import stat

import pytest
from casekit import make_case, run_cli

from evidencekit.hashing import hash_file


@pytest.fixture(scope="module")
def captured(tmp_path_factory, site):
    folder = tmp_path_factory.mktemp("show-save")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        result = run_cli(["--case", str(case), "capture", site.url("/jobs/domestic-work.html"), "--json"])
        assert result.exit_code == 0, result.stderr
    item = run_cli(["--case", str(case), "items", "--json"])
    (first,) = json.loads(item.stdout)
    return case, first["item_id"]


def _artefact(case, item_id, name):
    shown = json.loads(run_cli(["--case", str(case), "show", item_id, "--json"]).stdout)
    (found,) = [a for e in shown["entries"] for a in e["artefacts"] if a["name"] == name]
    return found


def test_the_full_page_screenshot_is_saved_read_only_under_its_own_name(captured, tmp_path):
    case, item_id = captured
    out = tmp_path / "look"
    out.mkdir()
    result = run_cli(["--case", str(case), "show", item_id, "--save", "screenshot.png", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    saved = out / "screenshot.png"
    assert json.loads(result.stdout)["path"] == str(saved)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o444
    recorded = _artefact(case, item_id, "screenshot.png")
    digests = hash_file(saved)
    assert digests.sha256_tagged == recorded["sha256"]
    assert digests.blake3_tagged == recorded["blake3"]
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.iterdir()] == ["screenshot.png"]  # no temp file left behind


def test_saving_refuses_to_overwrite_an_unknown_name_or_the_case_folder(captured, tmp_path):
    case, item_id = captured
    out = tmp_path / "look"
    out.mkdir()
    (out / "dom.html").write_text("mine")
    result = run_cli(["--case", str(case), "show", item_id, "--save", "dom.html", str(out)])
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert (out / "dom.html").read_text() == "mine"
    result = run_cli(["--case", str(case), "show", item_id, "--save", "no-such.png", str(out)])
    assert result.exit_code == 2
    assert "no artefact named 'no-such.png'" in result.stderr
    before = sorted(p.name for p in case.iterdir())
    result = run_cli(["--case", str(case), "show", item_id, "--save", "screenshot.png", str(case)])
    assert result.exit_code == 2
    assert "inside the case folder" in result.stderr
    assert sorted(p.name for p in case.iterdir()) == before


def test_an_altered_object_is_never_saved(tmp_path):
    case = make_case(tmp_path / "case")
    ad = tmp_path / "ad.txt"
    ad.write_text("Au pair wanted, call +49 30 901820\n")
    added = run_cli(["--case", str(case), "add", str(ad), "--json"])
    assert added.exit_code == 0, added.stderr
    item_id = json.loads(added.stdout)[0]["item_id"]
    recorded = _artefact(case, item_id, "ad.txt")
    obj = next(p for p in (case / "objects").rglob("*") if p.is_file() and p.name.startswith(recorded["blake3"][7:]))
    os.chmod(obj, 0o644)
    obj.write_text("Au pair wanted, call +49 30 000000\n")
    out = tmp_path / "look"
    out.mkdir()
    result = run_cli(["--case", str(case), "show", item_id, "--save", "ad.txt", str(out)])
    assert result.exit_code == 3
    assert "nothing was saved" in result.stderr
    assert list(out.iterdir()) == []
