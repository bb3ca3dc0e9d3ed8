"""The prediction log as a day-partitioned Parquet dataset, read through Apache Spark SQL.

Layout: `<root>/day=YYYY-MM-DD/*.parquet` (Hive partitioning by the UTC day of the timestamp), with
the columns of the SQL table (names mapped by `store.columns`, features as columns). URL:

    spark+parquet:///abs/root                          local files, Spark in local mode (local[*])
    spark+parquet:///abs/root?master=local[2]          two local cores (the tests)
    spark+parquet+s3a://bucket/prefix?master=spark://host:7077   a cluster reading object storage

Query options: `master` (any Spark master URL; ignored when the process already has a session,
e.g. under spark-submit), `driver_memory` (default 1g), and any `spark.*` key as a Spark setting.

Every count a review asks for (counts, binned counts, per-day counts, category counts, versions,
newest, repeated ids, hourly volume, the performance review's prediction cells and a regression
model's residual cells, the weak-segment search's cells) is a Spark aggregation; only its small result comes back to
the driver. A window filters on the `day` partition first, so Spark reads only the window's days.
Rows (`read`) and the values of KS / Wasserstein features (`feature_values`) come back through
Arrow. One SparkSession per process, started on first use and reused: start-up takes seconds.
Timestamps in the files are microseconds (Parquet TIMESTAMP(MICROS)): Spark refuses nanoseconds.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd

from workbench.config import StoreParams, TimeoutParams, Window, redact
from workbench.errors import ConfigError, SourceUnavailable
from workbench.sources.base import (PROBABILITY_GRID, RESIDUAL_KEYS, RESIDUAL_SUMS, STANDARD, TIME_COLUMNS,
                                    PredictionSource, cells_of_counts, fold, is_null, residual_cells_of_counts,
                                    residual_cells_sql)

PARTITION = "day"  # the partition column of the layout; never a feature
# small by default: one driver, a handful of shuffle partitions (aggregates are small), no UI, no Hive
SESSION_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "1g",
}
_SESSION = None


def spark_session(master: str = "local[*]", settings: dict[str, str] | None = None):
    """The process's SparkSession: the active one if there is one (spark-submit, a notebook on a
    cluster), else one started with SESSION_DEFAULTS and `settings`, kept for the process's life."""
    global _SESSION
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if _SESSION is None or _SESSION.sparkContext._jsc is None:  # stopped: start another
        builder = SparkSession.builder.master(master).appName("workbench")
        for k, v in {**SESSION_DEFAULTS, **(settings or {})}.items():
            builder = builder.config(k, v)
        _SESSION = builder.getOrCreate()
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def parse_url(url: str) -> tuple[str, str, dict[str, str]]:
    """(dataset path as Spark reads it, master, Spark settings) of a spark+parquet URL."""
    parts = urlsplit(str(url))
    kinds = parts.scheme.lower().split("+")
    if kinds[:2] != ["spark", "parquet"] or len(kinds) > 3:
        raise ConfigError(f"{redact(str(url))!r}: a Spark source URL is spark+parquet:///abs/root or "
                          "spark+parquet+FS://bucket/prefix (FS: s3a, gs, abfss, hdfs)")
    if len(kinds) == 3:
        path = f"{kinds[2]}://{parts.netloc}{parts.path}"
    elif parts.netloc or not parts.path.startswith("/"):
        raise ConfigError(f"{redact(str(url))!r}: the dataset's path must be absolute (spark+parquet:///abs/root)")
    else:
        path = parts.path
    options = dict(parse_qsl(parts.query))
    master = options.pop("master", "local[*]")
    settings = {}
    if "driver_memory" in options:
        settings["spark.driver.memory"] = options.pop("driver_memory")
    unknown = [k for k in options if not k.startswith("spark.")]
    if unknown:
        raise ConfigError(f"{redact(str(url))!r}: unknown option(s) {', '.join(unknown)}; choose master, "
                          "driver_memory or a spark.* setting")
    return path, master, {**settings, **options}


def _bucket(col, edges: list[float]):
    """The bin of `col` as base.buckets numbers it: -2 missing (NULL, NaN), -1 ±inf, else the number of
    edges <= value, found by a binary search of nested CASEs (log2(len(edges)) comparisons a row).
    NaN is tested first: Spark orders NaN above every number."""
    from pyspark.sql import functions as F

    def search(lo: int, hi: int):
        if lo == hi:
            return F.lit(lo)
        mid = (lo + hi) // 2
        return F.when(col < F.lit(edges[mid]), search(lo, mid)).otherwise(search(mid + 1, hi))

    inf = float("inf")
    return (F.when(col.isNull() | F.isnan(col), F.lit(-2))
            .when((col == F.lit(inf)) | (col == F.lit(-inf)), F.lit(-1))
            .otherwise(search(0, len(edges))))


def _key(model: str, window: Window, feature: str, edges, by_day: bool) -> tuple:
    return (model, window.start, window.end, feature,
            None if edges is None else tuple(float(e) for e in edges), bool(by_day))


class SparkStore(PredictionSource):
    """Reads one model's predictions from a day-partitioned Parquet dataset with Spark SQL."""

    def __init__(self, url: str, params: StoreParams | None = None, timeouts: TimeoutParams | None = None,
                 daily_cache=None, scan_workers: int = 2) -> None:
        # daily_cache / scan_workers are the SQL stores' options: Spark scans the window's days in parallel
        # by itself, and keeps no per-day counts between runs
        self.url = url
        self.params = params or StoreParams()
        self.timeouts = timeouts or TimeoutParams()
        self.path, self.master, self.settings = parse_url(url)
        if self.params.features.layout != "columns":
            raise ConfigError("store.features.layout: the Spark source reads features as columns only "
                              f"(got {self.params.features.layout!r})")
        self._data = None
        self._counted: dict[tuple, list] = {}  # prefetch_counts' results, per request
        self._values: dict[tuple, np.ndarray] = {}  # prefetch_values' arrays, handed out once

    # --- the dataset -----------------------------------------------------------------------

    def describe(self) -> str:
        return f"Parquet prediction log at {redact(self.url)} (Spark)"

    def _error(self, what: str, exc: BaseException) -> SourceUnavailable:
        text = (str(exc).strip().splitlines() or [""])[0]
        return SourceUnavailable(redact(f"{self.describe()}: {what} failed: {type(exc).__name__}: {text}"))

    def _run(self, what: str, fn):
        """fn() with Spark's and the JVM bridge's errors as SourceUnavailable naming what was asked."""
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        try:
            return fn()
        except (PySparkException, Py4JError) as exc:
            raise self._error(what, exc) from exc

    def data(self):
        """The dataset as a Spark DataFrame (schema read once), after checking the mapped columns."""
        if self._data is not None:
            return self._data
        spark = spark_session(self.master, self.settings)
        df = self._run("reading the dataset's schema", lambda: spark.read.option("basePath", self.path)
                       .parquet(self.path))
        real = df.columns
        missing = [f"store.columns.{k}={v!r}" for k, v in self.params.columns.column_names().items()
                   if v is not None and v not in real]
        if missing:
            raise ConfigError(f"{', '.join(missing)} not in the Parquet dataset at {self.path}; "
                              f"its columns are: {', '.join(real)}")
        self._data = df
        return df

    def _col(self, key: str):
        from pyspark.sql import functions as F

        const = self.params.columns.constant(key)
        if const is not None:
            return F.lit(const).cast("string")
        name = getattr(self.params.columns, key)
        if name is None:
            raise ConfigError(f"store.columns.{key} is not configured")
        return F.col(f"`{name}`")

    def _feature(self, feature: str):
        from pyspark.sql import functions as F

        if feature not in self.feature_columns():
            raise ConfigError(f"feature {feature!r} not in the Parquet dataset at {self.path}; "
                              f"features there: {', '.join(self.feature_columns())}")
        return F.col(f"`{feature}`")

    def _is_model(self, model: str):
        from pyspark.sql import functions as F

        const = self.params.columns.constant("model")
        if const is not None:
            return F.lit(model == const)
        return self._col("model") == F.lit(model)

    def _in(self, model: str, window: Window):
        """The condition of `model`'s rows in `window`: the day partitions of the window first (Spark
        then lists and reads only those folders), then the timestamps."""
        from pyspark.sql import functions as F

        by_day = PARTITION in self.data().columns  # (the session first: columns are built in it)
        start, end = pd.Timestamp(window.start).tz_convert("UTC"), pd.Timestamp(window.end).tz_convert("UTC")
        ts = self._col("timestamp")
        cond = self._is_model(model) & (ts >= F.lit(start.to_pydatetime())) & (ts < F.lit(end.to_pydatetime()))
        if by_day:
            last = (end - pd.Timedelta(microseconds=1)).date()
            cond = (F.col(PARTITION) >= F.lit(start.date())) & (F.col(PARTITION) <= F.lit(last)) & cond
        return cond

    def _rows(self, model: str, window: Window):
        """The rows of `model` in `window` (only the window's day partitions are read)."""
        return self.data().where(self._in(model, window))

    @staticmethod
    def _micros(col):
        """A timestamp as microseconds since the epoch (UTC): no time zone on the way to Python."""
        from pyspark.sql import functions as F

        return F.unix_micros(col.cast("timestamp"))

    # --- what every backend answers ---------------------------------------------------------

    def models(self) -> list[str]:
        if (const := self.params.columns.constant("model")) is not None:
            return [const]
        rows = self._run("listing models", lambda: self.data().select(self._col("model").alias("m")).distinct().collect())
        return sorted(r[0] for r in rows if r[0] is not None)

    def feature_columns(self) -> list[str]:
        mapped = {v for v in self.params.columns.column_names().values() if v}
        return [c for c in self.data().columns if c not in mapped and c != PARTITION]

    def newest(self, model: str) -> pd.Timestamp | None:
        from pyspark.sql import functions as F

        q = self.data().where(self._is_model(model)).select(self._micros(F.max(self._col("timestamp"))))
        v = self._run(f"finding the newest prediction of {model!r}", lambda: q.collect()[0][0])
        return None if v is None else pd.Timestamp(int(v), unit="us", tz="UTC")

    def read(self, model: str, window: Window, features: Iterable[str] = (), core: Iterable[str] | None = None
             ) -> pd.DataFrame:
        """Predictions of `model` in `window` (Arrow to the driver), in timestamp order, as a log is
        appended: the standard columns in `core` (default all mapped) plus the named features."""
        self.data()  # the session first: a column is built in it (read may be a process's first call)
        mapping = self.params.columns.mapped()
        keys = list(mapping) if core is None else [k for k in core if k in mapping]
        features = list(features)
        cols = [(self._micros(self._col(k)) if k in TIME_COLUMNS else self._col(k)).alias(STANDARD[k]) for k in keys]
        cols += [self._feature(f).alias(f) for f in features]
        order = "timestamp" not in keys
        if order:
            cols.append(self._micros(self._col("timestamp")).alias("__order"))
        q = self._rows(model, window).select(*cols)
        df = self._run(f"reading {model!r}", q.toPandas)
        for k in TIME_COLUMNS:
            if STANDARD[k] in df:
                df[STANDARD[k]] = pd.to_datetime(df[STANDARD[k]], unit="us", utc=True)
        by = "__order" if order else "timestamp"
        df = df.sort_values(by, kind="stable").reset_index(drop=True)
        return df.drop(columns="__order") if order else df

    # --- counts, as Spark aggregations ------------------------------------------------------

    def _count_many(self, model: str, window: Window, requests: list[tuple[str, object]], by_day: bool) -> list[list]:
        """One scan for every request: per request (feature, edges), its (value, n) rows (value: the raw
        category for edges None, else the bin), each with its UTC day first when `by_day`. The rows
        are tagged by request in one exploded column of typed fields, and grouped once."""
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        types = {f.name: f.dataType for f in self.data().schema.fields}
        none = {"b": T.IntegerType(), "s": T.StringType(), "d": T.DoubleType(), "l": T.LongType()}
        tagged = []
        for i, (feature, edges) in enumerate(requests):
            col = self._feature(feature)
            fields = {k: F.lit(None).cast(t) for k, t in none.items()}
            if edges is not None:
                fields["b"] = _bucket(col.cast("double"), [float(e) for e in edges])
            elif isinstance(types[feature], (T.FloatType, T.DoubleType, T.DecimalType)):
                fields["d"] = col.cast("double")
            elif isinstance(types[feature], (T.IntegralType, T.BooleanType)):
                fields["l"] = col.cast("long")
            else:
                fields["s"] = col.cast("string")
            tagged.append(F.struct(F.lit(i).alias("r"), *[v.alias(k) for k, v in fields.items()]))
        day = [F.to_date(self._col("timestamp").cast("timestamp")).alias("day")] if by_day else []
        q = (self._rows(model, window).select(*day, F.explode(F.array(*tagged)).alias("x"))
             .groupBy(*(["day"] if by_day else []), "x.r", "x.b", "x.s", "x.d", "x.l").count())
        rows = self._run(f"counting {len(requests)} feature(s) of {model!r}", q.collect)
        out: list[list] = [[] for _ in requests]
        for row in rows:
            *d, r, b, s, fd, fl, n = row
            value = b if requests[r][1] is not None else next((v for v in (s, fd, fl) if v is not None), None)
            out[r].append((*d, value, int(n)))
        return out

    def _counts(self, model: str, window: Window, feature: str, edges, by_day: bool) -> list:
        got = self._counted.get(_key(model, window, feature, edges, by_day))
        if got is None:
            got = self._count_many(model, window, [(feature, edges)], by_day)[0]
        return got

    def prefetch_counts(self, model: str, window: Window, requests: Iterable[tuple[str, object]],
                        by_day: bool = False) -> int:
        """Every request counted in one Spark job, kept for the per-feature calls that follow."""
        requests = list(dict.fromkeys((f, None if e is None else tuple(float(x) for x in e)) for f, e in requests))
        if not requests:
            return 0
        if len(self._counted) > 1000:  # the counts of older windows are not asked again
            self._counted.clear()
        for (f, e), rows in zip(requests, self._count_many(model, window, requests, by_day)):
            self._counted[_key(model, window, f, e, by_day)] = rows
        return len(requests)

    def count(self, model: str, window: Window) -> int:
        return int(self._run(f"counting predictions of {model!r}", self._rows(model, window).count))

    def category_counts(self, model: str, window: Window, feature: str) -> tuple[dict[object, int], int]:
        counts: dict[object, int] = {}
        missing = 0
        for value, n in self._counts(model, window, feature, None, False):
            if is_null(value):
                missing += n
            else:
                counts[value] = counts.get(value, 0) + n
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))), missing

    def bin_counts(self, model: str, window: Window, feature: str, edges) -> dict[str, object]:
        counts, missing, nonfinite = fold(self._counts(model, window, feature, edges, False), len(edges) + 1)
        return {"counts": counts, "missing": missing, "nonfinite": nonfinite}

    def daily_counts(self, model: str, window: Window, feature: str, edges=None):
        by_day: dict[dt.date, list] = {}
        for d, v, n in sorted(self._counts(model, window, feature, edges, True), key=lambda r: r[0]):
            by_day.setdefault(d, []).append((v, n))
        for d, items in by_day.items():
            stamp = pd.Timestamp(d.isoformat(), tz="UTC")
            if edges is None:
                missing = sum(n for v, n in items if is_null(v))
                yield stamp, {v: n for v, n in items if not is_null(v)}, missing, 0
            else:
                counts, missing, nonfinite = fold(items, len(edges) + 1)
                yield stamp, counts, missing, nonfinite

    def hourly_counts(self, model: str, window: Window) -> pd.Series:
        from pyspark.sql import functions as F

        hour = self._micros(F.date_trunc("hour", self._col("timestamp").cast("timestamp"))).alias("h")
        rows = self._run(f"counting predictions of {model!r} per hour",
                         self._rows(model, window).groupBy(hour).count().collect)
        if not rows:
            return pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="int64")
        idx = pd.to_datetime([int(r[0]) for r in rows], unit="us", utc=True)
        return pd.Series([int(r[1]) for r in rows], index=idx, dtype="int64").sort_index()

    def versions(self, model: str, window: Window) -> list[str]:
        q = self._rows(model, window).select(self._col("version").alias("v")).distinct()
        return sorted(r[0] for r in self._run(f"listing versions of {model!r}", q.collect) if r[0] is not None)

    def repeated_ids(self, model: str, window: Window) -> int:
        from pyspark.sql import functions as F

        idc = self._col("id")
        q = self._rows(model, window).select((F.count(idc) - F.count_distinct(idc)).alias("n"))
        return int(self._run(f"counting repeated prediction ids of {model!r}", lambda: q.collect()[0][0]))

    def sample(self, model: str, window: Window, core: Iterable[str], limit: int = 5000) -> pd.DataFrame:
        self.data()  # the session first: a column is built in it
        keys = [k for k in core if getattr(self.params.columns, k, None) is not None]
        cols = [(self._micros(self._col(k)) if k in TIME_COLUMNS else self._col(k)).alias(STANDARD[k]) for k in keys]
        df = self._run(f"sampling {model!r}", self._rows(model, window).select(*cols).limit(int(limit)).toPandas)
        for k in TIME_COLUMNS:
            if STANDARD[k] in df:
                df[STANDARD[k]] = pd.to_datetime(df[STANDARD[k]], unit="us", utc=True)
        return df

    # --- values (KS, Wasserstein): one column per feature, several features in one scan ------

    def _read_values(self, model: str, window: Window, features: list[str]) -> dict[str, np.ndarray]:
        q = self._rows(model, window).select(*[self._feature(f).cast("double").alias(f) for f in features])
        df = self._run(f"reading {', '.join(features)} of {model!r}", q.toPandas)
        return {f: df[f].to_numpy(dtype=float, na_value=np.nan) for f in features}

    def prefetch_values(self, model: str, window: Window, features: list[str]) -> None:
        if features:
            self._values = {(model, window.start, window.end, f): v
                            for f, v in self._read_values(model, window, list(features)).items()}

    def feature_values(self, model: str, window: Window, feature: str) -> np.ndarray:
        got = self._values.pop((model, window.start, window.end, feature), None)
        return got if got is not None else self._read_values(model, window, [feature])[feature]

    # --- the performance review's cells and the weak-segment search's, one aggregation each ----

    @property
    def counts_cells(self) -> bool:
        return True

    def prediction_cells(self, model: str, window: Window, grid: int = PROBABILITY_GRID) -> pd.DataFrame:
        """The window's predictions counted per cell in one Spark groupBy, the keys as
        SqlStore._prediction_cells computes them (p_cell: the grid cell of a probability in [0, 1], 1 in
        the last; p_raw: the probability where it is not; early: the outcome stamped before the
        prediction), typed by the same base.cells_of_counts. Spark orders NaN above every number, so a
        NaN probability is in neither [0, 1) nor {1} and stays raw, as on PostgreSQL."""
        from pyspark.sql import functions as F

        data = self.data()  # the session first: a column is built in it
        mapped = set(self.params.columns.mapped())
        names = {"version": "model_version", "variant": "variant", "outcome": "actual_outcome",
                 "prediction": "prediction"}
        cols = {n: self._col(k) for k, n in names.items() if k in mapped}
        cols["day"] = F.to_date(self._col("timestamp").cast("timestamp"))
        if "probability" in mapped:
            p, k = self._col("probability"), int(grid)
            cols["p_cell"] = F.when((p >= 0) & (p < 1), F.floor(p * F.lit(k))).when(p == 1, F.lit(k - 1).cast("long"))
            cols["p_raw"] = F.when((p >= 0) & (p <= 1), F.lit(None)).otherwise(p)
        if "outcome_timestamp" in mapped:
            early = self._col("outcome_timestamp").cast("timestamp") < self._col("timestamp").cast("timestamp")
            cols["early"] = F.when(early, 1).otherwise(0)
        q = data.where(self._in(model, window)).select(*[c.alias(n) for n, c in cols.items()]).groupBy(*cols).count()
        rows = self._run(f"counting prediction cells of {model!r}", q.collect)
        return cells_of_counts(pd.DataFrame([tuple(r) for r in rows], columns=[*cols, "n"]), grid)

    def residual_cells(self, model: str, window: Window, error_width: float | None = None,
                       outcome_width: float | None = None) -> pd.DataFrame:
        """A regression model's residual cells (PredictionSource.residual_cells) in one Spark SQL
        aggregation: base.residual_cells_sql (the SQL DuckDB runs too) over the window's keys, prediction
        and outcome as doubles (try_cast: a text that is no number is NULL, not an error under ANSI
        mode), and whether the outcome is missing (NULL, or NaN in a float column, as the rows' isna)."""
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        data = self.data()  # the session first: a column is built in it
        mapped = set(self.params.columns.mapped())
        cols = {n: self._col(k) for k, n in (("version", "model_version"), ("variant", "variant")) if k in mapped}
        cols["day"] = F.to_date(self._col("timestamp").cast("timestamp"))
        if "outcome_timestamp" in mapped:
            early = self._col("outcome_timestamp").cast("timestamp") < self._col("timestamp").cast("timestamp")
            cols["early"] = F.when(early, 1).otherwise(0)
        else:
            cols["early"] = F.lit(0)
        keys = list(cols)
        cols["p"] = self._col("prediction").try_cast("double")
        if "outcome" in mapped:
            out = self._col("outcome")
            name = self.params.columns.outcome if self.params.columns.constant("outcome") is None else None
            types = {f.name: f.dataType for f in data.schema.fields}
            cols["y"] = out.try_cast("double")
            cols["y_missing"] = (out.isNull() if not isinstance(types.get(name), (T.FloatType, T.DoubleType))
                                 else out.isNull() | F.isnan(out))
        else:
            cols["y"], cols["y_missing"] = F.lit(None).cast("double"), F.lit(True)
        rows = data.where(self._in(model, window)).select(*[c.alias(n) for n, c in cols.items()])
        sql, args = residual_cells_sql("{rows}", keys, error_width, outcome_width)
        spark = spark_session(self.master, self.settings)
        got = self._run(f"counting residual cells of {model!r}", lambda: spark.sql(sql, args, rows=rows).collect())
        return residual_cells_of_counts(pd.DataFrame([tuple(r) for r in got],
                                                     columns=[*keys, *RESIDUAL_KEYS[-3:], *RESIDUAL_SUMS]))

    def labelled_sample(self, model: str, window: Window, features: list[str], limit: int) -> pd.DataFrame:
        """Up to `limit` labelled rows of the window (whichever Spark returns first), not the window read."""
        data = self.data()  # the session first: a column is built in it
        pred, out = self._col("prediction"), self._col("outcome")
        q = (data.where(self._in(model, window)).where(pred.isNotNull() & out.isNotNull())
             .select(*[self._feature(f).alias(f) for f in features], pred.alias("prediction"),
                     out.alias("actual_outcome")).limit(int(limit)))
        df = self._run(f"sampling {model!r} for the weak-segment bins", q.toPandas)
        return df[[*features, "prediction", "actual_outcome"]].reset_index(drop=True)

    def segment_cells(self, model: str, window: Window, reference: Window | None, features: dict[str, list | None],
                      kind: str, error_edges: list[float] | None = None) -> list[tuple]:
        """Rows (a, b, v1, v2, cur, y, n, err) as segment_counts.statement counts them in SQL, in one
        scan and one groupBy: each labelled row of the window (cur 1) and the reference (cur 0) is coded
        once (outcome cell y, error, one code per feature: the category as text, or its bin over the
        edges), then exploded into one (a, b, v1, v2) entry per feature and per pair of features."""
        from pyspark.sql import functions as F

        data = self.data()  # the session first: a column is built in it
        pred, out = self._col("prediction"), self._col("outcome")
        names = list(features)
        if not names:
            return []
        in_window = self._in(model, window)
        rows = in_window if reference is None else in_window | self._in(model, reference)
        if kind == "classification":
            y, err = F.when(pred == out, 1).otherwise(0), F.lit(0.0)
        else:
            err = F.abs(pred.cast("double") - out.cast("double"))
            y = _bucket(err, [float(e) for e in error_edges or []])
        codes = []
        for f in names:
            col = self._feature(f)
            edges = features[f]
            codes.append((col.cast("string") if edges is None else
                          _bucket(col.cast("double"), [float(e) for e in edges]).cast("string")))
        coded = data.where(rows & pred.isNotNull() & out.isNotNull()).select(
            F.when(in_window, 1).otherwise(0).alias("cur"), y.cast("int").alias("y"), err.cast("double").alias("err"),
            *[c.alias(f"g{j}") for j, c in enumerate(codes)])
        slices = [F.struct(F.lit(i).alias("a"), F.lit(j).alias("b"), F.col(f"g{i}").alias("v1"),
                           (F.col(f"g{j}") if j >= 0 else F.lit(None).cast("string")).alias("v2"))
                  for i in range(len(names)) for j in [-1, *range(i + 1, len(names))]]
        q = (coded.select("cur", "y", "err", F.explode(F.array(*slices)).alias("s"))
             .groupBy("s.a", "s.b", "s.v1", "s.v2", "cur", "y").agg(F.count(F.lit(1)).alias("n"),
                                                                     F.sum("err").alias("err")))
        got = self._run(f"counting {model!r}'s outcomes per segment of {len(names)} features", q.collect)
        return [tuple(r) for r in got]
