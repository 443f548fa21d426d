"""Pages that block, wall or challenge the visitor (tests/test_capture_walls.py, tests/test_consent.py).

Made-up routes under ``/walls/``: a Cloudflare-like challenge (503, ``cf-mitigated: challenge``, "Just a
moment..."), a PerimeterX-like block page answered 403 without any telling header, and a members-only ad
that redirects to a login page. The static pages (login form over the content, consent walls, an age gate,
a "not available" page, and two ordinary pages that are no wall) are in www/walls/. Also (a second look's
pages): ads redirected to their slug, a members-only job ad redirected to an /authwall, vendor block pages
(Akamai, Cloudflare 1020), an IIS "Access Denied" and a maintenance page titled "Please wait...". Nothing here makes the
browser reach any address but the fixture site's.
"""

from __future__ import annotations

from pathlib import Path

WWW = Path(__file__).parent / "www" / "walls"
HTML = "text/html; charset=utf-8"

CHALLENGE_PAGE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="robots" content="noindex,nofollow">
<style>body{font-family:system-ui;margin:8em auto;max-width:40em}</style></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1>127.0.0.1</h1><h2 id="challenge-running">Checking if the site connection is secure</h2>
<noscript><div>Enable JavaScript and cookies to continue</div></noscript>
<p>127.0.0.1 needs to review the security of your connection before proceeding.</p></div></div>
<script>(function(){window._cf_chl_opt={cvId: '3', cZone: '127.0.0.1', cType: 'managed',
cUPMDTk: "/walls/cf-challenge?__cf_chl_tk=fake"};var a=document.createElement('script');
a.dataset.src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=0000000000000000';})();</script>
</body></html>"""

BLOCK_PAGE = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Access to this page has been denied</title></head>
<body><div class="px-captcha-container"><h1>Before we continue...</h1>
<p>Press &amp; Hold to confirm you are a human (and not a bot).</p><div id="px-captcha"></div>
<p>Reference ID 4f1c0e2a-0000-11ee-8e6a-000000000000</p></div>
<script>window._pxAppId = 'PXfake000';</script></body></html>"""

# A vendor's block page: Akamai writes its reference with character references (as the real page does).
AKAMAI_PAGE = b"""<HTML><HEAD>
<TITLE>Access Denied</TITLE>
</HEAD><BODY>
<H1>Access Denied</H1>
You don't have permission to access "http&#58;&#47;&#47;shop&#46;example&#47;ad&#47;1" on this server.<P>
Reference&#32;&#35;18&#46;6a3d1002&#46;1733240000&#46;1a2b3c4d
<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18&#46;6a3d1002&#46;1733240000&#46;1a2b3c4d</P>
</BODY>
</HTML>"""

CLOUDFLARE_BLOCK_PAGE = b"""<!DOCTYPE html><html class="no-js" lang="en-US"><head><title>Attention Required! | Cloudflare</title>
<meta charset="UTF-8"><meta name="robots" content="noindex, nofollow"></head><body><div id="cf-wrapper">
<div id="cf-error-details" class="cf-error-details-wrapper"><div class="cf-wrapper cf-header cf-error-overview">
<h1 data-translate="block_headline">Sorry, you have been blocked</h1><h2 class="cf-subheadline">
<span data-translate="unable_to_access">You are unable to access</span> board.example</h2></div>
<div class="cf-section cf-wrapper"><h2 data-translate="blocked_why_headline">Why have I been blocked?</h2>
<p data-translate="blocked_why_detail">This website is using a security service to protect itself from online
attacks. The action you just performed triggered the security solution.</p></div>
<div class="cf-error-footer cf-wrapper"><p><span class="cf-footer-item">Cloudflare Ray ID:
<strong class="font-semibold">8c1a2b3c4d5e6f7a</strong></span></p></div></div></div></body></html>"""

IIS_PAGE = b"""<HTML><HEAD>
<TITLE>Access Denied</TITLE>
</HEAD><BODY>
<H1>Access Denied</H1>
You do not have permission to view this directory or page using the credentials that you supplied.
</BODY></HTML>"""

MAINTENANCE_PAGE = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Please wait...</title></head>
<body><h1>We'll be back soon</h1><p>The site is down for scheduled maintenance. Please come back in ten
minutes.</p></body></html>"""

# An ad's address redirected to its canonical slug (classifieds sites do: id -> id-title): the slug's words
# ("session", "auth") are the ad's title, not a login page.
SLUGS = {
    "/walls/ad/777": "/walls/ad/777-relaxing-massage-session-delhi",
    "/walls/ad/778": "/walls/ad/778-auth-original-rolex-sale",
}
AUTHWALL = "/walls/authwall?trk=public_jobs&sessionRedirect=%2Fwalls%2Fin%2Fjobs%2Fview%2F123"

Answer = tuple[int, bytes, str, dict[str, str]]


def answer(path: str) -> Answer | None:
    """(status, body, content type, headers) for a /walls/ route, or None (a static page, or nothing)."""
    if path == "/walls/cf-challenge":
        headers = {"cf-mitigated": "challenge", "Server": "cloudflare", "CF-RAY": "0000000000000000-FRA"}
        return 503, CHALLENGE_PAGE, HTML, headers
    if path == "/walls/denied-403":
        return 403, BLOCK_PAGE, HTML, {}
    if path in SLUGS:
        return 301, b"", HTML, {"Location": SLUGS[path]}
    if path in SLUGS.values():
        return 200, (WWW / "slug-ad.html").read_bytes(), HTML, {}
    if path == "/walls/in/jobs/view/123":  # a professional network's job ad, for members only
        return 302, b"", HTML, {"Location": AUTHWALL}
    if path == "/walls/authwall":
        return 200, (WWW / "authwall.html").read_bytes(), HTML, {}
    if path == "/walls/akamai-403":
        return 403, AKAMAI_PAGE, HTML, {"Server": "AkamaiGHost", "Mime-Version": "1.0"}
    if path == "/walls/cf-1020":
        return 403, CLOUDFLARE_BLOCK_PAGE, HTML, {"Server": "cloudflare", "CF-RAY": "8c1a2b3c4d5e6f7a-BOM"}
    if path == "/walls/iis-403":
        return 403, IIS_PAGE, HTML, {"Server": "Microsoft-IIS/10.0"}
    if path == "/walls/maintenance-503":
        return 503, MAINTENANCE_PAGE, HTML, {"Server": "nginx", "Retry-After": "600"}
    if path.startswith("/walls/members/"):
        location = f"/walls/login.html?next={path}"
        return 302, f"<a href='{location}'>sign in</a>".encode(), HTML, {"Location": location}
    return None
