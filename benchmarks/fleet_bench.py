"""`make bench-fleet`: the cost curve of the weekly report over a generated fleet.

Builds one demo fleet of max(N) models (`workbench demo up --models N`, its own params folder),
then runs `workbench report` for the first N models, N in --sizes, with each --jobs value, and
prints wall time, CPU and peak RSS of the whole process tree: in total, per model and per 1,000
predictions reviewed. Goal: cost per model flat as N grows.

    python benchmarks/fleet_bench.py [--sizes 1,10,50] [--jobs 1,2] [--volume 5000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10,50")
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--volume", type=int, default=5000, help="mean predictions per model and week")
    ap.add_argument("--dir", help="fleet demo folder (default: a temp folder, removed afterwards)")
    a = ap.parse_args(argv)
    sizes = sorted({int(x) for x in a.sizes.split(",")})
    jobs = [int(x) for x in a.jobs.split(",")]
    tmp = tempfile.TemporaryDirectory(prefix="fleet-bench-")
    demo = Path(a.dir or Path(tmp.name) / "demo").resolve()
    env = {**os.environ, "WORKBENCH_DEMO_DIR": str(demo), "PYTHONPATH": str(ROOT / "src")}
    env.pop("WORKBENCH_PROMETHEUS_URL", None)
    env.pop("WORKBENCH_DATABASE_URL", None)
    wb = [sys.executable, "-m", "workbench.cli", "--log-format", "json"]
    print(f"building a fleet of {max(sizes)} models in {demo} ...", flush=True)
    b = run([*wb, "demo", "up", "--dir", str(demo), "--models", str(max(sizes)), "--weekly-volume", str(a.volume),
             "--port", "0"], env=env, cwd=str(ROOT))
    if b.returncode:
        print(b.stderr[-3000:], file=sys.stderr)
        return 1
    manifest = json.loads((demo / "manifest.json").read_text())
    print(f"  built in {b.wall:.0f} s ({manifest['rows']:,} predictions, {manifest['series']} series)", flush=True)
    fleet = manifest["fleet"]
    rows = []
    try:
        for n in sizes:
            models = [m["name"] for m in fleet[:n]]
            week_rows = sum(m["week_rows"] for m in fleet[:n])
            for j in jobs:
                out = Path(tmp.name) / f"reports-{n}-{j}"
                cmd = [*wb, "report", "--params", str(demo / "params" / "weekly.yaml"), "--source", "demo",
                       "--out", str(out), "--jobs", str(j), *[x for m in models for x in ("--model", m)]]
                print(f"N={n} jobs={j} ...", flush=True)
                m = run(cmd, env=env, cwd=str(ROOT))
                st = json.loads(next(out.glob("*/status.json")).read_text()) if list(out.glob("*/status.json")) else {}
                counts: dict[str, int] = {}
                for r in st.get("results", []):
                    counts[r["status"]] = counts.get(r["status"], 0) + 1
                row = {"models": n, "jobs": j, "notebooks": sum(counts.values()), "statuses": counts,
                       "wall_s": m.wall, "cpu_s": m.cpu, "peak_rss_mb": m.peak_rss_mb, "week_rows": week_rows,
                       "wall_per_model": round(m.wall / n, 1), "cpu_per_model": round(m.cpu / n, 1),
                       "rss_per_model_mb": round(m.peak_rss_mb / n, 1),
                       "wall_per_1k_rows": round(m.wall / (week_rows / 1000), 2),
                       "rss_per_1k_rows_mb": round(m.peak_rss_mb / (week_rows / 1000), 2)}
                rows.append(row)
                print(f"  {m.wall:.0f} s wall, {m.cpu:.0f} s CPU, peak RSS {m.peak_rss_mb:.0f} MB, {counts}", flush=True)
    finally:
        subprocess_down = run([*wb, "demo", "down", "--dir", str(demo)], env=env, cwd=str(ROOT))
        del subprocess_down
    print()
    head = (f"{'models':>6} {'jobs':>4} {'rows/wk':>8} {'wall s':>7} {'cpu s':>7} {'RSS MB':>7} | "
            f"{'s/model':>7} {'cpu/model':>9} {'MB/model':>8} | {'s/1k rows':>9} {'MB/1k rows':>10} | statuses")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['models']:>6} {r['jobs']:>4} {r['week_rows']:>8,} {r['wall_s']:>7.0f} {r['cpu_s']:>7.0f} "
              f"{r['peak_rss_mb']:>7.0f} | {r['wall_per_model']:>7.1f} {r['cpu_per_model']:>9.1f} "
              f"{r['rss_per_model_mb']:>8.1f} | {r['wall_per_1k_rows']:>9.2f} {r['rss_per_1k_rows_mb']:>10.2f} | "
              f"{', '.join(f'{v} {k}' for k, v in sorted(r['statuses'].items()))}")
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / f"fleet-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(
        {"build_s": b.wall, "volume": a.volume, "rows": rows, "cpus": os.cpu_count()}, indent=2))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
