"""Verifying independent time (issue 13): ``ledger verify`` holds every ``timestamp.obtained`` token to the
checkpoint it names and every entry a token covers to the token's time; a capture batch asks the TSAs far
less than once per page. Real openssl TSAs on loopback (``tsakit``), real SQLite, the real CLI and browser."""

from __future__ import annotations

import dataclasses
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from casekit import make_case, run_cli, verify_json
from tsakit import TsaServer, down_url

from evidencekit.hashing import hash_bytes
from evidencekit.ledger.database import Ledger
from evidencekit.ledger.entries import detail_problems
from evidencekit.ledger.rules import CODES, RULES, AuditResult, audit_excerpt, audit_timestamps
from evidencekit.ledger.rules.timestamps import LATE_SLACK
from evidencekit.store import ObjectStore
from evidencekit.timefmt import utc_now
from evidencekit.timestamps.client import ask
from evidencekit.timestamps.config import Authority, add_authority
from evidencekit.workflows import case as case_api
from evidencekit.workflows.opencase import Session
from evidencekit.workflows.stamping import store_tokens

FAST = {"EVIDENCEKIT_TSA_TIMEOUT": "3"}


def entries(case: Path):
    with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
        return list(ledger.entries())


def of(case: Path, action: str):
    return [e for e in entries(case) if e.action == action]


def object_path(case: Path, entry) -> Path:
    digest = entry.artefacts[0].digests.blake3
    return case / "objects" / digest[:2] / digest


@pytest.fixture
def case(tmp_path):
    return make_case(tmp_path / "case")


@pytest.fixture
def stamped(case, tsa_pki):
    """A case whose newest checkpoint two TSAs stamped (each command stamps its own)."""
    with TsaServer(tsa_pki, kind="rsa") as rsa, TsaServer(tsa_pki, kind="ecdsa") as ecdsa:
        add_authority(dict(os.environ), rsa.url, name="rsa-tsa", ca_file=rsa.ca_file)
        add_authority(dict(os.environ), ecdsa.url, name="ec-tsa", ca_file=ecdsa.ca_file)
        assert run_cli(["--case", str(case), "note", "first"], env=FAST).exit_code == 0
        assert run_cli(["--case", str(case), "note", "second"], env=FAST).exit_code == 0
    return case


def test_every_timestamp_rule_and_code_is_named():
    for code in ("timestamp.imprint", "timestamp.signature", "timestamp.eku", "timestamp.certificate",
                 "timestamp.missing", "timestamp.backdated", "timestamp.late", "timestamp.unparsed"):  # fmt: skip
        assert CODES[code] in RULES


def test_two_tsas_verify_ok_and_established_only_with_their_roots(stamped, tsa_pki):
    code, report = verify_json(stamped)
    assert code == 0 and report["ok"], report
    assert len(report["timestamps"]) == 4
    assert all(t["intact"] and not t["established"] for t in report["timestamps"])
    given = run_cli(["--case", str(stamped), "--json", "ledger", "verify", "--tsa-roots", str(tsa_pki.root_pem)])
    assert given.exit_code == 0
    import json

    verdicts = json.loads(given.stdout)["timestamps"]
    assert all(t["established"] and t["verdict"] == "valid, TSA established" for t in verdicts)


def test_tsa_roots_that_are_not_pem_are_a_usage_error(stamped, tmp_path):
    bad = tmp_path / "roots.pem"
    bad.write_text("not a certificate", encoding="utf-8")
    done = run_cli(["--case", str(stamped), "ledger", "verify", "--tsa-roots", str(bad)])
    assert done.exit_code == 2 and "holds no PEM certificate" in done.stderr


def test_a_token_altered_in_the_object_store_is_a_problem(stamped):
    token = of(stamped, "timestamp.obtained")[0]
    path = object_path(stamped, token)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    code, report = verify_json(stamped)
    assert code == 3
    missing = [p for p in report["problems"] if p["code"] == "timestamp.missing"]
    assert [p["seq"] for p in missing] == [token.seq]
    assert "altered" in missing[0]["message"]
    [verdict] = [t for t in report["timestamps"] if t["seq"] == token.seq]
    assert not verdict["intact"]


def test_a_token_removed_from_the_object_store_is_a_problem(stamped):
    token = of(stamped, "timestamp.obtained")[-1]
    object_path(stamped, token).unlink()
    code, report = verify_json(stamped)
    assert code == 3
    assert [(p["code"], p["seq"]) for p in report["problems"] if p["code"].startswith("timestamp")] == [
        ("timestamp.missing", token.seq)
    ]


def test_a_token_over_another_checkpoints_note_is_named_with_both_seqs(stamped):
    """A token swapped between checkpoints: the entry names one checkpoint, its token is over another's note."""
    all_entries = entries(stamped)
    tokens = [e for e in all_entries if e.action == "timestamp.obtained" and e.details["tsa"]["name"] == "rsa-tsa"]
    first, second = tokens[0], tokens[1]
    assert first.details["checkpoint_seq"] != second.details["checkpoint_seq"]
    swapped = dataclasses.replace(second, details={**second.details, "checkpoint_seq": first.details["checkpoint_seq"],
                                                   "tree_size": first.details["tree_size"], "root": first.details["root"]})  # fmt: skip
    # The entry now names the first checkpoint, but its token (its own bytes, as recorded) is over the note
    # of the second one's checkpoint.
    forged = [swapped if e.seq == second.seq else e for e in all_entries]
    result = AuditResult(entries=forged)
    audit_timestamps(result, tokens=store_tokens(ObjectStore(stamped / "objects")))
    [problem] = [p for p in result.problems if p.code == "timestamp.imprint"]
    assert problem.seq == second.seq
    assert f"checkpoint at seq {second.details['checkpoint_seq']}" in problem.message
    assert f"not of the one at seq {first.details['checkpoint_seq']}" in problem.message


def test_in_an_excerpt_without_the_stamped_checkpoint_the_token_rule_is_not_applied(stamped):
    all_entries = entries(stamped)
    token = next(e for e in all_entries if e.action == "timestamp.obtained")
    lines = [e.raw for e in all_entries if e.seq != token.details["checkpoint_seq"]]
    store = ObjectStore(stamped / "objects")
    result = audit_excerpt(lines, signed_size=len(all_entries), where="ledger.jsonl", details=detail_problems,
                           tokens=store_tokens(store))  # fmt: skip
    assert any(n.rule == "timestamp.token" and str(token.seq) in n.reason for n in result.not_applied)
    assert all(v.seq != token.seq for v in result.timestamps)
    assert not [p for p in result.problems if p.code.startswith("timestamp")]


def test_without_tokens_the_rules_say_they_were_not_applied(stamped):
    result = AuditResult(entries=entries(stamped))
    audit_timestamps(result, tokens=None)
    assert {n.rule for n in result.not_applied} == {"timestamp.token", "timestamp.time"}
    assert result.timestamps == [] and result.problems == []


def _ahead(seconds: float):
    return lambda: utc_now() + timedelta(seconds=seconds)


def test_an_entry_recorded_an_hour_after_the_token_that_covers_it_is_backdated(case, tsa_pki):
    """The investigator's clock an hour ahead (or entries forged after the token): every entry the token
    covers that was recorded more than accuracy + 2 s after its genTime is named."""
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        add_authority(dict(os.environ), rsa.url, name="rsa-tsa", ca_file=rsa.ca_file)
        session = Session(case, dict(os.environ), clock=_ahead(3600), tsa_timeout=3)
        note = case_api.add_note(session, "written with the clock an hour ahead")
    [token] = of(case, "timestamp.obtained")
    assert token.details["clock_flagged"] is True
    assert float(token.details["clock_offset_seconds"]) > 3500
    code, report = verify_json(case)
    assert code == 3
    backdated = [p for p in report["problems"] if p["code"] == "timestamp.backdated"]
    assert note.seq in [p["seq"] for p in backdated]
    assert all(p["seq"] < token.details["tree_size"] for p in backdated)
    assert f"token at seq {token.seq}" in backdated[0]["message"]


def test_an_entry_recorded_within_accuracy_plus_two_seconds_after_the_token_is_a_warning(case, tsa_pki):
    # The rsa TSA states 1 s of accuracy: 1.8 s ahead is beyond it and within it plus 2 s.
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        add_authority(dict(os.environ), rsa.url, name="rsa-tsa", ca_file=rsa.ca_file)
        session = Session(case, dict(os.environ), clock=_ahead(1.8), tsa_timeout=3)
        note = case_api.add_note(session, "the clock a second ahead")
    code, report = verify_json(case)
    assert code == 0, report["problems"]
    late = [w for w in report["warnings"] if w["code"] == "timestamp.late"]
    assert note.seq in [w["seq"] for w in late]
    assert " s after the genTime" in late[0]["message"]
    assert timedelta(seconds=2) == LATE_SLACK


def test_a_capture_batch_asks_a_slow_tsa_far_less_than_once_per_page_and_never_fails(case, tsa_pki, site):
    urls = [site.url(f"/?page={i}") for i in range(6)]
    with TsaServer(tsa_pki, kind="rsa", delay=2.0) as slow, down_url() as dead:
        add_authority(dict(os.environ), slow.url, name="slow-tsa", ca_file=slow.ca_file)
        add_authority(dict(os.environ), dead, name="dead-tsa")
        done = run_cli(
            ["--case", str(case), "capture", *urls, "--concurrency", "2"], env={"EVIDENCEKIT_TSA_TIMEOUT": "5"}
        )
        assert done.exit_code == 0, done.stderr
        asked = len(slow.queries)
    completed = of(case, "capture.completed")
    assert len(completed) == len(urls)
    assert 1 <= asked < len(urls) // 2, asked
    # The newest checkpoint of the run was stamped by the slow TSA; the dead one left it pending.
    newest = max(e.seq for e in of(case, "checkpoint.signed"))
    obtained = of(case, "timestamp.obtained")
    assert obtained and obtained[-1].details["checkpoint_seq"] == newest
    pending = [p for p in of(case, "timestamp.pending") if p.details["tsa"]["name"] == "dead-tsa"]
    assert pending and pending[-1].details["checkpoint_seq"] == newest
    code, report = verify_json(case)
    assert code == 0, report["problems"]


def _forged_with(stamped: Path, data: bytes):
    """The case's entries with its first token replaced by ``data`` (the entry's digests made to match, as a
    forger holding the ledger would): only the token's own faults can then be found."""
    all_entries = entries(stamped)
    first = next(e for e in all_entries if e.action == "timestamp.obtained")
    artefact = dataclasses.replace(first.artefacts[0], digests=hash_bytes(data))
    forged = dataclasses.replace(first, artefacts=(artefact,))
    return [forged if e.seq == first.seq else e for e in all_entries], first


@pytest.mark.parametrize(("kind", "code"), [("no-eku", "timestamp.eku"), ("expired", "timestamp.certificate")])
def test_a_token_from_a_tsa_without_the_eku_or_with_an_expired_certificate_is_a_problem(stamped, tsa_pki, kind, code):
    first = next(e for e in entries(stamped) if e.action == "timestamp.obtained")
    note = next(e for e in entries(stamped) if e.seq == first.details["checkpoint_seq"]).details["note"]
    with TsaServer(tsa_pki, kind=kind) as tsa:
        answer = ask(
            Authority("bad", tsa.url, ca_pem=tsa.ca_file.read_bytes()), note.encode(), timeout=5, clock=utc_now
        )
    assert answer.response, answer.reason
    forged, token = _forged_with(stamped, answer.response)
    result = AuditResult(entries=forged)
    audit_timestamps(
        result,
        tokens=lambda e: answer.response if e.seq == token.seq else store_tokens(ObjectStore(stamped / "objects"))(e),
    )
    found = [p for p in result.problems if p.seq == token.seq]
    assert code in [p.code for p in found], found
    [verdict] = [v for v in result.timestamps if v.seq == token.seq]
    assert not verdict.intact and not verdict.established


def test_a_token_whose_signature_was_altered_is_a_problem(stamped):
    store = ObjectStore(stamped / "objects")
    first = next(e for e in entries(stamped) if e.action == "timestamp.obtained")
    data = bytearray(store_tokens(store)(first))
    data[-3] ^= 0x55  # inside the signature value, the last field of the CMS SignerInfo
    forged, token = _forged_with(stamped, bytes(data))
    result = AuditResult(entries=forged)
    audit_timestamps(result, tokens=lambda e: bytes(data) if e.seq == token.seq else store_tokens(store)(e))
    codes = [p.code for p in result.problems if p.seq == token.seq]
    assert codes == ["timestamp.signature"], result.problems


def test_roots_that_the_chain_does_not_reach_leave_the_tsa_not_established(stamped, tmp_path):
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "some other root")])
    now = utc_now()
    cert = (
        cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256())
    )  # fmt: skip
    other = tmp_path / "other.pem"
    other.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    done = run_cli(["--case", str(stamped), "ledger", "verify", "--tsa-roots", str(other)])
    assert done.exit_code == 0, done.stdout
    assert done.stdout.count("token intact, TSA not established (its chain reaches none of the roots given)") == 4
    assert "valid, TSA established" not in done.stdout
