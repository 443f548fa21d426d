"""Where each file lives in a bundle (a BagIt 1.0 bag). The one place the exporter, the documents and the
checks take paths from, so that what is written and what is checked cannot drift apart.

    bagit.txt, bag-info.txt, manifest-*.txt, tagmanifest-*.txt   tag files
    bundle-signature.txt                  the signed bundle statement, a C2SP signed note (tag file)
    bundle-signature.body / .sig          the statement alone and its raw 64-byte signature (for openssl)
    data/items/<item>/<artefact>          each artefact a ledger entry names, under the entry's subject: an
                                          item's own files, and the files of later entries about it (an
                                          observation's diff.json, diff.html, visual-diff.png, beside the
                                          capture it observes)
    data/items/<item>/capture.wacz        a web capture, replayable (made from its WARC)
    data/custody/ledger.jsonl             ledger entries, each line byte for byte the canonical form
    data/custody/proofs.json              an RFC 9162 inclusion proof for each line against the checkpoint
    data/custody/checkpoint               the C2SP signed note (origin, tree size, root; Ed25519 signature)
    data/custody/checkpoint.body / .sig   the signed text alone and the raw 64-byte signature (for openssl)
    data/custody/keys/<key id>.json/.pem  the public keys that signed
    data/custody/timestamps/index.json    which RFC 3161 token stamps which checkpoint (``bundle.timestamps``)
    data/custody/timestamps/checkpoint-<seq>.note             the exact signed-note bytes a token stamps
    data/custody/timestamps/checkpoint-<seq>.<tsa>.tsr        a TSA's answer (DER TimeStampResp), as recorded
    data/custody/timestamps/checkpoint-<seq>.<tsa>.certs.pem  the certificates that answer carries (openssl)
    data/analysis/<artefact>              the exhibit images (match-0001.png...) of the analysis.recorded entry
                                          the export recorded: the newest one in the ledger excerpt
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
TIMESTAMPS = f"{CUSTODY}/timestamps"
TIMESTAMP_INDEX = f"{TIMESTAMPS}/index.json"
REPORT_HTML = f"{PAYLOAD}/report/index.html"
REPORT_PDF = f"{PAYLOAD}/report/report.pdf"
CERTIFICATES = f"{PAYLOAD}/certificates"
VERIFY_TXT = f"{PAYLOAD}/VERIFY.txt"
EXHIBITS = f"{PAYLOAD}/exhibits"
ANALYSIS = f"{PAYLOAD}/analysis"
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


def analysis_path(name: str) -> str:
    """An artefact of the export's ``analysis.recorded`` entry (its subject is the case, not an item)."""
    return f"{ANALYSIS}/{name}"


def key_path(key_id: str, suffix: str) -> str:
    """``data/custody/keys/<key id>.json`` or ``.pem``."""
    return f"{KEYS}/{key_id}.{suffix}"


def timestamp_note_path(checkpoint_seq: int) -> str:
    """The exact bytes of the signed note of the checkpoint at ``checkpoint_seq`` (what its tokens stamp)."""
    return f"{TIMESTAMPS}/checkpoint-{checkpoint_seq}.note"


def timestamp_token_path(checkpoint_seq: int, tsa_label: str) -> str:
    """A TSA's answer for that checkpoint, the DER TimeStampResp byte for byte (``openssl ts -verify -in``)."""
    return f"{TIMESTAMPS}/checkpoint-{checkpoint_seq}.{tsa_label}.tsr"


def timestamp_certs_path(checkpoint_seq: int, tsa_label: str) -> str:
    """The certificates that answer carries, PEM, the signer's first (``openssl ts -verify -untrusted``)."""
    return f"{TIMESTAMPS}/checkpoint-{checkpoint_seq}.{tsa_label}.certs.pem"


_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def tsa_label(name: str, taken: set[str]) -> str:
    """A TSA's name as it stands in file names: letters, digits, '_' and '-' only (anything else becomes '-'),
    at most 40 characters, made unique among ``taken`` (to which it is added) with a number."""
    base = _LABEL_CHARS.sub("-", name).strip("-")[:40] or "tsa"
    label, number = base, 2
    while label in taken:
        label, number = f"{base}-{number}", number + 1
    taken.add(label)
    return label


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


# The bag-info.txt label under which export declares each watched URL's series (``baginfo``; held to by
# ``check.observations``).
SERIES_LABEL = "Series-Declaration"
