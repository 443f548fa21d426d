"""The independent time a bundle carries (``bundle.timestamps``), checked offline.

Each checkpoint's note file must be the note the ledger lines record (or, for the bundle's own checkpoint,
``data/custody/checkpoint`` itself), signed by a key the ledger records, and consistent with the bundle's
signed tree (RFC 9162 consistency proof). Each token file must be present, byte for byte what its ledger
entry (and ``index.json``) recorded, strictly parsed, over the SHA-256 of its own checkpoint's note (an
imprint of another checkpoint's note is a token swapped between checkpoints, and both are named), signed by
a certificate with the timeStamping EKU valid at genTime; with ``--tsa-roots`` its chain must reach one of
them, else the token is intact but its TSA not established. A token the strict parser refuses is stored,
not parsed strictly: never counted. Every ledger line a counted token covers must have been recorded no
later than its genTime (plus the TSA's stated accuracy and 2 s); then each item's earliest counted token is
its independent time ("existed no later than").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from evidencekit.bundle.bagit import SAFE_PATH
from evidencekit.bundle.findings import BundleReport
from evidencekit.bundle.layout import CHECKPOINT, TIMESTAMP_INDEX, TIMESTAMPS
from evidencekit.errors import ValidationError
from evidencekit.hashing import Digests, blake3_bytes, hash_bytes
from evidencekit.keys import PublicKey
from evidencekit.ledger.entries import CheckpointSigned, TimestampObtained, group_items, parse
from evidencekit.ledger.merkle import verify_consistency
from evidencekit.ledger.notes import Checkpoint, SignedNote
from evidencekit.ledger.rules import Tokens, TokenVerdict
from evidencekit.ledger.rules.base import UNPARSED
from evidencekit.ledger.rules.timestamps import Covering, late_entries
from evidencekit.ledger.timecover import as_given, recording_seq
from evidencekit.models import LedgerEntry, Problem
from evidencekit.timefmt import parse_time
from evidencekit.timestamps.token import TokenCheck, check_token, read_token

_MAX_TOKEN = 1024 * 1024
_MAX_INDEX = 16 * 1024 * 1024


@dataclass(frozen=True)
class _Counted:
    """An intact token over a sound checkpoint: it proves the entries before ``tree_size`` existed by then."""

    tree_size: int
    gen_time: str
    tsa: str
    qualified: bool
    established: bool
    accuracy: float  # seconds, as the token states (0 when it states none)
    in_excerpt: bool  # its ledger line is in the bundle (so the rulebook held the entries' times to it)


@dataclass
class _Note:
    seq: int
    rel: str
    data: bytes | None
    sound: bool = False


def _read(root: Path, rel: object, limit: int) -> bytes | None:
    if not isinstance(rel, str) or not rel.startswith(TIMESTAMPS + "/") or not SAFE_PATH.fullmatch(rel):
        return None
    path = root / rel
    if not path.is_file() or path.stat().st_size > limit:
        return None
    return path.read_bytes()


def _read_index(root: Path, report: BundleReport) -> dict[str, Any] | None:
    path = root / TIMESTAMP_INDEX
    try:
        if path.stat().st_size > _MAX_INDEX:
            raise ValueError("far too large")
        index = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(index, dict) or not isinstance(index.get("checkpoints"), list):
            raise ValueError("no list of checkpoints")
        for cp in index["checkpoints"]:
            if not isinstance(cp, dict) or not isinstance(cp.get("checkpoint_seq"), int):
                raise ValueError("a checkpoint without its seq")
            if not isinstance(cp.get("tokens"), list) or not all(isinstance(t, dict) for t in cp["tokens"]):
                raise ValueError(f"checkpoint seq {cp['checkpoint_seq']}: no list of tokens")
        return index
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        report.add("timestamp.index", f"index.json cannot be read: {exc}", path=TIMESTAMP_INDEX)
        return None


def _recorded(entries: Sequence[LedgerEntry]) -> dict[int, tuple[LedgerEntry, TimestampObtained]]:
    found = {}
    for entry in entries:
        if entry.action == TimestampObtained.ACTION:
            parsed = parse(entry)
            if isinstance(parsed, TimestampObtained):
                found[entry.seq] = (entry, parsed)
    return found


def _files_on_disk(root: Path) -> set[str]:
    folder = root / TIMESTAMPS
    if not folder.is_dir():
        return set()
    return {p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file()}


def bundle_tokens(root: Path) -> Tokens:
    """The token bytes of each ``timestamp.obtained`` ledger line, from the file ``index.json`` lists for it
    (None: none listed, or absent), for the rulebook's timestamp rule (``ledger.rules.audit_excerpt``)."""
    files: dict[int, str] = {}
    try:
        index = json.loads((root / TIMESTAMP_INDEX).read_text(encoding="utf-8"))
        for cp in index["checkpoints"]:
            for token in cp["tokens"]:
                if isinstance(token.get("ledger_seq"), int) and isinstance(token.get("file"), str):
                    files[token["ledger_seq"]] = token["file"]
    except (OSError, ValueError, UnicodeDecodeError, RecursionError, TypeError, KeyError, AttributeError):
        pass  # check_timestamps reports an unreadable index; no token is found through it

    def tokens(entry: LedgerEntry) -> bytes | None:
        rel = files.get(entry.seq)
        return _read(root, rel, _MAX_TOKEN) if rel is not None else None

    return tokens


def check_timestamps(
    root: Path,
    report: BundleReport,
    entries: Sequence[LedgerEntry],
    keys: Sequence[PublicKey],
    items: set[str],
    tsa_roots: Sequence[x509.Certificate] = (),
    verdicts: Sequence[TokenVerdict] = (),
) -> None:
    """Check ``data/custody/timestamps/`` against the ledger lines (``entries``), the bundle's checkpoint and
    the investigator keys the ledger records (``keys``); state each item's independent time in the facts.

    The tokens the ledger lines record were already held to their entries by the rulebook (``verdicts``,
    from ``audit_excerpt`` given ``bundle_tokens``): their problems are reported there, by seq; here each file
    is named, and the tokens over the bundle's own checkpoint (recorded after it, so in no ledger line) are
    checked with ``timestamps.token`` directly."""
    recorded = _recorded(entries)
    by_seq = {e.seq: e for e in entries}
    judged = {v.seq: v for v in verdicts}
    on_disk = _files_on_disk(root)
    facts: dict[str, Any] = {"tokens": [], "items": {}, "tsa_roots": len(tsa_roots)}
    report.facts["timestamps"] = facts
    if not (root / TIMESTAMP_INDEX).exists():
        for rel in sorted(on_disk):
            report.add("timestamp.unlisted", f"no {TIMESTAMP_INDEX} names this file", path=rel)
        if not recorded:
            facts["statement"] = "no independent timestamp: the bundle carries no RFC 3161 token"
        return
    report.checks.append(
        "RFC 3161 timestamps (data/custody/timestamps/): each token present and as recorded, over its "
        "checkpoint's note, signed by a timeStamping certificate valid at genTime, chained to a root given "
        "with --tsa-roots; each note the recorded, signed checkpoint, consistent with the bundle's"
    )
    index = _read_index(root, report)
    if index is None:
        return
    listed: set[str] = {TIMESTAMP_INDEX}
    bundle_note = (root / CHECKPOINT).read_bytes() if (root / CHECKPOINT).is_file() else b""
    notes = {}
    for cp in index["checkpoints"]:
        seq = cp["checkpoint_seq"]
        rel = cp.get("note")
        listed.add(str(rel))
        notes[seq] = _Note(seq, str(rel), _read(root, rel, _MAX_INDEX))
    by_imprint = {hash_bytes(n.data).sha256: n for n in notes.values() if n.data is not None}
    counted: list[_Counted] = []
    for cp in index["checkpoints"]:
        note = notes[cp["checkpoint_seq"]]
        note.sound = _check_note(note, cp, bundle_note, by_seq, keys, report)
        for token in cp["tokens"]:
            listed.update(str(token.get(k)) for k in ("file", "certificates") if token.get(k))
            carried = _Carried(note, token, recorded, by_imprint, judged)
            found = carried.check(root, tsa_roots, report)
            if found is not None:
                facts["tokens"].append(found[1])
                if found[0] is not None:
                    counted.append(found[0])
    for rel in sorted(on_disk - listed):
        report.add("timestamp.unlisted", f"{TIMESTAMP_INDEX} names no such file", path=rel)
    for unanswered in index.get("not_stamped_at_export") or []:
        if isinstance(unanswered, dict):
            facts.setdefault("not_stamped_at_export", []).append(unanswered)
    _check_backdating(entries, [c for c in counted if not c.in_excerpt], report)
    _item_times(entries, items, counted, facts)


def _check_note(
    note: _Note,
    cp: dict[str, Any],
    bundle_note: bytes,
    by_seq: dict[int, LedgerEntry],
    keys: Sequence[PublicKey],
    report: BundleReport,
) -> bool:
    """Whether the note file is that checkpoint's signed note, recorded and consistent with the bundle's tree."""
    if note.data is None:
        report.add("timestamp.note", f"listed in {TIMESTAMP_INDEX} but absent from the bundle", path=note.rel)
        return False
    faults = []
    if cp.get("note_sha256") != "sha256:" + hash_bytes(note.data).sha256:
        faults.append(f"its SHA-256 is not the one {TIMESTAMP_INDEX} records")
    try:
        signed = SignedNote.parse(note.data.decode("utf-8"))
        checkpoint = Checkpoint.parse(signed.body)
    except (ValidationError, UnicodeDecodeError) as exc:
        report.add("timestamp.note", f"altered: not a signed checkpoint note ({exc})", path=note.rel)
        return False
    if checkpoint.size != note.seq or cp.get("root") != "blake3:" + checkpoint.root.hex():
        faults.append(f"it signs tree size {checkpoint.size}, not the checkpoint of seq {note.seq} the index names")
    if not any(signed.verify_with(key) for key in keys):
        faults.append("no investigator key the ledger records verifies its signature")
    bundle = _bundle_checkpoint(bundle_note)
    if bundle is not None and note.seq == bundle.size:
        if note.data != bundle_note:
            faults.append(f"it is not {CHECKPOINT}, the bundle's checkpoint of that tree size")
    elif bundle is not None:
        proof = cp.get("consistency_proof")
        try:
            nodes = [bytes.fromhex(h) for h in proof] if isinstance(proof, list) else None
        except (ValueError, TypeError):
            nodes = None
        if nodes is None or not verify_consistency(
            blake3_bytes, checkpoint.size, bundle.size, checkpoint.root, bundle.root, nodes
        ):
            faults.append(f"no valid consistency proof from its tree to the bundle's checkpoint ({CHECKPOINT})")
        entry = by_seq.get(note.seq)
        if entry is not None and entry.action == CheckpointSigned.ACTION:
            if str(entry.details.get("note", "")).encode("utf-8") != note.data:
                faults.append(f"it is not the note the ledger records at seq {note.seq}")
        elif cp.get("in_ledger_excerpt"):
            faults.append(f"the ledger lines hold no checkpoint.signed entry at seq {note.seq}")
    for fault in faults:
        report.add("timestamp.note", f"altered: {fault}", path=note.rel)
    return not faults


def _bundle_checkpoint(text: bytes) -> Checkpoint | None:
    try:
        return SignedNote.parse(text.decode("utf-8")).checkpoint()
    except (ValidationError, UnicodeDecodeError):
        return None


class _Carried:
    """One token the index lists, checked against its file, its ledger line and its checkpoint's note."""

    def __init__(
        self,
        note: _Note,
        token: dict[str, Any],
        recorded: dict[int, tuple[LedgerEntry, TimestampObtained]],
        by_imprint: dict[str, _Note],
        judged: dict[int, TokenVerdict],
    ) -> None:
        self.note, self.token, self.by_imprint = note, token, by_imprint
        self.rel = str(token.get("file"))
        self.tsa: dict[str, Any] = token["tsa"] if isinstance(token.get("tsa"), dict) else {}
        self.name = str(self.tsa.get("name", "(unnamed)"))
        self.seq = token.get("ledger_seq") if isinstance(token.get("ledger_seq"), int) else None
        self.held = recorded.get(self.seq) if self.seq is not None else None
        self.verdict = judged.get(self.seq) if self.seq is not None and self.held is not None else None

    def check(
        self, root: Path, tsa_roots: Sequence[x509.Certificate], report: BundleReport
    ) -> tuple[_Counted | None, dict[str, Any]] | None:
        rel, name, note = self.rel, self.name, self.note
        at = f" (recorded at seq {self.seq})" if self.held is not None else ""
        data = _read(root, rel, _MAX_TOKEN)
        if data is None:
            report.add(
                "timestamp.missing", f"the token from {name}{at} is listed in {TIMESTAMP_INDEX} but absent", path=rel
            )
            return None
        actual = hash_bytes(data)
        if self.token.get("sha256") != "sha256:" + actual.sha256:
            report.add("timestamp.altered", f"the token from {name}: SHA-256 differs from {TIMESTAMP_INDEX}", path=rel)
            return None
        if self.held is not None:
            fault = _against_entry(*self.held, note, name, actual)
            if fault:
                report.add("timestamp.altered", fault, path=rel)
                _name_swap(data, note, name, rel, self.by_imprint, report)
                return None
        elif self.token.get("in_ledger_excerpt"):
            report.add(
                "timestamp.missing", f"{TIMESTAMP_INDEX} says seq {self.seq} records it; no such ledger line", path=rel
            )
            return None
        if note.data is None:
            return None
        fact: dict[str, Any] = {
            "file": rel,
            "tsa": name,
            "qualified_as_claimed": bool(self.tsa.get("qualified")),
            "checkpoint_seq": note.seq,
            "ledger_seq": self.seq,
            "in_ledger_excerpt": self.held is not None,
            "counted": False,  # counted as independent time: intact, over a sound note
        }
        if self.verdict is not None:  # the rulebook judged it (and reported its problems by seq)
            v = self.verdict
            fact |= {"parsed": v.parsed, "gen_time": v.gen_time, "intact": v.intact, "established": v.established}
            accuracy = _accuracy(self.held[1]) if self.held is not None else 0.0
            if not v.parsed:
                fact["status"] = UNPARSED
                return None, fact
            if not v.intact:
                fact["status"] = "; ".join(v.problems)
                return None, fact
        else:
            check = check_token(data, note.data, tsa_roots)
            fact |= {"parsed": check.parsed, "gen_time": None, "intact": False, "established": False}
            if not check.parsed:
                report.warnings.append(
                    Problem("timestamp.unparsed", f"the token from {name}: {UNPARSED}; not counted", path=rel)
                )
                fact["status"] = UNPARSED
                return None, fact
            assert check.facts is not None
            fact["gen_time"] = _rfc3339(check)
            if check.problems:
                _report_problems(check, note, name, rel, self.by_imprint, report)
                fact["status"] = "; ".join(check.problems)
                return None, fact
            fact |= {"intact": True, "established": check.established}
            accuracy = check.facts.accuracy_seconds or 0.0
        return self._counted(fact, accuracy, tsa_roots, report)

    def _counted(
        self, fact: dict[str, Any], accuracy: float, tsa_roots: Sequence[x509.Certificate], report: BundleReport
    ) -> tuple[_Counted | None, dict[str, Any]]:
        if not fact["established"]:
            reason = "its chain reaches none of the roots given with --tsa-roots" if tsa_roots else "give --tsa-roots"
            said = f"token intact, TSA not established ({reason})"
            report.warnings.append(
                Problem("timestamp.not_established", f"the token from {self.name}: {said}", path=self.rel)
            )
            fact["status"] = said
        else:
            fact["status"] = "verified against a root given with --tsa-roots"
        if not self.note.sound:
            fact["status"] += f"; not counted: its note {self.note.rel} is not sound"
            return None, fact
        fact["counted"] = True
        counted = _Counted(
            self.note.seq,
            str(fact["gen_time"]),
            self.name,
            bool(self.tsa.get("qualified")),
            bool(fact["established"]),
            accuracy,
            self.held is not None,
        )
        return counted, fact


def _accuracy(stamp: TimestampObtained) -> float:
    try:
        return float(stamp.accuracy_seconds) if stamp.accuracy_seconds else 0.0
    except ValueError:
        return 0.0


def _against_entry(entry: LedgerEntry, stamp: TimestampObtained, note: _Note, name: str, actual: Digests) -> str | None:
    """Why the token file is not the one its ledger entry recorded (None: it is)."""
    seq = entry.seq
    if not entry.artefacts or entry.artefacts[0].digests != actual:
        return f"the token from {name}: its bytes differ from what seq {seq} recorded (size, SHA-256, BLAKE3)"
    if stamp.checkpoint.seq != note.seq:
        return (
            f"seq {seq} records the token from {stamp.tsa.name} for the checkpoint of seq {stamp.checkpoint.seq}, "
            f"not of seq {note.seq}"
        )
    if stamp.tsa.name != name:
        return f"seq {seq} records a token from {stamp.tsa.name}, not from {name}"
    return None


def _rfc3339(check: TokenCheck) -> str:
    assert check.facts is not None
    return check.facts.gen_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _name_swap(
    data: bytes, note: _Note, name: str, rel: str, by_imprint: dict[str, _Note], report: BundleReport
) -> None:
    """For a token that is not the one recorded: when it is a token of another checkpoint of this bundle, say so."""
    try:
        imprint = read_token(data).imprint.hex()
    except ValidationError:
        return
    other = by_imprint.get(imprint)
    if other is not None and other.seq != note.seq:
        report.add("timestamp.imprint", f"the token from {name}: {_swapped(other, note)}", path=rel)


def _swapped(other: _Note, note: _Note) -> str:
    return (
        f"it stamps {other.rel} (the checkpoint of seq {other.seq}), not {note.rel} (seq {note.seq}): "
        "a token swapped between checkpoints"
    )


def _report_problems(
    check: TokenCheck, note: _Note, name: str, rel: str, by_imprint: dict[str, _Note], report: BundleReport
) -> None:
    assert check.facts is not None
    imprint = check.facts.imprint.hex()
    own = note.data is not None and hash_bytes(note.data).sha256 == imprint
    if not own:
        other = by_imprint.get(imprint)
        where = (
            _swapped(other, note)
            if other is not None
            else f"its imprint is the hash of none of this bundle's checkpoints, not of {note.rel}"
        )
        report.add("timestamp.imprint", f"the token from {name}: {where}", path=rel)
    for problem in check.problems:
        if "imprint" in problem and not own:
            continue
        report.add("timestamp.token", f"the token from {name}: {problem}", path=rel)


def _check_backdating(entries: Sequence[LedgerEntry], counted: Sequence[_Counted], report: BundleReport) -> None:
    """An entry a counted token covers must have been recorded no later than its genTime (+ accuracy + 2 s): the
    rulebook's time rule (``late_entries``), for the tokens whose lines the excerpt does not hold."""
    if not counted:
        return
    report.checks.append(
        "every ledger line a token covers was recorded no later than its genTime plus its stated accuracy"
    )
    covering = [Covering(c.tree_size, parse_time(c.gen_time), timedelta(seconds=c.accuracy), c) for c in counted]
    for found in late_entries(entries, covering):
        first, seconds = found.cover.source, found.late.total_seconds()
        if found.backdated:
            report.add(
                "timestamp.backdated",
                f"recorded at {found.entry.time}, {seconds:g} s after {first.tsa}'s genTime {first.gen_time} for "
                f"the checkpoint of seq {first.tree_size}, which covers it",
                seq=found.entry.seq,
            )
        else:
            report.warnings.append(
                Problem(
                    "timestamp.late",
                    f"recorded {seconds:g} s after {first.tsa}'s genTime {first.gen_time} that covers it: beyond "
                    f"the TSA's stated accuracy ({first.accuracy:g} s), within it plus 2 s",
                    seq=found.entry.seq,
                )
            )


def _item_times(
    entries: Sequence[LedgerEntry], items: set[str], counted: Sequence[_Counted], facts: dict[str, Any]
) -> None:
    """Each exported item's earliest counted independent time, and how many authorities cover it."""
    grouped = group_items(list(entries))
    for item in sorted(items):
        item_entries = grouped.get(item)
        if not item_entries:
            continue
        seq = recording_seq(item_entries)
        covering = [c for c in counted if seq < c.tree_size]
        if not covering:
            facts["items"][item] = {"statement": "no independent timestamp"}
            continue
        first = min(covering, key=lambda c: (c.gen_time, c.tree_size))
        authorities = len({c.tsa for c in covering})
        count = f"{authorities} authorit{'y' if authorities == 1 else 'ies'}"
        facts["items"][item] = {
            "existed_no_later_than": first.gen_time,
            "tsa": first.tsa,
            "checkpoint_seq": first.tree_size,
            "authorities": authorities,
            "established": first.established,
            "statement": f"independently timestamped: existed no later than {as_given(first.gen_time)} ({first.tsa}), "
            f"{count}",
        }
