"""What the capture does inside the page: scroll lazy content in, read visible text and links from every
frame and open shadow root, and notice a beforeunload handler. Scripts on the main frame run in the
capture's own world (see ``world``); child frames are read in their own. Every call is bounded in time:
a hostile page can stall them, never the capture."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import CDPSession, Frame, Page
from playwright.async_api import Error as PlaywrightError

from evidencekit.capture import scripts
from evidencekit.capture.network import NetworkLog
from evidencekit.capture.screenshot import MAX_PAGE_HEIGHT
from evidencekit.capture.wording import first_line
from evidencekit.capture.world import OwnWorld

SCROLL_BATCH = 40
_SLOW_PASS_PAUSE_FRAMES = 12  # ~200 ms at 60 frames a second, longer than common loaders' 100-150 ms throttles
QUIET_S = 0.3
_SETTLE_AT_BOTTOM_S = 4.0
_GROWTH_POLL_S = 0.1  # while requests come and go at the bottom, how often to look whether the page grew
# "Room below the reader" means more than this many CSS pixels between the view's bottom and the page's
# (sub-pixel layout and rounding leave a pixel or two at the very bottom); the scripts that ask are given it.
ROOM_SLACK_PX = 2

# The scripts, one per file in scripts/ (each file says what it does and why).
_SCROLL_JS = scripts.load("scroll.js")
_TOP_JS = scripts.load("to-top.js")
_BELOW_JS = scripts.load("room-below.js")
_LAZY_LEFT_JS = scripts.load("lazy-images-left.js")
_ROOM_JS = scripts.load("top-unless-grown.js")  # called with ROOM_SLACK_PX
_GREW_JS = scripts.load("watch-unless-grown.js")  # called with ROOM_SLACK_PX
_CHANGED_JS = scripts.load("dom-changed.js")
_SHOW_SKIPPED_JS = scripts.load("show-skipped.js")
_HIDE_SKIPPED_JS = scripts.load("hide-skipped.js")
_DOM_JS = scripts.load("dom.js")
_TEXT_JS = scripts.load("visible-text.js")
_SHADOW_ROOT_TEXT_JS = scripts.load("shadow-root-text.js")


@dataclass
class ScrollReport:
    steps: int = 0
    rounds: int = 0
    reached_bottom: bool = False
    stopped_by: str = "deadline"  # "bottom", "deadline", "height-limit", "error"
    final_height: int = 0
    error: str | None = None
    lazy_images_left: int = 0  # held back after the first pass through the page: a slow pass followed
    slow_pass: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "growth_rounds": self.rounds,
            "reached_bottom": self.reached_bottom,
            "stopped_by": self.stopped_by,
            "final_height": self.final_height,
            "error": self.error,
            "lazy_images_left": self.lazy_images_left,
            "slow_pass": self.slow_pass,
        }


@dataclass
class PageText:
    """What was read from the page's frames. ``not_own_text`` and ``furniture_links`` tell the site's
    furniture and links elsewhere from the author's own words (main frame only; see
    ``evidencekit.indicators.page``); they decide which indicators are marked ``site``, never the text."""

    text: str = ""
    links: list[str] = field(default_factory=list)
    title: str = ""
    frames: list[dict[str, Any]] = field(default_factory=list)
    not_own_text: list[str] = field(default_factory=list)
    furniture_links: list[str] = field(default_factory=list)
    furniture_images: list[str] = field(default_factory=list)  # image addresses shown only in furniture


async def scroll_through(
    world: OwnWorld,
    network: NetworkLog,
    deadline: float,
    at_bottom: Callable[[bool], Awaitable[None]] | None = None,
) -> ScrollReport:
    """Scroll to the bottom a viewport at a time, let the network settle, repeat while the page grows. If
    lazy images are still held back then, go through the page once more, slowly (see
    scripts/lazy-images-left.js).

    ``at_bottom(at_top)`` is called each time the bottom is reached and no request is open, before the
    quiet period there (so the caller can use that time); ``at_top``: the bottom is also the top (the page
    never had to move, and did not land lower, at a #fragment say)."""
    report = ScrollReport()
    pause_frames = 0
    try:
        while time.monotonic() < deadline:
            batch = {"maxSteps": SCROLL_BATCH, "pauseFrames": pause_frames}
            result = await world.run(_SCROLL_JS, batch, deadline - time.monotonic())
            report.steps += int(result["steps"])
            report.final_height = int(result["height"])
            if report.final_height >= MAX_PAGE_HEIGHT:
                report.stopped_by = "height-limit"
                break
            if not result["bottom"]:
                continue
            report.reached_bottom = True
            # Quiet is counted from the last scroll too: debounced scroll handlers and request events
            # still on their way from the browser would otherwise pass for an idle network.
            if int(result["steps"]) > 0:  # else nothing moved: quiet counts from the network alone
                network.touch(ago_s=_seconds_ago(result["sinceScroll"]))
            arrived = time.monotonic()
            settle_until = min(deadline, arrived + _SETTLE_AT_BOTTOM_S)
            if at_bottom is not None and await network.wait_idle(0.0, settle_until):
                await at_bottom(report.steps == 0 and int(result["y"]) == 0)
            # An endless feed appends below the reader once they reach the bottom: scroll on if it did.
            if await _grew_while_settling(world, network, arrived, settle_until):
                report.rounds += 1
                continue
            room = await world.run(_ROOM_JS, ROOM_SLACK_PX, max(1.0, deadline - time.monotonic()))
            report.final_height = int(room["height"])
            if int(room["below"]) <= ROOM_SLACK_PX:
                if report.steps > 0 and not report.slow_pass:
                    left = int(await world.run(_LAZY_LEFT_JS, None, max(1.0, deadline - time.monotonic())))
                    if left > 0:
                        # A loader that looks only every so often (lazysizes: every 125 ms) misses what a
                        # quick pass goes by: once more from the top, pausing at each position.
                        report.lazy_images_left, report.slow_pass = left, True
                        pause_frames = _SLOW_PASS_PAUSE_FRAMES
                        continue
                report.stopped_by = "bottom"
                return report  # and back at the top
            report.rounds += 1
        await world.run(_TOP_JS, None, max(1.0, deadline - time.monotonic()))
    except (PlaywrightError, TimeoutError) as exc:
        report.stopped_by = "error"
        report.error = first_line(exc)
    except (KeyError, TypeError, ValueError) as exc:  # an answer that is not what the script returns
        report.stopped_by = "error"
        report.error = f"the page's scripts disturbed scrolling ({type(exc).__name__}: {exc})"
    return report


def _seconds_ago(milliseconds: Any) -> float:
    """The time since the last scroll step as the page measured it; 0 (now) if it cannot say sensibly."""
    if isinstance(milliseconds, int | float) and math.isfinite(milliseconds) and 0 <= milliseconds < 60_000:
        return float(milliseconds) / 1000
    return 0.0


async def _grew_while_settling(world: OwnWorld, network: NetworkLog, arrived: float, until: float) -> bool:
    """Wait for the quiet period at the bottom; True as soon as the page has grown below the reader
    instead (something loaded since the bottom was reached, and there is room to scroll again)."""
    while True:
        if await network.wait_idle(QUIET_S, min(until, time.monotonic() + _GROWTH_POLL_S)):
            return False
        if time.monotonic() >= until:
            return False
        if network.last_activity > arrived:
            room = await world.run(_BELOW_JS, None, max(0.5, until - time.monotonic()))
            if int(room["below"]) > ROOM_SLACK_PX:
                return True


async def watch_unless_grown(world: OwnWorld, timeout_s: float) -> bool:
    """True if there is room below the reader again; if not, the watch on the DOM starts (see
    scripts/watch-unless-grown.js). False if that cannot be told (dom_changed then says the DOM changed)."""
    try:
        return await world.run(_GREW_JS, ROOM_SLACK_PX, timeout_s) is True
    except (PlaywrightError, TimeoutError):
        return False


async def read_dom(world: OwnWorld, timeout_s: float) -> str:
    """The main frame's rendered DOM (see scripts/dom.js)."""
    dom = await world.run(_DOM_JS, None, timeout_s)
    if not isinstance(dom, str):
        raise PlaywrightError("the page's DOM could not be read as text")
    return dom


async def dom_changed(world: OwnWorld, timeout_s: float) -> bool:
    """Whether the DOM changed since watch_unless_grown last started watching it; True if that cannot be
    told."""
    try:
        return await world.run(_CHANGED_JS, None, timeout_s) is not False
    except (PlaywrightError, TimeoutError):
        return True


async def show_skipped(world: OwnWorld, timeout_s: float) -> int:
    """Show what content-visibility: auto keeps unpainted (see scripts/show-skipped.js); how many sections."""
    try:
        count = await world.run(_SHOW_SKIPPED_JS, None, timeout_s)
    except (PlaywrightError, TimeoutError):
        return 0
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


async def hide_skipped(world: OwnWorld, timeout_s: float) -> None:
    """Take away what show_skipped added (a failure leaves only a style, never a DOM change)."""
    with contextlib.suppress(PlaywrightError, TimeoutError):
        await world.run(_HIDE_SKIPPED_JS, None, timeout_s)


async def read_text(page: Page, world: OwnWorld, timeout_s: float) -> PageText:
    """Visible text and links of every frame, main frame first; frames that fail are noted, not fatal.
    The main frame is read from the capture's own world, where the page cannot redefine what is read."""
    collected = PageText()
    sections: list[str] = []
    other_links: set[str] = set()  # read outside the main frame's light DOM: never only the furniture's
    for index, frame in enumerate(page.frames):
        entry: dict[str, Any] = {"index": index, "url": frame.url, "name": frame.name}
        try:
            share = max(0.5, timeout_s / max(1, len(page.frames)))
            result = await (
                world.run(_TEXT_JS, None, share) if index == 0 else asyncio.wait_for(_frame_text(frame), share)
            )
        except (PlaywrightError, TimeoutError) as exc:
            entry["error"] = first_line(exc)
            collected.frames.append(entry)
            continue
        shadows = [str(s) for s in result["shadows"]]
        if index == 0:
            closed = await closed_shadow_text(world, share)
            shadows += closed.text
            collected.links.extend(closed.links)
            other_links.update(closed.links)
            entry["closed_shadow_roots"] = closed.roots
        body = "\n".join([str(result["text"]).strip(), *shadows]).strip()
        entry["characters"] = len(body)
        entry["shadow_roots_with_text"] = len(shadows)
        collected.frames.append(entry)
        collected.links.extend(str(link) for link in result["links"])
        if index > 0:
            other_links.update(str(link) for link in result["links"])
        if index == 0:
            collected.title = str(result["title"])
            collected.not_own_text = [str(text) for text in result.get("notOwn") or []]
            collected.furniture_links = [str(link) for link in result.get("furnitureLinks") or []]
            collected.furniture_images = [str(url) for url in result.get("furnitureImages") or []]
            sections.append(body)
        elif body:
            sections.append(f"===== frame {index}: {frame.url} =====\n{body}")
    collected.text = "\n\n".join(section for section in sections if section) + "\n"
    collected.links = list(dict.fromkeys(collected.links))
    collected.furniture_links = [link for link in collected.furniture_links if link not in other_links]
    return collected


@dataclass
class ClosedShadowText:
    roots: int = 0  # closed shadow roots found in the main frame's document
    text: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


async def closed_shadow_text(world: OwnWorld, timeout_s: float) -> ClosedShadowText:
    """Text and links of the main frame's closed shadow roots. A page shows them, but neither its scripts
    nor ours can reach them from the document; DevTools can (DOM.getDocument with pierce), and each root
    it names is read from the capture's own world. Child frames' documents are left out (their text is
    read in their own frame). A failure leaves the text without them, never the capture."""
    found = ClosedShadowText()
    started = time.monotonic()
    try:
        tree = await asyncio.wait_for(
            world.cdp.send("DOM.getDocument", {"depth": -1, "pierce": True}), max(0.5, timeout_s)
        )
    except (PlaywrightError, TimeoutError):
        return found
    finally:
        # getDocument turns on DOM events for every node it sent: not wanted for the rest of the capture.
        with contextlib.suppress(PlaywrightError):
            await world.cdp.send("DOM.disable")
    for backend_id in _closed_roots(tree.get("root")):
        found.roots += 1
        left = timeout_s - (time.monotonic() - started)
        try:
            result = await world.run_on_node(backend_id, _SHADOW_ROOT_TEXT_JS, max(0.5, left))
            found.text.extend(str(text) for text in result["texts"])
            found.links.extend(str(link) for link in result["links"])
        except (PlaywrightError, TimeoutError, KeyError, TypeError):
            continue
    return found


def _closed_roots(root: Any) -> list[int]:
    """The backend node ids of the closed shadow roots in a DOM.getDocument tree, in document order,
    without descending into child frames' documents."""
    found: list[int] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if node.get("shadowRootType") == "closed" and isinstance(node.get("backendNodeId"), int):
            found.append(node["backendNodeId"])
        children = [*(node.get("shadowRoots") or []), *(node.get("children") or [])]
        stack.extend(reversed(children))
    return found


async def _frame_text(frame: Frame) -> dict[str, Any]:
    result: dict[str, Any] = await frame.evaluate(_TEXT_JS)
    return result


async def has_beforeunload(cdp: CDPSession) -> bool:
    """Whether the page registered a beforeunload handler. Chromium shows that dialog only after a user
    gesture, which a capture never makes, so the handler is looked up instead of waited for."""
    try:
        window = await cdp.send("Runtime.evaluate", {"expression": "window", "objectGroup": "evidencekit"})
        object_id = window["result"]["objectId"]
        # Lists addEventListener handlers and window.onbeforeunload alike.
        listeners = await cdp.send("DOMDebugger.getEventListeners", {"objectId": object_id})
    except (PlaywrightError, KeyError):
        return False
    return any(item.get("type") == "beforeunload" for item in listeners.get("listeners", []))
