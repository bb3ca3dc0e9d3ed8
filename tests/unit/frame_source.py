"""A prediction source over a pandas DataFrame that implements ONLY the abstract methods of
`PredictionSource`: every count, bin, per-day count and value a review asks for comes from the
interface's defaults. Tests run the reviews on it and on a real store over the same rows
(`write_sqlite` writes those rows as a SQLite log)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable

import pandas as pd

from workbench.config import StoreParams, Window
from workbench.sources.base import STANDARD, TIME_COLUMNS, PredictionSource


class FrameSource(PredictionSource):
    """Rows of `frame`, which holds the standard columns (model_name, timestamp, ...) and the
    features; the params' unmapped (None) columns are not offered, as a store would not."""

    def __init__(self, frame: pd.DataFrame, params: StoreParams | None = None) -> None:
        df = frame.copy()
        for c in TIME_COLUMNS:
            if c in df:
                df[c] = pd.to_datetime(df[c], utc=True)
        self.frame = df
        mapped = (params or StoreParams()).columns.model_dump()
        self.keys = [k for k, v in mapped.items() if v is not None and STANDARD[k] in df]
        self.features = [c for c in df.columns if c not in STANDARD.values()]

    def describe(self) -> str:
        return "a DataFrame in memory"

    def read(self, model: str, window: Window, features: Iterable[str] = (), core: Iterable[str] | None = None
             ) -> pd.DataFrame:
        df = self.frame
        rows = df[(df["model_name"] == model) & (df["timestamp"] >= pd.Timestamp(window.start))
                  & (df["timestamp"] < pd.Timestamp(window.end))]
        keys = self.keys if core is None else [k for k in core if k in self.keys]
        return rows[[STANDARD[k] for k in keys] + list(features)].reset_index(drop=True)

    def newest(self, model: str) -> pd.Timestamp | None:
        ts = self.frame.loc[self.frame["model_name"] == model, "timestamp"]
        return None if ts.empty else ts.max()

    def models(self) -> list[str]:
        return sorted(self.frame["model_name"].unique())

    def feature_columns(self) -> list[str]:
        return list(self.features)


def write_sqlite(path: Path, df: pd.DataFrame, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """`df` as the table `predictions` of a SQLite file, timestamps as naive UTC text in `fmt` (as
    another application writes them); its URL."""
    out = df.copy()
    for c in ("timestamp", "outcome_timestamp"):
        out[c] = pd.to_datetime(out[c]).dt.strftime(fmt)
    with sqlite3.connect(path) as con:
        out.to_sql("predictions", con, index=False)
    return f"sqlite:///{path}"
