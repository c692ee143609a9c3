"""Brian2 round trips, run against the real Brian2 in an environment where it imports.

Brian2 (2.9) imports only with NumPy < 2.4, so these checks do not run in tem_sim's
own test environment: ``tests/test_interop.py::test_brian2_round_trips`` runs this
file with pytest in the Brian2 environment made by ``tools/setup_brian2_env.sh``
(``.venv-brian2``, or the interpreter named by ``TEM_SIM_BRIAN2_PYTHON``), with the
source tree on ``PYTHONPATH``. The file name does not match ``test_*.py``, so the
main suite does not collect it itself.

Brian2 runs with its ``numpy`` code-generation target (nothing to compile).
"""
from __future__ import annotations

import brian2 as b2
import numpy as np
import pytest

import tem_sim as ts
from tem_sim import interop

b2.prefs.codegen.target = "numpy"

DT_MS = 0.001          # Brian2's clock step: 1 microsecond


@pytest.fixture
def spikes():
    x = ts.FourierSignals.random_paper(4, n_components=5, period=10.0, seed=1)
    W = np.random.default_rng(1).random((3, 4))
    st = ts.encode(x, W, ts.Neurons(3, bias=[1.0, 2.0, 3.0]), t_end=20.0)
    return ts.SpikeTrains(st.times, st.indices, 4, 0.0, 20.0)   # a silent fourth neuron


@pytest.mark.parametrize("scale", [1.0, 0.5, 1e-3])
def test_quantity_round_trip(spikes, scale):
    """Brian2 Quantities (seconds, milliseconds) in, the same spikes out."""
    i, t = interop.to_brian2_arrays(spikes, time_scale=scale)
    q = t * b2.second
    assert q.dim == b2.second.dim
    back = interop.from_brian2_arrays(i, q, spikes.n_neurons, t_stop=20.0 * scale * 1e3 * b2.ms,
                                      time_scale=scale)
    assert back.n_neurons == spikes.n_neurons and back.t_start == 0.0
    assert np.array_equal(back.indices, spikes.indices)
    np.testing.assert_allclose(back.times, spikes.times, rtol=1e-15, atol=0)
    np.testing.assert_allclose(back.t_stop, 20.0, rtol=1e-15)


def test_spike_generator_and_monitor_round_trip(spikes):
    """tem_sim spikes -> SpikeGeneratorGroup -> a Brian2 run -> SpikeMonitor -> tem_sim.

    Brian2 delivers each generator spike on its clock grid (at or before the given
    time, within one step): every neuron keeps its spike count, and each time moves
    by at most one step.
    """
    scale = 1e-3                                   # one tem_sim unit = 1 ms
    i, t = interop.to_brian2_arrays(spikes, time_scale=scale)
    b2.start_scope()
    b2.defaultclock.dt = DT_MS * b2.ms
    gen = b2.SpikeGeneratorGroup(spikes.n_neurons, i, t * b2.second)
    mon = b2.SpikeMonitor(gen)
    b2.run(21 * b2.ms)
    back = interop.from_brian2_arrays(mon.i[:], mon.t[:], spikes.n_neurons, t_stop=20 * b2.ms,
                                      time_scale=scale)
    assert np.array_equal(back.counts(), spikes.counts()) and back.counts()[3] == 0
    step = DT_MS * 1e-3 / scale                    # one Brian2 step in tem_sim units
    for j in range(spikes.n_neurons):
        d = spikes.neuron(j) - back.neuron(j)
        assert np.all(np.abs(d) <= step * (1 + 1e-9)), (j, np.abs(d).max(), step)


def test_brian2_tem_neurons_match_the_engine():
    """A perfect integrate-and-fire (TEM) group simulated by Brian2, read back by tem_sim,
    against tem_sim's exact engine: the same spikes, each within one Brian2 step.

    Constant drives ``b_j`` (no input): ``dv/dt = b / kappa`` from tem_sim's ``v0``, spike at
    ``v >= delta``, reset ``v -= 2 delta``; Brian2 detects a crossing once per clock step.
    """
    bias = np.array([1.0, 2.5, 0.7, 4.0])
    kappa, delta, t_end = 1.0, 0.5, 19.7           # tem_sim units; one unit = 1 ms below
    nrn = ts.Neurons(bias.size, kappa=kappa, delta=delta, bias=bias)
    quiet = ts.FourierSignals(np.zeros((1, 1), dtype=complex), period=10.0)
    exact = ts.encode(quiet, np.zeros((bias.size, 1)), nrn, t_end)
    b2.start_scope()
    b2.defaultclock.dt = DT_MS * b2.ms
    g = b2.NeuronGroup(bias.size, "dv/dt = b / (kappa * ms) : 1\nb : 1 (constant)",
                       threshold="v >= delta", reset="v -= 2 * delta", method="euler",
                       namespace={"kappa": kappa, "delta": delta})
    g.b = bias
    g.v = nrn.v0
    mon = b2.SpikeMonitor(g)
    b2.run(t_end * b2.ms)
    got = interop.from_brian2_arrays(mon.i[:], mon.t[:], bias.size, t_stop=t_end * b2.ms, time_scale=1e-3)
    assert exact.count > 50
    assert np.all(t_end - exact.times > 10 * DT_MS)   # no spike within a Brian2 step of the end
    assert np.array_equal(got.counts(), exact.counts())
    for j in range(bias.size):
        d = got.neuron(j) - exact.neuron(j)
        assert np.all(np.abs(d) <= DT_MS * (1 + 1e-6)), (j, d.min(), d.max())
