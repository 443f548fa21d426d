"""Reading and checking RFC 3161 answers offline (``evidencekit.timestamps.token``), on real tokens from
local openssl TSAs of every kind, with ``openssl ts -verify`` as the independent cross-check."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from tsakit import KINDS, REJECTION_DER, Pki, TsaServer, signed_answer

from evidencekit.timefmt import utc_now
from evidencekit.timestamps import _der, signature
from evidencekit.timestamps.client import ask
from evidencekit.timestamps.config import Authority
from evidencekit.timestamps.token import NOT_PARSED, TokenUnparsed, certificates_pem, check_token, read_token

MESSAGE = b"evidencekit checkpoint\n42\nq83X3Zc9zHzR2Wq2YyiTHX3sM6T5ce+6E0hLh/dN/aE=\n\n- note signature\n"


@pytest.fixture(scope="module")
def tokens(tsa_pki: Pki) -> dict[str, tuple[bytes, int | None]]:
    """One answer of every kind over MESSAGE, with the nonce asked."""
    found: dict[str, tuple[bytes, int | None]] = {}
    for kind in KINDS:
        with TsaServer(tsa_pki, kind=kind) as tsa:
            answer = ask(Authority(kind, tsa.url, ca_pem=tsa_pki.root_pem.read_bytes()), MESSAGE, clock=utc_now)
        assert answer.response is not None, answer.reason
        found[kind] = (answer.response, answer.nonce)
    return found


def root(pki: Pki) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pki.root_pem.read_bytes())


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_a_good_token_is_intact_and_established_by_its_root(
    tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki, kind: str
) -> None:
    data, nonce = tokens[kind]
    check = check_token(data, MESSAGE, [root(tsa_pki)], nonce=nonce)
    assert check.parsed and check.intact and check.established, check.problems
    assert check.problems == () and check.kinds == ()
    facts = check.facts
    assert facts is not None
    assert facts.gen_time.tzinfo is not None and facts.gen_time.utcoffset() == timedelta(0)
    assert abs(facts.gen_time - datetime.now(UTC)) < timedelta(minutes=5)
    assert facts.hash_algorithm == "sha256"
    assert facts.imprint == hashlib.sha256(MESSAGE).digest()
    assert facts.nonce == nonce and nonce is not None and nonce > 0
    assert facts.policy == "1.3.6.1.4.1.99999.7.1"
    assert facts.serial_number == format(int(facts.serial_number, 16), "x")
    assert facts.tsa_name == f"CN=evidencekit test TSA {kind},O=evidencekit tests"
    signer = x509.load_der_x509_certificate(facts.certificates[0])
    assert signer.subject.rfc4514_string() == facts.tsa_name
    assert read_token(data) == facts


def test_an_ecdsa_tokens_gen_time_keeps_its_milliseconds(tokens: dict[str, tuple[bytes, int | None]]) -> None:
    """The ECDSA test TSA writes genTime with 3 fraction digits; rfc3161-client drops them, the facts do not."""
    facts = read_token(tokens["ecdsa"][0])
    written = signature.gen_time_text(signature.token_parts(tokens["ecdsa"][0]).tst_info)
    # DER drops trailing zeros of the fraction (and the dot when all are zero: once in a thousand answers)
    digits = written[14:-1].lstrip(".")
    assert written[:14] == facts.gen_time.strftime("%Y%m%d%H%M%S") and len(digits) <= 3
    assert facts.gen_time.microsecond == int((digits + "000")[:3]) * 1000
    assert facts.accuracy_seconds == 1.5
    assert read_token(tokens["rsa"][0]).accuracy_seconds == 1.0


def test_without_anchors_a_good_token_is_intact_but_not_established(
    tokens: dict[str, tuple[bytes, int | None]], tmp_path: Path
) -> None:
    data, _nonce = tokens["rsa"]
    alone = check_token(data, MESSAGE)
    assert alone.intact and not alone.established
    other = _other_root(tmp_path)
    elsewhere = check_token(data, MESSAGE, [other])
    assert elsewhere.intact and not elsewhere.established


def _other_root(folder: Path) -> x509.Certificate:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         "k.pem", "-out", "other.pem", "-days", "30", "-subj", "/CN=another root"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return x509.load_pem_x509_certificate((folder / "other.pem").read_bytes())


@pytest.mark.parametrize("kind", ["rsa", "ecdsa", "lax"])
def test_openssl_ts_verify_accepts_the_tokens_with_the_certificates_they_carry(
    tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki, tmp_path: Path, kind: str
) -> None:
    """The independent cross-check: ``openssl ts -verify -data <message> -in <answer> -CAfile <root>
    -untrusted <certificates_pem>`` accepts our tokens (the lax one too: it is a real token, only not DER)."""
    data, _nonce = tokens[kind]
    (tmp_path / "message").write_bytes(MESSAGE)
    (tmp_path / "answer.tsr").write_bytes(data)
    (tmp_path / "certs.pem").write_bytes(certificates_pem(data))
    assert (tmp_path / "certs.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    verify = ["openssl", "ts", "-verify", "-data", "message", "-in", "answer.tsr", "-CAfile", str(tsa_pki.root_pem)]
    proc = subprocess.run([*verify, "-untrusted", "certs.pem"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr
    (tmp_path / "message").write_bytes(MESSAGE + b"x")
    proc = subprocess.run([*verify, "-untrusted", "certs.pem"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0


def test_the_signer_certificate_comes_first(tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki) -> None:
    pem = certificates_pem(tokens["lax"][0])
    certificates = x509.load_pem_x509_certificates(pem)
    # the lax TSA signs with the rsa certificate and carries it twice (once as signer, once from certs=)
    assert [c.subject.rfc4514_string() for c in certificates] == [
        "CN=evidencekit test TSA rsa,O=evidencekit tests",
        root(tsa_pki).subject.rfc4514_string(),
    ]


def test_another_message_or_nonce_is_a_problem(tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki) -> None:
    data, nonce = tokens["rsa"]
    assert nonce is not None
    other = check_token(data, MESSAGE.replace(b"42", b"43"), [root(tsa_pki)], nonce=nonce)
    assert not other.intact and any("imprint" in p for p in other.problems) and other.kinds == ("imprint",)
    replayed = check_token(data, MESSAGE, [root(tsa_pki)], nonce=nonce + 1)
    assert not replayed.intact and any("nonce" in p for p in replayed.problems) and replayed.kinds == ("nonce",)


def test_an_altered_signature_is_a_problem_and_nothing_is_established(
    tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki
) -> None:
    data, nonce = tokens["rsa"]
    parts = signature.token_parts(data)
    signature_at = parts.signer_info.children()[-1]
    assert signature_at.tag == _der.OCTET_STRING
    altered = bytearray(data)
    altered[signature_at.end - 3] ^= 0x40
    check = check_token(bytes(altered), MESSAGE, [root(tsa_pki)], nonce=nonce)
    assert check.parsed and not check.intact and not check.established
    assert check.problems == ("the signature does not verify with the signer certificate's key",)
    assert check.kinds == ("signature",)


def test_an_altered_tst_info_breaks_the_signed_digest(
    tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki
) -> None:
    """Moving genTime by one second in the token's bytes (a forged time) is caught by the signature."""
    data, nonce = tokens["rsa"]
    written = signature.gen_time_text(signature.token_parts(data).tst_info).encode("ascii")
    later = (datetime.strptime(written.decode(), "%Y%m%d%H%M%SZ") + timedelta(seconds=1)).strftime("%Y%m%d%H%M%SZ")
    altered = data.replace(written, later.encode("ascii"))
    assert altered != data
    check = check_token(altered, MESSAGE, [root(tsa_pki)], nonce=nonce)
    assert check.parsed and not check.intact and not check.established
    assert check.problems == ("the signed message digest is not the digest of the token's TSTInfo",)
    assert check.kinds == ("signature",)


def test_a_signer_without_the_timestamping_eku_is_a_problem(
    tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki
) -> None:
    data, nonce = tokens["no-eku"]
    check = check_token(data, MESSAGE, [root(tsa_pki)], nonce=nonce)
    assert check.parsed and not check.intact and not check.established
    assert check.problems == ("the TSA certificate has no timeStamping extended key usage",)
    assert check.kinds == ("eku",)
    assert check.facts is not None and check.facts.tsa_name == "CN=evidencekit test TSA no-eku,O=evidencekit tests"


def test_a_token_signed_after_its_certificate_expired_is_a_problem(
    tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki
) -> None:
    """The expired TSA's certificate was valid in January 2020 only; it signed at today's genTime: the
    certificate was not valid at genTime, which is what the check says (and the chain check at genTime
    of rfc3161-client refuses it too, so nothing is established)."""
    data, nonce = tokens["expired"]
    check = check_token(data, MESSAGE, [root(tsa_pki)], nonce=nonce)
    assert check.parsed and not check.intact and not check.established
    assert len(check.problems) == 1 and check.kinds == ("certificate",)
    assert check.problems[0].startswith("the TSA certificate was not valid at genTime ")
    # The validity the certificate states (made under faketime from 2020-01-01 00:00:00, so its first second
    # may have passed): the message gives exactly that, to the second.
    cert = x509.load_pem_x509_certificate(tsa_pki.signer_pem("expired").read_bytes())
    begins, ends = cert.not_valid_before_utc, cert.not_valid_after_utc
    assert begins.date().isoformat() == "2020-01-01" and ends - begins == timedelta(days=30)
    valid = f"valid {begins:%Y-%m-%dT%H:%M:%SZ} to {ends:%Y-%m-%dT%H:%M:%SZ}"
    assert f"after it expired; {valid}" in check.problems[0]


def test_a_lax_token_is_stored_not_parsed_strictly(tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki) -> None:
    data, nonce = tokens["lax"]
    check = check_token(data, MESSAGE, [root(tsa_pki)], nonce=nonce)
    assert not check.parsed and not check.intact and not check.established and check.facts is None
    assert check.problems[0].startswith(NOT_PARSED + ": ")
    assert "InvalidSetOrdering" in check.problems[0] and check.kinds == ("unparsed",)
    with pytest.raises(TokenUnparsed, match=NOT_PARSED):
        read_token(data)
    assert signature.looks_granted(data)


def test_a_rejection_holds_no_token(tsa_pki: Pki) -> None:
    check = check_token(REJECTION_DER, MESSAGE, [root(tsa_pki)])
    assert check.parsed and not check.intact and check.facts is None
    assert check.problems == ("the TSA did not grant a timestamp (status rejection: test refused)",)
    assert check.kinds == ("status",)
    with pytest.raises(TokenUnparsed):
        read_token(REJECTION_DER)
    assert not signature.looks_granted(REJECTION_DER)
    assert certificates_pem(REJECTION_DER) == b""


@pytest.mark.parametrize("junk", [b"", b"\x30", b"<html>busy</html>", b"\x30\x03\x02\x01\x00trailing"])
def test_junk_is_not_parsed_and_not_kept_as_a_token(junk: bytes) -> None:
    check = check_token(junk, MESSAGE)
    assert not check.intact and not check.established
    assert not signature.looks_granted(junk)
    assert certificates_pem(junk) == b""


def test_a_granted_answer_without_a_token_is_a_problem_not_a_crash() -> None:
    """rfc3161-client unwraps a missing token with a Rust panic; the check refuses it first."""
    granted_empty = bytes.fromhex("30053003020100")
    check = check_token(granted_empty, MESSAGE)
    assert check.parsed and not check.intact
    assert check.problems == ("the answer says granted but holds no token",)


def test_the_signature_is_checked_with_the_signers_key_only(
    tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki
) -> None:
    """``signature.signature_problem`` holds a token to one certificate's key: the signer's verifies, another
    TSA's (another key, another algorithm) does not."""
    parts = signature.token_parts(tokens["rsa"][0])
    own = x509.load_pem_x509_certificate(tsa_pki.signer_pem("rsa").read_bytes())
    assert signature.signature_problem(parts, own) is None
    other_rsa = x509.load_pem_x509_certificate(tsa_pki.signer_pem("no-eku").read_bytes())
    assert (
        signature.signature_problem(parts, other_rsa)
        == "the signature does not verify with the signer certificate's key"
    )
    ecdsa = x509.load_pem_x509_certificate(tsa_pki.signer_pem("ecdsa").read_bytes())
    assert signature.signature_problem(parts, ecdsa) is not None


@pytest.mark.parametrize(
    "data",
    [b"", b"\x30", b"\x30\x05\x02\x01", b"\x30\x84\xff\xff\xff\xff", b"\x30\x80\x00\x00", b"\x02\x01\x00\x00"],
)
def test_the_der_reader_refuses_what_it_cannot_walk(data: bytes) -> None:
    with pytest.raises(_der.DerError):
        _der.whole(data, _der.SEQUENCE).children()


def test_the_der_reader_reads_object_identifiers() -> None:
    element = _der.read(bytes.fromhex("06092a864886f70d010702"))
    assert _der.oid(element) == signature.ID_SIGNED_DATA
    assert _der.oid(_der.read(bytes.fromhex("0603550403"))) == "2.5.4.3"


def test_a_token_made_while_its_certificate_was_valid_stays_good_after_it_expired(tsa_pki: Pki) -> None:
    """The other side of expiry: the expired TSA answering with its clock in January 2020 (faketime), when
    its certificate was valid. RFC 3161 holds a token to its genTime: intact and established, and genTime
    says plainly that it is years before the request (the clock evidence shows that offset)."""
    with TsaServer(tsa_pki, kind="expired", mode="past") as tsa:
        answer = ask(Authority("past", tsa.url, ca_pem=tsa_pki.root_pem.read_bytes()), MESSAGE, clock=utc_now)
    assert answer.obtained, answer.reason
    check = answer.check
    assert check is not None and check.intact and check.established
    assert check.facts is not None and check.facts.gen_time.date().isoformat() == "2020-01-10"
    assert (answer.requested - check.facts.gen_time).days > 365


def test_a_token_dated_before_its_certificate_was_issued_is_a_problem(tsa_pki: Pki) -> None:
    """The rsa TSA (its certificate issued today) answering with its clock in 2020: not valid at genTime."""
    with TsaServer(tsa_pki, kind="rsa", mode="past") as tsa:
        answer = ask(Authority("early", tsa.url, ca_pem=tsa_pki.root_pem.read_bytes()), MESSAGE, clock=utc_now)
    assert not answer.obtained and answer.check is not None and not answer.check.established
    assert answer.reason is not None and "(before it was valid; valid " in answer.reason
    assert answer.response is not None


def test_a_signed_token_whose_tst_info_is_malformed_is_stored_not_parsed_strictly(tsa_pki: Pki) -> None:
    """A granted answer whose signed content is no TSTInfo: the strict parser refuses it when it reads the
    TSTInfo; it still looks like a granted token, so a client keeps it, never as valid."""
    data = signed_answer(tsa_pki, "rsa", bytes.fromhex("3003020105"))
    check = check_token(data, MESSAGE, [root(tsa_pki)])
    assert not check.parsed and not check.intact and not check.established and check.kinds == ("unparsed",)
    assert check.problems[0].startswith(NOT_PARSED + ": ")
    assert signature.looks_granted(data)
    with pytest.raises(TokenUnparsed):
        read_token(data)


def test_no_single_altered_byte_makes_check_token_fail_or_pass_an_altered_tst_info(
    tokens: dict[str, tuple[bytes, int | None]], tsa_pki: Pki
) -> None:
    """Every byte of a good token altered in turn: check_token always answers (never raises), and whatever
    is altered inside the signed TSTInfo is never intact. (A byte outside it, such as in a carried
    certificate's own signature, may leave the token intact; then it is not established.)"""
    for kind in ("rsa", "ecdsa"):
        data, nonce = tokens[kind]
        content = signature.token_parts(data).tst_info
        start = data.index(content)
        anchors = [root(tsa_pki)]
        for position in range(len(data)):
            altered = bytearray(data)
            altered[position] ^= 0x01
            check = check_token(bytes(altered), MESSAGE, anchors if position % 29 == 0 else (), nonce=nonce)
            assert isinstance(check.problems, tuple) and len(check.kinds) == len(check.problems)
            signature.looks_granted(bytes(altered))
            certificates_pem(bytes(altered))
            if start <= position < start + len(content):
                assert not check.intact, (kind, position)
