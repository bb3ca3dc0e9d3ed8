"""PostgreSQL specifics of the prediction store: read-only sessions with timeouts, JSON keys by
`->>`, whole columns sent as one binary array, many features counted in one GROUPING SETS scan
(with finished days kept between runs, daily_cache.py), and width_bucket bins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workbench.config import TimeoutParams, Window, redact
from workbench.sources.daily_cache import DailyCache
from workbench.sources.memory import BIG_BLOCK
from workbench.sources.store import SqlStore, side_by_side, split_days
from workbench.timing import timed_call

# one element of a 1-D array in PostgreSQL's binary send format: its length (int4), then the value
_FLOAT_ELEMENT = [("len", ">i4"), ("v", ">f8")]
_TIME_ELEMENT = [("len", ">i4"), ("v", ">i8")]  # timestamp[tz]: microseconds since 2000-01-01 00:00
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01


def _float_array(sent: bytes):
    """A float8[] in PostgreSQL's binary send format (after `array_send`) as a float64 array."""
    import numpy as np

    return np.frombuffer(sent, dtype=_FLOAT_ELEMENT, offset=20)["v"].astype(np.float64)


def _epoch_microseconds(pg_us):
    """PostgreSQL's binary timestamps (int8 microseconds since 2000-01-01; ±infinity at the int8
    limits, which is also how a NULL is sent here) as float64 microseconds since 1970, NaN for those."""
    import numpy as np

    us = pg_us.astype(np.int64)
    missing = (us == np.iinfo(np.int64).min) | (us == np.iinfo(np.int64).max)
    out = (us + _PG_EPOCH_US).astype(np.float64)  # exact: whole microseconds below 2**53 (year 2255)
    out[missing] = np.nan
    return out


def _text_column(joined: str, null: str):
    """A text column sent as one string_agg (separator \\x1e; backslash and separator escaped as
    "\\\\" and "\\r"; NULL as `null`) as an object array of str and None, as read_sql gives it. Each
    distinct text is one object (a version repeats millions of times): the rows are factorised, and
    only the distinct values are unescaped."""
    import re

    import numpy as np

    codes, uniques = pd.factorize(np.array(joined.split("\x1e"), dtype=object))
    unescape = re.compile(r"\\(.)", re.DOTALL)  # one pass: "\\\\" is a backslash, "\\r" the separator
    values = np.array([None if v == null else unescape.sub(lambda m: "\x1e" if m.group(1) == "r" else m.group(1), v)
                       if "\\" in v else v for v in uniques], dtype=object)
    return values[codes] if len(values) else np.array([], dtype=object)



@dataclass
class PostgresStore(SqlStore):
    """The prediction log in a PostgreSQL table (read-only transactions, statement and lock timeouts)."""

    JSON_IN_SQL = True
    JSON_KEYS_AS_TEXT = True  # ->> returns text

    def __post_init__(self) -> None:
        super().__post_init__()
        # counts fetched for many features in one query (prefetch): served to the per-feature calls
        self._counts: dict[tuple, list] = {}
        # numeric features of a window read together (prefetch_values), each handed out once
        self._together: dict[tuple, "np.ndarray"] = {}

    @classmethod
    def read_only_engine(cls, url: str, timeouts: TimeoutParams) -> sa.Engine:
        """Read-only transactions, UTC, statement_timeout and lock_timeout on every session."""
        t = timeouts
        stmt_ms, lock_ms = int(t.seconds("database_statement") * 1000), int(t.seconds("database_lock") * 1000)
        u = make_url(url)
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        options = (f"-c default_transaction_read_only=on -c timezone=UTC -c statement_timeout={stmt_ms} "
                   f"-c lock_timeout={lock_ms}")
        return sa.create_engine(u, connect_args={"options": options,
                                                 "connect_timeout": max(1, int(t.seconds("database_connect")))},
                                pool_pre_ping=True)

    @property
    def keeps_daily_counts(self) -> bool:
        return self.daily_cache is not None

    def _day(self):
        return sa.func.date_trunc("day", self._col("timestamp"))  # sessions run with timezone=UTC

    def _hour(self):
        return sa.func.date_trunc("hour", self._col("timestamp"))

    def _json_key(self, doc, feature: str, numeric: bool):
        from sqlalchemy.dialects.postgresql import JSONB

        expr = sa.cast(doc, JSONB).op("->>", return_type=sa.Text)(sa.literal(feature, sa.Text))
        return sa.cast(expr, sa.Float) if numeric else expr

    def _id_key(self, idc):
        return sa.func.hashtextextended(sa.cast(idc, sa.Text), 0)

    def _tune(self, conn, work_mem_mb: int) -> None:
        conn.execute(sa.text(f"SET LOCAL work_mem = '{int(work_mem_mb)}MB'"))

    def _fast_frame(self, model: str, window: Window, cols: list, stmt) -> pd.DataFrame | None:
        """Days split over scan_workers connections, in day order (see _array_columns)."""
        parts = side_by_side(lambda w: self._array_columns(sa.select(*cols).where(self._window_filter(model, w))),
                             split_days(window, self.scan_workers))
        if all(p is not None for p in parts) and all(p[1] == parts[0][1] for p in parts):
            return self._frame_of([p[0] for p in parts], parts[0][1])
        return None

    def _cached_rows(self, kind: str, model: str, window: Window, feature: str, edges) -> list | None:
        return self._counts.get(self._count_key(model, window, feature, edges, kind == "daily"))

    def _cached_values(self, model: str, window: Window, feature: str):
        return self._together.pop((model, window.start, window.end, feature), None)

    @staticmethod
    def _count_key(model: str, window: Window, feature: str, edges, by_day: bool) -> tuple:
        e = None if edges is None else tuple(float(x) for x in edges)
        return (model, window.start, window.end, feature, e, by_day)


    @timed_call("prediction DB: counts of many features")
    def prefetch_counts(self, model: str, window: Window, requests: Iterable[tuple[str, object]],
                        by_day: bool = False) -> int:
        """Count several features in ONE scan of the window (PostgreSQL GROUPING SETS): `requests` are
        (feature, edges) pairs, edges None for category counts, else bin edges as in bin_counts; with
        `by_day` per UTC day as daily_counts. The per-feature calls are then served from these counts
        instead of scanning the table (and parsing its JSON) once per feature and bin set. Returns how many requests were fetched."""
        requests = list(requests)
        if not by_day and self.daily_cache is not None:
            # counted per day, so finished days are kept and the next run's week over week (this
            # week's window, a week later) reads them instead of scanning; the days add up to the window
            fetched = self.prefetch_counts(model, window, requests, by_day=True)
            for feature, edges in requests:
                daily = self._counts.get(self._count_key(model, window, feature, edges, True))
                if daily is not None:
                    self._counts[self._count_key(model, window, feature, edges, False)] = [(v, n) for _, v, n in daily]
            return fetched
        reqs, seen = [], set()
        for feature, edges in requests:
            key = self._count_key(model, window, feature, edges, by_day)
            if key not in seen and key not in self._counts:
                seen.add(key)
                reqs.append((feature, edges, key))
        if not self.can_aggregate or len(reqs) < 2:
            return 0
        values: dict[tuple[str, bool], str] = {}
        inner_cols = [self._day().label("day")] if by_day else []
        for feature, edges, _ in reqs:
            if (feature, edges is not None) not in values:
                label = f"v{len(values)}"
                values[(feature, edges is not None)] = label
                inner_cols.append(self._feature_col(feature, numeric=edges is not None).label(label))

        def statement(part: Window):
            inner = sa.select(*inner_cols).where(self._window_filter(model, part)).offset(0).subquery("vals")
            mid_cols = [inner.c.day] if by_day else []
            for j, (feature, edges, _) in enumerate(reqs):
                v = inner.c[values[(feature, edges is not None)]]
                mid_cols.append((v if edges is None else self._bucket(v, edges, key=f"_{j}")).label(f"g{j}"))
            mid = sa.select(*mid_cols).offset(0).subquery("buckets")
            groups = [mid.c[f"g{j}"] for j in range(len(reqs))]
            sets = [sa.tuple_(mid.c.day, g) if by_day else sa.tuple_(g) for g in groups]
            return sa.select(*([mid.c.day] if by_day else []), *groups, *[sa.func.grouping(g) for g in groups],
                             sa.func.count()).group_by(sa.func.grouping_sets(*sets))

        # the planner over-estimates the groups of computed keys (bins) by far and would sort the rows
        # once per grouping set under the default 4 MB work_mem; the real hash tables are small
        # (days x bins per feature), so allow hashing all sets in one pass
        what = f"counting {len(reqs)} feature columns in one scan"
        cached: dict[tuple, list] = {}
        if by_day and self.daily_cache is not None:
            cache = DailyCache(self.daily_cache, self._identity(), model, [(f, e) for f, e, _ in reqs])
            cached, todo = cache.load(window, self._rows_per_day(model, window))
            parts = [p for w in todo for p in split_days(w, self.scan_workers if len(todo) == 1 else 1)]
        else:
            cache, parts = None, split_days(window, self.scan_workers)
        # PostgreSQL does not run GROUPING SETS in parallel: a scan per day range, side by side;
        # counts add up (consumers sum repeated values)
        rows = [r for chunk in side_by_side(lambda w: self._all(statement(w), what, work_mem_mb=256), parts)
                for r in chunk]
        out: dict[tuple, list] = {key: [] for _, _, key in reqs}
        k = len(reqs)
        off = 1 if by_day else 0
        for r in rows:
            flags = r[off + k: off + 2 * k]
            j = next((i for i, f in enumerate(flags) if f == 0), None)
            if j is None:
                continue
            out[reqs[j][2]].append(((str(r[0])[:10], r[off + j], r[-1]) if by_day else (r[off + j], r[-1])))
        if cache is not None:
            cache.save([out[key] for _, _, key in reqs])
            for j, (_, _, key) in enumerate(reqs):
                out[key] = cached.get(j, []) + out[key]
        self._counts.update(out)
        return len(reqs)

    def _identity(self) -> str:
        """Which table this is, without the password: the daily cache's key."""
        return f"{redact(self.url)}|{self.params.schema_ or ''}|{self.params.table}"

    @timed_call("prediction DB: rows per day")
    def _rows_per_day(self, model: str, window: Window) -> dict[str, int]:
        """Rows of `model` per UTC day of the window (the (model, timestamp) index answers it): a
        kept day's counts are reused only while its row count is unchanged."""
        day = self._day().label("day")
        stmt = sa.select(day, sa.func.count()).where(self._window_filter(model, window)).group_by(day)
        return {str(d)[:10]: int(n) for d, n in self._all(stmt, f"counting predictions of {model!r} per day")}

    def _bucket(self, col, edges, key: str = ""):
        """As SqlStore._bucket, by width_bucket over the edges array (one comparison pass)."""
        from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION

        nan, inf = float("nan"), float("inf")
        missing = sa.or_(col.is_(None), col == sa.bindparam(f"nan{key}", nan, type_=sa.Float))
        infinite = sa.or_(col == sa.bindparam(f"inf{key}", inf, type_=sa.Float),
                          col == sa.bindparam(f"ninf{key}", -inf, type_=sa.Float))
        arr = sa.bindparam(f"edges{key}", [float(e) for e in edges], type_=ARRAY(DOUBLE_PRECISION))
        return sa.case((missing, -2), (infinite, -1), else_=sa.func.width_bucket(col, arr))

    def _column_values(self, model: str, window: Window, feature: str, chunk: int = 200_000):
        """One float8[] of the column per day range (scan_workers connections at once), viewed by numpy."""
        import numpy as np

        col = self._feature_col(feature, numeric=True)
        arrays = side_by_side(lambda w: self._copy_floats(sa.select(col).where(self._window_filter(model, w)),
                                                          feature), split_days(window, self.scan_workers))
        return np.concatenate(arrays) if arrays else np.array([], dtype=np.float64)

    @timed_call("prediction DB: numeric features together")
    def prefetch_values(self, model: str, window: Window, features: list[str]) -> None:
        """Read the numeric `features` the drift review will ask feature_values for, all
        in one scan (one float8[] each, over scan_workers connections by days) instead of one scan per
        feature: at a million rows each scan re-reads every row's JSON document. Each array is handed
        out once. A read that fails here is left to feature_values, which says which feature failed."""
        import numpy as np

        features = [f for f in dict.fromkeys(features)]
        if len(features) < 2:
            return
        cols = [self._feature_col(f, numeric=True).label(f"v{i}") for i, f in enumerate(features)]

        def part(w: Window) -> pd.DataFrame | None:
            return self._array_frame(sa.select(*cols).where(self._window_filter(model, w)))

        try:
            parts = side_by_side(part, split_days(window, self.scan_workers))
        except Exception:  # noqa: BLE001 - feature_values reads each feature again and names the one that fails
            return
        if any(p is None for p in parts):
            return
        for i, f in enumerate(features):
            arrays = [p[f"v{i}"].to_numpy(dtype=np.float64) for p in parts if len(p)]
            self._together[(model, window.start, window.end, f)] = (np.concatenate(arrays) if arrays
                                                                   else np.array([], dtype=np.float64))

    def _copy_floats(self, stmt, feature: str):
        """The column as one float8[] value, `array_send(array_agg(coalesce(x::float8, 'NaN')))`,
        fetched as bytes and viewed by numpy: after a 20-byte header every element is the same
        12 bytes (int32 length, big-endian float8), so no Python runs per row. (A binary COPY sends
        one message per row, which psycopg hands over one by one: 5x slower at 10M rows.) An array
        past PostgreSQL's 1 GB value limit (~89M rows) falls back to the binary COPY."""
        import numpy as np
        import psycopg

        expr = list(stmt.selected_columns)[0]
        value = sa.func.coalesce(sa.cast(expr, sa.Float), sa.literal_column("'NaN'::float8"))
        inner = stmt.with_only_columns(value.label("x")).subquery()
        agg = sa.select(sa.func.array_send(sa.func.array_agg(inner.c.x)))
        try:
            row = self._binary_row(agg)
            if row is None:  # past the 1 GB value limit: the binary COPY
                with self._connect() as conn:
                    return self._copy_rows(conn.connection.driver_connection, stmt, feature)
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            raise self._error(f"reading {feature!r}", exc) from exc
        if row[0] is None:  # no rows: array_agg gives NULL
            return np.array([], dtype=np.float64)
        return _float_array(row[0])

    def _binary_row(self, stmt) -> tuple | None:
        """The one result row of `stmt` (aggregates such as `array_send(array_agg(…))`) in binary,
        or None past PostgreSQL's 1 GB value limit. A connection that received BIG_BLOCK bytes or
        more is closed instead of pooled: libpq keeps its input buffer at the size of the largest
        message it has received, so a pooled connection that read one row of whole-column arrays
        held that much for the rest of the run (~190 MB after the 4M rows of a performance review's
        history, in two pooled connections)."""
        import psycopg

        with self._connect() as conn:
            raw = conn.connection.driver_connection
            sql = self._inline_sql(raw, stmt)
            with raw.cursor(binary=True) as cur:
                try:
                    row = cur.execute(sql).fetchone()
                except psycopg.errors.ProgramLimitExceeded:
                    raw.rollback()
                    return None
            if sum(len(v) for v in row if isinstance(v, (bytes, str))) >= BIG_BLOCK:
                conn.invalidate()
            return row

    def _inline_sql(self, raw, stmt) -> str:
        """`stmt` as one SQL text with its parameters bound client-side by psycopg (COPY and the
        driver's own cursors take no SQLAlchemy parameters)."""
        import psycopg

        compiled = stmt.compile(dialect=self.engine.dialect)
        return psycopg.ClientCursor(raw).mogrify(str(compiled), compiled.params)

    @staticmethod
    def _column_kinds(stmt) -> dict[str, tuple[str, object]] | None:
        """Each selected column's kind ('bool', 'real', 'int', 'float', 'time', 'timetz', 'text') and
        its expression over `stmt` as a subquery; None when a column has a type the fast PostgreSQL
        readers do not type exactly as read_sql does (or two columns share a name)."""
        out: dict[str, tuple[str, object]] = {}
        inner = stmt.subquery()
        for c in inner.c:
            t, kind = c.type, None
            if isinstance(t, sa.Boolean):
                kind = "bool"
            elif isinstance(t, sa.REAL) or (isinstance(t, sa.Float) and (t.precision or 53) <= 24):
                kind = "real"  # float4: read_sql gets the float32 value widened, not its printed digits
            elif isinstance(t, sa.Integer):
                kind = "int"
            elif isinstance(t, (sa.Float, sa.Numeric)):
                kind = "float"
            elif isinstance(t, sa.DateTime):
                kind = "timetz" if t.timezone else "time"
            elif isinstance(t, (sa.String, sa.Text)) and not isinstance(t, sa.Enum):
                kind = "text"
            if kind is None or c.name in out:
                return None
            out[c.name] = (kind, c)
        return out

    @staticmethod
    def _typed_like_read_sql(df: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
        """Columns read as float64 (numbers, times as epoch microseconds, booleans as 1/0) and text
        (None where NULL) typed as pandas.read_sql types them."""
        import numpy as np

        for name, kind in kinds.items():
            col = df[name]
            if kind == "as is":  # already typed (the COPY fallback)
                continue
            if kind == "real":
                df[name] = col.astype(np.float32).astype(np.float64)
            elif kind == "int" and col.notna().all():  # read_sql: int64 for an integer column with no NULL
                df[name] = col.astype(np.int64)
            elif kind in ("time", "timetz"):  # epoch microseconds (float64, NaN for NULL) to datetime64[ns]
                us = col.to_numpy(dtype=np.float64)
                missing = np.isnan(us)
                ns = np.nan_to_num(us, nan=0.0).astype(np.int64)  # whole microseconds: exact below 2**53
                ns *= 1000
                t = ns.view("datetime64[ns]")
                t[missing] = np.datetime64("NaT")
                s = pd.Series(t, index=df.index, name=name)
                df[name] = s.dt.tz_localize("UTC") if kind == "timetz" else s
            elif kind == "bool":
                flags = col.map({"t": True, "f": False, 1.0: True, 0.0: False})
                df[name] = flags.astype(bool) if col.notna().all() else flags.astype(object).where(col.notna(), None)
            elif kind == "text":  # None where NULL, as read_sql leaves it
                df[name] = col.astype(object).where(col.notna(), None)
        return df

    def _array_frame(self, stmt) -> pd.DataFrame | None:
        """The rows of `stmt` as `pandas.read_sql` types them (see _array_columns)."""
        got = self._array_columns(stmt)
        return None if got is None else self._frame_of([got[0]], got[1])

    def _frame_of(self, parts: list[dict], kinds: dict[str, str]) -> pd.DataFrame:
        """One frame from the column dicts of _array_columns (parts in order), typed as read_sql types
        it; each part's arrays are dropped as soon as they are joined."""
        import numpy as np

        if all(p is None for p in parts):  # no rows anywhere: read_sql's empty frame is the columns, untyped
            return pd.DataFrame({n: pd.Series(dtype=object) for n in kinds})
        parts = [p for p in parts if p is not None]
        cols = {}
        for name in kinds:
            pieces = [p.pop(name) for p in parts]
            if len(pieces) == 1:
                cols[name] = pieces[0]
            elif isinstance(pieces[0], np.ndarray):
                cols[name] = np.concatenate(pieces)
            else:  # typed arrays from the COPY fallback
                cols[name] = pd.concat([pd.Series(x) for x in pieces], ignore_index=True).array
            del pieces
        return self._typed_like_read_sql(pd.DataFrame(cols), kinds)

    def _array_columns(self, stmt) -> tuple[dict | None, dict[str, str]] | None:
        """PostgreSQL: the rows of `stmt` as `pandas.read_sql` types them, in ONE result row: each
        number, time (epoch microseconds) and boolean column as one float8[] sent in binary and
        viewed by numpy (as _copy_floats), each text column as one string_agg split in Python's C
        code. A row-per-row transfer (read_sql, or COPY, whose every row is a message psycopg hands
        over in Python) is most of a performance review's time at a million rows a week. All the
        aggregates of one SELECT consume the same rows in the same order, so the columns line up.
        NULL is NaN in a float8 column (read_sql's too) and a random marker in text, so an empty text
        stays "" and NULL stays None. Falls back to COPY past PostgreSQL's 1 GB value limit (~89M
        rows); None (use read_sql) when a column's type is not one this reader types the same way."""
        import uuid

        import numpy as np
        import psycopg

        found = self._column_kinds(stmt)
        if found is None:
            return None
        null = f"null-{uuid.uuid4().hex}"
        aggs = []
        for name, (kind, c) in found.items():
            if kind == "text":  # backslash and the separator escaped, so any text survives the join
                esc = sa.func.replace(sa.func.replace(c, "\\", "\\\\"), sa.literal_column("E'\\x1e'"), "\\r")
                aggs.append(sa.func.string_agg(sa.func.coalesce(esc, null), sa.literal_column("E'\\x1e'")))
                continue
            if kind in ("time", "timetz"):  # sent as they are stored (int8 microseconds since 2000-01-01):
                # extract(epoch) returns numeric, whose arithmetic was half the scan's time per time column
                never = sa.literal_column("'-infinity'::timestamptz" if kind == "timetz" else "'-infinity'::timestamp")
                aggs.append(sa.func.array_send(sa.func.array_agg(sa.func.coalesce(c, never))))
                continue
            if kind == "bool":
                v = sa.cast(sa.case((c.is_(True), 1), (c.is_(False), 0)), sa.Float)
            else:
                v = sa.cast(c, sa.Float)
            aggs.append(sa.func.array_send(sa.func.array_agg(sa.func.coalesce(v, sa.literal_column("'NaN'::float8")))))
        try:
            row = self._binary_row(sa.select(*aggs))
            if row is None:  # past the 1 GB value limit: COPY, typed the same way
                df = self._copy_frame(stmt)
                return None if df is None else ({c: df[c].array for c in df}, {n: "as is" for n in df})
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            raise self._error("reading predictions", exc) from exc
        # text comes back as read_sql types it (object, None for NULL): nothing left to type
        kinds = {n: "as is" if k == "text" else k for n, (k, _) in found.items()}
        if row[0] is None:  # no rows: the aggregates are NULL
            return None, kinds
        row = list(row)
        cols = {}
        for i, (name, (kind, _)) in enumerate(found.items()):
            value, row[i] = row[i], None  # each column's bytes are freed once it is converted
            if kind == "text":
                cols[name] = _text_column(value, null)
            elif kind in ("time", "timetz"):
                cols[name] = _epoch_microseconds(np.frombuffer(value, dtype=_TIME_ELEMENT, offset=20)["v"])
            else:
                cols[name] = _float_array(value)
            del value
        if len({len(v) for v in cols.values()}) != 1:  # cannot happen: the aggregates saw the same rows
            raise self._error("reading predictions", ValueError("the columns came back with different lengths"))
        return cols, kinds

    def _copy_frame(self, stmt) -> pd.DataFrame | None:
        """PostgreSQL: the rows of `stmt` as `pandas.read_sql` types them, sent as CSV by
        `COPY (...) TO STDOUT` and parsed by pandas' C reader (the fallback of _array_frame past
        PostgreSQL's 1 GB value limit). Floats to the bit (17 digits, round-trip parsing), times as
        integer microseconds since the epoch, NULL as a marker no value holds, so an empty text stays
        "" and NULL stays None. None (use read_sql) when a column's type is not one this reader types
        the same way."""
        import csv
        import io
        import uuid

        import psycopg

        found = self._column_kinds(stmt)
        if found is None:
            return None
        kinds, cols = {}, []
        for name, (kind, c) in found.items():
            kinds[name] = kind
            if kind in ("time", "timetz"):  # exact to the microsecond, whatever the session's time zone
                c = sa.cast(sa.func.extract("epoch", c) * 1_000_000, sa.BigInteger).label(name)
            cols.append(c)
        null = f"null-{uuid.uuid4().hex}"
        buf = io.BytesIO()
        try:
            with self._connect() as conn:
                raw = conn.connection.driver_connection
                sql = self._inline_sql(raw, sa.select(*cols))
                encoding = raw.info.encoding
                with raw.cursor() as cur:
                    cur.execute("SET LOCAL extra_float_digits = 3")  # every float to the bit (this transaction)
                    with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER, NULL '{null}')") as copy:
                        while data := copy.read():
                            buf.write(data)
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            raise self._error("reading predictions", exc) from exc
        buf.seek(0)
        numeric = {"int", "float", "real", "time", "timetz"}
        df = pd.read_csv(buf, dtype={n: (float if k in numeric else str) for n, k in kinds.items()},
                         na_values={n: [null, "NaN"] if k in numeric else [null] for n, k in kinds.items()},
                         keep_default_na=False, quoting=csv.QUOTE_MINIMAL, encoding=encoding,
                         float_precision="round_trip")
        if df.empty:  # read_sql's empty frame: the columns, untyped
            return pd.DataFrame({n: pd.Series(dtype=object) for n in kinds})
        return self._typed_like_read_sql(df, kinds)

    def _copy_rows(self, raw, stmt, feature: str):
        """COPY (SELECT coalesce(x::float8, 'NaN')) TO STDOUT (FORMAT BINARY), parsed with numpy:
        with NULLs as NaN every row is the same 14 bytes (int16 field count, int32 length, float8)."""
        import numpy as np

        expr = list(stmt.selected_columns)[0]
        inner = stmt.with_only_columns(sa.func.coalesce(sa.cast(expr, sa.Float), sa.literal_column("'NaN'::float8")))
        sql = self._inline_sql(raw, inner)
        buf = bytearray()
        with raw.cursor() as cur:
            with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)") as copy:
                while data := copy.read():
                    buf += data
        header = 11 + 4
        ext = int.from_bytes(buf[header:header + 4], "big")
        start, end = header + 4 + ext, len(buf) - 2  # trailer: int16 -1
        rows = np.frombuffer(buf, dtype=np.dtype([("n", ">i2"), ("len", ">i4"), ("v", ">f8")]),
                             offset=start, count=(end - start) // 14)
        return rows["v"].astype(np.float64)

