"""The workflows people run: init, add, note, checkpoint, verify, keys; each combines the layers.

Every function takes its inputs explicitly (case folder, environment, clock): nothing is read from
globals or at import time. Nothing here prints or exits; errors are raised for the CLI to render.
"""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import phonenumbers

from evidencekit.bundle.documents.timefacts import offset_words
from evidencekit.errors import InputFileError, KeyMissingError, UsageError
from evidencekit.exif import media_type_of, read_exif
from evidencekit.indicators import file_text, indicators_in_lines
from evidencekit.keys import keys_dir
from evidencekit.ledger.entries import TimestampObtained, TimestampPending, parse
from evidencekit.ledger.timecover import Cover
from evidencekit.models import Actor, Artefact, CaseInfo, EntryDraft, LedgerEntry, canonical_json
from evidencekit.photos.hashing import photo_facts
from evidencekit.timefmt import format_time
from evidencekit.workflows.filetree import (
    FolderTree,
    read_folder_tree,
    recorded_name,
    safe_artefact_name,
    single_file_name,
)
from evidencekit.workflows.opencase import (
    ItemSummary,
    OpenCase,
    Session,
    group_items,
    load_key_if_any,
    open_case,
    publish_checkpoints,
    require_item,
    seal,
    sign_within,
    summarise,
)
from evidencekit.workflows.stamping import Outcome, asking_enabled, item_cover, owed_now
from evidencekit.workspace import create_workspace

__all__ = ["ItemSummary", "OpenCase", "Session", "open_case", "safe_artefact_name"]


# -- init ------------------------------------------------------------------------------------------
def init_case(
    session: Session,
    *,
    case_id: str,
    title: str,
    investigator: str,
    agency: str | None,
    region: str | None = None,
    timezone: str | None = None,
) -> CaseInfo:
    """Open a new case; with ``region`` or ``timezone`` its settings are recorded at once (``case.configured``)."""
    for value, option in ((case_id, "--case-id"), (title, "--title"), (investigator, "--investigator")):
        require_text(value, option)
    require_text(agency, "--agency")
    settings = CaseSettings(check_region(region), check_timezone(timezone))
    info = CaseInfo(
        case_id=case_id,
        case_uuid=str(uuid.uuid4()),
        title=title,
        investigator=investigator,
        agency=agency,
        created=format_time(session.clock()),
    )
    key = load_key_if_any(
        session.environ, session.ask_passphrase
    )  # a damaged key stops here, before anything is created
    actor = Actor(name=investigator, key_id=key.public.key_id if key and key.investigator == investigator else None)
    workspace = create_workspace(session.case_dir, info)
    opened = EntryDraft("case.opened", actor, subject=None, details={"case": info.to_dict()})
    try:
        configured = (
            [] if settings == CaseSettings() else [EntryDraft("case.configured", actor, details=settings.to_dict())]
        )
        session.storage.create(workspace, info, [opened, *configured], clock=session.clock)
    except BaseException:
        # A case whose ledger could not be made holds no evidence yet (the backend left no ledger behind):
        # remove case.json too, so init can be retried.
        workspace.case_file.unlink(missing_ok=True)
        raise
    if key is not None:
        # Sealed at once, like every recording: the key is registered and signs the case's first entries. (A
        # crash before this leaves a case with no key registered, which the next recording command seals.)
        with open_case(session, signing_key=key) as case:
            with case.ledger.transaction() as txn:
                sign_within(case, txn, key)
            publish_checkpoints(case, txn)
    return info


def require_text(value: str | None, what: str) -> None:
    """Refuse text that is not valid UTF-8 (a shell hands such bytes over as they are): the ledger records
    text, and a guess at what the bytes meant would be a guess recorded as fact. UsageError, one line."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        shown = value.encode("utf-8", errors="surrogateescape")[: exc.start + 1]
        raise UsageError(
            f"{what} is not valid UTF-8 text (byte {shown[-1]:#04x} at position {exc.start}); "
            "nothing was recorded: give it again as UTF-8"
        ) from None


# -- add -------------------------------------------------------------------------------------------
def _check_readable_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputFileError(f"no such file: {path}") from None
    except PermissionError:
        raise InputFileError(f"cannot read {path}: permission denied") from None
    if not stat.S_ISREG(mode):
        raise InputFileError(f"{path} is not a regular file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class AddedFile:
    """One item made by ``add``: a file, or a folder with its tree. ``same_content_as`` names the earlier
    items that already hold the content of its files (it was recorded again all the same)."""

    item_id: str
    path: Path
    entry: LedgerEntry
    same_content_as: tuple[str, ...] = ()
    repeated_files: int = 0

    @property
    def files(self) -> int:
        return len(self.entry.artefacts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            **recorded_name("path", str(self.path)),
            "entry": self.entry.to_dict(),
            "same_content_as": list(self.same_content_as),
            "repeated_files": self.repeated_files,
        }


def _modified(path: Path) -> str:
    return format_time(datetime.fromtimestamp(path.stat().st_mtime, UTC))


def _file_details(path: Path, note: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        **recorded_name("original_name", path.name),
        **recorded_name("original_path", str(path.resolve())),
        "source_modified": _modified(path),
    }
    if note:
        details["note"] = note
    return details


def _folder_details(path: Path, tree: FolderTree, note: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        **recorded_name("original_name", path.resolve().name),
        **recorded_name("original_path", str(path.resolve())),
    }
    details["files"] = [
        {"artefact": m.name, **recorded_name("relative_path", m.relative), "source_modified": _modified(m.source)}
        for m in tree.files
    ]
    if tree.empty_folders:
        recorded = [recorded_name("path", folder) for folder in tree.empty_folders]
        details["empty_folders"] = [r["path"] for r in recorded]
        if any("path_bytes" in r for r in recorded):  # each one's raw bytes, or null where it is UTF-8
            details["empty_folders_bytes"] = [r.get("path_bytes") for r in recorded]
    if note:
        details["note"] = note
    return details


@dataclass(frozen=True)
class _Planned:
    """An item to add, its details made before anything is stored, so nothing is stored for an entry that
    could not be made."""

    path: Path
    action: str
    details: dict[str, Any]
    tree: FolderTree | None = None


def _plan(path: Path, tree: FolderTree | None, note: str | None) -> _Planned:
    if tree is None:
        return _Planned(path, "file.added", _file_details(path, note))
    return _Planned(path, "folder.added", _folder_details(path, tree, note), tree)


def _store(case: OpenCase, plan: _Planned, region: str) -> tuple[tuple[Artefact, ...], dict[str, Any]]:
    """Store the item's files; its artefacts, and its details with what only the stored bytes tell."""
    if plan.tree is None:
        digests = case.store.put_file(plan.path)
        stored = case.store.path_for(digests.blake3)
        media_type = media_type_of(stored)
        details = plan.details
        if media_type.startswith("image/"):
            details = {**details, "exif": read_exif(stored), "photo": photo_facts(stored)}
        details = {**details, **_text_indicators(stored, media_type, region)}
        return (Artefact(single_file_name(plan.path.name), "file", media_type, digests),), details
    artefacts = []
    photos: dict[str, dict[str, Any]] = {}
    found: list[dict[str, Any]] = []
    for member in plan.tree.files:
        digests = case.store.put_file(member.source)
        media_type = media_type_of(case.store.path_for(digests.blake3))
        artefacts.append(Artefact(member.name, "file", media_type, digests))
        if media_type.startswith("image/"):
            photos[member.name] = photo_facts(case.store.path_for(digests.blake3))
        member_found = _text_indicators(case.store.path_for(digests.blake3), media_type, region)
        found += [{**i, "artefact": member.name} for i in member_found.get("indicators", [])]
    details = {**plan.details, "photos": photos} if photos else plan.details
    read = {"indicators": found, "indicators_region": region}
    return tuple(artefacts), ({**details, **read} if found else details)


def _text_indicators(stored: Path, media_type: str, region: str) -> dict[str, Any]:
    """``{"indicators": [...], "indicators_region": region}`` when the file's text is read (see
    evidencekit.indicators.files), else {}. The region is recorded: it decided how national numbers read."""
    lines = file_text(stored, media_type)
    return {} if lines is None else {"indicators": indicators_in_lines(lines, region), "indicators_region": region}


def indicator_region(environ: Mapping[str, str], settings: CaseSettings) -> str:
    """The country for phone numbers written without +code in added files, chosen as a capture chooses it:
    ``$EVIDENCEKIT_REGION`` (the capture's --region reads it too), else the case's region, else US."""
    chosen = environ.get("EVIDENCEKIT_REGION", "").strip()
    return (check_region(chosen) if chosen else settings.region) or "US"


def add_files(session: Session, paths: Sequence[Path], *, note: str | None = None) -> list[AddedFile]:
    """Store each file, and each folder with its whole tree, and record one entry per item, all in one
    transaction: ``file.added`` for a file, ``folder.added`` for a folder (one item, each file an artefact).

    Every path (and every path inside each folder) is checked and every entry's details are made before
    anything is stored, so a bad path records nothing and stores nothing. Content already in the case is
    recorded again, and said so in ``same_content_as``.
    """
    if not paths:
        raise UsageError("name at least one file or folder to add")
    require_text(note, "--note")
    with open_case(session) as case:
        plans: list[_Planned] = []
        for path in paths:
            if path.is_dir():
                _refuse_case_folder(path, case.workspace.root)
                plans.append(_plan(path, read_folder_tree(path), note))
            else:
                _check_readable_file(path)
                plans.append(_plan(path, None, note))
        for plan in plans:  # what could not be written fails here, before anything is stored
            try:
                canonical_json(plan.details)
            except UnicodeEncodeError as exc:
                raise UsageError(f"{plan.path} cannot be recorded ({exc}); nothing was added") from None
        region = indicator_region(session.environ, settings_of(case.ledger.entries_with_action("case.configured")))
        prepared = [_store(case, plan, region) for plan in plans]
        known = _items_by_content(case.ledger.entries())
        added: list[AddedFile] = []
        with case.ledger.transaction() as txn:
            for plan, (artefacts, details) in zip(plans, prepared, strict=True):
                item_id = txn.next_item_id("file" if plan.action == "file.added" else "folder")
                entry = txn.append(EntryDraft(plan.action, case.actor, item_id, artefacts, details))
                earlier = [known.get(a.digests.blake3) for a in artefacts]
                same = tuple(dict.fromkeys(i for i in earlier if i is not None))
                added.append(AddedFile(item_id, plan.path, entry, same, sum(1 for i in earlier if i is not None)))
                for artefact in artefacts:
                    known.setdefault(artefact.digests.blake3, item_id)
            seal(case, txn)
        publish_checkpoints(case, txn)
        return added


def _refuse_case_folder(folder: Path, case_root: Path) -> None:
    """A folder that holds the case (or lies inside it) would add the ledger and store to themselves."""
    folder, case_root = folder.resolve(), case_root.resolve()
    if folder == case_root or folder in case_root.parents or case_root in folder.parents:
        raise InputFileError(f"{folder} holds the case folder {case_root} or lies in it; name one outside the case")


def _items_by_content(entries: Iterable[LedgerEntry]) -> dict[str, str]:
    """The first item that holds each recorded content (by BLAKE3 digest)."""
    first: dict[str, str] = {}
    for entry in entries:
        if entry.subject is not None:
            for artefact in entry.artefacts:
                first.setdefault(artefact.digests.blake3, entry.subject)
    return first


def earlier_captures(session: Session, urls: Sequence[str]) -> dict[str, str]:
    """For each of ``urls`` already captured in this case, the first capture of it (read only).

    Capturing a URL again is allowed (pages change; that is often the point); the CLI says so.
    """
    wanted = {url.strip() for url in urls}
    found: dict[str, str] = {}
    with open_case(session, readonly=True) as case:
        for entry in case.ledger.entries_with_action("capture.started"):
            url = str(entry.details.get("url", "")).strip()
            if url in wanted and entry.subject is not None:
                found.setdefault(url, entry.subject)
    return found


# -- settings --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseSettings:
    """A case's own defaults: the country for phone numbers written without +code, the zone people read
    times in. The effective settings are those of the newest ``case.configured`` entry."""

    region: str | None = None
    timezone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "timezone": self.timezone}


def check_region(region: str | None) -> str | None:
    if region is None:
        return None
    code = region.strip().upper()
    if not (len(code) == 2 and code.isascii() and code.isalpha() and code in phonenumbers.SUPPORTED_REGIONS):
        raise UsageError(f"--region {region!r} is not a country code known for phone numbers; use two letters, e.g. DE")
    return code


def check_timezone(timezone: str | None) -> str | None:
    if timezone is None:
        return None
    name = timezone.strip()
    if name not in available_timezones():
        raise UsageError(f"--timezone {timezone!r} is not a known time zone; use an IANA name, e.g. Europe/Berlin")
    return name


def settings_of(entries: Iterable[LedgerEntry]) -> CaseSettings:
    settings = CaseSettings()
    for entry in entries:
        if entry.action == "case.configured":
            region, zone = entry.details.get("region"), entry.details.get("timezone")
            settings = CaseSettings(
                region if isinstance(region, str) else None, zone if isinstance(zone, str) else None
            )
    return settings


def case_settings(session: Session) -> CaseSettings:
    """The case's effective settings (read only)."""
    with open_case(session, readonly=True) as case:
        return settings_of(case.ledger.entries_with_action("case.configured"))


def configure_case(session: Session, changes: Mapping[str, str | None]) -> tuple[LedgerEntry, CaseSettings]:
    """Record new settings: ``changes`` maps ``region`` / ``timezone`` to a value, or to None to clear it;
    a setting not named keeps its value. The entry always holds both, so the newest one says it all."""
    unknown = set(changes) - {"region", "timezone"}
    if unknown or not changes:
        raise UsageError("say what to configure: --region CC and/or --timezone Area/City ('none' clears one)")
    with open_case(session) as case:
        current = settings_of(case.ledger.entries_with_action("case.configured"))
        settings = CaseSettings(
            check_region(changes["region"]) if "region" in changes else current.region,
            check_timezone(changes["timezone"]) if "timezone" in changes else current.timezone,
        )
        with case.ledger.transaction() as txn:
            entry = txn.append(EntryDraft("case.configured", case.actor, None, details=settings.to_dict()))
            seal(case, txn)
        publish_checkpoints(case, txn)
        return entry, settings


# -- notes -----------------------------------------------------------------------------------------


def add_note(session: Session, text: str, *, item_id: str | None = None) -> LedgerEntry:
    if not text.strip():
        raise UsageError("a note needs some text")
    require_text(text, "the note")
    with open_case(session) as case:
        if item_id is not None:
            require_item(case.ledger, item_id)
        with case.ledger.transaction() as txn:
            entry = txn.append(EntryDraft("note.added", case.actor, item_id, details={"text": text}))
            seal(case, txn)
        publish_checkpoints(case, txn)
        return entry


# -- checkpoints -----------------------------------------------------------------------------------


def checkpoint(session: Session) -> LedgerEntry:
    with open_case(session) as case:
        if case.key is None:
            raise KeyMissingError(
                f"no investigator key in {keys_dir(session.environ)}; run `evidencekit keys generate` first"
            )
        with case.ledger.transaction() as txn:
            entry = sign_within(case, txn, case.key)
        publish_checkpoints(case, txn)
        return entry


# -- timestamps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StampRun:
    """What ``evidencekit timestamp`` did: the TSAs configured, whether they were asked, what each gave, and
    what stays pending per TSA name (checkpoint seqs), configured or not."""

    authorities: tuple[str, ...]
    asked: bool
    outcomes: tuple[Outcome, ...]
    pending: Mapping[str, tuple[int, ...]]

    def lines(self) -> list[str]:
        """One line per TSA (and per TSA no longer configured that has pending checkpoints)."""
        lines = []
        for name in self.authorities:
            said = [o.line() for o in self.outcomes if o.tsa == name]
            if said:
                lines += said
            elif self.pending.get(name):
                owed = ", ".join(str(seq) for seq in self.pending[name])
                why = "offline: not asked" if not self.asked else "not asked"
                lines.append(f"{name}: the checkpoint at seq {owed} stays pending ({why})")
            else:
                lines.append(f"{name}: nothing pending")
        for name, seqs in self.pending.items():
            if name not in self.authorities and seqs:
                listed = ", ".join(str(seq) for seq in seqs)
                lines.append(f"{name}: the checkpoint at seq {listed} stays pending (this TSA is no longer configured)")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "authorities": list(self.authorities),
            "asked": self.asked,
            "outcomes": [
                {
                    "tsa": o.tsa,
                    "checkpoint_seq": o.checkpoint_seq,
                    "obtained": o.obtained,
                    "reason": o.reason,
                    "gen_time": o.gen_time,
                    "seq": o.entry.seq if o.entry is not None else None,
                }
                for o in self.outcomes
            ],
            "pending": {name: list(seqs) for name, seqs in self.pending.items()},
        }


def stamp_pending(session: Session) -> StampRun:
    """Ask again, in the foreground, for the newest checkpoint from each TSA with a pending entry (the open
    does the asking, ``Stamper.resume``), and record what came back. A TSA that is down does not fail it."""
    with open_case(session) as case:
        stamper = case.stamper
        if stamper is None:  # a recording open always has one
            raise RuntimeError("the case was opened without a stamper")
        outcomes = stamper.settle(case)
        owed = owed_now(case.ledger)
        pending = {name: tuple(sorted(seqs)) for name, seqs in owed.pending.items() if seqs}
        return StampRun(
            tuple(a.name for a in stamper.authorities),
            asking_enabled(session.environ, session.timestamping),
            tuple(outcomes),
            pending,
        )


# -- reading ---------------------------------------------------------------------------------------


def list_items(session: Session) -> list[ItemSummary]:
    with open_case(session, readonly=True) as case:
        grouped = group_items(list(case.ledger.entries()))
        return [summarise(item_id, entries) for item_id, entries in grouped.items()]


@dataclass(frozen=True)
class ItemDetail:
    summary: ItemSummary
    entries: tuple[LedgerEntry, ...]
    stored_paths: Mapping[str, str]
    cover: Cover | None = None  # the earliest independent time covering the item (intact tokens only)

    @property
    def time_statement(self) -> str:
        return self.cover.statement() if self.cover is not None else "no independent timestamp covers this item yet"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary.to_dict(),
            "entries": [e.to_dict() for e in self.entries],
            "stored_paths": dict(self.stored_paths),
            "independent_time": self.time_statement,
        }


def show_item(session: Session, item_id: str) -> ItemDetail:
    with open_case(session, readonly=True) as case:
        require_item(case.ledger, item_id)
        entries = case.ledger.entries_about(item_id)
        paths = {a.digests.blake3: str(case.store.path_for(a.digests.blake3)) for e in entries for a in e.artefacts}
        cover = item_cover(list(case.ledger.entries()), entries, case.store)
        return ItemDetail(summarise(item_id, entries), tuple(entries), paths, cover)


def read_log(session: Session) -> list[LedgerEntry]:
    with open_case(session, readonly=True) as case:
        return list(case.ledger.entries())


def stamp_warnings(session: Session) -> list[str]:
    """What a sealing command says on stderr of its own checkpoint's stamps (the timestamp entries recorded
    after the newest checkpoint.signed): each TSA that gave no token and why (not when asking was turned
    off), and each token whose measured clock offset is flagged, with the size in words. Empty when all is
    well, or when the case cannot be read (the command itself has already said what it did)."""
    try:
        with open_case(session, readonly=True) as case:
            newest = case.ledger.entries_with_action("checkpoint.signed")
            if not newest:
                return []
            after = list(case.ledger.entries(start=newest[-1].seq + 1))
    except Exception:  # a warning must never turn a success into a failure
        return []
    lines = []
    for entry in after:
        said = parse(entry)
        if isinstance(said, TimestampPending) and said.reason != "offline":
            lines.append(
                f"warning: no timestamp from {said.tsa.name} for this command's checkpoint: {said.reason}; "
                "`evidencekit timestamp` (or the next recording command) asks again"
            )
        elif isinstance(said, TimestampObtained) and said.clock_flagged and said.clock_offset_seconds:
            off = offset_words(said.clock_offset_seconds, f"the time of {said.tsa.name}")
            lines.append(
                f"warning: this computer's clock is {off}: the times this case records come from this clock; set it "
                "right before recording more"
            )
    return lines
