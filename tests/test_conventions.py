"""Standard LIF conventions, spike sources and simultaneous arrivals (issue 12).

Every spike time is checked against a closed form or an independent dense
trajectory (tests/oracle.py); invariance under relabelling and connect order is
checked bit for bit.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import tem_sim as ts
from tem_sim import _core

from oracle import trajectory


def _both_paths(build, t_end, **run_kw):
    """Run a network as built (constant drives and delta synapses only: the packed fast path) and
    with an exponential projection from a silent population added (the general path)."""
    fast = build().run(t_end, **run_kw)
    net = build()
    net.add_population("_silent", ts.Neurons(1, bias=0.0))
    for name in list(net.populations):
        if name != "_silent":
            net.connect("_silent", name, np.full((net.populations[name].n, 1), 1.0), kernel=ts.Exponential(1.0))
    general = net.run(t_end, **run_kw)
    assert general["_silent"].count == 0
    return fast, general


# ----------------------------------------------------------------- closed forms
@pytest.mark.parametrize("leaky", [False, True])
def test_reset_value_and_refractory_constant_drive_closed_form(leaky):
    kappa, delta, bias, vr, tr, v0 = 0.7, 0.5, 1.3, -1.4, 0.37, 0.1
    tau = 2.5 if leaky else np.inf

    def build():
        net = ts.Network()
        net.add_population("a", ts.Neurons(1, kappa=kappa, delta=delta, bias=bias, v0=v0, tau=tau,
                                           reset=vr, t_ref=tr))
        return net

    if leaky:
        P = bias * tau / kappa
        first = tau * np.log((P - v0) / (P - delta))
        period = tr + tau * np.log((P - vr) / (P - delta))
    else:
        first = kappa * (delta - v0) / bias
        period = tr + kappa * (delta - vr) / bias
    t_end = 20.0
    expect = first + period * np.arange(int((t_end - first) / period) + 1)
    for out in _both_paths(build, t_end):
        np.testing.assert_allclose(out["a"].times, expect, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("leaky", [False, True])
def test_from_lif_matches_the_lif_closed_form(leaky):
    # C dV/dt = -C (V - E_L)/tau_m + I_e: period t_ref + tau_m log((V_inf - V_reset)/(V_inf - V_th))
    tau_m = 20.0 if leaky else np.inf
    p = dict(V_th=-50.0, V_reset=-60.0, E_L=-65.0, C_m=250.0, I_e=200.0, t_ref=2.0)
    nrn = ts.Neurons.from_lif(1, tau_m=tau_m, V_m=-58.0, **p)
    st = ts.encode(ts.FourierSignals.from_one_sided([[0.0]], 1.0), [[0.0]], nrn, 300.0)
    if leaky:
        v_inf = p["E_L"] + p["I_e"] * tau_m / p["C_m"]
        first = tau_m * np.log((v_inf + 58.0) / (v_inf - p["V_th"]))
        period = p["t_ref"] + tau_m * np.log((v_inf - p["V_reset"]) / (v_inf - p["V_th"]))
    else:
        first = p["C_m"] * (p["V_th"] + 58.0) / p["I_e"]
        period = p["t_ref"] + p["C_m"] * (p["V_th"] - p["V_reset"]) / p["I_e"]
    expect = first + period * np.arange(int((300.0 - first) / period) + 1)
    np.testing.assert_allclose(st.times, expect, rtol=1e-12)


def test_jump_over_threshold_subtract_fires_repeatedly_reset_value_once():
    def run(reset, t_ref=0.0):
        net = ts.Network()
        net.add_spike_source("s", ([0], [1.0]))
        net.add_population("a", ts.Neurons(1, delta=1.0, bias=0.0, v0=0.0, reset=reset, t_ref=t_ref))
        net.connect("s", "a", [[4.5]], delay=0.25)
        return net.run(3.0, record_times=[1.5])
    sub = run("subtract")
    assert sub["a"].times.tolist() == [1.25, 1.25]                 # 4.5 -> 2.5 -> 0.5
    assert sub.traces["a"][0, 0] == 0.5
    val = run(-0.75)
    assert val["a"].times.tolist() == [1.25]
    assert val.traces["a"][0, 0] == -0.75
    ref = run("subtract", t_ref=0.5)                                # repeated firing, then refractory
    assert ref["a"].times.tolist() == [1.25, 1.25]


@pytest.mark.parametrize("fast", [True, False])
def test_delta_arrivals_in_the_refractory_period_are_ignored(fast):
    # a fires at 1.0 (bias 2, v0 = -1), is refractory until 1.5: the jump arriving at 1.25 is lost,
    # the one at exactly 1.5 (the period's end) counts
    def build():
        net = ts.Network()
        net.add_spike_source("s", ([0, 0], [1.0, 1.25]))
        net.add_population("a", ts.Neurons(1, delta=1.0, bias=2.0, v0=-1.0, reset=-1.0, t_ref=0.5))
        net.connect("s", "a", [[1.5]], delay=0.25)
        return net
    outs = _both_paths(build, 3.0, record_times=[1.2, 1.4999])
    out = outs[0] if fast else outs[1]
    # 1.0: crossing, v = -1 until 1.5; 1.25: ignored; 1.5: v = -1 + 1.5 = 0.5, rising by 2 per unit
    # to 1 at 1.75; then refractory until 2.25 and 1.0 more to the threshold: 3.25 > t_end
    assert out["a"].times.tolist() == [1.0, 1.75]
    # clamped throughout the refractory period
    assert out.traces["a"][:, 0].tolist() == [-1.0, -1.0]


def test_exponential_current_flows_through_the_refractory_period():
    # perfect, no bias; one given spike at t0 = 0 of weight w on an exponential synapse (tau_s):
    # v(t) = v0 + w tau_s (1 - e^{-t/tau_s}) / kappa; after the spike at t1, v = vr until t1 + tr,
    # then v = vr + w tau_s (e^{-(t1+tr)/tau_s} - e^{-t/tau_s}) / kappa
    kappa, delta, v0, vr, tr, w, tau_s = 1.0, 1.0, -1.0, -1.2, 0.3, 5.0, 1.0
    net = ts.Network()
    net.add_spike_source("s", ([0], [0.0]))
    net.add_population("a", ts.Neurons(1, kappa=kappa, delta=delta, bias=0.0, v0=v0, reset=vr, t_ref=tr))
    net.connect("s", "a", [[w]], kernel=ts.Exponential(tau_s), delay=0.0)
    out = net.run(10.0)["a"].times
    t1 = -tau_s * np.log(1 - kappa * (delta - v0) / (w * tau_s))
    a = t1 + tr
    t2 = -tau_s * np.log(np.exp(-a / tau_s) - kappa * (delta - vr) / (w * tau_s))
    np.testing.assert_allclose(out, [t1, t2], rtol=1e-12)


@pytest.mark.parametrize("leaky", [False, True])
def test_analog_drive_with_reset_value_and_refractory_misses_no_crossing(leaky):
    rng = np.random.default_rng(21)
    x = ts.FourierSignals.random_paper(4, 6, 5.0, seed=rng)
    W = rng.normal(size=(3, 4)) * 1.5
    vr = np.array([-0.9, -0.2, -2.0])
    tr = np.array([0.05, 0.0, 0.3])
    nrn = ts.Neurons(3, kappa=0.4, delta=0.5, bias=2.0, tau=2.0 if leaky else np.inf, reset=vr, t_ref=tr)
    t_end = 25.0
    spikes = ts.encode(x, W, nrn, t_end)
    y = x.mix(W)
    u = y.sample(np.linspace(0, 5.0, 2000)) + nrn.bias[:, None]
    assert (u.min(axis=1) < 0).any(), "the test needs a drive that changes sign"
    for j in range(3):
        tj = spikes.neuron(j)
        assert tj.size > 20
        assert np.all(np.diff(tj) > tr[j])
        pieces = trajectory(y.coefficients[j], y.period, nrn.bias[j], nrn.kappa[j], nrn.delta[j], nrn.v0[j],
                            nrn.tau[j], tj, t_end, 3000, v_reset=vr[j], t_ref=tr[j])
        for k, (tg, vg) in enumerate(pieces):
            assert vg[:-1].max() < nrn.delta[j] + 1e-9, f"neuron {j}: missed crossing near {tg[np.argmax(vg[:-1])]}"
            if k < len(pieces) - 1 or (tj.size and tj[-1] == t_end):
                assert abs(vg[-1] - nrn.delta[j]) < 1e-9      # each spike is a crossing of the trajectory


# ----------------------------------------------------------------- simultaneous arrivals
@pytest.mark.parametrize("first", ["exc", "inh"])
def test_simultaneous_arrivals_are_summed_before_the_threshold_test(first):
    # v = 0.5: +0.8 and -0.8 arrive together; the sum is 0 whatever the connect order
    net = ts.Network()
    net.add_spike_source("e", ([0], [1.0]))
    net.add_spike_source("i", ([0], [1.0]))
    net.add_population("a", ts.Neurons(1, delta=1.0, bias=0.0, v0=0.5))
    order = [("e", 0.8), ("i", -0.8)] if first == "exc" else [("i", -0.8), ("e", 0.8)]
    for name, w in order:
        net.connect(name, "a", [[w]], delay=0.5)
    out = net.run(3.0, record_times=[2.0])
    assert out["a"].count == 0
    assert out.traces["a"][0, 0] == 0.5


def _random_net(seed, perm=None, swap=False, conventions=True):
    """A random recurrent net with mixed-sign weights and one delay; ``perm`` relabels its neurons
    (new label of old neuron j is perm[j]); ``swap`` splits the weights into two projections
    connected in the other order."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 31))
    W = rng.normal(0.0, 0.6, (n, n)) * (rng.random((n, n)) < rng.uniform(0.2, 0.6))
    np.fill_diagonal(W, 0.0)
    bias = rng.uniform(0.5, 4.0, n)
    v0 = rng.uniform(-1.0, 0.99, n)
    kw = {}
    if conventions:
        kind = int(rng.integers(0, 3))
        if kind >= 1:
            kw["tau"] = rng.uniform(0.5, 5.0, n)
            bias = bias * 2.0
        if kind == 2:
            kw["reset"] = rng.uniform(-1.5, -0.5, n)
            kw["t_ref"] = rng.choice([0.0, 0.02, 0.07], n)
            v0 = np.minimum(v0, 0.99)
    delay = float(rng.choice([0.05, 0.0625, 0.02]))
    # half the neurons start at the same value with the same drive: their spikes coincide exactly
    v0[: n // 2] = v0[0]
    bias[: n // 2] = bias[0]
    if perm is None:
        perm = np.arange(n)
    inv = np.argsort(perm)
    P = lambda a: np.asarray(a)[inv] if np.ndim(a) else a      # noqa: E731
    net = ts.Network()
    net.add_population("p", ts.Neurons(n, bias=P(bias), v0=P(v0), **{k: P(v) for k, v in kw.items()}))
    Wp = W[np.ix_(inv, inv)]
    pos, neg = np.where(Wp > 0, Wp, 0.0), np.where(Wp < 0, Wp, 0.0)
    for part in ([neg, pos] if swap else [pos, neg]):
        net.connect("p", "p", sp.csr_matrix(part), delay=delay)
    return net, n


def _canonical(st, perm):
    """(time, original label) pairs sorted, as bytes."""
    inv = np.argsort(perm)
    orig = inv[st.indices]
    order = np.lexsort((orig, st.times))
    return st.times[order].tobytes() + orig[order].astype(np.int64).tobytes()


def test_the_order_dependence_example_gives_identical_spikes_under_relabelling():
    # the example: a random 30-neuron recurrent net, mixed-sign weights, delay 0.05
    rng = np.random.default_rng(12)
    n = 30
    W = rng.normal(0.0, 0.8, (n, n)) * (rng.random((n, n)) < 0.3)
    np.fill_diagonal(W, 0.0)
    bias = np.full(n, 3.0)
    v0 = np.full(n, -1.0)          # identical neurons: their spikes coincide until the weights part them
    perm = rng.permutation(n)
    inv = np.argsort(perm)
    outs = []
    for p in (np.arange(n), perm):
        q = np.argsort(p)
        net = ts.Network()
        net.add_population("p", ts.Neurons(n, bias=bias[q], v0=v0[q]))
        net.connect("p", "p", W[np.ix_(q, q)], delay=0.05)
        outs.append((net.run(20.0)["p"], p))
    assert outs[0][0].count > 1000
    assert _canonical(*outs[0]) == _canonical(*outs[1])
    assert inv.size == n


@pytest.mark.parametrize("sliced", [True, False])
def test_relabelling_and_connect_order_invariance_on_1000_random_nets(sliced):
    old = _core._use_sliced(sliced)
    try:
        n_coincident = 0
        for seed in range(1000):
            net, n = _random_net(seed)
            base = net.run(2.0)["p"]
            perm = np.random.default_rng(10_000 + seed).permutation(n)
            other, _ = _random_net(seed, perm=perm, swap=True)
            out = other.run(2.0)["p"]
            assert _canonical(base, np.arange(n)) == _canonical(out, perm), f"net {seed}"
            t = base.times
            n_coincident += int(np.any(t[1:] == t[:-1]))
        assert n_coincident > 500          # the nets do have simultaneous spikes
    finally:
        _core._use_sliced(old)


# ----------------------------------------------------------------- spike sources
def test_given_spikes_drive_a_leaky_layer_exactly():
    # a leaky neuron without bias receives jumps w at given times; v decays between them:
    # v(t) = sum_k w_k e^{-(t - s_k)/tau}/kappa (+ v0 e^{-t/tau}); the first spike is the first
    # arrival that carries v to delta
    tau, kappa, delta = 2.0, 1.0, 1.0
    s = np.array([0.1, 0.4, 0.45, 1.0, 1.7, 3.0])
    w = 0.45
    net = ts.Network()
    net.add_spike_source("s", (np.zeros(s.size, dtype=int), s))
    net.add_population("a", ts.Neurons(1, kappa=kappa, delta=delta, bias=0.0, v0=0.0, tau=tau, reset=0.0))
    net.connect("s", "a", [[w]], delay=0.0)
    got = net.run(5.0)["a"].times
    expect, v, tl = [], 0.0, 0.0
    for t in s:
        v = v * np.exp(-(t - tl) / tau) + w / kappa
        tl = t
        if v >= delta:
            expect.append(t)
            v = 0.0
    assert got.tolist() == expect and len(expect) >= 1


def test_poisson_source_rates_exact_times_and_seeds():
    rates = np.array([5.0, 50.0, 0.0, 200.0])
    t_end = 200.0

    def run(seed):
        net = ts.Network()
        net.add_poisson("p", 4, rates, seed=seed)
        return net.run(t_end)["p"]
    a, b, c = run(3), run(3), run(4)
    assert a.times.tobytes() == b.times.tobytes() and np.array_equal(a.indices, b.indices)
    assert a.times.tobytes() != c.times.tobytes()
    counts = np.array([a.neuron(j).size for j in range(4)])
    expect = rates * t_end
    assert counts[2] == 0
    assert np.all(np.abs(counts - expect) <= 5 * np.sqrt(expect))
    # exponential intervals: mean and CV of the inter-spike intervals of the fast train
    isi = np.diff(a.neuron(3))
    assert abs(isi.mean() * rates[3] - 1) < 0.03 and abs(isi.std() / isi.mean() - 1) < 0.03
    # no clock: events of the merged train come arbitrarily close (51k events: gaps of ~1e-7)
    gaps = np.diff(a.times)
    assert gaps.min() > 0 and gaps.min() < 1e-5


def test_poisson_intervals_follow_the_exponential_law_exactly():
    """The ziggurat's intervals against the exponential law: Kolmogorov-Smirnov over 10**6 of them,
    and the layers it treats apart: the tail beyond its base edge (7.697) and the wedges."""
    from scipy import stats
    net = ts.Network()
    net.add_poisson("p", 2, [1.0, 3.0], seed=12)
    out = net.run(4e5)["p"]
    for j, rate in enumerate([1.0, 3.0]):
        x = np.diff(np.concatenate([[0.0], out.neuron(j)])) * rate
        assert stats.kstest(x, "expon").pvalue > 1e-3
        for edge in (0.05, 1.0, 7.0, 7.697117470131487, 9.0):      # inside, at and past the tail's edge
            expect = x.size * np.exp(-edge)
            assert abs(np.sum(x > edge) - expect) < 5 * np.sqrt(expect) + 1
    # the streams of different neurons are independent
    a, b = out.neuron(0), out.neuron(1)
    ca = np.histogram(a, bins=400, range=(0, 4e5))[0]
    cb = np.histogram(b, bins=400, range=(0, 4e5))[0]
    assert abs(np.corrcoef(ca, cb)[0, 1]) < 0.2


def test_poisson_source_drives_a_network_unrecorded():
    net = ts.Network()
    net.add_poisson("ext", 200, 100.0, seed=1, record=False)
    net.add_population("a", ts.Neurons.from_lif(200, tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0, t_ref=2.0))
    net.connect("ext", "a", sp.identity(200), delay=1.5)
    out = net.run(1000.0)
    assert "ext" not in out
    expect = 200 * 100.0 * (1000.0 - 1.5)         # events sent before t_end - delay arrive in the window
    assert abs(out.stats["synaptic_events"] - expect) < 5 * np.sqrt(expect)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw, name", [
    (dict(t_ref=-0.1), "t_ref"), (dict(t_ref=np.nan), "t_ref"), (dict(reset=1.0), "reset"),
    (dict(reset=2.0, delta=1.0), "reset"), (dict(reset="zero"), "reset"), (dict(reset=-np.inf), "reset"),
])
def test_bad_neuron_conventions(kw, name):
    with pytest.raises(ValueError, match=f"Neurons.{name}"):
        ts.Neurons(2, **kw)


def test_from_lif_rejects_reset_at_threshold():
    with pytest.raises(ValueError, match="V_reset"):
        ts.Neurons.from_lif(1, tau_m=10.0, V_th=-50.0, V_reset=-50.0, E_L=-60.0)


@pytest.mark.parametrize("rate", [-1.0, np.nan, np.inf, [1.0, -2.0]])
def test_bad_poisson_rates(rate):
    net = ts.Network()
    with pytest.raises(ValueError, match="rate"):
        net.add_poisson("p", 2, rate, seed=0)


def test_bad_given_spikes():
    net = ts.Network()
    with pytest.raises(ValueError, match="sorted by time"):
        net.add_spike_source("s", ([0, 1], [0.5, 0.25]))
    with pytest.raises(ValueError, match=">= 0"):
        net.add_spike_source("s", ([0], [-0.5]))
    with pytest.raises(ValueError, match="as many"):
        net.add_spike_source("s", ([0, 1], [0.5]))
    with pytest.raises(ValueError, match=r"\[0, n\)"):
        net.add_spike_source("s", ([0, 3], [0.1, 0.2]), n=2)
    net.add_spike_source("s", ([0], [0.5]))
    net.add_population("a", ts.Neurons(1))
    with pytest.raises(ValueError, match="receives no connections"):
        net.connect("a", "s", [[1.0]])
    with pytest.raises(ValueError, match="not used"):
        net.add_poisson("s", 1, 1.0, seed=0)


# ----------------------------------------------------------------- training sees the conventions
@pytest.mark.parametrize("leaky", [False, True])
def test_layer_with_reset_value_and_refractory_is_learned_back_from_analog_inputs(leaky):
    rng = np.random.default_rng(5)
    n_in, n_out = 12, 4
    W = rng.uniform(0.0, 1.0, (n_out, n_in))
    nrn = ts.Neurons(n_out, kappa=1.0, delta=0.5, bias=1.0, tau=4.0 if leaky else np.inf,
                     reset=[-0.5, -1.0, -0.2, -2.0], t_ref=[0.0, 0.05, 0.2, 0.1])
    examples = []
    for seed in range(3):
        x = ts.FourierSignals.random_paper(n_in, 6, 10.0, seed=100 + seed)
        examples.append((x, ts.encode(x, W, nrn, 10.0)))
    fit = ts.fit_layer(examples, nrn)
    assert fit.identifiable.all()
    np.testing.assert_allclose(fit.weights, W, atol=1e-8, rtol=0)
    # the TEM's rows (no refractory period, subtractive reset) do not fit these spikes
    tem = ts.Neurons(n_out, kappa=1.0, delta=0.5, bias=1.0, tau=4.0 if leaky else np.inf)
    assert np.abs(ts.fit_layer(examples, tem, warn=False).weights - W).max() > 1e-3


@pytest.mark.parametrize("reset", ["subtract", -0.6])
def test_lif_layer_fed_by_spike_sources_is_learned_back(reset):
    # given input spikes through delta synapses into leaky neurons with a refractory period: many
    # output spikes are triggered by arrivals (a jump over threshold), and with a reset value the
    # jump's overshoot is lost; the rows restart after each spike where v is known
    rng = np.random.default_rng(3)
    n_in, n_out = 8, 3
    W = rng.uniform(0.02, 0.2, (n_out, n_in))
    nrn = ts.Neurons(n_out, kappa=1.0, delta=0.5, bias=1.5, tau=3.0, reset=reset, t_ref=0.05)
    examples = []
    n_jump = 0
    for e in range(4):
        times = np.sort(rng.uniform(0.0, 30.0, 400))
        idx = rng.integers(0, n_in, times.size)
        src = ts.SpikeTrains(times, idx, n_in, 0.0, 30.0)
        net = ts.Network()
        net.add_spike_source("in", src)
        net.add_population("out", nrn)
        net.connect("in", "out", W, delay=0.02)
        out = net.run(30.0)["out"]
        n_jump += int(np.isin(out.times, times + 0.02).sum())
        examples.append((ts.SpikeInput(src, ts.Delta(), delay=0.02), out))
    assert n_jump > 20
    fit = ts.fit_layer(examples, nrn)
    assert fit.identifiable.all()
    np.testing.assert_allclose(fit.weights, W, atol=1e-8, rtol=0)


def test_model_files_keep_the_conventions(tmp_path):
    nrn = ts.Neurons(2, delta=0.5, bias=1.0, tau=[3.0, np.inf], reset=[np.nan, -0.8], t_ref=[0.1, 0.0])
    x = ts.FourierSignals.random_paper(3, 4, 5.0, seed=0)
    W = np.ones((2, 3)) * 0.2
    ts.save_model(tmp_path / "m.npz", nrn, W, x, t_end=10.0)
    back = ts.load_model(tmp_path / "m.npz")
    assert back.neurons == nrn
    assert ts.encode(x, W, back.neurons, 10.0).times.tobytes() == ts.encode(x, W, nrn, 10.0).times.tobytes()
    plain = ts.Neurons(2, bias=1.0)
    ts.save_model(tmp_path / "p.npz", plain, W, x, t_end=10.0)
    assert "t_ref" not in np.load(tmp_path / "p.npz") and ts.load_model(tmp_path / "p.npz").neurons == plain


@pytest.mark.parametrize("seed", range(20))
def test_lif_networks_match_an_independent_event_reference(seed):
    # random recurrent nets under every convention (leak, reset value, refractory period), against
    # a reference written from the definitions (tests/oracle.py), to rounding
    from oracle import lif_network_events
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 25))
    tau = rng.choice([np.inf, 2.0, 0.7], n)
    bias = np.where(np.isinf(tau), rng.uniform(0.5, 3.0, n), rng.uniform(1.0, 4.0, n))
    v_reset = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(-1.5, 0.5, n))
    # refractory periods incommensurate with the delays: an arrival exactly at the end of a period
    # (a chain of delays against a delay plus t_ref) would be a tie decided by rounding
    t_ref = rng.choice([0.0, 0.0301, 0.1703], n)
    v0 = rng.uniform(-1.0, 0.9, n)
    W = rng.normal(0.0, 0.5, (n, n)) * (rng.random((n, n)) < 0.3)
    np.fill_diagonal(W, 0.0)
    W = sp.csr_matrix(W)
    delay = float(rng.choice([0.05, 0.1]))
    net = ts.Network()
    net.add_population("p", ts.Neurons(n, bias=bias, v0=v0, tau=tau, reset=v_reset, t_ref=t_ref))
    net.connect("p", "p", W, delay=delay)
    t_end = 3.0
    out = net.run(t_end)["p"]
    times, idx = lif_network_events(np.ones(n), np.ones(n), bias, v0, tau, v_reset, t_ref, [(W, delay)], t_end)
    assert out.count == times.size and out.count > 20
    order = np.lexsort((idx, times))
    np.testing.assert_allclose(out.times, times[order], rtol=1e-9, atol=1e-12)
    assert np.array_equal(out.indices, idx[order])


def test_initial_values_below_threshold_with_a_reset_value():
    # a LIF network starts anywhere below threshold; the TEM's subtractive reset keeps [-delta, delta)
    assert ts.Neurons(1, reset=-1.0, v0=-10.0).v0[0] == -10.0
    with pytest.raises(ValueError, match=r"Neurons.v0\[0\].*\[-delta, delta\)"):
        ts.Neurons(1, v0=-2.0)
    with pytest.raises(ValueError, match=r"Neurons.v0\[0\].*below delta"):
        ts.Neurons(1, reset=-1.0, v0=1.0)


def test_fit_files_from_before_the_noise_keys_still_load(tmp_path):
    x = ts.FourierSignals.random_paper(3, 4, 5.0, seed=0)
    nrn = ts.Neurons(1, bias=1.0)
    fit = ts.fit_layer([(x, ts.encode(x, [[0.3, 0.2, 0.1]], nrn, 20.0))], nrn)
    ts.save_fit(tmp_path / "f.npz", fit)
    old = dict(np.load(tmp_path / "f.npz"))
    for k in ("noise", "weighting"):
        old.pop(k)
    np.savez(tmp_path / "old.npz", **old)
    back = ts.load_fit(tmp_path / "old.npz")
    assert np.array_equal(back.weights, fit.weights) and np.isnan(back.info[0]["noise"])
    assert back.info[0]["weighting"] == "unknown"


@pytest.mark.parametrize("leaky", [False, True])
def test_no_spike_inequalities_hold_at_the_true_weights_with_reset_value_and_refractory(leaky):
    # I1 rows of neurons with a reset value and a refractory period: v stays below threshold between
    # spikes, so the true weights satisfy every inequality, and each equality, to rounding
    rng = np.random.default_rng(8)
    W = rng.uniform(0.0, 1.0, (3, 6))
    nrn = ts.Neurons(3, kappa=1.0, delta=0.5, bias=1.0, tau=3.0 if leaky else np.inf,
                     reset=[-0.5, -1.2, np.nan], t_ref=[0.1, 0.0, 0.05])
    x = ts.FourierSignals.random_paper(6, 5, 8.0, seed=9)
    st = ts.encode(x, W, nrn, 16.0)
    rows = ts.constraints.layer_rows([(x, st)], nrn, inequalities=True, n_points=16)
    for j, r in enumerate(rows):
        assert r.G.shape[0] > 100 and r.A.shape[0] > 5
        assert np.all(r.G @ W[j] <= r.h + 1e-9)
        np.testing.assert_allclose(r.A @ W[j], r.r, atol=1e-9)
