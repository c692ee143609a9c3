"""Run a network described by a bench .npz file in NEST and print one JSON line.

Runs inside bench/.venv-peers (see setup_peers.sh); bench/bench_network.py
starts it as a subprocess. See brian2_net.py for the network file.

Mapping of tem_sim's perfect integrate-and-fire TEM onto NEST (one model
unit = ``ms_per_unit`` ms, 1000 by default; membrane in mV with ``v`` itself):
``V_th = delta``, ``V_reset = -delta``, ``E_L = 0``, ``C_m = 1 pF``,
``tau_m = 1e10 ms`` (leak negligible: a relative change of ~1e-7 per second),
constant current ``I_e = drive / (kappa * ms_per_unit)`` pA so that
``dV/dt = u/kappa`` per model unit, delta synapses of weight ``w/kappa`` mV
with the delay in ms, ``V_min = -inf`` (default).

Differences from tem_sim that NEST does not allow us to remove:
``iaf_psc_delta`` (grid-based) accepts ``t_ref = 0`` but puts spikes on the
``resolution`` grid; ``iaf_psc_delta_ps`` (precise spike times) requires
``t_ref >= resolution``, so every spike loses ``t_ref`` of integrated drive;
both reset *to* ``V_reset`` instead of subtracting ``2 delta``, so the
overshoot of an input jump that carries ``V`` past threshold is lost.

One thread (``local_num_threads = 1``). Warm time = ``nest.Simulate`` only
(the network is rebuilt after ``ResetKernel`` for each repeat); building
(Create + Connect) is reported separately. NEST compiles nothing at run time.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", required=True)
    ap.add_argument("--model", default="iaf_psc_delta", choices=["iaf_psc_delta", "iaf_psc_delta_ps"])
    ap.add_argument("--resolution-ms", type=float, default=0.1)
    ap.add_argument("--t-ref-ms", type=float, default=None,
                    help="refractory period (default: 0 for iaf_psc_delta, the resolution for _ps, "
                         "the smallest each allows)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--record")
    args = ap.parse_args(argv)

    import numpy as np
    import nest
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older NEST
        nest.set_verbosity("M_ERROR")
    with np.load(args.net) as f:
        data = {k: f[k] for k in f.files}
    n = int(data["n"])
    ms = float(data["ms_per_unit"])
    kappa, delta = float(data["kappa"]), float(data["delta"])
    t_ref = args.t_ref_ms
    if t_ref is None:
        t_ref = 0.0 if args.model == "iaf_psc_delta" else args.resolution_ms
    pre = np.asarray(data["pre"], dtype=np.int64) + 1      # NEST node ids start at 1
    post = np.asarray(data["post"], dtype=np.int64) + 1
    weights = np.ascontiguousarray(np.asarray(data["w"], dtype=float) / kappa)
    delays = np.full(pre.size, float(data["delay"]) * ms)
    t_sim = float(data["t_end"]) * ms

    out = {"peer": f"nest-{args.model}", "version": nest.__version__, "resolution_ms": args.resolution_ms,
           "t_ref_ms": t_ref, "model": args.model}
    walls, builds = [], []
    for rep in range(max(1, args.repeats)):
        nest.ResetKernel()
        nest.SetKernelStatus({"resolution": args.resolution_ms, "local_num_threads": 1,
                              "print_time": False})
        ta = time.perf_counter()
        nodes = nest.Create(args.model, n, params={
            "tau_m": 1e10, "C_m": 1.0, "E_L": 0.0, "V_th": delta, "V_reset": -delta, "t_ref": t_ref})
        nodes.set(I_e=(np.asarray(data["drive"], dtype=float) / (kappa * ms)).tolist(),
                  V_m=np.asarray(data["v0"], dtype=float).tolist())
        rec = nest.Create("spike_recorder")
        nest.Connect(nodes, rec)
        if pre.size:
            nest.Connect(pre, post, "one_to_one", {"synapse_model": "static_synapse",
                                                   "weight": weights, "delay": delays})
        tb = time.perf_counter()
        nest.Simulate(t_sim)
        tc = time.perf_counter()
        builds.append(tb - ta)
        walls.append(tc - tb)
        if rep == 0:
            out["cold_s"] = tc - ta     # first build + simulate
    ev = rec.get("events")
    times = np.asarray(ev["times"], dtype=float) / ms
    idx = np.asarray(ev["senders"], dtype=np.int64) - 1
    out["spikes"] = int(times.size)
    out["walls_s"] = walls
    out["wall_s"] = statistics.median(walls)
    out["build_s"] = statistics.median(builds)
    k = data["pre"].size / float(n)
    out["events_per_s"] = out["spikes"] * k / out["wall_s"] if out["wall_s"] > 0 else None
    if args.record:
        np.savez(args.record, times=times, indices=idx)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
