"""The simulation entry points: validation in Python, then the compiled event loop.

:func:`encode` runs the simplest network -- one layer of TEM neurons driven
by ``y = W x`` from a bank of Fourier-series inputs -- and returns its exact
spike times. It and :class:`tem_sim.network.Network` both lower their model to
flat arrays (:func:`lower_neurons` for the neurons and their analog drive)
and call :func:`tem_sim._core.simulate`, which trusts its arguments; every
check happens here first, so bad input is a ``ValidationError`` naming the
parameter, never a crash inside the loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _core
from ._validation import as_float_array, as_int, as_scalar
from .exceptions import SimulationLimitError, ValidationError
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains

__all__ = ["encode", "DEFAULT_MAX_SPIKES"]

#: Default guard on the number of spikes one run may emit.
DEFAULT_MAX_SPIKES = 50_000_000


@dataclass
class LoweredNeurons:
    """Flat per-neuron arrays in the layout :func:`tem_sim._core.simulate` expects."""

    kappa: np.ndarray
    delta: np.ndarray
    c0: np.ndarray
    tau: np.ndarray
    v0: np.ndarray
    period: np.ndarray
    nharm: np.ndarray
    a_re: np.ndarray
    a_im: np.ndarray
    p_re: np.ndarray
    p_im: np.ndarray
    ub: np.ndarray
    ubd: np.ndarray
    pb: np.ndarray


def lower_neurons(neurons: Neurons, drive: FourierSignals | None) -> LoweredNeurons:
    """Per-neuron arrays for the compiled core.

    Parameters
    ----------
    neurons : Neurons
        The neurons' parameters.
    drive : FourierSignals or None
        Each neuron's analog drive ``y_j`` (one signal per neuron), or None.
    """
    n = neurons.n
    tau = np.ascontiguousarray(neurons.tau, dtype=np.float64)
    if drive is None:
        M = 0
        period = np.ones(n)
        a = np.zeros((n, 0), dtype=np.complex128)
        mean = np.zeros(n)
    else:
        M = drive.n_harmonics
        period = np.full(n, drive.period)
        c = drive.coefficients
        a = c[:, M + 1:]
        mean = c[:, M].real
    m = np.arange(1, M + 1)
    omega = 2.0 * np.pi * m / period[:, None] if M else np.zeros((n, 0))
    leaky = np.isfinite(tau)
    with np.errstate(divide="ignore"):
        rt = np.where(leaky, 1.0 / tau, 0.0)
    p = np.empty_like(a)
    if M:
        # perfect: antiderivative factor a_m / (i w_m); leaky: steady state a_m / (1/tau + i w_m)
        p[~leaky] = a[~leaky] / (1j * omega[~leaky])
        p[leaky] = a[leaky] / (rt[leaky, None] + 1j * omega[leaky])
    nharm = np.full(n, M, dtype=np.intp)
    if M:
        nharm[np.all(a == 0, axis=1)] = 0
    absa = np.abs(a)
    return LoweredNeurons(
        kappa=np.ascontiguousarray(neurons.kappa, dtype=np.float64),
        delta=np.ascontiguousarray(neurons.delta, dtype=np.float64),
        c0=np.ascontiguousarray(neurons.bias + mean),
        tau=tau,
        v0=np.ascontiguousarray(neurons.v0, dtype=np.float64),
        period=np.ascontiguousarray(period),
        nharm=nharm,
        a_re=np.ascontiguousarray(a.real), a_im=np.ascontiguousarray(a.imag),
        p_re=np.ascontiguousarray(p.real), p_im=np.ascontiguousarray(p.imag),
        ub=np.ascontiguousarray(2.0 * absa.sum(axis=1)),
        ubd=np.ascontiguousarray(2.0 * (absa * omega).sum(axis=1)),
        pb=np.ascontiguousarray(2.0 * np.abs(p).sum(axis=1)),
    )


def check_t_end(t_end: Any) -> float:
    """Validate the end of the simulation window."""
    return as_scalar("t_end", t_end, positive=True)


def check_max_spikes(max_spikes: Any) -> int:
    """Validate the spike-count guard."""
    return as_int("max_spikes", max_spikes, minimum=1)


def raise_for_status(status: int, max_spikes: int, t_reached: float, t_end: float) -> None:
    """Turn a status code of the compiled loop into the matching exception."""
    if status == -3:
        raise SimulationLimitError(
            f"max_spikes: the run emitted {max_spikes} spikes by t = {t_reached!r} (before "
            f"t_end = {t_end!r}); raise max_spikes or check for runaway activity")
    if status != 0:  # pragma: no cover - no other codes are produced
        raise RuntimeError(f"tem_sim internal error: simulation status {status}")


_EMPTY_D = np.zeros(0)
_EMPTY_I = np.zeros(0, dtype=np.intp)


def simulate_lowered(low: LoweredNeurons, t_end: float, max_spikes: int, *,
                     projections: dict[str, np.ndarray] | None = None,
                     record_times: np.ndarray | None = None,
                     record_neurons: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Call the compiled loop with lowered neurons and (optional) lowered projections."""
    n = low.kappa.shape[0]
    pr = projections or {}
    rt = _EMPTY_D if record_times is None else record_times
    ri = _EMPTY_I if record_neurons is None else record_neurons
    times, idx, traces, stats, status = _core.simulate(
        low.kappa, low.delta, low.c0, low.tau, low.v0, low.period, low.nharm,
        low.a_re, low.a_im, low.p_re, low.p_im, low.ub, low.ubd, low.pb,
        pr.get("exp_tau", _EMPTY_D),
        pr.get("delay", _EMPTY_D), pr.get("kind", np.zeros(0, dtype=np.intc)), pr.get("chan", _EMPTY_I),
        pr.get("pre_start", _EMPTY_I), pr.get("indptr_off", _EMPTY_I), pr.get("indptr", _EMPTY_I),
        pr.get("targets", _EMPTY_I), pr.get("weights", _EMPTY_D),
        pr.get("out_ptr", np.zeros(n + 1, dtype=np.intp)), pr.get("out_proj", _EMPTY_I),
        float(t_end), int(max_spikes), rt, ri)
    raise_for_status(status, max_spikes, float(times[-1]) if times.size else 0.0, t_end)
    return times, idx, traces, stats


def encode(signals: FourierSignals, weights: Any, neurons: Neurons, t_end: float, *,
           max_spikes: int = DEFAULT_MAX_SPIKES) -> SpikeTrains:
    """Encode analog inputs with a layer of integrate-and-fire TEM neurons.

    Neuron ``j`` integrates ``u_j(t) = sum_i W[j, i] x_i(t) + bias_j`` and
    spikes each time its integrator reaches ``+delta_j`` (then resets by
    ``-2 delta_j``). Spike times are exact to machine precision: every first
    threshold crossing is found, including when the drive changes sign.

    Parameters
    ----------
    signals : FourierSignals
        The input bank ``x`` (``n_in`` signals).
    weights : array_like, shape (n_out, n_in)
        The layer's weights ``W``.
    neurons : Neurons
        Parameters of the ``n_out`` neurons (perfect or leaky).
    t_end : float
        End of the window ``[0, t_end]``.
    max_spikes : int, optional
        Guard: raise :class:`~tem_sim.exceptions.SimulationLimitError` rather
        than emit more spikes than this.

    Returns
    -------
    SpikeTrains
        The spikes on ``[0, t_end]``.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, encode
    >>> x = FourierSignals.from_one_sided([[0.0]], period=1.0)   # x = 0
    >>> st = encode(x, [[1.0]], Neurons(1, kappa=1.0, delta=1.0, bias=2.0), t_end=3.0)
    >>> st.times.tolist()  # 2*kappa*delta/bias = 1 between spikes
    [1.0, 2.0, 3.0]
    """
    if not isinstance(signals, FourierSignals):
        raise ValidationError("signals", type(signals).__name__, "a FourierSignals bank")
    if not isinstance(neurons, Neurons):
        raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
    W = as_float_array("weights", weights, ndim=2, shape=(neurons.n, signals.n_signals))
    t_end = check_t_end(t_end)
    max_spikes = check_max_spikes(max_spikes)
    low = lower_neurons(neurons, signals.mix(W))
    times, idx, _, _ = simulate_lowered(low, t_end, max_spikes)
    return SpikeTrains(times, idx, neurons.n, 0.0, t_end, sort=False)
