"""Consent walls: ``capture --consent accept|leave``.

``leave`` (the default) captures the page as it was shown, consent dialog and all: the record says so
(``consent: {"mode": "leave"}``) and clicks nothing. ``accept`` clicks the accept control of a known consent
framework once the arrival screenshot is taken (that screenshot stays as the visitor landed: before any
click), then the capture goes on (scrolling, settling, the full-page screenshot and the reading come after).
Known frameworks are found by their documented selectors (OneTrust, Cookiebot, Didomi, Quantcast Choice,
TrustArc, Usercentrics, Sourcepoint in its frame, Google Funding Choices, Klaro, Osano, Complianz, CookieYes
and a few more); failing those, a button whose whole text is a clear "Accept all" in one of several
languages inside a consent UI (see scripts/consent.js: never in a dialog asking an age, a payment, a job or
a contract, never a link away). Every click is recorded exactly (selector, the button's text, the frame's
URL when clicked, the time, the framework) in the metadata and as a step: the capture shows the page after
an action of the tool's, and says which. A click that makes the page leave its document is recorded too
(``navigated_to``) and makes the capture partial (``consent-click-navigated``): what follows is where the
click led, not the page asked for. The capture does not go back (a second request would be another visit).

The clicks are real mouse clicks (Playwright's), as a visitor's would be; nothing is injected into the
page, and nothing else about the browser changes.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urldefrag

from playwright.async_api import Frame, Page, Request

from evidencekit.capture import scripts
from evidencekit.capture.metadata import NOTE, PARTIAL
from evidencekit.capture.reading import STEP_ERRORS
from evidencekit.capture.redact import redact_text
from evidencekit.capture.state import CaptureState
from evidencekit.capture.wording import first_line
from evidencekit.capture.world import OwnWorld
from evidencekit.timefmt import format_time, utc_now

ACCEPT, LEAVE = "accept", "leave"
POPUP_NOTE = "pop-up windows are captured as shown; --consent accept acts only on the page asked for"
_CONSENT_JS = scripts.load("consent.js")
# (framework, its accept-all control's documented selector), most specific first.
KNOWN_CONTROLS: tuple[tuple[str, str], ...] = (
    ("OneTrust", "#onetrust-accept-btn-handler"),
    ("Cookiebot", "#CybotCookiebotDialogBodyLevelButtonLevelOptinAllowAll"),
    ("Cookiebot", "#CybotCookiebotDialogBodyButtonAccept"),
    ("Didomi", "#didomi-notice-agree-button"),
    ("Quantcast Choice", ".qc-cmp2-summary-buttons button[mode='primary']"),
    ("TrustArc", "#truste-consent-button"),
    ("Usercentrics", "button[data-testid='uc-accept-all-button']"),
    ("Sourcepoint", "button.sp_choice_type_11"),
    ("Google Funding Choices", "button.fc-cta-consent"),
    ("Klaro", ".klaro .cm-btn-accept-all"),
    ("Klaro", ".klaro .cm-btn-success"),
    ("Osano", ".osano-cm-accept-all"),
    ("Complianz", ".cmplz-btn.cmplz-accept"),
    ("CookieYes", ".cky-btn-accept"),
    ("CookieYes (Cookie Law Info)", "#cookie_action_close_header"),
    ("Axeptio", "#axeptio_btn_acceptAll"),
    ("iubenda", ".iubenda-cs-accept-btn"),
    ("consentmanager", "#cmpbntyestxt"),
    ("Borlabs Cookie", "a._brlbs-btn-accept-all"),
    ("Termly", "[data-tid='banner-accept']"),
    ("CookieFirst", "[data-cookiefirst-action='accept']"),
    ("Civic Cookie Control", "#ccc-notify-accept"),
)
# Whole button texts (lower case, spaces collapsed) the generic fallback clicks in a consent UI: a clear
# consent to all cookies.
ACCEPT_TEXTS: tuple[str, ...] = (
    "accept all", "accept all cookies", "accept cookies", "allow all", "allow all cookies", "allow cookies",
    "accept all and continue", "alle akzeptieren", "alle cookies akzeptieren", "alle zulassen",
    "accepter tout", "tout accepter", "accepter les cookies", "aceptar todo", "aceptar todas",
    "aceptar cookies", "accetta tutto", "accetta tutti", "accetta i cookie", "aceitar todos",
    "alles accepteren", "zaakceptuj wszystko", "принять все", "godkänn alla", "accepter alle",
)  # fmt: skip
# Texts that say yes to anything ("I agree" to a contract, "Accept" a job offer): clicked only in a consent
# UI named so by its own id, class or label (a consent manager's banner), never in a mere dialog.
WEAK_ACCEPT_TEXTS: tuple[str, ...] = (
    "accept", "i accept", "agree", "i agree", "ok", "got it", "agree and continue", "accept and continue",
    "accept & continue", "akzeptieren", "zustimmen", "einverstanden", "akzeptieren und weiter", "accepter",
    "j'accepte", "accepter et continuer", "aceptar", "aceptar y continuar", "accetta", "accetto", "aceitar",
    "accepteren", "akceptuję", "принять",
)  # fmt: skip
# A child frame may be searched with the generic fallback only when its address names consent or privacy.
_CONSENT_FRAME = re.compile(r"consent|privacy|cmp|sourcepoint|cookie|gdpr", re.I)
MAX_CLICKS = 3  # a dialog in two steps, or two dialogs; never a loop
_AFTER_CLICK_S = 0.5  # the dialog's own scripts answer the click
_CLICK_TIMEOUT_S = 3.0
_MAX_FRAMES = 20


def leave_record() -> dict[str, Any]:
    return {"mode": LEAVE}


async def handle(page: Page, world: OwnWorld, state: CaptureState, budget_s: float) -> None:
    """Record the consent mode; with ``accept``, click what a consent dialog offers to accept, each click
    recorded (a step named ``consent-accept-clicked``, and ``consent.clicked`` in the metadata)."""
    if state.options.consent != ACCEPT:
        state.consent = leave_record()
        if state.opened_by is not None:  # see popups: a pop-up's consent is always "leave"
            state.consent["note"] = POPUP_NOTE
        return
    clicked: list[dict[str, Any]] = []
    state.consent = {"mode": ACCEPT, "clicked": clicked}
    until = time.monotonic() + max(1.0, budget_s)
    tried: set[tuple[str, str]] = set()
    while len(clicked) < MAX_CLICKS and time.monotonic() < until:
        found = await _find(page, world, until)
        if found is None:
            break
        frame, control = found
        key = (frame.url, str(control["selector"]))
        if key in tried:  # clicked before and still there: the dialog did not take the click
            break
        tried.add(key)
        frame_url = frame.url  # where the control was: a click that navigates changes the frame's URL
        page_url = page.url
        navigations: list[str] = []
        _navigating = _navigation_watcher(page, navigations)
        page.on("request", _navigating)
        try:
            await frame.locator(str(control["selector"])).first.click(timeout=_CLICK_TIMEOUT_S * 1000)
        except STEP_ERRORS as exc:
            page.remove_listener("request", _navigating)
            state.reasons.add(
                "consent-click-failed",
                f"clicking the consent control {control['selector']} failed: {first_line(exc)}",
                NOTE,
            )
            break
        clicked.append(
            {
                "selector": str(control["selector"]),
                "text": " ".join(str(control.get("text") or "").split())[:200],
                "frame_url": redact_text(frame_url, state.salt),
                "at": format_time(utc_now()),
                "framework": str(control.get("framework") or "generic"),
            }
        )
        state.step("consent-accept-clicked")
        await asyncio.sleep(_AFTER_CLICK_S)
        page.remove_listener("request", _navigating)
        left_for = _left_for(page_url, page.url, navigations)
        if left_for is not None:
            _navigated(state, clicked[-1], page_url, left_for)
            break
    if not clicked:
        state.consent["note"] = "no known consent control was shown; nothing was clicked"
        state.step("consent-accept-none-found")
        return
    said = "; ".join(f"{c['framework']} {c['selector']} ({c['text']!r})" for c in clicked)
    state.reasons.add(
        "consent-accepted",
        f"the capture clicked {len(clicked)} consent control(s) after the arrival screenshot ({said}); the full-page "
        "screenshot, DOM, text and WARC show the page after the click, the viewport screenshot before it",
        NOTE,
    )


def _navigation_watcher(page: Page, into: list[str]) -> Callable[[Request], None]:
    """A ``request`` listener keeping the URL of every navigation the page's main frame starts."""

    def navigating(request: Request) -> None:
        if request.is_navigation_request() and request.frame == page.main_frame:
            into.append(request.url)

    return navigating


def _left_for(before: str, now: str, navigations: list[str]) -> str | None:
    """Where the page went after a click, if the click made it leave its document: a navigation request
    of the main frame, or a main frame now at another address (a fragment alone is no navigation)."""
    if urldefrag(now).url != urldefrag(before).url:
        return now
    return next((url for url in navigations if urldefrag(url).url != urldefrag(before).url), None)


def _navigated(state: CaptureState, click: dict[str, Any], before: str, after: str) -> None:
    """A click that took the page away: the capture after it is not of the page asked for, and says so
    (partial). The viewport screenshot, taken before the click, still shows the page as landed."""
    click["navigated_to"] = redact_text(after, state.salt)
    if state.consent is not None:
        state.consent["navigated"] = True
    state.step("consent-click-navigated")
    state.reasons.add(
        "consent-click-navigated",
        f"the capture's click on the consent control {click['selector']} ({click['text']!r}) made the page leave "
        f"{before} for {after}: the full-page screenshot, DOM, text and the end of the redirect chain show where "
        "the click led, not the page asked for; the viewport screenshot shows the page as landed, before the click",
        PARTIAL,
    )


async def _find(page: Page, world: OwnWorld, until: float) -> tuple[Frame, dict[str, Any]] | None:
    """The first accept control shown: in the main frame (looked at from the capture's own world), else in
    a child frame (a consent manager's own frame, such as Sourcepoint's)."""
    arg = {
        "known": [list(pair) for pair in KNOWN_CONTROLS],
        "texts": list(ACCEPT_TEXTS),
        "weak_texts": list(WEAK_ACCEPT_TEXTS),
        "generic": True,
    }
    try:
        found = await world.run(_CONSENT_JS, arg, max(0.5, until - time.monotonic()))
    except STEP_ERRORS:
        found = None
    if isinstance(found, dict) and found.get("selector"):
        return page.main_frame, found
    for frame in page.frames[1 : _MAX_FRAMES + 1]:
        if time.monotonic() >= until or frame.is_detached():
            break
        child_arg = {**arg, "generic": bool(_CONSENT_FRAME.search(frame.url))}
        try:
            found = await asyncio.wait_for(frame.evaluate(_CONSENT_JS, child_arg), max(0.5, until - time.monotonic()))
        except STEP_ERRORS:
            continue
        if isinstance(found, dict) and found.get("selector"):
            return frame, found
    return None
