"""Tests of tem_sim.fri: joint recovery of periodic Diracs from Fourier coefficients."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tem_sim.exceptions import IdentifiabilityWarning, ValidationError
from tem_sim.fri import (FRI_METHODS, FRIResult, cadzow_denoise, dirac_coefficients, fri_recover,
                         select_order)

T = 10.0


def _separated_locations(rng, K, period=T, min_sep=0.4):
    """Random locations in [0, T) at least ``min_sep`` apart (circularly)."""
    while True:
        s = np.sort(rng.uniform(0, period, K))
        gaps = np.diff(np.concatenate([s, [s[0] + period]]))
        if gaps.min() >= min_sep:
            return s


def _circ_err(a, b, period=T):
    return float(np.max(np.abs((a - b + period / 2) % period - period / 2)))


def _noisy(Y, level, rng):
    """Add complex white noise of relative level ``level`` and keep conjugate symmetry."""
    n = level * np.sqrt(np.mean(np.abs(Y) ** 2)) * (rng.standard_normal(Y.shape) + 1j * rng.standard_normal(Y.shape))
    Yn = Y + n
    return 0.5 * (Yn + np.conj(Yn[:, ::-1]))


@pytest.mark.parametrize("method", FRI_METHODS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_recovery_paper_size(method, seed):
    # the paper's setting: K = 8 pooled Diracs, M = 7, J = 4 signals
    rng = np.random.default_rng(seed)
    s = _separated_locations(rng, 8)
    A = rng.uniform(0, 1, (4, 8))
    Y = dirac_coefficients(s, A, T, 7)
    res = fri_recover(Y, T, 8, method=method)
    assert isinstance(res, FRIResult)
    assert res.identifiable and res.message == ""
    assert res.order == 8 and not res.order_selected
    assert _circ_err(res.locations, s) < 1e-10
    assert np.max(np.abs(res.amplitudes - A)) < 1e-10
    assert res.residual < 1e-12
    assert res.root_radius_error < 1e-10
    assert np.all(np.diff(res.locations) > 0) and res.locations.min() >= 0 and res.locations.max() < T
    assert res.amplitudes.dtype == np.float64  # real signals give real amplitudes


def test_joint_fit_beats_single_signal_limit():
    # one signal with 2M+1 = 15 coefficients can carry at most 7 Diracs; four signals carry 10
    rng = np.random.default_rng(3)
    s = _separated_locations(rng, 10, min_sep=0.5)
    A = rng.uniform(0.2, 1, (4, 10))
    Y = dirac_coefficients(s, A, T, 7)
    res = fri_recover(Y, T, 10, method="annihilating")
    assert res.identifiable
    assert _circ_err(res.locations, s) < 1e-9
    with pytest.warns(IdentifiabilityWarning, match="fewer than the K"):
        single = fri_recover(Y[:1], T, 10)
    assert not single.identifiable and single.locations.size == 0


def test_order_selection_reports_choice_and_singular_values():
    rng = np.random.default_rng(4)
    s = _separated_locations(rng, 6)
    A = rng.uniform(0.2, 1, (5, 6))
    Y = dirac_coefficients(s, A, T, 7)
    res = fri_recover(Y, T)
    assert res.order == 6 and res.order_selected
    assert res.singular_values[5] > 1e6 * res.singular_values[6]
    assert _circ_err(res.locations, s) < 1e-10
    k, sv = select_order(Y, rtol=1e-8)
    assert k == 6 and sv.shape == res.singular_values.shape
    assert select_order(Y, max_order=4)[0] <= 4


def test_order_selection_with_moderate_noise():
    rng = np.random.default_rng(5)
    s = _separated_locations(rng, 5, min_sep=1.0)
    A = rng.uniform(0.5, 1, (4, 5))
    Y = _noisy(dirac_coefficients(s, A, T, 7), 1e-4, rng)
    res = fri_recover(Y, T)
    assert res.order == 5
    assert _circ_err(res.locations, s) < 1e-3


def test_too_many_diracs_for_filter_length_is_reported():
    Y = dirac_coefficients([1.0, 2.0], [[1.0, 1.0]], T, 2)
    with pytest.warns(IdentifiabilityWarning, match="filter of length"):
        res = fri_recover(Y, T, 5)
    assert not res.identifiable and "filter of length 6" in res.message
    assert res.locations.shape == (0,) and res.amplitudes.shape == (1, 0)
    # silent when asked, still flagged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not fri_recover(Y, T, 5, warn=False).identifiable


def test_rank_deficient_amplitudes_are_flagged():
    # four signals with proportional amplitudes are one signal: 10 Diracs cannot be resolved
    rng = np.random.default_rng(6)
    s = _separated_locations(rng, 10, min_sep=0.5)
    a = rng.uniform(0.2, 1, 10)
    A = np.outer([1.0, 2.0, 0.5, 3.0], a)
    Y = dirac_coefficients(s, A, T, 7)
    with pytest.warns(IdentifiabilityWarning, match="1 are independent"):
        res = fri_recover(Y, T, 10, method="annihilating")
    assert not res.identifiable and res.info["effective_signals"] == 1


@pytest.mark.parametrize("method", FRI_METHODS)
def test_all_or_none_amplitudes_of_few_hidden_neurons(method):
    # section 6: A = W2 P has rank n_hidden = 2, not J = 4; the pencil must account for it
    rng = np.random.default_rng(11)
    s = np.array([1.80, 1.99, 3.79, 3.99, 5.54, 5.97, 7.52, 7.97])  # pairs 0.2-0.45 apart, as in Fig. 3
    P = np.zeros((2, 8))
    P[0, ::2] = 1.0
    P[1, 1::2] = 1.0
    W2 = rng.uniform(0, 1, (4, 2))
    Y = dirac_coefficients(s, W2 @ P, T, 7)
    res = fri_recover(Y, T, method=method)
    assert res.order == 8 and res.identifiable and res.info["effective_signals"] == 2
    assert _circ_err(res.locations, s) < 1e-9
    assert np.max(np.abs(res.amplitudes - W2 @ P)) < 1e-8


def test_noise_degrades_gracefully():
    rng = np.random.default_rng(7)
    s = _separated_locations(rng, 8, min_sep=0.6)
    A = rng.uniform(0.3, 1, (4, 8))
    Y = dirac_coefficients(s, A, T, 7)
    errs = []
    for level in (1e-8, 1e-6, 1e-4):
        e = [_circ_err(fri_recover(_noisy(Y, level, rng), T, 8, warn=False).locations, s) for _ in range(5)]
        errs.append(np.median(e))
    # error roughly proportional to the noise level
    assert errs[0] < 1e-5 and errs[1] < 1e-3 and errs[2] < 0.1
    assert errs[0] < errs[1] < errs[2]


def test_robust_methods_beat_plain_annihilation_at_high_noise():
    rng = np.random.default_rng(8)
    med = {m: [] for m in ("annihilating", "cadzow", "esprit", "esprit+refine")}
    for trial in range(6):
        s = _separated_locations(rng, 8, min_sep=0.6)
        A = rng.uniform(0.3, 1, (4, 8))
        Y = dirac_coefficients(s, A, T, 7)
        for _ in range(5):
            Yn = _noisy(Y, 3e-3, rng)
            for m in ("annihilating", "cadzow", "esprit"):
                med[m].append(_circ_err(fri_recover(Yn, T, 8, method=m, warn=False).locations, s))
            med["esprit+refine"].append(
                _circ_err(fri_recover(Yn, T, 8, method="esprit", refine=True, warn=False).locations, s))
    m = {k: float(np.median(v)) for k, v in med.items()}
    # measured: cadzow and esprit about 0.72x, esprit + refinement about 0.33x the plain filter's error
    assert m["cadzow"] < 0.85 * m["annihilating"]
    assert m["esprit"] < 0.85 * m["annihilating"]
    assert m["esprit+refine"] < 0.6 * m["annihilating"]


def test_cadzow_reduces_distance_to_clean_data():
    rng = np.random.default_rng(9)
    s = _separated_locations(rng, 6)
    A = rng.uniform(0.3, 1, (4, 6))
    Y = dirac_coefficients(s, A, T, 7)
    Yn = _noisy(Y, 1e-2, rng)
    Yd = cadzow_denoise(Yn, 6)
    assert np.linalg.norm(Yd - Y) < 0.8 * np.linalg.norm(Yn - Y)
    assert np.allclose(Yd, np.conj(Yd[:, ::-1]))  # still real signals


def test_complex_amplitudes():
    rng = np.random.default_rng(10)
    s = _separated_locations(rng, 3)
    A = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    Y = dirac_coefficients(s, A, T, 4)
    res = fri_recover(Y, T, 3)
    assert res.identifiable
    assert np.max(np.abs(res.amplitudes - A)) < 1e-10


def test_location_near_period_wraps_into_range():
    s = np.array([3.0, 6.0, T - 1e-9])
    Y = dirac_coefficients(s, [[1.0, 2.0, 3.0], [0.5, 0.2, 1.0]], T, 5)
    res = fri_recover(Y, T, 3)
    assert np.all((res.locations >= 0) & (res.locations < T))
    assert _circ_err(np.sort(res.locations), s) < 1e-9


def test_validation_errors():
    with pytest.raises(ValidationError, match="Y"):
        fri_recover(np.ones((2, 4)), T)
    with pytest.raises(ValidationError, match="period"):
        fri_recover(np.ones((2, 5)), -1.0)
    with pytest.raises(ValidationError, match="method"):
        fri_recover(np.ones((2, 5)), T, 1, method="prony2")
    with pytest.raises(ValidationError, match="n_diracs"):
        fri_recover(np.ones((2, 5)), T, 0)
    with pytest.raises(ValidationError, match="amplitudes"):
        dirac_coefficients([1.0, 2.0], [[1.0]], T, 3)


def test_zero_data_reported():
    with pytest.warns(IdentifiabilityWarning, match="all zero"):
        res = fri_recover(np.zeros((2, 7)), T)
    assert not res.identifiable and res.order == 0
