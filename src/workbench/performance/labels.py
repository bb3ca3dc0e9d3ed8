"""Delayed labels: how many predictions have their outcome yet, and how long outcomes take."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.errors import InsufficientData

NO_OUTCOME_TIME = ("cannot be computed without an outcome time: store.columns.outcome_timestamp is not set "
                   "(label coverage and the metrics do not need it)")


def _outcome_times(df: pd.DataFrame) -> pd.Series:
    """The outcome time column; InsufficientData (a problem for the report, not a KeyError) without one."""
    if "outcome_timestamp" not in df:
        raise InsufficientData(NO_OUTCOME_TIME)
    return df["outcome_timestamp"]


def coverage_by_day(*frames: pd.DataFrame, freq: str = "D") -> pd.DataFrame:
    """Per period (by prediction time): predictions, labelled predictions and the label coverage,
    over one or more frames (e.g. the weeks before the window and the window: counted apart and
    added, never concatenated)."""
    counts = []
    for df in frames:
        if len(df):
            g = df["actual_outcome"].notna().groupby(df["timestamp"].dt.floor(freq))
            counts.append(pd.DataFrame({"predictions": g.size(), "labelled": g.sum()}))
    if not counts:
        return pd.DataFrame(columns=["period", "predictions", "labelled", "label_coverage"])
    out = pd.concat(counts).groupby(level=0).sum()
    out["label_coverage"] = out["labelled"] / out["predictions"]
    return out.rename_axis("period").reset_index()


def delay_hours(df: pd.DataFrame) -> pd.Series:
    """outcome_timestamp - timestamp in hours, for predictions whose outcome arrived."""
    arrived = _outcome_times(df).notna()
    lab = df[arrived]
    return ((lab["outcome_timestamp"] - lab["timestamp"]).dt.total_seconds() / 3600).rename("delay_hours")


def delay_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Label delay quantiles (hours) and how many outcomes have not arrived."""
    d = delay_hours(df)
    q = d.quantile([0.5, 0.9, 0.99]) if len(d) else pd.Series([np.nan] * 3, index=[0.5, 0.9, 0.99])
    return pd.DataFrame([{"labelled": len(d), "unlabelled": int(len(df) - len(d)), "median_h": q[0.5],
                          "p90_h": q[0.9], "p99_h": q[0.99], "max_h": d.max() if len(d) else np.nan}])


def maturity(df: pd.DataFrame, now: pd.Timestamp, max_age_days: int = 14) -> pd.DataFrame:
    """Daily cohort x age (days since prediction): the share of the cohort labelled within that age.
    Ages the cohort has not reached yet are left empty."""
    outcome_times = _outcome_times(df)
    d = df.copy()
    d["cohort"] = d["timestamp"].dt.floor("D")
    age = (outcome_times - d["timestamp"]).dt.total_seconds() / 86400
    rows = {}
    for cohort, g in d.groupby("cohort"):
        a = age.loc[g.index]
        reached = (now - cohort).total_seconds() / 86400
        # the cohort's last predictions are `reached - 1` days old: later ages are not observed yet
        rows[cohort] = {k: (float((a <= k).mean()) if k <= reached - 1 else np.nan) for k in range(1, max_age_days + 1)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "cohort"
    out.columns = [f"{k}d" for k in out.columns]
    return out
