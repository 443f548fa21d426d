"""How the capture words a failure it records: one line, whatever the browser or Python said."""

from __future__ import annotations

from playwright.async_api import Error as PlaywrightError

MAX_LINE = 300


def first_line(problem: BaseException | str | None) -> str:
    """The first non-blank line of an error's message (Playwright's own message for its errors, without
    the call log it appends), at most MAX_LINE characters. An exception without words is named by its
    type; empty text is "unknown error"."""
    if isinstance(problem, BaseException):
        text = problem.message if isinstance(problem, PlaywrightError) else str(problem)
        fallback = type(problem).__name__
    else:
        text, fallback = problem or "", "unknown error"
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:MAX_LINE]
    return fallback
