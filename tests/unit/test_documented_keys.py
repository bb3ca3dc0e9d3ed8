"""The shipped params and the drift notebook document the drift settings a reader needs to trust a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from workbench import config

ROOT = Path(__file__).resolve().parents[2]


def test_monitoring_yaml_lists_daily_exact_max_rows_with_its_default():
    raw = yaml.safe_load((ROOT / "params" / "monitoring.yaml").read_text())["drift_detection"]
    default = config.DriftDetection.model_fields["daily_exact_max_rows"].default
    assert raw["daily_exact_max_rows"] == default
    assert config.load_monitoring(ROOT / "params" / "monitoring.yaml").drift_detection.daily_exact_max_rows == default


def test_drift_notebook_says_how_day_cells_are_tested_and_what_borderline_means():
    from workbench.drift.core import BORDERLINE

    nb = json.loads((ROOT / "notebooks" / "01-drift-review.ipynb").read_text())
    cells = {c["id"]: "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"}
    over_time = next(t for t in cells.values() if 'id="drift-over-time"' in t)
    default = config.DriftDetection.model_fields["daily_exact_max_rows"].default
    assert "`drift_detection.daily_exact_max_rows`" in over_time and f"{default:,}" in over_time
    assert "exact KS" in over_time
    drifted = next(t for t in cells.values() if 'id="drifted-features"' in t)
    assert "**borderline**" in drifted and f"within {BORDERLINE:.0%} of its `min_effect`" in drifted
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")  # still stripped
