"""Run a canonical LIF network (a bench .npz file) in NEST and print one JSON line.

Runs inside bench/.venv-peers (see setup_peers.sh); bench/bench_canonical.py
starts it as a subprocess. The network file (written by
``bench_canonical.save_network``) holds, in ms and mV:

- the neurons: ``n``, ``tau_m, V_th, V_reset, E_L, t_ref`` (scalars) and the
  initial membrane potentials ``V0`` (one per neuron); ``C_m = 1`` (delta
  synapses make a jump of ``weight`` mV whatever ``C_m`` is);
- the recurrent graph: ``pre, post`` (one entry per synapse, multapses and
  autapses kept), weight ``J_ex`` if ``pre < n_exc`` else ``J_in``, one
  ``delay_ms``;
- an independent Poisson drive per neuron: ``poisson_rate_hz`` (0: none),
  weight ``J_poisson``, delay ``poisson_delay_ms``;
- given spike sources: ``src_times`` (ms), ``src_ids`` (source index), each
  source ``k`` connected to neuron ``src_post[k]`` with weight ``src_w[k]`` and
  delay ``src_delay_ms``;
- ``t_end_ms`` and the resolution ``dt_ms``.

``iaf_psc_delta`` (spikes on the grid) gets a ``poisson_generator`` and
``spike_generator`` s with ``allow_offgrid_times`` (times rounded to the
grid); ``iaf_psc_delta_ps`` (precise spike times) gets a
``poisson_generator_ps`` and ``spike_generator`` s with ``precise_times``.
One thread. Warm time = ``nest.Simulate`` only (the network is rebuilt after
``ResetKernel`` for each repeat); Create + Connect is reported separately.
NEST compiles nothing at run time, so every repeat is warm.
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
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--record", required=True, help="write the spikes (times in ms, indices) to this .npz")
    args = ap.parse_args(argv)

    import numpy as np
    import nest
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older NEST
        nest.set_verbosity("M_ERROR")
    with np.load(args.net) as f:
        d = {k: f[k] for k in f.files}
    n = int(d["n"])
    precise = args.model.endswith("_ps")
    pre = np.asarray(d["pre"], dtype=np.int64)
    post = np.asarray(d["post"], dtype=np.int64)
    w_rec = np.where(pre < int(d["n_exc"]), float(d["J_ex"]), float(d["J_in"]))
    n_src = int(d["n_src"])
    src_times, src_ids = np.asarray(d["src_times"], float), np.asarray(d["src_ids"], np.int64)
    dt = float(d["dt_ms"])
    out = {"peer": f"nest-{args.model}", "version": nest.__version__, "resolution_ms": dt, "model": args.model}
    walls, builds = [], []
    for rep in range(max(1, args.repeats)):
        nest.ResetKernel()
        nest.set(resolution=dt, local_num_threads=1, print_time=False, rng_seed=args.seed + rep)
        ta = time.perf_counter()
        nodes = nest.Create(args.model, n, params={
            "C_m": 1.0, "tau_m": float(d["tau_m"]), "t_ref": float(d["t_ref"]), "E_L": float(d["E_L"]),
            "V_reset": float(d["V_reset"]), "V_th": float(d["V_th"])})
        nodes.set(V_m=np.asarray(d["V0"], dtype=float).tolist())
        rec = nest.Create("spike_recorder")
        nest.Connect(nodes, rec)
        first = nodes[0].global_id
        if pre.size:
            nest.Connect(pre + first, post + first, "one_to_one",
                         {"synapse_model": "static_synapse", "weight": w_rec,
                          "delay": np.full(pre.size, float(d["delay_ms"]))})
        if float(d["poisson_rate_hz"]) > 0:
            pg = nest.Create("poisson_generator_ps" if precise else "poisson_generator",
                             params={"rate": float(d["poisson_rate_hz"])})
            nest.Connect(pg, nodes, "all_to_all", {"weight": float(d["J_poisson"]),
                                                   "delay": float(d["poisson_delay_ms"])})
        if n_src:
            order = np.argsort(src_ids, kind="stable")
            bounds = np.searchsorted(src_ids[order], np.arange(n_src + 1))
            key = "precise_times" if precise else "allow_offgrid_times"
            params = [{"spike_times": src_times[order[bounds[k]:bounds[k + 1]]].tolist(), key: True}
                      for k in range(n_src)]
            gens = nest.Create("spike_generator", n_src, params=params)
            nest.Connect(np.arange(n_src) + gens[0].global_id, np.asarray(d["src_post"], np.int64) + first,
                         "one_to_one", {"weight": np.asarray(d["src_w"], float),
                                        "delay": np.full(n_src, float(d["src_delay_ms"]))})
        tb = time.perf_counter()
        nest.Simulate(float(d["t_end_ms"]))
        tc = time.perf_counter()
        builds.append(tb - ta)
        walls.append(tc - tb)
    ev = rec.get("events")
    times = np.asarray(ev["times"], dtype=float)
    idx = np.asarray(ev["senders"], dtype=np.int64) - first
    out["spikes"] = int(times.size)
    out["walls_s"] = walls
    out["wall_s"] = statistics.median(walls)
    out["build_s"] = statistics.median(builds)
    out["cold_s"] = builds[0] + walls[0]
    np.savez(args.record, times=times, indices=idx)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
