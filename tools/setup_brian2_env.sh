#!/usr/bin/env bash
# Create .venv-brian2 at the repository root: a separate virtual environment in which
# tests/brian2_checks.py runs the Brian2 round trips of tem_sim.interop against the real Brian2.
#
# Why a separate environment: Brian2 (2.9) imports only with NumPy < 2.4 (it still calls
# ndarray.ptp, removed in 2.4), and tem_sim's own environment must not be held back for it.
# tem_sim itself is not installed here: the tests put the source tree (with the compiled
# module an editable install builds beside the sources) on PYTHONPATH, so this environment
# needs tem_sim's run-time dependencies, Brian2 and pytest.
#
# Usage: bash tools/setup_brian2_env.sh     (safe to re-run; PYTHON=python3.x to choose the interpreter)
# tests/test_interop.py::test_brian2_round_trips then finds .venv-brian2 (or the interpreter
# named by TEM_SIM_BRIAN2_PYTHON) and skips, saying why, when there is none.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-brian2"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "numpy<2.4" brian2 "scipy>=1.11" "osqp>=1.0" pytest
"$venv/bin/python" -c "import brian2, numpy; print(f'Brian2 environment ready: {brian2.__version__} with NumPy {numpy.__version__} in $venv')"
