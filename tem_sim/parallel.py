"""Sweeps: one function over many independent tasks, serially, over local processes or on a Dask cluster.

:func:`sweep` runs ``fn(task)`` for every task and returns the results in
the order of the tasks, whichever way they were computed: in this process
(``jobs=1``), over ``jobs`` local worker processes, or on a Dask
``distributed`` cluster given by its scheduler's address or by a
``distributed.Client``. Every task runs with BLAS limited to one thread
(a multi-threaded BLAS may round differently), so a task whose randomness
comes from its own seed gives bitwise the same result everywhere; the
paper's experiments (:mod:`tem_sim.reproduce`) are such tasks.
``distributed`` is imported only when a scheduler is given.

Examples
--------
>>> from tem_sim.parallel import sweep
>>> sweep(abs, [-2, 1, -3])
[2, 1, 3]
"""
from __future__ import annotations

import contextlib
import functools
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence

from ._validation import as_int
from .exceptions import IdentifiabilityWarning, ValidationError

__all__ = ["sweep", "scheduler_name"]


def _one_blas_thread() -> Any:
    """BLAS (and OpenMP) limited to one thread (threadpoolctl, when installed) while the context is open."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - the test and bench extras install it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def init_worker() -> None:
    """Initializer of a local worker process: one BLAS/OpenMP thread, identifiability warnings off.

    Also the initializer to give a ``ProcessPoolExecutor`` that runs tem_sim work
    (``tem-sim train --jobs``).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    warnings.simplefilter("ignore", IdentifiabilityWarning)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the env variables above still apply to BLAS loaded later
        return
    threadpool_limits(1)


def _call(fn: Callable[[Any], Any], task: Any) -> Any:
    """``fn(task)`` on a Dask worker, with one BLAS thread (workers have no initializer)."""
    with _one_blas_thread():
        return fn(task)


def scheduler_name(scheduler: Any) -> str | None:
    """The address a scheduler argument names: the string itself, a Client's scheduler address, or None."""
    if scheduler is None or isinstance(scheduler, str):
        return scheduler
    return str(getattr(getattr(scheduler, "scheduler", None), "address", None) or type(scheduler).__name__)


def _client(scheduler: Any) -> tuple[Any, bool]:
    """A ``distributed.Client`` for ``scheduler`` and whether this module opened it (and must close it)."""
    if isinstance(scheduler, str):
        if not scheduler.strip():
            raise ValidationError("scheduler", scheduler, "a Dask scheduler address such as 'tcp://host:8786'")
        try:
            import distributed
        except ImportError as exc:
            raise ImportError("a Dask scheduler needs the optional package 'distributed': "
                              f"pip install distributed ({exc})") from exc
        try:
            return distributed.Client(scheduler, set_as_default=False), True
        except OSError as exc:
            raise ValidationError("scheduler", scheduler, f"the address of a running Dask scheduler ({exc})") from None
    if callable(getattr(scheduler, "map", None)) and callable(getattr(scheduler, "gather", None)):
        return scheduler, False
    raise ValidationError("scheduler", type(scheduler).__name__,
                          "a Dask scheduler address (str) or a distributed.Client")


def _on_cluster(fn: Callable[[Any], Any], tasks: list, scheduler: Any, progress: Any) -> list:
    from distributed import as_completed

    client, own = _client(scheduler)
    futures: list = []
    try:
        futures = client.map(functools.partial(_call, fn), tasks, pure=False)
        where = {f.key: k for k, f in enumerate(futures)}
        out: list = [None] * len(tasks)
        for fut in as_completed(futures, loop=client.loop):
            out[where[fut.key]] = fut.result()       # raises the task's own exception
            if progress is not None:
                progress.update()
        return out
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        if own:
            client.close()


def sweep(fn: Callable[[Any], Any], tasks: Sequence[Any], *, jobs: int = 1, scheduler: Any = None,
          progress: Any = None) -> list:
    """Run ``fn`` on every task; the results in the order of ``tasks``.

    Parameters
    ----------
    fn : callable
        A function of one task. With ``jobs > 1`` or a scheduler it must be
        picklable (a top-level function of an importable module), and so must
        the tasks and results.
    tasks : sequence
    jobs : int, default 1
        Local worker processes (1: in this process). Each runs with one BLAS thread.
    scheduler : str or distributed.Client, optional
        Run the tasks on a Dask cluster instead: the scheduler's address (for
        example ``"tcp://10.0.0.5:8786"``; a client is opened and closed here) or
        a client of yours (left open). Each task runs with one BLAS thread. An address
        where no scheduler answers is an error after Dask's connect timeout
        (``distributed.comm.timeouts.connect``, 30 s by default).
        Cannot be combined with ``jobs > 1``.
    progress : object with an ``update()`` method, optional
        Called once per finished task (for example a :class:`tem_sim.reproduce.Progress`).

    Returns
    -------
    list
        ``[fn(t) for t in tasks]``, bitwise the same for any ``jobs`` or scheduler when
        ``fn`` draws its randomness from the task alone.

    Raises
    ------
    ValidationError
        For ``jobs < 1``, both ``jobs > 1`` and a scheduler, or a scheduler that is neither
        an address nor a client (or an address where no scheduler answers).

    Examples
    --------
    >>> import math
    >>> sweep(math.sqrt, [4.0, 9.0], jobs=1)
    [2.0, 3.0]
    """
    jobs = as_int("jobs", jobs, minimum=1)
    if scheduler is not None and jobs > 1:
        raise ValidationError("jobs", jobs, "1 when a Dask scheduler runs the tasks (its workers are the jobs)")
    tasks = list(tasks)
    if scheduler is not None:
        return _on_cluster(fn, tasks, scheduler, progress)
    out: list = []
    if jobs == 1:
        with _one_blas_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore", IdentifiabilityWarning)
            for t in tasks:
                out.append(fn(t))
                if progress is not None:
                    progress.update()
        return out
    chunk = max(1, len(tasks) // (jobs * 16))
    with ProcessPoolExecutor(max_workers=jobs, initializer=init_worker) as ex:
        for r in ex.map(fn, tasks, chunksize=chunk):
            out.append(r)
            if progress is not None:
                progress.update()
    return out
