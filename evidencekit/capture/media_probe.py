"""What ffmpeg (the imageio-ffmpeg wheel's binary) can tell of a kept media file: its duration and, for a
video, a poster frame. The kept file is only read: the poster is a new, derived PNG. There is no ffprobe in
the wheel, so the duration comes from ``ffmpeg -i``'s report, or from decoding the file when the container
does not state it."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_DECODED = re.compile(r"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: (?!png|mjpeg)")  # a cover picture (png, mjpeg) is no video


@dataclass(frozen=True)
class Probe:
    readable: bool  # ffmpeg recognised the file
    duration_ms: int | None
    video: bool
    audio: bool
    error: str | None = None


@cache
def ffmpeg_path() -> str | None:
    try:
        import imageio_ffmpeg  # imported only when media are described

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (RuntimeError, OSError):
        return None


@cache
def ffmpeg_version() -> str:
    """ffmpeg's own version and the wheel's that brought it (``7.1 (imageio-ffmpeg 0.6.0)``)."""
    import imageio_ffmpeg

    try:
        own = str(imageio_ffmpeg.get_ffmpeg_version())
    except (RuntimeError, OSError):
        own = "unknown"
    return f"{own} (imageio-ffmpeg {imageio_ffmpeg.__version__})"


def _ms(hours: str, minutes: str, seconds: str) -> int:
    return int(hours) * 3_600_000 + int(minutes) * 60_000 + round(float(seconds) * 1000)


def _run(arguments: list[str], timeout_s: float) -> subprocess.CompletedProcess[str] | None:
    exe = ffmpeg_path()
    if exe is None:
        return None
    try:
        return subprocess.run(
            [exe, "-hide_banner", "-nostdin", *arguments],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=max(1.0, timeout_s),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def probe(path: Path, timeout_s: float) -> Probe:
    done = _run(["-i", str(path)], timeout_s)
    if done is None:
        return Probe(False, None, False, False, "ffmpeg could not be run in time")
    report = done.stderr
    if "Stream #" not in report:
        last = report.strip().splitlines()[-1] if report.strip() else "no streams"
        return Probe(False, None, False, False, last[-200:])
    video = bool(_VIDEO.search(report))
    audio = ": Audio: " in report
    match = _DURATION.search(report)
    duration = _ms(*match.groups()) if match else None
    if duration is None:
        duration = _decoded_duration(path, timeout_s)
    return Probe(True, duration, video, audio)


def _decoded_duration(path: Path, timeout_s: float) -> int | None:
    done = _run(["-i", str(path), "-f", "null", "-"], timeout_s)
    if done is None:
        return None
    times = _DECODED.findall(done.stderr)
    return _ms(*times[-1]) if times else None


def poster(path: Path, out: Path, timeout_s: float) -> str | None:
    """Write the first video frame of ``path`` to ``out`` as PNG; None, or why it could not."""
    arguments = ["-loglevel", "error", "-i", str(path), "-frames:v", "1", "-an", "-f", "image2", "-c:v", "png"]
    done = _run([*arguments, str(out)], timeout_s)
    if done is None:
        return "ffmpeg could not be run in time"
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        return (done.stderr.strip().splitlines() or ["no frame"])[-1][-200:]
    return None
