"""The ``tem-sim`` command line (also ``python -m tem_sim``).

Subcommands are thin wrappers over the public API: argument parsing and
validation here, the work in the library. Errors in the user's input print a
one-line message and exit with status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np

from .exceptions import TemSimError


def _demo(args: argparse.Namespace) -> int:
    from .engine import encode
    from .neurons import Neurons
    from .signals import FourierSignals

    rng = np.random.default_rng(args.seed)
    x = FourierSignals.random_paper(20, 10, 10.0, seed=rng)
    W = rng.random((5, 20))
    nrn = Neurons(5, kappa=1.0, delta=1.0, bias=1.0)
    t0 = time.perf_counter()
    spikes = encode(x, W, nrn, args.duration)
    elapsed = time.perf_counter() - t0
    y = x.mix(W)
    worst = 0.0
    for j in range(nrn.n):
        tj = spikes.neuron(j)
        e1 = (y.integrate(tj[:-1], tj[1:])[j] + nrn.bias[j] * np.diff(tj)) / nrn.kappa[j]
        worst = max(worst, float(np.max(np.abs(e1 - 2 * nrn.delta[j]))) if tj.size > 1 else 0.0)
    print(f"tem_sim demo (seed {args.seed}): the paper's layer, 20 inputs -> 5 TEM neurons, "
          f"duration {args.duration:g}")
    print(f"  spikes per neuron: {spikes.counts().tolist()}")
    print(f"  encoded {spikes.count} spikes in {elapsed * 1e3:.1f} ms "
          f"({spikes.count / max(elapsed, 1e-9):,.0f} spikes/s)")
    print(f"  worst spike-time equation residual |(1/k) int u - 2 delta| = {worst:.2e}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tem-sim", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="simulate the paper's default example and check it")
    d.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    d.add_argument("--duration", type=float, default=100.0, help="simulated duration (default 100)")
    d.set_defaults(func=_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tem-sim`` console script."""
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
