"""The files one capture writes into its own folder, each registered with a name, role and media type
and hashed once, at the end, into the CapturedFile records the caller stores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evidencekit.errors import OperationalError
from evidencekit.hashing import hash_file
from evidencekit.models import ARTEFACT_NAME_PATTERN, UNSAFE_NAME_CHARS, Artefact, CapturedFile

if TYPE_CHECKING:
    from evidencekit.capture.profilesecrets import ProfileSecrets

_MAX_STEM = 80


@dataclass(frozen=True)
class _Entry:
    name: str
    role: str
    media_type: str


class ArtefactFolder:
    """One capture's folder. Names are relative paths inside it, checked like stored artefact names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=False)
        self._entries: dict[str, _Entry] = {}
        # A browser profile's secret values, replaced by value in each text file written (``profilesecrets``).
        self.secrets: ProfileSecrets | None = None

    def reserve(self, name: str, role: str, media_type: str) -> Path:
        """Register ``name`` and return the path to write it to (the caller writes the file)."""
        if name in self._entries:
            raise OperationalError(f"capture artefact {name!r} written twice")
        if not ARTEFACT_NAME_PATTERN.fullmatch(name) or ".." in name.split("/"):
            raise OperationalError(f"capture artefact name {name!r} is not a safe relative name")
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._entries[name] = _Entry(name, role, media_type)
        return path

    def write(self, name: str, role: str, media_type: str, data: bytes) -> Path:
        path = self.reserve(name, role, media_type)
        if self.secrets is not None and name != "metadata.json":  # the metadata is redacted as a document
            data = self.secrets.file(name, media_type, data)
        with path.open("xb") as handle:
            handle.write(data)
        return path

    def set_media_type(self, name: str, media_type: str) -> None:
        entry = self._entries[name]
        self._entries[name] = _Entry(entry.name, entry.role, media_type)

    def forget(self, name: str) -> None:
        """Drop a name whose file could not be written (a failed screenshot, say)."""
        self._entries.pop(name, None)
        (self.root / name).unlink(missing_ok=True)

    def unique_name(self, folder: str, wanted: str, default_stem: str, suffix: str) -> str:
        """``folder/<safe stem><suffix>``, numbered if taken. Page-supplied names never steer the path."""
        stem = UNSAFE_NAME_CHARS.sub("-", Path(wanted).stem).strip("-._")[:_MAX_STEM] or default_stem
        suffix = UNSAFE_NAME_CHARS.sub("", suffix)[:12]
        candidate = f"{folder}/{stem}{suffix}"
        number = 2
        while candidate in self._entries:
            candidate = f"{folder}/{stem}-{number}{suffix}"
            number += 1
        return candidate

    def names(self) -> list[str]:
        return list(self._entries)

    def captured_files(self, only: str | None = None) -> list[CapturedFile]:
        """Every registered file that exists (or just ``only``), hashed now."""
        files = []
        for entry in self._entries.values():
            path = self.root / entry.name
            if (only is not None and entry.name != only) or not path.is_file():
                continue
            artefact = Artefact(name=entry.name, role=entry.role, media_type=entry.media_type, digests=hash_file(path))
            files.append(CapturedFile(path=path, artefact=artefact))
        return files
