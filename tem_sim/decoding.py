"""Decoding: recovering periodic bandlimited signals from spike times.

The spike-time equations of training, read the other way round (section 5 of
the mathematics reference): with the weights known and the signal unknown,
every inter-spike interval gives one linear equation in the signal's Fourier
coefficients. :func:`decode_drive` recovers each neuron's drive ``y_j`` (without
its bias) independently; :func:`decode` recovers the inputs of a layer with
known weights from the spikes of all its neurons jointly (multi-channel TEM
decoding). Conjugate symmetry is built in: the unknowns are the real numbers
``(c_0, Re c_1, Im c_1, ..., Re c_M, Im c_M)`` of each signal, so the answer is a
real signal. Both reuse :mod:`tem_sim.constraints` and :mod:`tem_sim.solvers`,
and report rows, rank, condition, residual and identifiability.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._validation import as_float_array, as_int, as_scalar
from .constraints import layer_rows
from .exceptions import IdentifiabilityWarning, ValidationError
from .neurons import Neurons
from .signals import FourierSignals
from .solvers import DEFAULT_RCOND, solve_lstsq, solve_osqp
from .spikes import SpikeTrains
from .training import DEFAULT_IDENT_TOL, fit_layer, rounding_uncertainty, row_rounding_errors

__all__ = ["DecodeResult", "decode_drive", "decode", "real_basis", "coefficients_from_real"]


@dataclass(frozen=True)
class DecodeResult:
    """Signals recovered from spikes.

    Attributes
    ----------
    signals : FourierSignals
        The recovered signals (two-sided coefficients, ``n x (2M+1)``).
    info : list of dict
        Diagnostics (rows, rank, condition, residual, identifiable, status, ...):
        one dict per neuron for :func:`decode_drive`, one for the joint system of :func:`decode`.
    """

    signals: FourierSignals
    info: list = field(default_factory=list)

    @property
    def identifiable(self) -> np.ndarray:
        """Boolean mask of the determined problems."""
        return np.array([d["identifiable"] for d in self.info], dtype=bool)


def real_basis(period: float, n_harmonics: int) -> FourierSignals:
    """The ``2M+1`` real basis signals ``1, 2 cos(w_m t), -2 sin(w_m t)`` (m = 1..M).

    A real signal ``sum_m c_m exp(i w_m t)`` equals ``sum_k theta_k B_k(t)`` with
    ``theta = (c_0, Re c_1, Im c_1, ..., Re c_M, Im c_M)``.

    Examples
    --------
    >>> import numpy as np
    >>> B = real_basis(2.0, 1)
    >>> np.round(B.sample([0.5]).ravel(), 12).tolist()   # 1, 2 cos(pi/2), -2 sin(pi/2)
    [1.0, 0.0, -2.0]
    """
    period = as_scalar("period", period, positive=True)
    M = as_int("n_harmonics", n_harmonics, minimum=0)
    C = np.zeros((2 * M + 1, 2 * M + 1), dtype=np.complex128)
    C[0, M] = 1.0
    for m in range(1, M + 1):
        C[2 * m - 1, M + m] = C[2 * m - 1, M - m] = 1.0
        C[2 * m, M + m] = 1j
        C[2 * m, M - m] = -1j
    return FourierSignals(C, period)


def coefficients_from_real(theta: Any) -> np.ndarray:
    """Two-sided coefficients (``n x (2M+1)``) from real unknowns ``theta`` (``n x (2M+1)``)."""
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    M = theta.shape[1] // 2
    pos = theta[:, 1::2] + 1j * theta[:, 2::2]          # c_1 .. c_M
    return np.concatenate([np.conj(pos[:, ::-1]), theta[:, :1].astype(np.complex128), pos], axis=1)


def _check(spikes: Any, neurons: Any, period: Any, n_harmonics: Any) -> tuple[float, int]:
    if not isinstance(spikes, SpikeTrains):
        raise ValidationError("spikes", type(spikes).__name__, "a SpikeTrains")
    if not isinstance(neurons, Neurons):
        raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
    if spikes.n_neurons != neurons.n:
        raise ValidationError("spikes.n_neurons", spikes.n_neurons, f"the number of neurons, {neurons.n}")
    return as_scalar("period", period, positive=True), as_int("n_harmonics", n_harmonics, minimum=0)


def decode_drive(spikes: SpikeTrains, neurons: Neurons, period: float, n_harmonics: int,
                 **solver_options: Any) -> DecodeResult:
    """Recover each neuron's drive ``y_j(t)`` (without bias) as a Fourier series from its spikes.

    Parameters
    ----------
    spikes : SpikeTrains
        Spikes of the ``neurons.n`` neurons on ``[0, t_stop]``.
    neurons : Neurons
        The neurons' parameters (the bias is removed from the decoded drive).
    period : float
        Period ``T`` of the drive.
    n_harmonics : int
        Highest harmonic ``M``: ``2M+1`` real unknowns per neuron.
    **solver_options
        Passed to :func:`~tem_sim.training.fit_layer` (``method``, ``ridge``, ``lasso``,
        ``bounds``, ``inequalities``, ``row_weights``, ``rcond``, ``executor``, ...).

    Returns
    -------
    DecodeResult
        ``signals`` has one signal per neuron; ``info`` one dict per neuron.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, encode
    >>> y = FourierSignals.from_one_sided([[1.0, 0.3 + 0.2j]], period=10.0)
    >>> nrn = Neurons(1, bias=1.0, delta=0.1)
    >>> res = decode_drive(encode(y, np.eye(1), nrn, 10.0), nrn, 10.0, 1)
    >>> bool(np.abs(res.signals.coefficients - y.coefficients).max() < 1e-8)
    True
    """
    period, M = _check(spikes, neurons, period, n_harmonics)
    fit = fit_layer([(real_basis(period, M), spikes)], neurons, **solver_options)
    return DecodeResult(FourierSignals(coefficients_from_real(fit.weights), period), fit.info)


def decode(spikes: SpikeTrains, weights: Any, neurons: Neurons, period: float, n_harmonics: int, *,
           method: str = "auto", ridge: float = 0.0, lasso: float = 0.0, inequalities: bool = False,
           n_points: int = 8, margin: float = 0.0, rcond: float = DEFAULT_RCOND,
           osqp_settings: dict | None = None, ident_tol: float = DEFAULT_IDENT_TOL,
           warn: bool = True) -> DecodeResult:
    """Multi-channel TEM decoding: recover a layer's inputs from its spikes and known weights.

    The drive of neuron ``j`` is ``sum_i W[j, i] x_i``; the unknowns are the
    real Fourier parameters of every input ``x_i``, solved jointly from the
    spikes of all neurons.

    Parameters
    ----------
    spikes : SpikeTrains
        Spikes of the layer's ``neurons.n`` neurons on ``[0, t_stop]``.
    weights : array_like, shape (n_neurons, n_inputs)
        The known weights ``W``.
    neurons : Neurons
        The neurons' parameters.
    period : float
        Period ``T`` of the inputs.
    n_harmonics : int
        Highest harmonic ``M`` of the inputs.
    method : {"auto", "lstsq", "osqp"}
        ``"auto"``: LAPACK unless ``lasso`` or ``inequalities`` ask for OSQP.
    ridge, lasso, inequalities, n_points, margin, rcond, osqp_settings, ident_tol
        As in :func:`~tem_sim.training.fit_layer`.
    warn : bool, default True
        Emit :class:`~tem_sim.exceptions.IdentifiabilityWarning` when the inputs are not determined.

    Returns
    -------
    DecodeResult
        ``signals`` has ``n_inputs`` signals; ``info`` holds one dict for the joint system.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, encode
    >>> x = FourierSignals.from_one_sided([[1.0, 0.5], [0.5, 0.2j]], period=10.0)
    >>> W = np.array([[1.0, 0.2], [0.3, 1.0], [0.5, 0.5]]); nrn = Neurons(3, bias=1.0, delta=0.2)
    >>> res = decode(encode(x, W, nrn, 10.0), W, nrn, 10.0, 1)
    >>> bool(np.abs(res.signals.coefficients - x.coefficients).max() < 1e-8)
    True
    """
    period, M = _check(spikes, neurons, period, n_harmonics)
    W = as_float_array("weights", weights, ndim=2, shape=(neurons.n, None))
    if method not in ("auto", "lstsq", "osqp"):
        raise ValidationError("method", method, "one of 'auto', 'lstsq', 'osqp'")
    lasso = as_scalar("lasso", lasso, nonnegative=True)
    ridge = as_scalar("ridge", ridge, nonnegative=True)
    rcond = as_scalar("rcond", rcond, nonnegative=True)
    ident_tol = as_scalar("ident_tol", ident_tol, positive=True, finite=False)
    if osqp_settings is not None and not isinstance(osqp_settings, dict):
        raise ValidationError("osqp_settings", osqp_settings, "a dict of OSQP settings")
    constrained = lasso > 0 or bool(inequalities)
    if method == "lstsq" and constrained:
        raise ValidationError("method", method, "'osqp' or 'auto' when lasso or inequalities are used")
    resolved = method if method != "auto" else ("osqp" if constrained else "lstsq")
    n_in, P = W.shape[1], 2 * M + 1
    rows = layer_rows([(real_basis(period, M), spikes)], neurons, inequalities=inequalities,
                      n_points=n_points, margin=margin)
    A = np.vstack([np.kron(W[j][None, :], R.A) for j, R in enumerate(rows)])
    r = np.concatenate([R.r for R in rows])
    if resolved == "lstsq":
        theta, info = solve_lstsq(A, r, ridge=ridge, rcond=rcond)
    else:
        G = np.vstack([np.kron(W[j][None, :], R.G) for j, R in enumerate(rows)]) if inequalities else None
        h = np.concatenate([R.h for R in rows]) if inequalities else None
        theta, info = solve_osqp(sp.csr_matrix(A), r, ridge=ridge, lasso=lasso, G=G, h=h, rcond=rcond,
                                 settings=osqp_settings)
    info["neuron"] = -1
    info["n_spikes"] = int(spikes.count)
    if info["identifiable"]:
        errs = np.concatenate([row_rounding_errors(R, float(neurons.bias[j])) for j, R in enumerate(rows)])
        info["uncertainty"] = rounding_uncertainty(A, errs, rcond)
        if info["uncertainty"] > ident_tol * max(1.0, float(np.abs(theta).max(initial=0.0))):
            info["identifiable"] = False
    else:
        info["uncertainty"] = float("inf")
    if warn and not info["identifiable"]:
        warnings.warn(f"inputs not determined by the spikes: rank {info['rank']}/{info['n_unknowns']} "
                      f"from {info['n_rows']} rows; the answer is the minimum-norm one",
                      IdentifiabilityWarning, stacklevel=2)
    return DecodeResult(FourierSignals(coefficients_from_real(theta.reshape(n_in, P)), period), [info])
