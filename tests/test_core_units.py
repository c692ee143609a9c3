"""The compiled core's layout: one extension module built from layered ``.pxd`` units.

``tem_sim/_core.pyx`` is the entry of the one extension module ``tem_sim._core``;
the engine lives in ``.pxd`` units of inline functions (see its docstring). Each
unit cimports only the units below it in ``LAYERS`` (no circle), the units ship
with the package (they are its source), and no function of the core is longer
than 150 lines. What the units compute is tested through the module by the rest
of the suite (closed forms, dense trajectories, bit-identity of the two loops).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import tem_sim
from tem_sim import _core

SRC = Path(tem_sim.__file__).parent
# lowest first: a unit may cimport the ones before it only
LAYERS = ["_core_types", "_heap", "_random", "_special", "_drives", "_events", "_sliced", "_lif", "_loop", "_core"]
MAX_LINES = 150


def _source(unit: str) -> str:
    ext = ".pyx" if unit == "_core" else ".pxd"
    return (SRC / (unit + ext)).read_text()


def _cimported_units(text: str) -> set[str]:
    return set(re.findall(r"^from tem_sim\.(\w+) cimport", text, flags=re.M))


def _functions(text: str) -> list[tuple[str, int]]:
    """(name, length in lines) of every top-level def / cdef function, up to the next top-level statement."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"(?:cdef|def|cpdef)\s+(?!extern|struct|enum)[\w\s*]*?(\w+)\(", line)
        if not m:
            continue
        end = i + 1
        while end < len(lines) and (not lines[end] or lines[end][0].isspace() or lines[end].startswith((")", '"""'))):
            end += 1
        while end > i and not lines[end - 1].strip():
            end -= 1
        out.append((m.group(1), end - i))
    return out


@pytest.mark.parametrize("unit", LAYERS)
def test_units_are_layered(unit):
    below = set(LAYERS[:LAYERS.index(unit)])
    used = _cimported_units(_source(unit))
    assert used <= below, f"{unit} cimports {sorted(used - below)}, which are not below it"


def test_every_unit_is_used_and_the_module_is_one():
    used = set().union(*(_cimported_units(_source(u)) for u in LAYERS))
    assert used == set(LAYERS[:-1])
    # the units are compiled into _core: no extension module of their own
    assert not [p.name for p in SRC.glob("_*.so") if not p.name.startswith("_core.")]
    assert {p.stem for p in SRC.glob("*.pxd")} == set(LAYERS[:-1])


@pytest.mark.parametrize("unit", LAYERS)
def test_no_function_over_150_lines(unit):
    funcs = _functions(_source(unit))
    # the types unit declares, defines nothing; the random unit's functions are C (its extern block)
    assert funcs or unit in ("_core_types", "_random"), unit
    long = [(name, n) for name, n in funcs if n > MAX_LINES]
    assert not long, f"{unit}: {long}"


def test_function_length_counter():
    # the counter sees a long function (so the test above can fail), and ends it at the next statement
    body = "\n".join(["    x = 1"] * 200)
    text = f"cdef inline int f(Net* net,\n        int a) noexcept nogil:\n{body}\n\n\ncdef enum:\n    A = 1\n"
    assert _functions(text) == [("f", 202)]
    assert _functions("def g(x):\n    return x\n\n\nX = 1\n") == [("g", 2)]


def test_python_visible_names_stay_in_the_entry():
    for name in ("simulate", "exp_trace", "leaky_recursion", "si", "leaky_sinc", "_use_sliced"):
        assert callable(getattr(_core, name))
    old = _core._use_sliced(False)
    assert _core._use_sliced(old) is False       # the testing switch round-trips
