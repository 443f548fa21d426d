"""Which links of a listing page a watch follows: the rule telling a URL glob from a CSS selector, and the
links each selects from a stored DOM (absolute http(s), no fragment, each once, in page order, bounded)."""

from __future__ import annotations

import pytest
from fixture_site import WWW

from evidencekit.analysis.follow import (
    CSS,
    MAX_LINKS,
    URL_GLOB,
    FollowPatternError,
    check_pattern,
    follow_kind,
    links_matching,
)

BASE = "https://board.example/jobs/list?page=2"
LISTING = b"""<!doctype html><html><head><title>Jobs</title></head><body>
<nav><a href="/">Home</a> <a href="/login">Log in</a></nav>
<ul class="results">
  <li class="result"><h2><a class="ad" href="/ad/101">Au pair Berlin</a></h2><a href="/ad/101#photos">photos</a></li>
  <li class="result"><h2><a class="ad" href="ad/102?ref=list">Nanny Dubai</a></h2></li>
  <li class="result"><h2><a class="ad" href="https://board.example/ad/103">Cleaner</a></h2></li>
  <li class="result"><h2><a class="ad" href="/ad/101">Au pair Berlin (again)</a></h2></li>
  <li class="result"><a class="ad" href="javascript:alert(1)">bad</a><a class="ad" href="mailto:x@y.example">mail</a></li>
  <li class="result"><a class="ad" href="https://elsewhere.example/ad/104">Partner ad</a></li>
  <li class="result"><a class="ad" href="http://[::1">broken</a><a class="ad">no href</a></li>
</ul>
<div class="sponsored"><a href="https://board.example/promo/9">Promoted</a></div>
</body></html>"""


def test_the_rule_a_url_glob_starts_with_a_scheme_or_a_slash_anything_else_is_css() -> None:
    assert follow_kind("https://board.example/ad/*") == URL_GLOB
    assert follow_kind("HTTP://board.example/ad/*") == URL_GLOB
    assert follow_kind("/ad/*") == URL_GLOB
    assert follow_kind("  /ad/*?ref=*") == URL_GLOB
    assert follow_kind("a.ad") == CSS
    assert follow_kind(".results li a") == CSS
    assert follow_kind("*") == CSS  # the universal selector, not a glob
    assert follow_kind("a[href*='/ad/']") == CSS


def test_a_css_selector_takes_each_elements_href_or_its_links() -> None:
    assert links_matching(LISTING, BASE, "a.ad", CSS) == [
        "https://board.example/ad/101",
        "https://board.example/jobs/ad/102?ref=list",
        "https://board.example/ad/103",
        "https://elsewhere.example/ad/104",
    ]
    # An element without href of its own gives the links inside it, fragments dropped, each once.
    assert links_matching(LISTING, BASE, "li.result", CSS) == [
        "https://board.example/ad/101",
        "https://board.example/jobs/ad/102?ref=list",
        "https://board.example/ad/103",
        "https://elsewhere.example/ad/104",
    ]
    assert links_matching(LISTING, BASE, ".sponsored", CSS) == ["https://board.example/promo/9"]
    assert links_matching(LISTING, BASE, "table.none", CSS) == []


def test_a_url_glob_matches_the_resolved_links() -> None:
    assert links_matching(LISTING, BASE, "https://board.example/ad/*", URL_GLOB) == [
        "https://board.example/ad/101",
        "https://board.example/ad/103",
    ]
    # "*" crosses "/" (fnmatch): /jobs/ad/102 is under "https://*/ad/*" too.
    assert links_matching(LISTING, BASE, "https://*/ad/*", URL_GLOB) == [
        "https://board.example/ad/101",
        "https://board.example/jobs/ad/102?ref=list",
        "https://board.example/ad/103",
        "https://elsewhere.example/ad/104",
    ]
    # A glob starting with / matches the path and query of the page's own origin only.
    assert links_matching(LISTING, BASE, "/ad/*", URL_GLOB) == [
        "https://board.example/ad/101",
        "https://board.example/ad/103",
    ]
    assert links_matching(LISTING, BASE, "/jobs/ad/*?ref=*", URL_GLOB) == ["https://board.example/jobs/ad/102?ref=list"]
    # On another port, only the relative link resolves onto the page's origin; the absolute one is elsewhere.
    assert links_matching(LISTING, "https://board.example:8443/jobs/list", "/ad/*", URL_GLOB) == [
        "https://board.example:8443/ad/101"
    ]
    # The default port written out is the same origin (links are kept as resolved).
    assert links_matching(LISTING, "https://board.example:443/x", "/ad/*", URL_GLOB) == [
        "https://board.example:443/ad/101",
        "https://board.example:443/ad/102?ref=list",  # "ad/102" resolved against /x
        "https://board.example/ad/103",
    ]


def test_the_pages_base_element_is_honoured() -> None:
    dom = b'<html><head><base href="https://cdn.board.example/m/"></head><body><a href="ad/5">x</a></body></html>'
    assert links_matching(dom, BASE, "a", CSS) == ["https://cdn.board.example/m/ad/5"]
    # As in a browser, a <base> with only a target is passed over for the first one with an href.
    two = b'<html><head><base target="_blank"><base href="https://cdn.board.example/m/"></head><body><a href="ad/7">x</a></body></html>'
    assert links_matching(two, BASE, "a", CSS) == ["https://cdn.board.example/m/ad/7"]


def test_bad_patterns_are_refused_with_one_line() -> None:
    with pytest.raises(FollowPatternError, match="not a CSS selector") as refused:
        links_matching(LISTING, BASE, "a[href=", CSS)
    assert "\n" not in str(refused.value)
    with pytest.raises(FollowPatternError, match="needs a pattern"):
        check_pattern("  ", CSS)
    with pytest.raises(FollowPatternError, match="unknown --follow kind"):
        check_pattern("a", "regex")
    check_pattern("https://board.example/ad/*", URL_GLOB)


def test_hostile_doms_give_no_links_or_a_bounded_count() -> None:
    assert links_matching(b"", BASE, "a", CSS) == []
    assert links_matching(b"\x00\xff\xfe garbage", BASE, "a", CSS) == []
    many = (
        b"<html><body>" + b"".join(b'<a href="/ad/%d">ad</a>' % n for n in range(MAX_LINKS + 500)) + b"</body></html>"
    )
    found = links_matching(many, BASE, "/ad/*", URL_GLOB)
    assert len(found) == MAX_LINKS and found[0] == "https://board.example/ad/0"


def test_a_fixture_listing_page_from_disk() -> None:
    dom = (WWW / "index.html").read_bytes()
    links = links_matching(dom, "http://127.0.0.1:8000/", "a", CSS)
    assert links and all(link.startswith("http://127.0.0.1:8000/") for link in links)
    assert len(links) == len(set(links)) and not any("#" in link for link in links)


FURNISHED = b"""<html><body>
<header><a href="/ad/home">Home</a></header>
<nav><a href="/ad/terms">Terms</a> <a href="/jobs">Jobs</a></nav>
<div role="navigation"><a href="/ad/menu">Menu</a></div>
<main>
  <article><header><a href="/ad/201">Nanny wanted</a></header></article>
  <article><a href="/ad/202">Au pair</a><footer><a href="/ad/202#contact">contact</a></footer></article>
</main>
<aside><a href="/ad/sponsored">Sponsored</a></aside>
<footer><a href="/ad/imprint">Imprint</a></footer>
<div role="contentinfo"><a href="/ad/legal">Legal</a></div>
</body></html>"""


def test_links_in_the_pages_furniture_are_never_followed() -> None:
    """inv F-med-4: a menu link matching the glob (/ad/terms) is no new ad; an article's own header and footer
    are the ad's, and are followed."""
    expected = ["https://board.example/ad/201", "https://board.example/ad/202"]
    assert links_matching(FURNISHED, BASE, "/ad/*", URL_GLOB) == expected
    assert links_matching(FURNISHED, BASE, "https://board.example/ad/*", URL_GLOB) == expected
    assert links_matching(FURNISHED, BASE, "a", CSS) == expected
