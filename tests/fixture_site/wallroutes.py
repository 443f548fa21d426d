"""Pages that block, wall or challenge the visitor (tests/test_capture_walls.py, tests/test_consent.py).

Made-up routes under ``/walls/``: a Cloudflare-like challenge (503, ``cf-mitigated: challenge``, "Just a
moment..."), a PerimeterX-like block page answered 403 without any telling header, and a members-only ad
that redirects to a login page. The static pages (login form over the content, consent walls, an age gate,
a "not available" page, and two ordinary pages that are no wall) are in www/walls/. Nothing here makes the
browser reach any address but the fixture site's.
"""

from __future__ import annotations

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

Answer = tuple[int, bytes, str, dict[str, str]]


def answer(path: str) -> Answer | None:
    """(status, body, content type, headers) for a /walls/ route, or None (a static page, or nothing)."""
    if path == "/walls/cf-challenge":
        headers = {"cf-mitigated": "challenge", "Server": "cloudflare", "CF-RAY": "0000000000000000-FRA"}
        return 503, CHALLENGE_PAGE, HTML, headers
    if path == "/walls/denied-403":
        return 403, BLOCK_PAGE, HTML, {}
    if path.startswith("/walls/members/"):
        location = f"/walls/login.html?next={path}"
        return 302, f"<a href='{location}'>sign in</a>".encode(), HTML, {"Location": location}
    return None
