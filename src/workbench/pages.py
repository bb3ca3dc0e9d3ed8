"""Pages from templates: the week page, the index over all periods, the notification and each report's
verdict banner, rendered by Jinja2 from the templates in workbench/templates and the data
workbench.weekpage, workbench.notify and workbench.display compute.

Escaping is the template engine's: autoescaping is on for .html and .svg templates (every value a
page shows can come from a model name, a Prometheus label or a category value), off for the
notification's plain text. StrictUndefined makes a misspelt name an error, not an empty string.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from workbench import levels
from workbench.findings import LEVELS, NOT_CONFIGURED

if TYPE_CHECKING:
    from workbench.display import ReportBanner
    from workbench.notify import Notification
    from workbench.weekpage import IndexPage, Timeline, WeekPage


@functools.cache
def environment() -> Environment:
    """The one Jinja2 environment of the pages (made on first use, then reused)."""
    env = Environment(loader=PackageLoader("workbench", "templates"),
                      autoescape=select_autoescape(["html", "svg"], default_for_string=True, default=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.globals.update(look=levels.look, word=levels.word, bad_run=levels.bad_run, LEVELS=LEVELS, NOT_CONFIGURED=NOT_CONFIGURED,
                       LINK=levels.LINK, LATEST=levels.LATEST, LOOKS=levels.LOOKS)
    return env


def render_week(page: WeekPage) -> str:
    """The week page's HTML (templates/week.html)."""
    return environment().get_template("week.html").render(page=page)


def render_timeline(timeline: Timeline) -> str:
    """The week's timeline as an SVG element (templates/timeline.svg), as the week page embeds it."""
    return environment().get_template("timeline.svg").render(timeline=timeline)


def render_index(index: IndexPage) -> str:
    """The index over all periods (templates/index.html)."""
    return environment().get_template("index.html").render(index=index)


def render_notification(note: Notification) -> tuple[str, str]:
    """The notification as plain text (templates/notify.txt) and as HTML for the e-mail (notify.html)."""
    env = environment()
    return (env.get_template("notify.txt").render(note=note).strip(),
            env.get_template("notify.html").render(note=note))


def render_snippet(name: str, *args: object) -> str:
    """One of the small pieces a report displays between its sections (a macro of templates/snippets.html:
    heading, skipped note, problem box, a table's caption, ...), called with `args`: the one way the
    package's modules turn values into HTML, escaped by the template engine."""
    return str(getattr(environment().get_template("snippets.html").module, name)(*args))


def render_banner(banner: ReportBanner) -> str:
    """A report's verdict banner (templates/banner.html), as the notebook displays it."""
    return environment().get_template("banner.html").render(b=banner)
