"""Bundle verification benchmark (a script, not a test).

Builds a case holding about 1 GiB of payload (random, incompressible files added with `evidencekit add`),
exports it as a bundle folder, then times on that same folder, in the same run, best of N:

  * ``evidencekit verify DIR``             (everything: manifests, tag files, ledger, proofs, signatures)
  * ``b3sum --check manifest-blake3.txt``  (the baseline for the BLAKE3 pass)
  * ``python -m bagit --validate DIR``     (the baseline for the whole verification)

and prints the ratios. Goals: evidencekit's BLAKE3 pass >= 0.8x the throughput of ``b3sum --check``;
the whole ``evidencekit verify`` faster than bagit's validation.

Usage: python benchmarks/bench_verify.py [--size-mib 1024] [--files 16] [--repeat 3] [--dir FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import MIB, best_of, ratio_line, warm_page_cache, write_random_file


def _cli(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evidencekit", *args], env=env, capture_output=True, text=True, check=False, **kwargs
    )


def build_bundle(folder: Path, size: int, files: int, env: dict[str, str]) -> Path:
    inputs = folder / "inputs"
    inputs.mkdir()
    paths = []
    for n in range(files):
        path = inputs / f"evidence-{n:03d}.bin"
        write_random_file(path, size // files)
        paths.append(str(path))
    case = folder / "case"
    steps = [
        ["keys", "generate", "--investigator", "Bench Investigator"],
        [
            "init",
            str(case),
            "--case-id",
            "BENCH-VERIFY",
            "--title",
            "Verify benchmark",
            "--investigator",
            "Bench Investigator",
        ],
        ["--case", str(case), "add", *paths],
        ["--case", str(case), "export", str(folder / "bundle"), "--all", "--dir"],
    ]
    for args in steps:
        proc = _cli(args, env)
        if proc.returncode != 0:
            raise SystemExit(f"set-up step failed: {' '.join(args[:3])}: {proc.stderr.strip()}")
    shutil.rmtree(inputs)
    return folder / "bundle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="Folder on the disk to measure (default: a temp folder)")
    args = parser.parse_args()
    if shutil.which("b3sum") is None:
        raise SystemExit("b3sum is not installed (Debian package b3sum); it is the baseline of this benchmark")
    with tempfile.TemporaryDirectory(prefix="bench-verify-", dir=args.dir) as tmp:
        folder = Path(tmp)
        env = {**os.environ, "XDG_CONFIG_HOME": str(folder / "config")}
        print(f"Building a bundle of {args.size_mib} MiB in {args.files} files ...", flush=True)
        bundle = build_bundle(folder, args.size_mib * MIB, args.files, env)
        payload = sum(p.stat().st_size for p in (bundle / "data").rglob("*") if p.is_file())
        for path in (bundle / "data").rglob("*"):
            if path.is_file():
                warm_page_cache(path)

        best_b3_pass: list[int] = []

        def ours() -> dict[str, object]:
            proc = _cli(["verify", str(bundle), "--json"], env)
            if proc.returncode != 0:
                raise SystemExit(f"evidencekit verify failed: {proc.stdout[-2000:]} {proc.stderr}")
            report: dict[str, object] = json.loads(proc.stdout)
            best_b3_pass.append(int(report["facts"]["timings"]["blake3_pass_ms"]))  # type: ignore[index]
            return report

        def b3sum() -> None:
            proc = subprocess.run(["b3sum", "--check", "--quiet", "manifest-blake3.txt"], cwd=bundle, check=False)
            if proc.returncode != 0:
                raise SystemExit("b3sum --check failed")

        def bagit() -> None:
            proc = subprocess.run(
                [sys.executable, "-m", "bagit", "--validate", "--quiet", str(bundle)], capture_output=True, check=False
            )
            if proc.returncode != 0:
                raise SystemExit(f"bagit failed: {proc.stderr[-500:]!r}")

        t_ours, _ = best_of("evidencekit verify (whole)", ours, repeat=args.repeat, nbytes=payload)
        t_b3, _ = best_of("b3sum --check", b3sum, repeat=args.repeat, nbytes=payload)
        t_bagit, _ = best_of("python -m bagit --validate", bagit, repeat=args.repeat, nbytes=payload)
        b3_pass = min(best_b3_pass) / 1000 if best_b3_pass else 0.0
        print(f"\n== Verifying a bundle of {payload / 1e9:.3f} GB payload ({args.files} files), page cache warm")
        for t in (t_ours, t_b3, t_bagit):
            print(f"{t.label:<32} {t.gb_per_s:7.3f} GB/s  best {t.seconds:7.3f} s (spread {t.spread:5.1%})")
        if b3_pass:
            print(
                f"{'evidencekit BLAKE3 pass':<32} {payload / b3_pass / 1e9:7.3f} GB/s  {b3_pass:7.3f} s "
                "(best of the runs)"
            )
            print(
                ratio_line(
                    "BLAKE3 pass throughput vs b3sum --check", payload / b3_pass, payload / t_b3.seconds, goal=0.8
                )
            )
        print(
            ratio_line("whole evidencekit verify speed vs bagit --validate", t_bagit.seconds, t_ours.seconds, goal=1.0)
        )
        print(ratio_line("whole evidencekit verify throughput vs b3sum --check", t_b3.seconds, t_ours.seconds))


if __name__ == "__main__":
    main()
