"""The simulation entry points: validation in Python, then the compiled event loop.

:func:`encode` runs the simplest network -- one layer of TEM neurons driven
by ``y = W x`` from a bank of Fourier-series inputs -- and returns its exact
spike times. It and :class:`tem_sim.network.Network` both lower their model to
flat arrays (:func:`lower_neurons` for the neurons and their analog drive)
and call :func:`tem_sim._core.simulate`, which trusts its arguments; every
check happens here first, so bad input is a ``ValidationError`` naming the
parameter, never a crash inside the loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from . import _core
from ._validation import as_float_array, as_int, as_scalar
from .exceptions import SimulationLimitError, ValidationError
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains
from .stimuli import PiecewisePolynomials, SincSignals

__all__ = ["encode", "DEFAULT_MAX_SPIKES", "AnalogBank", "ANALOG_TYPES"]

#: Default guard on the number of spikes one run may emit.
DEFAULT_MAX_SPIKES = 50_000_000


#: The analog input banks the engine takes.
AnalogBank = Union[FourierSignals, SincSignals, PiecewisePolynomials]
ANALOG_TYPES = (FourierSignals, SincSignals, PiecewisePolynomials)
#: Highest polynomial degree of a piecewise drive in the compiled core.
MAX_DEGREE = 20
#: Pieces per block of the slope bounds of a piecewise drive (the core's PP_BLOCK): a bound holds
#: from its piece to the end of the next block, so a search step can span up to 32 pieces.
PP_BLOCK = 16


def slope_windows(pp: PiecewisePolynomials, slope: np.ndarray, sup: np.ndarray,
                  block: int = PP_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Per piece ``k``: the end time of its window and a slope bound valid over the window.

    The window runs from piece ``k`` to the end of the next block of ``block`` pieces, but never
    past a jump of the drive (the curvature bound of the crossing search needs a continuous
    drive); the bound is the largest piece slope from ``k`` to the end of the next block.
    """
    n, L = slope.shape
    nb = -(-L // block)
    pad = np.zeros((n, nb * block + block))
    pad[:, :L] = slope
    blocks = pad.reshape(n, nb + 1, block)
    suffix = np.maximum.accumulate(blocks[:, :, ::-1], axis=2)[:, :, ::-1]   # max to the end of its block
    nxt = blocks.max(axis=2)[:, 1:]                                          # max of the next block
    bound = np.maximum(suffix[:, :nb, :], nxt[:, :, None]).reshape(n, nb * block)[:, :L]
    k = np.arange(L)
    end = np.minimum((k // block + 2) * block, L)
    # jumps at the interior breaks: piece m-1's end value against piece m's start value
    C = pp.coefficients
    h = np.diff(pp.breaks)
    right = (C * h[None, :, None] ** np.arange(C.shape[2])).sum(axis=2)
    scale = sup.max(axis=1, keepdims=True) + 1e-300
    jump = np.abs(right[:, :-1] - C[:, 1:, 0]) > 1e-12 * scale                  # (n, L-1): at break m = 1..L-1
    disc = np.where(jump, np.arange(1, L)[None, :], L)                          # index of a jump, else L
    first_jump = np.minimum.accumulate(disc[:, ::-1], axis=1)[:, ::-1]          # [:, k]: first jump >= k + 1
    e = np.minimum(end[None, :], np.concatenate([first_jump, np.full((n, 1), L)], axis=1))
    t_end = np.where(e >= L, np.inf, pp.breaks[np.minimum(e, L)])
    return np.ascontiguousarray(t_end), np.ascontiguousarray(bound)


@dataclass
class LoweredNeurons:
    """Flat per-neuron arrays in the layout :func:`tem_sim._core.simulate` expects.

    The analog drive of neuron ``j`` is the sum of a Fourier part (``nharm``,
    ``a_*``, ``p_*``), a sinc part (``sn_*``: ``sn_K[j]`` sincs of bandwidth
    ``sn_w[j]``, centres at ``sn_s[sn_so[j]:]``, weights at ``sn_a[sn_co[j]:]``)
    and a piecewise-polynomial part (``pp_*``: ``pp_L[j]`` pieces with breaks at
    ``pp_b[pp_bo[j]:]``, coefficient rows, piece-start integrals and slope bounds
    at row ``pp_co[j]`` of ``pp_c``, ``pp_G``, ``pp_du``, ``pp_we``: the slope bound of each
    piece holds until the window end ``pp_we``, see :func:`slope_windows`). ``ub``, ``ubd`` and
    ``pbd`` bound the whole analog part (``ubd`` without the piecewise slope, which the core
    takes per piece); ``pb`` bounds the Fourier and sinc parts of the antiderivative (their
    rounding scale; the core rounds a piecewise part at its size where it evaluates it).
    """

    kappa: np.ndarray
    delta: np.ndarray
    c0: np.ndarray
    tau: np.ndarray
    v0: np.ndarray
    period: np.ndarray
    nharm: np.ndarray
    a_re: np.ndarray
    a_im: np.ndarray
    p_re: np.ndarray
    p_im: np.ndarray
    ub: np.ndarray
    ubd: np.ndarray
    pb: np.ndarray
    pbd: np.ndarray
    sn_K: np.ndarray
    sn_so: np.ndarray
    sn_co: np.ndarray
    sn_w: np.ndarray
    sn_s: np.ndarray
    sn_a: np.ndarray
    pp_L: np.ndarray
    pp_bo: np.ndarray
    pp_co: np.ndarray
    pp_b: np.ndarray
    pp_c: np.ndarray
    pp_G: np.ndarray
    pp_du: np.ndarray
    pp_we: np.ndarray
    vreset: np.ndarray
    rmode: np.ndarray
    tref: np.ndarray


def _as_banks(drive: Any, n: int) -> list:
    if drive is None:
        return []
    banks = list(drive) if isinstance(drive, (list, tuple)) else [drive]
    for k, b in enumerate(banks):
        if not isinstance(b, ANALOG_TYPES):
            raise ValidationError("drive", type(b).__name__,
                                  "FourierSignals, SincSignals or PiecewisePolynomials banks")
        if b.n_signals != n:
            raise ValidationError("drive", f"a bank of {b.n_signals} signals", f"one signal per neuron ({n})")
    return banks


def _merge(banks: list, n: int) -> tuple[FourierSignals | None, SincSignals | None, PiecewisePolynomials | None]:
    """One bank per kind: Fourier banks summed, sinc banks joined, piecewise banks on the union of breaks."""
    four = [b for b in banks if isinstance(b, FourierSignals)]
    sinc = [b for b in banks if isinstance(b, SincSignals)]
    pp = [b for b in banks if isinstance(b, PiecewisePolynomials)]
    F = S = Pp = None
    if four:
        periods = {b.period for b in four}
        if len(periods) > 1:
            raise ValidationError("drive", sorted(periods), "one common period for the Fourier drives of a population")
        M = max(b.n_harmonics for b in four)
        total = np.zeros((n, 2 * M + 1), dtype=np.complex128)
        for b in four:
            total[:, M - b.n_harmonics:M + b.n_harmonics + 1] += b.coefficients
        F = FourierSignals(total, four[0].period)
    if sinc:
        ws = {b.bandwidth for b in sinc}
        if len(ws) > 1:
            raise ValidationError("drive", sorted(ws), "one common bandwidth for the sinc drives of a population")
        S = SincSignals(np.concatenate([b.coefficients for b in sinc], axis=1),
                        np.concatenate([b.centers for b in sinc]), sinc[0].bandwidth)
    if len(pp) == 1:
        Pp = pp[0]
    elif pp:
        doms = {b.domain for b in pp}
        if len(doms) > 1:
            raise ValidationError("drive", sorted(doms), "one common time range for the piecewise drives of a population")
        breaks = np.unique(np.concatenate([b.breaks for b in pp]))
        D = max(b.degree for b in pp)
        coef = np.zeros((n, breaks.size - 1, D + 1))
        for b in pp:
            r = b.refine(breaks) if b.breaks.size != breaks.size else b
            coef[:, :, :b.degree + 1] += r.coefficients
        Pp = PiecewisePolynomials(breaks, coef)
    return F, S, Pp


def check_drive_window(drive: Any, t_end: float, name: str = "t_end") -> None:
    """A piecewise drive must cover the simulated window ``[0, t_end]``."""
    for b in (drive if isinstance(drive, (list, tuple)) else [drive]):
        if isinstance(b, PiecewisePolynomials):
            lo, hi = b.domain
            if lo > 0.0 or hi < t_end:
                raise ValidationError(name, t_end, f"a window [0, t_end] inside the sampled range [{lo!r}, {hi!r}] "
                                      "of the piecewise input (it is not defined outside)")


def window_bank(bank: AnalogBank, t_end: float) -> AnalogBank:
    """``bank`` as the engine uses it on ``[0, t_end]``: a piecewise bank checked to cover the window
    and restricted to it (its pieces there only, integrated from 0: a recording's history before
    the window costs neither rounding nor memory), any other bank unchanged."""
    if not isinstance(bank, PiecewisePolynomials):
        return bank
    check_drive_window([bank], t_end)
    return bank.restrict(0.0, t_end)


def lower_neurons(neurons: Neurons, drive: Any, t_end: float | None = None) -> LoweredNeurons:
    """Per-neuron arrays for the compiled core.

    Parameters
    ----------
    neurons : Neurons
        The neurons' parameters.
    drive : analog bank, list of banks, or None
        Each neuron's analog drive ``y_j`` (banks of one signal per neuron: Fourier,
        sinc or piecewise polynomial; several banks add up), or None.
    t_end : float, optional
        End of the window, checked against the range of a piecewise drive.
    """
    n = neurons.n
    banks = _as_banks(drive, n)
    if t_end is not None:
        check_drive_window(banks, t_end)
    four, sinc, pp = _merge(banks, n)
    if pp is not None and t_end is not None:
        pp = window_bank(pp, t_end)      # (a no-op when the callers windowed the banks before mixing)
    tau = np.ascontiguousarray(neurons.tau, dtype=np.float64)
    leaky = np.isfinite(tau)
    with np.errstate(divide="ignore"):
        rt = np.where(leaky, 1.0 / tau, 0.0)
    # ---- Fourier part
    if four is None:
        M = 0
        period = np.ones(n)
        a = np.zeros((n, 0), dtype=np.complex128)
        mean = np.zeros(n)
    else:
        M = four.n_harmonics
        period = np.full(n, four.period)
        c = four.coefficients
        a = c[:, M + 1:]
        mean = c[:, M].real
    m = np.arange(1, M + 1)
    omega = 2.0 * np.pi * m / period[:, None] if M else np.zeros((n, 0))
    p = np.empty_like(a)
    if M:
        # perfect: antiderivative factor a_m / (i w_m); leaky: steady state a_m / (1/tau + i w_m)
        p[~leaky] = a[~leaky] / (1j * omega[~leaky])
        p[leaky] = a[leaky] / (rt[leaky, None] + 1j * omega[leaky])
    nharm = np.full(n, M, dtype=np.intp)
    if M:
        nharm[np.all(a == 0, axis=1)] = 0
    absa, absp = np.abs(a), np.abs(p)
    ub = 2.0 * absa.sum(axis=1)
    ubd = 2.0 * (absa * omega).sum(axis=1)
    pb = 2.0 * absp.sum(axis=1)
    pbd = 2.0 * (absp * omega).sum(axis=1)
    # ---- sinc part
    zi = np.zeros(n, dtype=np.intp)
    sn_K, sn_so, sn_co, sn_w = zi.copy(), zi.copy(), zi.copy(), np.zeros(n)
    sn_s, sn_a = _EMPTY_D, _EMPTY_D
    if sinc is not None:
        A = sinc.coefficients
        K = A.shape[1]
        active = np.any(A != 0, axis=1)
        sn_K[active] = K
        sn_co[:] = np.arange(n) * K
        sn_w[:] = sinc.bandwidth
        sn_s, sn_a = np.ascontiguousarray(sinc.centers), np.ascontiguousarray(A.ravel())
        bd = sinc.bounds()
        ub += bd["sup"]
        ubd += bd["slope"]
        pb += bd["antiderivative"]
        for lam in np.unique(rt[leaky]):
            # leaky: the bounded leak-weighted integral G (|G'| = |sinc - lam G| <= 2 per sinc)
            sel = leaky & (rt == lam)
            pb[sel] += (sinc.bounds(float(lam))["antiderivative"] - bd["antiderivative"])[sel]
            pbd[sel] += 2.0 * bd["sup"][sel]
    # ---- piecewise-polynomial part
    pp_L, pp_bo, pp_co = zi.copy(), zi.copy(), zi.copy()
    pp_b, pp_c, pp_G, pp_du, pp_we = _EMPTY_D, np.zeros((0, 1)), _EMPTY_D, _EMPTY_D, _EMPTY_D
    if pp is not None:
        if pp.degree > MAX_DEGREE:
            raise ValidationError("drive", f"piecewise polynomials of degree {pp.degree}", f"degree <= {MAX_DEGREE}")
        C = pp.coefficients
        L = C.shape[1]
        active = np.any(C != 0, axis=(1, 2))
        pp_L[active] = L
        pp_co[:] = np.arange(n) * L
        pp_b = np.ascontiguousarray(pp.breaks)
        pp_c = np.ascontiguousarray(C.reshape(n * L, C.shape[2]))
        sup, slope = pp.piece_bounds()
        h = np.diff(pp.breaks)
        G = np.empty((n, L))
        supG = np.zeros(n)                # sup |G| of leaky neurons (for pbd; rt = 0 elsewhere)
        if np.any(~leaky):
            G[~leaky] = pp.leaky_states(0.0)[~leaky, :-1]
        for lam in np.unique(rt[leaky]):
            sel = leaky & (rt == lam)
            Gl = pp.leaky_states(float(lam))
            G[sel] = Gl[sel, :-1]
            supG[sel] = (np.abs(Gl[:, :-1]) + sup * np.minimum(h, 1.0 / lam)).max(axis=1)[sel]
        pp_G = np.ascontiguousarray(G.ravel())
        we, wb = slope_windows(pp, slope, sup)
        pp_du = np.ascontiguousarray(wb.ravel())
        pp_we = np.ascontiguousarray(we.ravel())
        supu = sup.max(axis=1)
        ub += supu
        # (not in pb: the core rounds a piecewise part at its size where it evaluates it, see _tol)
        pbd += rt * supG + supu
    return LoweredNeurons(
        kappa=np.ascontiguousarray(neurons.kappa, dtype=np.float64),
        delta=np.ascontiguousarray(neurons.delta, dtype=np.float64),
        c0=np.ascontiguousarray(neurons.bias + mean),
        tau=tau,
        v0=np.ascontiguousarray(neurons.v0, dtype=np.float64),
        period=np.ascontiguousarray(period),
        nharm=nharm,
        a_re=np.ascontiguousarray(a.real), a_im=np.ascontiguousarray(a.imag),
        p_re=np.ascontiguousarray(p.real), p_im=np.ascontiguousarray(p.imag),
        ub=np.ascontiguousarray(ub), ubd=np.ascontiguousarray(ubd),
        pb=np.ascontiguousarray(pb), pbd=np.ascontiguousarray(pbd),
        sn_K=sn_K, sn_so=sn_so, sn_co=sn_co, sn_w=sn_w, sn_s=sn_s, sn_a=sn_a,
        pp_L=pp_L, pp_bo=pp_bo, pp_co=pp_co, pp_b=pp_b, pp_c=pp_c, pp_G=pp_G, pp_du=pp_du, pp_we=pp_we,
        vreset=np.ascontiguousarray(neurons.reset_value, dtype=np.float64),
        rmode=np.ascontiguousarray(~neurons.subtracts, dtype=np.uint8),
        tref=np.ascontiguousarray(neurons.t_ref, dtype=np.float64),
    )


def concat_lowered(lows: list[LoweredNeurons]) -> LoweredNeurons:
    """Neurons of several populations as one flat set (Fourier arrays padded to the largest M,
    sinc and piecewise arrays appended with their offsets shifted)."""
    if len(lows) == 1:
        return lows[0]
    M = max(l.a_re.shape[1] for l in lows)
    D1 = max(l.pp_c.shape[1] for l in lows)

    def pad(a, width):
        return np.pad(a, ((0, 0), (0, width - a.shape[1])))

    def cat(parts, dtype=None):
        return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)

    fields = {}
    for f in ("kappa", "delta", "c0", "tau", "v0", "period", "nharm", "ub", "ubd", "pb", "pbd",
              "sn_K", "sn_w", "pp_L", "vreset", "rmode", "tref"):
        fields[f] = cat([getattr(l, f) for l in lows])
    for f in ("a_re", "a_im", "p_re", "p_im"):
        fields[f] = cat([pad(getattr(l, f), M) for l in lows])
    for off, arr, shift in (("sn_so", "sn_s", "sn_s"), ("sn_co", "sn_a", "sn_a"),
                            ("pp_bo", "pp_b", "pp_b"), ("pp_co", "pp_G", "pp_G")):
        base = np.cumsum([0] + [getattr(l, shift).size for l in lows[:-1]])
        fields[off] = cat([getattr(l, off) + b for l, b in zip(lows, base)], np.intp)
        fields[arr] = cat([getattr(l, arr) for l in lows], np.float64)
    fields["pp_du"] = cat([l.pp_du for l in lows], np.float64)
    fields["pp_we"] = cat([l.pp_we for l in lows], np.float64)
    fields["pp_c"] = np.ascontiguousarray(np.concatenate([pad(l.pp_c, D1) for l in lows]))
    return LoweredNeurons(**fields)


def check_t_end(t_end: Any) -> float:
    """Validate the end of the simulation window."""
    return as_scalar("t_end", t_end, positive=True)


def check_max_spikes(max_spikes: Any) -> int:
    """Validate the spike-count guard."""
    return as_int("max_spikes", max_spikes, minimum=1)


def raise_for_status(status: int, max_spikes: int, t_reached: float, t_end: float) -> None:
    """Turn a status code of the compiled loop into the matching exception."""
    if status == -3:
        raise SimulationLimitError(
            f"max_spikes: the run emitted {max_spikes} spikes by t = {t_reached!r} (before "
            f"t_end = {t_end!r}); raise max_spikes or check for runaway activity")
    if status != 0:  # pragma: no cover - no other codes are produced
        raise RuntimeError(f"tem_sim internal error: simulation status {status}")


_EMPTY_D = np.zeros(0)
_EMPTY_I = np.zeros(0, dtype=np.intp)


def simulate_lowered(low: LoweredNeurons, t_end: float, max_spikes: int, *,
                     projections: dict[str, np.ndarray] | None = None,
                     record_times: np.ndarray | None = None,
                     record_neurons: np.ndarray | None = None,
                     sources: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Call the compiled loop with lowered neurons and (optional) lowered projections and spike
    sources (``sources``: ``g_t``, ``g_i``, the given spikes in time order; ``pz_*``, the Poisson
    neurons, see :func:`tem_sim._core.simulate`)."""
    n = low.kappa.shape[0]
    pr = projections or {}
    so = sources or {}
    rt = _EMPTY_D if record_times is None else record_times
    ri = _EMPTY_I if record_neurons is None else record_neurons
    times, idx, traces, stats, status = _core.simulate(
        low.kappa, low.delta, low.c0, low.tau, low.v0, low.period, low.nharm,
        low.a_re, low.a_im, low.p_re, low.p_im, low.ub, low.ubd, low.pb, low.pbd,
        low.sn_K, low.sn_so, low.sn_co, low.sn_w, low.sn_s, low.sn_a,
        low.pp_L, low.pp_bo, low.pp_co, low.pp_b, low.pp_c, low.pp_G, low.pp_du, low.pp_we,
        pr.get("exp_tau", _EMPTY_D),
        pr.get("delay", _EMPTY_D), pr.get("kind", np.zeros(0, dtype=np.intc)), pr.get("chan", _EMPTY_I),
        pr.get("pre_start", _EMPTY_I), pr.get("indptr_off", _EMPTY_I), pr.get("indptr", _EMPTY_I),
        pr.get("targets", _EMPTY_I), pr.get("weights", _EMPTY_D),
        pr.get("out_ptr", np.zeros(n + 1, dtype=np.intp)), pr.get("out_proj", _EMPTY_I),
        float(t_end), int(max_spikes), rt, ri,
        low.vreset, low.rmode, low.tref,
        so.get("g_t", _EMPTY_D), so.get("g_i", _EMPTY_I),
        so.get("pz_idx", _EMPTY_I), so.get("pz_rate", _EMPTY_D),
        so.get("pz_record", np.zeros(0, dtype=np.uint8)), so.get("pz_seed", np.zeros((0, 4), dtype=np.uint64)))
    raise_for_status(status, max_spikes, float(times[-1]) if times.size else 0.0, t_end)
    return times, idx, traces, stats


def encode(signals: AnalogBank, weights: Any, neurons: Neurons, t_end: float, *,
           max_spikes: int = DEFAULT_MAX_SPIKES) -> SpikeTrains:
    """Encode analog inputs with a layer of integrate-and-fire TEM neurons.

    Neuron ``j`` integrates ``u_j(t) = sum_i W[j, i] x_i(t) + bias_j`` and
    spikes each time its integrator reaches ``+delta_j`` (then resets by
    ``-2 delta_j``). Spike times are exact to machine precision: every first
    threshold crossing is found, including when the drive changes sign.

    Parameters
    ----------
    signals : FourierSignals, SincSignals or PiecewisePolynomials
        The input bank ``x`` (``n_in`` signals). A piecewise bank must cover
        ``[0, t_end]``.
    weights : array_like, shape (n_out, n_in)
        The layer's weights ``W``.
    neurons : Neurons
        Parameters of the ``n_out`` neurons (perfect or leaky).
    t_end : float
        End of the window ``[0, t_end]``.
    max_spikes : int, optional
        Guard: raise :class:`~tem_sim.exceptions.SimulationLimitError` rather
        than emit more spikes than this.

    Returns
    -------
    SpikeTrains
        The spikes on ``[0, t_end]``.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, encode
    >>> x = FourierSignals.from_one_sided([[0.0]], period=1.0)   # x = 0
    >>> st = encode(x, [[1.0]], Neurons(1, kappa=1.0, delta=1.0, bias=2.0), t_end=3.0)
    >>> st.times.tolist()  # 2*kappa*delta/bias = 1 between spikes
    [1.0, 2.0, 3.0]
    """
    if not isinstance(signals, ANALOG_TYPES):
        raise ValidationError("signals", type(signals).__name__,
                              "a FourierSignals, SincSignals or PiecewisePolynomials bank")
    if not isinstance(neurons, Neurons):
        raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
    W = as_float_array("weights", weights, ndim=2, shape=(neurons.n, signals.n_signals))
    t_end = check_t_end(t_end)
    max_spikes = check_max_spikes(max_spikes)
    # mix the window's pieces only (a long recording mixed whole costs n_out times its size)
    low = lower_neurons(neurons, window_bank(signals, t_end).mix(W), t_end)
    times, idx, _, _ = simulate_lowered(low, t_end, max_spikes)
    return SpikeTrains(times, idx, neurons.n, 0.0, t_end, sort=False)
