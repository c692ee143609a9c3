"""Recurrent-network speed and feed-forward accuracy against Brian2 and NEST (issue 3).

**Speed.** A recurrent network of ``N = 10,000`` perfect integrate-and-fire
TEMs (``kappa = delta = 1``), each receiving ``K = 100`` connections from
distinct random other neurons (seeded): the first 80 % of the neurons are
excitatory (weight ``J = 0.1``, a jump of 5 % of the reset-to-threshold
distance), the rest inhibitory (``-g J``, ``g = 5``); delta synapses, one delay
of 0.001 model units. The drive is a deterministic constant per neuron (no
random generators in the dynamics): ``u_j = 40 (0.8 + 0.4 frac(j phi))`` with
the golden ratio ``phi``, and the initial values are spread deterministically
in ``[-delta, delta)``. With the net inhibition this settles at about 10
spikes per neuron per model unit. One model unit is 1000 ms for the peers
(10 spikes per unit = 10 Hz, the delay is 1 ms). Synaptic events per second
= spikes x 100 targets / warm wall time of the run (network construction
excluded for every simulator).

All three simulators build the identical graph from one ``.npz`` file
(``pre, post, w, drive, v0, kappa, delta, delay, t_end``). The peers run as
subprocesses in ``bench/.venv-peers`` (``bench/peers/setup_peers.sh``):
Brian2 (Cython runtime and ``cpp_standalone``, ``dt = 0.1 ms``) and NEST
(``iaf_psc_delta`` with ``t_ref = 0`` and the precise ``iaf_psc_delta_ps``
with ``t_ref = resolution = 0.1 ms``, its minimum; one thread). A recurrent
network is chaotic, so only rates are compared across simulators here.

**Accuracy.** Feed-forward networks whose exact spike times follow from the
closed form ``t = kappa (delta - v)/u + (k - 1) 2 kappa delta / u`` between
arrivals and the jump arithmetic (``baselines.chain_reference``): three
layers (20 -> 20 -> 10, 5 inputs per neuron, delay 0.001, duration 1),
once with inhibitory connections only (no spike is triggered by an arrival,
so NEST's reset-to-``V_reset`` agrees with the TEM's subtractive reset) and
once with excitatory and inhibitory connections (arrivals that carry ``v``
past threshold fire at the arrival time). Each simulator's maximum spike-time
error against the exact times, in model units.
"""
from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from baselines import chain_reference
from common import HERE, peer_problem, row, run_peer, spike_time_errors as _errors


# ---- the recurrent network
N, K, F_EXC, J, G_INH = 10_000, 100, 0.8, 0.1, 5.0
KAPPA = DELTA = 1.0
U_MEAN = 27.0
DELAY = 0.001
MS_PER_UNIT = 1000.0
SEED_GRAPH = 12345
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def recurrent_network(n: int = N, k: int = K, t_end: float = 1.0, seed: int = SEED_GRAPH) -> dict:
    """The benchmark network as flat arrays (seeded graph, deterministic drive and v0)."""
    rng = np.random.default_rng(seed)
    # K distinct presynaptic neurons per postsynaptic neuron, never itself
    pre = rng.integers(0, n - 1, size=(n, k))
    pre += pre >= np.arange(n)[:, None]
    for _ in range(100):
        s = np.sort(pre, axis=1)
        bad = np.flatnonzero(np.any(s[:, 1:] == s[:, :-1], axis=1))
        if bad.size == 0:
            break
        for j in bad:
            row_ = np.unique(pre[j])
            while row_.size < k:
                extra = rng.integers(0, n - 1, size=k - row_.size)
                extra += extra >= j
                row_ = np.unique(np.concatenate([row_, extra]))
            pre[j] = rng.permutation(row_)
    post = np.repeat(np.arange(n), k)
    pre = pre.ravel()
    w = np.where(pre < int(F_EXC * n), J, -G_INH * J) * KAPPA
    j = np.arange(n, dtype=float)
    drive = U_MEAN * (0.8 + 0.4 * _frac(j * GOLDEN))
    v0 = -DELTA + 2.0 * DELTA * _frac(j * math.sqrt(2.0) + 0.5) * (1.0 - 1e-9)
    return {"n": n, "pre": pre.astype(np.int64), "post": post.astype(np.int64), "w": w, "drive": drive,
            "v0": v0, "kappa": KAPPA, "delta": DELTA, "delay": DELAY, "t_end": float(t_end),
            "ms_per_unit": MS_PER_UNIT}


def feedforward_network(mixed: bool, seed: int = 99) -> dict:
    """20 -> 20 -> 10 neurons, 5 inputs each, delta synapses; indices in topological order."""
    rng = np.random.default_rng([seed, int(mixed)])
    sizes = [20, 20, 10]
    starts = np.cumsum([0] + sizes)
    pre_l, post_l, w_l = [], [], []
    for layer in (1, 2):
        lo, hi = starts[layer - 1], starts[layer]
        for j in range(starts[layer], starts[layer + 1]):
            src = rng.choice(np.arange(lo, hi), size=5, replace=False)
            mag = rng.uniform(0.1, 0.6, size=5)
            sign = np.where(rng.random(5) < 0.6, 1.0, -1.0) if mixed else -np.ones(5)
            pre_l += src.tolist()
            post_l += [j] * 5
            w_l += (sign * mag * KAPPA).tolist()
    n = int(starts[-1])
    drive = np.concatenate([rng.uniform(8.0, 12.0, sizes[0]),
                            rng.uniform(10.0, 16.0, sizes[1] + sizes[2]) if mixed else rng.uniform(18.0, 26.0, sizes[1] + sizes[2])])
    v0 = rng.uniform(-DELTA, DELTA, n)
    return {"n": n, "pre": np.asarray(pre_l, dtype=np.int64), "post": np.asarray(post_l, dtype=np.int64),
            "w": np.asarray(w_l), "drive": drive, "v0": v0, "kappa": KAPPA, "delta": DELTA,
            "delay": DELAY, "t_end": 1.0, "ms_per_unit": MS_PER_UNIT}


# ---- tem_sim side
def _tem_network(net: dict):
    """Build the network with tem_sim's Network API; raises AttributeError/ImportError if absent."""
    import scipy.sparse as sp
    import tem_sim
    Network = getattr(tem_sim, "Network", None)
    if Network is None:
        from tem_sim.network import Network  # noqa: F401  (raises ImportError when not landed)
    kernels = tem_sim.kernels if hasattr(tem_sim, "kernels") else __import__("tem_sim.kernels").kernels
    n = net["n"]
    W = sp.csr_matrix((net["w"], (net["post"], net["pre"])), shape=(n, n))
    nw = Network()
    nw.add_population("p", tem_sim.Neurons(n, kappa=net["kappa"], delta=net["delta"], bias=net["drive"],
                                           v0=net["v0"]))
    nw.connect("p", "p", W, kernel=kernels.Delta(), delay=net["delay"])
    return nw


def _tem_run(nw, t_end: float):
    out = nw.run(t_end, max_spikes=50_000_000)
    return out["p"]


def _tem_available() -> str | None:
    """None when tem_sim's Network API can be used, else the reason it cannot."""
    try:
        import tem_sim
        if getattr(tem_sim, "Network", None) is None:
            import tem_sim.network  # noqa: F401
        return None
    except Exception as exc:
        return f"tem_sim.Network not available ({type(exc).__name__}: {exc})"


# ---- peers
PEER_CONFIGS = [
    ("brian2-cython", "brian2_net.py", ["--mode", "cython"]),
    ("brian2-standalone", "brian2_net.py", ["--mode", "standalone"]),
    ("nest-iaf_psc_delta", "nest_net.py", ["--model", "iaf_psc_delta"]),
    ("nest-iaf_psc_delta_ps", "nest_net.py", ["--model", "iaf_psc_delta_ps"]),
]


COLD_MEANING = {
    "brian2-cython": "first build + run in the process; includes Cython compilation when Brian2's cache is empty",
    "brian2-standalone": "C++ code generation and compilation",
    "nest-iaf_psc_delta": "first Create + Connect + Simulate",
    "nest-iaf_psc_delta_ps": "first Create + Connect + Simulate",
}


def _save(net: dict, path: Path) -> None:
    np.savez(path, **net)


def _speed_rows(quick: bool, peers: bool, workdir: Path) -> list[dict]:
    t_end = 0.2 if quick else 1.0
    t0 = time.perf_counter()
    net = recurrent_network(t_end=t_end)
    t_graph = time.perf_counter() - t0
    label = f"recurrent {N // 1000}k x {K}, delta, t_end={t_end:g}"
    n_edges = net["pre"].size
    k_avg = n_edges / N

    tem_rate, tem_note = None, ""
    tem_walls: list[float] = []
    spikes = 0
    reason = _tem_available()
    if reason is None:
        try:
            tb = time.perf_counter()
            nw = _tem_network(net)
            t_build = time.perf_counter() - tb
            tc = time.perf_counter()
            out = nw.run(t_end, max_spikes=50_000_000)
            cold = time.perf_counter() - tc
            spikes = out["p"].count
            engine = (f"time slices of the delay ({out.stats['slices']} slices)" if out.stats.get("slices")
                      else "event by event")
            tem_walls += _fresh_walls(net, t_end, 3 if quick else 5)
        except Exception as exc:
            reason = f"tem_sim network run failed: {type(exc).__name__}: {exc}"

    def tem_summary() -> tuple[float | None, str]:
        if reason is not None:
            return None, f"tem_sim row SKIPPED: {reason}"
        wall = statistics.median(tem_walls)
        return spikes * k_avg / wall, (
            f"tem_sim: {spikes} spikes ({spikes / N / t_end:.1f} per neuron per unit), run {wall:.3f} s "
            f"(median of {len(tem_walls)} warm runs on freshly built networks"
            f"{', interleaved with the peers' if peers else ''}; range {min(tem_walls):.3f}-{max(tem_walls):.3f} s; first run {cold:.3f} s, "
            f"build {t_build:.2f} s; engine: {engine})")

    rows = []
    if not peers:
        tem_rate, tem_note = tem_summary()
        rows.append(row(f"{label}: synaptic events/s", "events/s", tem_rate, None, None, None,
                        tem_note + f"; peers not run (add --peers); graph generation {t_graph:.2f} s"))
        return rows
    problem = peer_problem()
    npz = workdir / "recurrent.npz"
    _save(net, npz)
    reps = "1" if quick else "3"
    results = []
    for name, script, extra in PEER_CONFIGS:
        if problem:
            res, why = None, problem
        else:
            res, why = run_peer(script, ["--net", str(npz), "--repeats", reps] + extra, timeout=900)
            if reason is None:   # tem_sim again right after each peer: both see the same machine load
                tem_walls.extend(_fresh_walls(net, t_end, 1 if quick else 2))
        results.append((name, res, why))
    tem_rate, tem_note = tem_summary()
    for name, res, why in results:
        if res is None:
            rows.append(row(f"{label}: synaptic events/s", "events/s", tem_rate, name, None, None,
                            f"{name} SKIPPED: {why}. {tem_note}"))
            continue
        prate = res["events_per_s"]
        ratio = tem_rate / prate if (tem_rate and prate) else None
        settings = (f"dt={res.get('dt_ms')} ms" if "dt_ms" in res else
                    f"resolution={res.get('resolution_ms')} ms, t_ref={res.get('t_ref_ms')} ms, 1 thread")
        extra_note = ""
        if res.get("binary_wall_s"):
            extra_note = (f"; warm = Brian2's own timer of the network run, the whole binary (synapse creation, "
                          f"file I/O) took {statistics.median(res['binary_wall_s']):.3f} s")
        rows.append(row(f"{label}: synaptic events/s", "events/s", tem_rate, name, prate, ratio,
                        f"{name} {res.get('version')}: {res['spikes']} spikes "
                        f"({res['spikes'] / N / t_end:.1f} per neuron per unit), warm {res['wall_s']:.3f} s "
                        f"(median of {len(res['walls_s'])}){extra_note}, cold {res.get('cold_s', float('nan')):.2f} s "
                        f"({COLD_MEANING[name]}), {settings}. {tem_note}"))
    return rows


def _fresh_walls(net: dict, t_end: float, repeats: int) -> list[float]:
    """Run times of ``repeats`` networks built afresh (construction not timed)."""
    walls = []
    for _ in range(repeats):
        nw = _tem_network(net)
        t0 = time.perf_counter()
        _tem_run(nw, t_end)
        walls.append(time.perf_counter() - t0)
    return walls


def _accuracy_rows(peers: bool, workdir: Path) -> list[dict]:
    rows = []
    for mixed in (False, True):
        net = feedforward_network(mixed)
        ref = chain_reference(net["drive"], net["kappa"], net["delta"], net["v0"], net["pre"], net["post"],
                              net["w"], net["delay"], net["t_end"])
        n_ref = sum(r.size for r in ref)
        n_arrival = _arrival_spikes(ref, net)
        label = f"feed-forward 20-20-10 {'E/I' if mixed else 'inhibitory'}: max spike-time error"
        reason = _tem_available()
        tem_err, tem_note = None, ""
        if reason is None:
            try:
                st = _tem_run(_tem_network(net), net["t_end"])
                tem_err, tem_med, tem_miss = _errors(ref, np.asarray(st.times), np.asarray(st.indices))
                tem_note = f"tem_sim: max {tem_err:.3g}, median {tem_med:.3g}, count differences {tem_miss}"
            except Exception as exc:
                reason = f"tem_sim network run failed: {type(exc).__name__}: {exc}"
        if reason is not None:
            tem_note = f"tem_sim row SKIPPED: {reason}"
        base = (f"{n_ref} exact spikes ({n_arrival} fired by an arrival), units of model time "
                f"(1 unit = 1000 ms for the peers). {tem_note}")
        if not peers:
            rows.append(row(label, "time", tem_err, None, None, None, base + "; peers not run (add --peers)"))
            continue
        problem = peer_problem()
        npz = workdir / f"ff_{int(mixed)}.npz"
        _save(net, npz)
        for name, script, extra in PEER_CONFIGS:
            if name == "brian2-standalone":
                continue  # same dt and the same arithmetic as the Cython target
            rec = workdir / f"ff_{int(mixed)}_{name}.npz"
            if problem:
                res, why = None, problem
            else:
                res, why = run_peer(script, ["--net", str(npz), "--repeats", "1", "--record", str(rec)] + extra,
                                     timeout=300)
            if res is None:
                rows.append(row(label, "time", tem_err, name, None, None, f"{name} SKIPPED: {why}. {base}"))
                continue
            with np.load(rec) as f:
                perr, pmed, pmiss = _errors(ref, np.asarray(f["times"]), np.asarray(f["indices"]))
            ratio = (perr / tem_err if tem_err else (math.inf if tem_err == 0 else None))
            settings = (f"dt={res.get('dt_ms')} ms = {res.get('dt_ms') / MS_PER_UNIT:g} units" if "dt_ms" in res
                        else f"resolution={res.get('resolution_ms')} ms, t_ref={res.get('t_ref_ms')} ms")
            rows.append(row(label, "time", tem_err, name, perr, ratio,
                            f"{name}: max {perr:.3g}, median {pmed:.3g}, count differences {pmiss} ({settings}). "
                            + base))
    return rows


def _arrival_spikes(ref: list[np.ndarray], net: dict) -> int:
    """How many exact spikes coincide with an arrival (fired by a jump)."""
    count = 0
    for j, r in enumerate(ref):
        pres = net["pre"][net["post"] == j]
        if not pres.size or not r.size:
            continue
        arr = np.concatenate([ref[p] + net["delay"] for p in pres])
        count += int(np.isin(r, arr).sum())
    return count


def run(quick: bool, peers: bool) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="tem_bench_net_") as d:
        work = Path(d)
        return _speed_rows(quick, peers, work) + _accuracy_rows(peers, work)


if __name__ == "__main__":  # a quick manual check: python bench/bench_network.py
    sys.path.insert(0, str(HERE.parent))
    for r in run(quick=True, peers="--peers" in sys.argv):
        print(r)
