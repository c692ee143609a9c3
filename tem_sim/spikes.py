"""Spike trains: the spikes of one population as flat ``(i, t)`` arrays.

:class:`SpikeTrains` is the currency passed between the simulator, the
trainer and the decoder: two flat arrays, neuron indices and spike times,
sorted by time (ties by neuron index), plus ``n_neurons`` and the observation
window ``[t_start, t_stop]`` -- the pair Brian2's ``SpikeMonitor`` and Neo's
``SpikeTrainList.from_spike_time_array`` use. Per-neuron views, counts,
comparison with a tolerance and a versioned ``.npz`` format come with it.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from ._npz import get, read_npz, renamed, scalar
from ._validation import as_float_array, as_int, as_scalar
from .exceptions import ValidationError

__all__ = ["SpikeTrains", "NPZ_FORMAT_VERSION"]

#: Version of the ``.npz`` layout written by :meth:`SpikeTrains.save`.
NPZ_FORMAT_VERSION = 1


class SpikeTrains:
    """Spikes of a population of ``n_neurons`` neurons observed on ``[t_start, t_stop]``.

    Parameters
    ----------
    times : array_like of float, shape (K,)
        Spike times.
    indices : array_like of int, shape (K,)
        Neuron index of each spike, in ``[0, n_neurons)``.
    n_neurons : int
        Size of the population.
    t_start, t_stop : float
        Observation window; every spike must lie in it.
    sort : bool, default True
        Sort the spikes by (time, index). Pass False only for data already sorted.

    Examples
    --------
    >>> from tem_sim import SpikeTrains
    >>> st = SpikeTrains([0.5, 0.2, 0.9], [1, 0, 1], n_neurons=2, t_stop=1.0)
    >>> st.times.tolist(), st.indices.tolist()
    ([0.2, 0.5, 0.9], [0, 1, 1])
    >>> st.neuron(1).tolist()
    [0.5, 0.9]
    >>> st.counts().tolist()
    [1, 2]
    """

    __slots__ = ("_times", "_indices", "_n", "_t_start", "_t_stop", "_offsets", "_order")

    def __init__(self, times: Any, indices: Any, n_neurons: int, t_start: float = 0.0,
                 t_stop: float | None = None, *, sort: bool = True) -> None:
        n = as_int("n_neurons", n_neurons, minimum=0)
        t = as_float_array("times", times).ravel()
        idx_raw = np.asarray(indices)
        if idx_raw.size and idx_raw.dtype.kind not in "iu":
            if idx_raw.dtype.kind == "f" and np.all(np.isfinite(idx_raw)) and np.all(idx_raw == np.round(idx_raw)):
                idx_raw = idx_raw.astype(np.int64)
            else:
                raise ValidationError("indices", idx_raw, "integer neuron indices")
        idx = np.ascontiguousarray(idx_raw, dtype=np.int64).ravel()
        if idx.shape != t.shape:
            raise ValidationError("indices", f"array of shape {idx.shape}", f"the shape of times, {t.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = idx[(idx < 0) | (idx >= n)][0]
            raise ValidationError("indices", int(bad), f"in [0, n_neurons) = [0, {n})")
        t_start = as_scalar("t_start", t_start)
        if t_stop is None:
            t_stop = float(t.max()) if t.size else t_start
        t_stop = as_scalar("t_stop", t_stop)
        if t_stop < t_start:
            raise ValidationError("t_stop", t_stop, f">= t_start = {t_start!r}")
        if t.size and (t.min() < t_start or t.max() > t_stop):
            bad = t[(t < t_start) | (t > t_stop)][0]
            raise ValidationError("times", float(bad), f"inside [t_start, t_stop] = [{t_start!r}, {t_stop!r}]")
        if sort and t.size:
            order = np.lexsort((idx, t))
            t = t[order]
            idx = idx[order]
        t.setflags(write=False)
        idx.setflags(write=False)
        self._times = t
        self._indices = idx
        self._n = n
        self._t_start = t_start
        self._t_stop = t_stop
        self._offsets: np.ndarray | None = None
        self._order: np.ndarray | None = None

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_trains(cls, trains: Sequence[Any], t_start: float = 0.0,
                    t_stop: float | None = None) -> "SpikeTrains":
        """Build from one array of spike times per neuron."""
        trains = [as_float_array(f"trains[{j}]", tr).ravel() for j, tr in enumerate(trains)]
        times = np.concatenate(trains) if trains else np.empty(0)
        idx = np.concatenate([np.full(len(tr), j, dtype=np.int64) for j, tr in enumerate(trains)]) \
            if trains else np.empty(0, dtype=np.int64)
        return cls(times, idx, len(trains), t_start, t_stop)

    # ------------------------------------------------------------ properties
    @property
    def times(self) -> np.ndarray:
        """Spike times, sorted (read-only)."""
        return self._times

    @property
    def indices(self) -> np.ndarray:
        """Neuron index of each spike (read-only)."""
        return self._indices

    @property
    def i(self) -> np.ndarray:
        """Alias of :attr:`indices` (Brian2's name)."""
        return self._indices

    @property
    def t(self) -> np.ndarray:
        """Alias of :attr:`times` (Brian2's name)."""
        return self._times

    @property
    def n_neurons(self) -> int:
        """Size of the population."""
        return self._n

    @property
    def t_start(self) -> float:
        """Start of the observation window."""
        return self._t_start

    @property
    def t_stop(self) -> float:
        """End of the observation window."""
        return self._t_stop

    @property
    def count(self) -> int:
        """Total number of spikes."""
        return int(self._times.size)

    def __len__(self) -> int:
        return self.count

    def counts(self) -> np.ndarray:
        """Number of spikes of each neuron, shape ``(n_neurons,)``."""
        return np.bincount(self._indices, minlength=self._n)

    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        if self._offsets is None:
            order = np.argsort(self._indices, kind="stable")
            self._order = order
            self._offsets = np.concatenate([[0], np.cumsum(self.counts())])
        assert self._order is not None
        return self._order, self._offsets

    def neuron(self, j: int) -> np.ndarray:
        """Spike times of neuron ``j`` (sorted)."""
        j = as_int("j", j)
        if not 0 <= j < self._n:
            raise ValidationError("j", j, f"in [0, {self._n})")
        order, off = self._index()
        return self._times[order[off[j]:off[j + 1]]]

    def trains(self) -> list[np.ndarray]:
        """Spike times of every neuron, as a list of arrays."""
        return [self.neuron(j) for j in range(self._n)]

    def restrict(self, t_start: float | None = None, t_stop: float | None = None) -> "SpikeTrains":
        """The spikes inside ``[t_start, t_stop]`` (defaults: this window)."""
        a = self._t_start if t_start is None else as_scalar("t_start", t_start)
        b = self._t_stop if t_stop is None else as_scalar("t_stop", t_stop)
        keep = (self._times >= a) & (self._times <= b)
        return SpikeTrains(self._times[keep], self._indices[keep], self._n, a, b, sort=False)

    def first(self, k: int) -> "SpikeTrains":
        """Keep only the first ``k`` spikes of every neuron."""
        k = as_int("k", k, minimum=0)
        order = np.lexsort((self._times, self._indices))
        idx = self._indices[order]
        rank = np.arange(idx.size) - np.searchsorted(idx, idx, side="left")
        keep = np.zeros(idx.size, dtype=bool)
        keep[order[rank < k]] = True
        return SpikeTrains(self._times[keep], self._indices[keep], self._n, self._t_start, self._t_stop,
                           sort=False)

    # ------------------------------------------------------------ comparison
    def allclose(self, other: "SpikeTrains", rtol: float = 1e-12, atol: float = 1e-12) -> bool:
        """True when both have the same neurons, spike counts per neuron and close times."""
        if not isinstance(other, SpikeTrains) or other._n != self._n:
            return False
        if not np.array_equal(self.counts(), other.counts()):
            return False
        for j in range(self._n):
            if not np.allclose(self.neuron(j), other.neuron(j), rtol=rtol, atol=atol):
                return False
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpikeTrains):
            return NotImplemented
        return (self._n == other._n and self._t_start == other._t_start and self._t_stop == other._t_stop
                and np.array_equal(self._times, other._times)
                and np.array_equal(self._indices, other._indices))

    def __repr__(self) -> str:
        return (f"SpikeTrains(n_neurons={self._n}, count={self.count}, "
                f"window=[{self._t_start!r}, {self._t_stop!r}])")

    def __reduce__(self):
        return (_rebuild, (np.array(self._times), np.array(self._indices), self._n,
                           self._t_start, self._t_stop))

    # ------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """The arrays of the ``.npz`` schema (version, times, indices, n_neurons, t_start, t_stop)."""
        return {"format_version": np.int64(NPZ_FORMAT_VERSION), "times": np.array(self._times),
                "indices": np.array(self._indices), "n_neurons": np.int64(self._n),
                "t_start": np.float64(self._t_start), "t_stop": np.float64(self._t_stop)}

    def save(self, path: str | os.PathLike) -> None:
        """Write to a ``.npz`` file (see :meth:`to_dict` for the schema)."""
        np.savez(path, **self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SpikeTrains":
        """Read a file written by :meth:`save` (a ``ValidationError`` for anything else: a
        missing, empty or truncated file, a single ``.npy`` array, missing keys, a newer version)."""
        return load_spikes(read_npz(path), "")


_SPIKE_KEYS = tuple(SpikeTrains([], [], 1).to_dict())


def load_spikes(data: dict[str, np.ndarray], prefix: str) -> SpikeTrains:
    """The spikes stored in an archive's arrays under ``prefix`` (the :meth:`SpikeTrains.to_dict`
    keys); every failure names the key (``prefix`` + key). Also reads the examples of a
    :mod:`tem_sim.io` examples file."""
    for k in _SPIKE_KEYS:
        get(data, prefix + k, "an array of a tem_sim spike file (the SpikeTrains.save layout)")
    ver = as_int(prefix + "format_version", data[prefix + "format_version"][()])
    if ver > NPZ_FORMAT_VERSION:
        raise ValidationError(prefix + "format_version", ver,
                              f"<= {NPZ_FORMAT_VERSION} (spikes written by a newer tem_sim)")
    n = as_int(prefix + "n_neurons", data[prefix + "n_neurons"][()], minimum=0)
    t0 = scalar(data, prefix + "t_start", "the start of the spike window")
    t1 = scalar(data, prefix + "t_stop", "the end of the spike window")
    try:
        return SpikeTrains(data[prefix + "times"], data[prefix + "indices"], n, t0, t1)
    except ValidationError as exc:
        raise renamed(exc, "", prefix) from None


def _rebuild(times, indices, n, t_start, t_stop):
    return SpikeTrains(times, indices, n, t_start, t_stop, sort=False)
