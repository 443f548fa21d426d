"""Local Time-Stamping Authorities for the tests: a test PKI made with the ``openssl`` command and
``openssl ts -reply`` behind a loopback HTTP server, in every kind and failure mode the issue names.

    pki = make_pki(folder)                        # one test root CA + a TSA certificate of every kind
    with TsaServer(pki, kind="rsa", mode="ok") as tsa:
        tsa.url, tsa.ca_file                      # the root PEM to trust (``tsa add --ca-file``)
    with down_url() as url: ...                   # connections refused

Kinds (the signer):
- ``rsa``: RSA 2048, ``extendedKeyUsage=critical,timeStamping``, genTime in whole seconds, accuracy 1 s.
- ``ecdsa``: ECDSA P-384, the same EKU, SHA-384 signature, genTime with milliseconds, accuracy 1 s 500 ms.
- ``no-eku``: a certificate without any extended key usage. ``openssl ts -reply`` refuses to sign with it,
  so the server has the ``rsa`` TSA answer and signs that answer's TSTInfo again with ``openssl cms -sign``
  (``-econtent_type`` id-ct-TSTInfo) with the no-EKU certificate: a well-formed token whose only fault is
  the signer's missing timeStamping EKU.
- ``expired``: a certificate issued under ``faketime`` in January 2020 for 30 days; the TSA answers at the
  real time, so the token's genTime is after the certificate expired (signed by a certificate not valid at
  genTime: rfc3161-client's chain check at genTime refuses it). With mode ``past`` the same TSA answers
  with its clock set to 2020-01-10 (faketime): a token made while its certificate was valid, the
  certificate expired since, which is intact and established (RFC 3161 holds a token to genTime).
- ``lax``: the ``rsa`` signer with ``certs=`` in its config (the root and the TSA certificate): openssl
  then writes the token's SET OF certificates unsorted, which the strict DER parser of rfc3161-client
  refuses (some real TSAs do the same). ``openssl ts -verify`` accepts it.

Modes (what the server does with a query): ``ok``; ``garbage`` (200 with junk bytes); ``error`` (HTTP 500);
``rejection`` (a TimeStampResp with status rejection); ``wrong-nonce`` (openssl answers a copy of the query
whose nonce was changed); ``wrong-imprint`` (a copy whose imprint is the SHA-256 of other bytes);
``trickle`` (a valid answer sent one byte every 0.3 s, to test that a slow body is bounded); ``past`` (the
TSA's clock is 2020-01-10, by faketime: genTime lies years before the request). ``delay``
seconds are waited before answering.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

KINDS = ("rsa", "ecdsa", "no-eku", "expired", "lax")
MODES = ("ok", "garbage", "error", "rejection", "wrong-nonce", "wrong-imprint", "trickle", "past")
PAST = "2020-01-10 12:00:00"  # the "past" mode's TSA clock (faketime): inside the expired certificate's validity
ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"
REJECTION_DER = bytes.fromhex("30153013020102300e0c0c") + b"test refused"  # status rejection(2)
GARBAGE = b"<html><body>Service Temporarily Unavailable</body></html>\x00\x01\x02 not DER"

_TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_{kind}

[ tsa_{kind} ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = {digest}
default_policy = 1.3.6.1.4.1.99999.7.1
other_policies = 1.3.6.1.4.1.99999.7.2
digests = sha256, sha384, sha512
accuracy = {accuracy}
clock_precision_digits = {precision}
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
{certs}
"""

_TSA_EXTENSIONS = """\
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_NO_EKU_EXTENSIONS = """\
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_RSA = ("-newkey", "rsa:2048", "-nodes")
_P384 = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes")


def openssl(*args: str, cwd: Path | None = None, data: bytes | None = None, faketime: str | None = None) -> bytes:
    """Run the openssl command (under ``faketime`` when given); its stdout, or an AssertionError with stderr."""
    binary = shutil.which("openssl")
    assert binary is not None, "the tests need the openssl command"
    command = [binary, *args]
    if faketime is not None:
        fake = shutil.which("faketime")
        assert fake is not None, "the tests need the faketime command (Debian package faketime)"
        command = [fake, faketime, *command]
    proc = subprocess.run(command, cwd=cwd, input=data, capture_output=True, check=False)
    assert proc.returncode == 0, f"openssl {' '.join(args[:2])} failed: {proc.stderr.decode(errors='replace')}"
    return proc.stdout


@dataclass(frozen=True)
class Pki:
    """The test PKI: ``root_pem`` (the one root every kind chains to) and a folder per kind holding
    ``tsa.pem``, ``tsa.key``, ``tsa.cnf`` (and for ``lax``, ``chain.pem``)."""

    folder: Path
    root_pem: Path
    root_key: Path

    def kind_dir(self, kind: str) -> Path:
        assert kind in KINDS, f"unknown TSA kind {kind!r}; one of {KINDS}"
        return self.folder / kind

    def signer_pem(self, kind: str) -> Path:
        """The TSA certificate of ``kind`` (for ``no-eku``: the certificate without the EKU)."""
        return self.kind_dir(kind) / "tsa.pem"

    def config(self, kind: str) -> Path:
        """The ``openssl ts`` config answering for ``kind`` (``no-eku``: the rsa one, re-signed after)."""
        return self.kind_dir("rsa" if kind == "no-eku" else kind) / "tsa.cnf"


def make_pki(folder: Path) -> Pki:
    """A test root CA and a TSA certificate of every kind, in ``folder`` (takes a few seconds)."""
    folder.mkdir(parents=True, exist_ok=True)
    # The root is valid from 2019 (made under faketime), so that a token made in 2020 can chain to it.
    openssl("req", "-x509", *_P384, "-keyout", "root.key", "-out", "root.pem", "-days", "7300",
            "-subj", "/O=evidencekit tests/CN=evidencekit test TSA root",
            "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=folder, faketime="2019-12-01 00:00:00")  # fmt: skip
    pki = Pki(folder, folder / "root.pem", folder / "root.key")
    _signer(pki, "rsa", _RSA, _TSA_EXTENSIONS)
    _signer(pki, "ecdsa", _P384, _TSA_EXTENSIONS)
    _signer(pki, "no-eku", _RSA, _NO_EKU_EXTENSIONS)
    _signer(pki, "expired", _RSA, _TSA_EXTENSIONS, faketime="2020-01-01 00:00:00", days="30")
    lax = pki.kind_dir("lax")
    lax.mkdir()
    for name in ("tsa.pem", "tsa.key"):
        shutil.copyfile(pki.kind_dir("rsa") / name, lax / name)
    (lax / "chain.pem").write_bytes(pki.root_pem.read_bytes() + (lax / "tsa.pem").read_bytes())
    for kind in ("rsa", "ecdsa", "expired", "lax"):
        _write_config(pki, kind)
    return pki


def _signer(
    pki: Pki, kind: str, key: tuple[str, ...], extensions: str, *, faketime: str | None = None, days: str = "3650"
) -> None:
    where = pki.kind_dir(kind)
    where.mkdir()
    openssl("req", "-new", *key, "-keyout", "tsa.key", "-out", "tsa.csr",
            "-subj", f"/O=evidencekit tests/CN=evidencekit test TSA {kind}", cwd=where)  # fmt: skip
    (where / "tsa.ext").write_text(extensions, encoding="utf-8")
    openssl("x509", "-req", "-in", "tsa.csr", "-CA", str(pki.root_pem), "-CAkey", str(pki.root_key),
            "-set_serial", str(1000 + KINDS.index(kind)), "-days", days, "-sha256", "-extfile", "tsa.ext",
            "-out", "tsa.pem", cwd=where, faketime=faketime)  # fmt: skip


def _write_config(pki: Pki, kind: str) -> None:
    where = pki.kind_dir(kind)
    (where / "serial").write_text("01\n", encoding="ascii")
    text = _TSA_CONFIG.format(
        kind=kind.replace("-", "_"),
        folder=where,
        digest="sha384" if kind == "ecdsa" else "sha256",
        accuracy="secs:1, millisecs:500" if kind == "ecdsa" else "secs:1",
        precision="3" if kind == "ecdsa" else "0",
        certs="certs = $dir/chain.pem" if kind == "lax" else "",
    )
    (where / "tsa.cnf").write_text(text, encoding="utf-8")


# -- a little DER, only to make the wrong queries and the re-signed answer -----------------------------------


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the DER element at ``at``."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, header start, contents start, end) of each element between ``start`` and ``end``."""
    found = []
    while start < end:
        tag, body, stop = _tlv(data, start)
        found.append((tag, start, body, stop))
        start = stop
    return found


def _header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes([tag, length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size


def altered_query(query: bytes, *, nonce: bool = False, imprint: bool = False) -> bytes:
    """A copy of an RFC 3161 query with its nonce changed (same length) or its imprint replaced by the
    digest of other bytes."""
    _tag, body, end = _tlv(query, 0)
    out = bytearray(query)
    for tag, _head, start, stop in _children(query, body, end):
        if tag == 0x02 and nonce and start > body + 3:  # the INTEGER after the version
            out[stop - 1] ^= 0x01
        if tag == 0x30 and imprint:  # messageImprint: AlgorithmIdentifier, OCTET STRING
            (_a, _ah, _ab, _ae), (_o, _oh, digest_at, digest_end) = _children(query, start, stop)
            length = digest_end - digest_at
            other = hashlib.sha512(b"some other checkpoint").digest()[:length]
            out[digest_at:digest_end] = other
            imprint = False
    return bytes(out)


def _resign(answer: bytes, pki: Pki, kind: str) -> bytes:
    """``answer`` (a granted TimeStampResp) with its TSTInfo signed again by the ``kind`` certificate."""
    _tag, body, end = _tlv(answer, 0)
    (_s, _sh, _sb, _se), (_t, token_at, _tb, token_end) = _children(answer, body, end)
    with _scratch(pki.kind_dir(kind)) as scratch:
        (scratch / "token.der").write_bytes(answer[token_at:token_end])
        tst_info = openssl("cms", "-verify", "-noverify", "-inform", "DER", "-in", "token.der", cwd=scratch)
    return signed_answer(pki, kind, tst_info)


def signed_answer(pki: Pki, kind: str, content: bytes) -> bytes:
    """A granted TimeStampResp whose token is ``content`` (meant to be a DER TSTInfo, but any bytes) signed
    with ``openssl cms -sign`` by the ``kind`` certificate, with eContentType id-ct-TSTInfo."""
    where = pki.kind_dir(kind)
    with _scratch(where) as scratch:
        (scratch / "content.der").write_bytes(content)
        signed = openssl("cms", "-sign", "-binary", "-nodetach", "-nosmimecap", "-econtent_type", ID_CT_TSTINFO,
                         "-md", "sha256", "-signer", str(where / "tsa.pem"), "-inkey", str(where / "tsa.key"),
                         "-in", "content.der", "-outform", "DER", cwd=scratch)  # fmt: skip
    status = bytes.fromhex("3003020100")
    return _header(0x30, len(status) + len(signed)) + status + signed


_SCRATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _scratch(where: Path) -> Iterator[Path]:
    with _SCRATCH_LOCK:
        scratch = where / "scratch"
        scratch.mkdir(exist_ok=True)
        yield scratch


# -- the server -------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        query = self.rfile.read(length)
        self.server.queries.append(query)
        server = self.server
        if server.delay:
            time.sleep(server.delay)
        if server.mode == "error":
            self.send_error(500, "test TSA failure")
            return
        if server.mode == "garbage":
            self._answer(GARBAGE)
            return
        if server.mode == "rejection":
            self._answer(REJECTION_DER)
            return
        if server.mode == "wrong-nonce":
            query = altered_query(query, nonce=True)
        elif server.mode == "wrong-imprint":
            query = altered_query(query, imprint=True)
        with server.lock:  # openssl ts keeps its serial number in a file
            reply = openssl("ts", "-reply", "-config", str(server.pki.config(server.kind)), "-queryfile",
                            "/dev/stdin", cwd=server.pki.config(server.kind).parent, data=query,
                            faketime=PAST if server.mode == "past" else None)  # fmt: skip
            if server.kind == "no-eku":
                reply = _resign(reply, server.pki, "no-eku")
        server.answers.append(reply)
        self._answer(reply, trickle=server.mode == "trickle")

    def _answer(self, body: bytes, *, trickle: bool = False) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            self._send(body, trickle)

    def _send(self, body: bytes, trickle: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not trickle:
            self.wfile.write(body)
            return
        for index in range(len(body)):
            if self.server.stopping.is_set():
                return
            self.wfile.write(body[index : index + 1])
            self.wfile.flush()
            time.sleep(0.3)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, pki: Pki, kind: str, mode: str, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pki, self.kind, self.mode, self.delay = pki, kind, mode, delay
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.queries: list[bytes] = []
        self.answers: list[bytes] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up early (the timeout tests) is expected; the tests assert on answers


class TsaServer:
    """A loopback TSA of one ``kind`` answering in one ``mode`` (see the module's docstring), after
    ``delay`` seconds. ``queries`` and ``answers``: what it received and what openssl answered."""

    def __init__(self, pki: Pki, kind: str = "rsa", mode: str = "ok", delay: float = 0.0) -> None:
        assert kind in KINDS, f"unknown TSA kind {kind!r}; one of {KINDS}"
        assert mode in MODES, f"unknown TSA mode {mode!r}; one of {MODES}"
        self.pki, self.kind, self.mode, self.delay = pki, kind, mode, delay
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the TSA is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}/tsa/{self.kind}"

    @property
    def ca_file(self) -> Path:
        return self.pki.root_pem

    @property
    def queries(self) -> list[bytes]:
        assert self._server is not None
        return self._server.queries

    @property
    def answers(self) -> list[bytes]:
        assert self._server is not None
        return self._server.answers

    def __enter__(self) -> TsaServer:
        self._server = _Server(self.pki, self.kind, self.mode, self.delay)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"test-tsa-{self.kind}", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def down_url() -> Iterator[str]:
    """An ``http://127.0.0.1:PORT/`` where connections are refused: the port is bound (so nobody else takes
    it while the block runs) but never listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/tsa"
