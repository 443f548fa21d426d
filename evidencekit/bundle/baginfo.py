"""bag-info.txt of a bundle: the case facts first (``casefacts``, by which ``verify`` checks them), then the
bag's own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from evidencekit.bundle.casefacts import DESCRIPTION_LABEL, bag_info_facts, description_statement
from evidencekit.bundle.documents.instructions import PDF_OMITTED
from evidencekit.bundle.layout import EXHIBITS, REPORT_PDF, SERIES_LABEL


def series_declaration_text(declared: Mapping[str, Any]) -> str:
    """One series' declaration as one bag-info line: JSON, keys sorted, ASCII only."""
    return json.dumps(dict(declared), sort_keys=True, ensure_ascii=True, separators=(", ", ": "))


if TYPE_CHECKING:
    from evidencekit.bundle.export import ExportPlan


def bag_info(plan: ExportPlan) -> list[tuple[str, str]]:
    """bag-info.txt: the case facts (``casefacts``, which ``verify`` checks them by), then the bag's own."""
    case = plan.case.to_dict()
    facts = dict(bag_info_facts(case))
    info = [(label, facts[label]) for label in ("Source-Organization", "Contact-Name", "External-Identifier")]
    info += [
        (
            DESCRIPTION_LABEL,
            f"{description_statement(case).text}{len(plan.items)} item(s), custody ledger excerpt with "
            f"inclusion proofs against a signed checkpoint of {plan.checkpoint.size} entries.",
        ),
        ("Bagging-Date", plan.created[:10]),
        ("Bag-Software-Agent", plan.software),
        ("Bag-Group-Identifier", facts["Bag-Group-Identifier"]),
        ("Report-PDF", REPORT_PDF if plan.report_pdf else PDF_OMITTED),
        ("Exhibit-PDFs", f"{EXHIBITS}/ ({len(plan.items)} file(s))" if plan.report_pdf else PDF_OMITTED),
    ]
    # Signed with the bag (the statement covers bag-info.txt): a series thinned after export is caught.
    info += [(SERIES_LABEL, series_declaration_text(declared)) for declared in plan.series]
    if plan.recipient:
        info.append(("Internal-Sender-Description", f"Transferred to {plan.recipient}"))
    if plan.purpose:
        info.append(("Internal-Sender-Identifier", plan.purpose))
    return info
