"""Per-neuron least-squares solvers: a direct LAPACK path and OSQP quadratic programs.

Every solver takes one neuron's stacked equations ``A w = r`` (dense or sparse)
and returns ``(w, info)`` where ``info`` always has the keys of
:data:`INFO_KEYS` (Nengo's solver convention): the method, the status, the
numbers of rows and unknowns, the numerical rank and condition number of ``A``
(the identifiability report), the residual, the time taken and the iteration
count. :func:`solve_lstsq` is the unconstrained path (ridge allowed) through
LAPACK's SVD-based ``gelsd``; :func:`solve_osqp` solves

    minimise  1/2 ||A w - r||^2_S + 1/2 ridge ||w||^2 + lasso ||w||_1
    subject to  lower <= w <= upper,  G w <= h

with OSQP 1.x in the sparse auxiliary-variable form (``z = A w - r`` as extra
variables, so ``P`` is diagonal and the constraint matrix is as sparse as
``A``), polishing on and tight tolerances. OSQP's answer, even polished, is only
as accurate as its regularised iterations (on a system of condition 1e6 it was
off by 0.6 while reporting "solved"), so an exact active-set refinement follows:
the active set OSQP points to is solved by LAPACK and accepted only when it
meets the optimality (KKT) conditions; the status is then "solved", else
"solved inaccurate". A failed OSQP status raises
:class:`~tem_sim.exceptions.SolverError`; an inaccurate one is reported in
``info["status"]`` (the trainer turns it into a warning).
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np
import scipy.linalg as sla
from scipy.linalg import blas, lapack
import scipy.sparse as sp

from ._validation import as_float_array, as_scalar
from .exceptions import SolverError, ValidationError

__all__ = ["INFO_KEYS", "DEFAULT_RCOND", "OSQP_DEFAULTS", "diagnose", "solve_lstsq", "solve_osqp",
           "svd_solve", "cholesky_solve", "qr_solve", "FAST_MAX_CONDITION"]

#: Keys present in every solver's ``info`` dictionary.
INFO_KEYS = ("method", "status", "n_rows", "n_inequalities", "n_unknowns", "rank", "condition",
             "residual", "identifiable", "iterations", "polish_status", "time")

#: Singular values below ``DEFAULT_RCOND * sigma_max`` count as zero for the numerical rank.
DEFAULT_RCOND = 1e-10

#: OSQP settings used unless overridden: tight tolerances and polishing for weight recovery.
OSQP_DEFAULTS = dict(eps_abs=1e-10, eps_rel=1e-10, max_iter=100_000, polishing=True,
                     polish_refine_iter=20, verbose=False, scaling=10)

#: :func:`cholesky_solve` declines systems whose estimated condition number exceeds this
#: (the normal equations square it; iterative refinement recovers full accuracy well below it).
FAST_MAX_CONDITION = 1e6

_OK = "solved"


def _dense(A: Any) -> np.ndarray:
    return A.toarray() if sp.issparse(A) else np.asarray(A, dtype=float)


def diagnose(A: Any, rcond: float = DEFAULT_RCOND) -> dict[str, Any]:
    """Numerical rank and condition number of ``A`` from its singular values.

    Parameters
    ----------
    A : ndarray or sparse matrix, shape (K, n)
    rcond : float, default DEFAULT_RCOND
        Relative threshold for the numerical rank.

    Returns
    -------
    dict with ``rank``, ``condition`` (``inf`` when rank < n) and ``identifiable`` (rank == n).

    Examples
    --------
    >>> import numpy as np
    >>> d = diagnose(np.array([[1.0, 0.0], [0.0, 1e-3]]))
    >>> d["rank"], round(d["condition"]), d["identifiable"]
    (2, 1000, True)
    """
    M = _dense(A)
    n = M.shape[1]
    if M.shape[0] == 0 or n == 0:
        return dict(rank=0, condition=float("inf"), identifiable=n == 0)
    s = sla.svdvals(M, check_finite=False)
    return _from_singular(s, n, rcond)


def _from_singular(s: np.ndarray, n: int, rcond: float) -> dict[str, Any]:
    if s.size == 0 or s[0] == 0:
        return dict(rank=0, condition=float("inf"), identifiable=False)
    rank = int(np.sum(s > rcond * s[0]))
    cond = float(s[0] / s[-1]) if s.size == n and s[-1] > 0 else float("inf")
    return dict(rank=rank, condition=cond, identifiable=rank == n)


def _check_system(A: Any, r: Any, row_weights: Any) -> tuple[Any, np.ndarray, np.ndarray | None]:
    if not sp.issparse(A):
        A = as_float_array("A", A, ndim=2)
    elif not np.all(np.isfinite(A.data)):
        raise ValidationError("A", "a sparse matrix with NaN or inf", "finite")
    r = as_float_array("r", r, shape=(A.shape[0],))
    if row_weights is not None:
        row_weights = as_float_array("row_weights", row_weights, shape=(A.shape[0],))
        if np.any(row_weights < 0):
            raise ValidationError("row_weights", float(row_weights[row_weights < 0][0]), ">= 0")
    return A, r, row_weights


def _info(method: str, status: str, A: Any, n_ineq: int, diag: dict, residual: float,
          iterations: int, t0: float, polish: int = 0) -> dict[str, Any]:
    return dict(method=method, status=status, n_rows=int(A.shape[0]), n_inequalities=int(n_ineq),
                n_unknowns=int(A.shape[1]), rank=diag["rank"], condition=diag["condition"],
                residual=float(residual), identifiable=bool(diag["identifiable"]),
                iterations=int(iterations), polish_status=int(polish), time=time.perf_counter() - t0)


def solve_lstsq(A: Any, r: Any, *, ridge: float = 0.0, row_weights: Any = None,
                rcond: float = DEFAULT_RCOND) -> tuple[np.ndarray, dict[str, Any]]:
    """Minimise ``||A w - r||^2_S + ridge ||w||^2`` directly with LAPACK (``gelsd``).

    Rank-deficient systems get the minimum-norm solution (bounded), with
    ``info["identifiable"] = False``.

    Parameters
    ----------
    A : ndarray or sparse matrix, shape (K, n)
    r : ndarray, shape (K,)
    ridge : float, default 0
        ``lambda_2 >= 0``.
    row_weights : ndarray, shape (K,), optional
        Non-negative weights ``S`` of the rows.
    rcond : float, default DEFAULT_RCOND
        Relative singular-value threshold for the rank (and the truncation).

    Returns
    -------
    w : ndarray, shape (n,)
    info : dict with the keys of :data:`INFO_KEYS`

    Examples
    --------
    >>> import numpy as np
    >>> w, info = solve_lstsq(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.array([1.0, 4.0, 3.0]))
    >>> np.round(w, 12).tolist(), info["rank"], info["status"]
    ([1.0, 2.0], 2, 'solved')
    """
    t0 = time.perf_counter()
    A, r, row_weights = _check_system(A, r, row_weights)
    ridge = as_scalar("ridge", ridge, nonnegative=True)
    rcond = as_scalar("rcond", rcond, nonnegative=True)
    M = _dense(A)
    n = M.shape[1]
    rhs = r
    if row_weights is not None:
        sw = np.sqrt(row_weights)
        M = M * sw[:, None]
        rhs = r * sw
    diag_src = M
    if ridge > 0:
        M = np.vstack([M, np.sqrt(ridge) * np.eye(n)])
        rhs = np.concatenate([rhs, np.zeros(n)])
    if M.shape[0] == 0:
        w, s = np.zeros(n), np.zeros(0)
    else:
        w, _, _, s = sla.lstsq(M, rhs, cond=rcond, lapack_driver="gelsd", check_finite=False)
    if ridge > 0:
        diag = diagnose(diag_src, rcond)
    else:
        diag = _from_singular(s, n, rcond)
    res = np.linalg.norm(diag_src @ w - (r if row_weights is None else r * np.sqrt(row_weights))) \
        if diag_src.shape[0] else 0.0
    return w, _info("lstsq", _OK, A, 0, diag, res, 0, t0)


def _error_factor(row_errors: Any, R: int) -> Any:
    """``row_errors`` as block factors ``(nb, k, m)`` or as an ``(R, m)`` matrix (dense or sparse)."""
    if row_errors is None:
        return None
    if sp.issparse(row_errors):
        if row_errors.shape[0] != R:
            raise ValidationError("row_errors", f"sparse matrix of shape {row_errors.shape}", f"with {R} rows")
        return row_errors.tocsr()
    Z = np.asarray(row_errors, dtype=float)
    if Z.shape == (R,):
        return Z[:, None, None]
    if (Z.ndim == 3 and Z.shape[0] * Z.shape[1] == R) or (Z.ndim == 2 and Z.shape[0] == R):
        return Z
    raise ValidationError("row_errors", f"array of shape {Z.shape}",
                          f"of shape ({R},), ({R}, m) or (nb, k, m) with nb * k = {R}")


def svd_solve(Y: np.ndarray, c: np.ndarray, *, ridge: float = 0.0, rcond: float = DEFAULT_RCOND,
              row_errors: Any = None, rho2: float = 0.0,
              inverse_diagonal: bool = False) -> tuple[np.ndarray, dict[str, Any], float, float]:
    """Least squares, rank, condition and rounding uncertainty from one SVD of ``Y``.

    Minimises ``||Y w - c||^2 + ridge ||w||^2``; singular values below
    ``rcond * sigma_max`` are treated as zero (truncated minimum-norm answer,
    as LAPACK ``gelsd``). With ``row_errors`` it also returns the RMS weight
    error that independent errors of the rows cause, ``||pinv(Y) Z||_F``.

    Parameters
    ----------
    Y : ndarray, shape (R, n)
    c : ndarray, shape (R,)
    ridge : float, default 0
        ``lambda_2 >= 0`` (the rank and condition are those of ``Y`` itself).
    rcond : float, default DEFAULT_RCOND
    row_errors : ndarray or sparse matrix, optional
        The row errors are ``Z eps`` with ``eps`` of independent unit entries.
        Shape ``(R,)``: ``Z = diag(row_errors)`` (the standard deviation of each
        row's independent error); ``(R, m)``: ``Z`` itself (dense or sparse);
        ``(nb, k, m)``: ``Z = blockdiag(N_b)``, the rows ``b k .. (b+1) k - 1``
        having errors ``N_b eps_b``.
    rho2 : float, default 0
        Squared residual already removed from the system (added to the reported residual).
    inverse_diagonal : bool, default False
        Also return ``diag["inverse_diagonal"]``, the diagonal of ``(Y'Y)^-1``
        (``inf`` when rank deficient): the weights' variances per unit row variance.

    Returns
    -------
    w : ndarray, shape (n,)
    diag : dict with ``rank``, ``condition`` and ``identifiable`` (full rank)
    residual : float
        ``sqrt(rho2 + ||Y w - c||^2)``.
    uncertainty : float
        ``||pinv(Y) Z||_F`` (``inf`` when rank deficient, ``nan`` without ``row_errors``).

    Examples
    --------
    >>> import numpy as np
    >>> w, d, res, unc = svd_solve(np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), np.array([2.0, 3.0, 0.0]),
    ...                            row_errors=np.array([0.1, 0.1, 0.1]))
    >>> np.round(w, 12).tolist(), d["rank"], round(d["condition"], 12), round(unc, 12)
    ([1.0, 3.0], 2, 2.0, 0.111803398875)
    """
    Y = np.asarray(Y, dtype=float)
    c = np.asarray(c, dtype=float)
    R, n = Y.shape
    empty = dict(inverse_diagonal=np.full(n, np.inf)) if inverse_diagonal else {}
    if R == 0 or n == 0:
        return np.zeros(n), dict(rank=0, condition=float("inf"), identifiable=n == 0, **empty), \
            float(np.sqrt(rho2)), (0.0 if n == 0 else float("inf"))
    top = float(np.max(np.abs(Y)))
    if top == 0.0:
        return np.zeros(n), dict(rank=0, condition=float("inf"), identifiable=False, **empty), \
            float(np.sqrt(rho2 + c @ c)), float("inf")
    e = math.frexp(top)[1]                                   # Y = 2^e Ys exactly, max |Ys| in [1/2, 1)
    U, s, Vt = sla.svd(np.ldexp(Y, -e), full_matrices=False, check_finite=False, lapack_driver="gesdd")
    diag = _from_singular(s, n, rcond)
    beta = U.T @ c
    with np.errstate(over="ignore", invalid="ignore"):
        if ridge > 0:                                        # Y = U (2^e s) V'
            st = np.ldexp(s, e)
            coef = beta * st / (st * st + ridge)
        else:
            keep = s > rcond * s[0]
            coef = np.zeros(s.size)
            coef[keep] = np.ldexp(beta[keep] / s[keep], -e)
        w = Vt.T @ coef
    res = Y @ w - c
    residual = float(np.sqrt(rho2 + res @ res))
    Z = _error_factor(row_errors, R)
    if Z is None:
        unc = float("nan")
    elif not diag["identifiable"]:
        unc = float("inf")
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if sp.issparse(Z) or Z.ndim == 2:
                unc = float(np.linalg.norm(Z.T @ (U / s)))       # ||diag(1/s) U' Z||_F (scaled Y)
            else:
                nb, k, _ = Z.shape
                Uw = (U / s).reshape(nb, k, -1)                  # blocks of U diag(1/s)
                unc = float(np.sqrt(max(0.0, np.einsum("bij,bij->", Uw @ Uw.transpose(0, 2, 1),
                                                       Z @ Z.transpose(0, 2, 1)))))
            unc = float(np.ldexp(unc, -e))
        if not np.isfinite(unc):
            unc = float("inf")
    if inverse_diagonal:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            diag["inverse_diagonal"] = (np.ldexp(np.sum((Vt / s[:, None]) ** 2, axis=0), -2 * e)
                                        if diag["identifiable"] else np.full(n, np.inf))
    return w, diag, residual, unc


def _lanczos_max(op: Callable[[np.ndarray], np.ndarray], v0: np.ndarray, tol: float = 1e-3,
                 max_steps: int = 60) -> float:
    """Largest eigenvalue of a symmetric positive semi-definite operator (Lanczos, full reorthogonalisation).

    Stops when the Ritz residual bound ``beta_k |s_k|`` is below ``tol`` times the Ritz value.
    """
    n = v0.size
    steps = min(max_steps, n)
    V = np.empty((steps, n))
    alpha = np.empty(steps)
    beta = np.empty(steps)
    v = v0 / np.linalg.norm(v0)
    theta = 0.0
    for k in range(steps):
        V[k] = v
        w = op(v)
        if not np.all(np.isfinite(w)):                 # overflow (a numerically singular operator)
            return float("inf")
        alpha[k] = v @ w
        Vk = V[:k + 1]
        w = w - Vk.T @ (Vk @ w)
        w = w - Vk.T @ (Vk @ w)
        b = float(np.linalg.norm(w))
        if k == 0:
            theta, s_last = float(alpha[0]), 1.0
        else:
            ev, evec = sla.eigh_tridiagonal(alpha[:k + 1], beta[:k], select="i", select_range=(k, k))
            theta, s_last = float(ev[0]), float(evec[-1, 0])
        if b * abs(s_last) <= tol * abs(theta) or b == 0.0:
            break
        beta[k] = b
        v = w / b
    return theta


def _probe_columns(row_errors: Any, R: int, n_probes: int, seed: Any) -> np.ndarray | None:
    """``Z g`` for ``n_probes`` random sign vectors ``g`` (None without row errors): the
    right-hand sides whose solutions estimate ``||pinv(Y) Z||_F`` without bias."""
    Z = _error_factor(row_errors, R)
    if Z is None:
        return None
    rng = np.random.default_rng(seed)
    if sp.issparse(Z) or Z.ndim == 2:
        return Z @ (rng.integers(0, 2, size=(Z.shape[1], n_probes)) * 2.0 - 1.0)
    nb, k, m = Z.shape
    return (Z @ (rng.integers(0, 2, size=(nb, m, n_probes)) * 2.0 - 1.0)).reshape(R, n_probes)


def _factor_condition(U: np.ndarray) -> float:
    """Condition number of ``Y`` from an upper-triangular ``U`` with ``U'U = Y'Y`` (a Cholesky or
    QR factor): Lanczos on ``U'U`` and on its inverse (two triangular solves a step)."""
    v0 = np.random.default_rng(0x7E5).standard_normal(U.shape[0])
    lmax = _lanczos_max(lambda v: blas.dtrmv(U, blas.dtrmv(U, v), trans=1), v0)
    lmin_inv = _lanczos_max(lambda v: blas.dtrsv(U, blas.dtrsv(U, v, trans=1), trans=0), v0)
    return float(np.sqrt(lmax * lmin_inv)) if lmax > 0 and lmin_inv > 0 else float("inf")


def cholesky_solve(Y: np.ndarray, c: np.ndarray, *, rcond: float = DEFAULT_RCOND,
                   max_condition: float = FAST_MAX_CONDITION, row_errors: Any = None, n_probes: int = 32,
                   seed: Any = 0, rho2: float = 0.0,
                   inverse_diagonal: bool = False) -> tuple[np.ndarray, dict[str, Any], float, float] | None:
    """Well-conditioned least squares through the normal equations at BLAS-3 speed, or None.

    ``Y'Y`` (one matrix product) is factored by Cholesky; the solution is
    refined against the residual of ``Y`` itself until the correction stalls,
    which recovers the accuracy of a QR solve when ``cond(Y)^2 eps << 1``. The
    condition number is estimated by Lanczos on ``Y'Y`` and on its inverse
    (a few triangular solves); the rounding uncertainty ``||pinv(Y) Z||_F`` by
    ``n_probes`` random sign vectors (an unbiased estimate of its square,
    relative spread about ``sqrt(2 / n_probes)``). Everything shares the one
    factorization.

    Returns None -- the caller should use :func:`svd_solve` -- when ``Y'Y`` is
    not numerically positive definite, when the estimated condition number
    exceeds ``max_condition``, or when it is within a factor 100 of ``1 / rcond``
    (the rank decision then needs the singular values).

    Parameters
    ----------
    Y : ndarray, shape (R, n), R >= n
    c : ndarray, shape (R,)
    rcond : float, default DEFAULT_RCOND
    max_condition : float, default FAST_MAX_CONDITION
    row_errors : ndarray, optional
        As in :func:`svd_solve`.
    n_probes : int, default 32
    seed : int or sequence of int, default 0
        Seeds the probes (pass the neuron's index: the answer then does not depend on batching).
    rho2 : float, default 0
        Squared residual already removed from the system.
    inverse_diagonal : bool, default False
        Also return ``diag["inverse_diagonal"]`` as :func:`svd_solve` (from the Cholesky factor).

    Returns
    -------
    (w, diag, residual, uncertainty) as :func:`svd_solve`, or None.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.vander(np.linspace(0.0, 1.0, 50), 4)
    >>> w, d, res, unc = cholesky_solve(Y, Y @ [1.0, -2.0, 3.0, 0.5])
    >>> bool(np.allclose(w, [1.0, -2.0, 3.0, 0.5], atol=1e-12)), d["rank"], 50 < d["condition"] < 500
    (True, 4, True)
    """
    Y = np.asarray(Y, dtype=float)
    c = np.asarray(c, dtype=float)
    R, n = Y.shape
    if n == 0 or R < n:
        return None
    G = Y.T @ Y
    L, info = lapack.dpotrf(G, lower=False, clean=True, overwrite_a=False)
    if info != 0:
        return None

    def solve(v: np.ndarray) -> np.ndarray:       # G^-1 v = L^-1 L^-T v (two triangular solves)
        if v.ndim == 1:
            return blas.dtrsv(L, blas.dtrsv(L, v, trans=1), trans=0)
        return lapack.dpotrs(L, v, lower=False)[0]

    cond = _factor_condition(L)
    if not (cond <= max_condition and cond * rcond < 1e-2):
        return None
    # the right-hand side and the uncertainty probes in one pass over Y
    Zg = _probe_columns(row_errors, R, n_probes, seed)
    B = c[:, None] if Zg is None else np.column_stack([c, Zg])
    X = solve(Y.T @ B)
    w = X[:, 0].copy()
    unc = float(np.linalg.norm(X[:, 1:]) / np.sqrt(n_probes)) if Zg is not None else float("nan")
    # iterative refinement against Y's own residual: each step divides the error by about
    # cond^2 eps; stop once the error left (~ step * cond^2 eps) is below the attainable cond eps |w|
    last = float("inf")
    for _ in range(4):
        dw = solve(Y.T @ (c - Y @ w))
        size = float(np.linalg.norm(dw))
        if not size < 0.5 * last:
            break
        w += dw
        last = size
        if size * cond <= np.linalg.norm(w):
            break
    res = Y @ w - c
    residual = float(np.sqrt(rho2 + res @ res))
    diag = dict(rank=n, condition=cond, identifiable=True)
    if inverse_diagonal:
        diag["inverse_diagonal"] = _factor_inverse_diagonal(L)
    return w, diag, residual, unc


def _factor_inverse_diagonal(U: np.ndarray) -> np.ndarray:
    """Diagonal of ``(U'U)^-1`` for an upper-triangular factor ``U``: squared row norms of ``U^-1``."""
    Ui, info = lapack.dtrtri(U, lower=0)
    if info != 0:
        return np.full(U.shape[0], np.inf)
    return np.sum(np.triu(Ui) ** 2, axis=1)


def _geqrf(A: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Householder QR of ``A`` by LAPACK with the optimal (blocked, BLAS-3) workspace; None on failure.

    (scipy's default workspace makes ``geqrf`` run unblocked, 3-4x slower.)"""
    m, n = A.shape
    lwork, info = lapack.dgeqrf_lwork(m, n)
    if info != 0:
        return None
    qr, tau, _, info = lapack.dgeqrf(np.asfortranarray(A), lwork=max(1, int(lwork)))
    return (qr, tau) if info == 0 else None


def _apply_qt(qr: np.ndarray, tau: np.ndarray, B: np.ndarray) -> np.ndarray | None:
    """``Q' B`` for the ``Q`` that :func:`_geqrf` left in ``(qr, tau)`` (blocked workspace); None on failure."""
    B = np.asfortranarray(B)
    work, info = lapack.dormqr("L", "T", qr, tau, B, -1)[1:]
    if info != 0:
        return None
    out, _, info = lapack.dormqr("L", "T", qr, tau, B, max(1, int(work[0].real)))
    return out if info == 0 else None


def qr_solve(Y: np.ndarray, c: np.ndarray, *, ridge: float = 0.0, rcond: float = DEFAULT_RCOND,
             row_errors: Any = None, n_probes: int = 32, seed: Any = 0,
             rho2: float = 0.0, inverse_diagonal: bool = False) -> tuple[np.ndarray, dict[str, Any], float, float] | None:
    """Full-rank least squares by Householder QR, or None when the rank needs the SVD.

    The middle path between :func:`cholesky_solve` (condition up to
    :data:`FAST_MAX_CONDITION`, where squaring it is harmless) and
    :func:`svd_solve` (any rank, at several times the cost): ``Y = Q R`` by
    LAPACK ``geqrf`` is backward stable, so the weights are accurate to about
    ``cond(Y) eps`` without refinement, at BLAS-3 speed. The condition number
    is estimated by Lanczos on ``R'R`` and its inverse; the rounding
    uncertainty ``||pinv(Y) Z||_F`` by ``n_probes`` random sign vectors, as in
    :func:`cholesky_solve`. With ``ridge > 0`` the regularised problem is
    solved through a second QR of ``[R; sqrt(ridge) I]``; rank, condition and
    uncertainty are those of ``Y`` itself, as in :func:`svd_solve`.

    Returns None -- the caller should use :func:`svd_solve` -- when ``R`` has a
    zero on its diagonal or the estimated condition number is within a factor
    100 of ``1 / rcond`` (the rank decision then needs the singular values).

    Parameters
    ----------
    Y : ndarray, shape (R, n), R >= n
    c : ndarray, shape (R,)
    ridge : float, default 0
    rcond : float, default DEFAULT_RCOND
    row_errors : ndarray or sparse matrix, optional
        As in :func:`svd_solve`.
    n_probes : int, default 32
    seed : int or sequence of int, default 0
        Seeds the probes.
    rho2 : float, default 0
        Squared residual already removed from the system.
    inverse_diagonal : bool, default False
        Also return ``diag["inverse_diagonal"]`` as :func:`svd_solve` (from ``R``).

    Returns
    -------
    (w, diag, residual, uncertainty) as :func:`svd_solve`, or None.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.vander(np.linspace(0.0, 1.0, 200), 9)          # condition about 1e6
    >>> w, d, res, unc = qr_solve(Y, Y @ np.arange(1.0, 10.0))
    >>> bool(np.allclose(w, np.arange(1.0, 10.0), rtol=0, atol=1e-8)), d["rank"], 1e5 < d["condition"] < 1e7
    (True, 9, True)
    """
    Y = np.asarray(Y, dtype=float)
    c = np.asarray(c, dtype=float)
    R, n = Y.shape
    if n == 0 or R < n:
        return None
    fac = _geqrf(Y)
    if fac is None:
        return None
    qr, tau = fac
    U = np.triu(qr[:n])
    d = np.abs(np.diagonal(U))
    # sigma_max >= max |r_ii| and sigma_min <= min |r_ii|: a wide spread of the diagonal already
    # proves the condition too large (and spares the Lanczos iterations on a singular factor)
    if not np.all(np.isfinite(d)) or not d.min() * 1e-2 > rcond * d.max():
        return None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        cond = _factor_condition(U)
    if not cond * rcond < 1e-2:
        return None
    Zg = _probe_columns(row_errors, R, n_probes, seed)
    B = c[:, None] if Zg is None else np.column_stack([c, Zg])
    QtB = _apply_qt(qr, tau, B)
    if QtB is None:
        return None
    X = sla.solve_triangular(U, QtB[:n], check_finite=False)
    w = X[:, 0].copy()
    unc = float(np.linalg.norm(X[:, 1:]) / np.sqrt(n_probes)) if Zg is not None else float("nan")
    if ridge > 0:
        # min ||U w - (Q'c)_n||^2 + ridge ||w||^2 (the rows past n add a constant)
        fac = _geqrf(np.vstack([U, math.sqrt(ridge) * np.eye(n)]))
        rhs = None if fac is None else _apply_qt(*fac, np.concatenate([QtB[:n, 0], np.zeros(n)])[:, None])
        if rhs is None:
            return None
        w = sla.solve_triangular(np.triu(fac[0][:n]), rhs[:n, 0], check_finite=False)
    res = Y @ w - c
    residual = float(np.sqrt(rho2 + res @ res))
    if not np.isfinite(unc):
        unc = float("inf")
    diag = dict(rank=n, condition=cond, identifiable=True)
    if inverse_diagonal:
        diag["inverse_diagonal"] = _factor_inverse_diagonal(U)
    return w, diag, residual, unc


def _box(n: int, lower: Any, upper: Any) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(n, -np.inf) if lower is None else as_float_array("lower", lower, finite=False)
    hi = np.full(n, np.inf) if upper is None else as_float_array("upper", upper, finite=False)
    lo = np.broadcast_to(lo, (n,)).astype(float) if lo.ndim == 0 else lo
    hi = np.broadcast_to(hi, (n,)).astype(float) if hi.ndim == 0 else hi
    if lo.shape != (n,) or np.any(np.isnan(lo)) or np.any(lo == np.inf):
        raise ValidationError("lower", lower, f"a scalar or of shape ({n},), not NaN or +inf")
    if hi.shape != (n,) or np.any(np.isnan(hi)) or np.any(hi == -np.inf):
        raise ValidationError("upper", upper, f"a scalar or of shape ({n},), not NaN or -inf")
    if np.any(lo > hi):
        k = int(np.flatnonzero(lo > hi)[0])
        raise ValidationError("bounds", (float(lo[k]), float(hi[k])),
                              f"feasible (lower <= upper), violated for unknown {k}")
    return lo, hi


def solve_osqp(A: Any, r: Any, *, ridge: float = 0.0, lasso: float = 0.0, lower: Any = None,
               upper: Any = None, G: Any = None, h: Any = None, row_weights: Any = None,
               warm_start: Any = None, rcond: float = DEFAULT_RCOND,
               settings: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Solve one neuron's constrained least-squares problem with OSQP.

    Variables ``x = [w (n), z (K), t (n, only with lasso)]``; objective
    ``1/2 z' S z + 1/2 ridge ||w||^2 + lasso sum(t)``; constraints
    ``A w - z = r``, ``lower <= w <= upper``, ``G w <= h``, ``-t <= w <= t``.

    Parameters
    ----------
    A : ndarray or sparse matrix, shape (K, n)
    r : ndarray, shape (K,)
    ridge, lasso : float, default 0
        ``lambda_2, lambda_1 >= 0``.
    lower, upper : float or ndarray (n,), optional
        Bounds on ``w`` (``-inf``/``inf`` for none).
    G, h : matrix (L, n) and ndarray (L,), optional
        Inequalities ``G w <= h``.
    row_weights : ndarray, shape (K,), optional
        Non-negative weights of the equality rows.
    warm_start : ndarray, shape (n,), optional
        Starting point for ``w`` (e.g. the previous neuron's answer).
    rcond : float, default DEFAULT_RCOND
        Threshold for the rank in the report.
    settings : dict, optional
        OSQP settings overriding :data:`OSQP_DEFAULTS`.

    Returns
    -------
    w : ndarray, shape (n,)
    info : dict with the keys of :data:`INFO_KEYS` (``status`` is OSQP's, e.g. ``"solved"``)

    Raises
    ------
    SolverError
        When OSQP reports infeasibility, non-convexity, the iteration or time
        limit or any other failure (``.status`` holds OSQP's status string).

    Examples
    --------
    >>> import numpy as np
    >>> w, info = solve_osqp(np.eye(2), np.array([-1.0, 2.0]), lower=0.0)
    >>> np.round(w, 8).tolist(), info["status"]
    ([0.0, 2.0], 'solved')
    """
    import osqp

    t0 = time.perf_counter()
    A, r, row_weights = _check_system(A, r, row_weights)
    K, n = A.shape
    ridge = as_scalar("ridge", ridge, nonnegative=True)
    lasso = as_scalar("lasso", lasso, nonnegative=True)
    lo, hi = _box(n, lower, upper)
    if G is None:
        Gs = sp.csc_matrix((0, n))
        hv = np.empty(0)
    else:
        Gs = sp.csc_matrix(G) if sp.issparse(G) else sp.csc_matrix(as_float_array("G", G, ndim=2, shape=(None, n)))
        hv = as_float_array("h", h, shape=(Gs.shape[0],))
    opts = dict(OSQP_DEFAULTS)
    if settings:
        if not isinstance(settings, dict):
            raise ValidationError("osqp_settings", settings, "a dict of OSQP settings")
        opts.update(settings)
    nt = n if lasso > 0 else 0
    nx = n + K + nt
    S = np.ones(K) if row_weights is None else row_weights
    P = sp.diags(np.concatenate([np.full(n, ridge), S, np.zeros(nt)]), format="csc")
    q = np.concatenate([np.zeros(n + K), np.full(nt, lasso)])
    As = sp.csr_matrix(A)
    blocks = [sp.hstack([As, -sp.eye(K), sp.csr_matrix((K, nt))])]
    l_parts, u_parts = [r], [r]
    boxed = np.isfinite(lo) | np.isfinite(hi)
    if np.any(boxed):
        idx = np.flatnonzero(boxed)
        blocks.append(sp.csr_matrix((np.ones(idx.size), (np.arange(idx.size), idx)), shape=(idx.size, nx)))
        l_parts.append(lo[idx])
        u_parts.append(hi[idx])
    if Gs.shape[0]:
        blocks.append(sp.hstack([Gs, sp.csr_matrix((Gs.shape[0], K + nt))]))
        l_parts.append(np.full(Gs.shape[0], -np.inf))
        u_parts.append(hv)
    if nt:
        I = sp.eye(n)
        Z = sp.csr_matrix((n, K))
        blocks.append(sp.hstack([I, Z, -I]))      # w - t <= 0
        blocks.append(sp.hstack([I, Z, I]))       # w + t >= 0
        l_parts += [np.full(n, -np.inf), np.zeros(n)]
        u_parts += [np.zeros(n), np.full(n, np.inf)]
    Acon = sp.vstack(blocks, format="csc")
    prob = osqp.OSQP()
    try:
        prob.setup(sp.triu(P, format="csc"), q, Acon, np.concatenate(l_parts), np.concatenate(u_parts), **opts)
    except (ValueError, TypeError) as exc:
        raise ValidationError("osqp_settings", settings, f"valid OSQP settings ({exc})") from None
    if warm_start is not None:
        w0 = as_float_array("warm_start", warm_start, shape=(n,))
        x0 = np.concatenate([w0, As @ w0 - r, np.abs(w0)[:nt]])
        prob.warm_start(x=x0)
    res = prob.solve(raise_error=False)
    status = str(res.info.status)
    if status not in ("solved", "solved inaccurate"):
        raise SolverError(f"OSQP did not solve the problem ({A.shape[0]} rows, {n} unknowns)", status=status)
    w = np.asarray(res.x[:n], dtype=float).copy()
    M = _dense(A)
    sw = np.ones(K) if row_weights is None else np.sqrt(row_weights)
    # OSQP's answer (even polished) is only as accurate as its regularised, scaled iterations; on an
    # ill-conditioned system it can be far from the optimum while "solved". An active-set method
    # started from it solves the equality-constrained least squares exactly (LAPACK) and keeps the
    # answer only if it passes the optimality (KKT) conditions; otherwise the status says inaccurate.
    Mw = M * sw[:, None]
    refined = _active_set_refine(Mw, r * sw, ridge, lasso, lo, hi,
                                 Gs.toarray() if Gs.shape[0] else None, hv, w) if np.all(np.isfinite(w)) else None
    if refined is not None:
        w, status = refined, "solved"
    else:
        status = "solved inaccurate"
    diag = diagnose(Mw, rcond) if K else dict(rank=0, condition=float("inf"), identifiable=False)
    resid = float(np.linalg.norm((M @ w - r) * sw)) if K else 0.0
    return w, _info("osqp", status, A, Gs.shape[0], diag, resid, int(res.info.iter), t0,
                    int(res.info.status_polish))


def _active_set_refine(A: np.ndarray, r: np.ndarray, ridge: float, lasso: float, lo: np.ndarray,
                       hi: np.ndarray, G: np.ndarray | None, h: np.ndarray, w0: np.ndarray) -> np.ndarray | None:
    """The optimum of ``1/2 ||A w - r||^2 + ridge/2 ||w||^2 + lasso ||w||_1`` subject to
    ``lo <= w <= hi`` and ``G w <= h``, certified by its optimality (KKT) conditions, or None.

    A primal active-set method started from the active set ``w0`` suggests (and from the empty
    set): the variables held at a bound (and, with a lasso, at zero) are fixed, the free ones
    keep their signs for the lasso term, the active inequality rows hold with equality, and the
    remaining equality-constrained least squares is solved by LAPACK (:func:`_reduced_lstsq`: a
    QR of the system itself, never its normal equations, so the accuracy follows the condition
    number of ``A``, not its square); violated constraints join the set, and the one whose
    multiplier has the wrong sign leaves it. An answer is returned when it satisfies every
    constraint and the optimality conditions (multipliers of the right sign, lasso subgradients
    within ``lasso``) to a relative tolerance. When a reduced system is rank-deficient (the
    optimum is not unique), ``w0`` itself is returned if it passes the same test; else None.
    """
    n = w0.size
    scale_w = max(1.0, float(np.abs(w0).max(initial=0.0)))
    grad_scale = (float(np.abs(A.T @ (np.abs(A) @ np.abs(w0) + np.abs(r))).max(initial=0.0))
                  + ridge * scale_w + lasso + 1e-300)
    G = np.zeros((0, n)) if G is None else G
    gsc = max(1.0, float(np.abs(h).max(initial=0.0))) if G.shape[0] else 1.0

    def active(w: np.ndarray, tol: float):
        at_lo = np.isfinite(lo) & (w <= lo + tol * scale_w)
        at_hi = np.isfinite(hi) & (w >= hi - tol * scale_w) & ~at_lo
        at_zero = (np.abs(w) <= tol * scale_w) & ~at_lo & ~at_hi if lasso > 0 else np.zeros(n, dtype=bool)
        act = (np.flatnonzero(G @ w >= h - tol * (np.abs(G) @ np.abs(w) + gsc)) if G.shape[0]
               else np.zeros(0, int))
        return at_lo, at_hi, at_zero, act

    def duals(w: np.ndarray, fixed: np.ndarray, act: np.ndarray):
        """Free variables, their lasso signs, the Lagrangian gradient and the active rows' multipliers
        (from stationarity on the free variables, by least squares)."""
        free = np.flatnonzero(~fixed)
        sgn = np.sign(w[free]) if lasso > 0 else np.zeros(free.size)
        g = A.T @ (A @ w - r) + ridge * w
        mu = np.zeros(act.size)
        if act.size and free.size:
            mu = np.linalg.lstsq(G[np.ix_(act, free)].T, -(g[free] + lasso * sgn), rcond=None)[0]
            g = g + G[act].T @ mu
        return free, sgn, g, mu

    def optimal(w: np.ndarray, at_lo, at_hi, at_zero, act) -> tuple[bool, Any, Any]:
        """The KKT verdict for ``w``, with the gradient and multipliers it used (the release step
        needs them too; None when ``w`` is not even primal feasible)."""
        ptol = 1e-9 * scale_w
        if (not np.all(np.isfinite(w)) or np.any(w < lo - ptol) or np.any(w > hi + ptol)
                or (G.shape[0] and np.any(G @ w > h + 1e-9 * (np.abs(G) @ np.abs(w) + gsc)))):
            return False, None, None
        free, sgn, g, mu = duals(w, at_lo | at_hi | at_zero, act)
        dtol = 1e-10 * grad_scale
        ok = not (np.any(mu < -dtol)
                  or (free.size and np.abs(g[free] + lasso * sgn).max() > dtol)
                  or np.any(g[at_lo] < -dtol - lasso) or np.any(g[at_hi] > dtol + lasso)
                  or (lasso > 0 and np.any(np.abs(g[at_zero]) > lasso + dtol)))
        return ok, g, mu

    def solve_on(at_lo, at_hi, at_zero, act, sgn_all):
        fixed = at_lo | at_hi | at_zero
        wf = np.where(at_lo, lo, np.where(at_hi, hi, 0.0))
        free = np.flatnonzero(~fixed)
        sgn = sgn_all[free] if lasso > 0 else np.zeros(free.size)
        y = _reduced_lstsq(A[:, free], r - A[:, fixed] @ wf[fixed], ridge, lasso * sgn, G[np.ix_(act, free)],
                           h[act] - G[np.ix_(act, np.flatnonzero(fixed))] @ wf[fixed])
        if y is None:
            return None
        w = wf.copy()
        w[free] = y
        return w

    # a primal active-set method (bounds, rows, lasso zeros), started from the set w0 suggests and
    # from the empty set: add what the solution violates, release the constraint whose multiplier
    # has the wrong sign, until the optimality conditions hold
    ptol = 1e-9 * scale_w
    dtol = 1e-10 * grad_scale
    rank_deficient = False
    starts = [active(w0, 1e-7)]
    if lasso == 0:     # the empty set first: when its solution is feasible, it is the optimum
        starts.insert(0, (np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool), np.zeros(0, int)))
    for at_lo, at_hi, at_zero, act in starts:
        at_lo, at_hi, at_zero = at_lo.copy(), at_hi.copy(), at_zero.copy()
        act = np.asarray(act, dtype=int)
        sgn_all = np.sign(w0) if lasso > 0 else np.zeros(n)
        for _ in range(2 * n + G.shape[0] + 10):
            w = solve_on(at_lo, at_hi, at_zero, act, sgn_all)
            if w is None or not np.all(np.isfinite(w)):
                rank_deficient = rank_deficient or w is None
                break
            fixed = at_lo | at_hi | at_zero
            vlo = ~fixed & (w < lo - ptol)
            vhi = ~fixed & (w > hi + ptol)
            vg = np.zeros(0, int)
            if G.shape[0]:
                vg = np.setdiff1d(np.flatnonzero(G @ w > h + 1e-9 * (np.abs(G) @ np.abs(w) + gsc)), act)
            vz = (~fixed & (np.sign(w) * sgn_all < 0)) if lasso > 0 else np.zeros(n, bool)
            if vlo.any() or vhi.any() or vg.size or vz.any():
                at_lo |= vlo
                at_hi |= vhi & ~vlo
                at_zero |= vz & ~vlo & ~vhi
                act = np.union1d(act, vg).astype(int)
                continue
            ok, g, mu = optimal(w, at_lo, at_hi, at_zero, act)
            if ok:
                return w
            if g is None:
                break
            # release the worst dual violation
            cand = []
            if act.size:
                cand.append((-mu.min(), "row", int(np.argmin(mu))))
            if at_lo.any():
                cand.append((-(g[at_lo] + lasso).min(), "lo", int(np.flatnonzero(at_lo)[np.argmin(g[at_lo])])))
            if at_hi.any():
                cand.append(((g[at_hi] - lasso).max(), "hi", int(np.flatnonzero(at_hi)[np.argmax(g[at_hi])])))
            if lasso > 0 and at_zero.any():
                k = int(np.flatnonzero(at_zero)[np.argmax(np.abs(g[at_zero]))])
                cand.append((abs(g[k]) - lasso, "zero", k))
            if not cand or max(c[0] for c in cand) <= dtol:
                break                                     # stationarity failed, not a constraint: give up
            _, what, k = max(cand)
            if what == "row":
                act = np.delete(act, k)
            elif what == "lo":
                at_lo[k] = False
            elif what == "hi":
                at_hi[k] = False
            else:
                at_zero[k] = False
                sgn_all[k] = -np.sign(g[k])
    if rank_deficient:
        # the optimum is not unique: accept w0 itself when it meets the optimality conditions
        for tol in (1e-9, 1e-7, 1e-5):
            if optimal(w0, *active(w0, tol))[0]:
                return w0
    return None


def _reduced_lstsq(A: np.ndarray, r: np.ndarray, ridge: float, ell: np.ndarray, E: np.ndarray,
                   e: np.ndarray) -> np.ndarray | None:
    """``argmin 1/2 ||A w - r||^2 + ridge/2 ||w||^2 + ell' w`` subject to ``E w = e``, or None.

    Null-space method: ``w = w_p + Z y`` with ``E w_p = e`` and ``E Z = 0`` (from a QR of ``E'``);
    then one QR of the stacked ``[A Z; sqrt(ridge) Z]``: ``R y = Q' c - R^-T Z' ell``.
    """
    n = A.shape[1]
    if n == 0:
        return np.zeros(0)
    if E.shape[0]:
        Q, R = np.linalg.qr(E.T, mode="complete")
        d = np.abs(np.diag(R)) if R.size else np.zeros(0)
        k = int(np.sum(d > 1e-12 * max(float(d.max(initial=0.0)), 1e-300)))
        if k < E.shape[0]:
            return None                                   # dependent active rows: leave it to OSQP
        wp = Q[:, :k] @ np.linalg.solve(R[:k, :k].T, e)
        Z = Q[:, k:]
        if not np.allclose(E @ wp, e, rtol=1e-9, atol=1e-12 * max(1.0, float(np.abs(e).max(initial=0.0)))):
            return None
    else:
        wp, Z = np.zeros(n), np.eye(n)
    if Z.shape[1] == 0:
        return wp
    B = A @ Z
    c = r - A @ wp
    if ridge > 0:
        B = np.vstack([B, np.sqrt(ridge) * Z])
        c = np.concatenate([c, -np.sqrt(ridge) * wp])
    if B.shape[0] < B.shape[1]:
        return None
    Qb, Rb = np.linalg.qr(B)
    dr = np.abs(np.diag(Rb))
    if dr.min() <= 1e-14 * dr.max():
        return None                                       # not determined: no exact refinement
    t = Qb.T @ c
    lz = Z.T @ ell
    if np.any(lz):
        t = t - sla.solve_triangular(Rb, lz, trans="T")
    return wp + Z @ sla.solve_triangular(Rb, t)
