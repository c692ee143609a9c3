"""Memory stays bounded on a long run: 10 million spikes.

A layer of 1000 perfect neurons (kappa = delta = 1) with constant, slightly
different biases fires ~1e7 spikes. The run happens in a fresh subprocess so
its peak resident set size (``ru_maxrss``) is not polluted by earlier tests;
the increase over the baseline taken just before ``encode`` must stay within
a small multiple of the output (16 bytes per spike: a float64 time and an
int64 index, ~160 MB). Spikes are streamed into buffers that grow by doubling,
so up to ~2x the output plus the final arrays is expected; a quadratic or
dense-trace implementation would be far above the bound. The figures (spikes,
seconds, MB) are printed (``pytest -s``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tem_sim

N_SPIKES = 10_000_000
BOUND_MB = 600

SCRIPT = r"""
import json, resource, time
import numpy as np
import tem_sim as ts

n = 1000
bias = 2.0 * (1.0 + 0.01 * np.arange(n) / n)     # distinct rates, so spikes rarely coincide
t_end = {n_spikes} / bias.sum() * 2.0 * 1.0001    # kappa = delta = 1: neuron j fires every 2 / bias_j
x = ts.FourierSignals.from_one_sided([[0.0]], 1.0)
W = np.zeros((n, 1))
nrn = ts.Neurons(n, kappa=1.0, delta=1.0, bias=bias)
ts.encode(x, W, nrn, 1.0)                         # warm up (imports, first allocations)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
st = ts.encode(x, W, nrn, t_end, max_spikes=2 * {n_spikes})
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
expect = np.floor(bias * t_end / 2.0 + 1e-9).astype(int)
counts = st.counts()
ok_counts = bool(np.array_equal(counts, expect))
t7 = st.neuron(7)
ok_times = bool(np.allclose(t7, 2.0 / bias[7] * np.arange(1, t7.size + 1), rtol=1e-12, atol=0))
print(json.dumps(dict(spikes=st.count, seconds=seconds, base_mb=base / 1024, peak_mb=peak / 1024,
                      increase_mb=(peak - base) / 1024, output_mb=(st.times.nbytes + st.indices.nbytes) / 2**20,
                      ok_counts=ok_counts, ok_times=ok_times)))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in kB on Linux only")
def test_ten_million_spikes_bounded_memory():
    env = dict(os.environ)
    root = str(Path(tem_sim.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(n_spikes=N_SPIKES)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\n[memory] {r['spikes']} spikes in {r['seconds']:.1f} s; peak RSS +{r['increase_mb']:.0f} MB "
          f"(output arrays {r['output_mb']:.0f} MB, baseline {r['base_mb']:.0f} MB, peak {r['peak_mb']:.0f} MB)")
    assert r["spikes"] >= N_SPIKES
    assert r["ok_counts"] and r["ok_times"], "wrong spikes on the long run"
    assert r["increase_mb"] <= BOUND_MB, f"peak memory +{r['increase_mb']:.0f} MB > {BOUND_MB} MB for 1e7 spikes"
    assert r["increase_mb"] <= 4 * r["output_mb"]
