"""The query catalog (params/queries.yaml) is the one place PromQL lives: the code looks queries up by
name, validation names the bad key, and label values are escaped when they are filled in."""

import re
from pathlib import Path

import pytest
import yaml

from workbench import config, infrastructure
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "params" / "queries.yaml"


def _write(tmp_path, mutate) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    mutate(data)
    p = tmp_path / "queries.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def test_shipped_catalog_has_every_named_query():
    cat = config.load_queries(SHIPPED)
    assert set(cat.queries) == set(config.CATALOG_QUERIES)
    assert cat.panels["error_ratio"].threshold == "error_ratio_alert" and cat.panels["error_ratio"].timeline
    assert {n for n, s in cat.panels.items() if s.section == "resources"} >= {"cpu", "memory", "service_up"}


def test_a_missing_named_query_is_named(tmp_path):
    p = _write(tmp_path, lambda d: d["queries"].pop("ab_test_conversions"))
    with pytest.raises(ConfigError, match=r"queries\.ab_test_conversions: missing"):
        config.load_queries(p)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["queries"]["predictions_by_class"].update(promql="x{model=\"$modle\"}[$window]"),
     r"queries\.predictions_by_class\.promql: unknown placeholder \$modle"),
    (lambda d: d["queries"].update(my_query={"promql": "up"}), r"queries\.my_query: not a query workbench looks up"),
    (lambda d: d["queries"]["firing_alerts"].pop("promql"), r"queries\.firing_alerts\.promql: Field required"),
    (lambda d: d["panels"]["cpu"].update(promql="rate(x[$rte])"), r"panels\.cpu\.promql: unknown placeholder \$rte"),
    (lambda d: d["panels"]["cpu"].update(threshold="cpu_alert"), r"panels\.cpu\.threshold.*cpu_alert"),
    (lambda d: d["panels"]["cpu"].update(section="elsewhere"), r"panels\.cpu\.section"),
], ids=["bad-placeholder", "unknown-query", "no-promql", "panel-placeholder", "threshold-key", "section"])
def test_a_malformed_entry_is_named(tmp_path, mutate, message):
    with pytest.raises(ConfigError, match=message):
        config.load_queries(_write(tmp_path, mutate))


def test_catalog_query_escapes_label_values_and_names_what_is_missing():
    cat = config.load_queries(SHIPPED)
    window = config.iso_week("2026-W47")
    q = infrastructure.catalog_query(cat, "ab_test_conversions", {"experiment": 'x"} or vector(1) #'},
                                     window=infrastructure.seconds(window))
    assert q == 'sum by (variant) (increase(ab_test_conversions{experiment="x\\"} or vector(1) #"}[604800s]))'
    with pytest.raises(ConfigError, match=r"queries\.predictions_by_class\.promql: placeholder 'window'"):
        infrastructure.catalog_query(cat, "predictions_by_class", {"model": "m"})
    empty = config.QueryCatalog(summary={}, panels={})
    with pytest.raises(ConfigError, match=r"queries\.firing_alerts: missing"):
        infrastructure.catalog_query(empty, "firing_alerts")


def test_a_team_with_other_metric_names_edits_only_the_catalog(tmp_path):
    """Renamed metrics reach the code through queries.yaml alone."""
    p = _write(tmp_path, lambda d: d["queries"]["predictions_by_class"].update(
        promql='sum by (class) (increase(acme_preds_total{svc="$model"}[$window]))'))
    cat = config.load_queries(p)
    q = infrastructure.catalog_query(cat, "predictions_by_class", {"model": "m"}, window="60s")
    assert q == 'sum by (class) (increase(acme_preds_total{svc="m"}[60s]))'


# a range function over a selector, a quantile over buckets, the ALERTS series, an aggregation by labels
PROMQL_IN_CODE = re.compile(r"\b(increase|i?rate|\w+_over_time)\(\w+(\{.*?\})?\[[\d${]|histogram_quantile\(|ALERTS\{"
                            r"|\b(sum|avg|min|max|count) by \(")


def test_no_promql_is_built_in_code():
    """Every query the reviews run comes from params (queries.yaml, slos.yaml, alerts.yaml)."""
    found = []
    for path in sorted((ROOT / "src" / "workbench").rglob("*.py")):
        if "demo" in path.parts:  # the demo writes its own metrics; it does not query them
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if PROMQL_IN_CODE.search(code):
                found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert found == []
