"""Filling the derived index from the ledger and the object store, entry by entry, never altering either.

What is indexed, per item: a capture's URL (and final URL) and title, its visible text (``text.txt``, role
``visible-text``: read from the rendered page, so it holds text a script inserted), the images it loaded (from
its ``metadata.json``) and its indicators (``indicators.json``, with the text as found and whether it is site
furniture); an added file's name and text lines (``indicators.file_text``, numbered), its photo facts and
indicators; every note. Photos of captures made before PDQ was recorded at capture time (metadata schema
< 1.5.0) and of files added before it are hashed here, into the index only: the evidence is never written to.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from evidencekit.analysis.index import DerivedIndex, IndicatorRow, ItemRow, PhotoRow
from evidencekit.ledger.backend import LedgerBackend
from evidencekit.ledger.entries import (
    CaptureEnded,
    CaptureStarted,
    FileAdded,
    FolderAdded,
    NoteAdded,
    given_note,
    item_kind,
    parse,
)
from evidencekit.models import Artefact, LedgerEntry
from evidencekit.store import ObjectStoreBackend

_MAX_JSON_BYTES = 64 * 1024 * 1024  # a metadata.json or indicators.json larger than this is not read
_IMAGE_TYPES = ("image/",)


def bring_up_to_date(index: DerivedIndex, ledger: LedgerBackend, store: ObjectStoreBackend) -> int:
    """Index the entries recorded since the index was last brought up to date; the number of entries read.

    An index whose last indexed entry is not the ledger's (built from another ledger, or a ledger replaced)
    is emptied and built again from the first entry. Where it stands is read inside the index's write
    transaction, so two commands bringing it up to date at once index each entry once.
    """
    size = ledger.size()
    if index.indexed_to == size and size > 0 and _same_leaf(index, ledger, size):
        return 0  # the common case, without taking the index's write lock
    with index.transaction():
        start = index.indexed_to
        if start > 0 and (start > size or not _same_leaf(index, ledger, start)):
            index.empty()
            start = 0
        if start >= size:
            return 0
        feeder = _Feeder(index, store)
        for entry in ledger.entries(start=start, stop=size):
            feeder.take(entry)
        index.set_meta("indexed_to", str(size))
        index.set_meta("last_leaf", _leaf_before(ledger, size))
        for key, value in feeder.libraries.items():
            index.set_meta(f"library:{key}", value)
    return size - start


def _same_leaf(index: DerivedIndex, ledger: LedgerBackend, upto: int) -> bool:
    """Whether the entry before ``upto`` is the one the index last took (same leaf hash)."""
    return _leaf_before(ledger, upto) == index.meta("last_leaf")


def _leaf_before(ledger: LedgerBackend, upto: int) -> str:
    """The leaf hash of the entry before ``upto`` ("" when there is none)."""
    held = list(ledger.rows(start=upto - 1, stop=upto))
    return held[0].leaf_hash if held else ""


def host_of(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    with contextlib.suppress(ValueError):
        return (urlsplit(url).hostname or "").lower() or None
    return None


class _Feeder:
    def __init__(self, index: DerivedIndex, store: ObjectStoreBackend) -> None:
        self.index = index
        self.store = store
        self.hosts = {item.item: item.host for item in index.items().values()}
        self.libraries: dict[str, str] = {}
        self.said: set[tuple[str, str | None, int | None, str]] = set()

    def take(self, entry: LedgerEntry) -> None:
        parsed = parse(entry)
        item = entry.subject
        if entry.action in ("file.added", "folder.added", "capture.started") and item is not None:
            host = host_of(parsed.url) if isinstance(parsed, CaptureStarted) else None
            self.index.add_item(ItemRow(item, item_kind(entry.action) or "item", entry.time, host))
            self.hosts[item] = host
            if isinstance(parsed, CaptureStarted):
                self.index.add_text(item, None, "url", None, parsed.url)
            elif isinstance(parsed, FileAdded | FolderAdded):
                self.index.add_text(item, None, "name", None, parsed.original_name)
            given = given_note(parsed)
            if given:
                self.index.add_text(item, None, "note", None, given)
        if isinstance(parsed, NoteAdded):
            self.index.add_text(item or "case", None, "note", None, parsed.text)
        elif isinstance(parsed, CaptureEnded) and item is not None:
            self._capture(item, entry, parsed)
        elif isinstance(parsed, FileAdded) and item is not None:
            for artefact in entry.artefacts:
                self._file(item, artefact, entry.details.get("photo"))
            named = entry.artefacts[0].name if len(entry.artefacts) == 1 else None
            self._indicators(item, entry.details.get("indicators"), named)
        elif isinstance(parsed, FolderAdded) and item is not None:
            photos = entry.details.get("photos")
            for artefact in entry.artefacts:
                facts = photos.get(artefact.name) if isinstance(photos, Mapping) else None
                self._file(item, artefact, facts)
            self._indicators(item, entry.details.get("indicators"), None)

    # -- captures ------------------------------------------------------------------------------------
    def _capture(self, item: str, entry: LedgerEntry, ended: CaptureEnded) -> None:
        host = host_of(ended.final_url) or self.hosts.get(item) or host_of(ended.url)
        if host != self.hosts.get(item):
            self.index.set_item_host(item, host)
            self.hosts[item] = host
        if ended.title:
            self.index.add_text(item, None, "title", None, ended.title)
        if ended.final_url and ended.final_url != ended.url:
            self.index.add_text(item, None, "url", None, ended.final_url)
        by_role = {a.role: a for a in entry.artefacts}
        by_name = {a.name: a for a in entry.artefacts}
        text = by_role.get("visible-text")
        if text is not None:
            for number, line in enumerate(self._read_text(text).splitlines(), start=1):
                self.index.add_text(item, text.name, "visible-text", number, line)
        found = self._read_json(by_role.get("indicators"))
        if isinstance(found, list):
            self._indicators(item, found, "indicators.json")
        else:
            self._indicators(item, entry.details.get("indicators"), None)
        metadata = self._read_json(by_role.get("metadata"))
        if isinstance(metadata, Mapping):
            pdq = (
                (metadata.get("photo_hashing") or {}).get("pdq")
                if isinstance(metadata.get("photo_hashing"), Mapping)
                else None
            )
            if isinstance(pdq, str):
                self.libraries["pdq"] = pdq
            for image in metadata.get("images") or []:
                if isinstance(image, Mapping) and not image.get("duplicate"):
                    artefact = by_name.get(str(image.get("artefact")))
                    if artefact is not None:
                        self._photo(item, artefact, image, host=host, url=image.get("url"))

    # -- added files ---------------------------------------------------------------------------------
    def _file(self, item: str, artefact: Artefact, facts: Any) -> None:
        media_type = artefact.media_type.split(";", 1)[0].strip().lower()
        if media_type.startswith(_IMAGE_TYPES) or isinstance(facts, Mapping):
            self._photo(item, artefact, facts if isinstance(facts, Mapping) else {}, host=None, url=None)
            if media_type.startswith(_IMAGE_TYPES):
                return
        lines = self._file_text(artefact)
        for number, line in enumerate(lines or [], start=1):
            self.index.add_text(item, artefact.name, "file", number, line)

    def _file_text(self, artefact: Artefact) -> list[str] | None:
        from evidencekit.indicators import file_text

        path = self.store.path_for(artefact.digests.blake3)
        try:
            return file_text(path, artefact.media_type)
        except (OSError, ValueError):  # a missing or unreadable object: verify reports it, search goes on
            return None

    # -- shared --------------------------------------------------------------------------------------
    def _photo(self, item: str, artefact: Artefact, facts: Mapping[str, Any], *, host: str | None, url: Any) -> None:
        computed = False
        if "pdq" not in facts and "pdq_error" not in facts:
            facts = self._photo_facts(artefact)  # recorded before PDQ was: into the index only
            computed = True
        pdq = facts.get("pdq")
        if not isinstance(pdq, Mapping) or not isinstance(pdq.get("hash"), str):
            return  # not a raster image PDQ could read (pdq_error): nothing to match on
        self.index.add_photo(
            PhotoRow(
                item, artefact.name, artefact.digests.blake3, str(pdq["hash"]), _int(pdq.get("quality")),
                _int(facts.get("width")), _int(facts.get("height")), host, url if isinstance(url, str) else None,
                site=facts.get("site") is True,
            ),
            computed=computed,
        )  # fmt: skip
        recorded = pdq.get("dihedral")
        if _is_dihedral(recorded) and self.index.cached("dihedral", artefact.digests.blake3) is None:
            self.index.cache("dihedral", artefact.digests.blake3, ",".join(recorded))

    def _photo_facts(self, artefact: Artefact) -> Mapping[str, Any]:
        from evidencekit.photos.hashing import PDQ_LIBRARY, photo_facts

        self.libraries["pdq"] = PDQ_LIBRARY
        path = self.store.path_for(artefact.digests.blake3)
        return photo_facts(path) if path.is_file() else {"pdq_error": "the stored object is missing"}

    def _indicators(self, item: str, found: Any, artefact: str | None) -> None:
        for indicator in found if isinstance(found, list) else []:
            if not isinstance(indicator, Mapping) or not indicator.get("kind") or not indicator.get("value"):
                continue
            kind, value = str(indicator["kind"]), str(indicator["value"])
            raw = str(indicator.get("raw") or value)
            line = _int(indicator.get("line"))
            where = str(indicator["artefact"]) if indicator.get("artefact") else artefact
            self.index.add_indicator(IndicatorRow(item, where, kind, value, raw, indicator.get("site") is True, line))
            said = (item, where, line, value if raw == value else f"{value} {raw}")
            if said not in self.said:  # a WhatsApp number is a phone too: one text row for the two
                self.said.add(said)
                self.index.add_text(item, where, "indicator", line, said[3])

    def _read_text(self, artefact: Artefact) -> str:
        path = self.store.path_for(artefact.digests.blake3)
        try:
            return path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _read_json(self, artefact: Artefact | None) -> Any:
        if artefact is None or artefact.digests.size > _MAX_JSON_BYTES:
            return None
        path: Path = self.store.path_for(artefact.digests.blake3)
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _is_dihedral(value: Any) -> TypeGuard[list[str]]:
    """8 hashes of 64 hex digits, as photo_facts records them since the dihedral hashes were recorded."""
    return (
        isinstance(value, list)
        and len(value) == 8
        and all(isinstance(h, str) and len(h) == 64 and all(c in "0123456789abcdef" for c in h) for h in value)
    )
