"""Helpers shared by the bench modules: timing and the row format the runner prints."""
from __future__ import annotations

import math
import statistics
import time
from typing import Any, Callable

import numpy as np

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
