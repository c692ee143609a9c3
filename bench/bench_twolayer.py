"""Benchmark: two-layer training (paper Figure 3) versus duration, and fit timings.

Runs the paper's Figure 3 setting (2 inputs -> 2 hidden (kappa=10, delta=1,
b=10) -> 4 outputs (kappa=delta=b=1), W1 ~ U[0,1)^{2x2}, W2 ~ U[0,1)^{4x2},
first 4 hidden spikes through PeriodicLowpass(10, 7), 2 examples per run) for
every duration, reports the median and quartiles of the W1 error (matrix
1-norm, the paper's, and Frobenius) and of the W2 error (Frobenius, the
paper's, and 1-norm) after Hungarian alignment, the fraction of runs whose
report says success, and the paper's medians beside them. Failed runs count
as infinite error. It also times one two-layer fit beside a one-layer fit of
the same layer sizes, a 3-4-8 network, and the noisy-spike sweep. BLAS is
pinned to one thread.

Usage::

    python bench/bench_twolayer.py            # 50 runs per duration (paper)
    python bench/bench_twolayer.py --quick    # 8 runs per duration, fewer durations
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tem_sim import FourierSignals, Neurons, PeriodicLowpass, SpikeTrains  # noqa: E402
from tem_sim.exceptions import IdentifiabilityWarning  # noqa: E402
from tem_sim.training import fit_layer  # noqa: E402
from tem_sim.twolayer import align_to_truth, fit_two_layer, simulate_two_layer  # noqa: E402

T = 10.0
HID = Neurons(2, kappa=10.0, delta=1.0, bias=10.0)
OUT = Neurons(4, kappa=1.0, delta=1.0, bias=1.0)
KERNEL = PeriodicLowpass(T, 7, first=4)
PAPER = pathlib.Path(__file__).resolve().parents[2] / "shared" / "paper" / "fig3_two_layers_vs_duration.json"


def fig3_run(seed: int, D: float):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.random((2, 2)), rng.random((4, 2))
    xs = [FourierSignals.random_paper(2, 10, T, seed=rng) for _ in range(2)]
    outs = [simulate_two_layer(x, W1, W2, HID, OUT, KERNEL, D)[1] for x in xs]
    return W1, W2, xs, outs


def jitter(st: SpikeTrains, level: float, rng: np.random.Generator) -> SpikeTrains:
    times, idx = [], []
    for j in range(st.n_neurons):
        t = st.neuron(j)
        d = np.diff(t)
        sd = level * np.linalg.norm(d) / max(len(d), 1)
        times.append(np.sort(np.clip(t + sd * rng.standard_normal(t.size), 0.0, st.t_stop)))
        idx.append(np.full(t.size, j))
    return SpikeTrains(np.concatenate(times), np.concatenate(idx), st.n_neurons, 0.0, st.t_stop)


def errors(res, W1, W2):
    if np.all(np.isfinite(res.W1)) and np.all(np.isfinite(res.W2)):
        return align_to_truth(res, W1, W2).errors
    return {k: np.inf for k in ("W1_one", "W1_fro", "W2_fro", "W2_one")}


def sweep(durations, n_runs, **kw):
    paper = json.loads(PAPER.read_text()) if PAPER.exists() else None
    print(f"\nFigure 3: {n_runs} runs per duration (median [q25, q75]); paper medians in parentheses")
    print(f"{'D':>4} {'success':>8}  {'W1 1-norm':>30} {'W1 fro':>9}  {'W2 fro':>30} {'W2 1-norm':>9}")
    rows = []
    for D in durations:
        errs, succ = [], 0
        for seed in range(n_runs):
            W1, W2, xs, outs = fig3_run(seed, D)
            res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=seed, warn=False, **kw)
            succ += res.success
            errs.append(errors(res, W1, W2))
        e = {k: np.array([x[k] for x in errs]) for k in errs[0]}
        q = {k: np.quantile(v, [0.25, 0.5, 0.75], method="inverted_cdf") for k, v in e.items()}
        pw1 = pw2 = float("nan")
        if paper is not None and D in paper["cols_duration"]:
            c = paper["cols_duration"].index(D)
            pw1, pw2 = paper["median_W1"][c], paper["median_W2"][c]
        print(f"{D:4.0f} {succ / n_runs:8.2f}  {q['W1_one'][1]:8.1e} [{q['W1_one'][0]:7.1e},{q['W1_one'][2]:7.1e}]"
              f" ({pw1:7.1e}) {q['W1_fro'][1]:9.1e}  {q['W2_fro'][1]:8.1e} [{q['W2_fro'][0]:7.1e},"
              f"{q['W2_fro'][2]:7.1e}] ({pw2:7.1e}) {q['W2_one'][1]:9.1e}")
        rows.append(dict(D=D, success=succ / n_runs, **{f"median_{k}": float(v[1]) for k, v in q.items()}))
    return rows


def noise_sweep(levels, n_runs, D=34.0):
    print(f"\nNoisy output spikes (paper's model), D = {D:g}, K = 8 given, {n_runs} runs: median W2 fro / W1 1-norm, success")
    for level in levels:
        line = f"{level:8.0e}"
        for method, refine in (("annihilating", False), ("esprit", False), ("esprit", True)):
            e1, e2, s = [], [], 0
            for seed in range(n_runs):
                W1, W2, xs, outs = fig3_run(seed, D)
                rng = np.random.default_rng(1000 + seed)
                noisy = [jitter(o, level, rng) for o in outs]
                res = fit_two_layer(xs, noisy, HID, OUT, 2, KERNEL, seed=seed, method=method, n_diracs=8,
                                    refine_locations=refine, refine_hidden=refine, warn=False)
                s += res.success
                er = errors(res, W1, W2)
                e1.append(er["W1_one"])
                e2.append(er["W2_fro"])
            tag = method + ("+refine" if refine else "")
            line += f" | {tag}: {np.median(e2):8.1e} / {np.median(e1):8.1e} ({s}/{n_runs})"
        print(line)


def timings(n_rep):
    print(f"\nTimings (median of {n_rep}, one BLAS thread)")
    W1, W2, xs, outs = fig3_run(0, 34.0)
    for label, kw in (("two-layer 2-2-4, default (refine_hidden)", {}),
                      ("two-layer 2-2-4, refine_hidden=False", {"refine_hidden": False})):
        t = []
        for _ in range(n_rep):
            t0 = time.perf_counter()
            fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0, **kw)
            t.append(time.perf_counter() - t0)
        print(f"  {label:45s} {np.median(t) * 1e3:8.2f} ms")
    # one-layer fits of the same sizes, from the true hidden / output spikes
    hid_sp = [simulate_two_layer(x, W1, W2, HID, OUT, KERNEL, 34.0)[0] for x in xs]
    from tem_sim.twolayer import hidden_drive
    ex1 = list(zip(xs, hid_sp))
    ex2 = [(hidden_drive(h, PeriodicLowpass(T, 7)), o) for h, o in zip(hid_sp, outs)]
    for label, ex, nrn in (("one-layer 2->2 (layer 1, known hidden spikes)", ex1, HID),
                           ("one-layer 2->4 (layer 2, known hidden spikes)", ex2, OUT)):
        t = []
        for _ in range(n_rep):
            t0 = time.perf_counter()
            fit_layer(ex, nrn)
            t.append(time.perf_counter() - t0)
        print(f"  {label:45s} {np.median(t) * 1e3:8.2f} ms")
    # larger network
    rng = np.random.default_rng(1)
    hid = Neurons(4, kappa=10.0, delta=1.0, bias=[10.0, 13.0, 8.0, 11.5])
    out = Neurons(8, kappa=1.0, delta=1.0, bias=1.0)
    kernel = PeriodicLowpass(T, 9, first=3)
    V1, V2 = rng.random((4, 3)), rng.random((8, 4))
    xs3 = [FourierSignals.random_paper(3, 10, T, seed=rng) for _ in range(3)]
    sims = [simulate_two_layer(x, V1, V2, hid, out, kernel, 40.0) for x in xs3]
    outs3 = [o for _, o in sims]
    t = []
    for _ in range(n_rep):
        t0 = time.perf_counter()
        res = fit_two_layer(xs3, outs3, hid, out, 4, kernel, seed=0)
        t.append(time.perf_counter() - t0)
    er = align_to_truth(res, V1, V2).errors
    print(f"  {'two-layer 3-4-8 (3 examples)':45s} {np.median(t) * 1e3:8.2f} ms   "
          f"success={res.success} W1_fro={er['W1_fro']:.1e} W2_fro={er['W2_fro']:.1e}")
    ex = [(x, h) for x, (h, _) in zip(xs3, sims)]
    t = []
    for _ in range(n_rep):
        t0 = time.perf_counter()
        fit_layer(ex, hid)
        t.append(time.perf_counter() - t0)
    print(f"  {'one-layer 3->4 (known hidden spikes)':45s} {np.median(t) * 1e3:8.2f} ms")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 runs per duration, fewer durations")
    ap.add_argument("--runs", type=int, default=None, help="runs per duration (default 50, quick 8)")
    ap.add_argument("--no-noise", action="store_true", help="skip the noisy-spike sweep")
    args = ap.parse_args(argv)
    n_runs = args.runs or (8 if args.quick else 50)
    durations = [20, 24, 26, 28, 32, 38] if args.quick else list(range(10, 40, 2))
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        timings(3 if args.quick else 10)
        sweep(durations, n_runs)
        if not args.no_noise:
            noise_sweep([1e-7, 1e-6, 1e-5, 1e-4, 1e-3], 4 if args.quick else 20)


if __name__ == "__main__":
    main()


def _median_time(f, n_rep):
    t = []
    for _ in range(n_rep):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return float(np.median(t))


def run(quick: bool, peers: bool) -> list[dict]:
    """Rows for bench/run.py: a two-layer fit beside one-layer fits of the same layer sizes."""
    n_rep = 3 if quick else 10
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        W1, W2, xs, outs = fig3_run(0, 34.0)
        t2 = _median_time(lambda: fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0), n_rep)
        res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0)
        er = align_to_truth(res, W1, W2).errors
        from tem_sim.twolayer import hidden_drive
        hid_sp = [simulate_two_layer(x, W1, W2, HID, OUT, KERNEL, 34.0)[0] for x in xs]
        ex2 = [(hidden_drive(h, PeriodicLowpass(T, 7)), o) for h, o in zip(hid_sp, outs)]
        t1 = _median_time(lambda: fit_layer(ex2, OUT), n_rep)
    return [{"benchmark": "fit two-layer 2-2-4 (Fig. 3, D=34)", "unit": "s", "tem_sim": t2,
             "baseline_name": "one-layer 2->4 fit, known hidden spikes", "baseline": t1, "ratio": t1 / t2,
             "notes": f"two-layer errors W1={er['W1_fro']:.1e} W2={er['W2_fro']:.1e} (Frobenius); "
                      "ratio < 1: the cost of recovering the hidden spikes"}]
