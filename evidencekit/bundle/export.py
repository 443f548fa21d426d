"""Build an evidence bundle, a BagIt 1.0 bag (folder or zip) for prosecutors, in stages.

The export workflow gathers what the case holds into an ``ExportPlan`` and drives a ``BagBuilder``
through its stages, in this order:

1. ``write_payload``: each item's artefacts, copied from the store while re-hashed (so altered evidence is
   never shipped), its metadata.json, the exhibit images of the links the export recorded (data/analysis/,
   the artefacts of its ``analysis.recorded`` entry), and the custody files (ledger excerpt, proofs,
   checkpoint, keys);
2. ``write_documents``: the files made from that payload: a WACZ per web capture, VERIFY.txt, the report
   (index.html, and report.pdf printed by the function the workflow hands over), an exhibit PDF per item
   (``data/exhibits/``, printed by the same browser), the draft certificates;
3. ``write_manifests``: refuses a bag that lacks a file ``required_files`` names or holds one it does not
   name, then writes bagit.txt, bag-info.txt and the payload manifests;
4. ``sign``: bundle-signature.txt (and its .body and .sig for openssl), then the tag manifests over every
   tag file, these three included;
5. ``move_into_place``: the folder renamed, or zipped, to ``out``, never overwriting anything.

A stage run out of order raises ``IncompleteBundleError``, and the private staging folder is removed on
any failure and on leaving the ``with`` block, so only a complete bag ever reaches ``out``. This module
never prints: the report's PDF comes from the caller's ``PdfPrinter`` (bundle never imports capture).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.bundle.baginfo import bag_info
from evidencekit.bundle.bagit import BagSummary, check_payload_path, write_payload_tags, write_tag_manifests
from evidencekit.bundle.derived import METADATA_NAME, capture_warc, metadata_bytes, wacz_facts
from evidencekit.bundle.documents.certificates import BSA_FILE, FRE_FILE, render_certificates
from evidencekit.bundle.documents.exhibits import ExhibitPrinter, write_exhibits
from evidencekit.bundle.documents.facts import gather_facts
from evidencekit.bundle.documents.instructions import verify_instructions
from evidencekit.bundle.documents.report import print_layout, render_report
from evidencekit.bundle.documents.timefacts import TimeEvidence
from evidencekit.bundle.layout import (
    CHECKPOINT,
    CHECKPOINT_BODY,
    CHECKPOINT_SIG,
    LEDGER,
    PAYLOAD,
    PROOFS,
    REPORT_HTML,
    REPORT_PDF,
    VERIFY_TXT,
    WACZ_NAME,
    analysis_path,
    artefact_path,
    certificate_path,
    default_exhibit_prefix,
    exhibit_label,
    exhibit_path,
    key_path,
)
from evidencekit.bundle.signature import sign_bundle, write_statement
from evidencekit.bundle.timestamps import BundleTime, time_files
from evidencekit.bundle.wacz import WaczPage, build_wacz
from evidencekit.bundle.zipbag import zip_bag
from evidencekit.errors import ObjectMismatchError, OperationalError, UsageError
from evidencekit.fsutil import fsync_dir, link_into_place
from evidencekit.hashing import Digests, hash_bytes, hash_file, hash_stream
from evidencekit.keys import PublicKey, SigningKey
from evidencekit.ledger.merkle import MerkleTree
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.models import Artefact, CaseInfo, LedgerEntry

# Prints a self-contained HTML file (first path) to a new PDF file (second path).
PdfPrinter = Callable[[Path, Path], None]

_STAGES = ("started", "payload", "documents", "manifests", "signed", "placed")


class IncompleteBundleError(OperationalError):
    """The bag under construction lacks a file every bundle must hold, or a stage ran out of order."""


@dataclass(frozen=True)
class ExportItem:
    item_id: str
    kind: str
    entries: Sequence[LedgerEntry]
    artefacts: Sequence[tuple[Artefact, Path]]
    metadata: Mapping[str, Any]
    # The item's place among all the case's items (1-based, in the order the ledger recorded them): fixed
    # for good, since items are never removed; its exhibit number is ``layout.exhibit_label(prefix, number)``.
    number: int = 0


@dataclass(frozen=True)
class ExportPlan:
    case: CaseInfo
    items: Sequence[ExportItem]
    ledger_lines: Sequence[tuple[int, bytes]]
    tree: MerkleTree
    note: SignedNote
    checkpoint: Checkpoint
    keys: Sequence[PublicKey]
    signer: SigningKey
    created: str
    software: str
    recipient: str | None = None
    purpose: str | None = None
    # False only for `export --no-pdf`: bag-info.txt, VERIFY.txt and the report then say the PDF was omitted.
    report_pdf: bool = True
    # Exhibit labels are this prefix and each item's number (``export --exhibit-prefix``; default from the
    # case id), printed on paper of this size (``export --paper``: "a4" or "letter").
    exhibit_prefix: str = ""
    paper: str = "a4"
    # The tokens of independent time the bag carries under data/custody/timestamps/ (``bundle.timestamps``).
    time: BundleTime = field(default_factory=BundleTime)
    # The exhibit images of the excerpt's analysis.recorded entry (``derived.shipped_analysis``) and where the
    # case stores them; they go to data/analysis/.
    analysis: Sequence[tuple[Artefact, Path]] = ()
    # Independent time (RFC 3161): the case's timestamp entries and each token's verdict, which the documents
    # state (``documents.timefacts``); None: not checked, and the documents say so.
    time_evidence: TimeEvidence | None = None
    # What bag-info.txt declares of each watched URL's series the bundle touches (``Series-Declaration``: whole
    # or excerpt, the captures and observations it carries, the captures left out), held to by ``verify``.
    series: Sequence[Mapping[str, Any]] = ()
    # ``export --disclose-accounts``: item id -> the account its profile was logged in as, with the key that
    # reproduces the ledger's commitment (``workflows.exportaccounts``). Empty: no account names in the bundle.
    accounts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def exhibit(self, item: ExportItem) -> str:
        return exhibit_label(self.exhibit_prefix or default_exhibit_prefix(self.case.case_id), item.number)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    bag: BagSummary
    files: int


def _warc_of(item: ExportItem) -> Artefact | None:
    return capture_warc(item.entries)


def required_files(plan: ExportPlan) -> list[str]:
    """Every payload file the bag for ``plan`` must hold, and the only ones it may hold."""
    files = []
    for item in plan.items:
        names = {a.name for a, _ in item.artefacts} | {METADATA_NAME}
        if _warc_of(item) is not None:
            names.add(WACZ_NAME)
        files += [artefact_path(item.item_id, name) for name in names]
    files += [analysis_path(artefact.name) for artefact, _ in plan.analysis]
    files += [LEDGER, PROOFS, CHECKPOINT, CHECKPOINT_BODY, CHECKPOINT_SIG]
    files += [key_path(key.key_id, suffix) for key in plan.keys for suffix in ("json", "pem")]
    files += [f.rel for f in time_files(plan.time, plan.checkpoint.size)]
    files += [VERIFY_TXT, REPORT_HTML, *([REPORT_PDF] if plan.report_pdf else [])]
    # The exhibits are printed by the same Chromium as report.pdf, and left out with it (--no-pdf).
    files += [exhibit_path(plan.exhibit(item)) for item in plan.items] if plan.report_pdf else []
    files += [certificate_path(name) for name in (FRE_FILE, BSA_FILE)]
    return sorted(files)


class _Payload:
    """Writes payload files under the bag root and remembers their digests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.digests: dict[str, Digests] = {}

    def _target(self, rel: str) -> Path:
        check_payload_path(rel)
        if rel in self.digests:
            raise UsageError(f"two artefacts would both be written to {rel}")
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add_bytes(self, rel: str, data: bytes) -> None:
        self._target(rel).write_bytes(data)
        self.digests[rel] = hash_bytes(data)

    def adopt(self, rel: str) -> None:
        """Take in a file already written at ``rel`` under the bag root (a WACZ, the PDF)."""
        check_payload_path(rel)
        if rel in self.digests:
            raise UsageError(f"two derived files would both be written to {rel}")
        self.digests[rel] = hash_file(self.root / rel)

    def add_file(self, rel: str, source: Path, expected: Digests) -> None:
        target = self._target(rel)
        try:
            src = source.open("rb")
        except OSError as exc:
            raise ObjectMismatchError(
                f"stored object {source.name} for {rel} cannot be read from the case ({exc.strerror or exc}); "
                "nothing was exported; run `evidencekit ledger verify`"
            ) from None
        with src, target.open("xb") as out:
            digests = hash_stream(src, sink=out.write)
        if digests != expected:
            raise ObjectMismatchError(
                f"stored object for {rel} no longer matches its ledger record; run `evidencekit ledger verify`"
            )
        self.digests[rel] = digests


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class BagBuilder:
    """One bag under construction in a private staging folder beside ``out``; use it as a context manager."""

    def __init__(self, plan: ExportPlan, out: Path, *, as_dir: bool) -> None:
        if out.exists() or out.is_symlink():
            raise UsageError(f"{out} already exists; choose a new name (a bundle is never overwritten)")
        self.plan, self.out, self.as_dir = plan, out, as_dir
        self.parent = out.parent if str(out.parent) else Path()
        self.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=self.parent))
        self.bag_name = out.name if as_dir else out.stem
        self.root = self.staging / self.bag_name
        self.root.mkdir()
        self.payload = _Payload(self.root)
        self._stage = "started"
        self._oxum = ""
        self._summary: BagSummary | None = None

    def __enter__(self) -> BagBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    @contextmanager
    def _stage_after(self, previous: str) -> Iterator[None]:
        """Run the stage that follows ``previous``; on any failure the staging folder goes, whole."""
        stage = _STAGES[_STAGES.index(previous) + 1]
        if self._stage != previous:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise IncompleteBundleError(
                f"the bundle's {stage} stage cannot run after its {self._stage} stage (it must follow the "
                f"{previous} stage); nothing was exported"
            )
        try:
            yield
        except BaseException:
            shutil.rmtree(self.staging, ignore_errors=True)
            self._stage = "failed"
            raise
        self._stage = stage

    def write_payload(self) -> None:
        with self._stage_after("started"):
            for item in self.plan.items:
                names: dict[str, Artefact] = {}
                for artefact, source in item.artefacts:
                    if artefact.name not in names:
                        names[artefact.name] = artefact
                        self.payload.add_file(artefact_path(item.item_id, artefact.name), source, artefact.digests)
                    elif names[artefact.name].digests != artefact.digests:
                        # Entries of one item (a capture and its observation, say) share its folder.
                        raise IncompleteBundleError(
                            f"item {item.item_id} records two different files named {artefact.name}, which "
                            "cannot both be placed in its folder; nothing was exported"
                        )
                if METADATA_NAME not in names:
                    self.payload.add_bytes(artefact_path(item.item_id, METADATA_NAME), metadata_bytes(item.metadata))
            for artefact, source in self.plan.analysis:
                self.payload.add_file(analysis_path(artefact.name), source, artefact.digests)
            self._write_custody()

    def _write_custody(self) -> None:
        plan = self.plan
        self.payload.add_bytes(LEDGER, b"".join(raw + b"\n" for _, raw in plan.ledger_lines))
        proofs = {
            "format": "evidencekit-inclusion-proofs/1",
            "hash": "blake3",
            "leaf_hash": "BLAKE3(0x00 || canonical entry bytes), RFC 9162 section 2.1",
            "tree_size": plan.checkpoint.size,
            "root": "blake3:" + plan.checkpoint.root.hex(),
            "proofs": [
                {"seq": seq, "path": [node.hex() for node in plan.tree.inclusion_proof(seq, plan.checkpoint.size)]}
                for seq, _ in plan.ledger_lines
            ],
        }
        self.payload.add_bytes(PROOFS, _json_bytes(proofs))
        self.payload.add_bytes(CHECKPOINT, plan.note.text().encode("utf-8"))
        self.payload.add_bytes(CHECKPOINT_BODY, plan.note.body.encode("utf-8"))
        self.payload.add_bytes(CHECKPOINT_SIG, plan.note.signatures[0].signature)
        for key in plan.keys:
            self.payload.add_bytes(key_path(key.key_id, "json"), _json_bytes(key.to_dict()))
            self.payload.add_bytes(key_path(key.key_id, "pem"), key.pem().encode("ascii"))
        for file in time_files(plan.time, plan.checkpoint.size):
            if file.source is not None and file.digests is not None:  # a token, re-hashed as it is copied
                self.payload.add_file(file.rel, file.source, file.digests)
            elif file.data is not None:
                self.payload.add_bytes(file.rel, file.data)

    def write_documents(self, *, printer: PdfPrinter | None, exhibit_printer: ExhibitPrinter | None = None) -> None:
        """The WACZ files, VERIFY.txt, the report (and its PDF through ``printer``), the exhibit PDFs (through
        ``exhibit_printer``), the certificates.

        The printers may be None only for a plan made without the PDFs (``export --no-pdf``).
        """
        with self._stage_after("payload"):
            plan = self.plan
            if plan.report_pdf and printer is None:
                raise IncompleteBundleError("every bundle holds report.pdf, and no PDF printer was given")
            if plan.report_pdf and exhibit_printer is None:
                raise IncompleteBundleError("every bundle holds its exhibit PDFs, and no exhibit printer was given")
            for item in plan.items:
                self._write_wacz(item)
            # The report counts and lists the payload as it stood before the documents about it.
            known = dict(self.payload.digests)
            instructions = verify_instructions(plan)
            self.payload.add_bytes(VERIFY_TXT, instructions.encode("utf-8"))
            quoted = verify_instructions(plan, naming_the_case=False)
            facts = gather_facts(self.root, plan, known, quoted.splitlines())
            self.payload.add_bytes(REPORT_HTML, render_report(facts).encode("utf-8"))
            if plan.report_pdf and printer is not None:
                self._print_report(facts, printer)
            if plan.report_pdf and exhibit_printer is not None:
                # The HTML they are printed from stays in the staging folder, outside the bag.
                scratch = self.staging / "exhibits-html"
                timelines = facts.get("timelines") or ()
                for rel in write_exhibits(self.root, scratch, plan, facts["items"], exhibit_printer, timelines):
                    if (self.root / rel).is_file():
                        self.payload.adopt(rel)
            for name, text in sorted(render_certificates(facts).items()):
                self.payload.add_bytes(certificate_path(name), text.encode("utf-8"))

    def _print_report(self, facts: Mapping[str, Any], printer: PdfPrinter) -> None:
        """report.pdf, printed from the report's paper form (screenshots embedded, since the printer loads
        nothing but the one file), which is written beside the bag, never into it."""
        printed = self.staging / "report-print.html"
        layout = print_layout(self.plan.paper, self._read_payload)
        printed.write_text(render_report(facts, printing=layout), encoding="utf-8")
        printer(printed, self.root / REPORT_PDF)
        printed.unlink()
        if (self.root / REPORT_PDF).is_file():
            self.payload.adopt(REPORT_PDF)

    def _read_payload(self, rel: str) -> bytes | None:
        """A file this bag already holds (what the report embeds); None for any other path."""
        if rel not in self.payload.digests:
            return None
        try:
            return (self.root / rel).read_bytes()
        except OSError:
            return None

    def _write_wacz(self, item: ExportItem) -> None:
        warc = _warc_of(item)
        if warc is None:
            return
        plan = self.plan
        facts = wacz_facts(plan.case.case_id, item.item_id, item.entries, plan.created)
        rel = artefact_path(item.item_id, WACZ_NAME)
        check_payload_path(rel)
        build_wacz(
            self.root / artefact_path(item.item_id, warc.name),
            self.root / rel,
            pages=[WaczPage(url=facts.url, title=facts.page_title, ts=facts.page_ts)] if facts.url else [],
            title=facts.title,
            description=facts.description,
            software=plan.software,
            created=plan.created,
        )
        self.payload.adopt(rel)

    def write_manifests(self) -> None:
        with self._stage_after("documents"):
            self._check_complete()
            self._oxum = write_payload_tags(self.root, self.payload.digests, bag_info(self.plan))

    def _check_complete(self) -> None:
        """The bag holds exactly the files the plan requires: none missing, none unaccounted for."""
        required = set(required_files(self.plan))
        missing = sorted(rel for rel in required if rel not in self.payload.digests or not (self.root / rel).is_file())
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise IncompleteBundleError(
                f"the bundle lacks {missing[0]}{more}, which it must hold; nothing was exported"
            )
        on_disk = {
            (Path(folder) / name).relative_to(self.root).as_posix()
            for folder, _, names in os.walk(self.root / PAYLOAD)
            for name in names
        }
        unexpected = sorted((on_disk | set(self.payload.digests)) - required)
        if unexpected:
            raise IncompleteBundleError(
                f"the bundle would hold {unexpected[0]}, which no bundle holds; nothing was exported"
            )

    def sign(self) -> None:
        with self._stage_after("manifests"):
            plan = self.plan
            signed = sign_bundle(self.root, plan.case, [i.item_id for i in plan.items], plan.created, plan.signer)
            write_statement(self.root, signed)
            self._summary = write_tag_manifests(self.root, self._oxum, len(self.payload.digests))

    def move_into_place(self) -> ExportResult:
        with self._stage_after("signed"):
            assert self._summary is not None
            if self.out.exists() or self.out.is_symlink():
                raise UsageError(f"{self.out} already exists; choose a new name (a bundle is never overwritten)")
            if self.as_dir:
                self.root.rename(self.out)
            else:
                tmp_zip = self.staging / "bundle.zip"
                zip_bag(self.root, tmp_zip, self.bag_name)
                link_into_place(tmp_zip, self.out)
            fsync_dir(self.parent)
            shutil.rmtree(self.staging, ignore_errors=True)
            return ExportResult(self.out, self._summary, len(self.payload.digests))
