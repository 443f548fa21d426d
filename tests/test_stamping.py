"""Stamping in the case workflows (issue 13): every sealing command sends its newest checkpoint to each
configured Time-Stamping Authority at once, off its critical path, and records what came back after it:
``timestamp.obtained`` (the raw answer stored), ``timestamp.pending`` with the reason, ``timestamp.superseded``
for older pending checkpoints. Real openssl TSAs on loopback (``tsakit``), real SQLite, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from casekit import make_case, run_cli, verify_json
from tsakit import TsaServer, down_url

from evidencekit.hashing import hash_bytes
from evidencekit.ledger.database import Ledger
from evidencekit.timestamps.config import add_authority, remove_authority
from evidencekit.workflows.stamping import NO_AUTHORITY_WARNING, owed_now

FAST = {"EVIDENCEKIT_TSA_TIMEOUT": "3"}


def entries(case: Path, *actions: str):
    with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
        return [e for e in ledger.entries() if not actions or e.action in actions]


def stamps(case: Path, action: str):
    return entries(case, action)


def configure(url: str, name: str, ca_file: Path | None = None) -> None:
    add_authority(dict(os.environ), url, name=name, ca_file=ca_file)


def newest_checkpoint_seq(case: Path) -> int:
    return max(e.seq for e in entries(case, "checkpoint.signed"))


@pytest.fixture
def case(tmp_path):
    return make_case(tmp_path / "case")


def test_two_tsas_answering_give_two_obtained_entries_over_the_commands_own_checkpoint(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa") as rsa, TsaServer(tsa_pki, kind="ecdsa") as ecdsa:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        configure(ecdsa.url, "ec-tsa", ecdsa.ca_file)
        done = run_cli(["--case", str(case), "note", "seen on the site"], env=FAST)
        assert done.exit_code == 0, done.stderr
        assert NO_AUTHORITY_WARNING not in done.stderr
        assert len(rsa.queries) == 1 and len(ecdsa.queries) == 1
    obtained = stamps(case, "timestamp.obtained")
    assert sorted(e.details["tsa"]["name"] for e in obtained) == ["ec-tsa", "rsa-tsa"]
    checkpoint = newest_checkpoint_seq(case)
    note_checkpoint = max(e.seq for e in obtained)
    # The note's own checkpoint, the newest one before the stamps (which stand unsigned after it).
    assert all(e.details["checkpoint_seq"] == checkpoint for e in obtained)
    assert all(e.seq > checkpoint for e in obtained) and note_checkpoint > checkpoint
    for entry in obtained:
        d = entry.details
        assert d["parsed"] is True and d["gen_time"] and d["serial_number"] and d["nonce"]
        assert d["accuracy_seconds"] in ("1", "1.5")
        assert d["hash_algorithm"] == "sha256" and d["imprint"].startswith("sha256:")
        assert len(d["certificates"]) >= 1
        assert entry.artefacts[0].name == "timestamp.tsr"
        assert d["clock_flagged"] is False, d  # the same machine's clock
        assert abs(float(d["clock_offset_seconds"])) < 2
        assert float(d["round_trip_seconds"]) < 3
        stored = case / "objects" / entry.artefacts[0].digests.blake3[:2] / entry.artefacts[0].digests.blake3
        assert hash_bytes(stored.read_bytes()) == entry.artefacts[0].digests
    assert not stamps(case, "timestamp.pending")


def test_ledger_verify_establishes_the_tsa_only_with_its_roots(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        assert run_cli(["--case", str(case), "note", "one"], env=FAST).exit_code == 0
    code, report = verify_json(case)
    assert code == 0 and report["ok"], report
    # the timestamp entries after the newest checkpoint stand unsigned by design: no advice to sign them
    assert "ledger.unsigned_tail" not in [w["code"] for w in report["warnings"]]
    [verdict] = report["timestamps"]
    assert verdict["intact"] and not verdict["established"]
    assert verdict["verdict"] == "token intact, TSA not established (give --tsa-roots)"
    text = run_cli(["--case", str(case), "ledger", "verify"])
    assert "token intact, TSA not established (give --tsa-roots)" in text.stdout
    given = run_cli(["--case", str(case), "ledger", "verify", "--tsa-roots", str(tsa_pki.root_pem)])
    assert given.exit_code == 0, given.stdout
    assert "valid, TSA established" in given.stdout
    assert "from rsa-tsa over the checkpoint at seq" in given.stdout


def test_a_tsa_that_is_down_leaves_the_checkpoint_pending_and_the_command_succeeds(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa") as rsa, down_url() as dead:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        configure(dead, "dead-tsa")
        done = run_cli(["--case", str(case), "note", "x"], env=FAST)
        assert done.exit_code == 0, done.stderr
    [pending] = stamps(case, "timestamp.pending")
    assert pending.details["tsa"]["name"] == "dead-tsa"
    assert "refused" in pending.details["reason"]
    assert pending.details["requested"] is not None
    assert [e.details["tsa"]["name"] for e in stamps(case, "timestamp.obtained")] == ["rsa-tsa"]
    [said] = done.stderr.splitlines()  # the investigator hears of it at once, in one line
    assert said.startswith("warning: no timestamp from dead-tsa for this command's checkpoint: ")
    assert "refused" in said and "`evidencekit timestamp`" in said
    code, report = verify_json(case)
    assert code == 0, report


@pytest.mark.parametrize(
    ("kind", "mode", "said"),
    [
        ("rsa", "garbage", "garbage"),
        ("rsa", "wrong-nonce", "nonce"),
        ("rsa", "wrong-imprint", "imprint"),
        ("rsa", "error", "HTTP 500"),
        ("no-eku", "ok", "extended key usage"),
        ("expired", "ok", "certificate"),
    ],
)
def test_an_unusable_answer_is_recorded_pending_with_its_reason(case, tsa_pki, kind, mode, said):
    with TsaServer(tsa_pki, kind=kind, mode=mode) as tsa:
        configure(tsa.url, "bad-tsa", tsa.ca_file)
        done = run_cli(["--case", str(case), "note", "x"], env=FAST)
        assert done.exit_code == 0, done.stderr
    [pending] = stamps(case, "timestamp.pending")
    assert said in pending.details["reason"], pending.details["reason"]
    assert not stamps(case, "timestamp.obtained")


def test_a_lax_token_is_kept_byte_for_byte_reported_not_parsed_strictly_and_never_counted(case, tsa_pki):
    with TsaServer(tsa_pki, kind="lax") as lax:
        configure(lax.url, "lax-tsa", lax.ca_file)
        assert run_cli(["--case", str(case), "note", "x"], env=FAST).exit_code == 0
        answer = lax.answers[-1]
    [obtained] = stamps(case, "timestamp.obtained")
    assert obtained.details["parsed"] is False and obtained.details["gen_time"] is None
    assert obtained.details["problem"]
    assert obtained.artefacts[0].digests == hash_bytes(answer)
    code, report = verify_json(case)
    assert code == 0, report
    [verdict] = report["timestamps"]
    assert verdict["verdict"] == "stored, not parsed strictly" and not verdict["intact"]
    assert [w["code"] for w in report["warnings"] if w["code"].startswith("timestamp")] == ["timestamp.unparsed"]
    shown = run_cli(["--case", str(case), "show", "file-0001"])
    assert shown.exit_code == 2  # no such item: the case holds only notes
    added = tmp_file(case.parent, "a.txt")
    assert run_cli(["--case", str(case), "add", str(added)], env=FAST).exit_code == 0
    shown = run_cli(["--case", str(case), "show", "file-0001"])
    assert "No independent timestamp covers this item yet" in shown.stdout


def tmp_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text("evidence " + name, encoding="utf-8")
    return path


def test_show_states_the_earliest_independent_time(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa") as rsa, TsaServer(tsa_pki, kind="ecdsa") as ecdsa:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        configure(ecdsa.url, "ec-tsa", ecdsa.ca_file)
        assert run_cli(["--case", str(case), "add", str(tmp_file(case.parent, "a.txt"))], env=FAST).exit_code == 0
    shown = run_cli(["--case", str(case), "show", "file-0001"])
    earliest = min(e.details["gen_time"] for e in stamps(case, "timestamp.obtained"))
    assert (
        shown.stdout.strip()
        .splitlines()[-1]
        .startswith(f"Independently timestamped: existed no later than {earliest.replace('.000000Z', 'Z')} (")
    ), shown.stdout
    assert shown.stdout.strip().endswith("2 authorities")


def test_no_timestamp_and_offline_record_pending_offline_without_asking(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        assert run_cli(["--case", str(case), "note", "a", "--no-timestamp"]).exit_code == 0
        assert run_cli(["--case", str(case), "note", "b"], env={"EVIDENCEKIT_OFFLINE": "1"}).exit_code == 0
        assert rsa.queries == []
    pending = stamps(case, "timestamp.pending")
    assert [p.details["reason"] for p in pending] == ["offline", "offline"]
    assert [p.details["requested"] for p in pending] == [None, None]
    # The second command's pending supersedes the first's: only the newest needs a stamp.
    [superseded] = stamps(case, "timestamp.superseded")
    assert superseded.details["checkpoint_seq"] == pending[0].details["checkpoint_seq"]
    assert superseded.details["by_seq"] == pending[1].details["checkpoint_seq"]
    assert superseded.details["tsas"] == ["rsa-tsa"]


def test_pending_checkpoints_are_stamped_by_a_later_command(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        assert run_cli(["--case", str(case), "note", "a", "--no-timestamp"]).exit_code == 0
        assert run_cli(["--case", str(case), "note", "b", "--no-timestamp"]).exit_code == 0
        before = len(entries(case))
        assert run_cli(["--case", str(case), "note", "c"], env=FAST).exit_code == 0
        assert len(rsa.queries) >= 1
    [first_pending, second_pending] = stamps(case, "timestamp.pending")
    obtained = stamps(case, "timestamp.obtained")
    assert obtained and obtained[-1].details["checkpoint_seq"] == newest_checkpoint_seq(case)
    # Each pending checkpoint is resolved: stamped itself (the later open asked for it at once) or superseded
    # by the newer one stamped, for that TSA.
    superseded = {
        (s.details["checkpoint_seq"], t) for s in stamps(case, "timestamp.superseded") for t in s.details["tsas"]
    }
    got = {(o.details["checkpoint_seq"], o.details["tsa"]["name"]) for o in obtained}
    for pending in (first_pending, second_pending):
        assert (pending.details["checkpoint_seq"], "rsa-tsa") in superseded | got
    assert (first_pending.details["checkpoint_seq"], "rsa-tsa") in superseded  # the second note's superseded it
    with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
        assert owed_now(ledger).pending == {"rsa-tsa": {}}
    # Nothing recorded before was changed: the first entries are byte for byte what they were.
    assert len(entries(case)) > before
    code, report = verify_json(case)
    assert code == 0, report


def test_the_timestamp_command_completes_pending_and_says_so_per_tsa(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa") as rsa, down_url() as dead:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        configure(dead, "dead-tsa")
        assert run_cli(["--case", str(case), "note", "a", "--no-timestamp"]).exit_code == 0
        pending_seq = newest_checkpoint_seq(case)
        done = run_cli(["--case", str(case), "timestamp"], env=FAST)
        assert done.exit_code == 0, done.stderr
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 2, lines
        assert lines[0].startswith(f"rsa-tsa: timestamp obtained for the checkpoint at seq {pending_seq} (")
        assert lines[1].startswith(f"dead-tsa: the checkpoint at seq {pending_seq} stays pending (")
        assert "refused" in lines[1]
        # Asked again while still down: nothing new recorded for dead-tsa, and it still says so.
        count = len(stamps(case, "timestamp.pending"))
        again = run_cli(["--case", str(case), "timestamp"], env=FAST)
        assert again.exit_code == 0
        assert "rsa-tsa: nothing pending" in again.stdout
        assert f"dead-tsa: the checkpoint at seq {pending_seq} stays pending" in again.stdout
        assert len(stamps(case, "timestamp.pending")) == count
    [obtained] = stamps(case, "timestamp.obtained")
    assert obtained.details["checkpoint_seq"] == pending_seq


def test_without_any_tsa_sealing_commands_warn_once_after_their_output(case, tmp_path):
    done = run_cli(["--case", str(case), "note", "a"])
    assert done.exit_code == 0
    assert done.stderr.splitlines() == [NO_AUTHORITY_WARNING]
    assert not stamps(case, "timestamp.pending")
    shown = run_cli(["--case", str(case), "log"])
    assert NO_AUTHORITY_WARNING not in shown.stderr  # reading commands say nothing
    stamp = run_cli(["--case", str(case), "timestamp"])
    assert stamp.exit_code == 0 and "No Time-Stamping Authority configured" in stamp.stdout


def test_a_slow_tsa_is_waited_for_at_most_the_bound_then_recorded_pending_timeout(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa", delay=4) as slow:
        configure(slow.url, "slow-tsa", slow.ca_file)
        began = time.monotonic()
        done = run_cli(["--case", str(case), "note", "a"], env={"EVIDENCEKIT_TSA_TIMEOUT": "1"})
        took = time.monotonic() - began
        assert done.exit_code == 0, done.stderr
    [pending] = stamps(case, "timestamp.pending")
    assert "timeout" in pending.details["reason"] or "within" in pending.details["reason"], pending.details
    assert took < 1 * 2 + 5 + 3


def test_init_warns_once_without_a_tsa_and_records_pending_offline_with_no_timestamp(tmp_path, tsa_pki):
    assert run_cli(["keys", "generate", "--investigator", "Ana Lima"]).exit_code == 0
    args = ["--case-id", "T-1", "--title", "t", "--investigator", "Ana Lima"]
    bare = run_cli(["init", str(tmp_path / "one"), *args])
    assert bare.exit_code == 0 and bare.stderr.splitlines() == [NO_AUTHORITY_WARNING]
    assert bare.stdout.startswith("Opened case T-1")
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        offline = run_cli(["init", str(tmp_path / "two"), *args, "--no-timestamp"])
        assert offline.exit_code == 0 and offline.stderr == ""
        assert rsa.queries == []
    [pending] = stamps(tmp_path / "two", "timestamp.pending")
    assert pending.details["reason"] == "offline"
    assert pending.details["checkpoint_seq"] == newest_checkpoint_seq(tmp_path / "two")


def test_a_command_that_fails_before_sealing_does_not_wait_for_a_slow_tsa(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa", delay=6) as slow:
        configure(slow.url, "slow-tsa", slow.ca_file)
        assert run_cli(["--case", str(case), "note", "a", "--no-timestamp"]).exit_code == 0
        began = time.monotonic()
        refused = run_cli(
            ["--case", str(case), "note", "b", "--item", "file-0042"], env={"EVIDENCEKIT_TSA_TIMEOUT": "8"}
        )
        took = time.monotonic() - began
    assert refused.exit_code == 2 and "no item 'file-0042'" in refused.stderr
    assert NO_AUTHORITY_WARNING not in refused.stderr
    assert took < 3, took
    assert [p.details["reason"] for p in stamps(case, "timestamp.pending")] == ["offline"]


def test_a_bad_tsa_timeout_is_a_usage_error(case):
    done = run_cli(["--case", str(case), "note", "a"], env={"EVIDENCEKIT_TSA_TIMEOUT": "soon"})
    assert done.exit_code == 2 and "EVIDENCEKIT_TSA_TIMEOUT" in done.stderr
    assert not entries(case, "note.added")


def test_the_timestamp_command_offline_or_for_a_tsa_removed_says_what_stays_pending(case, tsa_pki):
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        configure("http://127.0.0.1:9/gone", "gone-tsa")
        assert run_cli(["--case", str(case), "note", "a", "--no-timestamp"]).exit_code == 0
        seq = newest_checkpoint_seq(case)
        offline = run_cli(["--case", str(case), "timestamp"], env={"EVIDENCEKIT_OFFLINE": "1"})
        assert offline.exit_code == 0
        assert offline.stdout.splitlines() == [
            f"rsa-tsa: the checkpoint at seq {seq} stays pending (offline: not asked)",
            f"gone-tsa: the checkpoint at seq {seq} stays pending (offline: not asked)",
        ]
        assert rsa.queries == []
        remove_authority(dict(os.environ), "gone-tsa")
        done = run_cli(["--case", str(case), "--json", "timestamp"], env=FAST)
        assert done.exit_code == 0, done.stderr
    import json

    said = json.loads(done.stdout)
    assert said["authorities"] == ["rsa-tsa"] and said["asked"] is True
    assert [(o["tsa"], o["obtained"], o["checkpoint_seq"]) for o in said["outcomes"]] == [("rsa-tsa", True, seq)]
    assert said["pending"] == {"gone-tsa": [seq]}
    text = run_cli(["--case", str(case), "timestamp"], env=FAST).stdout
    assert f"gone-tsa: the checkpoint at seq {seq} stays pending (this TSA is no longer configured)" in text


def test_a_clock_two_hours_ahead_is_said_at_once_by_the_command(case, tsa_pki):
    """The command run under faketime +2h, the TSA at the real time: the offset is recorded, flagged, and the
    command says so on stderr in words (ledger verify then names the entries as later than the token)."""
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        configure(rsa.url, "rsa-tsa", rsa.ca_file)
        done = subprocess.run(
            ["faketime", "-f", "+2h", sys.executable, "-m", "evidencekit", "--case", str(case), "note", "ahead"],
            capture_output=True, text=True, timeout=120, env={**os.environ, **FAST},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [token] = stamps(case, "timestamp.obtained")[-1:]
    assert token.details["clock_flagged"] is True
    [said] = [line for line in done.stderr.splitlines() if "clock" in line]
    assert said.startswith("warning: this computer's clock is about 2 h 0 min (")
    assert "ahead of the time of rsa-tsa" in said


def test_a_tsa_configured_for_sha512_gets_sha512_requests_and_its_tokens_verify(case, tsa_pki, tmp_path):
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        added = run_cli(
            ["tsa", "add", rsa.url, "--name", "long-tsa", "--ca-file", str(rsa.ca_file), "--hash", "sha512"]
        )
        assert added.exit_code == 0, added.stderr
        assert run_cli(["--case", str(case), "note", "one"], env=FAST).exit_code == 0
        query = rsa.queries[-1]
    # The request's MessageImprint names SHA-512 (OID 2.16.840.1.101.3.4.2.3) and carries 64 bytes.
    assert bytes.fromhex("0609608648016503040203") in query
    [token] = stamps(case, "timestamp.obtained")
    assert token.details["hash_algorithm"] == "sha512"
    assert token.details["imprint"].startswith("sha512:") and len(token.details["imprint"]) == 7 + 128
    given = run_cli(["--case", str(case), "ledger", "verify", "--tsa-roots", str(tsa_pki.root_pem)])
    assert given.exit_code == 0 and "valid, TSA established" in given.stdout, given.stdout
    listed = run_cli(["tsa", "list"])
    assert "requests: sha512" in listed.stdout
    refused = run_cli(["tsa", "add", "http://127.0.0.1:9/x", "--hash", "md5"])
    assert refused.exit_code == 2
