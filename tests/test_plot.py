"""Figures draw the data they are given: the two-layer overview and the paper's figures (reproduce.save_figure)."""
from __future__ import annotations

import numpy as np
import pytest

import tem_sim as ts

pytest.importorskip("matplotlib")


def test_two_layer_overview_draws_its_inputs():
    from tem_sim import plot

    rng = np.random.default_rng(0)
    W1, W2 = rng.random((2, 3)), rng.random((4, 2))
    hid = ts.SpikeTrains([0.5, 1.0, 2.5], [0, 1, 0], 2, 0.0, 3.0)
    out = ts.SpikeTrains([0.2, 0.7, 1.1, 2.9], [3, 0, 2, 0], 4, 0.0, 3.0)
    axes = plot.two_layer_overview(W1, W2, W1 + 1e-3, W2, hid, out)
    for ax, (true, rec) in zip(axes[0], ((W1, W1 + 1e-3), (W2, W2))):
        x, y = ax.lines[1].get_data()               # line 0: the identity line
        assert np.array_equal(x, true.ravel()) and np.array_equal(y, rec.ravel())
    assert "1.0e-03" in axes[0, 0].get_title() and "0.0e+00" in axes[0, 1].get_title()
    for ax, st in zip(axes[1], (hid, out)):
        drawn = [np.sort(c.get_positions()) for c in ax.collections]
        assert len(drawn) == st.n_neurons
        assert all(np.array_equal(d, st.neuron(j)) for j, d in enumerate(drawn))
    axes[0, 0].figure.clf()


def test_paper_figure_is_assembled_by_reproduce(tmp_path):
    from tem_sim.reproduce import FigureResult, save_figure

    rows = [{"examples": e, "duration": d, "error": 10.0 ** -(e + d)} for e in (1, 2) for d in (5, 10)]
    res = FigureResult("fig1", rows, {"examples": [1, 2], "duration": [5, 10]}, 0, True, 0.0, 1)
    path = save_figure(res, tmp_path / "f.png")
    assert path.stat().st_size > 1000
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
