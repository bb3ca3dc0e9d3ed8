"""The cells of the weak-segment search (workbench.performance.segments), counted by the prediction DB.

ONE statement per search, never one query per slice: the labelled rows of the window and of the
reference window are coded once in a common table expression (window flag, outcome cell, one code per
feature: the category as text, or the bin of a numeric feature over reference-quantile edges), and a
UNION ALL of GROUP BYs counts it for every feature and every pair of features. SQLite and PostgreSQL
both materialise a CTE that is read more than once, so the table is scanned once; the same statement
runs on both (the binning is the store's, the `width_bucket` of PostgreSQL and a CASE elsewhere, which
agree on every edge).

It builds on the store's column, window-filter and bucket expressions (this module lives beside it in
`sources/`, the only room that talks to the database).

The search asks any source through the interface (`PredictionSource.labelled_sample` and
`.segment_cells`): SQL stores answer with the statements here (`sql_sample`, `sql_cells`), DuckDB with its
own, and a source without an engine from its rows (`base.segment_rows`).
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from workbench.config import Window

CELL_COLUMNS = ["f1", "v1", "f2", "v2", "current", "y", "n", "err"]  # as workbench.performance.segments

# SQLite refuses a compound SELECT of more than 500 terms (SQLITE_MAX_COMPOUND_SELECT): with every
# feature and every pair that is at most 31 features; performance.segments.max_features stays below
MAX_TERMS = 500


def reference_sample(store, model: str, window: Window, features: list[str], limit: int) -> pd.DataFrame:
    """Up to `limit` labelled rows of the window (whichever the database returns first): the features,
    prediction and outcome, to place the bin edges of numeric features and of absolute errors."""
    return store.labelled_sample(model, window, features, limit)


def sql_sample(store, model: str, window: Window, features: list[str], limit: int) -> pd.DataFrame:
    """reference_sample of an SQL store (SqlStore.labelled_sample)."""
    pred, out = store._col("prediction"), store._col("outcome")
    cols = [store._feature_col(f).label(f) for f in features]
    stmt = (sa.select(*cols, pred.label("prediction"), out.label("actual_outcome"))
            .where(store._window_filter(model, window), out.isnot(None), pred.isnot(None)).limit(int(limit)))
    rows = store._all(stmt, f"sampling {model!r} for the weak-segment bins")
    return pd.DataFrame(rows, columns=[*features, "prediction", "actual_outcome"])


def statement(store, model: str, window: Window, reference: Window | None, features: dict[str, list | None],
              kind: str, error_edges: list[float] | None = None):
    """The one grouped statement: rows (a, b, v1, v2, cur, y, n, err) with a, b the indexes of the
    features of the slice (b = -1 for one feature), v1, v2 their codes as text."""
    pred, out = store._col("prediction"), store._col("outcome")
    in_window = store._window_filter(model, window)
    rows = in_window if reference is None else sa.or_(in_window, store._window_filter(model, reference))
    cols = [sa.case((in_window, 1), else_=0).label("cur")]
    if kind == "classification":
        cols += [sa.case((pred == out, 1), else_=0).label("y"), sa.literal(0.0, sa.Float).label("err")]
    else:
        err = sa.func.abs(pred - out)
        cols += [store._bucket(err, error_edges or [], key="_err").label("y"), err.label("err")]
    names = list(features)
    for j, f in enumerate(names):
        edges = features[f]
        if edges is None:
            code = sa.cast(store._feature_col(f), sa.String)
        else:
            code = sa.cast(store._bucket(store._feature_col(f, numeric=True), edges, key=f"_{j}"), sa.String)
        cols.append(code.label(f"g{j}"))
    coded = sa.select(*cols).where(rows, out.isnot(None), pred.isnot(None)).cte("segment_rows")
    terms = []
    for i in range(len(names)):
        for j in [-1, *range(i + 1, len(names))]:
            v1 = coded.c[f"g{i}"]
            v2 = coded.c[f"g{j}"] if j >= 0 else sa.cast(sa.null(), sa.String)
            keys = [v1] + ([v2] if j >= 0 else []) + [coded.c.cur, coded.c.y]
            terms.append(sa.select(sa.literal(i, sa.Integer).label("a"), sa.literal(j, sa.Integer).label("b"),
                                   v1.label("v1"), v2.label("v2"), coded.c.cur, coded.c.y,
                                   sa.func.count().label("n"), sa.func.sum(coded.c.err).label("err"))
                         .group_by(*keys))
    if len(terms) > MAX_TERMS:
        raise ValueError(f"{len(names)} features make {len(terms)} slices sets, more than {MAX_TERMS}; "
                         "lower performance.segments.max_features")
    return sa.union_all(*terms)


def segment_cells(store, model: str, window: Window, reference: Window | None, features: dict[str, list | None],
                  kind: str, error_edges: list[float] | None = None) -> pd.DataFrame:
    """The cells of every one- and two-feature slice, counted in the database in one statement, with
    the database's codes (segments.label_cells names them): the same table as segments.cells_from_frames
    on the same rows. Outcome cells of a missing or infinite error (y < 0) are left out."""
    names = list(features)
    if not names:
        return pd.DataFrame(columns=CELL_COLUMNS)
    rows = store.segment_cells(model, window, reference, features, kind, error_edges)
    cells = pd.DataFrame([(names[a], v1, names[b] if b >= 0 else "", v2 if b >= 0 else "", int(cur), int(y),
                           int(n), float(err or 0.0)) for a, b, v1, v2, cur, y, n, err in rows if int(y) >= 0],
                         columns=CELL_COLUMNS)
    return cells


def sql_cells(store, model: str, window: Window, reference: Window | None, features: dict[str, list | None],
              kind: str, error_edges: list[float] | None = None) -> list:
    """The rows (a, b, v1, v2, cur, y, n, err) of `statement`, counted by an SQL store (SqlStore.segment_cells)."""
    return store._all(statement(store, model, window, reference, features, kind, error_edges),
                      f"counting {model!r}'s outcomes per segment of {len(features)} features")
