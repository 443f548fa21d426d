"""Which independent time covers which entry: a token over the checkpoint of tree size N proves that the
entries at seq 0..N-1 existed no later than its genTime. For each entry the earliest such time, and how
many authorities vouch for a time at all, from the ``timestamp.obtained`` entries the caller counts
(``counted``: e.g. those whose token the caller checked). Pure: no storage, no token parsing."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from evidencekit.ledger.entries import ENDED_CAPTURE, ITEM_ACTIONS, TimestampObtained, parse
from evidencekit.models import LedgerEntry


@dataclass(frozen=True)
class Cover:
    """The earliest independent time covering an entry: ``gen_time`` from ``tsa`` (its token over the
    checkpoint of ``tree_size`` entries), and the number of distinct ``authorities`` whose counted tokens
    cover it (at any later checkpoint)."""

    gen_time: str
    tsa: str
    tree_size: int
    authorities: int
    qualified: bool  # the earliest one's TSA was configured as qualified by the investigator

    def statement(self) -> str:
        """The sentence the documents and ``show`` give."""
        count = f"{self.authorities} authorit{'y' if self.authorities == 1 else 'ies'}"
        return f"independently timestamped: existed no later than {as_given(self.gen_time)} ({self.tsa}), {count}"


def as_given(gen_time: str) -> str:
    """A genTime at the precision its token gives: the recorded form has six fraction digits, and the zeros a
    whole-second TSA never gave would read, beside a capture recorded at 09:30:02.53, as if the item existed
    before it was captured ("09:30:02.000000Z"); so trailing zeros of the fraction, and a zero fraction, go."""
    head, dot, rest = gen_time.partition(".")
    if not dot or not rest.endswith("Z") or not rest[:-1].isdigit():
        return gen_time
    fraction = rest[:-1].rstrip("0")
    return f"{head}.{fraction}Z" if fraction else f"{head}Z"


def _parsed_stamps(entries: Iterable[LedgerEntry]) -> list[tuple[LedgerEntry, TimestampObtained]]:
    stamps = []
    for entry in entries:
        if entry.action == TimestampObtained.ACTION:
            parsed = parse(entry)
            if isinstance(parsed, TimestampObtained) and parsed.parsed and parsed.gen_time:
                stamps.append((entry, parsed))
    return stamps


def covers(
    entries: Iterable[LedgerEntry],
    counted: Callable[[LedgerEntry, TimestampObtained], bool] = lambda entry, stamp: True,
) -> Callable[[int], Cover | None]:
    """A lookup: seq -> the earliest counted cover of the entry at that seq (None: no counted token covers it).
    Only tokens the strict parser read (``parsed``) with a genTime are ever counted."""
    stamps = sorted(
        ((stamp.checkpoint.tree_size, stamp) for entry, stamp in _parsed_stamps(entries) if counted(entry, stamp)),
        key=lambda pair: pair[0],
    )
    # From the largest tree down: the earliest genTime and the authorities among the tokens over trees at
    # least this large (RFC 3339 UTC with microseconds sorts as text).
    suffix: list[tuple[int, TimestampObtained, frozenset[str]]] = []
    best: TimestampObtained | None = None
    names: frozenset[str] = frozenset()
    for size, stamp in reversed(stamps):
        names = names | {stamp.tsa.name}
        if best is None or str(stamp.gen_time) < str(best.gen_time):
            best = stamp
        suffix.append((size, best, names))
    suffix.reverse()  # ascending tree size
    sizes = [size for size, _, _ in suffix]

    def lookup(seq: int) -> Cover | None:
        at = bisect_right(sizes, seq)  # the first token over a tree larger than seq
        if at == len(suffix):
            return None
        _, stamp, authorities = suffix[at]
        return Cover(str(stamp.gen_time), stamp.tsa.name, stamp.checkpoint.tree_size, len(authorities),
                     stamp.tsa.qualified)  # fmt: skip

    return lookup


def recording_seq(entries: Sequence[LedgerEntry]) -> int:
    """The entry whose cover is an item's: the newest of its entries that records its evidence (its creating
    entry, one carrying artefacts, or a capture's end); notes added later do not move it."""
    recording = [e.seq for e in entries if e.action in ITEM_ACTIONS or e.action in ENDED_CAPTURE or e.artefacts]
    return max(recording) if recording else entries[0].seq


def item_covers(
    items: Mapping[str, Sequence[LedgerEntry]], lookup: Callable[[int], Cover | None]
) -> dict[str, Cover | None]:
    """Each item's cover (``group_items`` gives ``items``)."""
    return {item_id: lookup(recording_seq(item_entries)) for item_id, item_entries in items.items()}
