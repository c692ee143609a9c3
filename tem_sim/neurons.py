"""Neuron parameters: integrate-and-fire time encoding machines (TEMs).

:class:`Neurons` holds the per-neuron parameters of a population of
integrate-and-fire neurons (section 1 of the mathematics reference): the
integrator constant ``kappa``, half the reset-to-threshold distance ``delta``,
the ``bias`` added to the drive, the initial integrator value ``v0`` (default
``-delta``) and an optional leak time constant ``tau`` (``inf``, the default,
is the paper's perfect integrator). Scalars broadcast to every neuron; every
value is validated on construction.

Two conventions of the leaky integrate-and-fire neurons of NEST and Brian2 are
available besides the TEM's own: a neuron's ``reset`` is ``"subtract"`` (the
TEM: ``v -= 2 delta`` at every spike, the overshoot of a jump is kept and may
fire again at once) or a value ``v_reset < delta`` to which ``v`` jumps after a
spike (one spike per instant, the overshoot is lost, as in NEST's
``iaf_psc_delta``), and ``t_ref >= 0`` is an absolute refractory period after
each spike during which the integrator is clamped at its reset value, the
drive is not integrated and delta arrivals are ignored (exponential synaptic
currents keep flowing, as in NEST's ``iaf_psc_exp``). :meth:`Neurons.from_lif`
builds neurons from NEST's parameter names.
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
    reset : "subtract" or float or array_like, default "subtract"
        ``"subtract"``: ``v -= 2 delta`` at each spike, and a jump that leaves
        ``v`` at or above ``delta`` fires again at the same instant (the
        repeated-firing rule). A value (per neuron or one for all; ``nan``
        marks a neuron that subtracts): ``v`` jumps to ``v_reset < delta``
        after a spike, one spike per instant.
    t_ref : float or array_like, default 0
        Absolute refractory period ``>= 0`` after each spike: ``v`` stays at
        its value after the reset and integrates nothing until ``t + t_ref``;
        delta arrivals in ``[t, t + t_ref)`` are ignored.

    Examples
    --------
    >>> from tem_sim import Neurons
    >>> nrn = Neurons(3, kappa=1.0, delta=1.0, bias=[1.0, 2.0, 3.0])
    >>> nrn.v0.tolist()
    [-1.0, -1.0, -1.0]
    >>> nrn.is_leaky.tolist()
    [False, False, False]
    """

    __slots__ = ("_n", "_kappa", "_delta", "_bias", "_v0", "_tau", "_v_reset", "_t_ref")

    def __init__(self, n: int, kappa: Any = 1.0, delta: Any = 1.0, bias: Any = 0.0,
                 v0: Any = None, tau: Any = np.inf, reset: Any = "subtract", t_ref: Any = 0.0) -> None:
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
        if isinstance(reset, str):
            if reset != "subtract":
                raise ValidationError("Neurons.reset", reset, '"subtract" or a reset value (float or array)')
            self._v_reset = np.full(n, np.nan)       # NaN: subtract 2 delta
        else:
            # a value per neuron; NaN marks a neuron with the subtractive reset
            self._v_reset = self._param("reset", reset, finite=False)
            bad = ~((self._v_reset < self._delta) & (self._v_reset > -np.inf)) & ~np.isnan(self._v_reset)
            if np.any(bad):
                j = int(np.flatnonzero(bad)[0])
                raise ValidationError(f"Neurons.reset[{j}]", float(self._v_reset[j]),
                                      f"a reset value below the threshold delta = {float(self._delta[j])!r}")
        self._t_ref = self._param("t_ref", t_ref)
        if np.any(~(self._t_ref >= 0)):
            raise ValidationError("Neurons.t_ref", self._t_ref[~(self._t_ref >= 0)][0], ">= 0 and finite")
        subtract = np.isnan(self._v_reset)
        low = np.where(subtract, -self._delta, np.minimum(-self._delta, self._v_reset))
        self._v0 = np.where(subtract, -self._delta, self._v_reset) if v0 is None else self._param("v0", v0)
        # subtract reset (the TEM): v stays in [-delta, delta); a reset value may lie below -delta
        bad = ~((self._v0 >= low) & (self._v0 < self._delta))
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            lo = "-delta" if subtract[j] else "min(-delta, v_reset)"
            raise ValidationError(f"Neurons.v0[{j}]", float(self._v0[j]),
                                  f"in [{lo}, delta) = [{float(low[j])!r}, {float(self._delta[j])!r})")
        for a in (self._kappa, self._delta, self._bias, self._v0, self._tau, self._v_reset, self._t_ref):
            a.setflags(write=False)

    @classmethod
    def from_lif(cls, n: int, *, tau_m: Any, V_th: Any, V_reset: Any, E_L: Any, C_m: Any = 1.0,
                 I_e: Any = 0.0, t_ref: Any = 0.0, V_m: Any = None) -> "Neurons":
        """Leaky integrate-and-fire neurons in NEST's parameters (``iaf_psc_delta``).

        ``C_m dV/dt = -C_m (V - E_L) / tau_m + I_e + I_syn``, a spike when ``V``
        reaches ``V_th``, then ``V = V_reset`` and ``t_ref`` of refractoriness.
        The TEM's integrator is ``v = V - (V_th + V_reset) / 2``: threshold
        ``delta = (V_th - V_reset) / 2``, reset value ``-delta``, ``kappa = C_m``,
        ``tau = tau_m`` (``inf``: a perfect integrator) and
        ``bias = C_m (E_L - (V_th + V_reset) / 2) / tau_m + I_e``. A delta
        synapse of weight ``w`` makes ``V`` jump by ``w / C_m`` (with
        ``C_m = 1``, the weight is the jump, in mV when ``V`` is).

        Parameters
        ----------
        n : int
            Number of neurons.
        tau_m, V_th, V_reset, E_L : float or array_like
            Membrane time constant, threshold, reset and resting potentials.
        C_m : float or array_like, default 1
            Membrane capacitance.
        I_e : float or array_like, default 0
            Constant input current.
        t_ref : float or array_like, default 0
            Absolute refractory period.
        V_m : float or array_like, optional
            Initial membrane potential (default ``V_reset``).

        Examples
        --------
        >>> nrn = Neurons.from_lif(1, tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0, I_e=1.5)
        >>> float(nrn.delta[0]), float(nrn.v_reset[0]), float(nrn.bias[0])
        (5.0, -5.0, 0.75)
        """
        args = {k: as_float_array(k, v, finite=False) for k, v in
                dict(tau_m=tau_m, V_th=V_th, V_reset=V_reset, E_L=E_L, C_m=C_m, I_e=I_e).items()}
        for k in ("V_th", "V_reset", "E_L", "C_m", "I_e"):
            if not np.all(np.isfinite(args[k])):
                raise ValidationError(k, args[k], "finite")
        if np.any(~(args["V_reset"] < args["V_th"])):
            raise ValidationError("V_reset", args["V_reset"], f"below V_th = {args['V_th']}")
        if np.any(~(args["tau_m"] > 0)):
            raise ValidationError("tau_m", args["tau_m"], "> 0 (inf for a perfect integrator)")
        mid = (args["V_th"] + args["V_reset"]) / 2.0
        delta = (args["V_th"] - args["V_reset"]) / 2.0
        with np.errstate(divide="ignore", invalid="ignore"):
            leak = np.where(np.isinf(args["tau_m"]), 0.0, (args["E_L"] - mid) / args["tau_m"])
        v0 = None if V_m is None else as_float_array("V_m", V_m) - mid
        return cls(n, kappa=args["C_m"], delta=delta, bias=args["C_m"] * leak + args["I_e"],
                   v0=v0, tau=args["tau_m"], reset=-delta, t_ref=t_ref)

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
    def v_reset(self) -> np.ndarray:
        """Values ``v`` jumps to after a spike (``nan``: subtract ``2 delta``), shape ``(n,)``."""
        return self._v_reset

    @property
    def t_ref(self) -> np.ndarray:
        """Absolute refractory periods, shape ``(n,)``."""
        return self._t_ref

    @property
    def subtracts(self) -> np.ndarray:
        """Boolean mask of neurons with the TEM's subtractive reset."""
        return np.isnan(self._v_reset)

    @property
    def is_tem(self) -> bool:
        """True when every neuron follows the TEM's conventions (subtractive reset, no refractory period)."""
        return bool(np.all(np.isnan(self._v_reset)) and np.all(self._t_ref == 0))

    @property
    def reset_value(self) -> np.ndarray:
        """``v`` right after a threshold crossing: ``-delta`` (subtract) or ``v_reset``, shape ``(n,)``."""
        return np.where(np.isnan(self._v_reset), -self._delta, self._v_reset)

    @property
    def is_leaky(self) -> np.ndarray:
        """Boolean mask of leaky neurons."""
        return np.isfinite(self._tau)

    def subset(self, index: Any) -> "Neurons":
        """The neurons selected by ``index`` (a slice, mask or integer array)."""
        k = self._kappa[index]
        vr = self._v_reset[index]
        return Neurons(int(np.size(k)), kappa=k, delta=self._delta[index], bias=self._bias[index],
                       v0=self._v0[index], tau=self._tau[index],
                       reset="subtract" if np.all(np.isnan(vr)) else vr,
                       t_ref=self._t_ref[index])

    def __repr__(self) -> str:
        def s(a: np.ndarray) -> str:
            return repr(float(a[0])) if np.all(a == a[0]) else "[...]"
        extra = ""
        if not np.all(np.isnan(self._v_reset)):
            extra += f", reset={s(self._v_reset)}"
        if np.any(self._t_ref != 0):
            extra += f", t_ref={s(self._t_ref)}"
        return (f"Neurons(n={self._n}, kappa={s(self._kappa)}, delta={s(self._delta)}, "
                f"bias={s(self._bias)}, v0={s(self._v0)}, tau={s(self._tau)}{extra})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Neurons):
            return NotImplemented
        return self._n == other._n and all(
            np.array_equal(getattr(self, a), getattr(other, a))
            for a in ("_kappa", "_delta", "_bias", "_v0", "_tau", "_t_ref")) and np.array_equal(
            self._v_reset, other._v_reset, equal_nan=True)

    def __reduce__(self):
        return (Neurons, (self._n, np.array(self._kappa), np.array(self._delta),
                          np.array(self._bias), np.array(self._v0), np.array(self._tau),
                          "subtract" if np.all(np.isnan(self._v_reset)) else np.array(self._v_reset),
                          np.array(self._t_ref)))
