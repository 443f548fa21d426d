"""The signed bundle statement, in both forms: ``bundle-signature.txt`` (the signed note) and
``bundle-signature.body`` with ``bundle-signature.sig`` (the text and raw signature openssl checks).

The statement names the digests of bagit.txt, bag-info.txt and both payload manifests and the items the
bundle holds; it must match the bag as it is and be signed by a bundled key the ledger records as an
investigator's (and, given ``--key``, by one of those keys). The openssl form must be the same text and a
signature that such a key verifies over it: a reader who checks only with standard tools sees those two
files, so a difference between them and the note is a problem, never a detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evidencekit.bundle.check.trust import TrustAnchor, signed_by_anchor
from evidencekit.bundle.findings import BundleReport
from evidencekit.bundle.layout import BUNDLE_SIGNATURE, BUNDLE_SIGNATURE_BODY, BUNDLE_SIGNATURE_SIG, item_folder
from evidencekit.bundle.signature import BundleStatement, raw_form_problems, statement_problems
from evidencekit.keys import PublicKey
from evidencekit.models import Problem


def check_statement(
    root: Path,
    statement: BundleStatement,
    trusted: Sequence[PublicKey],
    anchors: Sequence[TrustAnchor],
    present_items: set[str],
    report: BundleReport,
) -> None:
    report.checks.append(f"{BUNDLE_SIGNATURE}: the signed bag declaration, bag-info, manifests and items")
    for problem in statement_problems(root, statement, trusted):
        report.add("bundle.signature", problem, path=BUNDLE_SIGNATURE)
    if anchors and not signed_by_anchor(statement.note, trusted, anchors):
        report.add(
            "key.untrusted", "the bundle signature is by none of the keys given with --key", path=BUNDLE_SIGNATURE
        )
    for item in sorted(set(statement.items) - present_items):
        report.add("item.missing", f"item {item} was exported but is not in the bundle", path=item_folder(item))
    report.checks.append(
        f"{BUNDLE_SIGNATURE_BODY} and {BUNDLE_SIGNATURE_SIG} (for openssl): the signed text and signature of "
        f"{BUNDLE_SIGNATURE}"
    )
    # The raw signature must be by a key that signed the note (and, with --key, is one of those keys). When
    # there is none, the note's own problem is reported above; the raw form is then held to the note alone.
    signers = [
        key
        for key in trusted
        if statement.note.verify_with(key) and (not anchors or any(anchor.matches(key) for anchor in anchors))
    ]
    raw_absent = not (root / BUNDLE_SIGNATURE_BODY).exists() and not (root / BUNDLE_SIGNATURE_SIG).exists()
    if raw_absent and not statement.names_both_digests:
        # The statement itself (signed, so no one can change its form) says the bundle was made before the
        # openssl form existed: nothing is missing, only the standard-tools check of the statement is.
        report.warnings.append(
            Problem(
                "bundle.signature_openssl_form",
                f"made by an earlier evidencekit: no {BUNDLE_SIGNATURE_BODY} / {BUNDLE_SIGNATURE_SIG}, so the "
                "signed statement can be checked with evidencekit verify but not with openssl",
                path=BUNDLE_SIGNATURE,
            )
        )
        return
    for path, problem in raw_form_problems(root, statement, signers):
        report.add("bundle.signature", problem, path=path)
