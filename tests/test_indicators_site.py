"""Site furniture: two ads from one site share only their author's number, not the site's menu, header,
sidebar, footer and social links. Through the real CLI and real Chromium on the fixture site
(tests/fixture_site/www/board/), in a case whose region is India, with no --region on the capture."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from casekit import run_cli, run_subprocess
from fixture_site import FixtureSite

from evidencekit.indicators import page_indicators


def marks(found: list[Any]) -> dict[tuple[str, str], bool]:
    return {(i.kind, i.value): i.site for i in found}


# --- the rules, on text and links as the page script hands them over ----------------------------------


def test_main_content_stays_the_authors_even_when_the_footer_repeats_it() -> None:
    text = "Menu Home\nPriya: WhatsApp 98201 12345\nFooter: call us 98201 12345 or 022 4000 1234\n"
    found = marks(page_indicators(text, [], "IN", not_own_text=["Footer: call us 98201 12345 or 022 4000 1234"]))
    assert found[("phone", "+919820112345")] is False
    assert found[("phone", "+912240001234")] is True


def test_link_text_pointing_elsewhere_is_not_the_authors() -> None:
    text = "Neha, Bandra. Call 98201 12345.\nSimilar ads: Riya - call 98111 22334\nReveal: 97000 11111\n"
    found = page_indicators(
        text,
        ["http://board.example/ad-7", "tel:+919700011111"],
        "IN",
        not_own_text=["Riya - call 98111 22334"],
        page_url="http://board.example/ad-2",
    )
    site = marks(found)
    assert site[("phone", "+919820112345")] is False
    assert site[("phone", "+919811122334")] is True  # only the words of a link to another ad
    assert site[("phone", "+919700011111")] is False  # its href names it: the author's
    assert site[("url", "http://board.example/ad-7")] is True  # the site's own host


def test_a_segment_without_indicators_never_blanks_the_authors_text() -> None:
    # A pagination link "2" must not cut a digit out of the number in the ad.
    found = marks(page_indicators("Call 98201 2 12345 now\n2\n", [], "IN", not_own_text=["2"]))
    assert all(site is False for site in found.values())


def test_own_host_variants_are_the_site() -> None:
    links = ["https://m.board.example/terms", "https://other.example/x"]
    site = marks(page_indicators("", links, "IN", page_url="https://www.board.example/ad-1"))
    assert site == {("url", "https://m.board.example/terms"): True, ("url", "https://other.example/x"): False}


# --- two ads from one site, captured and listed through the CLI --------------------------------------


def _completed(case: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        rows = conn.execute("SELECT entry FROM entries ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [e for e in (json.loads(bytes(r[0])) for r in rows) if e["action"] == "capture.completed"]


@pytest.fixture(scope="module")
def two_ads(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = tmp_path_factory.mktemp("board") / "case"
    result = run_cli(
        ["init", str(case), "--case-id", "TRAF-14", "--title", "Two ads", "--investigator", "Ana", "--region", "IN"]
    )
    assert result.exit_code == 0, result.stderr
    urls = [site.url("/board/ad-1.html"), site.url("/board/ad-2.html")]
    proc = run_subprocess(["--case", str(case), "capture", *urls, "--concurrency", "1", "--json"], timeout=240)
    assert proc.returncode == 0, proc.stderr
    return case


def test_shared_view_shows_only_the_authors_shared_number(two_ads: Path) -> None:
    listed = run_cli(["--case", str(two_ads), "indicators"])
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    shared = [line for line in lines if line.endswith("SHARED")]
    assert [line.split()[:2] for line in shared] == [["phone", "+919820112345"], ["whatsapp", "+919820112345"]]
    for furniture in ("citylink", "+14155550188", "+14155550199", "+919811122334", "127.0.0.1", "facebook"):
        assert furniture not in listed.stdout
    # Each ad's own other detail is there, alone; what was left out is said, with how to see it.
    assert any(line.split()[:3] == ["upi", "priya.bookings@okaxis", "capture-0001"] for line in lines)
    assert any(
        line.split()[:3] == ["telegram", "@neha_vip_bandra", "capture-0002"] for line in lines
    )  # an article's footer
    assert lines[-1].endswith("not shown; --all shows them") and "site indicator" in lines[-1] and "URL" in lines[-1]


def test_the_case_region_reads_national_numbers_without_a_capture_flag(two_ads: Path) -> None:
    ad_1 = next(e for e in _completed(two_ads) if e["details"]["url"].endswith("/board/ad-1.html"))
    first = {(i["kind"], i["value"]): i for i in ad_1["details"]["indicators"]}
    assert first[("phone", "+919820112345")]["raw"] == "98201 12345"
    assert first[("phone", "+912226834410")]["raw"] == "022-2683 4410"


def test_all_shows_the_site_furniture_marked(two_ads: Path) -> None:
    listed = run_cli(["--case", str(two_ads), "indicators", "--all"]).stdout
    rows = {tuple(line.split()[:2]): line for line in listed.splitlines()}
    for key in [
        ("social", "facebook:citylinkclassifieds"),
        ("social", "instagram:citylink.classifieds"),
        ("email", "support@citylink-classifieds.example"),
        ("phone", "+14155550188"),
        ("phone", "+919811122334"),  # a "similar ads" teaser: link text pointing elsewhere
    ]:
        assert rows[key].endswith("  site"), rows[key]
        assert "capture-0001 (site), capture-0002 (site)" in rows[key]
    assert rows[("phone", "+919820112345")].endswith("SHARED")
    assert not any("sharer" in line or "intent" in line or "wa.me/?" in line for line in listed.splitlines())


def test_json_carries_where_each_was_found_and_whether_it_is_the_sites(two_ads: Path) -> None:
    result = run_cli(["--case", str(two_ads), "indicators", "--json", "--all"])
    uses = {(u["kind"], u["value"]): u for u in json.loads(result.stdout)}
    phone = uses[("phone", "+919820112345")]
    assert phone["shared"] and not phone["site"] and phone["items"] == ["capture-0001", "capture-0002"]
    assert [(f["item"], f["site"], f["raw"]) for f in phone["found"]] == [
        ("capture-0001", False, "98201 12345"),
        ("capture-0002", False, "+91 98201-12345"),
    ]
    footer = uses[("email", "support@citylink-classifieds.example")]
    assert footer["site"] and not footer["shared"] and all(f["site"] for f in footer["found"])
    shared_view = run_cli(["--case", str(two_ads), "indicators", "--json"])
    assert {u["kind"] for u in json.loads(shared_view.stdout)} <= {"phone", "whatsapp", "telegram", "upi"}
    assert "not shown; --all shows them" in shared_view.stderr


def test_the_visible_text_artefact_is_unchanged_by_the_furniture(two_ads: Path) -> None:
    entry = next(e for e in _completed(two_ads) if e["details"]["url"].endswith("/board/ad-1.html"))
    text = next(a for a in entry["artefacts"] if a["name"] == "text.txt")
    digest = text["blake3"].split(":", 1)[1]
    body = (two_ads / "objects" / digest[:2] / digest).read_text(encoding="utf-8")
    # The menu, the sidebar and the footer are still in the page's text: only the indicators are marked.
    assert "Post an ad" in body and "Featured this week" in body and "Helpline +1 415 555 0188" in body
    # The shared number is in the sidebar of both ads too (furniture): found in their own text, it stays linked.
    assert "Priya, Mumbai – WhatsApp 98201 12345" in body


def test_landmark_regions_are_told_apart_in_a_real_page(site: FixtureSite, tmp_path: Path) -> None:
    case = tmp_path / "case"
    opened = run_cli(["init", str(case), "--case-id", "T-R", "--title", "r", "--investigator", "Ana", "--region", "IN"])
    assert opened.exit_code == 0, opened.stderr
    assert run_cli(["--case", str(case), "capture", site.url("/board/regions.html")]).exit_code == 0
    found = {(i["kind"], i["value"]): i.get("site", False) for i in _completed(case)[0]["details"]["indicators"]}
    phones = {value[-5:]: site for (kind, value), site in found.items() if kind == "phone"}
    assert phones == {
        "10001": True,  # role=banner
        "10002": False,  # a section's header is the section's
        "10003": False,  # a nav inside main is main content
        "10004": False,  # main text; also a WhatsApp link in the footer: still the author's
        "10005": False,  # a link to this same page is the page's own words
        "10006": False,  # link text elsewhere, but written in the page's own text too
        "10007": True,  # a link only in a (hidden) menu
        "10008": True,  # role=complementary
        "10009": True,  # role=contentinfo
    }
    assert found[("whatsapp", "+919800010004")] is True  # the footer's WhatsApp link is the site's
