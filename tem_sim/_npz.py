"""Checked ``.npz`` archives: the low level shared by every tem_sim file.

Writing to exactly the path given (or to a binary file object), reading every
array of an archive into a dict, and fetching a key or a scalar from it, each
failure a :class:`~tem_sim.exceptions.ValidationError` naming the file or the
key: a missing, empty, truncated or non-``.npz`` file, a single ``.npy`` array,
a missing key, a non-scalar where a scalar belongs. The spike files of
:mod:`tem_sim.spikes` and the model, examples and fit files of :mod:`tem_sim.io`
are both built on it, so the data types never import the file formats above them.
"""
from __future__ import annotations

import io
import os
import zipfile
import zlib
from typing import IO, Any, Union

import numpy as np

from ._validation import as_scalar
from .exceptions import ValidationError

#: A path or a binary file object.
PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]


def source_name(source: Any) -> str:
    """A printable name of a path or file object."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def write_npz(path: PathOrFile, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez`` to exactly ``path`` (no ``.npz`` appended) or to a binary file object."""
    if hasattr(path, "write"):
        np.savez(path, **arrays)
        return
    try:
        target = os.fspath(path)  # type: ignore[arg-type]
    except TypeError:
        raise ValidationError("path", path, "a file path or a binary file object") from None
    with open(target, "wb") as f:   # exactly this path: np.savez would append ".npz" to a name without it
        np.savez(f, **arrays)


def read_npz(source: PathOrFile) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, as a dict (a ValidationError for anything else)."""
    name = source_name(source)
    if hasattr(source, "read"):
        seekable = getattr(source, "seekable", None)
        if not (callable(seekable) and seekable()):
            source = io.BytesIO(source.read())  # type: ignore[union-attr]  # np.load needs to seek
    elif not isinstance(source, (str, os.PathLike)):
        raise ValidationError("path", source, "a file path or a binary file object")
    try:
        obj = np.load(source, allow_pickle=False)
    except OSError as exc:
        raise ValidationError("path", name, f"a readable file ({exc.strerror or exc})") from None
    except EOFError:
        raise ValidationError("path", name, "an .npz archive (written by numpy.savez), not an empty file") from None
    except (ValueError, zipfile.BadZipFile):
        raise ValidationError("path", name, "an .npz archive (written by numpy.savez)") from None
    if not isinstance(obj, np.lib.npyio.NpzFile):
        raise ValidationError("path", name, "an .npz archive (numpy.savez), not a single .npy array")
    try:
        with obj:
            return {k: obj[k] for k in obj.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValidationError("path", name, f"an .npz archive of numeric arrays (unreadable member: {exc})") from None


def get(data: dict[str, np.ndarray], key: str, what: str) -> np.ndarray:
    """``data[key]``; a missing key is an error listing the keys the file has."""
    if key not in data:
        keys = ", ".join(sorted(data)[:12]) + (", ..." if len(data) > 12 else "")
        raise ValidationError(key, f"no such key (the file has: {keys or 'nothing'})", what)
    return data[key]


def scalar(data: dict[str, np.ndarray], key: str, what: str, **kw: bool) -> float:
    """The scalar ``data[key]``, checked by :func:`~tem_sim._validation.as_scalar` (``kw``)."""
    arr = get(data, key, what)
    if arr.shape != ():
        raise ValidationError(key, f"array of shape {arr.shape}", what + " (a scalar)")
    return as_scalar(key, arr[()], **kw)


def renamed(exc: ValidationError, old: str, new: str) -> ValidationError:
    """The same error with the parameter ``old...`` named after the file key ``new...``."""
    name = new + exc.name[len(old):] if exc.name.startswith(old) else exc.name
    return ValidationError(name, exc.value, exc.expected)
