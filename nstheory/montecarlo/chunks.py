"""Worker-independent Monte Carlo: fixed chunks, seeded by ``SeedSequence(root).spawn(k)``.

A run is split into ``n_chunks`` chunks fixed in advance; chunk ``i`` draws its random numbers
from a torch generator seeded by the ``i``-th child of ``numpy.random.SeedSequence(root)``, and
the chunk results (anything with ``.merge``) are merged **in chunk order**. The merged result
is therefore bit-identical whichever executor (serial, process pool, Ray) and however many
workers ran the chunks.

Examples
--------
>>> s = chunk_seeds(2026, 3)
>>> len(s), s == chunk_seeds(2026, 3), s[0] != s[1]
(3, True, True)
>>> r = run_chunked(_demo_task, 7, 4)
>>> r.n
400
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from nstheory.errors import check_int


def chunk_seeds(root: int, k: int) -> list[int]:
    """``k`` independent 63-bit seeds: the children of ``SeedSequence(root)``, in order.

    Parameters
    ----------
    root : int
        Root seed.
    k : int
        Number of chunks (``>= 1``).

    Returns
    -------
    list of int
        Seeds in ``[0, 2^63)``.

    Examples
    --------
    Child ``i`` does not depend on ``k``, so adding chunks keeps the first ones' draws:

    >>> chunk_seeds(2026, 2) == chunk_seeds(2026, 5)[:2]
    True
    >>> all(0 <= s < 2**63 for s in chunk_seeds(0, 8)), len(set(chunk_seeds(0, 8)))
    (True, 8)
    """
    import numpy as np

    k = check_int(k, "k", lo=1)
    kids = np.random.SeedSequence(int(root)).spawn(k)
    return [int(c.generate_state(1, dtype=np.uint64)[0] & np.uint64(2**63 - 1)) for c in kids]


def chunk_generator(seed: int, device=None):
    """A torch generator on ``device`` seeded with ``seed``.

    Parameters
    ----------
    seed : int
        The chunk's seed (from :func:`chunk_seeds`).
    device : torch.device or str, optional
        Default ``"cpu"``.

    Returns
    -------
    torch.Generator

    Examples
    --------
    >>> import torch
    >>> a = torch.rand(3, generator=chunk_generator(5))
    >>> bool(torch.equal(a, torch.rand(3, generator=chunk_generator(5))))
    True
    """
    import torch

    dev = device if device is not None else "cpu"
    return torch.Generator(device=dev).manual_seed(int(seed))


def _call_chunk(item):
    task, index, seed = item
    return task(index, seed)


def run_chunked(task: Callable, root: int, n_chunks: int, executor=None, desc: str = ""):
    """Run ``task(index, seed)`` for every chunk and merge the results in chunk order.

    ``task`` must be picklable (a module-level function or ``functools.partial``) for the
    process and Ray backends; its results need a ``.merge`` method.

    Parameters
    ----------
    task : callable
        ``task(index, seed)`` returning a mergeable result (e.g. :class:`nstheory.stats.Moments`).
    root : int
        Root seed for :func:`chunk_seeds`.
    n_chunks : int
        Number of chunks.
    executor : Executor, optional
        Default: serial.
    desc : str, optional
        Progress-bar label.

    Returns
    -------
    object
        The merged result.

    Examples
    --------
    The merged moments equal the moments of all chunks' draws taken together:

    >>> import torch
    >>> from nstheory.stats import Moments
    >>> r = run_chunked(_demo_task, 7, 4)
    >>> draws = torch.cat([torch.randn(100, generator=chunk_generator(s), dtype=torch.float64)
    ...                    for s in chunk_seeds(7, 4)])
    >>> r.n, abs(r.mean - float(draws.mean())) < 1e-12
    (400, True)
    """
    from nstheory.executor import get_executor

    ex = executor if executor is not None else get_executor("serial")
    seeds = chunk_seeds(root, n_chunks)
    items = [(task, i, s) for i, s in enumerate(seeds)]
    results = ex.map(_call_chunk, items, desc=desc or "chunks")
    return functools.reduce(lambda a, b: a.merge(b), results)


def _demo_task(index: int, seed: int):
    """A tiny picklable task for doctests and tests: moments of 100 standard normals."""
    import torch

    from nstheory.stats import Moments

    g = chunk_generator(seed)
    return Moments.from_values(torch.randn(100, generator=g, dtype=torch.float64))


__all__ = ["chunk_generator", "chunk_seeds", "run_chunked"]
