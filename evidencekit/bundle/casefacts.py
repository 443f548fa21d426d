"""The case facts a bundle states, and exactly how each file states them: the one place the exporter and the
bundle check take them from (as ``layout`` is for paths), so that what is written and what is checked cannot
drift apart.

A bundle names its case (case id, title, investigator, agency, when it was opened, case UUID) in
bag-info.txt, data/VERIFY.txt, the report (data/report/index.html) and the certificate drafts. Export writes
them from the ledger's ``case.opened`` entry; ``verify`` finds each statement again from the case.opened line
the bundle carries, so a fact edited in one of these files is found even when the bag was re-signed after.

A ``Statement`` is a run of parts, fixed words and the facts between them, as the file holds it. Its first
part is its anchor: fixed text that in that file always begins this statement (and, in the report and
VERIFY.txt, nothing else: the values there cannot hold a line break or markup). ``case`` arguments are the
mapping of ``CaseInfo.to_dict()``, as the report facts carry it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from evidencekit.bundle.layout import BSA_FILE, FRE_FILE
from evidencekit.bundle.shown import blank, esc, fact, mono, one_line, page_text, visible_text

# How a finding names each case fact (by its field in the case.opened entry).
FIELD_WORDS = {
    "case_id": "case id",
    "title": "title",
    "investigator": "investigator",
    "agency": "agency",
    "created": "time the case was opened",
    "case_uuid": "case UUID",
    "origin": "case origin (evidencekit/<case id>/<case UUID>)",
}
NOT_STATED = "(not stated)"
# bag-info.txt labels that carry one case fact each (RFC 8493 reserved labels).
BAG_INFO_FIELDS = {
    "Source-Organization": "agency",
    "Contact-Name": "investigator",
    "External-Identifier": "case_id",
    "Bag-Group-Identifier": "case_uuid",
}
DESCRIPTION_LABEL = "External-Description"


@dataclass(frozen=True)
class Part:
    text: str
    field: str | None = None  # the case fact this part shows; None for fixed words


@dataclass(frozen=True)
class Statement:
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.parts)

    @property
    def anchor(self) -> str:
        return self.parts[0].text

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(part.field for part in self.parts if part.field is not None)

    def diverging_field(self, text: str, at: int) -> tuple[str, int]:
        """The fact of this statement that ``text`` shows otherwise at ``at``, and how many characters of the
        statement it matched first.

        A fixed part that no longer matches follows a fact of another length: that fact is named.
        """
        named, matched = self.fields[0], 0
        for part in self.parts:
            if part.field is not None:
                named = part.field
            if not text.startswith(part.text, at + matched):
                break
            matched += len(part.text)
        return named, matched


def _statement(*parts: str | tuple[str, str]) -> Statement:
    return Statement(tuple(Part(p) if isinstance(p, str) else Part(p[0], p[1]) for p in parts))


def _single(value: Any) -> str:
    """A value as bag-info.txt holds it: one line, runs of white space as one space (as ``bagit`` writes)."""
    return " ".join(str(value).split())


# --- bag-info.txt -------------------------------------------------------------------------------------------


def bag_info_facts(case: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The case's bag-info.txt fields, label and value, in the order they are written."""
    values = {field: case.get(field) for field in BAG_INFO_FIELDS.values()}
    values["agency"] = values["agency"] or NOT_STATED
    return [(label, _single(values[field])) for label, field in BAG_INFO_FIELDS.items()]


def description_statement(case: Mapping[str, Any]) -> Statement:
    """How External-Description begins; the counts that follow are the exporter's."""
    return _statement(
        "Evidence bundle of case ",
        (_single(case.get("case_id")), "case_id"),
        " (",
        (_single(case.get("title")), "title"),
        "): ",
    )


# --- data/VERIFY.txt ----------------------------------------------------------------------------------------


def verify_statements(case: Mapping[str, Any]) -> list[Statement]:
    """The two lines of VERIFY.txt that name the case, each with the line break before and after it."""

    def shown(field: str) -> str:
        return visible_text(case.get(field), single_line=True)

    return [
        _statement("\nCase ", (shown("case_id"), "case_id"), ": ", (shown("title"), "title"), "\n"),
        _statement(
            "\nInvestigator: ",
            (shown("investigator"), "investigator"),
            "   Agency: ",
            (visible_text(case.get("agency") or NOT_STATED, single_line=True), "agency"),
            "\n",
        ),
    ]


def verify_header(case: Mapping[str, Any]) -> str:
    """The lines VERIFY.txt names the case with (each statement's line break shared with the next)."""
    return "".join(statement.text[1:] for statement in verify_statements(case))


# --- data/report/index.html ---------------------------------------------------------------------------------

REPORT_ROWS = (
    ("Case ID", "case_id", mono),
    ("Title", "title", page_text),
    ("Investigator", "investigator", page_text),
    ("Agency", "agency", page_text),
    ("Case opened (UTC)", "created", mono),
    ("Case UUID", "case_uuid", mono),
)


def report_title(case: Mapping[str, Any]) -> str:
    """The HTML <title> text (escaped)."""
    return escape(visible_text(case.get("case_id"), single_line=True))


def report_statements(case: Mapping[str, Any]) -> list[Statement]:
    """Every place the report states a case fact, as HTML: the <title>, the heading, its lead line (the
    title) and the rows of the Case table. Values are escaped, so no value can hold an anchor."""
    rows = [
        _statement(f'<th scope="row">{label}</th><td>', (render(case.get(field)), field), "</td>")
        for label, field, render in REPORT_ROWS
    ]
    return [
        _statement("<title>Evidence report: case ", (report_title(case), "case_id"), "</title>"),
        _statement("<h1>Evidence report: case ", (esc(case.get("case_id")), "case_id"), "</h1>"),
        _statement('</h1><p class="lead">', (page_text(case.get("title")), "title"), "</p>"),
        *rows,
    ]


def report_rows(case: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The Case table of the report: (label, HTML value)."""
    return [(label, render(case.get(field))) for label, field, render in REPORT_ROWS]


# --- the certificate drafts ---------------------------------------------------------------------------------


def certificate_values(case: Mapping[str, Any]) -> dict[str, str]:
    """The template values that carry case facts, as the drafts show them (``one_line``)."""
    agency = one_line(case.get("agency"))
    return {
        "case_id": fact(case.get("case_id"), "case ID"),
        "case_title": fact(case.get("title"), "case title"),
        "case_uuid": fact(case.get("case_uuid"), "case UUID"),
        "investigator": fact(case.get("investigator"), "investigator of record"),
        "agency_clause": f", {agency}" if agency else f", {blank('agency')}",
    }


def certificate_statements(case: Mapping[str, Any]) -> dict[str, list[Statement]]:
    """What each draft says of the case, by file name: compared with runs of white space made one space,
    because the drafts are wrapped. Each statement must be there; page-derived text elsewhere in a draft
    may hold the same words, so extra occurrences are not judged."""
    v = {name: spaced(value) for name, value in certificate_values(case).items()}
    case_id = (v["case_id"], "case_id")
    named = _statement(
        "evidence bundle of case ",
        case_id,
        ' ("',
        (v["case_title"], "title"),
        '", case identifier ',
        (v["case_uuid"], "case_uuid"),
        ")",
    )
    prepared = _statement("evidence bundle of case ", case_id, ". ")
    noticed = _statement("evidence bundle of case ", case_id, ", exported on ")
    of_record = _statement(
        "The investigator of record for the case is ",
        (v["investigator"], "investigator"),
        (v["agency_clause"], "agency"),
        ". ",
    )
    return {FRE_FILE: [prepared, named, of_record, noticed], BSA_FILE: [prepared, named]}


def spaced(text: str) -> str:
    """``text`` with every run of white space made one space: a wrapped draft as its statements are found."""
    return " ".join(text.split())
