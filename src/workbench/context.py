"""What a review notebook opens first: parameters, window, sources and a list of problems.

`open_review(model, week, source)` validates everything before any query runs. Sections run
through `ctx.attempt(...)`, which turns a WorkbenchError into a visible "could not compute"
note instead of a traceback; `ctx.finish(status_file)` records whether the run was complete
so `workbench report` can mark it and exit non-zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from workbench import config
from workbench.config import Connections, ModelSpec, Window
from workbench.errors import ConfigError, WorkbenchError
from workbench.findings import SCHEMA_VERSION, Finding, level_of
from workbench.result import is_result, merge_headline

from workbench.sources.connections import SOURCES, not_configured, resolve_connections  # noqa: F401 (re-exported)


@dataclass
class ReviewContext:
    """Everything one review of one model over one window needs."""

    model: ModelSpec
    window: Window
    params: config.WeeklyParams
    monitoring: config.MonitoringParams
    queries: config.QueryCatalog
    connections: Connections
    root: Path  # the folder holding the params folder: relative reference paths and caches
    files: config.ParamsFiles | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # for the report runner (e.g. mlflow_run_id)
    findings: list[Finding] = field(default_factory=list)  # what the review found (see workbench.findings)
    headline: dict[str, Any] = field(default_factory=dict)  # headline numbers (and daily series) for the index pages
    service: bool = False  # the service review (every model): model.name is "" then
    defer_problems: bool = False  # True while a notebook computes before its verdict banner (which lists them)
    skipped: list[dict[str, str]] = field(default_factory=list)  # sections left out on purpose, with why

    def params_path(self, kind: str) -> Path:
        """The absolute path of this run's params file of `kind` ('slos', 'alerts', 'baselines', ...)."""
        files = self.files or config.ParamsFiles(self.root / "params", self.root / "params" / "weekly.yaml")
        return files.path(kind)

    def has(self, source: str) -> bool:
        """Whether source 'database', 'prometheus' or 'mlflow' is configured for this run."""
        from workbench.sources.connections import configured

        return configured(self.connections, source)

    def skip(self, section: str, reason: str) -> None:
        """Leave `section` out on purpose (a source or column not configured): one line saying why,
        recorded as skipped, not as a problem."""
        self.skipped.append({"section": section, "reason": reason})
        if self.defer_problems:  # computed before the banner: the section itself shows the line later
            return
        try:
            from IPython.display import HTML, display
        except ImportError:  # pragma: no cover
            return
        from workbench.pages import render_snippet

        display(HTML(render_snippet("skipped", [{"section": section, "reason": reason}])))  # as display.skipped_note

    @cached_property
    def store(self):
        from workbench.sources.registry import open_store

        if not self.connections.database_url:
            raise ConfigError(not_configured("database"))
        # PostgreSQL keeps per-day counts of finished days there: the next week scans only its own days
        return open_store(self.connections.database_url, self.params.store, self.params.timeouts,
                          daily_cache=config.cache_root(self.root) / "daily-counts")

    @cached_property
    def prometheus(self):
        from workbench.sources.prometheus import PrometheusSource

        if not self.connections.prometheus_url:
            raise ConfigError(not_configured("prometheus"))
        return PrometheusSource(self.connections.prometheus_url)

    @cached_property
    def registry(self):
        from workbench.sources.model_registry import Answers, ModelRegistry

        if not self.connections.mlflow_uri:
            raise ConfigError(not_configured("mlflow"))
        t = self.params.timeouts
        # under `workbench report` the runner has asked MLflow once for every notebook (Answers)
        return ModelRegistry(self.connections.mlflow_uri, t.seconds("mlflow_request"), t.mlflow_retries,
                             answers=Answers.from_env(self.connections.mlflow_uri))

    def describe(self) -> pd.DataFrame:
        """Model, window and sources (credentials redacted) for the top of a report."""
        partial = f" — {self.window.partial_note}" if self.window.partial else ""
        return pd.DataFrame([
            ("model", "the service (every model)" if self.service else f"{self.model.name} ({self.model.type})"),
            ("window", f"{self.window.label}: {self.window.start:%Y-%m-%d %H:%M} to {self.window.end:%Y-%m-%d %H:%M} UTC{partial}"),
            ("sources", "built-in demo stack" if self.connections.demo else "environment variables"),
            ("params", str(self.files.directory) if self.files else str(self.root / "params")),
            ("Prometheus", config.redact(self.connections.prometheus_url) or "not configured"),
            ("prediction DB", config.redact(self.connections.database_url) or "not configured"),
            ("MLflow", config.redact(self.connections.mlflow_uri) or "not configured"),
        ], columns=["", "value"]).set_index("")

    def attempt(self, section: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one report section; on a WorkbenchError record it, show it, and return None.

        A result (workbench.result.ReviewResult) is returned, and its `problems` (parts that could not
        be computed) are recorded and shown too; its `findings` and `headline` are collected for the verdict.
        """
        try:
            result = fn(*args, **kwargs)
        except WorkbenchError as exc:
            self.problems.append({"section": section, "problem": str(exc)})
            if not self.defer_problems:
                _show_problem(section, str(exc))
            return None
        if not is_result(result):  # a plain value (a frame, a run id): nothing to collect
            return result
        for problem in result.problems:
            self.problems.append({"section": section, "problem": str(problem)})
            if not self.defer_problems:
                _show_problem(section, str(problem))
        self.add_findings(result.findings)
        self.add_headline(result.headline)
        return result

    def add_headline(self, numbers: Mapping[str, Any]) -> None:
        """Merge headline numbers; "series" (daily values) and "episodes" (intervals) are merged too."""
        merge_headline(self.headline, numbers)

    def add_findings(self, findings: list[Finding]) -> None:
        """Record findings for the verdict (each once, in order)."""
        for f in findings:
            if f not in self.findings:
                self.findings.append(f)

    @property
    def level(self) -> str:
        """alert / warning / not computed / ok: the worst finding, or 'not computed' if a section failed."""
        return level_of(self.findings, not_computed=bool(self.problems))

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.problems, columns=["section", "problem"])

    def finish(self, status_file: str = "") -> pd.DataFrame:
        """Write the run's status for the report runner; return what could not be computed."""
        if status_file:
            from workbench import timing

            Path(status_file).write_text(json.dumps({
                "complete": not self.problems, "problems": self.problems, "outputs": self.outputs,
                "schema": SCHEMA_VERSION, "level": self.level, "headline": self.headline,
                "findings": [f.to_dict() for f in self.findings], "skipped": self.skipped,
                "partial": self.window.partial_note, "timings": timing.records()}, default=float))
        return self.problems_frame()

    def latest_version(self) -> str:
        """The newest registered version of the model (by version order)."""
        versions = list(self.registry.versions(self.model.name))
        if not versions:
            raise ConfigError(f"model {self.model.name!r} has no registered versions in MLflow")
        return max(versions, key=version_key)

    def serving_version(self) -> str:
        """The newest registered version among those that served predictions in the window (its
        reference and baseline are the ones to compare with); the newest registered one otherwise."""
        registered = set(self.registry.versions(self.model.name))
        served = [v for v in self.store.versions(self.model.name, self.window) if v in registered]
        return max(served, key=version_key) if served else self.latest_version()


def version_key(v: str) -> tuple:
    """Sort key for version strings: PEP 440 order where it parses (1.3.0rc1 < 1.3.0), text otherwise."""
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(v), "")
    except InvalidVersion:
        return (0, Version("0"), v)


def _show_problem(section: str, message: str) -> None:
    try:
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover - IPython ships with the kernel
        return
    from workbench.pages import render_snippet

    display(HTML(render_snippet("problem_box", section, message)))


def open_review(model: str = "", week: str = "", source: str = "auto", params_dir: str | Path = "params",
                data_until: str = "", connections: Connections | None = None, service: bool = False) -> ReviewContext:
    """Validate parameters and resolve the window and sources for one review notebook.

    `params_dir` is the run's params folder (or its weekly file) — `workbench report` passes an
    absolute path; a relative one is taken from the working folder, never searched for. `data_until`
    (set by the runner for a partial week) ends the window early. `service=True` (with model "")
    opens the service review: one context for every model, whose `model.name` is "" (queries with
    `$model` select every model, see infrastructure.render_for).
    """
    import warnings

    # mlflow imports tqdm.auto; in a kernel without ipywidgets that warns on every report
    warnings.filterwarnings("ignore", message="IProgress not found")
    from workbench.plots import plain_text_labels

    plain_text_labels()  # data labels ("$$" categories, alert names) are never parsed as mathtext
    files = config.params_files(params_dir)
    weekly = config.load_weekly(files.weekly)
    if service and not model:
        spec = ModelSpec.model_construct(name="", type="service", positive_class=1, reference=None)
    else:
        spec = weekly.model(model) if model else weekly.models[0]
        service = False
    window = config.window_until(week, data_until) if data_until else config.resolve_window(week or None)
    # a review loads only what it needs: a params folder without queries.yaml (no Prometheus) or
    # monitoring.yaml (no drift review) is valid; `workbench check` says which review needs which file
    mpath, qpath = files.path("monitoring"), files.path("queries")
    monitoring = (config.load_monitoring(mpath) if mpath.is_file()
                  else config.MonitoringParams(drift_detection=config.DriftDetection()))
    queries = config.load_queries(qpath) if qpath.is_file() else config.QueryCatalog(summary={}, panels={})
    conns = config.anchor_connections(connections or resolve_connections(source), files.project)
    return ReviewContext(spec, window, weekly, monitoring, queries, conns, files.project, files, service=service)
