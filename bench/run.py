"""Run tem_sim's benchmarks and print one table (or JSON).

Discovers ``bench/bench_*.py``; each module exposes
``run(quick: bool, peers: bool) -> list[dict]`` returning rows with the keys
``benchmark, unit, tem_sim, baseline_name, baseline, ratio, notes``. Every
row puts tem_sim's figure beside a baseline's or peer's figure measured in the
same run; ``ratio`` is how many times better tem_sim is (for rates
``tem_sim / baseline``, for times and errors ``baseline / tem_sim``).

BLAS is pinned to one thread (threadpoolctl) for the whole run, and the
subprocesses that run peers inherit ``OMP/OPENBLAS/MKL_NUM_THREADS=1``.

Usage (from the repository root)::

    python bench/run.py --quick            # about a minute, no peer simulators
    python bench/run.py --peers            # full sizes, with Brian2 and NEST
    python bench/run.py --only encode      # only bench_encode.py
    python bench/run.py --only fit_scaling # training at scale (bench_fit_scaling.py; several minutes)
    python bench/run.py --quick --json     # machine-readable rows
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
# the in-place build is imported from the source tree; bench helpers from bench/
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)


def discover(only: list[str] | None) -> list[Path]:
    mods = sorted(HERE.glob("bench_*.py"))
    if only:
        want = {o.removeprefix("bench_").removesuffix(".py") for o in only}
        mods = [m for m in mods if m.stem.removeprefix("bench_") in want]
        missing = want - {m.stem.removeprefix("bench_") for m in mods}
        if missing:
            raise SystemExit(f"--only: no bench module named {sorted(missing)} "
                             f"(have {[m.stem for m in sorted(HERE.glob('bench_*.py'))]})")
    return mods


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf"
        if x == 0:
            return "0"
        a = abs(x)
        if a >= 1e5 or a < 1e-2:
            return f"{x:.3g}"
        return f"{x:.3g}" if a < 100 else f"{x:,.0f}"
    return str(x)


def fmt_ratio(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.3g}x" if x < 1e5 else f"{x:.1e}x"


def print_table(rows: list[dict], out=sys.stdout) -> None:
    head = ["#", "benchmark", "unit", "tem_sim", "baseline / peer", "its figure", "ratio"]
    body = []
    for k, r in enumerate(rows, 1):
        body.append([str(k), r["benchmark"], r["unit"] or "", fmt(r["tem_sim"]), r["baseline_name"] or "-",
                     fmt(r["baseline"]), fmt_ratio(r["ratio"])])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    right = {0, 3, 5, 6}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    print(line(head), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for b in body:
        print(line(b), file=out)
    print("\nnotes:", file=out)
    for k, r in enumerate(rows, 1):
        if r.get("notes"):
            print(f"  [{k}] {r['notes']}", file=out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Run tem_sim's benchmarks (bench/bench_*.py).")
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute without --peers)")
    ap.add_argument("--peers", action="store_true",
                    help="also run the peer simulators (Brian2, NEST) from bench/.venv-peers "
                         "(create it with: bash bench/peers/setup_peers.sh)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only bench_NAME.py (repeatable), e.g. --only encode")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits
    import numpy as np

    limiter = threadpool_limits(1)
    header = {
        "python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
        "cpus": os.cpu_count(), "quick": args.quick, "peers": args.peers,
        "blas_threads": 1, "blas_pinned_by": "threadpoolctl.threadpool_limits(1)",
    }
    try:
        import tem_sim
        header["tem_sim"] = getattr(tem_sim, "__version__", "?")
    except Exception as exc:  # the benches will report the failure row by row
        header["tem_sim"] = f"import failed: {exc}"
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header["load_1min"] = load1
    if not args.json:
        print(f"tem_sim bench  (python {header['python']}, numpy {header['numpy']}, "
              f"{header['cpus']} cpus, load average {load1:.2f}, tem_sim {header['tem_sim']})")
        print("BLAS pinned to 1 thread with threadpoolctl; peers run with OMP/OPENBLAS/MKL_NUM_THREADS=1 "
              "and one NEST thread. Figures are medians of warm runs measured in this run; "
              "ratio = how many times better tem_sim is.\n", flush=True)

    rows: list[dict] = []
    failures = 0
    t_all = time.perf_counter()
    with limiter:
        for path in discover(args.only):
            t0 = time.perf_counter()
            if not args.json:
                print(f"running {path.name} ...", flush=True)
            try:
                mod = load(path)
                got = mod.run(quick=args.quick, peers=args.peers)
                for r in got:
                    missing = {"benchmark", "unit", "tem_sim", "baseline_name", "baseline", "ratio",
                               "notes"} - set(r)
                    if missing:
                        raise ValueError(f"{path.name} returned a row without {sorted(missing)}")
                    r = dict(r, module=path.stem)
                    rows.append(r)
            except Exception as exc:
                failures += 1
                traceback.print_exc(file=sys.stderr)
                rows.append({"benchmark": f"{path.stem}: FAILED", "unit": "", "tem_sim": None,
                             "baseline_name": None, "baseline": None, "ratio": None,
                             "notes": f"{type(exc).__name__}: {exc}", "module": path.stem})
            if not args.json:
                print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    header["total_s"] = time.perf_counter() - t_all
    if args.json:
        print(json.dumps({"meta": header, "rows": rows}, indent=1, default=float))
    else:
        print()
        print_table(rows)
        print(f"\ntotal {header['total_s']:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
