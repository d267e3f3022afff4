"""Progress bars for long runs (tqdm on stderr).

Shown when stderr is a terminal; ``NSTHEORY_PROGRESS=1`` shows them anywhere (a log file, a
pipe), ``NSTHEORY_PROGRESS=0`` nowhere; a caller's ``enabled`` overrides both.

>>> list(progress(range(3), desc="demo", enabled=False))
[0, 1, 2]
"""

from __future__ import annotations

import os
import sys


def progress_enabled(enabled: bool | None = None) -> bool:
    """Whether progress bars are shown: ``enabled`` if given, else as ``NSTHEORY_PROGRESS``
    says (``0`` no, ``1`` yes), else when stderr is a terminal (bar redraws would otherwise
    fill a log file or pipe).

    Parameters
    ----------
    enabled : bool, optional
        Explicit choice; overrides the environment.

    Returns
    -------
    bool

    Examples
    --------
    >>> progress_enabled(False), progress_enabled(True)
    (False, True)
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"NSTHEORY_PROGRESS": "0"}):
    ...     progress_enabled()
    False
    """
    if enabled is not None:
        return enabled
    setting = os.environ.get("NSTHEORY_PROGRESS", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def progress(iterable=None, total: int | None = None, desc: str = "", enabled: bool | None = None,
             unit: str = "it", delay: float = 0.0):
    """Wrap ``iterable`` in a tqdm bar on stderr (or return a no-op bar when disabled).

    Without an iterable, returns a bar to ``update(n)`` manually (use as a context manager).

    Parameters
    ----------
    iterable : iterable, optional
        Items to wrap.
    total : int, optional
        Expected number of items.
    desc : str, optional
        Label of the bar.
    enabled : bool, optional
        See :func:`progress_enabled`.
    unit : str, optional
        Unit shown after the count.
    delay : float, optional
        Seconds before the bar appears (a loop that is usually fast shows none).

    Returns
    -------
    tqdm.tqdm

    Examples
    --------
    >>> sum(progress(range(10), desc="sum", enabled=False))
    45
    >>> with progress(total=100, enabled=False) as bar:   # a manual bar; disabled: no output
    ...     bar.update(40)
    ...     bar.disable, bar.total
    (True, 100)
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
        delay=delay,
    )
