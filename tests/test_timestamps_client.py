"""Asking local openssl TSAs for tokens (``evidencekit.timestamps.client``): every kind and failure mode of
``tests/tsakit.py`` answered as the issue says, all TSAs at once, bounded by the timeout."""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from tsakit import Pki, TsaServer, down_url

from evidencekit.timefmt import utc_now
from evidencekit.timestamps.client import SLACK, Answer, ask, ask_all
from evidencekit.timestamps.config import Authority
from evidencekit.timestamps.token import read_token

MESSAGE = b"evidencekit checkpoint\n7\nroot\n\n- signature\n"


def trusting(tsa: TsaServer, name: str | None = None) -> Authority:
    return Authority(name or f"{tsa.kind}-{tsa.mode}", tsa.url, ca_pem=tsa.ca_file.read_bytes())


def test_two_tsas_both_answer_in_order_with_the_clock_beside_them(tsa_pki: Pki) -> None:
    with TsaServer(tsa_pki, kind="rsa") as rsa, TsaServer(tsa_pki, kind="ecdsa") as ecdsa:
        answers = ask_all([trusting(ecdsa), trusting(rsa)], MESSAGE, timeout=10, clock=utc_now)
        assert [len(rsa.answers), len(ecdsa.answers)] == [1, 1]
        assert [a.response for a in answers] == [ecdsa.answers[0], rsa.answers[0]]  # byte for byte
    assert [a.authority.name for a in answers] == ["ecdsa-ok", "rsa-ok"]
    for answer in answers:
        assert answer.obtained and answer.reason is None
        assert answer.check is not None and answer.check.intact and answer.check.established
        assert answer.answered is not None and answer.requested <= answer.answered
        facts = answer.check.facts
        assert facts is not None and facts.nonce == answer.nonce
        # the TSA's clock and ours agree here (same machine), within its accuracy and the round trip
        assert facts.accuracy_seconds is not None
        slack = facts.accuracy_seconds + (answer.answered - answer.requested).total_seconds() + 1
        assert answer.requested.timestamp() - slack <= facts.gen_time.timestamp() <= answer.answered.timestamp() + slack


def test_the_query_is_sha256_of_the_message_with_a_nonce_and_cert_req(tsa_pki: Pki, tmp_path: Path) -> None:
    """What was sent, read back by ``openssl ts -query -text`` (not by the library that wrote it)."""
    with TsaServer(tsa_pki) as tsa:
        answer = ask(trusting(tsa), MESSAGE, clock=utc_now)
        (tmp_path / "query.tsq").write_bytes(tsa.queries[0])
    text = subprocess.run(
        ["openssl", "ts", "-query", "-in", "query.tsq", "-text"], cwd=tmp_path, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    assert "Hash Algorithm: sha256" in text
    assert "Certificate required: yes" in text
    nonce = re.search(r"Nonce: (0x[0-9A-Fa-f]+)", text)
    assert nonce is not None and int(nonce.group(1), 16) == answer.nonce
    assert answer.nonce is not None and 0 < answer.nonce < 2**64
    digest = "".join(re.findall(r"^\s*[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]?)+)", text, re.MULTILINE))
    assert digest.replace(" ", "").replace("-", "") == hashlib.sha256(MESSAGE).hexdigest()


@pytest.mark.parametrize(
    ("kind", "mode", "reason", "kept"),
    [
        ("rsa", "garbage", r"^the TSA answered garbage \(\d+ bytes that are not an RFC 3161 answer\)$", True),
        ("rsa", "error", r"^the TSA answered HTTP 500$", True),
        ("rsa", "rejection", r"^the TSA did not grant a timestamp \(status rejection: test refused\)$", True),
        ("rsa", "wrong-nonce", r"^the token's nonce is not the one asked", True),
        ("rsa", "wrong-imprint", r"^the token's imprint is not the sha256 of the message", True),
        ("no-eku", "ok", r"^the TSA certificate has no timeStamping extended key usage$", True),
        ("expired", "ok", r"^the TSA certificate was not valid at genTime .* \(after it expired; ", True),
    ],
)
def test_an_unusable_answer_says_why_and_keeps_what_came(
    tsa_pki: Pki, kind: str, mode: str, reason: str, kept: bool
) -> None:
    with TsaServer(tsa_pki, kind=kind, mode=mode) as tsa:
        answer = ask(trusting(tsa), MESSAGE, timeout=10, clock=utc_now)
    assert not answer.obtained
    assert answer.reason is not None and re.search(reason, answer.reason), answer.reason
    assert (answer.response is not None) is kept
    assert answer.answered is not None and answer.nonce is not None


def test_a_tsa_not_established_by_its_anchors_is_untrusted(tsa_pki: Pki) -> None:
    """Without --ca-file the anchors are the system's CA bundle, which does not hold the test root."""
    with TsaServer(tsa_pki) as tsa:
        answer = ask(Authority("public-trust", tsa.url), MESSAGE, clock=utc_now)
    assert (
        answer.reason
        == "untrusted certificate: the TSA's certificate chain does not reach the system CA bundle at genTime"
    )
    assert answer.check is not None and answer.check.intact and not answer.check.established
    assert answer.response is not None and read_token(answer.response).nonce == answer.nonce


def test_a_lax_token_is_obtained_but_not_parsed_strictly(tsa_pki: Pki) -> None:
    with TsaServer(tsa_pki, kind="lax") as tsa:
        answer = ask(trusting(tsa), MESSAGE, clock=utc_now)
        assert answer.response == tsa.answers[0]
    assert answer.obtained and answer.reason is None
    assert answer.check is not None and not answer.check.parsed and not answer.check.intact
    assert answer.check.problems[0].startswith("stored, not parsed strictly: ")


def test_a_tsa_that_is_down_is_said_at_once() -> None:
    with down_url() as url:
        started = time.monotonic()
        answer = ask(Authority("down", url), MESSAGE, timeout=10, clock=utc_now)
    assert time.monotonic() - started < 2
    assert answer.reason == "the TSA refused the connection (nothing listens there: down?)"
    assert answer.response is None and answer.answered is None and answer.check is None


def test_an_unresolvable_host_is_a_reason_not_an_error() -> None:
    answer = ask(Authority("nowhere", "http://tsa.invalid/"), MESSAGE, timeout=5, clock=utc_now)
    assert answer.reason is not None and answer.reason.startswith("the TSA")
    assert answer.response is None


@pytest.mark.parametrize(("mode", "delay"), [("ok", 3.0), ("trickle", 0.0)])
def test_a_slow_or_trickling_tsa_is_bounded_by_the_timeout(tsa_pki: Pki, mode: str, delay: float) -> None:
    with TsaServer(tsa_pki, mode=mode, delay=delay) as tsa, TsaServer(tsa_pki, kind="ecdsa") as quick:
        started = time.monotonic()
        answers = ask_all([trusting(tsa), trusting(quick)], MESSAGE, timeout=1.0, clock=utc_now)
        took = time.monotonic() - started
    assert 0.9 < took <= 1.0 + SLACK
    slow, fast = answers
    assert slow.reason is not None and "timeout" in slow.reason
    assert slow.response is None and slow.answered is None
    assert fast.obtained and fast.check is not None and fast.check.established


def test_all_tsas_are_asked_at_once(tsa_pki: Pki) -> None:
    """Three TSAs answering after 1 s each: together about 1 s, not 3."""
    with (
        TsaServer(tsa_pki, kind="rsa", delay=1.0) as one,
        TsaServer(tsa_pki, kind="ecdsa", delay=1.0) as two,
        TsaServer(tsa_pki, kind="lax", delay=1.0) as three,
        down_url() as down,
    ):
        started = time.monotonic()
        answers = ask_all(
            [trusting(one), trusting(two), Authority("down", down), trusting(three)], MESSAGE, timeout=5, clock=utc_now
        )
        took = time.monotonic() - started
    assert 1.0 <= took < 2.0
    assert [a.obtained for a in answers] == [True, True, False, True]
    assert [a.authority.name for a in answers] == ["rsa-ok", "ecdsa-ok", "down", "lax-ok"]


def test_no_authorities_no_answers() -> None:
    assert ask_all([], MESSAGE, clock=utc_now) == []


def test_the_clock_given_is_the_clock_recorded(tsa_pki: Pki) -> None:
    ticks = iter(datetime.fromisoformat(f"2026-12-03T05:00:0{i}+00:00") for i in range(10))
    with TsaServer(tsa_pki) as tsa:
        answer: Answer = ask(trusting(tsa), MESSAGE, clock=lambda: next(ticks))
    assert answer.requested.isoformat() == "2026-12-03T05:00:00+00:00"
    assert answer.answered is not None and answer.answered.isoformat() == "2026-12-03T05:00:01+00:00"


def test_the_demo_tsa_answers_with_an_established_token(tmp_path: Path) -> None:
    """``make demo`` and the benchmark use ``evidencekit.demo.tsa``; its answers pass the same checks."""
    from evidencekit.demo.tsa import serve_demo_tsa

    with serve_demo_tsa(tmp_path / "demo-tsa") as demo:
        answer = ask(Authority("demo", demo.url, ca_pem=demo.ca_file.read_bytes()), MESSAGE, clock=utc_now)
    assert answer.obtained, answer.reason
    assert answer.check is not None and answer.check.intact and answer.check.established
    assert answer.check.facts is not None and answer.check.facts.accuracy_seconds == 1.0
