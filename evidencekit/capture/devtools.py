"""The capture's DevTools session on its page, and what its Network events add to Playwright's view.

Playwright gives the requests and bodies (see ``network``); this session adds what Playwright does not
expose (the HTTP protocol, the TLS cipher and the cache flag), matched by URL, and is the second source
of a body Playwright can no longer get (see ``enable_durable_bodies``). It already receives the headers as
they went over the wire (the ``ExtraInfo`` events); where one is unambiguously an exchange's, they are
taken from there instead of asking Playwright twice more per exchange (see ``wire_headers``).
"""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict, deque
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page, Response
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.exchange import Exchange, Headers

DETAIL_TIMEOUT_S = 10.0
DURABLE_TOTAL_BYTES = 256 * 1024 * 1024
DURABLE_RESOURCE_BYTES = 64 * 1024 * 1024


async def open_devtools(context: BrowserContext, page: Page) -> CDPSession:
    """A DevTools session on ``page``, its Network domain on with durable bodies."""
    cdp = await context.new_cdp_session(page)
    await enable_durable_bodies(cdp)
    return cdp


async def enable_durable_bodies(cdp: CDPSession) -> None:
    """Keep response bodies in the browser process, where a navigation cannot discard them.

    Chromium drops the bodies of a document's resources when the next document commits (a meta refresh
    after 0 s, say), often before they could be read; durable messages keep them for this session.
    """
    try:
        await cdp.send(
            "Network.enable",
            {
                "enableDurableMessages": True,
                "maxTotalBufferSize": DURABLE_TOTAL_BYTES,
                "maxResourceBufferSize": DURABLE_RESOURCE_BYTES,
            },
        )
    except PlaywrightError:
        await cdp.send("Network.enable")  # an older browser: bodies may then be lost to navigations


class DevToolsNetwork:
    """What the page's DevTools session said about each request, and the rules for matching it to
    Playwright's exchanges (which Playwright counts in through ``playwright_asked``)."""

    def __init__(self) -> None:
        self._responses: defaultdict[str, deque[dict[str, Any]]] = defaultdict(deque)
        # Headers as sent and received, by DevTools requestId: one entry per hop of a redirect chain.
        self._wire_sent: defaultdict[str, list[Headers | None]] = defaultdict(list)
        self._wire_received: defaultdict[str, list[tuple[Any, Headers | None]]] = defaultdict(list)
        self._from_cache: set[str] = set()
        self._matched: set[int] = set()  # the seq of every exchange a DevTools response was matched to
        # How often each URL was asked for, as each side saw it: DevTools on the page's session (CORS
        # preflights and redirect hops included), Playwright for the whole context (popups and workers
        # included). Matching by URL is certain only while both say once (see _one_request).
        self._devtools_asks: defaultdict[str, int] = defaultdict(int)
        self._playwright_asks: defaultdict[str, int] = defaultdict(int)
        self._devtools_request_headers: dict[str, Any] = {}
        self._session: CDPSession | None = None

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.responseReceived", self._on_response)
        cdp.on("Network.requestWillBeSent", self._on_request)
        cdp.on("Network.requestWillBeSentExtraInfo", self._on_sent_headers)
        cdp.on("Network.responseReceivedExtraInfo", self._on_received_headers)
        cdp.on("Network.requestServedFromCache", self._on_from_cache)
        self._session = cdp

    def playwright_asked(self, url: str) -> None:
        """Playwright's context reported a request for ``url``."""
        self._playwright_asks[url] += 1

    # --- event handlers ------------------------------------------------------------------------------

    def _on_response(self, event: dict[str, Any]) -> None:
        self._remember(event.get("response"), event.get("requestId"), event.get("hasExtraInfo") is True)

    def _on_request(self, event: dict[str, Any]) -> None:
        request = event.get("request")
        if isinstance(request, dict) and isinstance(request.get("url"), str):
            self._devtools_asks[request["url"]] += 1
            if isinstance(event.get("requestId"), str):
                self._devtools_request_headers[event["requestId"]] = request.get("headers")
        # A redirect's response arrives only inside the request that follows it.
        if event.get("redirectResponse"):
            self._remember(event["redirectResponse"], None, False)

    def _remember(self, response: Any, request_id: Any, wire: bool) -> None:
        if isinstance(response, dict) and isinstance(response.get("url"), str):
            self._responses[response["url"]].append({**response, "_request_id": request_id, "_wire": wire})

    def _on_sent_headers(self, event: dict[str, Any]) -> None:
        if isinstance(event.get("requestId"), str):
            self._wire_sent[event["requestId"]].append(_header_list(event.get("headers")))

    def _on_received_headers(self, event: dict[str, Any]) -> None:
        if isinstance(event.get("requestId"), str):
            headers = _header_list(event.get("headers"))
            self._wire_received[event["requestId"]].append((event.get("statusCode"), headers))

    def _on_from_cache(self, event: dict[str, Any]) -> None:
        if isinstance(event.get("requestId"), str):
            self._from_cache.add(event["requestId"])

    # --- matching ------------------------------------------------------------------------------------

    def match(self, exchange: Exchange) -> dict[str, Any] | None:
        """Fill in what the DevTools response matched to ``exchange`` by URL says (the first one still
        unclaimed for that URL); return it, or None if none has come."""
        queue = self._responses.get(exchange.url)
        details = None
        if queue:
            details = queue.popleft()
            self._matched.add(exchange.seq)
            # Its body is read by this id when Playwright cannot give it: only where the match is certain.
            exchange.devtools_id = details.get("_request_id") if self._one_request(exchange.url) else None
            exchange.protocol = details.get("protocol")
            exchange.security = details.get("securityDetails")
            exchange.security_state = details.get("securityState")
            exchange.from_cache = bool(details.get("fromDiskCache") or details.get("fromPrefetchCache"))
            if exchange.server_ip is None and details.get("remoteIPAddress"):
                exchange.server_ip = details["remoteIPAddress"]
                exchange.server_port = details.get("remotePort")
        return details

    def wire_headers(
        self, exchange: Exchange, details: dict[str, Any] | None, response: Response | None
    ) -> tuple[Headers, Headers] | None:
        """The request and response headers as they went over the wire, from the ExtraInfo events this
        session received: the very events Playwright's raw headers are made of, split the same way.

        Only where they cannot belong to another exchange: the URL was asked for once, on both sides (a
        CORS preflight, a popup, a worker or a second request for it would make the match by URL a
        guess); the DevTools response matched to this one promised them (``hasExtraInfo``), did not come
        from the cache, is not part of a redirect chain (whose hops share one requestId), has exactly one
        of each event, the same status, and the same provisional request and response headers as
        Playwright's. Anything else (or an event still on its way) is asked of Playwright."""
        if details is None or response is None or not details.get("_wire") or exchange.redirected_from is not None:
            return None
        if not self._one_request(exchange.url):
            return None
        request_id = details.get("_request_id")
        if not isinstance(request_id, str) or request_id in self._from_cache or 300 <= response.status < 400:
            return None
        sent, received = self._wire_sent.get(request_id, []), self._wire_received.get(request_id, [])
        if len(sent) != 1 or len(received) != 1:
            return None
        request_headers, (status, response_headers) = sent[0], received[0]
        provisional = details.get("headers")
        if request_headers is None or response_headers is None or status != response.status:
            return None
        if _lowered(provisional) != response.headers:  # None (not a header object) never equals them
            return None
        if _lowered(self._devtools_request_headers.get(request_id)) != _lowered(dict(exchange.request_headers)):
            return None  # still the provisional request headers of Playwright's request event here
        return request_headers, response_headers

    def _one_request(self, url: str) -> bool:
        return self._devtools_asks.get(url) == 1 and self._playwright_asks.get(url) == 1

    async def body(self, exchange: Exchange) -> bytes | None:
        """The body DevTools kept for ``exchange`` (see ``enable_durable_bodies``), by the id ``match``
        gave it only where the match was certain; None if there is none."""
        if exchange.seq not in self._matched and self._one_request(exchange.url):
            # DevTools' response event may come after Playwright's (the two sessions' events are not
            # ordered): by the time Playwright has failed to give the body, it has usually come. Only
            # for a URL asked for once, whose one response cannot be another exchange's.
            self.match(exchange)
        if self._session is None or not exchange.devtools_id:
            return None
        try:
            result = await asyncio.wait_for(
                self._session.send("Network.getResponseBody", {"requestId": exchange.devtools_id}), DETAIL_TIMEOUT_S
            )
        except (PlaywrightError, TimeoutError):
            return None
        body = str(result.get("body", ""))
        return base64.b64decode(body) if result.get("base64Encoded") else body.encode("utf-8")


def _header_list(headers: Any) -> Headers | None:
    """DevTools' header object as a list: repeated headers arrive joined by newlines and are split again,
    values trimmed (as Playwright does for its raw headers). None for anything that is not such an object."""
    if not isinstance(headers, dict):
        return None
    listed: Headers = []
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            return None
        listed.extend((name, part.strip(_JS_SPACE)) for part in value.split("\n"))
    return listed


def _lowered(headers: Any) -> dict[str, Any] | None:
    return {str(name).lower(): value for name, value in headers.items()} if isinstance(headers, dict) else None


# What JavaScript's String.prototype.trim removes, the trimming Playwright gives raw header values
# (Python's str.strip also removes the separators \x1c-\x1f and \x85, and keeps \ufeff).
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(map(chr, range(0x2000, 0x200B)))
