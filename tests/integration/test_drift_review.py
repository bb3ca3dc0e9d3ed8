"""The drift review against the demo stack: injected drift found, untouched features left alone,
reference profile stored with the model version and reused."""

import pytest

from workbench import context
from workbench.drift import core as drift, history as drift_history
from workbench.drift.profile_cache import ARTIFACT_DIR

pytestmark = pytest.mark.integration

UNTOUCHED = {"internet_service", "payment_method", "senior_citizen", "paperless_billing", "num_support_tickets"}


@pytest.fixture
def ctx(demo_stack, monkeypatch, tmp_path):
    root, _ = demo_stack
    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(root))
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return context.open_review("churn-predictor", source="demo")


def test_injected_drift_is_found_and_untouched_features_are_not(ctx):
    report = drift.review(ctx)
    drifted = set(report.drifted_features)
    assert {"monthly_charges", "contract"} <= drifted
    assert not (drifted & UNTOUCHED)
    effects = report.to_frame().set_index("feature")["effect_size"]
    assert (effects[list(UNTOUCHED)] < 0.02).all()  # tiny, not just below a p-value cut
    assert report.ranked()["feature"].iloc[0] == "monthly_charges"  # the largest effect


def test_profile_is_an_mlflow_artifact_and_is_reused(ctx, tmp_path):
    drift.review(ctx)
    run_id = ctx.registry.run_id("churn-predictor", ctx.latest_version())
    names = [f.path for f in ctx.registry.client.list_artifacts(run_id, ARTIFACT_DIR)]
    assert len(names) == 1 and names[0].endswith(".npz")
    cached = list((tmp_path / "cache" / "profiles" / "churn-predictor").glob("*.npz"))
    assert len(cached) == 1
    # with the file cache gone the profile comes back from MLflow, not from the reference data
    cached[0].unlink()
    calls = []
    original = ctx.registry.reference
    ctx.registry.reference = lambda *a: calls.append(a) or original(*a)
    drift.reference_profile(ctx)
    assert calls == []


def test_drift_over_time_shows_the_shift_starting_in_the_window(ctx):
    grid = drift_history.over_time(ctx, weeks_back=2).to_frame()
    mc = grid[grid["feature"] == "monthly_charges"].set_index("period")
    inside = mc[mc.index >= ctx.window.start]
    before = mc[mc.index < ctx.window.start - __import__("pandas").Timedelta(days=1)]
    assert inside["drifted"].all() and not before["drifted"].any()
    wow = drift_history.week_over_week(ctx, drift.review(ctx)).set_index("feature")
    assert wow.loc["monthly_charges", "change"] == "new drift"
