"""The report's section "Independent time (RFC 3161)": what independent Time-Stamping Authorities vouch
for, token by token, with the investigator's clock measured against each; and each item's one line.

Every word comes from ``facts["time"]`` (``documents.timefacts``). A flagged clock offset says FLAGGED in
words, never only in colour; a token the check did not find intact is never called verified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evidencekit.bundle.documents.report_facts import mapping, plain, sequence
from evidencekit.bundle.documents.report_html import esc, moment_html, mono, table
from evidencekit.bundle.documents.timefacts import NO_TIMESTAMP, NOT_COVERED
from evidencekit.ledger.timecover import as_given

WHAT_IT_PROVES = (
    "An RFC 3161 time-stamp token is signed by a Time-Stamping Authority (TSA), independent of the investigator, "
    "over the SHA-256 of a signed checkpoint of the case ledger. It proves that the checkpoint existed no later "
    "than the time the TSA states in it (its genTime) and, through the Merkle tree, that every ledger entry and "
    "recorded file the checkpoint covers existed no later than that time. It does not prove when a web page was "
    "first online, nor that the investigator's clock was accurate beyond the offset measured below. A genTime is "
    "exact only to the accuracy its TSA states, so an entry recorded by the investigator's clock within that "
    "accuracy after it is no contradiction. Only tokens "
    "the check found intact are counted; whether a TSA is established (its certificate chain reaches a trusted "
    "root) is stated beside each."
)


def item_time_html(item: Mapping[str, Any]) -> str:
    """An item's independent time: the statement, and the items sharing the same earliest time."""
    said = mapping(item.get("time"), "item.time")
    statement = esc(said.get("statement") or NOT_COVERED)
    accuracy = f'<br><span class="muted">{esc(said.get("accuracy_said"))}</span>' if said.get("accuracy_said") else ""
    tie = f'<br><span class="tie">{esc(said.get("tie_said"))}</span>' if said.get("tie_said") else ""
    return statement + accuracy + tie


def _clock_cell(row: Mapping[str, Any]) -> str:
    flagged = row.get("clock_flagged") is True
    said = esc(row.get("clock_said"))
    times = (
        f"asked {moment_html(row.get('requested'))}<br>answered {moment_html(row.get('answered'))}"
        if row.get("requested") or row.get("answered")
        else ""
    )
    body = (f'<strong class="flagged">{said}</strong>' if flagged else said) + (f"<br>{times}" if times else "")
    return body


def _token_rows(tokens: Sequence[Any]) -> list[list[str]]:
    rows = []
    for row in (mapping(t, "time token") for t in tokens):
        tsa = esc(row.get("tsa")) + f'<br><span class="url">{esc(row.get("url"))}</span>'
        tsa += f'<br><span class="muted">{esc(row.get("qualified_said"))}</span>' if row.get("qualified_said") else ""
        token = "<br>".join(
            f"{name} {value}"
            for name, value in (
                (
                    "genTime",
                    moment_html(as_given(plain(row.get("gen_time"))))
                    if row.get("parsed", True)
                    else esc(row.get("gen_time")),
                ),
                ("serial", mono(row.get("serial_number"))),
                ("policy", mono(row.get("policy"))),
                ("accuracy", esc(row.get("accuracy"))),
                ("hash", esc(row.get("hash_algorithm"))),
            )
        )
        checkpoint = f"{esc(row.get('tree_size'))} entries (seq {esc(row.get('checkpoint_seq'))})"
        state = ("<strong>counted</strong>: " if row.get("counted") else "") + esc(row.get("state"))
        rows.append(
            [f'<span class="num">{esc(row.get("seq"))}</span>', tsa, token, checkpoint, state, _clock_cell(row)]
        )
    return rows


def _pending(pending: Sequence[Any]) -> str:
    rows = [
        [
            esc(p.get("tsa")),
            f"{esc(p.get('tree_size'))} entries",
            esc(p.get("reason")),
            moment_html(p.get("requested")) if p.get("requested") != "not known" else esc(p.get("requested")),
            esc(p.get("since")),
        ]
        for p in (mapping(x, "pending stamp") for x in pending)
    ]
    columns = [("TSA", ""), ("Checkpoint", "w-cp"), ("Why no stamp", ""), ("Asked (investigator's clock)", "w-time")]
    return "<h3>Stamps pending</h3>" + table([*columns, ("Since", "")], rows, "") if rows else ""


def _superseded(superseded: Sequence[Any]) -> str:
    said = []
    for s in (mapping(x, "superseded stamp") for x in superseded):
        tsas = ", ".join(plain(t) for t in sequence(s.get("tsas"), "tsas"))
        said.append(
            f"<li>The pending stamp of the checkpoint of {esc(s.get('tree_size'))} entries was superseded by the "
            f"checkpoint at seq {esc(s.get('by_seq'))} ({esc(tsas)}), which covers it.</li>"
        )
    return "<h3>Stamps superseded</h3><ul>" + "".join(said) + "</ul>" if said else ""


def _ties(ties: Sequence[Any], items: Sequence[Mapping[str, Any]]) -> str:
    shown = {plain(i.get("item_id")): plain(i.get("exhibit")) or plain(i.get("item_id")) for i in items}
    said = [
        "<li>"
        + esc(", ".join(shown.get(plain(i), plain(i)) for i in sequence(group, "tie")))
        + ": the same earliest independent time covers them; the timestamps show that each existed by then, "
        "not which came first.</li>"
        for group in ties
    ]
    return "<h3>Items with the same independent time</h3><ul>" + "".join(said) + "</ul>" if said else ""


def _late(late: Sequence[Any]) -> str:
    if not late:
        return ""
    said = "".join(f"<li>{esc(line)}</li>" for line in late)
    return (
        "<h3>Entries recorded later than a token covering them</h3><p><strong>The check found entries whose "
        "recorded time is later than the independent time of a token covering them: their time as recorded "
        f"cannot be right.</strong></p><ul>{said}</ul>"
    )


def time_section(facts: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str:
    time = mapping(facts.get("time"), "time")
    statement = plain(time.get("statement")) or NO_TIMESTAMP
    tokens = sequence(time.get("tokens"), "time.tokens")
    flagged = time.get("flagged")
    flag_said = (
        f"<p><strong class=\"flagged\">FLAGGED: the investigator's clock was off by more than the TSA's stated "
        f"accuracy plus the round trip for {esc(flagged)} of these stamps (see the Clock column).</strong></p>"
        if isinstance(flagged, int) and not isinstance(flagged, bool) and flagged > 0
        else ""
    )
    columns = [("Seq", "w-seq"), ("TSA", ""), ("Token", ""), ("Checkpoint", "w-cp"), ("Check", "")]
    columns.append(("Clock (investigator's against the TSA's)", ""))
    per_item = [[esc(i.get("exhibit") or i.get("item_id")), item_time_html(i)] for i in items]
    # What a token proves, and how to check those carried, only where a token is carried.
    token_part = (
        f"<p>{esc(WHAT_IT_PROVES)}</p>"
        + flag_said
        + "<h3>Tokens</h3>"
        + (
            "<p>The bundle carries each of these tokens byte for byte under data/custody/timestamps/, with the "
            "checkpoint note it stamps; data/VERIFY.txt shows how to check them with openssl.</p>"
            if time.get("carried") is True
            else ""
        )
        + table(columns, _token_rows(tokens), "")
        if tokens
        else ""
    )
    return (
        '<section class="time" id="time"><h2>Independent time (RFC 3161)</h2>'
        f'<p class="lead">{esc(statement)}</p>'
        + token_part
        + _pending(sequence(time.get("pending"), "time.pending"))
        + _superseded(sequence(time.get("superseded"), "time.superseded"))
        + "<h3>Each item</h3>"
        + table([("Exhibit", "c-exhibit"), ("Independent time", "")], per_item, "This bundle holds no items.")
        + _ties(sequence(time.get("ties"), "time.ties"), items)
        + _late(sequence(time.get("late"), "time.late"))
        + "</section>"
    )


def time_rows(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The item page's row."""
    return [("Independent time", item_time_html(item))]
