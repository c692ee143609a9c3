"""Figure 2 setting: effect of the no-spike inequalities and of row weighting on noisy spikes.

Run from the repository root: ``python bench/fig2_options.py [examples ...]``
(default 4 16 64). Same network as Figure 1 (20 inputs, 5 outputs,
kappa = delta = b = 1, D = 10); every spike time of output neuron j gets
Gaussian noise of standard deviation ``level * ||diff(t_j)||_2 / len(diff(t_j))``
(the paper's model). For each noise level it prints ||W_hat - W||_F for plain
least squares, ``row_weights="jitter"``, the inequalities I1 (OSQP, margin
scaled to the noise), and the paper's cell. One seed, one BLAS thread.
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tem_sim import FourierSignals, Neurons, SolverError, SpikeTrains, encode  # noqa: E402
from tem_sim.training import fit_layer  # noqa: E402

LEVELS = [1e-5, 3.15e-5, 1e-4, 3.15e-4, 1e-3, 3.15e-3, 1e-2, 3.15e-2, 1e-1]


def noisy(ex, level, rng):
    out = []
    for x, st in ex:
        t = np.array(st.times)
        for j in range(st.n_neurons):
            m = st.indices == j
            d = np.diff(t[m])
            t[m] += rng.normal(0, level * np.linalg.norm(d) / d.size, size=m.sum())
        out.append((x, SpikeTrains(np.clip(t, 0, 10), st.indices, st.n_neurons, 0.0, 10.0)))
    return out


def main():
    counts = [int(a) for a in sys.argv[1:]] or [4, 16, 64]
    paper = json.loads((Path(__file__).resolve().parents[2] / "shared/paper/fig2_one_layer_examples_vs_noise.json").read_text())
    nrn = Neurons(5, kappa=1.0, delta=1.0, bias=1.0)
    print(f"{'examples':>8s} {'level':>8s} {'lstsq':>9s} {'jitter':>9s} {'ineq':>9s} {'paper':>9s}")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n_ex in counts:
            rng = np.random.default_rng(0)
            W = rng.random((5, 20))
            ex = []
            for _ in range(n_ex):
                x = FourierSignals.random_paper(20, 10, 10.0, seed=rng)
                ex.append((x, encode(x, W, nrn, 10.0)))
            for k, level in enumerate(LEVELS):
                nz = noisy(ex, level, np.random.default_rng(1000 + k))
                e0 = np.linalg.norm(fit_layer(nz, nrn).weights - W)
                e1 = np.linalg.norm(fit_layer(nz, nrn, row_weights="jitter").weights - W)
                try:
                    # integrator error from jitter sigma ~ u sigma / kappa, u ~ 2 delta / ISI ~ 6 here
                    fit = fit_layer(nz, nrn, inequalities=True, n_points=4, margin=3 * 6 * level * 0.1)
                    e2 = f"{np.linalg.norm(fit.weights - W):9.1e}"
                except SolverError as exc:
                    e2 = f"{exc.status[:9]:>9s}"
                p = paper["error"][paper["rows_num_examples"].index(n_ex)][k] if n_ex in paper["rows_num_examples"] else float("nan")
                print(f"{n_ex:8d} {level:8.2e} {e0:9.1e} {e1:9.1e} {e2} {p:9.1e}", flush=True)


if __name__ == "__main__":
    main()
