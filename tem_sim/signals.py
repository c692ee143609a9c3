"""Analog inputs: banks of real periodic bandlimited signals (Fourier series).

A :class:`FourierSignals` bank holds ``n`` real signals that share a period
``T`` and the harmonics ``|m| <= M``, as a complex matrix ``C`` of two-sided
coefficients (``n x (2M+1)``, column ``M + m`` holds ``c_m``, with
``c_{-m} = conj(c_m)``). It samples the signals, integrates them in closed form
over many intervals at once, and mixes them by a weight matrix (the drive of a
layer ``y = W x`` is the bank with coefficients ``W C``). Section 2 of the
mathematics reference; the paper's convention (``n`` real "components"
``c_0 ... c_{n-1}``, ``x = c_0 + 2 sum_m c_m cos(2 pi m t / T)``) has its own
constructor.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_float_array, as_int, as_scalar, check_intervals, rng_from_seed
from .exceptions import ValidationError

__all__ = ["FourierSignals"]


class FourierSignals:
    """A bank of real periodic bandlimited signals sharing period and bandwidth.

    Parameters
    ----------
    coefficients : array_like of complex, shape (n_signals, 2M+1)
        Two-sided Fourier coefficients, column ``M + m`` holding ``c_m`` for
        ``m = -M..M``. Must be conjugate symmetric (``c_{-m} = conj(c_m)``) so
        that the signals are real.
    period : float
        Common period ``T > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals
    >>> x = FourierSignals.from_one_sided([[1.0, 0.5]], period=2.0)
    >>> float(np.round(x.sample([0.0, 1.0])[0, 0], 12))
    2.0
    >>> float(np.round(x.integrate([0.0], [2.0])[0, 0], 12))
    2.0
    """

    __slots__ = ("_coefficients", "_period")

    def __init__(self, coefficients: Any, period: float) -> None:
        period = as_scalar("FourierSignals.period", period, positive=True)
        c = as_float_array("FourierSignals.coefficients", coefficients, allow_complex=True)
        if c.ndim == 1:
            c = c[None, :]
        if c.ndim != 2 or c.shape[1] % 2 != 1 or c.shape[0] < 1:
            raise ValidationError("FourierSignals.coefficients", f"array of shape {c.shape}",
                                  "of shape (n_signals >= 1, 2M+1) with an odd number of columns")
        c = np.ascontiguousarray(c, dtype=np.complex128)
        scale = max(float(np.max(np.abs(c))), 1e-300)
        asym = np.max(np.abs(c - np.conj(c[:, ::-1])))
        if asym > 1e-12 * scale:
            raise ValidationError("FourierSignals.coefficients", f"asymmetry {asym:.3g}",
                                  "conjugate symmetric (c[-m] == conj(c[m])) so the signals are real")
        # make the symmetry exact
        M = c.shape[1] // 2
        c = 0.5 * (c + np.conj(c[:, ::-1]))
        c[:, M] = c[:, M].real
        c.setflags(write=False)
        self._coefficients = c
        self._period = period

    # ----------------------------------------------------------- constructors
    @classmethod
    def from_one_sided(cls, coefficients: Any, period: float) -> "FourierSignals":
        """Build from one-sided coefficients ``c_0 ... c_M`` (the paper's convention).

        ``x(t) = c_0 + 2 sum_{m=1}^{M} Re(c_m exp(2 pi i m t / T))``; ``c_0`` must be real.

        Parameters
        ----------
        coefficients : array_like, shape (n_signals, M+1)
            Real or complex one-sided coefficients.
        period : float
            Period ``T > 0``.
        """
        c = as_float_array("coefficients", coefficients, allow_complex=True)
        if c.ndim == 1:
            c = c[None, :]
        if c.ndim != 2 or c.shape[1] < 1:
            raise ValidationError("coefficients", f"array of shape {c.shape}", "of shape (n_signals, M+1)")
        c = c.astype(np.complex128)
        if np.any(np.abs(c[:, 0].imag) > 1e-14 * (1 + np.abs(c[:, 0].real))):
            raise ValidationError("coefficients[:, 0]", c[:, 0], "real (the mean of a real signal)")
        two = np.concatenate([np.conj(c[:, :0:-1]), c[:, :1].real.astype(np.complex128), c[:, 1:]], axis=1)
        return cls(two, period)

    from_paper = from_one_sided

    @classmethod
    def random_paper(cls, n_signals: int, n_components: int = 10, period: float = 10.0, *,
                     seed: Any) -> "FourierSignals":
        """Draw the paper's random inputs: real components ``c_m ~ U[0, 1)``.

        Parameters
        ----------
        n_signals : int
            Number of signals.
        n_components : int, default 10
            Number of components ``c_0 ... c_{n-1}`` (so ``M = n_components - 1``).
        period : float, default 10
            Period ``T``.
        seed : int, SeedSequence or numpy Generator
            Source of randomness (required).
        """
        n_signals = as_int("n_signals", n_signals, minimum=1)
        n_components = as_int("n_components", n_components, minimum=1)
        rng = rng_from_seed(seed)
        return cls.from_one_sided(rng.random((n_signals, n_components)), period)

    # ------------------------------------------------------------ properties
    @property
    def coefficients(self) -> np.ndarray:
        """Two-sided coefficients, shape ``(n_signals, 2M+1)`` (read-only)."""
        return self._coefficients

    @property
    def one_sided(self) -> np.ndarray:
        """One-sided coefficients ``c_0 ... c_M``, shape ``(n_signals, M+1)``."""
        return self._coefficients[:, self.n_harmonics:].copy()

    @property
    def period(self) -> float:
        """The common period ``T``."""
        return self._period

    @property
    def n_harmonics(self) -> int:
        """The highest harmonic ``M``."""
        return self._coefficients.shape[1] // 2

    @property
    def n_signals(self) -> int:
        """Number of signals in the bank."""
        return self._coefficients.shape[0]

    def __len__(self) -> int:
        return self.n_signals

    @property
    def harmonics(self) -> np.ndarray:
        """Integer harmonics ``m = -M..M``."""
        M = self.n_harmonics
        return np.arange(-M, M + 1)

    @property
    def omegas(self) -> np.ndarray:
        """Angular frequencies ``2 pi m / T`` for ``m = -M..M``."""
        return 2.0 * np.pi * self.harmonics / self._period

    def __repr__(self) -> str:
        return f"FourierSignals(n_signals={self.n_signals}, M={self.n_harmonics}, period={self._period!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FourierSignals):
            return NotImplemented
        return (self._period == other._period
                and self._coefficients.shape == other._coefficients.shape
                and bool(np.array_equal(self._coefficients, other._coefficients)))

    def __reduce__(self):
        return (FourierSignals, (np.array(self._coefficients), self._period))

    # ------------------------------------------------------------ operations
    def _phases(self, t: np.ndarray) -> np.ndarray:
        """``exp(i omega_m t)`` with the time reduced modulo ``T`` for accuracy, shape (len(t), 2M+1)."""
        tr = np.mod(t, self._period)
        return np.exp(1j * np.outer(tr, self.omegas))

    def sample(self, t: Any) -> np.ndarray:
        """Sample every signal at the times ``t``.

        Parameters
        ----------
        t : array_like of float, shape (K,)

        Returns
        -------
        ndarray, shape (n_signals, K)
        """
        t = as_float_array("t", t).ravel()
        return (self._coefficients @ self._phases(t).T).real

    def sample_derivative(self, t: Any) -> np.ndarray:
        """Sample the time derivative of every signal at ``t``; shape (n_signals, K)."""
        t = as_float_array("t", t).ravel()
        return (self._coefficients @ (self._phases(t) * (1j * self.omegas)).T).real

    def harmonic_integrals(self, a: Any, b: Any) -> np.ndarray:
        """Closed-form integrals ``E[k, m] = int_{a_k}^{b_k} exp(i omega_m s) ds``.

        Computed as ``(b-a) sinc(m (b-a) / T) exp(i omega_m (a+b)/2)``, which
        keeps full relative accuracy for short intervals.

        Parameters
        ----------
        a, b : array_like of float, shape (K,)
            Interval ends (``b < a`` gives the negated integral).

        Returns
        -------
        ndarray of complex, shape (K, 2M+1)
        """
        a, b = check_intervals(a, b, ordered=False)
        h = b - a
        # midpoint with a reduced modulo T (exact) keeps the phase accurate for large t
        mid = np.mod(a, self._period) + 0.5 * h
        m = self.harmonics
        return (h[:, None] * np.sinc(np.outer(h, m) / self._period)) * \
            np.exp(1j * np.outer(np.mod(mid, self._period), self.omegas))

    def integrate(self, a: Any, b: Any) -> np.ndarray:
        """Integrals of every signal over the intervals ``[a_k, b_k]``.

        Parameters
        ----------
        a, b : array_like of float, shape (K,)

        Returns
        -------
        ndarray, shape (n_signals, K)
        """
        return (self._coefficients @ self.harmonic_integrals(a, b).T).real

    def mix(self, weights: Any) -> "FourierSignals":
        """The bank ``W x``: each output a weighted sum of these signals.

        Parameters
        ----------
        weights : array_like, shape (n_out, n_signals)
        """
        W = as_float_array("weights", weights, ndim=2, shape=(None, self.n_signals))
        return FourierSignals(W @ self._coefficients, self._period)

    def drive_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-signal bounds ``(sup |x|, sup |x'|)`` from the coefficients' magnitudes."""
        absc = np.abs(self._coefficients)
        return absc.sum(axis=1), (absc * np.abs(self.omegas)).sum(axis=1)
