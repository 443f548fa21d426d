"""One exception hierarchy. Each error knows its exit code and carries a one-line message for people.

Exit codes: 0 success, 1 operational error (network, browser, disk), 2 usage error (bad input),
3 integrity problem (verification failed, tampering detected).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

EXIT_OK = 0
EXIT_OPERATIONAL = 1
EXIT_USAGE = 2
EXIT_INTEGRITY = 3


class EvidenceKitError(Exception):
    """Base class. ``message`` says what went wrong and, where it helps, what to do, in one line."""

    exit_code = EXIT_OPERATIONAL

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class OperationalError(EvidenceKitError):
    """The environment failed us: disk, network, browser, database locked."""

    exit_code = EXIT_OPERATIONAL


class UsageError(EvidenceKitError):
    """The input is wrong: bad arguments, missing files, a folder that is not a case."""

    exit_code = EXIT_USAGE


class CaseNotFoundError(UsageError):
    pass


class CaseExistsError(UsageError):
    pass


class InputFileError(UsageError):
    pass


class KeyMissingError(UsageError):
    pass


class ValidationError(UsageError):
    """Data did not meet its schema or the rules of a model."""


class IntegrityError(EvidenceKitError):
    """Evidence or its record is not what it claims to be."""

    exit_code = EXIT_INTEGRITY


class LedgerCorruptError(IntegrityError):
    """The ledger database cannot be read as a ledger (damaged or foreign file)."""


class ObjectMismatchError(IntegrityError):
    """A stored object does not match the digest it is filed under."""


class BrowserError(OperationalError):
    """No usable browser, or the browser failed."""


class CaptureError(OperationalError):
    """A page could not be captured at all (name resolution, refused connection, timeout before a response)."""


class DamagedEvidenceError(IntegrityError):
    """Recorded evidence (a ledger entry's details, a stored file, a checkpoints file) was found damaged while
    a command read it: an integrity problem (exit 3), never a usage error."""


@contextlib.contextmanager
def reading_evidence(what: str) -> Iterator[None]:
    """Inside, a ValidationError means the evidence being read is damaged, not that the user erred.

    Data failing its own rules is a usage error when a person typed it, and an integrity problem when
    it was read back from a case or a bundle; this turns the one into the other, keeping the cause.
    """
    try:
        yield
    except ValidationError as exc:
        raise DamagedEvidenceError(f"{what} is damaged ({exc.message}); run `evidencekit ledger verify`") from exc
