"""Signals (closed-form integrals) and spike-train containers."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.integrate import quad

import tem_sim as ts


def test_integrals_match_quadrature_including_long_times():
    x = ts.FourierSignals.random_paper(3, 10, 10.0, seed=1)
    a = np.array([0.3, 1000.2, 5.0, 77.7])
    b = np.array([0.9, 1003.7, 5.0 + 1e-7, 60.0])  # last: b < a gives the negated integral
    got = x.integrate(a, b)
    for i in range(3):
        for k in range(4):
            ref = quad(lambda s: x.sample([s])[i, 0], a[k], b[k], epsabs=1e-13, epsrel=1e-13, limit=200)[0]
            assert abs(got[i, k] - ref) <= 1e-12 * max(1.0, abs(ref))


def test_short_intervals_keep_relative_accuracy():
    x = ts.FourierSignals.random_paper(1, 10, 10.0, seed=2)
    a = np.array([123.456])
    for h in (1e-3, 1e-6, 1e-9):
        b = a + h
        h = (b - a)[0]  # the interval actually represented
        got = x.integrate(a, b)[0, 0]
        # Simpson's rule is exact to O(h^5) on such a short interval
        f = x.sample(np.array([a[0], a[0] + h / 2, a[0] + h]))[0]
        ref = h / 6 * (f[0] + 4 * f[1] + f[2])
        assert abs(got - ref) <= 1e-10 * abs(ref)


def test_paper_convention_is_cosine_series():
    c = np.array([[0.3, 0.2, 0.7]])
    x = ts.FourierSignals.from_paper(c, 10.0)
    t = np.linspace(0, 20, 57)
    expected = 0.3 + 2 * (0.2 * np.cos(2 * np.pi * t / 10) + 0.7 * np.cos(4 * np.pi * t / 10))
    np.testing.assert_allclose(x.sample(t)[0], expected, atol=1e-14)
    np.testing.assert_allclose(x.one_sided, c)
    dt = 1e-6
    np.testing.assert_allclose(x.sample_derivative([3.0])[0, 0],
                               (x.sample([3 + dt]) - x.sample([3 - dt]))[0, 0] / (2 * dt), rtol=1e-6)


def test_mix_is_linear_and_seeded_draws_repeat():
    x = ts.FourierSignals.random_paper(4, 5, 2.0, seed=7)
    assert x == ts.FourierSignals.random_paper(4, 5, 2.0, seed=7)
    W = np.arange(8.0).reshape(2, 4)
    t = np.linspace(0, 3, 11)
    np.testing.assert_allclose(x.mix(W).sample(t), W @ x.sample(t), atol=1e-12)
    assert pickle.loads(pickle.dumps(x)) == x
    with pytest.raises(ValueError, match="seed"):
        ts.FourierSignals.random_paper(2, seed=None)


def test_spike_trains_views_and_roundtrip(tmp_path):
    st = ts.SpikeTrains([0.5, 0.2, 0.9, 0.2], [1, 0, 1, 2], n_neurons=4, t_stop=1.0)
    assert st.times.tolist() == [0.2, 0.2, 0.5, 0.9]
    assert st.indices.tolist() == [0, 2, 1, 1]
    assert st.counts().tolist() == [1, 2, 1, 0]
    assert st.neuron(3).size == 0
    assert st.first(1).counts().tolist() == [1, 1, 1, 0]
    assert st.restrict(0.3, 1.0).count == 2
    p = tmp_path / "s.npz"
    st.save(p)
    back = ts.SpikeTrains.load(p)
    assert back == st
    assert pickle.loads(pickle.dumps(st)) == st
    other = ts.SpikeTrains(st.times + 1e-14, st.indices, 4, 0.0, 1.0)
    assert st.allclose(other) and not st.allclose(ts.SpikeTrains(st.times * 1.01, st.indices, 4, 0, 1.0))
    tr = ts.SpikeTrains.from_trains([[0.1, 0.3], [], [0.2]], t_stop=1.0)
    assert tr.indices.tolist() == [0, 2, 0]


@pytest.mark.parametrize("kwargs,name", [
    (dict(times=[0.1, np.nan], indices=[0, 0], n_neurons=1), "times"),
    (dict(times=[0.1, 0.2], indices=[0, 5], n_neurons=2), "indices"),
    (dict(times=[0.1, 0.2], indices=[0], n_neurons=2), "indices"),
    (dict(times=[0.1, 2.0], indices=[0, 0], n_neurons=1, t_stop=1.0), "times"),
    (dict(times=[0.1], indices=[0.5], n_neurons=1), "indices"),
])
def test_spike_trains_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ts.SpikeTrains(**kwargs)


def test_load_rejects_unreadable_file(tmp_path):
    p = tmp_path / "junk.npz"
    p.write_text("not a zip")
    with pytest.raises(ValueError, match="path"):
        ts.SpikeTrains.load(p)
