"""Capture workflow: the lists of URLs a capture reads, and the indicators its captures found.

Capturing and recording itself (``capture_urls``) is in ``workflows.capturing``, shared with the watch family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.capture import check_url
from evidencekit.errors import InputFileError, UsageError
from evidencekit.fsutil import read_small_file
from evidencekit.indicators import KINDS
from evidencekit.workflows.opencase import Session, group_items, open_case

URL_FILE_LIMIT = 10 * 1024 * 1024  # 10 MiB: some hundred thousand URLs, far more than one run captures


# Kernel pseudo-file systems: their files look regular (and empty) but are made as they are read, and
# hold the machine's own state (/proc/self/environ is the environment, secrets included).
_PSEUDO_ROOTS = (Path("/proc"), Path("/sys"))  # (a device under /dev is refused as a device)


def read_url_file(path: Path) -> list[str]:
    """One URL a line; blank lines and lines starting with # are skipped. The file must be a regular file of
    at most ``URL_FILE_LIMIT`` bytes (a FIFO, ``/dev/zero`` or a kernel pseudo-file such as
    ``/proc/self/environ`` is refused, never read or echoed). Every URL is checked here, and a refusal
    names its line and quotes it only as a short excerpt, credentials hidden (see ``capture.excerpt``)."""
    if _pseudo_file(path):
        raise InputFileError(f"refusing to read URLs from {path}: a kernel pseudo-file, not a list of URLs")
    data = read_small_file(path, URL_FILE_LIMIT, "a list of URLs")
    if data and _stated_size(path) == 0:  # made as it was read: a pseudo-file elsewhere (debugfs, a FUSE mount)
        raise InputFileError(f"refusing to read URLs from {path}: it says it is empty yet holds data (a pseudo-file)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"cannot read URLs from {path}: not UTF-8 text (byte {exc.start})") from None
    urls = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            urls.append(check_url(line))
        except UsageError as exc:
            raise UsageError(f"{path}, line {number}: {exc.message}") from None
    return urls


def _stated_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _pseudo_file(path: Path) -> bool:
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        return False  # read_small_file says what is wrong with it
    return any(real == root or root in real.parents for root in _PSEUDO_ROOTS)


@dataclass(frozen=True)
class IndicatorFound:
    """Where one indicator was found: the item, whether it is the site's there (every occurrence in that
    item is furniture, link text elsewhere or the site's own host), and as what text, line and artefact."""

    item: str
    site: bool
    raw: str | None = None
    line: int | None = None
    artefact: str | None = None

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"item": self.item, "site": self.site}
        extra = {"raw": self.raw, "line": self.line, "artefact": self.artefact}
        return found | {name: value for name, value in extra.items() if value is not None}


@dataclass(frozen=True)
class IndicatorUse:
    kind: str
    value: str
    found: tuple[IndicatorFound, ...]

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.item for f in self.found))

    @property
    def author_items(self) -> tuple[str, ...]:
        """The items where it is not the site's: the only ones it links."""
        return tuple(dict.fromkeys(f.item for f in self.found if not f.site))

    @property
    def site(self) -> bool:
        return not self.author_items

    @property
    def shared(self) -> bool:
        return len(self.author_items) > 1

    def site_in(self, item: str) -> bool:
        return item not in self.author_items

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "items": list(self.items),
            "shared": self.shared,
            "site": self.site,
            "found": [f.to_dict() for f in self.found],
        }


_ADDED = ("capture.completed", "file.added", "folder.added")


def list_indicators(session: Session) -> list[IndicatorUse]:
    """Every indicator found across the case's captures and added files, with where it was found; most
    specific kinds first (``KINDS``), and within a kind those shared by more items first. Frequency never
    makes an indicator the site's: only where it was found does (see evidencekit.indicators.page)."""
    with open_case(session, readonly=True) as case:
        grouped = group_items(list(case.ledger.entries()))
    seen: dict[tuple[str, str], list[IndicatorFound]] = {}
    for item_id, entries in grouped.items():
        for entry in entries:
            if entry.action not in _ADDED:
                continue
            for indicator in entry.details.get("indicators") or []:
                key = (str(indicator.get("kind")), str(indicator.get("value")))
                seen.setdefault(key, []).append(_found(item_id, indicator))
    uses = [IndicatorUse(kind, value, tuple(found)) for (kind, value), found in seen.items()]
    rank = {kind: index for index, kind in enumerate(KINDS)}
    return sorted(uses, key=lambda u: (not u.shared, rank.get(u.kind, len(KINDS)), -len(u.author_items), u.value))


def _found(item_id: str, indicator: Mapping[str, Any]) -> IndicatorFound:
    raw, line, artefact = indicator.get("raw"), indicator.get("line"), indicator.get("artefact")
    return IndicatorFound(
        item_id,
        indicator.get("site") is True,
        raw if isinstance(raw, str) else None,
        line if isinstance(line, int) and not isinstance(line, bool) else None,
        artefact if isinstance(artefact, str) else None,
    )


@dataclass(frozen=True)
class IndicatorView:
    """What the ``indicators`` command shows: the shared view (specific kinds and social handles, where they
    are the author's), or everything with ``show_all``; and what the shared view left out."""

    shown: tuple[IndicatorUse, ...]
    site_left_out: int = 0
    urls_left_out: int = 0


def indicator_view(uses: Sequence[IndicatorUse], *, show_all: bool = False) -> IndicatorView:
    if show_all:
        return IndicatorView(tuple(uses))
    shown = tuple(u for u in uses if u.kind != "url" and not u.site)
    urls = sum(1 for u in uses if u.kind == "url")
    return IndicatorView(shown, sum(1 for u in uses if u.kind != "url" and u.site), urls)
