"""Unit-level tests of the watch code's review fixes (no browser)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import jsonschema
import pytest
from casekit import make_case

from evidencekit.errors import UsageError
from evidencekit.ledger.entries import CaptureStarted, ObservationRecorded, WatchAdded, series_key
from evidencekit.ledger.series import build_series
from evidencekit.models import Actor, LedgerEntry
from evidencekit.timefmt import format_time
from evidencekit.workflows.opencase import Session, open_case
from evidencekit.workflows.watch import notify
from evidencekit.workflows.watch import observer as observer_module
from evidencekit.workflows.watch.availability import answer_of, classify, judge
from evidencekit.workflows.watch.follow import refusal_of, split_new, watchable_url
from evidencekit.workflows.watch.observe import Plan
from evidencekit.workflows.watch.observer import Followed, Observer, carried_over
from evidencekit.workflows.watch.passes import CaseState, PassReport, _add_followed_watch, _ender
from evidencekit.workflows.watch.registry import WatchSettings, add_watches, change_watch, watch_list

URL = "https://ads.example/ad/1"
SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "actions"


def _details_schema(action: str, field: str) -> dict[str, object]:
    document = json.loads((SCHEMAS / f"{action}.schema.json").read_text())
    return document["properties"]["details"]["properties"][field]  # type: ignore[no-any-return]


def test_a_series_never_keeps_user_info_and_a_watch_refuses_it():
    assert series_key("https://alice:s3cret@Host.example/ad") == "https://host.example/ad"
    assert series_key("https://alice@host.example:443/ad#x") == "https://host.example/ad"
    with pytest.raises(UsageError, match="user info") as refused:
        watchable_url("https://alice:s3cret@host.example/ad")
    assert "s3cret" not in str(refused.value)
    assert refusal_of("https://bob@host.example/ad") is not None
    assert refusal_of("https://host.example/ad") is None


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ("watch.added", "url"),
        ("watch.added", "series"),
        ("capture.started", "series"),
        ("observation.recorded", "series"),
    ],
)
def test_the_schemas_refuse_user_info_in_watched_urls(action, field):
    schema = _details_schema(action, field)
    jsonschema.validate("https://host.example/ad", schema)
    for bad in ("https://alice:s3cret@host.example/ad", "https://alice@host.example/ad"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def _plan(**changes: Any) -> Plan:
    base: dict[str, Any] = {
        "series": "https://host.example/ad",
        "watch": "watch-0001",
        "previous": None,
        "compared_with": None,
        "compared_entry": None,
        "history": (),
        "needed": 3,
        "span_s": 0,
    }
    return Plan(**(base | changes))


def test_a_closed_observer_lets_the_writer_go_on_recording():
    # The writer still drains its queue after Ctrl-C and hands each result to the observer: once the
    # observer is closed that must be a no-op, not a RuntimeError that stops the writer.
    observer = Observer(cast(Any, SimpleNamespace(scratch=Path("/nonexistent"))), set())
    observer.plans = {0: _plan()}
    observer.close()
    case = cast(Any, SimpleNamespace(store=None, workspace=None))
    outcome = cast(Any, SimpleNamespace(item_id="capture-0001", entry=None))
    observer.recorded(case, 0, cast(Any, None), outcome)
    assert observer.results == [] and observer.failures == []


def test_a_notify_command_never_sees_evidencekit_variables(tmp_path, monkeypatch):
    dump = tmp_path / "env.json"
    script = tmp_path / "dump-env.py"
    script.write_text(
        f"import json, os, sys\nsys.stdin.read()\nopen({str(dump)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
    )
    workspace = cast(Any, SimpleNamespace(work_dir=tmp_path / "work"))
    (tmp_path / "work" / "watch").mkdir(parents=True)
    notify.keep_command(workspace, "watch-0001", f"{sys.executable} {script}")
    monkeypatch.setenv("EVIDENCEKIT_KEY_PASSPHRASE", "hunter2")
    monkeypatch.setenv("EVIDENCEKIT_KEY_PASSPHRASE_FILE", "/secret/file")
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    notify.run_command(workspace, "watch-0001", {"content": "changed"})
    seen = json.loads(dump.read_text())
    assert not [name for name in seen if name.startswith("EVIDENCEKIT_")]
    assert seen["SOMETHING_ELSE"] == "kept"


class Ledger:
    """Ledger entries made in memory for the pure parts of a pass (the planning, the series model)."""

    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.items = 0

    def add(self, action: str, subject: str | None, details: Mapping[str, Any], *, minutes: float = 1) -> LedgerEntry:
        self.clock += timedelta(minutes=minutes)
        entry = LedgerEntry(
            len(self.entries),
            format_time(self.clock),
            "UTC",
            Actor("t"),
            action,
            "case",
            subject,
            (),
            dict(details),
            None,
        )
        self.entries.append(entry)
        return entry

    def watch(self, watch: str = "watch-0001", url: str = URL, every_s: int = 3600, **more: Any) -> None:
        added = WatchAdded(watch, url, series_key(url), every_s, 0, (), 3, 0, **more)
        self.add("watch.added", None, added.to_details())

    def start(self, url: str = URL, *, watch: str | None = "watch-0001", minutes: float = 1, **more: Any) -> str:
        self.items += 1
        item = f"capture-{self.items:04d}"
        started = CaptureStarted(url, {}, series=series_key(url) if watch else None, watch=watch, **more)
        self.add("capture.started", item, started.to_details(), minutes=minutes)
        return item

    def end(self, item: str, *, status: str = "complete", http: int | None = 200, url: str = URL, **more: Any) -> None:
        details: dict[str, Any] = {
            "url": url, "status": status, "reasons": [], "final_url": url if http else None,
            "http_status": http, "title": more.pop("title", "An ad"), "metadata": None, "indicators": [],
        } | more  # fmt: skip
        self.add("capture.failed" if status == "failed" else "capture.completed", item, details)

    def abandon(self, item: str) -> None:
        started = next(e for e in self.entries if e.subject == item and e.action == "capture.started")
        self.add("capture.abandoned", item, {"started_seq": started.seq})

    def state(self) -> CaseState:
        return CaseState.from_entries(tuple(self.entries))


def test_abandoned_and_interrupted_attempts_do_not_push_the_next_attempt_away():
    ledger = Ledger()
    ledger.watch()
    done = ledger.start()
    ledger.end(done)
    state = ledger.state()
    expected = state.due(state.watches["watch-0001"])
    assert expected is not None
    killed = ledger.start(minutes=10)
    ledger.abandon(killed)
    stopped = ledger.start(minutes=10)
    ledger.end(stopped, status="failed", http=None, error="interrupted")
    cut = ledger.start(minutes=10)
    ledger.end(cut, status="partial", reasons=["interrupted: the capture was interrupted (Ctrl-C)"])
    state = ledger.state()
    assert state.due(state.watches["watch-0001"]) == expected
    failed = ledger.start(minutes=10)
    ledger.end(failed, status="failed", http=None, error="net::ERR_CONNECTION_REFUSED")
    state = ledger.state()
    assert state.due(state.watches["watch-0001"]) > expected  # a real failed answer counts


def test_an_observation_whose_comparison_fails_is_recorded_not_compared(tmp_path, monkeypatch):
    ledger = Ledger()
    ledger.watch()
    first = ledger.start()
    ledger.end(first)
    second = ledger.start()
    ledger.end(second)
    state = ledger.state()
    plan = state.plan(state.watches["watch-0001"], before_item=second)
    assert plan.compared_with == first

    def failing(*args: Any) -> Any:  # whatever breaks the comparison (a library's bug, a bad file)
        raise ValueError("cannot compare\nthese pages")

    monkeypatch.setattr(observer_module, "observe", failing)
    observer = Observer(cast(Any, SimpleNamespace(scratch=tmp_path)), set())
    observer._observe(plan, second, state.ended[second], Path, None, None)
    [(observed, *_)] = observer._ready
    assert observed.action.content == "not-compared" and observed.action.compared_with is None
    assert observed.action.availability == "online"
    assert "could not be compared (ValueError: cannot compare these pages)" in observed.action.answer["why"]
    assert len(observer.failures) == 1 and "\n" not in observer.failures[0]


def test_a_listings_links_carried_over_first_malformed_ones_refused_failed_ones_retried():
    page = [
        "https://ads.example/ad/9",
        "https://ads.example:99999/ad/1",
        "https://alice:s3cret@ads.example/ad/8",
        "https://ads.example/ad/7",
        "https://ads.example/ad/6",
        "https://ads" + "x" * 400 + ".example:bad/ad",
    ]
    seen = {series_key("https://ads.example/ad/6")}
    tried = {series_key("https://ads.example/ad/7")}
    picked = split_new(page, seen, 2, carried=["https://ads.example/ad/2", "https://ads.example/ad/6"], tried=tried)
    assert picked.new == ["https://ads.example/ad/2", "https://ads.example/ad/9"]
    assert picked.left == ["https://ads.example/ad/7"]
    assert "https://ads.example:99999/ad/1" in picked.refused
    assert not any("s3cret" in link for link in picked.refused)
    assert all(len(link) <= 200 for link in picked.refused)
    again = split_new(page, seen, 5, tried=tried)
    assert again.retried == ["https://ads.example/ad/7"]
    followed = again.followed()
    schema = _details_schema("observation.recorded", "followed")
    jsonschema.validate(followed, schema)
    assert set(followed) == {"new", "left", "refused", "retried"}
    assert split_new(["https://ads.example/ad/9"], set(), 5).followed() == {
        "new": ["https://ads.example/ad/9"],
        "left": [],
    }


def test_a_followed_link_counts_as_seen_only_once_a_capture_of_it_completed():
    ledger = Ledger()
    done = ledger.start("https://ads.example/ad/1", watch=None)
    ledger.end(done, url="https://ads.example/ad/1")
    failed = ledger.start("https://ads.example/ad/2", watch=None)
    ledger.end(failed, url="https://ads.example/ad/2", status="failed", http=None, error="timeout")
    killed = ledger.start("https://ads.example/ad/3", watch=None)
    ledger.abandon(killed)
    state = ledger.state()
    assert state.captured_series() == {"https://ads.example/ad/1"}
    assert state.tried_series() == {"https://ads.example/ad/2", "https://ads.example/ad/3"}


def test_the_links_an_earlier_pass_left_are_carried_over_oldest_first():
    ledger = Ledger()
    ledger.watch(url="https://ads.example/list")
    listing = ledger.start("https://ads.example/list")
    ledger.end(listing, url="https://ads.example/list")
    observation = ObservationRecorded(
        "https://ads.example/list", listing, None, None, "online", "not-compared", {"kind": "ok", "why": "HTTP 200"},
        watch="watch-0001", followed={"new": ["https://ads.example/ad/5"], "left": ["https://ads.example/ad/4"]},
    )  # fmt: skip
    ledger.add("observation.recorded", listing, observation.to_details())
    state = ledger.state()
    assert carried_over(state.plan(state.watches["watch-0001"])) == ["https://ads.example/ad/4"]


@pytest.fixture
def session(tmp_path: Path) -> Session:
    return Session(make_case(tmp_path / "case"), dict(os.environ))


def test_a_watch_removed_while_a_pass_runs_is_not_then_ended(session):
    until = format_time(datetime.now(UTC) + timedelta(days=1))
    add_watches(session, [URL], WatchSettings(until=until))
    [watch] = watch_list(session)
    change_watch(session, watch.id, "remove")  # after the pass read the ledger, before it ends the watch
    report = PassReport()
    with open_case(session) as case:
        before = case.ledger.size()
        _ender(watch, report)(case)
        assert case.ledger.size() == before
    assert report.ended == []
    assert [w.state for w in watch_list(session)] == ["removed"]


def test_a_followed_watch_copies_the_listings_notify_and_keeps_one_watch_per_url(session):
    listing_url = "https://ads.example/list"
    add_watches(
        session, [listing_url], WatchSettings(follow="a.ad", watch_followed=True, notify="/bin/true --token abc")
    )
    add_watches(session, ["https://ads.example/ad/2"], WatchSettings())
    listing = next(w for w in watch_list(session) if w.url == listing_url)
    with open_case(session) as case:
        recording = cast(Any, SimpleNamespace(submit=lambda job, what: job(case)))
        found_on = {"item": "capture-0001", "watch": listing.id}
        added = _add_followed_watch(recording, listing, Followed(URL, found_on, listing.id)).result()
        assert added is not None and added.notify and added.series == series_key(URL)
        assert notify.read_command(case.workspace, added.watch) == "/bin/true --token abc"
        again = _add_followed_watch(recording, listing, Followed(URL + "#x", found_on, listing.id)).result()
        already = _add_followed_watch(recording, listing, Followed("https://ads.example/ad/2", found_on, listing.id))
        assert again is None and already.result() is None
    assert len(watch_list(session)) == 3


def _answer(url: str, final_url: str, *, title: str = "An ad", text: str | None = None, known: str | None = None):
    ledger = Ledger()
    item = ledger.start(url)
    ledger.end(item, url=url, final_url=final_url, title=title)
    return classify(url, ledger.entries[-1], title, text, known_final=known)


@pytest.mark.parametrize(
    ("url", "final_url", "known", "kind"),
    [
        ("https://example.com/ad/1", "https://www.example.com/ad/1", None, "ok"),
        ("https://m.site.com/ad?id=4", "https://site.com/ad?id=4", None, "ok"),
        ("https://www.site.com/ad/1", "https://mobile.site.com/ad/1", None, "ok"),
        ("https://example.com/ad/1", "https://www.example.com/", None, "gone"),
        ("https://example.com/ad/1", "https://other.example/ad/1", None, "gone"),
        ("https://site.com/ad/1", "https://cdn.site.com/ad/1", None, "gone"),
        ("https://site.com/ad/1", "https://ads.partner.example/view/99", "https://ads.partner.example/view/99", "ok"),
    ],
)
def test_a_redirect_to_the_same_page_of_the_same_site_is_not_away(url, final_url, known, kind):
    assert _answer(url, final_url, known=known)["kind"] == kind


LIVE_ADS = [
    ("Wohnung Berlin", "Schöne Wohnung, Angebot bis Mai. Alter Vertrag abgelaufen, Tel 0151 2345678."),
    ("Job in Wien", "Ihr alter Pass nicht gefunden? Kein Problem, wir helfen. Ruf an."),
    ("Kamer Amsterdam", "Het oude tapijt is verwijderd, nieuwe vloer. Bel 06 12345678."),
    ("Flat to rent", "Lovely flat, the old carpet has been removed. Call 07700 900123."),
    ("Nanny wanted", "Previous post was deleted by mistake, so here it is again: " + "details " * 80),
]
GONE_PAGES = [
    ("NightJobs", "This ad has been removed by the advertiser."),
    ("Listing expired | Boards", "Browse similar offers."),
    ("Kleinanzeigen", "Diese Anzeige ist nicht mehr verfügbar. Ähnliche Anzeigen"),
    ("Page not found", "We looked everywhere."),
    ("Annonces", "Cette annonce a été supprimée."),
    ("Marktplaats", "Deze advertentie is niet meer beschikbaar."),
]


@pytest.mark.parametrize(("title", "text"), LIVE_ADS)
def test_a_live_ad_using_such_words_is_not_an_unavailable_page(title, text):
    assert _answer(URL, URL, title=title, text=text)["kind"] == "ok"


@pytest.mark.parametrize(("title", "text"), GONE_PAGES)
def test_a_page_saying_the_ad_is_gone_is_a_gone_answer(title, text):
    assert _answer(URL, URL, title=title, text=text)["kind"] == "gone"


def test_the_phrase_in_a_long_pages_text_is_not_read():
    text = "This ad has been removed. " + "Other offers and their descriptions. " * 30
    assert _answer(URL, URL, title="Boards", text=text)["kind"] == "ok"


def test_a_plain_capture_of_a_watched_url_is_observed_and_a_200_login_wall_is_not_the_ad():
    ledger = Ledger()
    ledger.watch()
    first = ledger.start()
    ledger.end(first)
    observation = ObservationRecorded(
        series_key(URL), first, None, None, "online", "not-compared", {"kind": "ok", "why": "HTTP 200"},
        watch="watch-0001",
    )  # fmt: skip
    ledger.add("observation.recorded", first, observation.to_details())
    wall = ledger.start(watch=None)  # a plain `capture` of the watched URL that met a login wall, with 200
    ledger.end(wall, final_url="https://ads.example/login?next=/ad/1", title="Sign in")
    elsewhere = ledger.start("https://other.example/x", watch=None)
    ledger.end(elsewhere, url="https://other.example/x")
    state = ledger.state()
    assert [item for item, *_ in state.unobserved()] == [wall], "the plain capture of the watched URL only"
    series = state.series[series_key(URL)]
    assert answer_of(series.attempt(wall), state.completed) == "gone"
    plan = state.plan(state.watches["watch-0001"])
    assert plan.previous == wall and plan.compared_with == first, "a login wall is not the last sighting"


def test_a_listing_on_a_public_address_cannot_send_the_watch_into_the_investigators_own_network():
    public_listing = "http://93.184.216.34/jobs"
    page = [
        "http://127.0.0.1:631/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1/",
        "http://10.0.0.7/ad/1",
        "http://[::1]:8080/ad",
        "http://localhost:5000/ad",
        "http://printer.localhost/ad",
        "http://93.184.216.35/ad/1",
    ]
    picked = split_new(page, set(), 50, listing_url=public_listing)
    assert picked.new == ["http://93.184.216.35/ad/1"]
    assert picked.refused == page[:7]
    assert refusal_of(page[0], public_listing) is not None and "private network" in str(
        refusal_of(page[0], public_listing)
    )
    # A listing that is itself on such an address (an intranet, the fixtures) may link within it.
    local = split_new(page[:1], set(), 50, listing_url="http://127.0.0.1:8000/jobs")
    assert local.new == ["http://127.0.0.1:631/admin"] and local.refused == []


@pytest.mark.parametrize(("http", "words"), [(404, "HTTP 404 (Not Found)"), (410, "HTTP 410 (Gone)")])
def test_a_404_or_410_is_said_as_the_server_answered_it_and_counted_as_gone(http, words):
    ledger = Ledger()
    item = ledger.start()
    ledger.end(item, http=http)
    answer = classify(URL, ledger.entries[-1], "Not here", None)
    assert answer["kind"] == "gone"
    assert answer["why"] == f"the server answered {words}, counted as a gone answer"


def _gone_attempts(first_http: int) -> list[Any]:
    ledger = Ledger()
    ledger.watch()
    for http in (first_http, 404, 404, 404):
        ledger.end(ledger.start(), http=http)
    return list(build_series(ledger.entries)[series_key(URL)].attempts)


def test_a_url_never_seen_online_is_never_declared_removed():
    *history, last = _gone_attempts(404)  # gone from its very first capture
    judged = judge(history, {"kind": "gone"}, str(last.time), last.item, 3, 0)
    assert judged.availability == "unavailable"
    assert judged.removal is not None
    assert (judged.removal["answers"], judged.removal["last_online"], judged.removal["never_online"]) == (4, None, True)
    jsonschema.validate(judged.removal, _details_schema("observation.recorded", "removal"))
    # Once seen online, the same gone answers declare removal, with no never_online mark.
    *history, last = _gone_attempts(200)
    judged = judge(history, {"kind": "gone"}, str(last.time), last.item, 3, 0)
    assert judged.availability == "removed" and judged.removal is not None
    assert judged.removal["last_online"] == "capture-0001" and "never_online" not in judged.removal
