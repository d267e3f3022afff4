"""Progress bars for long runs (tqdm on stderr).

Disabled when ``NSTHEORY_PROGRESS=0`` is set or when the caller passes ``enabled=False``.

>>> list(progress(range(3), desc="demo", enabled=False))
[0, 1, 2]
"""

from __future__ import annotations

import os
import sys


def progress_enabled(enabled: bool | None = None) -> bool:
    if enabled is not None:
        return enabled
    return os.environ.get("NSTHEORY_PROGRESS", "1") != "0"


def progress(iterable=None, total: int | None = None, desc: str = "", enabled: bool | None = None,
             unit: str = "it"):
    """Wrap ``iterable`` in a tqdm bar on stderr (or return a no-op bar when disabled).

    Without an iterable, returns a bar to ``update(n)`` manually (use as a context manager).
    """
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        disable=not progress_enabled(enabled),
        file=sys.stderr,
        unit=unit,
        mininterval=0.5,
        dynamic_ncols=True,
        leave=False,
    )
