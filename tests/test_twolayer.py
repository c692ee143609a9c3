"""Tests of tem_sim.twolayer: two-layer training from output spikes (paper Fig. 3 and beyond)."""
from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest

from tem_sim import FourierSignals, Neurons, PeriodicLowpass, SpikeTrains
from tem_sim.exceptions import IdentifiabilityWarning, ValidationError
from tem_sim.twolayer import (TwoLayerResult, align_to_truth, fit_two_layer, hidden_drive,
                              simulate_two_layer)

T = 10.0
HID = Neurons(2, kappa=10.0, delta=1.0, bias=10.0)
OUT = Neurons(4, kappa=1.0, delta=1.0, bias=1.0)
KERNEL = PeriodicLowpass(T, 7, first=4)
PAPER = pathlib.Path(__file__).resolve().parents[2] / "shared" / "paper" / "fig3_two_layers_vs_duration.json"


def fig3_run(seed, D, n_examples=2):
    """One run of the paper's Figure 3 setting."""
    rng = np.random.default_rng(seed)
    W1, W2 = rng.random((2, 2)), rng.random((4, 2))
    xs = [FourierSignals.random_paper(2, 10, T, seed=rng) for _ in range(n_examples)]
    sims = [simulate_two_layer(x, W1, W2, HID, OUT, KERNEL, D) for x in xs]
    return W1, W2, xs, [h for h, _ in sims], [o for _, o in sims]


def jitter(st, level, rng):
    """The paper's spike-time noise: std = level * ||diff(t_j)|| / len(diff(t_j)) per neuron."""
    times, idx = [], []
    for j in range(st.n_neurons):
        t = st.neuron(j)
        d = np.diff(t)
        sd = level * np.linalg.norm(d) / max(len(d), 1)
        times.append(np.sort(np.clip(t + sd * rng.standard_normal(t.size), 0.0, st.t_stop)))
        idx.append(np.full(t.size, j))
    return SpikeTrains(np.concatenate(times), np.concatenate(idx), st.n_neurons, 0.0, st.t_stop)


@pytest.mark.parametrize("D", [28, 30, 38])
def test_fig3_errors_below_paper_medians(D):
    paper = json.loads(PAPER.read_text()) if PAPER.exists() else None
    errs = []
    for seed in range(4):
        W1, W2, xs, hidden, outs = fig3_run(seed, D)
        res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=seed)
        assert isinstance(res, TwoLayerResult) and res.success, res.report.reason
        al = align_to_truth(res, W1, W2)
        errs.append((al.errors["W1_one"], al.errors["W2_fro"], al.errors["W1_fro"], al.errors["W2_one"]))
        # the recovered hidden spikes are the true ones (up to the permutation)
        for e in range(2):
            h = res.hidden_spikes[e]
            for i in range(2):
                assert np.allclose(h.neuron(al.permutation[i]), hidden[e].neuron(i), atol=1e-8)
    errs = np.array(errs)
    assert np.all(errs < 1e-8)
    if paper is not None:
        col = paper["cols_duration"].index(D)
        assert np.median(errs[:, 0]) <= paper["median_W1"][col]
        assert np.median(errs[:, 1]) <= paper["median_W2"][col]


def test_report_contents_on_success():
    W1, W2, xs, _, outs = fig3_run(0, 34)
    res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=1)
    rep = res.report
    assert rep.success and rep.reason == ""
    assert rep.order == [8, 8]
    assert rep.example_success.tolist() == [True, True]
    assert rep.cluster_sizes.tolist() == [8, 8]
    assert rep.cluster_separation > 1e5
    assert rep.output_residual.max() < 1e-10 and rep.w2_residual < 1e-8
    assert all(e["singular_values"].size > 8 for e in rep.examples)
    assert set(rep.timings) >= {"decode_fri", "cluster", "layer1", "total"}
    # the k-means seed makes the result reproducible
    res2 = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=1)
    assert np.array_equal(res.W1, res2.W1) and np.array_equal(res.W2, res2.W2)


def test_given_order_and_methods_agree():
    W1, W2, xs, _, outs = fig3_run(3, 32)
    for method in ("annihilating", "cadzow", "esprit"):
        res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0, method=method, n_diracs=8,
                            joint=False, search=False)
        assert res.success
        assert align_to_truth(res, W1, W2).errors["W2_fro"] < 1e-7


def test_larger_network_recovered():
    # 3 inputs -> 4 hidden (different biases) -> 8 outputs, 3 pooled spikes per hidden neuron, M = 9
    rng = np.random.default_rng(1)
    hid = Neurons(4, kappa=10.0, delta=1.0, bias=[10.0, 13.0, 8.0, 11.5])
    out = Neurons(8, kappa=1.0, delta=1.0, bias=1.0)
    kernel = PeriodicLowpass(T, 9, first=3)
    W1, W2 = rng.random((4, 3)), rng.random((8, 4))
    xs = [FourierSignals.random_paper(3, 10, T, seed=rng) for _ in range(3)]
    outs = [simulate_two_layer(x, W1, W2, hid, out, kernel, 40.0)[1] for x in xs]
    res = fit_two_layer(xs, outs, hid, out, 4, kernel, seed=0)
    assert res.success, res.report.reason
    assert res.report.order == [12, 12, 12]
    # different hidden parameters fix the order of the hidden neurons: no permutation needed
    assert res.report.hidden_match_cost is not None
    al = align_to_truth(res, W1, W2)
    assert al.permutation.tolist() == [0, 1, 2, 3]
    assert al.errors["W1_fro"] < 1e-6 and al.errors["W2_fro"] < 1e-6


def test_noisy_spikes_degrade_gracefully():
    errs = {}
    for level in (1e-7, 1e-5):
        e = []
        for seed in range(3):
            W1, W2, xs, _, outs = fig3_run(seed, 34)
            rng = np.random.default_rng(100 + seed)
            noisy = [jitter(o, level, rng) for o in outs]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", IdentifiabilityWarning)
                res = fit_two_layer(xs, noisy, HID, OUT, 2, KERNEL, seed=seed, n_diracs=8)
            e.append(align_to_truth(res, W1, W2).errors["W2_fro"] if np.all(np.isfinite(res.W2)) else np.inf)
        errs[level] = np.median(e)
    assert errs[1e-7] < 1e-4
    assert errs[1e-7] < errs[1e-5] < 0.1


def test_too_few_output_spikes_is_reported():
    # the FRI-only method needs about 2M+1 output spikes per neuron and example
    W1, W2, xs, _, outs = fig3_run(0, 14.0)
    with pytest.warns(IdentifiabilityWarning, match="too few output spikes"):
        res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0, joint=False, search=False)
    assert not res.success and "too few output spikes" in res.report.reason
    assert np.all(np.isnan(res.W1)) and np.all(np.isnan(res.W2))
    assert res.report.example_success.tolist() == [False, False]


def _outputs_from_hidden(hidden_trains, W2, D):
    from tem_sim import encode
    return [encode(hidden_drive(h, KERNEL), W2, OUT, D) for h in hidden_trains]


def test_fewer_diracs_than_hidden_neurons_is_reported():
    rng = np.random.default_rng(5)
    W2 = rng.random((4, 2))
    hidden = [SpikeTrains([3.0], [0], 2, 0.0, 10.0), SpikeTrains([6.0], [0], 2, 0.0, 10.0)]
    xs = [FourierSignals.random_paper(2, 10, T, seed=rng) for _ in range(2)]
    outs = _outputs_from_hidden(hidden[:1], W2, 36.0)
    with pytest.warns(IdentifiabilityWarning, match="fewer Diracs"):
        res = fit_two_layer(xs[:1], outs, HID, OUT, 2, KERNEL, seed=0)
    assert not res.success and "fewer Diracs (1) than hidden neurons (2)" in res.report.reason


def test_clusters_that_do_not_separate_are_reported():
    # two hidden neurons with identical W2 columns cannot be told apart
    rng = np.random.default_rng(6)
    col = rng.random(4)
    W2 = np.column_stack([col, col])
    hidden = [SpikeTrains([1.0, 2.1, 3.0, 4.4, 6.0, 7.2], [0, 1, 0, 1, 0, 1], 2, 0.0, 10.0),
              SpikeTrains([1.5, 2.6, 5.0, 6.5, 8.0, 9.0], [0, 1, 0, 1, 0, 1], 2, 0.0, 10.0)]
    xs = [FourierSignals.random_paper(2, 10, T, seed=rng) for _ in range(2)]
    outs = _outputs_from_hidden(hidden, W2, 40.0)
    with pytest.warns(IdentifiabilityWarning):
        res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0)
    assert not res.success
    assert "separate" in res.report.reason or "without any spike" in res.report.reason


def test_align_to_truth_permutation_and_norms():
    rng = np.random.default_rng(7)
    W1, W2 = rng.random((3, 2)), rng.random((5, 3))
    perm = np.array([2, 0, 1])
    est = (W1[perm] + 1e-3, W2[:, perm])
    al = align_to_truth(est, W1, W2)
    assert np.array_equal(al.W2, W2) and np.allclose(al.W1, W1 + 1e-3)
    assert al.errors["W2_fro"] == 0.0
    assert al.errors["W1_one"] == pytest.approx(3e-3)        # largest absolute column sum
    assert al.errors["W1_fro"] == pytest.approx(np.sqrt(6) * 1e-3)
    with pytest.raises(ValidationError):
        align_to_truth((W1, W2[:, :2]), W1, W2)


def test_validation_errors():
    W1, W2, xs, _, outs = fig3_run(0, 30)
    with pytest.raises(ValidationError, match="output_spikes"):
        fit_two_layer(xs, outs[:1], HID, OUT, 2, KERNEL, seed=0)
    with pytest.raises(ValidationError, match="kernel"):
        fit_two_layer(xs, outs, HID, OUT, 2, "delta", seed=0)
    with pytest.raises(ValidationError, match="hidden_neurons"):
        fit_two_layer(xs, outs, HID, OUT, 3, KERNEL, seed=0)
    with pytest.raises(ValidationError, match="seed"):
        fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=None)
    with pytest.raises(ValidationError, match="method"):
        fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0, method="music")


# ------------------------------------------------------------------ joint estimation (issue 14)
@pytest.mark.parametrize("seed, D", [(0, 12), (1, 16)])
def test_joint_fit_recovers_short_recordings(seed, D):
    # far too few output spikes to decode any drive (about 2M+1 = 15 per neuron are needed): the
    # FRI path fails, the multi-start search and the joint fit recover everything
    W1, W2, xs, hidden, outs = fig3_run(seed, D)
    assert max(o.counts().max() for o in outs) < 15
    res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=seed)
    assert res.success, res.report.reason
    assert res.report.stage == "search+joint"
    assert "too few output spikes" in res.report.examples[0]["reason"]
    ji = res.report.joint_info
    assert ji["identifiable"] and ji["jacobian_rank"] == ji["n_unknowns"] < ji["n_equations"]
    al = align_to_truth(res, W1, W2)
    assert al.errors["W1_fro"] < 1e-8 and al.errors["W2_fro"] < 1e-8
    for e in range(2):
        for i in range(2):
            assert np.allclose(res.hidden_spikes[e].neuron(al.permutation[i]), hidden[e].neuron(i), atol=1e-9)


def test_joint_fit_starts_from_fri_when_it_works():
    W1, W2, xs, _, outs = fig3_run(2, 30)
    res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0)
    assert res.success and res.report.stage == "fri+joint" and not res.report.search_info
    al = align_to_truth(res, W1, W2)
    assert al.errors["W1_fro"] < 1e-10 and al.errors["W2_fro"] < 1e-10
    # exact spikes: the error bars are at rounding level
    assert res.W2_std.shape == (4, 2) and np.all(res.W2_std < 1e-10)
    assert res.W1_std.shape == (2, 2) and np.all(res.W1_std < 1e-9)


def _equations(D=30, seed=2, weighting="jitter"):
    from tem_sim.twolayer import _OutputEquations
    W1, W2, xs, hidden, outs = fig3_run(seed, D)
    eqs = _OutputEquations(outs, OUT, T, 7, weighting)
    hs = [(h.times.copy(), h.indices.copy()) for h in hidden]
    return eqs, hs, W2


@pytest.mark.parametrize("weighting", ["jitter", None])
def test_output_equations_jacobian_against_finite_differences(weighting):
    from tem_sim.twolayer import _split
    eqs, hs, W2 = _equations(weighting=weighting)
    eqs.reweight(hs, W2, 2)
    labels = [lab for _, lab in hs]
    x = np.concatenate([s for s, _ in hs])
    # at the truth the projected residual vanishes, so Kaufman's Jacobian is the exact one
    res, W2p, J = eqs.solve(hs, 2, jacobian=True)
    assert np.allclose(W2p, W2, atol=1e-10) and eqs.relative(res) < 1e-12
    h = 1e-6
    Jfd = np.column_stack([(eqs.solve(_split(x + h * np.eye(x.size)[k], labels), 2)[0]
                            - eqs.solve(_split(x - h * np.eye(x.size)[k], labels), 2)[0]) / (2 * h)
                           for k in range(x.size)])
    assert np.allclose(J, Jfd, rtol=1e-5, atol=1e-6 * np.abs(J).max())
    # the full Jacobian in (spike times, W2): columns against differences of the unprojected residual
    Jf, _, _ = eqs.fisher(hs, 2)

    def unprojected(v):
        sp = _split(v[:x.size], labels)
        Th = [eqs.theta(s, lab, 2) for s, lab in sp]
        Wv = v[x.size:].reshape(4, 2)
        return np.concatenate([eqs.design(j, Th) @ Wv[j] - np.concatenate(eqs.c[j]) * eqs.weights[j]
                               for j in range(4)])
    v0 = np.concatenate([x, W2.ravel()])
    Jfd2 = np.column_stack([(unprojected(v0 + h * np.eye(v0.size)[k]) - unprojected(v0 - h * np.eye(v0.size)[k]))
                            / (2 * h) for k in range(v0.size)])
    assert np.allclose(Jf, Jfd2, rtol=1e-5, atol=1e-6 * np.abs(Jf).max())


def test_spike_sensitivity_against_the_engine():
    from tem_sim import encode
    from tem_sim.twolayer import _spike_sensitivity
    rng = np.random.default_rng(3)
    W1 = rng.random((2, 2))
    xs = [FourierSignals.random_paper(2, 10, T, seed=rng) for _ in range(2)]

    def spikes(W):
        return [(st.times.copy(), st.indices.copy()) for st in (encode(x, W, HID, 20.0).first(4) for x in xs)]
    S = _spike_sensitivity(W1, spikes(W1), xs, HID)
    h = 1e-6
    for k in range(4):
        d = np.eye(4)[k].reshape(2, 2) * h
        fd = (np.concatenate([s for s, _ in spikes(W1 + d)]) - np.concatenate([s for s, _ in spikes(W1 - d)])) / (2 * h)
        assert np.allclose(S[:, k], fd, rtol=1e-6, atol=1e-8)


def test_cramer_rao_bound_against_engine_fisher_information():
    # independent oracle: d(output spike times)/d(hidden spike times, W2) by finite differences of
    # the compiled engine, Fisher information sum_k (dt_k/dtheta)^2 / sigma_k^2
    from tem_sim import encode
    from tem_sim.twolayer import cramer_rao_bound
    W1, W2, xs, hidden, outs = fig3_run(2, 30)
    level = 1e-4
    crb = cramer_rao_bound(hidden, W2, outs, OUT, KERNEL, level)
    assert crb["rank"] == crb["n_unknowns"] == 16 + 8

    def output_times(s_all, W):
        out, off = [], 0
        for h in hidden:
            st = SpikeTrains(s_all[off:off + h.count], h.indices, 2, 0.0, T)
            off += h.count
            o = encode(hidden_drive(st, KERNEL), W, OUT, 30.0)
            out.append(np.concatenate([o.neuron(j) for j in range(4)]))
        return np.concatenate(out)
    s0 = np.concatenate([h.times for h in hidden])
    theta0 = np.concatenate([s0, W2.ravel()])
    sig = np.concatenate([np.concatenate([np.full(o.counts()[j], level * np.linalg.norm(np.diff(o.neuron(j)))
                                                  / (o.counts()[j] - 1)) for j in range(4)]) for o in outs])
    h = 1e-6
    cols = []
    for k in range(theta0.size):
        tp, tm = theta0.copy(), theta0.copy()
        tp[k] += h
        tm[k] -= h
        cols.append((output_times(tp[:16], tp[16:].reshape(4, 2)) - output_times(tm[:16], tm[16:].reshape(4, 2)))
                    / (2 * h))
    G = np.column_stack(cols) / sig[:, None]
    cov = np.linalg.inv(G.T @ G)
    assert np.allclose(crb["W2_covariance"], cov[16:, 16:], rtol=1e-3, atol=1e-6 * np.abs(cov[16:, 16:]).max())
    assert np.allclose(crb["hidden_covariance"], cov[:16, :16], rtol=1e-3,
                       atol=1e-6 * np.abs(cov[:16, :16]).max())


def test_noisy_w2_error_near_its_cramer_rao_bound():
    # the paper's noise model, relative jitter 1e-4, D = 30: the joint (weighted) fit is efficient
    from tem_sim.twolayer import cramer_rao_bound
    W1, W2, xs, hidden, outs = fig3_run(0, 30)
    level = 1e-4
    crb = cramer_rao_bound(hidden, W2, outs, OUT, KERNEL, level)
    rng = np.random.default_rng(7)
    err, std, lev, err1, std1 = [], [], [], [], []
    for r in range(6):
        noisy = [jitter(o, level, rng) for o in outs]
        res = fit_two_layer(xs, noisy, HID, OUT, 2, KERNEL, seed=r, warn=False)
        assert res.success, res.report.reason
        al = align_to_truth(res, W1, W2)
        err.append(al.errors["W2_fro"])
        err1.append(al.errors["W1_fro"])
        std.append(np.sqrt(np.sum(res.W2_std ** 2)))
        std1.append(np.sqrt(np.sum(res.W1_std ** 2)))
        lev.append(res.report.joint_info["noise_level"])
    rms = np.sqrt(np.mean(np.square(err)))
    assert 0.5 < rms / crb["W2_rms"] < 2.0
    # W1's error bars (hidden-spike covariance through the layer-1 trainer) against its actual error
    assert 0.5 < np.sqrt(np.mean(np.square(err1))) / np.mean(std1) < 2.0
    assert np.allclose(std, crb["W2_rms"], rtol=0.3)          # the error bars are the bound's
    assert np.allclose(lev, level, rtol=0.3)                  # the level is estimated from the residual


def test_joint_not_identifiable_is_reported():
    W1, W2, xs, _, outs = fig3_run(0, 2.0)
    with pytest.warns(IdentifiabilityWarning, match="not identifiable"):
        res = fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0)
    assert not res.success and "Jacobian rank" in res.report.reason
    assert res.report.joint_info["jacobian_rank"] <= res.report.joint_info["n_equations"]


def test_joint_options_validated():
    W1, W2, xs, _, outs = fig3_run(0, 30)
    for kw, name in (({"search_bounds": (1.0, 0.0)}, "search_bounds"), ({"search_bounds": "wide"}, "search_bounds"),
                     ({"row_weights": "inverse"}, "row_weights"), ({"n_starts": 0}, "n_starts"),
                     ({"search_tol": -1.0}, "search_tol")):
        with pytest.raises(ValidationError, match=name):
            fit_two_layer(xs, outs, HID, OUT, 2, KERNEL, seed=0, **kw)
