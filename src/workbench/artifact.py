"""The published artifact checked against its own claims: one week folder (`reports/<week>/`), every
report in it, the week page and the index over all weeks.

The contract, rule by rule (`check_week` returns every breach as a `Violation`: page, section, what):

- *figures*: a section the catalogue (workbench.reviews) says draws a figure carries at least one
  `<img>` between its anchor and the next section's, unless the section itself says it was not
  computed or not shown; a section the report's model type has must be on the page;
- *mathtext*: no raw TeX (`\\mathdefault`, `$x^{2}$`) in any text, as Chromium renders the page
  (`render=True`) and in the HTML source;
- *numbers*: every number of a review's findings (`<review>.findings.json` beside the report) appears,
  formatted identically (a duration such as '6 d 13 h' as one whole token), in the section the finding
  links to (the catalogue section its anchor lies in: what the reader lands on from the banner), so
  the claim can be checked where the link lands; a finding with no anchor, anywhere in the report's
  tables or text outside the verdict banner; a finding whose anchor is not on the page is a broken link;
- *counts*: the counts a banner states (alerts, warnings, sections not computed; runs on the week
  page) equal the number of distinct things they count in the findings and status files;
- *tables*: every cell of a table that declares its columns' kinds (`data-kinds`, written by
  workbench.tables) is formatted as its kind says, and no column's kind was guessed as "count" for
  values that are not whole numbers (`data-rounded`).

    python -m workbench.artifact reports/2026-W47     # counts and violations; exit 1 on a violation
                                                      # (exit 2, one line, when the folder is missing or empty)
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from workbench import reviews
from workbench.findings import worst


RULES = ("sections", "figures", "mathtext", "numbers", "counts", "tables", "browser")


@dataclass
class Violation:
    """One breach of the contract: the page (relative to the week folder), the section, what is wrong,
    and the rule it breaks (one of RULES)."""

    page: str
    section: str
    what: str
    rule: str = ""

    def __str__(self) -> str:
        return f"{self.page} #{self.section or '-'}: [{self.rule}] {self.what}"


@dataclass
class Contract:
    """What was checked (pages, sections, figures, finding numbers, counts, table cells) and what failed."""

    pages: int = 0
    sections: int = 0
    figures: int = 0
    numbers: int = 0
    counts: int = 0
    tables: int = 0
    cells: int = 0
    rendered: bool = False
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, rule: str, page: str, section: str, what: str) -> None:
        self.violations.append(Violation(page, section, what, rule))

    def of(self, rule: str) -> list[Violation]:
        """The violations of one rule."""
        return [v for v in self.violations if v.rule == rule]

    def summary(self) -> str:
        """One line of counts: what the contract covered and how many violations it found."""
        return (f"contract: {self.pages} pages, {self.sections} sections, {self.figures} figures, "
                f"{self.numbers} finding numbers, {self.counts} counts, {self.tables} tables ({self.cells} cells)"
                f"{', rendered in Chromium' if self.rendered else ''}: {len(self.violations)} violation(s)")


# --- reading a page ------------------------------------------------------------------------------------

class _Page(HTMLParser):
    """One pass over a page: the catalogue's anchors in page order, images, text and declared tables
    per section, and the verdict banner's text apart."""

    def __init__(self, anchors: set[str]):
        super().__init__(convert_charrefs=True)
        self.anchors = anchors
        self.section = ""
        self.order: list[str] = []
        self.ids: set[str] = set()
        self.id_section: dict[str, str] = {}  # every id on the page -> the catalogue section it lies in
        self.images: dict[str, int] = {}
        self.figures: list[tuple[str, int, int]] = []  # (section, width, height in pixels) per image
        self.text: dict[str, list[str]] = {}
        self.banner: list[str] = []
        self.tables: list[dict] = []
        self._skip = 0
        self._banner_depth = 0
        self._table: dict | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._banner_depth:
            self._banner_depth += tag == "div"
            return
        if tag == "div" and "wb-verdict" in a.get("class", "").split():
            self._banner_depth = 1
            return
        if tag in ("script", "style"):
            self._skip += 1
        ident = a.get("id", "")
        if ident:
            self.ids.add(ident)
            if ident in self.anchors and ident not in self.order:
                self.section = ident
                self.order.append(ident)
            self.id_section.setdefault(ident, self.section)
        if tag == "img":
            self.images[self.section] = self.images.get(self.section, 0) + 1
            self.figures.append((self.section, *_png_size(a.get("src", ""))))
        elif tag == "table" and self._table is None:
            self._table = {"section": self.section, "kinds": _json(a.get("data-kinds")),
                           "rounded": _json(a.get("data-rounded")) or [], "head": [], "rows": []}
        elif self._table is not None and tag == "thead":
            self._in_head = True
        elif self._table is not None and tag == "tr" and not self._in_head:
            self._table["rows"].append([])
        elif self._table is not None and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._banner_depth:
            self._banner_depth -= tag == "div"
            return
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif self._table is not None and tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._in_head:
                self._table["head"].append(text)
            elif self._table["rows"]:
                self._table["rows"][-1].append(text)
            self._cell = None
        elif self._table is not None and tag == "thead":
            self._in_head = False
        elif tag == "table" and self._table is not None:
            self._table["rows"] = [r for r in self._table["rows"] if r]
            self.tables.append(self._table)
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._banner_depth:
            self.banner.append(data)
            return
        self.text.setdefault(self.section, []).append(data)
        if self._cell is not None:
            self._cell.append(data)

    def section_text(self, section: str) -> str:
        return " ".join(" ".join(self.text.get(section, [])).split())

    def all_text(self) -> str:
        return " ".join(self.section_text(s) for s in [""] + self.order)


def _png_size(src: str) -> tuple[int, int]:
    """Width and height of an embedded PNG (data URI), from its IHDR chunk; (0, 0) for anything else."""
    import base64
    import binascii

    prefix = "data:image/png;base64,"
    if not src.startswith(prefix):
        return 0, 0
    try:
        head = base64.b64decode(src[len(prefix):len(prefix) + 44])
    except (binascii.Error, ValueError):
        return 0, 0
    if head[:8] != b"\x89PNG\r\n\x1a\n" or len(head) < 24:
        return 0, 0
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _json(value: str | None):
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def read_page(html_text: str, anchors: set[str] | None = None) -> _Page:
    """A page parsed into sections (by the given anchors), images, text and tables."""
    page = _Page(anchors or set())
    page.feed(html_text)
    page.close()
    return page


# --- the rules -----------------------------------------------------------------------------------------

# the section says it was left out (skipped_note, ctx.attempt's box, the regression line, "No estimate")
NOT_COMPUTED = re.compile(r"not shown —|could not compute|not computed|not part of a regression review|"
                          r"^no estimate|\bno estimate:", re.I)
MATHTEXT = re.compile(r"\\math[a-z]+|\$[^$\n]{0,80}(?:\\[A-Za-z]+|[\^_]\{)[^$\n]{0,80}\$")
_NUM = r"[+−-]?\d{1,3}(?:,\d{3})*(?:\.\d+)?"
# below 1e-4 in scientific notation (as findings.tiny writes it, 2.3×10⁻⁷, or 2.3e-07), never as '< 0.00000001'
_TINY = r"[+−-]?\d(?:\.\d+)?(?:e-(?:0[5-9]|[1-9]\d)|×10⁻(?:[⁵-⁹]|[¹²³⁴⁵⁶⁷⁸⁹][⁰¹²³⁴⁵⁶⁷⁸⁹]+))"
_DURATION = r"[−-]?\d+ (?:s|min|h|d)(?: \d+ (?:min|h))?"
# how a cell of each declared kind reads (kinds of workbench.tables: guessed ones and declarable ones)
CELL = {
    "count": re.compile(r"[+−-]?\d{1,3}(?:,\d{3})*"),
    "pvalue": re.compile(rf"< 0\.001|[01]\.\d{{3}}|{_TINY}"),
    "percent": re.compile(rf"{_NUM}%"),
    "points": re.compile(rf"{_NUM} pp"),
    "duration": re.compile(_DURATION),
    "seconds": re.compile(rf"{_NUM} (?:ms|s)|{_DURATION}"),
    "number": re.compile(rf"{_NUM}|{_TINY}|∞|−∞"),
    "timestamp": re.compile(r"[A-Z][a-z]{2} \d{2} [A-Z][a-z]{2}(?: \d{2}:\d{2})?|[a-z][a-z ]*"),
    "bool": re.compile(r"yes|no"),
    "text": None,
}
CELL.update({"p_value": CELL["pvalue"], "ratio": CELL["percent"], "sli": CELL["percent"], "effect": CELL["number"],
             "hours": CELL["duration"],
             # a model metric: a number, or a percentage for MAPE (tables.metric_value), its change in points
             "metric": re.compile(rf"{_NUM}%?|{_TINY}|∞|−∞"),
             "metric_change": re.compile(rf"{_NUM}(?: pp)?|{_TINY}|∞|−∞")})
MISSING = re.compile(r"—\**")
# parts of a sentence that are not quantities: dates, times, ISO weeks, versions, window names (1h, 28d),
# host:port in a label value (instance=redis-exporter:9121)
NOT_A_NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}|\b\d{1,2}:\d{2}\b|\b\d{4}-W\d{2}\b|\b\d+(?:\.\d+){2,}\b|"
                          r"\b\d+(?:ms|s|m|h|d|w)\b|\b[A-Za-z][\w.-]*:\d+\b")
NUMBER = re.compile(r"(?<![\w.,])[−-]?\d+(?:,\d{3})*(?:\.\d+)?%?(?![\d])")
# a duration as findings.duration / tables.duration write it ('45 s', '24 min', '2 h 05 min', '6 d 13 h'):
# one token, checked whole, so the 6 of '6 d 13 h' is not found in another '6'
DURATION = re.compile(r"(?<![\w.,])[−-]?\d+ (?:s|min|h(?: \d+ min)?|d(?: \d+ h)?)(?!\w)")
# what may come before / after a duration in the same wording: '6 d' is not the start of '6 d 13 h', nor
# '13 h' its end ('2 h 2 h', two cells side by side, is two durations)
_LONGER_AFTER = {"d": r"\s+\d+\s+h\b", "h": r"\s+\d+\s+min\b"}
_LONGER_BEFORE = {"h": re.compile(r"\d\s+d\s+$"), "min": re.compile(r"\d\s+h\s+$")}


def finding_numbers(sentence: str) -> list[str]:
    """The numbers of a finding's sentence as written (sign, separators, % kept), a duration ('6 d
    13 h') as one token; dates, times, weeks, versions and window names (1h, 28d) left out."""
    text = NOT_A_NUMBER.sub(" ", sentence)
    found = [(m.start(), m.group()) for m in DURATION.finditer(text)]
    rest = DURATION.sub(lambda m: " " * len(m.group()), text)
    return [t for _, t in sorted(found + [(m.start(), m.group()) for m in NUMBER.finditer(rest)])]


def _appears(token: str, text: str) -> bool:
    """True when `token` (a finding number) is in `text` as written: a whole number, a whole duration."""
    if DURATION.fullmatch(token):
        words = token.split()
        parts = r"\s+".join(re.escape(p) for p in words)
        after = _LONGER_AFTER.get(words[-1])
        before = _LONGER_BEFORE.get(words[1])
        pattern = rf"(?<![\w.,]){parts}(?!\w{'|' + after if after else ''})"
        return any(before is None or not before.search(text, 0, m.start()) for m in re.finditer(pattern, text))
    return re.search(rf"(?<![\w.,]){re.escape(token)}(?![\d])", text) is not None


def check_tables(page: _Page, name: str, out: Contract) -> None:
    """Every cell of a declared table formatted by its column's kind; no guessed count rounding fractions."""
    for t in page.tables:
        if not t["kinds"]:
            continue
        out.tables += 1
        sec = t["section"]
        for col in t["rounded"]:
            out.add("tables", name, sec, f"table column {col!r}: kind guessed as count, so non-integer values are shown "
                               "rounded to integers (declare its kind)")
        for head, kind in t["kinds"].items():  # a difference of two shares is in points, never a percentage
            if re.search(r"percentage points|\(pp\)", head, re.I) and kind in ("percent", "ratio"):
                out.add("tables", name, sec, f"table column {head!r} is headed in percentage points but formatted "
                                             f"as {kind} (a share, '%')")
        for row in t["rows"]:
            for head, cell in zip(t["head"], row):
                kind = t["kinds"].get(head)
                out.cells += 1
                if kind not in CELL:
                    out.add("tables", name, sec, f"table column {head!r}: kind {kind!r} is not one the checker knows")
                    break
                pattern = CELL[kind]
                if pattern is None or MISSING.fullmatch(cell):
                    continue
                if not pattern.fullmatch(cell):
                    out.add("tables", name, sec,
                            f"table column {head!r} declared {kind}: cell {cell!r} is not formatted as {kind}")


def check_numbers(page: _Page, name: str, findings: list[dict], out: Contract) -> None:
    """Each finding's numbers in the section its link lands in (see the module docstring): a number
    shown only in another section is named with the sections that do show it."""
    text = page.all_text()
    for f in findings:
        anchor = f.get("anchor") or ""
        sentence = repr(f.get("sentence", "")[:140])
        where = page.id_section.get(anchor) if anchor else None
        if anchor and where is None:
            out.add("numbers", name, anchor, f"the finding links to #{anchor}, which is not on the page "
                    f"(finding: {sentence})")
        scope = page.section_text(where) if where is not None else text
        for token in finding_numbers(f.get("sentence", "")):
            out.numbers += 1
            if _appears(token, scope):
                continue
            shown = [s or "top" for s in [""] + page.order if _appears(token, page.section_text(s))]
            if where is None or not shown:
                what = "is not in the report's tables or text"
            else:
                what = (f"is not in section #{where or 'top'}, where the finding links (shown in "
                        f"{', '.join('#' + s for s in shown)})")
            out.add("numbers", name, anchor, f"finding number {token!r} {what} (finding: {sentence})")


def _banner_counts(text: str) -> dict[str, int]:
    """The banner's count line ('1 alert, 2 warnings, 1 section not computed'): its first count of each."""
    found: dict[str, int] = {}
    for n, what in re.findall(r"(\d+) (alert|warning|section)s?(?:\(s\))?", text):
        found.setdefault(what, int(n))
    return found


def _distinct(findings: list[dict], severity: str) -> int:
    return len({(f.get("subject"), f.get("sentence")) for f in findings if f.get("severity") == severity})


def check_report(path: Path, week_dir: Path, out: Contract, rendered_text: str | None = None) -> None:
    """The contract for one published report (see the module docstring)."""
    name = str(path.relative_to(week_dir))
    review = reviews.by_notebook(path.name)
    out.pages += 1
    if review is None:
        out.add("sections", name, "", "not a report of the catalogue of reviews")
        return
    page = read_page(path.read_text(encoding="utf-8"), {s.anchor for s in review.sections})
    model_type = ""
    if review.per_model:
        m = re.search(r"\((classification|regression)\)", page.section_text("about"))
        if m is None:
            out.add("sections", name, "about", "the report does not state the model type")
        model_type = m.group(1) if m else ""
    expected = review.sections_for(model_type)
    for s in expected:
        out.sections += 1
        if s.anchor not in page.order:
            out.add("sections", name, s.anchor, f"section {s.title!r} is missing")
            continue
        n = page.images.get(s.anchor, 0)
        out.figures += n
        if s.figure and n == 0 and not NOT_COMPUTED.search(page.section_text(s.anchor)):
            out.add("figures", name, s.anchor,
                    f"section {s.title!r} declares a figure but shows none and does not say it was not computed")
    for extra in set(page.order) - {s.anchor for s in expected}:
        out.add("sections", name, extra, f"section #{extra} is not one a {model_type or 'service'} report has")
    _check_mathtext(name, page, rendered_text, out)
    check_tables(page, name, out)
    doc_path = path.parent / f"{review.name}.findings.json"
    if not doc_path.exists():
        out.add("sections", name, "", f"no {doc_path.name} beside the report")
        return
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    check_numbers(page, name, doc.get("findings", []), out)
    stated = _banner_counts(" ".join(page.banner))
    findings = doc.get("findings", [])
    actual = {"alert": _distinct(findings, "alert"), "warning": _distinct(findings, "warning"),
              "section": len(doc.get("not_computed") or [])}
    for what, n in actual.items():
        out.counts += 1
        if stated.get(what, 0) != n:
            out.add("counts", name, "verdict",
                    f"the banner counts {stated.get(what, 0)} {what}(s); the findings have {n} distinct")


def _check_mathtext(name: str, page: _Page, rendered_text: str | None, out: Contract) -> None:
    for sec in [""] + page.order:
        for m in MATHTEXT.finditer(page.section_text(sec)):
            out.add("mathtext", name, sec, f"raw mathtext in the page's text: {m.group(0)!r}")
    for m in MATHTEXT.finditer(" ".join(page.banner)):
        out.add("mathtext", name, "verdict", f"raw mathtext in the banner: {m.group(0)!r}")
    if rendered_text is not None:
        static = page.all_text() + " " + " ".join(page.banner)
        for m in MATHTEXT.finditer(rendered_text):
            if m.group(0) not in static:  # the static pass already named it with its section
                out.add("mathtext", name, "", f"raw mathtext as rendered: {m.group(0)!r}")


def check_week_page(week_dir: Path, out: Contract, rendered: dict[str, str] | None = None) -> None:
    """The week page's counts (alerts, warnings, runs) against status.json and the findings files, and
    the index's row for the week."""
    status_path = week_dir / "status.json"
    if not status_path.exists():
        out.add("sections", "index.html", "", "no status.json beside the week page")
        return
    status = json.loads(status_path.read_text(encoding="utf-8"))
    results = status.get("results", [])
    for path, label in ((week_dir / "index.html", "index.html"), (week_dir.parent / "index.html", "../index.html")):
        out.pages += 1
        if not path.exists():
            out.add("sections", label, "", "page missing")
            continue
        page = read_page(path.read_text(encoding="utf-8"))
        _check_mathtext(label, page, (rendered or {}).get(label), out)
        check_tables(page, label, out)
        text = page.all_text()
        if label == "index.html":
            m = re.search(r"(\d+) alerts?(?:\(s\))?,\s*(\d+) warnings?(?:\(s\))?", text)
            for i, sev in enumerate(("alert", "warning")):
                out.counts += 1
                n = sum(_distinct(r.get("findings") or [], sev) for r in results)
                if m is None or int(m.group(i + 1)) != n:
                    out.add("counts", label, "banner", f"the week page counts {m.group(i + 1) if m else 'no'} {sev}(s); "
                                             f"the reports found {n} distinct")
            runs = re.search(r"reports run: ([^()]*)\(", text)
            stated = sum(int(n) for n in re.findall(r"(\d+) \w+", runs.group(1))) if runs else -1
            out.counts += 1
            if stated != len(results):
                out.add("counts", label, "banner", f"the week page counts {stated} report run(s); status.json has {len(results)}")
            for r in results:  # the status file says what each findings file says
                doc = week_dir / (r.get("findings_file") or "")
                if r.get("findings_file") and doc.is_file():
                    listed = json.loads(doc.read_text(encoding="utf-8")).get("findings", [])
                    out.counts += 1
                    if len(listed) != len(r.get("findings") or []):
                        out.add("counts", label, "", f"{r['findings_file']} has {len(listed)} findings; status.json "
                                           f"{len(r.get('findings') or [])}")
        else:
            out.counts += 1
            level = worst(_expected_level(r) for r in results)
            row = re.search(rf"{re.escape(week_dir.name)}\s+\W?\s*(ALERT|WARNING|NOT COMPUTED|NOT CONFIGURED|OK)", text)
            if row is None or row.group(1).lower() != level:
                out.add("counts", label, "", f"the index shows {row.group(1) if row else 'no row'} for {week_dir.name}; "
                                   f"its reports' worst level is {level.upper()}")
            if _latest(week_dir) == week_dir.name:
                _check_cards(label, text, results, out)


def _expected_level(r: dict) -> str:
    """What the index must show for one stored result, by the levels' rules (written here apart from the
    page's code): a skipped review is 'not configured' (never lowers the week); one that failed or did
    not complete is at least 'not computed', whatever its stored level; else its stored level."""
    if r.get("status") == "skipped":
        return "not configured"
    level = r.get("level") or "not computed"
    return level if r.get("status") == "ok" else worst([level, "not computed"])


def _latest(week_dir: Path) -> str:
    """The newest period with a status file beside `week_dir` (the one the index's cards end with)."""
    done = sorted(p.name for p in week_dir.parent.iterdir() if (p / "status.json").is_file())
    return done[-1] if done else ""


def _check_cards(label: str, text: str, results: list[dict], out: Contract) -> None:
    """The index's latest service counts (pages, alert episodes, outages) against the distinct things
    the infrastructure review listed: its page and alert episodes, and its outage findings."""
    for r in results:
        if r.get("model") != "service":
            continue
        episodes = (r.get("headline") or {}).get("episodes") or []
        distinct = {
            "pages": len({(e.get("subject"), e.get("start"), e.get("end")) for e in episodes if e.get("kind") == "page"}),
            "alert episodes": len({(e.get("subject"), e.get("start"), e.get("end")) for e in episodes
                                   if e.get("kind") == "alert"}),
            "outages": len({f.get("sentence") for f in r.get("findings") or [] if f.get("kind") == "outage"}),
        }
        for what, n in distinct.items():
            m = re.search(rf"service {what} (?:\S+ )?([\d,]+)(?!\S)", text)
            if m is None:
                continue
            out.counts += 1
            if int(m.group(1).replace(",", "")) != n:
                out.add("counts", label, "service", f"the index counts {m.group(1)} {what} this week; the infrastructure "
                                          f"review lists {n} distinct")


def report_pages(week_dir: Path) -> list[Path]:
    """The published reports of a week (not Evidently's pages, not kept failures, not screenshots)."""
    return sorted(p for p in Path(week_dir).glob("*/*.html")
                  if ".evidently." not in p.name and p.parent.name not in ("failed", "screenshots"))


def rendered_texts(week_dir: Path) -> tuple[dict[str, str], list[Violation]]:
    """Each page's text as headless Chromium renders it (innerText), and what the browser saw go wrong."""
    from workbench.browser import chromium, open_page

    texts, problems = {}, []
    pages = [(week_dir / "index.html", "index.html"), (week_dir.parent / "index.html", "../index.html")]
    pages += [(p, str(p.relative_to(week_dir))) for p in report_pages(week_dir)]
    with chromium() as browser:
        for path, label in pages:
            if not path.exists():
                continue
            with open_page(browser, path) as (page, visit):
                texts[label] = page.evaluate("document.body.innerText")
                problems += [Violation(label, "", p, "browser") for p in visit.problems]
    return texts, problems


def check_week(week_dir: str | Path, render: bool = True) -> Contract:
    """Check a published week folder against the contract; `render` also reads every page as
    headless Chromium renders it."""
    week_dir = Path(week_dir)
    out = Contract()
    texts: dict[str, str] = {}
    if render:
        texts, problems = rendered_texts(week_dir)
        out.rendered = True
        out.violations += problems
    for p in report_pages(week_dir):
        check_report(p, week_dir, out, texts.get(str(p.relative_to(week_dir))) if render else None)
    check_week_page(week_dir, out, texts if render else None)
    return out


def print_contract(result: Contract, file=sys.stdout) -> None:
    """The counts, then one line per violation."""
    print(result.summary(), file=file)
    for v in result.violations:
        print(f"  {v}", file=file)


def missing_week(week_dir: Path) -> str:
    """Why there is nothing to check at `week_dir` (no folder, or no reports and no status.json in it),
    or "" when there is; one clear line instead of a contract of zero pages."""
    if not week_dir.is_dir():
        return f"no week folder at {week_dir}"
    if not report_pages(week_dir) and not (week_dir / "status.json").is_file():
        return f"no reports in {week_dir}"
    return ""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m workbench.artifact reports/<week>", file=sys.stderr)
        return 2
    week_dir = Path(args[0])
    missing = missing_week(week_dir)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    result = check_week(week_dir)
    print_contract(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
