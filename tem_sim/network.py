"""Networks: populations of TEM neurons, analog inputs, and spiking projections.

A :class:`Network` holds named populations (:class:`~tem_sim.neurons.Neurons`),
analog input connections (a named bank of Fourier-series signals mixed by a
dense weight matrix) and projections between populations: a sparse weight
matrix, a delay (one per projection, or one per connection) and a synaptic
kernel from :mod:`tem_sim.kernels`. Causal kernels (delta, exponential) are
simulated event by event in the compiled engine -- feed-forward stacks and
recurrent graphs alike. The periodic lowpass kernel is not causal, so the
network is cut at those projections into stages that run in topological
order: a stage's lowpass inputs become Fourier drives computed from the
finished spike trains of earlier stages (the paper's two-layer setting).

Spike sources are populations whose spikes are given: :meth:`Network.add_spike_source`
(spike trains, like Brian2's ``SpikeGeneratorGroup`` or NEST's
``spike_generator``) and :meth:`Network.add_poisson` (independent Poisson
trains of given rates, drawn inside the engine at exact times from a seed);
they connect to populations like any population.

Event order (documented and deterministic): events are processed by time; at
equal times, spike arrivals come before threshold crossings, crossings by
neuron (in the order the populations were added). All the delta arrivals that
reach a neuron at one instant are summed first (exactly rounded whenever the
exact sum spans at most 106 bits) and the threshold is tested once on the
sum, as NEST and Brian2 do, so the spikes do not depend on the order of
``connect`` calls nor on how the neurons are labelled. A sum that carries
``v`` to or past ``+delta`` fires at that instant; the subtractive reset fires
again at it for every further ``2 delta`` above threshold (the repeated-firing
rule), a reset value fires once. A spike fired at an instant reaches its
targets through a zero delay at that same instant, after the arrivals that
fired it (a second round of sums).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from ._validation import as_float_array, as_int, as_scalar
from .engine import (ANALOG_TYPES, DEFAULT_MAX_SPIKES, AnalogBank, check_max_spikes,
                     check_t_end, concat_lowered, lower_neurons, window_bank,
                     simulate_lowered)
from .exceptions import ValidationError
from .kernels import Exponential, Kernel, PeriodicLowpass, as_kernel
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains

__all__ = ["Network", "Projection", "RunResult", "SpikeSource", "PoissonSource"]


@dataclass
class SpikeSource:
    """A population of ``n`` neurons whose spikes are given (:meth:`Network.add_spike_source`)."""

    spikes: SpikeTrains

    @property
    def n(self) -> int:
        return self.spikes.n_neurons


@dataclass
class PoissonSource:
    """``n`` independent Poisson spike trains of the given rates (:meth:`Network.add_poisson`)."""

    rates: np.ndarray
    seed: int
    record: bool

    @property
    def n(self) -> int:
        return int(self.rates.size)


@dataclass
class Projection:
    """A projection from population ``pre`` to population ``post``.

    ``weights`` is CSR of shape ``(n_post, n_pre)``; ``delays`` holds one delay
    per stored weight (same sparsity), all equal for a single-delay projection.
    """

    pre: str
    post: str
    weights: sp.csr_matrix
    delays: np.ndarray
    kernel: Kernel


@dataclass
class InputConnection:
    """An analog input bank named ``name`` driving population ``post`` through ``weights``."""

    name: str
    post: str
    weights: np.ndarray


class RunResult(dict):
    """Spike trains of every population (a ``dict``), plus traces and statistics.

    Attributes
    ----------
    traces : dict of str to ndarray
        Membrane values ``v`` of each population at the requested times,
        shape ``(n_times, n_neurons)`` (left limits at event times).
    record_times : ndarray
        The times of the traces.
    stats : dict
        Work counters of the engine (spikes, synaptic events, evaluations).
    """

    def __init__(self, spikes: Mapping[str, SpikeTrains]) -> None:
        super().__init__(spikes)
        self.traces: dict[str, np.ndarray] = {}
        self.record_times: np.ndarray = np.zeros(0)
        self.stats: dict[str, int] = {}


class Network:
    """A network of TEM populations connected by spiking projections.

    Examples
    --------
    A chain of two neurons: a constant drive makes ``a`` fire every 1.0; each
    of its spikes makes ``b`` jump by 1.2, which fires it at the arrival.

    >>> import tem_sim as ts
    >>> net = ts.Network()
    >>> net.add_population("a", ts.Neurons(1, bias=2.0))
    >>> net.add_population("b", ts.Neurons(1, bias=0.0, v0=0.0))
    >>> net.connect("a", "b", [[1.2]], kernel=ts.Delta(), delay=0.5)
    >>> out = net.run(3.0)
    >>> out["a"].times.tolist(), out["b"].times.tolist()
    ([1.0, 2.0, 3.0], [1.5])
    """

    def __init__(self) -> None:
        self._pops: dict[str, Neurons] = {}
        self._sources: dict[str, SpikeSource | PoissonSource] = {}
        self._order: list[str] = []          # populations and sources, in the order they were added
        self._inputs: list[InputConnection] = []
        self._projections: list[Projection] = []

    # ------------------------------------------------------------ building
    def _new_name(self, name: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError("name", name, "a non-empty string")
        if name in self._pops or name in self._sources:
            raise ValidationError("name", name, "a name not used by another population or source")

    def add_population(self, name: str, neurons: Neurons) -> None:
        """Add a population of neurons under a unique name."""
        self._new_name(name)
        if not isinstance(neurons, Neurons):
            raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
        self._pops[name] = neurons
        self._order.append(name)

    def add_spike_source(self, name: str, spikes: Any, n: int | None = None) -> None:
        """Add a population whose spikes are given (Brian2's ``SpikeGeneratorGroup``).

        Parameters
        ----------
        name : str
            A name not used by another population or source.
        spikes : SpikeTrains or (indices, times)
            The spikes. A pair of arrays must be sorted by time (ties in any order); times
            must be finite and ``>= 0``. Spikes after the end of a run are not sent.
        n : int, optional
            Number of neurons of a pair of arrays (default: the largest index + 1).

        Examples
        --------
        >>> import tem_sim as ts
        >>> net = ts.Network()
        >>> net.add_spike_source("s", ([0, 0], [0.25, 0.5]))
        >>> net.add_population("b", ts.Neurons(1, bias=0.0, v0=0.0))
        >>> net.connect("s", "b", [[0.6]], delay=0.125)       # two arrivals: 0.6, then 1.2 >= delta
        >>> net.run(1.0)["b"].times.tolist()
        [0.625]
        """
        self._new_name(name)
        if isinstance(spikes, SpikeTrains):
            st = spikes
            if st.times.size and st.times[0] < 0:
                raise ValidationError("spikes", float(st.times[0]), "spike times >= 0")
            if n is not None and as_int("n", n, minimum=1) != st.n_neurons:
                raise ValidationError("n", n, f"the spike trains' n_neurons ({st.n_neurons}) or None")
        else:
            if not isinstance(spikes, (tuple, list)) or len(spikes) != 2:
                raise ValidationError("spikes", type(spikes).__name__, "a SpikeTrains or a pair (indices, times)")
            t = as_float_array("spikes times", spikes[1]).ravel()
            raw = np.asarray(spikes[0]).ravel()
            if raw.size and (raw.dtype.kind not in "iu" and not np.all(np.equal(np.mod(raw, 1), 0))):
                raise ValidationError("spikes indices", raw, "integers")
            idx = raw.astype(np.intp)
            if idx.size != t.size:
                raise ValidationError("spikes", f"{idx.size} indices and {t.size} times", "as many indices as times")
            if t.size and (np.any(np.diff(t) < 0)):
                k = int(np.flatnonzero(np.diff(t) < 0)[0])
                raise ValidationError("spikes times", f"{t[k]!r} before {t[k + 1]!r} at position {k}",
                                      "sorted by time")
            if t.size and t[0] < 0:
                raise ValidationError("spikes times", float(t[0]), ">= 0")
            nn = int(idx.max()) + 1 if n is None and idx.size else (1 if n is None else as_int("n", n, minimum=1))
            if idx.size and (idx.min() < 0 or idx.max() >= nn):
                raise ValidationError("spikes indices", int(idx.min() if idx.min() < 0 else idx.max()),
                                      f"in [0, n) = [0, {nn})")
            st = SpikeTrains(t, idx, nn, 0.0, float(t[-1]) if t.size else 0.0)
        self._sources[name] = SpikeSource(st)
        self._order.append(name)

    def add_poisson(self, name: str, n: int, rate: Any, *, seed: int, record: bool = True) -> None:
        """Add ``n`` independent Poisson spike trains (NEST's ``poisson_generator``, one train per
        target neuron when connected one to one).

        The events are drawn inside the engine at exact times (no clock): each train has its own
        xoshiro256** stream (its state from ``numpy.random.SeedSequence(seed)``) and draws
        exponential intervals of its rate (ziggurat method, exact law). A run with the same
        network and seed gives the same spikes, whichever loop the engine runs.

        Parameters
        ----------
        name : str
            A name not used by another population or source.
        n : int
            Number of trains.
        rate : float or array_like, shape (n,)
            Rate of each train (events per unit time), finite and ``>= 0``.
        seed : int
            Seed of the trains (``>= 0``).
        record : bool, default True
            Return the trains in the run's result (False saves their memory: a network's
            external drive often has more spikes than the network).
        """
        self._new_name(name)
        n = as_int("n", n, minimum=1)
        rates = as_float_array("rate", rate, finite=False)
        if rates.ndim == 0:
            rates = np.full(n, float(rates))
        elif rates.shape != (n,):
            raise ValidationError("rate", f"array of shape {rates.shape}", f"a scalar or of shape ({n},)")
        bad = ~(np.isfinite(rates) & (rates >= 0))
        if np.any(bad):
            raise ValidationError("rate", float(rates[bad][0]), "finite and >= 0")
        seed = as_int("seed", seed, minimum=0)
        self._sources[name] = PoissonSource(np.ascontiguousarray(rates, dtype=np.float64), seed, bool(record))
        self._order.append(name)

    @property
    def sources(self) -> dict[str, SpikeSource | PoissonSource]:
        """The spike sources, in the order they were added."""
        return dict(self._sources)

    def _size(self, name: str) -> int:
        return self._pops[name].n if name in self._pops else self._sources[name].n

    @property
    def populations(self) -> dict[str, Neurons]:
        """The populations, in the order they were added."""
        return dict(self._pops)

    @property
    def projections(self) -> list[Projection]:
        """The projections, in the order they were connected."""
        return list(self._projections)

    def _pop(self, name: str, role: str) -> Neurons:
        if name not in self._pops:
            if name in self._sources:
                raise ValidationError(role, name, "a population of neurons (a spike source receives "
                                      "no connections)")
            raise ValidationError(role, name, "the name of a population of this network (known: "
                                  + ", ".join(repr(p) for p in self._pops) + ")")
        return self._pops[name]

    def connect_input(self, name: str, post: str, weights: Any) -> None:
        """Drive population ``post`` with the analog bank given at run time as ``inputs[name]``.

        Parameters
        ----------
        name : str
            Name of the input bank.
        post : str
            Target population.
        weights : array_like, shape (n_post, n_in)
            Dense mixing weights.
        """
        if not isinstance(name, str) or not name:
            raise ValidationError("name", name, "a non-empty string")
        n_post = self._pop(post, "post").n
        W = as_float_array("weights", weights, ndim=2, shape=(n_post, None))
        self._inputs.append(InputConnection(name, post, W))

    def connect(self, pre: str, post: str, weights: Any, kernel: Any = "delta", delay: Any = 0.0) -> None:
        """Connect population ``pre`` to population ``post``.

        Parameters
        ----------
        pre, post : str
            Names of the presynaptic and postsynaptic populations (may be equal: recurrence).
        weights : array_like or scipy.sparse matrix, shape (n_post, n_pre)
            Synaptic weights; explicit zeros of a sparse matrix are dropped.
        kernel : Kernel or "delta"
            :class:`~tem_sim.kernels.Delta`, :class:`~tem_sim.kernels.Exponential` or
            :class:`~tem_sim.kernels.PeriodicLowpass`.
        delay : float or array_like or sparse matrix
            One delay ``>= 0`` for the projection, or one per connection
            (dense ``(n_post, n_pre)`` or sparse with the weights' sparsity).
        """
        n_pre = self._sources[pre].n if pre in self._sources else self._pop(pre, "pre").n
        n_post = self._pop(post, "post").n
        kernel = as_kernel(kernel)
        if isinstance(kernel, PeriodicLowpass) and isinstance(self._sources.get(pre), PoissonSource):
            raise ValidationError("kernel", kernel, "a causal kernel for a Poisson source (its spikes are "
                                  "drawn during the run; a periodic lowpass needs them before)")
        if sp.issparse(weights):
            Wc = sp.csr_matrix(weights, dtype=np.float64)
            if Wc.shape != (n_post, n_pre):
                raise ValidationError("weights", f"sparse matrix of shape {Wc.shape}",
                                      f"of shape (n_post, n_pre) = ({n_post}, {n_pre})")
            if not np.all(np.isfinite(Wc.data)):
                raise ValidationError("weights", Wc.data[~np.isfinite(Wc.data)][0], "finite (no NaN or inf)")
            Wd = None
        else:
            Wd = as_float_array("weights", weights, ndim=2, shape=(n_post, n_pre))
            Wc = sp.csr_matrix(Wd)
        Wc.sum_duplicates()
        Wc.sort_indices()
        # delays, one per stored connection (in the CSR order of Wc, explicit zeros included)
        rows = np.repeat(np.arange(n_post), np.diff(Wc.indptr))
        cols = Wc.indices
        if sp.issparse(delay):
            Dc = sp.csr_matrix(delay, dtype=np.float64)
            if Dc.shape != (n_post, n_pre):
                raise ValidationError("delay", f"sparse matrix of shape {Dc.shape}", f"of shape ({n_post}, {n_pre})")
            d = np.asarray(Dc[rows, cols], dtype=np.float64).ravel() if rows.size else np.zeros(0)
        elif np.ndim(delay) == 0:
            d = np.full(Wc.nnz, as_scalar("delay", delay, nonnegative=True))
        else:
            Dd = as_float_array("delay", delay, ndim=2, shape=(n_post, n_pre))
            d = Dd[rows, cols]
        if d.size and (not np.all(np.isfinite(d)) or d.min() < 0):
            bad = d[~(np.isfinite(d) & (d >= 0))][0]
            raise ValidationError("delay", float(bad), ">= 0 and finite")
        if isinstance(kernel, PeriodicLowpass) and pre == post:
            raise ValidationError("kernel", kernel, "a causal kernel for a recurrent projection "
                                  "(a periodic lowpass needs its presynaptic population to finish first)")
        self._projections.append(Projection(pre, post, Wc, np.ascontiguousarray(d, dtype=np.float64), kernel))

    # ------------------------------------------------------------ stages
    def _stages(self) -> list[list[str]]:
        """Groups of populations simulated together, in an order that respects lowpass projections."""
        names = list(self._order)
        parent = {n: n for n in names}

        def find(a: str) -> str:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for p in self._projections:
            if p.kernel.causal:
                ra, rb = find(p.pre), find(p.post)
                if ra != rb:
                    parent[rb] = ra
        groups: dict[str, list[str]] = {}
        for n in names:
            groups.setdefault(find(n), []).append(n)
        deps: dict[str, set[str]] = {g: set() for g in groups}
        for p in self._projections:
            if not p.kernel.causal:
                a, b = find(p.pre), find(p.post)
                if a == b:
                    raise ValidationError("kernel", p.kernel, f"no periodic lowpass projection inside a group of "
                                          f"populations linked by causal projections ({p.pre!r} -> {p.post!r})")
                deps[b].add(a)
        order: list[str] = []
        done: set[str] = set()
        visiting: set[str] = set()

        def visit(g: str) -> None:
            if g in done:
                return
            if g in visiting:
                raise ValidationError("projections", g, "no cycle through periodic lowpass projections")
            visiting.add(g)
            for d in sorted(deps[g], key=names.index):
                visit(d)
            visiting.discard(g)
            done.add(g)
            order.append(g)

        for g in sorted(groups, key=names.index):
            visit(g)
        return [groups[g] for g in order]

    # ------------------------------------------------------------ running
    def run(self, t_end: float, inputs: Mapping[str, AnalogBank] | None = None, *,
            max_spikes: int = DEFAULT_MAX_SPIKES, record_times: Any = None) -> RunResult:
        """Simulate the network on ``[0, t_end]``.

        Parameters
        ----------
        t_end : float
            End of the window.
        inputs : mapping of str to an analog bank, optional
            The analog banks named by :meth:`connect_input`: FourierSignals,
            SincSignals or PiecewisePolynomials
            (covering ``[0, t_end]``).
        max_spikes : int, optional
            Guard on the total number of spikes of one stage.
        record_times : array_like of float, optional
            Sorted times at which to record every neuron's integrator value.

        Returns
        -------
        RunResult
            A ``dict`` mapping population names to :class:`SpikeTrains`, with
            ``.traces`` and ``.stats``.
        """
        t_end = check_t_end(t_end)
        max_spikes = check_max_spikes(max_spikes)
        inputs = dict(inputs or {})
        needed = {c.name for c in self._inputs}
        unknown = sorted(set(inputs) - needed)
        if unknown:
            raise ValidationError("inputs", unknown, "names declared with connect_input (declared: "
                                  + ", ".join(sorted(needed)) + ")")
        for name in sorted(needed):
            if name not in inputs:
                raise ValidationError("inputs", name, "given: every input declared with connect_input")
            if not isinstance(inputs[name], ANALOG_TYPES):
                raise ValidationError(f"inputs[{name!r}]", type(inputs[name]).__name__,
                                      "a FourierSignals, SincSignals or PiecewisePolynomials bank")
            # checked to cover [0, t_end], and a recording restricted to it once for all its uses
            inputs[name] = window_bank(inputs[name], t_end)
        for c in self._inputs:
            if c.weights.shape[1] != inputs[c.name].n_signals:
                raise ValidationError(f"inputs[{c.name!r}]", f"{inputs[c.name].n_signals} signals",
                                      f"{c.weights.shape[1]} signals (the columns of its weights)")
        if record_times is None:
            rec = np.zeros(0)
        else:
            rec = as_float_array("record_times", record_times).ravel()
            if rec.size and (np.any(np.diff(rec) < 0) or rec[0] < 0):
                raise ValidationError("record_times", rec, "sorted, non-negative times")
        if not self._pops and not self._sources:
            raise ValidationError("network", "empty", "at least one population or source")
        result = RunResult({})
        result.record_times = rec
        for name, src in self._sources.items():
            if isinstance(src, SpikeSource):
                # the given spikes of the run's window (available to every stage, lowpass ones too)
                st = src.spikes
                keep = st.times <= t_end
                result[name] = SpikeTrains(st.times[keep], st.indices[keep], st.n_neurons, 0.0, t_end, sort=False)
        stats_total: dict[str, int] = {}
        for stage in self._stages():
            spikes, traces, stats = self._run_stage(stage, t_end, inputs, result, max_spikes, rec)
            result.update(spikes)
            result.traces.update(traces)
            for k, v in stats.items():
                stats_total[k] = stats_total.get(k, 0) + int(v)
        result.stats = stats_total
        return _ordered(result, [n for n in self._order if n in result])

    def _drive(self, name: str, inputs: Mapping[str, AnalogBank], done: Mapping[str, SpikeTrains]
               ) -> list[AnalogBank]:
        """Analog drive banks of population ``name``: its analog inputs (already windowed by
        ``run``) mixed by their weights, and lowpass-filtered spikes as Fourier banks (the engine
        adds them up)."""
        n = self._pops[name].n
        banks: list[AnalogBank] = []
        for c in self._inputs:
            if c.post == name:
                banks.append(inputs[c.name].mix(c.weights))
        for p in self._projections:
            if p.post == name and isinstance(p.kernel, PeriodicLowpass):
                k = p.kernel
                src = done[p.pre]
                if k.first is not None:
                    src = src.first(k.first)
                else:
                    src = src.restrict(0.0, np.nextafter(k.period, 0.0)) if src.t_stop >= k.period else src
                C = np.zeros((src.n_neurons, 2 * k.n_harmonics + 1), dtype=np.complex128)
                for i in range(src.n_neurons):
                    C[i] = k.coefficients(src.neuron(i))
                coo = p.weights.tocoo()
                Y = np.zeros((n, 2 * k.n_harmonics + 1), dtype=np.complex128)
                m = np.arange(-k.n_harmonics, k.n_harmonics + 1)
                shift = np.exp(-2j * np.pi * np.outer(p.delays, m) / k.period)  # delay: phase shift
                np.add.at(Y, coo.row, coo.data[:, None] * shift * C[coo.col])
                banks.append(FourierSignals(Y, k.period))
        return banks

    def _run_stage(self, stage: list[str], t_end: float, inputs: Mapping[str, AnalogBank],
                   done: Mapping[str, SpikeTrains], max_spikes: int, rec: np.ndarray):
        offsets: dict[str, int] = {}
        total = 0
        for name in stage:
            offsets[name] = total
            total += self._size(name)
        lows = []
        for name in stage:
            if name in self._pops:
                lows.append(lower_neurons(self._pops[name], self._drive(name, inputs, done), t_end))
            else:
                # a source's neurons: no drive, never cross; the engine only sends their spikes
                lows.append(lower_neurons(Neurons(self._size(name)), None, t_end))
        low = concat_lowered(lows)
        proj = self._lower_projections(stage, offsets, total)
        sources = self._lower_sources(stage, offsets, done)
        rec_idx = (np.concatenate([np.arange(offsets[n], offsets[n] + self._size(n)) for n in stage
                                   if n in self._pops]).astype(np.intp) if rec.size else None)
        times, idx, traces, stats = simulate_lowered(low, t_end, max_spikes, projections=proj,
                                                     record_times=rec if rec.size else None,
                                                     record_neurons=rec_idx, sources=sources)
        spikes = {}
        tr = {}
        col = 0
        for name in stage:
            a = offsets[name]
            b = a + self._size(name)
            src = self._sources.get(name)
            if isinstance(src, SpikeSource) or (isinstance(src, PoissonSource) and not src.record):
                continue
            keep = (idx >= a) & (idx < b)
            spikes[name] = SpikeTrains(times[keep], idx[keep] - a, b - a, 0.0, t_end, sort=False)
            if rec.size and src is None:
                tr[name] = np.ascontiguousarray(traces[:, col:col + b - a])
                col += b - a
        return spikes, tr, stats

    def _lower_sources(self, stage: list[str], offsets: dict[str, int],
                       done: Mapping[str, SpikeTrains]) -> dict[str, np.ndarray]:
        """The core's arrays of the stage's spike sources: the given spikes in time order (flat
        indices) and, per Poisson neuron of positive rate, its flat index, rate, whether it is
        recorded and the state of its generator."""
        g_t, g_i = [], []
        pz: dict[str, list] = {k: [] for k in ("idx", "rate", "record", "seed")}
        for name in stage:
            src = self._sources.get(name)
            if isinstance(src, SpikeSource):
                st = done[name]
                g_t.append(st.times)
                g_i.append(st.indices + offsets[name])
            elif isinstance(src, PoissonSource):
                # one xoshiro256** stream per neuron, all seeded through one SeedSequence
                state = np.random.SeedSequence(src.seed).generate_state(4 * src.n, np.uint64).reshape(src.n, 4)
                state[~state.any(axis=1), 0] = 1          # xoshiro's one forbidden state
                live = np.flatnonzero(src.rates > 0)      # a zero rate: no events
                pz["idx"].append(live + offsets[name])
                pz["rate"].append(src.rates[live])
                pz["record"].append(np.full(live.size, src.record, dtype=np.uint8))
                pz["seed"].append(state[live])
        out: dict[str, np.ndarray] = {}
        if g_t:
            t = np.concatenate(g_t)
            i = np.concatenate(g_i).astype(np.intp)
            order = np.lexsort((i, t))
            out["g_t"] = np.ascontiguousarray(t[order], dtype=np.float64)
            out["g_i"] = np.ascontiguousarray(i[order])
        if pz["idx"] and sum(a.size for a in pz["idx"]):
            out["pz_idx"] = np.ascontiguousarray(np.concatenate(pz["idx"]), dtype=np.intp)
            out["pz_rate"] = np.ascontiguousarray(np.concatenate(pz["rate"]), dtype=np.float64)
            out["pz_record"] = np.ascontiguousarray(np.concatenate(pz["record"]), dtype=np.uint8)
            out["pz_seed"] = np.ascontiguousarray(np.vstack(pz["seed"]), dtype=np.uint64)
        return out

    def _lower_projections(self, stage: list[str], offsets: dict[str, int], total: int) -> dict[str, np.ndarray]:
        """Flat arrays of the core's projections: one per (projection, distinct delay), as CSR over a
        range of presynaptic neurons, built without a Python loop over delays or connections."""
        members = set(stage)
        exp_taus: list[float] = []
        blocks = []   # per projection: its groups (one per delay) and its connections, grouped and sorted
        for p in self._projections:
            if not p.kernel.causal or p.pre not in members:
                continue
            if isinstance(p.kernel, Exponential):
                if p.kernel.tau_s not in exp_taus:
                    exp_taus.append(p.kernel.tau_s)
                kind, chan = 1, exp_taus.index(p.kernel.tau_s)
            else:
                kind, chan = 0, 0
            if p.delays.size == 0 or np.all(p.delays == p.delays[0]):
                # one delay: the transpose by a counting sort (the weights are canonical CSR)
                m = p.weights.tocsc()
                m.sort_indices()
                n_pre = p.weights.shape[1]
                blocks.append(dict(delay=np.array([p.delays[0] if p.delays.size else 0.0]),
                                   lo=np.zeros(1, dtype=np.intp), nrows=np.array([n_pre], dtype=np.intp),
                                   grp=np.zeros(m.nnz, dtype=np.intp),
                                   row=np.repeat(np.arange(n_pre), np.diff(m.indptr)),
                                   tgt=m.indices.astype(np.intp), w=m.data,
                                   kind=kind, chan=chan, pre=offsets[p.pre], post=offsets[p.post]))
                continue
            # several delays: sort the connections by (delay, source, target) once; a delay's CSR spans
            # only its own range of sources (continuous per-connection delays make many small groups)
            coo = p.weights.tocoo()
            order = np.lexsort((coo.row, coo.col, p.delays))
            ds = p.delays[order]
            src = coo.col[order].astype(np.intp)
            first = np.r_[True, ds[1:] != ds[:-1]]
            grp = np.cumsum(first) - 1
            starts = np.flatnonzero(first)
            ends = np.r_[starts[1:], ds.size]
            lo = src[starts]
            blocks.append(dict(delay=ds[starts], lo=lo, nrows=src[ends - 1] - lo + 1, grp=grp,
                               row=src - lo[grp], tgt=coo.row[order].astype(np.intp), w=coo.data[order],
                               kind=kind, chan=chan, pre=offsets[p.pre], post=offsets[p.post]))
        if not blocks:
            return {"exp_tau": np.asarray(exp_taus, dtype=np.float64)}
        G = np.array([b["delay"].size for b in blocks])
        gbase = np.r_[0, np.cumsum(G)[:-1]]
        delay = np.concatenate([b["delay"] for b in blocks]).astype(np.float64)
        kind = np.concatenate([np.full(g, b["kind"], dtype=np.intc) for g, b in zip(G, blocks)])
        chan = np.concatenate([np.full(g, b["chan"], dtype=np.intp) for g, b in zip(G, blocks)])
        pre_start = np.concatenate([b["pre"] + b["lo"] for b in blocks]).astype(np.intp)
        nrows = np.concatenate([b["nrows"] for b in blocks]).astype(np.intp)
        # every group has nrows + 1 row-pointer slots, laid out one group after another
        row_off = np.r_[0, np.cumsum(nrows + 1)[:-1]].astype(np.intp)
        gid = np.concatenate([b["grp"] + gb for b, gb in zip(blocks, gbase)])
        slot = row_off[gid] + np.concatenate([b["row"] for b in blocks])
        counts = np.bincount(slot, minlength=int(row_off[-1] + nrows[-1] + 1))
        indptr = (np.cumsum(counts) - counts).astype(np.intp)
        targets = np.concatenate([b["tgt"] + b["post"] for b in blocks]).astype(np.intp)
        weights = np.concatenate([b["w"] for b in blocks]).astype(np.float64)
        # outgoing projections of each presynaptic neuron, in connection order
        # (from the occupied row slots: one per (source, group) pair, far fewer than the connections)
        occ = np.flatnonzero(counts)
        ogid = np.searchsorted(row_off, occ, side="right") - 1
        osrc = pre_start[ogid] + (occ - row_off[ogid])
        by = np.lexsort((ogid, osrc))
        usrc, ugid = osrc[by], ogid[by]
        out_ptr = np.concatenate([[0], np.cumsum(np.bincount(usrc, minlength=total))]).astype(np.intp)
        return {
            "exp_tau": np.asarray(exp_taus, dtype=np.float64),
            "delay": delay, "kind": kind, "chan": chan, "pre_start": pre_start,
            "indptr_off": row_off, "indptr": indptr, "targets": targets, "weights": weights,
            "out_ptr": out_ptr, "out_proj": np.ascontiguousarray(ugid, dtype=np.intp),
        }


def _ordered(result: RunResult, names: list[str]) -> RunResult:
    out = RunResult({n: result[n] for n in names})
    out.traces = {n: result.traces[n] for n in names if n in result.traces}
    out.record_times = result.record_times
    out.stats = result.stats
    return out
