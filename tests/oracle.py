"""Independent reference computations for the tests.

Nothing here calls the compiled engine: integrator trajectories come from
closed forms written directly in NumPy (perfect integrator: the Fourier
antiderivative; leaky: the convolution of each harmonic with the leak), so the
engine is checked against a second implementation of the mathematics.
"""
from __future__ import annotations

import numpy as np


def fourier_terms(coef_row: np.ndarray, period: float):
    M = coef_row.size // 2
    m = np.arange(-M, M + 1)
    w = 2 * np.pi * m / period
    return m, w, coef_row


def perfect_v(coef_row, period, bias, kappa, t0, v_at_t0, t):
    """v(t) for t >= t0 of a perfect integrator with no spike in (t0, t]."""
    m, w, c = fourier_terms(coef_row, period)
    t = np.asarray(t, dtype=float)
    h = t - t0
    integral = (c[m == 0].real[0] + bias) * h
    nz = m != 0
    # int_{t0}^{t} e^{iws} ds = (e^{iwt} - e^{iwt0}) / (iw)
    e = (np.exp(1j * np.outer(t, w[nz])) - np.exp(1j * w[nz] * t0)) / (1j * w[nz])
    integral = integral + (e @ c[nz]).real
    return v_at_t0 + integral / kappa


def leaky_v(coef_row, period, bias, kappa, tau, t0, v_at_t0, t):
    """v(t) for t >= t0 of a leaky integrator dv/dt = -v/tau + u/kappa with no spike in (t0, t]."""
    m, w, c = fourier_terms(coef_row, period)
    t = np.asarray(t, dtype=float)
    h = t - t0
    decay = np.exp(-h / tau)
    cc = c.copy()
    cc[m == 0] += bias
    # int_{t0}^{t} e^{-(t-s)/tau} e^{iws} ds = (e^{iwt} - e^{iwt0} e^{-h/tau}) / (1/tau + iw)
    num = np.exp(1j * np.outer(t, w)) - np.exp(1j * w * t0)[None, :] * decay[:, None]
    conv = (num / (1 / tau + 1j * w)) @ cc
    return v_at_t0 * decay + conv.real / kappa


def trajectory(coef_row, period, bias, kappa, delta, v0, tau, spikes, t_end, n_per_unit=2000,
               v_reset=None, t_ref=0.0):
    """Dense samples of v(t) on every inter-spike interval, before each reset.

    Returns a list of (t_grid, v_grid) pieces: (0, t_1], (t_1 + t_ref, t_2], ..., (t_last + t_ref,
    t_end]; after a spike ``v`` restarts from ``v_reset`` (default ``-delta``) once the refractory
    period ``t_ref`` is over.
    """
    edges = np.concatenate([[0.0], np.asarray(spikes, dtype=float), [t_end]])
    pieces = []
    for k in range(edges.size - 1):
        a, b = edges[k], edges[k + 1]
        if k > 0:
            a = a + t_ref
        if b <= a:
            continue
        n = max(8, int(np.ceil((b - a) * n_per_unit)))
        tg = np.linspace(a, b, n + 1)[1:]
        v_start = v0 if k == 0 else (-delta if v_reset is None else v_reset)
        if np.isinf(tau):
            vg = perfect_v(coef_row, period, bias, kappa, a, v_start, tg)
        else:
            vg = leaky_v(coef_row, period, bias, kappa, tau, a, v_start, tg)
        pieces.append((tg, vg))
    return pieces


def reference_network(pops, projections, t_end, grid=4001):
    """A slow, independent per-event simulation of IF neurons with constant bias.

    ``pops``: list of dicts (n, kappa, delta, bias, v0, optional tau: a leak, default none) --
    scalars per population (bias may be per neuron).
    ``projections``: list of (pre, post, W (n_post, n_pre) dense, delay, kind, tau_s) with kind
    "delta" or "exp". Crossings are found by scanning the closed-form integrator on a fine grid up
    to the next arrival and refining with brentq; arrivals are processed before crossings at ties.
    Returns a list (per population) of lists (per neuron) of spike times.
    """
    import heapq

    from scipy.optimize import brentq

    offs = np.cumsum([0] + [p["n"] for p in pops])
    N = int(offs[-1])
    kappa = np.concatenate([np.full(p["n"], p["kappa"], float) for p in pops])
    delta = np.concatenate([np.full(p["n"], p["delta"], float) for p in pops])
    bias = np.concatenate([np.full(p["n"], p["bias"], float) if np.ndim(p["bias"]) == 0 else np.asarray(p["bias"], float)
                           for p in pops])
    v = np.concatenate([np.full(p["n"], p.get("v0", -p["delta"]), float) for p in pops])
    tau = np.concatenate([np.full(p["n"], p.get("tau", np.inf), float) for p in pops])
    tl = np.zeros(N)
    taus = sorted({pr[5] for pr in projections if pr[4] == "exp"})
    I = np.zeros((N, len(taus)))
    spikes = [[] for _ in range(N)]
    queue = []
    seq = 0

    def v_at(j, t):
        h = t - tl[j]
        if np.isinf(tau[j]):
            out = v[j] + bias[j] * h / kappa[j]
            for c, ts_ in enumerate(taus):
                out = out + I[j, c] * ts_ * (1 - np.exp(-h / ts_)) / kappa[j]
            return out
        # leaky: v' = -v / tau + (bias + sum_c I_c exp(-(t - tl) / ts_c)) / kappa, in closed form
        lam = 1.0 / tau[j]
        out = v[j] * np.exp(-lam * h) + bias[j] * tau[j] * (1 - np.exp(-lam * h)) / kappa[j]
        for c, ts_ in enumerate(taus):
            mu = 1.0 / ts_
            out = out + I[j, c] * (np.exp(-mu * h) - np.exp(-lam * h)) / (lam - mu) / kappa[j]
        return out

    def advance(j, t):
        h = t - tl[j]
        v[j] = v_at(j, t)
        for c, ts_ in enumerate(taus):
            I[j, c] *= np.exp(-h / ts_)
        tl[j] = t

    def fire(j, t):
        nonlocal seq
        spikes[j].append(t)
        for pi, (pre, post, W, d, kind, ts_) in enumerate(projections):
            if offs[pre] <= j < offs[pre + 1]:
                heapq.heappush(queue, (t + d, pi, seq, j))
                seq += 1

    now = 0.0
    while True:
        ta = queue[0][0] if queue else np.inf
        horizon = min(ta, t_end)
        best_t, best_j = np.inf, -1
        for j in range(N):
            tg = np.linspace(now, horizon, grid)
            g = v_at(j, tg) - delta[j]
            above = np.flatnonzero(g >= 0)
            if above.size:
                k = above[0]
                tc = tg[0] if k == 0 else brentq(lambda s: v_at(j, s) - delta[j], tg[k - 1], tg[k],
                                                 xtol=1e-15, rtol=1e-15)
                if tc < best_t:
                    best_t, best_j = tc, j
        if best_j >= 0 and best_t < ta:
            advance(best_j, best_t)
            v[best_j] = -delta[best_j]
            now = best_t
            fire(best_j, best_t)
            continue
        if ta > t_end:
            break
        ta, pi, _, src = heapq.heappop(queue)
        now = ta
        pre, post, W, d, kind, ts_ = projections[pi]
        col = src - offs[pre]
        for r in np.flatnonzero(W[:, col]):
            j = offs[post] + r
            advance(j, ta)
            if kind == "delta":
                v[j] += W[r, col] / kappa[j]
                while v[j] >= delta[j]:
                    fire(j, ta)
                    v[j] -= 2 * delta[j]
            else:
                I[j, taus.index(ts_)] += W[r, col]
    return [[spikes[j] for j in range(offs[p], offs[p + 1])] for p in range(len(pops))]


def delta_network_events(kappa, delta, bias, v0, projections, t_end):
    """Spike times and neurons, in event order, of perfect integrate-and-fire neurons with constant
    drive and delta synapses, by a plain priority queue over individual events -- written to be
    compared bit for bit with the engine.

    ``kappa``, ``delta``, ``bias``, ``v0``: per neuron (one flat index over all populations).
    ``projections``: list of (W, delay) in connection order, ``W`` a scipy.sparse matrix of shape
    (N, N) (rows post, columns pre) without explicit zeros, one delay each.

    The documented event order: by time; at equal times arrivals before threshold crossings,
    crossings by neuron. A neuron's next crossing is ``tl + kappa (delta - v) / bias`` from its state
    ``(tl, v)`` after its last event (none when ``bias <= 0`` or later than ``t_end``); a crossing
    resets ``v`` to ``-delta``. When one spike alone arrives at an instant, it adds
    ``(bias (t - tl) + w) / kappa`` to each target, which fires once per ``2 delta`` while
    ``v >= delta`` (targets in index order); when several spikes arrive at one instant, each target
    moves to it (``v += bias (t - tl) / kappa``), the weights of all its arrivals are summed (exactly
    rounded: ``math.fsum``) and added once, ``v += sum / kappa``, then the threshold is tested,
    neuron by neuron in index order. The arithmetic is the engine's, operation by operation, so the
    two agree to the bit (a key that only rounding moves earlier than an event already processed is
    not modelled: the weights here are far from that).
    """
    import heapq
    import math

    kappa = [float(x) for x in kappa]
    delta = [float(x) for x in delta]
    bias = [float(x) for x in bias]
    vl = [float(x) for x in v0]
    N = len(vl)
    tl = [0.0] * N
    version = [0] * N
    rows = []      # per projection: for each presynaptic neuron, (targets, weights) in target order
    for W, _ in projections:
        Wt = W.T.tocsr()
        Wt.sort_indices()
        rows.append([(Wt.indices[Wt.indptr[i]:Wt.indptr[i + 1]].tolist(),
                      Wt.data[Wt.indptr[i]:Wt.indptr[i + 1]].tolist()) for i in range(N)])
    delays = [float(d) for _, d in projections]
    queue = []
    seq = [0]
    times, neurons = [], []

    def schedule(j):
        version[j] += 1
        if bias[j] > 0.0:
            x = tl[j] + kappa[j] * (delta[j] - vl[j]) / bias[j]
            if x <= t_end:
                heapq.heappush(queue, (x, 1, j, version[j]))

    def fire(j, t):
        times.append(t)
        neurons.append(j)
        for p in range(len(projections)):
            if rows[p][j][0]:
                heapq.heappush(queue, (t + delays[p], 0, p, seq[0], j))
                seq[0] += 1

    for j in range(N):
        schedule(j)
    while queue and queue[0][0] <= t_end:
        ev = heapq.heappop(queue)
        if ev[1] == 1:
            x, _, j, ver = ev
            if ver != version[j]:
                continue
            vl[j] = -delta[j]
            tl[j] = x
            fire(j, x)
            schedule(j)
        else:
            t, _, p, _, src = ev
            group = [(p, src)]
            while queue and queue[0][0] == t and queue[0][1] == 0:
                _, _, p2, _, src2 = heapq.heappop(queue)
                group.append((p2, src2))
            if len(group) == 1:
                for j, w in zip(*rows[p][src]):
                    vl[j] += (bias[j] * (t - tl[j]) + w) / kappa[j]
                    tl[j] = t
                    while vl[j] >= delta[j]:
                        fire(j, t)
                        vl[j] -= 2.0 * delta[j]
                    schedule(j)
                continue
            summed = {}
            for p2, src2 in group:
                for j, w in zip(*rows[p2][src2]):
                    if j not in summed:
                        vl[j] += bias[j] * (t - tl[j]) / kappa[j]
                        tl[j] = t
                        summed[j] = []
                    summed[j].append(w)
            for j in sorted(summed):
                vl[j] += math.fsum(summed[j]) / kappa[j]
                while vl[j] >= delta[j]:
                    fire(j, t)
                    vl[j] -= 2.0 * delta[j]
                schedule(j)
    return np.asarray(times), np.asarray(neurons, dtype=np.intp)


def interrupt_after(code: str, wait: float = 1.0, env: dict | None = None,
                    stderr: bool = False) -> tuple:
    """Run ``code`` in a fresh interpreter, send SIGINT once it prints ``ready``, after ``wait`` s.

    ``env``: extra environment variables. The interpreter must still be running when the signal
    is sent. Returns (seconds from SIGINT to exit, stdout, return code), and stderr after stdout
    with ``stderr``. The interpreter is killed if it has not exited 90 s after the signal.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path), **(env or {}))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(wait)
        assert proc.poll() is None, "the run finished before it could be interrupted"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return (elapsed, out, err, proc.returncode) if stderr else (elapsed, out, proc.returncode)


def assert_ctrl_c_stops(setup: str, call: str, wait: float = 1.0) -> None:
    """Run ``setup`` then the long ``call`` in a fresh interpreter, press Ctrl-C ``wait`` s into the
    call, and check that it ends with KeyboardInterrupt within 15 s (generous for a loaded 2-core
    machine; typically well under 1 s)."""
    import textwrap

    body = textwrap.indent(textwrap.dedent(call).strip(), "    ")
    code = (textwrap.dedent(setup).strip() + '\nimport sys\nprint("ready", flush=True)\ntry:\n' + body
            + '\nexcept KeyboardInterrupt:\n    print("interrupted", flush=True)\n    sys.exit(3)\n')
    elapsed, out, rc = interrupt_after(code, wait=wait)
    assert elapsed < 15.0, f"took {elapsed:.1f} s to stop"
    assert "interrupted" in out and rc == 3, out


def lif_network_events(kappa, delta, bias, v0, tau, v_reset, t_ref, projections, t_end):
    """Spike times and neurons of integrate-and-fire neurons with constant drive and delta synapses
    under any of the conventions (leak ``tau``, ``inf`` for none; ``v_reset``, ``nan`` for the
    subtractive reset; refractory period ``t_ref``), by a plain priority queue over events.

    Written from the definitions, independently of the engine's arithmetic: between events
    ``v(t) = P + (v - P) exp(-(t - tl)/tau)`` with ``P = bias tau / kappa`` (perfect:
    ``v + bias (t - tl) / kappa``); the next crossing in closed form; all the arrivals at one
    instant are summed (``math.fsum``) before one threshold test; a spike resets ``v`` (by
    ``2 delta`` per spike while ``v >= delta``, or to ``v_reset`` once) and clamps it for ``t_ref``,
    during which arrivals are ignored. Comparable with the engine to rounding, not to the bit.
    """
    import heapq
    import math

    N = len(v0)
    vl = [float(x) for x in v0]
    tl = [0.0] * N
    version = [0] * N
    rows = []
    for W, _ in projections:
        Wt = W.T.tocsr()
        rows.append([(Wt.indices[Wt.indptr[i]:Wt.indptr[i + 1]].tolist(),
                      Wt.data[Wt.indptr[i]:Wt.indptr[i + 1]].tolist()) for i in range(N)])
    delays = [float(d) for _, d in projections]
    queue, seq = [], [0]
    times, neurons = [], []

    def value(j, t):
        h = t - tl[j]
        if math.isinf(tau[j]):
            return vl[j] + bias[j] * h / kappa[j]
        P = bias[j] * tau[j] / kappa[j]
        return P + (vl[j] - P) * math.exp(-h / tau[j])

    def schedule(j):
        version[j] += 1
        if math.isinf(tau[j]):
            x = tl[j] + kappa[j] * (delta[j] - vl[j]) / bias[j] if bias[j] > 0 else math.inf
        else:
            P = bias[j] * tau[j] / kappa[j]
            x = tl[j] + tau[j] * math.log((P - vl[j]) / (P - delta[j])) if P > delta[j] else math.inf
        if x <= t_end:
            heapq.heappush(queue, (x, 1, j, version[j]))

    def fire(j, t):
        times.append(t)
        neurons.append(j)
        for p in range(len(projections)):
            if rows[p][j][0]:
                heapq.heappush(queue, (t + delays[p], 0, seq[0], p, j))
                seq[0] += 1

    def after_spike(j, t, v):
        vl[j] = v
        tl[j] = t + t_ref[j]

    for j in range(N):
        schedule(j)
    while queue and queue[0][0] <= t_end:
        ev = heapq.heappop(queue)
        t = ev[0]
        if ev[1] == 1:
            _, _, j, ver = ev
            if ver != version[j]:
                continue
            fire(j, t)
            after_spike(j, t, -delta[j] if math.isnan(v_reset[j]) else v_reset[j])
            schedule(j)
            continue
        group = [ev]
        while queue and queue[0][0] == t and queue[0][1] == 0:
            group.append(heapq.heappop(queue))
        summed = {}
        for _, _, _, p, src in group:
            for j, w in zip(*rows[p][src]):
                if t < tl[j]:
                    continue                      # refractory
                summed.setdefault(j, []).append(w)
        for j in sorted(summed):
            v = value(j, t) + math.fsum(summed[j]) / kappa[j]
            tl[j] = t
            vl[j] = v
            if v >= delta[j]:
                if math.isnan(v_reset[j]):
                    while vl[j] >= delta[j]:
                        fire(j, t)
                        vl[j] -= 2.0 * delta[j]
                    after_spike(j, t, vl[j])
                else:
                    fire(j, t)
                    after_spike(j, t, v_reset[j])
            schedule(j)
    return np.asarray(times), np.asarray(neurons, dtype=np.intp)
