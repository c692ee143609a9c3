"""Spike trains in and out of the formats other neuroscience tools use.

tem_sim's times are **unitless**: a model's time unit is whatever its
``kappa``, signal periods and ``t_end`` were written in. Brian2, Neo and NWB
times carry a unit (NWB: always seconds). Every converter here therefore takes
``time_scale``, the duration of one tem_sim time unit in seconds (default 1:
one tem_sim unit is one second). Going out, times are multiplied by it;
coming in, divided by it, so a round trip with the same ``time_scale`` gives
the same spikes back.

* Brian2 (``SpikeMonitor.i, .t`` / ``SpikeGeneratorGroup(N, indices, times)``):
  :func:`to_brian2_arrays` and :func:`from_brian2_arrays`. These are plain
  NumPy arrays (times in seconds), so Brian2 itself is not needed; multiply by
  ``brian2.second`` to pass them on. A Brian2 ``Quantity`` coming in is read in
  seconds (its SI value).
* Neo (``neo.SpikeTrain`` with ``quantities`` units): :func:`to_neo`,
  :func:`from_neo`; needs the ``neo`` extra (``pip install "tem_sim[neo]"``).
* NWB (a ``pynwb.misc.Units`` table): :func:`to_nwb_units`,
  :func:`from_nwb_units`; needs the ``nwb`` extra (``pip install "tem_sim[nwb]"``).

The optional packages are imported when a converter is first called, never
when this module is imported.

Examples
--------
>>> from tem_sim import SpikeTrains
>>> from tem_sim.interop import to_brian2_arrays, from_brian2_arrays
>>> st = SpikeTrains([0.5, 1.5, 1.0], [1, 1, 0], n_neurons=2, t_stop=2.0)
>>> i, t = to_brian2_arrays(st, time_scale=1e-3)      # one tem_sim unit = 1 ms
>>> i.tolist(), t.tolist()
([1, 0, 1], [0.0005, 0.001, 0.0015])
>>> from_brian2_arrays(i, t, n_neurons=2, t_stop=2e-3, time_scale=1e-3) == st
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._validation import as_float_array, as_scalar
from .exceptions import ValidationError
from .spikes import SpikeTrains

__all__ = ["to_brian2_arrays", "from_brian2_arrays", "to_neo", "from_neo", "to_nwb_units", "from_nwb_units"]


def _scale(time_scale: Any) -> float:
    return as_scalar("time_scale", time_scale, positive=True)


def _need(module: str, extra: str, func: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise ImportError(f"tem_sim.interop.{func} needs the optional package {module.split('.')[0]!r}: "
                          f'pip install "tem_sim[{extra}]" ({exc})') from exc


def _check_spikes(spikes: Any) -> SpikeTrains:
    if not isinstance(spikes, SpikeTrains):
        raise ValidationError("spikes", type(spikes).__name__, "a SpikeTrains")
    return spikes


def _from_scaled(times: np.ndarray, idx: np.ndarray, n: int, t_start: float, t_stop: float | None,
                 scale: float) -> SpikeTrains:
    # dividing by the scale (not multiplying by its inverse) undoes the outgoing product exactly
    # whenever that product was exact, and to within one rounding otherwise
    return SpikeTrains(times / scale, idx, n, t_start / scale, None if t_stop is None else t_stop / scale)


def _from_seconds(trains: list[np.ndarray], t_start: float, t_stop: float | None, scale: float) -> SpikeTrains:
    """:meth:`SpikeTrains.from_trains` of per-neuron times in seconds, divided by ``scale`` as in
    :func:`_from_scaled`."""
    return SpikeTrains.from_trains([t / scale for t in trains], t_start / scale,
                                   None if t_stop is None else t_stop / scale)


# --------------------------------------------------------------------------- Brian2
def to_brian2_arrays(spikes: SpikeTrains, *, time_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Brian2's ``(i, t)`` pair: neuron indices and spike times in seconds.

    Parameters
    ----------
    spikes : SpikeTrains
    time_scale : float, default 1
        Seconds per tem_sim time unit.

    Returns
    -------
    i : ndarray of int64
    t : ndarray of float64, seconds (multiply by ``brian2.second`` for a Quantity)

    Examples
    --------
    >>> from tem_sim import SpikeTrains
    >>> i, t = to_brian2_arrays(SpikeTrains([2.0, 1.0], [0, 1], n_neurons=2))
    >>> i.tolist(), t.tolist()
    ([1, 0], [1.0, 2.0])
    """
    st = _check_spikes(spikes)
    scale = _scale(time_scale)
    return np.array(st.indices), np.asarray(st.times) * scale


def from_brian2_arrays(i: Any, t: Any, n_neurons: int, *, t_start: Any = 0.0, t_stop: Any = None,
                       time_scale: float = 1.0) -> SpikeTrains:
    """A :class:`SpikeTrains` from Brian2's ``(i, t)`` pair.

    Parameters
    ----------
    i : array_like of int
        Neuron indices (``SpikeMonitor.i``).
    t : array_like of float or brian2 Quantity
        Spike times in seconds (``SpikeMonitor.t``; a Quantity is read as its SI value).
    n_neurons : int
        Size of the population (``len(group)``): silent neurons leave no index behind.
    t_start, t_stop : float or Quantity, optional
        Observation window in seconds (default ``[0, last spike]``).
    time_scale : float, default 1
        Seconds per tem_sim time unit.

    Examples
    --------
    >>> st = from_brian2_arrays([0, 1], [0.25, 0.5], n_neurons=3, t_stop=1.0)
    >>> st.counts().tolist(), st.t_stop
    ([1, 1, 0], 1.0)
    """
    scale = _scale(time_scale)
    times = as_float_array("t", np.asarray(t, dtype=float) if hasattr(t, "dim") else t).ravel()
    t0 = as_scalar("t_start", np.asarray(t_start, dtype=float) if hasattr(t_start, "dim") else t_start)
    t1 = None if t_stop is None else as_scalar("t_stop", np.asarray(t_stop, dtype=float)
                                               if hasattr(t_stop, "dim") else t_stop)
    return _from_scaled(times, np.asarray(i), n_neurons, t0, t1, scale)


# --------------------------------------------------------------------------- Neo
def to_neo(spikes: SpikeTrains, *, units: str = "s", time_scale: float = 1.0) -> list:
    """One ``neo.SpikeTrain`` per neuron, in ``units``.

    Parameters
    ----------
    spikes : SpikeTrains
    units : str, default "s"
        A ``quantities`` time unit for the Neo trains ("s", "ms", ...).
    time_scale : float, default 1
        Seconds per tem_sim time unit.

    Returns
    -------
    list of neo.SpikeTrain
        Train ``j`` carries the annotation ``neuron=j`` and the window ``[t_start, t_stop]``.
    """
    st = _check_spikes(spikes)
    scale = _scale(time_scale)
    neo = _need("neo", "neo", "to_neo")
    pq = _need("quantities", "neo", "to_neo")
    try:
        unit = pq.Quantity(1.0, units)
        factor = float(pq.Quantity(1.0, "s").rescale(unit.units).magnitude)
    except Exception as exc:
        raise ValidationError("units", units, f"a time unit known to quantities ({exc})") from None
    f = scale * factor
    return [neo.SpikeTrain(train * f, units=units, t_start=st.t_start * f, t_stop=st.t_stop * f, neuron=j)
            for j, train in enumerate(st.trains())]


def from_neo(trains: Sequence[Any], *, time_scale: float = 1.0) -> SpikeTrains:
    """A :class:`SpikeTrains` from a list of ``neo.SpikeTrain`` (neuron ``j`` is ``trains[j]``).

    Times are converted to seconds whatever each train's units, then divided by
    ``time_scale``. The window is the union of the trains' windows.
    """
    _need("neo", "neo", "from_neo")
    trains = list(trains)
    if not trains:
        raise ValidationError("trains", trains, "a non-empty list of neo.SpikeTrain")
    scale = _scale(time_scale)
    times, starts, stops = [], [], []
    for j, tr in enumerate(trains):
        if not hasattr(tr, "rescale") or not hasattr(tr, "t_stop"):
            raise ValidationError(f"trains[{j}]", type(tr).__name__, "a neo.SpikeTrain")
        times.append(np.asarray(tr.rescale("s").magnitude, dtype=float).ravel())
        starts.append(float(tr.t_start.rescale("s").magnitude))
        stops.append(float(tr.t_stop.rescale("s").magnitude))
    return _from_seconds(times, min(starts), max(stops), scale)


# --------------------------------------------------------------------------- NWB
def to_nwb_units(spikes: SpikeTrains, *, time_scale: float = 1.0, name: str = "units",
                 description: str = "tem_sim spike trains") -> Any:
    """A ``pynwb.misc.Units`` table: one unit per neuron, spike times in seconds.

    Each unit's ``obs_intervals`` is the window ``[[t_start, t_stop]]``, so silent
    neurons and the window survive the round trip. Add it to a file with
    ``nwbfile.units = table`` (its name must then be ``"units"``).
    """
    st = _check_spikes(spikes)
    scale = _scale(time_scale)
    misc = _need("pynwb.misc", "nwb", "to_nwb_units")
    table = misc.Units(name=name, description=description)
    window = [[st.t_start * scale, st.t_stop * scale]]
    for train in st.trains():
        table.add_unit(spike_times=np.asarray(train) * scale, obs_intervals=window)
    return table


def from_nwb_units(units: Any, *, time_scale: float = 1.0) -> SpikeTrains:
    """A :class:`SpikeTrains` from a ``pynwb.misc.Units`` table (neuron ``j`` is row ``j``).

    The window is the union of the ``obs_intervals`` when the table has them,
    else ``[0, last spike]``.
    """
    _need("pynwb", "nwb", "from_nwb_units")
    scale = _scale(time_scale)
    try:
        n = len(units)
        col = units["spike_times"]
    except (TypeError, KeyError) as exc:
        raise ValidationError("units", type(units).__name__, f"a pynwb Units table with spike_times ({exc})") from None
    times = [np.asarray(col[j], dtype=float).ravel() for j in range(n)]
    t0, t1 = 0.0, None
    if "obs_intervals" in units.colnames:
        iv = [np.asarray(units["obs_intervals"][j], dtype=float).reshape(-1, 2) for j in range(n)]
        iv = np.concatenate(iv) if iv else np.zeros((0, 2))
        if iv.size:
            t0, t1 = float(iv[:, 0].min()), float(iv[:, 1].max())
    return _from_seconds(times, t0, t1, scale)
