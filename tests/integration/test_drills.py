"""Issue 10's drills against real servers: a PostgreSQL role whose password holds "/" and "@", a
table locked by another session, a cell that never returns, an MLflow server that only fails, and a
stale partial notebook. Each asserts what a user would see (files, messages), never wall-clock time."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest
import sqlalchemy as sa
from nbformat.v4 import new_code_cell, new_notebook

from workbench import config, report
from workbench.errors import SourceUnavailable

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Sl4sh/S3cr3t@Pw:x%y"  # "/", "@", ":" and "%" — the driver reads it from the URL below
TABLE = "drill_predictions"

PARAMS = '''model = "m1"
week = ""
source = "auto"
params_dir = "../params"
data_until = ""
status_file = ""
output_dir = ""'''

FINISH = '''import json
if status_file:
    open(status_file, "w").write(json.dumps({"complete": True, "problems": [],
                                             "outputs": {"mlflow_run_id": os.environ.get("DRILL_RUN_ID", "")}}))'''

SOURCES = '''import os
from pathlib import Path
from IPython.display import HTML, display
from workbench import context
ctx = context.open_review(model, week, source, params_dir)
display(ctx.describe())
print("rows", ctx.store.count(ctx.model.name, ctx.window))
url = os.environ["WORKBENCH_DATABASE_URL"]
print(url)                                      # a careless print
print(repr(url), {"url": url})
display(HTML(f"<code>{url}</code>"))
if output_dir:
    Path(output_dir, "side.html").write_text(f"<p>{url}</p>")'''

RUDE = '''import os
raise RuntimeError("cannot reach " + os.environ["WORKBENCH_DATABASE_URL"])'''

BLOCKED = '''from workbench import context
ctx = context.open_review(model, week, source, params_dir)
ctx.attempt("prediction volume", ctx.store.count, ctx.model.name, ctx.window)
ctx.finish(status_file)'''

OK = '''import json
if status_file:
    open(status_file, "w").write(json.dumps({"complete": True, "problems": []}))'''

SLEEPS = '''import time
time.sleep(120)'''


def _notebook(*cells: str):
    p = new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[p, *[new_code_cell(c) for c in cells]])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _project(tmp_path: Path, notebooks: dict[str, list[str]], timeouts: str = "") -> Path:
    (tmp_path / "params").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    for f in ("monitoring.yaml", "queries.yaml"):
        shutil.copyfile(ROOT / "params" / f, tmp_path / "params" / f)
    for name, cells in notebooks.items():
        nbformat.write(_notebook(*cells), tmp_path / "notebooks" / f"{name}.ipynb")
    nbs = "".join(f"  - {n}\n" for n in notebooks)
    p = tmp_path / "params" / "weekly.yaml"
    p.write_text(f"models:\n  - name: m1\n    type: classification\nnotebooks:\n{nbs}"
                 f"store:\n  table: {TABLE}\n{timeouts}")
    return p


@pytest.fixture(scope="module")
def drill_db(postgres_url):
    """A small prediction table (3 rows of m1 in 2026-W47) in the test database."""
    eng = sa.create_engine(postgres_url)
    with eng.begin() as c:
        c.execute(sa.text(f"""CREATE TABLE {TABLE} (prediction_id text, model_name text, model_version text,
            variant text, "timestamp" timestamptz, prediction double precision, probability double precision,
            actual_outcome double precision, outcome_timestamp timestamptz)"""))
        c.execute(sa.text(f"INSERT INTO {TABLE} VALUES ('a','m1','1.0','a','2026-11-17T10:00Z',1,0.9,1,NULL),"
                          "('b','m1','1.0','a','2026-11-18T10:00Z',0,0.2,0,NULL),"
                          "('c','m1','1.0','b','2026-11-19T10:00Z',1,0.7,NULL,NULL)"))
    yield postgres_url
    eng.dispose()


@pytest.fixture(scope="module")
def slash_role_url(drill_db, pg_login_role):
    """A real login role whose password holds "/", "@", ":" and "%"; its URL as a user would write it
    (only "@", ":" and "%" encoded — SQLAlchemy accepts the "/" as it is)."""
    dbname = sa.engine.make_url(drill_db).database
    with pg_login_role(drill_db, PASSWORD, "wb_drill") as role:
        admin = sa.create_engine(drill_db)
        with admin.begin() as c:
            c.execute(sa.text(f'GRANT CONNECT ON DATABASE "{dbname}" TO {role}'))
            c.execute(sa.text(f"GRANT SELECT ON {TABLE} TO {role}"))
        admin.dispose()
        u = sa.engine.make_url(drill_db)
        url = f"postgresql://{role}:{quote(PASSWORD, safe='/')}@{u.host}:{u.port}/{dbname}"
        assert sa.engine.make_url(url).password == PASSWORD and "/" in url.split("@")[0]
        yield url


def _visible_forms(url: str) -> list[str]:
    forms = set(report.secrets_from_env({config.ENV_DATABASE: url}))
    forms |= {"S3cr3t", "Sl4sh/S", PASSWORD}
    return sorted(forms)


def test_password_with_slash_and_at_never_leaves_the_run(tmp_path, slash_role_url):
    """Drill 1: a real role, a real report run through the CLI; every published file, the partial
    notebook, the copy attached to MLflow, and the log lines are free of the password."""
    from mlflow.tracking import MlflowClient

    store = tmp_path / "mlflow.db"
    client = MlflowClient(f"sqlite:///{store}")  # the test makes the store; workbench never would
    exp = client.create_experiment("drill", artifact_location=(tmp_path / "artifacts").as_uri())
    run_id = client.create_run(exp).info.run_id
    params = _project(tmp_path / "proj", {"sources": [SOURCES, FINISH], "rude": [RUDE]})
    env = {**os.environ, config.ENV_DATABASE: slash_role_url, config.ENV_PROMETHEUS: "http://127.0.0.1:1",
           config.ENV_MLFLOW: f"sqlite:///{store}", "DRILL_RUN_ID": run_id,
           "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = tmp_path / "proj" / "reports"
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "--log-format", "json", "report", "--params",
                        str(params), "--week", "2026-W47", "--out", str(out), "--source", "env", "--jobs", "1"],
                       env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path / "proj")
    st = {r["notebook"]: r for r in json.loads((out / "2026-W47" / "status.json").read_text())["results"]}
    assert st["sources"]["status"] == "ok", (st, p.stderr[-2000:])  # published, not withheld
    assert st["rude"]["status"] == "failed" and st["rude"]["ipynb"] == "failed/m1/rude.ipynb"
    assert "cannot reach postgresql://" in st["rude"]["problems"][0]  # the real error, redacted
    page = (out / "2026-W47" / "m1" / "sources.html").read_text()
    assert "rows 3" in page  # the driver connected with the parsed password
    assert (out / "2026-W47" / "m1" / "side.html").exists()
    dl = Path(client.download_artifacts(run_id, "reports", str(tmp_path / "dl")))
    files = [f for f in out.rglob("*") if f.is_file()] + [f for f in dl.rglob("*") if f.is_file()]
    assert any(f.name == "sources.html" for f in dl.rglob("*"))  # the MLflow copy exists, and is checked below
    texts = {str(f): f.read_text(errors="replace") for f in files}
    texts["stdout"], texts["stderr"] = p.stdout, p.stderr
    for form in _visible_forms(slash_role_url):
        for name, text in texts.items():
            assert form not in text, f"{form!r} visible in {name}"


def test_password_equal_to_user_name_publishes_and_redacts(tmp_path, drill_db, monkeypatch):
    """Issue 8: the test role's password is its name; nothing is withheld, the URL is redacted."""
    u = sa.engine.make_url(drill_db)
    assert u.password == u.username  # workbench_test:workbench_test, as scripts/ensure-postgres.sh makes it
    params = _project(tmp_path, {"sources": [SOURCES, OK.replace("json.dumps", "json.dumps")]})
    monkeypatch.setenv(config.ENV_DATABASE, drill_db)
    monkeypatch.setenv(config.ENV_PROMETHEUS, "http://127.0.0.1:1")
    monkeypatch.delenv(config.ENV_MLFLOW, raising=False)
    run = report.run(params, week="2026-W47", out_dir=tmp_path / "reports", source="env", jobs=1)
    assert run.results[0].status == "ok", run.results[0].problems
    page = (tmp_path / "reports" / "2026-W47" / "m1" / "sources.html").read_text()
    assert "rows 3" in page and f":{u.password}@" not in page and ":***@" in page


def test_locked_table_fails_fast_naming_the_db_and_the_timeout_and_others_finish(tmp_path, drill_db, monkeypatch):
    """Drill 5: another session holds ACCESS EXCLUSIVE on the table; the review that reads it says
    which source blocked and for how long; the review that does not touch it is ok; no .work-* left."""
    params = _project(tmp_path, {"blocked": [BLOCKED], "other": [OK]},
                      timeouts="timeouts:\n  database_lock: 1s\n  database_statement: 3s\n")
    monkeypatch.setenv(config.ENV_DATABASE, drill_db)
    monkeypatch.setenv(config.ENV_PROMETHEUS, "http://127.0.0.1:1")
    holder = sa.create_engine(drill_db).connect()
    tx = holder.begin()
    holder.execute(sa.text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"))
    try:
        run = report.run(params, week="2026-W47", out_dir=tmp_path / "reports", source="env", jobs=2)
    finally:
        tx.rollback()
        holder.close()
    r = {x.notebook: x for x in run.results}
    assert r["other"].status == "ok"
    assert r["blocked"].status == "incomplete"
    msg = " ".join(r["blocked"].problems)
    assert "prediction volume: prediction DB at postgresql+psycopg://" in msg and ":***@127.0.0.1" in msg
    assert "timeouts.database_lock (1s)" in msg and "lock timeout" in msg
    assert not list((tmp_path / "reports" / "2026-W47").glob(".work*"))


def test_statement_timeout_cancels_a_slow_query(drill_db):
    from workbench.sources.store import describe_error, read_only_engine

    eng = read_only_engine(drill_db, config.TimeoutParams(database_statement="1s"))
    with pytest.raises(sa.exc.OperationalError) as e, eng.connect() as c:
        c.execute(sa.text("SELECT pg_sleep(30)"))
    assert "timeouts.database_statement (1s)" in describe_error(e.value) or "1s" in describe_error(
        e.value, config.TimeoutParams(database_statement="1s"))
    eng.dispose()


def test_a_cell_that_never_returns_costs_its_own_review(tmp_path, monkeypatch):
    """A stuck cell hits timeouts.cell; the run finishes, says which cell, and other reviews are ok."""
    params = _project(tmp_path, {"sleeps": [SLEEPS, OK], "other": [OK]}, timeouts="timeouts:\n  cell: 3s\n")
    monkeypatch.setenv(config.ENV_DATABASE, "sqlite:///x.db")
    monkeypatch.setenv(config.ENV_PROMETHEUS, "http://127.0.0.1:1")
    run = report.run(params, week="2026-W47", out_dir=tmp_path / "reports", source="env", jobs=2)
    r = {x.notebook: x for x in run.results}
    assert r["other"].status == "ok" and r["sleeps"].status == "failed"
    assert 'timed out in the cell starting "import time"' in r["sleeps"].problems[0]
    assert "timeouts.cell" in r["sleeps"].problems[0]
    assert not list((tmp_path / "reports" / "2026-W47").glob(".work*"))


def test_a_later_good_run_removes_the_stale_partial_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv(config.ENV_DATABASE, "sqlite:///x.db")
    monkeypatch.setenv(config.ENV_PROMETHEUS, "http://127.0.0.1:1")
    params = _project(tmp_path, {"flaky": ['raise RuntimeError("first run fails")']})
    report.run(params, week="2026-W47", out_dir=tmp_path / "reports", source="env")
    stale = tmp_path / "reports" / "2026-W47" / "failed" / "m1" / "flaky.ipynb"
    assert stale.exists()
    nbformat.write(_notebook(OK), tmp_path / "notebooks" / "flaky.ipynb")
    run = report.run(params, week="2026-W47", out_dir=tmp_path / "reports", source="env")
    assert run.ok and not stale.exists()
    assert "partial notebook" not in (tmp_path / "reports" / "2026-W47" / "index.html").read_text()


class _Failing(http.server.BaseHTTPRequestHandler):
    hits = 0

    def _fail(self):
        type(self).hits += 1
        self.send_response(503)
        self.end_headers()

    do_GET = do_POST = _fail

    def log_message(self, *a):  # quiet
        pass


@pytest.fixture
def failing_mlflow():
    _Failing.hits = 0
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", _Failing
    finally:
        srv.shutdown()
        srv.server_close()


def test_failing_mlflow_server_is_retried_a_bounded_number_of_times(failing_mlflow):
    """Drill 6: MLflow's own default is 7 retries with exponential backoff (minutes per call)."""
    from workbench.sources.model_registry import ModelRegistry

    url, handler = failing_mlflow
    with pytest.raises(SourceUnavailable, match=rf"^MLflow at {url}: listing versions of 'm1'"):
        ModelRegistry(url, request_timeout=2, max_retries=1).versions("m1")
    assert handler.hits == 2  # one call, one retry


def test_health_timeout_bounds_mlflow_too(failing_mlflow, tmp_path):
    url, handler = failing_mlflow
    db = tmp_path / "p.db"
    sa.create_engine(f"sqlite:///{db}").connect().close()
    env = {**os.environ, config.ENV_PROMETHEUS: "http://127.0.0.1:1", config.ENV_DATABASE: f"sqlite:///{db}",
           config.ENV_MLFLOW: url, "PYTHONPATH": str(ROOT / "src")}
    for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        env.pop(k, None)
    p = subprocess.run([sys.executable, "-m", "workbench.cli", "health", "--timeout", "2", "--source", "env"],
                       env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 1 and f"MLflow at {url}" in p.stdout
    assert handler.hits == 1  # no retries behind the user's --timeout
