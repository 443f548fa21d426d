"""The CLI contract: commands, --json, exit codes and one-line messages, in-process and as a real process."""

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from casekit import INVESTIGATOR, make_case, run_cli, run_subprocess

IMAGES = os.path.join(os.path.dirname(__file__), "data", "images")


@pytest.fixture
def case(tmp_path):
    return make_case(tmp_path / "case")


def _size(case) -> int:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    finally:
        conn.close()


def test_full_workflow_in_json(case, tmp_path):
    photo = os.path.join(IMAGES, "exif_full_gps_north_east.jpg")
    letter = tmp_path / "letter from family.txt"
    letter.write_text("Our daughter left for a job in Dubai and stopped answering.\n", encoding="utf-8")
    added = run_cli(["--case", str(case), "add", photo, str(letter), "--note", "sent by the family", "--json"])
    assert added.exit_code == 0, added.stderr
    items = json.loads(added.stdout)
    assert [i["item_id"] for i in items] == ["file-0001", "file-0002"]
    photo_entry = items[0]["entry"]
    assert photo_entry["action"] == "file.added"
    assert photo_entry["details"]["note"] == "sent by the family"
    gps = photo_entry["details"]["exif"]["gps"]
    assert gps["latitude"].startswith("52.52") and gps["longitude"].startswith("13.40")
    assert items[1]["entry"]["artefacts"][0]["name"] == "letter_from_family.txt"
    assert items[1]["entry"]["details"]["original_name"] == "letter from family.txt"

    noted = run_cli(["--case", str(case), "note", "Number also in two other ads", "--item", "file-0001", "--json"])
    assert noted.exit_code == 0 and json.loads(noted.stdout)["subject"] == "file-0001"

    listed = json.loads(run_cli(["--case", str(case), "items", "--json"]).stdout)
    assert [(i["item_id"], i["kind"], i["notes"]) for i in listed] == [
        ("file-0001", "file", 2),  # the note given with add, and the note.added
        ("file-0002", "file", 1),
    ]

    shown = json.loads(run_cli(["--case", str(case), "show", "file-0001", "--json"]).stdout)
    stored = next(iter(shown["stored_paths"].values()))
    with open(stored, "rb") as f, open(photo, "rb") as g:
        assert f.read() == g.read()

    log = json.loads(run_cli(["--case", str(case), "log", "--json"]).stdout)
    actions = [e["action"] for e in log]
    assert actions[0] == "case.opened" and "key.registered" in actions
    assert actions[-1] == "checkpoint.signed", "every recording command ends with a signed checkpoint"
    assert all(e["actor"]["name"] == INVESTIGATOR for e in log)

    from evidencekit.schemas import schema_problems

    assert schema_problems("case", json.loads((case / "case.json").read_text(encoding="utf-8"))) == []
    assert all(schema_problems("ledger-entry", e) == [] for e in log)

    verified = run_cli(["--case", str(case), "ledger", "verify", "--json"])
    report = json.loads(verified.stdout)
    assert verified.exit_code == 0 and report["ok"] and report["objects_checked"] == 2
    assert report["entries"] == len(log)


def test_case_found_from_environment(case, monkeypatch):
    monkeypatch.setenv("EVIDENCEKIT_CASE", str(case))
    result = run_cli(["items", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_checkpoint_command_and_keys_show(case):
    result = run_cli(["--case", str(case), "checkpoint", "--json"])
    assert result.exit_code == 0
    entry = json.loads(result.stdout)
    assert entry["details"]["note"].startswith("evidencekit/TRAF-2026-001/")
    shown = json.loads(run_cli(["keys", "show", "--json"]).stdout)
    assert shown["key_id"] == entry["details"]["key_id"] and shown["investigator"] == INVESTIGATOR
    notes = (case / "checkpoints.txt").read_text(encoding="utf-8")
    assert entry["details"]["note"] in notes


def test_keys_generate_refuses_to_replace_a_key(case):
    result = run_cli(["keys", "generate", "--investigator", "Someone Else"])
    assert result.exit_code == 2 and "exists" in result.stderr


def _one_line_error(result, code, *fragments):
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_bad_input_gives_one_line_and_records_nothing(case, tmp_path):
    before = _size(case)
    _one_line_error(run_cli(["--case", str(case), "add", str(tmp_path / "missing.jpg")]), 2, "no such file")
    _one_line_error(run_cli(["--case", str(case), "add", str(tmp_path)]), 2, "folder")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _one_line_error(run_cli(["--case", str(case), "add", str(fifo)]), 2, "not a regular file")
    good = tmp_path / "good.txt"
    good.write_text("x")
    _one_line_error(run_cli(["--case", str(case), "add", str(good), str(tmp_path / "nope")]), 2, "nope")
    _one_line_error(run_cli(["--case", str(case), "note", "x", "--item", "file-0099"]), 2, "file-0099")
    _one_line_error(run_cli(["--case", str(case), "note", "   "]), 2, "text")
    _one_line_error(run_cli(["--case", str(case), "show", "file-0042"]), 2, "file-0042")
    assert _size(case) == before
    assert not any((case / "objects").rglob("*.part"))


def test_case_folder_problems(case, tmp_path):
    _one_line_error(run_cli(["--case", str(tmp_path / "nowhere"), "items"]), 2, "no such folder")
    (tmp_path / "empty").mkdir()
    _one_line_error(run_cli(["--case", str(tmp_path / "empty"), "items"]), 2, "not an evidencekit case")
    again = run_cli(["init", str(case), "--case-id", "X", "--title", "t", "--investigator", "i"])
    _one_line_error(again, 2, "already holds a case")
    bad_id = run_cli(["init", str(tmp_path / "n"), "--case-id", "bad id!", "--title", "t", "--investigator", "i"])
    _one_line_error(bad_id, 2, "case id")


def test_damaged_and_foreign_databases(case, tmp_path):
    db = case / "ledger.sqlite"
    for suffix in ("-wal", "-shm"):
        (case / f"ledger.sqlite{suffix}").unlink(missing_ok=True)
    original = db.read_bytes()
    db.write_bytes(b"\x00garbage" * 4096)
    _one_line_error(run_cli(["--case", str(case), "ledger", "verify"]), 3, "ledger")
    _one_line_error(run_cli(["--case", str(case), "note", "x"]), 3, "ledger")
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE entries (x)")
    conn.commit()
    conn.close()
    _one_line_error(run_cli(["--case", str(case), "items"]), 3, "foreign")
    db.unlink()
    db.write_bytes(original)


def test_checkpoint_without_key(tmp_path):
    case = make_case(tmp_path / "nokey", with_key=False)
    _one_line_error(run_cli(["--case", str(case), "checkpoint"]), 2, "keys generate")


def test_json_mode_keeps_stdout_clean_on_errors(tmp_path):
    result = run_cli(["--case", str(tmp_path / "nowhere"), "items", "--json"])
    assert result.exit_code == 2 and result.stdout == ""


def test_real_subprocess_round_trip(tmp_path):
    case = tmp_path / "case"
    steps = [
        ["keys", "generate", "--investigator", INVESTIGATOR],
        ["init", str(case), "--case-id", "SUB-1", "--title", "Escort ads", "--investigator", INVESTIGATOR],
        ["--case", str(case), "add", os.path.join(IMAGES, "exif_gps_south_west.jpg")],
        ["--case", str(case), "note", "seen on two platforms"],
        ["--case", str(case), "ledger", "verify"],
    ]
    for args in steps:
        proc = run_subprocess(args)
        assert proc.returncode == 0, (args, proc.stderr)
    assert "VERIFIED" in proc.stdout
    proc = run_subprocess(["--case", str(tmp_path / "missing"), "items"])
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    proc = run_subprocess(["frobnicate"])
    assert proc.returncode == 2
    stored = next(p for p in (case / "objects").rglob("*") if p.is_file())
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444


def test_failed_init_leaves_nothing_that_blocks_a_retry(tmp_path):
    assert run_cli(["keys", "generate", "--investigator", INVESTIGATOR]).exit_code == 0
    keys = list(Path(os.environ["XDG_CONFIG_HOME"]).rglob("default.pem"))
    keys[0].chmod(0o644)
    args = ["init", str(tmp_path / "c"), "--case-id", "C-1", "--title", "t", "--investigator", INVESTIGATOR]
    result = run_cli(args)
    assert result.exit_code == 2
    assert not (tmp_path / "c" / "case.json").exists()
    keys[0].chmod(0o600)
    assert run_cli(args).exit_code == 0


def test_the_cli_names_the_same_case_variable_as_the_workspace():
    import evidencekit
    from evidencekit import workspace
    from evidencekit.cli import cli

    option = next(p for p in cli.params if p.name == "case_dir")
    assert option.envvar == workspace.CASE_ENV == evidencekit.CASE_ENV == "EVIDENCEKIT_CASE"


def test_verbose_shows_the_cause_chain_of_an_error(case):
    """One line for people; --verbose adds what the library hid behind it (``raise ... from None``)."""
    (case / "ledger.sqlite").chmod(0o644)
    (case / "ledger.sqlite").write_bytes(b"this is not a SQLite database, it was overwritten" * 200)
    plain = run_subprocess(["--case", str(case), "items"])
    assert plain.returncode == 3
    assert plain.stderr.count("\n") == 1 and "caused by" not in plain.stderr
    verbose = run_subprocess(["--verbose", "--case", str(case), "items"])
    assert verbose.returncode == 3
    assert verbose.stderr.splitlines()[0] == plain.stderr.splitlines()[0]
    assert "caused by: sqlite3.DatabaseError: file is not a database" in verbose.stderr
