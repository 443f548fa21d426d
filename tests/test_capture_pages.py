"""Real Chromium against the fixture site: one capture run of many pages, then assertions on the artefacts.

The pages are captured once per module (two at a time, as a user would), so every test here reads files
the capture wrote: screenshots, WARC, text, images, downloads, indicators and metadata.json.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixture_site import WWW, FixtureSite
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from evidencekit.capture import CaptureOptions, capture_many
from evidencekit.hashing import hash_file
from evidencekit.models import CaptureResult, canonical_json
from evidencekit.schemas import schema_problems

PAGES = {
    "ad": "/jobs/domestic-work.html",
    "multilingual": "/jobs/multilingual.html",
    "lazy": "/lazy.html",
    "feed": "/feed.html",
    "redirect": "/redirect/start",
    "gone404": "/gone-404.html",
    "gone410": "/gone-410.html",
    "slow": "/slow.html?delay=2",
    "consent": "/consent.html",
    "iframe": "/iframe.html",
    "tall": "/tall.html",
    "popups": "/popups.html",
    "compressed": "/compressed.html",
    "late": "/late-notice.html",
}


@dataclass
class Run:
    work: Path
    results: dict[str, CaptureResult]
    events: list[tuple[str, int]]
    site: FixtureSite

    def folder(self, key: str) -> Path:
        result = self.results[key]
        meta = next(f for f in result.files if f.artefact.name == "metadata.json")
        return meta.path.parent

    def file(self, key: str, name: str) -> Path:
        return self.folder(key) / name

    def text(self, key: str) -> str:
        return self.file(key, "text.txt").read_text(encoding="utf-8")

    def meta(self, key: str) -> dict[str, Any]:
        return json.loads(self.file(key, "metadata.json").read_text(encoding="utf-8"))

    def warc(self, key: str) -> dict[str, list[tuple[Any, bytes]]]:
        """URL -> [(record, payload)] of the response records."""
        found: dict[str, list[tuple[Any, bytes]]] = {}
        with self.file(key, "capture.warc.gz").open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    found.setdefault(uri, []).append((record, record.content_stream().read()))
        return found


@pytest.fixture(scope="module")
def run(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("captures")
    keys = list(PAGES)
    events: list[tuple[str, int]] = []
    results = capture_many(
        [site.url(PAGES[key]) for key in keys],
        CaptureOptions(timeout_s=45),
        work,
        concurrency=2,
        on_started=lambda index, url: events.append(("started", index)),
        on_finished=lambda index, result: events.append(("finished", index)),
    )
    yield Run(work, dict(zip(keys, results, strict=True)), events, site)


# --- every capture ---------------------------------------------------------------------------------------


def test_every_page_was_captured_and_reported_through_the_callbacks(run: Run) -> None:
    for key, result in run.results.items():
        assert result.status == "complete", (key, result.status, result.error, result.reasons)
    count = len(PAGES)
    assert sorted(i for what, i in run.events if what == "started") == list(range(count))
    assert sorted(i for what, i in run.events if what == "finished") == list(range(count))
    for index in range(count):
        assert run.events.index(("started", index)) < run.events.index(("finished", index))


def test_metadata_validates_and_is_canonical_json_safe(run: Run) -> None:
    for key in run.results:
        meta = run.meta(key)
        assert schema_problems("capture", meta) == [], key
        canonical_json(meta)  # no floats anywhere
        assert meta == json.loads(json.dumps(run.results[key].metadata))


def test_artefact_digests_match_the_files_and_stay_inside_the_capture_folder(run: Run) -> None:
    for key, result in run.results.items():
        folder = run.folder(key)
        listed = {a["name"]: a for a in run.meta(key)["artefacts"]}
        for captured in result.files:
            assert captured.path.resolve().is_relative_to(folder.resolve())
            assert captured.path == folder / captured.artefact.name
            assert hash_file(captured.path) == captured.artefact.digests
            if captured.artefact.name != "metadata.json":
                assert listed[captured.artefact.name]["sha256"] == captured.artefact.digests.sha256_tagged
        names = {f.artefact.name for f in result.files}
        assert {"screenshot.png", "screenshot-viewport.png", "dom.html", "text.txt", "capture.warc.gz"} <= names
        assert {"page.mhtml", "indicators.json", "metadata.json"} <= names
        on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
        assert on_disk == names, key


def test_nothing_is_left_in_the_work_folder_outside_the_capture_folders(run: Run) -> None:
    capture_folders = {run.folder(key) for key in run.results}
    # A pop-up captured (issue 16: popups.html opens one) has a folder of its own beside its opener's.
    popups = [popup for result in run.results.values() for popup in result.popups]
    capture_folders |= {
        next(f.path.parent for f in popup.files if f.artefact.name == "metadata.json") for popup in popups
    }
    assert {p for p in run.work.iterdir()} == capture_folders


def test_warc_files_pass_warcio_check_and_index(run: Run) -> None:
    for key in run.results:
        path = str(run.file(key, "capture.warc.gz"))
        for command in (["check", "-v", path], ["index", path]):
            done = subprocess.run(
                [sys.executable, "-m", "warcio.cli", *command], capture_output=True, text=True, timeout=120, check=False
            )
            assert done.returncode == 0, (key, command[0], done.stdout[-2000:], done.stderr[-2000:])
        with run.file(key, "capture.warc.gz").open("rb") as stream:
            assert next(iter(ArchiveIterator(stream))).rec_headers.protocol == "WARC/1.1"


def test_metadata_records_the_browser_the_software_and_the_machine(run: Run) -> None:
    meta = run.meta("ad")
    assert meta["browser"]["sandbox"] is (os.geteuid() != 0)
    assert ("--no-sandbox" in meta["browser"]["args"]) is (os.geteuid() == 0)
    assert meta["browser"]["version"].split(".")[0].isdigit()
    assert meta["software"]["playwright"].startswith("1.")
    assert meta["settings"]["viewport"] == {"width": 1366, "height": 768}
    assert meta["settings"]["user_agent_source"] == "browser default, headless marker removed"
    assert "Headless" not in meta["settings"]["user_agent"] and "Chrome/" in meta["settings"]["user_agent"]
    assert meta["settings"]["storage_state"] is None
    assert meta["times"]["started"] < meta["times"]["ended"]
    assert meta["host"]["name"]
    assert meta["http"]["server_ip"] == "127.0.0.1"
    assert meta["http"]["server_port"] == int(run.site.base.rsplit(":", 1)[1])
    assert all(r["server_ip"] == "127.0.0.1" for r in meta["responses"] if r["state"] == "finished")


# --- page by page -----------------------------------------------------------------------------------------


def test_the_ad_photo_keeps_its_exif_gps_and_camera(run: Run) -> None:
    images = run.meta("ad")["images"]
    photo = next(i for i in images if i["url"].endswith("/images/photo-gps.jpg"))
    assert run.file("ad", photo["artefact"]).read_bytes() == (WWW / "images" / "photo-gps.jpg").read_bytes()
    exif = photo["exif"]
    assert exif["make"] == "Canon" and exif["model"] == "Canon EOS 80D"
    assert exif["datetime_original"] == "2026:10:03 14:22:05"
    assert exif["gps"]["latitude"].startswith("52.520008")
    assert exif["gps"]["longitude"].startswith("13.40495")


def test_phone_numbers_are_normalised_to_e164(run: Run) -> None:
    indicators = json.loads(run.file("ad", "indicators.json").read_text(encoding="utf-8"))
    phones = {i["value"] for i in indicators if i["kind"] == "phone"}
    assert {"+442079460958", "+14155550132", "+919876543210"} <= phones
    emails = {i["value"] for i in indicators if i["kind"] == "email"}
    assert "recruit.agency@example.com" in emails
    assert list(run.results["ad"].indicators) == indicators


@pytest.mark.parametrize(
    "address",
    [
        "/images/lazy-1.jpg",  # loading="lazy"
        "/images/lazy-2.jpg",  # an intersection observer with a margin
        "/images/lazy-3.png",
        "/images/lazy-1.jpg?loader=strict-io",  # mid-page, an observer with no margin
        "/images/lazy-2.jpg?loader=scroll-raf",  # mid-page, a scroll listener checking once per frame
    ],
)
def test_lazy_images_were_scrolled_in_fetched_and_archived(run: Run, address: str) -> None:
    original = (WWW / address.split("?")[0].lstrip("/")).read_bytes()
    url = run.site.url(address)
    assert [payload for _, payload in run.warc("lazy")[url]] == [original]
    kept = next(i for i in run.meta("lazy")["images"] if i["url"] == url)
    assert run.file("lazy", kept["artefact"]).read_bytes() == original


def test_the_feed_loaded_every_page_by_scrolling(run: Run) -> None:
    meta = run.meta("feed")
    fetched = {r["url"] for r in meta["responses"] if r["status"] == 200}
    for page in range(1, 6):
        assert run.site.url(f"/api/feed?page={page}") in fetched
        assert run.site.url(f"/images/feed-{page}.jpg") in fetched
    assert "end of feed" in run.text("feed")
    assert meta["page"]["scroll"]["reached_bottom"] is True


def test_every_capture_lists_its_steps_in_order(run: Run) -> None:
    for key in run.results:
        steps = run.meta(key)["times"]["steps"]
        offsets = [step["offset_ms"] for step in steps]
        assert offsets == sorted(offsets), key
        assert [step["at"] for step in steps] == sorted(step["at"] for step in steps), key
    assert [step["step"] for step in run.meta("ad")["times"]["steps"]] == [
        "response",
        "load-event",
        "viewport-screenshot",
        "reached-bottom",
        "page-read",  # while the network settled: nothing happened after it, so it was kept
        "network-settled",
        "full-page-screenshot",  # from the top, where the page stands for it
    ]
    assert run.meta("ad")["page"]["screenshot"]["scroll_y"] == 0


def test_content_that_arrives_after_the_bottom_was_reached_is_in_the_dom_and_the_text(run: Run) -> None:
    # The notice is requested 150 ms after the bottom comes into view, usually while the page is being
    # read early: that reading is thrown away and the page read again after the full-page screenshot.
    assert run.site.url("/api/notice") in {e["url"] for e in run.meta("late")["responses"]}
    assert "LATE NOTICE: interviews moved to Friday" in run.file("late", "dom.html").read_text(encoding="utf-8")
    assert "LATE NOTICE: interviews moved to Friday" in run.text("late")
    steps = [step["step"] for step in run.meta("late")["times"]["steps"]]
    if steps.count("page-read") == 2:
        assert steps[-3:] == ["full-page-screenshot", "page-read-discarded", "page-read"], steps
    else:  # on a busy machine the request was already open when the bottom was reached: read once, after it
        assert steps.count("page-read") == 1 and "page-read-discarded" not in steps, steps


def test_the_tall_page_is_captured_whole_by_stitched_tiles(run: Run) -> None:
    meta = run.meta("tall")
    shot = meta["page"]["screenshot"]
    assert shot["tiled"] is True and len(shot["tiles"]) == 3
    with Image.open(run.file("tall", "screenshot.png")) as image:
        assert image.size == (shot["width"], shot["height"])
        assert image.height == shot["page_height"] == 40_000
        bottom = image.convert("RGB").getpixel((image.width // 2, image.height - 10))
        top = image.convert("RGB").getpixel((image.width // 2, 500))
    assert bottom == (255, 0, 255)  # the magenta band at the very end of the page
    assert top != (255, 0, 255)
    codes = {r["code"]: r["effect"] for r in meta["reasons"]}
    assert codes.get("screenshot-tiled") == "note"
    text = run.text("tall")
    assert all(f"marker-{i}" in text for i in range(40))


def test_the_redirect_chain_301_302_and_meta_refresh_is_recorded(run: Run) -> None:
    meta = run.meta("redirect")
    chain = [(hop["url"].split("/", 3)[-1], hop["status"], hop["via"]) for hop in meta["redirect_chain"]]
    assert chain == [
        ("redirect/start", 301, "request"),
        ("redirect/step2", 302, "http-redirect"),
        ("redirect/meta.html", 200, "http-redirect"),
        ("redirect/final.html", 200, "meta-refresh"),
    ]
    assert meta["final_url"] == run.site.url("/redirect/final.html")
    assert run.results["redirect"].final_url == meta["final_url"]
    records = run.warc("redirect")
    assert [r.http_headers.get_statuscode() for r, _ in records[run.site.url("/redirect/start")]] == ["301"]
    assert b"http-equiv" in records[run.site.url("/redirect/meta.html")][0][1]


@pytest.mark.parametrize(
    ("key", "status", "words"), [("gone404", 404, "has been removed"), ("gone410", 410, "deleted")]
)
def test_removed_ads_are_captured_with_their_status(run: Run, key: str, status: int, words: str) -> None:
    result = run.results[key]
    assert result.status == "complete"
    meta = run.meta(key)
    assert meta["http"]["status"] == status
    assert words in run.text(key)
    assert any(r["code"] == "http-error-status" and r["effect"] == "note" for r in meta["reasons"])
    records = run.warc(key)
    assert records[run.site.url(PAGES[key])][0][0].http_headers.get_statuscode() == str(status)


def test_the_slow_page_is_waited_for(run: Run) -> None:
    meta = run.meta("slow")
    assert meta["http"]["status"] == 200
    assert meta["times"]["duration_ms"] >= 2000
    assert run.file("slow", "document.html").stat().st_size > 0


def test_the_ad_under_a_consent_overlay_is_captured(run: Run) -> None:
    text = run.text("consent")
    assert "Massage therapists wanted" in text
    assert "We value your privacy" in text
    with Image.open(run.file("consent", "screenshot-viewport.png")) as image:
        assert image.size == (1366, 768)
    indicators = json.loads(run.file("consent", "indicators.json").read_text(encoding="utf-8"))
    assert "+442079460411" in {i["value"] for i in indicators}


def test_iframe_and_shadow_dom_text_reach_the_text_and_the_indicators(run: Run) -> None:
    text = run.text("iframe")
    assert "shadow-secret +1 415 555 0199" in text
    assert "Casting agent Anna" in text and "+44 20 7946 0321" in text
    values = {i["value"] for i in run.results["iframe"].indicators}
    assert {"+14155550199", "+442079460321"} <= values
    frames = run.meta("iframe")["page"]["frames"]
    assert [f["url"] for f in frames] == [run.site.url("/iframe.html"), run.site.url("/frame-content.html")]


def test_multilingual_text_survives_intact(run: Run) -> None:
    text = run.text("multilingual")
    for phrase in (
        "दुबई में घरेलू काम – वीज़ा और टिकट मुफ़्त",
        "سعودی عرب میں ڈرائیور اور صفائی کے کام کے لیے فوری ضرورت",
        "海外高薪工作：酒店服务员、保姆，包机票包签证",
        "مطلوب عاملات منزليات للعمل في الخارج",
        "+٩٧١ ٥٠ ١٢٣ ٤٥٦٧",
    ):
        assert phrase in text
    assert run.meta("multilingual")["title"] == "Work abroad – काम – کام – 工作 – عمل | QuickJobs Classifieds"
    phones = {i["value"] for i in run.results["multilingual"].indicators if i["kind"] == "phone"}
    assert {"+919123456789", "+8613800138000", "+971501234567", "+923001234567"} <= phones


def test_popups_dialogs_and_the_download_are_recorded(run: Run) -> None:
    meta = run.meta("popups")
    dialogs = [(d["type"], d["message"], d["action"]) for d in meta["dialogs"]]
    assert ("alert", "Welcome", "dismissed") in dialogs
    assert ("confirm", "Are you 18?", "dismissed") in dialogs
    assert [p["opened_url"] for p in meta["popups"]] == [run.site.url("/popup-child.html")]
    # Captured as a capture of its own (issue 16; --max-popups 0 closes it, see test_capture_popups).
    (popup,) = run.results["popups"].popups
    assert meta["popups"][0]["action"] == "captured"
    assert meta["popups"][0]["capture_id"] == popup.metadata["capture_id"]
    assert popup.status == "complete" and popup.final_url == run.site.url("/popup-child.html")
    assert popup.metadata["title"] == "Special offer!"
    assert meta["page"]["beforeunload_handler"] is True
    # the confirm was answered "Cancel": the page says so
    assert "Age confirmed: no" in run.text("popups")
    (download,) = meta["downloads"]
    assert download["outcome"] == "saved" and download["artefact"] == "downloads/contract.pdf"
    kept = run.file("popups", "downloads/contract.pdf")
    assert kept.read_bytes() == (WWW / "download" / "contract.pdf").read_bytes()
    artefact = next(f.artefact for f in run.results["popups"].files if f.artefact.name == "downloads/contract.pdf")
    assert (artefact.role, artefact.media_type) == ("download", "application/pdf")
    codes = {r["code"] for r in meta["reasons"]}
    assert {"dialogs-dismissed", "popups-captured"} <= codes


def test_a_gzip_body_is_archived_decoded_and_says_so(run: Run) -> None:
    records = run.warc("compressed")
    ((record, payload),) = records[run.site.url("/compressed.html")]
    http = record.http_headers
    assert http.get_header("Content-Encoding") is None
    assert http.get_header("X-Original-Content-Encoding") == "gzip"
    assert http.get_header("Content-Length") == str(len(payload))
    assert payload == (WWW / "compressed.html").read_bytes()
    assert payload == run.file("compressed", "document.html").read_bytes()
    assert run.meta("compressed")["http"]["body_state"] == "decoded"
    assert gzip.compress(payload)  # the payload itself is plain HTML, not gzip
    assert not payload.startswith(b"\x1f\x8b")


def test_the_document_body_is_what_the_server_sent(run: Run) -> None:
    assert run.file("ad", "document.html").read_bytes() == (WWW / "jobs" / "domestic-work.html").read_bytes()
    dom = run.file("ad", "dom.html").read_text(encoding="utf-8")
    assert "Domestic workers wanted abroad" in dom


def test_screenshots_are_pngs_of_the_viewport_and_the_whole_page(run: Run) -> None:
    meta = run.meta("feed")
    with Image.open(run.file("feed", "screenshot-viewport.png")) as viewport:
        assert viewport.format == "PNG" and viewport.size == (1366, 768)
    with Image.open(io.BytesIO(run.file("feed", "screenshot.png").read_bytes())) as full:
        assert full.format == "PNG"
        assert full.height == meta["page"]["screenshot"]["page_height"] > 768 * 3
