"""Following a listing (issue 15): each pass captures the ads the listing shows that the case never captured,
each once, found on the listing's capture; ``--max-follow`` bounds a pass and the rest is recorded as left;
``--watch-followed`` puts each new ad under watch. ``--notify`` runs its command on a change, and the command
(which may hold a token) is nowhere in the evidence: not in the ledger, the store, or an exported bundle.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from typing import Any

import pytest
from fixture_site import watchroutes
from watchkit import WatchCase, about, of_action

TOKEN = "tok-SECRET-7f3a9c"


@pytest.fixture(scope="module")
def listings(site: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("watch-listing")
    case = WatchCase.make(root)
    a, b = watchroutes.fresh_key(), watchroutes.fresh_key()
    notified = root / "notified.json"
    case.run_ok("capture", site.url(f"/watch/listing/{a}/ad-1"))  # seen before: never followed
    case.run_ok("watch", "add", site.url(f"/watch/listing/{a}"), "--follow", f"/watch/listing/{a}/ad-*",
                "--max-follow", "1", "--notify", "false")  # fmt: skip
    notify = f"sh -c 'cat > {notified}' {TOKEN}"
    case.run_ok("watch", "add", site.url(f"/watch/listing/{b}"), "--follow", "a.ad-link", "--watch-followed",
                "--notify", notify)  # fmt: skip
    site.requests.clear()
    passes = [case.run("watch", "run", "--now", "--json") for _ in range(3)]
    for done in passes:
        assert done.returncode == 0, done.stderr
    yield {"case": case, "site": site, "a": a, "b": b, "root": root, "notified": notified, "passes": passes,
           "reports": [json.loads(p.stdout) for p in passes], "paths": site.requests.paths(),
           "entries": case.entries()}  # fmt: skip


def _listing_observations(listings: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [o for o in of_action(listings["entries"], "observation.recorded") if o["details"]["series"].endswith(key)]


def _url(listings: dict[str, Any], key: str, n: int) -> str:
    return str(listings["site"].url(f"/watch/listing/{key}/ad-{n}"))


def test_only_new_ads_are_captured_each_once_and_max_follow_bounds_a_pass(listings):
    a = listings["a"]
    followed = [o["details"]["followed"] for o in _listing_observations(listings, a)]
    url = lambda n: _url(listings, a, n)  # noqa: E731
    # The listing shows the newest first; what an earlier pass left comes first in the next one, so the
    # older ads are not left behind for ever.
    assert followed == [
        {"new": [url(3)], "left": [url(2)]},  # ad-1 was captured before the watch
        {"new": [url(2)], "left": [url(5), url(4)]},
        {"new": [url(5)], "left": [url(4), url(7), url(6)]},
    ]
    requested = [p for p in listings["paths"] if p.startswith(f"/watch/listing/{a}/")]
    assert sorted(requested) == sorted(f"/watch/listing/{a}/ad-{n}" for n in (3, 2, 5)), "each new ad once"


def test_a_followed_ad_is_its_own_item_found_on_the_listing_capture(listings):
    entries = listings["entries"]
    a = listings["a"]
    listing_items = [o["subject"] for o in _listing_observations(listings, a)]
    started = {e["details"]["url"]: e for e in of_action(entries, "capture.started")}
    for n, listing_item in zip((3, 2, 5), listing_items, strict=True):
        entry = started[_url(listings, a, n)]
        assert entry["details"]["found_on"] == {"item": listing_item, "watch": "watch-0001"}
        assert "watch" not in entry["details"], "without --watch-followed it is a plain first capture"
        assert about(entries, entry["subject"], "capture.completed")
        assert not about(entries, entry["subject"], "observation.recorded")


def test_site_furniture_links_are_never_followed(listings):
    paths = listings["paths"]
    assert not any(p.startswith(("/watch/help", "/watch/login", "/?")) or p == "/" for p in paths)
    assert not any("page=2" in p for p in paths)
    started = [e["details"]["url"] for e in of_action(listings["entries"], "capture.started")]
    assert not any("partner.example" in u for u in started)


def test_watch_followed_puts_each_new_ad_under_watch_with_the_listing_settings(listings):
    b = listings["b"]
    added = [e["details"] for e in of_action(listings["entries"], "watch.added")]
    followed = [d for d in added if d.get("found_on")]
    assert [d["url"] for d in followed] == [_url(listings, b, n) for n in (3, 2, 1, 5, 4, 7, 6)]
    listing_items = [o["subject"] for o in _listing_observations(listings, b)]
    assert [d["found_on"]["item"] for d in followed] == [listing_items[0]] * 3 + [listing_items[1]] * 2 + [
        listing_items[2]
    ] * 2
    # The listing's notify command goes with the settings (copied to each new watch's own file).
    assert all(d["found_on"]["watch"] == "watch-0002" and d["notify"] is True for d in followed)
    kept = listings["case"].folder / "work" / "watch" / "notify"
    assert all((kept / d["watch"]).read_text(encoding="utf-8").endswith(TOKEN) for d in followed)
    # Each followed watch's capture is its first attempt; the next pass (--now) captures it again, observed.
    first = next(d for d in followed if d["url"] == _url(listings, b, 3))
    attempts = [
        e for e in of_action(listings["entries"], "capture.started") if e["details"].get("watch") == first["watch"]
    ]
    assert len(attempts) == 3
    second = about(listings["entries"], attempts[1]["subject"], "observation.recorded")[0]["details"]
    assert second["content"] == "unchanged" and second["compared_with"] == attempts[0]["subject"]


def test_notify_runs_the_command_on_a_change_and_a_failing_one_only_warns(listings):
    told = json.loads(listings["notified"].read_text(encoding="utf-8"))
    assert told["content"] == "changed" and told["watch"] == "watch-0002"
    assert told["current"] == _listing_observations(listings, listings["b"])[-1]["subject"]
    warned = listings["passes"][1].stderr
    assert "watch-0001: its --notify command (false) failed with exit code 1" in warned
    assert TOKEN not in warned


def test_the_notify_command_is_kept_outside_the_evidence(listings, tmp_path):
    case = listings["case"]
    added = [e["details"] for e in of_action(listings["entries"], "watch.added")]
    assert [d["notify"] for d in added[:2]] == [True, True]
    kept = case.folder / "work" / "watch" / "notify" / "watch-0002"
    assert TOKEN in kept.read_text(encoding="utf-8")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    for path in [case.folder / "ledger.sqlite", case.folder / "checkpoints.txt", *case.folder.glob("objects/*/*")]:
        assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in case.run_ok("watch", "list", "--json").stdout
    case.verify()  # the watch room is no leftover and no problem
    bundle = tmp_path / "bundle"
    case.run_ok("export", str(bundle), "--all", "--dir")
    for path in bundle.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_recapture_of_a_plain_capture_joins_its_series_with_the_default_removal_settings(listings):
    case = listings["case"]
    seen = json.loads(case.run_ok("recapture", "capture-0001", "--json").stdout)
    observed = seen["observation"]
    assert observed["previous"] == observed["compared_with"] == "capture-0001"
    assert (observed["availability"], observed["content"]) == ("online", "unchanged")
    (started,) = about(case.entries(), seen["item"], "capture.started")
    assert started["details"]["recapture_of"] == "capture-0001"
    assert started["details"]["series"] == _url(listings, listings["a"], 1)
    case.verify()
