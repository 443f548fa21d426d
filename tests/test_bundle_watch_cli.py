"""End to end through the real commands: `watch add`, four `watch run --now` passes over the counter fixture
page (v1, v1, v2 with the phone changed, then a 503), `export` of one item, and the bundle checked by
evidencekit and by standard tools (bagit, b3sum, sha256sum, warcio, wacz), its report's and exhibit's
timeline read back as text; an excerpt (--no-series) named by verify; a tampered diff failing."""

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
from bundlekit import flip_byte
from casekit import make_case, run_cli
from fixture_site.watchroutes import fresh_key

from evidencekit.workflows.opencase import Session, open_case

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def watched(tmp_path_factory, site):
    folder = tmp_path_factory.mktemp("bundle-watch-cli")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        url = site.url(f"/watch/ad/{fresh_key()}")
        added = run_cli(
            [
                "--case",
                str(case),
                "watch",
                "add",
                url,
                "--every",
                "6h",
                "--removal-span",
                "0",
                "--note",
                "hotline tip 17",
            ]
        )
        assert added.exit_code == 0, added.stderr
        for _ in range(4):
            ran = run_cli(["--case", str(case), "watch", "run", "--now"])
            assert ran.exit_code == 0, ran.stderr
        observations = _observations(case)
        changed = next(e["subject"] for e in observations if e["details"]["content"] == "changed")
        whole = folder / "whole"
        exported = run_cli(["--case", str(case), "export", str(whole), "--item", changed, "--dir"])
        assert exported.exit_code == 0, exported.stderr
        excerpt = folder / "excerpt"
        cut = run_cli(
            ["--case", str(case), "export", str(excerpt), "--item", changed, "--no-series", "--dir", "--no-pdf"]
        )
        assert cut.exit_code == 0, cut.stderr
    return {"whole": whole, "excerpt": excerpt, "out": exported.stdout, "changed": changed, "obs": observations}


def _observations(case: Path) -> list[dict]:
    with open_case(Session(case, dict(os.environ)), readonly=True) as opened:
        return [e.to_dict() for e in opened.ledger.entries() if e.action == "observation.recorded"]


def test_one_item_brings_its_whole_series(watched):
    root = watched["whole"]
    items = sorted(p.name for p in (root / "data/items").iterdir())
    assert len(items) == 4 and watched["changed"] in items
    assert "added for their series" in watched["out"]
    for observation in watched["obs"]:
        folder = root / "data/items" / observation["subject"]
        for artefact in observation["artefacts"]:
            assert (folder / artefact["name"]).is_file()
    # diff.html shows visual-diff.png by a link relative to itself: the layout keeps them side by side.
    diff_html = (root / "data/items" / watched["changed"] / "diff.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img[^>]* src="([^"]+)"', diff_html)
    assert sources and all((root / "data/items" / watched["changed"] / src).is_file() for src in sources)


def test_the_bundle_verifies_with_evidencekit_and_standard_tools(watched):
    root = watched["whole"]
    result = run_cli(["verify", str(root), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["ok"], report["problems"]
    assert not any(n["rule"] == "series.complete" for n in report["not_applied"])
    proc = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for tool, manifest in (("b3sum", "manifest-blake3.txt"), ("sha256sum", "manifest-sha256.txt")):
        proc = subprocess.run([tool, "--check", manifest], cwd=root, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for warc in sorted(root.glob("data/items/*/*.warc.gz")):
        proc = subprocess.run([str(BIN / "warcio"), "check", "-v", str(warc)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for wacz in sorted(root.glob("data/items/*/capture.wacz")):
        proc = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_report_and_exhibit_carry_the_timeline(watched):
    root = watched["whole"]
    page = (root / "data/report/index.html").read_text(encoding="utf-8")
    text = html.unescape(page)
    assert "Timeline of watched pages" in text and "changed between" in text
    assert "unavailable" in text and "unchanged" in text
    assert f'<a href="../items/{watched["changed"]}/diff.html">' in page
    flat_page = " ".join(re.sub(r"<[^>]+>", "", text).split())
    # exa F18: the watch's settings are worded as settings, not as the history.
    assert re.search(
        r"watch-0001 was set at \S+ \(ledger, seq \d+\) to capture every 6 hours, up to 10 minutes later", flat_page
    )
    assert "the captures below were made at the times shown" in flat_page
    # exa F19: the watch's note, with who recorded it and when, in the timeline and the investigator notes.
    assert "hotline tip 17 (given when watch-0001 was set to watch" in flat_page
    assert re.search(r"Note recorded with the watch by .+ at \S+ \(seq \d+\): .?hotline tip 17", flat_page)
    # exa F2: each capture's time is named, the same way in report and exhibit.
    assert "capture recorded complete (ledger):" in flat_page
    exhibits = sorted((root / "data/exhibits").iterdir())
    pdf = subprocess.run(["pdftotext", str(exhibits[0]), "-"], capture_output=True, text=True).stdout
    flat = " ".join(pdf.split())
    assert "History of this URL" in flat and "changed between" in flat
    # exa F10: the strip's captions give the time; the outcome column is headed "Outcome", not "Ended".
    assert flat.count("capture recorded") >= 8 and flat.count("(ledger):") >= 8  # 4 in the strip, 4 in the table
    assert "Outcome" in flat and "Ended" not in flat


def test_excerpt_is_named_and_a_tampered_diff_fails(watched, tmp_path):
    result = run_cli(["verify", str(watched["excerpt"]), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["problems"]
    assert any(n["rule"] == "series.complete" for n in report["not_applied"])
    bag = tmp_path / "bag"
    shutil.copytree(watched["whole"], bag)
    flip_byte(bag / "data/items" / watched["changed"] / "diff.json", 20)
    result = run_cli(["verify", str(bag)])
    assert result.exit_code == 3 and "FAILED" in result.stdout and "VERIFIED" not in result.stdout
