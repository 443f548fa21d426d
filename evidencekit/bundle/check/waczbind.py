"""Whether a capture's WACZ is the one export made from that capture: held to the ledger, not only to itself.

``check_wacz`` shows that a package agrees with itself (its datapackage digests match its entries). That
binds nothing: an insider who re-signs a bundle can put another capture's WACZ in its place, or edit its
page list and redo the digests, and the package still agrees with itself. Here the package is held to what
export makes (``bundle.derived``, ``bundle.wacz``) from the ledger lines the bundle carries:

- its one WARC is byte for byte the capture's recorded WARC. Export copies the WARC in as it is (a stored
  zip entry, never recompressed), so the entry's size, SHA-256 and BLAKE3 must be the ledger's;
- its CDXJ index is the index of that WARC, line for line, as export computes it;
- its page list names the final URL capture.completed recorded, with the title as recorded and the time of
  the capture.started entry; datapackage.json names the same page (mainPageUrl, mainPageDate), the case and
  the item, and the bundle's creation time from the signed statement;
- every entry is byte for byte what export writes for these facts. Only ``software`` (the evidencekit
  version that wrote the package) is taken from the package itself: it is no fact of the ledger.

It runs only on a package ``check_wacz`` found sound, so the entries it reads are within that check's limits,
and it reads the page list and the index no further than a little past the length export would give them.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from evidencekit.bundle.check.wacz import DATAPACKAGE, DATAPACKAGE_DIGEST, INDEX_PATH, MAX_JSON_BYTES, PAGES_PATH
from evidencekit.bundle.derived import WaczFacts
from evidencekit.bundle.findings import BundleReport
from evidencekit.bundle.wacz import (
    WaczPage,
    cdxj_lines,
    datapackage_digest_json,
    datapackage_json,
    pages_jsonl,
    resource_entry,
    warc_member_name,
)
from evidencekit.errors import InputFileError
from evidencekit.hashing import DualHasher
from evidencekit.models import Artefact

_ARCHIVE = "archive/"
_CHUNK = 1024 * 1024
_SHOWN = 200  # characters of a URL or title quoted in a problem
_SLACK = 1024 * 1024


@dataclass(frozen=True)
class CaptureRecord:
    """What the bundle's ledger lines say one capture's WACZ must hold."""

    item_id: str
    warc: Artefact
    warc_seq: int  # the entry that recorded the WARC
    completed_seq: int | None  # the capture.completed entry, if the capture completed
    facts: WaczFacts


def check_wacz_binding(path: Path, rel: str, record: CaptureRecord, created: str | None, report: BundleReport) -> None:
    """Add a problem for each way the WACZ at ``path`` (bundle path ``rel``) differs from what export makes
    for ``record``; ``created`` is the bundle's creation time from its signed statement, if it could be read."""
    try:
        with zipfile.ZipFile(path) as zf:
            _Binding(zf, rel, record, created, report).run()
    except Exception as exc:  # the verifier reports, never raises, whatever the file holds
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        report.add(
            "wacz.unreadable",
            f"whether the WACZ of item {record.item_id} was made from its recorded WARC could not be checked "
            f"to the end ({type(exc).__name__}: {detail})",
            path=rel,
        )


class _Hashing:
    """The WARC entry as the indexer reads it, hashed on the way, so one read gives the index and the digests."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.hasher = DualHasher()
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.hasher.update(data)
        self.size += len(data)
        return data

    def tell(self) -> int:
        return self.size

    def read_rest(self) -> None:
        while self.read(_CHUNK):
            pass


class _Binding:
    def __init__(
        self, zf: zipfile.ZipFile, rel: str, record: CaptureRecord, created: str | None, report: BundleReport
    ) -> None:
        self.zf, self.rel, self.record, self.created, self.report = zf, rel, record, created, report
        self.members = {info.filename: info for info in zf.infolist() if not info.is_dir()}
        self.item = record.item_id

    def add(self, code: str, message: str) -> None:
        self.report.add(code, f"item {self.item}: {message}", path=self.rel)

    def run(self) -> None:
        warcs = sorted(name for name in self.members if name.startswith(_ARCHIVE))
        for name in sorted(set(self.members) - set(warcs) - {DATAPACKAGE, DATAPACKAGE_DIGEST, INDEX_PATH, PAGES_PATH}):
            self.add("wacz.derived_differs", f"{name} is in the WACZ, and export puts no such entry in one")
        index = self._check_warc(warcs)
        if index is not None:
            found = self._read(INDEX_PATH, len(index))
            if found is not None and found != index:
                self.add(
                    "wacz.index",
                    f"{INDEX_PATH} is not the index of the WACZ's WARC ({_first_difference(found, index)}); a "
                    "player would look for records where they are not",
                )
        self._check_pages()
        self._check_package()

    def _check_warc(self, warcs: list[str]) -> bytes | None:
        """Hold the one WARC entry to the item's recorded WARC; return its index as export would write it, or
        None where the WARC is not the recorded one (that is the problem then) or cannot be indexed."""
        recorded = self.record.warc
        named = f"{recorded.name} (recorded at seq {self.record.warc_seq})"
        if len(warcs) != 1:
            self.add(
                "wacz.not_of_item",
                f"the WACZ holds {len(warcs)} files under {_ARCHIVE} where export puts exactly one, the capture's "
                f"recorded WARC {named}",
            )
            return None
        info = self.members[warcs[0]]
        if info.file_size != recorded.digests.size:
            self.add(
                "wacz.not_of_item",
                f"{info.filename} holds {info.file_size} bytes, but the item's recorded WARC {named} holds "
                f"{recorded.digests.size}: this WACZ was not made from this capture",
            )
            return None
        with self.zf.open(info) as stream:
            expected_name = _ARCHIVE + warc_member_name(stream.read(2))
        if info.filename != expected_name:
            self.add("wacz.derived_differs", f"the WARC is named {info.filename}; export names it {expected_name}")
        with self.zf.open(info) as stream:
            reader = _Hashing(stream)
            try:
                lines: list[str] | None = cdxj_lines(reader, expected_name[len(_ARCHIVE) :], source=info.filename)
            except InputFileError as exc:
                lines = None
                self.add("wacz.index", f"{info.filename} cannot be indexed: {exc}")
            reader.read_rest()
        digests = reader.hasher.digests()
        if digests != recorded.digests:
            self.add(
                "wacz.not_of_item",
                f"{info.filename} differs from the item's recorded WARC {named} (SHA-256 {digests.sha256_tagged}, "
                f"recorded {recorded.digests.sha256_tagged}): this WACZ was not made from this capture",
            )
            return None
        return None if lines is None else "".join(line + "\n" for line in lines).encode("utf-8")

    def _read(self, name: str, expected_size: int) -> bytes | None:
        """An entry's bytes, read no further than a little past the size export would have given it: enough to
        say how a longer entry differs, never the whole of an entry grown huge."""
        info = self.members.get(name)
        if info is None:
            return None  # check_wacz reports a missing entry
        with self.zf.open(info) as stream:
            return stream.read(expected_size + _SLACK)

    def _pages(self) -> list[WaczPage]:
        facts = self.record.facts
        return [WaczPage(url=facts.url, title=facts.page_title, ts=facts.page_ts)] if facts.url else []

    def _recorded_url(self) -> str:
        seq, url = self.record.completed_seq, self.record.facts.url
        if seq is None or not url:
            return "the ledger records no completed capture, so no page URL"
        return f"the ledger's capture.completed (seq {seq}) recorded the final URL {_quote(url)}"

    def _check_pages(self) -> None:
        facts = self.record.facts
        expected = pages_jsonl(self._pages(), facts.title)
        actual = self._read(PAGES_PATH, len(expected))
        if actual is None or actual == expected:
            return
        listed = _page_lines(actual)
        if [p.get("url") for p in listed] != [page.url for page in self._pages()]:
            urls = ", ".join(_quote(p.get("url")) for p in listed[:3]) or "no page"
            self.add("wacz.page_url", f"{PAGES_PATH} names {urls}, but {self._recorded_url()}")
        elif [p.get("title") for p in listed] != [page.title for page in self._pages()]:
            self.add(
                "wacz.page_title",
                f"{PAGES_PATH} gives the page title {_quote(listed[0].get('title'))}, but the ledger's "
                f"capture.completed (seq {self.record.completed_seq}) recorded {_quote(facts.page_title)}",
            )
        elif [p.get("ts") for p in listed] != [page.ts for page in self._pages()]:
            self.add(
                "wacz.page_time",
                f"{PAGES_PATH} gives the capture time {_quote(listed[0].get('ts'))}, but capture.started was "
                f"recorded at {facts.page_ts}",
            )
        else:
            self.add("wacz.derived_differs", f"{PAGES_PATH} is not the page list export writes from the ledger")

    def _check_package(self) -> None:
        """datapackage.json against the one export writes: check_wacz has shown that each resource it lists is
        the entry of that name, byte for byte, so the listing is rebuilt from its own names and digests."""
        raw = self._read(DATAPACKAGE, MAX_JSON_BYTES)
        package = _json_object(raw) if raw is not None else None
        if raw is None or package is None:
            return
        facts = self.record.facts
        listed = package.get("resources")
        resources = [
            resource_entry(str(r.get("path")), str(r.get("hash"))[len("sha256:") :], r["bytes"])
            for r in (listed if isinstance(listed, list) else [])
            if isinstance(r, dict) and type(r.get("bytes")) is int
        ]
        pages = self._pages()
        wanted: dict[str, object] = {
            "mainPageUrl": pages[0].url if pages else None,
            "mainPageDate": pages[0].ts if pages else None,
            "title": facts.title,
            "description": facts.description,
            "created": self.created if self.created is not None else package.get("created"),
        }
        found = False
        for field, value in wanted.items():
            if package.get(field) == value:
                continue
            found = True
            shown = f"{DATAPACKAGE} {field} is {_quote(package.get(field))}"
            if field == "mainPageUrl":
                self.add("wacz.page_url", f"{shown}, but {self._recorded_url()}")
            elif field == "mainPageDate":
                self.add("wacz.page_time", f"{shown}, but capture.started was recorded at {facts.page_ts}")
            else:
                self.add("wacz.derived_differs", f"{shown}; export writes {_quote(value)} for this item and bundle")
        software, created = package.get("software"), wanted["created"]
        if isinstance(software, str) and isinstance(created, str):
            expected = datapackage_json(resources, pages, facts.title, facts.description, software, created)
            if raw != expected and not found:
                self.add("wacz.derived_differs", f"{DATAPACKAGE} is not the package description export writes")
        elif not found:
            self.add("wacz.derived_differs", f"{DATAPACKAGE} gives no software or creation time as text")
        digest = datapackage_digest_json(raw)
        if self._read(DATAPACKAGE_DIGEST, len(digest)) not in (None, digest):
            self.add("wacz.derived_differs", f"{DATAPACKAGE_DIGEST} is not the digest file export writes")


def _page_lines(data: bytes) -> list[dict[str, Any]]:
    """The page entries of a page list (its header line left out); a line that is not a JSON object counts as
    a page with no URL, so that it shows as a difference."""
    pages: list[dict[str, Any]] = []
    for number, line in enumerate(data.splitlines()):
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            value = None
        if number == 0 and isinstance(value, dict) and "format" in value:
            continue
        pages.append(value if isinstance(value, dict) else {})
    return pages


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _first_difference(actual: bytes | None, expected: bytes) -> str:
    if actual is None:
        return "it is missing"
    got, want = actual.splitlines(), expected.splitlines()
    for number, (a, b) in enumerate(zip(got, want, strict=False), start=1):
        if a != b:
            return f"line {number} differs"
    return f"it has {len(got)} lines where the WARC gives {len(want)}" if len(got) != len(want) else "it differs"


def _quote(value: object) -> str:
    if value is None:
        return "none"
    text = value if isinstance(value, str) else json.dumps(value)
    text = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
    return repr(text) if not text.isprintable() else f"'{text}'"
