"""The time and the asyncio tasks of a capture's steps: how long is left before a moment, and care for the
tasks a capture starts and gives up (none may be reported as unretrieved, no cancellation may be lost)."""

from __future__ import annotations

import asyncio
import time
from typing import Any


def left(until: float) -> float:
    """Seconds until the monotonic moment ``until``; 0 once it has passed."""
    return max(0.0, until - time.monotonic())


def cancel(task: asyncio.Future[Any]) -> None:
    """Cancel, and retrieve the outcome when it comes, so that asyncio never reports it as unretrieved."""
    task.cancel()
    task.add_done_callback(lambda done: done.cancelled() or done.exception())


def honour_cancel() -> None:
    """Raise CancelledError if this task was asked to stop: in Python 3.11, asyncio.wait_for can return
    the awaited result even though the task was cancelled at that same moment."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
