"""The case facts a bundle states against the ``case.opened`` line it carries.

The ledger line is bound to the signed checkpoint by its inclusion proof; the files that restate its facts
for people (bag-info.txt, data/VERIFY.txt, the certificate drafts, data/report/index.html) and the origin
the bundle signature names are bound to nothing but the bag's own signature, which whoever holds the
investigator's key can make again. So each statement of a case fact is found where ``bundle.casefacts``
says the exporter put it, and compared exactly: a value edited (and, in bag-info.txt, VERIFY.txt and the
report, a second one added where the writer puts one) is a problem naming the file and the fact. The
wrapped drafts are compared with runs of white space as one space; report.pdf and the WACZ descriptions
are not read.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence
from pathlib import Path

from evidencekit.bundle.bagit import parse_bag_info
from evidencekit.bundle.casefacts import (
    BAG_INFO_FIELDS,
    DESCRIPTION_LABEL,
    FIELD_WORDS,
    Statement,
    bag_info_facts,
    certificate_statements,
    description_statement,
    report_statements,
    spaced,
    verify_statements,
)
from evidencekit.bundle.findings import BundleReport
from evidencekit.bundle.layout import BUNDLE_SIGNATURE, LEDGER, REPORT_HTML, VERIFY_TXT, certificate_path
from evidencekit.errors import ValidationError
from evidencekit.ledger.entries import CaseOpened, parse
from evidencekit.models import CaseInfo, LedgerEntry

BAG_INFO = "bag-info.txt"
# Far larger than any VERIFY.txt, bag-info.txt or draft the exporter writes (a draft lists every file).
_TEXT_LIMIT = 256 * 1024 * 1024


def check_case_facts(root: Path, entries: Sequence[LedgerEntry], origin: str | None, report: BundleReport) -> None:
    """Every case fact the bundle's files state, against its case.opened line; ``origin``: the one the bundle
    signature names (None when the signature could not be read, which is reported already)."""
    report.checks.append(
        "case facts in bag-info.txt, VERIFY.txt, the certificates, the report and the bundle signature "
        "against the case.opened line"
    )
    case = _case_opened(entries)
    if case is None:
        report.add(
            "casefact.unknown",
            "the ledger excerpt holds no readable case.opened entry, so the case facts that bag-info.txt and the "
            "documents state cannot be checked",
            path=LEDGER,
        )
        return
    facts = case.to_dict()
    report.facts["case"] = facts
    if origin is not None and origin != case.origin:
        _differs(report, BUNDLE_SIGNATURE, "origin")
    _check_bag_info(root, facts, report)
    _check_anchored(root, VERIFY_TXT, verify_statements(facts), report)
    _check_anchored(root, REPORT_HTML, report_statements(facts), report)
    for name, statements in certificate_statements(facts).items():
        _check_draft(root, certificate_path(name), statements, report)


def _case_opened(entries: Sequence[LedgerEntry]) -> CaseInfo | None:
    for entry in entries:
        if entry.action == CaseOpened.ACTION:
            parsed = parse(entry)
            return parsed.case if isinstance(parsed, CaseOpened) else None
    return None


def _differs(report: BundleReport, rel: str, field: str, label: str | None = None) -> None:
    where = f" ({label})" if label else ""
    report.add(
        "casefact.differs",
        f"{rel} states the {FIELD_WORDS[field]}{where} otherwise than the case.opened entry of the ledger",
        path=rel,
    )


def _missing(report: BundleReport, rel: str, what: str) -> None:
    report.add("casefact.missing", f"{rel} {what}", path=rel)


def _read(root: Path, rel: str, report: BundleReport) -> str | None:
    path = root / rel
    if not path.is_file():
        _missing(report, rel, "is missing: every bundle holds it, and it names the case")
        return None
    if path.stat().st_size > _TEXT_LIMIT:
        _missing(report, rel, "is far larger than any the exporter writes; its case facts were not read")
        return None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        _missing(report, rel, "is not UTF-8 text, so the case facts it should state cannot be found")
    except OSError as exc:
        _missing(report, rel, f"cannot be read ({exc.strerror or exc}), so the case facts it states were not found")
    return None


def _check_bag_info(root: Path, facts: dict[str, object], report: BundleReport) -> None:
    """Each label that carries a case fact: there, and every time with the case.opened value."""
    text = _read(root, BAG_INFO, report)
    if text is None:
        return
    try:
        fields = parse_bag_info(text)
    except ValidationError:
        return  # reported by the bag-info check already
    expected = dict(bag_info_facts(facts))
    for label, field in BAG_INFO_FIELDS.items():
        # RFC 8493 labels are compared without regard to case, as a bag reader would.
        values = [value for name, value in fields if name.lower() == label.lower()]
        if not values:
            _missing(report, BAG_INFO, f"lacks {label}, which names the {FIELD_WORDS[field]}")
        elif any(value != expected[label] for value in values):
            _differs(report, BAG_INFO, field, label)
    description = description_statement(facts)
    described = [value for name, value in fields if name.lower() == DESCRIPTION_LABEL.lower()]
    if not described:
        _missing(report, BAG_INFO, f"lacks {DESCRIPTION_LABEL}, which names the case id and title")
    for value in described:
        if not value.startswith(description.text):
            field, _ = description.diverging_field(value, 0)
            _differs(report, BAG_INFO, field, DESCRIPTION_LABEL)


def _check_anchored(root: Path, rel: str, statements: Sequence[Statement], report: BundleReport) -> None:
    """A file whose anchors begin nothing but their statement (a line break, an HTML tag that no escaped value
    can hold): every occurrence of an anchor must go on as its statement, and each statement must be there.

    Read as bytes through a memory map: a report with many screenshots can be large.
    """
    path = root / rel
    if not path.is_file():
        _missing(report, rel, "is missing: every bundle holds it, and it names the case")
        return
    try:
        if path.stat().st_size == 0:
            _judge_anchored(b"", rel, statements, report)
            return
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            _judge_anchored(data, rel, statements, report)
    except OSError as exc:
        _missing(report, rel, f"cannot be read ({exc.strerror or exc}), so the case facts it states were not found")


def _judge_anchored(data: bytes | mmap.mmap, rel: str, statements: Sequence[Statement], report: BundleReport) -> None:
    reported: set[str] = set()
    for statement in statements:
        anchor, whole = statement.anchor.encode("utf-8"), statement.text.encode("utf-8")
        found = False
        at = data.find(anchor)
        while at != -1:
            window = data[at : at + len(whole)]
            if window == whole:
                found = True
            else:
                field, _ = statement.diverging_field(window.decode("utf-8", "replace"), 0)
                if field not in reported:
                    reported.add(field)
                    _differs(report, rel, field)
            at = data.find(anchor, at + 1)
        if not found and not reported.intersection(statement.fields):
            words = " and ".join(FIELD_WORDS[f] for f in dict.fromkeys(statement.fields))
            _missing(report, rel, f"no longer states the {words} where the exporter puts it")
            reported.update(statement.fields)


def _check_draft(root: Path, rel: str, statements: Sequence[Statement], report: BundleReport) -> None:
    """A wrapped draft: each statement must be there, compared with runs of white space as one space.

    Page-derived text elsewhere in a draft may hold the same words, so occurrences beyond the exporter's
    are not judged; a fact changed where the exporter wrote it is.
    """
    text = _read(root, rel, report)
    if text is None:
        return
    flat = spaced(text)
    reported: set[str] = set()
    for statement in statements:
        if statement.text in flat:
            continue
        field, _ = max(
            (statement.diverging_field(flat, at) for at in _positions(flat, statement.anchor)),
            key=lambda found: found[1],
            default=(statement.fields[0], 0),
        )
        if field not in reported:
            reported.add(field)
            _differs(report, rel, field)


def _positions(text: str, anchor: str) -> list[int]:
    found, at = [], text.find(anchor)
    while at != -1:
        found.append(at)
        at = text.find(anchor, at + 1)
    return found
