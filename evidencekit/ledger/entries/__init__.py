"""The ledger's vocabulary: every action this version knows, its typed details, its one-line summary and the
items it concerns. Each action's form is also a JSON Schema, ``schemas/actions/<action>.schema.json``.

An entry is read once (``parse``, memoised on the entry) into one of three things:

- a known action (``FileAdded``, ``CheckpointSigned``...): its details typed, checked against its schema;
- ``Unknown``: an action this version does not know, made by a newer version. It is shown as such,
  checked by the generic rules (form, chain, tree, checkpoints) and never dropped;
- ``Damaged``: a known action whose details do not have that action's form. ``detail_problems`` says how,
  for the rulebook to report against the entry's sequence number.

This version writes only what it knows (``EntryDraft`` refuses any other action); each typed action makes
its own draft (``NoteAdded(text).draft(actor, item_id)``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from evidencekit.errors import ValidationError
from evidencekit.keys import PublicKey
from evidencekit.ledger.entries.actions import (
    Action,
    CaptureAbandoned,
    CaptureCompleted,
    CaptureEnded,
    CaptureFailed,
    CaptureStarted,
    CaseConfigured,
    CaseOpened,
    CheckpointSigned,
    CheckpointsRepaired,
    CustodyTransferred,
    ExportCreated,
    FileAdded,
    FolderAdded,
    FolderFile,
    Indicator,
    KeyRegistered,
    NoteAdded,
    one_line,
)
from evidencekit.ledger.entries.analysis import AnalysisRecorded
from evidencekit.ledger.entries.keyacts import InvestigatorAdded, KeyIntroduced, KeyRotated, key_statement
from evidencekit.ledger.entries.stamps import (
    StampedCheckpoint,
    TimestampObtained,
    TimestampPending,
    TimestampSuperseded,
    TsaNamed,
)
from evidencekit.ledger.entries.watching import (
    AVAILABILITY,
    CONTENT,
    WATCH_STATES,
    ObservationRecorded,
    WatchAdded,
    WatchChanged,
    series_key,
)
from evidencekit.models import JSON_VALUE, ActionName, EntryDraft, LedgerEntry, canonical_json
from evidencekit.schemas import schema_problems

__all__ = [
    "AVAILABILITY",
    "CONTENT",
    "DAMAGED_LABEL",
    "ENDED_CAPTURE",
    "ITEM_ACTIONS",
    "ITEM_KINDS",
    "KEY_ACTIONS",
    "NOT_KNOWN",
    "TIMESTAMP_ACTIONS",
    "UNKNOWN_LABEL",
    "VOCABULARY",
    "WATCH_STATES",
    "Action",
    "ActionName",
    "AnalysisRecorded",
    "CaptureAbandoned",
    "CaptureCompleted",
    "CaptureEnded",
    "CaptureFailed",
    "CaptureStarted",
    "CaseConfigured",
    "CaseOpened",
    "CheckpointSigned",
    "CheckpointsRepaired",
    "CustodyTransferred",
    "Damaged",
    "ExportCreated",
    "FileAdded",
    "FolderAdded",
    "FolderFile",
    "Indicator",
    "InvestigatorAdded",
    "KeyIntroduced",
    "KeyRegistered",
    "KeyRotated",
    "Known",
    "NoteAdded",
    "ObservationRecorded",
    "Parsed",
    "StampedCheckpoint",
    "TimestampObtained",
    "TimestampPending",
    "TimestampSuperseded",
    "TsaNamed",
    "Unknown",
    "WatchAdded",
    "WatchChanged",
    "concerned_items",
    "detail_problems",
    "draft_problems",
    "given_note",
    "group_items",
    "item_kind",
    "key_statement",
    "one_line",
    "parse",
    "registered_key",
    "registered_keys",
    "schema_name",
    "series_key",
    "summary",
]

UNKNOWN_LABEL = "unknown action (made by a newer version?)"
NOT_KNOWN = "not known"  # what a document says where the ledger does not state a fact in a form this version reads
DAMAGED_LABEL = "details not in this action's recorded form (damaged, or made by a newer version?)"
# The actions that create an item, and the kind (item-id prefix) of the item each creates.
ITEM_KINDS: Mapping[str, str] = {"file.added": "file", "folder.added": "folder", "capture.started": "capture"}
ITEM_ACTIONS = tuple(ITEM_KINDS)
# The entries that end a capture: after one of them the capture is no longer in progress.
ENDED_CAPTURE = frozenset({"capture.completed", "capture.failed", "capture.abandoned"})
# The actions that record a public key whose signatures may count in the case: the first key (key.registered),
# and the keys an already registered key brings in (key.rotated, investigator.added).
KEY_ACTIONS = ("key.registered", "key.rotated", "investigator.added")
# The actions that record independent time (RFC 3161) for a signed checkpoint.
TIMESTAMP_ACTIONS = ("timestamp.obtained", "timestamp.pending", "timestamp.superseded")


@dataclass(frozen=True)
class Unknown:
    """An action this version does not know (a newer version made it): kept and shown as recorded."""

    action: str

    def summary(self) -> str:
        return UNKNOWN_LABEL


@dataclass(frozen=True)
class Damaged:
    """A known action whose details do not have its form; ``problems`` says how."""

    action: str
    problems: tuple[str, ...]

    def summary(self) -> str:
        return DAMAGED_LABEL


Known: TypeAlias = (
    CaseOpened | CaseConfigured | FileAdded | FolderAdded | NoteAdded | KeyRegistered | KeyRotated
    | InvestigatorAdded | CheckpointSigned | CheckpointsRepaired
    | CaptureStarted | CaptureCompleted | CaptureFailed | CaptureAbandoned | ExportCreated | CustodyTransferred
    | TimestampObtained | TimestampPending | TimestampSuperseded | AnalysisRecorded
    | WatchAdded | WatchChanged | ObservationRecorded
)  # fmt: skip
Parsed: TypeAlias = Known | Unknown | Damaged

VOCABULARY: Mapping[str, type[Known]] = {
    kind.ACTION: kind
    for kind in (
        CaseOpened, CaseConfigured, FileAdded, FolderAdded, NoteAdded, KeyRegistered, KeyRotated, InvestigatorAdded,
        CheckpointSigned, CheckpointsRepaired, CaptureStarted, CaptureCompleted, CaptureFailed, CaptureAbandoned,
        ExportCreated, CustodyTransferred, TimestampObtained, TimestampPending, TimestampSuperseded,
        AnalysisRecorded, WatchAdded, WatchChanged, ObservationRecorded,
    )
}  # fmt: skip

_MEMO_KEY = "vocabulary"


def schema_name(action: str) -> str:
    """The schema of a known action, for ``schemas.load_schema``: ``actions/<action>``."""
    return f"actions/{action}"


def _read(entry: LedgerEntry) -> Parsed:
    kind = VOCABULARY.get(entry.action)
    if kind is None:
        return Unknown(entry.action)
    value = entry.memo.get(JSON_VALUE)  # read from canonical bytes: plain JSON, no need to walk it again
    problems = schema_problems(schema_name(entry.action), value or entry.to_dict(), plain_json=value is not None)
    if problems:
        return Damaged(entry.action, tuple(problems))
    try:
        return kind.from_entry(entry)
    except (ValidationError, KeyError, TypeError, ValueError) as exc:  # what the schema cannot say
        return Damaged(entry.action, (str(exc),))


def parse(entry: LedgerEntry) -> Parsed:
    """What ``entry`` says, read once: the typed action, ``Unknown`` or ``Damaged``. Memoised on the entry."""
    found: Parsed | None = entry.memo.get(_MEMO_KEY)
    if found is None:
        found = entry.memo[_MEMO_KEY] = _read(entry)
    return found


def detail_problems(entry: LedgerEntry) -> list[str]:
    """How a known action's entry departs from its form (empty when it is fine, or the action is unknown)."""
    parsed = parse(entry)
    if isinstance(parsed, Damaged):
        return [f"{entry.action} entry does not have its recorded form: {problem}" for problem in parsed.problems]
    return []


def draft_problems(draft: EntryDraft) -> list[str]:
    """How a draft departs from its action's form, before it is written (empty when it is fine): so that this
    version never records an entry its own verifier would find damaged."""
    document = {
        "action": draft.action,
        "subject": draft.subject,
        "artefacts": [a.to_dict() for a in draft.artefacts],
        "details": json.loads(canonical_json(dict(draft.details))),  # tuples become the arrays they are written as
    }
    return [
        f"{draft.action} draft does not have its form: {p}"
        for p in schema_problems(schema_name(draft.action), document)
    ]


def summary(entry: LedgerEntry) -> str:
    """One line saying what the entry records, for `log`, `show` and the report's custody table."""
    return parse(entry).summary()


def given_note(parsed: Parsed) -> str | None:
    """The note given when an item was recorded (``add --note``, ``capture --note``), kept in the creating
    entry's details; None for any other entry or when none was given."""
    if isinstance(parsed, FileAdded | FolderAdded | CaptureStarted):
        return parsed.note or None
    return None


def concerned_items(entry: LedgerEntry) -> tuple[str, ...]:
    """The items an entry is about: its subject, and for exports and hand-overs the items they carried."""
    subject = (entry.subject,) if entry.subject is not None else ()
    parsed = parse(entry)
    if isinstance(parsed, ExportCreated | CustodyTransferred):
        return tuple(dict.fromkeys((*subject, *parsed.items)))
    return subject


def group_items(entries: Sequence[LedgerEntry]) -> dict[str, list[LedgerEntry]]:
    """Entries per item, in ledger order: an item starts with its creating entry. Any later entry about it,
    of an action this version does not know too, belongs to it. (The bundle verifier groups a bundle's
    ledger excerpt by this same rule to rebuild what export made from each item's entries.)"""
    grouped: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        if entry.subject is None:
            continue
        if entry.action in ITEM_ACTIONS or entry.subject in grouped:
            grouped.setdefault(entry.subject, []).append(entry)
    return grouped


def item_kind(action: str) -> str | None:
    """The kind of item an action creates (``file``, ``folder``, ``capture``), or None."""
    return ITEM_KINDS.get(action)


def registered_key(entry: LedgerEntry) -> PublicKey:
    """The public key a ``key.registered``, ``key.rotated`` or ``investigator.added`` entry records;
    ValidationError when it is not one or is unusable."""
    parsed = parse(entry)
    if isinstance(parsed, KeyRegistered | KeyIntroduced):
        return parsed.public_key
    if isinstance(parsed, Damaged):
        raise ValidationError(f"registered public key is unusable: {parsed.problems[0]}")
    raise ValidationError(
        f"seq {entry.seq} is a {entry.action} entry, not key.registered, key.rotated or investigator.added"
    )


def registered_keys(entries: Iterable[LedgerEntry]) -> dict[str, PublicKey]:
    """The usable keys that the key entries (``KEY_ACTIONS``) record, by key id (unusable ones are left out).
    Whether each was brought in as the rules require is the rulebook's to say (``rules.keyset``)."""
    keys = {}
    for entry in entries:
        parsed = parse(entry) if entry.action in KEY_ACTIONS else None
        if isinstance(parsed, KeyRegistered | KeyIntroduced):
            keys[parsed.public_key.key_id] = parsed.public_key
    return keys
