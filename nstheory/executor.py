"""Running many independent tasks: a small executor interface with local backends.

``get_executor("serial")`` (the default), ``get_executor("process", workers=N)`` and, with the
optional extra ``pip install 'nstheory[ray]'``, ``get_executor("ray")``. Every backend's
``map(fn, items)`` returns results in the order of ``items``, so a result merged from them
does not depend on the backend or the number of workers as long as each task is seeded by
its item (not by the worker).

>>> ex = get_executor("serial")
>>> ex.map(abs, [-1, 2, -3])
[1, 2, 3]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Protocol

from nstheory.errors import NSTheoryError
from nstheory.progress import progress

BACKENDS = ("serial", "process", "ray")


class Executor(Protocol):
    """Anything with an order-preserving ``map``: the interface every backend implements.

    ``map(fn, items, desc="")`` returns ``[fn(x) for x in items]`` in the order of ``items``;
    ``name`` identifies the backend.

    Examples
    --------
    A class with ``name`` and ``map`` satisfies the protocol (it is structural, not a base
    class):

    >>> class Reversed:
    ...     name = "reversed-then-restored"
    ...     def map(self, fn, items, desc=""):
    ...         return [fn(x) for x in reversed(list(items))][::-1]
    >>> ex: Executor = Reversed()
    >>> ex.map(str, [1, 2, 3]) == SerialExecutor().map(str, [1, 2, 3])
    True
    """

    name: str

    def map(self, fn: Callable, items: Iterable, desc: str = "") -> list: ...


class SerialExecutor:
    """Run tasks one after another in this process.

    Examples
    --------
    >>> SerialExecutor().map(lambda k: k * k, range(5), desc="squares")
    [0, 1, 4, 9, 16]
    """

    name = "serial"

    def map(self, fn: Callable, items: Iterable, desc: str = "") -> list:
        items = list(items)
        return [fn(x) for x in progress(items, total=len(items), desc=desc or "tasks")]


class ProcessExecutor:
    """Run tasks in a pool of worker processes (``fn`` and items must be picklable).

    Workers are started with the ``spawn`` method, so ``fn`` must be importable (a module-level
    function, not a lambda).

    Parameters
    ----------
    workers : int, optional
        Pool size (default: the number of CPUs).

    Examples
    --------
    >>> ex = ProcessExecutor(workers=2)
    >>> ex.name, ex.workers
    ('process', 2)
    >>> ProcessExecutor().workers >= 1
    True
    """

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, (os.cpu_count() or 1))

    def map(self, fn: Callable, items: Iterable, desc: str = "") -> list:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        items = list(items)
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
            futures = [pool.submit(fn, x) for x in items]
            out = []
            for f in progress(futures, total=len(futures), desc=desc or "tasks"):
                out.append(f.result())
        return out


def get_executor(name: str = "serial", workers: int | None = None, **options) -> Executor:
    """Build an executor by name; ``ray`` needs the optional extra.

    Parameters
    ----------
    name : str, optional
        One of :data:`BACKENDS`.
    workers : int, optional
        Worker count (process and ray backends).
    **options
        Passed to :class:`nstheory.ray_executor.RayExecutor`.

    Returns
    -------
    Executor

    Examples
    --------
    >>> get_executor("process", workers=3).workers
    3
    >>> get_executor("threads")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: executor must be one of serial, process, ray, got 'threads'
    """
    if name == "serial":
        return SerialExecutor()
    if name == "process":
        return ProcessExecutor(workers)
    if name == "ray":
        from nstheory.ray_executor import RayExecutor

        return RayExecutor(workers=workers, **options)
    raise NSTheoryError(f"executor must be one of {', '.join(BACKENDS)}, got {name!r}")
