"""Tests of tem_sim.threelayer: a 2 -> 3 -> 3 -> 6 network learned layer by layer from its output spikes."""
from __future__ import annotations

import numpy as np
import pytest

from tem_sim import FourierSignals, Neurons, PeriodicLowpass
from tem_sim.exceptions import ValidationError
from tem_sim.threelayer import align_three_layers, fit_three_layer, simulate_three_layer

T = 10.0
N1 = Neurons(3, kappa=20.0, delta=1.0, bias=10.0)     # about 2 spikes per neuron and period
N2 = Neurons(3, kappa=1.5, delta=1.0, bias=1.0)       # about 4: faster than hidden layer 1
NO = Neurons(6, kappa=1.0, delta=1.0, bias=1.0)
K1, K2 = PeriodicLowpass(T, 5), PeriodicLowpass(T, 10)


def network(seed, D, n_examples=3, n2=N2):
    rng = np.random.default_rng(seed)
    W1, W2, W3 = rng.random((3, 2)), rng.random((3, 3)), rng.random((6, 3))
    xs = [FourierSignals.random_paper(2, 10, T, seed=rng) for _ in range(n_examples)]
    sims = [simulate_three_layer(x, W1, W2, W3, N1, n2, NO, K1, K2, D) for x in xs]
    return (W1, W2, W3), xs, sims


def test_simulate_three_layer_matches_layer_by_layer_encoding():
    from tem_sim import encode
    from tem_sim.twolayer import hidden_drive
    (W1, W2, W3), xs, sims = network(0, 30.0, 1)
    h1, h2, o = sims[0]
    ref1 = encode(xs[0], W1, N1, T)
    ref2 = encode(hidden_drive(ref1, K1), W2, N2, T)
    ref3 = encode(hidden_drive(ref2, K2), W3, NO, 30.0)
    for a, b in ((h1, ref1), (h2, ref2), (o, ref3)):
        assert np.array_equal(a.times, b.times) and np.array_equal(a.indices, b.indices)
    assert h1.times.max() < T and h2.times.max() < T


def test_three_layer_network_recovered():
    (W1, W2, W3), xs, sims = network(0, 40.0)
    res = fit_three_layer(xs, [o for _, _, o in sims], N1, N2, NO, K1, K2, seed=0)
    assert res.success, res.reason
    assert res.top.report.stage == "fri+joint" and res.bottom.report.stage == "search+joint"
    er = align_three_layers(res, W1, W2, W3)
    assert er["W1_fro"] < 1e-6 and er["W2_fro"] < 1e-6 and er["W3_fro"] < 1e-6
    # the hidden spikes of both layers, up to the permutations
    for e, (h1, h2, _) in enumerate(sims):
        for i in range(3):
            assert np.allclose(res.hidden2[e].neuron(er["perm2"][i]), h2.neuron(i), atol=1e-8)
            assert np.allclose(res.hidden1[e].neuron(er["perm1"][i]), h1.neuron(i), atol=1e-8)


def test_three_layer_too_few_output_spikes_reported():
    (W1, W2, W3), xs, sims = network(0, 12.0)
    res = fit_three_layer(xs, [o for _, _, o in sims], N1, N2, NO, K1, K2, seed=0, warn=False)
    assert not res.success and res.bottom is None
    assert res.reason.startswith("top stage") and "too few output spikes" in res.reason
    assert np.all(np.isnan(res.W1)) and np.all(np.isnan(res.W2))


def test_three_layer_hidden2_too_slow_reported():
    # hidden layer 2 firing no faster than hidden layer 1: its spikes cannot carry the hidden-1
    # spike times and W2 (fewer equations than unknowns), whatever the search finds
    slow = Neurons(3, kappa=3.5, delta=1.0, bias=1.0)
    (W1, W2, W3), xs, sims = network(0, 40.0, 2, n2=slow)
    assert all(h2.count <= h1.count for h1, h2, _ in sims)
    res = fit_three_layer(xs, [o for _, _, o in sims], N1, slow, NO, K1, K2, seed=0, warn=False,
                          bottom_options={"n_starts": 16, "n_local": 1})
    assert res.top.success and not res.success
    assert res.reason.startswith("bottom stage") and "not identifiable" in res.reason


def test_three_layer_validation():
    (W1, W2, W3), xs, sims = network(0, 20.0, 1)
    outs = [o for _, _, o in sims]
    with pytest.raises(ValidationError, match="neurons2"):
        fit_three_layer(xs, outs, N1, Neurons(3, kappa=1.5, bias=[1.0, 1.1, 1.0]), NO, K1, K2, seed=0)
    with pytest.raises(ValidationError, match="kernel2"):
        fit_three_layer(xs, outs, N1, N2, NO, K1, "delta", seed=0)
    with pytest.raises(ValidationError, match="output_spikes"):
        fit_three_layer(xs, outs * 2, N1, N2, NO, K1, K2, seed=0)
    with pytest.raises(ValidationError, match="seed"):
        fit_three_layer(xs, outs, N1, N2, NO, K1, K2, seed=None)
