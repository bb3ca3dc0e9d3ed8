import datetime as dt
import json
from pathlib import Path

import pytest

from workbench import config
from workbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_params_load():
    w = config.load_weekly(ROOT / "params" / "weekly.yaml")
    assert [m.name for m in w.models] == ["churn-predictor", "revenue-predictor"]
    m = config.load_monitoring(ROOT / "params" / "monitoring.yaml")
    assert m.drift_detection.features_for("churn-predictor")["tenure"].method == "ks"
    assert m.drift_detection.features_for("churn-predictor")["monthly_charges"].method == "wasserstein"
    assert m.drift_detection.features_for("churn-predictor")["contract"].method == "psi"
    q = config.load_queries(ROOT / "params" / "queries.yaml")
    assert "api_latency" in q.panels


def test_unknown_key_names_file_and_key(tmp_path):
    p = tmp_path / "weekly.yaml"
    p.write_text("models:\n  - name: m\n    type: classification\n    colour: red\n")
    with pytest.raises(ConfigError) as e:
        config.load_weekly(p)
    assert str(p) in str(e.value) and "models.0.colour" in str(e.value) and "unknown key" in str(e.value)


@pytest.mark.parametrize("loader,text,message", [
    ("load_weekly", "models:\n  - name: m\n    type: clustering\n", r"models\.0\.type"),
    ("load_weekly", "models:\n  - name: m\n    type: regression\ninfrastructure:\n  rate_window: 2m\n"
                    "  scrape_interval: 60s\n", "at least 4 scrape intervals"),
    ("load_monitoring", "drift_detection:\n  models:\n    m:\n      features:\n        tenure: {threshold: 0.05}\n",
     "tenure: Value error, a threshold needs a method"),
], ids=["bad-model-type", "rate-window-too-short", "threshold-without-method"])
def test_invalid_parameters_are_named(tmp_path, loader, text, message):
    p = tmp_path / "params.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        getattr(config, loader)(p)


def test_unknown_drift_method_lists_valid_ones(tmp_path):
    p = tmp_path / "monitoring.yaml"
    p.write_text("drift_detection:\n  models:\n    m:\n      features:\n        tenure: {method: ksx}\n")
    with pytest.raises(ConfigError) as e:
        config.load_monitoring(p)
    msg = str(e.value)
    assert "drift_detection.models.m.features.tenure.method" in msg
    assert "ksx" in msg and "chi2, js, ks, psi, wasserstein" in msg


def test_invalid_yaml_and_missing_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("models: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load_weekly(p)
    with pytest.raises(ConfigError, match="file not found"):
        config.load_weekly(tmp_path / "nope.yaml")


def test_iso_week_and_last_full_week():
    w = config.iso_week("2026-W47")
    assert w.start == dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)
    assert w.end == dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)
    friday = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.timezone.utc)
    assert config.last_full_week(friday) == w
    monday = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
    assert config.last_full_week(monday).label == "2026-W47"
    assert config.last_full_week(dt.datetime(2027, 1, 5, tzinfo=dt.timezone.utc)).label == "2026-W53"
    for bad in ("2026-47", "2026-W54", "week"):
        with pytest.raises(ConfigError):
            config.iso_week(bad)


def test_window_rejects_naive_times():
    with pytest.raises(ConfigError, match="timezone-aware"):
        config.Window(dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2), "x")


def test_redact_hides_passwords():
    assert config.redact("postgresql+psycopg://app:s3cr%40t@db:5432/preds") == "postgresql+psycopg://app:***@db:5432/preds"
    assert config.redact("http://prom:9090") == "http://prom:9090"
    assert config.redact("https://u:p@thanos.example/") == "https://u:***@thanos.example/"


def test_env_connections():
    assert config.env_connections({}) is None
    c = config.env_connections({config.ENV_PROMETHEUS: "http://p:9090", config.ENV_DATABASE: "sqlite:///x.db"})
    assert c.prometheus_url == "http://p:9090" and not c.demo
    # each source alone is a valid configuration: the reviews that need another are skipped
    db_only = config.env_connections({config.ENV_DATABASE: "sqlite:///x.db"})
    assert db_only.database_url == "sqlite:///x.db" and db_only.prometheus_url is None and not db_only.demo
    prom_only = config.env_connections({config.ENV_PROMETHEUS: "http://p:9090"})
    assert prom_only.database_url is None and prom_only.prometheus_url == "http://p:9090"
    # MLflow sets MLFLOW_TRACKING_URI in-process itself: alone it does not leave the demo
    assert config.env_connections({config.ENV_MLFLOW: "sqlite:///m.db"}) is None


def test_parse_duration():
    assert config.parse_duration("5m") == 300
    assert config.parse_duration("15s") == 15
    with pytest.raises(ValueError):
        config.parse_duration("5 minutes")


def test_reference_file_loader(tmp_path):
    import pandas as pd

    from workbench.sources.model_registry import load_reference_file

    df = pd.DataFrame({"tenure": [1.0, 2.0], "contract": ["One year", "Two year"]})
    df.to_parquet(tmp_path / "ref.parquet")
    df.to_csv(tmp_path / "ref.csv", index=False)
    pd.testing.assert_frame_equal(load_reference_file(tmp_path / "ref.parquet"), df)
    pd.testing.assert_frame_equal(load_reference_file(tmp_path / "ref.csv"), df)
    with pytest.raises(ConfigError, match="not found"):
        load_reference_file(tmp_path / "nope.parquet")
    (tmp_path / "ref.txt").write_text("x")
    with pytest.raises(ConfigError, match="parquet or .csv"):
        load_reference_file(tmp_path / "ref.txt")


def test_reference_parquet_reads_like_pandas(tmp_path):
    """The single-threaded Parquet read (no Arrow pool left to abort at exit) gives the frame
    pandas' own reader gives: dtypes, categoricals, timestamps and the index."""
    import pandas as pd

    from workbench.sources.model_registry import read_parquet

    df = pd.DataFrame({"code": pd.Categorical(["1", "2", "1"]), "amount": [1.5, None, 3.0],
                       "ts": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True),
                       "n": pd.array([1, None, 3], dtype="Int64")}, index=pd.Index([7, 8, 9], name="row"))
    df.to_parquet(tmp_path / "ref.parquet")
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "ref.parquet"), pd.read_parquet(tmp_path / "ref.parquet"))
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "ref.parquet"), df)


def test_redact_takes_everything_up_to_the_host():
    assert config.redact("postgresql://u:p@ss@db/x") == "postgresql://u:***@db/x"
    assert "secret" not in repr(config.Connections("http://a:secret@p", "postgresql://u:secret@d/x", None, False))


def test_last_full_week_uses_utc_whatever_the_input_zone():
    plus2 = dt.timezone(dt.timedelta(hours=2))
    monday_1am_plus2 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=plus2)  # Sunday 23:00 UTC
    assert config.last_full_week(monday_1am_plus2).label == "2026-W46"


def test_version_order():
    from workbench.context import version_key

    assert max(["1.2.0", "1.10.0", "1.3.0rc1"], key=version_key) == "1.10.0"
    assert max(["1.3.0rc1", "1.3.0"], key=version_key) == "1.3.0"
    assert max(["1.2.x", "1.2.0"], key=version_key) == "1.2.0"


def test_a_numeric_only_method_types_its_feature_numeric():
    """`method: wasserstein` on a count the automatic rule would call categorical (few distinct integer
    values) fits the reference as numeric, instead of failing the review with "does not apply"."""
    import numpy as np
    import pandas as pd

    from workbench.config import FeatureDrift
    from workbench.drift.profile import ReferenceProfile

    assert FeatureDrift(method="wasserstein").kind == "numeric"
    assert FeatureDrift(method="ks").kind == "numeric"
    assert FeatureDrift(method="chi2").kind is None  # chi2, PSI and JS apply to both kinds: the reference decides
    assert FeatureDrift(method="psi").kind is None  # applies to both: the reference decides
    assert FeatureDrift().kind is None and FeatureDrift(type="categorical").kind == "categorical"
    tickets = pd.DataFrame({"tickets": np.random.default_rng(3).poisson(1.2, 2000)})
    assert ReferenceProfile.fit(tickets)["tickets"].kind == "categorical"  # the automatic rule
    cfg = {"tickets": FeatureDrift(method="wasserstein")}
    fitted = ReferenceProfile.fit(tickets, kinds={f: c.kind for f, c in cfg.items()})
    assert fitted["tickets"].kind == "numeric"


def test_split_days_cuts_at_midnights_and_covers_the_window_exactly():
    from workbench.sources.store import split_days

    week = config.iso_week("2026-W47")
    parts = split_days(week, 2)
    assert len(parts) == 2 and parts[0].start == week.start and parts[-1].end == week.end
    assert parts[0].end == parts[1].start and parts[0].end.hour == 0 and parts[0].end.minute == 0
    assert split_days(week, 1) == [week]
    short = config.Window(week.start, week.start + dt.timedelta(hours=30), "short")
    assert split_days(short, 2) == [short]  # under two days: one scan
    odd = config.Window(week.start + dt.timedelta(hours=5), week.end + dt.timedelta(days=14, hours=3), "odd")
    got = split_days(odd, 3)
    assert len(got) == 3 and got[0].start == odd.start and got[-1].end == odd.end
    assert all(a.end == b.start and b.start.hour == 0 for a, b in zip(got, got[1:]))


def test_an_oversized_params_file_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    """A params file over config.MAX_PARAMS_BYTES is one clear error naming the file, and YAML never
    sees it (a 50 MB weekly.yaml took 492 s and 3.9 GB in every kernel) (19.8.4)."""
    from workbench import config

    p = tmp_path / "weekly.yaml"
    p.write_text("models:\n  - {name: m, type: regression}\n" + "# padding\n" * (config.MAX_PARAMS_BYTES // 10 + 1))
    parsed = []
    monkeypatch.setattr(config.yaml, "safe_load", lambda text: parsed.append(1))
    with pytest.raises(config.ConfigError, match=rf"^{p}: 4\.0 MB is more than a params file may hold \(4 MB\)"):
        config.load_weekly(p)
    assert parsed == []


def test_kernels_read_the_runners_validated_params_instead_of_parsing_the_yaml(tmp_path, monkeypatch):
    """Under `workbench report` a kernel's loaders read the runner's validated JSON copy of every params
    file (no YAML parse); a copy of another or a changed file is ignored and the YAML is parsed (19.8.4)."""
    import os
    import shutil

    from workbench import config

    params = tmp_path / "params"
    shutil.copytree(ROOT / "params", params)
    p = params / "weekly.yaml"
    p.write_text("models:\n  - {name: m, type: regression}\n  - {name: c, type: classification}\n")
    files = config.params_files(params)
    copy = tmp_path / "params.json"
    copy.write_text(config.params_json(files))
    expected = (config.load_weekly(p), config.load_monitoring(files.path("monitoring")),
                config.load_queries(files.path("queries")), config.load_slos(files.path("slos")))
    config._memo.clear()  # a kernel: a new process
    monkeypatch.setenv(config.PARAMS_JSON_ENV, str(copy))
    real = config.yaml.safe_load
    parsed = []
    monkeypatch.setattr(config.yaml, "safe_load", lambda text: parsed.append(1) or real(text))
    assert (config.load_weekly(p), config.load_monitoring(files.path("monitoring")),
            config.load_queries(files.path("queries")), config.load_slos(files.path("slos"))) == expected
    assert parsed == []
    p.write_text("models:\n  - {name: m, type: regression}\n")  # changed since the runner's copy
    os.utime(p, ns=(1, 1))
    config._memo.clear()
    assert [m.name for m in config.load_weekly(p).models] == ["m"] and parsed == [1]


def test_the_runner_parses_each_params_file_once(tmp_path, monkeypatch):
    """The runner's checks, its plan's weekly params and the kernels' JSON copy come from one parse of
    each file (the loaders keep what they validated while the file is unchanged)."""
    import shutil

    from workbench import check, config

    params = tmp_path / "params"
    shutil.copytree(ROOT / "params", params)
    config._memo.clear()
    real = config.yaml.safe_load
    parsed = []
    monkeypatch.setattr(config.yaml, "safe_load", lambda text: parsed.append(1) or real(text))
    files = config.params_files(params)
    weekly = config.load_weekly(files.weekly)
    res = check.run_checks(params, config.Connections(None, None, None, False), weekly=weekly)
    assert not [line for line in res.errors_text().splitlines() if "params" in line]
    doc = json.loads(config.params_json(files))
    present = [k for k in config.PARAMS_FILES if files.path(k).is_file()]
    assert len(doc["files"]) == len(present) == len(parsed) >= 5  # one parse per file, for all three
    weekly.models.clear()  # a caller's copy is its own
    assert config.load_weekly(files.weekly).models and len(parsed) == len(present)


def test_tolerances_are_params_with_the_old_defaults_and_reach_the_reviews(monkeypatch):
    """The base-rate, CBPE-gap and week-over-week tolerances were module constants; they are params
    whose schema default is the one value (the modules' names derive from it), and the reviews use the
    params' value."""
    from types import SimpleNamespace

    from workbench.infrastructure import core as infra
    from workbench.performance import cbpe, core as perf, explain

    p, i = config.PerformanceParams(), config.InfrastructureParams()
    assert (p.base_rate_tolerance, p.cbpe_gap_tolerance, i.week_over_week_tolerance) == (0.05, 0.03, 0.2)
    assert perf.BASE_RATE_TOLERANCE == explain.BASE_RATE_SHIFT == p.base_rate_tolerance
    assert cbpe.GAP_TOLERANCE == p.cbpe_gap_tolerance and infra.WOW_TOLERANCE == i.week_over_week_tolerance
    with pytest.raises(ValueError, match="cbpe_gap_tolerance"):
        config.PerformanceParams(cbpe_gap_tolerance=0)

    seen = {}
    monkeypatch.setattr(infra, "collect", lambda *a: seen.setdefault("args", a))
    ctx = SimpleNamespace(params=SimpleNamespace(infrastructure=config.InfrastructureParams(week_over_week_tolerance=0.5)),
                          prometheus=None, queries=None, window=None, model=SimpleNamespace(name=""))
    infra.run(ctx)
    assert seen["args"][-1] == 0.5
    import pandas as pd

    summary = pd.DataFrame([{"name": "error_ratio", "title": "error ratio", "value": 0.013, "previous": 0.01, "unit": "ratio"}])
    assert [f.severity for f in infra.InfrastructureReport(None, summary, tolerance=0.2).findings] == ["warning"]
    assert infra.InfrastructureReport(None, summary, tolerance=0.5).findings == []  # +30% is within 50%
