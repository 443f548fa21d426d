"""The photos of two captures of a page, matched by perceptual hash: which were added, removed or replaced.

Compared: the images of ``metadata.json`` ``images[]`` that photo matching would compare (hashed, at least
``photos.match.MIN_SIDE`` pixels a side, PDQ quality at least ``MIN_QUALITY``) and not shown only in the
site's furniture (``site``). One photo per stored artefact (identical bytes loaded from several addresses are
one photo, with every address). A before photo and an after photo are the same picture for this purpose
when their PDQ distance is at most ``PDQ_THRESHOLD`` over the 8 rotations and flips (each side's
rotations against the other's plain hash, both ways, as ``analysis.photomatch`` does): a photo re-encoded
or resized by the site is not a change. Pairs are taken closest first, each photo in one pair at most.
Unmatched photos are removed (before) or added (after); as many of those as pair up, in page order, are
reported as replaced. Never an identity claim: a pair is "visually matching (PDQ distance N)".

An image of the page left out of the comparison (too small, featureless: PDQ quality under the floor, or
not hashed) is still a fact of the page: ``not_compared`` lists each one with why, and when such images came
or went between the captures, the summary says so beside the photo changes, so that a photo swapped for a
flat or tiny picture never reads as "1 photo removed" alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_PHOTOS = 400  # per side; beyond, the rest are left out and the diff says so
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PagePhoto:
    artefact: str
    urls: tuple[str, ...]
    hashes: tuple[str, ...]  # the plain PDQ hash first, then the other rotations and flips when recorded
    width: int
    height: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "artefact": self.artefact,
            "urls": list(self.urls),
            "pdq": self.hashes[0],
            "width": self.width,
            "height": self.height,
        }


@dataclass(frozen=True)
class PhotoChanges:
    matched: tuple[tuple[PagePhoto, PagePhoto, int], ...]
    added: tuple[PagePhoto, ...]
    removed: tuple[PagePhoto, ...]
    replaced: tuple[tuple[PagePhoto, PagePhoto], ...]
    left_out: int
    # The page's images left out of the comparison (``not_comparable``), on each side.
    uncompared_before: tuple[Mapping[str, Any], ...] = ()
    uncompared_after: tuple[Mapping[str, Any], ...] = ()

    def _new_uncompared(self) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
        """The uncompared images that came (after, not before) and went (before, not after), by stored bytes."""
        was = {i["artefact"] for i in self.uncompared_before}
        now = {i["artefact"] for i in self.uncompared_after}
        return [i for i in self.uncompared_after if i["artefact"] not in was], [
            i for i in self.uncompared_before if i["artefact"] not in now
        ]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.replaced)

    def summary(self) -> str:
        parts: list[str] = []
        for count, word in (
            (len(self.replaced), "replaced"),
            (len(self.added), "added"),
            (len(self.removed), "removed"),
        ):
            if count and not parts:
                parts.append(f"{count} photo{'' if count == 1 else 's'} {word}")
            elif count:
                parts.append(f"{count} {word}")
        said = ", ".join(parts)
        if not said:
            return said
        came, went = self._new_uncompared()
        for images, before_words, after_words in ((came, "new ", ""), (went, "", " no longer on the page")):
            if images:
                why = ", ".join(sorted({str(i["why"]) for i in images}))
                plural = "" if len(images) == 1 else "s"
                said += f"; {len(images)} {before_words}image{plural} not comparable ({why}){after_words}"
        return said

    def to_dict(self, before: int, after: int) -> dict[str, Any]:
        return {
            "compared": True,
            "photos_before": before,
            "photos_after": after,
            # Every image of the page not compared, on both sides: beyond MAX_PHOTOS, and those not comparable.
            "left_out": self.left_out + len(self.uncompared_before) + len(self.uncompared_after),
            "not_compared": {
                "before": [dict(i) for i in self.uncompared_before],
                "after": [dict(i) for i in self.uncompared_after],
            },
            "matched": [
                {"before": a.to_dict(), "after": b.to_dict(), "pdq_distance": d, "words": match_words(d)}
                for a, b, d in self.matched
            ],
            "added": [p.to_dict() for p in self.added],
            "removed": [p.to_dict() for p in self.removed],
            "replaced": [{"before": a.to_dict(), "after": b.to_dict()} for a, b in self.replaced],
        }


def match_words(distance: int) -> str:
    return f"visually matching (PDQ distance {distance})"


def page_photos(images: Sequence[Mapping[str, Any]]) -> tuple[list[PagePhoto], int]:
    """The photos worth comparing among a capture's ``images[]``, in page order, and how many were left
    out beyond MAX_PHOTOS. A later copy of the same bytes (``duplicate``: its entry holds no facts of its
    own) adds its address to the photo's."""
    from evidencekit.photos.match import is_candidate

    urls: dict[str, list[str]] = {}
    first: dict[str, Mapping[str, Any]] = {}
    for image in images:
        if not isinstance(image, Mapping) or not isinstance(image.get("artefact"), str):
            continue
        artefact, url = image["artefact"], image.get("url")
        known = urls.setdefault(artefact, [])
        if isinstance(url, str) and url not in known:
            known.append(url)
        if image.get("duplicate") is True or image.get("site") is True or not is_candidate(image):
            continue
        if _is_hash(image["pdq"].get("hash")):
            first.setdefault(artefact, image)
    photos = []
    for artefact, image in first.items():
        pdq = image["pdq"]
        dihedral = pdq.get("dihedral")
        rest = [h for h in dihedral[1:8] if _is_hash(h)] if isinstance(dihedral, list) else []
        photos.append(PagePhoto(artefact, tuple(urls[artefact]), (pdq["hash"], *rest), image["width"], image["height"]))
    return photos[:MAX_PHOTOS], max(0, len(photos) - MAX_PHOTOS)


def not_comparable(images: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The page's images (not the site's furniture, one per stored file) that photo comparison leaves out, in
    page order, each with why: "too small" (under MIN_SIDE pixels a side), "featureless" (PDQ quality under
    MIN_QUALITY) or "not hashed"."""
    from evidencekit.photos.match import MIN_QUALITY, MIN_SIDE, is_candidate

    found: dict[str, dict[str, Any]] = {}
    for image in images:
        if not isinstance(image, Mapping) or not isinstance(image.get("artefact"), str):
            continue
        if image.get("duplicate") is True or image.get("site") is True or image["artefact"] in found:
            continue
        if is_candidate(image) and _is_hash(image["pdq"].get("hash")):
            continue
        width, height = image.get("width"), image.get("height")
        pdq = image.get("pdq")
        quality = pdq.get("quality") if isinstance(pdq, Mapping) else None
        if isinstance(width, int) and isinstance(height, int) and min(width, height) < MIN_SIDE:
            why = "too small"
        elif isinstance(quality, int) and quality < MIN_QUALITY:
            why = "featureless"
        else:
            why = "not hashed"
        found[image["artefact"]] = {
            "artefact": image["artefact"],
            "url": image.get("url") if isinstance(image.get("url"), str) else None,
            "width": width if isinstance(width, int) else None,
            "height": height if isinstance(height, int) else None,
            "why": why,
        }
    return list(found.values())


def unhashed(images: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the capture kept images it did not hash (made without perceptual hashes, or before they were
    recorded): its photos cannot be compared, and their absence is no change."""
    return any(
        isinstance(i, Mapping) and i.get("duplicate") is not True and "pdq" not in i and "pdq_error" not in i
        for i in images
    )


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def compare_photos(before: Sequence[PagePhoto], after: Sequence[PagePhoto], left_out: int = 0) -> PhotoChanges:
    from evidencekit.photos.match import PDQ_THRESHOLD

    matched: list[tuple[PagePhoto, PagePhoto, int]] = []
    free_a, free_b = set(range(len(before))), set(range(len(after)))
    # Identical hashes first (the same bytes, or the same pixels): no pairwise search for an unchanged page.
    by_hash: dict[str, list[int]] = {}
    for number, photo in enumerate(after):
        by_hash.setdefault(photo.hashes[0], []).append(number)
    for number, photo in enumerate(before):
        for other in by_hash.get(photo.hashes[0], []):
            if other in free_b:
                matched.append((photo, after[other], 0))
                free_a.discard(number)
                free_b.discard(other)
                break
    pairs = []
    for a in sorted(free_a):
        for b in sorted(free_b):
            distance = _distance(before[a], after[b])
            if distance <= PDQ_THRESHOLD:
                pairs.append((distance, a, b))
    for distance, a, b in sorted(pairs):
        if a in free_a and b in free_b:
            matched.append((before[a], after[b], distance))
            free_a.discard(a)
            free_b.discard(b)
    removed = [before[n] for n in sorted(free_a)]
    added = [after[n] for n in sorted(free_b)]
    swapped = min(len(removed), len(added))
    replaced = tuple(zip(removed[:swapped], added[:swapped], strict=True))
    order = {p.artefact: n for n, p in enumerate(before)}
    matched.sort(key=lambda m: order.get(m[0].artefact, 0))
    return PhotoChanges(tuple(matched), tuple(added[swapped:]), tuple(removed[swapped:]), replaced, left_out)


def _distance(a: PagePhoto, b: PagePhoto) -> int:
    """The least PDQ distance between a's rotations and flips and b's plain hash, and the other way round."""
    plain_a, plain_b = int(a.hashes[0], 16), int(b.hashes[0], 16)
    best = (plain_a ^ plain_b).bit_count()
    for variant in a.hashes[1:]:
        best = min(best, (int(variant, 16) ^ plain_b).bit_count())
    for variant in b.hashes[1:]:
        best = min(best, (int(variant, 16) ^ plain_a).bit_count())
    return best
