"""`make demo`: the main job end to end on a built-in example, with real commands in a temp folder.

Every step runs the real CLI as a separate process and prints the command first, so the output doubles
as a tutorial. The demo uses its own key folder inside the demo folder: your real keys are never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path


def _run(args: Sequence[str], env: dict[str, str], *, expect: int = 0) -> str:
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    print(f"\n$ evidencekit {shown}", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "evidencekit", *args], env=env, capture_output=True, text=True, check=False
    )
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != expect:
        raise SystemExit(f"demo step failed with exit code {proc.returncode}: evidencekit {shown}")
    return proc.stdout


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="evidencekit-demo-"))
    case = folder / "case"
    env = {**os.environ, "XDG_CONFIG_HOME": str(folder / "config"), "EVIDENCEKIT_CASE": str(case)}
    print(f"evidencekit demo: everything is written under {folder}")
    sample = resources.files("evidencekit.demo") / "site" / "photo.jpg"
    with resources.as_file(sample) as photo:
        _run(["keys", "generate", "--investigator", "Demo Investigator"], env)
        _run(
            [
                "init",
                str(case),
                "--case-id",
                "DEMO-2026-001",
                "--title",
                "Suspicious hotel job ads (demo)",
                "--investigator",
                "Demo Investigator",
                "--agency",
                "Demo Anti-Trafficking Unit",
            ],
            env,
        )
        _run(["add", str(photo), "--note", "photo attached to the job advertisement"], env)
    _run(["note", "The same WhatsApp number appears in three other ads", "--item", "file-0001"], env)
    _run(["checkpoint"], env)
    _run(["show", "file-0001"], env)
    _run(["log"], env)
    _run(["ledger", "verify"], env)
    print(f"\nDemo finished. The case folder is {case}")


if __name__ == "__main__":
    main()
