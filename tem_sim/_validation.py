"""Validation helpers shared by the public modules.

The public functions coerce and check every argument here, in Python, before
any compiled loop runs, so that bad input becomes a
:class:`~tem_sim.exceptions.ValidationError` naming the parameter, the value
and what was expected. Compiled kernels trust what they receive.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .exceptions import ValidationError


def as_float_array(name: str, value: Any, *, ndim: int | None = None,
                   shape: tuple[int | None, ...] | None = None,
                   allow_complex: bool = False, finite: bool = True) -> np.ndarray:
    """Coerce ``value`` to a C-contiguous float64 (or complex128) array and check it."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise ValidationError(name, value, f"array-like ({exc})") from None
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise ValidationError(name, value, "a numeric array")
    if arr.dtype.kind == "c":
        if not allow_complex:
            if np.any(arr.imag != 0):
                raise ValidationError(name, value, "real-valued")
            arr = arr.real
        else:
            arr = np.require(arr, dtype=np.complex128, requirements='C')
    if arr.dtype.kind != "c":
        arr = np.require(arr, dtype=np.float64, requirements='C')
    if ndim is not None and arr.ndim != ndim:
        raise ValidationError(name, _shape_repr(arr), f"a {ndim}-d array")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValidationError(name, _shape_repr(arr), f"of shape {want}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValidationError(name, _first_bad(arr), "finite (no NaN or inf)")
    return arr


def _shape_repr(arr: np.ndarray) -> str:
    return f"array of shape {arr.shape}"


def _first_bad(arr: np.ndarray) -> Any:
    bad = arr[~np.isfinite(arr)]
    return bad.flat[0] if bad.size else arr


def as_scalar(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False,
              finite: bool = True) -> float:
    """Coerce ``value`` to a Python float and check its range."""
    if isinstance(value, (bool, np.bool_)):
        raise ValidationError(name, value, "a real number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValidationError(name, value, "a real number") from None
    if math.isnan(out) or (finite and math.isinf(out)):
        raise ValidationError(name, value, "finite")
    if positive and not out > 0:
        raise ValidationError(name, value, "> 0")
    if nonnegative and not out >= 0:
        raise ValidationError(name, value, ">= 0")
    return out


def as_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Coerce ``value`` to a Python int (no silent truncation of floats)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValidationError(name, value, "an integer")
    if isinstance(value, (int, np.integer)):
        out = int(value)
    elif isinstance(value, (float, np.floating)) and float(value).is_integer():
        out = int(value)
    else:
        raise ValidationError(name, value, "an integer")
    if minimum is not None and out < minimum:
        raise ValidationError(name, value, f">= {minimum}")
    return out


def check_options(name: str, given: dict, valid: set[str] | list[str]) -> None:
    """Reject unknown option names, listing the valid ones."""
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ValidationError(name, unknown, "option names among " + ", ".join(sorted(valid)))


def rng_from_seed(seed: Any) -> np.random.Generator:
    """A NumPy ``Generator`` from a seed (int, SeedSequence or Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValidationError("seed", seed, "an integer, a SeedSequence or a numpy Generator "
                              "(tem_sim never draws from an unseeded stream)")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise ValidationError("seed", seed, "an integer, a SeedSequence or a numpy Generator") from None


def check_intervals(a: Any, b: Any, *, ordered: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Coerce interval ends to flat float arrays of equal shape (and ``b >= a`` when ``ordered``)."""
    a = as_float_array("a", a).ravel()
    b = as_float_array("b", b).ravel()
    if a.shape != b.shape:
        raise ValidationError("b", f"array of shape {b.shape}", f"the shape of a, {a.shape}")
    if ordered and np.any(b < a):
        raise ValidationError("b", "an interval with b < a", "b >= a for every interval")
    return a, b
