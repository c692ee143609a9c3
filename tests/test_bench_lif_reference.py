"""The exact LIF reference of bench/bench_canonical.py against closed forms and dense time stepping.

``bench/baselines.lif_reference`` is the oracle of the canonical benchmark's
feed-forward spike-time errors (NEST's ``iaf_psc_delta`` convention); here it
is checked against the closed-form period of a free neuron and against a
fine-step simulation written independently.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
from baselines import lif_reference  # noqa: E402

B4 = {"tau_m": 20.0, "V_th": -50.0, "V_reset": -60.0, "E_L": -49.0, "t_ref": 5.0}


def test_free_neuron_fires_at_its_closed_form_period():
    t_end = 1000.0
    out = lif_reference(**B4, V0=-60.0, arrival_times=np.zeros(0), arrival_weights=np.zeros(0), t_end=t_end)
    isi = 20.0 * math.log(11.0)                      # -60 -> -50 with E_L = -49
    k = np.arange(out.size)
    expect = isi + k * (isi + 5.0)
    assert out.size == int((t_end - isi) // (isi + 5.0)) + 1
    np.testing.assert_allclose(out, expect, rtol=0, atol=1e-11)


def test_arrivals_during_refractoriness_are_dropped_and_simultaneous_ones_summed():
    p = {"tau_m": 20.0, "V_th": 20.0, "V_reset": 0.0, "E_L": 0.0, "t_ref": 2.0}
    # 20 mV at t=1 fires; 30 mV at t=2 (refractory until 3) is dropped; +25 and -10 at t=4 sum to 15: no spike;
    # +6 at t=5 after decay: 15 e^{-1/20} + 6 = 20.27 fires
    t = np.array([1.0, 2.0, 4.0, 4.0, 5.0])
    w = np.array([20.0, 30.0, 25.0, -10.0, 6.0])
    out = lif_reference(**p, V0=0.0, arrival_times=t, arrival_weights=w, t_end=10.0)
    np.testing.assert_array_equal(out, [1.0, 5.0])
    # the order of simultaneous arrivals does not matter: -10 first or +25 first
    out2 = lif_reference(**p, V0=0.0, arrival_times=t[[0, 1, 3, 2, 4]], arrival_weights=w[[0, 1, 3, 2, 4]], t_end=10.0)
    np.testing.assert_array_equal(out, out2)


def _stepped(tau_m, V_th, V_reset, E_L, t_ref, V0, times, weights, t_end, dt):
    """Fine-step simulation: exact decay per step, arrivals of a step applied at its end, spikes at step ends."""
    n_steps = int(round(t_end / dt))
    bins = np.ceil(np.asarray(times) / dt).astype(np.int64)
    inp = np.bincount(bins, weights=weights, minlength=n_steps + 2)
    decay = math.exp(-dt / tau_m)
    V, ref_steps, out = V0, 0, []
    ref_len = int(round(t_ref / dt))
    for s in range(1, n_steps + 1):
        if ref_steps > 0:
            ref_steps -= 1
            continue
        V = E_L + (V - E_L) * decay + inp[s]
        if V >= V_th:
            out.append(s * dt)
            V = V_reset
            ref_steps = ref_len
    return np.asarray(out)


@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_a_fine_step_simulation(seed):
    rng = np.random.default_rng(seed)
    t_end, dt = 60.0, 1e-3
    n_e, n_i = rng.poisson(0.64 * t_end), rng.poisson(0.16 * t_end)
    times = np.concatenate([rng.uniform(0, t_end, n_e), rng.uniform(0, t_end, n_i)])
    weights = np.concatenate([np.full(n_e, 0.25 + 3.0 * rng.random()), np.full(n_i, -2.25)])
    V0 = rng.uniform(-60.0, -50.0)
    exact = lif_reference(**B4, V0=V0, arrival_times=times, arrival_weights=weights, t_end=t_end)
    stepped = _stepped(**B4, V0=V0, times=times, weights=weights, t_end=t_end, dt=dt)
    assert exact.size == stepped.size and exact.size > 0
    # a spike of the stepped run lies at the end of the step holding the exact time (refractory
    # periods shift it by at most a step per spike)
    assert np.max(np.abs(stepped - exact)) <= dt * (1 + exact.size) + 1e-9


@pytest.mark.parametrize("kind", ["b4", "brunel"])
def test_tem_sim_gives_the_exact_times_of_the_canonical_feedforward_layers(kind):
    """bench_canonical's accuracy layers (given spike trains into LIF neurons) in tem_sim: the exact times."""
    import bench_canonical as bc
    from common import spike_time_errors
    net = bc.feedforward(kind)
    if kind == "brunel":                      # the first 100 ms keep the test short
        keep = net["src_times"] < 100.0
        net = dict(net, src_times=net["src_times"][keep], src_ids=net["src_ids"][keep], t_end_ms=100.0)
    ref = bc.reference_spikes(net)
    st = bc.tem_network(net).run(float(net["t_end_ms"]))["lif"]
    err, _, miss = spike_time_errors(ref, st.times, st.indices)
    assert miss == 0 and sum(r.size for r in ref) > 50
    assert err <= 1e-9
