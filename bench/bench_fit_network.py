"""Connectivity inference time: fit_network on a recurrent population simulated by tem_sim.Network (issue 13).

Run from the repository root: ``python bench/bench_fit_network.py [--n 1000] [--workers 2]``, or
``python bench/run.py --only fit_network`` (``--quick``: 100 neurons). Network: ``n`` perfect TEMs
(``kappa = 1, delta = 0.1``, biases ``U[2.5, 3)``), each receiving 10 % of the others through delta
synapses with weights ``U[-0.005, 0.005)`` (mixed signs, seeded), one delay 0.05 for the projection,
and 3 analog inputs (``random_paper(3, 4, 10)``, weights ``U[0, 0.5)``, learned too); run
long enough (``3.5 n / 12.5`` s, about 3.5 spikes per candidate) for every neuron to have more
equations than unknowns (all ``n - 1`` other neurons are unknowns: the fit does not know which
connections exist). A spike triggered by an arrival (the jump crosses the threshold) gives no
equation: with 1000 neurons, each neuron receiving about 50 excitatory arrivals per interval, that
is 29-56 % of a neuron's spikes (measured), so a recording of 2.2 spikes per candidate left 8 of
1000 neurons with fewer equations than unknowns. Reported: the time of
``fit_network`` (serial, or on a process pool), the largest weight error, and the simulation time
beside it (the baseline in the same run: how long producing the spikes took), and serially the
CPU time (on a shared machine the wall time depends on the load; the CPU time does not). One BLAS
thread per process.

``--jitter SIGMA [--sample K]``: the error against its Cramer-Rao bound. Every recorded spike time
gets independent Gaussian jitter of standard deviation ``SIGMA`` (seeded); ``K`` neurons drawn at
random (seeded, default 50) are fitted with the default options, each against all ``n - 1`` others
and the inputs, in two settings: ``all`` (the jittered recording is both the outputs and the
presynaptic spikes, as :func:`fit_network` would see it) and ``own`` (the neuron's own spikes
jittered, the presynaptic spikes exact: the setting the bound is for). Per neuron, the error
``||w_hat - w||_2`` over its ``n + 2`` unknowns is divided by the bound
``SIGMA sqrt(trace F^-1)``, ``F = sum_k X_k X_k' / u(t_k)^2`` over its spikes that cross the
threshold by drifting (``X_k``: the arrivals of every presynaptic neuron and the inputs' integrals
on ``(0, t_k]``, ``u``: the drive ``b + V x(t_k)`` there; a spike triggered by an arrival happens at
the arrival whatever the weights, so it carries no information), computed here from the exact
spikes independently of the library's rows. Reported: the sampled network's error over its bound
(``||W_hat - W||_F`` over the ``K`` neurons against ``sqrt(sum trace F^-1)``); median and largest
ratio, beside the 5-95 % range an efficient estimator (errors ``N(0, F^-1)``, drawn) would give for
the median and the largest of ``K`` neurons with these bounds; the root mean
square over a neuron's weights of each weight's error over its own bound (the norm ratio is
dominated by the few least determined directions, so it varies from neuron to neuron like a
chi with few degrees of freedom; this one averages all ``n + 2``); and the ratio of the fit's own
stated error bars ``sqrt(sum std_errors^2)`` to the bound.
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


def network(n: int, seed: int = 0, density: float = 0.1, spikes_per_neuron: float = 3.5):
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


def jitter(spikes: ts.SpikeTrains, sigma: float, seed: int = 1) -> ts.SpikeTrains:
    """The recording with independent Gaussian jitter ``sigma`` on every spike time (kept in the window)."""
    rng = np.random.default_rng(seed)
    t = np.clip(spikes.times + sigma * rng.standard_normal(spikes.count), 0.0, spikes.t_stop)
    return ts.SpikeTrains(t, spikes.indices, spikes.n_neurons, 0.0, spikes.t_stop)


def crb(spikes: ts.SpikeTrains, x, V: np.ndarray, nrn, j: int, sigma: float) -> np.ndarray:
    """Cramer-Rao bound of neuron ``j``'s unknowns (the ``n - 1`` other neurons, then the inputs)
    under jitter ``sigma`` of its own spike times (see the module docstring): per-weight standard
    deviations and the eigenvalues of the bound's covariance, from the exact spikes."""
    n = spikes.n_neurons
    arr = spikes.times + DELAY
    order = np.argsort(arr, kind="stable")
    arr, lab = arr[order], spikes.indices[order]
    t = spikes.neuron(j)
    near = np.abs(arr[np.clip(np.searchsorted(arr, t), 0, arr.size - 1)] - t)
    near = np.minimum(near, np.abs(arr[np.clip(np.searchsorted(arr, t) - 1, 0, arr.size - 1)] - t))
    t = t[near > 1e-9 * np.maximum(1.0, t)]             # threshold crossings by drift only
    row = np.searchsorted(t, arr, side="left")           # the first crossing at or after each arrival
    ok = row < t.size
    counts = np.bincount(row[ok] * n + lab[ok], minlength=t.size * n).reshape(t.size, n).astype(float)
    X = np.hstack([np.cumsum(counts, axis=0), x.integrate(np.zeros(t.size), t).T])
    X = np.delete(X, j, axis=1)
    u = nrn.bias[j] + V[j] @ x.sample(t)
    Xu = X / u[:, None]
    cov = sigma ** 2 * np.linalg.inv(Xu.T @ Xu)
    return np.sqrt(np.diag(cov)), np.linalg.eigvalsh(cov)


def efficient_spread(eig: list, k_draws: int = 4000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """What an efficient estimator (errors ``N(0, F^-1)``) would give: for every neuron draws of
    ``||e|| / sqrt(trace F^-1)`` (a chi with few effective degrees of freedom when a few directions
    dominate); returns the 5 and 95 % points of the median and of the largest over the neurons."""
    rng = np.random.default_rng(seed)
    ratios = np.array([np.sqrt((rng.standard_normal((k_draws, ev.size)) ** 2 @ ev) / ev.sum()) for ev in eig])
    return (np.quantile(np.median(ratios, axis=0), [0.05, 0.95]), np.quantile(ratios.max(axis=0), [0.05, 0.95]))


def measure_jitter(n: int, sigma: float, k: int, seed: int = 1) -> dict:
    """Error against the Cramer-Rao bound on ``k`` random neurons (see the module docstring)."""
    from tem_sim.constraints import CombinedInputs, SpikeInput
    from tem_sim.training import fit_layer

    W, V, x, nrn, spikes, t_sim = network(n)
    noisy = jitter(spikes, sigma, seed)
    idx = np.sort(np.random.default_rng([seed, 2]).choice(n, k, replace=False))
    mask = np.ones((k, n + 3), dtype=bool)
    mask[np.arange(k), idx] = False
    truth = np.hstack([W[idx], V[idx]])
    m = np.isin(noisy.indices, idx)
    out = ts.SpikeTrains(noisy.times[m], np.searchsorted(idx, noisy.indices[m]), k, 0.0, spikes.t_stop)
    res = dict(n=n, k=k, sigma=sigma, spikes=int(spikes.count), t_sim=t_sim)
    bounds = [crb(spikes, x, V, nrn, int(j), sigma) for j in idx]
    per_weight = [b[0] for b in bounds]
    bound = np.array([np.linalg.norm(b) for b in per_weight])
    res["median_range"], res["max_range"] = efficient_spread([b[1] for b in bounds])
    for name, pre in (("own", spikes), ("all", noisy)):
        t0 = time.process_time()
        fit = fit_layer([(CombinedInputs([SpikeInput(pre, "delta", DELAY), x]), out)], nrn.subset(idx),
                        mask=mask, chunk_size=max(1, k // 4), warn=False)
        err = [(fit.weights[q] - truth[q])[mask[q]] for q in range(k)]
        stated = np.sqrt(np.sum(np.where(mask, fit.std_errors, 0.0) ** 2, axis=1))
        res[name] = dict(ratio=np.array([np.linalg.norm(e) for e in err]) / bound, stated=stated / bound,
                         network=float(np.sqrt(sum(np.sum(e ** 2) for e in err) / np.sum(bound ** 2))),
                         rms=np.array([np.sqrt(np.mean((e / b) ** 2)) for e, b in zip(err, per_weight)]),
                         cpu=time.process_time() - t0,
                         noise=np.array([d["noise"] for d in fit.info]),
                         gls=sum(d["weighting"] == "gls" for d in fit.info), identifiable=int(fit.identifiable.sum()))
    res["bound"] = bound
    return res


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
    ap.add_argument("--jitter", type=float, default=0.0,
                    help="jitter the spike times by this standard deviation and compare the error of a random "
                         "sample of neurons (--sample, default 50) with its Cramer-Rao bound")
    args = ap.parse_args()
    if args.jitter:
        with threadpool_limits(1):
            m = measure_jitter(args.n, args.jitter, args.sample or 50)
        print(f"n={m['n']} spikes={m['spikes']} jitter {m['sigma']:.1e}: {m['k']} neurons, bound "
              f"||.||_2 median {np.median(m['bound']):.2e}; an efficient estimator's error / bound: median "
              f"{m['median_range'][0]:.2f}-{m['median_range'][1]:.2f}, max {m['max_range'][0]:.2f}-"
              f"{m['max_range'][1]:.2f} (5-95 %)", flush=True)
        for name in ("own", "all"):
            r = m[name]
            print(f"  {name:>3s}: sampled network's error / its bound {r['network']:.2f}; "
                  f"error / bound median {np.median(r['ratio']):.2f} max {r['ratio'].max():.2f} "
                  f"(quartiles {np.quantile(r['ratio'], 0.25):.2f}-{np.quantile(r['ratio'], 0.75):.2f}); "
                  f"per-weight RMS of error / bound median {np.median(r['rms']):.2f} max {r['rms'].max():.2f}; "
                  f"stated error bars / bound median {np.median(r['stated']):.2f}; noise inferred median "
                  f"{np.median(r['noise']):.2e}; gls {r['gls']}/{m['k']}; identifiable {r['identifiable']}/{m['k']}; "
                  f"fit {r['cpu']:.0f} s CPU", flush=True)
        return
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
