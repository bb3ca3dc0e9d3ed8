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


def read_parquet(path: str | Path) -> pd.DataFrame:
    """A Parquet file read on the calling thread. Arrow's reader thread pool can abort the process
    at interpreter exit ("terminate called without an active exception", apache/arrow#34314), which
    turned a passing `workbench check` into exit code -6; a reference file is small, so threads buy
    nothing here."""
    import pyarrow.parquet as pq

    return pq.read_table(str(path), use_threads=False).to_pandas(use_threads=False)


def load_reference_file(path: str | Path) -> pd.DataFrame:
    """Reference (training) data from a .parquet or .csv file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"reference file {p} not found")
    if p.suffix == ".parquet":
        return read_parquet(p)
    if p.suffix == ".csv":
        return pd.read_csv(p)
    raise ConfigError(f"reference file {p}: use .parquet or .csv")


# tables every MLflow store has; a SQLite file without them is not a store (MLflow would create and migrate one)
_STORE_TABLES = {"experiments", "runs", "metrics", "registered_models", "model_versions", "alembic_version"}


def bound_http(request_timeout: float = 30, max_retries: int = 2) -> None:
    """Bound MLflow's HTTP client (its documented MLFLOW_HTTP_REQUEST_* settings, read per call):
    without this an unreachable server costs minutes of retries per call."""
    import os

    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(max(1, int(request_timeout)))
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(int(max_retries))
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = "1"
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"] = "0"


def check_store(tracking_uri: str) -> None:
    """Refuse a local store MLflow would silently create or migrate: a SQLite file (or store folder)
    that does not exist, an empty or foreign SQLite file, or a corrupt one; the error names the path."""
    import sqlite3
    from urllib.parse import unquote, urlsplit

    shown = redact(tracking_uri)
    if tracking_uri.startswith("sqlite:"):
        path = unquote(tracking_uri.split(":///", 1)[1]) if ":///" in tracking_uri else ""
        path = path.split("?", 1)[0]
        if not path or path == ":memory:":
            raise ConfigError(f"MLflow at {shown}: names no SQLite file")
        if not Path(path).is_file():
            raise SourceUnavailable(f"MLflow at {shown}: the SQLite store {path} does not exist "
                                    "(workbench never creates an MLflow store: check MLFLOW_TRACKING_URI)")
        try:
            con = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            kind = "locked" if "locked" in str(exc) else "corrupt or not a database"
            raise SourceUnavailable(f"MLflow at {shown}: the SQLite store {path} is {kind}: {exc}") from exc
        if not _STORE_TABLES <= tables:
            raise SourceUnavailable(f"MLflow at {shown}: {path} is not an MLflow store (tables missing: "
                                    f"{', '.join(sorted(_STORE_TABLES - tables))}); workbench never creates or "
                                    "migrates one (run `mlflow db upgrade` yourself if it should be one)")
    elif tracking_uri.startswith("file:") or "://" not in tracking_uri:
        path = unquote(urlsplit(tracking_uri).path) if tracking_uri.startswith("file:") else tracking_uri
        if not Path(path).is_dir():
            raise SourceUnavailable(f"MLflow at {shown}: the store folder {path} does not exist "
                                    "(workbench never creates an MLflow store: check MLFLOW_TRACKING_URI)")


def mlflow_error(tracking_uri: str, what: str, exc: BaseException) -> SourceUnavailable:
    """`exc` as "MLflow at <redacted uri>: <what>: <class>: <MLflow's own first line>"."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    shown = redact(tracking_uri)
    return SourceUnavailable(f"MLflow at {shown}: {what}: {type(exc).__name__}: "
                             f"{redact(text.replace(tracking_uri, shown))}")


def client(tracking_uri: str, request_timeout: float = 30, max_retries: int = 2):
    """An MlflowClient for an existing store, its HTTP calls bounded."""
    from mlflow.tracking import MlflowClient

    bound_http(request_timeout, max_retries)
    check_store(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri)


@dataclass
class ModelRegistry:
    """Reads registered model versions from an MLflow tracking server or store."""

    tracking_uri: str = field(repr=False)
    request_timeout: float = 30
    max_retries: int = 2

    def __post_init__(self) -> None:
        self.client = client(self.tracking_uri, self.request_timeout, self.max_retries)

    @property
    def display_uri(self) -> str:
        return redact(self.tracking_uri)

    def error(self, what: str, exc: Exception) -> SourceUnavailable:
        """`exc` as "MLflow at <redacted uri>: <what>: <class>: <MLflow's message>"."""
        return self._fail(what, exc)

    def _fail(self, what: str, exc: Exception) -> SourceUnavailable:
        return mlflow_error(self.tracking_uri, what, exc)

    @timed_call("MLflow: versions")
    def versions(self, model: str) -> dict[str, str]:
        """model_version tag (e.g. '1.2.0') -> run id, for every registered version of `model`."""
        name = model.replace("'", "\\'")
        try:
            found = self.client.search_model_versions(f"name='{name}'")
        except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's
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
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        try:
            return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=dst,
                                                            tracking_uri=self.tracking_uri))
        except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's
            raise self._fail(f"downloading {artifact} of run {run_id}", exc) from exc

    def read_artifact(self, run_id: str, artifact: str) -> bytes | None:
        """The bytes of one run artifact, or None when the run has no such artifact."""
        parent = artifact.rsplit("/", 1)[0] if "/" in artifact else ""
        try:
            names = {f.path for f in self.client.list_artifacts(run_id, parent or None)}
        except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's
            raise self._fail(f"listing artifacts of run {run_id}", exc) from exc
        if artifact not in names:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            return self._download(run_id, artifact, tmp).read_bytes()

    def write_artifact(self, run_id: str, path: Path, artifact_dir: str) -> str:
        """Attach a file to a run; '' when done, else why the store refused it (not an error)."""
        try:
            self.client.log_artifact(run_id, str(path), artifact_dir)
            return ""
        except Exception as exc:  # noqa: BLE001 - any store error is a reason to report, not a crash
            return str(self._fail(f"attaching {Path(path).name} to run {run_id}", exc))

    @timed_call("MLflow: reference data")
    def reference(self, model: str, version: str) -> pd.DataFrame:
        """The reference (training) data logged with the model version."""
        with tempfile.TemporaryDirectory() as tmp:
            return read_parquet(self._download(self.run_id(model, version), REFERENCE_ARTIFACT, tmp))

    @timed_call("MLflow: training metrics")
    def training_metrics(self, model: str, version: str) -> dict[str, float]:
        """Metrics logged by the version's training run (the performance baseline)."""
        run_id = self.run_id(model, version)
        try:
            return dict(self.client.get_run(run_id).data.metrics)
        except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's
            raise self._fail(f"reading run {run_id}", exc) from exc

    @timed_call("MLflow: feature importances")
    def feature_importances(self, model: str, version: str) -> pd.Series:
        """Feature importances logged with the version, largest first."""
        with tempfile.TemporaryDirectory() as tmp:
            data = json.loads(self._download(self.run_id(model, version), IMPORTANCES_ARTIFACT, tmp).read_text())
        return pd.Series(data, name="importance").sort_values(ascending=False)
