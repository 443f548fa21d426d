"""Photos like one item's photos, or like a loose image file, across the cases given: ``similar``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.analysis.index import PhotoRow
from evidencekit.analysis.links import CaseSource, algorithms_used, render_exhibit_for
from evidencekit.analysis.photomatch import Match, Photo, candidate_photos, dihedral, find_matches
from evidencekit.errors import UsageError
from evidencekit.hashing import hash_file

LOOSE = -1  # the source number of a loose file: in no case


@dataclass(frozen=True)
class Similar:
    target: str  # the item, or the loose file's path
    photos: tuple[dict[str, Any], ...]  # the target's photos compared
    matches: tuple[dict[str, Any], ...]  # photo links, target's photo first
    algorithms: dict[str, Any]
    exhibits: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "photos": list(self.photos),
            "matches": list(self.matches),
            "algorithms": self.algorithms,
            "exhibits": list(self.exhibits),
        }


def similar_to_item(sources: Sequence[CaseSource], item: str, exhibit_dir: Path | None = None) -> Similar:
    """The photos of ``item`` (of the first case) against every photo of every case, other items only."""
    from evidencekit.photos.match import is_candidate

    local = sources[0]
    rows = [r for r in local.index.photos() if r.item == item and r.pdq is not None]
    mine = [Photo(0, r) for r in rows if is_candidate(r.facts()) and not r.site]  # a logo in its header is the site's
    queries = [
        (p, local.path_of(p.row.blake3), dihedral(local, p.row), _crop(local.path_of(p.row.blake3))) for p in mine
    ]
    others = [p for p in candidate_photos(sources) if (p.source, p.row.item) != (0, item)]
    matches, how = find_matches(sources, others, queries) if queries else ([], {"photos_compared": len(others)})
    photos = tuple({"item": item, "artefact": p.row.artefact, "blake3": f"blake3:{p.row.blake3}"} for p in mine)
    return _said(sources, item, photos, matches, how, exhibit_dir)


def loose_photo_facts(path: Path) -> dict[str, Any]:
    """The facts of a loose image file to compare, or a UsageError saying why it cannot be: checked before
    any case or index is opened, so bad input leaves nothing behind."""
    from evidencekit.photos.hashing import photo_facts
    from evidencekit.photos.match import MIN_QUALITY, MIN_SIDE, is_candidate

    if not path.is_file():
        raise UsageError(f"{path} is not a file; name an image file or an item of the case")
    facts = photo_facts(path)
    if "pdq" not in facts:
        raise UsageError(f"{path} is not an image that can be compared ({facts.get('pdq_error', 'no PDQ hash')})")
    if not is_candidate(facts):
        raise UsageError(
            f"{path} is too small or too plain to compare ({facts.get('width')} x {facts.get('height')} pixels, "
            f"PDQ quality {facts['pdq'].get('quality')}; a photo needs {MIN_SIDE} pixels a side and quality "
            f"{MIN_QUALITY})"
        )
    return facts


def similar_to_file(
    sources: Sequence[CaseSource], path: Path, exhibit_dir: Path | None = None, facts: dict[str, Any] | None = None
) -> Similar:
    """A loose image file (in no case) against every photo of every case."""
    facts = facts or loose_photo_facts(path)  # facts already checked by the caller: not decoded again
    pdq = facts["pdq"]
    digest = hash_file(path).blake3
    row = PhotoRow(str(path), path.name, digest, pdq["hash"], pdq.get("quality"), facts.get("width"),
                   facts.get("height"), None, None)  # fmt: skip
    query = (Photo(LOOSE, row), path, list(pdq["dihedral"]), _crop(path))
    matches, how = find_matches(sources, candidate_photos(sources), [query])
    photos = ({"item": None, "artefact": str(path), "blake3": f"blake3:{digest}"},)
    return _said(sources, str(path), photos, matches, how, exhibit_dir, loose=path)


def _crop(path: Path) -> str | None:
    from evidencekit.photos.match import crop_resistant

    try:
        return crop_resistant(path) if path.is_file() else None
    except Exception:
        return None


def _said(
    sources: Sequence[CaseSource],
    target: str,
    photos: tuple[dict[str, Any], ...],
    matches: list[Match],
    how: dict[str, Any],
    exhibit_dir: Path | None,
    loose: Path | None = None,
) -> Similar:
    links = [_link(sources, m, loose) for m in matches]
    links.sort(key=lambda link: (-int(link["inliers"]), link["items"]))
    exhibits: list[str] = []
    if exhibit_dir is not None and links:
        exhibit_dir.mkdir(parents=True, exist_ok=True)
        for number, link in enumerate(links, start=1):
            out = exhibit_dir / f"similar-{number:03d}.png"
            if loose is not None:
                from evidencekit.photos.match import render_exhibit

                other = sources[link["_source"]].path_of(link["photos"][1]["blake3"])
                render_exhibit(loose, other, out, link["words"])
            else:
                render_exhibit_for(link, sources, out)
            exhibits.append(str(out))
    for link in links:
        link.pop("_source", None)
    used = algorithms_used(include_site=False, include_urls=False, photos=how)
    used.pop("indicators", None)
    return Similar(target, photos, tuple(links), used, tuple(exhibits))


def _link(sources: Sequence[CaseSource], match: Match, loose: Path | None) -> dict[str, Any]:
    """A photo link with the target's photo first (a loose file has no item)."""
    other = match.b
    label = sources[other.source].label(other.row.item)
    first: dict[str, Any]
    if loose is None:
        first = {"item": sources[0].label(match.a.row.item), "artefact": match.a.row.artefact}
    else:
        first = {"item": None, "artefact": str(loose)}
    return {
        "type": "photo",
        "items": [i for i in (first["item"], label) if i is not None],
        "photos": [
            {**first, "blake3": f"blake3:{match.a.row.blake3}"},
            {"item": label, "artefact": other.row.artefact, "blake3": f"blake3:{other.row.blake3}"},
        ],
        "pdq_distance": match.pdq_distance,
        "crop_resistant": match.crop_resistant,
        "inliers": match.inliers,
        "words": match.words,
        "_source": other.source,
    }
