"""Benchmark: two-layer training (paper Figure 3) versus duration, joint method against FRI-only.

Runs the paper's Figure 3 setting (2 inputs -> 2 hidden (kappa=10, delta=1,
b=10) -> 4 outputs (kappa=delta=b=1), W1 ~ U[0,1)^{2x2}, W2 ~ U[0,1)^{4x2},
first 4 hidden spikes through PeriodicLowpass(10, 7), 2 examples per run) for
every duration and fits every run twice, on the same spikes: with the default
method (FRI start, multi-start search where FRI fails, joint fit of the hidden
spike times and W2) and with the FRI-only method (``joint=False,
search=False``: decode every drive, FRI, clustering). It reports per method
the fraction of runs whose report says success, the median W1 error (matrix
1-norm, the paper's) and W2 error (Frobenius, the paper's) after Hungarian
alignment, failed runs counting as infinite, and the median seconds per fit;
the paper's medians beside them. It also times single fits, and sweeps the
paper's spike-time noise (joint fit against its Cramer-Rao bound). BLAS is
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


METHODS = (("joint", {}), ("FRI only", {"joint": False, "search": False}))


def sweep(durations, n_runs):
    paper = json.loads(PAPER.read_text()) if PAPER.exists() else None
    print(f"\nFigure 3: {n_runs} runs per duration, both methods on the same runs: success, median W1 1-norm, "
          "median W2 Frobenius, median s per fit; paper medians last")
    print(f"{'D':>4} " + " ".join(f"{name:>36s}" for name, _ in METHODS) + f" {'paper W1, W2':>18s}")
    rows = []
    for D in durations:
        stats = {name: {"e1": [], "e2": [], "t": [], "ok": 0} for name, _ in METHODS}
        for seed in range(n_runs):
            W1, W2, xs, outs = fig3_run(seed, D)
            for name, kw in METHODS:
                t0 = time.perf_counter()
                res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=seed, warn=False, **kw)
                st = stats[name]
                st["t"].append(time.perf_counter() - t0)
                st["ok"] += res.success
                er = errors(res, W1, W2)
                st["e1"].append(er["W1_one"])
                st["e2"].append(er["W2_fro"])
        pw1 = pw2 = float("nan")
        if paper is not None and D in paper["cols_duration"]:
            c = paper["cols_duration"].index(D)
            pw1, pw2 = paper["median_W1"][c], paper["median_W2"][c]
        line = f"{D:4.0f} "
        row = {"D": D}
        for name, _ in METHODS:
            st = stats[name]
            q1, q2 = np.median(st["e1"]), np.median(st["e2"])
            line += f" {st['ok'] / n_runs:6.0%} {q1:8.1e} {q2:8.1e} {np.median(st['t']):8.3f} s"
            row[name] = {"success": st["ok"] / n_runs, "median_W1_one": float(q1), "median_W2_fro": float(q2),
                         "median_seconds": float(np.median(st["t"]))}
        print(line + f"  {pw1:8.1e} {pw2:8.1e}", flush=True)
        rows.append(row)
    return rows


def noise_sweep(levels, n_runs, D=30.0):
    from tem_sim.twolayer import cramer_rao_bound
    print(f"\nNoisy output spikes (paper's model), D = {D:g}, {n_runs} noise draws on one network: RMS W2 "
          "error (Frobenius) of the joint fit and of the FRI-only fit, the Cramer-Rao bound, success")
    rng0 = np.random.default_rng(0)
    W1, W2 = rng0.random((2, 2)), rng0.random((4, 2))
    xs = [FourierSignals.random_paper(2, 10, T, seed=rng0) for _ in range(2)]
    sims = [simulate_two_layer(x, W1, W2, HID, OUT, KERNEL, D) for x in xs]
    for level in levels:
        crb = cramer_rao_bound([h for h, _ in sims], W2, [o for _, o in sims], OUT, KERNEL, level)["W2_rms"]
        line = f"{level:8.0e}  CRB {crb:8.2e}"
        for name, kw in METHODS:
            e2, ok, t = [], 0, []
            for r in range(n_runs):
                rng = np.random.default_rng(1000 + r)
                noisy = [jitter(o, level, rng) for _, o in sims]
                t0 = time.perf_counter()
                res = fit_two_layer(xs, noisy, HID, OUT, 2, KERNEL, seed=r, warn=False, **kw)
                t.append(time.perf_counter() - t0)
                ok += res.success
                e2.append(errors(res, W1, W2)["W2_fro"])
            rms = float(np.sqrt(np.mean(np.square(e2))))
            line += f" | {name}: {rms:8.2e} ({rms / crb:7.2f}x CRB, {ok}/{n_runs} ok, {np.median(t):.2f} s)"
        print(line, flush=True)


def timings(n_rep):
    print(f"\nTimings (median of {n_rep}, one BLAS thread)")
    for D in (34.0, 16.0):
        W1, W2, xs, outs = fig3_run(0, D)
        for name, kw in METHODS:
            t = _median_time(lambda: fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0, warn=False, **kw), n_rep)
            res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0, warn=False, **kw)
            er = errors(res, W1, W2)
            print(f"  two-layer 2-2-4, D = {D:g}, {name:9s} {t * 1e3:8.1f} ms  success={res.success} "
                  f"stage={res.report.stage} W2_fro={er['W2_fro']:.1e}")
    # one-layer fits of the same sizes, from the true hidden / output spikes
    W1, W2, xs, outs = fig3_run(0, 34.0)
    hid_sp = [simulate_two_layer(x, W1, W2, HID, OUT, KERNEL, 34.0)[0] for x in xs]
    from tem_sim.twolayer import hidden_drive
    ex1 = list(zip(xs, hid_sp))
    ex2 = [(hidden_drive(h, PeriodicLowpass(T, 7)), o) for h, o in zip(hid_sp, outs)]
    for label, ex, nrn in (("one-layer 2->2 (layer 1, known hidden spikes)", ex1, HID),
                           ("one-layer 2->4 (layer 2, known hidden spikes)", ex2, OUT)):
        print(f"  {label:45s} {_median_time(lambda: fit_layer(ex, nrn), n_rep) * 1e3:8.2f} ms")
    # larger network
    rng = np.random.default_rng(1)
    hid = Neurons(4, kappa=10.0, delta=1.0, bias=[10.0, 13.0, 8.0, 11.5])
    out = Neurons(8, kappa=1.0, delta=1.0, bias=1.0)
    kernel = PeriodicLowpass(T, 9, first=3)
    V1, V2 = rng.random((4, 3)), rng.random((8, 4))
    xs3 = [FourierSignals.random_paper(3, 10, T, seed=rng) for _ in range(3)]
    outs3 = [simulate_two_layer(x, V1, V2, hid, out, kernel, 40.0)[1] for x in xs3]
    for name, kw in METHODS:
        t = _median_time(lambda: fit_two_layer(xs3, outs3, hid, out, 4, kernel, seed=0, warn=False, **kw), n_rep)
        res = fit_two_layer(xs3, outs3, hid, out, 4, kernel, seed=0, warn=False, **kw)
        er = errors(res, V1, V2)
        print(f"  two-layer 3-4-8 (3 examples), {name:9s}     {t * 1e3:8.1f} ms  success={res.success} "
              f"W1_fro={er['W1_fro']:.1e} W2_fro={er['W2_fro']:.1e}")


def _median_time(f, n_rep):
    t = []
    for _ in range(n_rep):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return float(np.median(t))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 runs per duration, fewer durations")
    ap.add_argument("--runs", type=int, default=None, help="runs per duration (default 50, quick 8)")
    ap.add_argument("--no-noise", action="store_true", help="skip the noisy-spike sweep")
    args = ap.parse_args(argv)
    n_runs = args.runs or (8 if args.quick else 50)
    durations = [12, 16, 20, 24, 28, 34] if args.quick else list(range(10, 40, 2))
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        timings(3 if args.quick else 10)
        sweep(durations, n_runs)
        if not args.no_noise:
            noise_sweep([1e-6, 1e-5, 1e-4, 1e-3], 4 if args.quick else 20)


def run(quick: bool, peers: bool) -> list[dict]:
    """Rows for bench/run.py: seconds per two-layer fit, the joint method against the FRI-only method
    on the same runs (Figure 3 setting; at D = 16 only the joint method succeeds)."""
    n_runs = 3 if quick else 10
    rows = []
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        for D in (34.0, 16.0):
            t = {name: [] for name, _ in METHODS}
            ok = {name: 0 for name, _ in METHODS}
            err = {name: [] for name, _ in METHODS}
            for seed in range(n_runs):
                W1, W2, xs, outs = fig3_run(seed, D)
                for name, kw in METHODS:
                    t0 = time.perf_counter()
                    res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=seed, warn=False, **kw)
                    t[name].append(time.perf_counter() - t0)
                    ok[name] += res.success
                    err[name].append(errors(res, W1, W2)["W2_fro"])
            tj, tf = float(np.median(t["joint"])), float(np.median(t["FRI only"]))
            rows.append({"benchmark": f"two-layer fit 2-2-4 (Fig. 3, D={D:g}), joint", "unit": "s/fit",
                         "tem_sim": tj, "baseline_name": "FRI-only fit, same runs", "baseline": tf,
                         "ratio": tf / tj,
                         "notes": f"{n_runs} runs; success joint {ok['joint']}/{n_runs}, FRI only "
                                  f"{ok['FRI only']}/{n_runs}; median W2 error joint "
                                  f"{np.median(err['joint']):.1e}, FRI only {np.median(err['FRI only']):.1e}; "
                                  "ratio < 1: the joint fit's extra cost"})
    return rows


if __name__ == "__main__":
    main()
