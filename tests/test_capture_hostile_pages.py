"""What a hostile page must not be able to put on the record (issue 11): a forged final URL (defect 5),
text hidden in a closed shadow root (defect 16), and what the README says the WARC keeps of the headers
(defect 16). (A title of megabytes: test_hardening_names.)

One real CLI capture run (a subprocess, real Chromium, the fixture site), then an export: every claim is
read back from the ledger, the stored metadata.json, the CLI's output and the bundle's WACZ."""

from __future__ import annotations

import gzip
import html
import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_subprocess
from fixture_site import FixtureSite
from warcio.archiveiterator import ArchiveIterator

FORGED_PATH = "/never-requested/official-embassy-notice.html?ref=forged"


def _entries(case: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


def _stored(case: Path, artefact: dict[str, Any]) -> Path:
    digest = artefact["blake3"].split(":", 1)[1]
    return case / "objects" / digest[:2] / digest


class Run:
    def __init__(self, case: Path, stdout: str, bundle: Path, site: FixtureSite) -> None:
        self.case, self.stdout, self.bundle, self.site = case, stdout, bundle, site
        self.entries = _entries(case)

    def completed(self, path: str) -> dict[str, Any]:
        url = self.site.url(path)
        return next(e for e in self.entries if e["action"] == "capture.completed" and e["details"]["url"] == url)

    def artefact(self, path: str, name: str) -> Path:
        entry = self.completed(path)
        return _stored(self.case, next(a for a in entry["artefacts"] if a["name"] == name))

    def metadata(self, path: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.artefact(path, "metadata.json").read_text("utf-8"))
        return data


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, site: FixtureSite) -> Run:
    folder = tmp_path_factory.mktemp("hostile-pages")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        urls = [site.url("/redirect/to-forged"), site.url("/closed-shadow.html"), site.url("/wire-headers.html")]
        proc = run_subprocess(["--case", str(case), "capture", *urls], timeout=240)
        assert proc.returncode == 0, proc.stderr
        bundle = folder / "bundle.zip"
        exported = run_subprocess(["--case", str(case), "export", str(bundle), "--all", "--no-pdf"], timeout=240)
        assert exported.returncode == 0, exported.stderr
    return Run(case, proc.stdout, bundle, site)


# --- defect 5: a page cannot forge the final URL ------------------------------------------------------


def test_the_final_url_is_the_last_response_not_what_the_page_wrote_in_the_address_bar(run: Run) -> None:
    real, forged = run.site.url("/forged-address.html"), run.site.url(FORGED_PATH)
    assert "/forged-address.html" in run.site.requests.paths()
    assert not any(path.startswith("/never-requested") for path in run.site.requests.paths())
    # The ledger entry: the redirect chain's last hop is the final URL; the page's own address apart.
    details = run.completed("/redirect/to-forged")["details"]
    assert details["final_url"] == real
    assert details["address_bar_url"] == forged
    # metadata.json, with the redirect chain that leads to the final URL.
    meta = run.metadata("/redirect/to-forged")
    assert meta["final_url"] == real
    assert meta["address_bar_url"] == forged
    assert "no response of this capture came from it" in meta["address_bar_note"]
    assert [hop["url"] for hop in meta["redirect_chain"]] == [run.site.url("/redirect/to-forged"), real]
    assert meta["redirect_chain"][-1]["status"] == 200 and meta["http"]["url"] == real
    # The CLI's line: the final URL after the arrow, the page's address labelled as its own.
    lines = run.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if run.site.url("/redirect/to-forged") in line)
    assert lines[first].endswith(f"-> {real}")
    assert lines[first + 1].strip() == f"address bar, as the page itself set it (no response came from it): {forged}"
    assert forged not in lines[first]


def test_the_wacz_page_entry_is_the_final_url_which_the_warc_holds_and_the_report_shows_both(run: Run) -> None:
    real, forged = run.site.url("/forged-address.html"), run.site.url(FORGED_PATH)
    item = run.completed("/redirect/to-forged")["subject"]
    with zipfile.ZipFile(run.bundle) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith(f"data/items/{item}/capture.wacz"))
        with bundle.open(name) as member, zipfile.ZipFile(member) as wacz:
            pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
            index = wacz.read("indexes/index.cdxj").decode("utf-8")
        report = bundle.read(next(n for n in bundle.namelist() if n.endswith("data/report/index.html"))).decode()
    assert [page["url"] for page in pages[1:]] == [real]
    # The report shows both, the page's own address labelled as such.
    assert "Address bar, as the page itself set it (no response came from it)" in report
    shown = html.unescape(report.replace("<wbr>", ""))  # URLs are shown with break points between parts
    assert forged in shown and real in shown
    assert '"url": "' + real + '"' in index  # replayable: the WARC has a response for it
    assert forged not in index


def test_a_page_that_leaves_its_address_alone_records_no_address_bar_url(run: Run) -> None:
    details = run.completed("/closed-shadow.html")["details"]
    assert details["final_url"] == run.site.url("/closed-shadow.html")
    assert "address_bar_url" not in details
    assert "address_bar_url" not in run.metadata("/closed-shadow.html")


# --- defect 16: closed shadow roots ------------------------------------------------------


def test_text_in_a_closed_shadow_root_is_in_the_visible_text_and_the_indicators(run: Run) -> None:
    text = run.artefact("/closed-shadow.html", "text.txt").read_text("utf-8")
    assert "+44 20 7946 0958" in text
    assert "closed.recruiter@example.org" in text
    assert "Nested open text 7731" in text  # an open root inside the closed one
    assert text.count("Open root text 4410") == 1  # read once, by the page's own script
    assert "color: #900" not in text  # a <style> inside the root is not text
    found = {(i["kind"], i["value"]) for i in run.completed("/closed-shadow.html")["details"]["indicators"]}
    assert ("phone", "+442079460958") in found
    assert ("email", "closed.recruiter@example.org") in found


# --- defect 16: what the WARC keeps of the headers, exactly as the README says ------------------------


def _response_block(warc: Path, url: str) -> bytes:
    """The HTTP header block of ``url``'s response record, as the bytes the WARC holds."""
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream, no_record_parse=True):
            if record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI") == url:
                raw: bytes = record.raw_stream.read()
                return raw.split(b"\r\n\r\n", 1)[0]
    raise AssertionError(f"no response record for {url}")


def test_the_warc_keeps_header_bytes_and_repeats_and_says_what_it_cannot_keep(run: Run) -> None:
    warc = run.artefact("/wire-headers.html", "capture.warc.gz")
    lines = _response_block(warc, run.site.url("/wire-headers.html")).split(b"\r\n")
    # The server sent "200 Tr\xc3\xa8s bien \xe9t\xe9": the UTF-8 part is kept, the other bytes are not.
    assert lines[0] == b"HTTP/1.1 200 Tr\xc3\xa8s bien"
    headers = [tuple(line.split(b": ", 1)) for line in lines[1:]]
    # Values are the bytes that were on the wire: Latin-1 and UTF-8 alike, inner spaces, nothing %-encoded.
    assert (b"X-Latin1", b"caf\xe9") in headers
    assert (b"X-Utf8", b"caf\xc3\xa9") in headers
    assert (b"X-Spaced", b"a   b") in headers
    assert [value for name, value in headers if name == b"X-Repeated"] == [b"one", b"two"]
    # The order is Chromium's, sorted by name, not the wire's (the server sent Zeta-Last first).
    names = [name for name, _ in headers]
    assert names == sorted(names) and names[-1] == b"Zeta-Last"
    assert not any(b"%" in value for _, value in headers)
    check = subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", str(warc)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert gzip.decompress(warc.read_bytes()).count(b"WARC/1.1\r\n") >= 3  # warcinfo, response, request
