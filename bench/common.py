"""Helpers shared by the bench modules: timing and the row format the runner prints."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

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
