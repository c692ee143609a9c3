"""
Who is connected to whom: connectivity from recorded spikes
===========================================================

A recurrent population of 30 integrate-and-fire neurons with sparse,
mixed-sign delta synapses and three analog inputs is simulated; then
:func:`tem_sim.fit_network` infers its whole recurrent weight
matrix and its input weights from the spike times alone: every spike
interval of a neuron is a linear equation in its incoming weights, one
independent problem per neuron.
"""

import matplotlib.pyplot as plt
import numpy as np

import tem_sim as ts

rng = np.random.default_rng(4)
n, n_in = 30, 3
W = rng.normal(0.0, 0.05, (n, n)) * (rng.random((n, n)) < 0.2)    # 20 % of the pairs connected
np.fill_diagonal(W, 0.0)
U = rng.uniform(0.0, 0.5, (n, n_in))
neurons = ts.Neurons(n, kappa=1.0, delta=0.25, bias=rng.uniform(2.0, 3.0, n))

# %%
# Simulate three trials with different inputs: the population's spikes are all we keep.
trials, stimuli = [], []
for trial in range(3):
    c = rng.normal(size=(n_in, 5)) + 1j * rng.normal(size=(n_in, 5))     # one-sided c_0 .. c_4
    c[:, 0] = c[:, 0].real
    x = ts.FourierSignals.from_one_sided(0.3 * c, period=10.0)
    net = ts.Network()
    net.add_population("p", neurons)
    net.connect("p", "p", W, delay=0.05)
    net.connect_input("x", "p", U)
    trials.append(net.run(20.0, {"x": x})["p"])
    stimuli.append(x)
print(f"{sum(t.count for t in trials)} spikes recorded")

# %%
# Infer the weights: ``n - 1`` recurrent weights (self-connections are known to be absent)
# and ``n_in`` input weights per neuron.
fit = ts.fit_network(trials, neurons, external_inputs=stimuli, delay=0.05)
print(f"largest error: recurrent {np.abs(fit.recurrent - W).max():.1e}, "
      f"inputs {np.abs(fit.input_weights - U).max():.1e}")

fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
lim = np.abs(W).max()
for ax, M, title in ((axes[0], W, "true recurrent weights"), (axes[1], fit.recurrent, "inferred from spikes")):
    im = ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(title)
    ax.set_xlabel("presynaptic neuron")
axes[0].set_ylabel("postsynaptic neuron")
fig.colorbar(im, ax=axes[:2], shrink=0.8)
axes[2].plot(W.ravel(), fit.recurrent.ravel(), ".", ms=4)
axes[2].plot([-lim, lim], [-lim, lim], "k:", lw=1)
axes[2].set_xlabel("true weight")
axes[2].set_ylabel("inferred weight")
_ = axes[2].set_title("every pair")
