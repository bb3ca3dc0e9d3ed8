"""The PromQL catalog's helpers: every query comes from params/queries.yaml, its placeholders filled
here (label values escaped). A leaf module: the review, SLOs, alert replay and the performance
review's Prometheus sections all fill their queries through it."""

from __future__ import annotations

from string import Template

from workbench.config import QueryCatalog, Window

ALL_MODELS = ""  # model "" is the service review: $model matches every model, one series per model


def promql_string(value: str) -> str:
    """`value` escaped for use inside a double-quoted PromQL label matcher."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render(promql: str, **values: str) -> str:
    """Fill $rate, $window, $model, $q in a catalog query."""
    return Template(promql).safe_substitute(**values)


def seconds(window: Window) -> str:
    """The window's length as a PromQL duration ("604800s")."""
    return f"{int((window.end - window.start).total_seconds())}s"


def catalog_query(catalog: QueryCatalog, name: str, /, labels: dict[str, str] | None = None, **values: str) -> str:
    """The named query of the catalog's `queries:` section (params/queries.yaml) with its placeholders
    filled: `labels` are label values (escaped for a double-quoted matcher), `values` are PromQL
    fragments (durations, expressions). A missing entry or placeholder is a ConfigError naming it."""
    from workbench.errors import ConfigError

    entry = catalog.queries.get(name)
    if entry is None:
        raise ConfigError(f"params/queries.yaml: queries.{name}: missing (workbench looks this query up by name; "
                          "see the shipped params/queries.yaml)")
    filled = {**values, **{k: promql_string(str(v)) for k, v in (labels or {}).items()}}
    promql = entry.promql
    if labels and labels.get("model") == ALL_MODELS:  # the service review: every model, one series each
        promql = promql.replace('model="$model"', 'model!=""')
    try:
        return Template(promql).substitute(filled)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"params/queries.yaml: queries.{name}.promql: placeholder {exc} cannot be filled "
                          f"(this query is given: {', '.join('$' + k for k in sorted(filled)) or 'none'})") from None
