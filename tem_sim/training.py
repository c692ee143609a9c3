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
"""
from __future__ import annotations

import math
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ._validation import as_float_array, as_int, as_scalar
from .constraints import NeuronRows, SpikeInput, check_examples, layer_rows
from .exceptions import IdentifiabilityWarning, ValidationError
from .kernels import Exponential, PeriodicLowpass
from .neurons import Neurons
from .solvers import DEFAULT_RCOND, INFO_KEYS, solve_lstsq, solve_osqp

__all__ = ["FitResult", "fit_layer", "FIT_INFO_KEYS", "DEFAULT_IDENT_TOL", "row_rounding_errors",
           "rounding_uncertainty"]

#: Keys of every per-neuron ``info`` dict of a :class:`FitResult`.
FIT_INFO_KEYS = INFO_KEYS + ("neuron", "n_spikes", "uncertainty")

#: Default of ``ident_tol``: weights whose rounding uncertainty exceeds this
#: (relative to ``max(1, max|w|)``) are reported as not determined.
DEFAULT_IDENT_TOL = 1e-4

_METHODS = ("auto", "lstsq", "osqp")


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
        uncertainty: the RMS weight error that rounding the spike times alone causes).
    """

    weights: np.ndarray
    info: list = field(default_factory=list)

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
    h = np.maximum(rows.length, np.finfo(float).tiny)
    a = rows.end - rows.length
    drive = (np.abs(rows.r) + abs(bias) * rows.length) / h
    return np.finfo(float).eps * (np.abs(a) + np.abs(rows.end)) * drive


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


def _input_values(inputs: Any, t: np.ndarray) -> np.ndarray:
    """Values ``x_i(t)`` of every input at the times ``t``, shape (len(t), n_in)."""
    if isinstance(inputs, SpikeInput):
        k = inputs.kernel
        if isinstance(k, PeriodicLowpass):
            return inputs.to_fourier().sample(t).T
        out = np.zeros((t.size, inputs.n_inputs))
        if isinstance(k, Exponential):
            for i in np.flatnonzero(inputs.spikes.counts()):
                out[:, i] = k.current(inputs.arrivals(int(i)), t)
        return out          # Delta: no current between arrivals (crossings happen between them)
    return inputs.sample(t).T


def _cumulative(rows: NeuronRows) -> tuple[Any, np.ndarray]:
    """Re-anchor each example's chained equations at t = 0 (running sums of its rows)."""
    A, r = rows.A, rows.r
    blocks, rhs = [], []
    for e in np.unique(rows.example):          # rows of an example are consecutive
        m = np.flatnonzero(rows.example == e)
        if sp.issparse(A):
            k = m.size
            blocks.append(sp.csr_matrix(np.tril(np.ones((k, k)))) @ A[m])
        else:
            blocks.append(np.cumsum(A[m], axis=0))
        rhs.append(np.cumsum(r[m]))
    if not blocks:
        return A, r
    return (sp.vstack(blocks, format="csr") if sp.issparse(A) else np.vstack(blocks)), np.concatenate(rhs)


def _jitter_system(examples: list, j: int, rows: NeuronRows, bias: float, opts: dict):
    """Feasible GLS for spike-time jitter: cumulative rows weighted by 1 / u(t_k)^2.

    Anchored at ``t = 0``, row ``k`` depends on one spike time only, so jitter
    ``eps_k`` perturbs it by ``u(t_k) eps_k``, independently of the other rows;
    the drive ``u`` at the spike times comes from a first unweighted solve.
    """
    C, rc = _cumulative(rows)
    w1, _ = solve_lstsq(C, rc, ridge=opts["ridge"], rcond=opts["rcond"])
    u = np.empty(rows.n_rows)
    for e, (inp, _) in enumerate(examples):
        m = rows.example == e
        if np.any(m):
            u[m] = _input_values(inp, rows.end[m]) @ w1 + bias
    u = np.maximum(np.abs(u), 1e-3 * np.abs(u).max()) if u.size else u
    S = 1.0 / u ** 2
    return C, rc, (S / S.mean() if S.size else S)


def _row_weights(spec: Any, j: int, rows: NeuronRows) -> np.ndarray | None:
    if spec is None or spec == "jitter":
        return None
    w = np.asarray(spec(j, rows), dtype=float)
    if w.shape != (rows.n_rows,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValidationError("row_weights", f"callable returning {w.shape}",
                              f"non-negative finite weights of shape ({rows.n_rows},) for neuron {j}")
    return w


def _fit_chunk(examples: list, neurons: Neurons, idx: np.ndarray, opts: dict) -> list[tuple[np.ndarray, dict]]:
    """Build and solve the problems of the neurons ``idx`` (runs in a worker)."""
    rows = layer_rows(examples, neurons, neuron_indices=idx, inequalities=opts["inequalities"],
                      n_points=opts["n_points"], margin=opts["margin"])
    out = []
    prev = None
    for j, R in zip(idx, rows):
        if opts["row_weights"] == "jitter":
            A, r, S = _jitter_system(examples, int(j), R, float(neurons.bias[j]), opts)
        else:
            A, r, S = R.A, R.r, _row_weights(opts["row_weights"], int(j), R)
        if opts["method"] == "lstsq":
            w, info = solve_lstsq(A, r, ridge=opts["ridge"], row_weights=S, rcond=opts["rcond"])
        else:
            w, info = solve_osqp(A, r, ridge=opts["ridge"], lasso=opts["lasso"], lower=opts["lo"][j],
                                 upper=opts["hi"][j], G=R.G if opts["inequalities"] else None,
                                 h=R.h if opts["inequalities"] else None, row_weights=S,
                                 warm_start=prev if opts["warm_start"] else None, rcond=opts["rcond"],
                                 settings=opts["osqp_settings"])
            prev = w
        info["neuron"] = int(j)
        info["n_spikes"] = int(R.n_spikes)
        unc = rounding_uncertainty(R.A, row_rounding_errors(R, float(neurons.bias[j])), opts["rcond"]) \
            if info["identifiable"] else float("inf")
        info["uncertainty"] = unc
        if unc > opts["ident_tol"] * max(1.0, float(np.abs(w).max(initial=0.0))):
            info["identifiable"] = False
        out.append((w, info))
    return out


def fit_layer(examples: Sequence[tuple[Any, Any]], neurons: Neurons, *, method: str = "auto",
              ridge: float = 0.0, lasso: float = 0.0, bounds: Any = None, sign: Any = None,
              inequalities: bool = False, n_points: int = 8, margin: float = 0.0,
              row_weights: str | Callable[[int, NeuronRows], np.ndarray] | None = None,
              rcond: float = DEFAULT_RCOND, executor: Executor | None = None, chunk_size: int | None = None,
              warm_start: bool = True, osqp_settings: dict | None = None, ident_tol: float = DEFAULT_IDENT_TOL,
              warn: bool = True) -> FitResult:
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
    row_weights : None, "jitter" or callable, optional
        Weights of the equality rows. ``"jitter"`` (perfect neurons) is feasible
        generalised least squares for noisy spike times: each example's
        equations are re-anchored at ``t = 0`` (running sums, so each row
        depends on one spike time and the errors are independent) and weighted
        by ``1 / u(t_k)^2``, the drive at the spike estimated by a first
        unweighted solve. A callable ``f(j, rows) -> (n_rows,)`` gives the
        weights of neuron ``j``'s rows (:class:`~tem_sim.constraints.NeuronRows`) explicitly.
    rcond : float, default 1e-10
        Singular values below ``rcond * sigma_max`` count as zero (numerical rank).
    executor : concurrent.futures.Executor, optional
        Runs the chunks of neurons (serial when None).
    chunk_size : int, optional
        Neurons per task (default ``ceil(n_out / 16)``); results do not depend on the executor.
    warm_start : bool, default True
        Start each OSQP solve from the previous neuron's weights in the same chunk.
    osqp_settings : dict, optional
        Overrides of :data:`tem_sim.solvers.OSQP_DEFAULTS`.
    ident_tol : float, default 1e-4
        A neuron is reported identifiable when its system has full numerical rank
        *and* the weight error that rounding the spike times to double precision
        alone would cause (``info["uncertainty"]``, an RMS estimate) is at most
        ``ident_tol * max(1, max|w|)`` -- e.g. an input negligible next to the
        bias leaves its weight undetermined even at full rank.
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
    if not (row_weights is None or (isinstance(row_weights, str) and row_weights == "jitter")
            or callable(row_weights)):
        raise ValidationError("row_weights", row_weights, "None, 'jitter' or a callable f(j, rows)")
    if isinstance(row_weights, str) and np.any(neurons.is_leaky):
        raise ValidationError("row_weights", row_weights, "None or a callable for leaky neurons "
                              "('jitter' re-anchors the equations at t = 0, which needs perfect integrators)")
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
    opts = dict(method=resolved, ridge=ridge, lasso=lasso, lo=lo, hi=hi, inequalities=bool(inequalities),
                n_points=n_points, margin=margin, row_weights=row_weights, rcond=rcond,
                warm_start=bool(warm_start), osqp_settings=osqp_settings, ident_tol=ident_tol)
    chunks = [np.arange(s, min(s + chunk_size, n_out)) for s in range(0, n_out, chunk_size)]
    if executor is None:
        results = [_fit_chunk(ex, neurons, c, opts) for c in chunks]
    else:
        futures = [executor.submit(_fit_chunk, ex, neurons, c, opts) for c in chunks]
        results = [f.result() for f in futures]
    pairs = [p for chunk in results for p in chunk]
    W = np.vstack([w for w, _ in pairs]) if pairs else np.zeros((0, n_in))
    infos = [d for _, d in pairs]
    if warn:
        bad = [d for d in infos if not d["identifiable"]]
        if bad:
            desc = "; ".join(f"neuron {d['neuron']}: {d['n_spikes']} spikes, rank {d['rank']}/{d['n_unknowns']}"
                             for d in bad[:10])
            warnings.warn(f"weights not determined by the data for {len(bad)} of {n_out} neurons ({desc}); "
                          "the answer is the minimum-norm/regularised one. Add examples or duration.",
                          IdentifiabilityWarning, stacklevel=2)
        inacc = [d["neuron"] for d in infos if d["status"] != "solved"]
        if inacc:
            warnings.warn(f"OSQP returned inaccurate solutions for neurons {inacc}", RuntimeWarning, stacklevel=2)
    return FitResult(weights=W, info=infos)
