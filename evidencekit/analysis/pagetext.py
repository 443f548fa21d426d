"""The visible text of two captures of a page, compared word by word.

Two texts are the same when they are equal with their whitespace collapsed (the capture's ``text.txt``
is what the browser showed, ``innerText``): that costs one comparison. Otherwise, before comparing, the
text of the elements an investigator asked to ignore (``--ignore``: CSS selectors for a clock, a visitor
counter, a rotating banner) is taken out of each side: the elements are found in that side's stored
``dom.html`` (lxml + cssselect), their text read as a browser lays it out (block elements apart, inline
ones joined, scripts and styles left out) and every occurrence of it, as whole words across any
whitespace, removed from that side's text. Text the DOM holds but the page did not show is not found.

The comparison is Python's ``difflib.SequenceMatcher`` in two steps, so that a long page costs little:
first over the text's lines (whitespace collapsed, empty lines dropped), then, inside each block of lines
that differ, over their words; the result is a word-level diff (a line re-wrapped is not a change). Equal
runs are kept short in the result (their first and last CONTEXT_WORDS words): the diff names what changed,
not the whole page twice.
"""

from __future__ import annotations

import difflib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lxml.html
from cssselect import SelectorError
from lxml import etree

CONTEXT_WORDS = 12
MAX_RUN_CHARS = 20_000  # of changed text kept per run in diff.json; the counts stay exact
MAX_MASKED_ELEMENTS = 5_000
# Beyond this many words left to compare, difflib's "autojunk" heuristic is switched on (popular words no
# longer anchor matches): the result stays a true edit script, and the cost stays near linear.
EXACT_WORDS = 20_000
MAX_DIFF_WORDS = 300_000  # a side longer than this is compared as a whole only (a word diff takes too long)
LONG_LINE_WORDS = 64
CUT_EVERY = 16
DIFF_ALGORITHM = "Python difflib.SequenceMatcher over whitespace-separated words"

_SKIPPED = {"script", "style", "noscript", "template", "head", "title"}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul", "option",
    "caption", "tbody", "thead", "tfoot",
}  # fmt: skip


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


def masked_texts(dom: bytes, selectors: Sequence[str]) -> list[str]:
    """The normalised text of every element matching one of ``selectors`` in ``dom`` (nested matches
    once), longest first; empty when the DOM cannot be parsed."""
    if not selectors:
        return []
    try:
        root = lxml.html.document_fromstring(dom)
    except (etree.ParserError, ValueError):
        return []
    found: list[Any] = []
    for selector in selectors:
        try:
            found += root.cssselect(selector)
        except (SelectorError, etree.XPathError):
            continue
        if len(found) > MAX_MASKED_ELEMENTS:
            break
    chosen = set(found[:MAX_MASKED_ELEMENTS])
    texts = set()
    for element in chosen:
        if any(parent in chosen for parent in element.iterancestors()):
            continue
        text = normalise(_laid_out(element))
        if text:
            texts.add(text)
    return sorted(texts, key=lambda t: (-len(t), t))


def _laid_out(element: Any) -> str:
    """The element's text as a browser lays it out, roughly: block elements on their own, inline joined."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag.lower() in _SKIPPED:
            return
        block = tag.lower() in _BLOCKS
        if block:
            parts.append(" ")
        if node.text and tag:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if block:
            parts.append(" ")

    walk(element)
    return "".join(parts)


def remove_masked(text: str, masks: Sequence[str]) -> tuple[str, int]:
    """``text`` without any occurrence (as whole words, across any whitespace or line breaks) of each of
    ``masks``, and how many were removed. The text's own line breaks are kept."""
    removed = 0
    for mask in masks:
        words = mask.split()
        if not words:
            continue
        pattern = re.compile(r"(?<!\S)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\S)")
        text, count = pattern.subn(" ", text)
        removed += count
    return text, removed


@dataclass(frozen=True)
class WordDiff:
    """Words added and removed, and the runs of the edit script (``op``: equal, deleted, inserted)."""

    added: int
    removed: int
    runs: tuple[dict[str, Any], ...]
    too_long: bool = False  # different, but beyond MAX_DIFF_WORDS: not compared word by word

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
        return ", ".join(parts) if parts else "no words changed"


def word_diff(before: str, after: str) -> WordDiff:
    """The word-level diff of two texts (see the module text); equal texts cost one comparison."""
    first, second = _lines(before), _lines(after)
    if first == second:
        every = [w for line in first for w in line.split()]
        return WordDiff(0, 0, ({"op": "equal", **_equal_run(every)},) if every else ())
    if max(sum(len(line.split()) for line in side) for side in (first, second)) > MAX_DIFF_WORDS:
        return WordDiff(0, 0, (), too_long=True)
    runs: list[tuple[str, list[str]]] = []
    lines = difflib.SequenceMatcher(None, first, second, autojunk=len(first) + len(second) > EXACT_WORDS)
    for op, a0, a1, b0, b1 in lines.get_opcodes():
        old = [w for line in first[a0:a1] for w in line.split()]
        if op == "equal":
            runs.append(("equal", old))
            continue
        new = [w for line in second[b0:b1] for w in line.split()]
        within = difflib.SequenceMatcher(None, old, new, autojunk=len(old) + len(new) > EXACT_WORDS)
        for word_op, c0, c1, d0, d1 in within.get_opcodes():
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
    return WordDiff(added, removed, made)


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
        "from that side's text (lxml + cssselect)",
        "context_words": CONTEXT_WORDS,
        "steps": f"lines first (lines over {LONG_LINE_WORDS} words cut where a word's CRC-32 is a multiple of "
        f"{CUT_EVERY}), then the words of each block of lines that differ",
        "max_words": MAX_DIFF_WORDS,
    }
