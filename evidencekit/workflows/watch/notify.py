"""``watch add --notify COMMAND``: a command run when a watched page changes or is removed.

The command is not evidence and may hold a secret (a chat bot's token in a URL): the ledger records only
``notify: true``. The command itself is kept in ``work/watch/notify/<watch id>``, a file only its owner can
read (0600, in a 0700 folder), outside everything ``export`` takes (only what the ledger names), what
``ledger verify`` checks and what the run sweep removes. It is split like a shell would (``shlex``) but run
without a shell, with the observation's details as JSON on its standard input. A command that fails or
hangs is reported on stderr; it never fails the pass, and nothing about it is recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evidencekit.errors import UsageError
from evidencekit.workflows.watch.lock import watch_dir
from evidencekit.workspace import Workspace

NOTIFY_DIR = "notify"
NOTIFY_TIMEOUT_S = 60


def split_command(command: str) -> list[str]:
    try:
        parts = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--notify: cannot split the command ({exc})") from None
    if not parts:
        raise UsageError("--notify needs a command")
    return parts


def _folder(workspace: Workspace) -> Path:
    folder = watch_dir(workspace) / NOTIFY_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    return folder


def keep_command(workspace: Workspace, watch_id: str, command: str) -> None:
    """Write the command where only its owner can read it (made 0600 before a byte is written)."""
    path = _folder(workspace) / watch_id
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, command.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_command(workspace: Workspace, watch_id: str) -> str | None:
    path = workspace.work_dir / "watch" / NOTIFY_DIR / watch_id
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def forget_command(workspace: Workspace, watch_id: str) -> None:
    path = workspace.work_dir / "watch" / NOTIFY_DIR / watch_id
    with contextlib.suppress(OSError):
        path.unlink()


def wanted(details: Mapping[str, Any]) -> bool:
    """Whether an observation calls for the watch's command: the content changed, or the page is removed."""
    return details.get("content") == "changed" or details.get("availability") == "removed"


def command_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a notify command gets: ours without any ``EVIDENCEKIT_*`` variable (the key
    passphrase, or its file, must never reach a third-party program)."""
    return {name: value for name, value in environ.items() if not name.upper().startswith("EVIDENCEKIT_")}


def run_command(workspace: Workspace, watch_id: str, details: Mapping[str, Any]) -> None:
    """Run the watch's command with ``details`` as JSON on stdin; a failure is one line on stderr."""
    command = read_command(workspace, watch_id)
    if command is None:
        _report(f"{watch_id}: its --notify command is missing from {workspace.work_dir / 'watch' / NOTIFY_DIR}")
        return
    try:
        argv = shlex.split(command)
        done = subprocess.run(
            argv,
            input=json.dumps(dict(details), sort_keys=True, ensure_ascii=False).encode(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=NOTIFY_TIMEOUT_S,
            check=False,
            env=command_environment(os.environ),
        )
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        # Only the program's name: its arguments may hold the secret the command exists to keep.
        _report(f"{watch_id}: its --notify command ({_program(command)}) could not run: {type(exc).__name__}")
        return
    if done.returncode != 0:
        _report(f"{watch_id}: its --notify command ({_program(command)}) failed with exit code {done.returncode}")


def _program(command: str) -> str:
    try:
        return Path(shlex.split(command)[0]).name
    except (ValueError, IndexError):
        return "?"


def _report(text: str) -> None:
    print(f"evidencekit: warning: {text}; the pass goes on, nothing about it is recorded", file=sys.stderr)
