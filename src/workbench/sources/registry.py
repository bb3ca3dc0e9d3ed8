"""Which prediction source a URL opens: the one place a backend is chosen by the URL's scheme.

A new backend is one module with a `PredictionSource` subclass (`base.py`) plus one line here. The
classes are named as "module:Class" and imported only when their scheme is opened, so a backend's
driver is needed only by those who use it.
"""

from __future__ import annotations

import importlib

from workbench.config import StoreParams, TimeoutParams, redact
from workbench.errors import ConfigError

# URL scheme (before any "+driver") -> "module:Class"
BACKENDS = {
    "sqlite": "workbench.sources.store_sqlite:SqliteStore",
    "postgresql": "workbench.sources.store_postgres:PostgresStore",
    "duckdb": "workbench.sources.store_duckdb:DuckdbStore",  # duckdb+parquet:///abs/root (pip install workbench[lake])
    "spark": "workbench.sources.store_spark:SparkStore",  # spark+parquet:///abs/root?master=local[2]
}


def scheme(url: str) -> str:
    """The backend part of a URL's scheme: 'postgresql' for postgresql+psycopg://…"""
    head, sep, _ = str(url).partition("://")
    if not sep or not head:
        raise ConfigError(f"the prediction DB URL {redact(str(url))!r} is not a URL (scheme://…); "
                          f"choose one of: {', '.join(sorted(BACKENDS))}")
    return head.split("+", 1)[0].lower()


def backend_for(url: str) -> type:
    """The source class of the URL's scheme; ConfigError naming the scheme and the ones known."""
    name = scheme(url)
    target = BACKENDS.get(name)
    if target is None:
        raise ConfigError(f"unknown prediction DB scheme {name!r} in {redact(str(url))!r}; "
                          f"choose one of: {', '.join(sorted(BACKENDS))}")
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def open_store(url: str, params: StoreParams | None = None, timeouts: TimeoutParams | None = None, **options):
    """The prediction source of `url` (read-only), reading the table `params` describes. `options`
    are the backend's own (SQL stores: scan_workers, daily_cache)."""
    return backend_for(url)(url, params or StoreParams(), timeouts or TimeoutParams(), **options)
