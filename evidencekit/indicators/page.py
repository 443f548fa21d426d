"""Which of a page's indicators are its author's, and which are the site's (``site``).

An ad site wraps every ad in the same menu, header, sidebar and footer, with the site's own helpline,
e-mail, social accounts and links to its own pages; two ads from one site then "share" all of them, which
says nothing about who posted them. So an indicator is marked ``site`` when it is found only in:

* the site's furniture: the text and links inside ``nav``, ``header``, ``footer``, ``aside`` and ARIA
  roles navigation, banner, contentinfo and complementary, unless inside ``main`` or ``article`` (a
  header or footer inside a sectioning element is that section's own, not the site's: the ARIA mapping);
  overlays (dialogs, anything positioned fixed or sticky: cookie banners); div layouts whose id or class
  names such a region (``site-footer``, ``menu``, ``navbar``, ``sidebar``, ``cookie-notice``: the token list
  is in ``capture/scripts/visible-text.js``), except one holding the page's h1; open shadow trees hosted
  there or showing only overlays. The site's social accounts are the social links found there. An e-mail
  address on the site's own domain follows the same rule as anything else: the site's when only in
  furniture, the author's in the ad's own text (the domain alone decides nothing: a self-hosted ad's
  address is its author's);
* link text pointing elsewhere: the words of a link to another page (``<a href="/ad-7">Riya, call
  98111 22334</a>``, a "similar ads" teaser) are that other page's, not this page's author's. Such words
  make no indicator of the author unless the same indicator is also in the page's own text outside such
  links, or comes from a link's address itself (``tel:``, ``mailto:``, ``wa.me/...``, a profile URL).
  A link to the same page (``#top``, ``javascript:``) is not "elsewhere": its words are the page's own;
* a URL of the page's own host (with or without ``www.``/``m.``/``mobile.``): a ``url`` indicator only.

Anything found in the page's own text or in a link outside the furniture is never ``site``, however often
it appears across pages (two ads sharing one number must stay linked). Where the page's regions cannot be
told (an older capture, a child frame, a shadow root), everything counts as the author's: a missed link is
safer than hiding one. Share buttons give no indicator at all (see ``core``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from evidencekit.indicators.core import Indicator, extract_indicators, normalise_url


def page_indicators(
    text: str,
    links: Sequence[str],
    region: str,
    *,
    not_own_text: Sequence[str] = (),
    furniture_links: Collection[str] = (),
    page_url: str | None = None,
) -> list[Indicator]:
    """Every indicator of ``text`` and ``links`` (as ``extract_indicators``), each marked ``site`` when it
    is not the author's. ``not_own_text``: the texts of the furniture regions and of links pointing
    elsewhere, in document order, as they appear within ``text``; ``furniture_links``: the hrefs found only
    in furniture; ``page_url``: the page's address, whose host is the site's own."""
    found = extract_indicators(text, links, region)
    own_text = blank_segments(text, not_own_text, region)
    own_links = [link for link in links if link not in furniture_links]
    own = {(i.kind, i.value) for i in extract_indicators(own_text, own_links, region)}
    hosts = own_hosts(page_url)
    return [
        replace(i, site=True) if (i.kind, i.value) not in own or (i.kind == "url" and _host(i.value) in hosts) else i
        for i in found
    ]


def own_hosts(page_url: str | None) -> frozenset[str]:
    """The page's host and its usual web/mobile variants (``example.com``, ``www.``, ``m.``, ``mobile.``)."""
    host = _host(normalise_url(page_url) or "") if page_url else ""
    if not host:
        return frozenset()
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    return frozenset({host, f"www.{host}", f"m.{host}", f"mobile.{host}"})


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def blank_segments(text: str, segments: Sequence[str], region: str) -> str:
    """``text`` with each segment that holds an indicator blanked out where it stands (spaces of the same
    length), looked for in order from where the last one ended, then from the start. A segment with no
    indicator in it is left alone (a pagination link "2" must not blank a digit of a phone number); one
    that cannot be found whole, on word boundaries, is left too: its words then count as the author's."""
    chars = list(text)
    cursor = 0
    for segment in segments:
        segment = segment.strip()
        if not segment or not extract_indicators(segment, (), region):
            continue
        start = _find_whole(text, segment, cursor)
        if start < 0:
            start = _find_whole(text, segment, 0)
        if start < 0:
            continue
        chars[start : start + len(segment)] = " " * len(segment)
        cursor = start + len(segment)
    return "".join(chars)


def _find_whole(text: str, segment: str, start: int) -> int:
    """Where ``segment`` stands in ``text`` from ``start`` on, not glued to letters or digits; -1 if nowhere."""
    position = text.find(segment, start)
    while position >= 0:
        end = position + len(segment)
        before = text[position - 1] if position else " "
        after = text[end] if end < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return position
        position = text.find(segment, position + 1)
    return -1
