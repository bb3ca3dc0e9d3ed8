"""The drift and performance reviews on a real layout at real sizes, on PostgreSQL: a cost curve.

For each --sizes value W it builds (server-side, generate_series) a table with W predictions in the
week and 4 weeks of history at the same rate, 16 features in a jsonb column (10 coded categoricals
stored as JSON numbers, 6 numerics; one of each drifts in the week), then runs the full drift
review as the notebook does: weekly per-feature drift (counted in SQL or read as one float8 array),
week over week, and the 29-day drift-over-time grid from daily GROUP BY counts; then the performance
review as its notebook does (metrics with 1,000-resample bootstrap intervals, per version, daily trend
over 4 weeks back, calibration, CBPE; outcomes arrive 3 days late, so the last days have none). It prints wall
time and peak RSS growth, and both per million rows, so the curve shows whether cost per row
stays flat. Baselines measured in the same run: the old Python-side path (read the JSON column and
parse it in Python, per feature) on one feature, and a whole numeric column read as one float8 array vs
SQLAlchemy row streaming vs pandas.read_sql (--column-rows, default 10,000,000; target <= 5 s).

    python benchmarks/pg_scale_bench.py [--sizes 100000,1000000] [--column-rows 10000000] [--no-performance]

Each table is dropped afterwards (the database too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from drift_bench import PeakRSS  # noqa: E402
from pg_memory_bench import create_database, drop_database  # noqa: E402

from workbench import config  # noqa: E402
from workbench.drift import core as drift, history as drift_history  # noqa: E402
from workbench.config import DriftDetection, StoreParams  # noqa: E402
from workbench.drift.profile import ReferenceProfile  # noqa: E402
from workbench.sources.store import PredictionStore  # noqa: E402

WEEK = config.iso_week("2026-W47")
PERFORMANCE_RSS_GOAL_MB = 300  # peak RSS growth of the performance review at every size (issue 21)
CODES = {f"c{i}": k for i, k in enumerate([2, 2, 3, 3, 4, 4, 5, 6, 3, 2])}
NUMS = [f"x{i}" for i in range(6)]


def _payload_sql() -> str:
    parts = []
    for name, k in CODES.items():
        if name == "c2":  # drifts in the week: code 1 more frequent
            parts.append(f"'{name}', CASE WHEN ts >= :week THEN floor(power(random(), 1.6) * {k}) + 1 "
                         f"ELSE floor(random() * {k}) + 1 END")
        else:
            parts.append(f"'{name}', floor(random() * {k}) + 1")
    for i, name in enumerate(NUMS):
        shift = "CASE WHEN ts >= :week THEN 4 ELSE 0 END + " if name == "x0" else ""
        parts.append(f"'{name}', round(({shift}50 + 10 * {i + 1} * (random() + random() + random() - 1.5))::numeric, 3)")
    return "jsonb_build_object(" + ", ".join(parts) + ")"


def build(eng: sa.Engine, table: str, week_rows: int, weeks: int = 5) -> None:
    start = WEEK.start - dt.timedelta(weeks=weeks - 1)
    n = week_rows * weeks
    span = (WEEK.end - start).total_seconds()
    with eng.begin() as c:
        c.execute(sa.text(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, model text, version text, "
                          f"ts timestamptz, prediction int, probability float8, outcome int, outcome_ts timestamptz, "
                          f"payload jsonb)"))
        # a calibrated score rounded to 4 decimals (ties, as logged scores have); the outcome arrives 3 days later
        c.execute(sa.text(
            f"INSERT INTO {table} (model, version, ts, prediction, probability, outcome, outcome_ts, payload) "
            f"SELECT 'credit', '1', ts, (p >= 0.5)::int, p, "
            f"CASE WHEN ts + interval '3 days' < :end THEN (random() < p)::int END, "
            f"CASE WHEN ts + interval '3 days' < :end THEN ts + interval '3 days' END, {_payload_sql()} FROM "
            f"(SELECT :start + (i * :span / :n) * interval '1 second' AS ts, round(power(random(), 1.5)::numeric, 4)::float8 AS p "
            f"FROM generate_series(0, :n - 1) i) s"),
            {"start": start, "span": span, "n": n, "week": WEEK.start, "end": WEEK.end})
        c.execute(sa.text(f"CREATE INDEX ON {table} (model, ts)"))
        c.execute(sa.text(f"ANALYZE {table}"))


def reference(seed: int = 1, n: int = 100_000) -> pd.DataFrame:
    """The training export: codes as text (as a Parquet export often has them), numerics as floats."""
    rng = np.random.default_rng(seed)
    out = {name: (rng.integers(0, k, n) + 1).astype(str) for name, k in CODES.items()}
    for i, name in enumerate(NUMS):
        out[name] = (50 + 10 * (i + 1) * (rng.random(n) + rng.random(n) + rng.random(n) - 1.5)).round(3)
    return pd.DataFrame(out)


def review(store: PredictionStore, profile: ReferenceProfile, window: config.Window = WEEK,
           exact_max_rows: int | None | str = "default") -> dict:
    """The drift notebook's computations: weekly drift, week over week, drift over time (`exact_max_rows`:
    drift_detection's, "default" for the schema's)."""
    dd = DriftDetection(models={"credit": {"features": {f: {} for f in profile.features}}},
                        **({} if exact_max_rows == "default" else {"exact_max_rows": exact_max_rows}))
    ctx = SimpleNamespace(monitoring=config.MonitoringParams(drift_detection=dd), model=SimpleNamespace(name="credit"),
                          store=store, window=window)
    drift.reference_profile = lambda ctx, version="": profile  # the profile is learned once, outside the timing
    t = {}
    t0 = time.perf_counter()
    rep = drift.review(ctx)  # as the notebook: all features counted in one scan, numerics read as arrays
    t["weekly drift"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    drift_history.week_over_week(ctx, rep)
    t["week over week"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    grid = drift_history.over_time(ctx, weeks_back=3).to_frame()
    t["drift over time"] = time.perf_counter() - t0
    t["drifted"] = ", ".join(rep.drifted_features)
    t["grid cells"] = len(grid)
    return t


def performance_review(store: PredictionStore, window: config.Window = WEEK) -> dict:
    """The performance notebook's computations (no MLflow: the baseline is reported missing)."""
    from workbench import performance
    from workbench.config import ModelSpec, PerformanceParams

    ctx = SimpleNamespace(model=ModelSpec(name="credit", type="classification"), window=window, store=store,
                          params=SimpleNamespace(performance=PerformanceParams(), store=store.params),
                          has=lambda source: False, params_path=lambda name: Path(tempfile.gettempdir()) / "no-baselines.yaml")
    t = {}
    t0 = time.perf_counter()
    perf = performance.review(ctx)  # reads the window and 4 weeks back; bootstrap, per version, daily trend
    t["review"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if perf.cells is not None:  # as the notebook's sections: from the cells PostgreSQL counted
        from workbench.performance.cells import calibration_cells

        calibration_cells(perf.cells)
        performance.cbpe.run_cells(perf.cells, perf.history_cells)
    else:
        performance.calibration(perf.window_predictions)
        performance.cbpe.run(perf.window_predictions, perf.history)
    t["calibration + CBPE"] = time.perf_counter() - t0
    t["from"] = "cells" if perf.cells is not None else "rows"
    t["labelled"] = perf.summary.n_labelled
    t["accuracy"] = perf.summary.metrics.get("accuracy")
    return t


def python_side_baseline(store: PredictionStore, table: str, feature: str) -> float:
    """The old path for one feature: read the whole JSON column and parse it in Python."""
    import json

    t0 = time.perf_counter()
    with store.engine.connect() as c:
        raw = pd.read_sql(sa.text(f"SELECT payload::text AS p FROM {table} WHERE model = 'credit' AND ts >= :s "
                                  f"AND ts < :e"), c, params={"s": WEEK.start, "e": WEEK.end})
    pd.json_normalize([json.loads(x) for x in raw["p"]])[feature]
    return time.perf_counter() - t0


def column_read(eng: sa.Engine, url: str, rows: int) -> None:
    table = f"col_{uuid.uuid4().hex[:8]}"
    with eng.begin() as c:
        c.execute(sa.text(f"CREATE TABLE {table} (model text, ts timestamptz, v float8)"))
        c.execute(sa.text(f"INSERT INTO {table} SELECT 'credit', :s + (i * 604800.0 / :n) * interval '1 second', "
                          f"CASE WHEN i % 1000 = 0 THEN NULL ELSE random() END FROM generate_series(0, :n - 1) i"),
                  {"s": WEEK.start, "n": rows})
        c.execute(sa.text(f"ANALYZE {table}"))
    try:
        params = StoreParams(table=table, columns={"id": "model", "model": "model", "version": "model", "timestamp": "ts",
                                                   "prediction": "v", "variant": None, "probability": None,
                                                   "outcome": None, "outcome_timestamp": None})
        store = PredictionStore(url, params)
        res = {}
        with PeakRSS() as m:
            t0 = time.perf_counter()
            a = store.feature_values("credit", WEEK, "v")
            res["float8[] → numpy (workbench)"] = (time.perf_counter() - t0, m)
        del a
        with PeakRSS() as m:
            t0 = time.perf_counter()
            with store.engine.connect() as c:
                r = c.execution_options(stream_results=True, yield_per=200_000).execute(
                    sa.text(f"SELECT v FROM {table} WHERE model = 'credit' AND ts >= :s AND ts < :e"),
                    {"s": WEEK.start, "e": WEEK.end})
                parts = [np.array([np.nan if x[0] is None else x[0] for x in rows], dtype=float)
                         for rows in r.partitions(200_000)]
            b = np.concatenate(parts)
            res["SQLAlchemy row streaming (old path)"] = (time.perf_counter() - t0, m)
        del b, parts
        with PeakRSS() as m:
            t0 = time.perf_counter()
            with store.engine.connect() as c:
                d = pd.read_sql(sa.text(f"SELECT v FROM {table} WHERE model = 'credit' AND ts >= :s AND ts < :e"), c,
                                params={"s": WEEK.start, "e": WEEK.end})["v"].to_numpy()
            res["pandas.read_sql"] = (time.perf_counter() - t0, m)
        del d
        base = res["float8[] → numpy (workbench)"][0]
        print(f"\n{rows:,}-row numeric column read (target <= 5 s; the old binary COPY hands psycopg one message per row):")
        for k, (sec, m) in res.items():
            print(f"  {k:38s} {sec:6.2f} s  peak RSS +{m.delta_mb:5.0f} MB  ({sec / base:4.1f}x workbench)")
    finally:
        with eng.begin() as c:
            c.execute(sa.text(f"DROP TABLE {table}"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--column-rows", type=int, default=10_000_000)
    ap.add_argument("--no-performance", action="store_true", help="time the drift review only")
    ap.add_argument("--workers", default="1,2,2+kept",
                    help="PredictionStore.scan_workers to compare on the same table (1: one scan per window); "
                         "'2+kept': last week's review first, keeping its per-day counts, then this week's")
    ap.add_argument("--exact-max-rows", default="default",
                    help="drift_detection.exact_max_rows for the drift review: a number, 'none' (always read KS / "
                         "Wasserstein features) or 'default' (the schema's)")
    a = ap.parse_args()
    limit = None if a.exact_max_rows == "none" else a.exact_max_rows if a.exact_max_rows == "default" \
        else int(a.exact_max_rows)
    name, url = create_database("wb_bench")
    eng = sa.create_engine(url)
    try:
        profile = ReferenceProfile.fit(reference())
        print(f"16 JSON features ({sum(p.kind == 'categorical' for p in profile.features.values())} categorical by the "
              f"automatic rule), 4 weeks of history + the week at the same rate; 2 cores shared")
        rows, perf_rows = [], []
        for w in (int(s) for s in a.sizes.split(",") if s):
            table = f"preds_{w}"
            t0 = time.perf_counter()
            build(eng, table, w)
            built = time.perf_counter() - t0
            params = StoreParams(table=table, columns={
                "id": "id", "model": "model", "version": "version", "timestamp": "ts", "prediction": "prediction",
                "variant": None, "probability": "probability", "outcome": "outcome", "outcome_timestamp": "outcome_ts"},
                features={"layout": "json", "json_column": "payload"})
            one_old = None
            for variant in (x for x in a.workers.split(",") if x):
                k, kept = int(variant.split("+")[0]), variant.endswith("+kept")
                tmp = tempfile.TemporaryDirectory(prefix="daily-") if kept else None
                store = PredictionStore(url, params, scan_workers=k, daily_cache=Path(tmp.name) if tmp else None)
                if kept:  # Monday's steady state: last week's report ran and kept its finished days
                    t0 = time.perf_counter()
                    review(store, profile, WEEK.previous(), limit)
                    print(f"  (last week's review, keeping its days: {time.perf_counter() - t0:.1f} s)", flush=True)
                    store.engine.dispose()
                    store = PredictionStore(url, params, scan_workers=k, daily_cache=Path(tmp.name))
                with PeakRSS() as m:
                    t0 = time.perf_counter()
                    parts = review(store, profile, exact_max_rows=limit)
                    total = time.perf_counter() - t0
                if one_old is None:
                    one_old = python_side_baseline(store, table, "x1")
                rows.append({"week rows": f"{w:,}", "table rows": f"{5 * w:,}", "scans": variant,
                             "drift review s": round(total, 1),
                             "s per 1M week rows": round(total / (w / 1e6), 1), "peak RSS MB": round(m.delta_mb),
                             "MB per 1M week rows": round(m.delta_mb / (w / 1e6)),
                             "weekly / wow / over time s": "{:.1f} / {:.1f} / {:.1f}".format(
                                 parts["weekly drift"], parts["week over week"], parts["drift over time"]),
                             "old path, 1 feature s": round(one_old, 1),
                             "old path x16 / new": round(16 * one_old / parts["weekly drift"], 1),
                             "drifted": parts["drifted"]})
                print(pd.DataFrame(rows[-1:]).to_string(index=False), f"(table built in {built:.0f} s)", flush=True)
                store.engine.dispose()
                if tmp:
                    tmp.cleanup()
            if not a.no_performance:  # the whole Monday: drift (Monday's steady state) and performance
                store = PredictionStore(url, params)
                with PeakRSS() as m:
                    t0 = time.perf_counter()
                    pt = performance_review(store)
                    total = time.perf_counter() - t0
                drift_s = rows[-1]["drift review s"] if rows else float("nan")  # --workers "": performance only
                perf_rows.append({"week rows": f"{w:,}", "labelled": f"{pt['labelled']:,}", "from": pt["from"],
                                  "performance review s": round(total, 1),
                                  "review / calibration+CBPE s": "{:.1f} / {:.1f}".format(pt["review"], pt["calibration + CBPE"]),
                                  "peak RSS MB": round(m.delta_mb),
                                  "RSS goal": "<= {} MB {}".format(PERFORMANCE_RSS_GOAL_MB, "met" if m.delta_mb <=
                                                                   PERFORMANCE_RSS_GOAL_MB else "MISSED"),
                                  "s per 1M week rows": round(total / (w / 1e6), 1),
                                  f"drift ({rows[-1]['scans'] if rows else 'none'}) + performance s": round(drift_s + total, 1)})
                print(pd.DataFrame(perf_rows[-1:]).to_string(index=False), flush=True)
                store.engine.dispose()
            with eng.begin() as c:
                c.execute(sa.text(f"DROP TABLE {table}"))
        print("\n" + pd.DataFrame(rows).to_string(index=False))
        if perf_rows:
            print(f"\nperformance review (goals: peak RSS <= {PERFORMANCE_RSS_GOAL_MB} MB at every size; at 1M week "
                  "rows drift + performance <= 60 s):")
            print(pd.DataFrame(perf_rows).to_string(index=False))
            missed = [r["week rows"] for r in perf_rows if r["peak RSS MB"] > PERFORMANCE_RSS_GOAL_MB]
        if a.column_rows:
            column_read(eng, url, a.column_rows)
    finally:
        eng.dispose()
        drop_database(name)
    if perf_rows and missed:
        print(f"performance review peak RSS above {PERFORMANCE_RSS_GOAL_MB} MB at {', '.join(missed)} week rows")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
