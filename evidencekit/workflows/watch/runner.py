"""``watch run`` as a whole: the watch lock, one pass, or (``--loop``) pass after pass as they fall due.

Between passes the loop sleeps until the next watch falls due, waking at least every ``WAKE_S`` seconds to
notice watches added meanwhile; Ctrl-C or SIGTERM (which the command turns into the same interruption) ends
the sleep at once, and a pass in progress wraps up the captures it has begun, records them and stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from evidencekit.capture import CaptureOptions
from evidencekit.workflows.capturing import Progress
from evidencekit.workflows.opencase import Session
from evidencekit.workflows.watch.lock import pass_lock
from evidencekit.workflows.watch.passes import PassReport, next_due, run_pass
from evidencekit.workspace import open_workspace

WAKE_S = 60.0


def run_watches(
    session: Session,
    options: CaptureOptions,
    *,
    every_active: bool = False,
    concurrency: int = 2,
    loop: bool = False,
    progress: Progress | None = None,
    on_pass: Callable[[PassReport], None] | None = None,
    on_sleep: Callable[[datetime | None], None] | None = None,
) -> list[PassReport]:
    """One pass (or, with ``loop``, passes until interrupted: KeyboardInterrupt reaches the caller between
    passes; a pass interrupted ends the loop). Raises PassRunning at once when another run holds the lock."""
    reports: list[PassReport] = []
    with pass_lock(open_workspace(session.case_dir)):
        first = True
        while True:
            report = run_pass(
                session, options, every_active=every_active and first, concurrency=concurrency, progress=progress
            )
            first = False
            reports.append(report)
            if on_pass is not None:
                on_pass(report)
            if not loop or report.interrupted:
                return reports
            _sleep_until_due(session, on_sleep)


def _sleep_until_due(session: Session, on_sleep: Callable[[datetime | None], None] | None) -> None:
    now = session.clock()
    due = next_due(session, now)
    if on_sleep is not None:
        on_sleep(due)
    wait_s = WAKE_S if due is None else min(WAKE_S, max(0.0, (due - now).total_seconds()))
    deadline = time.monotonic() + wait_s
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
