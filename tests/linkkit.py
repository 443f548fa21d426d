"""Helpers for the search and links tests: small ad sites served from memory, each on its own loopback
address (127.0.0.N), so that ads of different "sites" have different hosts, as reposted ads do; and a
canonical dump of a derived index."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TYPES = {".html": "text/html; charset=utf-8", ".jpg": "image/jpeg", ".png": "image/png"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        body = self.server.files.get(path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(Path(path).suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    files: Mapping[str, bytes]


@contextmanager
def ad_site(files: Mapping[str, bytes], host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``files`` (URL path -> bytes) on ``host``; yields the base URL (no trailing slash)."""
    server = _Server((host, 0), _Handler)
    server.files = dict(files)
    thread = threading.Thread(target=server.serve_forever, name=f"linkkit-{host}", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def ad_page(title: str, body_html: str, images: list[str] = ()) -> bytes:  # type: ignore[assignment]
    imgs = "".join(f'<p><img src="{src}" alt="photo" width="480"></p>' for src in images)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><main><h1>{title}</h1>{body_html}{imgs}</main></body></html>"
    ).encode()


def jpeg_bytes(path: Path) -> bytes:
    return path.read_bytes()


def dump_index(path: Path) -> dict[str, list[Any]]:
    """The derived tables of an index file, in a canonical order (row ids and caches left out)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out: dict[str, list[Any]] = {}
        queries = {
            "meta": "SELECT key, value FROM meta",
            "texts": "SELECT item, artefact, source, line, body, folded FROM texts",
            "photos": "SELECT * FROM photos",
            "indicators": "SELECT * FROM indicators",
            "items": "SELECT * FROM items",
        }
        for table, query in queries.items():
            rows = [list(r) for r in conn.execute(query)]
            out[table] = sorted(rows, key=lambda r: json.dumps(r, ensure_ascii=False))
        return out
    finally:
        conn.close()


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> SHA-256), and every folder, to show nothing changed."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            found[rel + "/"] = "folder"
    return found
