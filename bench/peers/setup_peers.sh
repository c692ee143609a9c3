#!/usr/bin/env bash
# Create bench/.venv-peers: a separate virtual environment holding the peer
# simulators (Brian2 and NEST) for bench/bench_network.py.
#
# Why a separate environment: Brian2 (2.9 to 2.11) imports only with
# NumPy < 2.4 (it still calls ndarray.ptp, removed in 2.4), and tem_sim's own
# environment must not be held back for it. NEST 3.10 installs from PyPI as
# `nest-simulator`. Cython and setuptools are needed by Brian2's default
# (Cython) code-generation target.
#
# Usage (from the repository root or anywhere):
#     bash bench/peers/setup_peers.sh            # create or update the venv
#     PYTHON=python3.11 bash bench/peers/setup_peers.sh
# The venv lives in bench/.venv-peers (gitignored). Safe to re-run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(cd "$here/.." && pwd)/.venv-peers"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv with $("$py" --version 2>&1)"
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install "numpy<2.4" brian2 nest-simulator cython setuptools

echo "--- checking the peers import"
"$venv/bin/python" - <<'PY'
import numpy
print("numpy", numpy.__version__)
try:
    import brian2
    print("brian2", brian2.__version__)
except Exception as exc:  # report, do not fail: the bench skips a missing peer
    print("brian2 NOT usable:", type(exc).__name__, exc)
try:
    import nest
    print("nest", nest.__version__)
except Exception as exc:
    print("nest NOT usable:", type(exc).__name__, exc)
PY
echo "peers venv ready: $venv"
