"""`workbench health`: the guide's health-check script as a function over the configured sources."""

from __future__ import annotations

import time

import requests

from workbench.config import Connections, redact


def _timed(fn) -> dict:
    t = time.monotonic()
    try:
        detail = fn()
        return {"status": "healthy", "response_time": round(time.monotonic() - t, 4), **(detail or {})}
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure as 'unreachable'
        return {"status": "unreachable", "error": f"{type(exc).__name__}: {redact(str(exc))[:300]}"}


def check(conns: Connections, extra_urls: dict[str, str] | None = None, timeout: float = 10) -> dict:
    """Prometheus /-/healthy, a query on the prediction DB, MLflow's store, and extra URLs."""
    def prometheus():
        r = requests.get(conns.prometheus_url.rstrip("/") + "/-/healthy", timeout=timeout)
        r.raise_for_status()

    def database():
        import sqlalchemy as sa

        from workbench.sources.store import read_only_engine

        eng = read_only_engine(conns.database_url)
        try:
            with eng.connect() as c:
                c.execute(sa.text("SELECT 1"))
        finally:
            eng.dispose()

    def mlflow():
        from mlflow.tracking import MlflowClient

        MlflowClient(conns.mlflow_uri).search_experiments(max_results=1)

    services = {}
    if conns.prometheus_url:  # a source that is not configured is not checked (and not unhealthy)
        services["prometheus"] = _timed(prometheus)
    if conns.database_url:
        services["prediction_db"] = _timed(database)
    if conns.mlflow_uri:
        services["mlflow"] = _timed(mlflow)
    for name, url in (extra_urls or {}).items():
        services[name] = _timed(lambda url=url: requests.get(url, timeout=timeout).raise_for_status())
    return {"services": services, "overall_healthy": all(s["status"] == "healthy" for s in services.values())}
