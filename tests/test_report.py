"""The offline report (evidencekit.bundle.documents.report): one self-contained, hostile-proof HTML page.

``make_facts`` builds realistic facts (two web captures and one added file, with a hostile title, a
3000-character URL and Arabic and Hindi text); test_certificates.py renders the same facts.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from evidencekit.bundle.documents.report import print_layout, render_report
from evidencekit.bundle.documents.report_facts import visible_text, zone_of
from evidencekit.errors import ValidationError

HOSTILE_TITLE = '<script>alert(1)</script> Escorts "24/7" & more'
ARABIC_TITLE = "وظائف في الخارج براتب مرتفع"
HINDI_TITLE = "विदेश में नौकरी — तुरंत संपर्क करें"
LONG_URL = "https://ads.example.net/listing?" + "&".join(f"p{n:04d}=x" for n in range(500))
LONG_URL = LONG_URL[:3000]
VOID = {"meta", "img", "br", "col", "link", "hr", "input", "wbr", "source"}


def _digest(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _b3(seed: str) -> str:
    return hashlib.blake2s(seed.encode()).hexdigest()


def make_png(colour: tuple[int, int, int], size: tuple[int, int] = (120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _artefacts(item_id: str, names: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "path": f"data/items/{item_id}/{name}",
            "role": role,
            "media_type": media_type,
            "size": 1000 + index * 777_777,
            "sha256": f"sha256:{_digest(item_id + name)}",
            "blake3": f"blake3:{_b3(item_id + name)}",
        }
        for index, (name, role, media_type) in enumerate(names)
    ]


CAPTURE_FILES = [
    ("screenshot-full.png", "screenshot", "image/png"),
    ("page.html", "dom", "text/html"),
    ("capture.warc.gz", "warc", "application/warc"),
    ("metadata.json", "metadata", "application/json"),
]


# Each capture's screenshots: (file name, role, size in px); SHOT_PNGS holds their bytes by bag path.
SHOT_FILES = [("screenshot-full.png", "full-page", (120, 200)), ("screenshot-viewport.png", "viewport", (120, 60))]
SHOT_PNGS: dict[str, bytes] = {}


def _shots(item_id: str, colour: tuple[int, int, int]) -> list[dict[str, Any]]:
    shots = []
    for name, role, size in SHOT_FILES:
        path = f"data/items/{item_id}/{name}"
        SHOT_PNGS[path] = make_png(colour, size)
        shots.append({"role": role, "path": path, "width": size[0], "height": size[1], "size": len(SHOT_PNGS[path])})
    return shots


def make_facts() -> dict[str, Any]:
    capture_1 = {
        "item_id": "capture-0001",
        "kind": "capture",
        "label": "Advert seen on classifieds board",
        "status": "complete",
        "reasons": [],
        "requested_url": "http://jobs.example.org/ad/17",
        "final_url": "https://jobs.example.org/ad/17?lang=ar",
        "redirect_chain": [
            {"url": "http://jobs.example.org/ad/17", "status": 301},
            {"url": "https://jobs.example.org/ad/17", "status": 302},
        ],
        "http_status": 200,
        "title": f"{ARABIC_TITLE} | {HINDI_TITLE}",
        "server_ip": "203.0.113.7",
        "started": "2025-03-01T10:00:00.000000Z",
        "ended": "2025-03-01T10:00:09.250000Z",
        "tz": "CET UTC+01:00",
        "browser": "Chromium 156.0.7000.0",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36",
        "artefacts": _artefacts("capture-0001", CAPTURE_FILES),
        "screenshots": _shots("capture-0001", (200, 30, 30)),
        "indicators": [
            {"kind": "phone", "value": "+971501234567", "raw": "+971 50 123 4567"},
            {"kind": "whatsapp", "value": "+971501234567", "raw": "wa.me/971501234567"},
            {"kind": "email", "value": "recruit@example.org", "raw": "Recruit@Example.org"},
            {"kind": "url", "value": "https://t.me/jobs_abroad", "raw": "t.me/jobs_abroad"},
        ],
        "images_exif": [],
        "notes": [
            {
                "time": "2025-03-01T10:05:00.000000Z",
                "text": "Seen during patrol\nNumber also on flyer",
                "actor": "A. Investigator",
            }
        ],
    }
    capture_2 = {
        "item_id": "capture-0002",
        "kind": "capture",
        "label": "Second advert, page timed out",
        "status": "partial",
        "reasons": ["timeout: the page kept loading after 30 s", {"code": "no-warc", "message": "WARC incomplete"}],
        "requested_url": LONG_URL,
        "final_url": LONG_URL,
        "redirect_chain": [],
        "http_status": 200,
        "title": HOSTILE_TITLE,
        "server_ip": "198.51.100.23",
        "started": "2025-03-01T11:00:00.000000Z",
        "ended": "2025-03-01T11:00:31.000000Z",
        "tz": "Asia/Kolkata",
        "browser": "Chromium 156.0.7000.0",
        "user_agent": "Mozilla/5.0",
        "artefacts": _artefacts("capture-0002", CAPTURE_FILES[:2]),
        "screenshots": _shots("capture-0002", (30, 30, 200)),
        "indicators": [{"kind": "telegram", "value": "@jobs_abroad", "raw": "TG: @jobs_abroad"}],
    }
    file_3 = {
        "item_id": "file-0003",
        "kind": "file",
        "label": "Photo sent by a witness",
        "status": "added",
        "started": "2025-03-02T08:30:00.000000Z",
        "tz": "+05:30",
        "artefacts": _artefacts("file-0003", [("photo.jpg", "original", "image/jpeg")]),
        "images_exif": [
            {
                "path": "data/items/file-0003/photo.jpg",
                "make": "Canon",
                "model": "EOS 80D",
                "datetime_original": "2024:12:24 18:02:11",
                "gps": {"latitude": "25.204849", "longitude": "55.270783"},
            }
        ],
    }
    actor = {"name": "A. Investigator", "key_id": "5f2c" + "0" * 60}
    custody = [
        {"seq": 0, "time": "2025-02-28T09:00:00.000000Z", "tz": "CET UTC+01:00", "action": "case.opened"},
        {"seq": 1, "time": "2025-02-28T09:00:01.000000Z", "tz": "CET UTC+01:00", "action": "key.registered"},
        {"seq": 2, "time": "2025-03-01T10:00:00.000000Z", "action": "capture.started", "subject": "capture-0001"},
        {"seq": 3, "time": "2025-03-01T10:00:09.250000Z", "action": "capture.completed", "subject": "capture-0001"},
        {"seq": 4, "time": "2025-03-01T11:00:31.000000Z", "action": "capture.completed", "subject": "capture-0002"},
        {"seq": 5, "time": "2025-03-02T08:30:00.000000Z", "action": "file.added", "subject": "file-0003"},
        {"seq": 6, "time": "2025-03-03T12:00:00.000000Z", "action": "checkpoint.signed", "summary": "tree size 7"},
    ]
    for entry in custody:
        entry.setdefault("tz", "CET UTC+01:00")
        entry["actor"] = actor
        entry.setdefault("summary", f"{entry['action']} recorded")
    return {
        "case": {
            "case_id": "OP-TIDE-2025",
            "title": "Recruitment adverts, Gulf route",
            "investigator": "A. Investigator",
            "agency": "National Anti-Trafficking Unit",
            "created": "2025-02-28T09:00:00.000000Z",
            "case_uuid": "6f1d7e0a-8c1b-4f5e-9a57-1c2d3e4f5a6b",
        },
        "bundle": {
            "created": "2025-03-03T12:00:05.000000Z",
            "software": "evidencekit 0.1.0",
            "recipient": "Public Prosecutor, Court of Session",
            "purpose": "Disclosure for trial",
            "tag_manifest_sha256": _digest("tagmanifest"),
            "checkpoint": {
                "tree_size": 7,
                "root": "q6Z0f1uNw9s2lKJHm0fxQe3B8nD6Y1tXzR4cV7aP9kE=",
                "key_id": actor["key_id"],
                "note": "evidencekit/OP-TIDE-2025/6f1d7e0a\n7\nq6Z0f1uNw9s2lKJHm0fxQe3B8nD6Y1tXzR4cV7aP9kE=\n\n— evidencekit-a-investigator-5f2c0000 AbCdEf==\n",
            },
            "signer": {
                "investigator": "A. Investigator",
                "key_id": actor["key_id"],
                "public_key_pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
            },
            "counts": {"items": 3, "files": 7, "ledger_entries": 7},
        },
        "items": [capture_1, capture_2, file_3],
        "custody": custody,
        "verify": {
            "commands": [
                "evidencekit verify .",
                "sha256sum -c manifest-sha256.txt",
                "b3sum --check manifest-blake3.txt",
                "python -m bagit --validate .",
                "openssl pkeyutl -verify -pubin -inkey data/custody/keys/investigator.pem -rawin -in body -sigfile sig",
            ]
        },
    }


class Page(HTMLParser):
    """Collects what the tests look at, and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        self.attrs += [(tag, name, value) for name, value in values.items()]
        self._in_style = tag == "style"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)

    def all_text(self) -> str:
        return "".join(self.text)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    return make_facts()


@pytest.fixture(scope="module")
def html(facts: dict[str, Any]) -> str:
    return render_report(facts)


def test_the_document_is_well_formed_and_nothing_is_left_open(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    page = parse(html)
    assert page.problems == []
    assert page.stack == []
    html.encode("utf-8")


def test_no_script_no_remote_resource_and_no_link_to_the_hostile_sites(html: str) -> None:
    page = parse(html)
    assert "<script" not in html.lower()
    assert not any(tag in {"script", "link", "iframe", "object", "embed", "base", "form"} for tag, _ in page.tags)
    for tag, name, value in page.attrs:
        if name in {"src", "href", "srcset", "action", "poster", "data"}:
            # Only the bag's own files, by a path that stays inside the bag, or a place on the page.
            inside = value.startswith(("../items/", "../exhibits/")) and ".." not in value[3:]
            assert inside or value.startswith("#"), (tag, name, value[:80])
        assert not re.match(r"\s*on", name), f"event handler attribute {name} on <{tag}>"
    assert "url(" not in page.style and "@import" not in page.style


def test_content_security_policy_forbids_network_loads_and_allows_exactly_this_style(html: str) -> None:
    page = parse(html)
    policies = [a for tag, a in page.tags if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(policies) == 1
    policy = policies[0]["content"]
    assert "default-src 'none'" in policy and "img-src 'self';" in policy
    expected = base64.b64encode(hashlib.sha256(page.style.encode("utf-8")).digest()).decode()
    assert f"style-src 'sha256-{expected}'" in policy
    assert html.index("Content-Security-Policy") < html.index("<style>")


def test_hostile_title_is_escaped_and_shown_as_recorded(html: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE_TITLE in parse(html).all_text()


def test_multilingual_titles_appear_isolated_from_the_text_around_them(html: str) -> None:
    assert f"<bdi>{ARABIC_TITLE} | {HINDI_TITLE}</bdi>" in html


def test_the_3000_character_url_is_shown_whole_as_text_that_breaks_only_at_fixed_places(html: str) -> None:
    assert len(LONG_URL) == 3000
    assert LONG_URL in parse(html).all_text()
    spans = re.findall(r'<span class="url" dir="ltr">(.*?)</span>', html)
    shown = next(span for span in spans if span.replace("<wbr>", "") == LONG_URL.replace("&", "&amp;"))
    for piece in shown.split("<wbr>")[:-1]:
        # Each line may end after a separator, or after a fixed run of 24 characters, never elsewhere.
        assert piece.endswith(("/", "?", "&amp;", "=", "#")) or len(piece.replace("&amp;", "&")) == 24, piece
    assert re.search(r"\.url[^{]*\{[^}]*word-break: normal", parse(html).style)
    assert "break-all" not in parse(html).style


def test_hashes_break_between_groups_of_eight_digits(html: str, facts: dict[str, Any]) -> None:
    digest = facts["items"][0]["artefacts"][0]["sha256"].removeprefix("sha256:")
    grouped = "<wbr>".join(digest[i : i + 8] for i in range(0, 64, 8))
    assert f'<span class="hash">{grouped}</span>' in html


def test_every_digest_and_size_appears(html: str, facts: dict[str, Any]) -> None:
    artefacts = [a for item in facts["items"] for a in item["artefacts"]]
    assert len(artefacts) == 7
    text = parse(html).all_text()
    for artefact in artefacts:
        assert artefact["sha256"].removeprefix("sha256:") in text
        assert artefact["blake3"].removeprefix("blake3:") in text
        assert f"{artefact['size']:,} bytes" in html
        assert artefact["path"] in text


def test_index_html_shows_each_capture_s_full_page_and_viewport_screenshots_from_the_bag(html: str) -> None:
    images = [a for tag, a in parse(html).tags if tag == "img"]
    assert [a["src"] for a in images] == [
        "../items/capture-0001/screenshot-full.png",
        "../items/capture-0001/screenshot-viewport.png",
        "../items/capture-0002/screenshot-full.png",
        "../items/capture-0002/screenshot-viewport.png",
    ]
    text = parse(html).all_text()
    assert "Full-page screenshot (the whole page, top to bottom), 120 × 200 px, scaled to the width" in text
    assert "Viewport screenshot (what a visitor saw on arrival), 120 × 60 px" in text
    assert "Reduced preview" not in text
    links = [a["href"] for tag, a in parse(html).tags if tag == "a" and not a["href"].startswith("#")]
    assert "../items/capture-0001/screenshot-full.png" in links


def test_the_printed_form_embeds_the_same_screenshots_and_says_how_much_they_were_reduced(
    facts: dict[str, Any],
) -> None:
    printed = render_report(facts, printing=print_layout("a4", SHOT_PNGS.get))
    sources = [a["src"] for tag, a in parse(printed).tags if tag == "img"]
    assert len(sources) == 4
    for src, path in zip(sources, [p for p in SHOT_PNGS if "capture-000" in p], strict=True):
        assert base64.b64decode(src.removeprefix("data:image/png;base64,")) == SHOT_PNGS[path]
    # 120 px is 31.75 mm: narrow enough to be shown at full size on A4.
    assert "120 × 200 px, shown at its full size" in parse(printed).all_text()
    policy = next(a["content"] for tag, a in parse(printed).tags if a.get("http-equiv") == "Content-Security-Policy")
    assert "img-src data:;" in policy and "'self'" not in policy
    assert 'counter(page) " of " counter(pages)' in printed


def test_each_item_has_its_own_section_that_starts_a_printed_page(html: str, facts: dict[str, Any]) -> None:
    page = parse(html)
    sections = [a for tag, a in page.tags if tag == "section" and a.get("class") == "item"]
    assert [s["id"] for s in sections] == ["item-1", "item-2", "item-3"]
    print_rules = page.style[page.style.index("@media print") :]
    rule = re.search(r"section\.item[^{]*\{([^}]*)\}", print_rules)
    assert rule and "page-break-before: always" in rule.group(1) and "break-before: page" in rule.group(1)
    for item in facts["items"]:
        assert item["item_id"] in page.all_text()


def test_the_custody_log_lists_every_sequence_number(html: str, facts: dict[str, Any]) -> None:
    custody = html[html.index('<section class="custody"') : html.index('<section class="appendix"')]
    cells = re.findall(r'<td><span class="num">(\d+)</span></td>', custody)
    assert [int(seq) for seq in cells] == [entry["seq"] for entry in facts["custody"]]
    assert "capture.completed" in custody and "file.added" in custody


def test_times_are_shown_in_utc_and_in_the_recorded_zone(html: str) -> None:
    assert "2025-03-01T10:00:00.000000Z" in html
    assert "2025-03-01 11:00:00.000000</span> (CET UTC+01:00)" in html  # CET is UTC+1
    assert "2025-03-01 16:30:00.000000</span> (Asia/Kolkata)" in html  # IST is UTC+5:30


def test_details_indicators_exif_checkpoint_and_verify_steps_are_there(html: str, facts: dict[str, Any]) -> None:
    text = parse(html).all_text()
    for fragment in [
        "203.0.113.7",
        "301",
        "timeout: the page kept loading after 30 s",
        "no-warc: WARC incomplete",
        "+971501234567",
        "recruit@example.org",
        "@jobs_abroad",
        "25.204849, 55.270783",
        "Canon EOS 80D",
        facts["bundle"]["checkpoint"]["root"],
        "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
        "b3sum --check manifest-blake3.txt",
        "Seen during patrol\nNumber also on flyer",
        facts["case"]["agency"],
    ]:
        assert fragment in text, fragment
    kinds = re.findall(r"<h4>(phone|whatsapp|telegram|email|url) \(\d+\)</h4>", html)
    assert kinds == ["phone", "whatsapp", "email", "url", "telegram"]  # grouped per item, in a fixed order


def test_bidi_overrides_and_control_characters_are_made_visible() -> None:
    facts = make_facts()
    facts["items"][0]["title"] = "invoice\u202egnp.exe"
    facts["items"][0]["final_url"] = "https://example.org/\u200bpath\x00"
    html = render_report(facts)
    assert "\u202e" not in html and "\u200b" not in html and "\x00" not in html
    assert '<span class="marker">⟨U+202E⟩</span>' in html
    assert "⟨U+200B⟩" in html and "⟨U+0000⟩" in html


def test_the_steps_warn_when_the_full_page_screenshot_was_not_rendered_at_the_top() -> None:
    facts = make_facts()
    item = facts["items"][0]
    item["steps"] = [
        {"step": "reached-bottom", "at": "2025-03-01T10:00:01.000000Z", "offset_ms": 1000},
        {"step": "full-page-screenshot", "at": "2025-03-01T10:00:01.200000Z", "offset_ms": 1200},
        {"step": "network-settled", "at": "2025-03-01T10:00:01.300000Z", "offset_ms": 1300},
    ]
    for where, said in ((0, False), (None, False), (True, False), (1234, True)):
        item["screenshot_scroll_y"] = where
        html = render_report(facts)
        assert ("rendered while the page stood 1234 px down" in html) is said, where
        assert "<h3>Capture steps</h3>" in html


def test_a_page_cannot_fake_a_revealed_character() -> None:
    assert visible_text("⟨U+202E⟩") == "⟨U+27E8⟩U+202E⟩"


def test_every_value_is_revealed_exactly_once() -> None:
    facts = make_facts()
    facts["items"][1]["reasons"] = ["code:\nsecond line", {"code": "x\ty", "message": "m\u202e"}]
    facts["custody"][0]["actor"] = {"name": "A\u202e", "key_id": "k\x07"}
    facts["items"][0]["artefacts"][0]["size"] = "12\x00"
    facts["verify"]["commands"] = ["echo \x1b[31m"]
    html = render_report(facts)
    assert "U+27E8" not in html
    for marker in ("⟨U+000A⟩", "⟨U+0009⟩", "⟨U+202E⟩", "⟨U+0007⟩", "⟨U+0000⟩", "⟨U+001B⟩"):
        assert f'<span class="marker">{marker}</span>' in html, marker


def test_scripts_that_need_joiners_keep_them() -> None:
    assert visible_text("क्‍ष") == "क्‍ष"  # U+200D zero width joiner in Devanagari stays
    assert visible_text("a\u200db", url=True) == "a⟨U+200D⟩b"


def test_zones_are_read_from_offsets_and_names() -> None:
    assert str(zone_of("CET UTC+01:00")) == "UTC+01:00"
    assert str(zone_of("-03:00")) == "UTC-03:00"
    assert str(zone_of("Asia/Kolkata")) == "Asia/Kolkata"
    assert zone_of("no such zone") is None and zone_of(None) is None


def test_missing_fields_render_as_not_recorded_never_as_none() -> None:
    facts = {
        "case": {"case_id": "C-1"},
        "items": [{"item_id": "file-0001", "kind": "file"}, {"item_id": "capture-0002", "kind": "capture"}],
    }
    html = render_report(facts)
    page = parse(html)
    assert page.problems == [] and page.stack == []
    assert "None" not in page.all_text()
    assert "not recorded" in html
    assert "No screenshot was recorded." in html
    assert "not known when this page was written" in html
    assert len([a for tag, a in page.tags if tag == "section" and a.get("class") == "item"]) == 2


def test_screenshots_past_the_printed_report_s_budget_are_named_not_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    from evidencekit.bundle.documents import report_items

    facts = make_facts()
    first = len(SHOT_PNGS["data/items/capture-0001/screenshot-full.png"])
    monkeypatch.setattr(report_items, "EMBED_TOTAL", first)
    printed = render_report(facts, printing=print_layout("a4", SHOT_PNGS.get))
    assert len([tag for tag, _ in parse(printed).tags if tag == "img"]) == 1
    assert printed.count("not embedded in this report, which it would make too large; it is the file") == 3


def test_a_screenshot_that_is_not_a_png_is_not_embedded_in_the_printed_form() -> None:
    facts = make_facts()
    hostile = {**SHOT_PNGS, "data/items/capture-0001/screenshot-full.png": b"<svg onload=alert(1)>"}
    printed = render_report(facts, printing=print_layout("a4", hostile.get))
    assert "onload" not in printed
    assert len([tag for tag, _ in parse(printed).tags if tag == "img"]) == 3
    assert "not shown here; the file is" in printed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f["items"][0].__setitem__("http_status", 200.0), "fractional"),
        (lambda f: f["case"].pop("case_id"), "case.case_id"),
        (lambda f: f.__setitem__("items", "capture-0001"), "items must be a list"),
        (lambda f: f["bundle"].__setitem__("checkpoint", ["root"]), "checkpoint must be a mapping"),
    ],
)
def test_facts_of_the_wrong_shape_are_refused(change: Any, message: str) -> None:
    facts = copy.deepcopy(make_facts())
    change(facts)
    with pytest.raises(ValidationError, match=re.escape(message)):
        render_report(facts)


def test_rendering_is_deterministic(facts: dict[str, Any]) -> None:
    assert render_report(facts) == render_report(copy.deepcopy(facts))


OVERFLOWS = """() => Array.from(document.body.querySelectorAll('*'))
    .filter(el => getComputedStyle(el).display !== 'inline' && el.clientWidth > 0
        && el.scrollWidth > el.clientWidth + 1)
    .map(el => el.tagName + '.' + el.className + ': ' + el.scrollWidth + ' > ' + el.clientWidth)"""


def test_chromium_loads_only_the_bag_s_screenshots_applies_the_style_and_nothing_overflows(tmp_path: Path) -> None:
    """The real browser, with a 2,000-character URL and a 5,000-character title: the only requests are the
    file itself and the bag's screenshots, the CSP lets the inline style through (and reports no violation),
    no element's content overflows its box on a wide or a narrow screen or in the print layout, and
    printing starts every item on a new page."""
    from playwright.sync_api import sync_playwright

    from evidencekit.capture.browser import find_browser, launch_args, sandbox_available

    facts = make_facts()
    long_url = "https://ads.example.net/" + "/".join(f"segment{n:03d}" for n in range(200))
    long_url = (long_url + "?q=" + "x" * 2000)[:2000]
    facts["items"][0].update(final_url=long_url, title="T" * 5000)
    facts["items"][1]["requested_url"] = "https://ads.example.net/?" + "y" * 1990
    report = tmp_path / "data/report/index.html"
    report.parent.mkdir(parents=True)
    report.write_text(render_report(facts), encoding="utf-8")
    for path, png in SHOT_PNGS.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(png)
    browser_path = find_browser(None, os.environ).path
    requests: list[str] = []
    console: list[str] = []
    overflows: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=browser_path, args=launch_args(sandbox_available()), chromium_sandbox=sandbox_available()
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.goto(report.as_uri(), wait_until="load")
            widths = [page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")]
            overflows["wide"] = page.evaluate(OVERFLOWS)
            page.set_viewport_size({"width": 400, "height": 800})
            widths.append(page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"))
            overflows["narrow"] = page.evaluate(OVERFLOWS)
            header_background = page.evaluate("getComputedStyle(document.querySelector('th')).backgroundColor")
            decoded = page.evaluate("Array.from(document.images).map(image => image.complete && image.naturalWidth)")
            page.set_viewport_size({"width": 700, "height": 1000})  # about an A4 column
            page.emulate_media(media="print")
            overflows["print"] = page.evaluate(OVERFLOWS)
            breaks = page.evaluate(
                "Array.from(document.querySelectorAll('section.item')).map(s => getComputedStyle(s).breakBefore)"
            )
        finally:
            browser.close()
    shots = sorted((tmp_path / path).as_uri() for path in SHOT_PNGS if "capture-000" in path)
    assert requests[0] == report.as_uri() and sorted(requests[1:]) == shots
    assert console == []
    assert all(scroll <= inner for scroll, inner in widths), widths
    assert overflows == {"wide": [], "narrow": [], "print": []}
    assert header_background == "rgb(232, 232, 232)"  # the inline style was allowed by its hash
    assert decoded == [120, 120, 120, 120]
    assert breaks == ["page", "page", "page"]
