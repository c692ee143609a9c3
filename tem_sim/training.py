"""Learning one layer's weights from input/output spike-time examples.

:func:`fit_layer` stacks, for every output neuron, the spike-time equations of
all examples (:mod:`tem_sim.constraints`) and solves one independent problem
per neuron (:mod:`tem_sim.solvers`): a direct LAPACK least-squares solve when
the problem is unconstrained, an OSQP quadratic program when bounds, sign
(Dale) constraints, an L1 penalty or the no-spike inequalities are asked for.
Each neuron's diagnostics (rows, numerical rank, condition number, residual,
status) form the identifiability report; neurons whose weights the data do not
determine trigger an :class:`~tem_sim.exceptions.IdentifiabilityWarning` and
get the bounded minimum-norm (or regularised) answer. The per-neuron problems
are grouped into deterministic chunks that run serially or on any
:class:`concurrent.futures.Executor` (a process pool, or a Dask
``distributed`` client's ``get_executor()``); the answer does not depend on
where the chunks run.

Spike times carry jitter in real data, and the spike-interval equations are
then correlated and unequally noisy. By default (``row_weights="auto"``) a
first unweighted fit whose residual exceeds what rounding the spike times
explains is followed by feasible generalised least squares for jitter, the
efficient estimator (its error attains the Cramer-Rao bound): for perfect
neurons each example's equations are re-anchored at ``t = 0`` and weighted by
``1 / u(t_k)^2``, for leaky neurons the interval rows are whitened by their
Jacobian in the spike times; each example's own jitter level is estimated
from its share of the residual, and the drive is re-estimated once at the
spike times the answer predicts. With delta-synapse spike inputs a perfect
neuron's answer is then refined on the spike times themselves (Gauss-Newton):
each spike is predicted as the first threshold crossing of the integrated
drive, arrivals included, so an arrival that falls between a true and an
observed spike does not count as jitter, and a spike triggered by an arrival
(it happens at the arrival whatever the weights) carries no information
instead of a wrong equation. Per-weight standard errors come from the
solved system's covariance (:attr:`FitResult.std_errors`), the jitter from the
residual (``info["noise"]``). ``fit_bias=True`` learns each neuron's bias as
the weight of a constant input and reports a bias confounded with its inputs.

Analog (Fourier-series) inputs are never expanded into dense rows. Neuron
``j``'s rows in example ``e`` are ``F_je P_e'``: ``F_je`` holds the integrals
of the ``2M + 1`` real harmonics over the neuron's intervals (cheap) and
``P_e`` the inputs' real coefficients, shared by every neuron. A small QR of
``F_je`` per example compresses the neuron's rows to at most ``2M + 1`` (an
orthogonal transformation: same solution, singular values and residual), and
one matrix product per example gives the compressed system. Up to
:data:`SVD_MAX_INPUTS` inputs it is solved by one SVD, which gives the
weights, the exact rank and condition number and the rounding uncertainty at
once; above, a well-conditioned neuron is solved through the normal
equations at BLAS-3 speed with iterative refinement
(:func:`~tem_sim.solvers.cholesky_solve`: condition number estimated by
Lanczos, uncertainty by random probes, all from one Cholesky factor), one
with ridge or a condition number above
:data:`~tem_sim.solvers.FAST_MAX_CONDITION` (row weighting, short examples) by
Householder QR (:func:`~tem_sim.solvers.qr_solve`, the same estimates from
``R``), and only a (nearly) rank-deficient one falls back to the SVD.
"""
from __future__ import annotations

import math
import time
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ._validation import as_float_array, as_int, as_scalar
from .constraints import EQ_E1, CombinedInputs, NeuronRows, SpikeInput, check_examples, layer_rows
from .constraints import _intervals, _leaky_harmonic_integrals, _n_inputs, _phi
from .exceptions import IdentifiabilityWarning, ValidationError
from .kernels import Delta, Exponential, PeriodicLowpass
from .neurons import Neurons
from .parallel import _one_blas_thread
from .signals import FourierSignals
from .solvers import DEFAULT_RCOND, INFO_KEYS, cholesky_solve, qr_solve, solve_lstsq, solve_osqp, svd_solve
from .spikes import SpikeTrains

__all__ = ["FitResult", "fit_layer", "FIT_INFO_KEYS", "DEFAULT_IDENT_TOL", "SVD_MAX_INPUTS", "EXACT_RESIDUAL_FACTOR",
           "row_rounding_errors", "rounding_uncertainty"]

#: Keys of every per-neuron ``info`` dict of a :class:`FitResult`.
FIT_INFO_KEYS = INFO_KEYS + ("neuron", "n_spikes", "uncertainty", "noise", "weighting")

#: Default of ``ident_tol``: weights whose rounding uncertainty exceeds this
#: (relative to ``max(1, max|w|)``) are reported as not determined.
DEFAULT_IDENT_TOL = 1e-4

#: Least-squares neurons with at most this many inputs are always solved by one SVD
#: (exact rank and condition number); above it the Cholesky path is tried first.
SVD_MAX_INPUTS = 256

#: With ``row_weights="auto"``, a first unweighted fit whose residual is within this factor of the
#: size of the spike-time rounding errors means exact spikes: that answer is kept (no weighting
#: can improve it); above it the spikes are noisy and the GLS for jitter is solved.
EXACT_RESIDUAL_FACTOR = 1e3

#: Leaky GLS: the integrator's slope at a spike is kept above this fraction of its median
#: (a spike reached tangentially must not get all the weight).
LEAKY_SLOPE_FLOOR = 1e-3
#: Passes of the leaky GLS for jitter at most: slopes re-estimated at the predicted spike times
#: and the jitter level (for the second-order term) from the residual, until the level settles.
LEAKY_GLS_STEPS = 6

#: Spike-time refinement of the GLS for delta-synapse inputs: at most this many Gauss-Newton steps.
REFINE_STEPS = 10

_MAD_TO_SIGMA = 1.4826    # median absolute deviation -> standard deviation (Gaussian)
_REFINE_HALF = 8.0         # half-width of the window searched for a threshold crossing, in jitter levels
_REFINE_OUTLIER = 6.0      # rows whose spike-time residual exceeds this many jitter levels are left out (first pass)
_BIWEIGHT = 4.685          # Tukey's biweight tuning constant (95 % efficiency for Gaussian jitter), in jitter levels
_REFINE_MAX_ENTRIES = 2e7  # (rows x arrivals in a window) above which arrivals are too dense to refine
_METHODS = ("auto", "lstsq", "osqp")
_JUMP_TOL = 1e-12          # layer_rows' default: same-instant repeats of a neuron's spike
_PROBE_SEED = 0x7E55       # probes of the rounding uncertainty: seeded by (this, neuron index)


@dataclass(frozen=True)
class FitResult:
    """Weights learned by :func:`fit_layer` and the per-neuron identifiability report.

    Attributes
    ----------
    weights : ndarray, shape (n_out, n_in)
    info : list of dict
        One dict per output neuron with the keys of :data:`FIT_INFO_KEYS`
        (method, status, n_rows, n_inequalities, n_unknowns, rank, condition,
        residual, identifiable, iterations, polish_status, time, neuron, n_spikes,
        uncertainty: the RMS weight error that rounding the spike times alone causes,
        noise: the spike-time jitter (standard deviation, time units) estimated from the
        residual, weighting: "gls" (generalised least squares for jitter), "none" or "callable").
    std_errors : ndarray, shape (n_out, n_in), optional
        Standard error of each weight: ``sigma sqrt(diag (Y'Y)^-1)`` of the system solved
        (with GLS, the Cramer-Rao bound at the estimate), ``sigma`` estimated from the
        residual with ``n_rows - n_unknowns`` degrees of freedom; ``inf`` for undetermined
        neurons, NaN when not estimable (no spare rows, penalties, ``std_errors=False``).
    bias, bias_std_errors : ndarray, shape (n_out,), optional
        With ``fit_bias=True``: each neuron's learned bias and its standard error.
    confounded : dict
        With ``fit_bias=True``: ``{neuron: [inputs]}`` for neurons whose bias the data cannot
        tell apart from a combination of these inputs (nearly constant over the intervals).
    """

    weights: np.ndarray
    info: list = field(default_factory=list)
    std_errors: np.ndarray | None = None
    bias: np.ndarray | None = None
    bias_std_errors: np.ndarray | None = None
    confounded: dict = field(default_factory=dict)

    def intervals(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Confidence intervals ``weights -/+ q std_errors`` at ``level`` (Student t quantile with each
        neuron's ``n_rows - n_unknowns`` degrees of freedom).

        Returns
        -------
        lower, upper : ndarray, shape (n_out, n_in)
        """
        from scipy.stats import t as student

        level = as_scalar("level", level, positive=True)
        if not level < 1:
            raise ValidationError("level", level, "in (0, 1)")
        if self.std_errors is None:
            raise ValidationError("std_errors", None, "computed (fit_layer(..., std_errors=True))")
        dof = np.array([max(d["n_rows"] - d["n_unknowns"], 1) for d in self.info], dtype=float)
        q = student.ppf(0.5 + level / 2, dof)[:, None]
        return self.weights - q * self.std_errors, self.weights + q * self.std_errors

    @property
    def identifiable(self) -> np.ndarray:
        """Boolean mask: neurons whose weights the data determine."""
        return np.array([d["identifiable"] for d in self.info], dtype=bool)

    @property
    def rank(self) -> np.ndarray:
        """Numerical rank of each neuron's system."""
        return np.array([d["rank"] for d in self.info], dtype=int)

    @property
    def condition(self) -> np.ndarray:
        """Condition number of each neuron's system (``inf`` when rank deficient)."""
        return np.array([d["condition"] for d in self.info], dtype=float)

    def report(self) -> str:
        """A one-line-per-neuron text table of the identifiability report."""
        lines = ["neuron  spikes  rows  rank/n  condition  residual  identifiable  status"]
        for d in self.info:
            lines.append(f"{d['neuron']:6d}  {d['n_spikes']:6d}  {d['n_rows']:4d}  {d['rank']:4d}/{d['n_unknowns']:<3d}"
                         f" {d['condition']:9.3g}  {d['residual']:8.2g}  {str(d['identifiable']):12s}  {d['status']}")
        return "\n".join(lines)


def _per_neuron(name: str, value: Any, n_out: int, n_in: int, allow_inf: bool = True) -> np.ndarray:
    arr = as_float_array(name, value, finite=not allow_inf)
    if np.any(np.isnan(arr)):
        raise ValidationError(name, value, "free of NaN")
    if arr.ndim == 0 or arr.shape == (n_in,) or arr.shape == (n_out, n_in):
        return np.broadcast_to(arr, (n_out, n_in)).astype(float)
    raise ValidationError(name, f"array of shape {arr.shape}", f"a scalar or of shape ({n_in},) or ({n_out}, {n_in})")


def _box(bounds: Any, sign: Any, n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, bool]:
    lo = np.full((n_out, n_in), -np.inf)
    hi = np.full((n_out, n_in), np.inf)
    if bounds is not None:
        if not (isinstance(bounds, (tuple, list)) and len(bounds) == 2):
            raise ValidationError("bounds", bounds, "a (lower, upper) pair (None or scalar or array each)")
        if bounds[0] is not None:
            lo = _per_neuron("bounds[0]", bounds[0], n_out, n_in)
        if bounds[1] is not None:
            hi = _per_neuron("bounds[1]", bounds[1], n_out, n_in)
        if np.any(lo == np.inf) or np.any(hi == -np.inf):
            raise ValidationError("bounds", bounds, "lower < inf and upper > -inf")
    if sign is not None:
        s = _per_neuron("sign", sign, n_out, n_in, allow_inf=False)
        if not np.all(np.isin(s, (-1.0, 0.0, 1.0))):
            raise ValidationError("sign", sign, "-1 (inhibitory), 0 (free) or +1 (excitatory) entries")
        lo = np.where(s > 0, np.maximum(lo, 0.0), lo)
        hi = np.where(s < 0, np.minimum(hi, 0.0), hi)
    if np.any(lo > hi):
        j, i = map(int, np.argwhere(lo > hi)[0])
        raise ValidationError("bounds", (float(lo[j, i]), float(hi[j, i])),
                              f"feasible together with sign (lower <= upper); violated for weight [{j}, {i}]")
    return lo, hi, bool(np.any(np.isfinite(lo)) or np.any(np.isfinite(hi)))


def row_rounding_errors(rows: NeuronRows, bias: float) -> np.ndarray:
    """Size of each row's error caused by rounding the spike times to double precision.

    A spike time ``t`` is known to about ``eps |t|``; moving it moves the row's
    balance by the drive there, estimated by the interval's mean ``|drive|``.
    """
    return _interval_rounding_errors(rows.end - rows.length, rows.end, rows.r, bias)


def _interval_rounding_errors(a: np.ndarray, b: np.ndarray, r: np.ndarray, bias: Any) -> np.ndarray:
    """``eps (|a| + |b|)`` times the mean ``|drive|`` over ``[a, b]`` of rows with balance ``r``."""
    h = b - a
    drive = (np.abs(r) + np.abs(bias) * h) / np.maximum(h, np.finfo(float).tiny)
    return np.finfo(float).eps * (np.abs(a) + np.abs(b)) * drive


def rounding_uncertainty(A: Any, errors: np.ndarray, rcond: float = DEFAULT_RCOND) -> float:
    """RMS size of the least-squares weight error caused by independent row errors.

    ``|| pinv(A) diag(errors) ||_F`` computed through an economic QR of ``A``;
    ``inf`` when ``A`` is rank deficient (the weights are not determined at all).
    """
    M = A.toarray() if sp.issparse(A) else np.asarray(A)
    K, n = M.shape
    if K < n or n == 0:
        return float("inf") if n else 0.0
    Q, R = sla.qr(M, mode="economic", check_finite=False)
    d = np.abs(np.diag(R))
    if d.min() <= rcond * d.max():
        return float("inf")
    X = sla.solve_triangular(R, (Q * errors[:, None]).T, trans="T", lower=False, check_finite=False)
    return float(np.linalg.norm(X))


def _input_values(inputs: Any, t: np.ndarray, derivative: bool = False) -> np.ndarray:
    """Values ``x_i(t)`` of every input at the times ``t``, shape (len(t), n_in); with
    ``derivative``, their time derivatives ``x_i'(t)`` (between arrivals)."""
    if isinstance(inputs, CombinedInputs):
        return np.hstack([_input_values(p, t, derivative) for p in inputs.parts])
    if isinstance(inputs, SpikeInput):
        k = inputs.kernel
        if isinstance(k, PeriodicLowpass):
            inputs = inputs.to_fourier()
        else:
            out = np.zeros((t.size, inputs.n_inputs))
            if isinstance(k, Exponential):
                for i in np.flatnonzero(inputs.spikes.counts()):
                    out[:, i] = k.current(inputs.arrivals(int(i)), t)
                if derivative:
                    out /= -k.tau_s
            return out      # Delta: no current between arrivals (crossings happen between them)
    return (inputs.sample_derivative(t) if derivative else inputs.sample(t)).T


def _cumulative(rows: NeuronRows) -> tuple[Any, np.ndarray]:
    """Re-anchor each example's chained equations at t = 0 (running sums of its rows)."""
    A, r = rows.A, rows.r
    blocks, rhs = [], []
    for e in np.unique(rows.example):          # rows of an example are consecutive
        m = np.flatnonzero(rows.example == e)
        if sp.issparse(A):
            # running sums of sparse rows are dense rows: no k x k summing matrix
            blocks.append(sp.csr_matrix(np.cumsum(A[m].toarray(), axis=0)))
        else:
            blocks.append(np.cumsum(A[m], axis=0))
        rhs.append(np.cumsum(r[m]))
    if not blocks:
        return A, r
    return (sp.vstack(blocks, format="csr") if sp.issparse(A) else np.vstack(blocks)), np.concatenate(rhs)


def _jitter_system(examples: list, rows: NeuronRows, bias: float, opts: dict, w1: np.ndarray | None = None,
                   keep: np.ndarray | None = None):
    """Feasible GLS for spike-time jitter: cumulative rows weighted by 1 / u(t_k)^2.

    Anchored at ``t = 0``, row ``k`` depends on one spike time only, so jitter
    ``eps_k`` perturbs it by ``u(t_k) eps_k``, independently of the other rows;
    the drive ``u`` at the spike times comes from a first solve (``w1``, or an
    unweighted solve of the cumulative rows). Returns ``(C, rc, S, scale)``:
    rows, right-hand sides, weights normalised to mean 1, and ``scale`` such that
    the spike-time jitter is ``scale`` times the weighted rows' error.
    """
    C, rc = _cumulative(rows)
    if w1 is None:
        w1, _ = solve_lstsq(C, rc, ridge=opts["ridge"], rcond=opts["rcond"])
    u = np.empty(rows.n_rows)
    for e, (inp, _) in enumerate(examples):
        m = rows.example == e
        if np.any(m):
            vals = _input_values(inp, rows.end[m])
            u[m] = (vals if keep is None else vals[:, keep]) @ w1 + bias
    if not u.size:
        return C, rc, u, float("nan")
    S = 1.0 / _floor_drive(u) ** 2
    return C, rc, S / S.mean(), float(np.sqrt(S.mean()))


def _leaky_jitter_system(examples: list, rows: NeuronRows, bias: float, opts: dict, w1: np.ndarray | None,
                         keep: np.ndarray | None, kappa: float, delta: float, lam: float, errors: np.ndarray):
    """GLS for spike-time jitter of a leaky neuron: the interval rows whitened by their Jacobian.

    Row ``k`` (interval ``(t_k-1, t_k]``) moves by ``J_kk eps_k + J_k,k-1 eps_k-1`` when the spikes
    are jittered by ``eps``: ``J_kk = u(t_k) - kappa lam delta`` (kappa times the integrator's slope
    at the threshold) and ``J_k,k-1 = -exp(-lam h_k) (u(t_k-1) + kappa lam delta)`` (its slope after
    the reset, decayed), zero when the interval does not start at the previous row's spike. So
    ``J^-1 (A w - r)`` has independent errors ``eps`` (in time units): the rows and right-hand
    sides are whitened by one banded triangular solve, the rounding errors' factor too. For a
    perfect neuron (``lam = 0``) this is the running-sum weighting of :func:`_jitter_system`.

    The first-order term alone fails where the slope ``J_kk`` is small against the drive's change
    within the jitter, ``u'(t_k) sigma`` (a crossing that grazes the threshold after a silence):
    such a spike would get a huge weight, and its row's error is then the second-order term
    ``u'(t_k) eps_k^2 / 2``; one such spike pulled the answer many bounds away. Its standard
    deviation ``|u'| sigma^2 / sqrt(2)`` is added to the diagonal's in quadrature, with ``sigma``
    the robust jitter level of the previous pass's residual; at most :data:`LEAKY_GLS_STEPS` passes.
    """
    A = rows.A.toarray() if sp.issparse(rows.A) else np.asarray(rows.A, dtype=float)
    r = rows.r
    K = r.size
    if w1 is None:
        w1, _ = solve_lstsq(A, r, ridge=opts["ridge"], rcond=opts["rcond"])
    if K == 0:
        return A, r, np.zeros((0, 0))
    start = rows.end - rows.length
    chained = np.zeros(K, dtype=bool)
    if K > 1:
        # E1 rows start at the previous row's spike (E0 rows at t = 0)
        chained[1:] = (rows.example[1:] == rows.example[:-1]) & (rows.kind[1:] == EQ_E1)
    start = np.where(chained, np.concatenate([[0.0], rows.end[:-1]]), start)
    n = A.shape[1]

    def bands(t_end: np.ndarray, w: np.ndarray, sigma: float) -> np.ndarray:
        """The Jacobian's two bands with the spikes at ``t_end``, the drive from ``w`` and jitter ``sigma``."""
        t_start = np.where(chained, np.concatenate([[0.0], t_end[:-1]]), start)
        u_end, u_start, du = np.empty(K), np.empty(K), np.zeros(K)
        for e, (inp, _) in enumerate(examples):
            m = rows.example == e
            if np.any(m):
                ve, vs = _input_values(inp, t_end[m]), _input_values(inp, t_start[m])
                de = _input_values(inp, t_end[m], derivative=True) if sigma > 0 else None
                if keep is not None:
                    ve, vs = ve[:, keep], vs[:, keep]
                    de = None if de is None else de[:, keep]
                u_end[m], u_start[m] = ve @ w + bias, vs @ w + bias
                if de is not None:
                    du[m] = de @ w
        diag = u_end - kappa * lam * delta
        # the jitter's second-order term u'(t_k) eps^2 / 2: its standard deviation u' sigma^2 / sqrt(2)
        # added to the first-order one |J_kk| sigma (a crossing that grazes the threshold is not
        # known to within the jitter, however flat the slope there)
        diag = np.sqrt(diag ** 2 + 0.5 * (du * sigma) ** 2)
        diag = np.maximum(diag, LEAKY_SLOPE_FLOOR * np.median(diag))
        sub = np.where(chained, -np.exp(-lam * rows.length) * (u_start + kappa * lam * delta), 0.0)
        ab = np.zeros((2, K))
        ab[0] = diag
        ab[1, :-1] = sub[1:]
        return ab

    # the slopes at the spike times the previous answer predicts (its whitened residual is each
    # spike's jitter; slopes at the jittered times correlate with it) and the jitter level from
    # its residual, until the level settles
    t_end, sigma = rows.end, 0.0
    ab = bands(t_end, w1, sigma)
    for step in range(LEAKY_GLS_STEPS):
        Wt = sla.solve_banded((1, 0), ab, np.column_stack([A, r]), check_finite=False)
        w_new = solve_lstsq(Wt[:, :n], Wt[:, n], rcond=opts["rcond"])[0]
        eps = Wt[:, :n] @ w_new - Wt[:, n]
        if not np.all(np.isfinite(eps)):
            break
        s_new = _MAD_TO_SIGMA * float(np.median(np.abs(eps)))
        # (spikes exact to rounding: no second-order term)
        if not s_new > EXACT_RESIDUAL_FACTOR * float(np.sqrt(np.mean((errors / ab[0]) ** 2))):
            s_new = 0.0
        if step > 0 and abs(s_new - sigma) <= 0.05 * sigma:
            break
        w1, sigma, t_end = w_new, s_new, rows.end - eps
        ab = bands(t_end, w1, sigma)
    W = sla.solve_banded((1, 0), ab, np.column_stack([A, r, np.diag(errors)]), check_finite=False)
    return W[:, :n], W[:, n], W[:, n + 1:]


def _floor_drive(u: np.ndarray) -> np.ndarray:
    """``|u|`` kept above 1e-3 of its largest value (a drive estimated near zero must not get all the weight)."""
    u = np.abs(u)
    return np.maximum(u, 1e-3 * u.max()) if u.size else u


def _plain_scale(r: np.ndarray, length: np.ndarray, bias: Any) -> float:
    """Spike-time jitter per unit error of unweighted interval rows: a row's error is
    ``u(t_k) eps_k - u(t_k-1) eps_k-1``, of size about ``sqrt(2) |mean drive|`` times the jitter."""
    if not r.size:
        return float("nan")
    drive = (np.abs(r) + np.abs(bias) * length) / np.maximum(length, np.finfo(float).tiny)
    return float(1.0 / np.sqrt(2.0 * np.mean(drive ** 2)))


def _example_scales(rss: np.ndarray, counts: np.ndarray, n: int, prior_rows: float = 10.0) -> np.ndarray:
    """Relative jitter level of each example from its share of the residual, ``sigma_e / sigma``.

    ``rss[e]``: the example's squared residual, ``counts[e]`` its rows, ``n`` unknowns. Each
    example's variance ``rss_e / (counts_e (K - n) / K)`` is shrunk towards the pooled one
    (as if ``prior_rows`` more rows had the pooled variance); examples without rows get 1.
    """
    counts = np.asarray(counts, dtype=float)
    K = counts.sum()
    dof = K - n
    total = float(np.sum(rss))
    if dof <= 0 or not total > 0:
        return np.ones(rss.size)
    pooled = total / dof
    var = (rss + prior_rows * pooled) / (counts * dof / K + prior_rows)
    return np.sqrt(var / pooled)


def _is_exact(residual: float, errors: np.ndarray) -> bool:
    """Whether a fit's residual is explained by rounding the spike times alone (exact spikes)."""
    size = sp.linalg.norm(errors) if sp.issparse(errors) else np.linalg.norm(errors)
    return residual <= EXACT_RESIDUAL_FACTOR * float(size)


def _error_bars(diag: dict, residual: float, K: int, n: int, scale: float) -> tuple[np.ndarray, float]:
    """Per-weight standard errors ``sigma sqrt(diag (Y'Y)^-1)`` with ``sigma^2 = residual^2 / (K - n)``
    (the GLS covariance at the estimate) and the spike-time jitter ``scale * sigma``."""
    dof = K - n
    inv = diag.get("inverse_diagonal")
    if inv is None or dof <= 0:
        return np.full(n, np.nan), float("nan")
    sigma = residual / math.sqrt(dof)
    with np.errstate(invalid="ignore", over="ignore"):
        return sigma * np.sqrt(inv), float(sigma * scale)


def _row_weights(spec: Any, j: int, rows: NeuronRows) -> np.ndarray | None:
    if spec is None:
        return None
    w = np.asarray(spec(j, rows), dtype=float)
    if w.shape != (rows.n_rows,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValidationError("row_weights", f"callable returning {w.shape}",
                              f"non-negative finite weights of shape ({rows.n_rows},) for neuron {j}")
    return w


def _solve(Y: np.ndarray, c: np.ndarray, Z: Any, rho2: float, j: int, opts: dict, bars: bool = True) -> tuple:
    """One neuron's least squares. Large systems: the normal equations (Cholesky) when well
    conditioned, else Householder QR while the rank is clearly full; small or rank-deficient
    systems, and whatever the faster paths decline: one SVD. With ``bars`` (and ``std_errors``
    asked for) the diagonal of ``(Y'Y)^-1`` comes too."""
    out = None
    inv = bool(bars and opts["std_errors"])
    if Y.shape[1] > SVD_MAX_INPUTS:
        seed = (_PROBE_SEED, int(j))
        if opts["ridge"] == 0:
            out = cholesky_solve(Y, c, rcond=opts["rcond"], row_errors=Z, seed=seed, rho2=rho2, inverse_diagonal=inv)
        if out is None:
            out = qr_solve(Y, c, ridge=opts["ridge"], rcond=opts["rcond"], row_errors=Z, seed=seed, rho2=rho2,
                           inverse_diagonal=inv)
    if out is None:
        out = svd_solve(Y, c, ridge=opts["ridge"], rcond=opts["rcond"], row_errors=Z, rho2=rho2,
                        inverse_diagonal=inv)
    return out


def _delta_arrival_table(inputs: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Sorted arrival times of the delta-synapse spikes among ``inputs`` and the input (column)
    each belongs to, or None when there are none."""
    parts = inputs.parts if isinstance(inputs, CombinedInputs) else [inputs]
    times, cols, off = [], [], 0
    for part in parts:
        if isinstance(part, SpikeInput) and isinstance(part.kernel, Delta):
            st = part.spikes
            times.append(st.times + part.delay[st.indices])
            cols.append(off + st.indices)
        off += part.n_signals if hasattr(part, "n_signals") else part.n_inputs
    if not times or not sum(t.size for t in times):
        return None
    t, c = np.concatenate(times), np.concatenate(cols)
    order = np.argsort(t, kind="stable")
    return t[order], c[order]


def _first_crossings(t: np.ndarray, g0: np.ndarray, ua: np.ndarray, half: np.ndarray, arr: np.ndarray,
                     wa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where a perfect integrator's drive first reaches its target near each observed spike.

    Around spike ``k`` the integrated drive minus the target is ``G(s) = g0_k + ua_k (s - t_k)
    + sum of the arrival weights wa in (t_k, s] - sum in (s, t_k]`` (analog drive ``ua_k > 0``
    taken constant over the window, delta arrivals ``arr`` sorted). Searched from ``t_k - half_k``:
    returns the first time ``G`` reaches 0 and whether an arrival's jump got it there (a spike
    triggered by an arrival: its time does not depend on the weights). Crossings before the
    window fall back to the linear ``t_k - g0_k / ua_k``.
    """
    lo = np.searchsorted(arr, t - half, side="right")
    hi = np.searchsorted(arr, t + half, side="right")
    width = int((hi - lo).max(initial=0))
    pos = np.arange(width)
    valid = pos[None, :] < (hi - lo)[:, None]
    idx = np.where(valid, lo[:, None] + pos[None, :], 0)
    s = np.where(valid, arr[idx], np.inf)
    a = np.where(valid, wa[idx], 0.0)
    start = t - half
    g_start = g0 - ua * half - np.where(s <= t[:, None], a, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore"):
        after = g_start[:, None] + ua[:, None] * (s - start[:, None]) + np.cumsum(a, axis=1)
    # segment l starts at P[:, l] with value V[:, l] and ends at the next arrival E[:, l]
    P = np.hstack([start[:, None], s])
    V = np.hstack([g_start[:, None], after])
    E = np.hstack([s, np.full((t.size, 1), np.inf)])
    with np.errstate(invalid="ignore"):
        drift_at = P - V / ua[:, None]
        up = V >= 0
        event = up | (drift_at <= E)
    first = np.argmax(event, axis=1)
    rows = np.arange(t.size)
    jump = up[rows, first]
    times = np.where(jump, P[rows, first], drift_at[rows, first])
    before = jump & (first == 0)
    times[before] = t[before] - g0[before] / ua[before]
    return times, jump & ~before


def _refine_delta_gls(tables: list, examples: list, R: NeuronRows, C: Any, rc: np.ndarray, w: np.ndarray, bias: float,
                      keep: np.ndarray | None, g: np.ndarray, noise: float, j: int, opts: dict) -> tuple | None:
    """Gauss-Newton on the spike times for a perfect neuron with delta-synapse inputs.

    The GLS for jitter linearises each spike time in the drive, which a delta arrival between
    the true and the observed spike breaks: the row then carries the arrival's weight, not the
    jitter, and a spike triggered by an arrival (it happens at the arrival whatever the weights)
    gets an equation it does not satisfy. Here each spike's predicted time is the first threshold
    crossing of the integrated drive, arrivals included (:func:`_first_crossings`); the residuals
    ``t_obs - t_pred`` are the jitter, the Jacobian is ``-X_k / u(t_k)`` for crossings by drift and
    0 for those by an arrival (no information). The spike times are fitted first with the spikes
    more than :data:`_REFINE_OUTLIER` jitter levels off left out, then from that answer by
    iteratively reweighted least squares with Tukey's biweight (:data:`_BIWEIGHT` levels): in a
    recording whose presynaptic spikes are jittered too, an arrival can fall on the wrong side of a spike and
    an arrival-triggered spike can look like a crossing by drift (and back), and such spikes are
    off by anything up to a synaptic weight's worth of time; the biweight gives those a few jitter
    levels off less weight and leaves those further off out, at 5 % of the efficiency on Gaussian
    jitter. The error bars are the M-estimator's (Huber's sandwich), the jitter level the robust
    scale of the residuals. ``tables``: each example's :func:`_delta_arrival_table`.
    Returns ``(w, std_errors, noise)`` or None when it does not apply.
    """
    if all(tab is None for tab in tables) or not R.n_rows or not np.isfinite(noise) or noise <= 0:
        return None
    n_full = _n_inputs(examples[0][0])
    cols = np.arange(n_full) if keep is None else keep
    Cd = C.toarray() if sp.issparse(C) else np.asarray(C, dtype=float)
    ua = np.empty(R.n_rows)
    for e, (inp, _) in enumerate(examples):
        m = R.example == e
        if np.any(m):
            ua[m] = _input_values(inp, R.end[m])[:, cols] @ w + bias
    ua = _floor_drive(ua)

    def residuals(w: np.ndarray, sigma: float) -> tuple | None:
        """Observed minus predicted spike times (per example's jitter level) and the jump flags."""
        wfull = np.zeros(n_full)
        wfull[cols] = w
        g0 = Cd @ w - rc
        half = np.full(R.n_rows, _REFINE_HALF * sigma)
        pred, jump = R.end - g0 / ua, np.zeros(R.n_rows, dtype=bool)
        for e, tab in enumerate(tables):
            m = np.flatnonzero(R.example == e)
            if tab is None:
                continue
            width = np.searchsorted(tab[0], R.end[m] + half[m]) - np.searchsorted(tab[0], R.end[m] - half[m])
            if m.size * float(width.max(initial=0)) > _REFINE_MAX_ENTRIES:
                return None
            pred[m], jump[m] = _first_crossings(R.end[m], g0[m], ua[m], half[m], tab[0], wfull[tab[1]])
        return (R.end - pred) / g, jump

    # a robust jitter level to start with: arrival-triggered spikes make the GLS residual's tail
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(Cd @ w - rc) / (ua * g)))
    out = residuals(w, sigma)
    if out is None or not sigma > 0:
        return None
    resid, jump = out

    def scale(resid: np.ndarray) -> float:
        """The jitter level: robust (median absolute deviation) over every spike (over the crossings
        by drift alone it is too small: a late spike is more often taken for one by an arrival)."""
        return _MAD_TO_SIGMA * float(np.median(np.abs(resid)))

    sigma = scale(resid)
    diag = None
    # first with the spikes beyond _REFINE_OUTLIER jitter levels left out, to the answer's
    # neighbourhood (the biweight, not convex, can settle far off from the GLS answer), then the biweight
    for biweight in (False, True):
        for _ in range(REFINE_STEPS):
            if not sigma > 0:
                return None
            if biweight:
                u = resid / (_BIWEIGHT * sigma)
                root_w = np.where(jump, 0.0, np.clip(1.0 - u * u, 0.0, None))      # sqrt of the weight
            else:
                root_w = (~jump & (np.abs(resid) <= _REFINE_OUTLIER * sigma)).astype(float)
            J = -Cd * (root_w / (ua * g))[:, None]
            dw, diag, _, _ = _solve(J, resid * root_w, None, 0.0, int(j), opts)
            if not diag["identifiable"] or not np.all(np.isfinite(dw)):
                return None
            # damped: the longest of the steps 1, 1/2, 1/4 that does not widen the residuals (a
            # full step can flip many spikes between crossing by drift and by an arrival at once)
            for frac in (1.0, 0.5, 0.25):
                out = residuals(w + frac * dw, sigma)
                if out is not None and scale(out[0]) <= sigma:
                    break
            else:
                break
            w = w + frac * dw
            resid, jump = out
            sigma = scale(resid)
            inv = diag.get("inverse_diagonal")
            if frac == 1.0 and inv is not None and np.all(np.abs(dw) <= 1e-3 * sigma * np.sqrt(inv)):
                break
    inv = None if diag is None else diag.get("inverse_diagonal")
    if inv is None or not sigma > 0:
        return None
    # Huber's sandwich: sigma^2 E[psi^2] / E[psi']^2 (J'J)^-1, with (J'J)^-1 ~ E[w] (J'WJ)^-1
    u = resid[~jump] / (_BIWEIGHT * sigma)
    inside = np.abs(u) < 1.0
    wt = np.where(inside, (1.0 - u * u) ** 2, 0.0)
    psi = _BIWEIGHT * u * wt
    dpsi = np.where(inside, (1.0 - u * u) * (1.0 - 5.0 * u * u), 0.0)
    K = u.size
    if K <= w.size or not np.mean(dpsi) > 0:
        return None
    dof = K / (K - w.size)
    factor = np.mean(psi ** 2) * dof * np.mean(wt) / np.mean(dpsi) ** 2
    return w, sigma * np.sqrt(factor * inv), sigma * math.sqrt(resid.size / (resid.size - w.size))


def judge_uncertainty(info: dict, w: np.ndarray, uncertainty: float, ident_tol: float) -> None:
    """Record the rounding uncertainty in ``info`` and mark the answer not identifiable when it
    exceeds ``ident_tol * max(1, max|w|)`` (the one rule for every solver path)."""
    info["uncertainty"] = float(uncertainty)
    if uncertainty > ident_tol * max(1.0, float(np.abs(w).max(initial=0.0))):
        info["identifiable"] = False


def _lstsq_info(w: np.ndarray, diag: dict, residual: float, unc: float, n_rows: int, n: int, j: int,
                n_spikes: int, t0: float, ident_tol: float, noise: float = float("nan"),
                weighting: str = "none") -> dict:
    info = dict(method="lstsq", status="solved", n_rows=int(n_rows), n_inequalities=0, n_unknowns=int(n),
                rank=int(diag["rank"]), condition=float(diag["condition"]), residual=float(residual),
                identifiable=bool(diag["identifiable"]), iterations=0, polish_status=0,
                time=time.perf_counter() - t0, neuron=int(j), n_spikes=int(n_spikes),
                noise=float(noise), weighting=weighting)
    judge_uncertainty(info, w, unc, ident_tol)
    return info


def _cumulative_errors(rows: NeuronRows, errors: np.ndarray) -> sp.csr_matrix:
    """Errors of the running-sum rows: row ``k`` of an example carries the errors of its rows ``<= k``."""
    blocks = []
    for e in np.unique(rows.example):
        m = rows.example == e
        blocks.append(np.tril(np.ones((int(m.sum()),) * 2)) * errors[m][None, :])
    return sp.block_diag(blocks, format="csr") if blocks else sp.csr_matrix((0, 0))


def _weighted_system(examples: list, R: NeuronRows, j: int, bias: float, opts: dict, mode: Any,
                     w1: np.ndarray | None = None, keep: np.ndarray | None = None, leak: tuple | None = None) -> tuple:
    """The rows a neuron's problem solves, ``(A, r, S)`` (``S``: row weights or None), and the same
    system weighted as a dense matrix with the factor of its rounding errors, ``(Y, c, Z)``: the
    uncertainty of either solver path is that of the system actually solved. ``mode``: None,
    "jitter" (with the first solve's ``w1`` when given) or a callable; also returns the jitter
    per unit error of the solved rows."""
    errors = row_rounding_errors(R, bias)
    if mode == "jitter" and leak is not None and leak[2] > 0:
        A, r, Z = _leaky_jitter_system(examples, R, bias, opts, w1, keep, *leak, errors)
        S, scale = None, 1.0
    elif mode == "jitter":
        A, r, S, scale = _jitter_system(examples, R, bias, opts, w1, keep)
        Z = _cumulative_errors(R, errors)
    else:
        A, r, S = R.A, R.r, _row_weights(mode, j, R)
        Z = errors
        scale = _plain_scale(R.r, R.length, bias)
    Y = A.toarray() if sp.issparse(A) else np.array(A, dtype=float)
    c = r
    if S is not None:
        sw = np.sqrt(S)
        Y *= sw[:, None]
        c = r * sw
        Z = sp.diags(sw) @ Z if sp.issparse(Z) else Z * sw
    return A, r, S, Y, c, Z, scale


def _fit_chunk(examples: list, neurons: Neurons, js: np.ndarray, opts: dict) -> list[tuple[np.ndarray, dict]]:
    """Build and solve the problems of a chunk of neurons from dense or sparse rows (runs in a worker).

    ``examples`` and ``neurons`` hold the chunk's neurons only; ``js`` are their indices in the layer.
    With ``opts["mask"]``, each neuron's weights outside its mask are fixed at 0 (their columns dropped).
    """
    rows = layer_rows(examples, neurons, inequalities=opts["inequalities"],
                      n_points=opts["n_points"], margin=opts["margin"])
    out = []
    prev = None
    shared: dict = {}          # what the chunk's neurons share, computed when first needed
    for q, (j, R) in enumerate(zip(js, rows)):
        keep = None if opts.get("mask") is None else np.flatnonzero(opts["mask"][q])
        lo, hi = opts["lo"][q], opts["hi"][q]
        n_in = R.n_inputs
        if keep is not None:
            R = replace(R, A=R.A[:, keep], G=R.G[:, keep])
            lo, hi = lo[keep], hi[keep]
        warm = None if prev is None else (prev if keep is None else prev[keep])
        if keep is None or keep.size:
            tau = float(neurons.tau[q])
            leak = (float(neurons.kappa[q]), float(neurons.delta[q]), 0.0 if math.isinf(tau) else 1.0 / tau)
            w, info, se = _fit_one(examples, R, int(j), float(neurons.bias[q]), lo, hi, warm, keep, opts, leak,
                                   shared)
        else:
            w, info, se = _nothing_to_fit(R, int(j), opts)
        if keep is not None:
            w_full, se_full = np.zeros(n_in), np.zeros(n_in)
            w_full[keep], se_full[keep] = w, se
            w, se = w_full, se_full
        prev = w
        out.append((w, info, se))
    return out


def _nothing_to_fit(R: NeuronRows, j: int, opts: dict) -> tuple:
    """A neuron whose mask leaves no weight to learn."""
    t0 = time.perf_counter()
    w, diag, res, unc = svd_solve(np.zeros((R.n_rows, 0)), np.zeros(R.n_rows), inverse_diagonal=True)
    return w, _lstsq_info(w, diag, float(np.linalg.norm(R.r)), 0.0, R.n_rows, 0, j, R.n_spikes, t0,
                          opts["ident_tol"]), np.zeros(0)


def _fit_one(examples: list, R: NeuronRows, j: int, bias: float, lo: np.ndarray, hi: np.ndarray,
             prev: np.ndarray | None, keep: np.ndarray | None, opts: dict, leak: tuple | None = None,
             shared: dict | None = None) -> tuple:
    """One neuron's weights, report and standard errors from its rows (``keep``: its learned inputs;
    ``shared``: a cache of what the neurons of one chunk share)."""
    t0 = time.perf_counter()
    mode, first, w1 = opts["row_weights"], None, None
    if mode == "auto":
        # exact spikes: the unweighted rows' answer is exact (and best conditioned); noisy
        # spikes: GLS for jitter, the drive at the spikes from this first answer
        system = _weighted_system(examples, R, int(j), bias, opts, None, keep=keep)
        first = _solve(*system[3:6], 0.0, int(j), opts)
        if _is_exact(first[2], row_rounding_errors(R, bias)):
            mode = None
        else:
            mode, w1, first = "jitter", first[0], None
    if mode is not None or first is None:
        system = _weighted_system(examples, R, int(j), bias, opts, mode, w1, keep=keep, leak=leak)
    A, r, S, Y, c, Z, scale = system
    weighting = "gls" if mode == "jitter" else ("none" if mode is None else "callable")
    res = Y @ _solve(Y, c, Z, 0.0, int(j), opts, bars=False)[0] - c if mode == "jitter" and R.n_rows else None
    g = np.ones(R.n_rows)
    if res is not None and not _is_exact(float(np.linalg.norm(res)), Z):
        # each example's own jitter level, from its share of a first GLS answer's residual
        n_ex = len(examples)
        g = _example_scales(np.bincount(R.example, weights=res ** 2, minlength=n_ex),
                            np.bincount(R.example, minlength=n_ex), R.n_inputs)[R.example]
        Y, c, S = Y / g[:, None], c / g, (1.0 if S is None else S) / g ** 2
        Z = sp.diags(1.0 / g) @ Z if sp.issparse(Z) else Z / (g[:, None] if Z.ndim == 2 else g)
    if opts["method"] == "lstsq":
        w, diag, res, unc = first if first is not None else _solve(Y, c, Z, 0.0, int(j), opts)
        se, noise = _error_bars(diag, res, R.n_rows, R.n_inputs, scale)
        if mode == "jitter" and (leak is None or leak[2] == 0) and diag["identifiable"]:
            # delta arrivals: the spike times themselves, arrivals and arrival-triggered spikes included
            shared = {} if shared is None else shared
            if "arrivals" not in shared:
                shared["arrivals"] = [_delta_arrival_table(inp) for inp, _ in examples]
            refined = _refine_delta_gls(shared["arrivals"], examples, R, A, r, w, bias, keep, g, noise, int(j),
                                        opts)
            if refined is not None:
                w, se, noise = refined
        return w, _lstsq_info(w, diag, res, unc, R.n_rows, R.n_inputs, int(j), R.n_spikes, t0,
                              opts["ident_tol"], noise, weighting), se
    w, info = solve_osqp(A, r, ridge=opts["ridge"], lasso=opts["lasso"], lower=lo,
                         upper=hi, G=R.G if opts["inequalities"] else None,
                         h=R.h if opts["inequalities"] else None, row_weights=S,
                         warm_start=prev if opts["warm_start"] else None, rcond=opts["rcond"],
                         settings=opts["osqp_settings"])
    info["neuron"] = int(j)
    info["n_spikes"] = int(R.n_spikes)
    # the rounding uncertainty and the error bars of the weighted system OSQP solved (the
    # unconstrained GLS covariance at the estimate: exact when no constraint is active)
    if info["identifiable"]:
        _, diag, _, unc = _solve(Y, c, Z, 0.0, int(j), opts)
        se, noise = _error_bars(diag, info["residual"], R.n_rows, R.n_inputs, scale)
    else:
        unc, se, noise = float("inf"), np.full(R.n_inputs, np.inf), float("nan")
    info["noise"] = noise
    info["weighting"] = weighting
    judge_uncertainty(info, w, unc, opts["ident_tol"])
    return w, info, se


# --------------------------------------------------------------------------- factored analog rows

def _as_fourier(inputs: Any) -> FourierSignals | None:
    """The inputs as a Fourier bank when they are one (or spikes through a periodic low-pass kernel)."""
    if isinstance(inputs, FourierSignals):
        return inputs
    if isinstance(inputs, SpikeInput) and isinstance(inputs.kernel, PeriodicLowpass):
        return inputs.to_fourier()
    return None


def _real_bases(banks: list[FourierSignals]) -> tuple[list[tuple[float, int, np.ndarray]], np.ndarray]:
    """Real coefficients of every example, ``x(t) . w = phi(t) . (P_e w)``, ``phi = [1, 2 cos, -2 sin]``.

    Returns one ``(period, M, kept columns)`` per example and ``P`` of shape
    ``(n_examples, r, n_in)`` (identically zero columns of the ``2M + 1`` dropped,
    then zero-padded to the largest ``r``).
    """
    meta, mats = [], []
    for x in banks:
        C, M = x.coefficients, x.n_harmonics
        P = np.concatenate([C[:, M:M + 1].real, C[:, M + 1:].real, C[:, M + 1:].imag], axis=1).T
        keep = np.flatnonzero(np.any(P != 0, axis=1))
        meta.append((x.period, M, keep))
        mats.append(P[keep])
    r = max(1, max(m.shape[0] for m in mats))
    Pt = np.zeros((len(mats), r, banks[0].n_signals))
    for e, m in enumerate(mats):
        Pt[e, :m.shape[0]] = m
    return meta, Pt


def _basis_columns(Ec: np.ndarray, M: int, keep: np.ndarray, r: int) -> np.ndarray:
    """``[Re E_0, 2 Re E_m, -2 Im E_m]`` (m = 1..M) restricted to ``keep`` and padded to ``r`` columns."""
    full = np.concatenate([Ec[:, M:M + 1].real, 2.0 * Ec[:, M + 1:].real, -2.0 * Ec[:, M + 1:].imag], axis=1)
    out = np.zeros((Ec.shape[0], r))
    out[:, :keep.size] = full[:, keep]
    return out


def _analog_intervals(times: np.ndarray, counts: np.ndarray, kappa: np.ndarray, delta: np.ndarray,
                      bias: np.ndarray, v0: np.ndarray, lam: np.ndarray):
    """Equality intervals of a chunk's neurons in one example, vectorised over all spikes.

    ``times`` are grouped by neuron (``counts`` each, sorted). Returns ``a, b, r, q``
    (start, end, right-hand side, local neuron of each row), the rows of
    :func:`tem_sim.constraints.layer_rows` (per neuron through its ``_intervals`` when
    a neuron repeats a spike at the same instant).
    """
    nq = counts.size
    q = np.repeat(np.arange(nq), counts)
    first = np.zeros(times.size, dtype=bool)
    first[(np.cumsum(counts) - counts)[counts > 0]] = True
    prev = np.empty_like(times)
    prev[1:] = times[:-1]
    prev[first] = 0.0
    if np.any(~first & (times - prev <= _JUMP_TOL * np.maximum(1.0, np.abs(times)))):
        parts = []
        off = np.concatenate([[0], np.cumsum(counts)])
        for k in range(nq):
            t = times[off[k]:off[k + 1]]
            jump = np.zeros(t.size, dtype=bool)
            if t.size:
                jump[1:] = np.diff(t) <= _JUMP_TOL * np.maximum(1.0, np.abs(t[1:]))
            eq, _ = _intervals(t, jump, 0.0, float(kappa[k]), float(delta[k]), float(bias[k]), float(v0[k]),
                               float(lam[k]), False, 1, 0.0)
            parts.append((eq[0], eq[1], eq[2], np.full(eq[0].size, k)))
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))
    h = times - prev
    va = np.where(first, v0[q], -delta[q])
    lq = lam[q]
    decay = np.exp(-lq * h)
    gain = h * _phi(np.asarray(lq * h, dtype=float))
    r = kappa[q] * (delta[q] - va * decay) - bias[q] * gain
    return prev, times, r, q


def _harmonics_at(meta: list, r: int, b: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Basis values ``phi(b)`` and derivatives ``phi'(b)`` at times ``b`` of examples ``e`` (rows of
    the GLS for jitter: the drive and its slope at the spikes are ``phi . P w``, ``phi' . P w``)."""
    phi, dphi = np.zeros((b.size, r)), np.zeros((b.size, r))
    for k in np.unique(e):
        period, M, keep = meta[k]
        m = e == k
        om = 2.0 * np.pi * np.arange(-M, M + 1) / period
        ph = np.exp(1j * np.outer(np.mod(b[m], period), om))
        phi[m] = _basis_columns(ph, M, keep, r)
        dphi[m] = _basis_columns(ph * (1j * om)[None, :], M, keep, r)
    return phi, dphi


def _chunk_rows(meta: list, r: int, trains: list, params: tuple) -> dict:
    """Every row of a chunk over all examples, in the factored form (``F``, never ``F P``)."""
    kappa, delta, bias, v0, tau = params
    lam = np.where(np.isfinite(tau), 1.0 / np.where(np.isfinite(tau), tau, 1.0), 0.0)
    acc: dict[str, list] = {k: [] for k in ("F", "r", "err", "q", "e", "h", "b")}
    for e, ((period, M, keep), (times, counts)) in enumerate(zip(meta, trains)):
        a, b, rhs, q = _analog_intervals(times, counts, kappa, delta, bias, v0, lam)
        bank = FourierSignals(np.zeros((1, 2 * M + 1)), period)       # harmonics only
        Ec = np.empty((a.size, 2 * M + 1), dtype=np.complex128)
        lq = lam[q]
        perfect = lq == 0
        if np.any(perfect):
            Ec[perfect] = bank.harmonic_integrals(a[perfect], b[perfect])
        if np.any(~perfect):
            Ec[~perfect] = _leaky_harmonic_integrals(bank, a[~perfect], b[~perfect], lq[~perfect])
        acc["F"].append(_basis_columns(Ec, M, keep, r))
        acc["err"].append(_interval_rounding_errors(a, b, rhs, bias[q]))
        acc["r"].append(rhs)
        acc["h"].append(b - a)
        acc["q"].append(q)
        acc["e"].append(np.full(a.size, e))
        acc["b"].append(b)
    out = {k: (np.concatenate(v) if v else None) for k, v in acc.items()}
    out["order"] = np.argsort(out["q"] * len(meta) + out["e"], kind="stable")
    out["offsets"] = np.concatenate([[0], np.cumsum(np.bincount(out["q"], minlength=params[0].size))])
    return out


def _compress(F: np.ndarray, rhs: np.ndarray, Pt: np.ndarray, D: np.ndarray | None = None,
              sw: np.ndarray | None = None, per_example: bool = False):
    """Per example QR of ``[F | rhs]``: the compressed system ``(Y, c)``, error factors and dropped residual.

    ``F, rhs`` of shape ``(n_examples, K, r)``, ``(n_examples, K)`` (zero-padded rows).
    With ``D`` (rounding errors of the rows, ``(n_examples, K)``), also the factors
    ``N_e = Q_e' Z_e`` of the compressed rows' errors, where ``Z_e = diag(D_e)``, or
    ``diag(sw_e) L diag(D_e)`` (``L``: running sums) when ``sw`` is given: the rows
    are then the weighted running sums of the jitter system. With ``per_example``, also
    each example's dropped squared residual.
    """
    n_ex, K, r = F.shape
    Q, Rf = np.linalg.qr(np.concatenate([F, rhs[..., None]], axis=2), mode="reduced")
    rr = min(K, r)
    T = Rf[:, :rr, :r]
    rho2 = float(np.sum(Rf[:, r, r] ** 2)) if K > r else 0.0
    N = None
    if D is not None:
        M = Q[:, :, :rr]
        if sw is not None:                    # (Q' diag(sw) L)[:, l] = sum over k >= l of sw_k Q[k, :]
            M = np.cumsum((M * sw[..., None])[:, ::-1], axis=1)[:, ::-1]
        N = np.ascontiguousarray((M * D[..., None]).transpose(0, 2, 1))
    out = (np.matmul(T, Pt).reshape(n_ex * rr, Pt.shape[2]), Rf[:, :rr, r].reshape(-1), N, rho2)
    if per_example:
        return out + ((Rf[:, r, r] ** 2) if K > r else np.zeros(n_ex),)
    return out


def _fit_chunk_analog(meta: list, Pt: np.ndarray, trains: list, params: tuple, js: np.ndarray,
                      opts: dict) -> list[tuple[np.ndarray, dict]]:
    """Least squares for a chunk of neurons fed by analog inputs, from the factored rows (runs in a worker).

    ``trains[e] = (times grouped by neuron, counts)`` for the chunk's neurons,
    ``params = (kappa, delta, bias, v0, tau)`` of the chunk, ``js`` their indices in the layer.
    """
    mode = opts["row_weights"]
    n_ex, r, n = Pt.shape
    rows = _chunk_rows(meta, r, trains, params)
    bias = params[2]
    out = []
    for q, j in enumerate(js):
        t0 = time.perf_counter()
        n_spikes = int(sum(int(c[q]) for _, c in trains))
        sel = rows["order"][rows["offsets"][q]:rows["offsets"][q + 1]]
        K = sel.size
        if K == 0:
            w, diag, res, unc = svd_solve(np.zeros((0, n)), np.zeros(0), rcond=opts["rcond"], inverse_diagonal=True)
            out.append((w, _lstsq_info(w, diag, res, unc, 0, n, int(j), n_spikes, t0, opts["ident_tol"]),
                        np.full(n, np.inf)))
            continue
        ee = rows["e"][sel]
        cnt = np.bincount(ee, minlength=n_ex)
        pos = np.arange(K) - (np.cumsum(cnt) - cnt)[ee]
        Kmax = int(cnt.max())
        valid = np.zeros((n_ex, Kmax), dtype=bool)
        valid[ee, pos] = True
        ee_valid = np.nonzero(valid)[0]
        F = np.zeros((n_ex, Kmax, r))
        F[ee, pos] = rows["F"][sel]
        rhs = np.zeros((n_ex, Kmax))
        rhs[ee, pos] = rows["r"][sel]
        D = np.zeros((n_ex, Kmax))
        D[ee, pos] = rows["err"][sel]
        first, w1, gls, redo = None, None, mode == "jitter", False
        if mode in ("auto", None):
            first = _solve(*_compress(F, rhs, Pt, D), int(j), opts)
            scale = _plain_scale(rows["r"][sel], rows["h"][sel], bias[q])
            if mode == "auto" and not _is_exact(first[2], D[valid]):
                # noisy spikes: GLS for jitter, the drive at the spikes from this first answer
                # (a leaky neuron's is solved from its dense rows: redo)
                gls, w1 = params[4][q] == np.inf, first[0]
                redo = not gls
        if gls:
            # feasible GLS (see _jitter_system): running sums from t = 0, weighted by 1 / u(t_k)^2
            F = np.cumsum(F, axis=1) * valid[..., None]
            rhs = np.cumsum(rhs, axis=1) * valid
            if w1 is None:
                Y1, c1, _, rho1 = _compress(F, rhs, Pt)
                w1 = _solve(Y1, c1, None, rho1, int(j), opts, bars=False)[0]
            phi, dphi = np.zeros((n_ex, Kmax, r)), np.zeros((n_ex, Kmax, r))
            phi[ee, pos], dphi[ee, pos] = _harmonics_at(meta, r, rows["b"][sel], ee)
            g = np.ones(n_ex)
            for final in (False, True):
                # the drive at the spikes the answer predicts (one Newton step from the observed,
                # jittered times: the running-sum residual is u eps): weights not correlated with eps
                Pw = Pt @ w1
                u = np.einsum("ekr,er->ek", phi, Pw) + bias[q]
                if final:
                    eps = (np.einsum("ekr,er->ek", F, Pw) - rhs) / np.where(u != 0, u, 1.0)
                    u = u - np.einsum("ekr,er->ek", dphi, Pw) * eps
                S = 1.0 / _floor_drive(u[valid]) ** 2
                scale = float(np.sqrt(S.mean()))
                sw = np.zeros((n_ex, Kmax))
                sw[valid] = np.sqrt(S / S.mean()) / g[ee_valid]
                Y, c, N, rho2, rho2_e = _compress(F * sw[..., None], rhs * sw, Pt, D, sw, per_example=True)
                first = _solve(Y, c, N, rho2, int(j), opts, bars=final)
                if final or _is_exact(first[2], N):
                    break
                # once more with the drive from this (efficient) answer and each example's own
                # jitter level (trials differ), from its share of the residual
                rss_e = rho2_e + ((Y @ first[0] - c) ** 2).reshape(n_ex, -1).sum(axis=1)
                g = g * _example_scales(rss_e, cnt, n)
                w1 = first[0]
            if not final:
                first = _solve(Y, c, N, rho2, int(j), opts)
        w, diag, res, unc = first
        se, noise = _error_bars(diag, res, K, n, scale)
        info = _lstsq_info(w, diag, res, unc, K, n, int(j), n_spikes, t0, opts["ident_tol"], noise,
                           "gls" if gls else "none")
        if redo:
            info["_redo"] = True
        out.append((w, info, se))
    return out


# --------------------------------------------------------------------------- chunks and executors

def _chunk_trains(st: SpikeTrains, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Spike times of neurons ``lo .. hi - 1`` grouped by neuron, and their counts."""
    order, off = st._index()
    return np.ascontiguousarray(st.times[order[off[lo]:off[hi]]]), np.diff(off[lo:hi + 1])


def _select_examples(examples: list, idx: np.ndarray) -> list:
    """The examples with the output spikes of the (sorted) neurons ``idx`` only, renumbered ``0 ..``."""
    out = []
    for inp, st in examples:
        m = np.isin(st.indices, idx)
        out.append((inp, SpikeTrains(st.times[m], np.searchsorted(idx, st.indices[m]), idx.size, st.t_start,
                                     st.t_stop, sort=False)))
    return out


def _sub_examples(examples: list, lo: int, hi: int) -> list:
    """The examples with the output spikes of neurons ``lo .. hi - 1`` only (renumbered from 0)."""
    out = []
    for inp, st in examples:
        m = (st.indices >= lo) & (st.indices < hi)
        out.append((inp, SpikeTrains(st.times[m], st.indices[m] - lo, hi - lo, st.t_start, st.t_stop, sort=False)))
    return out


def _stop_workers(executor: Executor) -> None:
    """After Ctrl-C: shut a process pool down and end its workers (a running chunk cannot be interrupted)."""
    if not isinstance(executor, ProcessPoolExecutor):
        return
    if hasattr(executor, "terminate_workers"):          # Python >= 3.14
        executor.terminate_workers()
        return
    procs = list((getattr(executor, "_processes", None) or {}).values())
    manager = getattr(executor, "_executor_manager_thread", None)     # shutdown() forgets it
    executor.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=10)                               # reap them: no zombies left behind
    if manager is not None:                              # it sees the ended workers and cleans up
        manager.join(timeout=10)


def _chunk(fn: Callable, *args: Any) -> Any:
    """Run one chunk with single-threaded BLAS: a multi-threaded BLAS may round differently, and
    the answer must not depend on the process (serial, pool or Dask worker) that computes it."""
    with _one_blas_thread():
        return fn(*args)


def _run(executor: Executor | None, tasks: list) -> list:
    """Run ``(fn, *args)`` tasks serially or on ``executor``; results in task order.

    On any exception the tasks not yet started are cancelled; on KeyboardInterrupt a
    process pool is also shut down and its workers terminated before re-raising.
    """
    if executor is None:
        return [_chunk(*task) for task in tasks]
    futures = []
    try:
        for task in tasks:
            futures.append(executor.submit(_chunk, *task))
        return [f.result() for f in futures]
    except BaseException as exc:
        for f in futures:
            f.cancel()
        if isinstance(exc, KeyboardInterrupt):
            _stop_workers(executor)
        raise


def _check_mask(mask: Any, n_out: int, n_in: int) -> np.ndarray | None:
    """fit_layer's ``mask`` as an ``(n_out, n_in)`` boolean array, or None when nothing is masked."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != bool or m.shape not in ((n_in,), (n_out, n_in)):
        raise ValidationError("mask", f"array of dtype {m.dtype} and shape {m.shape}",
                              f"booleans of shape ({n_in},) or ({n_out}, {n_in})")
    return None if m.all() else np.broadcast_to(m, (n_out, n_in))


def _resolve_row_weights(row_weights: Any, ridge: float, lasso: float, neurons: Neurons) -> Any:
    """Check ``row_weights``; "auto" is the noise-optimal estimator where it applies (TEM conventions,
    no penalty), plain rows elsewhere."""
    if not (row_weights is None or (isinstance(row_weights, str) and row_weights in ("jitter", "auto"))
            or callable(row_weights)):
        raise ValidationError("row_weights", row_weights, "'auto', None, 'jitter' or a callable f(j, rows)")
    if isinstance(row_weights, str) and row_weights == "auto" and (ridge > 0 or lasso > 0 or not neurons.is_tem):
        return None
    if isinstance(row_weights, str) and not neurons.is_tem:
        raise ValidationError("row_weights", row_weights, "None or a callable for neurons with a reset value "
                              "or a refractory period ('jitter' assumes consecutive spike intervals)")
    return row_weights


def _layer_tasks(ex: list, neurons: Neurons, opts: dict, chunk_size: int, lo: np.ndarray, hi: np.ndarray,
                 mask: np.ndarray | None) -> list:
    """One task per chunk of neurons: the vectorised analog rows where they apply (least squares,
    Fourier inputs, TEM conventions, no mask), else the rows of layer_rows."""
    n_out = neurons.n
    spans = [(s, min(s + chunk_size, n_out)) for s in range(0, n_out, chunk_size)]
    row_weights = opts["row_weights"]
    fast = (opts["method"] == "lstsq" and row_weights in (None, "jitter", "auto") and mask is None
            and not (row_weights == "jitter" and np.any(neurons.is_leaky)) and neurons.is_tem)
    banks = [_as_fourier(inp) for inp, _ in ex] if fast else []
    if banks and all(b is not None for b in banks):
        meta, Pt = _real_bases(banks)
        par = (neurons.kappa, neurons.delta, neurons.bias, neurons.v0, neurons.tau)
        return [(_fit_chunk_analog, meta, Pt, [_chunk_trains(st, a, b) for _, st in ex],
                 tuple(np.array(p[a:b]) for p in par), np.arange(a, b), opts) for a, b in spans]
    return [(_fit_chunk, _sub_examples(ex, a, b), neurons.subset(slice(a, b)), np.arange(a, b),
             dict(opts, lo=lo[a:b], hi=hi[a:b], mask=None if mask is None else mask[a:b])) for a, b in spans]


def _redo_noisy_leaky(pairs: list, ex: list, neurons: Neurons, opts: dict, chunk_size: int,
                      lo: np.ndarray, hi: np.ndarray, executor: Executor | None) -> None:
    """Leaky neurons with noisy spikes that the analog path flagged: their GLS from the dense rows
    (whitened by the Jacobian), in place in ``pairs``."""
    redo = np.array([k for k, (_, d, _) in enumerate(pairs) if d.pop("_redo", False)], dtype=int)
    if not redo.size:
        return
    sub = [redo[k:k + chunk_size] for k in range(0, redo.size, chunk_size)]
    again = _run(executor, [(_fit_chunk, _select_examples(ex, idx), neurons.subset(idx), idx,
                             dict(opts, row_weights="jitter", lo=lo[idx], hi=hi[idx], mask=None))
                            for idx in sub])
    for idx, chunk in zip(sub, again):
        for k, p in zip(idx, chunk):
            pairs[k] = p


def _find_confounded(infos: list, ex: list, neurons: Neurons, n_in: int, rcond: float, warn: bool) -> dict:
    """fit_bias: the inputs each undetermined neuron's bias cannot be told apart from (warned about)."""
    confounded: dict = {}
    for d in infos:
        if not d["identifiable"]:
            inputs = _confounded_inputs(ex, neurons, d["neuron"], n_in, rcond)
            if inputs:
                confounded[d["neuron"]] = inputs
    if confounded and warn:
        desc = "; ".join(f"neuron {j}: inputs {v}" for j, v in list(confounded.items())[:10])
        warnings.warn(f"fit_bias: the bias of {len(confounded)} of {neurons.n} neurons cannot be told apart from "
                      f"their inputs ({desc}): a combination of these inputs is (nearly) constant over the "
                      "neuron's intervals. Give the bias (fit_bias=False) or use inputs that vary.",
                      IdentifiabilityWarning, stacklevel=3)
    return confounded


def _warn_about(infos: list, n_out: int) -> None:
    """The warnings of fit_layer: undetermined weights, inaccurate OSQP answers."""
    bad = [d for d in infos if not d["identifiable"]]
    if bad:
        desc = "; ".join(f"neuron {d['neuron']}: {d['n_spikes']} spikes, rank {d['rank']}/{d['n_unknowns']}"
                         for d in bad[:10])
        warnings.warn(f"weights not determined by the data for {len(bad)} of {n_out} neurons ({desc}); "
                      "the answer is the minimum-norm/regularised one. Add examples or duration.",
                      IdentifiabilityWarning, stacklevel=3)
    inacc = [d["neuron"] for d in infos if d["status"] != "solved"]
    if inacc:
        warnings.warn(f"OSQP returned inaccurate solutions for neurons {inacc}", RuntimeWarning, stacklevel=3)


def fit_layer(examples: Sequence[tuple[Any, Any]], neurons: Neurons, *, method: str = "auto",
              ridge: float = 0.0, lasso: float = 0.0, bounds: Any = None, sign: Any = None,
              inequalities: bool = False, n_points: int = 8, margin: float = 0.0,
              row_weights: str | Callable[[int, NeuronRows], np.ndarray] | None = "auto",
              rcond: float = DEFAULT_RCOND, executor: Executor | None = None, chunk_size: int | None = None,
              warm_start: bool = True, osqp_settings: dict | None = None, ident_tol: float = DEFAULT_IDENT_TOL,
              std_errors: bool = True, fit_bias: bool = False, mask: Any = None, warn: bool = True) -> FitResult:
    """Learn a layer's weights from the inputs and output spike times of examples.

    Parameters
    ----------
    examples : sequence of (inputs, output_spikes)
        ``inputs``: a :class:`~tem_sim.signals.FourierSignals` (analog) or a
        :class:`~tem_sim.constraints.SpikeInput`; ``output_spikes``: the layer's
        :class:`~tem_sim.spikes.SpikeTrains` on ``[0, t_stop]``. All examples share the weights.
    neurons : Neurons
        The output neurons' parameters (``neurons.n`` outputs).
    method : {"auto", "lstsq", "osqp"}, default "auto"
        ``"auto"`` uses LAPACK least squares for unconstrained problems and OSQP otherwise.
    ridge, lasso : float, default 0
        ``lambda_2`` (L2) and ``lambda_1`` (L1, OSQP only) penalties.
    bounds : (lower, upper), optional
        Bounds on the weights; each a scalar, shape ``(n_in,)`` or ``(n_out, n_in)``, or None.
    sign : scalar or array, optional
        Dale's law: ``+1`` weight >= 0, ``-1`` weight <= 0, ``0`` free; scalar, ``(n_in,)``
        (one sign per presynaptic neuron) or ``(n_out, n_in)``.
    inequalities : bool, default False
        Add the no-spike inequalities I1 (OSQP).
    n_points, margin : int, float
        Points per interval where I1 is imposed, and its slack (see
        :func:`~tem_sim.constraints.layer_rows`).
    row_weights : "auto", None, "jitter" or callable, default "auto"
        Weights of the equality rows. ``"jitter"`` (perfect neurons) is feasible
        generalised least squares (GLS) for noisy spike times: each example's
        equations are re-anchored at ``t = 0`` (running sums, so each row
        depends on one spike time and the errors are independent) and weighted
        by ``1 / u(t_k)^2``, the drive at the spike estimated by a first
        unweighted solve; for independent Gaussian jitter of the spike times it
        is the efficient estimator (its error attains the Cramer-Rao bound);
        with delta-synapse spike inputs its answer is refined on the spike
        times (see the module docstring: arrivals near a spike and
        arrival-triggered spikes; least squares only, not OSQP).
        ``"auto"`` first solves the unweighted rows; when their residual is at
        the level of rounding the spike times (exact spikes, within
        :data:`EXACT_RESIDUAL_FACTOR`) that answer is kept, otherwise the GLS is
        solved (perfect neurons, no ``ridge`` or ``lasso``; else unweighted). None:
        plain (unweighted) least squares. A callable ``f(j, rows) -> (n_rows,)``
        gives the weights of neuron ``j``'s rows
        (:class:`~tem_sim.constraints.NeuronRows`) explicitly.
    rcond : float, default 1e-10
        Singular values below ``rcond * sigma_max`` count as zero (numerical rank).
    executor : concurrent.futures.Executor, optional
        Runs the chunks of neurons (serial when None): a ``ProcessPoolExecutor``
        or a Dask ``Client.get_executor()``. Each chunk carries only its own
        neurons' spikes and runs with one BLAS thread (threadpoolctl), so the
        weights are bitwise the same serially and on any executor; use processes
        for parallelism. On Ctrl-C (KeyboardInterrupt) the chunks not yet
        started are cancelled and a ``ProcessPoolExecutor`` is shut down with
        its workers terminated (a running chunk cannot be interrupted
        otherwise), then the KeyboardInterrupt propagates.
    chunk_size : int, optional
        Neurons per task (default ``ceil(n_out / 16)``); results do not depend on it or on the executor.
    warm_start : bool, default True
        Start each OSQP solve from the previous neuron's weights in the same chunk.
    osqp_settings : dict, optional
        Overrides of :data:`tem_sim.solvers.OSQP_DEFAULTS`.
    ident_tol : float, default 1e-4
        A neuron is reported identifiable when its system has full numerical rank
        *and* the weight error that rounding the spike times to double precision
        alone would cause (``info["uncertainty"]``, an RMS estimate) is at most
        ``ident_tol * max(1, max|w|)`` -- e.g. an input negligible next to the
        bias leaves its weight undetermined even at full rank. The uncertainty
        is propagated through the row weighting actually solved (running sums
        and ``1 / u^2`` weights for ``"jitter"``). For least squares with more
        than :data:`SVD_MAX_INPUTS` inputs and a system of full numerical rank
        (condition below ``1e-2 / rcond``), the condition number is a Lanczos
        estimate (about 0.1 %) and the uncertainty an estimate from 32 random
        probes (about 15 %); otherwise both come exactly from one SVD.
    fit_bias : bool, default False
        Learn each neuron's bias with its weights (``neurons.bias`` is ignored): the bias
        enters every spike equation linearly, as the weight of a constant input. The
        answer is in :attr:`FitResult.bias` (and ``bias_std_errors``); the bias of a neuron
        whose inputs have a (nearly) constant combination over its intervals is not
        determined, which is reported in :attr:`FitResult.confounded` and warned about.
    mask : array_like of bool, optional
        Shape ``(n_in,)`` or ``(n_out, n_in)``: the weights to learn; the others are
        known to be 0 (absent connections, e.g. no self-connections) and are not
        unknowns of the problem (their standard errors are 0).
    std_errors : bool, default True
        Compute :attr:`FitResult.std_errors` (the diagonal of ``(Y'Y)^-1``: about a
        third of a solve's cost for wide layers) and ``info["noise"]``.
    warn : bool, default True
        Emit :class:`~tem_sim.exceptions.IdentifiabilityWarning` for undetermined neurons
        and a ``RuntimeWarning`` for inaccurate OSQP solutions.

    Returns
    -------
    FitResult

    Raises
    ------
    ValidationError
        Bad examples, neurons or options (before any solve).
    SolverError
        OSQP failed on some neuron (its status is attached).

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, encode
    >>> rng = np.random.default_rng(0)
    >>> W = rng.random((2, 3)); nrn = Neurons(2, bias=1.0)
    >>> xs = [FourierSignals.random_paper(3, 4, 10.0, seed=rng) for _ in range(2)]
    >>> fit = fit_layer([(x, encode(x, W, nrn, 10.0)) for x in xs], nrn)
    >>> bool(np.abs(fit.weights - W).max() < 1e-8), fit.identifiable.tolist()
    (True, [True, True])
    """
    if not isinstance(neurons, Neurons):
        raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
    ex = check_examples(examples, neurons.n)
    first = ex[0][0]
    n_in = first.n_signals if hasattr(first, "n_signals") else first.n_inputs
    n_out = neurons.n
    if method not in _METHODS:
        raise ValidationError("method", method, "one of " + ", ".join(map(repr, _METHODS)))
    ridge = as_scalar("ridge", ridge, nonnegative=True)
    lasso = as_scalar("lasso", lasso, nonnegative=True)
    rcond = as_scalar("rcond", rcond, nonnegative=True)
    ident_tol = as_scalar("ident_tol", ident_tol, positive=True, finite=False)
    n_points = as_int("n_points", n_points, minimum=1)
    margin = as_scalar("margin", margin, nonnegative=True)
    lo, hi, boxed = _box(bounds, sign, n_out, n_in)
    mask = _check_mask(mask, n_out, n_in)
    if fit_bias:
        # the bias is the weight of a constant input: neurons without bias, one more (free) input
        ex = [(_with_constant(inp), st) for inp, st in ex]
        neurons = Neurons(n_out, kappa=neurons.kappa, delta=neurons.delta, bias=0.0, v0=neurons.v0, tau=neurons.tau,
                          reset="subtract" if np.all(neurons.subtracts) else neurons.v_reset, t_ref=neurons.t_ref)
        lo = np.hstack([lo, np.full((n_out, 1), -np.inf)])
        hi = np.hstack([hi, np.full((n_out, 1), np.inf)])
        if mask is not None:
            mask = np.hstack([mask, np.ones((n_out, 1), dtype=bool)])
    row_weights = _resolve_row_weights(row_weights, ridge, lasso, neurons)
    constrained = boxed or lasso > 0 or bool(inequalities)
    if method == "lstsq" and constrained:
        raise ValidationError("method", method, "'osqp' or 'auto' when bounds, sign, lasso or inequalities are used")
    if osqp_settings is not None and not isinstance(osqp_settings, dict):
        raise ValidationError("osqp_settings", osqp_settings, "a dict of OSQP settings")
    resolved = method if method != "auto" else ("osqp" if constrained else "lstsq")
    if chunk_size is None:
        chunk_size = max(1, math.ceil(n_out / 16))
    chunk_size = as_int("chunk_size", chunk_size, minimum=1)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ValidationError("executor", executor, "a concurrent.futures.Executor (with .submit) or None")
    opts = dict(method=resolved, ridge=ridge, lasso=lasso, inequalities=bool(inequalities),
                n_points=n_points, margin=margin, row_weights=row_weights, rcond=rcond,
                warm_start=bool(warm_start), osqp_settings=osqp_settings, ident_tol=ident_tol,
                std_errors=bool(std_errors))
    tasks = _layer_tasks(ex, neurons, opts, chunk_size, lo, hi, mask)
    pairs = [p for chunk in _run(executor, tasks) for p in chunk]
    _redo_noisy_leaky(pairs, ex, neurons, opts, chunk_size, lo, hi, executor)
    W = np.vstack([w for w, _, _ in pairs]) if pairs else np.zeros((0, n_in))
    infos = [d for _, d, _ in pairs]
    if std_errors and not (ridge > 0 or lasso > 0):
        se = np.vstack([e for _, _, e in pairs]) if pairs else np.zeros((0, W.shape[1]))
    else:
        se = np.full(W.shape, np.nan)
    bias = bias_se = None
    confounded: dict = {}
    if fit_bias:
        W, bias, se, bias_se = W[:, :n_in], W[:, n_in].copy(), se[:, :n_in], se[:, n_in].copy()
        confounded = _find_confounded(infos, ex, neurons, n_in, rcond, warn)
    if warn:
        _warn_about(infos, n_out)
    return FitResult(weights=W, info=infos, std_errors=se, bias=bias, bias_std_errors=bias_se,
                     confounded=confounded)


def _with_constant(inputs: Any) -> Any:
    """The inputs with one more, constant, input ``x(t) = 1`` (whose weight is the bias)."""
    if isinstance(inputs, FourierSignals):
        one = np.zeros((1, inputs.coefficients.shape[1]), dtype=inputs.coefficients.dtype)
        one[0, inputs.n_harmonics] = 1.0
        return FourierSignals(np.vstack([inputs.coefficients, one]), inputs.period)
    const = FourierSignals.from_one_sided([[1.0]], 1.0)
    if isinstance(inputs, CombinedInputs):
        return CombinedInputs(inputs.parts + [const])
    return CombinedInputs([inputs, const])


def _confounded_inputs(examples: list, neurons: Neurons, j: int, n_in: int, rcond: float) -> list[int]:
    """Inputs whose combination a neuron's constant (bias) column is (nearly) equal to, from the
    right singular vector of its rows' smallest singular value: empty when the deficiency does
    not involve the bias."""
    A = layer_rows(examples, neurons, neuron_indices=np.array([j]))[0].A
    A = A.toarray() if sp.issparse(A) else np.asarray(A)
    if A.shape[0] < A.shape[1]:
        return []                          # too few spikes: everything is undetermined, not confounded
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    _, s, Vt = np.linalg.svd(A / scale, full_matrices=True)
    v = Vt[-1]
    if abs(v[n_in]) < 0.1 * np.abs(v).max():
        return []
    return [int(i) for i in np.flatnonzero(np.abs(v[:n_in]) >= 0.1 * np.abs(v).max())]
