"""The demo prediction DB: one predictions table in the shape of the guide's PerformanceTracker
record, one column per feature. Works on SQLite (the default) and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import (Column, DateTime, Float, Index, Integer, MetaData, String, Table, Engine,
                        insert)

from workbench.demo.data import CATEGORICAL_FEATURES, NUMERIC_FEATURES


def predictions_table(metadata: MetaData, name: str = "predictions") -> Table:
    """The predictions table definition (timestamps timezone-aware UTC)."""
    cols = [
        Column("prediction_id", String(40), primary_key=True),
        Column("model_name", String(100), nullable=False),
        Column("model_version", String(40), nullable=False),
        Column("variant", String(20)),
        Column("timestamp", DateTime(timezone=True), nullable=False),
        *[Column(f, Float) for f in NUMERIC_FEATURES],
        *[Column(f, String(40)) for f in CATEGORICAL_FEATURES],
        Column("prediction", Float, nullable=False),
        Column("probability", Float),
        Column("actual_outcome", Float),
        Column("outcome_timestamp", DateTime(timezone=True)),
    ]
    t = Table(name, metadata, *cols)
    Index(f"ix_{name}_model_time", t.c.model_name, t.c.timestamp)
    return t


def _py(v):
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def write_predictions(engine: Engine, df: pd.DataFrame, table: str = "predictions", chunk: int = 50_000) -> int:
    """(Re)create the predictions table on `engine` and insert `df`; returns rows written."""
    md = MetaData()
    t = predictions_table(md, table)
    md.drop_all(engine, tables=[t])
    md.create_all(engine, tables=[t])
    cols = [c.name for c in t.columns]
    frame = df[cols].astype(object)
    if engine.dialect.name == "sqlite":
        # SQLite keeps naive text: store UTC wall time (normalised again on read)
        for c in ("timestamp", "outcome_timestamp"):
            frame[c] = df[c].dt.tz_convert("UTC").dt.tz_localize(None).astype(object)
    frame = frame.where(pd.notna(frame), None)
    n = 0
    with engine.begin() as conn:
        for start in range(0, len(frame), chunk):
            part = frame.iloc[start:start + chunk]
            rows = [dict(zip(cols, map(_py, r))) for r in part.itertuples(index=False, name=None)]
            conn.execute(insert(t), rows)
            n += len(rows)
    return n
