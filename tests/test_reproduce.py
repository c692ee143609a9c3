"""The paper's experiments: noise model, seeding, comparison logic and the numbers behind the figures."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tem_sim import SpikeTrains, ValidationError
from tem_sim.reproduce import (FigureResult, add_paper_noise, compare, fig2_cell, fig3_run, paper_data,
                               run_figure, save_figure)


def test_paper_data_ships_with_package():
    for f, key in (("fig1", "error"), ("fig2", "error"), ("fig3", "median_W2")):
        assert key in paper_data(f)
    with pytest.raises(ValidationError, match="figure"):
        paper_data("fig4")


def test_paper_noise_std_per_neuron():
    t0 = np.arange(1.0, 1001.0)
    st = SpikeTrains(np.concatenate([t0, t0 * 0.5]), np.r_[np.zeros(1000, int), np.ones(1000, int)], 2,
                     0.0, 2000.0)
    noisy = add_paper_noise(st, 1e-3, np.random.default_rng(0))
    for j, step in ((0, 1.0), (1, 0.5)):
        expected = 1e-3 * step * math.sqrt(999) / 999
        dev = noisy.neuron(j) - st.neuron(j)
        assert abs(dev.std() / expected - 1) < 0.1
    with pytest.raises(ValidationError, match="level"):
        add_paper_noise(st, -1.0, np.random.default_rng(0))


def test_fig2_cells_bounded_and_shape():
    low = fig2_cell((0, 64, 0))      # 64 examples, 100 dB
    high = fig2_cell((0, 4, 8))      # 4 examples, 20 dB
    one = fig2_cell((0, 1, 4))       # 1 example: not identifiable, stays bounded
    assert low["identifiable"] and low["error"] < 1e-4       # the paper: about 6e-3
    assert high["error"] > low["error"]
    assert not one["identifiable"] and one["error"] < 10     # the paper: about 2e4


def test_fig3_run_recovers_both_layers_at_d34():
    r = fig3_run((0, 34, 0))
    assert r["success"] and r["W1_one"] < 1e-8 and r["W2_fro"] < 1e-8
    assert r["fri_success"] and r["fri_W1_one"] < 1e-8 and r["fri_W2_fro"] < 1e-8     # the same draw


def test_fig3_run_short_recording_joint_beats_fri_only():
    r = fig3_run((0, 10, 0))
    assert r["success"] and r["W2_fro"] < 1e-8 and r["stage"] == "search+joint"
    assert not r["fri_success"] and "too few output spikes" in r["fri_reason"] and np.isnan(r["fri_W2_fro"])


def test_fig3_run_too_short_is_reported():
    r = fig3_run((0, 2, 0))
    assert not r["success"] and "not identifiable" in r["reason"]


def test_comparison_counts_and_factor():
    res = run_figure("fig1", quick=True, seed=0, progress=False)
    paper = paper_data("fig1")
    # replace our errors by 10x the paper's in identifiable cells: all worse, factor 0.1
    rows = []
    for r in res.rows:
        p = paper["error"][r["examples"] - 1][r["duration"] - 1]
        rows.append({**r, "error": 10 * p})
    fake = FigureResult("fig1", rows, res.grid, 0, True, 0.0, 1)
    c = compare(fake)["counts"]["identifiable"]
    assert c["worse"] == c["cells"] > 0 and c["better"] == 0
    assert c["factor"] == pytest.approx(0.1)
    same = FigureResult("fig1", [{**r, "error": r["error"] / 10} for r in rows], res.grid, 0, True, 0.0, 1)
    assert compare(same)["counts"]["identifiable"]["equal"] == c["cells"]


def test_fig3_summary_treats_failures_as_infinite():
    rows = [{"duration": 10, "run": i, "success": False, "W1_one": np.nan, "W1_fro": np.nan,
             "W2_fro": np.nan, "W2_one": np.nan} for i in range(3)]
    res = FigureResult("fig3", rows, {"duration": [10], "runs": 3}, 0, True, 0.0, 1)
    s = res.summary()[0]
    assert s["success"] == 0 and math.isinf(s["median_W2_fro"])
    assert "fri_success" not in s                       # rows of one method only
    cells = compare(res)["cells"]
    assert all(not c["identifiable"] and c["verdict"] == "worse" for c in cells)


def test_fig3_frontier_and_both_methods_in_the_summary():
    from tem_sim.reproduce import fig3_frontier, format_comparison

    def row(D, r, ok, fri_ok):
        e = {k: (1e-12 if ok else np.nan) for k in ("W1_one", "W1_fro", "W2_fro", "W2_one")}
        f = {f"fri_{k}": (1e-12 if fri_ok else np.nan) for k in ("W1_one", "W1_fro", "W2_fro", "W2_one")}
        return {"duration": D, "run": r, "success": ok, "fri_success": fri_ok, "seconds": 0.5,
                "fri_seconds": 0.1, **e, **f}
    # joint: fails only at D = 10 (1 of 20 runs at D = 12 fails: still >= 95 %); FRI only: from D = 16
    rows = [row(D, r, D > 10 and not (D == 12 and r == 0), D >= 16) for D in (10, 12, 14, 16) for r in range(20)]
    res = FigureResult("fig3", rows, {"duration": [10, 12, 14, 16], "runs": 20}, 0, True, 0.0, 1)
    summ = res.summary()
    assert [s["success"] for s in summ] == [0.0, 0.95, 1.0, 1.0]
    assert [s["fri_success"] for s in summ] == [0.0, 0.0, 0.0, 1.0]
    assert summ[1]["fri_median_W2_fro"] == math.inf and summ[3]["fri_median_W2_fro"] == 1e-12
    assert fig3_frontier(summ) == 12 and fig3_frontier(summ, "fri_") == 16
    assert fig3_frontier(summ[:1]) == math.inf
    res.comparison = compare(res)
    text = format_comparison(res)
    assert "frontier" in text and "joint 12, FRI only 16" in text and "from D = 28" in text


def test_fig3_plot_shows_both_methods(tmp_path):
    pytest.importorskip("matplotlib")
    from tem_sim import plot
    rows = [{"duration": D, "run": r, "success": True, "fri_success": D >= 24,
             **{k: 1e-13 for k in ("W1_one", "W1_fro", "W2_fro", "W2_one")},
             **{f"fri_{k}": (1e-12 if D >= 24 else np.nan) for k in ("W1_one", "W1_fro", "W2_fro", "W2_one")}}
            for D in (16, 24, 30) for r in range(2)]
    res = FigureResult("fig3", rows, {"duration": [16, 24, 30], "runs": 2}, 0, True, 0.0, 1)
    axes = plot.duration_curves(res.summary(), paper_data("fig3"))
    labels = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in axes]
    assert any("FRI only" in t for t in labels[1]) and any("paper" in t for t in labels[1])
    succ = axes[2].get_lines()
    assert [list(line.get_ydata()) for line in succ[:2]] == [[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    png = save_figure(res, tmp_path / "fig3.png")
    assert png.stat().st_size > 1000
