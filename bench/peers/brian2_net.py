"""Run a network described by a bench .npz file in Brian2 and print one JSON line.

Runs inside bench/.venv-peers (see setup_peers.sh); bench/bench_network.py
starts it as a subprocess. The network file (written by bench_network.py)
holds the graph (``pre``, ``post``, ``w``), the per-neuron constant drive
``drive`` and initial value ``v0``, the shared ``kappa`` and ``delta``, one
``delay`` and ``t_end`` in model units; one model unit is ``ms_per_unit``
milliseconds (1000: rates of ~10 spikes per unit are 10 Hz, a delay of 0.001
units is 1 ms).

Model, the same as tem_sim's perfect integrate-and-fire TEM:
``dv/dt = u/kappa``, threshold ``v >= delta``, subtractive reset
``v -= 2*delta`` (Brian2 resets once per step; a neuron still above threshold
fires again on the next step), delta synapses ``v += w/kappa`` after the delay.
Clock-driven with step ``dt`` (default 0.1 ms = 1e-4 units): spike times lie on
the grid, threshold crossings are detected at the end of the step.

Modes: ``cython`` (Brian2's default runtime target: the first build compiles
Cython code, reported as cold; warm runs rebuild the network in the same
process from the compiled cache and time ``net.run`` only) and ``standalone``
(``cpp_standalone``: generates and compiles C++ once, reported as cold; the
binary is then run ``repeats`` times and Brian2's own timer of the network run,
which excludes building synapses and writing results, is the warm time).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time


def load(path):
    import numpy as np
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def build(b2, net_data, dt_ms):
    """Create the Brian2 objects; returns (Network, SpikeMonitor)."""
    import numpy as np
    ms_per_unit = float(net_data["ms_per_unit"])
    tunit = ms_per_unit * b2.ms
    n = int(net_data["n"])
    b2.defaultclock.dt = dt_ms * b2.ms
    ns = {"kappa": float(net_data["kappa"]), "delta": float(net_data["delta"]), "tunit": tunit}
    G = b2.NeuronGroup(n, "dv/dt = u / (kappa * tunit) : 1\nu : 1 (constant)",
                       threshold="v >= delta", reset="v -= 2*delta", method="euler",  # exact for a constant right-hand side
                       namespace=ns, name="tem")
    G.u = net_data["drive"]
    G.v = net_data["v0"]
    S = b2.Synapses(G, G, "w : 1 (constant)", on_pre="v += w / kappa", namespace=ns, name="syn")
    S.connect(i=np.asarray(net_data["pre"], dtype=np.int32), j=np.asarray(net_data["post"], dtype=np.int32))
    S.w = net_data["w"]
    S.delay = float(net_data["delay"]) * tunit
    mon = b2.SpikeMonitor(G, name="spikes")
    net = b2.Network(G, S, mon)
    return net, mon


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", required=True, help="network .npz written by bench_network.py")
    ap.add_argument("--mode", choices=["cython", "standalone"], default="cython")
    ap.add_argument("--dt-ms", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--record", help="write the spikes (times in model units, indices) to this .npz")
    args = ap.parse_args(argv)

    import numpy as np
    import brian2 as b2
    b2.prefs.codegen.target = "cython" if args.mode == "cython" else "numpy"
    b2.prefs.logging.console_log_level = "WARNING"
    data = load(args.net)
    t_end = float(data["t_end"])
    ms_per_unit = float(data["ms_per_unit"])
    duration = t_end * ms_per_unit * b2.ms
    out = {"peer": f"brian2-{args.mode}", "version": b2.__version__, "numpy": np.__version__,
           "dt_ms": args.dt_ms, "mode": args.mode}
    walls = []
    if args.mode == "cython":
        t0 = time.perf_counter()
        net, mon = build(b2, data, args.dt_ms)
        t1 = time.perf_counter()
        net.run(duration)
        t2 = time.perf_counter()
        out["cold_s"] = t2 - t0          # first build + run in this process, Cython compilation included
        out["first_build_s"] = t1 - t0
        for _ in range(args.repeats):
            b2.start_scope()
            net, mon = build(b2, data, args.dt_ms)
            ta = time.perf_counter()
            net.run(duration)
            walls.append(time.perf_counter() - ta)
        spikes_i, spikes_t = np.asarray(mon.i[:]), np.asarray(mon.t[:] / b2.ms) / ms_per_unit
    else:
        work = tempfile.mkdtemp(prefix="b2sa_")
        b2.set_device("cpp_standalone", build_on_run=False, directory=work)
        net, mon = build(b2, data, args.dt_ms)
        net.run(duration)
        t0 = time.perf_counter()
        b2.device.build(directory=work, compile=True, run=False, with_output=False)
        out["cold_s"] = time.perf_counter() - t0      # code generation + C++ compilation
        for _ in range(args.repeats):
            ta = time.perf_counter()
            b2.device.run(directory=work, with_output=False)
            binary = time.perf_counter() - ta
            walls.append(float(b2.device._last_run_time))
            out.setdefault("binary_wall_s", []).append(binary)
        spikes_i, spikes_t = np.asarray(mon.i[:]), np.asarray(mon.t[:] / b2.ms) / ms_per_unit
    out["spikes"] = int(spikes_i.size)
    out["walls_s"] = walls
    out["wall_s"] = statistics.median(walls)
    k = data["pre"].size / float(data["n"])
    out["events_per_s"] = out["spikes"] * k / out["wall_s"] if out["wall_s"] > 0 else None
    if args.record:
        np.savez(args.record, times=spikes_t, indices=spikes_i)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
