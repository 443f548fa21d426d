"""The fixture site's pages behind a login (issue 16): a login form, a session cookie, a members' page.

``/login/form`` is the form (GET, so the site needs no POST handler); ``/login/submit?user=..&password=..``
accepts ``PASSWORD`` for any user name, opens a session and sets its cookie ``SESSION_COOKIE`` (HttpOnly),
then sends the visitor to the members' page. ``/login/members`` shows the members-only ad (with
``MEMBER_MARK`` in ``#member-area`` and a photo fetched with the cookie) to a visitor whose cookie names a
live session, and redirects anybody else to the form. A test can open a session with a value of its own
(``grant``) and end it (``forget``: the server forgets the session, as a site does when it expires).
"""

from __future__ import annotations

import functools
import secrets
import subprocess
import tempfile
import threading
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import imageio_ffmpeg

SESSION_COOKIE = "ek_session"
PASSWORD = "correct horse"
MEMBER_MARK = "Signed in as member"
MEMBER_TEXT = "Members only: nanny wanted abroad, call +44 20 7946 0777"

_sessions: set[str] = set()
_lock = threading.Lock()
_HTML = "text/html; charset=utf-8"

Answer = tuple[int, bytes, str, dict[str, str]]


def grant(value: str) -> None:
    with _lock:
        _sessions.add(value)


def forget(value: str) -> None:
    with _lock:
        _sessions.discard(value)


def _logged_in(headers: Any) -> bool:
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("Cookie") or "")
    except CookieError:
        return False
    morsel = cookie.get(SESSION_COOKIE)
    with _lock:
        return morsel is not None and morsel.value in _sessions


FORM = (
    b"<!doctype html><html><head><title>Log in</title></head><body><h1>Log in</h1>"
    b'<form action="/login/submit" method="get"><label>User <input name="user"></label>'
    b'<label>Password <input name="password" type="password"></label><button>Log in</button></form>'
    b"</body></html>"
)


def _members_page() -> bytes:
    return (
        "<!doctype html><html><head><title>Members</title></head><body>"
        f'<div id="member-area">{MEMBER_MARK}</div><p id="ad">{MEMBER_TEXT}</p>'
        '<img src="/login/photo.png" alt="photo"></body></html>'
    ).encode()


# A 1x1 PNG: fetched with the session cookie, so that a subresource request carries it too.
_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)


@functools.cache
def _clip() -> bytes:
    """A real MP4 of a second, made once with the imageio-ffmpeg wheel's ffmpeg."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "clip.mp4"
        source = ["-f", "lavfi", "-i", "testsrc2=duration=1:size=64x48:rate=5"]
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *source,
             "-c:v", "libx264", "-pix_fmt", "yuv420p", str(target)],
            check=True, timeout=60,
        )  # fmt: skip
        return target.read_bytes()


def _session_value(headers: Any) -> str:
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("Cookie") or "")
    except CookieError:
        return ""
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else ""


# The members' app (issue 16, secrets by value): the page writes the session cookie's value into a hidden
# form field (as CSRF fields do), and its script sends the profile's localStorage tokens the ways sites do:
# a header of its own, a query string, a JSON body; it also writes one into the page, and the API echoes
# the query back in its answer. Every one of those values must be redacted in the evidence.
_APP_SCRIPT = """
const token = localStorage.getItem("api_token") || "none";
const xauth = localStorage.getItem("xauth") || "none";
document.getElementById("shown").textContent = "key " + xauth;
fetch("/login/api?access_token=" + encodeURIComponent(token), {headers: {"X-Auth-Token": xauth}})
  .then((r) => r.text()).then((t) => { document.getElementById("api").textContent = t; });
fetch("/login/api-post", {method: "POST", body: JSON.stringify({token: token})}).catch(() => {});
const clip = document.createElement("video");
clip.preload = "metadata";
clip.src = "/login/clip.mp4?token=" + encodeURIComponent(token);
document.body.appendChild(clip);
"""


def _app_page(session: str, popup: bool = False) -> bytes:
    # The app opens a pop-up window of itself (without one of its own): a pop-up shares the opener's browser
    # context, so its requests carry the same secrets, and its evidence must be redacted the same way.
    # The address it opens carries the localStorage token (the page chose it, not the investigator).
    opens = '<script>window.open("/members/app-popup?t=" + encodeURIComponent(token));</script>' if popup else ""
    return (
        "<!doctype html><html><head><title>Members app</title></head><body>"
        f'<div id="member-area">{MEMBER_MARK}</div><p id="ad">{MEMBER_TEXT}</p>'
        f'<form><input type="hidden" name="csrf" value="{session}"></form>'
        f'<p id="shown"></p><pre id="api"></pre><script>{_APP_SCRIPT}</script>{opens}</body></html>'
    ).encode()


def answer(path: str, headers: Any, query: str) -> Answer | None:
    """(status, body, content type, headers) for a /login/ path, or None when it is not one of these routes."""
    if path == "/login/form":
        return 200, FORM, _HTML, {}
    if path == "/login/submit":
        asked = parse_qs(query)
        if asked.get("password", [""])[0] != PASSWORD:
            return 403, b"<html><body>Wrong password</body></html>", _HTML, {}
        value = secrets.token_urlsafe(32)
        grant(value)
        cookie = f"{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax"
        return 302, b"<a href='/login/members'>in</a>", _HTML, {"Location": "/login/members", "Set-Cookie": cookie}
    if path == "/login/members":
        if _logged_in(headers):
            return 200, _members_page(), _HTML, {"Cache-Control": "no-store"}
        return 302, b"<a href='/login/form'>log in</a>", _HTML, {"Location": "/login/form"}
    if path == "/members/app":  # outside /login/: a page that sends the visitor to the form is a login wall
        if _logged_in(headers):
            return 200, _app_page(_session_value(headers), popup=True), _HTML, {"Cache-Control": "no-store"}
        return 302, b"<a href='/login/form'>log in</a>", _HTML, {"Location": "/login/form"}
    if path == "/members/app-popup" and _logged_in(headers):
        return 200, _app_page(_session_value(headers)), _HTML, {"Cache-Control": "no-store"}
    if path == "/members/ad":  # a members-only ad: a logged-out visitor is told "not found", as some sites do
        if _logged_in(headers):
            return 200, _members_page(), _HTML, {"Cache-Control": "no-store"}
        return 404, b"<html><head><title>Not found</title></head><body>Not found</body></html>", _HTML, {}
    if path == "/login/api":
        asked = parse_qs(query).get("access_token", [""])[0]
        return 200, f'{{"you_sent": "{asked}"}}'.encode(), "application/json", {"Cache-Control": "no-store"}
    if path == "/login/clip.mp4":  # the app's video, asked for with the localStorage token in its query
        return 200, _clip(), "video/mp4", {}
    if path == "/login/photo.png":
        return 200, _PIXEL, "image/png", {}
    return None
