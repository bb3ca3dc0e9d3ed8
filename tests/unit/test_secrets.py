"""Drill 1 (issue 10) and issue 8's password cases: passwords are parsed the way the drivers read
the URL, whatever characters they hold, and redacted in every form a published file can carry."""

from __future__ import annotations

import html
import io
import json
import logging
from urllib.parse import quote

import pytest

from workbench import cli, config, logs, report

SLASH = "postgresql://u:Sl4sh/S3cr3tPw@db.example:5432/preds"
AT_SLASH = "postgresql://app:p@ss/w0rd@Secr3t@db.example/preds"  # unencoded "@" and "/"


def test_unencoded_slash_password_is_redacted_whole():
    assert config.redact(SLASH) == "postgresql://u:***@db.example:5432/preds"
    assert config.url_passwords(SLASH) == ["Sl4sh/S3cr3tPw"]


def test_password_is_what_sqlalchemy_passes_to_the_driver():
    from sqlalchemy.engine import make_url

    assert make_url(SLASH).password in config.url_passwords(SLASH)
    encoded = f"postgresql://u:{quote('a/b@c:d%e', safe='')}@h/db"
    assert make_url(encoded).password == "a/b@c:d%e"
    assert "a/b@c:d%e" in config.url_passwords(encoded)
    assert config.redact(encoded) == "postgresql://u:***@h/db"


def test_unencoded_at_and_slash_leave_no_password_character_visible():
    shown = config.redact(AT_SLASH)
    assert shown == "postgresql://app:***@db.example/preds"
    assert "p@ss/w0rd@Secr3t" in config.url_passwords(AT_SLASH)


def test_redact_finds_passwords_inside_free_text():
    text = f"could not connect to {SLASH} (timeout); see also http://a:b/c@prom:9090/x"
    out = config.redact(text)
    assert "Sl4sh" not in out and "S3cr3tPw" not in out and "b/c" not in out
    assert "db.example:5432/preds" in out and "prom:9090/x" in out


@pytest.mark.parametrize("var", [config.ENV_DATABASE, config.ENV_PROMETHEUS, config.ENV_MLFLOW])
def test_secrets_from_every_connection_variable_in_every_form(var):
    pw = "Sl4sh/S3<cr>&t\"Pw"
    url = f"https://u:{quote(pw, safe='')}@host.example/x" if var != config.ENV_DATABASE \
        else f"postgresql://u:{quote(pw, safe='')}@host/db"
    secrets = report.secrets_from_env({var: url})
    for form in (pw, quote(pw, safe=""), html.escape(pw), json.dumps(pw)[1:-1], json.dumps(html.escape(pw))[1:-1],
                 pw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")):
        assert form in secrets, form
        page = f"<p>{form}</p>"
        assert report.leaks(page, secrets) and not report.leaks(report.scrub(page, secrets), secrets)


def test_slash_password_never_survives_scrub_in_html_or_json():
    secrets = report.secrets_from_env({config.ENV_DATABASE: SLASH})
    body = (f"<td>{html.escape(SLASH)}</td><script>var x = {json.dumps({'url': SLASH})}</script>"
            f"<pre>S l: Sl4sh/S3cr3tPw</pre>")
    out = report.scrub(body, secrets)
    assert "Sl4sh" not in out and "S3cr3tPw" not in out and not report.leaks(out, secrets)


def test_scrub_leaves_embedded_images_intact():
    secrets = ["abcd"]
    img = "data:image/png;base64,QUJDabcdRA=="
    out = report.scrub(f'<img src="{img}"> abcd', secrets)
    assert img in out and out.endswith("***")


def test_scrubbed_notebook_stays_a_valid_notebook():
    secrets = report.secrets_from_env({config.ENV_DATABASE: SLASH})
    nb = {"cells": [{"cell_type": "code", "source": [f"url = '{SLASH}'"], "metadata": {},
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": ["Sl4sh/S3cr3tPw\n"]}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = report.scrub_notebook(json.dumps(nb), secrets)
    parsed = json.loads(out)
    assert "Sl4sh" not in out and parsed["cells"][0]["outputs"][0]["text"] == ["***\n"]


def test_password_equal_to_user_name_is_redacted_not_a_reason_to_withhold():
    url = "postgresql://workbench:workbench@db/preds"
    secrets = report.secrets_from_env({config.ENV_DATABASE: url})
    body = f"<p>prediction DB at {config.redact(url)}: relation missing</p>"
    out = report.scrub(body, secrets)
    assert not report.leaks(out, secrets) and "relation missing" in out and "@db/preds" in out


def test_log_lines_are_scrubbed_in_json_and_text(monkeypatch):
    monkeypatch.setenv(config.ENV_DATABASE, SLASH)
    for fmt in ("json", "text"):
        buf = io.StringIO()
        logs.setup(fmt)
        handler = logging.getLogger("workbench").handlers[0]
        handler.setStream(buf)
        logging.getLogger("workbench.test").warning("failed at %s", SLASH, extra={"url": SLASH, "custom": 1})
        out = buf.getvalue()
        assert "Sl4sh" not in out and "S3cr3tPw" not in out and "db.example" in out, (fmt, out)
        if fmt == "json":
            assert json.loads(out)["custom"] == 1


def test_json_log_formatter_keeps_every_extra_key():
    rec = logging.LogRecord("workbench.report", logging.INFO, "x.py", 10, "ran %s", ("drift",), None)
    rec.model_name, rec.anything_new, rec.nested = "churn", 42, {"a": [1, 2]}
    out = json.loads(logs.JSONFormatter().format(rec))
    assert out["anything_new"] == 42 and out["nested"] == {"a": [1, 2]} and out["model_name"] == "churn"
    assert out["level"] == "INFO" and out["logger"] == "workbench.report" and out["line"] == 10


def test_cli_error_is_printed_once_in_text_mode(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(config.ENV_DATABASE, SLASH)
    bad = tmp_path / "weekly.yaml"
    bad.write_text("models: []\n")
    rc = cli.main(["--log-format", "text", "report", "--params", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2
    assert len([line for line in err.splitlines() if "models" in line]) == 1, err


def test_cli_error_is_one_json_line_in_json_mode(tmp_path, capsys):
    bad = tmp_path / "weekly.yaml"
    bad.write_text("models: []\n")
    logs.setup("json")
    handler = logging.getLogger("workbench").handlers[0]
    buf = io.StringIO()
    handler.setStream(buf)
    monkey_setup = logs.setup
    try:
        logs.setup = lambda fmt="auto": None  # keep our captured handler
        rc = cli.main(["--log-format", "json", "report", "--params", str(bad)])
    finally:
        logs.setup = monkey_setup
    assert rc == 2 and capsys.readouterr().err == ""
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["level"] == "ERROR"


def test_the_mlflow_answers_file_holds_no_hash_of_the_password(tmp_path, monkeypatch):
    """The runner's answers file names its MLflow by a hash of the redacted URI: no unsalted hash of
    the URI with its password (which could be guessed offline) is written (19.8.2)."""
    import hashlib

    from workbench.sources import model_registry

    uri = "http://bob:Pa55-secret@mlflow.example:5000"
    path = model_registry.Answers({"m": {"1": "r"}}, {}).save(tmp_path / "answers.json", uri)
    text = path.read_text()
    assert hashlib.sha256(uri.encode()).hexdigest() not in text and "Pa55" not in text
    monkeypatch.setenv(model_registry.ANSWERS_ENV, str(path))
    assert model_registry.Answers.from_env(uri).versions == {"m": {"1": "r"}}
    assert model_registry.Answers.from_env("http://bob:x@other.example:5000") is None


def test_the_smtp_password_and_the_webhook_token_are_secrets_too():
    env = {config.ENV_SMTP: "smtp://mailer:Sm7p-s3cret@mail.example:587",
           config.ENV_SLACK_WEBHOOK: "https://hooks.example/services/T000/B000/XyZtoken123"}
    found = report.secrets_from_env(env)
    assert "Sm7p-s3cret" in found and "services/T000/B000/XyZtoken123" in found
    line = "send failed: Sm7p-s3cret rejected; posting to https://hooks.example/services/T000/B000/XyZtoken123"
    cleaned = report.scrub(line, found)
    assert "Sm7p-s3cret" not in cleaned and "XyZtoken123" not in cleaned
