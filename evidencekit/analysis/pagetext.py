"""The visible text of two captures of a page, compared word by word.

Two texts are the same when they are equal with their whitespace collapsed (the capture's ``text.txt``
is what the browser showed, ``innerText``): that costs one comparison. Otherwise, before comparing, the
text of the elements an investigator asked to ignore (``--ignore``: CSS selectors for a clock, a visitor
counter, a rotating banner) is taken out of each side, each element's own occurrence only
(``analysis.textmask``).

The comparison is Python's ``difflib.SequenceMatcher`` in two steps, so that a long page costs little:
first over the text's lines (whitespace collapsed, empty lines dropped), then, inside each block of lines
that differ, over their words; the result is a word-level diff (a line re-wrapped is not a change). Equal
runs are kept short in the result (their first and last CONTEXT_WORDS words): the diff names what changed,
not the whole page twice.
"""

from __future__ import annotations

import difflib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cssselect import SelectorError

# The masking lives in textmask; its names stay importable from here, where the comparison uses them.
from evidencekit.analysis.textmask import MAX_MASK_WORK
from evidencekit.analysis.textmask import Mask as Mask
from evidencekit.analysis.textmask import Masked as Masked
from evidencekit.analysis.textmask import masked_texts as masked_texts
from evidencekit.analysis.textmask import remove_masked as remove_masked

CONTEXT_WORDS = 12
MAX_RUN_CHARS = 20_000  # of changed text kept per run in diff.json; the counts stay exact
# Beyond this many words left to compare, difflib's "autojunk" heuristic is switched on (popular words no
# longer anchor matches): the result stays a true edit script, and the cost stays near linear.
EXACT_WORDS = 20_000
MAX_DIFF_WORDS = 300_000  # a side longer than this is compared as a whole only (a word diff takes too long)
# The work of one SequenceMatcher is about the number of (old, new) pairs of equal items it may match (~1 us
# each here): 150,000 random words over a 100-word vocabulary make 2.25e8 pairs, minutes of work. A block
# of lines or words whose pairs exceed MAX_BLOCK_PAIRS, or the page's remaining MAX_PAGE_PAIRS, is not
# matched: it is counted as replaced (every word of it removed and added), and diff.json says so.
MAX_BLOCK_PAIRS = 2_000_000
MAX_PAGE_PAIRS = 4_000_000
LONG_LINE_WORDS = 64
CUT_EVERY = 16
DIFF_ALGORITHM = "Python difflib.SequenceMatcher over whitespace-separated words"


class IgnoreError(ValueError):
    """An ``--ignore`` selector that is not CSS cssselect can read."""


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped."""
    return " ".join(text.split())


def unusable_selectors(selectors: Sequence[str]) -> list[str]:
    """Each of ``selectors`` that cssselect cannot read, with why: ``--ignore 'a[': ...``."""
    from cssselect import GenericTranslator

    found = []
    for selector in selectors:
        try:
            GenericTranslator().css_to_xpath(selector)
        except SelectorError as exc:
            found.append(f"--ignore {selector!r} is not a CSS selector: {exc}")
    return found


def check_selectors(selectors: Sequence[str]) -> None:
    """IgnoreError naming the first selector cssselect cannot read (for a clear usage error up front)."""
    problems = unusable_selectors(selectors)
    if problems:
        raise IgnoreError(problems[0])


@dataclass(frozen=True)
class WordDiff:
    """Words added and removed, and the runs of the edit script (``op``: equal, deleted, inserted)."""

    added: int
    removed: int
    runs: tuple[dict[str, Any], ...]
    too_long: bool = False  # different, but beyond MAX_DIFF_WORDS: not compared word by word
    bounded: tuple[int, int] | None = None  # (blocks, words) counted as replaced, beyond the work limits
    pairs: int = 0  # pairs of equal items the matchers were given: the work done, at most MAX_PAGE_PAIRS

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.too_long)

    def summary(self) -> str:
        if self.too_long:
            return f"the visible text changed (more than {MAX_DIFF_WORDS:,} words: not compared word by word)"
        parts = []
        if self.added:
            parts.append(f"{self.added} word{'' if self.added == 1 else 's'} added")
        if self.removed:
            noun = "" if parts else (" word" if self.removed == 1 else " words")
            parts.append(f"{self.removed}{noun} removed")
        said = ", ".join(parts) if parts else "no words changed"
        if self.bounded:
            said += " (some text counted as replaced whole: too costly to compare word by word)"
        return said

    def bounded_why(self) -> str | None:
        """Why some of the text was counted as replaced rather than matched word by word, if it was."""
        if not self.bounded:
            return None
        blocks, words = self.bounded
        return (
            f"{blocks} block{'' if blocks == 1 else 's'} of differing text ({words:,} words) counted as replaced, "
            f"not matched word by word: more than {MAX_BLOCK_PAIRS:,} pairs of equal words or lines to match "
            f"in one block, or more than {MAX_PAGE_PAIRS:,} for the page"
        )


def word_diff(before: str, after: str) -> WordDiff:
    """The word-level diff of two texts (see the module text); equal texts cost one comparison."""
    first, second = _lines(before), _lines(after)
    if first == second:
        every = [w for line in first for w in line.split()]
        return WordDiff(0, 0, ({"op": "equal", **_equal_run(every)},) if every else ())
    if max(sum(len(line.split()) for line in side) for side in (first, second)) > MAX_DIFF_WORDS:
        return WordDiff(0, 0, (), too_long=True)
    runs: list[tuple[str, list[str]]] = []
    work = _Work(MAX_PAGE_PAIRS)
    for op, a0, a1, b0, b1 in _opcodes(first, second, work, lambda lines: sum(len(x.split()) for x in lines)):
        old = [w for line in first[a0:a1] for w in line.split()]
        if op == "equal":
            runs.append(("equal", old))
            continue
        new = [w for line in second[b0:b1] for w in line.split()]
        for word_op, c0, c1, d0, d1 in _opcodes(old, new, work, len):
            if word_op == "equal":
                runs.append(("equal", old[c0:c1]))
                continue
            if c1 > c0:
                runs.append(("deleted", old[c0:c1]))
            if d1 > d0:
                runs.append(("inserted", new[d0:d1]))
    merged: list[tuple[str, list[str]]] = []
    for kind, run in runs:  # equal runs either side of a block boundary are one run
        if merged and merged[-1][0] == kind == "equal":
            merged[-1][1].extend(run)
        elif run:
            merged.append((kind, list(run)))
    added = sum(len(run) for kind, run in merged if kind == "inserted")
    removed = sum(len(run) for kind, run in merged if kind == "deleted")
    made = tuple({"op": kind, **(_equal_run(run) if kind == "equal" else _changed_run(run))} for kind, run in merged)
    bounded = (work.blocks, work.words) if work.blocks else None
    return WordDiff(added, removed, made, bounded=bounded, pairs=MAX_PAGE_PAIRS - work.left)


@dataclass
class _Work:
    """The pairs a page's comparisons may still match, and what was counted as replaced instead."""

    left: int
    blocks: int = 0
    words: int = 0


def _opcodes(
    a: list[str], b: list[str], work: _Work, words: Callable[[list[str]], int]
) -> list[tuple[str, int, int, int, int]]:
    """SequenceMatcher's opcodes for ``a`` and ``b``, within the page's work budget: the common head and
    tail are equal runs at no cost; the middle is matched only when its pairs of equal items fit
    MAX_BLOCK_PAIRS and what the page has left, else it is one "replace" (``words`` counts a slice's words)."""
    head = 0
    most = min(len(a), len(b))
    while head < most and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < most - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    ops: list[tuple[str, int, int, int, int]] = [("equal", 0, head, 0, head)] if head else []
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    if middle_a and middle_b:
        matcher = difflib.SequenceMatcher(
            None, middle_a, middle_b, autojunk=len(middle_a) + len(middle_b) > EXACT_WORDS
        )
        # b2j: each item of b (popular ones left out under autojunk) -> where it occurs; public, not typed.
        index: dict[str, list[int]] = matcher.b2j  # type: ignore[attr-defined]
        pairs = sum(len(index.get(item, ())) for item in middle_a)
        if pairs > min(MAX_BLOCK_PAIRS, work.left):
            work.blocks += 1
            work.words += words(middle_a) + words(middle_b)
            ops.append(("replace", head, len(a) - tail, head, len(b) - tail))
        else:
            work.left -= pairs
            ops += [(op, a0 + head, a1 + head, b0 + head, b1 + head) for op, a0, a1, b0, b1 in matcher.get_opcodes()]
    elif middle_a:
        ops.append(("delete", head, len(a) - tail, head, head))
    elif middle_b:
        ops.append(("insert", head, head, head, len(b) - tail))
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops


def _lines(text: str) -> list[str]:
    """The text's non-empty lines, whitespace collapsed; a line of more than LONG_LINE_WORDS words is cut
    where its content says (after a word whose CRC-32 is a multiple of CUT_EVERY), so that an insertion
    moves no cut after it and the line-level step still finds what stayed equal."""
    found = []
    for raw in text.splitlines():
        words = raw.split()
        if len(words) <= LONG_LINE_WORDS:
            if words:
                found.append(" ".join(words))
            continue
        start = 0
        for number, word in enumerate(words):
            if number - start >= 8 and zlib.crc32(word.encode("utf-8", "surrogatepass")) % CUT_EVERY == 0:
                found.append(" ".join(words[start : number + 1]))
                start = number + 1
        if start < len(words):
            found.append(" ".join(words[start:]))
    return found


def _equal_run(words: Sequence[str]) -> dict[str, Any]:
    if len(words) <= 2 * CONTEXT_WORDS:
        return {"words": len(words), "text": " ".join(words)}
    head, tail = " ".join(words[:CONTEXT_WORDS]), " ".join(words[-CONTEXT_WORDS:])
    return {"words": len(words), "text": f"{head} … {tail}", "elided": len(words) - 2 * CONTEXT_WORDS}


def _changed_run(words: Sequence[str]) -> dict[str, Any]:
    text = " ".join(words)
    if len(text) <= MAX_RUN_CHARS:
        return {"words": len(words), "text": text}
    return {"words": len(words), "text": text[:MAX_RUN_CHARS] + " …", "truncated": True}


def algorithm() -> dict[str, Any]:
    return {
        "library": DIFF_ALGORITHM,
        "normalised": "whitespace collapsed to single spaces",
        "autojunk": f"off up to {EXACT_WORDS} words left to compare, on beyond",
        "ignore": "text of the elements matching each --ignore selector in the side's dom.html removed "
        "from that side's text (lxml + cssselect), each element's own occurrence only (its rank among "
        "the occurrences of its text in the DOM's laid-out text); one pass over the words, at most "
        f"{MAX_MASK_WORK} words visited and compared (beyond: text.notes)",
        "context_words": CONTEXT_WORDS,
        "steps": f"lines first (lines over {LONG_LINE_WORDS} words cut where a word's CRC-32 is a multiple of "
        f"{CUT_EVERY}), then the words of each block of lines that differ",
        "max_words": MAX_DIFF_WORDS,
        "bounded": f"a block of lines or words is matched only when its pairs of equal items are at most "
        f"{MAX_BLOCK_PAIRS} and within the page's {MAX_PAGE_PAIRS}; beyond, it is counted as replaced "
        "(text.bounded)",
    }
