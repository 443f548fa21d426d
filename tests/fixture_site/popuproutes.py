"""The fixture site's pop-up pages (issue 16): pages that open pop-up windows, and the pop-ups themselves.

``/popups16/go/<key>`` redirects (302) to ``/popups16/ad/<key>``: the address a page opens before the
window lands on the ad. ``/popups16/open/<key>?n=N``: a page that opens N pop-up windows on load, each to ``/popups16/ad/<key>-<i>``
(i = 1..N), a page of its own with a phone number and a picture. The server counts the document requests
of every ``/popups16/ad/...`` page (``requests_for``), so a test can tell that a pop-up captured was
never asked for a second time. The pop-up that never finishes loading is static: www/popups16/.
"""

from __future__ import annotations

import html
import threading
from typing import Any

Answer = tuple[int, bytes, str, dict[str, str]]
HTML_TYPE = "text/html; charset=utf-8"
MAX_OPENED = 10

_requests: dict[str, int] = {}
_lock = threading.Lock()


def requests_for(name: str) -> int:
    """How many times ``/popups16/ad/<name>`` was requested."""
    with _lock:
        return _requests.get(name, 0)


def phone_of(name: str) -> str:
    """The phone number pop-up ``name`` shows: its own, so each pop-up's text can be told apart."""
    number = sum(ord(ch) for ch in name) % 10000
    return f"+44 7700 90{number:04d}"


def opener_page(key: str, count: int) -> bytes:
    opens = "\n".join(f'    window.open("/popups16/ad/{key}-{i}", "ad{i}");' for i in range(1, count + 1))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Hostess jobs abroad | QuickJobs Classifieds</title></head>
<body style="font-family: Arial, Helvetica, sans-serif;">
<h1 id="opener">Hostess jobs abroad, visa arranged</h1>
<p>Contact the agency through the offers that open with this page.</p>
<script>
  window.addEventListener("load", () => {{
{opens}
  }});
</script>
</body></html>
""".encode()


def ad_page(name: str) -> bytes:
    shown = html.escape(name)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Offer {shown} | Partner ads</title></head>
<body style="font-family: Arial, Helvetica, sans-serif;">
<h1 id="popup-ad">Special offer {shown}</h1>
<p>Earn 5000 EUR a month. Call {phone_of(name)} today.</p>
<img src="/images/board-photo.jpg" alt="offer" width="320" height="240">
</body></html>
""".encode()


def answer(path: str, query: dict[str, list[str]], headers: Any, command: str) -> Answer | None:
    """(status, body, content type, headers) for a /popups16/ path, or None when it is not one of these."""
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[:2] == ["popups16", "open"]:
        try:
            count = int((query.get("n") or ["1"])[0])
        except ValueError:
            return None
        return 200, opener_page(parts[2], max(0, min(count, MAX_OPENED))), HTML_TYPE, {}
    if len(parts) == 3 and parts[:2] == ["popups16", "go"]:
        target = f"/popups16/ad/{parts[2]}"
        return 302, f'<a href="{html.escape(target)}">moved</a>'.encode(), HTML_TYPE, {"Location": target}
    if len(parts) == 3 and parts[:2] == ["popups16", "ad"]:
        with _lock:
            _requests[parts[2]] = _requests.get(parts[2], 0) + 1
        return 200, ad_page(parts[2]), HTML_TYPE, {}
    return None
