"""Sweeps (tem_sim.parallel.sweep, tem-sim reproduce --scheduler) on real Dask clusters: bitwise the serial results.

A one-worker ``LocalCluster`` keeps CI light: the in-process one (``processes=False``)
for the command line, a one-process one over TCP for the Python helper (tasks and
results cross a process boundary as they do on a real cluster).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tem_sim import ValidationError
from tem_sim.cli import main
from tem_sim.parallel import scheduler_name, sweep
from tem_sim.reproduce import fig1_cell, fig2_cell

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402  (installed with distributed)

NOBODY = "tcp://127.0.0.1:1"       # no scheduler listens there: refused at once, then retried until the
QUICK_REFUSAL = {"distributed.comm.timeouts.connect": "1s"}         # connect timeout, 1 s in these tests

# Figure 1 and 2 cells: (seed, examples, duration or noise level); each draws from its own seed
FIG1_TASKS = [(3, e, d) for e in (1, 3, 5) for d in (5, 10)]
FIG2_TASKS = [(3, 4, 0), (3, 16, 4), (3, 1, 8)]


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def update(self, n: int = 1) -> None:
        self.n += n


def _fails_on_two(x: int) -> int:
    if x == 2:
        raise ArithmeticError(f"task {x} failed")
    return x * x


@pytest.fixture(scope="module")
def serial():
    return sweep(fig1_cell, FIG1_TASKS), sweep(fig2_cell, FIG2_TASKS)


def _bitwise(a: list[dict], b: list[dict]) -> None:
    # float fields compared as their bit patterns (nan == nan, -0.0 != 0.0)
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            if isinstance(ra[k], float):
                assert np.float64(ra[k]).tobytes() == np.float64(rb[k]).tobytes(), k
            else:
                assert ra[k] == rb[k], k


def test_serial_rows_are_real_fits(serial):
    rows1, _ = serial
    assert [(r["examples"], r["duration"]) for r in rows1] == [(e, d) for _, e, d in FIG1_TASKS]
    assert any(r["identifiable"] and r["error"] < 1e-6 for r in rows1)     # the sweep ran the fits
    assert any(not r["identifiable"] for r in rows1)


def test_process_cluster_by_address_and_client_match_serial(serial):
    rows1, rows2 = serial
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tcp",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        bar = Counter()
        _bitwise(sweep(fig1_cell, FIG1_TASKS, scheduler=address, progress=bar), rows1)
        assert bar.n == len(FIG1_TASKS)
        with distributed.Client(cluster) as client:
            _bitwise(sweep(fig2_cell, FIG2_TASKS, scheduler=client), rows2)
            assert scheduler_name(client) == address
            # a failing task raises its own exception here, and the client given stays usable
            with pytest.raises(ArithmeticError, match="task 2 failed"):
                sweep(_fails_on_two, [1, 2, 3], scheduler=client)
            assert sweep(_fails_on_two, [3, 1, 3], scheduler=client) == [9, 1, 9]   # equal tasks: each runs
            assert sweep(_fails_on_two, [], scheduler=client) == []
            assert client.status == "running"


def test_local_processes_match_serial(serial):
    _bitwise(sweep(fig1_cell, FIG1_TASKS, jobs=2), serial[0])


def test_sweep_arguments():
    assert sweep(abs, []) == [] and sweep(abs, (-1, 2)) == [1, 2]
    with pytest.raises(ValidationError, match="jobs"):
        sweep(abs, [1], jobs=0)
    with pytest.raises(ValidationError, match="jobs"):
        sweep(abs, [1], jobs=2, scheduler=NOBODY)
    with pytest.raises(ValidationError, match="scheduler"):
        sweep(abs, [1], scheduler=8786)
    with pytest.raises(ValidationError, match="scheduler"):
        sweep(abs, [1], scheduler="  ")
    with dask.config.set(QUICK_REFUSAL), pytest.raises(ValidationError, match="scheduler"):
        sweep(abs, [1], scheduler=NOBODY)


def test_cli_reproduce_on_local_cluster_equals_serial_json(tmp_path, capsys):
    """``tem-sim reproduce fig1 --quick --scheduler ADDRESS`` writes the serial run's JSON, but for
    the wall time and the scheduler's address."""
    assert main(["reproduce", "fig1", "--quick", "--quiet", "--out", str(tmp_path / "serial")]) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert main(["reproduce", "fig1", "--quick", "--quiet", "--scheduler", cluster.scheduler_address,
                     "--out", str(tmp_path / "dask")]) == 0
    out = capsys.readouterr().out
    assert f"on Dask scheduler {cluster.scheduler_address}" in out
    a = json.loads((tmp_path / "serial" / "fig1.json").read_text())
    b = json.loads((tmp_path / "dask" / "fig1.json").read_text())
    assert a["scheduler"] is None and b["scheduler"] == cluster.scheduler_address
    assert a["jobs"] == b["jobs"] == 1
    for doc in (a, b):
        del doc["seconds"], doc["scheduler"]
    assert a == b and len(a["rows"]) == 15
    assert (tmp_path / "serial" / "fig1.csv").read_text() == (tmp_path / "dask" / "fig1.csv").read_text()


def test_cli_scheduler_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "fig1", "--quick", "--jobs", "2", "--scheduler", NOBODY])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    with dask.config.set(QUICK_REFUSAL):
        assert main(["reproduce", "fig1", "--quick", "--quiet", "--scheduler", NOBODY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tem-sim: error: scheduler:") and err.count("\n") == 1
