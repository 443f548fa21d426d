"""Pop-up windows captured as items of their own (issue 16): real Chromium, the fixture site, the CLI.

Three capture runs into one case (each a real process), then a ledger check, an export and its
verification; every test reads what those runs recorded:

1. a page that opens one pop-up (default ``--max-popups``): capture-0001 and, right after it, capture-0002
   opened by capture-0001;
2. ``--max-popups 2 --timeout 10``: a page opening five pop-ups (two captured, three closed), a page
   whose pop-up's pictures never finish loading (the opener is complete all the same, the pop-up partial),
   a page opening windows that show no page from a server (closed, as before: the download kept), a
   page whose pop-up opens another (that one is not the page's: closed), a page whose pop-up opens two
   windows before the page opens its second (which is captured: the others took no place of the page's),
   a page whose pop-up shows a video (not fetched: the pop-up's record says so), a page whose pop-up's
   server answers after the page's capture ended (recorded as not captured), and a page opening an address
   that redirects (the pop-up is recorded under the address the page opened), and a page whose pop-up
   closes itself while it is captured (its record says so);
3. ``--max-popups 0``: the same never-finishing pop-up closed, as every pop-up was before.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_cli, run_subprocess, verify_json
from fixture_site import FixtureSite, popuproutes
from warcio.archiveiterator import ArchiveIterator

from evidencekit.capture import CaptureOptions
from evidencekit.capture.options import GRACE_S
from evidencekit.errors import UsageError
from evidencekit.ledger.entries import CaptureCompleted, CaptureStarted

HANGING = "/popups16/hanging-opener.html"
HANGING_AD = "/popups16/hanging-ad.html"
ODD = "/popups16/odd-opener.html"  # opens a window that downloads, and a blank one it writes into
NESTED = "/popups16/nested-opener.html"  # its pop-up opens a pop-up of its own
CHAIN = "/popups16/chain-opener.html"  # its pop-up opens two windows, then the page opens a second pop-up
VIDEO = "/popups16/video-opener.html"  # its pop-up shows a <video>
SLOW = "/popups16/slow-popup-opener.html"  # its pop-up's server answers 6 s later
REDIRECT = "/popups16/redirect-opener.html"  # opens /popups16/go/redirected, which redirects to the ad
SELFCLOSE = "/popups16/selfclose-opener.html"  # its pop-up closes itself 1.5 s after it opened
# "Within a few seconds": the opener settles this early although its pop-up never does (its own settling
# ends at 0.8 of its 10 s timeout, where it would end, "still busy", if the pop-up's requests counted).
QUICK_S = 7.0


@dataclass
class Run:
    case: Path
    stdout: list[str]
    bundle: Path
    site: FixtureSite
    one: str  # the key of the page opening one pop-up
    five: str  # the key of the page opening five

    @property
    def entries(self) -> list[dict[str, Any]]:
        conn = sqlite3.connect(self.case / "ledger.sqlite")
        try:
            return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
        finally:
            conn.close()

    def of(self, item: str, action: str) -> dict[str, Any]:
        return next(e for e in self.entries if e["subject"] == item and e["action"] == action)

    def item_of(self, url: str, nth: int = 0) -> str:
        started = [e for e in self.entries if e["action"] == "capture.started" and e["details"]["url"] == url]
        return str(started[nth]["subject"])

    def stored(self, item: str, name: str) -> Path:
        ended = next(e for e in self.entries if e["subject"] == item and e["action"] == "capture.completed")
        digest = next(a for a in ended["artefacts"] if a["name"] == name)["blake3"].split(":", 1)[1]
        return self.case / "objects" / digest[:2] / digest

    def metadata(self, item: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stored(item, "metadata.json").read_text("utf-8"))
        return data

    def warc_urls(self, item: str) -> set[str]:
        with self.stored(item, "capture.warc.gz").open("rb") as raw:
            kept = ("request", "response")
            return {r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(raw) if r.rec_type in kept}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, site: FixtureSite) -> Run:
    folder = tmp_path_factory.mktemp("popups")
    one, five = "one-" + folder.name[-6:], "five-" + folder.name[-6:]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = make_case(folder / "case")
        stdout = []
        second = (f"/popups16/open/{five}?n=5", HANGING, ODD, NESTED, CHAIN, VIDEO, SLOW, REDIRECT, SELFCLOSE)
        for args in (
            [site.url(f"/popups16/open/{one}?n=1")],
            # One page at a time: a pop-up's capture takes no slot of the batch's (no deadlock, ids in order).
            ["--concurrency", "1", "--max-popups", "2", "--timeout", "10", *(site.url(p) for p in second)],
            ["--max-popups", "0", "--timeout", "10", site.url(HANGING)],
        ):
            proc = run_subprocess(["--case", str(case), "capture", *args], timeout=240)
            assert proc.returncode == 0, proc.stderr
            stdout.append(proc.stdout)
        bundle = folder / "bundle.zip"
        exported = run_subprocess(["--case", str(case), "export", str(bundle), "--all", "--no-pdf"], timeout=240)
        assert exported.returncode == 0, exported.stderr
        return Run(case, stdout, bundle, site, one, five)


def test_a_pop_up_is_an_item_of_its_own_recorded_right_after_its_opener(run: Run) -> None:
    opener_url, popup_url = run.site.url(f"/popups16/open/{run.one}?n=1"), run.site.url(f"/popups16/ad/{run.one}-1")
    entries = run.entries
    captures = [(e["action"], e["subject"]) for e in entries if e["action"].startswith("capture.")][:4]
    assert captures == [
        ("capture.started", "capture-0001"),
        ("capture.completed", "capture-0001"),
        ("capture.started", "capture-0002"),
        ("capture.completed", "capture-0002"),
    ]
    assert run.of("capture-0001", "capture.started")["details"]["url"] == opener_url
    opener = run.of("capture-0001", "capture.completed")["details"]
    assert opener["status"] == "complete" and opener["opened"] == ["capture-0002"]
    started = run.of("capture-0002", "capture.started")["details"]
    assert started["url"] == popup_url and started["opened_by"] == "capture-0001"
    # Recorded after the window's capture ended (in the opener's transaction): the entry says when it opened.
    popup_metadata = run.metadata("capture-0002")
    assert started["opened_at"] == popup_metadata["times"]["started"]
    assert started["opened_at"] < run.of("capture-0001", "capture.completed")["time"]
    assert started["opened_at"] < popup_metadata["times"]["ended"] < run.of("capture-0002", "capture.started")["time"]
    assert "opened_at" not in run.of("capture-0001", "capture.started")["details"]
    assert started["options"]["max_popups"] == 3
    assert "opened_by" not in run.of("capture-0001", "capture.started")["details"]
    popup = run.of("capture-0002", "capture.completed")["details"]
    assert popup["status"] == "complete" and popup["final_url"] == popup_url
    assert popup["title"] == f"Offer {run.one}-1 | Partner ads"
    # The window was captured as it was: the server was asked for the pop-up's page once, not again.
    assert popuproutes.requests_for(f"{run.one}-1") == 1
    lines = run.stdout[0].splitlines()
    assert any(line.startswith("capture-0002") and popup_url in line for line in lines)
    assert "    a pop-up window opened by capture-0001" in lines
    assert "    opened pop-up windows captured as capture-0002" in lines


def test_the_pop_ups_capture_has_its_own_screenshots_dom_text_warc_and_metadata(run: Run) -> None:
    opener_url, popup_url = run.site.url(f"/popups16/open/{run.one}?n=1"), run.site.url(f"/popups16/ad/{run.one}-1")
    names = {a["name"] for a in run.of("capture-0002", "capture.completed")["artefacts"]}
    assert {"screenshot.png", "screenshot-viewport.png", "dom.html", "text.txt", "capture.warc.gz"} <= names
    assert {"metadata.json", "document.html", "indicators.json"} <= names
    assert popuproutes.phone_of(f"{run.one}-1") in run.stored("capture-0002", "text.txt").read_text("utf-8")
    assert "Special offer" in run.stored("capture-0002", "dom.html").read_text("utf-8")
    # Each WARC holds its own window's traffic only.
    assert popup_url in run.warc_urls("capture-0002")
    assert run.site.url("/images/board-photo.jpg") in run.warc_urls("capture-0002")
    assert opener_url not in run.warc_urls("capture-0002")
    assert opener_url in run.warc_urls("capture-0001")
    assert popup_url not in run.warc_urls("capture-0001")
    # The metadata links them both ways, by their capture ids.
    opener, popup = run.metadata("capture-0001"), run.metadata("capture-0002")
    (record,) = opener["popups"]
    assert record["action"] == "captured" and record["capture_id"] == popup["capture_id"]
    assert record["opened_url"] == popup_url and record["status"] == "complete"
    assert popup["opened_by"] == {"capture_id": opener["capture_id"], "url": opener_url}
    assert popup["requested_url"] == popup_url and popup["final_url"] == popup_url
    assert [r["url"] for r in opener["responses"]] == [opener_url]
    assert "popups-captured" in {r["code"] for r in opener["reasons"]}


def test_past_max_popups_the_rest_are_closed_and_recorded_so(run: Run) -> None:
    opener_item = run.item_of(run.site.url(f"/popups16/open/{run.five}?n=5"))
    opener = run.metadata(opener_item)
    actions = [p["action"] for p in opener["popups"]]
    assert sorted(actions) == ["captured", "captured", "closed", "closed", "closed"]
    assert all("capture_id" not in p for p in opener["popups"] if p["action"] == "closed")
    notes = {p.get("note") for p in opener["popups"] if p["action"] == "closed"}
    assert notes == {"over the limit of 2 pop-up windows captured (--max-popups)"}
    assert opener["settings"]["max_popups"] == 2
    assert {r["code"]: r["message"] for r in opener["reasons"]}["popups-closed"] == (
        "3 pop-up windows were closed (what they loaded is in no WARC)"
    )
    opened = run.of(opener_item, "capture.completed")["details"]["opened"]
    assert len(opened) == 2
    for item, record in zip(opened, [p for p in opener["popups"] if p["action"] == "captured"], strict=True):
        assert int(item.split("-")[1]) > int(opener_item.split("-")[1])  # ids in order: after the opener's
        assert run.of(item, "capture.started")["details"]["opened_by"] == opener_item
        assert run.metadata(item)["capture_id"] == record["capture_id"]
        assert run.of(item, "capture.completed")["details"]["url"] == record["opened_url"]


def test_windows_showing_no_page_from_a_server_are_closed_as_before_and_a_download_kept(run: Run) -> None:
    opener_item = run.item_of(run.site.url(ODD))
    opener = run.metadata(opener_item)
    assert opener["status"] == "complete", opener["reasons"]
    assert [p["action"] for p in opener["popups"]] == ["closed", "closed"]
    assert all("capture_id" not in p for p in opener["popups"])
    assert all("showed no page from a server" in p["note"] for p in opener["popups"])
    # The window that turned into a download is recorded under the address the page opened.
    assert run.site.url("/download/contract.pdf") in [p["opened_url"] for p in opener["popups"]]
    (download,) = opener["downloads"]
    assert download["outcome"] == "saved" and download["artefact"] == "downloads/contract.pdf"
    assert "opened" not in run.of(opener_item, "capture.completed")["details"]
    assert not any(e["details"].get("opened_by") == opener_item for e in run.entries)


def test_a_window_a_pop_up_opened_is_not_said_to_be_opened_by_the_page(run: Run) -> None:
    opener_item = run.item_of(run.site.url(NESTED))
    opener = run.metadata(opener_item)
    first, second = opener["popups"]
    assert first["action"] == "captured" and first["opened_url"] == run.site.url("/popups16/nested-ad.html")
    assert second["action"] == "closed" and "capture_id" not in second
    assert second["opened_url"] == run.site.url("/popups16/ad/nested-from-popup")
    # Which window opened it: the pop-up captured (its capture id, as in that pop-up's metadata).
    (opened,) = run.of(opener_item, "capture.completed")["details"]["opened"]
    assert second["note"] == (
        "opened by one of the page's pop-up windows, not by the page itself "
        f"(by the pop-up window captured as {run.metadata(opened)['capture_id']})"
    )
    assert second["final_url"] == second["opened_url"]  # closed after a look, as the README says
    # The pop-up that opened it lists it in its own record too.
    (own,) = run.metadata(opened)["popups"]
    assert own["action"] == "closed" and own["opened_url"] == second["opened_url"]
    assert own["note"] == "opened by this pop-up window: not captured (only the windows the captured page opens are)"
    assert {r["code"]: r["message"] for r in opener["reasons"]}["popups-closed"] == (
        "1 pop-up windows were closed, 1 of them opened by its pop-up windows, not by the page itself "
        "(what they loaded is in no WARC)"
    )
    assert run.of(opened, "capture.started")["details"]["url"] == first["opened_url"]
    assert not any(e["details"].get("url") == second["opened_url"] for e in run.entries)


def _step(metadata: dict[str, Any], name: str) -> int:
    return int(next(s["offset_ms"] for s in metadata["times"]["steps"] if s["step"] == name))


def test_a_pop_up_that_never_finishes_loading_does_not_hold_up_its_opener(run: Run) -> None:
    opener_item = run.item_of(run.site.url(HANGING), 0)
    opener = run.metadata(opener_item)
    assert opener["status"] == "complete", opener["reasons"]
    assert opener["page"]["network_settled"] is True
    assert _step(opener, "network-settled") < QUICK_S * 1000
    assert not any("/hang/" in r["url"] for r in opener["responses"])
    assert opener["requests"]["unfinished"] == 0
    (opened,) = run.of(opener_item, "capture.completed")["details"]["opened"]
    popup = run.metadata(opened)
    assert popup["status"] == "partial"
    assert "page-still-loading" in {r["code"] for r in popup["reasons"]}
    assert any(r["url"] == run.site.url("/hang/popup16-a.jpg") for r in popup["responses"])
    # The opener's capture ended long before its pop-up's (its time is its own), and the pop-up had what
    # was left of its opener's ten seconds, no more.
    assert opener["times"]["ended"] < popup["times"]["ended"]
    assert popup["settings"]["timeout_ms"] <= 10_000
    assert popup["times"]["duration_ms"] <= (10 + GRACE_S) * 1000


def test_max_popups_0_closes_every_pop_up_and_it_still_does_not_hold_up_the_opener(run: Run) -> None:
    opener_item = run.item_of(run.site.url(HANGING), 1)
    opener = run.metadata(opener_item)
    assert opener["status"] == "complete", opener["reasons"]
    (record,) = opener["popups"]
    assert record["action"] == "closed" and "capture_id" not in record and "note" not in record
    assert record["opened_url"] == run.site.url(HANGING_AD)
    assert _step(opener, "network-settled") < QUICK_S * 1000
    assert not any("/hang/" in r["url"] for r in opener["responses"])
    assert "opened" not in run.of(opener_item, "capture.completed")["details"]
    assert not any(e["details"].get("opened_by") == opener_item for e in run.entries)
    assert "opened by" not in run.stdout[2]


def test_the_case_verifies_and_the_bundle_holds_both_items_and_says_how_they_are_linked(run: Run) -> None:
    code, report = verify_json(run.case)
    assert code == 0, report
    checked = run_subprocess(["verify", str(run.bundle)], timeout=240)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "INTACT" in checked.stdout
    with zipfile.ZipFile(run.bundle) as bundle:
        names = bundle.namelist()
        html = bundle.read(next(n for n in names if n.endswith("data/report/index.html"))).decode("utf-8")
    for item in ("capture-0001", "capture-0002"):
        assert any(f"data/items/{item}/capture.wacz" in n for n in names), item
        assert any(f"data/items/{item}/screenshot.png" in n for n in names), item
    opened_at = run.of("capture-0002", "capture.started")["details"]["opened_at"]
    assert f"capture-0001 (this window is a pop-up window the page of capture-0001 opened, at {opened_at})" in html
    assert "capture-0002 (each captured as an item of its own)" in html
    # The windows closed rather than captured are said too: where they went, when, and why.
    assert "Pop-up windows not captured" in html
    assert "Address the page opened" in html  # a pop-up's "requested URL": nobody requested it
    assert "over the limit of 2 pop-up windows captured (--max-popups)" in html
    assert run.site.url("/slow.html?delay=6") in html


def test_max_popups_out_of_range_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--max-popups must be between 0 and 20"):
        CaptureOptions(max_popups=-1)
    assert CaptureOptions().max_popups == 3
    result = run_cli(["capture", "--max-popups", "21", "http://127.0.0.1:9/"])
    assert result.exit_code == 2


def test_the_ledger_actions_keep_the_links_and_say_them() -> None:
    started = CaptureStarted("http://127.0.0.1/ad", {}, opened_by="capture-0001")
    assert started.to_details()["opened_by"] == "capture-0001"
    assert started.summary().endswith("(a pop-up window opened by capture-0001)")
    assert "opened_by" not in CaptureStarted("http://127.0.0.1/ad", {}).to_details()
    ended = CaptureCompleted("http://127.0.0.1/", "complete", (), None, None, None, None, (), opened=("capture-0002",))
    assert ended.to_details()["opened"] == ["capture-0002"]
    assert ended.summary().endswith("(opened pop-up windows captured as capture-0002)")
    assert (
        "opened" not in CaptureCompleted("http://127.0.0.1/", "complete", (), None, None, None, None, ()).to_details()
    )


def test_windows_a_pop_up_opened_take_no_place_of_the_pages_own_pop_ups(run: Run) -> None:
    opener_item = run.item_of(run.site.url(CHAIN))
    opener = run.metadata(opener_item)
    by_url = {p["opened_url"]: p for p in opener["popups"]}
    assert len(opener["popups"]) == 4, opener["popups"]
    first, late = by_url[run.site.url("/popups16/chain-ad.html")], by_url[run.site.url("/popups16/ad/chain-late")]
    # With --max-popups 2, the page's second pop-up is captured: the two its first pop-up opened took no place.
    assert first["action"] == "captured" and late["action"] == "captured", opener["popups"]
    for name in ("chain-under-1", "chain-under-2"):
        under = by_url[run.site.url(f"/popups16/ad/{name}")]
        assert under["action"] == "closed" and "capture_id" not in under
        assert under["note"].startswith("opened by one of the page's pop-up windows, not by the page itself")
        assert under["final_url"] == under["opened_url"]
    opened = run.of(opener_item, "capture.completed")["details"]["opened"]
    assert [run.of(item, "capture.started")["details"]["url"] for item in opened] == [
        first["opened_url"],
        late["opened_url"],
    ]
    assert "popups-closed" in {r["code"] for r in opener["reasons"]}


def test_a_pop_ups_video_is_not_fetched_and_its_record_says_so(run: Run) -> None:
    opener_item = run.item_of(run.site.url(VIDEO))
    (opened,) = run.of(opener_item, "capture.completed")["details"]["opened"]
    popup = run.metadata(opened)
    reasons = {r["code"]: r for r in popup["reasons"]}
    note = reasons["popup-media-not-fetched"]
    assert "names 1 video or audio files" in note["message"] and "not fetched" in note["message"]
    assert popup["status"] == "complete"  # a note: the window was captured as shown
    assert "media" not in popup or not popup["media"]
    names = {a["name"] for a in run.of(opened, "capture.completed")["artefacts"]}
    assert not any(name.startswith("media/") for name in names)
    assert "popup-media-not-fetched" not in {r["code"] for r in run.metadata(opener_item)["reasons"]}


def test_a_pop_up_whose_page_arrives_after_the_capture_ended_is_recorded_as_not_captured(run: Run) -> None:
    opener_item = run.item_of(run.site.url(SLOW))
    opener = run.metadata(opener_item)
    (record,) = opener["popups"]
    assert record["action"] == "closed" and "capture_id" not in record
    assert record["opened_url"] == run.site.url("/slow.html?delay=6")
    assert "had not yet shown when the page's capture ended" in record["note"]
    assert record["time"] < opener["times"]["ended"]
    assert "popups-closed" in {r["code"] for r in opener["reasons"]}
    assert "opened" not in run.of(opener_item, "capture.completed")["details"]


def test_a_redirected_pop_up_is_recorded_under_the_address_the_page_opened(run: Run) -> None:
    opener_item = run.item_of(run.site.url(REDIRECT))
    (record,) = run.metadata(opener_item)["popups"]
    opened_url, ad_url = run.site.url("/popups16/go/redirected"), run.site.url("/popups16/ad/redirected")
    assert record["action"] == "captured" and record["opened_url"] == opened_url
    assert record["final_url"] == ad_url
    (opened,) = run.of(opener_item, "capture.completed")["details"]["opened"]
    assert run.of(opened, "capture.started")["details"]["url"] == opened_url
    popup = run.metadata(opened)
    assert popup["requested_url"] == opened_url and popup["final_url"] == ad_url
    assert popup["status"] == "complete", popup["reasons"]
    assert {opened_url, ad_url} <= run.warc_urls(opened)


def test_a_pop_up_that_closes_itself_while_captured_says_so(run: Run) -> None:
    opener_item = run.item_of(run.site.url(SELFCLOSE))
    (opened,) = run.of(opener_item, "capture.completed")["details"]["opened"]
    popup = run.metadata(opened)
    reasons = {r["code"]: r["message"] for r in popup["reasons"]}
    said = reasons["popup-closed-itself"]
    assert said.startswith("the pop-up window closed itself at ") and "(its own script)" in said
    closed_at = said.removeprefix("the pop-up window closed itself at ").split(" ", 1)[0]
    assert popup["times"]["started"] < closed_at
    assert "popup-closed-itself" not in {r["code"] for r in run.metadata(opener_item)["reasons"]}
