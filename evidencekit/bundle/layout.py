"""Where each file lives in a bundle (a BagIt 1.0 bag). The one place the exporter, the documents and the
checks take paths from, so that what is written and what is checked cannot drift apart.

    bagit.txt, bag-info.txt, manifest-*.txt, tagmanifest-*.txt   tag files
    bundle-signature.txt                  the signed bundle statement, a C2SP signed note (tag file)
    bundle-signature.body / .sig          the statement alone and its raw 64-byte signature (for openssl)
    data/items/<item>/<artefact>          each artefact a ledger entry names, under the entry's subject
    data/items/<item>/capture.wacz        a web capture, replayable (made from its WARC)
    data/custody/ledger.jsonl             ledger entries, each line byte for byte the canonical form
    data/custody/proofs.json              an RFC 9162 inclusion proof for each line against the checkpoint
    data/custody/checkpoint               the C2SP signed note (origin, tree size, root; Ed25519 signature)
    data/custody/checkpoint.body / .sig   the signed text alone and the raw 64-byte signature (for openssl)
    data/custody/keys/<key id>.json/.pem  the public keys that signed
    data/report/index.html, report.pdf    the offline report
    data/certificates/<name>              draft certification texts
    data/exhibits/<prefix><n>.pdf         one exhibit PDF per item, numbered by the item's place in the case
    data/VERIFY.txt                       how to verify with standard tools
"""

from __future__ import annotations

import re

from evidencekit.errors import UsageError

PAYLOAD = "data"
ITEMS = f"{PAYLOAD}/items"
CUSTODY = f"{PAYLOAD}/custody"
LEDGER = f"{CUSTODY}/ledger.jsonl"
PROOFS = f"{CUSTODY}/proofs.json"
CHECKPOINT = f"{CUSTODY}/checkpoint"
CHECKPOINT_BODY = f"{CHECKPOINT}.body"
CHECKPOINT_SIG = f"{CHECKPOINT}.sig"
KEYS = f"{CUSTODY}/keys"
REPORT_HTML = f"{PAYLOAD}/report/index.html"
REPORT_PDF = f"{PAYLOAD}/report/report.pdf"
CERTIFICATES = f"{PAYLOAD}/certificates"
VERIFY_TXT = f"{PAYLOAD}/VERIFY.txt"
EXHIBITS = f"{PAYLOAD}/exhibits"
BUNDLE_SIGNATURE = "bundle-signature.txt"
BUNDLE_SIGNATURE_BODY = "bundle-signature.body"
BUNDLE_SIGNATURE_SIG = "bundle-signature.sig"
WACZ_NAME = "capture.wacz"
FRE_FILE = "FRE-902-14-certification-DRAFT.txt"
BSA_FILE = "BSA-2023-s63-certificate-DRAFT.txt"


def item_folder(item_id: str) -> str:
    return f"{ITEMS}/{item_id}"


def artefact_path(subject: str, name: str) -> str:
    return f"{ITEMS}/{subject}/{name}"


def key_path(key_id: str, suffix: str) -> str:
    """``data/custody/keys/<key id>.json`` or ``.pem``."""
    return f"{KEYS}/{key_id}.{suffix}"


def certificate_path(name: str) -> str:
    return f"{CERTIFICATES}/{name}"


def exhibit_label(prefix: str, number: int) -> str:
    """An item's exhibit number: the prefix and the item's place among the case's items (1 for the first item
    the case recorded, of any kind). Items are never removed, so the label is the same in every export."""
    return f"{prefix}{number}"


_PREFIX = re.compile(r"[A-Za-z0-9._-]{0,40}")


def check_exhibit_prefix(prefix: str) -> str:
    """A prefix given with ``export --exhibit-prefix``: letters, digits, ``. _ -``, at most 40 characters, so
    that every exhibit's file name is the same on every system."""
    if not _PREFIX.fullmatch(prefix) or prefix.startswith("."):
        raise UsageError(
            f"--exhibit-prefix {prefix!r} is not allowed: use at most 40 letters, digits, '.', '_' or '-' "
            "(not starting with '.')"
        )
    return prefix


def default_exhibit_prefix(case_id: str) -> str:
    return f"{case_id}-EX"


def exhibit_path(label: str) -> str:
    return f"{EXHIBITS}/{label}.pdf"
