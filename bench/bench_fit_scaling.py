"""Training at scale (issues 4 and 7): fit_layer's time, peak memory and weight error beside one dense system.

Layers of ``n_out x n_in`` weights learned from spikes that ``tem_sim.encode``
simulates: perfect neurons (``kappa = delta = bias = 1``), the paper's inputs
(``FourierSignals.random_paper(n_in, 10, 10.0)``: cosine-only, 10 components,
so one example spans 10 dimensions), duration 10 (one period), weights
``U[0, 1) * 20 / n_in`` (the paper's ``U[0, 1)`` at ``n_in = 20``; the scaling
keeps the drive, hence about 30 spikes per neuron and example, the same at
every size), and about ``2 n_in / 10`` examples (twice the minimum for
identifiability: 5 for the paper's 20 inputs, 200 for 1000).

Every configuration runs in a fresh subprocess, so its peak resident memory
(``ru_maxrss``; worker processes included through ``RUSAGE_CHILDREN``) is its
own; the spikes are simulated once, saved, and loaded by each subprocess
(the memory of loading them alone is in the notes). BLAS runs one thread per
process (``OPENBLAS/OMP/MKL_NUM_THREADS=1``), so "2 workers" means two
processes on the machine's two cores.

* tem_sim: ``fit_layer(examples, neurons)`` (serial, then on a
  ``ProcessPoolExecutor(2)`` and on a Dask ``LocalCluster(n_workers=2,
  threads_per_worker=1, processes=True)`` through ``Client.get_executor()``;
  the parallel weights are compared with the serial ones bit for bit).
* Baseline (the paper's code): all neurons' rows in one dense block-diagonal
  ``(sum of rows) x (n_out n_in)`` matrix solved by ``numpy.linalg.lstsq``.
  It runs under an address-space limit (``RLIMIT_AS``, :data:`BASELINE_LIMIT`)
  so that it fails with ``MemoryError`` instead of exhausting the machine; the
  memory its matrix alone needs is computed up front and reported.
* Scaling (1000 x 1000 layer): its first 200 neurons serially and on two
  workers, alternated three times (best of each: other jobs come and go on
  this machine), and the first 250 and 500 neurons serially (best of two).
  CPU seconds per neuron (workers included) and cores used are in the notes:
  equal CPU per neuron serially and in workers means linear scaling, and the
  wall-clock speed-up is then bounded by the cores other jobs leave free.
* Where the normal equations decline (ridge; a condition above 1e6, here the
  1000 x 1000 layer's first 130 examples only): the default path (Householder
  QR) beside the SVD these cases used to fall back to, on its first neurons.
* The previous fit_layer path (dense rows per neuron, LAPACK ``gelsd``, then a
  QR for the rounding uncertainty), timed on a few neurons of the 1000 x 1000
  layer and extrapolated, and where the new path's time goes (cProfile).

Run from the repository root: ``python bench/run.py --only fit_scaling``
(``--quick``: the small sizes only), or ``python bench/bench_fit_scaling.py [--quick]``.
"""
from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: (label, n_out, n_in, examples)
CONFIGS = [("20x5", 20, 5, 3), ("5x20 (paper)", 5, 20, 5), ("100x100", 100, 100, 20),
           ("1000x1000", 1000, 1000, 200)]
QUICK = ("20x5", "5x20 (paper)", "100x100")
N_COMP, PERIOD, DURATION, SEED = 10, 10.0, 10.0, 4
#: Address-space limit of the dense baseline's process.
BASELINE_LIMIT = 6 * 2**30
SUBSETS = (250, 500)              # n_out subsets of the 1000 x 1000 layer: scaling with n_out
WORKER_SUBSET, WORKER_REPEATS = 200, 3      # scaling with workers: alternated runs on a subset
PREVIOUS_NEURONS = 4              # neurons timed on the previous per-neuron path
TIMEOUT = 1800


# --------------------------------------------------------------------------- data

def make_data(n_out: int, n_in: int, n_ex: int, path: Path) -> dict:
    """Simulate the layer's spikes and save weights, input coefficients and spikes to ``path``."""
    import tem_sim as ts

    rng = np.random.default_rng([SEED, n_out, n_in])
    W = rng.random((n_out, n_in)) * 20.0 / n_in
    nrn = ts.Neurons(n_out, kappa=1.0, delta=1.0, bias=1.0)
    coef, times, idx, off = [], [], [], [0]
    t0 = time.perf_counter()
    for _ in range(n_ex):
        x = ts.FourierSignals.random_paper(n_in, N_COMP, PERIOD, seed=rng)
        st = ts.encode(x, W, nrn, DURATION)
        coef.append(x.one_sided.real)
        times.append(st.times)
        idx.append(st.indices)
        off.append(off[-1] + st.count)
    np.savez(path, W=W, coef=np.array(coef), times=np.concatenate(times), idx=np.concatenate(idx),
             off=np.array(off))
    return {"encode_s": time.perf_counter() - t0, "spikes": int(off[-1])}


def load_data(path: str, n_sub: int | None = None):
    """Examples, neurons and true weights from a saved layer (optionally its first ``n_sub`` neurons)."""
    import tem_sim as ts

    d = np.load(path)
    W = d["W"] if n_sub is None else d["W"][:n_sub]
    n_out = W.shape[0]
    nrn = ts.Neurons(n_out, kappa=1.0, delta=1.0, bias=1.0)
    ex = []
    off = d["off"]
    times, idx = d["times"], d["idx"]
    for e, c in enumerate(d["coef"]):
        t, i = times[off[e]:off[e + 1]], idx[off[e]:off[e + 1]]
        m = i < n_out
        ex.append((ts.FourierSignals.from_one_sided(c, PERIOD),
                   ts.SpikeTrains(t[m], i[m], n_out, 0.0, DURATION, sort=False)))
    return ex, nrn, W


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and of its finished children."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _peak_mib() -> tuple[float, float]:
    """Peak resident memory (MiB) of this process and of its largest finished child."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ch = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return me, ch


# --------------------------------------------------------------------------- subprocess jobs

def job_load(args: dict) -> dict:
    load_data(args["data"], args.get("n_sub"))
    me, _ = _peak_mib()
    return {"peak_mib": me}


def job_fit(args: dict) -> dict:
    """fit_layer serially, on a process pool or on a Dask LocalCluster; weights saved to args['out']."""
    import warnings

    from tem_sim import IdentifiabilityWarning, fit_layer

    ex, nrn, W = load_data(args["data"], args.get("n_sub"))
    kind, workers = args.get("executor", "serial"), int(args.get("workers", 2))
    extra = {"load_1min": os.getloadavg()[0]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        cpu0 = _cpu_s()
        if kind == "serial":
            t0 = time.perf_counter()
            fit = fit_layer(ex, nrn)
            wall = time.perf_counter() - t0
        elif kind == "pool":
            from concurrent.futures import ProcessPoolExecutor
            with ProcessPoolExecutor(workers) as pool:
                list(pool.map(abs, range(workers)))            # workers started before timing
                t0 = time.perf_counter()
                fit = fit_layer(ex, nrn, executor=pool)
                wall = time.perf_counter() - t0
        elif kind == "dask":
            import distributed
            t0 = time.perf_counter()
            with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                          dashboard_address=None) as cluster, \
                    distributed.Client(cluster) as client:
                extra["startup_s"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                fit = fit_layer(ex, nrn, executor=client.get_executor())
                wall = time.perf_counter() - t0
        else:
            raise ValueError(kind)
        extra["cpu_s"] = _cpu_s() - cpu0          # workers included once they have exited
    if args.get("out"):
        np.save(args["out"], fit.weights)
    me, ch = _peak_mib()
    cond = fit.condition
    return {"wall_s": wall, "error_fro": float(np.linalg.norm(fit.weights - W)),
            "error_max": float(np.abs(fit.weights - W).max()), "identifiable": int(fit.identifiable.sum()),
            "n_out": int(W.shape[0]), "max_condition": float(cond.max()),
            "rows": int(sum(d["n_rows"] for d in fit.info)), "peak_mib": me, "children_peak_mib": ch, **extra}


def job_baseline(args: dict) -> dict:
    """The paper's dense block-diagonal least squares, under an address-space limit."""
    resource.setrlimit(resource.RLIMIT_AS, (int(args["limit"]), int(args["limit"])))
    from tem_sim.constraints import layer_rows

    ex, nrn, W = load_data(args["data"])
    n_out, n_in = W.shape
    K = int(sum(st.count for _, st in ex))            # one row per spike (no repeated spike instants)
    out = {"rows": K, "need_gib": K * n_out * n_in * 8 / 2**30}
    stage = "allocating the dense matrix"
    t0 = time.perf_counter()
    try:
        A = np.zeros((K, n_out * n_in))
        b = np.empty(K)
        stage = "building the rows"
        k = 0
        for j0 in range(0, n_out, 16):
            for q, R in enumerate(layer_rows(ex, nrn, neuron_indices=np.arange(j0, min(j0 + 16, n_out)))):
                j = j0 + q
                A[k:k + R.n_rows, j * n_in:(j + 1) * n_in] = R.A
                b[k:k + R.n_rows] = R.r
                k += R.n_rows
        A, b = A[:k], b[:k]
        stage = "numpy.linalg.lstsq"
        w = np.linalg.lstsq(A, b, rcond=None)[0]
    except MemoryError as exc:
        me, _ = _peak_mib()
        out.update(failed=f"MemoryError while {stage} ({exc})"[:200], wall_s=time.perf_counter() - t0,
                   peak_mib=me)
        return out
    wall = time.perf_counter() - t0
    Wh = w.reshape(n_out, n_in)
    me, _ = _peak_mib()
    out.update(wall_s=wall, error_fro=float(np.linalg.norm(Wh - W)), peak_mib=me)
    return out


def job_previous(args: dict) -> dict:
    """The previous fit_layer path, per neuron: dense rows, gelsd (solve, rank, condition), QR uncertainty."""
    from tem_sim.constraints import layer_rows
    from tem_sim.solvers import solve_lstsq
    from tem_sim.training import rounding_uncertainty, row_rounding_errors

    ex, nrn, W = load_data(args["data"])
    k = int(args["neurons"])
    chunk = math.ceil(W.shape[0] / 16)                # the previous default chunk: its rows built at once
    t0 = time.perf_counter()
    rows = layer_rows(ex, nrn, neuron_indices=np.arange(k))
    t_rows = (time.perf_counter() - t0) / k
    t_solve = t_unc = 0.0
    err = 0.0
    for j, R in enumerate(rows):
        t0 = time.perf_counter()
        w, _ = solve_lstsq(R.A, R.r)
        t_solve += time.perf_counter() - t0
        t0 = time.perf_counter()
        rounding_uncertainty(R.A, row_rounding_errors(R, 1.0))
        t_unc += time.perf_counter() - t0
        err = max(err, float(np.abs(w - W[j]).max()))
    me, _ = _peak_mib()
    return {"rows_s": t_rows, "solve_s": t_solve / k, "uncertainty_s": t_unc / k, "error_max": err,
            "rows_per_neuron": int(rows[0].n_rows), "n_in": int(W.shape[1]), "chunk_rows_gib": chunk * rows[0].A.nbytes / 2**30,
            "peak_mib": me}


def job_profile(args: dict) -> dict:
    """Where the new path's time goes: cProfile of a serial fit of the first ``n_sub`` neurons."""
    import cProfile
    import pstats

    from scipy.linalg import lapack

    import tem_sim.training as training
    from tem_sim import fit_layer

    ex, nrn, W = load_data(args["data"], args.get("n_sub"))
    seen = []
    chol = training.cholesky_solve

    def spy(Y, c, **kw):                              # keep one neuron's compressed system
        if not seen:
            seen.append(Y)
        return chol(Y, c, **kw)

    training.cholesky_solve = spy
    pr = cProfile.Profile()
    t0 = time.perf_counter()
    pr.enable()
    fit_layer(ex, nrn, chunk_size=W.shape[0])
    pr.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(pr).stats
    wanted = ("_chunk_rows", "_compress", "spy", "_lanczos_max", "_fit_chunk_analog", "svd_solve")
    cum = dict.fromkeys(wanted, 0.0)
    for (_, _, name), (_, _, _, ct, _) in st.items():
        if name in cum:
            cum[name] += ct
    parts = dict(cum)
    parts["cholesky_solve"] = parts.pop("spy")
    gram = potrf = float("nan")
    if seen:                                          # the BLAS-3 floor: Gram matrix and its Cholesky factor
        Y = seen[0]
        gram = min(_timed(lambda: Y.T @ Y) for _ in range(5))
        G = Y.T @ Y
        potrf = min(_timed(lambda: lapack.dpotrf(G, lower=False, clean=True)) for _ in range(5))
    return {"wall_s": wall, "n_out": int(W.shape[0]), "gram_s": gram, "potrf_s": potrf,
            "rows_shape": list(seen[0].shape) if seen else None, **parts}


#: examples of the 1000 x 1000 layer that leave each neuron's condition at 3e7-5e7: above the
#: normal equations' limit (1e6), below the rank decision's (1e8)
ILL_EXAMPLES = 130


def job_options(args: dict) -> dict:
    """Where the normal equations decline -- ridge, or a condition above 1e6 (here: only
    ``ILL_EXAMPLES`` examples) -- the default path (Householder QR) beside the SVD these cases
    used to fall back to, on the first ``neurons`` neurons."""
    import tem_sim.training as training
    from tem_sim import fit_layer

    ex, nrn, W = load_data(args["data"], int(args["neurons"]))
    out = {"n_out": int(W.shape[0])}
    for name, exs, kw in (("ridge", ex, dict(ridge=1e-9)), ("ill", ex[:ILL_EXAMPLES], {})):
        t0 = time.perf_counter()
        fast = fit_layer(exs, nrn, warn=False, **kw)
        t_fast = time.perf_counter() - t0
        limit, training.SVD_MAX_INPUTS = training.SVD_MAX_INPUTS, 10**9
        t0 = time.perf_counter()
        svd = fit_layer(exs, nrn, warn=False, **kw)
        t_svd = time.perf_counter() - t0
        training.SVD_MAX_INPUTS = limit
        out[name] = {"fast_s": t_fast, "svd_s": t_svd, "max_diff": float(np.abs(fast.weights - svd.weights).max()),
                     "error_max": float(np.abs(fast.weights - W).max()),
                     "condition": [float(c) for c in fast.condition]}
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


JOBS = {"load": job_load, "fit": job_fit, "baseline": job_baseline, "previous": job_previous,
        "profile": job_profile, "options": job_options}


def _spawn(job: str, **args) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--job", job, json.dumps(args)],
                          capture_output=True, text=True, env=env, timeout=TIMEOUT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"failed": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- rows

def _row(benchmark, unit, ours, base_name, base, notes):
    from common import row
    ratio = base / ours if (ours and base is not None and ours > 0) else None
    return row(benchmark, unit, ours, base_name, base, ratio, notes)


def run(quick: bool, peers: bool) -> list[dict]:
    """Rows for bench/run.py (see the module docstring)."""
    tmp = Path(tempfile.mkdtemp(prefix="tem_fit_scaling_"))
    rows: list[dict] = []
    try:
        for label, n_out, n_in, n_ex in CONFIGS:
            if quick and label not in QUICK:
                continue
            data = tmp / f"{n_out}x{n_in}.npz"
            gen = make_data(n_out, n_in, n_ex, data)
            ref = _spawn("load", data=str(data))
            ser = _spawn("fit", data=str(data), executor="serial", out=str(tmp / "serial.npy"))
            base = _spawn("baseline", data=str(data), limit=BASELINE_LIMIT)
            size = (f"{n_out}x{n_in} layer, {n_ex} examples, {gen['spikes']:,} spikes "
                    f"(encode {gen['encode_s']:.1f} s)")
            if "failed" in ser:
                rows.append(_row(f"fit {label}: FAILED", "s", None, None, None, ser["failed"]))
                continue
            bfail = base.get("failed")
            bname = "dense block-diagonal lstsq"
            need = base.get("need_gib")
            bnote = (f"baseline failed: {bfail}; its dense matrix alone needs {need:.3g} GiB "
                     f"(limit {BASELINE_LIMIT / 2**30:.0f} GiB address space)" if bfail else
                     f"baseline matrix {base['rows']:,} x {n_out * n_in:,} ({need:.3g} GiB)")
            rows.append(_row(f"fit {label}: time", "s", ser["wall_s"], bname,
                             None if bfail else base["wall_s"],
                             f"{size}; serial, 1 BLAS thread; {ser['identifiable']}/{n_out} neurons "
                             f"identifiable, max condition {ser['max_condition']:.3g}; {bnote}"))
            rows.append(_row(f"fit {label}: peak memory", "MiB", ser["peak_mib"], bname,
                             base.get("peak_mib") if not bfail else None,
                             f"fresh subprocess each (ru_maxrss); loading the data alone: "
                             f"{ref.get('peak_mib', float('nan')):.0f} MiB"
                             + (f"; baseline reached {base.get('peak_mib', float('nan')):.0f} MiB before "
                                f"failing, would need {need:.3g} GiB for its matrix alone" if bfail else "")))
            rows.append(_row(f"fit {label}: ||W_hat - W||_F", "", ser["error_fro"], bname,
                             None if bfail else base["error_fro"],
                             f"max |W_hat - W| {ser['error_max']:.1e}" + ("; baseline did not run" if bfail else "")))
            if n_out >= 1000:
                rows += _large_rows(label, data, tmp, ser)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _cpu_note(ser: dict, par: dict) -> str:
    """CPU time per neuron and cores used: equal CPU per neuron means linear scaling in workers
    (the wall-clock speed-up is then bounded by the cores other jobs leave free)."""
    n = ser["n_out"]
    return (f"CPU per neuron {ser['cpu_s'] / n * 1e3:.0f} ms serial, {par['cpu_s'] / n * 1e3:.0f} ms here "
            f"(worker start-up included); "
            f"cores used {ser['cpu_s'] / ser['wall_s']:.2f} serial, {par['cpu_s'] / par['wall_s']:.2f} here; "
            f"load average at start {ser['load_1min']:.2f} / {par['load_1min']:.2f}")


def _large_rows(label: str, data: Path, tmp: Path, ser: dict) -> list[dict]:
    out = []
    w_ser = np.load(tmp / "serial.npy")
    pool = _spawn("fit", data=str(data), executor="pool", workers=2, out=str(tmp / "pool.npy"))
    if "failed" not in pool:
        d = float(np.abs(np.load(tmp / "pool.npy") - w_ser).max())
        out.append(_row(f"fit {label}: 2 worker processes", "s", pool["wall_s"], "serial (1 process)",
                        ser["wall_s"], f"ProcessPoolExecutor(2); max |W_pool - W_serial| = {d:.3g}; peak "
                        f"memory {pool['peak_mib']:.0f} MiB main, {pool['children_peak_mib']:.0f} MiB per worker; "
                        + _cpu_note(ser, pool)))
    else:
        out.append(_row(f"fit {label}: 2 worker processes FAILED", "s", None, None, None, pool["failed"]))
    dask = _spawn("fit", data=str(data), executor="dask", workers=2, out=str(tmp / "dask.npy"))
    if "failed" not in dask:
        d = float(np.abs(np.load(tmp / "dask.npy") - w_ser).max())
        out.append(_row(f"fit {label}: Dask LocalCluster, 2 workers", "s", dask["wall_s"], "serial (1 process)",
                        ser["wall_s"], f"LocalCluster(n_workers=2, threads_per_worker=1, processes=True), "
                        f"Client.get_executor(); max |W_dask - W_serial| = {d:.3g}; cluster start-up "
                        f"{dask.get('startup_s', float('nan')):.1f} s (not timed); " + _cpu_note(ser, dask)))
    else:
        out.append(_row(f"fit {label}: Dask FAILED", "s", None, None, None, dask["failed"]))
    # workers: serial and 2 processes alternated on a subset, best of each (other jobs come and go)
    walls: dict[str, list[float]] = {"serial": [], "pool": []}
    for _ in range(WORKER_REPEATS):
        for kind in walls:
            r = _spawn("fit", data=str(data), executor=kind, workers=2, n_sub=WORKER_SUBSET)
            if "failed" not in r:
                walls[kind].append(r["wall_s"])
    if walls["serial"] and walls["pool"]:
        bs, bp = min(walls["serial"]), min(walls["pool"])
        out.append(_row(f"fit {label}, first {WORKER_SUBSET} neurons: 2 workers, best of {WORKER_REPEATS}", "s", bp,
                        "1 process, best of the same", bs,
                        "runs alternated, serial " + ", ".join(f"{t:.1f}" for t in walls["serial"]) + " s; 2 workers "
                        + ", ".join(f"{t:.1f}" for t in walls["pool"]) + " s (ratio 2: linear in workers)"))
    per = []
    for n_sub in SUBSETS:
        rs = [_spawn("fit", data=str(data), executor="serial", n_sub=n_sub) for _ in range(2)]
        ts = [r["wall_s"] for r in rs if "failed" not in r]
        if ts:
            per.append((n_sub, min(ts)))
    per.append((ser["n_out"], ser["wall_s"]))
    out.append(_row(f"fit {label}: time per neuron, n_out = {per[0][0]}", "s", per[0][1] / per[0][0],
                    f"time per neuron, n_out = {per[-1][0]}", per[-1][1] / per[-1][0],
                    "serial (best of 2 below 1000); n_out "
                    + ", ".join(f"{n}: {t:.1f} s ({t / n * 1e3:.0f} ms/neuron)" for n, t in per)
                    + " (ratio 1: linear in n_out)"))
    prev = _spawn("previous", data=str(data), neurons=PREVIOUS_NEURONS)
    if "failed" not in prev:
        tot = (prev["rows_s"] + prev["solve_s"] + prev["uncertainty_s"]) * ser["n_out"]
        out.append(_row(f"fit {label}: previous per-neuron dense path (extrapolated)", "s", ser["wall_s"],
                        "previous fit_layer path", tot,
                        f"measured on {PREVIOUS_NEURONS} neurons, per neuron: rows {prev['rows_s']:.2f} s "
                        f"({prev['rows_per_neuron']} x {prev['n_in']} dense), gelsd solve + rank/condition "
                        f"{prev['solve_s']:.2f} s, QR rounding uncertainty {prev['uncertainty_s']:.2f} s; "
                        f"a default chunk's rows: {prev['chunk_rows_gib']:.1f} GiB"))
    opt = _spawn("options", data=str(data), neurons=PREVIOUS_NEURONS)
    if "failed" not in opt:
        n = opt["n_out"]
        for name, what in (("ridge", "ridge=1e-9"), ("ill", f"{ILL_EXAMPLES} examples")):
            o = opt[name]
            out.append(_row(f"fit {label}, {what}: time per neuron", "s", o["fast_s"] / n,
                            "the SVD (the previous path for this option)", o["svd_s"] / n,
                            f"first {n} neurons; Householder QR where the Cholesky path declines; "
                            f"max |W_qr - W_svd| = {o['max_diff']:.2g}, max |W_hat - W| = {o['error_max']:.2g}, "
                            f"conditions " + ", ".join(f"{c:.2g}" for c in o["condition"])))
    prof = _spawn("profile", data=str(data), n_sub=64)
    if "failed" not in prof:
        n = prof["n_out"]
        lanc = prof["_lanczos_max"]
        chol = prof["cholesky_solve"] - lanc
        out.append(_row(f"fit {label}: where the time goes (ms per neuron)", "ms", prof["wall_s"] / n * 1e3,
                        None, None,
                        f"cProfile of a serial fit of {n} neurons: rows in factored form "
                        f"{prof['_chunk_rows'] / n * 1e3:.1f}, per-example QR compression + GEMM "
                        f"{prof['_compress'] / n * 1e3:.1f}, normal equations (Gram, Cholesky, refinement, "
                        f"uncertainty probes) {chol / n * 1e3:.1f} -- of which the Gram matrix Y'Y of the "
                        f"{prof['rows_shape'][0]} x {prof['rows_shape'][1]} compressed rows "
                        f"{prof['gram_s'] * 1e3:.1f} and its Cholesky factor {prof['potrf_s'] * 1e3:.1f} "
                        f"(the BLAS-3 floor) --, condition estimate (Lanczos) "
                        f"{lanc / n * 1e3:.1f}, SVD fallback {prof['svd_solve'] / n * 1e3:.1f}"))
    return out


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] == "--job":
        print(json.dumps(JOBS[argv[1]](json.loads(argv[2]))), flush=True)
        return
    sys.path.insert(0, str(HERE))
    from run import print_table
    print_table(run(quick="--quick" in argv, peers=False))


if __name__ == "__main__":
    main(sys.argv[1:])
