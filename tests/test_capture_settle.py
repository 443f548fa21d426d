"""Work done while the network settles is kept only if the page stayed as it was.

A capture reads the page (DOM, text, MHTML) and, for a page it never had to scroll, takes the full-page
screenshot during the last quiet period. These tests make the page change right after that early work,
with a real request in the real browser, and check that what the capture kept shows the change; and they
check that a page that scrolled is shot from the top, whatever it pins to the viewport.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fixture_site import FixtureSite
from PIL import Image
from playwright.async_api import CDPSession

from evidencekit.capture import CaptureOptions, capture_many
from evidencekit.capture import session as session_module
from evidencekit.models import CaptureResult

# Prepends a red banner with the notice the fixture site serves; resolves once it is on the page.
ADD_BANNER = """
fetch('/api/notice').then((reply) => reply.json()).then((data) => {
  const banner = document.createElement('div');
  banner.id = 'banner';
  banner.style.cssText = 'height: 120px; margin: 0; background: rgb(200, 0, 0); color: #fff;';
  banner.textContent = data.notice;
  document.body.prepend(banner);
})
"""


def _capture(site: FixtureSite, path: str, work: Path) -> tuple[CaptureResult, dict[str, Any], list[str]]:
    result = capture_many([site.url(path)], CaptureOptions(timeout_s=30), work, concurrency=1)[0]
    assert result.status == "complete", (result.error, result.reasons)
    meta = json.loads((_folder(result) / "metadata.json").read_text(encoding="utf-8"))
    return result, meta, [step["step"] for step in meta["times"]["steps"]]


def _folder(result: CaptureResult) -> Path:
    return next(f.path.parent for f in result.files if f.artefact.name == "metadata.json")


def test_an_unscrolled_page_is_shot_and_read_while_the_network_settles(site: FixtureSite, tmp_path: Path) -> None:
    result, meta, steps = _capture(site, "/compressed.html", tmp_path)
    assert meta["page"]["scroll"]["steps"] == 0  # the page fits the viewport: it never moved
    assert steps.count("full-page-screenshot") == 1 and steps.count("page-read") == 1, steps
    assert steps.index("reached-bottom") < steps.index("page-read") < steps.index("network-settled")
    assert steps.index("reached-bottom") < steps.index("full-page-screenshot")
    with Image.open(_folder(result) / "screenshot.png") as image:
        assert image.size == (meta["page"]["screenshot"]["width"], meta["page"]["screenshot"]["height"])


def test_a_change_after_the_early_screenshot_and_reading_makes_the_capture_take_them_again(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_shot = session_module.full_page_shot
    shots: list[Path] = []

    async def shoot_then_change_the_page(cdp: CDPSession, path: Path) -> Any:
        taken = await real_shot(cdp, path)
        shots.append(path)
        if len(shots) == 1:  # right after the early screenshot, the page fetches and shows a banner
            await cdp.send("Runtime.evaluate", {"expression": ADD_BANNER, "awaitPromise": True})
        return taken

    monkeypatch.setattr(session_module, "full_page_shot", shoot_then_change_the_page)
    result, meta, steps = _capture(site, "/compressed.html", tmp_path)

    assert len(shots) == 2, steps  # the early one, and the one kept
    assert steps.count("full-page-screenshot") == 2 and steps.count("page-read") == 2, steps
    assert steps[-4:] == ["full-page-screenshot-discarded", "full-page-screenshot", "page-read-discarded", "page-read"]
    assert site.url("/api/notice") in {response["url"] for response in meta["responses"]}
    folder = _folder(result)
    with Image.open(folder / "screenshot.png") as image:
        assert image.convert("RGB").getpixel((10, 60)) == (200, 0, 0)  # the banner is in the kept shot
    assert "LATE NOTICE" in (folder / "dom.html").read_text(encoding="utf-8")
    assert "LATE NOTICE" in (folder / "text.txt").read_text(encoding="utf-8")
    # Only the kept screenshot is an artefact: the early one left nothing behind.
    assert [f.artefact.name for f in result.files].count("screenshot.png") == 1
    assert sorted(p.name for p in folder.glob("screenshot*")) == ["screenshot-viewport.png", "screenshot.png"]


def test_an_arrival_screenshot_cut_off_by_a_navigation_is_taken_again_on_the_new_page(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_shot = session_module.viewport_shot
    calls: list[Path] = []

    async def navigate_then_shoot(cdp: CDPSession, path: Path) -> None:
        calls.append(path)
        if len(calls) == 1:  # the page moves on just as the visitor arrives (as a meta refresh does)
            await cdp.send("Runtime.evaluate", {"expression": "location.href = '/redirect/final.html'"})
            for _ in range(100):  # until the new document has committed, before it has painted
                answer = await cdp.send("Runtime.evaluate", {"expression": "location.pathname"})
                if answer["result"].get("value") == "/redirect/final.html":
                    break
                await asyncio.sleep(0.02)
        await real_shot(cdp, path)

    monkeypatch.setattr(session_module, "viewport_shot", navigate_then_shoot)
    result, meta, steps = _capture(site, "/compressed.html", tmp_path)

    assert len(calls) == 2, steps  # the first attempt was dropped at the navigation
    assert result.final_url == site.url("/redirect/final.html")
    assert steps.count("viewport-screenshot") == 1
    assert not [r for r in result.reasons if "viewport" in r]
    with Image.open(_folder(result) / "screenshot-viewport.png") as image:
        assert image.size == (meta["settings"]["viewport"]["width"], meta["settings"]["viewport"]["height"])
    assert "hostess jobs in Milan" in (_folder(result) / "text.txt").read_text(encoding="utf-8")


def test_a_change_without_any_request_after_the_early_reading_is_caught_by_the_dom(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = session_module.read_page
    reads: list[int] = []

    async def read_then_change_the_page(page: Any, world: Any, cdp: CDPSession, **options: Any) -> Any:
        reading = await real_read(page, world, cdp, **options)
        reads.append(1)
        if len(reads) == 1:  # a timer of the page's own changes it, with no request at all
            script = "document.body.style.background = 'rgb(0, 160, 0)'; document.body.append('TIMER TEXT');"
            await cdp.send("Runtime.evaluate", {"expression": script})
        return reading

    monkeypatch.setattr(session_module, "read_page", read_then_change_the_page)
    result, _meta, steps = _capture(site, "/compressed.html", tmp_path)

    assert len(reads) == 2, steps
    assert "page-read-discarded" in steps and "full-page-screenshot-discarded" in steps, steps
    folder = _folder(result)
    assert "TIMER TEXT" in (folder / "text.txt").read_text(encoding="utf-8")
    assert "TIMER TEXT" in (folder / "dom.html").read_text(encoding="utf-8")
    with Image.open(folder / "screenshot.png") as image:
        width, height = image.size
        assert image.convert("RGB").getpixel((width - 5, height - 5)) == (0, 160, 0)


def test_a_page_that_lands_at_a_fragment_is_shot_from_the_top(site: FixtureSite, tmp_path: Path) -> None:
    result, _meta, steps = _capture(site, "/fixed-header.html#apply", tmp_path)
    with Image.open(_folder(result) / "screenshot.png") as image:
        rgb, right = image.convert("RGB"), image.size[0] - 10
        assert rgb.getpixel((right, 30)) == (220, 0, 0)  # the fixed header is where a reader at the top sees it
        assert [y for y in range(100, image.size[1], 10) if rgb.getpixel((right, y)) == (220, 0, 0)] == []
    assert steps.index("network-settled") < steps.index("full-page-screenshot"), steps


def test_a_page_that_replaces_its_timing_functions_is_still_scrolled_through(site: FixtureSite, tmp_path: Path) -> None:
    result, meta, _steps = _capture(site, "/hostile-timers.html", tmp_path)
    scroll = meta["page"]["scroll"]
    assert scroll["stopped_by"] == "bottom" and scroll["steps"] > 0, scroll
    assert "t.me/castingnow_dubai" in (_folder(result) / "text.txt").read_text(encoding="utf-8")


def test_readings_that_never_finish_end_in_a_cut_off_capture_not_a_hang(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []

    async def never_finish(page: Any, world: Any, cdp: CDPSession, **options: Any) -> Any:
        reads.append(1)  # a renderer stuck in the page's own scripts, say
        await asyncio.sleep(600)

    monkeypatch.setattr(session_module, "read_page", never_finish)
    result = capture_many([site.url("/compressed.html")], CaptureOptions(timeout_s=2), tmp_path, concurrency=1)[0]
    # The early reading is given up at the capture's deadline and read again; that one is cut off by the
    # run's own time limit, which must reach the capture (not be taken for the early reading's end).
    assert len(reads) == 2
    assert result.status == "partial"
    assert any(reason.startswith("cut-off:") for reason in result.reasons), result.reasons
    assert "dom.html" not in [f.artefact.name for f in result.files]


def test_images_held_back_by_a_time_throttled_loader_are_fetched_by_a_slow_second_pass(
    site: FixtureSite, tmp_path: Path
) -> None:
    _result, meta, _steps = _capture(site, "/throttled-lazy.html", tmp_path)
    scroll = meta["page"]["scroll"]
    assert scroll["slow_pass"] is True and scroll["lazy_images_left"] >= 1, scroll
    fetched = {r["url"] for r in meta["responses"] if r["status"] == 200}
    for number in (1, 2, 3):
        assert site.url(f"/images/feed-{number}.jpg?loader=throttled") in fetched, number
    assert len([i for i in meta["images"] if "loader=throttled" in i["url"]]) == 3


def test_a_page_whose_lazy_images_all_loaded_gets_no_slow_pass(site: FixtureSite, tmp_path: Path) -> None:
    _result, meta, _steps = _capture(site, "/lazy.html", tmp_path)
    assert meta["page"]["scroll"]["slow_pass"] is False and meta["page"]["scroll"]["lazy_images_left"] == 0


def test_a_page_that_redefines_innertext_and_queryselectorall_cannot_hide_its_text(
    site: FixtureSite, tmp_path: Path
) -> None:
    result, _meta, _steps = _capture(site, "/hidden-text.html", tmp_path)
    text = (_folder(result) / "text.txt").read_text(encoding="utf-8")
    assert "Hand your passport to the manager" in text and "Nothing to see here" not in text
    assert "+35799123456" in {indicator["value"] for indicator in result.indicators}


@pytest.mark.parametrize("pin", ["none", "fixed", "sticky", "shadow", "before", "background", "scroll-timeline"])
def test_a_page_that_scrolled_is_shot_from_the_top_after_the_quiet_period(
    site: FixtureSite, tmp_path: Path, pin: str
) -> None:
    result, meta, steps = _capture(site, f"/pinned.html?pin={pin}", tmp_path)
    assert meta["page"]["scroll"]["steps"] > 0
    assert meta["page"]["screenshot"]["scroll_y"] == 0
    assert steps.index("network-settled") < steps.index("full-page-screenshot"), steps
    assert steps.count("full-page-screenshot") == 1 and "full-page-screenshot-discarded" not in steps, steps
    if pin in ("fixed", "sticky", "shadow", "before"):
        with Image.open(_folder(result) / "screenshot.png") as image:
            rgb, right = image.convert("RGB"), image.size[0] - 10
            assert rgb.getpixel((right, 20)) == (0, 0, 200)  # where a reader at the top sees it
            assert [y for y in range(100, image.size[1], 10) if rgb.getpixel((right, y)) == (0, 0, 200)] == []


def test_a_page_that_writes_where_the_reader_is_into_its_dom_is_read_again_from_the_top(
    site: FixtureSite, tmp_path: Path
) -> None:
    result, meta, steps = _capture(site, "/scroll-marks.html", tmp_path)
    # Read at the bottom while the network settled; back at the top the page rewrote its DOM.
    assert steps[-3:] == ["full-page-screenshot", "page-read-discarded", "page-read"], steps
    assert meta["page"]["screenshot"]["scroll_y"] == 0
    folder = _folder(result)
    assert "Reader is at the top" in (folder / "text.txt").read_text(encoding="utf-8")
    assert 'class="top"' in (folder / "dom.html").read_text(encoding="utf-8")
    with Image.open(folder / "screenshot.png") as image:
        assert image.convert("RGB").getpixel((image.size[0] - 10, 30)) == (0, 150, 0)


@pytest.mark.parametrize("query", ["", "?root"])
def test_sections_painted_only_near_the_view_are_all_in_the_full_page_screenshot(
    site: FixtureSite, tmp_path: Path, query: str
) -> None:
    result, meta, _steps = _capture(site, "/content-visibility.html" + query, tmp_path)
    shot = meta["page"]["screenshot"]
    # content-visibility: auto (the hidden one is not among them; with ?root the root element is too)
    assert shot["sections_shown"] == (7 if query else 6), shot
    colours = [(0, 150, 0), (0, 0, 150), (150, 0, 0), None, (150, 150, 0), (0, 150, 150), (150, 0, 150)]
    folder = _folder(result)
    with Image.open(folder / "screenshot.png") as image:
        rgb, top = image.convert("RGB"), 0
        assert image.size[1] == shot["height"] == 6 * 600 + 300
        for colour in colours:
            height = 300 if colour is None else 600
            middle = rgb.getpixel((image.size[0] - 10, top + height // 2))
            # Every listing is painted, far below the view as well; the closed section stays blank.
            assert middle == (colour or (255, 255, 255)), (top, middle)
            top += height
    # Shown through a style sheet of the capture's own: the DOM kept is the page's, untouched.
    dom = (folder / "dom.html").read_text(encoding="utf-8")
    assert dom.count("content-visibility: visible") == 0 and "!important" not in dom
