"""Three-layer training from output spikes, layer by layer (input -> hidden 1 -> hidden 2 -> output).

The network ``x`` (analog, ``n_in``) -> hidden layer 1 (``W1``) -> periodic
lowpass ``kernel1`` -> hidden layer 2 (``W2``) -> periodic lowpass ``kernel2``
-> output layer (``W3``) -> output spikes. Both hidden layers run over one
period and every one of their spikes passes their kernel (the kernels keep
every spike of a period, :func:`simulate_three_layer`). :func:`fit_three_layer`
learns it from ``x`` and the output spikes in two stages:

1. **Top**: hidden layer 2's spikes and ``W3`` from the output spikes alone
   (:func:`tem_sim.twolayer.recover_hidden`: decode every output drive, joint
   FRI, clustering, joint fit). Nothing is known about what drives hidden
   layer 2, so this stage needs the FRI path's counts: per example, the ``K2``
   pooled spikes of hidden layer 2 need ``2 M2 + 1 >= K2 + 1`` and
   ``min(n2, n_out) (2 M2 + 1 - K2) >= K2`` harmonics of ``kernel2``, and
   every output neuron about ``2 M2 + 1`` spikes per example to decode its drive.
2. **Bottom**: a two-layer problem, ``x`` -> hidden 1 -> hidden 2 spikes
   (:func:`tem_sim.twolayer.fit_two_layer`, FRI start or multi-start search
   over ``W1``, joint fit). The joint problem in (hidden-1 spike times,
   ``W2``) is identifiable only when hidden layer 2 fires more spikes than
   there are unknowns: over the examples, ``sum_e K2_e > sum_e K1_e + n2 n1``
   (``K1``: pooled hidden-1 spikes per example) -- hidden layer 2 must fire
   faster than hidden layer 1 -- and ``W1`` needs more than ``n_in`` spikes
   of every hidden-1 neuron over the examples.

Each stage reports why it fails (:class:`ThreeLayerResult`: ``top`` and
``bottom`` reports); hidden neurons come out in an arbitrary order within
each hidden layer (:func:`align_three_layers`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._validation import as_float_array, as_scalar
from .exceptions import ValidationError
from .kernels import PeriodicLowpass
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains
from .twolayer import HiddenRecovery, TwoLayerResult, fit_two_layer, hidden_drive, recover_hidden

__all__ = ["simulate_three_layer", "fit_three_layer", "ThreeLayerResult", "align_three_layers"]


@dataclass
class ThreeLayerResult:
    """Weights and hidden spikes learned by :func:`fit_three_layer`.

    Attributes
    ----------
    W1 : ndarray, shape (n1, n_in)
    W2 : ndarray, shape (n2, n1)
    W3 : ndarray, shape (n_out, n2)
        NaN where unavailable. Rows of ``W2`` follow the hidden-2 order of the columns of ``W3``.
    hidden1, hidden2 : list of SpikeTrains or None
        Recovered spikes of the hidden layers per example.
    top : HiddenRecovery
        Stage 1 (hidden layer 2 and ``W3`` from the output spikes).
    bottom : TwoLayerResult or None
        Stage 2 (``W1``, ``W2`` from the inputs and hidden layer 2's spikes); None if stage 1 failed.
    success : bool
    reason : str
        Why it failed (empty on success), naming the stage.
    seconds : float
    """

    W1: np.ndarray
    W2: np.ndarray
    W3: np.ndarray
    hidden1: list
    hidden2: list
    top: HiddenRecovery
    bottom: TwoLayerResult | None
    success: bool
    reason: str
    seconds: float


def _check_neurons(name: str, nrn: Any) -> Neurons:
    if not isinstance(nrn, Neurons):
        raise ValidationError(name, type(nrn).__name__, "a Neurons instance")
    return nrn


def _check_kernel(name: str, k: Any) -> PeriodicLowpass:
    if not isinstance(k, PeriodicLowpass):
        raise ValidationError(name, k, "a PeriodicLowpass kernel")
    return k


def simulate_three_layer(inputs: FourierSignals, W1: Any, W2: Any, W3: Any, neurons1: Neurons,
                         neurons2: Neurons, output_neurons: Neurons, kernel1: PeriodicLowpass,
                         kernel2: PeriodicLowpass, t_end: float) -> tuple[SpikeTrains, SpikeTrains, SpikeTrains]:
    """Run the three-layer network on one example.

    Hidden layer 1 encodes ``W1 x`` over one period ``[0, kernel1.period]``;
    its spikes (the first ``kernel1.first`` per neuron, if set) pass through
    ``kernel1``; hidden layer 2 encodes ``W2`` times that over ``[0,
    kernel2.period]``; its spikes pass through ``kernel2``; the output layer
    encodes ``W3`` times that over ``[0, t_end]``.

    Parameters
    ----------
    inputs : FourierSignals
    W1, W2, W3 : array_like, shapes (n1, n_in), (n2, n1), (n_out, n2)
    neurons1, neurons2, output_neurons : Neurons
    kernel1, kernel2 : PeriodicLowpass
    t_end : float

    Returns
    -------
    hidden1, hidden2, output : SpikeTrains

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, PeriodicLowpass
    >>> from tem_sim.threelayer import simulate_three_layer
    >>> x = FourierSignals.random_paper(2, 10, 10.0, seed=0)
    >>> h1, h2, o = simulate_three_layer(x, np.full((3, 2), 0.5), np.full((3, 3), 0.5), np.full((6, 3), 0.5),
    ...                                  Neurons(3, kappa=20.0, bias=10.0), Neurons(3, kappa=2.5, bias=5.0),
    ...                                  Neurons(6, bias=1.0), PeriodicLowpass(10.0, 5), PeriodicLowpass(10.0, 9), 40.0)
    >>> h1.n_neurons, h2.n_neurons, o.n_neurons
    (3, 3, 6)
    """
    from .engine import encode

    for name, nrn in (("neurons1", neurons1), ("neurons2", neurons2), ("output_neurons", output_neurons)):
        _check_neurons(name, nrn)
    kernel1, kernel2 = _check_kernel("kernel1", kernel1), _check_kernel("kernel2", kernel2)
    t_end = as_scalar("t_end", t_end, positive=True)
    h1 = encode(inputs, W1, neurons1, kernel1.period)
    if kernel1.first is not None:
        h1 = h1.first(kernel1.first)
    h2 = encode(hidden_drive(h1, kernel1), W2, neurons2, kernel2.period)
    if kernel2.first is not None:
        h2 = h2.first(kernel2.first)
    out = encode(hidden_drive(h2, kernel2), W3, output_neurons, t_end)
    return h1, h2, out


def fit_three_layer(inputs: Sequence[FourierSignals], output_spikes: Sequence[SpikeTrains], neurons1: Neurons,
                    neurons2: Neurons, output_neurons: Neurons, kernel1: PeriodicLowpass,
                    kernel2: PeriodicLowpass, *, seed: Any, top_options: dict | None = None,
                    bottom_options: dict | None = None, warn: bool = True) -> ThreeLayerResult:
    """Learn the three layers from the inputs and the output spikes, top stage then bottom stage.

    Parameters
    ----------
    inputs : sequence of FourierSignals
    output_spikes : sequence of SpikeTrains
    neurons1, neurons2, output_neurons : Neurons
        Known parameters of the two hidden layers and of the output layer.
    kernel1, kernel2 : PeriodicLowpass
        Hidden 1 -> hidden 2 and hidden 2 -> output.
    seed : int
        Seeds both stages (required, for reproducible runs).
    top_options, bottom_options : dict, optional
        Passed to :func:`tem_sim.twolayer.recover_hidden` and to
        :func:`tem_sim.twolayer.fit_two_layer`; the bottom stage's search
        defaults to ``n_starts=256, n_local=16`` (its ``W1`` has ``n1 n_in``
        entries: a 2 -> 3 layer's six need more starts than Figure 3's four).
    warn : bool, default True
        Let the stages emit :class:`~tem_sim.exceptions.IdentifiabilityWarning` on failure.

    Returns
    -------
    ThreeLayerResult
    """
    t0 = time.perf_counter()
    inputs, output_spikes = list(inputs), list(output_spikes)
    for name, nrn in (("neurons1", neurons1), ("neurons2", neurons2), ("output_neurons", output_neurons)):
        _check_neurons(name, nrn)
    kernel1, kernel2 = _check_kernel("kernel1", kernel1), _check_kernel("kernel2", kernel2)
    if len(inputs) != len(output_spikes) or not inputs:
        raise ValidationError("output_spikes", f"{len(output_spikes)} examples",
                              f"one SpikeTrains per example of inputs ({len(inputs)}), at least one")
    if not isinstance(seed, (int, np.integer)):
        raise ValidationError("seed", seed, "an int (it seeds both stages)")
    n1, n2, n_out = neurons1.n, neurons2.n, output_neurons.n
    if not all(bool(np.all(a == a[0])) for a in (neurons2.kappa, neurons2.delta, neurons2.bias, neurons2.v0,
                                                  neurons2.tau)):
        raise ValidationError("neurons2", "hidden-2 neurons with different parameters", "identical hidden-2 "
                              "neurons (the top stage recovers their spikes in an arbitrary order)")
    n_in = inputs[0].n_signals if isinstance(inputs[0], FourierSignals) else 0
    nan1, nan2, nan3 = (np.full((n1, n_in), np.nan), np.full((n2, n1), np.nan), np.full((n_out, n2), np.nan))
    top = recover_hidden(output_spikes, output_neurons, n2, kernel2, seed=np.random.SeedSequence([int(seed), 1]),
                         warn=warn, **(top_options or {}))
    if not top.success:
        return ThreeLayerResult(nan1, nan2, top.W, [None] * len(inputs), top.hidden_spikes, top, None, False,
                                f"top stage (hidden layer 2 from the output spikes): {top.report.reason}",
                                time.perf_counter() - t0)
    # hidden layer 2 ran over one period: its spikes are the bottom stage's "output" on [0, T2]
    T2 = kernel2.period
    h2 = [SpikeTrains(h.times, h.indices, n2, 0.0, T2) for h in top.hidden_spikes]
    bottom = fit_two_layer(inputs, h2, neurons1, neurons2, n1, kernel1, seed=np.random.SeedSequence([int(seed), 2]),
                           warn=warn, **{"n_starts": 256, "n_local": 16, **(bottom_options or {})})
    reason = "" if bottom.success else f"bottom stage (W1, W2 from hidden layer 2's spikes): {bottom.report.reason}"
    return ThreeLayerResult(bottom.W1, bottom.W2, top.W, bottom.hidden_spikes, h2, top, bottom, bottom.success,
                            reason, time.perf_counter() - t0)


def align_three_layers(result: ThreeLayerResult, W1: Any, W2: Any, W3: Any) -> dict:
    """Align the hidden neurons of both hidden layers with the truth and return the errors.

    Hidden layer 2 is matched on the columns of ``W3`` (Hungarian assignment),
    then hidden layer 1 on the columns of ``W2`` with its rows in that order.

    Returns
    -------
    dict
        ``W1_fro``, ``W2_fro``, ``W3_fro`` (Frobenius norms of the aligned
        differences), ``perm1``, ``perm2`` (estimated neuron matched to each true one).
    """
    W1t = as_float_array("W1", W1, ndim=2)
    W2t = as_float_array("W2", W2, ndim=2, shape=(None, W1t.shape[0]))
    W3t = as_float_array("W3", W3, ndim=2, shape=(None, W2t.shape[0]))

    def match(est: np.ndarray, true: np.ndarray) -> np.ndarray:
        cost = ((np.nan_to_num(est, nan=1e6)[:, None, :] - true[:, :, None]) ** 2).sum(axis=0)
        rows, cols = linear_sum_assignment(cost)
        return cols[np.argsort(rows)]

    p2 = match(result.W3, W3t)
    W2e = result.W2[p2]
    p1 = match(W2e, W2t)
    return {"W3_fro": float(np.linalg.norm(result.W3[:, p2] - W3t)),
            "W2_fro": float(np.linalg.norm(W2e[:, p1] - W2t)),
            "W1_fro": float(np.linalg.norm(result.W1[p1] - W1t)), "perm1": p1, "perm2": p2}
