"""The demo week (2 models × 3 reviews) with the demo stack already up, side by side: the base
commit (default d4cc0c9, before the profile-driven cuts) and the current code, in one run on the
same stack, alternating so both see the same machine load.

    python benchmarks/week_bench.py [--base d4cc0c9] [--repeat 1] [--jobs 2] [--no-evidently-too]

The base tree is a `git archive` copy in a temp folder (no worktree, nothing checked out).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def export_commit(commit: str, dest: Path) -> Path:
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit], check=True,
                          capture_output=True).stdout
    tar = dest / "base.tar"
    tar.write_bytes(data)
    with tarfile.open(tar) as t:
        t.extractall(dest / "tree", filter="data")
    return dest / "tree"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="d4cc0c9")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--week", default="")
    ap.add_argument("--no-evidently-too", action="store_true",
                    help="also run the current code with Evidently's side-by-side off (-p evidently_sample=0)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="week-bench-") as tmp:
        tmp = Path(tmp)
        base = export_commit(a.base, tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_PROMETHEUS_URL", "WORKBENCH_DATABASE_URL")}
        env.setdefault("WORKBENCH_DEMO_DIR", str(ROOT / "data" / "demo"))
        up = run([sys.executable, "-m", "workbench.cli", "demo", "up"], env={**env, "PYTHONPATH": str(ROOT / "src")},
                 cwd=str(ROOT))
        if up.returncode:
            print(up.stderr[-2000:], file=sys.stderr)
            return 1
        trees = {f"base {a.base}": base, "current": ROOT}
        if a.no_evidently_too:
            trees["current, no Evidently"] = ROOT
        results: dict[str, list] = {k: [] for k in trees}
        for i in range(a.repeat):
            for name, tree in trees.items():
                # one reports folder per code, as a weekly cron keeps one: from the second round on a run
                # sees the last run's status.json (the current code starts the longest reviews first)
                out = tmp / f"out-{list(trees).index(name)}"
                cmd = [sys.executable, "-m", "workbench.cli", "--log-format", "json", "report", "--params",
                       str(tree / "params" / "weekly.yaml"), "--source", "demo", "--out", str(out), "--jobs", str(a.jobs)]
                if a.week:
                    cmd += ["--week", a.week]
                if "no Evidently" in name:
                    cmd += ["-p", "evidently_sample=0"]
                m = run(cmd, env={**env, "PYTHONPATH": str(tree / "src")}, cwd=str(tree))
                results[name].append(m)
                print(f"{name:22s} run {i + 1}: {m.wall:6.1f} s wall, {m.cpu:6.1f} s CPU, peak RSS {m.peak_rss_mb:6.0f} MB, "
                      f"exit {m.returncode}", flush=True)
        print()
        print(f"{'code':22s} {'wall s (best)':>13} {'CPU s (best)':>12} {'peak RSS MB':>11}")
        for name, ms in results.items():
            print(f"{name:22s} {min(m.wall for m in ms):13.1f} {min(m.cpu for m in ms):12.1f} "
                  f"{max(m.peak_rss_mb for m in ms):11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
