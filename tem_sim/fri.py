"""Finite rate of innovation: Dirac locations and amplitudes from shared Fourier coefficients.

Many signals that are sums of the *same* ``K`` periodic Diracs with different
amplitudes, ``y_{j,m} = (1/T) sum_k A[j,k] exp(-i 2 pi m s_k / T)`` for
``|m| <= M``, determine the locations ``s_k`` and the amplitudes ``A`` from
their ``2M+1`` lowest Fourier coefficients (section 6 of the mathematics
reference: every output neuron of a layer fed through the periodic lowpass
kernel sees the pooled spikes of the layer below). :func:`fri_recover` fits an
annihilating filter (Prony's method) jointly to all signals by stacking their
Toeplitz systems, or, for noisy data, uses joint Cadzow denoising or the
matrix-pencil (ESPRIT) estimator on the stacked Hankel matrices; it selects
the number of Diracs from singular values when it is not given, solves least
squares for the amplitudes, and reports -- rather than guesses -- when the
data cannot determine ``K`` Diracs: one filter of length ``K+1`` needs
``2M+1 >= K+1`` coefficients, and the stacked system needs roughly
``r (2M+1-K) >= K`` equations, where ``r <= J`` is the number of really
independent signals (the rank of the amplitude matrix, measured on the
singular values of ``Y``: output neurons fed by ``n_hidden`` all-or-none
hidden neurons give ``r = n_hidden``, not ``J``), checked again on the
singular values of the stacked system.
Pure NumPy/SciPy.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import as_float_array, as_int, as_scalar
from .exceptions import IdentifiabilityWarning, ValidationError

__all__ = ["FRIResult", "fri_recover", "dirac_coefficients", "select_order", "cadzow_denoise",
           "FRI_METHODS"]

#: Estimators accepted by :func:`fri_recover`.
FRI_METHODS = ("annihilating", "cadzow", "esprit")


@dataclass(frozen=True)
class FRIResult:
    """Dirac locations and amplitudes recovered from Fourier coefficients.

    Attributes
    ----------
    locations : ndarray, shape (K,)
        Dirac locations, sorted, in ``[0, period)``.
    amplitudes : ndarray, shape (n_signals, K)
        Amplitude of every Dirac in every signal (column ``k`` belongs to ``locations[k]``).
    order : int
        The number of Diracs ``K`` used (given, or chosen from the singular values).
    order_selected : bool
        True when ``order`` was chosen from the singular values.
    singular_values : ndarray
        Singular values of the stacked matrix the order was judged from (the
        Hankel matrix of the order selection, or the stacked annihilation
        system when the order was given), largest first.
    residual : float
        Relative misfit ``||Y - Y_hat||_F / ||Y||_F`` of the recovered Diracs.
    root_radius_error : float
        Largest ``| |z_k| - 1 |`` of the estimated roots (0 for exact data).
    identifiable : bool
        False when the data cannot determine ``order`` Diracs; ``message`` says why.
    message : str
        Why the data are not identifiable (empty otherwise).
    method : str
        The estimator used.
    period : float
        The period ``T``.
    """

    locations: np.ndarray
    amplitudes: np.ndarray
    order: int
    order_selected: bool
    singular_values: np.ndarray
    residual: float
    root_radius_error: float
    identifiable: bool
    message: str
    method: str
    period: float
    info: dict = field(default_factory=dict)


# ----------------------------------------------------------------- helpers
def dirac_coefficients(locations: Any, amplitudes: Any, period: float, n_harmonics: int) -> np.ndarray:
    """Two-sided Fourier coefficients of periodic Dirac streams sharing their locations.

    ``Y[j, M+m] = (1/T) sum_k A[j,k] exp(-i 2 pi m s_k / T)`` for ``m = -M..M``
    (the same normalisation as :meth:`tem_sim.kernels.PeriodicLowpass.coefficients`).

    Parameters
    ----------
    locations : array_like of float, shape (K,)
    amplitudes : array_like, shape (n_signals, K) or (K,)
    period : float
    n_harmonics : int
        Highest harmonic ``M``.

    Returns
    -------
    ndarray of complex, shape (n_signals, 2M+1)

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.fri import dirac_coefficients
    >>> Y = dirac_coefficients([0.0], [[2.0]], period=4.0, n_harmonics=1)
    >>> np.round(Y.real, 12).tolist()
    [[0.5, 0.5, 0.5]]
    """
    period = as_scalar("period", period, positive=True)
    M = as_int("n_harmonics", n_harmonics, minimum=0)
    s = as_float_array("locations", locations).ravel()
    A = as_float_array("amplitudes", amplitudes, allow_complex=True)
    if A.ndim == 1:
        A = A[None, :]
    if A.ndim != 2 or A.shape[1] != s.size:
        raise ValidationError("amplitudes", f"array of shape {A.shape}", f"of shape (n_signals, {s.size})")
    return A @ _vandermonde(s, period, M).T


def _vandermonde(s: np.ndarray, period: float, M: int) -> np.ndarray:
    """``V[M+m, k] = exp(-i 2 pi m s_k / T) / T``, shape (2M+1, K)."""
    m = np.arange(-M, M + 1)
    return np.exp(-2j * np.pi * np.outer(m, np.mod(s, period)) / period) / period


def _toeplitz_stack(Y: np.ndarray, K: int) -> np.ndarray:
    """Stacked annihilation systems: rows ``[y_n, y_{n-1}, ..., y_{n-K}]``, ``n = K..N-1``, per signal."""
    J, N = Y.shape
    idx = np.arange(K, N)[:, None] - np.arange(K + 1)[None, :]
    return Y[:, idx].reshape(J * (N - K), K + 1)


def _hankel_stack(Y: np.ndarray, L: int) -> np.ndarray:
    """Stacked Hankel matrices ``H_j[r, c] = y_{j, r+c}``, shape (J (N-L), L+1)."""
    J, N = Y.shape
    idx = np.arange(N - L)[:, None] + np.arange(L + 1)[None, :]
    return Y[:, idx].reshape(J * (N - L), L + 1)


def _effective_signals(Y: np.ndarray) -> int:
    """Numerical rank of the data matrix: how many signals are really different.

    Signals whose amplitude vectors are combinations of a few patterns (the
    output neurons of a layer fed by ``n_hidden`` neurons: ``A = W2 P``) add no
    new annihilation equations beyond ``rank(A)``. A drop of more than three
    orders of magnitude between consecutive singular values marks the rank.
    """
    J = Y.shape[0]
    if J == 1:
        return 1
    sv = np.linalg.svd(Y, compute_uv=False)
    if sv[0] == 0:
        return J
    floor = np.maximum(sv, 1e-13 * sv[0])
    ratios = floor[:-1] / floor[1:]
    k = int(np.argmax(ratios))
    return k + 1 if ratios[k] > 1e3 else int(sv.size)


def _default_pencil(r: int, N: int, K: int | None) -> int:
    """Pencil parameter ``L`` (columns minus one of each Hankel block).

    With the order unknown, balance the ``r (N-L)`` effective rows against the
    ``L+1`` columns (the largest order the matrix can reveal). With ``K``
    known, take ``L`` near ``2N/3`` (measured best for noise) but keep more
    effective rows than ``K`` and at least ``K`` columns minus one.
    """
    if K is None:
        L = int(round((r * N - 1) / (r + 1)))
        return min(max(L, 1), N - 1)
    L = min(int(round(2 * N / 3)), N - int(np.ceil((K + 1) / r)))
    return min(max(L, K), N - 1)


def _check_Y(Y: Any) -> np.ndarray:
    Y = as_float_array("Y", Y, allow_complex=True)
    if Y.ndim == 1:
        Y = Y[None, :]
    if Y.ndim != 2 or Y.shape[1] % 2 != 1 or Y.shape[0] < 1:
        raise ValidationError("Y", f"array of shape {Y.shape}",
                              "of shape (n_signals >= 1, 2M+1) with an odd number of columns")
    return np.ascontiguousarray(Y, dtype=np.complex128)


def select_order(Y: Any, max_order: int | None = None, *, rtol: float | None = None,
                 pencil: int | None = None) -> tuple[int, np.ndarray]:
    """Choose the number of Diracs from the singular values of the stacked Hankel matrix.

    Exact data of ``K`` Diracs make the stacked Hankel matrix (``L+1`` columns,
    ``L >= K``) of rank ``K``. With ``rtol`` the order is the number of singular
    values above ``rtol * s_1``; otherwise it is where the ratio
    ``s_k / s_{k+1}`` of consecutive singular values is largest (values below
    ``1e-13 s_1`` are treated as zero), which needs no noise level.

    Parameters
    ----------
    Y : array_like of complex, shape (n_signals, 2M+1)
        Two-sided coefficients.
    max_order : int, optional
        Largest order considered (default: the largest the matrix can reveal, ``min(L, rows) - 1``).
    rtol : float, optional
        Relative threshold on the singular values.
    pencil : int, optional
        Number of columns minus one of the Hankel matrices (default balances rows and columns).

    Returns
    -------
    order : int
    singular_values : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.fri import dirac_coefficients, select_order
    >>> Y = dirac_coefficients([1.0, 2.5, 7.0], np.eye(3) + 0.5, period=10.0, n_harmonics=5)
    >>> select_order(Y)[0]
    3
    """
    Y = _check_Y(Y)
    J, N = Y.shape
    if N < 2:
        raise ValidationError("Y", f"array of shape {Y.shape}", "at least 3 coefficients (M >= 1)")
    r = _effective_signals(Y)
    L = _default_pencil(r, N, None) if pencil is None else as_int("pencil", pencil, minimum=1)
    if L > N - 1:
        raise ValidationError("pencil", L, f"<= 2M = {N - 1}")
    sv = np.linalg.svd(_hankel_stack(Y, L), compute_uv=False)
    limit = min(L + 1, r * (N - L)) - 1
    kmax = limit if max_order is None else min(as_int("max_order", max_order, minimum=1), limit)
    if sv[0] == 0 or kmax < 1:
        return 0, sv
    if rtol is not None:
        rtol = as_scalar("rtol", rtol, positive=True)
        return int(min(np.count_nonzero(sv > rtol * sv[0]), kmax)), sv
    floor = np.maximum(sv, 1e-13 * sv[0])
    ratios = floor[:kmax] / floor[1:kmax + 1]
    return int(np.argmax(ratios)) + 1, sv


def cadzow_denoise(Y: Any, order: int, *, n_iter: int = 20, pencil: int | None = None,
                   tol: float = 1e-12) -> np.ndarray:
    """Joint Cadzow denoising: alternate a rank-``order`` projection of the stacked Hankel matrix and Hankel averaging.

    The stacked Hankel matrices of all signals share the row space of the
    Dirac locations; truncating the stacked matrix to rank ``order`` and
    restoring the Hankel structure of every block by averaging its
    anti-diagonals moves the data towards ``order`` Diracs shared by all
    signals.

    Parameters
    ----------
    Y : array_like of complex, shape (n_signals, 2M+1)
    order : int
        Number of Diracs ``K``.
    n_iter : int, default 20
        Maximum number of iterations.
    pencil : int, optional
        Columns minus one of each Hankel block (default: balanced, at least ``order``).
    tol : float, default 1e-12
        Stop when the relative change of the data falls below ``tol``.

    Returns
    -------
    ndarray of complex, shape (n_signals, 2M+1)

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.fri import dirac_coefficients, cadzow_denoise
    >>> Y = dirac_coefficients([1.0, 4.0], [[1.0, 2.0], [0.5, 1.0]], 10.0, 4)
    >>> bool(np.allclose(cadzow_denoise(Y, 2), Y))
    True
    """
    Y = _check_Y(Y)
    J, N = Y.shape
    K = as_int("order", order, minimum=1)
    L = _default_pencil(_effective_signals(Y), N, K) if pencil is None else as_int("pencil", pencil, minimum=K)
    if L + 1 <= K or J * (N - L) <= K or L > N - 1:
        raise ValidationError("order", K, f"smaller than both dimensions of the stacked Hankel matrix "
                              f"({J * (N - L)} x {L + 1})")
    n_iter = as_int("n_iter", n_iter, minimum=1)
    rows = N - L
    idx = np.arange(rows)[:, None] + np.arange(L + 1)[None, :]
    counts = np.bincount(idx.ravel(), minlength=N).astype(float)
    X = Y.copy()
    for _ in range(n_iter):
        H = _hankel_stack(X, L)
        U, s, Vh = np.linalg.svd(H, full_matrices=False)
        if s[K] <= tol * s[0]:
            break
        Hk = (U[:, :K] * s[:K]) @ Vh[:K]
        Hk = Hk.reshape(J, rows, L + 1)
        new = np.zeros_like(X)
        for j in range(J):
            new[j] = np.bincount(idx.ravel(), weights=Hk[j].real.ravel(), minlength=N) + \
                1j * np.bincount(idx.ravel(), weights=Hk[j].imag.ravel(), minlength=N)
        new /= counts
        change = np.linalg.norm(new - X) / max(np.linalg.norm(X), 1e-300)
        X = new
        if change < tol:
            break
    # restore the conjugate symmetry of real signals when the input had it
    if np.allclose(Y, np.conj(Y[:, ::-1]), rtol=0, atol=1e-12 * max(np.abs(Y).max(), 1e-300)):
        X = 0.5 * (X + np.conj(X[:, ::-1]))
    return X


def _roots_annihilating(Y: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Roots of the joint annihilating filter and the singular values of the stacked system."""
    T = _toeplitz_stack(Y, K)
    _, s, Vh = np.linalg.svd(T, full_matrices=False)
    h = np.conj(Vh[-1])
    # filter sum_l h_l y_{n-l} = 0: the z_k are the roots of sum_l h_l z^{K-l}
    return np.roots(h), s


def _roots_esprit(Y: np.ndarray, K: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Roots from the shift invariance of the stacked Hankel row space (matrix pencil / ESPRIT)."""
    H = _hankel_stack(Y, L)
    _, s, Vh = np.linalg.svd(H, full_matrices=False)
    Vs = Vh[:K].T  # (L+1, K), its columns span the Vandermonde vectors (z_k^c)_c
    Phi = np.linalg.lstsq(Vs[:-1], Vs[1:], rcond=None)[0]
    return np.linalg.eigvals(Phi), s


def _amplitudes(Y: np.ndarray, s: np.ndarray, period: float, M: int, real: bool) -> np.ndarray:
    V = _vandermonde(s, period, M)
    if real:
        Vr = np.vstack([V.real, V.imag])
        Yr = np.hstack([Y.real, Y.imag]).T
        return np.linalg.lstsq(Vr, Yr, rcond=None)[0].T
    return np.linalg.lstsq(V, Y.T, rcond=None)[0].T


def _misfit(Y: np.ndarray, s: np.ndarray, A: np.ndarray, period: float, M: int) -> float:
    fit = A @ _vandermonde(s, period, M).T
    return float(np.linalg.norm(Y - fit) / max(np.linalg.norm(Y), 1e-300))


def _refine_locations(Y: np.ndarray, s0: np.ndarray, period: float, M: int, real: bool) -> np.ndarray:
    """Variable-projection least squares on the locations (amplitudes eliminated)."""
    from scipy.optimize import least_squares

    def resid(s: np.ndarray) -> np.ndarray:
        A = _amplitudes(Y, s, period, M, real)
        R = Y - A @ _vandermonde(s, period, M).T
        return np.concatenate([R.real.ravel(), R.imag.ravel()])

    sol = least_squares(resid, s0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                        max_nfev=100 * (s0.size + 1))
    return np.mod(sol.x, period)


def _order_and_counts(Y: np.ndarray, n_diracs: Any, max_diracs: Any, rtol: Any, pencil: Any, min_gap: Any,
                      info: dict) -> tuple[int, np.ndarray, int, str]:
    """The number of Diracs (given, or selected with a clear singular-value gap) and the counting
    conditions: ``(K, singular values, effective signals r, why not identifiable or "")``."""
    J, N = Y.shape
    r = 0
    if n_diracs is None:
        if N < 3:
            return 0, np.empty(0), r, f"2M+1 = {N} coefficients cannot reveal any Dirac (need M >= 1)"
        K, sv = select_order(Y, max_diracs, rtol=rtol, pencil=pencil)
        if K == 0:
            return 0, sv, r, "the coefficients are all zero: no Dirac to recover"
        floor = np.maximum(sv, 1e-13 * sv[0])
        gap = float(floor[K - 1] / floor[K]) if K < sv.size else float("inf")
        info["order_gap"] = gap
        min_gap = as_scalar("min_gap", min_gap, positive=True)
        if gap < min_gap:
            return K, sv, r, (f"no clear model order: the largest drop of the singular values "
                              f"(s_{K}/s_{K + 1} = {gap:.3g}) is below min_gap = {min_gap:g}; there may be more "
                              f"Diracs than the data can reveal, or noise hides the order (give n_diracs)")
    else:
        K = as_int("n_diracs", n_diracs, minimum=1)
        sv = np.empty(0)
    if K + 1 > N:
        return K, sv, r, (f"{K} Diracs need an annihilating filter of length {K + 1}, more than the "
                          f"2M+1 = {N} coefficients")
    r = _effective_signals(Y)
    info["effective_signals"] = r
    n_eq = r * (N - K)
    if n_eq < K:
        return K, sv, r, (f"{J} signal(s) of which {r} are independent (rank of the amplitudes) "
                          f"give r(2M+1-K) = {n_eq} annihilation equations, fewer than the K = {K} needed")
    return K, sv, r, ""


def fri_recover(Y: Any, period: float, n_diracs: int | None = None, *, method: str = "esprit",
                max_diracs: int | None = None, rtol: float | None = None, min_gap: float = 100.0,
                real_amplitudes: bool | None = None, cadzow_iterations: int = 50,
                pencil: int | None = None, refine: bool = False, warn: bool = True) -> FRIResult:
    """Recover periodic Diracs shared by many signals from their Fourier coefficients.

    Parameters
    ----------
    Y : array_like of complex, shape (n_signals, 2M+1)
        Two-sided coefficients, column ``M + m`` for ``m = -M..M``, of
        ``y_j = (1/T) sum_k A[j,k] exp(-i 2 pi m s_k / T)``.
    period : float
        Period ``T``.
    n_diracs : int, optional
        The number of Diracs ``K``; chosen by :func:`select_order` when omitted.
    method : {"esprit", "cadzow", "annihilating"}, default "esprit"
        ``"annihilating"``: the joint annihilating filter (smallest right
        singular vector of the stacked Toeplitz systems), exact for exact data.
        ``"cadzow"``: joint Cadzow denoising, then the annihilating filter.
        ``"esprit"``: matrix pencil on the stacked Hankel matrices (robust to noise).
    max_diracs : int, optional
        Largest order considered by the order selection.
    rtol : float, optional
        Singular-value threshold of the order selection (default: largest gap).
    min_gap : float, default 100
        A selected order is trusted only when ``s_K / s_{K+1}`` is at least
        this large; otherwise the data may hold more Diracs than they can
        reveal (or noise hides the order) and the result is flagged not
        identifiable. Lower it for noisy data, or give ``n_diracs``.
    real_amplitudes : bool, optional
        Fit real amplitudes (default: True when ``Y`` is conjugate symmetric,
        i.e. the signals are real).
    cadzow_iterations : int, default 50
        Iterations of Cadzow denoising.
    pencil : int, optional
        Pencil parameter ``L`` (columns minus one of the Hankel blocks).
    refine : bool, default False
        Polish the locations by nonlinear least squares on the coefficients
        (amplitudes projected out, ``scipy.optimize.least_squares``), starting
        from the estimate of ``method``; the maximum-likelihood fit for white
        noise on ``Y``. Kept only when it lowers the residual.
    warn : bool, default True
        Emit :class:`~tem_sim.exceptions.IdentifiabilityWarning` when the data
        do not determine the Diracs (the result says so in any case).

    Returns
    -------
    FRIResult

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.fri import dirac_coefficients, fri_recover
    >>> A = np.array([[1.0, 0.5, 2.0], [0.3, 1.0, 1.0]])
    >>> Y = dirac_coefficients([0.5, 3.0, 8.25], A, period=10.0, n_harmonics=3)
    >>> res = fri_recover(Y, 10.0)
    >>> res.order, np.round(res.locations, 10).tolist()
    (3, [0.5, 3.0, 8.25])
    """
    Y = _check_Y(Y)
    period = as_scalar("period", period, positive=True)
    if method not in FRI_METHODS:
        raise ValidationError("method", method, "one of " + ", ".join(repr(m) for m in FRI_METHODS))
    J, N = Y.shape
    M = N // 2
    scale = max(float(np.abs(Y).max()), 1e-300)
    symmetric = bool(np.allclose(Y, np.conj(Y[:, ::-1]), rtol=0, atol=1e-9 * scale))
    real = symmetric if real_amplitudes is None else bool(real_amplitudes)
    info: dict[str, Any] = {"n_signals": J, "n_harmonics": M}

    def fail(K: int, sv: np.ndarray, selected: bool, msg: str) -> FRIResult:
        if warn:
            warnings.warn(f"fri_recover: {msg}", IdentifiabilityWarning, stacklevel=3)
        return FRIResult(np.empty(0), np.empty((J, 0)), K, selected, sv, 1.0 if scale > 1e-300 else 0.0,
                         float("nan"), False, msg, method, period, info)

    selected = n_diracs is None
    K, sv, r, msg = _order_and_counts(Y, n_diracs, max_diracs, rtol, pencil, min_gap, info)
    if msg:
        return fail(K, sv, selected, msg)
    L = _default_pencil(r, N, K) if pencil is None else as_int("pencil", pencil, minimum=K)
    if L > N - 1:
        raise ValidationError("pencil", L, f"<= 2M = {N - 1}")
    info["pencil"] = L

    data = Y
    if method == "cadzow":
        if L + 1 > K and r * (N - L) > K:
            data = cadzow_denoise(Y, K, n_iter=cadzow_iterations, pencil=L)
        method_roots = "annihilating"
    else:
        method_roots = method
    if method_roots == "esprit" and r * (N - L) >= K:
        z, sys_sv = _roots_esprit(data, K, L)
        # rank check: K-th singular value of the stacked Hankel must stand out
        rank_ok = sys_sv[K - 1] > 1e-10 * sys_sv[0] and (sys_sv.size <= K or sys_sv[K - 1] > 10 * sys_sv[K])
    else:
        z, sys_sv = _roots_annihilating(data, K)
        # null space of the stacked Toeplitz system must be one-dimensional
        rank_ok = sys_sv.size >= 2 and sys_sv[-2] > 1e-10 * sys_sv[0] and sys_sv[-2] > 10 * sys_sv[-1]
    if not selected:
        sv = sys_sv
    info["system_singular_values"] = sys_sv
    if z.size != K or not np.all(np.isfinite(z)):
        return fail(K, sv, selected, "the annihilating filter is degenerate (leading coefficient zero)")
    radius_err = float(np.max(np.abs(np.abs(z) - 1.0)))
    # z_k = exp(-i 2 pi s_k / T)
    s = np.mod(-np.angle(z) * period / (2.0 * np.pi), period)
    s[s >= period] -= period
    A = _amplitudes(Y, s, period, M, real)
    residual = _misfit(Y, s, A, period, M)
    if refine:
        s2 = _refine_locations(Y, s, period, M, real)
        A2 = _amplitudes(Y, s2, period, M, real)
        r2 = _misfit(Y, s2, A2, period, M)
        info["refined"] = bool(r2 < residual)
        if r2 < residual:
            s, A, residual = s2, A2, r2
    order = np.argsort(s)
    s = s[order]
    A = A[:, order]
    msg = ""
    ok = True
    if not rank_ok:
        ok = False
        msg = (f"the stacked system does not single out {K} Diracs (its singular values show no clear "
               f"rank {K}): too many Diracs for the data, or amplitude vectors that are not diverse enough")
        if warn:
            warnings.warn(f"fri_recover: {msg}", IdentifiabilityWarning, stacklevel=2)
    return FRIResult(s, A, K, selected, sv, residual, radius_err, ok, msg, method, period, info)
