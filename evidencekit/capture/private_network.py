"""Keeping a page on a public address away from the investigator's own machine and network.

A hostile page can make the capture browser fetch http://127.0.0.1:<port>/ or a router's 192.168.x.y
admin page: images, scripts, frames, navigations, redirects. By default every such request is refused,
judged by the address it connects to; ``capture --allow-private-network`` lets them through for
captures of intranet pages. A page whose own address is loopback or private is exempt: it is on that
network already (the test fixtures, an intranet page).

Two checks do it, and both are recorded in ``metadata.json`` (``private_network``):

- Chromium's Local Network Access check, made by the network service on the address each connection
  actually goes to (so a DNS answer that changes between two lookups, IPv6, redirects and IPv4-mapped
  forms change nothing). The capture decides its outcome: the permission it asks for is set to denied
  (or granted, when allowed or exempt) for the capture's own browser context, and the launch turns the
  check on for navigations, frames and workers too (see ``LAUNCH_FEATURES``).
- Our own check, for what Chromium leaves out: the capture's own navigation, which Chromium treats as
  the user's, and its redirects. Each hop after the first is held (DevTools Fetch) while its host is
  resolved; a hop to a loopback, private or link-local address is refused before any connection is made.
  This is resolve-then-check: a name whose DNS answer changes between our lookup and the browser's could
  slip past it, so every response's address is checked again afterwards, and one that reached such an
  address anyway makes the capture partial (``private-network-reached``), never passes in silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, CDPSession
from playwright.async_api import Error as PlaywrightError

BY_EVIDENCEKIT = "evidencekit, before connecting (the host's addresses were resolved and checked)"
BY_EVIDENCEKIT_PROXIED = (
    "evidencekit, before the request went to the proxy (the address written in the URL was checked; host names "
    "are the proxy's to resolve)"
)
BY_CHROMIUM = "Chromium's Local Network Access check, on the address it was connecting to"
# Chromium's check covers sub-resources by default; these extend it to what a page can navigate.
LAUNCH_FEATURES = (
    "LocalNetworkAccessChecks",
    "LocalNetworkAccessForNavigations",
    "LocalNetworkAccessForSubframeNavigations",
    "LocalNetworkAccessForWorkers",
)
# With --allow-private-network: the check only warns (in DevTools), for sub-resources as for navigations.
ALLOW_FEATURES = ("LocalNetworkAccessChecks:LocalNetworkAccessChecksWarn/true",)
# The permission names Chromium has used for the check (renamed across versions); unknown ones are skipped.
_PERMISSIONS = ("local-network-access", "local-network", "loopback-network")
_RESOLVE_S = 5.0

_LOOPBACK = tuple(ipaddress.ip_network(n) for n in ("127.0.0.0/8", "0.0.0.0/8", "::1/128", "::/128"))
# RFC 1918, shared address space (RFC 6598), link-local, unique local: where routers and intranets live.
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
    )
)


def address_space(address: str) -> str:
    """ "loopback", "private" or "public" for an IP address (IPv4-mapped IPv6 judged as its IPv4 form);
    "unknown" for anything that is not one. Documentation ranges (TEST-NET) count as public, as in
    Chromium: only the machine itself and the private networks are protected."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in _LOOPBACK):
        return "loopback"
    if any(ip in network for network in _PRIVATE):
        return "private"
    return "public"


async def resolve(host: str, names: bool = True) -> list[str]:
    """The addresses ``host`` stands for: itself if it is an IP address, else what the system resolver
    answers (empty if it cannot, or if ``names`` is False)."""
    bare = host.strip("[]")
    if address_space(bare) != "unknown":
        return [bare]
    if not names:
        # Not looked up; but "localhost" names the machine itself wherever it is resolved (RFC 6761).
        lowered = bare.lower().rstrip(".")
        return ["127.0.0.1"] if lowered == "localhost" or lowered.endswith(".localhost") else []
    try:
        answers = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(bare, None, type=socket.SOCK_STREAM), _RESOLVE_S
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def _bare(address: str) -> str:
    """An IP address in one form: no brackets, no zone, IPv4-mapped IPv6 as IPv4."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip)


def _remember_url(urls: dict[str, str], event: dict[str, Any]) -> None:
    request = event.get("request")
    if isinstance(request, dict) and isinstance(request.get("url"), str):
        urls[str(event.get("requestId"))] = request["url"]


def protected(address: str) -> bool:
    return address_space(address) in ("loopback", "private")


@dataclass
class PrivateNetworkGuard:
    """The policy of one capture and what it blocked. ``resolve_names``: False when a proxy connects on
    the capture's behalf (the proxy resolves names; looking them up here would leak them to the local
    resolver), then only addresses written as such are judged by our check."""

    allow: bool
    resolve_names: bool = True
    proxy_server: str | None = None  # the configured proxy ("http://127.0.0.1:8899"), whose address answers for all
    proxy_addresses: list[str] = field(default_factory=list)
    page_address: str | None = None
    page_space: str = "unknown"
    blocked: list[dict[str, Any]] = field(default_factory=list)
    reached: list[dict[str, Any]] = field(default_factory=list)  # got through despite the checks
    _first_hop_seen: bool = False
    _checks: set[asyncio.Task[None]] = field(default_factory=set)  # held: asyncio keeps only weak references

    @property
    def enforcing(self) -> bool:
        """Whether requests are being refused: not when allowed, nor for a page on such a network itself."""
        return not self.allow and self.page_space not in ("loopback", "private")

    async def start(self, browser: Browser, cdp: CDPSession, requested_url: str) -> None:
        """Before the capture navigates: judge the page's own address, set Chromium's permission for the
        capture's browser context accordingly, and hold the main frame's document requests for our check."""
        if self.proxy_server is not None:
            # The proxy's own name is the investigator's setting, looked up by the browser anyway.
            self.proxy_addresses = await resolve(urlsplit(self.proxy_server).hostname or "")
        addresses = await resolve(urlsplit(requested_url).hostname or "", self.resolve_names)
        spaces = {address_space(a) for a in addresses}
        self.page_address = addresses[0] if addresses else None
        # A name that resolves to both kinds is judged by the most exposed one: it is not exempt.
        self.page_space = next((s for s in ("public", "private", "loopback") if s in spaces), "unknown")
        await self._set_permission(browser, cdp, "denied" if self.enforcing else "granted")
        urls: dict[str, str] = {}
        cdp.on("Network.requestWillBeSent", lambda event: _remember_url(urls, event))
        cdp.on("Network.loadingFailed", lambda event: self._loading_failed(urls, event))
        if self.enforcing:
            cdp.on("Fetch.requestPaused", lambda event: self._hold(self._paused(cdp, event)))
            # Through a proxy, Chromium's own check sees only the proxy (every request goes to it, loopback
            # ones included), so every request of the page is held for ours, not only its documents.
            held = {"urlPattern": "*", "requestStage": "Request"}
            if self.proxy_server is None:
                held["resourceType"] = "Document"
            await cdp.send("Fetch.enable", {"patterns": [held]})

    async def _set_permission(self, browser: Browser, cdp: CDPSession, setting: str) -> None:
        target = await cdp.send("Target.getTargetInfo")
        context_id = target["targetInfo"].get("browserContextId")
        session = await browser.new_browser_cdp_session()
        try:
            for name in _PERMISSIONS:
                with contextlib.suppress(PlaywrightError):  # a name this Chromium does not know
                    await session.send(
                        "Browser.setPermission",
                        {"permission": {"name": name}, "setting": setting, "browserContextId": context_id},
                    )
        finally:
            with contextlib.suppress(PlaywrightError):
                await session.detach()

    def _hold(self, check: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(check)
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _paused(self, cdp: CDPSession, event: dict[str, Any]) -> None:
        request_id = event.get("requestId")
        url = str((event.get("request") or {}).get("url") or "")
        first, self._first_hop_seen = not self._first_hop_seen, True
        try:
            if not first:  # the first is the URL the investigator asked for, judged above
                addresses = await resolve(urlsplit(url).hostname or "", self.resolve_names)
                bad = next((a for a in addresses if protected(a)), None)
                if bad is not None:
                    by = BY_EVIDENCEKIT if self.proxy_server is None else BY_EVIDENCEKIT_PROXIED
                    self.blocked.append({"url": url, "address": bad, "by": by})
                    await cdp.send("Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"})
                    return
            await cdp.send("Fetch.continueRequest", {"requestId": request_id})
        except PlaywrightError:
            pass  # the page or the request is gone: nothing is left to let through

    def _loading_failed(self, urls: dict[str, str], event: dict[str, Any]) -> None:
        """DevTools names Chromium's refusals of sub-resources (Playwright sees only net::ERR_FAILED)."""
        cors = (event.get("corsErrorStatus") or {}).get("corsError")
        url = urls.get(str(event.get("requestId")))
        if url is not None:
            self.note_failure(url, f"{event.get('errorText') or ''} {cors or ''}")

    def note_failure(self, url: str, failure: str | None, address: str | None = None) -> None:
        """A request that failed: recorded as blocked if Chromium's check refused it."""
        text = failure or ""
        refused = "LOCAL_NETWORK_ACCESS" in text or "LocalNetwork" in text
        if refused and not any(entry["url"] == url and entry["by"] == BY_CHROMIUM for entry in self.blocked):
            self.blocked.append({"url": url, "address": address, "by": BY_CHROMIUM})

    def note_response(self, url: str, server_ip: str | None, server_port: int | None = None) -> None:
        """A response came: from a protected address while enforcing, the checks were got round. Through a
        proxy, the browser connects to the proxy and names its address for every response: that is the
        investigator's own proxy (Tor on 127.0.0.1:9050), not a private address the page reached; where the
        proxy connected for the page cannot be seen from here."""
        if not (self.enforcing and server_ip and protected(server_ip)) or self._is_proxy(server_ip, server_port):
            return
        self.reached.append({"url": url, "address": server_ip})

    def _is_proxy(self, server_ip: str, server_port: int | None) -> bool:
        if self.proxy_server is None:
            return False
        proxy = urlsplit(self.proxy_server)
        bare = _bare(server_ip)
        same_host = any(_bare(address) == bare for address in self.proxy_addresses)
        return same_host and (server_port is None or proxy.port is None or server_port == proxy.port)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": "allow" if self.allow else "block",
            "page_address": self.page_address,
            "page_address_space": self.page_space,
            "blocked": list(self.blocked),
        }
