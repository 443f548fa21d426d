"""The report of a real exported bundle (tests/documentkit.py: complete, 404, 410, partial and failed
captures, an added file, notes): index.html shows each capture's whole full-page screenshot from the bag,
says what each status means, carries every note with its author; report.pdf, printed by Chromium, has a
cover, a contents list naming every exhibit and "Page N of M" on every page (read with poppler's
pdftotext and pdfinfo)."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from documentkit import CASE_ID, CASE_NOTE, MixedBundle

from evidencekit.bundle.layout import default_exhibit_prefix, exhibit_label


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def index(mixed_bundle: MixedBundle) -> _Tags:
    page = _Tags()
    page.feed((mixed_bundle.root / "data/report/index.html").read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def pdf_pages(mixed_bundle: MixedBundle) -> list[str]:
    pdf = mixed_bundle.root / "data/report/report.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1))  # type: ignore[union-attr]
    pages = text.split("\f")
    assert pages[-1].strip() == ""
    assert len(pages) - 1 == count
    return pages[:-1]


def _exhibits(bundle: MixedBundle) -> list[str]:
    ids = [e["subject"] for e in bundle.ledger if e["action"] in ("capture.started", "file.added")]
    return [exhibit_label(default_exhibit_prefix(CASE_ID), number) for number in range(1, len(ids) + 1)]


def test_index_html_shows_each_capture_s_full_page_screenshot_from_the_bag(
    mixed_bundle: MixedBundle, index: _Tags
) -> None:
    report_folder = mixed_bundle.root / "data/report"
    sources = [attrs["src"] for tag, attrs in index.tags if tag == "img"]
    captures = sorted(
        e["subject"] for e in mixed_bundle.ledger if e["action"] == "capture.completed"
    )  # a failed capture has no screenshot
    full = [src for src in sources if src.endswith("/screenshot.png")]
    assert sorted(Path(src).parts[-2] for src in full) == captures
    for src in sources:
        target = (report_folder / src).resolve()
        assert target.is_file() and target.is_relative_to(mixed_bundle.root / "data/items"), src
        assert target.read_bytes().startswith(b"\x89PNG")
    text = "".join(index.text)
    assert "Reduced preview" not in text
    assert text.count("Full-page screenshot (the whole page, top to bottom), 1,366 × ") == len(captures)


def test_index_html_says_what_each_status_means_beside_its_badge(mixed_bundle: MixedBundle) -> None:
    html = (mixed_bundle.root / "data/report/index.html").read_text(encoding="utf-8")
    badge = '<span class="status status-complete">complete</span> <span class="status-said">'
    assert f"{badge}server answered HTTP 404 (Not Found)</span>" in html
    assert f"{badge}server answered HTTP 410 (Gone)</span>" in html
    failed = next(e for e in mixed_bundle.ledger if e["action"] == "capture.failed")
    error = failed["details"]["error"]
    assert '<span class="status status-failed">failed</span> <span class="status-said">' + error in html


def test_every_note_appears_with_its_author_in_the_report_and_the_custody_log(
    mixed_bundle: MixedBundle, index: _Tags
) -> None:
    # Times may break after their date (<wbr>); read them whole.
    html = (mixed_bundle.root / "data/report/index.html").read_text(encoding="utf-8")
    html = re.sub(r'<span class="moment">(.*?)</span></span>', lambda m: re.sub("<[^>]+>", "", m[1]), html)
    notes = html[html.index('<section class="notes"') : html.index('<section class="custody"')]
    custody = html[html.index('<section class="custody"') : html.index('<section class="appendix"')]
    for entry in (e for e in mixed_bundle.ledger if e["action"] == "note.added"):
        text = entry["details"]["text"]
        written = f'<bdi class="multiline">{text}</bdi>'
        assert written in notes and written in custody, text
        row = notes[notes.index(entry["time"]) :]
        assert row.index(entry["actor"]["name"]) < row.index(written)
    assert CASE_NOTE in notes[: notes.index("Notes on items")]


def test_links_point_at_each_exhibit_pdf_and_the_full_size_files(mixed_bundle: MixedBundle, index: _Tags) -> None:
    links = [attrs["href"] for tag, attrs in index.tags if tag == "a" and not attrs["href"].startswith("#")]
    for label in _exhibits(mixed_bundle):
        assert f"../exhibits/{label}.pdf" in links
    shots = [link for link in links if link.endswith(".png")]
    assert shots and all((mixed_bundle.root / "data/report" / link).resolve().is_file() for link in shots)


def test_report_pdf_has_a_cover_a_contents_list_of_exhibits_and_page_numbers_on_every_page(
    mixed_bundle: MixedBundle, pdf_pages: list[str]
) -> None:
    total = len(pdf_pages)
    assert total > 5
    for number, page in enumerate(pdf_pages, 1):
        assert re.search(rf"\bPage {number} of {total}\b", page), f"page {number} has no page number"
        assert f"Evidence report: case {CASE_ID}" in page.split("\n", 3)[0] + page.split("\n", 3)[1]
    cover = pdf_pages[0]
    for said in (f"Evidence report: case {CASE_ID}", "Investigator", "Agency", "Recipient", "Purpose"):
        assert said in cover, said
    assert "Bundle exported (UTC)" in cover
    first = next(n for n, page in enumerate(pdf_pages) if "Title or label" in page)
    end = next(n for n, page in enumerate(pdf_pages) if re.search(r"EX1: item 1, ", page))
    contents = "".join(pdf_pages[first:end])
    for label in _exhibits(mixed_bundle):
        assert re.search(rf"^\s*{re.escape(label)}\s", contents, re.M), label
    statement = next(page for page in pdf_pages if "What this bundle shows and how to check it" in page)
    assert "5 complete" not in statement and "4 complete, 1 partial, 1 failed" in statement


def test_report_pdf_holds_each_full_page_screenshot_with_its_true_scale(pdf_pages: list[str]) -> None:
    text = re.sub(r"\s+", " ", " ".join(pdf_pages))
    scales = re.findall(
        r"Full-page screenshot \(the whole page, top to bottom\), 1,366 × [\d,]+ px, (reduced to [\d.]+%)", text
    )
    assert len(scales) == 5, scales
