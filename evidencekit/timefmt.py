"""The one form of every recorded time: UTC RFC 3339 with microseconds, and the local zone beside it.

Every time written into a ledger entry, a capture's metadata, a WARC record or a key file goes through
here, so that one rule decides what a recorded time looks like.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

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


def beside_utc(recorded: str, zone: tzinfo | None) -> str:
    """``2026-12-02T12:47:29.123456Z (13:47:29 CET)``: the recorded UTC time, and the time in ``zone`` beside
    it (with its date when that differs); the recorded time alone without a zone, or if it is not one."""
    if zone is None or not RFC3339_UTC_MICROS.fullmatch(recorded):
        return recorded
    moment = parse_time(recorded)
    local = moment.astimezone(zone)
    shape = "%H:%M:%S %Z" if local.date() == moment.date() else "%Y-%m-%d %H:%M:%S %Z"
    return f"{recorded} ({local.strftime(shape)})"


# -- durations: written 30s, 10m, 6h ---------------------------------------------------------------
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def format_duration(seconds: float) -> str:
    """``30s``, ``10m``, ``6h``: the one way durations are written; ``90s`` rather than ``1.5m``."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_duration(text: str) -> float:
    """Seconds from ``90s``, ``2m``, ``1h``, ``1m30s`` or plain seconds (``90``); ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; write e.g. 90s, 2m, 1h or plain seconds")
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds
