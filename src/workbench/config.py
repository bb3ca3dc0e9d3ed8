"""Parameter sets from params/*.yaml, validated on load, plus windows and env settings.

Only this module reads YAML. Errors name the file and the dotted key.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, field_validator, model_validator

from workbench.drift import methods as _dm
from workbench.errors import ConfigError

# Drift method names, kinds and default thresholds live in workbench.drift.methods (the registry);
# validation below asks it at validation time, so a method registered there is known here too.
ENV_PROMETHEUS = "WORKBENCH_PROMETHEUS_URL"
ENV_DATABASE = "WORKBENCH_DATABASE_URL"
ENV_MLFLOW = "MLFLOW_TRACKING_URI"
ENV_DEMO_DIR = "WORKBENCH_DEMO_DIR"
ENV_SLACK_WEBHOOK = "WORKBENCH_SLACK_WEBHOOK_URL"  # secret: never logged
ENV_SMTP = "WORKBENCH_SMTP_URL"  # smtp://user:password@host:port (smtps:// for TLS); the password is a secret
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(_Strict):
    # the name becomes a folder of the report tree: letters, digits and -_. only, never "." or ".."
    name: str = Field(min_length=1, max_length=100)
    type: Literal["classification", "regression"]
    # outcomes and predictions equal to this count as positive; the logged probability is that of class 1
    # (predict_proba[:, 1]), so with positive_class 0 the probability metrics use 1 - probability
    positive_class: int = 1
    # what the positive class means, in words ("employed", "churned"): reports describe the positive class
    # by this label and its value; without it by its value alone ("class 1"), never by a guessed domain word
    positive_label: str | None = Field(None, min_length=1, max_length=60)
    # reference (training) data as a .parquet/.csv path relative to the project; default: the
    # model version's reference artifact in MLflow
    reference: str | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not MODEL_NAME_RE.match(v):
            raise ValueError(f"model name {v!r} may hold only letters, digits and - _ . (starting with a letter "
                             "or digit): it names a folder of the report tree")
        return v


def default_of(schema: type[BaseModel], key: str) -> Any:
    """The default of params key `key` in `schema` (the one place a tolerance's default is written;
    the functions that take the tolerance default to this)."""
    return schema.model_fields[key].default


class SegmentParams(_Strict):
    """Weak segments (workbench.performance.segments): slices of one and two features searched for where
    the headline metric dropped against the reference window and is worse than the rest of the week."""

    enabled: bool = True  # search for weak segments in the performance review
    min_share: float = Field(0.02, gt=0, lt=1)  # a slice holds at least this share of the labelled predictions
    min_rows: int = Field(200, ge=1)  # ... and at least this many labelled predictions
    alpha: float = Field(0.01, gt=0, lt=1)  # false discovery rate (Benjamini-Hochberg over all slices tried)
    max_features: int = Field(12, ge=1, le=30)  # features searched (highest importance first where known)
    bins: int = Field(5, ge=2, le=20)  # numeric features: equal-count bins of the reference window
    max_categories: int = Field(10, ge=2)  # a numeric feature with at most this many values is a category
    error_bins: int = Field(40, ge=4, le=200)  # regression: bins of the absolute error (Mann-Whitney, bootstrap)
    max_segments: int = Field(5, ge=1)  # segments reported, largest cost first
    resamples: int = Field(1000, ge=0, le=100_000)  # bootstrap resamples of each reported segment's metric
    sample_rows: int = Field(20_000, ge=100)  # reference rows read to place the bin edges


class PerformanceParams(_Strict):
    min_samples: int = Field(10, ge=1)
    accuracy_alert_below: float = Field(0.75, ge=0, le=1)
    relative_drop_tolerance: float = Field(0.05, ge=0, le=1)  # flag metrics this much worse than the baseline
    bootstrap_resamples: int = Field(1000, ge=0, le=100_000)
    bootstrap_seed: int = 0
    trend_freq: str = "1D"
    weeks_back: int = Field(4, ge=0, le=52)  # trend history before the window
    class_count_tolerance: float = Field(0.01, ge=0)  # DB vs Prometheus predictions-by-class, relative
    ab_min_effect: float = Field(0.01, gt=0)  # smallest A/B difference worth deciding on
    # the `experiment` label of ab_test_conversions in Prometheus that the A/B conversions section reads
    ab_experiment: str = Field("model_v2", min_length=1)
    # absolute change of the labelled positive rate (window vs the weeks before, and vs the reference)
    # flagged as a base-rate shift: precision, PR AUC and accuracy then move without the model changing
    base_rate_tolerance: float = Field(0.05, gt=0, le=1)
    # realised accuracy this much below the CBPE estimate (over the days with outcomes) is a concept-drift warning
    cbpe_gap_tolerance: float = Field(0.03, gt=0, le=1)
    # log the window's metrics to MLflow (one run per model and period) — only when MLflow is configured
    log_to_mlflow: bool = True
    segments: SegmentParams = Field(default_factory=SegmentParams)  # weak segments (where the metric dropped)


class InfrastructureParams(_Strict):
    p95_latency_alert_seconds: float = Field(1.0, gt=0)
    error_ratio_alert: float = Field(0.05, gt=0, le=1)
    rate_window: str = "5m"
    scrape_interval: str = "60s"
    db_pool_size: int = Field(20, ge=1)
    max_firings: int = Field(10, ge=1)
    # a headline number that moved by more than this share week over week is a finding (a warning when
    # it got worse, else info)
    week_over_week_tolerance: float = Field(0.2, gt=0)
    # an SLO met this week, with less than this share of the rolling period's error budget left, is
    # "burning" (a warning)
    slo_low_budget: float = Field(0.25, gt=0, le=1)

    @field_validator("rate_window", "scrape_interval")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @model_validator(mode="after")
    def _rate_window_covers_four_scrapes(self) -> "InfrastructureParams":
        if parse_duration(self.rate_window) < 4 * parse_duration(self.scrape_interval):
            raise ValueError(f"rate_window {self.rate_window} must be at least 4 scrape intervals "
                             f"({self.scrape_interval}); rate() over fewer points is noise")
        return self


class IncidentParams(_Strict):
    """How the week's findings group into incidents (workbench.incidents)."""

    # timed findings (pages, alert episodes, outages) of one topic this close or overlapping are one incident:
    # a page's interval and its alert's episode lie a replay step or an alert's `for:` apart
    join_gap: str = "15m"
    # an incident whose timed finding ends this close to the window's end is still open (the replay's step)
    open_grace: str = "5m"

    @field_validator("join_gap", "open_grace")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class TimeoutParams(_Strict):
    """Upper bounds so a stuck source fails one section fast instead of hanging the run."""

    database_statement: str = "120s"  # PostgreSQL statement_timeout per query
    database_lock: str = "10s"        # PostgreSQL lock_timeout; SQLite busy timeout
    database_connect: str = "10s"
    mlflow_request: str = "30s"       # MLFLOW_HTTP_REQUEST_TIMEOUT per HTTP call
    mlflow_retries: int = Field(2, ge=0, le=10)  # MLFLOW_HTTP_REQUEST_MAX_RETRIES
    cell: str = "15m"                 # papermill execution_timeout: one notebook cell
    notebook: str = "45m"             # a whole notebook (each cell gets at most what is left)

    @field_validator("database_statement", "database_lock", "database_connect", "mlflow_request", "cell", "notebook")
    @classmethod
    def _duration(cls, v: str) -> str:
        if parse_duration(v) < 1:
            raise ValueError(f"{v!r} is below one second")
        return v

    def seconds(self, name: str) -> float:
        """The named timeout in seconds."""
        return parse_duration(getattr(self, name))


class HealthParams(_Strict):
    extra_urls: dict[str, str] = Field(default_factory=dict)


class Constant(_Strict):
    """A value every row has, for a table without the column (`model: {constant: churn-predictor}`)."""

    constant: str = Field(min_length=1)

    @field_validator("constant", mode="before")
    @classmethod
    def _as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v  # YAML reads 1.0 as a number


class StoreColumns(_Strict):
    id: str = "prediction_id"
    # a column name, or for a single-model table a constant: `model: {constant: NAME}`, `version: {constant: "3"}`
    model: str | Constant = "model_name"
    version: str | Constant = "model_version"
    variant: str | None = "variant"
    timestamp: str = "timestamp"
    prediction: str = "prediction"
    probability: str | None = "probability"
    outcome: str | None = "actual_outcome"
    outcome_timestamp: str | None = "outcome_timestamp"

    def constant(self, key: str) -> str | None:
        """The constant value mapped to `key` ('model', 'version'), or None when it is a column (or null)."""
        v = getattr(self, key)
        return v.constant if isinstance(v, Constant) else None

    def mapped(self) -> dict[str, Any]:
        """Mapped key -> its column name or constant (as dumped: {"constant": ...}), the keys set to null left out."""
        return {k: v for k, v in self.model_dump().items() if v is not None}

    def column_names(self) -> dict[str, str | None]:
        """Mapped key -> column name (None: not configured or a constant), for checking against the table."""
        return {k: (None if isinstance(v, Constant) else v) for k, v in self}


class FeatureLayout(_Strict):
    layout: Literal["columns", "json"] = "columns"  # duckdb+parquet reads columns only
    json_column: str | None = None


class StoreParams(_Strict):
    """Where and how the prediction log is stored (the demo's layout is the default). The URL in
    WORKBENCH_DATABASE_URL picks the engine: sqlite:///file.db, postgresql://…, or
    duckdb+parquet:///abs/folder (the Parquet layout by day, read by DuckDB: `pip install workbench[lake]`)."""

    table: str = "predictions"  # duckdb+parquet: not used (the folder is the table)
    schema_: str | None = Field(None, alias="schema")
    columns: StoreColumns = StoreColumns()
    features: FeatureLayout = FeatureLayout()

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$|^[^@\s<>,;\"]+@localhost$")


class NotifyParams(_Strict):
    """Where `workbench report --notify` sends the week's verdict besides the Slack webhook (env)."""

    email: list[str] = Field(default_factory=list)  # recipients
    email_from: str = "workbench@localhost"

    @field_validator("email")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for a in v:
            if not _EMAIL_RE.match(a):
                raise ValueError(f"{a!r} is not an e-mail address")
        return v

    @field_validator("email_from")
    @classmethod
    def _sender(cls, v: str) -> str:
        if not _EMAIL_RE.match(v):
            raise ValueError(f"{v!r} is not an e-mail address")
        return v


class ReportParams(_Strict):
    public_url: str | None = None  # where reports/ is served (links in notifications); else a file path


class WeeklyParams(_Strict):
    timezone: Literal["UTC"] = "UTC"
    models: list[ModelSpec] = Field(min_length=1)
    performance: PerformanceParams = Field(default_factory=PerformanceParams)
    infrastructure: InfrastructureParams = Field(default_factory=InfrastructureParams)
    incidents: IncidentParams = Field(default_factory=IncidentParams)
    notebooks: list[str] = Field(
        default_factory=lambda: ["01-drift-review", "02-performance-review", "03-infrastructure-review"],
        min_length=1,
    )
    store: StoreParams = Field(default_factory=StoreParams)
    health: HealthParams = Field(default_factory=HealthParams)
    notify: NotifyParams = Field(default_factory=NotifyParams)
    report: ReportParams = Field(default_factory=ReportParams)
    timeouts: TimeoutParams = Field(default_factory=TimeoutParams)

    @model_validator(mode="after")
    def _constant_model_is_configured(self) -> "WeeklyParams":
        const = self.store.columns.constant("model")
        names = [m.name for m in self.models]
        if const is not None and names != [const]:
            raise ValueError(f"store.columns.model is the constant {const!r} (a single-model table): models must "
                             f"list exactly that one model, not {', '.join(names)}")
        return self

    def model(self, name: str) -> ModelSpec:
        """The model named `name`, or a ConfigError listing the configured ones."""
        for m in self.models:
            if m.name == name:
                return m
        names = ", ".join(m.name for m in self.models)
        raise ConfigError(f"unknown model {name!r}; choose one of: {names}")


def _known_method(name: str) -> str:
    if name not in _dm.METHODS:
        raise ValueError(f"unknown drift method {name!r}; choose one of: {', '.join(_dm.method_names())}")
    return name


class FeatureDrift(_Strict):
    """One monitored feature. Everything is optional: `tenure: {}` (or `tenure:`) is a feature with the
    automatic type and method and the default threshold and effect floor."""

    # numeric | categorical; default: decided from the reference column (profile.infer_kind)
    type: Literal["numeric", "categorical"] | None = None
    method: str | None = None
    threshold: float | None = Field(None, gt=0)
    # the effect floor: drift also needs the method's effect size (KS D, Cramér's V, PSI, JS,
    # normalised Wasserstein) at or above this; default from the method registry, 0 switches it off
    min_effect: float | None = Field(None, ge=0)
    enabled: bool = True

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str | None) -> str | None:
        return v if v is None else _known_method(v)

    @property
    def kind(self) -> str | None:
        """The type the reference profile is fitted with: `type` if set, else the only kind the chosen
        method applies to (`method: wasserstein` means numeric, even for a count with few distinct
        values the automatic rule would call categorical), else None (decided from the reference)."""
        if self.type is not None or self.method is None:
            return self.type
        kinds = [k for k in ("numeric", "categorical") if _dm.METHODS[self.method].applies_to(k)]
        return kinds[0] if len(kinds) == 1 else None

    @model_validator(mode="after")
    def _threshold_needs_method(self) -> "FeatureDrift":
        if self.threshold is not None and self.method is None:
            raise ValueError("a threshold needs a method: thresholds mean different things per method "
                             "(p-value, PSI, distance)")
        if self.method is not None and self.type is not None and not _dm.METHODS[self.method].applies_to(self.type):
            fits = [n for n in _dm.method_names() if _dm.METHODS[n].applies_to(self.type)]
            raise ValueError(f"method {self.method!r} does not apply to {self.type} features; "
                             f"choose one of: {', '.join(fits)}")
        return self


class ModelDrift(_Strict):
    features: dict[str, FeatureDrift | None]

    @field_validator("features")
    @classmethod
    def _empty_is_default(cls, v: dict[str, FeatureDrift | None]) -> dict[str, FeatureDrift]:
        return {k: (f if f is not None else FeatureDrift()) for k, f in v.items()}


class MultivariateDrift(_Strict):
    """Multivariate drift (drift.multivariate): PCA reconstruction error and a domain classifier on a
    bounded sample of the reference and the window, over all drift features together."""

    enabled: bool = True
    sample_rows: int = Field(20_000, ge=200, le=1_000_000)  # rows a side (reference, window), sampled at random
    reconstruction: bool = True  # PCA reconstruction error (NannyML's data-reconstruction drift)
    pca_variance: float = Field(0.65, gt=0, lt=1)  # share of the reference's variance the kept components hold
    sigmas: float = Field(3.0, gt=0)  # band: the reference chunks' mean error ± this many sd
    classifier: bool = True  # domain classifier (gradient-boosted trees, reference vs window)
    # drift when the AUC interval's lower bound is above this (an effect floor: 0.5 means no difference;
    # benchmarks/multivariate_validity.py: 0 false alarms at the null, every correlation flip caught)
    auc_threshold: float = Field(0.65, gt=0.5, lt=1)
    folds: int = Field(5, ge=2, le=20)  # cross-validation folds of the domain classifier
    resamples: int = Field(200, ge=0, le=10_000)  # bootstrap resamples of the AUC interval (95%)
    max_iter: int = Field(100, ge=10, le=1000)  # boosting iterations of the classifier
    max_categories: int = Field(20, ge=2, le=200)  # one-hot columns per categorical feature (the rest: one column)
    threads: int = Field(1, ge=1, le=64)  # BLAS/OpenMP threads while fitting (threadpoolctl)
    seed: int = 0  # sampling, the reference split and the folds


class DriftDetection(_Strict):
    enabled: bool = True
    # per-method overrides of the registry's default thresholds and effect floors
    thresholds: dict[str, float] = Field(default_factory=dict)
    min_effects: dict[str, float] = Field(default_factory=dict)
    evidently: bool = False  # Evidently side by side in the drift review: a cross-check, ~6 s of CPU per model
    psi_bins: int = Field(10, ge=2, le=100)
    drift_share: float = Field(0.5, gt=0, le=1)
    min_samples: int = Field(30, ge=1)          # fewer values on either side: "insufficient data"
    min_window_rows: int = Field(1000, ge=0)    # a window with fewer predictions is flagged as small
    correction: Literal["none", "bh"] = "none"  # bh: Benjamini-Hochberg across the p-value tests
    missing_tolerance: float = Field(0.05, ge=0, le=1)  # change in missing share reported as drift
    daily_freq: str = "1D"                      # drift-over-time windows
    # a day with at most this many rows is tested on its values (exact KS / Wasserstein, as scipy);
    # a bigger day on its counts over 100 reference-percentile bins (KS bounded: see drift.daily)
    daily_exact_max_rows: int = Field(200_000, ge=0)
    # a window with more rows than this has its KS / Wasserstein features counted by the engine over 100
    # reference-quantile bins (plus tail bins) instead of read, each statistic with its error bound (see
    # drift.histogram); None: always read the values (exact, memory grows with rows)
    exact_max_rows: int | None = Field(500_000, ge=0)
    # a significant feature whose effect size is within this share of its min_effect (either side) is
    # "borderline": the floor alone decides, so it can flip drift / no drift week to week
    borderline_tolerance: float = Field(0.1, ge=0, lt=1)
    models: dict[str, ModelDrift] = Field(default_factory=dict)
    multivariate: MultivariateDrift = Field(default_factory=MultivariateDrift)  # see drift.multivariate

    @field_validator("thresholds", "min_effects")
    @classmethod
    def _known_thresholds(cls, v: dict[str, float]) -> dict[str, float]:
        for name, value in v.items():
            _known_method(name)
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ValueError(f"value for {name} must be a non-negative number")
        return v

    def features_for(self, model: str) -> dict[str, FeatureDrift]:
        """Configured features of `model` (enabled ones only); {} when the model is not configured
        (the drift review then discovers them, see drift.features_for)."""
        cfg = self.models.get(model)
        if cfg is None:
            return {}
        return {k: v for k, v in cfg.features.items() if v.enabled}

    def threshold_for(self, method: str, feature_cfg: FeatureDrift | None = None) -> float:
        """The threshold `method` uses for this feature (drift.methods.resolve)."""
        return _dm.resolve(method, feature_cfg.threshold if feature_cfg else None, None, self.thresholds)[0]

    def min_effect_for(self, method: str, feature_cfg: FeatureDrift | None = None) -> float | None:
        """The effect floor `method` uses for this feature (drift.methods.resolve)."""
        return _dm.resolve(method, None, feature_cfg.min_effect if feature_cfg else None, None, self.min_effects)[1]


class MonitoringParams(_Strict):
    drift_detection: DriftDetection


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) holding params/weekly.yaml."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "params" / "weekly.yaml").is_file():
            return p
    raise ConfigError(f"no params/weekly.yaml found in {here} or any folder above it")


def _format_validation(path: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not a parameter workbench knows)"
        lines.append(f"{path}: {key}: {msg}")
    return "\n".join(lines)


MAX_PARAMS_BYTES = 4 * 1024 * 1024  # a fleet of thousands of models fits; a generated file gone wrong does not
# under `workbench report`: a JSON file holding the runner's validated weekly params, so kernels do not parse the YAML
PARAMS_JSON_ENV = "WORKBENCH_PARAMS_JSON"  # the runner's validated params for its kernels (params_json)


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    size = path.stat().st_size
    if size > MAX_PARAMS_BYTES:
        raise ConfigError(f"{path}: {size / 2**20:.1f} MB is more than a params file may hold "
                          f"({MAX_PARAMS_BYTES / 2**20:.0f} MB); was it generated by mistake?")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _validate(model: type[BaseModel], path: Path):
    """Parse and validate one YAML file against `model`; errors name the file and the key."""
    try:
        return model.model_validate(_load_yaml(path))
    except ValidationError as exc:
        raise ConfigError(_format_validation(path, exc)) from None


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


# (schema, file stamp) -> the validated params: each file is parsed once per process while unchanged
_memo: dict[tuple[str, tuple[str, int, int]], BaseModel] = {}


def _load(model: type[BaseModel], path: str | Path):
    """One params file validated against `model`: parsed once per process while the file is unchanged
    (path, size, modification time), and in a kernel under `workbench report` taken from the runner's
    validated copy (`params_json`) instead of parsing the YAML again. Each caller gets its own copy."""
    path = Path(path)
    try:
        stamp = _stamp(path)
    except OSError:
        return _validate(model, path)  # says "file not found"
    key = (model.__name__, stamp)
    if key not in _memo:
        found = _from_runner(model, stamp) or _validate(model, path)
        for old in [k for k in _memo if k[0] == key[0] and k[1][0] == stamp[0]]:  # an older version of the file
            del _memo[old]
        _memo[key] = found
    return _memo[key].model_copy(deep=True)


def load_weekly(path: str | Path) -> WeeklyParams:
    """Load and validate a weekly parameter set (params/weekly.yaml): parsed once per process while
    the file is unchanged, and in a kernel under `workbench report` read from the runner's validated
    copy (`params_json`), not parsed again."""
    return _load(WeeklyParams, path)


def params_json(files: "ParamsFiles") -> str:
    """Every params file of a run (weekly.yaml and those of its siblings that exist and validate),
    validated once here in the runner, as JSON for the kernels (PARAMS_JSON_ENV). Each file is stamped
    with its path, size and modification time, so a file changed since is parsed again; a file that
    does not validate is left out (the kernel that needs it then says what is wrong with it)."""
    import json

    out = []
    for kind, load in _LOADERS.items():
        path = files.path(kind)
        try:
            stamp, params = _stamp(path), load(path)
        except (OSError, ConfigError):
            continue
        out.append({"schema": type(params).__name__, "stamp": list(stamp),
                    "params": params.model_dump(mode="json", by_alias=True)})
    return json.dumps({"files": out})


def _from_runner(model: type[BaseModel], stamp: tuple[str, int, int]) -> BaseModel | None:
    """The runner's validated copy (PARAMS_JSON_ENV) of this very file, else None."""
    import json

    where = os.environ.get(PARAMS_JSON_ENV, "")
    if not where:
        return None
    try:
        doc = json.loads(Path(where).read_text(encoding="utf-8"))
        for f in doc["files"]:
            if f["schema"] == model.__name__ and tuple(f["stamp"]) == stamp:
                return model.model_validate(f["params"])
    except (OSError, ValueError, KeyError, TypeError):  # unreadable or outdated: the YAML is parsed instead
        return None
    return None


def load_monitoring(path: str | Path) -> MonitoringParams:
    """Load and validate the drift configuration (params/monitoring.yaml)."""
    return _load(MonitoringParams, path)


# --- windows -----------------------------------------------------------------

def cache_root(root: Path) -> Path:
    """Where derived data is kept between runs (reference profiles, per-day counts of finished days):
    $WORKBENCH_CACHE_DIR, else <project>/data/cache. Deleting it only costs time."""
    return Path(os.environ.get("WORKBENCH_CACHE_DIR") or Path(root) / "data" / "cache")


@dataclass(frozen=True)
class Window:
    """A half-open UTC time window [start, end) with a human label such as 2026-W47."""

    start: dt.datetime
    end: dt.datetime
    label: str
    # set on a partial window (a week not yet finished): where the full period would end
    period_end: dt.datetime | None = None

    def __post_init__(self) -> None:
        for t in (self.start, self.end):
            if t.tzinfo is None or t.utcoffset() != dt.timedelta(0):
                raise ConfigError(f"window bounds must be timezone-aware UTC, got {t!r}")
        if self.end <= self.start:
            raise ConfigError(f"window end {self.end} is not after start {self.start}")

    def previous(self, n: int = 1) -> "Window":
        """The window `n` periods earlier, of the same length: for a partial week the same elapsed
        span of the earlier week (Monday 00:00 to the same weekday and hour), so counts compare
        like with like."""
        shift = (self.period_end or self.end) - self.start
        return Window(self.start - n * shift, self.end - n * shift, f"{self.label}-{n}")

    @property
    def partial(self) -> bool:
        """True when the window stops before its period ends (data only until `end`)."""
        return self.period_end is not None and self.end < self.period_end

    @property
    def partial_note(self) -> str:
        """'partial: data until 2026-11-25 14:00 UTC' for a partial window, '' otherwise."""
        return f"partial: data until {self.end:%Y-%m-%d %H:%M} UTC" if self.partial else ""

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def iso_week(week: str) -> Window:
    """The window of ISO week `week` ('2026-W47'), Monday 00:00 UTC to the next Monday."""
    m = _WEEK_RE.match(week.strip())
    if not m:
        raise ConfigError(f"week {week!r} is not an ISO week like 2026-W47")
    year, num = int(m.group(1)), int(m.group(2))
    try:
        monday = dt.date.fromisocalendar(year, num, 1)
    except ValueError as exc:
        raise ConfigError(f"week {week!r} does not exist: {exc}") from None
    start = dt.datetime.combine(monday, dt.time(), tzinfo=dt.timezone.utc)
    return Window(start, start + dt.timedelta(days=7), f"{year}-W{num:02d}")


def last_full_week(now: dt.datetime | None = None) -> Window:
    """The last ISO week that has fully ended before `now` (default: the current time)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        raise ConfigError("now must be timezone-aware")
    now = now.astimezone(dt.timezone.utc)
    this_monday = (now - dt.timedelta(days=now.weekday())).date()
    start = dt.datetime.combine(this_monday, dt.time(), tzinfo=dt.timezone.utc) - dt.timedelta(days=7)
    y, w, _ = start.isocalendar()
    return Window(start, start + dt.timedelta(days=7), f"{y}-W{w:02d}")


def resolve_window(week: str | None = None, now: dt.datetime | None = None, partial: bool = False) -> Window:
    """`week` if given ('2026-W47'), else the last full ISO week.

    A week that has not ended yet is refused unless `partial`: then the window stops at `now`
    (to the hour) and says so (`Window.partial_note`). A week that has not started is refused.
    """
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    if not week:
        return last_full_week(now)
    w = iso_week(week)
    if w.start >= now:
        raise ConfigError(f"week {w.label} has not started yet (it starts {w.start:%Y-%m-%d} UTC): nothing to review")
    if w.end > now:
        if not partial:
            raise ConfigError(f"week {w.label} is not finished (it ends {w.end:%Y-%m-%d %H:%M} UTC): "
                              "review a finished week, or add --partial for the data so far")
        until = now.replace(minute=0, second=0, microsecond=0)
        if until <= w.start:
            raise ConfigError(f"week {w.label} started less than an hour ago: nothing to review yet")
        return Window(w.start, until, w.label, period_end=w.end)
    return w


def window_until(week: str, data_until: str) -> Window:
    """The partial window of `week` ending at `data_until` (an ISO timestamp the runner chose), so a
    notebook reviews exactly the span the runner decided."""
    w = iso_week(week)
    try:
        until = dt.datetime.fromisoformat(data_until)
    except ValueError:
        raise ConfigError(f"data_until {data_until!r} is not an ISO timestamp") from None
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.timezone.utc)
    until = until.astimezone(dt.timezone.utc)
    if not (w.start < until <= w.end):
        raise ConfigError(f"data_until {data_until} is not inside week {w.label}")
    return Window(w.start, until, w.label, period_end=w.end) if until < w.end else w


_DUR_RE = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_DUR_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus-style duration ('5m', '15s', '1h')."""
    m = _DUR_RE.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration like 15s, 5m or 1h")
    return int(m.group(1)) * _DUR_UNIT[m.group(2)]


# --- connection settings -------------------------------------------------------

@dataclass(frozen=True)
class Connections:
    """Where the servers are; a source that is not configured is None. URLs may hold passwords:
    never print them, use `redact`."""

    prometheus_url: str | None
    database_url: str | None
    mlflow_uri: str | None
    demo: bool

    def __repr__(self) -> str:
        return (f"Connections(prometheus_url={redact(self.prometheus_url)!r}, database_url={redact(self.database_url)!r}, "
                f"mlflow_uri={redact(self.mlflow_uri)!r}, demo={self.demo})")


def anchor_sqlite(url: str | None, base: Path) -> str | None:
    """`url` with a relative SQLite file path made absolute against `base` (other URLs unchanged).

    SQLite resolves a relative path against the process's working folder, and the notebooks run from
    their own folder: resolved once, `check`, the runner and every notebook read the same file."""
    if not url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except ArgumentError:
        return url
    path = u.database or ""
    if u.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return url
    if Path(path).expanduser().is_absolute():
        return url
    return u.set(database=str((base / path).resolve())).render_as_string(hide_password=False)


def anchor_connections(conns: "Connections", base: Path) -> "Connections":
    """`conns` with relative SQLite paths (prediction DB, MLflow store) made absolute against `base`:
    the folder holding the params folder, from which relative `reference:` paths are read too."""
    db, ml = anchor_sqlite(conns.database_url, base), anchor_sqlite(conns.mlflow_uri, base)
    if (db, ml) == (conns.database_url, conns.mlflow_uri):
        return conns
    return Connections(conns.prometheus_url, db, ml, conns.demo)


# what each source is, for "not configured" messages
SOURCE_ENV = {"database": ENV_DATABASE, "prometheus": ENV_PROMETHEUS, "mlflow": ENV_MLFLOW}


def env_connections(environ: dict[str, str] | None = None) -> Connections | None:
    """Connections from WORKBENCH_DATABASE_URL / WORKBENCH_PROMETHEUS_URL / MLFLOW_TRACKING_URI, each
    optional (a review that needs a missing one is skipped); None when neither WORKBENCH_* variable is set."""
    env = os.environ if environ is None else environ
    prom, db, ml = (env.get(n, "").strip() for n in (ENV_PROMETHEUS, ENV_DATABASE, ENV_MLFLOW))
    # MLFLOW_TRACKING_URI alone does not count: MLflow itself sets it in-process (set_tracking_uri)
    if not (prom or db):
        return None
    return Connections(prom or None, db or None, ml or None, demo=False)


# --- params files (one folder, resolved once by the runner) ---------------------------

PARAMS_FILES = {"weekly": "weekly.yaml", "monitoring": "monitoring.yaml", "queries": "queries.yaml",
                "slos": "slos.yaml", "alerts": "alerts.yaml", "baselines": "baselines.yaml"}


@dataclass(frozen=True)
class ParamsFiles:
    """The absolute paths of one run's params files (weekly.yaml and its siblings)."""

    directory: Path
    weekly: Path

    def path(self, kind: str) -> Path:
        """The file of `kind` ('monitoring', 'queries', 'slos', 'alerts', 'baselines')."""
        return self.weekly if kind == "weekly" else self.directory / PARAMS_FILES[kind]

    @property
    def project(self) -> Path:
        """The folder holding the params folder: relative `reference:` paths and caches live there."""
        return self.directory.parent


def params_files(path: str | Path) -> ParamsFiles:
    """Resolve `--params`: a directory (its weekly.yaml) or the weekly file itself (its siblings are
    the other params files), as absolute paths. Never searches elsewhere."""
    p = Path(path).expanduser().resolve()
    if p.is_dir():
        weekly = p / PARAMS_FILES["weekly"]
        if not weekly.is_file():
            raise ConfigError(f"{p}: no {PARAMS_FILES['weekly']} in this params folder")
        return ParamsFiles(p, weekly)
    if not p.is_file():
        raise ConfigError(f"{p}: params file or folder not found")
    return ParamsFiles(p.parent, p)


# scheme://user:password@ — the password runs to the LAST "@" before whitespace, a quote or "?"/"#",
# so an unencoded "/", ":" or "@" in it (which SQLAlchemy and most drivers accept) stays inside
_USERINFO_RE = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"<>?#]*):([^\s'\"<>?#]*)@")


def url_passwords(url: str | None) -> list[str]:
    """Every reading of the password in `url`: as SQLAlchemy's `make_url` and `urllib.parse` (the
    drivers) read it, and up to the last "@" (an unencoded "@" in it); longest first."""
    from urllib.parse import unquote, urlsplit

    if not url:
        return []
    found: set[str] = set()
    try:
        from sqlalchemy.engine import make_url

        if make_url(url).password:
            found.add(str(make_url(url).password))
    except Exception:  # noqa: BLE001 - not an SQLAlchemy URL: the other readings still apply
        pass
    try:
        if urlsplit(url).password:
            found.add(urlsplit(url).password)
    except ValueError:
        pass
    m = _USERINFO_RE.search(url)
    if m and m.group(2):
        found.add(m.group(2))
    found |= {unquote(p) for p in found}
    return sorted((p for p in found if p), key=len, reverse=True)


def redact(url: str | None) -> str:
    """`url` (or any text holding URLs) with each password (user:password@) replaced by ***, safe to show;
    the password may contain "/", ":", "%" or an unencoded "@"."""
    if not url:
        return ""
    return _USERINFO_RE.sub(r"\1:***@", url)


# --- baselines without MLflow (params/baselines.yaml) ---------------------------------

class Baselines(RootModel[dict[str, dict[str, dict[str, float]]]]):
    """Training metrics per model and version, for teams without MLflow: model -> version -> metric -> value."""

    @model_validator(mode="before")
    @classmethod
    def _versions_as_text(cls, data: Any) -> Any:
        # YAML reads a version 1.0 as a number
        if isinstance(data, dict):
            return {m: ({str(k): v for k, v in vs.items()} if isinstance(vs, dict) else vs) for m, vs in data.items()}
        return data

    def for_model(self, model: str, version: str | None) -> tuple[str, dict[str, float]] | None:
        """(version, metrics) of `version`, else of the newest listed version; None if the model is absent."""
        versions = self.root.get(model)
        if not versions:
            return None
        if version is not None and str(version) in versions:
            return str(version), versions[str(version)]
        from packaging.version import InvalidVersion, Version

        def key(v: str):
            try:
                return (1, Version(v), "")
            except InvalidVersion:
                return (0, Version("0"), v)
        newest = max(versions, key=key)
        return newest, versions[newest]


def load_baselines(path: str | Path) -> Baselines:
    """Load and validate params/baselines.yaml."""
    return _load(Baselines, path)


# --- query catalog (params/queries.yaml) -----------------------------------------

# Placeholders the code fills in: $rate (rate window), $window (the review window in seconds),
# $model (model name; the service review selects every model), $q (a panel's quantile), $pool_size.
PANEL_PLACEHOLDERS = frozenset({"rate", "window", "model", "q", "pool_size"})
# The named queries the code looks up (the `queries:` section) and the placeholders each may use.
# A team with other metric names edits these entries in queries.yaml, never code.
CATALOG_QUERIES: dict[str, frozenset[str]] = {
    "predictions_by_class": frozenset({"model", "window"}),      # performance: DB counts vs Prometheus
    "ab_test_conversions": frozenset({"experiment", "window"}),  # performance: A/B conversions per variant
    "firing_alerts": frozenset({"window"}),                     # alerts the server itself recorded
    "availability_by_job": frozenset({"window"}),               # share of scrapes up per job
    "mlflow_availability": frozenset({"window"}),               # MLflow's own health gauge over the window
    "up_by_job": frozenset(),                                   # outages per job
    "mlflow_up": frozenset(),                                   # outages of MLflow's health gauge
    "serving_latency_p95": frozenset({"model", "window"}),      # p95 serving latency per model
    "slo_burn_rate": frozenset({"good", "total", "budget"}),    # SLO burn: slos.yaml good/total over a window
}


def _placeholders(text: str) -> set[str]:
    from string import Template

    return {m.group("named") or m.group("braced") for m in Template.pattern.finditer(text)
            if m.group("named") or m.group("braced")}


class QuerySpec(_Strict):
    title: str
    unit: str = ""
    promql: str = Field(min_length=1)
    quantiles: list[float] | None = None
    # panels only: where the infrastructure review draws it, a dashed threshold (a number, or the name
    # of a key under weekly.yaml `infrastructure`), and whether the alert timeline shows it
    section: Literal["traffic", "resources"] = "traffic"
    threshold: float | str | None = None
    timeline: bool = False

    @field_validator("quantiles")
    @classmethod
    def _q(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not all(0 < q < 1 for q in v):
            raise ValueError("quantiles must lie strictly between 0 and 1")
        return v

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, v: float | str | None) -> float | str | None:
        if isinstance(v, str) and v not in InfrastructureParams.model_fields:
            raise ValueError(f"threshold {v!r} is neither a number nor a key of weekly.yaml infrastructure "
                             f"({', '.join(InfrastructureParams.model_fields)})")
        return v

    def threshold_value(self, infra: "InfrastructureParams") -> float | None:
        """The dashed line of this panel: a literal, or the value of the named infrastructure parameter."""
        return float(getattr(infra, self.threshold)) if isinstance(self.threshold, str) else self.threshold


class NamedQuery(_Strict):
    """One query the code looks up by name (the `queries:` section)."""

    promql: str = Field(min_length=1)
    description: str = ""


class QueryCatalog(_Strict):
    summary: dict[str, QuerySpec]
    panels: dict[str, QuerySpec]
    queries: dict[str, NamedQuery] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_placeholders(self) -> "QueryCatalog":
        bad = []
        for section in ("summary", "panels"):
            for name, spec in getattr(self, section).items():
                for field_ in ("promql", "title"):
                    unknown = _placeholders(getattr(spec, field_)) - PANEL_PLACEHOLDERS
                    if unknown:
                        bad.append(f"{section}.{name}.{field_}: unknown placeholder "
                                   f"{', '.join('$' + u for u in sorted(unknown))} "
                                   f"(known: {', '.join('$' + k for k in sorted(PANEL_PLACEHOLDERS))})")
        for name, q in self.queries.items():
            allowed = CATALOG_QUERIES.get(name)
            if allowed is None:
                bad.append(f"queries.{name}: not a query workbench looks up (known: {', '.join(CATALOG_QUERIES)})")
                continue
            unknown = _placeholders(q.promql) - allowed
            if unknown:
                bad.append(f"queries.{name}.promql: unknown placeholder {', '.join('$' + u for u in sorted(unknown))}"
                           f" (this query is given: {', '.join('$' + k for k in sorted(allowed)) or 'none'})")
        if bad:
            raise ValueError("; ".join(bad))
        return self

    def sections(self, section: str) -> dict[str, QuerySpec]:
        """The panels drawn in `section` ('traffic' or 'resources'), in catalog order."""
        return {n: s for n, s in self.panels.items() if s.section == section}


def load_queries(path: str | Path) -> QueryCatalog:
    """Load and validate the infrastructure query catalog (params/queries.yaml): every query the code
    looks up by name must be there (the error names the missing `queries.<name>`)."""
    path = Path(path)
    catalog = _load(QueryCatalog, path)
    missing = [n for n in CATALOG_QUERIES if n not in catalog.queries]
    if missing:
        raise ConfigError("\n".join(f"{path}: queries.{n}: missing (workbench looks this query up by name; "
                                     f"see the shipped params/queries.yaml)" for n in missing))
    return catalog


# --- SLOs (params/slos.yaml) and alert rules (params/alerts.yaml) ----------------------

class Objective(_Strict):
    name: str
    title: str = ""
    objective: float = Field(gt=0, lt=1)
    good: str
    total: str


class BurnAlert(_Strict):
    severity: str
    long: str
    short: str
    factor: float = Field(gt=0)

    @field_validator("long", "short")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class SLOParams(_Strict):
    period: str = "28d"
    objectives: list[Objective]
    burn_alerts: list[BurnAlert] = Field(default_factory=list)

    @field_validator("period")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


def load_slos(path: str | Path) -> SLOParams:
    """Load and validate the SLOs (params/slos.yaml)."""
    return _load(SLOParams, path)


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    alert: str | None = None
    record: str | None = None
    expr: str
    for_: str = Field("0s", alias="for")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class RuleGroup(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    interval: str | None = None
    rules: list[AlertRule]


class AlertRules(_Strict):
    groups: list[RuleGroup]


def load_alert_rules(path: str | Path) -> AlertRules:
    """Load a Prometheus rule file (params/alerts.yaml); promtool checks the expressions themselves."""
    return _load(AlertRules, path)


# each params file's loader, by its kind in PARAMS_FILES (the runner hands their results to its kernels)
_LOADERS = {"weekly": load_weekly, "monitoring": load_monitoring, "queries": load_queries, "slos": load_slos,
            "alerts": load_alert_rules, "baselines": load_baselines}
