"""A regression model's performance review on DuckDB (the Parquet layout by day): from the residual cells
DuckDB counts (one GROUP BY, sources.base.residual_cells_sql) against the same review reading the rows
(`counts_cells` off), each in a fresh process, so each peak RSS is that path's alone.

One seeded log of N predictions in the week and N in the week before (two versions, outcomes 2 days
late, heavy-tailed errors) is written to a temporary folder, removed afterwards. Prints wall time of
the review, peak RSS of the process (imports included) and its growth during the review, the MAE and
its 1,000-resample interval.

    python benchmarks/regression_cells_bench.py [--rows 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

WEEK_LABEL = "2026-W47"


def write(root: Path, n: int) -> None:
    """N predictions in the week and N in the week before, as the layout by day under `root`."""
    import numpy as np
    import pandas as pd

    from workbench import config
    from workbench.sources import parquet_layout

    week = config.iso_week(WEEK_LABEL)
    rng = np.random.default_rng(0)
    for w in range(2):
        start = week.start - dt.timedelta(weeks=1 - w)
        ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, 7 * 86_400, n)), unit="s")
        y = np.round(50 * rng.lognormal(0, 0.4, n), 2)
        pred = y + 2 + rng.standard_t(4, n) * 5
        y[ts > pd.Timestamp(week.end) - pd.Timedelta(days=2)] = np.nan
        parquet_layout.write_days(pd.DataFrame({
            "prediction_id": [f"{w}-{i}" for i in range(n)], "model_name": "m",
            "model_version": np.where(rng.random(n) < 0.5, "1", "2"), "timestamp": ts, "prediction": pred,
            "actual_outcome": y, "outcome_timestamp": ts + pd.Timedelta(days=2)}), root, "timestamp",
            ("outcome_timestamp",))


def review(mode: str, root: Path) -> str:
    """One review of model m on the layout at `root`: `cells` (DuckDB's residual cells) or `rows`."""
    from workbench import config
    from workbench.config import ModelSpec, StoreParams
    from workbench.performance import core
    from workbench.sources.store_duckdb import DuckdbStore

    class Rows(DuckdbStore):
        @property
        def counts_cells(self) -> bool:
            return False

    params = StoreParams(columns={"variant": None, "probability": None})
    store = (DuckdbStore if mode == "cells" else Rows)(f"duckdb+parquet://{root}", params)
    weekly = config.WeeklyParams.model_validate({"models": [{"name": "m", "type": "regression"}],
                                                 "performance": {"bootstrap_resamples": 1000, "weeks_back": 1},
                                                 "store": params.model_dump(by_alias=True)})
    ctx = SimpleNamespace(model=ModelSpec(name="m", type="regression"), window=config.iso_week(WEEK_LABEL),
                          root=root.parent, params=weekly, store=store, has=lambda s: False,
                          params_path=lambda name: root.parent / f"{name}.yaml", outputs={})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    run = core.review(ctx)
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    s = run.summary
    return (f"{mode:5s} {took:6.1f} s  peak RSS {peak / 1024:5.0f} MB (+{(peak - before) / 1024:.0f} MB in the review)"
            f"  from cells: {run.cells is not None}  n={s.n_predictions:,}  MAE {s.metrics['mae']:.6f}"
            f"  [{s.ci['mae'][0]:.6f}, {s.ci['mae'][1]:.6f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="predictions in the week (and in the week before)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--_review", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--_write", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._review:
        print(review(args._review[0], Path(args._review[1])), flush=True)
        return
    if args._write:
        write(Path(args._write), args.rows)
        return
    tmp = Path(tempfile.mkdtemp(prefix="regression-cells-"))
    try:
        # in its own process too: Linux keeps a process's peak RSS across exec, so a child of a big parent
        # would report the parent's peak
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--_write", str(tmp / "lake")], check=True)
        (tmp / "baselines.yaml").write_text("m:\n  '2': {mae: 5.0, rmse: 6.0, mape: 0.05, r2: 0.99}\n")
        for _ in range(args.repeat):
            for mode in ("cells", "rows"):
                subprocess.run([sys.executable, __file__, "--_review", mode, str(tmp / "lake")], check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
