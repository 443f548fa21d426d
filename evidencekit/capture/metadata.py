"""metadata.json: everything a court may ask about how a capture was made, valid against
schemas/capture.schema.json. Integers and strings only: canonical JSON has no fractions."""

from __future__ import annotations

import platform
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import metadata as package_metadata
from typing import Any

from evidencekit.schemas import validate
from evidencekit.timefmt import format_time, local_zone

SCHEMA_ID = "https://evidencekit.org/schemas/capture/1.5.0"
SCHEMA_NAME = "capture"

# Reason codes. "partial" reasons make a capture partial; "note" reasons are facts a reader should know.
PARTIAL = "partial"
NOTE = "note"


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    effect: str = PARTIAL

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "effect": self.effect}


@dataclass
class Reasons:
    items: list[Reason] = field(default_factory=list)

    def add(self, code: str, message: str, effect: str = PARTIAL) -> None:
        if not any(item.code == code for item in self.items):
            self.items.append(Reason(code, " ".join(message.split()), effect))

    def redact(self, redact: Callable[[str], str]) -> None:
        """Pass every message through ``redact`` (a URL's credentials in a reason are the page's secret)."""
        self.items = [Reason(item.code, redact(item.message), item.effect) for item in self.items]

    @property
    def partial(self) -> bool:
        return any(item.effect == PARTIAL for item in self.items)

    def messages(self) -> tuple[str, ...]:
        return tuple(f"{item.code}: {item.message}" for item in self.items)

    def to_list(self) -> list[dict[str, str]]:
        return [item.to_dict() for item in self.items]


def times(started: datetime, ended: datetime, steps: list[tuple[str, datetime]]) -> dict[str, Any]:
    return {
        "started": format_time(started),
        "ended": format_time(ended),
        "duration_ms": _ms(ended - started),
        "local_zone": local_zone(started),
        "started_local": started.astimezone().isoformat(timespec="microseconds"),
        "steps": [
            {"step": step, "at": format_time(moment), "offset_ms": _ms(moment - started)} for step, moment in steps
        ],
    }


def _ms(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() * 1000))


def host() -> dict[str, Any]:
    return {
        "name": socket.gethostname(),
        "os": platform.platform(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
    }


def software() -> dict[str, str]:
    return {
        "evidencekit": _version("evidencekit"),
        "playwright": _version("playwright"),
        "warcio": _version("warcio"),
        "python": ".".join(str(part) for part in sys.version_info[:3]),
    }


@cache  # reading a distribution's metadata parses files: once per process is enough
def _version(distribution: str) -> str:
    try:
        return package_metadata.version(distribution)
    except package_metadata.PackageNotFoundError:
        return "unknown"


def check(document: dict[str, Any]) -> None:
    """Raise ValidationError if ``document`` does not match the capture schema (a bug, never the page's
    fault: the page's content only ever appears as strings)."""
    validate(SCHEMA_NAME, document)
