"""`workbench report --notify`: the week's verdict reaches a local webhook receiver and a local SMTP
server; failures are reported without secrets and never lose the reports."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from workbench import config, notify

WEEK = "2026-W47"
HOSTILE = "<img src=x onerror=alert(1)>"


def _status() -> dict:
    return {"schema": 1, "period": WEEK, "generated": "now", "results": [
        {"notebook": "02-performance-review", "model": "churn-predictor", "status": "ok", "level": "alert",
         "html": "churn-predictor/02-performance-review.html",
         "findings": [{"severity": "alert", "subject": "accuracy", "kind": "metric", "anchor": "headline",
                       "sentence": "accuracy 0.725 [0.722, 0.728] is below 0.75."}], "headline": {}},
        {"notebook": "03-infrastructure-review", "model": "service", "status": "incomplete", "level": "alert",
         "html": "service/03-infrastructure-review.incomplete.html",
         "findings": [{"severity": "alert", "subject": HOSTILE, "kind": "outage", "anchor": "outages",
                       "sentence": f"Outage: {HOSTILE} was down from Wed 2026-11-18 03:00 UTC for 45 min."}],
         "headline": {}}]}


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    (out / WEEK).mkdir(parents=True)
    (out / WEEK / "status.json").write_text(json.dumps(_status()))
    (out / WEEK / "index.html").write_text("the week page")
    return out


def _params(**notify_kw) -> config.WeeklyParams:
    return config.WeeklyParams(models=[{"name": "churn-predictor", "type": "classification"}],
                               notify=notify_kw, report={"public_url": "https://reports.example.com/"})


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 (free port) that records the bodies; status settable."""
    got: list[dict] = []
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            n = int(self.headers["Content-Length"])
            got.append({"path": self.path, "type": self.headers["Content-Type"],
                        "body": json.loads(self.rfile.read(n))})
            self.send_response(state["status"])
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_port}/hooks/T0SECRETTOKEN", got, state
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    got = []

    class Collect(MessageHandler):
        def handle_message(self, message):
            got.append(message)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctl = Controller(Collect(), hostname="127.0.0.1", port=port)
    ctl.start()
    yield port, got
    ctl.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_gets_headline_findings_and_link(reports, receiver):
    url, got, _ = receiver
    res = notify.notify(reports, WEEK, _params(), {config.ENV_SLACK_WEBHOOK: url})
    assert res.ok and res.sent == ["webhook"]
    (req,) = got
    assert req["path"] == "/hooks/T0SECRETTOKEN" and req["type"] == "application/json"
    body = req["body"]
    assert body["text"].startswith(f"[workbench] {WEEK}: ALERT — 2 alert(s), 0 warning(s)")
    assert "accuracy 0.725 [0.722, 0.728] is below 0.75." in body["text"]
    assert "https://reports.example.com/2026-W47/index.html" in body["text"]
    assert "service · infrastructure" in body["text"] and "Not complete: service infrastructure (incomplete)" in body["text"]
    mrkdwn = json.dumps(body["blocks"])
    # a hostile value cannot become a Slack link or mention
    assert HOSTILE not in mrkdwn and "&lt;img src=x onerror=alert(1)&gt;" in mrkdwn
    assert body["blocks"][0]["type"] == "header"


def test_email_reaches_the_recipients(reports, smtp_server):
    port, got = smtp_server
    res = notify.notify(reports, WEEK, _params(email=["oncall@example.com", "ml@example.com"]),
                        {config.ENV_SMTP: f"smtp+insecure://127.0.0.1:{port}"})  # this test server has no TLS
    assert res.ok and res.sent == ["email"], res.problems
    (mail,) = got
    assert mail["To"] == "oncall@example.com, ml@example.com"
    assert mail["Subject"].startswith(f"[workbench] {WEEK}: ALERT")
    assert mail.is_multipart() and mail.get_content_type() == "multipart/alternative"
    plain, html = mail.get_payload()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    text = plain.get_payload(decode=True).decode()
    assert "accuracy 0.725 [0.722, 0.728] is below 0.75." in text
    assert "https://reports.example.com/2026-W47/index.html" in text
    # the HTML part (templates/notify.html): the same findings, a hostile value escaped, the link a link
    page = html.get_payload(decode=True).decode()
    assert "accuracy 0.725 [0.722, 0.728] is below 0.75." in page and HOSTILE not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="https://reports.example.com/2026-W47/index.html"' in page


@pytest.mark.parametrize("userinfo", ["", "bob:Pa55-secret@"])
def test_smtp_without_starttls_sends_nothing_in_clear(reports, smtp_server, userinfo):
    """smtp:// to a server that offers no STARTTLS: refused before any login or message (issue 19.8.7)."""
    port, got = smtp_server
    res = notify.notify(reports, WEEK, _params(email=["oncall@example.com"]),
                        {config.ENV_SMTP: f"smtp://{userinfo}127.0.0.1:{port}"}, timeout=3)
    assert res.sent == [] and got == []
    (problem,) = res.problems
    assert problem.startswith(f"e-mail: SMTP at 127.0.0.1:{port} offers no STARTTLS") and "smtp+insecure://" in problem
    assert "Pa55-secret" not in problem


def test_failures_are_reported_without_secrets_and_keep_the_reports(reports, receiver, caplog):
    url, got, state = receiver
    state["status"] = 500
    dead = _free_port()
    env = {config.ENV_SLACK_WEBHOOK: url, config.ENV_SMTP: f"smtp://bob:Pa55-secret@127.0.0.1:{dead}"}
    res = notify.notify(reports, WEEK, _params(email=["oncall@example.com"]), env, timeout=3)
    assert not res.ok and res.sent == []
    assert any("webhook answered HTTP 500" in p for p in res.problems)
    assert any(p.startswith("e-mail: SMTP at 127.0.0.1") and "could not be reached" in p for p in res.problems)
    logged = caplog.text + " ".join(res.problems)
    assert "T0SECRETTOKEN" not in logged and "Pa55-secret" not in logged
    assert (reports / WEEK / "index.html").read_text() == "the week page"  # the reports are untouched


def test_unreachable_webhook_and_no_channel(reports):
    res = notify.notify(reports, WEEK, _params(), {config.ENV_SLACK_WEBHOOK: f"http://127.0.0.1:{_free_port()}/x"},
                        timeout=3)
    assert res.problems == ["webhook: the webhook could not be reached: ConnectionRefusedError"]
    res = notify.notify(reports, WEEK, _params(), {})
    assert "no channel configured" in res.problems[0]


def test_recipients_are_validated(tmp_path):
    p = tmp_path / "weekly.yaml"
    p.write_text("models:\n  - {name: m, type: regression}\nnotify:\n  email: [not-an-address]\n")
    with pytest.raises(config.ConfigError, match="notify.email"):
        config.load_weekly(p)


def test_cli_exit_code_when_only_the_notification_fails(reports, monkeypatch):
    """`report --notify` returns 4 when every report is complete but the notification failed."""
    from types import SimpleNamespace

    from workbench import cli, report

    monkeypatch.setattr(report, "run", lambda *a, **k: SimpleNamespace(
        ok=True, period=WEEK, directory=reports / WEEK, results=[], weekly=None))  # weekly: loaded by the CLI
    monkeypatch.delenv(config.ENV_SLACK_WEBHOOK, raising=False)
    monkeypatch.delenv(config.ENV_SMTP, raising=False)
    params = reports.parent / "weekly.yaml"
    params.write_text("models:\n  - {name: churn-predictor, type: classification}\n")
    code = cli.main(["--log-format", "text", "report", "--params", str(params), "--out", str(reports),
                     "--week", WEEK, "--notify"])
    assert code == cli.NOTIFY_FAILED
