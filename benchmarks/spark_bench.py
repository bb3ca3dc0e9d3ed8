"""The drift and performance reviews through Spark (sources/store_spark.py) on the day-partitioned
Parquet layout: wall time and peak memory at real sizes.

For each --sizes value W it writes W predictions a week over the week and 4 weeks before it (the
shape of pg_scale_bench: 10 coded categoricals and 6 numerics as columns, one of each drifting in
the week, outcomes 3 days late), one Parquet file per day, then runs the same computations as
pg_scale_bench's review() and performance_review() through a SparkSession in local mode. Memory is
sampled for the Python driver and for the JVM (its child process) apart: Spark's work happens in the
JVM, what the reviews hold in Python.

    python benchmarks/spark_bench.py [--sizes 1000000] [--master local[2]] [--driver-memory 1g]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from pg_scale_bench import CODES, NUMS, WEEK, performance_review, reference, review  # noqa: E402

from workbench.config import StoreParams  # noqa: E402
from workbench.drift.profile import ReferenceProfile  # noqa: E402
from workbench.sources import store_spark  # noqa: E402

PARAMS = StoreParams(columns={"id": "id", "model": "model", "version": "version", "timestamp": "ts",
                              "prediction": "prediction", "variant": None, "probability": "probability",
                              "outcome": "outcome", "outcome_timestamp": "outcome_ts"})


class TreeRSS:
    """Peak resident memory of this process and, apart, of its children (the JVM) above entry."""

    def __enter__(self):
        self.me = psutil.Process(os.getpid())
        self.base_py, self.base_jvm = self._now()
        self.peak_py, self.peak_jvm = self.base_py, self.base_jvm
        self._stop = False
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()
        return self

    def _now(self) -> tuple[int, int]:
        jvm = 0
        for c in self.me.children(recursive=True):
            try:
                jvm += c.memory_info().rss
            except psutil.Error:
                pass
        return self.me.memory_info().rss, jvm

    def _watch(self):
        while not self._stop:
            py, jvm = self._now()
            self.peak_py, self.peak_jvm = max(self.peak_py, py), max(self.peak_jvm, jvm)
            time.sleep(0.05)

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()
        self.py_mb = (self.peak_py - self.base_py) / 2**20
        self.jvm_mb = self.peak_jvm / 2**20  # the JVM's whole peak (it may start inside the block)
        self.jvm_growth_mb = (self.peak_jvm - self.base_jvm) / 2**20


def write_layout(root: Path, week_rows: int, weeks: int = 5, seed: int = 7) -> int:
    """W rows a week for `weeks` weeks ending with WEEK, one Parquet file per UTC day (day=YYYY-MM-DD)."""
    rng = np.random.default_rng(seed)
    start = WEEK.start - dt.timedelta(weeks=weeks - 1)
    per_day, total = week_rows // 7, 0
    for d in range(7 * weeks):
        day = start + dt.timedelta(days=d)
        in_week = day >= WEEK.start
        n = per_day
        offs = np.sort(rng.uniform(0, 86_400, n))
        ts = pd.Timestamp(day) + pd.to_timedelta(np.round(offs * 1e6).astype("int64"), unit="us")
        p = np.round(rng.random(n) ** 1.5, 4)
        late = (ts + pd.Timedelta(days=3)) < pd.Timestamp(WEEK.end)
        outcome = np.where(late, (rng.random(n) < p).astype(float), np.nan)
        cols = {"id": np.arange(total, total + n), "model": np.full(n, "credit"), "version": np.full(n, "1"),
                "ts": ts.astype("datetime64[us, UTC]"), "prediction": (p >= 0.5).astype("int64"),
                "probability": p, "outcome": outcome,
                "outcome_ts": pd.Series(ts + pd.Timedelta(days=3)).where(late).astype("datetime64[us, UTC]")}
        for name, k in CODES.items():
            u = rng.random(n)
            if name == "c2" and in_week:
                u = u ** 1.6
            cols[name] = (np.floor(u * k) + 1).astype("int64")
        for i, name in enumerate(NUMS):
            x = 50 + 10 * (i + 1) * (rng.random(n) + rng.random(n) + rng.random(n) - 1.5)
            cols[name] = np.round(x + (4 if name == "x0" and in_week else 0), 3)
        folder = root / f"day={day:%Y-%m-%d}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table(cols), folder / "part-0.parquet")
        total += n
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="1g")
    a = ap.parse_args()
    profile = ReferenceProfile.fit(reference())
    out = []
    for w in (int(s) for s in a.sizes.split(",") if s):
        with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp:
            t0 = time.perf_counter()
            n = write_layout(Path(tmp), w)
            built = time.perf_counter() - t0
            url = f"spark+parquet://{tmp}?master={a.master}&driver_memory={a.driver_memory}"
            store = store_spark.SparkStore(url, PARAMS)
            with TreeRSS() as m0:
                t0 = time.perf_counter()
                store.models()  # starts the session (once a process) and reads the schema
                started = time.perf_counter() - t0
            with TreeRSS() as m:
                t0 = time.perf_counter()
                d = review(store, profile)
                drift_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                p = performance_review(store)
                perf_s = time.perf_counter() - t0
            out.append({"week rows": f"{w:,}", "rows": f"{n:,}", "session start s": round(started, 1),
                        "drift s": round(drift_s, 1), "performance s": round(perf_s, 1),
                        "drift + perf s": round(drift_s + perf_s, 1),
                        "python peak +MB": round(m.py_mb), "JVM peak MB": round(max(m.jvm_mb, m0.jvm_mb)),
                        "drifted": d["drifted"], "accuracy": round(p["accuracy"], 4)})
            print(f"layout written in {built:.0f} s; drift: weekly {d['weekly drift']:.1f} s, week over week "
                  f"{d['week over week']:.1f} s, over time {d['drift over time']:.1f} s ({d['grid cells']} cells); "
                  f"performance review {p['review']:.1f} s, calibration + CBPE {p['calibration + CBPE']:.1f} s", flush=True)
            print(pd.DataFrame(out[-1:]).to_string(index=False), flush=True)
    store_spark.spark_session().stop()
    print(f"\nSpark {a.master}, driver memory {a.driver_memory}; machine: {os.cpu_count()} cores (shared)")
    print(pd.DataFrame(out).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
