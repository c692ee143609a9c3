"""Tests of tem_sim.decoding: drives and inputs recovered from engine spikes."""
import math

import numpy as np
import pytest

from tem_sim import encode
from tem_sim.decoding import DecodeResult, coefficients_from_real, decode, decode_drive, real_basis
from tem_sim.exceptions import IdentifiabilityWarning, ValidationError
from tem_sim.neurons import Neurons
from tem_sim.signals import FourierSignals
from tem_sim.spikes import SpikeTrains
from tem_sim.training import FIT_INFO_KEYS


def complex_bank(n, M, T, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1, 1, (n, M + 1)) + 1j * rng.uniform(-1, 1, (n, M + 1))
    c[:, 0] = c[:, 0].real + 2.0          # positive mean
    return FourierSignals.from_one_sided(scale * c / (M + 1), T)


def test_real_basis_and_coefficient_map_are_inverse():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(3, 7))
    x = FourierSignals(coefficients_from_real(theta), 5.0)
    t = np.linspace(0, 7, 31)
    np.testing.assert_allclose(x.sample(t), theta @ real_basis(5.0, 3).sample(t), atol=1e-13)
    # the direct formula: c_0 + 2 sum Re(c_m e^{i w_m t})
    c = x.one_sided
    direct = c[:, :1].real + 2 * sum((c[:, m:m + 1] * np.exp(2j * np.pi * m * t / 5.0)).real for m in range(1, 4))
    np.testing.assert_allclose(x.sample(t), direct, atol=1e-13)


@pytest.mark.parametrize("tau", [math.inf, 3.0])
def test_decode_drive_recovers_each_drive(tau):
    T, M = 10.0, 6
    x = complex_bank(4, M, T, seed=1)
    W = np.random.default_rng(2).random((3, 4))
    nrn = Neurons(3, kappa=1.0, delta=[0.2, 0.3, 0.25], bias=[1.5, 2.0, 1.0], tau=tau)
    st = encode(x, W, nrn, 10.0)
    assert (st.counts() > 2 * M + 1).all()
    res = decode_drive(st, nrn, T, M)
    assert isinstance(res, DecodeResult) and res.signals.coefficients.shape == (3, 2 * M + 1)
    np.testing.assert_allclose(res.signals.coefficients, (W @ x.coefficients), atol=1e-8)
    assert res.identifiable.all() and all(set(d) == set(FIT_INFO_KEYS) for d in res.info)
    assert [d["rank"] for d in res.info] == [2 * M + 1] * 3


def test_decode_drive_with_too_few_spikes_warns():
    T, M = 10.0, 6
    x = complex_bank(2, M, T, seed=3)
    nrn = Neurons(2, kappa=1.0, delta=1.0, bias=1.0)
    st = encode(x, np.eye(2), nrn, 4.0)
    assert (st.counts() < 2 * M + 1).all()
    with pytest.warns(IdentifiabilityWarning):
        res = decode_drive(st, nrn, T, M)
    assert not res.identifiable.any()
    assert np.all(np.isfinite(res.signals.coefficients))


def test_multichannel_decode_recovers_inputs():
    T, M = 10.0, 4
    x = complex_bank(3, M, T, seed=4)
    W = np.random.default_rng(5).uniform(0.2, 1.0, (6, 3))
    nrn = Neurons(6, kappa=1.0, delta=0.5, bias=1.0)
    st = encode(x, W, nrn, 10.0)
    # fewer spikes per neuron than the 27 unknowns, but more in total
    assert st.counts().max() < 3 * (2 * M + 1) < st.count
    res = decode(st, W, nrn, T, M)
    np.testing.assert_allclose(res.signals.coefficients, x.coefficients, atol=1e-8)
    assert len(res.info) == 1 and res.info[0]["identifiable"] and res.info[0]["rank"] == 27
    # the OSQP path (inequalities) agrees
    res2 = decode(st, W, nrn, T, M, inequalities=True, n_points=2)
    np.testing.assert_allclose(res2.signals.coefficients, x.coefficients, atol=1e-8)
    assert res2.info[0]["method"] == "osqp" and res2.info[0]["n_inequalities"] > 0


def test_multichannel_decode_not_identifiable_with_collinear_weights():
    T, M = 10.0, 3
    x = complex_bank(2, M, T, seed=6)
    W = np.array([[1.0, 0.5], [2.0, 1.0], [0.5, 0.25]])      # rank 1: only x_0 + x_1 / 2 is seen
    nrn = Neurons(3, kappa=1.0, delta=0.3, bias=1.0)
    st = encode(x, W, nrn, 10.0)
    with pytest.warns(IdentifiabilityWarning, match="not determined"):
        res = decode(st, W, nrn, T, M)
    assert not res.info[0]["identifiable"] and res.info[0]["rank"] == 2 * M + 1
    # the visible combination is still recovered exactly
    seen = res.signals.coefficients[0] + 0.5 * res.signals.coefficients[1]
    np.testing.assert_allclose(seen, x.coefficients[0] + 0.5 * x.coefficients[1], atol=1e-8)


def test_decoding_validation():
    nrn = Neurons(2)
    st = SpikeTrains([1.0, 2.0], [0, 1], n_neurons=2, t_stop=3.0)
    with pytest.raises(ValidationError, match="spikes"):
        decode_drive([1.0, 2.0], nrn, 10.0, 2)
    with pytest.raises(ValidationError, match="spikes.n_neurons"):
        decode_drive(st, Neurons(3), 10.0, 2)
    with pytest.raises(ValidationError, match="period"):
        decode_drive(st, nrn, -1.0, 2)
    with pytest.raises(ValidationError, match="n_harmonics"):
        decode_drive(st, nrn, 10.0, 1.5)
    with pytest.raises(ValidationError, match="weights"):
        decode(st, np.ones((3, 2)), nrn, 10.0, 2)
    with pytest.raises(ValidationError, match="method"):
        decode(st, np.ones((2, 2)), nrn, 10.0, 2, method="lstsq", lasso=1.0)
    with pytest.raises(ValidationError, match="ridge"):
        decode_drive(st, nrn, 10.0, 2, ridge=-1.0)
