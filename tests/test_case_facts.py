"""Case facts in a bundle are the ledger's, and `verify` holds every document to them (issue 11, defects 2, 4).

Export takes the case id, title, investigator, agency and case UUID from the ledger's case.opened entry and
refuses a case whose case.json says otherwise; it checks every ledger line it ships against its stored hash
and the chain before signing anything. `verify` checks bag-info.txt, data/VERIFY.txt, the certificate drafts
and data/report/index.html against the case.opened line the bundle carries, even when an insider holding the
investigator's key re-signs the bag after the edit.
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from bundlekit import rebag, write_ledger
from casekit import INVESTIGATOR, drop_triggers, make_case, raw_db, run_cli

from evidencekit.bundle.layout import BUNDLE_SIGNATURE
from evidencekit.bundle.signature import read_statement, statement_body
from evidencekit.keys import keys_dir, load_key
from evidencekit.ledger.notes import sign_note

IMPOSTOR = "Mallory Impostor"
FRE = "data/certificates/FRE-902-14-certification-DRAFT.txt"
BSA = "data/certificates/BSA-2023-s63-certificate-DRAFT.txt"


def _case_with_items(folder: Path) -> Path:
    case = make_case(folder / "case")
    chat = folder / "chat.txt"
    chat.write_text("Recruiter: the visa is free, bring your passport.\n", encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(chat)]).exit_code == 0
    assert run_cli(["--case", str(case), "note", "recruiter's chat", "--item", "file-0001"]).exit_code == 0
    return case


def _log(case: Path) -> str:
    result = run_cli(["--case", str(case), "log", "--json"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _verify(path: Path) -> tuple[int, dict]:
    result = run_cli(["verify", str(path), "--json"])
    return result.exit_code, json.loads(result.stdout)


def _export(case: Path, out: Path, *extra: str):
    return run_cli(["--case", str(case), "export", str(out), "--all", "--no-pdf", *extra])


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """One real case and one exported bundle (folder) for the module, with the key that signed it."""
    folder = tmp_path_factory.mktemp("facts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        case = _case_with_items(folder)
        result = _export(case, folder / "bundle", "--dir")
        assert result.exit_code == 0, result.stderr
        key = load_key(keys_dir(dict(os.environ)))
    return {"bundle": folder / "bundle", "key": key}


@pytest.fixture
def bundle(master, tmp_path):
    out = tmp_path / "bundle"
    shutil.copytree(master["bundle"], out)
    return out


# --- export takes the case facts from the ledger -----------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("investigator", IMPOSTOR), ("title", "Other case"), ("agency", "X")])
def test_export_refuses_a_case_whose_case_json_was_edited(tmp_path, field, value):
    case = _case_with_items(tmp_path)
    path = case / "case.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data[field] = value
    os.chmod(path, 0o644)
    path.write_text(json.dumps(data), encoding="utf-8")
    before = _log(case)
    out = tmp_path / "out" / "bundle.zip"
    out.parent.mkdir()
    result = _export(case, out)
    assert result.exit_code == 3, result.stderr
    assert result.stderr.count("\n") == 1 and field in result.stderr and "ledger verify" in result.stderr
    assert not out.exists() and list(out.parent.iterdir()) == [], "no bundle and no staging folder left"
    assert _log(case) == before, "nothing was recorded"


def test_the_bundle_states_the_case_facts_of_the_ledger(master):
    root = master["bundle"]
    opened = json.loads((root / "data/custody/ledger.jsonl").read_text().splitlines()[0])
    assert opened["action"] == "case.opened" and opened["details"]["case"]["investigator"] == INVESTIGATOR
    assert f"Contact-Name: {INVESTIGATOR}\n" in (root / "bag-info.txt").read_text()
    assert f"\nInvestigator: {INVESTIGATOR}   Agency: (not stated)\n" in (root / "data/VERIFY.txt").read_text()
    fre = " ".join((root / FRE).read_text().split())
    assert f"The investigator of record for the case is {INVESTIGATOR}, [[TO BE COMPLETED: agency]]." in fre
    html = (root / "data/report/index.html").read_text()
    assert f'<th scope="row">Investigator</th><td><bdi>{INVESTIGATOR}</bdi></td>' in html


# --- verify holds every document to the case.opened line ---------------------------------------------------


def _replace(path: Path, pattern: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    changed, count = re.subn(pattern, new, text)
    assert count >= 1, f"{pattern!r} not found in {path.name}"
    path.write_text(changed, encoding="utf-8")


WHERE_THE_INVESTIGATOR_STANDS = {
    "bag-info.txt": (r"Contact-Name: Ana Lima\n", f"Contact-Name: {IMPOSTOR}\n"),
    "data/VERIFY.txt": (r"\nInvestigator: Ana Lima ", f"\nInvestigator: {IMPOSTOR} "),
    FRE: (r"record for the case is(\s+)Ana(\s+)Lima", r"record for the case is\1Mallory\2Impostor"),
    "data/report/index.html": (
        r'<th scope="row">Investigator</th><td><bdi>Ana Lima</bdi>',
        f'<th scope="row">Investigator</th><td><bdi>{IMPOSTOR}</bdi>',
    ),
}


@pytest.mark.parametrize("rel", sorted(WHERE_THE_INVESTIGATOR_STANDS))
def test_investigator_changed_in_one_document_and_resigned_by_an_insider(bundle, master, rel):
    pattern, new = WHERE_THE_INVESTIGATOR_STANDS[rel]
    _replace(bundle / rel, pattern, new)
    rebag(bundle, master["key"])
    code, report = _verify(bundle)
    assert code == 3 and not report["ok"]
    found = [p for p in report["problems"] if p["path"] == rel]
    assert [p["code"] for p in found] == ["casefact.differs"], report["problems"]
    assert "investigator" in found[0]["message"] and rel in found[0]["message"]
    assert [p for p in report["problems"] if p["path"] != rel] == [], "the re-signed bag is otherwise intact"
    text = run_cli(["verify", str(bundle)])
    assert text.exit_code == 3 and "VERIFIED" not in text.stdout.replace("NOT VERIFIED", "")


@pytest.mark.parametrize(
    ("rel", "pattern", "new", "field"),
    [
        (
            "bag-info.txt",
            r"External-Description: Evidence bundle of case TRAF-2026-001 \(Fake au-pair ads\)",
            "External-Description: Evidence bundle of case TRAF-2026-001 (Genuine job ads)",
            "title",
        ),
        (
            "bag-info.txt",
            r"Contact-Name: Ana Lima\n",
            f"Contact-Name: Ana Lima\nContact-Name: {IMPOSTOR}\n",
            "investigator",
        ),
        ("data/VERIFY.txt", r"Case TRAF-2026-001: Fake au-pair ads", "Case TRAF-2026-002: Fake au-pair ads", "case id"),
        (
            FRE,
            r"case(\s+)identifier(\s+)[0-9a-f-]{36}",
            r"case\1identifier\g<2>" + "0" * 8 + "-0000-4000-8000-" + "0" * 12,
            "case UUID",
        ),
        (BSA, r'"Fake(\s+)au-pair(\s+)ads"', r'"Real\1au-pair\2ads"', "title"),
        (
            "data/report/index.html",
            r'<p class="lead"><bdi>Fake au-pair ads</bdi>',
            '<p class="lead"><bdi>Nothing to see</bdi>',
            "title",
        ),
        (
            "data/report/index.html",
            r'<th scope="row">Agency</th>',
            f'<th scope="row">Investigator</th><td><bdi>{IMPOSTOR}</bdi></td></tr><tr><th scope="row">Agency</th>',
            "investigator",
        ),
    ],
)
def test_other_case_facts_changed_or_added(bundle, master, rel, pattern, new, field):
    _replace(bundle / rel, pattern, new)
    rebag(bundle, master["key"])
    code, report = _verify(bundle)
    assert code == 3
    found = [p for p in report["problems"] if p["code"].startswith("casefact.")]
    assert found and all(p["path"] == rel for p in found), report["problems"]
    assert any(field in p["message"] for p in found), found


@pytest.mark.parametrize(
    ("rel", "pattern", "what"),
    [
        ("data/VERIFY.txt", None, "is missing"),
        ("data/report/index.html", r'<tr><th scope="row">Investigator</th><td>.*?</td></tr>', "investigator"),
        ("bag-info.txt", r"Contact-Name: .*\n", "Contact-Name"),
    ],
)
def test_a_statement_of_the_case_removed(bundle, master, rel, pattern, what):
    if pattern is None:
        (bundle / rel).unlink()
    else:
        _replace(bundle / rel, pattern, "")
    rebag(bundle, master["key"])
    code, report = _verify(bundle)
    assert code == 3
    found = [p for p in report["problems"] if p["path"] == rel]
    assert [p["code"] for p in found] == ["casefact.missing"] and what in found[0]["message"], report["problems"]


def test_a_ledger_excerpt_without_its_case_opened_line(bundle, master):
    raws = (bundle / "data/custody/ledger.jsonl").read_bytes().split(b"\n")[:-1]
    assert json.loads(raws[0])["action"] == "case.opened"
    write_ledger(bundle, master["key"], raws[1:])
    code, report = _verify(bundle)
    assert code == 3
    assert any(p["code"] == "casefact.unknown" for p in report["problems"]), report["problems"]


def test_bundle_signature_names_another_case(bundle, master):
    statement = read_statement(bundle)
    origin = statement.origin.replace("TRAF-2026-001", "TRAF-2026-002")
    body = statement_body(bundle, origin, statement.created, statement.items)
    (bundle / BUNDLE_SIGNATURE).write_text(sign_note(body, master["key"]).text(), encoding="utf-8")
    rebag(bundle)
    code, report = _verify(bundle)
    assert code == 3
    assert any(p["code"] == "casefact.differs" and p["path"] == BUNDLE_SIGNATURE for p in report["problems"])


def test_a_clean_bundle_still_verifies(master):
    code, report = _verify(master["bundle"])
    assert code == 0, report["problems"]
    assert any("case facts" in check for check in report["checks"])


def test_awkward_case_facts_verify_clean_and_are_shown_escaped(tmp_path):
    """Markup, quotes, brackets, right-to-left text, runs of spaces and a name long enough to wrap in the
    certificates: what the writer puts in, the verifier finds again."""
    assert run_cli(["keys", "generate", "--investigator", "Ana"]).exit_code == 0
    title = 'Fake <b>ads</b> & "visa" [[TO BE COMPLETED: x]]  offers\n\tשלום عربى \u202eevil ⟨U+0041⟩'
    investigator = "Dr. Ana Maria da Conceição Lima-Fernandes de Albuquerque e Vasconcelos <ana@example.org>"
    case = tmp_path / "case"
    args = ["init", str(case), "--case-id", "C.1", "--title", title, "--investigator", investigator]
    assert run_cli([*args, "--agency", "Polícia  Judiciária & Co"]).exit_code == 0
    (tmp_path / "a.txt").write_text("a\n")
    assert run_cli(["--case", str(case), "add", str(tmp_path / "a.txt")]).exit_code == 0
    out = tmp_path / "bundle.zip"
    result = _export(case, out)
    assert result.exit_code == 0, result.stderr
    code, report = _verify(out)
    assert code == 0, report["problems"]


# --- export checks every ledger line it ships --------------------------------------------------------------


def test_export_refuses_a_ledger_entry_whose_bytes_were_changed(tmp_path):
    case = _case_with_items(tmp_path)
    conn = raw_db(case)
    drop_triggers(conn)
    # An entry before the newest checkpoint: the check made before signing covers only the entries after it.
    seq, raw = conn.execute("SELECT seq, entry FROM entries WHERE action = 'file.added'").fetchone()
    forged = bytes(raw).replace(b"chat.txt", b"chit.txt")
    assert forged != bytes(raw)
    conn.execute("UPDATE entries SET entry = ? WHERE seq = ?", (forged, seq))
    conn.close()
    before = _log(case)
    out = tmp_path / "out" / "bundle.zip"
    out.parent.mkdir()
    result = _export(case, out)
    assert result.exit_code == 3, result.stderr
    assert result.stderr.count("\n") == 1 and f"seq {seq}" in result.stderr and "ledger verify" in result.stderr
    assert not out.exists() and list(out.parent.iterdir()) == []
    after = _log(case)
    assert after == before and "export.created" not in after, "nothing was recorded"
