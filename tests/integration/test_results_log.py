"""The performance review's MLflow run, against a real local MLflow store (SQLite): one run per model
and period, updated (not duplicated) on a re-run, undefined metrics skipped, the HTML attached beside
the store, and every failure named as MLflow's."""

import pytest

from workbench import results_log
from workbench.errors import SourceUnavailable

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(uri)  # the test makes its own store; the workbench never creates one
    client.search_experiments()  # creates the schema
    return root, uri, client


def test_a_period_has_one_run_updated_by_a_rerun(store):
    root, uri, client = store
    first = results_log.log_period(client, "churn", "2026-W47", ["1.3.0", "1.2.0"],
                                   {"accuracy": 0.725, "roc_auc": float("nan"), "f1": None})
    again = results_log.log_period(client, "churn", "2026-W47", ["1.3.0"], {"accuracy": 0.73})
    other = results_log.log_period(client, "churn", "2026-W46", ["1.3.0"], {"accuracy": 0.85})
    assert first == again != other
    assert results_log.find_run(client, "churn", "2026-W47") == first
    assert results_log.find_run(client, "revenue", "2026-W47") is None
    run = client.get_run(first)
    assert run.data.metrics == {"accuracy": 0.73}  # NaN and None were never logged; the re-run updated it
    history = [m.value for m in client.get_metric_history(first, "accuracy")]
    assert history == [0.725, 0.73]
    assert run.data.tags["model_version"] == "1.3.0" and run.data.tags["workbench.period"] == "2026-W47"
    exp = client.get_experiment_by_name(results_log.EXPERIMENT)
    assert exp.artifact_location == (root / "mlartifacts").resolve().as_uri()  # beside the store, not ./mlruns


def test_the_report_is_attached_under_reports(store, tmp_path):
    _, uri, client = store
    rid = results_log.log_period(client, "revenue", "2026-W47", ["2.0.0"], {"mae": 6.4})
    html = tmp_path / "02-performance-review.html"
    html.write_text("<html>report</html>")
    results_log.attach_report_to(uri, rid, html)
    assert [a.path for a in client.list_artifacts(rid, "reports")] == ["reports/02-performance-review.html"]


def test_attaching_to_a_missing_store_names_mlflow_and_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "mlflow.db"
    html = tmp_path / "r.html"
    html.write_text("x")
    with pytest.raises(SourceUnavailable, match="MLflow"):
        results_log.attach_report_to(f"sqlite:///{missing}", "0" * 32, html)
    assert not missing.exists()


def test_artifact_root_only_for_local_sqlite_stores(tmp_path):
    assert results_log.artifact_root(f"sqlite:///{tmp_path / 'm.db'}") == (tmp_path / "mlartifacts").as_uri()
    assert results_log.artifact_root("http://mlflow:5000") is None
    assert results_log.artifact_root(None) is None
