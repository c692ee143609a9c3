"""The compiled engine on analog-driven layers, against closed forms and independent oracles."""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tem_sim as ts
from tem_sim.engine import lower_neurons, simulate_lowered

from oracle import assert_ctrl_c_stops, leaky_v, perfect_v, trajectory

ZERO = ts.FourierSignals.from_one_sided([[0.0]], period=1.0)


# ----------------------------------------------------------------- closed forms
@pytest.mark.parametrize("kappa,delta,bias,v0", [(1.0, 1.0, 1.0, -1.0), (0.3, 2.5, 7.25, 0.4),
                                                 (10.0, 1.0, 10.0, -1.0), (2.0, 0.1, 0.013, 0.09)])
def test_constant_drive_perfect_closed_form(kappa, delta, bias, v0):
    t_end = 40 * 2 * kappa * delta / bias
    st_ = ts.encode(ZERO, [[1.0]], ts.Neurons(1, kappa=kappa, delta=delta, bias=bias, v0=v0), t_end)
    k = np.arange(1, st_.count + 1)
    expected = kappa * (delta - v0) / bias + (k - 1) * 2 * kappa * delta / bias
    assert st_.count >= 39
    np.testing.assert_allclose(st_.times, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kappa,delta,bias,tau,v0", [(1.0, 1.0, 3.0, 1.0, -1.0), (0.5, 0.2, 1.0, 2.0, 0.1)])
def test_constant_drive_leaky_closed_form(kappa, delta, bias, tau, v0):
    P = bias * tau / kappa  # steady state
    first = tau * np.log((P - v0) / (P - delta))
    period = tau * np.log((P + delta) / (P - delta))
    st_ = ts.encode(ZERO, [[1.0]], ts.Neurons(1, kappa=kappa, delta=delta, bias=bias, v0=v0, tau=tau),
                    first + 30 * period)
    k = np.arange(st_.count)
    np.testing.assert_allclose(st_.times, first + k * period, rtol=1e-12)
    assert st_.count == 31


def test_leaky_below_threshold_never_fires():
    # steady state bias*tau/kappa = 0.9 < delta: no spike ever
    st_ = ts.encode(ZERO, [[1.0]], ts.Neurons(1, bias=0.9, tau=1.0), 1000.0)
    assert st_.count == 0


def test_negative_constant_drive_never_fires():
    assert ts.encode(ZERO, [[1.0]], ts.Neurons(1, bias=-1.0), 100.0).count == 0


# ----------------------------------------------------------------- spike-time equations
def _layer(seed, n_in=20, n_out=5, n_comp=10, bias=1.0, scale=1.0, tau=np.inf, kappa=1.0, delta=1.0):
    rng = np.random.default_rng(seed)
    x = ts.FourierSignals.random_paper(n_in, n_comp, 10.0, seed=rng)
    W = scale * (rng.random((n_out, n_in)) - (0.5 if scale < 0 else 0.0))
    nrn = ts.Neurons(n_out, kappa=kappa, delta=delta, bias=bias, tau=tau)
    return x, W, nrn


def test_paper_layer_spike_equations_E0_E1():
    x, W, nrn = _layer(1)
    spikes = ts.encode(x, W, nrn, 200.0)
    y = x.mix(W)
    assert spikes.count > 2000
    for j in range(nrn.n):
        tj = spikes.neuron(j)
        # E1: (1/kappa) int_{t_k}^{t_{k+1}} (y + b) = 2 delta
        e1 = (y.integrate(tj[:-1], tj[1:])[j] + nrn.bias[j] * np.diff(tj)) / nrn.kappa[j]
        np.testing.assert_allclose(e1, 2 * nrn.delta[j], rtol=0, atol=1e-10 * 2 * nrn.delta[j])
        # E0 from v0
        e0 = (y.integrate([0.0], tj[:1])[j, 0] + nrn.bias[j] * tj[0]) / nrn.kappa[j]
        assert abs(e0 - (nrn.delta[j] - nrn.v0[j])) <= 1e-10 * 2 * nrn.delta[j]


def test_leaky_layer_spike_equations():
    x, W, nrn = _layer(2, n_in=4, n_out=3, bias=2.0, tau=0.7)
    spikes = ts.encode(x, W, nrn, 100.0)
    y = x.mix(W)
    assert spikes.count > 100
    for j in range(nrn.n):
        tj = spikes.neuron(j)
        for k in range(len(tj) - 1):
            v = leaky_v(y.coefficients[j], y.period, nrn.bias[j], nrn.kappa[j], nrn.tau[j], tj[k], -nrn.delta[j],
                        [tj[k + 1]])[0]
            assert abs(v - nrn.delta[j]) <= 1e-10 * 2 * nrn.delta[j]


# ----------------------------------------------------------------- no missed crossings
def _check_no_missed(y, nrn, spikes, t_end, n_per_unit=3000):
    for j in range(nrn.n):
        pieces = trajectory(y.coefficients[j], y.period, nrn.bias[j], nrn.kappa[j], nrn.delta[j], nrn.v0[j],
                            nrn.tau[j], spikes.neuron(j), t_end, n_per_unit)
        for tg, vg in pieces:
            # strictly inside an interval the integrator stays below threshold (the end point is the spike)
            inner = vg[:-1]
            assert inner.size == 0 or inner.max() < nrn.delta[j] + 1e-9, \
                f"neuron {j}: missed crossing near t={tg[:-1][np.argmax(inner)]}"
        # the last piece ends at t_end without a spike: below threshold there too
        tg, vg = pieces[-1]
        if spikes.neuron(j).size == 0 or spikes.neuron(j)[-1] < t_end:
            assert vg[-1] < nrn.delta[j] + 1e-9


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_dense_sampling_sign_changing_drive(seed):
    # zero-mean weights and a small bias: the drive changes sign, v is not monotone
    rng = np.random.default_rng(seed)
    x = ts.FourierSignals.random_paper(6, 8, 10.0, seed=rng)
    W = rng.normal(size=(4, 6))
    nrn = ts.Neurons(4, kappa=0.5, delta=0.3, bias=rng.uniform(-0.2, 0.5, 4))
    t_end = 30.0
    spikes = ts.encode(x, W, nrn, t_end)
    y = x.mix(W)
    assert np.ptp(y.sample(np.linspace(0, 10, 500)) + nrn.bias[:, None], axis=1).min() > 0
    u = y.sample(np.linspace(0, 10, 2000)) + nrn.bias[:, None]
    assert (u.min(axis=1) < 0).all(), "the test needs drives that change sign"
    _check_no_missed(y, nrn, spikes, t_end)
    # and every spike is a real crossing (E1)
    for j in range(nrn.n):
        tj = spikes.neuron(j)
        if tj.size > 1:
            e1 = (y.integrate(tj[:-1], tj[1:])[j] + nrn.bias[j] * np.diff(tj)) / nrn.kappa[j]
            np.testing.assert_allclose(e1, 2 * nrn.delta[j], atol=1e-10 * 2 * nrn.delta[j], rtol=0)


def test_dense_sampling_leaky_sign_changing():
    rng = np.random.default_rng(11)
    x = ts.FourierSignals.random_paper(3, 6, 5.0, seed=rng)
    W = rng.normal(size=(3, 3)) * 2
    nrn = ts.Neurons(3, kappa=0.4, delta=0.5, bias=0.3, tau=[0.5, 2.0, 10.0])
    spikes = ts.encode(x, W, nrn, 20.0)
    assert spikes.count > 10
    _check_no_missed(x.mix(W), nrn, spikes, 20.0)


@given(seed=st.integers(0, 2**32 - 1), n_comp=st.integers(1, 12), bias=st.floats(-1.0, 3.0),
       kappa=st.floats(0.05, 5.0), delta=st.floats(0.05, 2.0), leaky=st.booleans(),
       tau=st.floats(0.1, 20.0), v0_frac=st.floats(0.0, 0.999))
def test_property_random_parameters(seed, n_comp, bias, kappa, delta, leaky, tau, v0_frac):
    rng = np.random.default_rng(seed)
    period = float(rng.uniform(0.5, 20.0))
    one = rng.normal(size=(1, n_comp)) * rng.uniform(0.1, 3.0)
    x = ts.FourierSignals.from_one_sided(one, period)
    nrn = ts.Neurons(1, kappa=kappa, delta=delta, bias=bias, v0=-delta + 2 * delta * v0_frac,
                     tau=tau if leaky else np.inf)
    t_end = 3 * period
    spikes = ts.encode(x, [[1.0]], nrn, t_end, max_spikes=200_000)
    if spikes.count > 20_000:
        return  # far too dense to sample densely; covered by the equations tests
    n_per_unit = int(min(4000, max(200, 40 * (spikes.count + 1) / t_end)))
    _check_no_missed(x, nrn, spikes, t_end, n_per_unit=n_per_unit)
    tj = spikes.neuron(0)
    # every spike is at threshold (E1/E0 or the leaky equation)
    starts = np.concatenate([[0.0], tj[:-1]])
    vstart = np.concatenate([[nrn.v0[0]], np.full(max(tj.size - 1, 0), -delta)])
    for a, va, b in zip(starts, vstart, tj):
        if leaky:
            v = leaky_v(x.coefficients[0], period, bias, kappa, tau, a, va, [b])[0]
        else:
            v = perfect_v(x.coefficients[0], period, bias, kappa, a, va, [b])[0]
        scale = delta + np.abs(x.coefficients).sum() * max(period, 1) / kappa
        assert abs(v - delta) <= 1e-10 * scale


# ----------------------------------------------------------------- tangent (grazing) crossings
def _tangent_setup():
    # u = 1 + 2 cos(w t): v rises until u = 0 at w t* = 2 pi / 3, where it just touches delta
    T = 10.0
    w = 2 * np.pi / T
    t_star = (2 * np.pi / 3) / w
    integral = t_star + (2 / w) * np.sin(w * t_star)
    x = ts.FourierSignals.from_one_sided([[0.0, 1.0]], T)  # 2 cos(w t)
    return x, t_star, integral


def test_tangent_crossing_is_not_missed():
    x, t_star, integral = _tangent_setup()
    delta = integral / 2  # v(t*) = -delta + integral = delta exactly: a grazing touch
    spikes = ts.encode(x, [[1.0]], ts.Neurons(1, kappa=1.0, delta=delta, bias=1.0), 3.9)
    assert spikes.count == 1
    assert abs(spikes.times[0] - t_star) < 1e-5  # a tangent root is determined to ~sqrt(eps)


def test_near_tangent_miss_does_not_fire():
    x, t_star, integral = _tangent_setup()
    delta = integral / 2 + 1e-7  # passes 2e-7 below threshold
    spikes = ts.encode(x, [[1.0]], ts.Neurons(1, kappa=1.0, delta=delta, bias=1.0), 3.9)
    assert spikes.count == 0


def test_near_tangent_hit_fires_at_first_crossing():
    x, t_star, integral = _tangent_setup()
    delta = integral / 2 - 1e-7  # crosses twice, 2e-7 above threshold around t*
    spikes = ts.encode(x, [[1.0]], ts.Neurons(1, kappa=1.0, delta=delta, bias=1.0), 3.9)
    assert spikes.count == 1
    t1 = spikes.times[0]
    assert t1 < t_star
    v = perfect_v(x.coefficients[0], 10.0, 1.0, 1.0, 0.0, -delta, [t1])[0]
    assert abs(v - delta) < 1e-12
    # and nothing above threshold before it
    tg = np.linspace(0, t1, 200001)[:-1]
    assert perfect_v(x.coefficients[0], 10.0, 1.0, 1.0, 0.0, -delta, tg).max() < delta


# ----------------------------------------------------------------- determinism and limits
def test_bit_for_bit_repeatable():
    x, W, nrn = _layer(7)
    a = ts.encode(x, W, nrn, 100.0)
    b = ts.encode(x, W, nrn, 100.0)
    assert a == b
    assert a.times.tobytes() == b.times.tobytes()


def test_spikes_sorted_and_in_window():
    x, W, nrn = _layer(8, n_out=30)
    s = ts.encode(x, W, nrn, 50.0)
    assert np.all(np.diff(s.times) >= 0)
    assert s.times.min() > 0 and s.times.max() <= 50.0
    ties = np.diff(s.times) == 0
    assert np.all(np.diff(s.indices)[ties] > 0)


def test_max_spikes_guard():
    x, W, nrn = _layer(9)
    with pytest.raises(ts.SimulationLimitError, match="max_spikes"):
        ts.encode(x, W, nrn, 1000.0, max_spikes=100)
    with pytest.raises(ValueError):
        ts.encode(x, W, nrn, 1000.0, max_spikes=100)


def test_large_layer_matches_per_neuron_runs():
    # the heap interleaves neurons; each neuron's train must equal its solo run
    x, W, nrn = _layer(10, n_out=40)
    together = ts.encode(x, W, nrn, 30.0)
    y = x.mix(W)  # solo runs get the same drive coefficients (a 1-row matmul may round differently)
    for j in (0, 17, 39):
        yj = ts.FourierSignals(y.coefficients[j:j + 1], y.period)
        solo = ts.encode(yj, [[1.0]], nrn.subset(slice(j, j + 1)), 30.0)
        np.testing.assert_array_equal(solo.times, together.neuron(j))


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,name", [
    (dict(kappa=0.0), "kappa"), (dict(kappa=-1.0), "kappa"), (dict(delta=0.0), "delta"),
    (dict(v0=1.0), "v0"), (dict(v0=-1.5), "v0"), (dict(bias=np.nan), "bias"), (dict(tau=0.0), "tau"),
    (dict(tau=-2.0), "tau"), (dict(kappa=[1.0, 2.0]), "kappa"),
])
def test_bad_neuron_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ts.Neurons(3, **kwargs)


def test_bad_encode_arguments():
    x, W, nrn = _layer(12)
    with pytest.raises(ValueError, match="weights"):
        ts.encode(x, W[:, :3], nrn, 10.0)
    Wn = W.copy()
    Wn[0, 0] = np.nan
    with pytest.raises(ValueError, match="weights"):
        ts.encode(x, Wn, nrn, 10.0)
    Wi = W.copy()
    Wi[1, 1] = np.inf
    with pytest.raises(ValueError, match="weights"):
        ts.encode(x, Wi, nrn, 10.0)
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="t_end"):
            ts.encode(x, W, nrn, bad)
    with pytest.raises(ValueError, match="max_spikes"):
        ts.encode(x, W, nrn, 10.0, max_spikes=0)
    with pytest.raises(ValueError, match="signals"):
        ts.encode(np.ones((20, 19)), W, nrn, 10.0)
    with pytest.raises(ValueError, match="coefficients"):
        ts.FourierSignals([[np.nan, 1.0, np.nan]], 1.0)
    with pytest.raises(ValueError, match="coefficients"):
        ts.FourierSignals([[1.0, 1.0, 2.0]], 1.0)  # not conjugate symmetric
    with pytest.raises(ValueError, match="period"):
        ts.FourierSignals([[1.0]], 0.0)


# ----------------------------------------------------------------- Ctrl-C
def test_ctrl_c_interrupts_a_long_run():
    assert_ctrl_c_stops("""
        import numpy as np, tem_sim as ts
        x = ts.FourierSignals.random_paper(20, 10, 10.0, seed=0)
        W = np.random.default_rng(0).random((50, 20))
    """, "ts.encode(x, W, ts.Neurons(50, bias=1.0), 1e9, max_spikes=10**12)", wait=1.0)


def test_stats_report_work():
    x, W, nrn = _layer(13)
    low = lower_neurons(nrn, x.mix(W))
    times, idx, _, stats = simulate_lowered(low, 100.0, 10**7)
    assert stats["spikes"] == times.size
    assert stats["evaluations"] < 20 * times.size
