"""Run inside a fresh network namespace (``unshare -rn``) by test_capture_private_network.py.

Sets up a "public" address from the documentation range, serves a hostile page there and a private
service on the namespace's loopback (IPv4 and IPv6), runs the real ``evidencekit capture`` CLI against the
hostile pages and writes what happened to a JSON file: the CLI's exit code and output, and every request
the private service received. Nothing here reaches outside the namespace.

    python netns_capture.py OUTPUT.json CASE_DIR [capture options...]
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PUBLIC = "198.51.100.7"  # TEST-NET-2: public as far as any browser can tell, and routed nowhere
PRIVATE_PORT = 9631
HITS: list[str] = []

HOSTILE_PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Hostile page</title></head><body>
<h1>Cheap flights</h1>
<img src="http://127.0.0.1:{PRIVATE_PORT}/img" alt="">
<img src="http://[::1]:{PRIVATE_PORT}/v6" alt="">
<img src="/bounce" alt="">
<iframe src="http://localhost:{PRIVATE_PORT}/frame"></iframe>
<script>fetch('http://127.0.0.1:{PRIVATE_PORT}/fetch', {{mode: 'no-cors'}}).catch(() => 0);</script>
</body></html>"""
NAVIGATING_PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Moves on</title></head><body>
<p>One moment</p><script>location.href = 'http://127.0.0.1:{PRIVATE_PORT}/navigated';</script></body></html>"""
EXEMPT_PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Intranet</title></head><body>
<p>Intranet page</p><img src="http://127.0.0.1:{PRIVATE_PORT}/from-exempt" alt=""></body></html>"""


class Hostile(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/bounce":
            self._redirect(f"http://127.0.0.1:{PRIVATE_PORT}/bounced")
        elif self.path == "/redirects":
            self._redirect(f"http://localhost:{PRIVATE_PORT}/redirected")  # a name: resolved, then judged
        else:
            page = {"/page": HOSTILE_PAGE, "/navigates": NAVIGATING_PAGE}.get(self.path, "<p>nothing</p>")
            self._send(page.encode("utf-8"))

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Private(Hostile):
    def do_GET(self) -> None:
        HITS.append(self.path)
        self._send(EXEMPT_PAGE.encode("utf-8") if self.path == "/exempt" else b"<p>private service</p>")


class Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _network() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # A dummy interface where the kernel has them; else the address on loopback, which routes the same.
    made = subprocess.run(["ip", "link", "add", "ek0", "type", "dummy"], capture_output=True).returncode == 0
    device = "ek0" if made else "lo"
    subprocess.run(["ip", "addr", "add", f"{PUBLIC}/32", "dev", device], check=True)
    if made:
        subprocess.run(["ip", "link", "set", "ek0", "up"], check=True)


def _serve(server: ThreadingHTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    output, case, options = sys.argv[1], sys.argv[2], sys.argv[3:]
    _network()
    _serve(ThreadingHTTPServer((PUBLIC, 80), Hostile))
    _serve(ThreadingHTTPServer(("127.0.0.1", PRIVATE_PORT), Private))
    _serve(Server6(("::1", PRIVATE_PORT), Private))
    urls = [
        f"http://{PUBLIC}/page",
        f"http://{PUBLIC}/navigates",
        f"http://{PUBLIC}/redirects",
        f"http://127.0.0.1:{PRIVATE_PORT}/exempt",
    ]
    command = [sys.executable, "-m", "evidencekit", "--case", case, "capture", *urls, *options]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, env=dict(os.environ), check=False)
    result = {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "hits": HITS}
    with open(output, "w", encoding="utf-8") as stream:
        json.dump(result, stream)


if __name__ == "__main__":
    main()
