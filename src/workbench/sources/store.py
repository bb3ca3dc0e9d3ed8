"""The prediction DB through SQLAlchemy Core: read-only, bound parameters, mapped columns.

Every team's prediction log looks different, so table, schema, column names and the feature
layout come from params (`store:` in weekly.yaml). Rows come back with workbench's standard
column names (prediction_id, model_name, model_version, variant, timestamp, prediction,
probability, actual_outcome, outcome_timestamp) and timestamps as UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workbench.config import StoreParams, TimeoutParams, Window, redact
from workbench.errors import ConfigError, SourceUnavailable
from workbench.timing import timed_call

STANDARD = {
    "id": "prediction_id", "model": "model_name", "version": "model_version", "variant": "variant",
    "timestamp": "timestamp", "prediction": "prediction", "probability": "probability",
    "outcome": "actual_outcome", "outcome_timestamp": "outcome_timestamp",
}
TIME_COLUMNS = ("timestamp", "outcome_timestamp")


def read_only_engine(url: str, timeouts: TimeoutParams | None = None) -> sa.Engine:
    """An engine that cannot write and cannot hang: SQLite opened mode=ro with a busy timeout,
    PostgreSQL with read-only transactions, statement_timeout and lock_timeout on every session."""
    t = timeouts or TimeoutParams()
    stmt_ms, lock_ms = int(t.seconds("database_statement") * 1000), int(t.seconds("database_lock") * 1000)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = u.database or ""
        if not path or path == ":memory:":
            raise ConfigError("the prediction DB URL names no SQLite file")
        return sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true",
                                connect_args={"timeout": t.seconds("database_lock")})
    if u.get_backend_name() == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        options = (f"-c default_transaction_read_only=on -c timezone=UTC -c statement_timeout={stmt_ms} "
                   f"-c lock_timeout={lock_ms}")
        return sa.create_engine(u, connect_args={"options": options,
                                                 "connect_timeout": max(1, int(t.seconds("database_connect")))},
                                pool_pre_ping=True)
    return sa.create_engine(u, pool_pre_ping=True)


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
    out = pd.to_datetime(s, utc=True, format="mixed") if s.dtype == object else pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is None:
        out = out.dt.tz_localize("UTC")
    return out.dt.tz_convert("UTC")


@dataclass
class PredictionStore:
    """Reads one model's predictions from the prediction log."""

    url: str = field(repr=False)
    params: StoreParams = field(default_factory=StoreParams)
    timeouts: TimeoutParams = field(default_factory=TimeoutParams)

    def __post_init__(self) -> None:
        self.engine = read_only_engine(self.url, self.timeouts)
        self._table: sa.Table | None = None
        # the last few frames read: a later read of a sub-window / subset of columns is sliced from
        # them instead of queried again (a review reads the same rows for several sections)
        self._recent: list[tuple[str, Window, frozenset, frozenset, pd.DataFrame]] = []

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

    def _where(self) -> str:
        return f"prediction DB at {self.display_url}"

    def table(self) -> sa.Table:
        """The reflected table, after checking every mapped column exists."""
        if self._table is not None:
            return self._table
        try:
            t = sa.Table(self.params.table, sa.MetaData(), schema=self.params.schema_, autoload_with=self.engine)
        except sa.exc.NoSuchTableError:
            raise ConfigError(f"store.table: table {self.params.table!r} not found in the {self._where()}") from None
        except sa.exc.SQLAlchemyError as exc:
            raise self._error("reading the table's columns", exc) from exc
        real = list(t.c.keys())
        mapping = self.params.columns.model_dump()
        missing = [f"store.columns.{k}={v!r}" for k, v in mapping.items() if v is not None and v not in real]
        fl = self.params.features
        if fl.layout == "json" and (not fl.json_column or fl.json_column not in real):
            missing.append(f"store.features.json_column={fl.json_column!r}")
        if missing:
            raise ConfigError(f"{', '.join(missing)} not in table {self.params.table!r}; "
                              f"its columns are: {', '.join(real)}")
        self._table = t
        return t

    def _col(self, key: str) -> sa.Column:
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
        mapped = {v for v in self.params.columns.model_dump().values() if v}
        return [c for c in t.c.keys() if c not in mapped]

    def _error(self, what: str, exc: BaseException) -> SourceUnavailable:
        """A database error naming the DB (redacted), what was asked, and the driver's own message."""
        return SourceUnavailable(redact(f"{self._where()}: {what} failed: {describe_error(exc, self.timeouts)}"))

    def _connect(self):
        try:
            return self.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            text = describe_error(exc, self.timeouts)
            if "locked" in text or "corrupt" in text:
                raise SourceUnavailable(redact(f"{self._where()}: {text}")) from exc
            raise SourceUnavailable(redact(f"{self._where()} is unreachable: {text}")) from exc

    def _all(self, stmt, what: str) -> list:
        """Run one query; a database error becomes SourceUnavailable naming what was asked."""
        try:
            with self._connect() as conn:
                return conn.execute(stmt).all()
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(f"{what}", exc) from exc

    def _window_filter(self, model: str, window: Window):
        ts = self._col("timestamp")
        start, end = window.start, window.end
        if self.engine.dialect.name == "sqlite":  # stored as naive UTC text
            start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
        return sa.and_(self._col("model") == model, ts >= start, ts < end)

    @timed_call("prediction DB: read rows")
    def read(self, model: str, window: Window, features: Iterable[str] = (), core: Iterable[str] | None = None
             ) -> pd.DataFrame:
        """Predictions of `model` in `window`: the standard columns in `core` (default all mapped)
        plus the named feature columns."""
        mapping = {k: v for k, v in self.params.columns.model_dump().items() if v is not None}
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
        try:
            with self._connect() as conn:
                df = pd.read_sql(stmt, conn)
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(f"reading {model!r}", exc) from exc
        if json_layout and features and not sql_json:
            parsed = pd.json_normalize([json.loads(x) if isinstance(x, str) else (x or {}) for x in df.pop("__features")])
            for f in features:
                df[f] = parsed[f] if f in parsed else None
        for c in TIME_COLUMNS:
            if c in df:
                df[c] = _utc_series(df[c])
        self._recent = [(model, window, frozenset(keys), frozenset(features), df), *self._recent][:3]
        return df.copy()

    @timed_call("prediction DB: read feature")
    def read_feature(self, model: str, window: Window, feature: str) -> pd.Series:
        """One feature column for the window (reads one column at a time, never the wide frame)."""
        return self.read(model, window, features=[feature], core=[])[feature]

    # --- aggregation pushed into the database (one feature at a time) --------------------

    @property
    def can_aggregate(self) -> bool:
        """Counts can be computed in SQL: feature columns, or JSON keys extracted in SQL
        (PostgreSQL `->>`, SQLite `json_extract`)."""
        return self.params.features.layout == "columns" or self.engine.dialect.name in ("postgresql", "sqlite")

    def _feature_col(self, feature: str, numeric: bool = False):
        """The SQL expression of one feature: its column, or its key of the JSON column extracted in
        the database (only this key; the JSON is never parsed in Python). `numeric` casts JSON text
        to a float on PostgreSQL (SQLite's json_extract already returns numbers)."""
        t = self.table()
        if self.params.features.layout == "json":
            doc = t.c[self.params.features.json_column]
            if self.engine.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import JSONB

                expr = sa.cast(doc, JSONB).op("->>")(sa.literal(feature, sa.Text))
                return sa.cast(expr, sa.Float) if numeric else expr
            path = '$."' + feature.replace('"', '""') + '"'
            return sa.func.json_extract(doc, sa.literal(path, sa.Text))
        if feature not in t.c:
            raise ConfigError(f"feature {feature!r} not in table {self.params.table!r}; "
                              f"features there: {', '.join(self.feature_columns())}")
        return t.c[feature]

    @timed_call("prediction DB: category counts")
    def category_counts(self, model: str, window: Window, feature: str) -> tuple[dict[object, int], int]:
        """Counts per raw value of `feature` in the window (GROUP BY in the database), and the missing
        count. Values come back as the database holds them (1, 1.0 or "1"): callers canonicalise
        (profile.canonical_counts)."""
        col = self._feature_col(feature).label("v")
        stmt = (sa.select(col, sa.func.count()).where(self._window_filter(model, window)).group_by(col))
        rows = self._all(stmt, f"counting categories of {feature!r}")
        counts: dict[object, int] = {}
        missing = 0
        for value, n in rows:
            if value is None:
                missing += int(n)
            else:
                counts[value] = counts.get(value, 0) + int(n)
        return dict(sorted(counts.items(), key=lambda kv: -kv[1])), missing

    def _bucket(self, col, edges):
        """CASE: -2 missing (NULL or NaN), -1 ±inf, else the bin i of [edge_i-1, edge_i) (0: below the first)."""
        nan, inf = float("nan"), float("inf")
        whens = [(sa.or_(col.is_(None), col == sa.bindparam("nan", nan, type_=sa.Float)), -2),
                 (sa.or_(col == sa.bindparam("inf", inf, type_=sa.Float),
                         col == sa.bindparam("ninf", -inf, type_=sa.Float)), -1)]
        whens += [(col < sa.bindparam(f"e{i}", float(e), type_=sa.Float), i) for i, e in enumerate(edges)]
        return sa.case(*whens, else_=len(edges))

    @staticmethod
    def _fold(rows, n_bins: int):
        import numpy as np

        counts = np.zeros(n_bins, dtype=np.int64)
        missing = nonfinite = 0
        for b, n in rows:
            b = int(b)
            if b == -2:
                missing += int(n)
            elif b == -1:
                nonfinite += int(n)
            else:
                counts[b] += int(n)
        return counts, missing, nonfinite

    @timed_call("prediction DB: bin counts")
    def bin_counts(self, model: str, window: Window, feature: str, edges) -> dict[str, object]:
        """Counts of `feature` over bins [edge_i, edge_i+1) computed in the database, plus missing
        (NULL, or NaN where the database stores it) and non-finite (±inf) counts."""
        bucket = self._bucket(self._feature_col(feature, numeric=True), edges).label("bucket")
        stmt = sa.select(bucket, sa.func.count()).where(self._window_filter(model, window)).group_by(bucket)
        counts, missing, nonfinite = self._fold(self._all(stmt, f"counting bins of {feature!r}"), len(edges) + 1)
        return {"counts": counts, "missing": missing, "nonfinite": nonfinite}

    def _day(self):
        ts = self._col("timestamp")
        if self.engine.dialect.name == "sqlite":
            return sa.func.substr(ts, 1, 10)  # naive UTC text: 'YYYY-MM-DD'
        return sa.func.date_trunc("day", ts)  # sessions run with timezone=UTC

    def daily_counts(self, model: str, window: Window, feature: str, edges=None):
        """Per day (UTC) of the window: category counts (edges None) or counts over the bins of `edges`,
        with missing and non-finite counts, in one GROUP BY day, value query. Yields
        (day, counts, missing, nonfinite); counts is {raw value: n} or an array of len(edges) + 1."""
        day = self._day().label("day")
        if edges is None:
            val = self._feature_col(feature).label("v")
        else:
            val = self._bucket(self._feature_col(feature, numeric=True), edges).label("v")
        stmt = (sa.select(day, val, sa.func.count()).where(self._window_filter(model, window))
                .group_by(day, val).order_by(day))
        rows = self._all(stmt, f"counting {feature!r} per day")
        by_day: dict[object, list] = {}
        for d, v, n in rows:
            by_day.setdefault(d, []).append((v, n))
        for d, items in by_day.items():
            stamp = pd.Timestamp(str(d)[:10], tz="UTC")
            if edges is None:
                missing = sum(int(n) for v, n in items if v is None)
                yield stamp, {v: int(n) for v, n in items if v is not None}, missing, 0
            else:
                counts, missing, nonfinite = self._fold(items, len(edges) + 1)
                yield stamp, counts, missing, nonfinite

    def feature_values(self, model: str, window: Window, feature: str, chunk: int = 200_000):
        """One numeric feature as a float array (NaN = missing). PostgreSQL: a binary COPY of the one
        column parsed by numpy straight from the bytes; others: streamed in chunks."""
        import numpy as np

        if not self.can_aggregate:
            return self.read_feature(model, window, feature).to_numpy(dtype=float, na_value=np.nan)
        col = self._feature_col(feature, numeric=True)
        if self.engine.dialect.name == "postgresql":
            return self._copy_floats(sa.select(col).where(self._window_filter(model, window)), feature)
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

    def _copy_floats(self, stmt, feature: str):
        """COPY (SELECT coalesce(x::float8, 'NaN')) TO STDOUT (FORMAT BINARY), parsed with numpy.

        With NULLs turned into NaN every row is the same 14 bytes (int16 field count, int32 length,
        big-endian float8), so the whole stream is one structured numpy array: no Python per row."""
        import numpy as np
        import psycopg

        expr = list(stmt.selected_columns)[0]
        inner = stmt.with_only_columns(sa.func.coalesce(sa.cast(expr, sa.Float), sa.literal_column("'NaN'::float8")))
        compiled = inner.compile(dialect=self.engine.dialect)
        buf = bytearray()
        try:
            with self._connect() as conn:
                raw = conn.connection.driver_connection
                sql = psycopg.ClientCursor(raw).mogrify(str(compiled), compiled.params)
                with raw.cursor() as cur:
                    with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)") as copy:
                        for data in copy:
                            buf += data
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            raise self._error(f"reading {feature!r}", exc) from exc
        header = 11 + 4
        ext = int.from_bytes(buf[header:header + 4], "big")
        start, end = header + 4 + ext, len(buf) - 2  # trailer: int16 -1
        rows = np.frombuffer(buf, dtype=np.dtype([("n", ">i2"), ("len", ">i4"), ("v", ">f8")]),
                             offset=start, count=(end - start) // 14)
        return rows["v"].astype(np.float64)

    @timed_call("prediction DB: count")
    def count(self, model: str, window: Window) -> int:
        """Number of predictions of `model` in `window`, counted in the database."""
        stmt = sa.select(sa.func.count()).select_from(self.table()).where(self._window_filter(model, window))
        return int(self._all(stmt, f"counting predictions of {model!r}")[0][0])

    @timed_call("prediction DB: newest")
    def newest(self, model: str) -> pd.Timestamp | None:
        """Timestamp of the newest prediction of `model` (data freshness)."""
        stmt = sa.select(sa.func.max(self._col("timestamp"))).where(self._col("model") == model)
        v = self._all(stmt, f"finding the newest prediction of {model!r}")[0][0]
        return None if v is None else _utc_series(pd.Series([v])).iloc[0]

    def models(self) -> list[str]:
        stmt = sa.select(self._col("model")).distinct()
        return sorted(r[0] for r in self._all(stmt, "listing models"))

    @timed_call("prediction DB: versions")
    def versions(self, model: str, window: Window) -> list[str]:
        """Model versions that served predictions in the window."""
        stmt = sa.select(self._col("version")).where(self._window_filter(model, window)).distinct()
        return sorted(r[0] for r in self._all(stmt, f"listing versions of {model!r}") if r[0] is not None)
