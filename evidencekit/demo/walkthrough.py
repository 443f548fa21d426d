"""`make demo`: the main job end to end on a built-in example, with real commands in a temp folder.

Every step runs the real CLI as a separate process and prints the command first, so the output doubles
as a tutorial. The demo uses its own key folder inside the demo folder: your real keys are never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from evidencekit.demo.server import serve_demo_site
from evidencekit.demo.tsa import DemoTsa, serve_demo_tsa


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
    print(f"evidencekit demo: everything is written under {folder}")
    with serve_demo_tsa(folder / "demo-tsa") as tsa:
        print(
            f"\nA demo Time-Stamping Authority answers at {tsa.url} (loopback only, stopped afterwards); its root "
            "is a throwaway demo root that nobody else trusts. A real case uses a public or qualified TSA."
        )
        _walkthrough(folder, tsa)


def _walkthrough(folder: Path, tsa: DemoTsa) -> None:
    case = folder / "case"
    bundle = folder / "DEMO-2026-001-bundle.zip"
    env = {**os.environ, "XDG_CONFIG_HOME": str(folder / "config"), "EVIDENCEKIT_CASE": str(case)}
    env.pop("EVIDENCEKIT_OFFLINE", None)
    _run(["keys", "generate", "--investigator", "Demo Investigator"], env)
    _run(["tsa", "add", tsa.url, "--name", "demo-tsa", "--ca-file", str(tsa.ca_file)], env)
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
            "--region",
            "AE",
            "--timezone",
            "Asia/Dubai",
        ],
        env,
    )
    with serve_demo_site() as base:
        print(f"\nThe built-in demo advertisement is served at {base}/ (loopback only, stopped afterwards)")
        _run(["capture", f"{base}/", "--note", "job ad reported by an NGO hotline"], env)  # the case's region: AE
    _run(["note", "The same WhatsApp number appears in three other ads", "--item", "capture-0001"], env)
    _run(["show", "capture-0001"], env)
    _run(["indicators"], env)
    _run(["ledger", "verify"], env)
    _run(["export", str(bundle), "--all", "--recipient", "Demo Public Prosecutor", "--purpose", "disclosure"], env)
    _run(["verify", str(bundle)], env)
    # A recipient compares the signer's key id with one obtained out of band (here: the demo's own key), and
    # checks the timestamps against the TSA's root they trust (here: the demo root).
    key_id = json.loads(_run(["keys", "show", "--json"], env))["key_id"]
    _run(["verify", str(bundle), "--key", key_id, "--tsa-roots", str(tsa.ca_file)], env)
    print(f"\nDemo finished. Case folder: {case}")
    print(f"Evidence bundle: {bundle}")
    print("The bundle's report is data/report/index.html inside it (unzip it and open it in any browser).")
    print("Each item's exhibit PDF, numbered DEMO-2026-001-EX<n>, is in data/exhibits/ inside it.")
    print("\n".join(command_hint()))


def command_hint(prefix: str | None = None) -> list[str]:
    """How to get the `evidencekit` command itself: `make demo` installs it into .venv, not onto PATH."""
    venv = Path(prefix if prefix is not None else sys.prefix)
    return [
        "",
        "To run these commands yourself, put `evidencekit` on your PATH:",
        f"  . {venv / 'bin' / 'activate'}      # this shell only; then: evidencekit --help",
        "  pipx install .                  # or: for your user, in every shell (from the project folder)",
    ]


if __name__ == "__main__":
    main()
