"""The findings data model: levels are decided by the worst finding, apart from the run status."""

import pytest

from workbench.findings import Finding, level_of, worst
from workbench.reviews import review_name


def test_level_is_the_worst_finding():
    info = Finding("info", "tenure", "tenure did not drift (D = 0.01 < 0.1)", kind="feature")
    warn = Finding("warning", "labels", "label coverage 40% is below 50%", kind="labels")
    alert = Finding("alert", "accuracy", "accuracy 0.725 is below 0.75", kind="metric")
    assert level_of([]) == "ok"
    assert level_of([info]) == "ok"
    assert level_of([info, warn]) == "warning"
    assert level_of([warn, alert, info]) == "alert"
    # a failed section without worse findings is "not computed", never "ok"
    assert level_of([info], not_computed=True) == "not computed"
    assert level_of([alert], not_computed=True) == "alert"


def test_worst_of_levels_ranks_failed_runs_as_not_computed():
    assert worst([]) == "ok"
    assert worst(["ok", "warning", "ok"]) == "warning"
    assert worst(["ok", "not computed"]) == "not computed"
    assert worst(["warning", "alert"]) == "alert"
    assert worst(["ok", "failed"]) == "not computed"


def test_finding_round_trips_and_rejects_unknown_severity():
    f = Finding("alert", "accuracy", "accuracy 0.725 [0.722, 0.728] is below 0.75", kind="metric",
                anchor="headline", value=0.725)
    assert Finding.from_dict(f.to_dict()) == f
    with pytest.raises(ValueError, match="severity 'fatal'"):
        Finding("fatal", "x", "y")
    with pytest.raises(ValueError, match="kind 'thing'"):
        Finding("info", "x", "y", kind="thing")


@pytest.mark.parametrize("notebook,review", [("01-drift-review", "drift"), ("02-performance-review", "performance"),
                                             ("03-infrastructure-review", "infrastructure"), ("custom", "custom")])
def test_review_name(notebook, review):
    assert review_name(notebook) == review
