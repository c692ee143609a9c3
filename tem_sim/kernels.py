"""Synaptic kernels: how a presynaptic spike shapes the postsynaptic drive.

A spike at time ``s`` through a connection of weight ``w`` and delay ``d``
adds ``w * h(t - s - d)`` to the drive (section 3 of the mathematics
reference). :class:`Delta` makes the integrator jump by ``w / kappa`` at the
arrival; :class:`Exponential` adds a current ``w * exp(-(t - arrival)/tau_s)``;
:class:`PeriodicLowpass` is the paper's non-causal kernel, the Dirac made
``T``-periodic and cut to harmonics ``|m| <= M``, which turns one period of
spikes into a Fourier series. Each kernel integrates a spike train over many
intervals in closed form (vectorised), which is what both the simulator checks
and the constraint builder need.

Arrival convention: an arrival at exactly the end ``b`` of an interval
``(a, b]`` belongs to that interval (a delta arrival that triggers a spike
counts towards the interval that the spike closes).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_float_array, as_int, as_scalar, check_intervals
from .exceptions import ValidationError

__all__ = ["Kernel", "Delta", "Exponential", "PeriodicLowpass", "as_kernel"]


class Kernel:
    """Base class of synaptic kernels."""

    #: True for kernels that can be simulated event by event.
    causal: bool = True
    name: str = "kernel"

    def integrate_train(self, arrivals: Any, a: Any, b: Any, weights: Any = None) -> np.ndarray:
        """``int_a^b sum_k w_k h(t - arrival_k) dt`` for every interval ``(a_j, b_j]``.

        Parameters
        ----------
        arrivals : array_like of float, shape (K,)
            Arrival times (spike time plus delay), any order.
        a, b : array_like of float, shape (J,)
            Interval ends, ``a_j <= b_j``.
        weights : array_like of float, shape (K,), optional
            Weight of each arrival (default 1).

        Returns
        -------
        ndarray, shape (J,)
        """
        s, w, a, b = _prep(arrivals, a, b, weights)
        return self._integrate(s, w, a, b)

    def _integrate(self, s: np.ndarray, w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.__dict__.items()))))


def _prep(arrivals, a, b, weights):
    s = as_float_array("arrivals", arrivals).ravel()
    a, b = check_intervals(a, b)
    w = np.ones_like(s) if weights is None else as_float_array("weights", weights, shape=(s.size,))
    order = np.argsort(s, kind="stable")
    return s[order], w[order], a, b


class Delta(Kernel):
    """Dirac kernel: the integrator jumps by ``w / kappa`` at each arrival.

    Examples
    --------
    >>> from tem_sim.kernels import Delta
    >>> Delta().integrate_train([0.5, 1.0, 2.5], [0.0, 1.0], [1.0, 3.0]).tolist()
    [2.0, 1.0]
    """

    name = "delta"

    def _integrate(self, s, w, a, b):
        cw = np.concatenate([[0.0], np.cumsum(w)])
        # arrivals in (a, b]
        return cw[np.searchsorted(s, b, side="right")] - cw[np.searchsorted(s, a, side="right")]

    def __repr__(self) -> str:
        return "Delta()"


class Exponential(Kernel):
    """Exponentially decaying current ``h(t) = exp(-t / tau_s)`` for ``t >= 0``.

    Parameters
    ----------
    tau_s : float
        Synaptic time constant, ``> 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.kernels import Exponential
    >>> float(np.round(Exponential(2.0).integrate_train([0.0], [0.0], [50.0])[0], 9))  # ~ tau_s
    2.0
    """

    name = "exponential"

    def __init__(self, tau_s: float) -> None:
        self.tau_s = as_scalar("Exponential.tau_s", tau_s, positive=True)

    def current(self, arrivals: Any, t: Any, weights: Any = None) -> np.ndarray:
        """The current ``I(t) = sum_{arrival <= t} w exp(-(t - arrival)/tau_s)`` at times ``t``."""
        s = as_float_array("arrivals", arrivals).ravel()
        t = as_float_array("t", t).ravel()
        w = np.ones_like(s) if weights is None else as_float_array("weights", weights, shape=(s.size,))
        order = np.argsort(s, kind="stable")
        return self._current(s[order], w[order], t)

    def _current(self, s, w, t):
        from . import _core
        return _core.exp_trace(np.ascontiguousarray(s), np.ascontiguousarray(w), self.tau_s,
                               np.ascontiguousarray(t, dtype=np.float64))

    def _integrate(self, s, w, a, b):
        # dI/dt = -I/tau + sum w delta(t - s): int_a^b I = tau (I(a) - I(b) + sum_{s in (a,b]} w)
        jumps = Delta()._integrate(s, w, a, b)
        return self.tau_s * (self._current(s, w, a) - self._current(s, w, b) + jumps)

    def __repr__(self) -> str:
        return f"Exponential(tau_s={self.tau_s!r})"


class PeriodicLowpass(Kernel):
    """The paper's kernel: a periodic Dirac comb cut to harmonics ``|m| <= M``.

    The spikes ``{(s_k, w_k)}`` of one period become the Fourier series with
    ``c_m = (1/T) sum_k w_k exp(-i 2 pi m s_k / T)``. Not causal: a population
    fed through it is simulated after its presynaptic population.

    Parameters
    ----------
    period : float
        Period ``T > 0``.
    n_harmonics : int
        Highest harmonic ``M >= 0``.
    first : int, optional
        Use only the first ``first`` spikes of each presynaptic neuron (the
        paper keeps 4); by default every spike in ``[0, period)``.
    """

    name = "periodic_lowpass"
    causal = False

    def __init__(self, period: float, n_harmonics: int, first: int | None = None) -> None:
        self.period = as_scalar("PeriodicLowpass.period", period, positive=True)
        self.n_harmonics = as_int("PeriodicLowpass.n_harmonics", n_harmonics, minimum=0)
        self.first = None if first is None else as_int("PeriodicLowpass.first", first, minimum=1)

    def coefficients(self, arrivals: Any, weights: Any = None) -> np.ndarray:
        """Two-sided coefficients ``c_m`` (``m = -M..M``) of one train, shape (2M+1,)."""
        s = as_float_array("arrivals", arrivals).ravel()
        w = np.ones_like(s) if weights is None else as_float_array("weights", weights, shape=(s.size,))
        m = np.arange(-self.n_harmonics, self.n_harmonics + 1)
        ph = np.exp(-2j * np.pi * np.outer(m, np.mod(s, self.period)) / self.period)
        return (ph @ w) / self.period

    def _integrate(self, s, w, a, b):
        from .signals import FourierSignals
        return FourierSignals(self.coefficients(s, w)[None, :], self.period).integrate(a, b)[0]

    def __repr__(self) -> str:
        return f"PeriodicLowpass(period={self.period!r}, n_harmonics={self.n_harmonics!r}, first={self.first!r})"


_NAMES = {"delta": Delta, "exponential": Exponential, "periodic_lowpass": PeriodicLowpass}


def as_kernel(kernel: Any) -> Kernel:
    """Accept a :class:`Kernel` or the name ``"delta"``; reject anything else clearly."""
    if isinstance(kernel, Kernel):
        return kernel
    if kernel == "delta":
        return Delta()
    raise ValidationError("kernel", kernel, "a Kernel instance (Delta(), Exponential(tau_s), "
                          "PeriodicLowpass(period, n_harmonics)) or 'delta'")
