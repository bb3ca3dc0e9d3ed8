"""One result protocol for every review result.

Whatever a review section computes comes back as an object with

- `findings`: the verdict as data (list of `workbench.findings.Finding`),
- `headline`: headline numbers for the index pages (a mapping; "series" and "episodes" as in
  workbench.findings),
- `problems`: what could not be computed and why (list of str),
- `to_frame()`: its main table, and `plot()`: its figure, or None when it has none.

`ReviewContext.attempt` collects findings, headline and problems from any such object, so nothing
travels through `DataFrame.attrs` (which pandas drops or copies unpredictably on most operations).
A section whose result is only a table returns a `TableResult`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from workbench.findings import Finding

MEMBERS = ("findings", "headline", "problems", "to_frame", "plot")


@runtime_checkable
class ReviewResult(Protocol):
    """What every review result offers (see the module docstring)."""

    @property
    def findings(self) -> list["Finding"]: ...

    @property
    def headline(self) -> Mapping[str, Any]: ...

    @property
    def problems(self) -> list[str]: ...

    def to_frame(self) -> "pd.DataFrame": ...

    def plot(self) -> Any: ...


@dataclass
class TableResult:
    """A result that is only a table, with the findings, headline numbers, problems and notes (lines
    a report prints under the table) that come with it."""

    table: "pd.DataFrame"
    findings: list["Finding"] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> "pd.DataFrame":
        return self.table

    def plot(self) -> None:
        """A table draws no figure."""
        return None



def is_result(obj: object) -> bool:
    """True when `obj` offers every member of the protocol, without computing any of them (a
    property such as DriftReport.findings is looked up, not evaluated); a DataFrame is not a result."""
    missing = object()
    for name in MEMBERS:
        if inspect.getattr_static(obj, name, missing) is missing:
            return False
    return all(callable(getattr(obj, name)) for name in ("to_frame", "plot"))


def merge_headline(into: dict[str, Any], numbers: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `numbers` into `into` (and return it): "series" (daily values) are merged by key and
    "episodes" (intervals) appended; any other number replaces the one before."""
    for k, v in numbers.items():
        if k == "series":
            into.setdefault("series", {}).update(v)
        elif k == "episodes":
            into.setdefault("episodes", []).extend(v)
        else:
            into[k] = v
    return into
