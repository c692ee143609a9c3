"""Non-periodic analog inputs: bandlimited sinc sums and piecewise polynomials.

Researchers hold sampled recordings and stimulus sequences, not Fourier
coefficients. Two banks sit beside :class:`~tem_sim.signals.FourierSignals`
and are understood by the engine, the constraint builder and the decoder:

* :class:`SincSignals` -- bandlimited, non-periodic signals
  ``x_i(t) = sum_k a_ik sinc_W(t - s_k)`` with ``sinc_W(t) = sin(W t) / (W t)``
  (bandwidth ``W`` in rad per unit time, the Lazar--Toth setting). Integrals
  are closed forms in the sine integral, ``int sinc_W(t - s) dt = Si(W (t - s)) / W``,
  and, under a leak ``exp(-lam t)``, in the exponential integral of a complex
  argument: ``G(x) = int_{-inf}^{x} exp(-lam (x - y)) sinc_W(y) dy =
  (pi exp(-lam x) [x > 0] - Im[exp(-lam x) E1(-(lam + i W) x)]) / W``.
* :class:`PiecewisePolynomials` -- piecewise polynomials on shared breakpoints
  (piecewise-constant stimuli, linear interpolation and cubic splines through
  a recording: :meth:`PiecewisePolynomials.from_samples`). Integrals, plain
  and leak-weighted, are exact per piece; the signals exist on their sampled
  range only, and asking for a time outside it is an error.

Every bank mixes by a weight matrix (``y = W x`` is a bank of the same kind),
samples, integrates over many intervals at once, and reports the bounds the
engine's crossing search needs.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import sici

from ._validation import as_float_array, as_int, as_scalar, check_intervals, rng_from_seed
from .exceptions import ValidationError

__all__ = ["SincSignals", "PiecewisePolynomials", "SI_MAX", "SINC_SLOPE_MAX", "phi_functions"]

#: ``max_x |Si(x)| = Si(pi)``.
SI_MAX = 1.8519370519824662
#: An upper bound of ``max_x |d/dx (sin x / x)|`` (0.436181817... at x = 2.081576).
SINC_SLOPE_MAX = 0.43619


def _sinc(x: np.ndarray) -> np.ndarray:
    """``sin(x) / x`` with the value 1 at 0."""
    return np.sinc(x / np.pi)


def _sinc_slope(x: np.ndarray) -> np.ndarray:
    """``d/dx sin(x)/x = (x cos x - sin x) / x^2``, by its series near 0."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    small = np.abs(x) < 1e-3
    xs = x[small]
    out[small] = -xs / 3.0 + xs ** 3 / 30.0
    xb = x[~small]
    out[~small] = (xb * np.cos(xb) - np.sin(xb)) / xb ** 2
    return out


def _leaky_integrate(bank: Any, a: Any, b: Any, lam: Any) -> np.ndarray:
    """``int_a^b exp(-lam (b - s)) x(s) ds = G(b) - exp(-lam (b - a)) G(a)`` from a bank's leak-weighted
    antiderivative ``G`` (any solution of ``G' = -lam G + x``), per distinct ``lam``; ``lam = 0`` integrates."""
    a, b = check_intervals(a, b)
    lam = np.broadcast_to(as_float_array("lam", lam), a.shape)
    out = np.empty((bank.n_signals, a.size))
    for lv in np.unique(lam):
        m = lam == lv
        if lv == 0.0:
            out[:, m] = bank.integrate(a[m], b[m])
        else:
            out[:, m] = (bank.leaky_antiderivative(b[m], lv)
                         - np.exp(-lv * (b[m] - a[m])) * bank.leaky_antiderivative(a[m], lv))
    return out


class SincSignals:
    """A bank of bandlimited signals, sums of shifted sincs on shared centres.

    ``x_i(t) = sum_k a[i, k] sin(W (t - s_k)) / (W (t - s_k))``.

    Parameters
    ----------
    coefficients : array_like, shape (n_signals, K)
        The weights ``a`` of the sincs (for centres on the Nyquist grid
        ``s_k = s_0 + k pi / W`` they are the signal's samples at the centres).
    centers : array_like, shape (K,)
        The centres ``s_k`` (finite).
    bandwidth : float
        ``W > 0``, in radians per unit time (the signals carry no frequency above it).

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import SincSignals
    >>> x = SincSignals([[1.0, 0.5]], centers=[0.0, np.pi], bandwidth=1.0)
    >>> x.sample([0.0, np.pi]).round(12).tolist()   # the Nyquist samples
    [[1.0, 0.5]]
    >>> bool(abs(x.integrate([-1e6], [1e6])[0, 0] - 1.5 * np.pi) < 1e-5)  # int sinc = pi / W
    True
    """

    __slots__ = ("_a", "_s", "_w")

    def __init__(self, coefficients: Any, centers: Any, bandwidth: float) -> None:
        w = as_scalar("SincSignals.bandwidth", bandwidth, positive=True)
        s = as_float_array("SincSignals.centers", centers).ravel()
        a = as_float_array("SincSignals.coefficients", coefficients)
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] != s.size or s.size < 1:
            raise ValidationError("SincSignals.coefficients", f"array of shape {a.shape}",
                                  f"of shape (n_signals >= 1, {s.size}) matching the {s.size} centers (>= 1)")
        a = np.ascontiguousarray(a)
        a.setflags(write=False)
        s = np.ascontiguousarray(s)
        s.setflags(write=False)
        self._a, self._s, self._w = a, s, w

    @classmethod
    def from_nyquist_samples(cls, values: Any, t0: float, bandwidth: float) -> "SincSignals":
        """The bandlimited signals through samples on the Nyquist grid ``t0 + k pi / W``.

        Parameters
        ----------
        values : array_like, shape (n_signals, K) or (K,)
            Samples at ``t0, t0 + pi/W, ..., t0 + (K-1) pi/W``.
        t0 : float
            The first sample time.
        bandwidth : float
            ``W > 0`` (rad per unit time).
        """
        w = as_scalar("bandwidth", bandwidth, positive=True)
        t0 = as_scalar("t0", t0)
        v = as_float_array("values", values)
        n = v.shape[-1] if v.ndim else 0
        return cls(v, t0 + np.pi / w * np.arange(n), w)

    @classmethod
    def random(cls, n_signals: int, bandwidth: float, t_start: float, t_stop: float, *,
               seed: Any) -> "SincSignals":
        """Random signals: uniform ``[-1, 1)`` weights on the Nyquist grid covering ``[t_start, t_stop]``."""
        n_signals = as_int("n_signals", n_signals, minimum=1)
        w = as_scalar("bandwidth", bandwidth, positive=True)
        t_start = as_scalar("t_start", t_start)
        t_stop = as_scalar("t_stop", t_stop)
        if not t_stop > t_start:
            raise ValidationError("t_stop", t_stop, f"> t_start = {t_start}")
        rng = rng_from_seed(seed)
        k = int(math.floor((t_stop - t_start) * w / np.pi)) + 1
        return cls(rng.uniform(-1.0, 1.0, (n_signals, k)), t_start + np.pi / w * np.arange(k), w)

    # ------------------------------------------------------------ properties
    @property
    def coefficients(self) -> np.ndarray:
        """The sinc weights, shape ``(n_signals, K)`` (read-only)."""
        return self._a

    @property
    def centers(self) -> np.ndarray:
        """The centres ``s_k``, shape ``(K,)`` (read-only)."""
        return self._s

    @property
    def bandwidth(self) -> float:
        """``W`` in rad per unit time."""
        return self._w

    @property
    def n_signals(self) -> int:
        """Number of signals in the bank."""
        return self._a.shape[0]

    @property
    def nyquist_rate(self) -> float:
        """``W / pi``: samples per unit time needed to determine a signal of this bandwidth."""
        return self._w / np.pi

    @property
    def domain(self) -> tuple[float, float]:
        """``(-inf, inf)``: sinc sums are defined for every time."""
        return (-math.inf, math.inf)

    def __len__(self) -> int:
        return self.n_signals

    def __repr__(self) -> str:
        return f"SincSignals(n_signals={self.n_signals}, K={self._s.size}, bandwidth={self._w!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SincSignals):
            return NotImplemented
        return (self._w == other._w and np.array_equal(self._s, other._s)
                and self._a.shape == other._a.shape and bool(np.array_equal(self._a, other._a)))

    def __reduce__(self):
        return (SincSignals, (np.array(self._a), np.array(self._s), self._w))

    # ------------------------------------------------------------ operations
    def sample(self, t: Any) -> np.ndarray:
        """Sample every signal at ``t``; shape ``(n_signals, len(t))``."""
        t = as_float_array("t", t).ravel()
        return self._a @ _sinc(self._w * (t[None, :] - self._s[:, None]))

    def sample_derivative(self, t: Any) -> np.ndarray:
        """Sample the time derivative of every signal at ``t``; shape ``(n_signals, len(t))``."""
        t = as_float_array("t", t).ravel()
        return self._w * (self._a @ _sinc_slope(self._w * (t[None, :] - self._s[:, None])))

    def basis_integrals(self, a: Any, b: Any) -> np.ndarray:
        """``E[q, k] = int_{a_q}^{b_q} sinc_W(s - s_k) ds``, shape ``(len(a), K)``."""
        a, b = check_intervals(a, b, ordered=False)
        sa = sici(self._w * (a[:, None] - self._s[None, :]))[0]
        sb = sici(self._w * (b[:, None] - self._s[None, :]))[0]
        return (sb - sa) / self._w

    def integrate(self, a: Any, b: Any) -> np.ndarray:
        """Integrals of every signal over ``[a_q, b_q]``; shape ``(n_signals, len(a))``."""
        return self._a @ self.basis_integrals(a, b).T

    def basis_leaky_antiderivative(self, t: Any, lam: float) -> np.ndarray:
        """``G[q, k] = int_{-inf}^{t_q} exp(-lam (t_q - s)) sinc_W(s - s_k) ds``, shape ``(len(t), K)``.

        The bounded solution of ``G' = -lam G + sinc_W``, in closed form through the
        exponential integral of a complex argument (compiled; see the module docstring).
        """
        from . import _core
        t = as_float_array("t", t).ravel()
        lam = as_scalar("lam", lam, positive=True)
        x = (t[:, None] - self._s[None, :]).ravel()
        return _core.leaky_sinc(np.ascontiguousarray(x), lam, self._w).reshape(t.size, self._s.size)

    def leaky_antiderivative(self, t: Any, lam: float) -> np.ndarray:
        """``sum_k a_ik G(t - s_k)``: each signal's bounded leak-weighted integral; shape ``(n_signals, len(t))``."""
        return self._a @ self.basis_leaky_antiderivative(t, lam).T

    def leaky_integrate(self, a: Any, b: Any, lam: Any) -> np.ndarray:
        """``int_{a_q}^{b_q} exp(-lam_q (b_q - s)) x_i(s) ds``; shape ``(n_signals, len(a))``."""
        return _leaky_integrate(self, a, b, lam)

    def mix(self, weights: Any) -> "SincSignals":
        """The bank ``W x`` on the same centres.

        Parameters
        ----------
        weights : array_like, shape (n_out, n_signals)
        """
        W = as_float_array("weights", weights, ndim=2, shape=(None, self.n_signals))
        return SincSignals(W @ self._a, self._s, self._w)

    def bounds(self, lam: float = 0.0) -> dict[str, np.ndarray]:
        """Per-signal bounds: ``sup|x|``, ``sup|x'|`` and ``sup|int x|`` (antiderivative ``Si/W``;
        with a leak ``lam > 0``, of the leak-weighted integral ``G``: ``min(1/lam, 2 Si(pi)/W)`` per
        sinc, by the second mean value theorem)."""
        s = np.abs(self._a).sum(axis=1)
        anti = SI_MAX / self._w if lam == 0.0 else min(1.0 / lam, 2.0 * SI_MAX / self._w)
        return {"sup": s, "slope": self._w * SINC_SLOPE_MAX * s, "antiderivative": anti * s}


# --------------------------------------------------------------------------- piecewise polynomials

def phi_functions(z: np.ndarray, n: int) -> np.ndarray:
    """``phi_k(z) = sum_{m>=0} z^m / (m + k)!`` for ``k = 0..n``; shape ``(n + 1,) + z.shape``.

    ``phi_0 = exp``; ``int_0^h exp(-lam (h - y)) y^d dy = d! h^(d+1) phi_(d+1)(-lam h)``.
    Series for ``|z| < 2`` (no cancellation), the stable upward recurrence beyond.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty((n + 1,) + z.shape)
    small = np.abs(z) < 2.0
    zs = z[small]
    for k in range(n + 1):
        term = np.full(zs.shape, 1.0 / math.factorial(k))
        acc = term.copy()
        for m in range(1, 40):
            term = term * zs / (m + k)
            acc = acc + term
        out[k][small] = acc
    zb = z[~small]
    p = np.exp(zb)
    out[0][~small] = p
    for k in range(1, n + 1):
        p = (p - 1.0 / math.factorial(k - 1)) / zb
        out[k][~small] = p
    return out


def _taylor_shift(c: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Coefficients of ``p(x0 + y)`` in ``y`` from those of ``p(x)`` (ascending, last axis)."""
    D = c.shape[-1] - 1
    out = np.zeros(np.broadcast_shapes(c.shape, x0.shape + (1,)))
    for d in range(D + 1):
        for k in range(d + 1):
            out[..., k] += math.comb(d, k) * c[..., d] * x0 ** (d - k)
    return out


class PiecewisePolynomials:
    """A bank of piecewise polynomial signals on shared breakpoints.

    On piece ``k`` (``breaks[k] <= t <= breaks[k+1]``) signal ``i`` is
    ``sum_d c[i, k, d] (t - breaks[k])^d``. The signals exist on
    ``[breaks[0], breaks[-1]]`` only.

    Parameters
    ----------
    breaks : array_like, shape (L + 1,)
        Strictly increasing, finite breakpoints (``L >= 1`` pieces).
    coefficients : array_like, shape (n_signals, L, D + 1)
        Ascending-power coefficients in the local variable ``t - breaks[k]``
        (a 2-d ``(L, D + 1)`` array is one signal).

    Examples
    --------
    >>> from tem_sim import PiecewisePolynomials
    >>> x = PiecewisePolynomials.from_samples([0.0, 1.0, 2.0], [0.0, 2.0, 0.0], kind="linear")
    >>> x.sample([0.5, 1.5]).tolist()
    [[1.0, 1.0]]
    >>> x.integrate([0.0], [2.0]).tolist()
    [[2.0]]
    """

    __slots__ = ("_b", "_c", "_cum", "_cum_lo")

    def __init__(self, breaks: Any, coefficients: Any) -> None:
        b = as_float_array("PiecewisePolynomials.breaks", breaks).ravel()
        if b.size < 2 or not np.all(np.diff(b) > 0):
            raise ValidationError("PiecewisePolynomials.breaks", b if b.size < 8 else f"array of size {b.size}",
                                  "at least 2 strictly increasing times")
        c = as_float_array("PiecewisePolynomials.coefficients", coefficients)
        if c.ndim == 2:
            c = c[None]
        if c.ndim != 3 or c.shape[0] < 1 or c.shape[1] != b.size - 1 or c.shape[2] < 1:
            raise ValidationError("PiecewisePolynomials.coefficients", f"array of shape {c.shape}",
                                  f"of shape (n_signals >= 1, {b.size - 1}, degree + 1)")
        b = np.ascontiguousarray(b)
        c = np.ascontiguousarray(c)
        b.setflags(write=False)
        c.setflags(write=False)
        self._b, self._c = b, c
        # exact integrals over whole pieces, accumulated from breaks[0]
        h = np.diff(b)
        d = np.arange(c.shape[2])
        piece = (c * (h[None, :, None] ** (d + 1) / (d + 1))).sum(axis=2)
        cum = np.zeros((c.shape[0], b.size))
        np.cumsum(piece, axis=1, out=cum[:, 1:])
        # the rounding error of each running-sum step (TwoSum, exact), summed: cum + cum_lo is the
        # running integral to about eps^2 |cum|, so integrals between distant breaks of a long
        # recording do not inherit the eps |cum| of the anchor at breaks[0]
        prev, nxt = cum[:, :-1], cum[:, 1:]
        bb = nxt - prev
        err = (prev - (nxt - bb)) + (piece - bb)
        lo = np.zeros_like(cum)
        np.cumsum(err, axis=1, out=lo[:, 1:])
        cum.setflags(write=False)
        lo.setflags(write=False)
        self._cum, self._cum_lo = cum, lo

    @classmethod
    def from_samples(cls, times: Any, values: Any, kind: str = "linear") -> "PiecewisePolynomials":
        """Piecewise polynomials through a sampled recording.

        Parameters
        ----------
        times : array_like, shape (S,)
            Strictly increasing, finite sample times (``S >= 2``).
        values : array_like, shape (n_signals, S) or (S,)
            Finite samples.
        kind : {"linear", "cubic", "constant"}
            ``"linear"`` interpolation, a ``"cubic"`` spline (not-a-knot, C2), or
            ``"constant"``: each sample held until the next (a stimulus sequence;
            the last sample only closes the range).
        """
        t = as_float_array("times", times).ravel()
        if t.size < 2 or not np.all(np.diff(t) > 0):
            raise ValidationError("times", t if t.size < 8 else f"array of size {t.size}",
                                  "at least 2 strictly increasing sample times")
        v = as_float_array("values", values)
        if v.ndim == 1:
            v = v[None, :]
        if v.ndim != 2 or v.shape[1] != t.size:
            raise ValidationError("values", f"array of shape {v.shape}", f"of shape (n_signals, {t.size})")
        if kind == "constant":
            c = v[:, :-1, None]
        elif kind == "linear":
            slope = np.diff(v, axis=1) / np.diff(t)
            c = np.stack([v[:, :-1], slope], axis=2)
        elif kind == "cubic":
            from scipy.interpolate import CubicSpline
            if t.size < 4:
                raise ValidationError("times", f"{t.size} samples", "at least 4 samples for a cubic spline")
            cs = CubicSpline(t, v, axis=1, bc_type="not-a-knot")
            c = np.transpose(cs.c[::-1], (2, 1, 0))    # (4, L, n) descending -> (n, L, 4) ascending
        else:
            raise ValidationError("kind", kind, 'one of "linear", "cubic", "constant"')
        return cls(t, c)

    @classmethod
    def random(cls, n_signals: int, n_pieces: int, t_start: float, t_stop: float, *, kind: str = "cubic",
               seed: Any) -> "PiecewisePolynomials":
        """Random signals: uniform ``[-1, 1)`` samples on an even grid, interpolated by ``kind``."""
        n_pieces = as_int("n_pieces", n_pieces, minimum=3 if kind == "cubic" else 1)
        rng = rng_from_seed(seed)
        t = np.linspace(as_scalar("t_start", t_start), as_scalar("t_stop", t_stop), n_pieces + 1)
        return cls.from_samples(t, rng.uniform(-1.0, 1.0, (as_int("n_signals", n_signals, minimum=1),
                                                         n_pieces + 1)), kind=kind)

    # ------------------------------------------------------------ properties
    @property
    def breaks(self) -> np.ndarray:
        """Breakpoints, shape ``(L + 1,)`` (read-only)."""
        return self._b

    @property
    def coefficients(self) -> np.ndarray:
        """Ascending local coefficients, shape ``(n_signals, L, D + 1)`` (read-only)."""
        return self._c

    @property
    def degree(self) -> int:
        """The polynomial degree ``D``."""
        return self._c.shape[2] - 1

    @property
    def n_signals(self) -> int:
        """Number of signals in the bank."""
        return self._c.shape[0]

    @property
    def n_pieces(self) -> int:
        """Number of pieces ``L``."""
        return self._c.shape[1]

    @property
    def domain(self) -> tuple[float, float]:
        """``(breaks[0], breaks[-1])``: the signals exist on this range only."""
        return (float(self._b[0]), float(self._b[-1]))

    def __len__(self) -> int:
        return self.n_signals

    def __repr__(self) -> str:
        lo, hi = self.domain
        return (f"PiecewisePolynomials(n_signals={self.n_signals}, n_pieces={self.n_pieces}, "
                f"degree={self.degree}, domain=[{lo!r}, {hi!r}])")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PiecewisePolynomials):
            return NotImplemented
        return (np.array_equal(self._b, other._b) and self._c.shape == other._c.shape
                and bool(np.array_equal(self._c, other._c)))

    def __reduce__(self):
        return (PiecewisePolynomials, (np.array(self._b), np.array(self._c)))

    # ------------------------------------------------------------ operations
    def check_times(self, name: str, t: np.ndarray) -> None:
        """Raise if any time in ``t`` lies outside the signals' range."""
        lo, hi = self.domain
        if t.size and (t.min() < lo or t.max() > hi):
            bad = t[(t < lo) | (t > hi)][0]
            raise ValidationError(name, float(bad), f"a time inside the sampled range [{lo!r}, {hi!r}]")

    def _locate(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Piece index (right-continuous, the last piece closed) and local time of each ``t``."""
        k = np.clip(np.searchsorted(self._b, t, side="right") - 1, 0, self.n_pieces - 1)
        return k, t - self._b[k]

    def sample(self, t: Any) -> np.ndarray:
        """Sample every signal at ``t``; shape ``(n_signals, len(t))``."""
        t = as_float_array("t", t).ravel()
        self.check_times("t", t)
        k, x = self._locate(t)
        c = self._c[:, k, :]                       # (n, Q, D+1)
        out = np.zeros(c.shape[:2])
        for d in range(self.degree, -1, -1):
            out = out * x + c[:, :, d]
        return out

    def sample_derivative(self, t: Any) -> np.ndarray:
        """Sample the time derivative (right derivative at breakpoints); shape ``(n_signals, len(t))``."""
        t = as_float_array("t", t).ravel()
        self.check_times("t", t)
        k, x = self._locate(t)
        c = self._c[:, k, :]
        out = np.zeros(c.shape[:2])
        for d in range(self.degree, 0, -1):
            out = out * x + d * c[:, :, d]
        return out

    def antiderivative(self, t: Any) -> np.ndarray:
        """``int_{breaks[0]}^{t} x_i(s) ds``; shape ``(n_signals, len(t))``."""
        t = as_float_array("t", t).ravel()
        self.check_times("t", t)
        k, out = self._partial(t)
        return self._cum[:, k] + out

    def _partial(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Piece index of each ``t`` and the integral from that piece's start to ``t``."""
        k, x = self._locate(t)
        c = self._c[:, k, :]
        out = np.zeros(c.shape[:2])
        for d in range(self.degree, -1, -1):
            out = (out + c[:, :, d] / (d + 1)) * x
        return k, out

    def integrate(self, a: Any, b: Any) -> np.ndarray:
        """Integrals of every signal over ``[a_q, b_q]``; shape ``(n_signals, len(a))``.

        Accurate to the rounding of the pieces between ``a`` and ``b`` (compensated running
        sums), however far ``a`` lies from ``breaks[0]``.
        """
        a, b = check_intervals(a, b, ordered=False)
        self.check_times("a", a)
        self.check_times("b", b)
        ka, pa = self._partial(a)
        kb, pb = self._partial(b)
        whole = (self._cum[:, kb] - self._cum[:, ka]) + (self._cum_lo[:, kb] - self._cum_lo[:, ka])
        return whole + (pb - pa)

    def leaky_states(self, lam: float) -> np.ndarray:
        """``G(breaks[k]) = int_{breaks[0]}^{breaks[k]} exp(-lam (breaks[k] - s)) x(s) ds``; shape (n, L+1)."""
        if lam == 0.0:
            return np.array(self._cum)
        h = np.diff(self._b)
        D = self.degree
        ph = phi_functions(-lam * h, D + 1)                   # (D+2, L)
        fact = np.array([math.factorial(d) for d in range(D + 1)], dtype=float)
        # whole-piece leak-weighted integrals: sum_d c_d d! h^(d+1) phi_(d+1)(-lam h)
        kern = fact[:, None] * h[None, :] ** (np.arange(D + 1)[:, None] + 1) * ph[1:]   # (D+1, L)
        piece = np.einsum("nld,dl->nl", self._c, kern)
        from . import _core
        return _core.leaky_recursion(np.exp(-lam * h), np.ascontiguousarray(piece))

    def _leaky_partial(self, k: np.ndarray, x: np.ndarray, lam: float) -> np.ndarray:
        """``int_0^x exp(-lam (x - y)) p_k(y) dy`` for each (piece k, local time x); shape (n, Q)."""
        D = self.degree
        ph = phi_functions(-lam * x, D + 1)
        out = np.zeros((self.n_signals, x.size))
        for d in range(D + 1):
            out += self._c[:, k, d] * (math.factorial(d) * x ** (d + 1) * ph[d + 1])
        return out

    def leaky_antiderivative(self, t: Any, lam: float) -> np.ndarray:
        """``G(t) = int_{breaks[0]}^{t} exp(-lam (t - s)) x(s) ds``; shape ``(n_signals, len(t))``."""
        t = as_float_array("t", t).ravel()
        self.check_times("t", t)
        k, x = self._locate(t)
        G = self.leaky_states(lam)
        return np.exp(-lam * x) * G[:, k] + self._leaky_partial(k, x, lam)

    def leaky_integrate(self, a: Any, b: Any, lam: Any) -> np.ndarray:
        """``int_{a_q}^{b_q} exp(-lam_q (b_q - s)) x_i(s) ds``; shape ``(n_signals, len(a))``.

        The leak-weighted states start at the earliest ``a_q`` (:meth:`restrict`), not at
        ``breaks[0]``: their size, hence their rounding, is that of the span asked for."""
        a, b = check_intervals(a, b)
        self.check_times("a", a)
        self.check_times("b", b)
        bank = self.restrict(float(a.min()), float(b.max())) if a.size and a.min() < b.max() else self
        return _leaky_integrate(bank, a, b, lam)

    def mix(self, weights: Any) -> "PiecewisePolynomials":
        """The bank ``W x`` on the same breakpoints.

        Parameters
        ----------
        weights : array_like, shape (n_out, n_signals)
        """
        W = as_float_array("weights", weights, ndim=2, shape=(None, self.n_signals))
        return PiecewisePolynomials(self._b, np.einsum("oi,ild->old", W, self._c))

    def refine(self, breaks: Any) -> "PiecewisePolynomials":
        """The same signals on a finer set of breakpoints (a superset of these, same range)."""
        nb = as_float_array("breaks", breaks).ravel()
        if not (np.all(np.isin(self._b, nb)) and nb[0] == self._b[0] and nb[-1] == self._b[-1]
                and np.all(np.diff(nb) > 0)):
            raise ValidationError("breaks", f"array of size {nb.size}",
                                  "strictly increasing, a superset of the current breaks with the same range")
        k = np.clip(np.searchsorted(self._b, nb[:-1], side="right") - 1, 0, self.n_pieces - 1)
        return PiecewisePolynomials(nb, _taylor_shift(self._c[:, k, :], nb[:-1] - self._b[k]))

    def restrict(self, t_start: float, t_stop: float) -> "PiecewisePolynomials":
        """The same signals on ``[t_start, t_stop]`` only, a window inside the domain.

        The breaks inside the window are kept, ``t_start`` and ``t_stop`` become
        the end breaks, and the end pieces are re-expanded about them. The
        antiderivative and the leak-weighted integrals of the result start at
        ``t_start``: they carry no rounding from the part of a long recording
        before the window (integrals anchored at ``breaks[0]`` lose
        ``eps |int_{breaks[0]}^{t} x|``), and the window's pieces alone are
        stored. The engine and the constraint builder restrict to the window
        they use.

        Parameters
        ----------
        t_start, t_stop : float
            ``breaks[0] <= t_start < t_stop <= breaks[-1]``.

        Returns
        -------
        PiecewisePolynomials

        Examples
        --------
        >>> from tem_sim import PiecewisePolynomials
        >>> x = PiecewisePolynomials.from_samples([0.0, 1.0, 2.0, 3.0], [[0.0, 1.0, 0.0, 1.0]])
        >>> y = x.restrict(0.5, 2.5)
        >>> y.breaks.tolist(), y.sample([0.5, 2.5]).tolist()
        ([0.5, 1.0, 2.0, 2.5], [[0.5, 0.5]])
        """
        t0 = as_scalar("t_start", t_start)
        t1 = as_scalar("t_stop", t_stop)
        lo, hi = self.domain
        if not lo <= t0 < t1 <= hi:
            raise ValidationError("(t_start, t_stop)", (t0, t1), f"a window with {lo!r} <= t_start < t_stop <= {hi!r}")
        if t0 == lo and t1 == hi:
            return self                                     # (immutable)
        inner = self._b[(self._b > t0) & (self._b < t1)]
        nb = np.concatenate([[t0], inner, [t1]])
        k = np.clip(np.searchsorted(self._b, nb[:-1], side="right") - 1, 0, self.n_pieces - 1)
        return PiecewisePolynomials(nb, _taylor_shift(self._c[:, k, :], nb[:-1] - self._b[k]))

    def piece_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-signal, per-piece bounds ``(sup|x|, sup|x'|)`` on each piece; shapes ``(n, L)``.

        ``sum_d |c_d| h^d`` and ``sum_d d |c_d| h^(d-1)``: valid for any degree.
        """
        h = np.diff(self._b)
        d = np.arange(self.degree + 1)
        sup = (np.abs(self._c) * h[None, :, None] ** d).sum(axis=2)
        slope = (np.abs(self._c[:, :, 1:]) * d[1:] * h[None, :, None] ** (d[1:] - 1)).sum(axis=2)
        return sup, slope
