"""The report's technical appendix, where the jargon lives: every file's SHA-256 and BLAKE3 (and whether it
was fingerprinted at acquisition or made at export), the signed checkpoint, the signing key, and how to
verify the bundle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evidencekit.bundle.documents.report_facts import format_size, mapping, plain, sequence
from evidencekit.bundle.documents.report_html import (
    esc,
    hash_html,
    kv,
    or_missing,
    page_text,
    table,
    url_cell,
)


def _item_files(number: int, item: Mapping[str, Any]) -> str:
    rows = []
    for artefact in (mapping(a, "artefact") for a in sequence(item.get("artefacts"), "item.artefacts")):
        made = artefact.get("recorded") is False
        rows.append(
            [
                url_cell(artefact.get("path"))
                + f'<br><span class="muted">{esc(artefact.get("role"))}, {esc(artefact.get("media_type"))}</span>',
                esc(format_size(artefact.get("size"))),
                f"SHA-256 {hash_html(artefact.get('sha256'))}BLAKE3 {hash_html(artefact.get('blake3'))}",
                "at export" if made else "at acquisition",
            ]
        )
    exhibit = esc(item.get("exhibit"))
    title = f"Item {number}, {esc(item.get('item_id'))}" + (f" (exhibit {exhibit})" if exhibit else "")
    columns = [("File in the bundle", "w-path"), ("Size", "w-size"), ("Digests", ""), ("Hashed", "w-n2")]
    return f'<h3 id="files-{number}">{title}</h3>' + table(columns, rows, "No files were recorded for this item.")


def _signing(bundle: Mapping[str, Any]) -> str:
    checkpoint, signer = mapping(bundle.get("checkpoint"), "checkpoint"), mapping(bundle.get("signer"), "signer")
    note, pem = checkpoint.get("note"), signer.get("public_key_pem")
    return (
        "<h2>Checkpoint and signing key</h2>"
        + kv(
            [
                ("Tag manifest SHA-256", _tag_manifest(bundle.get("tag_manifest_sha256"))),
                ("Tree size", esc(checkpoint.get("tree_size")) or or_missing("")),
                ("Root hash", hash_html(checkpoint.get("root"))),
                ("Signed by key", hash_html(checkpoint.get("key_id"))),
                ("Key holder", page_text(signer.get("investigator"))),
                ("Key ID", hash_html(signer.get("key_id"))),
            ]
        )
        + (f'<h3>Signed checkpoint</h3><pre class="note">{esc(note)}</pre>' if note else "")
        + (f'<h3>Public key (Ed25519)</h3><pre class="note">{esc(pem)}</pre>' if pem else "")
    )


def _tag_manifest(digest: Any) -> str:
    if digest:
        return hash_html(digest)
    # The usual case: this page is itself listed in the manifests that the tag manifest covers.
    return '<span class="muted">not known when this page was written (the tag manifest covers this page)</span>'


def _verify(verify: Mapping[str, Any]) -> str:
    commands = [plain(line) for line in sequence(verify.get("commands"), "verify.commands")]
    listing = (
        f"<pre>{chr(10).join(esc(line, single_line=True) for line in commands)}</pre>"
        if commands
        else '<p class="muted">No instructions.</p>'
    )
    return (
        "<h2>How to verify this bundle</h2>"
        "<p>Anyone can check, without trusting this report, that no file changed since it was acquired: "
        "recompute the digests of the files and compare them with the manifests, check the ledger entries "
        "against the signed checkpoint, and check the checkpoint's signature with the public key above. "
        f"data/VERIFY.txt in the bundle explains the same steps.</p>{listing}"
    )


def appendix(items: Sequence[Mapping[str, Any]], bundle: Mapping[str, Any], verify: Mapping[str, Any]) -> str:
    files = "".join(_item_files(number, item) for number, item in enumerate(items, 1))
    return (
        '<section class="appendix" id="appendix"><h2>Technical appendix</h2>'
        "<h2>Fingerprints of every file</h2>"
        "<p>SHA-256 and BLAKE3 values of each file in the bundle. Files marked <em>at acquisition</em> were "
        "fingerprinted when the item was recorded, and the ledger holds those values; files marked <em>at "
        "export</em> (a capture's WACZ, the metadata.json of an added file) were made from them when the "
        "bundle was exported and are fingerprinted only in the bundle's manifests.</p>"
        + (files or '<p class="muted">This bundle holds no items.</p>')
        + _signing(bundle)
        + _verify(verify)
        + "</section>"
    )
