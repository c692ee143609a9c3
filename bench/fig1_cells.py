"""Figure 1 cells: weight error ||W_hat - W||_F of fit_layer with exact engine spikes.

Run from the repository root: ``python bench/fig1_cells.py [n_seeds]``. Prints,
for the cells (examples, duration) = (3, 10), (5, 5), (5, 10), (9, 14), the
error and the largest per-neuron condition number for seeds 0..n_seeds-1,
next to the paper's cell and the reference value measured with plain least
squares (paper-experiments.md). One BLAS thread.
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tem_sim import FourierSignals, Neurons, encode  # noqa: E402
from tem_sim.training import fit_layer  # noqa: E402

REFERENCE = {(3, 10): 1.6e-7, (5, 5): 3.7e-10, (5, 10): 1.6e-12, (9, 14): 1.5e-13}


def cell(n_examples, duration, seed, method="auto"):
    rng = np.random.default_rng(seed)
    W = rng.random((5, 20))
    nrn = Neurons(5, kappa=1.0, delta=1.0, bias=1.0)
    ex = []
    for _ in range(n_examples):
        x = FourierSignals.random_paper(20, 10, 10.0, seed=rng)
        ex.append((x, encode(x, W, nrn, float(duration))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_layer(ex, nrn, method=method)
    return float(np.linalg.norm(fit.weights - W)), float(fit.condition.max()), bool(fit.identifiable.all())


def main():
    n_seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    paper = json.loads((Path(__file__).resolve().parents[2] / "shared/paper/fig1_one_layer_examples_vs_duration.json").read_text())
    with threadpool_limits(1):
        for (ne, D), ref in REFERENCE.items():
            p = paper["error"][ne - 1][D - 1]
            res = [cell(ne, D, s) for s in range(n_seeds)]
            errs = [r[0] for r in res]
            print(f"examples={ne} D={D:2d}  errors(seeds 0..{n_seeds - 1}) = "
                  + " ".join(f"{e:.1e}" for e in errs)
                  + f"  median={np.median(errs):.1e}  max cond={max(r[1] for r in res):.1e}"
                  + f"  identifiable={all(r[2] for r in res)}  paper={p:.1e}  ref lstsq={ref:.1e}")


if __name__ == "__main__":
    main()
