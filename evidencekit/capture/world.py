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

    async def _call(self, script: str, arg: Any) -> Any:
        if self._context is None:
            tree = await self._cdp.send("Page.getFrameTree")
            frame_id = tree["frameTree"]["frame"]["id"]
            world = await self._cdp.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": WORLD_NAME})
            self._context = int(world["executionContextId"])
        answer = await self._cdp.send(
            "Runtime.callFunctionOn",
            {
                "functionDeclaration": script,
                "executionContextId": self._context,
                "arguments": [{"value": arg}],
                "returnByValue": True,
                "awaitPromise": True,
            },
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            description = (details.get("exception") or {}).get("description") or details.get("text") or "error"
            raise ScriptError(f"a capture script failed in the page: {str(description).splitlines()[0]}")
        return (answer.get("result") or {}).get("value")
