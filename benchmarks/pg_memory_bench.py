"""Peak memory of the drift review reading a large window from PostgreSQL.

Loads --rows predictions (default 10,000,000) into a fresh database on the test server
(scripts/ensure-postgres.sh, or $WORKBENCH_TEST_POSTGRES_URL), then runs the drift review's
store path (one column at a time: a numeric feature streamed for KS, a numeric one counted in
SQL for PSI, a categorical one counted by GROUP BY) and prints wall time and peak RSS growth.
Target: peak RSS growth under 1 GB. The database is dropped afterwards.

    python benchmarks/pg_memory_bench.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from drift_bench import PeakRSS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def admin_url() -> str:
    url = os.environ.get("WORKBENCH_TEST_POSTGRES_URL")
    f = ROOT / ".venv" / "postgres-test-url"
    if not url and f.exists():
        url = f.read_text().strip()
    if not url:
        sys.exit("no PostgreSQL: run `bash scripts/ensure-postgres.sh` first (make bench does)")
    return url


def create_database(prefix: str) -> tuple[str, str]:
    """A fresh database on the test server, (name, URL): a benchmark's tables never meet the tests'."""
    admin = admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return name, sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str, attempts: int = 4) -> bool:
    """Drop a benchmark's database; warn (never raise) when it cannot, so results already printed survive.

    Not DROP ... WITH (FORCE): FORCE terminates every session on the database first and, for the
    non-superuser test role, refuses with InsufficientPrivilege when one of them is a superuser process;
    an autovacuum worker is one, and a freshly loaded table draws one (ANALYZE/VACUUM of millions of
    rows runs minutes). A plain DROP cancels autovacuum workers itself and waits up to 5 s for others;
    before each try this ends the role's own leftover sessions on the database.
    """
    error: Exception | None = None
    try:
        eng = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT")
        try:
            for attempt in range(attempts):
                try:
                    with eng.connect() as c:
                        c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                                          "AND usename = current_user AND pid <> pg_backend_pid()"), {"n": name})
                        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                    return True
                except sa.exc.DBAPIError as e:
                    error = e.orig if e.orig is not None else e
                    time.sleep(2 * (attempt + 1))
            with eng.connect() as c:
                held = c.execute(sa.text("SELECT pid, usename, backend_type, state FROM pg_stat_activity "
                                         "WHERE datname = :n"), {"n": name}).all()
            error = f"{error}; sessions on it: {[tuple(r) for r in held]}"
        finally:
            eng.dispose()
    except Exception as e:  # noqa: BLE001 - a cleanup must not lose the results printed before it
        error = error or e
    print(f"warning: could not drop database {name!r} ({str(error).strip()}); drop it by hand: "
          f'DROP DATABASE "{name}";', file=sys.stderr, flush=True)
    return False


def load(url: str, rows: int, start: dt.datetime) -> None:
    import psycopg

    from workbench.demo.database import predictions_table

    eng = sa.create_engine(url)
    md = sa.MetaData()
    predictions_table(md)
    md.create_all(eng)
    eng.dispose()
    conninfo = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rng = np.random.default_rng(0)
    chunk = 1_000_000
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy("COPY predictions (prediction_id, model_name, model_version, timestamp, monthly_charges, "
                      "tenure, contract, prediction) FROM STDIN") as copy:
            for off in range(0, rows, chunk):
                n = min(chunk, rows - off)
                ts = pd.Timestamp(start) + pd.to_timedelta(rng.uniform(0, 7 * 86400, n), unit="s")
                df = pd.DataFrame({
                    "id": [f"b{i}" for i in range(off, off + n)], "m": "bench", "v": "1",
                    "ts": ts.strftime("%Y-%m-%d %H:%M:%S+00"),
                    "mc": rng.normal(70, 20, n).round(2), "t": rng.integers(0, 72, n).astype(float),
                    "c": rng.choice(["Month-to-month", "One year", "Two year"], n), "p": 0.0})
                buf = io.StringIO()
                df.to_csv(buf, sep="\t", header=False, index=False)
                copy.write(buf.getvalue())
        conn.commit()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    a = ap.parse_args()
    from workbench.config import iso_week
    from workbench.drift.core import store_sample
    from workbench.drift.profile import FeatureProfile
    from workbench.sources.store import PredictionStore

    name, url = create_database("wb_bench")
    week = iso_week("2026-W47")
    try:
        t = time.perf_counter()
        load(url, a.rows, week.start)
        print(f"loaded {a.rows:,} rows in {time.perf_counter() - t:.0f} s", flush=True)
        rng = np.random.default_rng(1)
        ref = pd.DataFrame({"monthly_charges": rng.normal(65, 20, 100_000), "tenure": rng.integers(0, 72, 100_000).astype(float),
                            "contract": rng.choice(["Month-to-month", "One year", "Two year"], 100_000)})
        profiles = {c: FeatureProfile.fit(c, ref[c]) for c in ref}
        store = PredictionStore(url)
        store.count("bench", week)  # connect and reflect outside the measurement
        from workbench.drift.methods import METHODS

        for feature, method in (("monthly_charges", "ks"), ("tenure", "psi"), ("contract", "psi")):
            with PeakRSS() as mem:
                t = time.perf_counter()
                sample = store_sample(store, "bench", week, profiles[feature], method)
                r = METHODS[method].func(profiles[feature], sample)
                secs = time.perf_counter() - t
            print(f"{feature:16s} {method:4s} n={sample.n:,} statistic={r.statistic:.4g}  {secs:6.1f} s  "
                  f"peak RSS +{mem.delta_mb:6.0f} MB  ({'under' if mem.delta_mb < 1024 else 'OVER'} 1 GB)", flush=True)
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
