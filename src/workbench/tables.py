"""Tables for people: every DataFrame a report shows goes through `table()`.

Why: a raw DataFrame dump (index 0..n, snake_case headers, "133183.2126", "0 days 00:20:00",
"p = 0", 1e-05, NaN, always-empty columns) makes a reader decode instead of read. `table()` returns a
pandas Styler (rendered to plain HTML, nothing loaded from the network) that

- hides a 0..n index (a meaningful index is kept as the first column),
- writes headers in words with units ("n_current" -> "values (current)", "p_value" -> "p-value"),
- formats each column by the kind its caller DECLARES (`kinds={column: kind}`, see `KINDS`):
  counts as integers with thousands separators, ratios as percentages, differences of ratios in
  percentage points, durations as "51 min", p-values as "< 0.001", statistics and metric values as
  the findings' sentences print them (a metric by its own format, MAPE as a percentage: `metric_value`); a column nobody declared is formatted by its dtype alone
  (never by its name: a rule "name contains n_ -> count" also matched `min_effect`),
- drops columns that are empty everywhere, and shows a missing value as "—" (with the reason in a
  footnote when one is given).

The formatters are plain functions (`count`, `percent`, `points`, `duration`, `p_value`, `number`)
so plots and sentences can use the same wording; numbers below 1e-4 read as "2.3×10⁻⁷" here and in
findings (findings.tiny).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from workbench.findings import TINY, interval, num, pp, tiny

DASH = "—"

# header words for the column names the workbench's results use; anything else: snake_case -> words
HEADERS: dict[str, str] = {
    "p_value": "p-value", "pvalue": "p-value", "n_current": "values (current)",
    "n_reference": "values (reference)", "n_predictions": "predictions", "n_labelled": "labelled",
    "label_coverage": "label coverage", "ci_low": "95% CI low", "ci_high": "95% CI high",
    "effect_size": "effect size", "missing_share": "missing (current)", "missing_current": "missing (current)",
    "missing_reference": "missing (reference)", "missing_change": "missing change",
    "firing_time": "firing time", "series_time": "series-time", "mean_probability": "mean predicted probability",
    "observed_rate": "observed rate", "model_version": "model version", "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC", "f1": "F1", "mae": "MAE", "rmse": "RMSE", "r2": "R²", "ece": "ECE",
    "mde_80": "MDE (80% power)", "rate_a": "rate A", "rate_b": "rate B", "relative_change": "relative change",
    "slo": "SLO", "sli": "SLI", "db": "DB", "url": "URL", "id": "ID", "mde": "MDE", "mape": "MAPE",
    # week over week, in the same words in every review (drift.history.week_over_week_table,
    # infrastructure.core.week_over_week_table): "this week", "last week", "change"
    "this_week": "this week", "last_week": "last week", "statistic_this_week": "statistic, this week",
    "statistic_last_week": "statistic, last week", "status_this_week": "status, this week",
    "status_last_week": "status, last week",
    "brier": "Brier", "median_h": "median delay", "p90_h": "p90 delay", "p99_h": "p99 delay", "max_h": "max delay",
}


def week_over_week_caption(window: Any) -> str:
    """The caption of a week-over-week table, the same in every review: which weeks 'this week' and
    'last week' are ('this week is 2026-W47, last week 2026-W46'; a window that is no ISO week by its dates)."""
    import datetime as dt_

    prev = window.previous()
    if re.fullmatch(r"\d{4}-W\d{2}", str(window.label)):
        y, w, _ = prev.start.isocalendar()
        return f"this week is {window.label}, last week {y}-W{w:02d}"
    last = lambda w_: f"{w_.start:%Y-%m-%d} to {w_.end - dt_.timedelta(seconds=1):%Y-%m-%d}"  # noqa: E731
    return f"this week is {last(window)}, last week the window before it ({last(prev)})"


# --- single values -------------------------------------------------------------------------------

def is_missing(v: Any) -> bool:
    """True for None, NaN, NaT and pd.NA."""
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def count(v: Any) -> str:
    """An integer with thousands separators: 133183.2 -> '133,183'."""
    if is_missing(v):
        return DASH
    return f"{int(round(float(v))):,}"


def percent(v: Any, digits: int | None = None) -> str:
    """A ratio as a percentage: 0.0981 -> '9.8%'; small shares keep a significant digit (0.00012 -> '0.012%')."""
    if is_missing(v):
        return DASH
    x = float(v) * 100
    if digits is None:
        a = abs(x)
        digits = 0 if a >= 99.95 and a == round(a) else 1 if a >= 1 or a == 0 else 2 if a >= 0.1 else 3
    s = f"{x:.{digits}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s + "%"


def p_value(v: Any) -> str:
    """'< 0.001' for tiny p-values (never 'p = 0' or 1e-40), else three decimals."""
    if is_missing(v):
        return DASH
    x = float(v)
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def duration(v: Any) -> str:
    """A duration as people say it: '45 s', '51 min', '2 h 05 min', '3 d 4 h' (findings.duration, so a
    sentence and a table cell read the same). Accepts Timedelta or seconds."""
    from workbench.findings import duration as in_words

    return DASH if is_missing(v) else in_words(v)


def _special(v: Any) -> str | None:
    """How a missing value, a bool or an infinity reads in any numeric column; None for a plain number."""
    if is_missing(v):
        return DASH
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    x = float(v)
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return None


def number(v: Any, sig: int = 4) -> str:
    """A plain number with `sig` significant digits, thousands separators, never scientific notation."""
    special = _special(v)
    if special is not None:
        return special
    x = float(v)
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) < TINY:  # as findings print it: '2.3×10⁻⁷', not a row of zeros or '< 0.00000001'
        return tiny(x)
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, sig - 1 - mag)
    s = f"{x:,.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def points(v: Any) -> str:
    """A difference of two ratios in percentage points, signed: 0.005 -> '+0.5 pp' (as findings say it)."""
    if is_missing(v):
        return DASH
    return pp(float(v))


def sli(v: Any) -> str:
    """A service level indicator as a percentage with two decimals, as the SLO findings quote it:
    0.99791 -> '99.79%' (99.8% would hide most of the distance to a 99.5% objective)."""
    return percent(v, 2)


def effect(v: Any) -> str:
    """A statistic, effect size, threshold or metric value as the findings' sentences print it (findings.num)."""
    special = _special(v)
    return special if special is not None else num(float(v))


def hours(v: Any) -> str:
    """A number of hours as a duration: 71.7 -> '3 d'."""
    return DASH if is_missing(v) else duration(float(v) * 3600)


def seconds(v: Any) -> str:
    """A number of seconds as latency is read: 0.207 -> '207 ms', 1.5 -> '1.5 s'."""
    return with_unit(v, "seconds")


def yes_no(v: Any) -> str:
    """True -> 'yes', False -> 'no'."""
    return DASH if is_missing(v) else ("yes" if bool(v) else "no")


def timestamp(v: Any) -> str:
    """A timestamp as 'Mon 17 Nov 14:05' (UTC, minutes); a midnight date as 'Mon 17 Nov'."""
    if is_missing(v):
        return DASH
    t = pd.Timestamp(v)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC")
    if t.hour == 0 and t.minute == 0 and t.second == 0:
        return t.strftime("%a %d %b")
    return t.strftime("%a %d %b %H:%M")


def metric_name(key: Any) -> str:
    """A metric's key as a reader names it, in tables, figures and findings alike: 'roc_auc' -> 'ROC AUC',
    'mae' -> 'MAE', 'log_loss' -> 'log loss', a per-class 'recall_1' -> 'recall (class 1)' (the keys stay
    in the findings' JSON)."""
    return header(key)


# the metrics a reader reads as a percentage (MAPE: 0.083 is an 8.3% error), one place for every table,
# sentence, figure and the week page; keyed by the metric (its key or its name), never by a column's name
PERCENT_METRICS = frozenset({"mape"})


def is_percent_metric(key: Any) -> bool:
    """True for a metric shown as a percentage, by its key ('mape') or its name ('MAPE')."""
    return str(key).strip().lower() in PERCENT_METRICS


def metric_value(key: Any, v: Any, change: bool = False) -> str:
    """Metric `key`'s value (or, with `change`, a difference of two of its values) as a reader reads it:
    MAPE as a percentage ('8.3%'; a change in percentage points, '+1.2 pp'), any other metric as the
    findings print it (findings.num)."""
    if is_percent_metric(key):
        return points(v) if change else percent(v)
    return effect(v)


def metric_interval(key: Any, v: Any, lo: Any, hi: Any) -> tuple[str, str, str]:
    """Metric `key`'s value and its interval as a reader reads them, in sentences and tables alike:
    MAPE as percentages, any other metric with one number of decimals for all three (findings.interval)."""
    if is_percent_metric(key):
        return tuple(DASH if is_missing(x) else percent(x) for x in (v, lo, hi))  # type: ignore[return-value]
    return interval(*(None if is_missing(x) else float(x) for x in (v, lo, hi)))


def header(name: Any, units: Mapping[str, str] | None = None) -> str:
    """A column name in words, with its unit in parentheses when one is known."""
    key = str(name)
    text = HEADERS.get(key.lower())
    per_class = re.fullmatch(r"(precision|recall|f1)_(\d+)", key.lower()) if text is None else None
    if per_class:  # a per-class metric as a column (the CBPE estimate, versions): 'recall (class 1)'
        text = f"{HEADERS.get(per_class.group(1), per_class.group(1))} (class {per_class.group(2)})"
    if text is None:
        text = re.sub(r"_+", " ", key).strip()
    unit = (units or {}).get(key)
    return f"{text} ({unit})" if unit else text


# --- a column's kind ---------------------------------------------------------------------------------

def _when(v: Any) -> str:
    """A timestamp, or a word standing in for one ('still firing') as it is."""
    return v if isinstance(v, str) else timestamp(v)


# the kinds a caller can declare for a column, and how each is shown
KINDS: dict[str, Any] = {
    "count": count,        # whole events with separators (Prometheus' fractional increase() included)
    "ratio": percent,      # a share in [0, 1] (or a relative change) shown as a percentage
    "sli": sli,            # a service level indicator: a percentage with two decimals
    "points": points,      # a difference of two ratios, in percentage points
    "p_value": p_value,    # '< 0.001' below 0.001
    "effect": effect,      # a test statistic, effect size, distance or threshold (findings.num)
    "metric": effect,      # a model metric value or its interval (metric_value: MAPE as %, others findings.num)
    "metric_change": effect,  # a difference of two values of one metric (metric_value: MAPE in pp)
    "number": number,      # any other number: 4 significant digits
    "seconds": seconds,    # a float of seconds: '207 ms', '1.5 s'
    "hours": hours,        # a float of hours: '3 d 4 h'
    "duration": duration,  # a Timedelta (or seconds) in words
    "timestamp": _when,    # 'Mon 17 Nov 14:05' UTC
    "bool": yes_no,
    "text": str,
}


def dtype_kind(s: pd.Series) -> str:
    """The kind of an undeclared column from its values' type alone (never from its name): durations,
    timestamps, booleans, integers as counts, other numbers as numbers, the rest as text."""
    if pd.api.types.is_timedelta64_dtype(s):
        return "duration"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "timestamp"
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_integer_dtype(s):
        return "count"
    if pd.api.types.is_numeric_dtype(s):
        return "number"
    vals = s.dropna()
    if not len(vals):
        return "text"
    for kind, types in (("duration", (pd.Timedelta, dt.timedelta)), ("timestamp", (pd.Timestamp, dt.datetime)),
                        ("bool", (bool, np.bool_))):
        if all(isinstance(v, types) for v in vals):
            return kind
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in vals):
        return dtype_kind(pd.to_numeric(s, errors="coerce"))
    return "text"


def check_kinds(kinds: Mapping[str, str]) -> dict[str, str]:
    """`kinds` as a dict, every value one of KINDS (ValueError naming the column and the choices)."""
    out = dict(kinds or {})
    for col, kind in out.items():
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r} for column {col!r}; choose one of: {', '.join(KINDS)}")
    return out


def format_value(v: Any, kind: str) -> str:
    """`v` formatted as a value of column kind `kind` (missing -> '—')."""
    if is_missing(v):
        return DASH
    if kind == "text":
        return str(v)
    try:
        return KINDS[kind](v)
    except (TypeError, ValueError):
        return str(v)


# --- whole tables ------------------------------------------------------------------------------------

def _is_range_index(idx: pd.Index) -> bool:
    return isinstance(idx, pd.RangeIndex) or (idx.name is None and not isinstance(idx, pd.MultiIndex)
                                               and pd.api.types.is_integer_dtype(idx)
                                               and list(idx) == list(range(len(idx))))


def tidy(df: pd.DataFrame, drop_empty: bool = True) -> pd.DataFrame:
    """The frame to show: a meaningful index turned into columns, a 0..n index dropped, empty columns dropped."""
    out = df.copy()
    if isinstance(out, pd.Series):
        out = out.to_frame()
    if not _is_range_index(out.index):
        names = [n if n else "" for n in (out.index.names or [None])]
        out.index.names = [n or "name" for n in names] if any(names) else ["" for _ in names]
        if all(n == "" for n in out.index.names):
            out.index.names = ["item" if len(names) == 1 else f"level {i}" for i in range(len(names))]
        out = out.reset_index()
        # an unnamed index of labels reads as the first column with an empty header
        out = out.rename(columns={"item": ""})
    else:
        out = out.reset_index(drop=True)
    if drop_empty and len(out):
        keep = [c for c in out.columns if not (out[c].map(is_missing) | out[c].astype(str).isin(["", "[]"])).all()]
        out = out[keep]
    out.columns = [str(c) for c in out.columns]
    return out


def table(df: pd.DataFrame | pd.Series | None, *, units: Mapping[str, str] | None = None,
          kinds: Mapping[str, str] | None = None, missing: str | Mapping[str, str] = "",
          caption: str = "", drop_empty: bool = True, empty: str = "nothing to show",
          intervals: Mapping[str, tuple[str, str]] | None = None) -> Any:
    """`df` as a Styler for people (see the module docstring); `kinds` declares each column's kind
    (one of KINDS; entries for absent columns are ignored, so one dict can serve several frames; an
    undeclared column goes by its dtype), `missing` gives the reason behind a "—" (one text, or per
    column), `empty` is the sentence shown instead of an empty table; `intervals` declares the columns
    holding a value and its interval ({value: (low, high)}), written with one number of decimals per row
    as the findings write them (`_interval_cells`)."""
    from IPython.display import HTML

    from workbench.pages import render_snippet

    if df is None:
        return HTML(render_snippet("note", empty))
    frame = tidy(df if isinstance(df, pd.DataFrame) else df.to_frame(), drop_empty=drop_empty)
    if frame.empty or not len(frame.columns):
        return HTML(render_snippet("note", empty))
    kinds = check_kinds(kinds or {})
    col_kinds = {c: kinds.get(c) or dtype_kind(frame[c]) for c in frame.columns}
    shown = pd.DataFrame({c: _metric_cells(frame, c, col_kinds[c]) or [format_value(v, col_kinds[c]) for v in frame[c]]
                          for c in frame.columns})
    _interval_cells(frame, shown, col_kinds, intervals or {})
    # a "—" gets its reason as a footnote marker
    reasons = {c: (missing.get(c, "") if isinstance(missing, Mapping) else missing) for c in frame.columns}
    notes: list[str] = []
    for c in frame.columns:
        if reasons[c] and (shown[c] == DASH).any():
            if reasons[c] not in notes:
                notes.append(reasons[c])
            mark = "*" * (notes.index(reasons[c]) + 1)
            shown.loc[shown[c] == DASH, c] = DASH + mark
    shown.columns = [header(c, units) for c in frame.columns]
    # headers of text columns must stay unique for the Styler
    shown = shown.loc[:, ~pd.Index(shown.columns).duplicated()]
    numeric = [header(c, units) for c in frame.columns if col_kinds[c] not in ("text", "timestamp", "bool")]
    # values come from databases and Prometheus labels: escaped, never markup
    styler = (shown.style.format(escape="html").format_index(escape="html", axis=1)
              .hide(axis="index").set_table_attributes(_declaration(frame, col_kinds, kinds, units)))
    styler = styler.set_properties(subset=[c for c in numeric if c in shown.columns], **{"text-align": "right"})
    styler = styler.set_properties(subset=[c for c in shown.columns if c not in numeric], **{"text-align": "left"})
    styler = styler.set_table_styles([
        {"selector": "th", "props": "text-align: left; padding: 3px 10px; border-bottom: 1px solid #999;"},
        {"selector": "td", "props": "padding: 3px 10px; vertical-align: top;"},
        {"selector": "caption", "props": "caption-side: bottom; text-align: left; color: #555; font-size: 90%;"},
    ])
    foot = [caption] if caption else []
    foot += [f"{'*' * (i + 1)} {DASH}: {n}" for i, n in enumerate(notes)]
    if foot:
        styler = styler.set_caption(render_snippet("caption", foot))  # the Styler shows a caption as markup
    return styler


def _metric_cells(frame: pd.DataFrame, col: str, kind: str) -> list[str] | None:
    """A metric column's cells, each formatted by its metric (`metric_value`): the column's own when
    it is named after one ('mape' in a per-day trend), else each row's `metric` (the headline table);
    None for a column of another kind."""
    if kind not in ("metric", "metric_change"):
        return None
    keys = ([col] * len(frame) if is_percent_metric(col) else
            list(frame["metric"]) if "metric" in frame.columns else [None] * len(frame))
    return [DASH if is_missing(v) else metric_value(k, v, change=kind == "metric_change")
            for k, v in zip(keys, frame[col])]


def _interval_cells(frame: pd.DataFrame, shown: pd.DataFrame, col_kinds: Mapping[str, str],
                    intervals: Mapping[str, tuple[str, str]]) -> None:
    """Rewrite in `shown` each declared value and its interval's bounds, row by row, as one
    (metric_interval for a metric column, findings.interval for a statistic): '0.728', '0.725', '0.730'
    rather than '0.728', '0.725', '0.73'. Other kinds (percentages, points) already share their decimals."""
    for col, (low, high) in intervals.items():
        if not {col, low, high} <= set(frame.columns) or col_kinds[col] not in ("metric", "effect"):
            continue
        keys = ([col] * len(frame) if is_percent_metric(col) else
                list(frame["metric"]) if "metric" in frame.columns else [None] * len(frame))
        for i, (k, v, lo, hi) in enumerate(zip(keys, frame[col], frame[low], frame[high])):
            if is_missing(v):
                continue
            cells = metric_interval(k, v, lo, hi)
            for c, text in zip((col, low, high), cells):
                if not is_missing(frame[c].iloc[i]):
                    shown.iloc[i, shown.columns.get_loc(c)] = text


def _declaration(frame: pd.DataFrame, col_kinds: Mapping[str, str], declared: Mapping[str, str],
                 units: Mapping[str, str] | None) -> str:
    """The table's attributes: its class, and each column's kind as shown (`data-kinds`, header ->
    kind) so the published page can be checked against it (workbench.artifact); `data-rounded` names
    the columns whose kind was guessed as "count" although values were not whole numbers."""
    import json

    from workbench.pages import render_snippet

    heads = {c: header(c, units) for c in frame.columns}
    rounded = [heads[c] for c in frame.columns if col_kinds[c] == "count" and c not in declared
               and _has_fraction(frame[c])]
    return render_snippet("table_attributes", json.dumps({heads[c]: k for c, k in col_kinds.items()}),
                          json.dumps(rounded) if rounded else "")


def _has_fraction(s: pd.Series) -> bool:
    """True when a numeric column holds a value that is not a whole number."""
    x = pd.to_numeric(s, errors="coerce").dropna()
    x = x[np.isfinite(x)]
    return bool(len(x)) and bool((np.abs(x - np.round(x)) > 1e-9).any())


def key_values(pairs: Iterable[tuple[str, Any]] | Mapping[str, Any], caption: str = "") -> Any:
    """A two-column 'what / value' table (values already formatted or formatted as numbers)."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    rows = [(k, v if isinstance(v, str) else format_value(v, "number")) for k, v in items]
    return table(pd.DataFrame(rows, columns=["", "value"]), kinds={"value": "text"}, caption=caption)


def record(df: pd.DataFrame, row: int = 0, units: Mapping[str, str] | None = None,
           kinds: Mapping[str, str] | None = None, caption: str = "") -> Any:
    """One row of a frame shown as 'what / value' lines, each value formatted by its column's kind
    (a one-row summary reads better downwards than as a wide table headed 0)."""
    if df is None or df.empty:
        return table(None)
    kinds = check_kinds(kinds or {})
    pairs = []
    for c in df.columns:
        v = df[c].iloc[row]
        if is_missing(v) or (isinstance(v, str) and not v):
            continue
        kind = kinds.get(c) or dtype_kind(df[c])
        pairs.append((header(c, units), format_value(v, kind)))
    return table(pd.DataFrame(pairs, columns=["", "value"]), kinds={"value": "text"}, caption=caption)


# how a value with a per-row unit (the infrastructure headline numbers) is shown
_RATIO_UNITS = {"ratio", "share", "fraction"}
_COUNT_UNITS = {"requests", "connections", "predictions", "count", "errors", "series"}


def with_unit(v: Any, unit: str, change: bool = False) -> str:
    """`v` in `unit` as people read it: ratios as % (a change of a ratio in percentage points),
    counts with separators (below 100 a fraction is a mean and keeps its decimals: a mean of 10.05
    connections against 10 read '10', '10', '+0' next to a relative change of 0.50%), seconds as ms/s, bytes as MiB/GiB."""
    if is_missing(v):
        return DASH
    u = (unit or "").lower()
    x = float(v)
    sign = "+" if change and x > 0 else ""
    if u in _RATIO_UNITS:
        return f"{x * 100:+.2f} pp" if change else percent(x, 2 if abs(x) < 0.999995 and abs(x) > 0.99 else None)
    if u in _COUNT_UNITS:  # whole events; a small fractional one is a mean ('10.05 connections'), kept
        return sign + (count(x) if abs(x) >= 100 or x == round(x) else number(x))
    if u in ("seconds", "s"):
        return sign + (f"{number(x * 1000, 3)} ms" if abs(x) < 1 else f"{number(x, 3)} s")
    if u == "bytes":
        for factor, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(x) >= factor:
                return f"{sign}{number(x / factor, 3)} {name}"
        return f"{sign}{count(x)} bytes"
    return sign + number(x) + (f" {unit}" if unit else "")


def unit_rows(df: pd.DataFrame, unit_col: str = "unit", value_cols: Iterable[str] = ("value", "previous"),
              change_cols: Iterable[str] = ("change",)) -> pd.DataFrame:
    """A frame whose rows have their own unit, with every value formatted in its row's unit (the
    unit column is dropped: each value carries it)."""
    out = df.copy()
    for c in value_cols:
        if c in out:
            out[c] = [with_unit(v, u) for v, u in zip(out[c], out[unit_col])]
    for c in change_cols:
        if c in out:
            out[c] = [with_unit(v, u, change=True) for v, u in zip(out[c], out[unit_col])]
    return out.drop(columns=[unit_col])
