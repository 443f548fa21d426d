"""Parts of the certificate drafts taken straight from the fact table: how times are written (UTC, the
case's zone from its settings, and IST where the Indian form asks for it), the completeness paragraph, and
the hash report annex with every item's status, notes and files.

Lines of the annex start with ``VERBATIM`` so that ``certificates`` does not re-wrap them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

from evidencekit.bundle.documents.popup_facts import requested_label
from evidencekit.bundle.documents.report_facts import (
    NOT_RECORDED,
    bare_digest,
    capped,
    format_size,
    mapping,
    parse_utc,
    reason_text,
    sequence,
    status_text,
    zone_of,
)
from evidencekit.bundle.documents.timefacts import NOT_COVERED
from evidencekit.bundle.shown import blank
from evidencekit.bundle.shown import one_line as _one

VERBATIM = "\x01"
IST = timezone(timedelta(hours=5, minutes=30), "IST")
INDIA = "Asia/Kolkata"
_KIND_WORDS = {"capture": "web capture", "file": "file", "folder": "folder"}


@dataclass(frozen=True)
class Clock:
    """How a draft writes a recorded UTC time: the Indian form in IST (DD/MM/YYYY, 24-hour) first, as its
    Schedule asks; every draft also in the case's own zone when the case settings name one."""

    ist: bool
    zone: str | None = None

    def when(self, value: Any, what: str = "time") -> str:
        written = _one(value)
        if not written:
            return blank(what)
        moment = parse_utc(value)
        if moment is None:
            return f"{written} (UTC)" if self.ist else written
        zone = zone_of(self.zone) if self.zone else None
        extra = ""
        if zone is not None and not (self.ist and self.zone == INDIA):
            local = moment.astimezone(zone)
            extra = f"; {local.strftime('%Y-%m-%d %H:%M:%S')} {_one(self.zone)}"
        if not self.ist:
            return f"{written} (UTC{extra})" if extra else written
        return f"{moment.astimezone(IST).strftime('%d/%m/%Y %H:%M:%S')} IST ({written} UTC{extra})"


def _title(value: Any) -> str:
    shown, more = capped(value)
    shown = _one(shown)
    return f"{shown} (... {more:,} more characters; the whole title is in metadata.json)" if more else shown


def status_summary(items: Sequence[Mapping[str, Any]]) -> str:
    """Paragraph 7 of the FRE draft: every item not plainly complete, in the words the bundle records."""
    told = [item for item in items if status_text(item) not in ("complete", "added")]
    if not told:
        return "Every item is recorded as complete (web captures) or added (files); none is partial or failed."
    sentences = []
    for item in told:
        reasons = "; ".join(_one(reason_text(r)) for r in sequence(item.get("reasons"), "item.reasons"))
        status = _one(item.get("status")) or "of unknown status"
        said = _one(status_text(item))
        if reasons:
            sentences.append(f"Item {_one(item.get('item_id'))} is recorded as {status} for these reasons: {reasons}.")
        elif item.get("error"):
            sentences.append(
                f"Item {_one(item.get('item_id'))} is recorded as {status}; the recorded error is: "
                f'"{_one(item.get("error"))}".'
            )
        elif said != status:
            sentences.append(f"Item {_one(item.get('item_id'))} is recorded as {said}.")
        else:
            sentences.append(f"Item {_one(item.get('item_id'))} is recorded as {status} without a recorded reason.")
    return (
        "The items below were recorded as incomplete, or the server answered them with an error status, when "
        "they were acquired. They hold what was obtained; the reasons are those recorded at the time. "
        + " ".join(sentences)
    )


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def files_said(count: int, made: Sequence[Mapping[str, Any]]) -> str:
    """The files Annex lists, and which of them were hashed when (the bag holds more: custody records and
    the documents; bag-info.txt's Payload-Oxum counts every payload file)."""
    if not made:
        return f"{_files(count)} of those items, each hashed at acquisition"
    return (
        f"{_files(count)} of those items ({count - len(made)} hashed and recorded in the case ledger "
        f"when acquired, {len(made)} made from them at export)"
    )


def hash_timing(count: int, made: Sequence[Mapping[str, Any]], annex_name: str, ledger: str) -> str:
    if not made:
        return (
            "The software computed both hash values of each file while the file was being acquired and recorded "
            f"them at that time in {ledger}."
        )
    return (
        f"The software computed both hash values of each of the {count - len(made)} files that {annex_name} marks "
        f'"hashed at acquisition" while the file was being acquired, and recorded them at that time in {ledger}. '
        f"The other {len(made)} files were made from those files when the bundle was exported; {annex_name} marks "
        "them, and their hash values were computed at export."
    )


def _notes(notes: Sequence[Any], clock: Clock, indent: str) -> list[str]:
    lines = []
    for note in (mapping(n, "note") for n in notes):
        actor = note.get("actor")
        name = _one(mapping(actor, "actor").get("name") if isinstance(actor, Mapping) else actor)
        lines.append(f"{indent}Note by {name or NOT_RECORDED}, {clock.when(note.get('time'))}:")
        lines.append(f"{indent}  {_one(note.get('text'))}")
    return lines


def annex(items: Sequence[Mapping[str, Any]], case: Mapping[str, Any], clock: Clock) -> str:
    lines: list[str] = []
    case_notes = sequence(case.get("notes"), "case.notes")
    if case_notes:
        lines += ["", "Notes on the case as a whole:", *_notes(case_notes, clock, "  ")]
    if not items:
        lines += ["", "The bundle holds no items."]
    for number, item in enumerate(items, 1):
        kind = _KIND_WORDS.get(str(item.get("kind")), "kind not known")
        exhibit = _one(item.get("exhibit"))
        lines += [
            "",
            f"Item {number} of {len(items)}: {_one(item.get('item_id'))} ({kind})"
            + (f"; exhibit {exhibit}" if exhibit else ""),
            f"  {'Status:':<15} {_one(status_text(item)) or NOT_RECORDED}",
        ]
        lines += [f"  {name + ':':<15} {value}" for name, value in _rows(item, clock) if value]
        artefacts = [mapping(a, "artefact") for a in sequence(item.get("artefacts"), "item.artefacts")]
        lines.append(f"  Files ({len(artefacts)}):")
        for index, artefact in enumerate(artefacts, 1):
            hashed = (
                "made at export from the recorded files; hashed then"
                if artefact.get("recorded") is False
                else "hashed at acquisition and recorded in the case ledger"
            )
            lines += [
                f"    {index}. {_one(artefact.get('path')) or NOT_RECORDED}",
                f"       role: {_one(artefact.get('role')) or NOT_RECORDED}; media type: "
                f"{_one(artefact.get('media_type')) or NOT_RECORDED}; size: {_one(format_size(artefact.get('size')))}",
                f"       {hashed}",
                f"       SHA-256: {_one(bare_digest(artefact.get('sha256'))) or NOT_RECORDED}",
                f"       BLAKE3:  {_one(bare_digest(artefact.get('blake3'))) or NOT_RECORDED}",
            ]
        lines += _notes(sequence(item.get("notes"), "item.notes"), clock, "  ")
    return "\n".join(VERBATIM + line for line in lines[1:])


def _rows(item: Mapping[str, Any], clock: Clock) -> list[tuple[str, str]]:
    """The item's recorded facts as (name, one-line value); empty values are left out by the caller."""
    rows = [("Label", _one(item.get("label")))]
    if item.get("kind") == "capture":
        rows.append((requested_label(item), _one(item.get("requested_url")) or NOT_RECORDED))
        hops = sequence(item.get("redirect_chain"), "item.redirect_chain")
        rows += [(f"Redirect {number}", _hop(hop)) for number, hop in enumerate(hops, 1)]
        rows += [
            ("Final URL", _one(item.get("final_url")) or NOT_RECORDED),
            ("Page title", _title(item.get("title"))),
        ]
        rows += [("HTTP status", _one(item.get("http_status"))), ("Server IP", _one(item.get("server_ip")))]
    if item.get("started"):
        rows.append(("Started" if item.get("ended") else "Recorded", clock.when(item["started"])))
    if item.get("ended"):
        rows.append(("Ended", clock.when(item["ended"])))
    rows.append(("Independent time", _independent_time(item)))
    rows.append(("Browser", _one(item.get("browser"))))
    settings = mapping(item.get("settings"), "item.settings")
    rows += [(f"Setting {_one(name)}", _one(value)) for name, value in sorted(settings.items())]
    rows += [("Reason", _one(reason_text(reason))) for reason in sequence(item.get("reasons"), "item.reasons")]
    if item.get("error"):
        rows.append(("Error", _one(item.get("error"))))
    return rows


def _independent_time(item: Mapping[str, Any]) -> str:
    """The earliest independent time covering the item (``documents.timefacts``), and the items sharing it."""
    time = mapping(item.get("time"), "item.time")
    said = _one(time.get("statement")) or NOT_COVERED
    said += f" ({_one(time.get('accuracy_said'))})" if time.get("accuracy_said") else ""
    return said + (f". {_one(time.get('tie_said'))}" if time.get("tie_said") else "")


def _hop(hop: Any) -> str:
    hop = mapping(hop, "redirect")
    status = _one(hop.get("status"))
    return f"{status + ' ' if status else ''}{_one(hop.get('url')) or NOT_RECORDED}"
