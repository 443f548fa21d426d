"""The size of a PNG the bundle carries, read from its header alone (the screenshots, the visual-diff panels)."""

from __future__ import annotations

from pathlib import Path


def png_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG's header (IHDR), or None for a file that is not a PNG."""
    try:
        with path.open("rb") as png:
            head = png.read(24)
    except OSError:
        return None
    if len(head) < 24 or not head.startswith(b"\x89PNG\r\n\x1a\n") or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
