"""The fixture site's pages for watching (issue 15): an ad that changes and goes away, a listing that grows.

``/watch/ad/<key>``: the Nth request for the document (counted per key by the server; images, favicons and
other subresources do not count) answers ``AD_SEQUENCE[N-1]``: v1, v1, v2, 503, 404, 404, 404, then v2
again with status 200 (and v2 for every later request). v2 differs from v1 as an edited trafficking ad
does: the phone number changed, one photo swapped for another, and one photo of v1 shown again elsewhere
on the page re-encoded at another JPEG quality (other bytes, same picture: not a change).

``/watch/listing/<key>``: the Nth request lists ``LISTING_FIRST + LISTING_GROWTH * (N - 1)`` ads, each
linking to ``/watch/listing/<key>/ad-<n>``, among site furniture links (home, help, log in, the next page,
another site) that a follow pattern for the ads must not match.

``/watch/moved/<login|home|unavailable>``: a 302 away to a sign-in page, the site's home page, or a 200
page saying in German that the ad is no longer available (www/watch/).

A test picks a fresh key (``fresh_key()``) or resets one (``reset(key)``) and reads ``document_requests(key)``.
The photos are drawn by tests/photokit.py from fixed seeds, on first use, and kept in memory.
"""

from __future__ import annotations

import html
import io
import threading
import uuid
from functools import cache
from typing import Any

AD_SEQUENCE: tuple[str | int, ...] = ("v1", "v1", "v2", 503, 404, 404, 404, "v2")
AFTER_SEQUENCE = "v2"
LISTING_FIRST = 3
LISTING_GROWTH = 2
PHOTO_SIZE = (480, 360)
# name -> (seed, JPEG quality). photo-d-q55 is photo-d re-encoded: the same picture, other bytes.
PHOTOS = {
    "photo-a": (1501, 90),
    "photo-b": (1502, 90),
    "photo-c": (1503, 90),
    "photo-d": (1504, 92),
    "photo-d-q55": (1504, 55),
}
PHONE_V1 = "+44 20 7946 0958"
PHONE_V2 = "+44 20 7946 0321"

_counts: dict[str, int] = {}
_counts_lock = threading.Lock()


def fresh_key() -> str:
    """A key no request has used yet: its counter starts at zero."""
    return uuid.uuid4().hex[:12]


def reset(key: str) -> None:
    with _counts_lock:
        _counts.pop(key, None)


def advance(key: str, requests: int) -> None:
    """Count ``requests`` document requests for ``key`` as if they were made (to start later in the sequence)."""
    with _counts_lock:
        _counts[key] = _counts.get(key, 0) + requests


def document_requests(key: str) -> int:
    """How many document requests ``/watch/ad/<key>`` or ``/watch/listing/<key>`` has answered."""
    with _counts_lock:
        return _counts.get(key, 0)


def _count(key: str) -> int:
    with _counts_lock:
        _counts[key] = _counts.get(key, 0) + 1
        return _counts[key]


def is_document_request(headers: Any, command: str) -> bool:
    """A navigation's request for the page itself: Chromium says so in Sec-Fetch-Dest; a client that sends
    no such header (curl, a test's urllib) asks for the document too."""
    if command != "GET":
        return False
    dest = headers.get("Sec-Fetch-Dest")
    return dest is None or dest == "document"


def ad_answer(n: int) -> str | int:
    """What the Nth document request of an ad answers: "v1", "v2" or an error status."""
    return AD_SEQUENCE[n - 1] if n <= len(AD_SEQUENCE) else AFTER_SEQUENCE


@cache
def photo_bytes(name: str) -> bytes:
    from photokit import make_photo  # numpy and Pillow load only when a watch photo is asked for

    seed, quality = PHOTOS[name]
    buffer = io.BytesIO()
    make_photo(seed, PHOTO_SIZE).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


_STYLE = """
  body { font-family: Arial, Helvetica, sans-serif; margin: 0; background: #f3f4f6; color: #222; }
  header { background: #7a1f3d; color: #fff; padding: 12px 24px; font-size: 20px; }
  header a { color: #fff; margin-right: 14px; }
  main { max-width: 820px; margin: 20px auto; background: #fff; padding: 22px; border-radius: 6px; }
  .meta { color: #777; font-size: 13px; }
  .phone { font-size: 22px; font-weight: bold; color: #0a5a2f; }
  figure { display: inline-block; margin: 6px; }
  img { width: 240px; height: 180px; }
  aside { border-top: 1px solid #ddd; margin-top: 18px; padding-top: 10px; }
  footer { text-align: center; color: #999; font-size: 12px; padding: 20px; }
"""


def _page(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        "<header>NightJobs Board &rsaquo; Jobs abroad</header>"
        f"<main>{body}</main><footer>NightJobs Board · Report this ad · Terms</footer></body></html>"
    ).encode()


def ad_page(version: str) -> bytes:
    """The ad as v1 or v2 shows it."""
    phone = PHONE_V1 if version == "v1" else PHONE_V2
    second = "photo-b" if version == "v1" else "photo-c"
    if version == "v1":
        gallery = ["photo-a", second]
        aside = (
            '<aside><p>Our residence:</p><figure><img src="/watch/img/photo-d.jpg" alt="residence"></figure></aside>'
        )
    else:  # photo-d moved up into the gallery, re-encoded
        gallery = ["photo-d-q55", "photo-a", second]
        aside = "<aside><p>Ask for more photos on WhatsApp.</p></aside>"
    figures = "".join(f'<figure><img src="/watch/img/{name}.jpg" alt="{name}"></figure>' for name in gallery)
    body = (
        "<article id='ad'><h1>Hostesses and dancers wanted in Dubai – flights and visa paid</h1>"
        "<p class='meta'>Posted by <b>Golden Star Agency</b> · ref. GS-2291</p>"
        f"{figures}"
        "<p>Young women 18–25 wanted for hotel and club work. Earn up to USD 4,000 a month, free room and "
        "board. No experience or English needed. We keep your passport safe during the contract.</p>"
        f"<p>Call or WhatsApp now: <span class='phone'>{phone}</span></p>"
        f"{aside}</article>"
    )
    return _page("Hostesses wanted in Dubai – Golden Star Agency | NightJobs Board", body)


REMOVED_PAGE = _page(
    "Ad removed | NightJobs Board",
    "<h1>This ad has been removed</h1><p>The ad you are looking for is no longer available.</p>",
)
BUSY_PAGE = _page("Service unavailable", "<h1>Service temporarily unavailable</h1><p>Try again later.</p>")


def listing_page(key: str, n: int) -> bytes:
    """The listing at its Nth request: the ads newest first, among furniture links."""
    count = LISTING_FIRST + LISTING_GROWTH * (n - 1)
    base = f"/watch/listing/{key}"
    ads = "".join(
        f"<li class='ad'><a class='ad-link' href='{base}/ad-{i}'>Job offer {i}: nanny wanted abroad</a></li>"
        for i in range(count, 0, -1)
    )
    body = (
        "<nav><a href='/'>Home</a> <a href='/watch/help.html'>Help</a> <a href='/watch/login.html'>Log in</a> "
        f"<a href='{base}?page=2'>Next page</a> <a href='https://partner.example/ads'>Partner site</a></nav>"
        f"<h1>Jobs abroad: {count} offers</h1><ul class='ads'>{ads}</ul>"
    )
    return _page("Jobs abroad – NightJobs Board", body)


def listing_ad_page(key: str, number: int) -> bytes:
    body = (
        f"<article id='ad'><h1>Job offer {number}: nanny wanted abroad</h1>"
        f"<p>Family in Doha wants a live-in nanny, salary paid in cash. Ref. {html.escape(key)}-{number}.</p>"
        f"<p>Call <span class='phone'>+44 20 7946 1{number:03d}</span></p></article>"
    )
    return _page(f"Job offer {number} – NightJobs Board", body)


# /watch/moved/<name>: an ad that now redirects away, to a page that is not it.
MOVED_TO = {"login": "/watch/login.html", "home": "/", "unavailable": "/watch/unavailable.html"}

Answer = tuple[int, bytes, str, dict[str, str]]


def answer(path: str, headers: Any, command: str) -> Answer | None:
    """(status, body, content type, headers) for a /watch/ path, or None when it is not one of these routes."""
    parts = path.strip("/").split("/")
    html_type = "text/html; charset=utf-8"
    if len(parts) == 3 and parts[:2] == ["watch", "moved"] and parts[2] in MOVED_TO:
        location = MOVED_TO[parts[2]]
        return 302, f"<a href='{location}'>moved</a>".encode(), html_type, {"Location": location}
    if len(parts) == 3 and parts[:2] == ["watch", "img"] and parts[2].endswith(".jpg"):
        name = parts[2].removesuffix(".jpg")
        if name in PHOTOS:
            return 200, photo_bytes(name), "image/jpeg", {}
        return None
    if len(parts) == 3 and parts[:2] == ["watch", "ad"]:
        n = _count(parts[2]) if is_document_request(headers, command) else max(1, document_requests(parts[2]))
        got = ad_answer(n)
        if got == 503:
            return 503, BUSY_PAGE, html_type, {}
        if got == 404:
            return 404, REMOVED_PAGE, html_type, {}
        return 200, ad_page(str(got)), html_type, {}
    if len(parts) == 3 and parts[:2] == ["watch", "listing"]:
        n = _count(parts[2]) if is_document_request(headers, command) else max(1, document_requests(parts[2]))
        return 200, listing_page(parts[2], n), html_type, {}
    if len(parts) == 4 and parts[:2] == ["watch", "listing"] and parts[3].startswith("ad-"):
        number = parts[3].removeprefix("ad-")
        if number.isdigit():
            return 200, listing_ad_page(parts[2], int(number)), html_type, {}
    return None
