"""Search, reindex, links and similar: what people run to find what ties the items of cases together.

Every command here only reads the case (it is opened read-only) and writes nothing but the derived index
(``analysis.index``): beside the ledger when the case folder can be written, else in the user's cache folder.
Cases named with ``--across`` are opened read-only too and their indexes always live in the cache, so their
folders are never written to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.analysis.feed import bring_up_to_date
from evidencekit.analysis.index import DerivedIndex, TextHit
from evidencekit.analysis.links import CaseSource, compute_links, render_exhibit_for
from evidencekit.analysis.similar import Similar, loose_photo_facts, similar_to_file, similar_to_item
from evidencekit.analysis.sources import case_source, open_index
from evidencekit.errors import UsageError
from evidencekit.ledger.entries import ITEM_ACTIONS
from evidencekit.workflows.opencase import OpenCase, Session, open_case
from evidencekit.workflows.othercases import other_cases


def _index_of(case: OpenCase, session: Session, *, local: bool, fresh: bool = False) -> DerivedIndex:
    return open_index(case.workspace, case.info.case_id, session.environ, local=local, fresh=fresh)


@contextlib.contextmanager
def _opened(session: Session, across: Sequence[Path] = ()) -> Iterator[list[CaseSource]]:
    """The local case and each ``--across`` case, read-only, with their indexes brought up to date."""
    with contextlib.ExitStack() as stack:
        local = stack.enter_context(open_case(session, readonly=True))
        others = stack.enter_context(other_cases(session, across, local.info.case_id, option="--across"))
        yield [
            stack.enter_context(
                case_source(c.workspace, c.info.case_id, c.ledger, c.store, session.environ, local=c is local)
            )
            for c in (local, *others)
        ]


@dataclass(frozen=True)
class SearchHit:
    hit: TextHit
    created: str | None  # when the item was recorded (UTC, RFC 3339), for showing in the case's zone

    def to_dict(self) -> dict[str, Any]:
        return {**self.hit.to_dict(), "item_recorded": self.created}


def search(session: Session, text: str, *, limit: int = 200) -> list[SearchHit]:
    """Hits for ``text`` in the case's visible texts, titles, notes, indicators and added files' lines."""
    if not text.strip():
        raise UsageError("give the text to search for")
    with open_case(session, readonly=True) as case:
        index = _index_of(case, session, local=True)
        try:
            bring_up_to_date(index, case.ledger, case.store)
            items = index.items()
            hits = index.search(text, limit)
        finally:
            index.close()
    return [SearchHit(h, items[h.item].created if h.item in items else None) for h in hits]


@dataclass(frozen=True)
class Reindexed:
    path: str
    entries: int
    texts: int
    photos: int
    indicators: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.path,
            "entries": self.entries,
            "texts": self.texts,
            "photos": self.photos,
            "indicators": self.indicators,
        }


def reindex(session: Session) -> Reindexed:
    """Drop the case's derived index and build it again from the ledger and the store."""
    with open_case(session, readonly=True) as case:
        index = _index_of(case, session, local=True, fresh=True)
        try:
            entries = bring_up_to_date(index, case.ledger, case.store)
            count = index.count
            return Reindexed(str(index.path), entries, count("texts"), count("photos"), count("indicators"))
        finally:
            index.close()


def links(
    session: Session, across: Sequence[Path] = (), *, include_all: bool = False, exhibit_dir: Path | None = None
) -> dict[str, Any]:
    """The link report of the case, and of the ``--across`` cases with it. With ``exhibit_dir``, each photo
    link's exhibit PNG is written there and named in the link (``exhibit``)."""
    with _opened(session, across) as sources:
        report = compute_links(sources, include_site=include_all, include_urls=include_all)
        photo_links = [link for group in report["groups"] for link in group["links"] if link["type"] == "photo"]
        if exhibit_dir is not None and photo_links:
            exhibit_dir.mkdir(parents=True, exist_ok=True)
            for number, link in enumerate(photo_links, start=1):
                out = exhibit_dir / f"link-{number:04d}.png"
                render_exhibit_for(link, sources, out)
                link["exhibit"] = str(out)
        return report


def similar(session: Session, target: str, across: Sequence[Path] = (), *, exhibit_dir: Path | None = None) -> Similar:
    """Matches of an item's photos (``target`` an item id), or of a loose image file (``target`` a path)."""
    loose = loose_photo_facts(Path(target)) if Path(target).is_file() else None  # refused before anything opens
    with _opened(session, across) as sources:
        if not Path(target).is_file():
            if not any(e.subject == target and e.action in ITEM_ACTIONS for e in sources[0].entries):
                if Path(target).exists():
                    raise UsageError(f"{target} is not a file; name an image file or an item of this case")
                raise UsageError(
                    f"no item {target!r} in this case and no such file; `evidencekit items` lists the items"
                )
            return similar_to_item(sources, target, exhibit_dir)
        return similar_to_file(sources, Path(target), exhibit_dir, loose)
