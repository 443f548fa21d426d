"""Serve the bundled demo site (a fictional suspicious job advertisement) on 127.0.0.1 for a while.

Standard library only, so the demo works wherever evidencekit is installed. The files are read once from
the package through ``importlib.resources`` (an installed wheel or a zip works as well as a checkout) and
served from memory: only those files exist on the site, so nothing else on the disk can be reached.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import PurePosixPath
from typing import Any

from evidencekit.errors import OperationalError

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}
_NOT_FOUND = b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Not found</title></head>" + (
    b"<body><h1>Not found</h1></body></html>"
)
# How long closing waits for connection threads; they are only ever reading a request or writing a small
# file from memory, so this is an upper bound that is not expected to be reached.
_CLOSE_GRACE_SECONDS = 5.0


def demo_site_files() -> dict[str, tuple[str, bytes]]:
    """URL path -> (content type, bytes) for every file of the demo site; ``/`` is the advertisement."""
    files: dict[str, tuple[str, bytes]] = {}

    def collect(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                collect(entry, f"{prefix}{entry.name}/")
                continue
            content_type = _CONTENT_TYPES.get(PurePosixPath(entry.name).suffix)
            if content_type is not None and entry.is_file():
                files[f"{prefix}{entry.name}"] = (content_type, entry.read_bytes())

    site = resources.files("evidencekit.demo").joinpath("site")
    if site.is_dir():
        collect(site, "/")
    if "/index.html" not in files:
        raise OperationalError("the demo site is missing from the installed evidencekit; reinstall evidencekit")
    files["/"] = files["/index.html"]
    return files


class _DemoHandler(BaseHTTPRequestHandler):
    server: _DemoServer
    protocol_version = "HTTP/1.1"
    server_version = "evidencekit-demo"
    timeout = 10

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        found = self.server.files.get(path)
        status, (content_type, body) = (200, found) if found else (404, (_CONTENT_TYPES[".html"], _NOT_FOUND))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the demo runs inside a command whose output belongs to the command."""


class _DemoServer(ThreadingHTTPServer):
    """Keeps its open connections, so closing can hang up on browsers' idle keep-alive connections."""

    daemon_threads = True

    def __init__(self, files: dict[str, tuple[str, bytes]]) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._closing = False
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        super().__init__(("127.0.0.1", 0), _DemoHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self._serve_connection, args=(request, client_address), name="evidencekit-demo-conn", daemon=True
        )
        with self._lock:
            if not self._closing:
                self._workers = {thread for thread in self._workers if thread.is_alive()}
                self._connections.add(request)
                self._workers.add(worker)
                worker.start()
                return
        self.shutdown_request(request)

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: S110 - a browser hanging up mid-response is routine, and the demo must stay quiet
            pass
        finally:
            # Forgotten under the lock before it is closed, so close_all() never shuts down a descriptor
            # number the system has meanwhile given to another socket.
            with self._lock:
                self._connections.discard(request)
            self.shutdown_request(request)

    def close_all(self) -> None:
        """After serve_forever has returned: hang up on every connection, wait for its thread, close."""
        with self._lock:
            self._closing = True
            for connection in self._connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            workers = list(self._workers)
        for worker in workers:
            worker.join(_CLOSE_GRACE_SECONDS)
        self.server_close()


@contextmanager
def serve_demo_site() -> Iterator[str]:
    """Serve the demo site until the ``with`` block ends; yields its base URL, ``http://127.0.0.1:PORT``.

    The advertisement is at the base URL followed by ``/``; its photo at ``/photo.jpg``.
    """
    files = demo_site_files()
    try:
        server = _DemoServer(files)
    except OSError as error:
        raise OperationalError(
            f"cannot start the demo web site on 127.0.0.1: {error.strerror or error}; "
            "check that the loopback network interface is up"
        ) from error
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="evidencekit-demo-site", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.close_all()
