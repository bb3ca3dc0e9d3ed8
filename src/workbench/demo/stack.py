"""The built-in demo stack: `workbench demo up|down|status`.

up: generate the history (deterministic from a seed), write the SQLite prediction DB, register
the model versions in MLflow, backfill Prometheus with promtool and start it on 127.0.0.1.
It is idempotent: data that still covers the last full week is reused, a running server is kept.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.config import ENV_DEMO_DIR, Connections, last_full_week, project_root
from workbench.errors import ConfigError, DemoError

log = logging.getLogger(__name__)
DEFAULT_SEED = 7
DEFAULT_WEEKLY_VOLUME = 100_000
DEFAULT_FLEET_VOLUME = 5_000  # mean predictions per model and week in a generated fleet
MAX_AGE = dt.timedelta(hours=24)


def demo_dir(explicit: str | Path | None = None) -> Path:
    """Where the demo stack lives: `explicit`, $WORKBENCH_DEMO_DIR, or <project>/data/demo."""
    if explicit:
        return Path(explicit).resolve()
    if os.environ.get(ENV_DEMO_DIR):
        return Path(os.environ[ENV_DEMO_DIR]).resolve()
    try:
        return project_root() / "data" / "demo"
    except ConfigError:
        return Path.cwd() / "data" / "demo"


@dataclass
class DemoPaths:
    root: Path

    @property
    def manifest(self) -> Path: return self.root / "manifest.json"
    @property
    def db(self) -> Path: return self.root / "predictions.db"
    @property
    def mlflow_db(self) -> Path: return self.root / "mlflow.db"
    @property
    def mlflow_artifacts(self) -> Path: return self.root / "mlartifacts"
    @property
    def tsdb(self) -> Path: return self.root / "prometheus"
    @property
    def state(self) -> Path: return self.root / "prometheus.json"
    @property
    def prom_config(self) -> Path: return self.root / "prometheus.yml"
    @property
    def prom_log(self) -> Path: return self.root / "prometheus.log"
    @property
    def rules(self) -> Path: return self.root / "alerts.yaml"
    @property
    def params_dir(self) -> Path: return self.root / "params"

    @property
    def database_url(self) -> str: return f"sqlite:///{self.db}"
    @property
    def mlflow_uri(self) -> str: return f"sqlite:///{self.mlflow_db}"


def _read_manifest(paths: DemoPaths) -> dict | None:
    try:
        return json.loads(paths.manifest.read_text())
    except (OSError, ValueError):
        return None


def _fresh(manifest: dict | None, seed: int, weekly_volume: int, now: dt.datetime, models: int | None = None) -> bool:
    if not manifest or manifest.get("seed") != seed or manifest.get("weekly_volume") != weekly_volume:
        return False
    if manifest.get("fleet_size") != models:
        return False
    end = dt.datetime.fromisoformat(manifest["end"])
    return now - end < MAX_AGE and last_full_week(end) == last_full_week(now)


def _rules_file() -> Path:
    """The alert rules Prometheus loads: the project's params/alerts.yaml, else the packaged default's."""
    from workbench.demo.fleet import params_file

    try:
        return params_file("alerts.yaml")
    except ConfigError as exc:
        raise DemoError(f"params/alerts.yaml not found: {exc}") from None


def build(paths: DemoPaths, seed: int, weekly_volume: int, end: dt.datetime, models: int | None = None) -> dict:
    """Generate all demo data into `paths.root` (replacing what was there); with `models`, a generated
    fleet of that many models (weekly_volume is then the mean per model) and its params folder."""
    from sqlalchemy import create_engine

    from workbench.demo import data, database, metrics, prometheus, registry

    t0 = time.monotonic()
    if paths.root.exists():
        for p in (paths.db, paths.mlflow_db, paths.manifest):
            p.unlink(missing_ok=True)
        for d in (paths.tsdb, paths.mlflow_artifacts):
            shutil.rmtree(d, ignore_errors=True)
    paths.root.mkdir(parents=True, exist_ok=True)
    log.info("generating demo history", extra={"seed": seed, "weekly_volume": weekly_volume})
    specs = data.fleet_specs(models, seed, weekly_volume) if models else None
    history = data.generate_fleet(end, specs, seed=seed) if specs else data.generate(end, seed=seed, weekly_volume=weekly_volume)

    om_files = [paths.root / f"metrics-{i}.om" for i in range(max(1, min(4, os.cpu_count() or 1)))]
    n_series = metrics.write_openmetrics(history, om_files, seed=seed)
    log.info("backfilling prometheus", extra={"series": n_series})
    prometheus.backfill(om_files, paths.tsdb)
    for f in om_files:
        f.unlink()

    engine = create_engine(paths.database_url)
    rows = database.write_predictions(engine, history.predictions)
    engine.dispose()
    log.info("prediction db written", extra={"rows": rows})

    registered = registry.register_models(history, paths.mlflow_uri, paths.mlflow_artifacts, seed=seed)
    manifest = {
        "seed": seed,
        "weekly_volume": weekly_volume,
        "end": history.end.isoformat(),
        "rows": rows,
        "series": n_series,
        "incidents": {
            "drift_start": history.incidents.drift_start.isoformat(),
            "latency": [t.isoformat() for t in history.incidents.latency],
            "errors": [t.isoformat() for t in history.incidents.errors],
            "outages": {k: [t.isoformat() for t in v] for k, v in history.incidents.outages.items()},
        },
        "models": registered,
        "fleet_size": models,
        "build_seconds": round(time.monotonic() - t0, 1),
    }
    if specs:
        from workbench.demo import fleet

        week = last_full_week(history.end)
        p = history.predictions
        in_week = p[(p["timestamp"] >= week.start) & (p["timestamp"] < week.end)]
        manifest["fleet"] = [{**fleet.spec_dict(s), "week_rows": int((in_week["model_name"] == s.name).sum())}
                             for s in specs]
        manifest["params"] = str(fleet.write_params(paths.params_dir, specs))
    paths.manifest.write_text(json.dumps(manifest, indent=2))
    return manifest


def up(root: str | Path | None = None, seed: int = DEFAULT_SEED, weekly_volume: int | None = None,
       end: dt.datetime | None = None, port: int = 9090, models: int | None = None) -> Connections:
    """Build (if stale) and start the demo stack; returns its connection settings. `models`: a generated
    fleet of N models instead of the two-model demo (its params are written to <dir>/params/)."""
    from workbench.demo import prometheus

    if models is not None and models < 1:
        raise ConfigError(f"--models must be at least 1, got {models}")
    if weekly_volume is None:
        weekly_volume = DEFAULT_FLEET_VOLUME if models else DEFAULT_WEEKLY_VOLUME
    if weekly_volume < 1:
        raise ConfigError(f"weekly_volume must be positive, got {weekly_volume}")
    paths = DemoPaths(demo_dir(root))
    now = dt.datetime.now(dt.timezone.utc)
    state = prometheus.load_state(paths.state)
    manifest = _read_manifest(paths)
    if end is not None or not _fresh(manifest, seed, weekly_volume, now, models):
        if state is not None and prometheus.is_running(state):
            prometheus.stop_pid(state.pid)
        state = None
        build(paths, seed, weekly_volume, end or now, models)
    if state is None or not prometheus.is_running(state):
        rules = paths.rules
        shutil.copyfile(_rules_file(), rules)
        prometheus.check_rules(rules)
        prometheus.write_config(paths.prom_config, rules)
        state = prometheus.start(paths.tsdb, paths.prom_config, prometheus.free_port(port), paths.prom_log)
        prometheus.save_state(state, paths.state)
        log.info("prometheus started", extra={"url": state.url, "pid": state.pid})
    return Connections(state.url, paths.database_url, paths.mlflow_uri, demo=True)


def down(root: str | Path | None = None) -> bool:
    """Stop the demo's Prometheus (exactly the recorded process); True if one was running."""
    from workbench.demo import prometheus

    paths = DemoPaths(demo_dir(root))
    state = prometheus.load_state(paths.state)
    if state is None:
        return False
    running = prometheus.is_running(state)
    if running:
        prometheus.stop_pid(state.pid)
    paths.state.unlink(missing_ok=True)
    return running


def status(root: str | Path | None = None) -> dict:
    """What is built and running, for `workbench demo status`."""
    from workbench.demo import prometheus

    paths = DemoPaths(demo_dir(root))
    manifest = _read_manifest(paths)
    state = prometheus.load_state(paths.state)
    running = bool(state and prometheus.is_running(state))
    return {
        "dir": str(paths.root),
        "built": manifest is not None,
        "end": manifest and manifest["end"],
        "rows": manifest and manifest["rows"],
        "prometheus": state.url if running and state else None,
        "pid": state.pid if running and state else None,
    }


def connections(root: str | Path | None = None) -> Connections:
    """Connection settings of a running demo stack, or DemoError saying how to start it."""
    from workbench.demo import prometheus

    paths = DemoPaths(demo_dir(root))
    state = prometheus.load_state(paths.state)
    if _read_manifest(paths) is None or state is None or not prometheus.is_running(state):
        raise DemoError(f"the demo stack in {paths.root} is not running: start it with `workbench demo up` "
                        "(or `make demo-up`), or set WORKBENCH_PROMETHEUS_URL and WORKBENCH_DATABASE_URL")
    return Connections(state.url, paths.database_url, paths.mlflow_uri, demo=True)
