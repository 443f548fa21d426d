"""Independent time in exported documents, end to end: real cases stamped by real local TSAs (``tsakit``:
``openssl ts -reply`` behind loopback HTTP), exported with the real CLI; the report, the certificates and
the exhibits state for each item the earliest intact token covering it, with the right TSA and count, or
plainly that none does. Expected values are computed from the case's own ledger entries.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from casekit import INVESTIGATOR, run_cli
from tsakit import TsaServer, down_url

from evidencekit.bundle.documents.timefacts import NO_STAMP_RECORDED, NO_TIMESTAMP, NOT_COVERED
from evidencekit.bundle.layout import BSA_FILE, FRE_FILE
from evidencekit.ledger.database import Ledger
from evidencekit.models import LedgerEntry
from evidencekit.timefmt import utc_now
from evidencekit.timestamps.config import add_authority, remove_authority
from evidencekit.workflows.case import add_files
from evidencekit.workflows.opencase import Session

FAST = {"EVIDENCEKIT_TSA_TIMEOUT": "5"}
CASE_ID = "TRAF-2026-013"


# --- helpers ---------------------------------------------------------------------------------------------


def _new_case(folder: Path) -> Path:
    assert run_cli(["keys", "generate", "--investigator", INVESTIGATOR]).exit_code == 0
    case = folder / "case"
    opened = run_cli(["init", str(case), "--case-id", CASE_ID, "--title", "Time", "--investigator", INVESTIGATOR],
                     env=FAST)  # fmt: skip
    assert opened.exit_code == 0, opened.output
    return case


def _add(case: Path, folder: Path, *names: str) -> None:
    paths = []
    for name in names:
        path = folder / name
        path.write_text(f"evidence {name}\n", encoding="utf-8")
        paths.append(str(path))
    done = run_cli(["--case", str(case), "add", *paths], env=FAST)
    assert done.exit_code == 0, done.output + done.stderr


def _export(case: Path, out: Path, *, pdf: bool = False, online: bool = False) -> Path:
    """Export every item; offline (its own checkpoint left pending) unless ``online``."""
    args = ["--case", str(case), "export", str(out), "--all", "--dir", *([] if pdf else ["--no-pdf"])]
    done = run_cli(args, env={**FAST, **({} if online else {"EVIDENCEKIT_OFFLINE": "1"})})
    assert done.exit_code == 0, done.output + done.stderr
    return out


def _entries(case: Path) -> list[LedgerEntry]:
    with Ledger.open(case / "ledger.sqlite", readonly=True) as ledger:
        return list(ledger.entries())


def _items(entries: list[LedgerEntry]) -> dict[str, int]:
    """Each added file's item id and the seq of the entry that recorded it."""
    return {e.subject: e.seq for e in entries if e.action == "file.added" and e.subject}


def _expected(entries: list[LedgerEntry], seq: int) -> str:
    """The statement for the entry at ``seq``, from the ledger: the earliest genTime of the parsed tokens over
    a tree holding it (every such token here is intact), and how many TSAs have one."""
    tokens = [e for e in entries if e.action == "timestamp.obtained" and e.details["parsed"]]
    over = [e for e in tokens if e.details["tree_size"] > seq]
    first = min(over, key=lambda e: e.details["gen_time"])
    count = len({e.details["tsa"]["name"] for e in over})
    return (
        # The demo TSA gives whole seconds: the genTime is printed at that precision (no ".000000").
        f"independently timestamped: existed no later than {first.details['gen_time'].replace('.000000Z', 'Z')} "
        f"({first.details['tsa']['name']}), {count} authorit{'y' if count == 1 else 'ies'}"
    )


def _flat(text: str) -> str:
    return " ".join(html.unescape(text).split())


def _unbroken(text: str) -> str:
    """Text as a PDF shows it with its words broken after a hyphen joined again."""
    return re.sub(r"-\s+", "-", text)


def _documents(bundle: Path) -> dict[str, str]:
    docs = {"report": _flat((bundle / "data" / "report" / "index.html").read_text(encoding="utf-8"))}
    for name in (FRE_FILE, BSA_FILE):
        docs[name] = _flat((bundle / "data" / "certificates" / name).read_text(encoding="utf-8"))
    return docs


def _pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return _flat(done.stdout)


def _configure(url: str, name: str, ca_file: Path | None, *, qualified: bool = False) -> None:
    add_authority(dict(os.environ), url, name=name, ca_file=ca_file, qualified=qualified)


# --- the tests -------------------------------------------------------------------------------------------


def test_two_tsas_every_document_states_each_items_earliest_time_tsa_and_count(tmp_path: Path, tsa_pki: Any) -> None:
    with TsaServer(tsa_pki, kind="rsa") as rsa, TsaServer(tsa_pki, kind="ecdsa") as ecdsa:
        _configure(rsa.url, "alpha-tsa", rsa.ca_file, qualified=True)
        _configure(ecdsa.url, "beta-tsa", ecdsa.ca_file)
        case = _new_case(tmp_path)
        _add(case, tmp_path, "first.txt", "second.txt")  # one command: one checkpoint covers both
        time.sleep(1.1)  # the RSA TSA states whole seconds: the next stamp is a later time
        _add(case, tmp_path, "third.txt")
    bundle = _export(case, tmp_path / "bundle", pdf=True)
    entries = _entries(case)
    items = _items(entries)
    assert len(items) == 3
    docs = _documents(bundle)
    expected = {item: _expected(entries, seq) for item, seq in items.items()}
    assert all(said.endswith("2 authorities") for said in expected.values()), expected
    for name, text in docs.items():
        for item, said in expected.items():
            assert said in text, (name, item)
        assert NO_TIMESTAMP not in text and NOT_COVERED not in text
    report = docs["report"]
    assert "Independent time (RFC 3161)" in report
    # The report lists exactly the tokens the bundle carries.
    carried = list((bundle / "data" / "custody" / "timestamps").glob("*.tsr"))
    assert "The bundle carries each of these tokens byte for byte under data/custody/timestamps/" in report
    assert carried and report.count("counted</strong>: intact") == len(carried)
    assert "Every item of this bundle (3) is covered by an independent timestamp." in report
    # Both TSAs' tokens are listed, intact and established against the root configured for each.
    assert report.count("intact; TSA established against the root the investigator configured for this TSA") >= 4
    assert "configured as qualified by the investigator" in report and "not configured as qualified" in report
    # first and second were added by one command: the same earliest time, said so and not ordered.
    first, second, third = sorted(items, key=items.__getitem__)
    assert expected[first] == expected[second] and expected[third] != expected[first]
    assert f"The same earliest independent time covers {second}" in report
    assert "not which came first" in docs[FRE_FILE] and "not which came first" in docs[BSA_FILE]
    for name in (FRE_FILE, BSA_FILE):
        text = docs[name]
        assert "Independent time. The bundle's ledger entries record RFC 3161 time-stamp tokens" in text
        assert "It does not prove when a web page was first online" in text
        assert "The investigator configured alpha-tsa as qualified; this is the investigator's claim" in text
        assert "[[TO BE COMPLETED: confirm on the EU trusted list" in text
    assert "6. Independent time." in docs[FRE_FILE] and "4. Independent time." in docs[BSA_FILE]
    # Each exhibit states its own item's time.
    exhibits = sorted((bundle / "data" / "exhibits").glob("*.pdf"))
    assert len(exhibits) == 3
    said_in = [_pdf_text(pdf) for pdf in exhibits]
    for item, said in expected.items():
        pages = [text for text in said_in if f"· Item {item} " in text]
        assert len(pages) == 1 and _unbroken(said) in _unbroken(pages[0]), item
        assert "alpha-tsa" in pages[0] or "beta-tsa" in pages[0]


def test_a_case_without_a_tsa_says_it_has_no_independent_timestamp(tmp_path: Path) -> None:
    case = _new_case(tmp_path)
    _add(case, tmp_path, "only.txt")
    docs = _documents(_export(case, tmp_path / "bundle"))
    for name, text in docs.items():
        assert NO_STAMP_RECORDED in text and "A Time-Stamping Authority was configured" not in text, name
        assert NOT_COVERED in text and "independently timestamped: existed" not in text, name
        assert "byte for byte" not in text and "beyond the offset measured" not in text, name
    assert "lists each time-stamp token" not in docs["report"]


def test_a_pending_only_case_covers_nothing_and_lists_the_pending_stamps(tmp_path: Path) -> None:
    with down_url() as url:
        _configure(url, "down-tsa", None)
        case = _new_case(tmp_path)
        _add(case, tmp_path, "only.txt")
    assert any(e.action == "timestamp.pending" for e in _entries(case))
    docs = _documents(_export(case, tmp_path / "bundle"))
    for name, text in docs.items():
        assert NO_STAMP_RECORDED in text and NOT_COVERED in text, name
        assert "A Time-Stamping Authority was configured, but every stamp asked for failed: down-tsa, at " in text
        assert "independently timestamped: existed" not in text, name
        assert "byte for byte" not in text and "clock.Stamps" not in text, name
    assert "Stamps pending" in docs["report"] and "down-tsa" in docs["report"]
    assert "no counted stamp covers the entries of that checkpoint yet" in docs["report"]
    assert "Stamps asked for but not obtained (pending): down-tsa" in docs[FRE_FILE]


def test_a_lax_token_is_shown_stored_not_parsed_strictly_and_not_counted(tmp_path: Path, tsa_pki: Any) -> None:
    with TsaServer(tsa_pki, kind="lax") as lax:
        _configure(lax.url, "lax-tsa", lax.ca_file)
        case = _new_case(tmp_path)
        _add(case, tmp_path, "only.txt")
        bundle = _export(case, tmp_path / "bundle", online=True)  # the bundle carries its own checkpoint's token
    obtained = [e for e in _entries(case) if e.action == "timestamp.obtained"]
    assert obtained and not any(e.details["parsed"] for e in obtained)
    assert list((bundle / "data" / "custody" / "timestamps").rglob("*.tsr"))
    docs = _documents(bundle)
    for name, text in docs.items():
        assert "stored, not parsed strictly; not counted" in text, name
        assert NO_TIMESTAMP in text and NOT_COVERED in text, name
    assert "<strong>counted</strong>" not in (tmp_path / "bundle" / "data" / "report" / "index.html").read_text()


def test_an_investigator_clock_off_by_an_hour_is_flagged_in_words(tmp_path: Path, tsa_pki: Any) -> None:
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        _configure(rsa.url, "alpha-tsa", rsa.ca_file)
        case = _new_case(tmp_path)
        late = tmp_path / "clock.txt"
        late.write_text("recorded with a clock an hour slow\n", encoding="utf-8")
        session = Session(case, {**os.environ, **FAST}, clock=lambda: utc_now() - timedelta(hours=1))
        add_files(session, [late])
    flagged = [e for e in _entries(case) if e.action == "timestamp.obtained" and e.details["clock_flagged"]]
    assert flagged, "the stamping recorded no flagged offset"
    offset = Decimal(flagged[0].details["clock_offset_seconds"])
    size = f"about 1 h 0 min ({abs(offset).quantize(Decimal('0.1'))} s) behind"
    docs = _documents(_export(case, tmp_path / "bundle"))
    report = docs["report"]
    assert "FLAGGED: the investigator's clock was off by more than the TSA's stated accuracy" in report
    assert f"FLAGGED: the investigator's clock was {size} the TSA's" in report
    assert f"FLAGGED: the investigator's clock was {size} the TSA's" in docs[FRE_FILE]
    warning = f"WARNING: the investigator's clock was {size} alpha-tsa when a time-stamp token was asked for at "
    summary = report.split("What this bundle shows")[1].split("</section>")[0]
    assert warning in summary and warning in docs[FRE_FILE] and warning in docs[BSA_FILE]
    assert "FLAGGED at 1 stamp, listed below." in docs[FRE_FILE] and "FLAGGED at 1 stamp" in docs[BSA_FILE]


def test_a_tsa_no_longer_configured_is_not_established_and_its_query_secret_is_never_shown(
    tmp_path: Path, tsa_pki: Any
) -> None:
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        _configure(rsa.url + "?apikey=SECRET123", "keyed-tsa", rsa.ca_file)
        case = _new_case(tmp_path)
        _add(case, tmp_path, "only.txt")
    remove_authority(dict(os.environ), "keyed-tsa")
    entries = _entries(case)
    assert any(e.action == "timestamp.obtained" and e.details["parsed"] for e in entries)
    bundle = _export(case, tmp_path / "bundle")
    docs = _documents(bundle)
    item, seq = next(iter(_items(entries).items()))
    for name, text in docs.items():
        assert "SECRET123" not in text and "apikey" not in text, name
        assert _expected(entries, seq) in text, name
        assert "intact; TSA not established" in text, name
        assert rsa.url in text, name  # recorded without its query, as the TSA's configuration gives it
    assert "did not configure any of these TSAs as qualified" in docs[FRE_FILE]
    assert item in docs["report"]


def test_an_entry_recorded_later_than_a_token_covering_it_is_listed_in_the_report(tmp_path: Path, tsa_pki: Any) -> None:
    """A file added with the clock 30 min ahead, stamped by the TSA at the real time: the export's documents list
    it among the entries recorded later than a token covering them (the rulebook's time rule over the case)."""
    with TsaServer(tsa_pki, kind="rsa") as rsa:
        _configure(rsa.url, "alpha-tsa", rsa.ca_file)
        case = _new_case(tmp_path)
        ahead = tmp_path / "ahead.txt"
        ahead.write_text("recorded with a clock half an hour fast\n", encoding="utf-8")
        session = Session(case, {**os.environ, **FAST}, clock=lambda: utc_now() + timedelta(minutes=30))
        add_files(session, [ahead])
    added = [e for e in _entries(case) if e.action == "file.added"][-1]
    report = _documents(_export(case, tmp_path / "bundle"))["report"]
    assert "Entries recorded later than a token covering them" in report
    section = report.split("Entries recorded later than a token covering them")[1]
    assert re.search(rf"seq {added.seq}\b[^<]*recorded at {re.escape(added.time)}", section), section[:600]
