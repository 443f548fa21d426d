"""The ledger's vocabulary (evidencekit.ledger.entries): every action of a real case, made with the real CLI,
reads back typed and writes back byte for byte; each action's schema refuses damaged details; an action this
version does not know (written as a newer version or an attacker would) is read, shown and verified."""

import json
import os
import typing
from pathlib import Path

import jsonschema
import pytest
from casekit import INVESTIGATOR, drop_triggers, make_case, raw_db, run_cli, run_subprocess, verify_json
from fixture_site import refused_url
from tsakit import TsaServer

from evidencekit.bundle.documents.facts import custody_facts
from evidencekit.errors import ValidationError
from evidencekit.exif import media_type_of
from evidencekit.hashing import blake3_bytes
from evidencekit.keys import keys_dir, load_key
from evidencekit.ledger import entries as vocabulary
from evidencekit.ledger.database import Ledger
from evidencekit.ledger.entries import (
    DAMAGED_LABEL,
    UNKNOWN_LABEL,
    VOCABULARY,
    CaptureStarted,
    CaseConfigured,
    Damaged,
    FolderAdded,
    FolderFile,
    KeyRegistered,
    Unknown,
    concerned_items,
    detail_problems,
    parse,
    registered_key,
    summary,
)
from evidencekit.ledger.local import LocalStorage
from evidencekit.ledger.merkle import leaf_hash
from evidencekit.models import ACTION_PATTERN, ACTIONS, Actor, Artefact, EntryDraft, LedgerEntry, canonical_json
from evidencekit.schemas import load_schema, schema_dir, schema_problems
from evidencekit.timefmt import format_time, utc_now
from evidencekit.timestamps.config import add_authority
from evidencekit.workflows.opencase import OpenCase, Session, checkpoint_draft, open_case, publish_checkpoints, seal
from evidencekit.workspace import open_workspace

IMAGES = Path(__file__).parent / "data" / "images"
NEWER_ACTION = "watch.scheduled"


# --- one real case holding every action ----------------------------------------------------------------


def _add_folder_and_settings(case_dir: Path, folder: Path) -> None:
    """folder.added and case.configured, drafted by their typed actions and appended in a real transaction
    (the commands that record them are another part of this issue)."""
    with open_case(Session(case_dir, dict(os.environ))) as case:
        files, artefacts = [], []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            digests = case.store.put_file(path)
            name = relative.replace(" ", "_")
            artefacts.append(Artefact(name, "file", media_type_of(case.store.path_for(digests.blake3)), digests))
            files.append(FolderFile(name, relative, format_time(utc_now())))
        with case.ledger.transaction() as txn:
            item_id = txn.next_item_id("folder")
            added = FolderAdded(folder.name, str(folder), tuple(files), note="seized phone export")
            txn.append(added.draft(case.actor, item_id, artefacts))
            txn.append(CaseConfigured("PT", "Europe/Lisbon").draft(case.actor))
            seal(case, txn)
        publish_checkpoints(case, txn)


def _watch_a_page(case: Path, url: str) -> None:
    """A watch (watch.added), one pass of it (its capture observed: observation.recorded), then paused
    (watch.changed)."""
    at = ["--case", str(case)]
    for args in (["watch", "add", url, "--every", "1h"], ["watch", "run", "--now"], ["watch", "pause", "watch-0001"]):
        done = run_cli([*at, *args])
        assert done.exit_code == 0, done.stderr


def _start_a_capture_and_die(case_dir: Path, url: str) -> None:
    """A capture.started whose run then dies: what a killed capture leaves is its lock file, unlocked."""
    with open_case(Session(case_dir, dict(os.environ))) as case:
        with case.ledger.transaction() as txn:
            started = txn.append(CaptureStarted(url, {"concurrency": 1}).draft(case.actor, txn.next_item_id("capture")))
            case.run.claim(started)
        lock, left = case.run.path, case.run.path.read_bytes()
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(left)


@pytest.fixture(scope="module")
def real_case(tmp_path_factory, site, tsa_pki):
    """A case made with the real CLI: files (one with EXIF), a note, a capture that completes and one that
    fails, an export handed to a recipient; then a folder and the case's settings. A local Time-Stamping
    Authority stamps each command's checkpoint; two notes recorded with --no-timestamp leave checkpoints
    pending (the older one superseded by the newer, which the next command stamps). Returns its folder."""
    root = tmp_path_factory.mktemp("vocabulary")
    with pytest.MonkeyPatch.context() as mp, TsaServer(tsa_pki, kind="rsa") as tsa:
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        mp.setenv("EVIDENCEKIT_TSA_TIMEOUT", "5")
        add_authority(dict(os.environ), tsa.url, name="local-tsa", ca_file=tsa.ca_file)
        case = make_case(root / "case")
        chat = root / "chat.txt"
        chat.write_text("Recruiter: bring your passport\n", encoding="utf-8")
        photo = str(IMAGES / "exif_full_gps_north_east.jpg")
        assert run_cli(["--case", str(case), "add", str(chat), photo, "--note", "from the phone"]).exit_code == 0
        assert run_cli(["--case", str(case), "note", "same number", "--item", "file-0001"]).exit_code == 0
        for offline in ("written offline", "written offline again"):
            assert run_cli(["--case", str(case), "note", offline, "--no-timestamp"]).exit_code == 0
        with refused_url() as dead:
            run_cli(["--case", str(case), "capture", site.url("/"), dead, "--timeout", "30"])
        out = root / "bundle.zip"
        exported = run_cli(["--case", str(case), "export", str(out), "--all", "--recipient", "Prosecutor X"])
        assert exported.exit_code == 0, exported.stderr
        folder = root / "phone export"
        (folder / "DCIM").mkdir(parents=True)
        (folder / "DCIM" / "photo 1.jpg").write_bytes((IMAGES / "exif_full_gps_north_east.jpg").read_bytes())
        (folder / "chat.txt").write_text("see you at the airport\n", encoding="utf-8")
        _start_a_capture_and_die(case, site.url("/"))  # the next command records capture.abandoned
        # A crash in the middle of appending the newest note to checkpoints.txt: the next command repairs it.
        checkpoints = case / "checkpoints.txt"
        data = checkpoints.read_bytes()
        checkpoints.write_bytes(data[: data[:-2].rfind(b"\n\n") + 2][:-1])
        _add_folder_and_settings(case, folder)
        # A second investigator's key brought in, then the investigator's own key rotated.
        with pytest.MonkeyPatch.context() as other:
            other.setenv("XDG_CONFIG_HOME", str(root / "second-config"))
            assert run_cli(["keys", "generate", "--investigator", "Bea Second"]).exit_code == 0
            (root / "bea.json").write_text(run_cli(["keys", "show", "--json"]).stdout, encoding="utf-8")
        added = run_cli(["--case", str(case), "keys", "add-investigator", str(root / "bea.json")])
        assert added.exit_code == 0, added.stderr
        rotated = run_cli(["--case", str(case), "keys", "rotate"])
        assert rotated.exit_code == 0, rotated.stderr
        _watch_a_page(case, site.url("/"))  # captured above: the plain capture joins the series
        code, report = verify_json(case)
        assert code == 0 and report["ok"], report
        yield case


@pytest.fixture(scope="module")
def real_entries(real_case):
    with Ledger.open(real_case / "ledger.sqlite", readonly=True) as ledger:
        return list(ledger.entries())


def _first(entries, action):
    return next(e for e in entries if e.action == action)


# --- the list of actions -------------------------------------------------------------------------------


def test_the_vocabulary_is_the_list_of_actions_this_version_writes():
    assert set(VOCABULARY) == ACTIONS == set(typing.get_args(vocabulary.ActionName))
    assert all(ACTION_PATTERN.fullmatch(action) for action in ACTIONS)
    shipped = {p.name.removesuffix(".schema.json") for p in (schema_dir() / "actions").glob("*.schema.json")}
    assert shipped == ACTIONS


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_action_schema_is_a_valid_2020_12_schema(action):
    schema = load_schema(vocabulary.schema_name(action))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://evidencekit.org/schemas/actions/{action}/1.0.0"
    assert schema["properties"]["action"] == {"const": action}


# --- every action of the real case round-trips ------------------------------------------------------------

SUMMARIES = {
    "case.opened": "case TRAF-2026-001 opened",
    "case.configured": "case settings: region PT, time zone Europe/Lisbon",
    "file.added": "file chat.txt",
    "folder.added": "folder phone export (2 files)",
    "note.added": "same number",
    "key.registered": "key {key_id} of Ana Lima",
    "key.rotated": "key {introduced_by} rotated to {key_id} (Ana Lima)",
    "investigator.added": "investigator Bea Second added with key {key_id} (by key {introduced_by})",
    "checkpoint.signed": "signed tree head of {seq} entries",
    "checkpoints.repaired": "interrupted checkpoint append repaired in checkpoints.txt: ",
    "capture.started": "started http://127.0.0.1:",
    "capture.completed": "complete http://127.0.0.1:",
    "capture.failed": "failed http://127.0.0.1:",
    "capture.abandoned": "abandoned: the run that started it (seq ",
    "export.created": "bundle bundle.zip exported with 4 items",
    "custody.transferred": "custody transferred to Prosecutor X (bundle bundle.zip)",
    "timestamp.obtained": "timestamp from local-tsa for the checkpoint of ",
    "timestamp.pending": "timestamp from local-tsa pending for the checkpoint of ",
    "timestamp.superseded": "pending timestamp of the checkpoint of ",
    "analysis.recorded": "links among 4 items: ",
    "watch.added": "watch-0001 watches http://127.0.0.1:",
    "watch.changed": "watch-0001 paused",
    "observation.recorded": "observed online",
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_round_trips_draft_entry_parse_summary(real_entries, action):
    entry = _first(real_entries, action)
    parsed = parse(entry)
    assert type(parsed) is VOCABULARY[action]
    assert parse(entry) is parsed, "read once, then remembered"
    assert detail_problems(entry) == []
    assert parsed.to_details() == entry.details, "the typed details hold everything recorded"
    # Drafted again from its typed form, the entry is the same bytes: the same hash, the same chain.
    draft = parsed.draft(entry.actor, entry.subject, entry.artefacts)
    again = LedgerEntry(
        seq=entry.seq, time=entry.time, tz=entry.tz, actor=draft.actor, action=draft.action, case_id=entry.case_id,
        subject=draft.subject, artefacts=draft.artefacts, details=draft.details, prev=entry.prev,
    )  # fmt: skip
    assert again.raw == entry.raw
    assert vocabulary.draft_problems(draft) == []
    assert parse(LedgerEntry.from_raw(again.raw)) == parsed
    key_id = entry.details["public_key"]["key_id"] if "public_key" in entry.details else ""
    expected = SUMMARIES[action].format(
        key_id=key_id, seq=entry.details.get("tree_size"), introduced_by=entry.details.get("introduced_by")
    )
    assert summary(entry).startswith(expected)


def test_typed_details_of_the_real_case(real_case, real_entries):
    photo = parse(_first([e for e in real_entries if e.subject == "file-0002"], "file.added"))
    assert photo.exif_read and photo.exif["gps"]["latitude"].startswith("52.52") and photo.note == "from the phone"
    chat = parse(_first(real_entries, "file.added"))
    assert not chat.exif_read and chat.exif is None and "exif" not in chat.to_details()
    failed = parse(_first(real_entries, "capture.failed"))
    assert failed.status == "failed" and "refused" in failed.error
    export = _first(real_entries, "export.created")
    assert concerned_items(export) == ("file-0001", "file-0002", "capture-0001", "capture-0002")
    assert concerned_items(_first(real_entries, "note.added")) == ("file-0001",)
    assert concerned_items(_first(real_entries, "case.opened")) == ()
    key = registered_key(_first(real_entries, "key.registered"))
    assert key.key_id == parse(_first(real_entries, "checkpoint.signed")).key_id
    with pytest.raises(ValidationError, match=r"not key\.registered"):
        registered_key(_first(real_entries, "note.added"))


def test_folder_item_is_listed_and_shown_with_its_tree(real_case):
    listed = json.loads(run_cli(["--case", str(real_case), "items", "--json"]).stdout)
    folder = next(i for i in listed if i["item_id"] == "folder-0001")
    assert (folder["kind"], folder["label"], folder["status"], folder["artefacts"]) == (
        "folder", "phone export", "added", 2,
    )  # fmt: skip
    shown = run_cli(["--case", str(real_case), "show", "folder-0001"])
    assert shown.exit_code == 0
    assert "DCIM/photo_1.jpg  image/jpeg" in shown.stdout
    assert "found as DCIM/photo 1.jpg" in shown.stdout
    assert "folder phone export (2 files)" in shown.stdout


# --- each schema refuses damaged details -------------------------------------------------------------------


def _damaged(entry: LedgerEntry, change) -> LedgerEntry:
    value = json.loads(entry.raw)
    change(value)
    return LedgerEntry.from_raw(canonical_json(value))


def _wrong_type_for(spec: dict) -> object:
    allowed = spec.get("type", "string")
    allowed = allowed if isinstance(allowed, list) else [allowed]
    return 12345 if "string" in allowed or "const" in spec or "enum" in spec else "not the right type"


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_action_schema_refuses_a_missing_field_and_a_wrong_type(real_entries, action):
    entry = _first(real_entries, action)
    schema = load_schema(vocabulary.schema_name(action))
    assert schema_problems(vocabulary.schema_name(action), json.loads(entry.raw)) == []
    details_schema = schema["properties"]["details"]
    for field in details_schema["required"]:
        missing = _damaged(entry, lambda v, f=field: v["details"].pop(f))
        assert isinstance(parse(missing), Damaged)
        problems = detail_problems(missing)
        assert problems and all(p.startswith(f"{action} entry does not have its recorded form") for p in problems)
        assert any(repr(field) in p for p in problems), problems
        assert summary(missing) == DAMAGED_LABEL
        wrong = _damaged(
            entry, lambda v, f=field: v["details"].update({f: _wrong_type_for(details_schema["properties"][f])})
        )
        assert detail_problems(wrong), f"{action}: {field} of the wrong type was accepted"


def test_a_draft_out_of_form_is_caught_before_it_is_written(real_entries):
    actor = Actor(INVESTIGATOR)
    assert vocabulary.draft_problems(EntryDraft("note.added", actor, details={"txt": "misnamed"}))
    assert vocabulary.draft_problems(CaseConfigured("Portugal", None).draft(actor))
    assert vocabulary.draft_problems(CaseConfigured("PT", None).draft(actor, subject="file-0001"))
    assert vocabulary.draft_problems(CaseConfigured("PT", None).draft(actor)) == []


def test_subject_and_artefacts_are_part_of_an_action_form(real_entries):
    file_added = _first(real_entries, "file.added")
    assert detail_problems(_damaged(file_added, lambda v: v.update(subject=None)))
    assert detail_problems(_damaged(file_added, lambda v: v.update(subject="capture-0001")))
    assert detail_problems(_damaged(file_added, lambda v: v.update(subject="file-0001\n")))
    assert detail_problems(_damaged(file_added, lambda v: v.update(artefacts=[])))
    note = _first(real_entries, "note.added")
    assert detail_problems(_damaged(note, lambda v: v.update(artefacts=file_added.to_dict()["artefacts"])))
    assert detail_problems(_damaged(note, lambda v: v["details"].update(text="  \n ")))


def test_a_folder_whose_file_list_does_not_match_its_artefacts_is_damaged(real_entries):
    folder = _first(real_entries, "folder.added")
    dropped = _damaged(folder, lambda v: v["details"]["files"].pop())
    assert any("exactly once" in p for p in detail_problems(dropped))
    doubled = _damaged(folder, lambda v: v["details"]["files"].append(v["details"]["files"][0]))
    assert detail_problems(doubled)


def test_settings_are_checked_for_form(real_entries):
    configured = _first(real_entries, "case.configured")
    bad_values = [{"region": "pt"}, {"region": "PRT"}, {"region": "PT\n"}, {"timezone": "Europe/Lisbon\n"}]
    for bad in [*bad_values, {"timezone": "Europe/Lisbon; rm -rf"}, {"timezone": ""}]:
        assert detail_problems(_damaged(configured, lambda v, b=bad: v["details"].update(b))), bad
    unset = _damaged(configured, lambda v: v["details"].update(region=None, timezone=None))
    assert detail_problems(unset) == []
    assert summary(unset) == "case settings: region not set, time zone not set"


def test_a_damaged_key_registration_is_refused_by_the_one_key_parser(real_entries):
    registered = _first(real_entries, "key.registered")
    other_key = "A" * 42 + "E="
    forged = _damaged(registered, lambda v: v["details"]["public_key"].update(public_key=other_key))
    assert isinstance(parse(forged), Damaged)
    with pytest.raises(ValidationError, match="unusable"):
        registered_key(forged)
    assert vocabulary.registered_keys([forged, registered]) == {
        registered_key(registered).key_id: registered_key(registered)
    }
    assert isinstance(parse(registered), KeyRegistered)


# --- what this version writes, and what it reads ------------------------------------------------------------


def test_this_version_writes_only_the_actions_it_knows_and_reads_any_well_named_one():
    with pytest.raises(ValidationError, match=r"does not write the ledger action 'watch\.scheduled'"):
        EntryDraft(NEWER_ACTION, Actor(INVESTIGATOR))
    entry = LedgerEntry(
        seq=1, time="2026-12-01T10:00:00.000000Z", tz="UTC UTC+00:00", actor=Actor(INVESTIGATOR), action=NEWER_ACTION,
        case_id="TRAF-1", subject=None, artefacts=(), details={"every": "6h"}, prev="blake3:" + "0" * 64,
    )  # fmt: skip
    assert parse(entry) == Unknown(NEWER_ACTION) and detail_problems(entry) == []
    assert summary(entry) == UNKNOWN_LABEL
    assert schema_problems("ledger-entry", json.loads(entry.raw)) == []
    for bad_name in ("Watch.Scheduled", "watch", "watch scheduled", "watch.scheduled.", "watch.scheduled\n"):
        assert schema_problems("ledger-entry", {**json.loads(entry.raw), "action": bad_name})
        with pytest.raises(ValidationError, match=r"noun\.past-participle"):
            LedgerEntry.from_raw(canonical_json({**json.loads(entry.raw), "action": bad_name}))


def _append_raw(case: Path, action: str, subject: str | None, details: dict) -> int:
    """Append an entry straight into the SQLite file with a correct chain, as a newer version (or an attacker
    with file access) would: the right seq, prev = the leaf hash before, the leaf hash stored beside it."""
    conn = raw_db(case)
    seq, last_leaf = conn.execute("SELECT seq, leaf_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    case_id = json.loads((case / "case.json").read_text())["case_id"]
    value = {
        "v": 1, "seq": seq + 1, "time": format_time(utc_now()), "tz": "UTC UTC+00:00",
        "actor": {"name": "Bea Newer", "key_id": None}, "action": action, "case_id": case_id, "subject": subject,
        "artefacts": [], "details": details, "prev": "blake3:" + last_leaf,
    }  # fmt: skip
    raw = canonical_json(value)
    conn.execute(
        "INSERT INTO entries (seq, action, subject, entry, leaf_hash) VALUES (?, ?, ?, ?, ?)",
        (seq + 1, action, subject, raw, leaf_hash(blake3_bytes, raw).hex()),
    )
    conn.close()
    return seq + 1


@pytest.fixture
def case_with_newer_entry(tmp_path):
    case = make_case(tmp_path / "case")
    chat = tmp_path / "chat.txt"
    chat.write_text("hello\n", encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(chat)]).exit_code == 0
    seq = _append_raw(case, NEWER_ACTION, "file-0001", {"every": "6h", "url": "https://example.org/ad"})
    _seal_as_a_newer_version(case)
    return case, seq


def _seal_as_a_newer_version(case: Path) -> None:
    """A newer version seals its own entries as this one does: a checkpoint by the investigator's key, in the
    ledger, checkpoints.txt and the witness copy."""
    workspace = open_workspace(case)
    info = workspace.read_info()
    key = load_key(keys_dir(os.environ))
    storage = LocalStorage().open(workspace, info, dict(os.environ), clock=utc_now, readonly=False)
    actor = Actor(key.investigator, key.public.key_id)
    opened = OpenCase(workspace, info, storage.ledger, storage.store, actor, key, storage.checkpoints, storage.witness)
    with opened:
        with opened.ledger.transaction() as txn:
            txn.append(checkpoint_draft(info, actor, opened.ledger.tree(), key))
        publish_checkpoints(opened, txn)


def test_an_unknown_action_is_read_listed_shown_and_verified_never_dropped(case_with_newer_entry, tmp_path):
    case, seq = case_with_newer_entry
    logged = run_subprocess(["--case", str(case), "log"])
    assert logged.returncode == 0, logged.stderr
    line = next(line for line in logged.stdout.splitlines() if line.split()[0] == str(seq))
    assert NEWER_ACTION in line and "file-0001" in line and "Bea Newer" in line
    assert line.endswith(UNKNOWN_LABEL)
    as_json = json.loads(run_cli(["--case", str(case), "log", "--json"]).stdout)
    assert as_json[seq]["action"] == NEWER_ACTION and as_json[seq]["details"]["every"] == "6h"
    shown = run_cli(["--case", str(case), "show", "file-0001"])
    assert NEWER_ACTION in shown.stdout and UNKNOWN_LABEL in shown.stdout

    code, report = verify_json(case)
    assert code == 0 and report["ok"], report["problems"]
    assert report["entries"] == seq + 2, "the unknown entry is counted in the tree (and the newer version's seal)"
    assert report["warnings"] == []

    # A checkpoint signs the tree with the unknown entry in it; the bundle carries it and verifies.
    assert run_cli(["--case", str(case), "checkpoint"]).exit_code == 0
    code, report = verify_json(case)
    assert code == 0 and report["ok"] and report["entries"] == seq + 3 and not report["warnings"], report
    out = tmp_path / "bundle"
    assert run_cli(["--case", str(case), "export", str(out), "--item", "file-0001", "--dir"]).exit_code == 0
    carried = [json.loads(line) for line in (out / "data/custody/ledger.jsonl").read_text().splitlines()]
    assert NEWER_ACTION in [e["action"] for e in carried]
    assert UNKNOWN_LABEL in (out / "data/report/index.html").read_text(encoding="utf-8")
    verified = run_cli(["verify", str(out), "--json"])
    assert verified.exit_code == 0, verified.stdout


def test_an_unknown_entry_is_held_to_the_generic_rules(case_with_newer_entry):
    case, seq = case_with_newer_entry
    assert run_cli(["--case", str(case), "checkpoint"]).exit_code == 0
    conn = raw_db(case)
    drop_triggers(conn)
    (raw,) = conn.execute("SELECT entry FROM entries WHERE seq = ?", (seq,)).fetchone()
    forged = bytes(raw).replace(b'"every":"6h"', b'"every":"1d"')
    assert forged != bytes(raw)
    conn.execute(
        "UPDATE entries SET entry = ?, leaf_hash = ? WHERE seq = ?",
        (forged, leaf_hash(blake3_bytes, forged).hex(), seq),
    )
    conn.close()
    code, report = verify_json(case)
    assert code == 3
    codes = {(p["code"], p["seq"]) for p in report["problems"]}
    assert ("chain.broken", seq + 1) in codes
    assert any(code == "checkpoint.root_mismatch" for code, _ in codes)


def test_an_unknown_action_left_unsigned_after_the_newest_checkpoint_is_a_problem_and_never_signed(tmp_path):
    """This version cannot tell a newer version's entry from one slipped in: a newer version seals its own
    entries too, so an unsigned one after the newest checkpoint is a problem, and no command signs over it."""
    case = make_case(tmp_path / "case")
    seq = _append_raw(case, NEWER_ACTION, None, {"every": "6h"})
    code, report = verify_json(case)
    assert code == 3
    assert [(p["code"], p["seq"]) for p in report["problems"]] == [("entry.unsealed", seq)]
    refused = run_cli(["--case", str(case), "checkpoint"])
    assert refused.exit_code == 3 and f"seq {seq} ({NEWER_ACTION})" in refused.stderr
    assert len(json.loads(run_cli(["--case", str(case), "log", "--json"]).stdout)) == seq + 1


def test_a_known_action_with_damaged_details_is_shown_as_such(tmp_path):
    case = make_case(tmp_path / "case")
    seq = _append_raw(case, "note.added", None, {"txt": "the field is misnamed"})
    logged = run_cli(["--case", str(case), "log"])
    line = logged.stdout.splitlines()[-1]
    assert line.split()[0] == str(seq) and line.endswith(DAMAGED_LABEL)
    with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
        entry = list(ledger.entries())[-1]
    assert any("'text' is a required property" in p for p in detail_problems(entry))


def test_the_report_custody_table_keeps_unknown_entries(case_with_newer_entry):
    case, seq = case_with_newer_entry
    with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
        rows = custody_facts(list(ledger.entries()))
    assert [r["seq"] for r in rows] == list(range(seq + 2))  # with the newer version's seal
    assert rows[seq]["action"] == NEWER_ACTION and rows[seq]["summary"] == UNKNOWN_LABEL


def test_a_recorded_text_cannot_break_a_log_line(tmp_path):
    case = make_case(tmp_path / "case")
    text = "line one\nline two\r\x1b[31mred\u2028end"
    assert run_cli(["--case", str(case), "note", text]).exit_code == 0
    logged = run_cli(["--case", str(case), "log"]).stdout.splitlines()
    note_line = next(line for line in logged if "note.added" in line)
    assert note_line.endswith(r"line one\nline two\r\x1b[31mred\u2028end"), "controls shown as visible escapes"
    recorded = json.loads(run_cli(["--case", str(case), "log", "--json"]).stdout)
    assert next(e for e in recorded if e["action"] == "note.added")["details"]["text"] == text, "kept as it was"
