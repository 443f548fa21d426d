"""Run inside a fresh network namespace (``unshare -rn``) by test_capture_private_network.py: captures made
through a proxy of the investigator's own, listening on the namespace's loopback.

The "public" site and the private service are netns_capture.py's; the proxy here (HTTP, with Basic
credentials, forwarding plain requests and tunnelling CONNECT) records every request it relays. Writes the
CLI's exit code and output, the private service's hits and the proxy's log to a JSON file.

    python netns_proxy_capture.py OUTPUT.json CASE_DIR URL... [-- capture options...]
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import select
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from netns_capture import HITS, PRIVATE_PORT, PUBLIC, Hostile, Private, Server6, _network, _serve

PROXY_PORT = 8899
PROXY_USER, PROXY_PASSWORD = "proxyUSERn3", "ProxyPWns7731"
RELAYED: list[str] = []


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _allowed(self) -> bool:
        wanted = "Basic " + base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
        if self.headers.get("Proxy-Authorization") == wanted:
            return True
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self) -> None:
        if not self._allowed():
            return
        RELAYED.append(self.path)
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=30)
        headers = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
        upstream.request("GET", (target.path or "/") + (f"?{target.query}" if target.query else ""), headers=headers)
        answer = upstream.getresponse()
        body = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        upstream.close()

    def do_CONNECT(self) -> None:
        if not self._allowed():
            return
        RELAYED.append(f"CONNECT {self.path}")
        host, _, port = self.path.rpartition(":")
        with socket.create_connection((host.strip("[]"), int(port)), timeout=30) as upstream:
            self.send_response(200, "Connection established")
            self.end_headers()
            sockets = [self.connection, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)


def main() -> None:
    output, case = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    urls, options = (rest[: rest.index("--")], rest[rest.index("--") + 1 :]) if "--" in rest else (rest, [])
    _network()
    _serve(ThreadingHTTPServer((PUBLIC, 80), Hostile))
    _serve(ThreadingHTTPServer(("127.0.0.1", PRIVATE_PORT), Private))
    _serve(Server6(("::1", PRIVATE_PORT), Private))
    proxy = ThreadingHTTPServer(("127.0.0.1", PROXY_PORT), Proxy)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    proxy_url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{PROXY_PORT}"
    command = [sys.executable, "-m", "evidencekit", "--case", case, "capture", *urls, "--proxy", proxy_url, *options]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, env=dict(os.environ), check=False)
    result = {
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "hits": HITS,
        "relayed": RELAYED,
    }
    with open(output, "w", encoding="utf-8") as stream:
        json.dump(result, stream)


if __name__ == "__main__":
    main()
