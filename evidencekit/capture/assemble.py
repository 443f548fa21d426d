"""Turn a CaptureState into its last artefacts, its reasons, metadata.json and a CaptureResult.

Runs without the browser (it may be gone: timeout, crash, Ctrl-C), so it only uses what the state holds.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evidencekit.capture import metadata as meta
from evidencekit.capture import tls, walls
from evidencekit.capture.documents import judge
from evidencekit.capture.exchange import BODY_COMPLETE, BODY_DECODED, Exchange, is_web
from evidencekit.capture.fingerprint import fingerprint
from evidencekit.capture.metadata import NOTE
from evidencekit.capture.redact import redact_headers, redact_text, redact_urls
from evidencekit.capture.state import CaptureState
from evidencekit.exif import media_type_of
from evidencekit.indicators.page import page_indicators
from evidencekit.models import CapturedFile, CaptureResult
from evidencekit.photos.hashing import PDQ_LIBRARY
from evidencekit.timefmt import format_duration, utc_now

INTERRUPTED = "interrupted"
BLOCKED_MARK = "BLOCKED: a loopback or private network address, from a page on a public address"
ADDRESS_BAR_NOTE = (
    "the address bar's URL when the page was read, which the page itself set in the document the final "
    "response brought (history.pushState or replaceState, a #fragment); no response of this capture came "
    "from it: the final URL is that of the response"
)
SHOWN_NOTE = (
    "the document the main frame showed when the page was read, which no response of this capture brought "
    "(the browser's error page after a failed navigation, about:blank, or a blob: or data: document the page "
    "made itself); the DOM, visible text, screenshots and MHTML show it; the final URL and the document body "
    "are those of the last response"
)
_META_REFRESH = re.compile(rb"<meta[^>]+http-equiv\s*=\s*[\"']?\s*refresh", re.IGNORECASE)
_DOCUMENT_SUFFIX = {
    "text/html": ".html",
    "application/xhtml+xml": ".xhtml",
    "text/plain": ".txt",
    "application/json": ".json",
    "application/pdf": ".pdf",
    "text/xml": ".xml",
    "application/xml": ".xml",
}


def assemble(state: CaptureState) -> CaptureResult:
    state.ended = state.ended or utc_now()
    if state.network is not None:
        state.network.abandon()
    state.sealed = True
    if state.warc is not None:
        state.warc.close()
    documents = state.network.main_documents() if state.network else []
    judged = judge(state.requested_url, documents, state.documents.navigations, state.shown, state.address_bar_url)
    document, final_url = judged.document, judged.final_url
    _write_document(state, document)
    _write_indicators(state, final_url or state.requested_url)
    if state.images is not None:
        state.images.read_exif()
        if state.page_text is not None:
            state.images.mark_site(frozenset(state.page_text.furniture_images))
    _type_downloads(state)
    _check_private_network(state)
    if judged.reason is not None and state.arrived:
        state.reasons.add(*judged.reason)
    _add_reasons(state, document)
    wall = walls.judge_capture(state, document, final_url) if state.arrived else None
    status, error = _status(state)
    if wall is not None and status != "failed":
        status = "blocked"  # a challenge or login wall instead of the content: never complete
    # Credentials written into any URL the page used (http://user:password@host/) are the page's
    # secrets, not evidence: every URL and reason recorded shows them redacted, as the WARC does.
    state.reasons.redact(lambda text: redact_text(text, state.salt))
    error = redact_text(error, state.salt) if error else error
    if state.secrets is not None:  # a browser profile's secret values, by value (see ``profilesecrets``)
        secrets = state.secrets
        state.reasons.redact(lambda text: secrets.text(text, "reasons"))
        error = secrets.text(error, "error") if error else error
    files = state.folder.captured_files()
    document_dict = _metadata(state, status, error, documents, document, files)
    document_dict["final_url"] = final_url
    if wall is not None:
        document_dict["blocked"] = wall.to_dict()
    if state.consent is not None:
        document_dict["consent"] = state.consent
    if judged.shown is not None:
        document_dict["shown_document"] = {**judged.shown, "note": SHOWN_NOTE}
    elif state.address_bar_url is not None and final_url is not None and state.address_bar_url != final_url:
        # The document read is the final response's: a different address is the page's own doing.
        document_dict["address_bar_url"] = state.address_bar_url
        document_dict["address_bar_note"] = ADDRESS_BAR_NOTE
    redact_urls(document_dict, state.salt)
    if state.secrets is not None:
        document_dict = state.secrets.document(document_dict)
        if (redactions := state.secrets.describe()) is not None:
            document_dict["profile_redactions"] = redactions
    final_url = document_dict["final_url"]
    meta.check(document_dict)
    payload = json.dumps(document_dict, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    state.folder.write("metadata.json", "metadata", "application/json", payload)
    files = [*files, *state.folder.captured_files(only="metadata.json")]
    return CaptureResult(
        requested_url=state.requested_url,
        final_url=final_url,
        status=status,
        reasons=state.reasons.messages(),
        files=tuple(files),
        metadata=document_dict,
        indicators=tuple(state.secrets.document(state.indicators or []) if state.secrets else state.indicators or ()),
        error=error,
    )


def _write_document(state: CaptureState, document: Exchange | None) -> None:
    if document is None or document.body is None:
        return
    declared = (document.header("content-type") or "").split(";", 1)[0].strip().lower()
    suffix = _DOCUMENT_SUFFIX.get(declared, ".bin")
    media_type = document.header("content-type") or "application/octet-stream"
    state.folder.write(f"document{suffix}", "document-body", media_type, document.body)


def _write_indicators(state: CaptureState, page_url: str) -> None:
    """indicators.json: every indicator of the page's text and links, those that are the site's rather
    than the author's marked ``"site": true`` (see evidencekit.indicators.page)."""
    text = state.page_text
    if text is not None:
        found = page_indicators(
            text.text,
            text.links,
            state.options.region,
            not_own_text=text.not_own_text,
            furniture_links=frozenset(text.furniture_links),
            page_url=page_url,
        )
        state.indicators = [indicator.to_dict() for indicator in found]
    if state.indicators is None:
        return
    data = json.dumps(state.indicators, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    state.folder.write("indicators.json", "indicators", "application/json", data)


def _type_downloads(state: CaptureState) -> None:
    if state.events is None:
        return
    for record in state.events.downloads:
        if record.artefact and (state.folder.root / record.artefact).is_file():
            state.folder.set_media_type(record.artefact, media_type_of(state.folder.root / record.artefact))


def _add_reasons(state: CaptureState, document: Exchange | None) -> None:
    reasons, options = state.reasons, state.options
    if state.interrupted:
        reasons.add(INTERRUPTED, "the capture was interrupted (Ctrl-C) before it finished")
    if state.cut_off:
        reasons.add(
            "cut-off", f"the capture was stopped at its time limit ({format_duration(options.timeout_s)} plus grace)"
        )
    if state.warc_error:
        reasons.add("warc-incomplete", state.warc_error)
    if not state.arrived:
        return
    if state.load_fired is False:
        reasons.add("load-timeout", "the page's load event had not fired when the capture went on without it")
    counts = state.network.counts() if state.network else {}
    if not state.settled:
        urls = ", ".join(state.busy_urls)
        reasons.add("page-still-loading", f"requests were still loading when the page was captured: {urls}")
    elif counts.get("unfinished"):
        reasons.add("page-still-loading", f"{counts['unfinished']} requests had not finished when the capture ended")
    if counts.get("failed") and state.network:
        first = state.network.failures(1)[0]
        reasons.add(
            "subresources-failed",
            f"{counts['failed']} requests failed (first: {first['url']}: {first['error']})",
        )
    if document is None or document.body_state not in (BODY_COMPLETE, BODY_DECODED):
        reasons.add("document-body-missing", "the main document's response body could not be kept")
    elif document.status is not None and document.status >= 400:
        reasons.add("http-error-status", f"the server answered {document.status} {document.status_text}".strip(), NOTE)
    scroll = state.scroll
    if scroll is not None:
        if scroll.stopped_by == "error":
            reasons.add("scroll-failed", f"scrolling the page failed ({scroll.error}); lazy content may be missing")
        elif scroll.stopped_by == "deadline" and not scroll.reached_bottom:
            reasons.add("scroll-incomplete", "time ran out before the bottom of the page was reached")
        elif scroll.stopped_by in ("deadline", "height-limit"):
            reasons.add("page-kept-growing", "the page kept loading more content as it was scrolled", NOTE)
    shot = state.screenshot
    if shot is not None and len(shot.tiles) > 1:
        reasons.add(
            "screenshot-tiled",
            f"the full-page screenshot ({shot.width}x{shot.height} px) was stitched losslessly from {len(shot.tiles)} "
            f"tiles of at most 16384 px, shot one after another",
            NOTE,
        )
    if shot is not None and shot.cut:
        reasons.add(
            "screenshot-cut", f"the page is {shot.page_height} px tall; the screenshot stops at {shot.height} px"
        )
    events = state.events
    if events is not None:
        if events.dialogs:
            reasons.add("dialogs-dismissed", f"{len(events.dialogs)} dialogs were dismissed", NOTE)
        closed = [p for p in events.popups if p.action != "captured"]
        if closed:
            # Another window's requests are never this page's (see network): a closed one's are in no WARC.
            nested = sum(1 for p in closed if p.by_a_popup)
            of_them = f", {nested} of them opened by its pop-up windows, not by the page itself" if nested else ""
            closed_text = f"{len(closed)} pop-up windows were closed{of_them} (what they loaded is in no WARC)"
            reasons.add("popups-closed", closed_text, NOTE)
        if len(closed) < len(events.popups):
            captured = len(events.popups) - len(closed)
            reasons.add("popups-captured", f"{captured} pop-up windows were captured as captures of their own", NOTE)
        if any(d.outcome == "cancelled" for d in events.downloads):
            reasons.add("download-incomplete", "a download had not finished by the time limit")
    if options.ignore_https_errors and document is not None and document.security_state == "insecure":
        reasons.add("https-errors-ignored", "certificate errors were ignored as asked (--ignore-https-errors)", NOTE)


def _check_private_network(state: CaptureState) -> None:
    """What the private-network checks stopped, and anything that reached such an address regardless,
    become reasons: the first a note (the page tried; a visitor's browser refuses it too), the second
    partial (the capture holds what should not have been fetched, and says so)."""
    guard = state.private_network
    if guard is None:
        return
    for exchange in state.network.exchanges if state.network else []:
        if exchange.state == "failed":
            guard.note_failure(exchange.url, exchange.failure)
        elif exchange.has_response:
            guard.note_response(exchange.url, exchange.server_ip, exchange.server_port)
    blocked = {entry["url"] for entry in guard.blocked}
    for exchange in state.network.exchanges if state.network else []:
        if exchange.state == "failed" and exchange.url in blocked and BLOCKED_MARK not in (exchange.failure or ""):
            # Chromium says only net::ERR_FAILED for a refused sub-resource: counted as blocked, not failed.
            exchange.failure = f"{exchange.failure or 'failed'} ({BLOCKED_MARK})"
    if guard.blocked:
        first = guard.blocked[0]["url"]
        state.reasons.add(
            "private-network-blocked",
            f"{len(guard.blocked)} requests of this page to loopback or private network addresses were blocked "
            f"(first: {first}); capture --allow-private-network lets them through",
            NOTE,
        )
    if guard.reached:
        first = guard.reached[0]
        state.reasons.add(
            "private-network-reached",
            f"{len(guard.reached)} requests reached a loopback or private address despite the block (first: "
            f"{first['url']} at {first['address']}; a DNS answer that changed between two lookups can do this)",
        )


def _status(state: CaptureState) -> tuple[str, str | None]:
    if not state.arrived:
        return "failed", state.error or ("interrupted" if state.interrupted else "no response")
    if state.error:
        state.reasons.add("capture-error", state.error)
    return ("partial" if state.reasons.partial else "complete"), None


def _redirect_chain(documents: list[Exchange]) -> list[dict[str, Any]]:
    chain = []
    for index, doc in enumerate(documents):
        if index == 0:
            via = "request"
        elif doc.redirected_from is not None:
            via = "http-redirect"
        else:
            previous = documents[index - 1]
            if previous.body is not None and _META_REFRESH.search(previous.body[:65536]):
                via = "meta-refresh"
            elif previous.header("refresh") is not None:
                via = "refresh-header"
            else:
                via = "client-navigation"
        # A blob: or data: document has no HTTP status: the browser's 200 for it answers no request.
        status = doc.status if is_web(doc.url) else None
        chain.append({"url": doc.url, "status": status, "via": via, "location": doc.header("location")})
    return chain


def _tls(state: CaptureState, document: Exchange | None) -> dict[str, Any] | None:
    if state.tls is not None:
        return state.tls
    if document is None or not document.url.startswith("https:"):
        return None
    return {
        "source": tls.BROWSER_SOURCE,
        "verified": document.security_state not in ("insecure",),
        "errors_ignored": state.options.ignore_https_errors,
        "error": None,
        "security_state": document.security_state,
        "connection": tls.describe_security(document.security),
        "certificate_chain_pem": state.browser_chain,
        "certificates": tls.describe_certificates(state.browser_chain),
    }


def _metadata(
    state: CaptureState,
    status: str,
    error: str | None,
    documents: list[Exchange],
    document: Exchange | None,
    files: list[CapturedFile],
) -> dict[str, Any]:
    options, network, events, text = state.options, state.network, state.events, state.page_text
    assert state.ended is not None
    return {
        "schema": meta.SCHEMA_ID,
        "capture_id": state.capture_id,
        "status": status,
        "reasons": state.reasons.to_list(),
        "error": error,
        "requested_url": state.requested_url,
        "final_url": None,  # the caller's (see documents.judge)
        "title": text.title if text else None,
        "http": None if document is None else _http(document, state.salt),
        "redirect_chain": _redirect_chain(documents),
        "tls": _tls(state, document),
        "requests": {
            **(network.counts() if network else _zero_counts()),
            "failures": network.failures() if network else [],
            "websockets": network.websockets if network else [],
        },
        "responses": [exchange.summary() for exchange in network.exchanges] if network else [],
        "page": {
            "load_event": state.load_fired,
            "network_settled": state.settled,
            "frames": text.frames if text else [],
            "links": len(text.links) if text else 0,
            "scroll": state.scroll.to_dict() if state.scroll else None,
            "screenshot": state.screenshot.to_dict() if state.screenshot else None,
            "beforeunload_handler": state.beforeunload,
        },
        **({"private_network": state.private_network.to_dict()} if state.private_network else {}),
        "dialogs": [d.to_dict() for d in events.dialogs] if events else [],
        "popups": [p.to_dict() for p in events.popups] if events else [],
        **({"opened_by": dict(state.opened_by)} if state.opened_by else {}),
        "downloads": [d.to_dict() for d in events.downloads] if events else [],
        "images": state.images.images if state.images else [],
        **({"media": state.media} if state.media is not None else {}),
        **({"photo_hashing": {"pdq": PDQ_LIBRARY}} if options.photo_hashes else {}),
        "indicators": {"count": len(state.indicators or []), "artefact": _named(files, "indicators.json")},
        "browser": state.browser.describe(),
        "software": meta.software(),
        "settings": {
            "user_agent": options.user_agent or state.browser.capture_user_agent,
            "user_agent_source": "option" if options.user_agent else "browser default, headless marker removed",
            "viewport": {"width": options.viewport[0], "height": options.viewport[1]},
            "proxy": state.proxy.display if state.proxy else None,
            "storage_state": state.storage_state,
            "profile": options.profile.describe() if options.profile else None,
            "vantage": options.vantage,
            "url_credentials": state.url_credentials.describe(state.salt) if state.url_credentials else None,
            "timeout_ms": int(options.timeout_s * 1000),
            "pdf": options.pdf,
            "mhtml": options.mhtml,
            "ignore_https_errors": options.ignore_https_errors,
            "private_network": "allowed" if options.allow_private_network else "blocked",
            "region": options.region,
            "service_workers": "blocked",
            "downloads": "kept in the capture folder",
            "consent": options.consent,
            "fingerprint": fingerprint(options, state.browser),
            "media": {
                "extractors": options.media,
                "max_bytes": options.media_max_bytes,
                "timeout_ms": int(options.media_timeout_s * 1000),
            },
            "max_popups": options.max_popups,
        },
        "times": meta.times(state.started, state.ended, state.steps),
        "host": meta.host(),
        "artefacts": [f.artefact.to_dict() for f in files],
    }


def _http(document: Exchange, salt: bytes) -> dict[str, Any]:
    return {
        "url": document.url,
        "status": document.status,
        "status_text": document.status_text,
        "protocol": document.protocol,
        "headers": [[name, value] for name, value in redact_headers(document.response_headers, salt)],
        "server_ip": document.server_ip,
        "server_port": document.server_port,
        "body_state": document.body_state,
    }


def _named(files: list[CapturedFile], name: str) -> str | None:
    return name if any(f.artefact.name == name for f in files) else None


def _zero_counts() -> dict[str, int]:
    return {"total": 0, "completed": 0, "failed": 0, "aborted": 0, "blocked": 0, "unfinished": 0, "downloads": 0}
