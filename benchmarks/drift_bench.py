"""Drift speed and memory: workbench vs a plain scipy loop vs Evidently, same data, one process.

Prints wall time and peak RSS growth per implementation and the ratios against the baselines
measured in the same run. Not a test: tests never assert on time.

    python benchmarks/drift_bench.py [--rows 200000] [--method ks]
"""

from __future__ import annotations

import argparse
import gc
import os
import threading
import time

import numpy as np
import pandas as pd
import psutil
from scipy import stats


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref, cur = {}, {}
    for i in range(20):
        ref[f"num_{i}"] = rng.normal(0, 1, rows)
        cur[f"num_{i}"] = rng.normal(0.1 if i < 4 else 0.0, 1, rows)
    cats = np.array(["a", "b", "c", "d", "e"])
    for i in range(5):
        ref[f"cat_{i}"] = rng.choice(cats, rows, p=[0.3, 0.25, 0.2, 0.15, 0.1])
        p = [0.2, 0.25, 0.2, 0.2, 0.15] if i == 0 else [0.3, 0.25, 0.2, 0.15, 0.1]
        cur[f"cat_{i}"] = rng.choice(cats, rows, p=p)
    return pd.DataFrame(ref), pd.DataFrame(cur)


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every 20 ms."""

    def __enter__(self):
        self.proc = psutil.Process(os.getpid())
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = False
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()
        return self

    def _watch(self):
        while not self._stop:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()
        self.delta_mb = (self.peak - self.base) / 2**20


def run_workbench(ref, cur, method):
    from workbench import drift
    from workbench.config import DriftDetection

    feats = {c: {"method": method if (method != "ks" or c.startswith("num")) else "chi2"} for c in ref.columns}
    cfg = DriftDetection(models={"bench": {"features": feats}})
    return drift.detect_drift(ref, cur, cfg, "bench").drifted_features


def run_scipy(ref, cur, method):
    out = []
    for c in ref.columns:
        if c.startswith("num"):
            if stats.ks_2samp(ref[c], cur[c]).pvalue < 0.05:
                out.append(c)
        else:
            t = pd.crosstab(np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref[c], cur[c]])
            if stats.chi2_contingency(t).pvalue < 0.05:
                out.append(c)
    return out


def run_evidently(ref, cur, method):
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snap = Report([DataDriftPreset(num_method=method, cat_method="chisquare" if method == "ks" else method)]).run(cur, ref)
    return snap.dict()["metrics"]


def timed(name, fn, *args):
    gc.collect()
    with PeakRSS() as mem:
        t = time.perf_counter()
        fn(*args)
        secs = time.perf_counter() - t
    print(f"{name:12s} {secs:8.2f} s   peak RSS +{mem.delta_mb:7.0f} MB", flush=True)
    return secs, mem.delta_mb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--method", default="ks", choices=["ks", "psi", "wasserstein", "js"])
    ap.add_argument("--skip-evidently", action="store_true")
    a = ap.parse_args()
    ref, cur = make_data(a.rows)
    print(f"{a.rows:,} rows x {ref.shape[1]} features each side, method {a.method} (categoricals: chi2 for ks)")
    ours = timed("workbench", run_workbench, ref, cur, a.method)
    base = timed("scipy loop", run_scipy, ref, cur, a.method)
    print(f"ratio scipy loop / workbench: {base[0] / ours[0]:.2f}x time")
    if not a.skip_evidently:
        ev = timed("evidently", run_evidently, ref, cur, a.method)
        print(f"ratio evidently / workbench: {ev[0] / ours[0]:.2f}x time, "
              f"{ev[1] / max(ours[1], 1):.2f}x peak RSS")


if __name__ == "__main__":
    main()
