"""What a new user ran into (issue 10, item 8), run through the real CLI: --case after the subcommand,
add FOLDER, same content / same URL said in one line, key passphrases, per-case settings, durations."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from casekit import INVESTIGATOR, make_case, run_cli

from evidencekit.workflows.stamping import NO_AUTHORITY_WARNING

ROOT = Path(__file__).resolve().parent.parent
RFC3339_MICROS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")

NO_TSA_LINE = NO_AUTHORITY_WARNING + "\n"


def _proc(
    args: list[str], extra_env: dict[str, str] | None = None, drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``python -m evidencekit`` as a real process; stdin is not a terminal, so nothing is ever prompted."""
    env = {k: v for k, v in os.environ.items() if k not in drop} | (extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "evidencekit", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _one_line(stderr: str, *fragments: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _rows(case: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(case / "ledger.sqlite")
    try:
        return [json.loads(bytes(r[0])) for r in conn.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        conn.close()


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return make_case(tmp_path / "case")


# -- 1. the command on PATH ------------------------------------------------------------------------
def test_readme_and_demo_say_how_to_get_the_command_on_path() -> None:
    from evidencekit.demo.walkthrough import command_hint

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ". .venv/bin/activate" in readme and "pipx install ." in readme
    hint = "\n".join(command_hint("/opt/ek/.venv"))
    assert ". /opt/ek/.venv/bin/activate" in hint and "pipx install ." in hint
    # make demo prints it at the end: the walkthrough's last lines are the hint
    source = (ROOT / "evidencekit" / "demo" / "walkthrough.py").read_text(encoding="utf-8")
    assert 'print("\\n".join(command_hint()))' in source


# -- 2. --case after the subcommand ----------------------------------------------------------------
def test_case_after_the_subcommand_wins_over_before_and_over_the_environment(tmp_path: Path) -> None:
    first, second = make_case(tmp_path / "first"), make_case(tmp_path / "second", case_id="OTHER-1")
    letter = tmp_path / "letter.txt"
    letter.write_text("only in the first case\n")
    assert _proc(["add", str(letter), "--case", str(first)]).returncode == 0

    def items(args: list[str], env: dict[str, str] | None = None) -> list[str]:
        proc = _proc([*args, "--json"], env)
        assert proc.returncode == 0, proc.stderr
        return [i["item_id"] for i in json.loads(proc.stdout)]

    assert items(["items", "--case", str(first)]) == ["file-0001"]
    assert items(["--case", str(second), "items", "--case", str(first)]) == ["file-0001"]
    assert items(["items", "--case", str(first)], {"EVIDENCEKIT_CASE": str(second)}) == ["file-0001"]
    assert items(["items"], {"EVIDENCEKIT_CASE": str(first)}) == ["file-0001"]
    assert items(["--case", str(second), "items"], {"EVIDENCEKIT_CASE": str(first)}) == []


@pytest.mark.parametrize(
    "command",
    [
        ["items"],
        ["log"],
        ["show", "file-0001"],
        ["note", "seen again"],
        ["checkpoint"],
        ["ledger", "verify"],
        ["indicators"],
        ["case", "configure", "--timezone", "UTC"],
    ],
)
def test_every_case_command_takes_case_after_it(tmp_path: Path, command: list[str]) -> None:
    case = make_case(tmp_path / "case")
    letter = tmp_path / "letter.txt"
    letter.write_text("x\n")
    assert run_cli(["add", str(letter), "--case", str(case)]).exit_code == 0
    result = run_cli([*command, "--case", str(case)])
    assert result.exit_code == 0, result.stderr
    elsewhere = run_cli([*command, "--case", str(tmp_path / "nowhere")])
    assert elsewhere.exit_code == 2 and "nowhere" in _one_line(elsewhere.stderr)


# -- 3. add FOLDER ---------------------------------------------------------------------------------
def _tree(root: Path) -> Path:
    (root / "chats" / "2026").mkdir(parents=True)
    (root / "photos").mkdir()
    (root / "empty").mkdir()
    (root / "chats" / "2026" / "whatsapp export.txt").write_text("Call me on +49 30 1234567\n")
    (root / "photos" / "Ärzte?.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (root / "photos" / "報告.pdf").write_bytes(b"%PDF-1.4 tiny")
    (root / "README").write_text("from the family\n")
    (root / "Readme").write_text("another file whose name differs only in case\n")
    (root / "metadata.json").write_text('{"from": "the phone"}\n')
    return root


def test_add_folder_is_one_item_with_its_tree_and_exports_and_verifies(case: Path, tmp_path: Path) -> None:
    folder = _tree(tmp_path / "phone dump")
    result = run_cli(["add", str(folder), "--note", "from the family", "--case", str(case), "--json"])
    assert result.exit_code == 0, result.stderr
    (added,) = json.loads(result.stdout)
    entry = added["entry"]
    assert (added["item_id"], entry["action"], entry["subject"]) == ("folder-0001", "folder.added", "folder-0001")
    details = entry["details"]
    assert details["original_name"] == "phone dump" and details["original_path"] == str(folder.resolve())
    assert details["note"] == "from the family" and details["empty_folders"] == ["empty"]
    by_path = {f["relative_path"]: f for f in details["files"]}
    assert set(by_path) == {
        "README",
        "Readme",
        "chats/2026/whatsapp export.txt",
        "metadata.json",
        "photos/Ärzte?.jpg",
        "photos/報告.pdf",
    }
    names = {rel: f["artefact"] for rel, f in by_path.items()}
    assert names["chats/2026/whatsapp export.txt"] == "chats/2026/whatsapp_export.txt"
    assert names["photos/Ärzte?.jpg"] == "photos/Arzte_.jpg" and names["photos/報告.pdf"] == "photos/file.pdf"
    assert names["README"] == "README" and names["Readme"] not in ("README", "Readme")  # unique, ignoring case
    assert len({n.lower() for n in names.values()}) == len(names)
    assert names["metadata.json"] != "metadata.json", "the bundle writes its own metadata.json there"
    assert all(RFC3339_MICROS.fullmatch(f["source_modified"]) for f in details["files"])
    assert sorted(a["name"] for a in entry["artefacts"]) == sorted(names.values())

    listed = json.loads(run_cli(["items", "--case", str(case), "--json"]).stdout)
    assert [(i["item_id"], i["kind"], i["label"], i["artefacts"]) for i in listed] == [
        ("folder-0001", "folder", "phone dump", 6)
    ]
    shown = run_cli(["show", "folder-0001", "--case", str(case)])
    assert shown.exit_code == 0 and shown.stdout.startswith("folder-0001  folder  added  phone dump")
    assert "chats/2026/whatsapp_export.txt" in shown.stdout
    assert "folder.added" in run_cli(["log", "--case", str(case)]).stdout
    assert run_cli(["ledger", "verify", "--case", str(case)]).exit_code == 0

    assert run_cli(["case", "configure", "--region", "DE", "--case", str(case)]).exit_code == 0
    bundle = tmp_path / "bundle"
    exported = run_cli(["export", str(bundle), "--item", "folder-0001", "--dir", "--case", str(case)])
    assert exported.exit_code == 0, exported.stderr
    for rel, name in names.items():
        assert (bundle / "data" / "items" / "folder-0001" / name).read_bytes() == (folder / rel).read_bytes()
    assert json.loads((bundle / "data/items/folder-0001/metadata.json").read_text())["kind"] == "folder"
    excerpt = [json.loads(line) for line in (bundle / "data/custody/ledger.jsonl").read_text().splitlines()]
    assert {"details": {"region": "DE", "timezone": None}} in [
        {"details": e["details"]} for e in excerpt if e["action"] == "case.configured"
    ], "the case's settings travel with every bundle"
    verified = run_cli(["verify", str(bundle)])
    assert verified.exit_code == 0 and "INTACT" in verified.stdout, verified.stdout


@pytest.mark.parametrize("defect", ["symlink", "fifo", "empty", "only-empty-folders", "holds-the-case"])
def test_a_folder_that_cannot_be_added_says_so_in_one_line_and_stores_nothing(
    case: Path, tmp_path: Path, defect: str
) -> None:
    folder = tmp_path / "dump"
    folder.mkdir()
    good = folder / "a.txt"
    good.write_text("kept outside the case\n")
    target = folder
    if defect == "symlink":
        (folder / "sub").mkdir()
        (folder / "sub" / "passwd").symlink_to("/etc/passwd")
        fragment = f"{folder / 'sub' / 'passwd'} is a symbolic link"
    elif defect == "fifo":
        os.mkfifo(folder / "pipe")
        fragment = f"{folder / 'pipe'} is not a regular file"
    elif defect == "empty":
        good.unlink()
        fragment = "holds no files"
    elif defect == "only-empty-folders":
        good.unlink()
        (folder / "x" / "y").mkdir(parents=True)
        fragment = "holds no files"
    else:
        target = tmp_path
        fragment = "holds the case folder"
    other = tmp_path / "other.txt"  # named first: it would be stored already if the checks came late
    other.write_text("a good file\n")
    objects_before = sorted((case / "objects").rglob("*"))
    before = len(_rows(case))
    result = run_cli(["add", str(other), str(target), "--case", str(case)])
    assert result.exit_code == 2
    _one_line(result.stderr, fragment)
    assert len(_rows(case)) == before and sorted((case / "objects").rglob("*")) == objects_before


# -- 4. the same content, the same URL -------------------------------------------------------------
def test_the_same_content_again_is_recorded_and_said_in_one_line(case: Path, tmp_path: Path) -> None:
    first, again = tmp_path / "ad.txt", tmp_path / "copy of ad.txt"
    first.write_text("Nannies wanted, visa paid\n")
    again.write_text("Nannies wanted, visa paid\n")
    # No TSA is configured here: every sealing command ends with that one warning (issue 13), and only it.
    assert run_cli(["add", str(first), "--case", str(case)]).stderr == NO_TSA_LINE
    result = run_cli(["add", str(again), "--case", str(case)])
    assert result.exit_code == 0 and "file-0002" in result.stdout
    assert result.stderr == "note: file-0002 has the same content as file-0001 (recorded again)\n" + NO_TSA_LINE
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "ad.txt").write_text("Nannies wanted, visa paid\n")
    (folder / "new.txt").write_text("something new\n")
    result = run_cli(["add", str(folder), "--case", str(case), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["same_content_as"] == ["file-0001"]
    assert result.stderr == (
        "note: folder-0001: 1 of 2 files have the same content as file-0001 (recorded again)\n" + NO_TSA_LINE
    )
    added = [e["subject"] for e in _rows(case) if e["action"] in ("file.added", "folder.added")]
    assert added == ["file-0001", "file-0002", "folder-0001"]


def test_the_same_url_again_and_the_case_region_and_a_timeout_in_minutes(tmp_path: Path, site) -> None:
    case = make_case(tmp_path / "case")
    assert run_cli(["case", "configure", "--region", "DE", "--case", str(case)]).exit_code == 0
    url = site.url("/jobs/domestic-work.html")
    result = run_cli(["capture", url, url, "--timeout", "2m", "--case", str(case), "--json"])
    assert result.exit_code == 0, result.stderr
    assert "note: capture-0002 is the same URL as capture-0001 (recorded again)" in result.stderr.splitlines()
    outcome = json.loads(result.stdout)[0]
    phones = {i["value"] for i in outcome["indicators"] if i["kind"] == "phone"}
    assert "+49301234567" in phones, "Berlin's 030 1234567 read with the case's region DE"
    started = [e for e in _rows(case) if e["action"] == "capture.started"]
    assert [e["details"]["options"]["region"] for e in started] == ["DE", "DE"]
    assert started[0]["details"]["options"]["timeout_ms"] == 120_000
    again = run_cli(["capture", url, "--region", "US", "--case", str(case)])
    assert again.exit_code == 0
    assert "note: capture-0003 is the same URL as capture-0001 (recorded again)" in again.stderr.splitlines()
    assert _rows(case)[-3]["details"]["options"]["region"] == "US", "--region still wins over the case's"


# -- 5. key passphrase -----------------------------------------------------------------------------
SECRET = "correct horse battery staple"


def _protected_case(tmp_path: Path) -> Path:
    made = _proc(
        ["keys", "generate", "--investigator", INVESTIGATOR, "--passphrase"], {"EVIDENCEKIT_KEY_PASSPHRASE": SECRET}
    )
    assert made.returncode == 0 and "protected by a passphrase" in made.stdout, made.stderr
    case = tmp_path / "case"
    args = ["init", str(case), "--case-id", "PW-1", "--title", "t", "--investigator", INVESTIGATOR]
    assert _proc(args, {"EVIDENCEKIT_KEY_PASSPHRASE": SECRET}).returncode == 0
    return case


def test_a_protected_key_is_encrypted_on_disk_and_shown_as_protected(tmp_path: Path) -> None:
    _protected_case(tmp_path)
    pem = next(Path(os.environ["XDG_CONFIG_HOME"]).rglob("default.pem")).read_text()
    assert "ENCRYPTED" in pem and "BEGIN PRIVATE KEY" not in pem
    shown = _proc(["keys", "show"])  # public facts need no passphrase
    assert shown.returncode == 0 and "Protected:    yes (passphrase)" in shown.stdout
    as_json = json.loads(_proc(["keys", "show", "--json"]).stdout)
    assert as_json["protected"] is True and as_json["protection"] == "passphrase"


def test_an_unprotected_key_is_shown_as_not_protected() -> None:
    assert run_cli(["keys", "generate", "--investigator", INVESTIGATOR]).exit_code == 0
    assert "Protected:    no" in run_cli(["keys", "show"]).stdout
    assert json.loads(run_cli(["keys", "show", "--json"]).stdout)["protected"] is False


def test_a_protected_key_unlocks_from_the_environment_or_a_private_file(tmp_path: Path) -> None:
    case = _protected_case(tmp_path)
    letter = tmp_path / "letter.txt"
    letter.write_text("x\n")
    with_env = {"EVIDENCEKIT_KEY_PASSPHRASE": SECRET}
    assert _proc(["add", str(letter), "--case", str(case)], with_env).returncode == 0
    assert _proc(["checkpoint", "--case", str(case)], with_env).returncode == 0
    secret_file = tmp_path / "passphrase"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    from_file = {"EVIDENCEKIT_KEY_PASSPHRASE_FILE": str(secret_file)}
    assert _proc(["checkpoint", "--case", str(case)], from_file, drop=("EVIDENCEKIT_KEY_PASSPHRASE",)).returncode == 0
    assert _proc(["add", str(letter), "--case", str(case)], from_file).returncode == 0
    signed = [e for e in _rows(case) if e["action"] == "checkpoint.signed"]
    assert len(signed) == 5, "init and each command above signed: the key was unlocked every time"
    assert _proc(["ledger", "verify", "--case", str(case)]).returncode == 0


def test_a_protected_key_without_or_with_a_wrong_passphrase_fails_in_one_line(tmp_path: Path) -> None:
    case = _protected_case(tmp_path)
    before = len(_rows(case))
    for reading in (["items"], ["log"], ["ledger", "verify"]):
        assert _proc([*reading, "--case", str(case)]).returncode == 0, "reading needs no passphrase"
    missing = _proc(["checkpoint", "--case", str(case)])
    assert missing.returncode == 2
    _one_line(missing.stderr, "protected by a passphrase", "EVIDENCEKIT_KEY_PASSPHRASE")
    wrong = _proc(["checkpoint", "--case", str(case)], {"EVIDENCEKIT_KEY_PASSPHRASE": "wrong"})
    assert wrong.returncode == 2
    _one_line(wrong.stderr, "wrong passphrase")
    open_file = tmp_path / "passphrase"
    open_file.write_text(SECRET)
    open_file.chmod(0o644)
    shared = _proc(["add", str(open_file), "--case", str(case)], {"EVIDENCEKIT_KEY_PASSPHRASE_FILE": str(open_file)})
    assert shared.returncode == 2
    _one_line(shared.stderr, "open to other users", "chmod 600")
    assert SECRET not in missing.stderr + wrong.stderr + shared.stderr
    assert len(_rows(case)) == before


def test_generate_with_passphrase_needs_a_terminal_or_the_environment() -> None:
    result = _proc(["keys", "generate", "--investigator", INVESTIGATOR, "--passphrase"])
    assert result.returncode == 2 and "EVIDENCEKIT_KEY_PASSPHRASE" in result.stderr
    assert not list(Path(os.environ["XDG_CONFIG_HOME"]).rglob("default.pem"))


def _on_a_terminal(args: list[str], prompts: tuple[bytes, ...]) -> tuple[int, str, bytes]:
    """Run the CLI with a pseudo-terminal as stdin and stderr, typing SECRET after each prompt; returns the
    exit code, stdout and all the terminal showed (prompts, and anything echoed)."""
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCEKIT_KEY_PASSPHRASE")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencekit", *args], stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    seen = b""
    for prompt in prompts:
        while prompt not in seen:
            seen += os.read(master, 1024)
        os.write(master, SECRET.encode() + b"\n")
    out = proc.communicate(timeout=60)[0].decode()
    try:
        while chunk := os.read(master, 1024):
            seen += chunk
    except OSError:  # the terminal closed with the process
        pass
    os.close(master)
    return proc.returncode, out, seen


def test_a_terminal_is_asked_for_the_passphrase_hidden(tmp_path: Path) -> None:
    case = _protected_case(tmp_path)
    code, out, seen = _on_a_terminal(["checkpoint", "--case", str(case)], (b"Passphrase for",))
    assert code == 0 and "Signed checkpoint" in out
    assert SECRET.encode() not in seen, "the passphrase is never echoed"


def test_generate_asks_twice_at_a_hidden_prompt_on_a_terminal(tmp_path: Path) -> None:
    args = ["keys", "generate", "--investigator", INVESTIGATOR, "--passphrase"]
    code, out, seen = _on_a_terminal(args, (b"New key passphrase", b"Repeat for confirmation"))
    assert code == 0 and "protected by a passphrase" in out, seen
    assert SECRET.encode() not in seen
    case = tmp_path / "case"
    args = ["init", str(case), "--case-id", "PW-2", "--title", "t", "--investigator", INVESTIGATOR]
    assert _proc(args, {"EVIDENCEKIT_KEY_PASSPHRASE": SECRET}).returncode == 0
    other = tmp_path / "other"
    refused = _proc(["init", str(other), *args[2:]], {"EVIDENCEKIT_KEY_PASSPHRASE": "nope"})
    assert refused.returncode == 2 and not (other / "case.json").exists()
    _one_line(refused.stderr, "wrong passphrase")


def test_the_library_never_prompts_and_asks_only_for_a_protected_key(tmp_path: Path) -> None:
    from evidencekit.errors import UsageError
    from evidencekit.keys import generate_key, is_protected, load_key

    asked: list[str] = []

    def ask(prompt: str) -> bytes | None:
        asked.append(prompt)
        return SECRET.encode()

    plain = generate_key(tmp_path / "plain", "Jane")
    assert load_key(tmp_path / "plain", passphrase=ask).public == plain.public and asked == []
    locked = generate_key(tmp_path / "locked", "Jane", passphrase=SECRET.encode())
    assert is_protected(tmp_path / "locked") and not is_protected(tmp_path / "plain")
    assert load_key(tmp_path / "locked", passphrase=ask).public == locked.public and len(asked) == 1
    with pytest.raises(UsageError, match="protected by a passphrase"):
        load_key(tmp_path / "locked")
    with pytest.raises(UsageError, match="1 to 1023 bytes"):
        generate_key(tmp_path / "long", "Jane", passphrase=b"x" * 1024)
    with pytest.raises(UsageError, match="wrong passphrase"):
        load_key(tmp_path / "locked", passphrase=lambda _prompt: b"wrong")


# -- 6. per-case settings --------------------------------------------------------------------------
def test_init_with_region_and_timezone_and_times_shown_in_the_case_zone(tmp_path: Path) -> None:
    assert run_cli(["keys", "generate", "--investigator", INVESTIGATOR]).exit_code == 0
    case = tmp_path / "case"
    args = ["init", str(case), "--case-id", "TZ-1", "--title", "t", "--investigator", INVESTIGATOR]
    assert run_cli([*args, "--region", "in", "--timezone", "Asia/Kolkata"]).exit_code == 0
    configured = [e for e in _rows(case) if e["action"] == "case.configured"]
    assert [e["details"] for e in configured] == [{"region": "IN", "timezone": "Asia/Kolkata"}]
    letter = tmp_path / "letter.txt"
    letter.write_text("x\n")
    assert run_cli(["add", str(letter), "--case", str(case)]).exit_code == 0

    def local(recorded: str, zone: str) -> str:
        # The zone's time, with its date when that is not the UTC date (in the evening UTC, India's is tomorrow).
        moment = datetime.strptime(recorded, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=ZoneInfo("UTC"))
        there = moment.astimezone(ZoneInfo(zone))
        shape = "%H:%M:%S %Z" if there.date() == moment.date() else "%Y-%m-%d %H:%M:%S %Z"
        return f"{recorded} ({there.strftime(shape)})"

    added = next(e for e in _rows(case) if e["action"] == "file.added")
    for command in (["log"], ["show", "file-0001"], ["items"]):
        shown = run_cli([*command, "--case", str(case)]).stdout
        assert local(added["time"], "Asia/Kolkata") in shown, (command, shown)
        assert "IST)" in shown

    changed = run_cli(["case", "configure", "--timezone", "America/New_York", "--case", str(case), "--json"])
    assert changed.exit_code == 0
    assert json.loads(changed.stdout)["settings"] == {"region": "IN", "timezone": "America/New_York"}
    assert local(added["time"], "America/New_York") in run_cli(["log", "--case", str(case)]).stdout
    cleared = run_cli(["case", "configure", "--timezone", "none", "--case", str(case), "--json"])
    assert json.loads(cleared.stdout)["settings"] == {"region": "IN", "timezone": None}
    plain = run_cli(["items", "--case", str(case)]).stdout
    assert f"{added['time']}  letter.txt" in plain and "(" not in plain, "UTC only when the case has no zone"
    assert [e["details"] for e in _rows(case) if e["action"] == "case.configured"][-1] == {
        "region": "IN",
        "timezone": None,
    }
    assert run_cli(["ledger", "verify", "--case", str(case)]).exit_code == 0


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--region", "XX", "not a country code"),
        ("--region", "DEU", "not a country code"),
        ("--timezone", "Mars/Olympus_Mons", "not a known time zone"),
        ("--timezone", "../../etc/passwd", "not a known time zone"),
    ],
)
def test_bad_settings_are_one_line_usage_errors(tmp_path: Path, option: str, value: str, fragment: str) -> None:
    case = make_case(tmp_path / "case")
    before = len(_rows(case))
    result = run_cli(["case", "configure", option, value, "--case", str(case)])
    assert result.exit_code == 2
    _one_line(result.stderr, fragment)
    assert len(_rows(case)) == before
    args = ["init", str(tmp_path / "new"), "--case-id", "N-1", "--title", "t", "--investigator", INVESTIGATOR]
    refused = run_cli([*args, option, value])
    assert refused.exit_code == 2 and not (tmp_path / "new" / "case.json").exists()
    _one_line(refused.stderr, fragment)


def test_local_time_beside_utc_carries_its_date_when_the_day_differs() -> None:
    from evidencekit.timefmt import beside_utc

    assert beside_utc("2026-12-02T22:30:00.000001Z", ZoneInfo("Asia/Tokyo")) == (
        "2026-12-02T22:30:00.000001Z (2026-12-03 07:30:00 JST)"
    )
    assert beside_utc("2026-07-01T10:00:00.000000Z", ZoneInfo("Europe/Berlin")) == (
        "2026-07-01T10:00:00.000000Z (12:00:00 CEST)"
    )
    assert beside_utc("2026-07-01T10:00:00.000000Z", None) == "2026-07-01T10:00:00.000000Z"
    assert beside_utc("not a time", ZoneInfo("UTC")) == "not a time"


def test_configure_without_a_setting_is_a_usage_error(case: Path) -> None:
    result = run_cli(["case", "configure", "--case", str(case)])
    assert result.exit_code == 2
    _one_line(result.stderr, "--region", "--timezone")


# -- 7. durations ----------------------------------------------------------------------------------
def test_durations_are_written_and_read_as_30s_10m_6h(case: Path) -> None:
    from evidencekit.cli.capture import Duration
    from evidencekit.timefmt import format_duration

    assert [format_duration(s) for s in (30, 90, 600, 3600, 21600, 2.5)] == ["30s", "90s", "10m", "1h", "6h", "2.5s"]
    read = Duration(1, 3600)
    assert [read.convert(v, None, None) for v in ("90", "90s", "2m", "1m30s", "1h", 45)] == [90, 90, 120, 90, 3600, 45]
    assert "[default: 60s]" in run_cli(["capture", "--help"]).stdout
    for value, fragment in (("banana", "not a duration"), ("0s", "out of range"), ("2h", "1s to 1h")):
        result = run_cli(["capture", "https://example.org/", "--timeout", value, "--case", str(case)])
        assert result.exit_code == 2 and fragment in result.stderr, (value, result.stderr)
