"""Frozen records passed between layers, each validated on the way in, with to_dict/from_dict.

The canonical JSON rule used for ledger entries lives here too (``canonical_json``), because the
ledger, the exporter and the offline verifier must all produce byte-identical forms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from evidencekit.errors import ValidationError
from evidencekit.hashing import Digests

FORMAT_VERSION = 1
CASE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ARTEFACT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")
# What may not stand in one part of an artefact name (bundle manifests need plain names); each maker of a
# name replaces runs of these and keeps the original spelling in its details.
UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
ITEM_ID_PATTERN = re.compile(r"[a-z]+-[0-9]{4,}")
# An action is named noun.past-participle (``case.configured``). Any such name is read; only ACTIONS are written.
ACTION_PATTERN = re.compile(r"[a-z]+(\.[a-z_]+)+")
RFC3339_UTC_MICROS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")

# The actions this version writes; evidencekit.ledger.entries gives each its typed details and schema.
# An entry with any other action (a newer version made it) is still read, shown and verified.
ActionName = Literal[
    "case.opened",
    "case.configured",
    "file.added",
    "folder.added",
    "note.added",
    "key.registered",
    "key.rotated",
    "investigator.added",
    "checkpoint.signed",
    "checkpoints.repaired",
    "capture.started",
    "capture.completed",
    "capture.failed",
    "capture.abandoned",
    "export.created",
    "custody.transferred",
    "timestamp.obtained",
    "timestamp.pending",
    "timestamp.superseded",
    "analysis.recorded",
    "watch.added",
    "watch.changed",
    "observation.recorded",
]
ACTIONS: frozenset[str] = frozenset(get_args(ActionName))


_SCALARS = (str, int, bool, type(None))


def _check_no_floats(value: Any, path: str = "$") -> None:
    if type(value) in _SCALARS:
        return
    if isinstance(value, float):
        raise ValidationError(f"{path}: fractional numbers are not allowed in canonical JSON; use a decimal string")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{path}: object keys must be strings, not {key!r}")
            if type(item) not in _SCALARS:
                _check_no_floats(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if type(item) not in _SCALARS:
                _check_no_floats(item, f"{path}[{index}]")


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _dumps(value: Any) -> bytes:
    return _ENCODER.encode(value).encode("utf-8")


def canonical_json(value: Any) -> bytes:
    """The one canonical byte form: UTF-8, keys sorted by code point, no insignificant white space,
    non-ASCII characters as themselves (not escaped), integers only (fractions travel as decimal strings).
    """
    _check_no_floats(value)
    return _dumps(value)


def _refuse_number(text: str) -> Any:
    raise ValidationError(f"fractional or non-finite number {text!r}: canonical entries hold integers only")


_DECODER = json.JSONDecoder(parse_float=_refuse_number, parse_constant=_refuse_number)


def noncanonical_positions(raws: list[bytes]) -> list[int]:
    """Which of ``raws`` are not canonical JSON objects (re-encoding differs); run on worker processes."""
    found = []
    for index, raw in enumerate(raws):
        try:
            parse_canonical(raw)
        except ValidationError:
            found.append(index)
    return found


def parse_canonical(data: bytes, *, known_canonical: bool = False) -> dict[str, Any]:
    """Parse an entry and insist that it was in canonical form (re-encoding gives the same bytes).

    ``known_canonical``: the re-encoding was already compared elsewhere (a worker process), skip it.
    """
    try:
        value = _DECODER.decode(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"not JSON: {exc}") from None
    except RecursionError:
        raise ValidationError("JSON nested too deeply to be a ledger entry") from None
    if not isinstance(value, dict):
        raise ValidationError("a ledger entry must be a JSON object")
    if not known_canonical and _dumps(value) != data:  # parse_float refused fractions: no float check needed
        raise ValidationError("not in canonical form")
    return value


@dataclass(frozen=True)
class Artefact:
    """One stored file of an item: its name inside the item, its role, media type and digests."""

    name: str
    role: str
    media_type: str
    digests: Digests

    def __post_init__(self) -> None:
        if not ARTEFACT_NAME_PATTERN.fullmatch(self.name) or ".." in self.name.split("/"):
            raise ValidationError(f"artefact name {self.name!r} must use only A-Z a-z 0-9 . _ / -")
        if not self.role or not self.media_type:
            raise ValidationError(f"artefact {self.name!r} needs a role and a media type")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "media_type": self.media_type, **self.digests.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Artefact:
        try:
            return cls(
                name=str(data["name"]),
                role=str(data["role"]),
                media_type=str(data["media_type"]),
                digests=Digests.from_dict(dict(data)),
            )
        except KeyError as exc:
            raise ValidationError(f"an artefact lacks the field {exc.args[0]!r}") from None


@dataclass(frozen=True)
class Actor:
    name: str
    key_id: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValidationError("the actor needs a name")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "key_id": self.key_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Actor:
        return cls(name=str(data.get("name", "")), key_id=data.get("key_id"))


@dataclass(frozen=True)
class CaseInfo:
    """What identifies a case; written to case.json and into the ``case.opened`` ledger entry."""

    case_id: str
    case_uuid: str
    title: str
    investigator: str
    agency: str | None
    created: str
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if not CASE_ID_PATTERN.fullmatch(self.case_id):
            raise ValidationError(
                f"case id {self.case_id!r} must be 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
            )
        if not self.title.strip():
            raise ValidationError("the case needs a title (--title)")
        if not self.investigator.strip():
            raise ValidationError("the case needs an investigator (--investigator)")

    @property
    def origin(self) -> str:
        """The checkpoint origin line: names this case's log uniquely."""
        return f"evidencekit/{self.case_id}/{self.case_uuid}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "case_id": self.case_id,
            "case_uuid": self.case_uuid,
            "title": self.title,
            "investigator": self.investigator,
            "agency": self.agency,
            "created": self.created,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseInfo:
        try:
            return cls(
                case_id=str(data["case_id"]),
                case_uuid=str(data["case_uuid"]),
                title=str(data["title"]),
                investigator=str(data["investigator"]),
                agency=data.get("agency"),
                created=str(data["created"]),
                format_version=int(data.get("format_version", FORMAT_VERSION)),
            )
        except KeyError as exc:
            raise ValidationError(f"case metadata lacks the field {exc.args[0]!r}") from None


@dataclass(frozen=True)
class EntryDraft:
    """What a workflow wants recorded; the ledger adds sequence number, time and previous hash."""

    action: str
    actor: Actor
    subject: str | None = None
    artefacts: tuple[Artefact, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValidationError(f"this version does not write the ledger action {self.action!r}")
        _check_no_floats(dict(self.details), "$.details")


# The key under which LedgerEntry.memo keeps the JSON value an entry was read from.
JSON_VALUE = "json"


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger entry as recorded. ``raw`` is its canonical byte form, the thing that is hashed."""

    seq: int
    time: str
    tz: str
    actor: Actor
    action: str
    case_id: str
    subject: str | None
    artefacts: tuple[Artefact, ...]
    details: Mapping[str, Any]
    prev: str | None
    version: int = FORMAT_VERSION
    # What has been read out of the entry, kept so it is read once (ledger.entries.parse); not part of it.
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise ValidationError(f"sequence number cannot be negative: {self.seq}")
        if not RFC3339_UTC_MICROS.fullmatch(self.time):
            raise ValidationError(f"entry time {self.time!r} is not UTC RFC 3339 with microseconds")
        if not ACTION_PATTERN.fullmatch(self.action):
            raise ValidationError(f"ledger action {self.action!r} is not a name like noun.past-participle")

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": self.version,
            "seq": self.seq,
            "time": self.time,
            "tz": self.tz,
            "actor": self.actor.to_dict(),
            "action": self.action,
            "case_id": self.case_id,
            "subject": self.subject,
            "artefacts": [a.to_dict() for a in self.artefacts],
            "details": dict(self.details),
            "prev": self.prev,
        }

    @property
    def raw(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        try:
            for name in ("v", "seq"):
                if type(data[name]) is not int:
                    raise ValidationError(f"ledger entry field {name!r} must be an integer")
            return cls(
                version=int(data["v"]),
                seq=int(data["seq"]),
                time=str(data["time"]),
                tz=str(data["tz"]),
                actor=Actor.from_dict(data["actor"]),
                action=str(data["action"]),
                case_id=str(data["case_id"]),
                subject=data["subject"],
                artefacts=tuple(Artefact.from_dict(a) for a in data["artefacts"]),
                details=dict(data["details"]),
                prev=data["prev"],
            )
        except KeyError as exc:
            raise ValidationError(f"ledger entry lacks the field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"ledger entry is malformed: {exc}") from None

    @classmethod
    def from_raw(cls, raw: bytes, *, known_canonical: bool = False) -> LedgerEntry:
        value = parse_canonical(raw, known_canonical=known_canonical)
        entry = cls.from_dict(value)
        # The bytes were canonical; an entry that maps back to the same value therefore has the same bytes.
        if entry.to_dict() != value:
            raise ValidationError("entry has unknown fields or fields of the wrong type")
        entry.memo[JSON_VALUE] = value  # exactly the entry, and made of nothing but what JSON holds
        return entry


@dataclass(frozen=True)
class Problem:
    """One thing verification found wrong. ``where`` names a sequence number (``seq 12``) or a path."""

    code: str
    message: str
    seq: int | None = None
    path: str | None = None

    @property
    def where(self) -> str:
        if self.seq is not None:
            return f"seq {self.seq}"
        return self.path or "-"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "seq": self.seq, "path": self.path}

    def __str__(self) -> str:
        return f"[{self.code}] {self.where}: {self.message}"


@dataclass(frozen=True)
class CapturedFile:
    """An artefact the capture wrote into its working folder, before it is put in the store."""

    path: Path
    artefact: Artefact


@dataclass(frozen=True)
class CaptureResult:
    """What one page capture obtained. Returned by ``capture``; never touches the ledger.

    ``status`` is ``complete``, ``partial`` (with every reason), ``blocked`` (the site showed a challenge or
    a login wall instead of the content: metadata ``blocked`` says which, with the evidence) or ``failed``
    (nothing usable: ``error`` says why). ``metadata`` is the content of metadata.json (also one of ``files``).
    """

    requested_url: str
    final_url: str | None
    status: str
    reasons: tuple[str, ...]
    files: tuple[CapturedFile, ...]
    metadata: Mapping[str, Any]
    indicators: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    # The pop-up windows it opened and captured as captures of their own, in the order they opened.
    popups: tuple[CaptureResult, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in {"complete", "partial", "blocked", "failed"}:
            raise ValidationError(f"unknown capture status {self.status!r}")
        if self.status == "partial" and not self.reasons:
            raise ValidationError("a partial capture must say why it is partial")
        if self.status == "blocked" and not self.reasons:
            raise ValidationError("a blocked capture must say what blocked it")
        if self.status == "failed" and not self.error:
            raise ValidationError("a failed capture must say why it failed")

    @property
    def artefacts(self) -> tuple[Artefact, ...]:
        return tuple(f.artefact for f in self.files)
