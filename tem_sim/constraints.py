"""Spike-time constraints: the linear equations and inequalities output spikes impose on weights.

Between two consecutive spikes of an integrate-and-fire neuron the integrator
climbs from ``-delta`` to ``+delta``, so the drive's (leak-weighted) integral
over the interval is known: one linear equation in the neuron's weights per
interval (E1), plus one for the first spike from ``v0`` (E0); between spikes
and after the last one the integrator stayed below threshold, which gives
linear inequalities (I1) at as many points as requested (sections 1 and 4 of
the mathematics reference). The entries of a row are the integrals of each
input over the interval: dense for analog inputs
(:class:`~tem_sim.signals.FourierSignals`, :class:`~tem_sim.stimuli.SincSignals`,
:class:`~tem_sim.stimuli.PiecewisePolynomials`), sparse (``scipy.sparse.csr_matrix``) for spike inputs
(:class:`SpikeInput`) through a :mod:`tem_sim.kernels` kernel, where only the
presynaptic neurons active before the end of the interval contribute. Everything
is vectorised over intervals; Python loops run over neurons only.

Delta synapses make the integrator jump, so a spike can be triggered by an
arrival (the output spike time equals an arrival time). Such a spike does not
end at exactly ``+delta`` and the next interval does not start at ``-delta``;
rows are then written between the surrounding threshold-crossing spikes, with
the resets of the jump-triggered spikes in between counted on the right-hand
side (``2 delta`` each, decayed by the leak).

Neurons with a reset value or a refractory period (:class:`~tem_sim.neurons.Neurons`
``reset``, ``t_ref``) integrate from the end of each spike's refractory period,
``t_k + t_ref``, where ``v`` is known: ``v_reset`` after any spike (a reset value
forgets the overshoot of a jump), ``-delta`` after a threshold crossing with the
subtractive reset. A row runs from there to the next threshold crossing; an
interval that ends at a jump-triggered spike gives no equation (the jump's size
is unknown), nor does one that starts after a subtractive jump with a refractory
period (the overshoot kept is unknown). Every row stays linear in the weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._validation import as_float_array, as_int, as_scalar, check_intervals
from .exceptions import ValidationError
from .kernels import Delta, Exponential, Kernel, PeriodicLowpass, as_kernel
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains
from .stimuli import PiecewisePolynomials, SincSignals

__all__ = ["SpikeInput", "CombinedInputs", "NeuronRows", "interval_rows", "neuron_rows", "layer_rows",
           "check_examples", "EQ_E0", "EQ_E1"]

#: Row kinds of :attr:`NeuronRows.kind`.
EQ_E0 = 0
EQ_E1 = 1


class SpikeInput:
    """Spike inputs of a layer: presynaptic spikes seen through a synaptic kernel.

    Parameters
    ----------
    spikes : SpikeTrains
        Presynaptic spikes; ``spikes.n_neurons`` is the number of inputs.
    kernel : Kernel or "delta"
        :class:`~tem_sim.kernels.Delta`, :class:`~tem_sim.kernels.Exponential` or
        :class:`~tem_sim.kernels.PeriodicLowpass`.
    delay : float or array_like, default 0
        Transmission delay ``>= 0``, scalar or one per presynaptic neuron.

    Examples
    --------
    >>> from tem_sim.spikes import SpikeTrains
    >>> from tem_sim.kernels import Delta
    >>> si = SpikeInput(SpikeTrains([0.5, 1.0], [0, 1], n_neurons=2, t_stop=2.0), Delta())
    >>> si.n_inputs, si.arrivals(1).tolist()
    (2, [1.0])
    """

    __slots__ = ("spikes", "kernel", "delay")

    def __init__(self, spikes: SpikeTrains, kernel: Any, delay: Any = 0.0) -> None:
        if not isinstance(spikes, SpikeTrains):
            raise ValidationError("SpikeInput.spikes", type(spikes).__name__, "a SpikeTrains")
        self.spikes = spikes
        self.kernel = as_kernel(kernel)
        d = as_float_array("SpikeInput.delay", delay)
        if d.ndim == 0:
            d = np.full(spikes.n_neurons, float(d))
        elif d.shape != (spikes.n_neurons,):
            raise ValidationError("SpikeInput.delay", f"array of shape {d.shape}",
                                  f"a scalar or of shape ({spikes.n_neurons},)")
        if np.any(d < 0):
            raise ValidationError("SpikeInput.delay", float(d[d < 0][0]), ">= 0")
        self.delay = d

    @property
    def n_inputs(self) -> int:
        """Number of presynaptic neurons."""
        return self.spikes.n_neurons

    def arrivals(self, i: int) -> np.ndarray:
        """Sorted arrival times (spike time plus delay) of presynaptic neuron ``i``."""
        return self.spikes.neuron(i) + self.delay[i]

    def all_arrivals(self) -> np.ndarray:
        """Every arrival time of every presynaptic neuron, sorted."""
        return np.sort(self.spikes.times + self.delay[self.spikes.indices])

    def to_fourier(self) -> FourierSignals:
        """The inputs as a Fourier bank (only for a :class:`~tem_sim.kernels.PeriodicLowpass` kernel)."""
        k = self.kernel
        if not isinstance(k, PeriodicLowpass):
            raise ValidationError("SpikeInput.kernel", k, "a PeriodicLowpass kernel to convert to Fourier series")
        st = self.spikes if k.first is None else self.spikes.first(k.first)
        arr = st.times + self.delay[st.indices]
        m = np.arange(-k.n_harmonics, k.n_harmonics + 1)
        ph = np.exp(-2j * np.pi * np.outer(np.mod(arr, k.period), m) / k.period) / k.period
        c = np.zeros((self.n_inputs, m.size), dtype=np.complex128)
        np.add.at(c, st.indices, ph)
        return FourierSignals(c, k.period)

    def __repr__(self) -> str:
        return f"SpikeInput({self.spikes!r}, {self.kernel!r}, delay=...)"

    def __reduce__(self):
        return (SpikeInput, (self.spikes, self.kernel, np.array(self.delay)))


class CombinedInputs:
    """Several input banks side by side, their inputs numbered one after the other.

    A neuron driven by recurrent spikes, external analog inputs and a constant
    (a bias to learn) sees the three as one input vector: rows are the
    banks' rows side by side (sparse when a bank is a :class:`SpikeInput`).

    Parameters
    ----------
    parts : sequence
        Each a :class:`~tem_sim.signals.FourierSignals`, :class:`~tem_sim.stimuli.SincSignals`,
        :class:`~tem_sim.stimuli.PiecewisePolynomials` or :class:`SpikeInput` (not nested).

    Examples
    --------
    >>> from tem_sim.spikes import SpikeTrains
    >>> ci = CombinedInputs([SpikeInput(SpikeTrains([0.5], [0], 1, t_stop=2.0), "delta"),
    ...                      FourierSignals.from_one_sided([[1.0]], 1.0)])
    >>> ci.n_inputs, interval_rows(ci, [0.0], [1.0]).toarray().tolist()
    (2, [[1.0, 1.0]])
    """

    __slots__ = ("parts",)

    def __init__(self, parts: Any) -> None:
        parts = list(parts) if isinstance(parts, (list, tuple)) else None
        if not parts:
            raise ValidationError("CombinedInputs.parts", parts, "a non-empty list of input banks")
        for k, p in enumerate(parts):
            if not isinstance(p, (FourierSignals, SincSignals, PiecewisePolynomials, SpikeInput)):
                raise ValidationError(f"CombinedInputs.parts[{k}]", type(p).__name__,
                                      "a FourierSignals, SincSignals, PiecewisePolynomials or SpikeInput")
        self.parts = parts

    @property
    def n_inputs(self) -> int:
        """Total number of inputs."""
        return int(sum(_n_inputs(p) for p in self.parts))

    def delta_arrivals(self) -> np.ndarray | None:
        """Sorted arrival times of every delta-kernel spike part (None when there is none)."""
        arr = [p.all_arrivals() for p in self.parts if isinstance(p, SpikeInput) and isinstance(p.kernel, Delta)]
        return np.sort(np.concatenate(arr)) if arr else None

    def __repr__(self) -> str:
        return f"CombinedInputs({self.parts!r})"

    def __reduce__(self):
        return (CombinedInputs, (self.parts,))


def _n_inputs(inputs: Any) -> int:
    return inputs.n_signals if hasattr(inputs, "n_signals") else inputs.n_inputs


def _delta_arrivals(inputs: Any) -> np.ndarray | None:
    """Arrival times of delta-kernel spikes among the inputs (they can trigger spikes), or None."""
    if isinstance(inputs, SpikeInput) and isinstance(inputs.kernel, Delta):
        return inputs.all_arrivals()
    if isinstance(inputs, CombinedInputs):
        return inputs.delta_arrivals()
    return None


@dataclass
class NeuronRows:
    """The constraints of one output neuron, stacked over examples.

    ``A @ w == r`` (equalities) and ``G @ w <= h`` (inequalities, possibly empty).

    Attributes
    ----------
    A : ndarray or scipy.sparse.csr_matrix, shape (K, n_in)
        Equality rows (dense for analog inputs, CSR for spike inputs).
    r : ndarray, shape (K,)
        Right-hand sides.
    kind : ndarray of int, shape (K,)
        ``EQ_E0`` (first spike from ``v0``) or ``EQ_E1`` (between spikes).
    length : ndarray, shape (K,)
        Length of each row's interval.
    end : ndarray, shape (K,)
        End of each row's interval (the time of the spike that closes it).
    example : ndarray of int, shape (K,)
        Example each row comes from.
    G : ndarray or csr_matrix, shape (L, n_in)
        Inequality rows (no-spike constraints I1).
    h : ndarray, shape (L,)
        Inequality bounds.
    n_spikes : int
        Number of output spikes of the neuron over all examples.
    """

    A: Any
    r: np.ndarray
    kind: np.ndarray
    length: np.ndarray
    end: np.ndarray
    example: np.ndarray
    G: Any
    h: np.ndarray
    n_spikes: int

    @property
    def n_rows(self) -> int:
        """Number of equality rows."""
        return int(self.r.size)

    @property
    def n_inputs(self) -> int:
        """Number of unknowns (inputs)."""
        return int(self.A.shape[1])


# --------------------------------------------------------------------------- row entries

def _phi(x: np.ndarray) -> np.ndarray:
    """``(1 - exp(-x)) / x`` (``1`` at ``0``), accurate for small ``|x|``; real or complex."""
    x = np.asarray(x)
    out = np.ones_like(x)
    nz = x != 0
    out[nz] = -np.expm1(-x[nz]) / x[nz]
    return out


def _leaky_harmonic_integrals(sig: FourierSignals, a: np.ndarray, b: np.ndarray,
                              lam: np.ndarray) -> np.ndarray:
    """``int_a^b exp(-lam (b - s)) exp(i w_m s) ds = exp(i w_m b) h phi(h (lam + i w_m))``."""
    h = b - a
    z = lam[:, None] + 1j * sig.omegas[None, :]
    ph = np.exp(1j * np.outer(np.mod(b, sig.period), sig.omegas))
    return ph * h[:, None] * _phi(h[:, None] * z)


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten the index ranges ``[lo_k, hi_k)``: (owner k, index) pairs, vectorised."""
    n = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(lo.size), n)
    start = np.repeat(lo - (np.cumsum(n) - n), n)
    return owner, np.arange(int(n.sum())) + start


def _exp_pair(lam: np.ndarray, mu: float, L: np.ndarray) -> np.ndarray:
    """``F = int_0^L exp(-lam (L - t)) exp(-mu t) dt``, stable for every sign of ``lam - mu``."""
    d = lam - mu
    out = np.empty_like(L)
    pos = d >= 0
    out[pos] = np.exp(-mu * L[pos]) * L[pos] * _phi(d[pos] * L[pos])
    neg = ~pos
    out[neg] = np.exp(-lam[neg] * L[neg]) * L[neg] * _phi(-d[neg] * L[neg])
    return out


def _leaky_spike_integrals(kernel: Kernel, s: np.ndarray, a: np.ndarray, b: np.ndarray,
                           lam: np.ndarray) -> np.ndarray:
    """``int_(a,b] exp(-lam (b - t)) sum_k h(t - s_k) dt`` for sorted arrivals ``s``."""
    lo = np.searchsorted(s, a, side="right")
    hi = np.searchsorted(s, b, side="right")
    owner, idx = _expand(lo, hi)
    if isinstance(kernel, Delta):
        vals = np.exp(-lam[owner] * (b[owner] - s[idx]))
        return np.bincount(owner, weights=vals, minlength=a.size)
    if isinstance(kernel, Exponential):
        mu = 1.0 / kernel.tau_s
        inside = np.bincount(owner, weights=_exp_pair(lam[owner], mu, b[owner] - s[idx]), minlength=a.size)
        # current at a from the arrivals <= a: I(s_k) through a stable log-cumulative sum
        out = inside
        has = lo > 0
        if np.any(has) and s.size:
            logI = np.logaddexp.accumulate(mu * s) - mu * s   # log I just after arrival k
            k = lo[has] - 1
            Ia = np.exp(logI[k] - mu * (a[has] - s[k]))
            out = inside.copy()
            out[has] += Ia * _exp_pair(lam[has], mu, b[has] - a[has])
        return out
    raise ValidationError("kernel", kernel, "Delta or Exponential for leaky rows of spike inputs")


def _chained_runs(a: np.ndarray, b: np.ndarray, min_len: int = 8) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Runs ``[s, e)`` of at least ``min_len`` chained intervals (each starting where the previous
    one ends, ``a_k == b_k-1``: a neuron's consecutive spike intervals), and the rows outside them."""
    brk = np.flatnonzero(a[1:] != b[:-1]) + 1
    starts = np.concatenate([[0], brk])
    ends = np.concatenate([brk, [a.size]])
    long = ends - starts >= min_len
    rest = np.ones(a.size, dtype=bool)
    for s, e in zip(starts[long], ends[long]):
        rest[s:e] = False
    return list(zip(starts[long].tolist(), ends[long].tolist())), np.flatnonzero(rest)


def _dense_to_csr(D: np.ndarray) -> sp.csr_matrix:
    """``scipy.sparse.csr_matrix(D)`` (the same arrays) in one scan of ``D`` instead of three."""
    m = D != 0
    indptr = np.zeros(D.shape[0] + 1, dtype=np.int64)
    np.cumsum(m.sum(axis=1), out=indptr[1:])
    flat = np.flatnonzero(m)
    return sp.csr_matrix((D[m], flat % max(D.shape[1], 1), indptr), shape=D.shape)


def _delta_rows(inputs: SpikeInput, a: np.ndarray, b: np.ndarray, lam: np.ndarray) -> sp.csr_matrix:
    """Rows of delta-kernel spike inputs, all presynaptic neurons at once: every arrival in
    ``(a_k, b_k]`` adds ``exp(-lam_k (b_k - s))`` to its neuron's entry of row ``k``."""
    st = inputs.spikes
    arr = st.times + inputs.delay[st.indices]
    order = np.argsort(arr, kind="stable")
    arr, lab = arr[order], st.indices[order]
    lo, hi = np.searchsorted(arr, a, side="right"), np.searchsorted(arr, b, side="right")
    n = inputs.n_inputs
    leaky = bool(np.any(lam))
    if int(np.sum(hi - lo)) > 0.1 * a.size * n:
        # dense enough (a recurrent population sees most of its inputs in every interval): one
        # bincount per block of rows, no sort of the sparse indices. In a run of chained intervals
        # the arrivals of consecutive rows are consecutive: one slice of the sorted arrivals
        dense = np.zeros((a.size, n))
        runs, rest = _chained_runs(a, b)
        for s, e in runs:
            owner = np.repeat(np.arange(e - s), hi[s:e] - lo[s:e])
            sl = slice(lo[s], hi[e - 1])
            vals = np.exp(-lam[s:e][owner] * (b[s:e][owner] - arr[sl])) if leaky else None
            dense[s:e] = np.bincount(owner * n + lab[sl], weights=vals, minlength=(e - s) * n).reshape(e - s, n)
        if rest.size:
            owner, idx = _expand(lo[rest], hi[rest])
            vals = np.exp(-lam[rest][owner] * (b[rest][owner] - arr[idx])) if leaky else None
            dense[rest] = np.bincount(owner * n + lab[idx], weights=vals,
                                      minlength=rest.size * n).reshape(rest.size, n)
        return _dense_to_csr(dense)
    owner, idx = _expand(lo, hi)
    vals = np.exp(-lam[owner] * (b[owner] - arr[idx])) if leaky else None
    out = sp.csr_matrix((np.ones(owner.size) if vals is None else vals, (owner, lab[idx])), shape=(a.size, n))
    out.sum_duplicates()
    return out


def interval_rows(inputs: Any, a: Any, b: Any, tau: Any = np.inf) -> Any:
    """Row entries ``int_(a,b] exp(-(b - s)/tau) x_i(s) ds`` for every interval and input.

    Parameters
    ----------
    inputs : FourierSignals, SincSignals, PiecewisePolynomials or SpikeInput
        The layer's inputs.
    a, b : array_like of float, shape (K,)
        Interval ends, ``a <= b``. Spike arrivals at exactly ``b`` belong to ``(a, b]``.
    tau : float or array_like, shape (K,), default inf
        Leak time constant of each row (``inf``: perfect integrator, no weighting).

    Returns
    -------
    ndarray, shape (K, n_in), for analog inputs; ``scipy.sparse.csr_matrix`` for spike inputs
    (only the presynaptic neurons that arrived before ``b`` have entries).

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.signals import FourierSignals
    >>> x = FourierSignals.from_one_sided([[1.0, 0.0]], period=2.0)
    >>> interval_rows(x, [0.0], [1.5]).tolist()
    [[1.5]]
    >>> round(float(interval_rows(x, [0.0], [1.0], tau=1.0)[0, 0]), 12)  # 1 - exp(-1)
    0.632120558829
    """
    if isinstance(inputs, CombinedInputs):
        parts = [interval_rows(p, a, b, tau) for p in inputs.parts]
        if any(sp.issparse(m) for m in parts):
            return sp.hstack([sp.csr_matrix(m) for m in parts], format="csr")
        return np.hstack(parts)
    a, b = check_intervals(a, b)
    t = as_float_array("tau", tau, finite=False)
    t = np.full(a.size, float(t)) if t.ndim == 0 else t.ravel()
    if t.shape != a.shape or np.any(np.isnan(t)) or np.any(t <= 0):
        raise ValidationError("tau", t, f"> 0 (inf for perfect), scalar or of shape {a.shape}")
    lam = np.where(np.isfinite(t), 1.0 / t, 0.0)
    leaky = lam > 0
    if isinstance(inputs, SpikeInput) and isinstance(inputs.kernel, PeriodicLowpass):
        inputs = inputs.to_fourier()
    if isinstance(inputs, FourierSignals):
        E = np.empty((a.size, 2 * inputs.n_harmonics + 1), dtype=np.complex128)
        if np.any(~leaky):
            E[~leaky] = inputs.harmonic_integrals(a[~leaky], b[~leaky])
        if np.any(leaky):
            E[leaky] = _leaky_harmonic_integrals(inputs, a[leaky], b[leaky], lam[leaky])
        return (E @ inputs.coefficients.T).real
    if isinstance(inputs, (SincSignals, PiecewisePolynomials)):
        if isinstance(inputs, PiecewisePolynomials):
            inputs.check_times("interval start", a)
            inputs.check_times("interval end", b)
        out = np.empty((a.size, inputs.n_signals))
        if np.any(~leaky):
            out[~leaky] = inputs.integrate(a[~leaky], b[~leaky]).T
        if np.any(leaky):
            out[leaky] = inputs.leaky_integrate(a[leaky], b[leaky], lam[leaky]).T
        return out
    if isinstance(inputs, SpikeInput) and isinstance(inputs.kernel, Delta):
        return _delta_rows(inputs, a, b, lam)
    if isinstance(inputs, SpikeInput):
        rows, cols, vals = [], [], []
        ip, il = np.flatnonzero(~leaky), np.flatnonzero(leaky)
        counts = inputs.spikes.counts()
        for i in np.flatnonzero(counts):          # loop over active presynaptic neurons only
            s = inputs.arrivals(int(i))
            v = np.zeros(a.size)
            if ip.size:
                v[ip] = inputs.kernel.integrate_train(s, a[ip], b[ip])
            if il.size:
                v[il] = _leaky_spike_integrals(inputs.kernel, s, a[il], b[il], lam[il])
            nz = np.flatnonzero(v)
            rows.append(nz)
            cols.append(np.full(nz.size, i))
            vals.append(v[nz])
        if rows:
            r_, c_, v_ = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        else:
            r_, c_, v_ = np.empty(0, int), np.empty(0, int), np.empty(0)
        return sp.csr_matrix((v_, (r_, c_)), shape=(a.size, inputs.n_inputs))
    raise ValidationError("inputs", type(inputs).__name__,
                          "a FourierSignals, SincSignals, PiecewisePolynomials or SpikeInput")


# --------------------------------------------------------------------------- example checks

def check_examples(examples: Any, n_neurons: int | None = None) -> list[tuple[Any, SpikeTrains]]:
    """Validate a sequence of ``(inputs, output_spikes)`` pairs; return it as a list.

    Every example must have the same number of inputs and of output neurons,
    output windows starting at 0.
    """
    if isinstance(examples, tuple) and len(examples) == 2 and isinstance(examples[1], SpikeTrains):
        raise ValidationError("examples", "a single (inputs, spikes) pair",
                              "a sequence of (inputs, output_spikes) pairs (wrap it in a list)")
    try:
        ex = list(examples)
    except TypeError:
        raise ValidationError("examples", type(examples).__name__,
                              "a sequence of (inputs, output_spikes) pairs") from None
    if not ex:
        raise ValidationError("examples", ex, "a non-empty sequence of (inputs, output_spikes) pairs")
    n_in = None
    out = []
    for e, pair in enumerate(ex):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValidationError(f"examples[{e}]", type(pair).__name__, "an (inputs, output_spikes) pair")
        inp, st = pair
        if isinstance(inp, (FourierSignals, SincSignals, PiecewisePolynomials)):
            k = inp.n_signals
        elif isinstance(inp, (SpikeInput, CombinedInputs)):
            k = inp.n_inputs
        else:
            raise ValidationError(f"examples[{e}].inputs", type(inp).__name__,
                                  "a FourierSignals, SincSignals, PiecewisePolynomials, SpikeInput or CombinedInputs")
        if not isinstance(st, SpikeTrains):
            raise ValidationError(f"examples[{e}].output_spikes", type(st).__name__, "a SpikeTrains")
        if n_in is None:
            n_in = k
        elif k != n_in:
            raise ValidationError(f"examples[{e}].inputs", f"{k} inputs", f"{n_in} inputs like examples[0]")
        if n_neurons is not None and st.n_neurons != n_neurons:
            raise ValidationError(f"examples[{e}].output_spikes.n_neurons", st.n_neurons,
                                  f"the number of neurons, {n_neurons}")
        if st.t_start != 0.0:
            raise ValidationError(f"examples[{e}].output_spikes.t_start", st.t_start,
                                  "0 (the integrator starts from v0 at t = 0)")
        out.append((inp, st))
    return out


# --------------------------------------------------------------------------- neuron rows

def _jump_mask(times: np.ndarray, arr: np.ndarray | None, tol: float) -> np.ndarray:
    """Spikes triggered by a delta arrival (sorted ``arr``) or repeated at the same instant."""
    jump = np.zeros(times.size, dtype=bool)
    if times.size == 0:
        return jump
    jump[1:] = np.diff(times) <= tol * np.maximum(1.0, np.abs(times[1:]))
    if arr is not None:
        if arr.size:
            k = np.clip(np.searchsorted(arr, times), 1, arr.size - 1) if arr.size > 1 else np.zeros(times.size, int)
            near = np.minimum(np.abs(arr[k] - times), np.abs(arr[np.maximum(k - 1, 0)] - times))
            jump |= near <= tol * np.maximum(1.0, np.abs(times))
    return jump


def _intervals(times: np.ndarray, jump: np.ndarray, t_end: float, kappa: float, delta: float,
               bias: float, v0: float, lam: float, inequalities: bool, n_points: int, margin: float):
    """Equality and inequality intervals of one neuron in one example (no weights involved)."""
    cont = np.flatnonzero(~jump)
    # equality rows: from the previous threshold crossing (or 0) to each threshold crossing
    a = np.concatenate([[0.0], times[cont[:-1]]]) if cont.size else np.empty(0)
    b = times[cont]
    va = np.where(np.arange(cont.size) == 0, v0, -delta)
    kind = np.where(np.arange(cont.size) == 0, EQ_E0, EQ_E1)
    hlen = b - a
    # resets of jump-triggered spikes between a and b: each subtracts 2 delta, decayed by the leak
    resets = np.zeros(cont.size)
    jp = np.flatnonzero(jump)
    if jp.size and cont.size:
        closing = np.searchsorted(cont, jp)           # index (in cont) of the next crossing
        ok = closing < cont.size
        np.add.at(resets, closing[ok], np.exp(-lam * (times[cont[closing[ok]]] - times[jp[ok]])))
    decay = np.exp(-lam * hlen)
    gain = hlen * _phi(np.asarray(lam * hlen, dtype=float))     # int_a^b exp(-lam (b - s)) ds
    r = kappa * (delta - va * decay + 2.0 * delta * resets) - bias * gain
    eq = (a, b, r, kind, hlen)
    if not inequalities:
        return eq, None
    # inequality intervals start at a threshold crossing (or 0) and end at the next spike (or t_end)
    starts = np.concatenate([[0.0], times[cont]])
    vstart = np.concatenate([[v0], np.full(cont.size, -delta)])
    nxt_idx = np.concatenate([[0], cont + 1])          # index of the next spike
    last = nxt_idx >= times.size
    ends = np.full(nxt_idx.size, float(t_end))
    ends[~last] = times[nxt_idx[~last]]
    return eq, _no_spike_points(starts, vstart, ends, last, kappa, delta, bias, lam, n_points, margin)


def _no_spike_points(starts: np.ndarray, vstart: np.ndarray, ends: np.ndarray, last: np.ndarray, kappa: float,
                     delta: float, bias: float, lam: float, n_points: int, margin: float):
    """I1 intervals ``(a, b, h)``: ``n_points`` points in each no-spike interval (``starts``, where
    ``v = vstart``, to ``ends``), interior ones, up to and including ``t_end`` for the ``last``."""
    q_in = np.arange(1, n_points + 1) / (n_points + 1)     # interior points
    q_end = np.arange(1, n_points + 1) / n_points          # up to and including t_end
    q = np.where(last[:, None], q_end[None, :], q_in[None, :])
    ia = np.repeat(starts, n_points)
    ib = (starts[:, None] + (ends - starts)[:, None] * q).ravel()
    iv = np.repeat(vstart, n_points)
    keep = ib > ia
    ia, ib, iv = ia[keep], ib[keep], iv[keep]
    ih = ib - ia
    hh = kappa * (delta + margin - iv * np.exp(-lam * ih)) - bias * ih * _phi(np.asarray(lam * ih, dtype=float))
    return ia, ib, hh


def _intervals_reset(times: np.ndarray, jump: np.ndarray, t_end: float, kappa: float, delta: float,
                     bias: float, v0: float, lam: float, v_reset: float, t_ref: float, inequalities: bool,
                     n_points: int, margin: float):
    """:func:`_intervals` for a neuron with a reset value (``v_reset`` not NaN) or a refractory period:
    integration restarts at ``t_k + t_ref`` from a known value after each spike."""
    n = times.size
    value = not np.isnan(v_reset)
    # where integration (re)starts with a known v: t = 0 (v0), and after each spike whose reset is known
    known = np.ones(n, dtype=bool) if value else ~jump
    s_t = np.concatenate([[0.0], times + t_ref])
    s_v = np.concatenate([[v0], np.full(n, v_reset if value else -delta)])
    s_ok = np.concatenate([[True], known])
    # equality rows: from the start after spike k - 1 (or 0) to each threshold crossing k
    cont = np.flatnonzero(~jump)
    ok = s_ok[cont]
    cont = cont[ok]
    a, va, b = s_t[cont], s_v[cont], times[cont]
    good = b >= a
    a, va, b, cont = a[good], va[good], b[good], cont[good]
    kind = np.where(cont == 0, EQ_E0, EQ_E1)
    hlen = b - a
    decay = np.exp(-lam * hlen)
    gain = hlen * _phi(np.asarray(lam * hlen, dtype=float))
    r = kappa * (delta - va * decay) - bias * gain
    eq = (a, b, r, kind, hlen)
    if not inequalities:
        return eq, None
    # no-spike intervals: from each known start to the next spike (or t_end)
    ends = np.concatenate([times, [float(t_end)]])
    last = np.arange(n + 1) == n
    sel = s_ok & (ends > s_t)
    return eq, _no_spike_points(s_t[sel], s_v[sel], ends[sel], last[sel], kappa, delta, bias, lam, n_points,
                                margin)


def layer_rows(examples: Any, neurons: Neurons, *, neuron_indices: Any = None, inequalities: bool = False,
               n_points: int = 8, margin: float = 0.0, jump_tol: float = 1e-12) -> list[NeuronRows]:
    """Build the constraints of every (selected) output neuron of a layer.

    Parameters
    ----------
    examples : sequence of (inputs, output_spikes)
        ``inputs`` a :class:`~tem_sim.signals.FourierSignals` or :class:`SpikeInput`,
        ``output_spikes`` a :class:`~tem_sim.spikes.SpikeTrains` with ``n_neurons == neurons.n``
        observed on ``[0, t_stop]``.
    neurons : Neurons
        Parameters of the output neurons.
    neuron_indices : array_like of int, optional
        Build only these neurons (default all).
    inequalities : bool, default False
        Also build the no-spike inequalities I1.
    n_points : int, default 8
        Points per inter-spike interval (and after the last spike) where I1 is imposed.
    margin : float, default 0
        I1 reads ``v(s) <= delta + margin`` (a positive margin tolerates noisy spike times).
    jump_tol : float, default 1e-12
        Relative tolerance to declare an output spike triggered by a delta arrival.

    Returns
    -------
    list of NeuronRows, one per selected neuron.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.signals import FourierSignals
    >>> from tem_sim.neurons import Neurons
    >>> from tem_sim.spikes import SpikeTrains
    >>> x = FourierSignals.from_one_sided([[1.0]], period=10.0)    # x(t) = 1
    >>> st = SpikeTrains([2.0, 4.0], [0, 0], n_neurons=1, t_stop=5.0)
    >>> rows = layer_rows([(x, st)], Neurons(1, bias=0.0))
    >>> rows[0].A.tolist(), rows[0].r.tolist()   # w * 2 = 2 kappa delta
    ([[2.0], [2.0]], [2.0, 2.0])
    """
    if not isinstance(neurons, Neurons):
        raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
    ex = check_examples(examples, neurons.n)
    if neuron_indices is None:
        sel = np.arange(neurons.n)
    else:
        sel = np.asarray(neuron_indices)
        if sel.ndim != 1 or sel.dtype.kind not in "iu" or (sel.size and (sel.min() < 0 or sel.max() >= neurons.n)):
            raise ValidationError("neuron_indices", neuron_indices, f"a 1-d integer array in [0, {neurons.n})")
    n_points = as_int("n_points", n_points, minimum=1)
    margin = as_scalar("margin", margin, nonnegative=True)
    jump_tol = as_scalar("jump_tol", jump_tol, nonnegative=True)
    inequalities = bool(inequalities)
    lam_all = np.where(neurons.is_leaky, 1.0 / np.where(neurons.is_leaky, neurons.tau, 1.0), 0.0)

    per = [dict(A=[], r=[], kind=[], length=[], end=[], example=[], G=[], h=[], n_spikes=0) for _ in sel]
    for e, (inp, st) in enumerate(ex):
        segs_eq, segs_in = [], []
        arrivals = _delta_arrivals(inp)
        for q, j in enumerate(sel):
            times = st.neuron(int(j))
            jump = _jump_mask(times, arrivals, jump_tol)
            if np.isnan(neurons.v_reset[j]) and neurons.t_ref[j] == 0:
                eq, ineq = _intervals(times, jump, st.t_stop, float(neurons.kappa[j]), float(neurons.delta[j]),
                                      float(neurons.bias[j]), float(neurons.v0[j]), float(lam_all[j]),
                                      inequalities, n_points, margin)
            else:
                eq, ineq = _intervals_reset(times, jump, st.t_stop, float(neurons.kappa[j]),
                                            float(neurons.delta[j]), float(neurons.bias[j]), float(neurons.v0[j]),
                                            float(lam_all[j]), float(neurons.v_reset[j]), float(neurons.t_ref[j]),
                                            inequalities, n_points, margin)
            per[q]["n_spikes"] += times.size
            segs_eq.append(eq)
            segs_in.append(ineq)
        # one call for all neurons of this example
        na = [s[0].size for s in segs_eq]
        a = np.concatenate([s[0] for s in segs_eq])
        b = np.concatenate([s[1] for s in segs_eq])
        tau = np.repeat(neurons.tau[sel], na)
        if inequalities:
            ni = [s[0].size for s in segs_in]
            a = np.concatenate([a] + [s[0] for s in segs_in])
            b = np.concatenate([b] + [s[1] for s in segs_in])
            tau = np.concatenate([tau, np.repeat(neurons.tau[sel], ni)])
        L = interval_rows(inp, a, b, tau)
        if sp.issparse(L):
            L = L.tocsr()
        ce = np.concatenate([[0], np.cumsum(na)])
        base = ce[-1]
        ci = np.concatenate([[0], np.cumsum(ni)]) + base if inequalities else None
        for q in range(sel.size):
            eq = segs_eq[q]
            d = per[q]
            d["A"].append(L[ce[q]:ce[q + 1]])
            d["r"].append(eq[2])
            d["kind"].append(eq[3])
            d["length"].append(eq[4])
            d["end"].append(eq[1])
            d["example"].append(np.full(eq[2].size, e))
            if inequalities:
                d["G"].append(L[ci[q]:ci[q + 1]])
                d["h"].append(segs_in[q][2])
    out = []
    n_in = L.shape[1]
    for d in per:
        sparse = sp.issparse(d["A"][0])
        stack = (lambda m: sp.vstack(m, format="csr")) if sparse else np.vstack
        empty = sp.csr_matrix((0, n_in)) if sparse else np.empty((0, n_in))
        out.append(NeuronRows(A=stack(d["A"]), r=np.concatenate(d["r"]), kind=np.concatenate(d["kind"]),
                              length=np.concatenate(d["length"]), end=np.concatenate(d["end"]), example=np.concatenate(d["example"]),
                              G=stack(d["G"]) if d["G"] else empty,
                              h=np.concatenate(d["h"]) if d["h"] else np.empty(0), n_spikes=d["n_spikes"]))
    return out


def neuron_rows(examples: Any, neurons: Neurons, j: int, **kwargs: Any) -> NeuronRows:
    """The constraints of output neuron ``j`` alone (see :func:`layer_rows` for the options).

    Examples
    --------
    >>> from tem_sim.signals import FourierSignals
    >>> from tem_sim.neurons import Neurons
    >>> from tem_sim.spikes import SpikeTrains
    >>> x = FourierSignals.from_one_sided([[2.0]], period=10.0)
    >>> st = SpikeTrains([1.0], [0], n_neurons=1, t_stop=2.0)
    >>> neuron_rows([(x, st)], Neurons(1), 0).r.tolist()     # E0: kappa (delta - v0)
    [2.0]
    """
    j = as_int("j", j)
    if not 0 <= j < neurons.n:
        raise ValidationError("j", j, f"in [0, {neurons.n})")
    return layer_rows(examples, neurons, neuron_indices=np.array([j]), **kwargs)[0]
