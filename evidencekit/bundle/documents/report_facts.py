"""The facts the bundle's report and certificate drafts are rendered from, and the helpers both share.

``facts`` is JSON-like data (str, int, bool, None, lists, mappings; never floats: fractions such as GPS
degrees travel as decimal strings), built by the exporter. Times are UTC RFC 3339 strings; ``tz`` is the
zone recorded beside them (``"CET UTC+01:00"``, ``"+05:30"`` or an IANA name). A field marked ``?`` may be
missing or None; anything missing is shown as not recorded (report) or left as a blank (certificates).
The shape::

    case:    {case_id, title, investigator, agency?, created, case_uuid,
              timezone? (IANA name from the case settings), notes?: [{seq?, time, tz?, text, actor?}]}
    bundle:  {created, software ("evidencekit 0.1.0"), recipient?, purpose?, tag_manifest_sha256?,
              report_pdf?: bool (False: exported with --no-pdf, the bundle holds no report.pdf),
              paper?: "a4" | "letter",
              checkpoint?: {tree_size, root, key_id, note (the signed note's text)},
              signer?: {investigator, key_id, public_key_pem},
              counts?: {name: int}}     # items, item_files(_recorded_at_acquisition, _made_at_export),
                                        # custody_files, analysis_files?, ledger_entries
    items:   [{item_id, number (the item's place in the case), exhibit (its exhibit number, e.g. "TRAF-1-EX3"),
              kind ("capture" | "file"), label?, status ("complete" | "partial" | "blocked" | "failed"
              | "added"), blocked?: {kind ("challenge" | "block" | "login-wall"), evidence: [str]} (status blocked),
              reasons?: [str | {code, message}], requested_url?, final_url?, address_bar_url?,
              redirect_chain?: [{url, status?}], http_status?, title?, server_ip?, started?, ended?, tz?,
              browser?, user_agent?, steps?: [{step, at, offset_ms}] (metadata.json times.steps),
              screenshot_scroll_y?: int (where the page stood for its full-page image),
              error?, artefacts: [{path (in the bag, "data/items/…"), role, media_type, size, sha256, blake3,
                          recorded?: bool (False: made at export, not hashed at acquisition),
                          recorded_with?: the action of the entry that recorded it ("observation.recorded")}],
              screenshots?: [{role ("full-page" | "viewport"), path, width?, height?, size?}],
              media?: [{url, kind, source, outcome, error?, path?, size?, duration_ms?, poster?, joined, parts?}]
                      (metadata.json media; see report_media),
              settings?: {name: str | int} (capture settings: viewport, user_agent, timeout_ms, ...),
              profile?: {name, digest?, check_url? (entries before the check was a digest), account_named?: bool,
                         logged_in? (true | "checked" | "not checked"), checked_at?, check_host?,
                         account?, account_key?, check_disclosed? (only with export --disclose-accounts)},
              vantage?: str (where the capture was made from, as the investigator stated it),
              indicators?: [{kind, value, raw?}],
              images_exif?: [{path, make?, model?, datetime_original?, gps?: {latitude?, longitude?},
                              error?}],
              notes?: [{seq?, time, tz?, text, actor? (str | {name, key_id?})}],
              time?: {covered, statement, gen_time?, tsa?, authorities?, tree_size?, qualified_said?,
                      same_time_as: [item_id], tie_said?, clock_warning?, clock_header?}}]  # timefacts
    time?:   {statement, clock_warning?, any_counted, items_covered, flagged, checked, ties: [[item_id]],
              tokens: [{seq, tsa, url (no user, query or fragment), qualified, qualified_said, gen_time,
                        serial_number, policy, accuracy, hash_algorithm, checkpoint_seq, tree_size, state,
                        counted, parsed, established, checked_against, requested, answered, clock_offset,
                        clock_offset_seconds?, clock_flagged, clock_said}],
              pending: [{seq, tsa, url, tree_size, reason, requested, since}],
              superseded: [{seq, tree_size, by_seq, tsas}]}     # independent time (RFC 3161)
    links?:  None (the excerpt holds no analysis.recorded: linking not recorded) | {seq, time, readable,
              summary?, software?, items?, include_across?, other_cases?, algorithms?, labels?: {item: str},
              groups?: [{items, strength?, links: [{type ("indicator" | "photo"), items, indicator?, found?,
                         photos?, pdq_distance?, inliers?, words?, exhibit?, exhibit_path?}]}]}  # report_links
    custody: [{seq, time, tz?, action, actor: {name, key_id?}, subject?, summary?, note? (a note's whole text)}]
    verify:  {commands: [str]}                            # lines that explain how to verify the bundle

Digests are lower-case hex, with or without a ``sha256:`` / ``blake3:`` prefix.

Page-derived strings are hostile. ``visible_text`` (``bundle.shown``) is the one place that decides how they
are shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evidencekit.bundle.shown import NOT_RECORDED, visible_text
from evidencekit.errors import ValidationError

__all__ = ["NOT_RECORDED", "visible_text"]
_ZONE_OFFSET = re.compile(r"(?:^|UTC|GMT)\s*([+-])(\d{2}):?(\d{2})(?:\s|$)")


def check_facts(facts: Mapping[str, Any]) -> None:
    """Refuse facts that are not the documented shape at its top level, or that hold floats anywhere."""
    if not isinstance(facts, Mapping):
        raise ValidationError("report facts must be a mapping; build them with the exporter")
    if not str(mapping(facts.get("case"), "case").get("case_id") or "").strip():
        raise ValidationError("report facts lack case.case_id")
    _refuse_floats(facts, "facts")


def _refuse_floats(value: Any, where: str) -> None:
    if isinstance(value, float):
        raise ValidationError(f"{where}: fractional numbers are not allowed in report facts; use a decimal string")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_floats(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{where}[{index}]")


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as a mapping; None counts as empty, anything else that is not a mapping is refused."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"report facts: {where} must be a mapping, not {type(value).__name__}")
    return value


def sequence(value: Any, where: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValidationError(f"report facts: {where} must be a list, not {type(value).__name__}")
    return value


def plain(value: Any) -> str:
    """``value`` as raw text (None is empty). Display it through ``visible_text``, exactly once."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def bare_digest(value: Any) -> str:
    """A digest without its algorithm prefix, as raw text."""
    text = plain(value)
    return text.split(":", 1)[1] if text.startswith(("sha256:", "blake3:")) else text


def parse_utc(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def zone_of(tz: Any) -> timezone | ZoneInfo | None:
    """The zone a recorded ``tz`` names: its UTC offset when it carries one, else an IANA name, else None."""
    if not isinstance(tz, str) or not tz.strip():
        return None
    found = _ZONE_OFFSET.search(tz.strip())
    if found:
        sign = -1 if found.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(found.group(2)), minutes=int(found.group(3))))
    try:
        return ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def format_size(size: Any) -> str:
    if not isinstance(size, int) or isinstance(size, bool):
        return plain(size) or NOT_RECORDED
    units = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))
    scaled = next((f" ({size / unit:.1f} {name})" for unit, name in units if size >= unit), "")
    return f"{size:,} bytes{scaled}"


def reason_text(reason: Any) -> str:
    """A recorded reason (a string, or ``{code, message}``) as raw text."""
    if isinstance(reason, Mapping):
        code, message = plain(reason.get("code")), plain(reason.get("message"))
        return f"{code}: {message}" if code else message
    return plain(reason)


_REASON_CODE = re.compile(r"^[a-z][a-z0-9-]*: ")
TITLE_SHOWN = 300


def plain_reason(reason: Any) -> str:
    """A recorded reason in the words it was recorded in, without its code when it has words."""
    if isinstance(reason, Mapping):
        return plain(reason.get("message")) or plain(reason.get("code"))
    text = plain(reason)
    return text[len(found.group()) :] if (found := _REASON_CODE.match(text)) and text[len(found.group()) :] else text


def _reason_code(reason: Any) -> str:
    if isinstance(reason, Mapping):
        return plain(reason.get("code"))
    found = _REASON_CODE.match(plain(reason))
    return found.group()[:-2] if found else ""


def consent_clicked(item: Mapping[str, Any]) -> bool:
    """Whether the capture clicked a consent control (``--consent accept``): its full-page screenshot then
    shows the page after the click, its viewport screenshot the page on arrival, before it."""
    return any(_reason_code(r) == "consent-accepted" for r in sequence(item.get("reasons") or [], "reasons"))


AFTER_CONSENT_CLICK = "after the capture clicked a consent control"
BEFORE_CONSENT_CLICK = "on arrival, before the capture clicked a consent control"


def http_answer(item: Mapping[str, Any]) -> str:
    """ "server answered HTTP 404 (Not Found)" for an error status the capture recorded; else empty."""
    code = item.get("http_status")
    if not isinstance(code, int) or isinstance(code, bool) or code < 400:
        return ""
    try:
        meaning = f" ({HTTPStatus(code).phrase})"
    except ValueError:
        meaning = ""
    return f"server answered HTTP {code}{meaning}"


def status_text(item: Mapping[str, Any]) -> str:
    """An item's status as a reader must see it at a glance, from recorded facts only: a capture the server
    answered with an error status says so ("complete — server answered HTTP 404 (Not Found)"); a failed or
    partial capture gives its recorded reasons in their words; a failure without one says that none was
    recorded."""
    status = plain(item.get("status")) or NOT_RECORDED
    if status == "blocked":
        return f"blocked \N{EM DASH} {blocked_words(item)}"
    said = []
    answer = http_answer(item) if status in ("complete", "partial") else ""
    if answer:
        said.append(answer)
    if status in ("partial", "failed"):
        reasons = sequence(item.get("reasons") or [], "reasons")
        words = [plain_reason(r) for r in reasons if not (answer and _reason_code(r) == "http-error-status")]
        if not words and item.get("error"):
            words = [plain(item.get("error"))]
        said += words or ([] if said else ["no reason recorded"])
    return status + (" \N{EM DASH} " + "; ".join(said) if said else "")


# What a blocked capture shows instead of the content, by the kind its record names.
BLOCKED_WORDS = {
    "challenge": "the site showed a challenge page instead of the content",
    "block": "the site refused access with a block page instead of showing the content",
    "login-wall": "the site asked the visitor to sign in instead of showing the content",
}


def blocked_words(item: Mapping[str, Any]) -> str:
    """Why a blocked capture holds no content, in the record's words: its kind, and the evidence recorded."""
    blocked = item.get("blocked")
    kind = blocked.get("kind") if isinstance(blocked, Mapping) else None
    words = BLOCKED_WORDS.get(
        str(kind), f"the site showed something other than the content ({plain(kind) or NOT_RECORDED})"
    )
    evidence = blocked.get("evidence") if isinstance(blocked, Mapping) else None
    if isinstance(evidence, list) and evidence:
        words += " (recorded evidence: " + "; ".join(plain(e) for e in evidence) + ")"
    return words


def capped(value: Any, limit: int = TITLE_SHOWN) -> tuple[str, int]:
    """The first ``limit`` characters of a recorded string, and how many more were left out (a page's title
    can be megabytes long; the whole of it stays in metadata.json)."""
    text = plain(value)
    return (text, 0) if len(text) <= limit else (text[:limit], len(text) - limit)


def tally(items: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many items of each kind and status: the counts every document states, from one place."""
    captures = [item for item in items if item.get("kind") == "capture"]

    def of(status: str) -> int:
        return sum(1 for item in captures if item.get("status") == status)

    return {
        "items": len(items),
        "captures": len(captures),
        "complete": of("complete"),
        "partial": of("partial"),
        "blocked": of("blocked"),
        "failed": of("failed"),
        "other_status": sum(
            1 for item in captures if item.get("status") not in ("complete", "partial", "blocked", "failed")
        ),
        "error_answers": sum(1 for item in captures if http_answer(item)),
        "files": sum(1 for item in items if item.get("kind") == "file"),
        "folders": sum(1 for item in items if item.get("kind") == "folder"),
        "other_kind": sum(1 for item in items if item.get("kind") not in ("capture", "file", "folder")),
    }
