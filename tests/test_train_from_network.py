"""One-layer training on spikes produced by the network engine (spike inputs, issue 4 x issue 3)."""
from __future__ import annotations

import numpy as np
import pytest

import tem_sim as ts


@pytest.mark.parametrize("kernel", [ts.Delta(), ts.Exponential(0.3)], ids=["delta", "exponential"])
def test_layer_fed_by_spikes_is_learned_from_engine_output(kernel):
    # inputs: 6 presynaptic neurons driven by random analog signals (irregular spike times); output:
    # 3 neurons whose drive is a bias plus the synaptic input. Examples differ by the analog signals.
    rng = np.random.default_rng(0)
    n_in, n_out = 6, 3
    W = rng.uniform(0.05, 0.4, (n_out, n_in))
    out_neurons = ts.Neurons(n_out, kappa=1.0, delta=1.0, bias=0.5)
    examples = []
    for e in range(4):
        net = ts.Network()
        net.add_population("pre", ts.Neurons(n_in, bias=rng.uniform(2.0, 6.0, n_in)))
        net.add_population("post", out_neurons)
        net.connect_input("x", "pre", rng.uniform(0, 1, (n_in, 3)))
        net.connect("pre", "post", W, kernel=kernel, delay=0.05)
        out = net.run(20.0, {"x": ts.FourierSignals.random_paper(3, 6, 7.0, seed=rng)})
        assert out["post"].counts().min() > n_in + 1
        examples.append((ts.SpikeInput(out["pre"], kernel, delay=0.05), out["post"]))
    fit = ts.fit_layer(examples, out_neurons)
    assert fit.identifiable.all()
    np.testing.assert_allclose(fit.weights, W, atol=1e-8, rtol=0)
