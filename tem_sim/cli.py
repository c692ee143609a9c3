"""The ``tem-sim`` command line (also ``python -m tem_sim``).

Subcommands are thin wrappers over the public API: argument parsing and
validation here, the work in the library. Errors in the user's input print a
one-line message and exit with status 2, never a traceback::

    tem-sim demo [--seed S] [--out DIR] [--quiet]
    tem-sim reproduce fig1|fig2|fig3|all [--quick] [--jobs N | --scheduler ADDRESS] [--seed S] [--out DIR] [--quiet]
    tem-sim bench [--quick] [--peers] [--json]
    tem-sim simulate MODEL.npz -o SPIKES.npz [--t-end T] [--max-spikes N] [--quiet]
    tem-sim train [EXAMPLES.npz] [--example MODEL.npz SPIKES.npz ...] -o FIT.npz
                  [--method auto|lstsq|osqp] [--inequalities] [--jobs N] [--quiet]

``simulate`` and ``train`` work on files (schemas in :mod:`tem_sim.io`; spike
files are :meth:`SpikeTrains.save <tem_sim.spikes.SpikeTrains.save>`'s).
Any one input file and the output may be ``-`` for stdin/stdout, so
``tem-sim simulate model.npz -o - | tem-sim train --example model.npz - -o fit.npz``
works; messages then go to stderr so that stdout carries only the ``.npz``.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .exceptions import TemSimError, ValidationError

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
    from .reproduce import fig3_network
    from .twolayer import align_to_truth, fit_two_layer, simulate_two_layer

    say = (lambda *a: None) if args.quiet else print
    hid, out, kernel, W1, W2, xs = fig3_network(np.random.default_rng(np.random.SeedSequence([args.seed, 0])))
    t0 = time.perf_counter()
    sims = [simulate_two_layer(x, W1, W2, hid, out, kernel, DEMO_DURATION) for x in xs]
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_two_layer(xs, [o for _, o in sims], hid, out, 2, kernel, seed=args.seed, warn=False)
    t_fit = time.perf_counter() - t0
    say(f"tem_sim demo (seed {args.seed}): the paper's two-layer network (Figure 3), 2 inputs -> "
        f"2 hidden (kappa=10, delta=1, b=10) -> 4 outputs (kappa=delta=b=1), {len(xs)} examples, D = {DEMO_DURATION:g}")
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
        plot.two_layer_overview(W1, W2, al.W1, al.W2, sims[0][0], sims[0][1], ax)
        ax[1, 0].set_title("example 1: hidden spikes (first 4 used)")
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
                         progress=False if args.quiet else None, scheduler=args.scheduler)
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


# --------------------------------------------------------------------------- files and pipes
STDIO = "-"


def _shown(path: str) -> str:
    return "<stdin>" if path == STDIO else path


def _stdin() -> io.BytesIO:
    """All of stdin, in memory (``np.load`` needs a seekable stream)."""
    if sys.stdin is None or sys.stdin.isatty():
        raise ValidationError("-", "a terminal", "a file piped into stdin (e.g. from tem-sim simulate -o -)")
    buf = io.BytesIO(sys.stdin.buffer.read())
    buf.name = "<stdin>"  # type: ignore[attr-defined]  # shown in the error messages of tem_sim.io
    return buf


def _load(loader: Callable[[Any], Any], path: str) -> Any:
    """``loader(path)`` (stdin for ``-``); errors about a key name the file too."""
    try:
        return loader(_stdin() if path == STDIO else path)
    except ValidationError as exc:
        if exc.name == "path":
            raise ValidationError("path", _shown(path), exc.expected) from None
        raise ValidationError(f"{_shown(path)}: {exc.name}", exc.value, exc.expected) from None


def _check_out(path: str, option: str = "-o") -> None:
    """Reject an output path that cannot be written, before any work is done."""
    if path == STDIO:
        if sys.stdout is None or sys.stdout.isatty():
            raise ValidationError(option, "- (a terminal)", "a file, or - with stdout piped or redirected")
        return
    p = Path(path)
    if p.is_dir():
        raise ValidationError(option, path, "a file name, not a folder")
    if not p.parent.is_dir():
        raise ValidationError(option, path, f"a file in an existing folder ({p.parent} does not exist)")


def _write_out(path: str, write: Callable[[Any], None]) -> None:
    """``write(f)`` to the file ``path`` (exactly that name) or, for ``-``, to stdout."""
    if path == STDIO:
        buf = io.BytesIO()
        write(buf)
        sys.stdout.buffer.write(buf.getvalue())
        sys.stdout.buffer.flush()
        return
    with open(path, "wb") as f:
        write(f)


def _sayer(args: argparse.Namespace) -> Callable[..., None]:
    """print, to stderr when stdout carries the output file, or nothing with --quiet."""
    if args.quiet:
        return lambda *a: None
    stream = sys.stderr if args.output == STDIO else sys.stdout
    return lambda *a: print(*a, file=stream)


def _simulate(args: argparse.Namespace) -> int:
    from .engine import DEFAULT_MAX_SPIKES, encode
    from .io import load_model

    say = _sayer(args)
    _check_out(args.output)
    m = _load(load_model, args.model)
    t_end = m.t_end if args.t_end is None else args.t_end
    max_spikes = DEFAULT_MAX_SPIKES if args.max_spikes is None else args.max_spikes
    t0 = time.perf_counter()
    spikes = encode(m.signals, m.weights, m.neurons, t_end, max_spikes=max_spikes)
    dt = time.perf_counter() - t0
    _write_out(args.output, spikes.save)
    say(f"tem-sim simulate: {m.neurons.n} neurons x {m.signals.n_signals} inputs on [0, {t_end:g}]: "
        f"{spikes.count} spikes in {dt * 1e3:.1f} ms -> {args.output if args.output != STDIO else '<stdout>'}")
    return 0


def _read_spikes(path: str) -> Any:
    from .spikes import SpikeTrains
    return _load(SpikeTrains.load, path)


def _gather_examples(args: argparse.Namespace) -> tuple[Any, list]:
    """The neurons and examples of every input file, checked to agree with one another."""
    from .io import load_examples, load_model

    pairs = [tuple(p) for p in args.example or []]
    if args.examples is None and not pairs:
        raise ValidationError("EXAMPLES.npz", "nothing", "an examples file or at least one --example MODEL SPIKES pair")
    inputs = ([args.examples] if args.examples is not None else []) + [f for p in pairs for f in p]
    if inputs.count(STDIO) > 1:
        raise ValidationError("-", f"{inputs.count(STDIO)} inputs read from stdin", "at most one")
    neurons, examples, first = None, [], ""

    def add(nrn: Any, exs: list, name: str) -> None:
        nonlocal neurons, first
        if neurons is None:
            neurons, first = nrn, name
        elif nrn != neurons:
            raise ValidationError(name, "other neuron parameters", f"the neurons of {first}")
        n_in = examples[0][0].n_signals if examples else exs[0][0].n_signals
        for x, _ in exs:
            if x.n_signals != n_in:
                raise ValidationError(f"{name}: coefficients", f"{x.n_signals} inputs", f"{n_in} like {first}")
        examples.extend(exs)

    if args.examples is not None:
        nrn, exs = _load(load_examples, args.examples)
        add(nrn, exs, _shown(args.examples))
    for model_path, spikes_path in pairs:
        m = _load(load_model, model_path)
        st = _read_spikes(spikes_path)
        if st.n_neurons != m.neurons.n:
            raise ValidationError(f"{_shown(spikes_path)}: n_neurons", st.n_neurons,
                                  f"the number of neurons of {_shown(model_path)}, {m.neurons.n}")
        if st.t_start != 0.0:
            raise ValidationError(f"{_shown(spikes_path)}: t_start", st.t_start, "0 (spikes of a run from t = 0)")
        add(m.neurons, [(m.signals, st)], _shown(model_path))
    return neurons, examples


def _train(args: argparse.Namespace) -> int:
    from .io import save_fit
    from .training import fit_layer

    if args.method == "lstsq" and args.inequalities:
        raise ValidationError("--method", "lstsq", "'osqp' or 'auto' with --inequalities (lstsq has no constraints)")
    say = _sayer(args)
    _check_out(args.output)
    neurons, examples = _gather_examples(args)
    t0 = time.perf_counter()
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        from .parallel import init_worker
        with ProcessPoolExecutor(max_workers=args.jobs, initializer=init_worker) as ex:
            fit = fit_layer(examples, neurons, method=args.method, inequalities=args.inequalities,
                            executor=ex, warn=False)
    else:
        fit = fit_layer(examples, neurons, method=args.method, inequalities=args.inequalities, warn=False)
    dt = time.perf_counter() - t0
    _write_out(args.output, lambda f: save_fit(f, fit))
    n_out, n_in = fit.weights.shape
    ok = fit.identifiable
    info = fit.info
    say(f"tem-sim train: {n_out} neurons x {n_in} inputs from {len(examples)} example{'s' * (len(examples) != 1)} "
        f"({sum(st.count for _, st in examples)} output spikes), {info[0]['method']} in {dt * 1e3:.1f} ms "
        f"-> {args.output if args.output != STDIO else '<stdout>'}")
    if ok.any():
        cond = max(d["condition"] for d in info if d["identifiable"])
        say(f"  identifiable: {int(ok.sum())} of {n_out} neurons (full rank {n_in}; condition <= {cond:.3g})")
    else:
        say(f"  identifiable: 0 of {n_out} neurons")
    if not ok.all():
        bad = [d for d in info if not d["identifiable"]]
        desc = ", ".join(f"neuron {d['neuron']} ({d['n_spikes']} spikes, rank {d['rank']}/{d['n_unknowns']})"
                         for d in bad[:10]) + (", ..." if len(bad) > 10 else "")
        print(f"tem-sim: warning: {len(bad)} of {n_out} neurons not identifiable: {desc}; their weights are the "
              "minimum-norm/regularised answer, not determined by the data (add examples or duration)", file=sys.stderr)
    inacc = [d["neuron"] for d in info if d["status"] != "solved"]
    if inacc:
        print(f"tem-sim: warning: OSQP returned inaccurate solutions for neurons {inacc}", file=sys.stderr)
    return 0


def _number(kind: type, minimum: float, strict: bool) -> Callable[[str], Any]:
    """An argparse type: ``kind`` (int or float), finite, ``>= minimum`` (``> minimum`` if ``strict``)."""
    what = "an integer" if kind is int else "a number"
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"

    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what} (got {text!r})") from None
        if not (np.isfinite(v) and (v > minimum if strict else v >= minimum)):
            raise argparse.ArgumentTypeError(f"must be {'a finite number' if kind is float else what} "
                                             f"{bound} (got {text})")
        return v
    return parse


_nonneg_int = _number(int, 0, strict=False)
_pos_int = _number(int, 1, strict=False)
_pos_float = _number(float, 0.0, strict=True)


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
    where = r.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=_pos_int, default=1, help="worker processes (default 1)")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run the cells on a Dask cluster: its scheduler's address (e.g. tcp://host:8786); "
                            "the numbers are bitwise those of a serial run")
    r.add_argument("--seed", type=_nonneg_int, default=0, help="seed of every random draw (default 0)")
    r.add_argument("--out", default="tem_sim_reproduce", help="output folder (default tem_sim_reproduce/)")
    r.add_argument("--quiet", action="store_true", help="no progress bar, only the summary counts")
    r.set_defaults(func=_reproduce)
    b = sub.add_parser("bench", help="run the benchmark suite (bench/run.py of a source checkout)")
    b.add_argument("--quick", action="store_true", help="small sizes")
    b.add_argument("--peers", action="store_true", help="also run the peer simulators")
    b.add_argument("--json", action="store_true", help="print the rows as JSON")
    b.set_defaults(func=_bench)
    s = sub.add_parser("simulate", help="simulate a model file's layer; write its spikes (SpikeTrains .npz)")
    s.add_argument("model", metavar="MODEL.npz", help="model file (tem_sim.io schema), or - for stdin")
    s.add_argument("-o", "--output", metavar="SPIKES.npz", required=True, help="spike file to write, or - for stdout")
    s.add_argument("--t-end", metavar="T", type=_pos_float, default=None, help="end of the window (default: the model's t_end)")
    s.add_argument("--max-spikes", metavar="N", type=_pos_int, default=None,
                   help="fail rather than emit more spikes (default: the engine's DEFAULT_MAX_SPIKES)")
    s.add_argument("--quiet", action="store_true", help="print only the errors")
    s.set_defaults(func=_simulate)
    t = sub.add_parser("train", help="learn a layer's weights from examples files; write weights and diagnostics")
    t.add_argument("examples", metavar="EXAMPLES.npz", nargs="?", default=None,
                   help="examples file (tem_sim.io schema), or - for stdin")
    t.add_argument("--example", nargs=2, action="append", metavar=("MODEL.npz", "SPIKES.npz"),
                   help="one more example: a model file's neurons and inputs with a spike file (repeatable; "
                        "either may be -)")
    t.add_argument("-o", "--output", metavar="FIT.npz", required=True, help="fit file to write, or - for stdout")
    t.add_argument("--method", choices=["auto", "lstsq", "osqp"], default="auto",
                   help="solver (default auto: least squares unless --inequalities)")
    t.add_argument("--inequalities", action="store_true", help="add the no-spike inequalities (OSQP)")
    t.add_argument("--jobs", metavar="N", type=_pos_int, default=1, help="worker processes (default 1)")
    t.add_argument("--quiet", action="store_true", help="print only errors and warnings")
    t.set_defaults(func=_train)
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
