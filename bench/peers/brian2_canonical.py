"""Run a canonical LIF network (a bench .npz file) in Brian2 and print one JSON line.

Runs inside bench/.venv-peers (see setup_peers.sh); bench/bench_canonical.py
starts it as a subprocess. See nest_canonical.py for the network file.

Model, as NEST's ``iaf_psc_delta`` (ms, mV, dimensionless in Brian2):
``dv/dt = (E_L - v)/tau_m (unless refractory)``, solved exactly between
steps; threshold ``v >= V_th``; reset ``v = V_reset``; absolute refractory
period ``t_ref`` during which ``v`` stays at ``V_reset`` and arrivals are
dropped (``v_post += J * int(not_refractory_post)``, as NEST discards them).
Clock-driven with the file's ``dt_ms``: threshold crossings are detected at
the end of a step, spike times lie on the grid. The recurrent graph uses two
``Synapses`` objects (excitatory, inhibitory) with constant weights, as the
NEST script uses two synapse models. The Poisson drive is a
``PoissonInput`` of ``poisson_n`` inputs at ``poisson_rate_hz / poisson_n``
each (Brian2's own form of the Brunel external drive: a binomial count per
step, the same rate). Given spike sources are a ``SpikeGeneratorGroup``
(times binned to ``dt``); spikes of one source that fall into one bin are
moved to extra generator indices wired to the same target, since Brian2
allows one spike per index and bin.

Modes: ``cython`` (the default runtime target: the first build + run
compiles, reported as cold; warm runs rebuild the network in the same process
from the compiled cache and time ``net.run`` only) and ``standalone``
(``cpp_standalone``: generate and compile once, reported as cold; the binary
then runs ``repeats`` times and Brian2's own timer of the network run, which
excludes synapse creation and file I/O, is the warm time).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time


def layered_sources(times_ms, ids, n_src, dt_ms):
    """Indices ``ids + n_src * layer`` so that no index spikes twice in one ``dt`` bin."""
    import numpy as np
    # Brian2's own binning (SpikeGeneratorGroup.before_run), in seconds
    dt_s = dt_ms * 1e-3
    bins = np.asarray((np.asarray(times_ms) * 1e-3 + 1e-3 * dt_s) / dt_s, dtype=np.int32).astype(np.int64)
    order = np.lexsort((bins, ids))
    b, s = bins[order], ids[order]
    same = np.concatenate([[False], (b[1:] == b[:-1]) & (s[1:] == s[:-1])])
    # layer = position within a run of equal (id, bin)
    run_start = np.flatnonzero(~same)
    layer_sorted = np.arange(b.size) - np.repeat(run_start, np.diff(np.append(run_start, b.size)))
    layer = np.empty_like(layer_sorted)
    layer[order] = layer_sorted
    n_layers = int(layer.max()) + 1 if layer.size else 1
    return ids + n_src * layer, n_layers


def build(b2, d, with_monitor=True):
    import numpy as np
    ms = b2.ms
    n = int(d["n"])
    b2.defaultclock.dt = float(d["dt_ms"]) * ms
    ns = {k: float(d[k]) for k in ("tau_m", "V_th", "V_reset", "E_L", "J_ex", "J_in", "J_poisson")}
    ns["tunit"] = ms
    G = b2.NeuronGroup(n, "dv/dt = (E_L - v) / (tau_m * tunit) : 1 (unless refractory)",
                       threshold="v >= V_th", reset="v = V_reset", refractory=float(d["t_ref"]) * ms,
                       method="exact", namespace=ns, name="lif")
    G.v = np.asarray(d["V0"], dtype=float)
    objs = [G]
    pre = np.asarray(d["pre"], dtype=np.int32)
    post = np.asarray(d["post"], dtype=np.int32)
    exc = pre < int(d["n_exc"])
    for name, mask, J in (("exc", exc, "J_ex"), ("inh", ~exc, "J_in")):
        if mask.any():
            S = b2.Synapses(G, G, on_pre=f"v_post += {J} * int(not_refractory_post)", namespace=ns,
                            name=f"syn_{name}", delay=float(d["delay_ms"]) * ms)
            S.connect(i=pre[mask], j=post[mask])
            objs.append(S)
    if float(d["poisson_rate_hz"]) > 0:
        k = int(d["poisson_n"])
        objs.append(b2.PoissonInput(G, "v", N=k, rate=float(d["poisson_rate_hz"]) / k * b2.Hz,
                                    weight="J_poisson * int(not_refractory)"))
    n_src = int(d["n_src"])
    if n_src:
        ids, n_layers = layered_sources(d["src_times"], np.asarray(d["src_ids"], np.int64), n_src, float(d["dt_ms"]))
        SG = b2.SpikeGeneratorGroup(n_src * n_layers, ids.astype(np.int32), np.asarray(d["src_times"]) * ms,
                                    name="sources")
        Ss = b2.Synapses(SG, G, "w : 1 (constant)", on_pre="v_post += w * int(not_refractory_post)",
                         name="syn_src", delay=float(d["src_delay_ms"]) * ms)
        Ss.connect(i=np.arange(n_src * n_layers, dtype=np.int32),
                   j=np.tile(np.asarray(d["src_post"], np.int32), n_layers))
        Ss.w = np.tile(np.asarray(d["src_w"], float), n_layers)
        objs += [SG, Ss]
    mon = b2.SpikeMonitor(G, name="spikes")
    objs.append(mon)
    return b2.Network(*objs), mon


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", required=True)
    ap.add_argument("--mode", choices=["cython", "standalone"], default="cython")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-cold", action="store_true",
                    help="cython: skip the separate cold run (use when the compiled cache is already warm)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--record", required=True, help="write the spikes (times in ms, indices) to this .npz")
    args = ap.parse_args(argv)

    import numpy as np
    import brian2 as b2
    b2.prefs.codegen.target = "cython" if args.mode == "cython" else "numpy"
    b2.prefs.logging.console_log_level = "WARNING"
    with np.load(args.net) as f:
        d = {k: f[k] for k in f.files}
    duration = float(d["t_end_ms"]) * b2.ms
    out = {"peer": f"brian2-{args.mode}", "version": b2.__version__, "numpy": np.__version__,
           "dt_ms": float(d["dt_ms"]), "mode": args.mode}
    walls = []
    if args.mode == "cython":
        if not args.no_cold:
            b2.seed(args.seed)
            t0 = time.perf_counter()
            net, mon = build(b2, d)
            net.run(duration)
            out["cold_s"] = time.perf_counter() - t0   # build + run, Cython compilation when the cache is empty
        builds = []
        for rep in range(max(1, args.repeats)):
            b2.start_scope()
            b2.seed(args.seed + rep)
            ta = time.perf_counter()
            net, mon = build(b2, d)
            tb = time.perf_counter()
            net.run(duration)
            walls.append(time.perf_counter() - tb)
            builds.append(tb - ta)
        out["build_s"] = statistics.median(builds)
    else:
        work = tempfile.mkdtemp(prefix="b2sa_canon_")
        b2.set_device("cpp_standalone", build_on_run=False, directory=work)
        b2.seed(args.seed)
        net, mon = build(b2, d)
        net.run(duration)
        t0 = time.perf_counter()
        b2.device.build(directory=work, compile=True, run=False, with_output=False)
        out["cold_s"] = time.perf_counter() - t0      # code generation + C++ compilation
        for _ in range(max(1, args.repeats)):
            ta = time.perf_counter()
            b2.device.run(directory=work, with_output=False)
            out.setdefault("binary_wall_s", []).append(time.perf_counter() - ta)
            walls.append(float(b2.device._last_run_time))
    spikes_i, spikes_t = np.asarray(mon.i[:]), np.asarray(mon.t[:] / b2.ms)
    out["spikes"] = int(spikes_i.size)
    out["walls_s"] = walls
    out["wall_s"] = statistics.median(walls)
    np.savez(args.record, times=spikes_t, indices=spikes_i)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
