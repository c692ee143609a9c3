"""Two-layer training without backpropagation: hidden spikes recovered from output spikes.

A network ``x`` (analog, ``n_in``) -> hidden TEM layer (``W1``) -> hidden
spikes -> periodic lowpass kernel ``(T, M)`` -> output TEM layer (``W2``) ->
output spikes is trained from ``x`` and the output spikes alone (section 6 of
the mathematics reference, K. Adam, ICASSP 2022). :func:`fit_two_layer` runs
named steps. **FRI path** (fast first stage): decode every output neuron's
drive (:func:`tem_sim.decoding.decode_drive`); the drives share the pooled
hidden spikes as Diracs, so joint FRI (:func:`tem_sim.fri.fri_recover`) gives
their locations; every Dirac's amplitude vector is a column of ``W2`` (spikes
are all-or-none), so k-means groups them into ``n_hidden`` neurons.
**Search** (where FRI fails, e.g. too few output spikes to decode a drive):
the hidden layer is known but for ``W1``, so seeded Latin-hypercube candidates
of ``W1`` give candidate hidden spikes through the engine; the best are
polished by least squares in ``W1`` with the analytic spike-time sensitivity.
**Joint fit**: from either start, the hidden spike times of all examples and
``W2`` are fitted jointly to every output spike equation -- variable
projection (``W2`` is linear given the hidden spikes), Kaufman's analytic
Jacobian, rows re-anchored at ``t = 0`` and weighted ``1 / |u|`` as in the
efficient one-layer estimator, so that it is the maximum-likelihood fit under
the paper's spike-time jitter (within a few percent of the Cramer-Rao bound,
:func:`cramer_rao_bound`). It is identifiable when the Jacobian in (hidden
spike times, ``W2``) has full rank with equations to spare; its inverse gives
the error bars of ``W2`` and, propagated, of ``W1``, which the one-layer
trainer (:func:`tem_sim.training.fit_layer`) learns from the hidden spikes.
The hidden spikes must also be reproduced by the hidden layer with that
``W1`` (a check that rejects merged or mislabelled spikes). The answer is
defined up to a permutation of the hidden neurons (:func:`align_to_truth`).
:func:`recover_hidden` is the output side alone (no model of the hidden
layer's inputs: FRI path and joint fit), the top stage of deeper networks
(:mod:`tem_sim.threelayer`). **Limits.** The FRI path needs, per example,
``2M+1 >= K+1`` and ``r (2M+1-K) >= K`` (``K`` pooled hidden spikes, ``r``
independent output drives) and about ``2M+1`` output spikes per neuron (``D >=
24`` in the paper's setting); the joint fit needs only more output spike
equations than unknowns (pooled hidden spike times plus ``n_out n_hidden``),
over all examples (the paper's setting: from ``D`` of about 6). The hidden
spikes used must lie in one period ``[0, T)``; hidden neurons need distinct
columns of ``W2``. Failures are reported in :class:`TwoLayerReport` (flag and
reason, plus an :class:`~tem_sim.exceptions.IdentifiabilityWarning`), never
as obscure errors.
"""
from __future__ import annotations

import inspect
import time
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
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
           "simulate_two_layer", "hidden_drive", "cramer_rao_bound", "recover_hidden", "HiddenRecovery"]


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
    stage : str
        Where the hidden spikes came from: ``"fri"`` (FRI and clustering only),
        ``"fri+joint"`` (joint fit from the FRI start) or ``"search+joint"``
        (joint fit from the multi-start search).
    joint_info : dict
        The joint fit: ``relative_residual``, ``jacobian_rank`` against
        ``n_unknowns`` (hidden spike times and ``W2``) and ``n_equations``,
        ``identifiable`` (full rank and more equations than unknowns: an
        exactly determined system cannot tell a wrong solution from the right
        one), ``condition``, ``noise_level`` (relative jitter level estimated
        from the weighted residual), ``cost_before``, ``cost_after``,
        ``nfev``, ``examples`` used, ``W2_covariance`` and
        ``hidden_covariance`` (``noise_level^2 (J^T J)^-1``).
    search_info : dict
        The multi-start search, when it ran: ``n_starts``, ``n_valid``
        candidates, per polished start its ``relative_residual`` and ``nfev``.
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
    stage: str = ""
    joint_info: dict = field(default_factory=dict)
    search_info: dict = field(default_factory=dict)
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
    W1_std, W2_std : ndarray or None
        Standard errors of ``W1`` and ``W2`` from the joint fit (None without
        it): ``W2``'s from ``noise_level^2 (J^T J)^-1`` of the weighted output
        equations, ``W1``'s from the hidden spike times' covariance propagated
        through the one-layer trainer. For exact spikes they are at rounding level.
    """

    W1: np.ndarray
    W2: np.ndarray
    W2_centroids: np.ndarray
    hidden_spikes: list
    report: TwoLayerReport
    W1_std: np.ndarray | None = None
    W2_std: np.ndarray | None = None

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


class _OutputEquations:
    """Every output spike equation of the examples, linear in ``W2`` once the hidden spikes are fixed.

    Row ``k`` of output neuron ``j`` in example ``e`` reads
    ``w_j . (C_k Theta_e(s)^T) = c_k`` with ``C_k`` the integrals of the real
    Fourier basis (:func:`tem_sim.decoding.real_basis`, rows built once by
    :func:`tem_sim.constraints.layer_rows`) and ``Theta_e(s)`` the real
    coefficients of the hidden drives (one row per hidden neuron). With
    ``weighting="jitter"`` the rows are those of the efficient one-layer
    estimator (``fit_layer(row_weights="jitter")``): re-anchored at ``t = 0``
    (running sums, so row ``k`` depends on the ``k``-th output spike time
    only) and weighted by ``1 / (|u_j(t_k)| sigma_ej)``, where ``u_j`` is the
    neuron's drive at the spike (from the current estimate) and ``sigma_ej =
    ||diff t|| / len(diff t)`` the paper's jitter scale of that train; the
    weighted residual is then the spike-time error in units of the relative
    jitter level, and its Jacobian gives the Fisher information. With
    ``weighting=None`` the rows are the chained ones, scaled by
    ``1 / ||r_j||`` per neuron.
    """

    def __init__(self, output_spikes: list, output_neurons: Neurons, T: float, M: int,
                 weighting: str | None) -> None:
        from .constraints import layer_rows
        from .decoding import real_basis

        basis = real_basis(T, M)
        self.T, self.M, self.n_out, self.n_ex = T, M, output_neurons.n, len(output_spikes)
        self.bias = np.asarray(output_neurons.bias, dtype=float)
        self.weighting = weighting
        n_out, n_ex = self.n_out, self.n_ex
        self.C = [[np.zeros((0, 2 * M + 1))] * n_ex for _ in range(n_out)]
        self.c = [[np.zeros(0)] * n_ex for _ in range(n_out)]
        self.B = [[np.zeros((0, 2 * M + 1))] * n_ex for _ in range(n_out)]
        self.sigma = np.ones((n_out, n_ex))
        for e, st in enumerate(output_spikes):
            for j, nr in enumerate(layer_rows([(basis, st)], output_neurons)):
                A = np.asarray(nr.A, dtype=float)
                if weighting == "jitter":
                    self.C[j][e], self.c[j][e] = np.cumsum(A, axis=0), np.cumsum(nr.r)
                else:
                    self.C[j][e], self.c[j][e] = A, np.asarray(nr.r, dtype=float)
                self.B[j][e] = basis.sample(nr.end).T if nr.end.size else np.zeros((0, 2 * M + 1))
                d = np.diff(st.neuron(j))
                self.sigma[j, e] = np.linalg.norm(d) / d.size if d.size else 1.0
        self.n_rows = np.array([sum(self.c[j][e].size for e in range(n_ex)) for j in range(n_out)])
        self.weights = [self._initial_weights(j) for j in range(n_out)]

    def _initial_weights(self, j: int) -> np.ndarray:
        if self.weighting != "jitter":
            r = np.concatenate(self.c[j])
            return np.full(r.size, 1.0 / max(float(np.linalg.norm(r)), 1e-300))
        # drive unknown yet: the bias stands for it
        return np.concatenate([np.full(self.c[j][e].size, 1.0 / (max(abs(self.bias[j]), 1e-3)
                                                                   * self.sigma[j, e]))
                               for e in range(self.n_ex)])

    # ---------------------------------------------------------------- hidden drives
    def theta(self, s: np.ndarray, lab: np.ndarray, n_h: int) -> np.ndarray:
        """Real coefficients ``(c_0, Re c_1, Im c_1, ...)`` of every hidden neuron's drive, (n_h, 2M+1)."""
        m = np.arange(1, self.M + 1)
        ph = np.exp(-2j * np.pi * np.outer(s, m) / self.T) / self.T
        out = np.zeros((n_h, 2 * self.M + 1))
        np.add.at(out[:, 0], lab, 1.0 / self.T)
        c = np.zeros((n_h, self.M), dtype=complex)
        np.add.at(c, lab, ph)
        out[:, 1::2], out[:, 2::2] = c.real, c.imag
        return out

    def dtheta(self, s: np.ndarray) -> np.ndarray:
        """Derivative of one spike's contribution to its neuron's ``Theta`` row, (K, 2M+1)."""
        w = 2 * np.pi * np.arange(1, self.M + 1) / self.T
        d = -1j * w * np.exp(-1j * np.outer(s, w)) / self.T
        out = np.zeros((s.size, 2 * self.M + 1))
        out[:, 1::2], out[:, 2::2] = d.real, d.imag
        return out

    # ---------------------------------------------------------------- projected problem
    def design(self, j: int, Th: list) -> np.ndarray:
        """Weighted rows of neuron ``j`` in ``W2[j]`` for hidden coefficients ``Th`` (one per example)."""
        A = np.vstack([self.C[j][e] @ Th[e].T for e in range(self.n_ex)])
        return A * self.weights[j][:, None]

    def solve(self, hs: list, n_h: int, jacobian: bool = False) -> tuple:
        """Projected residual, ``W2`` and (optionally) the Jacobian in the hidden spike times.

        ``hs``: per example ``(times, labels)``. The Jacobian is Kaufman's
        variable-projection Jacobian ``-(I - P_A) (dA/ds) w`` of every neuron's block.
        """
        Th = [self.theta(s, lab, n_h) for s, lab in hs]
        n_s = sum(s.size for s, _ in hs)
        offs = np.concatenate([[0], np.cumsum([s.size for s, _ in hs])])
        dTh = [self.dtheta(s) for s, _ in hs]
        res, W2, J = [], np.zeros((self.n_out, n_h)), []
        for j in range(self.n_out):
            A = self.design(j, Th)
            b = np.concatenate(self.c[j]) * self.weights[j]
            U, sv, Vt = np.linalg.svd(A, full_matrices=False)
            rank = int(np.count_nonzero(sv > 1e-12 * sv[0])) if sv.size and sv[0] > 0 else 0
            U, sv, Vt = U[:, :rank], sv[:rank], Vt[:rank]
            w = Vt.T @ ((U.T @ b) / sv)
            W2[j] = w
            res.append(A @ w - b)
            if jacobian:
                G = self._spike_columns(j, hs, dTh, w, offs, n_s)
                J.append(G - U @ (U.T @ G))
        return np.concatenate(res), W2, (np.vstack(J) if jacobian else None)

    def _spike_columns(self, j: int, hs: list, dTh: list, w: np.ndarray, offs: np.ndarray,
                       n_s: int) -> np.ndarray:
        """``(dA_j/ds_l) w_j`` for every hidden spike ``l`` (weighted rows of neuron ``j``)."""
        G = np.zeros((int(self.n_rows[j]), n_s))
        r0 = 0
        for e, (s, lab) in enumerate(hs):
            n = self.c[j][e].size
            if n and s.size:
                G[r0:r0 + n, offs[e]:offs[e + 1]] = (self.C[j][e] @ dTh[e].T) * w[lab][None, :]
            r0 += n
        return G * self.weights[j][:, None]

    def reweight(self, hs: list, W2: np.ndarray, n_h: int) -> None:
        """Feasible GLS: weights ``1 / (|u_j(t_k)| sigma_ej)`` from the drive of the current estimate."""
        if self.weighting != "jitter":
            return
        Th = [self.theta(s, lab, n_h) for s, lab in hs]
        for j in range(self.n_out):
            u = np.concatenate([self.B[j][e] @ (Th[e].T @ W2[j]) + self.bias[j] for e in range(self.n_ex)])
            sig = np.concatenate([np.full(self.c[j][e].size, self.sigma[j, e]) for e in range(self.n_ex)])
            if u.size:
                u = np.maximum(np.abs(u), 1e-3 * np.abs(u).max())
                self.weights[j] = 1.0 / (u * sig)

    def relative(self, res: np.ndarray) -> float:
        """``||res|| / ||weighted right-hand side||``."""
        b = np.concatenate([np.concatenate(self.c[j]) * self.weights[j] for j in range(self.n_out)])
        return float(np.linalg.norm(res) / max(float(np.linalg.norm(b)), 1e-300))

    def fisher(self, hs: list, n_h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The full weighted Jacobian in ``(hidden spike times, W2 row by row)`` and its singular values.

        Returns ``(J, residual, W2)``; ``J^T J`` is the Fisher information of the
        relative jitter model (``weighting="jitter"``), in units of the level squared.
        """
        res, W2, Jp = self.solve(hs, n_h, jacobian=True)
        Th = [self.theta(s, lab, n_h) for s, lab in hs]
        n_s = Jp.shape[1]
        offs = np.concatenate([[0], np.cumsum([s.size for s, _ in hs])])
        dTh = [self.dtheta(s) for s, _ in hs]
        N = int(self.n_rows.sum())
        J = np.zeros((N, n_s + self.n_out * n_h))
        r0 = 0
        for j in range(self.n_out):
            n = int(self.n_rows[j])
            J[r0:r0 + n, :n_s] = self._spike_columns(j, hs, dTh, W2[j], offs, n_s)
            J[r0:r0 + n, n_s + j * n_h:n_s + (j + 1) * n_h] = self.design(j, Th)
            r0 += n
        return J, res, W2


def _split(x: np.ndarray, labels: list) -> list:
    offs = np.concatenate([[0], np.cumsum([lab.size for lab in labels])])
    return [(x[offs[q]:offs[q + 1]], labels[q]) for q in range(len(labels))]


def _hidden_from_weights(W1: np.ndarray, inputs: list, hidden_neurons: Neurons, kernel: PeriodicLowpass,
                         t_ends: list) -> list | None:
    """The hidden spikes ``(times, labels)`` of every example for hidden weights ``W1`` (None if the
    engine refuses them, e.g. a drive so large that it exceeds the spike budget)."""
    from .engine import encode
    from .exceptions import TemSimError

    hs = []
    for x, t_end in zip(inputs, t_ends):
        try:
            st = encode(x, W1, hidden_neurons, t_end, max_spikes=100_000)
        except TemSimError:
            return None
        if kernel.first is not None:
            st = st.first(kernel.first)
        hs.append((st.times.copy(), st.indices.copy()))
    return hs


def _spike_sensitivity(W1: np.ndarray, hs: list, inputs: list, hidden_neurons: Neurons) -> np.ndarray:
    """``d s_l / d W1`` of every hidden spike (perfect integrators), shape (n_spikes, W1.size).

    Spike ``k`` of hidden neuron ``i`` solves ``int_0^s (W1[i] . x + b_i) = const``, so
    ``ds/dW1[i] = -int_0^s x / u_i(s)`` (implicit function theorem).
    """
    n_h, n_in = W1.shape
    rows = []
    for x, (s, lab) in zip(inputs, hs):
        X = x.integrate(np.zeros(s.size), s)                  # (n_in, K)
        u = np.einsum("kn,nk->k", W1[lab], x.sample(s)) + hidden_neurons.bias[lab]
        R = np.zeros((s.size, n_h, n_in))
        R[np.arange(s.size), lab] = -(X / u).T
        rows.append(R.reshape(s.size, n_h * n_in))
    return np.vstack(rows) if rows else np.zeros((0, n_h * n_in))


def _search_hidden(inputs: list, eqs: _OutputEquations, hidden_neurons: Neurons, kernel: PeriodicLowpass,
                   t_ends: list, opt: Any, rng: np.random.Generator) -> tuple[np.ndarray | None, list | None, dict]:
    """Seeded multi-start search for the hidden spikes when the FRI path gives none.

    The hidden layer is known but for ``W1``, so every candidate ``W1`` (a
    seeded Latin-hypercube sample of ``opt.search_bounds``) gives hidden spikes
    through the engine; ``W2`` is projected out of the output equations. The
    ``opt.n_local`` best candidates are polished by least squares in ``W1``
    (analytic spike-time sensitivity for perfect hidden neurons, finite
    differences otherwise) by successive halving: ``2 (d + 1)`` evaluations
    each until one explains the output spikes to ``opt.search_tol``
    (relative), which is then polished to the end (``10 (d + 1)``); if none
    does, the best quarter is polished to the end.
    """
    from scipy.optimize import least_squares

    n_h, n_in = hidden_neurons.n, inputs[0].n_signals
    lo, hi = opt.search_bounds
    d = n_h * n_in
    n = opt.n_starts
    # Latin hypercube: every coordinate visits each of n strata once
    pts = (np.argsort(rng.random((d, n)), axis=1).T + rng.random((n, d))) / n
    cands = []
    for p in pts:
        W1 = (lo + (hi - lo) * p).reshape(n_h, n_in)
        hs = _hidden_from_weights(W1, inputs, hidden_neurons, kernel, t_ends)
        if hs is None or sum(s.size for s, _ in hs) == 0:
            continue
        cands.append((float(np.sum(eqs.solve(hs, n_h)[0] ** 2)), W1))
    info: dict[str, Any] = {"n_starts": int(opt.n_starts), "n_valid": len(cands), "local": []}
    if not cands:
        return None, None, info
    cands.sort(key=lambda z: z[0])
    def resid(w: np.ndarray) -> np.ndarray:
        hs = _hidden_from_weights(w.reshape(n_h, n_in), inputs, hidden_neurons, kernel, t_ends)
        if hs is None:
            return np.full(int(eqs.n_rows.sum()), 1e6)
        return eqs.solve(hs, n_h)[0]

    def jac(w: np.ndarray) -> np.ndarray:
        W1 = w.reshape(n_h, n_in)
        hs = _hidden_from_weights(W1, inputs, hidden_neurons, kernel, t_ends)
        if hs is None:
            return np.zeros((int(eqs.n_rows.sum()), d))
        return eqs.solve(hs, n_h, jacobian=True)[2] @ _spike_sensitivity(W1, hs, inputs, hidden_neurons)

    analytic = not np.any(hidden_neurons.is_leaky)
    def polish(w0: np.ndarray, n_eval: int) -> tuple[float, np.ndarray]:
        sol = least_squares(resid, w0, jac=jac if analytic else "2-point", diff_step=1e-7,
                            xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=n_eval)
        rel = eqs.relative(sol.fun)
        info["local"].append({"relative_residual": rel, "nfev": int(sol.nfev)})
        return rel, sol.x

    # successive halving: a few steps from each of the n_local best candidates (the right basin
    # converges fast), then the most promising quarter polished to the end
    short = []
    for _, W1 in cands[:opt.n_local]:
        short.append(polish(W1.ravel(), 2 * (d + 1)))
        if short[-1][0] < opt.search_tol:
            break
    short.sort(key=lambda z: z[0])
    best = short[0]
    for _, w in short[:1 if best[0] < opt.search_tol else max(1, opt.n_local // 4)]:
        rel, x = polish(w, 10 * (d + 1))
        if rel < best[0]:
            best = (rel, x)
        if rel < opt.search_tol:
            break
    best = (best[0], best[1].reshape(n_h, n_in))
    info["relative_residual"] = best[0]
    return best[1], _hidden_from_weights(best[1], inputs, hidden_neurons, kernel, t_ends), info


def _joint_refine(eqs: _OutputEquations, hs: list, n_h: int, T: float) -> tuple[list, np.ndarray, dict]:
    """Hidden spike times of every example and ``W2`` fitted jointly to every output spike equation.

    Variable projection (``W2`` eliminated by least squares, labels fixed),
    Levenberg-Marquardt-type trust region with Kaufman's analytic Jacobian;
    for ``"jitter"`` weighting the weights are recomputed from the estimate
    and the problem solved again (feasible GLS). Returns the refined spikes,
    ``W2`` and the diagnostics: Jacobian rank against the number of unknowns
    (hidden spike times plus ``W2``), condition number, relative residual,
    the noise level estimated from the weighted residual and the covariance
    of ``W2`` (``sigma^2 (J^T J)^-1``, block of ``W2``).
    """
    from scipy.optimize import least_squares

    labels = [lab for _, lab in hs]
    x = np.concatenate([s for s, _ in hs])
    info: dict[str, Any] = {"cost_before": float(np.sum(eqs.solve(hs, n_h)[0] ** 2))}
    nfev = 0
    for _ in range(2 if eqs.weighting == "jitter" else 1):
        sol = least_squares(lambda v: eqs.solve(_split(v, labels), n_h)[0], x,
                            jac=lambda v: eqs.solve(_split(v, labels), n_h, jacobian=True)[2],
                            method="trf", x_scale=1.0, xtol=1e-15, ftol=1e-15, gtol=1e-15,
                            max_nfev=100)
        nfev += int(sol.nfev)
        x = sol.x
        hs = _split(x, labels)
        eqs.reweight(hs, eqs.solve(hs, n_h)[1], n_h)
    J, res, W2 = eqs.fisher(hs, n_h)
    sv = np.linalg.svd(J, compute_uv=False)
    tol = max(J.shape) * np.finfo(float).eps * (sv[0] if sv.size else 0.0)
    rank = int(np.count_nonzero(sv > max(tol, 1e-10 * (sv[0] if sv.size else 0.0))))
    n_unknowns = J.shape[1]
    dof = J.shape[0] - n_unknowns
    sigma = float(np.linalg.norm(res) / np.sqrt(dof)) if dof > 0 else float("nan")
    cov = np.full((n_unknowns, n_unknowns), np.nan)
    if rank == n_unknowns:
        Jinv = np.linalg.pinv(J)
        cov = sigma ** 2 * (Jinv @ Jinv.T)
    n_s = x.size
    info.update(cost_after=float(np.sum(res ** 2)), nfev=nfev, relative_residual=eqs.relative(res),
                jacobian_rank=rank, n_unknowns=int(n_unknowns), n_equations=int(J.shape[0]),
                condition=float(sv[0] / sv[-1]) if sv.size and sv[-1] > 0 else float("inf"),
                noise_level=sigma, identifiable=bool(rank == n_unknowns and dof > 0),
                W2_covariance=cov[n_s:, n_s:], hidden_covariance=cov[:n_s, :n_s])
    # spikes in time order per example (the order of SpikeTrains), the covariance permuted alike
    out, perm, off = [], [], 0
    for s, lab in hs:
        s = np.where(s < 0, np.mod(s, T), s)
        o = np.argsort(s, kind="stable")
        out.append((s[o], lab[o]))
        perm.append(off + o)
        off += s.size
    p = np.concatenate(perm) if perm else np.zeros(0, dtype=int)
    info["hidden_covariance"] = info["hidden_covariance"][np.ix_(p, p)]
    return out, W2, info


def _neuron_ok(info: Any) -> bool:
    if isinstance(info, dict):
        return bool(info.get("identifiable", True))
    return True


def _check_arguments(inputs: Any, output_spikes: Any, hidden_neurons: Any, output_neurons: Any,
                     n_hidden: Any, kernel: Any, **o: Any) -> SimpleNamespace:
    """Validate every argument of :func:`fit_two_layer` before any work; the options as a namespace."""
    inputs = list(inputs)
    if not inputs:
        raise ValidationError("inputs", inputs, "a non-empty sequence of FourierSignals")
    if len(list(output_spikes)) != len(inputs):
        raise ValidationError("output_spikes", f"{len(list(output_spikes))} examples",
                              f"one SpikeTrains per example ({len(inputs)})")
    for e, x in enumerate(inputs):
        if not isinstance(x, FourierSignals):
            raise ValidationError(f"inputs[{e}]", type(x).__name__, "a FourierSignals bank")
        if x.n_signals != inputs[0].n_signals:
            raise ValidationError(f"inputs[{e}]", f"{x.n_signals} signals", f"{inputs[0].n_signals} like inputs[0]")
    if not isinstance(hidden_neurons, Neurons):
        raise ValidationError("hidden_neurons", type(hidden_neurons).__name__, "a Neurons instance")
    opt = _check_output_side(output_spikes, output_neurons, n_hidden, kernel, **o)
    if hidden_neurons.n != opt.n_hidden:
        raise ValidationError("hidden_neurons", f"{hidden_neurons.n} neurons", f"n_hidden = {opt.n_hidden} neurons")
    opt.n_starts = as_int("n_starts", o["n_starts"], minimum=1)
    opt.n_local = as_int("n_local", o["n_local"], minimum=1)
    opt.search_tol = as_scalar("search_tol", o["search_tol"], positive=True)
    opt.search_bounds = _search_bounds(o["search_bounds"], inputs, hidden_neurons)
    opt.n_in = inputs[0].n_signals
    return opt


def _check_output_side(output_spikes: Any, output_neurons: Any, n_hidden: Any, kernel: Any,
                       **o: Any) -> SimpleNamespace:
    """Validate the output side (spikes, neurons, kernel, FRI, clustering and joint-fit options)."""
    output_spikes = list(output_spikes)
    if not output_spikes:
        raise ValidationError("output_spikes", output_spikes, "a non-empty sequence of SpikeTrains")
    if not isinstance(output_neurons, Neurons):
        raise ValidationError("output_neurons", type(output_neurons).__name__, "a Neurons instance")
    n_hidden = as_int("n_hidden", n_hidden, minimum=1)
    for e, st in enumerate(output_spikes):
        if not isinstance(st, SpikeTrains):
            raise ValidationError(f"output_spikes[{e}]", type(st).__name__, "a SpikeTrains")
        if st.n_neurons != output_neurons.n:
            raise ValidationError(f"output_spikes[{e}].n_neurons", st.n_neurons,
                                  f"the number of output neurons, {output_neurons.n}")
    if not isinstance(kernel, PeriodicLowpass):
        raise ValidationError("kernel", kernel, "a PeriodicLowpass kernel (period, n_harmonics)")
    if o["method"] not in FRI_METHODS:
        raise ValidationError("method", o["method"], "one of " + ", ".join(repr(m) for m in FRI_METHODS))
    if o["row_weights"] not in (None, "jitter"):
        raise ValidationError("row_weights", o["row_weights"], "None or 'jitter'")
    if o["row_weights"] == "jitter" and np.any(output_neurons.is_leaky):
        raise ValidationError("row_weights", o["row_weights"], "None for leaky output neurons ('jitter' "
                              "re-anchors the equations at t = 0, which needs perfect integrators)")
    n_ex = len(output_spikes)
    nd = o["n_diracs"]
    if nd is None:
        orders: list[int | None] = [None] * n_ex
    elif np.ndim(nd) == 0:
        orders = [as_int("n_diracs", nd, minimum=1)] * n_ex
    else:
        orders = [as_int(f"n_diracs[{e}]", k, minimum=1) for e, k in enumerate(nd)]
        if len(orders) != n_ex:
            raise ValidationError("n_diracs", nd, f"an int or one per example ({n_ex})")
    max_diracs = o["max_diracs"]
    if max_diracs is None and kernel.first is not None:
        max_diracs = n_hidden * kernel.first
    opt = SimpleNamespace(**o)
    opt.orders, opt.max_diracs, opt.n_hidden = orders, max_diracs, n_hidden
    opt.spurious_tol = as_scalar("spurious_tol", o["spurious_tol"], nonnegative=True)
    opt.min_separation = as_scalar("min_separation", o["min_separation"], positive=True)
    opt.outlier_tol = as_scalar("outlier_tol", o["outlier_tol"], positive=True)
    opt.max_output_residual = as_scalar("max_output_residual", o["max_output_residual"], positive=True)
    opt.n_restarts = as_int("n_restarts", o["n_restarts"], minimum=1)
    opt.kmeans_iter = as_int("kmeans_iter", o["kmeans_iter"], minimum=1)
    opt.rng = rng_from_seed(o["seed"])
    # the report carries the identifiability diagnostics: the inner solvers stay quiet by default
    opt.decode_options = {"warn": False, **(o.get("decode_options") or {})}
    opt.fit_options = {"warn": False, **(o.get("fit_options") or {})}
    opt.T, opt.M = kernel.period, kernel.n_harmonics
    opt.n_out = output_neurons.n
    opt.t_ends = [float(st.t_stop) for st in output_spikes]
    return opt


def _search_bounds(bounds: Any, inputs: list, hidden_neurons: Neurons) -> tuple[float, float]:
    """The box of the multi-start search over ``W1``: given, or ``+-2 max|b| / sum_i rms(x_i)``
    (an input drive up to twice the bias at its RMS level)."""
    if bounds is not None:
        try:
            lo, hi = (float(v) for v in bounds)
        except (TypeError, ValueError):
            raise ValidationError("search_bounds", bounds, "a pair (low, high) of floats") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValidationError("search_bounds", bounds, "finite low < high")
        return lo, hi
    rms = max(float(np.sqrt(np.sum(np.abs(x.coefficients) ** 2, axis=1)).sum()) for x in inputs)
    w = 2.0 * float(np.max(np.abs(hidden_neurons.bias))) / max(rms, 1e-300)
    if not np.isfinite(w) or w == 0:
        w = 1.0
    return -w, w


def _fri_stage(inputs: list, output_spikes: list, output_neurons: Neurons, opt: Any,
               report: TwoLayerReport) -> tuple[list, list, list]:
    """Steps 1-3 of every example: decode the output drives, joint FRI of the pooled hidden spikes."""
    from .decoding import decode_drive

    t0 = time.perf_counter()
    per_ex: list[dict] = []
    fri_out: list[FRIResult | None] = []
    Ys: list[np.ndarray | None] = []
    M = opt.M
    for e, st in enumerate(output_spikes):
        rec: dict[str, Any] = {"success": False, "reason": ""}
        per_ex.append(rec)
        fri_out.append(None)
        Ys.append(None)
        counts = st.counts()
        rec["output_spike_counts"] = counts
        dec = decode_drive(st, output_neurons, opt.T, M, **opt.decode_options)
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
        Ys[e] = Y = Y[ok]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IdentifiabilityWarning)
            fr = fri_recover(Y, opt.T, opt.orders[e], method=opt.method, max_diracs=opt.max_diracs,
                             rtol=opt.rtol, refine=opt.refine_locations, warn=False)
        fri_out[e] = fr
        rec.update(order=fr.order, order_selected=fr.order_selected, singular_values=fr.singular_values,
                   fri_residual=fr.residual, fri_identifiable=fr.identifiable)
        # a counting failure (no locations) ends the example; a weak rank gap under noise is only recorded
        if fr.locations.size == 0 or (not fr.identifiable and opt.orders[e] is None):
            rec["reason"] = (f"hidden spikes not identifiable from {int(ok.sum())} decoded output "
                             f"neuron(s): {fr.message}")
            continue
        rec["success"] = True
    report.examples = per_ex
    report.order = [r.get("order", 0) for r in per_ex]
    report.timings["decode_fri"] = time.perf_counter() - t0
    return per_ex, fri_out, Ys


def _amplitude_points(per_ex: list, fri_out: list, good: list, n_out: int, opt: Any) -> tuple:
    """The amplitude vectors of every Dirac over the output neurons decoded in every good example,
    near-zero (spurious) ones dropped: ``(X, owner (example, Dirac), common output indices)``."""
    common = set(range(n_out))
    for e in good:
        common &= set(per_ex[e]["decoded"].tolist())
    common_idx = np.array(sorted(common), dtype=int)
    if common_idx.size == 0:
        raise _Failure("no output neuron was decoded in every successful example: the amplitude "
                       "vectors cannot be compared across examples")
    points, owner = [], []
    for e in good:
        rows = np.searchsorted(per_ex[e]["decoded"], common_idx)
        A = fri_out[e].amplitudes[rows].T  # (K, n_common)
        points.append(A)
        owner.append(np.column_stack([np.full(A.shape[0], e), np.arange(A.shape[0])]))
    X, own = np.vstack(points), np.vstack(owner)
    norms = np.linalg.norm(X, axis=1)
    keep = norms > opt.spurious_tol * np.median(norms)
    for e in good:
        per_ex[e]["n_spurious"] = int(np.count_nonzero(~keep & (own[:, 0] == e)))
    X, own = X[keep], own[keep]
    if X.shape[0] < opt.n_hidden:
        raise _Failure(f"fewer Diracs ({X.shape[0]}) than hidden neurons ({opt.n_hidden}): some hidden "
                       f"neurons did not fire in the period, or their spikes were not resolved")
    return X, own, common_idx


def _cluster_stage(per_ex: list, fri_out: list, good: list, opt: Any, report: TwoLayerReport) -> tuple:
    """Step 4, all-or-none: k-means of the amplitude vectors over examples; outliers dropped.

    Returns the hidden spikes of every example (None where unavailable), the
    centroids as ``W2`` and a late failure reason (clusters that do not separate).
    """
    t0 = time.perf_counter()
    n_hidden, n_ex = opt.n_hidden, len(per_ex)
    X, own, common_idx = _amplitude_points(per_ex, fri_out, good, opt.n_out, opt)
    cent, lab, inertia = _best_kmeans(X, n_hidden, opt.rng, opt.n_restarts, opt.kmeans_iter)
    # drop outliers (merged / spurious Diracs) and recompute the centroids
    dist = np.linalg.norm(X - cent[lab], axis=1)
    cd = np.linalg.norm(cent[:, None] - cent[None, :], axis=2)
    dmin = (float(np.min(cd[np.triu_indices(n_hidden, 1)])) if n_hidden > 1
            else float(np.max(np.linalg.norm(cent, axis=1))))
    outl = dist > opt.outlier_tol * dmin
    drop = bool(np.any(outl) and np.all(np.bincount(lab[~outl], minlength=n_hidden) > 0))
    for e in good:
        per_ex[e]["n_outliers"] = int(np.count_nonzero(outl & (own[:, 0] == e))) if drop else 0
    if drop:
        X, own, lab = X[~outl], own[~outl], lab[~outl]
        cent = np.stack([X[lab == i].mean(axis=0) for i in range(n_hidden)])
        inertia = float(((X - cent[lab]) ** 2).sum())
    dist = np.linalg.norm(X - cent[lab], axis=1)
    spread = float(dist.max()) if dist.size else 0.0
    if n_hidden > 1:
        cd = np.linalg.norm(cent[:, None] - cent[None, :], axis=2)
        dmin = float(np.min(cd[np.triu_indices(n_hidden, 1)]))
    separation = float("inf") if spread == 0 else dmin / spread
    report.cluster_separation, report.inertia = separation, inertia
    report.cluster_sizes = np.bincount(lab, minlength=n_hidden)
    W2c = np.full((opt.n_out, n_hidden), np.nan)
    W2c[common_idx] = cent.T
    hidden: list[SpikeTrains | None] = [None] * n_ex
    for e in good:
        sel = own[:, 0] == e
        loc = fri_out[e].locations[own[sel, 1]]
        if loc.size == 0:
            per_ex[e]["success"] = False
            per_ex[e]["reason"] = "every Dirac of this example was dropped as spurious or outlier"
            continue
        hidden[e] = SpikeTrains(loc, lab[sel], n_hidden, 0.0, float(max(loc.max(), 0.0)))
    late = ""
    if n_hidden > 1 and separation < opt.min_separation:
        late = (f"the amplitude vectors do not separate into {n_hidden} clusters (separation "
                f"{separation:.3g} < {opt.min_separation:g}): hidden neurons with similar W2 columns, "
                f"or hidden spikes too close to resolve")
    report.timings["cluster"] = time.perf_counter() - t0
    return hidden, W2c, late


def _fri_path(inputs: list, output_spikes: list, hidden_neurons: Neurons, output_neurons: Neurons,
              opt: Any, report: TwoLayerReport) -> tuple[list, np.ndarray | None, list, str, str]:
    """The fast first stage: decode, FRI, clustering, cluster-to-neuron matching.

    Returns ``(hidden spikes per example or None, centroids, decoded drives,
    failure reason, late reason)``.
    """
    from .constraints import layer_rows
    from .training import fit_layer

    n_ex = len(inputs)
    per_ex, fri_out, Ys = _fri_stage(inputs, output_spikes, output_neurons, opt, report)
    good = [e for e in range(n_ex) if per_ex[e]["success"]]
    if not good:
        return [None] * n_ex, None, Ys, "no example gave its hidden spikes: " + "; ".join(
            f"example {e}: {r['reason']}" for e, r in enumerate(per_ex)), ""
    try:
        hidden, W2c, late = _cluster_stage(per_ex, fri_out, good, opt, report)
    except _Failure as exc:
        return [None] * n_ex, None, Ys, str(exc), ""
    good = [e for e in good if hidden[e] is not None]
    # hidden neurons with different parameters: which cluster is which neuron?
    if not _identical(hidden_neurons):
        perm, cost = _match_clusters(inputs, hidden, good, hidden_neurons, fit_layer, opt.fit_options, layer_rows)
        report.hidden_match_cost = cost
        inv = np.argsort(perm)           # cluster c -> neuron perm[c]
        for e in good:
            h = hidden[e]
            hidden[e] = SpikeTrains(h.times, perm[h.indices], opt.n_hidden, h.t_start, h.t_stop)
        W2c = W2c[:, inv]
        report.cluster_sizes = report.cluster_sizes[inv]
    return hidden, W2c, Ys, "", late


def _complete_from_layer1(inputs: list, hidden: list, hidden_neurons: Neurons, kernel: PeriodicLowpass,
                          opt: Any) -> list:
    """Initial hidden spikes of the examples the FRI path missed, simulated with the ``W1`` it learned
    from the others (``(times, labels)`` per example, None where still unknown)."""
    from .training import fit_layer

    hs = [None if h is None else (h.times.copy(), h.indices.copy()) for h in hidden]
    missing = [e for e, h in enumerate(hs) if h is None]
    good = [e for e, h in enumerate(hs) if h is not None]
    if not missing or not good:
        return hs
    fit1 = fit_layer([(inputs[e], hidden[e]) for e in good], hidden_neurons, **opt.fit_options)
    W1 = np.asarray(fit1.weights, dtype=float)
    if not all(_neuron_ok(i) for i in fit1.info) or not np.all(np.isfinite(W1)):
        return hs
    sim = _hidden_from_weights(W1, [inputs[e] for e in missing], hidden_neurons, kernel,
                               [opt.t_ends[e] for e in missing])
    if sim is not None:
        for e, h in zip(missing, sim):
            hs[e] = h
    return hs


def _hidden_consistent(inputs: list, hidden: list, used: list, hidden_neurons: Neurons,
                       kernel: PeriodicLowpass, opt: Any) -> str:
    """Check the recovered hidden spikes against the known hidden layer: ``W1`` trained from them
    must reproduce them (same counts, times within a twentieth of the resolution ``T/(2M+1)``).
    Returns why not ("" when consistent): merged or mislabelled hidden spikes can explain the
    output spikes of a short recording nearly as well as the true ones."""
    from .training import fit_layer

    fit1 = fit_layer([(inputs[e], hidden[e]) for e in used], hidden_neurons, **opt.fit_options)
    W1 = np.asarray(fit1.weights, dtype=float)
    if not np.all(np.isfinite(W1)) or not all(_neuron_ok(i) for i in fit1.info):
        return "layer 1 is not identifiable from the recovered hidden spikes"
    sim = _hidden_from_weights(W1, [inputs[e] for e in used], hidden_neurons, kernel,
                               [opt.t_ends[e] for e in used])
    tol = 0.05 * opt.T / (2 * opt.M + 1)
    for e, h in zip(used, sim or []):
        st = SpikeTrains(h[0], h[1], opt.n_hidden, 0.0, float(max(h[0].max(initial=0.0), 0.0)))
        if not np.array_equal(st.counts(), hidden[e].counts()):
            return (f"the hidden layer with the W1 learnt from them does not reproduce the recovered hidden "
                    f"spikes of example {e} (counts {st.counts().tolist()} against {hidden[e].counts().tolist()})")
        gap = max((float(np.max(np.abs(st.neuron(i) - hidden[e].neuron(i)), initial=0.0))
                   for i in range(opt.n_hidden)), default=0.0)
        if gap > tol:
            return (f"the hidden layer with the W1 learnt from them moves the recovered hidden spikes of "
                    f"example {e} by {gap:.3g} > {tol:.3g}")
    return "" if sim is not None else "the W1 learnt from the recovered hidden spikes cannot be simulated"


def _joint_stage(inputs: list, output_spikes: list, hidden_neurons: Neurons, output_neurons: Neurons,
                 kernel: PeriodicLowpass, hs: list, opt: Any) -> tuple:
    """Joint refinement over the examples with hidden spikes; returns ``(examples, hidden, W2, info, ok)``."""
    used = [e for e, h in enumerate(hs) if h is not None]
    eqs = _OutputEquations([output_spikes[e] for e in used], output_neurons, opt.T, opt.M, opt.row_weights)
    hs2, W2, info = _joint_refine(eqs, [hs[e] for e in used], opt.n_hidden, opt.T)
    info["examples"] = used
    hidden = [None] * len(hs)
    for e, (s, lab) in zip(used, hs2):
        hidden[e] = SpikeTrains(s, lab, opt.n_hidden, 0.0, float(max(s.max(initial=0.0), 0.0)))
    res = _output_residuals(hidden, used, W2, output_spikes, output_neurons, opt)
    ok = bool(info["identifiable"] and np.nanmax(res) <= opt.max_output_residual)
    info["hidden_layer_check"] = _hidden_consistent(inputs, hidden, used, hidden_neurons, kernel, opt) if ok else ""
    ok = ok and not info["hidden_layer_check"]
    return used, hidden, W2, info, ok


def _search_stage(inputs: list, output_spikes: list, hidden_neurons: Neurons, output_neurons: Neurons,
                  kernel: PeriodicLowpass, opt: Any, report: TwoLayerReport) -> tuple:
    """Multi-start search over ``W1`` for the hidden spikes, then the joint refinement."""
    t0 = time.perf_counter()
    eqs = _OutputEquations(output_spikes, output_neurons, opt.T, opt.M, opt.row_weights)
    _, hs, sinfo = _search_hidden(inputs, eqs, hidden_neurons, kernel, opt.t_ends, opt, opt.rng)
    report.search_info = sinfo
    report.timings["search"] = time.perf_counter() - t0
    if hs is None:
        return None
    return _joint_stage(inputs, output_spikes, hidden_neurons, output_neurons, kernel, hs, opt)


def _output_residuals(hidden: list, used: list, W2: np.ndarray, output_spikes: list, output_neurons: Neurons,
                      opt: Any) -> np.ndarray:
    """Per output neuron: relative residual ``||A w - r|| / ||r||`` of ``W2`` and the hidden spikes in
    the (chained, unweighted) output spike equations of the examples ``used``."""
    from .constraints import layer_rows

    k = PeriodicLowpass(opt.T, opt.M)
    rows = layer_rows([(hidden_drive(hidden[e], k), output_spikes[e]) for e in used], output_neurons)
    return np.array([np.linalg.norm(nr.A @ np.nan_to_num(W2[j]) - nr.r) / max(np.linalg.norm(nr.r), 1e-300)
                     for j, nr in enumerate(rows)])


def _w2_residual(hidden: list, used: list, W2: np.ndarray, Ys: list, per_ex: list, T: float, M: int) -> float:
    """Relative misfit of ``W2`` and the hidden spikes to the decoded drives (examples with decoded drives)."""
    num = den = 0.0
    for e in used:
        if Ys[e] is None or e >= len(per_ex):
            continue
        B = hidden_drive(hidden[e], PeriodicLowpass(T, M)).coefficients
        num += float(np.linalg.norm(Ys[e] - W2[per_ex[e]["decoded"]] @ B) ** 2)
        den += float(np.linalg.norm(Ys[e]) ** 2)
    return float(np.sqrt(num / den)) if den > 0 else float("nan")


def _layer1(inputs: list, hidden: list, used: list, hidden_neurons: Neurons, opt: Any,
            hidden_cov: np.ndarray | None) -> tuple[np.ndarray, list, np.ndarray | None]:
    """Train ``W1`` from the recovered hidden spikes (the one-layer trainer); its standard errors from
    the hidden-spike covariance of the joint fit, propagated through the least-squares solution of
    the hidden spike equations (finite differences in every hidden spike time)."""
    from .constraints import layer_rows
    from .training import fit_layer

    ex = [(inputs[e], hidden[e]) for e in used]
    fit1 = fit_layer(ex, hidden_neurons, **opt.fit_options)
    W1 = np.asarray(fit1.weights, dtype=float).copy()
    if hidden_cov is None or not np.all(np.isfinite(hidden_cov)) or not np.all(np.isfinite(W1)):
        return W1, list(fit1.info), None

    def lstsq(examples: list) -> np.ndarray:
        return np.vstack([np.linalg.lstsq(np.asarray(nr.A), nr.r, rcond=None)[0]
                          for nr in layer_rows(examples, hidden_neurons)])

    base = lstsq(ex)
    G = np.zeros((W1.size, hidden_cov.shape[0]))
    h, col = 1e-7 * opt.T, 0
    for q, e in enumerate(used):
        t, lab = hidden[e].times, hidden[e].indices
        for k in range(t.size):
            tp = t.copy()
            tp[k] += h
            exq = list(ex)
            exq[q] = (inputs[e], SpikeTrains(tp, lab, opt.n_hidden, 0.0, float(tp.max())))
            G[:, col] = (lstsq(exq) - base).ravel() / h
            col += 1
    std = np.sqrt(np.maximum(np.diag(G @ hidden_cov @ G.T), 0.0)).reshape(W1.shape)
    return W1, list(fit1.info), std


def fit_two_layer(inputs: Sequence[FourierSignals], output_spikes: Sequence[SpikeTrains],
                  hidden_neurons: Neurons, output_neurons: Neurons, n_hidden: int,
                  kernel: PeriodicLowpass, *, seed: Any, method: str = "esprit",
                  n_diracs: int | Sequence[int] | None = None, max_diracs: int | None = None,
                  rtol: float | None = None, refine_locations: bool = True,
                  spurious_tol: float = 0.1, n_restarts: int = 10, kmeans_iter: int = 50,
                  min_separation: float = 5.0, outlier_tol: float = 0.25, refit_w2: bool = True,
                  max_output_residual: float = 0.05, joint: bool = True, search: bool = True,
                  n_starts: int = 64, n_local: int = 16, search_tol: float = 1e-4,
                  search_bounds: tuple[float, float] | None = None,
                  row_weights: str | None = "jitter", decode_options: dict | None = None,
                  fit_options: dict | None = None, warn: bool = True) -> TwoLayerResult:
    """Learn both layers of a two-layer TEM network from its inputs and output spikes.

    Parameters
    ----------
    inputs : sequence of FourierSignals
        The analog inputs of every example (``n_in`` signals each).
    output_spikes : sequence of SpikeTrains
        The output layer's spikes in every example (observed on ``[0, t_stop]``).
    hidden_neurons, output_neurons : Neurons
        Known parameters of the ``n_hidden`` hidden and ``n_out`` output neurons.
    n_hidden : int
    kernel : PeriodicLowpass
        The kernel between the layers (its period and harmonics are the FRI's).
    seed : int, SeedSequence or Generator
        Seeds the k-means restarts and the multi-start search (required: runs are reproducible).
    method, n_diracs, max_diracs, rtol, refine_locations
        FRI stage (:func:`tem_sim.fri.fri_recover`): estimator, pooled hidden
        spikes per example (one value or one per example; default chosen from
        singular values, at most ``n_hidden * kernel.first``), order bound,
        singular-value threshold, nonlinear polish of the locations.
    spurious_tol, n_restarts, kmeans_iter, min_separation, outlier_tol
        Clustering: amplitude vectors shorter than ``spurious_tol`` times the
        median are dropped; seeded k-means++ restarts and iterations; clusters
        separate when the smallest centroid distance is ``min_separation``
        times the largest distance to a centroid; vectors farther than
        ``outlier_tol`` times that distance from their centroid are dropped.
    refit_w2 : bool, default True
        Without ``joint``: refit ``W2`` from all output spikes with the
        recovered hidden spikes (else the centroids).
    max_output_residual : float, default 0.05
        The recovered hidden spikes and ``W2`` must satisfy the output spike
        equations to this relative residual (about 1e-12 for exact spikes, about
        the relative jitter for noisy ones; wrong hidden spikes leave 0.1-1).
    joint : bool, default True
        Fit the hidden spike times of all examples and ``W2`` jointly to every
        output spike equation (variable projection; labels fixed), starting
        from the FRI path; identifiability is the rank of the Jacobian in
        (hidden spike times, ``W2``).
    search : bool, default True
        When the FRI path fails or its joint fit does not explain the output
        spikes, search: ``n_starts`` seeded Latin-hypercube candidates of ``W1`` in
        ``search_bounds`` (default ``+-2 max|b| / sum_i rms(x_i)``) give hidden
        spikes through the known hidden layer; the ``n_local`` best are
        polished (a few steps each, then the best quarter to the end), then
        the joint fit runs from the best.
    n_starts, n_local, search_bounds
        See ``search``.
    search_tol : float, default 1e-4
        A polished start whose relative residual in the weighted output
        equations is below this ends the search (exact spikes reach about
        1e-15, a relative jitter of 1e-4 about 5e-6; wrong basins 1e-3 or more).
    row_weights : {"jitter", None}, default "jitter"
        Weights of the joint fit's output equations: ``"jitter"`` is the
        efficient one-layer estimator's (running sums, ``1 / |u|``, scaled by
        each train's jitter scale), so that the fit is the maximum-likelihood
        one under the paper's spike-time noise; None: chained rows.
    decode_options, fit_options : dict, optional
        Passed to :func:`tem_sim.decoding.decode_drive` and to
        :func:`tem_sim.training.fit_layer` (layer 1, and ``W2`` without ``joint``).
    warn : bool, default True
        Emit :class:`~tem_sim.exceptions.IdentifiabilityWarning` on failure.

    Returns
    -------
    TwoLayerResult
        ``W1``, ``W2`` (hidden neurons in an arbitrary order unless their
        parameters differ), their standard errors, the recovered hidden spikes
        and a :class:`TwoLayerReport`; weights that could not be learnt are
        NaN and ``report.reason`` says why.

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
    >>> outs = [simulate_two_layer(x, W1, W2, hid, out, k, 16.0)[1] for x in xs]
    >>> res = fit_two_layer(xs, outs, hid, out, 2, k, seed=0)
    >>> res.success, res.report.stage, bool(align_to_truth(res, W1, W2).errors["W2_fro"] < 1e-8)
    (True, 'search+joint', True)
    """
    t_all = time.perf_counter()
    opt = _check_arguments(inputs, output_spikes, hidden_neurons, output_neurons, n_hidden, kernel,
                           seed=seed, method=method, n_diracs=n_diracs, max_diracs=max_diracs, rtol=rtol,
                           refine_locations=refine_locations, spurious_tol=spurious_tol,
                           n_restarts=n_restarts, kmeans_iter=kmeans_iter, min_separation=min_separation,
                           outlier_tol=outlier_tol, refit_w2=refit_w2, max_output_residual=max_output_residual,
                           joint=joint, search=search, n_starts=n_starts, n_local=n_local, search_tol=search_tol,
                           search_bounds=search_bounds, row_weights=row_weights,
                           decode_options=decode_options, fit_options=fit_options)
    inputs, output_spikes = list(inputs), list(output_spikes)
    report = TwoLayerReport()
    hidden, W2c, Ys, reason, late = _fri_path(inputs, output_spikes, hidden_neurons, output_neurons, opt, report)
    used = [e for e, h in enumerate(hidden) if h is not None]
    W2, info, stage, fail = None, None, "fri", reason
    if used and opt.joint:
        t0 = time.perf_counter()
        hs = _complete_from_layer1(inputs, hidden, hidden_neurons, kernel, opt)
        used, hidden, W2, info, ok = _joint_stage(inputs, output_spikes, hidden_neurons, output_neurons, kernel,
                                                  hs, opt)
        report.timings["joint"] = time.perf_counter() - t0
        stage = "fri+joint"
        fail, late = ("", "") if ok else ("; ".join(filter(None, [late, _joint_reason(info, "the FRI start")])), "")
    if (fail or late or len(used) < len(inputs)) and opt.search:
        found = _search_stage(inputs, output_spikes, hidden_neurons, output_neurons, kernel, opt, report)
        if found is None:
            fail = f"{fail}; the search found no hidden weights that make hidden spikes".lstrip("; ")
        elif _better(found, used, info, fail or late):
            used, hidden, W2, info, ok = found
            stage, late = "search+joint", ""
            fail = "" if ok else "; ".join(filter(None, [fail, _joint_reason(info, "the search")]))
        elif fail or late:
            fail = "; ".join(filter(None, [fail or late, _joint_reason(found[3], "the search")]))
    report.stage, report.joint_info = stage, info or {}
    return _final_layers(inputs, output_spikes, hidden_neurons, output_neurons, opt, report, hidden, used,
                         W2, W2c, Ys, fail, late, t_all, warn)


def _better(found: tuple, used: list, info: dict | None, failed: str) -> bool:
    """Does the search's joint fit beat the FRI path's: a success where it failed, else more examples,
    else a lower residual."""
    if info is None:
        return True
    if found[4] != (not failed):
        return bool(found[4])
    if len(found[0]) != len(used):
        return len(found[0]) > len(used)
    return found[3]["relative_residual"] < info["relative_residual"]


def _joint_reason(info: dict, start: str) -> str:
    if info.get("hidden_layer_check"):
        return f"the joint fit from {start} is inconsistent with the hidden layer: {info['hidden_layer_check']}"
    if not info["identifiable"]:
        return (f"the joint problem from {start} is not identifiable: Jacobian rank {info['jacobian_rank']} "
                f"for {info['n_unknowns']} unknowns (hidden spike times and W2) from {info['n_equations']} "
                f"output spike equations (full rank and at least one equation to spare are needed); more "
                f"output spikes (duration) or examples are needed")
    return (f"the joint fit from {start} does not explain the output spikes (relative residual "
            f"{info['relative_residual']:.3g}): wrong model order, unresolved hidden spikes, or too much "
            f"spike-time noise")


def _final_layers(inputs: list, output_spikes: list, hidden_neurons: Neurons, output_neurons: Neurons,
                  opt: Any, report: TwoLayerReport, hidden: list, used: list, W2: np.ndarray | None,
                  W2c: np.ndarray | None, Ys: list, fail: str, late: str, t_all: float,
                  warn: bool) -> TwoLayerResult:
    """Step 5 and the verdict: ``W2`` (joint fit, refit or centroids), ``W1`` from the hidden spikes,
    error bars, the consistency checks, and the report's reason on failure."""
    from .training import fit_layer

    n_hidden, n_in, n_out = opt.n_hidden, opt.n_in, opt.n_out
    nan1, nan2 = np.full((n_hidden, n_in), np.nan), np.full((n_out, n_hidden), np.nan)
    W2c = nan2.copy() if W2c is None else W2c
    info = report.joint_info

    def finish(W1, W2, reason="", W1_std=None, W2_std=None):
        if reason:
            report.success, report.reason = False, reason
            if warn:
                warnings.warn(f"fit_two_layer: {reason}", IdentifiabilityWarning, stacklevel=3)
        report.timings["total"] = time.perf_counter() - t_all
        return TwoLayerResult(W1, W2, W2c, hidden, report, W1_std, W2_std)

    if not used:
        return finish(nan1, nan2, fail or "no hidden spikes were recovered")
    t0 = time.perf_counter()
    W2_std = None
    if W2 is None:
        W2 = W2c.copy()
        if opt.refit_w2:
            ex2 = [(hidden_drive(hidden[e], PeriodicLowpass(opt.T, opt.M)), output_spikes[e]) for e in used]
            fit2 = fit_layer(ex2, output_neurons, **opt.fit_options)
            W2r = np.asarray(fit2.weights, dtype=float)
            report.layer2_info = list(fit2.info)
            okr = np.array([_neuron_ok(i) for i in fit2.info]) & np.all(np.isfinite(W2r), axis=1)
            W2[okr] = W2r[okr]
    elif np.all(np.isfinite(info.get("W2_covariance", np.nan))):
        W2_std = np.sqrt(np.maximum(np.diag(info["W2_covariance"]), 0.0)).reshape(n_out, n_hidden)
    report.timings["w2"] = time.perf_counter() - t0
    report.w2_residual = _w2_residual(hidden, used, W2, Ys, report.examples, opt.T, opt.M)
    report.output_residual = out_res = _output_residuals(hidden, used, W2, output_spikes, output_neurons, opt)
    t0 = time.perf_counter()
    W1, report.layer1_info, W1_std = _layer1(inputs, hidden, used, hidden_neurons, opt,
                                             info.get("hidden_covariance") if W2_std is not None else None)
    report.timings["layer1"] = time.perf_counter() - t0
    ok1 = np.array([_neuron_ok(i) for i in report.layer1_info]) & np.all(np.isfinite(W1), axis=1)
    if not ok1.all():
        counts_h = sum(hidden[e].counts() for e in used)
        W1[~ok1] = np.nan
        return finish(W1, W2, f"{fail + '; ' if fail else ''}layer 1 is not identifiable for hidden neuron(s) "
                      f"{np.flatnonzero(~ok1).tolist()} (recovered spike counts {counts_h.tolist()} over "
                      f"{len(used)} example(s); each needs more than n_in = {n_in} spike equations)")
    if fail or late:
        return finish(W1, W2, fail or late, W1_std, W2_std)
    if np.nanmax(out_res) > opt.max_output_residual:
        return finish(W1, W2, f"the recovered hidden spikes and W2 do not explain the output spikes (relative "
                      f"residual {np.nanmax(out_res):.3g} > max_output_residual = {opt.max_output_residual:g}): "
                      f"wrong model order, unresolved hidden spikes, or too much spike-time noise")
    if np.any(~np.isfinite(W2)):
        return finish(W1, W2, "some rows of W2 could not be estimated (output neurons never decoded and "
                      "not identifiable in the refit)")
    return finish(W1, W2, "", W1_std, W2_std)


@dataclass
class HiddenRecovery:
    """Hidden spikes and output weights recovered by :func:`recover_hidden` (no model of the hidden
    layer's inputs).

    Attributes
    ----------
    hidden_spikes : list of SpikeTrains or None
        Per example (None where they were not recovered); hidden neurons in an arbitrary order.
    W : ndarray, shape (n_out, n_hidden)
        The output layer's weights (NaN where unavailable).
    W_std : ndarray or None
        Their standard errors from the joint fit.
    report : TwoLayerReport
        FRI, clustering and joint-fit diagnostics (``W1``-related fields unused).
    """

    hidden_spikes: list
    W: np.ndarray
    W_std: np.ndarray | None
    report: TwoLayerReport

    @property
    def success(self) -> bool:
        """Shortcut for ``report.success``."""
        return self.report.success


def recover_hidden(output_spikes: Sequence[SpikeTrains], output_neurons: Neurons, n_hidden: int,
                   kernel: PeriodicLowpass, *, seed: Any, method: str = "esprit",
                   n_diracs: int | Sequence[int] | None = None, max_diracs: int | None = None,
                   joint: bool = True, row_weights: str | None = "jitter", max_output_residual: float = 0.05,
                   decode_options: dict | None = None, warn: bool = True) -> HiddenRecovery:
    """Hidden spikes and output weights from output spikes alone: FRI, clustering, joint fit.

    The top stage of :func:`fit_two_layer` when nothing is known about what
    drives the hidden layer (the upper layers of a deeper network): decode every
    output drive, locate the pooled hidden spikes by joint FRI, cluster their
    amplitude vectors into ``n_hidden`` neurons, then (``joint``) fit all hidden
    spike times and ``W`` jointly to every output spike equation. Without a
    model of the hidden layer there is no multi-start search: every example
    needs about ``2M+1`` output spikes per neuron. The clustering and FRI
    options are :func:`fit_two_layer`'s defaults.

    Parameters
    ----------
    output_spikes : sequence of SpikeTrains
    output_neurons : Neurons
    n_hidden : int
    kernel : PeriodicLowpass
    seed : int, SeedSequence or Generator
    method, n_diracs, max_diracs, joint, row_weights, max_output_residual, decode_options, warn
        As in :func:`fit_two_layer`.

    Returns
    -------
    HiddenRecovery

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, PeriodicLowpass
    >>> from tem_sim.twolayer import simulate_two_layer, recover_hidden
    >>> rng = np.random.default_rng(1)
    >>> W1, W2 = rng.random((2, 2)), rng.random((4, 2))
    >>> hid, out, k = Neurons(2, kappa=10.0, bias=10.0), Neurons(4, bias=1.0), PeriodicLowpass(10.0, 7, first=4)
    >>> outs = [simulate_two_layer(FourierSignals.random_paper(2, 10, 10.0, seed=rng), W1, W2, hid, out, k, 36.0)[1]
    ...         for _ in range(2)]
    >>> rec = recover_hidden(outs, out, 2, k, seed=0)
    >>> rec.success, [h.count for h in rec.hidden_spikes]
    (True, [8, 8])
    """
    t_all = time.perf_counter()
    opt = _check_output_side(output_spikes, output_neurons, n_hidden, kernel, seed=seed, method=method,
                             n_diracs=n_diracs, max_diracs=max_diracs, rtol=None, refine_locations=True,
                             spurious_tol=0.1, n_restarts=10, kmeans_iter=50, min_separation=5.0,
                             outlier_tol=0.25, max_output_residual=max_output_residual, row_weights=row_weights,
                             decode_options=decode_options)
    output_spikes = list(output_spikes)
    report = TwoLayerReport()
    n_ex = len(output_spikes)
    nan = np.full((opt.n_out, opt.n_hidden), np.nan)

    def finish(hidden, W, reason="", W_std=None):
        if reason:
            report.success, report.reason = False, reason
            if warn:
                warnings.warn(f"recover_hidden: {reason}", IdentifiabilityWarning, stacklevel=3)
        report.timings["total"] = time.perf_counter() - t_all
        return HiddenRecovery(hidden, W, W_std, report)

    per_ex, fri_out, _ = _fri_stage([None] * n_ex, output_spikes, output_neurons, opt, report)
    good = [e for e in range(n_ex) if per_ex[e]["success"]]
    if not good:
        return finish([None] * n_ex, nan, "no example gave its hidden spikes: " + "; ".join(
            f"example {e}: {r['reason']}" for e, r in enumerate(per_ex)))
    try:
        hidden, W, late = _cluster_stage(per_ex, fri_out, good, opt, report)
    except _Failure as exc:
        return finish([None] * n_ex, nan, str(exc))
    used = [e for e, h in enumerate(hidden) if h is not None]
    report.stage, W_std = "fri", None
    if joint:
        eqs = _OutputEquations([output_spikes[e] for e in used], output_neurons, opt.T, opt.M, opt.row_weights)
        hs, W, info = _joint_refine(eqs, [(hidden[e].times, hidden[e].indices) for e in used], opt.n_hidden, opt.T)
        report.stage, report.joint_info = "fri+joint", info
        for e, (s, lab) in zip(used, hs):
            hidden[e] = SpikeTrains(s, lab, opt.n_hidden, 0.0, float(max(s.max(initial=0.0), 0.0)))
        if not info["identifiable"]:
            return finish(hidden, W, _joint_reason(info, "the FRI start"))
        if np.all(np.isfinite(info["W2_covariance"])):
            W_std = np.sqrt(np.maximum(np.diag(info["W2_covariance"]), 0.0)).reshape(W.shape)
    report.output_residual = res = _output_residuals(hidden, used, W, output_spikes, output_neurons, opt)
    if late:
        return finish(hidden, W, late)
    if np.nanmax(res) > opt.max_output_residual:
        return finish(hidden, W, f"the recovered hidden spikes do not explain the output spikes (relative "
                      f"residual {np.nanmax(res):.3g} > max_output_residual = {opt.max_output_residual:g})")
    return finish(hidden, W, "", W_std)


def cramer_rao_bound(hidden_spikes: Sequence[SpikeTrains], W2: Any, output_spikes: Sequence[SpikeTrains],
                     output_neurons: Neurons, kernel: PeriodicLowpass, level: float) -> dict:
    """Cramer-Rao bound of the hidden spike times and ``W2`` under the paper's spike-time jitter.

    Every output spike time of neuron ``j`` in example ``e`` carries independent
    Gaussian noise of standard deviation ``level * ||diff t|| / len(diff t)``
    (the paper's model). Output spike ``k`` solves ``int_0^{t_k} u_j = c_k``,
    so ``dt_k/dtheta = -(dg_k/dtheta) / u_j(t_k)`` and the Fisher information of
    ``theta = (hidden spike times, W2)`` is ``J^T J / level^2`` with ``J`` the
    Jacobian of the jitter-weighted equations of :func:`fit_two_layer`,
    evaluated at the truth; the bound is its inverse. The hidden spikes are
    free parameters here (the model :func:`fit_two_layer` fits jointly).

    Parameters
    ----------
    hidden_spikes : sequence of SpikeTrains
        The true hidden spikes of every example (those the kernel uses).
    W2 : array_like, shape (n_out, n_hidden)
    output_spikes : sequence of SpikeTrains
        The noise-free output spikes.
    output_neurons : Neurons
        Perfect integrators.
    kernel : PeriodicLowpass
    level : float
        Relative jitter level.

    Returns
    -------
    dict
        ``W2_covariance`` (``(n_out n_hidden)^2``, ``W2`` row by row),
        ``W2_std`` (n_out, n_hidden), ``W2_rms`` (square root of the trace: the
        bound on the RMS Frobenius error of ``W2``), ``hidden_covariance``,
        ``rank`` and ``n_unknowns`` of ``J``.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, PeriodicLowpass
    >>> from tem_sim.twolayer import simulate_two_layer, cramer_rao_bound
    >>> rng = np.random.default_rng(1)
    >>> W1, W2 = rng.random((2, 2)), rng.random((4, 2))
    >>> hid, out, k = Neurons(2, kappa=10.0, bias=10.0), Neurons(4, bias=1.0), PeriodicLowpass(10.0, 7, first=4)
    >>> sims = [simulate_two_layer(FourierSignals.random_paper(2, 10, 10.0, seed=rng), W1, W2, hid, out, k, 30.0)
    ...         for _ in range(2)]
    >>> crb = cramer_rao_bound([h for h, _ in sims], W2, [o for _, o in sims], out, k, 1e-4)
    >>> crb["rank"] == crb["n_unknowns"], bool(1e-6 < crb["W2_rms"] < 1e-2)
    (True, True)
    """
    hidden_spikes, output_spikes = list(hidden_spikes), list(output_spikes)
    if not isinstance(kernel, PeriodicLowpass):
        raise ValidationError("kernel", kernel, "a PeriodicLowpass kernel")
    if not isinstance(output_neurons, Neurons) or np.any(output_neurons.is_leaky):
        raise ValidationError("output_neurons", output_neurons, "perfect (non-leaky) Neurons")
    if len(hidden_spikes) != len(output_spikes) or not hidden_spikes:
        raise ValidationError("hidden_spikes", f"{len(hidden_spikes)} examples",
                              f"one SpikeTrains per example of output_spikes ({len(output_spikes)})")
    for name, seq in (("hidden_spikes", hidden_spikes), ("output_spikes", output_spikes)):
        for e, st in enumerate(seq):
            if not isinstance(st, SpikeTrains):
                raise ValidationError(f"{name}[{e}]", type(st).__name__, "a SpikeTrains")
    n_h = hidden_spikes[0].n_neurons
    W2 = as_float_array("W2", W2, ndim=2, shape=(output_neurons.n, n_h))
    level = as_scalar("level", level, positive=True)
    eqs = _OutputEquations(output_spikes, output_neurons, kernel.period, kernel.n_harmonics, "jitter")
    first = kernel.first
    hs = []
    for st in hidden_spikes:
        st = st if first is None else st.first(first)
        hs.append((st.times.copy(), st.indices.copy()))
    eqs.reweight(hs, W2, n_h)
    J = eqs.fisher(hs, n_h)[0]
    # the Jacobian's W2 columns are evaluated at the projected W2; at the truth (exact spikes) they agree
    sv = np.linalg.svd(J, compute_uv=False)
    rank = int(np.count_nonzero(sv > 1e-10 * sv[0])) if sv.size else 0
    Jinv = np.linalg.pinv(J)
    cov = level ** 2 * (Jinv @ Jinv.T)
    n_s = sum(s.size for s, _ in hs)
    c2 = cov[n_s:, n_s:]
    return {"W2_covariance": c2, "W2_std": np.sqrt(np.diag(c2)).reshape(W2.shape),
            "W2_rms": float(np.sqrt(np.trace(c2))), "hidden_covariance": cov[:n_s, :n_s],
            "rank": rank, "n_unknowns": int(J.shape[1])}


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
