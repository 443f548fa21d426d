"""Export a bundle: the prosecutor-facing hand-over, as a pipeline this workflow drives.

``export_bundle`` checks what it needs before recording anything (the items, their stored objects, every
ledger line it ships against its stored hash and the chain, the case facts of the ledger's case.opened entry
against case.json, the signing key, and Chromium for report.pdf unless the PDF is left out), signs a fresh
checkpoint (so every proof ends at the newest tree head), plans the bag and drives ``BagBuilder`` through
its stages: payload, documents, manifests, signature, into place. Just before that checkpoint it records
``analysis.recorded``: the links among the exported items (``exportlinks``), whose exhibits the bundle
carries under data/analysis/ and its report draws. Only after the bag is in place does it record
``export.created`` (with the bag's tag-manifest digest and whether report.pdf is in it) and, with a
recipient, ``custody.transferred``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evidencekit import __version__
from evidencekit.bundle.derived import item_metadata, shipped_analysis
from evidencekit.bundle.documents.exhibits import ExhibitPrinter
from evidencekit.bundle.export import BagBuilder, ExportItem, ExportPlan, ExportResult, PdfPrinter
from evidencekit.bundle.layout import check_exhibit_prefix, default_exhibit_prefix, exhibit_path
from evidencekit.bundle.timestamps import BundleTime
from evidencekit.capture.printing import PAPER_FORMATS
from evidencekit.errors import (
    IntegrityError,
    KeyMissingError,
    ObjectMismatchError,
    UsageError,
    ValidationError,
    reading_evidence,
)
from evidencekit.keys import keys_dir
from evidencekit.ledger.backend import StoredRow, entry_leaf_hash
from evidencekit.ledger.entries import KEY_ACTIONS, CaseOpened, concerned_items, item_kind, parse, registered_keys
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.models import Artefact, CaseInfo, EntryDraft, LedgerEntry
from evidencekit.salts import case_salt
from evidencekit.timefmt import format_time
from evidencekit.workflows.documenttime import document_time
from evidencekit.workflows.exportaccounts import disclosed_accounts
from evidencekit.workflows.exportlinks import analyse_links
from evidencekit.workflows.exportprint import exhibit_printer, pdf_printer
from evidencekit.workflows.exportseries import SeriesSelection, select_with_series, watch_seqs
from evidencekit.workflows.exporttime import bundle_time, stamp_export_checkpoint
from evidencekit.workflows.opencase import (
    OpenCase,
    Session,
    group_items,
    open_case,
    publish_checkpoints,
    seal,
    sign_within,
)

ALWAYS_EXPORTED = ("case.opened", "case.configured", *KEY_ACTIONS)
_TIME_LINES = frozenset({"checkpoint.signed", "timestamp.obtained"})


@dataclass(frozen=True)
class ExportOutcome:
    result: ExportResult
    export_entry: LedgerEntry
    transfer_entry: LedgerEntry | None
    items: tuple[str, ...]
    report_pdf: bool
    exhibits: Mapping[str, str] = field(default_factory=dict)  # item id -> exhibit PDF in the bag
    analysis_entry: LedgerEntry | None = None  # the links recorded among the items (analysis.recorded)
    # The items brought in for their series (``exportseries``), and the series carried only in part.
    series: SeriesSelection | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.result.path),
            "items": list(self.items),
            "files": self.result.files,
            "payload_oxum": self.result.bag.payload_oxum,
            "tag_manifest_sha256": "sha256:" + self.result.bag.tag_manifest_sha256,
            "export_entry": self.export_entry.to_dict(),
            "transfer_entry": self.transfer_entry.to_dict() if self.transfer_entry else None,
            "report_pdf": self.report_pdf,
            "exhibits": dict(self.exhibits),
            "analysis_entry": self.analysis_entry.to_dict() if self.analysis_entry else None,
            "series": self.series.details() if self.series else None,
        }


def _choose_items(grouped: Mapping[str, list[LedgerEntry]], wanted: Sequence[str], everything: bool) -> list[str]:
    if everything and wanted:
        raise UsageError("give either --item ID ... or --all, not both")
    if everything:
        if not grouped:
            raise UsageError("the case has no items to export yet")
        return list(grouped)
    if not wanted:
        raise UsageError("name the items to export with --item ID (see `evidencekit items`), or use --all")
    unknown = [i for i in wanted if i not in grouped]
    if unknown:
        raise UsageError(f"no item {unknown[0]!r} in this case; `evidencekit items` lists them")
    return list(dict.fromkeys(wanted))


def _concerns(entry: LedgerEntry, chosen: set[str]) -> bool:
    """Whether an entry belongs to the custody log of the chosen items (notes on the whole case included:
    the report and the certificates show every investigator note)."""
    case_note = entry.action == "note.added" and entry.subject is None
    return entry.action in ALWAYS_EXPORTED or case_note or not chosen.isdisjoint(concerned_items(entry))


def _require_objects(case: OpenCase, item_entries: Iterable[tuple[str, Sequence[LedgerEntry]]]) -> None:
    """Every stored object the export needs is there, checked before anything is signed or recorded."""
    for item_id, entries in item_entries:
        for artefact in (a for e in entries for a in e.artefacts):
            if not case.store.path_for(artefact.digests.blake3).is_file():
                raise ObjectMismatchError(
                    f"stored object {artefact.digests.blake3_tagged} ({artefact.name}) of item {item_id} is missing "
                    "from the case; nothing was exported; run `evidencekit ledger verify`"
                )


def case_of_record(case: OpenCase) -> CaseInfo:
    """The case facts a bundle states: the ledger's case.opened entry, never case.json (which anyone with the
    folder can edit). A case.json that says otherwise is refused, naming the first field that differs."""
    opened = case.ledger.entries_with_action(CaseOpened.ACTION)[:1]
    parsed = parse(opened[0]) if opened else None
    if not isinstance(parsed, CaseOpened):
        raise IntegrityError(
            "the ledger holds no readable case.opened entry; nothing was exported; run `evidencekit ledger verify`"
        )
    recorded, stated = parsed.case.to_dict(), case.info.to_dict()
    differing = next((name for name in recorded if recorded[name] != stated.get(name)), None)
    if differing is not None:
        raise IntegrityError(
            f"case.json differs from the ledger's case.opened entry (seq {opened[0].seq}) in its {differing} "
            "field; nothing was exported; run `evidencekit ledger verify`"
        )
    return parsed.case


def require_intact_lines(case: OpenCase, chosen: Sequence[str], *, full_ledger: bool, also: Sequence[int] = ()) -> None:
    """Every ledger line the bundle will carry still matches its stored leaf hash and chains to the stored
    entry before it, checked before anything is signed or recorded.

    The signed tree is made from the stored leaf hashes: a line whose bytes were changed without its hash
    would be shipped with an inclusion proof that fails. The checkpoint check made before signing covers
    only the entries after the newest checkpoint; this covers every line shipped.
    """
    wanted, extra = set(chosen), set(also)
    before: StoredRow | None = None
    for row in case.ledger.rows():
        try:
            entry = LedgerEntry.from_raw(row.raw)
        except ValidationError as exc:
            raise IntegrityError(
                f"ledger entry seq {row.seq} is damaged ({exc}); nothing was exported; run `evidencekit ledger verify`"
            ) from None
        # The checkpoints and token records a bundle may carry for independent time (``exporttime``) too,
        # and ``also``: the entries of the watches whose series it carries (``exportseries``).
        if full_ledger or _concerns(entry, wanted) or entry.action in _TIME_LINES or entry.seq in extra:
            if entry_leaf_hash(row.raw).hex() != row.leaf_hash:
                raise IntegrityError(
                    f"ledger entry seq {row.seq} no longer matches its recorded hash; nothing was exported; "
                    "run `evidencekit ledger verify`"
                )
            link = None if before is None else f"blake3:{before.leaf_hash}"
            if entry.seq != row.seq or entry.prev != link:
                raise IntegrityError(
                    f"ledger entry seq {row.seq} does not chain to the entry before it; nothing was exported; "
                    "run `evidencekit ledger verify`"
                )
        before = row


def plan_export(
    case: OpenCase,
    checkpoint_entry: LedgerEntry,
    items: Sequence[str],
    *,
    created: str,
    facts: CaseInfo | None = None,
    full_ledger: bool = False,
    recipient: str | None = None,
    purpose: str | None = None,
    report_pdf: bool = True,
    exhibit_prefix: str = "",
    paper: str = "a4",
    time: BundleTime | None = None,
    time_lines: Sequence[int] = (),
    analysis_seqs: Sequence[int] = (),
    series_seqs: Sequence[int] = (),
) -> ExportPlan:
    """The plan stage: what the bag of ``items`` holds, proven against ``checkpoint_entry``'s checkpoint.

    ``facts``: the case facts the bag states (``case_of_record``; found from the ledger when not given).
    ``time``: the tokens it carries (``exporttime.bundle_time``), whose ledger entries at ``time_lines`` join
    the excerpt. ``analysis_seqs``: the ``analysis.recorded`` entry this export recorded and its seal, which
    join it too (with the analysis's exhibits under data/analysis/). ``series_seqs``: the entries of the watches
    whose series the bundle carries (``exportseries.watch_seqs``).
    """
    if case.key is None:
        raise KeyMissingError("exporting needs a signing key: run `evidencekit keys generate`")
    with reading_evidence(f"the checkpoint recorded at seq {checkpoint_entry.seq}"):
        note = SignedNote.parse(str(checkpoint_entry.details["note"]))
        checkpoint = Checkpoint.parse(note.body)
    entries = [e for e in case.ledger.entries() if e.seq < checkpoint.size]
    grouped = group_items(entries)
    chosen = set(items)
    added = set(time_lines) | set(analysis_seqs) | set(series_seqs)
    lines = [(e.seq, e.raw) for e in entries if full_ledger or _concerns(e, chosen) or e.seq in added]
    numbers = {item_id: n for n, item_id in enumerate(grouped, start=1)}
    export_items = []
    for item_id in items:
        item_entries = grouped[item_id]
        artefacts: list[tuple[Artefact, Path]] = [
            (a, case.store.path_for(a.digests.blake3)) for e in item_entries for a in e.artefacts
        ]
        kind = item_kind(item_entries[0].action) or "unknown"
        export_items.append(
            ExportItem(item_id, kind, item_entries, artefacts, item_metadata(item_id, item_entries), numbers[item_id])
        )
    keys = list(registered_keys(entries).values())
    carried = {seq for seq, _ in lines}
    analysis = shipped_analysis([e for e in entries if e.seq in carried])
    shipped = [(a, case.store.path_for(a.digests.blake3)) for a in analysis.artefacts] if analysis else []
    return ExportPlan(
        case=facts if facts is not None else case_of_record(case),
        items=export_items,
        ledger_lines=lines,
        tree=case.ledger.tree(),
        note=note,
        checkpoint=checkpoint,
        keys=keys,
        signer=case.key,
        created=created,
        software=f"evidencekit {__version__}",
        recipient=recipient,
        purpose=purpose,
        report_pdf=report_pdf,
        exhibit_prefix=exhibit_prefix,
        paper=paper,
        time=time if time is not None else BundleTime(),
        analysis=shipped,
    )


def exported_seqs(
    case: OpenCase, size: int, chosen: Sequence[str], *, full_ledger: bool, also: Sequence[int] = ()
) -> list[int]:
    """The seqs of the ledger lines the bundle of ``chosen`` carries under a checkpoint of ``size`` entries
    (``also``: lines it carries besides, such as its analysis.recorded entry)."""
    wanted, extra = set(chosen), set(also)
    return [
        e.seq for e in case.ledger.entries() if e.seq < size and (full_ledger or _concerns(e, wanted) or e.seq in extra)
    ]


def _build(
    case: OpenCase,
    plan: ExportPlan,
    out: Path,
    *,
    as_dir: bool,
    printer: PdfPrinter | None,
    exhibits: ExhibitPrinter | None,
) -> ExportResult:
    """The bag, stage by stage; a failing stage leaves nothing behind (``BagBuilder``), and a killed export's
    staging folder is removed by the next recording command (``OpenCase.owns``)."""
    with BagBuilder(plan, out, as_dir=as_dir) as bag:
        case.owns(bag.staging)
        bag.write_payload()
        bag.write_documents(printer=printer, exhibit_printer=exhibits)
        bag.write_manifests()
        bag.sign()
        return bag.move_into_place()


def export_bundle(
    session: Session,
    out: Path,
    *,
    items: Sequence[str] = (),
    everything: bool = False,
    as_dir: bool = False,
    recipient: str | None = None,
    purpose: str | None = None,
    full_ledger: bool = False,
    pdf: bool = True,
    browser: Path | None = None,
    exhibit_prefix: str | None = None,
    paper: str = "a4",
    include_across: Sequence[Path] = (),
    whole_series: bool = True,
    disclose_accounts: bool = False,
) -> ExportOutcome:
    """Write the bundle of the chosen items to ``out``; ``pdf=False`` leaves report.pdf and the exhibit PDFs
    out, and says so. Exhibits are numbered ``exhibit_prefix`` + the item's place in the case (default prefix
    from the case id), printed on ``paper`` ("a4" or "letter"). ``include_across``: other case folders, read
    read-only, whose items linked to the exported ones the recorded analysis (and so the bundle) names.
    An item of a watched URL's series brings the series' other items along unless ``whole_series`` is False
    (``--no-series``: the bundle is an excerpt of the series, as it and ``verify`` say). The account a profile
    was logged in as is named in the documents only with ``disclose_accounts`` (``exportaccounts``)."""
    if exhibit_prefix is not None:
        check_exhibit_prefix(exhibit_prefix)
    if paper not in PAPER_FORMATS:
        raise UsageError(f"--paper must be one of {', '.join(PAPER_FORMATS)}, not {paper!r}")
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} already exists; choose a new name (a bundle is never overwritten)")
    with open_case(session) as case:
        if case.key is None:
            raise KeyMissingError(
                f"exporting needs a signing key; none in {keys_dir(session.environ)}: run `evidencekit keys generate`"
            )
        every_entry = list(case.ledger.entries())
        grouped = group_items(every_entry)
        selection = select_with_series(
            every_entry, _choose_items(grouped, items, everything), list(grouped), whole=whole_series
        )
        chosen = list(selection.items)
        series_seqs = watch_seqs(every_entry, selection.watches)
        _require_objects(case, ((item_id, grouped[item_id]) for item_id in chosen))
        require_intact_lines(case, chosen, full_ledger=full_ledger, also=series_seqs)
        facts = case_of_record(case)
        printer = pdf_printer(browser, session.environ) if pdf else None
        exhibits = exhibit_printer(browser, session.environ) if pdf else None
        prefix = exhibit_prefix if exhibit_prefix is not None else default_exhibit_prefix(facts.case_id)
        analysis = analyse_links(case, session, chosen, across=include_across)
        with case.ledger.transaction() as txn:
            # The analysis is sealed by a checkpoint of its own, as every recording command seals its entries
            # (a bundle's excerpt holds that seal; the bundle's checkpoint, next, is not among its lines).
            analysis_entry = txn.append(analysis.draft)
            seal(case, txn)
            analysis_seqs = [e.seq for e in txn.appended]
            checkpoint_entry = sign_within(case, txn, case.key)
        publish_checkpoints(case, txn)
        # Independent time: the TSAs are asked for this checkpoint (bounded by their timeout; never when
        # offline), and the bundle carries their tokens and those of the earlier checkpoints covering its lines.
        asked = stamp_export_checkpoint(case)
        time, time_lines = bundle_time(
            case,
            checkpoint_entry,
            exported_seqs(
                case, checkpoint_entry.seq, chosen, full_ledger=full_ledger, also=[*analysis_seqs, *series_seqs]
            ),
            asked=asked,
        )
        plan = plan_export(
            case,
            checkpoint_entry,
            chosen,
            recipient=recipient,
            purpose=purpose,
            full_ledger=full_ledger,
            created=format_time(session.clock()),
            facts=facts,
            report_pdf=pdf,
            exhibit_prefix=prefix,
            paper=paper,
            time=time,
            time_lines=time_lines,
            analysis_seqs=analysis_seqs,
            series_seqs=series_seqs,
        )
        # Independent time for the documents (documents.timefacts): the tokens the bundle carries, checked.
        carried = {token.entry_seq for checkpoint in time.checkpoints for token in checkpoint.tokens}
        plan = replace(plan, time_evidence=document_time(case, session.environ, carried), series=selection.declarations)
        if disclose_accounts:
            salt = case_salt(session.environ, case.info.case_uuid)  # to tie a disclosed check to its record
            plan = replace(plan, accounts=disclosed_accounts(session.environ, plan.items, salt))
        result = _build(case, plan, out, as_dir=as_dir, printer=printer, exhibits=exhibits)
        details = {
            "bundle": out.name,
            "path": str(out.resolve()),
            "format": "bagit-1.0 directory" if as_dir else "bagit-1.0 zip",
            "tag_manifest_sha256": "sha256:" + result.bag.tag_manifest_sha256,
            "tag_manifest_blake3": "blake3:" + result.bag.tag_manifest_blake3,
            "payload_oxum": result.bag.payload_oxum,
            "items": chosen,
            "checkpoint": {"tree_size": plan.checkpoint.size, "root": "blake3:" + plan.checkpoint.root.hex()},
            "full_ledger": full_ledger,
            "report_pdf": pdf,
            # Each item's exhibit PDF by its number (the same in every export: prefix + the item's place in the
            # case) and the paper they are printed on; none when --no-pdf leaves the PDFs out (none was made).
            **({"exhibits": {item.item_id: plan.exhibit(item) for item in plan.items}, "paper": paper} if pdf else {}),
            "recipient": recipient,
            "purpose": purpose,
            **(
                {"accounts_disclosed": sorted(i for i, a in plan.accounts.items() if a.get("account"))}
                if disclose_accounts
                else {}
            ),
            **({"series": said} if (said := selection.details()) is not None else {}),
        }
        with case.ledger.transaction() as txn:
            export_entry = txn.append(EntryDraft("export.created", case.actor, details=details))
            transfer = None
            if recipient:
                transfer = txn.append(
                    EntryDraft(
                        "custody.transferred",
                        case.actor,
                        details={
                            "recipient": recipient,
                            "purpose": purpose,
                            "bundle": out.name,
                            "tag_manifest_sha256": details["tag_manifest_sha256"],
                            "items": chosen,
                        },
                    )
                )
            seal(case, txn)
        publish_checkpoints(case, txn)
        exhibit_files = {item.item_id: exhibit_path(plan.exhibit(item)) for item in plan.items} if pdf else {}
        return ExportOutcome(
            result, export_entry, transfer, tuple(chosen), pdf, exhibit_files, analysis_entry, selection
        )
