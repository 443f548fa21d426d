"""The capture's own JavaScript world on the page's main frame.

Scripts the capture runs (scrolling, reading the visible text and links) share the page's DOM but not its
JavaScript globals: an isolated world (DevTools ``Page.createIsolatedWorld``) has its own ``setTimeout``,
``performance``, prototypes and getters. A hostile page that replaces ``innerText`` or
``querySelectorAll`` to hide its text, or breaks the timers, therefore changes nothing the capture sees.
A navigation destroys the world with its document; the next call makes a new one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import CDPSession
from playwright.async_api import Error as PlaywrightError

WORLD_NAME = "evidencekit-capture"
_GONE = ("cannot find context", "context was destroyed", "execution context", "no frame")


class ScriptError(PlaywrightError):
    """A capture script threw inside the page (its message is the script's own)."""


class OwnWorld:
    def __init__(self, cdp: CDPSession) -> None:
        self._cdp = cdp
        self._context: int | None = None

    @property
    def cdp(self) -> CDPSession:
        return self._cdp

    async def run(self, script: str, arg: Any = None, timeout_s: float = 10.0) -> Any:
        """Call the function ``script`` with ``arg`` in the world and return its JSON-able result; one
        retry in a new world if a navigation swapped the document underneath."""
        for attempt in (1, 2):
            try:
                return await asyncio.wait_for(self._call(script, arg), max(0.1, timeout_s))
            except ScriptError:
                raise
            except PlaywrightError as exc:
                self._context = None
                if attempt == 2 or not any(marker in (exc.message or "").lower() for marker in _GONE):
                    raise
                await asyncio.sleep(0.2)
        return None

    async def run_on_node(self, backend_node_id: int, script: str, timeout_s: float = 10.0) -> Any:
        """Call the function ``script`` with a DOM node as ``this``, the node named by DevTools (which
        reaches what the page's scripts cannot: a closed shadow root, say), resolved in the world."""

        async def call() -> Any:
            context = await self._context_id()
            node = await self._cdp.send(
                "DOM.resolveNode", {"backendNodeId": backend_node_id, "executionContextId": context}
            )
            object_id = node["object"]["objectId"]
            try:
                return await self._answer({"functionDeclaration": script, "objectId": object_id})
            finally:
                await self._cdp.send("Runtime.releaseObject", {"objectId": object_id})

        return await asyncio.wait_for(call(), max(0.1, timeout_s))

    async def _context_id(self) -> int:
        if self._context is None:
            tree = await self._cdp.send("Page.getFrameTree")
            frame_id = tree["frameTree"]["frame"]["id"]
            world = await self._cdp.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": WORLD_NAME})
            self._context = int(world["executionContextId"])
        return self._context

    async def _call(self, script: str, arg: Any) -> Any:
        context = await self._context_id()
        return await self._answer(
            {"functionDeclaration": script, "executionContextId": context, "arguments": [{"value": arg}]}
        )

    async def _answer(self, call: dict[str, Any]) -> Any:
        answer = await self._cdp.send("Runtime.callFunctionOn", {**call, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            description = (details.get("exception") or {}).get("description") or details.get("text") or "error"
            raise ScriptError(f"a capture script failed in the page: {str(description).splitlines()[0]}")
        return (answer.get("result") or {}).get("value")
