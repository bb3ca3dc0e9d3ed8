"""What a review may ask of a prediction log: the `PredictionSource` interface.

A backend implements five plain methods (`describe`, `read`, `newest`, `models`,
`feature_columns`). Everything else a review asks for (counts, binned counts, per-day counts, a
feature's values, versions, repeated ids) has a default here computed from `read`; a backend whose
engine can count overrides it (one GROUP BY instead of reading the rows). The prefetch/preload
methods are fast paths that do nothing by default: the later per-feature calls then answer on
their own. Reviews call these methods directly, never a backend's private ones.

Rows come back with workbench's standard column names (STANDARD's values) and timestamps in UTC.
"""

from __future__ import annotations

import abc
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from workbench.config import Window

# params key (store.columns.KEY) -> the standard column name a read returns it under
STANDARD = {
    "id": "prediction_id", "model": "model_name", "version": "model_version", "variant": "variant",
    "timestamp": "timestamp", "prediction": "prediction", "probability": "probability",
    "outcome": "actual_outcome", "outcome_timestamp": "outcome_timestamp",
}
TIME_COLUMNS = ("timestamp", "outcome_timestamp")


def is_null(value: object) -> bool:
    """NULL, or a float NaN (PostgreSQL groups a float column's NaN as a value): both are missing,
    as they are in a read column (pandas) and in SQLite, which stores NaN as NULL."""
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT


def buckets(values: np.ndarray, edges) -> np.ndarray:
    """The bin of each value: -2 missing (NaN), -1 ±inf, else i for [edge_i-1, edge_i) (0: below the
    first edge, len(edges): from the last one up)."""
    b = np.searchsorted(np.asarray(edges, dtype=float), values, side="right")
    b[np.isinf(values)] = -1
    b[np.isnan(values)] = -2
    return b


def fold(rows: Iterable[tuple], n_bins: int) -> tuple[np.ndarray, int, int]:
    """(counts per bin, missing, non-finite) from (bin, n) rows as `buckets` numbers them."""
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


# prediction_cells: a probability in [0, 1] is counted in the cell floor(p * PROBABILITY_GRID) of the
# grid (1 in the last cell) and stands for that cell's midpoint: within 0.5 / PROBABILITY_GRID of
# itself (docs/methods.md: what that rounding can move each metric by)
PROBABILITY_GRID = 1000
# the keys of a prediction cell, in the order prediction_cells returns them (then `n`, the rows of it)
CELL_KEYS = ("model_version", "variant", "day", "probability", "actual_outcome", "prediction", "early")


def probability_cells(cell: pd.Series, raw: pd.Series, grid: int) -> pd.Series:
    """The probability a cell stands for: its grid cell's midpoint, or (where `cell` is missing: a
    probability missing, not a number, ±inf or outside [0, 1]) the raw value, for the row checks."""
    mid = (pd.to_numeric(cell, errors="coerce").to_numpy(dtype=float) + 0.5) / grid
    if raw.isna().all():
        return pd.Series(mid, index=cell.index)
    return pd.Series(np.where(cell.isna().to_numpy(), raw.to_numpy(dtype=object), mid), index=cell.index)


def utc_days(day: pd.Series) -> pd.Series:
    """An engine's `day` key (a date, or text starting YYYY-MM-DD) as UTC midnights."""
    if not len(day):
        return pd.Series([], dtype="datetime64[ns, UTC]")
    return pd.to_datetime(day.astype(str).str[:10], utc=True)


def early_outcomes(df: pd.DataFrame) -> np.ndarray:
    """1 where a row's outcome is stamped before its prediction (read's columns), else 0."""
    if "outcome_timestamp" not in df:
        return np.zeros(len(df), int)
    return (df["outcome_timestamp"] < df["timestamp"]).to_numpy(dtype=bool, na_value=False).astype(int)


def cells_of_counts(df: pd.DataFrame, grid: int = PROBABILITY_GRID) -> pd.DataFrame:
    """`prediction_cells` of an engine's grouped rows: the keys it counted by (model_version, variant,
    actual_outcome, prediction where mapped; `day` as a date or text starting YYYY-MM-DD; `p_cell`, the
    grid cell of a probability in [0, 1], and `p_raw`, the probability where it is not; `early`) and
    `n`. Every engine's GROUP BY (SqlStore, DuckDB, Spark) ends here, so all type the cells alike."""
    out = pd.DataFrame(index=df.index)
    for c in ("model_version", "variant", "actual_outcome", "prediction"):
        out[c] = df[c] if c in df else None
    out["day"] = utc_days(df["day"])
    out["probability"] = probability_cells(df["p_cell"], df["p_raw"], int(grid)) if "p_cell" in df else None
    out["early"] = df["early"].astype(int) if "early" in df else 0
    out["n"] = df["n"].astype("int64")
    return out[[*CELL_KEYS, "n"]]


def cells_of_rows(df: pd.DataFrame, grid: int = PROBABILITY_GRID) -> pd.DataFrame:
    """`prediction_cells` of rows as `read` returns them: the rows counted per CELL_KEYS (columns the
    log does not map are None; `early`: the outcome is stamped before the prediction)."""
    out = pd.DataFrame(index=df.index)
    for c in ("model_version", "variant", "actual_outcome", "prediction"):
        out[c] = df[c] if c in df else None
    out["day"] = df["timestamp"].dt.floor("D")
    if "probability" in df:
        p = pd.to_numeric(df["probability"], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            inside = (p >= 0) & (p <= 1)
            cell = np.where(inside, np.minimum(np.floor(p * grid), grid - 1), np.nan)
        raw = df["probability"].where(~inside, None) if df["probability"].dtype == object else \
            pd.Series(np.where(inside, np.nan, p), index=df.index)
        out["probability"] = probability_cells(pd.Series(cell, index=df.index), raw, grid)
    else:
        out["probability"] = None
    out["early"] = early_outcomes(df)
    counted = out.groupby(list(CELL_KEYS), dropna=False, sort=False).size()
    return counted.rename("n").reset_index()


# residual_cells: the keys of a residual cell, in the order residual_cells returns them, then RESIDUAL_SUMS.
# status: 0 no outcome yet (unlabelled), 1 prediction and outcome finite numbers (labelled), 2 a value
# the row checks would flag or cannot rule out (prediction missing, not a number or ±inf; outcome
# not a number or ±inf; PostgreSQL's NaN): the performance review then reads the rows.
# error_bin: floor(|e| / error_width), outcome_bin: floor(outcome / outcome_width) (0 without a width,
# and for status 0 and 2), each capped at ±RESIDUAL_MAX_BIN
RESIDUAL_KEYS = ("model_version", "variant", "day", "early", "status", "error_bin", "outcome_bin")
# per cell, over its labelled rows (e = prediction - outcome): n rows, then Σe, Σ|e|, Σe², Σy, Σy², Σ|e|/|y|
# and the count over y != 0, and the extremes of |e| and y (NaN in a cell without labelled rows)
RESIDUAL_SUMS = ("n", "sum_error", "sum_abs_error", "sum_sq_error", "sum_outcome", "sum_sq_outcome",
                 "sum_ape", "n_nonzero", "min_abs_error", "max_abs_error", "min_outcome", "max_outcome")
RESIDUAL_MAX_BIN = 2 ** 40


def residual_bin(x: np.ndarray, width: float | None) -> np.ndarray:
    """floor(x / width) capped at ±RESIDUAL_MAX_BIN (0 without a width), as the engines compute it."""
    if not width:
        return np.zeros(len(x), np.int64)
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.clip(x / float(width), -RESIDUAL_MAX_BIN, RESIDUAL_MAX_BIN)
    return np.nan_to_num(np.floor(q)).astype(np.int64)


def residual_cells_of_rows(df: pd.DataFrame, error_width: float | None = None,
                           outcome_width: float | None = None) -> pd.DataFrame:
    """`residual_cells` of rows as `read` returns them (columns the log does not map are None)."""
    out = pd.DataFrame(index=df.index)
    for c in ("model_version", "variant"):
        out[c] = df[c] if c in df else None
    out["day"] = df["timestamp"].dt.floor("D")
    out["early"] = early_outcomes(df)
    pred = pd.to_numeric(df["prediction"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    raw_y = df["actual_outcome"] if "actual_outcome" in df else pd.Series(np.nan, index=df.index)
    y = pd.to_numeric(raw_y, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    status = np.where(~np.isfinite(pred), 2, np.where(raw_y.isna().to_numpy(), 0, np.where(np.isfinite(y), 1, 2)))
    ok = status == 1
    e = np.where(ok, pred - y, np.nan)
    a, yv = np.abs(e), np.where(ok, y, np.nan)
    out["status"] = status
    out["error_bin"] = np.where(ok, residual_bin(np.where(ok, a, 0.0), error_width), 0)
    out["outcome_bin"] = np.where(ok, residual_bin(np.where(ok, yv, 0.0), outcome_width), 0)
    nz = ok & (yv != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = pd.DataFrame({"sum_error": e, "sum_abs_error": a, "sum_sq_error": e * e, "sum_outcome": yv,
                               "sum_sq_outcome": yv * yv, "sum_ape": np.where(nz, a / np.abs(yv), np.nan),
                               "n_nonzero": nz.astype(np.int64), "min_abs_error": a, "max_abs_error": a,
                               "min_outcome": yv, "max_outcome": yv}, index=df.index)
    g = pd.concat([out, values], axis=1).groupby(list(RESIDUAL_KEYS), dropna=False, sort=False)
    agg = {c: ("min" if c.startswith("min_") else "max" if c.startswith("max_") else "sum") for c in values}
    counted = g.agg(agg)
    counted.insert(0, "n", g.size())
    counted = counted.reset_index()
    for c in ("model_version", "variant"):  # missing as None, as the engines return them
        counted[c] = counted[c].astype(object).where(counted[c].notna(), None)
    return counted[[*RESIDUAL_KEYS, *RESIDUAL_SUMS]]


# a relation an engine hands residual_cells_sql holds, besides its keys (model_version and variant where
# mapped, day, early): p and y, the prediction and the outcome as doubles (NULL where not a number), and
# y_missing, true where the outcome is not logged (the rows' isna: NULL, or NaN in a float column)
RESIDUAL_ROW_COLUMNS = ("p", "y", "y_missing")
_LARGEST = 1.7976931348623157e308  # the largest float: NULL, ±inf and NaN fail -_LARGEST <= x <= _LARGEST


def _residual_bin_sql(x: str, width: float | None) -> tuple[str, list]:
    """residual_bin in SQL text: floor(x / width) capped at ±RESIDUAL_MAX_BIN, 0 without a width."""
    if not width:
        return "0", []
    q, cap = f"({x}) / ?", RESIDUAL_MAX_BIN
    return (f"CASE WHEN {q} >= {cap} THEN {cap} WHEN {q} <= -{cap} THEN -{cap} "
            f"ELSE CAST(floor({q}) AS BIGINT) END", [float(width)] * 3)


def residual_cells_sql(relation: str, keys: list[str], error_width: float | None = None,
                       outcome_width: float | None = None) -> tuple[str, list]:
    """(SQL, positional args) counting `residual_cells` over `relation` (its `keys` and
    RESIDUAL_ROW_COLUMNS) with the status, bins and sums residual_cells_of_rows defines, in SQL that
    DuckDB and Spark both run (the args in the order of the ?s; a relation's own come after them).
    SqlStore._residual_cells is the same shape in SQLAlchemy (SQLite floors and stores NaN apart)."""
    k = ", ".join(keys)
    ebin, eargs = _residual_bin_sql("abs(p - y)", error_width)
    ybin, yargs = _residual_bin_sql("y", outcome_width)
    finite = "{v} >= ? AND {v} <= ?"
    status = (f"CASE WHEN {finite.format(v='p')} THEN (CASE WHEN y_missing THEN 0 "
              f"WHEN {finite.format(v='y')} THEN 1 ELSE 2 END) ELSE 2 END")
    sql = (f"SELECT {k}, status, error_bin, outcome_bin, count(*) AS n, sum(e) AS sum_error, "
           "sum(abs(e)) AS sum_abs_error, sum(e * e) AS sum_sq_error, sum(yv) AS sum_outcome, "
           "sum(yv * yv) AS sum_sq_outcome, sum(CASE WHEN yv <> 0 THEN abs(e) / abs(yv) END) AS sum_ape, "
           "sum(CASE WHEN yv <> 0 THEN 1 ELSE 0 END) AS n_nonzero, min(abs(e)) AS min_abs_error, "
           "max(abs(e)) AS max_abs_error, min(yv) AS min_outcome, max(yv) AS max_outcome "
           f"FROM (SELECT {k}, status, CASE WHEN status = 1 THEN p - y END AS e, "
           "CASE WHEN status = 1 THEN y END AS yv, "
           f"CASE WHEN status = 1 THEN {ebin} ELSE 0 END AS error_bin, "
           f"CASE WHEN status = 1 THEN {ybin} ELSE 0 END AS outcome_bin "
           f"FROM (SELECT {k}, p, y, {status} AS status FROM {relation}) AS rows_with_status) AS residual_rows "
           f"GROUP BY {k}, status, error_bin, outcome_bin")
    return sql, [*eargs, *yargs, -_LARGEST, _LARGEST, -_LARGEST, _LARGEST]


def residual_cells_of_counts(df: pd.DataFrame) -> pd.DataFrame:
    """`residual_cells` of an engine's grouped rows (RESIDUAL_KEYS but model_version / variant where
    unmapped, `day` as a date or text starting YYYY-MM-DD, RESIDUAL_SUMS with NULL sums of no labelled
    row): every engine's GROUP BY (SqlStore, DuckDB, Spark) ends here, so all type the cells alike."""
    out = pd.DataFrame(index=df.index)
    for k in ("model_version", "variant"):
        out[k] = df[k] if k in df else None
    out["day"] = utc_days(df["day"])
    for k in ("early", "status", "error_bin", "outcome_bin", "n", "n_nonzero"):
        out[k] = pd.to_numeric(df[k]).fillna(0).astype("int64")
    for k in RESIDUAL_SUMS:
        if k not in out:
            v = pd.to_numeric(df[k].astype(float))
            out[k] = v.fillna(0.0) if k.startswith("sum_") else v
    return out[[*RESIDUAL_KEYS, *RESIDUAL_SUMS]]


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def value_counts(values: pd.Series) -> tuple[dict[object, int], int]:
    """({value: n} most frequent first, missing) of raw values, as a GROUP BY counts them."""
    missing = int(values.isna().sum())
    found = values[values.notna()].value_counts(sort=True, dropna=True)
    return {_plain(v): int(n) for v, n in found.items()}, missing


def _segment_code(values: pd.Series, edges) -> pd.Series:
    """The database's code of each value as text: the value (categorical) or its bin (`buckets`)."""
    if edges is None:
        return pd.Series([None if is_null(v) else str(v) for v in values], index=values.index, dtype=object)
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(buckets(v, edges).astype(str), index=values.index, dtype=object)


def segment_rows(source, model: str, window: Window, reference: Window | None,
                 features: dict[str, list | None], kind: str, error_edges: list[float] | None = None) -> list:
    """The weak-segment cells as sources.segment_counts.statement counts them in SQL, from the source's
    read rows (PredictionSource.segment_cells's default, for a source without an engine)."""
    names = list(features)
    parts = []
    for cur, w in ((1, window), (0, reference)):
        if w is None:
            continue
        df = source.read(model, w, features=names, core=["prediction", "outcome"])
        parts.append(df[df["prediction"].notna() & df["actual_outcome"].notna()].assign(cur=cur))
    df = pd.concat(parts, ignore_index=True)
    pred = pd.to_numeric(df["prediction"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = pd.to_numeric(df["actual_outcome"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if kind == "classification":
        df["y"], df["err"] = (pred == out).astype(int), 0.0
    else:
        df["y"], df["err"] = buckets(np.abs(pred - out), error_edges or []), np.abs(pred - out)
    codes = {f"g{j}": _segment_code(df[f], features[f]) for j, f in enumerate(names)}
    coded = pd.DataFrame({**codes, "cur": df["cur"], "y": df["y"], "err": df["err"]})
    rows = []
    for i in range(len(names)):
        for j in [-1, *range(i + 1, len(names))]:
            keys = [f"g{i}"] + ([f"g{j}"] if j >= 0 else [])
            g = coded.groupby([*keys, "cur", "y"], dropna=False, sort=False)["err"].agg(["size", "sum"])
            for key, (n, err) in g.iterrows():
                v1, v2 = key[0], (key[1] if j >= 0 else None)
                cur, y = key[-2], key[-1]
                rows.append((i, j, None if is_null(v1) else v1, None if is_null(v2) else v2, int(cur), int(y),
                             int(n), float(err)))
    return rows

class PredictionSource(abc.ABC):
    """A prediction log one review reads: one model's predictions over a window at a time."""

    # --- what every backend answers -------------------------------------------------------

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the predictions come from, safe to print (no password): 'prediction DB at …'."""

    @abc.abstractmethod
    def read(self, model: str, window: Window, features: Iterable[str] = (), core: Iterable[str] | None = None
             ) -> pd.DataFrame:
        """Predictions of `model` in `window` (start inclusive, end exclusive): the standard columns
        of the params keys in `core` that are mapped (default: all mapped) plus the named features."""

    @abc.abstractmethod
    def newest(self, model: str) -> pd.Timestamp | None:
        """Timestamp (UTC) of the newest prediction of `model`, None without any."""

    @abc.abstractmethod
    def models(self) -> list[str]:
        """The models the log holds predictions of."""

    @abc.abstractmethod
    def feature_columns(self) -> list[str]:
        """The feature names the log holds."""

    def stored_columns(self) -> list[str]:
        """The log's column names as stored, before the params map them (`workbench check` compares
        them with the mapping): ConfigError when the table is not there, SourceUnavailable when the
        log cannot be reached. Default: the standard names and the features."""
        return [*STANDARD.values(), *self.feature_columns()]

    # --- derived questions: a default from `read`, overridden where the engine counts -----

    @property
    def can_aggregate(self) -> bool:
        """Counts, bins and feature values can be asked per feature (category_counts, bin_counts,
        feature_values); False: reviews read the feature's column instead (read_feature)."""
        return True

    @property
    def keeps_daily_counts(self) -> bool:
        """Per-day counts of finished days are kept between runs: a drift review then also asks,
        in its window's prefetch, for what the daily grid will count."""
        return False

    def count(self, model: str, window: Window) -> int:
        """Number of predictions of `model` in `window`."""
        return len(self.read(model, window, core=["timestamp"]))

    def read_feature(self, model: str, window: Window, feature: str) -> pd.Series:
        """One feature column of the window, as `read` types it."""
        return self.read(model, window, features=[feature], core=[])[feature]

    def feature_values(self, model: str, window: Window, feature: str) -> np.ndarray:
        """One numeric feature as a float array, NaN where missing."""
        return self.read_feature(model, window, feature).to_numpy(dtype=float, na_value=np.nan)

    def category_counts(self, model: str, window: Window, feature: str) -> tuple[dict[object, int], int]:
        """Counts per raw value of `feature` in the window (most frequent first), and the missing
        count. Values as the log holds them (1, 1.0 or "1"): callers canonicalise."""
        return value_counts(self.read_feature(model, window, feature))

    def bin_counts(self, model: str, window: Window, feature: str, edges) -> dict[str, object]:
        """Counts of `feature` over bins [edge_i, edge_i+1) (plus below the first and from the last
        edge up: len(edges) + 1 bins), with the missing and non-finite (±inf) counts."""
        rows = zip(*np.unique(buckets(self.feature_values(model, window, feature), edges), return_counts=True))
        counts, missing, nonfinite = fold(rows, len(edges) + 1)
        return {"counts": counts, "missing": missing, "nonfinite": nonfinite}

    def daily_counts(self, model: str, window: Window, feature: str, edges=None
                     ) -> Iterator[tuple[pd.Timestamp, object, int, int]]:
        """Per UTC day of the window that has rows, in day order: (day, counts, missing, non-finite),
        counts {raw value: n} when `edges` is None, else an array over the bins of `edges`."""
        df = self.read(model, window, features=[feature], core=["timestamp"])
        for day, g in df.groupby(df["timestamp"].dt.floor("D"), sort=True):
            if edges is None:
                counts, missing = value_counts(g[feature])
                yield day, counts, missing, 0
            else:
                values = g[feature].to_numpy(dtype=float, na_value=np.nan)
                rows = zip(*np.unique(buckets(values, edges), return_counts=True))
                counts, missing, nonfinite = fold(rows, len(edges) + 1)
                yield day, counts, missing, nonfinite

    def hourly_counts(self, model: str, window: Window) -> pd.Series:
        """Predictions per UTC hour of the window (hours without any are absent), in hour order."""
        ts = self.read(model, window, core=["timestamp"])["timestamp"]
        return ts.dt.floor("h").value_counts().sort_index()

    def versions(self, model: str, window: Window) -> list[str]:
        """Model versions that served predictions in the window."""
        df = self.read(model, window, core=["version"])
        if "model_version" not in df:
            return []
        return sorted(df["model_version"].dropna().unique().tolist())

    def repeated_ids(self, model: str, window: Window) -> int:
        """Rows of the window whose prediction id an earlier row of the window also has."""
        ids = self.read(model, window, core=["id"])["prediction_id"]
        return int(ids.notna().sum() - ids.dropna().nunique())

    @property
    def counts_cells(self) -> bool:
        """The engine counts `prediction_cells` (a classifier's) and `residual_cells` (a regression
        model's) itself, each one GROUP BY: the performance review then computes from the cells instead
        of reading the rows. False: cells would come from `read`, so the review reads the rows. One
        flag for both: a backend that sets it and counts only one kind still answers the other from
        `read` (right, only not lighter than the rows)."""
        return False

    def prediction_cells(self, model: str, window: Window, grid: int = PROBABILITY_GRID) -> pd.DataFrame:
        """The window's predictions counted per cell: model_version, variant, UTC day, probability on
        a grid of `grid` cells per unit (each cell's midpoint; an invalid or missing one as logged),
        actual_outcome and prediction as logged, `early` (1: outcome stamped before the prediction),
        and `n` rows. What the performance review's metrics, intervals, trend and CBPE are computed
        from (workbench.performance.core: evaluate_cells)."""
        core = ["version", "variant", "timestamp", "prediction", "probability", "outcome", "outcome_timestamp"]
        return cells_of_rows(self.read(model, window, core=core), grid)

    def residual_cells(self, model: str, window: Window, error_width: float | None = None,
                       outcome_width: float | None = None) -> pd.DataFrame:
        """A regression model's predictions of the window counted per cell (RESIDUAL_KEYS: model_version,
        variant, UTC day, `early`, `status` 0 unlabelled / 1 labelled / 2 invalid, the bin of |e| on
        fixed edges k * error_width and of the outcome on k * outcome_width) with each cell's row count
        `n` and exact sums (RESIDUAL_SUMS) over its labelled rows, e = prediction - outcome. MAE, RMSE,
        MAPE and R² are exact from the sums; the bins serve the bootstrap (core.evaluate_cells)."""
        core = ["version", "variant", "timestamp", "prediction", "outcome", "outcome_timestamp"]
        return residual_cells_of_rows(self.read(model, window, core=core), error_width, outcome_width)

    def sample(self, model: str, window: Window, core: Iterable[str], limit: int = 5000) -> pd.DataFrame:
        """Up to `limit` rows of the window (any), the standard columns of `core` that are mapped."""
        return self.read(model, window, core=list(core)).head(int(limit)).reset_index(drop=True)

    def labelled_sample(self, model: str, window: Window, features: list[str], limit: int) -> pd.DataFrame:
        """Up to `limit` labelled rows of the window (any): the features, prediction and actual_outcome,
        where the weak-segment search (performance.segments) places its bins."""
        df = self.read(model, window, features=features, core=["prediction", "outcome"])
        df = df[df["prediction"].notna() & df["actual_outcome"].notna()]
        return df[[*features, "prediction", "actual_outcome"]].head(int(limit)).reset_index(drop=True)

    def segment_cells(self, model: str, window: Window, reference: Window | None, features: dict[str, list | None],
                      kind: str, error_edges: list[float] | None = None) -> list[tuple]:
        """The weak-segment search's cells: rows (a, b, v1, v2, cur, y, n, err) as
        sources.segment_counts.statement counts them (an engine overrides this with one statement)."""
        return segment_rows(self, model, window, reference, features, kind, error_edges)

    # --- fast paths: nothing by default, the per-feature calls answer on their own --------

    def preload(self, model: str, span: Window, features: Iterable[str], max_cells: int | None = None) -> bool:
        """Read `features` over `span` once, so later questions about windows inside it are answered
        from memory, unless rows x columns exceed `max_cells` (None: the backend's own limit).
        Returns whether it did."""
        return False

    def prefetch_counts(self, model: str, window: Window, requests: Iterable[tuple[str, object]],
                        by_day: bool = False) -> int:
        """Count several features at once: `requests` are (feature, edges) pairs as category_counts
        (edges None) / bin_counts ask them, per day with `by_day` (daily_counts). Returns how many
        requests were fetched (0: the per-feature calls count them)."""
        return 0

    def prefetch_values(self, model: str, window: Window, features: list[str]) -> None:
        """Read several numeric features' values at once for the feature_values calls that follow."""
        return None
