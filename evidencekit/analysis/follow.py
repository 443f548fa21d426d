"""The links of a listing page (search results, a board, a forum) that a watch follows: ``--follow PATTERN``.

Two kinds of pattern (``follow_kind``), told apart by one rule:
- a URL glob (``url-glob``) when the pattern starts with ``http://``, ``https://`` (any case) or ``/``:
  ``https://board.example/ad/*`` or ``/ad/*?ref=*``. Every ``<a href>`` of the page is resolved against the
  page's URL and matched whole with ``fnmatch`` (``*`` any characters, ``/`` included; ``?`` one; ``[...]``
  a set; case-sensitive). A pattern starting with ``/`` matches the path and query (``/ad/7?x=1``) of links
  on the page's own origin (scheme, host and port) only.
- otherwise a CSS selector (``css``): ``a.ad-title``, ``.result h2 a``, ``article``. Each element it
  selects gives its own ``href`` when it has one, else the ``href`` of every ``<a>`` inside it.
Either way only http(s) links are kept, without their ``#fragment``, each once, in page order, at most
MAX_LINKS. Links in the page's furniture are never followed, whatever the pattern: inside ``<nav>`` or
``<aside>``, an element whose ``role`` is navigation, banner or contentinfo, or a ``<header>``/``<footer>`` of
the page (not one inside an article, section, main, aside or nav, which belongs to that content, as the
HTML landmark rules say). A site's menu link matching ``/ad/*`` (``/ad/terms``) is no new ad.
The DOM read is the capture's stored ``dom.html`` (lxml), never the live page.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html
from cssselect import SelectorError
from lxml import etree

URL_GLOB = "url-glob"
CSS = "css"
MAX_LINKS = 10_000
MAX_DOM_BYTES = 64 * 1024 * 1024
_MAX_HREF_CHARS = 8_192


class FollowPatternError(ValueError):
    """A --follow pattern that cannot be used (an unreadable CSS selector, an empty pattern)."""


def follow_kind(pattern: str) -> str:
    """``url-glob`` for a pattern starting with http://, https:// or /, else ``css`` (see the module text)."""
    text = pattern.strip()
    if text.lower().startswith(("http://", "https://")) or text.startswith("/"):
        return URL_GLOB
    return CSS


def check_pattern(pattern: str, kind: str) -> None:
    """FollowPatternError (one line) for a pattern ``links_matching`` cannot use: for ``watch add``."""
    if not pattern.strip():
        raise FollowPatternError("--follow needs a pattern: a URL glob or a CSS selector")
    if kind not in (URL_GLOB, CSS):
        raise FollowPatternError(f"unknown --follow kind {kind!r}: use {URL_GLOB} or {CSS}")
    if kind == CSS:
        from cssselect import GenericTranslator

        try:
            GenericTranslator().css_to_xpath(pattern.strip())
        except SelectorError as exc:
            raise FollowPatternError(f"--follow {pattern!r} is not a CSS selector: {exc}") from None


def links_matching(dom: bytes, base_url: str, pattern: str, kind: str) -> list[str]:
    """The absolute http(s) links of ``dom`` that ``pattern`` (of ``kind``) selects, without fragments, each
    once, in page order, at most MAX_LINKS. An unparsable DOM gives none; a bad CSS selector raises
    FollowPatternError."""
    check_pattern(pattern, kind)
    if len(dom) > MAX_DOM_BYTES:
        dom = dom[:MAX_DOM_BYTES]
    try:
        root = lxml.html.document_fromstring(dom)
    except (etree.ParserError, ValueError):
        return []
    base = _document_base(root, base_url)
    if kind == CSS:
        try:
            elements = root.cssselect(pattern.strip())
        except (SelectorError, etree.XPathError) as exc:
            raise FollowPatternError(f"--follow {pattern!r} is not a usable CSS selector: {exc}") from None
        hrefs: Iterable[str] = _hrefs_of(e for e in elements if not _in_furniture(e))
        return _absolute(hrefs, base, lambda url: True)
    glob = pattern.strip()
    if glob.startswith("/"):
        origin = _origin(base_url)

        def matches(url: str) -> bool:
            parts = urlsplit(url)
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            return _origin(url) == origin and fnmatch.fnmatchcase(local, glob)
    else:

        def matches(url: str) -> bool:
            return fnmatch.fnmatchcase(url, glob)

    anchors = (a for a in root.iter("a") if a.get("href") is not None and not _in_furniture(a))
    return _absolute((a.get("href") for a in anchors), base, matches)


_FURNITURE = frozenset({"nav", "aside"})
_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo"})
_PAGE_LEVEL = frozenset({"header", "footer"})
# A header or footer inside one of these is that content's own (an ad's title bar), not the page's.
_SECTIONING = frozenset({"article", "section", "main", "aside", "nav"})


def _in_furniture(element: Any) -> bool:
    """Whether ``element`` lies in the page's furniture (see the module text), itself included."""
    chain = [element, *element.iterancestors()]
    for number, node in enumerate(chain):
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        role = (node.get("role") or "").strip().lower() if isinstance(node.tag, str) else ""
        if tag in _FURNITURE or _FURNITURE_ROLES.intersection(role.split()):
            return True
        if tag in _PAGE_LEVEL:
            above = chain[number + 1 :]
            if not any(isinstance(n.tag, str) and n.tag.lower() in _SECTIONING for n in above):
                return True
    return False


def _hrefs_of(elements: Iterable[Any]) -> Iterable[str]:
    for element in elements:
        if not isinstance(element.tag, str):
            continue
        own = element.get("href")
        if own is not None:
            yield own
            continue
        for anchor in element.iter("a"):
            href = anchor.get("href")
            if href is not None and not _in_furniture(anchor):
                yield href


def _document_base(root: Any, base_url: str) -> str:
    """The page's ``<base href>`` resolved against its URL, as a browser resolves links; else its URL."""
    for element in root.iter("base"):
        href = element.get("href")
        if isinstance(href, str) and href.strip():
            return urljoin(base_url, href.strip())
        # A <base> without href (target only) is passed over: browsers take the first one that has one.
    return base_url


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), None if port == default else port


def _absolute(hrefs: Iterable[str], base: str, keep: Any) -> list[str]:
    found: dict[str, None] = {}
    for href in hrefs:
        text = href.strip()
        if not text or len(text) > _MAX_HREF_CHARS:
            continue
        try:
            url, _fragment = urldefrag(urljoin(base, text))
            scheme = urlsplit(url).scheme.lower()
        except ValueError:  # a malformed address (an unclosed IPv6 bracket): not a link to follow
            continue
        if scheme not in ("http", "https") or not urlsplit(url).hostname:
            continue
        if url not in found and keep(url):
            found[url] = None
            if len(found) >= MAX_LINKS:
                break
    return list(found)
