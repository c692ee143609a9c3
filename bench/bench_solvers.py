"""Per-neuron solver timing: LAPACK least squares versus OSQP (auxiliary and dense forms).

Run from the repository root: ``python bench/bench_solvers.py``. For each
problem (the rows of one output neuron) it times, with BLAS pinned to one
thread and the best of several repeats:

- ``lstsq``: :func:`tem_sim.solvers.solve_lstsq` (LAPACK ``gelsd``, with the rank
  and condition diagnostics it returns anyway);
- ``osqp-aux``: :func:`tem_sim.solvers.solve_osqp` on the same unconstrained
  problem (sparse auxiliary-variable form ``z = A w - r``, tight tolerances, polishing);
- ``osqp-dense``: OSQP on ``P = A'A``, ``q = -A'r`` with the same settings (the other
  formulation the style notes mention), for comparison.

It prints the times, the OSQP/lstsq ratio and the weight error of each path.
Problems: the paper's Figure 1 neuron (20 inputs, 5 examples, D = 10), a
100-input analog neuron (20 examples, D = 10), and a 200-input neuron fed by
delta-synapse spikes (sparse rows).
"""
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tem_sim import FourierSignals, Neurons, encode  # noqa: E402
from tem_sim.constraints import layer_rows  # noqa: E402
from tem_sim.solvers import OSQP_DEFAULTS, solve_lstsq, solve_osqp  # noqa: E402


def best(f, repeats=5):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def osqp_dense(A, r):
    import osqp
    A = A.toarray() if sp.issparse(A) else A
    P = sp.csc_matrix(np.triu(A.T @ A))
    prob = osqp.OSQP()
    n = A.shape[1]
    opts = dict(OSQP_DEFAULTS, polishing=False)     # no constraints: nothing to polish
    prob.setup(P, -A.T @ r, sp.csc_matrix((0, n)), np.empty(0), np.empty(0), **opts)
    res = prob.solve(raise_error=False)
    return np.asarray(res.x)


def analog_problem(n_in, n_examples, seed):
    rng = np.random.default_rng(seed)
    W = rng.random((1, n_in))
    nrn = Neurons(1, kappa=1.0, delta=1.0, bias=1.0)
    ex = []
    for _ in range(n_examples):
        x = FourierSignals.random_paper(n_in, 10, 10.0, seed=rng)
        ex.append((x, encode(x, W / n_in * 20, nrn, 10.0)))
    R = layer_rows(ex, nrn)[0]
    return R.A, R.r, W[0] / n_in * 20


def spike_problem(n_in, seed):
    # rows of a neuron with delta synapses: random sparse counts (structure only; exact data)
    rng = np.random.default_rng(seed)
    K = 3 * n_in
    A = sp.random(K, n_in, density=0.05, random_state=rng, data_rvs=lambda k: np.ones(k), format="csr")
    A = A + sp.csr_matrix((np.ones(K), (np.arange(K), np.arange(K) % n_in)), shape=(K, n_in))
    w = rng.random(n_in)
    return A.tocsr(), A @ w, w


def main():
    problems = [("fig1 neuron: 20 inputs, 5 examples", *analog_problem(20, 5, 0)),
                ("analog: 100 inputs, 20 examples", *analog_problem(100, 20, 1)),
                ("spike/delta: 200 inputs, sparse", *spike_problem(200, 2))]
    print(f"{'problem':38s} {'rows':>5s} {'lstsq':>10s} {'osqp-aux':>10s} {'osqp-dense':>10s} "
          f"{'aux/lstsq':>9s} {'dense/lstsq':>11s}  errors (lstsq, aux, dense)")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, A, r, w in problems:
            tl, (wl, _) = best(lambda: solve_lstsq(A, r))
            ta, (wa, _) = best(lambda: solve_osqp(A, r))
            td, wd = best(lambda: osqp_dense(A, r))
            el, ea, ed = (np.abs(v - w).max() for v in (wl, wa, wd))
            print(f"{name:38s} {A.shape[0]:5d} {tl * 1e3:8.2f}ms {ta * 1e3:8.2f}ms {td * 1e3:8.2f}ms "
                  f"{ta / tl:9.1f} {td / tl:11.1f}  {el:.1e} {ea:.1e} {ed:.1e}")


if __name__ == "__main__":
    main()


def run(quick: bool, peers: bool) -> list[dict]:
    """Rows for bench/run.py: LAPACK least squares beside OSQP's auxiliary-variable form."""
    problems = [("fig1 neuron: 20 inputs, 5 examples", *analog_problem(20, 5, 0))]
    if not quick:
        problems += [("analog: 100 inputs, 20 examples", *analog_problem(100, 20, 1)),
                     ("spike/delta: 200 inputs, sparse", *spike_problem(200, 2))]
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, A, r, w in problems:
            tl, (wl, _) = best(lambda: solve_lstsq(A, r))
            ta, (wa, _) = best(lambda: solve_osqp(A, r))
            rows.append({"benchmark": f"solve {name}", "unit": "s", "tem_sim": tl,
                         "baseline_name": "OSQP auxiliary form", "baseline": ta, "ratio": ta / tl,
                         "notes": f"max weight error lstsq {np.abs(wl - w).max():.1e}, "
                                  f"OSQP {np.abs(wa - w).max():.1e}"})
    return rows
