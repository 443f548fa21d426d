"""Issue 14, search: the derived full-text index over a real case (a real capture of a page that writes its
text with a script, a note, an added WhatsApp chat export), through the real CLI in subprocesses; reindex
rebuilds it identically; deleting it loses no evidence; a read-only case keeps it in the cache folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from casekit import make_case, read_only_view, run_cli, run_subprocess, start_subprocess
from linkkit import ad_site, dump_index, tree_digest

SCRIPTED_PAGE = """<!DOCTYPE html><html lang="hi"><head><meta charset="utf-8"><title>Nurse jobs abroad</title></head>
<body><main><h1>Nurse jobs abroad</h1><p id="static">Apply today.</p><div id="late"></div>
<script>
  // Text that exists only once the script has run: not in the HTML the server sent.
  setTimeout(() => {
    const line = document.createElement("p");
    line.textContent = "Interview in Dubai with agent Kestrelmoor, salary paid in advance";
    document.getElementById("late").append(line);
    const hindi = document.createElement("p");
    hindi.textContent = "मुंबई में नौकरी, संपर्क करें";
    document.getElementById("late").append(hindi);
    const chinese = document.createElement("p");
    chinese.textContent = "上海的电话号码是多少";
    document.getElementById("late").append(chinese);
  }, 200);
</script></main></body></html>
"""

CHAT = [
    "12/03/2026, 21:14 - Priya: hello",
    "12/03/2026, 21:15 - Agent: the room is booked",
    "12/03/2026, 21:16 - Agent: send the advance to the Quillfeather account tonight",
    "12/03/2026, 21:17 - Priya: ok",
]


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture(scope="module")
def scripted_url() -> Iterator[str]:
    with ad_site({"/jobs.html": SCRIPTED_PAGE.encode()}) as base:
        yield f"{base}/jobs.html"


def _search(case: Path, text: str) -> list[dict[str, object]]:
    result = run_subprocess(["--case", str(case), "search", text, "--json"])
    assert result.returncode == 0, result.stderr
    hits: list[dict[str, object]] = json.loads(result.stdout)
    return hits


@pytest.fixture
def filled_case(tmp_path: Path, cache_home: Path, scripted_url: str) -> Path:
    """A case holding a capture of the scripted page, a note and a chat export; searched after each step, so
    its index was built a piece at a time."""
    case = make_case(tmp_path / "case")
    captured = run_subprocess(["--case", str(case), "capture", scripted_url, "--json"], timeout=240)
    assert captured.returncode == 0, captured.stderr
    assert _search(case, "Kestrelmoor")
    note = run_subprocess(["--case", str(case), "note", "Called the Larkspur hotel desk", "--item", "capture-0001"])
    assert note.returncode == 0, note.stderr
    assert _search(case, "Larkspur")
    chat = tmp_path / "WhatsApp Chat with Agent.txt"
    chat.write_text("\n".join(CHAT) + "\n", encoding="utf-8")
    added = run_subprocess(["--case", str(case), "add", str(chat)])
    assert added.returncode == 0, added.stderr
    return case


def test_search_finds_script_text_a_note_and_a_chat_line(filled_case: Path) -> None:
    (scripted,) = _search(filled_case, "agent kestrelmoor")  # case ignored
    assert scripted["item"] == "capture-0001"
    assert scripted["artefact"] == "text.txt" and scripted["source"] == "visible-text"
    assert isinstance(scripted["line"], int)
    assert "«agent Kestrelmoor»" in str(scripted["snippet"])
    (note,) = _search(filled_case, "Larkspur")
    assert (note["item"], note["source"], note["artefact"]) == ("capture-0001", "note", None)
    (line,) = _search(filled_case, "Quillfeather")
    assert line["item"] == "file-0001" and line["source"] == "file"
    assert line["artefact"] == "WhatsApp_Chat_with_Agent.txt"  # the stored name
    assert line["line"] == 3
    assert "«Quillfeather»" in str(line["snippet"])
    assert not _search(filled_case, "Apply tomorrow")
    (name,) = [h for h in _search(filled_case, "chat with agent") if h["source"] == "name"]
    assert name["item"] == "file-0001"
    assert [h["source"] for h in _search(filled_case, "/jobs.html")] == ["url"]


def test_search_in_scripts_without_spaces_and_in_devanagari(filled_case: Path) -> None:
    hindi = _search(filled_case, "नौकरी")
    assert [h["item"] for h in hindi] == ["capture-0001"]
    chinese = _search(filled_case, "电话号码")  # inside a run with no spaces
    assert [h["item"] for h in chinese] == ["capture-0001"]
    short = _search(filled_case, "电话")  # shorter than a trigram: found by a scan
    assert [h["item"] for h in short] == ["capture-0001"]


def test_search_text_output_names_item_artefact_and_line(filled_case: Path) -> None:
    result = run_subprocess(["--case", str(filled_case), "search", "Quillfeather"])
    assert result.returncode == 0, result.stderr
    assert "file-0001  WhatsApp_Chat_with_Agent.txt:3  [file]" in result.stdout
    assert "«Quillfeather»" in result.stdout


def test_reindex_rebuilds_the_same_index_from_scratch(filled_case: Path) -> None:
    index = filled_case / "derived" / "index.sqlite"
    _search(filled_case, "anything")  # brought up to date with every entry (the add's checkpoint too)
    before = dump_index(index)
    assert before["texts"] and before["items"]
    result = run_subprocess(["--case", str(filled_case), "reindex", "--json"])
    assert result.returncode == 0, result.stderr
    said = json.loads(result.stdout)
    assert said["index"] == str(index) and said["texts"] == len(before["texts"])
    assert dump_index(index) == before


def test_commands_building_the_index_at_once_index_each_entry_once(filled_case: Path, tmp_path: Path) -> None:
    big = tmp_path / "long-chat.txt"  # long enough that building the index takes a while
    big.write_text("".join(f"12/03/2026, 21:{n % 60:02d} - Agent: line {n} of the long chat\n" for n in range(60_000)))
    assert run_subprocess(["--case", str(filled_case), "add", str(big)]).returncode == 0
    shutil.rmtree(filled_case / "derived", ignore_errors=True)
    running = [start_subprocess(["--case", str(filled_case), "search", "Quillfeather", "--json"]) for _ in range(4)]
    for process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert [h["line"] for h in json.loads(out)] == [3]
    built = dump_index(filled_case / "derived" / "index.sqlite")
    assert run_subprocess(["--case", str(filled_case), "reindex"]).returncode == 0
    assert dump_index(filled_case / "derived" / "index.sqlite") == built


def test_deleting_the_index_loses_no_evidence(filled_case: Path, tmp_path: Path) -> None:
    assert (filled_case / "derived" / "index.sqlite").is_file()
    verified = run_subprocess(["--case", str(filled_case), "ledger", "verify"])  # with the index present
    assert verified.returncode == 0 and "VERIFIED" in verified.stdout, verified.stdout + verified.stderr
    with_index = tmp_path / "with-index"
    exported = run_subprocess(["--case", str(filled_case), "export", str(with_index), "--all", "--dir"], timeout=240)
    assert exported.returncode == 0, exported.stderr
    assert not any("index.sqlite" in p or p.startswith("derived") for p in tree_digest(with_index))
    shutil.rmtree(filled_case / "derived")
    verified = run_subprocess(["--case", str(filled_case), "ledger", "verify"])
    assert verified.returncode == 0 and "VERIFIED" in verified.stdout, verified.stdout + verified.stderr
    bundle = tmp_path / "bundle"
    exported = run_subprocess(["--case", str(filled_case), "export", str(bundle), "--all", "--dir"], timeout=240)
    assert exported.returncode == 0, exported.stderr
    checked = run_subprocess(["verify", str(bundle)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not any("index.sqlite" in p for p in tree_digest(bundle))
    shutil.rmtree(filled_case / "derived", ignore_errors=True)  # export may have built it again to link
    assert [h["item"] for h in _search(filled_case, "Quillfeather")] == ["file-0001"]  # rebuilt on demand
    assert (filled_case / "derived" / "index.sqlite").is_file()


@pytest.fixture
def read_only_case(tmp_path: Path, cache_home: Path) -> Iterator[Path]:
    """A case with a text file and a note, seen read-only: a read-only bind mount as root (root ignores
    permission bits), else folders and files without write rights."""
    case = make_case(tmp_path / "case")
    (tmp_path / "f.txt").write_text("the Marigold guest house, room 4\n")
    assert run_cli(["--case", str(case), "add", str(tmp_path / "f.txt")]).exit_code == 0
    assert run_cli(["--case", str(case), "note", "seen at Wrenfield", "--item", "file-0001"]).exit_code == 0
    with read_only_view(case, tmp_path) as view:
        yield view


def test_a_read_only_case_keeps_its_index_in_the_cache_folder(read_only_case: Path, cache_home: Path) -> None:
    before = tree_digest(read_only_case)
    hits = _search(read_only_case, "marigold")
    assert [(h["item"], h["line"]) for h in hits] == [("file-0001", 1)]
    assert [h["item"] for h in _search(read_only_case, "Wrenfield")] == ["file-0001"]
    assert run_subprocess(["--case", str(read_only_case), "reindex"]).returncode == 0
    assert tree_digest(read_only_case) == before  # nothing written into the case
    (index,) = (cache_home / "evidencekit" / "index").glob("*.sqlite")
    assert index.name.startswith("TRAF-2026-001-")
    assert dump_index(index)["texts"]


def test_bad_input_is_one_line_and_exit_2(filled_case: Path, tmp_path: Path) -> None:
    empty = run_subprocess(["--case", str(filled_case), "search", "  "])
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1, empty.stderr
    (tmp_path / "plain").mkdir()
    not_a_case = run_subprocess(["--case", str(tmp_path / "plain"), "search", "anything"])
    assert not_a_case.returncode == 2 and "not an evidencekit case" in not_a_case.stderr
    assert not (tmp_path / "plain" / "derived").exists()
