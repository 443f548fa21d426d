"""Links in exported bundles, through the real CLI: two captured ads sharing a phone number are linked in an
``analysis.recorded`` entry recorded before the export's checkpoint; the report draws the link picture (SVG)
and the table of links, report.pdf prints them; the bundle verifies and passes the standard validators;
``export --include-across`` names another case's item and records it, and without it no other case appears."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from casekit import make_case, run_cli

from evidencekit.bundle.documents.linkpicture import group_picture
from evidencekit.bundle.documents.report_links import NOT_RECORDED_SAID, links_section

PHONE = "+442079460958"  # on the fixture ad, in its main content
OTHER_ID = "TRAF-2026-077"
SVG = "{http://www.w3.org/2000/svg}"


def _ledger(case: Path) -> list[dict]:
    result = run_cli(["--case", str(case), "log", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _analyses(case: Path) -> list[dict]:
    return [e for e in _ledger(case) if e["action"] == "analysis.recorded"]


@pytest.fixture(scope="module")
def linked(tmp_path_factory, site):
    """Case one: the same ad captured from two boards (one phone number); case two: the ad once more."""
    folder = tmp_path_factory.mktemp("report-links")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        urls = [site.url("/jobs/domestic-work.html?board=a"), site.url("/jobs/domestic-work.html?board=b")]
        assert run_cli(["--case", str(case), "capture", *urls]).exit_code == 0
        other = make_case(folder / "other", case_id=OTHER_ID)
        assert run_cli(["--case", str(other), "capture", site.url("/jobs/domestic-work.html?board=c")]).exit_code == 0
        bundle = folder / "bundle"
        result = run_cli(["--case", str(case), "export", str(bundle), "--all", "--dir"])
        assert result.exit_code == 0, result.stderr
        assert "links: links among 2 items: 1 group" in result.stdout
        across = folder / "across"
        result = run_cli(
            ["--case", str(case), "export", str(across), "--all", "--dir", "--no-pdf", "--include-across", str(other)]
        )
        assert result.exit_code == 0, result.stderr
    return {"case": case, "other": other, "bundle": bundle, "across": across, "folder": folder}


def test_export_records_the_links_before_its_checkpoint(linked):
    entries = _ledger(linked["case"])
    analysis = next(e for e in entries if e["action"] == "analysis.recorded")
    assert analysis["subject"] is None and analysis["artefacts"] == []
    details = analysis["details"]
    assert details["kind"] == "links" and details["include_across"] is False
    assert details["items"] == ["capture-0001", "capture-0002"]
    (said,) = details["cases"]
    assert {k: said[k] for k in ("case_id", "local")} == {"case_id": "TRAF-2026-001", "local": True}
    # Which case (two may share an id) and how far its ledger was read: the entries before the analysis.
    before = [e for e in entries if e["seq"] < analysis["seq"]]
    assert said["ledger_entries"] == len(before) and said["ledger_head"].startswith("blake3:")
    assert said["case_uuid"] == json.loads((linked["case"] / "case.json").read_text())["case_uuid"]
    (group,) = details["groups"]
    assert group["items"] == ["capture-0001", "capture-0002"]
    phones = [link for link in group["links"] if link["indicator"]["value"] == PHONE]
    assert phones and phones[0]["type"] == "indicator" and phones[0]["items"] == ["capture-0001", "capture-0002"]
    assert details["labels"]["capture-0001"].endswith("board=a")
    # Recorded before the export's checkpoint, so the bundle's excerpt carries it under its proofs.
    after = [e for e in entries if e["seq"] > analysis["seq"]]
    assert after[0]["action"] == "checkpoint.signed"
    assert next(e for e in entries if e["action"] == "export.created")["seq"] > after[0]["seq"]
    lines = (linked["bundle"] / "data/custody/ledger.jsonl").read_text(encoding="utf-8").splitlines()
    assert any(json.loads(line)["action"] == "analysis.recorded" for line in lines)


def test_the_report_draws_the_link_picture_and_the_table(linked):
    html = (linked["bundle"] / "data/report/index.html").read_text(encoding="utf-8")
    start = html.index('<section class="links" id="links">')
    section = html[start : html.index("</section>", start)]
    svg_text = section[section.index('<svg xmlns="http://www.w3.org/2000/svg" class="link-picture"') :]
    svg = ET.fromstring(svg_text[: svg_text.index("</svg>") + len("</svg>")])
    words = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert "capture-0001" in words and "capture-0002" in words and PHONE in words
    assert all(int(t.get("font-size", "0")) >= 12 for t in svg.iter(f"{SVG}text")), "9 pt or more when printed"
    assert not any(e.get("style") for e in svg.iter()), "the report's policy refuses style attributes"
    assert "Table of links" in section and "shared indicator" in section
    assert "as found:" in section and "same person" in section  # says what a link does not say
    assert 'href="#links"' in html


def test_report_pdf_prints_the_table_of_links(linked):
    pdf = linked["bundle"] / "data/report/report.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Links between items" in text and "Table of links" in text
    assert "shared indicator" in text and PHONE in text
    assert "capture-0001" in text and "How the links were found" in text


def test_the_bundle_verifies_and_standard_tools_accept_it(linked):
    bundle = linked["bundle"]
    result = run_cli(["verify", str(bundle), "--json"])
    assert result.exit_code == 0, result.stdout
    bagit = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bundle)], capture_output=True, text=True)
    assert bagit.returncode == 0 and "is valid" in bagit.stderr, bagit.stderr
    for cmd in (["b3sum", "--check", "manifest-blake3.txt"], ["sha256sum", "-c", "manifest-sha256.txt"]):
        proc = subprocess.run(cmd, cwd=bundle, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_file_slipped_into_data_analysis_fails_verify(linked, tmp_path):
    from bundlekit import rebag

    copy = tmp_path / "bag"
    shutil.copytree(linked["bundle"], copy)
    (copy / "data/analysis").mkdir()
    (copy / "data/analysis/match-0001.png").write_bytes(b"\x89PNG\r\n\x1a\nnot the exhibit")
    rebag(copy)
    result = run_cli(["verify", str(copy), "--json"])
    assert result.exit_code == 3
    problems = json.loads(result.stdout)["problems"]
    assert any(p["code"] == "payload.unaccounted" and p["path"] == "data/analysis/match-0001.png" for p in problems)


def test_include_across_names_the_other_case_and_records_it(linked):
    analysis = _analyses(linked["case"])[-1]
    details = analysis["details"]
    assert details["include_across"] is True
    other = next(c for c in details["cases"] if c["case_id"] == OTHER_ID)
    assert other["local"] is False
    assert other["case_uuid"] == json.loads((linked["other"] / "case.json").read_text())["case_uuid"]
    assert other["ledger_entries"] == len(_ledger(linked["other"]))
    (group,) = details["groups"]
    assert f"{OTHER_ID}/capture-0001" in group["items"]
    html = (linked["across"] / "data/report/index.html").read_text(encoding="utf-8")
    assert f"{OTHER_ID}/capture-0001" in html and "include other cases" in html
    assert run_cli(["verify", str(linked["across"])]).exit_code == 0
    # The other case was only read: nothing was recorded there.
    assert [e["action"] for e in _ledger(linked["other"])].count("analysis.recorded") == 0


def test_without_include_across_no_other_case_appears_in_the_bundle(linked):
    for path in (p for p in linked["bundle"].rglob("*") if p.is_file()):
        assert OTHER_ID.encode() not in path.read_bytes(), path


def test_include_across_refuses_this_case_itself(linked, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(linked["folder"] / "config"))
    before = len(_ledger(linked["case"]))
    out = tmp_path / "again"
    at = ["--case", str(linked["case"])]
    result = run_cli([*at, "export", str(out), "--all", "--no-pdf", "--include-across", str(linked["case"])])
    assert result.exit_code == 2 and "is this case" in result.stderr
    assert not out.exists() and len(_ledger(linked["case"])) == before


def test_linking_that_found_nothing_is_recorded_and_said(tmp_path, monkeypatch):
    case = make_case(tmp_path / "case")
    for name, text in (("a.txt", "first note"), ("b.txt", "second note")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert run_cli(["--case", str(case), "add", str(tmp_path / name)]).exit_code == 0
    out = tmp_path / "bundle"
    assert run_cli(["--case", str(case), "export", str(out), "--all", "--dir", "--no-pdf"]).exit_code == 0
    (analysis,) = _analyses(case)
    assert analysis["details"]["groups"] == [] and analysis["details"]["items"] == ["file-0001", "file-0002"]
    assert analysis["details"]["algorithms"], "which algorithms ran is recorded even when nothing was found"
    html = (out / "data/report/index.html").read_text(encoding="utf-8")
    assert "Linking found no link between these items" in html and 'class="link-picture"' not in html
    assert NOT_RECORDED_SAID not in html


def test_a_bundle_without_an_analysis_says_linking_was_not_recorded():
    said = links_section(None, None)
    assert "not recorded" in said and "not known" in said and "no link" not in said.lower()


def test_the_picture_escapes_hostile_text():
    hostile = '<script>alert(1)</script>"&\u202egpj.exe'
    group = {
        "items": ["capture-0001", "capture-0002", "capture-0003"],
        "links": [
            {"type": "indicator", "items": ["capture-0001", "capture-0002", "capture-0003"],
             "indicator": {"kind": "email", "value": hostile}},
            {"type": "photo", "items": ["capture-0001", "capture-0003"], "pdq_distance": 12, "inliers": 287},
        ],
    }  # fmt: skip
    svg = group_picture(1, group, 1, {"capture-0001": hostile})
    assert "<script" not in svg and "\u202e" not in svg
    tree = ET.fromstring(svg)
    words = " ".join(t.text or "" for t in tree.iter(f"{SVG}text"))
    assert "L2 visually matching photos" in words and "PDQ distance 12, 287 points" in words
    assert any(line.get("stroke-dasharray") for line in tree.iter(f"{SVG}line")), "photo links are dashed"


# --- added files: a number on two chat lines, a photo and its cropped copy ----------------------------------


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """Two text files with one Indian number written two ways (case region IN), a photo and its asymmetric
    crop re-encoded, and an unrelated photo of the same palette; exported as a folder with report.pdf."""
    import photokit

    folder = tmp_path_factory.mktemp("report-links-added")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        assert run_cli(["keys", "generate", "--investigator", "Ana Lima"]).exit_code == 0
        case = folder / "case"
        init = ["init", str(case), "--case-id", "TRAF-2026-090", "--title", "Chats", "--investigator", "Ana Lima"]
        assert run_cli([*init, "--region", "IN"]).exit_code == 0, "case region IN"
        (folder / "chat-a.txt").write_text("hello\ncall 98201 12345 tonight\n", encoding="utf-8")
        (folder / "chat-b.txt").write_text("new number: +91 98201-12345\n", encoding="utf-8")
        base = photokit.make_photo(23)
        photokit.save_jpeg(base, folder / "photo.jpg")
        photokit.save_jpeg(photokit.crop_asymmetric(base), folder / "cropped.jpg", quality=80)
        photokit.save_jpeg(photokit.unrelated(23), folder / "unrelated.jpg")
        for name in ("chat-a.txt", "chat-b.txt", "photo.jpg", "cropped.jpg", "unrelated.jpg"):
            result = run_cli(["--case", str(case), "add", str(folder / name)])
            assert result.exit_code == 0, result.stderr
        bundle = folder / "bundle"
        result = run_cli(["--case", str(case), "export", str(bundle), "--all", "--dir"])
        assert result.exit_code == 0, result.stderr
    return {"case": case, "bundle": bundle}


def test_added_files_are_linked_by_their_number_and_their_photo(added):
    (analysis,) = _analyses(added["case"])
    groups = analysis["details"]["groups"]
    links = [link for group in groups for link in group["links"]]
    phone = next(link for link in links if link["type"] == "indicator" and link["indicator"]["kind"] == "phone")
    assert phone["items"] == ["file-0001", "file-0002"] and phone["indicator"]["value"] == "+919820112345"
    assert [f.get("line") for f in phone["found"]] == [2, 1]
    (photo,) = [link for link in links if link["type"] == "photo"]
    assert photo["items"] == ["file-0003", "file-0004"] and photo["exhibit"] == "match-0001.png"
    assert photo["words"].startswith("visually matching (") and "matched points" in photo["words"]
    assert "file-0005" not in {i for group in groups for i in group["items"]}, "the unrelated photo"
    (artefact,) = analysis["artefacts"]
    assert artefact["name"] == "match-0001.png" and artefact["media_type"] == "image/png"
    exhibit = added["bundle"] / "data/analysis/match-0001.png"
    assert "data/analysis/match-<n>.png" in (added["bundle"] / "data/VERIFY.txt").read_text(encoding="utf-8")
    assert exhibit.read_bytes().startswith(b"\x89PNG")
    assert analysis["details"]["algorithms"]["pdq"], "the algorithms and their versions are recorded"


def test_the_report_shows_the_photo_words_and_the_exhibit(added):
    html = (added["bundle"] / "data/report/index.html").read_text(encoding="utf-8")
    (analysis,) = _analyses(added["case"])
    words = next(link for g in analysis["details"]["groups"] for link in g["links"] if link["type"] == "photo")["words"]
    assert words in html and "data/analysis/match-0001.png" in html
    assert 'src="../analysis/match-0001.png"' in html
    assert "1 exhibit images of photo matches (data/analysis)" in html, "counted apart from the custody files"
    assert "L2 visually matching photos" in html or "L1 visually matching photos" in html
    assert "it does not say that they are the same person's or the same photo" in html
    pdf = added["bundle"] / "data/report/report.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "visually matching (PDQ distance" in " ".join(text.split()) or "crop-resistant hash match" in text
    assert "+919820112345" in text and "match-0001.png" in text
    assert "on file-0001 (line 2) as found: 98201 12345" in " ".join(text.split())


def test_an_altered_exhibit_fails_verify_naming_it(added, tmp_path):
    from bundlekit import flip_byte, rebag

    assert run_cli(["verify", str(added["bundle"])]).exit_code == 0
    copy = tmp_path / "bag"
    shutil.copytree(added["bundle"], copy)
    flip_byte(copy / "data/analysis/match-0001.png", 200)
    rebag(copy)  # a careful forger: the manifests agree with the altered file
    result = run_cli(["verify", str(copy), "--json"])
    assert result.exit_code == 3
    problems = json.loads(result.stdout)["problems"]
    assert any(p["code"] == "artefact.altered" and p["path"] == "data/analysis/match-0001.png" for p in problems)
    (copy / "data/analysis/match-0001.png").unlink()
    rebag(copy)
    result = run_cli(["verify", str(copy), "--json"])
    assert result.exit_code == 3
    problems = json.loads(result.stdout)["problems"]
    assert any(p["code"] == "artefact.missing" and p["path"] == "data/analysis/match-0001.png" for p in problems)


def test_hostile_file_names_are_escaped_in_the_picture_and_the_table(tmp_path):
    case = make_case(tmp_path / "case")
    hostile = "<img src=x onerror=alert(1)>\u202egpj.txt"
    for number, name in enumerate((hostile, "plain.txt")):
        path = tmp_path / f"d{number}" / name
        path.parent.mkdir()
        path.write_text("write to agent.recruit@example.com\n", encoding="utf-8")
        assert run_cli(["--case", str(case), "add", str(path)]).exit_code == 0
    out = tmp_path / "bundle"
    assert run_cli(["--case", str(case), "export", str(out), "--all", "--dir", "--no-pdf"]).exit_code == 0
    (analysis,) = _analyses(case)
    assert analysis["details"]["labels"]["file-0001"] == hostile, "recorded as given"
    html = (out / "data/report/index.html").read_text(encoding="utf-8")
    section = html[html.index('<section class="links"') :]
    section = section[: section.index("</section>")]
    assert "<img src=x" not in section and "\u202e" not in section
    assert "agent.recruit@example.com" in section and "file-0001" in section
    svg = section[section.index('<svg xmlns="http://www.w3.org/2000/svg" class="link-picture"') :]
    ET.fromstring(svg[: svg.index("</svg>") + len("</svg>")])  # well-formed whatever the name held


def test_items_left_out_of_the_bundle_never_appear_in_its_links(added, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(added["case"].parent / "config"))
    out = tmp_path / "two"
    at = ["--case", str(added["case"])]
    result = run_cli([*at, "export", str(out), "--item", "file-0001", "--item", "file-0003", "--dir", "--no-pdf"])
    assert result.exit_code == 0, result.stderr
    analysis = _analyses(added["case"])[-1]
    assert analysis["details"]["items"] == ["file-0001", "file-0003"]
    assert analysis["details"]["groups"] == [] and analysis["artefacts"] == []
    html = (out / "data/report/index.html").read_text(encoding="utf-8")
    section = html[html.index('<section class="links"') :]
    assert "file-0002" not in section[: section.index("</section>")] and not (out / "data/analysis").exists()
    assert run_cli(["verify", str(out)]).exit_code == 0


def test_a_full_ledger_bundle_carries_the_exhibits_of_its_own_analysis_only(added, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(added["case"].parent / "config"))
    out = tmp_path / "full"
    at = ["--case", str(added["case"])]
    assert run_cli([*at, "export", str(out), "--all", "--dir", "--no-pdf", "--full-ledger"]).exit_code == 0
    lines = [json.loads(line) for line in (out / "data/custody/ledger.jsonl").read_text().splitlines()]
    analyses = [line for line in lines if line["action"] == "analysis.recorded"]
    assert len(analyses) >= 2, "the earlier export's analysis is in the full ledger too"
    assert analyses[-1]["seq"] == _analyses(added["case"])[-1]["seq"]
    shipped = sorted(p.name for p in (out / "data/analysis").iterdir())
    assert shipped == [a["name"] for a in analyses[-1]["artefacts"]] == ["match-0001.png"]
    result = run_cli(["verify", str(out), "--json"])
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["facts"]["ledger_complete"] is True


def test_the_picture_is_the_same_every_time_and_no_label_covers_a_box_or_a_label():
    items = [f"capture-{n:04d}" for n in range(1, 8)]
    links = [
        {"type": "indicator", "items": items[:4], "indicator": {"kind": "phone", "value": "+919820112345"}},
        {"type": "indicator", "items": [items[0], items[5]], "indicator": {"kind": "upi", "value": "priya@okaxis"}},
        {"type": "photo", "items": [items[1], items[6]], "pdq_distance": 12, "inliers": 287},
        {"type": "photo", "items": [items[4], items[5]], "pdq_distance": None, "inliers": 95},
        {"type": "indicator", "items": [items[2], items[4]], "indicator": {"kind": "whatsapp", "value": "+9198"}},
    ]
    group = {"items": items, "links": links}
    svg = group_picture(1, group, 1, {})
    assert svg == group_picture(1, group, 1, {})
    rects = [
        (float(r.get("x")), float(r.get("y")), float(r.get("x")) + float(r.get("width")),
         float(r.get("y")) + float(r.get("height")))
        for r in ET.fromstring(svg).iter(f"{SVG}rect")
        if r.get("stroke-width") in ("0.6", "1.5")  # labels and item boxes
    ]  # fmt: skip
    assert len(rects) == len(items) + len(links)
    for n, a in enumerate(rects):
        for b in rects[n + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def _segment_meets_box(x1, y1, x2, y2, box) -> bool:
    """Whether the segment passes through the inside of ``box`` (sampled finely: boxes are tens of pixels)."""
    left, top, right, bottom = box
    for n in range(401):
        x, y = x1 + (x2 - x1) * n / 400, y1 + (y2 - y1) * n / 400
        if left + 1 < x < right - 1 and top + 1 < y < bottom - 1:
            return True
    return False


def test_no_line_passes_under_a_box_or_a_label_it_does_not_end_at():
    items = [f"capture-{n:04d}" for n in range(1, 9)]
    links = [
        {"type": "indicator", "items": items[:5], "indicator": {"kind": "phone", "value": "+919820112345"}},
        {"type": "indicator", "items": [items[0], items[7]], "indicator": {"kind": "upi", "value": "priya@okaxis"}},
        {"type": "photo", "items": [items[1], items[6]], "pdq_distance": 12, "inliers": 287},
        {"type": "photo", "items": [items[4], items[5]], "pdq_distance": None, "inliers": 95},
        {"type": "indicator", "items": [items[2], items[7]], "indicator": {"kind": "whatsapp", "value": "+9198"}},
        {"type": "indicator", "items": [items[3], items[6]], "indicator": {"kind": "email", "value": "a@b.example"}},
    ]
    root = ET.fromstring(group_picture(1, {"items": items, "links": links}, 1, {}))
    boxes = [
        (float(r.get("x")), float(r.get("y")), float(r.get("x")) + float(r.get("width")),
         float(r.get("y")) + float(r.get("height")))
        for r in root.iter(f"{SVG}rect")
        if r.get("stroke-width") in ("0.6", "1.5")
    ]  # fmt: skip
    lines = [tuple(float(line.get(k)) for k in ("x1", "y1", "x2", "y2")) for line in root.iter(f"{SVG}line")]
    assert len(lines) == sum(len(link["items"]) for link in links)
    for line in lines:
        assert not any(_segment_meets_box(*line, box) for box in boxes), line


def test_an_item_box_never_shows_a_url_query():
    group = {
        "items": ["capture-0001", "capture-0002"],
        "links": [{"type": "indicator", "items": ["capture-0001", "capture-0002"],
                   "indicator": {"kind": "phone", "value": "+919820112345"}}],
    }  # fmt: skip
    labels = {"capture-0001": "https://ads.example/job/42?token=QUERYSECRET99", "capture-0002": "b.txt"}
    svg = group_picture(1, group, 1, labels)
    assert "QUERYSECRET99" not in svg and "ads.example/job/42" in svg
