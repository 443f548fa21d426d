"""Draft certificates for ``data/certificates/``, filled with one bundle's facts.

``render_certificates(facts)`` returns ``{file name: text}`` (write each as UTF-8):

- ``FRE-902-14-certification-DRAFT.txt``: a certification of a qualified person under US Federal Rules of
  Evidence 902(14) and 902(11), with the written notice Rule 902(11) requires of the proponent, a hash
  report (Annex A) and verification steps (Annex B);
- ``BSA-2023-s63-certificate-DRAFT.txt``: a certificate under section 63(4) of India's Bharatiya Sakshya
  Adhiniyam, 2023 in the order of its Schedule (Part A by the party, Part B by the expert), with the hash
  report the Schedule asks to be enclosed (Annex 1), times in UTC and IST.

They are drafts for a lawyer to review, never legal advice, and say so at the top. Software states only
what the bundle records; everything a person must supply is a blank marked ``BLANK.format(what=...)``,
which ``list_blanks`` finds again. Page-derived text is shown through ``visible_text`` and can neither
break a line nor fake a blank. The prose lives in ``templates/*.txt`` (``string.Template``, one paragraph
per line), so counsel can revise it without touching code; lines are wrapped here.

``facts`` has the shape documented in ``evidencekit.bundle.documents.report_facts``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta, timezone
from importlib import resources
from string import Template
from typing import Any

from evidencekit.bundle.casefacts import certificate_values
from evidencekit.bundle.documents.report_facts import (
    NOT_RECORDED,
    bare_digest,
    check_facts,
    format_size,
    mapping,
    parse_utc,
    reason_text,
    sequence,
)
from evidencekit.bundle.layout import BSA_FILE, FRE_FILE
from evidencekit.bundle.shown import BLANK, blank
from evidencekit.bundle.shown import fact as _fact
from evidencekit.bundle.shown import one_line as _one

__all__ = ["BLANK", "BSA_FILE", "FRE_FILE", "WIDTH", "blank", "list_blanks", "render_certificates"]

BLANK_PATTERN = re.compile(r"\[\[TO BE COMPLETED: ([^\[\]\n]+)\]\]")
WIDTH = 78
IST = timezone(timedelta(hours=5, minutes=30), "IST")

# Lines that start with _VERBATIM are not wrapped (hash reports, commands to copy). visible_text shows
# control and private-use characters as markers, so no fact can smuggle these characters in.
_VERBATIM = "\x01"
_COUNT = "\x02BLANK-COUNT\x02"
_KEEP_SPACE = "\ue000"
_PROTECTED = re.compile(r"\[\[TO BE COMPLETED: [^\[\]\n]+\]\]|\[ \]")
_HANGING = re.compile(r"\s*(?:(?:\d+\.|\([a-z]\)|[*-])\s+|[A-Z][A-Za-z0-9 &/()-]{0,14}:\s+)?")
_ALGORITHMS = (
    f"{_VERBATIM}   [ ] SHA1   [X] SHA256   [ ] MD5   [X] Other: BLAKE3\n"
    f"{_VERBATIM}   (BLAKE3 is a published cryptographic hash function; both values are listed for every file.)"
)
_DEVICE_BOXES = (
    f"{_VERBATIM}   [ ] Computer / Storage Media   [ ] DVR   [ ] Mobile   [ ] Flash Drive\n"
    f"{_VERBATIM}   [ ] CD/DVD   [ ] Server   [ ] Cloud   [ ] Other: " + BLANK.format(what="other device or source")
)


def list_blanks(text: str) -> list[str]:
    """What each blank in ``text`` asks for, in order: what is left to do before a draft can be signed."""
    return BLANK_PATTERN.findall(text)


def render_certificates(facts: Mapping[str, Any]) -> dict[str, str]:
    """The draft certificates for ``facts``, by file name."""
    check_facts(facts)
    case, bundle = mapping(facts.get("case"), "case"), mapping(facts.get("bundle"), "bundle")
    items = [mapping(item, "item") for item in sequence(facts.get("items"), "items")]
    custody = [mapping(entry, "custody entry") for entry in sequence(facts.get("custody"), "custody")]
    checkpoint, signer = mapping(bundle.get("checkpoint"), "checkpoint"), mapping(bundle.get("signer"), "signer")
    file_count = sum(len(sequence(item.get("artefacts"), "item.artefacts")) for item in items)
    common = {
        "software": _fact(bundle.get("software"), "software name and version"),
        **certificate_values(case),
        "item_count": _plural(len(items), "item"),
        "file_count": _plural(file_count, "file"),
        "tag_manifest": _fact(bare_digest(bundle.get("tag_manifest_sha256")), "SHA-256 of tagmanifest-sha256.txt"),
        "tree_size": _fact(checkpoint.get("tree_size"), "checkpoint tree size"),
        "root": _fact(checkpoint.get("root"), "checkpoint root hash"),
        "key_id": _fact(checkpoint.get("key_id") or signer.get("key_id"), "ID of the signing key"),
        "signer": _fact(signer.get("investigator"), "holder of the signing key"),
        "verify": _verify(mapping(facts.get("verify"), "verify")),
        "blank_count": _COUNT,
    }
    recipient = _one(bundle.get("recipient"))
    fre = {
        **common,
        "generated": f"{_fact(bundle.get('created'), 'export time')} (UTC)",
        "bundle_created": _fact(bundle.get("created"), "export time"),
        "recipient_clause": f" for {recipient}" if recipient else "",
        "acquisition": _acquisition(items, custody, bundle, ist=False),
        "status_summary": _status_summary(items),
        "annex": _annex(items, ist=False),
    }
    bsa = {
        **common,
        "generated": _when(bundle.get("created"), ist=True, what="export time"),
        "bundle_created": _when(bundle.get("created"), ist=True, what="export time"),
        "acquisition": _acquisition(items, custody, bundle, ist=True),
        "device": _device(items, bundle),
        "algorithms": _ALGORITHMS,
        "annex": _annex(items, ist=True),
    }
    return {FRE_FILE: _fill("fre-902-14.txt", fre), BSA_FILE: _fill("bsa-2023-s63.txt", bsa)}


# --- filling and wrapping -------------------------------------------------------------------------------


def _fill(template_name: str, values: Mapping[str, str]) -> str:
    source = (
        resources.files("evidencekit.bundle.documents")
        .joinpath(f"templates/{template_name}")
        .read_text(encoding="utf-8")
    )
    text = Template(source).substitute(values)
    text = text.replace(_COUNT, str(len(list_blanks(text))))
    return _wrap(text)


def _wrap(text: str) -> str:
    protected = _PROTECTED.sub(lambda match: match.group().replace(" ", _KEEP_SPACE), text)
    lines = []
    for line in protected.split("\n"):
        if line.startswith(_VERBATIM):
            lines.append(line[len(_VERBATIM) :])
        elif len(line) <= WIDTH:
            lines.append(line)
        else:
            hanging = _HANGING.match(line)
            indent = " " * min(len(hanging.group()) if hanging else 0, 32)
            lines.append(
                textwrap.fill(line, WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
            )
    return "\n".join(lines).replace(_KEEP_SPACE, " ")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _when(value: Any, *, ist: bool, what: str = "time") -> str:
    """A recorded UTC time as written, followed in Indian drafts by the same moment in IST."""
    written = _one(value)
    if not written:
        return blank(what)
    moment = parse_utc(value)
    if not ist or moment is None:
        return f"{written} (UTC)" if ist else written
    return f"{moment.astimezone(IST).strftime('%d/%m/%Y %H:%M:%S')} IST ({written} UTC)"


def _names(values: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        name = _one(value)
        if name:
            seen.setdefault(name, None)
    return list(seen)


# --- generated paragraphs -------------------------------------------------------------------------------


def _actors(custody: Sequence[Mapping[str, Any]], subjects: set[str]) -> list[str]:
    """Who the ledger says acted on these items (capture or file entries whose subject is one of them)."""
    return _names(
        mapping(entry.get("actor"), "custody actor").get("name")
        for entry in custody
        if entry.get("subject") in subjects and str(entry.get("action") or "").startswith(("capture.", "file."))
    )


def _span(items: Sequence[Mapping[str, Any]], *, ist: bool) -> str:
    starts = sorted(str(item["started"]) for item in items if item.get("started"))
    ends = sorted(str(item.get("ended") or item["started"]) for item in items if item.get("started"))
    if not starts:
        return f"at {blank('time of acquisition')}"
    if starts[0] == ends[-1]:
        return f"at {_when(starts[0], ist=ist)}"
    return f"between {_when(starts[0], ist=ist)} and {_when(ends[-1], ist=ist)}"


def _acquisition(
    items: Sequence[Mapping[str, Any]], custody: Sequence[Mapping[str, Any]], bundle: Mapping[str, Any], *, ist: bool
) -> str:
    """How each kind of item was acquired and exported, from what the bundle records (s.63(4)(a))."""
    annex = "Annex 1" if ist else "Annex A"
    software = _fact(bundle.get("software"), "software name and version")
    captures = [item for item in items if item.get("kind") == "capture"]
    files = [item for item in items if item.get("kind") == "file"]
    folders = [item for item in items if item.get("kind") == "folder"]
    others = [item for item in items if item.get("kind") not in ("capture", "file", "folder")]
    parts = []
    if captures:
        actors = _actors(custody, {str(item.get("item_id")) for item in captures})
        browsers = _names(item.get("browser") for item in captures)
        roles = _names(mapping(a, "artefact").get("role") for i in captures for a in sequence(i.get("artefacts"), "a"))
        ids = ", ".join(_names(item.get("item_id") for item in captures))
        store = blank("the computer or storage medium that held the case folder")
        parts.append(
            f"   - Web pages: {_plural(len(captures), 'web page')} ({ids}) {_was(captures)} captured "
            f"{_span(captures, ist=ist)} by {', '.join(actors) or blank('who made the captures')} using {software}, "
            f"which drove the browser {', '.join(browsers) or blank('browser and version')}. For each page the "
            f"browser requested the address listed in {annex}, followed any redirects and loaded the page; the "
            f"software then saved the files listed for that item in {annex} ({', '.join(roles)}) and computed their "
            f"SHA-256 and BLAKE3 hash values while writing them into the case's content-addressed store on {store}, "
            "and recorded those values in the case ledger at that time."
        )
    if files:
        parts.append(_added(files, "file", custody, ist=ist, how="."))
    if folders:
        tree = ", each with every file of its tree; the ledger records each file's original path within the folder."
        parts.append(_added(folders, "folder", custody, ist=ist, how=tree))
    if others:
        ids = ", ".join(_names(item.get("item_id") for item in others))
        parts.append(
            f"   - Other items: {_plural(len(others), 'item')} ({ids}) of a kind this software version does not "
            "know; how they were acquired is not known from this bundle."
        )
    if not parts:
        parts.append("   - The bundle holds no items.")
    parts.append(
        f"   - Export: on {_when(bundle.get('created'), ist=ist, what='export time')} the files were copied from the "
        "case store into the bundle, whose manifests list the same hash values as those recorded at acquisition."
    )
    return "\n".join(parts)


def _added(
    group: Sequence[Mapping[str, Any]], noun: str, custody: Sequence[Mapping[str, Any]], *, ist: bool, how: str
) -> str:
    """How files or folders were added by hand: who added them, when, and where their digests come from."""
    actors = _actors(custody, {str(item.get("item_id")) for item in group})
    ids = ", ".join(_names(item.get("item_id") for item in group))
    source = blank(f"where the added {noun}s came from: device, storage medium or sender")
    return (
        f"   - {noun.capitalize()}s added: {_plural(len(group), f'{noun} item')} ({ids}) {_was(group)} added to the "
        f"case {_span(group, ist=ist)} by {', '.join(actors) or blank(f'who added the {noun}s')}{how} The SHA-256 "
        "and BLAKE3 hash values were computed while each file was written into the case's store and recorded in "
        f"the case ledger at that time. Source of the {noun}s: {source}."
    )


def _was(items: Sequence[Any]) -> str:
    return "was" if len(items) == 1 else "were"


def _status_summary(items: Sequence[Mapping[str, Any]]) -> str:
    incomplete = [item for item in items if item.get("status") not in ("complete", "added")]
    if not incomplete:
        return "Every item is recorded as complete (web captures) or added (files); none is partial or failed."
    sentences = []
    for item in incomplete:
        reasons = "; ".join(_one(reason_text(r)) for r in sequence(item.get("reasons"), "item.reasons"))
        sentences.append(
            f"Item {_one(item.get('item_id'))} is recorded as {_one(item.get('status')) or 'of unknown status'}"
            + (f" for these reasons: {reasons}." if reasons else " without a recorded reason.")
        )
    return (
        "The items below were recorded as incomplete when they were acquired. They hold what was obtained; "
        "the reasons are those recorded at the time. " + " ".join(sentences)
    )


def _device(items: Sequence[Mapping[str, Any]], bundle: Mapping[str, Any]) -> str:
    software = _fact(bundle.get("software"), "software name and version")
    browsers = _names(item.get("browser") for item in items if item.get("kind") == "capture")
    web = (
        f" driving the browser {', '.join(browsers) or blank('browser and version')}. For web captures the record "
        "was produced on the computer that ran the capture software, which received the pages from the web "
        "servers at the addresses and IP addresses listed in Annex 1."
        if any(item.get("kind") == "capture" for item in items)
        else "."
    )
    return "\n".join(
        [
            _DEVICE_BOXES,
            f"   Make & Model: {blank('make and model')}",
            f"   Colour: {blank('colour')}",
            f"   Serial Number: {blank('serial number')}",
            f"   IMEI/UIN/UID/MAC/Cloud ID (as applicable): {blank('identifier, as applicable')}",
            f"   Other relevant information about the device or digital record: the record was made with {software}"
            f"{web} {blank('any other relevant information')}",
        ]
    )


_KIND_WORDS = {"capture": "web capture", "file": "file", "folder": "folder"}


def _annex(items: Sequence[Mapping[str, Any]], *, ist: bool) -> str:
    if not items:
        return _VERBATIM + "The bundle holds no items."
    lines: list[str] = []
    for number, item in enumerate(items, 1):
        kind = _KIND_WORDS.get(str(item.get("kind")), "kind not known")
        status = _one(item.get("status")) or NOT_RECORDED
        lines += ["", f"Item {number} of {len(items)}: {_one(item.get('item_id'))} ({kind}); status: {status}"]
        lines += [f"  {name + ':':<15} {value}" for name, value in _annex_rows(item, ist=ist) if value]
        artefacts = [mapping(a, "artefact") for a in sequence(item.get("artefacts"), "item.artefacts")]
        lines.append(f"  Files ({len(artefacts)}):")
        for index, artefact in enumerate(artefacts, 1):
            lines += [
                f"    {index}. {_one(artefact.get('path')) or NOT_RECORDED}",
                f"       role: {_one(artefact.get('role')) or NOT_RECORDED}; media type: "
                f"{_one(artefact.get('media_type')) or NOT_RECORDED}; size: {_one(format_size(artefact.get('size')))}",
                f"       SHA-256: {_one(bare_digest(artefact.get('sha256'))) or NOT_RECORDED}",
                f"       BLAKE3:  {_one(bare_digest(artefact.get('blake3'))) or NOT_RECORDED}",
            ]
    return "\n".join(_VERBATIM + line for line in lines[1:])


def _annex_rows(item: Mapping[str, Any], *, ist: bool) -> list[tuple[str, str]]:
    """The item's recorded facts as (name, one-line value); empty values are left out by the caller."""
    rows = [("Label", _one(item.get("label")))]
    if item.get("kind") == "capture":
        rows.append(("Requested URL", _one(item.get("requested_url")) or NOT_RECORDED))
        hops = sequence(item.get("redirect_chain"), "item.redirect_chain")
        rows += [(f"Redirect {number}", _hop(hop)) for number, hop in enumerate(hops, 1)]
        rows += [
            ("Final URL", _one(item.get("final_url")) or NOT_RECORDED),
            ("Page title", _one(item.get("title"))),
        ]
        rows += [("HTTP status", _one(item.get("http_status"))), ("Server IP", _one(item.get("server_ip")))]
    if item.get("started"):
        rows.append(("Started" if item.get("ended") else "Recorded", _when(item["started"], ist=ist)))
    if item.get("ended"):
        rows.append(("Ended", _when(item["ended"], ist=ist)))
    rows.append(("Browser", _one(item.get("browser"))))
    rows += [("Reason", _one(reason_text(reason))) for reason in sequence(item.get("reasons"), "item.reasons")]
    return rows


def _hop(hop: Any) -> str:
    hop = mapping(hop, "redirect")
    status = _one(hop.get("status"))
    return f"{status + ' ' if status else ''}{_one(hop.get('url')) or NOT_RECORDED}"


def _verify(verify: Mapping[str, Any]) -> str:
    commands = [_one(line) for line in sequence(verify.get("commands"), "verify.commands")]
    if not commands:
        return "See data/VERIFY.txt in the bundle for how to check it with evidencekit and with standard tools."
    intro = "Run from the bundle's top folder. Each step checks the bundle independently of this document:"
    return intro + "\n" + "\n".join(f"{_VERBATIM}  {line}" for line in commands)
