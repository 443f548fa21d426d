"""The typed actions of the ledger's vocabulary: one frozen dataclass per action, holding its details typed,
making its draft, and saying in one line what it records. Read through ``evidencekit.ledger.entries``."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from evidencekit.errors import ValidationError
from evidencekit.keys import PublicKey
from evidencekit.models import Actor, Artefact, CaseInfo, EntryDraft, LedgerEntry

# Characters that reorder the text around them when shown (bidirectional embeddings, overrides, isolates
# and marks): a file name "invoice\u202egpj.exe" would be read as "invoiceexe.jpg".
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(ch: str) -> str:
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as Python carries it (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _needs_escape(ch: str) -> bool:
    return ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs")


def one_line(text: str) -> str:
    """``text`` fit to show on one line of a terminal or a table: every character that could act on what
    shows it (C0 and C1 controls, DEL, line and paragraph separators, bidirectional controls, bytes that
    were not UTF-8) is written as a visible escape (``\\n``, ``\\x1b``, ``\\u202e``, ``\\xff``), so a
    recorded name cannot forge a log line, retitle or clear a terminal, or reorder itself. The recorded text
    itself stays as it is; the escapes are plain ASCII, so escaping twice changes nothing.
    """
    if text.isprintable() and not any(ch in _BIDI_CONTROLS for ch in text):  # the common case, fast
        return text
    return "".join(_escaped(ch) if _needs_escape(ch) else ch for ch in text)


def _with_optional(details: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """``details`` plus each optional field that has a value (absent fields stay absent)."""
    return details | {name: value for name, value in optional.items() if value is not None}


@dataclass(frozen=True)
class Action:
    """What every known action has: its name, its details as recorded, a summary, a draft of itself."""

    ACTION: ClassVar[str]

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        """The typed details of ``entry``, which has already passed this action's schema."""
        raise NotImplementedError

    def to_details(self) -> dict[str, Any]:
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError

    def draft(self, actor: Actor, subject: str | None = None, artefacts: Sequence[Artefact] = ()) -> EntryDraft:
        return EntryDraft(self.ACTION, actor, subject, tuple(artefacts), self.to_details())


@dataclass(frozen=True)
class CaseOpened(Action):
    ACTION: ClassVar[str] = "case.opened"
    case: CaseInfo

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        return cls(CaseInfo.from_dict(entry.details["case"]))

    def to_details(self) -> dict[str, Any]:
        return {"case": self.case.to_dict()}

    def summary(self) -> str:
        return f"case {self.case.case_id} opened"


@dataclass(frozen=True)
class CaseConfigured(Action):
    """Per-case settings; None means not set."""

    ACTION: ClassVar[str] = "case.configured"
    region: str | None  # ISO 3166 alpha-2, upper case
    timezone: str | None  # IANA name, e.g. Europe/Lisbon

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        return cls(entry.details["region"], entry.details["timezone"])

    def to_details(self) -> dict[str, Any]:
        return {"region": self.region, "timezone": self.timezone}

    def summary(self) -> str:
        return f"case settings: region {self.region or 'not set'}, time zone {self.timezone or 'not set'}"


@dataclass(frozen=True)
class FileAdded(Action):
    """``exif_read``: the file is an image and its EXIF was read (``exif`` None: it carries none).
    ``indicators``: present when the file's text was read (see evidencekit.indicators.files), each with its
    line; ``indicators_region`` the country its national phone numbers were read in.
    ``photo``: an image's width, height and PDQ hash, or ``pdq_error`` (``evidencekit.photos.photo_facts``)."""

    ACTION: ClassVar[str] = "file.added"
    original_name: str
    original_path: str
    source_modified: str
    exif: Mapping[str, Any] | None = None
    exif_read: bool = False
    note: str | None = None
    indicators: tuple[Indicator, ...] | None = None
    indicators_region: str | None = None
    photo: Mapping[str, Any] | None = None

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(
            d["original_name"], d["original_path"], d["source_modified"], d.get("exif"), "exif" in d, d.get("note"),
            _indicators(d), d.get("indicators_region"), d.get("photo"),
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "original_name": self.original_name,
            "original_path": self.original_path,
            "source_modified": self.source_modified,
        }
        if self.exif_read or self.exif is not None:
            details["exif"] = None if self.exif is None else dict(self.exif)
        return _with_optional(
            details,
            note=self.note,
            indicators=_indicator_dicts(self.indicators),
            indicators_region=self.indicators_region,
            photo=None if self.photo is None else dict(self.photo),
        )

    def summary(self) -> str:
        return f"file {one_line(self.original_name)}"


@dataclass(frozen=True)
class FolderFile:
    """One file of an added folder: the artefact holding it and where it stood in the tree."""

    artefact: str
    relative_path: str
    source_modified: str

    def to_dict(self) -> dict[str, str]:
        return {"artefact": self.artefact, "relative_path": self.relative_path, "source_modified": self.source_modified}


@dataclass(frozen=True)
class FolderAdded(Action):
    """``indicators``: present when some member's text held any, each with its ``artefact`` and line;
    ``indicators_region`` the country national phone numbers were read in."""

    ACTION: ClassVar[str] = "folder.added"
    original_name: str
    original_path: str
    files: tuple[FolderFile, ...]
    note: str | None = None
    indicators: tuple[Indicator, ...] | None = None
    indicators_region: str | None = None
    # Each image member's photo facts (as FileAdded.photo), by artefact name.
    photos: Mapping[str, Mapping[str, Any]] | None = None

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        files = tuple(FolderFile(f["artefact"], f["relative_path"], f["source_modified"]) for f in d["files"])
        named = [f.artefact for f in files]
        if len(set(named)) != len(named) or set(named) != {a.name for a in entry.artefacts}:
            raise ValidationError("details/files must name each artefact of the entry exactly once")
        photos = d.get("photos")
        if photos is not None and not set(photos) <= set(named):
            raise ValidationError("details/photos must name only artefacts of the entry")
        return cls(
            d["original_name"], d["original_path"], files, d.get("note"), _indicators(d), d.get("indicators_region"),
            photos,
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        details = {
            "original_name": self.original_name,
            "original_path": self.original_path,
            "files": [f.to_dict() for f in self.files],
        }
        photos = None if self.photos is None else {name: dict(facts) for name, facts in self.photos.items()}
        return _with_optional(
            details,
            note=self.note,
            indicators=_indicator_dicts(self.indicators),
            indicators_region=self.indicators_region,
            photos=photos,
        )

    def summary(self) -> str:
        count = len(self.files)
        return f"folder {one_line(self.original_name)} ({count} file{'' if count == 1 else 's'})"


@dataclass(frozen=True)
class NoteAdded(Action):
    ACTION: ClassVar[str] = "note.added"
    text: str

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        return cls(entry.details["text"])

    def to_details(self) -> dict[str, Any]:
        return {"text": self.text}

    def summary(self) -> str:
        return one_line(self.text)


@dataclass(frozen=True)
class KeyRegistered(Action):
    ACTION: ClassVar[str] = "key.registered"
    investigator: str
    public_key: PublicKey

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        return cls(entry.details["investigator"], PublicKey.from_dict(entry.details["public_key"]))

    def to_details(self) -> dict[str, Any]:
        return {"investigator": self.investigator, "public_key": self.public_key.to_dict()}

    def summary(self) -> str:
        return f"key {self.public_key.key_id} of {one_line(self.investigator)}"


@dataclass(frozen=True)
class CheckpointSigned(Action):
    """What the entry says its C2SP signed note (``note``) signs; the rulebook checks that they agree."""

    ACTION: ClassVar[str] = "checkpoint.signed"
    tree_size: int
    root: str
    key_id: str
    note: str

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(d["tree_size"], d["root"], d["key_id"], d["note"])

    def to_details(self) -> dict[str, Any]:
        return {"tree_size": self.tree_size, "root": self.root, "key_id": self.key_id, "note": self.note}

    def summary(self) -> str:
        return f"signed tree head of {self.tree_size} entries"


@dataclass(frozen=True)
class CheckpointsRepaired(Action):
    """A checkpoint note whose append was interrupted (a crash, a full disk) was repaired: ``bytes`` torn
    bytes, the beginning of the note of the ``checkpoint.signed`` entry at ``checkpoint_seq``, were cut from
    the end of ``file`` (``checkpoints.txt`` or ``witness copy``) and the whole note appended again."""

    ACTION: ClassVar[str] = "checkpoints.repaired"
    file: str
    bytes: int
    checkpoint_seq: int

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(d["file"], d["bytes"], d["checkpoint_seq"])

    def to_details(self) -> dict[str, Any]:
        return {"file": self.file, "bytes": self.bytes, "checkpoint_seq": self.checkpoint_seq}

    def summary(self) -> str:
        return f"interrupted checkpoint append repaired in {self.file}: {self.bytes} torn bytes cut"


@dataclass(frozen=True)
class CaptureStarted(Action):
    """The browser began a capture. A capture made by a watch or by ``recapture`` also names its ``series``
    (the URL normalised, see ``watching.series_key``), the series' ``previous`` item (None for its first),
    its ``watch``, the item it is a ``recapture_of``, or the listing capture it was ``found_on``
    (``{"item", "watch"}``)."""

    ACTION: ClassVar[str] = "capture.started"
    url: str
    options: Mapping[str, Any]
    note: str | None = None
    series: str | None = None
    previous: str | None = None
    watch: str | None = None
    recapture_of: str | None = None
    found_on: Mapping[str, Any] | None = None
    opened_by: str | None = None  # a pop-up window's capture: the item of the page that opened it
    opened_at: str | None = None  # when that window opened (this entry is recorded once its capture ended)

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        found_on = d.get("found_on")
        return cls(
            d["url"], dict(d["options"]), d.get("note"), d.get("series"), d.get("previous"), d.get("watch"),
            d.get("recapture_of"), dict(found_on) if isinstance(found_on, Mapping) else None, d.get("opened_by"),
            d.get("opened_at"),
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        return _with_optional(
            {"url": self.url, "options": dict(self.options)},
            note=self.note,
            series=self.series,
            previous=self.previous,
            watch=self.watch,
            recapture_of=self.recapture_of,
            found_on=dict(self.found_on) if self.found_on is not None else None,
            opened_by=self.opened_by,
            opened_at=self.opened_at,
        )

    def summary(self) -> str:
        when = f"; the window opened at {self.opened_at}, recorded once its capture ended" if self.opened_at else ""
        opened = f" (a pop-up window opened by {self.opened_by}{when})" if self.opened_by else ""
        return f"started {one_line(self.url)}{opened}"


@dataclass(frozen=True)
class CaptureAbandoned(Action):
    """A capture whose run ended (killed, crashed) before it recorded how the capture ended: recorded by the
    next recording command once the run's lock was free. ``started_seq`` is the item's ``capture.started``;
    ``run_pid`` and ``run_began`` are what the run's lock file said of it, when it said so."""

    ACTION: ClassVar[str] = "capture.abandoned"
    started_seq: int
    run_pid: int | None = None
    run_began: str | None = None

    @classmethod
    def of(cls, started: LedgerEntry, pid: int | None, began: str | None) -> Self:
        return cls(started.seq, pid, began)

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(d["started_seq"], d.get("run_pid"), d.get("run_began"))

    def to_details(self) -> dict[str, Any]:
        return _with_optional({"started_seq": self.started_seq}, run_pid=self.run_pid, run_began=self.run_began)

    def summary(self) -> str:
        return f"abandoned: the run that started it (seq {self.started_seq}) ended before recording how it ended"


@dataclass(frozen=True)
class Indicator:
    """An indicator as recorded: ``raw`` the text as found (absent in entries made before it was kept),
    ``site`` the site's rather than the author's, ``line`` the 1-based line of an added file, ``artefact``
    the member of an added folder it was found in."""

    kind: str
    value: str
    raw: str | None = None
    site: bool = False
    line: int | None = None
    artefact: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Indicator:
        return cls(d["kind"], d["value"], d.get("raw"), d.get("site") is True, d.get("line"), d.get("artefact"))

    def to_dict(self) -> dict[str, Any]:
        found = _with_optional({"kind": self.kind, "value": self.value}, raw=self.raw, line=self.line)
        found = _with_optional(found, artefact=self.artefact)
        return {**found, "site": True} if self.site else found


def _indicators(d: Mapping[str, Any]) -> tuple[Indicator, ...] | None:
    found = d.get("indicators")
    return None if found is None else tuple(Indicator.from_dict(i) for i in found)


def _indicator_dicts(found: tuple[Indicator, ...] | None) -> list[dict[str, Any]] | None:
    return None if found is None else [i.to_dict() for i in found]


@dataclass(frozen=True)
class CaptureEnded(Action):
    """How a capture ended: ``capture.completed`` (complete, partial or blocked, every reason) or ``capture.failed``."""

    url: str
    status: str
    reasons: tuple[str, ...]
    final_url: str | None
    http_status: int | None
    title: str | None
    metadata: str | None  # tagged BLAKE3 digest of metadata.json, when one was written
    indicators: tuple[Indicator, ...]
    error: str | None = None
    title_full_length: int | None = None  # present when ``title`` was cut to its first characters
    address_bar_url: str | None = None  # present when the page set its own address bar (see capture.assemble)
    blocked: Mapping[str, Any] | None = None  # status blocked: {kind, evidence} (see capture.walls)
    opened: tuple[str, ...] | None = None  # present when the page's pop-up windows were captured: their items

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        indicators = tuple(Indicator.from_dict(i) for i in d["indicators"])
        opened = tuple(d["opened"]) if isinstance(d.get("opened"), list) else None
        return cls(
            d["url"], d["status"], tuple(d["reasons"]), d["final_url"], d["http_status"], d["title"],
            d["metadata"], indicators, d.get("error"), d.get("title_full_length"), d.get("address_bar_url"),
            d.get("blocked"), opened,
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        details = {
            "url": self.url,
            "status": self.status,
            "reasons": list(self.reasons),
            "final_url": self.final_url,
            "http_status": self.http_status,
            "title": self.title,
            "metadata": self.metadata,
            "indicators": [i.to_dict() for i in self.indicators],
        }
        details = _with_optional(
            details,
            error=self.error,
            title_full_length=self.title_full_length,
            address_bar_url=self.address_bar_url,
            blocked=dict(self.blocked) if self.blocked is not None else None,
        )
        return _with_optional(details, opened=list(self.opened) if self.opened is not None else None)

    def summary(self) -> str:
        opened = f" (opened pop-up windows captured as {', '.join(self.opened)})" if self.opened else ""
        return f"{self.status} {one_line(self.url)}{opened}"


@dataclass(frozen=True)
class CaptureCompleted(CaptureEnded):
    ACTION: ClassVar[str] = "capture.completed"


@dataclass(frozen=True)
class CaptureFailed(CaptureEnded):
    ACTION: ClassVar[str] = "capture.failed"


@dataclass(frozen=True)
class ExportCreated(Action):
    ACTION: ClassVar[str] = "export.created"
    bundle: str
    path: str
    format: str
    tag_manifest_sha256: str
    tag_manifest_blake3: str
    payload_oxum: str
    items: tuple[str, ...]
    checkpoint_tree_size: int
    checkpoint_root: str
    full_ledger: bool
    recipient: str | None
    purpose: str | None
    report_pdf: bool | None = None  # None: recorded before `export --no-pdf` existed (a PDF was always made)
    # Each item's exhibit number and the exhibits' paper; None: recorded before exhibits existed.
    exhibits: Mapping[str, str] | None = None
    paper: str | None = None

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(
            d["bundle"], d["path"], d["format"], d["tag_manifest_sha256"], d["tag_manifest_blake3"],
            d["payload_oxum"], tuple(d["items"]), d["checkpoint"]["tree_size"], d["checkpoint"]["root"],
            d["full_ledger"], d["recipient"], d["purpose"], d.get("report_pdf"),
            dict(d["exhibits"]) if "exhibits" in d else None, d.get("paper"),
        )  # fmt: skip

    def to_details(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "path": self.path,
            "format": self.format,
            "tag_manifest_sha256": self.tag_manifest_sha256,
            "tag_manifest_blake3": self.tag_manifest_blake3,
            "payload_oxum": self.payload_oxum,
            "items": list(self.items),
            "checkpoint": {"tree_size": self.checkpoint_tree_size, "root": self.checkpoint_root},
            "full_ledger": self.full_ledger,
            "recipient": self.recipient,
            "purpose": self.purpose,
            **({} if self.report_pdf is None else {"report_pdf": self.report_pdf}),
            **({} if self.exhibits is None else {"exhibits": dict(self.exhibits)}),
            **({} if self.paper is None else {"paper": self.paper}),
        }

    def summary(self) -> str:
        count = len(self.items)
        return f"bundle {one_line(self.bundle)} exported with {count} item{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class CustodyTransferred(Action):
    ACTION: ClassVar[str] = "custody.transferred"
    recipient: str
    purpose: str | None
    bundle: str
    tag_manifest_sha256: str
    items: tuple[str, ...]

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> Self:
        d = entry.details
        return cls(d["recipient"], d["purpose"], d["bundle"], d["tag_manifest_sha256"], tuple(d["items"]))

    def to_details(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "purpose": self.purpose,
            "bundle": self.bundle,
            "tag_manifest_sha256": self.tag_manifest_sha256,
            "items": list(self.items),
        }

    def summary(self) -> str:
        return f"custody transferred to {one_line(self.recipient)} (bundle {one_line(self.bundle)})"
