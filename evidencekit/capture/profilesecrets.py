"""The secrets of a browser profile, redacted by value wherever a capture would keep them.

``redact`` replaces the values of the credential headers by name (Cookie, Authorization...). A profile's
storage state holds more: tokens in localStorage that the page's own script sends in a header of any name
(``X-Auth-Token``), in a query string (``?access_token=``) or in a request body, and cookie values a site
echoes into its HTML (a CSRF field). The capture knows every one of those values, so it looks for them by
value in everything it keeps: the WARC (request URLs, header values and bodies; response header values and
bodies), the text artefacts (dom.html, text.txt, document.*, page.mhtml) and the metadata, and replaces each
with the keyed-digest note of ``redact``. A secret never enters the evidence; the price is that a body
carrying one is no longer byte for byte as served, so every replacement is recorded (where, which digests)
in the metadata's ``profile_redactions`` and, in the WARC, in an ``X-EvidenceKit-Redacted`` header line of
the record. What cannot be redacted: pixels (screenshots), the PDF's rendering and downloads are kept as
made; the README says so.

Which values: those of ``MIN_SECRET_LENGTH`` characters or more. Shorter ones ("1", "true", "dark", "en")
are settings rather than secrets and occur in pages by chance, so replacing them would mangle evidence for
nothing; a session token is 16 characters or longer in practice, and 8 leaves room for short ones. For the
same reason an all-lowercase word ("accepted", "complete") and a URL are not taken as secrets. A value that
is JSON is looked into: its strings are candidates too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from evidencekit.capture.exchange import BODY_COMPLETE, Exchange
from evidencekit.capture.redact import MARK, digest, redacted

MIN_SECRET_LENGTH = 8
NOTE = (
    "values of the browser profile's storage state (cookie and web storage values of 8 characters or more) "
    "were replaced by their keyed digests wherever the capture kept them; the places are listed, and a body "
    "listed here is not byte for byte as the server sent it"
)
_MAX_PLACES = 200
_WARC_NOTE = "values of the browser profile's storage state replaced by keyed digests (see metadata.json)"
# A media file's metadata record (see warc.write_resource_file): its URLs and headers, never the media bytes.
RESOURCE_WARC_NOTE = _WARC_NOTE + " in the URLs and header values of this record; the file's bytes are as served"
_TEXT_MEDIA = ("text/", "application/json", "application/xml", "application/javascript", "multipart/related")


def secret_values(state: Mapping[str, Any]) -> list[str]:
    """The values of ``state`` (a Playwright storage state) taken as secrets, longest first."""
    found: set[str] = set()
    for cookie in state.get("cookies") or ():
        if isinstance(cookie, Mapping):
            _candidates(cookie.get("value"), found)
    for origin in state.get("origins") or ():
        if not isinstance(origin, Mapping):
            continue
        for key in ("localStorage", "sessionStorage"):
            for item in origin.get(key) or ():
                if isinstance(item, Mapping):
                    _candidates(item.get("value"), found)
    return sorted(found, key=lambda value: (-len(value), value))


def _candidates(value: Any, found: set[str]) -> None:
    if not isinstance(value, str):
        return
    if _is_secret(value):
        found.add(value)
    if value[:1] in "{[":
        try:
            parsed = json.loads(value)
        except ValueError:
            return
        for text in _strings(parsed):
            if _is_secret(text):
                found.add(text)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _is_secret(value: str) -> bool:
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH or MARK in value or value.startswith("redacted-"):
        return False
    if value.isalpha() and value.islower():
        return False
    return not value.lower().startswith(("http://", "https://"))


@dataclass
class ProfileSecrets:
    """One capture's redactor: the profile's secret values, the case's salt, and where it replaced them."""

    values: list[str]
    salt: bytes
    places: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    replaced: int = 0  # how many texts had a value replaced so far
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _forms: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Each value as written, and as a URL or a form writes it: the form maps back to the value.
        for value in self.values:
            for form in (value, quote(value, safe=""), quote_plus(value, safe="")):
                self._forms.setdefault(form, value)
        if self._forms:
            ordered = sorted(self._forms, key=lambda form: (-len(form), form))
            self._pattern = re.compile("|".join(re.escape(form) for form in ordered))

    def text(self, text: str, where: str, url: str = "", *, in_url: bool = False) -> str:
        """``text`` with every secret value replaced; a replacement is recorded under ``where``/``url``."""
        if self._pattern is None or not text:
            return text
        # Most texts hold no secret: plain substring searches (fast) say so before the regular expression runs.
        if not any(form in text for form in self._forms):
            return text
        hits: set[str] = set()

        def note(match: re.Match[str]) -> str:
            value_digest = digest(self.salt, self._forms[match.group(0)])
            hits.add(value_digest)
            # A URL cannot hold the note's spaces and brackets: there it is one token.
            return (
                f"redacted-hmac-sha256-{value_digest}" if in_url else redacted(self.salt, self._forms[match.group(0)])
            )

        out = self._pattern.sub(note, text)
        if hits:
            self._record(where, url, hits)
        return out

    def url(self, url: str, where: str) -> str:
        return self.text(url, where, in_url=True)

    def data(self, data: bytes, where: str, url: str = "") -> bytes:
        """Bytes (a body, a file) with every secret value replaced; bytes that are not UTF-8 are kept as
        they are where they do not hold a secret (decoded as Latin-1, byte for character)."""
        if self._pattern is None or not data:
            return data
        text = data.decode("latin-1")
        out = self.text(text, where, url)
        return data if out == text else _reencode(out)

    def file(self, name: str, media_type: str, data: bytes) -> bytes:
        """A text artefact (by media type) with secret values replaced; other files unchanged."""
        if not media_type.lower().startswith(_TEXT_MEDIA):
            return data
        if name.endswith(".mhtml"):
            return _reencode(self.mhtml(data.decode("latin-1"), f"file {name}"))
        return self.data(data, f"file {name}")

    def mhtml(self, text: str, where: str) -> str:
        """MHTML: quoted-printable parts may break a value with soft line breaks ("=" at a line's end) and
        write "=" as "=3D"; such forms of a value are found too."""
        text = self.text(text, where)
        unbroken = re.sub(r"=\r?\n", "", text).replace("=3D", "=")
        for value in self.values:
            if value not in unbroken:  # not even across soft line breaks: nothing to look for
                continue
            pattern = r"(?:=\r?\n)?".join("=3D" if ch == "=" else re.escape(ch) for ch in value)
            replacement = redacted(self.salt, value).replace("\\", "\\\\")
            text, count = re.subn(pattern, replacement, text)
            if count:
                self._record(where, "", {digest(self.salt, value)})
        return text

    def document(self, document: Any, keep: frozenset[str] = frozenset({"requested_url"})) -> Any:
        """A metadata document with secret values replaced in every string but those under ``keep`` (the
        address the investigator gave is the evidence's address and is never rewritten)."""
        if isinstance(document, str):
            return self.text(document, "metadata")
        if isinstance(document, list):
            return [self.document(item, keep) for item in document]
        if isinstance(document, dict):
            return {key: value if key in keep else self.document(value, keep) for key, value in document.items()}
        return document

    def _record(self, where: str, url: str, hits: set[str]) -> None:
        self.replaced += 1
        key = (where, url)
        if key in self.places or len(self.places) < _MAX_PLACES:
            self.places.setdefault(key, set()).update(hits)

    def exchange(self, exchange: Exchange) -> Exchange:
        """An exchange as the WARC is to keep it: secret values replaced in its URL, header values and
        bodies, with an ``X-EvidenceKit-Redacted`` header line saying where (unchanged when none is held)."""
        before = self.replaced
        url = self.url(exchange.url, "warc target url")
        request_headers = [(n, self.text(v, "warc request headers", url)) for n, v in exchange.request_headers]
        post_data = self.data(exchange.post_data, "warc request body", url) if exchange.post_data else None
        request_changed = self.replaced != before
        response_headers = [(n, self.text(v, "warc response headers", url)) for n, v in exchange.response_headers]
        body = self.data(exchange.body, "warc response body", url) if exchange.body else exchange.body
        if self.replaced == before:
            return exchange
        if request_changed:
            if post_data != exchange.post_data:  # the stored request body's length, the browser's kept
                request_headers = _relength(request_headers, len(post_data or b""))
            request_headers.append(("X-EvidenceKit-Redacted", _WARC_NOTE + " in this request"))
        if body != exchange.body and exchange.body_state == BODY_COMPLETE:
            # The stored body is shorter or longer than the server's: its length is given, the server's kept.
            response_headers = _relength(response_headers, len(body or b""))
        if exchange.has_response:
            response_headers.append(
                (
                    "X-EvidenceKit-Redacted",
                    _WARC_NOTE + "; the body is not as served" if body != exchange.body else _WARC_NOTE,
                )
            )
        return replace(
            exchange,
            url=url,
            request_headers=request_headers,
            post_data=post_data if exchange.post_data else exchange.post_data,
            response_headers=response_headers,
            body=body,
        )

    def describe(self) -> dict[str, Any] | None:
        """``profile_redactions`` of metadata.json; None when nothing was replaced."""
        if not self.places:
            return None
        places = [
            {"where": where, **({"url": url} if url else {}), "digests": sorted(f"hmac-sha256:{d}" for d in hits)}
            for (where, url), hits in sorted(self.places.items())
        ]
        return {"note": NOTE, "min_length": MIN_SECRET_LENGTH, "places": places}


def _relength(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    """Headers whose Content-Length gives ``length``, the one sent kept as X-Original-Content-Length."""
    if not any(name.lower() == "content-length" for name, _ in headers):
        return headers
    kept = [("X-Original-Content-Length", v) if n.lower() == "content-length" else (n, v) for n, v in headers]
    return [*kept, ("Content-Length", str(length))]


def _reencode(text: str) -> bytes:
    # Characters below 256 go back to the bytes they came from; the notes are ASCII.
    return text.encode("latin-1")


# Query parameter names that well-known platforms and frameworks use for session ids and access tokens.
SESSION_PARAMETERS = frozenset(
    {
        "sid",
        "session",
        "sessionid",
        "session_id",
        "phpsessid",
        "jsessionid",
        "aspsessionid",
        "access_token",
        "token",
        "auth",
        "auth_token",
        "authtoken",
        "id_token",
        "refresh_token",
        "api_key",
        "apikey",
        "key",
        "sig",
        "signature",
        "ticket",
        "code",
    }
)


def session_carriers(url: str, values: Iterable[str] = ()) -> list[str]:
    """What in ``url`` may carry a session: the names of its query (or ``;jsessionid=`` path) parameters that
    are well-known session carriers, and "a value of the profile's stored state" where one of ``values`` is
    in it. Never the values themselves. A URL the investigator gives is the evidence's address: it is
    recorded as given, and the caller warns."""
    parts = urlsplit(url)
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if name.lower() in SESSION_PARAMETERS]
    names += [p.split("=", 1)[0] for p in parts.path.split(";")[1:] if p.split("=", 1)[0].lower() in SESSION_PARAMETERS]
    found = sorted(set(names))
    if any(value in url or quote(value, safe="") in url for value in values):
        found.append("a value of the profile's stored state")
    return found
