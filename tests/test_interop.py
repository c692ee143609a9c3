"""Format round trips (Brian2 arrays, Neo, NWB, .npz) and pickling of every public object."""
from __future__ import annotations

import importlib
import os
import pickle

import numpy as np
import pytest

import tem_sim as ts
from tem_sim import interop


def require(module: str):
    """The real optional library: installed by the ``test`` extra, so in CI (``CI`` set) a missing
    one fails the test instead of skipping it; elsewhere the test skips, naming the module."""
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[test]')")


@pytest.fixture
def spikes():
    x = ts.FourierSignals.random_paper(4, n_components=5, period=10.0, seed=1)
    W = np.random.default_rng(1).random((3, 4))
    st = ts.encode(x, W, ts.Neurons(3, bias=[1.0, 2.0, 3.0]), t_end=20.0)
    # a silent fourth neuron, so silent neurons must survive each round trip
    return ts.SpikeTrains(st.times, st.indices, 4, 0.0, 20.0)


SCALES = [1.0, 0.5, 1e-3]


def same(a, b, scale):
    if scale in (1.0, 0.5):  # powers of two: the products are exact
        return a == b
    return (a.n_neurons == b.n_neurons and a.allclose(b, rtol=1e-15, atol=0)
            and np.isclose(a.t_start, b.t_start, rtol=1e-15) and np.isclose(a.t_stop, b.t_stop, rtol=1e-15))


# --------------------------------------------------------------------------- Brian2
@pytest.mark.parametrize("scale", SCALES)
def test_brian2_round_trip(spikes, scale):
    i, t = interop.to_brian2_arrays(spikes, time_scale=scale)
    assert i.dtype == np.int64 and t.dtype == np.float64 and i.shape == t.shape == (spikes.count,)
    assert np.all(np.diff(t) >= 0)
    back = interop.from_brian2_arrays(i, t, spikes.n_neurons, t_start=0.0, t_stop=20.0 * scale, time_scale=scale)
    assert same(back, spikes, scale)


def test_brian2_empty_and_errors():
    empty = ts.SpikeTrains([], [], 3, 0.0, 5.0)
    i, t = interop.to_brian2_arrays(empty)
    assert i.size == t.size == 0
    assert interop.from_brian2_arrays(i, t, 3, t_stop=5.0) == empty
    with pytest.raises(ValueError, match="time_scale"):
        interop.to_brian2_arrays(empty, time_scale=0.0)
    with pytest.raises(ValueError, match="spikes"):
        interop.to_brian2_arrays([1.0, 2.0])
    with pytest.raises(ValueError, match="indices"):
        interop.from_brian2_arrays([0, 5], [0.1, 0.2], 2)
    with pytest.raises(ValueError, match="t"):
        interop.from_brian2_arrays([0], [np.nan], 2)


def _brian2_python() -> tuple[str | None, str]:
    """An interpreter in which Brian2 imports, and why there is none."""
    import importlib.util
    import os
    import sys
    from pathlib import Path

    if importlib.util.find_spec("brian2") is not None:
        return sys.executable, ""
    named = os.environ.get("TEM_SIM_BRIAN2_PYTHON")
    candidate = Path(named) if named else Path(__file__).resolve().parents[1] / ".venv-brian2" / "bin" / "python"
    if candidate.is_file():
        return str(candidate), ""
    return None, (f"Brian2 round trips SKIPPED: Brian2 does not import here (it needs NumPy < 2.4, this is "
                  f"{np.__version__}) and there is no Brian2 environment at {candidate}: create it with "
                  "`bash tools/setup_brian2_env.sh` or name one with TEM_SIM_BRIAN2_PYTHON")


def test_brian2_round_trips():
    """tests/brian2_checks.py, run by pytest in an environment where the real Brian2 imports."""
    import os
    import subprocess
    from pathlib import Path

    python, why = _brian2_python()
    if python is None:
        pytest.skip(why)
    src = Path(ts.__file__).resolve().parents[1]
    if not (src / "pyproject.toml").is_file():
        pytest.skip(f"Brian2 round trips SKIPPED: tem_sim is not an editable install of a source tree ({src})")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PYTHONPATH=str(src), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    checks = Path(__file__).with_name("brian2_checks.py")
    proc = subprocess.run([python, "-m", "pytest", "-q", "--noconftest", "-p", "no:cacheprovider",
                           "-p", "no:warnings", "--rootdir", str(checks.parent), str(checks)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "5 passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-2000:]


# --------------------------------------------------------------------------- Neo
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("units", ["s", "ms"])
def test_neo_round_trip(spikes, scale, units):
    neo = require("neo")
    trains = interop.to_neo(spikes, units=units, time_scale=scale)
    assert len(trains) == spikes.n_neurons and all(isinstance(tr, neo.SpikeTrain) for tr in trains)
    assert [tr.annotations["neuron"] for tr in trains] == list(range(spikes.n_neurons))
    assert len(trains[3]) == 0
    assert str(trains[0].units.dimensionality) == units
    f = scale * (1000.0 if units == "ms" else 1.0)
    np.testing.assert_allclose(trains[1].magnitude, spikes.neuron(1) * f, rtol=1e-15)
    back = interop.from_neo(trains, time_scale=scale)
    assert same(back, spikes, scale if units == "s" else 1e-3)


def test_neo_units_mix_and_errors(spikes):
    require("neo")
    import quantities as pq
    trains = interop.to_neo(spikes, units="ms", time_scale=1e-3)
    trains[0] = trains[0].rescale(pq.s)  # a list mixing units reads back the same
    assert interop.from_neo(trains, time_scale=1e-3).allclose(spikes, rtol=1e-14, atol=0)
    with pytest.raises(ValueError, match="units"):
        interop.to_neo(spikes, units="furlong")
    with pytest.raises(ValueError, match="trains"):
        interop.from_neo([])
    with pytest.raises(ValueError, match=r"trains\[0\]"):
        interop.from_neo([np.array([1.0])])


def test_missing_extra_message(monkeypatch, spikes):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.split(".")[0] in ("neo", "pynwb"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r'tem_sim\[neo\]'):
        interop.to_neo(spikes)
    with pytest.raises(ImportError, match=r'tem_sim\[nwb\]'):
        interop.to_nwb_units(spikes)


# --------------------------------------------------------------------------- NWB
@pytest.mark.parametrize("scale", SCALES)
def test_nwb_round_trip(spikes, scale):
    require("pynwb")
    table = interop.to_nwb_units(spikes, time_scale=scale)
    assert len(table) == spikes.n_neurons
    np.testing.assert_allclose(table["spike_times"][2], spikes.neuron(2) * scale, rtol=1e-15)
    back = interop.from_nwb_units(table, time_scale=scale)
    assert same(back, spikes, scale)


@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_nwb_file_round_trip(spikes, tmp_path, scale):
    """A file written by pynwb, read back by pynwb (its own view of the units) and by tem_sim."""
    pynwb = require("pynwb")
    from datetime import datetime, timezone
    nwb = pynwb.NWBFile(session_description="tem_sim", identifier="tem_sim-test",
                        session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    nwb.units = interop.to_nwb_units(spikes, time_scale=scale)
    path = tmp_path / "spikes.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        units = io.read().units
        # pynwb's reading: one unit per neuron (the silent one too), times in seconds, the window
        assert len(units) == spikes.n_neurons
        df = units.to_dataframe()
        assert list(df.index) == list(range(spikes.n_neurons))
        for j in range(spikes.n_neurons):
            np.testing.assert_array_equal(np.asarray(df["spike_times"].iloc[j]), spikes.neuron(j) * scale)
            np.testing.assert_array_equal(np.asarray(df["obs_intervals"].iloc[j]), [[0.0, 20.0 * scale]])
        assert len(df["spike_times"].iloc[3]) == 0
        back = interop.from_nwb_units(units, time_scale=scale)
    assert same(back, spikes, scale)


# --------------------------------------------------------------------------- .npz
def test_npz_round_trip_and_version(spikes, tmp_path):
    spikes.save(tmp_path / "s.npz")
    assert ts.SpikeTrains.load(tmp_path / "s.npz") == spikes
    with np.load(tmp_path / "s.npz") as f:
        assert int(f["format_version"]) == 1


# --------------------------------------------------------------------------- pickling
def _round(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def test_pickle_data_objects(spikes):
    x = ts.FourierSignals.random_paper(3, n_components=4, period=7.0, seed=2)
    nrn = ts.Neurons(3, kappa=[1.0, 2.0, 0.5], delta=0.7, bias=1.5, tau=[np.inf, 3.0, 10.0])
    for obj in (x, nrn, spikes, ts.Delta(), ts.Exponential(2.5), ts.PeriodicLowpass(10.0, 5),
                ts.PeriodicLowpass(10.0, 5, first=3)):
        back = _round(obj)
        assert type(back) is type(obj) and back == obj, obj
    si = ts.SpikeInput(spikes, ts.Exponential(1.0), delay=0.25)
    back = _round(si)
    assert back.spikes == si.spikes and back.kernel == si.kernel and np.array_equal(back.delay, si.delay)
    assert back.spikes.neuron(1).tolist() == spikes.neuron(1).tolist()  # lazy per-neuron index rebuilt


def test_pickle_network_and_results():
    net = ts.Network()
    net.add_population("a", ts.Neurons(2, bias=[2.0, 1.5]))
    net.add_population("b", ts.Neurons(1, bias=0.1))
    net.connect_input("x", "a", [[1.0], [0.5]])
    net.connect("a", "b", [[0.6, 0.4]], kernel=ts.Exponential(0.5), delay=0.2)
    x = ts.FourierSignals.random_paper(1, n_components=3, period=5.0, seed=0)
    out = net.run(10.0, {"x": x}, record_times=[1.0, 2.0])
    net2 = _round(net)
    out2 = net2.run(10.0, {"x": x}, record_times=[1.0, 2.0])
    assert all(out2[k] == out[k] for k in out) and out2.keys() == out.keys()
    back = _round(out)
    assert isinstance(back, ts.RunResult) and all(back[k] == out[k] for k in out)
    assert back.stats == out.stats and np.array_equal(back.record_times, out.record_times)
    assert all(np.array_equal(back.traces[k], out.traces[k]) for k in out.traces)


def test_pickle_fit_result():
    rng = np.random.default_rng(0)
    W = rng.random((2, 3))
    nrn = ts.Neurons(2, bias=1.0)
    xs = [ts.FourierSignals.random_paper(3, 4, 10.0, seed=rng) for _ in range(2)]
    fit = ts.fit_layer([(x, ts.encode(x, W, nrn, 10.0)) for x in xs], nrn)
    back = _round(fit)
    assert isinstance(back, ts.FitResult)
    assert np.array_equal(back.weights, fit.weights) and back.report() == fit.report()


def test_connectivity_from_an_nwb_recording(tmp_path):
    """Issue 13: a recurrent population's spikes written to NWB by pynwb (times in seconds), read
    back through the interop layer and handed to fit_network: the weights come back to 1e-8."""
    pynwb = require("pynwb")
    from datetime import datetime, timezone
    rng = np.random.default_rng(2)
    n = 12
    W = rng.normal(0.0, 0.2, (n, n)) * (rng.random((n, n)) < 0.4)
    np.fill_diagonal(W, 0.0)
    nrn = ts.Neurons(n, kappa=1.0, delta=0.5, bias=rng.uniform(2.0, 3.0, n))
    net = ts.Network()
    net.add_population("p", nrn)
    net.connect("p", "p", W, delay=0.05)
    rec = net.run(30.0)["p"]                       # model time in ms
    nwb = pynwb.NWBFile(session_description="tem_sim", identifier="conn",
                        session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    nwb.units = interop.to_nwb_units(rec, time_scale=1e-3)
    path = tmp_path / "population.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        spikes = interop.from_nwb_units(io.read().units, time_scale=1e-3)
    assert spikes.count == rec.count
    fit = ts.fit_network(spikes, nrn, delay=0.05)
    assert fit.fit.identifiable.all()
    np.testing.assert_allclose(fit.recurrent, W, atol=1e-8, rtol=0)
