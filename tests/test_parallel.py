"""Training on executors (issue 7): the same weights bit for bit everywhere, and Ctrl-C ends a parallel fit.

The 1000 x 1000 layer on a Dask LocalCluster is in ``bench/bench_fit_scaling.py``
(about a minute of computing per run); here a 300-input layer exercises the
same large-layer path (normal equations, above ``SVD_MAX_INPUTS``) and a
20-input one the SVD path, on a real two-process Dask cluster.
"""
from __future__ import annotations

import os
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import tem_sim as ts
from tem_sim.training import SVD_MAX_INPUTS

from oracle import interrupt_after


def layer(n_out: int, n_in: int, n_examples: int, seed: int = 0):
    """Perfect neurons, the paper's inputs (10 components, period 10), weights U[0,1) * 20 / n_in, D = 10."""
    rng = np.random.default_rng(seed)
    W = rng.random((n_out, n_in)) * 20.0 / n_in
    nrn = ts.Neurons(n_out, kappa=1.0, delta=1.0, bias=1.0)
    ex = []
    for _ in range(n_examples):
        x = ts.FourierSignals.random_paper(n_in, 10, 10.0, seed=rng)
        ex.append((x, ts.encode(x, W, nrn, 10.0)))
    return ex, nrn, W


@pytest.fixture(scope="module")
def large():
    assert 300 > SVD_MAX_INPUTS
    return layer(7, 300, 60, seed=1)


@pytest.fixture(scope="module")
def small():
    return layer(5, 20, 5, seed=2)


def _same(a: ts.FitResult, b: ts.FitResult) -> None:
    assert np.array_equal(a.weights, b.weights)
    for key in ("rank", "condition", "residual", "uncertainty", "identifiable"):
        assert [d[key] for d in a.info] == [d[key] for d in b.info], key


def test_dask_process_cluster_and_process_pool_match_serial_bitwise(large, small):
    distributed = pytest.importorskip("distributed")
    problems = [(large, {}), (small, {}), (small, {"row_weights": "jitter"})]
    serial = []
    for (ex, nrn, W), kw in problems:
        fit = ts.fit_layer(ex, nrn, chunk_size=3, **kw)
        assert fit.identifiable.all() and np.abs(fit.weights - W).max() < 1e-10
        serial.append(fit)
    with ProcessPoolExecutor(2) as pool:
        for ((ex, nrn, _), kw), ref in zip(problems, serial):
            _same(ts.fit_layer(ex, nrn, chunk_size=3, executor=pool, **kw), ref)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        for ((ex, nrn, _), kw), ref in zip(problems, serial):
            _same(ts.fit_layer(ex, nrn, chunk_size=3, executor=client.get_executor(), **kw), ref)


def test_results_do_not_depend_on_chunking(large):
    ex, nrn, _ = large
    a = ts.fit_layer(ex, nrn, chunk_size=1)
    b = ts.fit_layer(ex, nrn, chunk_size=7)
    _same(a, b)


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of the processes whose parent is ``pid`` (zombies included), from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(d), fields[0]))
    return out


CTRL_C_CODE = textwrap.dedent("""
    import os, sys, warnings
    from concurrent.futures import ProcessPoolExecutor
    import numpy as np
    import tem_sim as ts
    sys.path.insert(0, {tests!r})
    from test_parallel import _children

    rng = np.random.default_rng(0)
    n_in, n_out = 300, 480
    W = rng.random((n_out, n_in)) * 20.0 / n_in
    nrn = ts.Neurons(n_out, kappa=1.0, delta=1.0, bias=1.0)
    x = ts.FourierSignals.random_paper(n_in, 10, 10.0, seed=rng)
    # one example repeated: rank deficient, so every neuron takes the SVD fallback (about 0.1 s each,
    # a minute in all on two cores)
    ex = [(x, ts.encode(x, W, nrn, 10.0))] * 400
    workers = []
    try:
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(abs, range(2)))
            workers = [p.pid for p in pool._processes.values()]
            print("ready", flush=True)
            ts.fit_layer(ex, nrn, executor=pool, chunk_size={chunk_size}, warn=False)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        print("workers", *workers, flush=True)
        print("children", *[f"{{p}}:{{s}}" for p, s in _children(os.getpid())], flush=True)
        sys.exit(3)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("chunk_size", [1, 240], ids=["pending-chunks-cancelled", "running-chunks-ended"])
def test_ctrl_c_during_a_parallel_fit_returns_promptly_without_leftover_processes(chunk_size):
    # chunk_size 1: 480 short tasks, the pending ones must be cancelled (the pool's shutdown would
    # otherwise run them all); 240: two chunks of about 30 s each, the running ones must be ended
    code = CTRL_C_CODE.format(tests=os.path.dirname(os.path.abspath(__file__)), chunk_size=chunk_size)
    elapsed, out, err, rc = interrupt_after(code, wait=2.0, stderr=True,   # the workers are busy
                                            env=dict(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                                                     MKL_NUM_THREADS="1"))
    lines = dict(ln.split(" ", 1) if " " in ln else (ln, "") for ln in out.splitlines())
    assert rc == 3 and "interrupted" in lines, out + err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    # a quiet machine: well under a second; allow for a heavily loaded one
    assert elapsed < 20.0, f"took {elapsed:.1f} s to stop"
    workers = [int(p) for p in lines["workers"].split()]
    assert len(workers) == 2
    assert lines["children"].strip() == "", f"child processes left after Ctrl-C: {lines['children']}"
    for pid in workers:                              # not running on as orphans either
        assert not os.path.exists(f"/proc/{pid}"), f"worker {pid} still exists"
