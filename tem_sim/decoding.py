"""Decoding: recovering bandlimited signals from spike times.

The spike-time equations of training, read the other way round (section 5 of
the mathematics reference): with the weights known and the signal unknown,
every inter-spike interval gives one linear equation in the signal's Fourier
coefficients. :func:`decode_drive` recovers each neuron's drive ``y_j`` (without
its bias) independently; :func:`decode` recovers the inputs of a layer with
known weights from the spikes of all its neurons jointly (multi-channel TEM
decoding). Conjugate symmetry is built in: the unknowns are the real numbers
``(c_0, Re c_1, Im c_1, ..., Re c_M, Im c_M)`` of each signal, so the answer is a
real signal. :func:`decode_bandlimited` is the classic (Lazar--Toth)
multi-channel TEM decoder for non-periodic bandlimited signals: the unknowns
are the weights of sincs at chosen centres (by default the Nyquist grid over
the window), and the result says whether the spikes came faster than the
Nyquist rate. All reuse :mod:`tem_sim.constraints` and :mod:`tem_sim.solvers`,
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
from .exceptions import IdentifiabilityWarning, UnderSampledWarning, ValidationError
from .neurons import Neurons
from .signals import FourierSignals
from .solvers import DEFAULT_RCOND, solve_lstsq, solve_osqp
from .spikes import SpikeTrains
from .stimuli import SincSignals
from .training import DEFAULT_IDENT_TOL, fit_layer, judge_uncertainty, rounding_uncertainty, row_rounding_errors

__all__ = ["DecodeResult", "decode_drive", "decode", "real_basis", "coefficients_from_real",
           "BandlimitedDecodeResult", "decode_bandlimited", "nyquist_centers"]


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
    pos = theta[:, 1::2] + 1j * theta[:, 2::2]          # c_1 .. c_M
    return np.concatenate([np.conj(pos[:, ::-1]), theta[:, :1].astype(np.complex128), pos], axis=1)


def _check_spikes(spikes: Any, neurons: Any) -> None:
    if not isinstance(spikes, SpikeTrains):
        raise ValidationError("spikes", type(spikes).__name__, "a SpikeTrains")
    if not isinstance(neurons, Neurons):
        raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
    if spikes.n_neurons != neurons.n:
        raise ValidationError("spikes.n_neurons", spikes.n_neurons, f"the number of neurons, {neurons.n}")


def _check(spikes: Any, neurons: Any, period: Any, n_harmonics: Any) -> tuple[float, int]:
    _check_spikes(spikes, neurons)
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
    resolved, ridge, lasso, rcond, ident_tol = _solver_options(method, ridge, lasso, inequalities, rcond,
                                                               ident_tol, osqp_settings)
    n_in, P = W.shape[1], 2 * M + 1
    theta, info = _solve_joint(real_basis(period, M), spikes, W, neurons, resolved, ridge=ridge, lasso=lasso,
                               inequalities=inequalities, n_points=n_points, margin=margin, rcond=rcond,
                               osqp_settings=osqp_settings, ident_tol=ident_tol, warn=warn)
    return DecodeResult(FourierSignals(coefficients_from_real(theta.reshape(n_in, P)), period), [info])


def _solve_joint(basis: Any, spikes: SpikeTrains, W: np.ndarray, neurons: Neurons, method: str, *,
                 ridge: float, lasso: float, inequalities: bool, n_points: int, margin: float, rcond: float,
                 osqp_settings: dict | None, ident_tol: float, warn: bool) -> tuple[np.ndarray, dict]:
    """Solve for the basis coefficients of every input jointly from all neurons' spikes.

    Neuron ``j``'s rows over the basis are ``R_j``; its drive is ``sum_i W[j, i] x_i``,
    so its rows over the stacked unknowns are ``kron(W[j], R_j)``.
    """
    rows = layer_rows([(basis, spikes)], neurons, inequalities=inequalities, n_points=n_points, margin=margin)
    A = np.vstack([np.kron(W[j][None, :], R.A) for j, R in enumerate(rows)])
    r = np.concatenate([R.r for R in rows])
    if method == "lstsq":
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
        judge_uncertainty(info, theta, rounding_uncertainty(A, errs, rcond), ident_tol)
    else:
        info["uncertainty"] = float("inf")
    if warn and not info["identifiable"]:
        warnings.warn(f"inputs not determined by the spikes: rank {info['rank']}/{info['n_unknowns']} "
                      f"from {info['n_rows']} rows; the answer is the minimum-norm one",
                      IdentifiabilityWarning, stacklevel=3)
    return theta, info


def _solver_options(method: str, ridge: Any, lasso: Any, inequalities: Any, rcond: Any, ident_tol: Any,
                    osqp_settings: Any) -> tuple[str, float, float, float, float]:
    """Validate the shared decoder options; resolve ``method="auto"``."""
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
    return (method if method != "auto" else ("osqp" if constrained else "lstsq")), ridge, lasso, rcond, ident_tol


@dataclass(frozen=True)
class BandlimitedDecodeResult:
    """Bandlimited signals recovered from spikes.

    Attributes
    ----------
    signals : SincSignals
        The recovered signals (sinc weights at the decoder's centres).
    info : list of dict
        Diagnostics of the joint system (rows, rank, condition, residual, identifiable, ...).
    spike_rate : float
        Equations per unit time: the spikes of all neurons over the window.
    nyquist_rate : float
        ``n_inputs * W / pi``: the rate of samples needed to determine the inputs.
    """

    signals: SincSignals
    info: list
    spike_rate: float
    nyquist_rate: float

    @property
    def under_sampled(self) -> bool:
        """True when the spikes came slower than the Nyquist rate."""
        return self.spike_rate <= self.nyquist_rate

    @property
    def identifiable(self) -> np.ndarray:
        """Boolean mask of the determined problems."""
        return np.array([d["identifiable"] for d in self.info], dtype=bool)


def nyquist_centers(t_start: float, t_stop: float, bandwidth: float) -> np.ndarray:
    """The Nyquist grid ``t_start + k pi / W`` covering ``[t_start, t_stop]``."""
    w = as_scalar("bandwidth", bandwidth, positive=True)
    t_start = as_scalar("t_start", t_start)
    t_stop = as_scalar("t_stop", t_stop)
    if not t_stop > t_start:
        raise ValidationError("t_stop", t_stop, f"> t_start = {t_start}")
    return t_start + np.pi / w * np.arange(int(np.ceil((t_stop - t_start) * w / np.pi)) + 1)


def decode_bandlimited(spikes: SpikeTrains, neurons: Neurons, bandwidth: float, *, weights: Any = None,
                       centers: Any = None, extend: float | None = None, method: str = "auto", ridge: float = 0.0, lasso: float = 0.0,
                       inequalities: bool = False, n_points: int = 8, margin: float = 0.0,
                       rcond: float = DEFAULT_RCOND, osqp_settings: dict | None = None,
                       ident_tol: float = DEFAULT_IDENT_TOL, warn: bool = True) -> BandlimitedDecodeResult:
    """Multi-channel TEM decoding of non-periodic bandlimited signals.

    Each input is sought as ``x_i(t) = sum_k c_ik sin(W (t - s_k)) / (W (t - s_k))``
    over the chosen centres; every inter-spike interval of neuron ``j`` gives one
    linear equation ``int y_j = 2 kappa delta - bias (t_k+1 - t_k)`` (leak-weighted for leaky
    neurons) with
    ``y_j = sum_i W[j, i] x_i``, and all neurons' equations are solved jointly.
    The signals are determined when the spikes of all neurons come faster than
    the Nyquist rate ``n_inputs W / pi``; below it the result says so
    (:attr:`BandlimitedDecodeResult.under_sampled`) and a
    :class:`~tem_sim.exceptions.UnderSampledWarning` is emitted.

    A signal bandlimited on the whole line has sincs centred outside the
    window whose slow (``1/t``) tails reach into it. The default centres
    therefore extend the Nyquist grid ``extend`` beyond both ends of the
    window; the spikes determine those outer weights only partly, and the
    minimum-norm answer (singular values below ``rcond`` dropped) keeps the
    interior accurate: judge the reconstruction away from the ends. The
    identifiability warning is about the centres inside the window.

    Parameters
    ----------
    spikes : SpikeTrains
        Spikes of the ``neurons.n`` neurons on ``[t_start, t_stop]`` (``t_start = 0``).
    neurons : Neurons
        The neurons' parameters (perfect or leaky).
    bandwidth : float
        ``W > 0`` (rad per unit time) of the inputs.
    weights : array_like, shape (n_neurons, n_inputs), optional
        The known weights; default the identity (decode each neuron's drive).
    centers : array_like, optional
        The sinc centres; default :func:`nyquist_centers` over the window
        widened by ``extend`` on each side.
    extend : float, optional
        Widening of the default grid; default ``10 pi / W`` (ten Nyquist intervals).
    method, ridge, lasso, inequalities, n_points, margin, rcond, osqp_settings, ident_tol
        As in :func:`decode`.
    warn : bool, default True
        Warn when the inputs are under-sampled or not determined.

    Returns
    -------
    BandlimitedDecodeResult

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import Neurons, SincSignals, encode
    >>> x = SincSignals.from_nyquist_samples([[0.3, -0.5, 0.8, 0.1, -0.2, 0.4]], t0=0.0, bandwidth=np.pi)
    >>> nrn = Neurons(1, kappa=1.0, delta=0.05, bias=2.0)
    >>> res = decode_bandlimited(encode(x, [[1.0]], nrn, 5.0), nrn, np.pi)
    >>> t = np.linspace(1.0, 4.0, 7)
    >>> res.under_sampled, bool(np.abs(res.signals.sample(t) - x.sample(t)).max() < 1e-6)
    (False, True)
    """
    _check_spikes(spikes, neurons)
    w = as_scalar("bandwidth", bandwidth, positive=True)
    W = np.eye(neurons.n) if weights is None else as_float_array("weights", weights, ndim=2,
                                                                   shape=(neurons.n, None))
    if centers is None:
        ext = 10.0 * np.pi / w if extend is None else as_scalar("extend", extend, nonnegative=True)
        s = nyquist_centers(spikes.t_start - ext, spikes.t_stop + ext, w)
    else:
        if extend is not None:
            raise ValidationError("extend", extend, "None when centers are given")
        s = as_float_array("centers", centers).ravel()
    if s.size < 1:
        raise ValidationError("centers", s, "at least one centre")
    resolved, ridge, lasso, rcond, ident_tol = _solver_options(method, ridge, lasso, inequalities, rcond,
                                                               ident_tol, osqp_settings)
    n_in = W.shape[1]
    duration = spikes.t_stop - spikes.t_start
    rate = spikes.count / duration
    nyq = n_in * w / np.pi
    if warn and rate <= nyq:
        warnings.warn(f"under-sampled: {spikes.count} spikes in {duration:g} time units ({rate:.4g} per unit) "
                      f"for {n_in} input(s) of bandwidth {w:g} rad/unit (Nyquist rate {nyq:.4g} per unit); "
                      "the signals are not determined by the spikes", UnderSampledWarning, stacklevel=2)
    basis = SincSignals(np.eye(s.size), s, w)
    theta, info = _solve_joint(basis, spikes, W, neurons, resolved, ridge=ridge, lasso=lasso,
                               inequalities=inequalities, n_points=n_points, margin=margin, rcond=rcond,
                               osqp_settings=osqp_settings, ident_tol=ident_tol, warn=False)
    inside = int(np.count_nonzero((s >= spikes.t_start) & (s <= spikes.t_stop))) * n_in
    info["n_unknowns_in_window"] = inside
    info["determined_in_window"] = bool(info["rank"] >= inside)
    info["spike_rate"] = rate
    info["nyquist_rate"] = nyq
    if warn and rate > nyq and not info["determined_in_window"]:
        warnings.warn(f"inputs not determined by the spikes: rank {info['rank']} for {inside} sinc weights "
                      f"centred in the window, from {info['n_rows']} rows; the answer is the minimum-norm one",
                      IdentifiabilityWarning, stacklevel=2)
    return BandlimitedDecodeResult(SincSignals(theta.reshape(n_in, s.size), s, w), [info], rate, nyq)
