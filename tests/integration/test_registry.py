"""MLflow with a local SQLite backend store: registering and reading model versions."""

import pytest

from workbench.demo import registry
from workbench.errors import ConfigError
from workbench.sources.model_registry import ModelRegistry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory, small_history):
    d = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    registry.register_models(small_history, uri, d / "artifacts", seed=11)
    return uri


def test_versions_reference_metrics_importances(mlflow_uri, small_history):
    reg = ModelRegistry(mlflow_uri)
    assert set(reg.versions("churn-predictor")) == {"1.2.0", "1.3.0"}
    ref = reg.reference("churn-predictor", "1.3.0")
    expected = small_history.references[("churn-predictor", "1.3.0")]
    assert ref.shape == expected.shape and ref["monthly_charges"].equals(expected["monthly_charges"])
    from sklearn.metrics import accuracy_score

    m = reg.training_metrics("churn-predictor", "1.3.0")
    assert m["accuracy"] == pytest.approx(accuracy_score(expected["target"], expected["prediction"]))
    imp = reg.feature_importances("revenue-predictor", "2.0.0")
    assert imp.index[0] == "monthly_charges" and imp.sum() == pytest.approx(1.0, abs=1e-3)


def test_unknown_version_lists_registered(mlflow_uri):
    with pytest.raises(ConfigError, match="registered: 1.2.0, 1.3.0"):
        ModelRegistry(mlflow_uri).reference("churn-predictor", "9.9.9")
