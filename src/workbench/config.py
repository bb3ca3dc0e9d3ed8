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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workbench.errors import ConfigError

DRIFT_METHODS = ("chi2", "js", "ks", "psi", "wasserstein")
P_VALUE_METHODS = ("chi2", "ks")
DEFAULT_THRESHOLDS = {"ks": 0.05, "chi2": 0.05, "psi": 0.1, "wasserstein": 0.2, "js": 0.1}
ENV_PROMETHEUS = "WORKBENCH_PROMETHEUS_URL"
ENV_DATABASE = "WORKBENCH_DATABASE_URL"
ENV_MLFLOW = "MLFLOW_TRACKING_URI"
ENV_DEMO_DIR = "WORKBENCH_DEMO_DIR"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(_Strict):
    name: str = Field(min_length=1)
    type: Literal["classification", "regression"]
    positive_class: int = 1
    # reference (training) data as a .parquet/.csv path relative to the project; default: the
    # model version's reference artifact in MLflow
    reference: str | None = None


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
    log_to_mlflow: bool = True


class InfrastructureParams(_Strict):
    p95_latency_alert_seconds: float = Field(1.0, gt=0)
    error_ratio_alert: float = Field(0.05, gt=0, le=1)
    rate_window: str = "5m"
    scrape_interval: str = "60s"
    db_pool_size: int = Field(20, ge=1)
    max_firings: int = Field(10, ge=1)

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


class HealthParams(_Strict):
    extra_urls: dict[str, str] = Field(default_factory=dict)


class StoreColumns(_Strict):
    id: str = "prediction_id"
    model: str = "model_name"
    version: str = "model_version"
    variant: str | None = "variant"
    timestamp: str = "timestamp"
    prediction: str = "prediction"
    probability: str | None = "probability"
    outcome: str | None = "actual_outcome"
    outcome_timestamp: str | None = "outcome_timestamp"


class FeatureLayout(_Strict):
    layout: Literal["columns", "json"] = "columns"
    json_column: str | None = None


class StoreParams(_Strict):
    """Where and how the prediction log is stored (the demo's layout is the default)."""

    table: str = "predictions"
    schema_: str | None = Field(None, alias="schema")
    columns: StoreColumns = StoreColumns()
    features: FeatureLayout = FeatureLayout()

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WeeklyParams(_Strict):
    timezone: Literal["UTC"] = "UTC"
    models: list[ModelSpec] = Field(min_length=1)
    performance: PerformanceParams = Field(default_factory=PerformanceParams)
    infrastructure: InfrastructureParams = Field(default_factory=InfrastructureParams)
    notebooks: list[str] = Field(
        default_factory=lambda: ["01-drift-review", "02-performance-review", "03-infrastructure-review"],
        min_length=1,
    )
    store: StoreParams = Field(default_factory=StoreParams)
    health: HealthParams = Field(default_factory=HealthParams)

    def model(self, name: str) -> ModelSpec:
        """The model named `name`, or a ConfigError listing the configured ones."""
        for m in self.models:
            if m.name == name:
                return m
        names = ", ".join(m.name for m in self.models)
        raise ConfigError(f"unknown model {name!r}; choose one of: {names}")


class FeatureDrift(_Strict):
    method: str | None = None
    threshold: float | None = Field(None, gt=0)
    # optional: a verdict of drift also needs this effect size (KS D, normalised Wasserstein or
    # Cramér's V), so a tiny but "significant" shift in a large window is not called drift
    min_effect: float | None = Field(None, ge=0)
    enabled: bool = True

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str | None) -> str | None:
        if v is not None and v not in DRIFT_METHODS:
            raise ValueError(f"unknown drift method {v!r}; choose one of: {', '.join(DRIFT_METHODS)}")
        return v

    @model_validator(mode="after")
    def _threshold_needs_method(self) -> "FeatureDrift":
        if self.threshold is not None and self.method is None:
            raise ValueError("a threshold needs a method: thresholds mean different things per method "
                             "(p-value, PSI, distance)")
        return self


class ModelDrift(_Strict):
    features: dict[str, FeatureDrift]


class DriftDetection(_Strict):
    enabled: bool = True
    thresholds: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    evidently: bool = True  # run Evidently side by side in the drift review (costs seconds per model)
    psi_bins: int = Field(10, ge=2, le=100)
    drift_share: float = Field(0.5, gt=0, le=1)
    min_samples: int = Field(30, ge=1)          # fewer values on either side: "insufficient data"
    min_window_rows: int = Field(1000, ge=0)    # a window with fewer predictions is flagged as small
    correction: Literal["none", "bh"] = "none"  # bh: Benjamini-Hochberg across the p-value tests
    missing_tolerance: float = Field(0.05, ge=0, le=1)  # change in missing share reported as drift
    daily_freq: str = "1D"                      # drift-over-time windows
    models: dict[str, ModelDrift] = Field(default_factory=dict)

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, v: dict[str, float]) -> dict[str, float]:
        for name, value in v.items():
            if name not in DRIFT_METHODS:
                raise ValueError(f"unknown drift method {name!r}; choose one of: {', '.join(DRIFT_METHODS)}")
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"threshold for {name} must be a positive number")
        return {**DEFAULT_THRESHOLDS, **v}

    def features_for(self, model: str) -> dict[str, FeatureDrift]:
        """Configured features of `model` (enabled ones only)."""
        cfg = self.models.get(model)
        if cfg is None:
            return {}
        return {k: v for k, v in cfg.features.items() if v.enabled}

    def threshold_for(self, method: str, feature_cfg: FeatureDrift | None = None) -> float:
        if feature_cfg is not None and feature_cfg.threshold is not None:
            return feature_cfg.threshold
        return self.thresholds[method]


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


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _load(model: type[BaseModel], path: str | Path):
    """Validate one YAML file against `model`; errors name the file and the key."""
    path = Path(path)
    try:
        return model.model_validate(_load_yaml(path))
    except ValidationError as exc:
        raise ConfigError(_format_validation(path, exc)) from None


def load_weekly(path: str | Path) -> WeeklyParams:
    """Load and validate a weekly parameter set (params/weekly.yaml)."""
    return _load(WeeklyParams, path)


def load_monitoring(path: str | Path) -> MonitoringParams:
    """Load and validate the drift configuration (params/monitoring.yaml)."""
    return _load(MonitoringParams, path)


# --- windows -----------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """A half-open UTC time window [start, end) with a human label such as 2026-W47."""

    start: dt.datetime
    end: dt.datetime
    label: str

    def __post_init__(self) -> None:
        for t in (self.start, self.end):
            if t.tzinfo is None or t.utcoffset() != dt.timedelta(0):
                raise ConfigError(f"window bounds must be timezone-aware UTC, got {t!r}")
        if self.end <= self.start:
            raise ConfigError(f"window end {self.end} is not after start {self.start}")

    def previous(self, n: int = 1) -> "Window":
        span = self.end - self.start
        return Window(self.start - n * span, self.end - n * span, f"{self.label}-{n}")

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


def resolve_window(week: str | None = None, now: dt.datetime | None = None) -> Window:
    """`week` if given ('2026-W47'), else the last full ISO week."""
    if week:
        return iso_week(week)
    return last_full_week(now)


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
    """Where the servers are. URLs may hold passwords: never print them, use `redact`."""

    prometheus_url: str
    database_url: str
    mlflow_uri: str | None
    demo: bool

    def __repr__(self) -> str:
        return (f"Connections(prometheus_url={redact(self.prometheus_url)!r}, database_url={redact(self.database_url)!r}, "
                f"mlflow_uri={redact(self.mlflow_uri)!r}, demo={self.demo})")


def env_connections(environ: dict[str, str] | None = None) -> Connections | None:
    """Connections from WORKBENCH_* / MLFLOW_TRACKING_URI, or None when neither server is set."""
    env = os.environ if environ is None else environ
    prom, db = env.get(ENV_PROMETHEUS, "").strip(), env.get(ENV_DATABASE, "").strip()
    if not prom and not db:
        return None
    missing = [n for n, v in ((ENV_PROMETHEUS, prom), (ENV_DATABASE, db)) if not v]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} is not set: set both {ENV_PROMETHEUS} and {ENV_DATABASE}, "
            "or neither to use the built-in demo stack"
        )
    return Connections(prom, db, env.get(ENV_MLFLOW) or None, demo=False)


def redact(url: str | None) -> str:
    """`url` with any password (user:password@) replaced by ***, safe to show."""
    if not url:
        return ""
    return re.sub(r"(//[^/:@]*):[^/]*@", r"\1:***@", url)


# --- query catalog (params/queries.yaml) -----------------------------------------

class QuerySpec(_Strict):
    title: str
    unit: str = ""
    promql: str = Field(min_length=1)
    quantiles: list[float] | None = None

    @field_validator("quantiles")
    @classmethod
    def _q(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not all(0 < q < 1 for q in v):
            raise ValueError("quantiles must lie strictly between 0 and 1")
        return v


class QueryCatalog(_Strict):
    summary: dict[str, QuerySpec]
    panels: dict[str, QuerySpec]


def load_queries(path: str | Path) -> QueryCatalog:
    """Load and validate the infrastructure query catalog (params/queries.yaml)."""
    return _load(QueryCatalog, path)


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
