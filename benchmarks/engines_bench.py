"""The cost curve of each engine: the drift review (weekly drift and the drift-over-time grid) and the
performance review on the same log in SQLite, PostgreSQL and the Parquet layout read by DuckDB and by Spark.

For each --sizes value W it builds one seeded log of W predictions in the week and W in the week before
(5 feature columns: 3 numeric, 2 categorical; one of each drifts in the week; outcomes for every row),
loads it into each engine (load time printed apart; DuckDB and Spark read the same day-partitioned
Parquet files, written once a size), then runs the reviews once per engine in a fresh process (so each
peak RSS is that engine's alone) and prints wall time, peak RSS of the process tree (imports included;
for Spark the driver's JVM, a child process, counted with it) and its growth during the reviews, and the
time per million week rows. Each engine's line is printed as soon as its run ends, before any cleanup.
Opening the store (Spark: starting the session) happens before the measurement.

    python benchmarks/engines_bench.py [--sizes 1000000] [--engines sqlite,postgresql,duckdb,spark]
        [--duckdb-options "memory_limit=none,"]   (DuckDB URL options, each run on the same files; "" = defaults)
        [--spark-master "local[2]"] [--spark-driver-memory 1g]

PostgreSQL: a fresh database on the test server (WORKBENCH_TEST_POSTGRES_URL or .venv/postgres-test-url),
dropped afterwards (a warning names it when it cannot be). Everything else lives in a temporary folder,
removed afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workbench import config  # noqa: E402
from workbench.config import DriftDetection, ModelSpec, MonitoringParams, StoreParams  # noqa: E402

WEEK = config.iso_week("2026-W47")
FEATURES = {"amount": "ks", "score": "psi", "usage": "wasserstein", "plan": "chi2", "region": "js"}
PARAMS = StoreParams(columns={"variant": None})


def frame(week_rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 2 * week_rows
    start = WEEK.start - dt.timedelta(weeks=1)
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.uniform(0, 14 * 86400, n)), unit="s").floor("ms")
    late = np.asarray(ts >= pd.Timestamp(WEEK.start))
    p = np.round(rng.random(n), 4)

    def shared(values: np.ndarray) -> np.ndarray:
        """Object strings sharing one str per distinct value: 8 bytes a row, not ~55 (20M rows at 10M)."""
        return pd.Categorical(values).astype(object)

    return pd.DataFrame({
        "prediction_id": np.char.add("p", np.arange(n).astype(str)).astype(object), "model_name": "m",
        "model_version": shared(np.where(late, "2", "1")), "timestamp": ts,
        "prediction": (p >= 0.5).astype(float), "probability": p,
        "actual_outcome": (rng.random(n) < p).astype(float), "outcome_timestamp": ts + pd.Timedelta(hours=20),
        "amount": np.round(rng.lognormal(3.0 + 0.2 * late, 0.6, n), 1), "score": rng.normal(0, 1, n),
        "usage": np.round(rng.gamma(2.0, 3.0, n)),
        "plan": shared(np.where(late & (rng.random(n) < 0.2), "pro",
                                rng.choice(["basic", "plus", "pro"], n, p=[.5, .3, .2]))),
        "region": shared(rng.choice(["north", "south", "east"], n))})


def reference(seed: int = 8, n: int = 100_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"amount": np.round(rng.lognormal(3.0, 0.6, n), 1), "score": rng.normal(0, 1, n),
                         "usage": np.round(rng.gamma(2.0, 3.0, n)),
                         "plan": rng.choice(["basic", "plus", "pro"], n, p=[.5, .3, .2]),
                         "region": rng.choice(["north", "south", "east"], n)})


# --- loading ------------------------------------------------------------------------------------

def load_sqlite(df: pd.DataFrame, folder: Path, args: argparse.Namespace) -> str:
    out = df.copy()
    for c in ("timestamp", "outcome_timestamp"):
        out[c] = out[c].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(folder / "log.db") as con:
        out.to_sql("predictions", con, index=False, chunksize=100_000)
        con.execute("CREATE INDEX ix ON predictions (model_name, timestamp)")
    return f"sqlite:///{folder / 'log.db'}"


def load_postgresql(df: pd.DataFrame, folder: Path, args: argparse.Namespace) -> str:
    import psycopg
    import sqlalchemy as sa
    from pg_memory_bench import create_database

    name, url = create_database("wb_engines")
    (folder / "pg-database").write_text(name)
    cols = ("prediction_id text, model_name text, model_version text, timestamp timestamptz, prediction float8, "
            "probability float8, actual_outcome float8, outcome_timestamp timestamptz, amount float8, score float8, "
            "usage float8, plan text, region text")
    raw = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(raw) as conn:
        conn.execute(f"CREATE TABLE predictions ({cols})")
        with conn.cursor().copy("COPY predictions FROM STDIN (FORMAT csv)") as cp:
            for i in range(0, len(df), 200_000):
                buf = io.StringIO()
                df.iloc[i:i + 200_000].to_csv(buf, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f+00")
                cp.write(buf.getvalue())
        conn.execute("CREATE INDEX ON predictions (model_name, timestamp)")
        conn.execute("ANALYZE predictions")
    return url


def lake(df: pd.DataFrame, folder: Path) -> Path:
    """The day-partitioned Parquet layout of the log, written once a size (folder is the size's, shared)."""
    from workbench.sources.parquet_layout import write_days

    root = folder.parent / "lake"
    if not root.exists():
        write_days(df, root, "timestamp", ("outcome_timestamp",))
    return root


def load_duckdb(df: pd.DataFrame, folder: Path, args: argparse.Namespace) -> str:
    return f"duckdb+parquet://{lake(df, folder)}"


def load_spark(df: pd.DataFrame, folder: Path, args: argparse.Namespace) -> str:
    return f"spark+parquet://{lake(df, folder)}?master={args.spark_master}&driver_memory={args.spark_driver_memory}"


LOADERS = {"sqlite": load_sqlite, "postgresql": load_postgresql, "duckdb": load_duckdb, "spark": load_spark}


def drop_postgresql(folder: Path) -> None:
    from pg_memory_bench import drop_database

    f = folder / "pg-database"
    if f.exists():
        drop_database(f.read_text())


# --- one engine's run, in its own process -----------------------------------------------------

def child(url: str, folder: Path) -> None:
    from workbench.drift import core as drift, history
    from workbench.performance import core as performance
    from workbench.sources.registry import open_store

    os.environ["WORKBENCH_CACHE_DIR"] = str(folder / f"cache-{uuid.uuid4().hex[:6]}")
    dd = DriftDetection(models={"m": {"features": {f: {"method": m} for f, m in FEATURES.items()}}})
    params = config.WeeklyParams.model_validate({"models": [{"name": "m", "type": "classification"}],
                                                 "performance": {"weeks_back": 1},
                                                 "store": PARAMS.model_dump(by_alias=True)})

    class Registry:
        def training_metrics(self, model, version):
            return {"accuracy": 0.5}

    ctx = SimpleNamespace(model=ModelSpec(name="m", type="classification", reference="ref.csv"), window=WEEK,
                          root=folder, monitoring=MonitoringParams(drift_detection=dd), params=params,
                          store=open_store(url, PARAMS), registry=Registry(), serving_version=lambda: "2",
                          has=lambda s: s == "mlflow", outputs={})
    from drift_bench import PeakRSS

    ctx.store.models()  # connect (Spark: start the session and its JVM) outside the timing
    t = {}
    # sampled here: ru_maxrss would keep the parent's high-water mark across fork + exec; the tree: Spark's JVM
    with PeakRSS(children=True) as mem:
        t0 = time.perf_counter()
        rep = drift.review(ctx)
        history.over_time(ctx, weeks_back=1).to_frame()
        t["drift"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        perf = performance.review(ctx)
        t["performance"] = time.perf_counter() - t0
    t["peak_rss_mb"] = mem.peak / 2**20
    t["rss_growth_mb"] = mem.delta_mb
    t["drifted"] = sorted(rep.drifted_features)
    t["accuracy"] = perf.summary.metrics.get("accuracy")
    print(json.dumps(t), flush=True)
    if url.startswith("spark"):
        from workbench.sources import store_spark

        store_spark.spark_session().stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000", help="week rows, comma-separated")
    ap.add_argument("--engines", default=",".join(LOADERS))
    ap.add_argument("--duckdb-options", default="",
                    help="comma-separated DuckDB URL query strings to compare on the same files "
                         "(e.g. 'memory_limit=none,' for DuckDB's own buffer pool, then the default)")
    ap.add_argument("--spark-master", default="local[2]")
    ap.add_argument("--spark-driver-memory", default="1g")
    ap.add_argument("--child", nargs=2, metavar=("URL", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    engines = args.engines.split(",")
    print(f"{'engine':<11} {'week rows':>10} {'load s':>7} {'drift s':>8} {'perf s':>7} {'total s':>8} "
          f"{'s / 1M':>7} {'peak RSS MB':>12} {'growth MB':>10}  same findings")
    for size in [int(s) for s in args.sizes.split(",")]:
        data = [frame(size)]  # let go of after the last load: the children run without the parent's copy
        shared = Path(tempfile.mkdtemp(prefix=f"wb-engines-{size}-"))
        answers: dict[str, tuple] = {}
        try:
            reference().to_csv(shared / "ref.csv", index=False)
            for engine in engines:
                folder = shared / engine
                folder.mkdir()
                shutil.copy(shared / "ref.csv", folder / "ref.csv")
                try:
                    t0 = time.perf_counter()
                    url = LOADERS[engine](data[0], folder, args)
                    load = time.perf_counter() - t0
                    if engine == engines[-1]:
                        data.clear()
                    options = args.duckdb_options.split(",") if engine == "duckdb" else [""]
                    for opt in options:
                        out = subprocess.run([sys.executable, __file__, "--child", url + (f"?{opt}" if opt else ""),
                                              str(folder)], capture_output=True, text=True, env=os.environ)
                        if out.returncode:
                            print(f"{engine} {opt}: failed\n{out.stderr[-2000:]}", flush=True)
                            continue
                        report(f"{engine}{'?' + opt if opt else ''}", size, load,
                               json.loads(out.stdout.strip().splitlines()[-1]), answers)
                finally:
                    if engine == "postgresql":
                        drop_postgresql(folder)
                    shutil.rmtree(folder, ignore_errors=True)
        finally:
            shutil.rmtree(shared, ignore_errors=True)


def report(name: str, size: int, load: float, r: dict, answers: dict[str, tuple]) -> None:
    """Print one engine's line now (a later cleanup failure must not lose it); same findings as the first engine?"""
    answers[name] = (r["drifted"], r["accuracy"])
    total = r["drift"] + r["performance"]
    same = answers[name] == next(iter(answers.values()))
    print(f"{name:<11} {size:>10,} {load:>7.1f} {r['drift']:>8.1f} {r['performance']:>7.1f} {total:>8.1f} "
          f"{total / size * 1e6:>7.1f} {r['peak_rss_mb']:>12.0f} {r['rss_growth_mb']:>10.0f}  {same} "
          f"({', '.join(r['drifted'])}; accuracy {r['accuracy']:.4f})", flush=True)


if __name__ == "__main__":
    main()
