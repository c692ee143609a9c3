"""The canonical LIF benchmark networks, as their authors wrote them, against NEST and Brian2 (issue 12).

**Brette et al. (2007), Benchmark 4** (event-driven, voltage jumps), from the
published scripts of the review (ModelDB 83319: ``MVAspike/MVAspike_code.txt``,
the event-driven implementation, and ``NEST/cuba_ps.sli``, NEST's; today's
``pynest/examples/brette_et_al_2007/cuba_ps.py``): 3200 excitatory and 800
inhibitory LIF neurons, every ordered pair ``i != j`` connected with
probability 0.02 (MVAspike), jumps ``+0.25`` / ``-2.25`` mV, ``tau_m = 20``
ms, ``V_th = -50``, ``V_reset = -60``, resting potential ``E_L = -49`` mV
(above threshold: MVAspike's baseline ``I = -49``, NEST's ``E_L``),
refractory 5 ms, ``V(0) = -60`` mV (MVAspike); initial stimulation as in
MVAspike: every neuron receives a Poisson train of mean interval 10 ms during
the first 50 ms through a 10 mV jump; delay 0.125 ms and resolution 0.125 ms
(NEST's script; MVAspike used no delay, which a clock-driven simulator
cannot run); duration 50 + 5000 ms (MVAspike; ``--quick``: 50 + 500).

**Brunel (2000) as NEST's** ``brunel_delta_nest.py``: ``order = 2500``
(``NE = 10,000``, ``NI = 2500``), fixed in-degrees ``CE = 1000``, ``CI =
250`` (NEST's ``fixed_indegree``: multapses and autapses allowed), ``J =
0.1`` mV, ``g = 5``, ``eta = 2``, delay 1.5 ms, ``tau_m = 20`` ms, ``V_th =
20``, ``V_reset = E_L = V(0) = 0`` mV, ``t_ref = 2`` ms, an independent
Poisson drive per neuron at ``1000 eta V_th / (J tau_m) = 20`` kHz of jumps
``J`` with the same delay, resolution 0.1 ms, 1000 ms. Also at 1/4 size
(``order = 625``; the external rate does not depend on the size). Full
size only without ``--quick``.

Every simulator builds the identical graph, initial state, given spikes and
Poisson rates from one ``.npz`` file (Poisson events are drawn by each
simulator: tem_sim's are exact event times, NEST's ``poisson_generator``
counts per step, ``poisson_generator_ps`` exact times, Brian2's
``PoissonInput`` a binomial count per step). The networks are chaotic, so
simulators are compared by statistics (rate, CV of inter-spike intervals after
the stimulation), not spike times. Synaptic events = spikes x out-degree
(recurrent) plus given spikes and Poisson events (external; the Poisson count
is its expectation ``n x rate x duration`` for every simulator), per second of warm
wall time of the run (construction excluded for every simulator; one thread).

**Accuracy**: feed-forward layers of the same neurons driven by given
(seeded Poisson) spike trains, whose exact spike times follow from the closed
form between arrivals (``baselines.lif_reference``): 100 Benchmark-4 neurons
(excitatory input 640 Hz x 0.25 mV, inhibitory 160 Hz x -2.25 mV, 1000 ms;
spontaneous crossings and jumps) and 50 Brunel neurons (20 kHz x 0.1 mV and
2 kHz x -0.5 mV, 500 ms; fires only at arrivals). Maximum spike-time error in
ms over spikes paired in order, and the count differences.
"""
from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from baselines import lif_reference
from common import peer_problem, row, run_peer, spike_time_errors

SEED = 2007

PEER_CONFIGS = [
    ("brian2-cython", "brian2_canonical.py", ["--mode", "cython"]),
    ("brian2-standalone", "brian2_canonical.py", ["--mode", "standalone"]),
    ("nest-iaf_psc_delta", "nest_canonical.py", ["--model", "iaf_psc_delta"]),
    ("nest-iaf_psc_delta_ps", "nest_canonical.py", ["--model", "iaf_psc_delta_ps"]),
]
COLD_MEANING = {
    "brian2-cython": "first build + run in the process, Cython compilation included when Brian2's cache is empty",
    "brian2-standalone": "C++ code generation and compilation",
    "nest-iaf_psc_delta": "first Create + Connect + Simulate",
    "nest-iaf_psc_delta_ps": "first Create + Connect + Simulate",
}


# ----------------------------------------------------------------- the networks
def _empty_sources() -> dict:
    return {"n_src": 0, "src_times": np.zeros(0), "src_ids": np.zeros(0, np.int64),
            "src_post": np.zeros(0, np.int64), "src_w": np.zeros(0), "src_delay_ms": 0.1}


def _no_poisson() -> dict:
    return {"poisson_rate_hz": 0.0, "poisson_n": 1, "J_poisson": 0.0, "poisson_delay_ms": 0.1}


def _poisson_times(rng: np.random.Generator, n: int, rate_per_ms: float, t0: float, t1: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Independent Poisson trains on ``[t0, t1)``: (times, ids) sorted by time."""
    counts = rng.poisson(rate_per_ms * (t1 - t0), size=n)
    ids = np.repeat(np.arange(n), counts)
    times = rng.uniform(t0, t1, size=ids.size)
    order = np.argsort(times, kind="stable")
    return times[order], ids[order]


def brette_benchmark4(t_run_ms: float = 5000.0, seed: int = SEED) -> dict:
    """Benchmark 4 of Brette et al. (2007) as flat arrays (see the module docstring)."""
    n, ne, p = 4000, 3200, 0.02
    rng = np.random.default_rng([seed, 4])
    # MVAspike: for every ordered pair i != j, connect i -> j with probability 0.02
    pre_l, post_l = [], []
    for lo in range(0, n, 500):
        m = rng.random((min(500, n - lo), n), dtype=np.float32) < p     # rows: presynaptic i
        m[np.arange(m.shape[0]), lo + np.arange(m.shape[0])] = False
        i, j = np.nonzero(m)
        pre_l.append(i + lo)
        post_l.append(j)
    pre, post = np.concatenate(pre_l), np.concatenate(post_l)
    t_stim = 50.0
    # MVAspike: t = rnd_poisson(10.0); while t < 50: add_spike(t); t += rnd_poisson(10.0)
    st, sid = _poisson_times(rng, n, 1.0 / 10.0, 0.0, t_stim)
    delay = 0.125
    return {"name": "Brette et al. 2007 benchmark 4", "n": n, "n_exc": ne,
            "pre": pre.astype(np.int32), "post": post.astype(np.int32), "J_ex": 0.25, "J_in": -2.25,
            "delay_ms": delay, "tau_m": 20.0, "V_th": -50.0, "V_reset": -60.0, "E_L": -49.0, "t_ref": 5.0,
            "V0": np.full(n, -60.0), **_no_poisson(),
            "n_src": n, "src_times": st, "src_ids": sid.astype(np.int64), "src_post": np.arange(n),
            "src_w": np.full(n, 10.0), "src_delay_ms": delay,
            "t_end_ms": t_stim + float(t_run_ms), "dt_ms": 0.125, "t_stat_ms": t_stim}


def brunel_delta(order: int = 2500, simtime: float = 1000.0, seed: int = SEED) -> dict:
    """NEST's brunel_delta_nest.py network as flat arrays (see the module docstring)."""
    g, eta, epsilon, J, tau_m, theta, delay = 5.0, 2.0, 0.1, 0.1, 20.0, 20.0, 1.5
    ne, ni = 4 * order, order
    n = ne + ni
    ce, ci = int(epsilon * ne), int(epsilon * ni)
    nu_th = theta / (J * ce * tau_m)
    p_rate = 1000.0 * eta * nu_th * ce
    rng = np.random.default_rng([seed, order])
    # fixed_indegree with NEST's defaults: sources drawn with replacement, autapses allowed
    pre = np.concatenate([rng.integers(0, ne, size=(n, ce), dtype=np.int32),
                          rng.integers(ne, n, size=(n, ci), dtype=np.int32)], axis=1).ravel()
    post = np.repeat(np.arange(n, dtype=np.int32), ce + ci)
    return {"name": f"Brunel delta (NEST example), order {order}", "n": n, "n_exc": ne,
            "pre": pre, "post": post, "J_ex": J, "J_in": -g * J, "delay_ms": delay,
            "tau_m": tau_m, "V_th": theta, "V_reset": 0.0, "E_L": 0.0, "t_ref": 2.0, "V0": np.zeros(n),
            "poisson_rate_hz": p_rate, "poisson_n": ce, "J_poisson": J, "poisson_delay_ms": delay,
            **_empty_sources(), "t_end_ms": float(simtime), "dt_ms": 0.1, "t_stat_ms": 0.0}


def feedforward(kind: str, seed: int = SEED) -> dict:
    """A layer of Benchmark-4 or Brunel neurons driven by given spike trains (two sources per neuron)."""
    rng = np.random.default_rng([seed, 0 if kind == "b4" else 1])
    if kind == "b4":
        n, t_end, rates, weights, delay, dt = 100, 1000.0, (0.64, 0.16), (0.25, -2.25), 0.125, 0.125
        par = {"tau_m": 20.0, "V_th": -50.0, "V_reset": -60.0, "E_L": -49.0, "t_ref": 5.0}
        V0 = rng.uniform(-60.0, -50.0, n)
    else:
        n, t_end, rates, weights, delay, dt = 50, 500.0, (20.0, 2.0), (0.1, -0.5), 1.5, 0.1
        par = {"tau_m": 20.0, "V_th": 20.0, "V_reset": 0.0, "E_L": 0.0, "t_ref": 2.0}
        V0 = rng.uniform(0.0, 20.0, n)
    te, ie = _poisson_times(rng, n, rates[0], 0.0, t_end)
    ti, ii = _poisson_times(rng, n, rates[1], 0.0, t_end)
    times = np.concatenate([te, ti])
    ids = np.concatenate([ie, ii + n])
    order = np.argsort(times, kind="stable")
    return {"name": f"feed-forward {kind}", "n": n, "n_exc": n, "pre": np.zeros(0, np.int32),
            "post": np.zeros(0, np.int32), "J_ex": 0.0, "J_in": 0.0, "delay_ms": delay, **par, "V0": V0,
            **_no_poisson(), "n_src": 2 * n, "src_times": times[order], "src_ids": ids[order].astype(np.int64),
            "src_post": np.concatenate([np.arange(n), np.arange(n)]),
            "src_w": np.concatenate([np.full(n, weights[0]), np.full(n, weights[1])]),
            "src_delay_ms": delay, "t_end_ms": t_end, "dt_ms": dt, "t_stat_ms": 0.0}


def reference_spikes(net: dict) -> list[np.ndarray]:
    """Exact spike times of a feed-forward network (no recurrent connections), one array per neuron."""
    if net["pre"].size:
        raise ValueError("reference_spikes is for feed-forward networks only")
    post_of = np.asarray(net["src_post"])[net["src_ids"]]
    w_of = np.asarray(net["src_w"])[net["src_ids"]]
    arr_t = net["src_times"] + net["src_delay_ms"]
    out = []
    for j in range(net["n"]):
        sel = post_of == j
        out.append(lif_reference(net["tau_m"], net["V_th"], net["V_reset"], net["E_L"], net["t_ref"],
                                 float(net["V0"][j]), arr_t[sel], w_of[sel], net["t_end_ms"]))
    return out


def save_network(net: dict, path: Path) -> None:
    """Write the network for the peer scripts (see bench/peers/nest_canonical.py)."""
    np.savez(path, **{k: v for k, v in net.items() if k != "name"})


# ----------------------------------------------------------------- statistics
def activity(net: dict, times: np.ndarray, idx: np.ndarray) -> dict:
    """Rate (Hz) and mean CV of inter-spike intervals after ``t_stat_ms``, and event counts."""
    n, t0, t1 = net["n"], float(net["t_stat_ms"]), float(net["t_end_ms"])
    times, idx = np.asarray(times, dtype=float), np.asarray(idx, dtype=np.int64)
    keep = times >= t0
    ts, ids = times[keep], idx[keep]
    rate = ts.size / n / ((t1 - t0) / 1000.0)
    order = np.lexsort((ts, ids))
    ts, ids = ts[order], ids[order]
    isi = np.diff(ts)
    same = ids[1:] == ids[:-1]
    isi, who = isi[same], ids[1:][same]
    cnt = np.bincount(who, minlength=n)
    s1 = np.bincount(who, weights=isi, minlength=n)
    s2 = np.bincount(who, weights=isi * isi, minlength=n)
    ok = cnt >= 2
    mean = s1[ok] / cnt[ok]
    sd = np.sqrt(np.maximum(s2[ok] / cnt[ok] - mean ** 2, 0.0))
    cv = float(np.mean(sd / mean)) if ok.any() else math.nan
    ne = int(net["n_exc"])
    exc = idx < ne
    r_e = np.count_nonzero(keep & exc) / ne / ((t1 - t0) / 1000.0)
    r_i = (np.count_nonzero(keep & ~exc) / (n - ne) / ((t1 - t0) / 1000.0)) if n > ne else math.nan
    outdeg = np.bincount(np.asarray(net["pre"], dtype=np.int64), minlength=n)
    recurrent = int(outdeg[idx].sum()) if idx.size else 0
    return {"spikes": int(times.size), "rate_hz": rate, "rate_exc_hz": r_e, "rate_inh_hz": r_i, "cv_isi": cv,
            "recurrent_events": recurrent}


def external_expected(net: dict) -> float:
    """External events the network receives: given spikes plus the expected Poisson count."""
    return float(net["src_times"].size) + net["n"] * net["poisson_rate_hz"] * net["t_end_ms"] / 1000.0


# ----------------------------------------------------------------- tem_sim
def _tem_available() -> str | None:
    """None when tem_sim has the API these networks need, else why not."""
    try:
        import tem_sim as ts
    except Exception as exc:
        return f"tem_sim does not import ({type(exc).__name__}: {exc})"
    missing = [a for a, ok in (("Neurons.from_lif", hasattr(ts.Neurons, "from_lif")),
                               ("Network.add_poisson", hasattr(ts.Network, "add_poisson")),
                               ("Network.add_spike_source", hasattr(ts.Network, "add_spike_source")))
               if not ok]
    return f"tem_sim lacks {', '.join(missing)} (issue 12 not merged yet)" if missing else None


def tem_network(net: dict, seed: int = SEED):
    """The network in tem_sim (ms and mV; ``C_m = 1`` so a jump of J mV is weight J)."""
    import scipy.sparse as sp
    import tem_sim as ts
    n = int(net["n"])
    nrn = ts.Neurons.from_lif(n, tau_m=float(net["tau_m"]), V_th=float(net["V_th"]),
                              V_reset=float(net["V_reset"]), E_L=float(net["E_L"]), C_m=1.0,
                              t_ref=float(net["t_ref"]), V_m=np.asarray(net["V0"], dtype=float))
    nw = ts.Network()
    nw.add_population("lif", nrn)
    pre = np.asarray(net["pre"], dtype=np.int64)
    if pre.size:
        w = np.where(pre < int(net["n_exc"]), float(net["J_ex"]), float(net["J_in"]))
        W = sp.csr_matrix((w, (np.asarray(net["post"], dtype=np.int64), pre)), shape=(n, n))  # multapses summed
        nw.connect("lif", "lif", W, kernel="delta", delay=float(net["delay_ms"]))
    if net["poisson_rate_hz"] > 0:
        # not recorded: the full Brunel network's drive is 2.5e8 events; counted by its expectation,
        # as for the peers
        nw.add_poisson("ext", n, rate=float(net["poisson_rate_hz"]) / 1000.0, seed=seed, record=False)
        nw.connect("ext", "lif", sp.identity(n, format="csr") * float(net["J_poisson"]), kernel="delta",
                   delay=float(net["poisson_delay_ms"]))
    if net["n_src"]:
        k = int(net["n_src"])
        nw.add_spike_source("src", ts.SpikeTrains(net["src_times"], net["src_ids"], k, t_stop=float(net["t_end_ms"])))
        W = sp.csr_matrix((np.asarray(net["src_w"], dtype=float), (np.asarray(net["src_post"]), np.arange(k))),
                          shape=(n, k))
        nw.connect("src", "lif", W, kernel="delta", delay=float(net["src_delay_ms"]))
    return nw


def tem_run(net: dict, repeats: int, seed: int = SEED, cold_run: bool = True) -> dict:
    """Warm run times of freshly built networks (construction not timed), spikes of the last run.

    With ``cold_run`` a first run is made and reported apart (tem_sim compiles nothing at run
    time, so it only measures first-call effects; the full Brunel network skips it).
    """
    walls, builds = [], []
    cold = math.nan
    for rep in range(repeats + int(cold_run)):
        tb = time.perf_counter()
        nw = tem_network(net, seed + rep)
        t0 = time.perf_counter()
        out = nw.run(float(net["t_end_ms"]), max_spikes=200_000_000)
        wall = time.perf_counter() - t0
        builds.append(t0 - tb)
        if cold_run and rep == 0:
            cold = wall
        else:
            walls.append(wall)
    st = out["lif"]
    return {"times": np.asarray(st.times), "indices": np.asarray(st.indices), "walls_s": walls,
            "wall_s": statistics.median(walls), "cold_s": cold, "build_s": statistics.median(builds)}


# ----------------------------------------------------------------- peers
def _fmt_stats(a: dict, ext: float, wall: float) -> str:
    return (f"rate {a['rate_hz']:.2f} Hz (E {a['rate_exc_hz']:.2f}, I {a['rate_inh_hz']:.2f}), CV {a['cv_isi']:.3f}, "
            f"{a['spikes']} spikes; events/s recurrent {a['recurrent_events'] / wall:.3g}, "
            f"external {ext / wall:.3g}, total {(a['recurrent_events'] + ext) / wall:.3g}; warm {wall:.3f} s")


def _network_rows(label: str, net: dict, quick: bool, peers: bool, work: Path, repeats: int,
                  peer_repeats: int, peer_timeout: float, extra_cython: list[str] | None = None,
                  cold_run: bool = True) -> list[dict]:
    """One row per peer (or one without peers); tem_sim runs again after each peer so that its
    median sees the same machine load as the peers (a shared two-core machine)."""
    reason = _tem_available()
    tem = tem_stats = None
    if reason is None:
        try:
            tem = tem_run(net, repeats, cold_run=cold_run)
            tem_stats = activity(net, tem["times"], tem["indices"])
        except Exception as exc:
            reason = f"tem_sim run failed: {type(exc).__name__}: {exc}"
    ext = external_expected(net)
    bench = f"{label}: synaptic events/s"
    results = []
    if peers:
        problem = peer_problem()
        npz = work / "net.npz"
        save_network(net, npz)
        for name, script, extra in PEER_CONFIGS:
            if problem:
                results.append((name, None, problem, None))
                continue
            args = ["--net", str(npz), "--repeats", str(peer_repeats), "--record", str(work / "rec.npz")] + extra
            if name == "brian2-cython" and extra_cython:
                args += extra_cython
            res, why = run_peer(script, args, peer_timeout)
            a = None
            if res is not None:
                with np.load(work / "rec.npz") as f:
                    a = activity(net, f["times"], f["indices"])
            results.append((name, res, why, a))
            if reason is None:
                tem["walls_s"] += tem_run(net, 1, cold_run=False)["walls_s"]
    if reason is None:
        wall = statistics.median(tem["walls_s"])
        tem_total = (tem_stats["recurrent_events"] + ext) / wall
        cold_txt = "no separate first run" if math.isnan(tem["cold_s"]) else f"first run {tem['cold_s']:.3f} s"
        tem_note = (f"tem_sim: {_fmt_stats(tem_stats, ext, wall)} (median of {len(tem['walls_s'])} runs"
                    f"{', interleaved with the peers' if peers else ''}, range {min(tem['walls_s']):.3f}-"
                    f"{max(tem['walls_s']):.3f} s; {cold_txt}, build {tem['build_s']:.2f} s; Poisson events at "
                    f"exact times, counted by their expectation as for the peers)")
    else:
        tem_total, tem_note = None, f"tem_sim SKIPPED: {reason}"
    if not peers:
        r = row(bench, "events/s", tem_total, None, None, None, tem_note + "; peers not run (add --peers)")
        r["stats"] = {"tem_sim": tem_stats}
        return [r]
    rows = []
    for name, res, why, a in results:
        if res is None:
            rows.append(row(bench, "events/s", tem_total, name, None, None, f"{name} SKIPPED: {why}. {tem_note}"))
            continue
        total = (a["recurrent_events"] + ext) / res["wall_s"]
        ratio = tem_total / total if tem_total else None
        extra_note = ""
        if res.get("binary_wall_s"):
            extra_note = (f"; warm = Brian2's own timer of the run inside the binary (the whole binary, with "
                          f"synapse creation and file I/O: {statistics.median(res['binary_wall_s']):.3f} s)")
        cold = res.get("cold_s")
        r = row(bench, "events/s", tem_total, name, total, ratio,
                f"{name} {res.get('version')}: {_fmt_stats(a, ext, res['wall_s'])} (median of "
                f"{len(res['walls_s'])}{extra_note}), "
                f"cold {'-' if cold is None else f'{cold:.2f}'} s ({COLD_MEANING[name]}), "
                f"resolution {net['dt_ms']} ms. {tem_note}")
        r["stats"] = {"tem_sim": tem_stats, name: a}
        rows.append(r)
    return rows


def _accuracy_rows(peers: bool, work: Path) -> list[dict]:
    rows = []
    for kind in ("b4", "brunel"):
        net = feedforward(kind)
        ref = reference_spikes(net)
        n_ref = sum(r.size for r in ref)
        label = f"feed-forward {'Benchmark-4' if kind == 'b4' else 'Brunel'} layer: max spike-time error"
        reason = _tem_available()
        tem_err = None
        if reason is None:
            try:
                st = tem_network(net).run(float(net["t_end_ms"]))["lif"]
                tem_err, tem_med, tem_miss = spike_time_errors(ref, st.times, st.indices)
                tem_note = f"tem_sim: max {tem_err:.3g} ms, median {tem_med:.3g} ms, count differences {tem_miss}"
            except Exception as exc:
                reason = f"tem_sim run failed: {type(exc).__name__}: {exc}"
        if reason is not None:
            tem_note = f"tem_sim SKIPPED: {reason}"
        base = (f"{net['n']} neurons, {net['src_times'].size} given input spikes, {n_ref} exact spikes "
                f"(baselines.lif_reference), resolution {net['dt_ms']} ms. {tem_note}")
        if not peers:
            rows.append(row(label, "ms", tem_err, None, None, None, base + "; peers not run (add --peers)"))
            continue
        problem = peer_problem()
        npz = work / f"ff_{kind}.npz"
        save_network(net, npz)
        for name, script, extra in PEER_CONFIGS:
            if name == "brian2-standalone":
                continue  # the same step and arithmetic as the Cython target
            rec = work / f"ff_{kind}_{name}.npz"
            if problem:
                res, why = None, problem
            else:
                res, why = run_peer(script, ["--net", str(npz), "--repeats", "1", "--record", str(rec)] + extra, 600)
            if res is None:
                rows.append(row(label, "ms", tem_err, name, None, None, f"{name} SKIPPED: {why}. {base}"))
                continue
            with np.load(rec) as f:
                perr, pmed, pmiss = spike_time_errors(ref, f["times"], f["indices"])
            ratio = (perr / tem_err if tem_err else (math.inf if tem_err == 0 else None))
            rows.append(row(label, "ms", tem_err, name, perr, ratio,
                            f"{name}: max {perr:.3g} ms, median {pmed:.3g} ms, count differences {pmiss}. {base}"))
    return rows


def run(quick: bool, peers: bool) -> list[dict]:
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="tem_bench_canon_") as d:
        work = Path(d)
        b4 = brette_benchmark4(t_run_ms=500.0 if quick else 5000.0)
        rows += _network_rows(f"Brette 2007 B4, 4000 LIF, {b4['t_end_ms']:g} ms", b4, quick, peers, work,
                              repeats=1 if quick else 2, peer_repeats=1 if quick else 3, peer_timeout=900)
        q = brunel_delta(625, simtime=100.0 if quick else 1000.0)
        rows += _network_rows(f"Brunel delta 1/4 (3125 LIF), {q['t_end_ms']:g} ms", q, quick, peers, work,
                              repeats=1 if quick else 2, peer_repeats=1 if quick else 3, peer_timeout=1200)
        if not quick:
            full = brunel_delta(2500)
            rows += _network_rows("Brunel delta full (12,500 LIF), 1000 ms", full, quick, peers, work,
                                  repeats=1, peer_repeats=1, peer_timeout=2400, extra_cython=["--no-cold"],
                                  cold_run=False)
        rows += _accuracy_rows(peers, work)
    return rows


if __name__ == "__main__":  # python bench/bench_canonical.py [--peers]
    for r in run(quick=True, peers="--peers" in sys.argv):
        print(r)
