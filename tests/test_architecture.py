"""The package's import graph has no cycle, and its layers point one way.

The graph is read from the sources with ``ast`` (nothing is imported): every
``import tem_sim.x`` / ``from .x import ...`` / ``from . import x`` anywhere in a
module -- at the top or inside a function (a deferred import still ties the two
modules together) -- is an edge from that module to the tem_sim module it names.
``from . import name`` where ``name`` is not a submodule is an edge to the package
itself (``tem_sim/__init__.py``). Imports under ``if TYPE_CHECKING:`` are not
edges (they never run).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tem_sim

PKG = Path(tem_sim.__file__).resolve().parent
NAME = "tem_sim"


def _modules() -> dict[str, Path]:
    mods = {}
    for p in sorted(PKG.glob("*.py")):
        mods[NAME if p.stem == "__init__" else f"{NAME}.{p.stem}"] = p
    for p in sorted(PKG.glob("*.pyx")):
        mods.setdefault(f"{NAME}.{p.stem}", p)
    return mods


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, known: set[str]) -> set[str]:
    """tem_sim modules imported anywhere in ``tree`` (a module's source)."""
    package = NAME if module == NAME else module.rsplit(".", 1)[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == NAME or a.name.startswith(NAME + "."):
                    out.add(a.name if a.name in known else NAME)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == NAME or target.startswith(NAME + "."):
                if target == NAME:
                    for a in node.names:              # from . import x: a submodule, or a name of the package
                        sub = f"{NAME}.{a.name}"
                        out.add(sub if sub in known else NAME)
                else:
                    out.add(target if target in known else NAME)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    out.discard(module)
    return out


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` for every module of the package."""
    mods = _modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        if path.suffix == ".pyx":
            graph[name] = set()                       # the compiled core imports no tem_sim module
            continue
        graph[name] = _imports(ast.parse(path.read_text(), str(path)), name, known)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _path(graph: dict[str, set[str]], a: str, b: str) -> list[str]:
    """A shortest import chain from ``a`` to ``b`` (for the failure message)."""
    prev = {a: ""}
    todo = [a]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v]):
            if w not in prev:
                prev[w] = v
                todo.append(w)
    if b not in prev:
        return []
    chain = [b]
    while chain[-1] != a:
        chain.append(prev[chain[-1]])
    return chain[::-1]


def test_graph_is_read_from_the_sources():
    g = import_graph()
    assert {"tem_sim.engine", "tem_sim.spikes", "tem_sim._core"} <= set(g)
    assert "tem_sim._core" in g["tem_sim.engine"] and "tem_sim.spikes" in g["tem_sim.engine"]
    assert "tem_sim.fit_layer" not in g and all(m in g for deps in g.values() for m in deps)


def test_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    tree = ast.parse("def f():\n    from .io import x\nif TYPE_CHECKING:\n    from .training import y\n")
    assert _imports(tree, "tem_sim.spikes", {"tem_sim.io", "tem_sim.training"}) == {"tem_sim.io"}


def test_no_import_cycle_in_the_package():
    g = import_graph()
    found = cycles(g)
    detail = []
    for comp in found:               # one concrete circle per component: a -> ... -> b -> ... -> a
        a = comp[0]
        for b in comp[1:]:
            detail.append(" -> ".join(_path(g, a, b) + _path(g, b, a)[1:]))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found) + "\n" + "\n".join(detail)


# which modules a layer may never import (directly or through others)
DATA_TYPES = ["tem_sim.spikes", "tem_sim.signals", "tem_sim.stimuli", "tem_sim.neurons", "tem_sim.kernels"]
FILES_AND_TRAINING = ["tem_sim.io", "tem_sim.training", "tem_sim.solvers", "tem_sim.constraints",
                      "tem_sim.decoding", "tem_sim.twolayer", "tem_sim.reproduce"]


def _reach(g: dict[str, set[str]], a: str) -> set[str]:
    seen, todo = set(), [a]
    while todo:
        for w in g[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


@pytest.mark.parametrize("module", DATA_TYPES)
def test_data_types_import_no_files_or_training(module):
    g = import_graph()
    bad = sorted(_reach(g, module) & (set(FILES_AND_TRAINING) | {NAME}))
    assert not bad, f"{module} reaches {bad}: " + "; ".join(" -> ".join(_path(g, module, b)) for b in bad)


def test_figures_and_experiments_do_not_import_each_other_both_ways():
    g = import_graph()
    assert not ("tem_sim.reproduce" in _reach(g, "tem_sim.plot") and "tem_sim.plot" in _reach(g, "tem_sim.reproduce"))
    assert "tem_sim.reproduce" not in _reach(g, "tem_sim.plot"), _path(g, "tem_sim.plot", "tem_sim.reproduce")


def test_no_function_over_150_lines():
    # long functions are broken into named steps (issue 15); a numpydoc docstring is documentation,
    # not a step, so it is not counted (the compiled core's units are checked in test_core_units.py)
    import ast
    from pathlib import Path
    long = []
    for path in sorted((Path(__file__).resolve().parents[1] / "tem_sim").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = node.lineno
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                        and isinstance(body[0].value.value, str):
                    doc = body[0].end_lineno - body[0].lineno + 1
                else:
                    doc = 0
                n = node.end_lineno - start + 1 - doc
                if n > 150:
                    long.append(f"{path.name}:{node.name} ({n} lines)")
    assert not long, long
