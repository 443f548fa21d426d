"""Issue 14, links on the two-ads-from-one-site fixture (tests/fixture_site/www/board/): only the real shared
number and photo link the ads, not the site's menu, footer and social links; and ``--across`` another case
finds them there while leaving that case's folder byte for byte as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casekit import INVESTIGATOR, run_cli, run_subprocess
from fixture_site import WWW, FixtureSite
from linkkit import tree_digest
from PIL import Image


def _case(folder: Path, case_id: str, *urls: str) -> Path:
    made = run_cli(["init", str(folder), "--case-id", case_id, "--title", "Board ads", "--investigator", INVESTIGATOR,
                    "--region", "IN"])  # fmt: skip
    assert made.exit_code == 0, made.output
    captured = run_subprocess(["--case", str(folder), "capture", *urls], timeout=300)
    assert captured.returncode == 0, captured.stderr
    return folder


@pytest.fixture(scope="module")
def board(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("board")
    ad1, ad2 = site.url("/board/ad-1.html"), site.url("/board/ad-2.html")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        patch.delenv("EVIDENCEKIT_CASE", raising=False)
        assert run_cli(["keys", "generate", "--investigator", INVESTIGATOR]).exit_code == 0
        both = _case(folder / "both", "TRAF-2026-010", ad1, ad2)
        first = _case(folder / "first", "TRAF-2026-011", ad1)
        second = _case(folder / "second", "TRAF-2026-012", ad2)
        yield {"both": both, "first": first, "second": second, "cache": folder / "cache"}


def _links(case: Path, *extra: str) -> dict[str, Any]:
    result = run_subprocess(["--case", str(case), "links", "--json", *extra], timeout=300)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _said(link: dict[str, Any]) -> tuple[str, ...]:
    if link["type"] == "photo":
        return ("photo",)
    return ("indicator", link["indicator"]["kind"], link["indicator"]["value"])


def test_two_ads_of_one_site_are_linked_by_their_number_and_photo_only(board: dict[str, Path]) -> None:
    report = _links(board["both"])
    (group,) = report["groups"]
    assert group["items"] == ["capture-0001", "capture-0002"]
    assert sorted(_said(link) for link in group["links"]) == [("indicator", "phone", "+919820112345"), ("photo",)]
    (phone,) = [link for link in group["links"] if link["type"] == "indicator"]
    raws = {found["item"]: found["raw"] for found in phone["found"]}
    assert "98201 12345" in raws["capture-0001"] and "98201-12345" in raws["capture-0002"]
    (photo,) = [link for link in group["links"] if link["type"] == "photo"]
    assert photo["pdq_distance"] == 0 and photo["inliers"] >= 50
    assert group["strength"] == 2
    text = run_subprocess(["--case", str(board["both"]), "links"])
    assert text.returncode == 0
    for furniture in ("4155550199", "4155550188", "citylink", "facebook", "instagram"):
        assert furniture not in text.stdout.lower()


def test_all_adds_the_site_furniture_back(board: dict[str, Path]) -> None:
    shared = {_said(link) for group in _links(board["both"], "--all")["groups"] for link in group["links"]}
    assert ("indicator", "phone", "+919820112345") in shared
    assert any("citylinkclassifieds" in " ".join(said).lower() for said in shared), shared
    assert any(said[:2] == ("indicator", "url") for said in shared), shared


def test_across_finds_the_number_and_photo_in_another_case_and_leaves_it_untouched(board: dict[str, Path]) -> None:
    other = board["second"]
    before = tree_digest(other)
    report = _links(board["first"], "--across", str(other))
    assert report["cases"] == [
        {"case_id": "TRAF-2026-011", "local": True},
        {"case_id": "TRAF-2026-012", "local": False},
    ]
    (group,) = report["groups"]
    assert group["items"] == ["capture-0001", "TRAF-2026-012/capture-0001"]
    assert sorted(_said(link) for link in group["links"]) == [("indicator", "phone", "+919820112345"), ("photo",)]
    similar = run_subprocess(
        ["--case", str(board["first"]), "similar", "capture-0001", "--across", str(other), "--json"]
    )
    assert similar.returncode == 0, similar.stderr
    matched = [m["photos"][1]["item"] for m in json.loads(similar.stdout)["matches"]]
    assert matched == ["TRAF-2026-012/capture-0001"]
    assert tree_digest(other) == before  # not a byte written there: its index is in the cache folder
    assert not (other / "derived").exists()
    cached = sorted(p.name for p in (board["cache"] / "evidencekit" / "index").glob("*.sqlite"))
    assert [name.startswith("TRAF-2026-012-") for name in cached] == [True]
    assert (board["first"] / "derived" / "index.sqlite").is_file()


def test_across_refuses_the_case_itself_and_a_case_named_twice(board: dict[str, Path]) -> None:
    itself = run_subprocess(["--case", str(board["first"]), "links", "--across", str(board["first"])])
    assert itself.returncode == 2 and "named twice" in itself.stderr
    twice = run_subprocess(
        ["--case", str(board["first"]), "links", "--across", str(board["second"]), "--across", str(board["second"])]
    )
    assert twice.returncode == 2 and "named twice" in twice.stderr


def test_added_files_link_by_photo_and_by_a_chat_line(
    board: dict[str, Path], site: FixtureSite, tmp_path: Path
) -> None:
    fresh = tmp_path / "case"
    made = run_cli(["init", str(fresh), "--case-id", "TRAF-2026-013", "--title", "Files", "--investigator", INVESTIGATOR,
                    "--region", "IN"])  # fmt: skip
    assert made.exit_code == 0, made.output
    assert run_subprocess(["--case", str(fresh), "capture", site.url("/board/ad-1.html")], timeout=300).returncode == 0
    with Image.open(WWW / "images" / "board-photo.jpg") as photo:
        photo.crop((40, 10, 460, 350)).resize((630, 510)).save(tmp_path / "from-phone.jpg", quality=80)
    chat = tmp_path / "WhatsApp Chat with Client.txt"
    chat.write_text("01/12/2026, 10:00 - Client: hi\n01/12/2026, 10:01 - Client: is this +91 98201 12345?\n")
    added = run_subprocess(["--case", str(fresh), "add", str(tmp_path / "from-phone.jpg"), str(chat)])
    assert added.returncode == 0, added.stderr
    (group,) = _links(fresh)["groups"]
    assert group["items"] == ["capture-0001", "file-0001", "file-0002"]
    (phone,) = [link for link in group["links"] if link["type"] == "indicator"]
    assert phone["indicator"] == {"kind": "phone", "value": "+919820112345"}
    (in_chat,) = [found for found in phone["found"] if found["item"] == "file-0002"]
    assert in_chat["line"] == 2
    (photo,) = [link for link in group["links"] if link["type"] == "photo"]
    assert photo["items"] == ["capture-0001", "file-0001"] and photo["inliers"] >= 50


def test_links_exhibit_writes_each_photo_match(board: dict[str, Path], tmp_path: Path) -> None:
    report = _links(board["both"], "--exhibit", str(tmp_path / "exhibits"))
    (photo,) = [link for group in report["groups"] for link in group["links"] if link["type"] == "photo"]
    assert photo["exhibit"] == str(tmp_path / "exhibits" / "link-0001.png")
    with Image.open(photo["exhibit"]) as image:
        low, high = image.convert("L").getextrema()
        assert image.format == "PNG" and high - low > 50
    assert sorted(p.name for p in (tmp_path / "exhibits").iterdir()) == ["link-0001.png"]


def test_photos_of_a_capture_without_pdq_are_hashed_into_the_index_only(
    board: dict[str, Path], site: FixtureSite, tmp_path: Path
) -> None:
    """A capture made as before metadata schema 1.5.0 (no PDQ recorded) still links: its photos are hashed
    from the stored bytes into the derived index, and nothing in the case is written."""
    import os
    import sqlite3

    from evidencekit.capture.options import CaptureOptions
    from evidencekit.photos.hashing import photo_facts
    from evidencekit.workflows.capturing import capture_urls
    from evidencekit.workflows.opencase import Session

    case = tmp_path / "case"
    made = run_cli(["init", str(case), "--case-id", "TRAF-2026-014", "--title", "Old", "--investigator", INVESTIGATOR])
    assert made.exit_code == 0, made.output
    session = Session(case_dir=case, environ=dict(os.environ))
    old_style = CaptureOptions(region="IN", photo_hashes=False)
    (outcome,) = capture_urls(session, [site.url("/board/ad-1.html")], old_style, concurrency=1)
    assert outcome.result.status == "complete"
    assert all("pdq" not in image for image in outcome.result.metadata["images"])
    assert run_subprocess(["--case", str(case), "capture", site.url("/board/ad-2.html")], timeout=300).returncode == 0
    evidence = tree_digest(case)
    (group,) = _links(case)["groups"]
    assert ("photo",) in {_said(link) for link in group["links"]}
    assert {k: v for k, v in tree_digest(case).items() if not k.startswith("derived")} == evidence
    conn = sqlite3.connect(case / "derived" / "index.sqlite")
    rows = dict(((item, computed), (blake3, pdq)) for item, computed, blake3, pdq in conn.execute(
        "SELECT item, computed, blake3, pdq FROM photos WHERE artefact LIKE '%board-photo%'"))  # fmt: skip
    conn.close()
    assert set(rows) == {("capture-0001", 1), ("capture-0002", 0)}
    blake3, pdq = rows[("capture-0001", 1)]
    assert pdq == photo_facts(case / "objects" / blake3[:2] / blake3)["pdq"]["hash"]
