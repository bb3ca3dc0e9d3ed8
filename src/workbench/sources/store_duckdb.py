"""The prediction log as Parquet files by day (parquet_layout.py), queried by DuckDB in this process.

URL: `duckdb+parquet:///abs/path/to/root` (the folder holding `day=YYYY-MM-DD/*.parquet`), with optional
query options `memory_limit` (DuckDB's buffer pool, default 256MB; `none` for DuckDB's own, 80% of RAM) and
`threads`. The params'
`store.columns` map the files' columns as they map a SQL table's (`store.table` is not used: the folder
is the table); features are the other columns (the `columns` layout only).

Every count is one DuckDB statement with bound parameters (GROUP BY for category, bin, per-day and
per-hour counts, versions, newest, the performance review's prediction and residual cells); rows are read only when a review asks for rows. Every window filter
also bounds the `day` partition column, so DuckDB opens only the files of the window's days.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd

from workbench.config import StoreParams, TimeoutParams, Window
from workbench.errors import ConfigError, SourceUnavailable
from workbench.sources.base import (PROBABILITY_GRID, RESIDUAL_KEYS, RESIDUAL_SUMS, STANDARD, TIME_COLUMNS,
                                    PredictionSource, cells_of_counts, fold, is_null, residual_cells_of_counts,
                                    residual_cells_sql)
from workbench.sources.parquet_layout import DAY

VIEW = "predictions"
# DuckDB's buffer pool when the URL names none: bounded so that what scales with the window's rows (the
# DISTINCT of repeated_ids, the weak-segment CTE) spills to a temporary folder instead of growing the
# process; DuckDB's own default is 80% of RAM, held by its allocator after the query (docs/scaling.md)
MEMORY_LIMIT = "256MB"
OPTIONS = ("memory_limit", "threads")


def _ident(name: str) -> str:
    """A column name quoted as an SQL identifier (names come from params, values are always bound)."""
    return '"' + str(name).replace('"', '""') + '"'


def _utc(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is None:
        out = out.dt.tz_localize("UTC")
    return out.dt.tz_convert("UTC")


def options_of(url: str) -> dict[str, str]:
    """The query options of a `duckdb+parquet:///abs/path?memory_limit=512MB&threads=2` URL, checked."""
    _, _, query = str(url).partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"duckdb+parquet URL option(s) {', '.join(unknown)} unknown; known: {', '.join(OPTIONS)}")
    limit = options.get("memory_limit", MEMORY_LIMIT).strip()
    if limit.lower() not in ("", "none") and not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit, re.IGNORECASE):
        raise ConfigError(f"duckdb+parquet URL option memory_limit={limit!r}: write a size such as 256MB or 2GB, "
                          f"or none for DuckDB's default")
    options["memory_limit"] = limit
    if "threads" in options and not options["threads"].isdigit():
        raise ConfigError(f"duckdb+parquet URL option threads={options['threads']!r}: write a whole number")
    return options


def root_of(url: str) -> Path:
    """The dataset folder of a `duckdb+parquet:///abs/path` URL (query options aside)."""
    head, _, path = str(url).partition("?")[0].partition("://")
    if head.lower() != "duckdb+parquet":
        raise ConfigError(f"the DuckDB source reads the Parquet layout only: write the URL as "
                          f"duckdb+parquet:///abs/path/to/root, not {head}://…")
    if not path.startswith("/") or path == "/":
        raise ConfigError(f"duckdb+parquet URL {url!r} names no absolute folder (duckdb+parquet:///abs/path)")
    return Path(path)


class DuckdbStore(PredictionSource):
    """Reads one model's predictions from the Parquet layout through an in-process DuckDB."""

    def __init__(self, url: str, params: StoreParams | None = None, timeouts: TimeoutParams | None = None,
                 threads: int | None = None, **_sql_options) -> None:
        # _sql_options: the SQL stores' own (scan_workers, daily_cache) mean nothing here
        self.url = url
        self.params = params or StoreParams()
        self.timeouts = timeouts or TimeoutParams()
        self.root = root_of(url)
        self.options = options_of(url)
        self.threads = threads or (int(self.options["threads"]) if "threads" in self.options else None)
        if self.params.features.layout != "columns":
            raise ConfigError("store.features.layout: the duckdb+parquet source reads feature columns only "
                              "(layout: columns)")
        self._con = None
        self._columns: list[str] | None = None
        self._types: dict[str, str] | None = None
        self._lock = threading.Lock()

    # --- the connection and the table ------------------------------------------------------

    def describe(self) -> str:
        return f"Parquet prediction log at {self.root} (DuckDB)"

    def _cursor(self):
        """A cursor of the one in-memory DuckDB (its own connection to it: safe per thread) with the
        view `predictions` over the layout's files."""
        with self._lock:
            if self._con is None:
                try:
                    import duckdb
                except ImportError as exc:
                    raise ConfigError("duckdb+parquet:// URLs need the DuckDB engine: "
                                      "pip install 'workbench[lake]'") from exc

                if not any(self.root.glob(f"{DAY}=*/*.parquet")):
                    raise SourceUnavailable(f"{self.describe()}: no {DAY}=YYYY-MM-DD/*.parquet files there")
                con = duckdb.connect(":memory:")
                con.execute("SET TimeZone = 'UTC'")
                if self.threads:
                    con.execute(f"SET threads = {int(self.threads)}")  # an int from code, not a value read
                if self.options["memory_limit"].lower() not in ("", "none"):
                    # spilled work goes to a folder of ours (an in-memory DuckDB's default is ./.tmp)
                    spill = tempfile.mkdtemp(prefix="workbench-duckdb-")
                    weakref.finalize(self, shutil.rmtree, spill, True)
                    con.execute("SET memory_limit = ?", [self.options["memory_limit"]])
                    con.execute("SET temp_directory = ?", [spill])
                # the schema is the first file's (union_by_name would open every file's footer up front)
                con.read_parquet(str(self.root / f"{DAY}=*" / "*.parquet"), hive_partitioning=True
                                 ).create_view(VIEW)
                self._con = con
            return self._con.cursor()

    def _run(self, sql: str, args: list, what: str):
        import duckdb

        try:
            return self._cursor().execute(sql, args)
        except duckdb.Error as exc:
            raise SourceUnavailable(f"{self.describe()}: {what} failed: {type(exc).__name__}: "
                                    f"{str(exc).strip().splitlines()[0]}") from exc

    def _all(self, sql: str, args: list, what: str) -> list:
        return self._run(sql, args, what).fetchall()

    def stored_columns(self) -> list[str]:
        """The files' columns (the first file's schema), without the partition column."""
        return [r[0] for r in self._all(f"DESCRIBE {VIEW}", [], "reading the columns") if r[0] != DAY]

    def columns(self) -> list[str]:
        """The files' columns (without the partition column), after checking every mapped one exists."""
        if self._columns is None:
            real = self.stored_columns()
            mapping = self.params.columns.column_names()
            missing = [f"store.columns.{k}={v!r}" for k, v in mapping.items() if v is not None and v not in real]
            if missing:
                raise ConfigError(f"{', '.join(missing)} not in the Parquet files at {self.root}; "
                                  f"their columns are: {', '.join(real)}")
            self._columns = real
        return self._columns

    def _col(self, key: str) -> tuple[str, list]:
        """(SQL, bound args) of a mapped column: its quoted name, or a constant's bound value."""
        const = self.params.columns.constant(key)
        if const is not None:
            return "CAST(? AS VARCHAR)", [const]
        name = getattr(self.params.columns, key)
        if name is None:
            raise ConfigError(f"store.columns.{key} is not configured")
        self.columns()
        return _ident(name), []

    def _feature(self, feature: str) -> str:
        if feature not in self.columns() or feature in self._mapped():
            raise ConfigError(f"feature {feature!r} not in the Parquet files at {self.root}; "
                              f"features there: {', '.join(self.feature_columns())}")
        return _ident(feature)

    def _mapped(self) -> set[str]:
        return {v for v in self.params.columns.column_names().values() if v}

    def _is_model(self, model: str) -> tuple[str, list]:
        const = self.params.columns.constant("model")
        if const is not None:
            return ("TRUE", []) if model == const else ("FALSE", [])
        col, args = self._col("model")
        return f"{col} = ?", [*args, model]

    def _where(self, model: str, window: Window) -> tuple[str, list]:
        """The window's rows of `model`: start inclusive, end exclusive, and the days' partitions only
        (the day of the end bound is included: a bound at 12:00 needs that day's rows before noon)."""
        ts, _ = self._col("timestamp")
        is_model, args = self._is_model(model)
        start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
        sql = f"{is_model} AND {ts} >= ? AND {ts} < ? AND {DAY} BETWEEN ? AND ?"
        return sql, [*args, start.to_pydatetime(), end.to_pydatetime(), start.date(), end.date()]

    # --- rows ---------------------------------------------------------------------------

    def read(self, model: str, window: Window, features: Iterable[str] = (), core: Iterable[str] | None = None
             ) -> pd.DataFrame:
        mapping = self.params.columns.mapped()
        keys = list(mapping) if core is None else [k for k in core if k in mapping]
        parts, args = [], []
        for k in keys:
            sql, a = self._col(k)
            parts.append(f"{sql} AS {_ident(STANDARD[k])}")
            args += a
        parts += [self._feature(f) for f in features]
        where, wargs = self._where(model, window)
        select = ", ".join(parts) if parts else "1 AS __row"
        df = self._run(f"SELECT {select} FROM {VIEW} WHERE {where}", [*args, *wargs], f"reading {model!r}").df()
        if not parts:
            df = df.drop(columns="__row")
        for c in TIME_COLUMNS:
            if c in df:
                df[c] = _utc(df[c])
        return df

    def sample(self, model: str, window: Window, core: Iterable[str], limit: int = 5000) -> pd.DataFrame:
        keys = [k for k in core if getattr(self.params.columns, k, None) is not None]
        parts, args = [], []
        for k in keys:
            sql, a = self._col(k)
            parts.append(f"{sql} AS {_ident(STANDARD[k])}")
            args += a
        where, wargs = self._where(model, window)
        df = self._run(f"SELECT {', '.join(parts) or '1 AS __row'} FROM {VIEW} WHERE {where} LIMIT ?",
                       [*args, *wargs, int(limit)], f"sampling {model!r}").df()
        df = df.drop(columns="__row", errors="ignore")
        for c in TIME_COLUMNS:
            if c in df:
                df[c] = _utc(df[c])
        return df

    def feature_values(self, model: str, window: Window, feature: str) -> np.ndarray:
        where, args = self._where(model, window)
        got = self._run(f"SELECT CAST({self._feature(feature)} AS DOUBLE) AS v FROM {VIEW} WHERE {where}", args,
                        f"reading {feature!r}").fetchnumpy()["v"]
        return np.ma.filled(got.astype(float), np.nan) if np.ma.isMaskedArray(got) else np.asarray(got, dtype=float)

    # --- counted by DuckDB ----------------------------------------------------------------

    def newest(self, model: str) -> pd.Timestamp | None:
        ts, _ = self._col("timestamp")
        is_model, args = self._is_model(model)
        v = self._all(f"SELECT max({ts}) FROM {VIEW} WHERE {is_model}", args,
                      f"finding the newest prediction of {model!r}")[0][0]
        return None if v is None else _utc(pd.Series([v])).iloc[0]

    def models(self) -> list[str]:
        if (const := self.params.columns.constant("model")) is not None:
            return [const]
        col, _ = self._col("model")
        return sorted(r[0] for r in self._all(f"SELECT DISTINCT {col} FROM {VIEW}", [], "listing models")
                      if r[0] is not None)

    def feature_columns(self) -> list[str]:
        mapped = self._mapped()
        return [c for c in self.columns() if c not in mapped]

    def count(self, model: str, window: Window) -> int:
        where, args = self._where(model, window)
        return int(self._all(f"SELECT count(*) FROM {VIEW} WHERE {where}", args,
                             f"counting predictions of {model!r}")[0][0])

    def versions(self, model: str, window: Window) -> list[str]:
        col, cargs = self._col("version")
        where, args = self._where(model, window)
        rows = self._all(f"SELECT DISTINCT {col} FROM {VIEW} WHERE {where}", [*cargs, *args],
                         f"listing versions of {model!r}")
        return sorted(r[0] for r in rows if r[0] is not None)

    def repeated_ids(self, model: str, window: Window) -> int:
        col, _ = self._col("id")
        where, args = self._where(model, window)
        return int(self._all(f"SELECT count({col}) - count(DISTINCT {col}) FROM {VIEW} WHERE {where}", args,
                             f"counting repeated prediction ids of {model!r}")[0][0])

    def category_counts(self, model: str, window: Window, feature: str) -> tuple[dict[object, int], int]:
        where, args = self._where(model, window)
        rows = self._all(f"SELECT {self._feature(feature)} AS v, count(*) FROM {VIEW} WHERE {where} GROUP BY v",
                         args, f"counting categories of {feature!r}")
        counts: dict[object, int] = {}
        missing = 0
        for value, n in rows:
            if is_null(value):
                missing += int(n)
            else:
                counts[value] = counts.get(value, 0) + int(n)
        return dict(sorted(counts.items(), key=lambda kv: -kv[1])), missing

    @staticmethod
    def bucket(expr: str, edges) -> tuple[str, list]:
        """(SQL, args) of the bin of `expr` as base.buckets numbers it: -2 missing (NULL or NaN), -1 ±inf,
        else i for [edge_i-1, edge_i) (0 below the first edge)."""
        v = f"CAST({expr} AS DOUBLE)"
        whens = [f"WHEN {v} IS NULL OR isnan({v}) THEN -2", f"WHEN isinf({v}) THEN -1"]
        whens += [f"WHEN {v} < ? THEN {i}" for i in range(len(edges))]
        return f"(CASE {' '.join(whens)} ELSE {len(edges)} END)", [float(e) for e in edges]

    def bin_counts(self, model: str, window: Window, feature: str, edges) -> dict[str, object]:
        b, bargs = self.bucket(self._feature(feature), edges)
        where, args = self._where(model, window)
        rows = self._all(f"SELECT {b} AS b, count(*) FROM {VIEW} WHERE {where} GROUP BY b", [*bargs, *args],
                         f"counting bins of {feature!r}")
        counts, missing, nonfinite = fold(rows, len(edges) + 1)
        return {"counts": counts, "missing": missing, "nonfinite": nonfinite}

    def _day(self) -> str:
        ts, _ = self._col("timestamp")
        return f"CAST(date_trunc('day', {ts}) AS DATE)"  # the session runs in UTC

    def daily_counts(self, model: str, window: Window, feature: str, edges=None
                     ) -> Iterator[tuple[pd.Timestamp, object, int, int]]:
        if edges is None:
            val, vargs = self._feature(feature), []
        else:
            val, vargs = self.bucket(self._feature(feature), edges)
        where, args = self._where(model, window)
        rows = self._all(f"SELECT {self._day()} AS d, {val} AS v, count(*) FROM {VIEW} WHERE {where} "
                         f"GROUP BY d, v ORDER BY d", [*vargs, *args], f"counting {feature!r} per day")
        by_day: dict[object, list] = {}
        for d, v, n in rows:
            by_day.setdefault(d, []).append((v, n))
        for d, items in by_day.items():
            stamp = pd.Timestamp(str(d)[:10], tz="UTC")
            if edges is None:
                missing = sum(int(n) for v, n in items if is_null(v))
                yield stamp, {v: int(n) for v, n in items if not is_null(v)}, missing, 0
            else:
                counts, missing, nonfinite = fold(items, len(edges) + 1)
                yield stamp, counts, missing, nonfinite

    def hourly_counts(self, model: str, window: Window) -> pd.Series:
        ts, _ = self._col("timestamp")
        where, args = self._where(model, window)
        rows = self._all(f"SELECT date_trunc('hour', {ts}) AS h, count(*) FROM {VIEW} WHERE {where} "
                         f"GROUP BY h ORDER BY h", args, f"counting predictions of {model!r} per hour")
        if not rows:
            return pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="int64")
        idx = _utc(pd.Series([r[0] for r in rows]))
        return pd.Series([int(r[1]) for r in rows], index=pd.DatetimeIndex(idx), dtype="int64")

    # --- the performance review's cells (PredictionSource.prediction_cells), one GROUP BY -----

    @property
    def counts_cells(self) -> bool:
        return True

    def _cell_keys(self, names: dict[str, str], early_always: bool = False) -> tuple[list[str], list]:
        """(select items, bound args) of a cell's keys: the mapped columns of `names` (params key -> name),
        the UTC day, and `early` (the outcome stamped before the prediction; where that time is not
        mapped, 0 with `early_always`, else left out)."""
        mapped = set(self.params.columns.mapped())
        cols, args = [], []
        for k, n in names.items():
            if k in mapped:
                sql, a = self._col(k)
                cols.append(f"{sql} AS {n}")
                args += a
        cols.append(f"{self._day()} AS day")
        if "outcome_timestamp" in mapped:
            (ot, a), (ts, b) = self._col("outcome_timestamp"), self._col("timestamp")
            cols.append(f"CASE WHEN {ot} < {ts} THEN 1 ELSE 0 END AS early")
            args += [*a, *b]
        elif early_always:
            cols.append("0 AS early")
        return cols, args

    def prediction_cells(self, model: str, window: Window, grid: int = PROBABILITY_GRID) -> pd.DataFrame:
        """The window's predictions counted per cell in one GROUP BY over the window's day folders, the
        keys as SqlStore._prediction_cells computes them (p_cell: the grid cell of a probability in
        [0, 1], 1 in the last; p_raw: the probability where it is not, NaN and ±inf included; early:
        the outcome stamped before the prediction), typed by the same base.cells_of_counts."""
        mapped = set(self.params.columns.mapped())
        cols, args = self._cell_keys({"version": "model_version", "variant": "variant", "outcome": "actual_outcome",
                                      "prediction": "prediction"})
        if "probability" in mapped:
            p, a = self._col("probability")
            k = int(grid)
            # NaN is above every number in DuckDB: it is in neither [0, 1) nor {1}, so it stays raw
            cols.append(f"CASE WHEN {p} >= 0 AND {p} < 1 THEN CAST(floor({p} * ?) AS BIGINT) "
                        f"WHEN {p} = 1 THEN ? ELSE NULL END AS p_cell")
            cols.append(f"CASE WHEN {p} >= 0 AND {p} <= 1 THEN NULL ELSE {p} END AS p_raw")
            args += [*a, *a, *a, k, *a, k - 1, *a, *a, *a]  # in the order of the ?s above
        keys = [c.rsplit(" AS ", 1)[1] for c in cols]
        where, wargs = self._where(model, window)
        sql = (f"SELECT {', '.join(keys)}, count(*) AS n FROM (SELECT {', '.join(cols)} FROM {VIEW} "
               f"WHERE {where}) GROUP BY ALL")
        rows = self._all(sql, [*args, *wargs], f"counting prediction cells of {model!r}")
        return cells_of_counts(pd.DataFrame(rows, columns=[*keys, "n"]), grid)

    def residual_cells(self, model: str, window: Window, error_width: float | None = None,
                       outcome_width: float | None = None) -> pd.DataFrame:
        """A regression model's residual cells (PredictionSource.residual_cells) in one GROUP BY over the
        window's day folders: base.residual_cells_sql (the SQL Spark runs too) over the window's keys,
        prediction and outcome as doubles, and whether the outcome is missing (NULL, or NaN in a float
        column: the rows' isna; a text column's 'nan' is text, invalid as in the rows)."""
        mapped = set(self.params.columns.mapped())
        cols, args = self._cell_keys({"version": "model_version", "variant": "variant"}, early_always=True)
        keys = [c.rsplit(" AS ", 1)[1] for c in cols]
        pred, a = self._col("prediction")
        cols.append(f"TRY_CAST({pred} AS DOUBLE) AS p")
        args += a
        if "outcome" in mapped:
            out, a = self._col("outcome")
            text = a or self._type(getattr(self.params.columns, "outcome")) == "VARCHAR"
            cols.append(f"TRY_CAST({out} AS DOUBLE) AS y")
            cols.append(f"{out} IS NULL AS y_missing" if text else
                        f"{out} IS NULL OR isnan(TRY_CAST({out} AS DOUBLE)) AS y_missing")
            args += a * (2 if text else 3)
        else:
            cols += ["CAST(NULL AS DOUBLE) AS y", "TRUE AS y_missing"]
        where, wargs = self._where(model, window)
        sql, sargs = residual_cells_sql(f"(SELECT {', '.join(cols)} FROM {VIEW} WHERE {where}) AS window_rows", keys,
                                        error_width, outcome_width)
        rows = self._all(sql, [*sargs, *args, *wargs], f"counting residual cells of {model!r}")
        return residual_cells_of_counts(pd.DataFrame(rows, columns=[*keys, *RESIDUAL_KEYS[-3:], *RESIDUAL_SUMS]))

    def _type(self, column: str) -> str:
        """The DuckDB type of a column of the files (VARCHAR, DOUBLE, ...), the first file's schema."""
        if self._types is None:
            self._types = {r[0]: str(r[1]) for r in self._all(f"DESCRIBE {VIEW}", [], "reading the columns")}
        return self._types.get(column, "")

    # --- the weak-segment search's cells (sources.segment_counts), one statement ------------

    def labelled_sample(self, model: str, window: Window, features: list[str], limit: int) -> pd.DataFrame:
        pred, _ = self._col("prediction")
        out, _ = self._col("outcome")
        cols = [f"{self._feature(f)}" for f in features]
        where, args = self._where(model, window)
        sql = (f"SELECT {', '.join([*cols, f'{pred} AS prediction', f'{out} AS actual_outcome'])} FROM {VIEW} "
               f"WHERE {where} AND {out} IS NOT NULL AND {pred} IS NOT NULL LIMIT ?")
        df = self._run(sql, [*args, int(limit)], f"sampling {model!r} for the weak-segment bins").df()
        df.columns = [*features, "prediction", "actual_outcome"]
        return df

    def segment_cells(self, model: str, window: Window, reference: Window | None, features: dict[str, list | None],
                      kind: str, error_edges: list[float] | None = None) -> list[tuple]:
        """Rows (a, b, v1, v2, cur, y, n, err) as segment_counts.statement counts them in SQL: the
        window's and reference's labelled rows coded once (a CTE), a UNION ALL of GROUP BYs over it."""
        pred, _ = self._col("prediction")
        out, _ = self._col("outcome")
        in_w, w_args = self._where(model, window)
        rows, r_args = (in_w, w_args) if reference is None else (
            f"(({in_w}) OR ({self._where(model, reference)[0]}))", [*w_args, *self._where(model, reference)[1]])
        cols, c_args = [f"CASE WHEN {in_w} THEN 1 ELSE 0 END AS cur"], list(w_args)
        if kind == "classification":
            cols += [f"CASE WHEN {pred} = {out} THEN 1 ELSE 0 END AS y", "0.0 AS err"]
        else:
            b, bargs = self.bucket(f"abs({pred} - {out})", error_edges or [])
            cols += [f"{b} AS y", f"CAST(abs({pred} - {out}) AS DOUBLE) AS err"]
            c_args += bargs
        names = list(features)
        for j, f in enumerate(names):
            if features[f] is None:
                cols.append(f"CAST({self._feature(f)} AS VARCHAR) AS g{j}")
            else:
                b, bargs = self.bucket(self._feature(f), features[f])
                cols.append(f"CAST({b} AS VARCHAR) AS g{j}")
                c_args += bargs
        terms = []
        for i in range(len(names)):
            for j in [-1, *range(i + 1, len(names))]:
                v2, keys = (f"g{j}", f"g{i}, g{j}") if j >= 0 else ("CAST(NULL AS VARCHAR)", f"g{i}")
                terms.append(f"SELECT {i} AS a, {j} AS b, g{i} AS v1, {v2} AS v2, cur, y, count(*) AS n, "
                             f"sum(err) AS err FROM segment_rows GROUP BY {keys}, cur, y")
        sql = (f"WITH segment_rows AS MATERIALIZED (SELECT {', '.join(cols)} FROM {VIEW} WHERE {rows} "
               f"AND {out} IS NOT NULL AND {pred} IS NOT NULL) " + " UNION ALL ".join(terms))
        return self._all(sql, [*c_args, *r_args], f"counting {model!r}'s outcomes per segment of {len(names)} features")
