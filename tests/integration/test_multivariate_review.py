"""Multivariate drift against the demo stack: the window read day by day through the store (a
bounded sample), the reference as the drift review reads it, one value per day of the window."""

import pandas as pd
import pytest

from workbench import context
from workbench.drift import multivariate

pytestmark = pytest.mark.integration


@pytest.fixture
def ctx(demo_stack, monkeypatch, tmp_path):
    root, _ = demo_stack
    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(root))
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return context.open_review("churn-predictor", source="demo")


def test_review_reads_a_bounded_sample_per_day_and_gives_one_value_per_day(ctx):
    ctx.monitoring.drift_detection.multivariate.sample_rows = 3000
    r = multivariate.review(ctx)
    assert not r.problems, r.problems
    n_window = ctx.store.count(ctx.model.name, ctx.window)
    assert abs(r.n_current - min(3000, n_window)) <= 7 and r.n_reference <= 3000  # days rounded
    days = pd.date_range(pd.Timestamp(ctx.window.start).floor("D"), pd.Timestamp(ctx.window.end), freq="1D",
                         inclusive="left")
    assert list(r.daily["day"]) == [f"{d:%Y-%m-%d}" for d in days]
    assert r.daily["n"].sum() == r.n_current
    assert set(r.features) >= {"monthly_charges", "contract"}
    assert r.findings and all(f.anchor == multivariate.ANCHOR for f in r.findings)
    # the demo's drift (monthly charges shifted, contract mix moved) is a change of the joint distribution too
    assert r.classifier["auc"] > 0.55
