"""What ``add`` reads from disk before anything is stored: a folder's tree, every path checked, and the safe
artefact name of each file (unique, limited to ``A-Z a-z 0-9 . _ / -``; the original path is kept in details).

Names on seized media are often not UTF-8 (an old Windows code page, a damaged file system). Such a name is
recorded losslessly (``recorded_name``): a readable form, each undecodable byte shown as U+FFFD, beside the
raw bytes in base64 under the same field name with ``_bytes`` appended.
"""

from __future__ import annotations

import base64
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from evidencekit.errors import InputFileError
from evidencekit.models import UNSAFE_NAME_CHARS

_NAME_LIMIT = 200  # models.ARTEFACT_NAME_PATTERN
# Names the bundle writes itself in an item's folder; a file of the tree never takes them.
_RESERVED = frozenset({"metadata.json", "capture.wacz", "indicators.json"})


def raw_name_bytes(name: str) -> bytes:
    """The bytes a name had on disk (Python carries undecodable bytes as lone surrogates)."""
    return name.encode("utf-8", errors="surrogateescape")


def readable_name(name: str) -> str:
    """``name`` as valid UTF-8 text: each byte that was not UTF-8 becomes U+FFFD."""
    return raw_name_bytes(name).decode("utf-8", errors="replace")


def recorded_name(field: str, name: str) -> dict[str, str]:
    """The details fields that record ``name``: ``{field: name}`` when it is UTF-8, else its readable form
    and ``{field}_bytes``, the raw bytes in base64, so the name can be told exactly."""
    raw = raw_name_bytes(name)
    try:
        return {field: raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {field: readable_name(name), f"{field}_bytes": base64.b64encode(raw).decode("ascii")}


def single_file_name(original: str) -> str:
    """The artefact name of a file added on its own: its safe name, never one the bundle writes itself in
    an item's folder (a file called metadata.json would otherwise stand where the item's metadata goes)."""
    name = safe_artefact_name(original)
    return f"file-{name}" if name.lower() in _RESERVED else name


def safe_artefact_name(original: str, fallback: str = "file") -> str:
    """A name limited to ``[A-Za-z0-9._-]`` (bundle manifests need it); the original is kept in details.

    Accented letters keep their base letter (``Ärzte.pdf``: ``Arzte.pdf``); a name whose stem is lost
    entirely keeps its extension behind the fallback (``報告.pdf``: ``file.pdf``).
    """
    folded = "".join(c for c in unicodedata.normalize("NFKD", original) if not unicodedata.combining(c))
    replaced = UNSAFE_NAME_CHARS.sub("_", folded)
    cleaned = replaced.lstrip("._-")
    lost = replaced[: len(replaced) - len(cleaned)]
    if len(lost) > 1 and lost.endswith(".") and cleaned:
        cleaned = f"{fallback}.{cleaned}"
    cleaned = cleaned[:120].rstrip("._-")
    return cleaned or fallback


@dataclass(frozen=True)
class TreeFile:
    source: Path
    relative: str  # as on disk, with "/" between folders
    name: str  # the artefact name: safe and unique within the item


@dataclass(frozen=True)
class FolderTree:
    root: Path
    files: tuple[TreeFile, ...]
    empty_folders: tuple[str, ...]


def read_folder_tree(root: Path) -> FolderTree:
    """Every regular file under ``root``, in a stable order, each checked readable.

    A symbolic link or special file (device, socket, FIFO) inside the folder is refused, naming it: what
    a link points to is not part of the folder, and following it could pull in anything on the machine.
    """
    relatives: list[str] = []
    empty: list[str] = []
    _walk(root, "", relatives, empty)
    if not relatives:
        raise InputFileError(f"{root} holds no files; nothing to add")
    names = _unique_names(relatives)
    files = tuple(TreeFile(root / rel, rel, name) for rel, name in zip(relatives, names, strict=True))
    return FolderTree(root, files, tuple(empty))


def _walk(folder: Path, prefix: str, files: list[str], empty: list[str]) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        raise InputFileError(f"cannot read the folder {folder}: {exc.strerror or exc}") from None
    if not entries and prefix:
        empty.append(prefix.rstrip("/"))
    for entry in entries:
        path = Path(entry.path)
        relative = prefix + entry.name
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISLNK(mode):
            raise InputFileError(f"{path} is a symbolic link; links inside a folder are not added (nothing was added)")
        if stat.S_ISDIR(mode):
            _walk(path, relative + "/", files, empty)
        elif stat.S_ISREG(mode):
            _check_readable(path)
            files.append(relative)
        else:
            raise InputFileError(f"{path} is not a regular file or folder; nothing was added")


def _check_readable(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}; nothing was added") from None


def _unique_names(relatives: list[str]) -> list[str]:
    """Safe names, unique even on a file system that ignores case, and never a file where a folder is.

    Each folder of the tree keeps one safe name for all its files; a clash is settled by numbering the
    leaf (``report-<n>.pdf``, n the file's place in the tree), which the original path in details explains.
    """
    taken_files: set[str] = set(_RESERVED)
    taken_folders: set[str] = set()
    folder_names: dict[str, str] = {}
    names = []
    for index, relative in enumerate(relatives, 1):
        *folders, leaf = relative.split("/")
        safe_folder = ""
        for depth in range(len(folders)):
            original = "/".join(folders[: depth + 1])
            if original not in folder_names:
                base = safe_folder + safe_artefact_name(folders[depth])
                candidate, attempt = base, 0
                while candidate.lower() in taken_files:
                    attempt += 1
                    candidate = f"{base}-{index}" + (f"-{attempt}" if attempt > 1 else "")
                folder_names[original] = candidate
                taken_folders.add(candidate.lower())
            safe_folder = folder_names[original] + "/"
        safe_leaf = safe_artefact_name(leaf)
        if len(safe_folder) + len(safe_leaf) > _NAME_LIMIT:
            safe_folder, safe_leaf = "", f"long-name-{index:05d}-{safe_leaf[:120]}"
        name, attempt = safe_folder + safe_leaf, 0
        while name.lower() in taken_files or name.lower() in taken_folders:
            attempt += 1
            name = safe_folder + _numbered(safe_leaf, index, attempt)
        taken_files.add(name.lower())
        names.append(name)
    return names


def _numbered(leaf: str, index: int, attempt: int) -> str:
    """``report.pdf`` becomes ``report-<index>.pdf`` (then ``report-<index>-2.pdf``...)."""
    stem, dot, extension = leaf.partition(".")
    suffix = f"-{index}" + (f"-{attempt}" if attempt > 1 else "")
    return f"{stem}{suffix}{dot}{extension}"
