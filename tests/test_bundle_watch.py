"""A watched URL's history in a bundle: real captures of the counter fixture page (v1, v1, v2), observations
appended as the watch workflow appends them (typed drafts, with real diff files put into the case's store),
then exported: the whole series travels (or an excerpt with --no-series, named by verify), the report and the
exhibit PDF carry the timeline, and an altered diff file fails verification."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bundlekit import flip_byte, rebag
from casekit import make_case, run_cli
from fixture_site.watchroutes import fresh_key
from tsakit import TsaServer

from evidencekit.bundle.bagit import parse_bag_info, write_tag_manifests
from evidencekit.bundle.check.observations import check_observations
from evidencekit.bundle.findings import BundleReport
from evidencekit.bundle.signature import read_statement, sign_note, statement_body, write_statement
from evidencekit.keys import keys_dir, load_key
from evidencekit.ledger.entries import ObservationRecorded, group_items, series_key
from evidencekit.models import Artefact, LedgerEntry, canonical_json
from evidencekit.timestamps.config import add_authority
from evidencekit.workflows.opencase import Session, open_case, publish_checkpoints, seal

BIN = Path(sys.executable).parent
PHONE_CHANGE = "phone +49 151 23456789 removed; phone +49 160 98765432 added"


def _diff_files(folder: Path, screenshot: Path, before: str, after: str, changed: bool) -> list[Path]:
    """Diff files as the diff engine writes them (a JSON document, an offline HTML page, a PNG panel)."""
    folder.mkdir(parents=True)
    changes = [{"kind": "indicators", "summary": PHONE_CHANGE}] if changed else []
    document = {"before": before, "after": after, "verdict": "changed" if changed else "unchanged", "changes": changes}
    (folder / "diff.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    (folder / "diff.html").write_text(f"<!DOCTYPE html><title>diff</title><p>{before} to {after}</p>", encoding="utf-8")
    shutil.copyfile(screenshot, folder / "visual-diff.png")
    return [folder / "diff.json", folder / "diff.html", folder / "visual-diff.png"]


def _observe(case: Path, scratch: Path, current: str, previous: str, changed: bool) -> None:
    """An observation.recorded entry about ``current`` against ``previous``, with its diff files stored."""
    with open_case(Session(case, dict(os.environ))) as opened:
        grouped = group_items(list(opened.ledger.entries()))
        shot = next(a for e in grouped[current] for a in e.artefacts if a.role == "screenshot-viewport")
        url = str(grouped[current][0].details["url"])
        files = _diff_files(scratch / current, opened.store.path_for(shot.digests.blake3), previous, current, changed)
        media = {"diff.json": "application/json", "diff.html": "text/html", "visual-diff.png": "image/png"}
        artefacts = [Artefact(path.name, path.stem, media[path.name], opened.store.put_file(path)) for path in files]
        observed = ObservationRecorded(
            series=series_key(url),
            current=current,
            previous=previous,
            compared_with=previous,
            availability="online",
            content="changed" if changed else "unchanged",
            answer={"kind": "ok", "why": "HTTP 200", "http_status": 200, "final_url": url},
            changes=({"kind": "indicators", "summary": PHONE_CHANGE},) if changed else (),
            screenshot_changed="0.0132" if changed else "0",
        )
        with opened.ledger.transaction() as txn:
            txn.append(observed.draft(opened.actor, current, artefacts))
            seal(opened, txn)
        publish_checkpoints(opened, txn)


@pytest.fixture(scope="module")
def watched(tmp_path_factory, site):
    folder = tmp_path_factory.mktemp("bundle-watch")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        url = site.url(f"/watch/ad/{fresh_key()}")
        for _ in range(3):  # the counter page answers v1, v1, v2
            result = run_cli(["--case", str(case), "capture", url])
            assert result.exit_code == 0, result.stderr
        result = run_cli(["--case", str(case), "capture", site.url("/jobs/domestic-work.html")])
        assert result.exit_code == 0, result.stderr
        _observe(case, folder / "diffs", "capture-0002", "capture-0001", changed=False)
        _observe(case, folder / "diffs", "capture-0003", "capture-0002", changed=True)
        whole = folder / "whole"
        exported = run_cli(["--case", str(case), "export", str(whole), "--item", "capture-0003", "--dir"])
        assert exported.exit_code == 0, exported.stderr
        excerpt = folder / "excerpt"
        cut = run_cli(
            ["--case", str(case), "export", str(excerpt), "--item", "capture-0003", "--no-series", "--dir", "--no-pdf"]
        )
        assert cut.exit_code == 0, cut.stderr
        key = load_key(keys_dir(dict(os.environ)))
    return {"case": case, "whole": whole, "excerpt": excerpt, "out": exported.stdout, "cut": cut.stdout, "key": key}


def _verify(bag: Path) -> tuple[int, dict, str]:
    text = run_cli(["verify", str(bag)])
    as_json = run_cli(["verify", str(bag), "--json"])
    return as_json.exit_code, json.loads(as_json.stdout), text.stdout


def test_export_brings_the_series_and_says_which_items_it_added(watched):
    assert "added for their series" in watched["out"]
    assert "capture-0001, capture-0002" in watched["out"] and "capture-0004" not in watched["out"]
    items = sorted(p.name for p in (watched["whole"] / "data/items").iterdir())
    assert items == ["capture-0001", "capture-0002", "capture-0003"]


def test_export_created_records_what_the_series_added(watched):
    with open_case(Session(watched["case"], dict(os.environ)), readonly=True) as opened:
        exports = [e.details for e in opened.ledger.entries() if e.action == "export.created"]
    whole, excerpt = exports
    assert whole["items"] == ["capture-0003", "capture-0001", "capture-0002"]
    assert whole["series"]["carried"] == "whole"
    assert set(whole["series"]["added"]) == {"capture-0001", "capture-0002"}
    assert excerpt["items"] == ["capture-0003"] and excerpt["series"]["carried"] == "excerpt"
    assert list(excerpt["series"]["left_out"].values()) == [["capture-0001", "capture-0002"]]


def test_the_diff_files_travel_with_their_item_and_are_in_the_manifests(watched):
    root = watched["whole"]
    manifest = (root / "manifest-sha256.txt").read_text()
    for item in ("capture-0002", "capture-0003"):
        for name in ("diff.json", "diff.html", "visual-diff.png"):
            assert (root / f"data/items/{item}/{name}").is_file()
            assert f"data/items/{item}/{name}" in manifest


def test_the_whole_series_verifies_with_evidencekit_and_standard_tools(watched):
    root = watched["whole"]
    code, report, text = _verify(root)
    assert code == 0 and report["ok"], report["problems"]
    assert not any(n["rule"] == "series.complete" for n in report["not_applied"])
    (series,) = report["facts"]["series"]
    assert series["items"] == ["capture-0001", "capture-0002", "capture-0003"] and not series["excerpt"]
    assert "INTACT" in text and "FAILED" not in text
    proc = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for tool, manifest in (("b3sum", "manifest-blake3.txt"), ("sha256sum", "manifest-sha256.txt")):
        proc = subprocess.run([tool, "--check", manifest], cwd=root, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for wacz in sorted(root.glob("data/items/*/capture.wacz")):
        proc = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_report_shows_the_timeline(watched):
    root = watched["whole"]
    page = (root / "data/report/index.html").read_text(encoding="utf-8")
    text = html.unescape(page)
    assert "Timeline of watched pages" in text and 'href="#timelines"' in page
    assert "changed between" in text  # the series model's interval in words
    assert PHONE_CHANGE in text and "1.32% of the screenshot's pixels changed" in text
    assert '<a href="../items/capture-0003/diff.html">' in page
    assert '<a href="../items/capture-0003/visual-diff.png">' in page
    for item in ("capture-0001", "capture-0002", "capture-0003"):
        assert f'<img src="../items/{item}/screenshot-viewport.png"' in page
    assert "availability: <strong>online</strong>" in page and "content: <strong>changed</strong>" in page
    assert "no observation recorded" in text  # the first capture: nothing compared, nothing invented
    assert "captured more than once in this bundle" in text
    # exa F8: thumbnails show the whole screenshot, scaled, never cropped, and their alt text says so.
    assert "The whole viewport screenshot of capture-0001, scaled down to fit (not cropped)" in text
    assert "object-fit: cover" not in page
    assert "img-src 'self'" in page and "http://" not in page.split("<body>")[0]


def test_the_exhibit_pdf_carries_the_history(watched):
    root = watched["whole"]
    exhibit = next(p for p in (root / "data/exhibits").iterdir() if p.name.endswith("EX3.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(exhibit), "-"], capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "History of this URL" in flat and "changed between" in flat
    assert "capture-0001" in flat and "capture-0002" in flat and "(this exhibit)" in flat
    assert "3 of the 3 capture(s) of this URL that the case had recorded when the bundle was made" in flat
    assert "attempt(s) recorded" not in flat
    assert f"what changed, most important first: indicators: {PHONE_CHANGE}" in flat
    # The strip of the attempts' screenshots: the exhibit's own two images and at least the other attempts'.
    images = subprocess.run(["pdfimages", "-list", str(exhibit)], capture_output=True, text=True).stdout
    assert len(images.splitlines()[2:]) >= 4
    report_pdf = subprocess.run(
        ["pdftotext", str(root / "data/report/report.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "Timeline of watched pages" in report_pdf
    # exa F4: the three-panel visual diff is on paper, in the changed capture's exhibit and in report.pdf, scaled,
    # its size stated, not only named as a path.
    assert "Visual diff of capture-0003 against capture-0002" in flat and "scaled to fit the page" in flat
    flat_report = " ".join(report_pdf.split())
    assert "Visual diff of capture-0003 against capture-0002" in flat_report
    assert re.search(r"Visual diff of capture-0003 .*?px, (shown at its full size|reduced to [0-9.]+% )", flat_report)
    page = (root / "data/report/index.html").read_text(encoding="utf-8")
    assert '<img src="../items/capture-0003/visual-diff.png"' in page


def test_an_excerpt_of_the_series_is_named_not_failed(watched):
    assert "excerpt of the series" in watched["cut"] and "left out capture-0001, capture-0002" in watched["cut"]
    root = watched["excerpt"]
    assert sorted(p.name for p in (root / "data/items").iterdir()) == ["capture-0003"]
    code, report, text = _verify(root)
    assert code == 0 and report["ok"], report["problems"]
    (note,) = [n for n in report["not_applied"] if n["rule"] == "series.complete"]
    assert "capture-0002" in note["reason"] and "excerpt" in note["reason"]
    assert "not applied: series.complete" in text
    page = html.unescape((root / "data/report/index.html").read_text(encoding="utf-8"))
    # exa F3: the excerpt names every capture of the series it leaves out (not only those its observations
    # name), their count and time span, and counts what it holds against what the case had.
    flat = " ".join(page.split())
    assert "This bundle holds an excerpt of this series: it leaves out 2 capture(s) of this URL" in flat
    assert "(capture-0001, capture-0002), recorded from " in flat
    assert "1 of the 3 capture(s) of this URL that the case had recorded when the bundle was made" in flat
    assert "captured more than once in this bundle" not in flat


def _declared(root: Path) -> list[dict]:
    info = parse_bag_info((root / "bag-info.txt").read_text(encoding="utf-8"))
    return [json.loads(value) for label, value in info if label == "Series-Declaration"]


def test_bag_info_declares_each_series_whole_or_excerpt(watched):
    (whole,) = _declared(watched["whole"])
    assert whole["carried"] == "whole" and "left_out" not in whole
    assert whole["captures"] == ["capture-0001", "capture-0002", "capture-0003"]
    assert whole["observed"] == ["capture-0002", "capture-0003"]
    (cut,) = _declared(watched["excerpt"])
    assert cut["carried"] == "excerpt" and cut["captures"] == ["capture-0003"] and cut["observed"] == ["capture-0003"]
    left = cut["left_out"]
    assert left["count"] == 2 and left["items"] == ["capture-0001", "capture-0002"]
    assert left["first"] < left["last"]
    code, report, _text = _verify(watched["excerpt"])
    (note,) = [n for n in report["not_applied"] if n["rule"] == "series.complete"]
    assert code == 0
    assert "leaves out 2 capture(s) recorded from " + left["first"] in note["reason"]


def _drop_lines(root: Path, drop) -> None:
    """As an insider would: remove ledger lines and their inclusion proofs (the rest still prove against the
    signed checkpoint; the gap is only a sequence gap in an excerpt)."""
    ledger = root / "data/custody/ledger.jsonl"
    raws = ledger.read_bytes().split(b"\n")[:-1]
    gone = {json.loads(raw)["seq"] for raw in raws if drop(json.loads(raw))}
    ledger.write_bytes(b"".join(raw + b"\n" for raw in raws if json.loads(raw)["seq"] not in gone))
    proofs = json.loads((root / "data/custody/proofs.json").read_text())
    proofs["proofs"] = [p for p in proofs["proofs"] if p["seq"] not in gone]
    (root / "data/custody/proofs.json").write_text(json.dumps(proofs))


def test_an_insider_dropping_an_observation_fails_verification(watched, tmp_path):
    """exa F5: the observation of a declared-observed capture, removed and everything re-signed: FAILED."""
    bag = tmp_path / "bag"
    shutil.copytree(watched["whole"], bag)
    _drop_lines(bag, lambda e: e["action"] == "observation.recorded" and e["subject"] == "capture-0002")
    for name in ("diff.json", "diff.html", "visual-diff.png"):
        (bag / "data/items/capture-0002" / name).unlink()
    rebag(bag, watched["key"])
    code, report, text = _verify(bag)
    assert code == 3 and "VERIFIED" not in text and "INTACT" not in text
    assert [p["code"] for p in report["problems"]] == ["observation.missing"]
    (problem,) = report["problems"]
    assert "capture-0002" in problem["message"]


def test_an_insider_thinning_a_whole_series_fails_verification(watched, tmp_path):
    """exa F6: a capture of a series declared whole, removed with its lines and the bag re-signed: FAILED,
    never passed off as an excerpt."""
    bag = tmp_path / "bag"
    shutil.copytree(watched["whole"], bag)
    shutil.rmtree(bag / "data/items/capture-0001")
    _drop_lines(bag, lambda e: e.get("subject") == "capture-0001")
    rebag(bag)
    statement = read_statement(bag)
    items = [i for i in statement.items if i != "capture-0001"]
    write_statement(bag, sign_note(statement_body(bag, statement.origin, statement.created, items), watched["key"]))
    oxum = dict(parse_bag_info((bag / "bag-info.txt").read_text()))["Payload-Oxum"]
    write_tag_manifests(bag, oxum, int(oxum.split(".")[1]))
    code, report, text = _verify(bag)
    assert code == 3 and "VERIFIED" not in text
    codes = [p["code"] for p in report["problems"]]
    assert set(codes) == {"series.thinned"}, report["problems"]
    assert not [n for n in report["not_applied"] if n["rule"] == "series.complete"]


def test_a_missing_diff_file_fails_verification(watched, tmp_path):
    bag = tmp_path / "bag"
    shutil.copytree(watched["whole"], bag)
    (bag / "data/items/capture-0002/diff.html").unlink()
    code, report, text = _verify(bag)
    assert code == 3 and "FAILED" in text and "VERIFIED" not in text
    assert any(
        p["code"] == "artefact.missing" and p["path"] == "data/items/capture-0002/diff.html" for p in report["problems"]
    )


@pytest.mark.parametrize("name", ["diff.json", "visual-diff.png"])
def test_an_altered_diff_file_fails_verification(watched, tmp_path, name):
    bag = tmp_path / "bag"
    shutil.copytree(watched["whole"], bag)
    flip_byte(bag / f"data/items/capture-0003/{name}", 40)
    code, report, text = _verify(bag)
    assert code == 3 and not report["ok"]
    assert any(p["code"] == "payload.altered" for p in report["problems"])
    assert "FAILED" in text and "VERIFIED" not in text and "INTACT" not in text
    # A forger who recomputes every manifest and re-signs the bag is still caught by the ledger's digests.
    rebag(bag, watched["key"])
    code, report, text = _verify(bag)
    assert code == 3 and "VERIFIED" not in text
    assert any(
        p["code"] == "artefact.altered" and p["path"] == f"data/items/capture-0003/{name}" for p in report["problems"]
    )


def test_verify_reads_each_observation_against_the_items_held(watched):
    """``check.observations`` on the bundle's own ledger lines: the whole series, an excerpt, and an observation
    whose details name another capture than the one it is recorded about."""
    lines = (watched["whole"] / "data/custody/ledger.jsonl").read_bytes().split(b"\n")[:-1]
    entries = [LedgerEntry.from_raw(raw) for raw in lines]
    whole = BundleReport(source="whole")
    check_observations(entries, ["capture-0001", "capture-0002", "capture-0003"], whole)
    assert whole.ok and not whole.not_applied and whole.facts["series"][0]["excerpt"] is False
    excerpt = BundleReport(source="excerpt")
    check_observations(entries, ["capture-0003"], excerpt)
    assert excerpt.ok and excerpt.facts["series"][0]["missing"] == ["capture-0002"]
    (note,) = excerpt.not_applied
    assert note.rule == "series.complete" and "capture-0002 (previous at seq" in note.reason
    # A bundle that declares its series holds every series it observes to a declaration.
    other = BundleReport(source="undeclared")
    check_observations(entries, ["capture-0003"], other, [{"series": "https://elsewhere.example/", "captures": []}])
    assert [p.code for p in other.problems] == ["series.undeclared"]
    lying = []
    for entry in entries:
        value = entry.to_dict()
        if entry.action == "observation.recorded" and entry.subject == "capture-0003":
            value["details"]["current"] = "capture-0002"
        lying.append(LedgerEntry.from_raw(canonical_json(value)))
    caught = BundleReport(source="lying")
    check_observations(lying, ["capture-0001", "capture-0002", "capture-0003"], caught)
    assert [p.code for p in caught.problems] == ["observation.subject"]
    # An observation comparing against a capture of another URL contradicts its series.
    elsewhere = []
    for entry in entries:
        value = entry.to_dict()
        if entry.action == "capture.started" and entry.subject == "capture-0002":
            value["details"]["url"] = "https://elsewhere.example/ad/1"
        elsewhere.append(LedgerEntry.from_raw(canonical_json(value)))
    crossed = BundleReport(source="crossed")
    check_observations(elsewhere, ["capture-0001", "capture-0002", "capture-0003"], crossed)
    assert "observation.series" in [p.code for p in crossed.problems]
    assert "not checked here" in note.reason and "stay in the case" not in note.reason


def test_intervals_state_the_independent_time_covering_their_bounds(tmp_path, tsa_pki, site):
    """With a Time-Stamping Authority configured, each capture's checkpoint is stamped, and the timeline states
    beside each interval the independent time covering its bounding captures (the series model's words)."""
    with TsaServer(tsa_pki, kind="rsa") as tsa:
        add_authority(dict(os.environ), tsa.url, name="alpha-tsa", ca_file=tsa.ca_file)
        case = make_case(tmp_path / "case")
        url = site.url("/jobs/domestic-work.html")
        for _ in range(2):
            result = run_cli(["--case", str(case), "capture", url])
            assert result.exit_code == 0, result.stderr
        _observe(case, tmp_path / "diffs", "capture-0002", "capture-0001", changed=True)
        out = tmp_path / "bundle"
        result = run_cli(["--case", str(case), "export", str(out), "--item", "capture-0002", "--dir", "--no-pdf"])
        assert result.exit_code == 0, result.stderr
    page = html.unescape((out / "data/report/index.html").read_text(encoding="utf-8"))
    timeline = page[page.index('id="timelines"') :]
    intervals = timeline[: timeline.index("Attempts")]
    assert "changed between" in intervals
    for item in ("capture-0001", "capture-0002"):
        assert re.search(
            rf"{item} \(recorded [^)]*\): independently timestamped: existed no later than .*alpha-tsa", intervals
        )
    # exa F13: beside the interval, what independent time can confirm: only the later bound.
    assert "it confirms the interval's later bound; the earlier bound rests on the times the ledger recorded" in (
        " ".join(intervals.split())
    )
