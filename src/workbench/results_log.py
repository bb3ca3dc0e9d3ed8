"""The performance review's results in MLflow: one run per model per period (the guide's
update_model_metrics), tagged with period and model version, holding the metrics and, once
exported, the HTML report. Re-running a period updates its run instead of adding another."""

from __future__ import annotations

import math
from pathlib import Path

EXPERIMENT = "workbench-weekly-reviews"
# Set by `workbench report` for the kernels it starts: a kernel then hands its metrics to the runner
# (performance.log_results), which logs them with the client it already holds (log_request).
BY_RUNNER_ENV = "WORKBENCH_MLFLOW_LOG_BY_RUNNER"


def run_name(model: str, period: str) -> str:
    """The name of the period's run of `model`."""
    return f"{model} {period}"


def artifact_root(tracking_uri: str | None) -> str | None:
    """Where a new experiment keeps artifacts: beside a local SQLite/file store (MLflow's default
    would be ./mlruns of whatever folder the notebook runs in); None lets a tracking server decide."""
    if tracking_uri and tracking_uri.startswith("sqlite:///"):
        return (Path(tracking_uri[len("sqlite:///"):]).resolve().parent / "mlartifacts").as_uri()
    return None


def _experiment_id(client) -> str:
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp:
        return exp.experiment_id
    try:
        return client.create_experiment(EXPERIMENT, artifact_location=artifact_root(client.tracking_uri))
    except MlflowException:  # created meanwhile by a notebook running in parallel
        return client.get_experiment_by_name(EXPERIMENT).experiment_id


def find_run(client, model: str, period: str) -> str | None:
    """The run of `model` for `period`, if one was logged before."""
    q = f"tags.`workbench.model` = '{model.replace(chr(39), '')}' and tags.`workbench.period` = '{period}'"
    runs = client.search_runs([_experiment_id(client)], filter_string=q, max_results=1)
    return runs[0].info.run_id if runs else None


def log_period(client, model: str, period: str, versions: list[str], metrics: dict[str, float | None],
               extra_tags: dict[str, str] | None = None) -> str:
    """Create or update the period's run with `metrics` (undefined ones are skipped); returns its id."""
    run_id = find_run(client, model, period)
    if run_id is None:
        run = client.create_run(_experiment_id(client), run_name=run_name(model, period),
                                tags={"workbench.model": model, "workbench.period": period})
        run_id = run.info.run_id
    tags = {"model_name": model, "model_version": ",".join(sorted(versions)), **(extra_tags or {})}
    for k, v in tags.items():
        client.set_tag(run_id, k, v)
    for k, v in metrics.items():
        if v is not None and math.isfinite(v):
            client.log_metric(run_id, k, float(v))
    client.set_terminated(run_id)
    return run_id


def attach_report(client, run_id: str, html: Path) -> None:
    """Attach the exported HTML report to the run (replacing the previous upload of the same name)."""
    client.log_artifact(run_id, str(html), "reports")


def attach_report_to(tracking_uri: str, run_id: str, html: Path, timeouts=None) -> None:
    """`attach_report` against an existing store, HTTP bounded by `timeouts` (config.TimeoutParams);
    any failure is a SourceUnavailable saying "MLflow at <uri>: ..." with MLflow's own message."""
    from workbench.config import TimeoutParams, redact
    from workbench.errors import SourceUnavailable
    from workbench.sources import model_registry

    t = timeouts or TimeoutParams()
    c = model_registry.client(tracking_uri, t.seconds("mlflow_request"), t.mlflow_retries)
    try:
        attach_report(c, run_id, html)
    except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's
        text = redact(str(exc).splitlines()[0] if str(exc) else "")
        raise SourceUnavailable(f"MLflow at {redact(tracking_uri)}: attaching {html.name} to run {run_id}: "
                                f"{type(exc).__name__}: {text}") from exc


def log_request(tracking_uri: str, request: dict, html: Path | None, timeouts=None) -> str:
    """Log a kernel's hand-over (performance.log_results: model, period, versions, metrics, tags) as
    `log_period` would, then attach the published report `html`; returns the run id. Any failure is a
    SourceUnavailable saying "MLflow at <uri>: ..." with MLflow's own message."""
    from workbench.config import TimeoutParams, redact
    from workbench.errors import SourceUnavailable
    from workbench.sources import model_registry

    t = timeouts or TimeoutParams()
    step = "logging the period's metrics"
    try:
        c = model_registry.client(tracking_uri, t.seconds("mlflow_request"), t.mlflow_retries)
        run_id = log_period(c, request["model"], request["period"], list(request.get("versions") or []),
                            dict(request.get("metrics") or {}), dict(request.get("tags") or {}))
        if html is not None:
            step = f"attaching {html.name} to run {run_id}"
            attach_report(c, run_id, html)
        return run_id
    except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's
        text = redact(str(exc).splitlines()[0] if str(exc) else "")
        raise SourceUnavailable(f"MLflow at {redact(tracking_uri)}: {step}: {type(exc).__name__}: {text}") from exc
