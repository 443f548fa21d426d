"""The visible text of two captures of a page, compared word by word.

The text is the capture's ``text.txt`` (what the browser showed, ``innerText``) with its whitespace
collapsed. Before comparing, the text of the elements an investigator asked to ignore (``--ignore``: CSS
selectors for a clock, a visitor counter, a rotating banner) is taken out of each side: the elements are
found in that side's stored ``dom.html`` (lxml + cssselect), their text read as a browser lays it out
(block elements apart, inline ones joined, scripts and styles left out) and every occurrence of it, as whole
words, removed from that side's text. Text the DOM holds but the page did not show is simply not found.

The comparison is Python's ``difflib.SequenceMatcher`` over the words, after the common beginning and
end are set aside (cheap, and most edits of an ad are local). Equal runs are kept short in the result
(their first and last CONTEXT_WORDS words): the diff names what changed, not the whole page twice.
"""

from __future__ import annotations

import difflib
import re
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


def check_selectors(selectors: Sequence[str]) -> None:
    """IgnoreError naming the first selector cssselect cannot read (for a clear usage error up front)."""
    from cssselect import GenericTranslator

    for selector in selectors:
        try:
            GenericTranslator().css_to_xpath(selector)
        except SelectorError as exc:
            raise IgnoreError(f"--ignore {selector!r} is not a CSS selector: {exc}") from None


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
    """``text`` without any occurrence (as whole words) of each of ``masks``, and how many were removed."""
    removed = 0
    for mask in masks:
        pattern = re.compile(r"(?<!\S)" + re.escape(mask) + r"(?!\S)")
        text, count = pattern.subn(" ", text)
        removed += count
    return normalise(text), removed


@dataclass(frozen=True)
class WordDiff:
    """Words added and removed, and the runs of the edit script (``op``: equal, deleted, inserted)."""

    added: int
    removed: int
    runs: tuple[dict[str, Any], ...]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def summary(self) -> str:
        parts = []
        if self.added:
            parts.append(f"{self.added} word{'' if self.added == 1 else 's'} added")
        if self.removed:
            noun = "" if parts else (" word" if self.removed == 1 else " words")
            parts.append(f"{self.removed}{noun} removed")
        return ", ".join(parts) if parts else "no words changed"


def word_diff(before: str, after: str) -> WordDiff:
    """The word-level diff of two normalised texts; equal texts cost one comparison."""
    if before == after:
        return WordDiff(0, 0, ({"op": "equal", **_equal_run(before.split())},) if before else ())
    first, second = before.split(), after.split()
    start = 0
    while start < len(first) and start < len(second) and first[start] == second[start]:
        start += 1
    end = 0
    while end < len(first) - start and end < len(second) - start and first[-1 - end] == second[-1 - end]:
        end += 1
    middle_a, middle_b = first[start : len(first) - end], second[start : len(second) - end]
    runs: list[dict[str, Any]] = []
    if start:
        runs.append({"op": "equal", **_equal_run(first[:start])})
    added = removed = 0
    exact = len(middle_a) + len(middle_b) <= EXACT_WORDS
    matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=not exact)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            runs.append({"op": "equal", **_equal_run(middle_a[a0:a1])})
            continue
        if a1 > a0:
            removed += a1 - a0
            runs.append({"op": "deleted", **_changed_run(middle_a[a0:a1])})
        if b1 > b0:
            added += b1 - b0
            runs.append({"op": "inserted", **_changed_run(middle_b[b0:b1])})
    if end:
        runs.append({"op": "equal", **_equal_run(first[len(first) - end :])})
    return WordDiff(added, removed, tuple(runs))


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
    }
