"""The package as a team adopts it: the BUILT WHEEL installed into a fresh virtualenv outside the
repository, then `workbench init` -> `check` -> `report` in the team's own folder on a SQLite
regression table without model or version columns, through a relative SQLite URL. Slow (a venv
install from the pip cache): one test."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from workbench import config

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
MODEL = "house-prices"


def _run(args: list, cwd: Path, env: dict, timeout: int = 900) -> subprocess.CompletedProcess:
    p = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
    return p


def _houses(rng: np.random.Generator, n: int) -> pd.DataFrame:
    sqft = rng.uniform(40, 220, n).round(1)
    rooms = rng.integers(1, 7, n)
    city = rng.choice(["north", "south", "east"], n)
    value = 2800 * sqft + 9000 * rooms + np.where(city == "north", 40000, 0)
    return pd.DataFrame({"sqft": sqft, "rooms": rooms, "city": city,
                         "predicted_price": (value + rng.normal(0, 15000, n)).round(0) + 0.5,
                         "actual_price": (value + rng.normal(0, 20000, n)).round(2)})


def _team_folder(folder: Path, rng: np.random.Generator, week: config.Window) -> None:
    """preds.db (table house_prices: no model or version column) and the training data ref.parquet."""
    start = week.start - dt.timedelta(weeks=3)
    n = 3000
    df = _houses(rng, n)
    secs = np.sort(rng.uniform(0, (week.end - start).total_seconds(), n))
    df.insert(0, "created_at", [(start + dt.timedelta(seconds=float(s))).replace(tzinfo=None) for s in secs])
    df.insert(0, "request_id", [f"req-{i:05d}" for i in range(n)])
    sold = df["created_at"] + pd.to_timedelta(rng.uniform(1, 20, n), unit="D")  # the price is known once sold
    df["sold_at"] = sold.where(sold < week.end.replace(tzinfo=None)).astype(object)
    df.loc[df["sold_at"].isna(), "actual_price"] = None
    md = sa.MetaData()
    t = sa.Table("house_prices", md, sa.Column("request_id", sa.String, primary_key=True),
                 sa.Column("created_at", sa.DateTime), sa.Column("sqft", sa.Float), sa.Column("rooms", sa.Integer),
                 sa.Column("city", sa.String), sa.Column("predicted_price", sa.Float), sa.Column("actual_price", sa.Float),
                 sa.Column("sold_at", sa.DateTime))
    eng = sa.create_engine(f"sqlite:///{folder / 'preds.db'}")
    md.create_all(eng)
    with eng.begin() as c:
        c.execute(sa.insert(t), df.astype(object).where(df.notna(), None).to_dict("records"))
    eng.dispose()
    _houses(rng, 4000).to_parquet(folder / "ref.parquet")


def _readme_command(prefix: str) -> list[str]:
    """The command starting with `prefix` in the README's "Your own table" walk-through, without its comment."""
    import shlex

    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Your own table"):]
    line = next(ln for ln in section.splitlines() if ln.startswith(prefix))
    return shlex.split(line, comments=True)


def test_built_wheel_in_a_fresh_venv_runs_init_check_report_in_the_teams_folder(tmp_path):
    dist, venv, team = tmp_path / "dist", tmp_path / "venv", tmp_path / "team"
    team.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith(
        ("WORKBENCH_", "MLFLOW_"))}
    env["WORKBENCH_DEMO_DIR"] = str(tmp_path / "no-demo-here")  # the demo stack must not be used

    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, ROOT], tmp_path, env)
    wheel = next(dist.glob("workbench-*.whl"))
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"workbench/notebooks/{nb.name}" in shipped
    for p in (ROOT / "params").glob("*.yaml"):
        assert f"workbench/default_params/{p.name}" in shipped

    _run([sys.executable, "-m", "venv", venv], tmp_path, env)
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], tmp_path, env, timeout=1800)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = _run([venv / "bin" / "python", "-c", "import workbench; print(workbench.__file__)"], team, env).stdout
    assert Path(where.strip()).is_relative_to(venv)  # the installed wheel, not this checkout

    week = config.last_full_week()
    _team_folder(team, np.random.default_rng(19), week)
    env[config.ENV_DATABASE] = "sqlite:///preds.db"  # relative: the team's folder
    wb = venv / "bin" / "workbench"
    documented = _readme_command("workbench init")  # the README's own walk-through, word for word
    assert documented[:3] == ["workbench", "init", "--table"]
    _run([wb, *documented[1:]], team, env)
    weekly = (team / "params" / "weekly.yaml").read_text()
    assert "type: regression" in weekly and '{"constant": "house-prices"}' in weekly
    assert 'outcome_timestamp: "sold_at"' in weekly and "CHANGE-ME" not in weekly
    assert not (team / "notebooks").exists() and (team / "README.md").is_file()

    assert _readme_command("workbench check") == ["workbench", "check"]
    assert _readme_command("workbench report") == ["workbench", "report"]  # here with the week the data covers
    checked = _run([wb, "check"], team, env)
    assert "[FAIL]" not in checked.stdout

    reported = _run([wb, "report", "--week", week.label], team, env, timeout=1800)
    assert "reports:" in reported.stdout
    status = json.loads((team / "reports" / week.label / "status.json").read_text())
    by = {r["notebook"]: r for r in status["results"]}
    assert by["01-drift-review"]["status"] == "ok", by["01-drift-review"]["problems"]
    assert by["02-performance-review"]["status"] == "ok", by["02-performance-review"]["problems"]
    assert by["03-infrastructure-review"]["status"] == "skipped"  # no Prometheus: skipped, not an error
    for nb in ("01-drift-review", "02-performance-review"):
        html = (team / "reports" / week.label / MODEL / f"{nb}.html").read_text()
        assert "Could not compute" not in html and "Traceback" not in html
    assert (team / "reports" / "index.html").is_file()
