"""Independent reference simulators for the training and decoding tests.

Slow, plain-Python event loops written from the model's definition (section 1
of the mathematics reference), used only as oracles: a layer of perfect or
leaky integrate-and-fire neurons fed by presynaptic spikes through delta or
exponential synapses (``tem_sim.encode`` covers analog inputs only).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from tem_sim.spikes import SpikeTrains


def spike_layer(pre: SpikeTrains, W: np.ndarray, kappa: float, delta: float, bias: float, t_end: float,
                kernel: str = "delta", tau_s: float = 1.0, tau: float = math.inf,
                delay: float = 0.0) -> SpikeTrains:
    """Simulate ``W.shape[0]`` neurons (v0 = -delta) driven by ``pre`` through a kernel.

    Delta: the integrator jumps by ``w / kappa`` at each arrival and fires (once per
    ``2 delta``) at the arrival time if it reaches ``+delta``. Exponential: the drive
    is ``bias + sum_i W[j, i] I_i(t)``, ``I_i`` a sum of ``exp(-(t - s)/tau_s)``
    (perfect neurons only; the crossing is found with ``brentq``, which is exact
    here because the drive is monotone between arrivals for ``bias > 0``, ``W >= 0``).
    """
    arr = pre.times + delay
    src = pre.indices
    lam = 0.0 if math.isinf(tau) else 1.0 / tau
    out_t, out_i = [], []
    bounds = np.concatenate([arr, [t_end]])
    for j in range(W.shape[0]):
        v, t, cur = -delta, 0.0, 0.0          # cur: synaptic drive sum_i W I_i at time t
        for k, s_next in enumerate(bounds):
            while True:                       # continuous evolution on [t, s_next]
                if kernel == "delta":
                    if lam == 0.0:
                        tc = t + (delta - v) * kappa / bias if bias > 0 else math.inf
                    else:
                        vinf = bias * tau / kappa
                        tc = t + tau * math.log((vinf - v) / (vinf - delta)) if vinf > delta else math.inf
                else:
                    def vt(x, v=v, t=t, cur=cur):
                        h = x - t
                        return v + (bias * h + cur * tau_s * (1.0 - math.exp(-h / tau_s))) / kappa - delta
                    tc = brentq(vt, t, s_next, xtol=1e-15, rtol=1e-15, maxiter=500) \
                        if vt(s_next) >= 0 else math.inf
                if tc <= s_next:
                    out_t.append(tc)
                    out_i.append(j)
                    if kernel != "delta":
                        cur *= math.exp(-(tc - t) / tau_s)
                    v, t = -delta, tc
                    continue
                # advance to s_next without a spike
                h = s_next - t
                if kernel == "delta":
                    v = v * math.exp(-lam * h) + bias * (h if lam == 0 else tau * (1 - math.exp(-lam * h))) / kappa
                else:
                    v = v + (bias * h + cur * tau_s * (1.0 - math.exp(-h / tau_s))) / kappa
                    cur *= math.exp(-h / tau_s)
                t = s_next
                break
            if k == arr.size:
                break
            w = W[j, src[k]]
            if kernel == "delta":
                v += w / kappa
                while v >= delta:
                    out_t.append(t)
                    out_i.append(j)
                    v -= 2 * delta
            else:
                cur += w
    return SpikeTrains(out_t, out_i, W.shape[0], 0.0, t_end)


def poisson_spikes(n: int, rate: float, t_end: float, seed: int) -> SpikeTrains:
    """Homogeneous Poisson spikes of ``n`` neurons on ``[0, t_end]`` (seeded)."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rate * t_end, size=n)
    times = rng.uniform(0.0, t_end, size=counts.sum())
    idx = np.repeat(np.arange(n), counts)
    return SpikeTrains(times, idx, n, 0.0, t_end)
