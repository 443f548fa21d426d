"""A throwaway Time-Stamping Authority for `make demo`, on 127.0.0.1 only.

The demo must show an independent timestamp without reaching the Internet, so it makes its own small PKI
with the ``openssl`` command (a root CA and a TSA certificate with the critical timeStamping EKU) in the
demo folder and answers RFC 3161 requests with ``openssl ts -reply``. Its root is a demo root: nobody
else trusts it, and the demo says so. It is never used outside the demo.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from evidencekit.errors import OperationalError

_MAX_QUERY = 64 * 1024  # an RFC 3161 query is a few hundred bytes

_TSA_CONFIG = """\
[ tsa ]
default_tsa = demo_tsa

[ demo_tsa ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

_TSA_EXTENSIONS = """\
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class DemoTsa:
    url: str
    ca_file: Path  # the demo root, for `evidencekit tsa add --ca-file` and `verify --tsa-roots`


def _openssl(*args: str, cwd: Path, data: bytes | None = None) -> bytes:
    binary = shutil.which("openssl")
    if binary is None:
        raise OperationalError("the demo's time-stamping authority needs the openssl command; install openssl")
    proc = subprocess.run([binary, *args], cwd=cwd, input=data, capture_output=True, check=False)
    if proc.returncode != 0:
        raise OperationalError(f"openssl {args[0]} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def make_demo_pki(folder: Path) -> Path:
    """A root CA and a TSA certificate it issued, in ``folder``; returns the openssl ts config file."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
             "-subj", "/O=evidencekit demo/CN=evidencekit demo root (not trusted anywhere)",
             "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=folder)  # fmt: skip
    _openssl("req", "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr",
             "-subj", "/O=evidencekit demo/CN=evidencekit demo time-stamping authority", cwd=folder)  # fmt: skip
    (folder / "tsa.ext").write_text(_TSA_EXTENSIONS, encoding="utf-8")
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
             "-days", "3650", "-extfile", "tsa.ext", "-out", "tsa.pem", cwd=folder)  # fmt: skip
    (folder / "serial").write_text("01\n", encoding="ascii")
    config = folder / "tsa.cnf"
    config.write_text(_TSA_CONFIG.format(folder=folder), encoding="utf-8")
    return config


class _Handler(BaseHTTPRequestHandler):
    server: _TsaServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= _MAX_QUERY or self.headers.get_content_type() != "application/timestamp-query":
            self.send_error(400, "an RFC 3161 query is expected")
            return
        query = self.rfile.read(length)
        if self.server.delay_seconds:
            time.sleep(self.server.delay_seconds)
        with self.server.lock:  # openssl ts keeps its serial number in a file
            try:
                reply = _openssl("ts", "-reply", "-config", str(self.server.config), "-queryfile", "/dev/stdin",
                                 cwd=self.server.config.parent, data=query)  # fmt: skip
            except OperationalError:
                self.send_error(400, "the query was refused")
                return
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo prints its own steps


class _TsaServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: Path, delay_seconds: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.config = config
        self.delay_seconds = delay_seconds
        self.lock = threading.Lock()


@contextmanager
def serve_demo_tsa(folder: Path, *, delay_seconds: float = 0.0) -> Iterator[DemoTsa]:
    """Make the demo PKI in ``folder`` and answer RFC 3161 queries on a loopback port until the block ends,
    each answer ``delay_seconds`` late (the timestamp benchmark's slow authority)."""
    config = make_demo_pki(folder)
    server = _TsaServer(config, delay_seconds)
    thread = threading.Thread(target=server.serve_forever, name="evidencekit-demo-tsa", daemon=True)
    thread.start()
    try:
        yield DemoTsa(f"http://127.0.0.1:{server.server_address[1]}/tsa", folder / "root.pem")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
