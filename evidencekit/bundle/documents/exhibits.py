"""Per-item exhibit PDFs, ``data/exhibits/<label>.pdf``: one a court can file for each exported item.

An exhibit opens with a summary of its item (status at a glance, recorded reasons, URLs or the file's
facts, times in UTC and in the case's local zone, the item's files with their digests, the investigator's
notes), then shows each image whole: a web capture's full-page screenshot and its viewport screenshot, or
an image file added by hand. An image is printed at one scale (the page width, never enlarged), in
page-high strips of whole pixel rows: one strip per page, each the same image clipped to its rows, so no
row is lost or shown twice; every caption says which rows its page shows, at what scale, on which pages.

Page numbers in the captions are laid out before printing (the summary takes one page, each strip one);
the PDF Chromium prints is then counted, and an exhibit whose summary took more pages is laid out again
with that count and printed again. One whose pages still do not add up is refused: nothing is exported
with a caption that names the wrong pages.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidencekit.bundle.documents.exhibits_html import render_exhibit
from evidencekit.bundle.documents.exhibits_timeline import thumbnail_files
from evidencekit.bundle.documents.report_facts import (
    AFTER_CONSENT_CLICK,
    BEFORE_CONSENT_CLICK,
    NOT_RECORDED,
    consent_clicked,
    parse_utc,
    plain,
    zone_of,
)
from evidencekit.bundle.layout import artefact_path, exhibit_path
from evidencekit.errors import OperationalError
from evidencekit.models import LedgerEntry

if TYPE_CHECKING:
    from evidencekit.bundle.export import ExportItem, ExportPlan

FULL_PAGE = "screenshot.png"
VIEWPORT = "screenshot-viewport.png"
# Larger images are not drawn (more than the tallest full-page screenshot a capture takes, 262,144 px, at
# 2,048 px wide; that one prints whole, as a test of 1,366 × 262,144 showed); the exhibit says where they are.
MAX_SHOWN_PIXELS = 600_000_000
_MM_PER_PX = 25.4 / 96
_CAPTION_PX = 84  # room above each strip for its caption
_PRINTS = 4


@dataclass(frozen=True)
class ExhibitJob:
    """One exhibit to print: its HTML, the PDF to write, the paper, the local image files it shows."""

    html_file: Path
    pdf_out: Path
    paper: str
    files: tuple[Path, ...]


ExhibitPrinter = Callable[[Sequence[ExhibitJob]], None]


@dataclass(frozen=True)
class Paper:
    name: str
    width_mm: float
    height_mm: float
    margins_mm: tuple[float, float, float, float] = (32, 14, 22, 14)  # top, right, bottom, left

    @property
    def css_size(self) -> str:
        return f"{self.width_mm}mm {self.height_mm}mm"

    @property
    def margin_css(self) -> str:
        return " ".join(f"{m}mm" for m in self.margins_mm)

    @property
    def content_width_px(self) -> float:
        return (self.width_mm - self.margins_mm[1] - self.margins_mm[3]) / _MM_PER_PX

    @property
    def strip_height_px(self) -> float:
        return (self.height_mm - self.margins_mm[0] - self.margins_mm[2]) / _MM_PER_PX - _CAPTION_PX


PAPERS = {"a4": Paper("a4", 210, 297), "letter": Paper("letter", 215.9, 279.4)}


@dataclass
class Shown:
    """One image an exhibit shows, at ``scale64``/64 of its pixel size, in strips of (first row, rows)."""

    what: str
    path: str
    file: Path
    sha256: str
    width: int
    height: int
    scale64: int
    strips: list[tuple[int, int]]
    first_page: int = 0

    @property
    def uri(self) -> str:
        return self.file.resolve().as_uri()

    def css_px(self, pixels: int) -> str:
        # A multiple of 1/64 px, which Chromium's layout holds exactly: strips meet without a gap or overlap.
        return f"{pixels * self.scale64 / 64:.6f}".rstrip("0").rstrip(".")

    def pages(self, total: int) -> str:
        last = self.first_page + len(self.strips) - 1
        span = f"page {self.first_page}" if last == self.first_page else f"pages {self.first_page}–{last}"
        return f"{span} of {total}"

    def scale_text(self) -> str:
        pixel_mm = _MM_PER_PX * self.scale64 / 64
        if self.scale64 == 64:
            return f"shown at full size (1 image pixel = 1 CSS pixel, {pixel_mm:.3f} mm)"
        return (
            f"scaled down to {self.scale64 / 64:.1%} of its pixel size to fit the page width "
            f"(1 image pixel = {pixel_mm:.3f} mm; {self.width:,} px across {self.width * pixel_mm:.1f} mm)"
        )

    def caption(self, total: int) -> str:
        return f"{self.what}, {self.width:,} × {self.height:,} px, {self.pages(total)}"

    def strip_caption(self, number: int, start: int, rows: int, total: int) -> str:
        return (
            f"{self.caption(total).capitalize()}. This page: rows {start + 1:,}–{start + rows:,} of "
            f"{self.height:,} (part {number} of {len(self.strips)}); {self.scale_text()}."
        )


@dataclass
class ExhibitLayout:
    case_id: str
    label: str
    item: Mapping[str, Any]
    paper: Paper
    zone: tzinfo | None
    zone_note: str
    shown: list[Shown] = field(default_factory=list)
    not_shown: str = ""
    added_by: Any = None
    cut_note: str = ""
    summary_pages: int = 1
    # The history of the item's watched URL (``timeline_facts``), printed in the summary; None: in no series.
    timeline: Mapping[str, Any] | None = None
    root: Path | None = None  # the bag, whose screenshots the history's strip shows

    @property
    def image_pages(self) -> int:
        return sum(len(s.strips) for s in self.shown)

    @property
    def total(self) -> int:
        return self.summary_pages + self.image_pages

    def number_pages(self) -> None:
        page = self.summary_pages + 1
        for shown in self.shown:
            shown.first_page = page
            page += len(shown.strips)

    def moment(self, value: Any) -> tuple[str, str]:
        """A recorded time in UTC and in the local zone, to the second (the recorded value is shown too)."""
        moment = parse_utc(value)
        if moment is None:
            return NOT_RECORDED, NOT_RECORDED
        utc = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        if self.zone is None:
            return utc, "local zone not set"
        local = moment.astimezone(self.zone)
        offset = local.strftime("%z")
        name = local.tzname() or ""
        named = f"{name} " if name.isalpha() else ""
        return utc, f"{local:%Y-%m-%d %H:%M:%S} {named}(UTC{offset[:3]}:{offset[3:]}) local"

    @property
    def time_utc(self) -> str:
        return self.moment(self.item.get("started"))[0]

    @property
    def time_local(self) -> str:
        return self.moment(self.item.get("started"))[1]


# --- image sizes, read from the file's own header (no imaging library) -------------------------------


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, JPEG or WebP file, or None for anything else."""
    try:
        with path.open("rb") as f:
            head = f.read(64)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                return _positive(struct.unpack(">II", head[16:24]))
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return _positive(struct.unpack("<HH", head[6:10]))
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                return _webp_size(head)
            if head[:2] == b"\xff\xd8":
                f.seek(2)
                return _jpeg_size(f.read(4 * 1024 * 1024))
    except (OSError, struct.error):
        return None
    return None


def _positive(size: tuple[int, int]) -> tuple[int, int] | None:
    return size if size[0] > 0 and size[1] > 0 else None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", head[26:30])
        return _positive((w & 0x3FFF, h & 0x3FFF))
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return _positive(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
    if chunk == b"VP8X":
        return _positive((int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1))
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 0
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return _positive((w, h))
        pos += 2 + length
    return None


def pdf_page_count(path: Path) -> int:
    """Pages of a PDF Chromium printed (its page objects; Chromium writes no object streams)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))


# --- laying out one exhibit ---------------------------------------------------------------------------


def _shown(root: Path, rel: str, what: str, sha256: str, paper: Paper) -> Shown | str:
    """The image at ``rel`` laid out in strips, or why it is not shown."""
    size = image_size(root / rel)
    if size is None:
        return f"The {what} is not an image this exhibit can draw; it is in the bundle at {rel}."
    width, height = size
    if width * height > MAX_SHOWN_PIXELS:
        return f"The {what} ({width:,} × {height:,} px) is too large to print; it is in the bundle at {rel}."
    scale64 = max(1, min(64, int(paper.content_width_px * 64 // width)))
    rows = max(1, int(paper.strip_height_px * 64 // scale64))
    strips = [(start, min(rows, height - start)) for start in range(0, height, rows)]
    return Shown(what, rel, root / rel, sha256, width, height, scale64, strips)


def _configured_zone(plan: ExportPlan) -> str | None:
    zone = None
    for _, raw in plan.ledger_lines:
        entry = LedgerEntry.from_raw(raw)
        if entry.action == "case.configured":
            value = entry.details.get("timezone")
            zone = value if isinstance(value, str) and value else None
    return zone


def _zone(configured: str | None, recorded: Any, kind: str) -> tuple[tzinfo | None, str]:
    if configured and (zone := zone_of(configured)) is not None:
        return zone, f"{configured}, from the case settings"
    if isinstance(recorded, str) and (zone := zone_of(recorded)) is not None:
        what = "capture" if kind == "capture" else "file when it was added"
        return zone, f"{recorded}, the zone recorded with the {what} (the case settings name no zone)"
    return None, "local zone not set (the case settings name no zone and none was recorded)"


def layout_exhibit(
    root: Path,
    plan: ExportPlan,
    item: ExportItem,
    facts: Mapping[str, Any],
    configured: str | None,
    timeline: Mapping[str, Any] | None = None,
) -> ExhibitLayout:
    paper = PAPERS[plan.paper]
    zone, note = _zone(configured, facts.get("tz"), item.kind)
    layout = ExhibitLayout(
        plan.case.case_id, plan.exhibit(item), facts, paper, zone, note, timeline=timeline, root=root
    )
    digests = {str(a.get("path")): str(a.get("sha256")) for a in facts.get("artefacts") or []}
    wanted: list[tuple[str, str]] = []
    if item.kind == "capture":
        wanted = [(FULL_PAGE, "full-page screenshot"), (VIEWPORT, "viewport screenshot")]
        if consent_clicked(facts):  # which image shows the page before the tool's click, which after
            wanted = [
                (FULL_PAGE, f"full-page screenshot ({AFTER_CONSENT_CLICK})"),
                (VIEWPORT, f"viewport screenshot ({BEFORE_CONSENT_CLICK})"),
            ]
        layout.cut_note = _cut_note(root / artefact_path(item.item_id, "metadata.json"))
    else:
        layout.added_by = item.entries[0].actor.to_dict()
    if item.kind == "file" and item.artefacts:
        wanted = [(item.artefacts[0][0].name, "image file as added (pixels as stored)")]
    reasons = []
    for name, what in wanted:
        rel = artefact_path(item.item_id, name)
        if rel not in digests:
            if item.kind == "capture":
                reasons.append(f"The capture holds no {what}.")
            continue
        shown = _shown(root, rel, what, digests[rel], paper)
        if isinstance(shown, Shown):
            layout.shown.append(shown)
        elif item.kind == "file":
            reasons.append(f"The file's content is not shown here: it is in the bundle at {rel}.")
        else:
            reasons.append(shown)
    if item.kind not in ("capture", "file"):
        reasons.append(f"The files of this item are in the bundle under {artefact_path(item.item_id, '')}.")
    layout.not_shown = " ".join(reasons)
    # A first guess at the summary's length (about 6 table rows fit on its first page, 20 on each next one),
    # so that most exhibits print once; the printed page count decides (``write_exhibits``).
    rows = len(facts.get("artefacts") or []) + 2 * len(facts.get("notes") or [])
    rows += 3 * len(timeline.get("attempts") or []) if timeline else 0
    layout.summary_pages = 1 if rows <= 6 else 2 + (rows - 6) // 20
    layout.number_pages()
    return layout


def _cut_note(metadata: Path) -> str:
    """What the capture recorded about a page taller than it would shoot (metadata.json page.screenshot)."""
    try:
        page = json.loads(metadata.read_text(encoding="utf-8")).get("page") or {}
        shot = page.get("screenshot") or {}
    except (OSError, ValueError, AttributeError):
        return ""
    if not isinstance(shot, dict) or shot.get("cut") is not True:
        return ""
    return (
        f"the capture recorded that the page ({shot.get('page_height', NOT_RECORDED)} px tall) was taller than "
        f"its full-page screenshot, which was cut at {shot.get('height', NOT_RECORDED)} px"
    )


def write_exhibits(
    root: Path,
    scratch: Path,
    plan: ExportPlan,
    item_facts: Sequence[Mapping[str, Any]],
    printer: ExhibitPrinter,
    timelines: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """Print every item's exhibit into the bag at ``root``; return their paths in the bag. ``timelines``: the
    watched URLs' histories (``timeline_facts``); an item in one of them prints it in its summary."""
    configured = _configured_zone(plan)
    by_series = {str(t.get("series")): t for t in timelines}
    layouts = [
        layout_exhibit(root, plan, item, facts, configured, by_series.get(str(facts.get("series"))))
        for item, facts in zip(plan.items, item_facts, strict=True)
    ]
    scratch.mkdir(parents=True, exist_ok=True)
    pending = layouts
    for attempt in range(_PRINTS):
        jobs = []
        for layout in pending:
            html = scratch / f"{layout.label}.html"
            html.write_text(render_exhibit(layout), encoding="utf-8")
            out = root / exhibit_path(layout.label)
            out.parent.mkdir(parents=True, exist_ok=True)
            thumbnails = thumbnail_files(root, layout.timeline, plain(layout.item.get("item_id")))
            jobs.append(ExhibitJob(html, out, plan.paper, tuple(s.file for s in layout.shown) + thumbnails))
        printer(jobs)
        again = []
        for layout in pending:
            pages = pdf_page_count(root / exhibit_path(layout.label))
            if pages == layout.total:
                continue
            if pages <= layout.image_pages or attempt == _PRINTS - 1:
                raise OperationalError(
                    f"exhibit {layout.label} printed to {pages} page(s) where {layout.total} were laid out; "
                    "nothing was exported"
                )
            layout.summary_pages = pages - layout.image_pages
            layout.number_pages()
            again.append(layout)
        pending = again
        if not pending:
            break
    return [exhibit_path(layout.label) for layout in layouts]
