"""Plots of spikes, integrator traces, weights and the panels of the paper's error figures.

Each function draws data it is given on a matplotlib Axes; none knows the
experiments (:func:`tem_sim.reproduce.save_figure` assembles the paper's
figures from these panels). Needs matplotlib (the ``plot`` extra: ``pip install tem_sim[plot]``). It is
imported when a function here is first called, with the non-interactive
``Agg`` backend unless a backend was already chosen, so importing
:mod:`tem_sim` never needs it.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .exceptions import ValidationError


def _plt():
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("tem_sim.plot needs matplotlib: pip install 'tem_sim[plot]'") from exc
    if "matplotlib.pyplot" not in __import__("sys").modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _axes(ax: Any) -> Any:
    return ax if ax is not None else _plt().subplots()[1]


def raster(spikes: Any, ax: Any = None, *, color: str = "k", label: str | None = None) -> Any:
    """Spike raster: one row per neuron, a tick per spike.

    Parameters
    ----------
    spikes : SpikeTrains
    ax : matplotlib Axes, optional
    color : str
    label : str, optional
        y-axis label (default "neuron").

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    ax.eventplot(spikes.trains(), lineoffsets=np.arange(spikes.n_neurons), linelengths=0.8, colors=color)
    ax.set_xlim(spikes.t_start, spikes.t_stop)
    ax.set_yticks(np.arange(spikes.n_neurons))
    ax.set_xlabel("time")
    ax.set_ylabel(label or "neuron")
    return ax


def integrator_trace(signals: Any, weights: Any, neurons: Any, spikes: Any, neuron: int = 0,
                     ax: Any = None, n_points: int = 2000) -> Any:
    """Integrator of a perfect TEM neuron over time, with its threshold and spikes.

    ``v(t) = v0 + (1/kappa) int_0^t (W x + b) - 2 delta * (spikes before t)``.

    Parameters
    ----------
    signals : FourierSignals
        The layer's inputs.
    weights : array_like, shape (n_out, n_in)
    neurons : Neurons
        Must be perfect integrators (``tau = inf``).
    spikes : SpikeTrains
        The layer's output spikes (from :func:`tem_sim.encode`).
    neuron : int, default 0
    ax : matplotlib Axes, optional
    n_points : int, default 2000

    Returns
    -------
    matplotlib Axes
    """
    if not 0 <= neuron < neurons.n:
        raise ValidationError("neuron", neuron, f"in [0, {neurons.n})")
    if neurons.is_leaky[neuron]:
        raise ValidationError("neurons.tau", float(neurons.tau[neuron]), "inf (perfect integrator) for the trace")
    ax = _axes(ax)
    t = np.linspace(spikes.t_start, spikes.t_stop, n_points)
    y = signals.mix(np.asarray(weights, dtype=float)[neuron:neuron + 1])
    integral = y.integrate(np.full(t.size, spikes.t_start), t)[0] + neurons.bias[neuron] * (t - spikes.t_start)
    ts = spikes.neuron(neuron)
    n_before = np.searchsorted(ts, t, side="left")
    d, k = neurons.delta[neuron], neurons.kappa[neuron]
    v = neurons.v0[neuron] + integral / k - 2 * d * n_before
    ax.plot(t, v, lw=1, label="integrator")
    ax.axhline(d, color="r", ls="--", lw=1, label="threshold")
    ax.plot(ts, np.full(ts.size, d), "rv", ms=4, label="spikes")
    ax.set_xlabel("time")
    ax.set_ylabel(f"v (neuron {neuron})")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def weights_comparison(true: Any, recovered: Any, ax: Any = None, title: str = "") -> Any:
    """Recovered versus true weights, one point per weight, on the identity line.

    Parameters
    ----------
    true, recovered : array_like of the same shape
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib Axes
    """
    a, b = np.asarray(true, dtype=float).ravel(), np.asarray(recovered, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValidationError("recovered", b.shape, f"the shape of true {a.shape}")
    ax = _axes(ax)
    lo, hi = float(min(a.min(), np.nanmin(b))), float(max(a.max(), np.nanmax(b)))
    ax.plot([lo, hi], [lo, hi], color="0.7", lw=1)
    ax.plot(a, b, "o", ms=5)
    err = float(np.nanmax(np.abs(a - b)))
    ax.set_title(f"{title} (max |error| {err:.1e})" if title else f"max |error| {err:.1e}")
    ax.set_xlabel("true weight")
    ax.set_ylabel("recovered weight")
    return ax


def error_heatmap(errors: Any, rows: Sequence[Any], cols: Sequence[Any], ax: Any = None, *,
                  xlabel: str = "", ylabel: str = "", title: str = "", col_labels: Sequence[str] | None = None,
                  vmin: float = 1e-16, vmax: float | None = None) -> Any:
    """Weight errors on a log colour scale (the paper's Figures 1 and 2).

    Parameters
    ----------
    errors : array_like, shape (len(rows), len(cols))
    rows, cols : sequences
        Axis values.
    ax : matplotlib Axes, optional
    xlabel, ylabel, title : str
    col_labels : sequence of str, optional
    vmin, vmax : float
        Colour range (errors are clipped to ``vmin`` from below).

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.colors import LogNorm

    e = np.asarray(errors, dtype=float)
    if e.shape != (len(rows), len(cols)):
        raise ValidationError("errors", e.shape, f"shape {(len(rows), len(cols))}")
    ax = _axes(ax)
    shown = np.clip(np.where(np.isfinite(e), e, np.nan), vmin, None)
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis",
                   norm=LogNorm(vmin=vmin, vmax=vmax or max(np.nanmax(shown), vmin * 10)))
    ax.set_xticks(range(len(cols)), col_labels or [f"{c:g}" for c in cols])
    ax.set_yticks(range(len(rows)), [f"{r:g}" for r in rows])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, label="||W_hat - W||_F")
    return ax


def duration_curves(summary: Sequence[dict], paper: dict | None = None, axes: Any = None) -> Any:
    """Figure 3: median and quartiles of the W1 and W2 errors versus duration, in both norms, and the
    fraction of successful runs.

    The FRI-only method's medians (summary keys prefixed ``fri_``) are drawn
    grey beside the default method's when the summary has them, and so is
    its success fraction in the third panel.

    Parameters
    ----------
    summary : list of dict
        :meth:`tem_sim.reproduce.FigureResult.summary`.
    paper : dict, optional
        The paper's Figure 3 data, drawn for comparison (W1 1-norm, W2 Frobenius).
    axes : two or three matplotlib Axes, optional
        The third, if given, shows the success fractions.

    Returns
    -------
    the Axes
    """
    if axes is None:
        axes = _plt().subplots(1, 3, figsize=(15, 4))[1]
    D = np.array([s["duration"] for s in summary], dtype=float)
    fri = bool(summary) and "fri_success" in summary[0]

    def finite(v: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(v), v, np.nan)

    for ax, layer in zip(axes, ("W1", "W2")):
        for norm, style in (("one", "-"), ("fro", "--")):
            k = f"{layer}_{norm}"
            med = np.array([s[f"median_{k}"] for s in summary])
            lo, hi = np.array([s[f"q25_{k}"] for s in summary]), np.array([s[f"q75_{k}"] for s in summary])
            name = "1-norm" if norm == "one" else "Frobenius"
            line, = ax.semilogy(D, finite(med), style, marker="o", ms=3, label=f"tem_sim median ({name})")
            ax.fill_between(D, finite(lo), finite(hi), color=line.get_color(), alpha=0.2)
        if fri:
            k = "W1_one" if layer == "W1" else "W2_fro"
            med = np.array([s[f"fri_median_{k}"] for s in summary])
            ax.semilogy(D, finite(med), "-.", color="0.5", marker="^", ms=3,
                        label=f"FRI only median ({'1-norm' if layer == 'W1' else 'Frobenius'})")
        if paper is not None:
            pk = "W1" if layer == "W1" else "W2"
            pname = "1-norm" if layer == "W1" else "Frobenius"
            pd = np.array(paper["cols_duration"], dtype=float)
            ax.semilogy(pd, paper[f"median_{pk}"], "k:", marker="s", ms=3, label=f"paper median ({pname})")
            ax.fill_between(pd, paper[f"q25_{pk}"], paper[f"q75_{pk}"], color="k", alpha=0.08)
        ax.set_xlabel("duration D")
        ax.set_ylabel(f"error of {layer}")
        ax.set_title(f"{layer}: median and quartiles")
        ax.legend(fontsize="small")
    if len(axes) > 2:
        ax = axes[2]
        ax.plot(D, [s["success"] for s in summary], "-", marker="o", ms=3, label="tem_sim (joint)")
        if fri:
            ax.plot(D, [s["fri_success"] for s in summary], "-.", color="0.5", marker="^", ms=3, label="FRI only")
        ax.axhline(0.95, color="k", lw=0.5, ls=":")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("duration D")
        ax.set_ylabel("fraction of runs that succeed")
        ax.set_title("success")
        ax.legend(fontsize="small")
    return axes


def two_layer_overview(W1: Any, W2: Any, W1_hat: Any, W2_hat: Any, hidden: Any, output: Any,
                       axes: Any = None) -> Any:
    """A trained two-layer network at a glance: both layers' weights against the truth, and the
    hidden and output rasters of one example.

    Parameters
    ----------
    W1, W2 : array_like
        The true weights (hidden x inputs, outputs x hidden).
    W1_hat, W2_hat : array_like
        The recovered weights, aligned with the truth (:func:`tem_sim.align_to_truth`).
    hidden, output : SpikeTrains
        The hidden and output spikes of one example.
    axes : 2 x 2 array of matplotlib Axes, optional

    Returns
    -------
    the 2 x 2 array of Axes
    """
    if axes is None:
        axes = _plt().subplots(2, 2, figsize=(10, 7))[1]
    weights_comparison(W1, W1_hat, axes[0, 0], "W1 (hidden x inputs)")
    weights_comparison(W2, W2_hat, axes[0, 1], "W2 (outputs x hidden)")
    raster(hidden, axes[1, 0], color="tab:blue", label="hidden neuron")
    axes[1, 0].set_title("hidden spikes (never observed)")
    raster(output, axes[1, 1], label="output neuron")
    axes[1, 1].set_title("output spikes (the training data)")
    return axes
