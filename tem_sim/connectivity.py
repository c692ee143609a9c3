"""Connectivity inference: a population's recurrent (and input) weights from the spikes of all its neurons.

Every neuron of a recorded population is a time encoding machine whose drive
is the synaptic input from the population's own spikes (through a kernel and
a delay), the external analog inputs and its bias, so each of its spike
intervals is a linear equation in its incoming weights, exactly as for a
layer (:mod:`tem_sim.training`). :func:`fit_network` therefore treats the
population as a layer whose inputs are its own spikes (and the external
inputs, side by side: :class:`~tem_sim.constraints.CombinedInputs`) and solves
one independent problem per neuron with :func:`~tem_sim.training.fit_layer`
(serially or on an executor, with its noise-optimal default, error bars,
optional bias and lasso for sparse answers). Self-connections are not
unknowns unless asked for. Delta arrivals at the instant of a spike belong
to the interval that ends with that spike (the engine processes arrivals
before the threshold test at equal times).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ._validation import as_float_array
from .constraints import CombinedInputs, SpikeInput
from .exceptions import ValidationError
from .kernels import Delta, as_kernel
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains
from .stimuli import PiecewisePolynomials, SincSignals
from .training import FitResult, fit_layer

__all__ = ["NetworkFit", "fit_network"]


@dataclass(frozen=True)
class NetworkFit:
    """Weights inferred by :func:`fit_network`.

    Attributes
    ----------
    recurrent : ndarray, shape (n, n)
        ``recurrent[j, i]``: weight of the connection from neuron ``i`` to neuron ``j``
        (0 on the diagonal unless ``autapses=True``).
    input_weights : ndarray, shape (n, n_external)
        Weights of the external analog inputs (``(n, 0)`` without them).
    fit : FitResult
        The per-neuron problems' result (weights side by side, report, standard errors, bias).
    """

    recurrent: np.ndarray
    input_weights: np.ndarray
    fit: FitResult

    @property
    def recurrent_std_errors(self) -> np.ndarray | None:
        """Standard errors of :attr:`recurrent`."""
        se = self.fit.std_errors
        return None if se is None else se[:, :self.recurrent.shape[1]]


def _recordings(spikes: Any) -> list[SpikeTrains]:
    if isinstance(spikes, SpikeTrains):
        return [spikes]
    try:
        recs = list(spikes)
    except TypeError:
        raise ValidationError("spikes", type(spikes).__name__, "a SpikeTrains or a sequence of them") from None
    if not recs:
        raise ValidationError("spikes", recs, "a SpikeTrains or a non-empty sequence of them")
    for e, st in enumerate(recs):
        if not isinstance(st, SpikeTrains):
            raise ValidationError(f"spikes[{e}]", type(st).__name__, "a SpikeTrains")
    return recs


def fit_network(spikes: SpikeTrains | Sequence[SpikeTrains], neurons: Neurons, *, external_inputs: Any = None,
                kernel: Any = "delta", delay: Any, autapses: bool = False, **fit_options: Any) -> NetworkFit:
    """Infer a population's recurrent weight matrix (and its input weights) from its spikes alone.

    Parameters
    ----------
    spikes : SpikeTrains or sequence of SpikeTrains
        The spikes of all ``neurons.n`` neurons, one recording per trial, each observed on
        ``[0, t_stop]`` (the integrators start from ``v0`` at 0). Trials share the weights.
    neurons : Neurons
        The population's parameters (``kappa``, ``delta``, ``bias``, ``v0``, ``tau``); the bias
        may be learned instead with ``fit_bias=True``.
    external_inputs : analog bank or sequence of them, optional
        The population's external analog inputs in each trial
        (:class:`~tem_sim.signals.FourierSignals`, :class:`~tem_sim.stimuli.SincSignals` or
        :class:`~tem_sim.stimuli.PiecewisePolynomials`; one per recording, same number of signals).
    kernel : Kernel or "delta", default "delta"
        The synapses' kernel (:class:`~tem_sim.kernels.Delta` or :class:`~tem_sim.kernels.Exponential`).
    delay : float or array_like
        Transmission delay, one for the projection or one per presynaptic neuron, ``>= 0``
        (``> 0`` with delta synapses: a neuron's own arrival at the instant of its spike could
        not be told from a spike triggered by an arrival).
    autapses : bool, default False
        Learn self-connections too (by default they are known to be absent: not unknowns).
    **fit_options
        Passed to :func:`~tem_sim.training.fit_layer`: ``lasso`` (sparse answers), ``sign``,
        ``bounds``, ``fit_bias``, ``executor``, ``chunk_size``, ``row_weights``, ... (``mask``
        is set from ``autapses``; the inputs are numbered population first, then external).

    Returns
    -------
    NetworkFit

    Raises
    ------
    ValidationError
        Recordings of different windows, sizes or neuron counts, a neuron that never
        spikes, mismatched external inputs or options (before any solve).

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import Network, Neurons, FourierSignals
    >>> W = np.array([[0.0, -0.3], [0.4, 0.0]])
    >>> net = Network(); nrn = Neurons(2, kappa=1.0, delta=0.5, bias=[2.0, 3.0])
    >>> net.add_population("p", nrn); net.connect("p", "p", W, delay=0.05)
    >>> out = net.run(20.0)["p"]
    >>> bool(np.abs(fit_network(out, nrn, delay=0.05).recurrent - W).max() < 1e-8)
    True
    """
    if not isinstance(neurons, Neurons):
        raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
    if "mask" in fit_options:
        raise ValidationError("mask", "given", "not given to fit_network (use autapses)")
    recs = _recordings(spikes)
    n = neurons.n
    first = recs[0]
    for e, st in enumerate(recs):
        if st.n_neurons != n:
            raise ValidationError(f"spikes[{e}].n_neurons", st.n_neurons, f"the population's size, {n}")
        if st.t_start != 0.0:
            raise ValidationError(f"spikes[{e}].t_start", st.t_start, "0 (the integrators start from v0 at t = 0)")
        if st.t_stop != first.t_stop:
            raise ValidationError(f"spikes[{e}].t_stop", st.t_stop,
                                  f"the window of spikes[0], [0, {first.t_stop}] (every recording of the "
                                  "population observed on the same window)")
    total = np.sum([st.counts() for st in recs], axis=0)
    silent = np.flatnonzero(total == 0)
    if silent.size:
        raise ValidationError("spikes", f"no spikes from neurons {silent[:10].tolist()}",
                              "at least one spike of every neuron (a silent neuron's incoming weights "
                              "are not determined and its outgoing ones are not seen)")
    kernel = as_kernel(kernel)
    d = as_float_array("delay", delay)
    if d.ndim == 0:
        d = np.full(n, float(d))
    elif d.shape != (n,):
        raise ValidationError("delay", f"array of shape {d.shape}", f"a scalar or of shape ({n},)")
    if np.any(d < 0):
        raise ValidationError("delay", float(d[d < 0][0]), ">= 0")
    if isinstance(kernel, Delta) and np.any(d == 0):
        raise ValidationError("delay", 0.0, "> 0 with delta synapses (a neuron's own arrival at the instant "
                              "of its spike would be taken for a spike triggered by an arrival)")
    if external_inputs is None:
        ext = [None] * len(recs)
        n_ext = 0
    else:
        ext = [external_inputs] if isinstance(external_inputs, (FourierSignals, SincSignals, PiecewisePolynomials)) \
            else list(external_inputs)
        if len(ext) != len(recs):
            raise ValidationError("external_inputs", f"{len(ext)} banks", f"one per recording ({len(recs)})")
        for e, x in enumerate(ext):
            if not isinstance(x, (FourierSignals, SincSignals, PiecewisePolynomials)):
                raise ValidationError(f"external_inputs[{e}]", type(x).__name__,
                                      "a FourierSignals, SincSignals or PiecewisePolynomials")
        n_ext = ext[0].n_signals
        for e, x in enumerate(ext):
            if x.n_signals != n_ext:
                raise ValidationError(f"external_inputs[{e}]", f"{x.n_signals} signals", f"{n_ext} like the first")
    examples = []
    for st, x in zip(recs, ext):
        inp = SpikeInput(st, kernel, d)
        examples.append((inp if x is None else CombinedInputs([inp, x]), st))
    mask = None
    if not autapses:
        mask = np.ones((n, n + n_ext), dtype=bool)
        mask[np.arange(n), np.arange(n)] = False
    fit = fit_layer(examples, neurons, mask=mask, **fit_options)
    return NetworkFit(recurrent=fit.weights[:, :n], input_weights=fit.weights[:, n:], fit=fit)
