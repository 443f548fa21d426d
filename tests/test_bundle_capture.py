"""A bundle holding a real web capture: WACZ, WARC, report, PDF; validators and tampering."""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from bundlekit import flip_byte
from casekit import make_case, run_cli

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def exported(tmp_path_factory, site):
    folder = tmp_path_factory.mktemp("capture-bundle")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        urls = [site.url("/jobs/domestic-work.html"), site.url("/lazy.html")]
        result = run_cli(["--case", str(case), "capture", *urls])
        assert result.exit_code == 0, result.stderr
        bundle = folder / "bundle.zip"
        result = run_cli(["--case", str(case), "export", str(bundle), "--all", "--recipient", "Prosecutor"])
        assert result.exit_code == 0, result.stderr
    unpacked = folder / "unpacked"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(unpacked)
    (root,) = list(unpacked.iterdir())
    return bundle, root


@pytest.fixture
def bag(exported, tmp_path):
    copy = tmp_path / "bag"
    shutil.copytree(exported[1], copy)
    return copy


def test_zip_verifies(exported):
    result = run_cli(["verify", str(exported[0]), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["ok"], report["problems"]
    assert report["facts"]["items"] == ["capture-0001", "capture-0002"]


def test_every_wacz_passes_wacz_validate_and_every_warc_warcio_check(exported):
    root = exported[1]
    waczs = sorted(root.glob("data/items/*/capture.wacz"))
    warcs = sorted(root.glob("data/items/*/capture.warc.gz"))
    assert len(waczs) == 2 and len(warcs) == 2
    for wacz in waczs:
        proc = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True)
        assert proc.returncode == 0 and "valid" in proc.stdout, proc.stdout + proc.stderr
    for warc in warcs:
        proc = subprocess.run([str(BIN / "warcio"), "check", "-v", str(warc)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    lazy = root / "data/items/capture-0002/capture.warc.gz"
    index = subprocess.run([str(BIN / "warcio"), "index", str(lazy)], capture_output=True, text=True).stdout
    assert "/images/lazy-1.jpg" in index and "/images/lazy-3.png" in index


def test_bagit_and_b3sum_accept_the_capture_bundle(exported):
    root = exported[1]
    proc = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(["b3sum", "--check", "manifest-blake3.txt"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0


def test_report_and_certificates_hold_the_facts(exported):
    root = exported[1]
    html = (root / "data/report/index.html").read_text(encoding="utf-8")
    metadata = json.loads((root / "data/items/capture-0001/metadata.json").read_text())
    screenshot = next(a for a in metadata["artefacts"] if a["name"] == "screenshot.png")
    # Digests are written in groups of 8 digits with a line-break opportunity (<wbr>) between them.
    assert screenshot["sha256"].split(":")[1] in html.replace("<wbr>", "")
    assert "+442079460958" in html
    assert "capture-0002" in html
    # How the page was captured, step by step, as metadata.json records it
    assert "<h3>Capture steps</h3>" in html and "full-page screenshot" in html
    # Shot from the top, as usual: the report has no warning about where the page stood.
    assert metadata["page"]["screenshot"]["scroll_y"] == 0 and "rendered while the page stood" not in html
    first_step = metadata["times"]["steps"][0]
    assert first_step["at"] in html and f"+{first_step['offset_ms']} ms" in html
    pdf = (root / "data/report/report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= 2, "at least one page per item"
    fre = (root / "data/certificates/FRE-902-14-certification-DRAFT.txt").read_text()
    assert "902(14)" in fre and screenshot["sha256"].split(":")[1] in fre
    bsa = (root / "data/certificates/BSA-2023-s63-certificate-DRAFT.txt").read_text()
    assert "Part A" in bsa and "Part B" in bsa and "[[TO BE COMPLETED:" in bsa


def test_report_renders_in_chromium_and_is_not_blank(exported, tmp_path):
    import os

    from playwright.sync_api import sync_playwright

    from evidencekit.capture.browser import find_browser, launch_args, sandbox_available

    info = find_browser(None, os.environ)
    page_file = exported[1] / "data/report/index.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=info.path, args=launch_args(sandbox_available()))
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        shot = page.screenshot()
        browser.close()
    # Nothing but itself and the bag's own screenshots, each capture's full-page and viewport images.
    shots = sorted((exported[1] / "data/items").glob("capture-*/screenshot*.png"))
    assert len(shots) == 4
    assert requests[0] == page_file.as_uri() and sorted(requests[1:]) == [shot.as_uri() for shot in shots]
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(shot)).convert("L")
    low, high = image.getextrema()
    assert high - low > 100, "the screenshot is blank"
    histogram = image.histogram()
    assert max(histogram) < 0.97 * sum(histogram), "almost every pixel has the same shade"


@pytest.mark.parametrize(
    "target",
    [
        "data/items/capture-0001/screenshot.png",
        "data/items/capture-0001/capture.warc.gz",
        "data/items/capture-0001/metadata.json",
    ],
)
def test_tampered_capture_artefact_is_named(bag, target):
    flip_byte(bag / target, 300)
    result = run_cli(["verify", str(bag), "--json"])
    assert result.exit_code == 3
    problems = json.loads(result.stdout)["problems"]
    assert any(p["path"] == target and p["code"] == "payload.altered" for p in problems)
    if target.endswith("warc.gz"):
        assert any(p["code"] == "wacz.invalid" or p["path"] == target for p in problems)


def test_tampered_wacz_is_named(bag):
    target = "data/items/capture-0001/capture.wacz"
    flip_byte(bag / target, 2000)
    problems = json.loads(run_cli(["verify", str(bag), "--json"]).stdout)["problems"]
    assert any(p["path"] == target and p["code"] == "wacz.invalid" for p in problems)
