"""Capture workflow: live pages into the case, each step recorded in the custody ledger as it happens.

For every URL: ``capture.started`` (allocating the item id) when the browser begins, then, once the
page is captured, its artefacts go into the store and ``capture.completed`` (status complete or partial,
every artefact digest, the metadata digest, the indicators found) or ``capture.failed`` (the reason, and
whatever was obtained) is recorded, followed by a signed checkpoint when the investigator has a key.
Scratch files live under the case's work/ folder and are removed once stored.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from evidencekit.capture import CaptureOptions, capture_many, check_url, was_interrupted
from evidencekit.errors import InputFileError, ObjectMismatchError, UsageError
from evidencekit.fsutil import read_small_file
from evidencekit.indicators import KINDS
from evidencekit.models import CaptureResult, EntryDraft, LedgerEntry
from evidencekit.salts import case_salt
from evidencekit.workflows.opencase import OpenCase, Session, group_items, open_case, publish_checkpoints, seal
from evidencekit.workflows.writer import CaseWriter

Progress = Callable[[str, int, str, str | None], None]  # (event, index, url, status)


@dataclass(frozen=True)
class CaptureOutcome:
    item_id: str
    url: str
    result: CaptureResult
    entry: LedgerEntry

    @property
    def status(self) -> str:
        return self.result.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "url": self.url,
            "status": self.result.status,
            "final_url": self.result.final_url,
            "address_bar_url": self.result.metadata.get("address_bar_url"),
            "reasons": list(self.result.reasons),
            "error": self.result.error,
            "interrupted": was_interrupted(self.result),
            "artefacts": [a.to_dict() for a in self.result.artefacts],
            "indicators": [dict(i) for i in self.result.indicators],
            "entry": self.entry.to_dict(),
        }


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


def _options_summary(options: CaptureOptions, concurrency: int) -> dict[str, Any]:
    return {
        "timeout_ms": int(options.timeout_s * 1000),
        "pdf": options.pdf,
        "mhtml": options.mhtml,
        "viewport": f"{options.viewport[0]}x{options.viewport[1]}",
        "user_agent": options.user_agent,
        "proxy": "set" if options.proxy else None,
        "storage_state": str(options.storage_state) if options.storage_state else None,
        "ignore_https_errors": options.ignore_https_errors,
        "allow_private_network": options.allow_private_network,
        "region": options.region,
        "concurrency": concurrency,
    }


class _Recorder:
    """Records each start and each result as it happens, without holding up the capture loop.

    ``started`` and ``finished`` are called on the capture's event loop; they only hand a job to the
    run's writer thread, which puts the artefacts into the store, appends the entries and seals. Jobs
    are done in the order handed in, so a capture's ``capture.started`` (which allocates its item id)
    always comes before its ``capture.completed`` or ``capture.failed``, and item ids follow the order
    in which the captures began. Everything below runs on the writer's thread alone.
    """

    def __init__(
        self, writer: CaseWriter, options: dict[str, Any], note: str | None, progress: Progress | None
    ) -> None:
        self.writer = writer
        self.options = options
        self.note = note
        self.progress = progress
        self.items: dict[int, tuple[str, str]] = {}
        self.outcomes: dict[int, CaptureOutcome] = {}

    def started(self, index: int, url: str) -> None:
        self.writer.submit(partial(self._record_start, index, url), lambda: f"recording the start of {url}")

    def finished(self, index: int, result: CaptureResult) -> None:
        self.writer.submit(partial(self._record_result, index, result), partial(self._describe, index))

    def _describe(self, index: int) -> str:
        item_id, url = self.items.get(index, ("a capture", "not yet recorded as started"))
        return f"recording {item_id} ({url})"

    def _record_start(self, index: int, url: str, case: OpenCase) -> None:
        details: dict[str, Any] = {"url": url, "options": self.options}
        if self.note:
            details["note"] = self.note
        with case.ledger.transaction() as txn:
            item_id = txn.next_item_id("capture")
            started = txn.append(EntryDraft("capture.started", case.actor, item_id, details=details))
            if case.run is not None:  # before the commit: a run killed later is known to have started it
                case.run.claim(started)
        self.items[index] = (item_id, url)
        if self.progress:
            self.progress("started", index, url, None)

    def _record_result(self, index: int, result: CaptureResult, case: OpenCase) -> None:
        if index not in self.items:  # never started (Ctrl-C came first): nothing happened, nothing to record
            return
        item_id, url = self.items[index]
        for captured in result.files:
            stored = case.store.put_file(captured.path)
            if stored != captured.artefact.digests:
                raise ObjectMismatchError(f"{captured.path.name} changed between capture and storage")
        details = _result_details(url, result)
        action = "capture.failed" if result.status == "failed" else "capture.completed"
        with case.ledger.transaction() as txn:
            entry = txn.append(EntryDraft(action, case.actor, item_id, result.artefacts, details))
            seal(case, txn)
        publish_checkpoints(case, txn)
        self.outcomes[index] = CaptureOutcome(item_id, url, result, entry)
        if self.progress:
            self.progress("finished", index, url, result.status)


TITLE_LIMIT = 1000  # characters of a page's title its ledger entry keeps; metadata.json keeps it whole


def ledger_title(title: Any) -> dict[str, Any]:
    """The title fields of a capture's ledger entry. A page sets its own title, of any length (one of
    megabytes would swell every ledger line): past ``TITLE_LIMIT`` characters the entry keeps the first
    ones, and ``title_full_length``, which says that it was cut and how long the whole is."""
    if not isinstance(title, str) or len(title) <= TITLE_LIMIT:
        return {"title": title}
    return {"title": title[:TITLE_LIMIT], "title_full_length": len(title)}


def ledger_indicator(found: Mapping[str, Any]) -> dict[str, Any]:
    """An indicator as a capture's ledger entry holds it: kind, value, the text as found, and ``site`` when
    it is the site's rather than the author's (see evidencekit.indicators.page)."""
    entry = {"kind": found.get("kind"), "value": found.get("value"), "raw": found.get("raw")}
    return {**entry, "site": True} if found.get("site") is True else entry


def _result_details(url: str, result: CaptureResult) -> dict[str, Any]:
    metadata = dict(result.metadata)
    metadata_file = next((f for f in result.files if f.artefact.name == "metadata.json"), None)
    details: dict[str, Any] = {
        "url": url,
        "status": result.status,
        "reasons": list(result.reasons),
        "final_url": result.final_url,
        "http_status": (metadata.get("http") or {}).get("status"),
        **ledger_title(metadata.get("title")),
        "metadata": metadata_file.artefact.digests.blake3_tagged if metadata_file else None,
        "indicators": [ledger_indicator(i) for i in result.indicators],
    }
    if isinstance(metadata.get("address_bar_url"), str):
        # What the page put in the address bar, kept apart from the final URL (the last response's).
        details["address_bar_url"] = metadata["address_bar_url"]
    if result.error:
        details["error"] = result.error
    return details


def capture_urls(
    session: Session,
    urls: Sequence[str],
    options: CaptureOptions,
    *,
    concurrency: int = 2,
    note: str | None = None,
    progress: Progress | None = None,
) -> list[CaptureOutcome]:
    """Capture ``urls`` into the case. Every URL is checked before the browser starts.

    Recording runs on the case's writer thread while the pages are captured (see ``_Recorder``). The
    first write that fails stops the run: what was recorded before it is kept, nothing after it is
    written, and its error is raised here. A capture does not wait for its start to be recorded before it
    browses: it needs nothing from that entry (the item id is the ledger's; the capture never sees it),
    the browser's own times are in its metadata.json, and a start that cannot be recorded stops the run
    anyway; waiting would only idle a page slot behind another capture's fsyncs and signature. Ctrl-C:
    captures in progress wrap up and are recorded before this returns.
    """
    if not urls:
        raise UsageError("name at least one URL to capture, or a file of URLs with --from-file")
    for url in urls:
        check_url(url)
    writer = CaseWriter(session)
    work_root: Path | None = None
    try:
        # From the writer's start on, every way out goes through close(): the writer thread waits for
        # jobs until it is told there are no more.
        workspace = writer.start()
        work_root = writer.scratch
        # The case's redaction salt comes from the investigator's config; capture never reads config.
        options = replace(options, redaction_salt=case_salt(session.environ, workspace.read_info().case_uuid))
        recorder = _Recorder(writer, _options_summary(options, concurrency), note, progress)
        capture_many(
            list(urls),
            options,
            work_root,
            concurrency=concurrency,
            on_started=recorder.started,
            on_finished=recorder.finished,
            stop=writer.failure,
        )
    except BaseException:
        # What was handed to the writer is still recorded; the error raised is the one that stopped the
        # run (the writer's own, when it was the writer that failed).
        with contextlib.suppress(Exception):
            writer.close()
        raise
    else:
        writer.close()
    finally:
        # Only now: the writer reads the scratch files until it is done.
        if work_root is not None:
            shutil.rmtree(work_root, ignore_errors=True)
            with contextlib.suppress(OSError):
                work_root.parent.rmdir()
    return [recorder.outcomes[i] for i in sorted(recorder.outcomes)]


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
