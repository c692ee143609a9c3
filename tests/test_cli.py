"""The ``tem-sim`` command line: demo, reproduce, bench discovery and bad input."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tem_sim.cli import find_bench, main


def test_demo_recovers_weights_within_1e6(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--seed", "0"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"max \|error\|: W1 (\S+), W2 (\S+?)\s", out)
    assert m, out
    assert float(m.group(1)) <= 1e-6 and float(m.group(2)) <= 1e-6
    assert "OK" in out
    assert (tmp_path / "demo.png").stat().st_size > 1000


def test_demo_quiet_prints_errors_only(tmp_path, capsys):
    assert main(["demo", "--quiet", "--out", str(tmp_path), "--seed", "3"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and out[0].startswith("max |error|")


def test_reproduce_fig1_quick_errors(tmp_path, capsys):
    assert main(["reproduce", "fig1", "--quick", "--quiet", "--out", str(tmp_path), "--seed", "0"]) == 0
    doc = json.loads((tmp_path / "fig1.json").read_text())
    assert doc["seed"] == 0 and doc["quick"] is True
    cells = {(r["examples"], r["duration"]): r for r in doc["rows"]}
    # identifiable from 3 examples on with enough spikes: exact spikes give tiny errors
    for key in [(3, 14), (5, 5), (5, 10), (5, 14), (9, 5), (9, 10), (9, 14)]:
        assert cells[key]["identifiable"], key
        assert cells[key]["error"] <= 1e-8, (key, cells[key]["error"])
    # 1-2 examples: cosine-only inputs span too few dimensions; reported, and bounded
    for e in (1, 2):
        for d in (5, 10, 14):
            assert not cells[(e, d)]["identifiable"]
            assert cells[(e, d)]["error"] < 10
    counts = doc["comparison"]["counts"]["identifiable"]
    assert counts["worse"] == 0 and counts["better"] == counts["cells"] >= 7
    assert (tmp_path / "fig1.csv").read_text().startswith("examples,duration")
    assert (tmp_path / "fig1.png").stat().st_size > 1000
    assert "identifiable cells" in capsys.readouterr().out


def test_reproduce_is_reproducible_and_jobs_independent(tmp_path):
    from tem_sim.reproduce import run_figure

    a = run_figure("fig1", quick=True, jobs=1, seed=7, progress=False)
    b = run_figure("fig1", quick=True, jobs=2, seed=7, progress=False)
    c = run_figure("fig1", quick=True, jobs=1, seed=8, progress=False)
    assert [r["error"] for r in a.rows] == [r["error"] for r in b.rows]
    assert [r["error"] for r in a.rows] != [r["error"] for r in c.rows]


@pytest.mark.parametrize("argv, needle", [
    (["reproduce", "fig5"], "invalid choice"),
    (["reproduce", "fig1", "--jobs", "-2"], "--jobs"),
    (["reproduce", "fig1", "--jobs", "0"], "--jobs"),
    (["reproduce", "fig1", "--seed", "x"], "--seed"),
    (["nope"], "invalid choice"),
])
def test_bad_input_one_line_nonzero(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0]


def test_unwritable_out_is_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["reproduce", "fig1", "--quick", "--quiet", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tem-sim: error:")


def test_bench_is_found_in_checkout():
    assert find_bench() is not None and find_bench().name == "run.py"


def test_python_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "tem_sim", "reproduce", "fig9"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
