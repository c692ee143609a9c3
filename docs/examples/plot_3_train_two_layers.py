"""
Train two layers from the output spikes alone
=============================================

The paper's two-layer network: 2 analog inputs drive 2 hidden neurons, whose
spikes reach 4 output neurons through a periodic lowpass kernel. Only the
inputs and the output spikes are observed. :func:`tem_sim.fit_two_layer`
decodes each output neuron's drive, recovers the hidden spike times from it
(a finite-rate-of-innovation problem), and then trains both layers.
"""

import numpy as np

import tem_sim as ts
from tem_sim import plot
from tem_sim.reproduce import fig3_network

# %%
# The network and two input examples of the paper's Figure 3, drawn from one
# seed.
hidden, output, kernel, W1, W2, inputs = fig3_network(np.random.default_rng(0))
duration = 34.0
runs = [
    ts.simulate_two_layer(x, W1, W2, hidden, output, kernel, duration)
    for x in inputs
]
print(
    "hidden spikes:",
    [h.count for h, _ in runs],
    " output spikes:",
    [o.count for _, o in runs],
)

# %%
# Train both layers from the inputs and the output spikes; the hidden neurons
# can only be recovered up to their order, so the result is aligned with the
# truth before the errors are measured.
res = ts.fit_two_layer(
    inputs, [o for _, o in runs], hidden, output, 2, kernel, seed=0
)
aligned = ts.align_to_truth(res, W1, W2)
print(
    f"success: {res.report.success}; "
    f"errors: W1 {np.abs(aligned.W1 - W1).max():.1e}, "
    f"W2 {np.abs(aligned.W2 - W2).max():.1e}"
)

axes = plot.two_layer_overview(
    W1, W2, aligned.W1, aligned.W2, runs[0][0], runs[0][1]
)
axes[0, 0].figure.tight_layout()
