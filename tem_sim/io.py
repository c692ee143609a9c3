"""Model, examples and fit files: the ``.npz`` files of ``tem-sim simulate`` and ``tem-sim train``.

Three versioned ``.npz`` layouts let a layer be simulated and trained from
files (and from shell pipelines) instead of Python objects. Each file holds a
``format`` string naming its kind and an integer ``version`` (1 for all
three); every array is stored without pickling.

Model file (``format = "tem_sim.model"``), the input of ``tem-sim simulate``:

==================  =========  ================  =================================================
key                 dtype      shape             meaning
==================  =========  ================  =================================================
``kappa``           float      (n_out,)          integrator constants, > 0
``delta``           float      (n_out,)          half reset-to-threshold distances, > 0
``bias``            float      (n_out,)          biases added to the drive
``tau``             float      (n_out,)          leak time constants, > 0; ``inf``: perfect
``v0``              float      (n_out,)          integrator values at t = 0, in [-delta, delta)
``v_reset``         float      (n_out,)          optional: reset values (``nan``: subtract 2 delta)
``t_ref``           float      (n_out,)          optional: absolute refractory periods, >= 0
``weights``         float      (n_out, n_in)     the layer's weights ``W``
``coefficients``    complex    (n_in, 2M+1)      the inputs' **two-sided** Fourier coefficients
``period``          float      ()                the inputs' common period ``T``
``t_end``           float      ()                end of the simulated window ``[0, t_end]``
==================  =========  ================  =================================================

Other inputs replace ``coefficients`` and ``period`` by an ``input_kind``
string and their own arrays: ``"sinc"`` (:class:`~tem_sim.stimuli.SincSignals`):
``sinc_coefficients`` (n_in, K), ``centers`` (K,), ``bandwidth`` (); ``"piecewise"``
(:class:`~tem_sim.stimuli.PiecewisePolynomials`): ``breaks`` (L+1,) and
``piece_coefficients`` (n_in, L, D+1). A file without ``input_kind`` holds
Fourier inputs (``"fourier"``).

``coefficients`` is :attr:`FourierSignals.coefficients
<tem_sim.signals.FourierSignals.coefficients>`: column ``M + m`` holds
``c_m`` for ``m = -M..M`` with ``c_{-m} = conj(c_m)``, and
``x_i(t) = sum_m C[i, M + m] exp(2 pi i m t / T)``. One-sided coefficients
(the paper's ``c_0 ... c_M``) convert with
``FourierSignals.from_one_sided(c, T).coefficients``.

Examples file (``format = "tem_sim.examples"``), the input of ``tem-sim
train``: the five neuron arrays above, ``n_examples`` (an integer >= 1) and,
for each example ``k = 0 .. n_examples - 1``, the keys
``example{k}/coefficients`` and ``example{k}/period`` (its inputs, as above)
and its output spikes as the arrays of :meth:`SpikeTrains.to_dict
<tem_sim.spikes.SpikeTrains.to_dict>` under the same prefix
(``example{k}/times``, ``/indices``, ``/n_neurons``, ``/t_start``, ``/t_stop``,
``/format_version``). Examples may differ in period, bandwidth and duration;
they share ``n_in``, and every spike window starts at 0.

Fit file (``format = "tem_sim.fit"``), the output of ``tem-sim train``:
``weights`` (n_out, n_in) and one array of shape ``(n_out,)`` per key of
:data:`tem_sim.training.FIT_INFO_KEYS` (``rank``, ``condition``,
``identifiable``, ``residual``, ``n_spikes``, ``status``, ...), the
per-neuron report of :func:`~tem_sim.training.fit_layer`.

Spike files (the output of ``tem-sim simulate``) are the format of
:meth:`SpikeTrains.save <tem_sim.spikes.SpikeTrains.save>` itself.

The writers write exactly to the path given (no ``.npz`` is appended) or to
a binary file object; the readers take a path or a binary file object
(non-seekable streams such as ``sys.stdin.buffer`` are read into memory
first). A file that cannot be read, is not an ``.npz`` archive, is of another
kind or version, misses a key, or holds a value of the wrong shape or a NaN
raises :class:`~tem_sim.exceptions.ValidationError` naming the key, the value
and what was expected.

Examples
--------
>>> import numpy as np
>>> from tem_sim import FourierSignals, Neurons, encode, fit_layer
>>> from tem_sim.io import load_examples, load_model, save_examples, save_model
>>> nrn = Neurons(2, kappa=1.0, delta=1.0, bias=1.0)
>>> x = FourierSignals.random_paper(3, 4, 10.0, seed=0)
>>> W = np.random.default_rng(0).random((2, 3))
>>> save_model("model.npz", nrn, W, x, t_end=10.0)
>>> m = load_model("model.npz")
>>> m.neurons == nrn, m.signals == x, bool(np.array_equal(m.weights, W)), m.t_end
(True, True, True, 10.0)
>>> encode(m.signals, m.weights, m.neurons, m.t_end) == encode(x, W, nrn, 10.0)
True
>>> xs = [FourierSignals.random_paper(3, 4, 10.0, seed=s) for s in (1, 2)]
>>> save_examples("examples.npz", nrn, [(xe, encode(xe, W, nrn, 10.0)) for xe in xs])
>>> neurons, examples = load_examples("examples.npz")
>>> fit = fit_layer(examples, neurons)
>>> bool(np.abs(fit.weights - W).max() < 1e-8)
True
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from ._npz import PathOrFile, get, read_npz, renamed, scalar, write_npz
from ._validation import as_float_array, as_int, as_scalar
from .constraints import check_examples
from .exceptions import ValidationError
from .neurons import Neurons
from .signals import FourierSignals
from .stimuli import PiecewisePolynomials, SincSignals
from .spikes import SpikeTrains, load_spikes
from .training import FIT_INFO_KEYS, FitResult

__all__ = ["FILE_VERSION", "MODEL_FORMAT", "EXAMPLES_FORMAT", "FIT_FORMAT", "Model",
           "save_model", "load_model", "save_examples", "load_examples", "save_fit", "load_fit"]

#: Version of the model, examples and fit layouts written by this module.
FILE_VERSION = 1
#: The ``format`` string of a model file.
MODEL_FORMAT = "tem_sim.model"
#: The ``format`` string of an examples file.
EXAMPLES_FORMAT = "tem_sim.examples"
#: The ``format`` string of a fit file.
FIT_FORMAT = "tem_sim.fit"

_NEURON_KEYS = ("kappa", "delta", "bias", "tau", "v0")


class Model(NamedTuple):
    """The contents of a model file (see :func:`load_model`)."""

    neurons: Neurons
    weights: np.ndarray
    signals: FourierSignals
    t_end: float


# --------------------------------------------------------------------------- headers and parts (the .npz level: tem_sim._npz)
def _check_header(data: dict[str, np.ndarray], kind: str) -> None:
    fmt = get(data, "format", f"the string {kind!r}" + (
        " (this file looks like a spike file written by SpikeTrains.save)"
        if {"times", "indices", "format_version"} <= set(data) else ""))
    if fmt.shape != () or fmt.dtype.kind != "U" or str(fmt[()]) != kind:
        raise ValidationError("format", str(fmt[()]) if fmt.shape == () else fmt, f"the string {kind!r}")
    ver = get(data, "version", f"the integer {FILE_VERSION}")
    v = as_int("version", ver[()] if ver.shape == () else ver)
    if v != FILE_VERSION:
        newer = " (written by a newer tem_sim)" if v > FILE_VERSION else ""
        raise ValidationError("version", v, f"{FILE_VERSION}, the only {kind} version this tem_sim reads{newer}")


def _header(kind: str) -> dict[str, np.ndarray]:
    return {"format": np.array(kind), "version": np.int64(FILE_VERSION)}




def _check_neurons(neurons: Any) -> Neurons:
    if not isinstance(neurons, Neurons):
        raise ValidationError("neurons", type(neurons).__name__, "a Neurons instance")
    return neurons


def _check_signals(name: str, signals: Any) -> Any:
    if not isinstance(signals, (FourierSignals, SincSignals, PiecewisePolynomials)):
        raise ValidationError(name, type(signals).__name__,
                              "a FourierSignals, SincSignals or PiecewisePolynomials bank (analog inputs)")
    return signals


def _neuron_arrays(neurons: Neurons) -> dict[str, np.ndarray]:
    out = {k: np.array(getattr(neurons, k), dtype=np.float64) for k in _NEURON_KEYS}
    # the LIF conventions, written only when used (files of TEM neurons stay as they were)
    if not neurons.is_tem:
        out["v_reset"] = np.array(neurons.v_reset, dtype=np.float64)
        out["t_ref"] = np.array(neurons.t_ref, dtype=np.float64)
    return out


def _load_neurons(data: dict[str, np.ndarray]) -> Neurons:
    kappa = as_float_array("kappa", get(data, "kappa", "the neurons' kappa, shape (n_out,)"), ndim=1)
    n = kappa.shape[0]
    if n == 0:
        raise ValidationError("kappa", "array of shape (0,)", "at least one neuron")
    vals = {"kappa": kappa}
    for k in _NEURON_KEYS[1:]:
        vals[k] = as_float_array(k, get(data, k, f"the neurons' {k}, shape ({n},)"), shape=(n,),
                                 finite=(k != "tau"))
    if np.any(np.isnan(vals["tau"])):
        raise ValidationError("tau", float("nan"), "> 0, or inf for a perfect integrator (not NaN)")
    if "v_reset" in data:
        vr = as_float_array("v_reset", data["v_reset"], shape=(n,), finite=False)
        vals["reset"] = "subtract" if np.all(np.isnan(vr)) else vr
    if "t_ref" in data:
        vals["t_ref"] = as_float_array("t_ref", data["t_ref"], shape=(n,))
    try:
        return Neurons(n, **vals)
    except ValidationError as exc:
        raise renamed(exc, "Neurons.", "") from None


def _signals_arrays(signals: Any, prefix: str = "") -> dict[str, np.ndarray]:
    if isinstance(signals, SincSignals):
        return {prefix + "input_kind": np.array("sinc"),
                prefix + "sinc_coefficients": np.array(signals.coefficients, dtype=np.float64),
                prefix + "centers": np.array(signals.centers, dtype=np.float64),
                prefix + "bandwidth": np.float64(signals.bandwidth)}
    if isinstance(signals, PiecewisePolynomials):
        return {prefix + "input_kind": np.array("piecewise"),
                prefix + "breaks": np.array(signals.breaks, dtype=np.float64),
                prefix + "piece_coefficients": np.array(signals.coefficients, dtype=np.float64)}
    return {prefix + "coefficients": np.array(signals.coefficients, dtype=np.complex128),
            prefix + "period": np.float64(signals.period)}


def _load_signals(data: dict[str, np.ndarray], prefix: str = "") -> Any:
    kind_key = prefix + "input_kind"
    kind = str(data[kind_key]) if kind_key in data else "fourier"
    if kind == "sinc":
        a = get(data, prefix + "sinc_coefficients", "sinc weights, shape (n_in, K)")
        c = get(data, prefix + "centers", "sinc centres, shape (K,)")
        w = scalar(data, prefix + "bandwidth", "the inputs' bandwidth W > 0", positive=True)
        try:
            return SincSignals(a, c, w)
        except ValidationError as exc:
            raise renamed(renamed(exc, "SincSignals.coefficients", prefix + "sinc_coefficients"),
                           "SincSignals.", prefix) from None
    if kind == "piecewise":
        b = get(data, prefix + "breaks", "breakpoints, shape (L+1,)")
        c = get(data, prefix + "piece_coefficients", "piece coefficients, shape (n_in, L, D+1)")
        try:
            return PiecewisePolynomials(b, c)
        except ValidationError as exc:
            raise renamed(renamed(exc, "PiecewisePolynomials.coefficients", prefix + "piece_coefficients"),
                           "PiecewisePolynomials.", prefix) from None
    if kind != "fourier":
        raise ValidationError(kind_key, kind, 'one of "fourier", "sinc", "piecewise"')
    key = prefix + "coefficients"
    c = as_float_array(key, get(data, key, "two-sided Fourier coefficients, shape (n_in, 2M+1)"),
                       ndim=2, allow_complex=True)
    if c.shape[0] < 1 or c.shape[1] % 2 != 1:
        raise ValidationError(key, f"array of shape {c.shape}", "of shape (n_in >= 1, 2M+1), an odd number of columns")
    period = scalar(data, prefix + "period", "the inputs' period T > 0", positive=True)
    try:
        return FourierSignals(c, period)
    except ValidationError as exc:
        raise renamed(exc, "FourierSignals.", prefix) from None



# --------------------------------------------------------------------------- model files
def save_model(path: PathOrFile, neurons: Neurons, weights: Any, signals: FourierSignals,
               t_end: float) -> None:
    """Write a model file: a layer of neurons, its weights, its analog inputs and a duration.

    Parameters
    ----------
    path : str, path-like or binary file object
        Where to write (exactly this name; no ``.npz`` is appended).
    neurons : Neurons
        The ``n_out`` neurons.
    weights : array_like, shape (n_out, n_in)
        The layer's weights.
    signals : FourierSignals
        The ``n_in`` analog inputs (stored as two-sided coefficients and period).
    t_end : float
        End of the window ``[0, t_end]`` to simulate, ``> 0``.

    Raises
    ------
    ValidationError
        A parameter of the wrong type, shape or value (nothing is written).

    Examples
    --------
    >>> from tem_sim import FourierSignals, Neurons
    >>> from tem_sim.io import load_model, save_model
    >>> x = FourierSignals.from_one_sided([[0.0]], period=1.0)
    >>> save_model("m.npz", Neurons(1, bias=2.0), [[1.0]], x, t_end=3.0)
    >>> load_model("m.npz").t_end
    3.0
    """
    neurons = _check_neurons(neurons)
    signals = _check_signals("signals", signals)
    W = as_float_array("weights", weights, ndim=2, shape=(neurons.n, signals.n_signals))
    t_end = as_scalar("t_end", t_end, positive=True)
    arrays = _header(MODEL_FORMAT)
    arrays.update(_neuron_arrays(neurons))
    arrays["weights"] = np.array(W, dtype=np.float64)
    arrays.update(_signals_arrays(signals))
    arrays["t_end"] = np.float64(t_end)
    write_npz(path, arrays)


def load_model(path: PathOrFile) -> Model:
    """Read a model file written by :func:`save_model` (or by hand, following the schema above).

    Parameters
    ----------
    path : str, path-like or binary file object

    Returns
    -------
    Model
        A named tuple ``(neurons, weights, signals, t_end)``, ready for
        ``encode(m.signals, m.weights, m.neurons, m.t_end)``.

    Raises
    ------
    ValidationError
        The file is unreadable, not an ``.npz`` archive, not a version-1 model
        file, or a key is missing or has the wrong shape or value.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.io import load_model
    >>> np.savez("bad.npz", format=np.array("tem_sim.model"), version=1)
    >>> load_model("bad.npz")
    Traceback (most recent call last):
    ...
    tem_sim.exceptions.ValidationError: kappa: must be the neurons' kappa, shape (n_out,) (got 'no such key (the file has: format, version)')
    """
    data = read_npz(path)
    _check_header(data, MODEL_FORMAT)
    neurons = _load_neurons(data)
    signals = _load_signals(data)
    W = as_float_array("weights", get(data, "weights", f"the weights, shape ({neurons.n}, {signals.n_signals})"),
                       shape=(neurons.n, signals.n_signals))
    t_end = scalar(data, "t_end", "the end of the simulated window, > 0", positive=True)
    return Model(neurons, W, signals, t_end)


# --------------------------------------------------------------------------- examples files
def save_examples(path: PathOrFile, neurons: Neurons,
                  examples: Sequence[tuple[FourierSignals, SpikeTrains]]) -> None:
    """Write an examples file: the neurons and the (inputs, output spikes) pairs of a layer.

    Parameters
    ----------
    path : str, path-like or binary file object
        Where to write (exactly this name).
    neurons : Neurons
        The layer's ``n_out`` neurons.
    examples : sequence of (FourierSignals, SpikeTrains)
        Each example's analog inputs and the layer's output spikes on
        ``[0, t_stop]`` (as for :func:`~tem_sim.training.fit_layer`).

    Raises
    ------
    ValidationError
        Bad neurons or examples, or spike-driven inputs (files hold analog inputs only).

    Examples
    --------
    >>> from tem_sim import FourierSignals, Neurons, SpikeTrains
    >>> from tem_sim.io import load_examples, save_examples
    >>> x = FourierSignals.from_one_sided([[0.0]], period=1.0)
    >>> st = SpikeTrains([1.0, 2.0], [0, 0], n_neurons=1, t_stop=2.5)
    >>> save_examples("ex.npz", Neurons(1, bias=2.0), [(x, st)])
    >>> neurons, examples = load_examples("ex.npz")
    >>> examples[0][1] == st, examples[0][0] == x
    (True, True)
    """
    neurons = _check_neurons(neurons)
    ex = check_examples(examples, neurons.n)
    arrays = _header(EXAMPLES_FORMAT)
    arrays.update(_neuron_arrays(neurons))
    arrays["n_examples"] = np.int64(len(ex))
    for k, (inp, st) in enumerate(ex):
        prefix = f"example{k}/"
        arrays.update(_signals_arrays(_check_signals(f"examples[{k}].inputs", inp), prefix))
        arrays.update({prefix + key: val for key, val in st.to_dict().items()})
    write_npz(path, arrays)


def load_examples(path: PathOrFile) -> tuple[Neurons, list[tuple[FourierSignals, SpikeTrains]]]:
    """Read an examples file written by :func:`save_examples`.

    Parameters
    ----------
    path : str, path-like or binary file object

    Returns
    -------
    neurons : Neurons
    examples : list of (FourierSignals, SpikeTrains)
        Ready for ``fit_layer(examples, neurons)``.

    Raises
    ------
    ValidationError
        The file is unreadable or not a version-1 examples file, a key is
        missing or malformed, or the examples disagree (number of inputs,
        number of neurons, a spike window not starting at 0).

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim.io import load_examples
    >>> np.savez("bad.npz", format=np.array("tem_sim.examples"), version=np.int64(2))
    >>> load_examples("bad.npz")
    Traceback (most recent call last):
    ...
    tem_sim.exceptions.ValidationError: version: must be 1, the only tem_sim.examples version this tem_sim reads (written by a newer tem_sim) (got 2)
    """
    data = read_npz(path)
    _check_header(data, EXAMPLES_FORMAT)
    neurons = _load_neurons(data)
    n_ex = scalar(data, "n_examples", "the number of examples, an integer >= 1")
    n_ex = as_int("n_examples", n_ex, minimum=1)
    stray = sorted({k.split("/")[0] for k in data if k.startswith("example") and "/" in k}
                   - {f"example{k}" for k in range(n_ex)})
    if stray:
        raise ValidationError("n_examples", n_ex, f"consistent with the example keys in the file (also found {stray})")
    examples = []
    n_in = None
    for k in range(n_ex):
        prefix = f"example{k}/"
        x = _load_signals(data, prefix)
        st = load_spikes(data, prefix)
        if n_in is None:
            n_in = x.n_signals
        elif x.n_signals != n_in:
            raise ValidationError(prefix + "coefficients", f"{x.n_signals} inputs",
                                  f"{n_in} inputs like example0/coefficients")
        if st.n_neurons != neurons.n:
            raise ValidationError(prefix + "n_neurons", st.n_neurons, f"the number of neurons, {neurons.n}")
        if st.t_start != 0.0:
            raise ValidationError(prefix + "t_start", st.t_start, "0 (the integrator starts from v0 at t = 0)")
        examples.append((x, st))
    return neurons, check_examples(examples, neurons.n)


# --------------------------------------------------------------------------- fit files
def save_fit(path: PathOrFile, fit: FitResult) -> None:
    """Write a fit file: the learned weights and the per-neuron report of :func:`~tem_sim.training.fit_layer`.

    Parameters
    ----------
    path : str, path-like or binary file object
        Where to write (exactly this name).
    fit : FitResult
        The result to store; each key of ``FIT_INFO_KEYS`` becomes one array
        of shape ``(n_out,)`` (``rank``, ``condition``, ``identifiable``, ...).

    Raises
    ------
    ValidationError
        ``fit`` is not a FitResult, or its report does not match its weights.

    Examples
    --------
    >>> import numpy as np
    >>> from tem_sim import FourierSignals, Neurons, encode, fit_layer
    >>> from tem_sim.io import load_fit, save_fit
    >>> nrn = Neurons(1, bias=2.0)
    >>> xs = [FourierSignals.random_paper(1, 3, 5.0, seed=s) for s in (0, 1)]
    >>> fit = fit_layer([(x, encode(x, [[0.5]], nrn, 20.0)) for x in xs], nrn)
    >>> save_fit("fit.npz", fit)
    >>> f = np.load("fit.npz")
    >>> str(f["format"]), f["identifiable"].tolist(), f["rank"].tolist()
    ('tem_sim.fit', [True], [1])
    >>> load_fit("fit.npz").info == fit.info
    True
    """
    if not isinstance(fit, FitResult):
        raise ValidationError("fit", type(fit).__name__, "a FitResult (from fit_layer)")
    W = as_float_array("fit.weights", fit.weights, ndim=2, finite=False)
    n = W.shape[0]
    if len(fit.info) != n:
        raise ValidationError("fit.info", f"{len(fit.info)} entries", f"one per neuron ({n})")
    arrays = _header(FIT_FORMAT)
    arrays["weights"] = np.array(W, dtype=np.float64)
    for key in FIT_INFO_KEYS:
        missing = [j for j, d in enumerate(fit.info) if key not in d]
        if missing:
            raise ValidationError(f"fit.info[{missing[0]}]", f"no key {key!r}", f"the keys {FIT_INFO_KEYS}")
        col = np.asarray([d[key] for d in fit.info])
        if col.dtype.kind not in "biufU":
            raise ValidationError(f"fit.info[...][{key!r}]", col.dtype, "numbers, booleans or strings")
        arrays[key] = col
    write_npz(path, arrays)


def load_fit(path: PathOrFile) -> FitResult:
    """Read a fit file written by :func:`save_fit` (e.g. by ``tem-sim train``).

    Parameters
    ----------
    path : str, path-like or binary file object

    Returns
    -------
    FitResult
        The weights and one ``info`` dict per neuron, as :func:`~tem_sim.training.fit_layer` returned them.

    Raises
    ------
    ValidationError
        The file is unreadable or not a version-1 fit file, or a key is missing or malformed.

    Examples
    --------
    >>> from tem_sim.io import load_fit
    >>> load_fit("no_such_file.npz")
    Traceback (most recent call last):
    ...
    tem_sim.exceptions.ValidationError: path: must be a readable file (No such file or directory) (got 'no_such_file.npz')
    """
    data = read_npz(path)
    _check_header(data, FIT_FORMAT)
    W = as_float_array("weights", get(data, "weights", "the weights, shape (n_out, n_in)"), ndim=2)
    n = W.shape[0]
    cols = {}
    # keys added after version 1's first files (issue 13): absent in older files, read as unknown
    late = {"noise": np.full(n, np.nan), "weighting": np.full(n, "unknown")}
    for key in FIT_INFO_KEYS:
        if key in late and key not in data:
            col = late[key]
        else:
            col = get(data, key, f"one value per neuron, shape ({n},)")
        if col.shape != (n,) or col.dtype.kind not in "biufU":
            raise ValidationError(key, f"array of shape {col.shape} and dtype {col.dtype}",
                                  f"one number, boolean or string per neuron, shape ({n},)")
        cols[key] = col.tolist()
    info = [{key: cols[key][j] for key in FIT_INFO_KEYS} for j in range(n)]
    return FitResult(weights=W, info=info)
