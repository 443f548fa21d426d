"""Indicators of added files: chat exports, JSON, HTML, PDF and text in other encodings, line by line;
recorded in file.added / folder.added through the real CLI, with the case's region."""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest
from casekit import run_cli

from evidencekit.exif import media_type_of
from evidencekit.indicators import FILE_TEXT_LIMIT, file_text, indicators_in_lines

WHATSAPP_IOS = """\
[03/10/26, 14:22:05] Agent Ravi: Hello, the job in Dubai is still open
[03/10/26, 14:23:11] Agent Ravi: Send your passport photo to this number: +971 50 123 4567
[03/10/26, 14:25:40] Meena: ok
[03/10/26, 14:26:02] Agent Ravi: Advance 5000 by UPI to ravi.jobs@okicici
"""
WHATSAPP_ANDROID = """\
03/10/2026, 14:22 - Agent Ravi: Call my manager 98201 12345 tomorrow
03/10/2026, 14:30 - Meena: which office?
03/10/2026, 14:31 - Agent Ravi: Mumbai office 022-2683 4410, ask for Sunil
"""


def entries(case: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(row[0])) for row in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


def by_value(found: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["kind"], i["value"]): i for i in found}


def test_whatsapp_export_lines_are_the_file_lines(tmp_path: Path) -> None:
    chat = tmp_path / "WhatsApp Chat with Agent Ravi.txt"
    chat.write_text(WHATSAPP_IOS, encoding="utf-8")
    lines = file_text(chat, media_type_of(chat))
    assert lines == WHATSAPP_IOS.splitlines()
    found = by_value(indicators_in_lines(lines, "IN"))
    assert found[("phone", "+971501234567")]["line"] == 2
    assert found[("phone", "+971501234567")]["raw"] == "+971 50 123 4567"
    assert found[("upi", "ravi.jobs@okicici")]["line"] == 4
    assert {kind for kind, _ in found} == {"phone", "upi"}, "the time stamps are no phone numbers"


def test_android_export_with_national_numbers_reads_them_in_the_region(tmp_path: Path) -> None:
    found = by_value(indicators_in_lines(WHATSAPP_ANDROID.splitlines(), "IN"))
    assert found[("phone", "+919820112345")]["line"] == 1
    assert found[("phone", "+912226834410")]["line"] == 3
    assert len(found) == 2


def test_telegram_json_export_gives_one_line_per_message(tmp_path: Path) -> None:
    export = {
        "name": "Jobs abroad",
        "type": "private_group",
        "messages": [
            {"id": 1, "type": "message", "date": "2026-10-03T14:22:05", "from": "Ravi", "text": "hello"},
            {
                "id": 2,
                "type": "message",
                "date": "2026-10-03T14:23:00",
                "from": "Ravi",
                "text": ["call me on ", {"type": "phone", "text": "+44 7911 123456"}, " or write @ravi_jobs"],
            },
            {"id": 3, "type": "service", "date": "2026-10-03T14:24:00", "actor": "Ravi", "text": ""},
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    lines = file_text(path, media_type_of(path))
    assert lines == [
        "[2026-10-03T14:22:05] Ravi: hello",
        "[2026-10-03T14:23:00] Ravi: call me on +44 7911 123456 or write @ravi_jobs",
    ]
    found = by_value(indicators_in_lines(lines, "IN"))
    assert found[("phone", "+447911123456")]["line"] == 2


def test_plain_json_gives_every_string_value(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"name": "Neha", "contacts": [{"mail": "neha.vip@example.org"}, 7], "ok": True}))
    assert file_text(path, "text/plain") == ["Neha", "neha.vip@example.org"]


def test_telegram_html_export_keeps_source_lines_and_skips_scripts(tmp_path: Path) -> None:
    page = (
        "<!DOCTYPE html>\n<html><head><title>Exported Data</title>\n"
        "<script>var phone = '+44 7911 000000';</script></head><body>\n"
        '<div class="message"><div class="from_name">Ravi</div>\n'
        '<div class="text">My number is <b>+44</b> 7911 123456</div></div>\n'
        "</body></html>\n"
    )
    path = tmp_path / "messages.html"
    path.write_text(page, encoding="utf-8")
    lines = file_text(path, media_type_of(path))
    assert lines is not None and lines[4] == "My number is +44 7911 123456"
    found = by_value(indicators_in_lines(lines, "GB"))
    assert found[("phone", "+447911123456")]["line"] == 5
    assert ("phone", "+447911000000") not in found


def test_utf16_text_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes("Kontakt: +49 30 1234567\nEnde\n".encode("utf-16"))
    lines = file_text(path, media_type_of(path))
    assert lines == ["Kontakt: +49 30 1234567", "Ende"]


def _text_pdf(text: str) -> bytes:
    """A one-page PDF whose content stream (deflated) writes ``text`` in Helvetica."""
    stream = zlib.compress(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_is_read_and_a_broken_pdf_gives_none(tmp_path: Path) -> None:
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(_text_pdf("Agent: ravi.agent@example.com, +44 7911 123456"))
    lines = file_text(contract, media_type_of(contract))
    assert lines is not None
    found = by_value(indicators_in_lines(lines, "GB"))
    assert ("email", "ravi.agent@example.com") in found and ("phone", "+447911123456") in found
    broken = tmp_path / "truncated_pdf.pdf"
    broken.write_bytes(contract.read_bytes()[:60])
    assert file_text(broken, media_type_of(broken)) is None


def test_images_binaries_and_huge_files_have_no_text(tmp_path: Path) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    assert file_text(binary, media_type_of(binary)) is None
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(FILE_TEXT_LIMIT + 1)  # sparse: no time spent writing it
    assert file_text(huge, "text/plain") is None


# --- through the CLI: the case's region, file.added and folder.added -------------------------------------


@pytest.fixture
def india_case(tmp_path: Path) -> Path:
    case = tmp_path / "case"
    opened = run_cli(
        ["init", str(case), "--case-id", "T-IN", "--title", "t", "--investigator", "Ana", "--region", "IN"]
    )
    assert opened.exit_code == 0, opened.stderr
    return case


def test_added_chat_export_records_indicators_with_lines_in_the_case_region(
    india_case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVIDENCEKIT_REGION", raising=False)
    chat = tmp_path / "chat.txt"
    chat.write_text(WHATSAPP_ANDROID, encoding="utf-8")
    result = run_cli(["--case", str(india_case), "add", str(chat)])
    assert result.exit_code == 0, result.stderr
    assert "    indicators: +919820112345 (line 1), +912226834410 (line 3)" in result.stdout
    added = [e for e in entries(india_case) if e["action"] == "file.added"][-1]
    found = by_value(added["details"]["indicators"])
    assert found[("phone", "+919820112345")] == {
        "kind": "phone",
        "value": "+919820112345",
        "raw": "98201 12345",
        "line": 1,
    }
    assert found[("phone", "+912226834410")]["line"] == 3
    assert added["details"]["indicators_region"] == "IN", "the case's region, recorded: it decided the numbers"
    assert run_cli(["--case", str(india_case), "ledger", "verify"]).exit_code == 0
    listed = json.loads(run_cli(["--case", str(india_case), "indicators", "--json"]).stdout)
    phone = next(use for use in listed if use["value"] == "+919820112345")
    assert phone["found"] == [{"item": added["subject"], "site": False, "raw": "98201 12345", "line": 1}]


def test_added_folder_records_each_members_indicators_with_its_artefact(india_case: Path, tmp_path: Path) -> None:
    folder = tmp_path / "phone export"
    folder.mkdir()
    (folder / "chat.txt").write_text(WHATSAPP_IOS, encoding="utf-8")
    (folder / "photo.bin").write_bytes(b"\x00" * 64)
    result = run_cli(["--case", str(india_case), "add", str(folder)])
    assert result.exit_code == 0, result.stderr
    added = [e for e in entries(india_case) if e["action"] == "folder.added"][-1]
    found = by_value(added["details"]["indicators"])
    assert found[("upi", "ravi.jobs@okicici")]["line"] == 4
    assert {i["artefact"] for i in added["details"]["indicators"]} == {"chat.txt"}
    assert added["details"]["indicators_region"] == "IN"
    assert run_cli(["--case", str(india_case), "ledger", "verify"]).exit_code == 0


def test_a_file_without_text_records_no_indicators_field(india_case: Path, tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01" * 50)
    assert run_cli(["--case", str(india_case), "add", str(blob)]).exit_code == 0
    added = [e for e in entries(india_case) if e["action"] == "file.added"][-1]
    assert "indicators" not in added["details"] and "indicators_region" not in added["details"]


def test_the_run_region_overrides_the_case_region_as_for_captures(
    india_case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text("Berlin office: 030 1234567\n", encoding="utf-8")
    monkeypatch.setenv("EVIDENCEKIT_REGION", "de")
    assert run_cli(["--case", str(india_case), "add", str(chat)]).exit_code == 0
    added = [e for e in entries(india_case) if e["action"] == "file.added"][-1]
    assert added["details"]["indicators_region"] == "DE"
    assert [i["value"] for i in added["details"]["indicators"]] == ["+49301234567"]
    monkeypatch.setenv("EVIDENCEKIT_REGION", "XX")
    before = len(entries(india_case))
    refused = run_cli(["--case", str(india_case), "add", str(chat)])
    assert refused.exit_code == 2 and "XX" in refused.stderr and len(entries(india_case)) == before
