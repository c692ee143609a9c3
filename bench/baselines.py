"""Straightforward NumPy/SciPy baselines that the benchmarks compare tem_sim against.

:func:`encode_brentq` encodes a layer of perfect integrate-and-fire TEMs driven
by Fourier-series inputs the "obvious" way: per neuron, per spike, a Python
loop that evaluates the closed-form integral of the drive (section 2 of the
mathematics reference) with NumPy and refines the crossing with
:func:`scipy.optimize.brentq`.

It is honest about the *first* crossing: the bracketing scan only takes steps
that provably cannot step over a threshold crossing, using the bounds
``sup |u|`` and ``sup |u'|`` of the drive (section 1), and it calls ``brentq``
only on a bracket on which the drive is provably positive (so the integrator
is monotone there and the bracket holds exactly one crossing: the first).
This is the same mathematics the compiled engine uses, written in plain
Python, so the ratio measures the implementation, not a different algorithm.

:func:`chain_reference` gives the exact spike times of a feed-forward network
with constant drives and delta synapses (closed form between events plus the
jump arithmetic) for the accuracy benchmark.

:func:`lif_reference` gives the exact spike times of leaky integrate-and-fire
neurons in NEST's ``iaf_psc_delta`` convention (reset to a value, absolute
refractory period, delta jumps) driven by given arrival times, from the
closed-form membrane potential between arrivals.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

__all__ = ["encode_brentq", "chain_reference", "lif_reference"]


class _Drive:
    """Drive ``u(t) = a_0 + 2 Re sum_{m>=1} a_m e^{i w_m t}`` of one neuron (bias included in a_0)."""

    __slots__ = ("a0", "am", "Am", "w", "iw", "T", "U", "dU")

    def __init__(self, one_sided: np.ndarray, bias: float, period: float) -> None:
        a = np.asarray(one_sided, dtype=np.complex128)
        self.a0 = float(a[0].real) + float(bias)
        self.am = a[1:].copy()
        self.w = 2.0 * np.pi * np.arange(1, a.size) / period
        self.Am = self.am / (1j * self.w)          # integral coefficients
        self.iw = 1j * self.w
        self.T = float(period)
        self.U = abs(self.a0) + 2.0 * float(np.abs(self.am).sum())            # sup |u|
        self.dU = 2.0 * float((np.abs(self.am) * self.w).sum())                # sup |u'|

    def phase(self, t: float) -> np.ndarray:
        """``e^{i w_m t}`` for m >= 1 (t reduced modulo the period for accuracy)."""
        return np.exp(self.iw * math.fmod(t, self.T))

    def u(self, e: np.ndarray) -> float:
        return self.a0 + 2.0 * np.dot(self.am, e).real

    def primitive(self, e: np.ndarray) -> float:
        """Oscillating part of the primitive, ``2 Re sum A_m e^{i w_m t}``."""
        return 2.0 * np.dot(self.Am, e).real


def _encode_one(drv: _Drive, kappa: float, delta: float, v0: float, t_end: float,
                max_spikes: int, xtol: float) -> tuple[list[float], int]:
    """Spike times of one perfect integrator on [0, t_end]; returns (times, evaluations)."""
    times: list[float] = []
    evals = 0
    t0 = 0.0
    P0 = drv.primitive(drv.phase(0.0))
    a0 = drv.a0
    target = kappa * (delta - v0)          # integral needed for the next spike (E0, then E1)
    s, es = t0, drv.phase(0.0)
    G = target                             # remaining integral at s
    dU = max(drv.dU, 1e-300)
    U = max(drv.U, 1e-300)
    h_floor = 1e-12 * max(1.0, t_end)
    while s < t_end:
        us = drv.u(es)
        # a step that provably reaches no crossing: integral over [s, s+h] <= h us + dU h^2 / 2 < G
        h_safe = max(G / U, 2.0 * G / (us + math.sqrt(us * us + 2.0 * dU * G)))
        if us > 0.0:
            # u stays > 0 on [s, s + us/dU): the integrator is monotone there
            h_mono = us / dU
            if h_mono > h_safe:
                b = min(s + h_mono, t_end)
                eb = drv.phase(b)
                evals += 1
                Gb = target - (a0 * (b - t0) + drv.primitive(eb) - P0)
                if Gb <= 0.0:
                    # exactly one crossing in (s, b]: the first one
                    def f(t: float, t0=t0, P0=P0, target=target) -> float:
                        return a0 * (t - t0) + drv.primitive(drv.phase(t)) - P0 - target
                    t_spk, r = brentq(f, s, b, xtol=xtol, rtol=4 * np.finfo(float).eps,
                                      full_output=True)
                    evals += r.function_calls
                    times.append(t_spk)
                    if len(times) > max_spikes:
                        raise RuntimeError(f"baseline exceeded max_spikes={max_spikes}")
                    t0, P0 = t_spk, drv.primitive(drv.phase(t_spk))
                    es = drv.phase(t_spk)
                    target = 2.0 * kappa * delta
                    s, G = t0, target
                    continue
                s, es, G = b, eb, Gb
                continue
        s_new = s + max(h_safe, h_floor)
        if s_new >= t_end:
            break
        es = drv.phase(s_new)
        evals += 1
        G = target - (a0 * (s_new - t0) + drv.primitive(es) - P0)
        s = s_new
        if G <= 0.0:   # only through the floor step at an (almost) exact tangency
            times.append(s)
            t0, P0 = s, drv.primitive(es)
            target = 2.0 * kappa * delta
            G = target
    return times, evals


def encode_brentq(signals, weights: np.ndarray, kappa: float, delta: float, bias: float,
                  t_end: float, *, v0: float | None = None, max_spikes: int = 10_000_000,
                  xtol: float = 1e-13) -> dict:
    """Encode a layer with the Python + ``brentq`` baseline.

    Parameters
    ----------
    signals : tem_sim.FourierSignals
        The inputs (only ``one_sided`` and ``period`` are used).
    weights : ndarray, shape (n_out, n_in)
    kappa, delta, bias : float
        Shared TEM parameters.
    t_end : float
        End of the window ``[0, t_end]``.
    v0 : float, optional
        Initial integrator value (default ``-delta``).

    Returns
    -------
    dict with ``trains`` (list of arrays, one per neuron), ``count`` and
    ``evaluations`` (closed-form integral/drive evaluations, brentq's included).
    """
    v0 = -delta if v0 is None else v0
    C1 = np.asarray(signals.one_sided)                 # (n_in, M+1), c_0 ... c_M
    D = np.asarray(weights, dtype=float) @ C1          # drive coefficients, one row per neuron
    trains, evals = [], 0
    for j in range(D.shape[0]):
        drv = _Drive(D[j], bias, signals.period)
        tj, ej = _encode_one(drv, kappa, delta, v0, t_end, max_spikes, xtol)
        trains.append(np.asarray(tj))
        evals += ej
    return {"trains": trains, "count": int(sum(len(t) for t in trains)), "evaluations": evals}


def chain_reference(drive: np.ndarray, kappa: float, delta: float, v0: np.ndarray,
                    pre: np.ndarray, post: np.ndarray, w: np.ndarray, delay: float,
                    t_end: float) -> list[np.ndarray]:
    """Exact spike times of a feed-forward network of perfect integrators.

    Constant drive ``u_j`` per neuron, delta synapses (a jump of ``w/kappa``
    at ``t_spike + delay``), subtractive reset (``v -= 2 delta``, repeated at
    the same instant while ``v >= delta``). Neurons must be numbered in
    topological order (every connection goes from a lower to a higher
    index). Between events the integrator is linear, so the next crossing is
    ``t + kappa (delta - v) / u`` exactly (for the first spike without input:
    ``t_1 = kappa (delta - v0)/u``, then every ``2 kappa delta / u``).

    Returns one sorted array of spike times per neuron.
    """
    n = drive.size
    if np.any(pre >= post):
        raise ValueError("chain_reference needs connections from lower to higher indices")
    trains: list[list[float]] = [[] for _ in range(n)]
    order = np.argsort(post, kind="stable")
    pre, post, w = pre[order], post[order], w[order]
    for j in range(n):
        sel = post == j
        arrivals = sorted((t + delay, float(wi)) for p, wi in zip(pre[sel], w[sel]) for t in trains[p])
        arrivals = [(a, wi) for a, wi in arrivals if a <= t_end]
        u = float(drive[j])
        v = float(v0[j])
        t = 0.0             # time of the last event (start or arrival), v the value just after it
        out = trains[j]
        k = 0
        while True:
            t_next = arrivals[k][0] if k < len(arrivals) else math.inf
            # crossings under the constant drive before the next arrival, in closed form
            # from the last event: t + kappa (delta - v)/u + (i - 1) 2 kappa delta / u
            t_last = None
            if u > 0:
                first = t + kappa * (delta - v) / u
                period = 2.0 * kappa * delta / u
                i = 0
                while True:
                    tc = first + i * period
                    if tc < t_next and tc <= t_end:
                        out.append(tc)
                        t_last = tc
                        i += 1
                    else:
                        break
            if t_next > t_end:
                break
            if t_last is None:
                v = v + u * (t_next - t) / kappa
            else:
                v = -delta + u * (t_next - t_last) / kappa
            v += arrivals[k][1] / kappa
            t = t_next
            k += 1
            while v >= delta:          # an arrival that carries v past threshold fires now
                out.append(t)
                v -= 2.0 * delta
    return [np.asarray(tr) for tr in trains]


def lif_reference(tau_m: float, V_th: float, V_reset: float, E_L: float, t_ref: float, V0: float,
                  arrival_times: np.ndarray, arrival_weights: np.ndarray, t_end: float) -> np.ndarray:
    """Exact spike times of one leaky integrate-and-fire neuron with delta synapses.

    ``tau_m dV/dt = E_L - V`` between arrivals, so from ``(t0, V)`` the
    potential is ``E_L + (V - E_L) exp(-(t - t0)/tau_m)`` and, when
    ``E_L > V_th``, it reaches ``V_th`` at ``t0 + tau_m log((E_L - V)/(E_L - V_th))``.
    An arrival of weight ``w`` makes ``V`` jump by ``w``; simultaneous arrivals
    are summed before one threshold test. At ``V >= V_th`` the neuron fires,
    ``V`` is clamped at ``V_reset`` for ``t_ref`` and arrivals during that
    time are dropped (NEST's ``iaf_psc_delta``). ``arrival_times`` need not
    be sorted. Returns the sorted spike times in ``[0, t_end]``.
    """
    order = np.argsort(arrival_times, kind="stable")
    ta, wa = np.asarray(arrival_times, dtype=float)[order], np.asarray(arrival_weights, dtype=float)[order]
    # sum arrivals at exactly the same time
    if ta.size:
        start = np.concatenate([[True], ta[1:] != ta[:-1]])
        ta, wa = ta[start], np.add.reduceat(wa, np.flatnonzero(start))
    out: list[float] = []
    drift = E_L > V_th
    log_den = math.log(E_L - V_th) if drift else 0.0
    t0, V, free_at = 0.0, float(V0), 0.0     # V at t0; the neuron integrates from free_at on
    if V >= V_th:                            # above threshold at t = 0: fires at once
        out.append(0.0)
        V, free_at = V_reset, t_ref
        t0 = free_at

    def fire_until(limit: float) -> None:
        """Spontaneous crossings (E_L above threshold) strictly before ``limit``."""
        nonlocal t0, V, free_at
        while drift:
            tc = t0 + tau_m * (math.log(E_L - V) - log_den)
            if tc >= limit or tc > t_end:
                return
            out.append(tc)
            V, free_at = V_reset, tc + t_ref
            t0 = free_at

    for t, w in zip(ta.tolist(), wa.tolist()):
        if t > t_end:
            break
        if t < free_at:                  # refractory: dropped
            continue
        fire_until(t)
        if t < free_at:                  # a spontaneous spike just made it refractory
            continue
        V = E_L + (V - E_L) * math.exp(-(t - t0) / tau_m) + w
        t0 = t
        if V >= V_th:
            out.append(t)
            V, free_at = V_reset, t + t_ref
            t0 = free_at
    fire_until(math.inf)
    return np.asarray(out)
