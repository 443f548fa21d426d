"""The Chromium that prints an export's report.pdf and exhibit PDFs, found before anything is recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from evidencekit.bundle.documents.exhibits import ExhibitJob, ExhibitPrinter
from evidencekit.bundle.export import PdfPrinter
from evidencekit.capture.browser import find_browser
from evidencekit.capture.printing import PdfJob, print_pdf, print_pdfs
from evidencekit.errors import BrowserError


def pdf_printer(browser: Path | None, environ: Mapping[str, str]) -> PdfPrinter:
    """Chromium prints the report; found before anything is recorded, so a missing browser costs nothing."""
    try:
        found = find_browser(browser, environ)
    except BrowserError as exc:
        raise BrowserError(f"{exc.message}; every bundle holds report.pdf (or export with --no-pdf)") from exc

    def printer(html_file: Path, pdf_out: Path) -> None:
        try:
            print_pdf(html_file, pdf_out, browser_path=found.path, environ=environ)
        except BrowserError as exc:
            raise BrowserError(f"{exc.message}; nothing was exported (--no-pdf leaves report.pdf out)") from exc

    return printer


def exhibit_printer(browser: Path | None, environ: Mapping[str, str]) -> ExhibitPrinter:
    """The same Chromium prints the exhibits, all of them with one browser start."""
    found = find_browser(browser, environ)

    def printer(jobs: Sequence[ExhibitJob]) -> None:
        pdf_jobs = [PdfJob(job.html_file, job.pdf_out, job.paper, files=job.files) for job in jobs]
        try:
            print_pdfs(pdf_jobs, browser_path=found.path, environ=environ)
        except BrowserError as exc:
            raise BrowserError(f"{exc.message}; nothing was exported (--no-pdf leaves the PDFs out)") from exc

    return printer
