"""The package is organised by capability: each review folder has one public review() with one result
shape, its figures beside it, and no import circle runs through a review and the shared plots."""

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
CAPABILITIES = {"drift": "DriftReport", "performance": "PerformanceReview", "infrastructure": "ServiceReview"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """workbench modules `path` imports when it runs (imports inside functions count; those under
    `if TYPE_CHECKING:` do not)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("workbench"):
            out |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("workbench")}
    return out & modules


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_runs_through_a_review_or_the_shared_plots():
    files = {_module_name(p): p for p in (SRC / "workbench").rglob("*.py")}
    graph = {m: _runtime_imports(p, set(files)) - {m} for m, p in files.items()}
    watched = ("workbench.plots", *(f"workbench.{c}" for c in CAPABILITIES))
    bad = [sorted(c) for c in _cycles(graph) if any(m.startswith(watched) for m in c)]
    assert not bad, f"import circles: {bad}"


def _import_graph() -> dict[str, set[str]]:
    """workbench module -> the workbench modules it imports at run time (top-level and function-local)."""
    files = {_module_name(p): p for p in (SRC / "workbench").rglob("*.py")}
    return {m: _runtime_imports(p, set(files)) - {m} for m, p in files.items()}


def test_the_package_has_no_import_circle():
    """No module of workbench reaches itself through imports, function-local ones included (the
    catalogue of reviews broke check -> report -> weekpage -> report, and logs -> report -> logs)."""
    graph = _import_graph()
    assert {"workbench.check", "workbench.report", "workbench.weekpage", "workbench.reviews"} <= set(graph)
    assert "workbench.check" in graph["workbench.report"]  # local imports are in the graph
    assert not [sorted(c) for c in _cycles(graph)], f"import circles: {[sorted(c) for c in _cycles(graph)]}"


def test_the_circle_finder_finds_a_local_import_circle(tmp_path):
    """The detector sees a circle made by a function-local import (as report <-> weekpage was), and
    ignores imports only made for type checking."""
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text("from workbench import b\n")
    b.write_text("def f():\n    from workbench.c import g\n")
    c.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from workbench import b\n"
                 "def g():\n    import workbench.a\n")
    mods = {"workbench.a", "workbench.b", "workbench.c"}
    graph = {f"workbench.{p.stem}": _runtime_imports(p, mods) for p in (a, b, c)}
    assert graph == {"workbench.a": {"workbench.b"}, "workbench.b": {"workbench.c"}, "workbench.c": {"workbench.a"}}
    assert _cycles(graph) == [mods]
    graph["workbench.c"] = set()
    assert _cycles(graph) == []


def _fresh_python(code: str) -> str:
    """What `code` prints in a new interpreter that imports workbench from src/ (nothing loaded yet)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(SRC), "PATH": ""}).stdout.strip()


def test_config_reads_the_registry_without_importing_the_review_or_matplotlib():
    code = ("import sys, workbench.config, workbench.drift.methods; "
            "print(sorted(m for m in sys.modules if m in ('workbench.drift.core', 'matplotlib', 'workbench.performance.core',"
            " 'scipy.stats')))")
    assert _fresh_python(code) == "[]"


@pytest.mark.parametrize("capability", sorted(CAPABILITIES))
def test_each_capability_has_one_public_review_with_one_result_shape(capability):
    import importlib

    pkg = importlib.import_module(f"workbench.{capability}")
    result = CAPABILITIES[capability]
    assert "review" in pkg.__all__ and result in pkg.__all__
    assert inspect.signature(pkg.review).return_annotation == result
    assert getattr(pkg, result) is getattr(pkg.core, result)
    assert hasattr(pkg.plots, "__file__") and Path(pkg.plots.__file__).parent.name == capability  # figures beside it
    with pytest.raises(AttributeError):
        pkg.no_such_thing


def test_scipy_loads_when_a_method_computes_and_gives_scipys_answer():
    code = ("import sys, numpy as np, workbench.drift.methods as m; a = sys.modules.get('scipy.stats'); "
            "r = m.stats.ks_2samp(np.arange(5.0), np.arange(3.0)); "
            "import scipy.stats as s; print(a is None, r.pvalue == s.ks_2samp(np.arange(5.0), np.arange(3.0)).pvalue)")
    assert _fresh_python(code) == "True True"


def test_the_runner_loads_nbformat_without_compiling_iri_grammars():
    """jsonschema compiles rfc3987_syntax's Lark grammars at import when that extra is installed
    (~1.5 s of every run's start); the runner leaves it out, and nbformat still validates."""
    code = ("import sys, importlib.util; from workbench import report; report._lighter_jsonschema(); "
            "import nbformat; nbformat.validate(nbformat.v4.new_notebook()); "
            "print(sys.modules.get('rfc3987_syntax') is None, 'lark' in sys.modules)")
    assert _fresh_python(code) == "True False"
    installed = _fresh_python("import importlib.util; print(importlib.util.find_spec('rfc3987_syntax') is not None)")
    plain = _fresh_python("import sys, nbformat; print(sys.modules.get('rfc3987_syntax') is not None)")
    assert plain == installed  # without the runner's step, an installed rfc3987_syntax is loaded
