"""How recorded text is shown in a bundle's documents: the one place that decides it.

The documents (report, certificates, VERIFY.txt) show recorded strings through these functions, and the
bundle checks use the same ones to find the case facts again exactly as they were written. Page-derived
strings are hostile: ``visible_text`` reveals what could make them read differently from what was recorded.
"""

from __future__ import annotations

import re
import unicodedata
from html import escape
from typing import Any

NOT_RECORDED = "not recorded"
# A certificate's marker for something a person must still supply.
BLANK = "[[TO BE COMPLETED: {what}]]"
_MARKER_OPEN = "\u27e8"
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_RTL = frozenset(("R", "AL"))


def visible_text(value: Any, *, url: bool = False, single_line: bool = False) -> str:
    """``value`` as text a reader can trust: None is empty; control characters, bidirectional overrides,
    lone surrogates (and in URLs every invisible character, in single-line text every line break)
    become ``⟨U+XXXX⟩``. Ordinary joiners and marks that scripts such as Devanagari need stay as they are.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and _MARKER_OPEN not in text:
        return text
    out = []
    for char in text:
        category = unicodedata.category(char)
        # A literal "⟨" is revealed too, so that every "⟨U+…⟩" on the page is one this function made.
        reveal = char in _BIDI_CONTROLS or char == _MARKER_OPEN or category in ("Cs", "Co", "Zl", "Zp")
        if category == "Cc":
            reveal = single_line or url or char not in "\n\t"
        elif url:
            reveal = reveal or category == "Cf" or (category == "Zs" and char != " ")
        out.append(f"\u27e8U+{ord(char):04X}\u27e9" if reveal else char)
    return "".join(out)


# --- HTML (the report) ----------------------------------------------------------------------------------


def esc(value: Any, *, url: bool = False, single_line: bool = False) -> str:
    """Escaped text; revealed control characters are marked so they stand out on the page."""
    text = escape(visible_text(value, url=url, single_line=single_line), quote=True)
    return re.sub("\u27e8U\\+[0-9A-F]{4,6}\u27e9", r'<span class="marker">\g<0></span>', text)


def or_missing(html_text: str) -> str:
    return html_text if html_text else f'<span class="muted">{NOT_RECORDED}</span>'


def page_text(value: Any) -> str:
    """Page-derived free text: isolated so right-to-left scripts cannot reorder what surrounds them."""
    body = esc(value, single_line=True)
    return f"<bdi>{body}</bdi>" if body else or_missing("")


def mono(value: Any, css: str = "mono") -> str:
    body = esc(value, single_line=True)
    return f'<span class="{css}">{body}</span>' if body else or_missing("")


# --- plain text (the certificates) ----------------------------------------------------------------------


def blank(what: str) -> str:
    """The marker for something a person must still supply."""
    return BLANK.format(what=what)


def one_line(value: Any) -> str:
    """A fact as one line that cannot pose as a blank; right-to-left text is isolated (FSI ... PDI) so that
    it cannot reorder the words around it."""
    text = visible_text(value, single_line=True).replace("[[", "[ [").replace("]]", "] ]").strip()
    return f"\u2068{text}\u2069" if any(unicodedata.bidirectional(char) in _RTL for char in text) else text


def fact(value: Any, what: str) -> str:
    """A fact as ``one_line`` shows it, or the blank asking for it when none is recorded."""
    return one_line(value) or blank(what)
