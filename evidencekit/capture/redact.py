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
from dataclasses import dataclass
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
