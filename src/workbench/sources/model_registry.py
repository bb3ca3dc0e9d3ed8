"""MLflow as the model registry: reference data, training metrics and feature importances of a
model version; or a reference from a Parquet/CSV path when there is no MLflow."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd

from workbench.config import redact
from workbench.errors import ConfigError, SourceUnavailable
from workbench.timing import timed_call

log = logging.getLogger(__name__)
REFERENCE_ARTIFACT = "reference/reference.parquet"
IMPORTANCES_ARTIFACT = "feature_importances.json"
# the file of MLflow answers `workbench report` fetched once for its notebooks (see Answers)
ANSWERS_ENV = "WORKBENCH_MLFLOW_ANSWERS"


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


def _uri_key(tracking_uri: str) -> str:
    """Which MLflow a file of answers came from, without writing its URI (it may hold a password) nor
    a hash of the password (an unsalted hash can be guessed offline): the hash of the redacted URI."""
    return hashlib.sha256(redact(tracking_uri).encode()).hexdigest()


@dataclass
class Answers:
    """What a run's notebooks ask MLflow — each model's versions, each version's run metrics and
    artifact location — fetched once by `workbench report` and handed to the kernels, so a kernel
    needs no MLflow client (importing it and opening its store cost ~4 s per notebook). Anything not
    in here (a model left out, an artifact that is not a local file) is asked of MLflow itself."""

    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> version tag -> run id
    runs: dict[str, dict] = field(default_factory=dict)  # run id -> {"metrics": {...}, "artifact_uri": "..."}

    def save(self, path: Path, tracking_uri: str) -> Path:
        path.write_text(json.dumps({"mlflow": _uri_key(tracking_uri), "versions": self.versions, "runs": self.runs}))
        return path

    @classmethod
    def from_env(cls, tracking_uri: str) -> "Answers | None":
        """The answers the runner left for this kernel (ANSWERS_ENV), if they are for this MLflow."""
        path = os.environ.get(ANSWERS_ENV, "")
        if not path:
            return None
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            return None  # gone or unreadable: ask MLflow itself
        if data.get("mlflow") != _uri_key(tracking_uri):
            return None
        return cls(data.get("versions") or {}, data.get("runs") or {})

    def local_artifacts(self, run_id: str) -> Path | None:
        """The run's artifact folder when it is a local path (file: URI or plain path), else None."""
        uri = (self.runs.get(run_id) or {}).get("artifact_uri") or ""
        if uri.startswith("file:"):
            return Path(unquote(urlsplit(uri).path))
        if uri and "://" not in uri:
            return Path(uri)
        return None


def fetch_answers(tracking_uri: str, models: list[str], path: Path, request_timeout: float = 30,
                  max_retries: int = 2) -> Path | None:
    """Fetch `models`' Answers from MLflow into `path` (for the run's kernels); None if MLflow could
    not answer: each kernel then asks MLflow itself and reports what fails, as without this."""
    try:
        reg = ModelRegistry(tracking_uri, request_timeout, max_retries)
        answers = Answers()
        for model in models:
            versions = reg.versions(model)
            for run_id in versions.values():
                if run_id in answers.runs:
                    continue
                run = reg.client.get_run(run_id)
                answers.runs[run_id] = {"metrics": dict(run.data.metrics), "artifact_uri": run.info.artifact_uri}
            answers.versions[model] = versions
        return answers.save(path, tracking_uri)
    except Exception as exc:  # noqa: BLE001 - a shortcut only: the notebooks will say what is wrong
        log.info("each notebook asks MLflow itself: %s", mlflow_error(tracking_uri, "prefetching answers", exc))
        return None


@dataclass
class ModelRegistry:
    """Reads registered model versions from an MLflow tracking server or store. With `answers`
    (fetched by the runner) it opens no client until it needs one that the answers cannot replace."""

    tracking_uri: str = field(repr=False)
    request_timeout: float = 30
    max_retries: int = 2
    answers: Answers | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.answers is None:  # opening the client is what tells a caller MLflow is there
            self._client = client(self.tracking_uri, self.request_timeout, self.max_retries)

    @property
    def client(self):
        """MLflow's client, opened on first use when answers were given."""
        if getattr(self, "_client", None) is None:
            self._client = client(self.tracking_uri, self.request_timeout, self.max_retries)
        return self._client

    @client.setter
    def client(self, value) -> None:
        self._client = value

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
        if self.answers is not None and model in self.answers.versions:
            return dict(self.answers.versions[model])
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

    def _local_artifact(self, run_id: str, artifact: str) -> Path | None:
        """Where `artifact` of the run lies when the answers place its artifacts in a local folder."""
        folder = self.answers.local_artifacts(run_id) if self.answers else None
        return None if folder is None else folder / artifact

    def _download(self, run_id: str, artifact: str, dst: str) -> Path:
        local = self._local_artifact(run_id, artifact)
        if local is not None:  # what MLflow's local artifact repository would copy, read in place
            if not local.is_file():
                raise self._fail(f"downloading {artifact} of run {run_id}",
                                 FileNotFoundError(f"no artifact {artifact} under {local.parent}"))
            return local
        import mlflow
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        try:
            return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=dst,
                                                            tracking_uri=self.tracking_uri))
        except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's
            raise self._fail(f"downloading {artifact} of run {run_id}", exc) from exc

    def read_artifact(self, run_id: str, artifact: str) -> bytes | None:
        """The bytes of one run artifact, or None when the run has no such artifact."""
        local = self._local_artifact(run_id, artifact)
        if local is not None:
            return local.read_bytes() if local.is_file() else None
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
        if self.answers is not None and run_id in self.answers.runs:
            return dict(self.answers.runs[run_id]["metrics"])
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
