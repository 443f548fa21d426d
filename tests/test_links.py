"""Issue 14, links and similar: photo reuse end to end on real captures of fixture ads (each "site" on its own
loopback address) serving tests/photokit.py's photo and its alterations, an unrelated photo of similar
colours, small logos and a site's banner; the real CLI in subprocesses."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import photokit
import pytest
from casekit import make_case, run_subprocess
from linkkit import ad_page, ad_site, tree_digest
from PIL import Image

SEED = 11
VARIANTS = photokit.VARIANTS  # reencoded, resized, brightened, flipped, cropped, watermarked


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


LOGO = _png(photokit.make_photo(501, (48, 48)))  # on every page: an icon, never a candidate


def _ad(title: str, photo: bytes, text: str = "") -> dict[str, bytes]:
    return {
        "/ad.html": ad_page(title, f"<p>{text}</p><img src='/logo.png' width='48' alt='logo'>", ["/photo.jpg"]),
        "/photo.jpg": photo,
        "/logo.png": LOGO,
    }


@pytest.fixture(scope="module")
def photo_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One case: the original photo's ad, an ad for each alteration (each on its own host), an ad with an
    unrelated photo of the same palette, and three ads of one site sharing a big banner (site furniture)."""
    folder = tmp_path_factory.mktemp("photo-case")
    base = photokit.make_photo(SEED)
    altered = photokit.variants(base)
    sites: dict[str, dict[str, bytes]] = {"original": _ad("Priya, new in town", _jpeg(base))}
    for number, name in enumerate(VARIANTS):
        sites[name] = _ad(f"Model {number}", _jpeg(altered[name]))
    sites["unrelated"] = _ad("Someone else", _jpeg(photokit.unrelated(SEED)))
    banner = _jpeg(photokit.make_photo(77, (900, 200)))
    board = {"/logo.png": LOGO, "/banner.jpg": banner}
    for number in range(3):
        board[f"/board-{number}.jpg"] = _jpeg(photokit.make_photo(300 + number))
        board[f"/board-{number}.html"] = ad_page(
            f"Board ad {number}", "<p>ad</p>", ["/banner.jpg", f"/board-{number}.jpg"]
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        patch.delenv("EVIDENCEKIT_CASE", raising=False)
        with _serving(sites, board) as urls:
            case = make_case(folder / "case")
            result = run_subprocess(["--case", str(case), "capture", *urls.values(), "--json"], timeout=600)
            assert result.returncode == 0, result.stderr
            assert all(o["status"] == "complete" for o in json.loads(result.stdout)), result.stdout
        items = _items_by_url(case, urls)
        yield {"case": case, "items": items, "folder": folder, "base": base}


class _serving:
    """Each ad on its own loopback address (127.0.0.2, .3, ...); the three board ads on one more."""

    def __init__(self, sites: dict[str, dict[str, bytes]], board: dict[str, bytes]) -> None:
        self.sites, self.board = sites, board
        self.stack: Any = None

    def __enter__(self) -> dict[str, str]:
        import contextlib

        self.stack = contextlib.ExitStack()
        urls = {}
        for number, (name, files) in enumerate(self.sites.items(), start=2):
            base = self.stack.enter_context(ad_site(files, f"127.0.0.{number}"))
            urls[name] = f"{base}/ad.html"
        board = self.stack.enter_context(ad_site(self.board, "127.0.0.40"))
        for number in range(3):
            urls[f"board-{number}"] = f"{board}/board-{number}.html"
        return urls

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


def _items_by_url(case: Path, urls: dict[str, str]) -> dict[str, str]:
    listed = run_subprocess(["--case", str(case), "items", "--json"])
    assert listed.returncode == 0, listed.stderr
    by_url = {i["label"]: i["item_id"] for i in json.loads(listed.stdout)}
    return {name: by_url[url] for name, url in urls.items()}


def _links(case: Path, *extra: str) -> dict[str, Any]:
    result = run_subprocess(["--case", str(case), "links", "--json", *extra], timeout=600)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _photo_pairs(report: dict[str, Any]) -> set[frozenset[str]]:
    return {
        frozenset(link["items"]) for group in report["groups"] for link in group["links"] if link["type"] == "photo"
    }


def test_links_find_every_alteration_and_nothing_false(photo_case: dict[str, Any]) -> None:
    case, items = photo_case["case"], photo_case["items"]
    report = _links(case)
    pairs = _photo_pairs(report)
    original = items["original"]
    for name in VARIANTS:
        assert frozenset({original, items[name]}) in pairs, f"{name} not linked to the original: {sorted(pairs)}"
    linked = {item for pair in pairs for item in pair}
    assert items["unrelated"] not in linked  # same palette, another photo
    assert not linked & {items[f"board-{n}"] for n in range(3)}  # a site's banner is no link
    (group,) = [g for g in report["groups"] if original in g["items"]]
    assert set(group["items"]) == {original, *(items[n] for n in VARIANTS)}
    for link in group["links"]:
        assert link["inliers"] >= 50 and link["words"].startswith("visually matching (")
        assert all(p["blake3"].startswith("blake3:") for p in link["photos"])
        assert link["pdq_distance"] is not None or link["crop_resistant"] is True
    assert report["cases"] == [{"case_id": "TRAF-2026-001", "local": True}]
    assert report["algorithms"]["pdq"]["threshold"] == 31
    _no_floats(report)


def _no_floats(value: Any) -> None:
    assert not isinstance(value, float)
    if isinstance(value, dict):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _no_floats(item)


def test_links_again_uses_the_caches_and_says_the_same(photo_case: dict[str, Any]) -> None:
    case = photo_case["case"]
    assert _links(case) == _links(case)


def test_similar_item_lists_the_alterations_with_exhibits(photo_case: dict[str, Any], tmp_path: Path) -> None:
    case, items = photo_case["case"], photo_case["items"]
    exhibits = tmp_path / "exhibits"
    result = run_subprocess(
        ["--case", str(case), "similar", items["original"], "--exhibit", str(exhibits), "--json"], timeout=600
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    matched = {m["photos"][1]["item"] for m in found["matches"]}
    assert matched == {items[n] for n in VARIANTS}
    assert all(m["photos"][0]["item"] == items["original"] for m in found["matches"])
    assert len(found["exhibits"]) == len(VARIANTS)
    for path in found["exhibits"]:
        with Image.open(path) as image:
            assert image.format == "PNG"
            extrema = image.convert("L").getextrema()
            assert extrema[1] - extrema[0] > 50  # not blank
    text = run_subprocess(["--case", str(case), "similar", items["original"]])
    assert text.returncode == 0 and text.stdout.count("visually matching (") == len(VARIANTS)
    # similar and links say the same of each pair (PDQ is compared both ways in each).
    said_by_links = {
        frozenset(p["item"] for p in link["photos"]): (link["pdq_distance"], link["inliers"])
        for group in _links(case)["groups"]
        for link in group["links"]
        if link["type"] == "photo"
    }
    for match in found["matches"]:
        pair = frozenset(p["item"] for p in match["photos"])
        assert said_by_links[pair] == (match["pdq_distance"], match["inliers"]), pair


def test_similar_loose_file_in_no_case(photo_case: dict[str, Any], tmp_path: Path) -> None:
    case, items, base = photo_case["case"], photo_case["items"], photo_case["base"]
    loose = photokit.save_jpeg(base.resize((700, 525)), tmp_path / "from-a-phone.jpg", quality=70)
    result = run_subprocess(["--case", str(case), "similar", str(loose), "--json"], timeout=600)
    assert result.returncode == 0, result.stderr
    matched = {m["photos"][1]["item"] for m in json.loads(result.stdout)["matches"]}
    assert items["original"] in matched and items["unrelated"] not in matched
    other = photokit.save_jpeg(photokit.make_photo(9001), tmp_path / "someone-else.jpg")
    result = run_subprocess(["--case", str(case), "similar", str(other), "--json"], timeout=600)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["matches"] == []


def test_similar_bad_input_is_one_line_and_exit_2(photo_case: dict[str, Any], tmp_path: Path) -> None:
    case = photo_case["case"]
    assert run_subprocess(["--case", str(case), "search", "anything"]).returncode == 0  # the index exists first
    before = sorted(p.name for p in case.iterdir())
    (tmp_path / "notes.txt").write_text("not a photo\n")
    for target, said in (
        (str(tmp_path / "notes.txt"), "is not an image that can be compared"),
        ("capture-0999", "no item 'capture-0999'"),
        (str(tmp_path), "is not a file"),
    ):
        result = run_subprocess(["--case", str(case), "similar", target])
        assert result.returncode == 2, result.stderr
        assert said in result.stderr and result.stderr.count("\n") == 1, result.stderr
    (tmp_path / "plain").mkdir()
    result = run_subprocess(["--case", str(case), "links", "--across", str(tmp_path / "plain")])
    assert result.returncode == 2 and "not an evidencekit case" in result.stderr
    result = run_subprocess(["--case", str(case), "links", "--across", str(tmp_path / "missing")])
    assert result.returncode == 2 and "--across" in result.stderr and "no such folder" in result.stderr
    icon = tmp_path / "icon.png"
    photokit.make_photo(5).resize((32, 32)).save(icon)
    result = run_subprocess(["--case", str(case), "similar", str(icon)])
    assert result.returncode == 2 and "too small or too plain to compare (32 x 32 pixels" in result.stderr
    assert sorted(p.name for p in case.iterdir()) == before


def test_links_write_nothing_but_the_index_and_hash_old_photos_into_it_only(photo_case: dict[str, Any]) -> None:
    from evidencekit.photos.hashing import photo_facts

    case = photo_case["case"]
    evidence = {k: v for k, v in tree_digest(case).items() if not k.startswith("derived/")}
    _links(case)
    assert {k: v for k, v in tree_digest(case).items() if not k.startswith("derived/")} == evidence
    conn = sqlite3.connect(case / "derived" / "index.sqlite")
    rows = conn.execute("SELECT item, artefact, blake3, pdq, computed FROM photos").fetchall()
    conn.close()
    assert rows
    recorded = _recorded_pdq(case)
    for item, artefact, blake3, pdq, computed in rows:
        if (item, artefact) in recorded:  # PDQ recorded at capture time (metadata schema 1.5.0): taken as is
            assert (pdq, computed) == (recorded[(item, artefact)], 0)
        else:  # a capture made before: hashed from the stored bytes, into the index only
            stored = case / "objects" / blake3[:2] / blake3
            assert computed == 1 and pdq == photo_facts(stored)["pdq"]["hash"]


def _recorded_pdq(case: Path) -> dict[tuple[str, str], str]:
    log = run_subprocess(["--case", str(case), "log", "--json"])
    found = {}
    for entry in json.loads(log.stdout):
        if entry["action"] != "capture.completed":
            continue
        (metadata,) = [a for a in entry["artefacts"] if a["role"] == "metadata"]
        digest = metadata["blake3"].removeprefix("blake3:")
        data = json.loads((case / "objects" / digest[:2] / digest).read_text())
        for image in data.get("images", []):
            if isinstance(image.get("pdq"), dict):
                found[(entry["subject"], image["artefact"])] = image["pdq"]["hash"]
    return found


def test_a_damaged_index_is_replaced_not_trusted(photo_case: dict[str, Any]) -> None:
    case = photo_case["case"]
    index = case / "derived" / "index.sqlite"
    _links(case)
    index.write_bytes(b"this is not a database" * 100)
    report = _links(case)
    assert frozenset({photo_case["items"]["original"], photo_case["items"]["flipped"]}) in _photo_pairs(report)
    assert index.read_bytes().startswith(b"SQLite format 3")
