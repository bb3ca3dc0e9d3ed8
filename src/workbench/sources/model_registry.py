"""MLflow as the model registry: reference data, training metrics and feature importances of a
model version; or a reference from a Parquet/CSV path when there is no MLflow."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.config import redact
from workbench.errors import ConfigError, SourceUnavailable
from workbench.timing import timed_call

REFERENCE_ARTIFACT = "reference/reference.parquet"
IMPORTANCES_ARTIFACT = "feature_importances.json"


def load_reference_file(path: str | Path) -> pd.DataFrame:
    """Reference (training) data from a .parquet or .csv file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"reference file {p} not found")
    if p.suffix == ".parquet":
        return pd.read_parquet(p)
    if p.suffix == ".csv":
        return pd.read_csv(p)
    raise ConfigError(f"reference file {p}: use .parquet or .csv")


@dataclass
class ModelRegistry:
    """Reads registered model versions from an MLflow tracking server or store."""

    tracking_uri: str = field(repr=False)

    def __post_init__(self) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=self.tracking_uri)

    @property
    def display_uri(self) -> str:
        return redact(self.tracking_uri)

    def _fail(self, what: str, exc: Exception) -> SourceUnavailable:
        text = str(exc).splitlines()[0] if str(exc) else ""
        text = redact(text.replace(self.tracking_uri, self.display_uri))
        return SourceUnavailable(f"MLflow at {self.display_uri}: {what}: {type(exc).__name__}: {text}")

    @timed_call("MLflow: versions")
    def versions(self, model: str) -> dict[str, str]:
        """model_version tag (e.g. '1.2.0') -> run id, for every registered version of `model`."""
        from mlflow.exceptions import MlflowException

        name = model.replace("'", "\\'")
        try:
            found = self.client.search_model_versions(f"name='{name}'")
        except MlflowException as exc:
            raise self._fail(f"listing versions of {model!r}", exc) from exc
        return {mv.tags.get("model_version", str(mv.version)): mv.run_id for mv in found}

    def run_id(self, model: str, version: str) -> str:
        vs = self.versions(model)
        if version not in vs:
            raise ConfigError(f"model {model!r} has no registered version {version!r} in MLflow; "
                              f"registered: {', '.join(sorted(vs)) or 'none'}")
        return vs[version]

    def _download(self, run_id: str, artifact: str, dst: str) -> Path:
        import os

        import mlflow
        from mlflow.exceptions import MlflowException

        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        try:
            return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=dst,
                                                            tracking_uri=self.tracking_uri))
        except (MlflowException, OSError) as exc:
            raise self._fail(f"downloading {artifact} of run {run_id}", exc) from exc

    def read_artifact(self, run_id: str, artifact: str) -> bytes | None:
        """The bytes of one run artifact, or None when the run has no such artifact."""
        from mlflow.exceptions import MlflowException

        parent = artifact.rsplit("/", 1)[0] if "/" in artifact else ""
        try:
            names = {f.path for f in self.client.list_artifacts(run_id, parent or None)}
        except (MlflowException, OSError) as exc:
            raise self._fail(f"listing artifacts of run {run_id}", exc) from exc
        if artifact not in names:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            return self._download(run_id, artifact, tmp).read_bytes()

    def write_artifact(self, run_id: str, path: Path, artifact_dir: str) -> bool:
        """Attach a file to a run; False (not an error) when the store refuses it."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.log_artifact(run_id, str(path), artifact_dir)
            return True
        except (MlflowException, OSError):
            return False

    @timed_call("MLflow: reference data")
    def reference(self, model: str, version: str) -> pd.DataFrame:
        """The reference (training) data logged with the model version."""
        with tempfile.TemporaryDirectory() as tmp:
            return pd.read_parquet(self._download(self.run_id(model, version), REFERENCE_ARTIFACT, tmp))

    @timed_call("MLflow: training metrics")
    def training_metrics(self, model: str, version: str) -> dict[str, float]:
        """Metrics logged by the version's training run (the performance baseline)."""
        from mlflow.exceptions import MlflowException

        run_id = self.run_id(model, version)
        try:
            return dict(self.client.get_run(run_id).data.metrics)
        except MlflowException as exc:
            raise self._fail(f"reading run {run_id}", exc) from exc

    @timed_call("MLflow: feature importances")
    def feature_importances(self, model: str, version: str) -> pd.Series:
        """Feature importances logged with the version, largest first."""
        with tempfile.TemporaryDirectory() as tmp:
            data = json.loads(self._download(self.run_id(model, version), IMPORTANCES_ARTIFACT, tmp).read_text())
        return pd.Series(data, name="importance").sort_values(ascending=False)
