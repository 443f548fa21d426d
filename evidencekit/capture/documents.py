"""Which document the capture read, and whether a response of the capture brought it.

The final URL names the response the evidence rests on: its body is the document body, its exchange is in
the WARC, and the WACZ replays it. The DOM, visible text, screenshots and MHTML, however, are read from
whatever the main frame shows at the end, and a page can leave its own document after the response: a
navigation that fails (the browser then shows its own error page, ``chrome-error://``), ``about:blank``,
or a document it made itself (``blob:``, ``data:``). Chromium names each document by a loader id, and the
request that brought a document carries that id as its own (the DevTools protocol gives a navigation's
request the id of the loader it commits); so the document read is matched to the request that brought it,
and through it to the response, not guessed from URLs that the page can rewrite (``history.replaceState``
keeps the loader).

Only http(s) responses can be final: a ``blob:`` or ``data:`` document was made inside the browser, and no
server was asked for it. When the document read is not that of the final response, the capture is partial
and says what the page showed instead (``judge``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urlsplit

from playwright.async_api import CDPSession
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture.exchange import Exchange, is_web

NAVIGATION_FAILED = "navigation-failed"
NAVIGATED_AWAY = "navigated-away"


@dataclass
class Navigation:
    """One navigation of the main frame, as DevTools reported it: its request id is the loader id of the
    document it brings. ``url`` is its last hop with the #fragment it navigated to (a fragment never goes
    over the wire; the Location header or the link gives it)."""

    url: str
    response_url: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Shown:
    """What the main frame showed when the page was read."""

    url: str  # without its fragment (DevTools reports that apart)
    loader_id: str | None
    unreachable_url: str | None  # for the browser's error page: the URL that could not be loaded


class MainFrameDocuments:
    """Listens to the page's DevTools session for the main frame's navigations, from before the first."""

    def __init__(self) -> None:
        self.navigations: dict[str, Navigation] = {}
        self._frame_id: str | None = None

    async def attach(self, cdp: CDPSession) -> None:
        tree = await cdp.send("Page.getFrameTree")
        frame = tree["frameTree"]["frame"]
        self._frame_id = str(frame["id"])
        if isinstance(frame.get("loaderId"), str) and is_web(frame.get("url")):
            # Attached to a window that had loaded a document already (a pop-up, see ``popups``): its
            # navigation was not seen; the frame names the document's loader and address.
            self.navigations[frame["loaderId"]] = Navigation(frame["url"], response_url=frame["url"])
        cdp.on("Network.requestWillBeSent", self._on_request)
        cdp.on("Network.responseReceived", self._on_response)
        cdp.on("Network.loadingFailed", self._on_failed)

    def _on_request(self, event: dict[str, Any]) -> None:
        request = event.get("request")
        request_id = event.get("requestId")
        if (
            event.get("type") != "Document"
            or event.get("frameId") != self._frame_id
            or request_id != event.get("loaderId")  # a navigation's request carries its loader's id
            or not isinstance(request, dict)
            or not isinstance(request.get("url"), str)
        ):
            return
        fragment = request.get("urlFragment")
        url = request["url"] + (fragment if isinstance(fragment, str) else "")
        # A redirect's next hop comes with the same id: the navigation is where it went last.
        self.navigations[str(request_id)] = Navigation(url)

    def _on_response(self, event: dict[str, Any]) -> None:
        navigation = self.navigations.get(str(event.get("requestId")))
        response = event.get("response")
        if navigation is None and self._is_navigation(event) and isinstance(response, dict):
            # A navigation whose request came before this session listened (a pop-up's first one).
            navigation = self.navigations[str(event["requestId"])] = Navigation(str(response.get("url")))
        if navigation is not None and isinstance(response, dict) and isinstance(response.get("url"), str):
            navigation.response_url = response["url"]

    def _is_navigation(self, event: dict[str, Any]) -> bool:
        return (
            event.get("type") == "Document"
            and event.get("frameId") == self._frame_id
            and isinstance(event.get("requestId"), str)
            and event.get("requestId") == event.get("loaderId")
        )

    def _on_failed(self, event: dict[str, Any]) -> None:
        navigation = self.navigations.get(str(event.get("requestId")))
        if navigation is not None:
            navigation.error = str(event.get("errorText") or event.get("blockedReason") or "") or None

    async def shown(self, cdp: CDPSession, timeout_s: float) -> Shown | None:
        """The main frame's document now; None if the browser cannot say."""
        try:
            tree = await asyncio.wait_for(cdp.send("Page.getFrameTree"), timeout_s)
            frame = tree["frameTree"]["frame"]
        except (PlaywrightError, TimeoutError, KeyError, TypeError):
            return None
        loader, unreachable = frame.get("loaderId"), frame.get("unreachableUrl")
        return Shown(
            url=str(frame.get("url") or ""),
            loader_id=loader if isinstance(loader, str) else None,
            unreachable_url=unreachable if isinstance(unreachable, str) and unreachable else None,
        )


@dataclass(frozen=True)
class Judgement:
    """The final response's exchange and URL, and, when the page read is not its document, what it was."""

    document: Exchange | None
    final_url: str | None
    shown: dict[str, Any] | None = None  # metadata's shown_document
    reason: tuple[str, str] | None = None  # (code, message) making the capture partial


def judge(
    requested: str,
    documents: list[Exchange],
    navigations: dict[str, Navigation],
    shown: Shown | None,
    address_bar: str | None,
) -> Judgement:
    """Match the document read to the response that brought it (see the module doc)."""
    answered = [doc for doc in documents if doc.has_response and is_web(doc.url)]
    document = answered[-1] if answered else None
    final_url = _fallback_final_url(requested, document, address_bar)
    navigation = navigations.get(shown.loader_id or "") if shown is not None else None
    if navigation is not None and is_web(navigation.response_url) and not (shown and shown.unreachable_url):
        same = [doc for doc in answered if doc.url == navigation.response_url]
        if same:  # the document read is the one this response brought: the usual case
            return Judgement(same[-1], _with_fragment(same[-1].url, navigation.url))
        return Judgement(document, final_url)  # a response Playwright did not report: nothing to claim
    if shown is None:
        # The browser could not say which document it showed: the address bar tells what it can.
        if address_bar is None or is_web(address_bar):
            return Judgement(document, final_url)
        shown = Shown(urldefrag(address_bar).url, None, None)
    if document is None:
        return Judgement(None, None)
    return _elsewhere(document, final_url, shown, navigation, documents)


def _elsewhere(
    document: Exchange, final_url: str | None, shown: Shown, navigation: Navigation | None, documents: list[Exchange]
) -> Judgement:
    """The page read is not the final response's document: say what it was, and make the capture partial."""
    kept = "the page's response is kept (the final URL, the WARC, the document body)"
    if shown.unreachable_url or shown.url.startswith("chrome-error:"):
        target = shown.unreachable_url or (navigation.url if navigation else None)
        error = navigation.error if navigation is not None else None
        failed = [doc for doc in documents if doc.failure and (target is None or doc.url == urldefrag(target).url)]
        if failed:  # Playwright's record of the failed request says what DevTools did not
            target, error = target or failed[-1].url, error or failed[-1].failure
        message = (
            f"after its response, the page navigated to {target or 'a URL not known'}, which failed "
            f"({error or 'error not known'}); the browser showed its own error page instead, and the DOM, "
            f"visible text, screenshots and MHTML are of that error page; {kept}"
        )
        record = {"url": shown.url, "kind": "error-page", "unreachable_url": target, "error": error}
        return Judgement(document, final_url, record, (NAVIGATION_FAILED, message))
    scheme = urlsplit(shown.url).scheme.lower()
    if scheme == "about":
        kind, what = "blank", f"{shown.url}, an empty document of the browser's, which no server sent"
    elif scheme in ("blob", "data"):
        kind, what = "made-by-page", f"a document it made itself ({shown.url}), which no server sent"
    else:
        kind, what = "other", f"{shown.url}, a document no response of this capture brought"
    message = (
        f"after its response, the page replaced itself with {what}; the DOM, visible text, screenshots and "
        f"MHTML are of that document; {kept}"
    )
    record = {"url": shown.url, "kind": kind, "unreachable_url": None, "error": None}
    return Judgement(document, final_url, record, (NAVIGATED_AWAY, message))


def _with_fragment(response_url: str, navigated: str) -> str:
    """The response's URL with the #fragment the navigation went to (from the link, the requested URL or
    a Location header: never from the page's own later changes to its address)."""
    fragment = urldefrag(navigated).fragment
    return f"{urldefrag(response_url).url}#{fragment}" if fragment else response_url


def _fallback_final_url(requested: str, document: Exchange | None, address_bar: str | None) -> str | None:
    """Without the navigation's own record: the last response's URL, with the requested #fragment while
    the address bar still shows it (as Chromium carries it through redirects)."""
    if document is None:
        return None
    final = document.url
    asked = urldefrag(requested).fragment
    if asked and address_bar is not None and address_bar == f"{urldefrag(final).url}#{asked}":
        final = address_bar
    return final
