"""The content diff of two captures: indicators, photos (real JPEGs re-encoded, resized and swapped), title,
visible text with --ignore selectors, and the screenshot rule; diff.json against its schema, diff.html
escaped and offline; and, end to end, read_page_state on real captures of a page that changes (Chromium,
the real CLI, one module-scoped case)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from casekit import make_case, run_cli
from photokit import make_photo, save_jpeg, serve_folder, unrelated
from PIL import Image, ImageDraw

from evidencekit.analysis.contentdiff import (
    PageState,
    compare_pages,
    read_page_state,
    write_diff_files,
)
from evidencekit.analysis.diffhtml import policy
from evidencekit.analysis.pagetext import IgnoreError, check_selectors
from evidencekit.hashing import Digests
from evidencekit.ledger.database import Ledger
from evidencekit.models import Actor, Artefact, LedgerEntry, canonical_json
from evidencekit.photos.hashing import photo_facts
from evidencekit.schemas import load_schema, schema_problems
from evidencekit.store import ObjectStore

T1, T2 = "2026-12-03T10:00:00.000000Z", "2026-12-03T16:00:00.000000Z"


def state(item: str, **fields: Any) -> PageState:
    base: dict[str, Any] = {
        "item": item,
        "url": "https://ads.example/ad/7",
        "final_url": "https://ads.example/ad/7",
        "recorded_at": T1 if item.endswith("1") else T2,
        "title": "Au pair wanted",
        "indicators": (),
        "images": (),
        "text": "Au pair wanted. Call +44 7700 900123.",
        "dom": None,
        "screenshot": None,
    }
    return PageState(**(base | fields))


def image_entry(path: Path, url: str, **extra: Any) -> dict[str, Any]:
    """An images[] entry as a capture's metadata.json holds it, with the file's real facts."""
    facts = photo_facts(path)
    return {"url": url, "exchange": 1, "status": 200, "artefact": f"images/{path.name}", "duplicate": False, **facts,
            **extra}  # fmt: skip


def written(diff: Any, before: PageState, after: PageState, folder: Path) -> dict[str, Any]:
    canonical_json(diff.document)  # as made, before any JSON round trip: no floats, no tuples it refuses
    canonical_json(list(diff.changes))  # what the observation's ledger entry holds
    paths = write_diff_files(diff, before, after, folder)
    document: dict[str, Any] = json.loads((folder / "diff.json").read_text("utf-8"))
    assert paths[:2] == [folder / "diff.json", folder / "diff.html"]
    assert schema_problems("diff", document, plain_json=True) == []
    assert schema_problems("diff", document) == []
    canonical_json(document)  # no floats anywhere: it could go into a ledger entry
    return document


# --- indicators ----------------------------------------------------------------------------------------


def test_a_swapped_phone_number_is_the_headline_and_site_indicators_are_ignored(tmp_path: Path) -> None:
    phone = {"kind": "phone", "value": "+447700900123", "raw": "+44 7700 900123"}
    footer = {"kind": "url", "value": "https://ads.example/terms", "raw": "https://ads.example/terms", "site": True}
    before = state(
        "capture-0001", indicators=(phone, footer, {"kind": "email", "value": "a@x.example", "raw": "a@x.example"})
    )
    after = state(
        "capture-0002",
        indicators=(
            {"kind": "phone", "value": "+447700900999", "raw": "+44 7700 900999"},
            {"kind": "email", "value": "a@x.example", "raw": "a@x.example"},
            {"kind": "telegram", "value": "@newhandle", "raw": "@newhandle"},
        ),
        text="Au pair wanted. Call +44 7700 900999.",
    )
    diff = compare_pages(before, after)
    assert diff.verdict == "changed"
    assert diff.changes[0] == {
        "kind": "indicators",
        "summary": "phone +44 7700 900123 replaced by +44 7700 900999; telegram @newhandle added",
    }
    assert [c["kind"] for c in diff.changes] == ["indicators", "text"]
    section = written(diff, before, after, tmp_path)["indicators"]
    assert section["replaced"] == [
        {
            "kind": "phone",
            "before": phone,
            "after": {"kind": "phone", "value": "+447700900999", "raw": "+44 7700 900999"},
        }
    ]
    assert section["site_left_out"] == {"before": 1, "after": 0}
    # The site's own indicator disappearing is not a change.
    assert (
        compare_pages(before, replace(before, item="capture-0002", indicators=(phone, before.indicators[2]))).verdict
        == "unchanged"
    )


# --- photos ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    base, other = make_photo(41, (900, 700)), make_photo(42, (900, 700))
    return {
        "base": save_jpeg(base, folder / "base.jpg", quality=92),
        # The site re-encoded it at another quality and resized it: the same picture, new bytes and hash.
        "base-reencoded": save_jpeg(
            base.resize((600, 467), Image.Resampling.LANCZOS), folder / "base-small.jpg", quality=45
        ),
        "other": save_jpeg(other, folder / "other.jpg"),
        "new": save_jpeg(unrelated(42, (900, 700)), folder / "new.jpg"),
        "extra": save_jpeg(make_photo(43, (500, 500)), folder / "extra.jpg"),
        "icon": save_jpeg(make_photo(44, (40, 40)), folder / "icon.jpg"),
        "logo": save_jpeg(make_photo(45, (400, 200)), folder / "logo.jpg"),
    }


def test_a_reencoded_photo_is_not_a_change_and_a_swapped_one_is_replaced(
    tmp_path: Path, photos: dict[str, Path]
) -> None:
    site = "https://ads.example/img/"
    before = state("capture-0001", images=(
        image_entry(photos["base"], site + "a.jpg"),
        image_entry(photos["other"], site + "b.jpg"),
        {"url": site + "b-copy.jpg", "exchange": 3, "status": 200, "artefact": "images/other.jpg", "duplicate": True},
        image_entry(photos["icon"], site + "icon.jpg"),  # too small to compare
        image_entry(photos["logo"], site + "logo.jpg", site=True),  # the site's furniture
    ))  # fmt: skip
    after = state("capture-0002", images=(
        image_entry(photos["base-reencoded"], site + "a-600.jpg"),
        image_entry(photos["new"], site + "c.jpg"),
    ))  # fmt: skip
    diff = compare_pages(before, after)
    assert diff.verdict == "changed"
    assert diff.changes == (
        {"kind": "images", "summary": "1 photo replaced; 1 image not comparable (too small) no longer on the page"},
    )
    section = written(diff, before, after, tmp_path)["images"]
    assert (section["photos_before"], section["photos_after"]) == (2, 2)
    assert section["left_out"] == 1 and [i["why"] for i in section["not_compared"]["before"]] == ["too small"]
    (kept,) = section["matched"]
    assert kept["before"]["urls"] == [site + "a.jpg"] and kept["after"]["urls"] == [site + "a-600.jpg"]
    assert (
        0 < kept["pdq_distance"] <= 31 and kept["words"] == f"visually matching (PDQ distance {kept['pdq_distance']})"
    )
    (swap,) = section["replaced"]
    assert swap["before"]["urls"] == [site + "b.jpg", site + "b-copy.jpg"] and swap["after"]["urls"] == [site + "c.jpg"]
    assert section["added"] == section["removed"] == []

    # Only the re-encoding: unchanged. An added photo, then a removed one: said so.
    only_reencoded = replace(after, images=after.images[:1])
    assert compare_pages(replace(before, images=before.images[:1]), only_reencoded).verdict == "unchanged"
    grown = replace(after, images=(*after.images, image_entry(photos["extra"], site + "d.jpg")))
    assert compare_pages(replace(before, images=(before.images[0], before.images[1])), grown).changes[0]["summary"] == (
        "1 photo replaced, 1 added"
    )
    assert compare_pages(grown, only_reencoded).changes[0]["summary"] == "2 photos removed"

    # A capture made without perceptual hashes: its photos are not compared, and none is "added".
    plain = replace(before, images=tuple({k: v for k, v in i.items() if k not in ("pdq", "width", "height")}
                                         for i in before.images))  # fmt: skip
    diff = compare_pages(plain, after)
    assert diff.verdict == "unchanged"
    assert written(diff, plain, after, tmp_path / "plain")["images"] == {
        "compared": False, "why": "the images of before were captured without perceptual hashes"
    }  # fmt: skip


def test_a_photo_swapped_for_a_featureless_one_is_never_only_removed(tmp_path: Path) -> None:
    """inv F-med-2 / exa F11: a banner replaced by a flat picture (PDQ quality under the floor) is left out of
    photo matching; the headline must not read "1 photo removed" alone, and left_out counts it."""
    site = "https://ads.example/img/"
    banner = save_jpeg(make_photo(11, (900, 200)), tmp_path / "banner1.jpg")
    flat = save_jpeg(Image.new("RGB", (900, 200), (120, 130, 140)), tmp_path / "banner2.jpg")
    assert photo_facts(flat)["pdq"]["quality"] < 50
    before = state("capture-0001", images=(image_entry(banner, site + "banner1.jpg"),))
    after = state("capture-0002", images=(image_entry(flat, site + "banner2.jpg"),))
    diff = compare_pages(before, after)
    assert diff.changes[0] == {
        "kind": "images",
        "summary": "1 photo removed; 1 new image not comparable (featureless)",
    }
    section = written(diff, before, after, tmp_path / "out")["images"]
    assert (section["photos_before"], section["photos_after"], section["left_out"]) == (1, 0, 1)
    (skipped,) = section["not_compared"]["after"]
    assert skipped["why"] == "featureless" and skipped["url"] == site + "banner2.jpg"
    page = (tmp_path / "out" / "diff.html").read_text(encoding="utf-8")
    assert "Images not compared after: https://ads.example/img/banner2.jpg (featureless)" in page


# --- title and text --------------------------------------------------------------------------------------

DOM_BEFORE = b"""<html><head><title>x</title><style>.clock{}</style></head><body>
<header>QuickJobs <span class="clock">12:00:01</span></header>
<main><h1>Au pair wanted</h1><p>Call <b>+44</b> 7700 900123 today.</p><div class="ad-slot">Buy cheap flights</div></main>
</body></html>"""
DOM_AFTER = DOM_BEFORE.replace(b"12:00:01", b"12:07:45").replace(b"Buy cheap flights", b"Cheap hotels now")


def test_visible_text_is_diffed_word_by_word_without_the_ignored_elements(tmp_path: Path) -> None:
    before = state("capture-0001", text="QuickJobs 12:00:01\nAu pair wanted\nCall +44 7700 900123 today.\nBuy cheap flights",
                   dom=DOM_BEFORE)  # fmt: skip
    after = state("capture-0002", text="QuickJobs 12:07:45\n\nAu  pair wanted\nCall +44 7700 900123 today.\nCheap hotels now",
                  dom=DOM_AFTER)  # fmt: skip
    changed = compare_pages(before, after)
    assert changed.verdict == "changed" and changed.changes == (
        {"kind": "text", "summary": "4 words added, 4 removed"},
    )
    ignored = compare_pages(before, after, ignore=[".clock", "div.ad-slot"])
    assert ignored.verdict == "unchanged" and ignored.changes == ()
    text = written(ignored, before, after, tmp_path)["text"]
    assert text["masked"] == {"before": 2, "after": 2} and text["ignore"] == [".clock", "div.ad-slot"]
    only_clock = compare_pages(before, after, ignore=[".clock"])
    assert only_clock.changes == ({"kind": "text", "summary": "3 words added, 3 removed"},)
    runs = written(only_clock, before, after, tmp_path / "clock")["text"]["runs"]
    assert [r["op"] for r in runs] == ["equal", "deleted", "inserted"]
    assert runs[1]["text"] == "Buy cheap flights" and runs[2]["text"] == "Cheap hotels now"
    html = (tmp_path / "clock" / "diff.html").read_text("utf-8")
    assert "<del>Buy cheap flights</del>" in html and "<ins>Cheap hotels now</ins>" in html
    # exa F17: insertions are marked in shape (underline, [+ +]), not only by a tint lost in black-and-white print.
    assert "ins{background:#dfd;text-decoration:underline}" in html and 'ins::before{content:"[+"}' in html
    assert "added words are underlined and marked [+ +]" in html
    # A selector cssselect cannot read is named, not applied, and nothing fails.
    broken = compare_pages(before, after, ignore=[".clock", "div[class="])
    text = written(broken, before, after, tmp_path / "broken")["text"]
    assert text["masked"] == {"before": 1, "after": 1}
    assert text["notes"] == [
        "--ignore 'div[class=' is not a CSS selector: Expected string or ident, got <EOF at 10>; not applied"
    ]
    with pytest.raises(IgnoreError, match=re.escape("--ignore 'div[class='")):
        check_selectors([".clock", "div[class="])


def test_a_missing_text_or_dom_is_said_not_guessed(tmp_path: Path) -> None:
    before = state("capture-0001", text=None, notes=("text.txt: not readable (FileNotFoundError)",))
    diff = compare_pages(before, state("capture-0002"), ignore=[".clock"])
    document = written(diff, before, state("capture-0002"), tmp_path)
    assert document["text"] == {"compared": False, "changed": False, "ignore": [".clock"],
                                "why": "text.txt of before not available"}  # fmt: skip
    assert document["notes"] == ["before: text.txt: not readable (FileNotFoundError)"]
    assert document["screenshot"]["compared"] is False
    html = (tmp_path / "diff.html").read_text("utf-8")
    assert "Not compared: text.txt of before not available" in html
    assert "visual-diff.png" not in html and not (tmp_path / "visual-diff.png").exists()


def test_diff_html_escapes_page_text_and_keeps_the_reports_policy(tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script><img src=https://evil.example/t.gif>'
    before = state("capture-0001", final_url=None)
    after = state("capture-0002", title=hostile, text="Au pair wanted <b onclick=x>now</b>", final_url=None)
    diff = compare_pages(before, after)
    assert diff.changes[0] == {"kind": "title", "summary": f'title changed from "Au pair wanted" to "{hostile}"'}
    written(diff, before, after, tmp_path)
    html = (tmp_path / "diff.html").read_text("utf-8")
    assert "<script" not in html.lower() and "<img src=https" not in html and "<b onclick" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert f'<meta http-equiv="Content-Security-Policy" content="{policy()}">' in html
    assert "default-src 'none'; img-src 'self'; style-src 'sha256-" in policy()
    assert "http://" not in html.replace("https://ads.example/ad/7", "") and "not known" in html  # final URL
    assert "identical" not in html.lower() and "same photo" not in html.lower()


def test_the_schema_is_a_valid_2020_12_schema_and_refuses_floats() -> None:
    import jsonschema

    schema = load_schema("diff")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://evidencekit.org/schemas/diff/1.0.0"
    document = compare_pages(state("capture-0001"), state("capture-0002")).document
    assert schema_problems("diff", document) == []
    assert schema_problems("diff", document | {"screenshot": {"compared": True, "counts": False, "share": 0.5}})


# --- the screenshot rule ---------------------------------------------------------------------------------


def _screens(folder: Path, changed_rows: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (1000, 1000), "white")
    ImageDraw.Draw(image).rectangle((100, 100, 900, 300), fill="#246")
    image.save(folder / "a.png")
    if changed_rows:
        ImageDraw.Draw(image).rectangle((0, 600, 999, 600 + changed_rows - 1), fill="#c33")
    image.save(folder / "b.png")
    return folder / "a.png", folder / "b.png"


def test_a_screenshot_difference_alone_counts_from_one_percent(tmp_path: Path) -> None:
    for rows, verdict in ((9, "unchanged"), (10, "changed"), (0, "unchanged")):
        first, second = _screens(tmp_path / str(rows), rows)
        before, after = state("capture-0001", screenshot=first), state("capture-0002", screenshot=second)
        diff = compare_pages(before, after)
        assert diff.verdict == verdict, rows
        assert diff.screenshot_changed == f"{rows * 1000 / 1_000_000:.6f}"
        document = written(diff, before, after, tmp_path / f"out-{rows}")
        assert document["screenshot"]["counts"] is (verdict == "changed")
        assert document["algorithms"]["screenshot"]["changed_at_share"] == "0.01"
        panel = tmp_path / f"out-{rows}" / "visual-diff.png"
        assert panel.exists() is (rows > 0)
        html = (tmp_path / f"out-{rows}" / "diff.html").read_text("utf-8")
        assert ('src="visual-diff.png"' in html) is (rows > 0)
        assert [c["kind"] for c in diff.changes] == (["screenshot"] if verdict == "changed" else [])
    # Beside another change, a small screenshot difference is listed last, after the text.
    first, second = _screens(tmp_path / "text", 3)
    diff = compare_pages(
        state("capture-0001", screenshot=first), state("capture-0002", screenshot=second, text="Other words")
    )
    assert [c["kind"] for c in diff.changes] == ["text", "screenshot"]


def test_an_unchanged_page_costs_little(photos: dict[str, Path], tmp_path: Path) -> None:
    first, _ = _screens(tmp_path, 0)
    text = " ".join(f"word{n % 500}" for n in range(20_000))
    images = tuple(image_entry(photos[k], f"https://ads.example/{k}.jpg") for k in ("base", "other", "new", "extra"))
    before = state("capture-0001", text=text, dom=DOM_BEFORE * 50, images=images, screenshot=first)
    after = replace(before, item="capture-0002", recorded_at=T2)
    start = time.perf_counter()
    diff = compare_pages(before, after, ignore=[".clock"])
    spent = time.perf_counter() - start
    assert diff.verdict == "unchanged" and diff.changes == ()
    assert spent < 0.5, spent


# --- real captures ---------------------------------------------------------------------------------------


def _ad_page(folder: Path, *, phone: str, second_photo: str, first_photo: str, clock: str) -> None:
    (folder / "index.html").write_text(
        "<!doctype html><html><head><meta charset=utf-8><title>Au pair wanted in Berlin</title></head><body>"
        f'<header>Board <span class="clock">{clock}</span></header><main><h1>Au pair wanted in Berlin</h1>'
        f"<p>Young women wanted, visa paid. Call {phone} now.</p>"
        f'<img src="{first_photo}" width="450" height="350"><img src="{second_photo}" width="450" height="350">'
        "</main></body></html>",
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, Path]) -> Iterator[dict[str, Any]]:
    """One case, three captures of one page: v1, v2 (phone swapped, one photo swapped, the other re-encoded
    and resized, clock moved), v2 again."""
    folder = tmp_path_factory.mktemp("ad")
    for name in ("base", "base-reencoded", "other", "new"):
        (folder / photos[name].name).write_bytes(photos[name].read_bytes())
    root = tmp_path_factory.mktemp("case")
    with pytest.MonkeyPatch.context() as mp, serve_folder(folder) as url:
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        case = make_case(root / "case")
        for phone, second, first, clock in (
            ("+44 20 7946 0958", "other.jpg", "base.jpg", "12:00:01"),
            ("+44 20 7946 0999", "new.jpg", "base-small.jpg", "12:31:07"),
            ("+44 20 7946 0999", "new.jpg", "base-small.jpg", "12:31:07"),
        ):
            _ad_page(folder, phone=phone, second_photo=second, first_photo=first, clock=clock)
            result = run_cli(["--case", str(case), "capture", url, "--no-mhtml"])
            assert result.exit_code == 0, result.output + result.stderr
    with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
        completed = ledger.entries_with_action("capture.completed")
    store = ObjectStore(case / "objects")

    def object_path(tagged: str) -> Path:
        return store.path_for(tagged.removeprefix("blake3:"))

    states = [read_page_state(str(e.subject), e, object_path) for e in completed]
    yield {"case": case, "completed": completed, "states": states, "object_path": object_path, "url": url}


def test_read_page_state_reads_a_real_capture(captures: dict[str, Any]) -> None:
    first = captures["states"][0]
    entry = captures["completed"][0]
    assert (first.item, first.recorded_at, first.url) == ("capture-0001", entry.time, captures["url"])
    assert first.title == "Au pair wanted in Berlin" and first.notes == ()
    assert first.text is not None and "Call +44 20 7946 0958 now." in first.text
    assert first.dom is not None and b'class="clock"' in first.dom
    assert first.screenshot is not None and first.screenshot.is_file()
    assert {i["value"] for i in first.indicators if i["kind"] == "phone"} == {"+442079460958"}
    assert sum(1 for i in first.images if "pdq" in i) == 2


def test_real_captures_v1_to_v2_change_and_v2_to_v2_does_not(captures: dict[str, Any], tmp_path: Path) -> None:
    v1, v2, v2_again = captures["states"]
    diff = compare_pages(v1, v2, ignore=[".clock"])
    assert diff.verdict == "changed"
    kinds = [c["kind"] for c in diff.changes]
    assert kinds[:3] == ["indicators", "images", "text"], diff.changes
    assert diff.changes[0]["summary"].startswith("phone +44 20 7946 0958 replaced by +44 20 7946 0999")
    assert diff.changes[1]["summary"] == "1 photo replaced"
    assert diff.changes[2]["summary"] == "1 word added, 1 removed"  # the clock is ignored
    document = written(diff, v1, v2, tmp_path / "v1-v2")
    assert document["before"]["item"] == "capture-0001" and document["after"]["recorded_at"] == v2.recorded_at
    (kept,) = document["images"]["matched"]
    assert kept["before"]["urls"][0].endswith("/base.jpg") and kept["after"]["urls"][0].endswith("/base-small.jpg")
    assert (tmp_path / "v1-v2" / "visual-diff.png").is_file()

    same = compare_pages(v2, v2_again, ignore=[".clock"])
    assert same.verdict == "unchanged" and all(c["kind"] == "screenshot" for c in same.changes)
    written(same, v2, v2_again, tmp_path / "v2-v2")


def test_missing_or_unreadable_artefacts_give_none_never_a_crash(captures: dict[str, Any], tmp_path: Path) -> None:
    entry: LedgerEntry = captures["completed"][0]
    gone = tmp_path / "nowhere"

    def broken(tagged: str) -> Path:
        if tagged == _digest(entry, "text.txt"):
            raise FileNotFoundError(tagged)
        if tagged == _digest(entry, "metadata.json"):
            return gone
        return Path(captures["object_path"](tagged))

    kept = [a for a in entry.artefacts if a.name not in ("dom.html", "screenshot.png")]
    huge = Artefact("screenshot.png", "screenshot", "image/png", Digests(10**12, "a" * 64, "b" * 64))
    odd = LedgerEntry(entry.seq, entry.time, entry.tz, Actor("x", None), entry.action, entry.case_id, entry.subject,
                      (*kept, huge), entry.details, entry.prev)  # fmt: skip
    found = read_page_state("capture-0001", odd, broken)
    assert (found.text, found.dom, found.screenshot) == (None, None, None)
    assert found.images == () and found.title == "Au pair wanted in Berlin"  # the title from the ledger entry
    assert any(n.startswith("text.txt: not readable") for n in found.notes)
    assert "dom.html: not among the capture's artefacts" in found.notes
    assert any(n.startswith("metadata.json: not readable") for n in found.notes)
    diff = compare_pages(found, captures["states"][1])
    document = written(diff, found, captures["states"][1], tmp_path / "out")
    # No photo list is not "every photo removed"; no text is not "every word added".
    assert document["images"] == {"compared": False, "why": "metadata.json of before not available"}
    assert document["text"]["compared"] is False and document["screenshot"]["compared"] is False
    assert [c["kind"] for c in diff.changes] == ["indicators"]  # from the ledger: the phone did change
    html = (tmp_path / "out" / "diff.html").read_text("utf-8")
    assert "Not compared: metadata.json of before not available." in html


def _digest(entry: LedgerEntry, name: str) -> str:
    return next(a.digests.blake3_tagged for a in entry.artefacts if a.name == name)


# --- the word diff on long pages --------------------------------------------------------------------------


@pytest.mark.parametrize("words_per_line", [12, 10**9])  # lines of a page, and one enormous line
def test_the_word_diff_counts_exactly_on_a_long_page(words_per_line: int) -> None:
    import random

    from evidencekit.analysis.pagetext import word_diff

    chance = random.Random(7)
    words = [f"w{chance.randrange(2000)}" for _ in range(30_000)]
    changed = list(words)
    spots = sorted(chance.sample(range(len(words)), 150))
    for number, spot in enumerate(spots):
        changed[spot] = f"CHANGED{number}"

    def page(ws: list[str]) -> str:
        return "\n".join(" ".join(ws[i : i + words_per_line]) for i in range(0, len(ws), words_per_line))

    start = time.perf_counter()
    found = word_diff(page(words), page(changed))
    spent = time.perf_counter() - start
    assert (found.added, found.removed) == (150, 150)
    inserted = [r["text"] for r in found.runs if r["op"] == "inserted"]
    assert " ".join(inserted).split() == [f"CHANGED{n}" for n in range(150)]
    assert sum(r["words"] for r in found.runs if r["op"] in ("equal", "deleted")) == len(words)
    assert spent < 3.0, spent


def test_a_text_beyond_the_bound_is_compared_as_a_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from evidencekit.analysis import pagetext

    monkeypatch.setattr(pagetext, "MAX_DIFF_WORDS", 100)
    found = pagetext.word_diff("a " * 101, "a " * 100 + "b")
    assert found.changed and found.runs == () and "not compared word by word" in found.summary()
    assert not pagetext.word_diff("a " * 101, "a  " * 101).changed


def test_a_title_known_only_cut_short_is_not_compared(tmp_path: Path) -> None:
    cut = state("capture-0001", title=None, notes=("title: not known (the ledger holds only its first characters)",))
    after = state("capture-0002", title="A much longer title " * 20)
    diff = compare_pages(cut, after)
    assert diff.verdict == "unchanged"
    title = written(diff, cut, after, tmp_path)["title"]
    assert title["changed"] is False and title["summary"] == "title not compared: not known for before"
