"""
Train a layer from its spike times
==================================

Between two spikes a perfect integrate-and-fire neuron integrates exactly
``2 kappa delta``: that equation is linear in its weights. Spikes of a few
examples therefore determine a layer's weights, and :func:`tem_sim.fit_layer`
finds them by solving one small system per neuron -- no gradient descent.
"""

import matplotlib.pyplot as plt
import numpy as np

import tem_sim as ts
from tem_sim import plot

# %%
# A layer of 5 neurons with 20 inputs (the paper's setting): random weights,
# inputs drawn as Fourier series of 10 components and period 10.
rng = np.random.default_rng(0)
W = rng.random((5, 20))
neurons = ts.Neurons(5, kappa=1.0, delta=1.0, bias=1.0)

# %%
# Three examples of length 10: each gives every neuron a few dozen spikes.
examples = []
for seed in (1, 2, 3):
    x = ts.FourierSignals.random_paper(
        20, n_components=10, period=10.0, seed=seed
    )
    examples.append((x, ts.encode(x, W, neurons, t_end=10.0)))
print("spikes per neuron:", sum(st.counts() for _, st in examples).tolist())

# %%
# Train: one least-squares problem per neuron. The report says whether the
# data determine the weights (full rank) and how well conditioned they are.
fit = ts.fit_layer(examples, neurons)
print(
    f"largest weight error {np.abs(fit.weights - W).max():.1e}; "
    f"rank {fit.rank.min()} of 20 unknowns; "
    f"identifiable: {bool(fit.identifiable.all())}"
)

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
x0, st0 = examples[0]
plot.integrator_trace(x0, W, neurons, st0, neuron=0, ax=ax0)
ax0.set_title("neuron 0, example 1: integrator and spikes")
plot.weights_comparison(W, fit.weights, ax1, "layer weights")
fig.tight_layout()
