"""Helpers for tests that work with real case folders, real SQLite files and the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from click.testing import CliRunner, Result

from evidencekit.cli import cli

INVESTIGATOR = "Ana Lima"


def run_cli(args: Sequence[str], env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run the CLI in-process (CliRunner), keeping stdout and stderr apart."""
    runner = CliRunner()
    return runner.invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def run_subprocess(
    args: Sequence[str], *, cwd: Path | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m evidencekit`` as a real process, with this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "evidencekit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        check=False,
    )


def start_subprocess(args: Sequence[str]) -> subprocess.Popen[str]:
    """Start ``python -m evidencekit`` as a real process and return at once (to signal or time it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "evidencekit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def make_case(folder: Path, *, with_key: bool = True, case_id: str = "TRAF-2026-001") -> Path:
    """A real case with a key, two files, a note and a checkpoint."""
    if with_key and not (Path(os.environ["XDG_CONFIG_HOME"]) / "evidencekit" / "keys" / "default.pem").exists():
        assert run_cli(["keys", "generate", "--investigator", INVESTIGATOR]).exit_code == 0
    result = run_cli(
        ["init", str(folder), "--case-id", case_id, "--title", "Fake au-pair ads", "--investigator", INVESTIGATOR]
    )
    assert result.exit_code == 0, result.output
    return folder


def raw_db(case: Path) -> sqlite3.Connection:
    """A raw sqlite3 connection, as an attacker with file access would use."""
    conn = sqlite3.connect(case / "ledger.sqlite", isolation_level=None)
    return conn


def drop_triggers(conn: sqlite3.Connection) -> None:
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


def verify_json(case: Path) -> tuple[int, dict[str, object]]:
    result = run_cli(["--case", str(case), "ledger", "verify", "--json"])
    return result.exit_code, json.loads(result.stdout)


@contextlib.contextmanager
def read_only_view(case: Path, scratch: Path) -> Iterator[Path]:
    """``case`` seen read-only: a read-only bind mount (under ``scratch``) as root, since root ignores
    permission bits as a write blocker would not; else its folders and files without write rights."""
    if os.geteuid() == 0:
        view = scratch / "blocked"
        view.mkdir()
        subprocess.run(["mount", "--bind", str(case), str(view)], check=True, capture_output=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True, capture_output=True)
            yield view
        finally:
            subprocess.run(["umount", str(view)], check=True, capture_output=True)
        return
    paths = [case, *case.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        yield case
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | 0o200)
