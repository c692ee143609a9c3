"""
A Brunel network of LIF neurons driven by Poisson sources
=========================================================

The sparsely connected excitatory-inhibitory network of Brunel (2000), as
NEST's ``brunel_delta_nest.py`` writes it, at a tenth of its size (each neuron
has a tenth of the inputs, ten times stronger, so that the mean recurrent
input ``J C_E`` is the original's): leaky
integrate-and-fire neurons in NEST's parameters
(:meth:`tem_sim.Neurons.from_lif`: reset to ``V_reset``, a refractory period),
delta synapses with a delay of 1.5 ms, and an external drive of independent
Poisson trains (:meth:`tem_sim.Network.add_poisson`) drawn at exact times.
Time is in ms.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

import tem_sim as ts
from tem_sim import plot

rng = np.random.default_rng(7)
order = 250
n_e, n_i = 4 * order, order
c_e, c_i = n_e // 10, n_i // 10                     # 10 % connectivity
J, g, eta, delay = 100.0 / c_e, 5.0, 2.0, 1.5      # mV, relative inhibition, drive, ms
tau_m, theta = 20.0, 20.0
nu_ext = eta * theta / (J * c_e * tau_m)            # per ms, per external synapse

# %%
# The neurons: ``V_th = 20``, ``V_reset = 10``, ``E_L = 0`` mV, ``t_ref = 2`` ms.
lif = dict(tau_m=tau_m, V_th=theta, V_reset=10.0, E_L=0.0, C_m=1.0, t_ref=2.0)
net = ts.Network()
net.add_population("E", ts.Neurons.from_lif(n_e, V_m=rng.uniform(0.0, theta, n_e), **lif))
net.add_population("I", ts.Neurons.from_lif(n_i, V_m=rng.uniform(0.0, theta, n_i), **lif))

# %%
# Each neuron gets ``c_e`` excitatory and ``c_i`` inhibitory inputs (jumps of
# ``J`` and ``-g J`` mV) and its own Poisson train of rate ``c_e nu_ext``.


def fixed_indegree(n_post, n_pre, k, w):
    pre = np.concatenate([rng.choice(n_pre, k, replace=False) for _ in range(n_post)])
    post = np.repeat(np.arange(n_post), k)
    return sp.csr_matrix((np.full(pre.size, w), (post, pre)), shape=(n_post, n_pre))


for post, n_post in (("E", n_e), ("I", n_i)):
    net.connect("E", post, fixed_indegree(n_post, n_e, c_e, J), delay=delay)
    net.connect("I", post, fixed_indegree(n_post, n_i, c_i, -g * J), delay=delay)
    net.add_poisson(f"ext_{post}", n_post, c_e * nu_ext, seed=len(post) + n_post, record=False)
    net.connect(f"ext_{post}", post, sp.identity(n_post) * J, delay=delay)

out = net.run(300.0)
for name in ("E", "I"):
    st = out[name]
    isi = np.concatenate([np.diff(st.neuron(j)) for j in range(st.n_neurons)])
    print(f"{name}: {1000 * st.count / st.n_neurons / 300.0:.1f} spikes/s per neuron, "
          f"CV of the intervals {isi.std() / isi.mean():.2f}")
print(f"{out.stats['synaptic_events']} synaptic events, external drive included")

# %%
# The raster of 100 excitatory neurons: irregular firing.
fig, ax = plt.subplots(figsize=(9, 4))
plot.raster(out["E"].restrict(0.0, 300.0), ax, color="tab:red", label="excitatory neuron")
ax.set_ylim(-0.5, 99.5)
ax.set_yticks(range(0, 100, 10))
ax.set_xlabel("time (ms)")
fig.tight_layout()
