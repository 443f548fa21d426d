"""Draft certificates (evidencekit.bundle.documents.certificates): FRE 902(14) and BSA 2023 s.63, filled with facts."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from test_report import HOSTILE_TITLE, LONG_URL, make_facts

from evidencekit.bundle.documents.certificates import BLANK, BSA_FILE, FRE_FILE, WIDTH, list_blanks, render_certificates
from evidencekit.errors import ValidationError


@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    return make_facts()


@pytest.fixture(scope="module")
def drafts(facts: dict[str, Any]) -> dict[str, str]:
    return render_certificates(facts)


def _stated_count(text: str) -> int:
    found = re.search(r"This draft contains (\d+) such markers", text)
    assert found, "the draft must say how many blanks it has"
    return int(found.group(1))


def test_both_drafts_are_produced_and_say_they_are_drafts_not_advice(drafts: dict[str, str]) -> None:
    assert sorted(drafts) == sorted([FRE_FILE, BSA_FILE])
    assert FRE_FILE == "FRE-902-14-certification-DRAFT.txt" and BSA_FILE == "BSA-2023-s63-certificate-DRAFT.txt"
    for text in drafts.values():
        head = text[:400]
        assert "DRAFT" in head and "NOT LEGAL ADVICE" in head
        assert text.endswith("\n")
        text.encode("utf-8")


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_every_fact_is_filled_in(drafts: dict[str, str], facts: dict[str, Any], name: str) -> None:
    text = " ".join(drafts[name].split())  # prose is wrapped: compare with single spaces
    case, bundle = facts["case"], facts["bundle"]
    for value in [
        case["case_id"],
        case["title"],
        case["case_uuid"],
        case["investigator"],
        bundle["software"],
        bundle["tag_manifest_sha256"],
        bundle["checkpoint"]["root"],
        bundle["checkpoint"]["key_id"],
        "tree of size 7" if name == BSA_FILE else "tree size 7",
        LONG_URL,
        HOSTILE_TITLE,
        "timeout: the page kept loading after 30 s",
        "203.0.113.7",
    ]:
        assert value in text, value
    for item in facts["items"]:
        assert item["item_id"] in text
        for artefact in item["artefacts"]:
            assert artefact["path"] in text
            assert f"SHA-256: {artefact['sha256'].removeprefix('sha256:')}" in text
            assert f"BLAKE3: {artefact['blake3'].removeprefix('blake3:')}" in text


@pytest.mark.parametrize("name", [FRE_FILE, BSA_FILE])
def test_blanks_are_marked_counted_and_nothing_else_leaks(drafts: dict[str, str], name: str) -> None:
    text = drafts[name]
    blanks = list_blanks(text)
    assert text.count("[[") - 1 == text.count("]]") == len(blanks)  # the notes quote the marker's opening
    assert _stated_count(text) == len(blanks)
    assert len(blanks) >= 25
    assert all(BLANK.format(what=what) in text for what in blanks)
    for leak in ["None", "${", "$", "{", "}", "\x01", "\x02", "\ue000"]:
        assert leak not in text, leak
    assert any("signature" in what for what in blanks)
    assert any(what == "date" for what in blanks)


def test_blanks_are_never_split_across_lines_and_prose_is_wrapped(drafts: dict[str, str]) -> None:
    for text in drafts.values():
        body = text[: text.index("\nANNEX")]  # the annexes are reports, laid out line by line
        for line in body.splitlines():
            if len(line) > WIDTH:
                # only what cannot be broken may be longer: a blank, or a long line of a fixed layout
                assert "[[TO BE COMPLETED:" in line or "(BLAKE3 is a published" in line, line
        assert not re.search(r"\[\[TO BE COMPLETED: [^\]\"]*\n", text)
        assert "reasonable written notice" in " ".join(text.split()) or "Bharatiya" in text


def test_fre_draft_follows_902_14_and_gives_the_902_11_notice(drafts: dict[str, str]) -> None:
    text = drafts[FRE_FILE]
    assert "902(14)" in text and "902(13)" in text
    notice = text[text.index("PART 2: NOTICE OF INTENT TO OFFER UNDER RULE 902(11)") :]
    assert "reasonable\nwritten notice" in notice or "reasonable written notice" in notice
    assert "available for inspection" in notice
    assert "fair\nopportunity to challenge" in notice or "fair opportunity to challenge" in notice
    assert "process of digital identification" in text.replace("\n", " ")
    assert "28 U.S.C. § 1746" in text
    assert "under penalty of perjury" in text
    assert text.index("PART 1: CERTIFICATION") < text.index("PART 2: NOTICE") < text.index("ANNEX A: HASH REPORT")
    assert "ANNEX B: HOW TO VERIFY" in text and "  b3sum --check manifest-blake3.txt" in text
    assert "Annex 1" not in text  # the FRE draft's annexes are lettered


def test_bsa_draft_has_part_a_and_part_b_each_with_its_own_signature(drafts: dict[str, str]) -> None:
    text = drafts[BSA_FILE]
    part_a = text[text.index("PART A (to be completed by the party)") : text.index("PART B")]
    part_b = text[text.index("PART B (to be completed by the expert)") : text.index("ANNEX 1: HASH REPORT")]
    for part in (part_a, part_b):
        assert "son/daughter/spouse of" in part
        assert "Date (DD/MM/YYYY): [[TO BE COMPLETED: date]]" in part
        assert "Time (IST): [[TO BE COMPLETED: time]] hours (24-hour format)" in part
        assert "Place: [[TO BE COMPLETED: place]]" in part
        assert "[X] SHA256" in part and "[X] Other: BLAKE3" in part and "[ ] MD5" in part
        assert "Computer / Storage Media" in part and "IMEI/UIN/UID/MAC/Cloud ID" in part
        assert "Annex 1" in part
    assert "(Name and signature)" in part_a and "(Name, designation and signature)" in part_b
    for clause in ("section 63(4)(a)", "section 63(4)(b)", "section 63(4)(c)", "section 63(2)"):
        assert clause in part_a, clause
    for condition in ("(a) During the period", "(b) During that period", "(c) Throughout", "(d) The information"):
        assert condition in part_a, condition
    assert "[ ] Owned   [ ] Maintained   [ ] Managed   [ ] Operated" in part_a
    assert "Annex A" not in text


def test_bsa_times_are_given_in_ist_and_utc(drafts: dict[str, str]) -> None:
    text = drafts[BSA_FILE]
    assert "01/03/2025 15:30:00 IST (2025-03-01T10:00:00.000000Z UTC)" in text  # 10:00 UTC is 15:30 IST
    assert "03/03/2025 17:30:05 IST (2025-03-03T12:00:05.000000Z UTC)" in text


def test_the_ledger_says_who_made_each_capture(drafts: dict[str, str]) -> None:
    acquisition = drafts[FRE_FILE].split("3. How the data were acquired.")[1].split("4. The process")[0]
    assert "by A.\n     Investigator" in acquisition or "by A. Investigator" in acquisition
    assert "2 web pages (capture-0001, capture-0002) were captured" in acquisition
    assert "1 file item (file-0003) was added" in acquisition


def test_incomplete_items_are_disclosed_with_their_reasons(drafts: dict[str, str]) -> None:
    text = " ".join(drafts[FRE_FILE].split())
    assert "Item capture-0002 is recorded as partial for these reasons: timeout: the page kept loading" in text
    assert "capture-0001 is recorded as" not in text


def test_missing_facts_become_blanks_not_none() -> None:
    facts = make_facts()
    del facts["bundle"]["tag_manifest_sha256"]
    facts["case"]["agency"] = None
    facts["bundle"]["checkpoint"] = None
    facts["custody"] = []
    drafts = render_certificates(facts)
    fre, bsa = drafts[FRE_FILE], drafts[BSA_FILE]
    for text in (fre, bsa):
        assert "None" not in text
        blanks = list_blanks(text)
        assert "SHA-256 of tagmanifest-sha256.txt" in blanks
        assert "checkpoint root hash" in blanks and "checkpoint tree size" in blanks
        assert "who made the captures" in blanks and "who added the files" in blanks
        assert _stated_count(text) == len(blanks)
    assert "agency" in list_blanks(fre)


def test_page_text_cannot_fake_a_blank_break_a_line_or_reorder_the_text() -> None:
    facts = make_facts()
    facts["items"][0]["title"] = "[[TO BE COMPLETED: nothing]]\nI declare that the defendant is guilty\u202e"
    facts["items"][0]["label"] = "إعلان"
    drafts = render_certificates(facts)
    for text in drafts.values():
        assert "nothing" not in list_blanks(text)
        assert "[ [TO BE COMPLETED: nothing] ]⟨U+000A⟩I declare that the defendant is guilty⟨U+202E⟩" in text
        assert "\u202e" not in text
        assert "  Label:          \u2068إعلان\u2069" in text  # isolated right-to-left label


def test_an_empty_bundle_still_renders() -> None:
    drafts = render_certificates({"case": {"case_id": "C-1"}})
    for text in drafts.values():
        assert "The bundle holds no items." in text
        assert "None" not in text
        assert _stated_count(text) == len(list_blanks(text))


def test_floats_are_refused_and_rendering_is_deterministic(facts: dict[str, Any]) -> None:
    assert render_certificates(facts) == render_certificates(copy.deepcopy(facts))
    broken = copy.deepcopy(facts)
    broken["bundle"]["checkpoint"]["tree_size"] = 7.0
    with pytest.raises(ValidationError, match="fractional"):
        render_certificates(broken)


def test_every_value_is_revealed_exactly_once() -> None:
    facts = make_facts()
    facts["items"][1]["reasons"] = ["code:\nsecond line", {"code": "x\ty", "message": "m\u202e"}]
    facts["items"][0]["artefacts"][0]["size"] = "12\x00"
    for text in render_certificates(facts).values():
        assert "U+27E8" not in text
        assert "code:⟨U+000A⟩second line" in text and "x⟨U+0009⟩y: m⟨U+202E⟩" in text
        assert "size: 12⟨U+0000⟩" in text


def test_folder_items_are_described_as_folders_not_files(facts: dict[str, Any]) -> None:
    """A folder item holds a whole tree; calling it a file would misstate what was seized."""
    with_folder = copy.deepcopy(facts)
    folder = next(item for item in with_folder["items"] if item["item_id"] == "file-0003")
    folder["item_id"], folder["kind"] = "folder-0001", "folder"
    for name, text in render_certificates(with_folder).items():
        flat = " ".join(text.split())
        assert "1 folder item (folder-0001) was added" in flat, name
        assert "file item" not in flat, name
        assert "folder-0001 (folder)" in flat, name
        assert "folder-0001 (file)" not in flat, name
