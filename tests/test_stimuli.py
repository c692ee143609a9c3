"""Sinc and piecewise-polynomial inputs: the banks, the engine, training and decoding.

Oracles independent of the compiled core: SciPy's ``sici`` and adaptive
quadrature for the banks' integrals; the spike-time equations evaluated with
the banks' NumPy integrals; a dense-sampling check of the integrator between
spikes (built from the same NumPy integrals) for missed crossings.
"""
from __future__ import annotations

import pickle
import re
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import sici

from tem_sim import (IdentifiabilityWarning, Network, Neurons, PiecewisePolynomials, SincSignals,
                     UnderSampledWarning, ValidationError, decode_bandlimited, encode, fit_layer)
from tem_sim import _core
from tem_sim.constraints import interval_rows
from tem_sim.signals import FourierSignals

KINDS = ["constant", "linear", "cubic"]


# --------------------------------------------------------------------------- the banks

def test_compiled_sine_integral_matches_scipy():
    x = np.concatenate([np.linspace(-60, 60, 20001), np.geomspace(1e-10, 1e7, 500),
                        -np.geomspace(1e-10, 1e7, 500), [0.0, 4.0, np.nextafter(4.0, 5), np.nextafter(4.0, 3)]])
    ref = sici(x)[0]
    got = _core.si(x)
    # a few ulps of either implementation
    assert np.all(np.abs(got - ref) <= 2e-15 * np.maximum(1.0, np.abs(ref)))
    small = np.abs(x) < 1e-3
    assert np.all(np.abs(got[small] - ref[small]) <= 4e-16 * np.abs(ref[small]))


def _si_table():
    """tests/data/si_reference.txt (tools/gen_si_tables.py, mpmath at 50 digits): doubles x and
    Si(x) to 30 digits, as exact fractions; mpmath is not needed to read it."""
    xs, refs = [], []
    for line in (Path(__file__).parent / "data" / "si_reference.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            a, b = line.split()
            xs.append(float(a))
            refs.append(Fraction(b))
    return np.array(xs), refs


def _si_boundaries():
    """Where the compiled Si changes formula or piece (read from the generated tables)."""
    text = (Path(_core.__file__).parent / "_si_tables.h").read_text()
    a, b, w = (float(re.search(rf"#define TEM_SI_{k} (\S+)", text).group(1)) for k in ("A", "B", "W"))
    return a + w * np.arange(round((b - a) / w) + 1)


def test_compiled_sine_integral_within_an_ulp_of_30_digits():
    """Against 30-digit values at every boundary of the approximation's parts and pieces, both
    floating-point neighbours of each, and points over [-1e6, 1e6] and beyond: within 1 ulp of Si
    (0.72 ulp at most over 3e5 random points; the error is exact here, in fractions)."""
    x, ref = _si_table()
    assert x.size > 300 and set(_si_boundaries()) <= set(x)
    got = _core.si(x)
    err = np.array([float(Fraction(g) - r) for g, r in zip(got, ref)])
    ulp = np.spacing(np.abs([float(r) for r in ref]))
    assert np.abs(err / ulp).max() <= 1.0, np.abs(err / ulp).max()
    assert np.all(np.abs(err) <= 2.5e-16 * np.maximum(1.0, np.abs(got)))
    assert np.array_equal(_core.si(-x), -got)                      # odd, to the bit
    assert _core.si(np.array([0.0]))[0] == 0.0
    assert np.array_equal(_core.si(np.array([np.inf, -np.inf])), [np.pi / 2, -np.pi / 2])
    assert np.isnan(_core.si(np.array([np.nan]))[0])


def test_compiled_sine_integral_continuous_across_its_pieces():
    """At each boundary b, Si(b+) - Si(b-) (both floating-point neighbours) and the steps to b
    itself match the true change sinc(b) db (the next term is below 1e-29) within 2 ulp."""
    b = _si_boundaries()
    lo, hi = np.nextafter(b, 0.0), np.nextafter(b, np.inf)
    s_lo, s_b, s_hi = _core.si(lo), _core.si(b), _core.si(hi)
    sinc, ulp = np.sin(b) / b, np.spacing(s_b)
    for u, v, du in ((s_lo, s_hi, hi - lo), (s_lo, s_b, b - lo), (s_b, s_hi, hi - b)):
        assert np.all(np.abs((v - u) - sinc * du) <= 2 * ulp)          # two roundings: 0.97 ulp at most


def test_sinc_bank_against_quadrature():
    x = SincSignals.random(2, 3.0, -1.0, 6.0, seed=1)
    a, b = 0.3, 4.7
    for i in range(2):
        ref = quad(lambda t: x.sample([t])[i, 0], a, b, epsabs=1e-13, limit=200)[0]
        assert abs(x.integrate([a], [b])[i, 0] - ref) < 1e-11
    t, e = 1.234, 1e-6
    fd = (x.sample([t + e]) - x.sample([t - e]))[:, 0] / (2 * e)
    assert np.allclose(x.sample_derivative([t])[:, 0], fd, atol=1e-7)
    # Nyquist samples are the weights
    assert np.allclose(x.sample(x.centers), x.coefficients, atol=1e-14)
    # the bounds hold on a dense grid, and the slope constant bounds sinc' at its extremum
    from scipy.optimize import minimize_scalar
    from tem_sim.stimuli import SINC_SLOPE_MAX
    ext = minimize_scalar(lambda u: (u * np.cos(u) - np.sin(u)) / u ** 2, bounds=(1.5, 2.5), method="bounded",
                          options={"xatol": 1e-12})
    assert SINC_SLOPE_MAX >= -ext.fun
    tt = np.linspace(-5, 10, 20001)
    bd = x.bounds()
    assert np.all(np.abs(x.sample(tt)).max(axis=1) <= bd["sup"])
    assert np.all(np.abs(x.sample_derivative(tt)).max(axis=1) <= bd["slope"])


def test_compiled_leaky_sinc_matches_scipy_exp1():
    """The compiled G against SciPy's complex E1 (an independent implementation), over leaks,
    bandwidths and times; both branches of the compiled E1 (series and continued fraction) run."""
    from scipy.special import exp1
    x = np.r_[np.linspace(-50, 50, 1001), np.geomspace(1e-9, 1e3, 100), -np.geomspace(1e-9, 1e3, 100), 0.0]
    for lam in (1e-3, 0.05, 0.3, 1.0, 5.0, 50.0, 1e3):
        for w in (0.05, 0.5, 2.0, 10.0, 100.0):
            xs = x[np.abs(lam * x) < 600]
            a = lam + 1j * w
            with np.errstate(all="ignore"):
                ref = (np.where(xs > 0, np.pi * np.exp(-lam * xs), 0.0) - (np.exp(-lam * xs) * exp1(-a * xs)).imag) / w
            ref[xs == 0] = np.arctan(w / lam) / w
            scale = min(1 / lam, 2 * 1.8519370519824662 / w)
            # about 1e-16 / (lam-relative bandwidth) near x = 0 (see the README's limits)
            tol = 1e-13 * max(1.0, lam / w) * scale
            assert np.abs(_core.leaky_sinc(xs, lam, w) - ref).max() <= tol, (lam, w)


@pytest.mark.parametrize("lam, w", [(0.7, 3.0), (5.0, 0.5), (0.05, 8.0), (50.0, 2.0)])
def test_leaky_sinc_integrals_against_quadrature(lam, w):
    x = SincSignals.random(2, w, -4.0, 6.0, seed=3)
    a, b = 0.3, 2.9
    got = x.leaky_integrate([a], [b], lam)[:, 0]
    for i in range(2):
        ref = quad(lambda t: np.exp(-lam * (b - t)) * x.sample([t])[i, 0], a, b, epsabs=1e-15, limit=400)[0]
        assert abs(got[i] - ref) < 1e-12
    # the bounded solution: G' = -lam G + sinc (finite differences), and G -> its limits
    t = np.linspace(-20.0, 20.0, 4001)
    G = x.basis_leaky_antiderivative(t, lam)
    dG = np.gradient(G, t, axis=0, edge_order=2)
    resid = dG + lam * G - np.sinc(w * (t[:, None] - x.centers[None, :]) / np.pi)
    assert np.abs(resid[5:-5]).max() < 1e-3 * max(1.0, lam) * w ** 2
    bound = min(1.0 / lam, 2 * 1.8519370519824662 / w)
    assert np.abs(G).max() <= bound


@pytest.mark.parametrize("kind", KINDS)
def test_piecewise_bank_against_quadrature(kind):
    p = PiecewisePolynomials.random(2, 9, 0.0, 3.0, kind=kind, seed=2)
    a, b = 0.3, 2.7
    pts = p.breaks[1:-1]
    for lam in (0.0, 0.7, 25.0):
        got = p.leaky_integrate([a], [b], lam)[:, 0]
        for i in range(2):
            ref = quad(lambda t: np.exp(-lam * (b - t)) * p.sample([t])[i, 0], a, b, points=pts, epsabs=1e-14)[0]
            assert abs(got[i] - ref) < 1e-12
    assert np.allclose(p.integrate([a], [b]), p.leaky_integrate([a], [b], 0.0), atol=1e-15)
    # interpolation through the samples
    assert np.allclose(p.sample(p.breaks[:-1]), p.coefficients[:, :, 0], atol=1e-15)
    # refinement keeps the signals; piece bounds hold
    r = p.refine(np.sort(np.r_[p.breaks, 0.77, 1.91]))
    tt = np.linspace(0, 3, 3001)
    assert np.abs(r.sample(tt) - p.sample(tt)).max() < 1e-13
    sup, slope = p.piece_bounds()
    k = np.clip(np.searchsorted(p.breaks, tt, side="right") - 1, 0, p.n_pieces - 1)
    assert np.all(np.abs(p.sample(tt)) <= sup[:, k] + 1e-15)
    assert np.all(np.abs(p.sample_derivative(tt)) <= slope[:, k] + 1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_restrict_keeps_the_signals_on_the_window(kind):
    p = PiecewisePolynomials.random(2, 9, -1.0, 3.0, kind=kind, seed=5)
    for t0, t1 in ((-1.0, 3.0), (0.123, 2.5), (p.breaks[2], p.breaks[5]), (0.4, 0.41)):
        r = p.restrict(t0, t1)
        assert r.domain == (t0, t1) and np.all(np.isin(p.breaks[(p.breaks > t0) & (p.breaks < t1)], r.breaks))
        tt = np.linspace(t0, t1, 501)[:-1]            # (t1 itself: the left limit there)
        assert np.abs(r.sample(tt) - p.sample(tt)).max() < 1e-13
        a, b = np.sort(np.random.default_rng(1).uniform(t0, t1, (2, 40)), axis=0)
        for lam in (0.0, 0.7):
            assert np.abs(r.leaky_integrate(a, b, lam) - p.leaky_integrate(a, b, lam)).max() < 1e-13
        assert np.allclose(r.antiderivative([t0]), 0.0, atol=0)  # anchored at the window's start
    for t0, t1 in ((-1.5, 2.0), (0.0, 3.5), (2.0, 2.0), (2.0, 1.0), (np.nan, 1.0)):
        with pytest.raises(ValidationError):
            p.restrict(t0, t1)


def _trapezoid_integrals(t, v, a, b):
    """Independent oracle: integrals of the linear interpolant of (t, v) over each [a_k, b_k], summed
    piece by piece (nothing anchored far away)."""
    out = []
    for lo, hi in zip(a, b):
        i0, i1 = np.searchsorted(t, [lo, hi], side="right") - 1
        pts = np.concatenate([[lo], t[i0 + 1:i1 + 1], [hi]])
        vals = np.interp(pts, t, v)
        out.append(float(np.sum(np.diff(pts) * (vals[1:] + vals[:-1]) / 2)))
    return np.array(out)


def _leaky_linear_integrals(t, v, a, b, lam):
    """Independent oracle: int_a^b exp(-lam (b - s)) p(s) ds for the linear interpolant p of (t, v),
    piece by piece in closed form (h phi_1 and h^2 phi_2 of -lam h, series for small lam h)."""
    out = []
    for lo, hi in zip(a, b):
        i0, i1 = np.searchsorted(t, [lo, hi], side="right") - 1
        pts = np.concatenate([[lo], t[i0 + 1:i1 + 1], [hi]])
        p = np.interp(pts, t, v)
        h = np.diff(pts)
        z = lam * h
        phi1 = np.where(z > 1e-3, -np.expm1(-z) / np.maximum(z, 1e-300), 1 - z / 2 + z * z / 6)
        phi2 = np.where(z > 1e-3, (np.expm1(-z) + z) / np.maximum(z, 1e-300) ** 2, 0.5 - z / 6 + z * z / 24)
        piece = h * phi1 * p[:-1] + h * phi2 * (p[1:] - p[:-1])        # slope m = dp / h: h^2 phi_2 m
        out.append(float(np.sum(np.exp(-lam * (hi - pts[1:])) * piece)))
    return np.array(out)


def test_long_recording_short_window_keeps_precision():
    """A recording from -2e4 to 2e4 simulated on [0, 50]: its integrals were anchored at -2e4 and lost
    eps times 2e4 (spike equations off by 2e-11); the engine and the rows now start at the window."""
    t = np.linspace(-2e4, 2e4, 2_000_001)
    v = 1.0 + 0.5 * np.sin(t)
    x = PiecewisePolynomials.from_samples(t, v[None, :], kind="linear")
    nrn = Neurons(1, kappa=1.0, delta=1.0, bias=0.0)
    spikes = encode(x, [[1.0]], nrn, 50.0)
    tj = spikes.neuron(0)
    a = np.concatenate([[0.0], tj[:-1]])
    assert tj.size == 25
    assert np.abs(_trapezoid_integrals(t, v, a, tj) - 2.0).max() < 1e-13
    rows = interval_rows(x, a, tj)[:, 0]
    assert np.abs(rows - _trapezoid_integrals(t, v, a, tj)).max() < 1e-13
    # and PiecewisePolynomials.integrate itself, on the whole recording (compensated running sums)
    assert np.abs(x.integrate(a, tj)[0] - _trapezoid_integrals(t, v, a, tj)).max() < 1e-13
    lo, hi = np.array([-1.5e4, -3.0, 1e3]), np.array([1.5e4, 7.5, 1.2e3])
    assert np.allclose(x.integrate(lo, hi)[0], _trapezoid_integrals(t, v, lo, hi), rtol=1e-13, atol=1e-12)
    # leak-weighted integrals under a long leak: states from the earliest interval, not from -2e4
    lam = 1e-4
    got = x.leaky_integrate(a, tj, lam)[0]
    eps = np.finfo(float).eps                                         # the rounding model of the spike times
    assert np.all(np.abs(got - _leaky_linear_integrals(t, v, a, tj, lam)) <= 64 * eps * 1.5 * (tj + 1.0))


def test_long_recording_is_not_mixed_whole():
    """encode and Network.run mix a recording's window only: mixing 2e5 samples for 50 outputs whole
    allocated 160 MB (7.9 GB and 23 s for 2e6 samples and 100 outputs) to simulate 1 % of it."""
    import tracemalloc

    t = np.linspace(0.0, 2e3, 200_001)
    x = PiecewisePolynomials.from_samples(t, np.vstack([np.sin(t), np.cos(t)]), kind="linear")
    W = np.random.default_rng(0).uniform(0.0, 1.0, (50, 2))
    nrn = Neurons(50, kappa=1.0, delta=1.0, bias=2.0)
    net = Network()
    net.add_population("out", nrn)
    net.connect_input("x", "out", W)
    tracemalloc.start()
    try:
        st = encode(x, W, nrn, 20.0)
        res = net.run(20.0, {"x": x})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, f"peak {peak / 1e6:.0f} MB"
    assert res["out"] == st and st.count > 100


def test_from_samples_kinds():
    t = np.array([0.0, 1.0, 2.5, 4.0])
    v = np.array([1.0, -2.0, 0.5, 3.0])
    c = PiecewisePolynomials.from_samples(t, v, kind="constant")
    assert c.sample([0.5, 1.0, 2.0, 3.9]).tolist() == [[1.0, -2.0, -2.0, 0.5]]
    lin = PiecewisePolynomials.from_samples(t, v, kind="linear")
    assert np.allclose(lin.sample([0.5, 3.25]), [[-0.5, 1.75]])
    from scipy.interpolate import CubicSpline
    cub = PiecewisePolynomials.from_samples(t, v, kind="cubic")
    tt = np.linspace(0, 4, 101)
    assert np.allclose(cub.sample(tt)[0], CubicSpline(t, v)(tt), atol=1e-13)


def test_banks_pickle_and_mix():
    x = SincSignals.random(3, 2.0, 0.0, 5.0, seed=3)
    p = PiecewisePolynomials.random(3, 6, 0.0, 5.0, seed=4)
    W = np.array([[1.0, -0.5, 0.25]])
    tt = np.linspace(0.5, 4.5, 9)
    for bank in (x, p):
        assert pickle.loads(pickle.dumps(bank)) == bank
        assert np.allclose(bank.mix(W).sample(tt), W @ bank.sample(tt), atol=1e-14)


@pytest.mark.parametrize("call, name", [
    (lambda: PiecewisePolynomials.from_samples([0.0, 2.0, 1.0], [1.0, 2.0, 3.0]), "times"),
    (lambda: PiecewisePolynomials.from_samples([0.0, 1.0, 2.0], [1.0, np.nan, 3.0]), "values"),
    (lambda: PiecewisePolynomials.from_samples([0.0, 1.0], [1.0, 2.0, 3.0]), "values"),
    (lambda: PiecewisePolynomials.from_samples([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], kind="quintic"), "kind"),
    (lambda: PiecewisePolynomials.from_samples([0.0, 1.0, 2.0], [1.0, 2.0, 3.0]).sample([2.5]), "t"),
    (lambda: SincSignals([[1.0]], [0.0], bandwidth=0.0), "SincSignals.bandwidth"),
    (lambda: SincSignals([[1.0, 2.0]], [0.0], bandwidth=1.0), "SincSignals.coefficients"),
    (lambda: SincSignals([[np.nan]], [0.0], bandwidth=1.0), "SincSignals.coefficients"),
])
def test_bad_bank_input(call, name):
    with pytest.raises(ValidationError) as e:
        call()
    assert e.value.name == name


def test_bad_engine_input():
    p = PiecewisePolynomials.from_samples([0.0, 1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValidationError, match="sampled range") as e:
        encode(p, [[1.0]], Neurons(1), t_end=3.0)           # asked for outside the recording
    assert e.value.name == "t_end"
    late = PiecewisePolynomials.from_samples([0.5, 1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValidationError, match="sampled range"):
        encode(late, [[1.0]], Neurons(1), t_end=1.5)         # the recording starts after 0
    net = Network()
    net.add_population("a", Neurons(1))
    net.connect_input("x", "a", [[1.0]])
    with pytest.raises(ValidationError, match="sampled range"):
        net.run(5.0, {"x": p})


# --------------------------------------------------------------------------- the engine

def _bank(kind, n, t_end, seed):
    if kind == "sinc":
        return SincSignals.random(n, 4.0, -3.0, t_end + 3.0, seed=seed)
    return PiecewisePolynomials.random(n, max(4, int(3 * t_end)), 0.0, t_end, kind=kind, seed=seed)


def _integral(y, j, a, b, tau):
    if np.isinf(tau):
        return y.integrate(a, b)[j]
    return y.leaky_integrate(a, b, 1.0 / tau)[j]


def _check_spikes(y, nrn, st, t_end, dense=True, rtol=1e-10):
    """Spike-time equations (E0, E1) and, optionally, no crossing between spikes (dense sampling)."""
    for j in range(nrn.n):
        kap, dlt, bias, tau, v0 = (float(nrn.kappa[j]), float(nrn.delta[j]), float(nrn.bias[j]),
                                   float(nrn.tau[j]), float(nrn.v0[j]))
        t = np.r_[0.0, st.neuron(j)]
        h = np.diff(t)
        leak = np.ones_like(h) if np.isinf(tau) else np.exp(-h / tau)
        bint = bias * h if np.isinf(tau) else bias * tau * -np.expm1(-h / tau)
        start = np.r_[v0, np.full(h.size - 1, -dlt)] if h.size else np.zeros(0)
        if h.size:
            got = _integral(y, j, t[:-1], t[1:], tau) + bint
            want = kap * (dlt - start * leak)
            assert np.all(np.abs(got - want) <= rtol * kap * 2 * dlt), (j, np.abs(got - want).max())
        if not dense:
            continue
        edges = np.r_[t, t_end]
        for k in range(edges.size - 1):
            a, b = edges[k], edges[k + 1]
            if b <= a:
                continue
            tg = np.linspace(a, b, max(16, int((b - a) * 4000)))[1:-1]
            vs = v0 if k == 0 else -dlt
            hh = tg - a
            if np.isinf(tau):
                v = vs + (_integral(y, j, np.full(tg.size, a), tg, tau) + bias * hh) / kap
            else:
                v = (vs * np.exp(-hh / tau)
                     + (_integral(y, j, np.full(tg.size, a), tg, tau) + bias * tau * -np.expm1(-hh / tau)) / kap)
            assert v.max() < dlt + 1e-9 * dlt, f"missed crossing of neuron {j} in ({a}, {b})"


@pytest.mark.parametrize("kind, tau", [("sinc", np.inf), ("constant", np.inf), ("linear", np.inf),
                                       ("cubic", np.inf), ("constant", 1.5), ("linear", 1.5), ("cubic", 1.5),
                                       ("sinc", 1.5), ("sinc", 0.05)])
def test_spike_equations_and_no_missed_crossing(kind, tau):
    t_end = 12.0
    x = _bank(kind, 3, t_end, seed=11)
    W = np.random.default_rng(5).uniform(-1, 1, (3, 3))
    # a small bias: the drives change sign, so the integrators turn back below threshold
    nrn = Neurons(3, kappa=0.5, delta=0.15, bias=0.6, tau=tau)
    st = encode(x, W, nrn, t_end)
    assert st.count > 20
    _check_spikes(x.mix(W), nrn, st, t_end)


@settings(deadline=None)
@given(seed=st.integers(0, 10_000), kind=st.sampled_from(["sinc"] + KINDS), bias=st.floats(-0.5, 3.0),
       kappa=st.floats(0.2, 3.0), delta=st.floats(0.02, 0.5), leaky=st.booleans(), tau=st.floats(0.05, 20.0),
       v0_frac=st.floats(-1.0, 0.99))
def test_property_random_parameters(seed, kind, bias, kappa, delta, leaky, tau, v0_frac):
    t_end = 6.0 if kind != "sinc" or not leaky else 3.0
    x = _bank(kind, 2, t_end, seed)
    tau = tau if leaky else np.inf
    nrn = Neurons(2, kappa=kappa, delta=delta, bias=bias, tau=tau, v0=v0_frac * delta)
    W = np.random.default_rng(seed).uniform(-2, 2, (2, 2))
    st = encode(x, W, nrn, t_end)
    _check_spikes(x.mix(W), nrn, st, t_end, dense=st.count < 400)


def test_piecewise_with_many_pieces_and_repeatable():
    t = np.linspace(0.0, 10.0, 5001)       # a 500 Hz "recording"
    v = np.sin(2 * np.pi * 1.3 * t) + 0.3 * np.sin(2 * np.pi * 7.1 * t)
    x = PiecewisePolynomials.from_samples(t, v[None, :], kind="cubic")
    nrn = Neurons(1, kappa=0.2, delta=0.05, bias=1.2)
    a = encode(x, [[1.0]], nrn, 10.0)
    b = encode(x, [[1.0]], nrn, 10.0)
    assert np.array_equal(a.times, b.times)
    _check_spikes(x, nrn, a, 10.0, dense=False)


def test_network_mixes_input_kinds():
    """A population driven by a Fourier, a sinc and a piecewise bank at once, feeding a second one."""
    t_end = 8.0
    four = FourierSignals.random_paper(2, 4, 8.0, seed=1)
    sinc = SincSignals.random(2, 3.0, -2.0, 10.0, seed=2)
    pw = PiecewisePolynomials.random(2, 16, 0.0, 8.0, seed=3)
    Wf, Ws, Wp = np.array([[0.3, -0.2]]), np.array([[0.5, 0.4]]), np.array([[-0.6, 0.7]])
    net = Network()
    net.add_population("a", Neurons(1, kappa=0.5, delta=0.2, bias=1.0))
    net.add_population("b", Neurons(1, kappa=1.0, delta=0.5, bias=0.5))
    net.connect_input("f", "a", Wf)
    net.connect_input("s", "a", Ws)
    net.connect_input("p", "a", Wp)
    net.connect("a", "b", [[0.4]], kernel="delta", delay=0.1)
    res = net.run(t_end, {"f": four, "s": sinc, "p": pw})
    st = res["a"]
    assert st.count > 10
    t = np.r_[0.0, st.neuron(0)]
    q = (four.mix(Wf).integrate(t[:-1], t[1:])[0] + sinc.mix(Ws).integrate(t[:-1], t[1:])[0]
         + pw.mix(Wp).integrate(t[:-1], t[1:])[0] + 1.0 * np.diff(t))
    assert np.abs(q - 0.5 * 0.4).max() < 1e-10          # v0 = -delta: every interval climbs 2 delta
    # b: bias 0.5 and jumps of 0.4 at a's spikes + 0.1, in closed form
    ref, tl, v = [], 0.0, -0.5
    for ta in list(st.times + 0.1) + [np.inf]:
        while v + 0.5 * (min(ta, t_end) - tl) >= 0.5:      # crosses before the next arrival
            tl, v = tl + (0.5 - v) / 0.5, -0.5
            ref.append(tl)
        if ta > t_end:
            break
        v, tl = v + 0.5 * (ta - tl) + 0.4, ta
        while v >= 0.5:                                      # the jump fires at the arrival
            ref.append(ta)
            v -= 1.0
    assert np.allclose(res["b"].times, ref, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- training and decoding

@pytest.mark.parametrize("kind, tau", [("constant", np.inf), ("linear", np.inf), ("cubic", np.inf),
                                       ("cubic", 2.0), ("linear", 0.5), ("sinc", np.inf), ("sinc", 2.0)])
def test_fit_layer_learns_from_sampled_inputs(kind, tau):
    rng = np.random.default_rng(7)
    W = rng.uniform(-1, 1, (3, 5))
    nrn = Neurons(3, kappa=0.5, delta=0.3, bias=3.0, tau=tau)
    T = 30.0
    ex = []
    for e in range(2):
        x = _bank(kind, 5, T, seed=20 + e)
        ex.append((x, encode(x, W, nrn, T)))
    fit = fit_layer(ex, nrn)
    assert fit.identifiable.all()
    assert np.abs(fit.weights - W).max() < 1e-8


def test_fit_layer_reports_unidentifiable_sampled_layer():
    W = np.ones((1, 4))
    nrn = Neurons(1, kappa=1.0, delta=1.0, bias=1.0)
    x = PiecewisePolynomials.random(4, 10, 0.0, 3.0, seed=1)
    st = encode(x, 0.1 * W, nrn, 3.0)      # one or two spikes: 4 unknowns not determined
    with pytest.warns(IdentifiabilityWarning):
        fit = fit_layer([(x, st)], nrn)
    assert not fit.identifiable.any()


def test_decode_bandlimited_above_nyquist():
    T, w = 20.0, 3.0
    x = SincSignals.random(2, w, -30.0, T + 30.0, seed=5)    # energy well outside the window
    W = np.array([[1.0, 0.3], [0.4, 1.0], [0.7, -0.6]])
    nrn = Neurons(3, kappa=1.0, delta=0.1, bias=2.5)
    st = encode(x, W, nrn, T)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = decode_bandlimited(st, nrn, w, weights=W)
    assert not res.under_sampled and res.spike_rate > res.nyquist_rate
    tt = np.linspace(3.0, T - 3.0, 3001)
    err = np.abs(res.signals.sample(tt) - x.sample(tt)).max() / np.abs(x.sample(tt)).max()
    assert err < 1e-6


def test_decode_bandlimited_on_grid_is_exact():
    x = SincSignals.random(1, 2.0, 0.0, 15.0, seed=9)
    nrn = Neurons(2, kappa=1.0, delta=0.2, bias=3.0)
    W = np.array([[1.0], [-0.5]])
    res = decode_bandlimited(encode(x, W, nrn, 15.0), nrn, 2.0, weights=W, centers=x.centers)
    assert np.abs(res.signals.coefficients - x.coefficients).max() < 1e-8


def test_decode_bandlimited_leaky_neurons():
    T, w = 20.0, 2.0
    x = SincSignals.random(1, w, -20.0, T + 20.0, seed=6)
    W = np.array([[1.0], [0.6]])
    nrn = Neurons(2, kappa=1.0, delta=0.05, bias=3.0, tau=[2.0, 5.0])
    res = decode_bandlimited(encode(x, W, nrn, T), nrn, w, weights=W)
    tt = np.linspace(3.0, T - 3.0, 2001)
    assert np.abs(res.signals.sample(tt) - x.sample(tt)).max() < 1e-6 * np.abs(x.sample(tt)).max()


def test_decode_bandlimited_under_sampled_says_so():
    x = SincSignals.random(1, 3.0, 0.0, 20.0, seed=4)
    nrn = Neurons(1, kappa=1.0, delta=2.0, bias=2.0)            # about 0.5 spikes per unit < 3/pi
    with pytest.warns(UnderSampledWarning, match="Nyquist"):
        res = decode_bandlimited(encode(x, [[1.0]], nrn, 20.0), nrn, 3.0)
    assert res.under_sampled


def test_decode_bandlimited_bad_input():
    nrn = Neurons(1)
    st = encode(SincSignals([[0.1]], [1.0], 1.0), [[1.0]], nrn, 5.0)
    with pytest.raises(ValidationError) as e:
        decode_bandlimited(st, nrn, 0.0)
    assert e.value.name == "bandwidth"
    with pytest.raises(ValidationError) as e:
        decode_bandlimited(st, nrn, 1.0, centers=[0.0], extend=1.0)
    assert e.value.name == "extend"


# --------------------------------------------------------------------------- files and the command line

@pytest.mark.parametrize("kind", ["sinc", "cubic"])
def test_model_and_examples_files_hold_sampled_inputs(kind, tmp_path):
    from tem_sim.cli import main
    from tem_sim.io import load_fit, load_model, save_examples, save_model
    W = np.random.default_rng(1).uniform(-1, 1, (2, 3))
    nrn = Neurons(2, kappa=0.5, delta=0.3, bias=3.0)
    xs = [_bank(kind, 3, 20.0, seed=s) for s in (1, 2)]
    save_model(tmp_path / "m.npz", nrn, W, xs[0], t_end=20.0)
    assert load_model(tmp_path / "m.npz").signals == xs[0]
    assert main(["simulate", str(tmp_path / "m.npz"), "-o", str(tmp_path / "s.npz"), "--quiet"]) == 0
    from tem_sim import SpikeTrains
    assert SpikeTrains.load(tmp_path / "s.npz") == encode(xs[0], W, nrn, 20.0)
    save_examples(tmp_path / "e.npz", nrn, [(x, encode(x, W, nrn, 20.0)) for x in xs])
    assert main(["train", str(tmp_path / "e.npz"), "-o", str(tmp_path / "f.npz"), "--quiet"]) == 0
    assert np.abs(load_fit(tmp_path / "f.npz").weights - W).max() < 1e-8


def test_simulate_outside_the_recording_is_a_one_line_error(tmp_path, capsys):
    from tem_sim.cli import main
    from tem_sim.io import save_model
    x = PiecewisePolynomials.from_samples([0.0, 1.0, 2.0], [[0.0, 1.0, 0.0]])
    save_model(tmp_path / "m.npz", Neurons(1), [[1.0]], x, t_end=5.0)
    assert main(["simulate", str(tmp_path / "m.npz"), "-o", str(tmp_path / "s.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert "sampled range" in err and len(err.splitlines()) == 1


def test_slope_windows_stop_at_jumps_and_bound_the_slope():
    from tem_sim.engine import PP_BLOCK, slope_windows
    t = np.linspace(0.0, 10.0, 101)
    v = np.sin(t)[None, :]
    p = PiecewisePolynomials.from_samples(t, v, kind="cubic")
    c = np.array(p.coefficients)
    c[0, [7, 40, 41], 0] += 0.3                       # jumps at the starts of pieces 7, 40 and 41
    q = PiecewisePolynomials(p.breaks, c)
    sup, slope = q.piece_bounds()
    we, wb = slope_windows(q, slope, sup)
    h = np.diff(q.breaks)
    left = np.array([np.polyval(c[0, m - 1, ::-1], h[m - 1]) for m in range(1, q.n_pieces)])
    jumps = {m for m in range(1, q.n_pieces) if abs(left[m - 1] - c[0, m, 0]) > 1e-9}
    assert jumps == {7, 8, 40, 42}                    # a shifted piece jumps at both ends
    for k in range(q.n_pieces):
        e = int(np.searchsorted(q.breaks, we[0, k])) if np.isfinite(we[0, k]) else q.n_pieces
        blk = min((k // PP_BLOCK + 2) * PP_BLOCK, q.n_pieces)
        assert k < e <= blk
        assert not any(k < m < e for m in jumps) and (e in jumps or e == blk)
        assert wb[0, k] >= slope[0, k:e].max()


@pytest.mark.parametrize("seed", range(4))
def test_discontinuous_piecewise_drive_no_missed_crossing(seed):
    """Random quadratic pieces that jump at every break (and sign-changing): the search must not
    carry a curvature bound across a jump."""
    rng = np.random.default_rng(seed)
    breaks = np.sort(np.r_[0.0, rng.uniform(0, 8, 40), 8.0])
    x = PiecewisePolynomials(breaks, rng.uniform(-3, 3, (2, breaks.size - 1, 3)))
    nrn = Neurons(2, kappa=0.3, delta=0.1, bias=0.5, tau=[np.inf, 1.0])
    W = np.array([[1.0, 0.5], [-0.4, 1.0]])
    st = encode(x, W, nrn, 8.0)
    assert st.count > 20
    _check_spikes(x.mix(W), nrn, st, 8.0)
