"""The last two tolerances that were module constants are params (issue 22 item 5): the band that makes a
drift verdict "borderline" (`drift_detection.borderline_tolerance`) and the share of the rolling error
budget below which a met SLO is "burning" (`infrastructure.slo_low_budget`). Their defaults are the old
constants, and the value in the params is the one the reviews use."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import config
from workbench.config import DriftDetection
from workbench.drift import core as drift
from workbench.infrastructure import slo

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_old_constants_and_the_shipped_params_list_them():
    assert config.default_of(DriftDetection, "borderline_tolerance") == drift.BORDERLINE == 0.1
    assert config.default_of(config.InfrastructureParams, "slo_low_budget") == slo.LOW_BUDGET == 0.25
    assert config.load_monitoring(ROOT / "params" / "monitoring.yaml").drift_detection.borderline_tolerance == 0.1
    assert config.load_weekly(ROOT / "params" / "weekly.yaml").infrastructure.slo_low_budget == 0.25
    with pytest.raises(ValueError, match="borderline_tolerance"):
        DriftDetection(borderline_tolerance=1.5)
    with pytest.raises(ValueError, match="slo_low_budget"):
        config.InfrastructureParams(slo_low_budget=0)


def _shifted_frames():
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"x": rng.normal(0.0, 1.0, 4000)})
    cur = pd.DataFrame({"x": rng.normal(0.25, 1.0, 4000)})
    return ref, cur


def _borderline_findings(tolerance: float | None):
    """detect_drift on a clearly significant shift whose KS D sits 15% below the feature's min_effect."""
    ref, cur = _shifted_frames()
    d = stats.ks_2samp(ref["x"], cur["x"])
    assert d.pvalue < 1e-6  # significant: only the floor keeps it from drifting
    floor = d.statistic / 0.85  # D is 15% below the floor
    extra = {} if tolerance is None else {"borderline_tolerance": tolerance}
    dd = DriftDetection(**extra, models={"m": {"features": {"x": {"method": "ks", "min_effect": floor}}}})
    rep = drift.detect_drift(ref, cur, dd, "m")
    (r,) = rep.results
    assert r.statistic == pytest.approx(d.statistic) and r.drifted is False
    return r, [f for f in rep.findings if "borderline" in f.sentence]


def test_borderline_tolerance_from_the_params_decides_borderline():
    r, found = _borderline_findings(None)  # default 10%: 15% away from the floor is not borderline
    assert not r.borderline and found == []
    r, found = _borderline_findings(0.2)  # 20%: it is
    assert r.borderline and r.borderline_tolerance == 0.2
    (f,) = found
    assert f.severity == "info" and "within 20%" in f.sentence and f.extra["borderline"] is True
    assert "within 20% of min_effect" in r.borderline_note()


def _slo_review(monkeypatch, low_budget: float | None):
    """slo.run for a fake context whose SLO was met this week with 30% of the rolling budget left."""
    st = pd.DataFrame([
        {"objective": "/predict availability", "window": "2026-W47", "target": 0.995, "sli": 0.997,
         "budget_consumed": 0.6, "budget_remaining": 0.4, "met": "yes", "note": ""},
        {"objective": "/predict availability", "window": "rolling 28d", "target": 0.995, "sli": 0.9965,
         "budget_consumed": 0.7, "budget_remaining": 0.3, "met": "yes", "note": ""}])
    monkeypatch.setattr(slo, "status", lambda *a: st)
    monkeypatch.setattr(slo, "burn_rates",
                        lambda *a: pd.DataFrame(columns=["timestamp", "value", "objective", "burn_window"]))
    infra = config.InfrastructureParams() if low_budget is None else config.InfrastructureParams(
        slo_low_budget=low_budget)
    ctx = SimpleNamespace(params=SimpleNamespace(infrastructure=infra), prometheus=None, queries=None,
                          window=SimpleNamespace(label="2026-W47"),
                          params_path=lambda kind: ROOT / "params" / f"{kind}.yaml")
    return slo.run(ctx)


def test_slo_low_budget_from_the_params_decides_burning(monkeypatch):
    (met,) = _slo_review(monkeypatch, None).findings  # default 25%: 30% left is met
    assert met.severity == "info" and met.sentence.startswith("SLO met")
    (burning,) = _slo_review(monkeypatch, 0.4).findings  # 40%: 30% left is burning
    assert burning.severity == "warning" and burning.sentence.startswith("SLO burning")
    assert burning.sentence.endswith("(less than 40% left).") and burning.value == pytest.approx(0.3)
