"""The series model over real ledgers: a real case, typed drafts appended through its real ledger
transactions as the workflows append them, read back by ``build_series``/``series_of`` and ``timeline``."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from casekit import make_case, run_cli, verify_json
from tsakit import TsaServer

from evidencekit.errors import UsageError
from evidencekit.ledger.entries import (
    CaptureAbandoned,
    CaptureCompleted,
    CaptureFailed,
    CaptureStarted,
    ObservationRecorded,
    WatchAdded,
)
from evidencekit.ledger.series import (
    INTERVAL_KINDS,
    Series,
    attempt_cover,
    build_series,
    duration_words,
    independent_time,
    series_of,
)
from evidencekit.ledger.timecover import Cover
from evidencekit.models import LedgerEntry
from evidencekit.timefmt import format_time, utc_now
from evidencekit.timestamps.config import add_authority
from evidencekit.workflows.opencase import Session, open_case, publish_checkpoints, seal
from evidencekit.workflows.timeline import timeline

URL = "http://127.0.0.1:8123/watch/ad.html"
KEY = URL  # already normalised


class Recorder:
    """Appends typed drafts to a real case, each command in its own sealed transaction, at a clock the
    test moves forward (so the intervals' spans are known)."""

    def __init__(self, case: Path, *, real_clock: bool = False) -> None:
        self.case = case
        self.now = utc_now() + timedelta(minutes=1)
        self.real_clock = real_clock  # for tokens from a real TSA, whose genTime is now

    def session(self) -> Session:
        if self.real_clock:
            return Session(self.case, dict(os.environ))
        return Session(self.case, dict(os.environ), clock=lambda: self.now)

    def after(self, minutes: float) -> str:
        self.now += timedelta(minutes=minutes)
        return format_time(self.now)

    def record(self, make: Any) -> list[LedgerEntry]:
        with open_case(self.session()) as case:
            with case.ledger.transaction() as txn:
                make(case, txn)
                seal(case, txn)
            publish_checkpoints(case, txn)
            return [e for e in txn.appended if e.action != "checkpoint.signed"]

    def watch(self, watch: str, url: str = URL) -> None:
        added = WatchAdded(watch, url, url, 21600, 600, (), 3, 7200)
        self.record(lambda case, txn: txn.append(added.draft(case.actor)))

    def start(self, url: str = URL, *, watch: str | None = None, previous: str | None = None) -> LedgerEntry:
        self.after(1)
        started = CaptureStarted(url, {}, series=KEY if watch else None, previous=previous, watch=watch)

        def make(case: Any, txn: Any) -> None:
            txn.append(started.draft(case.actor, txn.next_item_id("capture")))

        return self.record(make)[0]

    def end(
        self,
        started: LedgerEntry,
        *,
        status: int | None = 200,
        failed: bool = False,
        final_url: str | None = URL,
        seen: Mapping[str, Any] | None = None,
        minutes: float = 1,
    ) -> str:
        """Ends the capture started (completed, or failed) with the observation ``seen`` in the same
        command, ``minutes`` after its start; returns the end's time."""
        item = str(started.subject)
        url = started.details["url"]
        time = self.after(minutes)

        def make(case: Any, txn: Any) -> None:
            kind = CaptureFailed if failed else CaptureCompleted
            state = "failed" if failed else "complete"
            ended = kind(url, state, (), final_url, status, "Ad", None, (), "refused" if failed else None)
            txn.append(ended.draft(case.actor, item))
            if seen is not None:
                observed = ObservationRecorded(**{"series": KEY, "current": item, **seen})  # type: ignore[arg-type]
                txn.append(observed.draft(case.actor, item))

        self.record(make)
        return time

    def capture(self, *, hours: float = 0, **end: Any) -> tuple[str, str]:
        """A whole watched attempt ``hours`` after the last one: (item, the time of its end)."""
        self.after(hours * 60)
        started = self.start(watch="watch-0001")
        return str(started.subject), self.end(started, **end)

    def entries(self) -> list[LedgerEntry]:
        with open_case(self.session(), readonly=True) as case:
            return list(case.ledger.entries())


def seen(
    availability: str,
    content: str,
    *,
    previous: str | None,
    compared_with: str | None,
    kind: str = "ok",
    changes: tuple[dict[str, str], ...] = (),
    removal: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "previous": previous,
        "compared_with": compared_with,
        "availability": availability,
        "content": content,
        "answer": {"kind": kind, "why": kind},
        "changes": changes,
        "watch": "watch-0001",
        "removal": removal,
    }


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Recorder, dict[str, str], dict[str, str]]]:
    """A plain capture, then a watch's passes: v1, v1, v2 (phone changed), 503, 404 x3 (removed at the
    third, 2 hours after the first), one more 404, 200 again (reappeared); an abandoned attempt in between,
    and a capture of another URL. Returns the recorder, each step's item and each step's time."""
    root = tmp_path_factory.mktemp("series")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        rec = Recorder(make_case(root / "case"))
        items: dict[str, str] = {}
        times: dict[str, str] = {}

        def step(name: str, *, hours: float = 1, **end: Any) -> str:
            items[name], times[name] = rec.capture(hours=hours, **end)
            return items[name]

        # A plain capture of the same URL, written differently, before any watch: it joins the series.
        plain = rec.start("HTTP://127.0.0.1:8123/watch/ad.html#photos")
        items["plain"], times["plain"] = str(plain.subject), rec.end(plain)
        other = rec.start("http://127.0.0.1:8123/other.html")
        items["other"], times["other"] = (
            str(other.subject),
            rec.end(other, final_url="http://127.0.0.1:8123/other.html"),
        )
        rec.watch("watch-0001")
        p = items["plain"]
        v1 = step("v1", seen=seen("online", "unchanged", previous=p, compared_with=p))
        v1b = step("v1b", seen=seen("online", "unchanged", previous=v1, compared_with=v1))
        phone = {"kind": "indicators", "summary": "phone +351 912 345 678 replaced by +351 913 000 111"}
        title = {"kind": "title", "summary": "title changed: 'Nanny - Porto' -> 'Nanny - Lisboa'"}
        words = {"kind": "text", "summary": "14 words added,\n3 removed"}
        changes = (phone, title, words)
        v2 = step("v2", seen=seen("online", "changed", previous=v1b, compared_with=v1b, changes=changes))
        down = step(
            "503", status=503, seen=seen("unavailable", "not-compared", previous=v2, compared_with=v2, kind="error")
        )
        # A capture started whose run died: recorded abandoned, as the next command's sweep records it.
        rec.after(30)
        dying = rec.start(watch="watch-0001", previous=down)
        items["abandoned"] = str(dying.subject)
        rec.after(1)
        rec.record(
            lambda case, txn: txn.append(CaptureAbandoned.of(dying, 4242, None).draft(case.actor, str(dying.subject)))
        )
        first = step(
            "404a", status=404,
            seen=seen("unavailable", "not-compared", previous=items["abandoned"], compared_with=v2, kind="gone",
                      removal={"answers": 1, "needed": 3, "span_s": 7200, "first": None, "last_online": v2}),
        )  # fmt: skip
        step("404b", status=404, seen=seen("unavailable", "not-compared", previous=first, compared_with=v2, kind="gone",
             removal={"answers": 2, "needed": 3, "span_s": 7200, "first": first, "last_online": v2}))  # fmt: skip
        removal = {"answers": 3, "needed": 3, "span_s": 7200, "first": first, "last_online": v2}
        step("404c", status=404, seen=seen("removed", "not-compared", previous=items["404b"], compared_with=v2,
                                           kind="gone", removal=removal))  # fmt: skip
        step("404d", status=404, seen=seen("removed", "not-compared", previous=items["404c"], compared_with=v2,
                                           kind="gone", removal={**removal, "answers": 4}))  # fmt: skip
        step("back", seen=seen("reappeared", "unchanged", previous=items["404d"], compared_with=v2))
        # A capture that ended without any observation about it.
        step("unobserved")
        yield rec, items, times


@pytest.fixture(scope="module")
def series(watched: tuple[Recorder, dict[str, str], dict[str, str]]) -> Series:
    rec, _, _ = watched
    found = build_series(rec.entries())
    assert set(found) == {KEY, "http://127.0.0.1:8123/other.html"}
    return found[KEY]


def test_every_capture_of_the_url_joins_its_series_in_ledger_order(series: Series, watched) -> None:
    _, items, _ = watched
    order = ["plain", "v1", "v1b", "v2", "503", "abandoned", "404a", "404b", "404c", "404d", "back", "unobserved"]
    assert series.item_ids() == tuple(items[name] for name in order)
    assert items["other"] not in series.item_ids()
    assert series.watches == ("watch-0001",)
    plain = series.attempts[0]
    assert plain.url == "HTTP://127.0.0.1:8123/watch/ad.html#photos"  # as recorded; its key is the series
    assert plain.watch is None and plain.observation is None and plain.availability == "not known"
    assert series.attempts[1].watch == "watch-0001"


def test_each_attempt_says_how_it_ended_and_what_was_observed(series: Series, watched) -> None:
    _, items, times = watched
    by = {a.item: a for a in series.attempts}
    v2 = by[items["v2"]]
    assert (v2.outcome, v2.http_status, v2.final_url, v2.time) == ("complete", 200, URL, times["v2"])
    assert v2.availability == "online" and v2.content == "changed"
    assert v2.headline == "phone +351 912 345 678 replaced by +351 913 000 111"
    assert v2.observation is not None and v2.observation_seq is not None and v2.observation_seq > (v2.ended_seq or 0)
    down = by[items["503"]]
    assert (down.http_status, down.availability, down.content, down.headline) == (
        503,
        "unavailable",
        "not-compared",
        None,
    )
    abandoned = by[items["abandoned"]]
    assert abandoned.outcome == "abandoned" and abandoned.http_status is None and abandoned.observation is None
    unobserved = by[items["unobserved"]]
    assert (
        unobserved.outcome == "complete"
        and unobserved.availability == "not known"
        and unobserved.content == "not known"
    )
    assert series.last_successful() == unobserved  # a completed 200 without an observation counts
    assert {a.outcome for a in series.attempts} == {"complete", "abandoned"}


def test_the_intervals_are_bounded_by_the_captures_the_observations_name(series: Series, watched) -> None:
    _, items, times = watched

    def start(name: str) -> str:  # an interval's lower bound: the recorded start of the capture opening it
        attempt = series.attempt(items[name])
        assert attempt is not None
        return attempt.started_at

    kinds = [i.kind for i in series.intervals]
    assert kinds == ["online", "changed", "removed", "reappeared", "online"]  # story order: by start, then end
    online, changed, removed, reappeared, back = series.intervals
    # v1 -> v1 -> v2: changed between the last identical capture (v1b) and the first differing one (v2).
    assert (changed.start_item, changed.start_time, changed.end_item, changed.end_time) == (
        items["v1b"],
        start("v1b"),
        items["v2"],
        times["v2"],
    )
    assert changed.words == (
        f"changed between {start('v1b')} ({items['v1b']}, start recorded) and {times['v2']} ({items['v2']}): "
        "phone +351 912 345 678 replaced by +351 913 000 111; title changed: 'Nanny - Porto' -> 'Nanny - Lisboa'; "
        "14 words added, 3 removed"
    )  # every change, most important first: the title (the city) is stated too
    # Seen online from the plain capture (the watch's first pass found the page unchanged against it, so it
    # showed that page) to v2.
    assert (online.start_item, online.end_item) == (items["plain"], items["v2"])
    assert online.words == (
        f"seen online at each of 4 captures from {start('plain')} ({items['plain']}, start recorded) "
        f"to {times['v2']} ({items['v2']})"
    )
    # Removed between the last sighting and the first gone answer, confirmed at the third, 2 h 4 min later (1 h apart + 2 min each).
    assert (removed.start_item, removed.start_time, removed.end_item, removed.end_time) == (
        items["v2"],
        start("v2"),
        items["404a"],
        times["404a"],
    )
    assert removed.words == (
        f"removed between {start('v2')} ({items['v2']}, start recorded) and {times['404a']} ({items['404a']}), "
        f"confirmed at {times['404c']} ({items['404c']}) after 3 answers over 2 hours 4 minutes"
    )
    # The fourth 404 stays removed and declares nothing new; reappeared after the last removed attempt.
    assert (reappeared.start_item, reappeared.end_item) == (items["404d"], items["back"])
    assert (
        reappeared.words
        == f"reappeared between {start('404d')} ({items['404d']}, start recorded) and {times['back']} ({items['back']})"
    )
    assert back.words == f"online during {start('back')} – {times['back']} ({items['back']})"  # not a point
    assert start("v1b") < times["v1b"], "a lower bound no later than the capture that saw the page"


def test_series_of_an_item_or_a_url_written_another_way(watched, series: Series) -> None:
    rec, items, _ = watched
    entries = rec.entries()
    assert series_of(entries, items["404b"]) == series
    assert series_of(entries, "http://127.0.0.1:80/x") is None
    assert series_of(entries, "HTTP://127.0.0.1:8123/watch/ad.html#top") == series
    assert series_of(entries, "capture-9999") is None
    assert series_of(entries, "file-0001") is None
    assert timeline(rec.session(), items["v2"]) == series
    with pytest.raises(UsageError, match=r"no capture of http://example\.org/ in this case"):
        timeline(rec.session(), "http://example.org/")


def test_the_json_form_has_stable_keys(series: Series) -> None:
    doc = series.to_dict()
    assert list(doc) == ["series", "watches", "attempts", "intervals"]
    assert set(doc["attempts"][0]) == {
        "item", "url", "time", "started_at", "ended_at", "outcome", "http_status", "final_url", "watch",
        "availability", "content", "headline", "changes", "compared_with", "previous", "answer", "removal", "observation_seq",
    }  # fmt: skip
    assert set(doc["intervals"][0]) == {"kind", "start_item", "start_time", "end_item", "end_time", "words"}


def test_independent_time_is_stated_beside_a_bound_it_covers(series: Series) -> None:
    changed = series.intervals[1]
    assert changed.kind == "changed"
    end = series.attempt(str(changed.end_item))
    assert end is not None and end.ended_seq is not None
    cover = Cover("2030-01-01T00:00:00.000000Z", "local-tsa", end.ended_seq + 1, 1, False)
    said = independent_time(series, changed, lambda seq: cover if seq >= end.ended_seq else None)  # type: ignore[operator]
    assert said == [
        f"{end.item} (recorded {end.time}): independently timestamped: existed no later than "
        "2030-01-01T00:00:00Z (local-tsa), 1 authority"
    ]
    assert independent_time(series, changed, lambda seq: None) == []


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 seconds"),
        (59.9, "59 seconds"),
        (60, "1 minute"),
        (7500, "2 hours 5 minutes"),
        (90061, "1 day 1 hour 1 minute 1 second"),
    ],
)
def test_durations_in_words(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words


def test_a_capture_never_ended_is_in_progress_and_bounds_nothing(tmp_path: Path) -> None:
    rec = Recorder(make_case(tmp_path / "case"))
    started = rec.start(URL)
    found = build_series(rec.entries())[KEY]
    (attempt,) = found.attempts
    assert (attempt.item, attempt.outcome, attempt.time, attempt.ended_at) == (
        started.subject,
        "in-progress",
        None,
        None,
    )
    assert found.intervals == () and found.last_successful() is None


def test_the_timeline_command_shows_the_history_and_its_json(watched, series: Series) -> None:
    rec, items, times = watched
    shown = run_cli(["--case", str(rec.case), "timeline", items["404c"]])
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[:3] == [
        f"URL: HTTP://127.0.0.1:8123/watch/ad.html#photos (also written {URL})",
        f"Series: {KEY}  (12 captures)",
        "Watches: watch-0001",
    ]
    assert (
        f"{times['v2']}  {items['v2']}  complete  HTTP 200  online  changed: phone +351 912 345 678 replaced"
        in shown.stdout
    )
    assert (
        "replaced by +351 913 000 111; title changed: 'Nanny - Porto' -> 'Nanny - Lisboa'; 14 words added, 3 removed"
        in (shown.stdout)
    ), "the attempt's line names every change"
    assert f"{items['abandoned']}  abandoned  HTTP not known  not known  not known" in shown.stdout
    assert f"{items['404b']}  complete  HTTP 404  unavailable (2 of 3 gone answers)  not-compared" in shown.stdout
    assert f"  {series.intervals[2].words}" in lines
    as_json = run_cli(["--case", str(rec.case), "timeline", "http://127.0.0.1:8123/watch/ad.html", "--json"])
    assert as_json.exit_code == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert [i.pop("independent_time") for i in doc["intervals"]] == [[]] * len(series.intervals)  # no TSA here
    assert doc == series.to_dict()
    unknown = run_cli(["--case", str(rec.case), "timeline", "http://127.0.0.1:8123/never.html"])
    assert unknown.exit_code == 2 and unknown.stdout == ""
    assert len(unknown.stderr.strip().splitlines()) == 1 and "no capture of" in unknown.stderr


def test_the_case_the_series_was_read_from_verifies(watched) -> None:
    rec, _, _ = watched
    code, report = verify_json(rec.case)
    assert code == 0 and report["ok"], report


def test_the_words_give_the_zone_s_time_beside_utc(watched) -> None:
    rec, items, _ = watched
    tokyo = build_series(rec.entries(), zone=ZoneInfo("Asia/Tokyo"))[KEY]
    changed = tokyo.intervals[1]
    started = tokyo.attempt(items["v1b"])
    assert started is not None and changed.start_time == started.started_at  # the recorded UTC times
    assert f"changed between {started.started_at} (" in changed.words and " JST) (" in changed.words


def test_attempt_cover_looks_up_the_entry_that_ended_the_attempt(series: Series) -> None:
    ended = series.attempts[1]
    seen: list[int] = []
    assert attempt_cover(ended, lambda seq: seen.append(seq)) is None  # type: ignore[func-returns-value]
    assert seen == [ended.ended_seq]


def test_what_the_entries_do_not_say_is_not_known(watched) -> None:
    rec, items, times = watched
    entries = rec.entries()
    # An excerpt without the capture compared with (a bundle's ledger excerpt may leave it out): the
    # changed interval names it, but its time is not known.
    excerpt = [e for e in entries if e.subject != items["v1b"]]
    changed = next(i for i in build_series(excerpt)[KEY].intervals if i.kind == "changed")
    assert (changed.start_item, changed.start_time) == (items["v1b"], None)
    assert changed.words.startswith(f"changed between not known ({items['v1b']}) and {times['v2']} ({items['v2']})")
    # An ending entry not in its recorded form: the capture ended, how is not known (not "in progress").
    damaged = [
        dataclasses.replace(e, details={"url": URL})
        if e.subject == items["v1"] and e.action == "capture.completed"
        else e
        for e in entries
    ]
    v1 = build_series(damaged)[KEY].attempt(items["v1"])
    assert v1 is not None and (v1.outcome, v1.http_status, v1.time) == ("not known", None, times["v1"])


def test_a_plain_capture_no_observation_vouches_for_is_no_sighting(watched) -> None:
    rec, items, times = watched
    entries = rec.entries()
    # Without the first pass's observation, nothing says the plain capture showed the ad; the first pass
    # itself is vouched for by the second, which found the page unchanged against it.
    first_pass = next(e for e in entries if e.action == "observation.recorded" and e.subject == items["v1"])
    online = next(i for i in build_series([e for e in entries if e != first_pass])[KEY].intervals if i.kind == "online")
    v1 = build_series(entries)[KEY].attempt(items["v1"])
    assert v1 is not None
    assert (
        online.words == f"seen online at each of 3 captures from {v1.started_at} ({items['v1']}, start recorded) "
        f"to {times['v2']} ({items['v2']})"
    )


def test_a_second_removal_after_reappearing_is_stated_again(tmp_path: Path) -> None:
    rec = Recorder(make_case(tmp_path / "case"))
    rec.watch("watch-0001")
    up, _ = rec.capture(seen=seen("online", "not-compared", previous=None, compared_with=None))

    def gone(previous: str, last_online: str) -> dict[str, Any]:
        removal = {"answers": 1, "needed": 1, "span_s": 0, "first": None, "last_online": last_online}
        return seen(
            "removed", "not-compared", previous=previous, compared_with=last_online, kind="gone", removal=removal
        )

    first, _ = rec.capture(hours=1, status=404, seen=gone(up, up))
    back, _ = rec.capture(hours=1, seen=seen("reappeared", "unchanged", previous=first, compared_with=up))
    again, again_time = rec.capture(hours=1, status=404, seen=gone(back, back))
    found = build_series(rec.entries())[KEY]
    assert [i.kind for i in found.intervals] == ["online", "removed", "reappeared", "online", "removed"]
    last = found.intervals[-1]
    assert (last.start_item, last.end_item, last.end_time) == (back, None, None)  # "first" not named: not known
    assert last.words.endswith(f"and not known, confirmed at {again_time} ({again}) after 1 answer over 0 seconds")
    # over: the span the observation recorded (span_s), as the first gone answer is not named


def test_the_timeline_states_the_independent_time_covering_a_bound(tmp_path: Path, tsa_pki) -> None:
    with TsaServer(tsa_pki, kind="rsa") as tsa:
        add_authority(dict(os.environ), tsa.url, name="local-tsa", ca_file=tsa.ca_file)
        rec = Recorder(make_case(tmp_path / "case"), real_clock=True)
        rec.watch("watch-0001")
        first, _ = rec.capture(seen=seen("online", "not-compared", previous=None, compared_with=None))
        phone = {"kind": "indicators", "summary": "phone replaced"}
        rec.capture(seen=seen("online", "changed", previous=first, compared_with=first, changes=(phone,)))
    shown = run_cli(["--case", str(rec.case), "timeline", first, "--json"])
    assert shown.exit_code == 0, shown.stderr
    changed = next(i for i in json.loads(shown.stdout)["intervals"] if i["kind"] == "changed")
    said = changed["independent_time"]
    assert [s.split(" (recorded ")[0] for s in said] == [changed["start_item"], changed["end_item"]]
    assert all(
        "independently timestamped: existed no later than " in s and "(local-tsa), 1 authority" in s for s in said
    )
    text = run_cli(["--case", str(rec.case), "timeline", first]).stdout.splitlines()
    at = text.index(f"  {changed['words']}")
    assert text[at + 1 : at + 3] == [f"      {s}" for s in said]


def test_an_excerpt_states_the_recorded_span_and_names_the_lower_bound_it_lacks(watched) -> None:
    rec, items, times = watched
    entries = rec.entries()
    # Without the first gone answer's entries: the span is the observation's own span_s (2 hours).
    removed = next(
        i
        for i in build_series([e for e in entries if e.subject != items["404a"]])[KEY].intervals
        if i.kind == "removed"
    )
    assert removed.words.endswith(f"({items['404c']}) after 3 answers over 2 hours")
    # Without the removed attempts: reappeared's lower bound is the attempt its observation names as previous.
    kept = [e for e in entries if e.subject not in (items["404c"], items["404d"])]
    reappeared = next(i for i in build_series(kept)[KEY].intervals if i.kind == "reappeared")
    assert (reappeared.start_item, reappeared.start_time) == (items["404d"], None)
    assert reappeared.words == f"reappeared between not known ({items['404d']}) and {times['back']} ({items['back']})"


def _gone_seen(previous: str | None, answers: int, last_online: str | None, availability: str = "unavailable"):
    removal = {"answers": answers, "needed": 3, "span_s": 0, "first": None, "last_online": last_online}
    return seen(
        availability, "not-compared", previous=previous, compared_with=last_online, kind="gone", removal=removal
    )


def test_a_url_never_seen_online_is_worded_so_not_as_a_removal(tmp_path: Path) -> None:
    rec = Recorder(make_case(tmp_path / "case"))
    rec.watch("watch-0001")
    first, _ = rec.capture(status=404, seen=_gone_seen(None, 1, None))
    second, _ = rec.capture(hours=1, status=404, seen=_gone_seen(first, 2, None))
    # An older ledger declared removal without any sighting: still no removal interval.
    third, third_time = rec.capture(hours=1, status=404, seen=_gone_seen(second, 3, None, "removed"))
    found = build_series(rec.entries())[KEY]
    (never,) = found.intervals
    started = found.attempt(first)
    assert started is not None
    assert (never.kind, never.start_item, never.end_item, never.end_time) == ("never-online", first, third, third_time)
    assert never.words == (
        f"never seen online: gone at every attempt (3 answers) from {started.started_at} ({first}, start recorded) "
        f"to {third_time} ({third})"
    )


def test_a_removal_still_being_counted_closes_the_intervals(tmp_path: Path) -> None:
    rec = Recorder(make_case(tmp_path / "case"))
    rec.watch("watch-0001")
    up, _ = rec.capture(seen=seen("online", "not-compared", previous=None, compared_with=None))
    gone, gone_time = rec.capture(hours=1, status=404, seen=_gone_seen(up, 1, up))
    found = build_series(rec.entries())[KEY]
    assert [i.kind for i in found.intervals] == ["online", "pending-removal"]
    pending = found.intervals[-1]
    attempt = found.attempt(gone)
    assert attempt is not None
    assert (pending.start_item, pending.end_item, pending.end_time) == (gone, gone, gone_time)
    assert pending.words == (
        f"since {attempt.started_at} ({gone}, start recorded): 1 of 3 gone answers, removal not confirmed "
        f"(last seen online: {up})"
    )
    assert set(i.kind for i in found.intervals) <= set(INTERVAL_KINDS)


def test_never_seen_online_counts_the_attempts_that_said_nothing_apart(tmp_path: Path) -> None:
    rec = Recorder(make_case(tmp_path / "case"))
    rec.watch("watch-0001")
    down, _ = rec.capture(
        status=503, seen=seen("unavailable", "not-compared", previous=None, compared_with=None, kind="error")
    )
    rec.capture(hours=1, status=404, seen=_gone_seen(down, 1, None))
    (never,) = build_series(rec.entries())[KEY].intervals
    assert never.kind == "never-online" and never.start_item == down
    assert never.words.startswith(
        "never seen online: 1 gone answer and 1 other attempt (no answer about the page) from "
    )


def test_a_plain_capture_named_last_seen_online_is_a_sighting(tmp_path: Path) -> None:
    """A plain capture, then a recapture's first gone answer (issue 16, M6): the observation names the plain
    capture as last seen online, so the timeline must not also say "never seen online"."""
    rec = Recorder(make_case(tmp_path / "case"))
    plain = rec.start()
    rec.end(plain)
    item = str(plain.subject)
    again = rec.start(watch=None, previous=item)
    rec.end(again, status=404, seen={**_gone_seen(item, 1, item), "watch": None})
    found = build_series(rec.entries())[KEY]
    kinds = [i.kind for i in found.intervals]
    assert "never-online" not in kinds, [i.words for i in found.intervals]
    assert kinds == ["online", "pending-removal"]
    assert f"(last seen online: {item})" in found.intervals[-1].words
