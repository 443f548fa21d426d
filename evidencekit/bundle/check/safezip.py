"""Extract a bundle zip that may be hostile, into a private folder, or refuse it whole.

Refused: entry names that are absolute, contain ``.`` or ``..`` components, backslashes or NUL, or are
not UTF-8; duplicate names (also after case folding, so nothing can shadow a file on case-insensitive
systems); a name used both as a file and as a folder; symbolic links and other special files; encrypted
entries; zip bombs (too many entries, too many bytes in all, a compression ratio beyond the limit for
one entry or for the archive as a whole, enforced while the bytes are written, not only as declared).
Nothing is ever written outside the destination folder, and an archive that would not fit in the free
space of the destination is not started.
"""

from __future__ import annotations

import errno
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from evidencekit.errors import IntegrityError, OperationalError, UsageError

_UTF8_FLAG = 0x800
_CHUNK = 1024 * 1024
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


class HostileBundleError(IntegrityError):
    """The bundle is built to attack its reader; nothing was kept."""


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 100_000
    max_total_bytes: int = 64 * 1024**3
    max_ratio: int = 200
    # Tiny entries compress absurdly well without being bombs; the ratio applies above this size. Kept
    # low so that a bomb cannot hide in many entries each just under it.
    ratio_floor_bytes: int = 64 * 1024
    # The archive as a whole: bundles store their images, archives and PDFs, and JSON or text deflates
    # about 5-10-fold, so a bundle unpacking to 100 times its size is not one evidencekit made.
    max_total_ratio: int = 100
    total_ratio_floor_bytes: int = 16 * 1024**2


def _entry_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & _UTF8_FLAG and not name.isascii():
        # Without the UTF-8 flag Python decoded the raw bytes as CP437; only plain ASCII is unambiguous.
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            raise HostileBundleError(f"zip entry name {info.filename!r} is not UTF-8") from None
    return name


def _check_name(name: str) -> PurePosixPath:
    if not name or "\x00" in name or "\\" in name:
        raise HostileBundleError(f"zip entry name {name!r} is not allowed")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise HostileBundleError(f"zip entry {name!r} has an absolute path")
    parts = name.rstrip("/").split("/")
    if ".." in parts or ".." in path.parts:
        raise HostileBundleError(f"zip entry {name!r} climbs out of the bundle with '..'")
    # '.' and empty components would let two spellings name one file and slip past the duplicate check.
    if any(part in (".", "") for part in parts):
        raise HostileBundleError(f"zip entry {name!r} has an empty or '.' path component")
    return path


def _is_special(info: zipfile.ZipInfo) -> bool:
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip records no Unix file type
    return kind not in (0, stat.S_IFREG, stat.S_IFDIR)


def extract_safely(archive: Path, destination: Path, limits: ZipLimits | None = None) -> None:
    """Extract ``archive`` into ``destination`` (an empty private folder) or raise HostileBundleError.

    OperationalError when the destination lacks the room; UsageError when the archive cannot be read.
    """
    limits = limits or ZipLimits()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise HostileBundleError(f"{archive.name} is not a readable zip file ({exc})") from None
    except OSError as exc:
        raise UsageError(f"cannot read {archive}: {exc.strerror or exc}") from None
    try:
        with zf:
            plan = _plan(zf.infolist(), limits)
            declared = sum(info.file_size for info, _ in plan)
            _check_total_ratio(declared, archive.stat().st_size, limits)
            _check_room(declared, destination)
            written = 0
            for info, rel in plan:
                target = destination.joinpath(*rel.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written += _copy_entry(zf, info, target, limits, written)
    except (HostileBundleError, OperationalError):
        _empty(destination)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        _empty(destination)
        raise HostileBundleError(f"{archive.name} is not a readable zip file ({exc})") from None
    except OSError as exc:
        _empty(destination)
        if exc.errno in _NO_ROOM:
            raise OperationalError(
                f"no room left in {destination.parent} while unpacking {archive.name}; free some space or set "
                "TMPDIR to a folder with more"
            ) from None
        # Everything else here comes from what the archive holds (names too long, a file where a folder
        # must go): the archive is refused, not the computer blamed.
        raise HostileBundleError(f"{archive.name} cannot be unpacked safely ({exc.strerror or exc})") from None


def _plan(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    if len(infos) > limits.max_entries:
        raise HostileBundleError(f"the zip holds {len(infos)} entries, more than the limit of {limits.max_entries}")
    seen: set[str] = set()
    files: dict[str, str] = {}
    folders: set[str] = set()
    declared = 0
    plan = []
    for info in infos:
        name = _entry_name(info)
        rel = _check_name(name)
        key = name.rstrip("/").casefold()
        if key in seen:
            raise HostileBundleError(f"zip entry {name!r} appears more than once")
        seen.add(key)
        parts = key.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        if info.is_dir():
            folders.add(key)
        else:
            files[key] = name
        if _is_special(info):
            raise HostileBundleError(f"zip entry {name!r} is a symbolic link or special file")
        if info.flag_bits & 0x1:
            raise HostileBundleError(f"zip entry {name!r} is encrypted")
        declared += info.file_size
        if declared > limits.max_total_bytes:
            raise HostileBundleError(f"the zip unpacks to more than {limits.max_total_bytes} bytes")
        _check_ratio(name, info.file_size, info.compress_size, limits)
        plan.append((info, rel))
    clash = sorted(set(files) & folders)
    if clash:
        raise HostileBundleError(f"zip entry {files[clash[0]]!r} is both a file and a folder")
    return plan


def _check_ratio(name: str, size: int, compressed: int, limits: ZipLimits) -> None:
    if size > limits.ratio_floor_bytes and size > limits.max_ratio * max(compressed, 1):
        raise HostileBundleError(
            f"zip entry {name!r} expands {size // max(compressed, 1)}-fold (limit {limits.max_ratio}): a zip bomb"
        )


def _check_total_ratio(declared: int, archive_size: int, limits: ZipLimits) -> None:
    if declared > limits.total_ratio_floor_bytes and declared > limits.max_total_ratio * max(archive_size, 1):
        raise HostileBundleError(
            f"the zip expands {declared // max(archive_size, 1)}-fold in all "
            f"(limit {limits.max_total_ratio}): a zip bomb"
        )


def _check_room(declared: int, destination: Path) -> None:
    free = shutil.disk_usage(destination).free
    if declared > free:
        raise OperationalError(
            f"the bundle unpacks to {declared} bytes but only {free} are free in {destination.parent}; free some "
            "space or set TMPDIR to a folder with more"
        )


def _copy_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limits: ZipLimits, before: int) -> int:
    """Copy one entry, stopping if it yields more than it declared or breaks the limits."""
    count = 0
    with zf.open(info) as source, target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            count += len(chunk)
            if count > info.file_size:
                raise HostileBundleError(f"zip entry {info.filename!r} holds more bytes than it declares")
            if before + count > limits.max_total_bytes:
                raise HostileBundleError(f"the zip unpacks to more than {limits.max_total_bytes} bytes")
            _check_ratio(info.filename, count, info.compress_size, limits)
            out.write(chunk)
    return count


def _empty(folder: Path) -> None:
    """Leave nothing of a refused bundle behind."""
    if folder.exists():
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
