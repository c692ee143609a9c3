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


def trajectory(coef_row, period, bias, kappa, delta, v0, tau, spikes, t_end, n_per_unit=2000):
    """Dense samples of v(t) on every inter-spike interval, before each reset.

    Returns a list of (t_grid, v_grid) pieces: (0, t_1], (t_1, t_2], ..., (t_last, t_end].
    """
    edges = np.concatenate([[0.0], np.asarray(spikes, dtype=float), [t_end]])
    pieces = []
    for k in range(edges.size - 1):
        a, b = edges[k], edges[k + 1]
        if b <= a:
            continue
        n = max(8, int(np.ceil((b - a) * n_per_unit)))
        tg = np.linspace(a, b, n + 1)[1:]
        v_start = v0 if k == 0 else -delta
        if np.isinf(tau):
            vg = perfect_v(coef_row, period, bias, kappa, a, v_start, tg)
        else:
            vg = leaky_v(coef_row, period, bias, kappa, tau, a, v_start, tg)
        pieces.append((tg, vg))
    return pieces
