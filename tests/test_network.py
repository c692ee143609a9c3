"""Spiking networks in the event engine: closed forms, an independent reference, stale events."""
from __future__ import annotations


import numpy as np
import pytest
import scipy.sparse as sp

import tem_sim as ts
from tem_sim import _core

from oracle import assert_ctrl_c_stops, delta_network_events, perfect_v, reference_network


def _chain(w1, w2, bias_a=2.0, bias_b=0.0, bias_c=0.0, d1=0.5, d2=0.25):
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=bias_a))
    net.add_population("b", ts.Neurons(1, bias=bias_b))
    net.add_population("c", ts.Neurons(1, bias=bias_c))
    net.connect("a", "b", [[w1]], kernel=ts.Delta(), delay=d1)
    net.connect("b", "c", [[w2]], kernel=ts.Delta(), delay=d2)
    return net


def test_delta_chain_closed_form():
    # a fires every 2*kappa*delta/bias = 1; b (no drive) climbs 0.5 per arrival from -1 and fires on
    # the 4th, 8th, ... arrival; c jumps 2.5 per arrival: fires, and again while v >= delta.
    out = _chain(0.5, 2.5).run(20.0)
    np.testing.assert_allclose(out["a"].times, np.arange(1, 21), rtol=1e-15)
    np.testing.assert_allclose(out["b"].times, np.arange(4, 20, 4) + 0.5, rtol=1e-15)
    # c: v = -1 -> 1.5 (fire, -0.5) -> 2.0 (fire, 0.0) -> 2.5 (fire, 0.5) -> 3.0 (fire, 1.0 fire, -1.0)
    expected_c = [4.75, 8.75, 12.75, 16.75, 16.75]
    np.testing.assert_allclose(out["c"].times, expected_c, rtol=1e-15)


def test_delta_chain_with_bias_closed_form():
    # b has bias 0.5 and receives +0.5 at 1.5, 2.5, ...: v_b(t) = -1 + 0.5 t + 0.5 * #arrivals(t)
    out = _chain(0.5, 0.0, bias_b=0.5, d1=0.5).run(10.0)
    tb = out["b"].times
    # crossing solves -1 + 0.5 t + 0.5 n = 1 between arrivals; by hand: at t=2.5 v = -1+1.25+1.0 = 1.25 -> jump fire
    # first: n arrivals by t: floor(t - 0.5) for t >= 1.5; v(2.5-) = 0.25 + 0.5 = 0.75; +0.5 at 2.5 -> 1.25: fires at 2.5
    assert tb[0] == 2.5
    # after reset v = -0.75 at 2.5; v(t) = -0.75 + 0.5 (t - 2.5) + 0.5 k; arrivals at 3.5 (-0.25+0.5=0.25),
    # 4.5 (0.75 + 0.5 = 1.25): fires at 4.5; the pattern repeats every 2
    np.testing.assert_allclose(tb, [2.5, 4.5, 6.5, 8.5], rtol=1e-15)


def test_repeated_firing_rule_for_large_jumps():
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=1.0))  # fires at t = 2
    net.add_population("b", ts.Neurons(1, bias=0.0))
    net.connect("a", "b", [[5.0]], delay=0.0)  # -1 + 5 = 4: fires at 4, 2 -> twice, ends at 0
    out = net.run(2.5)
    assert out["b"].times.tolist() == [2.0, 2.0]


def test_exponential_synapse_closed_form():
    # a fires once in the window, at t = 1 (next at 5); b integrates w exp(-(t - 1 - d)/tau_s):
    # v_b = -1 + w tau_s (1 - exp(-h/tau_s)) crosses +1 at h = -tau_s log(1 - 2 / (w tau_s))
    w, tau_s, d = 3.0, 0.8, 0.1
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=0.5, v0=0.5))
    net.add_population("b", ts.Neurons(1, bias=0.0))
    net.connect("a", "b", [[w]], kernel=ts.Exponential(tau_s), delay=d)
    out = net.run(4.0)
    assert out["a"].times.tolist() == [1.0]
    h = -tau_s * np.log(1 - 2 / (w * tau_s))
    np.testing.assert_allclose(out["b"].times, [1.0 + d + h], rtol=1e-13)


def test_inhibitory_arrival_cancels_predicted_crossing():
    # b alone would fire at t = 2; an inhibitory arrival at 1.5 (-1.0) postpones it to 3.0
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=0.2, v0=0.9))  # fires at 0.5, then at 10.5
    net.add_population("b", ts.Neurons(1, bias=1.0))
    net.connect("a", "b", [[-1.0]], delay=1.0)
    out = net.run(3.2)
    assert out["b"].times[0] == pytest.approx(3.0, rel=1e-15)
    assert 2.0 not in out["b"].times.tolist()


def test_excitatory_arrival_advances_predicted_crossing():
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=2.0, v0=0.0))  # fires at 0.5
    net.add_population("b", ts.Neurons(1, bias=1.0))
    net.connect("a", "b", [[0.5]], delay=0.5)  # at t = 1: v = 0 + 0.5 -> crossing at 1.5 instead of 2
    out = net.run(1.9)
    assert out["b"].times.tolist() == [pytest.approx(1.5, rel=1e-15)]


def test_stale_events_with_analog_drive_and_exp_synapses():
    # an oscillating analog drive; inhibition through an exponential synapse must cancel crossings
    x = ts.FourierSignals.from_one_sided([[0.0, 1.0]], 4.0)
    net = ts.Network()
    net.add_population("inh", ts.Neurons(1, bias=4.0))
    net.add_population("b", ts.Neurons(1, bias=1.0))
    net.connect_input("x", "b", [[1.0]])
    net.connect("inh", "b", [[-20.0]], kernel=ts.Exponential(0.2), delay=0.0)
    out = net.run(10.0, {"x": x})
    free = ts.encode(x, [[1.0]], ts.Neurons(1, bias=1.0), 10.0)
    assert out["b"].count < free.count
    # dense check: between b's spikes, v_b < delta (simulate v by the closed form of all inputs)
    tin = out["inh"].times
    tb = out["b"].times
    grid = np.linspace(0, 10.0, 200001)
    u_int = perfect_v(x.coefficients[0], 4.0, 1.0, 1.0, 0.0, 0.0, grid)  # int (x + b)
    syn = np.zeros_like(grid)
    for s in tin:
        h = np.clip(grid - s, 0, None)
        syn += -20.0 * 0.2 * (1 - np.exp(-h / 0.2))
    v = -1 + u_int + syn - 2 * np.searchsorted(tb, grid, side="left")
    assert v.max() < 1 + 1e-9
    # and at every spike of b, v reaches threshold
    for s in tb:
        k = np.searchsorted(grid, s)
        assert abs(v[k - 1] - 1) < 1e-3


def _random_projections(rng, pops, plan, scale, density):
    projs = []
    for (pre, post, kind, tau_s) in plan:
        shape = (pops[post]["n"], pops[pre]["n"])
        W = rng.normal(0, scale, shape) * (rng.random(shape) < density)
        projs.append((pre, post, W, float(rng.uniform(0.05, 0.6)), kind, tau_s))
    return projs


def _check_against_reference(pops, projs, t_end, min_spikes=15):
    """Run the network in the engine and in the independent per-event reference; same spikes to 1e-9."""
    ref = reference_network(pops, projs, t_end)
    net = ts.Network()
    names = [f"p{i}" for i in range(len(pops))]
    for name, p in zip(names, pops):
        net.add_population(name, ts.Neurons(p["n"], kappa=p["kappa"], delta=p["delta"], bias=p["bias"],
                                            tau=p.get("tau", np.inf)))
    for pre, post, W, d, kind, tau_s in projs:
        net.connect(names[pre], names[post], W, kernel=ts.Delta() if kind == "delta" else ts.Exponential(tau_s),
                    delay=d)
    out = net.run(t_end)
    total = 0
    for name, rp in zip(names, ref):
        for j, (g, r) in enumerate(zip(out[name].trains(), rp)):
            assert len(g) == len(r), f"{name}[{j}]: {g} vs {r}"
            np.testing.assert_allclose(g, r, atol=1e-9, rtol=0)
            total += len(g)
    assert total >= min_spikes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_networks_match_independent_reference(seed):
    rng = np.random.default_rng(seed)
    pops = [dict(n=3, kappa=1.0, delta=1.0, bias=rng.uniform(0.8, 2.5, 3)),
            dict(n=4, kappa=0.7, delta=0.6, bias=rng.uniform(-0.2, 0.8, 4)),
            dict(n=3, kappa=1.3, delta=0.9, bias=rng.uniform(0.0, 1.0, 3))]
    projs = _random_projections(rng, pops, [(0, 1, "delta", None), (1, 2, "exp", 0.4), (2, 1, "delta", None),
                                            (0, 2, "exp", 0.9), (1, 1, "delta", None)], 0.6, 0.7)
    _check_against_reference(pops, projs, 6.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_leaky_networks_match_independent_reference(seed):
    """Leaky populations with delta and exponential synapses (leak and synaptic time constants
    apart, long and short leaks) against the per-event reference in closed form."""
    rng = np.random.default_rng(10 + seed)
    pops = [dict(n=3, kappa=1.0, delta=1.0, bias=rng.uniform(1.5, 3.0, 3), tau=2.0),
            dict(n=3, kappa=0.7, delta=0.6, bias=rng.uniform(0.5, 1.5, 3), tau=50.0),
            dict(n=2, kappa=1.3, delta=0.9, bias=rng.uniform(0.8, 1.6, 2))]
    projs = _random_projections(rng, pops, [(0, 1, "exp", 0.4), (1, 2, "delta", None), (2, 0, "exp", 0.9),
                                            (0, 2, "delta", None), (1, 0, "exp", 0.4)], 0.8, 0.8)
    _check_against_reference(pops, projs, 6.0)


def test_per_connection_delays():
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=2.0))  # spikes at 1, 2, ...
    net.add_population("b", ts.Neurons(3, bias=0.0))
    net.connect("a", "b", [[2.0], [2.0], [2.0]], delay=[[0.1], [0.2], [0.3]])
    out = net.run(1.5)
    assert out["b"].times.tolist() == [1.1, 1.2, 1.3]
    assert out["b"].indices.tolist() == [0, 1, 2]


def test_two_layer_forward_pass_through_network_matches_manual_composition():
    rng = np.random.default_rng(4)
    x = ts.FourierSignals.random_paper(2, 10, 10.0, seed=rng)
    W1, W2 = rng.random((2, 2)), rng.random((4, 2))
    hid = ts.Neurons(2, kappa=10.0, delta=1.0, bias=10.0)
    outn = ts.Neurons(4, kappa=1.0, delta=1.0, bias=1.0)
    kern = ts.PeriodicLowpass(10.0, 7, first=4)
    net = ts.Network()
    net.add_population("hidden", hid)
    net.add_population("out", outn)
    net.connect_input("x", "hidden", W1)
    net.connect("hidden", "out", W2, kernel=kern)
    res = net.run(30.0, {"x": x})
    # manual: encode hidden, keep 4 spikes each, lowpass, mix by W2, encode output
    h = ts.encode(x, W1, hid, 30.0)
    assert res["hidden"] == h
    h4 = h.first(4)
    C = np.array([kern.coefficients(h4.neuron(i)) for i in range(2)])
    y = ts.FourierSignals(W2 @ C, 10.0)
    manual = ts.encode(y, np.eye(4), outn, 30.0)
    assert res["out"].allclose(manual, rtol=1e-12, atol=1e-12)
    assert res["out"].count > 30


def test_encode_is_the_simplest_network():
    x = ts.FourierSignals.random_paper(5, 6, 10.0, seed=3)
    W = np.random.default_rng(3).random((4, 5))
    nrn = ts.Neurons(4, bias=0.5)
    net = ts.Network()
    net.add_population("layer", nrn)
    net.connect_input("x", "layer", W)
    assert net.run(40.0, {"x": x})["layer"] == ts.encode(x, W, nrn, 40.0)


def test_traces_match_closed_form():
    x = ts.FourierSignals.random_paper(2, 4, 10.0, seed=5)
    W = np.array([[0.5, 0.2]])
    net = ts.Network()
    net.add_population("n", ts.Neurons(1, bias=0.3))
    net.connect_input("x", "n", W)
    rec = np.linspace(0.0, 5.0, 101)
    res = net.run(5.0, {"x": x}, record_times=rec)
    tr = res.traces["n"][:, 0]
    spikes = res["n"].times
    y = x.mix(W)
    v = perfect_v(y.coefficients[0], 10.0, 0.3, 1.0, 0.0, -1.0, rec) - 2 * np.searchsorted(spikes, rec, side="left")
    np.testing.assert_allclose(tr, v, atol=1e-9)
    assert tr.max() < 1.0


def test_bit_for_bit_repeat_recurrent():
    net = _recurrent(300, seed=1)
    a = net.run(2.0)["p"]
    b = net.run(2.0)["p"]
    assert a == b and a.count > 1000


def _recurrent(n, seed, w_exc=0.1, w_inh=-0.4, k=20):
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), k)
    cols = rng.integers(0, n, n * k)
    w = np.where(rng.random(n * k) < 0.8, w_exc, w_inh)
    W = sp.csr_matrix((w, (rows, cols)), shape=(n, n))
    net = ts.Network()
    net.add_population("p", ts.Neurons(n, bias=20.0 * (1 + 0.1 * np.sin(np.arange(n)))))
    net.connect("p", "p", W, delay=0.1)
    return net


def test_runaway_activity_hits_max_spikes():
    net = ts.Network()
    net.add_population("p", ts.Neurons(2, bias=1.0))
    net.connect("p", "p", [[0.0, 3.0], [3.0, 0.0]], delay=0.0)  # each spike fires the other at once
    with pytest.raises(ts.SimulationLimitError, match="max_spikes"):
        net.run(10.0, max_spikes=10_000)


@pytest.mark.parametrize("call,name", [
    (lambda n: n.connect("a", "b", [[1.0]], delay=-0.1), "delay"),
    (lambda n: n.connect("a", "b", [[1.0, 2.0]]), "weights"),
    (lambda n: n.connect("a", "b", [[np.nan]]), "weights"),
    (lambda n: n.connect("a", "b", [[1.0]], kernel="alpha"), "kernel"),
    (lambda n: n.connect("a", "zzz", [[1.0]]), "post"),
    (lambda n: n.connect("zzz", "b", [[1.0]]), "pre"),
    (lambda n: n.connect("a", "b", [[1.0]], delay=np.nan), "delay"),
    (lambda n: n.connect("a", "a", [[1.0]], kernel=ts.PeriodicLowpass(1.0, 2)), "kernel"),
    (lambda n: n.add_population("a", ts.Neurons(1)), "name"),
    (lambda n: n.connect_input("x", "zzz", [[1.0]]), "post"),
    (lambda n: n.run(1.0, {"nope": ts.FourierSignals([[1.0]], 1.0)}), "inputs"),
    (lambda n: n.run(-1.0), "t_end"),
    (lambda n: n.run(1.0, record_times=[0.5, 0.1]), "record_times"),
])
def test_bad_network_input(call, name):
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=1.0))
    net.add_population("b", ts.Neurons(1))
    with pytest.raises(ValueError, match=name):
        call(net)


def test_missing_declared_input_and_lowpass_cycle():
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=1.0))
    net.add_population("b", ts.Neurons(1, bias=1.0))
    net.connect_input("x", "a", [[1.0]])
    with pytest.raises(ValueError, match="inputs"):
        net.run(1.0)
    net.connect("a", "b", [[1.0]], kernel=ts.PeriodicLowpass(1.0, 1))
    net.connect("b", "a", [[1.0]], kernel=ts.PeriodicLowpass(1.0, 1))
    with pytest.raises(ValueError, match="cycle"):
        net.run(1.0, {"x": ts.FourierSignals([[1.0]], 1.0)})


def test_ctrl_c_interrupts_a_network_run():
    assert_ctrl_c_stops("""
        import numpy as np, scipy.sparse as sp, tem_sim as ts
        n = 2000
        W = sp.random(n, n, density=0.01, random_state=0, format="csr") * 0.05
        net = ts.Network()
        net.add_population("p", ts.Neurons(n, bias=20.0))
        net.connect("p", "p", W, delay=0.1)
    """, "net.run(1e7, max_spikes=10**12)", wait=1.5)


def test_leaky_neuron_with_exponential_synapse_closed_form():
    # one arrival at t0 = 1 + d into a leaky neuron with bias b:
    # v(t) = P + (v(t0) - P) e^{-h/tau} + (w/kappa) (e^{-h/tau_s} - e^{-h/tau}) / (1/tau - 1/tau_s)
    from scipy.optimize import brentq

    kappa, delta, b, tau, w, tau_s, d = 0.8, 0.5, 0.3, 1.5, 2.0, 0.4, 0.2
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=0.5, v0=0.5))  # fires once, at t = 1
    net.add_population("b", ts.Neurons(1, kappa=kappa, delta=delta, bias=b, tau=tau))
    net.connect("a", "b", [[w]], kernel=ts.Exponential(tau_s), delay=d)
    rec = np.linspace(0.0, 4.0, 81)
    res = net.run(4.0, record_times=rec)
    P = b * tau / kappa  # 0.5625 > delta: b would also fire on its own, late
    t0 = 1.0 + d

    def v(t):
        t = np.asarray(t, dtype=float)
        base = P + (-delta - P) * np.exp(-t / tau)
        h = np.clip(t - t0, 0, None)
        syn = (w / kappa) * (np.exp(-h / tau_s) - np.exp(-h / tau)) / (1 / tau - 1 / tau_s)
        return base + np.where(t >= t0, syn, 0.0)

    t_cross = brentq(lambda t: v(t) - delta, t0, 4.0, xtol=1e-15)
    assert res["b"].times[0] == pytest.approx(t_cross, rel=1e-12)
    before = rec < t_cross
    np.testing.assert_allclose(res.traces["b"][before, 0], v(rec[before]), atol=1e-12)


# ---------------------------------------------------------------- the sliced loop
# Networks of perfect constant-drive neurons with delta synapses and a positive shortest delay run
# in time slices of that delay (the recurrent benchmark's case); everything else, and these networks
# when _core._use_sliced(False), runs event by event. Both must give the same spikes, to the bit.

@pytest.fixture
def event_loop():
    """Run the body with the event-by-event loop forced; restores the switch."""
    def run(net, *args, **kwargs):
        old = _core._use_sliced(False)
        try:
            return net.run(*args, **kwargs)
        finally:
            _core._use_sliced(old)
    return run


def _bench_like(n, k, seed=0, delay=0.001):
    """bench/bench_network.py's recurrent network, smaller: k distinct presynaptic neurons each,
    80 % excitatory (+0.1), 20 % inhibitory (-0.5), one delay, a deterministic spread of drives."""
    rng = np.random.default_rng(seed)
    pre = np.concatenate([rng.choice(n - 1, k, replace=False) for _ in range(n)])
    post = np.repeat(np.arange(n), k)
    pre += pre >= post
    w = np.where(pre < int(0.8 * n), 0.1, -0.5)
    j = np.arange(n, dtype=float)
    golden = (np.sqrt(5.0) - 1.0) / 2.0
    drive = 27.0 * (0.8 + 0.4 * ((j * golden) % 1.0))
    v0 = -1.0 + 2.0 * ((j * np.sqrt(2.0) + 0.5) % 1.0) * (1.0 - 1e-9)
    net = ts.Network()
    net.add_population("p", ts.Neurons(n, bias=drive, v0=v0))
    net.connect("p", "p", sp.csr_matrix((w, (post, pre)), shape=(n, n)), delay=delay)
    return net


def test_sliced_loop_is_bit_identical_to_the_event_loop_on_the_benchmark_network(event_loop):
    net = _bench_like(2000, 100)
    a = net.run(1.0)
    b = event_loop(net, 1.0)
    assert a.stats["slices"] > 100 and a.stats["sliced_restarts"] == 0 and b.stats["slices"] == 0
    assert a["p"].count > 15000
    assert a["p"].times.tobytes() == b["p"].times.tobytes()
    assert np.array_equal(a["p"].indices, b["p"].indices)
    for key in ("spikes", "deliveries", "synaptic_events"):
        assert a.stats[key] == b.stats[key]


@pytest.mark.parametrize("seed", [0, 1])
def test_delta_networks_match_an_event_queue_reference_to_the_bit(seed, event_loop):
    # two populations, three projections (two delays between the same pair), powers of two and
    # other kappas, drives of both signs, many exact ties (delays and weights are binary fractions)
    rng = np.random.default_rng(seed)
    n1, n2 = 120, 80
    N = n1 + n2
    kappa = np.concatenate([np.full(n1, 1.0), rng.choice([0.5, 0.7, 2.0], n2)])
    delta = np.concatenate([np.full(n1, 1.0), rng.uniform(0.4, 1.5, n2)])
    bias = np.concatenate([rng.uniform(8.0, 16.0, n1), rng.uniform(-2.0, 12.0, n2)])
    v0 = rng.uniform(-1.0, 1.0, N) * delta
    net = ts.Network()
    net.add_population("e", ts.Neurons(n1, kappa=kappa[:n1], delta=delta[:n1], bias=bias[:n1], v0=v0[:n1]))
    net.add_population("i", ts.Neurons(n2, kappa=kappa[n1:], delta=delta[n1:], bias=bias[n1:], v0=v0[n1:]))
    full = []
    for pre, post, npre, npost, vals, d in [("e", "e", n1, n1, [0.125, 0.25], 0.0078125),
                                            ("e", "i", n1, n2, [0.5], 0.015625),
                                            ("i", "e", n2, n1, [-0.75, -0.375], 0.01171875),
                                            ("e", "e", n1, n1, [0.0625], 0.03125)]:
        W = sp.random(npost, npre, density=0.15, random_state=int(rng.integers(1 << 30)), format="csr")
        W.data = rng.choice(vals, W.nnz)
        net.connect(pre, post, W, delay=d)
        o_pre, o_post = (0 if pre == "e" else n1), (0 if post == "e" else n1)
        G = sp.coo_matrix(W)
        full.append((sp.csr_matrix((G.data, (G.row + o_post, G.col + o_pre)), shape=(N, N)), d))
    t_end = 1.5
    times, neurons = delta_network_events(kappa, delta, bias, v0, full, t_end)
    assert times.size > 500
    for out in (net.run(t_end), event_loop(net, t_end)):
        for name, lo, hi in (("e", 0, n1), ("i", n1, N)):
            keep = (neurons >= lo) & (neurons < hi)
            assert out[name].times.tobytes() == times[keep].tobytes()
            assert np.array_equal(out[name].indices, neurons[keep] - lo)
    assert net.run(t_end).stats["slices"] > 0


def test_sliced_loop_gives_way_to_the_event_loop_on_a_rounding_reversal(event_loop):
    # a fires at 0.5; b gets +0.5 at 0.512 (its crossing is then K = 0.8138903960933261) and a
    # vanishing inhibitory -1e-300 at 0.746, after which the crossing recomputed from b's state is one
    # ulp earlier than K: the event loop checks b at K and fires it at that earlier time, after any
    # event in between. A slice cannot reproduce that order, so the run starts again event by event.
    net = ts.Network()
    net.add_population("a", ts.Neurons(1, bias=2.0, v0=0.0))
    net.add_population("b", ts.Neurons(1, bias=1.843, v0=-1.0))
    net.connect("a", "b", [[0.5]], delay=0.012)
    net.connect("a", "b", [[-1e-300]], delay=0.246)
    out = net.run(1.0)
    ref = event_loop(net, 1.0)
    assert out.stats["sliced_restarts"] == 1 and out.stats["slices"] == 0
    t1, t2 = 0.5 + 0.012, 0.5 + 0.246
    v1 = -1.0 + (1.843 * t1 + 0.5)
    K = t1 + (1.0 - v1) / 1.843
    x = t2 + (1.0 - (v1 + (1.843 * (t2 - t1) - 1e-300))) / 1.843
    assert x < K
    assert out["b"].times.tolist() == [x] == ref["b"].times.tolist()
    assert out["a"].times.tolist() == [0.5] == ref["a"].times.tolist()


def test_sliced_loop_gives_way_when_the_delay_is_below_the_time_resolution(event_loop):
    # t + 1e-20 == t for these spike times: a spike arrives at the instant it was fired, which only
    # the event loop can order (it used to loop forever)
    net = ts.Network()
    net.add_population("a", ts.Neurons(3, bias=[2.0, 3.0, 1.5]))
    net.connect("a", "a", [[0, 0.1, 0.2], [0.3, 0, -0.1], [0.2, 0.2, 0]], delay=1e-20)
    out = net.run(2.0)
    assert out.stats["sliced_restarts"] == 1 and out["a"].count >= 5
    assert out["a"] == event_loop(net, 2.0)["a"]


def test_sliced_loop_stops_at_max_spikes_where_the_event_loop_does(event_loop):
    # runaway activity (strong excitation among neurons without drive): the same error, reached
    # at the same spike
    rng = np.random.default_rng(0)
    n = 200
    W = sp.random(n, n, density=0.05, random_state=0, format="csr")
    W.data = 4.0 * rng.choice([0.5, -0.25, 0.25, -1.0], W.nnz)
    net = ts.Network()
    net.add_population("p", ts.Neurons(n, bias=np.where(np.arange(n) < 10, 5.0, 0.0), v0=-1.0))
    net.connect("p", "p", W, delay=0.01)
    with pytest.raises(ts.SimulationLimitError) as sliced:
        net.run(3.0, max_spikes=20_000)
    with pytest.raises(ts.SimulationLimitError) as events:
        event_loop(net, 3.0, max_spikes=20_000)
    assert str(sliced.value) == str(events.value)


def test_continuous_per_connection_delays_match_one_projection_per_delay():
    """Every connection with its own delay (a continuum of delays) gives the spikes of the same network
    written as one single-delay projection per connection; an all-zero sparse projection is accepted."""
    rng = np.random.default_rng(3)
    n = 40
    W = sp.random(n, n, density=0.15, random_state=4, format="csr")
    W.data = rng.uniform(-0.3, 0.5, W.nnz)
    D = W.copy()
    D.data = rng.uniform(0.05, 0.6, W.nnz)
    nrn = ts.Neurons(n, kappa=1.0, delta=0.5, bias=np.linspace(0.8, 2.0, n))
    a = ts.Network()
    a.add_population("p", nrn)
    a.connect("p", "p", W, delay=D)
    a.connect("p", "p", sp.csr_matrix((n, n)), delay=sp.csr_matrix((n, n)))
    b = ts.Network()
    b.add_population("p", nrn)
    coo = W.tocoo()
    for i, j, w, d in zip(coo.row, coo.col, coo.data, D.tocoo().data):
        one = sp.csr_matrix(([w], ([i], [j])), shape=(n, n))
        b.connect("p", "p", one, delay=d)
    ra, rb = a.run(6.0), b.run(6.0)
    assert ra["p"].count > 100
    assert np.array_equal(ra["p"].times, rb["p"].times) and np.array_equal(ra["p"].indices, rb["p"].indices)


def test_plotted_integrator_trace_is_the_engines_trace():
    """tem_sim.plot.integrator_trace draws v from the closed form; the engine records it exactly."""
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    from tem_sim import plot

    x = ts.FourierSignals.random_paper(2, 4, 10.0, seed=5)
    W = np.array([[0.5, 0.2], [0.1, 0.9]])
    nrn = ts.Neurons(2, kappa=0.5, delta=0.4, bias=0.3)
    net = ts.Network()
    net.add_population("n", nrn)
    net.connect_input("x", "n", W)
    ax = plot.integrator_trace(x, W, nrn, ts.encode(x, W, nrn, 8.0), neuron=1, n_points=400)
    t, v = ax.lines[0].get_data()
    res = net.run(8.0, {"x": x}, record_times=t)
    assert res["n"].neuron(1).size >= 3
    np.testing.assert_allclose(v, res.traces["n"][:, 1], atol=1e-9)
    with pytest.raises(ts.ValidationError):
        plot.integrator_trace(x, W, ts.Neurons(2, bias=0.3, tau=1.0), res["n"], neuron=0)
