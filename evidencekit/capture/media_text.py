"""Text the media worker writes about what it kept: yt-dlp's info JSON without secrets, media types from
file names, and messages of ffmpeg or the system without the investigator's local paths."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path, PurePosixPath
from typing import Any

_SECRET_KEYS = frozenset({"http_headers", "cookies", "cookie", "authorization", "_cookies", "__x_forwarded_for_ip"})


def info_json(ydl: Any, info: dict[str, Any]) -> bytes:
    cleaned = without_secrets(ydl.sanitize_info(info, remove_private_keys=True))
    return json.dumps(cleaned, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if str(k).lower() not in _SECRET_KEYS}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def type_of(name: str) -> str:
    """A media type from a file name (Python's table calls .ts a Qt Linguist file)."""
    suffix = PurePosixPath(name).suffix.lower()
    known = {".ts": "video/mp2t", ".m4s": "video/iso.segment", ".m3u8": "application/vnd.apple.mpegurl"}
    return known.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def without_paths(message: str, root: Path) -> str:
    """A message of ffmpeg or the system without the investigator's local paths: file names only."""
    return message.replace(f"{root}/", "").replace(str(root), ".")
