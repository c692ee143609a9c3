"""The paper's three experiments (Adam, ICASSP 2022, arXiv 2110.06735), reproduced.

Each figure is a grid of independent cells (Figures 1 and 2: one run per
cell; Figure 3: 50 runs per duration). Every run draws its weights and
inputs from its own generator, ``numpy.random.default_rng(SeedSequence([seed,
figure, *key]))``, where ``key`` holds the run's grid values (not its
position in the grid), so a cell gives the same numbers in the quick and the
full grid, serially, over any number of processes or on a Dask cluster
(:func:`tem_sim.parallel.sweep`).

The published numbers ship as package data (``tem_sim/data/*.json``);
:func:`compare` puts every cell beside the paper's.
"""
from __future__ import annotations

import csv
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence, TextIO

import numpy as np

from . import plot
from ._validation import as_int
from .exceptions import ValidationError
from .parallel import scheduler_name, sweep

FIGURES = ("fig1", "fig2", "fig3")
PAPER_FILES = {"fig1": "fig1_one_layer_examples_vs_duration.json",
               "fig2": "fig2_one_layer_examples_vs_noise.json",
               "fig3": "fig3_two_layers_vs_duration.json"}

PERIOD = 10.0          # T of the inputs and of the Figure 3 kernel
N_COMPONENTS = 10      # n of the paper's convention
FIG1_EXAMPLES = list(range(1, 10))
FIG1_DURATIONS = list(range(1, 15))
FIG2_EXAMPLES = [1, 2, 4, 8, 16, 32, 64]
FIG2_LEVELS = [1e-5, 3.15e-5, 1e-4, 3.15e-4, 1e-3, 3.15e-3, 1e-2, 3.15e-2, 1e-1]
FIG2_LABELS = ["100dB", "90dB", "80dB", "70dB", "60dB", "50dB", "40dB", "30dB", "20dB"]
FIG2_DURATION = 10.0
FIG3_DURATIONS = list(range(10, 40, 2))
FIG3_RUNS = 50
FIG3_EXAMPLES = 2

QUICK = {"fig1": {"examples": [1, 2, 3, 5, 9], "durations": [5, 10, 14]},
         "fig2": {"examples": [1, 4, 16, 64], "levels": [1e-5, 1e-3, 1e-1]},
         "fig3": {"durations": [12, 16, 20, 28, 38], "runs": 8}}

#: Two errors are "equal" when their ratio is within this factor.
EQUAL_FACTOR = 1.1


# --------------------------------------------------------------------------- paper data
def paper_data(figure: str) -> dict:
    """The paper's published numbers for ``figure`` (package data).

    Parameters
    ----------
    figure : {"fig1", "fig2", "fig3"}

    Returns
    -------
    dict
        The JSON content (grids and errors, see its ``description``).
    """
    _check_figure(figure)
    text = resources.files("tem_sim").joinpath("data", PAPER_FILES[figure]).read_text()
    return json.loads(text)


def _check_figure(figure: str) -> None:
    if figure not in FIGURES:
        raise ValidationError("figure", figure, f"one of {list(FIGURES)} or 'all'")


# --------------------------------------------------------------------------- progress
class Progress:
    """A progress bar with an estimate of the time left, or nothing.

    Parameters
    ----------
    total : int
        Number of steps.
    label : str
        Shown before the bar.
    enabled : bool or None
        None (default): only when ``stream`` is a terminal.
    stream : file, default sys.stderr
    """

    def __init__(self, total: int, label: str = "", enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.done = 0
        self.t0 = time.perf_counter()
        self._last = 0.0

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` steps and redraw (at most ten times a second)."""
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        frac = self.done / self.total
        elapsed = now - self.t0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        width = 30
        bar = "#" * int(width * frac) + "." * (width - int(width * frac))
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} "
                          f"{_fmt_time(elapsed)} elapsed, ETA {_fmt_time(eta)} ")
        self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _fmt_time(s: float) -> str:
    if not math.isfinite(s):
        return "--:--"
    s = int(round(s))
    return f"{s // 60:d}:{s % 60:02d}"


# --------------------------------------------------------------------------- runs (picklable, top level)
def _rng(seed: int, figure: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, figure, *key]))


def _one_layer_examples(rng: np.random.Generator, n_examples: int, duration: float):
    from .engine import encode
    from .neurons import Neurons
    from .signals import FourierSignals

    W = rng.random((5, 20))
    nrn = Neurons(5, kappa=1.0, delta=1.0, bias=1.0)
    ex = []
    for _ in range(n_examples):
        x = FourierSignals.random_paper(20, N_COMPONENTS, PERIOD, seed=rng)
        ex.append((x, encode(x, W, nrn, float(duration))))
    return W, nrn, ex


def _fit_summary(fit: Any, W: np.ndarray) -> dict:
    return {"error": float(np.linalg.norm(fit.weights - W)),
            "identifiable": bool(fit.identifiable.all()),
            "min_rank": int(fit.rank.min()),
            "n_unknowns": int(W.shape[1]),
            "max_condition": float(fit.condition.max())}


def fig1_cell(task: tuple[int, int, int]) -> dict:
    """One Figure 1 cell: ``(seed, n_examples, duration)`` -> error and identifiability."""
    from .training import fit_layer

    seed, n_examples, duration = task
    W, nrn, ex = _one_layer_examples(_rng(seed, 1, n_examples, duration), n_examples, duration)
    fit = fit_layer(ex, nrn, warn=False)
    return {"examples": n_examples, "duration": duration,
            "n_spikes": int(sum(st.count for _, st in ex)), **_fit_summary(fit, W)}


def add_paper_noise(spikes: Any, level: float, rng: np.random.Generator) -> Any:
    """The paper's spike-time noise: Gaussian, std ``level * ||diff(t_j)||_2 / len(diff(t_j))`` per neuron.

    Noisy times are clipped to the observation window and re-sorted.

    Parameters
    ----------
    spikes : SpikeTrains
    level : float
        Relative noise level (``>= 0``).
    rng : numpy.random.Generator

    Returns
    -------
    SpikeTrains
    """
    from .spikes import SpikeTrains

    if not (level >= 0 and math.isfinite(level)):
        raise ValidationError("level", level, "a finite number >= 0")
    times, idx = [], []
    for j in range(spikes.n_neurons):
        t = spikes.neuron(j)
        d = np.diff(t)
        sd = level * float(np.linalg.norm(d)) / d.size if d.size else 0.0
        times.append(np.clip(t + sd * rng.standard_normal(t.size), spikes.t_start, spikes.t_stop))
        idx.append(np.full(t.size, j))
    return SpikeTrains(np.concatenate(times), np.concatenate(idx), spikes.n_neurons,
                       spikes.t_start, spikes.t_stop)


def fig2_fit_options(level: float) -> dict:
    """Trainer options of Figure 2 beyond the defaults: the rank truncated at the noise level.

    The default weighting already is the efficient one for noisy spikes (GLS for
    jitter). Singular values below ``level * sigma_max`` carry no information at
    this spike-time noise: the trainer treats them as zero (minimum-norm solution,
    bounded) and reports the neuron as not identifiable.
    """
    return {"rcond": max(1e-10, float(level))}


def fig2_cell(task: tuple[int, int, int]) -> dict:
    """One Figure 2 cell: ``(seed, n_examples, level_index)`` -> error and identifiability."""
    from .training import fit_layer

    seed, n_examples, li = task
    level = FIG2_LEVELS[li]
    rng = _rng(seed, 2, n_examples, li)
    W, nrn, ex = _one_layer_examples(rng, n_examples, FIG2_DURATION)
    noisy = [(x, add_paper_noise(st, level, rng)) for x, st in ex]
    fit = fit_layer(noisy, nrn, warn=False, **fig2_fit_options(level))
    return {"examples": n_examples, "noise_level": level, "label": FIG2_LABELS[li],
            "n_spikes": int(sum(st.count for _, st in ex)), **_fit_summary(fit, W)}


def fig3_network(rng: np.random.Generator) -> tuple:
    """The paper's two-layer network of Figure 3 and its inputs, drawn from ``rng``:
    ``(hidden neurons, output neurons, kernel, W1, W2, input banks)`` -- 2 inputs, 2 hidden
    (kappa = 10, delta = 1, bias = 10), 4 outputs (kappa = delta = bias = 1), a periodic lowpass
    of ``PERIOD`` keeping the first 4 hidden spikes, ``FIG3_EXAMPLES`` examples."""
    from .kernels import PeriodicLowpass
    from .neurons import Neurons
    from .signals import FourierSignals

    hid = Neurons(2, kappa=10.0, delta=1.0, bias=10.0)
    out = Neurons(4, kappa=1.0, delta=1.0, bias=1.0)
    kernel = PeriodicLowpass(PERIOD, 7, first=4)
    W1, W2 = rng.random((2, 2)), rng.random((4, 2))
    xs = [FourierSignals.random_paper(2, N_COMPONENTS, PERIOD, seed=rng) for _ in range(FIG3_EXAMPLES)]
    return hid, out, kernel, W1, W2, xs


#: The two-layer methods of Figure 3: the default (FRI start, multi-start search, joint fit) and the
#: FRI-only method (decode every drive, FRI, clustering: issue 5's); row keys of the latter start with ``fri_``.
FIG3_METHODS = {"": {}, "fri_": {"joint": False, "search": False}}


def fig3_run(task: tuple[int, int, int]) -> dict:
    """One Figure 3 run: ``(seed, duration, run)`` -> errors of W1 and W2 in both norms, for the
    default two-layer method and (keys prefixed ``fri_``) for the FRI-only method, on the same draw."""
    from .twolayer import align_to_truth, fit_two_layer, simulate_two_layer

    seed, duration, run = task
    rng = _rng(seed, 3, duration, run)
    hid, out, kernel, W1, W2, xs = fig3_network(rng)
    outs = [simulate_two_layer(x, W1, W2, hid, out, kernel, float(duration))[1] for x in xs]
    fit_seed = int(rng.integers(2**62))
    row: dict[str, Any] = {"duration": duration, "run": run, "n_output_spikes": int(sum(o.count for o in outs))}
    for prefix, options in FIG3_METHODS.items():
        t0 = time.perf_counter()
        res = fit_two_layer(xs, outs, hid, out, 2, kernel, seed=fit_seed, warn=False, **options)
        row.update({f"{prefix}success": bool(res.report.success), f"{prefix}reason": res.report.reason,
                    f"{prefix}stage": res.report.stage, f"{prefix}seconds": time.perf_counter() - t0})
        if np.all(np.isfinite(res.W1)) and np.all(np.isfinite(res.W2)):
            row.update({f"{prefix}{k}": float(v) for k, v in align_to_truth(res, W1, W2).errors.items()})
        else:
            row.update({f"{prefix}{k}": float("nan") for k in ("W1_fro", "W1_one", "W2_fro", "W2_one")})
    return row


def fig3_frontier(summary: Sequence[dict], prefix: str = "", level: float = 0.95) -> float:
    """The shortest duration from which on at least ``level`` of the runs succeed (inf if none)."""
    D = float("inf")
    for s in sorted(summary, key=lambda s: -s["duration"]):
        if s.get(f"{prefix}success", 0.0) < level:
            break
        D = s["duration"]
    return D


@dataclass
class FigureResult:
    """Numbers of one reproduced figure.

    Attributes
    ----------
    figure : str
        ``"fig1"``, ``"fig2"`` or ``"fig3"``.
    rows : list of dict
        One dict per cell (Figures 1, 2) or per run (Figure 3).
    grid : dict
        The grid's axes.
    seed : int
        The seed of every draw.
    quick : bool
    seconds : float
        Wall time.
    jobs : int
        Local worker processes (1 when a Dask scheduler ran the cells).
    comparison : dict
        Filled by :func:`compare`.
    scheduler : str or None
        Address of the Dask scheduler that ran the cells (None: local).
    """

    figure: str
    rows: list
    grid: dict
    seed: int
    quick: bool
    seconds: float
    jobs: int
    comparison: dict = field(default_factory=dict)
    scheduler: str | None = None

    def error_grid(self) -> np.ndarray:
        """Figures 1 and 2: the error heatmap, rows = examples, columns = duration or noise level."""
        if self.figure == "fig3":
            raise ValidationError("figure", self.figure, "'fig1' or 'fig2' for an error grid")
        rk, ck = ("examples", "duration") if self.figure == "fig1" else ("examples", "noise_level")
        rows, cols = self.grid[rk], self.grid[ck]
        g = np.full((len(rows), len(cols)), np.nan)
        for r in self.rows:
            g[rows.index(r[rk]), cols.index(r[ck])] = r["error"]
        return g

    def summary(self) -> list[dict]:
        """Figure 3: per duration, success fraction, quartiles (failed runs count as +inf) and median
        seconds per fit, of the default method and (keys prefixed ``fri_``, when the rows have them)
        of the FRI-only method."""
        if self.figure != "fig3":
            raise ValidationError("figure", self.figure, "'fig3' for a per-duration summary")
        out = []
        for D in self.grid["duration"]:
            runs = [r for r in self.rows if r["duration"] == D]
            s = {"duration": D, "runs": len(runs)}
            for p in FIG3_METHODS:
                if not runs or f"{p}success" not in runs[0]:
                    continue
                s[f"{p}success"] = float(np.mean([r[f"{p}success"] for r in runs]))
                if f"{p}seconds" in runs[0]:
                    s[f"{p}median_seconds"] = float(np.median([r[f"{p}seconds"] for r in runs]))
                for k in ("W1_one", "W1_fro", "W2_fro", "W2_one"):
                    v = np.array([r[f"{p}{k}"] for r in runs], dtype=float)
                    v = np.where(np.isfinite(v), v, np.inf)
                    q = np.quantile(v, [0.25, 0.5, 0.75], method="inverted_cdf")
                    s.update({f"{p}q25_{k}": float(q[0]), f"{p}median_{k}": float(q[1]),
                              f"{p}q75_{k}": float(q[2])})
            out.append(s)
        return out


def run_figure(figure: str, *, quick: bool = False, jobs: int = 1, seed: int = 0,
               progress: bool | None = None, scheduler: Any = None) -> FigureResult:
    """Run one of the paper's experiments.

    Parameters
    ----------
    figure : {"fig1", "fig2", "fig3"}
    quick : bool, default False
        The small grid of :data:`QUICK` instead of the paper's.
    jobs : int, default 1
        Worker processes (BLAS pinned to one thread in each).
    seed : int, default 0
        Seeds every draw (see the module docstring).
    progress : bool or None
        Show a progress bar (None: on a terminal only).
    scheduler : str or distributed.Client, optional
        Run the cells on a Dask cluster (its scheduler's address, or a client) instead
        of local processes: see :func:`tem_sim.parallel.sweep`. The rows are bitwise
        those of a serial run.

    Returns
    -------
    FigureResult
    """
    _check_figure(figure)
    jobs = as_int("jobs", jobs, minimum=1)
    seed = as_int("seed", seed, minimum=0)
    if figure == "fig1":
        ex = QUICK["fig1"]["examples"] if quick else FIG1_EXAMPLES
        ds = QUICK["fig1"]["durations"] if quick else FIG1_DURATIONS
        grid = {"examples": list(ex), "duration": list(ds)}
        fn, tasks = fig1_cell, [(seed, e, d) for e in ex for d in ds]
    elif figure == "fig2":
        ex = QUICK["fig2"]["examples"] if quick else FIG2_EXAMPLES
        lv = QUICK["fig2"]["levels"] if quick else FIG2_LEVELS
        grid = {"examples": list(ex), "noise_level": list(lv),
                "fit_options": "rcond=max(1e-10, level)",
                "label": [FIG2_LABELS[FIG2_LEVELS.index(v)] for v in lv], "duration": FIG2_DURATION}
        fn, tasks = fig2_cell, [(seed, e, FIG2_LEVELS.index(v)) for e in ex for v in lv]
    else:
        ds = QUICK["fig3"]["durations"] if quick else FIG3_DURATIONS
        n_runs = QUICK["fig3"]["runs"] if quick else FIG3_RUNS
        grid = {"duration": list(ds), "runs": n_runs, "examples": FIG3_EXAMPLES}
        fn, tasks = fig3_run, [(seed, d, r) for d in ds for r in range(n_runs)]
    bar = Progress(len(tasks), figure, enabled=progress)
    t0 = time.perf_counter()
    try:
        rows = sweep(fn, tasks, jobs=jobs, scheduler=scheduler, progress=bar)
    finally:
        bar.close()
    res = FigureResult(figure, rows, grid, seed, quick, time.perf_counter() - t0, jobs,
                       scheduler=scheduler_name(scheduler))
    res.comparison = compare(res)
    return res


# --------------------------------------------------------------------------- comparison
def _verdict(ours: float, paper: float) -> str:
    if not np.isfinite(ours):
        return "worse"
    r = ours / paper
    if r < 1 / EQUAL_FACTOR:
        return "better"
    if r > EQUAL_FACTOR:
        return "worse"
    return "equal"


def compare(result: FigureResult) -> dict:
    """Compare every cell with the paper's published number.

    A cell is *identifiable* when the trainer says the data determine the
    weights (Figures 1, 2: every neuron's system has full rank; Figure 3: at
    least half the runs of the duration succeed, so the median is finite).
    Only identifiable cells count for the claim that tem_sim is at or below
    the paper; the others are listed with their largest error (they must stay
    bounded).

    Parameters
    ----------
    result : FigureResult

    Returns
    -------
    dict
        ``cells`` (one dict per compared cell: key, ours, paper, ratio
        ours/paper, verdict, identifiable) and ``counts`` per group
        (``identifiable``, ``not_identifiable``): better, equal, worse, and
        ``factor``, the geometric mean of paper/ours.
    """
    paper = paper_data(result.figure)
    cells = []
    if result.figure in ("fig1", "fig2"):
        ck = "duration" if result.figure == "fig1" else "noise_level"
        pcols = paper["cols_duration"] if result.figure == "fig1" else paper["cols_noise_level"]
        for r in result.rows:
            i = paper["rows_num_examples"].index(r["examples"])
            j = pcols.index(r[ck])
            p = float(paper["error"][i][j])
            cells.append({"key": {"examples": r["examples"], ck: r[ck]}, "quantity": "W_fro",
                          "ours": r["error"], "paper": p, "identifiable": r["identifiable"]})
    else:
        for s in result.summary():
            c = paper["cols_duration"].index(s["duration"])
            ident = s["success"] >= 0.5
            for q, pk in (("W1_one", "median_W1"), ("W2_fro", "median_W2")):
                cells.append({"key": {"duration": s["duration"]}, "quantity": f"median_{q}",
                              "ours": s[f"median_{q}"], "paper": float(paper[pk][c]),
                              "identifiable": bool(ident and np.isfinite(s[f"median_{q}"]))})
    for c in cells:
        c["ratio"] = c["ours"] / c["paper"] if np.isfinite(c["ours"]) else float("inf")
        c["verdict"] = _verdict(c["ours"], c["paper"])
    counts = {}
    for name, sel in (("identifiable", True), ("not_identifiable", False)):
        group = [c for c in cells if c["identifiable"] == sel]
        finite = [c for c in group if np.isfinite(c["ours"])]
        factor = (math.exp(np.mean([math.log(c["paper"] / max(c["ours"], 1e-300)) for c in finite]))
                  if finite else float("nan"))
        counts[name] = {"cells": len(group), "better": sum(c["verdict"] == "better" for c in group),
                        "equal": sum(c["verdict"] == "equal" for c in group),
                        "worse": sum(c["verdict"] == "worse" for c in group), "factor": factor,
                        "max_ours": max((c["ours"] for c in group), default=float("nan"))}
    return {"cells": cells, "counts": counts, "equal_factor": EQUAL_FACTOR}


def format_comparison(result: FigureResult, detail: bool = True) -> str:
    """A text table of :func:`compare`'s output (cell by cell when ``detail``)."""
    comp = result.comparison or compare(result)
    where = f"Dask scheduler {result.scheduler}" if result.scheduler else f"{result.jobs} process(es)"
    lines = [f"{result.figure}: {'quick' if result.quick else 'full'} grid, seed {result.seed}, "
             f"{result.seconds:.1f} s on {where}"]
    if detail:
        lines.append(f"  {'cell':34s} {'tem_sim':>10s} {'paper':>10s} {'ours/paper':>11s}  verdict")
        for c in comp["cells"]:
            key = ", ".join(f"{k}={v:g}" for k, v in c["key"].items())
            key = f"{c['quantity']} {key}" if result.figure == "fig3" else key
            tag = c["verdict"] if c["identifiable"] else f"{c['verdict']} (not identifiable)"
            lines.append(f"  {key:34s} {c['ours']:10.2e} {c['paper']:10.2e} {c['ratio']:11.2e}  {tag}")
    if result.figure == "fig3":
        lines += _fig3_frontier_lines(result)
    for name, k in comp["counts"].items():
        if k["cells"] == 0:
            continue
        lines.append(f"  {name.replace('_', ' ')} cells: {k['cells']}: {k['better']} better, {k['equal']} equal, "
                     f"{k['worse']} worse; geometric mean paper/tem_sim = {k['factor']:.3g}x; "
                     f"largest tem_sim error {k['max_ours']:.2e}")
    return "\n".join(lines)


def _fig3_frontier_lines(result: FigureResult) -> list[str]:
    """Per duration: success of the default and of the FRI-only method, medians, seconds per fit; the
    frontier (shortest duration from which 95 % of the runs succeed) of both beside the paper's."""
    summ = result.summary()
    fri = bool(summ) and "fri_success" in summ[0]
    lines = ["  two-layer methods per duration: success, median W1 1-norm / W2 Frobenius, median s per fit",
             f"  {'D':>4} {'joint (default)':>40}" + (f" {'FRI only':>40}" if fri else "")]
    for s in summ:
        line = f"  {s['duration']:4g}"
        for p in ("", "fri_") if fri else ("",):
            line += (f" {s[f'{p}success']:6.0%} {s[f'{p}median_W1_one']:9.2e} {s[f'{p}median_W2_fro']:9.2e} "
                     f"{s.get(f'{p}median_seconds', float('nan')):8.3f} s")
        lines.append(line)
    paper = paper_data("fig3")
    # the paper's frontier: its median W2 error first below 1e-2 (the drop from about 1)
    pd = [d for d, m in zip(paper["cols_duration"], paper["median_W2"]) if m < 1e-2]
    lines.append(f"  frontier (>= 95 % of runs succeed from D on): joint {fig3_frontier(summ):g}"
                 + (f", FRI only {fig3_frontier(summ, 'fri_'):g}" if fri else "")
                 + f"; the paper's median W2 error drops below 1e-2 from D = {min(pd) if pd else float('nan'):g}")
    return lines


# --------------------------------------------------------------------------- output
def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else repr(v)   # "inf"/"nan": valid JSON
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def write_outputs(result: FigureResult, out: str | os.PathLike, *, figure: bool = True) -> list[Path]:
    """Write ``<fig>.csv``, ``<fig>.json`` (and ``<fig>_summary.csv`` for Figure 3) and the PNG.

    Parameters
    ----------
    result : FigureResult
    out : path
        Output folder (created).
    figure : bool, default True
        Also write the PNG (needs matplotlib; skipped when it is missing).

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    name = result.figure
    p = out / f"{name}.csv"
    _write_csv(p, result.rows)
    written.append(p)
    doc = {"figure": name, "seed": result.seed,
           "seeding": "numpy.random.default_rng(SeedSequence([seed, figure_number, *grid_values]))",
           "quick": result.quick, "grid": result.grid, "seconds": result.seconds, "jobs": result.jobs,
           "scheduler": result.scheduler,
           "python": platform.python_version(), "numpy": np.__version__,
           "rows": result.rows, "comparison": result.comparison}
    if name == "fig3":
        doc["summary"] = result.summary()
        p = out / "fig3_summary.csv"
        _write_csv(p, doc["summary"])
        written.append(p)
    from . import __version__
    doc["tem_sim"] = __version__
    p = out / f"{name}.json"
    p.write_text(json.dumps(_jsonable(doc), indent=1))
    written.append(p)
    if figure:
        try:
            written.append(save_figure(result, out / f"{name}.png"))
        except ImportError:   # no matplotlib
            pass
    return written


def save_figure(result: FigureResult, path: str | os.PathLike) -> Path:
    """Draw a :class:`FigureResult` as the paper does and save it as PNG (needs matplotlib).

    Figures 1 and 2: the error heatmap beside the paper's; Figure 3: the
    duration curves with the paper's medians.

    Parameters
    ----------
    result : FigureResult
    path : path of the PNG

    Returns
    -------
    Path
    """
    plt = plot._plt()
    paper = paper_data(result.figure)
    if result.figure == "fig3":
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        plot.duration_curves(result.summary(), paper, axes)
        fig.suptitle("Figure 3: two layers (2-2-4), 2 examples per run")
    else:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        if result.figure == "fig1":
            rows, cols, labels = result.grid["examples"], result.grid["duration"], None
            pe = np.array([[paper["error"][paper["rows_num_examples"].index(r)][paper["cols_duration"].index(c)]
                            for c in cols] for r in rows])
            xl, title = "duration D", "Figure 1: one layer, 20 -> 5"
        else:
            rows, cols, labels = result.grid["examples"], result.grid["noise_level"], result.grid["label"]
            pe = np.array([[paper["error"][paper["rows_num_examples"].index(r)]
                            [paper["cols_noise_level"].index(c)] for c in cols] for r in rows])
            xl, title = "spike-time noise", "Figure 2: one layer, D = 10"
        ours = result.error_grid()
        vmax = float(np.nanmax(np.concatenate([ours.ravel(), pe.ravel()])))
        plot.error_heatmap(ours, rows, cols, axes[0], xlabel=xl, ylabel="examples", title="tem_sim",
                      col_labels=labels, vmax=vmax)
        plot.error_heatmap(pe, rows, cols, axes[1], xlabel=xl, ylabel="examples", title="paper",
                      col_labels=labels, vmax=vmax)
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow(r)
