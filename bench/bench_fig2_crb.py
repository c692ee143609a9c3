"""Figure 2 against the Cramer-Rao bound: the default fit, plain least squares and the paper (issue 13).

Run from the repository root: ``python bench/bench_fig2_crb.py [--draws N] [--examples 4 16 ...]``
prints the whole grid (default: 10 draws per cell); ``python bench/run.py --only fig2_crb``
runs a small part of it (``--quick``: fewer cells and draws). Setting: Figure 2 of the paper
(20 inputs, 5 outputs, kappa = delta = b = 1, D = 10, inputs ``random_paper(20, 10, 10)``,
weights ``U[0,1)``), the paper's noise model (every spike time of output neuron ``j`` in an
example gets Gaussian noise of standard deviation ``level ||diff(t_j)||_2 / len(diff(t_j))``,
:func:`tem_sim.reproduce.add_paper_noise`). ``--tau 2`` runs the same grid with leaky neurons (no paper column; the bound from
spike-time derivatives by finite differences of the engine). Per draw (its own weights,
inputs and noise):

* ``default``: ``fit_layer(noisy, neurons)`` with default options;
* ``plain``: ``fit_layer(noisy, neurons, row_weights=None)`` (unweighted least squares);
* ``crb``: the Cramer-Rao bound on ``||W_hat - W||_F`` for unbiased estimators, from the exact
  spikes: spike ``k`` of neuron ``j`` satisfies ``int_0^t_k u_j = kappa (delta - v0) + 2 kappa delta (k - 1)``,
  so ``dt_k / dw_j = -X_k / u_j(t_k)`` with ``X_k = int_0^t_k x``; the Fisher information of
  neuron ``j`` is ``sum_k X_k X_k' / (u_j(t_k)^2 sigma_je^2)`` and the bound is
  ``sqrt(sum_j trace(FIM_j^-1))``.

A cell's ratio is ``median(default error) / median(crb)`` over the draws; a cell is identifiable
when the default fit reports every neuron identifiable in every draw. The paper's error is its
single published run. One BLAS thread.

``--pooled N [--level L]`` (N draws at ``--examples`` examples, one noise level, default 1e-4): the
distribution of ``error / level`` over the draws (in the small-noise regime it does not depend on the
level), how much a median of 10 draws varies, and where each of the paper's single runs at that
number of examples falls in it (percentiles): is a cell where the paper is better the luck of one
draw, or a different setting?
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tem_sim import FourierSignals, Neurons, encode, fit_layer  # noqa: E402
from tem_sim.constraints import interval_rows  # noqa: E402
from tem_sim.reproduce import FIG2_LEVELS, add_paper_noise  # noqa: E402

try:
    from common import row  # noqa: E402
except ImportError:  # pragma: no cover - imported as bench.bench_fig2_crb
    from bench.common import row  # noqa: E402

EXAMPLES = (1, 2, 4, 8, 16, 32, 64)
PAPER = Path(__file__).resolve().parents[1] / "tem_sim" / "data" / "fig2_one_layer_examples_vs_noise.json"


def crb(examples: list, W: np.ndarray, nrn: Neurons, level: float) -> float:
    """Cramer-Rao bound on the Frobenius error for the paper's noise model (see the module docstring)."""
    total = 0.0
    for j in range(W.shape[0]):
        fim = np.zeros((W.shape[1], W.shape[1]))
        for x, st in examples:
            t = st.neuron(j)
            if t.size < 2:
                continue
            d = np.diff(t)
            sigma = level * np.linalg.norm(d) / d.size
            X = interval_rows(x, np.zeros(t.size), t)
            u = x.sample(t).T @ W[j] + nrn.bias[j]
            fim += (X / (u * sigma)[:, None]).T @ (X / (u * sigma)[:, None])
        try:
            total += float(np.trace(np.linalg.inv(fim)))
        except np.linalg.LinAlgError:
            return float("inf")
        if not np.isfinite(total) or np.linalg.cond(fim) > 1e14:
            return float("inf")
    return float(np.sqrt(total))


def crb_engine(examples: list, W: np.ndarray, nrn: Neurons, level: float, h: float = 1e-6) -> float:
    """The same bound with the spike times' derivatives by central differences of the engine
    (any neuron model: used for leaky neurons)."""
    fim = np.zeros((W.shape[0], W.shape[1], W.shape[1]))
    for x, st in examples:
        cols = []
        for i in range(W.shape[1]):
            E = np.zeros_like(W)
            E[:, i] = h
            up, dn = encode(x, W + E, nrn, st.t_stop), encode(x, W - E, nrn, st.t_stop)
            k = np.minimum(st.counts(), np.minimum(up.counts(), dn.counts()))
            cols.append([(up.neuron(j)[:k[j]] - dn.neuron(j)[:k[j]]) / (2 * h) for j in range(W.shape[0])])
        for j in range(W.shape[0]):
            t = st.neuron(j)
            if t.size < 2:
                continue
            d = np.diff(t)
            sigma = level * np.linalg.norm(d) / d.size
            k_all = min(c[j].size for c in cols)     # a perturbation may add or drop the last spike
            D = np.column_stack([c[j][:k_all] for c in cols])
            fim[j] += D.T @ D / sigma ** 2
    try:
        if np.max(np.linalg.cond(fim)) > 1e14:
            return float("inf")
        return float(np.sqrt(np.sum(np.trace(np.linalg.inv(fim), axis1=1, axis2=2))))
    except np.linalg.LinAlgError:
        return float("inf")


def draw(rng: np.random.Generator, n_ex: int, nrn: Neurons, level: float) -> tuple:
    """One draw of the setting: weights ``U[0,1)``, ``n_ex`` examples of the paper's inputs, their
    exact spikes and the same with the paper's noise; returns ``(W, exact, noisy)``."""
    W = rng.random((5, 20))
    ex = []
    for _ in range(n_ex):
        x = FourierSignals.random_paper(20, 10, 10.0, seed=rng)
        ex.append((x, encode(x, W, nrn, 10.0)))
    return W, ex, [(x, add_paper_noise(st, level, rng)) for x, st in ex]


def cell(n_ex: int, li: int, draws: int, tau: float = float("inf")) -> dict:
    """One Figure 2 cell: medians over ``draws`` draws of the default, plain and CRB errors."""
    level = FIG2_LEVELS[li]
    nrn = Neurons(5, kappa=1.0, delta=1.0, bias=1.0, tau=tau)
    err, plain, bound, ident = [], [], [], True
    for d in range(draws):
        W, ex, noisy = draw(np.random.default_rng([13, n_ex, li, d]), n_ex, nrn, level)
        fit = fit_layer(noisy, nrn, warn=False)
        ident &= bool(fit.identifiable.all())
        err.append(np.linalg.norm(fit.weights - W))
        plain.append(np.linalg.norm(fit_layer(noisy, nrn, row_weights=None, warn=False).weights - W))
        bound.append(crb(ex, W, nrn, level) if np.isinf(tau) else crb_engine(ex, W, nrn, level))
    out = dict(examples=n_ex, level=level, identifiable=ident, default=float(np.median(err)),
               plain=float(np.median(plain)), crb=float(np.median(bound)))
    out["ratio"] = out["default"] / out["crb"] if np.isfinite(out["crb"]) and out["crb"] > 0 else float("nan")
    return out


def paper_error(n_ex: int, li: int) -> float:
    paper = json.loads(PAPER.read_text())
    return float(paper["error"][paper["rows_num_examples"].index(n_ex)][li])


def run(quick: bool = False, peers: bool = False) -> list[dict]:
    """Rows for ``bench/run.py``: a few cells, default error against the CRB (ratio = crb / default)."""
    cells = [(16, 4), (64, 4)] if quick else [(4, 2), (16, 4), (64, 0), (64, 4), (64, 8)]
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n_ex, li in cells:
            t0 = time.perf_counter()
            c = cell(n_ex, li, 3 if quick else 10)
            rows.append(row(f"fig2 {n_ex} examples, noise {c['level']:.3g}: error vs Cramer-Rao bound",
                            "||W_hat - W||_F", c["default"], "Cramer-Rao bound", c["crb"], c["crb"] / c["default"],
                            f"median of {3 if quick else 10} draws; plain least squares {c['plain']:.2g}, paper "
                            f"{paper_error(n_ex, li):.2g}; {time.perf_counter() - t0:.1f} s"))
    return rows


def pooled(n_ex: int, draws: int, level: float) -> None:
    """Print the spread of the default fit's ``error / level`` over ``draws`` draws and the
    percentiles of the paper's single runs in it (see the module docstring)."""
    nrn = Neurons(5, kappa=1.0, delta=1.0, bias=1.0)
    err, bound = [], []
    for d in range(draws):
        W, ex, noisy = draw(np.random.default_rng([99, n_ex, d]), n_ex, nrn, level)
        err.append(np.linalg.norm(fit_layer(noisy, nrn, warn=False).weights - W) / level)
        bound.append(crb(ex, W, nrn, level) / level)
    err, bound = np.array(err), np.array(bound)
    q = (0.1, 0.25, 0.5, 0.75, 0.9)
    print(f"{n_ex} examples, {draws} draws at level {level:g}: default error / level, quantiles {q}: "
          f"{np.quantile(err, q).round(0)}; bound / level {np.quantile(bound, q).round(0)}; "
          f"default / bound median {np.median(err / bound):.2f}")
    meds = [np.median(np.random.default_rng(k).choice(err, 10, replace=False)) for k in range(1000)]
    print(f"a median of 10 of these draws: 5-95 % range {np.quantile(meds, [0.05, 0.95]).round(0)}")
    paper = np.array([paper_error(n_ex, li) / FIG2_LEVELS[li] for li in range(len(FIG2_LEVELS))])
    pct = [int(round(100 * np.mean(err < v))) for v in paper]
    print(f"paper error / level at each noise level: {paper.round(0)}; percentiles in the default's "
          f"distribution: {pct} (mean {np.mean(pct):.0f}; 50 +- 10 for draws of the same distribution)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--examples", type=int, nargs="*", default=list(EXAMPLES))
    ap.add_argument("--tau", type=float, default=float("inf"),
                    help="leak time constant (a Figure-2-like grid for leaky neurons; no paper column)")
    ap.add_argument("--pooled", type=int, default=0, help="draws of the pooled analysis (see the docstring)")
    ap.add_argument("--level", type=float, default=1e-4, help="noise level of the pooled analysis")
    args = ap.parse_args()
    if args.pooled:
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for n_ex in args.examples:
                pooled(n_ex, args.pooled, args.level)
        return
    print(f"{'examples':>8s} {'level':>8s} {'ident':>5s} {'crb':>9s} {'default':>9s} {'ratio':>6s} "
          f"{'plain':>9s} {'paper':>9s} {'vs paper':>8s}")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n_ex in args.examples:
            for li in range(len(FIG2_LEVELS)):
                c = cell(n_ex, li, args.draws, args.tau)
                p = paper_error(n_ex, li) if np.isinf(args.tau) else float("nan")
                print(f"{n_ex:8d} {c['level']:8.2e} {str(c['identifiable'])[0]:>5s} {c['crb']:9.2e} "
                      f"{c['default']:9.2e} {c['ratio']:6.2f} {c['plain']:9.2e} {p:9.2e} {p / c['default']:8.2g}",
                      flush=True)


if __name__ == "__main__":
    main()
