"""What the court-facing documents say about independent time, from hand-made ``timestamp.*`` entries and
verdicts (``documents.timefacts``, the report's section, the certificates' paragraph, the annexes). The
end-to-end tests with real tokens from real TSAs are in test_documents_time_export.py.
"""

from __future__ import annotations

import copy
import html
from typing import Any

from test_report import make_facts

from evidencekit.bundle.documents.certificates import BSA_FILE, FRE_FILE, list_blanks, render_certificates
from evidencekit.bundle.documents.exhibits import PAPERS, ExhibitLayout
from evidencekit.bundle.documents.exhibits_html import HEADER_URL_WIDTH, header_lines, render_exhibit
from evidencekit.bundle.documents.report import render_report
from evidencekit.bundle.documents.timefacts import (
    NO_STAMP_RECORDED,
    NO_TIMESTAMP,
    NOT_CHECKED,
    NOT_CHECKED_ITEM,
    NOT_COVERED,
    TimeEvidence,
    public_url,
    time_facts,
)
from evidencekit.hashing import hash_bytes
from evidencekit.ledger.entries import TimestampObtained, TimestampPending, TimestampSuperseded
from evidencekit.ledger.entries.stamps import StampedCheckpoint, TsaNamed
from evidencekit.ledger.rules.base import TokenVerdict
from evidencekit.models import Actor, Artefact, LedgerEntry

ACTOR = Actor("Ana Lima")
SECRET_URL = "https://tsa-user:hunter2@tsa.example.org/stamp?apikey=SECRET123#frag"


def _entry(seq: int, action: str, details: dict[str, Any], *, subject: str | None = None,
           artefacts: tuple[Artefact, ...] = ()) -> LedgerEntry:  # fmt: skip
    return LedgerEntry(seq, f"2026-12-02T05:{seq:02d}:00.000000Z", "+00:00", ACTOR, action, "C-1", subject,
                       artefacts, details, None)  # fmt: skip


def _item(seq: int, item_id: str) -> LedgerEntry:
    data = hash_bytes(item_id.encode())
    artefact = Artefact("flyer.txt", "original", "text/plain", data)
    return _entry(seq, "file.added", {"original_name": "flyer.txt"}, subject=item_id, artefacts=(artefact,))


def _stamp(seq: int, tree_size: int, tsa: str, gen_time: str | None, *, qualified: bool = False,
           parsed: bool = True, flagged: bool = False, url: str = "https://tsa.example.org/") -> LedgerEntry:  # fmt: skip
    stamp = TimestampObtained(
        TsaNamed(tsa, url, qualified), StampedCheckpoint(tree_size, tree_size, "blake3:" + "ab" * 32), "sha256",
        "sha256:" + "cd" * 32, parsed, gen_time, "1f" if parsed else None, "1.2.3.4.1" if parsed else None,
        "1" if parsed else None, "42", (), "2026-12-02T05:04:20.500000Z", "2026-12-02T05:04:20.700000Z", "0.2",
        ("95.123" if flagged else "0.012") if parsed else None, flagged, None if parsed else "unsorted SET OF",
    )  # fmt: skip
    data = hash_bytes(f"token {seq}".encode())
    artefact = Artefact("timestamp-response.tsr", "timestamp-response", "application/timestamp-reply", data)
    return _entry(seq, TimestampObtained.ACTION, stamp.to_details(), artefacts=(artefact,))


def _pending(seq: int, tree_size: int, tsa: str) -> LedgerEntry:
    pending = TimestampPending(TsaNamed(tsa, SECRET_URL, False), StampedCheckpoint(tree_size, tree_size, "blake3:" + "ab" * 32),
                               "connection refused", "2026-12-02T05:04:20.500000Z")  # fmt: skip
    return _entry(seq, TimestampPending.ACTION, pending.to_details())


def _verdict(entry: LedgerEntry, *, intact: bool = True, established: bool = True, parsed: bool = True,
             problems: tuple[str, ...] = ()) -> TokenVerdict:  # fmt: skip
    d = entry.details
    return TokenVerdict(entry.seq, d["tsa"]["name"], d["checkpoint_seq"], d["gen_time"], parsed, intact, established,
                   problems)  # fmt: skip


ITEMS = {"ITEM-A": [_item(1, "ITEM-A")], "ITEM-B": [_item(2, "ITEM-B")], "ITEM-C": [_item(6, "ITEM-C")]}


def test_a_case_without_any_token_says_so_and_covers_nothing() -> None:
    case, items = time_facts(TimeEvidence(), ITEMS)
    assert case["statement"] == NO_STAMP_RECORDED
    assert NO_STAMP_RECORDED == (
        "No time-stamp token is recorded in this bundle; no time in it is confirmed by anyone but the investigator."
    )
    assert {said["statement"] for said in items.values()} == {NOT_COVERED}
    facts = _with_time(case, items)
    page = _flat(render_report(facts))
    assert f"{NO_STAMP_RECORDED}</li>" in page.replace(" </li>", "</li>") or f"<li>{NO_STAMP_RECORDED}</li>" in page
    # What is written for tokens is not said where there is none.
    for with_tokens in ("lists each time-stamp token and what it proves", "byte for byte",
                        "beyond the offset measured below", "It proves that the checkpoint existed"):  # fmt: skip
        assert with_tokens not in page, with_tokens
    for name, text in render_certificates(facts).items():
        assert NO_STAMP_RECORDED in _flat(text), name
        assert "openssl ts -verify" not in text, name  # no token: nothing for the signer to have checked


def test_each_item_gets_its_earliest_intact_cover_and_the_authorities_counted() -> None:
    alpha = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z")
    beta = _stamp(5, 4, "Beta TSA", "2026-12-02T05:04:22.000000Z", qualified=True)
    late = _stamp(8, 8, "Alpha TSA", "2026-12-02T06:00:00.000000Z")
    evidence = TimeEvidence([alpha, beta, late], [_verdict(alpha), _verdict(beta), _verdict(late)],
                            {"Alpha TSA": "the root the investigator configured for this TSA"})  # fmt: skip
    case, items = time_facts(evidence, ITEMS)
    assert items["ITEM-A"]["statement"] == (
        "independently timestamped: existed no later than 2026-12-02T05:04:21Z (Alpha TSA), 2 authorities"
    )
    assert items["ITEM-C"]["statement"] == (
        "independently timestamped: existed no later than 2026-12-02T06:00:00Z (Alpha TSA), 1 authority"
    )
    # A and B share their earliest cover: said, never ordered.
    assert items["ITEM-A"]["same_time_as"] == ["ITEM-B"] and "not which came first" in items["ITEM-A"]["tie_said"]
    assert items["ITEM-C"]["same_time_as"] == []
    assert case["ties"] == [["ITEM-A", "ITEM-B"]]
    rows = {row["seq"]: row for row in case["tokens"]}
    assert rows[4]["state"] == "intact; TSA established against the root the investigator configured for this TSA"
    assert rows[5]["qualified_said"] == "configured as qualified by the investigator"
    assert rows[4]["qualified_said"] == "not configured as qualified by the investigator"
    assert case["statement"] == "Every item of this bundle (3) is covered by an independent timestamp."


def test_a_token_not_intact_is_not_counted_and_never_called_verified() -> None:
    good = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z")
    bad = _stamp(5, 4, "Beta TSA", "2026-12-02T05:04:19.000000Z")
    evidence = TimeEvidence([good, bad], [_verdict(good, established=False),
                                          _verdict(bad, intact=False, problems=("the signature does not verify",))])  # fmt: skip
    case, items = time_facts(evidence, ITEMS)
    assert items["ITEM-A"]["statement"].endswith("(Alpha TSA), 1 authority")
    rows = {row["seq"]: row for row in case["tokens"]}
    assert rows[5]["state"] == "NOT intact (the signature does not verify); not counted" and not rows[5]["counted"]
    assert rows[4]["state"].startswith("intact; TSA not established")
    page = render_report(_with_time(case, items))
    assert "verified" not in page.split('id="time"')[1].split("</section>")[0].lower()


def test_a_lax_token_is_stored_not_parsed_strictly_and_not_counted() -> None:
    lax = _stamp(4, 4, "Lax TSA", None, parsed=False)
    case, items = time_facts(TimeEvidence([lax], [_verdict(lax, parsed=False, intact=False, established=False)]), ITEMS)
    assert case["tokens"][0]["state"] == "stored, not parsed strictly; not counted"
    assert case["statement"] == NO_TIMESTAMP
    assert items["ITEM-A"]["statement"] == NOT_COVERED
    assert case["tokens"][0]["gen_time"] == "not read (the token is not in strict DER); not counted"
    facts = _with_time(case, items)
    drafts = render_certificates(facts)
    assert "stored, not parsed strictly; not counted" in " ".join(drafts[FRE_FILE].split())
    said = "genTime not read (the token is not in strict DER); not counted"
    for text in (render_report(facts), *drafts.values()):
        assert said in _flat(text).replace("<br>", " ") and "genTime not known" not in _flat(text)


def test_pending_only_covers_nothing_and_lists_the_pending_stamp_without_its_secret() -> None:
    pending = _pending(4, 4, "Down TSA")
    superseded = _entry(9, TimestampSuperseded.ACTION,
                        TimestampSuperseded(StampedCheckpoint(4, 4, "blake3:" + "ab" * 32), 8, ("Down TSA",)).to_details())  # fmt: skip
    later = _pending(10, 10, "Down TSA")
    case, items = time_facts(TimeEvidence([pending, superseded, later], []), ITEMS)
    failed = (
        "A Time-Stamping Authority was configured, but every stamp asked for failed: Down TSA, at "
        "https://tsa.example.org/stamp (user, query, fragment not shown), was asked 2 times and gave no token "
        "(connection refused)."
    )
    assert case["statement"] == f"{NO_STAMP_RECORDED} {failed}"
    # The checkpoint a later entry records superseded is listed only as superseded, not as pending.
    assert [row["tree_size"] for row in case["pending"]] == [10] and case["pending"][0][
        "reason"
    ] == "connection refused"
    assert case["pending"][0]["since"] == "no counted stamp covers the entries of that checkpoint yet"
    facts = _with_time(case, items)
    page = render_report(facts)
    drafts = render_certificates(facts)
    for text in (page, *drafts.values()):
        assert f"{NO_STAMP_RECORDED} {failed}" in _flat(text)
        assert "SECRET123" not in text and "hunter2" not in text and "tsa-user" not in text
    assert "Stamps pending" in page and "superseded by the checkpoint at seq 8" in page
    assert "checkpoint of 4 entries" not in _flat(page).split("Stamps pending")[1].split("Stamps superseded")[0]
    assert "lists each time-stamp token" not in page and "byte for byte" not in page
    for text in drafts.values():
        flat = _flat(text)
        assert (
            f"{failed} Stamps asked for but not obtained (pending): Down TSA for the checkpoint of 10 entries" in flat
        )
        assert "clock.Stamps" not in flat and "for the checkpoint of 4 entries" not in flat


def test_a_flagged_clock_is_said_in_words() -> None:
    stamp = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z", flagged=True)
    case, items = time_facts(TimeEvidence([stamp], [_verdict(stamp)]), ITEMS)
    row = case["tokens"][0]
    assert row["clock_said"].startswith("FLAGGED: the investigator's clock was about 2 min (95.1 s) ahead of the TSA's")
    page = render_report(_with_time(case, items))
    assert "FLAGGED: the investigator's clock was off by more than" in _flat(page)
    fre = " ".join(render_certificates(_with_time(case, items))[FRE_FILE].split())
    assert "FLAGGED: the investigator's clock was about 2 min (95.1 s) ahead of the TSA's" in fre
    assert "measured at each stamp: +95.1 s; FLAGGED at 1 stamp, listed below." in fre


def test_a_flagged_clock_warns_in_the_summary_each_exhibit_and_the_certificates() -> None:
    stamp = _stamp(4, 4, "rsa-tsa", "2026-12-02T05:04:21.000000Z", flagged=True)
    stamp.details["clock_offset_seconds"] = "7200.618668"
    case, items = time_facts(TimeEvidence([stamp], [_verdict(stamp)]), ITEMS)
    warning = (
        "WARNING: the investigator's clock was about 2 h 0 min (7200.6 s) ahead of rsa-tsa when a time-stamp token "
        "was asked for at 2026-12-02T05:04:20.500000Z by that clock; the times in this bundle come from that clock "
        "(see Independent time)."
    )
    assert case["clock_warning"] == warning and all(said["clock_warning"] == warning for said in items.values())
    assert "about 2 h 0 min (7200.6 s) ahead of the TSA's" in case["tokens"][0]["clock_said"]
    facts = _with_time(case, items)
    summary = _flat(render_report(facts)).split("What this bundle shows")[1].split("</section>")[0]
    assert warning in summary
    for name, text in render_certificates(facts).items():
        assert warning in _flat(text).split("Independent time.")[1], name
    item = {**facts["items"][0], "time": items["ITEM-A"]}
    layout = ExhibitLayout("C-1", "C-1-EX1", item, PAPERS["a4"], None, "local zone not set")
    assert f"Clock warning</th><td><strong>{html.escape(warning)}</strong>" in render_exhibit(layout)
    header = header_lines(layout)  # on every page, under the capture time it casts doubt on
    assert header[-1] == "WARNING: investigator's clock about 2 h 0 min (7200.6 s) ahead of a TSA: see page 1"
    assert header[-2].startswith(("Added ", "Captured ", "Attempted "))
    assert len(header[-1]) <= HEADER_URL_WIDTH  # as narrow as a URL line the header is sized for


def test_an_unflagged_offset_is_no_difference_within_accuracy_not_microseconds() -> None:
    stamp = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z")
    stamp.details["clock_offset_seconds"] = "0.618668"
    case, items = time_facts(TimeEvidence([stamp], [_verdict(stamp)]), ITEMS)
    said = case["tokens"][0]["clock_said"]
    assert said.startswith(
        "no difference between the investigator's clock and the TSA's beyond the TSA's stated accuracy and the "
        "round trip (measured 0.6 s ahead)"
    )
    assert case["clock_warning"] == ""
    facts = _with_time(case, items)
    for text in (render_report(facts), *render_certificates(facts).values()):
        assert "0.618668" not in text and "WARNING: the investigator's clock" not in text
    fre = _flat(render_certificates(facts)[FRE_FILE])
    assert (
        "beyond the TSA's stated accuracy and the round trip (measured, the investigator's clock minus the TSA's: +0.6 s)"
        in fre
    )


def test_the_secret_in_a_tsa_url_never_reaches_a_document() -> None:
    stamp = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z", url=SECRET_URL)
    case, items = time_facts(TimeEvidence([stamp], [_verdict(stamp)]), ITEMS)
    assert public_url(SECRET_URL) == "https://tsa.example.org/stamp (user, query, fragment not shown)"
    facts = _with_time(case, items)
    for text in (render_report(facts), *render_certificates(facts).values()):
        assert "SECRET123" not in text and "hunter2" not in text and "tsa-user" not in text
        assert "tsa.example.org/stamp" in text


def test_the_qualified_claim_is_the_investigators_and_asks_to_be_confirmed() -> None:
    stamp = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z", qualified=True)
    case, items = time_facts(TimeEvidence([stamp], [_verdict(stamp)]), ITEMS)
    drafts = render_certificates(_with_time(case, items))
    for name in (FRE_FILE, BSA_FILE):
        flat = " ".join(drafts[name].split())
        assert "The investigator configured Alpha TSA as qualified; this is the investigator's claim" in flat
        assert "applies only if the TSA is in fact a qualified trust service provider" in flat
        assert any("EU trusted list" in blank for blank in list_blanks(drafts[name]))
        assert "Alpha TSA is qualified" not in flat
    bsa = " ".join(drafts[BSA_FILE].split())
    assert "(EU law; relevant where Regulation (EU) No 910/2014 applies)." in bsa
    assert "(EU law; relevant where" not in " ".join(drafts[FRE_FILE].split())
    plain = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z")
    case, items = time_facts(TimeEvidence([plain], [_verdict(plain)]), ITEMS)
    drafts = render_certificates(_with_time(case, items))
    flat = " ".join(drafts[FRE_FILE].split())
    assert "did not configure any of these TSAs as qualified, and no presumption" in flat
    # The Indian draft cites eIDAS only where a TSA is configured as qualified.
    assert "910/2014" not in drafts[BSA_FILE] and "Article 41" not in drafts[BSA_FILE]


def test_the_signer_is_asked_whether_the_tokens_were_checked_and_against_which_root() -> None:
    stamp = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z")
    case, items = time_facts(TimeEvidence([stamp], [_verdict(stamp)]), ITEMS)
    for name, text in render_certificates(_with_time(case, items)).items():
        assert (
            "I [[TO BE COMPLETED: checked / did not check]] the tokens with `openssl ts -verify` as data/VERIFY.txt "
            "section 3 describes, against the TSA root obtained from [[TO BE COMPLETED: source of the TSA root "
            "certificate]]." in _flat(text)
        ), name
        blanks = list_blanks(text)
        assert "checked / did not check" in blanks and "source of the TSA root certificate" in blanks, name


def test_a_whole_second_gen_time_is_printed_at_its_precision_beside_the_accuracy() -> None:
    stamp = _stamp(4, 4, "rsa-tsa", "2026-12-03T09:30:02.000000Z")
    fine = _stamp(5, 4, "ms-tsa", "2026-12-03T09:30:02.530000Z")
    case, items = time_facts(TimeEvidence([stamp], [_verdict(stamp)]), ITEMS)
    assert items["ITEM-A"]["statement"] == (
        "independently timestamped: existed no later than 2026-12-03T09:30:02Z (rsa-tsa), 1 authority"
    )
    assert items["ITEM-A"]["accuracy_said"] == "rsa-tsa states its time accurate to within 1 s"
    facts = _with_time(case, items)
    item = {**facts["items"][0], "time": items["ITEM-A"]}
    layout = ExhibitLayout("C-1", "C-1-EX1", item, PAPERS["a4"], None, "local zone not set")
    for text in (render_report(facts), render_exhibit(layout), *render_certificates(facts).values()):
        flat = _flat(text)
        assert "existed no later than 2026-12-03T09:30:02Z (rsa-tsa)" in flat and ".000000Z (rsa-tsa)" not in flat
        assert "rsa-tsa states its time accurate to within 1 s" in flat
        assert "09:30:02.000000Z" not in flat  # neither in the token table nor in the certificates' token list
    case, items = time_facts(TimeEvidence([fine], [_verdict(fine)]), ITEMS)
    assert "existed no later than 2026-12-03T09:30:02.53Z (ms-tsa)" in items["ITEM-A"]["statement"]


def _flat(text: str) -> str:
    """A document's text with entities decoded and runs of white space made one space (drafts are wrapped)."""
    return " ".join(html.unescape(text).split())


def _with_time(case: dict[str, Any], items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The report test's facts, with this time and each of its items given one of ``items``' time."""
    facts = copy.deepcopy(make_facts())
    facts["time"] = case
    said = list(items.values())
    for index, item in enumerate(facts["items"]):
        item["time"] = said[index % len(said)]
    return facts


def test_time_not_read_is_not_known_never_no_timestamp() -> None:
    case, items = time_facts(None, ITEMS)
    assert case["statement"] == NOT_CHECKED and NO_TIMESTAMP not in case["statement"]
    assert {said["statement"] for said in items.values()} == {NOT_CHECKED_ITEM}
    facts = _with_time(case, items)
    for text in (render_report(facts), *render_certificates(facts).values()):
        assert NOT_CHECKED in _flat(text) and NO_TIMESTAMP not in _flat(text)


def test_entries_recorded_after_a_covering_token_are_named_in_report_and_certificates() -> None:
    stamp = _stamp(4, 4, "Alpha TSA", "2026-12-02T05:04:21.000000Z")
    said = "seq 2: recorded at 2026-12-02T06:00:00.000000Z, 3279.000 s after the genTime of the token at seq 4"
    case, items = time_facts(TimeEvidence([stamp], [_verdict(stamp)], late=[said]), ITEMS)
    facts = _with_time(case, items)
    page = _flat(render_report(facts))
    assert "Entries recorded later than a token covering them" in page and said in page
    for text in render_certificates(facts).values():
        assert f"so their recorded times cannot be right: {said}." in _flat(text)
