"""Files made at export are bound to the ledger: an insider who re-signs a bundle cannot change them unseen.

No ledger digest covers a capture's capture.wacz or an added file's metadata.json, since export makes them.
An insider holding the investigator's key can rebuild the manifests and sign the bundle statement again
(``bundlekit.rebag(root, key=...)``); `verify --key` must still say FAILED, naming the item and the file, when
the WACZ of one capture is put in another's place, when its page list and mainPageUrl name a forged URL (its
own digests redone, so the WACZ still agrees with itself and passes `wacz validate`), when its index points
elsewhere, and when an item's metadata.json says something its ledger lines do not.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bundlekit import rebag
from casekit import make_case, run_cli

from evidencekit.bundle.derived import item_metadata, metadata_bytes
from evidencekit.bundle.wacz import check_wacz
from evidencekit.keys import keys_dir, load_key
from evidencekit.ledger.entries import group_items
from evidencekit.models import LedgerEntry

BIN = Path(sys.executable).parent
FIRST, SECOND, ADDED = "capture-0001", "capture-0002", "file-0001"
FORGED = "https://forged.example/" + "a-much-longer-path-than-the-real-one/" * 4


@pytest.fixture(scope="module")
def master(tmp_path_factory, site):
    """A real case (an added file, two captures of the fixture site) exported once, and the key that signed it."""
    folder = tmp_path_factory.mktemp("derived")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        chat = folder / "chat.txt"
        chat.write_text("Recruiter: the visa is free, bring your passport.\n", encoding="utf-8")
        assert run_cli(["--case", str(case), "add", str(chat)]).exit_code == 0
        urls = [site.url("/jobs/domestic-work.html"), site.url("/lazy.html")]
        result = run_cli(["--case", str(case), "capture", *urls])
        assert result.exit_code == 0, result.stderr
        result = run_cli(["--case", str(case), "export", str(folder / "bundle"), "--all", "--dir", "--no-pdf"])
        assert result.exit_code == 0, result.stderr
        key = load_key(keys_dir(dict(os.environ)))
    return {"bundle": folder / "bundle", "key": key, "urls": urls}


@pytest.fixture
def bundle(master, tmp_path):
    out = tmp_path / "bundle"
    shutil.copytree(master["bundle"], out)
    return out


def _verify(master: dict[str, Any], root: Path) -> tuple[int, dict[str, Any], str]:
    key_id = master["key"].public.key_id
    report = run_cli(["verify", str(root), "--key", key_id, "--json"])
    text = run_cli(["verify", str(root), "--key", key_id])
    assert report.exit_code == text.exit_code
    return report.exit_code, json.loads(report.stdout), text.stdout.splitlines()[-1]


def _failed(master: dict[str, Any], root: Path) -> list[dict[str, Any]]:
    """Re-sign as the insider, verify with --key: FAILED, exit 3; the problems found."""
    rebag(root, master["key"])
    code, report, verdict = _verify(master, root)
    assert code == 3 and not report["ok"], report["problems"]
    assert verdict.startswith("FAILED") and "VERIFIED" not in verdict
    return report["problems"]


def _wacz(root: Path, item: str) -> Path:
    return root / "data/items" / item / "capture.wacz"


def _rewrite_wacz(path: Path, change: Callable[[dict[str, bytes], dict[str, Any]], None]) -> None:
    """Change entries of a WACZ and redo its digests as a careful forger would: every resource's hash and
    size in datapackage.json, and datapackage-digest.json, so the package agrees with itself again."""
    with zipfile.ZipFile(path) as zf:
        data = {info.filename: zf.read(info) for info in zf.infolist()}
    package = json.loads(data["datapackage.json"])
    change(data, package)
    for resource in package["resources"]:
        body = data[resource["path"]]
        resource["hash"] = "sha256:" + hashlib.sha256(body).hexdigest()
        resource["bytes"] = len(body)
    data["datapackage.json"] = (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(data["datapackage.json"]).hexdigest()}
    data["datapackage-digest.json"] = (json.dumps(digest, indent=2) + "\n").encode("utf-8")
    path.unlink()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(data):
            zf.writestr(name, data[name])
    assert check_wacz(path) == [], "the forged WACZ agrees with itself"


def _edit_pages(data: dict[str, bytes], edit: Callable[[dict[str, Any]], None]) -> None:
    lines = [json.loads(line) for line in data["pages/pages.jsonl"].splitlines()]
    for page in lines[1:]:
        edit(page)
    data["pages/pages.jsonl"] = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in lines).encode("utf-8")


def _codes(problems: list[dict[str, Any]], path: str) -> set[str]:
    return {p["code"] for p in problems if p["path"] == path}


# --- an untouched bundle ------------------------------------------------------------------------------------


def test_an_untouched_bundle_is_verified_with_its_key(master, bundle):
    code, report, verdict = _verify(master, bundle)
    assert code == 0 and report["problems"] == [] and report["warnings"] == []
    assert verdict.startswith("VERIFIED \N{EM DASH} signed by ")
    assert any(check.startswith("files made at export against the bundle's ledger lines") for check in report["checks"])


def test_the_bundle_holds_what_the_shared_function_makes_from_its_ledger_lines(bundle):
    """The verifier's expectation is the exporter's own output: the same function, byte for byte."""
    raws = (bundle / "data/custody/ledger.jsonl").read_bytes().split(b"\n")[:-1]
    grouped = group_items([LedgerEntry.from_raw(raw) for raw in raws])
    written = (bundle / "data/items" / ADDED / "metadata.json").read_bytes()
    assert written == metadata_bytes(item_metadata(ADDED, grouped[ADDED]))


def test_a_re_signed_but_untouched_bundle_is_still_verified(master, bundle):
    rebag(bundle, master["key"])
    code, report, _ = _verify(master, bundle)
    assert code == 0, report["problems"]


# --- (a) a WACZ that is not of its item ---------------------------------------------------------------------


def test_the_waczs_of_two_captures_swapped_and_re_signed(master, bundle):
    first, second = _wacz(bundle, FIRST), _wacz(bundle, SECOND)
    held = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(held)
    problems = _failed(master, bundle)
    for item in (FIRST, SECOND):
        rel = f"data/items/{item}/capture.wacz"
        found = [p for p in problems if p["path"] == rel]
        assert "wacz.not_of_item" in {p["code"] for p in found} and "wacz.page_url" in {p["code"] for p in found}
        assert all(p["message"].startswith(f"item {item}: ") for p in found)
    assert {p["path"] for p in problems} == {f"data/items/{i}/capture.wacz" for i in (FIRST, SECOND)}
    url_problem = next(
        p for p in problems if p["path"].endswith(f"{FIRST}/capture.wacz") and p["code"] == "wacz.page_url"
    )
    assert master["urls"][1] in url_problem["message"] and master["urls"][0] in url_problem["message"]


def test_one_wacz_copied_over_another(master, bundle):
    shutil.copyfile(_wacz(bundle, SECOND), _wacz(bundle, FIRST))
    problems = _failed(master, bundle)
    assert "wacz.not_of_item" in _codes(problems, f"data/items/{FIRST}/capture.wacz")
    assert _codes(problems, f"data/items/{SECOND}/capture.wacz") == set()


def test_a_warc_of_the_same_size_but_other_bytes_inside_the_wacz(master, bundle):
    def change(data: dict[str, bytes], package: dict[str, Any]) -> None:
        warc = bytearray(data["archive/data.warc.gz"])
        warc[len(warc) // 2] ^= 0x01
        data["archive/data.warc.gz"] = bytes(warc)

    _rewrite_wacz(_wacz(bundle, FIRST), change)
    problems = _failed(master, bundle)
    found = [p for p in problems if p["path"] == f"data/items/{FIRST}/capture.wacz" and p["code"] == "wacz.not_of_item"]
    assert found and "SHA-256" in found[0]["message"] and "seq" in found[0]["message"]


# --- (a') a forged page in a WACZ that agrees with itself ---------------------------------------------------


def test_a_forged_page_url_with_the_wacz_digests_redone(master, bundle):
    def change(data: dict[str, bytes], package: dict[str, Any]) -> None:
        _edit_pages(data, lambda page: page.update(url=FORGED))
        package["mainPageUrl"] = FORGED

    wacz = _wacz(bundle, FIRST)
    _rewrite_wacz(wacz, change)
    proc = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True)
    assert proc.returncode == 0, "standard tools accept the forged package: " + proc.stdout + proc.stderr
    problems = _failed(master, bundle)
    rel = f"data/items/{FIRST}/capture.wacz"
    found = [p for p in problems if p["path"] == rel and p["code"] == "wacz.page_url"]
    assert len(found) == 2, problems
    assert any("pages/pages.jsonl" in p["message"] for p in found)
    assert any("mainPageUrl" in p["message"] for p in found)
    assert all(FORGED in p["message"] and master["urls"][0] in p["message"] for p in found)
    assert {p["path"] for p in problems} == {rel}


def test_a_forged_page_title(master, bundle):
    _rewrite_wacz(_wacz(bundle, SECOND), lambda data, package: _edit_pages(data, lambda p: p.update(title="Harmless")))
    problems = _failed(master, bundle)
    found = [p for p in problems if p["code"] == "wacz.page_title"]
    assert [p["path"] for p in found] == [f"data/items/{SECOND}/capture.wacz"] and "Harmless" in found[0]["message"]


def test_a_forged_capture_time(master, bundle):
    def change(data: dict[str, bytes], package: dict[str, Any]) -> None:
        _edit_pages(data, lambda page: page.update(ts="2020-01-01T00:00:00.000000Z"))
        package["mainPageDate"] = "2020-01-01T00:00:00.000000Z"

    _rewrite_wacz(_wacz(bundle, FIRST), change)
    problems = _failed(master, bundle)
    assert _codes(problems, f"data/items/{FIRST}/capture.wacz") == {"wacz.page_time"}


def test_an_index_that_points_elsewhere(master, bundle):
    def change(data: dict[str, bytes], package: dict[str, Any]) -> None:
        lines = data["indexes/index.cdxj"].decode().splitlines()
        key, stamp, fields = lines[-1].split(" ", 2)
        moved = json.loads(fields)
        moved["offset"] = "0"  # the first record: still inside the WARC, so the package agrees with itself
        lines[-1] = f"{key} {stamp} {json.dumps(moved)}"
        data["indexes/index.cdxj"] = "".join(line + "\n" for line in lines).encode()

    _rewrite_wacz(_wacz(bundle, SECOND), change)
    problems = _failed(master, bundle)
    found = [p for p in problems if p["code"] == "wacz.index"]
    assert [p["path"] for p in found] == [f"data/items/{SECOND}/capture.wacz"] and "line" in found[0]["message"]


def test_an_entry_export_never_writes_added_to_a_wacz(master, bundle):
    def change(data: dict[str, bytes], package: dict[str, Any]) -> None:
        data["pages/extraPages.jsonl"] = b'{"format": "json-pages-1.0", "id": "extra"}\n'
        package["resources"].append({"name": "extraPages.jsonl", "path": "pages/extraPages.jsonl"})

    _rewrite_wacz(_wacz(bundle, FIRST), change)
    problems = _failed(master, bundle)
    found = [p for p in problems if p["code"] == "wacz.derived_differs"]
    assert found and "pages/extraPages.jsonl" in found[0]["message"]


def test_a_capture_without_its_wacz(master, bundle):
    _wacz(bundle, FIRST).unlink()
    problems = _failed(master, bundle)
    assert _codes(problems, f"data/items/{FIRST}/capture.wacz") == {"wacz.missing"}


# --- (b) metadata.json made at export ------------------------------------------------------------------------


def _edit_metadata(root: Path, change: Callable[[dict[str, Any]], None], *, indent: int = 2) -> None:
    path = root / "data/items" / ADDED / "metadata.json"
    value = json.loads(path.read_text(encoding="utf-8"))
    change(value)
    path.write_text(json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda v: v["details"].update(original_name="invoice.txt"), "details.original_name"),
        (lambda v: v.update(recorded="2020-01-01T00:00:00.000000Z"), "recorded"),
        (lambda v: v.update(seized_from="the suspect's phone"), "adds seized_from"),
        (lambda v: v.pop("ledger_seqs"), "lacks ledger_seqs"),
    ],
)
def test_metadata_json_changed_and_re_signed(master, bundle, change, said):
    _edit_metadata(bundle, change)
    problems = _failed(master, bundle)
    rel = f"data/items/{ADDED}/metadata.json"
    assert [(p["code"], p["path"]) for p in problems] == [("metadata.derived_differs", rel)]
    assert ADDED in problems[0]["message"] and said in problems[0]["message"]


def test_metadata_json_rewritten_in_another_form(master, bundle):
    """The same values written otherwise are still not the file export made: compared byte for byte."""
    _edit_metadata(bundle, lambda value: None, indent=4)
    problems = _failed(master, bundle)
    assert [p["code"] for p in problems] == ["metadata.derived_differs"]
    assert "another form" in problems[0]["message"]


def test_metadata_json_removed(master, bundle):
    (bundle / "data/items" / ADDED / "metadata.json").unlink()
    problems = _failed(master, bundle)
    assert [(p["code"], p["path"]) for p in problems] == [("metadata.missing", f"data/items/{ADDED}/metadata.json")]


def test_a_file_no_ledger_entry_names_added_to_an_item(master, bundle):
    (bundle / "data/items" / ADDED / "confession.txt").write_text("I did it.\n", encoding="utf-8")
    problems = _failed(master, bundle)
    assert [(p["code"], p["path"]) for p in problems] == [("payload.unaccounted", f"data/items/{ADDED}/confession.txt")]


def test_a_folder_of_no_exported_item_added(master, bundle):
    extra = bundle / "data/items/file-0099"
    extra.mkdir()
    (extra / "chat.txt").write_text("planted\n", encoding="utf-8")
    problems = _failed(master, bundle)
    assert [(p["code"], p["path"]) for p in problems] == [("payload.unaccounted", "data/items/file-0099")]


def test_a_capture_s_recorded_metadata_is_held_to_its_ledger_digest_not_rebuilt(master, bundle):
    """A capture records its own metadata.json: the ledger's digests cover it (artefact.altered), and export
    makes none for it, so nothing is rebuilt for it."""
    path = bundle / "data/items" / FIRST / "metadata.json"
    path.write_bytes(path.read_bytes() + b" ")
    problems = _failed(master, bundle)
    assert [(p["code"], p["path"]) for p in problems] == [("artefact.altered", f"data/items/{FIRST}/metadata.json")]


# --- every kind of capture outcome ---------------------------------------------------------------------------


def test_a_case_mixing_every_outcome_verifies_with_its_key(mixed_bundle):
    """Complete, 404, 410, partial, failed and huge-title captures, an added file and notes: every WACZ and
    metadata.json export made is what the verifier rebuilds from the ledger."""
    ledger = mixed_bundle.ledger
    key_id = next(e["details"]["public_key"]["key_id"] for e in ledger if e["action"] == "key.registered")
    result = run_cli(["verify", str(mixed_bundle.root), "--key", key_id, "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["problems"] == [] and report["warnings"] == [], report["problems"]
    assert len(list(mixed_bundle.root.glob("data/items/capture-*/capture.wacz"))) >= 5
