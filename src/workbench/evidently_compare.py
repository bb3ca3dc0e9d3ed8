"""Evidently side by side: its DataDriftPreset on a sample of the same data with the same methods,
saved as its own HTML file (it inlines ~5 MB of JavaScript, so it is linked, never embedded)
and compared per feature with ours."""

from __future__ import annotations


import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.drift import DriftReport

if TYPE_CHECKING:
    from workbench.context import ReviewContext

from workbench import drift_methods as dm

# Evidently's stattest names and which of them are p-value tests come from the method registry.


def _sample(s: pd.Series, size: int, seed: int) -> pd.Series:
    if len(s) <= size:
        return s.reset_index(drop=True)
    idx = np.sort(np.random.default_rng(seed).choice(len(s), size, replace=False))
    return s.iloc[idx].reset_index(drop=True)


def run(ctx: "ReviewContext", ours: DriftReport, out_file: str | Path, sample_size: int = 20_000, seed: int = 0
        ) -> pd.DataFrame:
    """Run Evidently on up to `sample_size` rows a side, save its HTML, return the comparison table."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    from workbench.sources.model_registry import load_reference_file

    features = [r.feature for r in ours.results]
    if ctx.model.reference:
        reference = load_reference_file(ctx.root / ctx.model.reference)
    else:
        reference = ctx.registry.reference(ctx.model.name, ctx.serving_version())
    ref = pd.DataFrame({f: _sample(reference[f], sample_size, seed) for f in features})
    cur = pd.DataFrame({f: _sample(ctx.store.read_feature(ctx.model.name, ctx.window, f), sample_size, seed)
                        for f in features})
    evidently_tests = {m.evidently for m in dm.METHODS.values() if m.evidently and m.is_test}
    compared = [r for r in ours.results if dm.METHODS[r.method].evidently]  # methods Evidently lacks are skipped
    methods = {r.feature: dm.METHODS[r.method].evidently for r in compared}
    thresholds = {r.feature: r.threshold for r in compared}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = Report([DataDriftPreset(per_column_method=methods, per_column_threshold=thresholds)]).run(cur, ref)
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    snap.save_html(str(out_file))
    theirs = {}
    for m in snap.dict()["metrics"]:
        cfg = m.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift"):
            theirs[cfg["column"]] = (cfg["method"], float(m["value"]), float(cfg["threshold"]))
    rows = []
    for r in ours.results:
        method, value, thr = theirs.get(r.feature, (None, float("nan"), float("nan")))
        drift = (value < thr) if method in evidently_tests else (value >= thr)
        ours_value = r.p_value if r.p_value is not None else r.statistic
        rows.append({"feature": r.feature, "our method": r.method, "our value": ours_value, "our verdict": r.status,
                     "evidently method": method, "evidently value": value,
                     "evidently verdict": ("drift" if drift else "no drift") if method else "missing",
                     "agree": (r.status == "drift") == bool(drift) if method else False})
    return pd.DataFrame(rows)


def link(path: str | Path, text: str = "Evidently's report") -> str:
    """An HTML link to the saved Evidently report, relative to the report folder."""
    import html

    name = Path(path).name
    return f'<a href="{html.escape(name)}">{html.escape(text)} ({html.escape(name)})</a>'


