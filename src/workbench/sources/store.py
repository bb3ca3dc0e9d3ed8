"""The prediction DB through SQLAlchemy Core: read-only, bound parameters, mapped columns.

Every team's prediction log looks different, so table, schema, column names and the feature
layout come from params (`store:` in weekly.yaml). Rows come back with workbench's standard
column names (prediction_id, model_name, model_version, variant, timestamp, prediction,
probability, actual_outcome, outcome_timestamp) and timestamps as UTC.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from workbench import atomic
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


def _is_null(value: object) -> bool:
    """NULL, or a float NaN (PostgreSQL groups a float column's NaN as a value): both are missing,
    as they are in a read column (pandas) and in SQLite, which stores NaN as NULL."""
    return value is None or (isinstance(value, float) and value != value)


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


class _DailyCache:
    """Per-day counts of finished days, kept as JSON between runs (PostgreSQL's drift over time):
    a weekly report then scans only the days it has not counted before. One file per (table,
    model, feature, bins); a day is reused only if it is whole in the window, over, and still holds
    the same number of rows (a late or deleted prediction makes it counted again). The cache does
    not grow without end: a file drops days more than KEEP_DAYS before the window it saves, and a
    file unused for STALE_DAYS (a feature or bin set no longer asked for) is deleted."""

    KEEP_DAYS = 63  # the oldest day a weekly review reads is 5 weeks back (history, grid); re-running older weeks recounts
    STALE_DAYS = 60

    def __init__(self, root: Path, identity: str, model: str, requests: list[tuple[str, object]]) -> None:
        import hashlib

        self.root, self.model = Path(root), model
        self.files = []
        for feature, edges in requests:
            e = None if edges is None else [float(x) for x in edges]
            key = json.dumps([identity, model, feature, e], sort_keys=True)
            self.files.append(self.root / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json")
        self.rows_per_day: dict[str, int] = {}
        self.window: Window | None = None

    def _finished_days(self, window: Window) -> list[str]:
        start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
        now = pd.Timestamp.now(tz="UTC")
        days = pd.date_range(start.ceil("D"), end.floor("D"), freq="D", inclusive="left")
        return [f"{d:%Y-%m-%d}" for d in days if d + pd.Timedelta(days=1) <= min(end, now)]

    def _read(self, path: Path) -> dict:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def load(self, window: Window, rows_per_day: dict[str, int]) -> tuple[dict[int, list], list[Window]]:
        """(rows per request index from kept days, the windows still to scan)."""
        self.window, self.rows_per_day = window, rows_per_day
        finished = self._finished_days(window)
        docs = [self._read(f) for f in self.files]
        kept = [d for d in finished
                if all(doc.get(d, {}).get("n") == rows_per_day.get(d, 0) for doc in docs)]
        cached = {j: [(d, v, n) for d in kept for v, n in doc[d]["rows"]] for j, doc in enumerate(docs)}
        # what is left: runs of consecutive days not kept (and the window's partial first/last day)
        keep = set(kept)
        start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
        bounds = sorted({start, end} | {pd.Timestamp(d, tz="UTC") for d in keep}
                        | {pd.Timestamp(d, tz="UTC") + pd.Timedelta(days=1) for d in keep})
        todo = [(a, b) for a, b in zip(bounds, bounds[1:]) if a < b and f"{a:%Y-%m-%d}" not in keep]
        merged: list[list] = []
        for a, b in todo:
            if merged and merged[-1][1] == a:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        return cached, [Window(a.to_pydatetime(), b.to_pydatetime(), window.label) for a, b in merged]

    def save(self, rows: list[list]) -> None:
        """Keep the finished days just counted (values JSON can hold exactly; else not kept), per
        request in the order given to __init__."""
        finished = set(self._finished_days(self.window))
        self.root.mkdir(parents=True, exist_ok=True)
        for path, found in zip(self.files, rows):
            by_day: dict[str, list] = {}
            for d, v, n in found:
                by_day.setdefault(str(d)[:10], []).append([v, int(n)])
            oldest = f"{pd.Timestamp(self.window.start) - pd.Timedelta(days=self.KEEP_DAYS):%Y-%m-%d}"
            doc = {d: v for d, v in self._read(path).items() if d >= oldest}
            for d, items in by_day.items():
                if d in finished and all(v is None or type(v) in (str, int, float, bool) for v, _ in items):
                    doc[d] = {"n": self.rows_per_day.get(d, 0), "rows": items}
            for d in finished - set(by_day):  # a day without rows: nothing to count, kept as such
                if self.rows_per_day.get(d, 0) == 0:
                    doc[d] = {"n": 0, "rows": []}
            atomic.write_text(path, json.dumps(doc))
        self._drop_stale()

    def _drop_stale(self) -> None:
        """Delete files of this cache folder that no run has read or written for STALE_DAYS."""
        import time

        cutoff = time.time() - self.STALE_DAYS * 86400
        for f in self.root.glob("*.json"):
            try:
                if f not in self.files and f.stat().st_mtime < cutoff:
                    f.unlink()
            except OSError:
                pass  # removed meanwhile by a parallel run


# a frame of more rows is not kept for later reads of a part of it: at a million rows keeping it
# (and handing out a copy) holds it twice, and the later reads are of a column or two
RECENT_MAX_ROWS = 500_000
# after reading more rows than this, memory the reader freed is handed back to the OS (see below)
TRIM_AFTER_ROWS = 200_000


BIG_BLOCK = 16 * 2**20  # bytes: allocations from here up are mapped apart and unmapped when freed


def give_back_freed_memory() -> None:
    """Return memory freed inside the process to the OS, and from now on map blocks of BIG_BLOCK
    bytes or more apart (glibc's malloc_trim and mallopt; a no-op elsewhere).

    A big read converts each column through temporary buffers, some in the reader threads' malloc
    arenas, which glibc keeps after they are freed; and glibc's default threshold rises to 32 MB
    after the first big block is freed, so the review's later column-sized arrays came from the heap
    and stayed resident too. At a million predictions a week (4M rows before the window) the two
    together kept ~350 MB under the performance review's peak (1,192 -> ~1,015 MB measured)."""
    import ctypes
    import ctypes.util

    global _mallopt_done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if not _mallopt_done:
            libc.mallopt(-3, BIG_BLOCK)  # M_MMAP_THRESHOLD (fixed: no dynamic rise)
            _mallopt_done = True
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


_mallopt_done = False
PRELOAD_MAX_CELLS = 12_000_000  # rows x columns a preloaded span may hold (~100 MB of floats)


@dataclass
class _Span:
    """Feature columns of one model over a span, as SQLite returned them, with each row's timestamp
    text. Windows are cut by comparing that text with the same bounds _window_filter gives SQLite,
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
    def build(cls, model: str, window: Window, features: list[str], rows: list) -> "_Span | None":
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

    @staticmethod
    def _buckets(v, edges):
        """The SQL _bucket in numpy: -2 missing, -1 ±inf, else the bin i of [edge_i-1, edge_i)."""
        import numpy as np

        b = np.searchsorted(np.asarray(edges, dtype=float), v, side="right")
        b[np.isinf(v)] = -1
        b[np.isnan(v)] = -2
        return b

    def bin_rows(self, window: Window, feature: str, edges) -> list[tuple]:
        import numpy as np

        b, n = np.unique(self._buckets(self._float(feature)[self._mask(window)], edges), return_counts=True)
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
            b, width = self._buckets(self._float(feature)[m], edges) + 2, len(edges) + 3  # 0 missing, 1 ±inf
        counts = np.bincount(day_idx * width + b, minlength=len(day_values) * width).reshape(-1, width)
        di, bi = np.nonzero(counts)
        if edges is None:
            return [(day_values[d].decode(), uniques[k], int(counts[d, k])) for d, k in zip(di.tolist(), bi.tolist())]
        return [(day_values[d].decode(), k - 2, int(counts[d, k])) for d, k in zip(di.tolist(), bi.tolist())]

    def values(self, window: Window, feature: str):
        return self._float(feature)[self._mask(window)]


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
class PredictionStore:
    """Reads one model's predictions from the prediction log."""

    url: str = field(repr=False)
    params: StoreParams = field(default_factory=StoreParams)
    timeouts: TimeoutParams = field(default_factory=TimeoutParams)
    # PostgreSQL: a many-feature count over a window of several days runs as this many scans of
    # disjoint day ranges at once (GROUPING SETS never uses parallel workers by itself)
    scan_workers: int = 2
    # PostgreSQL: where the per-day counts of finished days are kept between runs (None: not kept)
    daily_cache: "Path | None" = None

    def __post_init__(self) -> None:
        self.engine = read_only_engine(self.url, self.timeouts)
        self._table: sa.Table | None = None
        # the last few frames read: a later read of a sub-window / subset of columns is sliced from
        # them instead of queried again (a review reads the same rows for several sections)
        self._recent: list[tuple[str, Window, frozenset, frozenset, pd.DataFrame]] = []
        # counts fetched for many features in one query (prefetch): served to the per-feature calls
        self._counts: dict[tuple, list] = {}
        # SQLite: a span of feature columns read once (preload), sliced and counted in numpy
        self._span: _Span | None = None
        # PostgreSQL: numeric features of a window read together (prefetch_values), each handed out once
        self._together: dict[tuple, "np.ndarray"] = {}

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
        mapping = self.params.columns.column_names()
        missing = [f"store.columns.{k}={v!r}" for k, v in mapping.items() if v is not None and v not in real]
        fl = self.params.features
        if fl.layout == "json" and (not fl.json_column or fl.json_column not in real):
            missing.append(f"store.features.json_column={fl.json_column!r}")
        if missing:
            raise ConfigError(f"{', '.join(missing)} not in table {self.params.table!r}; "
                              f"its columns are: {', '.join(real)}")
        self._table = t
        return t

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
        return SourceUnavailable(redact(f"{self._where()}: {what} failed: {describe_error(exc, self.timeouts)}"))

    def _connect(self):
        try:
            return self.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            text = describe_error(exc, self.timeouts)
            if "locked" in text or "corrupt" in text:
                raise SourceUnavailable(redact(f"{self._where()}: {text}")) from exc
            raise SourceUnavailable(redact(f"{self._where()} is unreachable: {text}")) from exc

    def _all(self, stmt, what: str, work_mem_mb: int = 0) -> list:
        """Run one query; a database error becomes SourceUnavailable naming what was asked.
        `work_mem_mb` (PostgreSQL) raises the planner's memory for this one transaction."""
        try:
            with self._connect() as conn:
                if work_mem_mb and self.engine.dialect.name == "postgresql":
                    conn.execute(sa.text(f"SET LOCAL work_mem = '{int(work_mem_mb)}MB'"))
                return conn.execute(stmt).all()
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(f"{what}", exc) from exc

    def _window_filter(self, model: str, window: Window):
        ts = self._col("timestamp")
        start, end = window.start, window.end
        if self.engine.dialect.name == "sqlite":
            # stored as naive UTC text, with or without fractional seconds ("…00:00:00" sorts before the
            # bound SQLAlchemy renders, "…00:00:00.000000"): compare against the shortest text of each
            # bound so a row exactly on a bound lands in the right window whichever way it was written
            start, end = (sa.literal(t.replace(tzinfo=None).isoformat(sep=" "), sa.String) for t in (start, end))
        return sa.and_(self._is_model(model), ts >= start, ts < end)

    def _is_model(self, model: str):
        """Rows of `model`: the model column's test, or with a constant model all rows or none."""
        const = self.params.columns.constant("model")
        if const is not None:
            return sa.true() if model == const else sa.false()
        return self._col("model") == model

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
        df = None
        if self.engine.dialect.name == "postgresql":  # days split over scan_workers connections, in day order
            parts = side_by_side(lambda w: self._array_columns(sa.select(*cols).where(self._window_filter(model, w))),
                                 split_days(window, self.scan_workers))
            if all(p is not None for p in parts) and all(p[1] == parts[0][1] for p in parts):
                df = self._frame_of([p[0] for p in parts], parts[0][1])
            del parts
        if df is None:
            try:
                with self._connect() as conn:
                    df = self._sqlite_frame(conn, stmt) if self.engine.dialect.name == "sqlite" else None
                    if df is None:
                        df = pd.read_sql(stmt, conn)
            except sa.exc.SQLAlchemyError as exc:
                raise self._error(f"reading {model!r}", exc) from exc
        if json_layout and features and not sql_json:
            parsed = pd.json_normalize([json.loads(x) if isinstance(x, str) else (x or {}) for x in df.pop("__features")])
            for f in features:
                df[f] = parsed[f] if f in parsed else None
        if sql_json and features and self.engine.dialect.name == "postgresql":
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
        if (sp := self._from_span(model, window, feature)) is not None:
            return pd.Series(sp.columns[feature][sp._mask(window)], name=feature).infer_objects()
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

                expr = sa.cast(doc, JSONB).op("->>", return_type=sa.Text)(sa.literal(feature, sa.Text))
                return sa.cast(expr, sa.Float) if numeric else expr
            path = '$."' + feature.replace('"', '""') + '"'
            return sa.func.json_extract(doc, sa.literal(path, sa.Text))
        if feature not in t.c:
            raise ConfigError(f"feature {feature!r} not in table {self.params.table!r}; "
                              f"features there: {', '.join(self.feature_columns())}")
        return t.c[feature]

    @timed_call("prediction DB: read span once")
    def preload(self, model: str, span: Window, features: Iterable[str], max_cells: int = PRELOAD_MAX_CELLS) -> bool:
        """SQLite only: read `features` of `model` over `span` in ONE query and answer the later
        category / bin / daily counts and numeric reads of any window inside the span from memory.
        A drift review asks for the same columns over the week, the week before and four weeks of
        days; on SQLite each of those is a scan (numeric bins a CASE of up to 100 branches per row),
        and reading the span once costs about one of them. Skipped (False) on other databases, which
        count in one GROUPING SETS scan (prefetch_counts), or when rows x columns > `max_cells`."""
        features = list(dict.fromkeys(features))
        if self.engine.dialect.name != "sqlite" or not self.can_aggregate or not features:
            return False
        sp = self._span
        if sp is not None and sp.model == model and sp.covers(span) and set(features) <= set(sp.columns):
            return True
        n = self.count(model, span)
        if n * (len(features) + 1) > max_cells:
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
        self._span = _Span.build(model, span, features, rows)
        return self._span is not None

    def _from_span(self, model: str, window: Window, feature: str):
        sp = self._span
        if sp is not None and sp.model == model and sp.covers(window) and feature in sp.columns:
            return sp
        return None

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
        instead of scanning the table (and parsing its JSON) once per feature and bin set. Other
        databases keep the per-feature queries. Returns how many requests were fetched."""
        requests = list(requests)
        if not by_day and self.daily_cache is not None and self.engine.dialect.name == "postgresql":
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
        if self.engine.dialect.name != "postgresql" or not self.can_aggregate or len(reqs) < 2:
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
            cache = _DailyCache(self.daily_cache, self._identity(), model, [(f, e) for f, e, _ in reqs])
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

    @timed_call("prediction DB: category counts")
    def category_counts(self, model: str, window: Window, feature: str) -> tuple[dict[object, int], int]:
        """Counts per raw value of `feature` in the window (GROUP BY in the database), and the missing
        count. Values come back as the database holds them (1, 1.0 or "1"): callers canonicalise
        (profile.canonical_counts)."""
        rows = self._counts.get(self._count_key(model, window, feature, None, False))
        if rows is None and (sp := self._from_span(model, window, feature)) is not None:
            rows = sp.category_rows(window, feature)
        if rows is None:
            col = self._feature_col(feature).label("v")
            stmt = (sa.select(col, sa.func.count()).where(self._window_filter(model, window)).group_by(col))
            rows = self._all(stmt, f"counting categories of {feature!r}")
        counts: dict[object, int] = {}
        missing = 0
        for value, n in rows:
            if _is_null(value):
                missing += int(n)
            else:
                counts[value] = counts.get(value, 0) + int(n)
        return dict(sorted(counts.items(), key=lambda kv: -kv[1])), missing

    def _bucket(self, col, edges, key: str = ""):
        """-2 missing (NULL or NaN), -1 ±inf, else the bin i of [edge_i-1, edge_i) (0: below the first).
        PostgreSQL: width_bucket over the edges array (one comparison pass); others: a CASE.
        `key` keeps the bound parameters of several buckets in one statement apart."""
        nan, inf = float("nan"), float("inf")
        missing = sa.or_(col.is_(None), col == sa.bindparam(f"nan{key}", nan, type_=sa.Float))
        infinite = sa.or_(col == sa.bindparam(f"inf{key}", inf, type_=sa.Float),
                          col == sa.bindparam(f"ninf{key}", -inf, type_=sa.Float))
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION

            arr = sa.bindparam(f"edges{key}", [float(e) for e in edges], type_=ARRAY(DOUBLE_PRECISION))
            return sa.case((missing, -2), (infinite, -1), else_=sa.func.width_bucket(col, arr))
        whens = [(missing, -2), (infinite, -1)]
        whens += [(col < sa.bindparam(f"e{key}_{i}", float(e), type_=sa.Float), i) for i, e in enumerate(edges)]
        return sa.case(*whens, else_=len(edges))

    def _values(self, model: str, window: Window, feature: str, numeric: bool, *extra):
        """A subquery of the feature's value `v` (and `extra` labelled columns) in the window, fenced
        with OFFSET 0 so PostgreSQL extracts the JSON key once per row, not once per CASE branch."""
        v = self._feature_col(feature, numeric=numeric).label("v")
        return sa.select(*extra, v).where(self._window_filter(model, window)).offset(0).subquery()

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
        rows = self._counts.get(self._count_key(model, window, feature, edges, False))
        if rows is None and (sp := self._from_span(model, window, feature)) is not None and sp.numeric(feature):
            rows = sp.bin_rows(window, feature, edges)
        if rows is None:
            sub = self._values(model, window, feature, True)
            bucket = self._bucket(sub.c.v, edges).label("bucket")
            stmt = sa.select(bucket, sa.func.count()).select_from(sub).group_by(bucket)
            rows = self._all(stmt, f"counting bins of {feature!r}")
        counts, missing, nonfinite = self._fold(rows, len(edges) + 1)
        return {"counts": counts, "missing": missing, "nonfinite": nonfinite}

    def _day(self):
        ts = self._col("timestamp")
        if self.engine.dialect.name == "sqlite":
            return sa.func.substr(ts, 1, 10)  # naive UTC text: 'YYYY-MM-DD'
        return sa.func.date_trunc("day", ts)  # sessions run with timezone=UTC

    @timed_call("prediction DB: hourly counts")
    def hourly_counts(self, model: str, window: Window) -> pd.Series:
        """Predictions per UTC hour of the window, counted in the database (GROUP BY hour): the volume
        chart needs counts, not every timestamp. Hours without predictions are absent."""
        ts = self._col("timestamp")
        if self.engine.dialect.name == "sqlite":  # naive UTC text: 'YYYY-MM-DD HH' + ':00:00'
            hour = sa.func.substr(ts, 1, 13).concat(":00:00")
        elif self.engine.dialect.name == "postgresql":
            hour = sa.func.date_trunc("hour", ts)
        else:
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
        rows = self._counts.get(self._count_key(model, window, feature, edges, True))
        if rows is None and (sp := self._from_span(model, window, feature)) is not None \
                and (edges is None or sp.numeric(feature)):
            rows = sp.daily_rows(window, feature, edges)
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
                missing = sum(int(n) for v, n in items if _is_null(v))
                yield stamp, {v: int(n) for v, n in items if not _is_null(v)}, missing, 0
            else:
                counts, missing, nonfinite = self._fold(items, len(edges) + 1)
                yield stamp, counts, missing, nonfinite

    def feature_values(self, model: str, window: Window, feature: str, chunk: int = 200_000):
        """One numeric feature as a float array (NaN = missing). PostgreSQL: one float8[] of the
        column viewed by numpy straight from its bytes; others: streamed in chunks."""
        import numpy as np

        if not self.can_aggregate:
            return self.read_feature(model, window, feature).to_numpy(dtype=float, na_value=np.nan)
        if (sp := self._from_span(model, window, feature)) is not None and sp.numeric(feature):
            return sp.values(window, feature)
        if (got := self._together.pop((model, window.start, window.end, feature), None)) is not None:
            return got
        col = self._feature_col(feature, numeric=True)
        if self.engine.dialect.name == "postgresql":
            arrays = side_by_side(lambda w: self._copy_floats(sa.select(col).where(self._window_filter(model, w)),
                                                              feature), split_days(window, self.scan_workers))
            return np.concatenate(arrays) if arrays else np.array([], dtype=np.float64)
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

    @timed_call("prediction DB: numeric features together")
    def prefetch_values(self, model: str, window: Window, features: list[str]) -> None:
        """PostgreSQL: read the numeric `features` the drift review will ask feature_values for, all
        in one scan (one float8[] each, over scan_workers connections by days) instead of one scan per
        feature: at a million rows each scan re-reads every row's JSON document. Each array is handed
        out once. A read that fails here is left to feature_values, which says which feature failed."""
        import numpy as np

        features = [f for f in dict.fromkeys(features)]
        if self.engine.dialect.name != "postgresql" or len(features) < 2:
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
        the first), counted in the database. PostgreSQL counts distinct 64-bit hashes of the ids
        (hashtextextended): 0.7 s instead of 3 s for a million text ids sorted by collation; a
        collision (odds ~3e-8 at a million ids) can only overcount, and the review counts the
        repeats it reports itself, from the ids it then reads."""
        idc = self._col("id")
        key = (sa.func.hashtextextended(sa.cast(idc, sa.Text), 0) if self.engine.dialect.name == "postgresql"
               else idc)
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
