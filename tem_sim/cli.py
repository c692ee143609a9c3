"""The ``tem-sim`` command line (also ``python -m tem_sim``).

Subcommands are thin wrappers over the public API: argument parsing and
validation here, the work in the library. Errors in the user's input print a
one-line message and exit with status 2, never a traceback.

    tem-sim demo [--seed S] [--out DIR] [--quiet]
    tem-sim reproduce fig1|fig2|fig3|all [--quick] [--jobs N] [--seed S] [--out DIR] [--quiet]
    tem-sim bench [--quick] [--peers] [--json]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from .exceptions import TemSimError

DEMO_DURATION = 34.0
DEMO_TOLERANCE = 1e-6


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _matrix(name: str, true: np.ndarray, rec: np.ndarray) -> list[str]:
    lines = [f"  {name}: true | recovered | |error|"]
    for a, b in zip(true, rec):
        lines.append("    " + " ".join(f"{v:9.6f}" for v in a) + "  | " + " ".join(f"{v:9.6f}" for v in b)
                     + "  | " + " ".join(f"{abs(u - v):8.1e}" for u, v in zip(a, b)))
    return lines


def _demo(args: argparse.Namespace) -> int:
    from .kernels import PeriodicLowpass
    from .neurons import Neurons
    from .signals import FourierSignals
    from .twolayer import align_to_truth, fit_two_layer, simulate_two_layer

    say = (lambda *a: None) if args.quiet else print
    rng = np.random.default_rng(np.random.SeedSequence([args.seed, 0]))
    hid = Neurons(2, kappa=10.0, delta=1.0, bias=10.0)
    out = Neurons(4, kappa=1.0, delta=1.0, bias=1.0)
    kernel = PeriodicLowpass(10.0, 7, first=4)
    W1, W2 = rng.random((2, 2)), rng.random((4, 2))
    xs = [FourierSignals.random_paper(2, 10, 10.0, seed=rng) for _ in range(2)]
    t0 = time.perf_counter()
    sims = [simulate_two_layer(x, W1, W2, hid, out, kernel, DEMO_DURATION) for x in xs]
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_two_layer(xs, [o for _, o in sims], hid, out, 2, kernel, seed=args.seed, warn=False)
    t_fit = time.perf_counter() - t0
    say(f"tem_sim demo (seed {args.seed}): the paper's two-layer network (Figure 3), 2 inputs -> "
        f"2 hidden (kappa=10, delta=1, b=10) -> 4 outputs (kappa=delta=b=1), 2 examples, D = {DEMO_DURATION:g}")
    say(f"  simulated {sum(o.count for _, o in sims)} output spikes in {t_sim * 1e3:.1f} ms; "
        f"trained both layers from inputs + output spikes only in {t_fit * 1e3:.1f} ms")
    if not res.report.success or not (np.all(np.isfinite(res.W1)) and np.all(np.isfinite(res.W2))):
        print(f"tem-sim: error: training failed: {res.report.reason}", file=sys.stderr)
        return 1
    al = align_to_truth(res, W1, W2)
    err1, err2 = float(np.abs(al.W1 - W1).max()), float(np.abs(al.W2 - W2).max())
    for line in _matrix("W1 (hidden x inputs)", W1, al.W1) + _matrix("W2 (outputs x hidden)", W2, al.W2):
        say(line)
    print(f"  max |error|: W1 {err1:.2e}, W2 {err2:.2e}  (Frobenius: W1 {al.errors['W1_fro']:.2e}, "
          f"W2 {al.errors['W2_fro']:.2e}); hidden permutation {al.permutation.tolist()}")
    ok = max(err1, err2) <= DEMO_TOLERANCE
    print(f"  {'OK' if ok else 'FAILED'}: recovered weights within {DEMO_TOLERANCE:g} of the truth")
    if _have_matplotlib():
        from . import plot
        plt = plot._plt()
        outdir = Path(args.out)
        outdir.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(2, 2, figsize=(10, 7))
        plot.weights_comparison(W1, al.W1, ax[0, 0], "W1")
        plot.weights_comparison(W2, al.W2, ax[0, 1], "W2")
        plot.raster(sims[0][0], ax[1, 0], color="tab:blue", label="hidden neuron")
        ax[1, 0].set_title("example 1: hidden spikes (first 4 used)")
        plot.raster(sims[0][1], ax[1, 1], label="output neuron")
        ax[1, 1].set_title("example 1: output spikes (the training data)")
        fig.tight_layout()
        path = outdir / "demo.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        say(f"  figure: {path}")
    else:
        say("  matplotlib is not installed: no figure (pip install 'tem_sim[plot]')")
    return 0 if ok else 1


def _reproduce(args: argparse.Namespace) -> int:
    from .reproduce import FIGURES, format_comparison, run_figure, write_outputs

    figures = list(FIGURES) if args.figure == "all" else [args.figure]
    out = Path(args.out)
    plots = _have_matplotlib()
    t0 = time.perf_counter()
    for f in figures:
        res = run_figure(f, quick=args.quick, jobs=args.jobs, seed=args.seed,
                         progress=False if args.quiet else None)
        files = write_outputs(res, out, figure=plots)
        print(format_comparison(res, detail=not args.quiet))
        if not args.quiet:
            print("  wrote " + ", ".join(str(p) for p in files))
    if not plots and not args.quiet:
        print("matplotlib is not installed: no PNG figures (pip install 'tem_sim[plot]')")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


def find_bench() -> Path | None:
    """``bench/run.py`` next to the package source, or in the current directory (None if absent)."""
    for base in (Path(__file__).resolve().parents[1], Path.cwd()):
        p = base / "bench" / "run.py"
        if p.is_file():
            return p
    return None


def _bench(args: argparse.Namespace) -> int:
    runner = find_bench()
    if runner is None:
        print("tem-sim: error: bench/run.py not found next to the package or in the current directory "
              "(the benchmarks ship with the source checkout, not with an installed wheel)", file=sys.stderr)
        return 2
    cmd = [sys.executable, str(runner)] + [f for f, on in (("--quick", args.quick), ("--peers", args.peers),
                                                            ("--json", args.json)) if on]
    return subprocess.call(cmd, cwd=str(runner.parent.parent))


def _nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (got {v})")
    return v


def _pos_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (got {v})")
    return v


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tem-sim``."""
    p = _Parser(prog="tem-sim", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    d = sub.add_parser("demo", help="simulate the paper's two-layer network and train it back from its spikes")
    d.add_argument("--seed", type=_nonneg_int, default=0, help="seed of every random draw (default 0)")
    d.add_argument("--out", default="tem_sim_demo", help="folder of the figure (default tem_sim_demo/)")
    d.add_argument("--quiet", action="store_true", help="print only the errors")
    d.set_defaults(func=_demo)
    r = sub.add_parser("reproduce", help="the paper's Figures 1-3, compared cell by cell with the published numbers")
    r.add_argument("figure", choices=["fig1", "fig2", "fig3", "all"])
    r.add_argument("--quick", action="store_true", help="a small grid (seconds) instead of the paper's")
    r.add_argument("--jobs", type=_pos_int, default=1, help="worker processes (default 1)")
    r.add_argument("--seed", type=_nonneg_int, default=0, help="seed of every random draw (default 0)")
    r.add_argument("--out", default="tem_sim_reproduce", help="output folder (default tem_sim_reproduce/)")
    r.add_argument("--quiet", action="store_true", help="no progress bar, only the summary counts")
    r.set_defaults(func=_reproduce)
    b = sub.add_parser("bench", help="run the benchmark suite (bench/run.py of a source checkout)")
    b.add_argument("--quick", action="store_true", help="small sizes")
    b.add_argument("--peers", action="store_true", help="also run the peer simulators")
    b.add_argument("--json", action="store_true", help="print the rows as JSON")
    b.set_defaults(func=_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tem-sim`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (TemSimError, ValueError, OSError) as exc:
        print(f"tem-sim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tem-sim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
