"""Exhibit PDFs a court can file (issue 12, findings 2 and 10): one per item in data/exhibits/, numbered the
same in every export, with a running header and footer on every page, and a capture's full-page screenshot
shown whole, in strips whose captions account for every pixel row.

PDF text is read with poppler's pdftotext / pdfinfo (Debian poppler-utils, installed by .ci/system-deps).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from casekit import make_case, run_cli

from evidencekit.bundle.documents.exhibits import (
    PAPERS,
    ExhibitLayout,
    Shown,
    _shown,
    image_size,
    pdf_page_count,
)
from evidencekit.bundle.documents.exhibits_html import (
    URL_RUN,
    css_string,
    header_lines,
    render_exhibit,
    url_pieces,
)

CASE_ID = "TRAF-2026-001"
ZONE = "Asia/Kolkata"


def _pages(pdf: Path) -> list[str]:
    """The text of each page of ``pdf``, in order."""
    count = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf))).group(1))
    return [_run("pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-") for n in range(1, count + 1)]


def _run(*args: str) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _flat(text: str) -> str:
    return " ".join(text.split())


def _groups(digest: str) -> str:
    return " ".join(digest[i : i + 8] for i in range(0, 64, 8))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _log(case: Path) -> list[dict]:
    result = run_cli(["--case", str(case), "log", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, site):
    """A case (zone Asia/Kolkata) with a capture of a 40,000 px page, an added photo, an added text file and
    a note; exported whole (A4), then the text file alone on US letter, then all without PDFs."""
    folder = tmp_path_factory.mktemp("exhibits")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case", case_id=CASE_ID)
        assert run_cli(["--case", str(case), "case", "configure", "--timezone", ZONE]).exit_code == 0
        result = run_cli(["--case", str(case), "capture", site.url("/tall.html")])
        assert result.exit_code == 0, result.stderr
        photo = Path(__file__).parent / "fixture_site/www/images/feed-1.jpg"
        (folder / "chat.txt").write_text("meet at the airport\n", encoding="utf-8")
        assert run_cli(["--case", str(case), "add", str(photo), str(folder / "chat.txt")]).exit_code == 0
        note = "Third post shows a payment ID."
        assert run_cli(["--case", str(case), "note", "--item", "capture-0001", note]).exit_code == 0
        first = folder / "first"
        result = run_cli(["--case", str(case), "export", str(first), "--all", "--dir"])
        assert result.exit_code == 0, result.stderr
        second = folder / "second"
        result = run_cli(
            ["--case", str(case), "export", str(second), "--item", "file-0002", "--dir", "--paper", "letter"]
        )
        assert result.exit_code == 0, result.stderr
        no_pdf = folder / "no-pdf"
        result = run_cli(["--case", str(case), "export", str(no_pdf), "--all", "--dir", "--no-pdf"])
        assert result.exit_code == 0, result.stderr
    return case, first, second, no_pdf


def test_one_exhibit_per_item_named_by_prefix_and_place_in_case(exported):
    _, first, second, no_pdf = exported
    names = sorted(p.name for p in (first / "data/exhibits").iterdir())
    assert names == [f"{CASE_ID}-EX1.pdf", f"{CASE_ID}-EX2.pdf", f"{CASE_ID}-EX3.pdf"]
    # The text file is item 3 of the case: exported alone it is still exhibit 3.
    assert sorted(p.name for p in (second / "data/exhibits").iterdir()) == [f"{CASE_ID}-EX3.pdf"]
    assert not (no_pdf / "data/exhibits").exists()


def test_exhibit_numbers_are_recorded_and_the_same_in_every_export(exported):
    case = exported[0]
    exports = [e["details"] for e in _log(case) if e["action"] == "export.created"]
    assert len(exports) == 3
    assert exports[0]["exhibits"] == {"capture-0001": f"{CASE_ID}-EX1", "file-0001": f"{CASE_ID}-EX2",
                                      "file-0002": f"{CASE_ID}-EX3"}  # fmt: skip
    assert exports[1]["exhibits"] == {"file-0002": f"{CASE_ID}-EX3"}
    # --no-pdf makes no exhibit PDF: it records none, and no paper.
    assert "exhibits" not in exports[2] and "paper" not in exports[2]
    assert [e["paper"] for e in exports[:2]] == ["a4", "letter"]
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0


def test_every_page_has_the_running_header_and_page_n_of_m(exported):
    first = exported[1]
    for label, item in (("EX1", "capture-0001"), ("EX2", "file-0001"), ("EX3", "file-0002")):
        pages = _pages(first / f"data/exhibits/{CASE_ID}-{label}.pdf")
        total = len(pages)
        for number, text in enumerate(pages, start=1):
            flat = _flat(text)
            assert f"Case {CASE_ID} · Exhibit {CASE_ID}-{label} · Item {item}" in flat, (label, number)
            assert f"Exhibit {CASE_ID}-{label} · item {item} · page {number} of {total}" in flat, (label, number)
            # Times in UTC and in the case's zone (India, UTC+05:30), on every page.
            assert re.search(r"(Captured|Added) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · .* IST \(UTC\+05:30\)", flat)
        if item == "capture-0001":
            assert all("URL: http://127.0.0.1:" in text and "/tall.html" in text for text in pages)


def test_the_full_page_screenshot_is_shown_whole_in_strips_that_cover_every_row(exported):
    first = exported[1]
    shot = first / "data/items/capture-0001/screenshot.png"
    viewport = first / "data/items/capture-0001/screenshot-viewport.png"
    assert image_size(shot) == (1366, 40000)
    pdf = first / f"data/exhibits/{CASE_ID}-EX1.pdf"
    pages = _pages(pdf)
    total = len(pages)
    assert pdf_page_count(pdf) == total
    summary = _flat(pages[0])
    found = re.search(r"full-page screenshot, 1,366 × 40,000 px, pages (\d+)–(\d+) of (\d+)", summary)
    assert found, summary
    start, end, of = (int(g) for g in found.groups())
    assert of == total and end == total - 1, "the viewport screenshot takes the last page"
    assert f"viewport screenshot, 1,366 × 768 px, page {total} of {total}" in summary
    covered = []
    for number in range(start, end + 1):
        flat = _flat(pages[number - 1])
        assert f"Full-page screenshot, 1,366 × 40,000 px, pages {start}–{end} of {total}." in flat
        rows = re.search(r"This page: rows ([\d,]+)–([\d,]+) of 40,000 \(part (\d+) of (\d+)\)", flat)
        assert rows, flat
        covered.append(tuple(int(g.replace(",", "")) for g in rows.groups()))
        assert "scaled down to" in flat and "of its pixel size" in flat, "the scale-down is stated"
        assert "File shown: data/items/capture-0001/screenshot.png" in flat
        assert f"SHA-256 {_groups(_sha256(shot))}" in flat
    assert [c[2] for c in covered] == list(range(1, len(covered) + 1))
    assert all(c[3] == len(covered) for c in covered)
    assert covered[0][0] == 1 and covered[-1][1] == 40000
    assert all(later[0] == earlier[1] + 1 for earlier, later in itertools.pairwise(covered)), covered
    assert sum(c[1] - c[0] + 1 for c in covered) == 40000, "no row lost or shown twice"
    last = _flat(pages[-1])
    assert "rows 1–768 of 768" in last and f"SHA-256 {_groups(_sha256(viewport))}" in last


def test_the_summary_states_status_reasons_notes_and_the_zone(exported):
    first = exported[1]
    summary = _flat(" ".join(_pages(first / f"data/exhibits/{CASE_ID}-EX1.pdf")[:2]))
    assert "Status complete" in summary
    assert "screenshot-tiled" in summary, "a recorded reason is listed"
    assert "Third post shows a payment ID." in summary and "Ana Lima" in summary
    assert f"{ZONE}, from the case settings" in summary
    assert "Very long listing page | QuickJobs Classifieds" in summary


def test_an_added_image_is_shown_with_its_facts_and_a_file_says_where_it_is(exported):
    first = exported[1]
    photo = first / "data/items/file-0001/feed-1.jpg"
    pages = _pages(first / f"data/exhibits/{CASE_ID}-EX2.pdf")
    text = _flat(" ".join(pages))
    assert "File name feed-1.jpg" in text and "Added by Ana Lima" in text
    digest = _sha256(photo)
    assert all(group in text for group in _groups(digest).split())
    b3 = subprocess.run(["b3sum", "--no-names", str(photo)], capture_output=True, text=True, check=True).stdout
    assert all(group in text for group in _groups(b3.strip()).split()), "BLAKE3 listed"
    width, height = image_size(photo)
    last = _flat(pages[-1])
    assert (
        f"Image file as added (pixels as stored), {width:,} × {height:,} px, page {len(pages)} of {len(pages)}" in last
    )
    assert f"SHA-256 {_groups(digest)}" in last
    chat = _flat(" ".join(_pages(first / f"data/exhibits/{CASE_ID}-EX3.pdf")))
    assert "it is in the bundle at data/items/file-0002/chat.txt" in chat


def test_letter_paper_and_a4(exported):
    _, first, second, _ = exported
    assert "612 x 792 pts (letter)" in _run("pdfinfo", str(second / f"data/exhibits/{CASE_ID}-EX3.pdf"))
    assert "(A4)" in _run("pdfinfo", str(first / f"data/exhibits/{CASE_ID}-EX3.pdf"))


def test_exhibits_are_in_the_bag_and_it_verifies(exported):
    _, first, _, no_pdf = exported
    manifest = (first / "manifest-sha256.txt").read_text()
    for n in (1, 2, 3):
        pdf = f"data/exhibits/{CASE_ID}-EX{n}.pdf"
        assert f"{_sha256(first / pdf)}  {pdf}" in manifest
    assert "Exhibit-PDFs: data/exhibits/ (3 file(s))" in (first / "bag-info.txt").read_text()
    assert "Exhibit-PDFs: omitted at export (--no-pdf)" in (no_pdf / "bag-info.txt").read_text()
    assert "exhibit PDFs were omitted at export (--no-pdf)" in " ".join(
        (no_pdf / "data/VERIFY.txt").read_text().split()
    )
    for bag in (first, no_pdf):
        proc = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bag)], capture_output=True, text=True)
        assert proc.returncode == 0 and "is valid" in proc.stderr, proc.stderr
        result = run_cli(["verify", str(bag), "--json"])
        assert result.exit_code == 0 and json.loads(result.stdout)["intact"], result.stdout


def test_an_altered_exhibit_fails_verify(exported, tmp_path):
    copy = tmp_path / "bag"
    shutil.copytree(exported[1], copy)
    pdf = copy / f"data/exhibits/{CASE_ID}-EX2.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    result = run_cli(["verify", str(copy)])
    assert result.exit_code == 3 and f"{CASE_ID}-EX2.pdf" in result.stdout + result.stderr


@pytest.mark.parametrize("prefix", ["bad/prefix", "x" * 41, "ex hibit", ".hidden", "EX\u00e9"])
def test_a_prefix_outside_the_allowed_characters_or_too_long_is_refused(tmp_path, prefix):
    case = make_case(tmp_path / "case")
    (tmp_path / "a.txt").write_text("a\n")
    assert run_cli(["--case", str(case), "add", str(tmp_path / "a.txt")]).exit_code == 0
    before = _log(case)
    result = run_cli(["--case", str(case), "export", str(tmp_path / "b"), "--all", "--exhibit-prefix", prefix])
    assert result.exit_code == 2 and f"--exhibit-prefix {prefix!r} is not allowed" in result.stderr, result.stderr
    assert _log(case) == before and not (tmp_path / "b").exists()


def test_a_given_prefix_names_the_exhibits(tmp_path):
    case = make_case(tmp_path / "case")
    (tmp_path / "a.txt").write_text("a\n")
    assert run_cli(["--case", str(case), "add", str(tmp_path / "a.txt")]).exit_code == 0
    out = tmp_path / "b"
    result = run_cli(["--case", str(case), "export", str(out), "--all", "--dir", "--exhibit-prefix", "Ex_A-"])
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in (out / "data/exhibits").iterdir()] == ["Ex_A-1.pdf"]
    assert "exhibits: 1 PDF(s) in data/exhibits/: Ex_A-1.pdf" in result.stdout


# --- layout: strips, sizes, breaking at fixed places -------------------------------------------------------


def _png_header(path: Path, width: int, height: int) -> Path:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk)
    return path


@pytest.mark.parametrize("height", [1, 2, 1699, 1700, 1701, 6577, 40000, 123457])
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_strips_cover_each_row_exactly_once_and_fit_a_page(tmp_path, height, paper):
    _png_header(tmp_path / "s.png", 1366, height)
    shown = _shown(tmp_path, "s.png", "full-page screenshot", "0" * 64, PAPERS[paper])
    assert isinstance(shown, Shown)
    rows = [r for _, r in shown.strips]
    assert sum(rows) == height and shown.strips[0][0] == 0
    assert all(b[0] == a[0] + a[1] for a, b in zip(shown.strips, shown.strips[1:], strict=False))
    assert all(r * shown.scale64 / 64 <= PAPERS[paper].strip_height_px for r in rows)
    assert shown.width * shown.scale64 / 64 <= PAPERS[paper].content_width_px


def test_image_sizes_are_read_from_the_file_header(tmp_path):
    from PIL import Image

    for fmt, suffix in (("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("WEBP", "webp")):
        path = tmp_path / f"i.{suffix}"
        Image.new("RGB", (321, 123), "red").save(path, fmt)
        assert image_size(path) == (321, 123), fmt
    (tmp_path / "t.txt").write_text("not an image")
    assert image_size(tmp_path / "t.txt") is None


def test_header_text_cannot_leave_its_css_string():
    hostile = 'a"; } @page { @top-left { content: "forged" } } \\ \n\u202e'
    written = css_string(hostile)
    inner = written[1:-1]
    assert written[0] == written[-1] == '"' and '"' not in inner and "}" not in inner and "\n" not in inner
    assert re.fullmatch(r"(?:[A-Za-z0-9 .,:;/_()+-]|\\[0-9A-F]{6} )*", inner)


def test_urls_break_only_after_separators_or_every_24_characters():
    url = "https://example.org/" + "a" * 95 + "/b?q=" + "x" * 50 + "&r=1#frag"
    pieces = url_pieces(url)
    assert "".join(pieces) == url
    for piece in pieces[:-1]:
        assert piece[-1] in "/?&=#" or len(piece) == URL_RUN, piece


def test_a_long_url_and_title_overflow_no_box_in_chromium(tmp_path):
    """The exhibit's HTML, with a 2,000-character URL, a long title and a wide image, rendered by Chromium
    at the page's width: no element's content is wider than its box, and the header lines fit too."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from evidencekit.capture.browser import find_browser, launch_args, sandbox_available

    url = "https://ads.example.org/" + "/".join(f"segment{i:03d}" for i in range(60)) + "?q=" + "z" * 1400
    url = url[:2000]
    assert len(url) == 2000
    title = "Nanny wanted abroad, visa free " * 20 + "Supercalifragilistic" * 5
    image = tmp_path / "screenshot.png"
    Image.new("RGB", (3000, 2500), "white").save(image)
    digest = _sha256(image)
    item = {
        "item_id": "capture-0007", "number": 7, "kind": "capture", "status": "partial",
        "reasons": [{"code": "timeout", "message": "x" * 300}], "requested_url": url, "final_url": url,
        "title": title, "http_status": 200, "started": "2026-12-02T15:33:37.007309Z", "tz": "+05:30",
        "artefacts": [{"path": "data/items/capture-0007/" + "n" * 200, "size": 5, "sha256": digest,
                       "blake3": digest}],
        "notes": [{"time": "2026-12-02T15:40:00Z", "text": "w" * 500, "actor": {"name": "Ana", "key_id": "ab" * 8}}],
    }  # fmt: skip
    paper = PAPERS["a4"]
    layout = ExhibitLayout("TRAF-2026-001", "TRAF-2026-001-EX7", item, paper, None, "local zone not set")
    shown = _shown(tmp_path, "screenshot.png", "full-page screenshot", digest, paper)
    assert isinstance(shown, Shown)
    layout.shown.append(shown)
    layout.number_pages()
    html = tmp_path / "exhibit.html"
    html.write_text(render_exhibit(layout), encoding="utf-8")
    lines = header_lines(layout)
    assert any("the whole URL is on page 1" in line for line in lines)
    header = tmp_path / "header.html"
    header.write_text(
        '<div id="h" style="font: 7.5pt/1.3 \'DejaVu Sans Mono\', monospace; white-space: pre; width: '
        f'{paper.content_width_px}px">' + "\n".join(lines).replace("&", "&amp;").replace("<", "&lt;") + "</div>",
        encoding="utf-8",
    )
    info = find_browser(None, os.environ)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=info.path, args=launch_args(sandbox_available()))
        page = browser.new_page(viewport={"width": int(paper.content_width_px), "height": 900})
        page.emulate_media(media="print")
        page.goto(html.as_uri())
        overflowing = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).display !== 'inline')
                .map(e => e.tagName + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth)"""
        )
        body_wide = page.evaluate("() => document.documentElement.scrollWidth")
        page.goto(header.as_uri())
        header_wide = page.evaluate(
            "() => { const h = document.getElementById('h'); return [h.scrollWidth, h.clientWidth]; }"
        )
        browser.close()
    assert overflowing == []
    assert body_wide <= int(paper.content_width_px) + 1
    assert header_wide[0] <= header_wide[1]
