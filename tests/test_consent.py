"""`--consent accept`: the accept control of a consent dialog is clicked after the arrival screenshot, and
exactly what was clicked is recorded. Real Chromium, one batch of the fixture site's consent pages
(module-scoped); the same pages captured with the default (``leave``) are in test_capture_walls.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fixture_site import FixtureSite
from PIL import Image

from evidencekit.capture import CaptureOptions, capture_many
from evidencekit.capture.consent import POPUP_NOTE
from evidencekit.errors import UsageError
from evidencekit.models import CaptureResult
from evidencekit.schemas import schema_problems
from evidencekit.timefmt import parse_time

PAGES = {
    "onetrust": "/walls/onetrust.html",
    "generic": "/walls/generic-consent.html",
    "sourcepoint": "/walls/sourcepoint.html",
    "plain": "/walls/ordinary-login-link.html",
    "opens": "/walls/opens-onetrust.html",  # a pop-up window with a OneTrust banner
}


@dataclass
class Run:
    results: dict[str, CaptureResult]

    def folder(self, key: str) -> Path:
        return next(f for f in self.results[key].files if f.artefact.name == "metadata.json").path.parent

    def meta(self, key: str) -> dict[str, Any]:
        return dict(json.loads((self.folder(key) / "metadata.json").read_text(encoding="utf-8")))

    def pixel(self, key: str, name: str, x: int, y: int) -> tuple[int, ...]:
        with Image.open(self.folder(key) / name) as image:
            return tuple(image.convert("RGB").getpixel((x, y)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    keys = list(PAGES)
    results = capture_many(
        [site.url(PAGES[key]) for key in keys],
        CaptureOptions(timeout_s=30, consent="accept"),
        tmp_path_factory.mktemp("consent"),
        concurrency=2,
    )
    yield Run(dict(zip(keys, results, strict=True)))


def test_accept_clicks_the_onetrust_control_and_records_exactly_what_it_clicked(run: Run) -> None:
    meta = run.meta("onetrust")
    assert schema_problems("capture", meta) == []
    assert meta["consent"]["mode"] == "accept"
    [click] = meta["consent"]["clicked"]
    assert click["selector"] == "#onetrust-accept-btn-handler"
    assert click["framework"] == "OneTrust"
    assert click["text"] == "Accept All Cookies"
    assert click["frame_url"].endswith("/walls/onetrust.html")
    steps = {s["step"]: s["at"] for s in meta["times"]["steps"]}
    assert "consent-accept-clicked" in steps
    assert parse_time(steps["viewport-screenshot"]) <= parse_time(click["at"])
    assert any(r["code"] == "consent-accepted" and r["effect"] == "note" for r in meta["reasons"])
    assert meta["status"] == "complete"
    assert "Accept All Cookies" not in (run.folder("onetrust") / "text.txt").read_text(encoding="utf-8")
    assert 'data-consent="accepted"' in (run.folder("onetrust") / "dom.html").read_text(encoding="utf-8")


def test_the_arrival_screenshot_is_the_one_before_the_click(run: Run) -> None:
    # The OneTrust-like backdrop is solid red: there on landing, gone after the click.
    assert run.pixel("onetrust", "screenshot-viewport.png", 10, 10) == (200, 0, 0)
    assert run.pixel("onetrust", "screenshot.png", 10, 10) == (255, 255, 255)
    assert run.pixel("generic", "screenshot-viewport.png", 10, 10) == (0, 0, 160)
    assert run.pixel("generic", "screenshot.png", 10, 10) == (255, 255, 255)


def test_the_generic_fallback_clicks_a_clear_accept_all_inside_a_consent_dialog(run: Run) -> None:
    [click] = run.meta("generic")["consent"]["clicked"]
    assert click["framework"] == "generic"
    assert click["text"] == "Alle akzeptieren"
    assert click["selector"].startswith("#wall > ")


def test_a_consent_frame_is_clicked_in_its_own_frame(run: Run) -> None:
    [click] = run.meta("sourcepoint")["consent"]["clicked"]
    assert click["framework"] == "Sourcepoint"
    assert click["selector"] == "button.sp_choice_type_11"
    assert click["frame_url"].endswith("/walls/sp-message.html")


def test_a_page_without_a_consent_dialog_gets_no_click(run: Run) -> None:
    consent = run.meta("plain")["consent"]
    assert consent["mode"] == "accept" and consent["clicked"] == []
    assert "nothing was clicked" in consent["note"]
    assert "consent-accept-none-found" in {s["step"] for s in run.meta("plain")["times"]["steps"]}


def test_accept_clicks_nothing_in_a_pop_up_window(run: Run) -> None:
    """A pop-up is evidence of what the page did: captured as shown, its consent banner left alone (a click
    there would act in the opener's browser context, on a window nobody chose)."""
    [popup] = run.results["opens"].popups
    folder = next(f for f in popup.files if f.artefact.name == "metadata.json").path.parent
    meta = dict(json.loads((folder / "metadata.json").read_text(encoding="utf-8")))
    assert schema_problems("capture", meta) == []
    assert meta["final_url"].endswith("/walls/onetrust.html")
    assert meta["consent"] == {"mode": "leave", "note": POPUP_NOTE}
    assert meta["settings"]["consent"] == "leave"
    assert not {s["step"] for s in meta["times"]["steps"]} & {"consent-accept-clicked", "consent-accept-none-found"}
    dom = (folder / "dom.html").read_text(encoding="utf-8")
    assert 'id="onetrust-accept-btn-handler"' in dom and 'data-consent="accepted"' not in dom
    assert run.meta("opens")["consent"]["mode"] == "accept"  # the page asked for still had it


def test_an_unknown_consent_mode_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--consent must be one of leave, accept"):
        CaptureOptions(consent="click-everything")


def test_the_cli_refuses_an_unknown_consent_mode(tmp_path: Path) -> None:
    from casekit import run_cli

    result = run_cli(["--case", str(tmp_path), "capture", "https://example.org/", "--consent", "click-all"])
    assert result.exit_code == 2
    assert "--consent" in result.stderr
