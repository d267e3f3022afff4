"""Parallel ``nstheory verify``: a worker pool forked after the heavy imports.

Claims are independent, so ``verify --jobs N`` runs them in ``N`` worker processes. Starting a
worker with ``spawn`` re-imports torch, SciPy and SymPy in every worker (seconds each), which
made ``--jobs 2`` slower than one process. Here the parent imports the claim registry and the
heavy libraries once, then *forks* the workers (copy-on-write: nothing is imported again), so a
worker starts in milliseconds. Each worker uses one thread for torch and for the BLAS/OpenMP
pools (``N`` workers on ``N`` cores, no oversubscription).

Scheduling: claims are grouped by topic (the first two components of their id: claims of a
topic that share an expensive reference through an in-process cache then compute it once);
the groups go to whichever worker is free, longest first (cost hints from a previous run's
per-claim seconds, :data:`COST_FILE`; claims without a hint are estimated by a heuristic).
The order only changes the wall time: every claim runs the same checks, the results come back
in the claim-id order of a serial run, and every check is seeded by itself, not by its worker.

Examples
--------
>>> resolve_jobs("1", n_tasks=10), resolve_jobs(4, n_tasks=2)
(1, 2)
>>> resolve_jobs("auto", n_tasks=1)
1
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nstheory.errors import NSTheoryError

#: per-claim CPU seconds of a reference pool run (``{"claim id": seconds}``), used only to order
#: the work (longest first) and to decide whether ``--jobs auto`` forks at all; refresh with
#: ``benchmarks/bench_verify.py --write-costs proofs_check/verify_costs.json``
COST_FILE = Path(__file__).resolve().parent.parent / "proofs_check" / "verify_costs.json"
#: ids of the claims that run without importing torch (:func:`torch_free_claims`): the first
#: worker starts on them while the parent imports torch; refreshed with the costs
TORCH_FREE_FILE = COST_FILE.with_name("verify_torch_free.json")

#: ``--jobs auto`` runs in one process when the selected claims are expected to take less than
#: this many seconds (forking and preloading the libraries would cost more than they save)
AUTO_MIN_SECONDS = 4.0

#: libraries the parent imports before forking (those installed; torch only when asked)
PRELOAD = ("numpy", "scipy.special", "sympy", "mpmath", "flint")
PRELOAD_TORCH = ("torch",)


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask), at least 1.

    >>> available_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def parse_jobs(text) -> int | str:
    """``"auto"`` or an integer in ``[1, 64]`` (the ``--jobs`` argument), else an error naming
    the value and the accepted range.

    >>> parse_jobs("auto"), parse_jobs("3"), parse_jobs(2)
    ('auto', 3, 2)
    >>> parse_jobs("nan")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --jobs must be 'auto' or an integer in [1, 64]; got 'nan'
    """
    if isinstance(text, str) and text.strip().lower() == "auto":
        return "auto"
    try:
        n = int(str(text).strip())
    except ValueError:
        n = 0
    if not 1 <= n <= 64 or isinstance(text, float):
        raise NSTheoryError(f"--jobs must be 'auto' or an integer in [1, 64]; got {text!r}")
    return n


def resolve_jobs(jobs, n_tasks: int) -> int:
    """The number of worker processes for ``n_tasks`` claims: ``"auto"`` means one per core;
    never more workers than tasks; ``1`` runs in this process.

    Parameters
    ----------
    jobs : int or str
        A positive integer (or its string) or ``"auto"``.
    n_tasks : int
        Number of claims to run.

    Returns
    -------
    int

    Examples
    --------
    >>> resolve_jobs("auto", 100) == min(available_cores(), 100)
    True
    >>> resolve_jobs("0", 5)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --jobs must be 'auto' or an integer in [1, 64]; got '0'
    """
    n = parse_jobs(jobs)
    n = available_cores() if n == "auto" else n
    return max(1, min(n, n_tasks))


def load_costs(path: Path | None = None) -> dict[str, float]:
    """Per-claim seconds of a reference run (empty when the file is absent or unreadable:
    the costs only order the work).

    >>> costs = load_costs(Path("/nonexistent/costs.json"))
    >>> costs
    {}
    """
    path = COST_FILE if path is None else Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def claim_groups(claims: Sequence) -> list[list[int]]:
    """Indices of ``claims`` grouped by topic (the first two components of the id, e.g.
    ``gaussian.recurrence``), groups in order of first appearance.

    A group runs in one worker, so claims of a topic that share an expensive reference
    through an in-process cache (``functools.cache`` in their module) compute it once.

    >>> from nstheory.claims import Registry
    >>> reg = Registry()
    >>> cs = [reg.claim(i, "s", latex="s", provenance="new") for i in ("a.x.1", "a.y.1", "a.x.2")]
    >>> claim_groups(cs)
    [[0, 2], [1]]
    """
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(claims):
        groups.setdefault(".".join(c.id.split(".")[:2]), []).append(i)
    return list(groups.values())


def schedule(groups: Sequence[Sequence], costs: dict[str, float]) -> list[int]:
    """Indices of ``groups`` (each a sequence of claims) in the order to hand them out:
    longest expected first.

    A claim without a recorded cost is estimated from its checks: a claim outside the fast
    subset or with Monte Carlo checks is assumed slower than a purely exact one. Ties keep the
    given order, so the schedule is deterministic.

    Examples
    --------
    >>> from nstheory.claims import Registry
    >>> reg = Registry()
    >>> a = reg.claim("t.a", "s", latex="s", provenance="new")
    >>> b = reg.claim("t.b", "s", latex="s", provenance="new", fast=False)
    >>> schedule([[a], [b]], {}), schedule([[a], [b]], {"t.a": 9.0, "t.b": 1.0})
    ([1, 0], [0, 1])
    """
    est = [sum(expected_seconds(c, costs) for c in g) for g in groups]
    return sorted(range(len(groups)), key=lambda i: -est[i])


def expected_seconds(claim, costs: dict[str, float]) -> float:
    """The recorded seconds of ``claim`` or, without a record, a guess from its checks (a claim
    outside the fast subset or with Monte Carlo checks is assumed slower).

    >>> from nstheory.claims import Registry
    >>> c = Registry().claim("t.a", "s", latex="s", provenance="new", fast=False)
    >>> expected_seconds(c, {"t.a": 3.5}), expected_seconds(c, {})
    (3.5, 2.0)
    """
    if claim.id in costs:
        return costs[claim.id]
    mc = sum(1 for k in claim.checks if k.route.value == "monte-carlo")
    return (2.0 if not claim.fast else 0.3) + 0.3 * mc + 0.05 * len(claim.checks)


#: the first worker starts, before torch is imported, on torch-free topics expected to take
#: about this many seconds (the parent's preloading time, with a margin)
EARLY_SECONDS = 2.5


def early_tasks(groups: Sequence[Sequence], order: Sequence[int], costs: dict[str, float],
                torch_free: set[str]) -> tuple[list[int], list[int]]:
    """For a staggered start (:func:`fork_map`): the groups the first worker runs before torch
    is imported (torch-free groups in ``order``, about :data:`EARLY_SECONDS` of expected work)
    and every torch-free group (those it may take afterwards).

    Examples
    --------
    >>> from nstheory.claims import Registry
    >>> reg = Registry()
    >>> cs = [reg.claim(f"t.{k}", "s", latex="s", provenance="new") for k in "abc"]
    >>> early_tasks([[cs[0]], [cs[1]], [cs[2]]], [0, 1, 2], {"t.a": 3.0, "t.b": 2.0, "t.c": 1.0},
    ...             {"t.b", "t.c"})
    ([1, 2], [1, 2])
    """
    light = [i for i in order if groups[i] and all(c.id in torch_free for c in groups[i])]
    early, total = [], 0.0
    for i in light:
        if total >= EARLY_SECONDS:
            break
        early.append(i)
        total += sum(expected_seconds(c, costs) for c in groups[i])
    return early, light


def preload_names(torch: bool = True) -> list[str]:
    """The heavy libraries to import before forking: those of :data:`PRELOAD` (and torch, when
    asked) that are installed.

    >>> "mpmath" in preload_names(torch=False), "torch" in preload_names(torch=False)
    (True, False)
    """
    names = []
    for name in PRELOAD + (PRELOAD_TORCH if torch else ()):
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                names.append(name)
        except (ImportError, ValueError):
            continue
    return names


def preload_one(name: str) -> None:
    """Import ``name`` in this process, so that forked workers share it.

    >>> preload_one("mpmath"); "mpmath" in sys.modules
    True
    """
    importlib.import_module(name)


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to serve large blocks from the heap and to keep freed memory
    (``mallopt``: mmap threshold 256 MiB, trim threshold 1 GiB, top pad 64 MiB) instead of
    mapping and unmapping every large array: the Monte Carlo checks allocate and free arrays
    of megabytes thousands of times, and each fresh mapping costs page faults (in
    ``nstheory verify``: about 3 s of system time of 6). Called in each verify worker (a
    process that exits when the map is done), never in the caller's process. Returns
    whether the settings were applied (False off glibc).

    In a child process (it changes the calling process's allocator for good):

    >>> import subprocess, sys
    >>> out = subprocess.run([sys.executable, "-c", "from nstheory.verify_pool import "
    ...                       "keep_freed_memory as k; print(type(k()).__name__)"],
    ...                      capture_output=True, text=True, check=True).stdout
    >>> out.strip()
    'bool'
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    return all(mallopt(opt, val) == 1 for opt, val in ((m_mmap_threshold, 256 << 20),
                                                       (m_trim_threshold, 1 << 30),
                                                       (m_top_pad, 64 << 20)))


def _one_thread() -> None:
    """Worker initialiser: one thread for torch and for the BLAS / OpenMP pools."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass


def torch_free_claims(claims: Sequence) -> list[str]:
    """Ids of the ``claims`` whose checks run without importing torch: each claim runs in a
    child forked from this process (which must not have imported torch yet) that stops at the
    first import of torch. Used to write :data:`TORCH_FREE_FILE`; it costs about a second per
    claim that does import torch.

    Examples
    --------
    >>> from nstheory.claims import Registry, compare_exact
    >>> c = Registry().claim("t.a", "s", latex="s", provenance="new")
    >>> _ = c.check("exact-enumeration", uses=("python:int",))(
    ...     lambda: compare_exact("1+1", 2, "2", 2))
    >>> torch_free_claims([c]) if "torch" not in sys.modules else ["t.a"]
    ['t.a']
    """
    from nstheory.claims import run_claim

    if "torch" in sys.modules:
        raise NSTheoryError("torch_free_claims needs a process that has not imported torch")

    class _StopAtTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                os._exit(3)
            return None

    free = []
    for c in claims:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            sys.meta_path.insert(0, _StopAtTorch())
            try:
                run_claim(c)
            except BaseException:
                os._exit(4)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            free.append(c.id)
    return free


def load_torch_free(path: Path | None = None) -> set[str]:
    """The claim ids recorded as running without torch (empty when the file is absent or
    unreadable: the list only decides which claims may start before torch is imported).

    >>> load_torch_free(Path("/nonexistent/torch_free.json"))
    set()
    """
    path = TORCH_FREE_FILE if path is None else Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return set()
    return {str(x) for x in data} if isinstance(data, list) else set()


def _serve(conn, fn, tasks, initial, parent_ends) -> None:  # pragma: no cover - in a worker
    """A worker: run the ``initial`` task indices, then ask for more until told to stop.

    ``parent_ends`` are the parent's ends of every pipe, inherited by the fork: closed at once,
    so that this worker's reads end (EOF) as soon as the parent is gone, however it died."""
    for end in parent_ends:
        end.close()
    _one_thread()
    keep_freed_memory()  # this process only lives for the map
    try:
        for i in initial:
            conn.send(_run_one(fn, tasks, i))
        while True:
            conn.send(("want",))
            i = conn.recv()
            if i is None:
                return
            conn.send(_run_one(fn, tasks, i))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return
    finally:
        conn.close()


def _run_one(fn, tasks, i):  # pragma: no cover - runs in a forked worker
    if "torch" in sys.modules:  # imported by an earlier task of this worker: one thread
        sys.modules["torch"].set_num_threads(1)
    t0 = time.perf_counter()
    try:
        out = fn(tasks[i])
    except Exception as exc:  # reported to the parent, which raises it
        import traceback

        return ("error", i, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    return ("done", i, out, time.perf_counter() - t0)


def fork_map(fn: Callable, tasks: Sequence, workers: int, order: Sequence[int] | None = None,
             on_done: Callable | None = None, preload: Callable | None = None,
             early: Sequence[int] = (), light: Sequence[int] = ()) -> list:
    """``[fn(t) for t in tasks]`` computed by ``workers`` forked processes, in the order of
    ``tasks`` whatever the order of completion.

    ``fn`` and ``tasks`` are inherited by the forked workers (they need not be picklable: a
    worker receives only an index); the results must be picklable. ``order`` is the order in
    which tasks are handed out (default: as given); ``on_done(index, seconds)`` is called in
    the parent as each task finishes. Without ``fork`` (not POSIX) the map runs serially.

    ``preload`` (e.g. importing torch) runs in the parent before the workers are forked. With
    ``early`` (task indices that need nothing ``preload`` imports), one worker is forked
    *before* ``preload`` and runs them while the parent imports; afterwards it takes only tasks
    listed in ``light`` and, when none is left, exits and a worker forked after the preload
    takes its place (so nothing is imported twice). Every task runs exactly once.

    Examples
    --------
    >>> fork_map(lambda k: k * k, [3, 1, 2], workers=2, order=[2, 0, 1])
    [9, 1, 4]
    >>> fork_map(lambda k: -k, [1, 2, 3, 4], workers=2, preload=lambda: None, early=[1],
    ...          light=[2])
    [-1, -2, -3, -4]
    """
    import multiprocessing as mp

    tasks = list(tasks)
    order = list(range(len(tasks))) if order is None else list(order)
    if sorted(order) != list(range(len(tasks))):
        raise NSTheoryError("order must be a permutation of the task indices")
    if workers <= 1 or len(tasks) <= 1 or "fork" not in mp.get_all_start_methods():
        if preload:
            preload()
        out = []
        for i in range(len(tasks)):
            t0 = time.perf_counter()
            out.append(fn(tasks[i]))
            if on_done:
                on_done(i, time.perf_counter() - t0)
        return out
    return _Dispatch(mp.get_context("fork"), fn, tasks, order, on_done).run(
        workers, list(early), set(light), preload)


class _Dispatch:
    """The parent's side of :func:`fork_map`: forks the workers, hands out task indices as
    workers ask (the first worker preferring the early tasks), collects the results."""

    def __init__(self, ctx, fn, tasks, order, on_done):
        self.ctx, self.fn, self.tasks, self.on_done = ctx, fn, tasks, on_done
        self.pending = list(order)
        self.results: list = [None] * len(tasks)
        self.left = len(tasks)
        self.procs: list = []
        self.conns: dict = {}

    def _fork(self, worker: int, initial=()) -> None:
        parent_end, child_end = self.ctx.Pipe()
        # Everything allocated so far (the preloaded libraries' objects) leaves the collector's
        # reach: the workers' full collections skip it (a tenth of a second each over torch's
        # and SymPy's heap) and never write to its pages, so copy-on-write keeps them shared.
        gc.freeze()
        p = self.ctx.Process(target=_serve, daemon=True,
                             args=(child_end, self.fn, self.tasks, initial,
                                   [parent_end, *self.conns]))
        p.start()
        child_end.close()
        self.procs.append(p)
        self.conns[parent_end] = worker

    def _next(self, worker: int):
        """The next task for ``worker`` (None: it is done); the early worker takes only light
        tasks (it has not imported what the preload did)."""
        if worker != 0 or not self.early_worker:
            return self.pending.pop(0) if self.pending else None
        for k, i in enumerate(self.pending):
            if i in self.light:
                return self.pending.pop(k)
        return None

    def run(self, workers: int, early: list, light: set, preload) -> list:
        from multiprocessing.connection import wait

        self.light, self.early_worker = light, bool(early)
        early_set = set(early)
        self.pending = [i for i in self.pending if i not in early_set]
        try:
            if early:
                self._fork(0, early)  # computes while the parent imports
            if preload is not None:
                preload()
            for _ in range(len(self.procs), workers):
                self._fork(len(self.procs))
            while self.conns:
                for conn in wait(list(self.conns)):
                    self._handle(conn)
        finally:
            for conn in self.conns:
                conn.close()
            for p in self.procs:
                if p.is_alive():
                    p.terminate()
                p.join()
            gc.unfreeze()
        if self.left:
            raise NSTheoryError(f"{self.left} verify task(s) got no result")
        return self.results

    def _handle(self, conn) -> None:
        worker = self.conns[conn]
        try:
            msg = conn.recv()
        except EOFError:
            conn.close()
            del self.conns[conn]
            if self.left:
                raise NSTheoryError(f"verify worker {worker} exited before its work was done "
                                    "(killed, or out of memory?)") from None
            return
        if msg[0] == "want":
            i = self._next(worker)
            conn.send(i)
            if i is None:
                conn.close()
                del self.conns[conn]
                if worker == 0 and self.early_worker and self.pending:
                    self.early_worker = False  # the replacement has what the preload imported
                    self._fork(len(self.procs))
        elif msg[0] == "error":
            raise NSTheoryError(f"a verify task raised {msg[2]}")
        else:
            _, i, out, secs = msg
            self.results[i] = out
            self.left -= 1
            if self.on_done:
                self.on_done(i, secs)
