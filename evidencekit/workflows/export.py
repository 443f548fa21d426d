"""Export and verify bundles: the prosecutor-facing workflows.

``export_bundle`` signs a fresh checkpoint first (so every proof ends at the newest tree head), builds
the bag, then records ``export.created`` (with the bag's tag-manifest digest) and, with a recipient,
``custody.transferred``. ``verify_bundle`` needs no case and no browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit import __version__
from evidencekit.bundle.documents.certificates import render_certificates
from evidencekit.bundle.documents.facts import gather_facts
from evidencekit.bundle.documents.report import render_report
from evidencekit.bundle.export import ExportItem, ExportPlan, ExportResult, build_bundle
from evidencekit.bundle.layout import (
    REPORT_HTML,
    REPORT_PDF,
    VERIFY_TXT,
    WACZ_NAME,
    artefact_path,
    certificate_path,
)
from evidencekit.bundle.wacz import WaczPage, build_wacz
from evidencekit.errors import KeyMissingError, ObjectMismatchError, UsageError
from evidencekit.hashing import Digests, hash_file
from evidencekit.keys import PublicKey, keys_dir
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.models import Artefact, EntryDraft, LedgerEntry
from evidencekit.timefmt import format_time
from evidencekit.workflows.opencase import (
    OpenCase,
    Session,
    group_items,
    open_case,
    publish_checkpoints,
    seal,
    sign_within,
)

# Turns the bag root and the payload so far into further payload files (report, PDF, WACZ, certificates).
Deriver = Callable[[Path, ExportPlan, Mapping[str, Digests]], Sequence[str]]

ALWAYS_EXPORTED = ("case.opened", "key.registered", "case.configured")
# Earlier hand-overs of an item belong to its custody log; these entries name their items in details.items.
TRANSFERS = ("export.created", "custody.transferred")


@dataclass(frozen=True)
class ExportOutcome:
    result: ExportResult
    export_entry: LedgerEntry
    transfer_entry: LedgerEntry | None
    items: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.result.path),
            "items": list(self.items),
            "files": self.result.files,
            "payload_oxum": self.result.bag.payload_oxum,
            "tag_manifest_sha256": "sha256:" + self.result.bag.tag_manifest_sha256,
            "export_entry": self.export_entry.to_dict(),
            "transfer_entry": self.transfer_entry.to_dict() if self.transfer_entry else None,
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


def _kind(first: LedgerEntry) -> str:
    return {"file.added": "file", "folder.added": "folder"}.get(first.action, "capture")


def _item_metadata(item_id: str, entries: Sequence[LedgerEntry]) -> dict[str, Any]:
    first = entries[0]
    return {
        "item_id": item_id,
        "kind": _kind(first),
        "recorded": first.time,
        "recorded_tz": first.tz,
        "recorded_by": first.actor.to_dict(),
        "details": dict(first.details),
        "artefacts": [a.to_dict() for e in entries for a in e.artefacts],
        "ledger_seqs": [e.seq for e in entries],
    }


def _concerns(entry: LedgerEntry, chosen: set[str]) -> bool:
    """Whether an entry belongs to the custody log of the chosen items."""
    if entry.subject in chosen or entry.action in ALWAYS_EXPORTED:
        return True
    named = entry.details.get("items") if entry.action in TRANSFERS else None
    return isinstance(named, list) and not chosen.isdisjoint(i for i in named if isinstance(i, str))


def _require_objects(case: OpenCase, item_entries: Iterable[tuple[str, Sequence[LedgerEntry]]]) -> None:
    """Every stored object the export needs is there, checked before anything is signed or recorded."""
    for item_id, entries in item_entries:
        for artefact in (a for e in entries for a in e.artefacts):
            if not case.store.path_for(artefact.digests.blake3).is_file():
                raise ObjectMismatchError(
                    f"stored object {artefact.digests.blake3_tagged} ({artefact.name}) of item {item_id} is missing "
                    "from the case; nothing was exported; run `evidencekit ledger verify`"
                )


def _plan(case: OpenCase, checkpoint_entry: LedgerEntry, items: list[str], **options: Any) -> ExportPlan:
    note = SignedNote.parse(str(checkpoint_entry.details["note"]))
    checkpoint = Checkpoint.parse(note.body)
    entries = [e for e in case.ledger.entries() if e.seq < checkpoint.size]
    grouped = group_items(entries)
    chosen = set(items)
    full = bool(options.pop("full_ledger"))
    lines = [(e.seq, e.raw) for e in entries if full or _concerns(e, chosen)]
    export_items = []
    for item_id in items:
        item_entries = grouped[item_id]
        artefacts: list[tuple[Artefact, Path]] = [
            (a, case.store.path_for(a.digests.blake3)) for e in item_entries for a in e.artefacts
        ]
        kind = _kind(item_entries[0])
        export_items.append(ExportItem(item_id, kind, item_entries, artefacts, _item_metadata(item_id, item_entries)))
    keys = [PublicKey.from_dict(dict(e.details["public_key"])) for e in entries if e.action == "key.registered"]
    assert case.key is not None
    return ExportPlan(
        case=case.info,
        items=export_items,
        ledger_lines=lines,
        tree=case.ledger.tree(),
        note=note,
        checkpoint=checkpoint,
        keys=keys,
        signer=case.key,
        software=f"evidencekit {__version__}",
        **options,
    )


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
    derive: Deriver | None = None,
) -> ExportOutcome:
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} already exists; choose a new name (a bundle is never overwritten)")
    with open_case(session) as case:
        if case.key is None:
            raise KeyMissingError(
                f"exporting needs a signing key; none in {keys_dir(session.environ)}: run `evidencekit keys generate`"
            )
        grouped = group_items(list(case.ledger.entries()))
        chosen = _choose_items(grouped, items, everything)
        _require_objects(case, ((item_id, grouped[item_id]) for item_id in chosen))
        with case.ledger.transaction() as txn:
            checkpoint_entry = sign_within(case, txn, case.key)
        publish_checkpoints(case, txn)
        plan = _plan(
            case,
            checkpoint_entry,
            chosen,
            recipient=recipient,
            purpose=purpose,
            full_ledger=full_ledger,
            created=format_time(session.clock()),
        )
        deriver = (lambda root, digests: derive(root, plan, digests)) if derive is not None else None
        result = build_bundle(plan, out, as_dir=as_dir, add_derived=deriver)
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
            "recipient": recipient,
            "purpose": purpose,
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
        return ExportOutcome(result, export_entry, transfer, tuple(chosen))


def verify_instructions(plan: ExportPlan) -> str:
    """data/VERIFY.txt: how to check this bundle with evidencekit, and with standard tools alone."""
    signer = plan.signer.public.key_id
    key_ids = ", ".join(k.key_id for k in plan.keys) or "(none)"
    return f"""HOW TO VERIFY THIS EVIDENCE BUNDLE
==================================

Case {plan.case.case_id}: {plan.case.title}
Investigator: {plan.case.investigator}   Agency: {plan.case.agency or "(not stated)"}
Bundle made: {plan.created} (UTC) by {plan.software}
Signed checkpoint: tree size {plan.checkpoint.size}, root blake3:{plan.checkpoint.root.hex()}
Signed with key id: {signer}   (investigator keys recorded in the ledger: {key_ids})

All commands below are run from the bag's top folder (the one holding bagit.txt). If you received a
zip file, unzip it first (for example: unzip bundle.zip). Nothing needs a network connection.

1. With evidencekit (checks everything below, and more, in one step; exit code 0 = intact, 3 = not):

       evidencekit verify bundle.zip --key KEYID        (or the unzipped folder)

   KEYID is the investigator's published key id, obtained out of band, never from this bundle: for
   example, the investigator reads you the "Key id" line of `evidencekit keys show` over the phone, or
   states it in a signed letter. It must be {signer}, the key that signed this bundle. The bundle
   carries its own public keys, so without --key it shows only that it is intact and consistent, not
   who made it: anyone can make a consistent bundle under a new key and any name. --key also takes
   the investigator's public key file (.pem or .json), and may be given more than once.

2. With standard tools alone:

   a) Every payload file against its SHA-256 and BLAKE3 digests:

       sha256sum -c manifest-sha256.txt
       b3sum --check manifest-blake3.txt

   b) The BagIt bag as a whole (RFC 8493: manifests, Payload-Oxum, completeness), with the Library of
      Congress bagit tool (pip install bagit):

       python -m bagit --validate .

   c) The investigator's Ed25519 signature of the custody checkpoint, with OpenSSL 3:

       openssl pkeyutl -verify -pubin -inkey data/custody/keys/{signer}.pem -rawin \\
           -in data/custody/checkpoint.body -sigfile data/custody/checkpoint.sig

      "Signature Verified Successfully" means the checkpoint (origin, tree size, Merkle root) was
      signed by that key. data/custody/checkpoint is the same, in the C2SP signed-note format.

   d) Each ledger line in data/custody/ledger.jsonl is included in that signed Merkle tree: the
      inclusion proofs are in data/custody/proofs.json (RFC 9162 section 2.1.3, hash BLAKE3, leaf
      hash = BLAKE3(0x00 || line bytes without the newline)). evidencekit verify checks them; any
      RFC 9162 implementation can.

   e) Web captures: each capture.wacz opens in any WACZ player (for example ReplayWeb.page, offline)
      and can be validated with: wacz validate -f data/items/<item>/capture.wacz

What a failure means: any changed, missing or added file, any edited ledger line or proof, or a key
that is not the one recorded in the ledger is reported by name; the bundle must then not be relied on
without an explanation from its sender.
"""


def _write(root: Path, rel: str, data: bytes) -> str:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return rel


def _warc_of(item: ExportItem) -> tuple[Artefact, Path] | None:
    """The WARC a web capture recorded; files added by hand are never treated as captures, whatever their name."""
    if item.kind != "capture":
        return None
    return next(((a, p) for a, p in item.artefacts if a.role == "warc"), None)


def _write_wacz(root: Path, plan: ExportPlan, item: ExportItem) -> str | None:
    found = _warc_of(item)
    if found is None:
        return None
    artefact, _ = found
    details = next((dict(e.details) for e in item.entries if e.action == "capture.completed"), {})
    started = next((e.time for e in item.entries if e.action == "capture.started"), plan.created)
    url = str(details.get("final_url") or details.get("url") or "")
    rel = artefact_path(item.item_id, WACZ_NAME)
    build_wacz(
        root / artefact_path(item.item_id, artefact.name),
        root / rel,
        pages=[WaczPage(url=url, title=details.get("title"), ts=started)] if url else [],
        title=f"{plan.case.case_id} {item.item_id}",
        description=f"Web capture {item.item_id} of case {plan.case.case_id}: {url}",
        software=plan.software,
        created=plan.created,
    )
    return rel


def derive_bundle_files(
    root: Path, plan: ExportPlan, digests: Mapping[str, Digests], *, environ: Mapping[str, str], pdf: bool = True
) -> list[str]:
    """The files made from the payload: a WACZ per web capture, VERIFY.txt, the report (HTML and PDF
    printed by the same Chromium) and the draft certificates."""
    written = []
    known = dict(digests)
    for item in plan.items:
        rel = _write_wacz(root, plan, item)
        if rel is not None:
            written.append(rel)
            known[rel] = hash_file(root / rel)
    instructions = verify_instructions(plan)
    written.append(_write(root, VERIFY_TXT, instructions.encode("utf-8")))
    facts = gather_facts(root, plan, known, instructions.splitlines())
    html_rel = _write(root, REPORT_HTML, render_report(facts).encode("utf-8"))
    written.append(html_rel)
    if pdf:
        # Imported here: Playwright loads only when a PDF is printed, never for `verify`.
        from evidencekit.capture.printing import print_pdf

        print_pdf(root / html_rel, root / REPORT_PDF, browser_path=None, environ=environ)
        written.append(REPORT_PDF)
    for name, text in sorted(render_certificates(facts).items()):
        written.append(_write(root, certificate_path(name), text.encode("utf-8")))
    return written
