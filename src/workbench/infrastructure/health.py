"""`workbench health`: the guide's health-check script as a function over the configured sources.

Every check is bounded by `timeout`: the database's connect and statement timeouts, MLflow's HTTP
timeout and retries (set before MLflow is used), Prometheus' and extra URLs' request timeouts.
"""

from __future__ import annotations

import time

import requests

from workbench.config import Connections, TimeoutParams, redact


def _timed(fn) -> dict:
    t = time.monotonic()
    try:
        detail = fn()
        return {"status": "healthy", "response_time": round(time.monotonic() - t, 4), **(detail or {})}
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure, never raises
        text = redact(str(exc))[:300]
        low = text.lower()
        status = "locked" if "locked" in low else "corrupt" if ("corrupt" in low or "malformed" in low) else "unreachable"
        return {"status": status, "error": text if text.startswith(("MLflow at", "Prometheus at", "prediction DB"))
                else f"{type(exc).__name__}: {text}"}


def check(conns: Connections, extra_urls: dict[str, str] | None = None, timeout: float = 10) -> dict:
    """Prometheus /-/healthy, a query on the prediction DB, MLflow's store, and extra URLs."""
    secs = f"{max(1, int(timeout))}s"
    bounds = TimeoutParams(database_statement=secs, database_lock=secs, database_connect=secs, mlflow_request=secs,
                           mlflow_retries=0)

    def prometheus():
        from workbench.sources.prometheus import PrometheusSource

        PrometheusSource(conns.prometheus_url, timeout=timeout).check_healthy()

    def database():
        import sqlalchemy as sa

        from workbench.errors import SourceUnavailable
        from workbench.sources.store import describe_error, read_only_engine

        eng = read_only_engine(conns.database_url, bounds)
        try:
            with eng.connect() as c:
                c.execute(sa.text("SELECT count(*) FROM sqlite_master" if eng.dialect.name == "sqlite" else "SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise SourceUnavailable(f"prediction DB at {redact(conns.database_url)}: {describe_error(exc, bounds)}") from exc
        finally:
            eng.dispose()

    def mlflow():
        from workbench.sources import model_registry

        uri = conns.mlflow_uri or ""
        c = model_registry.client(uri, timeout, max_retries=0)
        try:
            c.search_experiments(max_results=1)
        except Exception as exc:  # noqa: BLE001 - every store error says it is MLflow's
            raise model_registry.mlflow_error(uri, "listing experiments", exc) from exc

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
