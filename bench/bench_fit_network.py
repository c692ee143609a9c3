"""Connectivity inference time: fit_network on a recurrent population simulated by tem_sim.Network (issue 13).

Run from the repository root: ``python bench/bench_fit_network.py [--n 1000] [--workers 2]``, or
``python bench/run.py --only fit_network`` (``--quick``: 100 neurons). Network: ``n`` perfect TEMs
(``kappa = 1, delta = 0.1``, biases ``U[2.5, 3)``), each receiving 10 % of the others through delta
synapses with weights ``U[-0.005, 0.005)`` (mixed signs, seeded), one delay 0.05 for the projection,
and 3 analog inputs (``random_paper(3, 4, 10)``, weights ``U[0, 0.5)``, learned too); run
long enough for every neuron to emit more spikes than it has presynaptic candidates (all ``n - 1``
other neurons are unknowns: the fit does not know which connections exist). Reported: the time of
``fit_network`` (serial, or on a process pool), the largest weight error, and the simulation time
beside it (the baseline in the same run: how long producing the spikes took), and serially the
CPU time (on a shared machine the wall time depends on the load; the CPU time does not). One BLAS
thread per process.
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tem_sim as ts  # noqa: E402
from tem_sim.connectivity import fit_network  # noqa: E402

try:
    from common import row  # noqa: E402
except ImportError:  # pragma: no cover
    from bench.common import row  # noqa: E402

DELAY = 0.05


def network(n: int, seed: int = 0, density: float = 0.1, spikes_per_neuron: float = 2.2):
    """The recurrent population, its weights and its spikes (see the module docstring)."""
    rng = np.random.default_rng(seed)
    W = sp.random(n, n, density=density, random_state=seed, data_rvs=lambda k: rng.uniform(-0.005, 0.005, k),
                  format="csr")
    W.setdiag(0.0)
    W.eliminate_zeros()
    nrn = ts.Neurons(n, kappa=1.0, delta=0.1, bias=rng.uniform(2.5, 3.0, n))
    net = ts.Network()
    net.add_population("p", nrn)
    net.connect("p", "p", W, delay=DELAY)
    V = rng.uniform(0.0, 0.5, (n, 3))                 # irregular firing: each neuron its own analog drive
    net.connect_input("x", "p", V)
    x = ts.FourierSignals.random_paper(3, 4, 10.0, seed=rng)
    t_end = spikes_per_neuron * n / 12.5         # slowest rate about 2.5 / (2 delta) = 12.5
    t0 = time.perf_counter()
    out = net.run(t_end, {"x": x}, max_spikes=10 ** 9)["p"]
    return W.toarray(), V, x, nrn, out, time.perf_counter() - t0


def measure_sample(n: int, k: int) -> dict:
    """Fit the first ``k`` neurons of the ``n``-neuron population only (each against all ``n - 1``
    others and the inputs, exactly as :func:`fit_network` does), serially: CPU time per neuron."""
    from tem_sim.constraints import CombinedInputs, SpikeInput
    from tem_sim.training import fit_layer

    W, V, x, nrn, spikes, t_sim = network(n)
    idx = np.arange(k)
    m = spikes.indices < k
    out = ts.SpikeTrains(spikes.times[m], spikes.indices[m], k, 0.0, spikes.t_stop)
    mask = np.ones((k, n + 3), dtype=bool)
    mask[idx, idx] = False
    t0, c0 = time.perf_counter(), time.process_time()
    fit = fit_layer([(CombinedInputs([SpikeInput(spikes, "delta", DELAY), x]), out)], nrn.subset(idx),
                    mask=mask, chunk_size=max(1, k // 4), warn=False)
    t_fit, cpu = time.perf_counter() - t0, time.process_time() - c0
    ok = fit.identifiable
    return dict(n=n, k=k, spikes=int(spikes.count), min_spikes=int(spikes.counts().min()), t_sim=t_sim,
                t_fit=t_fit, cpu=cpu, identifiable=int(ok.sum()),
                error_identifiable=float(np.abs(fit.weights[:, :n] - W[idx])[ok].max(initial=0.0)),
                input_error=float(np.abs(fit.weights[:, n:] - V[idx])[ok].max(initial=0.0)))


def measure(n: int, workers: int) -> dict:
    W, V, x, nrn, spikes, t_sim = network(n)
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        res = fit_network(spikes, nrn, external_inputs=x, delay=DELAY, executor=pool, chunk_size=max(1, n // 50),
                          warn=False)
        t_fit, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        if pool is not None:
            pool.shutdown()
    if pool is not None:
        cpu = float("nan")                     # the workers' CPU time is not this process's
    return dict(n=n, spikes=int(spikes.count), min_spikes=int(spikes.counts().min()), t_sim=t_sim, t_fit=t_fit, cpu=cpu,
                error=float(np.abs(res.recurrent - W).max()),
                input_error=float(np.abs(res.input_weights - V).max()),
                error_identifiable=float(np.abs(res.recurrent - W)[res.fit.identifiable].max(initial=0.0)), identifiable=int(res.fit.identifiable.sum()))


def run(quick: bool = False, peers: bool = False) -> list[dict]:
    n = 100 if quick else 300
    with threadpool_limits(1):
        m = measure(n, 1)
    return [row(f"fit_network {n} neurons (all {n - 1} others unknown)", "s", m["t_fit"], "Network.run (simulation)",
                m["t_sim"], m["t_sim"] / m["t_fit"],
                f"{m['spikes']} spikes (>= {m['min_spikes']} per neuron); max |error| {m['error']:.1e} "
                f"({m['error_identifiable']:.1e} on identifiable neurons); "
                f"{m['identifiable']}/{n} identifiable; serial")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--sample", type=int, default=0,
                    help="fit only this many neurons (serially) and scale their CPU time to the population")
    args = ap.parse_args()
    if args.sample:
        with threadpool_limits(1):
            m = measure_sample(args.n, args.sample)
        print(f"n={m['n']} spikes={m['spikes']} (min per neuron {m['min_spikes']}) simulate {m['t_sim']:.1f} s; "
              f"fit of {m['k']} neurons: {m['t_fit']:.1f} s wall, {m['cpu']:.1f} s CPU -> {m['n']} neurons "
              f"{m['cpu'] * m['n'] / m['k']:.0f} s CPU; identifiable {m['identifiable']}/{m['k']}, max |error| "
              f"{m['error_identifiable']:.2e} (input weights {m['input_error']:.2e}) on those", flush=True)
        return
    with threadpool_limits(1):
        m = measure(args.n, args.workers)
    print(f"n={m['n']} spikes={m['spikes']} (min per neuron {m['min_spikes']}) simulate {m['t_sim']:.1f} s "
          f"fit_network {m['t_fit']:.1f} s wall ({m['cpu']:.1f} s CPU) on {args.workers} worker(s); "
          f"max |error| {m['error']:.2e} "
          f"(input weights {m['input_error']:.2e}; identifiable neurons {m['error_identifiable']:.2e}); "
          f"identifiable {m['identifiable']}/{m['n']}", flush=True)


if __name__ == "__main__":
    main()
