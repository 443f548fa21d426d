"""A page that leaves its own document after the response (second look at capture, defects 1 and 2).

A navigation that fails (the browser's error page), ``about:blank`` and a ``blob:`` document the page made
itself are what the DOM, text and screenshots show: such a capture is partial and says so, its final URL is
the last http(s) response (whose body is kept), and nothing the page made up is recorded as an HTTP exchange
or replayed as the page. A #fragment from a server's Location header belongs to the final URL.

One real CLI capture run (a subprocess, real Chromium, the fixture site), then an export: every claim is read
back from the ledger, the stored artefacts, the CLI's output and the bundle's WACZ and report.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_subprocess
from fixture_site import FixtureSite, refused_url
from warcio.archiveiterator import ArchiveIterator

from evidencekit.schemas import schema_problems

REFRESH = "/moves-on/refresh-to-dead-port.html"  # meta refresh to port 1 (Chromium: unsafe port)
BLANK = "/moves-on/to-about-blank.html"
BLOB = "/moves-on/to-blob.html"
FRAGMENT = "/redirect/to-fragment"
SCRIPT = "/moves-on/script-to-dead-port.html"  # with ?to=<a refused URL>, added by the run


class Run:
    def __init__(self, case: Path, stdout: str, bundle: Path, site: FixtureSite, script: str, dead: str) -> None:
        self.case, self.stdout, self.bundle, self.site, self.script, self.dead = (
            case,
            stdout,
            bundle,
            site,
            script,
            dead,
        )
        conn = sqlite3.connect(case / "ledger.sqlite")
        try:
            self.entries = [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
        finally:
            conn.close()

    def url(self, path: str) -> str:
        return self.script if path == SCRIPT else self.site.url(path)

    def completed(self, path: str) -> dict[str, Any]:
        url = self.url(path)
        return next(e for e in self.entries if e["action"] == "capture.completed" and e["details"]["url"] == url)

    def artefact(self, path: str, name: str) -> Path:
        found = next(a for a in self.completed(path)["artefacts"] if a["name"] == name)
        digest = found["blake3"].split(":", 1)[1]
        return self.case / "objects" / digest[:2] / digest

    def metadata(self, path: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.artefact(path, "metadata.json").read_text("utf-8"))
        return data

    def lines_of(self, path: str) -> list[str]:
        """The CLI's lines about one capture: its own line and the indented ones under it."""
        lines = self.stdout.splitlines()
        first = next(i for i, line in enumerate(lines) if line.split()[2:3] == [self.url(path)])
        rest = [line for line in lines[first + 1 :]]
        end = next((i for i, line in enumerate(rest) if not line.startswith("    ")), len(rest))
        return [lines[first], *rest[:end]]

    def wacz(self, path: str) -> tuple[list[dict[str, Any]], str]:
        item = self.completed(path)["subject"]
        with zipfile.ZipFile(self.bundle) as bundle:
            name = next(n for n in bundle.namelist() if n.endswith(f"data/items/{item}/capture.wacz"))
            with bundle.open(name) as member, zipfile.ZipFile(member) as wacz:
                pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
                index = wacz.read("indexes/index.cdxj").decode("utf-8")
        return pages[1:], index

    def report(self) -> str:
        with zipfile.ZipFile(self.bundle) as bundle:
            raw = bundle.read(next(n for n in bundle.namelist() if n.endswith("data/report/index.html")))
        return html.unescape(raw.decode("utf-8").replace("<wbr>", ""))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, site: FixtureSite) -> Run:
    folder = tmp_path_factory.mktemp("moves-on")
    with pytest.MonkeyPatch.context() as mp, refused_url() as dead:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        script = site.url(f"{SCRIPT}?to={dead}x")
        urls = [site.url(REFRESH), script, site.url(BLANK), site.url(BLOB), site.url(FRAGMENT)]
        proc = run_subprocess(["--case", str(case), "capture", *urls, "--timeout", "30s"], timeout=240)
        assert proc.returncode == 0, proc.stderr
        bundle = folder / "bundle.zip"
        exported = run_subprocess(["--case", str(case), "export", str(bundle), "--all", "--no-pdf"], timeout=240)
        assert exported.returncode == 0, exported.stderr
        return Run(case, proc.stdout, bundle, site, script, dead)


@pytest.mark.parametrize(
    ("path", "error"), [(REFRESH, "net::ERR_UNSAFE_PORT"), (SCRIPT, "net::ERR_CONNECTION_REFUSED")]
)
def test_a_navigation_that_fails_after_the_response_is_partial_and_says_so(run: Run, path: str, error: str) -> None:
    target = "http://127.0.0.1:1/x" if path == REFRESH else f"{run.dead}x"
    details = run.completed(path)["details"]
    assert details["status"] == "partial"
    reason = next(r for r in details["reasons"] if r.startswith("navigation-failed:"))
    assert target in reason and error in reason and "error page" in reason
    # The final URL is the page whose response came; its body is kept as the evidence it is.
    assert details["final_url"] == run.url(path)
    assert not any(r.startswith("document-body-missing") for r in details["reasons"]), details["reasons"]
    body = run.artefact(path, "document.html").read_text("utf-8")
    assert ("Nanny and driver positions abroad" if path == REFRESH else "Checking your browser") in body
    assert "Checking your browser" not in run.artefact(path, "text.txt").read_text("utf-8")
    meta = run.metadata(path)
    assert schema_problems("capture", meta) == []
    assert meta["status"] == "partial" and meta["final_url"] == run.url(path)
    shown = meta["shown_document"]
    assert shown["kind"] == "error-page" and shown["unreachable_url"] == target and shown["error"] == error
    assert shown["url"].startswith("chrome-error:")
    # The error page is not "the address bar as the page itself set it": no such label anywhere.
    assert "address_bar_url" not in details and "address_bar_url" not in meta
    lines = run.lines_of(path)
    assert lines[0].split()[1] == "partial"
    assert not any("as the page itself set it" in line for line in lines)
    assert any(line.strip().startswith("navigation-failed:") for line in lines[1:])


def test_a_page_that_replaces_itself_with_about_blank_is_partial(run: Run) -> None:
    details = run.completed(BLANK)["details"]
    assert details["status"] == "partial"
    reason = next(r for r in details["reasons"] if r.startswith("navigated-away:"))
    assert "about:blank" in reason
    assert details["final_url"] == run.site.url(BLANK)
    meta = run.metadata(BLANK)
    assert meta["shown_document"]["kind"] == "blank" and meta["shown_document"]["url"] == "about:blank"
    assert "address_bar_url" not in meta
    assert "This job offer is no longer available" in run.artefact(BLANK, "document.html").read_text("utf-8")
    assert "no longer available" not in run.artefact(BLANK, "text.txt").read_text("utf-8")


def _records(warc: Path) -> list[tuple[str, str, bytes]]:
    """(record type, target URI, content block) of every record of a WARC."""
    found = []
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream, no_record_parse=True):
            found.append(
                (record.rec_type, record.rec_headers.get_header("WARC-Target-URI") or "", record.raw_stream.read())
            )
    return found


def test_a_blob_document_is_never_the_final_url_nor_an_http_exchange(run: Run) -> None:
    page = run.site.url(BLOB)
    details = run.completed(BLOB)["details"]
    assert details["final_url"] == page and details["http_status"] == 200
    assert details["status"] == "partial"
    reason = next(r for r in details["reasons"] if r.startswith("navigated-away:"))
    assert "blob:" in reason and "made itself" in reason
    meta = run.metadata(BLOB)
    assert meta["final_url"] == page and meta["http"]["url"] == page
    assert meta["shown_document"]["kind"] == "made-by-page" and meta["shown_document"]["url"].startswith("blob:")
    # What the page showed is what was read: the made-up document's text.
    assert "Blob offer 5521" in run.artefact(BLOB, "text.txt").read_text("utf-8")
    # The chain lists the navigation, with no HTTP status: no server answered it.
    assert [(hop["url"].split(":", 1)[0], hop["status"]) for hop in meta["redirect_chain"]] == [
        ("http", 200),
        ("blob", None),
    ]
    # The WARC: no request or response for a blob: URL (no made-up GET with an empty Host), but the
    # content the page made is kept, as a resource record.
    records = _records(run.artefact(BLOB, "capture.warc.gz"))
    assert not [r for r in records if r[0] in ("request", "response") and not r[1].startswith("http")]
    assert not [r for r in records if r[0] == "request" and b"\r\nHost: \r\n" in r[2]]
    resources = [r for r in records if r[0] == "resource"]
    assert len(resources) == 1 and resources[0][1].startswith("blob:http://127.0.0.1:")
    assert b"Blob offer 5521" in resources[0][2]
    # The WACZ replays the page that was requested; the report names it as the final URL.
    pages, index = run.wacz(BLOB)
    assert [p["url"] for p in pages] == [page]
    assert f'"url": "{page}"' in index
    finals = re.findall(r"Final URL</th>\s*<td>(.*?)</td>", run.report(), re.S)
    assert any(page in cell for cell in finals) and not any("blob:" in cell for cell in finals)
    lines = run.lines_of(BLOB)
    assert "blob:" not in lines[0] and lines[0].split()[1] == "partial"


def test_a_fragment_from_a_location_header_is_the_final_urls_not_the_pages(run: Run) -> None:
    details = run.completed(FRAGMENT)["details"]
    final = run.site.url("/redirect/final.html#listing-7")
    assert details["status"] == "complete", details["reasons"]
    assert details["final_url"] == final
    assert "address_bar_url" not in details
    meta = run.metadata(FRAGMENT)
    assert meta["final_url"] == final and "address_bar_url" not in meta
    assert run.lines_of(FRAGMENT)[0].endswith(f"-> {final}")
    assert not any("as the page itself set it" in line for line in run.lines_of(FRAGMENT))


def test_the_bundle_with_a_resource_record_verifies_and_its_warc_and_wacz_pass_the_standard_tools(
    run: Run, tmp_path: Path
) -> None:
    verified = run_subprocess(["verify", str(run.bundle), "--json"], timeout=240)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    tools = Path(sys.executable).parent
    warc = run.artefact(BLOB, "capture.warc.gz")
    checked = subprocess.run([str(tools / "warcio"), "check", "-v", str(warc)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    item = run.completed(BLOB)["subject"]
    with zipfile.ZipFile(run.bundle) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith(f"data/items/{item}/capture.wacz"))
        (tmp_path / "capture.wacz").write_bytes(bundle.read(name))
    valid = subprocess.run(
        [str(tools / "wacz"), "validate", "-f", str(tmp_path / "capture.wacz")], capture_output=True, text=True
    )
    assert valid.returncode == 0 and "valid" in valid.stdout, valid.stdout + valid.stderr
