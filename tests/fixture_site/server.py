"""The fixture web site the browser tests capture: a threaded HTTP(S) server on 127.0.0.1.

What it answers is in ``handler.py``; this module runs it, keeps the request log and stops it promptly,
hanging responses and idle keep-alive connections included. The server is quiet: client disconnects and refused certificates are
normal for a site that browsers abandon mid-load, so they are swallowed; any other error in a handler is
kept and raised by ``stop()``, so a bug in the fixture fails the run instead of hiding behind a flaky test.
"""

from __future__ import annotations

import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from .handler import SiteHandler
from .tls import make_self_signed

THREAD_PREFIX = "fixture-site"
POLL_INTERVAL = 0.05


class RequestLog:
    """The (method, path) of every request the server parsed, in arrival order; safe across threads.

    ``path`` is the request target as sent, query string included (``/api/feed?page=2``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[str, str]] = []

    def append(self, item: tuple[str, str]) -> None:
        with self._lock:
            self._items.append(item)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._items)

    def paths(self) -> list[str]:
        return [path for _, path in self.snapshot()]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __getitem__(self, index: int) -> tuple[str, str]:
        with self._lock:
            return self._items[index]

    def __contains__(self, item: object) -> bool:
        with self._lock:
            return item in self._items

    def __repr__(self) -> str:
        return f"RequestLog({self.snapshot()!r})"


class SiteServer(ThreadingHTTPServer):
    """Tracks its connections and their threads, so stop() can close them all and wait for them."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None, verbose: bool) -> None:
        self.tls = tls
        self.verbose = verbose
        self.requests = RequestLog()
        self.stopping = threading.Event()
        self.unexpected_errors: list[str] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        super().__init__(("127.0.0.1", 0), SiteHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            # Wrapping does no I/O; the handshake happens later on the connection's thread.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"{THREAD_PREFIX}-{self.server_address[1]}-connection",
            daemon=True,
        )
        with self._lock:
            refuse = self.stopping.is_set()
            if not refuse:
                # Finished threads are forgotten here, not by themselves: a thread that is still
                # winding down must stay in the set, so close_everything() waits for it too.
                self._workers = {thread for thread in self._workers if thread.is_alive()}
                self._connections.add(request)
                self._workers.add(worker)
                worker.start()
        if refuse:
            self.shutdown_request(request)

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            # Forget the socket before closing it, under the lock, so stop() never shuts down a
            # descriptor number that the system has already handed to another socket.
            with self._lock:
                self._connections.discard(request)
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exception()
        client_went_away = isinstance(error, ConnectionError | TimeoutError | ssl.SSLError)
        if client_went_away or self.stopping.is_set():
            if self.verbose:
                super().handle_error(request, client_address)
            return
        self.unexpected_errors.append("".join(traceback.format_exception(error)))
        if self.verbose:
            super().handle_error(request, client_address)

    def close_everything(self, grace: float) -> list[threading.Thread]:
        """Refuse new work, unblock every connection and wait for their threads; returns those still alive."""
        self.stopping.set()
        with self._lock:
            for connection in self._connections:
                # The plain-socket method on purpose: it only shuts the descriptor down, without the
                # TLS wrapper tearing down its state under a thread that is still reading.
                with suppress(OSError):
                    socket.socket.shutdown(connection, socket.SHUT_RDWR)
            workers = list(self._workers)
        deadline = time.monotonic() + grace
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        self.server_close()
        return [worker for worker in workers if worker.is_alive()]


class FixtureSite:
    """A running fixture site. ``base`` has no trailing slash; ``url("/x")`` joins a path to it."""

    def __init__(self, *, tls: bool = False, verbose: bool = False) -> None:
        self.cert_pem: str | None = None
        self.cert_der: bytes | None = None
        context: ssl.SSLContext | None = None
        if tls:
            with tempfile.TemporaryDirectory(prefix="fixture-site-tls-") as folder:
                material = make_self_signed(Path(folder))
                context = material.server_context()
            self.cert_pem = material.cert_pem
            self.cert_der = material.cert_der
        self._server = SiteServer(context, verbose)
        self.port: int = self._server.server_address[1]
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"{THREAD_PREFIX}-{self.port}-serve",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    @property
    def requests(self) -> RequestLog:
        return self._server.requests

    @property
    def errors(self) -> list[str]:
        """Tracebacks of unexpected handler errors so far (disconnects are not errors)."""
        return list(self._server.unexpected_errors)

    def url(self, path: str) -> str:
        return self.base + (path if path.startswith("/") else "/" + path)

    def stop(self, grace: float = 5.0) -> None:
        """Stop serving, close every connection (hanging ones included) and wait for all threads.

        Raises RuntimeError afterwards if a thread would not end or a handler failed unexpectedly.
        """
        if self._stopped:
            return
        self._stopped = True
        self._server.stopping.set()
        self._server.shutdown()
        self._thread.join(grace)
        stuck = self._server.close_everything(grace)
        problems = [f"{len(stuck)} connection thread(s) still running after {grace:g} s"] if stuck else []
        problems += self._server.unexpected_errors
        if problems:
            raise RuntimeError("the fixture site did not stop cleanly:\n" + "\n".join(problems))

    def __enter__(self) -> FixtureSite:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FixtureSite({self.base!r})"


@contextmanager
def refused_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT/`` where connections are refused.

    The port stays bound, without listening, for the duration: the kernel answers a connection with a
    reset, and no other program can start listening there in the meantime.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}/"
