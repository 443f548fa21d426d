"""`ledger verify` and bundle `verify` speak alike (issue 12, finding 7): FAILED for anything wrong, INTACT when
nothing is but no key from outside the case establishes who signed, VERIFIED — signed by NAME (KEY ID) only
when one does: a key given with --key, or (for `ledger verify`) this machine's own investigator key, kept
outside the case, with the keys it replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from casekit import make_case, run_cli

INTACT = "INTACT \N{EM DASH} signer not established (check the key id with --key)"


def _key_id() -> str:
    return str(json.loads(run_cli(["keys", "show", "--json"]).stdout)["key_id"])


def _last_line(args: list[str]) -> tuple[int, str]:
    result = run_cli(args)
    return result.exit_code, result.stdout.splitlines()[-1]


@pytest.fixture
def case(tmp_path: Path) -> Path:
    case = make_case(tmp_path / "case")
    assert run_cli(["--case", str(case), "note", "ad seen on two platforms"]).exit_code == 0
    return case


def test_on_the_investigators_machine_the_own_key_establishes_the_signer(case: Path) -> None:
    key_id = _key_id()
    code, line = _last_line(["--case", str(case), "ledger", "verify"])
    assert code == 0
    assert line == f"VERIFIED \N{EM DASH} signed by Ana Lima ({key_id}, the investigator key of this machine)"
    report = json.loads(run_cli(["--case", str(case), "ledger", "verify", "--json"]).stdout)
    assert report["intact"] is True and report["signer_established"] is True


def test_on_an_examiners_machine_only_key_establishes_the_signer(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id = _key_id()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "examiner"))
    code, line = _last_line(["--case", str(case), "ledger", "verify"])
    assert (code, line) == (0, INTACT)
    report = json.loads(run_cli(["--case", str(case), "ledger", "verify", "--json"]).stdout)
    assert report["intact"] is True and report["signer_established"] is False and report["signer"] is None
    code, line = _last_line(["--case", str(case), "ledger", "verify", "--key", key_id])
    assert (code, line) == (0, f"VERIFIED \N{EM DASH} signed by Ana Lima ({key_id})")
    # The examiner's own key signed nothing here: it establishes nothing, and is no problem either.
    assert run_cli(["keys", "generate", "--investigator", "Examiner"]).exit_code == 0
    assert _last_line(["--case", str(case), "ledger", "verify"]) == (0, INTACT)


def test_after_a_rotation_the_retired_key_still_vouches_for_the_old_checkpoints(case: Path) -> None:
    old = _key_id()
    assert run_cli(["--case", str(case), "keys", "rotate"]).exit_code == 0
    new = _key_id()
    assert new != old
    code, line = _last_line(["--case", str(case), "ledger", "verify"])
    assert code == 0 and line.startswith(f"VERIFIED \N{EM DASH} signed by Ana Lima ({new}"), line
    # Pinned to the original key (as a recipient who learnt it before the rotation would): the new key is
    # one it brought in.
    assert _last_line(["--case", str(case), "ledger", "verify", "--key", old])[1].startswith("VERIFIED")


def test_an_altered_case_fails_even_with_the_signers_key(case: Path, tmp_path: Path) -> None:
    letter = tmp_path / "letter.txt"
    letter.write_text("the recruiter's letter\n", encoding="utf-8")
    assert run_cli(["--case", str(case), "add", str(letter)]).exit_code == 0
    (stored,) = [p for p in (case / "objects").rglob("*") if p.is_file() and not p.name.startswith(".")]
    stored.chmod(0o644)
    stored.write_text("the recruiter's letter, changed\n", encoding="utf-8")
    for args in ([], ["--key", _key_id()]):
        code, line = _last_line(["--case", str(case), "ledger", "verify", *args])
        assert code == 3 and line.startswith("FAILED: "), line
