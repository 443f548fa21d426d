"""The one form of every recorded time: UTC RFC 3339 with microseconds, and the local zone beside it.

Every time written into a ledger entry, a capture's metadata, a WARC record or a key file goes through
here, so that one rule decides what a recorded time looks like.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

RFC3339_UTC_MICROS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """``2026-12-02T12:47:29.123456Z``: UTC, microseconds, a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """A recorded time back as an aware datetime; ValueError when it is not in the recorded form."""
    if not RFC3339_UTC_MICROS.fullmatch(text):
        raise ValueError(f"{text!r} is not a UTC RFC 3339 time with microseconds")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def local_zone(moment: datetime) -> str:
    """The machine's local zone, e.g. ``CET UTC+01:00``: recorded beside every UTC time."""
    local = moment.astimezone()
    offset = local.strftime("%z")
    return f"{local.tzname()} UTC{offset[:3]}:{offset[3:]}"
