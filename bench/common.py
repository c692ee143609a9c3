"""Helpers shared by the bench modules: timing, the row format the runner prints, spike-time errors
and running the peer simulators' scripts in their own virtual environment."""
from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
VENV_PY = HERE / ".venv-peers" / "bin" / "python"
PEERS_DIR = HERE / "peers"

ROW_KEYS = ("benchmark", "unit", "tem_sim", "baseline_name", "baseline", "ratio", "notes")


def row(benchmark: str, unit: str, tem_sim: float | None, baseline_name: str | None,
        baseline: float | None, ratio: float | None, notes: str = "") -> dict[str, Any]:
    """One result row (the keys every ``bench_*.run`` returns)."""
    return {"benchmark": benchmark, "unit": unit, "tem_sim": tem_sim, "baseline_name": baseline_name,
            "baseline": baseline, "ratio": ratio, "notes": notes}


def median_time(fn: Callable[[], Any], repeats: int, min_total: float = 0.0) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` warm calls (more, up to 4x, while under ``min_total`` s)."""
    walls: list[float] = []
    while len(walls) < repeats or (sum(walls) < min_total and len(walls) < 4 * repeats):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls), walls


def spike_time_errors(ref: list[np.ndarray], times: np.ndarray, idx: np.ndarray) -> tuple[float, float, int]:
    """(max error, median error, total |count difference|) of spikes against reference trains.

    The k-th spike of neuron ``j`` is compared with the k-th reference spike of ``j``.
    """
    times, idx = np.asarray(times, dtype=float), np.asarray(idx, dtype=np.int64)
    order = np.lexsort((times, idx))
    times, idx = times[order], idx[order]
    bounds = np.searchsorted(idx, np.arange(len(ref) + 1))
    errs, miss = [], 0
    for j, r in enumerate(ref):
        s = times[bounds[j]:bounds[j + 1]]
        miss += abs(s.size - r.size)
        m = min(s.size, r.size)
        if m:
            errs.append(np.abs(s[:m] - r[:m]))
    e = np.concatenate(errs) if errs else np.zeros(0)
    return (float(e.max()) if e.size else math.nan, float(np.median(e)) if e.size else math.nan, miss)


def peer_problem() -> str | None:
    """Why the peers cannot run (their venv is missing), or None."""
    if not VENV_PY.exists():
        return f"peers venv missing: run `bash bench/peers/setup_peers.sh` (expected {VENV_PY})"
    return None


def run_peer(script: str, args: list[str], timeout: float) -> tuple[dict | None, str]:
    """Run a peer script of ``bench/peers`` in the peers' venv, one BLAS thread; (the JSON line it
    printed last, or None and why not)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)
    cmd = [str(VENV_PY), str(PEERS_DIR / script)] + args
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                           cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return None, f"{script} {' '.join(args)}: timed out after {timeout:.0f} s"
    for line in reversed(p.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line), ""
            except json.JSONDecodeError:
                break
    tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
    return None, f"{script} exited {p.returncode}: {' | '.join(tail)}"
