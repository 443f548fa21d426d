"""PDQ of images taken into a case with ``add`` (a file, and the image members of a folder), through the real
CLI and the real ledger: recorded in the entry's details, valid against the action's schema, round-tripped
by the typed entries, and the case still verifies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from casekit import make_case, run_cli, verify_json
from photokit import make_photo, save_jpeg, save_png, variants

from evidencekit.errors import ValidationError
from evidencekit.ledger.database import Ledger
from evidencekit.ledger.entries import FileAdded, FolderAdded, detail_problems, parse
from evidencekit.models import LedgerEntry
from evidencekit.photos.hashing import photo_facts
from evidencekit.photos.match import PDQ_THRESHOLD, pdq_distance


def entries_of(case: Path) -> list[LedgerEntry]:
    with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
        return list(ledger.entries())


def test_added_images_record_their_pdq_and_other_files_do_not(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    base = make_photo(31)
    photo = save_jpeg(base, tmp_path / "victim photo.jpg")
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', encoding="utf-8")
    chat = tmp_path / "chat.txt"
    chat.write_text("call 98201 12345\n", encoding="utf-8")
    folder = tmp_path / "phone export"
    save_jpeg(variants(base)["watermarked"], folder / "DCIM" / "IMG_0001.jpg")
    save_png(make_photo(32, (40, 40)), folder / "icon.png")
    (folder / "DCIM" / "damaged.jpg").write_bytes(photo.read_bytes()[:2000])
    (folder / "notes.txt").write_text("nothing to see\n", encoding="utf-8")
    added = run_cli(["--case", str(case), "add", str(photo), str(logo), str(chat), str(folder)])
    assert added.exit_code == 0, added.stderr

    entries = {e.subject: e for e in entries_of(case) if e.action in {"file.added", "folder.added"}}
    image, svg, text, tree = (entries[s] for s in ("file-0001", "file-0002", "file-0003", "folder-0001"))
    assert image.details["photo"] == photo_facts(photo)
    assert image.details["photo"]["width"] == 1000 and image.details["photo"]["pdq"]["quality"] >= 50
    assert "photo" not in svg.details  # not sniffed as an image (evidencekit.exif.media_type_of)
    assert "photo" not in text.details
    photos = tree.details["photos"]
    assert set(photos) == {"DCIM/IMG_0001.jpg", "DCIM/damaged.jpg", "icon.png"}
    assert pdq_distance(photos["DCIM/IMG_0001.jpg"]["pdq"]["hash"], image.details["photo"]["pdq"]["hash"]) <= (
        PDQ_THRESHOLD
    )
    assert photos["icon.png"]["width"] == 40
    assert "pdq_error" in photos["DCIM/damaged.jpg"]

    for entry in (image, svg, text, tree):
        assert detail_problems(entry) == []
        assert parse(entry).to_details() == entry.details
    typed = parse(image)
    assert isinstance(typed, FileAdded) and typed.photo == image.details["photo"]
    typed_tree = parse(tree)
    assert isinstance(typed_tree, FolderAdded) and typed_tree.photos == photos
    code, report = verify_json(case)
    assert code == 0, report

    shown = run_cli(["--case", str(case), "show", "file-0001", "--json"])
    assert shown.exit_code == 0 and image.details["photo"]["pdq"]["hash"] in shown.stdout


def test_a_photo_fact_that_breaks_the_form_is_found(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    photo = save_jpeg(make_photo(33, (300, 200)), tmp_path / "photo.jpg")
    assert run_cli(["--case", str(case), "add", str(photo)]).exit_code == 0
    entry = next(e for e in entries_of(case) if e.action == "file.added")
    for bad in (
        {**entry.details["photo"], "pdq": {"hash": "XYZ", "quality": 3}},
        {**entry.details["photo"], "pdq_error": "and a hash too"},
        {"width": 300, "height": 200},
    ):
        damaged = replace(entry, details={**entry.details, "photo": bad})
        assert detail_problems(damaged) != [], bad


def test_folder_photos_must_name_the_folders_own_artefacts(tmp_path: Path) -> None:
    case = make_case(tmp_path / "case")
    folder = tmp_path / "pics"
    save_jpeg(make_photo(34, (300, 200)), folder / "a.jpg")
    assert run_cli(["--case", str(case), "add", str(folder)]).exit_code == 0
    entry = next(e for e in entries_of(case) if e.action == "folder.added")
    stranger = {**entry.details, "photos": {**entry.details["photos"], "elsewhere.jpg": {"pdq_error": "x"}}}
    damaged = replace(entry, details=stranger)
    with pytest.raises(ValidationError, match="photos must name only artefacts"):
        FolderAdded.from_entry(damaged)
    assert detail_problems(damaged) != []
