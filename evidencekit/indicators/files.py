"""The text of a file added to a case, line by line, and the indicators on its lines.

``file_text`` reads: plain text (UTF-8, or UTF-8/UTF-16 with a byte-order mark; bytes that are not text in
that encoding become U+FFFD rather than failing the file), which covers WhatsApp chat exports in both of
their styles (``[03/10/26, 14:22:05] Name: text`` and ``03/10/2026, 14:22 - Name: text``); HTML, as its
visible text (no scripts, styles or templates), each line holding the text that starts on that line of the
source, which covers Telegram's HTML export (``messages.html``); JSON, every string value one to a line in
document order, except a Telegram export (``result.json``), which gives one line per message (its date,
sender and text, the text's entities joined); and PDF text with pypdf (at most ``PDF_PAGES`` pages and
``PDF_CHARACTERS`` characters; a broken PDF gives None, never an exception).

Line numbers are those of the file for plain text, chat exports and HTML, and of the extracted text for
JSON and PDF (the lines ``file_text`` returns, which the search index holds too).

Limits, so that a huge file cannot stall ``add``: files above ``FILE_TEXT_LIMIT`` bytes are not read
(None: no text known, no indicators recorded), and at most ``LINE_LIMIT`` characters of each line are
searched for indicators.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from collections.abc import Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from evidencekit.indicators.core import extract_indicators

# 8 MiB: years of a chat export. Measured: ~1 MB of chat lines a second (0.5 when every line holds a
# number: the phone matcher dominates), so at most some seconds of an `add`; a bigger file is added, not read.
FILE_TEXT_LIMIT = 8 * 1024 * 1024
LINE_LIMIT = 10_000  # characters of one line read for indicators (a minified file is one long line)
PDF_PAGES = 500
PDF_CHARACTERS = 4_000_000

_TEXT_TYPES = ("text/plain", "application/json", "text/csv", "text/markdown")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def file_text(path: Path, media_type: str) -> list[str] | None:
    """The text lines of the file at ``path`` (see the module's docstring), None when it has no text that
    is read (an image, a binary file, a broken PDF, a file above ``FILE_TEXT_LIMIT``)."""
    media_type = media_type.split(";", 1)[0].strip().lower()
    try:
        if path.stat().st_size > FILE_TEXT_LIMIT:
            return None
        if media_type == "application/pdf":
            return _pdf_lines(path)
        if media_type not in _TEXT_TYPES and media_type not in _HTML_TYPES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    text = _decoded(data)
    if media_type in _HTML_TYPES:
        return html_lines(text)
    if text.lstrip()[:1] in ("{", "["):
        lines = _json_lines(text)
        if lines is not None:
            return lines
    return text.splitlines()


def _decoded(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")  # the BOM says which byte order
    return data.decode("utf-8", errors="replace")


# --- HTML -------------------------------------------------------------------------------------------

_UNSEEN = frozenset({"script", "style", "template", "noscript", "head", "svg", "math"})
_BLOCKS = frozenset(
    str.split(
        "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6"
        " header hr li main nav ol p pre section table td th tr ul"
    )
)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: dict[int, list[str]] = {}
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _UNSEEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self._put(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _UNSEEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self._put(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self._put(data)

    def _put(self, data: str) -> None:
        line = self.getpos()[0]
        for offset, part in enumerate(data.split("\n")):
            self.lines.setdefault(line + offset, []).append(part)


def html_lines(text: str) -> list[str]:
    """The visible text of an HTML document, each line of the source giving one line (blank where it
    shows nothing), so that line numbers are the source's."""
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    count = max(parser.lines, default=0)
    return [" ".join("".join(parser.lines.get(n, [])).split()) for n in range(1, count + 1)]


# --- JSON -------------------------------------------------------------------------------------------


def _json_lines(text: str) -> list[str] | None:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        return [line for message in document["messages"] if (line := _telegram_message(message))]
    return [" ".join(value.split()) for value in _strings(document)]


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.strip():  # a lone surrogate ("\\ud800" in the JSON) is not text: shown as U+FFFD
                yield item.encode("utf-8", errors="surrogatepass").decode("utf-8", errors="replace")
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _telegram_message(message: Any) -> str:
    """One message of a Telegram export as one line: ``[date] sender: text``, the text's parts joined
    (Telegram splits it around phones, links and mentions: ``["call ", {"type": "phone", "text": ...}]``)."""
    if not isinstance(message, dict):
        return ""
    text = message.get("text")
    parts = text if isinstance(text, list) else [text]
    joined = "".join(p if isinstance(p, str) else str(p.get("text", "")) if isinstance(p, dict) else "" for p in parts)
    joined = " ".join(joined.split())
    if not joined:
        return ""
    sender = message.get("from") or message.get("actor") or ""
    date = message.get("date") or ""
    head = f"[{date}] " if isinstance(date, str) and date else ""
    return f"{head}{sender}: {joined}" if isinstance(sender, str) and sender else f"{head}{joined}"


# --- PDF --------------------------------------------------------------------------------------------


def _pdf_lines(path: Path) -> list[str] | None:
    """The text of the PDF's first pages; None when pypdf cannot read it. pypdf's own warnings about a
    damaged file are kept out of the command's output."""
    from pypdf import PdfReader  # imported here: only an added PDF needs it

    lines: list[str] = []
    characters = 0
    quiet = logging.getLogger("pypdf")
    level = quiet.level
    quiet.setLevel(logging.ERROR + 10)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            reader = PdfReader(path)
            for page in reader.pages[:PDF_PAGES]:
                text = page.extract_text() or ""
                lines += text[: PDF_CHARACTERS - characters].splitlines()
                characters += len(text)
                if characters >= PDF_CHARACTERS:
                    break
    except Exception:  # a hostile or broken PDF can fail anywhere inside the parser
        return None
    finally:
        quiet.setLevel(level)
    return lines


# --- indicators on lines ----------------------------------------------------------------------------

# The time stamp opening a chat export's line, whose digits are no phone number:
# "[03/10/26, 14:22:05] ", "03/10/2026, 14:22 - ", "[2026-10-03 14:22:05] " (Telegram lines above).
_CHAT_STAMP = re.compile(
    r"^\u200e?\[?\d{1,4}[./-]\d{1,2}[./-]\d{1,4},?[ T]\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?[APap]\.?[Mm]\.?)?\]?"
    r"(?:\s-\s|\s)"
)


def indicators_in_lines(lines: Sequence[str], region: str) -> list[dict[str, Any]]:
    """The indicators of ``lines``, one per kind and value, each with the 1-based ``line`` it was first
    found on (its ``raw`` as found there). A chat line's time stamp is left out of the search."""
    extract_indicators("", (), region)  # an unknown region is refused even for a file without text
    seen: set[tuple[str, str]] = set()
    found: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        text = _CHAT_STAMP.sub(lambda m: " " * len(m.group()), line[:LINE_LIMIT], count=1)
        for indicator in extract_indicators(text, (), region):
            if (indicator.kind, indicator.value) not in seen:
                seen.add((indicator.kind, indicator.value))
                found.append({**indicator.to_dict(), "line": number})
    return found
