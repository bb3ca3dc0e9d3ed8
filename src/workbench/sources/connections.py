"""Which servers a run uses: the environment's, or the running demo stack's when nothing is set.

This is the only place (besides the demo itself) that knows the demo exists; the review context
receives the result and never falls back on its own. The demo's connection file is read through a
lazy import so nothing here loads demo code unless the demo is really used.
"""

from __future__ import annotations

from workbench import config, reviews
from workbench.config import Connections
from workbench.errors import ConfigError

SOURCES = ("auto", "demo", "env")


def resolve_connections(source: str = "auto") -> Connections:
    """'env': the WORKBENCH_* / MLFLOW_TRACKING_URI variables (at least one set); 'demo': the running
    demo stack; 'auto': the environment if WORKBENCH_DATABASE_URL or WORKBENCH_PROMETHEUS_URL is set,
    else the demo stack."""
    if source not in SOURCES:
        raise ConfigError(f"source {source!r} is not one of: {', '.join(SOURCES)}")
    if source in ("auto", "env"):
        conns = config.env_connections()
        if conns is not None:
            return conns
        if source == "env":
            raise ConfigError(f"source 'env' needs {config.ENV_DATABASE} or {config.ENV_PROMETHEUS} (or both) to be set")
    from workbench.demo import stack  # lazy: only when nothing is configured

    return stack.connections()


def configured(conns: Connections, name: str) -> bool:
    """Whether source `name` ('database', 'prometheus', 'mlflow') is set in `conns`."""
    return bool({"database": conns.database_url, "prometheus": conns.prometheus_url,
                 "mlflow": conns.mlflow_uri}[name])


def missing_for(review: str, conns: Connections) -> list[str]:
    """The sources `review` needs (workbench.reviews) that `conns` does not configure (empty: it can
    run; a review missing one is skipped, not an error)."""
    return [s for s in reviews.needs(review) if not configured(conns, s)]


def not_configured(name: str) -> str:
    """'the prediction DB is not configured (WORKBENCH_DATABASE_URL)'."""
    title = {"database": "the prediction DB", "prometheus": "Prometheus", "mlflow": "MLflow"}[name]
    return f"{title} is not configured ({config.SOURCE_ENV[name]} is not set)"
