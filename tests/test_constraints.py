"""Tests of tem_sim.constraints: row entries against quadrature, equations against true weights."""
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from tem_sim import encode
from tem_sim.constraints import EQ_E0, EQ_E1, SpikeInput, interval_rows, layer_rows, neuron_rows
from tem_sim.exceptions import ValidationError
from tem_sim.kernels import Delta, Exponential, PeriodicLowpass
from tem_sim.neurons import Neurons
from tem_sim.signals import FourierSignals
from tem_sim.spikes import SpikeTrains

from tem_reference import poisson_spikes, spike_layer


def _random_bank(n, M, T, seed):
    rng = np.random.default_rng(seed)
    return FourierSignals.from_one_sided(rng.normal(size=(n, M + 1)) + 1j * rng.normal(size=(n, M + 1))
                                         * (np.arange(M + 1) > 0), T)


@pytest.mark.parametrize("tau", [math.inf, 0.7, 5.0])
def test_fourier_rows_match_quadrature(tau):
    x = _random_bank(3, 5, 4.0, seed=1)
    a = np.array([0.0, 0.3, 2.9, 17.1, 5.0])
    b = np.array([0.5, 0.3 + 1e-3, 6.2, 17.4, 5.0 + 1e-9])
    L = interval_rows(x, a, b, tau)
    assert L.shape == (5, 3)
    for k in range(a.size):
        for i in range(3):
            f = (lambda s: x.sample([s])[i, 0]) if math.isinf(tau) else \
                (lambda s: math.exp(-(b[k] - s) / tau) * x.sample([s])[i, 0])
            ref = quad(f, a[k], b[k], epsabs=1e-13, epsrel=1e-12, limit=200)[0]
            assert L[k, i] == pytest.approx(ref, rel=1e-10, abs=1e-15)


def test_leaky_rows_tend_to_perfect_rows():
    x = _random_bank(2, 4, 3.0, seed=2)
    a, b = np.array([0.1, 1.0]), np.array([0.9, 2.5])
    np.testing.assert_allclose(interval_rows(x, a, b, 1e12), interval_rows(x, a, b), rtol=1e-9)


def test_short_interval_relative_accuracy():
    # Fourier rows for a tiny interval: x(mid) * h to relative precision
    x = _random_bank(2, 6, 10.0, seed=3)
    a = np.array([123.456])
    h = 1e-9
    b = a + h
    hh = float(b[0] - a[0])          # the interval actually represented
    for tau in (math.inf, 0.5):
        L = interval_rows(x, a, b, tau)
        np.testing.assert_allclose(L[0], x.sample(a + hh / 2)[:, 0] * hh, rtol=1e-8)


def _spike_input(kernel, delay=0.0):
    pre = SpikeTrains([0.2, 0.5, 0.5, 1.0, 1.7, 3.0], [0, 2, 0, 1, 2, 0], n_neurons=4, t_stop=4.0)
    return SpikeInput(pre, kernel, delay=delay)


def _ref_spike_entry(si, i, a, b, tau, kernel):
    arr = si.arrivals(i)
    lam = 0.0 if math.isinf(tau) else 1.0 / tau
    if isinstance(kernel, Delta):
        return sum(math.exp(-lam * (b - s)) for s in arr if a < s <= b)
    total = 0.0
    for s in arr:
        if s < b:
            lo = max(a, s)
            total += quad(lambda t: math.exp(-lam * (b - t)) * math.exp(-(t - s) / kernel.tau_s), lo, b,
                          epsabs=1e-15, epsrel=1e-13)[0]
    return total


@pytest.mark.parametrize("kernel", [Delta(), Exponential(0.4)])
@pytest.mark.parametrize("tau", [math.inf, 0.8, 0.4])
def test_spike_rows_are_sparse_and_match_reference(kernel, tau):
    si = _spike_input(kernel, delay=np.array([0.0, 0.1, 0.25, 0.0]))
    a = np.array([0.0, 0.2, 0.4, 0.75, 1.0, 2.0, 3.5])
    b = np.array([0.2, 0.75, 0.75, 1.1, 3.0, 3.0, 4.0])
    L = interval_rows(si, a, b, tau)
    assert sp.issparse(L) and L.shape == (7, 4)
    D = L.toarray()
    for k in range(a.size):
        for i in range(4):
            assert D[k, i] == pytest.approx(_ref_spike_entry(si, i, a[k], b[k], tau, kernel), rel=1e-10, abs=1e-14)
    assert np.all(D[:, 3] == 0) and L[:, 3].nnz == 0     # neuron 3 never spikes: no entries
    if isinstance(kernel, Delta) and math.isinf(tau):
        # an arrival at exactly b belongs to (a, b]; one at exactly a does not
        assert D[0, 0] == 1.0          # arrival 0.2 at b = 0.2
        assert D[1, 0] == 1.0          # (0.2, 0.75]: 0.5 only
        assert D[2, 2] == 1.0          # neuron 2 arrives at 0.5 + 0.25 = b = 0.75
        assert D[3, 2] == 0.0          # ... and not in (0.75, 1.1]


@settings(max_examples=40)
@given(seed=st.integers(0, 2 ** 31 - 1), leaky=st.booleans(), ties=st.booleans())
def test_dense_delta_rows_of_chained_intervals_match_a_brute_force_count(seed, leaky, ties):
    """Recurrent populations give dense delta rows built run by run (a neuron's chained spike
    intervals: one slice of the sorted arrivals each); mixed with unchained rows and exact ties
    of arrivals and interval ends, every entry is the brute-force (weighted) count over ``(a, b]``."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    t = rng.uniform(0.0, 10.0, 300)
    if ties:
        t = np.round(t, 1)
    delay = np.round(rng.uniform(0.0, 0.3, n), 1) if ties else rng.uniform(0.0, 0.3, n)
    si = SpikeInput(SpikeTrains(t, rng.integers(0, n, t.size), n_neurons=n, t_stop=11.0), Delta(), delay)
    a_parts, b_parts = [], []
    for _ in range(int(rng.integers(1, 4))):
        e = np.sort(rng.uniform(0.0, 11.0, int(rng.integers(8, 30))))
        e = np.round(e, 1) if ties else e
        a_parts += [np.concatenate([[0.0], e[:-1]]), rng.uniform(0.0, 9.0, 3)]
        b_parts += [e, a_parts[-1] + rng.uniform(0.0, 2.0, 3)]
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    tau = np.where(rng.random(a.size) < 0.5, 0.7, np.inf) if leaky else np.inf
    L = interval_rows(si, a, b, tau)
    assert sp.issparse(L) and L.has_canonical_format
    lam = np.where(np.isfinite(tau), 1.0 / tau, 0.0) * np.ones(a.size)
    ref = np.zeros((a.size, n))
    for i in range(n):
        s = si.arrivals(i)
        for k in range(a.size):
            inside = s[(s > a[k]) & (s <= b[k])]
            ref[k, i] = np.exp(-lam[k] * (b[k] - inside)).sum()
    np.testing.assert_allclose(L.toarray(), ref, rtol=1e-13, atol=0)
    assert L.nnz == np.count_nonzero(ref)


def test_periodic_lowpass_input_is_its_fourier_series():
    pre = SpikeTrains([0.5, 2.0, 7.5, 3.0], [0, 0, 1, 1], n_neurons=2, t_stop=10.0)
    k = PeriodicLowpass(10.0, 3)
    si = SpikeInput(pre, k)
    F = si.to_fourier()
    np.testing.assert_allclose(F.coefficients[0], k.coefficients([0.5, 2.0]), atol=1e-15)
    a, b = np.array([0.0, 1.0]), np.array([4.0, 9.0])
    np.testing.assert_allclose(interval_rows(si, a, b), interval_rows(F, a, b), rtol=1e-13)
    si4 = SpikeInput(pre, PeriodicLowpass(10.0, 3, first=1))
    np.testing.assert_allclose(si4.to_fourier().coefficients[1], k.coefficients([3.0]), atol=1e-15)


@pytest.mark.parametrize("tau", [math.inf, 2.0])
def test_rows_hold_for_true_weights_of_engine_spikes(tau):
    rng = np.random.default_rng(5)
    x = FourierSignals.random_paper(6, 5, 10.0, seed=rng)
    W = rng.random((3, 6))
    nrn = Neurons(3, kappa=[1.0, 2.0, 0.5], delta=[1.0, 0.5, 0.3], bias=[1.0, 2.0, 1.5],
                  v0=[-1.0, 0.2, 0.0], tau=tau)
    st = encode(x, W, nrn, 12.0)
    rows = layer_rows([(x, st)], nrn, inequalities=True, n_points=5)
    for j, R in enumerate(rows):
        assert R.n_rows == st.counts()[j] == R.n_spikes
        assert R.kind[0] == EQ_E0 and np.all(R.kind[1:] == EQ_E1)
        np.testing.assert_allclose(R.A @ W[j], R.r, rtol=1e-11, atol=1e-11)
        assert R.G.shape == (5 * (R.n_spikes + 1), 6)
        assert np.all(R.G @ W[j] <= R.h + 1e-11)
        # and a wrong weight vector violates the equalities
        assert np.abs(R.A @ (W[j] * 1.01) - R.r).max() > 1e-3


def test_rows_for_delta_input_with_jump_triggered_spikes():
    pre = poisson_spikes(5, 3.0, 8.0, seed=11)
    W = np.random.default_rng(4).random((2, 5)) * 1.5
    for tau in (math.inf, 1.5):
        out = spike_layer(pre, W, kappa=1.0, delta=0.5, bias=0.8, t_end=8.0, kernel="delta", tau=tau)
        nrn = Neurons(2, kappa=1.0, delta=0.5, bias=0.8, tau=tau)
        si = SpikeInput(pre, Delta())
        arrivals = set(pre.times.tolist())
        for j in range(2):
            tj = out.neuron(j)
            n_jump = sum(t in arrivals for t in tj)
            assert n_jump > 0   # the test exercises jump-triggered spikes
            R = neuron_rows([(si, out)], nrn, j, inequalities=True)
            assert sp.issparse(R.A) and R.n_rows == tj.size - n_jump
            np.testing.assert_allclose(R.A @ W[j], R.r, rtol=1e-11, atol=1e-11)
            assert np.all(R.G @ W[j] <= R.h + 1e-11)


def test_rows_for_exponential_input():
    pre = poisson_spikes(4, 2.0, 6.0, seed=12)
    W = np.random.default_rng(6).random((2, 4))
    out = spike_layer(pre, W, kappa=1.0, delta=0.4, bias=0.5, t_end=6.0, kernel="exponential", tau_s=0.3)
    nrn = Neurons(2, kappa=1.0, delta=0.4, bias=0.5)
    rows = layer_rows([(SpikeInput(pre, Exponential(0.3)), out)], nrn, inequalities=True)
    for j, R in enumerate(rows):
        assert R.n_rows == out.counts()[j] > 4
        np.testing.assert_allclose(R.A @ W[j], R.r, rtol=1e-10, atol=1e-10)
        assert np.all(R.G @ W[j] <= R.h + 1e-10)


def test_margin_relaxes_inequalities():
    x = FourierSignals.from_one_sided([[1.0]], 10.0)
    st = SpikeTrains([2.0, 4.0], [0, 0], n_neurons=1, t_stop=5.0)
    R0 = neuron_rows([(x, st)], Neurons(1), 0, inequalities=True, n_points=3)
    R1 = neuron_rows([(x, st)], Neurons(1), 0, inequalities=True, n_points=3, margin=0.1)
    np.testing.assert_allclose(R1.h - R0.h, 0.1)
    # I1 after the last spike reaches the window end t_stop = 5: v(5) = -1 + 1 = 0 < 1
    assert R0.G[-1, 0] == pytest.approx(1.0) and R0.h[-1] == pytest.approx(2.0)


def test_validation_names_the_parameter():
    x = FourierSignals.random_paper(3, 4, 10.0, seed=0)
    st = SpikeTrains([1.0], [0], n_neurons=1, t_stop=2.0)
    nrn = Neurons(1)
    with pytest.raises(ValidationError, match=r"examples\[1\]\.inputs"):
        layer_rows([(x, st), (FourierSignals.random_paper(2, 4, 10.0, seed=1), st)], nrn)
    with pytest.raises(ValidationError, match=r"output_spikes\.n_neurons"):
        layer_rows([(x, SpikeTrains([1.0], [1], n_neurons=2, t_stop=2.0))], nrn)
    with pytest.raises(ValidationError, match=r"examples\[0\]\.output_spikes"):
        layer_rows([(x, [1.0, 2.0])], nrn)
    with pytest.raises(ValidationError, match="t_start"):
        layer_rows([(x, SpikeTrains([1.0], [0], n_neurons=1, t_start=0.5, t_stop=2.0))], nrn)
    with pytest.raises(ValidationError, match="examples"):
        layer_rows((x, st), nrn)
    with pytest.raises(ValidationError, match="margin"):
        layer_rows([(x, st)], nrn, inequalities=True, margin=-1.0)
    with pytest.raises(ValidationError, match="tau"):
        interval_rows(x, [0.0], [1.0], tau=-1.0)
    with pytest.raises(ValidationError, match="b"):
        interval_rows(x, [1.0], [0.0])
    with pytest.raises(ValidationError, match="SpikeInput.delay"):
        SpikeInput(st, Delta(), delay=-0.1)
    with pytest.raises(ValidationError, match="times"):
        SpikeTrains([np.nan], [0], n_neurons=1)
