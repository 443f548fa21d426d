"""Secrets a capture must not keep: cookie values, credentials in request headers and in URLs.

The page is the evidence, the investigator's access to it is not: a session cookie, a password or a
proxy credential never enters the case. Each secret value is replaced by a note and a keyed digest,
``[redacted by evidencekit, hmac-sha256:<hex>]``, keyed with the case's salt (kept in the investigator's
config, never in a bundle), so two captures made with the same session can be shown to match while a
recipient of the bundle cannot test guesses of a short password against it. Cookie names and
attributes, the authentication scheme and every header name are kept. Response bodies are not touched.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

Headers = list[tuple[str, str]]

# No ";" in the note: it stands inside Cookie and Set-Cookie values, which ";" divides.
MARK = "[redacted by evidencekit, hmac-sha256:"
# Request headers whose whole value (after an authentication scheme) is a credential.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
_COOKIE_HEADERS = frozenset({"cookie"})
_SET_COOKIE_HEADERS = frozenset({"set-cookie", "set-cookie2"})


def new_salt() -> bytes:
    return os.urandom(32)


def digest(salt: bytes, secret: str) -> str:
    return hmac.new(salt, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def redacted(salt: bytes, secret: str) -> str:
    """The note that stands for ``secret`` (an already redacted value is left as it is)."""
    if secret.startswith(MARK):
        return secret
    return f"{MARK}{digest(salt, secret)}]"


def redact_headers(headers: Headers, salt: bytes) -> Headers:
    """``headers`` with every secret value replaced (see the module doc); other headers unchanged."""
    out: Headers = []
    for name, value in headers:
        lower = name.lower()
        if lower in _CREDENTIAL_HEADERS:
            out.append((name, _credential(value, salt)))
        elif lower in _COOKIE_HEADERS:
            out.append((name, "; ".join(_cookie_pair(pair.strip(), salt) for pair in value.split(";"))))
        elif lower in _SET_COOKIE_HEADERS:
            pair, semi, attributes = value.partition(";")
            out.append((name, _cookie_pair(pair.strip(), salt) + semi + attributes))
        else:
            out.append((name, value))
    return out


def _credential(value: str, salt: bytes) -> str:
    if MARK in value:
        return value
    scheme, space, rest = value.strip().partition(" ")
    if space and scheme.replace("-", "").isalnum():  # "Basic", "Bearer", "Digest"...: a scheme is no secret
        return f"{scheme} {redacted(salt, rest.strip())}"
    return redacted(salt, value)


def _cookie_pair(pair: str, salt: bytes) -> str:
    if pair.startswith(MARK) or pair.partition("=")[2].startswith(MARK):
        return pair
    name, equals, value = pair.partition("=")
    if not equals:  # a nameless cookie: the whole pair is its value
        return redacted(salt, pair) if pair else pair
    return f"{name}={redacted(salt, value)}"


@dataclass(frozen=True)
class UrlCredentials:
    """The user name and password written into a URL, to be given to the browser, never recorded."""

    username: str
    password: str

    def to_playwright(self, origin: str) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "origin": origin}

    def describe(self, salt: bytes) -> dict[str, str]:
        """What the metadata says about them: that they were given, and their keyed digests."""
        return {
            "note": "credentials were written in the URL; they were given to the browser and redacted everywhere",
            "username": redacted(salt, self.username),
            "password": redacted(salt, self.password),
        }


def split_userinfo(url: str) -> tuple[str, UrlCredentials | None]:
    """``url`` without its ``user:password@`` part, and that part (None if it had none)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit(SplitResult(parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, UrlCredentials(unquote(user), unquote(password))


def redact_url(url: str, salt: bytes) -> str:
    """``url`` with any userinfo replaced by its note (user names are secrets too); the host is kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    note = f"redacted-{digest(salt, userinfo)[:16]}"
    return urlunsplit(SplitResult(parts.scheme, f"{note}@{hostport}", parts.path, parts.query, parts.fragment))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(SplitResult(parts.scheme.lower(), parts.netloc.lower(), "", "", ""))


# A URL's user info in running text: after "scheme://", everything up to the last "@" before the host ends
# (user info holds no "/", "?", "#" or white space; a user name may hold an "@" written as is).
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s\"'<>]*)@")
# Keys of metadata.json whose values are URLs. What the page itself wrote is its content and is left alone:
# its title, a dialog's message and default value, an image's EXIF (reasons are redacted as they are made).
_URL_KEYS = frozenset(
    {"url", "final_url", "requested_url", "address_bar_url", "unreachable_url", "location", "opened_url", "page_url"}
)
_TEXT_KEYS = frozenset({"error", "failure"})  # our own wording, which may quote a URL
_CONTENT_KEYS = frozenset({"exif", "title", "message", "default_value"})


def redact_text(text: str, salt: bytes) -> str:
    """``text`` with the user info of every URL in it replaced as ``redact_url`` does."""

    def note(match: re.Match[str]) -> str:
        userinfo = match.group("userinfo")
        if userinfo.startswith("redacted-"):
            return match.group(0)
        return f"{match.group('scheme')}redacted-{digest(salt, userinfo)[:16]}@"

    return _USERINFO_IN_TEXT.sub(note, text)


def hide_userinfo(text: str) -> str:
    """``text`` with every URL's user info replaced by ``***``: for messages made before any case (and
    its salt) is known, such as the refusal of a malformed URL."""
    return _USERINFO_IN_TEXT.sub(lambda match: f"{match.group('scheme')}***@", text)


def redact_urls(document: Any, salt: bytes) -> None:
    """Redact, in place, the user info of every URL in a metadata document (see ``_URL_KEYS``) and in our
    own error texts; what the page itself wrote (see ``_CONTENT_KEYS``) is left as it was."""
    if isinstance(document, list):
        for index, value in enumerate(document):
            if isinstance(value, str):
                document[index] = redact_text(value, salt)
            else:
                redact_urls(value, salt)
        return
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        if key in _CONTENT_KEYS:
            continue
        if isinstance(value, str) and (key in _URL_KEYS or key in _TEXT_KEYS or key.endswith("_url")):
            document[key] = redact_url(value, salt) if key in _URL_KEYS else redact_text(value, salt)
        elif key == "headers" and isinstance(value, list):
            document[key] = [_redacted_location(pair, salt) for pair in value]
        elif isinstance(value, dict | list):
            redact_urls(value, salt)


def _redacted_location(pair: Any, salt: bytes) -> Any:
    """A response header pair, with the URL of a Location or Content-Location redacted."""
    if isinstance(pair, list) and len(pair) == 2 and str(pair[0]).lower() in ("location", "content-location"):
        return [pair[0], redact_text(str(pair[1]), salt)]
    return pair


_MHTML_BOUNDARY = re.compile(r'boundary="?([^";\r\n]+)"?')
_MHTML_LOCATIONS = ("snapshot-content-location:", "content-location:")


def redact_mhtml(text: str, salt: bytes) -> str:
    """An MHTML snapshot with the user info of the URLs in its header lines (``Snapshot-Content-Location``,
    each part's ``Content-Location``) redacted. The browser writes those lines; the parts' contents, which
    are the page's, are not touched."""
    lines = text.splitlines(keepends=True)
    head_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    found = _MHTML_BOUNDARY.search("".join(lines[:head_end]))
    delimiter = f"--{found.group(1)}" if found else None
    in_headers = True
    out = []
    for line in lines:
        bare = line.rstrip("\r\n")
        if delimiter is not None and bare.startswith(delimiter):
            in_headers = True
        elif not bare.strip():
            in_headers = False
        elif in_headers and bare.lower().startswith(_MHTML_LOCATIONS):
            line = redact_text(line, salt)
        out.append(line)
    return "".join(out)
