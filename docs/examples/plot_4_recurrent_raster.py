"""
A recurrent network and its raster
==================================

An excitatory and an inhibitory population, driven by analog inputs and
coupled by sparse random projections with delays and exponential synapses
(recurrence included). :meth:`tem_sim.Network.run` simulates it event by
event, exactly; integrator values can be recorded at chosen times.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

import tem_sim as ts
from tem_sim import plot

rng = np.random.default_rng(1)
n_e, n_i, n_in = 40, 10, 3

# %%
# Populations: perfect integrate-and-fire neurons with random biases.
net = ts.Network()
net.add_population(
    "E", ts.Neurons(n_e, kappa=1.0, delta=1.0, bias=rng.uniform(0.5, 1.5, n_e))
)
net.add_population(
    "I", ts.Neurons(n_i, kappa=1.0, delta=1.0, bias=rng.uniform(0.5, 1.0, n_i))
)

# %%
# Analog drive of the excitatory population, and sparse projections (10 %
# connectivity): E excites E and I, I inhibits E, each with its own delay and
# synaptic time constant.
net.connect_input("stimulus", "E", rng.uniform(0.0, 1.0, (n_e, n_in)))


def sparse(n_post, n_pre, scale):
    return sp.random(
        n_post,
        n_pre,
        density=0.1,
        random_state=rng,
        data_rvs=lambda k: scale * rng.random(k),
    )


net.connect(
    "E", "E", sparse(n_e, n_e, 0.4), kernel=ts.Exponential(0.5), delay=0.2
)
net.connect(
    "E", "I", sparse(n_i, n_e, 0.8), kernel=ts.Exponential(0.5), delay=0.2
)
net.connect(
    "I", "E", sparse(n_e, n_i, -1.5), kernel=ts.Exponential(1.0), delay=0.1
)

stimulus = ts.FourierSignals.random_paper(
    n_in, n_components=5, period=10.0, seed=2
)
record = np.linspace(0.0, 30.0, 601)
out = net.run(30.0, {"stimulus": stimulus}, record_times=record)
for name, st in out.items():
    rate = st.count / st.n_neurons / 30.0
    print(f"{name}: {st.count} spikes, {rate:.2f} per neuron per unit time")
print(f"{out.stats['synaptic_events']} synaptic events")

# %%
# The raster of both populations, and the integrators of two excitatory
# neurons.
fig, (ax0, ax1, ax2) = plt.subplots(
    3,
    1,
    figsize=(9, 8),
    sharex=True,
    gridspec_kw={"height_ratios": [3, 1, 1.5]},
)
plot.raster(out["E"], ax0, color="tab:red", label="excitatory neuron")
ax0.set_yticks(range(0, n_e, 5))
plot.raster(out["I"], ax1, color="tab:blue", label="inhibitory")
ax1.set_yticks(range(0, n_i, 5))
for j in (0, 1):
    ax2.plot(record, out.traces["E"][:, j], lw=1, label=f"E neuron {j}")
ax2.axhline(1.0, color="k", ls=":", lw=1, label="threshold")
ax2.set_ylabel("integrator")
ax2.set_xlabel("time")
ax2.legend(loc="lower right", fontsize="small")
for ax in (ax0, ax1):
    ax.set_xlabel("")
fig.tight_layout()
