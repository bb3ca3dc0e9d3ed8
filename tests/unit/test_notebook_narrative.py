"""Each review notebook is a narrative of calls into the package: at most MAX_CODE_LINES lines of code
(non-blank, non-comment lines of code cells), no positional indexing tricks, no hard-coded versions
or experiments (those are params), and no statistics composed in the notebook."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_CODE_LINES = 60
# positional slicing of a table (`.iloc[8:]` cut the per-class rows by position) and literal model
# versions or experiment names (`"model_v2"`, `'v1.2.0'`)
FORBIDDEN = {"positional indexing": re.compile(r"\.iloc\["),
             "a hard-coded model version": re.compile(r"""["']model_v\d|["']v?\d+\.\d+\.\d+["']""")}


def code_lines(source: str) -> list[str]:
    """The lines of a code cell that count: not blank, not a comment."""
    return [line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]


def _code(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [line for c in nb.cells if c.cell_type == "code" for line in code_lines(c.source)]


def test_there_are_review_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01-drift-review.ipynb", "02-performance-review.ipynb",
                                          "03-infrastructure-review.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_has_at_most_60_lines_of_code(path):
    n = len(_code(path))
    assert n <= MAX_CODE_LINES, f"{path.name}: {n} code lines (at most {MAX_CODE_LINES}): move the logic to the package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_has_no_indexing_tricks_or_hard_coded_versions(path):
    found = [(what, line.strip()) for line in _code(path) for what, rx in FORBIDDEN.items() if rx.search(line)]
    assert found == [], f"{path.name}: {found}"


def test_the_counter_counts_code_and_the_patterns_catch_the_old_tricks():
    assert code_lines("# a comment\n\nx = 1\n  # indented comment\ny = 2  # trailing\n") == ["x = 1", "y = 2  # trailing"]
    old = ['display(table(perf.summary.to_frame(headline_only=False).iloc[8:]))',
           'ctx.attempt("A/B conversions", abtest.conversions, ctx, "model_v2", pp.ab_min_effect)',
           "registry.reference('churn', '1.3.0')"]
    assert [any(rx.search(line) for rx in FORBIDDEN.values()) for line in old] == [True, True, True]
    fine = ['review.show("versions")', 'est.pivot_table(index=["period", "model_version"], columns="metric")']
    assert not any(rx.search(line) for line in fine for rx in FORBIDDEN.values())
