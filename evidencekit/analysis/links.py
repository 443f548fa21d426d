"""The links between items: shared specific indicators and confirmed photo matches, grouped.

``compute_links`` returns the link report (JSON-able, ints and strings only) that ``links --json`` prints and
that export records in ``analysis.recorded``. Its shape is agreed with the report (see the issue-14 notes):
groups of items joined by links, strongest first; each link with its evidence (the indicator as found on
each item, or the two photos, their PDQ distance and matched points, and the words that say it). Items of a
case other than the first are written ``<case id>/<item>``.

A site's own furniture (indicators marked ``site``, images shown only in furniture) never links items unless
``include_site``; plain URLs
only with ``include_urls``. A photo links items only when feature matching confirmed it: a hash alone never
does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.analysis.index import DerivedIndex, IndicatorRow
from evidencekit.analysis.photomatch import Match, Photo, candidate_photos, find_matches
from evidencekit.models import LedgerEntry
from evidencekit.store import ObjectStoreBackend

# Channels of one number: a WhatsApp or Telegram number is also recorded as a phone; the link is said once.
_CHANNELS = ("whatsapp", "telegram")


@dataclass
class CaseSource:
    """A read-only view of one case for linking: its entries, its stored objects (by BLAKE3) and its index.

    Built by the workflow with the case open; ``local`` is the case the command runs in (its items are
    written plain), the others are read with ``--across``.
    """

    case_id: str
    local: bool
    entries: Sequence[LedgerEntry]
    store: ObjectStoreBackend
    index: DerivedIndex

    def label(self, item: str) -> str:
        return item if self.local else f"{self.case_id}/{item}"

    def path_of(self, blake3: str) -> Path:
        """The stored object's file (read only; never written)."""
        return self.store.path_for(blake3.removeprefix("blake3:"))


def kind_rank() -> dict[str, int]:
    """Most specific first: the specific kinds, then a photo match, then social handles, then URLs."""
    from evidencekit.indicators import KINDS, SPECIFIC_KINDS

    ranks = {kind: rank for rank, kind in enumerate(SPECIFIC_KINDS)}
    ranks["photo"] = len(ranks)
    for kind in KINDS:
        ranks.setdefault(kind, len(ranks))
    return ranks


def algorithms_used(
    *, include_site: bool, include_urls: bool, photos: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    from evidencekit.indicators import KINDS
    from evidencekit.photos.match import algorithms

    kinds = [k for k in KINDS if include_urls or k != "url"]
    used: dict[str, Any] = {
        **algorithms(),
        "indicators": {"kinds": kinds, "site_excluded": not include_site, "urls_excluded": not include_urls},
    }
    if photos is not None:
        used["photo_search"] = dict(photos)
    return used


def compute_links(
    sources: Sequence[CaseSource], *, include_site: bool = False, include_urls: bool = False
) -> dict[str, Any]:
    """The link report over ``sources`` (the first is the local case)."""
    links = indicator_links(sources, include_site=include_site, include_urls=include_urls)
    matches, how = find_matches(sources, candidate_photos(sources, include_site=include_site))
    links += [photo_link(sources, m) for m in matches]
    return {
        "algorithms": algorithms_used(include_site=include_site, include_urls=include_urls, photos=how),
        "cases": [{"case_id": s.case_id, "local": s.local} for s in sources],
        "groups": group_links(links, sources),
    }


def indicator_links(
    sources: Sequence[CaseSource], *, include_site: bool = False, include_urls: bool = False
) -> list[dict[str, Any]]:
    """One link per indicator found on at least two items: which items, and how it was written on each."""
    found: dict[tuple[str, str], dict[str, IndicatorRow]] = {}
    for source in sources:
        for row in source.index.indicators():
            if (row.site and not include_site) or (row.kind == "url" and not include_urls):
                continue
            found.setdefault((row.kind, row.value), {}).setdefault(source.label(row.item), row)
    order = _item_order(sources)
    links = []
    for (kind, value), rows in found.items():
        if len(rows) < 2:
            continue
        if kind in _CHANNELS and set(found.get(("phone", value), {})) == set(rows):
            continue  # the same number on the same items: said once, as the phone link
        items = sorted(rows, key=order)
        links.append(
            {
                "type": "indicator",
                "items": items,
                "indicator": {"kind": kind, "value": value},
                "found": [_found(label, rows[label]) for label in items],
            }
        )
    return links


def _found(label: str, row: IndicatorRow) -> dict[str, Any]:
    said: dict[str, Any] = {"item": label, "raw": row.raw}
    if row.line is not None:  # a line of an added file or chat export
        said["line"] = row.line
    return said


def photo_link(sources: Sequence[CaseSource], match: Match) -> dict[str, Any]:
    order = _item_order(sources)
    ends = sorted((match.a, match.b), key=lambda p: order(sources[p.source].label(p.row.item)))
    return {
        "type": "photo",
        "items": [sources[p.source].label(p.row.item) for p in ends],
        "photos": [_photo(sources, p) for p in ends],
        "pdq_distance": match.pdq_distance,
        "crop_resistant": match.crop_resistant,
        "inliers": match.inliers,
        "words": match.words,
    }


def _photo(sources: Sequence[CaseSource], photo: Photo) -> dict[str, Any]:
    return {
        "item": sources[photo.source].label(photo.row.item),
        "artefact": photo.row.artefact,
        "blake3": f"blake3:{photo.row.blake3}",
    }


def group_links(links: list[dict[str, Any]], sources: Sequence[CaseSource]) -> list[dict[str, Any]]:
    """Items joined by any link form a group; strongest (most links) first, then by the most specific kind of
    link, then by item ids."""
    parent: dict[str, str] = {}

    def root(item: str) -> str:
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for link in links:
        first = link["items"][0]
        for other in link["items"][1:]:
            parent[root(other)] = root(first)
    order, ranks = _item_order(sources), kind_rank()

    def rank(link: dict[str, Any]) -> int:
        return ranks.get(link["indicator"]["kind"] if link["type"] == "indicator" else "photo", len(ranks))

    grouped: dict[str, list[dict[str, Any]]] = {}
    for link in links:
        grouped.setdefault(root(link["items"][0]), []).append(link)
    groups: list[dict[str, Any]] = []
    for members in grouped.values():
        members.sort(key=lambda link: (rank(link), [order(i) for i in link["items"]]))
        items = sorted({i for link in members for i in link["items"]}, key=order)
        groups.append({"items": items, "strength": len(members), "links": members})
    groups.sort(key=lambda g: (-g["strength"], min(rank(link) for link in g["links"]), [order(i) for i in g["items"]]))
    return groups


def _item_order(sources: Sequence[CaseSource]) -> Any:
    """Local items first, then each other case's, each in item-id order."""
    positions = {s.case_id: n for n, s in enumerate(sources) if not s.local}

    def key(label: str) -> tuple[int, str]:
        case, _, item = label.rpartition("/")
        return (positions.get(case, 0) + (1 if case else 0), item)

    return key


def render_exhibit_for(link: Mapping[str, Any], sources: Sequence[CaseSource], out: Path) -> None:
    """The exhibit PNG of a photo link: the two photos side by side, the matched points joined; the caption
    says the words and the algorithms' versions."""
    from evidencekit.photos.match import algorithms, render_exhibit

    if link.get("type") != "photo":
        raise ValueError("only a photo link has an exhibit")
    paths = [_photo_path(photo, sources) for photo in link["photos"]]
    left, right = (_named(photo) for photo in link["photos"])
    caption = f"Left: {left}. Right: {right}. {link['words']}; {versions(algorithms())}"
    render_exhibit(paths[0], paths[1], out, caption)


def _named(photo: Mapping[str, Any]) -> str:
    """A photo as the caption names it: its item, its artefact and the start of its BLAKE3 digest."""
    digest = str(photo.get("blake3") or "")
    return f"{photo.get('item')} {photo.get('artefact')} ({digest[:23]}...)"


def _photo_path(photo: Mapping[str, Any], sources: Sequence[CaseSource]) -> Path:
    case, _, _ = str(photo["item"]).rpartition("/")
    for source in sources:
        if (source.local and not case) or (not source.local and source.case_id == case):
            return source.path_of(str(photo["blake3"]))
    raise ValueError(f"no case among the sources holds {photo['item']}")


def versions(used: Mapping[str, Any]) -> str:
    """The algorithms' names and versions in one line, for a caption."""
    named = [("pdq", "library"), ("crop_resistant", "library"), ("confirmation", "algorithm")]
    shown = [str(used[step][key]) for step, key in named if isinstance(used.get(step), Mapping) and key in used[step]]
    return "; ".join(shown) or "algorithm versions not known"
