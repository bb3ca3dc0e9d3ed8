"""The one level vocabulary and palette of every page: a report's verdict banner (workbench.display),
the week page, the index and the notification (workbench.pages).

A level is shown as a colour *and* a word (and a mark), never by colour alone. Each colour is chosen
for WCAG 2 AA contrast (at least 4.5:1) as text on its tint, as text on white, and as white text on it
(the report banner's badge); tests/unit/test_levels.py computes the ratios.

The levels themselves, their order and the rule for the worst of several, stay with the findings
(workbench.findings.LEVELS, NOT_CONFIGURED, worst); this module says how each one looks.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.findings import NOT_CONFIGURED

NOT_COMPUTED = "not computed"


@dataclass(frozen=True)
class Look:
    """How a level (or a finding's severity) is shown: its word, its mark, its colour (text, border,
    solid badge) and its tint (a background under text in `colour`)."""

    name: str
    word: str
    mark: str
    colour: str
    tint: str


LOOKS: dict[str, Look] = {lk.name: lk for lk in (
    Look("alert", "ALERT", "▲", "#b03a2e", "#fdecea"),
    Look("warning", "WARNING", "●", "#9a6400", "#fef5e7"),
    Look(NOT_COMPUTED, "NOT COMPUTED", "○", "#555555", "#eeeeee"),
    Look("ok", "OK", "✓", "#1e7a45", "#eafaf1"),
    # not configured: no level and no grey (it never lowers a level), named beside the others
    Look(NOT_CONFIGURED, "NOT CONFIGURED", "–", "#666666", "#ffffff"),
    # a finding's severity below warning
    Look("info", "INFO", "·", "#666666", "#ffffff"),
)}
LINK = "#1a5490"  # links and data lines (sparklines, the timeline's metric lane)
DRIFT_LINE = "#8e44ad"  # the timeline's drift-share lane
LATEST = LOOKS["alert"].colour  # a sparkline's latest value
# the timeline's bars per episode kind (or an alert's severity): the level colours where they mean one
EPISODE_COLOURS = {"page": LOOKS["alert"].colour, "critical": LOOKS["alert"].colour, "outage": "#6c3483",
                   "warning": LOOKS["warning"].colour, "ticket": LOOKS["warning"].colour,
                   "alert": LOOKS["warning"].colour}
OTHER_EPISODE = "#7f8c8d"


# the run statuses that are no failure: the review ran, or it was skipped because its source is not
# configured (shown in the muted run style, never in the alert colour of a failed run)
FINE_RUNS = ("ok", "skipped")


def bad_run(status: str | None) -> bool:
    """True when a run's status is a failure to show as such (failed, timeout, ...), not 'ok' or 'skipped'."""
    return (status or "failed") not in FINE_RUNS


def look(level: str) -> Look:
    """How `level` (or a severity) is shown; an unknown value (a failed run's status, say) looks like
    'not computed', the level such a review has on the pages."""
    return LOOKS.get(level, LOOKS[NOT_COMPUTED])


def word(level: str) -> str:
    """'ALERT', 'NOT CONFIGURED', ...: the level as a word (an unknown value in capitals)."""
    return LOOKS[level].word if level in LOOKS else level.upper()


def episode_colour(kind: str, severity: str = "") -> str:
    """The bar colour of a timeline episode: an alert by its severity, a page or an outage by its kind."""
    return EPISODE_COLOURS.get(kind if kind != "alert" else severity or "alert", OTHER_EPISODE)

