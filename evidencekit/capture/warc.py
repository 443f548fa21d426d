"""WARC 1.1 of every network exchange of a capture, written record by record as exchanges end.

The browser hands over bodies after removing any Content-Encoding and chunking, so the HTTP header
block of a response record is adjusted to describe the bytes that follow it, and keeps the server's
values under ``X-Original-*`` names; ``X-EvidenceKit-Body`` says why. Nothing else in the header block
is changed, except that secret values (cookies, credentials) are replaced by a note and a keyed digest
(see ``redact``). The protocol and TLS version travel in ``WARC-Protocol`` fields (IIPC proposal, repeated
field form) because a WARC response record can only carry an HTTP/1.x status line.

The header block is written as bytes by ``WireHeaders``, not by warcio's encoder (which percent-encodes any
value that is not ASCII and cannot write a reason phrase that is not): Chromium hands header values over
one byte to one character (ISO-8859-1), so writing them back the same way gives the bytes that were on the
wire. What Chromium does not keep cannot be written: the order of the header lines (it reports them sorted
by name, repeats of one name in their order) and reason-phrase bytes that are not UTF-8.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from evidencekit.capture.exchange import (
    BODY_COMPLETE,
    BODY_DECODED,
    BODY_NONE,
    BODY_UNAVAILABLE,
    BODY_UNFINISHED,
    Exchange,
    Headers,
)
from evidencekit.capture.profilesecrets import RESOURCE_WARC_NOTE, ProfileSecrets
from evidencekit.capture.redact import new_salt, redact_headers, redact_url

WARC_FILE_NAME = "capture.warc.gz"
BODY_POLICY = (
    "Response bodies are as the browser (Chromium, via the DevTools protocol) delivered them to the page: "
    "after removing Content-Encoding and Transfer-Encoding. Where that changed the bytes, the server's "
    "Content-Encoding, Transfer-Encoding and Content-Length headers are kept as X-Original-Content-Encoding, "
    "X-Original-Transfer-Encoding and X-Original-Content-Length, Content-Length gives the stored length, and "
    "X-EvidenceKit-Body says why. Bodies the browser did not keep are empty and marked WARC-Truncated. "
    "Content the page made itself inside the browser (blob: and data: URLs), which no server sent, is kept "
    "as resource records with the media type the browser gave it, never as HTTP requests and responses."
)
_TRUNCATED = {BODY_UNFINISHED: "time", BODY_UNAVAILABLE: "unspecified"}
_REWRITTEN = ("content-encoding", "transfer-encoding", "content-length")


class WarcSink:
    """Appends request/response pairs to one gzip-per-record WARC 1.1 file."""

    def __init__(self, path: Path, info: Mapping[str, str], salt: bytes | None = None) -> None:
        self.path = path
        self._salt = salt if salt is not None else new_salt()
        self.records = 0
        # A browser profile's secret values, replaced by value in each record (see ``profilesecrets``).
        self.secrets: ProfileSecrets | None = None
        self._stream: BinaryIO = path.open("xb")
        self._writer = WARCWriter(self._stream, gzip=True, warc_version="1.1")
        self._writer.write_record(self._writer.create_warcinfo_record(path.name, dict(info)))
        self.records += 1

    def write_exchange(self, exchange: Exchange) -> None:
        date = datetime_to_iso_date(exchange.started.replace(tzinfo=None), use_micros=True)
        if self.secrets is not None:
            exchange = self.secrets.exchange(exchange)
        if not exchange.from_server:
            # blob: and data: content was made inside the browser: no request went out and no server
            # answered, so it is no HTTP exchange. What the page got is kept as a resource record.
            if exchange.has_response and exchange.body is not None:
                self._writer.write_record(self._resource_record(exchange, date))
                self.records += 1
            return
        response_id = None
        if exchange.has_response:
            response = self._response_record(exchange, date)
            self._writer.write_record(response)
            response_id = response.rec_headers.get_header("WARC-Record-ID")
            self.records += 1
        request = self._request_record(exchange, date, response_id)
        self._writer.write_record(request)
        self.records += 1

    def write_resource_file(
        self,
        url: str,
        path: Path,
        media_type: str,
        fetched: datetime,
        *,
        asked_url: str | None = None,
        response: tuple[int | None, Headers] | None = None,
        redirects: Sequence[tuple[str, int, str]] = (),
    ) -> None:
        """A ``resource`` record for ``url`` (where the bytes came from, after any redirects) whose block
        is the file at ``path``, byte for byte: content fetched apart from the browser (media, see
        ``media``), kept as the server sent it. With ``response``, a ``metadata`` record refers to it and
        gives the URL asked for, each redirect hop, the HTTP status and the server's response headers
        (secrets redacted), which a resource record has no room for."""
        date = datetime_to_iso_date(fetched.replace(tzinfo=None), use_micros=True)
        before = self.secrets.replaced if self.secrets is not None else 0
        target = self._secret_free(redact_url(url, self._salt), "warc target url")
        with path.open("rb") as payload:
            record = self._writer.create_warc_record(
                target,
                "resource",
                payload=payload,
                length=path.stat().st_size,
                warc_content_type=media_type,
                warc_headers_dict={"WARC-Date": date},
            )
            self._writer.write_record(record)
        self.records += 1
        if response is None:
            return
        status, headers = response
        lines = [f"asked-url: {self._secret_free(redact_url(asked_url or url, self._salt), 'warc media asked url')}"]
        for hop, code, to in redirects:
            hop, to = (self._secret_free(redact_url(u, self._salt), "warc media redirect url") for u in (hop, to))
            lines.append(f"redirect: {code} {hop} {to}")
        lines.append(f"http-status: {status if status is not None else 'unknown'}")
        lines += [
            f"http-header: {name}: {self._secret_free(value, 'warc media response headers', target)}"
            for name, value in redact_headers(list(headers), self._salt)
        ]
        if self.secrets is not None and self.secrets.replaced != before:
            lines.append(f"X-EvidenceKit-Redacted: {RESOURCE_WARC_NOTE}")
        block = "".join(f"{' '.join(line.split())}\r\n" for line in lines).encode("utf-8")
        about = self._writer.create_warc_record(
            target,
            "metadata",
            payload=BytesIO(block),
            length=len(block),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": record.rec_headers.get_header("WARC-Record-ID")},
        )
        self._writer.write_record(about)
        self.records += 1

    def _secret_free(self, text: str, where: str, url: str = "") -> str:
        # A profile's secret values, by value, in a URL (one token) or a header value (see ``profilesecrets``).
        if self.secrets is None:
            return text
        if url:
            return self.secrets.text(text, where, url)
        return self.secrets.url(text, where)

    def close(self) -> None:
        if not self._stream.closed:
            self._stream.flush()
            self._stream.close()

    def _response_record(self, exchange: Exchange, date: str) -> Any:
        body = exchange.body or b""
        http_headers = WireHeaders(
            _status_line(exchange),
            redact_headers(response_headers_for_warc(exchange, len(body)), self._salt),
            protocol=_http_version(exchange),
        )
        warc_headers = {"WARC-Date": date}
        if exchange.server_ip:
            warc_headers["WARC-IP-Address"] = exchange.server_ip.strip("[]")
        if exchange.body_state in _TRUNCATED:
            warc_headers["WARC-Truncated"] = _TRUNCATED[exchange.body_state]
        record = self._writer.create_warc_record(
            redact_url(exchange.url, self._salt),
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        for value in _protocols(exchange):
            record.rec_headers.add_header("WARC-Protocol", value)
        return record

    def _resource_record(self, exchange: Exchange, date: str) -> Any:
        body = exchange.body or b""
        media_type = exchange.header("content-type") or "application/octet-stream"
        return self._writer.create_warc_record(
            redact_url(exchange.url, self._salt),
            "resource",
            payload=BytesIO(body),
            length=len(body),
            warc_content_type=media_type,
            warc_headers_dict={"WARC-Date": date},
        )

    def _request_record(self, exchange: Exchange, date: str, response_id: str | None) -> Any:
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [(name, value) for name, value in exchange.request_headers if not name.startswith(":")]
        headers = redact_headers(headers, self._salt)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc.rpartition("@")[2]))
        request_line = f"{exchange.method} {target} {_http_version(exchange)}"
        http_headers = WireHeaders(request_line, headers, is_http_request=True)
        body = exchange.post_data or b""
        warc_headers = {"WARC-Date": date}
        if response_id:
            warc_headers["WARC-Concurrent-To"] = response_id
        return self._writer.create_warc_record(
            redact_url(exchange.url, self._salt),
            "request",
            payload=BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )


class WireHeaders(StatusAndHeaders):  # type: ignore[misc]  # warcio is untyped
    """A status line and header lines written as bytes. Header lines: every character below 256 as that
    byte (Chromium reports each received byte as one such character), anything else (text of our own)
    as UTF-8. The status line as UTF-8: Chromium decodes a reason phrase as UTF-8 (dropping what is not)."""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        first = " ".join(part for part in (self.protocol, self.statusline) if part).encode("utf-8")
        lines = [_wire_bytes(f"{name}: {value}") for name, value in self.headers]
        self.headers_buff = b"".join(line + b"\r\n" for line in [first, *lines]) + b"\r\n"


def _wire_bytes(text: str) -> bytes:
    try:
        return text.encode("iso-8859-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def response_headers_for_warc(exchange: Exchange, stored_length: int) -> Headers:
    """The response header block that truthfully describes the stored body (see the module doc)."""
    state = exchange.body_state
    changed = state != BODY_COMPLETE or any(
        name.lower() == "transfer-encoding" for name, _ in exchange.response_headers
    )
    if not changed:
        return list(exchange.response_headers)
    headers: Headers = []
    for name, value in exchange.response_headers:
        if name.lower() in _REWRITTEN:
            headers.append(("X-Original-" + "-".join(part.capitalize() for part in name.split("-")), value))
        else:
            headers.append((name, value))
    headers.append(("Content-Length", str(stored_length)))
    headers.append(("X-EvidenceKit-Body", _body_explanation(exchange)))
    return headers


def _body_explanation(exchange: Exchange) -> str:
    state = exchange.body_state
    if state == BODY_DECODED:
        encoding = exchange.header("content-encoding") or "?"
        return f"decoded by the browser (server sent Content-Encoding {encoding})"
    if state == BODY_COMPLETE:
        return "de-chunked by the browser (server sent Transfer-Encoding)"
    if state == BODY_NONE:
        return "no body"
    why = f": {exchange.body_note}" if exchange.body_note else ""
    if state == BODY_UNFINISHED:
        return f"not stored: still arriving when the capture ended{why}"
    return f"not stored: the browser did not provide it{why}"


def _http_version(exchange: Exchange) -> str:
    return "HTTP/1.0" if (exchange.protocol or "").lower() == "http/1.0" else "HTTP/1.1"


def _status_line(exchange: Exchange) -> str:
    text = " ".join(exchange.status_text.split())
    return f"{exchange.status} {text}".rstrip()


def _protocols(exchange: Exchange) -> list[str]:
    values = []
    if exchange.protocol:
        values.append(exchange.protocol.lower())
    tls = (exchange.security or {}).get("protocol")
    if isinstance(tls, str) and tls:
        # "TLS 1.3" -> "tls/1.3", the proposal's form
        values.append("/".join(tls.lower().split(" ", 1)))
    return values
