"""The network log against real Chromium: headers as they went over the wire, whichever way they came.

The capture takes the raw request and response headers from the DevTools events its own session already
receives, and asks Playwright only where those cannot be matched for certain. Both ways must give the
same lists; these tests hold the event path to what Playwright itself reports and to what the server saw.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import pytest
from fixture_site import FixtureSite
from playwright.async_api import async_playwright

from evidencekit.capture.browser import find_browser, launch_args, sandbox_available
from evidencekit.capture.exchange import Exchange
from evidencekit.capture.network import NetworkLog
from evidencekit.capture.session import open_tab


async def _load(site: FixtureSite, path: str) -> tuple[NetworkLog, list[Exchange], dict[str, Any]]:
    """Load ``path`` with a network log attached; return the log, the exchanges it completed and, for each
    URL, the raw headers Playwright reports for the same request and response."""
    done: list[Exchange] = []
    info = find_browser(None, os.environ)
    sandbox = sandbox_available()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=info.path, args=launch_args(sandbox), chromium_sandbox=sandbox
        )
        tab = await open_tab(browser, {"viewport": {"width": 1000, "height": 700}})
        network = NetworkLog(tab.page, done.append)
        network.attach(tab.context, tab.cdp)
        asked: dict[str, Any] = {}

        async def ask(response: Any) -> None:
            request_headers = await response.request.headers_array()
            response_headers = await response.headers_array()
            asked[response.url] = (
                [(h["name"], h["value"]) for h in request_headers],
                [(h["name"], h["value"]) for h in response_headers],
            )

        pending: list[asyncio.Task[None]] = []
        tab.page.on("response", lambda response: pending.append(asyncio.ensure_future(ask(response))))
        await tab.page.goto(site.url(path))
        await network.wait_idle(0.3, time.monotonic() + 10)
        await network.finish(time.monotonic() + 10)
        await asyncio.gather(*pending)
        await browser.close()
    return network, done, asked


def test_wire_headers_come_from_the_events_and_equal_playwrights(site: FixtureSite) -> None:
    network, done, asked = asyncio.run(_load(site, "/headers-echo"))
    (exchange,) = [e for e in done if e.url == site.url("/headers-echo")]
    assert network.header_queries == 0, "the document's headers were asked of Playwright, not taken from events"
    assert (exchange.request_headers, exchange.response_headers) == asked[exchange.url]
    # What the server received, name for name: Host and Accept-Encoding are there (the provisional headers
    # of the request event lack them), in the spelling the browser sent.
    echoed = json.loads(exchange.body or b"{}")
    assert sorted(exchange.request_headers) == sorted(echoed.items())
    assert {"Host", "Accept-Encoding"} <= {name for name, _ in exchange.request_headers}
    # Repeated response headers stay separate lines, names as the server spelled them.
    listed = exchange.response_headers
    assert [v for k, v in listed if k.lower() == "set-cookie"] == ["session=abc123; Path=/", "seen=1; Path=/"]
    assert [v for k, v in listed if k == "X-Listing"] == ["ad-1041", "ad-1042"]
    assert ("X-Evidence-Case", "MiXeD") in listed


def test_a_redirect_chain_is_asked_of_playwright_and_still_right(site: FixtureSite) -> None:
    network, done, asked = asyncio.run(_load(site, "/redirect/start"))
    hops = sorted((e for e in done if "/redirect/" in e.url), key=lambda e: e.seq)
    assert [e.status for e in hops][:3] == [301, 302, 200]  # then the meta refresh's page
    assert network.header_queries >= 2  # the hops share one DevTools requestId: never matched from events
    for exchange in hops:
        assert (exchange.request_headers, exchange.response_headers) == asked[exchange.url]
        assert exchange.header("content-type") is not None or exchange.status != 200


@pytest.mark.parametrize("path", ["/lazy.html", "/jobs/domestic-work.html"])
def test_every_exchange_of_a_page_has_playwrights_headers(site: FixtureSite, path: str) -> None:
    _, done, asked = asyncio.run(_load(site, path))
    assert done
    for exchange in done:
        if exchange.url in asked:
            assert (exchange.request_headers, exchange.response_headers) == asked[exchange.url], exchange.url


def test_a_page_left_by_meta_refresh_keeps_its_body_every_time(site: FixtureSite, tmp_path) -> None:
    """Chromium drops a document's bodies when the next one commits; without durable messages about a
    third of these captures lost meta.html's body (measured), so six in a row all keep it."""
    from evidencekit.capture import CaptureOptions, capture_many

    results = capture_many([site.url("/redirect/start")] * 6, CaptureOptions(timeout_s=45), tmp_path, concurrency=2)
    for result in results:
        (meta_page,) = [r for r in result.metadata["responses"] if r["url"].endswith("/redirect/meta.html")]
        assert meta_page["body_state"] == "complete", meta_page  # the note says which path lost it


def test_one_address_asked_for_again_and_again_keeps_each_requests_own_headers(site: FixtureSite, tmp_path) -> None:
    """tagged.html asks one cross-origin API address three times (each behind a CORS preflight that
    Playwright does not report) and one same-origin address twice at once, the first ending last. In the
    WARC, every request record to the API carries the X-Tag that its own response names."""
    from warcio.archiveiterator import ArchiveIterator

    from evidencekit.capture import CaptureOptions, capture_many

    (result,) = capture_many([site.url("/tagged.html")], CaptureOptions(timeout_s=45), tmp_path, concurrency=1)
    assert result.status == "complete", result.reasons
    warc = next(f.path for f in result.files if f.artefact.name == "capture.warc.gz")
    answered: dict[str, str] = {}
    asked: dict[str, str] = {}
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if not (record.rec_headers.get_header("WARC-Target-URI") or "").endswith("/api/tagged"):
                continue
            if record.rec_type == "response":
                answered[record.rec_headers.get_header("WARC-Record-ID")] = json.loads(record.content_stream().read())[
                    "tag"
                ]
            elif record.rec_type == "request":
                asked[record.rec_headers.get_header("WARC-Concurrent-To")] = record.http_headers.get_header("X-Tag")
    assert sorted(answered.values()) == ["fast", "one", "slow", "three", "two"]
    assert asked == answered
