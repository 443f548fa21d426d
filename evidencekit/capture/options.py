"""What a capture run is asked to do, and the checks on that input made before any browser starts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from evidencekit.capture.redact import hide_userinfo
from evidencekit.errors import UsageError

# Chromium refuses to render a single image taller than its largest texture; past this we shoot tiles.
MAX_TILE_HEIGHT = 16384
# After ``timeout_s`` a capture gets this long to write what it has; then it is cut off regardless.
GRACE_S = 10.0
_PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks5"})
# The window a capture may ask for, checked here alone (the CLI's --viewport and CaptureOptions): from a
# small phone's width up to 8K UHD, beyond which screenshots of one view become hundreds of megabytes.
MIN_VIEWPORT_SIDE = 200
MAX_VIEWPORT = (7680, 4320)
# Whatever stands before an "@" at the start of what was given as a URL, written without "//" too
# ("user:password@host/"): a refusal never quotes it.
_LEADING_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)?[^/?#\s]*@")
CONSENT_MODES = ("leave", "accept")
DEFAULT_MEDIA_MAX_BYTES = 500 * 1000 * 1000
DEFAULT_MEDIA_TIMEOUT_S = 120.0
_SIZE = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>|b|kb|mb|gb|kib|mib|gib)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
MAX_POPUPS = 20
MAX_VANTAGE = 200  # as ``profile create --vantage`` allows
VIEWPORT_RANGE = f"{MIN_VIEWPORT_SIDE}-{MAX_VIEWPORT[0]} x {MIN_VIEWPORT_SIDE}-{MAX_VIEWPORT[1]}"


@dataclass(frozen=True)
class CaptureProfile:
    """A browser profile as a capture uses it (see ``evidencekit.profiles``): its storage state goes to each
    browser context in memory; the metadata records only the name, ``digest`` (keyed with the case's salt,
    set by the recording workflow) and the logged-in check."""

    name: str
    state: dict[str, Any] = field(repr=False, compare=False, hash=False)
    digest: str | None = None
    check_url: str | None = None
    check_selector: str | None = None
    check_text: str | None = None
    account_commitment: str | None = None  # the ledger's record of the account (never its name; see profiles)
    check_digest: str | None = None  # the check (URL and selector or text) keyed with the case's salt
    checked_at: str | None = None  # when the logged-in check passed, set by the batch once it has

    def check(self) -> dict[str, str] | None:
        if self.check_url is None:
            return None
        found = {"selector": self.check_selector} if self.check_selector is not None else {"text": self.check_text}
        return {"url": self.check_url, **{k: v for k, v in found.items() if v is not None}}

    def check_record(self) -> dict[str, str] | None:
        """The check as records keep it: never verbatim (a check URL, selector or text may name the
        account), but what it looked for, the URL's host and the keyed digest."""
        if self.check_url is None:
            return None
        kind = "selector" if self.check_selector is not None else "text"
        return {"kind": kind, "host": urlsplit(self.check_url).hostname or "", "digest": self.check_digest or ""}

    def logged_in(self) -> dict[str, str]:
        """Whether the session was seen logged in: a fact, not a claim (see ``describe``)."""
        if self.checked_at is None:
            return {"logged_in": "not checked"}
        return {"logged_in": "checked", "checked_at": self.checked_at}

    def describe(self) -> dict[str, Any]:
        """``settings.profile`` of metadata.json: never the state; ``logged_in`` "checked" (the profile's check
        passed before the batch, at ``checked_at``) or "not checked" (it names none)."""
        return {"name": self.name, "digest": self.digest, **self.logged_in(), "check": self.check_record()}


@dataclass(frozen=True)
class CaptureOptions:
    timeout_s: float = 60.0
    pdf: bool = False
    mhtml: bool = True
    viewport: tuple[int, int] = (1366, 768)
    user_agent: str | None = None
    proxy: str | None = None
    storage_state: Path | None = None
    ignore_https_errors: bool = False
    # Let a page on a public address reach loopback and private addresses (see ``private_network``).
    allow_private_network: bool = False
    region: str = "US"
    browser_path: Path | None = None
    # Keys the digests that stand for redacted secrets (see ``redact``); the case's own, so that captures
    # of one case can be compared. None: a fresh one for the run (digests comparable within it only).
    redaction_salt: bytes | None = field(default=None, repr=False)
    # Record each kept image's width, height and PDQ hash (evidencekit.photos) in the metadata. Off only
    # to measure what it costs (benchmarks/bench_photos_capture.py): captures always hash.
    photo_hashes: bool = True
    # A browser profile to capture logged in with (``capture --profile``); its logged-in check runs first.
    profile: CaptureProfile | None = None
    # Where the capture was made from, as the investigator states it ("VPN exit NL"); recorded and shown.
    vantage: str | None = None
    # Consent walls: "leave" captures the page as shown; "accept" clicks a known consent framework's accept
    # control after the arrival screenshot, and records what it clicked (see ``consent``).
    consent: str = "leave"
    # Video and audio (see ``media``): the page's own media are always fetched; ``media`` adds what yt-dlp's
    # site extractors find. Each file (or HLS stream) at most ``media_max_bytes``; all of a capture's media
    # within ``media_timeout_s``.
    media: bool = False
    media_max_bytes: int = DEFAULT_MEDIA_MAX_BYTES
    media_timeout_s: float = DEFAULT_MEDIA_TIMEOUT_S
    # Pop-up windows the page opens that are captured as items of their own (see ``popups``); the rest
    # are closed after a look. 0: every pop-up is closed.
    max_popups: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.max_popups <= MAX_POPUPS:
            raise UsageError(f"--max-popups must be between 0 and {MAX_POPUPS}, not {self.max_popups}")
        if not 1 <= self.timeout_s <= 3600:
            raise UsageError(f"the timeout must be between 1 and 3600 seconds, not {self.timeout_s}")
        check_viewport(*self.viewport)
        if self.user_agent is not None and not self.user_agent.strip():
            raise UsageError("the user agent must not be empty; leave it out to use the browser's own")
        if self.proxy is not None:
            parse_proxy(self.proxy)
        if self.consent not in CONSENT_MODES:
            raise UsageError(f"--consent must be one of {', '.join(CONSENT_MODES)}, not {self.consent!r}")
        if len(self.region) != 2 or not self.region.isalpha():
            raise UsageError(f"region {self.region!r} must be a two-letter country code such as US, GB or DE")
        if self.profile is not None and self.storage_state is not None:
            raise UsageError("use either --profile or --storage-state, not both")
        if self.vantage is not None and (
            not self.vantage.strip()
            or len(self.vantage) > MAX_VANTAGE
            or any(c < " " or c == "\x7f" for c in self.vantage)
        ):
            raise UsageError(
                f"the vantage must be one non-empty line of at most {MAX_VANTAGE} characters, e.g. 'VPN exit NL'"
            )
        if not 1 <= self.media_max_bytes <= 10**12:
            raise UsageError(f"the media size limit must be between 1 byte and 1 TB, not {self.media_max_bytes}")
        if not 1 <= self.media_timeout_s <= 86400:
            raise UsageError(f"the media time limit must be between 1 second and 24 hours, not {self.media_timeout_s}")


def parse_size(text: str) -> int:
    """``500MB``, ``2GB``, ``750KiB``, ``1000000`` (bytes) -> bytes; anything else is a UsageError."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"size {excerpt(text, 20)} is not a number of bytes with a unit, e.g. 500MB, 2GB or 750KiB")
    return int(float(match["number"]) * _SIZE_UNITS[match["unit"].lower()])


def check_viewport(width: int, height: int) -> None:
    """A UsageError unless ``width`` x ``height`` lies within MIN_VIEWPORT_SIDE and MAX_VIEWPORT."""
    if not (MIN_VIEWPORT_SIDE <= width <= MAX_VIEWPORT[0] and MIN_VIEWPORT_SIDE <= height <= MAX_VIEWPORT[1]):
        raise UsageError(f"viewport {width}x{height} is out of range; use e.g. 1366x768 ({VIEWPORT_RANGE} pixels)")


def parse_viewport(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (``1366x768``) -> (width, height), checked; anything else is a UsageError."""
    try:
        width, height = (int(part) for part in text.strip().lower().split("x"))
    except ValueError:
        raise UsageError(f"viewport {text!r} is not WIDTHxHEIGHT, e.g. 1366x768") from None
    check_viewport(width, height)
    return width, height


def check_url(url: str) -> str:
    """Return ``url`` stripped of surrounding white space if it is an http(s) URL with a host.

    Anything else (file:, javascript:, data:, chrome:, about:, a bare host name...) is a UsageError:
    a capture tool pointed at local files or browser internals would leak the investigator's machine.
    A refusal quotes the input only as a short excerpt, credentials hidden (see ``excerpt``).
    """
    candidate = url.strip()
    shown = excerpt(candidate)
    try:
        parts = urlsplit(candidate)
    except ValueError as exc:
        raise UsageError(f"not a valid URL: {shown} ({hide_userinfo(str(exc))[:80]})") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise UsageError(f"{shown} has no scheme; write the URL in full, e.g. https://example.org/page")
    if scheme not in {"http", "https"}:
        # The scheme is named unless what stands before the ":" may be a user name ("user:password@host").
        named = "" if shown.startswith("'***@") else f"{excerpt(scheme, 20)[1:-1]}: "
        raise UsageError(f"refusing {named}URL {shown}: only http and https pages can be captured")
    if not parts.hostname:
        raise UsageError(f"{shown} names no host; write it in full, e.g. https://example.org/page")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in candidate):
        raise UsageError(f"{shown} contains white space or control characters; encode them (%20)")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise UsageError(f"{shown} has an invalid port number") from None
    return candidate


def excerpt(text: str, limit: int = 40) -> str:
    """``text`` as a refusal may quote it: credentials in a URL hidden, at most ``limit`` characters
    (the rest cut, not echoed: input may be a file that was never a list of URLs), control characters
    escaped, in quotes."""
    hidden = _LEADING_USERINFO.sub(lambda match: f"{match.group('scheme') or ''}***@", hide_userinfo(text))
    cut = hidden if len(hidden) <= limit else hidden[: limit - 3] + "..."
    return repr(cut)


@dataclass(frozen=True)
class ProxySettings:
    """A proxy as Playwright wants it. ``display`` is what the metadata records: never the password."""

    server: str
    username: str | None
    password: str | None

    @property
    def display(self) -> str:
        return self.server + (" (with credentials, redacted from every record)" if self.username else "")

    def to_playwright(self) -> dict[str, str]:
        settings = {"server": self.server}
        if self.username is not None:
            settings["username"] = self.username
        if self.password is not None:
            settings["password"] = self.password
        return settings


def parse_proxy(proxy: str) -> ProxySettings:
    """``scheme://[user:password@]host:port`` -> ProxySettings; anything else is a UsageError."""
    try:
        parts = urlsplit(proxy.strip())
        port = parts.port
    except ValueError:
        raise UsageError(f"proxy {_redact(proxy)!r} is not a URL; write e.g. http://127.0.0.1:8080") from None
    if parts.scheme.lower() not in _PROXY_SCHEMES or not parts.hostname:
        raise UsageError(f"proxy {_redact(proxy)!r} must look like http://host:port, https://, socks4:// or socks5://")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    server = urlunsplit(SplitResult(parts.scheme.lower(), netloc, "", "", ""))
    return ProxySettings(server=server, username=parts.username, password=parts.password)


def _redact(proxy: str) -> str:
    head, at, tail = proxy.rpartition("@")
    return f"{head.split('//', 1)[0]}//***@{tail}" if at else proxy
