"""Which prediction rows the performance metrics may use, and what is wrong with the others.

A probability of 1.7 or +inf, a label 2, -1 or 'yes' under a binary classifier, a prediction logged
twice or an outcome stamped before its prediction silently changes AUC, log loss and accuracy (or
fails the review far from its cause). Each is counted here, per column, as a data-quality finding;
the metrics use the valid rows only and say how many were left out. A classifier whose predictions
hold many distinct values is a regression model declared as a classifier: refused with the fix
before any per-class table is built (a 1M-row float prediction made the confusion matrix ~22 GB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.errors import ConfigError

if TYPE_CHECKING:
    from workbench.config import ModelSpec
    from workbench.findings import Finding

CLASSES = (0.0, 1.0)  # a classifier's declared classes: the metrics are binary, the probability is class 1's
MAX_CLASSES = 20  # more distinct prediction values than this is no classifier (workbench init's rule too)
NUMERIC = ("prediction", "probability", "actual_outcome")


@dataclass
class Problem:
    """One kind of bad value in one column: how many rows, and a few examples."""

    column: str
    what: str  # e.g. "outside the classes 0, 1"
    count: int
    examples: list = field(default_factory=list)
    left_out: bool = True  # the rows are left out of the metrics (else: only noted)


@dataclass
class RowCheck:
    """The rows the metrics may use (`valid`, a boolean mask over the frame) and the problems found."""

    valid: np.ndarray
    problems: list[Problem] = field(default_factory=list)

    @property
    def n_left_out(self) -> int:
        return int(len(self.valid) - self.valid.sum())

    def note(self) -> str:
        """One phrase for the metrics' notes: how many rows were left out, and why."""
        if not self.n_left_out:
            return ""
        why = "; ".join(f"{p.count:,} with {p.column} {p.what}" for p in self.problems if p.left_out)
        return f"on the valid rows: {self.n_left_out:,} left out ({why})"

    def findings(self, anchor: str = "headline") -> list["Finding"]:
        """One data-quality finding per column and problem, naming the column and the count."""
        from workbench.findings import Finding

        out = []
        for p in self.problems:
            shown = f" (e.g. {', '.join(_show(v) for v in p.examples)})" if p.examples else ""
            then = "those rows are left out of the metrics" if p.left_out else "the probability metrics are undefined"
            rows = f"{p.count:,} row{'s' if p.count != 1 else ''}"
            out.append(Finding("warning", p.column, f"{p.column}: {p.what} in {rows}{shown}: {then}.",
                               "data_quality", anchor, float(p.count),
                               {"column": p.column, "count": p.count, "problem": p.what}))
        return out


def _show(v) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return f"{float(v):g}"
    return str(v)


def _examples(values: pd.Series, mask: np.ndarray, k: int = 3) -> list:
    """Up to k distinct values of the flagged rows (none for missing values: there is nothing to show)."""
    shown = [v for v in pd.unique(values[mask].to_numpy(dtype=object)) if not pd.isna(v)]
    return shown[:k]


def as_number(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The column as floats (NaN where missing or not a number) and where it held text that is no number."""
    if s.dtype == np.float64:
        return s, np.zeros(len(s), dtype=bool)
    num = pd.to_numeric(s, errors="coerce").astype(float)
    return num, (num.isna() & s.notna()).to_numpy()


def check_rows(df: pd.DataFrame, spec: "ModelSpec", guard: bool = True) -> tuple[pd.DataFrame, RowCheck]:
    """The frame with prediction, probability and outcome as numbers, and which rows are valid.

    Left out of the metrics: a prediction missing, not a number or ±inf; an outcome that is not a
    number or ±inf (a missing outcome is an unlabelled row, not an error); for a classifier a
    prediction or outcome outside CLASSES and a probability ±inf, < 0 or > 1; a repeated
    prediction_id (the first is kept); an outcome stamped before its prediction. A missing
    probability is counted but not left out (the probability metrics say they are undefined).
    `guard` raises ConfigError when a classifier's predictions hold more than MAX_CLASSES values."""
    n = len(df)
    valid = np.ones(n, dtype=bool)
    problems: list[Problem] = []
    if n == 0:
        return df, RowCheck(valid)
    out = df
    classifier = spec.type == "classification"

    def flag(column: str, what: str, bad: np.ndarray, raw: pd.Series, left_out: bool = True) -> None:
        count = int(bad.sum())
        if count:
            problems.append(Problem(column, what, count, _examples(raw, bad), left_out))
            if left_out:
                valid[bad] = False

    for col in NUMERIC:
        if col not in df:
            continue
        raw = df[col]
        num, text = as_number(raw)
        if num is not raw:
            out = out if out is not df else df.copy()
            out[col] = num
        x = num.to_numpy()
        missing = np.isnan(x) & ~text
        flag(col, "not a number", text, raw)
        flag(col, "±inf", np.isinf(x), raw)
        if col == "prediction":
            flag(col, "missing (NULL or NaN)", missing, raw)
            if classifier and guard:
                _guard_classes(spec, x)
        if col == "probability" and classifier:
            flag(col, "missing (NULL or NaN)", missing, raw, left_out=False)
            if classifier:
                flag(col, "outside [0, 1]", np.isfinite(x) & ((x < 0) | (x > 1)), raw)
        if classifier and col in ("prediction", "actual_outcome"):
            flag(col, f"outside the classes {', '.join(f'{c:g}' for c in CLASSES)}",
                 np.isfinite(x) & ~np.isin(x, CLASSES), raw)
    if "prediction_id" in df:
        dup = df["prediction_id"].duplicated(keep="first").to_numpy() & df["prediction_id"].notna().to_numpy()
        flag("prediction_id", "an id logged before (a repeated prediction)", dup, df["prediction_id"])
    if "outcome_timestamp" in df and "timestamp" in df:
        early = (df["outcome_timestamp"] < df["timestamp"]).to_numpy(dtype=bool, na_value=False)
        flag("outcome_timestamp", "before the prediction's timestamp", early, df["outcome_timestamp"])
    check = RowCheck(valid, problems)
    if check.n_left_out:
        out = out[valid].reset_index(drop=True)
    return out, check


def too_many_classes(predictions: np.ndarray) -> str:
    """'95,000 distinct values (e.g. 0.23, 1.7, 3.1)' when predictions hold more than MAX_CLASSES
    distinct values (no classifier's), else ""."""
    x = predictions[np.isfinite(predictions)]
    distinct = pd.unique(x)
    if len(distinct) <= MAX_CLASSES:
        return ""
    whole = bool(np.all(distinct == np.round(distinct)))
    shown = ", ".join(f"{v:g}" for v in distinct[:3])
    return f"{len(distinct):,} distinct {'whole numbers' if whole else 'values'} (e.g. {shown})"


def _guard_classes(spec: "ModelSpec", predictions: np.ndarray) -> None:
    """ConfigError naming the fix when a classifier's predictions hold more than MAX_CLASSES values."""
    many = too_many_classes(predictions)
    if many:
        raise ConfigError(f"weekly.yaml models[{spec.name}].type is classification, but its predictions hold "
                          f"{many}; a classifier's are the classes {', '.join(f'{c:g}' for c in CLASSES)}: "
                          "declare type: regression")


MISMATCH_SHARE = 0.5  # more than this share of sampled values wrong: the declaration (or coding) is wrong


def declared_type_problems(sample: pd.DataFrame, spec: "ModelSpec") -> list[tuple[str, str, str, str]]:
    """What `workbench check` says about a sample of a model's rows against its declared type: a list
    of (severity "error" | "warning", column, what is wrong, the fix). Errors are declarations the data
    contradicts (a classifier with float predictions, classes coded other than 0/1, probabilities
    that are scores); warnings are a few bad rows, which the review leaves out and reports."""
    out: list[tuple[str, str, str, str]] = []
    where = f"weekly.yaml models[{spec.name}]"
    for col in NUMERIC:
        if col not in sample or sample[col].notna().sum() == 0:
            continue
        raw = sample[col]
        num, text = as_number(raw)
        x = num.to_numpy()
        present = int(raw.notna().sum())
        if text.any():
            share = text.sum() / present
            out.append(("error" if share > MISMATCH_SHARE else "warning", col,
                        f"{int(text.sum()):,} of {present:,} sampled values are not numbers "
                        f"(e.g. {', '.join(_show(v) for v in _examples(raw, text))})",
                        "store numbers in this column" if share > MISMATCH_SHARE else
                        "the review leaves those rows out and reports them"))
        finite = x[np.isfinite(x)]
        if spec.type != "classification" or not len(finite):
            continue
        if col in ("prediction", "actual_outcome") and (many := too_many_classes(finite)):
            if not any(c == "prediction" and "declare type: regression" in f for _, c, _, f in out):
                out.append(("error", col, f"type: classification, but the sampled {col} column holds {many}",
                            f"{where}: declare type: regression"))
            continue
        if col == "probability":
            bad = (finite < 0) | (finite > 1)
            what, fix = "outside [0, 1]", "log the probability of class 1 (predict_proba[:, 1]), not a score"
        else:
            bad = ~np.isin(finite, CLASSES)
            what = f"outside the classes {', '.join(f'{c:g}' for c in CLASSES)}"
            fix = f"code the classes as 0 and 1 ({where}.positive_class names the positive one)"
        if bad.any():
            # systematic: most values wrong, or classes coded otherwise (one of 0 / 1 never appears, e.g. 1/2)
            systematic = bad.sum() / len(finite) > MISMATCH_SHARE or (
                col != "probability" and not np.isin(CLASSES, finite).all())
            shown = ", ".join(f"{v:g}" for v in pd.unique(finite[bad])[:3])
            out.append(("error" if systematic else "warning", col,
                        f"{int(bad.sum()):,} of {len(finite):,} sampled values {what} (e.g. {shown})",
                        fix if systematic else "the review leaves those rows out and reports them"))
    return out
