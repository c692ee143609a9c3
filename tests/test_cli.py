"""The ``tem-sim`` command line: demo, reproduce, bench discovery, simulate/train on files and bad input."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tem_sim as ts
from tem_sim import SpikeTrains
from tem_sim.cli import find_bench, main
from tem_sim.io import load_examples, load_fit, load_model, save_examples, save_fit, save_model


def test_demo_recovers_weights_within_1e6(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--seed", "0"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"max \|error\|: W1 (\S+), W2 (\S+?)\s", out)
    assert m, out
    assert float(m.group(1)) <= 1e-6 and float(m.group(2)) <= 1e-6
    assert "OK" in out
    assert (tmp_path / "demo.png").stat().st_size > 1000


def test_demo_quiet_prints_errors_only(tmp_path, capsys):
    assert main(["demo", "--quiet", "--out", str(tmp_path), "--seed", "3"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and out[0].startswith("max |error|")


def test_reproduce_fig1_quick_errors(tmp_path, capsys):
    assert main(["reproduce", "fig1", "--quick", "--quiet", "--out", str(tmp_path), "--seed", "0"]) == 0
    doc = json.loads((tmp_path / "fig1.json").read_text())
    assert doc["seed"] == 0 and doc["quick"] is True
    cells = {(r["examples"], r["duration"]): r for r in doc["rows"]}
    # identifiable from 3 examples on with enough spikes: exact spikes give tiny errors
    for key in [(3, 14), (5, 5), (5, 10), (5, 14), (9, 5), (9, 10), (9, 14)]:
        assert cells[key]["identifiable"], key
        assert cells[key]["error"] <= 1e-8, (key, cells[key]["error"])
    # 1-2 examples: cosine-only inputs span too few dimensions; reported, and bounded
    for e in (1, 2):
        for d in (5, 10, 14):
            assert not cells[(e, d)]["identifiable"]
            assert cells[(e, d)]["error"] < 10
    counts = doc["comparison"]["counts"]["identifiable"]
    assert counts["worse"] == 0 and counts["better"] == counts["cells"] >= 7
    assert (tmp_path / "fig1.csv").read_text().startswith("examples,duration")
    assert (tmp_path / "fig1.png").stat().st_size > 1000
    assert "identifiable cells" in capsys.readouterr().out


def test_reproduce_is_reproducible_and_jobs_independent(tmp_path):
    from tem_sim.reproduce import run_figure

    a = run_figure("fig1", quick=True, jobs=1, seed=7, progress=False)
    b = run_figure("fig1", quick=True, jobs=2, seed=7, progress=False)
    c = run_figure("fig1", quick=True, jobs=1, seed=8, progress=False)
    assert [r["error"] for r in a.rows] == [r["error"] for r in b.rows]
    assert [r["error"] for r in a.rows] != [r["error"] for r in c.rows]


@pytest.mark.parametrize("argv, needle", [
    (["reproduce", "fig5"], "invalid choice"),
    (["reproduce", "fig1", "--jobs", "-2"], "--jobs"),
    (["reproduce", "fig1", "--jobs", "0"], "--jobs"),
    (["reproduce", "fig1", "--seed", "x"], "--seed"),
    (["nope"], "invalid choice"),
])
def test_bad_input_one_line_nonzero(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0]


def test_unwritable_out_is_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["reproduce", "fig1", "--quick", "--quiet", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tem-sim: error:")


def test_bench_is_found_in_checkout():
    assert find_bench() is not None and find_bench().name == "run.py"


def test_python_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "tem_sim", "reproduce", "fig9"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- simulate / train on files
ROOT = Path(__file__).resolve().parents[1]
D = 20.0                                        # duration of every example
W_TRUE = np.random.default_rng(5).random((3, 2))


def _neurons():
    # perfect and leaky neurons, a non-default v0: every parameter must survive the files
    return ts.Neurons(3, kappa=[1.0, 0.5, 2.0], delta=1.0, bias=[1.0, 1.5, 2.0], tau=[np.inf, np.inf, 20.0],
                      v0=[-1.0, 0.2, -0.5])


def _inputs():
    return [ts.FourierSignals.random_paper(2, 10, 10.0, seed=s) for s in range(10, 14)]


@pytest.fixture
def models(tmp_path):
    """Four model files of the same 2-input, 3-output layer, one per input example."""
    paths = []
    for k, x in enumerate(_inputs()):
        p = tmp_path / f"model{k}.npz"
        save_model(p, _neurons(), W_TRUE, x, D)
        paths.append(p)
    return paths


def _one_line_error(capsys, needle):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("tem-sim: error:") and needle in err[0] and "Traceback" not in err[0], err[0]
    return err[0]


def _cli(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "tem_sim", *map(str, args)], capture_output=True, env=env, **kw)


def test_io_files_round_trip_every_parameter(tmp_path):
    assert {"save_model", "load_model", "save_examples", "load_examples", "save_fit", "load_fit"} <= set(ts.__all__)
    assert ts.load_model is load_model and ts.save_fit is save_fit
    nrn, xs = _neurons(), _inputs()
    save_model(tmp_path / "m", nrn, W_TRUE, xs[0], D)
    assert (tmp_path / "m").is_file() and not (tmp_path / "m.npz").exists()   # the exact name
    m = load_model(tmp_path / "m")
    assert m.neurons == nrn and m.signals == xs[0] and np.array_equal(m.weights, W_TRUE) and m.t_end == D
    ex = [(x, ts.encode(x, W_TRUE, nrn, D + k)) for k, x in enumerate(xs)]
    save_examples(tmp_path / "e.npz", nrn, ex)
    nrn2, ex2 = load_examples(tmp_path / "e.npz")
    assert nrn2 == nrn and len(ex2) == 4
    assert all(a == c and b == d for (a, b), (c, d) in zip(ex, ex2))
    fit = ts.fit_layer(ex, nrn)
    buf = io.BytesIO()
    save_fit(buf, fit)
    buf.seek(0)
    back = load_fit(buf)
    assert np.array_equal(back.weights, fit.weights) and back.info == fit.info


def test_io_writers_validate_before_writing(tmp_path):
    nrn, x = _neurons(), _inputs()[0]
    p = tmp_path / "m.npz"
    for args, name in [((nrn, np.ones((2, 2)), x, D), "weights"), ((nrn, W_TRUE, x, -1.0), "t_end"),
                       ((nrn, W_TRUE, x.coefficients, D), "signals"), (("nrn", W_TRUE, x, D), "neurons"),
                       ((nrn, np.where(W_TRUE > 0.5, np.nan, W_TRUE), x, D), "weights")]:
        with pytest.raises(ts.ValidationError) as exc:
            save_model(p, *args)
        assert exc.value.name == name
    with pytest.raises(ts.ValidationError) as exc:
        save_examples(p, nrn, [(x, ts.encode(x, W_TRUE[:2], nrn.subset(slice(0, 2)), D))])
    assert "n_neurons" in exc.value.name
    assert not p.exists()


def test_simulate_equals_encode_bit_for_bit(models, tmp_path, capsys):
    for k, (path, x) in enumerate(zip(models, _inputs())):
        out = tmp_path / f"spikes{k}"                       # no .npz: written under exactly this name
        assert main(["simulate", str(path), "-o", str(out)]) == 0
        got = SpikeTrains.load(out)                          # the SpikeTrains format itself
        want = ts.encode(x, W_TRUE, _neurons(), D)
        assert got.count > 40 and got == want
        assert np.array_equal(got.times, want.times) and np.array_equal(got.indices, want.indices)
    assert "spikes" in capsys.readouterr().out
    assert main(["simulate", str(models[0]), "-o", str(tmp_path / "short.npz"), "--t-end", "5", "--quiet"]) == 0
    assert SpikeTrains.load(tmp_path / "short.npz") == ts.encode(_inputs()[0], W_TRUE, _neurons(), 5.0)
    assert capsys.readouterr().out == ""


def test_simulate_then_train_recovers_weights(models, tmp_path, capsys):
    argv = ["train", "-o", str(tmp_path / "fit")]
    for k, m in enumerate(models):
        assert main(["simulate", str(m), "-o", str(tmp_path / f"s{k}.npz"), "--quiet"]) == 0
        argv += ["--example", str(m), str(tmp_path / f"s{k}.npz")]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "identifiable: 3 of 3 neurons" in out.out and out.err == ""
    fit = load_fit(tmp_path / "fit")
    assert np.abs(fit.weights - W_TRUE).max() <= 1e-8
    f = np.load(tmp_path / "fit")
    assert str(f["format"]) == "tem_sim.fit" and int(f["version"]) == 1
    assert f["identifiable"].tolist() == [True] * 3 and f["rank"].tolist() == [2] * 3
    for key in ("condition", "residual", "n_spikes", "status", "uncertainty"):
        assert f[key].shape == (3,), key


def test_train_examples_file_jobs_and_osqp(tmp_path, capsys):
    nrn = _neurons()
    save_examples(tmp_path / "ex.npz", nrn, [(x, ts.encode(x, W_TRUE, nrn, D)) for x in _inputs()])
    assert main(["train", str(tmp_path / "ex.npz"), "-o", str(tmp_path / "a.npz"), "--quiet"]) == 0
    assert main(["train", str(tmp_path / "ex.npz"), "-o", str(tmp_path / "b.npz"), "--quiet", "--jobs", "2"]) == 0
    assert main(["train", str(tmp_path / "ex.npz"), "-o", str(tmp_path / "c.npz"), "--quiet",
                 "--method", "osqp", "--inequalities"]) == 0
    assert capsys.readouterr().out == ""
    a, b, c = (load_fit(tmp_path / f"{n}.npz") for n in "abc")
    assert np.abs(a.weights - W_TRUE).max() <= 1e-8
    assert np.array_equal(a.weights, b.weights)                   # processes do not change the answer
    assert np.abs(c.weights - W_TRUE).max() <= 1e-8
    assert {d["method"] for d in c.info} == {"osqp"} and all(d["n_inequalities"] > 0 for d in c.info)


def test_train_warns_on_stderr_when_not_identifiable(models, tmp_path, capsys):
    assert main(["simulate", str(models[0]), "-o", str(tmp_path / "s.npz"), "--t-end", "2", "--quiet"]) == 0
    s = SpikeTrains.load(tmp_path / "s.npz")
    assert s.counts().min() < 2                                   # some neuron has < n_in rows
    assert main(["train", "--example", str(models[0]), str(tmp_path / "s.npz"), "-o", str(tmp_path / "f.npz"),
                 "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.out == ""
    err = out.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tem-sim: warning:") and "not identifiable" in err[0]
    fit = load_fit(tmp_path / "f.npz")
    assert not fit.identifiable.all()
    assert all(f"neuron {j} " in err[0] for j in np.flatnonzero(~fit.identifiable))


def test_pipeline_through_stdin_and_stdout(models, tmp_path):
    for k in (1, 2, 3):
        assert main(["simulate", str(models[k]), "-o", str(tmp_path / f"s{k}.npz"), "--quiet"]) == 0
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    sim = subprocess.Popen([sys.executable, "-m", "tem_sim", "simulate", str(models[0]), "-o", "-"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    train = [sys.executable, "-m", "tem_sim", "train", "--example", str(models[0]), "-", "-o", "-"]
    for k in (1, 2, 3):
        train += ["--example", str(models[k]), str(tmp_path / f"s{k}.npz")]
    r = subprocess.run(train, stdin=sim.stdout, capture_output=True, env=env)
    sim.stdout.close()
    assert sim.wait() == 0 and r.returncode == 0, r.stderr
    assert b"spikes" in sim.stderr.read()                         # messages go to stderr, stdout is the file
    sim.stderr.close()
    assert b"identifiable: 3 of 3" in r.stderr
    fit = load_fit(io.BytesIO(r.stdout))
    assert np.abs(fit.weights - W_TRUE).max() <= 1e-8
    # an examples file on stdin; spikes on stdout are the SpikeTrains format
    nrn = _neurons()
    save_examples(tmp_path / "ex.npz", nrn, [(x, ts.encode(x, W_TRUE, nrn, D)) for x in _inputs()])
    r = _cli(["train", "-", "-o", tmp_path / "fit.npz", "--quiet"], input=(tmp_path / "ex.npz").read_bytes())
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b""
    assert np.array_equal(load_fit(tmp_path / "fit.npz").weights, fit.weights)
    r = _cli(["simulate", "-", "-o", "-"], input=models[1].read_bytes())
    assert r.returncode == 0 and SpikeTrains.load(io.BytesIO(r.stdout)) == SpikeTrains.load(tmp_path / "s1.npz")


def test_pipeline_empty_stdin_is_one_line_error():
    r = _cli(["train", "-", "-o", "-"], input=b"")
    err = r.stderr.decode().strip().splitlines()
    assert r.returncode == 2 and r.stdout == b"" and len(err) == 1 and "<stdin>" in err[0], err


def _corrupt(path, **changes):
    data = dict(np.load(path))
    for k, v in changes.items():
        if v is None:
            del data[k]
        else:
            data[k] = v
    with open(path, "wb") as f:
        np.savez(f, **data)


MODEL_CORRUPTIONS = [
    ("weights", None, "weights", "no such key"),
    ("weights", np.ones((2, 3)), "weights", "shape (3, 2)"),
    ("weights", np.full((3, 2), np.nan), "weights", "finite"),
    ("kappa", np.array([1.0, np.nan, 1.0]), "kappa", "finite"),
    ("kappa", np.array([1.0, -1.0, 1.0]), "kappa", "> 0"),
    ("tau", np.array([np.nan, 1.0, 1.0]), "tau", "not NaN"),
    ("v0", np.array([5.0, 0.0, 0.0]), "v0[0]", "[-delta, delta)"),
    ("bias", np.ones(2), "bias", "shape (3)"),
    ("coefficients", np.ones((2, 4)), "coefficients", "odd number of columns"),
    ("coefficients", np.full((2, 3), np.nan), "coefficients", "finite"),
    ("period", np.float64(-1.0), "period", "> 0"),
    ("t_end", np.float64(np.nan), "t_end", "finite"),
    ("t_end", np.ones(2), "t_end", "a scalar"),
    ("version", np.int64(2), "version", "newer tem_sim"),
    ("version", None, "version", "no such key"),
    ("format", np.array("tem_sim.examples"), "format", "'tem_sim.model'"),
]


@pytest.mark.parametrize("key, value, name, needle", MODEL_CORRUPTIONS)
def test_load_model_names_the_bad_key(models, key, value, name, needle):
    _corrupt(models[0], **{key: value})
    with pytest.raises(ts.ValidationError) as exc:
        load_model(models[0])
    assert exc.value.name == name and needle in str(exc.value), str(exc.value)


@pytest.mark.parametrize("key, value, name, needle", [
    ("example1/times", None, "example1/times", "no such key"),
    ("example0/times", np.array([np.nan]), "example0/times", "finite"),
    ("example2/n_neurons", np.int64(4), "example2/n_neurons", "number of neurons, 3"),
    ("example3/coefficients", np.ones((3, 21)), "example3/coefficients", "2 inputs"),
    ("example0/format_version", np.int64(9), "example0/format_version", "newer tem_sim"),
    ("example1/period", None, "example1/period", "no such key"),
    ("n_examples", np.int64(5), "example4/coefficients", "no such key"),
    ("n_examples", np.int64(2), "n_examples", "example2"),
    ("n_examples", np.int64(0), "n_examples", ">= 1"),
    ("delta", np.zeros(3), "delta", "> 0"),
])
def test_load_examples_names_the_bad_key(tmp_path, key, value, name, needle):
    nrn = _neurons()
    save_examples(tmp_path / "ex.npz", nrn, [(x, ts.encode(x, W_TRUE, nrn, D)) for x in _inputs()])
    _corrupt(tmp_path / "ex.npz", **{key: value})
    with pytest.raises(ts.ValidationError) as exc:
        load_examples(tmp_path / "ex.npz")
    assert exc.value.name == name and needle in str(exc.value), str(exc.value)


def test_load_fit_names_the_bad_key(tmp_path):
    nrn = _neurons()
    fit = ts.fit_layer([(x, ts.encode(x, W_TRUE, nrn, D)) for x in _inputs()], nrn)
    for key, value, needle in [("rank", None, "no such key"), ("identifiable", np.ones(2, bool), "shape (3,)"),
                               ("weights", np.full((3, 2), np.nan), "finite"), ("format", None, "'tem_sim.fit'")]:
        save_fit(tmp_path / "fit.npz", fit)
        _corrupt(tmp_path / "fit.npz", **{key: value})
        with pytest.raises(ts.ValidationError) as exc:
            load_fit(tmp_path / "fit.npz")
        assert exc.value.name == key and needle in str(exc.value), str(exc.value)


def _bad_file(kind, tmp_path, good):
    """A bad input file; ``good`` is a valid file of the right kind to corrupt."""
    p = tmp_path / "bad.npz"
    if kind == "missing":
        return tmp_path / "nope.npz"
    if kind == "folder":
        return tmp_path
    if kind == "text":
        p.write_text("kappa,delta\n1,1\n")
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "npy":
        np.save(open(p, "wb"), np.ones(3))
    elif kind == "truncated zip":
        p.write_bytes(good.read_bytes()[:200])
    elif kind == "spike file":
        ts.encode(_inputs()[0], W_TRUE, _neurons(), D).save(open(p, "wb"))
    elif kind == "NaN kappa":
        p.write_bytes(good.read_bytes())
        _corrupt(p, kappa=np.array([np.nan, 1.0, 1.0]))
    elif kind == "version 2":
        p.write_bytes(good.read_bytes())
        _corrupt(p, version=np.int64(2))
    return p


BAD_FILES = [("missing", "No such file"), ("folder", "readable file"), ("text", ".npz archive"),
             ("empty", "empty file"), ("npy", "single .npy"), ("truncated zip", ".npz archive"),
             ("spike file", "format"), ("NaN kappa", "kappa"), ("version 2", "version")]


@pytest.mark.parametrize("kind, needle", BAD_FILES)
@pytest.mark.parametrize("command", ["simulate", "train"])
def test_bad_input_file_is_one_line_error(command, kind, needle, models, tmp_path, capsys):
    good = models[0]
    if command == "train":
        good = tmp_path / "ex.npz"
        nrn = _neurons()
        save_examples(good, nrn, [(x, ts.encode(x, W_TRUE, nrn, D)) for x in _inputs()])
    bad = _bad_file(kind, tmp_path, good)
    out = tmp_path / "out.npz"
    argv = [command, str(bad), "-o", str(out)]
    assert main(argv) == 2
    line = _one_line_error(capsys, needle)
    assert not out.exists()
    if kind in ("NaN kappa", "version 2"):
        assert str(bad) in line                                   # the file is named with the key


@pytest.mark.parametrize("argv, needle", [
    (["simulate", "m.npz", "-o", "s.npz", "--bogus"], "unrecognized arguments"),
    (["simulate", "m.npz"], "-o/--output"),
    (["simulate", "m.npz", "-o", "s.npz", "--t-end", "-3"], "--t-end"),
    (["simulate", "m.npz", "-o", "s.npz", "--t-end", "nan"], "--t-end"),
    (["simulate", "m.npz", "-o", "s.npz", "--max-spikes", "0"], "--max-spikes"),
    (["train", "e.npz", "-o", "w.npz", "--jobs", "-1"], "--jobs"),
    (["train", "e.npz", "-o", "w.npz", "--jobs", "0"], "--jobs"),
    (["train", "e.npz", "-o", "w.npz", "--method", "svd"], "invalid choice"),
    (["train", "--example", "m.npz", "-o", "w.npz"], "--example"),
    (["train", "e.npz", "-o", "w.npz", "--ridge", "1"], "unrecognized arguments"),
])
def test_bad_simulate_train_options_one_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0], err


@pytest.mark.parametrize("kind, needle", [k for k in BAD_FILES if k[0] in ("missing", "text", "empty", "npy",
                                                                           "truncated zip")])
def test_bad_spike_file_of_an_example_is_one_line_error(kind, needle, models, tmp_path, capsys):
    """``train --example MODEL SPIKES``: the spike file goes through the same checked reader as
    model and examples files (an empty or truncated spike file gave a traceback)."""
    good = tmp_path / "good_s.npz"
    assert main(["simulate", str(models[0]), "-o", str(good), "--quiet"]) == 0
    bad = _bad_file(kind, tmp_path, good)
    out = tmp_path / "out.npz"
    assert main(["train", "--example", str(models[0]), str(bad), "-o", str(out)]) == 2
    _one_line_error(capsys, needle)
    assert not out.exists()


def test_bad_simulate_train_combinations_one_line(models, tmp_path, capsys):
    out = tmp_path / "out.npz"
    other = tmp_path / "other.npz"
    save_model(other, ts.Neurons(3, bias=2.0), W_TRUE, _inputs()[0], D)
    assert main(["simulate", str(other), "-o", str(tmp_path / "other_s.npz"), "--quiet"]) == 0
    few = tmp_path / "few.npz"
    save_model(few, ts.Neurons(2, bias=1.0), W_TRUE[:2], _inputs()[0], D)
    assert main(["simulate", str(few), "-o", str(tmp_path / "few_s.npz"), "--quiet"]) == 0
    cases = [
        (["train", "-o", str(out)], "EXAMPLES.npz"),
        (["train", "--example", "-", "-", "-o", str(out)], "stdin"),
        (["train", "--example", str(models[0]), str(tmp_path / "other_s.npz"), "--method", "lstsq",
          "--inequalities", "-o", str(out)], "--inequalities"),
        (["train", "--example", str(models[0]), str(tmp_path / "other_s.npz"),
          "--example", str(other), str(tmp_path / "other_s.npz"), "-o", str(out)], "neurons of"),
        (["train", "--example", str(models[0]), str(tmp_path / "few_s.npz"), "-o", str(out)], "n_neurons"),
        (["train", "--example", str(models[0]), str(models[1]), "-o", str(out)], "spike file"),
        (["simulate", str(models[0]), "-o", str(tmp_path / "no" / "such" / "s.npz")], "does not exist"),
        (["simulate", str(models[0]), "-o", str(tmp_path)], "not a folder"),
        (["simulate", str(models[0]), "-o", str(out), "--max-spikes", "3"], "max_spikes"),
    ]
    for argv, needle in cases:
        assert main(argv) == 2, argv
        _one_line_error(capsys, needle)
        assert not out.exists(), argv
