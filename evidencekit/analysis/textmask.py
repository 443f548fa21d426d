"""The text of the elements an investigator asked to ignore (``--ignore``), and taking it out of a page's
visible text: the elements are found in the capture's stored ``dom.html`` (lxml + cssselect), their text
read as a browser lays it out (block elements apart, inline ones joined, scripts and styles left out), and
each element's own occurrence of it removed from ``text.txt`` as whole words across any whitespace. Text
the DOM holds but the page did not show is not found (noted as not placed). The work is bounded
(MAX_MASKED_ELEMENTS, MAX_MASK_WORK), whatever the page."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import lxml.html
from cssselect import SelectorError
from lxml import etree

MAX_MASKED_ELEMENTS = 5_000
# Words visited and compared while finding the ignored texts in one text (~2 us each in Python): a few
# seconds at most, whatever the page; beyond, the elements not yet found are noted as not placed.
MAX_MASK_WORK = 2_000_000

_SKIPPED = {"script", "style", "noscript", "template", "head", "title"}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul", "option",
    "caption", "tbody", "thead", "tfoot",
}  # fmt: skip


_MARK = "\x00"


class Mask(NamedTuple):
    """One ignored element's text, and which occurrence of that text in the page's laid-out text it is
    (0: the first; None: not known, the first not yet taken is removed)."""

    text: str
    ordinal: int | None = None


def masked_texts(dom: bytes, selectors: Sequence[str]) -> list[Mask]:
    """The normalised text of every element matching one of ``selectors`` in ``dom`` (nested matches
    once), one per element, in document order, each with the occurrence of its text it is in the whole
    document's laid-out text (so that a counter reading "120" takes out the counter, not a price of 120
    before it); empty when the DOM cannot be parsed."""
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
    outer = [e for e in root.iter() if e in chosen and not any(p in chosen for p in e.iterancestors())]
    if not outer:
        return []
    # Each element's start is marked in the laid-out text by a NUL (which no HTML text holds), so that the
    # words before it are counted by str.split, not a Python loop over match objects.
    words: list[str] = []
    begins: list[int] = []  # per element, in document order: the index of its first word
    for word in _laid_out(root, set(outer)).split():
        if _MARK not in word:
            words.append(word)
            continue
        pieces = word.split(_MARK)
        rest = "".join(pieces)
        for number in range(1, len(pieces)):  # a mark at the word's end: the element begins at the next
            begins.append(len(words) + (0 if "".join(pieces[number:]) else 1 if rest else 0))
        if rest:
            words.append(rest)
    texts = [" ".join(_laid_out(element).split()) for element in outer]
    keys = [tuple(text.split()) for text in texts]
    matches, _ = _occurrences(words, {k for k in keys if k})
    at: dict[tuple[str, ...], list[int]] = {}
    for index, _, key in matches:
        at.setdefault(key, []).append(index)
    masks = []
    for text, key, where in zip(texts, keys, begins, strict=True):
        if text:
            masks.append(Mask(text, bisect.bisect_left(at.get(key, []), where)))
    return masks


def _laid_out(element: Any, marked: set[Any] | None = None) -> str:
    """The element's text as a browser lays it out, roughly: block elements on their own, inline joined;
    where each of the ``marked`` elements begins, a _MARK."""
    parts: list[str] = []
    add = parts.append

    def walk(node: Any) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag.lower() in _SKIPPED:
            return
        if marked is not None and node in marked:
            add(_MARK)
        block = tag.lower() in _BLOCKS
        if block:
            add(" ")
        if node.text and tag:
            add(node.text)
        for child in node:
            walk(child)
            if child.tail:
                add(child.tail)
        if block:
            add(" ")

    walk(element)
    return "".join(parts)


@dataclass(frozen=True)
class Masked:
    """A text with the ignored elements' text taken out: ``removed`` occurrences taken, ``unplaced``
    elements whose text was not found (or not looked for: ``over_budget``)."""

    text: str
    removed: int
    unplaced: int
    over_budget: bool


def remove_masked(text: str, masks: Sequence[Mask | str]) -> Masked:
    """``text`` without the ignored elements' texts ``masks`` (one per element), each as whole words across
    any whitespace or line breaks, and each only where that element was: its text's occurrence
    ``ordinal`` (a visitor counter reading "120" does not take a price of 120 too); a mask without one
    takes the first occurrence not yet taken. An element whose occurrence is not in the text is counted
    ``unplaced``. The text's own line breaks are kept. One pass over the text's words (``_occurrences``)."""
    wanted: dict[tuple[str, ...], list[int | None]] = {}
    for mask in masks:
        text_of, ordinal = (mask.text, mask.ordinal) if isinstance(mask, Mask) else (mask, None)
        words = tuple(text_of.split())
        if words:
            wanted.setdefault(words, []).append(ordinal)
    tokens = [(match.start(), match.end()) for match in re.finditer(r"\S+", text)]
    matches, over_budget = _occurrences([text[start:end] for start, end in tokens], set(wanted))
    found: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for index, size, key in matches:
        found.setdefault(key, []).append((tokens[index][0], tokens[index + size - 1][1]))
    spans: list[tuple[int, int]] = []
    unplaced = 0
    for key, ordinals in wanted.items():
        there = found.get(key, [])
        taken: set[int] = set()
        for ordinal in sorted(ordinals, key=lambda o: (o is None, o or 0)):
            if ordinal is None:
                ordinal = next((n for n in range(len(there)) if n not in taken), len(there))
            if ordinal < len(there) and ordinal not in taken:
                taken.add(ordinal)
                spans.append(there[ordinal])
            else:
                unplaced += 1
    pieces, last = [], 0
    for start, end in sorted(spans):
        pieces += [text[last:start], " "]
        last = end
    pieces.append(text[last:])
    return Masked("".join(pieces), len(spans), unplaced, over_budget)


def _occurrences(
    words_of: list[str], keys: set[tuple[str, ...]]
) -> tuple[list[tuple[int, int, tuple[str, ...]]], bool]:
    """Every occurrence of one of ``keys`` in ``words_of`` (index, length, key), left to right, the longest
    first where several start alike, not overlapping; masks are looked up by their first two words and
    length, at most MAX_MASK_WORK words visited and compared (True: the limit stopped the search)."""
    lengths: dict[tuple[str, ...], list[int]] = {}
    for words in keys:
        lengths.setdefault(words[:2], []).append(len(words))
    for sizes in lengths.values():
        sizes[:] = sorted(set(sizes), reverse=True)
    matches: list[tuple[int, int, tuple[str, ...]]] = []
    work, index = 0, 0
    firsts = {words[0] for words in keys}
    while index < len(words_of) and keys:
        work += 1
        if words_of[index] not in firsts:
            if work > MAX_MASK_WORK:
                return matches, True
            index += 1
            continue
        sizes = lengths.get(tuple(words_of[index : index + 2]), []) + lengths.get((words_of[index],), [])
        step = 1
        for size in sizes:
            work += size
            if work > MAX_MASK_WORK:
                return matches, True
            key = tuple(words_of[index : index + size])
            if key in keys:
                matches.append((index, size, key))
                step = size
                break
        index += step
    return matches, False
