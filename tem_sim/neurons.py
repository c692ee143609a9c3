"""Neuron parameters: integrate-and-fire time encoding machines (TEMs).

:class:`Neurons` holds the per-neuron parameters of a population of
integrate-and-fire neurons (section 1 of the mathematics reference): the
integrator constant ``kappa``, half the reset-to-threshold distance ``delta``,
the ``bias`` added to the drive, the initial integrator value ``v0`` (default
``-delta``) and an optional leak time constant ``tau`` (``inf``, the default,
is the paper's perfect integrator). Scalars broadcast to every neuron; every
value is validated on construction.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import as_float_array, as_int
from .exceptions import ValidationError

__all__ = ["Neurons"]


class Neurons:
    """Parameters of ``n`` integrate-and-fire TEM neurons.

    Parameters
    ----------
    n : int
        Number of neurons.
    kappa : float or array_like, default 1
        Integrator constant, ``> 0``.
    delta : float or array_like, default 1
        Half the distance between reset (``-delta``) and threshold (``+delta``), ``> 0``.
    bias : float or array_like, default 0
        Constant added to each neuron's drive.
    v0 : float or array_like, optional
        Integrator value at ``t = 0``, in ``[-delta, delta)``; default ``-delta``.
    tau : float or array_like, default inf
        Leak time constant ``> 0``; ``inf`` is a perfect integrator.

    Examples
    --------
    >>> from tem_sim import Neurons
    >>> nrn = Neurons(3, kappa=1.0, delta=1.0, bias=[1.0, 2.0, 3.0])
    >>> nrn.v0.tolist()
    [-1.0, -1.0, -1.0]
    >>> nrn.is_leaky.tolist()
    [False, False, False]
    """

    __slots__ = ("_n", "_kappa", "_delta", "_bias", "_v0", "_tau")

    def __init__(self, n: int, kappa: Any = 1.0, delta: Any = 1.0, bias: Any = 0.0,
                 v0: Any = None, tau: Any = np.inf) -> None:
        n = as_int("Neurons.n", n, minimum=1)
        self._n = n
        self._kappa = self._param("kappa", kappa)
        self._delta = self._param("delta", delta)
        self._bias = self._param("bias", bias)
        self._tau = self._param("tau", tau, finite=False)
        if np.any(~(self._kappa > 0)):
            raise ValidationError("Neurons.kappa", self._kappa[~(self._kappa > 0)][0], "> 0")
        if np.any(~(self._delta > 0)):
            raise ValidationError("Neurons.delta", self._delta[~(self._delta > 0)][0], "> 0")
        if np.any(np.isnan(self._tau)) or np.any(self._tau <= 0) or np.any(self._tau == -np.inf):
            bad = self._tau[np.isnan(self._tau) | (self._tau <= 0)][0]
            raise ValidationError("Neurons.tau", bad, "> 0 (inf for a perfect integrator)")
        self._v0 = -self._delta.copy() if v0 is None else self._param("v0", v0)
        bad = ~((self._v0 >= -self._delta) & (self._v0 < self._delta))
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            raise ValidationError(f"Neurons.v0[{j}]", float(self._v0[j]),
                                  f"in [-delta, delta) = [{-self._delta[j]!r}, {self._delta[j]!r})")
        for a in (self._kappa, self._delta, self._bias, self._v0, self._tau):
            a.setflags(write=False)

    def _param(self, name: str, value: Any, finite: bool = True) -> np.ndarray:
        arr = as_float_array(f"Neurons.{name}", value, finite=False)
        if arr.ndim == 0:
            arr = np.full(self._n, float(arr))
        elif arr.shape != (self._n,):
            raise ValidationError(f"Neurons.{name}", f"array of shape {arr.shape}",
                                  f"a scalar or of shape ({self._n},)")
        else:
            arr = arr.copy()
        if finite and not np.all(np.isfinite(arr)):
            raise ValidationError(f"Neurons.{name}", arr[~np.isfinite(arr)][0], "finite")
        return np.ascontiguousarray(arr)

    @property
    def n(self) -> int:
        """Number of neurons."""
        return self._n

    def __len__(self) -> int:
        return self._n

    @property
    def kappa(self) -> np.ndarray:
        """Integrator constants, shape ``(n,)``."""
        return self._kappa

    @property
    def delta(self) -> np.ndarray:
        """Half reset-to-threshold distances, shape ``(n,)``."""
        return self._delta

    @property
    def bias(self) -> np.ndarray:
        """Biases, shape ``(n,)``."""
        return self._bias

    @property
    def v0(self) -> np.ndarray:
        """Initial integrator values, shape ``(n,)``."""
        return self._v0

    @property
    def tau(self) -> np.ndarray:
        """Leak time constants (``inf``: perfect integrator), shape ``(n,)``."""
        return self._tau

    @property
    def is_leaky(self) -> np.ndarray:
        """Boolean mask of leaky neurons."""
        return np.isfinite(self._tau)

    def subset(self, index: Any) -> "Neurons":
        """The neurons selected by ``index`` (a slice, mask or integer array)."""
        k = self._kappa[index]
        return Neurons(int(np.size(k)), kappa=k, delta=self._delta[index], bias=self._bias[index],
                       v0=self._v0[index], tau=self._tau[index])

    def __repr__(self) -> str:
        def s(a: np.ndarray) -> str:
            return repr(float(a[0])) if np.all(a == a[0]) else "[...]"
        return (f"Neurons(n={self._n}, kappa={s(self._kappa)}, delta={s(self._delta)}, "
                f"bias={s(self._bias)}, v0={s(self._v0)}, tau={s(self._tau)})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Neurons):
            return NotImplemented
        return self._n == other._n and all(
            np.array_equal(getattr(self, a), getattr(other, a))
            for a in ("_kappa", "_delta", "_bias", "_v0", "_tau"))

    def __reduce__(self):
        return (Neurons, (self._n, np.array(self._kappa), np.array(self._delta),
                          np.array(self._bias), np.array(self._v0), np.array(self._tau)))
