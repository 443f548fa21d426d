"""Every number, item id, time and claim in the certificate drafts of a real exported bundle, checked
against the case's ledger and the bag (tests/documentkit.py builds a case mixing complete, 404, 410,
partial and failed captures, an added file and notes; its zone is Asia/Kolkata)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from documentkit import CASE_NOTE, CASE_ZONE, GONE_NOTE, ITEM_NOTE, MixedBundle

from evidencekit.bundle.documents.certificates import BSA_FILE, FRE_FILE, list_blanks

ITEM_ID = re.compile(r"\b(?:capture|file|folder)-\d{4}\b")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
IST = timezone(timedelta(hours=5, minutes=30))


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def drafts(mixed_bundle: MixedBundle) -> dict[str, str]:
    folder = mixed_bundle.root / "data/certificates"
    return {name: (folder / name).read_text(encoding="utf-8") for name in (FRE_FILE, BSA_FILE)}


def _ended(bundle: MixedBundle) -> dict[str, dict[str, Any]]:
    """Each capture's ending entry (completed or failed), by item id."""
    return {e["subject"]: e for e in bundle.ledger if e["action"] in ("capture.completed", "capture.failed")}


def _items(bundle: MixedBundle) -> list[str]:
    return [e["subject"] for e in bundle.ledger if e["action"] in ("capture.started", "file.added")]


def _acquisition(text: str) -> str:
    flat = _flat(text)
    start = flat.index("3. How the data were acquired.") if "3. How the data" in flat else flat.index("It was produced")
    return flat[start : flat.index("4. ", start)]


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_every_item_id_in_a_draft_is_an_item_of_the_ledger_and_every_item_is_named(
    mixed_bundle: MixedBundle, drafts: dict[str, str], name: str
) -> None:
    named = set(ITEM_ID.findall(drafts[name]))
    assert named == set(_items(mixed_bundle))
    total = len(_items(mixed_bundle))
    numbered = re.findall(r"^Item (\d+) of (\d+): ((?:capture|file)-\d{4})", drafts[name], re.M)
    assert [(int(n), int(t), i) for n, t, i in numbered] == [
        (index, total, item) for index, item in enumerate(_items(mixed_bundle), 1)
    ]


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_the_capture_counts_match_the_ledger_and_failures_are_not_counted_as_captured(
    mixed_bundle: MixedBundle, drafts: dict[str, str], name: str
) -> None:
    ended = _ended(mixed_bundle)
    status = {item: entry["details"]["status"] for item, entry in ended.items()}
    captured = sorted(item for item in status if status[item] in ("complete", "partial"))
    failed = [item for item in status if status[item] == "failed"]
    assert len(failed) == 1 and len(captured) == 5  # the case is what the test means it to be
    said = _acquisition(drafts[name])
    found = re.search(r"(\d+) web pages \(([^)]*)\) were captured \((\d+) complete, (\d+) partial\)", said)
    assert found, said[:400]
    assert int(found.group(1)) == len(captured) and found.group(2).split(", ") == captured
    assert int(found.group(3)) == sum(1 for i in captured if status[i] == "complete")
    assert int(found.group(4)) == sum(1 for i in captured if status[i] == "partial")
    attempted = re.search(r"(\d+) captures? of a web page (?:was|were) attempted", said)
    assert attempted and int(attempted.group(1)) == len(failed)
    added = re.search(r"(\d+) file items? \(([^)]*)\) (?:was|were) added", said)
    files = [e["subject"] for e in mixed_bundle.ledger if e["action"] == "file.added"]
    assert added and int(added.group(1)) == len(files) and added.group(2).split(", ") == files


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_failure_reasons_and_error_answers_are_quoted_as_the_ledger_records_them(
    mixed_bundle: MixedBundle, drafts: dict[str, str], name: str
) -> None:
    text = _flat(drafts[name])
    assert "no recorded reason" not in text and "without a recorded reason" not in text
    for item, entry in _ended(mixed_bundle).items():
        details = entry["details"]
        if details["status"] == "failed":
            assert details["error"] and f'{item}: "{details["error"]}"' in text
        code = details["http_status"]
        if isinstance(code, int) and code >= 400:
            phrase = {404: "Not Found", 410: "Gone"}[code]
            assert f"for {item} the server answered HTTP {code} ({phrase})" in text
            assert f"Status: complete — server answered HTTP {code} ({phrase})" in text
    failed = next(item for item, e in _ended(mixed_bundle).items() if e["details"]["status"] == "failed")
    assert f"Status: failed — {_ended(mixed_bundle)[failed]['details']['error']}" in text


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_the_file_counts_say_what_they_count_and_match_the_ledger_and_the_bag(
    mixed_bundle: MixedBundle, drafts: dict[str, str], name: str
) -> None:
    root = mixed_bundle.root
    in_bag = [p for p in (root / "data/items").rglob("*") if p.is_file()]
    recorded = {
        (e["subject"], a["name"]) for e in mixed_bundle.ledger if e.get("subject") for a in e.get("artefacts") or []
    }
    text = _flat(drafts[name])
    found = re.search(
        r"(\d+) items and (\d+) files of those items \((\d+) hashed and recorded in the case ledger when "
        r"acquired, (\d+) made from them at export\)",
        text,
    )
    assert found, "the draft must say what its file count counts"
    items, files, hashed, made = (int(found.group(n)) for n in range(1, 5))
    assert items == len(_items(mixed_bundle))
    assert files == len(in_bag) and hashed == len(recorded) and made == files - hashed
    assert f"each of the {hashed} files that" in text and f"The other {made} files were made" in text
    marked = re.findall(r"^ {7}(made at export from the recorded files|hashed at acquisition)", drafts[name], re.M)
    assert marked.count("hashed at acquisition") == hashed and len(marked) == files
    for block in re.split(r"\n(?=Item \d+ of )", drafts[name])[1:]:
        item = ITEM_ID.search(block)
        count = re.search(r"^  Files \((\d+)\):", block, re.M)
        assert item and count
        assert int(count.group(1)) == sum(
            1 for p in in_bag if p.relative_to(root / "data/items").parts[0] == item.group()
        )
    # metadata.json of a file added by hand and every capture.wacz were made at export, never hashed at capture.
    for path in in_bag:
        rel = path.relative_to(root / "data/items")
        assert ((rel.parts[0], "/".join(rel.parts[1:])) in recorded) == (
            path.name != "capture.wacz" and not (rel.parts[0].startswith("file-") and path.name == "metadata.json")
        ), rel


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_every_time_is_a_recorded_time_and_each_local_time_is_that_moment(
    mixed_bundle: MixedBundle, drafts: dict[str, str], name: str
) -> None:
    recorded = {e["time"] for e in mixed_bundle.ledger}
    for metadata in (mixed_bundle.root / "data/items").glob("*/metadata.json"):
        times = json.loads(metadata.read_text(encoding="utf-8")).get("times") or {}
        recorded |= {times.get("started"), times.get("ended")}
    text = drafts[name]
    shown = set(TIME.findall(text))
    assert shown and shown <= recorded | {_bundle_created(mixed_bundle)}
    assert _bundle_created(mixed_bundle) in shown
    zone = ZoneInfo(CASE_ZONE)
    flat = _flat(text)
    if name == BSA_FILE:
        pairs = re.findall(r"(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}) IST \((" + TIME.pattern + r") UTC\)", flat)
        assert pairs
        for local, utc in pairs:
            assert _utc(utc).astimezone(IST).strftime("%d/%m/%Y %H:%M:%S") == local
    else:
        pairs = re.findall(r"(" + TIME.pattern + r") \(UTC; (\S+ \S+) " + re.escape(CASE_ZONE) + r"\)", flat)
        assert pairs
        for utc, local in pairs:
            assert _utc(utc).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") == local
        assert f"the case's time zone, {CASE_ZONE}, taken from the case settings" in flat


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _bundle_created(bundle: MixedBundle) -> str:
    """The export time the signed bundle statement records."""
    text = (bundle.root / "bundle-signature.txt").read_text(encoding="utf-8")
    found = re.search(r"^created (\S+)$", text, re.M)
    assert found
    return found.group(1)


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_the_checkpoint_blanks_and_settings_are_the_bundle_s(
    mixed_bundle: MixedBundle, drafts: dict[str, str], name: str
) -> None:
    text = _flat(drafts[name])
    body = (mixed_bundle.root / "data/custody/checkpoint").read_text(encoding="utf-8").splitlines()
    size = int(body[1])
    assert (f"tree size {size}" if name == FRE_FILE else f"tree of size {size}") in text
    assert int(re.search(r"This draft contains (\d+) such markers", text).group(1)) == len(list_blanks(drafts[name]))
    metadata = json.loads(
        (mixed_bundle.root / "data/items" / mixed_bundle.items["complete"] / "metadata.json").read_text()
    )
    viewport = metadata["settings"]["viewport"]
    assert f"window size (viewport) {viewport['width']} x {viewport['height']} px" in text
    if name == BSA_FILE:
        assert "[ ] SHA1   [X] SHA256   [ ] MD5   [X] Other: BLAKE3" in drafts[name]


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_notes_are_in_the_annex_with_author_and_time(
    mixed_bundle: MixedBundle, drafts: dict[str, str], name: str
) -> None:
    text = drafts[name]
    notes = [e for e in mixed_bundle.ledger if e["action"] == "note.added"]
    assert len(notes) == 3
    for note in notes:
        shown = note["details"]["text"].replace("\n", "⟨U+000A⟩")
        assert f"Note by {note['actor']['name']}, " in text
        assert f"  {shown}" in text
        assert note["time"] in text
    assert "Notes on the case as a whole:" in text and CASE_NOTE in text
    assert GONE_NOTE in text and ITEM_NOTE.split("\n")[0] in text


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_a_megabyte_title_is_cut_with_a_visible_count(
    mixed_bundle: MixedBundle, drafts: dict[str, str], name: str
) -> None:
    metadata = mixed_bundle.root / "data/items" / mixed_bundle.items["huge-title"] / "metadata.json"
    title = json.loads(metadata.read_text(encoding="utf-8"))["title"]
    assert len(title) > 5_000_000
    assert f"(... {len(title) - 300:,} more characters; the whole title is in metadata.json)" in drafts[name]
    assert len(drafts[name]) < 200_000


def test_the_bundle_with_these_drafts_verifies(mixed_bundle: MixedBundle) -> None:
    from casekit import run_cli

    result = run_cli(["verify", str(mixed_bundle.root)])
    assert result.exit_code == 0, result.stdout + result.stderr
