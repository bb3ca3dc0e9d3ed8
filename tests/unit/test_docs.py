"""The documentation cannot go stale: the configuration reference is the generator's output, the
architecture page names exactly the package's modules, and README and docs link only to files that exist."""
from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, RootModel

from workbench import config, docs

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "workbench"


def _schemas() -> list[type[BaseModel]]:
    """Every model reachable from the params files' top-level schemas."""
    seen: list[type[BaseModel]] = []
    todo = [m for _, m, _ in docs.FILES]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.append(m)
        if not issubclass(m, RootModel):
            for f in m.model_fields.values():
                todo += docs._nested(f.annotation)
    return seen


def test_committed_configuration_reference_is_the_generators_output():
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == docs.configuration_markdown(), "docs/configuration.md is stale: run python -m workbench.docs"


def test_configuration_reference_lists_every_key_of_every_schema_in_its_section():
    text = docs.configuration_markdown()
    schemas = _schemas()
    assert config.WeeklyParams in schemas and config.FeatureDrift in schemas and config.AlertRule in schemas
    for model in schemas:
        section = text.split(f"### {model.__name__}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
        if issubclass(model, RootModel):
            continue
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in section, f"{model.__name__}.{name} missing"
    for name in config.CATALOG_QUERIES:
        assert f"| `{name}` |" in text


def test_field_comments_beside_or_above_a_field_become_its_meaning():
    notes = docs._comments(config.PerformanceParams)
    src = (PACKAGE / "config.py").read_text()
    flat = " ".join(src.replace("#", " ").split())
    for field, note in notes.items():
        assert " ".join(note.split()) in flat, field
    assert set(notes) <= set(config.PerformanceParams.model_fields)
    # beside: `relative_drop_tolerance: ... # flag metrics ...`; above: the two lines over log_to_mlflow
    beside = next(ln for ln in src.splitlines() if ln.strip().startswith("relative_drop_tolerance:"))
    assert notes["relative_drop_tolerance"] == beside.split("#", 1)[1].strip()
    assert "MLflow" in notes["log_to_mlflow"] and "min_samples" not in notes


def test_check_mode_fails_on_a_stale_file_and_passes_on_a_fresh_one(tmp_path):
    out = tmp_path / "configuration.md"
    out.write_text(docs.configuration_markdown().replace("| `drift_share` |", "| `share` |"))
    assert docs.main(["--check", "--out", str(out)]) == 1
    assert docs.main(["--out", str(out)]) == 0
    assert docs.main(["--check", "--out", str(out)]) == 0


def test_architecture_page_names_every_module_and_nothing_else():
    page = (ROOT / "docs" / "architecture.md").read_text()
    table = page.split("## Modules", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| `([\w/]+\.py)` \|", table, flags=re.M))
    real = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    assert named, "no module table"
    assert real - named == set(), f"modules missing from docs/architecture.md: {sorted(real - named)}"
    assert named - real == set(), f"docs/architecture.md names modules that do not exist: {sorted(named - real)}"


def test_readme_is_short_and_keeps_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    assert "make weekly-report" in text and "make test" in text
    assert "### Your own table" in text


def _slugs(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings (lower case, punctuation dropped, spaces as hyphens)."""
    heads = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_readme_and_docs_link_only_to_files_and_sections_that_exist_and_the_screenshot_is_small():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", page.read_text()):
            if "://" in target:
                continue
            dest = page.parent / target if target else page
            assert dest.exists(), f"{page.name} links to missing {target}"
            if anchor and dest.suffix == ".md":
                assert anchor in _slugs(dest), f"{page.name} links to {target}#{anchor}: no such heading"
    shot = ROOT / "docs" / "img" / "week-page.png"
    assert shot.is_file() and shot.stat().st_size < 300_000
    assert "docs/img/week-page.png" in (ROOT / "README.md").read_text()
