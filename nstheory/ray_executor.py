"""Ray backend for :func:`nstheory.executor.get_executor` (optional extra ``nstheory[ray]``).

``RayExecutor(workers=None, address=None, num_gpus_per_task=0, gpu_memory_fraction=None)``
runs ``fn`` on each item as a Ray task and returns the results **in the order of the items**,
so results merged from them are identical to the serial and process backends' (seed each task
by its item, see :mod:`nstheory.montecarlo.chunks`).

Security: by default a *local* Ray instance is started bound to the loopback interface
(127.0.0.1) with no dashboard -- Ray clusters must only run on trusted, isolated networks.
Connecting to an existing cluster is an explicit opt-in (``address="ray://..."`` or
``"auto"``). Ray is imported only when an executor is built, so nothing else needs it.

With ``num_gpus_per_task`` a fraction (several tasks packed on one GPU), Ray does not enforce
the fraction: pass ``gpu_memory_fraction`` so each task caps its own CUDA memory with
``torch.cuda.set_per_process_memory_fraction``; never combine fractional GPUs with NCCL
collectives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nstheory.errors import NSTheoryError
from nstheory.progress import progress


def _import_ray():
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise NSTheoryError(
            "the Ray backend needs the optional extra: pip install 'nstheory[ray]'"
        ) from exc
    return ray


def _run_capped(fn, fraction, x):
    """Run ``fn(x)`` after capping this process's CUDA memory to ``fraction`` (if CUDA)."""
    if fraction is not None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.set_per_process_memory_fraction(float(fraction))
    return fn(x)


class RayExecutor:
    """Order-preserving ``map`` over Ray tasks (see the module docstring).

    Ray is imported and started only at the first ``map``.

    Parameters
    ----------
    workers : int, optional
        CPUs of a locally started Ray instance.
    address : str, optional
        An existing cluster (``"auto"`` or ``"ray://..."``); default: start one on 127.0.0.1.
    num_gpus_per_task : float, optional
        GPUs requested per task (a fraction packs several tasks on one GPU).
    gpu_memory_fraction : float, optional
        Per-task CUDA memory cap in ``(0, 1]``.
    **init_options
        Passed to ``ray.init``.

    Examples
    --------
    Construction validates the arguments without importing Ray:

    >>> RayExecutor(workers=2).name
    'ray'
    >>> RayExecutor(num_gpus_per_task=0.5, gpu_memory_fraction=1.5)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: gpu_memory_fraction must lie in (0, 1], got 1.5
    """

    name = "ray"

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        num_gpus_per_task: float = 0,
        gpu_memory_fraction: float | None = None,
        **init_options,
    ) -> None:
        if workers is not None and workers < 1:
            raise NSTheoryError(f"workers must be >= 1, got {workers}")
        if gpu_memory_fraction is not None and not 0 < gpu_memory_fraction <= 1:
            raise NSTheoryError(
                f"gpu_memory_fraction must lie in (0, 1], got {gpu_memory_fraction}")
        self.workers = workers
        self.address = address
        self.num_gpus_per_task = num_gpus_per_task
        self.gpu_memory_fraction = gpu_memory_fraction
        self.init_options = init_options
        self._started_here = False

    def _ensure(self):
        ray = _import_ray()
        if not ray.is_initialized():
            opts = {"include_dashboard": False, "log_to_driver": False,
                    "configure_logging": False, **self.init_options}
            if self.address is None:
                opts.setdefault("_node_ip_address", "127.0.0.1")
                if self.workers is not None:
                    opts.setdefault("num_cpus", self.workers)
                ray.init(**opts)
            else:
                ray.init(address=self.address, **opts)
            self._started_here = True
        return ray

    def map(self, fn: Callable, items: Iterable, desc: str = "") -> list:
        ray = self._ensure()
        items = list(items)
        task = ray.remote(num_cpus=1, num_gpus=self.num_gpus_per_task)(_run_capped)
        refs = [task.remote(fn, self.gpu_memory_fraction, x) for x in items]
        return [ray.get(r) for r in progress(refs, total=len(refs), desc=desc or "ray tasks")]

    def shutdown(self) -> None:
        """Stop the local Ray instance if this executor started it."""
        if self._started_here:
            _import_ray().shutdown()
            self._started_here = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


__all__ = ["RayExecutor"]
