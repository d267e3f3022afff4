"""Bit-for-bit reproducible torch runs on CPU: fixed thread counts and deterministic kernels.

A floating-point result can change with the number of threads (reductions are split
differently), with the BLAS library's own thread pool, and with kernels that are allowed to be
non-deterministic. :func:`deterministic` fixes all three for the duration of a block and
restores the previous settings afterwards, so library code leaves no global state changed.
Seeds are the caller's business: every random draw in a reproducible run must come from a
seeded ``torch.Generator`` (or ``torch.manual_seed`` set at a fixed point).

Examples
--------
>>> import torch
>>> with deterministic(threads=1) as info:
...     a = torch.randn(50, 50, generator=torch.Generator().manual_seed(0))
...     x = float((a @ a).sum())
>>> info["torch"], info["deterministic_algorithms"]
(1, True)
>>> with deterministic(threads=1):
...     y = float((a @ a).sum())
>>> x == y
True
"""

from __future__ import annotations

from contextlib import contextmanager

from nstheory.errors import check_int


@contextmanager
def deterministic(threads: int = 1):
    """Run a block with ``threads`` torch/BLAS threads and deterministic torch algorithms.

    Parameters
    ----------
    threads : int
        Intra-op threads for torch and the BLAS pools (numpy's included, through
        ``threadpoolctl`` when installed). The same count gives the same bits on the same
        machine class; 1 is the default of every stored study.

    Yields
    ------
    dict
        The settings in force (recorded in a study's provenance): ``torch`` threads,
        ``deterministic_algorithms``, and ``blas`` (the limited pools).

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with deterministic(threads=1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    import torch

    threads = check_int(threads, "threads", lo=1)
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    limiter = None
    blas = "threadpoolctl not installed"
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=threads)
        blas = f"{threads} (threadpoolctl)"
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield {"torch": torch.get_num_threads(),
               "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
               "blas": blas}
    finally:
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.set_num_threads(old_threads)
        if limiter is not None:
            limiter.restore_original_limits()


__all__ = ["deterministic"]
