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

import contextlib
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
    function, not a lambda). Ctrl-C, or SIGTERM sent to this process, stops the whole pool at
    once: the queued tasks are cancelled, the workers terminated, and ``KeyboardInterrupt``
    propagates (resumable work, such as a training run, continues from its checkpoint when
    started again).

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
        """``[fn(x) for x in items]`` computed in the pool, in the order of ``items``.

        A task's exception cancels the tasks not started yet, waits for the running ones and
        is re-raised. An interrupt (Ctrl-C, or SIGTERM, which raises ``KeyboardInterrupt``
        here while the pool runs) cancels the queue, terminates the workers and is re-raised:
        nothing keeps running after the call returns.
        """
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        items = list(items)
        ctx = mp.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        with sigterm_as_interrupt():
            try:
                try:
                    futures = [pool.submit(fn, x) for x in items]
                    out = [f.result() for f in progress(futures, total=len(futures),
                                                        desc=desc or "tasks")]
                except Exception:
                    pool.shutdown(wait=True, cancel_futures=True)  # running tasks finish
                    raise
                pool.shutdown(wait=True)
            except BaseException:  # an interrupt (also while waiting above): stop them now
                _terminate_pool(pool)  # nothing left to stop after a completed shutdown
                raise
        return out


def _terminate_pool(pool, grace: float = 5.0) -> None:
    """Cancel ``pool``'s queued tasks and terminate its worker processes (SIGTERM, then
    SIGKILL for one still alive after ``grace`` seconds); returns once they are gone."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(grace)
        if p.is_alive():
            p.kill()
            p.join(grace)
    if manager is not None:  # it sees the dead workers and ends
        manager.join(grace)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` in the main thread, so a
    terminated parent cleans up (e.g. stops its worker processes) as on Ctrl-C instead of
    dying at once and leaving them orphaned. The previous handler is restored afterwards.

    Nothing changes outside the main thread or when SIGTERM already has a handler other
    than the default (an ignored SIGTERM stays ignored).

    Examples
    --------
    >>> import signal
    >>> before = signal.getsignal(signal.SIGTERM)
    >>> with sigterm_as_interrupt():
    ...     inside = signal.getsignal(signal.SIGTERM)
    >>> inside is not signal.SIG_DFL or before is not signal.SIG_DFL
    True
    >>> signal.getsignal(signal.SIGTERM) is before
    True
    """
    import signal
    import threading

    sig = getattr(signal, "SIGTERM", None)
    if (sig is None or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(sig) is not signal.SIG_DFL):
        yield
        return

    def _raise(signum, frame):
        raise KeyboardInterrupt(f"terminated (signal {signum})")

    signal.signal(sig, _raise)
    try:
        yield
    finally:
        signal.signal(sig, signal.SIG_DFL)


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
