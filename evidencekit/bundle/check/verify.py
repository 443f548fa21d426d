"""Verify an evidence bundle anywhere, offline, with no case and no browser. Reports every problem found.

A zip is first extracted into a private temporary folder by ``safezip`` (hostile archives are refused
whole); a folder is read in place, read-only, after refusing links and special files (a FIFO would
hang the reader). The checks, in order: BagIt structure, every payload and tag file against every
manifest (nothing missing, nothing extra), Payload-Oxum, the ledger lines and every checkpoint by the
custody rulebook that ``ledger verify`` applies too (``ledger.rules``; the rules an excerpt cannot support
are named in the report's ``not_applied``), each inclusion proof against the signed checkpoint, the
checkpoint signature against a bundled key that the ledger itself records as the investigator's (and, given
trust anchors, against one of them), every artefact a ledger entry names (same size, BLAKE3, SHA-256), the
signed bundle statement (``check.statement``: the signed note, and the text and raw signature openssl
checks), the case facts that bag-info.txt, VERIFY.txt, the certificates and the report state (against the
case.opened line), each WACZ's own digests, and the files export made from ledger facts against the ledger
lines the bundle carries (``check.derived``: an added item's metadata.json; each capture's WACZ holds that
capture's recorded WARC, its index, and the recorded page URL, title and time), and the RFC 3161 tokens of
independent time under data/custody/timestamps/ (``check.timestamps``; against ``--tsa-roots`` when given),
and each observation of a watched page against the items the bundle holds (``check.observations``: an
excerpt of a series is named, not failed; its diff files are artefacts, checked as any other).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography import x509

from evidencekit.bundle.bagit import ALGORITHMS, BAGIT_TXT, parse_bag_info, parse_manifest
from evidencekit.bundle.check.casefacts import check_case_facts
from evidencekit.bundle.check.custody import check_custody
from evidencekit.bundle.check.derived import check_derived
from evidencekit.bundle.check.observations import check_observations, read_declarations
from evidencekit.bundle.check.safezip import HostileBundleError, ZipLimits, extract_safely
from evidencekit.bundle.check.statement import check_statement
from evidencekit.bundle.check.timestamps import check_timestamps
from evidencekit.bundle.check.trust import TrustAnchor
from evidencekit.bundle.findings import BundleReport
from evidencekit.bundle.layout import BUNDLE_SIGNATURE, BUNDLE_SIGNATURE_BODY, BUNDLE_SIGNATURE_SIG
from evidencekit.bundle.signature import BundleStatement, read_statement
from evidencekit.errors import UsageError, ValidationError
from evidencekit.hashing import Digests, blake3_file, hash_file, sha256_file

__all__ = ["BundleReport", "verify_bundle"]

TAG_FILES = {"bagit.txt", "bag-info.txt", BUNDLE_SIGNATURE, BUNDLE_SIGNATURE_BODY, BUNDLE_SIGNATURE_SIG} | {
    f"{kind}-{algorithm}.txt" for kind in ("manifest", "tagmanifest") for algorithm in ALGORITHMS
}


def verify_bundle(
    source: Path,
    *,
    limits: ZipLimits | None = None,
    anchors: Sequence[TrustAnchor] = (),
    tsa_roots: Sequence[x509.Certificate] = (),
) -> BundleReport:
    """Verify a bundle zip or folder. Raises HostileBundleError for an archive built to attack.

    ``anchors``: the keys the verifier trusts (from outside the bundle); when given, the checkpoint and
    the bundle signature must be signed by one of them. Without them a bundle can only show that it is
    consistent with itself, so the signer's key id is named in the facts for the reader to compare.
    ``tsa_roots``: the TSA root certificates the verifier trusts (``--tsa-roots``); without them each token
    can be shown intact, but not that a TSA the verifier trusts made it.
    """
    report = BundleReport(source=str(source))
    report.facts["trusted_keys"] = [a.key_id for a in anchors]
    if source.is_symlink():
        raise HostileBundleError(f"{source} is a symbolic link; name the bundle itself")
    if source.is_dir():
        root = bag_in_folder(source)
        if root != source:
            report.facts["bag_folder"] = str(root)
            report.checks.append(f"{source} is not a bag itself; verified the one bag it holds, {root.name}")
        _refuse_special_files(root)
        _verify_root(root, report, anchors, tsa_roots)
        return report
    if not source.is_file():
        raise UsageError(f"no such bundle: {source}")
    private = Path(tempfile.mkdtemp(prefix="evidencekit-verify-"))
    try:
        private.chmod(0o700)
        extract_safely(source, private, limits)
        tops = list(private.iterdir())
        root = tops[0] if len(tops) == 1 and tops[0].is_dir() else private
        report.checks.append("zip extracted safely into a private folder (paths, links, duplicates, size limits)")
        _verify_root(root, report, anchors, tsa_roots)
        return report
    finally:
        shutil.rmtree(private, ignore_errors=True)


# What only a bag holds at its top: a folder with one of them is a (damaged) bag, checked as one.
_BAG_MARKS = ("data", "manifest-sha256.txt", "manifest-blake3.txt", "bag-info.txt", "bundle-signature.txt")


def bag_in_folder(folder: Path) -> Path:
    """The bag to verify for a folder: the folder itself when it holds ``bagit.txt``, else the one bag directly
    inside it (the folder a user unzipped a bundle into). Anything else is a usage error that says where
    to point instead, never a verdict: a count of "problems" for a folder that is no bag would be false."""
    if (folder / "bagit.txt").is_file() or any(os.path.lexists(folder / name) for name in _BAG_MARKS):
        return folder  # a bag, or one whose bagit.txt was removed: the verifier reports what is missing
    try:
        bags = sorted(c for c in folder.iterdir() if c.is_dir() and not c.is_symlink() and (c / "bagit.txt").is_file())
    except OSError as exc:
        raise UsageError(f"cannot read the folder {folder}: {exc.strerror or exc}") from None
    if len(bags) == 1:
        return bags[0]
    if bags:
        names = ", ".join(b.name for b in bags[:5]) + (", ..." if len(bags) > 5 else "")
        raise UsageError(f"{folder} holds {len(bags)} bags ({names}); verify each one by naming its folder")
    for parent in folder.resolve().parents:
        if (parent / "bagit.txt").is_file():
            raise UsageError(f"{folder} lies inside the bag {parent}; point verify at {parent} (or at the zip)")
    raise UsageError(
        f"{folder} is not a bag (no bagit.txt in it or in a folder directly inside it); "
        "point verify at the bundle zip or at the bag folder holding bagit.txt"
    )


def _refuse_special_files(root: Path) -> None:
    """Only regular files and folders: reading a FIFO or a device would hang or never end."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise HostileBundleError(f"{path.relative_to(root)} is a symbolic link; bundles never hold links")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise HostileBundleError(
                    f"{path.relative_to(root)} is a special file (FIFO, socket or device); bundles hold only "
                    "files and folders"
                )


def _all_files(root: Path) -> list[str]:
    found = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return sorted(found)


def _verify_root(
    root: Path, report: BundleReport, anchors: Sequence[TrustAnchor], tsa_roots: Sequence[x509.Certificate] = ()
) -> None:
    files = _all_files(root)
    payload = [f for f in files if f.startswith("data/")]
    _check_structure(root, files, report)
    digests = _hash_payload(root, payload, report)
    _check_manifests(root, digests, report)
    _check_tag_manifests(root, report)
    _check_oxum(root, digests, report)
    statement = _read_statement(root, report)
    items = set(statement.items) if statement is not None else _item_folders(root)
    report.facts["items"] = sorted(items)
    trusted, evidence, entries, verdicts = check_custody(root, digests, report, items, anchors, tsa_roots)
    check_timestamps(root, report, entries, trusted, items, tsa_roots, verdicts)
    check_case_facts(root, entries, statement.origin if statement is not None else None, report)
    if statement is not None:
        check_statement(root, statement, trusted, anchors, _item_folders(root), report)
    sound = _check_waczs(root, [p for p in payload if p not in evidence], report)
    check_derived(root, entries, items, statement.created if statement is not None else None, sound, report)
    check_observations(entries, items, report, read_declarations(root, report))
    report.facts["payload_files"] = len(payload)
    report.facts["payload_bytes"] = sum(d.size for d in digests.values())


def _read_statement(root: Path, report: BundleReport) -> BundleStatement | None:
    try:
        return read_statement(root)
    except ValidationError as exc:
        report.add("bundle.signature", str(exc), path=BUNDLE_SIGNATURE)
        return None


def _item_folders(root: Path) -> set[str]:
    folder = root / "data" / "items"
    return {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()


def _check_structure(root: Path, files: list[str], report: BundleReport) -> None:
    report.checks.append("BagIt 1.0 structure (bagit.txt, bag-info.txt, data/)")
    bagit = root / "bagit.txt"
    if not bagit.is_file():
        report.add("bag.no_bagit_txt", "bagit.txt is missing: this is not a BagIt bag", path="bagit.txt")
    elif bagit.read_bytes() != BAGIT_TXT:
        report.add("bag.bagit_txt", "bagit.txt is not the BagIt 1.0 declaration", path="bagit.txt")
    if not (root / "data").is_dir():
        report.add("bag.no_payload", "the payload folder data/ is missing", path="data/")
    for name in files:
        if not name.startswith("data/") and name not in TAG_FILES:
            report.add("bag.extra_file", "file outside data/ that is no BagIt tag file", path=name)


def _hash_payload(root: Path, payload: list[str], report: BundleReport) -> dict[str, Digests]:
    """Two passes over the payload: BLAKE3 on every core (as b3sum does), then SHA-256 of two files at a
    time. Separate passes let each run at full speed on a small machine; the page cache serves the second.
    """
    started = time.perf_counter()
    blake3 = {rel: blake3_file(root / rel) for rel in payload}
    middle = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        sha256 = dict(zip(payload, pool.map(lambda rel: sha256_file(root / rel), payload), strict=True))
    ended = time.perf_counter()
    report.facts["timings"] = {
        "blake3_pass_ms": round((middle - started) * 1000),
        "sha256_pass_ms": round((ended - middle) * 1000),
    }
    return {rel: Digests(size=sha256[rel][0], blake3=blake3[rel], sha256=sha256[rel][1]) for rel in payload}


def _read_manifest(root: Path, name: str, report: BundleReport) -> dict[str, str] | None:
    path = root / name
    if not path.is_file():
        report.add("manifest.missing", f"{name} is missing", path=name)
        return None
    try:
        entries, problems = parse_manifest(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        report.add("manifest.malformed", "not UTF-8 text", path=name)
        return None
    for problem in problems:
        report.add("manifest.malformed", problem, path=name)
    return entries


def _check_manifests(root: Path, digests: dict[str, Digests], report: BundleReport) -> None:
    report.checks.append("every payload file against manifest-sha256.txt and manifest-blake3.txt")
    for algorithm in ALGORITHMS:
        name = f"manifest-{algorithm}.txt"
        listed = _read_manifest(root, name, report)
        if listed is None:
            continue
        for path, expected in sorted(listed.items()):
            actual = digests.get(path)
            if actual is None:
                report.add("payload.missing", f"listed in {name} but not in the bundle", path=path)
            elif getattr(actual, algorithm) != expected:
                report.add("payload.altered", f"{algorithm.upper()} differs from {name}", path=path)
        for path in sorted(set(digests) - set(listed)):
            report.add("payload.extra", f"in the bundle but not listed in {name}", path=path)


def _check_tag_manifests(root: Path, report: BundleReport) -> None:
    report.checks.append("tag files against tagmanifest-sha256.txt and tagmanifest-blake3.txt")
    for algorithm in ALGORITHMS:
        name = f"tagmanifest-{algorithm}.txt"
        listed = _read_manifest(root, name, report)
        if listed is None:
            continue
        for tag in sorted(TAG_FILES - {f"tagmanifest-{a}.txt" for a in ALGORITHMS}):
            # The openssl form of the statement is absent from bundles made before it existed; whether its
            # absence is a problem is for the statement check, which knows the statement's form.
            optional = tag in (BUNDLE_SIGNATURE_BODY, BUNDLE_SIGNATURE_SIG) and not (root / tag).exists()
            if tag not in listed and not optional:
                report.add("tagmanifest.incomplete", f"{tag} is not listed in {name}", path=name)
        for path, expected in sorted(listed.items()):
            target = root / path
            if path.startswith("data/") or "/" in path or not target.is_file():
                report.add("tag.missing", f"listed in {name} but not present as a tag file", path=path)
            elif getattr(hash_file(target), algorithm) != expected:
                report.add("tag.altered", f"{algorithm.upper()} differs from {name}", path=path)


def _check_oxum(root: Path, digests: dict[str, Digests], report: BundleReport) -> None:
    report.checks.append("Payload-Oxum and bag-info.txt")
    info_path = root / "bag-info.txt"
    if not info_path.is_file():
        report.add("bag.no_bag_info", "bag-info.txt is missing", path="bag-info.txt")
        return
    try:
        info = dict(parse_bag_info(info_path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, ValidationError) as exc:
        report.add("bag.bag_info", f"bag-info.txt cannot be read: {exc}", path="bag-info.txt")
        return
    report.facts["bag_info"] = info
    actual = f"{sum(d.size for d in digests.values())}.{len(digests)}"
    if info.get("Payload-Oxum") != actual:
        report.add(
            "bag.oxum", f"Payload-Oxum says {info.get('Payload-Oxum')} but the payload is {actual}", path="bag-info.txt"
        )


def _check_waczs(root: Path, derived: list[str], report: BundleReport) -> set[str]:
    """The WACZ files export made from each capture's WARC; returns those found sound. A .wacz that is itself
    evidence (a file the ledger names) is held to its recorded digests instead: evidence is never judged by
    the form it claims to have."""
    waczs = [p for p in derived if p.endswith(".wacz")]
    if not waczs:
        return set()
    from evidencekit.bundle.wacz import check_wacz

    report.checks.append("each WACZ's datapackage digests")
    sound = set()
    for rel in waczs:
        problems = check_wacz(root / rel)
        for problem in problems:
            report.add("wacz.invalid", problem, path=rel)
        if not problems:
            sound.add(rel)
    return sound
