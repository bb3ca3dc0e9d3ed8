"""SQLite specifics of the prediction store: a read-only file engine, text timestamps, JSON keys by
json_extract, rows straight from sqlite3's cursor, and a span of feature columns read once and
counted in numpy (preload)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workbench.config import TimeoutParams, Window
from workbench.errors import ConfigError
from workbench.sources.base import buckets
from workbench.sources.store import TIME_COLUMNS, SqlStore
from workbench.timing import timed_call

PRELOAD_MAX_CELLS = 12_000_000  # rows x columns a preloaded span may hold (~100 MB of floats)



@dataclass
class Span:
    """Feature columns of one model over a span, as SQLite returned them, with each row's timestamp
    text. Windows are cut by comparing that text with the same bounds SqliteStore._time_bound gives the query,
    so a window holds exactly the rows its query would; values keep the database's own types
    (categories are grouped as SQLite's GROUP BY groups them: 1 and 1.0 together, "1" apart)."""

    model: str
    window: Window
    ts: "np.ndarray"  # bytes 'YYYY-MM-DD HH:MM:SS[.ffffff]'
    columns: dict[str, "np.ndarray"]  # object arrays: int / float / str / None
    _floats: dict[str, "np.ndarray | None"] = field(default_factory=dict)
    _codes: dict[str, tuple] = field(default_factory=dict)
    _days: tuple | None = None

    @classmethod
    def build(cls, model: str, window: Window, features: list[str], rows: list) -> "Span | None":
        import numpy as np

        grid = np.empty((len(rows), len(features) + 1), dtype=object)
        if rows:
            grid[:] = rows  # one C-level copy of the tuples, cheaper than zip(*rows)
        try:
            if not all(map(str.isascii, grid[:, 0])):
                return None
        except TypeError:
            return None  # timestamps not stored as text: leave it to SQL
        ts = grid[:, 0].astype("S") if rows else np.array([], dtype="S1")
        return cls(model, window, ts, {f: grid[:, j + 1] for j, f in enumerate(features)})

    def covers(self, window: Window) -> bool:
        return self.window.start <= window.start and window.end <= self.window.end

    def _mask(self, window: Window):
        lo, hi = (t.replace(tzinfo=None).isoformat(sep=" ").encode() for t in (window.start, window.end))
        return (self.ts >= lo) & (self.ts < hi)

    def numeric(self, feature: str) -> bool:
        """The column holds only numbers and NULLs (else SQL's own comparison rules apply: no preload)."""
        return self._float(feature) is not None

    def _float(self, feature: str):
        import numpy as np

        if feature not in self._floats:
            col = self.columns[feature]
            ok = set(map(type, col)) <= {int, float, type(None)}
            self._floats[feature] = np.array(col, dtype=float) if ok else None  # None -> NaN
        return self._floats[feature]

    def _factorized(self, feature: str) -> tuple:
        """(codes, uniques) of the column; code -1 for NULL. Equal numbers share a code (1 == 1.0),
        as they share a group in SQLite."""
        if feature not in self._codes:
            codes, uniques = pd.factorize(self.columns[feature], use_na_sentinel=True)
            self._codes[feature] = (codes, list(uniques) + [None])  # code -1 -> the last: None
        return self._codes[feature]

    def _day_index(self) -> tuple:
        import numpy as np

        if self._days is None:
            self._days = np.unique(self.ts.astype("S10"), return_inverse=True)
        return self._days

    def category_rows(self, window: Window, feature: str) -> list[tuple]:
        import numpy as np

        codes, uniques = self._factorized(feature)
        # NULL's code -1 counted in the last slot (None): bincount itself refuses negative codes
        n = np.bincount(codes[self._mask(window)] % len(uniques), minlength=len(uniques))
        return [(uniques[i], int(n[i])) for i in np.flatnonzero(n)]

    def bin_rows(self, window: Window, feature: str, edges) -> list[tuple]:
        import numpy as np

        b, n = np.unique(buckets(self._float(feature)[self._mask(window)], edges), return_counts=True)
        return list(zip(b.tolist(), n.tolist()))

    def daily_rows(self, window: Window, feature: str, edges) -> list[tuple]:
        import numpy as np

        m = self._mask(window)
        day_values, day_idx = self._day_index()
        day_idx = day_idx[m]
        if edges is None:
            codes, uniques = self._factorized(feature)
            b, width = codes[m] % len(uniques), len(uniques)  # NULL (-1) -> the last slot
        else:
            b, width = buckets(self._float(feature)[m], edges) + 2, len(edges) + 3  # 0 missing, 1 ±inf
        counts = np.bincount(day_idx * width + b, minlength=len(day_values) * width).reshape(-1, width)
        di, bi = np.nonzero(counts)
        if edges is None:
            return [(day_values[d].decode(), uniques[k], int(counts[d, k])) for d, k in zip(di.tolist(), bi.tolist())]
        return [(day_values[d].decode(), k - 2, int(counts[d, k])) for d, k in zip(di.tolist(), bi.tolist())]

    def values(self, window: Window, feature: str):
        return self._float(feature)[self._mask(window)]



@dataclass
class SqliteStore(SqlStore):
    """The prediction log in an SQLite file (opened read-only)."""

    JSON_IN_SQL = True

    def __post_init__(self) -> None:
        super().__post_init__()
        # a span of feature columns read once (preload), sliced and counted in numpy
        self._span: Span | None = None

    @classmethod
    def read_only_engine(cls, url: str, timeouts: TimeoutParams) -> sa.Engine:
        """The file opened mode=ro (it cannot be written) with a busy timeout."""
        path = make_url(url).database or ""
        if not path or path == ":memory:":
            raise ConfigError("the prediction DB URL names no SQLite file")
        return sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true",
                                connect_args={"timeout": timeouts.seconds("database_lock")})

    def _time_bound(self, t):
        # stored as naive UTC text, with or without fractional seconds ("…00:00:00" sorts before the
        # bound SQLAlchemy renders, "…00:00:00.000000"): compare against the shortest text of each
        # bound so a row exactly on a bound lands in the right window whichever way it was written
        return sa.literal(t.replace(tzinfo=None).isoformat(sep=" "), sa.String)

    def _day(self):
        return sa.func.substr(self._col("timestamp"), 1, 10)  # naive UTC text: 'YYYY-MM-DD'

    def _floor(self, x):
        return sa.cast(x, sa.Integer)  # truncates: floor of x >= 0 (floor() needs SQLite's math functions)

    def _hour(self):
        return sa.func.substr(self._col("timestamp"), 1, 13).concat(":00:00")  # 'YYYY-MM-DD HH' + ':00:00'

    def _json_key(self, doc, feature: str, numeric: bool):
        # json_extract returns JSON numbers as numbers: no cast needed
        path = '$."' + feature.replace('"', '""') + '"'
        return sa.func.json_extract(doc, sa.literal(path, sa.Text))

    def _fast_frame(self, model: str, window: Window, cols: list, stmt) -> pd.DataFrame | None:
        try:
            with self._connect() as conn:
                return self._sqlite_frame(conn, stmt)
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(f"reading {model!r}", exc) from exc

    @staticmethod
    def _sqlite_frame(conn, stmt) -> pd.DataFrame | None:
        """SQLite: the rows of `stmt` from sqlite3's cursor straight into a frame, as read_sql gives
        them, without SQLAlchemy's per-row Row objects (1.5 s -> 0.5 s for 230k rows of the demo's
        performance review). Only when no selected column has a result type conversion other than
        the prediction and outcome times, which `read` parses itself (as ISO text); else None."""
        for c in stmt.selected_columns:
            if c.name not in TIME_COLUMNS and c.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None):
                return None
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.construct_params()
        # through SQLAlchemy (its events and errors), rows from the DBAPI cursor
        cur = conn.exec_driver_sql(str(compiled), tuple(params[k] for k in compiled.positiontup)).cursor
        names = [d[0] for d in cur.description]
        return pd.DataFrame.from_records(cur.fetchall(), columns=names, coerce_float=True)


    @timed_call("prediction DB: read span once")
    def preload(self, model: str, span: Window, features: Iterable[str], max_cells: int | None = None) -> bool:
        """Read `features` of `model` over `span` in ONE query and answer the later
        category / bin / daily counts and numeric reads of any window inside the span from memory.
        A drift review asks for the same columns over the week, the week before and four weeks of
        days; on SQLite each of those is a scan (numeric bins a CASE of up to 100 branches per row),
        and reading the span once costs about one of them (PostgreSQL instead counts in one GROUPING SETS
        scan, prefetch_counts). Skipped (False) when rows x columns > `max_cells` (PRELOAD_MAX_CELLS)."""
        features = list(dict.fromkeys(features))
        if not self.can_aggregate or not features:
            return False
        sp = self._span
        if sp is not None and sp.model == model and sp.covers(span) and set(features) <= set(sp.columns):
            return True
        n = self.count(model, span)
        if n * (len(features) + 1) > (PRELOAD_MAX_CELLS if max_cells is None else max_cells):
            return False
        cols = [self._col("timestamp")] + [self._feature_col(f) for f in features]
        stmt = sa.select(*cols).where(self._window_filter(model, span))
        try:
            with self._connect() as conn:  # the driver's cursor: plain tuples, no Row per row
                compiled = stmt.compile(dialect=self.engine.dialect)
                bound = compiled.construct_params()
                cur = conn.connection.driver_connection.cursor()
                try:
                    rows = cur.execute(str(compiled), [bound[k] for k in compiled.positiontup]).fetchall()
                finally:
                    cur.close()
        except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
            raise self._error(f"reading {len(features)} feature columns of {model!r}", exc) from exc
        self._span = Span.build(model, span, features, rows)
        return self._span is not None

    def _from_span(self, model: str, window: Window, feature: str):
        sp = self._span
        if sp is not None and sp.model == model and sp.covers(window) and feature in sp.columns:
            return sp
        return None


    def _cached_rows(self, kind: str, model: str, window: Window, feature: str, edges) -> list | None:
        sp = self._from_span(model, window, feature)
        if sp is None:
            return None
        if kind == "categories":
            return sp.category_rows(window, feature)
        if kind == "bins":
            return sp.bin_rows(window, feature, edges) if sp.numeric(feature) else None
        return sp.daily_rows(window, feature, edges) if edges is None or sp.numeric(feature) else None

    def _cached_column(self, model: str, window: Window, feature: str) -> pd.Series | None:
        if (sp := self._from_span(model, window, feature)) is not None:
            return pd.Series(sp.columns[feature][sp._mask(window)], name=feature).infer_objects()
        return None

    def _cached_values(self, model: str, window: Window, feature: str):
        if (sp := self._from_span(model, window, feature)) is not None and sp.numeric(feature):
            return sp.values(window, feature)
        return None
