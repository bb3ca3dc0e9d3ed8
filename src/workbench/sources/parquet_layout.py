"""The lake layout of a prediction log: a Hive-partitioned Parquet dataset by UTC day.

```
<root>/day=2026-11-16/part-<name>-0.parquet
<root>/day=2026-11-17/...
```

Each file holds the same columns as the SQL table (`store:` in params maps them the same way), with
timestamps as timezone-aware UTC; the `day` of a row is the UTC date of its time column and lives only
in the directory name. Engines that read the layout (DuckDB: `store_duckdb.py`) prune whole days by it.

`write_days` appends a frame to the layout (new files, never rewriting old ones: a log grows a day at a
time); `export_store` copies a store's table into it in chunks, so the demo's SQLite file or a
PostgreSQL table can be read by DuckDB too:

    python -m workbench.sources.parquet_layout export sqlite:///demo/predictions.db /data/predictions
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

import pandas as pd

from workbench.config import StoreParams, TimeoutParams, redact
from workbench.errors import ConfigError

DAY = "day"  # the partition column: directories day=YYYY-MM-DD


def _utc(values: pd.Series) -> pd.Series:
    """A time column as timezone-aware UTC (SQLite's naive text is UTC, as the stores read it)."""
    out = pd.to_datetime(values, utc=True, format="ISO8601") if values.dtype == object else pd.to_datetime(values)
    if getattr(out.dt, "tz", None) is None:
        out = out.dt.tz_localize("UTC")
    return out.dt.tz_convert("UTC")


def write_days(frame: pd.DataFrame, root: str | Path, time_column: str = "timestamp",
               other_time_columns: tuple[str, ...] = (), name: str | None = None) -> list[str]:
    """Append `frame` to the layout under `root`: one directory per UTC day of `time_column`, rows
    sorted by time inside each file (so the files' min/max statistics skip row groups too). Time
    columns are written as UTC timestamps. Returns the days written ('YYYY-MM-DD')."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if time_column not in frame:
        raise ConfigError(f"time column {time_column!r} not in the frame; its columns are: {', '.join(frame.columns)}")
    if DAY in frame:
        raise ConfigError(f"the frame has a column {DAY!r}, the layout's partition column; rename it first")
    if frame.empty:
        return []
    df = frame.copy()
    for c in (time_column, *other_time_columns):
        if c in df:
            df[c] = _utc(df[c]).astype("datetime64[us, UTC]")
    df = df.sort_values(time_column, kind="stable", ignore_index=True)
    df[DAY] = df[time_column].dt.strftime("%Y-%m-%d")
    Path(root).mkdir(parents=True, exist_ok=True)
    pq.write_to_dataset(pa.Table.from_pandas(df, preserve_index=False), str(root), partition_cols=[DAY],
                        basename_template=f"part-{name or uuid.uuid4().hex}-{{i}}.parquet",
                        existing_data_behavior="overwrite_or_ignore")
    return sorted(df[DAY].unique().tolist())


def export_store(url: str, root: str | Path, params: StoreParams | None = None, chunk_rows: int = 500_000,
                 replace: bool = False) -> int:
    """Copy the table of the store at `url` (its params' table, every column) into the layout at
    `root`, `chunk_rows` at a time. Refuses a non-empty `root` unless `replace` (then its day
    directories are removed first). Returns the number of rows written."""
    import shutil

    import sqlalchemy as sa

    from workbench.sources.registry import backend_for

    params = params or StoreParams()
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        if not replace:
            raise ConfigError(f"{root} is not empty; export into an empty folder (or replace=True)")
        for d in root.glob(f"{DAY}=*"):
            shutil.rmtree(d)
    engine = backend_for(url).read_only_engine(url, TimeoutParams())
    table = sa.Table(params.table, sa.MetaData(), schema=params.schema_, autoload_with=engine)
    time_column = params.columns.timestamp
    others = tuple(c for c in [params.columns.outcome_timestamp] if c)
    n = 0
    with engine.connect() as conn:
        for i, chunk in enumerate(pd.read_sql(sa.select(table), conn, chunksize=chunk_rows)):
            write_days(chunk, root, time_column, others, name=f"{i:05d}")
            n += len(chunk)
    engine.dispose()
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workbench.sources.parquet_layout",
                                 description="Export a prediction store's table to the Parquet layout by day.")
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="copy a store's table (sqlite:///…, postgresql://…) into <root>")
    ex.add_argument("url")
    ex.add_argument("root")
    ex.add_argument("--table", default="predictions")
    ex.add_argument("--timestamp", default="timestamp", help="the time column the days are cut by")
    ex.add_argument("--outcome-timestamp", default="outcome_timestamp")
    ex.add_argument("--replace", action="store_true", help="remove the day folders already in <root>")
    args = ap.parse_args(argv)
    params = StoreParams(table=args.table, columns={"timestamp": args.timestamp,
                                                    "outcome_timestamp": args.outcome_timestamp or None})
    n = export_store(args.url, args.root, params, replace=args.replace)
    print(f"{n} rows of {redact(args.url)} table {args.table!r} written to {args.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
