"""The prediction DB through SQLAlchemy Core: read-only, bound parameters, mapped columns.

Every team's prediction log looks different, so table, schema, column names and the feature
layout come from params (`store:` in weekly.yaml). Rows come back with workbench's standard
column names (prediction_id, model_name, model_version, variant, timestamp, prediction,
probability, actual_outcome, outcome_timestamp) and timestamps as UTC.

`SqlStore` holds what every SQL database shares; each database's specifics live in its own
module (store_sqlite.py, store_postgres.py) and `registry.py` chooses one by the URL's scheme.
`PredictionStore(url, ...)` opens the right one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workbench.config import StoreParams, TimeoutParams, Window, redact
from workbench.errors import ConfigError, SourceUnavailable
from workbench.sources.base import (PROBABILITY_GRID, RESIDUAL_MAX_BIN, RESIDUAL_SUMS, STANDARD, TIME_COLUMNS,
                                    PredictionSource, cells_of_counts, fold, is_null, residual_cells_of_counts)
from workbench.sources.memory import give_back_freed_memory
from workbench.timing import timed_call

# one reflection at a time: day-range scans run side by side in threads (split_days), and two that
# each reflected the table on a fresh store built one query from two copies of it ("ambiguous column")
_REFLECTING = threading.Lock()

__all__ = ["STANDARD", "TIME_COLUMNS", "PredictionStore", "SqlStore", "describe_error", "read_only_engine",
           "side_by_side", "split_days"]


def read_only_engine(url: str, timeouts: TimeoutParams | None = None) -> sa.Engine:
    """An engine that cannot write and cannot hang, made by the backend of the URL's scheme
    (SQLite opened mode=ro with a busy timeout; PostgreSQL with read-only transactions,
    statement_timeout and lock_timeout on every session)."""
    from workbench.sources.registry import backend_for

    return backend_for(url).read_only_engine(url, timeouts or TimeoutParams())


def describe_error(exc: BaseException, timeouts: TimeoutParams | None = None) -> str:
    """A database error in words, keeping the driver's message ("no such table: x"), and naming a
    timeout, a lock or a corrupt file for what it is (not "unreachable")."""
    t = timeouts or TimeoutParams()
    orig = getattr(exc, "orig", None) or exc
    text = (str(orig).strip().splitlines() or [""])[0]
    low = text.lower()
    if "statement timeout" in low:
        return (f"the query ran longer than timeouts.database_statement ({t.database_statement}) and was "
                f"cancelled: {text}")
    if "lock timeout" in low:
        return f"a lock held by another session was not released within timeouts.database_lock ({t.database_lock}): {text}"
    if "database is locked" in low:
        return f"the SQLite file is locked by another process (waited {t.database_lock}): {text}"
    if "malformed" in low or "not a database" in low:
        return f"the SQLite file is corrupt: {text}"
    return f"{type(orig).__name__}: {text}"



def _utc_series(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        try:  # SQLite's text times: ISO 8601 is parsed in bulk; anything else value by value
            out = pd.to_datetime(s, utc=True, format="ISO8601")
        except (ValueError, TypeError):
            out = pd.to_datetime(s, utc=True, format="mixed")
    else:
        out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is None:
        out = out.dt.tz_localize("UTC")
    return out.dt.tz_convert("UTC")


def side_by_side(fn, parts: list) -> list:
    """fn(part) for each part, on its own thread (and so its own database connection) when there are
    several: the driver waits for the server outside the GIL, so the scans run at once."""
    if len(parts) < 2:
        return [fn(p) for p in parts]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(parts)) as pool:
        return list(pool.map(fn, parts))


def split_days(window: Window, parts: int, min_days: int = 2) -> list[Window]:
    """`window` cut at UTC midnights into up to `parts` consecutive windows of about equal days (a day
    never straddles two: per-day counts stay whole); the window itself when it spans < `min_days` days."""
    start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
    days = pd.date_range(start.ceil("D"), end.floor("D"), freq="D")
    inner = [d for d in days if start < d < end]
    if parts < 2 or (end - start) < pd.Timedelta(days=min_days) or not inner:
        return [window]
    cuts = [inner[round(i * len(inner) / parts) - 1] for i in range(1, parts) if round(i * len(inner) / parts) >= 1]
    bounds = [start, *sorted(set(cuts)), end]
    return [Window(a.to_pydatetime(), b.to_pydatetime(), window.label) for a, b in zip(bounds, bounds[1:]) if a < b]



# (and handing out a copy) holds it twice, and the later reads are of a column or two
RECENT_MAX_ROWS = 500_000
# after reading more rows than this, memory the reader freed is handed back to the OS (see below)
TRIM_AFTER_ROWS = 200_000


@dataclass
class SqlStore(PredictionSource):
    """Reads one model's predictions from a prediction log in an SQL database. Subclasses (one module
    per database) give the engine, the day of a timestamp, and the faster paths their database has."""

    url: str = field(repr=False)
    params: StoreParams = field(default_factory=StoreParams)
    timeouts: TimeoutParams = field(default_factory=TimeoutParams)
    # PostgreSQL: a many-feature count over a window of several days runs as this many scans of
    # disjoint day ranges at once (GROUPING SETS never uses parallel workers by itself)
    scan_workers: int = 2
    # PostgreSQL: where the per-day counts of finished days are kept between runs (None: not kept)
    daily_cache: "Path | None" = None

    # JSON features: the database extracts one key per row (see _json_key)
    JSON_IN_SQL = False
    # JSON features extracted in SQL come back as text (numbers then parsed as numbers)
    JSON_KEYS_AS_TEXT = False

    def __post_init__(self) -> None:
        self.engine = self.read_only_engine(self.url, self.timeouts)
        self._table: sa.Table | None = None
        # the last few frames read: a later read of a sub-window / subset of columns is sliced from
        # them instead of queried again (a review reads the same rows for several sections)
        self._recent: list[tuple[str, Window, frozenset, frozenset, pd.DataFrame]] = []

    # --- what each database says for itself ---------------------------------------------

    @classmethod
    def read_only_engine(cls, url: str, timeouts: TimeoutParams) -> sa.Engine:
        """An engine on `url` that cannot write and cannot hang."""
        return sa.create_engine(make_url(url), pool_pre_ping=True)

    def _day(self):
        """The UTC day of the timestamp column, as an SQL expression."""
        raise NotImplementedError(f"{type(self).__name__} does not say how to cut a timestamp to its day")

    def _hour(self):
        """The UTC hour of the timestamp column as an SQL expression, None to count hours in Python."""
        return None

    def _time_bound(self, t):
        """A window bound as compared with the timestamp column."""
        return t

    def _floor(self, x):
        """floor(x) of a non-negative number, as an SQL expression."""
        return sa.func.floor(x)

    def _json_key(self, doc, feature: str, numeric: bool):
        """One key of the JSON column `doc` extracted in the database (JSON_IN_SQL)."""
        raise NotImplementedError(f"{type(self).__name__} does not extract JSON keys in SQL")

    def _id_key(self, idc):
        """What repeated ids are counted by (distinct values of it)."""
        return idc

    def _tune(self, conn, work_mem_mb: int) -> None:
        """Per-transaction settings for a big aggregation (nothing by default)."""

    def _fast_frame(self, model: str, window: Window, cols: list, stmt) -> pd.DataFrame | None:
        """The rows of `stmt` read faster than pandas.read_sql, typed as it types them; None: read_sql."""
        return None

    def _cached_rows(self, kind: str, model: str, window: Window, feature: str, edges) -> list | None:
        """Counts already in memory ('categories', 'bins' or 'daily' rows as the SQL queries return
        them), None: ask the database."""
        return None

    def _cached_column(self, model: str, window: Window, feature: str) -> pd.Series | None:
        """A feature column already in memory, None: read it."""
        return None

    def _cached_values(self, model: str, window: Window, feature: str):
        """A numeric feature's float array already in memory, None: read it."""
        return None

    def _from_recent(self, model: str, window: Window, keys: list[str], features: list[str]) -> pd.DataFrame | None:
        for m, w, k, f, df in self._recent:
            if (m == model and w.start <= window.start and window.end <= w.end and k >= set(keys)
                    and f >= set(features) and ("timestamp" in k or (w.start, w.end) == (window.start, window.end))):
                rows = df
                if (w.start, w.end) != (window.start, window.end):
                    ts = df["timestamp"]
                    rows = df[(ts >= pd.Timestamp(window.start)) & (ts < pd.Timestamp(window.end))]
                return rows[[STANDARD[x] for x in keys] + features].reset_index(drop=True)
        return None

    @property
    def display_url(self) -> str:
        return redact(self.url)

    def describe(self) -> str:
        return f"prediction DB at {self.display_url}"

    def table(self) -> sa.Table:
        """The reflected table, after checking every mapped column exists (reflected once per store,
        also when several threads ask first at once)."""
        if self._table is not None:
            return self._table
        with _REFLECTING:
            if self._table is None:
                self._table = self._reflect()
        return self._table

    def _reflect(self) -> sa.Table:
        try:
            t = sa.Table(self.params.table, sa.MetaData(), schema=self.params.schema_, autoload_with=self.engine)
        except sa.exc.NoSuchTableError:
            raise ConfigError(f"store.table: table {self.params.table!r} not found in the {self.describe()}") from None
        except sa.exc.SQLAlchemyError as exc:
            raise self._error("reading the table's columns", exc) from exc
        real = list(t.c.keys())
        mapping = self.params.columns.column_names()
        missing = [f"store.columns.{k}={v!r}" for k, v in mapping.items() if v is not None and v not in real]
        fl = self.params.features
        if fl.layout == "json" and (not fl.json_column or fl.json_column not in real):
            missing.append(f"store.features.json_column={fl.json_column!r}")
        if missing:
            raise ConfigError(f"{', '.join(missing)} not in table {self.params.table!r}; "
                              f"its columns are: {', '.join(real)}")
        return t

    def stored_columns(self) -> list[str]:
        """The table's columns as reflected (not checked against the mapping: `workbench check` names
        each missing one)."""
        try:
            t = sa.Table(self.params.table, sa.MetaData(), schema=self.params.schema_, autoload_with=self.engine)
        except sa.exc.NoSuchTableError:
            raise ConfigError(f"store.table: table {self.params.table!r} not found in the {self.describe()}") from None
        except sa.exc.SQLAlchemyError as exc:
            raise self._error("reading the table's columns", exc) from exc
        return list(t.c.keys())

    def _col(self, key: str) -> sa.ColumnElement:
        const = self.params.columns.constant(key)
        if const is not None:  # a single-model table: the value every row has (store.columns.KEY.constant)
            return sa.cast(sa.literal(const), sa.String)
        name = getattr(self.params.columns, key)
        if name is None:
            raise ConfigError(f"store.columns.{key} is not configured")
        return self.table().c[name]

    def feature_columns(self) -> list[str]:
        """Feature names: every column that is not a mapped column (columns layout)."""
        t = self.table()
        if self.params.features.layout == "json":
            raw = [r[0] for r in self._all(sa.select(t.c[self.params.features.json_column]).limit(200),
                                           "listing JSON feature keys")]
            names: dict[str, None] = {}
            for r in raw:
                for k in (json.loads(r) if isinstance(r, str) else (r or {})):
                    names[k] = None
            return list(names)
        mapped = {v for v in self.params.columns.column_names().values() if v}
        return [c for c in t.c.keys() if c not in mapped]

    def _error(self, what: str, exc: BaseException) -> SourceUnavailable:
        """A database error naming the DB (redacted), what was asked, and the driver's own message."""
        return SourceUnavailable(redact(f"{self.describe()}: {what} failed: {describe_error(exc, self.timeouts)}"))

    def _connect(self):
        try:
            return self.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            text = describe_error(exc, self.timeouts)
            if "locked" in text or "corrupt" in text:
                raise SourceUnavailable(redact(f"{self.describe()}: {text}")) from exc
            raise SourceUnavailable(redact(f"{self.describe()} is unreachable: {text}")) from exc

    def _all(self, stmt, what: str, work_mem_mb: int = 0) -> list:
        """Run one query; a database error becomes SourceUnavailable naming what was asked.
        `work_mem_mb` (PostgreSQL) raises the planner's memory for this one transaction."""
        try:
            with self._connect() as conn:
                if work_mem_mb:
                    self._tune(conn, work_mem_mb)
                return conn.execute(stmt).all()
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(f"{what}", exc) from exc

    def _window_filter(self, model: str, window: Window):
        ts = self._col("timestamp")
        start, end = self._time_bound(window.start), self._time_bound(window.end)
        return sa.and_(self._is_model(model), ts >= start, ts < end)

    def _is_model(self, model: str):
        """Rows of `model`: the model column's test, or with a constant model all rows or none."""
        const = self.params.columns.constant("model")
        if const is not None:
            return sa.true() if model == const else sa.false()
        return self._col("model") == model

    # --- reads ------------------------------------------------------------------------

    @timed_call("prediction DB: read rows")
    def read(self, model: str, window: Window, features: Iterable[str] = (), core: Iterable[str] | None = None
             ) -> pd.DataFrame:
        """Predictions of `model` in `window`: the standard columns in `core` (default all mapped)
        plus the named feature columns."""
        mapping = self.params.columns.mapped()
        keys = list(mapping) if core is None else [k for k in core if k in mapping]
        cols = [self._col(k).label(STANDARD[k]) for k in keys]
        features = list(features)
        cached = self._from_recent(model, window, keys, features)
        if cached is not None:
            return cached
        t = self.table()
        json_layout = self.params.features.layout == "json"
        sql_json = json_layout and self.can_aggregate
        if features:
            if sql_json:  # only the asked keys, extracted in the database
                cols += [self._feature_col(f).label(f) for f in features]
            elif json_layout:
                cols.append(t.c[self.params.features.json_column].label("__features"))
            else:
                unknown = [f for f in features if f not in t.c]
                if unknown:
                    raise ConfigError(f"feature(s) {', '.join(unknown)} not in table {self.params.table!r}; "
                                      f"features there: {', '.join(self.feature_columns())}")
                cols += [t.c[f] for f in features]
        stmt = sa.select(*cols).where(self._window_filter(model, window))
        df = self._fast_frame(model, window, cols, stmt)
        if df is None:
            try:
                with self._connect() as conn:
                    df = pd.read_sql(stmt, conn)
            except sa.exc.SQLAlchemyError as exc:
                raise self._error(f"reading {model!r}", exc) from exc
        if json_layout and features and not sql_json:
            parsed = pd.json_normalize([json.loads(x) if isinstance(x, str) else (x or {}) for x in df.pop("__features")])
            for f in features:
                df[f] = parsed[f] if f in parsed else None
        if sql_json and features and self.JSON_KEYS_AS_TEXT:
            for f in features:  # ->> returns text: JSON numbers come back as numbers, as json.loads gives them
                num = pd.to_numeric(df[f], errors="coerce")
                if num.notna().sum() == df[f].notna().sum():
                    df[f] = num
        for c in TIME_COLUMNS:
            if c in df:
                df[c] = _utc_series(df[c])
        if len(df) > TRIM_AFTER_ROWS:
            give_back_freed_memory()
        if len(df) > RECENT_MAX_ROWS:  # kept, the frame would be held twice (kept + the caller's copy)
            return df
        self._recent = [(model, window, frozenset(keys), frozenset(features), df), *self._recent][:3]
        return df.copy()

    @timed_call("prediction DB: read feature")
    def read_feature(self, model: str, window: Window, feature: str) -> pd.Series:
        """One feature column for the window (reads one column at a time, never the wide frame);
        cut from the preloaded span when it holds the window (typed as read_sql types it)."""
        if (cached := self._cached_column(model, window, feature)) is not None:
            return cached
        return self.read(model, window, features=[feature], core=[])[feature]

    # --- aggregation pushed into the database (one feature at a time) --------------------

    @property
    def can_aggregate(self) -> bool:
        """Counts can be computed in SQL: feature columns, or JSON keys extracted in SQL
        (JSON_IN_SQL: PostgreSQL `->>`, SQLite `json_extract`)."""
        return self.params.features.layout == "columns" or self.JSON_IN_SQL

    def _feature_col(self, feature: str, numeric: bool = False):
        """The SQL expression of one feature: its column, or its key of the JSON column extracted in
        the database (only this key; the JSON is never parsed in Python). `numeric` casts JSON text
        to a float where the key comes back as text (PostgreSQL)."""
        t = self.table()
        if self.params.features.layout == "json":
            return self._json_key(t.c[self.params.features.json_column], feature, numeric)
        if feature not in t.c:
            raise ConfigError(f"feature {feature!r} not in table {self.params.table!r}; "
                              f"features there: {', '.join(self.feature_columns())}")
        return t.c[feature]

    @timed_call("prediction DB: category counts")
    def category_counts(self, model: str, window: Window, feature: str) -> tuple[dict[object, int], int]:
        """Counts per raw value of `feature` in the window (GROUP BY in the database), and the missing
        count. Values come back as the database holds them (1, 1.0 or "1"): callers canonicalise
        (profile.canonical_counts)."""
        rows = self._cached_rows("categories", model, window, feature, None)
        if rows is None:
            col = self._feature_col(feature).label("v")
            stmt = (sa.select(col, sa.func.count()).where(self._window_filter(model, window)).group_by(col))
            rows = self._all(stmt, f"counting categories of {feature!r}")
        counts: dict[object, int] = {}
        missing = 0
        for value, n in rows:
            if is_null(value):
                missing += int(n)
            else:
                counts[value] = counts.get(value, 0) + int(n)
        return dict(sorted(counts.items(), key=lambda kv: -kv[1])), missing

    def _bucket(self, col, edges, key: str = ""):
        """-2 missing (NULL or NaN), -1 ±inf, else the bin i of [edge_i-1, edge_i) (0: below the first).
        A CASE here (PostgreSQL: width_bucket over the edges array, one comparison pass).
        `key` keeps the bound parameters of several buckets in one statement apart."""
        nan, inf = float("nan"), float("inf")
        missing = sa.or_(col.is_(None), col == sa.bindparam(f"nan{key}", nan, type_=sa.Float))
        infinite = sa.or_(col == sa.bindparam(f"inf{key}", inf, type_=sa.Float),
                          col == sa.bindparam(f"ninf{key}", -inf, type_=sa.Float))
        whens = [(missing, -2), (infinite, -1)]
        whens += [(col < sa.bindparam(f"e{key}_{i}", float(e), type_=sa.Float), i) for i, e in enumerate(edges)]
        return sa.case(*whens, else_=len(edges))

    def _values(self, model: str, window: Window, feature: str, numeric: bool, *extra):
        """A subquery of the feature's value `v` (and `extra` labelled columns) in the window, fenced
        with OFFSET 0 so PostgreSQL extracts the JSON key once per row, not once per CASE branch."""
        v = self._feature_col(feature, numeric=numeric).label("v")
        return sa.select(*extra, v).where(self._window_filter(model, window)).offset(0).subquery()

    @timed_call("prediction DB: bin counts")
    def bin_counts(self, model: str, window: Window, feature: str, edges) -> dict[str, object]:
        """Counts of `feature` over bins [edge_i, edge_i+1) computed in the database, plus missing
        (NULL, or NaN where the database stores it) and non-finite (±inf) counts."""
        rows = self._cached_rows("bins", model, window, feature, edges)
        if rows is None:
            sub = self._values(model, window, feature, True)
            bucket = self._bucket(sub.c.v, edges).label("bucket")
            stmt = sa.select(bucket, sa.func.count()).select_from(sub).group_by(bucket)
            rows = self._all(stmt, f"counting bins of {feature!r}")
        counts, missing, nonfinite = fold(rows, len(edges) + 1)
        return {"counts": counts, "missing": missing, "nonfinite": nonfinite}

    @timed_call("prediction DB: hourly counts")
    def hourly_counts(self, model: str, window: Window) -> pd.Series:
        """Predictions per UTC hour of the window, counted in the database (GROUP BY hour): the volume
        chart needs counts, not every timestamp. Hours without predictions are absent."""
        hour = self._hour()
        if hour is None:
            t = self.read(model, window, core=["timestamp"])["timestamp"]
            return t.dt.floor("h").value_counts().sort_index()
        hour = hour.label("hour")
        stmt = sa.select(hour, sa.func.count()).where(self._window_filter(model, window)).group_by(hour)
        rows = self._all(stmt, f"counting predictions of {model!r} per hour")
        if not rows:
            return pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="int64")
        idx = _utc_series(pd.Series([r[0] for r in rows])).dt.floor("h")
        return pd.Series([int(r[1]) for r in rows], index=pd.DatetimeIndex(idx)).groupby(level=0).sum().sort_index()

    def daily_counts(self, model: str, window: Window, feature: str, edges=None):
        """Per day (UTC) of the window: category counts (edges None) or counts over the bins of `edges`,
        with missing and non-finite counts, in one GROUP BY day, value query. Yields
        (day, counts, missing, nonfinite); counts is {raw value: n} or an array of len(edges) + 1."""
        rows = self._cached_rows("daily", model, window, feature, edges)
        if rows is None:
            sub = self._values(model, window, feature, edges is not None, self._day().label("day"))
            val = sub.c.v if edges is None else self._bucket(sub.c.v, edges).label("b")
            stmt = sa.select(sub.c.day, val, sa.func.count()).group_by(sub.c.day, val).order_by(sub.c.day)
            rows = self._all(stmt, f"counting {feature!r} per day")
        by_day: dict[object, list] = {}
        for d, v, n in sorted(rows, key=lambda r: r[0]):
            by_day.setdefault(d, []).append((v, n))
        for d, items in by_day.items():
            stamp = pd.Timestamp(str(d)[:10], tz="UTC")
            if edges is None:
                missing = sum(int(n) for v, n in items if is_null(v))
                yield stamp, {v: int(n) for v, n in items if not is_null(v)}, missing, 0
            else:
                counts, missing, nonfinite = fold(items, len(edges) + 1)
                yield stamp, counts, missing, nonfinite

    @property
    def counts_cells(self) -> bool:
        return True

    @timed_call("prediction DB: prediction cells")
    def prediction_cells(self, model: str, window: Window, grid: int = PROBABILITY_GRID) -> pd.DataFrame:
        """The window's predictions counted per cell (PredictionSource.prediction_cells) by GROUP BY:
        a few thousand rows come back for a million predictions. A window of several days is counted
        as `scan_workers` scans of disjoint day ranges at once (the day is a key: no cell straddles two)."""
        return self._over_day_ranges(window, lambda part: self._prediction_cells(model, part, grid))

    def _over_day_ranges(self, window: Window, count) -> pd.DataFrame:
        """`count(part)` over `scan_workers` disjoint day ranges of `window` at once, stacked (cells
        keyed by day: none straddles two ranges)."""
        frames = side_by_side(count, split_days(window, self.scan_workers))
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def _prediction_cells(self, model: str, window: Window, grid: int) -> pd.DataFrame:
        mapped = set(self.params.columns.mapped())
        names = {"version": "model_version", "variant": "variant", "outcome": "actual_outcome",
                 "prediction": "prediction"}
        cols = [self._col(k).label(n) for k, n in names.items() if k in mapped]
        cols.append(self._day().label("day"))
        if "probability" in mapped:
            p, k = self._col("probability"), int(grid)
            inside = sa.and_(p >= 0, p <= 1)
            cols.append(sa.case((sa.and_(p >= 0, p < 1), self._floor(p * k)), (p == 1, k - 1), else_=sa.null())
                        .label("p_cell"))
            cols.append(sa.case((inside, sa.null()), else_=p).label("p_raw"))
        if "outcome_timestamp" in mapped:
            cols.append(sa.case((self._col("outcome_timestamp") < self._col("timestamp"), 1), else_=0).label("early"))
        # the keys computed in a subquery, grouped outside it: one expression each, bound once
        sub = sa.select(*cols).where(self._window_filter(model, window)).subquery()
        stmt = sa.select(*sub.c, sa.func.count().label("n")).group_by(*sub.c)
        rows = self._all(stmt, f"counting prediction cells of {model!r}")
        return cells_of_counts(pd.DataFrame(rows, columns=[c.name for c in sub.c] + ["n"]), grid)

    @timed_call("prediction DB: residual cells")
    def residual_cells(self, model: str, window: Window, error_width: float | None = None,
                       outcome_width: float | None = None) -> pd.DataFrame:
        """A regression model's residual cells (PredictionSource.residual_cells) by one GROUP BY per
        day range, as prediction_cells: a few thousand rows for a million predictions."""
        return self._over_day_ranges(window, lambda part: self._residual_cells(model, part, error_width,
                                                                                outcome_width))

    def _signed_floor(self, x):
        """floor(x) of any number from `_floor` (of a non-negative one; SQLite's truncates)."""
        f = self._floor(-x)
        return sa.case((x >= 0, self._floor(x)), (f == -x, -f), else_=-f - 1)

    def _bin(self, x, width: float | None):
        """residual_bin in SQL: floor(x / width) capped at ±RESIDUAL_MAX_BIN, 0 without a width."""
        if not width:
            return sa.literal(0)
        q, cap = x / sa.literal(float(width)), RESIDUAL_MAX_BIN
        return sa.case((q >= cap, cap), (q <= -cap, -cap), else_=self._signed_floor(q))

    def _residual_cells(self, model: str, window: Window, error_width: float | None,
                        outcome_width: float | None) -> pd.DataFrame:
        mapped = set(self.params.columns.mapped())
        keys = [self._col(k).label(n) for k, n in (("version", "model_version"), ("variant", "variant"))
                if k in mapped]
        keys.append(self._day().label("day"))
        keys.append(sa.case((self._col("outcome_timestamp") < self._col("timestamp"), 1), else_=0).label("early")
                    if "outcome_timestamp" in mapped else sa.literal(0).label("early"))
        big = sa.literal(1.7976931348623157e308)  # the largest float: NULL, ±inf, NaN and text fail the test
        # typed as numbers for the arithmetic (a TEXT column too: its text fails the status test first)
        p = sa.type_coerce(self._col("prediction"), sa.Float)
        y = sa.type_coerce(self._col("outcome") if "outcome" in mapped else sa.null(), sa.Float)
        status = sa.case((sa.and_(p >= -big, p <= big),
                          sa.case((y.is_(None), 0), (sa.and_(y >= -big, y <= big), 1), else_=2)), else_=2)
        rows = sa.select(*keys, status.label("status"), p.label("p"), y.label("y")) \
            .where(self._window_filter(model, window)).subquery()
        ok = rows.c.status == 1
        e, yv = sa.case((ok, rows.c.p - rows.c.y)), sa.case((ok, rows.c.y))
        cells = sa.select(*[rows.c[k.name] for k in keys], rows.c.status,
                          sa.case((ok, self._bin(sa.func.abs(rows.c.p - rows.c.y), error_width)), else_=0)
                          .label("error_bin"),
                          sa.case((ok, self._bin(rows.c.y, outcome_width)), else_=0).label("outcome_bin"),
                          e.label("e"), yv.label("yv")).subquery()
        c = cells.c
        a, nonzero = sa.func.abs(c.e), c.yv != 0
        sums = [sa.func.count(), sa.func.sum(c.e), sa.func.sum(a), sa.func.sum(c.e * c.e), sa.func.sum(c.yv),
                sa.func.sum(c.yv * c.yv), sa.func.sum(sa.case((nonzero, a / sa.func.abs(c.yv)))),
                sa.func.sum(sa.case((nonzero, 1), else_=0)), sa.func.min(a), sa.func.max(a), sa.func.min(c.yv),
                sa.func.max(c.yv)]
        group = [c[k.name] for k in keys] + [c.status, c.error_bin, c.outcome_bin]
        stmt = sa.select(*group, *[x.label(name) for x, name in zip(sums, RESIDUAL_SUMS)]).group_by(*group)
        got = self._all(stmt, f"counting residual cells of {model!r}")
        return residual_cells_of_counts(pd.DataFrame(got, columns=[g.name for g in group] + list(RESIDUAL_SUMS)))

    def feature_values(self, model: str, window: Window, feature: str, chunk: int = 200_000):
        """One numeric feature as a float array (NaN = missing). PostgreSQL: one float8[] of the
        column viewed by numpy straight from its bytes (store_postgres); others: streamed in chunks."""
        import numpy as np

        if not self.can_aggregate:
            return self.read_feature(model, window, feature).to_numpy(dtype=float, na_value=np.nan)
        if (got := self._cached_values(model, window, feature)) is not None:
            return got
        return self._column_values(model, window, feature, chunk)

    def _column_values(self, model: str, window: Window, feature: str, chunk: int = 200_000):
        """The feature's values read from the database, streamed in chunks of `chunk` rows."""
        import numpy as np

        col = self._feature_col(feature, numeric=True)
        stmt = sa.select(col).where(self._window_filter(model, window))
        parts = []
        try:
            with self._connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=chunk).execute(stmt)
                for rows in result.partitions(chunk):
                    parts.append(np.array([np.nan if r[0] is None else r[0] for r in rows], dtype=float))
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(f"reading {feature!r}", exc) from exc
        return np.concatenate(parts) if parts else np.array([], dtype=float)

    @timed_call("prediction DB: count")
    def count(self, model: str, window: Window) -> int:
        """Number of predictions of `model` in `window`, counted in the database."""
        stmt = sa.select(sa.func.count()).select_from(self.table()).where(self._window_filter(model, window))
        return int(self._all(stmt, f"counting predictions of {model!r}")[0][0])

    @timed_call("prediction DB: sample")
    def sample(self, model: str, window: Window, core: Iterable[str], limit: int = 5000) -> pd.DataFrame:
        """Up to `limit` rows of `model` in `window` (whichever the database returns first): the
        standard columns in `core` that are mapped, as read_sql types them. For checks that need a
        look at the values, not every row (`workbench check`)."""
        keys = [k for k in core if getattr(self.params.columns, k, None) is not None]
        stmt = (sa.select(*[self._col(k).label(STANDARD[k]) for k in keys])
                .where(self._window_filter(model, window)).limit(int(limit)))
        try:
            with self._connect() as conn:
                df = pd.read_sql(stmt, conn)
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(f"sampling {model!r}", exc) from exc
        for c in TIME_COLUMNS:
            if c in df:
                df[c] = _utc_series(df[c])
        return df

    @timed_call("prediction DB: repeated ids")
    def repeated_ids(self, model: str, window: Window) -> int:
        """Rows of `model` in `window` whose prediction id another row of the window also has (beyond
        the first), counted in the database. PostgreSQL counts distinct 64-bit hashes (_id_key) of the ids
        (hashtextextended): 0.7 s instead of 3 s for a million text ids sorted by collation; a
        collision (odds ~3e-8 at a million ids) can only overcount, and the review counts the
        repeats it reports itself, from the ids it then reads."""
        idc = self._col("id")
        key = self._id_key(idc)
        stmt = sa.select(sa.func.count(idc) - sa.func.count(sa.distinct(key))).where(self._window_filter(model, window))
        return int(self._all(stmt, f"counting repeated prediction ids of {model!r}")[0][0])

    @timed_call("prediction DB: newest")
    def newest(self, model: str) -> pd.Timestamp | None:
        """Timestamp of the newest prediction of `model` (data freshness)."""
        stmt = sa.select(sa.func.max(self._col("timestamp"))).where(self._is_model(model))
        v = self._all(stmt, f"finding the newest prediction of {model!r}")[0][0]
        return None if v is None else _utc_series(pd.Series([v])).iloc[0]

    def models(self) -> list[str]:
        if (const := self.params.columns.constant("model")) is not None:
            return [const]
        stmt = sa.select(self._col("model")).distinct()
        return sorted(r[0] for r in self._all(stmt, "listing models"))

    @timed_call("prediction DB: versions")
    def versions(self, model: str, window: Window) -> list[str]:
        """Model versions that served predictions in the window."""
        stmt = sa.select(self._col("version")).where(self._window_filter(model, window)).distinct()
        return sorted(r[0] for r in self._all(stmt, f"listing versions of {model!r}") if r[0] is not None)

    def labelled_sample(self, model: str, window: Window, features: list[str], limit: int) -> pd.DataFrame:
        from workbench.sources.segment_counts import sql_sample

        return sql_sample(self, model, window, features, limit)

    def segment_cells(self, model: str, window: Window, reference: Window | None, features: dict[str, list | None],
                      kind: str, error_edges: list[float] | None = None) -> list[tuple]:
        from workbench.sources.segment_counts import sql_cells

        return sql_cells(self, model, window, reference, features, kind, error_edges)


def PredictionStore(url: str, params: StoreParams | None = None, timeouts: TimeoutParams | None = None,
                    **options) -> SqlStore:
    """The prediction store of `url`, of the backend its scheme names (registry.open_store; kept
    under this name for the callers that open a store with it)."""
    from workbench.sources.registry import open_store

    return open_store(url, params, timeouts, **options)
