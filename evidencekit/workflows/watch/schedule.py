"""When a watch is due: its interval, plus a jitter offset fixed per watch and attempt.

A watch never attempted is due at once. After that it is due at its last attempt's time plus ``every_s``
plus an offset in ``[0, jitter_s]`` drawn from the watch id and the number of attempts so far: the same
inputs always give the same offset (so two runs agree when a watch falls due), while the watches of a case
do not all hit a site at the same minute.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from evidencekit.errors import UsageError

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str, *, what: str) -> int:
    """Whole seconds from ``6h``, ``10m``, ``90s``, ``1h30m``, ``2d``, plain seconds (``90``) or ``0``;
    a UsageError naming ``what`` otherwise."""
    cleaned = text.strip().lower()
    if cleaned.isdigit():
        return int(cleaned)
    match = _DURATION.fullmatch(cleaned)
    if not cleaned or match is None or not any(match.groups()):
        raise UsageError(f"{what} {text!r} is not a duration; write e.g. 6h, 10m, 90s or 1h30m")
    days, hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def jitter_offset(watch: str, attempts: int, jitter_s: int) -> int:
    """Seconds in ``[0, jitter_s]``, fixed by the watch id and the number of attempts made so far."""
    if jitter_s <= 0:
        return 0
    digest = hashlib.sha256(f"{watch}/{attempts}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (jitter_s + 1)


def due_at(watch: str, every_s: int, jitter_s: int, last_attempt: datetime | None, attempts: int) -> datetime | None:
    """When the watch is next due; None when it was never attempted (due at once)."""
    if last_attempt is None:
        return None
    return last_attempt + timedelta(seconds=every_s + jitter_offset(watch, attempts, jitter_s))


def is_due(due: datetime | None, now: datetime) -> bool:
    return due is None or now >= due
