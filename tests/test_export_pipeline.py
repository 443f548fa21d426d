"""Export as a staged pipeline: a default bundle holds every document, `export --no-pdf` leaves report.pdf out
and says so everywhere, and the bag builder refuses a bag that misses a stage or a file."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from casekit import make_case, run_cli, run_subprocess

from evidencekit.bundle.export import BagBuilder, IncompleteBundleError, required_files
from evidencekit.bundle.layout import REPORT_HTML, REPORT_PDF, exhibit_path
from evidencekit.timefmt import format_time, utc_now
from evidencekit.workflows.export import exhibit_printer, plan_export
from evidencekit.workflows.opencase import Session, open_case

OMITTED = "omitted at export (--no-pdf)"


def _case_with_files(folder: Path) -> Path:
    case = make_case(folder / "case")
    for name, text in (("chat.txt", "meet at the airport\n"), ("ad.txt", "visa free, bring your passport\n")):
        (folder / name).write_text(text, encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(folder / "chat.txt"), str(folder / "ad.txt")]).exit_code == 0
    return case


def _log(case: Path) -> list[dict]:
    result = run_cli(["--case", str(case), "log", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _payload_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / "data").rglob("*") if p.is_file()}


# --- a default export holds every document -------------------------------------------------------------------


def test_default_export_holds_report_pdf_verify_txt_certificates_and_a_wacz_per_capture(tmp_path, site):
    case = _case_with_files(tmp_path)
    assert run_cli(["--case", str(case), "capture", site.url("/jobs/domestic-work.html")]).exit_code == 0
    out = tmp_path / "bundle.zip"
    result = run_cli(["--case", str(case), "export", str(out), "--all", "--json"])
    assert result.exit_code == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["report_pdf"] is True and outcome["export_entry"]["details"]["report_pdf"] is True
    with zipfile.ZipFile(out) as zf:
        zf.extractall(tmp_path / "unpacked")
    (root,) = list((tmp_path / "unpacked").iterdir())
    files = _payload_files(root)
    capture = next(i for i in outcome["items"] if i.startswith("capture-"))
    assert (root / REPORT_PDF).read_bytes().startswith(b"%PDF")
    assert {REPORT_HTML, REPORT_PDF, "data/VERIFY.txt"} <= files
    assert {
        "data/certificates/FRE-902-14-certification-DRAFT.txt",
        "data/certificates/BSA-2023-s63-certificate-DRAFT.txt",
    } <= files
    assert f"data/items/{capture}/capture.wacz" in files
    assert not any(f.endswith("capture.wacz") for f in files if "/file-" in f), "a file added by hand is no capture"
    assert f"Report-PDF: {REPORT_PDF}\n" in (root / "bag-info.txt").read_text()
    instructions = (root / "data/VERIFY.txt").read_text()
    assert f"and {REPORT_PDF}, the same page printed by Chromium" in instructions and OMITTED not in instructions
    assert OMITTED not in (root / REPORT_HTML).read_text()
    manifest = {line.split("  ", 1)[1] for line in (root / "manifest-sha256.txt").read_text().splitlines()}
    assert manifest == files, "the manifests list exactly the files the bag holds"


# --- export --no-pdf, through the real command line ------------------------------------------------------------


def test_no_pdf_export_verifies_and_says_the_pdf_was_omitted(tmp_path, monkeypatch):
    case = _case_with_files(tmp_path)
    # No browser at all: --no-pdf must not need one.
    monkeypatch.setenv("EVIDENCEKIT_BROWSER", str(tmp_path / "no-such-browser"))
    out = tmp_path / "bundle"
    proc = run_subprocess(["--case", str(case), "export", str(out), "--all", "--dir", "--no-pdf"])
    assert proc.returncode == 0, proc.stderr
    assert "report.pdf left out (--no-pdf)" in proc.stdout
    assert not (out / REPORT_PDF).exists() and (out / REPORT_HTML).is_file()
    assert REPORT_PDF not in (out / "manifest-sha256.txt").read_text()

    verified = run_subprocess(["verify", str(out)])
    assert verified.returncode == 0 and "INTACT \N{EM DASH} signer not established" in verified.stdout, verified.stdout
    bagit = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(out)], capture_output=True, text=True)
    assert bagit.returncode == 0 and "is valid" in bagit.stderr, bagit.stderr

    assert f"Report-PDF: {OMITTED}\n" in (out / "bag-info.txt").read_text()
    report = (out / REPORT_HTML).read_text()
    assert f"{OMITTED}: this bundle holds no report.pdf" in report
    instructions = (out / "data/VERIFY.txt").read_text()
    assert f"holds no {REPORT_PDF}" in instructions and "the same page printed by Chromium" not in instructions
    exported = [e for e in _log(case) if e["action"] == "export.created"]
    assert len(exported) == 1 and exported[0]["details"]["report_pdf"] is False


def test_without_a_browser_export_refuses_before_recording_anything(tmp_path, monkeypatch):
    case = _case_with_files(tmp_path)
    before = _log(case)
    monkeypatch.setenv("EVIDENCEKIT_BROWSER", str(tmp_path / "no-such-browser"))
    out = tmp_path / "out" / "bundle.zip"
    result = run_cli(["--case", str(case), "export", str(out), "--all"])
    assert result.exit_code == 1, result.stderr
    assert "no-such-browser" in result.stderr and "--no-pdf" in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()
    assert _log(case) == before, "nothing was recorded, not even a checkpoint"


def test_a_browser_that_fails_to_print_leaves_no_bag_and_no_export_entry(tmp_path, monkeypatch):
    case = _case_with_files(tmp_path)
    monkeypatch.setenv("EVIDENCEKIT_BROWSER", "/bin/false")  # an executable, but no browser
    out = tmp_path / "out" / "bundle.zip"
    out.parent.mkdir()
    result = run_cli(["--case", str(case), "export", str(out), "--all"])
    assert result.exit_code == 1, result.stderr
    assert "nothing was exported" in result.stderr and "--no-pdf" in result.stderr
    assert list(out.parent.iterdir()) == [], "neither the bag nor its staging folder is left behind"
    actions = [e["action"] for e in _log(case)]
    assert "export.created" not in actions and "custody.transferred" not in actions
    assert run_cli(["--case", str(case), "ledger", "verify"]).exit_code == 0


# --- the bag builder cannot make an incomplete bag -------------------------------------------------------------


@pytest.fixture
def planned(tmp_path):
    """A case, and a plan for its two items against the case's newest checkpoint (nothing new is signed)."""
    case = _case_with_files(tmp_path)
    with open_case(Session(case, dict(os.environ))) as opened:
        newest = [e for e in opened.ledger.entries() if e.action == "checkpoint.signed"][-1]
        plan = plan_export(opened, newest, ["file-0001", "file-0002"], created=format_time(utc_now()))
    out = tmp_path / "out" / "bundle"
    out.parent.mkdir()
    return case, plan, out


def _exhibits():
    """The real exhibit printer (Chromium): the builder checks the pages it prints."""
    return exhibit_printer(None, dict(os.environ))


def _write_pdf(html: Path, pdf: Path) -> None:
    pdf.write_bytes(b"%PDF-1.4 stand-in for Chromium's print\n")


def _print_and_litter(html: Path, pdf: Path) -> None:
    _write_pdf(html, pdf)
    (pdf.parent / "print.log").write_text("left over by the printer\n")


def _skip_documents(bag: BagBuilder) -> None:
    bag.write_manifests()


def _sign_before_manifests(bag: BagBuilder) -> None:
    bag.write_documents(printer=_write_pdf, exhibit_printer=_exhibits())
    bag.sign()


def _printer_writes_nothing(bag: BagBuilder) -> None:
    bag.write_documents(printer=lambda html, pdf: None, exhibit_printer=_exhibits())
    bag.write_manifests()


def _printer_litters(bag: BagBuilder) -> None:
    bag.write_documents(printer=_print_and_litter, exhibit_printer=_exhibits())
    bag.write_manifests()


def _no_printer(bag: BagBuilder) -> None:
    bag.write_documents(printer=None)


def _no_exhibit_printer(bag: BagBuilder) -> None:
    bag.write_documents(printer=_write_pdf)


# Each way a bag could come out incomplete, after its payload is written, and what the builder says.
REFUSALS = [
    (_skip_documents, "the bundle's manifests stage cannot run after its payload stage"),
    (_sign_before_manifests, "the bundle's signed stage cannot run after its documents stage"),
    (_printer_writes_nothing, f"the bundle lacks {REPORT_PDF}, which it must hold"),
    (_printer_litters, "the bundle would hold data/report/print.log, which no bundle holds"),
    (_no_printer, "every bundle holds report.pdf, and no PDF printer was given"),
    (_no_exhibit_printer, "every bundle holds its exhibit PDFs, and no exhibit printer was given"),
]


@pytest.mark.parametrize(("stages", "message"), REFUSALS, ids=[f.__name__.strip("_") for f, _ in REFUSALS])
def test_the_builder_refuses_an_incomplete_bag(planned, stages, message):
    case, plan, out = planned
    before = _log(case)
    with BagBuilder(plan, out, as_dir=True) as bag:
        bag.write_payload()
        with pytest.raises(IncompleteBundleError, match=re.escape(message)):
            stages(bag)
        assert not bag.staging.exists(), "the staging folder goes as soon as a stage fails"
        with pytest.raises(IncompleteBundleError):
            bag.move_into_place()
    assert not out.exists() and list(out.parent.iterdir()) == [], "no bag and no staging folder is left"
    assert _log(case) == before, "nothing was recorded in the ledger"


def test_every_stage_in_order_gives_exactly_the_required_files(planned):
    _, plan, out = planned
    no_pdf = dataclasses.replace(plan, report_pdf=False)
    exhibits = _exhibits()
    for current, target, printer in ((plan, out, _write_pdf), (no_pdf, out.with_name("no-pdf"), None)):
        with BagBuilder(current, target, as_dir=True) as bag:
            bag.write_payload()
            bag.write_documents(printer=printer, exhibit_printer=exhibits if printer else None)
            bag.write_manifests()
            bag.sign()
            result = bag.move_into_place()
        assert _payload_files(target) == set(required_files(current))
        assert result.files == len(required_files(current))
        assert (REPORT_PDF in required_files(current)) is current.report_pdf
        exhibits_in = {f for f in required_files(current) if f.startswith("data/exhibits/")}
        assert exhibits_in == (
            {exhibit_path(current.exhibit(i)) for i in current.items} if current.report_pdf else set()
        )
        assert run_cli(["verify", str(target)]).exit_code == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["bundle", "no-pdf"], "no staging folder is left"
