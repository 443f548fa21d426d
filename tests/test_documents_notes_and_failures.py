"""What the second look at issue 12 found: notes given with `add --note` / `capture --note` reach every
document (no exhibit may say no note was recorded), a failed capture is "attempted" with its recorded error,
exhibits list the redirect chain, long URLs and times break only at fixed places, the command line says
what the documents say, and `verify` without --key does not present the bundle's own claim as a finding."""

import html
import json
import re
import subprocess

from casekit import run_cli
from documentkit import ADD_NOTE, TIP_NOTE


def _pdf_text(path):
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _flat(text):
    return " ".join(text.split())


def _item_of(mixed, role):
    return mixed.items[role]


def test_notes_given_when_recorded_reach_the_report_custody_certificates_exhibits_and_show(mixed_bundle):
    root = mixed_bundle.root
    report = html.unescape(re.sub(r"<wbr>|<[^>]+>", " ", (root / "data/report/index.html").read_text()))
    for note in (ADD_NOTE, TIP_NOTE):
        assert note in _flat(report), note
        for cert in (root / "data/certificates").iterdir():
            assert note in _flat(cert.read_text()), (note, cert.name)
    ledger = mixed_bundle.ledger
    file_item = next(e["subject"] for e in ledger if e["action"] == "file.added")
    failed_item = next(e["subject"] for e in ledger if e["action"] == "capture.failed")
    exhibits = {p.stem: _flat(_pdf_text(p)) for p in (root / "data/exhibits").glob("*.pdf")}
    for item_id, note in ((file_item, ADD_NOTE), (failed_item, TIP_NOTE)):
        (text,) = [t for t in exhibits.values() if f"Item {item_id}" in t]
        assert note in text and "No note about this item was recorded" not in text
        shown = run_cli(["--case", str(mixed_bundle.case), "show", item_id]).stdout
        assert f"note: {note}" in shown


def test_a_failed_capture_is_attempted_with_its_recorded_error_everywhere(mixed_bundle):
    root = mixed_bundle.root
    failed = next(e for e in mixed_bundle.ledger if e["action"] == "capture.failed")
    error = failed["details"]["error"]
    assert error
    (text,) = [
        _flat(_pdf_text(p))
        for p in (root / "data/exhibits").glob("*.pdf")
        if f"Item {failed['subject']}" in _pdf_text(p)
    ]
    assert "Attempted" in text and "Captured 20" not in text
    assert "Reasons recorded none recorded" not in text and _flat(error)[:60] in text
    case = str(mixed_bundle.case)
    assert _flat(error)[:60] in _flat(run_cli(["--case", case, "show", failed["subject"]]).stdout)
    items = json.loads(run_cli(["--case", case, "items", "--json"]).stdout)
    said = {i["item_id"]: i["status_said"] for i in items}
    assert said[mixed_bundle.items["404"]] == "server answered HTTP 404 (Not Found)"
    assert "server answered HTTP 404 (Not Found)" in run_cli(["--case", case, "items"]).stdout


def test_times_in_the_report_break_only_after_the_date(mixed_bundle):
    page = (mixed_bundle.root / "data/report/index.html").read_text()
    moments = re.findall(r'<span class="moment">(.*?)</span></span>', page)
    assert moments, "times are marked as moments"
    for moment in moments:
        # Unbreakable parts (white-space: nowrap), breaks only between them, at separators.
        pieces = moment.removeprefix("<span>").split("</span><wbr><span>")
        assert "".join(pieces) == re.sub("<[^>]+>", "", moment) and len(pieces) > 1, moment
        for piece in pieces:  # every piece whole numbers only, ended or begun by a separator
            assert re.fullmatch(r"[0-9]+[-T:]|\.[0-9]+Z|[0-9]+", piece), (piece, moment)
    css = (mixed_bundle.root / "data/report/index.html").read_text()
    assert ".moment > span, .keyid > span { white-space: nowrap; }" in css


def test_verify_without_key_reports_the_named_signer_as_a_claim(mixed_bundle):
    out = run_cli(["verify", str(mixed_bundle.root)]).stdout
    assert "names its signer as" in out and "not established without --key" in out
    assert not any(line.startswith("  signed by ") for line in out.splitlines())
