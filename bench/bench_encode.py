"""Encoding throughput: ``tem_sim.encode`` against a Python + ``brentq`` baseline (issue 2).

Two layers, both driven by the paper's inputs (20 Fourier-series signals,
10 components, period 10, ``c_m ~ U[0,1)``), weights ``U[0,1)``, and
``kappa = delta = bias = 1``, ``v0 = -delta``:

* the paper's layer: 5 outputs, duration 1000;
* a wide layer: 1000 outputs (shorter duration, the same drive statistics).

tem_sim runs the full duration (median of several warm calls; the first call
in the process is reported as cold). The baseline (``baselines.encode_brentq``:
closed-form integral with NumPy, a provably safe bracketing scan, then
``scipy.optimize.brentq`` per spike) is too slow for the full duration, so it
runs a prefix of it; throughputs (spikes/s) are compared, and on that prefix
both spike sets are compared spike by spike. Each row's ratio is
``tem_sim / baseline`` (higher is better for tem_sim).

A second check needs no baseline: the E1 residual, ``max |(1/kappa) int u -
2 delta|`` over every consecutive pair of tem_sim's spikes, computed with
``FourierSignals.integrate`` (independent of the engine's arithmetic).
"""
from __future__ import annotations

import time

import numpy as np

import tem_sim
from baselines import encode_brentq
from common import median_time, row

N_IN, N_COMP, PERIOD = 20, 10, 10.0
KAPPA = DELTA = BIAS = 1.0
SEED_SIGNALS, SEED_WEIGHTS = 2024, 7


def _setup(n_out: int):
    sig = tem_sim.FourierSignals.random_paper(N_IN, N_COMP, PERIOD, seed=SEED_SIGNALS)
    W = np.random.default_rng([SEED_WEIGHTS, n_out]).random((n_out, N_IN))
    nrn = tem_sim.Neurons(n_out, kappa=KAPPA, delta=DELTA, bias=BIAS)
    return sig, W, nrn


def _e1_residual(sig, W, st) -> float:
    """max over consecutive spike pairs of |(1/kappa) int_{t_k}^{t_{k+1}} u - 2 delta| (and E0)."""
    drive = sig.mix(W)
    worst = 0.0
    for j in range(st.n_neurons):
        tr = st.neuron(j)
        if tr.size == 0:
            continue
        a = np.concatenate([[0.0], tr[:-1]])
        integ = drive.integrate(a, tr)[j] + BIAS * (tr - a)
        target = np.full(tr.size, 2.0 * KAPPA * DELTA)
        target[0] = KAPPA * (DELTA - (-DELTA))
        worst = max(worst, float(np.max(np.abs(integ / KAPPA - target))))
    return worst


def _compare(st, base, t_stop) -> tuple[float, int]:
    """(max |dt| over matched spikes, number of neurons whose counts differ) on [0, t_stop]."""
    worst, mismatched = 0.0, 0
    for j, bt in enumerate(base["trains"]):
        tt = st.neuron(j)
        tt = tt[tt <= t_stop]
        if tt.size != bt.size:
            mismatched += 1
        n = min(tt.size, bt.size)
        if n:
            worst = max(worst, float(np.max(np.abs(tt[:n] - bt[:n]))))
    return worst, mismatched


def _one(name: str, n_out: int, t_end: float, t_base: float, repeats: int) -> list[dict]:
    sig, W, nrn = _setup(n_out)
    t0 = time.perf_counter()
    st = tem_sim.encode(sig, W, nrn, t_end)
    cold = time.perf_counter() - t0
    wall, walls = median_time(lambda: tem_sim.encode(sig, W, nrn, t_end), repeats)
    again = tem_sim.encode(sig, W, nrn, t_end)
    identical = again == st
    rate = st.count / wall

    t0 = time.perf_counter()
    base = encode_brentq(sig, W, KAPPA, DELTA, BIAS, t_base)
    bwall = time.perf_counter() - t0
    brate = base["count"] / bwall
    worst, mismatched = _compare(st, base, t_base)
    e1 = _e1_residual(sig, W, st)

    label = f"encode {N_IN}->{n_out}, M={N_COMP - 1}, T={PERIOD:g}"
    rows = [
        row(f"{label}: throughput", "spikes/s", rate, "python+brentq", brate, rate / brate,
            f"{name}: tem_sim {st.count} spikes over t_end={t_end:g} in {wall * 1e3:.1f} ms "
            f"(median of {len(walls)} warm; cold first call {cold * 1e3:.1f} ms); baseline "
            f"{base['count']} spikes over t_end={t_base:g} in {bwall:.2f} s "
            f"({base['evaluations'] / max(base['count'], 1):.1f} evaluations/spike); "
            f"repeat bit-identical: {identical}"),
        row(f"{label}: max |t - t_brentq|", "time", worst, "python+brentq", None, None,
            f"spike by spike on [0, {t_base:g}] ({base['count']} baseline spikes); neurons with "
            f"different counts: {mismatched}"),
        row(f"{label}: E1 residual", "2*delta units", e1, None, None, None,
            "max |(1/kappa) int u - 2 delta| over all consecutive tem_sim spike pairs (and E0), "
            "from FourierSignals.integrate"),
    ]
    return rows


def run(quick: bool, peers: bool) -> list[dict]:
    """Rows for the runner; ``peers`` is unused (the baseline always runs)."""
    if quick:
        return (_one("paper layer", 5, 1000.0, 100.0, 5)
                + _one("wide layer", 1000, 20.0, 0.5, 3))
    return (_one("paper layer", 5, 1000.0, 1000.0, 9)
            + _one("wide layer", 1000, 100.0, 3.0, 5))
