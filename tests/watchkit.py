"""A real case for the watch tests, driven through the real CLI as separate processes (cron's view)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.ledger.database import Ledger

INVESTIGATOR = "Ana Lima"


@dataclass
class WatchCase:
    """A case with its own investigator key (its own config folder), and the environment to run in."""

    folder: Path
    env: dict[str, str]

    @classmethod
    def make(cls, root: Path, case_id: str = "TRAF-2026-015") -> WatchCase:
        env = dict(os.environ)
        env.pop("EVIDENCEKIT_CASE", None)
        env |= {"XDG_CONFIG_HOME": str(root / "config"), "EVIDENCEKIT_OFFLINE": "1"}
        made = cls(root / "case", env)
        made.run_ok("keys", "generate", "--investigator", INVESTIGATOR, in_case=False)
        init = [
            "init",
            str(made.folder),
            "--case-id",
            case_id,
            "--title",
            "Watched ads",
            "--investigator",
            INVESTIGATOR,
        ]
        made.run_ok(*init, in_case=False)
        return made

    def command(self, *args: str, in_case: bool = True) -> list[str]:
        return [sys.executable, "-m", "evidencekit", *(["--case", str(self.folder)] if in_case else []), *args]

    def run(self, *args: str, in_case: bool = True, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args, in_case=in_case), capture_output=True, text=True, env=self.env, timeout=timeout
        )

    def run_ok(self, *args: str, in_case: bool = True) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, in_case=in_case)
        assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def start(self, *args: str, sigint_ignored: bool = False) -> subprocess.Popen[str]:
        """The command started in the background; ``sigint_ignored``: as a non-interactive shell starts a
        background job (`cmd &` in a script), with SIGINT ignored."""

        def ignore_sigint() -> None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        return subprocess.Popen(
            self.command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            preexec_fn=ignore_sigint if sigint_ignored else None,
        )

    def watch_run(self, *args: str) -> dict[str, Any]:
        """``watch run --json ARGS``: the pass's report."""
        done = self.run_ok("watch", "run", "--json", *args)
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    def entries(self) -> list[dict[str, Any]]:
        """Every entry as recorded, read as evidencekit's own readers read (never beside a writer's back)."""
        with Ledger.open(self.folder / "ledger.sqlite", readonly=True) as ledger:
            return [json.loads(entry.raw) for entry in ledger.entries()]

    def verify(self) -> dict[str, Any]:
        done = self.run("ledger", "verify", "--json")
        report: dict[str, Any] = json.loads(done.stdout)
        assert done.returncode == 0 and report["ok"], report.get("problems")
        return report


def of_action(entries: Sequence[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["action"] == action]


def about(entries: Sequence[dict[str, Any]], item: str, action: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["subject"] == item and e["action"] == action]


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
