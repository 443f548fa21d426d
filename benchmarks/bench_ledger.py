"""Ledger benchmarks (a script, not a test): durable appends vs raw sqlite3, and verifying a large ledger.

1. Durable appends, one transaction per entry, through ``Ledger.append`` (canonical JSON, chain link,
   leaf hash, BEGIN IMMEDIATE) vs raw ``sqlite3`` inserts of rows of the same size, in the same
   durability mode (WAL, synchronous=FULL), on the same disk. Goal: >= 0.5x raw throughput.
2. ``ledger verify`` (the full verify_case: canonical form, chain, Merkle tree, every checkpoint's
   signature and consistency proof, checkpoints.txt and the witness copy) of a ledger of N entries
   (default 100,000) shaped as real use shapes it: every command ends with a signed checkpoint (here one
   note, then a checkpoint: a third of the entries are signed checkpoints). Goal: under 10 s.

Usage: python benchmarks/bench_ledger.py [--appends 2000] [--entries 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import best_of, ratio_line

from evidencekit.ledger.database import Ledger, entry_leaf_hash
from evidencekit.models import Actor, EntryDraft
from evidencekit.workflows import case as api
from evidencekit.workflows.keys import generate_investigator_key
from evidencekit.workflows.opencase import checkpoint_draft, publish_checkpoints
from evidencekit.workflows.verify_case import verify_case

ACTOR = Actor("Bench Investigator", "0123456789abcdef")
TEXT = "Phone +44 20 7946 0958 seen again in a new 'au pair wanted' ad; screenshot taken. "


def bench_appends(folder: Path, count: int, repeat: int) -> None:
    def ours() -> int:
        path = folder / f"ours-{time.monotonic_ns()}.sqlite"
        with Ledger.create(path, "BENCH") as ledger:
            for i in range(count):
                ledger.append(EntryDraft("note.added", ACTOR, details={"text": f"{TEXT}{i}"}))
            return ledger.size()

    sample = EntryDraft("note.added", ACTOR, details={"text": TEXT + "0"})
    with Ledger.create(folder / "sample.sqlite", "BENCH") as ledger:
        row_bytes = len(ledger.append(sample).raw)

    def raw() -> int:
        path = folder / f"raw-{time.monotonic_ns()}.sqlite"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, action TEXT, subject TEXT, entry BLOB, leaf TEXT)")
        payload = os.urandom(row_bytes // 2).hex().encode()
        for i in range(count):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", (i, "note.added", None, payload, "0" * 64))
            conn.execute("COMMIT")
        conn.close()
        return count

    t_ours, _ = best_of("evidencekit Ledger.append", ours, repeat=repeat)
    t_raw, _ = best_of("raw sqlite3 insert", raw, repeat=repeat)
    print(
        f"\n== Durable appends: {count} entries, one transaction each, WAL + synchronous=FULL ({row_bytes}-byte rows)"
    )
    for t in (t_ours, t_raw):
        print(f"{t.label:<30} {count / t.seconds:10.0f} entries/s   best {t.seconds:7.3f} s")
    print(
        ratio_line("Ledger.append throughput vs raw sqlite3", count / t_ours.seconds, count / t_raw.seconds, goal=0.5)
    )


def bench_verify(folder: Path, entries: int, repeat: int, per_checkpoint: int) -> None:
    """A ledger as real use makes it: every command (here: a note) ends with a signed checkpoint."""
    environ = {"XDG_CONFIG_HOME": str(folder / "config"), "HOME": str(folder)}
    generate_investigator_key(environ, "Bench Investigator")
    session = api.Session(folder / "case", environ)
    api.init_case(session, case_id="BENCH-1", title="Benchmark", investigator="Bench Investigator", agency=None)
    api.checkpoint(session)  # registers the key
    start = time.perf_counter()
    with api.open_case(session) as case:
        assert case.key is not None
        tree = case.ledger.tree()
        while case.ledger.size() < entries:
            with case.ledger.transaction() as txn:
                for i in range(min(1000, entries - case.ledger.size())):
                    draft = EntryDraft("note.added", case.actor, details={"text": f"{TEXT}{i}"})
                    tree.append(entry_leaf_hash(txn.append(draft).raw))
                    if i % per_checkpoint == per_checkpoint - 1:
                        signed = txn.append(checkpoint_draft(case.info, case.actor, tree, case.key))
                        tree.append(entry_leaf_hash(signed.raw))
            publish_checkpoints(case, txn)
    built = time.perf_counter() - start
    t_verify, report = best_of("evidencekit ledger verify", lambda: verify_case(session), repeat=repeat)
    print(
        f"\n== Full ledger verify of {report.entries} entries, {report.checkpoints} signed checkpoints "
        f"(one per {per_checkpoint} entries; built in {built:.1f} s)"
    )
    print(f"problems found: {len(report.problems)}")
    print(f"{t_verify.label:<30} best {t_verify.seconds:7.3f} s  ({report.entries / t_verify.seconds:,.0f} entries/s)")
    print(f"goal < 10 s: {'met' if t_verify.seconds < 10 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-checkpoint", type=int, default=2, help="entries between signed checkpoints")
    parser.add_argument("--dir", type=Path, help="Folder on the disk to measure (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ledger-", dir=args.dir) as tmp:
        folder = Path(tmp)
        bench_appends(folder, args.appends, args.repeat)
        bench_verify(folder, args.entries, args.repeat, args.per_checkpoint)


if __name__ == "__main__":
    main()
