"""``data/VERIFY.txt``: how to check one bundle with evidencekit, and with standard tools alone.

Written from the export plan, before the report (which quotes it), so it names only what the bag holds:
a bundle exported with ``--no-pdf`` is said to have no ``report.pdf``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evidencekit.bundle.casefacts import verify_header
from evidencekit.bundle.layout import (
    CHECKPOINT,
    CHECKPOINT_BODY,
    CHECKPOINT_SIG,
    EXHIBITS,
    LEDGER,
    PROOFS,
    REPORT_HTML,
    REPORT_PDF,
    WACZ_NAME,
    artefact_path,
    key_path,
)

if TYPE_CHECKING:
    from evidencekit.bundle.export import ExportPlan

# The sentence the report, bag-info.txt and VERIFY.txt use for a bundle exported without its PDF.
PDF_OMITTED = "omitted at export (--no-pdf)"


def report_lines(plan: ExportPlan) -> str:
    """What the bag holds of the readable report, as VERIFY.txt says it."""
    first = f"The readable report: {REPORT_HTML} (opens in any browser, loads nothing from any network)"
    if plan.report_pdf:
        return (
            f"{first}\nand {REPORT_PDF}, the same page printed by Chromium. The report summarises the bundle;\n"
            "the evidence is the files the manifests list.\n"
            f"One exhibit PDF per item, printed by the same Chromium: {EXHIBITS}/<exhibit number>.pdf."
        )
    return (
        f"{first}.\nIts PDF copy was {PDF_OMITTED}: this bundle holds no {REPORT_PDF}; print\n"
        "the page from a browser if a paper copy is needed. The report summarises the bundle; the evidence\n"
        f"is the files the manifests list. The exhibit PDFs were {PDF_OMITTED} too: no {EXHIBITS}/."
    )


def verify_instructions(plan: ExportPlan, *, naming_the_case: bool = True) -> str:
    """The text of data/VERIFY.txt for the bundle ``plan`` describes.

    ``naming_the_case=False`` leaves out the lines naming the case, for the copy the report and the
    certificates quote: they state the case facts once, where ``verify`` checks them.
    """
    signer = plan.signer.public.key_id
    key_ids = ", ".join(k.key_id for k in plan.keys) or "(none)"
    case = verify_header(plan.case.to_dict()) if naming_the_case else ""
    return f"""HOW TO VERIFY THIS EVIDENCE BUNDLE
==================================

{case}Bundle made: {plan.created} (UTC) by {plan.software}
Signed checkpoint: tree size {plan.checkpoint.size}, root blake3:{plan.checkpoint.root.hex()}
Signed with key id: {signer}   (investigator keys recorded in the ledger: {key_ids})

{report_lines(plan)}

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

       openssl pkeyutl -verify -pubin -inkey {key_path(signer, "pem")} -rawin \\
           -in {CHECKPOINT_BODY} -sigfile {CHECKPOINT_SIG}

      "Signature Verified Successfully" means the checkpoint (origin, tree size, Merkle root) was
      signed by that key. {CHECKPOINT} is the same, in the C2SP signed-note format.

   d) Each ledger line in {LEDGER} is included in that signed Merkle tree: the
      inclusion proofs are in {PROOFS} (RFC 9162 section 2.1.3, hash BLAKE3, leaf
      hash = BLAKE3(0x00 || line bytes without the newline)). evidencekit verify checks them; any
      RFC 9162 implementation can.

   e) Web captures: each {WACZ_NAME} opens in any WACZ player (for example ReplayWeb.page, offline)
      and can be validated with: wacz validate -f {artefact_path("<item>", WACZ_NAME)}

What a failure means: any changed, missing or added file, any edited ledger line or proof, or a key
that is not the one recorded in the ledger is reported by name; the bundle must then not be relied on
without an explanation from its sender.
"""
