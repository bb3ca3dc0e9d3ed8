"""Share the week's verdict: its headline and findings with a link to the week page, to a
Slack-compatible incoming webhook and/or by e-mail (as the guide's Alertmanager routes do).

Built from the stored status.json (nothing recomputed). The webhook URL and the SMTP password are
secrets: they never appear in a message, a log line or an error. A failed notification is reported
and never touches the reports.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from workbench import config, levels
from workbench.errors import ConfigError

log = logging.getLogger(__name__)
PER_CELL = 3


@dataclass
class Message:
    subject: str
    text: str
    blocks: list[dict]
    link: str
    html: str = ""  # the e-mail's HTML part (the text is the plain part and the webhook's text)


@dataclass(frozen=True)
class Part:
    """One model's (or the service's) review in the message: 'model · review: LEVEL' and its top findings."""

    model: str
    review: str
    level: str
    sentences: list[str]
    more: int  # findings left out

    @property
    def head(self) -> str:
        return f"{self.model} · {self.review}: {levels.word(self.level)}"


@dataclass(frozen=True)
class Notification:
    """What the message says (templates/notify.txt and notify.html render it)."""

    week: str
    level: str
    alerts: int
    warnings: int
    not_complete: list[tuple[str, str, str]]  # (model, review, run status)
    not_configured: list[tuple[str, str]]     # (model, review)
    parts: list[Part]
    link: str

    @property
    def subject(self) -> str:
        return f"[workbench] {self.week}: {levels.word(self.level)} — {self.alerts} alert(s), {self.warnings} warning(s)"


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)      # channels that accepted the message
    problems: list[str] = field(default_factory=list)  # channels that failed, secrets removed

    @property
    def ok(self) -> bool:
        return not self.problems


def week_link(out: Path, week: str, public_url: str | None) -> str:
    """The week page's address: under `public_url` if set, else its file path."""
    if public_url:
        return public_url.rstrip("/") + f"/{week}/index.html"
    return str((Path(out).resolve() / week / "index.html"))


def notification(status: dict, week: str, link: str) -> Notification:
    """What to say: the week's worst level and counts, then per model/service the top findings."""
    from workbench.findings import result_level, worst
    from workbench.reviews import SERVICE
    from workbench.weekpage import review_of, top_findings

    results = status.get("results", [])
    n = {"alert": 0, "warning": 0}
    for r in results:
        for f in r.get("findings") or []:
            if f.get("severity") in n:
                n[f["severity"]] += 1
    parts = []
    for r in sorted(results, key=lambda r: (r["model"] == SERVICE, r["model"], r["notebook"])):
        shown, _ = top_findings(r.get("findings") or [], PER_CELL)
        shown = [f for f in shown if f.get("severity") in ("alert", "warning")] or shown[:1]
        parts.append(Part(r["model"], review_of(r), result_level(r), [f.get("sentence", "") for f in shown],
                          max(len(r.get("findings") or []) - len(shown), 0)))
    return Notification(
        week, worst(result_level(r) for r in results), n["alert"], n["warning"],
        [(r["model"], review_of(r), r.get("status")) for r in results if r.get("status") not in ("ok", "skipped")],
        [(r["model"], review_of(r)) for r in results if r.get("status") == "skipped"], parts, link)


def build(status: dict, week: str, link: str) -> Message:
    """The message: its text and e-mail HTML from the templates, and the webhook's blocks."""
    from workbench import pages

    note = notification(status, week, link)
    text, html = pages.render_notification(note)
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": note.subject[:150]}}]
    for part in note.parts:
        body = [f"- {s}" for s in part.sentences] + ([f"- … {part.more} more in the report"] if part.more else [])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(part.head, body)[:2900]}})
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{_slack_escape(link)}|Open the week page>"}})
    return Message(note.subject, text, blocks, link, html)


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters (&, <, >) escaped, so report values cannot inject links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(head: str, body: list[str]) -> str:
    return f"*{_slack_escape(head)}*\n" + "\n".join(_slack_escape(b) for b in body)


def send_webhook(url: str, msg: Message, timeout: float = 10.0) -> None:
    """POST {text, blocks} as JSON; any failure raises NotifyError without the URL."""
    data = json.dumps({"text": msg.text, "blocks": msg.blocks}).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the URL is the operator's
            if resp.status >= 300:
                raise NotifyError(f"the webhook answered HTTP {resp.status}")
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"the webhook answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NotifyError(f"the webhook could not be reached: {type(reason).__name__}") from None


SMTP_SCHEMES = ("smtp", "smtps", "smtp+insecure")


def parse_smtp_url(url: str) -> dict:
    """smtp://user:password@host:port (smtps:// for implicit TLS; smtp:// requires STARTTLS, so the
    password and the findings never travel in clear; smtp+insecure:// allows a relay without TLS);
    ConfigError (without the password) when malformed."""
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ConfigError(f"{config.ENV_SMTP} must look like smtp://user:password@host:port, smtps://… "
                          f"or smtp+insecure://… (no TLS); got {config.redact(url)!r}")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ConfigError(f"{config.ENV_SMTP}: the port is not a number ({config.redact(url)!r})") from None
    return {"ssl": parts.scheme == "smtps", "insecure": parts.scheme == "smtp+insecure", "host": parts.hostname, "port": port,
            "user": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None}


def send_email(url: str, recipients: list[str], sender: str, msg: Message, timeout: float = 10.0) -> None:
    """Send the message as e-mail (plain text, and its HTML part); any failure raises NotifyError without the password."""
    s = parse_smtp_url(url)
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = msg.subject, sender, ", ".join(recipients)
    mail.set_content(msg.text)
    if msg.html:
        mail.add_alternative(msg.html, subtype="html")
    try:
        cls = smtplib.SMTP_SSL if s["ssl"] else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if s["ssl"] else {}
        with cls(s["host"], s["port"], timeout=timeout, **kwargs) as smtp:
            if not s["ssl"]:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                elif not s["insecure"]:  # never the password (nor the findings) in clear
                    raise NotifyError(f"SMTP at {s['host']}:{s['port']} offers no STARTTLS: nothing sent in clear "
                                      "(use smtps:// for implicit TLS, or smtp+insecure:// for a relay without TLS)")
            if s["user"]:
                smtp.login(s["user"], s["password"] or "")
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(f"SMTP login at {s['host']}:{s['port']} failed (code {exc.smtp_code})") from None
    except smtplib.SMTPException as exc:
        raise NotifyError(f"SMTP at {s['host']}:{s['port']}: {type(exc).__name__}") from None
    except OSError as exc:
        raise NotifyError(f"SMTP at {s['host']}:{s['port']} could not be reached: {type(exc).__name__}") from None


class NotifyError(Exception):
    """A notification that could not be delivered (its text holds no secret)."""


def notify(out: str | Path, week: str, params: config.WeeklyParams, environ: dict[str, str] | None = None,
           timeout: float = 10.0) -> Outcome:
    """Send the week's verdict to every configured channel; never raises for a delivery failure."""
    env = os.environ if environ is None else environ
    from workbench.weekpage import load_status

    out = Path(out)
    window = config.iso_week(week)
    status = load_status(out / window.label)
    result = Outcome()
    if status is None:
        result.problems.append(f"no status.json for {window.label} in {out}: nothing to send")
        return result
    msg = build(status, window.label, week_link(out, window.label, params.report.public_url))
    hook, smtp = env.get(config.ENV_SLACK_WEBHOOK, "").strip(), env.get(config.ENV_SMTP, "").strip()
    if not hook and not smtp:
        result.problems.append(f"no channel configured: set {config.ENV_SLACK_WEBHOOK} and/or {config.ENV_SMTP}")
        return result
    secrets = [x for x in (hook, _password(smtp)) if x]
    if hook:
        try:
            send_webhook(hook, msg, timeout)
            result.sent.append("webhook")
        except NotifyError as exc:
            result.problems.append(_scrub(f"webhook: {exc}", secrets))
    if smtp:
        try:
            if not params.notify.email:
                raise NotifyError("no recipients: set notify.email in params/weekly.yaml")
            send_email(smtp, params.notify.email, params.notify.email_from, msg, timeout)
            result.sent.append("email")
        except (NotifyError, ConfigError) as exc:
            result.problems.append(_scrub(f"e-mail: {exc}", secrets))
    for p in result.problems:
        log.warning("notification failed: %s", p)
    return result


def _password(smtp_url: str) -> str:
    try:
        return urlsplit(smtp_url).password or ""
    except ValueError:
        return ""


def _scrub(text: str, secrets: list[str]) -> str:
    text = config.redact(text)
    for s in secrets:
        if len(s) >= 3:
            text = text.replace(s, "***").replace(unquote(s), "***")
    return text
