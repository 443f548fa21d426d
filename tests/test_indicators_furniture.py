"""Site furniture beyond landmarks: a site's logo in its header, div layouts named by id or class (``site-header``,
``menu``, ``navbar``, ``sidebar``, ``footer``), a fixed cookie banner, an ad ID that reads like a phone number and
an IBAN typed in lower case. Two unrelated ads of one site (tests/fixture_site/www/board/furniture-*.html) share
nothing but that furniture: no link between them. The two board ads that share a real photo and number in their
main content (board/ad-1.html, ad-2.html), captured into the same case, stay linked. Real Chromium, real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from casekit import run_cli, run_subprocess
from fixture_site import FixtureSite

PAGES = ("/board/furniture-1.html", "/board/furniture-2.html", "/board/ad-1.html", "/board/ad-2.html")


def _completed(case: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        rows = conn.execute("SELECT entry FROM entries ORDER BY seq").fetchall()
    finally:
        conn.close()
    entries = [e for e in (json.loads(bytes(r[0])) for r in rows) if e["action"] == "capture.completed"]
    return {next(p for p in PAGES if e["details"]["url"].endswith(p)): e for e in entries}


def _object(case: Path, entry: dict[str, Any], name: str) -> bytes:
    artefact = next(a for a in entry["artefacts"] if a["name"] == name)
    digest = artefact["blake3"].split(":", 1)[1]
    return (case / "objects" / digest[:2] / digest).read_bytes()


@pytest.fixture(scope="module")
def case(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("furniture") / "case"
    opened = run_cli(
        ["init", str(folder), "--case-id", "T-F", "--title", "f", "--investigator", "Ana", "--region", "IN"]
    )
    assert opened.exit_code == 0, opened.stderr
    urls = [site.url(page) for page in PAGES]
    proc = run_subprocess(["--case", str(folder), "capture", *urls, "--concurrency", "1", "--json"], timeout=300)
    assert proc.returncode == 0, proc.stderr
    return folder


def _marks(entry: dict[str, Any]) -> dict[tuple[str, str], bool]:
    return {(i["kind"], i["value"]): i.get("site", False) for i in entry["details"]["indicators"]}


def test_div_layouts_and_a_fixed_banner_are_furniture(case: Path) -> None:
    captures = _completed(case)
    first, second = _marks(captures[PAGES[0]]), _marks(captures[PAGES[1]])
    for marks in (first, second):
        assert marks[("phone", "+918045678901")] is True  # div.menu inside div.site-header, and div#footer
        assert marks[("email", "booking@velvetnights.example")] is True
        assert marks[("social", "instagram:velvetnights_blr")] is True  # a link in div#footer
        assert marks[("phone", "+918022223333")] is True  # div.navbar
        assert marks[("phone", "+918044445555")] is True  # div.sidebar_left
        assert marks[("email", "privacy@velvetnights.example")] is True  # the fixed cookie banner
        assert marks[("email", "dpo@velvetnights.example")] is True  # a fixed banner in a shadow tree
    # A div named "ad-header" holding the page's h1 is the ad, not the site: its number is the author's.
    assert first[("phone", "+919740011223")] is False
    assert second[("phone", "+919900122334")] is False
    assert second[("phone", "+919845066778")] is False  # "Phone No." labels a phone
    assert first[("phone", "+919600077889")] is False  # a shadow tree in the content is the author's


def test_an_ad_id_is_no_phone_and_a_lower_case_iban_is_read(case: Path) -> None:
    captures = _completed(case)
    first, second = _marks(captures[PAGES[0]]), _marks(captures[PAGES[1]])
    assert not any(value.startswith("+91901234") for _, value in [*first, *second])  # Ad ID:, Ref.
    assert first[("iban", "GB82WEST12345698765432")] is False
    # The visible text is kept as shown: only indicators are marked.
    text = _object(case, captures[PAGES[0]], "text.txt").decode("utf-8")
    assert "Ad ID: 9012345678" in text and "We use cookies. Questions: privacy@velvetnights.example" in text
    assert "gb82west12345698765432" in text


def test_a_logo_shown_only_in_the_header_is_marked_site(case: Path) -> None:
    captures = _completed(case)
    for page in PAGES[:2]:
        metadata = json.loads(_object(case, captures[page], "metadata.json"))
        images = {Path(i["url"]).name: i for i in metadata["images"]}
        assert images["board-logo.jpg"]["site"] is True
        assert images["board-logo.jpg"]["pdq"]["quality"] >= 50  # a candidate by size and quality alone
    board = json.loads(_object(case, captures[PAGES[2]], "metadata.json"))
    photo = next(i for i in board["images"] if i["url"].endswith("/board-photo.jpg"))
    assert "site" not in photo  # shown in the ad's article


def test_links_join_only_the_ads_that_share_their_own_content(case: Path) -> None:
    result = run_subprocess(["--case", str(case), "links", "--json"], timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    joined = [sorted(group["items"]) for group in report["groups"]]
    assert joined == [["capture-0003", "capture-0004"]], joined
    kinds = {link["type"] for link in report["groups"][0]["links"]}
    assert kinds == {"indicator", "photo"}  # the board ads' number and their photo
    # Asked for everything, the site's logo and furniture are shown as links too.
    everything = run_subprocess(["--case", str(case), "links", "--json", "--all"], timeout=600)
    assert everything.returncode == 0, everything.stderr
    groups = json.loads(everything.stdout)["groups"]
    furniture = next(g for g in groups if "capture-0001" in g["items"])
    assert {"capture-0001", "capture-0002"} <= set(furniture["items"])
    assert any(
        link["type"] == "photo" and set(link["items"]) == {"capture-0001", "capture-0002"}
        for link in furniture["links"]
    )


def test_similar_compares_no_logo_but_finds_the_shared_photo(case: Path) -> None:
    logo_ad = run_subprocess(["--case", str(case), "similar", "capture-0001", "--json"], timeout=600)
    assert logo_ad.returncode == 0, logo_ad.stderr
    said = json.loads(logo_ad.stdout)
    assert said["photos"] == [] and said["matches"] == []  # its only photo is the site's logo
    board_ad = run_subprocess(["--case", str(case), "similar", "capture-0003", "--json"], timeout=600)
    assert board_ad.returncode == 0, board_ad.stderr
    matches = json.loads(board_ad.stdout)["matches"]
    assert [set(m["items"]) for m in matches] == [{"capture-0003", "capture-0004"}]
