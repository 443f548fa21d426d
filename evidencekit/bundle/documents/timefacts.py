"""What the court-facing documents say about independent time (RFC 3161): from the case's ``timestamp.*``
entries and each token's verdict, the facts the report, the exhibits and the certificates state.

- per item: the earliest counted token covering it (``ledger.timecover``) and its sentence, "independently
  timestamped: existed no later than <genTime> (<TSA>), N authorities", or "no independent timestamp covers
  this item"; items whose earliest covers are the same time are said to share it (never put in an order);
- per token a row: the TSA as configured (a qualified mark is the investigator's claim, shown as such), what
  the token says (genTime, serial, policy, accuracy, hash), the checkpoint it is over, what the check found
  and against what, and the clock evidence (the investigator's clock beside the TSA's, flagged in words);
- the stamps still pending and those superseded by a newer checkpoint;
- one sentence for the case when no counted token covers anything.

Only tokens the check found intact are counted (``TokenVerdict.intact``: parsed strictly, imprint,
signature, EKU, certificate valid at genTime); "established" (the chain reaches a trust anchor) is stated
beside, never assumed. A token stored but refused by the strict parser is shown "stored, not parsed strictly;
not counted". Anything missing or unreadable is "not known". A TSA's URL is shown without user information,
query or fragment (where a secret could be), and every value is JSON-like (report facts refuse floats).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from evidencekit.ledger.entries import (
    NOT_KNOWN,
    TIMESTAMP_ACTIONS,
    TimestampObtained,
    TimestampPending,
    TimestampSuperseded,
    parse,
)
from evidencekit.ledger.rules.base import TokenVerdict
from evidencekit.ledger.timecover import Cover, covers, recording_seq
from evidencekit.models import LedgerEntry
from evidencekit.timestamps.config import recorded_url

NO_TIMESTAMP = "This case has no independent timestamp: every time in it comes from the investigator's own clock."
NO_STAMP_RECORDED = (
    "No time-stamp token is recorded in this bundle; no time in it is confirmed by anyone but the investigator."
)
NONE_COVERS_BUNDLE = (
    "No independent timestamp covers any item of this bundle: every time of its items comes from the "
    "investigator's own clock."
)
NOT_COVERED = "no independent timestamp covers this item"
NOT_CHECKED = (
    "The case's independent timestamps were not read when this document was made: whether any covers these items "
    "is not known."
)
NOT_CHECKED_ITEM = "independent time: not known (the case's timestamps were not read)"
QUALIFIED_CLAIM = "configured as qualified by the investigator"
NOT_QUALIFIED_CLAIM = "not configured as qualified by the investigator"
UNPARSED = "stored, not parsed strictly; not counted"
# A lax token's genTime: the strict parser never read it, so it is not "not known" but not read.
GEN_TIME_NOT_READ = "not read (the token is not in strict DER); not counted"
NOT_ESTABLISHED = "not established"
# What the chain of a token was checked against, by how the TSA is configured where the documents are made.
AGAINST_CONFIGURED_ROOT = "the root the investigator configured for this TSA"
AGAINST_SYSTEM_ROOTS = "the system's trusted certificate authorities"


@dataclass(frozen=True)
class TimeEvidence:
    """What the documents are told of independent time: the case's ``timestamp.*`` entries (others are
    ignored), each token's verdict, and by TSA name what its chain was checked against (absent: nothing,
    so no token of that TSA is established). ``checked`` False: no token was checked at all. ``late``: each
    entry the check found recorded later than the genTime of a token covering it (beyond its accuracy), said
    with its seq."""

    entries: Sequence[LedgerEntry] = ()
    verdicts: Sequence[TokenVerdict] = ()
    checked_against: Mapping[str, str] = field(default_factory=dict)
    checked: bool = True
    late: Sequence[str] = ()  # the check's finding of entries recorded later than a token covering them
    carried: bool = False  # the tokens are those the bundle carries under data/custody/timestamps/


def public_url(url: Any) -> str:
    """A TSA's URL as recorded (``timestamps.config.recorded_url``: user information, query and fragment left
    out, since an access key travels there), saying what was left out."""
    text = str(url or "")
    try:
        parts = urlsplit(text)
        if not parts.scheme or not parts.hostname:
            return NOT_KNOWN
    except ValueError:
        return NOT_KNOWN
    left_out = [what for what, there in (("user", parts.username or parts.password), ("query", parts.query),
                                         ("fragment", parts.fragment)) if there]  # fmt: skip
    return recorded_url(text) + (f" ({', '.join(left_out)} not shown)" if left_out else "")


def _known(value: Any) -> Any:
    return NOT_KNOWN if value is None or value == "" else value


def _seconds(value: Any) -> str:
    return NOT_KNOWN if value is None or value == "" else f"{value} s"


def _problem_text(problem: Any) -> str:
    for name in ("message", "detail", "text"):
        said = getattr(problem, name, None)
        if isinstance(said, str) and said:
            code = getattr(problem, "code", None)
            return f"{code}: {said}" if isinstance(code, str) and code and code not in said else said
    return str(problem)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and value != "" else None
    except InvalidOperation:
        return None


def tenths(seconds: Decimal) -> str:
    """Seconds to a tenth: a whole-second genTime makes any finer offset an artefact, not a measurement."""
    return f"{seconds.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}"


def offset_words(offset: Any, whom: str) -> str:
    """A flagged offset in words with units and its direction: "about 2 h 0 min (7200.6 s) ahead of <whom>"."""
    seconds = _decimal(offset)
    if seconds is None:
        return f"off from {whom} by an amount not known"
    size = abs(seconds)
    minutes = int((size / 60).to_integral_value(rounding=ROUND_HALF_EVEN))
    hours, rest = divmod(minutes, 60)
    if hours:
        about = f"about {hours} h {rest} min ({tenths(size)} s)"
    elif minutes:
        about = f"about {minutes} min ({tenths(size)} s)"
    else:
        about = f"about {tenths(size)} s"
    return f"{about} {'behind' if seconds < 0 else 'ahead of'} {whom}"


def clock_said(stamp: TimestampObtained) -> str:
    """The investigator's clock beside the TSA's, in words (flagged ones say so in words, not colour). An offset
    within the TSA's accuracy plus the round trip is no difference the stamp can measure, so it is said so
    (to a tenth of a second), never as a microsecond figure."""
    offset = _decimal(stamp.clock_offset_seconds)
    if offset is None:
        said = "offset of the investigator's clock from the TSA's: not known"
    elif stamp.clock_flagged:
        said = "the investigator's clock was " + offset_words(offset, "the TSA's")
    elif offset == 0:
        said = "the investigator's clock agreed with the TSA's"
    else:
        said = (
            "no difference between the investigator's clock and the TSA's beyond the TSA's stated accuracy and the "
            f"round trip (measured {tenths(abs(offset))} s {'behind' if offset < 0 else 'ahead'})"
        )
    said += (
        f" (round trip {_seconds(stamp.round_trip_seconds)}, TSA's stated accuracy {_seconds(stamp.accuracy_seconds)})"
    )
    if stamp.clock_flagged:
        said = (
            "FLAGGED: " + said + "; the difference is larger than the TSA's stated accuracy plus the round trip: "
            "the investigator's clock was not accurate when this stamp was asked for"
        )
    return said


def _worst_flagged(tokens: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    flagged = [row for row in tokens if row.get("clock_flagged") is True]
    return max(flagged, key=lambda row: abs(_decimal(row.get("clock_offset_seconds")) or Decimal(0)), default=None)


def clock_header(tokens: Sequence[Mapping[str, Any]]) -> str:
    """The warning's short form, for an exhibit's running header beside the time it casts doubt on."""
    worst = _worst_flagged(tokens)
    if worst is None:
        return ""
    return f"WARNING: investigator's clock {offset_words(worst.get('clock_offset_seconds'), 'a TSA')}: see page 1"


def clock_warning(tokens: Sequence[Mapping[str, Any]]) -> str:
    """One sentence for the summaries, the exhibits and the certificates when a token of the case measured the
    investigator's clock off (the largest such offset; the others counted); empty when none did."""
    worst = _worst_flagged(tokens)
    if worst is None:
        return ""
    flagged = [row for row in tokens if row.get("clock_flagged") is True]
    others = f" ({len(flagged)} stamps flagged in all)" if len(flagged) > 1 else ""
    off = offset_words(worst.get("clock_offset_seconds"), str(worst.get("tsa")))
    return (
        f"WARNING: the investigator's clock was {off} when a time-stamp token was asked for at "
        f"{worst.get('requested')} by that clock{others}; the times in this bundle come from that clock (see "
        "Independent time)."
    )


def _state(stamp: TimestampObtained, verdict: TokenVerdict | None, against: str | None, checked: bool) -> str:
    if not stamp.parsed or (verdict is not None and not verdict.parsed):
        return UNPARSED
    if verdict is None:
        return "not checked when this document was made; not counted" if not checked else "not found; not counted"
    if not verdict.intact:
        problems = "; ".join(_problem_text(p) for p in verdict.problems) or "the check did not find it intact"
        return f"NOT intact ({problems}); not counted"
    if verdict.established:
        return f"intact; TSA established against {against or 'a trust anchor given to the check'}"
    return f"intact; TSA {NOT_ESTABLISHED} (no trust anchor for this TSA reached its certificate chain)"


def _token_row(entry: LedgerEntry, stamp: TimestampObtained, verdict: TokenVerdict | None,
               evidence: TimeEvidence) -> dict[str, Any]:  # fmt: skip
    against = evidence.checked_against.get(stamp.tsa.name)
    counted = bool(verdict is not None and verdict.intact and stamp.parsed and stamp.gen_time)
    return {
        "seq": entry.seq,
        "tsa": stamp.tsa.name,
        "url": public_url(stamp.tsa.url),
        "qualified": stamp.tsa.qualified,
        "qualified_said": QUALIFIED_CLAIM if stamp.tsa.qualified else NOT_QUALIFIED_CLAIM,
        "gen_time": _known(stamp.gen_time) if stamp.parsed else GEN_TIME_NOT_READ,
        "serial_number": _known(stamp.serial_number),
        "policy": _known(stamp.policy),
        "accuracy": _seconds(stamp.accuracy_seconds),
        "hash_algorithm": _known(stamp.hash_algorithm),
        "checkpoint_seq": stamp.checkpoint.seq,
        "tree_size": stamp.checkpoint.tree_size,
        "state": _state(stamp, verdict, against, evidence.checked),
        "counted": counted,
        "parsed": stamp.parsed and (verdict is None or verdict.parsed),
        "established": bool(verdict is not None and verdict.established),
        "checked_against": (against or NOT_ESTABLISHED) if verdict is not None else NOT_KNOWN,
        "requested": _known(stamp.requested),
        "answered": _known(stamp.answered),
        "clock_offset": _seconds(stamp.clock_offset_seconds),
        "clock_offset_seconds": stamp.clock_offset_seconds,  # the investigator's minus the TSA's, a decimal string
        "clock_flagged": stamp.clock_flagged,
        "clock_said": clock_said(stamp),
    }


def _pending_row(entry: LedgerEntry, pending: TimestampPending, lookup: Any) -> dict[str, Any]:
    later: Cover | None = lookup(pending.checkpoint.tree_size - 1)
    return {
        "seq": entry.seq,
        "tsa": pending.tsa.name,
        "url": public_url(pending.tsa.url),
        "tree_size": pending.checkpoint.tree_size,
        "reason": _known(pending.reason),
        "requested": _known(pending.requested),
        "since": f"since covered by a later stamp: {later.statement()}"
        if later is not None
        else "no counted stamp covers the entries of that checkpoint yet",
    }


def _superseded_by(row: Mapping[str, Any], superseded: Sequence[Mapping[str, Any]], seq: int) -> Any:
    """The seq of the newer checkpoint a later ``timestamp.superseded`` entry records this pending stamp
    superseded by (None: still pending)."""
    for said in superseded:
        if said["seq"] > seq and said["tree_size"] == row["tree_size"] and row["tsa"] in said["tsas"]:
            return said["by_seq"]
    return None


def failed_said(attempts: Sequence[Mapping[str, Any]]) -> str:
    """For a bundle without any token: that a TSA was configured and gave none, by TSA: how many times it was
    asked and why it gave no token (every pending stamp, superseded or not, is one attempt)."""
    by_tsa: dict[str, list[Mapping[str, Any]]] = {}
    for row in attempts:
        by_tsa.setdefault(str(row["tsa"]), []).append(row)
    said = []
    for tsa, rows in by_tsa.items():
        reasons = "; ".join(dict.fromkeys(str(row["reason"]) for row in rows))
        times = "once" if len(rows) == 1 else f"{len(rows)} times"
        said.append(f"{tsa}, at {rows[0]['url']}, was asked {times} and gave no token ({reasons})")
    what = "A Time-Stamping Authority was" if len(by_tsa) == 1 else "Time-Stamping Authorities were"
    return f"{what} configured, but every stamp asked for failed: {'; '.join(said)}."


def _ties(covered: Mapping[str, Cover | None]) -> list[list[str]]:
    """Items whose earliest covers are the same time: said to share it, never ordered."""
    groups: dict[str, list[str]] = {}
    for item_id, cover in covered.items():
        if cover is not None:
            groups.setdefault(cover.gen_time, []).append(item_id)
    return [ids for ids in groups.values() if len(ids) > 1]


def item_time(cover: Cover | None, same_time_as: Sequence[str], accuracy: str = NOT_KNOWN) -> dict[str, Any]:
    """One item's independent time, as the report, the exhibit and the certificates state it; ``accuracy``:
    the one the earliest token states (a genTime is no more exact than that)."""
    if cover is None:
        return {"covered": False, "statement": NOT_COVERED, "same_time_as": []}
    tie = (
        f" The same earliest independent time covers {', '.join(same_time_as)}: these timestamps show that "
        "each existed by then, not which came first."
        if same_time_as
        else ""
    )
    return {
        "covered": True,
        "statement": cover.statement(),
        "gen_time": cover.gen_time,
        "tsa": cover.tsa,
        "authorities": cover.authorities,
        "tree_size": cover.tree_size,
        "qualified_said": QUALIFIED_CLAIM if cover.qualified else NOT_QUALIFIED_CLAIM,
        "same_time_as": list(same_time_as),
        "tie_said": tie.strip(),
        "accuracy_said": f"{cover.tsa} states its time accurate to within {accuracy}"
        if accuracy != NOT_KNOWN
        else f"{cover.tsa} states no accuracy for its time",
    }


def time_facts(
    evidence: TimeEvidence | None, items: Mapping[str, Sequence[LedgerEntry]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The case's independent-time facts (``facts["time"]``) and each item's (``item["time"]``), by item id.
    ``evidence`` None: the case's timestamps were not read, so whether any covers an item is not known."""
    if evidence is None:
        unknown = {"covered": False, "statement": NOT_CHECKED_ITEM, "same_time_as": []}
        case = {"statement": NOT_CHECKED, "any_counted": False, "items_covered": 0, "tokens": [], "pending": [],
                "superseded": [], "flagged": 0, "ties": [], "checked": False, "late": [], "carried": False}  # fmt: skip
        return case, {item_id: dict(unknown) for item_id in items}
    verdicts = {verdict.seq: verdict for verdict in evidence.verdicts}
    tokens, pending, superseded = [], [], []
    obtained: list[LedgerEntry] = []
    for entry in sorted(evidence.entries, key=lambda e: e.seq):
        said = parse(entry)
        if isinstance(said, TimestampObtained):
            obtained.append(entry)
            tokens.append(_token_row(entry, said, verdicts.get(entry.seq), evidence))
        elif isinstance(said, TimestampSuperseded):
            superseded.append({"seq": entry.seq, "tree_size": said.checkpoint.tree_size, "by_seq": said.by_seq,
                               "tsas": list(said.tsas)})  # fmt: skip
        elif entry.action in TIMESTAMP_ACTIONS and not isinstance(said, TimestampPending):
            tokens.append({"seq": entry.seq, "tsa": NOT_KNOWN, "state": "entry not readable; not counted",
                           "counted": False, "clock_flagged": False})  # fmt: skip
    counted_seqs = {row["seq"] for row in tokens if row.get("counted")}
    lookup = covers(obtained, lambda entry, stamp: entry.seq in counted_seqs)
    attempts = []
    for entry in sorted(evidence.entries, key=lambda e: e.seq):
        if isinstance(said := parse(entry), TimestampPending):
            row = _pending_row(entry, said, lookup)
            attempts.append(row)
            by_seq = _superseded_by(row, superseded, entry.seq)
            if by_seq is None:  # one a later entry records superseded is listed only as superseded
                pending.append(row)
    covered = {item_id: lookup(recording_seq(entries)) for item_id, entries in items.items() if entries}
    ties = _ties(covered)
    accuracy = {(row["tsa"], row["gen_time"]): row["accuracy"] for row in tokens if row.get("counted")}
    per_item = {
        item_id: item_time(
            cover,
            [other for group in ties if item_id in group for other in group if other != item_id],
            accuracy.get((cover.tsa, cover.gen_time), NOT_KNOWN) if cover is not None else NOT_KNOWN,
        )
        for item_id, cover in covered.items()
    }
    count = sum(1 for cover in covered.values() if cover is not None)
    if not tokens:
        case_said = NO_STAMP_RECORDED + (" " + failed_said(attempts) if attempts else "")
    elif not counted_seqs:
        case_said = NO_TIMESTAMP
    elif count == 0:
        case_said = NONE_COVERS_BUNDLE
    elif count < len(covered):
        case_said = (
            f"{count} of the {len(covered)} items of this bundle are covered by an independent timestamp; for the "
            "others every time comes from the investigator's own clock."
        )
    else:
        case_said = f"Every item of this bundle ({count}) is covered by an independent timestamp."
    warning, header = clock_warning(tokens), clock_header(tokens)
    for item_said in per_item.values():
        item_said["clock_warning"] = warning
        item_said["clock_header"] = header
    case = {
        "clock_warning": warning,
        "statement": case_said,
        "any_counted": bool(counted_seqs),
        "items_covered": count,
        "tokens": tokens,
        "pending": pending,
        "superseded": superseded,
        "flagged": sum(1 for row in tokens if row.get("clock_flagged")),
        "ties": ties,
        "checked": evidence.checked,
        "late": [str(said) for said in evidence.late],
        "carried": evidence.carried,
    }
    return case, per_item
