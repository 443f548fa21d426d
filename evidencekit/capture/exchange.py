"""Plain records of what happened during a capture, free of Playwright objects so that the WARC and
metadata writers can be tested and reasoned about on their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from evidencekit.timefmt import format_time

Headers = list[tuple[str, str]]

# How much of a response body the WARC holds, in words a reader of the record understands.
BODY_COMPLETE = "complete"
BODY_DECODED = "decoded"  # the browser removed a Content-Encoding; the bytes are the decoded form
BODY_NONE = "none"  # the response has no body (redirect, 204, 304, HEAD)
BODY_UNAVAILABLE = "unavailable"  # the browser did not keep it (evicted, streamed, cached elsewhere)
BODY_UNFINISHED = "unfinished"  # still arriving when the capture ended


def is_web(url: str | None) -> bool:
    """Whether ``url`` is an http(s) URL: the only kind a server answers. The browser also reports
    ``blob:`` and ``data:`` loads as requests with a status 200, but no server was asked for them."""
    try:
        return bool(url) and urlsplit(url or "").scheme.lower() in ("http", "https")
    except ValueError:
        return False


@dataclass
class Exchange:
    """One request the page made and, if one came, its response."""

    seq: int
    url: str
    method: str
    resource_type: str
    started: datetime
    navigation: bool = False
    main_frame: bool = False
    origin_page: str = "page"  # always "page" since pop-ups are captures of their own; "popup", "unknown" before
    request_headers: Headers = field(default_factory=list)
    post_data: bytes | None = None
    redirected_from: int | None = None  # seq of the exchange this one was redirected from
    # response
    status: int | None = None
    status_text: str = ""
    response_headers: Headers = field(default_factory=list)
    server_ip: str | None = None
    server_port: int | None = None
    protocol: str | None = None  # "http/1.1", "h2", ... as Chromium reports it
    security: dict[str, Any] | None = None
    security_state: str | None = None  # Chromium's verdict: "secure", "insecure", "neutral"...
    from_cache: bool = False
    devtools_id: str | None = None  # Chromium's requestId, when matched
    body: bytes | None = None  # dropped once written, except for main-frame documents
    body_size: int | None = None
    body_state: str = BODY_UNFINISHED
    body_note: str | None = None
    # outcome
    state: str = "in-flight"  # "in-flight", "finished", "failed", "unfinished", "download"
    failure: str | None = None
    ended: datetime | None = None
    written: bool = False  # handed to the WARC already; a late event must not write it twice

    @property
    def has_response(self) -> bool:
        return self.status is not None

    @property
    def from_server(self) -> bool:
        """Whether a server was asked: an http(s) request (see ``is_web``)."""
        return is_web(self.url)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.response_headers:
            if key.lower() == wanted:
                return value
        return None

    def summary(self) -> dict[str, Any]:
        """The metadata's line for this exchange (no bodies, no header values)."""
        return {
            "seq": self.seq,
            "url": self.url,
            "method": self.method,
            "resource_type": self.resource_type,
            "origin_page": self.origin_page,
            "state": self.state,
            "status": self.status if self.from_server else None,
            "server_ip": self.server_ip,
            "server_port": self.server_port,
            "protocol": self.protocol,
            "from_cache": self.from_cache,
            "body_state": self.body_state,
            "body_size": self.body_size,
            "failure": self.failure,
            "started": format_time(self.started),
        }


@dataclass(frozen=True)
class DialogRecord:
    kind: str
    message: str
    default_value: str
    url: str
    time: datetime
    action: str = "dismissed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "message": self.message,
            "default_value": self.default_value,
            "page_url": self.url,
            "time": format_time(self.time),
            "action": self.action,
        }


@dataclass
class PopupRecord:
    opened_url: str
    time: datetime
    final_url: str | None = None
    action: str = "closed"  # or "captured": an item of its own (see ``popups``)
    capture_id: str | None = None  # the pop-up's own capture, when captured
    status: str | None = None  # that capture's status
    note: str | None = None  # why a pop-up was closed rather than captured, when it was not for the limit
    by_a_popup: bool = False  # opened by one of the page's pop-ups, not by the page (in the note, not counted)

    def to_dict(self) -> dict[str, Any]:
        record = {
            "opened_url": self.opened_url,
            "final_url": self.final_url,
            "time": format_time(self.time),
            "action": self.action,
        }
        extra = {"capture_id": self.capture_id, "status": self.status, "note": self.note}
        return {**record, **{name: value for name, value in extra.items() if value is not None}}


@dataclass
class DownloadRecord:
    url: str
    suggested_filename: str
    time: datetime
    outcome: str = "in-progress"  # "saved", "failed", "cancelled", "refused"
    artefact: str | None = None
    size: int | None = None
    failure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "suggested_filename": self.suggested_filename,
            "time": format_time(self.time),
            "outcome": self.outcome,
            "artefact": self.artefact,
            "size": self.size,
            "failure": self.failure,
        }
