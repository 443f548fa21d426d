"""No secret enters the evidence (issue 11, defects 6-8): a proxy password, a session cookie and
credentials written in a URL reach the site, but appear nowhere in the case folder, the CLI's output or
an exported bundle; searched byte for byte, inside gzip members, zip and WACZ members and PDF streams,
in clear and in the base64 form Basic authentication sends. Captures with the same session carry the
same keyed digest."""

from __future__ import annotations

import base64
import gzip
import http.client
import io
import json
import os
import re
import stat
import threading
import zipfile
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from casekit import make_case, run_subprocess
from fixture_site import handler as site_handler

DIGEST = re.compile(rb"\[redacted by evidencekit, hmac-sha256:([0-9a-f]{64})\]")


def _expanded(name: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """``data`` and every form hidden inside it: gzip members, zip members, deflated PDF streams."""
    yield name, data
    if depth > 4:
        return
    if data[:2] == b"\x1f\x8b":
        try:
            inner = gzip.decompress(data)  # every member of a multi-member gzip (a .warc.gz)
        except (OSError, EOFError, zlib.error):
            inner = b""
        if inner:
            yield from _expanded(name + "|gunzip", inner, depth + 1)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _expanded(f"{name}|{member}", archive.read(member), depth + 1)
    if data[:5] == b"%PDF-":
        for number, match in enumerate(re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S)):
            try:
                yield f"{name}|stream{number}", zlib.decompress(match.group(1))
            except zlib.error:
                continue


def _everything(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield from _expanded(str(path.relative_to(root)), path.read_bytes())


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), secret.lower().encode()]


def _assert_nowhere(root: Path, secrets: list[str]) -> int:
    needles = [form for secret in secrets for form in _forms(secret)]
    searched = 0
    for name, data in _everything(root):
        searched += 1
        for needle in needles:
            assert needle not in data, f"{needle!r} found in {name}"
    return searched


def _capture_and_export(case: Path, out: Path, *args: str, pdf: bool = False) -> tuple[str, Path]:
    result = run_subprocess(["--case", str(case), "capture", *args], timeout=240)
    assert result.returncode == 0, result.stderr
    (out / "out").mkdir()
    bundle = out / "out" / "bundle.zip"
    exported = run_subprocess(
        ["--case", str(case), "export", str(bundle), "--all", "--recipient", "Prosecutor"]
        + ([] if pdf else ["--no-pdf"]),
        timeout=240,
    )
    assert exported.returncode == 0, exported.stderr
    return result.stdout + result.stderr + exported.stdout + exported.stderr, bundle


def _warc_digests(case: Path, header: bytes) -> list[set[bytes]]:
    """For each WARC in the case's store, the digests that stand for the values of ``header``."""
    found = []
    for name, data in _everything(case / "objects"):
        if name.endswith("|gunzip") and data.startswith(b"WARC/1.1"):
            lines = [line for line in data.split(b"\r\n") if line.lower().startswith(header.lower() + b":")]
            found.append({match for line in lines for match in DIGEST.findall(line)})
    return found


# --- a proxy that wants Basic credentials --------------------------------------------------------------


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[str]
    user = "proxyUSERq58"
    password = "ProxyPW999secretZ"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _Proxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        given = self.headers.get("Proxy-Authorization", "")
        self.server.seen.append(given)
        wanted = "Basic " + base64.b64encode(f"{self.server.user}:{self.server.password}".encode()).decode()
        if given != wanted:
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=30)
        headers = {k: v for k, v in self.headers.items() if not k.lower().startswith("proxy-")}
        upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
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


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy(("127.0.0.1", 0), _ProxyHandler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- the tests -----------------------------------------------------------------------------------------


def test_proxy_password_is_nowhere(tmp_path, site, proxy):
    case = make_case(tmp_path / "case")
    port = proxy.server_address[1]
    proxy_url = f"http://{proxy.user}:{proxy.password}@127.0.0.1:{port}"
    output, bundle = _capture_and_export(case, tmp_path, site.url("/feed.html"), "--proxy", proxy_url)
    wanted = "Basic " + base64.b64encode(f"{proxy.user}:{proxy.password}".encode()).decode()
    assert wanted in proxy.seen, "the browser never gave the proxy its credentials"
    secrets = [proxy.password, f"{proxy.user}:{proxy.password}", proxy.user]
    assert _assert_nowhere(case, secrets) > 10
    assert _assert_nowhere(bundle.parent, secrets) > 10
    assert not any(form.decode() in output for secret in secrets for form in _forms(secret))
    # The header stays, named, with its note and digest in place of the value.
    assert [digests for digests in _warc_digests(case, b"Proxy-Authorization") if digests]


def test_session_cookie_is_nowhere_and_digests_match(tmp_path, site):
    secret = "TOPSECRETsession4471abc"
    state = tmp_path / "state.json"
    cookie = {
        "name": "sessionid",
        "value": secret,
        "domain": "127.0.0.1",
        "path": "/",
        "expires": -1,
        "httpOnly": True,
        "secure": False,
        "sameSite": "Lax",
    }
    state.write_text(json.dumps({"cookies": [cookie], "origins": []}))
    case = make_case(tmp_path / "case")
    urls = [site.url("/secret/cookie-a.html"), site.url("/secret/cookie-b.html")]
    output, bundle = _capture_and_export(case, tmp_path, *urls, "--storage-state", str(state), "--concurrency", "1")
    seen = {path: cookie for path, cookie, _ in site_handler.SECRETS_SEEN}
    for path in ("/secret/cookie-a.html", "/secret/cookie-b.html"):
        assert f"sessionid={secret}" in seen[path], "the page did not receive the session cookie"
    secrets = [secret, site_handler.SET_COOKIE_SECRET]
    assert _assert_nowhere(case, secrets) > 10
    assert _assert_nowhere(bundle.parent, secrets) > 10
    assert secret not in output
    # The salt is the case's, in the investigator's config beside the key, and never in the case or bundle.
    salts = list((Path(os.environ["XDG_CONFIG_HOME"]) / "evidencekit" / "salts").iterdir())
    assert len(salts) == 1 and stat.S_IMODE(salts[0].stat().st_mode) == 0o600
    _assert_nowhere(case, [salts[0].read_text().strip()])
    _assert_nowhere(bundle.parent, [salts[0].read_text().strip()])
    # Two captures, one session: the same digest in both WARCs, for the Cookie header.
    cookies = _warc_digests(case, b"Cookie")
    assert len(cookies) == 2 and all(cookies)
    assert cookies[0] == cookies[1]
    set_cookies = _warc_digests(case, b"Set-Cookie")
    assert len(set_cookies) == 2 and all(set_cookies)


def test_password_in_url_is_nowhere(tmp_path, site):
    user, password = site_handler.BASIC_USER, site_handler.BASIC_PASSWORD
    address = urlsplit(site.url("/secret/basic.html"))
    url = f"http://{user}:{password}@{address.netloc}{address.path}"
    case = make_case(tmp_path / "case")
    output, bundle = _capture_and_export(case, tmp_path, url, pdf=True)  # the printed report is searched too
    wanted = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    seen = [auth for path, _, auth in site_handler.SECRETS_SEEN if path == "/secret/basic.html"]
    assert wanted in seen, "the page never received the credentials"
    secrets = [password, user, f"{user}:{password}"]
    assert _assert_nowhere(case, secrets) > 10
    assert _assert_nowhere(bundle.parent, secrets) > 10
    assert not any(form.decode() in output for secret in secrets for form in _forms(secret))
    # The capture got past the login (the members page, not the 401) and records the URL without them.
    shown = run_subprocess(["--case", str(case), "log", "--json"])
    assert shown.returncode == 0, shown.stderr
    assert f"http://{address.netloc}{address.path}" in shown.stdout
    assert "Members area" in shown.stdout
    assert _warc_digests(case, b"Authorization")
    metadata = [
        json.loads(data)
        for _, data in _everything(case / "objects")
        if data.startswith(b"{") and b'"url_credentials"' in data
    ]
    given = [m["settings"]["url_credentials"] for m in metadata if "settings" in m]
    assert given and given[0]["password"].startswith("[redacted by evidencekit, hmac-sha256:")


# --- the redaction rules themselves ------------------------------------------------------------------


def test_header_redaction_keeps_names_schemes_and_attributes() -> None:
    from evidencekit.capture.redact import MARK, redact_headers, redact_url, split_userinfo

    salt = b"\x01" * 32
    headers = [
        ("Cookie", "a=one; sessionid=TOPSECRET"),
        ("authorization", "Basic dXNlcjpwYXNz"),
        ("Proxy-Authorization", "opaque"),
        ("Set-Cookie", "sid=SECRET; Path=/; HttpOnly"),
        ("X-Other", "sessionid=kept"),
    ]
    out = redact_headers(headers, salt)
    assert [name for name, _ in out] == [name for name, _ in headers]
    for secret in ("one", "TOPSECRET", "dXNlcjpwYXNz", "opaque", "SECRET"):
        assert secret not in repr(out[:4])
    assert out[0][1].startswith("a=" + MARK) and "; sessionid=" + MARK in out[0][1]
    assert out[1][1].startswith("Basic " + MARK)
    assert out[3][1].startswith("sid=" + MARK) and out[3][1].endswith("; Path=/; HttpOnly")
    assert out[4] == ("X-Other", "sessionid=kept")
    assert redact_headers(out, salt) == out  # a redacted value is never digested again
    # The same value gives the same digest under one salt, another under another salt.
    again = redact_headers([("Cookie", "sessionid=TOPSECRET")], salt)[0][1]
    assert again.split("; ")[0] == out[0][1].split("; ")[1]
    assert redact_headers([("Cookie", "sessionid=TOPSECRET")], b"\x02" * 32)[0][1] != again
    assert split_userinfo("http://u%40x:p%3Aw@h.example:81/a?b#c") == (
        "http://h.example:81/a?b#c",
        split_userinfo("http://u%40x:p%3Aw@h.example:81/")[1],
    )
    credentials = split_userinfo("http://u%40x:p%3Aw@h.example/")[1]
    assert credentials is not None and (credentials.username, credentials.password) == ("u@x", "p:w")
    hidden = redact_url("https://user:pw@h.example/x", salt)
    assert hidden.startswith("https://redacted-") and hidden.endswith("@h.example/x") and "pw" not in hidden
