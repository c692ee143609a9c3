"""Two-layer training without backpropagation: hidden spikes recovered from output spikes.

A network ``x`` (analog, ``n_in``) -> hidden TEM layer (``W1``) -> hidden
spikes -> periodic lowpass kernel ``(T, M)`` -> output TEM layer (``W2``) ->
output spikes is trained from ``x`` and the output spikes alone (section 6 of
the mathematics reference, K. Adam, ICASSP 2022). :func:`fit_two_layer`
decodes every output neuron's drive in every example
(:func:`tem_sim.decoding.decode_drive`); the drives share the pooled hidden
spikes as Diracs, so joint FRI (:func:`tem_sim.fri.fri_recover`) gives their
locations; the amplitude vector of every Dirac is one column of ``W2``
(spikes are all-or-none), so after dropping near-zero (spurious) vectors,
k-means (``scipy.cluster.vq.kmeans2``, seeded restarts) groups them into
``n_hidden`` neurons: centroids estimate ``W2`` and labels give the hidden
spike trains; ``W2`` is then refitted from all output spikes and ``W1``
trained from the recovered hidden spikes with the one-layer trainer
(:func:`tem_sim.training.fit_layer`). The answer is defined up to a
permutation of the hidden neurons (:func:`align_to_truth`). **Limits.** Per
example, ``K`` pooled hidden spikes in one period need ``2M+1 >= K+1`` and
``J (2M+1-K) >= K`` with ``J`` decodable output neurons (the paper: K = 8,
M = 7, J = 4); decoding a drive of ``2M+1`` real unknowns needs at least
``2M+1`` output spikes of that neuron per example (``D >= 28`` in the paper's
setting); the recovered hidden spikes are locations modulo ``T``, so the
hidden spikes used must lie in one period ``[0, T)``; two hidden spikes closer
than a fraction of the resolution ``T/(2M+1)`` are ill-conditioned (their
error grows roughly like the inverse square of the separation) and
coincident spikes of different hidden neurons merge into one Dirac whose
amplitude is a sum of columns (it is then dropped as an outlier or fails the
cluster check); hidden neurons need distinct columns of ``W2``. Failures are
reported in :class:`TwoLayerReport` (flag and reason, plus an
:class:`~tem_sim.exceptions.IdentifiabilityWarning`), never as obscure errors.
"""
from __future__ import annotations

import inspect
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.optimize import linear_sum_assignment

from ._validation import as_float_array, as_int, as_scalar, rng_from_seed
from .exceptions import IdentifiabilityWarning, ValidationError
from .fri import FRI_METHODS, FRIResult, fri_recover
from .kernels import PeriodicLowpass
from .neurons import Neurons
from .signals import FourierSignals
from .spikes import SpikeTrains

__all__ = ["fit_two_layer", "TwoLayerResult", "TwoLayerReport", "Alignment", "align_to_truth",
           "simulate_two_layer", "hidden_drive"]


# ------------------------------------------------------------------ results
@dataclass
class TwoLayerReport:
    """What happened in :func:`fit_two_layer`.

    Attributes
    ----------
    success : bool
        True when every stage succeeded for at least one example and the clusters separated.
    reason : str
        Why it failed (empty on success).
    examples : list of dict
        Per example: ``success``, ``reason``, ``decoded`` (indices of the output
        neurons whose drive was identifiable), ``decode_residual`` (largest
        decoding residual), ``order`` (number of Diracs), ``order_selected``,
        ``singular_values``, ``fri_residual``, ``fri_identifiable``,
        ``n_spurious`` (near-zero amplitude vectors dropped), ``n_outliers``.
    order : list of int
        Model order (number of pooled hidden spikes) of every example.
    cluster_separation : float
        Smallest distance between two centroids divided by the largest
        distance of an amplitude vector to its centroid (large is good;
        ``inf`` for exact data with identical vectors).
    cluster_sizes : ndarray
        Number of hidden spikes assigned to each hidden neuron.
    inertia : float
        Sum of squared distances of the amplitude vectors to their centroids.
    w2_residual : float
        Relative misfit of the final ``W2`` to the decoded drives.
    output_residual : ndarray
        Per output neuron: relative residual ``||A w - r|| / ||r||`` of the
        final ``W2`` and hidden spikes in the output spike equations.
    hidden_match_cost : ndarray or None
        For hidden neurons with different parameters: ``cost[c, i]``, the
        relative residual of cluster ``c``'s spikes under neuron ``i``'s
        parameters; clusters are matched to neurons by the Hungarian
        assignment on it (None when the hidden neurons are identical and the
        order is arbitrary).
    refine_info : dict
        Result of the hidden-spike refinement (cost before and after, evaluations).
    layer1_info : list
        The one-layer trainer's per-neuron info for ``W1``.
    layer2_info : list
        The one-layer trainer's per-neuron info of the ``W2`` refit (empty if not refitted).
    timings : dict
        Seconds spent per stage.
    """

    success: bool = True
    reason: str = ""
    examples: list = field(default_factory=list)
    order: list = field(default_factory=list)
    cluster_separation: float = float("nan")
    cluster_sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    inertia: float = float("nan")
    w2_residual: float = float("nan")
    output_residual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hidden_match_cost: np.ndarray | None = None
    refine_info: dict = field(default_factory=dict)
    layer1_info: list = field(default_factory=list)
    layer2_info: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def example_success(self) -> np.ndarray:
        """Boolean per example: its hidden spikes were recovered."""
        return np.array([bool(e.get("success", False)) for e in self.examples])


@dataclass
class TwoLayerResult:
    """Weights and hidden spikes learned by :func:`fit_two_layer`.

    Attributes
    ----------
    W1 : ndarray, shape (n_hidden, n_in)
        Hidden-layer weights (NaN where unavailable).
    W2 : ndarray, shape (n_out, n_hidden)
        Output-layer weights (NaN where unavailable).
    W2_centroids : ndarray, shape (n_out, n_hidden)
        The k-means centroids (``W2`` before the refit from all output spikes).
    hidden_spikes : list of SpikeTrains or None
        Recovered hidden spikes of every example (None for a failed example).
    report : TwoLayerReport
    """

    W1: np.ndarray
    W2: np.ndarray
    W2_centroids: np.ndarray
    hidden_spikes: list
    report: TwoLayerReport

    @property
    def success(self) -> bool:
        """Shortcut for ``report.success``."""
        return self.report.success


@dataclass(frozen=True)
class Alignment:
    """A result aligned with ground truth by :func:`align_to_truth`.

    Attributes
    ----------
    W1, W2 : ndarray
        The estimates with the hidden neurons permuted to match the truth.
    permutation : ndarray of int
        ``permutation[i]`` is the estimated hidden neuron matched to true neuron ``i``.
    errors : dict
        ``W1_fro``, ``W1_one`` (matrix 1-norm: largest absolute column sum),
        ``W2_fro`` and ``W2_one`` of the aligned differences.
    """

    W1: np.ndarray
    W2: np.ndarray
    permutation: np.ndarray
    errors: dict


# ------------------------------------------------------------------ helpers
def hidden_drive(hidden_spikes: SpikeTrains, kernel: PeriodicLowpass) -> FourierSignals:
    """The Fourier series each hidden neuron's spikes make through the periodic lowpass kernel.

    One signal per hidden neuron (unit amplitude per spike, the first
    ``kernel.first`` spikes if set); the output layer's drive is ``W2`` times it.

    Parameters
    ----------
    hidden_spikes : SpikeTrains
    kernel : PeriodicLowpass

    Returns
    -------
    FourierSignals
        ``hidden_spikes.n_neurons`` signals with period ``kernel.period`` and ``M = kernel.n_harmonics``.

    Examples
    --------
    >>> from tem_sim import SpikeTrains, PeriodicLowpass
    >>> from tem_sim.twolayer import hidden_drive
    >>> h = hidden_drive(SpikeTrains([1.0, 2.0], [0, 1], n_neurons=2, t_stop=10.0), PeriodicLowpass(10.0, 3))
    >>> h.n_signals, h.n_harmonics
    (2, 3)
    """
    if not isinstance(hidden_spikes, SpikeTrains):
        raise ValidationError("hidden_spikes", type(hidden_spikes).__name__, "a SpikeTrains")
    if not isinstance(kernel, PeriodicLowpass):
        raise ValidationError("kernel", kernel, "a PeriodicLowpass kernel")
    st = hidden_spikes if kernel.first is None else hidden_spikes.first(kernel.first)
    C = np.stack([kernel.coefficients(st.neuron(i)) for i in range(st.n_neurons)])
    return FourierSignals(C, kernel.period)


def simulate_two_layer(inputs: FourierSignals, W1: Any, W2: Any, hidden_neurons: Neurons,
                       output_neurons: Neurons, kernel: PeriodicLowpass, t_end: float,
                       *, hidden_t_end: float | None = None) -> tuple[SpikeTrains, SpikeTrains]:
    """Run the two-layer network of the paper's Figure 3 on one example.

    The hidden layer encodes ``W1 x`` over ``[0, hidden_t_end]`` (default
    ``t_end``); its spikes (the first ``kernel.first`` per neuron, if set) pass
    through the periodic lowpass kernel, and the output layer encodes ``W2``
    times that over ``[0, t_end]``.

    Parameters
    ----------
    inputs : FourierSignals
    W1 : array_like, shape (n_hidden, n_in)
    W2 : array_like, shape (n_out, n_hidden)
    hidden_neurons, output_neurons : Neurons
    kernel : PeriodicLowpass
    t_end : float
    hidden_t_end : float, optional

    Returns
    -------
    hidden, output : SpikeTrains
        The hidden spikes (only those the kernel uses) and the output spikes.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, PeriodicLowpass
    >>> from tem_sim.twolayer import simulate_two_layer
    >>> x = FourierSignals.random_paper(2, 10, 10.0, seed=0)
    >>> h, o = simulate_two_layer(x, [[0.5, 0.5], [0.2, 0.8]], np.full((4, 2), 0.5),
    ...                           Neurons(2, kappa=10.0, bias=10.0), Neurons(4, bias=1.0),
    ...                           PeriodicLowpass(10.0, 7, first=4), 30.0)
    >>> h.counts().tolist()
    [4, 4]
    """
    from .engine import encode

    t_end = as_scalar("t_end", t_end, positive=True)
    ht = t_end if hidden_t_end is None else as_scalar("hidden_t_end", hidden_t_end, positive=True)
    hidden = encode(inputs, W1, hidden_neurons, ht)
    if kernel.first is not None:
        hidden = hidden.first(kernel.first)
    drive = hidden_drive(hidden, kernel)
    output = encode(drive, W2, output_neurons, t_end)
    return hidden, output


def _kmeans_kwargs() -> str:
    return "rng" if "rng" in inspect.signature(kmeans2).parameters else "seed"


def _best_kmeans(X: np.ndarray, k: int, rng: np.random.Generator, n_restarts: int,
                 n_iter: int) -> tuple[np.ndarray, np.ndarray, float]:
    """k-means with seeded k-means++ restarts; the lowest inertia without empty clusters wins."""
    key = _kmeans_kwargs()
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(n_restarts):
        sub = np.random.default_rng(rng.integers(2**63))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cent, lab = kmeans2(X, k, iter=n_iter, minit="++", missing="warn", **{key: sub})
        # a few Lloyd steps to convergence (kmeans2 stops after `iter` passes)
        for _ in range(100):
            d = ((X[:, None, :] - cent[None, :, :]) ** 2).sum(axis=2)
            new = np.argmin(d, axis=1)
            sizes = np.bincount(new, minlength=k)
            if np.any(sizes == 0):
                break
            cent = np.stack([X[new == i].mean(axis=0) for i in range(k)])
            if np.array_equal(new, lab):
                break
            lab = new
        sizes = np.bincount(lab, minlength=k)
        if np.any(sizes == 0):
            continue
        inertia = float(((X - cent[lab]) ** 2).sum())
        if best is None or inertia < best[2]:
            best = (cent, lab, inertia)
    if best is None:
        raise _Failure("k-means left a hidden neuron without any spike in every restart")
    return best


class _Failure(Exception):
    """Internal: a stage failed; the message becomes the report's reason."""


def _identical(neurons: Neurons) -> bool:
    return all(bool(np.all(a == a[0])) for a in (neurons.kappa, neurons.delta, neurons.bias, neurons.v0, neurons.tau))


def _match_clusters(inputs, hidden, good, neurons, fit_layer, fit_options, layer_rows):
    """Assign clusters to hidden neurons with different parameters (Hungarian on layer-1 residuals).

    Cluster ``c``'s spikes fitted with neuron ``i``'s parameters leave a
    relative residual ``cost[c, i]`` in the spike equations; only the right
    parameters make them consistent (given more equations than inputs).
    """
    n = neurons.n
    cost = np.zeros((n, n))
    for c in range(n):
        trains = []
        for e in good:
            h = hidden[e]
            t = h.times[h.indices == c]
            trains.append(SpikeTrains(t, np.zeros(t.size, dtype=int), 1, h.t_start, h.t_stop))
        for i in range(n):
            sub = neurons.subset(np.array([i]))
            ex = [(inputs[e], trains[q]) for q, e in enumerate(good)]
            w = np.asarray(fit_layer(ex, sub, **fit_options).weights)[0]
            nr = layer_rows(ex, sub)[0]
            cost[c, i] = np.linalg.norm(nr.A @ w - nr.r) / max(np.linalg.norm(nr.r), 1e-300)
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(n, dtype=int)
    perm[rows] = cols
    return perm, cost


def _refine_hidden(hidden, good, output_spikes, output_neurons, T, M, layer_rows):
    """Variable-projection least squares of the hidden spike times on the output spike equations.

    For fixed hidden spikes the output equations are linear in ``W2``: rows
    of every output neuron are ``A_basis @ Theta(s)^T`` with ``A_basis`` the
    rows of the real Fourier basis (built once by
    :func:`tem_sim.constraints.layer_rows`) and ``Theta(s)`` the real
    coefficients of the hidden drives; ``W2`` is eliminated by least squares.
    """
    from scipy.optimize import least_squares

    from .decoding import real_basis

    n_out = output_neurons.n
    basis = real_basis(T, M)
    rows = [layer_rows([(basis, output_spikes[e])], output_neurons) for e in good]
    A_b = [[np.asarray(rows[q][j].A) for q in range(len(good))] for j in range(n_out)]
    r_b = [[rows[q][j].r for q in range(len(good))] for j in range(n_out)]
    labels = [hidden[e].indices.copy() for e in good]
    n_h = hidden[good[0]].n_neurons
    sizes = [hidden[e].count for e in good]
    offs = np.concatenate([[0], np.cumsum(sizes)])
    m = np.arange(1, M + 1)

    def theta(s: np.ndarray, lab: np.ndarray) -> np.ndarray:
        ph = np.exp(-2j * np.pi * np.outer(s, m) / T) / T          # (K, M)
        P = np.zeros((n_h, s.size))
        P[lab, np.arange(s.size)] = 1.0
        c = P @ ph                                               # (n_h, M)
        out = np.empty((n_h, 2 * M + 1))
        out[:, 0] = P.sum(axis=1) / T
        out[:, 1::2] = c.real
        out[:, 2::2] = c.imag
        return out

    def resid(x: np.ndarray) -> np.ndarray:
        Th = [theta(x[offs[q]:offs[q + 1]], labels[q]) for q in range(len(good))]
        res = []
        for j in range(n_out):
            A = np.vstack([A_b[j][q] @ Th[q].T for q in range(len(good))])
            r = np.concatenate(r_b[j])
            w = np.linalg.lstsq(A, r, rcond=None)[0]
            res.append((A @ w - r) / max(np.linalg.norm(r), 1e-300))
        return np.concatenate(res)

    x0 = np.concatenate([hidden[e].times for e in good])
    c0 = float(np.sum(resid(x0) ** 2))
    sol = least_squares(resid, x0, method="trf", x_scale=1.0, xtol=1e-15, ftol=1e-15, gtol=1e-15,
                        max_nfev=50 * (x0.size + 1))
    c1 = float(np.sum(sol.fun ** 2))
    info = {"cost_before": c0, "cost_after": c1, "nfev": int(sol.nfev), "accepted": bool(c1 < c0)}
    if not c1 < c0:
        return hidden, info
    out = list(hidden)
    for q, e in enumerate(good):
        t = np.mod(sol.x[offs[q]:offs[q + 1]], T)
        out[e] = SpikeTrains(t, labels[q], n_h, 0.0, float(t.max()))
    return out, info


def _neuron_ok(info: Any) -> bool:
    if isinstance(info, dict):
        return bool(info.get("identifiable", True))
    return True


def fit_two_layer(inputs: Sequence[FourierSignals], output_spikes: Sequence[SpikeTrains],
                  hidden_neurons: Neurons, output_neurons: Neurons, n_hidden: int,
                  kernel: PeriodicLowpass, *, seed: Any, method: str = "esprit",
                  n_diracs: int | Sequence[int] | None = None, max_diracs: int | None = None,
                  rtol: float | None = None, refine_locations: bool = True,
                  spurious_tol: float = 0.1, n_restarts: int = 10, kmeans_iter: int = 50,
                  min_separation: float = 5.0, outlier_tol: float = 0.25, refit_w2: bool = True,
                  max_output_residual: float = 0.05, refine_hidden: bool = True,
                  decode_options: dict | None = None, fit_options: dict | None = None,
                  warn: bool = True) -> TwoLayerResult:
    """Learn both layers of a two-layer TEM network from its inputs and output spikes.

    Parameters
    ----------
    inputs : sequence of FourierSignals
        The analog inputs of every example (``n_in`` signals each).
    output_spikes : sequence of SpikeTrains
        The output layer's spikes in every example.
    hidden_neurons, output_neurons : Neurons
        Known parameters of the ``n_hidden`` hidden and ``n_out`` output neurons.
    n_hidden : int
        Number of hidden neurons.
    kernel : PeriodicLowpass
        The kernel between the layers (its period and harmonics are the FRI's).
    seed : int, SeedSequence or Generator
        Seeds the k-means restarts (required, so that runs are reproducible).
    method : {"esprit", "cadzow", "annihilating"}, default "esprit"
        FRI estimator (:func:`tem_sim.fri.fri_recover`).
    n_diracs : int or sequence of int, optional
        Pooled hidden spikes per example (one value, or one per example);
        chosen from singular values when omitted (at most ``max_diracs``,
        by default ``n_hidden * kernel.first`` when the kernel keeps the
        first spikes).
    max_diracs : int, optional
        Upper bound of the order selection.
    rtol : float, optional
        Singular-value threshold of the order selection (default: largest gap).
    refine_locations : bool, default True
        Polish the FRI locations by nonlinear least squares.
    spurious_tol : float, default 0.1
        Amplitude vectors shorter than ``spurious_tol`` times the median
        length are spurious roots and dropped.
    n_restarts : int, default 10
        k-means restarts (k-means++ seeding, each seeded from ``seed``).
    kmeans_iter : int, default 50
        Iterations of each ``kmeans2`` run.
    min_separation : float, default 5
        Clusters separate when the smallest distance between centroids is at
        least this many times the largest distance of a vector to its centroid.
    outlier_tol : float, default 0.25
        After clustering, vectors farther than ``outlier_tol`` times the
        smallest centroid distance from their centroid (merged or spurious
        Diracs) are dropped and the centroids recomputed.
    refit_w2 : bool, default True
        Refit ``W2`` by the one-layer trainer on the output spikes of all
        successful examples, with the recovered hidden spikes as inputs (uses
        every output spike and enforces identical columns); otherwise
        ``W2`` is the centroids.
    max_output_residual : float, default 0.05
        Final consistency check: the recovered hidden spikes and ``W2`` must
        satisfy the output spike equations (E0/E1) of every successful example
        to this relative residual ``||A w - r|| / ||r||`` (largest over output
        neurons; about 1e-12 for exact spikes, about the relative spike-time
        jitter for noisy ones). Wrong hidden spikes leave residuals of order 0.1-1.
    refine_hidden : bool, default True
        After clustering, polish the hidden spike times of every example by
        nonlinear least squares directly on the output spike equations, with
        ``W2`` projected out (variable projection; labels fixed). This uses
        every output spike rather than the decoded drives and enforces the
        all-or-none structure; it matters with noisy spikes.
    decode_options : dict, optional
        Passed to :func:`tem_sim.decoding.decode_drive`.
    fit_options : dict, optional
        Passed to :func:`tem_sim.training.fit_layer` (both layers).
    warn : bool, default True
        Emit :class:`~tem_sim.exceptions.IdentifiabilityWarning` on failure.

    Returns
    -------
    TwoLayerResult
        ``W1``, ``W2`` (hidden neurons in an arbitrary order), the recovered
        hidden spikes and a :class:`TwoLayerReport`. On failure the weights
        that could not be learnt are NaN and ``report.reason`` says why.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, PeriodicLowpass
    >>> from tem_sim.twolayer import simulate_two_layer, fit_two_layer, align_to_truth
    >>> rng = np.random.default_rng(1)
    >>> W1, W2 = rng.random((2, 2)), rng.random((4, 2))
    >>> hid, out = Neurons(2, kappa=10.0, bias=10.0), Neurons(4, bias=1.0)
    >>> k = PeriodicLowpass(10.0, 7, first=4)
    >>> xs = [FourierSignals.random_paper(2, 10, 10.0, seed=rng) for _ in range(2)]
    >>> outs = [simulate_two_layer(x, W1, W2, hid, out, k, 36.0)[1] for x in xs]
    >>> res = fit_two_layer(xs, outs, hid, out, 2, k, seed=0)
    >>> res.success, bool(align_to_truth(res, W1, W2).errors["W2_fro"] < 1e-6)
    (True, True)
    """
    from .constraints import layer_rows
    from .decoding import decode_drive
    from .training import fit_layer

    t_all = time.perf_counter()
    # ---------------------------------------------------------- validation
    inputs = list(inputs)
    output_spikes = list(output_spikes)
    if not inputs:
        raise ValidationError("inputs", inputs, "a non-empty sequence of FourierSignals")
    if len(output_spikes) != len(inputs):
        raise ValidationError("output_spikes", f"{len(output_spikes)} examples",
                              f"one SpikeTrains per example ({len(inputs)})")
    for e, x in enumerate(inputs):
        if not isinstance(x, FourierSignals):
            raise ValidationError(f"inputs[{e}]", type(x).__name__, "a FourierSignals bank")
        if x.n_signals != inputs[0].n_signals:
            raise ValidationError(f"inputs[{e}]", f"{x.n_signals} signals", f"{inputs[0].n_signals} like inputs[0]")
    if not isinstance(hidden_neurons, Neurons):
        raise ValidationError("hidden_neurons", type(hidden_neurons).__name__, "a Neurons instance")
    if not isinstance(output_neurons, Neurons):
        raise ValidationError("output_neurons", type(output_neurons).__name__, "a Neurons instance")
    n_hidden = as_int("n_hidden", n_hidden, minimum=1)
    if hidden_neurons.n != n_hidden:
        raise ValidationError("hidden_neurons", f"{hidden_neurons.n} neurons", f"n_hidden = {n_hidden} neurons")
    for e, st in enumerate(output_spikes):
        if not isinstance(st, SpikeTrains):
            raise ValidationError(f"output_spikes[{e}]", type(st).__name__, "a SpikeTrains")
        if st.n_neurons != output_neurons.n:
            raise ValidationError(f"output_spikes[{e}].n_neurons", st.n_neurons,
                                  f"the number of output neurons, {output_neurons.n}")
    if not isinstance(kernel, PeriodicLowpass):
        raise ValidationError("kernel", kernel, "a PeriodicLowpass kernel (period, n_harmonics)")
    if method not in FRI_METHODS:
        raise ValidationError("method", method, "one of " + ", ".join(repr(m) for m in FRI_METHODS))
    n_ex = len(inputs)
    if n_diracs is None:
        orders: list[int | None] = [None] * n_ex
    elif np.ndim(n_diracs) == 0:
        orders = [as_int("n_diracs", n_diracs, minimum=1)] * n_ex
    else:
        orders = [as_int(f"n_diracs[{e}]", k, minimum=1) for e, k in enumerate(n_diracs)]
        if len(orders) != n_ex:
            raise ValidationError("n_diracs", n_diracs, f"an int or one per example ({n_ex})")
    if max_diracs is None and kernel.first is not None:
        max_diracs = n_hidden * kernel.first
    spurious_tol = as_scalar("spurious_tol", spurious_tol, nonnegative=True)
    min_separation = as_scalar("min_separation", min_separation, positive=True)
    outlier_tol = as_scalar("outlier_tol", outlier_tol, positive=True)
    max_output_residual = as_scalar("max_output_residual", max_output_residual, positive=True)
    n_restarts = as_int("n_restarts", n_restarts, minimum=1)
    kmeans_iter = as_int("kmeans_iter", kmeans_iter, minimum=1)
    rng = rng_from_seed(seed)
    # the report carries the identifiability diagnostics: the inner solvers stay quiet by default
    decode_options = {"warn": False, **(decode_options or {})}
    fit_options = {"warn": False, **(fit_options or {})}
    T, M = kernel.period, kernel.n_harmonics
    n_out, n_in = output_neurons.n, inputs[0].n_signals

    report = TwoLayerReport()
    nan1 = np.full((n_hidden, n_in), np.nan)
    nan2 = np.full((n_out, n_hidden), np.nan)

    def finish(W1, W2, W2c, hidden, reason=""):
        if reason:
            report.success = False
            report.reason = reason
            if warn:
                warnings.warn(f"fit_two_layer: {reason}", IdentifiabilityWarning, stacklevel=3)
        report.timings["total"] = time.perf_counter() - t_all
        return TwoLayerResult(W1, W2, W2c, hidden, report)

    # ------------------------------------------- 1-3: decode, FRI, amplitudes
    t0 = time.perf_counter()
    per_ex: list[dict] = []
    fri_out: list[FRIResult | None] = []
    Ys: list[np.ndarray | None] = []
    for e in range(n_ex):
        rec: dict[str, Any] = {"success": False, "reason": ""}
        per_ex.append(rec)
        fri_out.append(None)
        Ys.append(None)
        st = output_spikes[e]
        counts = st.counts()
        rec["output_spike_counts"] = counts
        dec = decode_drive(st, output_neurons, T, M, **decode_options)
        ok = np.array([_neuron_ok(inf) for inf in dec.info])
        Y = np.asarray(dec.signals.coefficients)
        ok &= np.all(np.isfinite(Y), axis=1)
        rec["decoded"] = np.flatnonzero(ok)
        rec["decode_residual"] = max((float(inf.get("residual", 0.0)) for j, inf in enumerate(dec.info)
                                      if ok[j] and isinstance(inf, dict)), default=float("nan"))
        if not ok.any():
            rec["reason"] = (f"too few output spikes: no output neuron's drive is identifiable "
                             f"(spike counts {counts.tolist()}, a drive of 2M+1 = {2 * M + 1} unknowns "
                             f"needs about {2 * M + 1} spikes per neuron)")
            continue
        Y = Y[ok]
        Ys[e] = Y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IdentifiabilityWarning)
            fr = fri_recover(Y, T, orders[e], method=method, max_diracs=max_diracs, rtol=rtol,
                             refine=refine_locations, warn=False)
        fri_out[e] = fr
        rec.update(order=fr.order, order_selected=fr.order_selected, singular_values=fr.singular_values,
                   fri_residual=fr.residual, fri_identifiable=fr.identifiable)
        # a counting failure (no locations) ends the example; a weak rank gap under noise is only recorded
        if fr.locations.size == 0 or (not fr.identifiable and orders[e] is None):
            rec["reason"] = (f"hidden spikes not identifiable from {int(ok.sum())} decoded output "
                             f"neuron(s): {fr.message}")
            continue
        rec["success"] = True
    report.examples = per_ex
    report.order = [r.get("order", 0) for r in per_ex]
    report.timings["decode_fri"] = time.perf_counter() - t0
    good = [e for e in range(n_ex) if per_ex[e]["success"]]
    if not good:
        return finish(nan1, nan2, nan2.copy(), [None] * n_ex,
                      "no example gave its hidden spikes: " + "; ".join(
                          f"example {e}: {r['reason']}" for e, r in enumerate(per_ex)))

    # --------------------------------- 4: all-or-none, clustering over examples
    t0 = time.perf_counter()
    # amplitude vectors live in the space of output neurons decoded in every good example
    common = set(range(n_out))
    for e in good:
        common &= set(per_ex[e]["decoded"].tolist())
    common_idx = np.array(sorted(common), dtype=int)
    if common_idx.size == 0:
        return finish(nan1, nan2, nan2.copy(), [None] * n_ex,
                      "no output neuron was decoded in every successful example: the amplitude "
                      "vectors cannot be compared across examples")
    points, owner = [], []
    for e in good:
        fr = fri_out[e]
        rows = np.searchsorted(per_ex[e]["decoded"], common_idx)
        A = fr.amplitudes[rows].T  # (K, n_common)
        points.append(A)
        owner.append(np.column_stack([np.full(A.shape[0], e), np.arange(A.shape[0])]))
    X = np.vstack(points)
    own = np.vstack(owner)
    norms = np.linalg.norm(X, axis=1)
    keep = norms > spurious_tol * np.median(norms)
    for e in good:
        per_ex[e]["n_spurious"] = int(np.count_nonzero(~keep & (own[:, 0] == e)))
    X, own = X[keep], own[keep]
    if X.shape[0] < n_hidden:
        return finish(nan1, nan2, nan2.copy(), [None] * n_ex,
                      f"fewer Diracs ({X.shape[0]}) than hidden neurons ({n_hidden}): some hidden "
                      f"neurons did not fire in the period, or their spikes were not resolved")
    try:
        cent, lab, inertia = _best_kmeans(X, n_hidden, rng, n_restarts, kmeans_iter)
    except _Failure as exc:
        return finish(nan1, nan2, nan2.copy(), [None] * n_ex, str(exc))
    # drop outliers (merged / spurious Diracs) and recompute the centroids
    dist = np.linalg.norm(X - cent[lab], axis=1)
    cd = np.linalg.norm(cent[:, None] - cent[None, :], axis=2)
    dmin = float(np.min(cd[np.triu_indices(n_hidden, 1)])) if n_hidden > 1 else float(np.max(np.linalg.norm(cent, axis=1)))
    outl = dist > outlier_tol * dmin
    if np.any(outl) and np.all(np.bincount(lab[~outl], minlength=n_hidden) > 0):
        for e in good:
            per_ex[e]["n_outliers"] = int(np.count_nonzero(outl & (own[:, 0] == e)))
        X, own, lab = X[~outl], own[~outl], lab[~outl]
        cent = np.stack([X[lab == i].mean(axis=0) for i in range(n_hidden)])
        inertia = float(((X - cent[lab]) ** 2).sum())
    else:
        for e in good:
            per_ex[e]["n_outliers"] = 0
    dist = np.linalg.norm(X - cent[lab], axis=1)
    spread = float(dist.max()) if dist.size else 0.0
    if n_hidden > 1:
        cd = np.linalg.norm(cent[:, None] - cent[None, :], axis=2)
        dmin = float(np.min(cd[np.triu_indices(n_hidden, 1)]))
    separation = float("inf") if spread == 0 else dmin / spread
    report.cluster_separation = separation
    report.cluster_sizes = np.bincount(lab, minlength=n_hidden)
    report.inertia = inertia
    W2c = np.full((n_out, n_hidden), np.nan)
    W2c[common_idx] = cent.T
    report.timings["cluster"] = time.perf_counter() - t0

    # hidden spike trains of every good example
    hidden: list[SpikeTrains | None] = [None] * n_ex
    for e in good:
        sel = own[:, 0] == e
        loc = fri_out[e].locations[own[sel, 1]]
        if loc.size == 0:
            per_ex[e]["success"] = False
            per_ex[e]["reason"] = "every Dirac of this example was dropped as spurious or outlier"
            continue
        hidden[e] = SpikeTrains(loc, lab[sel], n_hidden, 0.0, float(max(loc.max(), 0.0)))
    good = [e for e in good if hidden[e] is not None]
    late_reason = ""
    if n_hidden > 1 and separation < min_separation:
        late_reason = (f"the amplitude vectors do not separate into {n_hidden} clusters (separation "
                       f"{separation:.3g} < {min_separation:g}): hidden neurons with similar W2 columns, "
                       f"or hidden spikes too close to resolve")
    if refine_hidden:
        t0 = time.perf_counter()
        hidden, info_r = _refine_hidden(hidden, good, output_spikes, output_neurons, T, M, layer_rows)
        report.refine_info = info_r
        report.timings["refine_hidden"] = time.perf_counter() - t0

    # hidden neurons with different parameters: which cluster is which neuron?
    if not _identical(hidden_neurons):
        perm, cost = _match_clusters(inputs, hidden, good, hidden_neurons, fit_layer, fit_options, layer_rows)
        report.hidden_match_cost = cost
        inv = np.argsort(perm)           # cluster c -> neuron perm[c]
        for e in good:
            h = hidden[e]
            hidden[e] = SpikeTrains(h.times, perm[h.indices], n_hidden, h.t_start, h.t_stop)
        W2c = W2c[:, inv]
        report.cluster_sizes = report.cluster_sizes[inv]

    # ------------------------------------------ 5: refit W2, train layer 1
    t0 = time.perf_counter()
    W2 = W2c.copy()
    if refit_w2:
        ex2 = [(hidden_drive(hidden[e], PeriodicLowpass(T, M)), output_spikes[e]) for e in good]
        fit2 = fit_layer(ex2, output_neurons, **fit_options)
        W2r = np.asarray(fit2.weights, dtype=float)
        report.layer2_info = list(fit2.info)
        okr = np.array([_neuron_ok(inf) for inf in fit2.info]) & np.all(np.isfinite(W2r), axis=1)
        W2[okr] = W2r[okr]
    report.timings["refit_w2"] = time.perf_counter() - t0
    # misfit of W2 to the decoded drives
    num = den = 0.0
    for e in good:
        B = hidden_drive(hidden[e], PeriodicLowpass(T, M)).coefficients
        Yhat = W2[per_ex[e]["decoded"]] @ B
        num += float(np.linalg.norm(Ys[e] - Yhat) ** 2)
        den += float(np.linalg.norm(Ys[e]) ** 2)
    report.w2_residual = float(np.sqrt(num / den)) if den > 0 else float("nan")
    rows = layer_rows(ex2 if refit_w2 else
                      [(hidden_drive(hidden[e], PeriodicLowpass(T, M)), output_spikes[e]) for e in good],
                      output_neurons)
    out_res = np.array([np.linalg.norm(nr.A @ np.nan_to_num(W2[j]) - nr.r) / max(np.linalg.norm(nr.r), 1e-300)
                        for j, nr in enumerate(rows)])
    report.output_residual = out_res

    t0 = time.perf_counter()
    counts_h = sum(hidden[e].counts() for e in good)
    fit1 = fit_layer([(inputs[e], hidden[e]) for e in good], hidden_neurons, **fit_options)
    W1 = np.asarray(fit1.weights, dtype=float).copy()
    report.layer1_info = list(fit1.info)
    ok1 = np.array([_neuron_ok(inf) for inf in fit1.info]) & np.all(np.isfinite(W1), axis=1)
    report.timings["layer1"] = time.perf_counter() - t0
    if not ok1.all():
        bad = np.flatnonzero(~ok1).tolist()
        W1[~ok1] = np.nan
        return finish(W1, W2, W2c, hidden,
                      f"layer 1 is not identifiable for hidden neuron(s) {bad} (recovered spike counts "
                      f"{counts_h.tolist()} over {len(good)} example(s); each needs more than n_in = {n_in} "
                      f"spike equations)")
    if late_reason:
        return finish(W1, W2, W2c, hidden, late_reason)
    if np.nanmax(out_res) > max_output_residual:
        return finish(W1, W2, W2c, hidden,
                      f"the recovered hidden spikes and W2 do not explain the output spikes (relative residual "
                      f"{np.nanmax(out_res):.3g} > max_output_residual = {max_output_residual:g}): wrong model "
                      f"order, unresolved hidden spikes, or too much spike-time noise")
    if np.any(~np.isfinite(W2)):
        return finish(W1, W2, W2c, hidden, "some rows of W2 could not be estimated (output neurons "
                      "never decoded and not identifiable in the refit)")
    return finish(W1, W2, W2c, hidden)


def align_to_truth(result: TwoLayerResult | tuple[Any, Any], W1_true: Any, W2_true: Any) -> Alignment:
    """Align learned weights with the true ones (Hungarian assignment of hidden neurons).

    The columns of ``W2`` are matched to the true columns by
    ``scipy.optimize.linear_sum_assignment`` on squared distances; the rows of
    ``W1`` are permuted the same way. Errors are reported in the Frobenius norm
    and in the matrix 1-norm (largest absolute column sum, the paper's norm for ``W1``).

    Parameters
    ----------
    result : TwoLayerResult or (W1, W2)
    W1_true : array_like, shape (n_hidden, n_in)
    W2_true : array_like, shape (n_out, n_hidden)

    Returns
    -------
    Alignment

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.twolayer import align_to_truth
    >>> W1, W2 = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> al = align_to_truth((W1[::-1], W2[:, ::-1]), W1, W2)
    >>> al.permutation.tolist(), al.errors["W1_fro"]
    ([1, 0], 0.0)
    """
    if isinstance(result, TwoLayerResult):
        W1e, W2e = result.W1, result.W2
    else:
        try:
            W1e, W2e = result
        except (TypeError, ValueError):
            raise ValidationError("result", type(result).__name__, "a TwoLayerResult or a pair (W1, W2)") from None
    W1t = as_float_array("W1_true", W1_true, ndim=2)
    W2t = as_float_array("W2_true", W2_true, ndim=2, shape=(None, W1t.shape[0]))
    W1e = as_float_array("W1", W1e, ndim=2, shape=W1t.shape, finite=False)
    W2e = as_float_array("W2", W2e, ndim=2, shape=W2t.shape, finite=False)
    cost = ((np.nan_to_num(W2e, nan=1e6)[:, None, :] - W2t[:, :, None]) ** 2).sum(axis=0)  # (true, est)
    rows, cols = linear_sum_assignment(cost)
    perm = cols[np.argsort(rows)]
    A1, A2 = W1e[perm], W2e[:, perm]
    d1, d2 = A1 - W1t, A2 - W2t
    errors = {"W1_fro": float(np.linalg.norm(d1)), "W1_one": float(np.linalg.norm(d1, 1)),
              "W2_fro": float(np.linalg.norm(d2)), "W2_one": float(np.linalg.norm(d2, 1))}
    return Alignment(A1, A2, perm, errors)
