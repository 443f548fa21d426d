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
from importlib import resources
from string import Template
from typing import Any

from evidencekit.bundle.casefacts import certificate_values
from evidencekit.bundle.documents.certificate_annex import (
    VERBATIM,
    Clock,
    annex,
    files_said,
    hash_timing,
    status_summary,
)
from evidencekit.bundle.documents.certificate_profiles import logged_in_parts
from evidencekit.bundle.documents.certificate_time import time_paragraph
from evidencekit.bundle.documents.report_facts import (
    bare_digest,
    blocked_words,
    check_facts,
    http_answer,
    mapping,
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

# Lines that start with _VERBATIM are not wrapped (hash reports, commands to copy). visible_text shows
# control and private-use characters as markers, so no fact can smuggle these characters in.
_VERBATIM = VERBATIM
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
    files = [mapping(a, "artefact") for item in items for a in sequence(item.get("artefacts"), "item.artefacts")]
    made = [a for a in files if a.get("recorded") is False]
    clock_fre, clock_bsa = Clock(ist=False, zone=_zone(case)), Clock(ist=True, zone=_zone(case))
    common = {
        "software": _fact(bundle.get("software"), "software name and version"),
        **certificate_values(case),
        "item_count": _plural(len(items), "item"),
        "file_count": files_said(len(files), made),
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
        "zone_said": _zone_said(case),
        "recipient_clause": f" for {recipient}" if recipient else "",
        "acquisition": _acquisition(items, custody, bundle, clock_fre),
        "status_summary": status_summary(items),
        "hash_timing": hash_timing(len(files), made, "Annex A", "the case ledger described in paragraph 5"),
        "annex": annex(items, case, clock_fre),
        "independent_time": time_paragraph(facts, clock_fre, "Annex A"),
    }
    bsa = {
        **common,
        "generated": clock_bsa.when(bundle.get("created"), "export time"),
        "bundle_created": clock_bsa.when(bundle.get("created"), "export time"),
        "zone_said": _zone_said(case),
        "acquisition": _acquisition(items, custody, bundle, clock_bsa),
        "hash_timing": hash_timing(len(files), made, "Annex 1", "the case ledger"),
        "device": _device(items, bundle),
        "algorithms": _ALGORITHMS,
        "annex": annex(items, case, clock_bsa),
        "independent_time": time_paragraph(facts, clock_bsa, "Annex 1", bsa=True),
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


def _span(items: Sequence[Mapping[str, Any]], clock: Clock) -> str:
    starts = sorted(str(item["started"]) for item in items if item.get("started"))
    ends = sorted(str(item.get("ended") or item["started"]) for item in items if item.get("started"))
    if not starts:
        return f"at {blank('time of acquisition')}"
    if starts[0] == ends[-1]:
        return f"at {clock.when(starts[0])}"
    return f"between {clock.when(starts[0])} and {clock.when(ends[-1])}"


def _acquisition(
    items: Sequence[Mapping[str, Any]], custody: Sequence[Mapping[str, Any]], bundle: Mapping[str, Any], clock: Clock
) -> str:
    """How each kind of item was acquired and exported, from what the bundle records (s.63(4)(a))."""
    annex_name = "Annex 1" if clock.ist else "Annex A"
    software = _fact(bundle.get("software"), "software name and version")
    captures = [item for item in items if item.get("kind") == "capture"]
    files = [item for item in items if item.get("kind") == "file"]
    folders = [item for item in items if item.get("kind") == "folder"]
    others = [item for item in items if item.get("kind") not in ("capture", "file", "folder")]
    parts = []
    if captures:
        parts += _captures(captures, custody, software, annex_name, clock)
    if files:
        parts.append(_added(files, "file", custody, clock, how="."))
    if folders:
        tree = ", each with every file of its tree; the ledger records each file's original path within the folder."
        parts.append(_added(folders, "folder", custody, clock, how=tree))
    if others:
        ids = ", ".join(_names(item.get("item_id") for item in others))
        parts.append(
            f"   - Other items: {_plural(len(others), 'item')} ({ids}) of a kind this software version does not "
            "know; how they were acquired is not known from this bundle."
        )
    if not parts:
        parts.append("   - The bundle holds no items.")
    made = _names(
        mapping(a, "artefact").get("path", "").rsplit("/", 1)[-1]
        for item in items
        for a in sequence(item.get("artefacts"), "item.artefacts")
        if mapping(a, "artefact").get("recorded") is False
    )
    parts.append(
        f"   - Export: on {clock.when(bundle.get('created'), 'export time')} the recorded files were copied from "
        "the case store into the bundle, whose manifests list the same hash values as those recorded at "
        "acquisition."
        + (
            f" Files named {', '.join(made)} were made from them at that time; {annex_name} marks each of them, "
            "and their hash values were computed at export, not at acquisition."
            if made
            else ""
        )
    )
    return "\n".join(parts)


_SETTING_WORDS = {
    "viewport": "window size (viewport)",
    "user_agent": "user agent",
    "timeout_ms": "time limit per page in milliseconds",
    "proxy": "proxy",
    "region": "region for phone numbers",
    "fingerprint": "browser fingerprint",
    "consent": "consent dialogs (leave: captured as shown; accept: accept control clicked, recorded per item)",
}


def _settings(captures: Sequence[Mapping[str, Any]], annex_name: str) -> str:
    """The capture settings the items record: one value when all share it, else a pointer to the annex."""
    said = []
    for name, words in _SETTING_WORDS.items():
        values = _names(mapping(i.get("settings"), "item.settings").get(name) for i in captures)
        if len(values) == 1:
            said.append(f"{words} {values[0]}")
        elif values:
            said.append(f"{words} as listed per item in {annex_name}")
    return f" with these recorded settings: {'; '.join(said)}" if said else ""


def _captures(
    captures: Sequence[Mapping[str, Any]],
    custody: Sequence[Mapping[str, Any]],
    software: str,
    annex_name: str,
    clock: Clock,
) -> list[str]:
    """What the web captures were: those captured (complete or partial), the server's error answers among
    them, and the attempts that failed with what the ledger records of why."""
    captured = [i for i in captures if i.get("status") in ("complete", "partial")]
    failed = [i for i in captures if i.get("status") == "failed"]
    blocked = [i for i in captures if i.get("status") == "blocked"]
    others = [i for i in captures if i.get("status") not in ("complete", "partial", "blocked", "failed")]
    actors = _actors(custody, {str(item.get("item_id")) for item in captures})
    browsers = _names(item.get("browser") for item in captures)
    store = blank("the computer or storage medium that held the case folder")
    parts = []
    if captured:
        roles = _names(
            mapping(a, "artefact").get("role")
            for i in captured
            for a in sequence(i.get("artefacts"), "a")
            if mapping(a, "artefact").get("recorded") is not False
        )
        ids = ", ".join(_names(item.get("item_id") for item in captured))
        states = ", ".join(
            f"{count} {state}"
            for state in ("complete", "partial")
            if (count := sum(1 for i in captured if i.get("status") == state))
        )
        answers = "; ".join(
            f"for {_one(i.get('item_id'))} the {answer}" for i in captured if (answer := http_answer(i))
        )
        parts.append(
            f"   - Web pages: {_plural(len(captured), 'web page')} ({ids}) {_was(captured)} captured ({states}) "
            f"{_span(captured, clock)} by {', '.join(actors) or blank('who made the captures')} using {software}, "
            f"which drove the browser {', '.join(browsers) or blank('browser and version')}"
            f"{_settings(captured, annex_name)}. For each page the browser requested the address listed in "
            f"{annex_name}, followed any redirects and loaded the page; the software then saved the files listed "
            f"for that item in {annex_name} ({', '.join(roles)}) and computed their SHA-256 and BLAKE3 hash values "
            f"while writing them into the case's content-addressed store on {store}, and recorded those values in "
            "the case ledger at that time."
            + (f" The server's answer was an error status: {answers}; the files record that answer." if answers else "")
        )
    if blocked:
        what = "; ".join(f"for {_one(i.get('item_id'))} {_one(blocked_words(i))}" for i in blocked)
        parts.append(
            f"   - Blocked captures: {_plural(len(blocked), 'capture')} of a web page {_was(blocked)} made "
            f"{_span(blocked, clock)} and recorded as blocked: {what}. The files listed for each in {annex_name} "
            "show what the site showed, not the content asked for."
        )
    if failed:
        why = "; ".join(f"{_one(i.get('item_id'))}: {_failure(i)}" for i in failed)
        parts.append(
            f"   - Failed captures: {_plural(len(failed), 'capture')} of a web page {_was(failed)} attempted "
            f"{_span(failed, clock)} and failed. The ledger records why: {why}. What "
            f"was recorded before the failure is listed in {annex_name}."
        )
    if others:
        ids = ", ".join(f"{_one(i.get('item_id'))} ({_one(i.get('status')) or 'not recorded'})" for i in others)
        parts.append(f"   - Captures of another status: {ids}; see {annex_name}.")
    parts += [_one(line) for line in logged_in_parts(captures)]  # profiles and vantages (issue 16)
    return parts


def _failure(item: Mapping[str, Any]) -> str:
    said = [_one(reason_text(r)) for r in sequence(item.get("reasons"), "item.reasons")]
    if item.get("error"):
        said.append(_one(item.get("error")))
    return "; ".join(f'"{text}"' for text in said) if said else "no reason was recorded"


def _zone(case: Mapping[str, Any]) -> str | None:
    zone = case.get("timezone")
    return zone if isinstance(zone, str) and zone.strip() else None


def _zone_said(case: Mapping[str, Any]) -> str:
    zone = _zone(case)
    if zone:
        return (
            "Times from the bundle are recorded in UTC and are also shown in the case's time zone, "
            f"{_one(zone)}, taken from the case settings."
        )
    return "Times from the bundle are recorded in UTC; the case settings name no time zone of the case."


def _added(
    group: Sequence[Mapping[str, Any]], noun: str, custody: Sequence[Mapping[str, Any]], clock: Clock, how: str
) -> str:
    """How files or folders were added by hand: who added them, when, and where their digests come from."""
    actors = _actors(custody, {str(item.get("item_id")) for item in group})
    ids = ", ".join(_names(item.get("item_id") for item in group))
    source = blank(f"where the added {noun}s came from: device, storage medium or sender")
    return (
        f"   - {noun.capitalize()}s added: {_plural(len(group), f'{noun} item')} ({ids}) {_was(group)} added to the "
        f"case {_span(group, clock)} by {', '.join(actors) or blank(f'who added the {noun}s')}{how} The SHA-256 "
        "and BLAKE3 hash values were computed while each file was written into the case's store and recorded in "
        f"the case ledger at that time. Source of the {noun}s: {source}."
    )


def _was(items: Sequence[Any]) -> str:
    return "was" if len(items) == 1 else "were"


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


def _verify(verify: Mapping[str, Any]) -> str:
    commands = [_one(line) for line in sequence(verify.get("commands"), "verify.commands")]
    if not commands:
        return "See data/VERIFY.txt in the bundle for how to check it with evidencekit and with standard tools."
    intro = "Run from the bundle's top folder. Each step checks the bundle independently of this document:"
    return intro + "\n" + "\n".join(f"{_VERBATIM}  {line}" for line in commands)
