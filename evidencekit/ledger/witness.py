"""Signed checkpoints held outside the ledger, in files: the case's checkpoints.txt and the witness copy.

The witness copy is the investigator's own copy of a case's signed checkpoints, kept beside their key,
outside the case: someone who can rewrite the case folder (database and checkpoints.txt alike) cannot
reach it, so `ledger verify` still sees that the ledger was cut back or rebuilt.

File format. Signed notes follow one another, each followed by one extra empty line. Notes in these
files must have bodies without empty lines (true of every checkpoint), so the first empty line of a note
separates body from signatures and the next empty line ends the note: the file splits unambiguously.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from evidencekit.errors import InputFileError, IntegrityError, ValidationError
from evidencekit.fsutil import fsync_dir
from evidencekit.keys import config_dir
from evidencekit.ledger.notes import NoteSignature, SignedNote, check_note_text
from evidencekit.models import CaseInfo
from evidencekit.workspace import Workspace


def witness_path(environ: Mapping[str, str], info: CaseInfo) -> Path:
    """Where the investigator's witness copy of a case's checkpoints lives: in their config folder."""
    return config_dir(environ) / "witness" / f"{info.case_uuid}.txt"


def checkpoints_file(workspace: Workspace) -> NoteFile:
    return NoteFile(workspace.checkpoints_path, workspace.checkpoints_path.name)


def witness_file(environ: Mapping[str, str], info: CaseInfo) -> NoteFile:
    path = witness_path(environ, info)
    return NoteFile(path, f"witness {path}")


class NoteFile:
    """A file of signed notes, only ever appended to: the file implementation of ``backend.NoteLog``."""

    def __init__(self, path: Path, where: str) -> None:
        self.path = path
        self._where = where

    @property
    def where(self) -> str:
        return self._where

    def _present(self) -> bool:
        if self.path.is_symlink():
            raise IntegrityError(
                f"{self.path} is a symbolic link; checkpoint files are never links, so it was replaced"
            )
        return self.path.is_file()

    def append(self, note: SignedNote) -> None:
        self._present()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append_note_file(self.path, note)

    def notes(self) -> list[SignedNote]:
        if not self._present():
            return []
        try:
            return read_notes_file(self.path)
        except ValidationError as exc:
            raise IntegrityError(f"{exc}; run `evidencekit ledger verify`") from None

    def texts(self) -> list[str] | None:
        return note_texts_of_file(self.path) if self._present() else None

    def torn(self) -> bytes:
        """The bytes after the last complete note: empty unless an append was interrupted (or the file
        was damaged); ``interrupted_note`` tells the two apart."""
        if not self._present():
            return b""
        try:
            return split_torn(self.path.read_bytes())[1]
        except OSError:
            return b""

    def complete_texts(self) -> list[str] | None:
        """Each complete note's text, leaving out a torn tail; None when the file does not exist."""
        if not self._present():
            return None
        complete, _ = split_torn(self.path.read_bytes())
        return _texts_of(complete, self.path)

    def cut_torn(self, torn: bytes) -> int:
        """Cut ``torn`` from the end of the file, if it still ends with exactly those bytes after its last
        complete note (taken under the append lock); the number of bytes cut."""
        fd = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if not torn or size < len(torn) or os.pread(fd, len(torn), size - len(torn)) != torn:
                return 0
            data = os.pread(fd, size, 0)
            if split_torn(data)[1] != torn:
                return 0
            os.ftruncate(fd, size - len(torn))
            os.fsync(fd)
            return len(torn)
        finally:
            os.close(fd)


def split_torn(data: bytes) -> tuple[bytes, bytes]:
    """``data`` cut after its last complete note (a body, an empty line, signatures, an empty line), and
    what follows it: the torn bytes of an interrupted append, or damage."""
    end = 0
    while (body_end := data.find(b"\n\n", end)) >= 0 and (note_end := data.find(b"\n\n", body_end + 2)) >= 0:
        end = note_end + 2
    return data[:end], data[end:]


def interrupted_note(torn: bytes, held: Iterable[str]) -> str | None:
    """The note of ``held`` (note texts the ledger holds) whose file form ``torn`` begins but does not
    complete: then ``torn`` is what an interrupted append leaves. None: the bytes are not that."""
    if not torn:
        return None
    for text in held:
        whole = (text + "\n").encode("utf-8")
        if len(torn) < len(whole) and whole.startswith(torn):
            return text
    return None


def note_texts_of_file(path: Path) -> list[str]:
    """The text of each note in a checkpoints file, split but not parsed: for a verifier that parses
    only the notes it has not already checked. A file that does not split cleanly: ValidationError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read the checkpoints file {path}: {exc.strerror or exc}") from None
    return _texts_of(data, path)


def _texts_of(data: bytes, path: Path) -> list[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not valid UTF-8") from None
    parts = text.split("\n\n")
    if parts[-1] != "" or len(parts) % 2 != 1:
        read_notes_text(data, path)  # names the damaged line
        raise ValidationError(f"{path}: not a sequence of signed notes")
    return [f"{parts[i]}\n\n{parts[i + 1]}\n" for i in range(0, len(parts) - 1, 2)]


def read_notes_file(path: Path) -> list[SignedNote]:
    """Read a checkpoints file back; any damage raises ValidationError naming the file and line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"no such checkpoints file: {path}") from None
    except OSError as exc:
        raise InputFileError(f"cannot read the checkpoints file {path}: {exc.strerror or exc}") from None
    return read_notes_text(data, path)


def read_notes_text(data: bytes, path: Path) -> list[SignedNote]:
    """The notes of a checkpoints file's bytes; any damage raises ValidationError naming the line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(f"{path} line {line}: not valid UTF-8") from None
    lines = text.split("\n")
    if lines[-1]:
        raise ValidationError(f"{path} line {len(lines)}: the file ends inside a line (an interrupted write?)")
    lines.pop()

    def damaged(index: int, problem: str) -> ValidationError:
        return ValidationError(f"{path} line {index + 1}: {problem}")

    notes: list[SignedNote] = []
    i = 0
    while i < len(lines):
        start = i
        while i < len(lines) and lines[i]:
            try:
                check_note_text(lines[i], "note")
            except ValidationError:
                raise damaged(i, "a forbidden control character") from None
            i += 1
        if i == start:
            raise damaged(i, "an empty line where a note should begin")
        if i == len(lines):
            raise damaged(i - 1, f"the note starting at line {start + 1} has no signatures")
        body = "".join(f"{line}\n" for line in lines[start:i])
        i += 1
        signatures = []
        while i < len(lines) and lines[i]:
            try:
                signatures.append(NoteSignature.parse_line(lines[i]))
            except ValidationError as exc:
                raise damaged(i, exc.message) from None
            i += 1
        if not signatures:
            raise damaged(min(i, len(lines) - 1), f"the note starting at line {start + 1} has no signatures")
        if i == len(lines):
            raise damaged(i - 1, "the last note lacks the empty line that ends it (an interrupted write?)")
        try:
            notes.append(SignedNote(body, tuple(signatures)))
        except ValidationError as exc:
            raise damaged(start, exc.message) from None
        i += 1
    return notes


def append_note_file(path: Path, note: SignedNote) -> None:
    """Append ``note`` and its terminating empty line, then fsync; creates the file if needed.

    All or nothing: writers of the same file take turns (an exclusive lock), and a write that fails
    part-way is cut back to where it began, so the file never ends inside a note this call wrote.
    """
    if "" in note.body[:-1].split("\n"):
        raise ValidationError("a note stored in a checkpoints file must not have empty lines in its body")
    created = not path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link between the caller's check and this open
            raise IntegrityError(f"{path} is a symbolic link; checkpoint files are never links") from None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size == 1 or (size >= 2 and os.pread(fd, 2, size - 2) != b"\n\n"):
            raise ValidationError(f"{path} does not end with a complete note; refusing to append to it")
        try:
            view = memoryview((note.text() + "\n").encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)  # only this call's bytes, under the lock: the notes before stay as they were
            with contextlib.suppress(OSError):
                os.fsync(fd)
            raise
    finally:
        os.close(fd)  # also releases the lock
    if created:
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder; the data is safe
            fsync_dir(path.parent)
