"""Pages that block, wall or challenge the visitor: real Chromium against the fixture site's /walls/ pages.

One `evidencekit capture` run of every page into a real case (module-scoped), then assertions on each
capture's metadata.json, its ledger entry, the CLI's words, and a bundle's report. Two ordinary pages (a
login link in the header, a small cookie bar) must come out complete and unmarked.
"""

from __future__ import annotations

import html
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_cli
from fixture_site import FixtureSite

from evidencekit.capture.walls import Gathered, recognise
from evidencekit.schemas import schema_problems

PAGES = {
    "challenge": "/walls/cf-challenge",
    "denied": "/walls/denied-403",
    "redirect-login": "/walls/members/ad-7",
    "overlay-login": "/walls/overlay-login.html",
    "onetrust": "/walls/onetrust.html",
    "generic-consent": "/walls/generic-consent.html",
    "age": "/walls/age-gate.html",
    "not-available": "/walls/not-available.html",
    "login-link": "/walls/ordinary-login-link.html",
    "cookie-bar": "/walls/cookie-bar.html",
}


@dataclass
class Run:
    case: Path
    out: str
    err: str
    exit_code: int
    outcomes: dict[str, dict[str, Any]]

    def stored(self, key: str, name: str) -> Path:
        artefact = next(a for a in self.outcomes[key]["artefacts"] if a["name"] == name)
        digest = artefact["blake3"].split(":", 1)[1]
        return self.case / "objects" / digest[:2] / digest

    def meta(self, key: str) -> dict[str, Any]:
        return dict(json.loads(self.stored(key, "metadata.json").read_text(encoding="utf-8")))

    def entry(self, key: str) -> dict[str, Any]:
        """The capture's ending ledger entry (capture.completed), as the CLI returned it."""
        return dict(self.outcomes[key]["entry"])


@pytest.fixture(scope="module")
def run(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("walls")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        patch.delenv("EVIDENCEKIT_CASE", raising=False)
        case = make_case(folder / "case")
        keys = list(PAGES)
        urls = [site.url(PAGES[key]) for key in keys]
        result = run_cli(["--case", str(case), "capture", *urls, "--timeout", "30s", "--concurrency", "3", "--json"])
        outcomes = {o["url"]: o for o in json.loads(result.stdout)}
        text = run_cli(["--case", str(case), "items"])  # the ledger still reads
        assert text.exit_code == 0, text.output
        yield Run(
            case,
            result.stdout,
            result.stderr,
            result.exit_code,
            {k: outcomes[u] for k, u in zip(keys, urls, strict=True)},
        )


BLOCKED = {
    "challenge": "challenge",
    "denied": "challenge",
    "redirect-login": "login-wall",
    "overlay-login": "login-wall",
}
NOTED = {
    "onetrust": "consent-wall",
    "generic-consent": "consent-wall",
    "age": "age-gate",
    "not-available": "not-available",
}


def test_challenges_and_login_walls_are_blocked_with_their_kind_and_evidence(run: Run) -> None:
    for key, kind in BLOCKED.items():
        meta = run.meta(key)
        assert meta["status"] == "blocked", (key, meta["status"], meta["reasons"])
        assert meta["blocked"]["kind"] == kind, key
        assert meta["blocked"]["evidence"], key
        assert schema_problems("capture", meta) == [], key
        entry = run.entry(key)
        assert entry["action"] == "capture.completed"
        assert entry["details"]["status"] == "blocked"
        assert entry["details"]["blocked"] == meta["blocked"]
        assert any(r["code"] == kind for r in meta["reasons"]), key


def test_the_evidence_names_the_facts_that_made_the_judgement(run: Run) -> None:
    challenge = run.meta("challenge")["blocked"]["evidence"]
    assert "response header cf-mitigated: challenge" in challenge
    assert "HTTP status 503" in challenge
    assert "title 'Just a moment...'" in challenge
    assert any("Cloudflare" in e for e in challenge)
    denied = run.meta("denied")["blocked"]["evidence"]
    assert "HTTP status 403" in denied and not any("cf-mitigated" in e for e in denied)
    assert any("PerimeterX/HUMAN" in e for e in denied)
    login = run.meta("redirect-login")
    assert login["final_url"].endswith("/walls/login.html?next=/walls/members/ad-7")
    assert any(e.startswith("redirected to a login page: ") for e in login["blocked"]["evidence"])
    assert "a password field on the page" in login["blocked"]["evidence"]
    overlay = run.meta("overlay-login")["blocked"]["evidence"]
    share = next(e for e in overlay if e.startswith("a password field in a full-screen overlay covering "))
    assert int(share.split("covering ", 1)[1].split("%", 1)[0]) >= 90


def test_consent_walls_age_gates_and_not_available_pages_are_notes_not_blocks(run: Run) -> None:
    for key, kind in NOTED.items():
        meta = run.meta(key)
        assert meta["status"] == "complete", (key, meta["status"], meta["reasons"])
        assert "blocked" not in meta and "blocked" not in run.entry(key)["details"]
        notes = [r for r in meta["reasons"] if r["code"] == kind]
        assert notes and notes[0]["effect"] == "note", (key, meta["reasons"])
    assert (
        "div#onetrust-banner-sdk"
        in next(r for r in run.meta("onetrust")["reasons"] if r["code"] == "consent-wall")["message"]
    )
    assert "'Are you over 18'" in next(r for r in run.meta("age")["reasons"] if r["code"] == "age-gate")["message"]


def test_ordinary_pages_with_a_login_link_or_a_small_cookie_bar_are_no_wall(run: Run) -> None:
    for key in ("login-link", "cookie-bar"):
        meta = run.meta(key)
        assert meta["status"] == "complete", (key, meta["reasons"])
        codes = {r["code"] for r in meta["reasons"]}
        assert not codes & {"challenge", "login-wall", "consent-wall", "age-gate", "not-available"}, (key, codes)


def test_leave_is_the_default_and_clicks_nothing(run: Run) -> None:
    for key in PAGES:
        meta = run.meta(key)
        assert meta["consent"] == {"mode": "leave"}
        assert meta["settings"]["consent"] == "leave"
        assert not any(s["step"].startswith("consent-") for s in meta["times"]["steps"])
    text = run.stored("onetrust", "text.txt").read_text(encoding="utf-8")
    assert "Accept All Cookies" in text  # the dialog is still there: nothing was clicked


def test_the_cli_says_blocked_and_exits_as_for_a_partial_capture(run: Run) -> None:
    assert run.exit_code == 0, run.err
    for key in BLOCKED:
        assert run.outcomes[key]["status"] == "blocked"
    assert "warning: " in run.err and "is blocked: the site showed a challenge page instead of the content" in run.err
    assert "the site asked the visitor to sign in instead of showing the content" in run.err


def test_every_fingerprint_setting_is_recorded(run: Run) -> None:
    settings = run.meta("login-link")["settings"]
    assert settings["fingerprint"]["stealth"] is False
    assert settings["fingerprint"]["locale"] is None and settings["fingerprint"]["timezone"] is None
    assert any("user agent" in change for change in settings["fingerprint"]["changes"])
    assert any("1366x768" in change for change in settings["fingerprint"]["changes"])
    assert "HeadlessChrome" not in settings["user_agent"]


# --- the judgement alone, on facts a capture could gather (no browser) ---------------------------------


def _facts(**given: Any) -> Gathered:
    base: dict[str, Any] = {
        "requested_url": "https://ads.example/ad/1",
        "final_url": "https://ads.example/ad/1",
        "status": 200,
        "headers": (),
        "body": b"<html><body>An ad</body></html>",
        "title": "Nannies wanted",
        "text": "Nannies wanted. " * 200,
        "seen": None,
    }
    return Gathered(**(base | given))


def test_widget_scripts_alone_on_an_ordinary_page_are_no_challenge() -> None:
    body = (
        b'<form><div class="g-recaptcha"></div><script src="https://www.google.com/recaptcha/api.js"></script></form>'
    )
    assert recognise(_facts(body=body)) == []
    assert recognise(_facts(status=503, body=b"<h1>Down for maintenance</h1>", title="Maintenance")) == []
    assert [w.kind for w in recognise(_facts(status=429, body=body))] == ["challenge"]


def test_a_login_page_asked_for_is_no_login_wall() -> None:
    seen = {"password_fields": 1, "grid_points": 100, "coverage_points": 0}
    asked = _facts(requested_url="https://ads.example/login", final_url="https://ads.example/login", seen=seen)
    assert recognise(_replace_title(asked, "Log in")) == []
    walled = _replace_title(_facts(seen=seen), "Log in • ClassiFeed")
    assert [w.kind for w in recognise(walled)] == ["login-wall"]


def _replace_title(facts: Gathered, title: str) -> Gathered:
    return Gathered(**{**facts.__dict__, "title": title})


# --- what the records make of a blocked capture ------------------------------------------------------------


def test_a_blocked_capture_is_an_error_answer_for_a_watch_never_online_nor_gone(run: Run) -> None:
    from evidencekit.ledger.series import build_series
    from evidencekit.models import LedgerEntry
    from evidencekit.workflows.watch.availability import answer_of, classify, judge

    for key, shown in (("challenge", "a challenge page"), ("redirect-login", "a login wall")):
        ended = LedgerEntry.from_dict(run.entry(key))
        answer = classify(run.outcomes[key]["url"], ended, None, None)
        assert answer["kind"] == "error", answer
        assert answer["blocked"] == BLOCKED[key]  # the kind, for the watch's own line
        assert f"the site showed {shown} instead of the page" in answer["why"]
        assert judge((), answer, ended.time, ended.subject or "", 2, 0).availability == "unavailable"
    entries = [LedgerEntry.from_dict(e) for e in _ledger(run.case)]
    every = build_series(entries)
    attempts = [a for series in every.values() for a in series.attempts]
    blocked = [a for a in attempts if a.outcome == "blocked"]
    assert {a.item for a in blocked} == {run.outcomes[key]["item_id"] for key in BLOCKED}
    for attempt in blocked:
        assert answer_of(attempt) == "error"  # neither a sighting online nor a gone answer
    assert not any(series.last_successful() in blocked for series in every.values())


def _ledger(case: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(case / "ledger.sqlite") as conn:
        return [json.loads(bytes(row[0])) for row in conn.execute("SELECT entry FROM entries ORDER BY seq")]


def test_the_report_says_what_the_site_showed_instead_of_the_content(run: Run, tmp_path: Path) -> None:
    items = [run.outcomes[key]["item_id"] for key in ("challenge", "overlay-login", "login-link")]
    out = tmp_path / "bundle"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(run.case.parent / "config"))
        args = ["--case", str(run.case), "export", str(out), "--dir", "--no-pdf", "--no-series"]
        result = run_cli([*args, *(a for item in items for a in ("--item", item))])
    assert result.exit_code == 0, result.output
    report = html.unescape((out / "data" / "report" / "index.html").read_text(encoding="utf-8"))
    assert 'class="status status-blocked">blocked<' in report
    assert "the site showed a challenge page instead of the content" in report
    assert "the site asked the visitor to sign in instead of showing the content" in report
    assert "response header cf-mitigated: challenge" in report
    assert "Browser fingerprint" in report and "no stealth" in report
    certificate = (out / "data" / "certificates" / "FRE-902-14-certification-DRAFT.txt").read_text(encoding="utf-8")
    flat = " ".join(certificate.split())
    assert "Blocked captures: 2 captures of a web page were made" in flat
    assert "blocked — the site showed a challenge page instead of the content" in flat


def test_a_small_bar_is_no_consent_wall_and_a_large_overlay_is() -> None:
    bar = {"grid_points": 100, "coverage_points": 10, "layers": ["div#cookie-bar"], "layer_text": "We use cookies"}
    assert recognise(_facts(seen=bar)) == []
    wall = {**bar, "coverage_points": 80, "scroll_locked": True}
    [found] = recognise(_facts(seen=wall))
    assert found.kind == "consent-wall" and not found.blocks
    assert found.evidence == (
        "an overlay covering 80% of the view ('div#cookie-bar')",
        "the overlay says 'cookies'",
        "the page's scrolling is locked",
    )


def test_words_of_an_ordinary_page_make_no_gate_and_no_not_available_note() -> None:
    text = "This page is not for minors. Call +44 20 7946 0958. You must be 18 or over to work here."
    assert recognise(_facts(text=text, title="Bar staff wanted")) == []
    assert [w.kind for w in recognise(_facts(title="Page not found | Jobs"))] == ["not-available"]
    assert [w.kind for w in recognise(_facts(status=410))] == ["not-available"]


def test_the_consent_mode_is_recorded_when_each_capture_starts(run: Run) -> None:
    started = [e for e in _ledger(run.case) if e["action"] == "capture.started"]
    assert len(started) == len(PAGES)
    assert {e["details"]["options"]["consent"] for e in started} == {"leave"}
