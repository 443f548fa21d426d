"""Consent walls: ``capture --consent accept|leave``.

``leave`` (the default) captures the page as it was shown, consent dialog and all: the record says so
(``consent: {"mode": "leave"}``) and clicks nothing. ``accept`` clicks the accept control of a known consent
framework once the arrival screenshot is taken (that screenshot stays as the visitor landed: before any
click), then the capture goes on (scrolling, settling, the full-page screenshot and the reading come after).
Known frameworks are found by their documented selectors (OneTrust, Cookiebot, Didomi, Quantcast Choice,
TrustArc, Usercentrics, Sourcepoint in its frame, Google Funding Choices, Klaro, Osano, Complianz, CookieYes
and a few more); failing those, a button whose whole text is a clear "Accept all" in one of several
languages, inside an element that looks like a consent dialog. Every click is recorded exactly (selector,
the button's text, the frame's URL, the time, the framework) in the metadata and as a step: the capture
shows the page after an action of the tool's, and says which.

The clicks are real mouse clicks (Playwright's), as a visitor's would be; nothing is injected into the
page, and nothing else about the browser changes.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from playwright.async_api import Frame, Page

from evidencekit.capture import scripts
from evidencekit.capture.metadata import NOTE
from evidencekit.capture.reading import STEP_ERRORS
from evidencekit.capture.redact import redact_text
from evidencekit.capture.state import CaptureState
from evidencekit.capture.wording import first_line
from evidencekit.capture.world import OwnWorld
from evidencekit.timefmt import format_time, utc_now

ACCEPT, LEAVE = "accept", "leave"
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
# Whole button texts (lower case, spaces collapsed) the generic fallback clicks: clear consent to all.
ACCEPT_TEXTS: tuple[str, ...] = (
    "accept all", "accept all cookies", "accept cookies", "allow all", "allow all cookies", "i accept",
    "accept", "agree", "i agree", "agree and continue", "accept and continue", "accept & continue",
    "alle akzeptieren", "alle cookies akzeptieren", "akzeptieren", "zustimmen", "alle zulassen",
    "akzeptieren und weiter", "einverstanden", "accepter tout", "tout accepter", "accepter", "j'accepte",
    "accepter et continuer", "aceptar todo", "aceptar todas", "aceptar", "aceptar y continuar",
    "accetta tutto", "accetta", "accetto", "aceitar todos", "aceitar", "alles accepteren", "accepteren",
    "akceptuję", "zaakceptuj wszystko", "принять все", "принять", "godkänn alla", "accepter alle",
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
        try:
            await frame.locator(str(control["selector"])).first.click(timeout=_CLICK_TIMEOUT_S * 1000)
        except STEP_ERRORS as exc:
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
                "frame_url": redact_text(frame.url, state.salt),
                "at": format_time(utc_now()),
                "framework": str(control.get("framework") or "generic"),
            }
        )
        state.step("consent-accept-clicked")
        await asyncio.sleep(_AFTER_CLICK_S)
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


async def _find(page: Page, world: OwnWorld, until: float) -> tuple[Frame, dict[str, Any]] | None:
    """The first accept control shown: in the main frame (looked at from the capture's own world), else in
    a child frame (a consent manager's own frame, such as Sourcepoint's)."""
    arg = {"known": [list(pair) for pair in KNOWN_CONTROLS], "texts": list(ACCEPT_TEXTS), "generic": True}
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
