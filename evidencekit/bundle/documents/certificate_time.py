"""The certificates' paragraph on independent time (RFC 3161): which Time-Stamping Authorities vouch for
what, stated as facts from ``facts["time"]`` (``documents.timefacts``), with what a token proves and what
it does not, and what eIDAS article 41 does and does not give (a qualified mark is the investigator's claim,
which the certifying person must confirm).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from evidencekit.bundle.documents.certificate_annex import Clock
from evidencekit.bundle.documents.report_facts import mapping, plain, sequence
from evidencekit.bundle.documents.timefacts import NO_TIMESTAMP, tenths
from evidencekit.bundle.shown import blank
from evidencekit.bundle.shown import one_line as _one
from evidencekit.ledger.entries import NOT_KNOWN
from evidencekit.ledger.timecover import as_given

PROVES = (
    "A token proves that the checkpoint it is over existed no later than the time the TSA states in it (its "
    "genTime) and, through the Merkle tree of the ledger, that every ledger entry and recorded file that "
    "checkpoint covers existed no later than that time. It does not prove when a web page was first online, "
    "nor that the investigator's clock was accurate beyond the offset measured against the TSA and stated below."
)


def _when(clock: Clock, value: Any) -> str:
    text = plain(value)
    return clock.when(value) if text and text != NOT_KNOWN else NOT_KNOWN


def _where(row: Mapping[str, Any]) -> str:
    return (
        f"token recorded at ledger seq {_one(row.get('seq'))}, over the checkpoint of {_one(row.get('tree_size'))} "
        f"entries (seq {_one(row.get('checkpoint_seq'))})"
    )


def _token(row: Mapping[str, Any], clock: Clock) -> str:
    """One token in full (those not counted, and those whose clock offset is flagged)."""
    head = f"   - {_one(row.get('tsa'))}: {_where(row)}"
    if not row.get("parsed", True):
        return f"{head}: {_one(row.get('state'))}; genTime {_one(row.get('gen_time'))}."
    return (
        f"{head}; genTime {_when(clock, as_given(plain(row.get('gen_time'))))}, "
        f"serial number {_one(row.get('serial_number'))}. "
        f"Check: {_one(row.get('state'))}. Clock: asked at {_when(clock, row.get('requested'))} and answered at "
        f"{_when(clock, row.get('answered'))} by the investigator's clock; {_one(row.get('clock_said'))}."
    )


def _offset(row: Mapping[str, Any]) -> Decimal | None:
    try:
        return Decimal(plain(row.get("clock_offset_seconds")))
    except InvalidOperation:
        return None


def _authority(rows: Sequence[Mapping[str, Any]], clock: Clock) -> str:
    """What one TSA's tokens say, together: how many, how many counted and why, the span of their genTimes,
    what they state, and the investigator's clock measured against it."""
    first = rows[0]
    counted = [row for row in rows if row.get("counted")]
    times = sorted(plain(row.get("gen_time")) for row in counted if plain(row.get("gen_time")) not in ("", NOT_KNOWN))
    times = [as_given(t) for t in times]  # at the precision the token gives
    if not times:
        span = "none of them counted"
    elif times[0] == times[-1]:
        span = f"genTime {_when(clock, times[0])}"
    else:
        span = f"genTimes from {_when(clock, times[0])} to {_when(clock, times[-1])}"

    def said(key: str) -> str:
        return ", ".join(dict.fromkeys(_one(row.get(key)) for row in counted)) or NOT_KNOWN

    checks = "; ".join(dict.fromkeys(_one(row.get("state")) for row in counted))
    offsets = [found for row in counted if (found := _offset(row)) is not None]
    flagged = sum(1 for row in rows if row.get("clock_flagged") is True)
    low, high = (
        f"{'-' if o < 0 else '+'}{tenths(abs(o))} s"
        for o in (min(offsets or [Decimal(0)]), max(offsets or [Decimal(0)]))
    )
    span_said = low if low == high else f"from {low} to {high}"
    if not offsets:
        measured = "the investigator's clock offset: not known"
    elif flagged:
        measured = f"the investigator's clock minus the TSA's, measured at each stamp: {span_said}"
    else:
        measured = (
            "no difference between the investigator's clock and the TSA's beyond the TSA's stated accuracy and the "
            f"round trip (measured, the investigator's clock minus the TSA's: {span_said})"
        )
    return (
        f"   - {_one(first.get('tsa'))} ({_one(first.get('url'))}; {_one(first.get('qualified_said'))}): "
        f"{_plural(len(rows), 'token')} recorded, {len(counted)} counted" + (f" ({checks})" if checks else "")
        + f"; {span}; policy {said('policy')}; accuracy {said('accuracy')}; hash algorithm {said('hash_algorithm')}; "
        f"{measured}" + (f"; FLAGGED at {_plural(flagged, 'stamp')}, listed below" if flagged else "") + "."
    )  # fmt: skip


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _tokens(tokens: Sequence[Mapping[str, Any]], clock: Clock) -> str:
    """Each TSA's tokens together, then in full each token not counted or with a flagged clock offset."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in tokens:
        key = (_one(row.get("tsa")), _one(row.get("url")), _one(row.get("qualified_said")))
        groups.setdefault(key, []).append(row)
    lines = [_authority(rows, clock) for rows in groups.values()]
    apart = [row for row in tokens if not row.get("counted") or row.get("clock_flagged") is True]
    if apart:
        lines.append("   Tokens not counted, or whose clock offset is flagged:")
        lines += [_token(row, clock) for row in apart]
    lines.append(
        "   The report (data/report/index.html, section Independent time) lists every token with its serial "
        "number and the investigator's clock when it was asked for and answered."
    )
    return "\n".join(lines)


def _pending(pending: Sequence[Mapping[str, Any]]) -> str:
    if not pending:
        return ""
    said = "; ".join(
        f"{_one(p.get('tsa'))} for the checkpoint of {_one(p.get('tree_size'))} entries ({_one(p.get('reason'))}; "
        f"{_one(p.get('since'))})"
        for p in pending
    )
    return f" Stamps asked for but not obtained (pending): {said}."


def _late(time: Mapping[str, Any]) -> str:
    late = [_one(line) for line in sequence(time.get("late"), "time.late")]
    if not late:
        return ""
    return (
        " The check found entries recorded later than the independent time of a token covering them, so their "
        f"recorded times cannot be right: {'; '.join(late)}."
    )


def _qualified(tokens: Sequence[Mapping[str, Any]], bsa: bool) -> str:
    """eIDAS article 41. The Indian draft cites it only when the investigator configured a TSA as qualified,
    and then as EU law, relevant where that Regulation applies."""
    claimed = list(dict.fromkeys(_one(t.get("tsa")) for t in tokens if t.get("counted") and t.get("qualified")))
    if bsa and not claimed:
        return ""
    law = (
        "Under Article 41(2) of Regulation (EU) No 910/2014 (eIDAS), a qualified electronic time stamp enjoys a "
        "presumption of the accuracy of its date and time and of the integrity of the data to which it is bound; "
        "that presumption applies only if the TSA is in fact a qualified trust service provider for time stamps"
        + (" (EU law; relevant where Regulation (EU) No 910/2014 applies)." if bsa else ".")
    )
    if claimed:
        return (
            f" {law} The investigator configured {', '.join(claimed)} as qualified; this is the investigator's "
            "claim, not checked by the software. Whether each was qualified at its genTime: "
            + blank("confirm on the EU trusted list (eidas.ec.europa.eu/efda/tl-browser) or strike out")
            + "."
        )
    return (
        f" {law} The investigator did not configure any of these TSAs as qualified, and no presumption under "
        "Article 41(2) is claimed; under Article 41(1) a time stamp is not denied legal effect solely because it "
        "is electronic or not qualified."
    )


def _checked_by_signer() -> str:
    """The signer affirms only what the signer did: whether the tokens were checked with openssl, and against
    which root, are blanks to fill in."""
    return (
        f" I {blank('checked / did not check')} the tokens with `openssl ts -verify` as data/VERIFY.txt section 3 "
        f"describes, against the TSA root obtained from {blank('source of the TSA root certificate')}."
    )


def time_paragraph(facts: Mapping[str, Any], clock: Clock, annex: str, *, bsa: bool = False) -> str:
    """The paragraph (its body, after its number and heading) for both drafts (``bsa``: the Indian one)."""
    time = mapping(facts.get("time"), "time")
    tokens = [mapping(t, "time token") for t in sequence(time.get("tokens"), "time.tokens")]
    pending = [mapping(p, "pending stamp") for p in sequence(time.get("pending"), "time.pending")]
    statement = _one(time.get("statement")) or NO_TIMESTAMP
    if time.get("clock_warning"):
        statement = f"{_one(time.get('clock_warning'))} {statement}"
    if not time.get("any_counted"):
        listed = "\n".join(_token(row, clock) for row in tokens)
        return (
            statement
            + (" Tokens recorded but not counted:\n" + listed if listed else "")
            + ("\n  " if listed and pending else "")
            + _pending(pending)
            + (_checked_by_signer() if tokens else "")
        ).strip()
    ties = [", ".join(_one(t) for t in sequence(group, "tie")) for group in sequence(time.get("ties"), "time.ties")]
    tie_said = (
        " The same earliest independent time covers each of these groups of items, so the timestamps show that "
        f"each existed by then, not which came first: {'; '.join(ties)}."
        if ties
        else ""
    )
    return (
        "The bundle's ledger entries record RFC 3161 time-stamp tokens from Time-Stamping Authorities (TSAs) "
        f"independent of the investigator, over signed checkpoints of the case ledger. {PROVES} {statement} "
        f"{annex} states for each item the earliest independent time covering it; only tokens the check found "
        f"intact are counted.{tie_said}{_late(time)}{_pending(pending)}{_qualified(tokens, bsa)}"
        f"{_checked_by_signer()} The tokens, by TSA:\n" + _tokens(tokens, clock)
    )
