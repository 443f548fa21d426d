"""Pages that block, wall or challenge the visitor, recognised from what a capture gathered.

A capture of an anti-bot challenge is not a capture of the ad: recorded as ``complete`` it would let a
"Just a moment..." page stand in a bundle as the page asked for. So what the capture saw is judged here,
with the facts that made the judgement written out as evidence (short, factual strings a reader can check
against the capture's own files):

- ``challenge``: an anti-bot interstitial (Cloudflare, DataDome, PerimeterX/HUMAN, Akamai, Imperva/Incapsula,
  AWS WAF, Sucuri, DDoS-Guard, a captcha shown on a refusing page): a response header that says so
  (``cf-mitigated: challenge``), or a refusing status (403, 429, 503) or a challenge title with the
  challenge's own markup or words. A vendor's site-wide tag, a refusing status or a title alone is not one.
- ``block``: a vendor's block page (Cloudflare "Sorry, you have been blocked", Akamai's "Access Denied" with
  its reference): the site refused the visitor, with no challenge to pass.
- ``login-wall``: a redirect to a login page (a whole segment of its path names one: /login, /authwall,
  never a word in a slug), a password field in an overlay laid over the content, or a page titled as a
  login page with a password field where the content was asked for.
- ``consent-wall``: an overlay covering most of the view that asks for consent (cookies, privacy).
- ``age-gate``: an overlay, or a short page, asking the visitor's age or date of birth.
- ``not-available``: a page saying the content is not (or no longer) available, or HTTP 404, 410, 451.

The first three make the capture ``blocked`` (never ``complete``); the others are notes (reasons with effect
``note``, their code the kind). What lies on top of the view is measured by a small script in the capture's
own world (scripts/walls.js) as the page stands when it is read; an ordinary page with a login link in its
header, or a small cookie bar, covers little of the view and is no wall.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from evidencekit.capture import scripts
from evidencekit.capture.exchange import Exchange
from evidencekit.capture.metadata import NOTE
from evidencekit.capture.reading import STEP_ERRORS
from evidencekit.capture.redact import redact_text
from evidencekit.capture.state import CaptureState
from evidencekit.capture.world import OwnWorld
from evidencekit.pagewords import TITLE_ONLY, UNAVAILABLE, is_login_path

CHALLENGE, BLOCK, LOGIN_WALL = "challenge", "block", "login-wall"
CONSENT_WALL, AGE_GATE, NOT_AVAILABLE = "consent-wall", "age-gate", "not-available"
BLOCKING = (CHALLENGE, BLOCK, LOGIN_WALL)
KINDS = (*BLOCKING, CONSENT_WALL, AGE_GATE, NOT_AVAILABLE)
# What the report says for a blocked capture, by kind.
BLOCKED_WORDS = {
    CHALLENGE: "the site showed a challenge page instead of the content",
    BLOCK: "the site refused access with a block page instead of showing the content",
    LOGIN_WALL: "the site asked the visitor to sign in instead of showing the content",
}
NOTE_WORDS = {
    CONSENT_WALL: "the page showed a consent wall over its content",
    AGE_GATE: "the page asked the visitor's age before showing its content",
    NOT_AVAILABLE: "the page said the content is not available",
}

_WALLS_JS = scripts.load("walls.js")
_GRID = 10  # points a side: each is 1% of the view
_TEXT_LIMIT = 4000
OVERLAY_SHARE = 50  # percent of the view an overlay must cover to be a wall
SHORT_PAGE_CHARS = 1500  # a page this short may be a gate or a "not available" page by its words alone
_BODY_SCAN = 262144  # bytes of the main document searched for a vendor's markers

_REFUSING = frozenset({403, 429, 503})
# (header, value) pairs that say the response is a challenge, whatever its status and body.
_CHALLENGE_HEADERS = frozenset(
    {("cf-mitigated", "challenge"), ("x-amzn-waf-action", "captcha"), ("x-amzn-waf-action", "challenge")}
)
# (vendor, pattern in the main document's decoded HTML) that only a challenge interstitial holds: the
# challenge's own script, element or address. A vendor's site-wide tag (reCAPTCHA v3's api.js, DataDome's
# js.datadome.co tag, PerimeterX's sensor) sits on ordinary pages too, 403 and 503 pages included, and
# counts for nothing; a captcha widget shown (g-recaptcha, h-captcha) counts only with a refusing status.
_CHALLENGE_MARKERS = (
    ("Cloudflare", re.compile(r"/cdn-cgi/challenge-platform/|window\._cf_chl_opt|cf-browser-verification|__cf_chl_")),
    ("hCaptcha", re.compile(r"class=[\"']h-captcha[\"' ]")),
    ("reCAPTCHA", re.compile(r"class=[\"']g-recaptcha[\"' ]")),
    ("DataDome", re.compile(r"captcha-delivery\.com", re.I)),
    ("PerimeterX/HUMAN", re.compile(r"id=[\"']px-captcha[\"']|/px/captcha", re.I)),
    ("Akamai", re.compile(r"/_sec/cp_challenge/", re.I)),
    ("Imperva/Incapsula", re.compile(r"Incapsula incident ID|/_Incapsula_Resource\?", re.I)),
    ("AWS WAF", re.compile(r"captcha\.awswaf\.com|window\.gokuProps", re.I)),
    ("Sucuri", re.compile(r"sucuri_cloudproxy_js", re.I)),
    ("DDoS-Guard", re.compile(r"\.well-known/ddos-guard/|ddos-guard/js-challenge", re.I)),
)
# (vendor, pattern in the decoded HTML, the server header value that names the vendor) of a vendor's block
# page: the site refused the visitor outright (no challenge to pass). Matched on the HTML with its
# entities decoded (Akamai writes "errors&#46;edgesuite&#46;net").
_BLOCK_MARKERS = (
    (
        "Cloudflare",
        re.compile(
            r"data-translate=[\"']block_headline[\"']|Sorry, you have been blocked|Error 10(?:0[5-9]|1[0-2]|20)\b"
        ),
        "cloudflare",
    ),
    ("Akamai", re.compile(r"errors\.edgesuite\.net/[0-9a-f.]+|Reference #[0-9a-f]+\.[0-9a-f.]+", re.I), "akamaighost"),
    ("Sucuri", re.compile(r"Sucuri WebSite Firewall - Access Denied", re.I), "sucuri/cloudproxy"),
)
_AKAMAI_REFERENCE = re.compile(r"Reference #([0-9a-f]+(?:\.[0-9a-f]+)+)", re.I)
_CHALLENGE_TITLE = re.compile(
    r"^\s*(?:just a moment\.*|attention required!?(?: \| cloudflare)?|pardon our interruption|"
    r"access to this page has been denied\.?|ddos-guard|one more step|verifying you are human|"
    r"are you a (?:robot|human)\??|security check|human verification|captcha|bot verification)\s*$",
    re.I,
)
_CHALLENGE_TEXT = re.compile(
    r"checking (?:your|if the site connection is secure|the browser)|verify(?:ing)? (?:that )?you are (?:a )?human|"
    r"enable javascript and cookies to continue|press (?:&|and) hold|please complete the security check|"
    r"are you a robot|unusual (?:traffic|activity) from your (?:computer|network)|incapsula incident id",
    re.I,
)
_LOGIN_TITLE = re.compile(
    r"^\s*(?:log ?in|sign ?in|login|anmelden|einloggen|connexion|se connecter|iniciar sesi[óo]n|accedi|entrar)\b", re.I
)
# What a consent overlay says. "Privacy policy" and "cookie policy" are said by every modal (a job offer, a
# sign-up form): they do not make one a consent wall.
_CONSENT_WORDS = re.compile(
    r"cookies?(?!\s*(?:policy|policies|richtlinie|-richtlinie))|consent|gdpr|datenschutz-?einstellungen|"
    r"einwilligung|zustimm|consentement|privacy (?:settings|preferences|choices)|personal data|personenbezogen|"
    r"vie priv[ée]e",
    re.I,
)
_CONSENT_PLACES = re.compile(
    r"onetrust|cybotcookiebot|didomi|qc-cmp|truste|usercentrics|sp_message|privacy-mgmt|fc-consent|klaro|"
    r"osano|cmplz|cky-consent|cookie-law-info|consent|cookie",
    re.I,
)
_AGE_QUESTION = re.compile(
    r"are you (?:over |at least )?(?:18|21)|"
    r"enter your (?:date of )?birth|verify your age|age verification|confirm (?:that )?you are (?:over |at least )?"
    r"(?:18|21)|bist du (?:über |mindestens )?18|[êe]tes[- ]vous majeur|"
    r"avez[- ]vous (?:plus de )?18 ans|eres mayor de edad|tienes (?:m[áa]s de )?18|sei maggiorenne",
    re.I,
)
# Said by ordinary pages too ("you must be 18 to apply"): counted only in an overlay covering the view.
_AGE_WORDS = re.compile(
    r"\b18\+|\bdate of birth|geburtsdatum|date de naissance|fecha de nacimiento|\badults? only|"
    r"you must be (?:at least |over )?(?:18|21)|mindestens 18 jahre",
    re.I,
)
_GONE_STATUSES = frozenset({404, 410, 451})


@dataclass(frozen=True)
class Wall:
    kind: str
    evidence: tuple[str, ...]

    @property
    def blocks(self) -> bool:
        return self.kind in BLOCKING

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Gathered:
    """What a capture gathered that tells a wall: the main document's answer, the final URL, the page's
    title and visible text, and what walls.js saw (None when it could not look)."""

    requested_url: str
    final_url: str | None
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    title: str | None
    text: str | None
    seen: dict[str, Any] | None


async def look(world: OwnWorld, seconds: float) -> dict[str, Any] | None:
    """What lies on top of the view and what the page asks for (see scripts/walls.js); None if the page
    could not be asked (the judgement then rests on the server's answer and the page's words)."""
    try:
        seen = await world.run(_WALLS_JS, {"grid": _GRID, "text_limit": _TEXT_LIMIT}, max(0.5, seconds))
    except STEP_ERRORS:
        return None
    return seen if isinstance(seen, dict) else None


def recognise(facts: Gathered) -> list[Wall]:
    """Every wall the facts show: a blocking one (challenge, login wall) alone, else the notes found."""
    challenge = _challenge(facts) or _block(facts)
    if challenge is not None:
        return [challenge]
    login = _login_wall(facts)
    if login is not None:
        return [login]
    return [wall for wall in (_age_gate(facts), _consent_wall(facts), _not_available(facts)) if wall is not None]


def judge_capture(state: CaptureState, document: Exchange | None, final_url: str | None) -> Wall | None:
    """Recognise the walls of an assembled capture: notes for consent walls, age gates and "not available"
    pages go into its reasons; the blocking wall, if any, is returned (the capture is then ``blocked``)."""
    text = state.page_text
    facts = Gathered(
        requested_url=state.requested_url,
        final_url=final_url,
        status=document.status if document is not None else None,
        headers=tuple(document.response_headers) if document is not None else (),
        body=document.body[:_BODY_SCAN] if document is not None and document.body is not None else None,
        title=text.title if text is not None else None,
        text=text.text if text is not None else None,
        seen=state.wall_view,
    )
    found = [Wall(w.kind, tuple(redact_text(e, state.salt) for e in w.evidence)) for w in recognise(facts)]
    blocking = next((wall for wall in found if wall.blocks), None)
    for wall in found:
        words = BLOCKED_WORDS.get(wall.kind) or NOTE_WORDS[wall.kind]
        state.reasons.add(wall.kind, f"{words}: {'; '.join(wall.evidence)}", NOTE)
    return blocking


# -- the kinds ------------------------------------------------------------------------------------------


def _challenge(facts: Gathered) -> Wall | None:
    evidence: list[str] = []
    strong = False
    for name, value in facts.headers:
        if (name.lower(), value.strip().lower()) in _CHALLENGE_HEADERS:
            evidence.append(f"response header {name.lower()}: {value.strip()}")
            strong = True
    titled = bool(facts.title and _CHALLENGE_TITLE.match(facts.title))
    worded = _CHALLENGE_TEXT.search(_short_text(facts.text) or "")
    markers = _found(_CHALLENGE_MARKERS, _decoded(facts.body))
    refusing = facts.status in _REFUSING
    # A refusing status or a challenge title alone is no challenge (an IIS "Access Denied", a 503
    # maintenance page titled "Please wait..."): the challenge's own markup or words must be there too.
    if not strong and not ((refusing and (markers or worded)) or (titled and markers)):
        return None
    if facts.status is not None:
        evidence.append(f"HTTP status {facts.status}")
    if titled:
        evidence.append(f"title {_quote(facts.title)}")
    if worded:
        evidence.append(f"the page says {_quote(worded.group(0))}")
    evidence += [f"the page's HTML holds {vendor}'s challenge markup ({found})" for vendor, found in markers]
    return Wall(CHALLENGE, tuple(evidence))


def _block(facts: Gathered) -> Wall | None:
    """A vendor's block page: the site refused the visitor (a refusing status and the vendor's block page)."""
    if facts.status not in _REFUSING:
        return None
    html_text = _decoded(facts.body)
    servers = [value.strip() for name, value in facts.headers if name.lower() == "server"]
    for vendor, pattern, server_name in _BLOCK_MARKERS:
        found = pattern.search(html_text)
        if found is None:
            continue
        evidence = [f"HTTP status {facts.status}"]
        evidence += [f"response header server: {server}" for server in servers if server.lower() == server_name]
        if facts.title:
            evidence.append(f"title {_quote(facts.title)}")
        reference = _AKAMAI_REFERENCE.search(html_text) if vendor == "Akamai" else None
        if reference is not None:
            evidence.append(f"Akamai reference #{reference.group(1)}")
        evidence.append(f"the page's HTML holds {vendor}'s block page ({_quote(found.group(0))})")
        return Wall(BLOCK, tuple(evidence))
    return None


def _decoded(body: bytes | None) -> str:
    """The HTML as text with its character references decoded, for markers a page writes encoded."""
    return html.unescape(body.decode("utf-8", "replace")) if body else ""


def _found(markers: tuple[tuple[str, re.Pattern[str]], ...], text: str) -> list[tuple[str, str]]:
    found = []
    for vendor, pattern in markers:
        match = pattern.search(text)
        if match:
            found.append((vendor, _quote(match.group(0))))
    return found


def _login_wall(facts: Gathered) -> Wall | None:
    seen = facts.seen or {}
    covered = _coverage(seen)
    passwords = int(seen.get("password_fields") or 0)
    asked_for_login = is_login_path(facts.requested_url)
    evidence: list[str] = []
    final = facts.final_url
    if final and final != facts.requested_url and not asked_for_login and is_login_path(final):
        evidence.append(f"redirected to a login page: {final}")
    if seen.get("password_in_layer") and covered >= OVERLAY_SHARE:
        evidence.append(f"a password field in a full-screen overlay covering {covered}% of the view{_layers(seen)}")
    elif evidence and passwords:
        evidence.append("a password field on the page")
    elif not asked_for_login and passwords and facts.title and _LOGIN_TITLE.match(facts.title):
        evidence += [f"title {_quote(facts.title)}", "a password field on the page"]
    if not evidence:
        return None
    if seen.get("scroll_locked"):
        evidence.append("the page's scrolling is locked")
    return Wall(LOGIN_WALL, tuple(evidence))


def _age_gate(facts: Gathered) -> Wall | None:
    seen = facts.seen or {}
    covered = _coverage(seen)
    layer_text = str(seen.get("layer_text") or "")
    if covered >= OVERLAY_SHARE and (found := _AGE_QUESTION.search(layer_text) or _AGE_WORDS.search(layer_text)):
        return Wall(
            AGE_GATE, (f"an overlay covering {covered}% of the view{_layers(seen)} says {_quote(found.group(0))}",)
        )
    short = _short_text(facts.text)
    if short and (found := _AGE_QUESTION.search(short)):
        evidence = [f"a short page ({len(short)} characters of visible text) says {_quote(found.group(0))}"]
        if seen.get("birth_fields"):
            evidence.append(f"{seen['birth_fields']} date-of-birth fields on the page")
        return Wall(AGE_GATE, tuple(evidence))
    return None


def _consent_wall(facts: Gathered) -> Wall | None:
    seen = facts.seen or {}
    covered = _coverage(seen)
    if covered < OVERLAY_SHARE:
        return None
    layer_text = str(seen.get("layer_text") or "")
    places = " ".join(str(name) for name in [*(seen.get("layers") or []), *(seen.get("layer_frames") or [])])
    words = _CONSENT_WORDS.search(layer_text)
    place = _CONSENT_PLACES.search(places)
    if words is None and place is None:
        return None
    evidence = [f"an overlay covering {covered}% of the view{_layers(seen)}"]
    if words is not None:
        evidence.append(f"the overlay says {_quote(words.group(0))}")
    frames = [str(url) for url in seen.get("layer_frames") or [] if _CONSENT_PLACES.search(str(url))]
    if frames:
        evidence.append(f"a consent frame from {frames[0]}")
    if seen.get("scroll_locked"):
        evidence.append("the page's scrolling is locked")
    return Wall(CONSENT_WALL, tuple(evidence))


def _not_available(facts: Gathered) -> Wall | None:
    evidence = []
    if facts.status in _GONE_STATUSES:
        evidence.append(f"HTTP status {facts.status}")
    if facts.title and (UNAVAILABLE.search(facts.title) or TITLE_ONLY.search(facts.title)):
        evidence.append(f"title {_quote(facts.title)}")
    elif (short := _short_text(facts.text, 600)) and (found := UNAVAILABLE.search(short)):
        evidence.append(f"a short page ({len(short)} characters of visible text) says {_quote(found.group(0))}")
    return Wall(NOT_AVAILABLE, tuple(evidence)) if evidence else None


# -- wording ---------------------------------------------------------------------------------------------


def _coverage(seen: dict[str, Any]) -> int:
    """The percentage of the view's grid points the overlays lay on."""
    points, covered = seen.get("grid_points"), seen.get("coverage_points")
    if not isinstance(points, int) or not isinstance(covered, int) or points <= 0:
        return 0
    return round(100 * covered / points)


def _layers(seen: dict[str, Any]) -> str:
    names = [str(name) for name in seen.get("layers") or []][:2]
    return f" ({', '.join(_quote(name, 60) for name in names)})" if names else ""


def _short_text(text: str | None, limit: int = SHORT_PAGE_CHARS) -> str | None:
    if not text:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else None


def _quote(text: str | None, limit: int = 80) -> str:
    flat = " ".join((text or "").split())
    return "'" + (flat if len(flat) <= limit else flat[: limit - 1] + "…") + "'"
